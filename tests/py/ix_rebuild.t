#!/usr/bin/python3
"""ix_rebuild.t: after kill -9 at random points of the index pass (claims created, updated in
text and speaker, retracted, while passes run), the derived index a restart catches up to is
byte for byte the one a daemon rebuilds from scratch from the same claims (build/tests/ixcheck
dumps the derived tables, and resets a copy of the directory so its next start rebuilds them).
The harness for sorted runs and merge steps (issue 11 item 3): whatever the index pass writes,
this must keep holding.

Updates and retractions carry the `rev` they are based on (claim.update requires it, and the
retractions give it too): the test keeps each claim's current rev from the results, and since
one pipeline may change a claim several times, it predicts the revs a pipeline's earlier
changes make. Some kills land in the middle of a pipeline, so a write may or may not have
committed: after such a restart the revs (and the claims whose put was never answered) are read
back with claim.get. The errors are counted per method, and most updates and retractions must
succeed, or the index passes would hardly see anything but new claims.

Runs once with the index pipeline (the default) and once with --index-threads 0 (the writer
builds every pass). Seeded; CLAIMD_IXREBUILD_SEED replays (both modes use the same seed)."""
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Closed, Daemon, ProtocolViolation, Reply, Timeout, request_bytes, run  # noqa: E402
from lmdb_tools import ixcheck, rebuilt_dump, require_ixcheck  # noqa: E402

ROUNDS = 8
CALLS = 1500


def word(rng):
    return "zq" + "".join(rng.choice("bcdfghjklmnprstvwxz") for _ in range(7))


class Model:
    """What the test knows of the daemon's claims: id -> current rev, the retracted ids, and
    per-method counts of successes and errors (by code)."""

    def __init__(self):
        self.revs = {}
        self.retracted = set()
        self.ok = {}
        self.errors = {}
        self.unanswered = 0

    def count(self, method, reply):
        if reply.error is None:
            self.ok[method] = self.ok.get(method, 0) + 1
        else:
            per = self.errors.setdefault(method, {})
            per[reply.code] = per.get(reply.code, 0) + 1

    def summary(self):
        return ", ".join("%s ok %d errors %r" % (m, self.ok.get(m, 0), self.errors.get(m, {}))
                         for m in ("claim.put", "claim.update", "claim.retract"))


def plan_calls(rng, m, n):
    """n writes: new claims, text and speaker updates, retractions of known claims (mostly of the
    300 newest). A claim may be changed several times in one pipeline: each change gives the rev
    the previous ones lead to (an update always makes a revision; retracting a retracted claim
    makes none)."""
    calls = []
    rev, retracted = dict(m.revs), set(m.retracted)
    ids = sorted(m.revs)
    for i in range(n):
        r = rng.random()
        # Most changes go to the newest claims, as a desk's do: many removals from the same runs
        # in one pass, so terms whose df in a run crosses a varint length (search_runs.c)
        recent = rng.random() < 0.7
        cid = rng.choice(ids[-300:] if recent else ids) if ids else None
        if cid and r < 0.25:
            calls.append(("claim.update", {"id": cid, "rev": rev[cid],
                                           "set": {"text": "Updated %s and %s" % (word(rng), word(rng))}}))
            rev[cid] += 1
        elif cid and r < 0.35:
            calls.append(("claim.update", {"id": cid, "rev": rev[cid], "set": {"speaker": "Speaker %d" % rng.randrange(30)}}))
            rev[cid] += 1
        elif cid and r < 0.40:
            calls.append(("claim.retract", {"id": cid, "rev": rev[cid], "reason": "test"}))
            if cid not in retracted:
                rev[cid] += 1
                retracted.add(cid)
        else:
            calls.append(("claim.put", {"text": "Claim %d says %s %s" % (i, word(rng), word(rng)),
                                        "speaker": "Speaker %d" % rng.randrange(30), "tags": ["t%d" % rng.randrange(5)],
                                        "lang": rng.choice(["en", "fr", "ru"])}))
    return calls


def send_pipeline(c, calls, replies):
    """Sends calls in one write and appends their replies to replies as they come, until all
    came or the connection ends (the daemon was killed)."""
    msgids = []
    data = []
    for method, params in calls:
        msgids.append(c.take_msgid())
        data.append(request_bytes(msgids[-1], method, params))
    try:
        c.send_raw(b"".join(data))
        for msgid in msgids:
            reply = c.recv_reply(120)
            if reply.msgid != msgid:
                raise ProtocolViolation("reply msgid %r where %r was expected" % (reply.msgid, msgid))
            replies.append(reply)
    except (Closed, OSError):
        pass


def apply_replies(m, calls, replies):
    """Takes the revs from the answered calls; returns the ids to read back (conflicts)."""
    reread = set()
    for (method, params), reply in zip(calls, replies):
        m.count(method, reply)
        if reply.error is None:
            m.revs[reply.result["id"]] = reply.result["rev"]
            if method == "claim.retract":
                m.retracted.add(reply.result["id"])
        elif reply.code == "conflict":
            reread.add(params["id"])
    m.unanswered += len(calls) - len(replies)
    return reread


def reread(d, m, ids, new_from=None, new_max=0):
    """Reads the revs of ids back with claim.get, and the claims new_from.. (up to new_max of
    them) whose put may have committed unanswered (claim ids are given in sequence)."""
    ids = sorted(ids)
    extra = list(range(new_from, new_from + new_max)) if new_from else []
    calls = [("claim.get", {"id": i}) for i in ids + extra]
    if not calls:
        return
    with d.client(timeout=120) as c:
        for (_, p), r in zip(calls, c.pipeline(calls, timeout=120)):
            if r.error is None:
                m.revs[p["id"]] = r.result["rev"]
                if r.result["retracted"]:
                    m.retracted.add(p["id"])
                else:
                    m.retracted.discard(p["id"])
            elif r.code != "not_found" or p["id"] in m.revs:
                raise AssertionError("claim.get %d after a restart: %r" % (p["id"], r.msg))


def one_mode(seed, args, label):
    rng = random.Random(seed)
    d = Daemon(extra_args=args)
    fresh = Daemon(extra_args=args)
    m = Model()
    try:
        d.start()
        for rnd in range(ROUNDS):
            calls = plan_calls(rng, m, CALLS)
            replies = []
            mid_load = rnd > 0 and rng.random() < 0.5
            with d.client(timeout=120) as c:
                if mid_load:                              # kill while the pipeline is being written
                    t = threading.Thread(target=send_pipeline, args=(c, calls, replies))
                    t.start()
                    upto = rng.randrange(len(calls) // 2)    # once this many replies came
                    while len(replies) < upto and t.is_alive():
                        time.sleep(0.0005)
                    d.kill9()
                    t.join(130)
                    lag = "?"
                else:
                    send_pipeline(c, calls, replies)
                    lag = c.call("stats")["index_lag"]
                    time.sleep(rng.random() * 0.05)       # somewhere inside the next passes
                    d.kill9()
            to_reread = apply_replies(m, calls, replies)
            tap.diag("%s round %d: killed %s, %d of %d calls answered, %s changes not yet indexed"
                     % (label, rnd, "mid-pipeline" if mid_load else "after the pipeline", len(replies),
                        len(calls), lag))
            d.start()
            if rng.random() < 0.3:                        # and once more while it catches up
                time.sleep(rng.random() * 0.05)
                d.kill9()
                d.start()
            if len(replies) < len(calls):
                # The unanswered writes may or may not have committed: read back every claim they
                # touch, and the claims their puts may have made.
                lost = calls[len(replies):]
                to_reread |= {p["id"] for mth, p in lost if mth != "claim.put"}
                new_puts = sum(1 for mth, _ in lost if mth == "claim.put")
                reread(d, m, to_reread, max(m.revs, default=0) + 1, new_puts)
            else:
                reread(d, m, to_reread)
        tap.diag("%s: %s; %d calls unanswered at kills" % (label, m.summary(), m.unanswered))
        changes_ok = m.ok.get("claim.update", 0) + m.ok.get("claim.retract", 0)
        changes_err = sum(sum(e.values()) for k, e in m.errors.items() if k != "claim.put")
        tap.ok(changes_ok > 300 and changes_err * 20 < changes_ok,
               "%s: %d updates and retractions applied, %d refused" % (label, changes_ok, changes_err),
               m.summary())
        tap.ok(not m.errors.get("claim.put"), "%s: every answered claim.put succeeded" % label, m.summary())
        with d.client(timeout=120) as c:
            r = c.request("claim.query", {"limit": 1}, timeout=120)   # waits for the index pass to catch up
            tap.ok(r.error is None, "%s: the index passes after the restarts succeed" % label, repr(r.error))
            tap.is_(c.call("stats")["index_lag"], 0, "%s: after %d rounds of kills and restarts the index caught up"
                    % (label, ROUNDS))
            ids = sorted(m.revs)
            got = [r.result and (r.result["rev"], r.result["retracted"])
                   for r in c.pipeline([("claim.get", {"id": i}) for i in ids], timeout=120)]
            want = [(m.revs[i], i in m.retracted) for i in ids]
            bad = ["claim %d: daemon %r, test %r" % (i, g, w) for i, g, w in zip(ids, got, want) if g != w]
            tap.ok(not bad, "%s: the test's revs of the %d claims are the daemon's" % (label, len(ids)), *bad[:5])
        d.stop()
        caught_up = ixcheck("dump", d.data)
        after_reset, rebuilt = rebuilt_dump(d.data, fresh, timeout=120)
        tap.is_(after_reset, "", "%s: the copy's derived tables are empty after ixcheck reset" % label)
        a, b = caught_up.splitlines(), rebuilt.splitlines()
        tap.ok(len(a) > 1000, "%s: the derived tables hold %d entries" % (label, len(a)))
        only_a = set(a)
        diff = ["%s %s" % ("caught-up only:" if x in only_a else "rebuilt only:  ", x)
                for x in sorted(only_a ^ set(b))[:10]]
        tap.ok(a == b, "%s: the index after kill -9 equals the one rebuilt from scratch, entry for entry" % label,
               *diff)
    finally:
        for x in (d, fresh):
            x.stop()
            x.cleanup()


def main():
    seed = int(os.environ.get("CLAIMD_IXREBUILD_SEED") or random.randrange(1 << 30))
    tap.diag("seed %d (CLAIMD_IXREBUILD_SEED=%d replays)" % (seed, seed))
    require_ixcheck()
    one_mode(seed, [], "pipeline")
    one_mode(seed, ["--index-threads", "0"], "--index-threads 0")


run(main)
