"""nats_harness.py: nats-server with JetStream on loopback ports for the tests of the change feed
(tests/py/publish.t, tests/py/replica.t): one server, or a cluster of three; and a mixed load of
every kind of write."""
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time

NATS = shutil.which("nats-server") or "/usr/bin/nats-server"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nats-server did not start on port %d" % port)


class Nats:
    """One nats-server with JetStream, its store in a temp dir kept across restarts; with name,
    cluster and routes it is one node of a cluster."""

    def __init__(self, name=None, cluster_port=None, routes=None, port=None, base=None):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="claimd-nats-", dir=base)
        self.proc = None
        self.name, self.cluster_port, self.routes = name, cluster_port, routes or []

    def url(self):
        return "nats://127.0.0.1:%d" % self.port

    def argv(self):
        a = [NATS, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", self.dir]
        if self.name:
            a += ["-n", self.name, "--cluster_name", "claimd-test",
                  "--cluster", "nats://127.0.0.1:%d" % self.cluster_port,
                  "--routes", ",".join("nats://127.0.0.1:%d" % p for p in self.routes)]
        return a

    def start(self, wait=True):
        log = open(os.path.join(self.dir, "nats.log"), "ab")
        self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        if wait:
            wait_port(self.port)

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        self.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


class NatsCluster:
    """Three JetStream nodes routed to each other; url() lists all three for the client."""

    def __init__(self):
        ports = [free_port() for _ in range(3)]
        cports = [free_port() for _ in range(3)]
        self.nodes = [Nats("n%d" % i, cports[i], [p for k, p in enumerate(cports) if k != i], ports[i])
                      for i in range(3)]

    def url(self):
        return ",".join(n.url() for n in self.nodes)

    def start(self):
        for n in self.nodes:
            n.start(wait=False)
        for n in self.nodes:
            wait_port(n.port)

    def cleanup(self):
        for n in self.nodes:
            n.cleanup()


def mixed_load(d, n, seed, clients=4, timeout=30):
    """n writes of every kind, from several connections at once; returns the errors seen (a
    kill -9 mid-load ends the workers with errors)."""
    errors = []

    def worker(k):
        with d.client(timeout=timeout) as c:
            ids = []
            for i in range(k, n, clients):
                try:
                    kind = i % 6
                    if kind in (0, 1) or len(ids) < 2:
                        r = c.call("claim.put", {"text": "Claim %d-%d about the budget of ministry %d" % (seed, i, i % 7),
                                                 "speaker": "Speaker %d" % (i % 5), "lang": "en"})
                        ids.append(r["id"])
                    elif kind == 2:
                        c.call("verdict.add", {"claim": ids[-1], "rating": "false", "label": "False", "by": "Desk"})
                    elif kind == 3:
                        c.call("appearance.add", {"claim": ids[-1], "url": "https://example.org/%d/%d" % (seed, i)})
                    elif kind == 4:
                        g = c.call("claim.get", {"id": ids[-1]})
                        c.call("claim.update", {"id": ids[-1], "rev": g["rev"], "set": {"tags": ["t%d" % i]}})
                    else:
                        c.call("relation.add", {"from": ids[-1], "to": ids[0], "kind": "repeats"})
                except Exception as e:          # noqa: BLE001
                    errors.append(e)
                    return

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors
