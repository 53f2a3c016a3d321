#!/usr/bin/python3
"""methods.t: the core methods of the wire contract, black box: entities (put/get/find and name
resolution), claim.put with every field read back, duplicates and on_duplicate, claim.import with
bad items, verdicts and status, appearance.add, not_found and invalid for each bad field."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, raw_str, stat, short, expect_error, field_is, run, utc  # noqa: E402

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$")
MISSING = 99999999


def ref(e):
    """An output entity reference as (id, name), or None."""
    return None if e is None else (e.get("id"), e.get("name"))


def claims_count(c):
    return stat(c.call("stats"), r"(^|\.)claims$")


def find_ids(c, **params):
    return [e.get("id") for e in c.call("entity.find", params).get("items", [])]


def check_entities(c):
    e = c.call("entity.put", {"name": "Dmitry Peskov", "kind": "person", "aliases": ["Dmitri Peskov"],
                              "description": "Press secretary of the Russian president"})
    pid = e.get("id")
    tap.ok(isinstance(pid, int) and pid > 0, "entity.put returns an entity with a uint id", short(e))
    tap.is_((e.get("name"), e.get("kind"), e.get("aliases"), e.get("description")),
            ("Dmitry Peskov", "person", ["Dmitri Peskov"], "Press secretary of the Russian president"),
            "entity.put returns name, kind, aliases, description")
    for name, why in (("DMITRY PESKOV", "case-insensitive name"), ("Dmitri Peskov", "alias"),
                      ("Dmítry Péskov", "accent-insensitive name"), ("dmitri peskov", "case-insensitive alias")):
        r = c.call("entity.put", {"name": name})
        tap.is_(r.get("id"), pid, "entity.put %r returns the existing entity (%s)" % (name, why))
    r = c.call("entity.put", {"name": "Dmitry Peskov", "aliases": ["Дмитрий Песков"]})
    tap.is_(r.get("id"), pid, "entity.put with a new alias returns the existing entity")
    got = c.call("entity.get", {"id": pid})
    tap.is_(sorted(got.get("aliases") or []), sorted(["Dmitri Peskov", "Дмитрий Песков"]),
            "the new alias was added to the old ones")
    tap.is_((got.get("id"), got.get("name"), got.get("kind")), (pid, "Dmitry Peskov", "person"),
            "entity.get returns the entity")
    tap.is_(c.call("entity.put", {"name": "дмитрий песков"}).get("id"), pid,
            "a Cyrillic alias resolves case-insensitively")

    putin = c.call("entity.put", {"name": "Vladimir Putin", "kind": "person", "wikidata": "Q7747"})
    tap.is_(c.call("entity.get", {"id": putin["id"]}).get("wikidata"), "Q7747", "wikidata round-trips")
    tap.ok(putin["id"] > pid, "entity ids increase", short((pid, putin)))
    plain = c.call("entity.put", {"name": "Kindless Thing"})
    tap.is_(plain.get("kind"), "unknown", "an entity put without kind has kind unknown")

    medvedev = c.call("entity.put", {"name": "Dmitry Medvedev", "kind": "person"})["id"]
    tap.is_(find_ids(c, name="dmitry peskov"), [pid], "entity.find by name (case-insensitive)")
    tap.is_(find_ids(c, name="Dmitri Peskov"), [pid], "entity.find by an alias")
    tap.is_(find_ids(c, name="Nobody By This Name"), [], "entity.find with no match gives no items")
    ids = find_ids(c, prefix="Dmitr")
    tap.ok(pid in ids and medvedev in ids, "entity.find by prefix finds both Dmitrys", short(ids))
    ids = find_ids(c, prefix="dmitr")
    tap.ok(pid in ids and medvedev in ids, "entity.find by prefix folds case", short(ids))
    tap.is_(len(find_ids(c, prefix="Dmitr", limit=1)), 1, "entity.find honours limit")
    tap.is_(find_ids(c, prefix="Zzqx"), [], "entity.find by an unmatched prefix gives no items")

    collector = c.call("entity.put", {"name": "Alias Collector", "kind": "organization"})["id"]
    aliases = ["Collector Alias %d" % i for i in range(80)]
    replies = c.pipeline([("entity.put", {"name": "Alias Collector", "aliases": [a]}) for a in aliases])
    acked = [a for a, r in zip(aliases, replies) if r.error is None]
    refused = {r.code for r in replies if r.error is not None}
    stored = set(c.call("entity.get", {"id": collector}).get("aliases") or [])
    lost = [a for a in acked if a not in stored]
    tap.ok(not lost and refused <= {"too_large"},
           "80 aliases added one by one: each stored or refused with too_large (%d stored)" % len(stored),
           "%d acknowledged but not stored, e.g. %s" % (len(lost), lost[:2]),
           "the reply that dropped the first: %s" % short(next((r.msg for a, r in zip(aliases, replies) if a in lost), None)))
    if lost:
        r = c.call("entity.put", {"name": lost[0]})
        tap.diag("entity.put %r now gives entity %s, not the collector %d" % (lost[0], r.get("id"), collector))

    expect_error(c, "entity.put", {}, "invalid", "entity.put without name: invalid, field name", "name")
    expect_error(c, "entity.put", {"name": ""}, "invalid", "entity.put empty name: invalid, field name", "name")
    expect_error(c, "entity.put", {"name": "Alien Being", "kind": "alien"}, "invalid",
                 "entity.put unknown kind: invalid, field kind", "kind")
    expect_error(c, "entity.put", {"name": "Wiki Wrong", "wikidata": "X12"}, "invalid",
                 "entity.put wikidata not Q...: invalid, field wikidata", "wikidata")
    expect_error(c, "entity.put", {"name": "Alias Wrong", "aliases": [5]}, "invalid",
                 "entity.put alias not a str: invalid, field aliases", "aliases")
    tap.is_(find_ids(c, name="Alien Being") + find_ids(c, name="Wiki Wrong"), [],
            "rejected entity.put calls stored nothing")
    expect_error(c, "entity.get", {"id": MISSING}, "not_found", "entity.get unknown id: not_found")
    expect_error(c, "entity.find", {}, "invalid", "entity.find without name or prefix: invalid",
                 ("name", "prefix"))
    return pid, putin["id"]


FULL = {
    "text": "We expect that the president's administration will receive it shortly",
    "quote": True,
    "lang": "en",
    "speaker": {"name": "Dmitry Peskov"},
    "speaker_role": "Kremlin spokesman",
    "attribution": "Putin's spokesman, Dmitry Peskov",
    "said_at": "2018-08-08T14:05:09+03:00",
    "medium": "interview",
    "via": [{"name": "TASS", "how": "with-reporting-by"}, {"name": "Russian news agencies", "how": "quoted"}],
    "appearances": [{"url": "https://www.rferl.org/a/29421535.html", "outlet": "RFE/RL",
                     "title": "U.S. Senator Delivers Letter From Trump To Putin On Moscow Trip",
                     "published_at": "2018-08-08T16:30Z", "lang": "en"}],
    "about": ["Donald Trump", {"name": "Vladimir Putin"}],
    "tags": ["us-russia", "letter"],
    "external_id": "methods-full-1",
    "by": "methods.t",
}


def check_claim_put_get(c, peskov, putin):
    before = claims_count(c)
    r = c.call("claim.put", FULL)
    cid = r.get("id")
    tap.ok(isinstance(cid, int) and r.get("rev") == 1 and r.get("created") is True,
           "claim.put returns {id, rev 1, created true}", short(r))
    tap.is_(claims_count(c), before + 1, "one claim more in stats")
    g = c.call("claim.get", {"id": cid})
    for f in ("text", "quote", "lang", "speaker_role", "attribution", "medium", "external_id"):
        tap.is_(g.get(f), FULL[f], "claim.get returns %s as put" % f)
    tap.is_(utc(g.get("said_at")), "2018-08-08T11:05:09Z", "said_at keeps seconds, normalised to UTC")
    tap.is_(g.get("speaker"), {"id": peskov, "name": "Dmitry Peskov"}, "speaker comes out as {id, name}")
    tass, agencies = find_ids(c, name="TASS"), find_ids(c, name="Russian news agencies")
    tap.ok(len(tass) == 1 and len(agencies) == 1, "via hops created their entities", short((tass, agencies)))
    tap.is_(g.get("via"), [{"id": tass[0] if tass else None, "name": "TASS", "how": "with-reporting-by"},
                           {"id": agencies[0] if agencies else None, "name": "Russian news agencies", "how": "quoted"}],
            "via comes out as [{id, name, how}] in chain order")
    apps = g.get("appearances") or [{}]
    a, want = apps[0], FULL["appearances"][0]
    tap.ok(len(apps) == 1 and all(a.get(k) == want[k] for k in ("url", "title", "lang"))
           and utc(a.get("published_at")) == "2018-08-08T16:30Z",
           "appearance url, title, lang, published_at round-trip", short(apps))
    outlet = a.get("outlet") or {}
    tap.ok(set(outlet) == {"id", "name"} and outlet.get("name") == "RFE/RL" and isinstance(outlet.get("id"), int),
           "appearance outlet comes out as {id, name}", short(outlet))
    about = g.get("about") or []
    tap.ok(all(set(x) == {"id", "name"} for x in about)
           and sorted(x.get("name") for x in about) == ["Donald Trump", "Vladimir Putin"]
           and putin in [x.get("id") for x in about], "about comes out as [{id, name}], resolved", short(about))
    tap.is_(sorted(g.get("tags") or []), sorted(FULL["tags"]), "tags round-trip")
    tap.is_((g.get("id"), g.get("rev"), g.get("status"), g.get("retracted")), (cid, 1, "unverified", False),
            "id, rev 1, status unverified, retracted false")
    tap.ok(isinstance(g.get("recorded_at"), str) and ISO.match(g["recorded_at"])
           and g["recorded_at"][:4] == time.strftime("%Y", time.gmtime()),
           "recorded_at is the current time as ISO 8601", short(g.get("recorded_at")))
    tap.is_(g.get("recorded_by"), "methods.t", "recorded_by is the by of the put")

    r = c.call("claim.put", {"text": "Speaker given by a folded alias", "speaker": "DMITRI PESKOV",
                             "about": [{"id": putin}], "via": [{"id": tass[0] if tass else 0, "how": "citing"}]})
    g = c.call("claim.get", {"id": r["id"]})
    tap.is_((g.get("speaker"), g.get("about"), g.get("via")),
            ({"id": peskov, "name": "Dmitry Peskov"}, [{"id": putin, "name": "Vladimir Putin"}],
             [{"id": tass[0] if tass else 0, "name": "TASS", "how": "citing"}]),
            "references by alias and by {id} resolve to the existing entities")

    m = c.call("claim.put", {"text": "A minimal claim with nothing but text"})
    g = c.call("claim.get", {"id": m["id"]})
    tap.ok(g.get("quote") is True and g.get("speaker") is None and m["id"] > cid,
           "quote defaults to true, no speaker, ids increase", short(g))

    for given, want in (("2018", "2018"), ("2018-08", "2018-08"), ("2018-08-08", "2018-08-08"),
                        ("2018-08-08T14:05Z", "2018-08-08T14:05Z"),
                        ("2018-08-08T01:30+03:00", "2018-08-07T22:30Z"),
                        ("2018-08-08T14:05:09-04:00", "2018-08-08T18:05:09Z")):
        r = c.call("claim.put", {"text": "Precision test said at %s" % given, "said_at": given})
        got = c.call("claim.get", {"id": r["id"]}).get("said_at")
        tap.is_(utc(got), want, "said_at %s comes back as %s" % (given, want))
    return cid


def check_duplicates(c):
    base = {"text": "Duplicate base claim", "speaker": "Dup Speaker", "external_id": "dup-1", "tags": ["a"],
            "about": ["Topic One"], "appearances": [{"url": "https://example.org/dup/1", "outlet": "Outlet One"}],
            "via": [{"name": "Agency One", "how": "reported"}]}
    r = c.call("claim.put", base)
    a = r["id"]
    tap.ok(r.get("created") is True and r.get("rev") == 1, "base claim created", short(r))

    more = {"text": "Duplicate base claim, reworded", "speaker": "Dup Speaker", "external_id": "dup-1",
            "tags": ["b"], "about": ["Topic Two"],
            "appearances": [{"url": "https://example.org/dup/2", "outlet": "Outlet Two"}],
            "via": [{"name": "Agency Two", "how": "citing"}]}
    r = c.call("claim.put", more)
    tap.is_((r.get("id"), r.get("created"), r.get("rev")), (a, False, 2),
            "merge (default) by external_id: same id, created false, rev 2")
    g = c.call("claim.get", {"id": a})
    tap.is_(g.get("rev"), 2, "merged claim has rev 2")
    tap.is_(g.get("text"), "Duplicate base claim", "merge keeps the original text")
    tap.is_(sorted(g.get("tags") or []), ["a", "b"], "merge adds the new tags")
    tap.is_(sorted(x.get("name") for x in g.get("about") or []), ["Topic One", "Topic Two"],
            "merge adds the new about entities")
    tap.is_([x.get("url") for x in g.get("appearances") or []],
            ["https://example.org/dup/1", "https://example.org/dup/2"], "merge adds the new appearance")
    tap.is_(sorted(x.get("name") for x in g.get("via") or []), ["Agency One", "Agency Two"],
            "merge adds the new via hop")

    r = c.call("claim.put", dict(more, tags=["c"], on_duplicate="skip"))
    tap.is_((r.get("id"), r.get("created")), (a, False), "skip: same id, created false")
    g2 = c.call("claim.get", {"id": a})
    tap.is_(g2, g, "skip changed nothing (rev, tags, everything)")

    expect_error(c, "claim.put", dict(more, tags=["d"], on_duplicate="error"), "conflict",
                 "on_duplicate error: conflict")
    err = c.error_of("claim.put", dict(more, on_duplicate="error"))
    tap.is_(err.id if err else None, a, "the conflict names the existing claim's id")
    tap.is_(c.call("claim.get", {"id": a}), g, "the conflicting put changed nothing")

    r = c.call("claim.put", {"text": "Diplomacy is important.", "speaker": "Norm Speaker"})
    b = r["id"]
    r = c.call("claim.put", {"text": "  DIPLOMACY,   is important ", "speaker": "norm speaker", "tags": ["n"]})
    tap.is_((r.get("id"), r.get("created")), (b, False),
            "same speaker + same normalised text is a duplicate (merged)")
    tap.is_(c.call("claim.get", {"id": b}).get("tags"), ["n"], "the text duplicate got the merged tag")
    err = expect_error(c, "claim.put", {"text": "diplomacy is important!", "speaker": "Norm Speaker",
                                        "on_duplicate": "error"}, "conflict", "text duplicate with error: conflict")
    tap.is_(err.id if err else None, b, "the text conflict names the existing id")
    r = c.call("claim.put", {"text": "Diplomacy is important.", "speaker": "Other Norm Speaker"})
    tap.ok(r.get("created") is True and r.get("id") != b, "same text, other speaker: a new claim", short(r))
    r = c.call("claim.put", {"text": "Diplomacy is not important.", "speaker": "Norm Speaker"})
    tap.ok(r.get("created") is True and r.get("id") != b, "same speaker, other text: a new claim", short(r))
    expect_error(c, "claim.put", {"text": "on_duplicate check", "on_duplicate": "replace"}, "invalid",
                 "unknown on_duplicate: invalid, field on_duplicate", "on_duplicate")
    check_text_normalisation(c)


def check_text_normalisation(c):
    """The duplicate rule is: same speaker and same text once case-folded with punctuation and
    extra white space removed. Texts that differ only that way are one claim; texts that differ
    in anything else (symbols, digits, letters) are different claims and must both be kept."""
    same = [("«Да», сказал он.", "Да сказал он"), ("Wait — what…", "wait what"), ("“Quoted” text", "quoted text"),
            ("tabs\tand\nnewlines", "tabs and newlines"), ("ÉCOLE", "école"), ("STRASSE", "straße")]
    different = [("Growth was +2% this year", "Growth was -2% this year"), ("Unemployment is < 5%", "Unemployment is > 5%"),
                 ("👍", "👎"), ("It costs $5", "It costs €5"), ("Inflation is 5%", "Inflation is 7%")]
    letters = [("El año pasado", "El ano pasado"), ("kır", "kir")]
    for n, (a, b) in enumerate(same + different + letters):
        speaker = "Normalisation Speaker %d" % n
        first = c.call("claim.put", {"text": a, "speaker": speaker})
        reply = c.request("claim.put", {"text": b, "speaker": speaker, "on_duplicate": "error"})
        if (a, b) in same:
            tap.ok(reply.code == "conflict" and reply.error.get("id") == first["id"],
                   "%r and %r by one speaker are one claim" % (a, b), short(reply.msg))
        else:
            why = "letters" if (a, b) in letters else "symbols or digits"
            tap.ok(reply.error is None and reply.result.get("created") is True,
                   "%r and %r differ in %s, not punctuation: two claims" % (a, b, why),
                   "second put: %s (first was id %d)" % (short(reply.msg), first["id"]))


def check_import(c):
    before = claims_count(c)
    claims = [
        {"text": "Import good one", "external_id": "imp-1", "speaker": "Import Speaker"},
        {"speaker": "Import Bad Speaker Zed", "tags": ["x"]},
        {"text": "Import good two", "external_id": "imp-2", "said_at": "2019-03"},
        {"text": "Import bad time", "speaker": "Import Bad Speaker Yod", "said_at": "2018-02-30"},
        {"text": "Import good one again", "external_id": "imp-1", "tags": ["again"]},
        {"text": "Import bad medium", "medium": "carrier pigeon", "about": ["Import Bad Topic Kappa"]},
        {"text": "Import good three", "via": [{"name": "Import Agency", "how": "reported"}]},
    ]
    res = c.call("claim.import", {"claims": claims}).get("results") or []
    tap.is_(len(res), len(claims), "claim.import returns one result per claim")
    res += [{}] * (len(claims) - len(res))
    ok_items = [res[i].get("created") is True and isinstance(res[i].get("id"), int) for i in (0, 2, 6)]
    tap.ok(all(ok_items), "good items are created, in order", short(res, 1500))
    for i, field in ((1, "text"), (3, "said_at"), (5, "medium")):
        e = res[i].get("error") or {}
        tap.ok(e.get("code") == "invalid" and "id" not in res[i]
               and field_is(e.get("field"), field),
               "bad item %d is an invalid error naming %s" % (i, field), short(res[i]))
    tap.is_((res[4].get("id"), res[4].get("created")), (res[0].get("id"), False),
            "an item duplicating an earlier item of the batch merges into it")
    tap.is_(claims_count(c), before + 3, "exactly the 3 new good claims were stored")
    tap.is_(find_ids(c, name="Import Bad Speaker Zed") + find_ids(c, name="Import Bad Speaker Yod")
            + find_ids(c, name="Import Bad Topic Kappa"), [], "nothing of the bad items was stored (no entities)")
    tap.is_(len(find_ids(c, name="Import Agency")), 1, "entities of good items were stored")
    tap.is_(c.call("claim.get", {"id": res[0].get("id")}).get("tags"), ["again"],
            "the in-batch duplicate merged its tag")

    first_id = res[0].get("id")
    res = c.call("claim.import", {"claims": [{"text": "Import good one", "external_id": "imp-1"},
                                             {"text": "Import fresh", "external_id": "imp-9"}],
                                  "on_duplicate": "error"}).get("results") or [{}, {}]
    e = res[0].get("error") or {}
    tap.ok(e.get("code") == "conflict" and e.get("id") == first_id,
           "import with on_duplicate error: a per-item conflict with id", short(res))
    tap.ok(res[1].get("created") is True, "the next item of that batch is still created", short(res))
    tap.is_(c.call("claim.import", {"claims": []}).get("results"), [], "an empty import returns no results")
    expect_error(c, "claim.import", {"claims": "nope"}, "invalid", "claims not an array: invalid", "claims")

    before = claims_count(c)
    big = [{"text": "batch limit claim %d" % i} for i in range(10001)]
    expect_error(c, "claim.import", {"claims": big}, "too_large", "a batch of 10,001 claims is too_large")
    tap.is_(claims_count(c), before, "nothing of the too-large batch was stored")


def check_verdicts(c):
    cid = c.call("claim.put", {"text": "Verdict target claim", "speaker": "Verdict Speaker"})["id"]
    v1in = {"claim": cid, "rating": "false", "label": "Pants on Fire", "score": 1, "by": "Fact Desk",
            "at": "2018-08-10", "summary": "There was no such letter.", "url": "https://factcheck.example/v1",
            "evidence": ["https://example.org/e1", "https://example.org/e2"]}
    r1 = c.call("verdict.add", v1in)
    tap.ok(isinstance(r1.get("id"), int) and r1.get("claim_rev") == 2, "verdict.add returns {id, claim_rev 2}",
           short(r1))
    g = c.call("claim.get", {"id": cid})
    tap.is_((g.get("status"), g.get("rev")), ("false", 2), "status is the verdict's rating, rev bumped")
    r2 = c.call("verdict.add", {"claim": cid, "rating": "true", "at": "2018-08-09", "by": "Other Desk"})
    tap.is_(r2.get("claim_rev"), 3, "second verdict bumps claim_rev")
    tap.is_(c.call("claim.get", {"id": cid}).get("status"), "false",
            "an older verdict (by at) added later does not change the status")
    r3 = c.call("verdict.add", {"claim": cid, "rating": "mostly-true", "at": "2018-09-01T10:00Z", "score": 4})
    tap.is_(c.call("claim.get", {"id": cid}).get("status"), "mostly-true", "the newest verdict by at sets the status")
    tap.ok(r1["id"] < r2["id"] < r3["id"], "verdict ids increase", short((r1, r2, r3)))

    items = c.call("verdict.list", {"claim": cid}).get("items") or []
    tap.is_([v.get("id") for v in items], [r2["id"], r1["id"], r3["id"]], "verdict.list is oldest first (by at)")
    v1 = next((v for v in items if v.get("id") == r1["id"]), {})
    claim_field = v1.get("claim")
    tap.ok(claim_field == cid or (isinstance(claim_field, dict) and claim_field.get("id") == cid),
           "verdict names its claim", short(v1))
    for f in ("rating", "label", "score", "by", "at", "summary", "url", "evidence"):
        tap.is_(v1.get(f), v1in[f], "verdict.list returns %s as added" % f)

    other = c.call("claim.put", {"text": "Every rating claim"})["id"]
    ratings = ["true", "mostly-true", "mixed", "mostly-false", "false", "misleading", "unproven", "in-review"]
    for i, rating in enumerate(ratings):
        c.call("verdict.add", {"claim": other, "rating": rating, "at": "2020-01-%02d" % (i + 1)})
    g = c.call("claim.get", {"id": other})
    tap.is_((g.get("status"), g.get("rev")), ("in-review", 1 + len(ratings)), "all eight ratings are accepted")

    rev = c.call("claim.get", {"id": cid})["rev"]
    expect_error(c, "verdict.add", {"claim": cid, "rating": "pants-on-fire"}, "invalid",
                 "unknown rating: invalid, field rating", "rating")
    expect_error(c, "verdict.add", {"claim": cid}, "invalid", "missing rating: invalid, field rating", "rating")
    expect_error(c, "verdict.add", {"claim": cid, "rating": "false", "score": 6}, "invalid",
                 "score 6: invalid, field score", "score")
    expect_error(c, "verdict.add", {"claim": cid, "rating": "false", "score": 0}, "invalid",
                 "score 0: invalid, field score", "score")
    expect_error(c, "verdict.add", {"claim": cid, "rating": "false", "at": "2018-02-30"}, "invalid",
                 "verdict at 2018-02-30: invalid, field at", "at")
    expect_error(c, "verdict.add", {"claim": cid, "rating": "false", "evidence": "https://x.example"}, "invalid",
                 "evidence not an array: invalid, field evidence", "evidence")
    expect_error(c, "verdict.add", {"claim": MISSING, "rating": "false"}, "not_found",
                 "verdict.add on an unknown claim: not_found")
    expect_error(c, "verdict.list", {"claim": MISSING}, "not_found", "verdict.list of an unknown claim: not_found")
    tap.is_(c.call("claim.get", {"id": cid})["rev"], rev, "rejected verdicts changed nothing")
    tap.is_(len(c.call("verdict.list", {"claim": cid}).get("items") or []), 3, "still three verdicts")


def check_appearances(c):
    cid = c.call("claim.put", {"text": "Appearance target claim"})["id"]
    rev = c.call("claim.get", {"id": cid})["rev"]
    app = {"url": "https://www.svoboda.org/a/29421600.html", "outlet": "Radio Svoboda", "title": "Письмо Трампа",
           "published_at": "2018-08-09T08:00+03:00", "lang": "ru"}
    r = c.call("appearance.add", dict(app, claim=cid))
    tap.is_(r.get("claim_rev"), rev + 1, "appearance.add returns claim_rev + 1")
    g = c.call("claim.get", {"id": cid})
    a = (g.get("appearances") or [{}])[-1]
    tap.ok(a.get("url") == app["url"] and a.get("title") == app["title"] and a.get("lang") == "ru"
           and utc(a.get("published_at")) == "2018-08-09T05:00Z" and (a.get("outlet") or {}).get("name") == "Radio Svoboda"
           and g.get("rev") == rev + 1, "the appearance is on the claim", short(g))
    expect_error(c, "appearance.add", dict(app, claim=MISSING), "not_found", "appearance.add to an unknown claim")
    expect_error(c, "appearance.add", dict(app, claim=cid, published_at="2018-02-30"), "invalid",
                 "appearance published_at 2018-02-30: invalid, field published_at", "published_at")
    tap.is_(c.call("claim.get", {"id": cid}).get("rev"), rev + 1, "rejected appearances changed nothing")
    check_widely_reported(c)


def check_widely_reported(c):
    """A claim repeated by hundreds of outlets: every acknowledged appearance.add or merge is
    stored; a list limit, if any, is a too_large error, never a silent drop."""
    cid = c.call("claim.put", {"text": "A claim every outlet repeated", "external_id": "widely-1"})["id"]
    urls = ["https://outlet%d.example/story" % i for i in range(300)]
    replies = c.pipeline([("appearance.add", {"claim": cid, "url": u}) for u in urls])
    acked = [u for u, r in zip(urls, replies) if r.error is None]
    refused = [r.code for r in replies if r.error is not None]
    stored = {a.get("url") for a in c.call("claim.get", {"id": cid}).get("appearances") or []}
    lost = [u for u in acked if u not in stored]
    tap.ok(not lost and set(refused) <= {"too_large"},
           "300 appearance.add: each one stored or refused with too_large (%d stored, %d refused)" % (
               len(stored), len(refused)),
           "%d acknowledged but not stored, e.g. %s" % (len(lost), lost[:2]),
           "replies around the loss: %s" % short([r.msg for r in replies[250:260]], 800))
    more = ["https://merged%d.example/story" % i for i in range(5)]
    lost = []
    for u in more:
        reply = c.request("claim.put", {"text": "A claim every outlet repeated", "external_id": "widely-1",
                                        "appearances": [{"url": u}], "tags": ["merged-%s" % u[14]]})
        g = c.call("claim.get", {"id": cid})
        if reply.error is None and u not in {a.get("url") for a in g.get("appearances") or []}:
            lost.append((u, reply.msg))
        elif reply.error is not None and reply.code != "too_large":
            lost.append((u, reply.msg))
    tap.ok(not lost, "merging more appearances into it: stored or too_large", *[short(x) for x in lost[:3]])

    tags = ["tag-%d" % i for i in range(256)]
    tid = c.call("claim.put", {"text": "A claim with many tags", "tags": tags})["id"]
    reply = c.request("claim.put", {"text": "A claim with many tags", "tags": ["one-more-tag"]})
    stored = c.call("claim.get", {"id": tid}).get("tags") or []
    tap.ok(reply.code == "too_large" or (reply.error is None and "one-more-tag" in stored),
           "merging a tag into a claim with 256 tags: stored or too_large",
           "reply %s; %d tags stored" % (short(reply.msg), len(stored)))


def check_bad_claims(c):
    expect_error(c, "claim.get", {"id": MISSING}, "not_found", "claim.get unknown id: not_found")
    before = claims_count(c)
    t = "A claim with one bad field"
    cases = [
        ({"text": t, "said_at": "2018-02-30"}, "invalid", "said_at", "said_at 2018-02-30"),
        ({"text": t, "said_at": "yesterday"}, "invalid", "said_at", "said_at yesterday"),
        ({"text": t, "said_at": "2018-13"}, "invalid", "said_at", "said_at 2018-13"),
        ({"text": t, "said_at": "2018-08-08T25:00Z"}, "invalid", "said_at", "said_at hour 25"),
        ({"text": t, "said_at": 20180808}, "invalid", "said_at", "said_at as an int"),
        ({"text": t, "medium": "tweet", "speaker": "Bad Medium Speaker"}, "invalid", "medium", "unknown medium"),
        ({"text": t, "via": [{"name": "Hop Agency", "how": "overheard"}]}, "invalid", ("via", "how"),
         "unknown via how"),
        ({"text": t, "lang": 5}, "invalid", "lang", "lang as an int"),
        ({"text": t, "speaker": 5}, "invalid", "speaker", "speaker as an int"),
        ({"text": t, "speaker": {"id": MISSING}}, "not_found", None, "speaker by unknown id"),
        ({"text": t, "about": [{"id": MISSING}]}, "not_found", None, "about by unknown id"),
        ({"text": t, "appearances": [{"url": 5}]}, "invalid", ("appearances", "url"), "appearance url as an int"),
        ({"text": t, "appearances": [{"url": "https://x.example", "published_at": "2018-02-30"}]}, "invalid",
         ("appearances", "published_at"), "appearance published_at 2018-02-30"),
        ({"text": t, "tags": [1]}, "invalid", "tags", "tag as an int"),
        ({"text": t, "external_id": 5}, "invalid", "external_id", "external_id as an int"),
        ({"text": ""}, "invalid", "text", "empty text"),
        ({"speaker": "Textless Speaker"}, "invalid", "text", "missing text"),
        ({"text": b"bin \xff\xfe, not UTF-8"}, "invalid", "text", "text as bin that is not UTF-8"),
        ({"text": raw_str(b"caf\xc3 \xff\xfe broken")}, "invalid", "text", "text with invalid UTF-8"),
        ({"text": "x" * 65537}, "too_large", "text", "text of 64 KiB + 1 bytes"),
        ({"text": "\u20ac" * 21846}, "too_large", "text", "text of 21,846 euro signs (65,538 bytes)"),
    ]
    for params, code, field, label in cases:
        expect_error(c, "claim.put", params, code, "claim.put %s: %s" % (label, code), field)
    tap.is_(claims_count(c), before, "no rejected claim.put stored a claim")
    tap.is_(find_ids(c, name="Bad Medium Speaker") + find_ids(c, name="Hop Agency") + find_ids(c, name="Textless Speaker"),
            [], "no rejected claim.put created an entity")
    r = c.call("claim.put", {"text": "y" * 65536})
    tap.is_(len(c.call("claim.get", {"id": r["id"]}).get("text") or ""), 65536, "a text of exactly 64 KiB is accepted")


def main():
    d = Daemon()
    d.start()
    try:
        with d.client() as c:
            peskov, putin = check_entities(c)
            check_claim_put_get(c, peskov, putin)
            check_duplicates(c)
            check_import(c)
            check_verdicts(c)
            check_appearances(c)
            check_bad_claims(c)
        tap.ok(d.alive(), "daemon still running")
    finally:
        tap.is_(d.stop(), 0, "daemon exits 0 on SIGTERM")
        d.cleanup()


run(main)
