#!/usr/bin/python3
"""zrec.t: claim records packed with a trained dictionary (format 8, daemon/zrec.h).

A daemon imports claims past the first CD_ZREC_TRAIN_AT (1000): the import that stores claim
1001 makes the dictionary from claims 1..1000 in its txn, and every claim from 1001 on is packed
(its stored value starts with 0xc1, seen with mdb_dump) while the first 1000 stay plain. Every claim, plain or packed,
reads back as it was put: claim.get, claim.history after an update (the archived body of a
packed claim stays packed), as_of reads, claim.search and claim.query (the index pass reads the
packed records). After a restart the dictionary is loaded from meta and the same reads agree,
`claimd --check` finds nothing wrong, and the packed claims take fewer bytes than the plain
ones of the same shape."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, build_dir, run  # noqa: E402

WORDS = ("minister budget inflation border vaccine election police reform pension tax agency "
         "spokesman ceasefire parliament tariff energy subsidy court verdict referendum").split()
TRAIN_AT = 1000


def claim(i):
    w = [WORDS[(i * 7 + k * 3) % len(WORDS)] for k in range(12)]
    return {"text": "Claim %d: the %s said %s" % (i, w[0], " ".join(w[1:])),
            "speaker": "Speaker %d" % (i % 40), "lang": "en", "said_at": "2024-%02d-%02d" % (1 + i % 12, 1 + i % 28),
            "tags": ["t%d" % (i % 5)],
            "appearances": [{"url": "https://news.example/%d/story-%d.html" % (2020 + i % 5, i), "outlet": "Example News"}]}


def stored_values(data, table="claims"):
    """A table's key hex -> value bytes, read with mdb_dump (the daemon may be running)."""
    out = subprocess.run(["mdb_dump", "-s", table, data], stdout=subprocess.PIPE, check=True, text=True).stdout
    lines = out.split("HEADER=END\n", 1)[1].splitlines()
    vals = {}
    for k, v in zip(lines[0::2], lines[1::2]):
        if k.startswith("DATA=END"):
            break
        vals[k.strip()] = bytes.fromhex(v.strip())
    return vals


def same(got, want):
    return got["text"] == want["text"] and got["said_at"] == want["said_at"] and got["tags"] == want["tags"] \
        and [a["url"] for a in got["appearances"]] == [a["url"] for a in want["appearances"]]


def main():
    d = Daemon()
    try:
        d.start()
        with d.client(timeout=60) as c:
            first = [claim(i) for i in range(TRAIN_AT + 200)]
            ids = [r["id"] for r in c.call("claim.import", {"claims": first})["results"]]
            later = [claim(i) for i in range(TRAIN_AT + 200, TRAIN_AT + 700)]
            ids.append(c.call("claim.put", later[0])["id"])
            ids += [r["id"] for r in c.call("claim.import", {"claims": later[1:]})["results"]]
            inputs = first + later
            tap.is_(len(ids), len(inputs), "%d claims stored" % len(ids))

            vals = stored_values(d.data)
            packed = sorted(int(k, 16) for k, v in vals.items() if v[:1] == b"\xc1")
            plain = sorted(int(k, 16) for k, v in vals.items() if v[:1] != b"\xc1")
            tap.is_(packed, list(range(TRAIN_AT + 1, len(ids) + 1)), "every claim after the first %d is packed" % TRAIN_AT)
            tap.is_(plain, list(range(1, TRAIN_AT + 1)), "the first %d stay plain" % TRAIN_AT)
            psize = sum(len(vals["%016x" % k]) for k in packed) / max(1, len(packed))
            qsize = sum(len(vals["%016x" % k]) for k in plain) / max(1, len(plain))
            tap.ok(psize < 0.7 * qsize, "a packed claim takes %.0f bytes, a plain one %.0f" % (psize, qsize))

            def all_read_back():
                bad = []
                for cid, want in zip(ids, inputs):
                    got = c.call("claim.get", {"id": cid})
                    if not same(got, want):
                        bad.append(cid)
                return bad
            tap.is_(all_read_back(), [], "claim.get returns every claim, plain or packed, as it was put")

            target = ids[-1]                  # a packed claim: its archived body stays packed
            old = c.call("claim.get", {"id": target})
            stamp = c.call("claim.history", {"id": target})["items"][0]["at"]
            c.call("claim.update", {"id": target, "rev": old["rev"], "set": {"text": "Rewritten claim text"}})
            hist = c.call("claim.history", {"id": target})["items"]
            tap.ok(len(hist) == 2 and hist[0]["claim"]["text"] == old["text"] and
                   hist[1]["claim"]["text"] == "Rewritten claim text", "history of a packed claim: both revisions")
            tap.is_(c.call("claim.get", {"id": target, "as_of": stamp})["text"], old["text"],
                    "as_of reads the packed archived revision")
            hits = c.call("claim.search", {"q": "rewritten"})["items"]
            tap.ok([h["id"] for h in hits] == [target], "search finds the packed claim by its new text")
            tap.is_(hits[0]["snippet"] if hits else None, "[Rewritten] claim text",
                    "its snippet marks the word from its packed forward record")
            docs = stored_values(d.data, "search_docs")
            fpacked = sorted(int(k, 16) for k, v in docs.items() if v[:1] == b"\xc1")
            # (the target's new text is too short to pack smaller: stored plain)
            wantf = [i for i in range(TRAIN_AT + 1, len(ids) + 1) if i != target]
            tap.ok(fpacked == wantf, "forward records: those of claims past the first %d are packed" % TRAIN_AT,
                   "packed %d, expected %d; first differences %s" % (len(fpacked), len(wantf),
                                                                   sorted(set(fpacked) ^ set(wantf))[:5]))
            probe = inputs[-5]["text"].split(": ", 1)[1]
            words = probe.split()[:4]
            hits = c.call("claim.search", {"q": '"%s"' % " ".join(words), "limit": 1000})["items"]
            want = sorted(i for i, x in zip(ids, inputs) if " ".join(words) in x["text"] and i != target)
            tap.is_(sorted(h["id"] for h in hits), want,
                    "a phrase search checks positions in packed and plain forward records (%d hits)" % len(want))
            q = c.call("claim.query", {"speaker": inputs[-2]["speaker"], "limit": 1000})["items"]
            want = sorted(i for i, x in zip(ids, inputs) if x["speaker"] == inputs[-2]["speaker"])
            tap.is_(sorted(x["id"] for x in q), want, "claim.query by speaker finds plain and packed claims")

        d.stop()
        p = subprocess.run([os.path.join(build_dir(), "claimd"), "--check", d.data], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=120)
        tap.is_(p.returncode, 0, "claimd --check finds the packed records sound", p.stdout[-2000:])
        d.start()
        with d.client(timeout=60) as c:
            again = [cid for cid, want in zip(ids[:-1], inputs[:-1]) if not same(c.call("claim.get", {"id": cid}), want)]
            tap.is_(again, [], "after a restart the dictionary is loaded and every claim reads back")
            tap.is_(c.call("claim.get", {"id": target, "as_of": stamp})["text"], old["text"],
                    "and the archived revision still reads")
            st = c.call("claim.put", claim(99999))
            tap.ok(stored_values(d.data)["%016x" % st["id"]][:1] == b"\xc1",
                   "a claim stored after the restart is packed with the loaded dictionary")
    finally:
        d.stop()
        d.cleanup()


run(main)
