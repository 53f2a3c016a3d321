#!/usr/bin/python3
"""lifecycle.t: the fact-tracking lifecycle, black box over raw msgpack-rpc (PROTOCOL.md and
docs/protocol.md): claim.update with optimistic concurrency (two clients racing on one rev),
history that replays to the current claim, as_of reads, retraction, entity.merge, relations,
claim.query (each filter alone, each order, keyset cursors while others insert, the scan budget,
invalid parameters), the change feed and subscriptions (gap-free catch-up, filters, the
slow-subscriber cut-off)."""
import datetime
import json
import os
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import (Daemon, EXAMPLES, RpcError, Timeout, expect_error, run,  # noqa: E402
                            short)

RFERL_URL = ("https://www.rferl.org/a/us-senator-rand-paul-delivers-letter-from-trump-to-putin-"
             "on-moscow-trip/29421535.html")
OPS = ("claim.create", "claim.update", "claim.merge", "claim.retract", "verdict.add",
       "appearance.add", "relation.add", "entity.create", "entity.update", "entity.merge")


def sample_claims():
    """The hand-written claims of the RFE/RL article (examples/rferl-paul-letter.jsonl)."""
    with open(os.path.join(EXAMPLES, "rferl-paul-letter.jsonl"), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


# ---------------------------------------------------------------------------------------------
# Times: the first instant of a canonical period, as the daemon orders and filters by it.

def period(t):
    """(start, end) in microseconds of a canonical time ("2018", "2018-08", "2018-08-08",
    "2018-08-08T07:00Z", "...:09Z", "...:09.5Z"); None for None."""
    if t is None:
        return None
    epoch = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)

    def us(dt):
        return (dt - epoch) // datetime.timedelta(microseconds=1)

    utc = datetime.timezone.utc
    if len(t) == 4:
        y = int(t)
        return us(datetime.datetime(y, 1, 1, tzinfo=utc)), us(datetime.datetime(y + 1, 1, 1, tzinfo=utc))
    if len(t) == 7:
        y, m = int(t[:4]), int(t[5:7])
        nxt = datetime.datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=utc)
        return us(datetime.datetime(y, m, 1, tzinfo=utc)), us(nxt)
    if len(t) == 10:
        d = datetime.datetime(int(t[:4]), int(t[5:7]), int(t[8:10]), tzinfo=utc)
        return us(d), us(d + datetime.timedelta(days=1))
    assert t.endswith("Z"), t
    body = t[:-1]
    date, clock = body.split("T")
    frac = ""
    if "." in clock:
        clock, frac = clock.split(".")
    parts = [int(x) for x in clock.split(":")]
    d = datetime.datetime(int(date[:4]), int(date[5:7]), int(date[8:10]), parts[0], parts[1],
                          parts[2] if len(parts) > 2 else 0, tzinfo=utc)
    start = us(d) + (int(frac.ljust(6, "0")[:6]) if frac else 0)
    width = 60_000_000 if len(parts) == 2 else 10 ** (6 - len(frac)) if frac else 1_000_000
    return start, start + max(width, 1)


def exact_instant(at):
    """A server stamp ("...:57.844689Z", or "...:57Z" when the fraction was 0) as an as_of that
    names exactly that microsecond."""
    return at if "." in at else at[:-1] + ".000000Z"


# ---------------------------------------------------------------------------------------------
# Query helpers.

def query_all(c, params, limit=100, max_pages=10000):
    """Follows cursors to the end; returns (claims, pages, page sizes)."""
    items, sizes, cursor = [], [], None
    for _ in range(max_pages):
        p = dict(params, limit=limit)
        if cursor is not None:
            p["cursor"] = cursor
        r = c.call("claim.query", p)
        items.extend(r["items"])
        sizes.append(len(r["items"]))
        cursor = r.get("cursor")
        if cursor is None:
            return items, len(sizes), sizes
    raise AssertionError("cursor never ended after %d pages" % max_pages)


def ids_of(items):
    return [x["id"] for x in items]


def said_key(cl):
    p = period(cl.get("said_at"))
    return p[0] if p else -(1 << 63)


def ordered(claims, order):
    """The ids of claims in a query order: by said start (claims without said_at sort as the
    oldest), ties by id; recorded_desc by id."""
    if order == "recorded_desc":
        return sorted((x["id"] for x in claims), reverse=True)
    keyed = sorted(claims, key=lambda x: (said_key(x), x["id"]))
    ids = [x["id"] for x in keyed]
    return ids if order == "said_asc" else ids[::-1]


def ref_id(e):
    return None if e is None else e.get("id")


def matches(cl, f):
    """The query filters of PROTOCOL.md over a claim as claim.get returns it (ids resolved)."""
    if cl.get("retracted") and not f.get("include_retracted"):
        return False
    if "speaker" in f and ref_id(cl.get("speaker")) != f["speaker"]:
        return False
    if "about" in f and f["about"] not in [a["id"] for a in cl.get("about", [])]:
        return False
    if "outlet" in f and f["outlet"] not in [ref_id(a.get("outlet")) for a in cl.get("appearances", [])]:
        return False
    if "via" in f and f["via"] not in [v["id"] for v in cl.get("via", [])]:
        return False
    if "medium" in f and cl.get("medium") != f["medium"]:
        return False
    if "status" in f and cl.get("status") != f["status"]:
        return False
    if "tag" in f and f["tag"].casefold() not in [t.casefold() for t in cl.get("tags", [])]:
        return False
    if "lang" in f and (cl.get("lang") or "").casefold() != f["lang"].casefold():
        return False
    if "said_from" in f or "said_to" in f:
        p = period(cl.get("said_at"))
        if p is None:
            return False
        if "said_from" in f and p[0] < period(f["said_from"])[0]:
            return False
        if "said_to" in f and p[0] >= period(f["said_to"])[1]:
            return False
    return True


# ---------------------------------------------------------------------------------------------
# 1. Two clients race on the same rev.

def check_concurrent_updates(d):
    a, b = d.client(), d.client()
    cid = a.call("claim.put", {"text": "We expect that the president's administration will receive it shortly",
                               "speaker": "Race Peskov", "by": "race"})["id"]
    rounds, one_winner, loser_ok, revs_ok, last_winner = 25, 0, 0, 0, None
    problems = []
    for i in range(rounds):
        rev = a.call("claim.get", {"id": cid})["rev"]
        # Both requests are on the wire before either reply is read: in flight together.
        ma = a.send("claim.update", {"id": cid, "rev": rev, "set": {"speaker_role": "a%d" % i}, "by": "client-a"})
        mb = b.send("claim.update", {"id": cid, "rev": rev, "set": {"speaker_role": "b%d" % i}, "by": "client-b"})
        ra, rb = a.recv_reply(), b.recv_reply()
        if (ra.msgid, rb.msgid) != (ma, mb):
            problems.append("msgid mismatch %r" % ((ra.msgid, ma, rb.msgid, mb),))
        wins = [(name, r) for name, r in (("a", ra), ("b", rb)) if r.error is None]
        if len(wins) != 1:
            problems.append("round %d: %d winners: %r %r" % (i, len(wins), ra, rb))
            continue
        one_winner += 1
        name, win = wins[0]
        lose = rb if name == "a" else ra
        if (lose.code == "conflict" and lose.error.get("field") == "rev" and lose.error.get("id") == cid
                and isinstance(lose.error.get("message"), str)):
            loser_ok += 1
        else:
            problems.append("round %d: loser %r" % (i, lose))
        if win.result == {"id": cid, "rev": rev + 1}:
            revs_ok += 1
        else:
            problems.append("round %d: winner result %r for rev %d" % (i, win.result, rev))
        last_winner = "%s%d" % (name, i)
    tap.is_(one_winner, rounds, "two clients updating with the same rev: exactly one wins, %d rounds" % rounds,
            *problems[:5])
    tap.is_(loser_ok, rounds, "the other gets conflict with field rev and the claim id", *problems[:5])
    tap.is_(revs_ok, rounds, "the winner's result is {id, rev + 1}", *problems[:5])
    final = a.call("claim.get", {"id": cid})
    tap.is_((final["rev"], final.get("speaker_role")), (rounds + 1, last_winner),
            "the claim holds the last winner's change at rev %d" % (rounds + 1))
    hist = a.call("claim.history", {"id": cid})["items"]
    tap.is_([h["rev"] for h in hist], list(range(1, rounds + 2)),
            "history holds one revision per winning update and none for the losers")
    err = expect_error(a, "claim.update", {"id": cid, "rev": 1, "set": {"speaker_role": "stale"}},
                       "conflict", "a stale rev (sequential) is conflict", "rev")
    tap.ok(err is not None and err.id == cid, "the conflict error names the claim id", short(err and err.raw))
    tap.is_(a.call("claim.get", {"id": cid})["rev"], rounds + 1, "a conflicting update changes nothing")
    a.close()
    b.close()


def check_update_errors(c):
    cid = c.call("claim.put", {"text": "Update errors claim", "external_id": "lc-upd-err",
                               "speaker": "Update Speaker", "tags": ["one"]})["id"]
    expect_error(c, "claim.update", {"id": cid, "rev": 1, "set": {"external_id": "other"}},
                 "invalid", "claim.update cannot set external_id", "external_id")
    expect_error(c, "claim.update", {"id": cid, "rev": 1, "set": {}}, "invalid", "claim.update with an empty set", "set")
    expect_error(c, "claim.update", {"id": cid, "rev": 1}, "invalid", "claim.update without set", "set")
    expect_error(c, "claim.update", {"id": cid, "set": {"lang": "en"}}, "invalid", "claim.update without rev", "rev")
    expect_error(c, "claim.update", {"id": cid, "rev": 0, "set": {"lang": "en"}}, "invalid", "claim.update rev 0", "rev")
    expect_error(c, "claim.update", {"id": cid, "rev": 1, "set": {"text": None}},
                 "invalid", "claim.update cannot clear text", "text")
    expect_error(c, "claim.update", {"id": cid, "rev": 1, "set": {"medium": "tweet"}},
                 "invalid", "claim.update checks the values it sets", "medium")
    expect_error(c, "claim.update", {"id": 99999999, "rev": 1, "set": {"lang": "en"}},
                 "not_found", "claim.update of an unknown id", "id")
    tap.is_(c.call("claim.get", {"id": cid})["rev"], 1, "failed updates leave the claim at rev 1")
    # The indexes follow an update: old speaker and tag no longer find it, the new ones do.
    r = c.call("claim.update", {"id": cid, "rev": 1, "set": {"speaker": "Update Speaker Two", "tags": ["two"]}})
    tap.is_(r, {"id": cid, "rev": 2}, "claim.update returns {id, rev}")
    tap.is_(ids_of(c.call("claim.query", {"speaker": "Update Speaker"})["items"]), [],
            "after changing the speaker the old speaker's query no longer finds the claim")
    tap.is_(ids_of(c.call("claim.query", {"speaker": "Update Speaker Two"})["items"]), [cid],
            "the new speaker's query finds it")
    tap.is_((ids_of(c.call("claim.query", {"tag": "one"})["items"]), ids_of(c.call("claim.query", {"tag": "two"})["items"])),
            ([], [cid]), "tags are replaced whole and the tag index follows")


# ---------------------------------------------------------------------------------------------
# 2. History of ten-plus mixed changes replays to the current claim; as_of before/after verdicts.

class Model:
    """The claim as this test expects it, built only from what the test sent."""

    def __init__(self, fields, by):
        self.f = {"text": fields["text"], "quote": fields.get("quote", True), "lang": fields.get("lang"),
                  "speaker": fields.get("speaker"), "speaker_role": fields.get("speaker_role"),
                  "attribution": fields.get("attribution"), "said_at": fields.get("said_at"),
                  "medium": fields.get("medium"), "via": list(fields.get("via", [])),
                  "appearances": list(fields.get("appearances", [])), "about": list(fields.get("about", [])),
                  "tags": list(fields.get("tags", [])), "external_id": fields.get("external_id"),
                  "recorded_by": by, "status": "unverified", "retracted": False, "retract_reason": None}
        self.verdicts = []   # (at start, order recorded, rating)

    def set(self, changes):
        for k, v in changes.items():
            if v is None:
                self.f[k] = True if k == "quote" else [] if k in ("via", "appearances", "about", "tags") else None
            else:
                self.f[k] = list(v) if isinstance(v, list) else v

    def merge_lists(self, other):
        """What on_duplicate merge adds: new appearances (by url), via hops, about, tags."""
        for a in other.get("appearances", []):
            if a["url"] not in [x["url"] for x in self.f["appearances"]]:
                self.f["appearances"].append(a)
        for v in other.get("via", []):
            if v not in self.f["via"]:
                self.f["via"].append(v)
        for a in other.get("about", []):
            if a not in self.f["about"]:
                self.f["about"].append(a)
        for t in other.get("tags", []):
            if t not in self.f["tags"]:
                self.f["tags"].append(t)

    def verdict(self, at, rating):
        self.verdicts.append((period(at)[0], len(self.verdicts), rating))
        self.f["status"] = max(self.verdicts)[2]

    def snapshot(self):
        return json.loads(json.dumps(self.f))


def normalise(cl, canon):
    """A claim as output, reduced to the model's terms (entity refs as canonical ids)."""
    def eid(e):
        return canon(e["id"]) if e else None
    return {
        "text": cl.get("text"), "quote": cl.get("quote"), "lang": cl.get("lang"),
        "speaker": eid(cl.get("speaker")), "speaker_role": cl.get("speaker_role"),
        "attribution": cl.get("attribution"), "said_at": cl.get("said_at"), "medium": cl.get("medium"),
        "via": [{"id": canon(v["id"]), "how": v.get("how")} for v in cl.get("via", [])],
        "appearances": [dict(a, outlet=eid(a.get("outlet"))) if a.get("outlet") else dict(a)
                        for a in cl.get("appearances", [])],
        "about": [canon(a["id"]) for a in cl.get("about", [])], "tags": cl.get("tags"),
        "external_id": cl.get("external_id"), "recorded_by": cl.get("recorded_by"),
        "status": cl.get("status"), "retracted": cl.get("retracted"), "retract_reason": cl.get("retract_reason"),
    }


def check_history(c):
    """Returns (claim id, history) for the as_of checks."""
    ent = {}
    for name in ("Dmitry Peskov", "TASS", "RFE/RL", "Vladimir Putin", "Donald Trump", "Russian news agencies"):
        ent[name] = c.call("entity.put", {"name": name})["id"]
    ent["Dmitrij Peskov"] = c.call("entity.put", {"name": "Dmitrij Peskov", "kind": "person"})["id"]
    merged = {}

    def canon(i):
        while i in merged:
            i = merged[i]
        return i

    def canon_model(snap):
        s = dict(snap)
        s["speaker"] = canon(s["speaker"]) if s["speaker"] else None
        s["via"] = [{"id": canon(v["id"]), "how": v["how"]} for v in s["via"]]
        s["about"] = [canon(a) for a in s["about"]]
        s["appearances"] = [dict(a, outlet=canon(a["outlet"])) if a.get("outlet") else a for a in s["appearances"]]
        return s

    text = "We expect that the president's administration will receive it shortly"
    put = {"text": text, "speaker": {"id": ent["Dmitrij Peskov"]}, "said_at": "2018-08", "lang": "en",
           "tags": ["kremlin"], "via": [{"id": ent["TASS"], "how": "with-reporting-by"}],
           "appearances": [{"url": RFERL_URL, "outlet": {"id": ent["RFE/RL"]}, "published_at": "2018-08-08",
                            "title": "U.S. Senator Delivers Letter From Trump To Putin On Moscow Trip", "lang": "en"}],
           "about": [{"id": ent["Vladimir Putin"]}], "external_id": "lc-history-1", "by": "desk-a"}
    r = c.call("claim.put", put)
    cid = r["id"]

    def model_fields(p):
        m = dict(p)
        m["speaker"] = p["speaker"]["id"]
        m["about"] = [a["id"] for a in p["about"]]
        m["appearances"] = [dict(a, outlet=a["outlet"]["id"]) for a in p["appearances"]]
        return m

    model = Model(model_fields(put), "desk-a")
    expect = [("claim.create", "desk-a", model.snapshot())]
    steps_ok = [r.get("created") is True]

    # 2: an update of two fields.
    s = {"speaker_role": "Putin's spokesman", "attribution": "Peskov added"}
    r = c.call("claim.update", {"id": cid, "rev": 1, "set": s, "by": "editor-1"})
    steps_ok.append(r == {"id": cid, "rev": 2})
    model.set(s)
    expect.append(("claim.update", "editor-1", model.snapshot()))
    # 3: a verdict.
    r = c.call("verdict.add", {"claim": cid, "rating": "mostly-true", "at": "2018-08-10", "by": "checker-1",
                               "label": "Mostly accurate"})
    steps_ok.append(r.get("claim_rev") == 3)
    model.verdict("2018-08-10", "mostly-true")
    expect.append(("verdict.add", "checker-1", model.snapshot()))
    # 4: an appearance.
    tass_url = "https://tass.com/politics/1016217"
    r = c.call("appearance.add", {"claim": cid, "url": tass_url, "outlet": {"id": ent["TASS"]},
                                  "published_at": "2018-08-08", "lang": "ru", "by": "desk-b"})
    steps_ok.append(r == {"claim_rev": 4})
    model.merge_lists({"appearances": [{"url": tass_url, "outlet": ent["TASS"], "published_at": "2018-08-08", "lang": "ru"}]})
    expect.append(("appearance.add", "desk-b", model.snapshot()))
    # 5: a duplicate (same speaker, same normalised text) merged in by claim.put.
    dup = {"text": "we expect that the President's administration will receive it, shortly!",
           "speaker": "Dmitrij Peskov", "tags": ["kremlin", "trump-putin-letter"], "about": ["Donald Trump"],
           "by": "desk-c"}
    r = c.call("claim.put", dup)
    steps_ok.append(r == {"id": cid, "rev": 5, "created": False})
    model.merge_lists({"tags": dup["tags"], "about": [ent["Donald Trump"]]})
    expect.append(("claim.merge", "desk-c", model.snapshot()))
    # 6: lists are replaced whole; nil clears a field.
    s = {"tags": ["letter"], "lang": None, "quote": False}
    r = c.call("claim.update", {"id": cid, "rev": 5, "set": s, "by": "editor-2"})
    steps_ok.append(r == {"id": cid, "rev": 6})
    model.set(s)
    expect.append(("claim.update", "editor-2", model.snapshot()))
    # 7: an older verdict (by `at`) recorded later: the status stays with the newest by at.
    r = c.call("verdict.add", {"claim": cid, "rating": "false", "at": "2018-08-09", "by": "checker-2"})
    steps_ok.append(r.get("claim_rev") == 7)
    model.verdict("2018-08-09", "false")
    expect.append(("verdict.add", "checker-2", model.snapshot()))
    # 8: the speaker's entity is merged into the usual spelling.
    r = c.call("entity.merge", {"from": "Dmitrij Peskov", "into": "Dmitry Peskov", "by": "desk-admin"})
    steps_ok.append(r.get("id") == ent["Dmitry Peskov"])
    merged[ent["Dmitrij Peskov"]] = ent["Dmitry Peskov"]
    model.set({"speaker": ent["Dmitry Peskov"]})
    expect.append(("entity.merge", "desk-admin", model.snapshot()))
    # 9: said_at with a zone (normalised to UTC), medium, via replaced.
    s = {"said_at": "2018-08-08T10:00+03:00", "medium": "interview",
         "via": [{"name": "Russian news agencies", "how": "quoted"}]}
    r = c.call("claim.update", {"id": cid, "rev": 8, "set": s, "by": "editor-3"})
    steps_ok.append(r == {"id": cid, "rev": 9})
    model.set({"said_at": "2018-08-08T07:00Z", "medium": "interview",
               "via": [{"id": ent["Russian news agencies"], "how": "quoted"}]})
    expect.append(("claim.update", "editor-3", model.snapshot()))
    # 10: a newer verdict.
    r = c.call("verdict.add", {"claim": cid, "rating": "misleading", "at": "2018-08-11T12:00Z", "by": "checker-3"})
    steps_ok.append(r.get("claim_rev") == 10)
    model.verdict("2018-08-11T12:00Z", "misleading")
    expect.append(("verdict.add", "checker-3", model.snapshot()))
    # 11: retraction.
    reason = "The quote was misattributed in the wire copy"
    r = c.call("claim.retract", {"id": cid, "reason": reason, "by": "editor-4"})
    steps_ok.append(r == {"id": cid, "rev": 11})
    model.f["retracted"], model.f["retract_reason"] = True, reason
    expect.append(("claim.retract", "editor-4", model.snapshot()))
    # A second retraction is idempotent: no new revision, the first reason stands.
    r2 = c.call("claim.retract", {"id": cid, "reason": "another reason", "by": "editor-5"})
    # 12: a retracted claim can still be corrected, and stays retracted.
    s = {"speaker_role": "Kremlin spokesman"}
    r3 = c.call("claim.update", {"id": cid, "rev": 11, "set": s, "by": "editor-6"})
    steps_ok.append(r3 == {"id": cid, "rev": 12})
    model.set(s)
    expect.append(("claim.update", "editor-6", model.snapshot()))

    tap.ok(all(steps_ok), "twelve mixed changes (update, verdicts, appearance, duplicate merge, entity merge, "
           "retract) each answered with the next rev", "step results: %r" % (steps_ok,))
    tap.is_(r2, {"id": cid, "rev": 11}, "retracting again is idempotent: same rev, no new revision")

    hist = c.call("claim.history", {"id": cid})["items"]
    tap.ok(len(hist) >= 10, "claim.history has ten-plus revisions (%d)" % len(hist))
    tap.is_([h["rev"] for h in hist], list(range(1, len(expect) + 1)), "revisions are numbered 1..N, oldest first")
    tap.is_([h["op"] for h in hist], [e[0] for e in expect], "each revision names its op")
    tap.is_([h.get("by") for h in hist], [e[1] for e in expect], "each revision names who made it")
    tap.is_([h["claim"].get("rev") for h in hist], [h["rev"] for h in hist], "each revision's claim carries its rev")
    ats = [period(h["at"])[0] for h in hist]
    tap.ok(ats == sorted(ats), "revision times never go backwards", repr([h["at"] for h in hist]))
    bad = [i + 1 for i, (h, e) in enumerate(zip(hist, expect))
           if normalise(h["claim"], canon) != canon_model(e[2])]
    diags = []
    if bad:
        i = bad[0] - 1
        diags = ["first differing rev %d" % bad[0], "history: %s" % short(normalise(hist[i]["claim"], canon), 2000),
                 "replayed: %s" % short(canon_model(expect[i][2]), 2000)]
    tap.is_(bad, [], "replaying each change on the test's own model gives every revision's claim", *diags)
    cur = c.call("claim.get", {"id": cid})
    tap.is_(normalise(cur, canon), canon_model(model.snapshot()), "the replay ends at the current claim")
    tap.is_(hist[-1]["claim"], cur, "the last revision is exactly the current claim")
    tap.is_((cur["retracted"], cur.get("retract_reason"), cur["status"]), (True, reason, "misleading"),
            "a retracted claim stays readable with retracted, its reason and its status")
    expect_error(c, "claim.history", {"id": 99999999}, "not_found", "claim.history of an unknown id", "id")
    expect_error(c, "claim.retract", {"id": cid, "rev": 3, "reason": "x"}, "conflict",
                 "claim.retract with a stale rev is conflict", "rev")
    expect_error(c, "claim.retract", {"id": 99999999, "reason": "x"}, "not_found", "claim.retract of an unknown id", "id")
    return cid, hist


def check_as_of(c, cid, hist):
    before = exact_instant(hist[1]["at"])      # rev 2: the last one before the first verdict
    after = exact_instant(hist[2]["at"])       # rev 3: the first verdict
    g1 = c.call("claim.get", {"id": cid, "as_of": before})
    g2 = c.call("claim.get", {"id": cid, "as_of": after})
    tap.is_((g1["rev"], g1["status"], g1.get("verdicts")), (2, "unverified", []),
            "claim.get as_of just before the first verdict: rev 2, unverified, no verdicts")
    tap.is_((g2["rev"], g2["status"], [v["rating"] for v in g2.get("verdicts", [])]), (3, "mostly-true", ["mostly-true"]),
            "claim.get as_of the first verdict: rev 3, its rating, one verdict")
    g7 = c.call("claim.get", {"id": cid, "as_of": exact_instant(hist[6]["at"])})
    tap.is_((g7["status"], [v["rating"] for v in g7["verdicts"]]), ("mostly-true", ["false", "mostly-true"]),
            "as_of after an older-dated verdict: status still the newest by at; verdicts oldest first by at")
    tap.is_(g2["verdicts"][0].get("label"), "Mostly accurate", "as_of verdicts are full verdict maps")
    tap.is_(len(c.call("verdict.list", {"claim": cid, "as_of": before})["items"]), 0,
            "verdict.list as_of before the first verdict is empty")
    tap.is_(len(c.call("verdict.list", {"claim": cid, "as_of": after})["items"]), 1,
            "verdict.list as_of the first verdict holds it")
    tap.is_(len(c.call("verdict.list", {"claim": cid})["items"]), 3, "verdict.list without as_of holds all three")
    today = datetime.datetime.now(datetime.timezone.utc).date()
    g = c.call("claim.get", {"id": cid, "as_of": today.isoformat()})
    tap.is_((g["rev"], g["retracted"]), (len(hist), True), "as_of a date means the end of that day: the current claim")
    yesterday = (today - datetime.timedelta(days=1)).isoformat()
    expect_error(c, "claim.get", {"id": cid, "as_of": yesterday}, "not_found",
                 "claim.get as_of a day before it was recorded is not_found", "id")
    expect_error(c, "claim.get", {"id": cid, "as_of": "last week"}, "invalid", "claim.get as_of junk is invalid", "as_of")
    expect_error(c, "verdict.list", {"claim": cid, "as_of": 20180808}, "invalid",
                 "verdict.list as_of must be a time string", "as_of")


# ---------------------------------------------------------------------------------------------
# 3. Entity merge, retraction in queries, relations.

def check_merge_and_query(c):
    into = c.call("entity.put", {"name": "Maria Zakharova", "kind": "person"})["id"]
    latin = c.call("entity.put", {"name": "Mariya Zakharova", "kind": "person"})["id"]
    cyr = c.call("entity.put", {"name": "Мария Захарова", "kind": "person"})["id"]
    tap.ok(len({into, latin, cyr}) == 3, "three spellings start as three entities")
    texts = ["The letter has not been received", "Moscow is ready for dialogue", "Washington must explain itself"]
    a = c.call("claim.put", {"text": texts[0], "speaker": "Maria Zakharova"})["id"]
    b = c.call("claim.put", {"text": texts[1], "speaker": "Mariya Zakharova", "about": ["Мария Захарова"]})["id"]
    k = c.call("claim.put", {"text": texts[2], "speaker": "Мария Захарова", "lang": "ru"})["id"]
    r = c.call("entity.merge", {"from": "Mariya Zakharova", "into": "Maria Zakharova", "by": "desk"})
    tap.is_((r.get("id"), r.get("name")), (into, "Maria Zakharova"), "entity.merge returns the target entity")
    r = c.call("entity.merge", {"from": {"id": cyr}, "into": {"id": into}})
    tap.ok(set(r.get("aliases", [])) >= {"Mariya Zakharova", "Мария Захарова"},
           "the target entity took the merged names as aliases", short(r))
    tap.is_(c.call("entity.get", {"id": latin}).get("merged_into"), into, "the merged entity answers merged_into")
    for name, ref in (("Maria Zakharova", "Maria Zakharova"), ("Mariya Zakharova", "Mariya Zakharova"),
                      ("Мария Захарова", "мария захарова"), ("the old id", {"id": latin})):
        got = sorted(ids_of(c.call("claim.query", {"speaker": ref})["items"]))
        tap.is_(got, sorted([a, b, k]), "after the merge, query by %s finds the claims of every spelling" % name)
    tap.is_(ids_of(c.call("claim.query", {"about": "Maria Zakharova"})["items"]), [b],
            "an about reference to a merged entity is found under the target")
    tap.is_([ref_id(c.call("claim.get", {"id": x})["speaker"]) for x in (a, b, k)], [into] * 3,
            "every claim now answers with the target as speaker")
    tap.is_(c.call("claim.history", {"id": b})["items"][-1]["op"], "entity.merge",
            "the merge is a revision of each claim it touched")
    tap.is_(c.call("entity.find", {"name": "Mariya Zakharova"})["items"][0]["id"], into,
            "entity.find by an old name returns the target")
    again = c.call("claim.put", {"text": texts[1], "speaker": "Maria Zakharova"})
    tap.is_((again["id"], again["created"]), (b, False), "a claim put under the target name is a duplicate of the merged claim")
    expect_error(c, "entity.merge", {"from": latin, "into": into}, "invalid",
                 "merging an already merged entity (by id) is invalid", "from")
    expect_error(c, "entity.merge", {"from": {"id": latin}, "into": {"id": into}}, "invalid",
                 "merging a reference that now resolves to the target is invalid", ("from", "into"))
    expect_error(c, "entity.merge", {"from": "Maria Zakharova", "into": "Maria Zakharova"}, "invalid",
                 "merging an entity into itself is invalid", "into")
    expect_error(c, "entity.merge", {"from": "Nobody At All", "into": "Maria Zakharova"}, "not_found",
                 "merging an unknown entity is not_found", "from")

    # Retracted claims vanish from queries and come back with include_retracted.
    rr = c.call("claim.retract", {"id": k, "reason": "wrong speaker", "by": "desk", "rev": c.call("claim.get", {"id": k})["rev"]})
    tap.is_(rr["id"], k, "claim.retract with the current rev returns {id, rev}")
    tap.is_(sorted(ids_of(c.call("claim.query", {"speaker": "Maria Zakharova"})["items"])), sorted([a, b]),
            "a retracted claim vanishes from query results")
    tap.is_(ids_of(c.call("claim.query", {"lang": "ru"})["items"]), [],
            "... from every filter's results")
    items = c.call("claim.query", {"speaker": "Maria Zakharova", "include_retracted": True})["items"]
    tap.is_(sorted(ids_of(items)), sorted([a, b, k]), "include_retracted brings it back")
    tap.is_([x["retracted"] for x in items if x["id"] == k], [True], "... marked retracted: true")


def check_relations(c):
    ids = [c.call("claim.put", {"text": t, "speaker": "Relation Speaker"})["id"] for t in
           ("The letter was delivered", "No letter was received", "The letter was received through diplomatic channels")]
    x, y, z = ids
    tap.is_(c.call("relation.add", {"from": y, "to": x, "kind": "contradicts", "note": "Kremlin first denied", "by": "desk"}),
            {}, "relation.add returns {}")
    c.call("relation.add", {"from": z, "to": y, "kind": "retracts"})
    c.call("relation.add", {"from": z, "to": x, "kind": "confirms"})
    rel = lambda cid: sorted((r["from"], r["to"], r["kind"], r.get("note")) for r in c.call("relation.list", {"claim": cid})["items"])
    tap.is_(rel(x), sorted([(y, x, "contradicts", "Kremlin first denied"), (z, x, "confirms", None)]),
            "relation.list on the target lists incoming relations with from/to as added")
    tap.is_(rel(y), sorted([(y, x, "contradicts", "Kremlin first denied"), (z, y, "retracts", None)]),
            "relation.list lists both directions")
    tap.is_(rel(z), sorted([(z, y, "retracts", None), (z, x, "confirms", None)]), "relation.list on the source lists outgoing")
    c.call("relation.add", {"from": y, "to": x, "kind": "contradicts", "note": "updated note"})
    tap.is_(rel(x), sorted([(y, x, "contradicts", "updated note"), (z, x, "confirms", None)]),
            "adding the same relation again replaces its note, no duplicate")
    for kind in ("confirms", "contradicts", "repeats", "clarifies", "retracts", "responds-to"):
        c.call("relation.add", {"from": x, "to": z, "kind": kind})
    tap.is_(sorted(r["kind"] for r in c.call("relation.list", {"claim": x})["items"] if r["from"] == x),
            sorted(["confirms", "contradicts", "repeats", "clarifies", "retracts", "responds-to"]),
            "every contract kind is accepted")
    expect_error(c, "relation.add", {"from": x, "to": y, "kind": "supports"}, "invalid", "relation.add unknown kind", "kind")
    expect_error(c, "relation.add", {"from": x, "to": x, "kind": "repeats"}, "invalid", "relation.add to itself", "to")
    expect_error(c, "relation.add", {"from": x, "to": 99999999, "kind": "repeats"}, "not_found", "relation.add unknown to", "to")
    expect_error(c, "relation.add", {"from": 99999999, "to": x, "kind": "repeats"}, "not_found", "relation.add unknown from", "from")
    expect_error(c, "relation.list", {"claim": 99999999}, "not_found", "relation.list of an unknown claim", "claim")
    ch = c.call("changes", {"since": c.call("stats")["seq"] - 2})["items"]
    tap.is_([(i["op"], i["type"], i["id"]) for i in ch], [("relation.add", "claim", x), ("relation.add", "claim", z)],
            "relation.add is in the change feed under both claims, from first")


# ---------------------------------------------------------------------------------------------
# 4. Each filter alone, each order, invalid parameters: on a daemon holding only this data set.

EXTRA = [
    {"text": "Moscow will respond to any new sanctions", "speaker": "Dmitry Peskov", "said_at": "2018-08-08T23:59Z",
     "lang": "en", "medium": "press-conference", "tags": ["Sanctions"], "about": ["Vladimir Putin"]},
    {"text": "Ответ будет", "speaker": "Dmitry Peskov", "said_at": "2018-08-09T00:00Z", "lang": "ru",
     "medium": "press-conference", "tags": ["sanctions"], "via": [{"name": "TASS", "how": "reported"}],
     "appearances": [{"url": "https://tass.ru/politika/1", "outlet": "TASS", "lang": "ru"}]},
    {"text": "The meeting went well", "speaker": "Rand Paul", "said_at": "2018-08-07T23:59:59Z", "lang": "en",
     "medium": "interview"},
    {"text": "The visit is private", "speaker": "U.S. Embassy in Moscow", "said_at": "2018-08-09T01:00+03:00",
     "lang": "en", "medium": "statement", "tags": ["paul-moscow-trip"]},
    {"text": "We have had talks", "speaker": "Rand Paul", "said_at": "2018", "lang": "EN", "tags": ["DIPLOMACY"]},
    {"text": "Sanctions will stay", "speaker": "State Department", "said_at": "2018-07", "lang": "en",
     "medium": "press-release", "tags": ["sanctions"]},
    {"text": "No date known for this one", "speaker": "Rand Paul", "lang": "en", "medium": "broadcast"},
    {"text": "An anonymous official said the letter was routine", "said_at": "2018-08-08T12:00:30.25Z", "lang": "en",
     "medium": "other", "via": [{"name": "RFE/RL", "how": "reported"}]},
    {"text": "The delegation will come in the autumn", "speaker": "Russian Federation", "said_at": "2018-08-06",
     "lang": "en", "medium": "speech"},
    {"text": "This one will be retracted", "speaker": "Rand Paul", "said_at": "2018-08-08T09:00Z", "lang": "en",
     "medium": "post", "tags": ["diplomacy"]},
]


def check_filters(d):
    c = d.client()
    res = c.call("claim.import", {"claims": sample_claims() + EXTRA})["results"]
    ids = [r.get("id") for r in res]
    tap.ok(all(r.get("created") for r in res), "the filter data set (sample article + extras) imports", short(res))
    # Statuses via verdicts, one retraction.
    c.call("verdict.add", {"claim": ids[0], "rating": "true", "at": "2018-08-09"})
    c.call("verdict.add", {"claim": ids[3], "rating": "false", "at": "2018-08-09"})
    c.call("verdict.add", {"claim": ids[12], "rating": "false", "at": "2018-08-10"})
    c.call("verdict.add", {"claim": ids[12], "rating": "mixed", "at": "2018-08-11"})
    c.call("claim.retract", {"id": ids[-1], "reason": "test"})
    claims = [c.call("claim.get", {"id": i}) for i in ids]
    ent = lambda name: c.call("entity.find", {"name": name})["items"][0]["id"]
    paul, putin, rferl, tass, peskov = (ent(n) for n in ("Rand Paul", "Vladimir Putin", "RFE/RL", "TASS", "Dmitry Peskov"))

    cases = [
        ("speaker by name (case-insensitive)", {"speaker": "rand paul"}, {"speaker": paul}),
        ("speaker by id", {"speaker": {"id": paul}}, {"speaker": paul}),
        ("about", {"about": "Vladimir Putin"}, {"about": putin}),
        ("outlet", {"outlet": "RFE/RL"}, {"outlet": rferl}),
        ("outlet by alias", {"outlet": "Radio Free Europe/Radio Liberty"}, {"outlet": rferl}),
        ("outlet TASS", {"outlet": "TASS"}, {"outlet": tass}),
        ("via", {"via": "TASS"}, {"via": tass}),
        ("via RFE/RL", {"via": "RFE/RL"}, {"via": rferl}),
        ("medium", {"medium": "press-conference"}, {"medium": "press-conference"}),
        ("medium statement", {"medium": "statement"}, {"medium": "statement"}),
        ("status false", {"status": "false"}, {"status": "false"}),
        ("status mixed", {"status": "mixed"}, {"status": "mixed"}),
        ("status unverified", {"status": "unverified"}, {"status": "unverified"}),
        ("tag", {"tag": "diplomacy"}, {"tag": "diplomacy"}),
        ("tag, other case", {"tag": "SANCTIONS"}, {"tag": "sanctions"}),
        ("lang", {"lang": "ru"}, {"lang": "ru"}),
        ("lang en (also matches EN)", {"lang": "en"}, {"lang": "en"}),
        ("said_from a day", {"said_from": "2018-08-08"}, {"said_from": "2018-08-08"}),
        ("said_to a day (includes that whole day)", {"said_to": "2018-08-07"}, {"said_to": "2018-08-07"}),
        ("said_from = said_to = one day", {"said_from": "2018-08-08", "said_to": "2018-08-08"},
         {"said_from": "2018-08-08", "said_to": "2018-08-08"}),
        ("said_from/said_to a month", {"said_from": "2018-08", "said_to": "2018-08"},
         {"said_from": "2018-08", "said_to": "2018-08"}),
        ("said_to a year", {"said_to": "2018"}, {"said_to": "2018"}),
        ("said_from a minute with a zone", {"said_from": "2018-08-09T02:59+03:00"}, {"said_from": "2018-08-08T23:59Z"}),
        ("said_to a second", {"said_to": "2018-08-08T12:00:30Z"}, {"said_to": "2018-08-08T12:00:30Z"}),
        ("include_retracted", {"include_retracted": True}, {"include_retracted": True}),
        ("no filter", {}, {}),
    ]
    for name, params, model_f in cases:
        want = ordered([x for x in claims if matches(x, model_f)], "said_desc")
        got = ids_of(query_all(c, params, limit=1000)[0])
        tap.ok(got == want and len(want) > 0, "claim.query %s alone: %d matches in said_desc order" % (name, len(want)),
               "     got: %r" % got, "expected: %r" % want, "params: %r" % params)
    # Boundaries of the period bounds, spelled out.
    day = set(ids_of(query_all(c, {"said_from": "2018-08-08", "said_to": "2018-08-08"}, 1000)[0]))
    tap.ok(ids[11] in day and ids[14] in day and ids[13] not in day and ids[10] not in day and ids[12] not in day,
           "a one-day range holds 23:59Z and 01:00+03:00 of the next day, not 00:00Z next day nor 23:59:59Z before",
           short(sorted(day)))
    tap.ok(ids[17] not in ids_of(query_all(c, {"said_from": "2018"}, 1000)[0]),
           "a claim without said_at never matches a said range")
    # Each order, over everything and over one speaker, page by page (limit 3).
    for order in ("said_desc", "said_asc", "recorded_desc"):
        for name, params, model_f in (("all", {}, {}), ("speaker", {"speaker": "Rand Paul"}, {"speaker": paul}),
                                      ("said range", {"said_from": "2018-08"}, {"said_from": "2018-08"})):
            want = ordered([x for x in claims if matches(x, model_f)], order)
            got = ids_of(query_all(c, dict(params, order=order), limit=3)[0])
            tap.is_(got, want, "order %s over %s, pages of 3, cursor to the end" % (order, name))
    every = {"include_retracted": True}
    page = c.call("claim.query", every)
    tap.is_(len(page["items"]), 20, "limit defaults to 20 (of %d matches)" % len(claims))
    tap.is_(ids_of(page["items"]), ordered([x for x in claims if matches(x, every)], "said_desc")[:20],
            "order defaults to said_desc")
    tap.is_(page["items"][0], c.call("claim.get", {"id": page["items"][0]["id"]}), "query items are full claims")
    tap.ok(isinstance(page["cursor"], str), "a cursor is a string", short(page["cursor"]))
    last = c.call("claim.query", dict(every, cursor=page["cursor"]))
    tap.is_((len(last["items"]), last["cursor"]), (len(claims) - 20, None), "the last page ends with cursor nil")
    c.close()
    return ids


def check_query_errors(d):
    c = d.client()
    for params, field, name in (
            ({"order": "newest"}, "order", "an unknown order"),
            ({"limit": 0}, "limit", "limit 0"),
            ({"limit": 1001}, "limit", "limit 1001"),
            ({"limit": "10"}, "limit", "limit as a string"),
            ({"limit": -5}, "limit", "a negative limit"),
            ({"cursor": "zz"}, "cursor", "a cursor that is not hex"),
            ({"cursor": "00" * 26 + "0"}, "cursor", "a cursor of odd length"),
            ({"cursor": "ab"}, "cursor", "a cursor too short"),
            ({"cursor": 17}, "cursor", "a cursor that is a number"),
            ({"speakers": "Rand Paul"}, "speakers", "an unknown parameter"),
            ({"said_from": "August 2018"}, "said_from", "said_from that is not a time"),
            ({"said_to": "2018-13"}, "said_to", "said_to out of range"),
            ({"status": "pants-on-fire"}, "status", "an unknown status"),
            ({"medium": "tweet"}, "medium", "an unknown medium"),
            ({"include_retracted": "yes"}, "include_retracted", "include_retracted not a bool"),
            ({"speaker": 42}, "speaker", "a speaker that is a number"),
            ({"tag": ["a"]}, "tag", "a tag that is a list")):
        expect_error(c, "claim.query", params, "invalid", "claim.query with %s is invalid" % name, field)
    first = c.call("claim.query", {"speaker": "Rand Paul", "limit": 2})
    cur = first["cursor"]
    tap.ok(isinstance(cur, str), "a first page of two has a cursor", short(first))
    expect_error(c, "claim.query", {"speaker": "Dmitry Peskov", "cursor": cur, "limit": 2}, "invalid",
                 "a cursor from another speaker is invalid", "cursor")
    expect_error(c, "claim.query", {"speaker": "Rand Paul", "order": "said_asc", "cursor": cur, "limit": 2}, "invalid",
                 "a cursor from another order is invalid", "cursor")
    expect_error(c, "claim.query", {"tag": "diplomacy", "cursor": cur, "limit": 2}, "invalid",
                 "a cursor from another filter's index is invalid", "cursor")
    tap.ok(c.call("claim.query", {"speaker": "Rand Paul", "cursor": cur, "limit": 2})["items"],
           "the same cursor with its own filter continues")
    expect_error(c, "claim.query", {"as_of": "2018-08-09"}, "invalid",
                 "claim.query does not take as_of (only claim.get and verdict.list do)", "as_of")
    before = c.call("stats")["entities"]
    for key in ("speaker", "about", "outlet", "via"):
        r = c.call("claim.query", {key: "Nobody Ever Mentioned"})
        tap.is_(r, {"items": [], "cursor": None}, "an unknown %s name gives an empty result, not an error" % key)
    tap.is_(c.call("claim.query", {"speaker": {"id": 99999999}}), {"items": [], "cursor": None},
            "an unknown speaker id gives an empty result")
    tap.is_(c.call("entity.find", {"name": "Nobody Ever Mentioned"})["items"], [],
            "querying by an unknown name created no entity (entity.find)")
    tap.is_(c.call("stats")["entities"], before, "... and the entity count did not move")
    c.close()


# ---------------------------------------------------------------------------------------------
# 5. Keyset paging while another client inserts; the scan budget.

def paging_claim(i, speaker, prefix, said):
    return {"text": "%s claim %d on the letter" % (prefix, i), "speaker": speaker, "said_at": said, "lang": "en",
            "tags": ["paging"]}


def day(n):
    return (datetime.date(2017, 1, 1) + datetime.timedelta(days=n)).isoformat()


def check_paging_under_inserts(d):
    reader, writer = d.client(timeout=30), d.client(timeout=30)
    speaker = "Paging Speaker"
    # Originals spread over 800 days with many same-day ties (ids break them).
    originals = [paging_claim(i, speaker, "original", day(i * 37 % 800)) for i in range(5000)]
    res = writer.call("claim.import", {"claims": originals})["results"]
    orig_ids = [r["id"] for r in res]
    tap.ok(len(set(orig_ids)) == 5000 and all(r["created"] for r in res), "5,000 claims imported for one speaker")
    seen, pages, inserted, order_ok, batch = [], 0, 0, True, 0
    cursor, last_key = None, None
    t0 = time.monotonic()
    while True:
        p = {"speaker": speaker, "limit": 100}
        if cursor:
            p["cursor"] = cursor
        r = reader.call("claim.query", p)
        pages += 1
        for x in r["items"]:
            key = (said_key(x), x["id"])
            if last_key is not None and key >= last_key:
                order_ok = False
            last_key = key
            seen.append(x["id"])
        cursor = r["cursor"]
        # Between pages another client inserts a batch of 100, dated before, inside and after the
        # range walked so far, and corrects a few claims already seen and not yet seen.
        if inserted < 5000:
            new = [paging_claim(5000 + inserted + j, speaker, "inserted", day((batch * 97 + j * 13) % 900 - 50))
                   for j in range(100)]
            writer.call("claim.import", {"claims": new})
            inserted += 100
            for target in (orig_ids[batch * 7 % 5000], orig_ids[(batch * 131 + 2500) % 5000]):
                rev = writer.call("claim.get", {"id": target})["rev"]
                writer.call("claim.update", {"id": target, "rev": rev, "set": {"tags": ["paging", "edited"]}})
            batch += 1
        if cursor is None or pages > 500:
            break
    dt = time.monotonic() - t0
    orig = set(orig_ids)
    got_orig = [i for i in seen if i in orig]
    tap.is_(inserted, 5000, "another client inserted 5,000 more claims for the speaker while paging")
    tap.ok(len(got_orig) == 5000 and set(got_orig) == orig,
           "paging by speaker (limit 100) returned every original match exactly once (%d pages, %.2fs)" % (pages, dt),
           "originals seen %d, distinct %d, missing %d" % (len(got_orig), len(set(got_orig)), len(orig - set(got_orig))))
    tap.is_(len(seen), len(set(seen)), "no claim appeared twice across pages")
    tap.ok(order_ok, "the pages kept said_desc order throughout")
    # Every order walks all 10,000 once, in order.
    everything = None
    for order in ("said_desc", "said_asc", "recorded_desc"):
        items, npages, _ = query_all(reader, {"speaker": speaker, "order": order}, limit=1000)
        got = ids_of(items)
        if everything is None:
            everything = items
        want = ordered(everything, order)
        tap.ok(got == want and len(got) == 10000, "order %s walks all 10,000 claims once in order (%d pages)" % (order, npages),
               "got %d items" % len(got))
    reader.close()
    writer.close()


def check_scan_budget(d):
    c = d.client(timeout=60)
    speaker = "Budget Speaker"
    claims = [{"text": "budget claim %d" % i, "speaker": speaker, "said_at": day(100 + i % 700)} for i in range(25000)]
    for i in range(3):    # the only matches are the oldest three: the walk meets them last
        claims[i] = {"text": "needle %d" % i, "speaker": speaker, "said_at": day(i), "tags": ["needle"]}
    for k in range(0, 25000, 10000):
        c.call("claim.import", {"claims": claims[k:k + 10000]})
    items, pages, sizes = query_all(c, {"speaker": speaker, "tag": "needle"}, limit=10)
    tap.ok(pages >= 2 and sizes[0] == 0,
           "a sparse filter over 25,000 index entries returns a short (here empty) page with a cursor: the scan budget",
           "page sizes %r" % (sizes,))
    tap.is_(sorted(x["text"] for x in items), ["needle 0", "needle 1", "needle 2"],
            "following the cursor until nil finds every match")
    c.close()


# ---------------------------------------------------------------------------------------------
# 6. The change feed: paging with next; a subscriber across a catch-up; filters; cut-off.

def all_changes(c, limit=1000):
    out, since = [], 0
    while True:
        r = c.call("changes", {"since": since, "limit": limit})
        if not r["items"]:
            return out, r["next"]
        out.extend(r["items"])
        since = r["next"]


def check_changes_paging(c):
    top = c.call("stats")["seq"]
    items, since, pages = [], 0, 0
    while True:
        r = c.call("changes", {"since": since, "limit": 7})
        pages += 1
        if not r["items"]:
            tap.is_(r["next"], since, "an empty page's next is the since given")
            break
        if len(r["items"]) > 7 or r["next"] != r["items"][-1]["seq"]:
            tap.ok(False, "a page holds at most limit items and next is its last seq", short(r))
            break
        items.extend(r["items"])
        since = r["next"]
    seqs = [i["seq"] for i in items]
    tap.is_(seqs, list(range(1, top + 1)), "paging changes with next (limit 7) gives seq 1..%d, each once, in order" % top)
    tap.ok(all(i["op"] in OPS and i["type"] in ("claim", "entity") and isinstance(i["id"], int) for i in items),
           "every change has a known op, a type and an id")
    def type_fits(i):
        if i["op"] == "entity.merge":
            return i["type"] in ("claim", "entity")
        return i["type"] == ("entity" if i["op"].startswith("entity.") else "claim")
    tap.ok(all(type_fits(i) for i in items),
           "claim ops carry type claim, entity ops type entity (entity.merge: both, one per record)")
    tap.ok(all(isinstance(i["at"], str) and period(i["at"]) for i in items), "every change has an ISO at")
    tap.is_(c.call("changes", {"since": top + 1000}), {"items": [], "next": top + 1000}, "changes past the end is empty")
    tap.is_(len(c.call("changes", {})["items"]), min(100, top), "changes defaults to since 0, limit 100")
    expect_error(c, "changes", {"limit": 0}, "invalid", "changes limit 0", "limit")
    expect_error(c, "changes", {"limit": 10001}, "invalid", "changes limit 10001", "limit")
    expect_error(c, "changes", {"since": "x"}, "invalid", "changes since not a number", "since")


def writer_work(d, rounds, started):
    """Mixed writes from their own connection: puts, verdicts, updates, relations, entities."""
    c = d.client(timeout=30)
    try:
        prev = None
        for i in range(rounds):
            cid = c.call("claim.put", {"text": "feed claim %d" % i, "speaker": "Feed Speaker %d" % (i % 5)})["id"]
            c.pipeline([("verdict.add", {"claim": cid, "rating": "unproven"}),
                        ("claim.update", {"id": cid, "rev": 2, "set": {"tags": ["feed"]}})])
            if prev:
                c.call("relation.add", {"from": cid, "to": prev, "kind": "repeats"})
            if i % 10 == 0:
                c.call("entity.put", {"name": "Feed Entity %d" % i})
            prev = cid
            if i == 10:
                started.set()
    finally:
        started.set()
        c.close()


def check_subscribe_catch_up(d):
    c = d.client()
    # Some history before the subscriber arrives.
    for i in range(30):
        c.call("claim.put", {"text": "before subscribing %d" % i, "speaker": "Early Speaker"})
    sub = d.client(timeout=20)
    started = threading.Event()
    t = threading.Thread(target=writer_work, args=(d, 150, started))
    t.start()
    started.wait(10)
    # Subscribe first, then catch up with changes up to the returned seq, then the live stream.
    r = sub.call("subscribe", {})
    s, sid = r.get("seq"), r.get("subscription")
    tap.ok(isinstance(s, int) and isinstance(sid, int) and s > 30, "subscribe returns {subscription, seq} while writes go on", short(r))
    got, last = [], 0
    while last < s:
        page = sub.call("changes", {"since": last, "limit": 50})
        for ch in page["items"]:
            if ch["seq"] <= s:
                got.append(ch)
                last = ch["seq"]
        if not page["items"] or page["items"][-1]["seq"] >= s:
            break
    caught_up = last
    notes, raw_seqs, closed, sub_ids = [], [], [], set()
    t.join(60)
    top = c.call("stats")["seq"]
    deadline = time.monotonic() + 15
    while (not raw_seqs or raw_seqs[-1] < top) and time.monotonic() < deadline:
        try:
            n = sub.recv_notification(timeout=max(0.01, deadline - time.monotonic()))
        except Timeout:
            break
        if n[1] == "change":
            raw_seqs.append(n[2][0]["seq"])
            sub_ids.add(n[2][0].get("subscription"))
            notes.append({k: v for k, v in n[2][0].items() if k != "subscription"})
        else:
            closed.append(n)
    tap.is_(closed, [], "a subscriber that reads is never cut off")
    tap.ok(all(a < b for a, b in zip(raw_seqs, raw_seqs[1:])), "notifications arrive in strictly increasing seq order",
           short(raw_seqs))
    tap.ok(raw_seqs and raw_seqs[-1] == top, "the live stream reached the last committed seq %d" % top,
           "last notified %r" % (raw_seqs[-1:],))
    for ch in notes:
        if ch["seq"] > last:
            got.append(ch)
            last = ch["seq"]
    full, _ = all_changes(c)
    tap.is_([g["seq"] for g in got], list(range(1, top + 1)),
            "catch-up (changes to seq %d) plus notifications (deduped by seq) give every seq once, in order" % caught_up)
    tap.ok(got == full, "each change seen by the subscriber equals the change log entry", short(got[:3]), short(full[:3]))
    tap.ok(len(sub_ids) == 1 and isinstance(next(iter(sub_ids)), int),
           "every notification names the one subscription", short(sub_ids))
    sub.close()
    c.close()


def check_subscribe_filters(d):
    w, s = d.client(), d.client()
    cid = w.call("claim.put", {"text": "A filtered claim", "speaker": "Filter Speaker"})["id"]
    other = w.call("claim.put", {"text": "Another claim", "speaker": "Unfiltered Speaker"})["id"]
    r1 = s.call("subscribe", {"types": ["claim"], "ops": ["verdict.add"], "claim": cid})
    r2 = s.call("subscribe", {"speaker": "Filter Speaker"})
    r3 = s.call("subscribe", {"types": ["entity"]})
    subs = (r1["subscription"], r2["subscription"], r3["subscription"])
    tap.ok(len(set(subs)) == 3, "each subscribe gets its own subscription id", short(subs))
    w.call("verdict.add", {"claim": cid, "rating": "false"})
    w.call("verdict.add", {"claim": other, "rating": "false"})
    w.call("claim.update", {"id": cid, "rev": 2, "set": {"lang": "en"}})
    w.call("relation.add", {"from": cid, "to": other, "kind": "contradicts"})
    w.call("entity.put", {"name": "Brand New Entity"})
    top = w.call("stats")["seq"]
    seen = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (not seen or max(x[1] for x in seen) < top):
        try:
            n = s.recv_notification(timeout=max(0.01, deadline - time.monotonic()))
        except Timeout:
            break
        seen.append((n[2][0]["op"], n[2][0]["seq"], n[2][0]["id"]))
    ops = sorted(op for op, _, _ in seen if op != "relation.add")
    # sub 1: verdict.add on cid; sub 2: verdict.add + claim.update on cid; sub 3: entity.create.
    tap.is_(ops, sorted(["verdict.add", "verdict.add", "claim.update", "entity.create"]),
            "types/ops/claim/speaker filters each select their changes (one notification per matching subscription)",
            short(seen))
    tap.ok(all(i == cid for op, _, i in seen if op != "entity.create"), "no notification about the other speaker's claim")
    # relation.add is a change of type claim with the from claim's id: a speaker subscription on
    # that claim's speaker must see it like the claim's other changes.
    tap.is_([op for op, _, _ in seen if op == "relation.add"], ["relation.add"],
            "a speaker subscription sees relation.add on that speaker's claim", short(seen))
    # unsubscribe stops the stream: a write on the same connection, then ping, brings nothing.
    tap.is_([s.call("unsubscribe", {"subscription": sid}) for sid in subs], [{}, {}, {}], "unsubscribe returns {}")
    s.notifications.clear()
    s.call("verdict.add", {"claim": cid, "rating": "true"})
    s.call("entity.put", {"name": "Another New Entity"})
    s.call("ping")
    tap.is_(s.notifications, [], "after unsubscribe no notification comes")
    s.call("subscribe", {"claim": cid})
    s.call("verdict.add", {"claim": cid, "rating": "mixed"})
    s.call("ping")
    tap.is_([n[2][0]["op"] for n in s.notifications], ["verdict.add"],
            "a subscription sees its own connection's write before the next reply")
    expect_error(s, "unsubscribe", {"subscription": 99999}, "not_found", "unsubscribe an unknown id", "subscription")
    expect_error(s, "subscribe", {"ops": ["claim.delete"]}, "invalid", "subscribe with an unknown op", "ops")
    expect_error(s, "subscribe", {"types": ["verdict"]}, "invalid", "subscribe with an unknown type", "types")
    expect_error(s, "subscribe", {"speaker": "Nobody Ever Mentioned"}, "not_found",
                 "subscribe to an unknown speaker is not_found", "speaker")
    w.close()
    s.close()


def check_slow_subscriber():
    """On a daemon with a tiny output limit: a subscriber that does not read is cut off with a
    final subscription.closed notice, and its connection keeps working."""
    d = Daemon(["--max-output", "4096"])
    d.start()
    slow, w = d.client(timeout=20), d.client(timeout=60)
    sid = slow.call("subscribe", {})["subscription"]
    # Many separate write calls (the cut-off is decided per committed call), pipelined, carrying
    # several times what the kernel buffers for a Unix socket (about 80 bytes a notification).
    try:
        with open("/proc/sys/net/core/wmem_default") as f:
            kernel_buffer = int(f.read())
    except (OSError, ValueError):
        kernel_buffer = 1 << 20
    ncalls = max(400, 4 * kernel_buffer // (20 * 80))
    calls = [("claim.import", {"claims": [{"text": "flood %d-%d" % (k, j), "speaker": "Flood %d" % j}
                                          for j in range(20)]}) for k in range(ncalls)]
    for k in range(0, len(calls), 100):
        w.pipeline(calls[k:k + 100])
    tap.ok(d.alive(), "the daemon stays up while a subscriber does not read")
    changes, closed, after = [], [], []
    while True:
        try:
            n = slow.recv_notification(timeout=2)
        except Timeout:
            break
        if closed:
            after.append(n)
        elif n[1] == "change":
            changes.append(n[2][0]["seq"])
        else:
            closed.append(n)
    top = w.call("stats")["seq"]
    tap.ok(len(closed) == 1 and closed[0][1] == "subscription.closed",
           "a subscriber that does not read gets a subscription.closed notice", short(closed), "changes read: %d" % len(changes))
    note = closed[0][2][0] if closed and closed[0][2] else {}
    tap.ok(note.get("subscription") == sid and isinstance(note.get("reason"), str),
           "the notice names the subscription and a reason", short(note))
    tap.ok(changes and changes[-1] < top and all(a < b for a, b in zip(changes, changes[1:])),
           "it had received an in-order prefix of the changes before being cut off",
           "received %d, last %r, top %d" % (len(changes), changes[-1:], top))
    w.call("claim.put", {"text": "after the cut-off"})
    tap.is_(slow.call("ping").get("protocol"), 1, "the cut-off connection still answers requests")
    tap.is_(after + slow.notifications, [], "and receives no more notifications")
    tap.ok(expect_error(slow, "unsubscribe", {"subscription": sid}, "not_found",
                        "the dropped subscription is gone (unsubscribe not_found)", "subscription") is not None,
           "a client can tell it must resubscribe and catch up")
    slow.close()
    w.close()
    d.stop()


def main():
    t0 = time.monotonic()
    d = Daemon()
    d.start()
    c = d.client(timeout=30)
    c.call("claim.import", {"claims": sample_claims()})
    check_concurrent_updates(d)
    check_update_errors(c)
    cid, hist = check_history(c)
    check_as_of(c, cid, hist)
    check_merge_and_query(c)
    check_relations(c)
    check_changes_paging(c)
    check_subscribe_catch_up(d)
    check_subscribe_filters(d)
    check_paging_under_inserts(d)
    check_scan_budget(d)
    c.close()
    tap.is_(d.stop(), 0, "the daemon exits cleanly on SIGTERM")

    f = Daemon()
    f.start()
    check_filters(f)
    check_query_errors(f)
    f.stop()

    check_slow_subscriber()
    tap.diag("lifecycle.t took %.1fs" % (time.monotonic() - t0))


if __name__ == "__main__":
    run(main)
