#!/usr/bin/python3
"""claimctl_csv.t: CSV import. The sample article's CSV reads back like its JSONL; the edge cases
of real spreadsheets: a byte order mark, CRLF, quoted fields holding commas, quotes and line
breaks, blank lines, a last line without a newline, ';' lists and NAME:HOW via hops, --map and
ignored columns, tab-separated files, verdict columns; and what is refused: unknown columns
(exit 2), too many fields, invalid UTF-8, bad quote and score cells, a quote left open."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, EXAMPLES, run  # noqa: E402
from ctl import Ctl, write  # noqa: E402


def view(c):
    """A claim as stored, reduced to what both inputs carry (entities by name)."""
    name = lambda r: r["name"] if r else None  # noqa: E731
    return {
        "text": c["text"], "quote": c["quote"], "lang": c.get("lang"), "speaker": name(c.get("speaker")),
        "speaker_role": c.get("speaker_role"), "attribution": c.get("attribution"),
        "said_at": c.get("said_at"), "medium": c.get("medium"),
        "via": [(h["name"], h["how"]) for h in c["via"]],
        "appearances": [(a.get("url"), name(a.get("outlet")), a.get("title"), a.get("published_at"), a.get("lang"))
                        for a in c["appearances"]],
        "about": [a["name"] for a in c["about"]], "tags": c["tags"], "recorded_by": c.get("recorded_by"),
    }


def sample_csv_equals_jsonl(tmp):
    a, b = Daemon(), Daemon()
    a.start()
    b.start()
    ra = Ctl(a).run("import", os.path.join(EXAMPLES, "rferl-paul-letter.csv"), "--rejects", os.path.join(tmp, "a.rej"))
    rb = Ctl(b).run("import", os.path.join(EXAMPLES, "rferl-paul-letter.jsonl"), "--rejects", os.path.join(tmp, "b.rej"))
    tap.ok(ra.rc == 0 and "created 11," in ra.err, "the sample CSV imports (format from the .csv name)", ra)
    got = {c["external_id"]: view(c) for c in Ctl(a).lines("query")}
    want = {c["external_id"]: view(c) for c in Ctl(b).lines("query")}
    tap.is_(sorted(got), sorted(want), "the same claims as the JSONL")
    for k in sorted(want):
        tap.is_(got.get(k), want[k], "%s reads back like the JSONL one" % k)
    a.stop()
    b.stop()


def edge_cases(ctl, tmp):
    rows = (
        "\ufeffText,Who,said_at,tags,via,Notes,quote,rating,score,verdict_by,verdict_at,url,outlet\r\n"
        '"Hello, world",Rand Paul,2018-08-08, a ; b ;;,"TASS:quoted;Agency: Foo",ignored,paraphrase,false,1,Desk,2018-08-09,https://e.example/1,RFE/RL\r\n'
        '"Line one\nline ""two""\r\nline three",Dmitry Peskov,,,,,,,,,,,\r\n'
        "\r\n"
        "plain,,,,,,,,,,,,\r\n"
        'last one without a newline,"Rand Paul",2018,,,,yes,,,,,,'
    )
    src = write(os.path.join(tmp, "edge.csv"), rows, "w")
    r = ctl.run("import", "--map", "Text=text", "--map", "Who=speaker", "--map", "Notes=", src)
    tap.ok(r.rc == 0 and "imported 4, created 4, rejected 0" in r.err and "verdicts: added 1" in r.err,
           "BOM, CRLF, quotes, line breaks, blank line, no final newline", r)
    c = {x["text"]: x for x in ctl.lines("query", "--include-retracted")}
    tap.ok("Hello, world" in c, "a quoted comma", list(c))
    h = c.get("Hello, world", {})
    tap.is_(h.get("tags"), ["a", "b"], "list cells split at ';', trimmed, empties dropped")
    tap.is_([(v["name"], v["how"]) for v in h.get("via", [])], [("TASS", "quoted"), ("Agency: Foo", "other")],
            "via NAME:HOW, and a colon that is part of the name")
    tap.is_((h.get("quote"), h.get("status"), h.get("speaker", {}).get("name")), (False, "false", "Rand Paul"),
            "quote column, verdict columns, a mapped column")
    tap.is_([(a["url"], a["outlet"]["name"]) for a in h.get("appearances", [])], [("https://e.example/1", "RFE/RL")],
            "the appearance columns")
    tap.ok('Line one\nline "two"\r\nline three' in c, "line breaks and doubled quotes inside quotes", list(c))
    tap.is_(c.get("last one without a newline", {}).get("said_at"), "2018", "the last record without a newline")
    v = ctl.one("verdicts", str(h.get("id", 0)))
    tap.is_((v["rating"], v["score"], v["by"], v["at"]), ("false", 1, "Desk", "2018-08-09"), "the verdict")

    tsv = write(os.path.join(tmp, "t.tsv"), "text\tspeaker\ttags\nTab separated, with a comma\tTab Person\tx;y\n")
    r = ctl.run("import", tsv)
    tap.ok(r.rc == 0 and "created 1," in r.err, ".tsv is tab-separated", r)
    semi = write(os.path.join(tmp, "semi.csv"), "text;speaker\nSemicolon file, comma inside;Semi Person\n")
    r = ctl.run("import", "--delimiter", ";", semi)
    tap.ok(r.rc == 0 and ctl.lines("query", "--speaker", "Semi Person")[0]["text"] == "Semicolon file, comma inside",
           "--delimiter ';'", r)


def refusals(ctl, tmp):
    before = ctl.one("stats")["claims"]
    unknown = write(os.path.join(tmp, "unknown.csv"), "text,colour\nx,red\n")
    r = ctl.run("import", unknown)
    tap.ok(r.rc == 2 and "unknown CSV column 'colour'" in r.err and "--map 'colour=" in r.err,
           "an unknown column: exit 2 with a hint", r)
    notext = write(os.path.join(tmp, "notext.csv"), "speaker\nx\n")
    tap.is_(ctl.run("import", notext).rc, 2, "no text column: exit 2")
    tap.is_(ctl.run("import", write(os.path.join(tmp, "empty.csv"), "")).rc, 2, "an empty file: exit 2")
    tap.is_(ctl.run("import", "--map", "x", unknown).rc, 2, "--map without '=': exit 2")

    bad = write(os.path.join(tmp, "bad.csv"),
                b"text,quote,score,said_at\n"
                b"fine,,,\n"
                b"too,many,fields,2018,extra\n"
                b"bad \xff utf8,,,\n"
                b"bad quote,maybe,,\n"
                b"bad score,,7,\n"
                b"bad date,,,someday\n"
                b"\"multi\nline\",,,\n"
                b"fine again,,,\n", "wb")
    rej = os.path.join(tmp, "bad.rejects")
    r = ctl.run("import", "--rejects", rej, bad)
    tap.ok(r.rc == 1 and "imported 3, created 3, rejected 5" in r.err, "bad rows rejected, exit 1", r)
    lines = [json.loads(l) for l in open(rej)]
    tap.is_([(l["line"], l["error"]["code"]) for l in lines],
            [(3, "invalid"), (4, "invalid"), (5, "invalid"), (6, "invalid"), (7, "invalid")],
            "rejects with the record's first line number")
    msgs = [l["error"].get("message", "") + " " + str(l["error"].get("field")) for l in lines]
    tap.ok("5 fields, but the header has 4" in msgs[0] and "column text: invalid UTF-8" in msgs[1]
           and "column quote" in msgs[2] and "column score" in msgs[3] and "said_at" in msgs[4], "with reasons", msgs)
    tap.is_(lines[0]["input"], "too,many,fields,2018,extra", "the original record")
    tap.is_(lines[1]["input"], "bad \ufffd utf8,,,", "invalid UTF-8 shown as U+FFFD")

    open_quote = write(os.path.join(tmp, "open.csv"), 'text\nfine before the open quote\n"never closed\nmore\n')
    r = ctl.run("import", open_quote)
    tap.ok(r.rc == 1 and "ends inside a quoted field" in r.err and "imported 1," in r.err,
           "a quote left open: what came before is imported, then a clear stop", r)
    r = ctl.run("import", "--dry-run", "--rejects", rej, bad)
    tap.ok(r.rc == 1 and "checked 8, valid 3, rejected 5" in r.err, "--dry-run on CSV", r)
    tap.is_(ctl.one("stats")["claims"], before + 4, "only the good rows were stored")


def main():
    tmp = os.path.join(Daemon().tmp, "files")
    os.makedirs(tmp)
    sample_csv_equals_jsonl(tmp)
    d = Daemon()
    d.start()
    ctl = Ctl(d)
    edge_cases(ctl, tmp)
    refusals(ctl, tmp)
    tap.is_(d.stop(), 0, "daemon exits 0")


run(main)
