#!/usr/bin/python3
"""access.t: roles from peer credentials. A client running as an ordinary user gets `read`
(reads work, writes are forbidden and change nothing); one whose group is the --writers group
gets `write` (writes work, backup stays admin-only); root is `admin`. Needs root to switch users
in a forked child (skipped otherwise)."""
import grp
import os
import pwd
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import msgpack  # noqa: E402
import tap  # noqa: E402
from claimd_harness import Client, Daemon, short, stat, run  # noqa: E402

WRITERS_GROUP = "users"


def as_user(uid, gid, sock, calls):
    """Runs the calls in a child with the given uid/gid; returns [(code or "ok", result)]."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setgid(gid)
            os.setuid(uid)
            out = []
            with Client(sock, timeout=10) as c:
                for method, params in calls:
                    reply = c.request(method, params)
                    out.append([reply.code or "ok", reply.result if reply.error is None else reply.error])
        except BaseException as e:
            out = [["exception", repr(e)]]
        os.write(w, msgpack.packb(out, use_bin_type=True))
        os._exit(0)
    os.close(w)
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return msgpack.unpackb(data, raw=False)


def main():
    if os.geteuid() != 0:
        print("1..0 # SKIP needs root to run clients as other users")
        sys.exit(0)
    nobody = pwd.getpwnam("nobody")
    writers = grp.getgrnam(WRITERS_GROUP)
    if nobody.pw_gid == writers.gr_gid or "nobody" in writers.gr_mem:
        tap.bail_out("nobody must not be in group %s for this test" % WRITERS_GROUP)

    d = Daemon(extra_args=["--writers", WRITERS_GROUP])
    d.start()
    try:
        with d.client() as root:
            cid = root.call("claim.put", {"text": "A claim written by root", "speaker": "Root Speaker"})["id"]
        # The test owns the temp dir: open it to other users so the roles, not file modes, decide.
        os.chmod(d.tmp, 0o755)
        os.chmod(d.socket, 0o666)

        reads = [("ping", None), ("stats", None), ("claim.get", {"id": cid}), ("entity.find", {"name": "Root Speaker"}),
                 ("verdict.list", {"claim": cid})]
        writes = [("claim.put", {"text": "A claim written by a reader"}),
                  ("claim.import", {"claims": [{"text": "An import by a reader"}]}),
                  ("entity.put", {"name": "Reader Entity"}),
                  ("verdict.add", {"claim": cid, "rating": "false"}),
                  ("appearance.add", {"claim": cid, "url": "https://example.org/reader"})]
        res = as_user(nobody.pw_uid, nobody.pw_gid, d.socket, reads + writes)
        res += [["missing", None]] * (len(reads) + len(writes) - len(res))
        for (method, _), (code, body) in zip(reads, res):
            tap.is_(code, "ok", "read role may call %s" % method, short(body))
        for (method, _), (code, body) in zip(writes, res[len(reads):]):
            tap.is_(code, "forbidden", "read role may not call %s" % method, short(body))

        with d.client() as root:
            g = root.call("claim.get", {"id": cid})
            tap.ok(g.get("rev") == 1 and g.get("status") == "unverified" and not g.get("appearances"),
                   "forbidden writes changed nothing", short(g))
            tap.is_(stat(root.call("stats"), r"(^|\.)claims$"), 1, "forbidden writes stored no claim")
            tap.is_(root.call("entity.find", {"name": "Reader Entity"}).get("items"), [],
                    "forbidden entity.put stored no entity")

        res = as_user(nobody.pw_uid, writers.gr_gid, d.socket, [
            ("claim.put", {"text": "A claim written by a writer"}),
            ("verdict.add", {"claim": cid, "rating": "mixed"}),
            ("backup", {"path": os.path.join(d.tmp, "backup-by-writer")})])
        res += [["missing", None]] * (3 - len(res))
        tap.is_(res[0][0], "ok", "a member of the --writers group may claim.put", short(res[0]))
        tap.is_(res[1][0], "ok", "... and verdict.add", short(res[1]))
        tap.is_(res[2][0], "forbidden", "... but not backup (admin only)", short(res[2]))

        with d.client() as root:
            tap.is_(root.call("claim.get", {"id": cid}).get("status"), "mixed", "the writer's verdict is stored")
            tap.ok(root.call("ping").get("protocol") == 1, "root (admin) still served")
    finally:
        tap.is_(d.stop(), 0, "daemon exits 0 on SIGTERM")
        d.cleanup()


run(main)
