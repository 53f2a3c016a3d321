"""tap.py: a tiny TAP emitter for the Python black-box tests (plan, ok, is_, diag, done).

Failures call the hooks in `on_failure` (the daemon harness adds one that prints its log tail),
so a red test says what the daemon said at the time without a re-run.
"""
import os
import sys

_count = 0
_failed = 0
_planned = None
on_failure = []


def plan(n):
    """Announces the number of tests up front (optional: done() prints the plan otherwise)."""
    global _planned
    _planned = n
    print("1..%d" % n, flush=True)


def diag(msg):
    """Prints a diagnostic comment; every line is prefixed with '# ' so TAP ignores it."""
    for line in str(msg).splitlines() or [""]:
        print("# " + line, flush=True)


def ok(cond, name, *diags):
    """Records one test; on failure prints the extra diagnostics and runs the failure hooks."""
    global _count, _failed
    _count += 1
    name = str(name).replace("#", "\\#").replace("\n", " ")
    print("%s %d - %s" % ("ok" if cond else "not ok", _count, name), flush=True)
    if not cond:
        _failed += 1
        for d in diags:
            diag(d)
        for hook in on_failure:
            try:
                hook()
            except Exception as e:  # a broken hook must not hide the failure itself
                diag("failure hook raised %r" % (e,))
    return bool(cond)


def is_(got, expected, name, *diags):
    """Passes when got == expected; prints both otherwise."""
    return ok(got == expected, name, "     got: %r" % (got,), "expected: %r" % (expected,), *diags)


def skip(name, reason):
    """Records a test that does not apply this time (TAP's "# SKIP")."""
    global _count
    _count += 1
    print("ok %d - %s # SKIP %s" % (_count, str(name).replace("#", "\\#"), reason), flush=True)


def bail_out(reason):
    """Stops the whole test run: the harness cannot go on (e.g. the daemon binary is missing)."""
    print("Bail out! %s" % reason, flush=True)
    sys.exit(255)


def failed():
    """Number of failed tests so far."""
    return _failed


def done():
    """Prints the plan if none was given and returns the process exit code (0 when all passed)."""
    if _planned is None:
        print("1..%d" % _count, flush=True)
    elif _planned != _count:
        diag("planned %d tests but ran %d" % (_planned, _count))
        return 255
    return 1 if _failed else 0


def ok_memory(cond, name, *diags):
    """An ok() about the daemon's memory use: skipped when the daemon was built with sanitizers
    (CLAIMD_SANITIZED set by `make SANITIZE=... test`), whose allocator quarantine and shadow
    memory make RSS figures meaningless."""
    if os.environ.get("CLAIMD_SANITIZED"):
        return skip(name, "memory figures are meaningless under sanitizers")
    return ok(cond, name, *diags)
