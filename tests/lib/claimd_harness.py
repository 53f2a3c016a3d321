"""claimd_harness.py: starts a claimd on a temp dir for black-box tests and talks raw msgpack-rpc to it.

Knows only the wire contract (shared PROTOCOL.md): nothing here uses libclaimd. Run with
/usr/bin/python3 (Debian's, which has python3-msgpack).
"""
import atexit
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback

import msgpack

import tap

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
EXAMPLES = os.path.join(REPO, "examples")

REQUEST, RESPONSE, NOTIFICATION = 0, 1, 2
ERROR_CODES = ("bad_request", "unknown_method", "invalid", "not_found", "conflict", "too_large",
               "forbidden", "busy", "storage_full", "read_only", "internal")


def build_dir():
    """The build directory holding claimd: $CLAIMD_BUILD, else <repo>/build."""
    return os.environ.get("CLAIMD_BUILD") or os.path.join(REPO, "build")


# ---------------------------------------------------------------------------------------------
# Encoding, including deliberately broken objects.

class Raw:
    """Bytes spliced verbatim into an encoded object (to build invalid MessagePack on purpose)."""

    def __init__(self, data):
        self.data = bytes(data)


def str_header(n):
    """The MessagePack str header for a payload of n bytes."""
    if n < 32:
        return bytes([0xa0 | n])
    if n < 0x100:
        return bytes([0xd9, n])
    if n < 0x10000:
        return bytes([0xda]) + n.to_bytes(2, "big")
    return bytes([0xdb]) + n.to_bytes(4, "big")


def raw_str(data):
    """A MessagePack *str* object carrying arbitrary bytes (e.g. invalid UTF-8)."""
    return Raw(str_header(len(data)) + bytes(data))


def _array_header(n):
    if n < 16:
        return bytes([0x90 | n])
    if n < 0x10000:
        return bytes([0xdc]) + n.to_bytes(2, "big")
    return bytes([0xdd]) + n.to_bytes(4, "big")


def _map_header(n):
    if n < 16:
        return bytes([0x80 | n])
    if n < 0x10000:
        return bytes([0xde]) + n.to_bytes(2, "big")
    return bytes([0xdf]) + n.to_bytes(4, "big")


def _contains_raw(obj):
    if isinstance(obj, Raw):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_contains_raw(x) for x in obj)
    if isinstance(obj, dict):
        return any(_contains_raw(k) or _contains_raw(v) for k, v in obj.items())
    return False


def pack(obj):
    """Encodes obj as MessagePack (str as str, bytes as bin); Raw parts are copied verbatim."""
    if not _contains_raw(obj):
        return msgpack.packb(obj, use_bin_type=True)
    if isinstance(obj, Raw):
        return obj.data
    if isinstance(obj, (list, tuple)):
        return _array_header(len(obj)) + b"".join(pack(x) for x in obj)
    return _map_header(len(obj)) + b"".join(pack(k) + pack(v) for k, v in obj.items())


def request_bytes(msgid, method, params=None):
    """One request object; params None means [], a dict means [dict], a list is sent as given."""
    if params is None:
        params = []
    elif isinstance(params, dict):
        params = [params]
    return pack([REQUEST, msgid, method, params])


# ---------------------------------------------------------------------------------------------
# Client.

class RpcError(Exception):
    """An error reply: code, message, field (or None), id (or None), and the raw error map."""

    def __init__(self, err, msgid=None):
        self.raw = err
        self.msgid = msgid
        if isinstance(err, dict):
            self.code = err.get("code")
            self.message = err.get("message")
            self.field = err.get("field")
            self.id = err.get("id")
        else:
            self.code = self.message = self.field = self.id = None
        Exception.__init__(self, "%s: %s (field=%r id=%r)" % (self.code, self.message, self.field, self.id))


class Closed(Exception):
    """The daemon closed the connection."""


class Timeout(Exception):
    """Nothing (or not enough) arrived in time."""


class ProtocolViolation(Exception):
    """The daemon sent something that is not a valid msgpack-rpc message."""


class Reply:
    """One response: msgid, error (map or None), result."""

    def __init__(self, msg):
        if not (isinstance(msg, list) and len(msg) == 4 and msg[0] == RESPONSE):
            raise ProtocolViolation("not a response: %r" % (msg,))
        self.msg = msg
        self.msgid, self.error, self.result = msg[1], msg[2], msg[3]

    def unwrap(self):
        """The result, or raises RpcError."""
        if self.error is not None:
            raise RpcError(self.error, self.msgid)
        return self.result

    @property
    def code(self):
        return self.error.get("code") if isinstance(self.error, dict) else None

    def __repr__(self):
        return "Reply(%r)" % (self.msg,)


class Client:
    """A blocking msgpack-rpc connection to claimd."""

    def __init__(self, path, timeout=10.0):
        self.path = path
        self.timeout = timeout
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except Exception:
            self.sock.close()
            raise
        self.unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, unicode_errors="surrogateescape")
        self.next_msgid = 1
        self.notifications = []
        self.eof = False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def take_msgid(self):
        msgid = self.next_msgid
        self.next_msgid = (self.next_msgid + 1) & 0xffffffff
        return msgid

    def send_raw(self, data):
        """Writes bytes as they are."""
        self.sock.sendall(data)

    def send(self, method, params=None, msgid=None):
        """Sends one request without waiting; returns its msgid."""
        if msgid is None:
            msgid = self.take_msgid()
        self.send_raw(request_bytes(msgid, method, params))
        return msgid

    def recv_message(self, timeout=None):
        """The next decoded message of any type; raises Closed on EOF and Timeout when none came."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            try:
                return next(self.unpacker)
            except StopIteration:
                pass
            if self.eof:
                raise Closed("connection closed by the daemon")
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout("no complete message within the timeout")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 16)
            except socket.timeout:
                raise Timeout("no complete message within the timeout")
            except ConnectionResetError:
                chunk = b""
            if not chunk:
                self.eof = True
                continue
            self.unpacker.feed(chunk)

    def recv_reply(self, timeout=None):
        """The next response; notifications met on the way are kept in self.notifications."""
        while True:
            msg = self.recv_message(timeout)
            if isinstance(msg, list) and len(msg) == 3 and msg[0] == NOTIFICATION:
                self.notifications.append(msg)
                continue
            return Reply(msg)

    def recv_notification(self, timeout=None):
        """The next notification [2, method, params] (a response arriving first is an error)."""
        if self.notifications:
            return self.notifications.pop(0)
        msg = self.recv_message(timeout)
        if not (isinstance(msg, list) and len(msg) == 3 and msg[0] == NOTIFICATION):
            raise ProtocolViolation("expected a notification, got %r" % (msg,))
        return msg

    def request(self, method, params=None, timeout=None):
        """Sends one request and returns its Reply (errors are not raised)."""
        msgid = self.send(method, params)
        reply = self.recv_reply(timeout)
        if reply.msgid != msgid:
            raise ProtocolViolation("reply msgid %r for request %r" % (reply.msgid, msgid))
        return reply

    def call(self, method, params=None, timeout=None):
        """Sends one request and returns its result; an error reply raises RpcError."""
        return self.request(method, params, timeout).unwrap()

    def error_of(self, method, params=None):
        """Sends one request that is expected to fail; returns its RpcError (None if it succeeded)."""
        reply = self.request(method, params)
        return None if reply.error is None else RpcError(reply.error, reply.msgid)

    def pipeline(self, calls, timeout=None):
        """Sends every (method, params) in one write, then reads the replies in order.
        Returns the list of Reply; raises ProtocolViolation when a msgid does not match."""
        msgids, data = [], []
        for method, params in calls:
            msgid = self.take_msgid()
            msgids.append(msgid)
            data.append(request_bytes(msgid, method, params))
        self.send_raw(b"".join(data))
        replies = []
        for msgid in msgids:
            reply = self.recv_reply(timeout)
            if reply.msgid != msgid:
                raise ProtocolViolation("reply msgid %r where %r was expected" % (reply.msgid, msgid))
            replies.append(reply)
        return replies

    def wait_closed(self, timeout=5.0):
        """Reads until EOF; returns (closed, messages received before it)."""
        messages = []
        deadline = time.monotonic() + timeout
        while True:
            try:
                messages.append(self.recv_message(max(0.0, deadline - time.monotonic())))
            except Closed:
                return True, messages
            except Timeout:
                return False, messages
            except (msgpack.ExtraData, ValueError) as e:
                raise ProtocolViolation("undecodable bytes from the daemon: %r" % (e,))


# ---------------------------------------------------------------------------------------------
# Daemon.

_running = []
_all = []


def _kill_leftovers():
    for d in list(_running):
        if d.proc is not None and d.proc.poll() is None:
            d.proc.kill()
            d.proc.wait()


atexit.register(_kill_leftovers)


class Daemon:
    """One claimd process on a private temp dir (data dir, socket and log inside it)."""

    def __init__(self, extra_args=(), log_level="warn"):
        self.binary = os.path.join(build_dir(), "claimd")
        if not os.access(self.binary, os.X_OK):
            tap.bail_out("claimd not built: %s is missing (run make)" % self.binary)
        self.tmp = tempfile.mkdtemp(prefix="claimd-py-")
        self.data = os.path.join(self.tmp, "data")
        self.socket = os.path.join(self.tmp, "claimd.sock")
        self.log = os.path.join(self.tmp, "claimd.log")
        self.extra_args = list(extra_args)
        self.log_level = log_level
        self.proc = None
        self.starts = 0
        self._log_shown = 0
        _all.append(self)
        tap.on_failure.append(self._print_log_tail)

    def argv(self):
        return [self.binary, "--data", self.data, "--socket", self.socket,
                "--log-level", self.log_level] + self.extra_args

    def start(self, timeout=10.0):
        """Starts claimd and waits until it answers ping; returns the seconds that took."""
        t0 = time.monotonic()
        with open(self.log, "ab") as log:
            log.write(("--- start %d: %s\n" % (self.starts, " ".join(self.argv()))).encode())
            log.flush()
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        self.starts += 1
        _running.append(self)
        self.wait_ready(timeout)
        return time.monotonic() - t0

    def wait_ready(self, timeout=10.0):
        """Polls every 10 ms: connect and ping. Raises RuntimeError on exit or timeout."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("claimd exited with %r before it was ready\n%s"
                                   % (self.proc.returncode, self.log_tail()))
            try:
                with Client(self.socket, timeout=1.0) as c:
                    c.call("ping")
                    return
            except (OSError, Closed, Timeout, RpcError, ProtocolViolation) as e:   # not up yet, or busy
                last = e
            time.sleep(0.01)
        raise RuntimeError("claimd not ready after %.1fs (last: %r)\n%s" % (timeout, last, self.log_tail()))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def client(self, timeout=10.0):
        return Client(self.socket, timeout)

    def stop(self, timeout=10.0):
        """SIGTERM and wait; returns the exit status, or None if it had to be killed."""
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            return self.proc.returncode
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            return None
        finally:
            if self in _running:
                _running.remove(self)

    def kill9(self):
        """SIGKILL and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
        if self.proc is not None:
            self.proc.wait()
        if self in _running:
            _running.remove(self)

    def status_kib(self, key):
        """A size field of /proc/PID/status (VmRSS, VmHWM...) in KiB, or None."""
        try:
            with open("/proc/%d/status" % self.proc.pid) as f:
                for line in f:
                    if line.startswith(key + ":"):
                        return int(line.split()[1])
        except OSError:
            return None
        return None

    def log_tail(self, n=25):
        try:
            with open(self.log, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(["daemon log tail (%s):" % self.log] + ["  " + l for l in lines[-n:]])

    def _print_log_tail(self):
        """Failure hook: the log lines not shown yet (the last 25 of them), once per failure burst."""
        if not os.path.isdir(self.tmp):
            tap.diag("the daemon's temp dir %s has vanished: something else removed it" % self.tmp)
            return
        try:
            with open(self.log, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
        except OSError:
            return
        new = lines[self._log_shown:]
        self._log_shown = len(lines)
        if new:
            tap.diag("\n".join(["daemon log (%s), new lines:" % self.log] + ["  " + l for l in new[-25:]]))

    def cleanup(self):
        """Kills the daemon if still running; run() removes the temp dir at the very end, unless a
        test failed or CLAIMD_KEEP_TMP is set (so a failure's log can still be read)."""
        self.kill9()


def run(main):
    """Runs main(), turning an unexpected exception into a failed test, removes the daemons' temp
    dirs when everything passed, and exits with TAP's code."""
    try:
        main()
    except SystemExit:
        raise
    except BaseException as e:
        tap.ok(False, "test script raised %s" % type(e).__name__, traceback.format_exc())
    for d in _all:
        d.kill9()
        if tap.failed() or os.environ.get("CLAIMD_KEEP_TMP"):
            tap.diag("kept %s" % d.tmp)
        else:
            shutil.rmtree(d.tmp, ignore_errors=True)
    sys.exit(tap.done())


# ---------------------------------------------------------------------------------------------
# Helpers for checks.

def flatten(obj, prefix=""):
    """{"a": {"b": 1}} -> {"a.b": 1}: lets tests find stats keys without fixing their nesting."""
    out = {}
    if isinstance(obj, dict):
        for k, v in obj.items():
            out.update(flatten(v, "%s%s." % (prefix, k)))
    else:
        out[prefix[:-1]] = obj
    return out


def stat(stats, pattern):
    """The first numeric value of stats whose dotted key path matches the regex pattern (or None):
    the contract names what stats reports but not its key names or nesting."""
    for k, v in flatten(stats).items():
        if re.search(pattern, k) and isinstance(v, (int, float)) and not isinstance(v, bool):
            return v
    return None


def field_is(err, *names):
    """True when the error's field (an RpcError, or the field str itself) names one of names,
    allowing a path such as "via[1].how" or "claims.3.text"."""
    field = err if isinstance(err, str) else getattr(err, "field", None)
    if not isinstance(field, str):
        return False
    parts = re.split(r"[^A-Za-z0-9_]+", field)
    return field in names or any(n in parts for n in names)


def utc(t):
    """Treats "+00:00" and "Z" alike when comparing normalised times."""
    return t[:-6] + "Z" if isinstance(t, str) and t.endswith("+00:00") else t


def short(obj, limit=400):
    """repr cut to limit characters, for diagnostics."""
    r = repr(obj)
    return r if len(r) <= limit else r[:limit] + "...(%d chars)" % len(r)


def is_error(err, code, name, field=None, extra=()):
    """TAP check: err is an RpcError with this code, a str message, and (if field is given) a
    field naming it; field may be a tuple of acceptable names."""
    if err is None:
        return tap.ok(False, name, "expected error %r, got none" % (code,), *extra)
    fields = (field,) if isinstance(field, str) else (field or ())
    good = (err.code == code and isinstance(err.message, str)
            and (not fields or field_is(err, *fields)))
    return tap.ok(good, name, "     got error: %s" % short(err.raw),
                  "expected: code %r field %r and a str message" % (code, field), *extra)


def expect_error(client, method, params, code, name, field=None):
    """Sends one request and checks that it fails with code (and field). Returns the RpcError."""
    reply = client.request(method, params)
    extra = ("request: %s %s" % (method, short(params)),)
    if reply.error is None:
        tap.ok(False, name, "expected error %r (field %r), got result %s" % (code, field, short(reply.result)),
               *extra)
        return None
    err = RpcError(reply.error, reply.msgid)
    is_error(err, code, name, field, extra)
    return err
