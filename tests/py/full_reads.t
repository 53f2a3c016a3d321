#!/usr/bin/python3
"""full_reads.t: reads through a full disk with the map written in place (issue 13 item 3).

claimd runs with --map-size 1M (MDB_WRITEMAP) on a private 8 MiB tmpfs holding a 2 MiB filler
(as storage.t). Writes go on until they fail; every 10 writes, and after the disk is full,
claim.query, claim.search and claim.match are asked: none may answer `internal` (they answer from
the index as far as it got; a write that cannot be indexed is refused with `storage_full`).
Writes on the full disk are acknowledged or `storage_full`, nothing else, and they are refused
once the index lags more than a bound (no unbounded backlog). Then the filler is removed and,
without any other help, writes are acknowledged again and a search finds a claim written after
the recovery. Skipped without root or mount permission."""
import os
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import short, run  # noqa: E402
import ops_helpers as ops  # noqa: E402


def namespace_problem():
    if not ops.is_root():
        return "needs root for unshare -m and mount"
    if not ops.have("unshare"):
        return "unshare (util-linux) is missing"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "d=$(mktemp -d) && mount -t tmpfs -o size=1m tmpfs $d "
                            "&& umount $d && rmdir $d"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if probe.returncode != 0:
        return "cannot mount a tmpfs in a private mount namespace: %s" % probe.stdout.strip()
    return None


def reads(c, word):
    out = {}
    for m, p in (("claim.query", {"limit": 5}), ("claim.search", {"q": word}),
                 ("claim.match", {"text": "the minister said the budget grew " + word})):
        r = c.request(m, p, 30)
        out[m] = "ok" if r.error is None else r.code
    return out


def main():
    why = namespace_problem()
    if why:
        ops.skip_all(why)
    rng = ops.seed_from_env("CLAIMD_FULL_READS_SEED")[1]
    d = ops.WrappedDaemon(lambda argv: ["unshare", "-m", "sh", "-c", script, "sh"] + argv, ["--map-size", "1M"])
    disk = os.path.join(d.tmp, "disk")
    os.mkdir(disk)
    d.data = os.path.join(disk, "data")
    script = ('mount -t tmpfs -o size=8m,mode=0700 tmpfs %s && '
              'dd if=/dev/zero of=%s/filler bs=1M count=2 status=none && exec "$@"'
              % (shlex.quote(disk), shlex.quote(disk)))
    d.start()
    view = "/proc/%d/root%s" % (d.proc.pid, disk)
    try:
        bad_reads, others, acked, full_codes = [], [], 0, 0
        with d.client(timeout=60) as c:
            for i in range(3000):
                claim = ops.make_claim(rng, "fr-%d" % i, 12 << 10, by="full_reads.t")
                claim["text"] = "the minister said the budget grew fullprobe " + claim["text"]
                r = c.request("claim.put", claim, 60)
                if r.error is None:
                    acked += 1
                elif r.code == "storage_full":
                    full_codes += 1
                else:
                    others.append(short(r.error))
                if i % 10 == 0 or r.error is not None:
                    got = reads(c, "fullprobe")
                    if any(v != "ok" for v in got.values()):
                        bad_reads.append((i, got))
                if full_codes >= 30:
                    break
            tap.ok(full_codes >= 30, "the disk filled: writes got storage_full (%d acknowledged first)" % acked)
            tap.ok(not others, "every write was acknowledged or storage_full", *others[:5])
            tap.ok(not bad_reads, "claim.query, claim.search and claim.match answered throughout (never internal)",
                   "bad: %s" % short(bad_reads[:5], 1500))
            s = c.call("stats")
            tap.ok(s.get("index_lag", 0) <= 256 + 64, "the index lags at most the bound (256 changes, plus "
                   "one batch) on the full disk: lag %s" % s.get("index_lag"))
            tap.diag("stats on the full disk: index_failing=%s %s" % (s.get("index_failing"), short(
                {k: v for k, v in s.items() if "index" in k}, 300)))
            size_full = os.path.getsize(view + "/data/data.mdb")
            st = os.statvfs(view)
            tap.diag("data.mdb %d bytes, tmpfs free %d bytes" % (size_full, st.f_bavail * st.f_frsize))

            os.unlink(view + "/filler")
            t0 = time.monotonic()
            ok_at = None
            while time.monotonic() - t0 < 30:
                r = c.request("claim.put", {"text": "after the disk was freed recoveryword", "by": "full_reads.t"}, 30)
                if r.error is None:
                    ok_at = time.monotonic() - t0
                    break
                if r.code != "storage_full":
                    break
                time.sleep(0.05)
            tap.ok(ok_at is not None, "writes are acknowledged again once space is freed (after %s s)"
                   % (None if ok_at is None else round(ok_at, 2)), short(r.msg))
            got = None
            t0 = time.monotonic()
            while time.monotonic() - t0 < 30:
                r = c.request("claim.search", {"q": "recoveryword"}, 30)
                got = r
                if r.error is None and r.result.get("items"):
                    break
                time.sleep(0.1)
            tap.ok(got is not None and got.error is None and got.result.get("items"),
                   "and the index catches up by itself: a search finds the claim written after recovery",
                   short(got.msg if got else None))
            after = reads(c, "fullprobe")
            tap.ok(all(v == "ok" for v in after.values()), "reads answer after recovery", short(after))
    finally:
        tap.ok(d.alive(), "the daemon is still running")
        d.stop()
        d.cleanup()


run(main)
