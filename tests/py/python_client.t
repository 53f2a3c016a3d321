#!/usr/bin/python3
"""python_client.t: the Python package clients/python (claimd) against a real daemon.

Every method of the contract through the typed methods; typed exceptions (NotFound, Invalid with
field, Conflict with id, TooLarge, UnknownMethod, Forbidden from a reader's uid when users can be
made, the code table, unknown codes); connection errors and timeouts apart from daemon errors;
$CLAIMD_SOCKET; pipelines answered in order with per-call errors, also under --max-output 4096
(the pipeline must read while it writes); cursor iterators over 2,500 claims in pages of 100
(every id exactly once); the subscription iterator and its routing; import_claims with rejected
rows; msgids wrapping at 2^32; the asyncio client's equivalents; and `pip install` of the package
when a pip with setuptools is at hand. Run with /usr/bin/python3 (Debian's python3-msgpack)."""
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PKG = os.path.join(REPO, "clients", "python")
sys.path.insert(0, os.path.join(REPO, "tests", "lib"))
sys.path.insert(0, PKG)
import tap  # noqa: E402
from claimd_harness import Daemon, run, short  # noqa: E402
import ops_helpers as ops  # noqa: E402
import claimd  # noqa: E402

N_BULK = 2500


def raises(cls, fn, *args, **kw):
    """The exception fn raised if it is a cls, else None (a wrong one is reported)."""
    try:
        fn(*args, **kw)
    except cls as e:
        return e
    except Exception as e:
        tap.diag("expected %s, got %r" % (cls.__name__, e))
        return None
    tap.diag("expected %s, nothing was raised" % cls.__name__)
    return None


def check_errors_module():
    table = {"bad_request": claimd.BadRequest, "unknown_method": claimd.UnknownMethod,
             "invalid": claimd.Invalid, "not_found": claimd.NotFound, "conflict": claimd.Conflict,
             "too_large": claimd.TooLarge, "forbidden": claimd.Forbidden, "busy": claimd.Busy,
             "storage_full": claimd.StorageFull, "read_only": claimd.ReadOnly,
             "internal": claimd.Internal}
    got = {code: type(claimd.error_from_reply({"code": code, "message": "m"})) for code in table}
    tap.is_(got, table, "every error code of the contract maps to its class")
    tap.ok(all(issubclass(c, claimd.Error) for c in table.values()), "every class is a claimd.Error")
    e = claimd.error_from_reply({"code": "new_code_2030", "message": "later", "field": "x", "id": 7})
    tap.ok(type(e) is claimd.Error and e.code == "new_code_2030" and e.field == "x" and e.id == 7
           and e.raw["message"] == "later", "an unknown code is the base Error with code, field, id, raw")
    tap.ok(issubclass(claimd.ConnectionError, ConnectionError) and not issubclass(claimd.ConnectionError, claimd.Error)
           and issubclass(claimd.Timeout, claimd.ConnectionError) and issubclass(claimd.Timeout, TimeoutError),
           "ConnectionError is separate from daemon errors (a builtin ConnectionError); Timeout is one")


def check_connection(d):
    old = os.environ.get("CLAIMD_SOCKET")
    os.environ["CLAIMD_SOCKET"] = d.socket
    try:
        with claimd.Client() as c:
            tap.is_(c.ping().get("protocol"), 1, "Client() connects to $CLAIMD_SOCKET")
            tap.is_(c.path, d.socket, "its path is $CLAIMD_SOCKET")
        os.environ["CLAIMD_SOCKET"] = os.path.join(d.tmp, "nothing-here.sock")
        with claimd.Client(d.socket) as c:
            tap.is_(c.ping().get("protocol"), 1, "an explicit path wins over $CLAIMD_SOCKET")
        e = raises(claimd.ConnectionError, claimd.Client)
        tap.ok(e is not None and "nothing-here.sock" in str(e),
               "no daemon at $CLAIMD_SOCKET: claimd.ConnectionError naming the path", repr(e))
        del os.environ["CLAIMD_SOCKET"]
        tap.is_(claimd.socket_path(), "./var/claimd.sock", "without it: ./var/claimd.sock")
    finally:
        if old is None:
            os.environ.pop("CLAIMD_SOCKET", None)
        else:
            os.environ["CLAIMD_SOCKET"] = old

    # A peer that accepts and never answers: Timeout, and the client is closed after it.
    path = os.path.join(d.tmp, "silent.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(4)
    try:
        c = claimd.Client(path, timeout=0.3)
        t0 = time.monotonic()
        e = raises(claimd.Timeout, c.ping)
        tap.ok(e is not None and time.monotonic() - t0 < 3 and c.closed,
               "no answer within timeout: claimd.Timeout, and the connection is closed")
        tap.ok(raises(claimd.ConnectionError, c.ping) is not None, "a call on a closed client is ConnectionError")

        async def atimeout():
            async with claimd.AsyncClient(path, timeout=0.3) as ac:
                try:
                    await ac.ping()
                except claimd.Timeout:
                    return True
            return False
        tap.ok(asyncio.run(atimeout()), "AsyncClient: no answer within timeout is claimd.Timeout")
    finally:
        srv.close()


def check_methods(c, d):
    tap.is_(c.ping().get("protocol"), 1, "ping")
    tap.ok(isinstance(c.stats().get("claims"), int), "stats")
    peskov = c.entity_put("Dmitry Peskov", kind="person", aliases=["Dmitri Peskov"], wikidata="Q4160476")
    tap.ok(peskov.get("name") == "Dmitry Peskov" and peskov.get("kind") == "person"
           and "Dmitri Peskov" in peskov.get("aliases", []), "entity_put", short(peskov))
    tap.is_(c.entity_get(peskov["id"])["wikidata"], "Q4160476", "entity_get")
    tap.is_([e["id"] for e in c.entity_find(prefix="dmit")["items"]], [peskov["id"]], "entity_find(prefix)")
    tap.is_([e["id"] for e in c.entity_find(name="DMITRI PESKOV")["items"]], [peskov["id"]], "entity_find(name)")
    dup = c.entity_put("Dmitrij Peskov")
    merged = c.entity_merge(from_="Dmitrij Peskov", into=peskov["id"] and {"id": peskov["id"]}, by="t")
    tap.ok(merged["id"] == peskov["id"] and "Dmitrij Peskov" in merged["aliases"]
           and c.entity_get(dup["id"]).get("merged_into") == peskov["id"], "entity_merge(from_=..., into=...)",
           short(merged))

    put = c.claim_put({"text": "was received through diplomatic channels", "speaker": "Dmitry Peskov",
                       "said_at": "2018-08", "tags": ["kremlin"], "external_id": "py-1"}, by="py")
    tap.ok(put.get("created") is True and put.get("rev") == 1, "claim_put(map, by=...)", short(put))
    cid = put["id"]
    other = c.claim_put(text="I was honored to deliver a letter from President Trump", speaker="Rand Paul",
                        said_at="2018-08-08", medium="post")["id"]
    again = c.claim_put(text="Was received through diplomatic channels.", speaker="Dmitry Peskov", on_duplicate="skip")
    tap.ok(again["id"] == cid and again["created"] is False, "claim_put on_duplicate=skip finds the duplicate")
    got = c.claim_get(cid)
    tap.ok(got["text"] == "was received through diplomatic channels" and got["speaker"]["id"] == peskov["id"]
           and got["recorded_by"] == "py", "claim_get", short(got))
    upd = c.claim_update(cid, rev=1, set={"speaker_role": "Kremlin spokesman", "medium": "statement"}, by="ed")
    tap.is_(upd, {"id": cid, "rev": 2}, "claim_update")
    cleared = c.claim_update(cid, rev=2, set={"medium": None})
    tap.ok(cleared["rev"] == 3 and "medium" not in c.claim_get(cid), "claim_update: None in set clears a field")
    v = c.verdict_add(cid, rating="true", label="Confirmed", score=5, by="desk", at="2018-08-09",
                      evidence=["https://tass.com/"])
    tap.ok(v.get("claim_rev") == 4 and isinstance(v.get("id"), int), "verdict_add", short(v))
    vl = c.verdict_list(cid)["items"]
    tap.ok(len(vl) == 1 and vl[0]["label"] == "Confirmed" and vl[0]["evidence"] == ["https://tass.com/"], "verdict_list")
    ap = c.appearance_add(cid, url="https://tass.com/politics/1016217", outlet="TASS", published_at="2018-08-08")
    tap.is_(ap, {"claim_rev": 5}, "appearance_add")
    tap.is_(c.relation_add(from_=other, to=cid, kind="confirms", note="n"), {}, "relation_add(from_=...)")
    tap.is_(c.relation_list(cid)["items"], [{"from": other, "to": cid, "kind": "confirms", "note": "n"}], "relation_list")
    h = c.claim_history(cid)["items"]
    tap.is_([x["op"] for x in h], ["claim.create", "claim.update", "claim.update", "verdict.add", "appearance.add"],
            "claim_history")
    tap.is_([x["rev"] for x in c.iter_history(cid)], [1, 2, 3, 4, 5], "iter_history")
    tap.is_(c.claim_get(cid, as_of=h[0]["at"])["rev"], 1, "claim_get(as_of=...)")
    q = c.claim_query(speaker="Dmitry Peskov", limit=5)
    tap.is_([x["id"] for x in q["items"]], [cid], "claim_query(speaker=...)")
    s = c.claim_search("diplomatic channels")
    tap.ok([x["id"] for x in s["items"]] == [cid] and s.get("total") == 1 and "[" in s["items"][0]["snippet"],
           "claim_search", short(s))
    m = c.claim_match("I was honoured to deliver a letter from President Trump")
    tap.ok(m["items"] and m["items"][0]["id"] == other, "claim_match", short(m))
    imp = c.claim_import([{"text": "imported one", "speaker": "Rand Paul"}, {"text": "x", "said_at": "Aug 8"}])
    r = imp["results"]
    tap.ok(r[0].get("created") is True and r[1]["error"]["field"] == "claims[1].said_at", "claim_import", short(imp))
    tap.ok(c.claim_import_ is not None and c.claim_import_.__func__ is c.claim_import.__func__, "claim_import_ is an alias")
    ret = c.claim_retract(other, reason="wrong office", by="ed")
    tap.ok(ret["id"] == other and c.claim_get(other)["retracted"] is True, "claim_retract")
    ch = c.changes(since=0, limit=3)
    tap.ok([x["seq"] for x in ch["items"]] == [1, 2, 3] and ch["next"] == 3, "changes", short(ch))
    sub = c.subscribe(claim=cid)
    tap.ok(isinstance(sub.id, int) and isinstance(sub.seq, int), "subscribe returns a Subscription with id and seq")
    tap.is_(c.unsubscribe(sub), {}, "unsubscribe")
    e = raises(claimd.NotFound, c.unsubscribe, sub.id)
    tap.ok(e is not None and e.field == "subscription", "unsubscribe again: NotFound field subscription")
    bk = os.path.join(d.tmp, "backup-1")
    b = c.backup(bk)
    tap.ok(b.get("path") == bk and b.get("bytes", 0) > 0 and os.path.isdir(bk), "backup", short(b))
    e = raises(claimd.Conflict, c.backup, bk)
    tap.ok(e is not None, "backup into a non-empty directory: Conflict")
    tap.is_(c.call("claim.get", id=cid)["id"], cid, "call(method, **params)")
    nid = c.claim_put(text="a claim retracted by a client notification")["id"]
    with claimd.Client(d.socket) as n:
        n.notify("claim.retract", id=nid, reason="sent as a notification")
        tap.ok(n.claim_get(nid).get("retracted") is True and n.ping().get("protocol") == 1,
               "notify(): the daemon ran it, and the connection still answers")
    return cid, other


def check_exceptions(c, cid):
    e = raises(claimd.NotFound, c.claim_get, 10 ** 9)
    tap.ok(e is not None and e.code == "not_found" and e.field == "id" and isinstance(e.message, str)
           and e.raw.get("code") == "not_found", "claim_get of a missing id: NotFound with field id", repr(e))
    e = raises(claimd.Invalid, c.claim_put, text="bad time", said_at="yesterday")
    tap.ok(e is not None and e.field == "said_at", "a bad said_at: Invalid with field said_at", repr(e))
    e = raises(claimd.Invalid, c.claim_update, cid, rev=c.claim_get(cid)["rev"], set={"via": [{"name": "TASS", "how": "leaked"}]})
    tap.ok(e is not None and e.field == "set.via[0].how", "Invalid field is a path (set.via[0].how)", repr(e))
    e = raises(claimd.Conflict, c.claim_put, text="was received through diplomatic channels",
               speaker="Dmitry Peskov", external_id="py-1", on_duplicate="error")
    tap.ok(e is not None and e.id == cid and e.field == "external_id", "a duplicate with on_duplicate=error: "
           "Conflict with id", repr(e))
    e = raises(claimd.Conflict, c.claim_update, cid, rev=1, set={"tags": ["x"]})
    tap.ok(e is not None and e.id == cid and e.field == "rev", "claim_update at an old rev: Conflict with id, field rev",
           repr(e))
    e = raises(claimd.TooLarge, c.claim_put, text="a" * (65536 + 1))
    tap.ok(e is not None and e.field == "text", "a text over 64 KiB: TooLarge with field text", repr(e))
    e = raises(claimd.UnknownMethod, c.call, "claim.teleport", id=1)
    tap.ok(e is not None, "an unknown method: UnknownMethod")
    tap.is_(c.ping().get("protocol"), 1, "after daemon errors the connection is still usable")


def check_forbidden(d):
    reader = "claimd-test-r"
    if not ops.is_root() or not ops.have("setpriv"):
        tap.skip("Forbidden from a reader's uid", "needs root and setpriv")
        return
    try:
        ops.ensure_user(reader)
    except (RuntimeError, OSError) as e:
        tap.skip("Forbidden from a reader's uid", "cannot create a user: %s" % e)
        return
    # The reader gets a copy of the package and the socket in a directory open to it.
    pub = os.path.join(d.tmp, "pub")
    shutil.copytree(os.path.join(PKG, "claimd"), os.path.join(pub, "claimd"))
    for root, dirs, files in os.walk(pub):
        os.chmod(root, 0o755)
        for f in files:
            os.chmod(os.path.join(root, f), 0o644)
    os.chmod(d.tmp, 0o755)
    os.chmod(d.socket, 0o666)
    script = ("import sys, json; sys.path.insert(0, %r); import claimd\n"
              "c = claimd.Client(%r)\nout = {'get': c.claim_get(1)['id']}\n"
              "try:\n    c.claim_put(text='a reader writes')\n    out['put'] = 'ok'\n"
              "except claimd.Error as e:\n    out['put'] = [type(e).__name__, e.code, isinstance(e, claimd.Forbidden)]\n"
              "print(json.dumps(out))\n") % (pub, d.socket)
    p = subprocess.run(ops.setpriv_prefix(reader) + ["/usr/bin/python3", "-c", script],
                       capture_output=True, text=True, timeout=30)
    try:
        out = json.loads(p.stdout)
    except ValueError:
        out = {"stdout": p.stdout, "stderr": p.stderr}
    tap.is_(out, {"get": 1, "put": ["Forbidden", "forbidden", True]},
            "a reader's uid may read, and a write raises claimd.Forbidden", p.stderr[-500:])


def check_pipeline(c, cid):
    ids = [cid, 10 ** 9, cid, 10 ** 9 + 1] * 50
    with c.pipeline() as p:
        idx = [p.claim_get(i) for i in ids]
        p.ping()
    tap.is_(idx, list(range(len(ids))), "pipeline methods return each call's index")
    res = p.results
    good = len(res) == len(ids) + 1 and all(
        (isinstance(r, dict) and r["id"] == i) if i == cid else (isinstance(r, claimd.NotFound) and r.field == "id")
        for r, i in zip(res, ids)) and res[-1].get("protocol") == 1
    tap.ok(good, "pipeline: %d results in request order, errors kept per call (NotFound), not raised" % len(res),
           short(res[:6]))
    # A request sees the effects of every earlier one on the connection.
    p = c.pipeline()
    p.claim_put(text="pipelined claim one", external_id="pipe-1")
    p.claim_put(text="pipelined claim one", external_id="pipe-1", on_duplicate="error")
    p.call("claim.query", tag="nothing-tagged-so", limit=1)
    out = p.execute()
    tap.ok(out[0]["created"] is True and isinstance(out[1], claimd.Conflict) and out[1].id == out[0]["id"]
           and out[2]["items"] == [] and p.results is out, "pipeline.execute(): a later call sees an earlier write",
           short(out))
    with c.pipeline() as p:
        pass
    tap.is_(p.results, [], "an empty pipeline sends nothing")


def check_big_pipeline():
    d2 = Daemon(["--max-output", "4096"])
    d2.start()
    with claimd.Client(d2.socket, timeout=20) as c:
        big = c.claim_put(text="z" * 2000 + " a big claim to fill the output")["id"]
        n = 20000
        t0 = time.monotonic()
        with c.pipeline() as p:
            for _ in range(n):
                p.claim_get(big)
        ok = len(p.results) == n and all(isinstance(r, dict) and r["id"] == big for r in p.results)
        tap.ok(ok, "--max-output 4096: a pipeline of %d claim_get (~40 MB of replies) is answered in %.1fs: the "
               "pipeline reads while it writes" % (n, time.monotonic() - t0))
    d2.stop()


def bulk_claims(n, bad_every=0):
    for i in range(n):
        c = {"text": "bulk claim number %d about zyzzyva budgets" % i, "speaker": "Bulk Speaker %d" % (i % 7),
             "tags": ["bulk"], "external_id": "bulk-%d" % i, "said_at": "2019-%02d-%02d" % (1 + i % 12, 1 + i % 28)}
        if bad_every and i % bad_every == bad_every - 1:
            c["said_at"] = "not a time %d" % i
        yield c


def check_import_and_iterators(c):
    rep = c.import_claims(bulk_claims(N_BULK + 25, bad_every=(N_BULK + 25) // 25), batch_size=300, in_flight=3)
    bad = [i for i in range(N_BULK + 25) if i % ((N_BULK + 25) // 25) == (N_BULK + 25) // 25 - 1]
    tap.ok(rep.imported == N_BULK and rep.created == N_BULK and rep.duplicates == 0 and rep.total == N_BULK + 25
           and rep.batches == 9, "import_claims: %r" % rep)
    tap.is_([r.index for r in rep.rejected], bad, "import_claims: the rejected rows by their input index")
    tap.ok(all(isinstance(r.error, claimd.Invalid) and r.error.field == "claims[%d].said_at" % (r.index % 300)
               and r.claim["external_id"] == "bulk-%d" % r.index for r in rep.rejected),
           "each rejection is Invalid with the field within its batch and the claim sent",
           short(rep.rejected[:2]))
    ids = [i for i in rep.ids if i is not None]
    tap.ok(len(ids) == N_BULK and len(set(ids)) == N_BULK and all(rep.ids[i] is None for i in bad),
           "report.ids: one id per stored input, None where rejected")
    again = c.import_claims(bulk_claims(300, bad_every=(N_BULK + 25) // 25), batch_size=128, in_flight=2)
    bad300 = [i for i in bad if i < 300]
    tap.ok(again.imported == 300 - len(bad300) and again.created == 0 and again.duplicates == again.imported
           and [r.index for r in again.rejected] == bad300,
           "import_claims of the first 300 again: all duplicates, none created (%r)" % again)

    got = [x["id"] for x in c.iter_query(tag="bulk", limit=100)]
    tap.ok(len(got) == N_BULK and set(got) == set(ids), "iter_query(tag, limit=100): %d claims over 25 pages, "
           "every id exactly once (%d distinct)" % (len(got), len(set(got))))
    asc = list(c.iter_query(tag="bulk", order="said_asc", limit=100))
    keys = [(x["said_at"], x["id"]) for x in asc]
    tap.ok(len(asc) == N_BULK and keys == sorted(keys), "iter_query(order=said_asc) walks in order")
    hits = [x["id"] for x in c.iter_search("zyzzyva budgets", limit=100)]
    tap.ok(len(hits) == N_BULK and set(hits) == set(ids), "iter_search(limit=100): every hit exactly once (%d)" % len(hits))
    seqs = [x["seq"] for x in c.iter_changes(since=0, limit=100)]
    last = c.stats()["seq"]
    tap.ok(seqs == list(range(1, last + 1)), "iter_changes(since=0, limit=100): seq 1..%d, no gap, no repeat" % last)
    tap.is_([x["seq"] for x in c.iter_changes(since=last - 5, until=last - 2)], [last - 4, last - 3, last - 2],
            "iter_changes(since, until)")
    return set(ids)


def check_subscriptions(d, cid, other):
    with claimd.Client(d.socket) as c, claimd.Client(d.socket) as w:
        sub = c.subscribe(types=["claim"], idle_timeout=1.0)
        w.verdict_add(cid, rating="mixed", by="sub")
        w.appearance_add(cid, url="https://example.org/sub")
        w.claim_update(other, rev=w.claim_get(other)["rev"], set={"tags": ["sub"]})
        got = []
        for ch in sub:
            got.append((ch["op"], ch["id"]))
            if len(got) == 3:
                break
        tap.is_(got, [("verdict.add", cid), ("appearance.add", cid), ("claim.update", other)],
                "subscribe(): the iterator yields the changes of another connection in seq order")
        # Calls on the subscribed connection keep the changes that arrive meanwhile.
        w.verdict_add(cid, rating="false")
        time.sleep(0.2)
        tap.is_(c.claim_get(cid)["status"], "false", "a call on the subscribed connection meanwhile")
        ch = sub.get(2.0)
        tap.ok(ch is not None and ch["op"] == "verdict.add" and ch["seq"] > sub.seq,
               "the change that arrived during that call is still delivered", short(ch))
        t0 = time.monotonic()
        tap.ok(list(sub) == [] and 0.8 < time.monotonic() - t0 < 5, "idle_timeout ends the iteration when nothing comes")
        sub.close()

        a = c.subscribe(claim=cid)
        b = c.subscribe(claim=other)
        w.verdict_add(other, rating="true")
        first = b.get(2.0)
        tap.ok(first is not None and first.get("subscription") == b.id and first["id"] == other
               and a.get(0.3) is None, "two subscriptions on one connection: a change goes to the one it names",
               short(first))
        a.close()
        b.close()
        with c.subscribe(speaker="Dmitry Peskov", idle_timeout=0.3) as s:
            w.claim_put(text="another Peskov claim for the filter", speaker="Dmitry Peskov")
            tap.is_([x["op"] for x in s], ["claim.create"], "subscribe(speaker=...) as a context manager")
        tap.ok(raises(claimd.NotFound, c.unsubscribe, s.id) is not None, "leaving the with block unsubscribed")


def check_msgid_wrap(c, cid):
    c._next_msgid = 0xFFFFFFFE
    got = [c.claim_get(cid)["id"] for _ in range(4)]
    tap.ok(got == [cid] * 4 and c._next_msgid == 2, "msgids wrap at 2^32 (0xfffffffe, 0xffffffff, 0, 1)")


async def async_checks(d, cid, bulk_ids):
    async with claimd.AsyncClient(d.socket) as c:
        tap.is_((await c.ping()).get("protocol"), 1, "async: ping")
        tap.is_((await c.claim_get(cid))["id"], cid, "async: claim_get")
        try:
            await c.claim_get(10 ** 9)
            tap.ok(False, "async: NotFound")
        except claimd.NotFound as e:
            tap.is_(e.field, "id", "async: NotFound with field id")
        try:
            await c.claim_put(text="was received through diplomatic channels", speaker="Dmitry Peskov",
                              on_duplicate="error")
            tap.ok(False, "async: Conflict")
        except claimd.Conflict as e:
            tap.is_(e.id, cid, "async: Conflict with id")
        try:
            await c.claim_put(text="x", said_at="never")
            tap.ok(False, "async: Invalid")
        except claimd.Invalid as e:
            tap.is_(e.field, "said_at", "async: Invalid with field")
        # Many coroutines at once on one connection: each gets its own answer.
        some = sorted(bulk_ids)[:300]
        res = await asyncio.gather(*[c.claim_get(i) for i in some])
        tap.ok([r["id"] for r in res] == some, "async: 300 concurrent claim_get, each its own answer")
        async with c.pipeline() as p:
            for i in some[:50]:
                p.claim_get(i)
            p.claim_get(10 ** 9)
        tap.ok([r["id"] for r in p.results[:50]] == some[:50] and isinstance(p.results[50], claimd.NotFound),
               "async: pipeline results in order, the error kept")
        ids = [x["id"] async for x in c.iter_query(tag="bulk", limit=100)]
        tap.ok(len(ids) == len(bulk_ids) and set(ids) == bulk_ids, "async: iter_query every id exactly once (%d)" % len(ids))
        hits = [x["id"] async for x in c.iter_search("zyzzyva", limit=100)]
        tap.ok(len(hits) == len(bulk_ids) and set(hits) == bulk_ids, "async: iter_search every hit once")
        seqs = [x["seq"] async for x in c.iter_changes(since=0, limit=250)]
        tap.ok(seqs == list(range(1, (await c.stats())["seq"] + 1)), "async: iter_changes without gap")
        revs = [x["rev"] async for x in c.iter_history(cid)]
        tap.is_(revs, list(range(1, (await c.claim_get(cid))["rev"] + 1)), "async: iter_history")

        # subscribe and a write sent together on one connection: the write's change arrives right
        # behind subscribe's reply, decoded before the subscribing coroutine resumes, and must
        # still reach the subscription.
        sub, w = await asyncio.gather(c.subscribe(claim=cid, idle_timeout=1.0),
                                      c.verdict_add(cid, rating="unproven"))
        await c.appearance_add(cid, url="https://example.org/async")
        got = []
        async for ch in sub:
            got.append(ch["op"])
            if len(got) == 2:
                break
        tap.is_(got, ["verdict.add", "appearance.add"], "async: subscribe() async iterator")
        await sub.close()
        tap.ok(w.get("id"), "async: verdict_add")

        rows = [{"text": "async import %d zyzzyva-free" % i} for i in range(1000)]
        rows[10]["said_at"] = "no"
        rows[777]["medium"] = "carrier pigeon"
        rep = await c.import_claims(rows, batch_size=100, in_flight=4)
        tap.ok(rep.imported == 998 and rep.created == 998 and [r.index for r in rep.rejected] == [10, 777]
               and isinstance(rep.rejected[1].error, claimd.Invalid)
               and rep.rejected[1].error.field == "claims[77].medium", "async: import_claims report %r" % rep,
               short(rep.rejected))
        c._next_msgid = 0xFFFFFFFF
        tap.is_([(await c.ping())["protocol"] for _ in range(3)], [1, 1, 1], "async: msgids wrap at 2^32")
    tap.ok(c.closed, "async: leaving async with closes the client")


def check_pip_install(d):
    """pip install of clients/python with no network (--no-index): Debian's python3-pip with
    python3-setuptools and python3-wheel (--no-build-isolation uses them instead of downloading
    a build backend), from a copy so the checkout gets no build/ or egg-info; into a temp
    --target, then the installed package is used from /usr/bin/python3."""
    py = None
    for cand in ("/usr/bin/python3", shutil.which("python3")):
        if cand and subprocess.run([cand, "-c", "import setuptools, wheel, pip"], capture_output=True).returncode == 0:
            py = cand
            break
    if py is None:
        tap.skip("pip install clients/python", "no python3 with pip, setuptools and wheel here")
        return
    src = os.path.join(d.tmp, "pkg-src")
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    target = os.path.join(d.tmp, "site")
    r = subprocess.run([py, "-m", "pip", "install", "--quiet", "--no-index", "--no-build-isolation", "--no-deps",
                        "--target", target, src], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PIP_DISABLE_PIP_VERSION_CHECK="1"), cwd=d.tmp)
    if r.returncode != 0:
        tap.ok(False, "pip install --no-index --no-build-isolation --no-deps clients/python (%s)" % py, r.stderr[-1500:])
        return
    r2 = subprocess.run(["/usr/bin/python3", "-c", "import claimd, sys; print(claimd.__file__); "
                         "print(claimd.Client(sys.argv[1]).ping()['protocol'])", d.socket],
                        capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=target), timeout=60)
    lines = r2.stdout.split()
    tap.ok(r2.returncode == 0 and lines[:1] and lines[0].startswith(target) and lines[1:] == ["1"]
           and os.path.exists(os.path.join(target, "claimd", "py.typed")),
           "pip install of clients/python (offline, %s) gives a package that works" % py, r2.stdout + r2.stderr)


def main():
    check_errors_module()
    d = Daemon()
    d.start()
    check_connection(d)
    with claimd.Client(d.socket) as c:
        cid, other = check_methods(c, d)
        check_exceptions(c, cid)
        check_pipeline(c, cid)
        bulk_ids = check_import_and_iterators(c)
        check_msgid_wrap(c, cid)
    check_subscriptions(d, cid, other)
    asyncio.run(async_checks(d, cid, bulk_ids))
    check_big_pipeline()
    check_pip_install(d)
    check_forbidden(d)


run(main)
