#!/usr/bin/python3
"""claimctl_valgrind.t: the client side under valgrind's memcheck: libclaimd's unit tests
(codec, context, and the typed helpers against the real daemon) and claimctl running every
import format, export, queries, the change feed and its error paths. Any invalid read or write,
use of uninitialised memory, or leak (definite or indirect) fails the test. Skipped when valgrind
is missing or the build has sanitizers (they do not mix)."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, EXAMPLES, build_dir, run  # noqa: E402
from ctl import CLAIMCTL, Ctl, write  # noqa: E402

VALGRIND = ["valgrind", "-q", "--error-exitcode=99", "--leak-check=full",
            "--errors-for-leak-kinds=definite,indirect", "--show-leak-kinds=definite,indirect"]


def memcheck(name, argv, env=None, ok_rcs=(0,), timeout=900):
    p = subprocess.run(VALGRIND + argv, capture_output=True, text=True, env=env, timeout=timeout)
    report = [l for l in p.stderr.splitlines() if l.startswith("==")]
    tap.ok(p.returncode in ok_rcs and not report, "%s: clean under memcheck (exit %d)" % (name, p.returncode),
           *(report[:40] or [p.stderr[-2000:]]))


def main():
    if not shutil.which("valgrind"):
        tap.skip("client under valgrind", "valgrind is not installed")
        return
    if os.environ.get("CLAIMD_SANITIZED"):
        tap.skip("client under valgrind", "a sanitizer build cannot run under valgrind")
        return
    env = dict(os.environ, CLAIMD_BUILD=build_dir())
    for t in ("test_client_codec", "test_client_ctx", "test_client_live"):
        memcheck(t, [os.path.join(build_dir(), "tests", t)], env=env)

    d = Daemon()
    d.start()
    ctl = Ctl(d)
    tmp = os.path.join(d.tmp, "files")
    os.makedirs(tmp)
    env = ctl.env()
    c = lambda *a: [CLAIMCTL] + [str(x) for x in a]  # noqa: E731
    rej = os.path.join(tmp, "r.rejects")
    memcheck("import JSONL", c("import", "--rejects", rej, os.path.join(EXAMPLES, "rferl-paul-letter.jsonl")), env)
    memcheck("import ClaimReview", c("import", "--rejects", rej,
                                     os.path.join(EXAMPLES, "rferl-paul-letter.claimreview.json")), env)
    memcheck("import CSV", c("import", "--rejects", rej, os.path.join(EXAMPLES, "rferl-paul-letter.csv")), env)
    bad = write(os.path.join(tmp, "bad.csv"), b'text,quote,score\nok,,\nx,maybe,\n\xff,,\ny,,9,9\n"open\n', "wb")
    memcheck("import CSV with rejects and an open quote", c("import", "--rejects", rej, bad), env, ok_rcs=(1,))
    badj = write(os.path.join(tmp, "bad.jsonl"), '{"text": "a"}\nnot json\n[1]\n{"text": "b", "said_at": "x"}\n')
    memcheck("import --dry-run with rejects", c("import", "--dry-run", "--rejects", rej, badj), env, ok_rcs=(1,))
    badcr = write(os.path.join(tmp, "bad.json"), '[{"@type": "ClaimReview", "claimReviewed": "x", '
                  '"reviewRating": {"alternateName": "Odd"}}, {"@type": "WebPage"}, {"broken": tru}, ')
    memcheck("import ClaimReview with rejects, truncated", c("import", "--rejects", rej, badcr), env, ok_rcs=(1,))
    side = os.path.join(tmp, "v.jsonl")
    memcheck("export --verdicts", c("export", "--include-retracted", "--verdicts", side,
                                    "--output", os.path.join(tmp, "e.jsonl")), env)
    memcheck("export claimreview", c("export", "--format", "claimreview", "--output", os.path.join(tmp, "c.json")), env)
    memcheck("query", c("query", "--speaker", "Rand Paul", "--limit", "3"), env)
    memcheck("search", c("search", "letter", "--all"), env)
    memcheck("match --claims", c("match", "We expect that the president's administration will receive it", "--claims"), env)
    memcheck("update", c("update", "2", "--rev", "1", "--tag", "x", "--via", "TASS:quoted", "--by", "vg"), env)
    memcheck("update conflict", c("update", "2", "--rev", "1", "--tag", "y"), env, ok_rcs=(1,))
    memcheck("history", c("history", "2"), env)
    memcheck("changes", c("changes", "--since", "3"), env)
    memcheck("watch --since", c("watch", "--since", "1", "--count", "5", "--speaker", "Rand Paul"), env)
    memcheck("usage error", c("query", "--tag", "a", "--tag", "b"), env, ok_rcs=(2,))
    memcheck("unreachable daemon", c("--socket", os.path.join(tmp, "none.sock"), "ping"), env, ok_rcs=(3,))
    d.stop()


run(main)
