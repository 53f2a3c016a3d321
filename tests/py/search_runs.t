#!/usr/bin/python3
"""search_runs.t: the search postings as sorted runs merged in steps (daemon/search/search_runs.h).
- kill -9 while merge steps run, three times: after the restarts catch up, the postings equal,
  entry for entry, those a daemon rebuilds from scratch (build/tests/ixcheck), every term's df in
  every run is exact, and no posting is in two runs;
- a claim.search cursor paged while writes make new runs and merges move postings returns every
  matching claim once, and the same ones as an unpaged search;
- at rest (no write for 0.5 s) the runs are merged down to one or two in both families
  (stats.index_at_rest), searches and queries answer exactly as before, the index equals one
  rebuilt from scratch, and a write after it ends the rest until the next one;
- a format 5 directory (postings in search_terms) is upgraded to 6 on open: the postings are
  rebuilt from the change log and the searches answer as before.
Seeded; CLAIMD_SEARCHRUNS_SEED replays."""
import os
import random
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, build_dir, run  # noqa: E402
from lmdb_tools import ixcheck, mdb_put, rebuilt_dump, require_ixcheck  # noqa: E402

COMMON = "zqcommon"


def word(rng):
    return "zq" + "".join(rng.choice("bcdfghjklmnprstvwxz") for _ in range(rng.randrange(2, 4)))


def claims(rng, n, common_every=3):
    return [{"text": " ".join([word(rng) for _ in range(8)] + ([COMMON] if i % common_every == 0 else [])),
             "lang": rng.choice(["en", "fr"]), "speaker": "Speaker %d" % rng.randrange(20)} for i in range(n)]


def import_claims(c, rng, n):
    calls = [("claim.import", {"claims": claims(rng, 500)}) for _ in range(n // 500)]
    for r in c.pipeline(calls, timeout=300):
        r.unwrap()


def runs_stats(c):
    return c.call("stats")["search_runs"]


def kill_during_merges(rng):
    # Small merge steps: a merge takes many steps, so a kill lands inside one.
    d, fresh = Daemon(extra_args=["--merge-step", "200"]), Daemon()
    try:
        d.start()
        kills = merging_kills = 0
        last_kill_merging = False
        ids = []
        for rnd in range(8):
            if merging_kills >= 2 and kills >= 3:
                break
            with d.client(timeout=300) as c:
                # In batches of 500, looking between them: merges mostly run while claims come
                # in, and under a slow (sanitized) build they are over before the import is.
                for _ in range(12):
                    import_claims(c, rng, 500)
                    if runs_stats(c)["merging"]:
                        break
                # updates and retractions of earlier claims remove postings from older runs
                for _ in range(200):
                    if ids:
                        cid, rev = rng.choice(ids)
                        if rng.random() < 0.3:
                            c.request("claim.retract", {"id": cid, "rev": rev, "reason": "test"})
                        else:
                            c.request("claim.update", {"id": cid, "rev": rev,
                                                       "set": {"text": "%s %s %s" % (word(rng), word(rng), COMMON)}})
                ids = [(h["id"], h["rev"]) for h in c.call("claim.query", {"limit": 500})["items"]]
                deadline = time.time() + 20
                while not runs_stats(c)["merging"] and time.time() < deadline:
                    time.sleep(0.002)
                st = runs_stats(c)
            d.kill9()
            kills += 1
            merging_kills += bool(st["merging"])
            last_kill_merging = bool(st["merging"])
            tap.diag("round %d: killed with %d runs, merging %s, %d merges done" % (rnd, st["runs"], st["merging"], st["merges"]))
            d.start()
        tap.ok(merging_kills >= 1, "%d of %d kills came while a merge was under way" % (merging_kills, kills))
        with d.client(timeout=300) as c:
            c.call("claim.query", {"limit": 1})
            deadline = time.time() + 60
            while runs_stats(c)["merging"] and time.time() < deadline:
                c.call("claim.put", {"text": "one more %s" % word(rng)})   # passes drive merge steps
                c.call("claim.query", {"limit": 1})
                time.sleep(0.05)
            st = runs_stats(c)
        # The merge the last kill interrupted (if it came during one) is finished after the
        # restart; a kill between merges leaves none to finish, and none need run.
        tap.ok(not st["merging"] and st["runs"] <= 16 and (st["merges"] >= 1 or not last_kill_merging),
               "no merge left under way (%d finished after the last restart, which came %s merges), %d runs left"
               % (st["merges"], "during one of the" if last_kill_merging else "between", st["runs"]))
        d.stop()
        caught_up = ixcheck("dump", d.data)
        _, rebuilt = rebuilt_dump(d.data, fresh)
        a, b = caught_up.splitlines(), rebuilt.splitlines()
        bad = [x for x in a if x.startswith("bad_")]
        tap.ok(not bad, "every term's df in every run is exact", *bad[:5])
        postings = [x for x in a if x.startswith("posting ")]
        tap.ok(len(postings) == len(set(postings)), "no posting is in two runs (%d postings)" % len(postings))
        diff = sorted(set(a) ^ set(b))[:5]
        # Rounds end once a merge is seen, and the merges at rest make one come sooner: a round
        # may import a single batch, so the bar is an index of some thousands of claims.
        tap.ok(a == b and len(postings) > 20000, "after kill -9 during merges the index equals the one rebuilt from scratch (%d postings, %d lines differ)" % (len(postings), len(set(a) ^ set(b))), *diff)
    finally:
        for x in (d, fresh):
            x.stop()
            x.cleanup()


def cursor_during_merges(rng):
    d = Daemon()
    try:
        d.start()
        with d.client(timeout=300) as c, d.client(timeout=300) as w:
            import_claims(c, rng, 6000)
            q = {"q": COMMON, "lang": "en"}

            def page_all(write):
                seen, cursor, pages = [], None, 0
                while True:
                    p = dict(q, limit=20)
                    if cursor:
                        p["cursor"] = cursor
                    r = c.call("claim.search", p)
                    seen += [h["id"] for h in r["items"]]
                    pages += 1
                    cursor = r["cursor"]
                    if not cursor:
                        return seen, pages
                    if write:       # new claims with the word, a pass each: new runs, then merges
                        w.call("claim.import", {"claims": claims(rng, 300, common_every=2)})
                        w.call("claim.query", {"limit": 1})

            # the first page's cursor is taken before any write: page the same query twice
            want, _ = page_all(False)
            before = runs_stats(c)["merges"]
            seen, pages = page_all(True)
            merges = runs_stats(c)["merges"] - before
        tap.ok(len(seen) == len(set(seen)), "a cursor paged %d times while %d merges ran returns each claim once" % (pages, merges))
        tap.ok(seen[:len(want)] == want, "its pages up to the writes' claims are those of the same search paged before them")
        tap.ok(merges >= 1, "merges ran while the cursor was paged (%d)" % merges)
    finally:
        d.stop()
        d.cleanup()


def wait_rest(c, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = c.call("stats")
        if st["index_at_rest"]:
            return st
        time.sleep(0.05)
    return c.call("stats")


def rest_merges(rng):
    d, fresh = Daemon(), Daemon()
    try:
        d.start()
        with d.client(timeout=300) as c:
            # Imports of 500 claims, each read back: a pass and a run each, so runs pile up.
            for _ in range(10):
                import_claims(c, rng, 500)
                c.call("claim.query", {"limit": 1})
            st = c.call("stats")
            queries = [{"q": COMMON, "lang": "en", "limit": 50}, {"q": COMMON, "limit": 200}]
            rows = [c.call("claim.search", dict(q, limit=1))["items"][0]["claim"]["text"].split()[0] for q in queries]
            queries += [{"q": w, "limit": 20} for w in rows]
            before = [[(h["id"], h["score"]) for h in c.call("claim.search", q)["items"]] for q in queries]
            listed = [h["id"] for h in c.call("claim.query", {"speaker": "Speaker 3", "limit": 500})["items"]]
            tap.diag("before rest: %d search runs, at rest %s" % (st["search_runs"]["runs"], st["index_at_rest"]))
            tap.ok(st["search_runs"]["runs"] >= 3 and not st["index_at_rest"],
                   "ten read-back imports leave %d search runs, not at rest" % st["search_runs"]["runs"])
            st = wait_rest(c)
            tap.ok(st["index_at_rest"] and st["search_runs"]["runs"] <= 2 and not st["search_runs"]["merging"],
                   "idle: at rest with %d search runs" % st["search_runs"]["runs"])
            after = [[(h["id"], h["score"]) for h in c.call("claim.search", q)["items"]] for q in queries]
            tap.ok(after == before and all(before), "%d searches answer as before the rest merges" % len(queries))
            tap.ok([h["id"] for h in c.call("claim.query", {"speaker": "Speaker 3", "limit": 500})["items"]] == listed
                   and listed, "a query by speaker lists the same %d claims" % len(listed))
            new = c.call("claim.put", {"text": "zqrestword " + COMMON, "lang": "en"})["id"]
            tap.ok(not c.call("stats")["index_at_rest"], "a write ends the rest")
            hits = [h["id"] for h in c.call("claim.search", {"q": "zqrestword"})["items"]]
            st = wait_rest(c)
            tap.ok(hits == [new] and st["index_at_rest"] and st["search_runs"]["runs"] <= 2,
                   "the new claim is found, and the next rest leaves %d runs" % st["search_runs"]["runs"])
        d.stop()
        caught_up = ixcheck("dump", d.data)
        _, rebuilt = rebuilt_dump(d.data, fresh)
        a, b = caught_up.splitlines(), rebuilt.splitlines()
        diff = sorted(set(a) ^ set(b))[:5]
        tap.ok(a == b and not [x for x in a if x.startswith("bad_")],
               "after the rest merges the index equals the one rebuilt from scratch", *diff)
    finally:
        for x in (d, fresh):
            x.stop()
            x.cleanup()


def upgrade_from_5(rng):
    d = Daemon(log_level="info")
    try:
        d.start()
        with d.client(timeout=300) as c:
            import_claims(c, rng, 3000)
            queries = [{"q": COMMON, "limit": 50}, {"q": "zqbc*", "limit": 30, "lang": "fr"}]
            before = [c.call("claim.search", q)["items"] for q in queries]
        d.stop()
        mdb_put(d.data, "meta", [(b"format", (5).to_bytes(4, "big"))])
        d.start()
        with d.client(timeout=300) as c:
            tap.is_(c.call("stats")["format"], 8, "a format 5 directory opens as format 8 (the latest)")
            after = [c.call("claim.search", q)["items"] for q in queries]
        log = open(d.log_path).read() if hasattr(d, "log_path") else d.log_tail(200)
        tap.ok("upgraded to 6" in log, "the log says the postings were moved to runs")
        tap.ok(after == before and len(before[0]) == 50, "the searches answer as before the upgrade")
        d.stop()
        claimd = os.path.join(build_dir(), "claimd")
        r = subprocess.run([claimd, "--check", d.data], capture_output=True, text=True)
        runs = [l for l in r.stdout.splitlines() if l.startswith("table search_run")]
        tap.ok(r.returncode == 0 and runs, "claimd --check walks the %d runs and finds nothing" % len(runs), r.stdout[-300:])
        # a chunk that does not decode, under a key of its own in the first run listed
        slot = runs[0].split()[1].rstrip(":") if runs else "search_run00"
        mdb_put(d.data, slot, [(b"en\x00zzzzdamaged\x00" + (7).to_bytes(8, "big"), b"\x07\x01\x02")])
        r = subprocess.run([claimd, "--check", d.data], capture_output=True, text=True)
        tap.ok(r.returncode == 1 and ("table %s" % slot) in r.stdout and "does not decode" in r.stdout,
               "a damaged chunk in %s is reported by claimd --check" % slot, r.stdout[-300:])
    finally:
        d.stop()
        d.cleanup()


def main():
    seed = int(os.environ.get("CLAIMD_SEARCHRUNS_SEED") or random.randrange(1 << 30))
    tap.diag("seed %d (CLAIMD_SEARCHRUNS_SEED=%d replays)" % (seed, seed))
    rng = random.Random(seed)
    require_ixcheck()
    kill_during_merges(rng)
    cursor_during_merges(rng)
    rest_merges(rng)
    upgrade_from_5(rng)


run(main)
