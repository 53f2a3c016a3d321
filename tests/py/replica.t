#!/usr/bin/python3
"""replica.t: read replicas that follow a primary's change feed on NATS JetStream (claimd
--replica-of, daemon/replica.h), against real nats-servers on loopback ports.

A replica started from an empty directory, or from a backup, applies the stream to its own LMDB:
its stored tables end byte for byte equal to the primary's (mdb_dump of every record table, the
claim index, and `claimctl export`), after a mixed load, after kill -9 of the replica and of the
primary during a load, after NATS was down for a while, and with a three-node NATS cluster that
loses a node during the load. Writes on a replica are refused with read_only naming the primary;
reads, changes and subscribe work there; min_seq and wait_seq give read-your-writes; a replica
that falls behind the stream's retention stops and says so; --promote makes one a primary."""
import os
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, RpcError, build_dir, run, short  # noqa: E402
from nats_harness import NATS, Nats, NatsCluster, mixed_load  # noqa: E402

STREAM = "bureau"
LOAD = int(os.environ.get("CLAIMD_REPLICA_LOAD", "1500"))
# Every table a write stores (record.h, db.h), and the claim index the replica's own index pass
# derives: byte for byte the primary's. The search tables are compared by what searches find.
TABLES = ["claims", "claim_revs", "entities", "aliases", "name_keys", "extid", "dedup", "verdicts",
          "claim_verdicts", "relations", "changes", "claim index entries", "ix_revs"]
WRITES = {
    "claim.put": {"text": "a write on a replica"},
    "claim.import": {"claims": [{"text": "imported on a replica"}]},
    "claim.update": {"id": 1, "rev": 1, "set": {"tags": ["x"]}},
    "claim.retract": {"id": 1, "reason": "no"},
    "entity.put": {"name": "Nobody"},
    "entity.merge": {"from": 1, "into": 2},
    "verdict.add": {"claim": 1, "rating": "false"},
    "appearance.add": {"claim": 1, "url": "https://example.org/x"},
    "relation.add": {"from": 1, "to": 2, "kind": "repeats"},
}


def replica_args(url):
    return ["--replica-of", url, "--stream", STREAM]


def stats(d):
    with d.client(timeout=30) as c:
        return c.call("stats")


def wait_converged(p, r, timeout=60):
    """Waits until replica r has applied and indexed the primary's last seq; its replica stats."""
    deadline = time.monotonic() + timeout
    st = None
    while time.monotonic() < deadline:
        ps, rs = stats(p), stats(r)
        st = rs["replica"]
        if st["applied_seq"] == ps["seq"] and rs["index_lag"] == 0 and ps["index_lag"] == 0 \
                and st["replica_lag_seqs"] == 0:
            return st
        time.sleep(0.05)
    return st


def dump(d, table):
    if table == "claim index entries":
        # Kept in runs (index_runs.h) that each server cuts at its own passes: compared by the
        # entries they hold, in key order (tests/unit/ixcheck.c).
        out = subprocess.run([os.path.join(build_dir(), "tests", "ixcheck"), "dump", d.data], capture_output=True, timeout=60)
        lines = [l for l in out.stdout.splitlines() if l.startswith((b"index ", b"bad_"))]
        return b"\n".join(lines) if out.returncode == 0 else b"(ixcheck failed: %s)" % out.stderr
    out = subprocess.run(["mdb_dump", "-s", table, d.data], capture_output=True, timeout=60)
    return out.stdout if out.returncode == 0 else b"(mdb_dump failed: %s)" % out.stderr


def export(d):
    out_file = os.path.join(d.tmp, "export.jsonl")
    verdicts = os.path.join(d.tmp, "export-verdicts.jsonl")
    subprocess.run([os.path.join(build_dir(), "claimctl"), "--socket", d.socket, "export", "--include-retracted",
                    "--output", out_file, "--verdicts", verdicts], check=True, capture_output=True, timeout=60)
    with open(out_file, "rb") as f, open(verdicts, "rb") as g:
        return f.read(), g.read()


def reads(d):
    """What a few searches, queries, matches and lists answer (the derived indexes at work)."""
    with d.client(timeout=30) as c:
        out = [c.call("claim.search", {"q": "budget ministry", "limit": 50}),
               c.call("claim.search", {"q": "\"ministry 3\"", "limit": 50}),
               c.call("claim.query", {"speaker": "Speaker 2", "limit": 100}),
               c.call("claim.query", {"status": "false", "order": "recorded_desc", "limit": 100}),
               c.call("claim.match", {"text": "Claim 1-7 about the budget of ministry 0", "limit": 5}),
               c.call("entity.find", {"prefix": "speaker", "limit": 50}),
               c.call("changes", {"since": 0, "limit": 300})]
        for cid in (1, 2, 3, 7):
            out += [c.call("claim.history", {"id": cid}), c.call("verdict.list", {"claim": cid}),
                    c.call("relation.list", {"claim": cid})]
        return out


def check_equal(p, r, name):
    """The replica's tables, export and reads are the primary's."""
    st = wait_converged(p, r)
    seq = stats(p)["seq"]
    tap.ok(st and st["applied_seq"] == seq and st["replica_lag_seqs"] == 0,
           "%s: the replica applied every change (seq %d)" % (name, seq), short(st))
    differ = [t for t in TABLES if dump(p, t) != dump(r, t)]
    tap.ok(not differ, "%s: %d tables byte for byte the primary's" % (name, len(TABLES)), "differ: %s" % differ)
    tap.ok(export(p) == export(r), "%s: claimctl export (with verdicts, retracted) byte for byte the same" % name)
    rp, rr = reads(p), reads(r)
    tap.ok(rp == rr, "%s: searches, queries, matches, history and lists answer the same" % name,
           short([(a, b) for a, b in zip(rp, rr) if a != b][:1]))


def load_in_background(d, n, seed):
    t = threading.Thread(target=mixed_load, args=(d, n, seed))
    t.start()
    return t


def main():
    if not os.access(NATS, os.X_OK):
        tap.bail_out("nats-server is not installed (scripts/deps.sh test installs it)")
    nats = Nats()
    nats.start()
    p = Daemon(["--publish", nats.url(), "--stream", STREAM], log_level="info")
    r = Daemon(replica_args(nats.url()), log_level="info")
    extra = []
    try:
        p.start()
        tap.is_(mixed_load(p, LOAD, 1), [], "%d mixed writes on the primary" % LOAD)
        r.start()
        check_equal(p, r, "from an empty directory")
        rs = stats(r)
        tap.ok(rs["replica"]["stream"] == STREAM and rs["replica"]["state"] in ("caught-up", "applying")
               and rs["publish"] is None, "stats.replica names the stream and its state", short(rs["replica"]))

        # Every write refused with read_only, naming the primary's host and the stream.
        host = socket.gethostname()
        bad = []
        with r.client() as c:
            for method, params in WRITES.items():
                try:
                    c.call(method, params)
                    bad.append((method, "accepted"))
                except RpcError as e:
                    if e.code != "read_only" or host not in e.message or STREAM not in e.message:
                        bad.append((method, e.code, e.message))
            before = c.call("stats")["seq"]
        tap.ok(not bad, "every write method on the replica: read_only naming %s and stream %s" % (host, STREAM),
               short(bad[:3]))
        tap.is_(stats(r)["seq"], before, "the refused writes changed nothing")

        # Subscribers on the replica see the primary's changes as they are applied.
        with r.client(timeout=20) as sub, p.client() as pc:
            sid = sub.call("subscribe", {"types": ["claim"]})["subscription"]
            made = pc.call("claim.put", {"text": "Seen on the replica by a subscriber", "speaker": "Speaker 1"})
            seq = pc.call("stats")["seq"]
            got = None
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and got is None:
                n = sub.recv_notification(timeout=deadline - time.monotonic())
                ch = n[2][0]
                if n[1] == "change" and ch.get("id") == made["id"] and ch.get("op") == "claim.create":
                    got = ch
            tap.ok(got and got["seq"] == seq and got["subscription"] == sid,
                   "a subscriber on the replica gets the primary's claim.create with the primary's seq", short(got))

        # Read-your-writes: min_seq waits for the seq (here while NATS is down for a second).
        with r.client(timeout=30) as rc, p.client() as pc:
            nats.kill()
            made = pc.call("claim.put", {"text": "Written while the replica cannot hear", "speaker": "Speaker 3"})
            seq = pc.call("stats")["seq"]
            try:
                rc.call("claim.get", {"id": made["id"]})
                tap.ok(False, "without min_seq the replica does not have the claim yet")
            except RpcError as e:
                tap.is_(e.code, "not_found", "without min_seq the replica does not have the claim yet")
            threading.Timer(1.0, nats.start).start()
            t0 = time.monotonic()
            got = rc.call("claim.get", {"id": made["id"], "min_seq": seq, "timeout_ms": 25000})
            took = time.monotonic() - t0
            tap.ok(got["text"] == made.get("text", got["text"]) and took >= 0.9,
                   "claim.get with min_seq waits until the seq is applied (%.2f s, NATS back after 1 s)" % took)
            t0 = time.monotonic()
            try:
                rc.call("claim.query", {"speaker": "Speaker 3", "min_seq": seq + 10 ** 6, "timeout_ms": 300})
                tap.ok(False, "a min_seq that never comes times out")
            except RpcError as e:
                took = time.monotonic() - t0
                tap.ok(e.code == "busy" and 0.25 <= took < 5, "a min_seq that never comes: busy after %.2f s" % took,
                       short(e.raw))
            tap.ok(rc.call("wait_seq", {"seq": seq})["seq"] >= seq, "wait_seq answers once the seq is applied")
            try:
                rc.call("claim.get", {"id": made["id"], "min_seq": "soon"})
                tap.ok(False, "min_seq must be a seq")
            except RpcError as e:
                tap.ok(e.code == "invalid" and e.field == "min_seq", "min_seq that is not a seq: invalid", short(e.raw))

        # kill -9 of the replica during a load: it resumes after its last committed seq.
        t = load_in_background(p, 2000, 2)
        time.sleep(0.8)
        r.kill9()
        time.sleep(0.3)
        r.start()
        t.join()
        check_equal(p, r, "after kill -9 of the replica during a load")

        # kill -9 of the primary during a load.
        t = load_in_background(p, 2000, 3)
        time.sleep(0.8)
        p.kill9()
        t.join()
        p.start()
        tap.is_(mixed_load(p, 200, 4), [], "the primary restarted after kill -9 takes writes")
        check_equal(p, r, "after kill -9 of the primary during a load")

        # NATS down for a while during writes, then back.
        nats.kill()
        t = load_in_background(p, 600, 5)
        deadline = time.monotonic() + 15
        while stats(r)["replica"]["state"] != "unreachable" and time.monotonic() < deadline:
            time.sleep(0.05)
        rs = stats(r)
        tap.is_(rs["replica"]["state"], "unreachable", "NATS down: the replica says so and keeps serving reads")
        t.join()
        time.sleep(1)
        nats.start()
        check_equal(p, r, "after NATS was down for a while")

        # Beyond retention: a replica that needs seqs the stream no longer has stops and says so.
        subprocess.run([os.path.join(build_dir(), "tests", "nats_purge"), nats.url(), STREAM, "50"], check=True)
        late = Daemon(replica_args(nats.url()), log_level="info")
        extra.append(late)
        late.start()
        deadline = time.monotonic() + 15
        while stats(late)["replica"]["state"] != "gap" and time.monotonic() < deadline:
            time.sleep(0.05)
        ls = stats(late)
        with open(late.log) as f:
            log = f.read()
        tap.ok(ls["replica"]["state"] == "gap" and ls["seq"] == 0 and "fresh backup" in log,
               "a replica behind the stream's retention stops applying, with state gap and a log line asking "
               "for a fresh backup", short(ls["replica"]))

        # ...and starts from a backup of the primary plus the stream from the backup's seq.
        backup_dir = os.path.join(late.tmp, "from-backup")
        with p.client(timeout=60) as pc:
            pc.call("backup", {"path": backup_dir})
        tap.is_(mixed_load(p, 200, 6), [], "200 writes after the backup")
        fresh = Daemon(["--data", backup_dir] + replica_args(nats.url()), log_level="info")
        fresh.data = backup_dir
        extra.append(fresh)
        fresh.start()
        check_equal(p, fresh, "a replica started from a backup")

        # Promotion: the primary is lost; the caught-up replica becomes the primary.
        check_equal(p, r, "before the promotion")
        p.kill9()
        last = stats(r)["seq"]
        tap.is_(r.stop(), 0, "the replica stops cleanly")
        out = subprocess.run([os.path.join(build_dir(), "claimd"), "--check", r.data], capture_output=True, text=True)
        tap.is_(out.returncode, 0, "claimd --check finds a replica's directory sound", short(out.stdout + out.stderr))
        as_primary = Daemon(["--data", r.data, "--publish", nats.url(), "--stream", STREAM], log_level="info")
        as_primary.tmp, as_primary.socket, as_primary.log, as_primary.data = r.tmp, r.socket, r.log, r.data
        try:
            as_primary.start(timeout=5)
            tap.ok(False, "a replica's directory does not start as a primary before --promote")
        except RuntimeError as e:
            tap.ok("--promote" in str(e), "a replica's directory refuses to start as a primary before --promote")
        out = subprocess.run([os.path.join(build_dir(), "claimd"), "--promote", r.data], capture_output=True, text=True)
        tap.ok(out.returncode == 0 and str(last) in out.stdout, "claimd --promote DIR", short(out.stdout + out.stderr))
        as_primary.start()
        with as_primary.client() as c:
            made = c.call("claim.put", {"text": "The first claim of the promoted primary", "speaker": "Speaker 4"})
            tap.is_(c.call("stats")["seq"], last + 1, "the promoted primary takes writes, its seqs continuing")
        tap.is_(mixed_load(as_primary, 300, 7), [], "300 more writes on the promoted primary")
        check_equal(as_primary, fresh, "the other replica follows the promoted primary")
        extra.append(as_primary)
    finally:
        for d in [p, r] + extra:
            d.stop()
        nats.cleanup()

    # A three-node NATS cluster (stream on all three) that loses a node during the load.
    cluster = NatsCluster()
    cluster.start()
    p = Daemon(["--publish", cluster.url(), "--stream", STREAM, "--stream-replicas", "3"], log_level="info")
    r = Daemon(replica_args(cluster.url()), log_level="info")
    try:
        deadline = time.monotonic() + 30
        p.start()
        while stats(p)["publish"]["state"] not in ("caught-up", "publishing") and time.monotonic() < deadline:
            time.sleep(0.1)
        tap.is_(mixed_load(p, 300, 8), [], "cluster: 300 writes")
        r.start()
        t = load_in_background(p, 1500, 9)
        time.sleep(0.8)
        cluster.nodes[0].kill()
        t.join()
        check_equal(p, r, "cluster: one NATS node of three killed during the load")
    finally:
        p.stop()
        r.stop()
        cluster.cleanup()


run(main)
