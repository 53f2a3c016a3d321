/* search_varint: the LEB128 varints of forward records and search cursors (search.h). A file of
 * its own so that the cursor decoder links without the text code (tests/fuzz/fuzz_search_cursor.c). */
#include "search.h"

size_t cd_search_put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) { p[n++] = (unsigned char)(v | 0x80); v >>= 7; }
    p[n++] = (unsigned char)v;
    return n;
}

int cd_search_get_varint_long(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return -1;
        unsigned char b = *(*p)++;
        /* Only the shortest spelling: a last byte of 0 after the first adds nothing, and the tenth
         * byte holds bit 63 alone. So decoding and cd_search_put_varint are inverse. */
        if (shift == 63 && b > 1) return -1;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (b == 0 && shift) return -1;
            *v = r;
            return 0;
        }
    }
    return -1;
}
