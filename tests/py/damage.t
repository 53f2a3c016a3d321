#!/usr/bin/python3
"""damage.t: damaged records are reported, never served or crashed on (issue 13 item 4).

A daemon stores five claims (A with medium "speech", B with a verdict so its status is "false",
C left alone, D with a verdict, E plain), and is stopped. Then bytes of its data.mdb are changed
in place, at the exact positions of the stored values, found by searching for known texts and
walking the MessagePack after them:
- claim A's medium becomes 127 (out of range of the medium names; was a read past the table);
- claim B's status becomes 100 (was the string "meta": an out-of-bounds read);
- D's verdict's rating becomes 127;
- a claim index (secondary index) entry of claim C, in an index run, points at claim 200, which
  does not exist;
- one bit of claim E's text flips (the encoding stays valid: only the checksum sees it).
The record values carry a checksum (format 5), so each of these is a checksum mismatch; the
range checks behind it are exercised by tests/fuzz/fuzz_record.c. `claimd --check` on the clean
copy exits 0; on the damaged one it exits 1 and names the tables claims, claim_revs, verdicts and
an index_run. A daemon started on the damaged data answers claim.get of A, B and E, claim.history of A and
verdict.list of D with `internal` (never a value), logs the table and key, serves C untouched,
answers claim.query and claim.search without crashing, and stays up."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, short, run  # noqa: E402
import msgpack  # noqa: E402

TEXT_A = "Damage probe alpha: the medium of this claim will be overwritten"
TEXT_B = "Damage probe bravo: the status of this claim will be overwritten"
TEXT_C = "Damage probe charlie: this claim keeps its record but loses an index entry"
TEXT_D = "Damage probe delta: this claim's verdict will be damaged"
TEXT_E = "Damage probe echo: one letter of this text will be changed by bit rot"
SUMMARY = "Damage probe verdict summary"


def fields_after_text(buf, text_end, n):
    """Offsets of the n MessagePack objects that follow a claim's text in buf."""
    offs = []
    u = msgpack.Unpacker(raw=True, strict_map_key=False)
    u.feed(bytes(buf[text_end:text_end + 4096]))
    for _ in range(n):
        offs.append(text_end + u.tell())
        u.skip()
    return offs


def occurrences(buf, needle):
    out, i = [], buf.find(needle)
    while i >= 0:
        out.append(i)
        i = buf.find(needle, i + 1)
    return out


def check(binary, data):
    p = subprocess.run([binary, "--check", data], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=120)
    return p.returncode, p.stdout


def main():
    d = Daemon()
    d.start()
    with d.client() as c:
        a = c.call("claim.put", {"text": TEXT_A, "speaker": "Probe Speaker", "medium": "speech"})["id"]
        # A second revision: the first one's record then lives in claim_revs (format 4 keeps the
        # current revision's record in claims only).
        c.call("claim.update", {"id": a, "rev": 1, "set": {"speaker_role": "probe minister"}})
        b = c.call("claim.put", {"text": TEXT_B, "speaker": "Probe Speaker"})["id"]
        cc = c.call("claim.put", {"text": TEXT_C, "speaker": "Other Probe Speaker", "tags": ["probe"],
                                  "said_at": "2017-03-04"})["id"]
        c.call("verdict.add", {"claim": b, "rating": "false", "by": "damage.t"})
        dd = c.call("claim.put", {"text": TEXT_D, "speaker": "Probe Speaker"})["id"]
        ee = c.call("claim.put", {"text": TEXT_E, "speaker": "Probe Speaker"})["id"]
        v = c.call("verdict.add", {"claim": dd, "rating": "false", "summary": SUMMARY, "by": "damage.t"})["id"]
        tap.is_(c.call("claim.get", {"id": b}).get("status"), "false", "claim B's status is false")
        # An indexed read waits for the index pass: the idx entries exist before the stop.
        tap.is_([i["id"] for i in c.call("claim.query", {"tag": "probe"}).get("items", [])], [cc],
                "claim C is in the tag index")
    tap.is_(d.stop(), 0, "the daemon stops cleanly")
    data_file = os.path.join(d.data, "data.mdb")

    rc, out = check(d.binary, d.data)
    tap.is_(rc, 0, "claimd --check on the clean data exits 0", out[-1500:])

    buf = bytearray(open(data_file, "rb").read())
    changed = {"medium": 0, "status": 0, "rating": 0, "idx": 0}
    # Claim record after its text: quote lang speaker role attribution said_at medium via apps
    # about tags external_id recorded_at recorded_by status.
    for i in occurrences(buf, TEXT_A.encode()):
        offs = fields_after_text(buf, i + len(TEXT_A), 7)
        if buf[offs[6]] == 3:                           # "speech" is medium 3
            buf[offs[6]] = 0x7f
            changed["medium"] += 1
    for i in occurrences(buf, TEXT_B.encode()):
        offs = fields_after_text(buf, i + len(TEXT_B), 15)
        if buf[offs[14]] == 4:                          # "false" is rating 4
            buf[offs[14]] = 100
            changed["status"] += 1
    # One bit of claim E's text, where it is stored as a string (str8 header, its length): the
    # encoding stays valid, only the checksum can tell.
    changed["text"] = 0
    for i in occurrences(buf, TEXT_E.encode()):
        if buf[i - 2] == 0xd9 and buf[i - 1] == len(TEXT_E):
            buf[i + 20] ^= 0x01
            changed["text"] += 1
    # The verdict record: [2, claim, rating, label, score, by, at, at_us, summary, ...], 16
    # fields (an array16 header); version 1 had 12 (a fixarray).
    for head in (bytes([0xdc, 0x00, 0x10, 0x02, dd, 0x04]), bytes([0x9c, 0x01, dd, 0x04])):
        for i in occurrences(buf, head):
            if SUMMARY.encode() in buf[i:i + 300]:
                buf[i + len(head) - 1] = 0x7f
                changed["rating"] += 1
    # A claim index entry of claim C, its id changed to 200. The index is kept in runs of
    # chunks (index_runs.h), each keyed by its first 25-byte entry kind|value|said|id; C's
    # tag "probe" is its own, so its said-ordered tag entry is a chunk key, found nowhere else.
    mine = []
    for slot in range(40):
        dump = subprocess.run(["mdb_dump", "-s", "index_run%02d" % slot, d.data], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True).stdout
        body = dump.split("HEADER=END\n", 1)[-1].splitlines()
        keys = [bytes.fromhex(body[j].strip()) for j in range(0, len(body) - 1, 2) if body[j].startswith(" ")]
        mine += [x for x in keys if len(x) == 25 and int.from_bytes(x[17:], "big") == cc and not x[0] & 0x80
                 and x[0] == 5]                          # CD_IDX_TAG
    if mine:
        for i in occurrences(buf, mine[0]):
            buf[i + 24] = 200
            changed["idx"] += 1
    tap.ok(changed["medium"] >= 1 and changed["status"] >= 1 and changed["rating"] >= 1 and changed["idx"] >= 1 and changed["text"] >= 1,
           "the stored bytes were found and changed", "changed: %s" % changed)
    open(data_file, "r+b").write(buf)

    rc, out = check(d.binary, d.data)
    tap.is_(rc, 1, "claimd --check on the damaged data exits 1", out[-2000:])
    for table in ("claims", "claim_revs", "verdicts", "index_run"):
        tap.ok(("damage: table %s" % table) in out, "--check reports damage in %s" % table, out[-2000:])
    tap.ok("checksum mismatch" in out and "points at a claim that does not exist" in out,
           "--check says what is wrong (checksum mismatch; an index entry without its claim)", out[-2000:])
    tap.ok(("damage: table claims, key id %d:" % ee) in out, "--check finds the one flipped bit in claim E's text",
           out[-2000:])

    d.start()
    with d.client() as c:
        ra = c.request("claim.get", {"id": a})
        rb = c.request("claim.get", {"id": b})
        rh = c.request("claim.history", {"id": a})
        rv = c.request("verdict.list", {"claim": dd})
        rc_ = c.request("claim.get", {"id": cc})
        re_ = c.request("claim.get", {"id": ee})
        rq = c.request("claim.query", {"limit": 10})
        rs = c.request("claim.search", {"q": "damage probe"})
        rt = c.request("claim.query", {"tag": "probe"})
    tap.ok(ra.error is not None and ra.error.get("code") == "internal" and ra.result is None,
           "claim.get of the claim with a damaged medium: internal", short(ra))
    tap.ok(rb.error is not None and rb.error.get("code") == "internal" and rb.result is None,
           "claim.get of the claim with a damaged status: internal (not \"meta\")", short(rb))
    tap.ok(rh.error is not None and rh.error.get("code") == "internal",
           "claim.history of the damaged claim: internal", short(rh))
    tap.ok(rv.error is not None and rv.error.get("code") == "internal",
           "verdict.list with a damaged rating: internal", short(rv))
    tap.ok(rc_.error is None and rc_.result.get("text") == TEXT_C, "the undamaged claim is served", short(rc_))
    tap.ok(re_.error is not None and re_.error.get("code") == "internal" and re_.result is None,
           "claim.get of the claim with one flipped bit in its text: internal, not the rotten text", short(re_))
    for name, r in (("claim.query", rq), ("claim.search", rs), ("claim.query by tag", rt)):
        tap.ok(r.error is None or r.error.get("code") == "internal",
               "%s answers (a result, or internal) over damaged records" % name, short(r))
    tap.ok(d.alive(), "the daemon is still running")
    with d.client() as c:
        tap.ok(c.request("ping").error is None, "and answers ping")
    log = open(d.log, "rb").read().decode("utf-8", "replace")
    tap.ok("damaged record in table claims, key id %d" % a in log, "the log names the table and key of claim A",
           d.log_tail())
    tap.ok("damaged record in table verdicts, key id %d" % v in log, "and of the verdict", d.log_tail())
    tap.is_(d.stop(), 0, "the daemon stops cleanly")


run(main)
