#!/usr/bin/python3
"""crash.t: kill -9 durability. A writer pipelines claim.put requests and records every
acknowledged claim; the daemon is SIGKILLed at a random moment and restarted on the same data
dir (whose map starts at 1 MiB, so kills also hit map growth); every acknowledged claim must be
there and complete, requests in flight at the kill must be either wholly there or wholly absent,
and ids must keep increasing. Seeded (CLAIMD_CRASH_SEED
replays the kill schedule); CLAIMD_CRASH_CYCLES sets the number of cycles (default 10)."""
import os
import random
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Closed, Daemon, stat, short, run  # noqa: E402
from ops_helpers import claim_diffs as same_claim  # noqa: E402

SPEAKERS = ["Rand Paul", "Dmitry Peskov", "Hogan Gidley", "U.S. Embassy in Moscow", "White House"]
OUTLETS = ["RFE/RL", "TASS", "Radio Svoboda", "Current Time"]
WORDS = "letter diplomacy sanctions delegation capitol kremlin channels introduction summit senate".split()


def make_claim(rng, cycle, n):
    claim = {
        "text": "crash cycle %d claim %d: %s" % (cycle, n, " ".join(rng.choice(WORDS) for _ in range(rng.randint(3, 600)))),
        "speaker": rng.choice(SPEAKERS),
        "external_id": "crash-%d-%d" % (cycle, n),
        "said_at": "2018-%02d-%02d" % (rng.randint(1, 12), rng.randint(1, 28)),
        "tags": sorted(set(rng.sample(WORDS, rng.randint(0, 3)))),
        "appearances": [{"url": "https://example.org/crash/%d/%d" % (cycle, n), "outlet": rng.choice(OUTLETS),
                         "published_at": "2018-09-01"}],
        "about": sorted(set(rng.sample(SPEAKERS, rng.randint(0, 2)))),
        "by": "crash.t",
    }
    if rng.random() < 0.3:
        claim["via"] = [{"name": "Russian news agencies", "how": "quoted"}]
    return claim


class Writer(threading.Thread):
    """Sends claim.put in pipelined groups of 1-4 until the connection dies or stop is set."""

    def __init__(self, d, rng, cycle):
        threading.Thread.__init__(self, daemon=True)
        self.d, self.rng, self.cycle = d, rng, cycle
        self.stop_flag = threading.Event()
        self.acked = {}      # external_id -> (id, claim)
        self.sent = {}       # external_id -> claim, sent but not (yet) acknowledged
        self.errors = []     # error replies (there should be none)
        self.group = None    # a claim.import batch sent and not (yet) acknowledged
        self.first_ack = threading.Event()

    def run(self):
        n = 0
        try:
            c = self.d.client(timeout=5)
        except OSError as e:
            self.errors.append("connect: %r" % (e,))
            return
        try:
            while not self.stop_flag.is_set():
                if self.rng.random() < 0.1:
                    n = self.send_import(c, n)
                    continue
                batch = []
                for _ in range(self.rng.randint(1, 4)):
                    claim = make_claim(self.rng, self.cycle, n)
                    n += 1
                    self.sent[claim["external_id"]] = claim
                    batch.append((c.send("claim.put", claim), claim))
                for msgid, claim in batch:
                    reply = c.recv_reply()
                    if reply.msgid != msgid:
                        self.errors.append("msgid %r for %r" % (reply.msgid, msgid))
                    elif reply.error is not None:
                        self.errors.append("%s -> %s" % (claim["external_id"], short(reply.error)))
                    else:
                        del self.sent[claim["external_id"]]
                        self.acked[claim["external_id"]] = (reply.result["id"], claim)
                        self.first_ack.set()
        except Exception:
            pass   # the kill ends the writer: anything not acknowledged is "in flight"
        finally:
            c.close()


    def send_import(self, c, n):
        """One claim.import of 20-50 claims: all of it is acknowledged at once, or none."""
        group = []
        for _ in range(self.rng.randint(20, 50)):
            group.append(make_claim(self.rng, self.cycle, n))
            n += 1
        self.group = group
        reply = c.request("claim.import", {"claims": group})
        if reply.error is not None:
            self.errors.append("claim.import -> %s" % short(reply.error))
        else:
            results = reply.result.get("results") or []
            for claim, r in zip(group, results):
                if r.get("created") is True:
                    self.acked[claim["external_id"]] = (r["id"], claim)
                else:
                    self.errors.append("%s in claim.import -> %s" % (claim["external_id"], short(r)))
            if len(results) != len(group):
                self.errors.append("claim.import: %d results for %d claims" % (len(results), len(group)))
        self.group = None
        self.first_ack.set()
        return n


def verify(d, known, label):
    """Every known claim (external_id -> (id, claim)) is present and complete."""
    problems = []
    items = list(known.items())
    with d.client(timeout=30) as c:
        for i in range(0, len(items), 200):
            chunk = items[i:i + 200]
            replies = c.pipeline([("claim.get", {"id": cid}) for _, (cid, _) in chunk])
            for (ext, (cid, claim)), reply in zip(chunk, replies):
                if reply.error is not None:
                    problems.append("%s (id %s): %s" % (ext, cid, short(reply.error)))
                else:
                    diffs = same_claim(claim, reply.result)
                    if diffs:
                        problems.append("%s (id %s): %s" % (ext, cid, "; ".join(diffs)))
    return tap.ok(not problems, "%s: all %d acknowledged claims present and complete" % (label, len(known)),
                  *problems[:10])


def put_again(c, claim):
    """Puts a claim again with on_duplicate error: returns (was_stored, id, problems)."""
    reply = c.request("claim.put", dict(claim, on_duplicate="error"))
    if reply.error is None and reply.result.get("created") is True:
        return False, reply.result["id"], []
    if reply.error is not None and reply.error.get("code") == "conflict":
        cid = reply.error.get("id")
        got = c.request("claim.get", {"id": cid})
        diffs = ["claim.get: %s" % short(got.error)] if got.error else same_claim(claim, got.result)
        return True, cid, diffs
    return None, None, ["unexpected %s" % short(reply.msg)]


def resolve_in_flight(d, w, known, label):
    """Requests in flight at the kill are all-or-nothing: put each claim again with on_duplicate
    error; a conflict names the stored copy, which must be complete. Of a claim.import batch in
    flight, either every claim was stored or none."""
    problems = []
    with d.client(timeout=10) as c:
        for ext, claim in w.sent.items():
            stored, cid, diffs = put_again(c, claim)
            problems += ["%s (id %s) half-written: %s" % (ext, cid, "; ".join(diffs))] if diffs else []
            if cid is not None:
                known[ext] = (cid, claim)
        if w.group:
            present = []
            for claim in w.group:
                stored, cid, diffs = put_again(c, claim)
                problems += ["%s (id %s) half-written: %s" % (claim["external_id"], cid, "; ".join(diffs))] if diffs else []
                if stored:
                    present.append(claim["external_id"])
                if cid is not None:
                    known[claim["external_id"]] = (cid, claim)
            if present and len(present) != len(w.group):
                problems.append("claim.import in flight: %d of its %d claims stored" % (len(present), len(w.group)))
    tap.ok(not problems, "%s: requests in flight at the kill are all-or-nothing (%d claim.put%s)" % (
        label, len(w.sent), ", a claim.import of %d" % len(w.group) if w.group else ""), *problems[:10])


def check_sigterm_under_load(d, rng, known):
    """SIGTERM while four connections have 100 claim.put each in the pipe: every request the
    daemon read is answered (done, or busy), it exits 0, and what it acknowledged is kept."""
    conns = [d.client(timeout=10) for _ in range(4)]
    sent = []
    for i, c in enumerate(conns):
        batch = []
        for j in range(100):
            claim = make_claim(rng, 1000 + i, j)
            batch.append((c.send("claim.put", claim), claim))
        sent.append(batch)
    time.sleep(0.005)
    d.proc.send_signal(signal.SIGTERM)
    problems, acked = [], 0
    for c, batch in zip(conns, sent):
        for msgid, claim in batch:
            try:
                reply = c.recv_reply(10.0)
            except Closed:
                break   # requests the daemon had not read yet may go unanswered
            except Exception as e:
                problems.append("%s: %r" % (claim["external_id"], e))
                break
            if reply.msgid != msgid:
                problems.append("msgid %r for %r" % (reply.msgid, msgid))
            elif reply.error is None:
                known[claim["external_id"]] = (reply.result["id"], claim)
                acked += 1
            elif reply.code != "busy":
                problems.append("%s: %s" % (claim["external_id"], short(reply.error)))
        c.close()
    tap.ok(not problems, "SIGTERM under load: requests answered with a result or busy (%d acknowledged)" % acked,
           *problems[:5])
    try:   # wait for it, without a second SIGTERM (which may find the default action again)
        status = d.proc.wait(10)
    except Exception:
        status = None
    tap.is_(status, 0, "daemon exits 0 on SIGTERM under load")


def main():
    seed = int(os.environ.get("CLAIMD_CRASH_SEED") or time.time_ns() % 1000000)
    cycles = int(os.environ.get("CLAIMD_CRASH_CYCLES") or 10)
    tap.diag("seed %d (CLAIMD_CRASH_SEED=%d replays the schedule), %d cycles" % (seed, seed, cycles))
    rng = random.Random(seed)
    # A 1 MiB map: the kills also land while the daemon grows its map.
    d = Daemon(extra_args=["--map-size", str(1 << 20)])
    known = {}
    max_id = 0
    try:
        d.start()
        for cycle in range(cycles):
            label = "cycle %d" % (cycle + 1)
            w = Writer(d, random.Random(rng.getrandbits(32)), cycle)
            w.start()
            w.first_ack.wait(5.0)
            time.sleep(rng.uniform(0.0, 0.3))
            d.kill9()
            w.join(10)
            tap.ok(not w.errors, "%s: writes acknowledged without errors before the kill (%d acked, %d in flight)"
                   % (label, len(w.acked), len(w.sent)), *w.errors[:5])
            fresh_ids = [cid for cid, _ in w.acked.values()]
            tap.ok(all(cid > max_id for cid in fresh_ids), "%s: ids are new and increasing after the restart" % label,
                   "max id before %d, smallest new %s" % (max_id, min(fresh_ids) if fresh_ids else None))
            known.update(w.acked)
            max_id = max([max_id] + fresh_ids)
            try:
                took = d.start()
            except RuntimeError as e:
                tap.ok(False, "%s: daemon restarts after kill -9" % label, str(e))
                return
            tap.ok(took < 10, "%s: daemon restarted after kill -9 in %.2fs" % (label, took))
            verify(d, known, label)
            resolve_in_flight(d, w, known, label)
            max_id = max([max_id] + [cid for cid, _ in known.values()])
            with d.client() as c:
                count = stat(c.call("stats"), r"(^|\.)claims$")
            tap.is_(count, len(known), "%s: stats counts exactly the claims written" % label)
        with d.client() as c:
            size = stat(c.call("stats"), r"map_?size")
        written = sum(len(claim["text"]) for _, claim in known.values())
        tap.diag("%d bytes of claim text written; the map is now %s bytes (started at 1 MiB)" % (written, size))
        check_sigterm_under_load(d, rng, known)
        d.start()
        verify(d, known, "after a clean restart")
    finally:
        tap.is_(d.stop(), 0, "daemon exits 0 on SIGTERM at the end")
        d.cleanup()


run(main)
