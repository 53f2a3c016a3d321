#!/usr/bin/python3
"""replica_bench.py: replication lag of a read replica (claimd --replica-of) under a durable write
load, and reads on the replica next to the primary's (`make bench-replica`).

Starts nats-server (JetStream, loopback port, temp store), a primary (--publish) and a replica,
then CLIENTS connections write claim.put for SECONDS on the primary, each waiting for its
durable reply. A subscriber on the replica notes when each change arrives there (notifications
go out after the replica's commit): lag = arrival - the change's `at` (the primary's commit
stamp; same machine, same clock). Prints p50/p99/max lag, the write rate, and claim.get rates
on the primary and the replica with the same readers.

  bench/replica_bench.py [--clients 64] [--seconds 10] [--readers 4]
"""
import argparse
import datetime
import os
import random
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "lib"))
from claimd_harness import Daemon  # noqa: E402
from nats_harness import Nats  # noqa: E402


def at_seconds(s):
    return datetime.datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z").timestamp() \
        if "." in s else datetime.datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S%z").timestamp()


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))] if xs else float("nan")


def writers(d, n, seconds):
    stop = time.monotonic() + seconds
    counts = [0] * n

    def run(k):
        with d.client(timeout=60) as c:
            i = 0
            while time.monotonic() < stop:
                c.call("claim.put", {"text": "Bench claim %d-%d on the budget" % (k, i), "speaker": "Speaker %d" % (k % 16)})
                i += 1
            counts[k] = i

    ts = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts)


def read_rate(d, n, seconds, max_id):
    stop = time.monotonic() + seconds
    counts = [0] * n

    def run(k):
        rnd = random.Random(k)
        with d.client(timeout=60) as c:
            i = 0
            while time.monotonic() < stop:
                c.call("claim.get", {"id": rnd.randint(1, max_id)})
                i += 1
            counts[k] = i

    ts = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return sum(counts) / seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--readers", type=int, default=4)
    a = ap.parse_args()
    nats = Nats()
    nats.start()
    p = Daemon(["--publish", nats.url(), "--stream", "bench"])
    r = Daemon(["--replica-of", nats.url(), "--stream", "bench"])
    try:
        p.start()
        r.start()
        lags = []
        done = threading.Event()

        def listen():
            with r.client(timeout=5) as c:
                c.call("subscribe", {"types": ["claim"]})
                while not done.is_set():
                    try:
                        n = c.recv_notification(timeout=1)
                    except Exception:   # noqa: BLE001 (a timeout: keep listening until done)
                        continue
                    now = time.time()
                    if n[1] == "change":
                        lags.append(now - at_seconds(n[2][0]["at"]))

        lt = threading.Thread(target=listen)
        lt.start()
        time.sleep(0.5)
        t0 = time.monotonic()
        writes = writers(p, a.clients, a.seconds)
        took = time.monotonic() - t0
        with p.client() as pc:
            seq = pc.call("stats")["seq"]
        with r.client(timeout=120) as rc:
            rc.call("wait_seq", {"seq": seq, "timeout_ms": 60000})
        time.sleep(0.5)
        done.set()
        lt.join()
        with p.client() as pc:
            max_id = pc.call("stats")["claims"]
        rp = read_rate(p, a.readers, 5, max_id)
        rr = read_rate(r, a.readers, 5, max_id)
        print("| figure | value |\n| --- | --- |")
        print("| durable writes (claim.put, %d clients) | %.0f/s (%d in %.1f s) |" % (a.clients, writes / took, writes, took))
        print("| changes seen on the replica | %d |" % len(lags))
        print("| replication lag p50 | %.1f ms |" % (1000 * pct(lags, 0.5)))
        print("| replication lag p99 | %.1f ms |" % (1000 * pct(lags, 0.99)))
        print("| replication lag max | %.1f ms |" % (1000 * max(lags) if lags else float("nan")))
        print("| claim.get, %d readers: primary / replica | %.0f/s / %.0f/s (ratio %.2f) |" % (a.readers, rp, rr, rr / rp))
    finally:
        p.stop()
        r.stop()
        nats.cleanup()


main()
