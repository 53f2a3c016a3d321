/* index_run_codec: the chunks of the claim index runs (index_runs.h). Pure functions, unit-tested
 * in tests/unit/test_index_runs.c. */
#include <string.h>
#include "bytes.h"
#include "index_runs.h"
#include "search.h"

#define SAID_AT 9                    /* offsets in a 25-byte entry */
#define ID_AT 17

/* Whether entry e's said slot holds its id (the recorded-order kinds): then a chunk stores one
 * delta an entry instead of two. */
static int said_is_id(const unsigned char *e)
{
    unsigned char said[8];
    cd_put_i64key(said, (int64_t)cd_get_u64be(e + ID_AT));
    return memcmp(said, e + SAID_AT, 8) == 0;
}

static uint64_t zigzag(uint64_t d) { return (d << 1) ^ (uint64_t)-(int64_t)(d >> 63); }
static uint64_t unzigzag(uint64_t z) { return (z >> 1) ^ (uint64_t)-(int64_t)(z & 1); }

size_t cd_ixrun_chunk_encode(unsigned char *out, const unsigned char *entries, size_t n)
{
    int mode = 1;
    for (size_t i = 0; i < n && mode; i++) mode = said_is_id(entries + i * CD_IDX_KEY);
    unsigned char *p = out;
    *p++ = (unsigned char)mode;
    p += cd_search_put_varint(p, n);
    for (size_t i = 1; i < n; i++) {
        const unsigned char *prev = entries + (i - 1) * CD_IDX_KEY, *e = entries + i * CD_IDX_KEY;
        uint64_t did = cd_get_u64be(e + ID_AT) - cd_get_u64be(prev + ID_AT);
        if (mode) {
            p += cd_search_put_varint(p, did);
        } else {
            p += cd_search_put_varint(p, cd_get_u64be(e + SAID_AT) - cd_get_u64be(prev + SAID_AT));
            p += cd_search_put_varint(p, zigzag(did));
        }
    }
    return (size_t)(p - out);
}

int cd_ixrun_chunk_decode(const MDB_val *k, const MDB_val *v, unsigned char *out, size_t *n)
{
    const unsigned char *p = v->mv_data, *end = p + v->mv_size;
    uint64_t count;
    *n = 0;
    if (k->mv_size != CD_IDX_KEY || v->mv_size < 2 || p[0] > 1) return -1;
    int mode = *p++;
    if (cd_search_get_varint(&p, end, &count) || count < 1 || count > CD_IXRUN_CHUNK) return -1;
    memcpy(out, k->mv_data, CD_IDX_KEY);
    if (mode && !said_is_id(out)) return -1;
    uint64_t said = cd_get_u64be(out + SAID_AT), id = cd_get_u64be(out + ID_AT);
    for (size_t i = 1; i < count; i++) {
        uint64_t ds = 0, did;
        if (mode) {
            if (cd_search_get_varint(&p, end, &did) || did == 0 || id + did < id) return -1;
        } else {
            if (cd_search_get_varint(&p, end, &ds) || cd_search_get_varint(&p, end, &did) || said + ds < said) return -1;
            did = unzigzag(did);
            if (ds == 0 && (did == 0 || did >> 63)) return -1;     /* same said: ids must increase */
        }
        said += ds;
        id += did;
        unsigned char *e = out + i * CD_IDX_KEY;
        memcpy(e, out, SAID_AT);
        if (mode) cd_put_i64key(e + SAID_AT, (int64_t)id);
        else cd_put_u64be(e + SAID_AT, said);
        cd_put_u64be(e + ID_AT, id);
    }
    if (p != end) return -1;
    *n = (size_t)count;
    return 0;
}
