#!/usr/bin/python3
"""names.t: entity names as people write them (docs/data-model.md "Names", docs/protocol.md
entity.find): punctuation and separators fold into one key for writes, initials with or without
spaces, and entity.find across scripts (Cyrillic, Greek, Latin both ways) through transliteration,
ranked exact > transliterated > sound > close, with merged duplicates answering as their target."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, expect_error, run, short  # noqa: E402
from ctl import Ctl  # noqa: E402


def put(c, name, **kw):
    kw["name"] = name
    return c.call("entity.put", kw)["id"]


def find(c, name, **kw):
    kw["name"] = name
    return c.call("entity.find", kw)["items"]


def main():
    d = Daemon()
    d.start()
    c = d.client()

    # Punctuation and separators: one key for writes, so one entity.
    obama = put(c, "Barack Obama", kind="person")
    for spelling in ["barack-obama", "Barack  Obama", "BARACK OBAMA", "Barack_Obama", "Barack.Obama",
                     " barack\u2013obama ", "Barack/Obama"]:
        tap.is_(put(c, spelling), obama, "%r is the same entity as 'Barack Obama'" % spelling)
    r = c.call("claim.put", {"text": "Yes we can, said at a rally in 2008.", "speaker": "barack-obama"})
    tap.is_(c.call("claim.get", {"id": r["id"]})["speaker"]["id"], obama, "a claim's speaker resolves through the name key")

    # Initials: dots and spaces between them are one separator; run-together initials differ.
    ds = put(c, "D. S. Peskov", kind="person")
    tap.is_(put(c, "D.S. Peskov"), ds, "'D.S. Peskov' is 'D. S. Peskov'")
    tap.is_(put(c, "D S Peskov"), ds, "'D S Peskov' is 'D. S. Peskov'")
    tap.ok(put(c, "DS Peskov") != ds, "'DS Peskov' (initials run together) is another key")
    obrien = put(c, "Conan O'Brien")
    tap.is_(put(c, "Conan O\u2019Brien"), obrien, "a typographic apostrophe is the same name")
    tap.is_(put(c, "Conan OBrien"), obrien, "an apostrophe vanishes from the key (O'Brien = OBrien)")

    # Writes never merge across scripts or spellings: these are different keys, different entities.
    peskov_ru = put(c, "Песков", kind="person")
    peskov_en = put(c, "Peskov", kind="person")
    peskov_gr = put(c, "Πεσκόφ", kind="person")
    peskow = put(c, "Peskow", kind="person")
    tap.is_(len({peskov_ru, peskov_en, peskov_gr, peskow}), 4, "writes resolve names exactly: four spellings, four entities")

    # entity.find across scripts, ranked.
    got = find(c, "Peskov")
    tap.is_([(e["id"], e["match"]) for e in got[:2]], [(peskov_en, "exact"), (peskov_ru, "transliterated")],
            "Peskov finds itself first, then Песков (transliterated)", short(got))
    tap.ok({peskov_gr, peskow} <= {e["id"] for e in got if e["match"] == "sound"},
           "Peskov finds Πεσκόφ and Peskow by their sound key", short(got))
    got = find(c, "Песков")
    tap.is_([(e["id"], e["match"]) for e in got[:2]], [(peskov_ru, "exact"), (peskov_en, "transliterated")],
            "Cyrillic -> Latin: Песков finds itself, then Peskov", short(got))
    got = find(c, "Πεσκόφ")
    tap.is_(got[0]["id"], peskov_gr, "Greek: Πεσκόφ finds itself first", short(got))
    tap.ok({peskov_ru, peskov_en, peskow} <= {e["id"] for e in got}, "Greek -> Cyrillic and Latin: Πεσκόφ finds Песков, Peskov, Peskow", short(got))
    got = find(c, "Peskow")
    tap.ok(got[0]["id"] == peskow and peskov_ru in [e["id"] for e in got], "Peskow finds itself, then Песков", short(got))
    order = {"exact": 0, "transliterated": 1, "sound": 2, "close": 3}
    ranks = [order[e["match"]] for e in find(c, "Peskov")]
    tap.is_(ranks, sorted(ranks), "items come best match first")

    # Close matches: one letter off, by edit distance on the sound key.
    zel = put(c, "Володимир Зеленський", kind="person")
    got = find(c, "Volodymyr Zelensky")
    tap.ok(got and got[0]["id"] == zel and got[0]["match"] in ("sound", "transliterated"),
           "Volodymyr Zelensky finds Володимир Зеленський", short(got))
    got = find(c, "Volodimir Zelenskij")
    tap.ok(zel in [e["id"] for e in got], "Volodimir Zelenskij finds him too", short(got))
    got = find(c, "Pezkov")
    close = [e for e in got if e["id"] == peskov_ru]
    tap.ok(close and close[0]["match"] == "close" and close[0]["distance"] == 1,
           "a misspelling (Pezkov) finds Песков as a close match at distance 1", short(got))
    tap.is_(find(c, "Smith"), [], "an unrelated name finds nothing")
    tap.is_(find(c, "Peskov", limit=1)[0]["id"], peskov_en, "limit keeps the best")

    # The desk merges the duplicates it sees; find then lists the target once.
    c.call("entity.merge", {"from": {"id": peskov_ru}, "into": {"id": peskov_en}})
    got = find(c, "Песков")
    tap.is_([e["id"] for e in got].count(peskov_en), 1, "after a merge the target is listed once", short(got))
    tap.is_(got[0]["id"], peskov_en, "and it answers the merged name exactly", short(got))
    tap.ok(peskov_ru not in [e["id"] for e in got], "the merged entity is not listed itself")

    # Prefix search across scripts.
    pre = c.call("entity.find", {"prefix": "Volodymyr Z"})["items"]
    tap.ok([e["match"] for e in pre if e["id"] == zel] in (["transliterated"], ["sound"]),
           "a Latin prefix finds a Cyrillic name through its Latin key", short(pre))
    pre = {e["id"] for e in c.call("entity.find", {"prefix": "Pesk"})["items"]}
    tap.ok({peskov_en, peskow} <= pre, "a prefix finds every name it begins", pre)

    expect_error(c, "entity.find", {"name": "x", "prefix": "y"}, "invalid", "name")

    # claimctl entity find prints the same ranking, one entity a line.
    r = Ctl(d).run("entity", "find", "Peskow")
    tap.ok(r.rc == 0 and [(e["id"], e["match"]) for e in r.lines][:1] == [(peskow, "exact")]
           and peskov_en in [e["id"] for e in r.lines], "claimctl entity find Peskow lists Peskow, then Peskov/Песков", r)

    # The data survive a restart, keys included.
    d.stop()
    d.start()
    c = d.client()
    tap.is_(put(c, "BARACK-OBAMA"), obama, "after a restart the name key still resolves")
    tap.is_(find(c, "Peskow")[0]["id"], peskow, "and entity.find still works")
    c.close()
    d.stop()


run(main)
