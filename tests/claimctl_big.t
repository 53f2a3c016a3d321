#!/usr/bin/python3
"""claimctl_big.t: a big input is streamed in bounded memory. A JSONL file of CLAIMCTL_BIG_MB
megabytes (default 50; `make bench-import` runs 1 GB) is imported for real: the first 2,000
records are new claims, the rest repeat them, which the daemon answers cheaply (duplicates), so
the test measures the client. claimctl's peak RSS (VmHWM, printed with CLAIMCTL_REPORT_RSS)
must stay under 32 MiB and within 8 MiB of what a 1 MB file needs (a pipeline whose output
buffer was never compacted once grew to 38 MiB over 1 GB). CSV and ClaimReview files
of half that size are read through --dry-run (the same readers) under the same bounds."""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, run  # noqa: E402
from ctl import Ctl  # noqa: E402

GEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib", "gen_claims.py")
MB = float(os.environ.get("CLAIMCTL_BIG_MB", "50"))
LIMIT_KB = 32 * 1024
GROWTH_KB = 8 * 1024


def generate(path, fmt, size_mb, distinct=2000):
    with open(path, "w") as f:
        subprocess.run(["/usr/bin/python3", GEN, "--format", fmt, "--bytes", str(int(size_mb * 1e6)),
                        "--distinct", str(distinct), "--prefix", "big"], stdout=f, check=True)
    return path


def peak_kb(err):
    m = re.search(r"peak RSS (\d+) kB", err)
    return int(m.group(1)) if m else None


def records(path, fmt):
    with open(path, "rb") as f:
        n = sum(1 for _ in f)
    return {"jsonl": n, "csv": n - 1, "claimreview": n - 2}[fmt]


def main():
    d = Daemon()
    d.start()
    ctl = Ctl(d)
    tmp = os.path.join(d.tmp, "files")
    os.makedirs(tmp)
    env = {"CLAIMCTL_REPORT_RSS": "1"}

    small = generate(os.path.join(tmp, "small.jsonl"), "jsonl", 1)
    r = ctl.run("import", "--rejects", os.path.join(tmp, "s.rejects"), small, env=env)
    base = peak_kb(r.err)
    tap.ok(r.rc == 0 and base, "a 1 MB JSONL import (peak RSS %s kB)" % base, r)

    big = generate(os.path.join(tmp, "big.jsonl"), "jsonl", MB)
    n = records(big, "jsonl")
    r = ctl.run("import", "--rejects", os.path.join(tmp, "b.rejects"), big, env=env, timeout=7200)
    peak = peak_kb(r.err)
    tap.ok(r.rc == 0 and ("imported %d," % n) in r.err,
           "a %.0f MB JSONL import: %d records" % (MB, n), r)
    tap.is_(ctl.one("stats")["claims"], 2000, "2,000 claims (the rest were duplicates)")
    tap.diag("JSONL %.0f MB: %s; peak RSS %s kB (1 MB: %s kB)" % (MB, r.err.splitlines()[0], peak, base))
    tap.ok_memory(peak and peak < LIMIT_KB, "claimctl's peak RSS under 32 MiB (%s kB)" % peak)
    tap.ok_memory(peak and base and peak - base < GROWTH_KB,
                  "and within 8 MiB of the 1 MB run: memory does not grow with the input")

    for fmt, name in (("csv", "big.csv"), ("claimreview", "big.json")):
        path = generate(os.path.join(tmp, name), fmt, MB / 2)
        r = ctl.run("import", "--dry-run", "--rejects", os.path.join(tmp, fmt + ".rejects"), path, env=env,
                    timeout=7200)
        n = records(path, fmt)
        peak = peak_kb(r.err)
        tap.ok(r.rc == 0 and ("checked %d, valid %d" % (n, n)) in r.err, "%s, %.0f MB, read whole" % (fmt, MB / 2), r)
        tap.ok_memory(peak and peak < LIMIT_KB and peak - base < GROWTH_KB,
                      "%s read in bounded memory (peak RSS %s kB)" % (fmt, peak))
        os.unlink(path)
    tap.is_(d.stop(), 0, "daemon exits 0")


run(main)
