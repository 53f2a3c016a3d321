#!/usr/bin/python3
"""search.t: claim.search and claim.match, black box over raw msgpack-rpc (PROTOCOL.md,
docs/search.md): ranking sanity, phrases versus bags of words, prefixes, stemming, case and accent
folding, Greek, Turkish and Cyrillic text, filters with text, retracted claims, re-indexing on
update, pagination, totals, errors; the top-k with early termination checked against a
brute-force BM25 over a synthetic corpus large enough for pruning to start; claim.match positive
and negative cases."""
import math
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, expect_error, run, short  # noqa: E402


def search(c, q, **params):
    params["q"] = q
    return c.call("claim.search", params)


def ids(c, q, **params):
    return [h["id"] for h in search(c, q, **params)["items"]]


def all_pages(c, q, limit, **params):
    """Every hit of every page, and the number of pages."""
    hits, cursor, pages = [], None, 0
    while True:
        p = dict(params, limit=limit)
        if cursor is not None:
            p["cursor"] = cursor
        r = search(c, q, **p)
        hits += r["items"]
        pages += 1
        cursor = r["cursor"]
        if cursor is None or pages > 10000:
            return hits, pages


def put(c, text, **fields):
    fields["text"] = text
    return c.call("claim.put", fields)["id"]


# ---------------------------------------------------------------------------------------------

def check_ranking(c):
    # Same length, one word repeated: repeating the rare word scores more than the common one.
    for i in range(8):
        put(c, "the committee discussed the budget item %d today" % i, lang="en")
    rare = put(c, "zeppelin zeppelin budget committee hearing", lang="en")
    common = put(c, "zeppelin budget budget committee hearing", lang="en")
    got = ids(c, "zeppelin budget")
    tap.is_(got[:2], [rare, common], "a repeated rare word outranks a repeated common word")
    s_rare = search(c, "zeppelin")["items"][0]["score"]
    s_common = search(c, "committee")["items"][0]["score"]
    tap.ok(s_rare > s_common, "a rare word's best score beats a common word's", (s_rare, s_common))
    # All words must match; claims with more of them (higher tf) or shorter rank higher.
    tap.ok(rare not in ids(c, "zeppelin parliament"), "a claim lacking one of the words is not a hit")
    once = put(c, "quarantine ordered in town", lang="en")
    twice = put(c, "quarantine ordered quarantine ordered", lang="en")
    long_id = put(c, "quarantine was ordered by the regional health ministry on monday", lang="en")
    tap.is_(ids(c, "quarantine ordered"), [twice, once, long_id],
            "at equal length more matches of the words rank higher; a longer claim ranks lower")
    r = search(c, "quarantine ordered")
    scores = [h["score"] for h in r["items"]]
    tap.ok(all(isinstance(s, float) and s > 0 for s in scores) and scores == sorted(scores, reverse=True),
           "scores are positive floats, best first", scores)


def check_phrases_prefixes(c):
    a = put(c, "Russia never received a letter from senator Paul", lang="en")
    b = put(c, "The senator wrote that Paul's office had a letter from Russia", lang="en")
    bag = set(ids(c, "letter from senator"))
    tap.ok({a, b} <= bag, "a bag of words finds every claim with the words in any order", bag)
    tap.is_(ids(c, '"letter from senator"'), [a], "a quoted phrase finds only the exact sequence")
    tap.is_(ids(c, '"received a letter" Paul'), [a], "a phrase combines with a loose word")
    tap.is_(ids(c, '"senator letter"'), [], "phrase word order matters")
    tap.is_(ids(c, '«letter from senator»'), [a], "guillemets quote a phrase too")
    s1 = put(c, "New sanctions against the oligarchs were announced", lang="en")
    s2 = put(c, "The bank was sanctioned last year", lang="en")
    s3 = put(c, "Sanctuary cities are not part of the deal", lang="en")
    got = set(ids(c, "sanction*"))
    tap.is_(got & {s1, s2, s3}, {s1, s2}, "a prefix finds every word it begins", got)
    tap.is_(set(ids(c, "sanct*")) & {s1, s2, s3}, {s1, s2, s3}, "a shorter prefix finds more")
    tap.is_(ids(c, "sanct* bank"), [s2], "a prefix combines with a word")
    snip = search(c, "sanct* bank")["items"][0]["snippet"]
    tap.is_(snip, "The [bank] was [sanctioned] last year", "the snippet marks the prefix's word and the word")


def check_languages(c):
    en1 = put(c, "Peskov said the letter was not received", lang="en", speaker="Dmitry Peskov")
    en2 = put(c, "Senators delivered two letters to the Kremlin", lang="en")
    tap.is_(set(ids(c, "letters")) & {en1, en2}, {en1, en2}, "English stemming: letters finds letter")
    tap.is_(set(ids(c, "letter")) & {en1, en2}, {en1, en2}, "English stemming: letter finds letters")
    for q in ("PESKOV", "Péskov", "peskov", "PÉSKOV"):
        tap.ok(en1 in ids(c, q), "case and accent folding: %s finds Peskov" % q)
    acc = put(c, "Le Kremlin a reçu la lettre du sénateur Péskóv", lang="fr")
    tap.ok(acc in ids(c, "senateur peskov"), "an unaccented query finds accented text")
    tap.ok(acc in ids(c, "lettres"), "French stemming: lettres finds lettre")
    ru1 = put(c, "Песков заявил, что письмо сенатора не получено", lang="ru")
    ru2 = put(c, "Кремль ответил на письма американских сенаторов", lang="ru")
    tap.is_(set(ids(c, "письмо")) & {ru1, ru2}, {ru1, ru2}, "Russian stemming: письмо finds письма")
    tap.is_(set(ids(c, "сенаторы")) & {ru1, ru2}, {ru1, ru2}, "Russian stemming: сенаторы finds сенатора and сенаторов")
    tap.ok(ru1 in ids(c, "ПЕСКОВ"), "Cyrillic case folding: ПЕСКОВ finds Песков")
    tap.is_(ids(c, "заявил", lang="en"), [], "the lang filter restricts to that language")
    tap.ok(ru1 in ids(c, "заявил", lang="ru"), "the lang filter finds its own language")
    uk = put(c, "Міністр отримав листа від посла України", lang="uk")
    tap.ok(uk in ids(c, "МІНІСТР ПОСЛА"), "Ukrainian (no stemmer) is folded: МІНІСТР finds Міністр")
    el1 = put(c, "Ο Πεσκόφ είπε ότι δεν έλαβαν καμία επιστολή", lang="el")
    el2 = put(c, "Ο ΛΟΓΟΣ του υπουργού", lang="el")
    tap.ok(el1 in ids(c, "ΠΕΣΚΟΦ"), "Greek: capitals without accents find Πεσκόφ")
    tap.ok(el1 in ids(c, "επιστολές"), "Greek stemming: επιστολές finds επιστολή")
    tap.ok(el2 in ids(c, "λόγος"), "Greek final sigma: λόγος finds ΛΟΓΟΣ")
    tr1 = put(c, "İstanbul'da yapılan açıklamada mektup alınmadı", lang="tr")
    tr2 = put(c, "Bakan ISPARTA ziyaretinde mektupları okudu", lang="tr")
    for q in ("istanbul", "ISTANBUL", "İSTANBUL", "ıstanbul"):
        tap.ok(tr1 in ids(c, q), "Turkish dotted/dotless I: %s finds İstanbul'da" % q)
    tap.ok(tr2 in ids(c, "ısparta"), "Turkish: ısparta finds ISPARTA")
    tap.is_(set(ids(c, "mektup")) & {tr1, tr2}, {tr1, tr2}, "Turkish stemming: mektup finds mektupları")
    tap.ok(tr1 in ids(c, "açıklamalar"), "Turkish stemming: açıklamalar finds açıklamada")
    tap.ok(tr2 in ids(c, "mektubu"), "Turkish stemming: mektubu finds mektupları")
    snip = search(c, "ПЕСКОВ письмо")["items"][0]["snippet"]
    tap.is_(snip, "[Песков] заявил, что [письмо] сенатора не получено", "snippets mark Cyrillic words")


def check_filters(c):
    a = put(c, "Budget cuts will hit the navy hard", lang="en", speaker="Filter Speaker A",
            tags=["defense"], said_at="2019-03-01", medium="interview")
    b = put(c, "Budget cuts will hit the army", lang="en", speaker="Filter Speaker B",
            tags=["defense"], said_at="2020-05-01", medium="speech")
    d = put(c, "Budget cuts will hit schools", lang="en", speaker="Filter Speaker A",
            tags=["education"], said_at="2021-01-01", medium="speech")
    q = "budget cuts hit"
    tap.is_(set(ids(c, q)) & {a, b, d}, {a, b, d}, "without filters every claim with the words")
    tap.is_(sorted(ids(c, q, speaker="Filter Speaker A")), sorted([a, d]), "speaker filter")
    tap.is_(ids(c, q, tag="defense", speaker="Filter Speaker A"), [a], "tag and speaker filters")
    tap.is_(sorted(ids(c, q, said_from="2020", said_to="2021")), sorted([b, d]), "said_from/said_to")
    tap.is_(ids(c, q, medium="interview"), [a], "medium filter")
    tap.is_(ids(c, q, speaker="Nobody Of That Name"), [], "an unknown speaker matches nothing")
    tap.is_(search(c, q, speaker="Nobody Of That Name")["total"], 0, "and the total is 0")
    c.call("verdict.add", {"claim": b, "rating": "false", "by": "desk"})
    tap.is_(ids(c, q, status="false"), [b], "status filter")
    tap.is_(ids(c, "budget navy", tag="education"), [], "filters and words must both hold")


def check_retract_update(c):
    a = put(c, "The ministry denied any involvement in the cyberattack", lang="en")
    tap.is_(ids(c, "cyberattack involvement"), [a], "found before retraction")
    c.call("claim.retract", {"id": a, "reason": "misattributed"})
    tap.is_(ids(c, "cyberattack involvement"), [], "a retracted claim is hidden")
    got = search(c, "cyberattack involvement", include_retracted=True)["items"]
    tap.ok([h["id"] for h in got] == [a] and got[0]["claim"]["retracted"] is True,
           "include_retracted shows it, marked retracted", short(got))
    b = put(c, "Officials confirmed the pipeline explosion", lang="en")
    rev = c.call("claim.get", {"id": b})["rev"]
    c.call("claim.update", {"id": b, "rev": rev, "set": {"text": "Officials denied the refinery fire"}})
    tap.is_(ids(c, "pipeline explosion"), [], "after an update the old words no longer match")
    tap.is_(ids(c, "refinery fire"), [b], "after an update the new words match")
    rev = c.call("claim.get", {"id": b})["rev"]
    c.call("claim.update", {"id": b, "rev": rev, "set": {"lang": "ru"}})
    tap.is_(ids(c, "refinery", lang="en"), [], "a changed lang moves the claim out of the old language")
    tap.is_(ids(c, "refinery", lang="ru"), [b], "and into the new one")


def check_pages_small(c):
    made = [put(c, "pagination marker number %d %s" % (i, "extra " * (i % 5)), lang="en") for i in range(23)]
    hits, pages = all_pages(c, "pagination marker", 5)
    got = [h["id"] for h in hits]
    tap.is_(sorted(got), sorted(made), "walking the pages returns every hit", pages)
    tap.is_(len(got), len(set(got)), "and each hit once")
    tap.is_(pages, 5, "23 hits in pages of 5 take 5 pages")
    first = search(c, "pagination marker", limit=5)
    put(c, "pagination marker inserted while paging", lang="en")
    # Walk on from the first page's cursor after a new claim was recorded meanwhile.
    cursor, more = first["cursor"], []
    while cursor:
        r = search(c, "pagination marker", limit=5, cursor=cursor)
        more += [h["id"] for h in r["items"]]
        cursor = r["cursor"]
    seen = [h["id"] for h in first["items"]] + more
    tap.is_(sorted(seen), sorted(made), "a claim recorded after the first page is not mixed into later pages")
    r = search(c, "pagination marker")
    tap.ok(r["total"] == 24 and r["total_exact"] is True, "total is exact for small results", (r["total"], r["total_exact"]))
    expect_error(c, "claim.search", {"q": "other words", "cursor": first["cursor"]}, "invalid",
                 "a cursor of another query is refused", "cursor")
    expect_error(c, "claim.search", {"q": "pagination marker", "cursor": "zz"}, "invalid",
                 "a malformed cursor is refused", "cursor")
    expect_error(c, "claim.search", {"q": "pagination marker", "cursor": "01" + "00" * 40}, "invalid",
                 "a forged cursor is refused", "cursor")


def check_errors(c):
    expect_error(c, "claim.search", {}, "invalid", "q is required", "q")
    expect_error(c, "claim.search", {"q": "   ...  "}, "invalid", "q without words", "q")
    expect_error(c, "claim.search", {"q": 5}, "invalid", "q must be a string", "q")
    expect_error(c, "claim.search", {"q": "x", "limit": 0}, "invalid", "limit 0", "limit")
    expect_error(c, "claim.search", {"q": "x", "limit": 1001}, "invalid", "limit over 1000", "limit")
    expect_error(c, "claim.search", {"q": "x", "colour": "red"}, "invalid", "unknown parameter", "colour")
    expect_error(c, "claim.search", {"q": "x", "said_from": "yesterday"}, "invalid", "bad filter", "said_from")
    expect_error(c, "claim.search", {"q": " ".join("w%d" % i for i in range(40))}, "invalid",
                 "more than 32 distinct words", "q")
    expect_error(c, "claim.search", {"q": "x" * 5000}, "too_large", "q over 4096 bytes", "q")
    c.call("claim.import", {"claims": [{"text": " ".join("qpfx%d" % (i * 100 + j) for j in range(100))}
                                       for i in range(42)]})
    expect_error(c, "claim.search", {"q": "qpfx*"}, "invalid", "a prefix of more than 4096 words is refused", "q")
    tap.is_(search(c, "qpfx419*")["total"], 2, "a longer prefix of the same words is fine (qpfx419, qpfx4190..4199)")
    r = search(c, "x", mark=["<b>", "</b>"])
    tap.ok(isinstance(r["items"], list), "mark is accepted")
    expect_error(c, "claim.match", {}, "invalid", "claim.match needs text", "text")
    expect_error(c, "claim.match", {"text": "a b", "min_similarity": 1.5}, "invalid", "min_similarity over 1",
                 "min_similarity")
    tap.is_(c.call("claim.match", {"text": "!!!"}), {"items": []}, "a text without words matches nothing")


def check_match(c):
    base = ("The United States has never received any letter from the Russian president, "
            "the embassy spokesman told reporters on Tuesday")
    orig = put(c, base, lang="en", speaker="Embassy Spokesman")
    reworded = ("The United States has never received a letter from the Russian president, "
                "an embassy spokesman told journalists on Tuesday")
    unrelated = put(c, "The president told reporters on Tuesday that the economy is growing fast", lang="en")
    r = c.call("claim.match", {"text": reworded})
    got = {h["id"]: h["similarity"] for h in r["items"]}
    tap.ok(orig in got and 0.5 <= got[orig] < 1.0, "a re-worded claim is matched with its similarity", short(r))
    tap.ok(unrelated not in got, "a claim sharing only common words is not", short(r))
    exact = c.call("claim.match", {"text": base.upper()})["items"]
    tap.ok(exact and exact[0]["id"] == orig and abs(exact[0]["similarity"] - 1.0) < 1e-12,
           "the same text (case aside) has similarity 1, listed first", short(exact))
    tap.is_(c.call("claim.match", {"text": reworded, "speaker": "Embassy Spokesman"})["items"][0]["id"], orig,
            "the speaker filter keeps the speaker's claim")
    tap.is_(c.call("claim.match", {"text": reworded, "speaker": "Somebody Else Entirely"}), {"items": []},
            "another speaker matches nothing")
    tap.is_([h["id"] for h in c.call("claim.match", {"text": reworded, "min_similarity": 0.99})["items"]], [],
            "min_similarity is a floor")
    low = c.call("claim.match", {"text": "The president told reporters on Tuesday about the economy",
                                 "min_similarity": 0.3})["items"]
    tap.ok(unrelated in [h["id"] for h in low], "a lower min_similarity admits weaker matches", short(low))
    sims = [h["similarity"] for h in low]
    tap.ok(sims == sorted(sims, reverse=True), "matches come best first", sims)
    c.call("claim.retract", {"id": orig})
    tap.ok(orig not in [h["id"] for h in c.call("claim.match", {"text": reworded})["items"]],
           "a retracted claim is not matched")
    tap.ok(orig in [h["id"] for h in c.call("claim.match", {"text": reworded, "include_retracted": True})["items"]],
           "unless include_retracted")


# ---------------------------------------------------------------------------------------------
# Brute-force BM25 over a synthetic corpus, in claims without lang (terms are the folded words).

K1, B = 1.2, 0.75


def bm25_ranking(docs, words, allowed=None):
    """[(score, id)] best first of the claims holding every word, computed the documented way."""
    n = len(docs)
    total = sum(len(d) for d in docs.values())
    avg = total / n
    df = {w: sum(1 for d in docs.values() if w in d) for w in words}
    out = []
    for cid, toks in docs.items():
        if allowed is not None and cid not in allowed:
            continue
        if not all(w in toks for w in words):
            continue
        k = K1 * (1 - B + B * len(toks) / avg)           # every claim is shorter than 64 tokens
        s = 0.0
        for w in words:
            idf = max(math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5)), 1e-6)
            tf = min(toks.count(w), 127)
            s += idf * tf * (K1 + 1) / (tf + k)
        out.append((s, cid))
    out.sort(key=lambda x: (-x[0], x[1]))
    return out


def check_against_brute_force():
    d = Daemon()
    d.start()
    c = d.client(timeout=60)
    rnd = random.Random(4)
    vocab = ["w%d" % i for i in range(300)]
    docs, speakers, batch = {}, {}, []
    for i in range(4000):
        toks = [rnd.choice(vocab) for _ in range(rnd.randint(3, 40))]
        if rnd.random() < 0.6:
            toks += ["common"] * rnd.randint(1, 3)
        if rnd.random() < 0.5:
            toks.append("half")
        if i % 30 == 0:
            toks.append("pivot")                          # 134 claims over 4 blocks of ids
        if i % 150 == 0:
            toks.append("scarce")                         # 27, all with pivot: pivot is probed
        rnd.shuffle(toks)
        sp = "Speaker %d" % (i % 7)
        said = "2018-%02d-%02d" % (rnd.randint(1, 12), rnd.randint(1, 28))
        batch.append({"text": " ".join(toks), "speaker": sp, "said_at": said})
    res = c.call("claim.import", {"claims": batch})["results"]
    months = {}
    for cl, r in zip(batch, res):
        docs[r["id"]] = cl["text"].split()
        speakers[r["id"]] = cl["speaker"]
        months[r["id"]] = int(cl["said_at"][5:7])
    tap.ok(len(docs) == 4000, "4000 synthetic claims imported")

    for q in ("common half", "common w7", "w3 w5"):
        words = q.split()
        want = bm25_ranking(docs, words)
        r = search(c, q, limit=20)
        got = [(h["score"], h["id"]) for h in r["items"]]
        same = [g[1] for g in got] == [w[1] for w in want[:20]] and \
            all(abs(g[0] - w[0]) <= 1e-9 * w[0] for g, w in zip(got, want))
        tap.ok(same, "top 20 of %r equal brute-force BM25 (%d matches)" % (q, len(want)),
               "got  %s" % short(got[:5]), "want %s" % short(want[:5]))
        if len(want) <= 1000:
            tap.ok(r["total"] == len(want) and r["total_exact"] is True,
                   "total of %r is exact: %d" % (q, len(want)), (r["total"], r["total_exact"]))
        else:
            tap.ok(r["total_exact"] is False and abs(r["total"] - len(want)) <= 0.2 * len(want),
                   "total of %r is an estimate within 20%% of %d" % (q, len(want)), (r["total"], r["total_exact"]))

    # Every page of a query large enough for pruning: each hit once, in brute-force order.
    want = bm25_ranking(docs, ["common", "half"])
    hits, pages = all_pages(c, "common half", 97)
    got_ids = [h["id"] for h in hits]
    tap.is_(len(got_ids), len(want), "paging through %d pruned results returns them all" % len(want), pages)
    tap.ok(got_ids == [w[1] for w in want], "each exactly once, in ranking order")

    allowed = {cid for cid, sp in speakers.items() if sp == "Speaker 3"}
    want = bm25_ranking(docs, ["common", "w11"], allowed)
    r = search(c, "common w11", speaker="Speaker 3", limit=50)
    tap.is_([h["id"] for h in r["items"]], [w[1] for w in want[:50]],
            "text and a speaker filter give the brute-force ranking of that speaker's claims")
    tap.is_(r["total"], len(want), "and an exact total")
    allowed = {cid for cid, m in months.items() if 3 <= m <= 5}
    want = bm25_ranking(docs, ["common", "half"], allowed)
    hits, _ = all_pages(c, "common half", 200, said_from="2018-03", said_to="2018-05")
    tap.is_([h["id"] for h in hits], [w[1] for w in want],
            "text and a said_from/said_to range (whole months) give the brute-force ranking")
    allowed = {cid for cid, m in months.items() if 3 <= m <= 5 and speakers[cid] == "Speaker 2"}
    want = bm25_ranking(docs, ["common", "w9"], allowed)
    tap.is_(ids(c, "common w9", said_from="2018-03", said_to="2018-05", speaker="Speaker 2", limit=100),
            [w[1] for w in want[:100]], "text, speaker and dates together")
    prefix_want = {cid for cid, toks in docs.items() if any(t.startswith("w29") for t in toks) and "half" in toks}
    hits, _ = all_pages(c, "w29* half", 500)
    tap.is_({h["id"] for h in hits}, prefix_want, "a prefix query finds exactly the claims with such a word")
    check_block_thresholds(c, docs)
    d.stop()


def same_as_brute_force(c, docs, q, why):
    want = bm25_ranking(docs, q.split())
    hits, _ = all_pages(c, q, 50)
    got = [(h["score"], h["id"]) for h in hits]
    tap.ok([g[1] for g in got] == [w[1] for w in want] and
           all(abs(g[0] - w[0]) <= 1e-9 * w[0] for g, w in zip(got, want)),
           "%s: every page of %r equals brute force (%d hits)" % (why, q, len(want)),
           "got  %s" % short(got[:5]), "want %s" % short(want[:5]))


def check_block_thresholds(c, docs):
    """Terms with 128 postings or more keep block maxima in the index, shorter ones not: updates
    that move "pivot" across that line must leave searches exact both ways."""
    holders = sorted(cid for cid, toks in docs.items() if "pivot" in toks)
    same_as_brute_force(c, docs, "pivot common", "%d claims with the word" % len(holders))
    same_as_brute_force(c, docs, "scarce pivot", "%d claims with the word" % len(holders))

    def set_text(cid, toks):
        rev = c.call("claim.get", {"id": cid})["rev"]
        c.call("claim.update", {"id": cid, "rev": rev, "set": {"text": " ".join(toks)}})
        docs[cid] = toks
    for cid in holders[::13]:                               # 11 claims lose the word: 123 left
        set_text(cid, [t for t in docs[cid] if t != "pivot"])
    n = sum(1 for toks in docs.values() if "pivot" in toks)
    same_as_brute_force(c, docs, "pivot common", "down to %d claims" % n)
    same_as_brute_force(c, docs, "scarce pivot", "down to %d claims" % n)
    others = [cid for cid, toks in docs.items() if "pivot" not in toks and "common" in toks]
    for cid in others[5::97][:20]:                          # 20 claims gain it: back over 128
        set_text(cid, docs[cid] + ["pivot"])
    n = sum(1 for toks in docs.values() if "pivot" in toks)
    same_as_brute_force(c, docs, "pivot common", "up to %d claims" % n)
    same_as_brute_force(c, docs, "scarce pivot", "up to %d claims" % n)


def main():
    d = Daemon()
    d.start()
    c = d.client()
    check_ranking(c)
    check_phrases_prefixes(c)
    check_languages(c)
    check_filters(c)
    check_retract_update(c)
    check_pages_small(c)
    check_errors(c)
    check_match(c)
    st = d.stop()
    tap.is_(st, 0, "the daemon stops cleanly")
    check_against_brute_force()


run(main)
