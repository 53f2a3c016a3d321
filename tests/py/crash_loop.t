#!/usr/bin/python3
"""crash_loop.t: the long kill -9 loop. Each cycle 2-4 writer connections pipeline claim.put (and
one in two cycles a writer sends claim.import batches), logging every acknowledged write; the
daemon is SIGKILLed at a random moment (now and then also while it is still starting up) and
restarted on the same data. After each restart:
  - every write acknowledged so far is present and whole (this cycle's at once; everything
    every CLAIMD_CRASH_FULL_EVERY cycles and at the end);
  - every claim that appeared is one that was sent, whole (all its fields), and there exactly once
    per external_id; an unacknowledged claim.import is all there or not at all;
  - ids are new (above every id seen before) and stats counts exactly the claims found.
Seeded: CLAIMD_CRASH_SEED replays the kill schedule. CLAIMD_CRASH_CYCLES sets the cycles
(default 50; `make soak` runs 1,000). Prints cycles, acked_writes and lost_writes for the report."""
import os
import random
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, short, run  # noqa: E402
import ops_helpers as ops  # noqa: E402


class Writer(threading.Thread):
    """Pipelines claim.put (or claim.import) on its own connection until the daemon dies.
    sent: ext -> claim (everything ever sent); acked: ext -> id; imports: lists of exts sent in
    one claim.import that was not acknowledged."""

    def __init__(self, d, rng, prefix, use_import):
        threading.Thread.__init__(self, daemon=True)
        self.d, self.rng, self.prefix, self.use_import = d, rng, prefix, use_import
        self.sent, self.acked, self.errors, self.open_imports = {}, {}, [], []

    def run(self):
        n = 0
        try:
            c = self.d.client(timeout=5)
        except OSError:
            return              # killed before we could connect
        try:
            while True:
                if self.use_import:
                    group = []
                    for _ in range(self.rng.randint(2, 10)):
                        claim = ops.make_claim(self.rng, "%s-%d" % (self.prefix, n), by="crash_loop.t")
                        n += 1
                        self.sent[claim["external_id"]] = claim
                        group.append(claim)
                    exts = [cl["external_id"] for cl in group]
                    self.open_imports.append(exts)
                    r = c.request("claim.import", {"claims": group})
                    if r.error is not None:
                        self.errors.append("import %s: %s" % (exts[0], short(r.error)))
                        continue
                    results = r.result.get("results") or []
                    if len(results) != len(group) or any("id" not in x for x in results):
                        self.errors.append("import %s: results %s" % (exts[0], short(results)))
                        continue
                    self.open_imports.pop()
                    for ext, x in zip(exts, results):
                        self.acked[ext] = x["id"]
                else:
                    batch = []
                    for _ in range(self.rng.randint(1, 8)):
                        claim = ops.make_claim(self.rng, "%s-%d" % (self.prefix, n), by="crash_loop.t")
                        n += 1
                        self.sent[claim["external_id"]] = claim
                        batch.append((c.send("claim.put", claim), claim["external_id"]))
                    for msgid, ext in batch:
                        r = c.recv_reply()
                        if r.msgid != msgid:
                            self.errors.append("msgid %r for %r" % (r.msgid, msgid))
                        elif r.error is not None:
                            self.errors.append("%s: %s" % (ext, short(r.error)))
                        else:
                            self.acked[ext] = r.result["id"]
        except Exception:
            pass                # the kill ends the writer; whatever is not acked is in flight
        finally:
            c.close()


def start_and_kill_early(d, delay):
    """Starts claimd and SIGKILLs it after delay seconds, ready or not."""
    with open(d.log, "ab") as log:
        log.write(("--- start, to be killed after %.3fs\n" % delay).encode())
        log.flush()
        d.proc = subprocess.Popen(d.argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    time.sleep(delay)
    d.kill9()


class State:
    def __init__(self):
        self.known = {}          # id -> claim stored (acknowledged, or found after a crash)
        self.by_ext = {}         # external_id -> id
        self.max_id = 0
        self.acked_total = 0
        self.lost = 0


def check_cycle(d, st, writers, label):
    """Verifies one restart; returns the problems found (and counts lost acknowledged writes)."""
    sent, acked = {}, {}
    for w in writers:
        sent.update(w.sent)
        acked.update(w.acked)
    problems = []
    with d.client(timeout=60) as c:
        found, errs = ops.scan_ids_from(c, st.max_id + 1)
        problems += errs
        for cid, got in sorted(found.items()):
            ext = got.get("external_id")
            if ext not in sent:
                problems.append("id %d: a claim nobody sent this cycle appeared: %s" % (cid, short(got)))
                continue
            if ext in st.by_ext:
                problems.append("%s stored twice: ids %d and %d" % (ext, st.by_ext[ext], cid))
                continue
            diffs = ops.claim_diffs(sent[ext], got)
            if diffs:
                problems.append("id %d (%s) half-written: %s" % (cid, ext, "; ".join(diffs)))
            st.by_ext[ext] = cid
            st.known[cid] = sent[ext]
        for ext, cid in acked.items():
            if cid <= st.max_id:
                problems.append("%s acknowledged with id %d, not above the previous %d" % (ext, cid, st.max_id))
            if cid not in found or found[cid].get("external_id") != ext:
                st.lost += 1
                problems.append("LOST: %s acknowledged as id %d, after restart: %s"
                                % (ext, cid, short(found.get(cid), 200)))
        for w in writers:
            for exts in w.open_imports:
                there = [e for e in exts if e in st.by_ext and st.by_ext[e] in found]
                if there and len(there) != len(exts):
                    problems.append("claim.import in flight half-applied: %d of %d claims (%s...)"
                                    % (len(there), len(exts), exts[0]))
        if found:
            ids = sorted(found)
            if ids != list(range(ids[0], ids[0] + len(ids))):
                problems.append("ids of the new claims are not dense: %s" % short(ids))
            st.max_id = max(st.max_id, ids[-1])
        n = c.call("stats").get("claims")
        if n != len(st.known):
            problems.append("stats counts %s claims, %d were found" % (n, len(st.known)))
    st.acked_total += len(acked)
    return problems


def index_problems(c, st, rng):
    """The index pass after the crashes: claim.query over all claims lists exactly the stored
    ones, and claim.match finds sampled claims by their own text."""
    problems, listed, cursor = [], set(), None
    while True:
        params = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        r = c.call("claim.query", params)
        listed.update(x["id"] for x in r["items"])
        cursor = r.get("cursor")
        if not cursor:
            break
    if listed != set(st.known):
        problems.append("claim.query lists %d claims, %d stored (missing %s, extra %s)"
                        % (len(listed), len(st.known), sorted(set(st.known) - listed)[:5],
                           sorted(listed - set(st.known))[:5]))
    for cid in rng.sample(sorted(st.known), min(20, len(st.known))):
        got = [x["id"] for x in c.call("claim.match", {"text": st.known[cid]["text"], "limit": 100})["items"]]
        if cid not in got:
            problems.append("claim.match does not find claim %d by its own text" % cid)
    return problems


def full_check(d, st, label):
    with d.client(timeout=120) as c:
        problems = ops.check_claims(c, st.known)
        ix = index_problems(c, st, random.Random(len(st.known)))
    tap.ok(not problems, "%s: all %d claims stored so far are present and whole" % (label, len(st.known)),
           *problems[:10])
    tap.ok(not ix, "%s: the indexes agree with them (query lists them all, match finds a sample)" % label,
           *ix[:10])
    return not problems and not ix


def main():
    seed, rng = ops.seed_from_env("CLAIMD_CRASH_SEED")
    cycles = ops.env_int("CLAIMD_CRASH_CYCLES", 50)
    full_every = ops.env_int("CLAIMD_CRASH_FULL_EVERY", 10)
    max_delay = float(os.environ.get("CLAIMD_CRASH_MAX_DELAY") or 0.4)
    tap.diag("%d cycles, kill within %.2fs of the writers starting, full check every %d cycles"
             % (cycles, max_delay, full_every))
    d = Daemon()
    st = State()
    failures, early_kills, t_start = 0, 0, time.monotonic()
    try:
        d.start()
        for cycle in range(1, cycles + 1):
            label = "cycle %d" % cycle
            nw = rng.randint(2, 4)
            use_import = rng.random() < 0.5
            writers = [Writer(d, random.Random(rng.getrandbits(32)), "c%d-w%d" % (cycle, k),
                              use_import and k == 0) for k in range(nw)]
            for w in writers:
                w.start()
            time.sleep(rng.uniform(0.0, max_delay))
            d.kill9()
            for w in writers:
                w.join(10)
            errors = [e for w in writers for e in w.errors]
            if rng.random() < 0.1:
                start_and_kill_early(d, rng.uniform(0.0, 0.02))
                early_kills += 1
            try:
                took = d.start()
            except RuntimeError as e:
                tap.ok(False, "%s: daemon restarts after kill -9" % label, str(e))
                failures += 1
                break
            problems = errors + check_cycle(d, st, writers, label)
            if took > 5:
                problems.append("restart took %.1fs" % took)
            if problems:
                failures += 1
            tap.ok(not problems, "%s: %d writers, %d acknowledged, %d sent: all acknowledged present, the rest "
                   "whole or absent" % (label, nw, sum(len(w.acked) for w in writers),
                                        sum(len(w.sent) for w in writers)), *problems[:10])
            if failures >= 3:
                break
            if cycle % full_every == 0 or cycle == cycles:
                if not full_check(d, st, label):
                    failures += 1
        took = time.monotonic() - t_start
        tap.ok(failures == 0, "%d kill -9 cycles (%d also killed during start-up): every acknowledged write "
               "survived, nothing half-written (%.1fs)" % (cycles, early_kills, took))
        tap.diag("cycles=%d acked_writes=%d lost_writes=%d claims_stored=%d seed=%d"
                 % (cycles, st.acked_total, st.lost, len(st.known), seed))
        tap.is_(st.lost, 0, "acknowledged writes lost: %d of %d" % (st.lost, st.acked_total))
        tap.is_(d.stop(), 0, "daemon exits 0 on SIGTERM")
        d.start()
        full_check(d, st, "after a clean restart")
    finally:
        tap.is_(d.stop(), 0, "daemon exits 0 on SIGTERM at the end")
        d.cleanup()


run(main)
