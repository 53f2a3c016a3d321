/* match_sig: shingles, MinHash signatures, LSH bands and exact Jaccard (pure functions). */
#include <stdlib.h>
#include <string.h>
#include "match.h"
#include "record.h"
#include "text.h"

/* A 64-bit finaliser (xor-shift-multiply rounds): spreads every input bit over the output, so
 * one fixed function seeded differently acts as many independent hash functions. */
static uint64_t mix64(uint64_t x)
{
    x ^= x >> 31;
    x *= 0x7fb5d329728ea185ULL;
    x ^= x >> 27;
    x *= 0x81dadef4bc2dd44dULL;
    x ^= x >> 33;
    return x;
}

#define UNIGRAM_SEED 0x3c6ef372fe94f82bULL
#define BIGRAM_SEED 0xa54ff53a5f1d36f1ULL
#define BAND_SEED 0x510e527fade682d1ULL

typedef struct { uint64_t *h; size_t n, cap; } hash_list;

typedef struct {
    hash_list words, pairs;
    uint64_t prev;
    int have_prev;
    int oom;
} shingler;

static int push(hash_list *l, uint64_t h)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        uint64_t *p = realloc(l->h, cap * sizeof *p);
        if (!p) return -1;
        l->h = p;
        l->cap = cap;
    }
    l->h[l->n++] = h;
    return 0;
}

static int add_word(const cd_token *tok, void *ud)
{
    shingler *s = ud;
    uint64_t w = cd_hash64(tok->term, tok->len);
    if (push(&s->words, mix64(w ^ UNIGRAM_SEED)) ||
        (s->have_prev && push(&s->pairs, mix64(s->prev ^ mix64(w ^ BIGRAM_SEED))))) {
        s->oom = 1;
        return 1;
    }
    s->prev = w;
    s->have_prev = 1;
    return 0;
}

/* Sorts l and drops repeats. */
static void sort_unique(hash_list *l)
{
    if (l->n > 1) qsort(l->h, l->n, sizeof *l->h, cd_cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < l->n; i++)
        if (u == 0 || l->h[u - 1] != l->h[i]) l->h[u++] = l->h[i];
    l->n = u;
}

int cd_match_set_build(const char *text, size_t n, cd_match_set *set)
{
    shingler s = { 0 };
    memset(set, 0, sizeof *set);
    if (cd_text_tokenize(text, n, NULL, add_word, &s) < 0 || s.oom) goto fail;
    sort_unique(&s.words);
    sort_unique(&s.pairs);
    /* all = words ∪ pairs, merged (the seeds keep a word and a pair from sharing a hash). */
    set->all = malloc((s.words.n + s.pairs.n + 1) * sizeof *set->all);
    if (!set->all) goto fail;
    size_t i = 0, j = 0, k = 0;
    while (i < s.words.n || j < s.pairs.n) {
        uint64_t h = j == s.pairs.n || (i < s.words.n && s.words.h[i] < s.pairs.h[j]) ? s.words.h[i++] : s.pairs.h[j++];
        if (k == 0 || set->all[k - 1] != h) set->all[k++] = h;
    }
    set->nall = k;
    set->pairs = s.pairs.h;
    set->npairs = s.pairs.n;
    free(s.words.h);
    return 0;
fail:
    free(s.words.h);
    free(s.pairs.h);
    free(set->all);
    memset(set, 0, sizeof *set);
    return -1;
}

void cd_match_set_free(cd_match_set *s)
{
    free(s->all);
    free(s->pairs);
    memset(s, 0, sizeof *s);
}

void cd_match_set_lsh(const cd_match_set *s, const uint64_t **h, size_t *n)
{
    *h = s->npairs ? s->pairs : s->all;
    *n = s->npairs ? s->npairs : s->nall;
}

void cd_match_signature(const uint64_t *sh, size_t n, uint32_t sig[CD_MATCH_HASHES])
{
    for (int i = 0; i < CD_MATCH_HASHES; i++) {
        uint64_t seed = mix64((uint64_t)(i + 1) * 0x9e3779b97f4a7c15ULL);
        uint32_t best = UINT32_MAX;
        for (size_t k = 0; k < n; k++) {
            uint32_t h = (uint32_t)(mix64(sh[k] ^ seed) >> 32);
            if (h < best) best = h;
        }
        sig[i] = best;
    }
}

void cd_match_bands(const uint32_t sig[CD_MATCH_HASHES], uint32_t bands[CD_MATCH_BANDS])
{
    for (int b = 0; b < CD_MATCH_BANDS; b++) {
        uint64_t h = BAND_SEED ^ (uint64_t)b;
        for (int r = 0; r < CD_MATCH_ROWS; r++) h = mix64(h ^ sig[b * CD_MATCH_ROWS + r]);
        bands[b] = (uint32_t)(h >> 32);
    }
}

double cd_match_jaccard(const uint64_t *a, size_t na, const uint64_t *b, size_t nb)
{
    size_t i = 0, j = 0, both = 0;
    if (na + nb == 0) return 0.0;
    while (i < na && j < nb) {
        if (a[i] < b[j]) i++;
        else if (a[i] > b[j]) j++;
        else { both++; i++; j++; }
    }
    return (double)both / (double)(na + nb - both);
}

int cd_match_text_bands(const char *text, size_t n, uint32_t bands[CD_MATCH_BANDS])
{
    cd_match_set s;
    const uint64_t *h;
    size_t nh;
    uint32_t sig[CD_MATCH_HASHES];
    if (cd_match_set_build(text, n, &s)) return -1;
    cd_match_set_lsh(&s, &h, &nh);
    if (nh) {
        cd_match_signature(h, nh, sig);
        cd_match_bands(sig, bands);
    }
    cd_match_set_free(&s);
    return nh ? 1 : 0;
}
