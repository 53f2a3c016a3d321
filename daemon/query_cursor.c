/* query_cursor: encoding and decoding the claim.query cursor (query_cursor.h). */
#include <stdint.h>
#include <string.h>
#include "bytes.h"
#include "query_cursor.h"

void cd_query_cursor_raw(const cd_query_cursor *cur, unsigned char raw[CD_QUERY_CURSOR_RAW])
{
    raw[0] = (unsigned char)cur->order;
    memcpy(raw + 1, cur->key, CD_IDX_KEY);
}

void cd_query_cursor_encode(const cd_query_cursor *cur, char hex[CD_QUERY_CURSOR_HEX])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char raw[CD_QUERY_CURSOR_RAW];
    cd_query_cursor_raw(cur, raw);
    for (size_t i = 0; i < CD_QUERY_CURSOR_RAW; i++) {
        hex[2 * i] = digits[raw[i] >> 4];
        hex[2 * i + 1] = digits[raw[i] & 15];
    }
}

/* Lower-case only: the daemon never makes upper-case digits, and one spelling per cursor keeps
 * decode and encode inverse. */
static int hex_decode(const char *in, size_t n, unsigned char *out)
{
    for (size_t i = 0; i < n; i++) {
        char ch = in[i];
        int v = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
        if (v < 0) return -1;
        if (i % 2 == 0) out[i / 2] = (unsigned char)(v << 4);
        else out[i / 2] |= (unsigned char)v;
    }
    return 0;
}

int cd_query_cursor_decode(const void *p, size_t n, cd_query_cursor *cur)
{
    unsigned char raw[CD_QUERY_CURSOR_RAW];
    if (n == CD_QUERY_CURSOR_RAW) memcpy(raw, p, CD_QUERY_CURSOR_RAW);
    else if (n != CD_QUERY_CURSOR_HEX || hex_decode(p, n, raw) < 0) return -1;
    /* Only what claim.query makes: an order it knows and the key of an index entry (a known
     * kind, by-recorded exactly for recorded_desc with the id in its said slot, a claim id). */
    const unsigned char *key = raw + 1;
    int recorded = (key[0] & CD_IDX_BY_RECORDED) != 0;
    uint64_t id = cd_get_u64be(key + 17);
    if (raw[0] >= CD_QUERY_ORDERS || (key[0] & ~CD_IDX_BY_RECORDED) > CD_IDX_LANG) return -1;
    if (recorded != (raw[0] == CD_QUERY_RECORDED_DESC)) return -1;
    if (id == 0 || id > INT64_MAX || (recorded && cd_get_i64key(key + 9) != (int64_t)id)) return -1;
    cur->order = raw[0];
    memcpy(cur->key, key, CD_IDX_KEY);
    return 0;
}
