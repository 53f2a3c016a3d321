#!/usr/bin/python3
"""sub_fanout.t: subscriptions are bounded per connection (--max-subscriptions, too_large beyond
it) and filed by filter, so 20,000 subscriptions that do not match a write (on 4 connections)
leave its latency about where it was without them, while the ones that match still receive
every change, each notification naming its subscription."""
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, Timeout, request_bytes, short, run  # noqa: E402

PER_CONN = 5000
CONNS = 4
WRITES = 150


def write_p50(c, speaker, tag):
    times = []
    for i in range(WRITES):
        t0 = time.perf_counter()
        c.call("claim.put", {"text": "Fan-out latency claim %s %d" % (tag, i), "speaker": speaker})
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def subscribe_many(c, filters):
    """Pipelines one subscribe per filter; returns the replies."""
    data, ids = [], []
    for f in filters:
        msgid = c.take_msgid()
        ids.append(msgid)
        data.append(request_bytes(msgid, "subscribe", f))
    c.send_raw(b"".join(data))
    return [c.recv_reply(60) for _ in ids]


def check_limit():
    d = Daemon(["--max-subscriptions", "3"])
    d.start()
    with d.client() as c:
        ids = [c.call("subscribe", {})["subscription"] for _ in range(3)]
        r = c.request("subscribe", {"types": ["claim"]})
        tap.ok(r.code == "too_large" and isinstance(r.error.get("message"), str),
               "the 4th subscription on a connection limited to 3: too_large", short(r.msg))
        with d.client() as other:
            tap.ok(isinstance(other.call("subscribe", {}).get("subscription"), int),
                   "the limit is per connection: another connection may subscribe")
        c.call("unsubscribe", {"subscription": ids[0]})
        tap.ok(isinstance(c.call("subscribe", {}).get("subscription"), int), "after an unsubscribe there is room again")
        tap.is_(c.call("stats").get("limits", {}).get("max_subscriptions"), 3, "stats shows max_subscriptions")
    d.stop()


def check_fanout():
    d = Daemon(["--max-subscriptions", str(PER_CONN)])
    d.start()
    w = d.client(timeout=60)
    speakers = ["Fanout Other %d" % i for i in range(40)]
    for s in speakers + ["Fanout Writer"]:
        w.call("entity.put", {"name": s})
    w.call("claim.put", {"text": "Warm-up claim for the fan-out test", "speaker": "Fanout Writer"})
    base = write_p50(w, "Fanout Writer", "baseline")

    subs = [d.client(timeout=60) for _ in range(CONNS)]
    t0 = time.monotonic()
    made = 0
    for n, c in enumerate(subs):
        filters = []
        for i in range(PER_CONN):
            k = i % 4
            if k == 0:
                filters.append({"claim": 10 ** 9 + n * PER_CONN + i})          # claims never written
            elif k == 1:
                filters.append({"speaker": speakers[i % len(speakers)]})       # other speakers
            elif k == 2:
                filters.append({"ops": ["relation.add", "entity.merge"]})      # ops the writes never make
            else:
                filters.append({"types": ["entity"]})                         # the writes change claims only
        replies = subscribe_many(c, filters)
        made += sum(1 for r in replies if r.error is None)
    tap.is_(made, CONNS * PER_CONN, "%d non-matching subscriptions made on %d connections (%.1f s)"
            % (CONNS * PER_CONN, CONNS, time.monotonic() - t0))
    r = subs[0].request("subscribe", {})
    tap.ok(r.code == "too_large", "one more on a full connection: too_large", short(r.msg))

    watcher = d.client(timeout=30)
    by_speaker = watcher.call("subscribe", {"speaker": "Fanout Writer"})["subscription"]
    by_op = watcher.call("subscribe", {"ops": ["claim.create"]})["subscription"]

    loaded = write_p50(w, "Fanout Writer", "loaded")
    tap.ok(loaded < 3 * base + 0.002,
           "write p50 with 20,000 non-matching subscriptions (%.2f ms) under 3x the baseline (%.2f ms)"
           % (loaded * 1000, base * 1000))

    got = {by_speaker: 0, by_op: 0}
    other = 0
    deadline = time.monotonic() + 20
    while sum(got.values()) < 2 * WRITES and time.monotonic() < deadline:
        try:
            n = watcher.recv_notification(timeout=2)
        except Timeout:
            break
        sid = n[2][0].get("subscription") if n[1] == "change" else None
        if sid in got:
            got[sid] += 1
        else:
            other += 1
    tap.is_(got, {by_speaker: WRITES, by_op: WRITES},
            "the matching subscriptions each received every write, each notification naming it")
    tap.is_(other, 0, "and nothing else")
    for c in subs:
        try:
            c.recv_message(timeout=0.05)
            tap.ok(False, "a non-matching subscriber received something")
            break
        except Timeout:
            pass
    else:
        tap.ok(True, "the non-matching subscribers received nothing")
    # Closing the connections takes their subscriptions out of the index.
    for c in subs:
        c.close()
    time.sleep(0.3)
    w.call("claim.put", {"text": "A claim after the subscribers left", "speaker": "Fanout Writer"})
    tap.ok(d.alive(), "the daemon is still running after 20,000 subscriptions went away")
    for c in (w, watcher):
        c.close()
    d.stop()


def main():
    check_limit()
    check_fanout()


run(main)
