#!/usr/bin/python3
"""publish_foreign.t: claimd --publish when the stream's last message is not one of its own.

claimd resumes after the Nats-Msg-Id of the stream's last message (daemon/publish.c), since it may
be ahead of the saved position. A message that another publisher on the same subjects (or a NATS
server not to be trusted) put there with a Msg-Id past this database's change log must not be
believed: before the fix the daemon took it as its position, reported "caught-up" with no lag,
and never published a change again. Now it logs the foreign message and publishes every change."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import msgpack

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, build_dir, run, short  # noqa: E402

STREAM = "newsroom"
NATS = shutil.which("nats-server") or "/usr/bin/nats-server"
FOREIGN_ID = 1000000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RawNats:
    """Just enough of the NATS client protocol to create a stream and publish with headers."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""
        self.line()                                   # INFO {...}
        self.sock.sendall(b'CONNECT {"verbose":false,"pedantic":false,"headers":true}\r\nPING\r\n')
        while self.line() != b"PONG":
            pass
        self.sock.sendall(b"SUB _INBOX.t 1\r\n")

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("NATS closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def reply(self):
        """The payload of the next MSG or HMSG to our inbox."""
        while True:
            line = self.line()
            if line.startswith(b"MSG ") or line.startswith(b"HMSG "):
                n = int(line.split()[-1])
                while len(self.buf) < n + 2:
                    self.buf += self.sock.recv(65536)
                data, self.buf = self.buf[:n], self.buf[n + 2:]
                if line.startswith(b"HMSG "):
                    data = data[int(line.split()[-2]):]
                return data
            if line == b"PING":
                self.sock.sendall(b"PONG\r\n")

    def request(self, subject, payload, headers=None):
        if headers:
            hdr = b"NATS/1.0\r\n" + b"".join(b"%s: %s\r\n" % (k.encode(), v.encode()) for k, v in headers.items()) + b"\r\n"
            self.sock.sendall(b"HPUB %s _INBOX.t %d %d\r\n%s%s\r\n" % (subject.encode(), len(hdr), len(hdr) + len(payload),
                                                                     hdr, payload))
        else:
            self.sock.sendall(b"PUB %s _INBOX.t %d\r\n%s\r\n" % (subject.encode(), len(payload), payload))
        return json.loads(self.reply())


def consume(url, want, idle_ms=1500):
    out = subprocess.run([os.path.join(build_dir(), "tests", "nats_consume"), url, STREAM, str(want), str(idle_ms)],
                         capture_output=True, timeout=120)
    if out.returncode:
        raise RuntimeError("nats_consume failed: %s" % out.stderr.decode())
    return [line.split("\t")[0] for line in out.stdout.decode().splitlines()]


def main():
    if not os.access(NATS, os.X_OK):
        tap.bail_out("nats-server is not installed (scripts/deps.sh test installs it)")
    port = free_port()
    store = tempfile.mkdtemp(prefix="claimd-nats-")
    log = open(os.path.join(store, "nats.log"), "ab")
    nats = subprocess.Popen([NATS, "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", store],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    url = "nats://127.0.0.1:%d" % port
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                raw = RawNats(port)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        created = raw.request("$JS.API.STREAM.CREATE." + STREAM, json.dumps(
            {"name": STREAM, "subjects": ["claimd.%s.>" % STREAM], "storage": "file"}).encode())
        tap.ok("error" not in created, "the stream is created by someone else first", short(created))
        ack = raw.request("claimd.%s.claim.put" % STREAM, msgpack.packb({"not": "claimd"}),
                          {"Nats-Msg-Id": str(FOREIGN_ID)})
        tap.ok(ack.get("seq") == 1, "a foreign message with Msg-Id %d is stored in it" % FOREIGN_ID, short(ack))

        d = Daemon(["--publish", url, "--stream", STREAM], log_level="info")
        d.start()
        c = d.client(timeout=30)
        for i in range(3):
            c.call("claim.put", {"text": "Claim %d published after a foreign message" % i, "lang": "en"})
        deadline = time.monotonic() + 20
        st = c.call("stats")["publish"]
        while time.monotonic() < deadline and st["published"] != 3:
            time.sleep(0.05)
            st = c.call("stats")["publish"]
        tap.is_(st["published"], 3, "the publisher's position is the log's last seq, not the foreign Msg-Id",
                short(st))
        ids = consume(url, 10)
        tap.is_(ids, [str(FOREIGN_ID), "1", "2", "3"], "every change is in the stream after the foreign message")
        with open(d.log, "rb") as f:
            text = f.read().decode(errors="replace")
        tap.ok(str(FOREIGN_ID) in text and "not one of ours" in text,
               "the log names the foreign message", d.log_tail(5))
        tap.ok(c.call("ping") is not None, "the daemon serves on")
        d.stop()
    finally:
        nats.kill()
        nats.wait()
        shutil.rmtree(store, ignore_errors=True)


run(main)
