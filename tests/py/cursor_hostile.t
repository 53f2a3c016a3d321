#!/usr/bin/python3
"""cursor_hostile.t: tampered, truncated, oversized and wrong-typed cursors sent to a running
daemon for claim.query and claim.search (issue 13). Each must get `invalid` with field `cursor`
and a message, nothing else (no internal error, no result, no closed connection), while a second
connection keeps being served and real cursors keep paging correctly afterwards.

The tampering uses today's cursor layouts (daemon/query_cursor.h, daemon/search/search_cursor.c) to
break exactly one field at a time; the decoders' fuzzers (tests/fuzz/fuzz_*_cursor.c) cover the
rest at random. An edit that yields another well-formed cursor of the same query (say a different
last id) is a valid cursor, not an error: a cursor carries no secret, and continuing from another
position shows nothing the caller could not page to anyway."""
import os
import struct
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, RpcError, raw_str, run, short  # noqa: E402


def varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([v & 0x7f | 0x80])
        v >>= 7
    return out + bytes([v])


def read_varint(b, i):
    v, shift = 0, 0
    while True:
        x = b[i]
        i += 1
        v |= (x & 0x7f) << shift
        shift += 7
        if not x & 0x80:
            return v, i


def parse_search(hexstr):
    """A claim.search cursor as a dict of its fields."""
    b = bytes.fromhex(hexstr)
    cur = {"version": b[0], "qhash": b[1:9], "score": b[9:17], "id": int.from_bytes(b[17:25], "big"),
           "max_id": int.from_bytes(b[25:33], "big"), "spaces": []}
    n, i = read_varint(b, 33)
    for _ in range(n):
        tag = b[i:i + 3]
        ndocs, i = read_varint(b, i + 3)
        ntokens, i = read_varint(b, i)
        nclauses, i = read_varint(b, i)
        dfs = []
        for _ in range(nclauses):
            df, i = read_varint(b, i)
            dfs.append(df)
        cur["spaces"].append([tag, ndocs, ntokens, dfs])
    assert i == len(b)
    return cur


def build_search(cur, nspaces=None, tail=b""):
    b = bytes([cur["version"]]) + cur["qhash"] + cur["score"] + cur["id"].to_bytes(8, "big")
    b += cur["max_id"].to_bytes(8, "big") + varint(len(cur["spaces"]) if nspaces is None else nspaces)
    for tag, ndocs, ntokens, dfs in cur["spaces"]:
        b += tag + varint(ndocs) + varint(ntokens) + varint(len(dfs)) + b"".join(varint(d) for d in dfs)
    return (b + tail).hex()


def edited(cur, **changes):
    c = dict(cur, spaces=[list(s) for s in cur["spaces"]])
    c.update(changes)
    return c


def space_edit(cur, i, **kw):
    c = edited(cur)
    names = ["tag", "ndocs", "ntokens", "dfs"]
    for k, v in kw.items():
        c["spaces"][i][names.index(k)] = v
    return c


def check_invalid(c, other, method, params, cursor, what):
    """One hostile cursor: `invalid` with field cursor (and a message), and the other connection
    still served right after it."""
    p = dict(params, cursor=cursor)
    t0 = time.monotonic()
    try:
        reply = c.request(method, p, timeout=30)
    except Exception as e:  # closed, timeout, protocol violation: all failures of this test
        tap.ok(False, "%s: %s gets invalid (field cursor)" % (method, what), "raised %r" % (e,))
        return
    took = time.monotonic() - t0
    err = reply.error
    good = (isinstance(err, dict) and err.get("code") == "invalid" and err.get("field") == "cursor"
            and isinstance(err.get("message"), str) and err.get("message"))
    served = other.call("ping", timeout=10) is not None
    tap.ok(good and served, "%s: %s gets invalid (field cursor)" % (method, what),
           "got: %s" % short(err if err is not None else reply.result), "cursor: %s" % short(cursor, 200),
           "other connection served: %s" % served)
    if took > 2:
        tap.diag("%s: %s took %.2f s" % (method, what, took))
    return good


def main():
    d = Daemon()
    d.start()
    c = d.client()
    other = d.client()
    langs = ["en", "ru", "de", "", "fr"]
    for i in range(40):
        lang = langs[i % len(langs)]
        claim = {"text": "minister pensions statement number %d about budget" % i, "speaker": "Speaker %d" % (i % 2),
                 "said_at": "2026-%02d-10T10:00:00Z" % (1 + i % 12)}
        if lang:
            claim["lang"] = lang
        c.call("claim.put", claim)

    # --- claim.query ------------------------------------------------------------------------
    qparams = {"speaker": "Speaker 1", "limit": 3}
    first = c.call("claim.query", qparams)
    qcur = first["cursor"]
    tap.ok(isinstance(qcur, str) and len(qcur) == 52, "claim.query returns a 52-character cursor", short(qcur))
    raw = bytes.fromhex(qcur)

    def with_byte(i, v):
        b = bytearray(raw)
        b[i] = v
        return bytes(b).hex()

    query_bad = [
        ("the order byte set to an unknown order", with_byte(0, 3)),
        ("the order byte set to 0xff", with_byte(0, 0xff)),
        ("another order's byte (said_asc)", with_byte(0, 1)),
        ("an unknown index kind", with_byte(1, 9)),
        ("the by-recorded flag on a said order", with_byte(1, raw[1] | 0x80)),
        ("another index kind (tag instead of speaker)", with_byte(1, 5)),
        ("another speaker", with_byte(9, raw[9] ^ 1)),
        ("claim id 0", (raw[:18] + b"\0" * 8).hex()),
        ("upper-case hex", qcur.upper()),
        ("a non-hex digit", qcur[:10] + "g" + qcur[11:]),
        ("a NUL in the hex", qcur[:10] + "\0" + qcur[11:]),
        ("invalid UTF-8 in a str", raw_str(b"\xff" * 52)),
        ("truncated by one character", qcur[:-1]),
        ("truncated by one byte", qcur[:-2]),
        ("truncated to half", qcur[:26]),
        ("the empty string", ""),
        ("one byte too long", qcur + "00"),
        ("oversized: 64 KiB", qcur + "0" * 65536),
        ("oversized: 1 MiB", "0" * (1 << 20)),
        ("raw bytes of the wrong length (bin)", raw[:25]),
        ("raw bytes with an unknown order (bin)", bytes([3]) + raw[1:]),
        ("non-UTF-8 hex-length bin", b"\xff" * 52),
        ("an integer", 12345),
        ("a negative integer", -1),
        ("a float", 1.5),
        ("true", True),
        ("an array", [qcur]),
        ("a map", {"cursor": qcur}),
    ]
    for what, cur in query_bad:
        check_invalid(c, other, "claim.query", qparams, cur, what)
    # Recorded order: the said slot must hold the id.
    rq = c.call("claim.query", {"order": "recorded_desc", "limit": 3})
    rraw = bytes.fromhex(rq["cursor"])
    bad = bytearray(rraw)
    bad[17] ^= 1
    check_invalid(c, other, "claim.query", {"order": "recorded_desc", "limit": 3}, bytes(bad).hex(),
                  "recorded_desc with a said slot that is not the id")
    check_invalid(c, other, "claim.query", {"order": "said_desc", "limit": 3}, rq["cursor"],
                  "a recorded_desc cursor with said_desc")

    # Real cursors still page: the raw bin form and the hex form give the same next page.
    page_hex = c.call("claim.query", dict(qparams, cursor=qcur))
    page_bin = c.call("claim.query", dict(qparams, cursor=raw))
    tap.ok([x["id"] for x in page_hex["items"]] == [x["id"] for x in page_bin["items"]] and page_hex["items"],
           "after all that, the real cursor pages on (hex and raw bin alike)")
    seen, cur, pages = [x["id"] for x in first["items"]], qcur, 1
    while cur is not None and pages < 100:
        r = c.call("claim.query", dict(qparams, cursor=cur))
        seen += [x["id"] for x in r["items"]]
        cur = r["cursor"]
        pages += 1
    tap.is_(len(seen), 20, "walking every page of Speaker 1 returns its 20 claims")
    tap.is_(len(set(seen)), len(seen), "each once")

    # --- claim.search -----------------------------------------------------------------------
    sparams = {"q": "minister pensions", "limit": 2}
    sfirst = c.call("claim.search", sparams)
    scur = sfirst["cursor"]
    tap.ok(isinstance(scur, str) and len(scur) > 70, "claim.search returns a cursor", short(scur))
    sc = parse_search(scur)
    tap.ok(len(sc["spaces"]) == 5, "over five language spaces", [s[0] for s in sc["spaces"]])
    b = bytes.fromhex(scur)
    nan = struct.pack(">d", float("nan"))
    search_bad = [
        ("version 2", build_search(edited(sc, version=2))),
        ("version 0", build_search(edited(sc, version=0))),
        ("another query's hash", build_search(edited(sc, qhash=bytes(x ^ 0x55 for x in sc["qhash"])))),
        ("a NaN score", build_search(edited(sc, score=nan))),
        ("an infinite score", build_search(edited(sc, score=struct.pack(">d", float("inf"))))),
        ("a negative score", build_search(edited(sc, score=struct.pack(">d", -3.5)))),
        ("claim id 0", build_search(edited(sc, id=0))),
        ("an id above max_id", build_search(edited(sc, id=sc["max_id"] + 1))),
        ("no language spaces", build_search(edited(sc, spaces=[]))),
        ("a space given twice", build_search(edited(sc, spaces=[sc["spaces"][1]] + sc["spaces"][1:]))),
        ("spaces out of order", build_search(edited(sc, spaces=sc["spaces"][::-1]))),
        ("an upper-case space", build_search(space_edit(sc, 1, tag=sc["spaces"][1][0].upper()))),
        ("a space of control bytes", build_search(space_edit(sc, 1, tag=b"\x01\x02\x03"))),
        ("a clause more than the query has", build_search(space_edit(sc, 1, dfs=sc["spaces"][1][3] + [1]))),
        ("no clauses", build_search(space_edit(sc, 1, dfs=[]))),
        ("33 clauses", build_search(space_edit(sc, 1, dfs=[1] * 33))),
        ("a df of 0", build_search(space_edit(sc, 1, dfs=[0] * len(sc["spaces"][1][3])))),
        ("a space count larger than the spaces", build_search(sc, nspaces=6)),
        ("a space count of 4097", build_search(sc, nspaces=4097)),
        ("a trailing byte", build_search(sc, tail=b"\0")),
        ("an over-long varint (a padded space count)", (b[:33] + bytes([0x85, 0x00]) + b[34:]).hex()),
        ("upper-case hex", scur.upper()),
        ("a non-hex digit", scur[:20] + "x" + scur[21:]),
        ("truncated by one character", scur[:-1]),
        ("truncated by one byte", scur[:-2]),
        ("truncated inside the header", scur[:40]),
        ("truncated to the version byte", scur[:2]),
        ("the empty string", ""),
        ("oversized: 1 MiB of zeros", "0" * (1 << 20)),
        ("oversized: 64 KiB appended", scur + "00" * 32768),
        ("invalid UTF-8 in a str", raw_str(b"\xff" * 80)),
        ("non-UTF-8 bin", b"\xff" * 80),
        ("an integer", 7),
        ("a float", 0.25),
        ("false", False),
        ("an array", [scur]),
        ("a map", {"cursor": scur}),
    ]
    for what, cur in search_bad:
        check_invalid(c, other, "claim.search", sparams, cur, what)
    check_invalid(c, other, "claim.search", {"q": "minister budget", "limit": 2}, scur, "a cursor of another q")
    check_invalid(c, other, "claim.search", dict(sparams, lang="en"), scur, "a cursor used with a lang filter")

    # The biggest cursor the decoder takes: 4,096 well-formed spaces, most of which have no claims.
    # It is not an error (a space may have lost its claims since the first page), but it must not
    # hold the loop: the answer comes within seconds and others are served meanwhile.
    letters = "abcdefghijklmnopqrstuvwxyz"
    tags = sorted({(a + b2 + c2).encode() for a in letters for b2 in letters for c2 in letters[:7]})[:4096]
    big = edited(sc, spaces=[[t, 10, 100, list(sc["spaces"][1][3])] for t in tags])
    t0 = time.monotonic()
    msgid = c.send("claim.search", dict(sparams, cursor=build_search(big)))
    pong = other.call("ping", timeout=30)
    reply = c.recv_reply(timeout=60)
    took = time.monotonic() - t0
    tap.ok(reply.msgid == msgid and (reply.error is None or reply.error.get("code") == "invalid"),
           "a cursor of 4,096 well-formed spaces is answered (%.2f s)" % took, short(reply.error or reply.result))
    tap.diag("4,096 spaces: %s" % short(reply.error or reply.result, 160))
    tap.ok(took < 10 and pong is not None, "within 10 s, another connection answered meanwhile", took)

    # Still serving, and the real cursor still pages on to every hit exactly once.
    tap.ok(other.call("ping") is not None and d.alive(), "the daemon is alive and serving")
    hits, cur, pages = [h["id"] for h in sfirst["items"]], scur, 1
    while cur is not None and pages < 100:
        r = c.call("claim.search", dict(sparams, cursor=cur))
        hits += [h["id"] for h in r["items"]]
        cur = r["cursor"]
        pages += 1
    tap.is_(sorted(hits), list(range(1, 41)), "walking every search page returns all 40 claims")
    tap.is_(len(set(hits)), len(hits), "each once")
    err = None
    try:
        c.call("claim.search", dict(sparams, cursor="zz"))
    except RpcError as e:
        err = e
    tap.ok(err is not None and err.code == "invalid", "the first connection is still usable for errors too")
    d.stop()


run(main)
