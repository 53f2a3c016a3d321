#!/usr/bin/python3
"""claimctl_claimreview.t: ClaimReview JSON-LD. The realistic feed of examples/ (an @graph of
five reviews written the ways publishers write them) becomes claims and verdicts field by
field; a re-run adds nothing; with the article's claims already there the verdicts attach to
them; export back gives the same reviews, and importing the export gives the same verdicts. The
shapes (one object, an array, @graph, @type variants, a byte order mark) and the refusals
(not a ClaimReview, no claimReviewed, a rating that cannot be told, bad JSON in one element, a
truncated file) with the element index in the rejects file; a verdict that cannot be stored
(a bad datePublished) rejected while its claim goes in; an unknown label kept unrated and
listed in the summary; --rating; --dry-run."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, EXAMPLES, run  # noqa: E402
from ctl import Ctl, write  # noqa: E402

FEED = os.path.join(EXAMPLES, "rferl-paul-letter.claimreview.json")
ARTICLE = "https://www.rferl.org/a/us-senator-rand-paul-delivers-letter-from-trump-to-putin-on-moscow-trip/29421535.html"
TITLE = "U.S. Senator Delivers Letter From Trump To Putin On Moscow Trip"


def verdict_view(v):
    return (v["rating"], v.get("label"), v.get("score"), v.get("by"), v.get("url"), v["at"], v.get("summary"))


def all_verdicts(ctl):
    out = {}
    for c in ctl.lines("query"):
        for v in ctl.lines("verdicts", c["id"]):
            out[v.get("url")] = (c["text"], verdict_view(v))
    return out


def the_feed(tmp):
    d = Daemon()
    d.start()
    ctl = Ctl(d)
    r = ctl.run("import", "--rejects", os.path.join(tmp, "feed.rejects"), FEED)
    tap.ok(r.rc == 0 and "imported 5, created 5, rejected 0" in r.err and "verdicts: added 5, already there 0"
           in r.err, "the example feed: 5 claims, 5 verdicts (format from .json + ClaimReview)", r)
    # external_id: the review's url, '#', a hash of its claimReviewed (one claim per pair).
    claims = {c["external_id"].split("#")[0]: c for c in ctl.lines("query")}
    base = "https://factcheck.example.org/2018/08/"
    paul = claims.get(base + "09/rand-paul-trump-letter-putin", {})
    tap.is_((paul.get("text"), paul.get("quote"), paul.get("lang"), paul.get("speaker", {}).get("name"),
             paul.get("said_at"), paul.get("status")),
            ("I was honored to deliver a letter from President Trump to President Vladimir Putin's administration",
             False, "en", "Rand Paul", "2018-08-08", "true"),
            "claimReviewed, inLanguage, itemReviewed author and date; external_id starts with the review's url")
    tap.is_([(a["url"], a.get("outlet", {}).get("name"), a.get("title"), a.get("published_at")) for a in paul.get("appearances", [])],
            [(ARTICLE, "RFE/RL", TITLE, "2018-08-08")], "an appearance with its publisher as outlet")
    peskov = claims.get(base + "09/kremlin-letter-diplomatic-channels", {})
    tap.is_([(a["url"], a.get("outlet", {}).get("name")) for a in peskov.get("appearances", [])],
            [(ARTICLE, "RFE/RL")], "firstAppearance, author as outlet")
    wh = claims.get(base + "10/white-house-letter-of-introduction", {})
    kind = ctl.one("entity", "get", wh.get("speaker", {}).get("id", 0))["kind"] if wh.get("speaker") else None
    tap.is_(kind, "government", "a GovernmentOrganization author is a government")
    tap.is_(ctl.one("entity", "find", "Rand Paul")["kind"], "person", "a Person author is a person")
    got = {url: view for url, (_, view) in all_verdicts(ctl).items()}
    tap.is_(got.get(base + "09/rand-paul-trump-letter-putin"),
            ("true", "True", 5, "Example Fact Desk", base + "09/rand-paul-trump-letter-putin", "2018-08-09T14:30:00Z",
             "The Kremlin confirmed it received the letter, and the White House confirmed the president wrote it."),
            "reviewRating 5/5 'True', author, url, datePublished in UTC, ratingExplanation")
    tap.is_(got.get(base + "09/kremlin-letter-diplomatic-channels", ())[:3], ("unproven", "Unproven", None),
            "a label without ratingValue: 'Unproven'")
    tap.is_(got.get(base + "10/white-house-letter-of-introduction", ())[:3], ("true", "Accurate", 4),
            "the label decides ('Accurate' is true); ratingValue '4' of '5' as strings gives the score")
    tap.is_(got.get(base + "10/white-house-letter-of-introduction", ())[5], "2018-08-10T13:00:00Z",
            "a -04:00 time in UTC")
    tap.is_(got.get(base + "10/embassy-private-group", ())[:3], ("misleading", "Missing context", None),
            "'Missing context' is misleading")
    tap.is_(got.get(base + "10/paul-russian-delegation-capitol", ())[:3], ("mixed", "Half true", 3), "'Half true' 3/5")

    r = ctl.run("import", "--rejects", os.path.join(tmp, "feed.rejects"), FEED)
    tap.ok(r.rc == 0 and "created 0," in r.err and "added 0, already there 5" in r.err, "a re-run adds nothing", r)
    tap.is_(ctl.one("stats")["verdicts"], 5, "still 5 verdicts")

    out = os.path.join(tmp, "export.json")
    r = ctl.run("export", "--format", "claimreview", "--output", out)
    exported = json.load(open(out))
    tap.ok(r.rc == 0 and exported["@context"] == "https://schema.org" and len(exported["@graph"]) == 5,
           "export --format claimreview: 5 reviews in an @graph", r)
    orig = {x["url"]: x for x in json.load(open(FEED))["@graph"]}
    for x in exported["@graph"]:
        o = orig.get(x.get("url"), {})
        rr, orr = x["reviewRating"], o.get("reviewRating", {})
        same = (x["@type"] == "ClaimReview" and x["claimReviewed"] == o.get("claimReviewed")
                and rr["alternateName"] == orr.get("alternateName")
                and ("ratingValue" not in orr or int(rr["ratingValue"]) == int(orr["ratingValue"]))
                and x["author"]["name"] == o["author"]["name"]
                and x["itemReviewed"]["@type"] == "Claim"
                and x["itemReviewed"]["author"]["name"] == o["itemReviewed"]["author"]["name"]
                and x["itemReviewed"]["author"]["@type"] == o["itemReviewed"]["author"]["@type"]
                and x["itemReviewed"]["datePublished"] == o["itemReviewed"]["datePublished"]
                and x["itemReviewed"]["firstAppearance"]["url"] == ARTICLE)
        tap.ok(same, "exported back: %s" % x.get("url"), json.dumps(x)[:800])
    e = Daemon()
    e.start()
    r = Ctl(e).run("import", "--rejects", os.path.join(tmp, "e.rejects"), out)
    tap.ok(r.rc == 0 and "created 5," in r.err, "the export imports into an empty daemon", r)
    tap.is_(all_verdicts(Ctl(e)), all_verdicts(ctl), "with the same claims and verdicts")
    e.stop()
    d.stop()


def onto_the_article(tmp):
    d = Daemon()
    d.start()
    ctl = Ctl(d)
    ctl.run("import", "--rejects", os.path.join(tmp, "a.rejects"), os.path.join(EXAMPLES, "rferl-paul-letter.jsonl"))
    r = ctl.run("import", "--rejects", os.path.join(tmp, "b.rejects"), FEED)
    st = ctl.one("stats")
    tap.ok(r.rc == 0 and (st["claims"], st["verdicts"]) == (11, 5),
           "after the article's JSONL, the reviews attach to its claims (same speaker and text)", r, st)
    tap.is_(ctl.one("query", "--speaker", "Dmitry Peskov", "--status", "unproven")["external_id"],
            "rferl-29421535-3", "Peskov's quote now has its verdict")
    d.stop()


def review(i, **over):
    r = {"@type": "ClaimReview", "url": "https://factcheck.example.org/s/%d" % i, "datePublished": "2019-01-02",
         "author": {"@type": "Organization", "name": "Shapes Desk"},
         "claimReviewed": "Shape claim number %d" % i,
         "reviewRating": {"@type": "Rating", "ratingValue": 1, "bestRating": 5, "worstRating": 1,
                          "alternateName": "False"},
         "itemReviewed": {"@type": "Claim", "author": {"@type": "Person", "name": "Shape Speaker"}}}
    r.update(over)
    return r


def shapes(tmp):
    d = Daemon()
    d.start()
    ctl = Ctl(d)
    one = write(os.path.join(tmp, "one.jsonld"), json.dumps(review(1, **{"@context": "https://schema.org"})))
    r = ctl.run("import", one)
    tap.ok(r.rc == 0 and "created 1," in r.err, "one object (.jsonld)", r)
    arr = write(os.path.join(tmp, "arr.json"), json.dumps([review(2), review(3, **{"@type": ["ClaimReview"]}),
                                                           review(4, **{"@type": "schema:ClaimReview"})], indent=2))
    r = ctl.run("import", arr)
    tap.ok(r.rc == 0 and "created 3," in r.err, "an array; @type as a list and as schema:ClaimReview", r)
    graph = {"@context": {"@vocab": "https://schema.org/"}, "@graph": [review(5), review(6)], "name": "after"}
    bom = write(os.path.join(tmp, "graph.json"), "\ufeff" + json.dumps(graph))
    r = ctl.run("import", bom)
    tap.ok(r.rc == 0 and "created 2," in r.err, "@graph, a member after it, a byte order mark", r)
    odd = review(7, itemReviewed={"@type": "Claim", "datePublished": "2019-01-01T10:00:00",
                                  "author": {"@type": "Person", "name": "Wiki Person",
                                             "sameAs": ["https://example.org/x", "https://www.wikidata.org/wiki/Q42"]}},
                 reviewRating={"@type": "Rating", "ratingValue": 7, "bestRating": 10, "worstRating": 0})
    r = ctl.run("import", write(os.path.join(tmp, "odd.json"), json.dumps([odd])))
    c = ctl.one("query", "--speaker", "Wiki Person")
    v = ctl.one("verdicts", c["id"])
    tap.ok(r.rc == 0 and c["said_at"] == "2019-01-01" and (v["rating"], v["score"]) == ("mostly-true", 4)
           and ctl.one("entity", "find", "Wiki Person").get("wikidata") == "Q42",
           "a time without zone cut to its day, 7 of 0-10 is 4 (mostly-true), sameAs Wikidata", r, c, v)

    elements = [review(10), {"@type": "WebPage", "name": "not a review"},
                review(11, claimReviewed=""), review(12, reviewRating={"@type": "Rating", "alternateName": "Kinda Sorta"}),
                "BROKEN", review(13), review(14, datePublished="someday")]
    text = "[\n" + ",\n".join(json.dumps(e) if e != "BROKEN" else '{"@type": "ClaimReview", "claimReviewed": tru}'
                               for e in elements) + "\n]"
    bad = write(os.path.join(tmp, "bad.json"), text)
    rej = os.path.join(tmp, "bad.rejects")
    r = ctl.run("import", "--rejects", rej, bad)
    tap.ok(r.rc == 1 and "imported 4, created 4, rejected 3" in r.err and "rejected 1;" in r.err
           and "unrated verdicts: 1," in r.err and "  1\tKinda Sorta\n" in r.err,
           "bad elements rejected, exit 1; the bad verdict's claim imported; the unknown label listed", r)
    lines = sorted((json.loads(l) for l in open(rej)), key=lambda l: l["element"])
    tap.is_([l["element"] for l in lines], [1, 2, 4, 6], "rejects name the element index (from 0)")
    msgs = [l["error"]["message"] for l in lines]
    tap.ok("not a ClaimReview (@type WebPage)" in msgs[0] and "claimReviewed is missing" in msgs[1]
           and msgs[2].startswith("invalid JSON")
           and "datePublished: not a valid date: someday" in msgs[3] and lines[3]["error"]["field"] == "datePublished",
           "with reasons", msgs)
    tap.is_(json.loads(lines[0]["input"]), elements[1], "and the element as it was")
    kinda = [c for c in ctl.lines("query") if c["text"] == "Shape claim number 12"]
    v12 = ctl.lines("verdicts", kinda[0]["id"]) if kinda else []
    tap.ok(len(v12) == 1 and "rating" not in v12[0] and v12[0]["label"] == "Kinda Sorta" and kinda[0]["status"] == "unverified",
           "an unknown label: an unrated verdict with the label, status unverified", v12, kinda)
    r = ctl.run("import", "--rating", "Kinda Sorta=false", "--rejects", rej, bad)
    tap.ok("imported 4," in r.err and "added 1, already there 2" in r.err and "unrated" not in r.err,
           "--rating maps a publisher's label", r)
    trunc = write(os.path.join(tmp, "trunc.json"), text[:len(text) - 40])
    r = ctl.run("import", "--rejects", rej, trunc)
    tap.ok(r.rc == 1 and "ClaimReview input: unexpected end of input" in r.err, "a truncated file: a clear stop, exit 1", r)
    tap.is_(ctl.run("import", write(os.path.join(tmp, "x.json"), '{"a": 1}')).rc, 2,
            "a .json that is not ClaimReview needs --format: exit 2")
    before = ctl.one("stats")
    r = ctl.run("import", "--dry-run", "--rejects", rej, FEED)
    tap.ok(r.rc == 0 and "checked 5, valid 5" in r.err and ctl.one("stats")["seq"] == before["seq"],
           "--dry-run of the feed writes nothing", r)
    d.stop()


def main():
    tmp = os.path.join(Daemon().tmp, "files")
    os.makedirs(tmp)
    the_feed(tmp)
    onto_the_article(tmp)
    shapes(tmp)


run(main)
