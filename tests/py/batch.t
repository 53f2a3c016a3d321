#!/usr/bin/python3
"""batch.t: group commit with failing calls in the batch. Calls of one batch share one LMDB
transaction; a call that fails aborts it, the calls before it are committed on their own and the
batch goes on after it (daemon/writer.c). Several connections pipeline writes at once, a third of
them failing in different ways (invalid params, a stale rev, an unknown claim, an import with bad
items); afterwards every acknowledged write is stored whole, no failed one left a trace, the
change feed has exactly one entry per stored change, and the writes were batched. Seeded;
CLAIMD_BATCH_SEED replays."""
import os
import random
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, run, short  # noqa: E402
import ops_helpers as ops  # noqa: E402

CONNS = 6
CALLS = 120


def make_calls(rng, conn, base_id, own_id):
    """(method, params, expect) triples; expect is "ok" or the error code the call must get.
    own_id is a claim only this connection updates, so the rev of each update is known."""
    calls, rev = [], 1
    for i in range(CALLS):
        tag = "b%d-%d" % (conn, i)
        kind = rng.randrange(7)
        if kind == 6:
            calls.append(("claim.update", {"id": own_id, "rev": rev, "set": {"text": "own claim, version " + tag}}, "ok"))
            rev += 1
        elif kind == 0:
            calls.append(("claim.put", {"speaker": "Nobody %s" % tag}, "invalid"))           # no text
        elif kind == 1:
            calls.append(("claim.update", {"id": base_id, "rev": 999, "set": {"text": "stale " + tag}}, "conflict"))
        elif kind == 2:
            calls.append(("claim.retract", {"id": 10 ** 9 + i, "reason": "gone"}, "not_found"))
        elif kind == 3:
            items = [{"text": "imported %s %d" % (tag, k), "speaker": "Importer %d" % (k % 3)} for k in range(3)]
            items.insert(1, {"text": 42})                                                    # a bad item
            calls.append(("claim.import", {"claims": items}, "ok"))
        else:
            calls.append(("claim.put", {"text": "Claim %s about the budget of year %d" % (tag, 2000 + i),
                                        "speaker": "Speaker %d" % (i % 5), "tags": ["t%d" % (i % 4)]}, "ok"))
    return calls


def main():
    seed, rng = ops.seed_from_env("CLAIMD_BATCH_SEED")
    d = Daemon()
    d.start()
    try:
        with d.client() as c:
            base = c.call("claim.put", {"text": "The base claim every stale update aims at", "speaker": "Base"})
            own = [c.call("claim.put", {"text": "own claim of connection %d" % k})["id"] for k in range(CONNS)]
            s0 = c.call("stats")
        plans = [make_calls(random.Random(seed + k), k, base["id"], own[k]) for k in range(CONNS)]
        results = [None] * CONNS
        errors = []

        def worker(k):
            try:
                with d.client(timeout=60) as cc:
                    results[k] = cc.pipeline([(m, p) for m, p, _ in plans[k]], timeout=60)
            except Exception as e:  # reported below
                errors.append("connection %d: %r" % (k, e))

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(CONNS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        tap.ok(not errors, "%d connections each pipelined %d writes" % (CONNS, CALLS), *errors)
        if errors:
            return

        wrong, stored, created, updated = [], {}, 0, 0
        for k in range(CONNS):
            for (method, params, expect), r in zip(plans[k], results[k]):
                got = "ok" if r.error is None else r.code
                if got != expect:
                    wrong.append("%s %s: expected %s, got %s" % (method, short(params, 80), expect, short(r.msg)))
                    continue
                if method == "claim.update" and expect == "ok":
                    stored[params["id"]] = params["set"]["text"]     # the last update wins
                    updated += 1
                    if r.result.get("rev") != params["rev"] + 1:
                        wrong.append("update of %d from rev %d gave rev %s" % (params["id"], params["rev"], r.result.get("rev")))
                elif method == "claim.put" and expect == "ok":
                    stored[r.result["id"]] = params["text"]
                    created += 1
                elif method == "claim.import":
                    res = r.result["results"]
                    if "error" not in res[1] or res[1]["error"]["code"] != "invalid":
                        wrong.append("import's bad item: %s" % short(res[1]))
                    for item, out in zip(params["claims"], res):
                        if "id" in out:
                            stored[out["id"]] = item["text"]
                            created += 1
        tap.ok(not wrong, "every call got its own outcome (%d calls)" % (CONNS * CALLS), *wrong[:5])

        with d.client() as c:
            bad = []
            for cid, text in stored.items():
                got = c.call("claim.get", {"id": cid})
                if got.get("text") != text:
                    bad.append("%d: %s" % (cid, short(got, 120)))
            tap.ok(not bad, "all %d acknowledged claims are stored whole" % len(stored), *bad[:5])
            g = c.call("claim.get", {"id": base["id"]})
            tap.is_(g.get("rev"), base["rev"], "the stale updates left the base claim at its first rev")
            s1 = c.call("stats")
            tap.is_(s1["claims"] - s0["claims"], created, "stats counts exactly the created claims")
            ch = c.call("changes", {"since": s0["seq"], "limit": 10000})["items"]
            seqs = [x["seq"] for x in ch]
            nclaim = sum(1 for x in ch if x.get("type") == "claim")      # the rest: new speakers
            tap.ok(seqs == list(range(s0["seq"] + 1, s0["seq"] + 1 + len(seqs))) and nclaim == created + updated,
                   "the change feed has one entry per stored change, seqs without gaps (%d claims created, "
                   "%d updates; %d claim entries of %d)" % (created, updated, nclaim, len(seqs)))
            found = c.call("claim.search", {"q": "budget", "limit": 1})
            puts = sum(1 for k in range(CONNS) for m, _, e in plans[k] if m == "claim.put" and e == "ok")
            tap.is_(found.get("total"), puts if puts <= 1000 else found.get("total"),
                    "search finds every stored claim.put (its postings were written at commit)")
            writes = CONNS * CALLS
            commits = s1["commits"] - s0["commits"]
            tap.ok(commits < writes, "writes were grouped: %d commits for %d write calls" % (commits, writes))
    finally:
        d.stop()
        d.cleanup()


run(main)
