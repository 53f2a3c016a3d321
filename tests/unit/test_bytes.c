/* Tests for common/bytes.h: big-endian layout, round trips, and that memcmp order of the encoded
 * keys is numeric order (what LMDB's default comparator relies on), negatives included. */
#include <stdint.h>
#include <string.h>
#include "bytes.h"
#include "tap.h"

/* xorshift64: a fixed-seed generator, so failures reproduce. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rng(void)
{
    return tap_xorshift64(&rng_state);
}

/* Random values spread over all magnitudes, not only huge ones. */
static uint64_t rng_value(void)
{
    return rng() >> (rng() % 64);
}

static int sign(long long x) { return (x > 0) - (x < 0); }

static void test_layout(void)
{
    unsigned char b[8];
    cd_put_u64be(b, 0x0102030405060708ULL);
    ok(memcmp(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8) == 0, "u64 stored most significant first");
    cd_put_u32be(b, 0xa1b2c3d4u);
    ok(memcmp(b, "\xa1\xb2\xc3\xd4", 4) == 0, "u32 stored most significant first");
    cd_put_i64key(b, 0);
    ok(memcmp(b, "\x80\0\0\0\0\0\0\0", 8) == 0, "i64 key of 0 is 80 00..00");
    cd_put_i64key(b, -1);
    ok(memcmp(b, "\x7f\xff\xff\xff\xff\xff\xff\xff", 8) == 0, "i64 key of -1 is 7f ff..ff");
    cd_put_i64key(b, INT64_MIN);
    ok(memcmp(b, "\0\0\0\0\0\0\0\0", 8) == 0, "i64 key of INT64_MIN is all zero");
}

static void test_round_trips(void)
{
    static const uint64_t u64s[] = { 0, 1, 0xff, 0x100, 0xffffffffULL, 0x100000000ULL,
                                     0x8000000000000000ULL, UINT64_MAX };
    static const int64_t i64s[] = { INT64_MIN, INT64_MIN + 1, -1000000, -1, 0, 1, 1000000,
                                    INT64_MAX - 1, INT64_MAX };
    unsigned char b[8];
    int bad = 0;
    for (size_t i = 0; i < sizeof u64s / sizeof u64s[0]; i++) {
        cd_put_u64be(b, u64s[i]);
        if (cd_get_u64be(b) != u64s[i]) bad++;
        cd_put_u32be(b, (uint32_t)u64s[i]);
        if (cd_get_u32be(b) != (uint32_t)u64s[i]) bad++;
    }
    for (size_t i = 0; i < sizeof i64s / sizeof i64s[0]; i++) {
        cd_put_i64key(b, i64s[i]);
        if (cd_get_i64key(b) != i64s[i]) bad++;
    }
    for (int i = 0; i < 10000; i++) {
        uint64_t v = rng();
        cd_put_u64be(b, v);
        if (cd_get_u64be(b) != v) bad++;
        cd_put_i64key(b, (int64_t)v);
        if (cd_get_i64key(b) != (int64_t)v) bad++;
        cd_put_u32be(b, (uint32_t)v);
        if (cd_get_u32be(b) != (uint32_t)v) bad++;
    }
    is_int(bad, 0, "u64, u32 and i64-key round trips (edge values and 10000 random)");
}

static void test_ordering(void)
{
    unsigned char x[8], y[8];
    int bad_u64 = 0, bad_u32 = 0, bad_i64 = 0;
    for (int i = 0; i < 100000; i++) {
        uint64_t a = rng_value(), c = i % 10 ? rng_value() : a;   /* some equal pairs */
        cd_put_u64be(x, a);
        cd_put_u64be(y, c);
        if (sign(memcmp(x, y, 8)) != (a > c) - (a < c)) bad_u64++;
        cd_put_u32be(x, (uint32_t)a);
        cd_put_u32be(y, (uint32_t)c);
        if (sign(memcmp(x, y, 4)) != ((uint32_t)a > (uint32_t)c) - ((uint32_t)a < (uint32_t)c))
            bad_u32++;
        int64_t sa = (int64_t)(rng() & 1 ? a : -a), sc = (int64_t)(rng() & 1 ? c : -c);
        cd_put_i64key(x, sa);
        cd_put_i64key(y, sc);
        if (sign(memcmp(x, y, 8)) != (sa > sc) - (sa < sc)) bad_i64++;
    }
    is_int(bad_u64, 0, "memcmp order of u64 keys is numeric order");
    is_int(bad_u32, 0, "memcmp order of u32 keys is numeric order");
    is_int(bad_i64, 0, "memcmp order of i64 keys is numeric order, negatives included");

    static const int64_t ladder[] = { INT64_MIN, -62135596800000000LL, -1000000, -2, -1, 0, 1,
                                      2, 1533726309000000LL, INT64_MAX };
    int sorted = 1;
    for (size_t i = 1; i < sizeof ladder / sizeof ladder[0]; i++) {
        cd_put_i64key(x, ladder[i - 1]);
        cd_put_i64key(y, ladder[i]);
        if (memcmp(x, y, 8) >= 0) sorted = 0;
    }
    ok(sorted, "i64 keys from INT64_MIN through pre-1970 times to INT64_MAX sort ascending");
}

int main(void)
{
    test_layout();
    test_round_trips();
    test_ordering();
    return done_testing();
}
