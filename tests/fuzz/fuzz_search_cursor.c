/* Fuzz harness for the claim.search cursor decoder, daemon/search/search_cursor.c (make
 * fuzz-search_cursor; tests/fuzz/standalone.c gives it a main without libFuzzer). It links only
 * search_cursor.c and search_varint.c. Seeds in tests/fuzz/corpus/search_cursor are cursors a
 * daemon returned, over one and several language spaces.
 *
 * Beyond "no crash", two properties:
 * - round trip: a cursor the decoder accepts encodes back to exactly the hex it came from (so
 *   every field has one spelling: lower-case digits, shortest varints);
 * - range: the decoder accepts exactly the cursors cursor_in_range() below describes (the ones
 *   a daemon can make), checked on cursors built from the input read as fields. The input is
 *   also decoded as it is (hex) and as the hex of its bytes (every byte string). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "search.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "fuzz_search_cursor: check failed at line %d: %s\n", __LINE__, #cond); \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

#define SPACES_MAX 4096   /* the decoder's limit (search_cursor.c) */

static int lower(char ch) { return ch >= 'a' && ch <= 'z'; }

/* A language space key as cd_search_space_of makes them: all NUL, or 2-3 lower-case letters. */
static int tag_in_range(const char *t)
{
    if (!t[0] && !t[1] && !t[2]) return 1;
    return lower(t[0]) && lower(t[1]) && (!t[2] || lower(t[2]));
}

/* What claim.search can put in a cursor, stated apart from the decoder: the last hit's score (a
 * BM25 sum: finite, not negative) and id (1..max_id, claims after max_id are never hits); the
 * active spaces, at least one, in search_langs key order without repeats, each with 1..32
 * clauses of which every one has postings (df >= 1). */
static int cursor_in_range(const cd_search_cursor *c)
{
    if (!isfinite(c->score) || !(c->score >= 0) || c->id == 0 || c->id > c->max_id) return 0;
    if (c->nspaces == 0 || c->nspaces > SPACES_MAX) return 0;
    for (size_t i = 0; i < c->nspaces; i++) {
        const cd_search_frozen *s = &c->spaces[i];
        if (!tag_in_range(s->tag) || (i && memcmp(c->spaces[i - 1].tag, s->tag, CD_SEARCH_SPACE) >= 0)) return 0;
        if (s->nclauses < 1 || s->nclauses > CD_SEARCH_CLAUSES_MAX) return 0;
        for (int j = 0; j < s->nclauses; j++)
            if (s->df[j] == 0) return 0;
    }
    return 1;
}

static int same_cursor(const cd_search_cursor *a, const cd_search_cursor *b)
{
    if (a->qhash != b->qhash || memcmp(&a->score, &b->score, sizeof a->score) != 0 || a->id != b->id ||
        a->max_id != b->max_id || a->nspaces != b->nspaces)
        return 0;
    for (size_t i = 0; i < a->nspaces; i++) {
        const cd_search_frozen *x = &a->spaces[i], *y = &b->spaces[i];
        if (memcmp(x->tag, y->tag, 4) != 0 || x->ndocs != y->ndocs || x->ntokens != y->ntokens ||
            x->nclauses != y->nclauses || memcmp(x->df, y->df, (size_t)x->nclauses * sizeof x->df[0]) != 0)
            return 0;
    }
    return 1;
}

/* Decodes hex[0..n) and checks both properties; returns whether it was accepted (the decoded
 * cursor in *out, to be freed, when out is not NULL). */
static int decode_checked(const char *hex, size_t n, cd_search_cursor *out)
{
    cd_search_cursor cur;
    if (cd_search_cursor_decode(hex, n, &cur) != 0) {
        CHECK(cur.spaces == NULL && cur.nspaces == 0);   /* nothing left to free */
        return 0;
    }
    CHECK(cursor_in_range(&cur));
    size_t len = 0;
    char *again = cd_search_cursor_encode(&cur, &len);
    CHECK(again && len == n && memcmp(again, hex, n) == 0);
    free(again);
    if (out) *out = cur;
    else cd_search_cursor_free(&cur);
    return 1;
}

/* Reads the input as a stream of fields; 0 once it is used up. */
typedef struct { const uint8_t *p, *end; } reader;

static unsigned take_byte(reader *r) { return r->p < r->end ? *r->p++ : 0; }

static uint64_t take_u64(reader *r, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) v = v << 8 | take_byte(r);
    return v;
}

/* A tag byte: mostly letters and NUL, sometimes what a space key never holds. */
static char take_tag_char(reader *r)
{
    static const char odd[] = { 'A', 'Z', '-', '0', '\x7f', '\xff', '`', '{' };
    unsigned b = take_byte(r) % 36;
    return b == 0 || b == 35 ? 0 : b <= 26 ? (char)('a' + b - 1) : odd[b - 27];
}

static void check_fields(const uint8_t *data, size_t size)
{
    static cd_search_frozen spaces[8];
    reader r = { data, data + size };
    cd_search_cursor c;
    memset(spaces, 0, sizeof spaces);
    c.qhash = take_u64(&r, 8);
    unsigned shape = take_byte(&r);
    uint64_t bits = take_u64(&r, 8);
    /* Half the time a plain positive score; else whatever the bits say (NaN, inf, negative, 0). */
    if (shape & 1) memcpy(&c.score, &bits, sizeof c.score);
    else c.score = (double)(bits % 1000000 + (shape & 2 ? 0 : 1)) / 64.0;
    c.id = take_u64(&r, 1 + take_byte(&r) % 8);
    c.max_id = shape & 4 ? take_u64(&r, 1 + take_byte(&r) % 8) : c.id + take_byte(&r);
    c.nspaces = take_byte(&r) % 9;
    c.spaces = spaces;
    for (size_t i = 0; i < c.nspaces; i++) {
        cd_search_frozen *s = &spaces[i];
        for (int k = 0; k < 3; k++) s->tag[k] = take_tag_char(&r);
        s->ndocs = take_u64(&r, take_byte(&r) % 9);
        s->ntokens = take_u64(&r, take_byte(&r) % 9);
        s->nclauses = (int)(take_byte(&r) % (CD_SEARCH_CLAUSES_MAX + 1));
        for (int j = 0; j < s->nclauses; j++) s->df[j] = take_u64(&r, take_byte(&r) % 4);
    }
    size_t len = 0;
    char *hex = cd_search_cursor_encode(&c, &len);
    CHECK(hex != NULL);
    cd_search_cursor back;
    int accepted = decode_checked(hex, len, &back);
    CHECK(accepted == cursor_in_range(&c));
    if (accepted) {
        CHECK(same_cursor(&c, &back));
        cd_search_cursor_free(&back);
    }
    free(hex);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > (1 << 16)) return 0;
    (void)decode_checked((const char *)data, size, NULL);

    char *hex = malloc(2 * size + 1);
    CHECK(hex != NULL);
    for (size_t i = 0; i < size; i++) {
        hex[2 * i] = "0123456789abcdef"[data[i] >> 4];
        hex[2 * i + 1] = "0123456789abcdef"[data[i] & 15];
    }
    (void)decode_checked(hex, 2 * size, NULL);
    free(hex);

    check_fields(data, size);
    return 0;
}
