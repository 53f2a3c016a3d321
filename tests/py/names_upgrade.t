#!/usr/bin/python3
"""names_upgrade.t: a format 2 data directory opens under format 3 (docs/data-model.md, Format
history): entity names are re-keyed with punctuation folded, two entities that format 2 kept
apart under "Barack Obama" and "barack-obama" both stay and entity.find lists both as exact
matches for a desk to merge, and the search index is rebuilt with format 3's terms so claims
written before are found again, by unaccented and inflected words too."""
import os
import sys

import msgpack

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, run, short  # noqa: E402
from lmdb_tools import mdb_put  # noqa: E402


def main():
    d = Daemon(log_level="info")
    d.start()
    c = d.client()
    obama = c.call("entity.put", {"name": "Barack Obama", "kind": "person"})["id"]
    fr = c.call("claim.put", {"text": "La Sécurité sociale est en faillite.", "lang": "fr", "speaker": "Barack Obama"})["id"]
    uk = c.call("claim.put", {"text": "Росія запустила ракети по Києву.", "lang": "uk"})["id"]
    c.close()
    d.stop()

    # Make it format 2: the version, and a second entity under a format 2 key with a hyphen
    # (format 2 kept "barack-obama" apart from "barack obama").
    other = obama + 100
    rec = msgpack.packb([1, "barack-obama", 0, [], "", "", 0], use_bin_type=True)
    mdb_put(d.data, "entities", [(other.to_bytes(8, "big"), rec)])
    mdb_put(d.data, "aliases", [(b"barack-obama", other.to_bytes(8, "big"))])
    mdb_put(d.data, "meta", [(b"format", (2).to_bytes(4, "big"))])

    d.start()
    c = d.client()
    fmt = c.call("stats")["format"]
    tap.ok(fmt >= 3, "the data directory is now format 3 or later (%d)" % fmt)
    log = open(d.log, encoding="utf-8", errors="replace").read()
    tap.ok("entity names re-keyed (2 entities)" in log, "the upgrade re-keyed both entities' names")
    tap.ok("search and claim indexes emptied" in log, "and emptied the search and claim indexes (so what is found below was indexed again)")
    got = c.call("entity.find", {"name": "barack-obama"})["items"]
    tap.is_(sorted((e["id"], e["match"]) for e in got), [(obama, "exact"), (other, "exact")],
            "both entities are found, as exact matches, for a desk to merge", short(got))
    tap.is_(c.call("entity.put", {"name": "BARACK_OBAMA"})["id"], obama, "a write resolves to the first entity with the key")
    hits = [h["id"] for h in c.call("claim.search", {"q": "securite", "lang": "fr"})["items"]]
    tap.ok(fr in hits, "a claim written before the upgrade is found by an unaccented word", short(hits))
    hits = [h["id"] for h in c.call("claim.search", {"q": "ракета", "lang": "uk"})["items"]]
    tap.ok(uk in hits, "and a Ukrainian one by another inflection (terms made again)", short(hits))
    c.call("entity.merge", {"from": {"id": other}, "into": {"id": obama}})
    got = c.call("entity.find", {"name": "Barack Obama"})["items"]
    tap.is_([e["id"] for e in got], [obama], "after the merge one entity is left", short(got))
    c.close()
    d.stop()


run(main)
