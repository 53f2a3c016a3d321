#!/usr/bin/python3
"""languages.t: search finds what people type (docs/search.md, "Languages"): unaccented queries
find accented text, also where the accent sits in the suffix the stemmer cuts, in French,
Spanish, Portuguese, Romanian (comma and cedilla ș/ş ț/ţ), Turkish (dotted and dotless i) and
Greek (tonos); Slavic inflections through hunspell and the surname fallback (Ukrainian, Polish,
Russian surnames)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import tap  # noqa: E402
from claimd_harness import Daemon, run, short  # noqa: E402

# (lang, stored text, queries that must find it)
ACCENTS = [
    ("fr", "La Sécurité sociale est en faillite, selon le député.", ["securite", "sécurité", "SECURITE", "securite sociale"]),
    ("fr", "Les élèves réfugiés ont été expulsés.", ["eleves", "refugies", "expulses", "réfugié"]),
    ("es", "El gobierno yemení negó el ataque.", ["yemeni", "gobierno yemeni", "YEMENÍ"]),
    ("es", "La información sobre la vacunación era falsa.", ["informacion", "vacunacion"]),
    ("pt", "A nação votou nas eleições de domingo.", ["nacao", "eleicoes", "eleições", "nação"]),
    ("pt", "O ministério da saúde publicou os números.", ["ministerio", "saude", "numeros"]),
    ("ro", "Președintele a semnat legea privind taxele.", ["presedintele", "Preşedintele", "președinte"]),
    ("ro", "Guvernul a aprobat ţinta de deficit.", ["tinta", "ținta", "guvernul"]),
    ("tr", "Cumhurbaşkanı İstanbul'da açıklama yaptı.", ["cumhurbaskani", "istanbul", "ISTANBUL", "aciklama", "açıklama"]),
    ("tr", "Işık fiyatları yüzde 30 arttı.", ["isik", "ışık", "fiyatlari", "yuzde"]),
    ("el", "Ο πρωθυπουργός ανακοίνωσε νέα μέτρα.", ["πρωθυπουργος", "ΠΡΩΘΥΠΟΥΡΓΟΣ", "ανακοινωσε", "μετρα"]),
    ("el", "Η κυβέρνηση διαψεύδει τις πληροφορίες.", ["κυβερνηση", "πληροφοριες", "διαψευδει"]),
]

# (lang, stored text, queries in other inflected forms that must find it)
INFLECTIONS = [
    ("uk", "Росія запустила ракети по Києву.", ["ракета", "ракетою", "Київ"]),
    ("uk", "Зеленського запросили на саміт.", ["Зеленський", "Зеленському"]),
    ("uk", "Президент Зеленський підписав закон.", ["Зеленського", "законом"]),
    ("pl", "Lekarze wykryli nowotwory u pacjentów.", ["nowotwór", "nowotworu", "pacjent"]),
    ("pl", "Rząd przyjął nową ustawę.", ["ustawa", "ustawy", "rządu"]),
    ("ru", "Слова Пескова опровергли журналисты.", ["Песков", "Пескову"]),
    ("ru", "Песков заявил о переговорах.", ["Пескова", "переговоры"]),
    ("cs", "Vláda schválila nové zákony.", ["zákon", "zakon", "vlády"]),
    ("bg", "Правителството прие новите закони.", ["закон", "правителство"]),
]


def main():
    d = Daemon()
    d.start()
    c = d.client()
    batch = [{"text": t, "lang": l, "speaker": "Speaker %d" % i} for i, (l, t, _) in enumerate(ACCENTS + INFLECTIONS)]
    res = c.call("claim.import", {"claims": batch})["results"]
    ids = [r["id"] for r in res]
    for i, (lang, text, queries) in enumerate(ACCENTS + INFLECTIONS):
        for q in queries:
            got = [h["id"] for h in c.call("claim.search", {"q": q, "lang": lang})["items"]]
            tap.ok(ids[i] in got, "%s: %r finds %r" % (lang, q, text), short(got))
    # Consistency: the accented query finds the unaccented text too.
    r = c.call("claim.put", {"text": "La securite routiere en question.", "lang": "fr"})
    got = [h["id"] for h in c.call("claim.search", {"q": "sécurité routière", "lang": "fr"})["items"]]
    tap.ok(r["id"] in got, "fr: an accented query finds text typed without accents", short(got))
    # Word boundaries are unchanged: a Cyrillic й is still a letter of its own to the stemmer.
    r = c.call("claim.put", {"text": "Новый закон вступил в силу.", "lang": "ru"})
    got = [h["id"] for h in c.call("claim.search", {"q": "новая", "lang": "ru"})["items"]]
    tap.ok(r["id"] in got, "ru: новая finds новый (й kept through stemming)", short(got))
    c.close()
    d.stop()


run(main)
