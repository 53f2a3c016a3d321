/* checksum: CRC-32C, reflected polynomial 0x82F63B78. Every record read checks one (a get, each
 * of a query's 20 claims and their entities), so it is computed with the CPU's crc32
 * instruction where there is one (SSE 4.2 computes exactly this polynomial, 8 bytes a step),
 * else with a table one byte at a time. Both give the same value: it is part of the format. */
#include <pthread.h>
#include <string.h>
#include "checksum.h"

static uint32_t table[256];
static uint32_t (*crc_impl)(uint32_t c, const unsigned char *s, size_t n);
static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static uint32_t crc_table(uint32_t c, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) c = table[(c ^ s[i]) & 0xFF] ^ (c >> 8);
    return c;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
__attribute__((target("sse4.2"))) static uint32_t crc_sse42(uint32_t c, const unsigned char *s, size_t n)
{
    uint64_t c64 = c;
    for (; n >= 8; s += 8, n -= 8) {
        uint64_t w;
        memcpy(&w, s, 8);              /* little-endian load: the reflected CRC's byte order */
        c64 = __builtin_ia32_crc32di(c64, w);
    }
    c = (uint32_t)c64;
    for (; n; s++, n--) c = __builtin_ia32_crc32qi(c, *s);
    return c;
}
#define HAVE_SSE42_PATH 1
#endif

static void init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
    crc_impl = crc_table;
#ifdef HAVE_SSE42_PATH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("sse4.2")) crc_impl = crc_sse42;
#endif
}

uint32_t cd_crc32c(const void *p, size_t n)
{
    pthread_once(&init_once, init);
    return crc_impl(0xFFFFFFFFu, p, n) ^ 0xFFFFFFFFu;
}

uint32_t cd_crc32c_portable(const void *p, size_t n)
{
    pthread_once(&init_once, init);
    return crc_table(0xFFFFFFFFu, p, n) ^ 0xFFFFFFFFu;
}

void cd_checksum_put(unsigned char out[CD_CHECKSUM_BYTES], const void *p, size_t n)
{
    uint32_t c = cd_crc32c(p, n);
    out[0] = (unsigned char)(c >> 24);
    out[1] = (unsigned char)(c >> 16);
    out[2] = (unsigned char)(c >> 8);
    out[3] = (unsigned char)c;
}

int cd_checksum_ok(const void *v, size_t n)
{
    if (n < CD_CHECKSUM_BYTES) return 0;
    unsigned char want[CD_CHECKSUM_BYTES];
    cd_checksum_put(want, v, n - CD_CHECKSUM_BYTES);
    const unsigned char *t = (const unsigned char *)v + n - CD_CHECKSUM_BYTES;
    return t[0] == want[0] && t[1] == want[1] && t[2] == want[2] && t[3] == want[3];
}
