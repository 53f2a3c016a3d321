/* Unit tests for claim.match's pure parts: numbers written one way (daemon/search/match_numbers.c) and
 * the weighed term sets and their similarity (daemon/search/match_terms.c). */
#include "tap.h"
#include "match.h"

#include <stdlib.h>
#include <string.h>

/* The canonical text of s, with runs of spaces squeezed and trimmed for readable comparisons. */
static const char *canon(const char *s, const char *lang)
{
    static char out[512];
    size_t n;
    char *c = cd_match_canon_numbers(s, strlen(s), lang, &n);
    if (!c) return "(null)";
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < sizeof out; i++) {
        if (c[i] == ' ' && (k == 0 || out[k - 1] == ' ')) continue;
        out[k++] = c[i];
    }
    while (k && out[k - 1] == ' ') k--;
    out[k] = 0;
    free(c);
    return out;
}

/* Similarity with every term weighing 1 (plain Jaccard over distinct terms). */
static double unweighted(const char *a, const char *b, const char *lang)
{
    cd_mset x, y;
    if (cd_mset_build(&x, a, strlen(a), lang, 1)) return -1;
    if (cd_mset_build(&y, b, strlen(b), lang, 1)) { cd_mset_free(&x); return -1; }
    for (size_t i = 0; i < x.n; i++) x.t[i].w = 1;
    for (size_t i = 0; i < y.n; i++) y.t[i].w = 1;
    double s = cd_mset_similarity(&x, &y);
    cd_mset_free(&x);
    cd_mset_free(&y);
    return s;
}

int main(void)
{
    /* numbers */
    is_str(canon("5,000,000 jobs", "en"), "5000000 jobs", "thousands separators go");
    is_str(canon("5 million jobs", "en"), "5000000 jobs", "a multiplier word is applied");
    is_str(canon("$5m of aid", "en"), "5000000 usd of aid", "an attached abbreviation, a currency symbol");
    is_str(canon("5 million dollars of aid", "en"), "5000000 usd of aid", "a currency word");
    is_str(canon("£1.5bn", "en"), "1500000000 gbp", "pounds");
    is_str(canon("over a thousand people", "en"), "over 1000 people", "a thousand");
    is_str(canon("a b", "en"), "a b", "a lone article stays");
    is_str(canon("%50 artırıldı", "tr"), "50pct artırıldı", "a Turkish percent sign before the number");
    is_str(canon("yüzde 50 artırdı", "tr"), "50pct artırdı", "Turkish yüzde before the number");
    is_str(canon("cu 25 la sută", "ro"), "cu 25pct", "Romanian la sută");
    is_str(canon("five million jobs", "en"), "5000000 jobs", "an English number word with its multiplier");
    is_str(canon("3.5 billion", "en"), "3500000000", "a decimal with a multiplier");
    is_str(canon("3,5 Milliarden Euro", "de"), "3500000000 eur", "a decimal comma in German, the currency word");
    is_str(canon("1.234.567 Einwohner", "de"), "1234567 Einwohner", "dots group thousands in German");
    is_str(canon("1.5 percent", "en"), "1d5pct", "a decimal percentage is one token");
    is_str(canon("40% of voters", "en"), "40pct of voters", "a percent sign");
    is_str(canon("forty per cent of voters", "en"), "40pct of voters", "a percent word after a number word");
    is_str(canon("twenty-five", "en"), "25", "tens and units");
    is_str(canon("covid19 and g7 and 5g", "en"), "covid19 and g7 and 5g", "digits glued to letters are names");
    is_str(canon("one of them", "en"), "1 of them", "number words stand alone");
    is_str(canon("oneself", "en"), "oneself", "a word merely starting with a number word is left");
    is_str(canon("1,5", "en"), "1d5", "a lone comma before other than three digits is a decimal point");
    is_str(canon("1,500", "en"), "1500", "a lone comma before three digits groups thousands in English");
    is_str(canon("2,5 млн", "ru"), "2500000", "Russian abbreviations");
    is_str(canon("", "en"), "", "an empty text");
    is_str(canon("123456789012345678901234567890123456789012345678901234567890 trillion", "en"),
           "123456789012345678901234567890123456789012345678901234567890 trillion",
           "a number too long to multiply keeps its digits and its word");
    is_str(canon("9999999999999999999999999999999999999999999999999999999999999999999999", "en"),
           "9999999999999999999999999999999999999999999999999999999999999999999999",
           "a number too long to read is left as written");

    /* term sets and similarity */
    cd_mset s;
    ok(cd_mset_build(&s, "the cat and the hat", 19, "en", 1) == 0 && s.n == 4, "distinct terms (%zu)", s.n);
    ok(cd_mset_find(&s, "cat", 3) >= 0 && cd_mset_find(&s, "dog", 3) < 0, "terms are found by bytes");
    cd_mset_free(&s);
    ok(cd_mset_build(&s, "\xff", 1, NULL, 1) != 0, "invalid UTF-8 is refused");
    double same = unweighted("Unemployment fell to 5 million", "UNEMPLOYMENT fell to five million!", "en");
    ok(same > 0.999, "numbers and case aside two texts are the same (%.3f)", same);
    double order = unweighted("Crime rose by 10% last year", "Last year crime rose by ten percent", "en");
    ok(order > 0.999, "word order and number spelling do not count (%.3f)", order);
    double half = unweighted("a b c d", "a b e f", NULL);
    ok(half > 0.333 && half < 0.334, "plain Jaccard over distinct terms (%.3f)", half);

    /* weights: a rare word shared counts more than common ones */
    cd_mset a, b;
    cd_mset_build(&a, "the zebra runs", 14, NULL, 0);
    cd_mset_build(&b, "the zebra sits", 14, NULL, 0);
    cd_mset *both[2] = { &a, &b };
    for (int k = 0; k < 2; k++)
        for (size_t i = 0; i < both[k]->n; i++) {
            const char *t = both[k]->terms + both[k]->t[i].off;
            both[k]->t[i].w = memcmp(t, "the", 3) == 0 ? 0.1 : memcmp(t, "zebra", 5) == 0 ? 5.0 : 1.0;
        }
    double w = cd_mset_similarity(&a, &b);
    ok(w > 0.71 && w < 0.72, "weighted: (0.1 + 5) / (0.1 + 5 + 1 + 1) when the rare word is shared (%.3f)", w);
    cd_mset_free(&a);
    cd_mset_free(&b);
    cd_mset empty = { 0 };
    ok(cd_mset_similarity(&empty, &empty) == 0.0, "two empty sets have similarity 0");
    return done_testing();
}
