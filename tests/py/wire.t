#!/usr/bin/python3
"""wire.t: the wire as the msgpack-rpc spec and the contract say, replayed as the bytes that
independently written clients send: client notifications (Neovim's nvim_error_event, every
library's notify()), text as bin (Perl's Data::MessagePack, Python bytes, Ruby binary strings),
duplicate map keys, integers that JavaScript encodes as float64, and a connection holding two
subscriptions."""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import msgpack  # noqa: E402
import tap  # noqa: E402
from claimd_harness import Daemon, Closed, Timeout, Raw, pack, request_bytes, short, run  # noqa: E402


def all_bin(obj):
    """obj with every str turned into bin, keys included: what Data::MessagePack sends."""
    if isinstance(obj, str):
        return obj.encode("utf-8")
    if isinstance(obj, list):
        return [all_bin(x) for x in obj]
    if isinstance(obj, dict):
        return {all_bin(k): all_bin(v) for k, v in obj.items()}
    return obj


def bin_request(msgid, method, params=None):
    return msgpack.packb([0, msgid, all_bin(method), [] if params is None else [all_bin(params)]],
                         use_bin_type=True)


def raw_map(pairs):
    """A map whose pairs are given as already packed bytes (keys may repeat)."""
    n = len(pairs)
    head = bytes([0x80 | n]) if n < 16 else b"\xde" + struct.pack(">H", n)
    return Raw(head + b"".join(k + v for k, v in pairs))


def p(o):
    return msgpack.packb(o, use_bin_type=True)


def read_replies(c, n, timeout=10):
    out = []
    for _ in range(n):
        out.append(c.recv_reply(timeout))
    return out


def no_str_but_str(obj):
    """True when no value in a decoded reply is bytes (what a bin decodes to)."""
    if isinstance(obj, bytes):
        return False
    if isinstance(obj, list):
        return all(no_str_but_str(x) for x in obj)
    if isinstance(obj, dict):
        return all(no_str_but_str(k) and no_str_but_str(v) for k, v in obj.items())
    return True


def check_notifications(d):
    # The bytes from the issue: 93 02 a4 "ping" 90, then pipelined requests.
    with d.client(timeout=10) as c:
        note = bytes.fromhex("9302a470696e6790")
        tap.is_(note, p([2, "ping", []]), "93 02 a4 ping 90 is the notification [2, \"ping\", []]")
        c.send_raw(note + b"".join(request_bytes(i, "ping") for i in range(1, 6)))
        try:
            replies = read_replies(c, 5)
            ok = [r.msgid for r in replies] == [1, 2, 3, 4, 5] and all(r.error is None for r in replies)
        except (Closed, Timeout) as e:
            ok, replies = False, e
        tap.ok(ok, "a notification then 5 pipelined pings: all 5 answered, in order", short(replies))
        try:
            c.recv_message(timeout=0.3)
            tap.ok(False, "the notification itself gets no reply")
        except Timeout:
            tap.ok(True, "the notification itself gets no reply")

        # Unknown methods, envelope faults and failures: logged, never answered, never closing.
        bad = [p([2, "nvim_error_event", [0, "unknown notification"]]),  # what Neovim sends
               p([2, "no.such.method", []]),
               p([2, "claim.get", [{"id": "x"}]]),
               p([2, "claim.get", [{"id": 999999}]]),
               p([2, 5, []]),
               p([2, "ping", "not an array"]),
               p([2, b"\xff\xfe", []])]
        c.send_raw(b"".join(bad) + request_bytes(40, "ping"))
        try:
            r = c.recv_reply(5)
            ok = r.msgid == 40 and r.error is None
        except (Closed, Timeout) as e:
            ok, r = False, e
        tap.ok(ok, "unknown, malformed and failing notifications: no reply, connection still serves", short(r))

    with d.client(timeout=10) as c:
        # A notification of a write goes through the writer in order: the read after it sees it...
        c.send_raw(p([2, "claim.put", [{"text": "Written by a notification of claim.put",
                                          "speaker": "Notifying Speaker", "external_id": "wire-note-1"}]]) +
                   request_bytes(50, "claim.put", {"text": "Written by a notification of claim.put",
                                                   "external_id": "wire-note-1", "on_duplicate": "error"}))
        r = c.recv_reply(10)
        tap.ok(r.msgid == 50 and r.code == "conflict" and isinstance(r.error.get("id"), int),
               "a request after a claim.put notification sees its claim (duplicate: conflict with id)",
               short(r.msg))
        cid = r.error.get("id") if isinstance(r.error, dict) else None
        # ...and a notification after a write sees the write; the read after both sees both.
        c.send_raw(request_bytes(51, "claim.put", {"text": "Second claim, written by a request",
                                                   "speaker": "Notifying Speaker", "external_id": "wire-note-2"}) +
                   p([2, "claim.retract", [{"id": cid, "reason": "retracted by a notification"}]]) +
                   request_bytes(52, "claim.get", {"id": cid}))
        r51, r52 = read_replies(c, 2)
        tap.ok(r51.msgid == 51 and r51.error is None, "a write request between notifications is answered", short(r51.msg))
        tap.ok(r52.msgid == 52 and r52.error is None and r52.result.get("retracted") is True,
               "a read after a claim.retract notification sees the retraction", short(r52.msg))
        c2id = r51.result.get("id") if r51.error is None else None
        # Many pipelined writes interleaved with notifications keep their order.
        data = []
        for i in range(50):
            data.append(p([2, "claim.update", [{"id": c2id, "rev": i + 1, "set": {"tags": ["n%d" % i]}}]]))
            data.append(request_bytes(100 + i, "claim.get", {"id": c2id}))
        c.send_raw(b"".join(data))
        rs = read_replies(c, 50)
        tags = [r.result.get("tags") if r.error is None else r.error for r in rs]
        tap.ok([r.msgid for r in rs] == list(range(100, 150)) and tags == [["n%d" % i] for i in range(50)],
               "50 claim.update notifications, each followed by a claim.get: every read sees the update before it",
               short(tags))


def check_bin_text(d):
    with d.client(timeout=10) as c:
        c.send_raw(bin_request(1, "ping"))
        r = c.recv_reply()
        tap.ok(r.msgid == 1 and r.error is None, "method name as bin (ping)", short(r.msg))

        claim = {"text": "Everything in this claim was sent as bin, the Perl way",
                 "speaker": {"name": "Bin Speaker", "kind": "person", "aliases": ["B. Speaker"]},
                 "said_at": "2018-08-08", "lang": "en", "medium": "broadcast",
                 "via": [{"name": "Bin Agency", "how": "reported"}],
                 "appearances": [{"url": "https://example.org/bin", "outlet": "Bin Outlet"}],
                 "about": ["Bin Topic"], "tags": ["bin-tag"], "external_id": "bin-1"}
        c.send_raw(bin_request(2, "claim.put", claim))
        r = c.recv_reply()
        tap.ok(r.msgid == 2 and r.error is None and r.result.get("created") is True,
               "claim.put with every string (names, values, nested entity refs, via, appearances) as bin",
               short(r.msg))
        cid = r.result.get("id") if r.error is None else 0

        # The reply, read without decoding: every text in it is str, never bin.
        c.send_raw(bin_request(3, "claim.get", {"id": cid}))
        un = msgpack.Unpacker(raw=False)  # str -> str, bin -> bytes
        msg = None
        deadline = time.monotonic() + 5
        while msg is None and time.monotonic() < deadline:
            c.sock.settimeout(max(0.01, deadline - time.monotonic()))
            chunk = c.sock.recv(65536)
            if not chunk:
                break
            un.feed(chunk)
            for m in un:
                msg = m
        got = msg[3] if isinstance(msg, list) and len(msg) == 4 else None
        tap.ok(isinstance(got, dict) and msg[1] == 3 and no_str_but_str(msg),
               "claim.get answers with str only (no bin) to a client that sent bin", short(msg))
        ok = (isinstance(got, dict) and got.get("text") == claim["text"] and got.get("speaker", {}).get("name") == "Bin Speaker"
              and [h.get("how") for h in got.get("via", [])] == ["reported"] and got.get("tags") == ["bin-tag"])
        tap.ok(ok, "the claim stored from bin reads back as the same text", short(got))

        # Filters and cursors as bin.
        for i in range(3):
            c.call("claim.put", {"text": "Cursor claim %d for the bin filters" % i, "speaker": "Bin Speaker"})
        c.send_raw(bin_request(4, "claim.query", {"speaker": "Bin Speaker", "limit": 2}))
        r = c.recv_reply()
        tap.ok(r.error is None and len(r.result.get("items", [])) == 2 and r.result.get("cursor"),
               "claim.query with a bin filter value finds the speaker's claims", short(r.msg))
        cursor = r.result.get("cursor") if r.error is None else None
        seen = [x["id"] for x in r.result.get("items", [])] if r.error is None else []
        if isinstance(cursor, str):
            c.send_raw(bin_request(5, "claim.query", {"speaker": "Bin Speaker", "limit": 10, "cursor": cursor}))
            r = c.recv_reply()
            more = [x["id"] for x in r.result.get("items", [])] if r.error is None else None
            tap.ok(r.error is None and more and not set(more) & set(seen) and len(seen) + len(more) == 4,
                   "claim.query with the cursor sent back as bin continues after the first page", short(r.msg))
            raw_cursor = bytes.fromhex(cursor)
            r = c.request("claim.query", {"speaker": "Bin Speaker", "limit": 10, "cursor": raw_cursor})
            more2 = [x["id"] for x in r.result.get("items", [])] if r.error is None else None
            tap.is_(more2, more, "the cursor's raw bytes as bin are accepted too (valid UTF-8 or not)")
        else:
            tap.ok(False, "claim.query gave a cursor", short(cursor))
        r = c.request("claim.search", {"q": "cursor claim", "limit": 1})
        cur = r.result.get("cursor") if r.error is None else None
        if isinstance(cur, str):
            c.send_raw(bin_request(6, "claim.search", {"q": "cursor claim", "limit": 1, "cursor": cur}))
            r2 = c.recv_reply()
            tap.ok(r2.error is None and r2.result["items"] and r2.result["items"][0]["id"] != r.result["items"][0]["id"],
                   "claim.search with its cursor and query as bin continues", short(r2.msg))
        else:
            tap.ok(r.error is None, "claim.search answered (no second page to follow)", short(r.msg))

        # Python bytes / Ruby binary strings: a mix of str and bin in one request.
        r = c.request("entity.find", {b"name": "bin speaker"})
        tap.ok(r.error is None and any(e.get("name") == "Bin Speaker" for e in r.result.get("items", [r.result])),
               "a parameter name as bin with a str value", short(r.msg))

        # Invalid UTF-8 in bin is `invalid` with the field.
        r = c.request("claim.put", {"text": b"not \xff\xfe UTF-8 text at all"})
        tap.ok(r.code == "invalid" and r.error.get("field") == "text",
               "bin that is not UTF-8 where text is expected: invalid, field text", short(r.msg))
        r = c.request("claim.put", {"text": "A claim whose via is broken bin", "via": [{"name": b"\xc3\x28", "how": "quoted"}]})
        tap.ok(r.code == "invalid" and r.error.get("field") == "via[0].name",
               "invalid UTF-8 bin nested in via: invalid, field via[0].name", short(r.msg))
        r = c.request("claim.get", {b"i\xffd": 1})
        tap.ok(r.code == "invalid" and isinstance(r.error.get("field"), str),
               "a parameter name as bin that is not UTF-8: invalid with a field", short(r.msg))
        c.send_raw(p([0, 9, b"claim.\xff", []]))
        r = c.recv_reply()
        tap.ok(r.msgid == 9 and r.code in ("unknown_method", "bad_request"),
               "a method name as bin that is not UTF-8 is refused with an answer", short(r.msg))


def check_duplicate_keys(d):
    with d.client(timeout=10) as c:
        cid = c.call("claim.put", {"text": "A claim to read with duplicate keys"})["id"]
        data = pack([0, 1, "claim.get", [raw_map([(p("id"), p(cid)), (p("id"), p(cid + 1000))])]])
        c.send_raw(data)
        r = c.recv_reply()
        tap.ok(r.msgid == 1 and r.code == "invalid" and r.error.get("field") == "id",
               "claim.get {id, id}: invalid, field id (no first-wins)", data.hex(), short(r.msg))
        # The same key once as str and once as bin is the same key.
        data = pack([0, 2, "claim.get", [raw_map([(p("id"), p(cid)), (p(b"id"), p(cid))])]])
        c.send_raw(data)
        r = c.recv_reply()
        tap.ok(r.code == "invalid" and r.error.get("field") == "id", "a key as str and again as bin: invalid, field id",
               short(r.msg))
        # Nested: an entity reference with name twice.
        spk = raw_map([(p("name"), p("Dup One")), (p("name"), p("Dup Two"))])
        data = pack([0, 3, "claim.put", [{"text": "A claim with a doubled speaker name", "speaker": spk}]])
        c.send_raw(data)
        r = c.recv_reply()
        tap.ok(r.code == "invalid" and r.error.get("field") == "speaker.name",
               "nested duplicate key: invalid, field speaker.name", short(r.msg))
        via = raw_map([(p("name"), p("Agency")), (p("how"), p("quoted")), (p("how"), p("leaked"))])
        data = pack([0, 4, "claim.put", [{"text": "A claim with a doubled how", "via": [via]}]])
        c.send_raw(data)
        r = c.recv_reply()
        tap.ok(r.code == "invalid" and r.error.get("field") == "via[0].how",
               "duplicate key inside an array of maps: invalid, field via[0].how", short(r.msg))
        # A big map (sorted check): 2,000 distinct keys plus one repeated.
        pairs = [(p("k%d" % i), p(i)) for i in range(2000)] + [(p("k1234"), p(0))]
        big = Raw(b"\xde" + struct.pack(">H", len(pairs)) + b"".join(k + v for k, v in pairs))
        c.send_raw(pack([0, 5, "ping", [big]]))
        r = c.recv_reply()
        tap.ok(r.code == "invalid" and r.error.get("field") == "k1234",
               "a 2,001-pair map with one key repeated far apart: invalid, field k1234", short(r.msg))
        nothing = c.call("claim.query", {"speaker": "Dup One"})
        tap.is_(nothing.get("items"), [], "nothing was written by the refused requests")
        tap.ok(c.call("ping").get("protocol") == 1, "the connection still serves")


def check_integral_floats(d):
    with d.client(timeout=10) as c:
        cid = c.call("claim.put", {"text": "A claim read by float ids", "speaker": "Float Speaker"})["id"]
        r = c.request("claim.get", {"id": float(cid)})
        tap.ok(r.error is None and r.result.get("id") == cid, "claim.get id as float64 %r" % float(cid), short(r.msg))
        c.send_raw(pack([0, 2, "claim.get", [{"id": Raw(b"\xca" + struct.pack(">f", float(cid)))}]]))
        r = c.recv_reply()
        tap.ok(r.error is None and r.result.get("id") == cid, "claim.get id as float32", short(r.msg))
        for big in (2.0 ** 32, 2.0 ** 40 + 7, 2.0 ** 53):
            r = c.request("claim.get", {"id": big})
            tap.ok(r.code == "not_found", "id %.0f as float64 (>= 2^32): looked up, not_found" % big, short(r.msg))
        for bad in (1.5, -3.0, 2.0 ** 53 * 2, float("inf"), float("nan")):
            r = c.request("claim.get", {"id": bad})
            tap.ok(r.code == "invalid" and r.error.get("field") == "id", "id %r: invalid, field id" % bad, short(r.msg))
        r = c.request("claim.query", {"speaker": "Float Speaker", "limit": 5.0})
        tap.ok(r.error is None and len(r.result.get("items", [])) == 1, "limit 5.0 accepted as 5", short(r.msg))
        r = c.request("claim.query", {"speaker": "Float Speaker", "limit": 5.5})
        tap.ok(r.code == "invalid" and r.error.get("field") == "limit", "limit 5.5: invalid, field limit", short(r.msg))
        r = c.request("changes", {"since": 0.0, "limit": 2.0})
        tap.ok(r.error is None and len(r.result.get("items", [])) == 2, "changes since 0.0 limit 2.0", short(r.msg))
        # A JavaScript library sending the msgid as a float gets it back.
        c.send_raw(pack([0, 4000000000.0, "ping", []]))
        r = c.recv_reply()
        tap.ok(r.msgid == 4000000000 and r.error is None, "a msgid sent as float64 is answered with that msgid",
               short(r.msg))


def check_two_subscriptions(d):
    with d.client(timeout=10) as w, d.client(timeout=10) as s:
        a = s.call("subscribe", {"types": ["claim"]})["subscription"]
        b = s.call("subscribe", {"ops": ["claim.create"]})["subscription"]
        only = s.call("subscribe", {"ops": ["verdict.add"]})["subscription"]
        tap.ok(len({a, b, only}) == 3, "three subscriptions, three ids")
        cid = w.call("claim.put", {"text": "A claim two subscriptions see", "speaker": "Sub Speaker"})["id"]
        got = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                n = s.recv_notification(timeout=0.5)
            except Timeout:
                break
            if n[1] == "change" and n[2][0].get("type") == "claim":
                got.append((n[2][0].get("subscription"), n[2][0].get("op"), n[2][0].get("id")))
        tap.is_(sorted(got), sorted([(a, "claim.create", cid), (b, "claim.create", cid)]),
                "one claim.create: one notification per matching subscription, each naming it")
        s.call("unsubscribe", {"subscription": b})
        w.call("claim.update", {"id": cid, "rev": 1, "set": {"tags": ["x"]}})
        n = s.recv_notification(timeout=5)
        tap.ok(n[2][0].get("subscription") == a and n[2][0].get("op") == "claim.update",
               "after unsubscribing one, the other still says which it is", short(n))
        tap.ok(all(isinstance(x[2][0].get("subscription"), int) for x in [n]), "subscription is an integer")


def main():
    d = Daemon()
    d.start()
    check_notifications(d)
    check_bin_text(d)
    check_duplicate_keys(d)
    check_integral_floats(d)
    check_two_subscriptions(d)
    tap.ok(d.alive(), "the daemon is still running")
    d.stop()


run(main)
