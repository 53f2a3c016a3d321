#!/usr/bin/python3
"""slots.t: unprivileged local users cannot lock root and the writers out of the daemon
(issue 13 item 2: 1,030 connections as `nobody` that pinged once and idled locked everyone out
with `busy` forever).

claimd runs as root with --max-connections 40 --reserved-connections 8
--max-connections-per-uid 12 --idle-timeout 3000 --writers claimd-test-w and a 0666 socket.
Forked children switch to other uids (setgid/setuid) and open connections that each ping once and
then idle:
- `nobody` asks for 40: 12 are served, the rest get `busy` naming the per-uid limit;
- two more reader uids ask for 12 each: the readers (with root's subscriber) stop at 32
  (the last 8 slots are reserved),
  the rest get `busy` naming the reservation;
- root and a writer (gid claimd-test-w) still connect and read and write;
- after ~3 s every idle reader connection has been closed by the daemon, a subscribed connection
  has not, and `nobody` is served again."""
import grp
import json
import os
import pwd
import select
import socket
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, Client, Closed, Timeout, request_bytes, short, run  # noqa: E402
import ops_helpers as ops  # noqa: E402

WRITERS = "claimd-test-w"
IDLE_MS = 3000
MAXC, RESERVED, PER_UID = 40, 8, 12

if not ops.is_root():
    ops.skip_all("needs root to switch uids")
try:
    W_GID = ops.ensure_group(WRITERS)
except (RuntimeError, OSError) as e:
    ops.skip_all("cannot create the writers group: %s" % e)
try:
    NOBODY = pwd.getpwnam("nobody").pw_uid
except KeyError:
    NOBODY = 65534
READER_UIDS = (61001, 61002)   # no passwd entry needed: SO_PEERCRED reports the uid
WRITER_UID = 61010


class Child:
    """A forked process running as uid/gid that opens n connections, pings on each, reports the
    outcomes on a pipe, then (when told) reports when each served connection was closed."""

    def __init__(self, path, uid, gid, n, script):
        self.r, w = os.pipe()
        self.go_r, self.go_w = os.pipe()
        self.pid = os.fork()
        if self.pid == 0:
            os.close(self.r)
            os.close(self.go_w)
            code = 0
            try:
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
                script(path, n, w, self.go_r)
            except BaseException as e:   # report, never fall back into the test's own code
                try:
                    os.write(w, (json.dumps({"error": repr(e)}) + "\n").encode())
                except OSError:
                    pass
                code = 1
            os._exit(code)
        os.close(w)
        os.close(self.go_r)
        self.f = os.fdopen(self.r, "r")

    def line(self, timeout=20):
        ready, _, _ = select.select([self.f], [], [], timeout)
        if not ready:
            return {"error": "no report within %ss" % timeout}
        text = self.f.readline()
        return json.loads(text) if text else {"error": "child ended without a report"}

    def go(self):
        os.write(self.go_w, b"g")

    def reap(self):
        try:
            os.kill(self.pid, 9)
        except OSError:
            pass
        os.waitpid(self.pid, 0)


def idle_script(path, n, w, go_r):
    conns, outcomes = [], []
    for i in range(n):
        try:
            c = Client(path, timeout=5)
            r = c.request("ping")
            outcomes.append("ok" if r.error is None else r.code + ": " + str(r.error.get("message")))
            conns.append(c if r.error is None else None)
        except (OSError, Closed, Timeout) as e:
            outcomes.append("failed: %r" % (e,))
            conns.append(None)
    t0 = time.monotonic()
    os.write(w, (json.dumps({"outcomes": outcomes}) + "\n").encode())
    os.read(go_r, 1)
    closed_after = []
    for c in conns:
        if c is None:
            continue
        done, _ = c.wait_closed(max(0.1, t0 + 3 * IDLE_MS / 1000.0 - time.monotonic()))
        closed_after.append(round(time.monotonic() - t0, 2) if done else None)
    os.write(w, (json.dumps({"closed_after": closed_after}) + "\n").encode())


def writer_script(path, n, w, go_r):
    out = []
    with Client(path, timeout=5) as c:
        out.append(c.request("ping").code or "ok")
        r = c.request("claim.put", {"text": "A writer's claim while readers hold the slots", "speaker": "Slot Writer"})
        out.append(r.code or "ok")
    os.write(w, (json.dumps({"outcomes": out}) + "\n").encode())


def count(outcomes, prefix):
    return sum(1 for o in outcomes if o.startswith(prefix))


def main():
    ops.raise_nofile(1024)
    d = Daemon(["--max-connections", str(MAXC), "--reserved-connections", str(RESERVED),
                "--max-connections-per-uid", str(PER_UID), "--idle-timeout", str(IDLE_MS),
                "--writers", WRITERS, "--socket-mode", "0666"])
    os.chmod(d.tmp, 0o755)
    d.start()
    children = []
    try:
        # A subscriber (root) made before the flood: it must not count as idle.
        sub = d.client(timeout=5)
        sub.call("subscribe", {})

        nob = Child(d.socket, NOBODY, NOBODY, MAXC, idle_script)
        children.append(nob)
        o = nob.line().get("outcomes", [])
        tap.ok(count(o, "ok") == PER_UID and count(o, "busy") == MAXC - PER_UID
               and all("uid" in x for x in o if x.startswith("busy")),
               "nobody asking for %d connections gets %d (per-uid limit), busy for the rest" % (MAXC, PER_UID),
               "outcomes %r" % o)
        readers = []
        for uid in READER_UIDS:
            ch = Child(d.socket, uid, uid, PER_UID, idle_script)
            children.append(ch)
            readers.append(ch.line().get("outcomes", []))
        # The subscriber holds one of the unreserved slots.
        served = PER_UID + sum(count(o, "ok") for o in readers)
        reserved_busy = sum(1 for o in readers for x in o if x.startswith("busy") and "reserved" in x)
        tap.ok(served == MAXC - RESERVED - 1 and reserved_busy == 2 * PER_UID - (served - PER_UID),
               "readers stop at %d connections in all; the last %d slots are reserved" % (MAXC - RESERVED, RESERVED),
               "readers served %d; outcomes %r" % (served, readers))

        with d.client(timeout=5) as root:
            ok_root = root.request("ping").error is None
            r = root.request("claim.put", {"text": "Root's claim while readers hold the slots", "speaker": "Root"})
            tap.ok(ok_root and r.error is None, "root still connects, reads and writes", short(r.msg))
        wr = Child(d.socket, WRITER_UID, W_GID, 1, writer_script)
        children.append(wr)
        wo = wr.line().get("outcomes")
        tap.ok(wo == ["ok", "ok"], "a writer still connects, reads and writes", "outcomes %r" % wo)

        for ch in children[:3]:
            ch.go()
        closed = [ch.line(timeout=3 * IDLE_MS / 1000.0 + 10).get("closed_after") for ch in children[:3]]
        flat = [t for lst in closed for t in (lst or [])]
        tap.ok(len(flat) == MAXC - RESERVED - 1 and all(t is not None and IDLE_MS / 1000.0 * 0.8 <= t <= IDLE_MS / 1000.0 + 2.5
                                                    for t in flat),
               "every idle reader connection is closed after ~%d ms" % IDLE_MS, "closed after %r" % closed)
        try:
            p = sub.call("ping", timeout=5)
            tap.ok(p.get("protocol") == 1, "the subscribed connection, just as quiet, is still open")
        except (OSError, Closed, Timeout) as e:
            tap.ok(False, "the subscribed connection, just as quiet, is still open", repr(e))
        with d.client(timeout=5) as c:
            idle_closed = c.call("stats").get("connections_idle_closed")
        tap.ok(idle_closed is not None and idle_closed >= MAXC - RESERVED - 1,
               "stats counts the idle connections closed", "connections_idle_closed=%r" % idle_closed)
        again = Child(d.socket, NOBODY, NOBODY, 2, idle_script)
        children.append(again)
        o = again.line().get("outcomes", [])
        tap.ok(o == ["ok", "ok"], "nobody is served again once the idle connections are gone", "outcomes %r" % o)
        sub.close()
    finally:
        for ch in children:
            ch.reap()
        tap.is_(d.stop(), 0, "daemon exits 0 on SIGTERM")
        d.cleanup()


run(main)
