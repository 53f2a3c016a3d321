#!/usr/bin/python3
"""python_client.py: the Python package (clients/python) next to libclaimd, on claim.get.

Starts its own claimd on a temp dir (tests/lib/claimd_harness.py), imports --claims claims with
import_claims, then on one connection each:
  - round trip: --rtt claim.get one at a time, p50 and p99 (claimd.Client; libclaimd's
    claimd_call through bench/c_peer/libclaimd_get.c, built here against build/libclaimd.a);
  - pipelined throughput: --pipe claim.get in pipelines of --depth (Client.pipeline();
    AsyncClient.pipeline(), and --depth concurrent coroutines with asyncio.gather;
    claimd_append/claimd_get_reply).
The C and Python runs alternate for --rounds rounds and the median of each figure is printed,
so the machine's drift hits both sides.

  make && bench/python_client.py [--claims 2000] [--rtt 5000] [--pipe 50000] [--depth 100] [--rounds 3]
"""
import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
sys.path.insert(0, os.path.join(REPO, "clients", "python"))
from claimd_harness import Daemon, build_dir  # noqa: E402
import claimd  # noqa: E402


def build_c_peer(tmp):
    exe = os.path.join(tmp, "libclaimd_get")
    libs = subprocess.run(["pkg-config", "--libs", "msgpack"], capture_output=True, text=True, check=True).stdout.split()
    subprocess.run(["cc", "-O2", "-std=c11", "-D_GNU_SOURCE", "-I" + os.path.join(REPO, "include"),
                    os.path.join(HERE, "c_peer", "libclaimd_get.c"), os.path.join(build_dir(), "libclaimd.a")]
                   + libs + ["-lm", "-o", exe], check=True)
    return exe


def py_sync(sock, max_id, rtt_n, pipe_n, depth):
    with claimd.Client(sock) as c:
        lat = []
        for i in range(rtt_n):
            t0 = time.perf_counter()
            c.claim_get(1 + i * 7919 % max_id)
            lat.append((time.perf_counter() - t0) * 1e6)
        lat.sort()
        t0 = time.perf_counter()
        done = 0
        while done < pipe_n:
            n = min(depth, pipe_n - done)
            with c.pipeline() as p:
                for i in range(n):
                    p.claim_get(1 + (done + i) * 7919 % max_id)
            done += n
        secs = time.perf_counter() - t0
    return {"rtt_p50_us": lat[len(lat) // 2], "rtt_p99_us": lat[len(lat) * 99 // 100], "pipelined_rps": pipe_n / secs}


async def py_async(sock, max_id, rtt_n, pipe_n, depth):
    async with claimd.AsyncClient(sock) as c:
        lat = []
        for i in range(rtt_n):
            t0 = time.perf_counter()
            await c.claim_get(1 + i * 7919 % max_id)
            lat.append((time.perf_counter() - t0) * 1e6)
        lat.sort()
        t0 = time.perf_counter()
        done = 0
        while done < pipe_n:
            n = min(depth, pipe_n - done)
            async with c.pipeline() as p:
                for i in range(n):
                    p.claim_get(1 + (done + i) * 7919 % max_id)
            done += n
        secs = time.perf_counter() - t0
        t0 = time.perf_counter()
        done = 0
        while done < pipe_n:
            n = min(depth, pipe_n - done)
            await asyncio.gather(*[c.claim_get(1 + (done + i) * 7919 % max_id) for i in range(n)])
            done += n
        gather_secs = time.perf_counter() - t0
    return {"rtt_p50_us": lat[len(lat) // 2], "rtt_p99_us": lat[len(lat) * 99 // 100], "pipelined_rps": pipe_n / secs,
            "gather_rps": pipe_n / gather_secs}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--claims", type=int, default=2000)
    ap.add_argument("--rtt", type=int, default=5000)
    ap.add_argument("--pipe", type=int, default=50000)
    ap.add_argument("--depth", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="pyclient-bench-")
    exe = build_c_peer(tmp)
    d = Daemon()
    d.start()
    try:
        with claimd.Client(d.socket) as c:
            claims = ({"text": "bench claim %d about the letter delivered in Moscow" % i, "speaker": "Speaker %d" % (i % 50),
                       "said_at": "2018-08-08", "tags": ["bench"], "lang": "en",
                       "appearances": [{"url": "https://example.org/a/%d" % i, "outlet": "RFE/RL",
                                        "title": "U.S. Senator Delivers Letter From Trump To Putin"}]}
                      for i in range(args.claims))
            t0 = time.perf_counter()
            rep = c.import_claims(claims, batch_size=1000, in_flight=4)
            imp_secs = time.perf_counter() - t0
            max_id = max(i for i in rep.ids if i is not None)
            reply_bytes = len(__import__("msgpack").packb(c.claim_get(1)))
        rows = {"C (libclaimd)": [], "Python Client": [], "Python AsyncClient": []}
        for _ in range(args.rounds):
            out = subprocess.run([exe, d.socket, str(max_id), str(args.rtt), str(args.pipe), str(args.depth)],
                                 capture_output=True, text=True, check=True).stdout
            rows["C (libclaimd)"].append(json.loads(out))
            rows["Python Client"].append(py_sync(d.socket, max_id, args.rtt, args.pipe, args.depth))
            rows["Python AsyncClient"].append(asyncio.run(py_async(d.socket, max_id, args.rtt, args.pipe, args.depth)))
    finally:
        d.stop()
    print("claim.get on one connection, %d claims (reply ~%d bytes), median of %d rounds; import_claims of "
          "the claims: %.0f claims/s" % (args.claims, reply_bytes, args.rounds, args.claims / imp_secs))
    print()
    print("| client | round trip p50 | p99 | pipelined (depth %d) |" % args.depth)
    print("| --- | --- | --- | --- |")
    for name, rs in rows.items():
        med = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        print("| %s | %.0f us | %.0f us | %.0f req/s |" % (name, med["rtt_p50_us"], med["rtt_p99_us"], med["pipelined_rps"]))
        if "gather_rps" in med:
            print("| %s, %d concurrent coroutines (asyncio.gather) | | | %.0f req/s |" % (name, args.depth, med["gather_rps"]))


if __name__ == "__main__":
    main()
