/* words: synthetic vocabularies in five scripts, so that folding, accents and stemmers see text
 * shaped like the newsroom's (Latin with and without diacritics, Cyrillic, Greek). Words are
 * built from syllables; frequent ranks get short words, as in natural language. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

const char *const bench_langs[BENCH_NLANGS] = { "en", "ru", "fr", "tr", "el" };

typedef struct {
    const char *const *onset; size_t nonset;
    const char *const *vowel; size_t nvowel;
    const char *const *end; size_t nend;       /* word endings (inflections) */
    const char *const *upper; size_t nupper;   /* capitals for names in non-Latin scripts */
} script;

#define N(a) (sizeof (a) / sizeof (a)[0])

static const char *const en_on[] = { "b", "c", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r",
    "s", "t", "v", "w", "st", "tr", "pr", "sh", "ch", "th", "bl", "gr" };
static const char *const en_vo[] = { "a", "e", "i", "o", "u", "ea", "ou", "ai", "ee" };
static const char *const en_end[] = { "", "", "", "s", "ed", "ing", "er", "tion", "ly", "ment" };

static const char *const fr_on[] = { "b", "c", "d", "f", "g", "j", "l", "m", "n", "p", "r", "s",
    "t", "v", "ch", "qu", "tr", "pl", "gr" };
static const char *const fr_vo[] = { "a", "e", "i", "o", "u", "é", "è", "ê", "à", "ou", "ai", "eu", "oi", "â", "ô" };
static const char *const fr_end[] = { "", "", "", "s", "ent", "er", "é", "ement", "ion", "eux", "ère", "çais" };

static const char *const tr_on[] = { "b", "c", "ç", "d", "g", "ğ", "h", "k", "l", "m", "n", "p",
    "r", "s", "ş", "t", "v", "y", "z" };
static const char *const tr_vo[] = { "a", "e", "ı", "i", "o", "ö", "u", "ü" };
static const char *const tr_end[] = { "", "", "", "ler", "lar", "de", "da", "nin", "mış", "yor", "lık", "dır" };

static const char *const ru_on[] = { "б", "в", "г", "д", "ж", "з", "к", "л", "м", "н", "п", "р",
    "с", "т", "ф", "х", "ц", "ч", "ш", "ст", "пр", "кр" };
static const char *const ru_vo[] = { "а", "е", "и", "о", "у", "ы", "я", "ю", "ё" };
static const char *const ru_end[] = { "", "", "", "ый", "ого", "ать", "ение", "ов", "ами", "ская", "ить", "ой" };
static const char *const ru_up[] = { "Б", "В", "Г", "Д", "З", "К", "Л", "М", "Н", "П", "Р", "С", "Т", "Ф", "Ш" };

static const char *const el_on[] = { "β", "γ", "δ", "ζ", "θ", "κ", "λ", "μ", "ν", "ξ", "π", "ρ",
    "σ", "τ", "φ", "χ", "στ", "τρ", "κρ" };
static const char *const el_vo[] = { "α", "ε", "η", "ι", "ο", "υ", "ω", "ά", "έ", "ί", "ό", "ού" };
static const char *const el_end[] = { "", "", "ος", "ης", "ει", "ουν", "ων", "ας", "ές", "ία", "ικός" };
static const char *const el_up[] = { "Α", "Β", "Γ", "Δ", "Ζ", "Θ", "Κ", "Λ", "Μ", "Ν", "Π", "Σ", "Τ", "Χ" };

static const script scripts[BENCH_NLANGS] = {
    { en_on, N(en_on), en_vo, N(en_vo), en_end, N(en_end), NULL, 0 },
    { ru_on, N(ru_on), ru_vo, N(ru_vo), ru_end, N(ru_end), ru_up, N(ru_up) },
    { fr_on, N(fr_on), fr_vo, N(fr_vo), fr_end, N(fr_end), NULL, 0 },
    { tr_on, N(tr_on), tr_vo, N(tr_vo), tr_end, N(tr_end), NULL, 0 },
    { el_on, N(el_on), el_vo, N(el_vo), el_end, N(el_end), el_up, N(el_up) },
};

/* Writes one word of nsyl syllables (plus an ending when with_end) into buf. */
static void make_word(bench_rng *r, const script *sc, int nsyl, int with_end, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = 0;
    for (int i = 0; i < nsyl; i++) {
        const char *on = sc->onset[rng_below(r, sc->nonset)];
        const char *vo = sc->vowel[rng_below(r, sc->nvowel)];
        n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%s%s", on, vo);
    }
    if (with_end) {
        const char *e = sc->end[rng_below(r, sc->nend)];
        snprintf(buf + n, n < cap ? cap - n : 0, "%s", e);
    }
}

/* ---- a tiny string set, to keep words and names distinct ---------------------------------- */

typedef struct { char **slot; size_t cap, n; } strset;

static uint64_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Adds a copy of s; returns the copy when new, NULL when already present (or out of memory). */
static char *strset_add(strset *set, const char *s)
{
    if ((set->n + 1) * 2 > set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 1024;
        char **slot = calloc(cap, sizeof *slot);
        if (!slot) return NULL;
        for (size_t i = 0; i < set->cap; i++) {
            if (!set->slot[i]) continue;
            size_t j = str_hash(set->slot[i]) & (cap - 1);
            while (slot[j]) j = (j + 1) & (cap - 1);
            slot[j] = set->slot[i];
        }
        free(set->slot);
        set->slot = slot;
        set->cap = cap;
    }
    size_t j = str_hash(s) & (set->cap - 1);
    while (set->slot[j]) {
        if (strcmp(set->slot[j], s) == 0) return NULL;
        j = (j + 1) & (set->cap - 1);
    }
    set->slot[j] = strdup(s);
    if (set->slot[j]) set->n++;
    return set->slot[j];
}

/* Forgets the set, keeping the strings (the caller owns them now). */
static void strset_release(strset *set)
{
    free(set->slot);
    set->slot = NULL;
    set->cap = set->n = 0;
}

int vocab_make(bench_vocab *v, int lang, size_t n, uint64_t seed)
{
    const script *sc = &scripts[lang];
    bench_rng r;
    rng_seed(&r, seed * 31 + (uint64_t)lang);
    v->words = calloc(n, sizeof *v->words);
    v->n = 0;
    if (!v->words) return -1;
    strset set = { 0 };
    char buf[128];
    while (v->n < n) {
        size_t rank = v->n;
        int nsyl = 1 + (rank >= 40) + (rank >= 1500) + (int)rng_below(&r, 2);
        make_word(&r, sc, nsyl, rank >= 100, buf, sizeof buf);
        char *w = strset_add(&set, buf);
        if (w) v->words[v->n++] = w;
    }
    strset_release(&set);
    return 0;
}

void vocab_free(bench_vocab *v)
{
    for (size_t i = 0; i < v->n; i++) free(v->words[i]);
    free(v->words);
    v->words = NULL;
    v->n = 0;
}

void vocab_name(bench_rng *r, int lang, int words, char *buf, size_t cap)
{
    const script *sc = &scripts[lang];
    size_t n = 0;
    buf[0] = 0;
    for (int w = 0; w < words && n + 1 < cap; w++) {
        char part[64];
        make_word(r, sc, 2 + (int)rng_below(r, 2), w == words - 1 && lang == 1, part, sizeof part);
        if (n) buf[n++] = ' ';
        if (sc->upper) {
            /* Non-Latin scripts: a capital letter from the script, then the word. */
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", sc->upper[rng_below(r, sc->nupper)], part);
        } else {
            if (part[0] >= 'a' && part[0] <= 'z') part[0] = (char)(part[0] - 'a' + 'A');
            n += (size_t)snprintf(buf + n, cap - n, "%s", part);
        }
        if (n >= cap) { n = cap - 1; buf[n] = 0; }
    }
}

int lang_of_rank(uint64_t rank, uint64_t seed)
{
    bench_rng r;
    rng_seed(&r, seed ^ (rank * 0x2545f4914f6cdd1dULL));
    uint64_t p = rng_below(&r, 100);   /* en 40%, ru 20%, fr 15%, tr 15%, el 10% */
    return p < 40 ? 0 : p < 60 ? 1 : p < 75 ? 2 : p < 90 ? 3 : 4;
}

/* An outlet's name is a word between one of these prefixes and suffixes. */
static const char *const outlet_forms[][2] = { { "", " News" }, { "The ", " Times" },
    { "Radio ", "" }, { "", " Daily" }, { "", " Agency" }, { "", " Today" }, { "", " Post" },
    { "Channel ", "" }, { "", " Herald" }, { "", " Wire" } };

char **names_make(size_t n, uint64_t seed, int outlets)
{
    char **names = calloc(n ? n : 1, sizeof *names);
    if (!names) return NULL;
    bench_rng r;
    rng_seed(&r, seed);
    strset set = { 0 };
    char part[96], buf[160];
    for (size_t i = 0; i < n;) {
        if (outlets) {
            vocab_name(&r, 0, 1, part, sizeof part);
            const char *const *form = outlet_forms[rng_below(&r, N(outlet_forms))];
            snprintf(buf, sizeof buf, "%s%s%s", form[0], part, form[1]);
        } else {
            vocab_name(&r, lang_of_rank(i, seed), 2, buf, sizeof buf);
        }
        char *s = strset_add(&set, buf);
        if (s) names[i++] = s;
    }
    strset_release(&set);
    return names;
}
