"""Tools for tests that reach into a stopped daemon's data directory: mdb_load, and
build/tests/ixcheck (dump the derived tables, or reset them so a start rebuilds them)."""
import os
import shutil
import subprocess

import tap
from claimd_harness import build_dir

IXCHECK = os.path.join(build_dir(), "tests", "ixcheck")


def require_ixcheck():
    if not os.access(IXCHECK, os.X_OK):
        tap.bail_out("%s is missing (make unit-tests)" % IXCHECK)


def ixcheck(cmd, data):
    """ixcheck CMD DATA's output (dump, runs, reset); bails out when it fails."""
    r = subprocess.run([IXCHECK, cmd, data], capture_output=True, text=True)
    if r.returncode != 0:
        tap.bail_out("ixcheck %s failed: %s" % (cmd, r.stderr.strip()))
    return r.stdout


def rebuilt_dump(data, fresh, timeout=300):
    """Copies the stopped daemon's DATA into daemon FRESH's directory, empties the copy's derived
    tables, lets FRESH rebuild them from the change log, and returns (the dump right after the
    reset, the dump of the rebuilt index)."""
    shutil.rmtree(fresh.data, ignore_errors=True)
    shutil.copytree(data, fresh.data)
    ixcheck("reset", fresh.data)
    after_reset = ixcheck("dump", fresh.data)
    fresh.start()
    with fresh.client(timeout=timeout) as c:
        c.call("claim.query", {"limit": 1})           # waits for the index pass to catch up
    fresh.stop()
    return after_reset, ixcheck("dump", fresh.data)


def mdb_put(data, table, pairs):
    """Writes key/value byte pairs into a named database of the stopped daemon's data dir."""
    lines = ["VERSION=3", "format=bytevalue", "type=btree", "HEADER=END"]
    for k, v in pairs:
        lines += [" " + k.hex(), " " + v.hex()]
    lines.append("DATA=END")
    subprocess.run(["mdb_load", "-s", table, data], input=("\n".join(lines) + "\n").encode(), check=True)
