#!/usr/bin/python3
"""import_bench.py: claimctl import rates and memory (`make bench-import`).

For each format (JSONL, CSV, ClaimReview) it generates --claims distinct claims
(tests/lib/gen_claims.py), starts a fresh claimd, and times `claimctl import` of the file, with
claimctl's peak RSS (VmHWM, reported with CLAIMCTL_REPORT_RSS). Then a --big-gb JSONL file whose
records after the first 2,000 repeat them (duplicates: cheap for the daemon, so the client's
streaming is what is measured) is imported for real into one more daemon. Prints a table and
the commands it ran.

  bench/import_bench.py [--claims 100000] [--big-gb 1] [--keep DIR]
"""
import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
from claimd_harness import Daemon, build_dir  # noqa: E402

GEN = os.path.join(REPO, "tests", "lib", "gen_claims.py")
CLAIMCTL = os.path.join(build_dir(), "claimctl")
EXT = {"jsonl": "jsonl", "csv": "csv", "claimreview": "json"}


def generate(path, fmt, **kw):
    args = ["/usr/bin/python3", GEN, "--format", fmt, "--prefix", "bench"]
    for k, v in kw.items():
        args += ["--" + k, str(v)]
    with open(path, "w") as f:
        subprocess.run(args, stdout=f, check=True)
    return path


def import_file(path):
    d = Daemon()
    d.start()
    env = dict(os.environ, CLAIMD_SOCKET=d.socket, CLAIMCTL_REPORT_RSS="1")
    cmd = [CLAIMCTL, "import", "--rejects", "/dev/null", path]
    t0 = time.monotonic()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall = time.monotonic() - t0
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    daemon_rss = d.status_kib("VmHWM")
    d.stop()
    shutil.rmtree(d.tmp, ignore_errors=True)
    m = re.search(r"imported (\d+), created (\d+), rejected (\d+) in ([\d.]+) s \((\d+) claims/s\)", p.stderr)
    rss = re.search(r"peak RSS (\d+) kB", p.stderr)
    if p.returncode != 0 or not m:
        sys.exit("claimctl import failed (%d): %s" % (p.returncode, p.stderr))
    return {"imported": int(m.group(1)), "created": int(m.group(2)), "secs": float(m.group(4)),
            "rate": int(m.group(5)), "rss_kb": int(rss.group(1)) if rss else None, "wall": wall, "cpu": cpu,
            "daemon_rss_kb": daemon_rss, "cmd": "CLAIMCTL_REPORT_RSS=1 claimctl import %s" % os.path.basename(path),
            "mb": os.path.getsize(path) / 1e6}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=100000)
    ap.add_argument("--big-gb", type=float, default=1.0)
    ap.add_argument("--keep", help="generate the files here and keep them")
    a = ap.parse_args()
    tmp = a.keep or tempfile.mkdtemp(prefix="claimctl-bench-")
    os.makedirs(tmp, exist_ok=True)
    rows = []
    for fmt in ("jsonl", "csv", "claimreview"):
        path = os.path.join(tmp, "claims-%d.%s" % (a.claims, EXT[fmt]))
        if not os.path.exists(path):
            generate(path, fmt, count=a.claims)
        r = import_file(path)
        rows.append((fmt, r))
        print("%-12s %7.1f MB  %8d claims  %7.1f s  %6d claims/s  claimctl peak RSS %6d kB, CPU %.1f s"
              "  (claimd peak RSS %s kB)" % (fmt, r["mb"], r["imported"], r["secs"], r["rate"], r["rss_kb"],
                                            r["cpu"], r["daemon_rss_kb"]), flush=True)
    if a.big_gb > 0:
        path = os.path.join(tmp, "big-%.2fGB.jsonl" % a.big_gb)
        if not os.path.exists(path):
            generate(path, "jsonl", bytes=int(a.big_gb * 1e9), distinct=2000)
        r = import_file(path)
        rows.append(("jsonl-big", r))
        print("%-12s %7.1f MB  %8d records %7.1f s  %6d records/s claimctl peak RSS %6d kB, CPU %.1f s"
              "  (2,000 distinct)" % ("jsonl (big)", r["mb"], r["imported"], r["secs"], r["rate"], r["rss_kb"],
                                       r["cpu"]), flush=True)
    print("\ncommands (each into a fresh claimd; files from tests/lib/gen_claims.py, e.g.\n"
          "  gen_claims.py --format jsonl --count %d > claims.jsonl):" % a.claims)
    for _, r in rows:
        print("  " + r["cmd"])
    if not a.keep:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
