#!/usr/bin/python3
"""backup.t: `backup {path}` and restore (PROTOCOL.md "Methods", issue 6 "Backup").

A quiet backup, restored by starting claimd on the copy, holds the same data. A backup taken while
a writer keeps writing (on a daemon started with a 1 MiB map, so the map grows around the backup)
succeeds without stalling other connections; a daemon started on that copy holds a consistent
prefix: ids dense from 1, every claim whole, a count between the counts before and after the
backup, every acknowledged write up to the copy's last id present. A directory already holding a
database or any other file gives `conflict` and is left as it was; a relative path, a missing
parent or a path that is a file give `invalid`.

Knobs: CLAIMD_BACKUP_PRELOAD (claims before the backups, default 3000), CLAIMD_BACKUP_SEED,
CLAIMD_BACKUP_MAP (initial --map-size, default 1M)."""
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, short, run, expect_error  # noqa: E402
import ops_helpers as ops  # noqa: E402


class Writer(threading.Thread):
    """Pipelines claim.put in groups of 4 until stopped; acked: id -> claim, with the monotonic
    time of each acknowledgement."""

    def __init__(self, d, rng):
        threading.Thread.__init__(self, daemon=True)
        self.d, self.rng = d, rng
        self.stop_flag = threading.Event()
        self.acked, self.ack_times, self.errors = {}, [], []

    def run(self):
        n = 0
        with self.d.client(timeout=30) as c:
            while not self.stop_flag.is_set():
                batch = [ops.make_claim(self.rng, "during-%d" % (n + i), 200 + self.rng.randint(0, 3000),
                                        by="backup.t") for i in range(4)]
                n += 4
                try:
                    replies = c.pipeline([("claim.put", cl) for cl in batch], 30)
                except Exception as e:
                    self.errors.append(repr(e))
                    return
                now = time.monotonic()
                for cl, r in zip(batch, replies):
                    if r.error is not None:
                        self.errors.append("%s: %s" % (cl["external_id"], short(r.error)))
                    else:
                        self.acked[r.result["id"]] = cl
                        self.ack_times.append(now)


class Pinger(threading.Thread):
    def __init__(self, d):
        threading.Thread.__init__(self, daemon=True)
        self.d, self.stop_flag, self.worst, self.failures = d, threading.Event(), 0.0, []

    def run(self):
        with self.d.client(timeout=10) as c:
            while not self.stop_flag.is_set():
                t = time.monotonic()
                try:
                    c.call("ping")
                except Exception as e:
                    self.failures.append(repr(e))
                    return
                self.worst = max(self.worst, time.monotonic() - t)
                time.sleep(0.002)


def restored(path):
    """A daemon started on a backup directory (as operations.md's restore says: --data PATH)."""
    r = Daemon()
    r.data = path
    r.start()
    return r


def counts(c):
    s = c.call("stats")
    return {k: s.get(k) for k in ("claims", "entities", "verdicts", "revisions", "seq")}


def main():
    seed, rng = ops.seed_from_env("CLAIMD_BACKUP_SEED")
    preload = ops.env_int("CLAIMD_BACKUP_PRELOAD", 3000)
    d = Daemon(["--map-size", os.environ.get("CLAIMD_BACKUP_MAP", "1M")])
    d.start()
    known = {}
    try:
        with d.client(timeout=120) as c:
            for i in range(0, preload, 1000):
                group = [ops.make_claim(rng, "pre-%d" % (i + k), 300, by="backup.t")
                         for k in range(min(1000, preload - i))]
                res = c.call("claim.import", {"claims": group})["results"]
                for cl, x in zip(group, res):
                    known[x["id"]] = cl
            c.call("verdict.add", {"claim": min(known), "rating": "mostly-true", "by": "backup.t"})
            before = counts(c)

            # --- a quiet backup and its restore ------------------------------------------------
            quiet = os.path.join(d.tmp, "quiet")
            r = c.request("backup", {"path": quiet})
            size = os.path.getsize(os.path.join(quiet, "data.mdb")) if os.path.exists(os.path.join(quiet, "data.mdb")) else None
            tap.ok(r.error is None and r.result.get("path") == quiet and r.result.get("bytes") == size,
                   "backup returns its path and the bytes of the data.mdb it wrote (%s)" % size, short(r.msg))
            live = os.path.getsize(os.path.join(d.data, "data.mdb"))
            tap.ok(size is not None and size <= live, "the copy is compacted: %s <= %d bytes" % (size, live))
        rq = restored(quiet)
        try:
            with rq.client(timeout=120) as c:
                tap.is_(counts(c), before, "restore: a daemon on the quiet copy has the same counts")
                g = c.call("claim.get", {"id": min(known)})
                tap.is_(g.get("status"), "mostly-true", "restore: verdicts came along")
                problems = ops.check_claims(c, {k: v for k, v in known.items() if k != min(known)})
                tap.ok(not problems, "restore: all %d claims whole" % (len(known) - 1), *problems[:5])
                r = c.request("claim.put", {"text": "Written to the restored copy", "speaker": "Restore Speaker"})
                tap.ok(r.error is None and r.result.get("id") == before["claims"] + 1,
                       "restore: the copy takes new writes with the next id", short(r.msg))
        finally:
            tap.is_(rq.stop(), 0, "restored daemon exits 0")
            rq.cleanup()

        # --- a backup while a writer writes ---------------------------------------------------
        w = Writer(d, random.Random(rng.getrandbits(32)))
        p = Pinger(d)
        w.start()
        p.start()
        time.sleep(0.3)
        live_path = os.path.join(d.tmp, "live")
        with d.client(timeout=60) as c:
            n_before = c.call("stats")["claims"]
            t0 = time.monotonic()
            r = c.request("backup", {"path": live_path}, timeout=60)
            t1 = time.monotonic()
            n_after = c.call("stats")["claims"]
        time.sleep(0.3)
        w.stop_flag.set()
        p.stop_flag.set()
        w.join(30)
        p.join(10)
        during = sum(1 for t in w.ack_times if t0 <= t <= t1)
        tap.ok(r.error is None and r.result.get("bytes", 0) > 0,
               "backup succeeds while a writer writes (%.0f ms; %d writes acknowledged meanwhile)"
               % ((t1 - t0) * 1000, during), short(r.msg))
        tap.ok(not w.errors and len(w.acked) > 0,
               "the writer's %d writes all succeeded, the map growing as needed" % len(w.acked), *w.errors[:5])
        tap.ok(not p.failures and p.worst < 1.0, "pings kept being answered (worst %.0f ms)" % (p.worst * 1000),
               *p.failures[:3])
        with d.client() as c:
            tap.ok((c.call("stats").get("map_growths") or 0) > 0 or os.environ.get("CLAIMD_BACKUP_MAP"),
                   "the map grew from 1 MiB during the test (growth waits for a running backup)")
        known.update(w.acked)
        if r.error is None:
            rl = restored(live_path)
            try:
                with rl.client(timeout=120) as c:
                    n_copy = c.call("stats")["claims"]
                    found, errs = ops.scan_ids_from(c, 1, chunk=500)
                tap.ok(n_before <= n_copy <= n_after,
                       "the copy's claim count %d lies between the count before (%d) and after (%d) the backup"
                       % (n_copy, n_before, n_after))
                ids = sorted(found)
                tap.ok(not errs and ids == list(range(1, len(ids) + 1)) and len(ids) == n_copy,
                       "the copy's ids are dense from 1 to %d" % n_copy, *errs[:3])
                bad = []
                for cid, got in found.items():
                    if cid not in known:
                        bad.append("id %d is no claim that was acknowledged or preloaded" % cid)
                    elif cid != min(known):
                        d_ = ops.claim_diffs(known[cid], got)
                        if d_:
                            bad.append("id %d: %s" % (cid, "; ".join(d_)))
                tap.ok(not bad, "every claim in the copy is whole and is the one acknowledged with its id", *bad[:5])
                missing = [cid for cid in known if cid <= max(ids or [0]) and cid not in found]
                tap.ok(not missing, "a consistent prefix: every acknowledged write up to id %d is in the copy"
                       % max(ids or [0]), short(missing))
            finally:
                tap.is_(rl.stop(), 0, "daemon on the live copy exits 0")
                rl.cleanup()

        # --- refusals -------------------------------------------------------------------------------
        with d.client(timeout=30) as c:
            st0 = os.stat(os.path.join(quiet, "data.mdb"))
            err = expect_error(c, "backup", {"path": quiet}, "conflict",
                               "a directory already holding a backup gives conflict", field="path")
            st1 = os.stat(os.path.join(quiet, "data.mdb"))
            tap.ok((st0.st_size, st0.st_mtime_ns) == (st1.st_size, st1.st_mtime_ns),
                   "... and that backup is left as it was")

            other = os.path.join(d.tmp, "not-empty")
            os.mkdir(other)
            with open(os.path.join(other, "notes.txt"), "w") as f:
                f.write("an operator's notes\n")
            expect_error(c, "backup", {"path": other}, "conflict",
                         "a non-empty directory (one unrelated file) gives conflict", field="path")
            tap.is_(sorted(os.listdir(other)), ["notes.txt"], "... and nothing is written into it")
            with open(os.path.join(other, "notes.txt")) as f:
                tap.is_(f.read(), "an operator's notes\n", "... its file is untouched")

            expect_error(c, "backup", {"path": "relative/backup"}, "invalid", "a relative path gives invalid",
                         field="path")
            tap.ok(not os.path.exists(os.path.join(d.data, "relative")) and not os.path.exists("relative"),
                   "... and creates nothing")
            expect_error(c, "backup", {"path": os.path.join(d.tmp, "no", "such", "parent")}, "invalid",
                         "a path whose parent is missing gives invalid", field="path")
            afile = os.path.join(d.tmp, "a-file")
            with open(afile, "w") as f:
                f.write("x")
            expect_error(c, "backup", {"path": afile}, "invalid", "a path that is a regular file gives invalid",
                         field="path")
            expect_error(c, "backup", {}, "invalid", "a missing path gives invalid", field="path")
            expect_error(c, "backup", {"path": 7}, "invalid", "a path that is not a string gives invalid", field="path")
            tap.ok(c.call("ping").get("protocol") == 1, "daemon still serving after the refusals")
    finally:
        tap.is_(d.stop(), 0, "daemon exits 0 on SIGTERM")
        d.cleanup()


run(main)
