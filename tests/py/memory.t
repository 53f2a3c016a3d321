#!/usr/bin/python3
"""memory.t: whatever local clients send, claimd's heap stays within --memory-budget (issue 13
item 1: 16 readers pipelining reads of a 60 KiB claim without reading held 1.07 GB; 32 writers
sending 4 MB claim.put of 4M nils, unpacked at 26x, took 1.2-2.8 GB and stalled everyone).

claimd runs with --memory-budget 64M --request-timeout 4000. All the while a sampler reads the
daemon's RssAnon from /proc/PID/status and a prober (root) asks claim.get every 50 ms.
1. CLAIMD_MEMORY_READERS (default 16) connections of a read-only user (`nobody`, forked child)
   pipeline claim.get of a 60 KiB claim for 4 s and never read: RssAnon stays under the budget
   plus a fixed margin (48 MiB: the code, LMDB's and libuv's own, allocator slack), stats shows
   readers held back, the prober is answered within 1 s throughout; once they go, memory_used
   returns near 0.
2. CLAIMD_MEMORY_BOMBS (default 32) connections each send two ~3 MB claim.put at once whose text
   is an array of tiny values: half 3M nils (more values than the bytes allow: too_large, skipped
   without unpacking, the connection stays usable), half 1.5M one-character strings (within the
   ratio; unpacked one at a time as the budget allows, busy otherwise, invalid when run). The
   same bounds hold; every bomber sees too_large, busy, invalid or (held back past the request
   timeout) a close; none of them gets anything else.
3. A 1 MiB request of 1M nils on a fresh connection is answered too_large and the connection
   then answers ping."""
import json
import os
import pwd
import select
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import msgpack  # noqa: E402
import tap  # noqa: E402
from claimd_harness import Daemon, Client, Closed, Timeout, request_bytes, short, run  # noqa: E402
import ops_helpers as ops  # noqa: E402

MIB = 1 << 20
BUDGET = 64 * MIB
MARGIN = 48 * MIB
BIG_TEXT = ("A very long claim, repeated to make its text sixty kibibytes. " * 1000)[:60 * 1024]

try:
    NOBODY = pwd.getpwnam("nobody").pw_uid
except KeyError:
    NOBODY = 65534


class Watch(threading.Thread):
    """Samples RssAnon and probes claim.get until stopped; keeps the worst figures."""

    def __init__(self, d, cid):
        threading.Thread.__init__(self, daemon=True)
        self.d, self.cid, self.stop_flag = d, cid, threading.Event()
        self.max_anon, self.worst, self.failures, self.probes = 0, 0.0, [], 0

    def run(self):
        c = self.d.client(timeout=10)
        while not self.stop_flag.is_set():
            self.max_anon = max(self.max_anon, self.d.status_kib("RssAnon") or 0)
            t0 = time.monotonic()
            try:
                r = c.call("claim.get", {"id": self.cid}, timeout=10)
                if r.get("speaker") is None:
                    self.failures.append("claim.get answered %s" % short(r))
            except Exception as e:
                self.failures.append(repr(e))
                c = self.d.client(timeout=10)
            self.worst = max(self.worst, time.monotonic() - t0)
            self.probes += 1
            self.stop_flag.wait(0.05)
        c.close()

    def reset(self):
        self.max_anon, self.worst, self.failures, self.probes = 0, 0.0, [], 0


def reader_flood(path, n, seconds, cid, w, go_r):
    """Child (as nobody): n connections push pipelined claim.get as fast as the daemon takes them."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        s.setblocking(False)
        socks.append(s)
    chunk = b"".join(request_bytes(i + 1, "claim.get", {"id": cid}) for i in range(500))
    sent = [0] * n
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for i, s in enumerate(socks):
            try:
                sent[i] += s.send(chunk)
            except (BlockingIOError, InterruptedError):
                pass
        time.sleep(0.01)
    os.write(w, (json.dumps({"sent": sent}) + "\n").encode())
    os.read(go_r, 1)
    for s in socks:
        s.close()


def fork_as(uid, fn, *args):
    r, w = os.pipe()
    go_r, go_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.close(go_w)
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            fn(*args, w, go_r)
        except BaseException as e:
            try:
                os.write(w, (json.dumps({"error": repr(e)}) + "\n").encode())
            except OSError:
                pass
        os._exit(0)
    os.close(w)
    os.close(go_r)
    return pid, os.fdopen(r), go_w


def bounded(watch, label):
    tap.ok_memory(watch.max_anon * 1024 < BUDGET + MARGIN,
                  "%s: RssAnon stays under the budget + %d MiB (peak %d KiB)" % (label, MARGIN // MIB, watch.max_anon))
    tap.ok(not watch.failures and watch.worst < 1.0 and watch.probes > 5,
           "%s: another client's claim.get is answered within 1 s throughout" % label,
           "worst %.3f s over %d probes; failures %r" % (watch.worst, watch.probes, watch.failures[:3]))


def stat(d, key):
    with d.client(timeout=10) as c:
        return c.call("stats").get(key)


def readers_phase(d, watch, cid):
    n = ops.env_int("CLAIMD_MEMORY_READERS", 16)
    watch.reset()
    pid, f, go = fork_as(NOBODY, reader_flood, d.socket, n, 4.0, cid)
    ready, _, _ = select.select([f], [], [], 30)
    rep = json.loads(f.readline() or "{}") if ready else {"error": "no report"}
    sent = rep.get("sent") or []
    used = stat(d, "memory_used")
    paused = stat(d, "memory_paused")
    tap.ok(len(sent) == n and min(sent) > 0,
           "%d read-only connections pipelined claim.get of a 60 KiB claim without reading" % n,
           "child report %r" % rep)
    tap.diag("readers: request bytes taken per connection %r; memory_used %r; memory_paused %r; peak RssAnon %d KiB"
             % (sent, used, paused, watch.max_anon))
    tap.ok(used is not None and used <= BUDGET + BUDGET // 4 and paused,
           "stats: memory_used within the budget, readers held back", "memory_used %r paused %r" % (used, paused))
    bounded(watch, "%d unread readers" % n)
    os.write(go, b"g")
    os.waitpid(pid, 0)
    back = ops.wait_until(lambda: (stat(d, "memory_used") or 0) < 4 * MIB, 10, 0.1)
    tap.ok(back, "memory_used falls back once they are gone", "memory_used %r" % stat(d, "memory_used"))


def bomb(kind):
    head = msgpack.packb([0, 7, "claim.put", [{"speaker": "Bomber", "text": None}]])[:-1]
    if kind == "nils":
        n = 3 * MIB
        return head + b"\xdd" + n.to_bytes(4, "big") + b"\xc0" * n
    n = 3 * MIB // 2
    return head + b"\xdd" + n.to_bytes(4, "big") + b"\xa1x" * n


def bombs_phase(d, watch):
    n = ops.env_int("CLAIMD_MEMORY_BOMBS", 32)
    watch.reset()
    payloads = {"nils": bomb("nils"), "strs": bomb("strs")}
    outcomes = [None] * n

    def run_bomb(i):
        kind = "nils" if i % 2 == 0 else "strs"
        try:
            c = Client(d.socket, timeout=30)
        except OSError as e:
            outcomes[i] = (kind, "connect failed: %r" % e)
            return
        got = []
        try:
            c.send_raw(payloads[kind] * 2)   # two at once: the second waits for the first
            for _ in range(2):
                got.append(c.recv_reply(timeout=30).code or "ok")
            if kind == "nils" and got == ["too_large", "too_large"]:
                got.append("ping" if c.call("ping", timeout=10).get("protocol") == 1 else "no ping")
        except (OSError, Closed):
            got.append("closed")
        except Timeout:
            got.append("timeout")
        finally:
            c.close()
        outcomes[i] = (kind, "+".join(got))

    threads = [threading.Thread(target=run_bomb, args=(i,), daemon=True) for i in range(n)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    took = time.monotonic() - t0
    counts = {}
    for o in outcomes:
        counts[o] = counts.get(o, 0) + 1
    tap.diag("bombs: %r in %.1f s; peak RssAnon %d KiB; memory_busy %r" % (counts, took, watch.max_anon, stat(d, "memory_busy")))
    def fine(o):
        kind, seen = o
        steps = seen.split("+")
        good = {"nils": ("too_large", "busy"), "strs": ("invalid", "busy")}[kind]
        return (all(x in good for x in steps[:2]) and len(steps) >= 2 and steps[2:] in ([], ["ping"])) or \
            (steps[-1] == "closed" and all(x in good for x in steps[:-1]))
    tap.ok(all(o is not None and fine(o) for o in outcomes) and counts.get(("nils", "too_large+too_large+ping"), 0) > 0,
           "%d element bombs: each gets too_large (and the connection goes on), busy, invalid or a close" % n,
           "outcomes %r" % counts)
    bounded(watch, "%d element bombs" % n)


def main():
    ops.raise_nofile(1024)
    d = Daemon(["--memory-budget", "64M", "--request-timeout", "4000", "--socket-mode", "0666"])
    os.chmod(d.tmp, 0o755)
    d.start()
    watch = None
    try:
        with d.client() as c:
            cid = c.call("claim.put", {"text": BIG_TEXT, "speaker": "Long Speaker"})["id"]
            small = c.call("claim.put", {"text": "A short claim for the prober", "speaker": "Prober"})["id"]
            tap.is_(c.call("stats").get("limits", {}).get("memory_budget"), BUDGET, "stats reports --memory-budget")
        tap.diag("idle RssAnon %s KiB" % d.status_kib("RssAnon"))
        watch = Watch(d, small)
        watch.start()
        if ops.is_root():
            readers_phase(d, watch, cid)
        else:
            tap.skip("unread readers as nobody", "needs root to switch uids")
        bombs_phase(d, watch)

        with d.client(timeout=30) as c:
            n = MIB
            c.send_raw(msgpack.packb([0, 9, "claim.put", [{"text": None}]])[:-1] + b"\xdd" + n.to_bytes(4, "big") + b"\xc0" * n)
            r = c.recv_reply()
            tap.ok(r.msgid == 9 and r.code == "too_large" and "values" in (r.error.get("message") or ""),
                   "1M nils in 1 MiB: too_large naming the request", short(r.msg))
            tap.ok(c.call("ping").get("protocol") == 1, "... and the same connection answers ping afterwards")
        tap.ok(d.alive(), "daemon alive")
    finally:
        if watch:
            watch.stop_flag.set()
            watch.join(5)
        tap.is_(d.stop(), 0, "daemon exits 0 on SIGTERM")
        d.cleanup()


run(main)
