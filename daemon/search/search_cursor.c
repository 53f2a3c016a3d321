/* search_cursor: the claim.search cursor, an opaque hex string:
 *   version(1)=1 qhash(8) score(8, IEEE 754 bits) id(8) max_id(8) nspaces(v)
 *   then per space: tag(3) ndocs(v) ntokens(v) nclauses(v) df(v) x nclauses
 * It carries the statistics the first page was scored with, so later pages compute the very same
 * scores and continue strictly after (score, id) of the last hit returned.
 * The decoder takes only what pack_cursor (m_search.c) can make, each in its one spelling
 * (lower-case hex, shortest varints): a finite score >= 0, 1 <= id <= max_id, 1..4096 spaces
 * in key order without repeats, each a space key (all NUL, or 2-3 lower-case letters) with
 * 1..CD_SEARCH_CLAUSES_MAX clauses that all have postings (df >= 1). Anything else was not made by
 * a daemon, and would only make the evaluator score nonsense (a space twice: every hit twice). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "search.h"

#define CURSOR_VERSION 1
#define CURSOR_SPACES_MAX 4096

char *cd_search_cursor_encode(const cd_search_cursor *cur, size_t *len)
{
    size_t cap = 1 + 32 + 10 + cur->nspaces * (3 + 30 + 10 + 10 * CD_SEARCH_CLAUSES_MAX);
    unsigned char *raw = malloc(cap), *p = raw;
    if (!raw) return NULL;
    uint64_t bits;
    memcpy(&bits, &cur->score, sizeof bits);
    *p++ = CURSOR_VERSION;
    cd_put_u64be(p, cur->qhash); p += 8;
    cd_put_u64be(p, bits); p += 8;
    cd_put_u64be(p, cur->id); p += 8;
    cd_put_u64be(p, cur->max_id); p += 8;
    p += cd_search_put_varint(p, cur->nspaces);
    for (size_t i = 0; i < cur->nspaces; i++) {
        const cd_search_frozen *s = &cur->spaces[i];
        memcpy(p, s->tag, CD_SEARCH_SPACE); p += CD_SEARCH_SPACE;
        p += cd_search_put_varint(p, s->ndocs);
        p += cd_search_put_varint(p, s->ntokens);
        p += cd_search_put_varint(p, (uint64_t)s->nclauses);
        for (int j = 0; j < s->nclauses; j++) p += cd_search_put_varint(p, s->df[j]);
    }
    size_t n = (size_t)(p - raw);
    char *hex = malloc(2 * n + 1);
    if (hex) {
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) { hex[2 * i] = digits[raw[i] >> 4]; hex[2 * i + 1] = digits[raw[i] & 15]; }
        hex[2 * n] = 0;
        *len = 2 * n;
    }
    free(raw);
    return hex;
}

/* Lower-case only: the encoder writes no other, and one spelling keeps decode and encode inverse. */
static int hexval(char ch)
{
    return ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

static int is_lower(char ch) { return ch >= 'a' && ch <= 'z'; }

/* A language space key as cd_search_space_of makes them. */
static int space_key_valid(const char *t)
{
    if (!t[0] && !t[1] && !t[2]) return 1;
    return is_lower(t[0]) && is_lower(t[1]) && (!t[2] || is_lower(t[2]));
}

static int parse(const unsigned char *p, const unsigned char *end, cd_search_cursor *cur)
{
    uint64_t bits, n, v;
    if (end - p < 33 || *p++ != CURSOR_VERSION) return -1;
    cur->qhash = cd_get_u64be(p); p += 8;
    bits = cd_get_u64be(p); p += 8;
    memcpy(&cur->score, &bits, sizeof bits);
    cur->id = cd_get_u64be(p); p += 8;
    cur->max_id = cd_get_u64be(p); p += 8;
    if (!isfinite(cur->score) || !(cur->score >= 0)) return -1;  /* a BM25 sum: finite, not negative */
    if (cur->id == 0 || cur->id > cur->max_id) return -1;        /* hits are claims 1..max_id */
    if (cd_search_get_varint(&p, end, &n) || n == 0 || n > CURSOR_SPACES_MAX) return -1;
    cur->spaces = calloc(n ? n : 1, sizeof *cur->spaces);
    if (!cur->spaces) return -1;
    cur->nspaces = (size_t)n;
    for (size_t i = 0; i < cur->nspaces; i++) {
        cd_search_frozen *s = &cur->spaces[i];
        if (end - p < CD_SEARCH_SPACE) return -1;
        memcpy(s->tag, p, CD_SEARCH_SPACE);
        s->tag[3] = 0;
        p += CD_SEARCH_SPACE;
        if (!space_key_valid(s->tag) || (i && memcmp(cur->spaces[i - 1].tag, s->tag, CD_SEARCH_SPACE) >= 0))
            return -1;
        if (cd_search_get_varint(&p, end, &s->ndocs) || cd_search_get_varint(&p, end, &s->ntokens) ||
            cd_search_get_varint(&p, end, &v) || v == 0 || v > CD_SEARCH_CLAUSES_MAX)
            return -1;
        s->nclauses = (int)v;
        for (int j = 0; j < s->nclauses; j++)
            if (cd_search_get_varint(&p, end, &s->df[j]) || s->df[j] == 0) return -1;
    }
    return p == end ? 0 : -1;
}

int cd_search_cursor_decode(const char *hex, size_t n, cd_search_cursor *cur)
{
    memset(cur, 0, sizeof *cur);
    if (n == 0 || n % 2) return -1;
    unsigned char *raw = malloc(n / 2);
    if (!raw) return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval(hex[i]), lo = hexval(hex[i + 1]);
        if (hi < 0 || lo < 0) { free(raw); return -1; }
        raw[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    int rc = parse(raw, raw + n / 2, cur);
    free(raw);
    if (rc) cd_search_cursor_free(cur);
    return rc;
}

void cd_search_cursor_free(cd_search_cursor *cur)
{
    free(cur->spaces);
    cur->spaces = NULL;
    cur->nspaces = 0;
}
