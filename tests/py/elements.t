#!/usr/bin/python3
"""elements.t: requests made of very many tiny elements (an array of millions of nils fits in
the 16 MiB request limit but would unpack into hundreds of MB) are refused with too_large
before unpacking, the daemon's memory stays small, and a real 10,000-claim import with the
smallest claims still goes through."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import msgpack  # noqa: E402
import tap  # noqa: E402
from claimd_harness import Daemon, Closed, run  # noqa: E402


def main():
    d = Daemon()
    d.start()
    with d.client(timeout=30) as c:
        rss0 = d.status_kib("VmRSS") or 0
        nils = 12 * 1024 * 1024                      # 12M elements in a 12 MiB request
        body = msgpack.packb([0, 7, "claim.import", [{"claims": None}]])[:-1]  # up to the map value
        req = body + b"\xdd" + nils.to_bytes(4, "big") + b"\xc0" * nils
        try:
            c.send_raw(req)
        except (BrokenPipeError, ConnectionResetError):
            pass   # refused from the header: the daemon answered and closed before the rest came
        try:
            r = c.recv_reply(timeout=30)
            tap.ok(r.msgid == 7 and r.code == "too_large", "12M nils in 12 MiB: too_large naming the request", repr(r))
        except Closed:
            tap.ok(False, "12M nils in 12 MiB: too_large naming the request", "closed without a reply")
        hwm = d.status_kib("VmHWM") or 0
        tap.ok_memory(hwm - rss0 < 64 * 1024, "peak RSS grew %d KiB for a 12 MiB request" % (hwm - rss0))
    with d.client(timeout=10) as c:
        # A key that is not valid UTF-8 is named in the error, but the reply stays valid UTF-8.
        c.send_raw(msgpack.packb([0, 8, "claim.get", [{b"bad\xdd": 1}]], use_bin_type=False))
        r = c.recv_reply()
        tap.ok(r.code == "invalid" and r.error.get("field") == "bad?",
               "an unknown key of invalid UTF-8 is echoed with '?' in place of the bad byte", repr(r))
    with d.client(timeout=60) as c:
        r = c.request("claim.import", {"claims": [{"text": "c%d" % i} for i in range(10000)]})
        tap.ok(r.error is None and len(r.result["results"]) == 10000,
               "a 10,000-claim import of the smallest claims is accepted", repr(r.error))
    tap.ok(d.alive(), "daemon alive")
    tap.is_(d.stop(), 0, "daemon exits 0 on SIGTERM")


run(main)
