#!/usr/bin/python3
"""verdict_labels.t: verdict.add with a publisher's label and no rating. The built-in vocabulary
rates labels in many languages, folded (case, accents, punctuation, "Rating: ..." decorations);
a label it does not know is kept on an unrated verdict that the claim's status ignores; the
operator's --ratings file adds and overrides labels; the ClaimReview numbers (rating_value,
best_rating, worst_rating, floats included) and by_url come back exactly, also after a restart;
bad values are refused naming the field."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, RpcError, run  # noqa: E402

LABELS = [  # (label as published, expected rating or None)
    ("Pants on Fire!", "false"), ("half-true", "mixed"), ("barely-true", "mostly-false"),
    ("Mostly False.", "mostly-false"), ("FALSE!", "false"), ("Rating: False", "false"),
    ("Falsch", "false"), ("Teilweise falsch", "mixed"), ("fehlender Kontext", "misleading"),
    ("Größtenteils richtig", "mostly-true"), ("GROESSTENTEILS richtig", None),
    ("Faux", "false"), ("Manque de contexte", "misleading"), ("Plutôt vrai", "mostly-true"),
    ("infonde", "unproven"), ("Fuori contesto", "misleading"), ("C’eri quasi", "mostly-true"),
    ("Pinocchio andante", "mostly-false"), ("Bulo", "false"), ("Engañoso", "misleading"),
    ("sin evidencias", "unproven"), ("Fałsz", "false"), ("Częściowa prawda", "mixed"),
    ("Παραπληροφόρηση", "false"), ("ΨΕΥΔΈΣ", "false"), ("Παραπλανητικό", "misleading"),
    ("Fals", "false"), ("Parțial adevărat", "mostly-true"), ("Parţial adevărat", "mostly-true"),
    ("Înșelător", "misleading"), ("Trunchiat", "mixed"), ("Yanlış", "false"),
    ("YANILTICI", "misleading"), ("Kısmen doğru", "mixed"), ("Фейк", "false"),
    ("Манипуляция", "misleading"), ("Маніпуляція", "misleading"), ("Неправда", "false"),
    ("زائف", "false"), ("مُضلّل", "misleading"), ("फ़र्ज़ी", "false"), ("भ्रामक", "misleading"),
    ("Miscaptioned", "misleading"), ("Decontextualized", "misleading"),
    ("Research In Progress", "in-review"), ("Labeled Satire", None), ("Full Flop", None),
    ("Schwurbelei", None),
]


def main():
    d = Daemon()
    d.start()
    with d.client() as c:
        for label, want in LABELS:
            cid = c.call("claim.put", {"text": "claim for " + label})["id"]
            c.call("verdict.add", {"claim": cid, "label": label, "at": "2021-07-20"})
            v = c.call("verdict.list", {"claim": cid})["items"][0]
            tap.ok(v.get("rating") == want and v["label"] == label,
                   "label %r -> %s" % (label, want or "unrated"), repr(v))

        cid = c.call("claim.put", {"text": "status ignores unrated verdicts"})["id"]
        c.call("verdict.add", {"claim": cid, "rating": "false", "at": "2021-01-01"})
        c.call("verdict.add", {"claim": cid, "label": "Ganz neues Etikett", "at": "2022-01-01"})
        got = c.call("claim.get", {"id": cid})
        tap.ok(got["status"] == "false", "a newer unrated verdict leaves the status at the rated one", repr(got))
        cid2 = c.call("claim.put", {"text": "only unrated"})["id"]
        c.call("verdict.add", {"claim": cid2, "label": "Ganz neues Etikett"})
        tap.ok(c.call("claim.get", {"id": cid2})["status"] == "unverified", "only unrated verdicts: unverified")
        tap.ok(len(c.call("claim.query", {"status": "false", "limit": 1000})["items"]) >= 1,
               "status filter still works")

        try:
            c.call("verdict.add", {"claim": cid})
            tap.ok(False, "neither rating nor label is refused")
        except RpcError as e:
            tap.ok(e.code == "invalid" and e.field == "rating", "neither rating nor label: invalid rating", repr(e))
        for field, val in (("rating_value", "3"), ("best_rating", float("nan")), ("worst_rating", [1]),
                           ("by_url", 5)):
            try:
                c.call("verdict.add", {"claim": cid, "rating": "false", field: val})
                tap.ok(False, "bad %s refused" % field)
            except RpcError as e:
                tap.ok(e.code == "invalid" and e.field == field, "bad %s: invalid naming it" % field, repr(e))

        nums = c.call("claim.put", {"text": "numbers kept exactly"})["id"]
        c.call("verdict.add", {"claim": nums, "rating": "mixed", "label": "Nì", "rating_value": 2.5,
                               "best_rating": 5, "worst_rating": 1, "by_url": "https://pagellapolitica.it/"})
        c.call("verdict.add", {"claim": nums, "label": "7 of 10", "rating_value": 7, "best_rating": 10,
                               "worst_rating": 0})
    d.stop()
    d.start()
    with d.client() as c:
        vs = c.call("verdict.list", {"claim": nums})["items"]
        a, b = vs[0], vs[1]
        tap.ok(a["rating_value"] == 2.5 and isinstance(a["rating_value"], float) and a["best_rating"] == 5
               and isinstance(a["best_rating"], int) and a["worst_rating"] == 1
               and a["by_url"] == "https://pagellapolitica.it/", "numbers and by_url come back as given after a restart", repr(a))
        tap.ok(b["rating_value"] == 7 and b["best_rating"] == 10 and b["worst_rating"] == 0 and "rating" not in b,
               "an unmapped label with numbers stays unrated in the daemon (numbers are claimctl's fallback)", repr(b))
    d.stop()

    # The operator's vocabulary file adds and overrides labels.
    rf = os.path.join(d.tmp, "ratings.tsv")
    with open(rf, "w") as f:
        f.write("# our desk's labels\nSchwurbelei\tfalse\nMiscaptioned\tfalse\nganz neues etikett\tunrated\n")
    d2 = Daemon(extra_args=["--ratings", rf])
    d2.start()
    with d2.client() as c:
        cid = c.call("claim.put", {"text": "operator labels"})["id"]
        for label, want in (("SCHWURBELEI!", "false"), ("Miscaptioned", "false"), ("Ganz neues Etikett", None),
                            ("Falsch", "false")):
            c.call("verdict.add", {"claim": cid, "label": label})
            v = c.call("verdict.list", {"claim": cid})["items"][-1]
            tap.ok(v.get("rating") == want, "--ratings: %r -> %s" % (label, want or "unrated"), repr(v))
    d2.stop()
    bad = os.path.join(d.tmp, "bad.tsv")
    with open(bad, "w") as f:
        f.write("Falsch\tfalse\nQuatsch\tnonsense\n")
    import subprocess
    p = subprocess.run([d.binary, "--data", d.data, "--socket", d.socket + "x", "--ratings", bad],
                       capture_output=True, text=True, timeout=10)
    tap.ok(p.returncode == 2 and "line 2" in p.stderr and "nonsense" in p.stderr,
           "a bad --ratings file is a usage error naming the line", repr(p.stderr))


run(main)
