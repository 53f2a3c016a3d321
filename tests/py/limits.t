#!/usr/bin/python3
"""limits.t: the configurable limits (PROTOCOL.md "Limits") hold against hostile clients.

Daemon A (--max-connections 5 --request-timeout 300 and other small limits): stats reports every
configured limit; the 6th connection's request gets `busy` and that connection is closed while
the first 5 keep working; a slot freed is usable again; a connection stuck inside a partial
object (sent at once or trickled) is closed after ~300 ms, one idle between whole objects is not;
a connection over the limit that never sends is closed too. Started with a soft descriptor limit
of 64, claimd still answers every one of 100 connections (ping or busy), never drops one unheard.

Daemon B (--max-output 1M): clients that pipeline many claim.get of a ~60 KiB claim and never
read leave the daemon's RSS bounded, other connections keep being served, and every reply still
arrives, in order, once they read; then 1,000 connections at once all get ping answered.

Knobs: CLAIMD_LIMITS_CONNS (simultaneous connections, default 1000), CLAIMD_FLOOD_CLIENTS
(non-reading clients, default 3), CLAIMD_FLOOD_REQUESTS (claim.get each sends, default 2000).
Prints peak_rss_kib for the report."""
import os
import resource
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, Closed, Timeout, request_bytes, short, run  # noqa: E402
import ops_helpers as ops  # noqa: E402

MIB = 1 << 20
IDLE_MS = 300
LIMITS_A = {"max_connections": 5, "max_request": 1 * MIB, "max_depth": 16, "max_text": 32 << 10,
            "max_batch": 500, "max_output": 2 * MIB, "request_timeout_ms": IDLE_MS, "max_subscriptions": 7}


def flag_args(limits):
    names = {"idle_timeout_ms": "idle-timeout", "request_timeout_ms": "request-timeout"}
    out = []
    for k, v in limits.items():
        out += ["--" + names.get(k, k.replace("_", "-")), str(v)]
    return out


def ping_ok(c, timeout=5):
    try:
        return c.call("ping", timeout=timeout).get("protocol") == 1
    except Exception:
        return False


def closed_within(c, seconds):
    """Reads until EOF; returns the seconds it took, or None when still open after seconds."""
    t0 = time.monotonic()
    closed, _ = c.wait_closed(seconds)
    return time.monotonic() - t0 if closed else None


# ---------------------------------------------------------------------------------------------

def connection_limit(d):
    # The readiness probe's connection may still be closing: wait until this one is alone
    # (the daemon counts a connection until it has seen it close), then open the other four.
    first = d.client(timeout=5)
    deadline = time.monotonic() + 5
    while first.call("stats").get("connections") != 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    conns = [first] + [d.client(timeout=5) for _ in range(4)]
    tap.ok(all(ping_ok(c) for c in conns), "5 connections (the limit) are all served")
    s = conns[0].call("stats")
    lim = s.get("limits") or {}
    tap.is_({k: lim.get(k) for k in LIMITS_A}, LIMITS_A, "stats reports every configured limit")
    tap.ok(lim.get("idle_timeout_ms") == 60000 and lim.get("max_connections_per_uid") == 1
           and lim.get("reserved_connections") == 0 and (lim.get("memory_budget") or 0) >= 4 * MIB,
           "... and the defaults derived from --max-connections", short(lim))
    tap.is_(s.get("connections"), 5, "stats counts the 5 open connections")

    sixth = d.client(timeout=5)
    r = sixth.request("ping")
    tap.ok(r.code == "busy" and isinstance(r.error.get("message"), str),
           "the 6th connection's first request gets busy", short(r))
    tap.ok(closed_within(sixth, 3) is not None, "... and that connection is closed")
    sixth.close()
    tap.ok(all(ping_ok(c) for c in conns), "the first 5 connections still work after the refusal")
    s = conns[1].call("stats")
    tap.ok((s.get("connections_refused") or 0) >= 1, "stats counts the refused connection",
           short({k: s.get(k) for k in ("connections", "connections_refused", "connections_total")}))

    # A connection over the limit that sends nothing holds a descriptor; it should not be able
    # to do so for ever (otherwise max-connections does not bound the daemon's descriptors).
    silent = [ops.connect_raw(d.socket, 5) for _ in range(3)]
    time.sleep(0.05)
    t0 = time.monotonic()
    left = list(silent)
    while left and time.monotonic() - t0 < 3.0:
        for s_ in list(left):
            s_.settimeout(0.02)
            try:
                if s_.recv(1) == b"":
                    left.remove(s_)
            except socket.timeout:
                pass
            except OSError:
                left.remove(s_)
    tap.ok(not left, "connections over the limit that never send are closed (within 3 s)",
           "%d of 3 silent over-limit connections still open after %.1fs" % (len(left), time.monotonic() - t0))
    for s_ in silent:
        s_.close()

    conns.pop().close()
    fresh = ops.wait_until(lambda: _try_ping_new(d), 3.0, 0.05)
    tap.ok(fresh, "a slot freed by a closing connection is usable again")
    for c in conns:
        c.close()
    ops.wait_until(lambda: _connections(d) <= 1, 3.0, 0.05)


def _try_ping_new(d):
    try:
        with d.client(timeout=2) as c:
            return c.request("ping").error is None
    except (OSError, Closed, Timeout):
        return False


def _connections(d):
    for _ in range(50):
        try:
            with d.client(timeout=2) as c:
                r = c.request("stats")
                if r.error is None:
                    return r.result.get("connections")
        except (OSError, Closed, Timeout):
            pass
        time.sleep(0.05)
    return None


def idle_timeout(d):
    whole = request_bytes(7, "claim.put", {"text": "A claim sent in two halves", "speaker": "Half Speaker"})

    half = d.client(timeout=5)
    half.send_raw(whole[:len(whole) // 2])
    took = closed_within(half, 3)
    tap.ok(took is not None and 0.2 <= took <= 1.5,
           "a connection stuck inside half an object is closed after ~%d ms" % IDLE_MS,
           "closed after %s s" % (None if took is None else round(took, 3)))
    half.close()

    # The same object completed within the timeout is answered and the connection stays.
    slow = d.client(timeout=5)
    slow.send_raw(whole[:len(whole) // 2])
    time.sleep(IDLE_MS / 3000.0)
    slow.send_raw(whole[len(whole) // 2:])
    r = slow.recv_reply()
    tap.ok(r.msgid == 7 and r.error is None, "an object completed within the timeout is answered", short(r))
    time.sleep(2 * IDLE_MS / 1000.0)
    tap.ok(ping_ok(slow), "... and its connection stays open afterwards")
    slow.close()

    # Trickling does not restart the clock: a slow-loris gets the same timeout.
    trickle = d.client(timeout=5)
    t0 = time.monotonic()
    sent = 0
    try:
        for i in range(len(whole) - 1):
            trickle.send_raw(whole[i:i + 1])
            sent += 1
            time.sleep(0.03)
    except OSError:
        pass
    took = closed_within(trickle, 3)
    total = time.monotonic() - t0
    tap.ok(sent < len(whole) - 1 and total < 2.0,
           "a connection trickling one byte every 30 ms is closed before its object completes",
           "sent %d of %d bytes, closed=%s after %.2fs" % (sent, len(whole), took is not None, total))
    trickle.close()

    idle = d.client(timeout=5)
    ok1 = ping_ok(idle)
    time.sleep(4 * IDLE_MS / 1000.0)
    ok2 = ping_ok(idle)
    time.sleep(2 * IDLE_MS / 1000.0)
    ok3 = ping_ok(idle)
    tap.ok(ok1 and ok2 and ok3, "a connection idle between whole objects for 4x the timeout is not closed")

    # A whole object followed by half of the next: the first is answered, then the close comes.
    mixed = d.client(timeout=5)
    mixed.send_raw(request_bytes(1, "ping") + whole[:5])
    r = mixed.recv_reply()
    took = closed_within(mixed, 3)
    tap.ok(r.error is None and took is not None,
           "ping then half an object: ping answered, then closed after the timeout", short(r))
    mixed.close()
    tap.ok(ping_ok(idle), "other connections unaffected by the idle closes")
    idle.close()


# ---------------------------------------------------------------------------------------------

def flood_output(d, rss_log):
    nflood = ops.env_int("CLAIMD_FLOOD_CLIENTS", 3)
    nreq = ops.env_int("CLAIMD_FLOOD_REQUESTS", 2000)
    rng = ops.seed_from_env("CLAIMD_LIMITS_SEED")[1]
    healthy = d.client(timeout=10)
    big = ops.random_text(rng, 60 << 10, "a big claim:")
    cid = healthy.call("claim.put", {"text": big, "speaker": "Big Speaker"})["id"]
    g = healthy.call("claim.get", {"id": cid})
    tap.is_(g.get("text"), big, "the ~60 KiB claim reads back")
    time.sleep(0.2)
    rss0 = d.status_kib("VmRSS")
    rss_log.append(rss0)

    payload = b"".join(request_bytes(i + 1, "claim.get", {"id": cid}) for i in range(nreq))
    floods = []
    t0 = time.monotonic()
    for _ in range(nflood):
        s = ops.connect_raw(d.socket)
        sent = ops.send_nonblocking(s, payload, 2.0)
        floods.append((s, sent))
    time.sleep(0.5)
    rss1 = d.status_kib("VmRSS")
    rss_log.append(rss1)
    reply_len = len(big) + 400
    tap.diag("%d non-reading clients sent %s bytes of claim.get (%d requests each, ~%.0f MiB of replies each); "
             "daemon RSS %d -> %d KiB" % (nflood, [s for _, s in floods], nreq, nreq * reply_len / MIB, rss0, rss1))
    tap.ok_memory(rss1 - rss0 < 64 * 1024,
           "daemon RSS grows < 64 MiB under %d clients that never read (grew %d KiB; max-output 1M)"
           % (nflood, rss1 - rss0))

    lat = []
    for _ in range(5):
        t = time.monotonic()
        good = ping_ok(healthy) and healthy.call("claim.get", {"id": cid}).get("text") == big
        lat.append(time.monotonic() - t)
        if not good:
            break
    tap.ok(good and max(lat) < 1.0, "other connections keep being served meanwhile (worst %.0f ms)" % (max(lat) * 1000))
    s = healthy.call("stats")
    tap.ok(s.get("connections", 0) >= nflood + 1, "the non-reading clients are still connected (not dropped)",
           short({k: s.get(k) for k in ("connections", "requests")}))

    # Now each reads: every request sent gets its reply, in order, the daemon resuming reading.
    problems = []
    for k, (s, sent) in enumerate(floods):
        want = nreq if sent == len(payload) else None
        c = ops.client_on(s, 30)
        if want is None:   # the rest of the payload goes while we read, now that the daemon drains
            threading.Thread(target=s.sendall, args=(payload[sent:],), daemon=True).start()
        n = 0
        try:
            for i in range(nreq):
                r = c.recv_reply(30)
                if r.msgid != i + 1 or r.error is not None or len(r.result.get("text", "")) != len(big):
                    problems.append("client %d reply %d: %s" % (k, i, short(r)))
                    break
                n += 1
        except (Closed, Timeout) as e:
            problems.append("client %d: %r after %d replies" % (k, e, n))
        s.close()
    tap.ok(not problems, "once they read, every one of the %d x %d requests is answered in order"
           % (nflood, nreq), *problems[:5])
    rss2 = d.status_kib("VmRSS")
    rss_log.append(rss2)
    tap.ok(ping_ok(healthy), "daemon alive and serving after the flood (RSS %d KiB)" % rss2)
    healthy.close()


def many_connections(d, rss_log):
    n = ops.env_int("CLAIMD_LIMITS_CONNS", 1000)
    t0 = time.monotonic()
    conns, problems = [], []
    try:
        for i in range(n):
            conns.append(d.client(timeout=20))
    except OSError as e:
        problems.append("connect %d failed: %r" % (len(conns), e))
    for c in conns:
        c.send("ping")
    answered = 0
    for i, c in enumerate(conns):
        try:
            r = c.recv_reply(20)
            if r.error is None and r.result.get("protocol") == 1:
                answered += 1
            elif len(problems) < 5:
                problems.append("connection %d: %s" % (i, short(r)))
        except (Closed, Timeout) as e:
            if len(problems) < 5:
                problems.append("connection %d: %r" % (i, e))
    took = time.monotonic() - t0
    rss = d.status_kib("VmRSS")
    rss_log.append(rss)
    tap.ok(answered == n, "%d connections at once: all get ping answered (%d, %.2fs)" % (n, answered, took),
           *problems)
    with d.client() as c:
        s = c.call("stats")
    tap.ok(s.get("connections", 0) >= n + 1, "stats counts them (%s)" % s.get("connections"))
    tap.diag("daemon RSS with %d connections: %d KiB, %s fds" % (n, rss, ops.open_fds(d.proc.pid)))
    for c in conns:
        c.close()
    back = ops.wait_until(lambda: (_connections(d) or 0) <= 1, 5.0, 0.05)
    tap.ok(back, "all of them are released once closed")


def fd_limit_below_max_connections():
    """With RLIMIT_NOFILE (soft) below --max-connections, a connection must still get an
    answer: ping, or busy. libuv closes what it cannot accept without a word."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 200:
        tap.diag("descriptor-limit case skipped: hard limit %d" % hard)
        return
    d = Daemon(["--max-connections", "1024"])
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
    try:
        d.start()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    conns, outcome = [], {}
    try:
        for _ in range(100):
            try:
                conns.append(d.client(timeout=3))
            except OSError:
                outcome["connect failed"] = outcome.get("connect failed", 0) + 1
        for c in conns:
            try:
                r = c.request("ping", timeout=3)
                k = "ok" if r.error is None else r.code
            except (Closed, Timeout, OSError) as e:
                k = type(e).__name__
            outcome[k] = outcome.get(k, 0) + 1
        tap.ok(set(outcome) <= {"ok", "busy"},
               "started with a soft descriptor limit of 64, 100 connections each get ping answered or busy",
               "outcomes: %s (claimd should raise RLIMIT_NOFILE towards --max-connections)" % outcome)
        for c in conns:
            c.close()
        conns = []
        tap.ok(ops.wait_until(lambda: _try_ping_new(d), 3.0, 0.05), "daemon serves again once they are closed")
    finally:
        for c in conns:
            c.close()
        d.stop()
        d.cleanup()


def main():
    nconn = ops.env_int("CLAIMD_LIMITS_CONNS", 1000)
    ops.raise_nofile(nconn + 200)

    a = Daemon(flag_args(LIMITS_A), log_level="warn")
    a.start()
    try:
        connection_limit(a)
        idle_timeout(a)
        tap.ok(a.alive(), "daemon A alive at the end")
    finally:
        tap.is_(a.stop(), 0, "daemon A exits 0 on SIGTERM")
        a.cleanup()

    b = Daemon(["--max-output", "1M"])
    b.start()
    rss_log = []
    try:
        with b.client() as c:
            lim = c.call("stats").get("limits") or {}
        tap.ok(lim.get("max_output") == MIB and lim.get("max_connections") == 1024
               and lim.get("idle_timeout_ms") == 60000 and lim.get("request_timeout_ms") == 30000 and lim.get("max_request") == 16 * MIB
               and lim.get("max_text") == 64 << 10 and lim.get("max_batch") == 10000 and lim.get("max_depth") == 32,
               "stats reports --max-output and the contract's defaults for the rest", short(lim))
        flood_output(b, rss_log)
        many_connections(b, rss_log)
        hwm = max([b.status_kib("VmHWM") or 0] + [r for r in rss_log if r])
        tap.diag("peak_rss_kib=%s (daemon B's VmHWM; RSS samples %s)" % (hwm, rss_log))
        tap.ok_memory(hwm is not None and hwm < 256 * 1024, "daemon B's peak RSS stays under 256 MiB (%s KiB)" % hwm)
    finally:
        tap.is_(b.stop(), 0, "daemon B exits 0 on SIGTERM")
        b.cleanup()

    fd_limit_below_max_connections()


run(main)
