/* Fuzz harness for the claim.query cursor decoder, daemon/query_cursor.c (make fuzz-query_cursor;
 * tests/fuzz/standalone.c gives it a main without libFuzzer). Seeds in tests/fuzz/corpus/query_cursor
 * are cursors a daemon returned (hex), and some in their raw 26-byte form.
 *
 * Beyond "no crash", two properties:
 * - round trip: a cursor the decoder accepts encodes back to exactly the bytes it came from (the
 *   hex form to the same hex, the raw form to the same raw bytes), so a cursor has one spelling;
 * - range: the decoder accepts exactly the cursors cursor_in_range() below describes (the ones a
 *   daemon can make), checked on the input as it is and on the input read as a cursor's fields,
 *   in both forms, and with its hex digits upper-cased (never made, so refused). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "query_cursor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                              \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz_query_cursor: check failed at line %d: %s\n", __LINE__, #cond); \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

/* What claim.query can put in a cursor, stated apart from the decoder: an order it knows; the
 * key of an index entry (a kind up to CD_IDX_LANG, with the by-recorded flag exactly for
 * recorded_desc, whose said slot then holds the id); a claim id (ids start at 1). */
static int cursor_in_range(const unsigned char raw[CD_QUERY_CURSOR_RAW])
{
    const unsigned char *key = raw + 1;
    int order = raw[0], kind = key[0] & ~CD_IDX_BY_RECORDED, recorded = (key[0] & CD_IDX_BY_RECORDED) != 0;
    uint64_t id = cd_get_u64be(key + 17);
    if (order >= CD_QUERY_ORDERS || kind > CD_IDX_LANG) return 0;
    if (recorded != (order == CD_QUERY_RECORDED_DESC)) return 0;
    if (id == 0 || id > INT64_MAX) return 0;
    if (recorded && cd_get_i64key(key + 9) != (int64_t)id) return 0;
    return 1;
}

static void to_hex(const unsigned char *raw, size_t n, char *hex, int upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    for (size_t i = 0; i < n; i++) { hex[2 * i] = digits[raw[i] >> 4]; hex[2 * i + 1] = digits[raw[i] & 15]; }
}

/* Decodes p[0..n) and checks both properties; returns whether it was accepted. */
static int decode_checked(const void *p, size_t n)
{
    cd_query_cursor cur;
    memset(&cur, 0xa5, sizeof cur);
    if (cd_query_cursor_decode(p, n, &cur) != 0) return 0;
    unsigned char raw[CD_QUERY_CURSOR_RAW];
    char hex[CD_QUERY_CURSOR_HEX];
    cd_query_cursor_raw(&cur, raw);
    CHECK(cur.order >= 0 && cur.order < CD_QUERY_ORDERS);
    CHECK(cursor_in_range(raw));
    if (n == CD_QUERY_CURSOR_RAW) {
        CHECK(memcmp(raw, p, n) == 0);
    } else {
        CHECK(n == CD_QUERY_CURSOR_HEX);
        cd_query_cursor_encode(&cur, hex);
        CHECK(memcmp(hex, p, n) == 0);
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The input as a client would send it. */
    (void)decode_checked(data, size);

    /* The input as fields: its first 26 bytes (zero-padded), then its hex forms. */
    unsigned char raw[CD_QUERY_CURSOR_RAW] = { 0 };
    memcpy(raw, data, size < sizeof raw ? size : sizeof raw);
    int valid = cursor_in_range(raw);
    CHECK(decode_checked(raw, sizeof raw) == valid);
    char hex[CD_QUERY_CURSOR_HEX];
    to_hex(raw, sizeof raw, hex, 0);
    CHECK(decode_checked(hex, sizeof hex) == valid);
    to_hex(raw, sizeof raw, hex, 1);
    int has_letter = 0;
    for (size_t i = 0; i < sizeof hex; i++) has_letter |= hex[i] >= 'A' && hex[i] <= 'F';
    if (has_letter) CHECK(decode_checked(hex, sizeof hex) == 0);
    return 0;
}
