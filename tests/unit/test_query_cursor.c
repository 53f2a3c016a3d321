/* Unit tests for daemon/query_cursor.c: the claim.query cursor's two forms, its round trip, and
 * the fields no daemon makes (tests/fuzz/fuzz_query_cursor.c checks the same at random). */
#include "tap.h"
#include "bytes.h"
#include "query_cursor.h"

#include <string.h>

static int decodes(int order, int kind, int64_t said, uint64_t id)
{
    cd_query_cursor cur = { order, { 0 } }, back;
    cd_index_key(cur.key, (cd_idx_kind)kind, 42, said, id);
    char hex[CD_QUERY_CURSOR_HEX];
    cd_query_cursor_encode(&cur, hex);
    return cd_query_cursor_decode(hex, sizeof hex, &back) == 0;
}

int main(void)
{
    cd_query_cursor cur = { CD_QUERY_SAID_ASC, { 0 } }, back;
    cd_index_key(cur.key, CD_IDX_SPEAKER, 7, -12345, 99);
    char hex[CD_QUERY_CURSOR_HEX];
    cd_query_cursor_encode(&cur, hex);
    ok(hex[0] == '0' && hex[1] == '1' && hex[2] == '0' && hex[3] == '1', "hex starts with the order and the kind");
    ok(cd_query_cursor_decode(hex, sizeof hex, &back) == 0 && back.order == cur.order &&
       memcmp(back.key, cur.key, CD_IDX_KEY) == 0, "the hex form round-trips");
    unsigned char raw[CD_QUERY_CURSOR_RAW];
    cd_query_cursor_raw(&cur, raw);
    ok(cd_query_cursor_decode(raw, sizeof raw, &back) == 0 && memcmp(back.key, cur.key, CD_IDX_KEY) == 0,
       "the raw 26-byte form decodes to the same cursor");
    ok(cd_query_cursor_decode(hex, sizeof hex - 2, &back) == -1 && cd_query_cursor_decode(hex, 0, &back) == -1,
       "other lengths are refused");
    char upper[CD_QUERY_CURSOR_HEX];
    memcpy(upper, hex, sizeof hex);
    int changed = 0;
    for (size_t i = 0; i < sizeof upper; i++)
        if (upper[i] >= 'a' && upper[i] <= 'f') { upper[i] = (char)(upper[i] - 'a' + 'A'); changed = 1; }
    ok(changed && cd_query_cursor_decode(upper, sizeof upper, &back) == -1, "upper-case hex is refused");
    hex[10] = 'g';
    ok(cd_query_cursor_decode(hex, sizeof hex, &back) == -1, "a non-hex digit is refused");

    ok(decodes(CD_QUERY_SAID_DESC, CD_IDX_LANG, 0, 1), "the last index kind with a said order");
    ok(decodes(CD_QUERY_RECORDED_DESC, CD_IDX_TAG | CD_IDX_BY_RECORDED, 77, 77), "recorded_desc: id in the said slot");
    ok(!decodes(CD_QUERY_ORDERS, CD_IDX_ALL, 0, 1), "an unknown order is refused");
    ok(!decodes(CD_QUERY_SAID_DESC, CD_IDX_LANG + 1, 0, 1), "an unknown index kind is refused");
    ok(!decodes(CD_QUERY_SAID_DESC, CD_IDX_ALL | CD_IDX_BY_RECORDED, 5, 5), "a by-recorded key with a said order is refused");
    ok(!decodes(CD_QUERY_RECORDED_DESC, CD_IDX_ALL, 5, 5), "a said key with recorded_desc is refused");
    ok(!decodes(CD_QUERY_RECORDED_DESC, CD_IDX_BY_RECORDED, 6, 5), "recorded_desc with another said slot is refused");
    ok(!decodes(CD_QUERY_SAID_ASC, CD_IDX_ALL, 0, 0), "claim id 0 is refused");
    ok(!decodes(CD_QUERY_SAID_ASC, CD_IDX_ALL, 0, (uint64_t)INT64_MAX + 1), "an id above INT64_MAX is refused");
    return done_testing();
}
