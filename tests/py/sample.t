#!/usr/bin/python3
"""sample.t: imports examples/rferl-paul-letter.jsonl (every claim of the sample RFE/RL article)
through claim.import and reads each claim back field by field, including Peskov's second-hand
quotes with their via chain (TASS credit, Russian news agencies); a re-import is idempotent."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, EXAMPLES, short, run, utc  # noqa: E402

SAMPLE = os.path.join(EXAMPLES, "rferl-paul-letter.jsonl")
ENTITIES = os.path.join(EXAMPLES, "rferl-paul-letter-entities.jsonl")
SCALARS = ("text", "lang", "speaker_role", "attribution", "medium", "external_id")


def name_of(ref):
    """The name an input entity reference gives (string or {name...})."""
    return ref if isinstance(ref, str) else (ref or {}).get("name")


def expected_view(c):
    """The input claim as it must read back, with entity references reduced to names."""
    return {
        **{f: c.get(f) for f in SCALARS},
        "quote": c.get("quote", True),
        "said_at": c.get("said_at"),
        "speaker": name_of(c.get("speaker")),
        "via": [(name_of(h), h.get("how")) for h in c.get("via") or []],
        "appearances": [(a.get("url"), name_of(a.get("outlet")), a.get("title"), a.get("published_at"), a.get("lang"))
                        for a in c.get("appearances") or []],
        "about": sorted(name_of(x) for x in c.get("about") or []),
        "tags": sorted(c.get("tags") or []),
        "recorded_by": c.get("by"),
        "rev": 1, "status": "unverified", "retracted": False,
    }


def stored_view(g):
    """The same view of a claim.get result (output entity refs are {id, name})."""
    return {
        **{f: g.get(f) for f in SCALARS},
        "quote": g.get("quote"),
        "said_at": utc(g.get("said_at")),
        "speaker": (g.get("speaker") or {}).get("name"),
        "via": [(h.get("name"), h.get("how")) for h in g.get("via") or []],
        "appearances": [(a.get("url"), (a.get("outlet") or {}).get("name"), a.get("title"), utc(a.get("published_at")),
                         a.get("lang")) for a in g.get("appearances") or []],
        "about": sorted((x or {}).get("name") for x in g.get("about") or []),
        "tags": sorted(g.get("tags") or []),
        "recorded_by": g.get("recorded_by"),
        "rev": g.get("rev"), "status": g.get("status"), "retracted": g.get("retracted"),
    }


def entity_ids(claims):
    """name -> set of ids, over every entity reference of every stored claim."""
    ids = {}

    def add(e):
        if e:
            ids.setdefault(e.get("name"), set()).add(e.get("id"))
    for g in claims:
        add(g.get("speaker"))
        for x in (g.get("about") or []) + (g.get("via") or []):
            add(x)
        for a in g.get("appearances") or []:
            add(a.get("outlet"))
    return ids


def main():
    with open(SAMPLE, encoding="utf-8") as f:
        claims = [json.loads(line) for line in f if line.strip()]
    with open(ENTITIES, encoding="utf-8") as f:
        entities = [json.loads(line) for line in f if line.strip()]
    tap.ok(len(claims) >= 10, "the sample has every claim of the article (%d)" % len(claims))

    d = Daemon()
    d.start()
    try:
        with d.client() as c:
            registered = {e["name"]: c.call("entity.put", e).get("id") for e in entities}
            res = c.call("claim.import", {"claims": claims}).get("results") or []
            tap.ok(len(res) == len(claims) and all(r.get("created") is True for r in res),
                   "claim.import created every sample claim", short(res, 2000))
            ids = [r.get("id") for r in res]
            stored = [c.call("claim.get", {"id": i}) if isinstance(i, int) else {} for i in ids]
            for claim, g in zip(claims, stored):
                want, got = expected_view(claim), stored_view(g)
                diffs = ["%s: got %r, want %r" % (k, got[k], want[k]) for k in want if got[k] != want[k]]
                tap.ok(not diffs, "%s reads back field for field" % claim["external_id"], *diffs)

            names = entity_ids(stored)
            split = {n: sorted(s) for n, s in names.items() if len(s) != 1}
            tap.ok(not split, "every entity name resolves to one entity across the batch", short(split))
            ident = {n: min(s) for n, s in names.items()}
            tap.is_({n: ident.get(n) for n in registered}, registered,
                    "via hops resolved to the entities registered before the import")

            by_ext = {claim["external_id"]: g for claim, g in zip(claims, stored)}
            peskov = by_ext.get("rferl-29421535-3", {})
            tap.is_(peskov.get("via"), [
                {"id": ident.get("TASS"), "name": "TASS", "how": "with-reporting-by"},
                {"id": ident.get("Russian news agencies"), "name": "Russian news agencies", "how": "quoted"}],
                "Peskov's second-hand quote keeps its via chain: TASS credit, then Russian news agencies")
            tap.is_(peskov.get("speaker"), {"id": ident.get("Dmitry Peskov"), "name": "Dmitry Peskov"},
                    "... and its speaker")
            tap.is_((peskov.get("said_at"), peskov.get("quote")), ("2018-08", True), "... said in 2018-08, a quote")
            tap.is_(by_ext.get("rferl-29421535-4", {}).get("via"), peskov.get("via"),
                    "Peskov's second quote has the same chain")
            tap.ok(not by_ext.get("rferl-29421535-1", {}).get("via"), "Paul's own tweet has no via chain")

            kinds = {"Rand Paul": "person", "Dmitry Peskov": "person", "TASS": "outlet", "RFE/RL": "outlet",
                     "Russian news agencies": "group", "U.S. Embassy in Moscow": "organization",
                     "White House": "government", "Russian Federation": "government"}
            for name, kind in kinds.items():
                e = c.call("entity.get", {"id": ident.get(name, 0)}) if name in ident else {}
                tap.is_(e.get("kind"), kind, "%s is an entity of kind %s" % (name, kind))
            rferl = c.call("entity.find", {"name": "Radio Free Europe/Radio Liberty"}).get("items") or []
            tap.is_([e.get("id") for e in rferl], [ident.get("RFE/RL")], "the outlet's alias finds RFE/RL")
            trump = c.call("entity.get", {"id": ident.get("Donald Trump", 0)}) if "Donald Trump" in ident else {}
            tap.is_(trump.get("wikidata"), "Q22686", "Donald Trump keeps the wikidata id of his first mention")

            res = c.call("claim.import", {"claims": claims, "on_duplicate": "skip"}).get("results") or []
            tap.is_([(r.get("id"), r.get("created")) for r in res], [(i, False) for i in ids],
                    "re-import with skip: same ids, nothing created")
            res = c.call("claim.import", {"claims": claims}).get("results") or []
            tap.is_([(r.get("id"), r.get("created")) for r in res], [(i, False) for i in ids],
                    "re-import with merge: same ids, nothing created")
            again = [c.call("claim.get", {"id": i}) if isinstance(i, int) else {} for i in ids]
            changed = [g.get("external_id") for g, h in zip(stored, again) if g != h]
            tap.ok(not changed, "merging identical claims changes nothing (no rev bump, no repeated appearance)",
                   *["%s: %s" % (g.get("external_id"), short(h, 1500)) for g, h in zip(stored, again) if g != h][:3])
        tap.ok(d.alive(), "daemon still running")
    finally:
        tap.is_(d.stop(), 0, "daemon exits 0 on SIGTERM")
        d.cleanup()


if __name__ == "__main__":
    run(main)
