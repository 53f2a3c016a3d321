#!/usr/bin/python3
"""publish.t: the change feed on NATS JetStream (claimd --publish, daemon/publish.h), against a
real nats-server with JetStream on a loopback port.

Checked with a consumer that is not claimd (build/tests/nats_consume, on libnats): every
committed change is in the stream exactly once, in seq order, under claimd.<stream>.<op>, with
its change fields and the record as it was after the change; after kill -9 of the daemon during
a load and a restart, still no gap and no repeat; with NATS down the daemon keeps serving and
reports the lag, then catches up by itself when NATS is back."""
import os
import subprocess
import sys
import threading
import time

import msgpack

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, build_dir, run, short  # noqa: E402
from nats_harness import NATS, Nats, mixed_load  # noqa: E402

STREAM = "newsroom"


def consume(nats, want, idle_ms=1500):
    """Every message of the stream, as (msgid, subject, payload dict), in stream order."""
    out = subprocess.run([os.path.join(build_dir(), "tests", "nats_consume"), nats.url(), STREAM, str(want),
                          str(idle_ms)], capture_output=True, timeout=120)
    if out.returncode:
        raise RuntimeError("nats_consume failed: %s" % out.stderr.decode())
    msgs = []
    for line in out.stdout.decode().splitlines():
        msgid, subject, hexdata = line.split("\t")
        msgs.append((msgid, subject, msgpack.unpackb(bytes.fromhex(hexdata), raw=False)))
    return msgs


def all_changes(c):
    items, since = [], 0
    while True:
        r = c.call("changes", {"since": since, "limit": 10000})
        items += r["items"]
        if not r["items"]:
            return items
        since = r["next"]


def publish_stats(c):
    return c.call("stats")["publish"]


def wait_caught_up(c, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st = publish_stats(c)
        if st["publish_lag"] == 0 and st["state"] == "caught-up":
            return st
        time.sleep(0.05)
    return publish_stats(c)


def check_feed(nats, c, name):
    """The stream holds every change of the log exactly once, in order, as the log has it."""
    log = all_changes(c)
    msgs = consume(nats, len(log) + 100)
    ids = [int(m[0]) for m in msgs]
    tap.is_(ids, [ch["seq"] for ch in log], "%s: the stream holds seq 1..%d once each, in order (%d messages)"
            % (name, len(log), len(msgs)))
    by_seq = {int(m[0]): m for m in msgs}
    bad = []
    for ch in log:
        m = by_seq.get(ch["seq"])
        if not m:
            continue
        msgid, subject, body = m
        want = {k: ch[k] for k in ("seq", "op", "type", "id")}
        if subject != "claimd.%s.%s" % (STREAM, ch["op"]) or {k: body.get(k) for k in want} != want \
                or body.get("at") != ch["at"]:
            bad.append((ch, subject, {k: body.get(k) for k in ("seq", "at", "op", "type", "id")}))
    tap.ok(not bad, "%s: each message's subject and change fields are the log's" % name, short(bad[:3]))
    return log, msgs


def main():
    if not os.access(NATS, os.X_OK):
        tap.bail_out("nats-server is not installed (scripts/deps.sh test installs it)")
    nats = Nats()
    nats.start()
    d = Daemon(["--publish", nats.url(), "--stream", STREAM], log_level="info")
    d.start()
    c = d.client(timeout=30)
    try:
        tap.is_(publish_stats(c)["stream"], STREAM, "stats names the stream")
        errs = mixed_load(d, 600, 1)
        tap.is_(errs, [], "600 mixed writes from 4 connections")
        st = wait_caught_up(c)
        tap.ok(st["state"] == "caught-up" and st["publish_lag"] == 0, "the publisher catches up", short(st))
        log, msgs = check_feed(nats, c, "mixed load")

        # The record is the one after the change: the last message of a claim is the claim now.
        last = {}
        for _, _, body in msgs:
            if body["type"] == "claim":
                last[body["id"]] = body["record"]
        some = sorted(last)[:20]
        mismatch = []
        for cid in some:
            now = c.call("claim.get", {"id": cid})
            rec = dict(last[cid])
            verdicts = rec.pop("verdicts", None)
            if rec != now or len(verdicts) != len(c.call("verdict.list", {"claim": cid})["items"]):
                mismatch.append((cid, short(rec), short(now)))
        tap.ok(not mismatch, "a claim's last message carries the claim as claim.get reads it now, with its verdicts",
               short(mismatch[:2]))
        revs_ok = True
        seen = {}
        for _, _, body in msgs:
            if body["type"] == "claim" and body["record"]:
                r = body["record"]["rev"]
                if r < seen.get(body["id"], 0):
                    revs_ok = False
                seen[body["id"]] = r
        tap.ok(revs_ok, "a claim's revisions never go back along the stream")
        ents = [b for _, _, b in msgs if b["type"] == "entity" and b["op"] == "entity.create"]
        tap.ok(ents and all(b["record"]["id"] == b["id"] and b["record"]["name"] for b in ents),
               "entity messages carry the entity (%d)" % len(ents))

        # kill -9 of the daemon during a load, then a restart: no gap, no repeat.
        c.close()
        t = threading.Thread(target=mixed_load, args=(d, 3000, 2))
        t.start()
        time.sleep(0.7)
        d.kill9()
        t.join()
        d.start()
        c = d.client(timeout=30)
        tap.is_(mixed_load(d, 300, 3), [], "after kill -9 and a restart, 300 more writes")
        st = wait_caught_up(c)
        tap.ok(st["publish_lag"] == 0, "caught up after the restart", short(st))
        check_feed(nats, c, "after kill -9")

        # NATS down: the daemon keeps serving, reports the lag; NATS back: it catches up.
        nats.kill()
        tap.is_(mixed_load(d, 120, 4), [], "with NATS down, writes still succeed")
        deadline = time.monotonic() + 15
        st = publish_stats(c)
        while st["state"] != "unreachable" and time.monotonic() < deadline:
            time.sleep(0.05)
            st = publish_stats(c)
        tap.ok(st["state"] == "unreachable" and st["publish_lag"] > 0 and st["errors"] > 0,
               "stats says NATS is unreachable, with the lag", short(st))
        nats.start()
        st = wait_caught_up(c, timeout=60)
        tap.ok(st["state"] == "caught-up" and st["publish_lag"] == 0, "NATS back: caught up by itself", short(st))
        check_feed(nats, c, "after NATS was down")

        # A clean restart resumes at the saved position.
        c.close()
        tap.is_(d.stop(), 0, "SIGTERM: clean exit")
        d.start()
        c = d.client(timeout=30)
        tap.is_(mixed_load(d, 60, 5, clients=2), [], "60 writes after a clean restart")
        wait_caught_up(c)
        check_feed(nats, c, "after a clean restart")
    finally:
        c.close()
        d.stop()
        nats.cleanup()


run(main)
