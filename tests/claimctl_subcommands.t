#!/usr/bin/python3
"""claimctl_subcommands.t: every claimctl subcommand against a real daemon loaded with the sample
article: --help everywhere (and a man page section for each), query with filters following
cursors, search, match, update with optimistic concurrency, retract, history, relate/relations,
merge, changes, watch (live, and the gap-free catch-up with --since), backup."""
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, EXAMPLES, REPO, run  # noqa: E402
from ctl import Ctl, jsonl  # noqa: E402


def subcommands(ctl):
    out = ctl.run("--help").out
    return re.findall(r"^  ([a-z]+) ", out.split("Subcommands:")[1], re.M)


def check_help(ctl):
    subs = subcommands(ctl)
    tap.ok(len(subs) >= 23, "claimctl --help lists the subcommands", subs)
    man = open(os.path.join(REPO, "docs", "claimctl.1")).read()
    for s in subs:
        r = ctl.run(s, "--help")
        tap.ok(r.rc == 0 and r.out.startswith("Usage: claimctl %s" % s) and not r.err,
               "%s --help" % s, r)
        tap.ok(re.search(r'^\.SS "?%s\b' % s, man, re.M), "claimctl(1) has a section for %s" % s)


def load_sample(ctl, tmp):
    for line in open(os.path.join(EXAMPLES, "rferl-paul-letter-entities.jsonl")):
        ctl.one("entity", "put", "-", stdin=line)
    r = ctl.run("import", "--rejects", os.path.join(tmp, "sample.rejects"),
                os.path.join(EXAMPLES, "rferl-paul-letter.jsonl"))
    tap.ok(r.rc == 0 and "created 11," in r.err, "sample imported", r)


def ids(lines, key=None):
    return [(l[key] if key else l)["id"] for l in lines]


def check_query(ctl, tmp):
    peskov = ctl.lines("query", "--speaker", "Dmitry Peskov")
    tap.is_(sorted(ids(peskov)), [3, 4], "query --speaker: one claim per line")
    ctl.one("verdict", "3", "false", "--by", "desk", "--at", "2018-08-09")
    got = ctl.lines("query", "--speaker", "Dmitry Peskov", "--status", "false")
    tap.is_(ids(got), [3], "query --speaker \"Dmitry Peskov\" --status false")
    tap.is_(ids(ctl.lines("query", "--speaker", "dmitri peskov", "--status", "unverified")), [4],
            "speaker by alias, any case")
    tap.is_(len(ctl.lines("query")), 11, "query without filters: every claim")
    tap.is_(len(ctl.lines("query", "--limit", "3")), 3, "--limit 3")
    tap.is_(ids(ctl.lines("query", "--order", "recorded_desc", "--limit", "1")), [11], "--order recorded_desc")
    tap.is_(sorted(ids(ctl.lines("query", "--via", "TASS"))), [3, 4], "--via")
    tap.is_(len(ctl.lines("query", "--tag", "paul-moscow-trip", "--said-from", "2018-08-06",
                          "--said-to", "2018-08-06")), 1, "--tag with a said range")
    tap.is_(ctl.run("query", "--status", "bogus").rc, 2, "bad --status: exit 2")
    r = ctl.run("query", "--tag", "a", "--tag", "b")
    tap.ok(r.rc == 2 and "twice" in r.err, "a filter given twice: exit 2", r)
    tap.is_(ctl.run("query", "--speaker", "Nobody Known").out, "", "unknown speaker: no claims, no error")

    bulk = [{"text": "Bulk claim %d about the letter" % i, "speaker": "Bulk Speaker",
             "external_id": "bulk-%d" % i} for i in range(2500)]
    r = ctl.run("import", "--rejects", os.path.join(tmp, "bulk.rejects"), jsonl(os.path.join(tmp, "bulk.jsonl"), bulk))
    tap.ok(r.rc == 0, "2,500 claims imported", r)
    got = ids(ctl.lines("query", "--speaker", "Bulk Speaker"))
    tap.ok(len(got) == 2500 and len(set(got)) == 2500, "query follows cursors: 2,500 claims, each once", len(got))
    tap.is_(len(ctl.lines("query", "--speaker", "Bulk Speaker", "--limit", "1500")), 1500,
            "--limit 1500 stops across pages")


def check_search_match(ctl):
    hits = ctl.lines("search", "diplomatic channels")
    tap.ok(hits and hits[0]["id"] == 3 and "[diplomatic]" in hits[0]["snippet"]
           and hits[0]["claim"]["id"] == 3, "search: best hit first, with snippet and claim", hits[:1])
    tap.is_(len(ctl.lines("search", "bulk", "--limit", "5")), 5, "search --limit")
    tap.is_(len(ctl.lines("search", "bulk", "--limit", "1200")), 1200, "search --limit follows cursors")
    tap.is_(len(ctl.lines("search", "letter", "--speaker", "Rand Paul", "--all")), 2,
            "search with a filter, --all")
    tap.is_(ctl.run("search", "letter", "--order", "said_asc").rc, 2, "search refuses --order")
    m = ctl.lines("match", "We expect that the president's administration will receive it soon")
    tap.ok(m and m[0]["id"] == 4 and 0 < m[0]["similarity"] <= 1, "match finds the re-worded claim", m)
    m = ctl.lines("match", "We expect that the president's administration will receive it soon", "--claims")
    tap.ok(m and m[0]["claim"]["text"].startswith("We expect"), "match --claims adds the claim", m)
    tap.is_(ctl.lines("match", "resuming cultural exchanges in spring", "--speaker", "Dmitry Peskov"), [],
            "match --speaker: nothing from another speaker")
    tap.is_(ctl.run("match", "x", "--min-similarity", "2").rc, 2, "bad --min-similarity: exit 2")


def check_update(ctl):
    c = ctl.one("get", "4")
    r = ctl.run("update", "4", "--rev", c["rev"], "--role", "Kremlin spokesman", "--medium",
                "press-conference", "--tag", "a", "--tag", "b", "--by", "editor")
    tap.ok(r.rc == 0 and r.json == {"id": 4, "rev": c["rev"] + 1}, "update prints the new rev", r)
    r = ctl.run("update", "4", "--rev", c["rev"], "--medium", "post")
    tap.ok(r.rc == 1 and re.match(r"claimctl: conflict: .*\(field rev\) \(id 4\)", r.err),
           "update with a stale rev: conflict, exit 1", r)
    g = ctl.one("get", "4")
    tap.ok(g["speaker_role"] == "Kremlin spokesman" and g["medium"] == "press-conference"
           and g["tags"] == ["a", "b"], "fields set, the tag list replaced", g)
    r = ctl.run("update", "4", "--rev", g["rev"], "--set-json", '{"medium": null, "lang": "ru"}')
    g = ctl.one("get", "4")
    tap.ok(r.rc == 0 and "medium" not in g and g["lang"] == "ru", "--set-json sets, null clears", r)
    r = ctl.run("update", "4", "--rev", g["rev"], "--clear", "tags")
    tap.is_(ctl.one("get", "4")["tags"], [], "--clear tags")
    tap.is_(ctl.run("update", "4", "--medium", "post").rc, 2, "update without --rev: exit 2")
    tap.is_(ctl.run("update", "4", "--rev", "1", "--set-json", "{}", "--medium", "post").rc, 2,
            "--set-json with field flags: exit 2")
    tap.is_(ctl.run("update", "4", "--rev", "1").rc, 2, "nothing to change: exit 2")
    r = ctl.run("update", "4", "--rev", "1", "--medium", "post", "--clear", "medium")
    tap.ok(r.rc == 2 and "medium is both set and cleared" in r.err, "a field set and cleared: exit 2", r)
    hist = ctl.lines("history", "4")
    tap.ok([h["rev"] for h in hist] == list(range(1, len(hist) + 1)) and hist[0]["op"] == "claim.create"
           and hist[1]["op"] == "claim.update" and hist[1]["by"] == "editor"
           and hist[-1]["claim"] == ctl.one("get", "4"),
           "history: one revision per line, oldest first, the last equals get", [h["op"] for h in hist])


def check_retract_relate_merge(ctl):
    r = ctl.run("retract", "7", "--reason", "wrong office", "--by", "editor")
    tap.ok(r.rc == 0 and r.json["id"] == 7, "retract", r)
    g = ctl.one("get", "7")
    tap.ok(g["retracted"] and g["retract_reason"] == "wrong office", "retracted with its reason", g)
    tap.ok(7 not in ids(ctl.lines("query", "--speaker", "U.S. Embassy in Moscow"))
           and 7 in ids(ctl.lines("query", "--speaker", "U.S. Embassy in Moscow", "--include-retracted")),
           "query leaves it out unless --include-retracted")
    tap.is_(ctl.run("relate", "5", "1", "clarifies", "--note", "letter of introduction", "--by", "desk").out,
            "{}\n", "relate")
    rel = ctl.lines("relations", "1")
    tap.is_(rel, [{"from": 5, "to": 1, "kind": "clarifies", "note": "letter of introduction"}],
            "relations: both directions, one per line")
    tap.is_(ctl.lines("relations", "5"), rel, "the same from the other claim")
    tap.is_(ctl.run("relate", "5", "1", "agrees").rc, 2, "bad relation kind: exit 2")
    tap.is_(ctl.run("relate", "5", "99999", "confirms").rc, 1, "relation to a missing claim: exit 1")

    ctl.one("add", "--text", "No letter was ever handed over", "--speaker", "Dmitrij Peskov")
    into = ctl.one("merge", "Dmitrij Peskov", "Dmitry Peskov", "--by", "desk")
    tap.ok(into["name"] == "Dmitry Peskov" and "Dmitrij Peskov" in into["aliases"], "merge prints INTO", into)
    a = sorted(ids(ctl.lines("query", "--speaker", "Dmitrij Peskov")))
    b = sorted(ids(ctl.lines("query", "--speaker", "Dmitry Peskov")))
    tap.ok(len(a) == 3 and a == b, "merge, then query by either name", (a, b))
    tap.is_(ctl.run("merge", "Nobody At All", "Dmitry Peskov").rc, 1, "merge of an unknown name: exit 1")
    ent = ctl.one("entity", "find", "TASS")
    tap.is_(ctl.run("merge", str(ent["id"]), str(ent["id"])).rc, 1, "merge by ids into itself: exit 1")


def seqs(lines):
    return [l["seq"] for l in lines]


def check_changes_watch(ctl):
    total = ctl.one("stats")["seq"]
    first = ctl.lines("changes", "--limit", "5")
    tap.is_(seqs(first), [1, 2, 3, 4, 5], "changes --limit 5: the first five")
    tap.is_(len(ctl.lines("changes")), total, "changes: the whole log, across pages")
    tap.is_(seqs(ctl.lines("changes", "--since", total - 2)), [total - 1, total], "changes --since")

    w = ctl.popen("watch", "--count", "2", "--types", "claim")
    time.sleep(0.5)
    cid = ctl.one("add", "--text", "A claim made while watching", "--speaker", "Watcher")["id"]
    ctl.one("verdict", cid, "unproven")
    out, err = w.communicate(timeout=20)
    got = [l for l in out.splitlines()]
    tap.ok(w.returncode == 0 and len(got) == 2 and '"op":"claim.create"' in got[0]
           and '"op":"verdict.add"' in got[1] and '"id":%d' % cid in got[1],
           "watch: live changes, one per line (entity changes filtered out)", out, err)

    s0 = ctl.one("stats")["seq"]
    for i in range(3):
        ctl.one("add", "--text", "Catch-up claim %d" % i)
    w = ctl.popen("watch", "--since", s0, "--count", "7")
    time.sleep(0.3)
    for i in range(4):
        ctl.one("add", "--text", "Live claim %d" % i)
    out, err = w.communicate(timeout=20)
    got = [int(re.search(r'"seq":(\d+)', l).group(1)) for l in out.splitlines()]
    tap.is_(got, list(range(s0 + 1, s0 + 8)), "watch --since: the log, then live, no gap, no repeat", err)

    s1 = ctl.one("stats")["seq"]
    ctl.one("add", "--text", "Peskov again", "--speaker", "Dmitry Peskov")
    ctl.one("add", "--text", "Someone else", "--speaker", "Rand Paul")
    w = ctl.popen("watch", "--since", s1, "--speaker", "Dmitry Peskov", "--count", "2")
    time.sleep(0.3)
    ctl.one("add", "--text", "Paul once more", "--speaker", "Rand Paul")
    last = ctl.one("add", "--text", "Peskov live", "--speaker", "Dmitry Peskov")["id"]
    out, err = w.communicate(timeout=20)
    lines = [l for l in out.splitlines()]
    tap.ok(len(lines) == 2 and '"id":%d' % last in lines[1], "watch --speaker with catch-up", out, err)

    f = ctl.popen("changes", "--since", ctl.one("stats")["seq"], "--follow", "--limit", "1")
    time.sleep(0.3)
    ctl.one("add", "--text", "Followed claim")
    out, err = f.communicate(timeout=20)
    tap.ok(f.returncode == 0 and '"op":"claim.create"' in out, "changes --follow", out, err)
    tap.is_(ctl.run("watch", "--ops", "claim.explode", "--count", "1").rc, 1, "watch with an unknown op: exit 1")


def check_backup(ctl, tmp):
    r = ctl.run("backup", "bk", cwd=tmp)
    tap.ok(r.rc == 0 and r.json["path"] == os.path.join(tmp, "bk") and r.json["bytes"] > 0,
           "backup with a relative path: an absolute path is sent", r)
    tap.ok(os.path.exists(os.path.join(tmp, "bk", "data.mdb")), "the copy is there")
    tap.is_(ctl.run("backup", "bk", cwd=tmp).rc, 1, "backup into a used directory: exit 1")


def main():
    d = Daemon()
    d.start()
    ctl = Ctl(d)
    tmp = tempfile.mkdtemp(dir=d.tmp)
    check_help(ctl)
    load_sample(ctl, tmp)
    check_query(ctl, tmp)
    check_search_match(ctl)
    check_update(ctl)
    check_retract_relate_merge(ctl)
    check_changes_watch(ctl)
    check_backup(ctl, tmp)
    tap.is_(d.stop(), 0, "daemon exits 0")


run(main)
