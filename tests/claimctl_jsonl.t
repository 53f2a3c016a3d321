#!/usr/bin/python3
"""claimctl_jsonl.t: JSONL import and export. The round trip (export, import into an empty
daemon, export again: the same bytes, verdicts and retractions included through --verdicts);
--dry-run checks everything it can and writes nothing, even without a daemon; the rejects file
and the exit status; an import killed with SIGKILL midway and run again ends with exactly the
expected claims (and verdicts)."""
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, EXAMPLES, run  # noqa: E402
from ctl import Ctl, jsonl, write  # noqa: E402

SAMPLE = os.path.join(EXAMPLES, "rferl-paul-letter.jsonl")
ENTITIES = os.path.join(EXAMPLES, "rferl-paul-letter-entities.jsonl")


def counts(ctl):
    s = ctl.one("stats")
    return s["claims"], s["entities"], s["verdicts"], s["seq"]


def round_trip(tmp):
    a, b = Daemon(), Daemon()
    a.start()
    b.start()
    ca, cb = Ctl(a), Ctl(b)
    for line in open(ENTITIES):
        ca.one("entity", "put", "-", stdin=line)
    ca.run("import", SAMPLE, "--rejects", os.path.join(tmp, "s.rejects"))
    ca.one("verdict", "3", "false", "--label", "Pants on Fire", "--score", "1", "--by", "desk",
           "--at", "2018-08-09", "--url", "https://factcheck.example.org/1", "--evidence", "https://e.example/1")
    ca.one("verdict", "3", "mixed", "--at", "2018-08-10T10:00+02:00", "--summary", "Partly confirmed")
    ca.one("verdict", "4", "unproven")
    ca.one("retract", "7", "--reason", "wrong office")
    ca.one("update", "2", "--rev", "1", "--said-at", "2018-08-08T14:05Z")
    ca.one("add", "--text", "Anonymous, with nothing else")
    ca.one("add", "--text", "Ünïcödé claim «quoted» 中文", "--lang", "zh", "--paraphrase")

    e1, v1 = os.path.join(tmp, "e1.jsonl"), os.path.join(tmp, "v1.jsonl")
    r = ca.run("export", "--include-retracted", "--output", e1, "--verdicts", v1)
    tap.ok(r.rc == 0 and r.out == "", "export --output --verdicts", r)
    claims = [json.loads(l) for l in open(e1)]
    tap.is_(len(claims), 13, "every claim exported, the retracted one too")
    tap.ok(all(not ({"id", "rev", "status", "recorded_at", "retracted"} & set(c)) for c in claims),
           "no output-only fields")
    first = next(c for c in claims if c.get("external_id") == "rferl-29421535-3")
    tap.ok(isinstance(first["speaker"], dict) and first["speaker"]["kind"] == "person"
           and first["speaker"]["aliases"] == ["Dmitri Peskov"], "an entity in full where first met",
           first["speaker"])
    later = next(c for c in claims if c.get("external_id") == "rferl-29421535-4")
    tap.is_(later["speaker"], "Dmitry Peskov", "by name afterwards")
    tap.is_(later["via"][0], {"name": "TASS", "how": "with-reporting-by", "kind": "outlet"},
            "a via hop keeps its entity's kind")
    side = [json.loads(l) for l in open(v1)]
    tap.is_(sorted(k for s in side for k in s if k != "line"), ["retract", "verdict", "verdict", "verdict"],
            "the sidecar: three verdicts and a retraction")

    r = cb.run("import", "--verdicts", v1, e1)
    tap.ok(r.rc == 0 and "created 13," in r.err and "verdicts: added 3, already there 0, rejected 0; retracted 1"
           in r.err, "import into an empty daemon", r)
    e2, v2 = os.path.join(tmp, "e2.jsonl"), os.path.join(tmp, "v2.jsonl")
    cb.run("export", "--include-retracted", "--output", e2, "--verdicts", v2)
    tap.ok(open(e1, "rb").read() == open(e2, "rb").read(), "the second export is byte for byte the first")
    tap.ok(open(v1, "rb").read() == open(v2, "rb").read(), "and so are the verdicts")
    tap.is_([c["status"] for c in cb.lines("query", "--speaker", "Dmitry Peskov")],
            [c["status"] for c in ca.lines("query", "--speaker", "Dmitry Peskov")], "statuses follow")
    r = cb.run("import", "--verdicts", v1, e1)
    tap.ok(r.rc == 0 and "created 0," in r.err and "added 0, already there 3" in r.err,
           "importing again adds nothing", r)
    tap.is_((counts(cb)[0], counts(cb)[2]), (13, 3), "13 claims, 3 verdicts")
    cb.run("export", "--include-retracted", "--output", e2, "--verdicts", v2)
    tap.ok(open(e1, "rb").read() == open(e2, "rb").read(), "still the same export")

    default = ca.lines("export")
    tap.is_(len(default), 12, "export leaves retracted claims out by default")
    sample = [json.loads(l) for l in open(SAMPLE)]
    tap.is_([c["text"] for c in ca.lines("export", "--speaker", "Rand Paul", "--said-from", "2018-08-08")],
            [sample[0]["text"], sample[1]["text"]], "export with filters, said_asc")
    r = ca.run("export", "--format", "claimreview", "--verdicts", v2)
    tap.is_(r.rc, 2, "--verdicts with claimreview: exit 2")
    a.stop()
    b.stop()


def dry_run(tmp):
    d = Daemon()
    d.start()
    ctl = Ctl(d)
    before = counts(ctl)
    r = ctl.run("import", "--dry-run", SAMPLE, "--rejects", os.path.join(tmp, "dry.rejects"))
    tap.ok(r.rc == 0 and r.err.startswith("dry run: checked 11, valid 11, rejected 0 (nothing was written)"),
           "--dry-run of the sample", r)
    tap.is_(counts(ctl), before, "--dry-run wrote nothing (claims, entities, verdicts, seq)")
    bad = write(os.path.join(tmp, "bad.jsonl"), "\n".join([
        '{"text": "fine", "said_at": "2018-08", "medium": "post"}',
        '{"text": "x", "said_at": "last week"}',
        '{"text": "x", "medium": "tweet"}',
        '{"text": "x", "via": [{"name": "TASS", "how": "leaked"}]}',
        '{"text": "x", "colour": "red"}',
        '{"text": "   "}',
        '{"text": "x", "appearances": [{"title": "no url"}]}',
        '{"text": "x", "speaker": {"name": "P", "kind": "alien"}}',
        '{"text": "x", "tags": ["' + "t" * 201 + '"]}',
        '{"text": "x", "quote": "yes"}',
        '{"text": "' + "w" * 70000 + '"}',
        'not json',
        '{"text": "fine too", "speaker": {"id": 3}, "about": ["A", {"name": "B", "aliases": ["b"]}]}',
    ]) + "\n")
    rej = os.path.join(tmp, "bad.rejects")
    r = ctl.run("import", "--dry-run", bad, "--rejects", rej)
    tap.ok(r.rc == 1 and "checked 13, valid 2, rejected 11" in r.err, "--dry-run finds the bad records: exit 1", r)
    got = [(j["line"], j["error"]["code"], j["error"].get("field")) for j in map(json.loads, open(rej))]
    tap.is_(got, [(2, "invalid", "said_at"), (3, "invalid", "medium"), (4, "invalid", "via[0].how"),
                  (5, "invalid", "colour"), (6, "invalid", "text"), (7, "invalid", "appearances[0].url"),
                  (8, "invalid", "speaker.kind"), (9, "too_large", "tags[0]"), (10, "invalid", "quote"),
                  (11, "too_large", "text"), (12, "invalid", None)],
            "each bad record with its line, code and field")
    tap.is_(counts(ctl), before, "still nothing written")
    real = ctl.run("import", bad, "--rejects", os.path.join(tmp, "real.rejects"))
    real_rejects = [json.loads(l) for l in open(os.path.join(tmp, "real.rejects"))]
    tap.is_([j["line"] for j in real_rejects], [g[0] for g in got] + [13],
            "the daemon rejects the same lines, and one --dry-run cannot know", real)
    tap.is_(real_rejects[-1]["error"]["code"], "not_found", "(the speaker id 3 does not exist)")
    r = Ctl(socket=os.path.join(tmp, "no-such.sock")).run("import", "--dry-run", SAMPLE, "--rejects", rej)
    tap.is_(r.rc, 0, "--dry-run needs no daemon")
    d.stop()


def rejects_file(tmp):
    d = Daemon()
    d.start()
    ctl = Ctl(d)
    src = write(os.path.join(tmp, "mixed.jsonl"), "\n".join([
        '{"text": "good one", "external_id": "m-1"}',
        '{"text": "bad time", "said_at": "Aug 8"}',
        '',
        '[1, 2]',
        '{"text": "good two", "external_id": "m-2"}',
        '{"text": "truncated',
    ]) + "\n")
    r = ctl.run("import", src)
    tap.ok(r.rc == 1 and r.err.startswith("imported 2, created 2, rejected 3 "), "exit 1 with rejects", r)
    lines = [json.loads(l) for l in open(src + ".rejects")]
    tap.is_([(l["line"], l["error"]["code"], l["error"].get("field"), l["input"]) for l in lines],
            [(2, "invalid", "said_at", '{"text": "bad time", "said_at": "Aug 8"}'),
             (4, "invalid", None, "[1, 2]"),
             (6, "invalid", None, '{"text": "truncated')],
            "the rejects file: line, error (field relative to the record), original input")
    tap.ok(lines[1]["error"]["message"].startswith("not a JSON object") and
           lines[2]["error"]["message"].startswith("invalid JSON"), "with clear messages", lines)
    fixed = write(os.path.join(tmp, "fixed.jsonl"),
                  lines[0]["input"].replace("Aug 8", "2018-08-08") + "\n")
    tap.is_(ctl.run("import", fixed).rc, 0, "a fixed reject imports")
    d.stop()


def settled(ctl, key):
    """stats[key] once the daemon has finished what a killed client had sent (unchanged for
    0.3 s with no write in flight)."""
    last, same = None, 0
    while same < 3:
        time.sleep(0.1)
        s = ctl.one("stats")
        same = same + 1 if (s[key], s["writes_in_flight"]) == (last, 0) else 0
        last = s[key]
    return last


def killed_midway(tmp):
    """SIGKILL claimctl while it imports, then run it again: exactly the claims of the file."""
    d = Daemon()
    d.start()
    ctl = Ctl(d)
    n = 6000
    src = jsonl(os.path.join(tmp, "kill.jsonl"),
                [{"text": "Claim number %d of the interrupted import about the letter" % i,
                  "speaker": "Speaker %d" % (i % 40), "external_id": "kill-%d" % i} for i in range(n)])
    p = ctl.popen("import", "--batch", "50", "--in-flight", "2", "--rejects", os.path.join(tmp, "k.rejects"), src)
    deadline = time.monotonic() + 60
    seen = 0
    while time.monotonic() < deadline and seen < n // 4:
        time.sleep(0.02)
        seen = ctl.one("stats")["claims"]
    p.send_signal(signal.SIGKILL)
    p.wait()
    mid = settled(ctl, "claims")
    tap.ok(0 < mid < n, "killed midway (%d of %d claims in)" % (mid, n))
    r = ctl.run("import", "--rejects", os.path.join(tmp, "k.rejects"), src)
    tap.ok(r.rc == 0 and ("imported %d, created %d," % (n, n - mid)) in r.err,
           "the re-run creates exactly the missing claims", r, mid)
    tap.is_(ctl.one("stats")["claims"], n, "exactly %d claims" % n)
    ext = [c["external_id"] for c in ctl.lines("query")]
    tap.ok(len(ext) == n and len(set(ext)) == n, "each external id once", len(ext))

    # The same with verdicts (ClaimReview): none lost, none twice.
    feed = {"@context": "https://schema.org", "@graph": [
        {"@type": "ClaimReview", "url": "https://factcheck.example.org/k/%d" % i, "datePublished": "2018-08-09",
         "claimReviewed": "Reviewed claim %d about the letter" % i,
         "author": {"@type": "Organization", "name": "Desk"},
         "reviewRating": {"@type": "Rating", "ratingValue": 1 + i % 5, "bestRating": 5, "worstRating": 1},
         "itemReviewed": {"@type": "Claim", "author": {"@type": "Person", "name": "Reviewed %d" % (i % 30)}}}
        for i in range(2000)]}
    cr = write(os.path.join(tmp, "kill.json"), json.dumps(feed))
    v0 = ctl.one("stats")["verdicts"]
    p = ctl.popen("import", "--batch", "20", "--in-flight", "1", "--rejects", os.path.join(tmp, "kc.rejects"), cr)
    while time.monotonic() < deadline + 60 and ctl.one("stats")["verdicts"] - v0 < 400:
        time.sleep(0.02)
    p.send_signal(signal.SIGKILL)
    p.wait()
    mid = settled(ctl, "verdicts") - v0
    tap.ok(0 < mid < 2000, "ClaimReview import killed midway (%d verdicts in)" % mid)
    r = ctl.run("import", "--rejects", os.path.join(tmp, "kc.rejects"), cr)
    tap.ok(r.rc == 0 and "imported 2000," in r.err, "re-run", r)
    st = ctl.one("stats")
    tap.is_((st["claims"], st["verdicts"] - v0), (n + 2000, 2000), "exactly 2000 more claims and 2000 verdicts")
    d.stop()


def main():
    tmp = os.path.join(Daemon().tmp, "files")
    os.makedirs(tmp)
    round_trip(tmp)
    dry_run(tmp)
    rejects_file(tmp)
    killed_midway(tmp)


run(main)
