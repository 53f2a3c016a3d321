#!/usr/bin/python3
"""pipeline.t: every request a connection delivered is answered, whatever the output limit and
even across a shutdown (issue 13, items 7 and 12).

1. With --max-output 4096, 65536 and the default, one connection pipelines N pings (default
   100,000; CLAIMD_PIPELINE_N) while it reads: every one is answered, in order. (The output used
   to drain inside uv_try_write with nothing resuming the requests already buffered: after 1-2k
   replies the connection hung.)
2. A connection pipelines writes and pings; SIGTERM arrives while they are being served: the
   number of replies equals the number of requests sent before the signal, each one either its
   result or `busy` (they used to get EOF), and the daemon exits 0."""
import os
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, Closed, Timeout, request_bytes, short, run  # noqa: E402
import ops_helpers as ops  # noqa: E402


def pipelined_pings(d, n, label):
    c = d.client(timeout=10)
    data = b"".join(request_bytes(i + 1, "ping") for i in range(n))
    err = []

    def sender():
        try:
            c.send_raw(data)
        except OSError as e:
            err.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    got, bad, t0 = 0, None, time.monotonic()
    try:
        while got < n:
            r = c.recv_reply(timeout=5)
            if r.msgid != got + 1 or r.error is not None:
                bad = short(r)
                break
            got += 1
    except (Closed, Timeout) as e:
        bad = repr(e)
    t.join(5)
    tap.ok(got == n and bad is None and not err,
           "%s: all %d pipelined pings answered in order" % (label, n),
           "answered %d of %d (%s) in %.1fs; sender %r" % (got, n, bad, time.monotonic() - t0, err))
    c.close()


def output_sizes():
    n = ops.env_int("CLAIMD_PIPELINE_N", 100000)
    for flag in ("4096", "65536", None):
        d = Daemon(["--max-output", flag] if flag else [])
        d.start()
        try:
            pipelined_pings(d, n, "--max-output %s" % (flag or "default"))
            with d.client(timeout=5) as c:
                tap.ok(c.call("ping").get("protocol") == 1, "... and a new connection is served")
        finally:
            tap.is_(d.stop(), 0, "daemon exits 0")
            d.cleanup()


def shutdown_answers_everything():
    # The client does not read at first: the daemon answers until --max-output is reached, stops
    # reading, and the rest of the requests wait in its input buffer and the socket's.
    d = Daemon(["--max-output", "65536"])
    d.start()
    n_writes, n_pings = 100, 15000
    try:
        c = d.client(timeout=15)
        reqs = []
        for i in range(n_writes):
            reqs.append(request_bytes(len(reqs) + 1, "claim.put",
                                      {"text": "Pipelined claim number %d before a shutdown" % i,
                                       "speaker": "Shutdown Speaker"}))
            reqs.append(request_bytes(len(reqs) + 1, "ping"))
        for i in range(n_pings):
            reqs.append(request_bytes(len(reqs) + 1, "ping"))
        total = len(reqs)
        data = b"".join(reqs)
        sent = []
        t = threading.Thread(target=lambda: (c.send_raw(data), sent.append(True)), daemon=True)
        t.start()
        t.join(10)
        tap.ok(sent, "all %d requests (%d bytes) were handed to the socket before the signal" % (total, len(data)))
        time.sleep(0.3)
        d.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        replies, codes, order_ok, ended = [], {}, True, None
        try:
            while True:
                r = c.recv_reply(timeout=12)
                if r.msgid != len(replies) + 1:
                    order_ok = False
                replies.append(r)
        except (Closed, Timeout) as e:
            ended = type(e).__name__
        for r in replies:
            k = "ok" if r.error is None else r.code
            codes[k] = codes.get(k, 0) + 1
        only_ok_or_busy = set(codes) <= {"ok", "busy"}
        tap.ok(len(replies) == total and order_ok and only_ok_or_busy and ended == "Closed",
               "SIGTERM with %d pipelined requests delivered: each is answered (result or busy), in order, "
               "then EOF" % total,
               "replies %d of %d, in order=%r, outcomes %r, ended by %s" % (len(replies), total, order_ok, codes, ended))
        tap.diag("shutdown outcomes: %r" % codes)
        c.close()
        status = d.proc.wait(15)
        tap.is_(status, 0, "daemon exits 0 after answering them")
    finally:
        d.cleanup()


def main():
    output_sizes()
    shutdown_answers_everything()


run(main)
