/* search_codec: the byte formats of the search index (spaces, norms, postings, keys,
 * forward records) and the BM25 arithmetic. Pure functions: no LMDB, no calls. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "search.h"
#include "text_internal.h"

void cd_search_space_of(const char *lang, size_t n, char tag[4])
{
    char buf[40];
    memset(tag, 0, 4);
    if (!lang || n == 0 || n >= sizeof buf) return;
    memcpy(buf, lang, n);
    buf[n] = 0;
    cd_text_lang_primary(buf, tag);
    /* cd_text_lang_primary leaves bytes after its NUL alone: keep the key padding zero. */
    size_t l = strlen(tag);
    if (l < 2) l = 0;
    memset(tag + l, 0, 4 - l);
}

const char *cd_search_space_lang(const char tag[4])
{
    return tag[0] ? tag : NULL;
}

/* Codes 0..63 are exact counts; above, code 64 + 20*log2(count/64) (rounded down), at most 255. */
uint8_t cd_search_norm_encode(uint32_t tokens)
{
    if (tokens < 64) return (uint8_t)tokens;
    int code = 64 + (int)floor(20.0 * log2(tokens / 64.0));
    if (code > 255) code = 255;
    /* Settle rounding at bucket edges so that decode(encode(n)) <= n < decode(encode(n) + 1). */
    while (code > 64 && cd_search_norm_decode((uint8_t)code) > tokens) code--;
    while (code < 255 && cd_search_norm_decode((uint8_t)(code + 1)) <= tokens) code++;
    return (uint8_t)code;
}

uint32_t cd_search_norm_decode(uint8_t code)
{
    if (code < 64) return code;
    return (uint32_t)ceil(64.0 * exp2((code - 64) / 20.0));
}

void cd_search_posting(unsigned char out[CD_SEARCH_POSTING], uint64_t id, uint32_t tf, int retracted,
                       uint8_t norm)
{
    cd_put_u64be(out, id);
    out[8] = (unsigned char)((tf > CD_SEARCH_TF_MAX ? CD_SEARCH_TF_MAX : tf) | (retracted ? CD_SEARCH_RETRACTED : 0));
    out[9] = norm;
}

size_t cd_search_term_key(unsigned char *key, const char tag[4], const char *term, size_t len)
{
    if (len > CD_TEXT_TERM_MAX) len = CD_TEXT_TERM_MAX;
    memcpy(key, tag, CD_SEARCH_SPACE);
    memcpy(key + CD_SEARCH_SPACE, term, len);
    return CD_SEARCH_SPACE + len;
}

double cd_search_idf(uint64_t ndocs, uint64_t df)
{
    double idf = log(1.0 + ((double)ndocs - (double)df + 0.5) / ((double)df + 0.5));
    return idf > 1e-6 ? idf : 1e-6;
}

void cd_search_norm_table(double k[256], uint64_t ndocs, uint64_t ntokens)
{
    double avg = ndocs && ntokens ? (double)ntokens / (double)ndocs : 1.0;
    for (int i = 0; i < 256; i++)
        k[i] = CD_SEARCH_BM25_K1 * (1.0 - CD_SEARCH_BM25_B + CD_SEARCH_BM25_B * cd_search_norm_decode((uint8_t)i) / avg);
}

/* ---- documents ---- */

static int doc_add(const cd_token *tok, void *ud)
{
    cd_search_doc *d = ud;
    if (d->terms_n + tok->len > d->terms_cap) {
        size_t cap = d->terms_cap ? d->terms_cap * 2 : 512;
        while (cap < d->terms_n + tok->len) cap *= 2;
        char *t = realloc(d->terms, cap);
        if (!t) return -1;
        d->terms = t;
        d->terms_cap = cap;
    }
    if (d->ntoks == d->toks_cap) {
        size_t cap = d->toks_cap ? d->toks_cap * 2 : 64;
        cd_search_tok *t = realloc(d->toks, cap * sizeof *t);
        if (!t) return -1;
        d->toks = t;
        d->toks_cap = cap;
    }
    memcpy(d->terms + d->terms_n, tok->term, tok->len);
    d->toks[d->ntoks++] = (cd_search_tok){ (uint32_t)d->terms_n, (uint32_t)tok->len, tok->pos };
    d->terms_n += tok->len;
    d->tokens = tok->pos + 1;
    return 0;
}

/* qsort has no context argument: the terms being sorted, per thread (writer and loop both sort). */
static _Thread_local const char *sort_terms;

static int tok_cmp(const void *a, const void *b)
{
    const cd_search_tok *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int r = memcmp(sort_terms + x->off, sort_terms + y->off, n);
    if (r) return r;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static int same_term(const cd_search_doc *d, const cd_search_tok *a, const cd_search_tok *b)
{
    return a->len == b->len && memcmp(d->terms + a->off, d->terms + b->off, a->len) == 0;
}

int cd_search_doc_build(cd_search_doc *d, const char *text, size_t n, const char *lang)
{
    d->terms_n = d->ntoks = 0;
    d->tokens = 0;
    if (cd_text_tokenize(text, n, lang, doc_add, d) != 0) return -1;
    if (d->ntoks > 1) {
        sort_terms = d->terms;
        qsort(d->toks, d->ntoks, sizeof *d->toks, tok_cmp);
        sort_terms = NULL;
    }
    return 0;
}

void cd_search_doc_free(cd_search_doc *d)
{
    free(d->terms);
    free(d->toks);
    memset(d, 0, sizeof *d);
}

unsigned char *cd_search_fwd_encode(const cd_search_doc *d, const char tag[4], int retracted, size_t *len)
{
    /* Worst case: header, and per token a length, a tf and a position of 10 bytes each + the term. */
    size_t cap = 4 + 20 + d->terms_n + d->ntoks * 30;
    unsigned char *buf = malloc(cap), *p = buf;
    if (!buf) return NULL;
    memcpy(p, tag, CD_SEARCH_SPACE);
    p[3] = retracted ? 1 : 0;
    p += 4;
    size_t nterms = 0;
    for (size_t i = 0; i < d->ntoks; i++)
        if (i == 0 || !same_term(d, &d->toks[i - 1], &d->toks[i])) nterms++;
    p += cd_search_put_varint(p, d->tokens);
    p += cd_search_put_varint(p, nterms);
    for (size_t i = 0; i < d->ntoks;) {
        size_t j = i;
        while (j < d->ntoks && same_term(d, &d->toks[i], &d->toks[j])) j++;
        p += cd_search_put_varint(p, d->toks[i].len);
        memcpy(p, d->terms + d->toks[i].off, d->toks[i].len);
        p += d->toks[i].len;
        p += cd_search_put_varint(p, j - i);
        uint32_t last = 0;
        for (size_t k = i; k < j; k++) {
            p += cd_search_put_varint(p, d->toks[k].pos - last);
            last = d->toks[k].pos;
        }
        i = j;
    }
    *len = (size_t)(p - buf);
    return buf;
}

int cd_search_fwd_open(cd_search_fwd *f, const void *rec, size_t n)
{
    const unsigned char *p = rec, *end = p + n;
    uint64_t tokens;
    if (n < 4) return -1;
    memcpy(f->tag, p, CD_SEARCH_SPACE);
    f->tag[3] = 0;
    f->retracted = p[3] & 1;
    p += 4;
    if (cd_search_get_varint(&p, end, &tokens) || cd_search_get_varint(&p, end, &f->nterms) ||
        tokens > UINT32_MAX)
        return -1;
    f->tokens = (uint32_t)tokens;
    f->p = p;
    f->end = end;
    return 0;
}

int cd_search_fwd_next(cd_search_fwd *f, cd_search_fwd_term *t)
{
    uint64_t len, tf, delta;
    if (f->p == f->end) return 0;
    if (cd_search_get_varint(&f->p, f->end, &len) || len > (uint64_t)(f->end - f->p)) return -1;
    t->term = (const char *)f->p;
    t->len = (size_t)len;
    f->p += len;
    if (cd_search_get_varint(&f->p, f->end, &tf) || tf == 0 || tf > UINT32_MAX) return -1;
    t->tf = (uint32_t)tf;
    t->pos = f->p;
    for (uint64_t i = 0; i < tf; i++)
        if (cd_search_get_varint(&f->p, f->end, &delta)) return -1;
    t->pos_end = f->p;
    return 1;
}

size_t cd_search_fwd_positions(const cd_search_fwd_term *t, uint32_t *out, size_t max)
{
    const unsigned char *p = t->pos;
    uint64_t pos = 0, delta;
    size_t n = 0;
    while (n < max && p < t->pos_end && cd_search_get_varint(&p, t->pos_end, &delta) == 0) {
        pos += delta;
        out[n++] = (uint32_t)pos;
    }
    return n;
}
