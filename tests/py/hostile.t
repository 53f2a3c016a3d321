#!/usr/bin/python3
"""hostile.t: bytes a broken or malicious client may send. Each case runs on its own connection
while a healthy connection keeps answering ping and claim.get in between (and a background
pinger measures stalls). After each: the daemon is alive, the healthy connection answers, and
either an error reply with the right code came back (when a msgid was readable) or the
connection was closed. Seeded; CLAIMD_HOSTILE_SEED replays, CLAIMD_TRICKLE_BYTES sets the size
of the byte-by-byte trickle (default 400; 1048576 for the full test)."""
import os
import random
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import (Daemon, Client, Closed, Timeout, Reply, pack, raw_str, request_bytes,  # noqa: E402
                            stat, short, is_error, RpcError, run, ERROR_CODES)

HEALTHY_TEXT = "The healthy connection's claim"
MIB = 1024 * 1024


class Pinger(threading.Thread):
    """Pings on its own connection all through the test; records failures and the worst latency."""

    def __init__(self, d):
        threading.Thread.__init__(self, daemon=True)
        self.d, self.stop_flag, self.failures, self.worst, self.count = d, threading.Event(), [], 0.0, 0

    def run(self):
        c = None
        while not self.stop_flag.is_set():
            try:
                if c is None:
                    c = self.d.client(timeout=10)
                t0 = time.monotonic()
                c.call("ping")
                self.worst = max(self.worst, time.monotonic() - t0)
                self.count += 1
            except Exception as e:
                self.failures.append(repr(e))
                c = None
                time.sleep(0.1)
            time.sleep(0.005)


class Hostile:
    def __init__(self, d, seed):
        self.d, self.seed = d, seed
        self.healthy = d.client()
        self.cid = self.healthy.call("claim.put", {"text": HEALTHY_TEXT, "speaker": "Healthy Speaker"})["id"]

    def healthy_ok(self, label):
        """The daemon is alive and the healthy connection answers ping and claim.get."""
        problem = None
        try:
            p = self.healthy.call("ping", timeout=5)
            g = self.healthy.call("claim.get", {"id": self.cid}, timeout=5)
            if p.get("protocol") != 1 or g.get("text") != HEALTHY_TEXT:
                problem = "unexpected answers: %s %s" % (short(p), short(g))
        except Exception as e:
            problem = "healthy connection failed: %r" % (e,)
        alive = self.d.alive()
        good = tap.ok(alive and problem is None, "%s: daemon alive, healthy connection answers" % label,
                      "alive=%r %s" % (alive, problem or ""))
        if not alive:   # keep the remaining cases meaningful
            tap.diag("daemon died (status %r); restarting it for the next cases" % self.d.proc.returncode)
            self.d.start()
            self.healthy = self.d.client()
        elif problem:
            self.healthy.close()
            self.healthy = self.d.client()
        return good

    def conn(self, timeout=10):
        return self.d.client(timeout=timeout)


def first_outcome(c, timeout=5.0):
    """('reply', Reply) for the first message, ('closed', None) on EOF, ('timeout', None)."""
    try:
        return "reply", Reply(c.recv_message(timeout))
    except Closed:
        return "closed", None
    except Timeout:
        return "timeout", None
    except Exception as e:   # undecodable or not a response
        return "garbage", e


def send_quietly(c, data):
    """Sends; the daemon may close while we write (that is an accepted outcome)."""
    try:
        c.send_raw(data)
        return None
    except (BrokenPipeError, ConnectionResetError) as e:
        return e


def expect_closed(h, label, data, during=None, shutdown_after=False):
    """Sends data (no readable msgid) and expects the daemon to close the connection."""
    with h.conn() as c:
        send_quietly(c, data)
        if during:
            during()
        if shutdown_after:
            try:
                c.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
        closed, msgs = c.wait_closed(5.0)
        only_errors = all(isinstance(m, list) and len(m) == 4 and m[0] == 1 and isinstance(m[2], dict)
                          and m[2].get("code") in ERROR_CODES for m in msgs)
        tap.ok(closed and only_errors, "%s: connection closed" % label,
               "sent (first 64 bytes) %s" % data[:64].hex(), "closed=%r, messages: %s" % (closed, short(msgs)))
    h.healthy_ok(label)


def expect_error_or_close(h, label, data, msgid, codes, allow_close=True, during=None):
    """Sends data with a readable msgid; expects an error reply with one of codes (or a close)."""
    with h.conn() as c:
        sent_err = send_quietly(c, data)
        if during:
            during()
        kind, reply = first_outcome(c, 10.0)
        if kind == "reply":
            good = reply.msgid == msgid and reply.code in codes and reply.result is None
            tap.ok(good, "%s: error reply %s" % (label, "/".join(codes)), "got %s" % short(reply.msg),
                   "sent (first 64 bytes) %s" % data[:64].hex())
        else:
            tap.ok(allow_close and kind == "closed", "%s: error reply %s%s" % (
                label, "/".join(codes), " or closed" if allow_close else ""),
                "outcome %s %s (send error %r)" % (kind, reply or "", sent_err),
                "sent (first 64 bytes) %s" % data[:64].hex())
    h.healthy_ok(label)


def nested(depth):
    """An array nested depth levels deep, innermost empty."""
    obj = []
    for _ in range(depth - 1):
        obj = [obj]
    return obj


def case_huge_headers(h):
    for label, data in (("array32 with a 4G count (dd ff ff ff ff)", b"\xdd\xff\xff\xff\xff"),
                        ("map32 with a 4G count (df ff ff ff ff)", b"\xdf\xff\xff\xff\xff"),
                        ("bin32 of 4 GiB (c6 ff ff ff ff)", b"\xc6\xff\xff\xff\xff"),
                        ("str32 of 4 GiB (db ff ff ff ff)", b"\xdb\xff\xff\xff\xff")):
        expect_closed(h, label, data, during=lambda: h.healthy_ok("while a %s waits" % label.split(" (")[0]))
    hdr = b"\x94\x00\x05\xa4ping\x91\x81\xa1a"
    expect_error_or_close(h, "request whose param is a 4 GiB str32", hdr + b"\xdb\xff\xff\xff\xff", 5,
                          ("too_large",))
    expect_error_or_close(h, "request whose param is a 4G-element array32", hdr + b"\xdd\xff\xff\xff\xff", 5,
                          ("too_large", "bad_request", "invalid"))


def case_nesting(h):
    deep = request_bytes(31, "claim.put", {"text": "deep", "tags": nested(40)})
    expect_error_or_close(h, "params nested 40 levels", deep, 31, ("too_large", "bad_request", "invalid"))
    expect_closed(h, "a top-level array nested 40 levels", pack(nested(40)))
    expect_closed(h, "100,000 nested array headers", b"\x91" * 100000, shutdown_after=True)
    expect_closed(h, "100,000 nested map headers", b"\x81\xa1k" * 100000, shutdown_after=True)
    ok_depth = request_bytes(32, "claim.put", {"text": "nested but within the limit", "tags": nested(20)})
    expect_error_or_close(h, "a request nested 23 levels (within the limit; tags not strings)", ok_depth, 32,
                          ("invalid",), allow_close=False)


def case_truncated(h):
    data = request_bytes(41, "claim.put", {"text": "a truncated request", "tags": ["a", "b"]})
    with h.conn() as c:
        c.send_raw(data[:-7])
        h.healthy_ok("while a truncated request waits")
    h.healthy_ok("truncated request then close")
    with h.conn() as c:
        c.send_raw(data[:-7])
        c.sock.shutdown(socket.SHUT_WR)
        closed, msgs = c.wait_closed(5.0)
        tap.ok(closed and not msgs, "truncated request then half-close: closed without a reply", short(msgs))
    h.healthy_ok("truncated request then half-close")
    with h.conn() as c:   # unread replies, then the client vanishes: the daemon must not die of SIGPIPE
        c.send_raw(b"".join(request_bytes(i, "claim.get", {"id": h.cid}) for i in range(2000)))
    h.healthy_ok("2,000 requests, connection closed before reading the replies")


def case_junk(h, rng):
    expect_closed(h, "0xc1 (never used) then junk", b"\xc1" + b"junk" * 10)
    expect_closed(h, "a request array whose first element is 0xc1", b"\x94\xc1\x01\xa4ping\x90")
    bad_rounds = []
    for i in range(20):
        junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4096)))
        with h.conn() as c:
            send_quietly(c, junk)
            try:
                c.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            try:
                closed, msgs = c.wait_closed(5.0)
            except Exception as e:
                closed, msgs = False, [repr(e)]
            only_errors = all(isinstance(m, list) and len(m) == 4 and m[0] == 1 and isinstance(m[2], dict)
                              and m[2].get("code") in ERROR_CODES for m in msgs)
            if not (closed and only_errors):
                bad_rounds.append("round %d: closed=%r msgs=%s junk=%s" % (i, closed, short(msgs), junk[:32].hex()))
        if not h.d.alive():
            bad_rounds.append("daemon died after round %d (junk %s...)" % (i, junk[:32].hex()))
            break
    tap.ok(not bad_rounds, "20 rounds of random junk: only error replies, then closed", *bad_rounds)
    h.healthy_ok("random junk")


def case_too_large(h):
    size = 17 * MIB
    data = request_bytes(17, "claim.put", {"text": "x" * size})
    with h.conn(timeout=20) as c:
        result = {}

        def sender():
            result["err"] = send_quietly(c, data)
        t = threading.Thread(target=sender)
        t.start()
        time.sleep(0.05)
        h.healthy_ok("while a 17 MiB request is being sent")
        t.join(30)
        kind, reply = first_outcome(c, 10.0)
        good = (kind == "closed") or (kind == "reply" and reply.msgid == 17 and reply.code == "too_large")
        tap.ok(good, "a 17 MiB request: too_large or closed", "outcome %s %s, send error %r" % (
            kind, short(reply.msg if isinstance(reply, Reply) else reply), result.get("err")))
    h.healthy_ok("a 17 MiB request")
    hwm = h.d.status_kib("VmHWM")
    tap.ok_memory(hwm is not None and hwm < 200 * 1024, "peak RSS stays small after a 17 MiB request (%s KiB)" % hwm)


def case_utf8(h):
    for label, method in (("invalid UTF-8 in the method", b"\xffping"), ("a surrogate in the method", b"p\xed\xa0\x80")):
        data = b"\x94\x00\x33" + raw_str(method).data + b"\x90"
        expect_error_or_close(h, label, data, 0x33, ("bad_request", "unknown_method", "invalid"), allow_close=False)
    for label, text in (("invalid UTF-8 in text", b"caf\xc3 \xff\xfe"), ("an overlong '/' in text", b"a\xc0\xafb"),
                        ("a UTF-16 surrogate in text", b"a\xed\xa0\x80b"), ("a truncated sequence at the end of text", b"abc\xe2\x82")):
        with h.conn() as c:
            reply = c.request("claim.put", {"text": raw_str(text), "speaker": "Utf8 Speaker"})
            is_error(None if reply.error is None else RpcError(reply.error), "invalid",
                     "%s: invalid, field text" % label, "text", ("result %s" % short(reply.result),))
    with h.conn() as c:
        reply = c.request("claim.put", {"text": "fine text", "tags": [raw_str(b"\xff")]})
        is_error(None if reply.error is None else RpcError(reply.error), "invalid", "invalid UTF-8 in a tag: invalid",
                 "tags", ("result %s" % short(reply.result),))
        reply = c.request("entity.put", {"name": raw_str(b"Bad \xffName")})
        is_error(None if reply.error is None else RpcError(reply.error), "invalid",
                 "invalid UTF-8 in an entity name: invalid", "name", ("result %s" % short(reply.result),))
        found = c.call("entity.find", {"name": "Utf8 Speaker"}).get("items")
        tap.is_(found, [], "rejected claims with bad UTF-8 created no speaker entity")
    h.healthy_ok("invalid UTF-8")


def case_params_and_msgids(h):
    for label, data, msgid in (("params [1]", pack([0, 61, "ping", [1]]), 61),
                               ("params [[1]] for claim.get", pack([0, 62, "claim.get", [[1]]]), 62),
                               ("params [\"text\"] for claim.put", pack([0, 63, "claim.put", ["text"]]), 63),
                               ("params a map, not [map]", pack([0, 64, "claim.get", {"id": 1}]), 64),
                               ("params [nil]", pack([0, 65, "ping", [None]]), 65)):
        expect_error_or_close(h, label, data, msgid, ("bad_request",), allow_close=False)
    for label, msgid in (("msgid -1", -1), ("msgid a string", "one"), ("msgid 2^32", 1 << 32),
                         ("msgid a float", 1.5), ("msgid nil", None), ("msgid 2^64-1", (1 << 64) - 1)):
        data = pack([0, msgid, "ping", []])
        with h.conn() as c:
            send_quietly(c, data)
            kind, reply = first_outcome(c, 5.0)
            good = kind == "closed" or (kind == "reply" and reply.code == "bad_request")
            tap.ok(good, "%s: bad_request or closed" % label, "outcome %s %s" % (kind, short(reply)),
                   "sent %s" % data.hex())
        h.healthy_ok(label)


def case_trickle(h, nbytes):
    calls, data = [], b""
    i = 0
    while len(data) < nbytes:
        msgid = 1000 + i
        if i % 3 == 2:
            calls.append(("claim.get", msgid))
            data += request_bytes(msgid, "claim.get", {"id": h.cid})
        else:
            calls.append(("ping", msgid))
            data += request_bytes(msgid, "ping")
        i += 1
    rss0 = h.d.status_kib("VmRSS") or 0
    with h.conn(timeout=30) as c:
        sleep = 0.0005 if nbytes <= 4096 else 0.0
        t0 = time.monotonic()
        for k in range(len(data)):
            c.send_raw(data[k:k + 1])
            if sleep:
                time.sleep(sleep)
            if k and k % max(1, len(data) // 4) == 0:
                h.healthy_ok("while %d bytes trickle in (at byte %d)" % (len(data), k))
        time.sleep(0.1)
        rss = h.d.status_kib("VmRSS") or 0
        tap.ok_memory(rss - rss0 < max(16 * 1024, 16 * len(data) // 1024),
               "trickled requests with unread replies: daemon RSS grows %d KiB for %d bytes received"
               % (rss - rss0, len(data)))
        wrong = []
        for kind, msgid in calls:
            try:
                reply = c.recv_reply(10.0)
            except Exception as e:
                wrong.append("%s %d: %r" % (kind, msgid, e))
                break
            good = reply.msgid == msgid and reply.error is None and (
                reply.result.get("protocol") == 1 if kind == "ping" else reply.result.get("text") == HEALTHY_TEXT)
            if not good:
                wrong.append("%s %d -> %s" % (kind, msgid, short(reply.msg)))
        tap.ok(not wrong, "%d requests (%d bytes) sent one byte per write: all answered in order (%.1fs)" % (
            len(calls), len(data), time.monotonic() - t0), *wrong[:5])
    h.healthy_ok("byte-by-byte trickle")


def case_many_connections(h, n=200):
    conns, failures = [], []
    base = stat(h.healthy.call("stats"), r"connections") or 0
    try:
        for i in range(n):
            conns.append(h.conn(timeout=10))
        for i, c in enumerate(conns):
            c.send_raw(request_bytes(i, "ping"))
        for i, c in enumerate(conns):
            try:
                reply = c.recv_reply(10.0)
                if reply.msgid != i or reply.error is not None:
                    failures.append("conn %d: %s" % (i, short(reply.msg)))
            except Exception as e:
                failures.append("conn %d: %r" % (i, e))
        tap.ok(not failures, "%d connections at once all answer ping" % n, *failures[:5])
        s = h.healthy.call("stats")
        tap.ok((stat(s, r"connections") or 0) >= n + 1, "stats counts the %d open connections" % n, short(s, 1500))
        h.healthy_ok("%d connections open" % n)
    finally:
        for c in conns:
            c.close()
    deadline, now = time.monotonic() + 3.0, None
    while time.monotonic() < deadline:
        now = stat(h.healthy.call("stats"), r"connections") or 0
        if now <= base:
            break
        time.sleep(0.02)
    tap.ok(now is not None and now <= base, "connection count drops back after they close (%s -> %s)" % (base, now))


def case_unread_replies(h):
    """A client that sends many requests with large replies and never reads: the daemon must stop
    reading it (backpressure) rather than buffer without bound, and serve everyone else."""
    big = h.healthy.call("claim.put", {"text": "b" * 60000, "speaker": "Big Text Speaker"})["id"]
    c = h.conn(timeout=30)
    req = request_bytes(7, "claim.get", {"id": big})
    stop = threading.Event()
    rss0 = h.d.status_kib("VmRSS") or 0

    def flood():
        try:
            for _ in range(100):   # up to 2,000 x 60 KB = 120 MB of replies
                if stop.is_set():
                    return
                c.send_raw(req * 20)
        except OSError:
            pass
    t = threading.Thread(target=flood, daemon=True)
    t.start()
    time.sleep(1.0)
    h.healthy_ok("while a client floods requests without reading")
    rss = h.d.status_kib("VmRSS")
    tap.ok_memory(rss is not None and rss - rss0 < 100 * 1024,
           "daemon memory stays bounded under a non-reading client (RSS %s -> %s KiB; 64 MiB of unread replies "
           "is the contract's limit)" % (rss0, rss))
    stop.set()
    try:
        c.sock.shutdown(socket.SHUT_RDWR)   # wakes the flood thread if it is blocked in send
    except OSError:
        pass
    t.join(10)
    c.close()
    h.healthy_ok("after the non-reading client went away")


def case_small_unread_replies(h, n=40000):
    """Small requests, one per write, never read: the replies are small too (about 40 bytes), so
    what the daemon holds must stay a small multiple of the bytes received."""
    req = request_bytes(9, "ping")
    rss0 = h.d.status_kib("VmRSS") or 0
    with h.conn(timeout=30) as c:
        for i in range(n):
            c.send_raw(req)
            if i % 100 == 99:
                time.sleep(0.0005)   # lets the daemon read requests one by one, as from a slow client
        time.sleep(0.3)
        rss = h.d.status_kib("VmRSS") or 0
        received = n * len(req)
        tap.ok_memory(rss - rss0 < 16 * 1024,
               "%d pings of %d bytes, one per write, never read: daemon RSS grows %d KiB for %d KiB received"
               % (n, len(req), rss - rss0, received // 1024),
               "RSS %d -> %d KiB; the replies themselves are about %d KiB" % (rss0, rss, n * 40 // 1024))
        h.healthy_ok("while %d replies wait unread" % n)
        replies = 0
        try:
            while replies < n:
                c.recv_reply(10.0)
                replies += 1
        except Exception as e:
            tap.diag("reading the replies stopped after %d: %r" % (replies, e))
        tap.is_(replies, n, "all %d replies arrive once the client reads" % n)
    h.healthy_ok("small unread replies")


def main():
    seed = int(os.environ.get("CLAIMD_HOSTILE_SEED") or time.time_ns() % 1000000)
    tap.diag("seed %d (CLAIMD_HOSTILE_SEED=%d replays it)" % (seed, seed))
    rng = random.Random(seed)
    d = Daemon()
    d.start()
    pinger = Pinger(d)
    try:
        h = Hostile(d, seed)
        pinger.start()
        case_huge_headers(h)
        case_nesting(h)
        case_truncated(h)
        case_junk(h, rng)
        case_too_large(h)
        case_utf8(h)
        case_params_and_msgids(h)
        case_trickle(h, int(os.environ.get("CLAIMD_TRICKLE_BYTES") or 400))
        case_many_connections(h)
        case_unread_replies(h)
        case_small_unread_replies(h)
        pinger.stop_flag.set()
        pinger.join(5)
        tap.ok(not pinger.failures and pinger.count > 0,
               "background pinger: %d pings, no failures" % pinger.count, *pinger.failures[:5])
        tap.ok(pinger.worst < 2.0, "no connection stalled the others (worst ping %.3fs)" % pinger.worst)
        tap.is_(d.starts, 1, "the daemon never had to be restarted")
    finally:
        pinger.stop_flag.set()
        tap.is_(d.stop(), 0, "daemon exits 0 on SIGTERM")
        d.cleanup()


run(main)
