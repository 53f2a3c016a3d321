#!/usr/bin/python3
"""protocol.t: the msgpack-rpc envelope of claimd, spoken raw (no libclaimd): response shape,
ping and stats, unknown_method, bad_request, invalid with `field`, pipelining in order, and
read-your-writes on one connection."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import (Daemon, Client, Closed, Timeout, pack, request_bytes, stat, short,  # noqa: E402
                            is_error, expect_error, run, ERROR_CODES)


def check_envelope(d):
    with d.client() as c:
        c.send_raw(request_bytes(77, "ping"))
        msg = c.recv_message()
        tap.ok(isinstance(msg, list) and len(msg) == 4, "response is a 4-element array", short(msg))
        tap.is_(msg[0], 1, "response type is 1")
        tap.is_(msg[1], 77, "response echoes the msgid")
        tap.is_(msg[2], None, "error is nil on success")
        tap.ok(isinstance(msg[3], dict), "result is a map", short(msg))

        for msgid in (0, 0xffffffff, 0x80000000):
            c.send_raw(request_bytes(msgid, "ping"))
            msg = c.recv_message()
            tap.is_(msg[1], msgid, "msgid %d comes back unchanged" % msgid)

        c.send_raw(request_bytes(78, "no.such.method"))
        msg = c.recv_message()
        tap.ok(len(msg) == 4 and msg[0] == 1 and msg[1] == 78 and isinstance(msg[2], dict) and msg[3] is None,
               "error response is [1, msgid, {error}, nil]", short(msg))
        err = msg[2] if isinstance(msg[2], dict) else {}
        tap.ok(err.get("code") == "unknown_method" and isinstance(err.get("message"), str) and err["message"],
               "unknown method gives unknown_method with a message", short(msg))
        tap.ok(c.call("ping").get("protocol") == 1, "connection still serves after unknown_method")


def check_ping_stats(d):
    with d.client() as c:
        r = c.call("ping")
        tap.ok(isinstance(r.get("version"), str) and r["version"] != "", "ping: version is a non-empty str",
               short(r))
        tap.ok(r.get("protocol") == 1 and type(r.get("protocol")) is int, "ping: protocol is 1", short(r))
        tap.is_(c.call("ping", [{}]), r, "ping accepts params [{}] as well as []")

        s0 = c.call("stats")
        tap.ok(isinstance(s0, dict), "stats returns a map", short(s0))
        names = {
            "claims count": r"(^|\.)claims$",
            "entities count": r"(^|\.)entities$",
            "verdicts count": r"(^|\.)verdicts$",
            "map size": r"map_?size",
            "bytes used": r"^(?!.*map).*(used|bytes)",
            "connections": r"connections",
            "uptime": r"uptime",
            "last seq": r"seq",
        }
        for label, pattern in names.items():
            v = stat(s0, pattern)
            tap.ok(v is not None and v >= 0, "stats has %s" % label, "stats: %s" % short(s0, 2000))
        tap.ok((stat(s0, r"connections") or 0) >= 1, "stats counts this connection", short(s0, 2000))

        with d.client() as c2:
            c2.call("ping")
            s1 = c.call("stats")
            tap.ok((stat(s1, r"connections") or 0) >= (stat(s0, r"connections") or 0) + 1,
                   "stats connections grows with a second connection", short(s0, 2000), short(s1, 2000))

        c.call("claim.put", {"text": "stats counting claim", "speaker": "Stats Speaker"})
        s2 = c.call("stats")
        tap.is_(stat(s2, r"(^|\.)claims$"), (stat(s0, r"(^|\.)claims$") or 0) + 1, "claims count +1 after claim.put")
        tap.ok((stat(s2, r"(^|\.)entities$") or 0) >= (stat(s0, r"(^|\.)entities$") or 0) + 1,
               "entities count grows when claim.put creates a speaker", short(s2, 2000))
        tap.ok((stat(s2, r"seq") or 0) > (stat(s0, r"seq") or 0), "last seq grows after a write",
               short(s0, 2000), short(s2, 2000))


def check_bad_request_with_msgid(d):
    cases = [
        ("3-element request", pack([0, 11, "ping"])),
        ("5-element request", pack([0, 12, "ping", [], 5])),
        ("params [1]", pack([0, 13, "ping", [1]])),
        ("params is a map, not an array", pack([0, 14, "ping", {}])),
        ("params [{}, {}]", pack([0, 15, "ping", [{}, {}]])),
        ("params nil", pack([0, 16, "ping", None])),
        ("params a string", pack([0, 17, "ping", "x"])),
        ("method is an int", pack([0, 18, 42, []])),
        ("method is bin that is not UTF-8", pack([0, 19, b"p\xffing", []])),
        ("method is nil", pack([0, 20, None, []])),
        ("type 1 (a response) sent to the daemon", pack([1, 21, "ping", []])),
        ("type 7", pack([7, 22, "ping", []])),
    ]
    for label, data in cases:
        msgid = msgpack_msgid(data)
        with d.client(timeout=5) as c:
            c.send_raw(data)
            try:
                reply = c.recv_reply()
            except (Closed, Timeout) as e:
                tap.ok(False, "bad_request for %s" % label, "no reply: %r; sent %s" % (e, data.hex()))
                continue
            tap.ok(reply.msgid == msgid and reply.code == "bad_request" and reply.result is None,
                   "bad_request for %s" % label, "sent %s" % data.hex(), "got %s" % short(reply.msg))
            try:
                ok = c.call("ping").get("protocol") == 1
            except Exception as e:
                ok, reply = False, e
            tap.ok(ok, "connection still serves after %s" % label, short(reply))


def msgpack_msgid(data):
    import msgpack
    return msgpack.unpackb(data, raw=False)[1]


def check_no_msgid_closes(d):
    cases = [
        ("an int", pack(5)),
        ("a string", pack("ping")),
        ("an empty map", pack({})),
        ("an empty array", pack([])),
    ]
    for label, data in cases:
        with d.client(timeout=5) as c:
            c.send_raw(data)
            closed, msgs = c.wait_closed(5.0)
            only_errors = all(isinstance(m, list) and len(m) == 4 and m[0] == 1 and isinstance(m[2], dict)
                              and m[2].get("code") in ERROR_CODES for m in msgs)
            tap.ok(closed and only_errors, "%s without a usable msgid: connection closed" % label,
                   "sent %s" % data.hex(), "closed=%r, messages before: %s" % (closed, short(msgs)))


def check_invalid_fields(d):
    with d.client() as c:
        expect_error(c, "claim.get", {"id": "abc"}, "invalid", "claim.get id as a string: invalid, field id", "id")
        expect_error(c, "claim.get", {"id": -5}, "invalid", "claim.get negative id: invalid, field id", "id")
        expect_error(c, "claim.get", {}, "invalid", "claim.get without id: invalid, field id", "id")
        expect_error(c, "claim.get", {"id": 1.5}, "invalid", "claim.get float id: invalid, field id", "id")
        expect_error(c, "entity.get", {"id": [1]}, "invalid", "entity.get id as an array: invalid, field id", "id")
        expect_error(c, "entity.find", {"name": 5}, "invalid", "entity.find name as an int: invalid, field name",
                     "name")
        expect_error(c, "entity.find", {"prefix": "a", "limit": "ten"}, "invalid",
                     "entity.find limit as a string: invalid, field limit", "limit")
        expect_error(c, "claim.put", {"text": 5}, "invalid", "claim.put text as an int: invalid, field text", "text")
        expect_error(c, "claim.put", {"text": "x y z", "tags": "a"}, "invalid",
                     "claim.put tags as a string: invalid, field tags", "tags")
        expect_error(c, "claim.put", {"text": "x y z", "quote": "yes"}, "invalid",
                     "claim.put quote as a string: invalid, field quote", "quote")
        expect_error(c, "verdict.add", {"claim": "x", "rating": "true"}, "invalid",
                     "verdict.add claim as a string: invalid, field claim", "claim")
        expect_error(c, "entity.put", {"name": "Typed Entity", "aliases": "one"}, "invalid",
                     "entity.put aliases as a string: invalid, field aliases", "aliases")


def check_pipelining(d):
    with d.client() as c:
        c.next_msgid = 0xffffffff - 40   # msgids wrap through 0 on the way
        calls = [("stats", None)]
        kinds = ["stats"]
        for i in range(1, 99):
            k = i % 10
            if k in (0, 5):
                calls.append(("ping", None)); kinds.append("ping")
            elif k in (1, 6):
                calls.append(("entity.put", {"name": "Pipe Entity %d" % i})); kinds.append("entity.put")
            elif k in (2, 7):
                calls.append(("entity.find", {"name": "pipe entity %d" % (i - 1)})); kinds.append("entity.find")
            elif k in (3, 8):
                calls.append(("claim.put", {"text": "pipelined claim number %d" % i, "external_id": "pipe-%d" % i}))
                kinds.append("claim.put")
            elif k == 4:
                calls.append(("claim.put", {"text": "pipelined claim number %d" % (i - 1),
                                            "external_id": "pipe-%d" % (i - 1), "on_duplicate": "error"}))
                kinds.append("conflict")
            else:
                calls.append(("nope.method", {"i": i})); kinds.append("unknown")
        calls.append(("stats", None)); kinds.append("stats")
        tap.is_(len(calls), 100, "100 requests in one write")
        replies = c.pipeline(calls)   # raises when a msgid is out of order
        tap.ok(True, "100 replies came back in request order with matching msgids")

        bad = []
        for i, (kind, reply) in enumerate(zip(kinds, replies)):
            r, e = reply.result, reply.error
            if kind == "ping":
                good = e is None and r.get("protocol") == 1
            elif kind == "entity.put":
                good = e is None and r.get("name") == "Pipe Entity %d" % i
            elif kind == "entity.find":
                put = replies[i - 1].result or {}
                good = e is None and any(x.get("id") == put.get("id") for x in r.get("items", []))
            elif kind == "claim.put":
                good = e is None and r.get("created") is True
            elif kind == "conflict":
                good = e is not None and e.get("code") == "conflict" and e.get("id") == (replies[i - 1].result or {}).get("id")
            elif kind == "unknown":
                good = e is not None and e.get("code") == "unknown_method"
            else:
                good = e is None
            if not good:
                bad.append((i, calls[i], reply.msg))
        tap.ok(not bad, "each pipelined reply is the right one, later requests seeing earlier writes",
               *["#%d %s -> %s" % (i, short(call), short(msg)) for i, call, msg in bad[:10]])
        created = sum(1 for k in kinds if k == "claim.put")
        tap.is_(stat(replies[-1].result, r"(^|\.)claims$"), stat(replies[0].result, r"(^|\.)claims$") + created,
                "stats at the end of the pipeline sees the %d claims created in it" % created)


def check_read_after_write(d):
    with d.client() as c:
        cid = c.call("claim.put", {"text": "read after write claim", "speaker": "RAW Speaker"})["id"]
        replies = c.pipeline([
            ("verdict.add", {"claim": cid, "rating": "false", "at": "2020-01-01"}),
            ("claim.get", {"id": cid}),
            ("appearance.add", {"claim": cid, "url": "https://example.org/raw", "outlet": "RAW Outlet"}),
            ("claim.get", {"id": cid}),
        ])
        g1, g2 = replies[1].result or {}, replies[3].result or {}
        tap.ok(replies[0].error is None and g1.get("status") == "false" and g1.get("rev") == replies[0].result.get("claim_rev"),
               "claim.get right after verdict.add (same write) sees the verdict", short(replies[0].msg), short(replies[1].msg))
        urls = [a.get("url") for a in g2.get("appearances") or []]
        tap.ok(replies[2].error is None and "https://example.org/raw" in urls
               and g2.get("rev") == replies[2].result.get("claim_rev"),
               "claim.get right after appearance.add (same write) sees the appearance", short(replies[2].msg), short(replies[3].msg))

        replies = c.pipeline([
            ("claim.put", {"text": "written then read", "external_id": "raw-1"}),
            ("claim.put", {"text": "written then read", "external_id": "raw-1", "on_duplicate": "error"}),
        ])
        tap.ok(replies[1].code == "conflict" and replies[1].error.get("id") == (replies[0].result or {}).get("id"),
               "a duplicate check right after the write (same write) sees it", short([r.msg for r in replies]))

    # A second connection sees a write once it has been acknowledged.
    with d.client() as w, d.client() as r:
        cid = w.call("claim.put", {"text": "seen by another connection"})["id"]
        tap.is_(r.call("claim.get", {"id": cid}).get("text"), "seen by another connection",
                "another connection reads an acknowledged write")


def main():
    d = Daemon()
    d.start()
    try:
        check_envelope(d)
        check_ping_stats(d)
        check_bad_request_with_msgid(d)
        check_no_msgid_closes(d)
        check_invalid_fields(d)
        check_pipelining(d)
        check_read_after_write(d)
        tap.ok(d.alive(), "daemon still running after the protocol checks")
    finally:
        rc = d.stop()
        tap.is_(rc, 0, "daemon exits 0 on SIGTERM")
        d.cleanup()


run(main)
