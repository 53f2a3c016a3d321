#!/usr/bin/python3
"""sub_fanout.t: subscriptions are bounded per connection (--max-subscriptions, too_large beyond
it) and filed by filter, so 20,000 subscriptions that do not match a write (on 4 connections)
leave the latency of writes (claim.import batches, one change per claim) about where it was
without them, while the ones that match still receive
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
IMPORTS = 8
BATCH = 250


def write_p50(c, speaker, tag):
    """The median time of IMPORTS claim.import calls of BATCH claims: each claim is one change to
    fan out, so a fan-out that walks every subscription costs BATCH * 20,000 checks a call,
    well above the fsync that a single write's latency is mostly made of."""
    times = []
    for i in range(IMPORTS):
        claims = [{"text": "Fan-out latency claim %s %d %d" % (tag, i, k), "speaker": speaker} for k in range(BATCH)]
        t0 = time.perf_counter()
        r = c.call("claim.import", {"claims": claims})
        times.append(time.perf_counter() - t0)
        assert all("error" not in x for x in r["results"]), r
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


def make_subs(d, speakers, rnd):
    """CONNS connections holding PER_CONN subscriptions each that no write of the test matches."""
    subs = [d.client(timeout=60) for _ in range(CONNS)]
    made = 0
    for n, c in enumerate(subs):
        filters = []
        for i in range(PER_CONN):
            k = i % 4
            if k == 0:
                filters.append({"claim": 10 ** 9 + (rnd * CONNS + n) * PER_CONN + i})  # claims never written
            elif k == 1:
                filters.append({"speaker": speakers[i % len(speakers)]})       # other speakers
            elif k == 2:
                filters.append({"ops": ["relation.add", "entity.merge"]})      # ops the writes never make
            else:
                filters.append({"types": ["entity"]})                         # the writes change claims only
        made += sum(1 for r in subscribe_many(c, filters) if r.error is None)
    return subs, made


def check_fanout():
    d = Daemon(["--max-subscriptions", str(PER_CONN)])
    d.start()
    w = d.client(timeout=60)
    speakers = ["Fanout Other %d" % i for i in range(40)]
    for s in speakers + ["Fanout Writer"]:
        w.call("entity.put", {"name": s})
    w.call("claim.put", {"text": "Warm-up claim for the fan-out test", "speaker": "Fanout Writer"})
    watcher = d.client(timeout=30)
    by_speaker = watcher.call("subscribe", {"speaker": "Fanout Writer"})["subscription"]
    by_op = watcher.call("subscribe", {"ops": ["claim.create"]})["subscription"]

    # Rounds of (without, with) the 20,000, so a burst of load from elsewhere on the machine
    # does not decide the comparison; the medians of the rounds are compared.
    bases, loads, made_all, quiet = [], [], [], True
    t0 = time.monotonic()
    for rnd in range(3):
        bases.append(write_p50(w, "Fanout Writer", "baseline %d" % rnd))
        subs, made = make_subs(d, speakers, rnd)
        made_all.append(made)
        if rnd == 0:
            r = subs[0].request("subscribe", {})
            tap.ok(r.code == "too_large", "one more on a full connection: too_large", short(r.msg))
        loads.append(write_p50(w, "Fanout Writer", "loaded %d" % rnd))
        for c in subs:
            try:
                c.recv_message(timeout=0.02)
                quiet = False
            except Timeout:
                pass
            c.close()   # takes its subscriptions out of the index
        time.sleep(0.1)
    tap.is_(made_all, [CONNS * PER_CONN] * 3, "%d non-matching subscriptions made on %d connections, 3 times (%.1f s in all)"
            % (CONNS * PER_CONN, CONNS, time.monotonic() - t0))
    base, loaded = statistics.median(bases), statistics.median(loads)
    tap.ok(loaded < 3 * base + 0.002,
           "claim.import of %d: p50 with 20,000 non-matching subscriptions (%.2f ms) under 3x the baseline (%.2f ms)"
           % (BATCH, loaded * 1000, base * 1000),
           "baselines %s ms, loaded %s ms" % ([round(x * 1000, 2) for x in bases], [round(x * 1000, 2) for x in loads]))
    tap.ok(quiet, "the non-matching subscribers received nothing")

    writes = 6 * IMPORTS * BATCH
    got = {by_speaker: 0, by_op: 0}
    other = 0
    deadline = time.monotonic() + 20
    while sum(got.values()) < 2 * writes and time.monotonic() < deadline:
        try:
            n = watcher.recv_notification(timeout=2)
        except Timeout:
            break
        sid = n[2][0].get("subscription") if n[1] == "change" else None
        if sid in got:
            got[sid] += 1
        else:
            other += 1
    tap.is_(got, {by_speaker: writes, by_op: writes},
            "the matching subscriptions each received every write, each notification naming it")
    tap.is_(other, 0, "and nothing else")
    w.call("claim.put", {"text": "A claim after the subscribers left", "speaker": "Fanout Writer"})
    tap.ok(d.alive(), "the daemon is still running after 60,000 subscriptions came and went")
    for c in (w, watcher):
        c.close()
    d.stop()


def main():
    check_limit()
    check_fanout()


run(main)
