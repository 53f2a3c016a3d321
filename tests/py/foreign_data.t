#!/usr/bin/python3
"""foreign_data.t: claimd refuses what is not its database, before writing anything (issue 13 item 6).

Each case starts claimd on a data directory and expects exit status 1, a log line saying why, and
data.mdb byte for byte as it was (not grown to the map size, no claimd table added):
- another application's LMDB environment (a named table "users", no claimd stamp; mdb_load);
- a 0-byte data.mdb (data was expected: a lost file must not look like a fresh start);
- a data.mdb that is not LMDB at all;
- a claimd database stamped with a format newer than this claimd knows, started with a bigger
  --map-size (the old daemon grew such a file before refusing it).
A new directory still starts, and so does a directory whose claimd database was stopped cleanly."""
import hashlib
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, short, run  # noqa: E402
import ops_helpers as ops  # noqa: E402


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest(), os.path.getsize(path)


def start_expect_refusal(d, what, needle, extra=()):
    data_file = os.path.join(d.data, "data.mdb")
    before = digest(data_file)
    with open(d.log, "ab") as log:
        p = subprocess.Popen(d.argv() + list(extra), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    try:
        rc = p.wait(20)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        rc = "still running"
    text = open(d.log, "rb").read().decode("utf-8", "replace")
    tap.is_(rc, 1, "%s: claimd refuses to start (exit 1)" % what, d.log_tail())
    tap.ok(needle in text, "%s: the log says why (%r)" % (what, needle), d.log_tail())
    after = digest(data_file)
    tap.ok(after == before, "%s: data.mdb is unchanged (%d bytes, same content)" % (what, before[1]),
           "before %s after %s" % (before, after))
    tap.ok(not os.path.exists(d.socket), "%s: nothing listened" % what)


def load_foreign(dirpath):
    os.makedirs(dirpath, exist_ok=True)
    dump = ("VERSION=3\nformat=bytevalue\ntype=btree\nHEADER=END\n"
            " 616c696365\n 3432\n 626f62\n 3137\nDATA=END\n")
    subprocess.run(["mdb_load", "-s", "users", dirpath], input=dump.encode(), check=True)


def main():
    if not ops.have("mdb_load"):
        ops.skip_all("mdb_load (lmdb-utils) is missing")

    d = Daemon()
    load_foreign(d.data)
    start_expect_refusal(d, "another application's LMDB environment", "not a claimd database")
    out = subprocess.run(["mdb_stat", "-a", d.data], stdout=subprocess.PIPE, text=True).stdout
    tap.ok("Status of users" in out and "Status of claims" not in out and "Status of meta" not in out,
           "foreign environment: no claimd table was written into it", short(out, 600))

    d = Daemon()
    os.makedirs(d.data)
    open(os.path.join(d.data, "data.mdb"), "wb").close()
    start_expect_refusal(d, "0-byte data.mdb", "empty (0 bytes)")

    d = Daemon()
    os.makedirs(d.data)
    with open(os.path.join(d.data, "data.mdb"), "wb") as f:
        f.write(os.urandom(65536))
    start_expect_refusal(d, "data.mdb that is not LMDB", "not a readable LMDB database")

    # A claimd database from the future: the format stamp set to 99 with mdb_load.
    d = Daemon()
    d.start()
    with d.client() as c:
        c.call("claim.put", {"text": "A claim in a database from the future", "speaker": "Future Speaker"})
    tap.is_(d.stop(), 0, "a claimd database is made and stopped cleanly")
    dump = subprocess.run(["mdb_dump", "-s", "meta", d.data], stdout=subprocess.PIPE, check=True).stdout.decode()
    lines = dump.splitlines()
    i = lines.index(" " + b"format".hex())
    lines[i + 1] = " 00000063"
    subprocess.run(["mdb_load", "-s", "meta", d.data], input=("\n".join(lines) + "\n").encode(), check=True)
    start_expect_refusal(d, "format 99 with --map-size 256M", "newer than", ["--map-size", "256M"])

    d = Daemon()
    d.start()
    with d.client() as c:
        cid = c.call("claim.put", {"text": "Still opens", "speaker": "Plain Speaker"})["id"]
    tap.is_(d.stop(), 0, "a new directory starts (and stops)")
    d.start()
    with d.client() as c:
        g = c.request("claim.get", {"id": cid})
    tap.ok(g.error is None, "and its database opens again", short(g))
    tap.is_(d.stop(), 0, "and stops")


run(main)
