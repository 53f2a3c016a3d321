/* Tests for daemon/checksum.c: CRC-32C's published check values, the CPU's crc32 path equal to
 * the portable table on every length and alignment, and cd_checksum_ok refusing each flipped bit. */
#include <stdint.h>
#include <string.h>
#include "checksum.h"
#include "tap.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;
static uint64_t rng(void)
{
    return tap_xorshift64(&rng_state);
}

static void test_known_values(void)
{
    /* RFC 3720 (iSCSI) B.4 and the usual "123456789" check value of CRC-32C. */
    unsigned char zeros[32] = { 0 }, ones[32], inc[32];
    memset(ones, 0xff, sizeof ones);
    for (int i = 0; i < 32; i++) inc[i] = (unsigned char)i;
    is_int((long long)cd_crc32c("123456789", 9), 0xE3069283LL, "check value of \"123456789\"");
    is_int((long long)cd_crc32c(zeros, 32), 0x8A9136AALL, "32 zero bytes (RFC 3720)");
    is_int((long long)cd_crc32c(ones, 32), 0x62A8AB43LL, "32 0xff bytes (RFC 3720)");
    is_int((long long)cd_crc32c(inc, 32), 0x46DD794ELL, "bytes 0..31 (RFC 3720)");
    is_int((long long)cd_crc32c("", 0), 0, "empty input");
    is_int((long long)cd_crc32c_portable("123456789", 9), 0xE3069283LL, "the table gives the check value too");
}

static void test_paths_agree(void)
{
    static unsigned char buf[4096 + 16];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = (unsigned char)rng();
    int bad = 0, runs = 0;
    for (size_t off = 0; off < 16; off++)
        for (size_t n = 0; n <= 300; n++, runs++)
            if (cd_crc32c(buf + off, n) != cd_crc32c_portable(buf + off, n)) bad++;
    for (int k = 0; k < 200; k++, runs++) {
        size_t off = rng() % 16, n = rng() % 4096;
        if (cd_crc32c(buf + off, n) != cd_crc32c_portable(buf + off, n)) bad++;
    }
    ok(bad == 0, "fast and portable CRC agree on %d buffers of every length 0..300 and offset 0..15 (%d differ)",
       runs, bad);
}

static void test_checksum_ok(void)
{
    unsigned char rec[200];
    for (size_t i = 0; i < 196; i++) rec[i] = (unsigned char)rng();
    cd_checksum_put(rec + 196, rec, 196);
    ok(cd_checksum_ok(rec, sizeof rec), "a record with its checksum passes");
    int caught = 0;
    for (size_t bit = 0; bit < sizeof rec * 8; bit++) {
        rec[bit / 8] ^= (unsigned char)(1u << (bit % 8));
        caught += !cd_checksum_ok(rec, sizeof rec);
        rec[bit / 8] ^= (unsigned char)(1u << (bit % 8));
    }
    is_int(caught, (long long)sizeof rec * 8, "every single flipped bit is caught");
    ok(!cd_checksum_ok(rec, 3), "shorter than a checksum is refused");
}

int main(void)
{
    test_known_values();
    test_paths_agree();
    test_checksum_ok();
    return done_testing();
}
