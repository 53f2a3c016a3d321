#!/usr/bin/python3
"""claimctl_labels.t: fact-checkers' data as published (issue 12 items 1-3).

A ClaimReview feed in thirteen languages with the publishers' own labels (tests/data/claimreview/
multilingual.json: PolitiFact, Snopes, Full Fact, AFP, Correctiv, dpa, Les Décodeurs, Facta,
Pagella Politica, Maldita, Newtral, Ellinika Hoaxes, Factual.ro, Teyit, StopFake, Fatabyyano,
Vishvas News, Demagog) imports whole, each label to its rating, with unpadded dates, dates
without a zone, fractions, the rating numbers as given and the reviewer's url; a re-run adds
nothing; the export gives back every field kept and invents none. One url with three claims
gives three claims, also on a re-run and over claims imported under the old identity (the
url). An unknown label is kept unrated and listed with its count; --ratings FILE rates it. An
impossible date rejects what it dates, naming the field, and a bad verdict keeps its claim.
CSV/TSV: PolitiFact's own labels, verdict columns through --map, --lang, --outlet,
--list-sep, TSV without quoting, and a field or column mapped twice is a usage error."""
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, run  # noqa: E402
from ctl import Ctl, write  # noqa: E402

FEED = os.path.join(HERE, "data", "claimreview", "multilingual.json")
EXPECTED = {  # label as published -> rating
    "Pants on Fire": "false", "Miscaptioned": "misleading", "Incorrect": "false",
    "Decontextualized": "misleading", "Falsch": "false", "Fehlender Kontext": "misleading",
    "Teilweise falsch": "mixed", "Faux": "false", "Plutôt vrai": "mostly-true",
    "Manque de contexte": "misleading", "Fuori contesto": "misleading",
    "Pinocchio andante": "mostly-false", "Nì": "mixed", "Bulo": "false", "Engañoso": "misleading",
    "Παραπληροφόρηση": "false", "Παραπλανητικό": "misleading", "Parțial adevărat": "mostly-true",
    "Fals": "false", "Yanlış": "false", "Yanıltıcı": "misleading", "Фейк": "false",
    "Манипуляция": "misleading", "زائف": "false", "फ़र्ज़ी": "false", "Fałsz": "false",
}


def canon_date(s):
    """The date part of a publisher's date, padded (what claimctl keeps for a zoneless time)."""
    d = s.split("T")[0].split(" ")[0]
    parts = d.split("-")
    return "-".join([parts[0]] + ["%02d" % int(p) for p in parts[1:]])


def verdicts_by_url(ctl):
    out = {}
    for c in ctl.lines("query", "--limit", "1000"):
        for v in ctl.lines("verdicts", c["id"]):
            out.setdefault(v.get("url"), []).append((c, v))
    return out


def feed(tmp):
    d = Daemon()
    d.start()
    ctl = Ctl(d)
    graph = json.load(open(FEED))["@graph"]
    langs = sorted({x["inLanguage"] for x in graph})
    r = ctl.run("import", "--rejects", os.path.join(tmp, "ml.rejects"), FEED)
    n = len(graph)
    tap.ok(r.rc == 0 and "imported %d, created %d, rejected 0" % (n, n) in r.err
           and "verdicts: added %d, already there 0, rejected 0" % n in r.err and "unrated" not in r.err,
           "%d reviews in %d languages (%s) import whole" % (n, len(langs), " ".join(langs)), r)
    got = verdicts_by_url(ctl)
    wrong = []
    for x in graph:
        label = x["reviewRating"].get("alternateName") or x["reviewRating"].get("textualRating")
        (c, v), = got.get(x["url"], [({}, {})])
        if v.get("rating") != EXPECTED[label] or v.get("label") != label or c.get("status") != EXPECTED[label]:
            wrong.append((label, v.get("rating"), c.get("status")))
    tap.is_(wrong, [], "every publisher's label has its rating, and the claim its status")
    by = {x["url"]: x for x in graph}
    pf = got["https://politifact.example/factchecks/2021/jul/20/viral-image/wind-turbines-frozen/"][0]
    tap.is_((pf[1]["at"], pf[0]["said_at"], pf[1]["rating_value"], pf[1]["best_rating"], pf[1]["worst_rating"],
             pf[1]["by_url"], pf[1]["score"]),
            ("2021-07-20", "2021-07-18", 0, 5, 0, "https://politifact.example/", 1),
            "unpadded dates (2021-7-20); numbers 0 of 0-5 kept; author.url as by_url")
    dpa = got["https://dpa-factchecking.example/germany/210915-99-240715/"][0][1]
    tap.is_(dpa["at"], "2021-09-15", "a date-time without zone keeps its date as given")
    dec = got["https://lemonde.example/les-decodeurs/article/2022/03/09/chomage-au-plus-bas_1234.html"][0][1]
    tap.is_(dec["at"], "2022-03-09T17:42:07.123Z", "a fraction with a zone, in UTC")
    ni = got["https://pagellapolitica.example/dichiarazioni/9877/debito"][0][1]
    tap.ok(ni["rating_value"] == 2.5 and isinstance(ni["rating_value"], float) and ni["best_rating"] == 5,
           "2.5 of 5 stays 2.5", ni)
    afp = got["https://factcheck.afp.example/doc.afp.com.9HT4ZX"][0][1]
    tap.is_(afp.get("by_url"), "https://www.wikidata.org/wiki/Q40464", "no author.url: its sameAs is by_url")

    r = ctl.run("import", "--rejects", os.path.join(tmp, "ml.rejects"), FEED)
    tap.ok(r.rc == 0 and "created 0," in r.err and "added 0, already there %d" % n in r.err, "a re-run adds nothing", r)

    out = os.path.join(tmp, "ml.export.json")
    r = ctl.run("export", "--format", "claimreview", "--output", out)
    exported = {x["url"]: x for x in json.load(open(out))["@graph"]}
    diffs = []
    for url, o in by.items():
        x = exported.get(url, {})
        orr, xrr = o["reviewRating"], x.get("reviewRating", {})
        want = {
            "claimReviewed": o["claimReviewed"], "inLanguage": o["inLanguage"],
            "author.name": o["author"]["name"], "author.url": o["author"].get("url", o["author"].get("sameAs")),
            "datePublished": canon_date(o["datePublished"]) if "T" not in o["datePublished"] or o["datePublished"][-1] not in "Z0123456789" else None,
            "label": orr.get("alternateName") or orr.get("textualRating"),
            "ratingExplanation": orr.get("ratingExplanation"),
            "numbers": [(k, orr[k], type(orr[k]).__name__) for k in ("ratingValue", "bestRating", "worstRating") if k in orr],
            "item.author": (o["itemReviewed"]["author"]["name"], o["itemReviewed"]["author"]["@type"]),
            "item.datePublished": canon_date(o["itemReviewed"]["datePublished"]) if "datePublished" in o["itemReviewed"] else None,
            "appearance": [a["url"] for a in o["itemReviewed"].get("appearance", [])],
        }
        have = {
            "claimReviewed": x.get("claimReviewed"), "inLanguage": x.get("inLanguage"),
            "author.name": x.get("author", {}).get("name"), "author.url": x.get("author", {}).get("url"),
            "datePublished": x.get("datePublished"), "label": xrr.get("alternateName"),
            "ratingExplanation": xrr.get("ratingExplanation"),
            "numbers": [(k, xrr[k], type(xrr[k]).__name__) for k in ("ratingValue", "bestRating", "worstRating") if k in xrr],
            "item.author": (x.get("itemReviewed", {}).get("author", {}).get("name"),
                            x.get("itemReviewed", {}).get("author", {}).get("@type")),
            "item.datePublished": x.get("itemReviewed", {}).get("datePublished"),
            "appearance": [a["url"] for a in x.get("itemReviewed", {}).get("appearance", [])],
        }
        if want["datePublished"] is None:   # a zoned date-time: compare as the daemon keeps it
            want["datePublished"] = got[url][0][1]["at"]
        for k in want:
            if want[k] != have[k]:
                diffs.append((url, k, want[k], have[k]))
    tap.is_(diffs, [], "export gives back every field kept, numbers with their type, no rescaling")
    d.stop()


def review(i, **over):
    r = {"@type": "ClaimReview", "url": "https://factcheck.example/r/%d" % i, "datePublished": "2021-03-04",
         "author": {"@type": "Organization", "name": "Example Desk"}, "claimReviewed": "Claim number %d" % i,
         "reviewRating": {"@type": "Rating", "alternateName": "False"},
         "itemReviewed": {"@type": "Claim", "author": {"@type": "Person", "name": "Some Speaker"}}}
    r.update(over)
    return r


def identity(tmp):
    d = Daemon()
    d.start()
    ctl = Ctl(d)
    art = "https://factcheck.example/2021/debate-night/"
    three = [review(1, url=art, claimReviewed="Taxes went up for every family.", reviewRating={"@type": "Rating", "alternateName": "False"}),
             review(2, url=art, claimReviewed="Crime fell by half in four years.", reviewRating={"@type": "Rating", "alternateName": "Half True"}),
             review(3, url=art, claimReviewed="We built more schools than anyone.", reviewRating={"@type": "Rating", "alternateName": "Mostly False"})]
    f = write(os.path.join(tmp, "three.json"), json.dumps(three))
    r = ctl.run("import", f)
    claims = ctl.lines("query")
    tap.ok(r.rc == 0 and "created 3," in r.err and len(claims) == 3
           and sorted(c["status"] for c in claims) == ["false", "mixed", "mostly-false"],
           "one url reviewing three claims gives three claims, each with its verdict", r, claims)
    r = ctl.run("import", f)
    tap.ok(r.rc == 0 and "created 0," in r.err and "added 0, already there 3" in r.err and ctl.one("stats")["claims"] == 3,
           "and a re-import is still idempotent", r)
    # Claims imported before, under the old identity (external_id = the url), are found again
    # by speaker and text: the new import adds nothing.
    e = Daemon()
    e.start()
    ectl = Ctl(e)
    old = [{"text": x["claimReviewed"], "quote": False, "speaker": "Some Speaker", "external_id": art} for x in three[:1]]
    ectl.run("import", write(os.path.join(tmp, "old.jsonl"), "".join(json.dumps(o) + "\n" for o in old)))
    r = ectl.run("import", f)
    tap.ok(r.rc == 0 and ectl.one("stats")["claims"] == 3 and "created 2," in r.err,
           "over a claim stored under the old identity: found again by speaker and text", r)
    e.stop()

    # Unknown labels: kept, unrated, counted; --ratings FILE rates them.
    unk = [review(10, reviewRating={"@type": "Rating", "alternateName": "Schwurbelei"}),
           review(11, reviewRating={"@type": "Rating", "alternateName": "SCHWURBELEI"}),
           review(12, reviewRating={"@type": "Rating", "alternateName": "Schwurbelei"}),
           review(13, reviewRating={"@type": "Rating", "textualRating": "Kein Urteil"})]
    fu = write(os.path.join(tmp, "unknown.json"), json.dumps(unk))
    r = ctl.run("import", fu)
    tap.ok(r.rc == 0 and "imported 4, created 4, rejected 0" in r.err and "unrated verdicts: 4," in r.err
           and "  2\tSchwurbelei\n" in r.err and "  1\tSCHWURBELEI\n" in r.err and "  1\tKein Urteil\n" in r.err,
           "unknown labels: imported, each listed with its count", r)
    c10 = [c for c in ctl.lines("query") if c["text"] == "Claim number 10"][0]
    v10 = ctl.one("verdicts", c10["id"])
    tap.ok("rating" not in v10 and v10["label"] == "Schwurbelei" and c10["status"] == "unverified",
           "an unknown label is kept verbatim on an unrated verdict", v10, c10)
    rf = write(os.path.join(tmp, "desk.tsv"), "# our labels\nSchwurbelei\tfalse\nkein urteil\t-\n")
    r = ctl.run("import", "--ratings", rf, fu)
    c10 = [c for c in ctl.lines("query") if c["text"] == "Claim number 10"][0]
    tap.ok(r.rc == 0 and "unrated" not in r.err and c10["status"] == "false",
           "--ratings FILE rates them (a label listed with - is known, not reported)", r, c10)
    tap.is_(ctl.run("import", "--ratings", write(os.path.join(tmp, "bad.tsv"), "Quatsch\tnonsense\n"), fu).rc, 2,
            "a bad --ratings file is a usage error")

    # Bad dates name their field; a bad verdict keeps its claim; nothing invented on export.
    bad = [review(20, datePublished="2021-13-01"),
           review(21, itemReviewed={"@type": "Claim", "datePublished": "2021-02-30",
                                    "author": {"@type": "Person", "name": "Some Speaker"}}),
           review(22, reviewRating={"@type": "Rating"}),
           {k: v for k, v in review(23, reviewRating={"@type": "Rating", "alternateName": "Mostly True"}).items()
            if k != "datePublished"}]
    fb = write(os.path.join(tmp, "bad.json"), json.dumps(bad))
    rej = os.path.join(tmp, "bad.rejects")
    r = ctl.run("import", "--rejects", rej, fb)
    lines = sorted((json.loads(l) for l in open(rej)), key=lambda l: l["element"])
    texts = [c["text"] for c in ctl.lines("query", "--limit", "1000")]
    tap.ok(r.rc == 1 and "imported 3, created 3, rejected 1" in r.err and "verdicts: added 1, already there 0, rejected 2" in r.err,
           "month 13 and a rating-less review lose their verdicts, 30 February its claim", r)
    tap.is_([(l["element"], l["error"].get("field")) for l in lines],
            [(0, "datePublished"), (1, None), (2, "reviewRating")], "each reject names its element")
    tap.ok("itemReviewed.datePublished" in lines[1]["error"]["message"] and "2021-13-01" in lines[0]["error"]["message"],
           "and the field in the reason", lines)
    tap.ok("Claim number 20" in texts and "Claim number 22" in texts and "Claim number 21" not in texts,
           "the claims of bad verdicts are stored", texts)
    out = os.path.join(tmp, "x.json")
    ctl.run("export", "--format", "claimreview", "--output", out)
    x23 = [x for x in json.load(open(out))["@graph"] if x["claimReviewed"] == "Claim number 23"][0]
    tap.ok("datePublished" not in x23 and "ratingValue" not in x23["reviewRating"]
           and "bestRating" not in x23["reviewRating"] and "url" not in x23["author"],
           "export invents nothing: no date, no numbers, no author url where none came", x23)
    d.stop()


def csv(tmp):
    d = Daemon()
    d.start()
    ctl = Ctl(d)
    pf = write(os.path.join(tmp, "politifact.csv"),
               "statement,speaker,speaker_job_title,statement_date,verdict,subjects\n"
               "\"Says the stimulus created no jobs.\",Jane Roe,Senator,2009-3-5,pants-fire,economy;jobs\n"
               "\"The deficit doubled in four years.\",John Doe,Governor,2012-10-22,half-true,deficit\n"
               "\"Crime is at a record high.\",Jane Roe,Senator,2016-08-01,barely-true,crime\n"
               "\"Unemployment fell last year.\",John Doe,Governor,2014-01-15,mostly-true,economy\n"
               "\"I never supported the tax.\",John Doe,Governor,2015-6-1,full-flop,taxes\n"
               "\"We cut taxes for everyone.\",Jane Roe,Senator,2017-02-02,TRUE,taxes\n")
    r = ctl.run("import", "--map", "statement=text", "--map", "speaker_job_title=speaker_role",
                "--map", "statement_date=said_at", "--map", "verdict=verdict.label", "--map", "subjects=tags",
                "--lang", "en", "--outlet", "PolitiFact", pf)
    got = {c["text"]: c for c in ctl.lines("query")}
    st = {t: c["status"] for t, c in got.items()}
    tap.ok(r.rc == 0 and "imported 6, created 6, rejected 0" in r.err and "verdicts: added 6" in r.err and "unrated" not in r.err,
           "PolitiFact CSV with its own labels imports whole", r)
    tap.is_(st, {"Says the stimulus created no jobs.": "false", "The deficit doubled in four years.": "mixed",
                 "Crime is at a record high.": "mostly-false", "Unemployment fell last year.": "mostly-true",
                 "I never supported the tax.": "unverified", "We cut taxes for everyone.": "true"},
            "pants-fire, half-true, barely-true, mostly-true, TRUE rated; full-flop (Flip-O-Meter) kept unrated")
    c = got["Says the stimulus created no jobs."]
    tap.ok(c["lang"] == "en" and c["said_at"] == "2009-03-05" and c["appearances"][0]["outlet"]["name"] == "PolitiFact"
           and c["tags"] == ["economy", "jobs"] and c["speaker_role"] == "Senator",
           "--lang, --outlet, an unpadded date, tags", c)
    v = ctl.one("verdicts", got["I never supported the tax."]["id"])
    tap.ok(v["label"] == "full-flop" and "rating" not in v, "the Flip-O-Meter label is kept", v)

    eu = write(os.path.join(tmp, "euvsdisinfo.tsv"),
               "Title\tSummary\tCountries\tKeywords\tOutlet\tDate\tDisproof\tLink\n"
               "\"Sanctions\" hurt only Europe\tThe claim repeats a recurring narrative.\tGermany+Poland\tSanctions+Economy\tExample TV\t2022-4-7\tDisinformation\thttps://euvsdisinfo.example/report/1/\n"
               "NATO plans an attack\tNo evidence is given.\tRussia\tNATO+War\tExample Radio\t2022-04-08\tRecurring narrative\thttps://euvsdisinfo.example/report/2/\n")
    r = ctl.run("import", "--map", "Title=text", "--map", "Summary=verdict.summary", "--map", "Countries=about",
                "--map", "Keywords=tags", "--map", "Outlet=outlet", "--map", "Date=verdict.date",
                "--map", "Disproof=verdict.label", "--map", "Link=verdict.url", "--list-sep", "+", "--lang", "ru",
                "--rejects", os.path.join(tmp, "eu.rejects"), eu)
    c = [x for x in ctl.lines("query") if x.get("lang") == "ru"]
    first = [x for x in c if x["text"].startswith('"Sanctions"')]
    tap.ok(r.rc == 0 and "imported 2, created 2" in r.err and len(first) == 1
           and [a["name"] for a in first[0].get("about", [])] == ["Germany", "Poland"]
           and first[0]["tags"] == ["Sanctions", "Economy"], "TSV by extension, no quoting, --list-sep +", r, c)
    vs = ctl.one("verdicts", first[0]["id"]) if first else {}
    tap.ok(vs.get("at") == "2022-04-07" and vs.get("url") == "https://euvsdisinfo.example/report/1/"
           and vs.get("label") == "Disinformation" and vs.get("summary", "").startswith("The claim"),
           "verdict columns by --map: label, date, url, summary", vs)
    tap.ok(sorted(x["status"] for x in c) == ["false", "unverified"] and "  1\tRecurring narrative\n" in r.err,
           "'Disinformation' is false; 'Recurring narrative' is kept unrated and reported", c, r)
    r = ctl.run("import", "--format", "tsv", "--map", "Title=text", "--map", "Summary=", "--map", "Countries=",
                "--map", "Keywords=", "--map", "Outlet=", "--map", "Date=", "--map", "Disproof=", "--map", "Link=",
                "--dry-run", eu)
    tap.ok(r.rc == 0 and "checked 2, valid 2" in r.err, "--format tsv", r)

    r = ctl.run("import", "--map", "statement=text", "--map", "statement=label", pf)
    tap.ok(r.rc == 2 and "mapped twice" in r.err, "a column mapped twice: usage error, exit 2", r)
    r = ctl.run("import", "--map", "statement=text", "--map", "verdict=label", "--map", "speaker=verdict.label", pf)
    tap.ok(r.rc == 2 and "field 'verdict.label' is mapped twice" in r.err, "a field mapped twice: usage error, exit 2", r)
    d.stop()


def main():
    tmp = tempfile.mkdtemp(prefix="claimctl-labels-")
    feed(tmp)
    identity(tmp)
    csv(tmp)


run(main)
