#!/usr/bin/python3
"""datadir.t: one daemon per data directory, its socket and its start-up (issue 13 items 5, 9, 10).

- A second claimd on the same --data (another socket) refuses to start, exits non-zero and names
  the first one's pid; the first keeps answering. The lock goes with the process: after a kill -9
  or a clean stop a new daemon starts on the directory.
- A daemon whose socket path was taken over by a successor (the old socket moved away, a new
  daemon bound the path) leaves the successor's socket alone when it stops.
- SIGTERM sent repeatedly while claimd starts (from the moment its data file exists) ends it with
  a clean exit status, never death by the signal."""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, short, run  # noqa: E402


def two_daemons():
    a = Daemon()
    a.start()
    with a.client() as c:
        cid = c.call("claim.put", {"text": "Written by the first daemon", "speaker": "Lock Speaker"})["id"]
    b = Daemon()
    b.data = a.data                        # same data directory, its own socket and log
    t0 = time.monotonic()
    with open(b.log, "ab") as log:
        p = subprocess.Popen(b.argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        rc = p.wait(15)
    except subprocess.TimeoutExpired:
        p.kill()
        rc = p.wait()
        rc = "still running after 15 s"
    took = time.monotonic() - t0
    text = open(b.log, "rb").read().decode("utf-8", "replace")
    tap.ok(isinstance(rc, int) and rc != 0, "a second claimd on the same data directory exits non-zero (%.2f s)" % took,
           "exit: %r" % rc, b.log_tail())
    tap.ok(("pid %d" % a.proc.pid) in text, "its message names the holder's pid (%d)" % a.proc.pid, b.log_tail())
    tap.ok(not os.path.exists(b.socket), "it never listened on its socket")
    with a.client() as c:
        g = c.request("claim.get", {"id": cid})
        s = c.request("claim.search", {"q": "first daemon"})
    tap.ok(g.error is None and g.result.get("text") == "Written by the first daemon",
           "the first daemon still answers claim.get", short(g))
    tap.ok(s.error is None and [i.get("id") for i in s.result.get("items", [])] == [cid],
           "and claim.search", short(s))

    a.kill9()
    b.start()
    with b.client() as c:
        g = c.request("claim.get", {"id": cid})
    tap.ok(g.error is None, "after the holder is killed -9, a new daemon starts on the directory", short(g))
    tap.is_(b.stop(), 0, "which stops cleanly")
    a.start()
    tap.ok(a.alive(), "and after a clean stop another one starts again")
    tap.is_(a.stop(), 0, "and stops cleanly")


def replaced_socket():
    a = Daemon()
    a.start()
    moved = a.socket + ".old"
    os.rename(a.socket, moved)             # an operator (or a new deployment) moved it away
    b = Daemon()
    b.socket = a.socket                    # the successor binds the same path
    b.start()
    tap.is_(a.stop(), 0, "the first daemon stops cleanly after its socket path was taken over")
    tap.ok(os.path.exists(b.socket), "the successor's socket is still there")
    try:
        with b.client() as c:
            pong = c.request("ping")
        tap.ok(pong.error is None, "and the successor still answers on it")
    except OSError as e:
        tap.ok(False, "and the successor still answers on it", repr(e))
    tap.ok(os.path.exists(moved), "the moved-away socket file is left as it is (not ours to judge)")
    tap.is_(b.stop(), 0, "the successor stops cleanly")
    tap.ok(not os.path.exists(b.socket), "and removes its own socket")


def sigterm_during_startup(rounds=12):
    statuses = []
    for i in range(rounds):
        d = Daemon()
        data_file = os.path.join(d.data, "data.mdb")
        with open(d.log, "ab") as log:
            p = subprocess.Popen(d.argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while not os.path.exists(data_file) and p.poll() is None and time.monotonic() < deadline:
            pass                            # spin: the window before the handlers is short
        sent = 0
        while p.poll() is None and time.monotonic() < deadline:
            try:
                p.send_signal(signal.SIGTERM)
                sent += 1
            except ProcessLookupError:
                break
            time.sleep(0.0005 * (i % 4))
        try:
            statuses.append((p.wait(10), sent))
        except subprocess.TimeoutExpired:
            p.kill()
            statuses.append(("hung", sent))
            p.wait()
    bad = [s for s in statuses if s[0] != 0]
    tap.ok(not bad, "SIGTERM repeated during start-up: every one of %d daemons exits 0" % rounds,
           "(status, SIGTERMs sent): %s" % statuses)


def main():
    two_daemons()
    replaced_socket()
    sigterm_during_startup()


run(main)
