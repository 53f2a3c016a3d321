#!/usr/bin/python3
"""gen_claims.py: writes N generated claims for import tests and benchmarks, as JSONL, CSV or
ClaimReview JSON-LD, deterministically (the same arguments give the same bytes).

  gen_claims.py --format jsonl|csv|claimreview (--count N | --bytes B) [--seed S] [--prefix P]
                [--distinct K]

Texts are sentences from a bounded vocabulary (as newsroom prose is: a full-text index of
random unique tokens would measure something else). Every claim has an external id P-<n>, so
re-imports are idempotent; claim n is unique by its number in the text. With --distinct K the
first K records repeat until the count or size is reached: a big input whose records after the
first K are duplicates, cheap for the daemon, to measure the client's streaming."""
import argparse
import json
import random
import sys

WORDS = ("letter president senator delegation capitol diplomacy sanctions kremlin moscow "
         "washington meeting visit statement spokesman minister agreement talks parliament "
         "election campaign official report source agency interview committee foreign policy "
         "relations trade security cooperation dialogue exchange cultural terrorism countering "
         "legislative engagement important received channels administration shortly request "
         "introduction private group neutral country lawmakers counterparts discuss topics "
         "interest mistaken differences occasion discussions incredibly").split()
SPEAKERS = ["Speaker %d" % i for i in range(200)] + ["Rand Paul", "Dmitry Peskov", "Hogan Gidley"]
OUTLETS = ["RFE/RL", "TASS", "Interfax", "Reuters", "AP"]
LABELS = [("True", 5), ("Mostly true", 4), ("Half true", 3), ("Mostly false", 2), ("False", 1),
          ("Misleading", None)]


def claim(rng, n, prefix):
    text = "%s %d: %s." % (rng.choice(["Claim", "Statement", "Remark"]), n,
                           " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 24))))
    day = "2018-%02d-%02d" % (rng.randint(1, 12), rng.randint(1, 28))
    return {
        "external_id": "%s-%d" % (prefix, n),
        "text": text,
        "lang": "en",
        "speaker": rng.choice(SPEAKERS),
        "said_at": day,
        "medium": rng.choice(["post", "statement", "interview"]),
        "via": [{"name": rng.choice(OUTLETS), "how": "quoted"}] if n % 3 == 0 else [],
        "appearances": [{"url": "https://news.example/%s/%d" % (prefix, n),
                         "outlet": rng.choice(OUTLETS), "published_at": day}],
        "about": [rng.choice(SPEAKERS)],
        "tags": ["gen", "t%d" % (n % 50)],
    }


def csv_cell(s):
    if any(c in s for c in ',"\n\r'):
        return '"' + s.replace('"', '""') + '"'
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--format", choices=["jsonl", "csv", "claimreview"], default="jsonl")
    ap.add_argument("--count", type=int)
    ap.add_argument("--bytes", type=int)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--prefix", default="gen")
    ap.add_argument("--distinct", type=int, default=0)
    a = ap.parse_args()
    if not a.count and not a.bytes:
        ap.error("--count or --bytes")
    rng = random.Random(a.seed)
    out = sys.stdout
    written = 0
    n = 0
    if a.format == "csv":
        header = "external_id,text,lang,speaker,said_at,medium,via,url,outlet,published_at,about,tags\n"
        out.write(header)
        written += len(header)
    if a.format == "claimreview":
        out.write('{"@context": "https://schema.org", "@graph": [\n')
    cycle = []
    while (a.count and n < a.count) or (a.bytes and written < a.bytes):
        n += 1
        if a.distinct and n > a.distinct:
            line = cycle[(n - 1) % a.distinct]
            if a.format == "claimreview":
                line = ",\n" + line.lstrip(",\n")
            out.write(line)
            written += len(line.encode())
            continue
        c = claim(rng, n, a.prefix)
        if a.format == "jsonl":
            line = json.dumps(c, ensure_ascii=False) + "\n"
        elif a.format == "csv":
            ap0 = c["appearances"][0]
            via = ";".join("%s:%s" % (h["name"], h["how"]) for h in c["via"])
            cells = [c["external_id"], c["text"], c["lang"], c["speaker"], c["said_at"],
                     c["medium"], via, ap0["url"], ap0["outlet"], ap0["published_at"],
                     ";".join(c["about"]), ";".join(c["tags"])]
            line = ",".join(csv_cell(x) for x in cells) + "\n"
        else:
            label, value = LABELS[n % len(LABELS)]
            rating = {"@type": "Rating", "alternateName": label}
            if value:
                rating.update(ratingValue=value, bestRating=5, worstRating=1)
            review = {
                "@type": "ClaimReview",
                "url": "https://factcheck.example/%s/%d" % (a.prefix, n),
                "datePublished": c["said_at"],
                "author": {"@type": "Organization", "name": "Example Fact Check"},
                "claimReviewed": c["text"],
                "reviewRating": rating,
                "itemReviewed": {
                    "@type": "Claim",
                    "author": {"@type": "Person", "name": c["speaker"]},
                    "datePublished": c["said_at"],
                    "appearance": [{"@type": "CreativeWork", "url": c["appearances"][0]["url"],
                                    "author": {"@type": "Organization",
                                               "name": c["appearances"][0]["outlet"]}}],
                },
            }
            line = ("" if n == 1 else ",\n") + json.dumps(review, ensure_ascii=False)
        out.write(line)
        written += len(line.encode())
        if a.distinct:
            cycle.append(line)
    if a.format == "claimreview":
        out.write("\n]}\n")


if __name__ == "__main__":
    main()
