#!/usr/bin/python3
"""ix_pipeline.t: the index pipeline (daemon/ixpipe.h) builds index passes on a thread of its own
from a read snapshot, while the writer keeps committing writes, and the writer applies them. This
checks that what it builds is exactly the index the writer builds by itself: a seeded mix of
imports, puts, text/speaker/tag updates, retractions and entity merges (a merge catches the index
up inside the writer's own txn, which makes a plan built meanwhile stale: it must be dropped, not
applied), with readers on a second connection waiting for the index while it runs, leaves the
derived tables entry for entry equal to the ones a daemon with --index-threads 0 rebuilds from
scratch. Reads during the load find every write acknowledged before them. Seeded;
CLAIMD_IXPIPE_SEED replays."""
import os
import random
import shutil
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, run  # noqa: E402
from lmdb_tools import ixcheck, require_ixcheck  # noqa: E402


def word(rng):
    return "zq" + "".join(rng.choice("bcdfghjklmnprstvwxz") for _ in range(7))


def claim(rng, i):
    return {"text": "Claim %d says %s about %s" % (i, word(rng), word(rng)),
            "speaker": "Speaker %d" % rng.randrange(40), "tags": ["t%d" % rng.randrange(6)],
            "lang": rng.choice(["en", "fr", "de", "ru"]), "said_at": "2024-%02d-%02d" % (rng.randrange(1, 13), rng.randrange(1, 29))}


def load(c, rng, revs, rounds, merged):
    """Pipelined writes of every kind (revs: claim id -> its revision, kept up to date); returns
    the errors. An update or retraction may meet a revision an entity merge made since: conflict,
    and the claim's revision is read again."""
    errs = []
    n = 0
    for _ in range(rounds):
        calls, touched = [], set()
        ids = list(revs)
        for _ in range(200):
            r = rng.random()
            n += 1
            cid = rng.choice(ids) if ids else None
            if cid in touched:
                cid = None
            if r < 0.05:
                calls.append(("claim.import", {"claims": [claim(rng, n * 1000 + k) for k in range(300)]}))
            elif cid and r < 0.30:
                calls.append(("claim.update", {"id": cid, "rev": revs[cid],
                                               "set": {"text": "Updated %s and %s" % (word(rng), word(rng))}}))
            elif cid and r < 0.38:
                calls.append(("claim.update", {"id": cid, "rev": revs[cid], "set": {
                    "speaker": "Speaker %d" % rng.randrange(40), "tags": ["t%d" % rng.randrange(6)]}}))
            elif cid and r < 0.42:
                calls.append(("claim.retract", {"id": cid, "rev": revs[cid], "reason": "test"}))
            elif r < 0.43:
                a = rng.randrange(40)
                if a not in merged:
                    merged.add(a)
                    calls.append(("entity.merge", {"from": "Speaker %d" % a, "into": "Speaker %d" % ((a + 1) % 40)}))
                continue
            else:
                calls.append(("claim.put", claim(rng, n)))
                continue
            if cid:
                touched.add(cid)
        stale = []
        for (m, p), r in zip(calls, c.pipeline(calls, timeout=300)):
            if r.error is not None:
                # A merge of an alias already merged away, or into one, is refused: fine.
                if m in ("claim.update", "claim.retract") and r.error.get("code") == "conflict":
                    stale.append(p["id"])
                elif m != "entity.merge":
                    errs.append("%s: %s" % (m, r.msg))
                continue
            if m in ("claim.put", "claim.update", "claim.retract"):
                revs[r.result["id"]] = r.result["rev"]
            elif m == "claim.import":
                revs.update((x["id"], x["rev"]) for x in r.result["results"] if "id" in x)
        for cid in stale:
            revs[cid] = c.call("claim.get", {"id": cid})["rev"]
    return errs


def reader(d, stop, words, missing, reads):
    """Puts a claim with a fresh word, then searches and queries for it on another connection:
    the read waits for the index, and must find it."""
    rng = random.Random(7)
    with d.client(timeout=120) as w, d.client(timeout=120) as r:
        while not stop.is_set():
            wd = word(rng)
            cid = w.call("claim.put", {"text": "Reader check %s" % wd, "tags": ["rc-" + wd]})["id"]
            got = [x["id"] for x in r.call("claim.search", {"q": wd})["items"]]
            if cid not in got:
                missing.append("search %s" % wd)
            got = [x["id"] for x in r.call("claim.query", {"tag": "rc-" + wd})["items"]]
            if cid not in got:
                missing.append("query %s" % wd)
            reads[0] += 1


def main():
    seed = int(os.environ.get("CLAIMD_IXPIPE_SEED") or random.randrange(1 << 30))
    tap.diag("seed %d (CLAIMD_IXPIPE_SEED=%d replays)" % (seed, seed))
    rng = random.Random(seed)
    require_ixcheck()
    d = Daemon()
    fresh = Daemon(extra_args=["--index-threads", "0"])
    try:
        d.start()
        revs, merged, missing, reads = {}, set(), [], [0]
        stop = threading.Event()
        t = threading.Thread(target=reader, args=(d, stop, None, missing, reads))
        t.start()
        try:
            with d.client(timeout=300) as c:
                errs = load(c, rng, revs, 8, merged)
        finally:
            stop.set()
            t.join()
        tap.ok(not errs, "%d claims written by imports, puts, updates, retractions and %d merges" % (len(revs), len(merged)),
               *errs[:5])
        tap.ok(reads[0] > 0 and not missing, "%d reads on another connection while it ran found every claim "
               "acknowledged before them" % reads[0], *missing[:5])
        with d.client(timeout=120) as c:
            c.call("claim.query", {"limit": 1})
            s = c.call("stats")
        tap.ok(s["index_lag"] == 0 and not s["index_failing"], "the index caught up (lag %d)" % s["index_lag"])
        tap.ok(s["index_plans"] > 0 and s["index_plans"] <= s["index_passes"],
               "the pipeline built %d of the %d passes" % (s["index_plans"], s["index_passes"]))
        tap.diag("plans dropped (stale or not applicable): %d" % s["index_plans_dropped"])
        d.stop()
        caught_up = ixcheck("dump", d.data)

        shutil.rmtree(fresh.data, ignore_errors=True)
        shutil.copytree(d.data, fresh.data)
        ixcheck("reset", fresh.data)
        fresh.start()
        with fresh.client(timeout=300) as c:
            c.call("claim.query", {"limit": 1})           # waits for the rebuild
            fs = c.call("stats")
        fresh.stop()
        tap.ok(fs["index_plans"] == 0 and fs["index_passes"] > 0,
               "--index-threads 0: the writer built all %d passes itself" % fs["index_passes"])
        a, b = caught_up.splitlines(), ixcheck("dump", fresh.data).splitlines()
        tap.ok(len(a) > 10000, "the derived tables hold %d entries" % len(a))
        diff = sorted(set(a) ^ set(b))[:5]
        tap.ok(a == b, "the index the pipeline built equals the one the writer alone rebuilds, entry for entry", *diff)
    finally:
        for x in (d, fresh):
            x.stop()
            x.cleanup()


run(main)
