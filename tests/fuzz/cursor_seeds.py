#!/usr/bin/python3
"""cursor_seeds.py: writes the seed corpora of the cursor fuzzers, tests/fuzz/corpus/query_cursor
and tests/fuzz/corpus/search_cursor, from cursors a real daemon returns (CLAIMD_BUILD/claimd).

Run again when a cursor format changes: `make -j2 && tests/fuzz/cursor_seeds.py`
(`--regressions` rewrites only the regress-* seeds, from the corpus, without a daemon). The claims are
made up; every order and index kind of claim.query is paged, in hex and in the raw 26-byte form,
and claim.search over one, two and five language spaces, with prefixes and phrases."""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from claimd_harness import Daemon  # noqa: E402

LANGS = ["en", "ru", "de", "uk", "", "fr", "cnr"]
WORDS = {
    "en": "the minister said pensions will rise by five percent next year",
    "ru": "министр сказал что пенсии вырастут на пять процентов в следующем году",
    "de": "der Minister sagte die Renten steigen im nächsten Jahr um fünf Prozent",
    "uk": "міністр сказав що пенсії зростуть на п'ять відсотків наступного року",
    "": "minister pensions 5 percent 2027",
    "fr": "le ministre a dit que les retraites augmenteront de cinq pour cent",
    "cnr": "ministar je rekao da će penzije porasti pet odsto",
}


def write(kind, name, data):
    d = os.path.join(HERE, "corpus", kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def varint(v):
    out = b""
    while v >= 0x80:
        out += bytes([v & 0x7f | 0x80])
        v >>= 7
    return out + bytes([v])


def search_cursor(qhash=b"\x11" * 8, score=b"\x40\x10" + b"\0" * 6, cid=5, max_id=9, spaces=((b"en\0", 8, 64, [3]),),
                  nspaces=None, tail=b""):
    """A claim.search cursor from its fields (search_cursor.c); each space (tag, ndocs, ntokens, dfs)
    or (tag, raw bytes after the tag)."""
    raw = b"\x01" + qhash + score + cid.to_bytes(8, "big") + max_id.to_bytes(8, "big")
    raw += varint(len(spaces) if nspaces is None else nspaces)
    for sp in spaces:
        if len(sp) == 2:
            raw += sp[0] + sp[1]
        else:
            raw += sp[0] + varint(sp[1]) + varint(sp[2]) + varint(len(sp[3])) + b"".join(varint(d) for d in sp[3])
    return raw + tail


def query_cursor(order=0, kind=0, value=0, said=5, cid=7):
    """A claim.query cursor's raw 26 bytes (query_cursor.h)."""
    return (bytes([order, kind]) + value.to_bytes(8, "big") + ((said + (1 << 63)) % (1 << 64)).to_bytes(8, "big")
            + cid.to_bytes(8, "big"))


# Out-of-range cursors the decoders always refused: seeds named range-*, the rest regress-*.
ALWAYS_REFUSED = {("query_cursor", "upper-hex"), ("search_cursor", "score-nan"),
                  ("search_cursor", "clauses-33"), ("search_cursor", "trailing-byte")}


def seed_name(kind, name):
    return ("range-" if (kind, name) in ALWAYS_REFUSED else "regress-") + name


def write_regressions(query_hex, search_hex):
    """Cursors no daemon makes. The regress-* ones the decoders took before the fuzzers' round-trip
    and range checks found them; the fuzzers fail at once on a decoder that takes one again."""
    q = {
        "upper-hex": query_hex.upper().encode(),
        "order-unknown": query_cursor(order=3).hex().encode(),
        "kind-unknown": query_cursor(kind=9).hex().encode(),
        "recorded-kind-said-order": query_cursor(kind=0x81).hex().encode(),
        "said-kind-recorded-order": query_cursor(order=2, said=7).hex().encode(),
        "recorded-said-not-id": query_cursor(order=2, kind=0x80, said=6, cid=7).hex().encode(),
        "id-zero": query_cursor(cid=0).hex().encode(),
        "id-zero-raw": query_cursor(cid=0),
        "id-above-int64": query_cursor(cid=1 << 63).hex().encode(),
    }
    for name, data in q.items():
        write("query_cursor", seed_name("query_cursor", name), data)
    en = (b"en\0", 8, 64, [3])
    s = {
        "upper-hex": bytes.fromhex(search_hex),
        "varint-overlong": search_cursor(spaces=((b"en\0", b"\x88\x00" + varint(64) + b"\x01\x03"),)),
        "varint-bit64": search_cursor(spaces=((b"en\0", b"\xff" * 9 + b"\x7f" + varint(64) + b"\x01\x03"),)),
        "score-nan": search_cursor(score=b"\x7f\xf8" + b"\0" * 6),
        "score-inf": search_cursor(score=b"\x7f\xf0" + b"\0" * 6),
        "score-negative": search_cursor(score=b"\xc0\x10" + b"\0" * 6),
        "id-zero": search_cursor(cid=0),
        "id-above-max": search_cursor(cid=10, max_id=9),
        "no-spaces": search_cursor(spaces=()),
        "space-twice": search_cursor(spaces=(en, en)),
        "spaces-unsorted": search_cursor(spaces=(en, (b"\0\0\0", 4, 9, [1]))),
        "space-upper": search_cursor(spaces=((b"EN\0", 8, 64, [3]),)),
        "space-one-letter": search_cursor(spaces=((b"e\0\0", 8, 64, [3]),)),
        "space-gap": search_cursor(spaces=((b"e\0n", 8, 64, [3]),)),
        "clauses-none": search_cursor(spaces=((b"en\0", 8, 64, []),)),
        "clauses-33": search_cursor(spaces=((b"en\0", 8, 64, [1] * 33),)),
        "df-zero": search_cursor(spaces=((b"en\0", 8, 64, [3, 0]),)),
        "trailing-byte": search_cursor(tail=b"\0"),
    }
    for name, raw in s.items():
        data = raw.hex().upper() if name == "upper-hex" else raw.hex()
        write("search_cursor", seed_name("search_cursor", name), data.encode())


def main():
    if sys.argv[1:] == ["--regressions"]:
        d = os.path.join(HERE, "corpus")
        write_regressions(open(os.path.join(d, "query_cursor", "said_desc-all")).read(),
                          open(os.path.join(d, "search_cursor", "one-space")).read())
        return
    d = Daemon()
    d.start()
    c = d.client()
    for i in range(60):
        lang = LANGS[i % len(LANGS)]
        claim = {"text": "%s %d minister pensions" % (WORDS[lang], i), "speaker": "Speaker %d" % (i % 3),
                 "tags": ["economy", "tag%d" % (i % 4)], "said_at": "2026-%02d-%02dT10:00:00Z" % (1 + i % 12, 1 + i % 28),
                 "medium": "interview" if i % 2 else "speech"}
        if lang:
            claim["lang"] = lang
        c.call("claim.put", claim)

    queries = [
        ("all", {}),
        ("speaker", {"speaker": "Speaker 1"}),
        ("tag", {"tag": "tag2"}),
        ("lang", {"lang": "ru"}),
        ("medium", {"medium": "interview"}),
        ("status", {"status": "unverified"}),
        ("range", {"said_from": "2026-03-01T00:00:00Z", "said_to": "2026-09-01T00:00:00Z"}),
    ]
    n = 0
    for order in ("said_desc", "said_asc", "recorded_desc"):
        for name, f in queries:
            r = c.call("claim.query", dict(f, order=order, limit=3))
            cur = r["cursor"]
            if cur is None:
                continue
            write("query_cursor", "%s-%s" % (order, name), cur.encode())
            n += 1
            if name in ("all", "speaker"):
                write("query_cursor", "%s-%s-raw" % (order, name), bytes.fromhex(cur))
                n += 1
    print("query cursors: %d" % n)

    searches = [
        ("one-space", {"q": "minister", "lang": "en"}),
        ("all-spaces", {"q": "minister"}),
        ("two-words", {"q": "minister pensions"}),
        ("prefix", {"q": "pens*"}),
        ("phrase", {"q": "\"minister pensions\" 1"}),
        ("speaker-filter", {"q": "minister", "speaker": "Speaker 2"}),
    ]
    n = 0
    for name, p in searches:
        r = c.call("claim.search", dict(p, limit=2))
        if r["cursor"] is None:
            continue
        write("search_cursor", name, r["cursor"].encode())
        n += 1
        r2 = c.call("claim.search", dict(p, limit=2, cursor=r["cursor"]))
        if r2["cursor"] is not None:
            write("search_cursor", name + "-page2", r2["cursor"].encode())
            n += 1
    print("search cursors: %d" % n)
    write_regressions(c.call("claim.query", {"limit": 1})["cursor"],
                      c.call("claim.search", {"q": "minister", "lang": "en", "limit": 1})["cursor"])
    d.stop()
    d.cleanup()


if __name__ == "__main__":
    main()
