"""ops_helpers.py: what the operations tests (access, limits, storage, crash loop, backup) need
beyond claimd_harness: other uids, daemons under a wrapper command (setpriv, unshare), process
memory figures, claims that can be checked field by field, and batched reads.

Uses only the wire contract, like the harness. Run with /usr/bin/python3.
"""
import json
import os
import pwd
import grp
import random
import resource
import select
import socket
import shutil
import subprocess
import sys
import time

import tap
from claimd_harness import Client, Daemon, utc, short
import msgpack

# ---------------------------------------------------------------------------------------------
# Skipping and accounts.


def skip_all(reason):
    """Skips the whole script the TAP way and exits 0."""
    print("1..0 # SKIP %s" % reason, flush=True)
    sys.exit(0)


def is_root():
    return os.geteuid() == 0


def _run_quiet(argv):
    return subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def ensure_group(name):
    """The gid of group name, creating it as a system group when missing. Raises RuntimeError."""
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        pass
    r = _run_quiet(["groupadd", "--system", name])
    if r.returncode not in (0, 9):       # 9: created concurrently by another run
        raise RuntimeError("groupadd %s: %s" % (name, r.stderr.strip()))
    return grp.getgrnam(name).gr_gid


def ensure_user(name, groups=()):
    """(uid, gid) of system user name (no home, no shell), created when missing and added to
    the supplementary groups given. Raises RuntimeError."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        argv = ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group"]
        if groups:
            argv += ["-G", ",".join(groups)]
        r = _run_quiet(argv + [name])
        if r.returncode not in (0, 9):
            raise RuntimeError("useradd %s: %s" % (name, r.stderr.strip()))
        pw = pwd.getpwnam(name)
    for g in groups:
        if name not in grp.getgrnam(g).gr_mem and pw.pw_gid != grp.getgrnam(g).gr_gid:
            r = _run_quiet(["usermod", "-a", "-G", g, name])
            if r.returncode != 0:
                raise RuntimeError("usermod -a -G %s %s: %s" % (g, name, r.stderr.strip()))
    return pw.pw_uid, pw.pw_gid


def setpriv_prefix(user, group=None, init_groups=True):
    """argv prefix running a command as user (and group, default the user's own group)."""
    argv = ["setpriv", "--reuid", user, "--regid", group or user]
    argv += ["--init-groups"] if init_groups else ["--clear-groups"]
    return argv


def runs_as(user, argv):
    """True when argv, run as user through setpriv, exits 0."""
    return subprocess.run(setpriv_prefix(user) + argv, stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


# ---------------------------------------------------------------------------------------------
# A client run as another user. It gets the calls as JSON on stdin and prints one JSON line:
# {"replies": [{"error": .., "result": ..}, ...]} or {"connect_error": "..."}. bin values come
# back as {"$bin": hex} since JSON has no bytes.

_CLIENT = r'''
import json, socket, sys, msgpack
req = json.load(sys.stdin)
def plain(v):
    if isinstance(v, bytes): return {"$bin": v.hex()}
    if isinstance(v, (list, tuple)): return [plain(x) for x in v]
    if isinstance(v, dict): return {str(k): plain(x) for k, x in v.items()}
    return v
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(req.get("timeout", 10))
try:
    s.connect(req["socket"])
except OSError as e:
    print(json.dumps({"connect_error": "%s: %s" % (type(e).__name__, e), "errno": e.errno})); sys.exit(0)
u = msgpack.Unpacker(raw=False, strict_map_key=False)
out = []
for i, (method, params) in enumerate(req["calls"]):
    if method.startswith("!"):   # "!name": sent as a client notification, nothing to wait for
        s.sendall(msgpack.packb([2, method[1:], [params] if params is not None else []], use_bin_type=True))
        out.append({"notified": True}); continue
    s.sendall(msgpack.packb([0, i + 1, method, [params] if params is not None else []], use_bin_type=True))
    msg = None
    while msg is None:
        try:
            msg = next(u)
        except StopIteration:
            chunk = s.recv(65536)
            if not chunk:
                out.append({"closed": True}); break
            u.feed(chunk)
    if msg is None: break
    out.append({"msgid": msg[1], "error": plain(msg[2]), "result": plain(msg[3])})
print(json.dumps({"uid": __import__("os").getuid(), "replies": out}))
'''


def client_as(prefix, socket_path, calls, timeout=20):
    """Runs the calls [(method, params or None)] one by one on one connection opened by a
    process started with the argv prefix (e.g. setpriv_prefix(...)). A method written "!name" is
    sent as a notification [2, name, params] (no reply awaited). Returns the parsed JSON."""
    proc = subprocess.run(prefix + ["/usr/bin/python3", "-c", _CLIENT],
                          input=json.dumps({"socket": socket_path, "calls": calls, "timeout": timeout}),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout + 10)
    if proc.returncode != 0:
        raise RuntimeError("client as %s failed (%d): %s" % (prefix, proc.returncode, proc.stderr.strip()))
    return json.loads(proc.stdout)


# ---------------------------------------------------------------------------------------------
# Daemons under a wrapper command.

class WrappedDaemon(Daemon):
    """A Daemon whose command line is wrapped: wrap(argv) -> argv. The wrapper must exec claimd
    in the same process (setpriv, `unshare -m sh -c '... exec "$@"'`), so the pid stays claimd's."""

    def __init__(self, wrap, extra_args=(), log_level="warn"):
        Daemon.__init__(self, extra_args, log_level)
        self.wrap = wrap

    def argv(self):
        return self.wrap(Daemon.argv(self))


# ---------------------------------------------------------------------------------------------
# Process figures.

def proc_status_kib(pid, key):
    """A size field of /proc/PID/status (VmRSS, VmHWM, ...) in KiB, or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def proc_uid(pid):
    """The real uid of a process."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    return None


def open_fds(pid):
    try:
        return len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        return None


def raise_nofile(want):
    """Raises this process's RLIMIT_NOFILE soft limit (and the hard one when root) to at least
    want; children (the daemon) inherit it. Returns the soft limit in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= want:
        return soft
    if hard != resource.RLIM_INFINITY and hard < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
            return want
        except (ValueError, OSError):
            want = hard
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return want


def wait_until(pred, timeout, step=0.01):
    """Polls pred until it returns something true or timeout passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


# ---------------------------------------------------------------------------------------------
# Claims.

SPEAKERS = ["Rand Paul", "Dmitry Peskov", "Hogan Gidley", "U.S. Embassy in Moscow", "White House",
            "Vladimir Putin", "Mike Pompeo"]
OUTLETS = ["RFE/RL", "TASS", "Radio Svoboda", "Current Time", "RIA Novosti"]
WORDS = ("letter diplomacy sanctions delegation capitol kremlin channels introduction summit senate "
         "embassy visit parliament dialogue spokesman statement invitation congress relations moscow").split()


def _vocabulary(n=4000):
    r = random.Random(20180808)
    return WORDS + sorted({"".join(r.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(r.randint(3, 10)))
                           for _ in range(n)})


VOCABULARY = _vocabulary()


def random_text(rng, n_bytes, prefix=""):
    """prefix followed by words drawn from a fixed vocabulary of ~4,000 (frequent ones far more
    often, as in prose), up to about n_bytes bytes of ASCII. A bounded vocabulary keeps the
    full-text index as it would be for real text; the random order keeps texts distinct."""
    parts, size, top = [prefix] if prefix else [], len(prefix), len(VOCABULARY) - 1
    while size < n_bytes:
        w = VOCABULARY[min(int(rng.paretovariate(0.8)) - 1, top)] if rng.random() < 0.7 else rng.choice(VOCABULARY)
        parts.append(w)
        size += len(w) + 1
    return " ".join(parts)[:n_bytes]


def make_claim(rng, key, text_bytes=None, by="ops"):
    """A claim with every kind of field, unique by its external_id key (which its text repeats)."""
    text = "claim %s: " % key
    text = random_text(rng, text_bytes, text) if text_bytes else text + " ".join(
        rng.choice(WORDS) for _ in range(rng.randint(3, 12)))
    claim = {
        "text": text,
        "speaker": rng.choice(SPEAKERS),
        "external_id": str(key),
        "said_at": "2018-%02d-%02d" % (rng.randint(1, 12), rng.randint(1, 28)),
        "tags": sorted(set(rng.sample(WORDS, rng.randint(0, 3)))),
        "appearances": [{"url": "https://example.org/ops/%s" % key, "outlet": rng.choice(OUTLETS),
                         "published_at": "2018-09-01"}],
        "about": sorted(set(rng.sample(SPEAKERS, rng.randint(0, 2)))),
        "by": by,
    }
    if rng.random() < 0.3:
        claim["via"] = [{"name": "Russian news agencies", "how": "quoted"}]
    return claim


def claim_diffs(sent, got):
    """How claim.get's answer differs from the claim sent to claim.put (empty when it is whole
    and unchanged: rev 1, every field as sent)."""
    if not isinstance(got, dict):
        return ["not a claim: %s" % short(got)]
    view = {
        "text": got.get("text"), "speaker": (got.get("speaker") or {}).get("name"),
        "external_id": got.get("external_id"), "said_at": utc(got.get("said_at")),
        "tags": sorted(got.get("tags") or []),
        "appearances": [(a.get("url"), (a.get("outlet") or {}).get("name"), utc(a.get("published_at")))
                        for a in got.get("appearances") or []],
        "about": sorted(x.get("name") for x in got.get("about") or []),
        "via": [(h.get("name"), h.get("how")) for h in got.get("via") or []],
        "recorded_by": got.get("recorded_by"), "rev": got.get("rev"),
    }
    want = {
        "text": sent["text"], "speaker": sent.get("speaker"), "external_id": sent.get("external_id"),
        "said_at": sent.get("said_at"), "tags": sorted(sent.get("tags") or []),
        "appearances": [(a["url"], a["outlet"], a["published_at"]) for a in sent.get("appearances") or []],
        "about": sorted(sent.get("about") or []), "via": [(h["name"], h["how"]) for h in sent.get("via") or []],
        "recorded_by": sent.get("by"), "rev": 1,
    }
    out = []
    for k in want:
        if view[k] != want[k]:
            out.append("%s: got %s, want %s" % (k, short(view[k], 120), short(want[k], 120)))
    return out


def get_many(client, ids, chunk=200, timeout=60):
    """claim.get of every id, pipelined chunk at a time; returns {id: Reply}."""
    out = {}
    ids = list(ids)
    for i in range(0, len(ids), chunk):
        part = ids[i:i + chunk]
        for cid, reply in zip(part, client.pipeline([("claim.get", {"id": cid}) for cid in part], timeout)):
            out[cid] = reply
    return out


def check_claims(client, known, chunk=200):
    """Problems (a list of str) found reading back known {id: sent claim}: missing or different."""
    problems = []
    for cid, reply in get_many(client, known.keys(), chunk).items():
        if reply.error is not None:
            problems.append("id %s (%s): %s" % (cid, known[cid].get("external_id"), short(reply.error)))
            continue
        d = claim_diffs(known[cid], reply.result)
        if d:
            problems.append("id %s (%s): %s" % (cid, known[cid].get("external_id"), "; ".join(d)))
    return problems


def scan_ids_from(client, first, chunk=200, timeout=60):
    """claim.get from id first upwards until a chunk ends in not_found; returns ({id: claim},
    [other errors]). Claim ids are dense, so the first not_found ends the scan."""
    found, errors, cid = {}, [], first
    while True:
        ids = list(range(cid, cid + chunk))
        replies = client.pipeline([("claim.get", {"id": i}) for i in ids], timeout)
        for i, r in zip(ids, replies):
            if r.error is None:
                found[i] = r.result
            elif r.code != "not_found":
                errors.append("id %d: %s" % (i, short(r.error)))
        if any(r.code == "not_found" for r in replies):
            return found, errors
        cid += chunk


def seed_from_env(name):
    """A seed from $name, else a fresh one; printed so a failure can be replayed."""
    seed = int(os.environ.get(name) or time.time_ns() % 1000000)
    tap.diag("seed %d (%s=%d replays it)" % (seed, name, seed))
    return seed, random.Random(seed)


def env_int(name, default):
    v = os.environ.get(name)
    return int(v) if v else default


def chown_tree(path, uid, gid):
    for root, dirs, files in os.walk(path):
        os.chown(root, uid, gid)
        for f in files:
            os.chown(os.path.join(root, f), uid, gid)


def have(cmd):
    return shutil.which(cmd) is not None


def connect_raw(path, timeout=10.0):
    """A bare blocking Unix socket connected to path."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.connect(path)
    return s


def send_nonblocking(sock, data, seconds):
    """Writes as much of data as the peer takes within seconds, never blocking; returns the
    number of bytes written."""
    sock.setblocking(False)
    sent, deadline = 0, time.monotonic() + seconds
    while sent < len(data) and time.monotonic() < deadline:
        try:
            sent += sock.send(data[sent:sent + 65536])
        except BlockingIOError:
            select.select([], [sock], [], 0.05)
    return sent


def client_on(sock, timeout=10.0):
    """A harness Client around an already connected socket (e.g. one flooded by hand)."""
    c = Client.__new__(Client)
    sock.setblocking(True)
    sock.settimeout(timeout)
    c.path, c.timeout, c.sock = None, timeout, sock
    c.unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, unicode_errors="surrogateescape")
    c.next_msgid, c.notifications, c.eof = 1, [], False
    return c


def skip_ok(name, reason):
    """A TAP test skipped with its reason ("ok N - name # SKIP reason")."""
    tap._count += 1
    print("ok %d - %s # SKIP %s" % (tap._count, str(name).replace("#", "\\#"), reason), flush=True)
