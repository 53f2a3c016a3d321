/* Unit tests for daemon/match_sig.c (claim.match): shingles, MinHash signatures, LSH bands, exact Jaccard. */
#include "tap.h"
#include "match.h"

#include <stdlib.h>
#include <string.h>

static double similarity(const char *a, const char *b)
{
    cd_match_set x, y;
    if (cd_match_set_build(a, strlen(a), &x)) return -1;
    if (cd_match_set_build(b, strlen(b), &y)) { cd_match_set_free(&x); return -1; }
    double s = cd_match_jaccard(x.all, x.nall, y.all, y.nall);
    cd_match_set_free(&x);
    cd_match_set_free(&y);
    return s;
}

static int shared_bands(const char *a, const char *b)
{
    uint32_t x[CD_MATCH_BANDS], y[CD_MATCH_BANDS];
    if (cd_match_text_bands(a, strlen(a), x) != 1 || cd_match_text_bands(b, strlen(b), y) != 1) return -1;
    int n = 0;
    for (int i = 0; i < CD_MATCH_BANDS; i++) n += x[i] == y[i];
    return n;
}

int main(void)
{
    cd_match_set s;
    ok(cd_match_set_build("a b c a b", 9, &s) == 0 && s.nall == 3 + 3 && s.npairs == 3,
       "words and adjacent pairs, each once (a b c; ab bc ca)");
    int sorted = 1;
    for (size_t i = 1; i < s.nall; i++) sorted &= s.all[i - 1] < s.all[i];
    for (size_t i = 1; i < s.npairs; i++) sorted &= s.pairs[i - 1] < s.pairs[i];
    ok(sorted, "shingles are sorted and unique");
    const uint64_t *h;
    size_t nh;
    cd_match_set_lsh(&s, &h, &nh);
    ok(h == s.pairs && nh == 3, "the pairs feed the LSH");
    cd_match_set_free(&s);
    ok(cd_match_set_build("Word!", 5, &s) == 0 && s.nall == 1 && s.npairs == 0, "one word: one shingle, no pairs");
    cd_match_set_lsh(&s, &h, &nh);
    ok(h == s.all && nh == 1, "a one-word text feeds its word to the LSH");
    cd_match_set_free(&s);
    ok(cd_match_set_build("", 0, &s) == 0 && s.nall == 0, "no words: no shingles");
    cd_match_set_free(&s);
    ok(cd_match_set_build("\xc3", 1, &s) == -1, "invalid UTF-8 is refused");

    ok(similarity("The Letter, from PÉSKOV!", "the letter from peskov") == 1.0, "case, accents and punctuation do not count");
    ok(similarity("a b c", "c b a") < 1.0 && similarity("a b c", "c b a") > 0.0, "word order counts through the pairs");
    double sim = similarity("The United States has never received any letter from the Russian president",
                          "The United States has never received a letter from the Russian president");
    ok(sim > 0.6 && sim < 0.8, "one word changed in fourteen: similarity about 0.7 (%f)", sim);
    sim = similarity("The president told reporters on Tuesday that the economy is growing",
                   "The embassy said on Tuesday that no letter had been received from the senator");
    ok(sim < 0.25, "unrelated texts sharing common words: similarity far below the default 0.5 (%f)", sim);
    ok(cd_match_jaccard(NULL, 0, NULL, 0) == 0.0, "two empty sets: 0");
    uint64_t a[] = { 1, 2, 3, 4 }, b[] = { 3, 4, 5, 6 };
    ok(cd_match_jaccard(a, 4, b, 4) == 2.0 / 6.0, "|{3,4}| / |{1..6}| = 1/3");

    const char *t = "Russia has not received any letter from the American senator, Peskov said";
    is_int(shared_bands(t, "RUSSIA has not received any letter from the American senator; Peskov said."),
           CD_MATCH_BANDS, "the same text (folded) falls in every same bucket");
    int near = shared_bands(t, "Russia has not received a letter from the American senator, Peskov said");
    ok(near >= 2, "a lightly re-worded text shares buckets (%d of %d)", near, CD_MATCH_BANDS);
    int far = shared_bands(t, "The weather in Moscow was unusually warm for the season, forecasters said");
    is_int(far, 0, "an unrelated text shares no bucket");
    uint32_t bands[CD_MATCH_BANDS];
    is_int(cd_match_text_bands("...", 3, bands), 0, "a text without words has no buckets");

    /* Over many texts of 20 words with 3 changed (word pairs: 13 of 25 shared, p = 0.52), a text
     * and its re-wording share a bucket with probability 1 - (1 - p^2)^16 = 0.994. */
    int hits = 0, trials = 200;
    for (int i = 0; i < trials; i++) {
        char x[512] = "", y[512] = "";
        for (int w = 0; w < 20; w++) {
            char word[32];
            snprintf(word, sizeof word, "w%dx%d ", i, w);
            strcat(x, word);
            if (w % 6 == 5) snprintf(word, sizeof word, "v%dx%d ", i, w);
            strcat(y, word);
        }
        hits += shared_bands(x, y) > 0;
    }
    ok(hits >= trials * 97 / 100, "20-word texts with 3 words changed are candidates >= 97%% of the time (%d of %d)",
       hits, trials);
    return done_testing();
}
