#!/usr/bin/python3
"""claimctl_sample.t: every claim of the sample RFE/RL article goes in through `claimctl import`
and comes back through `claimctl get` field for field, times with their precision; the
comparison views are sample.t's, so both paths are held to the same standard."""
import importlib.machinery
import importlib.util
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, EXAMPLES, REPO, run  # noqa: E402

BUILD = os.environ.get("CLAIMD_BUILD") or os.path.join(REPO, "build")

# sample.t's expected_view/stored_view, loaded from the script itself (it has no .py name).
_loader = importlib.machinery.SourceFileLoader("sample_views", os.path.join(HERE, "sample.t"))
_spec = importlib.util.spec_from_loader("sample_views", _loader)
views = importlib.util.module_from_spec(_spec)
_loader.exec_module(views)


def claimctl(sock, *args, stdin=None):
    p = subprocess.run([os.path.join(BUILD, "claimctl"), "--socket", sock] + list(args),
                       input=stdin, capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def main():
    sample = os.path.join(EXAMPLES, "rferl-paul-letter.jsonl")
    entities = os.path.join(EXAMPLES, "rferl-paul-letter-entities.jsonl")
    with open(sample, encoding="utf-8") as f:
        claims = [json.loads(line) for line in f if line.strip()]
    d = Daemon()
    d.start()
    sock = d.socket
    for line in open(entities, encoding="utf-8"):
        if line.strip():
            rc, out, err = claimctl(sock, "entity", "put", "-", stdin=line)
            if rc != 0:
                tap.ok(False, "entity put of %s" % line.strip(), err)
    rc, out, err = claimctl(sock, "import", "--rejects", os.path.join(d.tmp, "rejects"), sample)
    tap.is_(rc, 0, "claimctl import of the sample exits 0", err)
    tap.ok("rejected 0" in err, "the import summary reports no rejected record", err.strip())
    for i, c in enumerate(claims):
        rc, out, err = claimctl(sock, "call", "claim.query", json.dumps({"limit": 1000, "include_retracted": True}))
        found = [g for g in json.loads(out)["items"] if g.get("external_id") == c["external_id"]] if rc == 0 else []
        if len(found) != 1:
            tap.ok(False, "claim %s is stored once" % c["external_id"], out, err)
            continue
        rc, out, err = claimctl(sock, "get", str(found[0]["id"]))
        got = json.loads(out) if rc == 0 else {}
        tap.is_(views.stored_view(got), views.expected_view(c),
                "claimctl get %s reads back field for field" % c["external_id"])
    peskov = [c for c in claims if c.get("via")]
    tap.ok(len(peskov) >= 1, "the sample has second-hand claims with a via chain (%d)" % len(peskov))
    rc, out, err = claimctl(sock, "import", "--rejects", os.path.join(d.tmp, "rejects2"), sample)
    rc2, out2, _ = claimctl(sock, "stats")
    tap.is_(json.loads(out2)["claims"] if rc2 == 0 else None, len(claims), "importing again adds nothing")
    d.stop()


run(main)
