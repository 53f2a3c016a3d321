#!/usr/bin/python3
"""search_bench.py: claim.search and claim.match over N synthetic claims (default 100,000).

Starts its own claimd on a temp dir, imports the claims with claim.import (batches of 5,000),
then measures:
  - two-word top-20 claim.search: queries per second and latency from one connection sending
    one request at a time, and queries per second with 16 requests in flight, plus the daemon's
    own CPU time per query (from /proc, so the figure does not depend on this Python client);
  - claim.match of lightly re-worded claims: requests per second;
  - index size: bytes per claim of the search index and of the match index, measured as what
    they cost on disk: a compacted copy of the store (mdb_copy -c) minus a compacted copy with
    those tables dropped (through liblmdb with ctypes). mdb_stat alone would not do: it leaves
    the pages of DUPSORT sub-databases out of its table's counts.
The two words of each query come from one random claim, so every query has matches and common
words come up as often as they occur. Claims are English-like pseudo-words with Zipf-distributed
frequencies (a newsroom vocabulary: a few very common words, a long tail of rare ones).

Usage: /usr/bin/python3 bench/search_bench.py [--claims N] [--seconds S] [--build DIR] [--keep]
"""
import argparse
import ctypes
import os
import random
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "lib"))
import claimd_harness  # noqa: E402
from claimd_harness import Daemon  # noqa: E402

SEARCH_TABLES = ("search_terms", "search_blocks", "search_docs", "search_langs")
MATCH_TABLES = ("match_bands",)


def make_vocabulary(rnd, n):
    """n distinct pronounceable pseudo-words."""
    onsets = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w",
              "z", "br", "cr", "dr", "gr", "pr", "st", "tr", "sh", "ch", "th"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "ou"]
    words, seen = [], set()
    while len(words) < n:
        w = "".join(rnd.choice(onsets) + rnd.choice(vowels) for _ in range(rnd.randint(1, 4)))
        if rnd.random() < 0.3:
            w += rnd.choice(["s", "ed", "ing", "er", "ly"])
        if w not in seen:
            seen.add(w)
            words.append(w)
    return words


def make_claims(n, seed=1):
    rnd = random.Random(seed)
    vocab = make_vocabulary(rnd, 40000)
    # Zipf(1.0) over the vocabulary: cumulative weights for bisect-based sampling.
    weights = [1.0 / (r + 1) for r in range(len(vocab))]
    speakers = ["Speaker %d" % i for i in range(500)]
    cum, total = [], 0.0                 # cumulative weights once: choices() would redo them
    for w in weights:
        total += w
        cum.append(total)
    lengths = [rnd.randint(8, 40) for _ in range(n)]
    out = []
    for i, k in enumerate(lengths):
        words = rnd.choices(vocab, cum_weights=cum, k=k)
        words[0] = words[0].capitalize()
        out.append({"text": " ".join(words) + ".", "lang": "en", "speaker": speakers[i % len(speakers)],
                    "said_at": "20%02d-%02d-%02d" % (rnd.randint(10, 24), rnd.randint(1, 12), rnd.randint(1, 28)),
                    "external_id": "bench-%d" % i})
    return out


def drop_tables(data_dir, names):
    """Deletes named databases from the environment at data_dir (a copy), through liblmdb."""
    lib = ctypes.CDLL("liblmdb.so.0")
    env, txn, dbi = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_uint()
    lib.mdb_strerror.restype = ctypes.c_char_p

    def check(rc, what):
        if rc:
            raise RuntimeError("%s: %s" % (what, lib.mdb_strerror(rc).decode()))
    check(lib.mdb_env_create(ctypes.byref(env)), "mdb_env_create")
    check(lib.mdb_env_set_maxdbs(env, 128), "mdb_env_set_maxdbs")
    check(lib.mdb_env_set_mapsize(env, ctypes.c_size_t(1 << 36)), "mdb_env_set_mapsize")
    check(lib.mdb_env_open(env, data_dir.encode(), 0, 0o640), "mdb_env_open")
    check(lib.mdb_txn_begin(env, None, 0, ctypes.byref(txn)), "mdb_txn_begin")
    for name in names:
        check(lib.mdb_dbi_open(txn, name.encode(), 0, ctypes.byref(dbi)), "mdb_dbi_open " + name)
        check(lib.mdb_drop(txn, dbi, 1), "mdb_drop " + name)
    check(lib.mdb_txn_commit(txn), "mdb_txn_commit")
    lib.mdb_env_close(env)


def compacted_bytes(src, dst):
    """Size of a compacted copy of the environment in src, made in dst."""
    os.makedirs(dst)
    subprocess.run(["mdb_copy", "-c", src, dst], check=True)
    return os.path.getsize(os.path.join(dst, "data.mdb"))


def index_costs(data_dir, tmp):
    """(whole store, search tables, match table) in bytes, all compacted."""
    whole = compacted_bytes(data_dir, os.path.join(tmp, "c0"))
    drop_tables(os.path.join(tmp, "c0"), SEARCH_TABLES)
    no_search = compacted_bytes(os.path.join(tmp, "c0"), os.path.join(tmp, "c1"))
    drop_tables(os.path.join(tmp, "c1"), MATCH_TABLES)
    neither = compacted_bytes(os.path.join(tmp, "c1"), os.path.join(tmp, "c2"))
    for sub in ("c0", "c1", "c2"):
        shutil.rmtree(os.path.join(tmp, sub), ignore_errors=True)
    return whole, whole - no_search, no_search - neither


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_sequential(c, queries, seconds):
    lat, i, t_end = [], 0, time.monotonic() + seconds
    while time.monotonic() < t_end:
        t0 = time.perf_counter()
        r = c.call("claim.search", {"q": queries[i % len(queries)], "limit": 20})
        lat.append(time.perf_counter() - t0)
        assert r["items"], queries[i % len(queries)]
        i += 1
    lat.sort()
    return len(lat) / sum(lat), lat[len(lat) // 2], lat[int(len(lat) * 0.99)]


def run_pipelined(c, method, make, seconds, window=16):
    """Requests/s with `window` requests in flight on one connection."""
    sent = done = 0
    t0 = time.monotonic()
    t_end = t0 + seconds
    while sent < window:
        c.send(method, make(sent))
        sent += 1
    while True:
        r = c.recv_reply()
        if r.error is not None:
            raise RuntimeError(r.error)
        done += 1
        now = time.monotonic()
        if now < t_end:
            c.send(method, make(sent))
            sent += 1
        elif done == sent:
            return done / (now - t0), done


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--claims", type=int, default=100000)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--build", default=None, help="build dir holding claimd (default $CLAIMD_BUILD or build)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    if args.build:
        os.environ["CLAIMD_BUILD"] = os.path.abspath(args.build)

    t = time.monotonic()
    claims = make_claims(args.claims)
    print("generated %d claims (%.1f words each) in %.1fs" % (
        len(claims), sum(len(c["text"].split()) for c in claims) / len(claims), time.monotonic() - t))

    d = Daemon(extra_args=["--map-size", "4G"])
    d.start()
    c = d.client(timeout=600)
    before = c.call("stats")["bytes_used"]
    t = time.monotonic()
    batch = 5000
    for i in range(0, len(claims), batch):
        res = c.call("claim.import", {"claims": claims[i:i + batch]})["results"]
        bad = [r for r in res if "error" in r]
        if bad:
            raise SystemExit("import errors: %r" % bad[:3])
    took = time.monotonic() - t
    stats = c.call("stats")
    print("imported %d claims in %.1fs: %.0f claims/s" % (stats["claims"], took, len(claims) / took))

    n = stats["claims"]
    whole, search_b, match_b = index_costs(d.data, d.tmp)
    print("store, compacted: %.1f MiB, %.0f bytes/claim (stats bytes_used grew %.1f MiB)" % (
        whole / 2**20, whole / n, (stats["bytes_used"] - before) / 2**20))
    print("  search index (search_terms, _blocks, _docs, _langs): %.1f MiB, %.0f bytes/claim" % (
        search_b / 2**20, search_b / n))
    print("  match index (match_bands):                           %.1f MiB, %.0f bytes/claim" % (
        match_b / 2**20, match_b / n))

    rnd = random.Random(7)
    queries = []
    while len(queries) < 2000:
        words = [w.strip(".").lower() for w in rnd.choice(claims)["text"].split()]
        a, b = rnd.sample(range(len(words)), 2)
        if words[a] != words[b]:
            queries.append("%s %s" % (words[a], words[b]))
    for q in queries[:200]:                                  # warm the page cache
        c.call("claim.search", {"q": q, "limit": 20})
    totals = [c.call("claim.search", {"q": q, "limit": 20}) for q in queries[:300]]
    exact = sum(1 for r in totals if r["total_exact"])
    hits = sorted(r["total"] for r in totals)
    print("queries: two words from one claim; matches per query: median %d, p90 %d, max %d; total exact for %d%%" % (
        hits[len(hits) // 2], hits[int(len(hits) * 0.9)], hits[-1], exact * 100 // len(totals)))

    qps, p50, p99 = run_sequential(c, queries, args.seconds)
    cpu1 = cpu_seconds(d.proc.pid)
    print("claim.search two words, top 20, 1 request at a time: %.0f queries/s, p50 %.2f ms, p99 %.2f ms" % (
        qps, p50 * 1000, p99 * 1000))
    rate, count = run_pipelined(c, "claim.search", lambda i: {"q": queries[i % len(queries)], "limit": 20},
                                args.seconds)
    cpu2 = cpu_seconds(d.proc.pid)
    print("claim.search two words, top 20, 16 in flight:        %.0f queries/s; daemon CPU %.0f us/query" % (
        rate, (cpu2 - cpu1) / count * 1e6))

    def reworded(i):
        words = claims[(i * 7919) % len(claims)]["text"].split()
        j = (i * 31) % len(words)
        words[j] = "zzchanged"
        return {"text": " ".join(words), "limit": 5}
    found = sum(1 for i in range(200) if c.call("claim.match", reworded(i))["items"])
    cpu3 = cpu_seconds(d.proc.pid)
    rate, count = run_pipelined(c, "claim.match", reworded, args.seconds / 2)
    cpu4 = cpu_seconds(d.proc.pid)
    print("claim.match of a claim with one word changed: %.0f requests/s, daemon CPU %.0f us/request; "
          "found the original for %d of 200" % (rate, (cpu4 - cpu3) / count * 1e6, found))
    d.stop()
    if args.keep:
        print("kept", d.tmp)
    else:
        shutil.rmtree(d.tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
