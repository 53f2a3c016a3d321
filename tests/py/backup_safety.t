#!/usr/bin/python3
"""backup_safety.t: what a backup leaves on disk (issue 13 item 8).

- The backup's data.mdb gets the live file's mode or stricter, never bits for others, even when
  the daemon's umask would give 0644 and the target directory is world-readable.
- A target path that is a symbolic link is refused (`invalid`, field path) and nothing is written
  where it points.
- A backup killed midway (kill -9 as soon as anything appears in the target directory) leaves no
  data.mdb there, or one that is whole (a daemon started on it holds every claim)."""
import os
import random
import stat as statmod
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, short, run  # noqa: E402
import ops_helpers as ops  # noqa: E402

N = int(os.environ.get("CLAIMD_BACKUP_SAFETY_CLAIMS", "4000"))


def fill(d, n, rng):
    with d.client(timeout=60) as c:
        for base in range(0, n, 200):
            batch = [ops.make_claim(rng, "bk-%d" % (base + i), 3000, by="backup_safety.t") for i in range(200)]
            for r in c.pipeline([("claim.put", cl) for cl in batch], 60):
                if r.error is not None:
                    raise RuntimeError("claim.put: %s" % short(r.error))


def modes_and_symlink(d):
    os.chmod(d.tmp, 0o755)
    live = statmod.S_IMODE(os.stat(os.path.join(d.data, "data.mdb")).st_mode)
    target = os.path.join(d.tmp, "bk-mode")
    with d.client() as c:
        r = c.request("backup", {"path": target})
    tap.ok(r.error is None, "a backup into a new directory succeeds", short(r))
    got = statmod.S_IMODE(os.stat(os.path.join(target, "data.mdb")).st_mode)
    tap.ok(got & 0o007 == 0 and got & ~live == 0,
           "the backup's data.mdb has the live file's mode or stricter (live %o, backup %o)" % (live, got))
    tap.is_(sorted(os.listdir(target)), ["data.mdb"], "and the directory holds data.mdb alone")

    elsewhere = os.path.join(d.tmp, "elsewhere")
    os.mkdir(elsewhere, 0o755)
    link = os.path.join(d.tmp, "bk-link")
    os.symlink(elsewhere, link)
    with d.client() as c:
        r = c.request("backup", {"path": link})
    tap.ok(r.error is not None and r.error.get("code") == "invalid" and r.error.get("field") == "path",
           "a symlinked target is refused with invalid (field path)", short(r))
    tap.is_(os.listdir(elsewhere), [], "and nothing was written where the link points")


def killed_midway(d):
    target = os.path.join(d.tmp, "bk-killed")
    os.mkdir(target, 0o750)
    seen = []

    def backup():
        try:
            with d.client(timeout=60) as c:
                c.request("backup", {"path": target}, 60)
        except Exception as e:   # the daemon is killed under it
            seen.append(repr(e))

    t = threading.Thread(target=backup, daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    names = []
    while time.monotonic() < deadline:
        names = os.listdir(target)
        if names:
            break
    d.kill9()
    t.join(10)
    after = sorted(os.listdir(target))
    tap.ok(names, "the backup had started writing when the daemon was killed (saw %s)" % names)
    if "data.mdb" not in after:
        tap.ok(True, "a killed backup leaves no data.mdb (left: %s)" % after)
        return
    r = Daemon()
    r.data = target
    try:
        r.start()
        with r.client() as c:
            n = c.call("stats").get("claims")
        tap.is_(n, N, "a data.mdb left by the killed backup is whole (all %d claims)" % N)
    except Exception as e:
        tap.ok(False, "a data.mdb left by a killed backup is a whole backup", repr(e))
    finally:
        r.stop()


def main():
    rng = random.Random(13)
    d = Daemon()
    d.start()
    fill(d, N, rng)
    modes_and_symlink(d)
    killed_midway(d)


run(main)
