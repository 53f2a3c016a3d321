/* search_run_codec: chunk keys and values of the search runs (layout in search_runs.h). Pure
 * functions of their bytes (with search_varint.c), so test tools and fuzzers can link them alone. */
#include <string.h>
#include "bytes.h"
#include "search_runs.h"

size_t cd_run_key(unsigned char *out, const unsigned char *tkey, size_t tlen, uint64_t first_id)
{
    memcpy(out, tkey, tlen);
    out[tlen] = 0;
    cd_put_u64be(out + tlen + 1, first_id);
    return tlen + 9;
}

int cd_run_key_term(const MDB_val *k, size_t *tlen)
{
    const unsigned char *p = k->mv_data;
    if (k->mv_size < CD_SEARCH_SPACE + 1 + 9 || k->mv_size > CD_RUN_KEY_MAX || p[k->mv_size - 9] != 0) return -1;
    *tlen = k->mv_size - 9;
    return 0;
}

size_t cd_run_chunk_encode(unsigned char *out, const unsigned char *postings, size_t n, int first, uint64_t df)
{
    unsigned char *p = out;
    uint64_t first_id = cd_get_u64be(postings), last_id = cd_get_u64be(postings + (n - 1) * CD_SEARCH_POSTING);
    unsigned maxtf = 0, minnorm = 255;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *q = postings + i * CD_SEARCH_POSTING;
        if ((q[8] & 0x7f) > maxtf) maxtf = q[8] & 0x7f;
        if (q[9] < minnorm) minnorm = q[9];
    }
    *p++ = first ? 1 : 0;
    if (first) p += cd_search_put_varint(p, df);
    p += cd_search_put_varint(p, n);
    p += cd_search_put_varint(p, last_id - first_id);
    *p++ = (unsigned char)maxtf;
    *p++ = (unsigned char)minnorm;
    uint64_t prev = first_id;
    for (size_t i = 0; i < n; i++) {
        const unsigned char *q = postings + i * CD_SEARCH_POSTING;
        if (i) {
            uint64_t id = cd_get_u64be(q);
            p += cd_search_put_varint(p, id - prev);
            prev = id;
        }
        *p++ = q[8];
        *p++ = q[9];
    }
    return (size_t)(p - out);
}

/* Reads the header fields; *body gets the first posting's bytes. */
static int read_head(const MDB_val *k, const MDB_val *v, cd_run_head *h, const unsigned char **body)
{
    size_t tlen;
    if (cd_run_key_term(k, &tlen) || v->mv_size < 5) return -1;
    const unsigned char *p = v->mv_data, *end = p + v->mv_size;
    uint64_t n, span;
    memset(h, 0, sizeof *h);
    h->first_id = cd_get_u64be((const unsigned char *)k->mv_data + tlen + 1);
    if (*p > 1) return -1;
    h->first = *p++ == 1;
    if (h->first && cd_search_get_varint(&p, end, &h->df)) return -1;
    if (cd_search_get_varint(&p, end, &n) || cd_search_get_varint(&p, end, &span) || n == 0 || n > CD_RUN_CHUNK || end - p < 2) return -1;
    if (span > UINT64_MAX - h->first_id || span < n - 1) return -1;
    h->n = (uint32_t)n;
    h->last_id = h->first_id + span;
    h->maxtf = p[0];
    h->minnorm = p[1];
    *body = p + 2;
    return 0;
}

int cd_run_chunk_head(const MDB_val *k, const MDB_val *v, cd_run_head *h)
{
    const unsigned char *body;
    return read_head(k, v, h, &body);
}

int cd_run_chunk_decode(const MDB_val *k, const MDB_val *v, unsigned char *out, size_t *n)
{
    cd_run_head h;
    const unsigned char *p, *end = (const unsigned char *)v->mv_data + v->mv_size;
    if (read_head(k, v, &h, &p)) return -1;
    uint64_t id = h.first_id;
    const unsigned char *at = p;         /* a local cursor the compiler keeps in a register */
    for (uint32_t i = 0; i < h.n; i++) {
        if (i) {
            uint64_t d;
            if (at < end && *at < 0x80) {
                d = *at++;               /* a one-byte delta: most of a frequent word's */
            } else {
                p = at;
                if (cd_search_get_varint_long(&p, end, &d)) return -1;
                at = p;
            }
            if (d == 0 || d > h.last_id - id) return -1;
            id += d;
        }
        if (end - at < 2) return -1;
        unsigned char *q = out + (size_t)i * CD_SEARCH_POSTING;
        cd_put_u64be(q, id);
        q[8] = at[0];
        q[9] = at[1];
        at += 2;
    }
    p = at;
    /* Every byte accounted for and the span exact: a chunk is read as it was written. */
    if (p != end || id != h.last_id) return -1;
    *n = h.n;
    return 0;
}
