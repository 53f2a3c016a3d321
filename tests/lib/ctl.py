"""ctl.py: runs build/claimctl against a test daemon (claimd_harness.Daemon) and reads its JSON
lines, for the tests/claimctl_*.t scripts."""
import json
import os
import subprocess

from claimd_harness import build_dir

CLAIMCTL = os.path.join(build_dir(), "claimctl")


class Result:
    """What one claimctl run did: exit status, stdout, stderr, and stdout as JSON lines."""

    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    @property
    def lines(self):
        return [json.loads(l) for l in self.out.splitlines() if l.strip()]

    @property
    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "rc=%r out=%r err=%r" % (self.rc, self.out[:600], self.err[:600])


class Ctl:
    """claimctl bound to one daemon's socket."""

    def __init__(self, daemon=None, socket=None):
        self.socket = socket or (daemon.socket if daemon else None)

    def env(self, extra=None):
        env = dict(os.environ)
        if self.socket:
            env["CLAIMD_SOCKET"] = self.socket
        env.update(extra or {})
        return env

    def run(self, *args, stdin=None, env=None, cwd=None, timeout=600):
        p = subprocess.run([CLAIMCTL] + [str(a) for a in args], input=stdin, capture_output=True,
                           text=True, env=self.env(env), cwd=cwd, timeout=timeout)
        return Result(p.returncode, p.stdout, p.stderr)

    def popen(self, *args, env=None, **kw):
        return subprocess.Popen([CLAIMCTL] + [str(a) for a in args], env=self.env(env), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)

    def lines(self, *args, **kw):
        r = self.run(*args, **kw)
        if r.rc != 0:
            raise RuntimeError("claimctl %s failed: %r" % (" ".join(map(str, args)), r))
        return r.lines

    def one(self, *args, **kw):
        got = self.lines(*args, **kw)
        if len(got) != 1:
            raise RuntimeError("claimctl %s: expected one line, got %r" % (" ".join(map(str, args)), got))
        return got[0]


def write(path, text, mode="w"):
    with open(path, mode, **({} if "b" in mode else {"newline": ""})) as f:
        f.write(text)
    return path


def jsonl(path, records):
    return write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
