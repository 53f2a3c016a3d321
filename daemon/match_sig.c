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

typedef struct {
    uint64_t *h;
    size_t n, cap;
    uint64_t prev;
    int have_prev;
    int oom;
} shingle_set;

static int push(shingle_set *s, uint64_t h)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        uint64_t *p = realloc(s->h, cap * sizeof *p);
        if (!p) return -1;
        s->h = p;
        s->cap = cap;
    }
    s->h[s->n++] = h;
    return 0;
}

static int add_word(const cd_token *tok, void *ud)
{
    shingle_set *s = ud;
    uint64_t w = cd_hash64(tok->term, tok->len);
    if (push(s, mix64(w ^ UNIGRAM_SEED))) { s->oom = 1; return 1; }
    if (s->have_prev && push(s, mix64(s->prev ^ mix64(w ^ BIGRAM_SEED)))) { s->oom = 1; return 1; }
    s->prev = w;
    s->have_prev = 1;
    return 0;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int cd_match_shingles(const char *text, size_t n, uint64_t **out, size_t *nout)
{
    shingle_set s = { 0 };
    int rc = cd_text_tokenize(text, n, NULL, add_word, &s);
    if (rc < 0 || s.oom) { free(s.h); return -1; }
    if (s.n > 1) qsort(s.h, s.n, sizeof *s.h, u64_cmp);
    size_t u = 0;
    for (size_t i = 0; i < s.n; i++)
        if (u == 0 || s.h[u - 1] != s.h[i]) s.h[u++] = s.h[i];
    *out = s.h;
    *nout = u;
    return 0;
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
    uint64_t *sh;
    size_t nsh;
    uint32_t sig[CD_MATCH_HASHES];
    if (cd_match_shingles(text, n, &sh, &nsh)) return -1;
    if (nsh == 0) { free(sh); return 0; }
    cd_match_signature(sh, nsh, sig);
    free(sh);
    cd_match_bands(sig, bands);
    return 1;
}
