/* checksum: CRC-32C, reflected polynomial 0x82F63B78, table-driven one byte at a time; a record
 * value is a few hundred bytes, so speed is not the point, detection is: every error burst up
 * to 32 bits and every odd number of flipped bits is caught. */
#include <pthread.h>
#include "checksum.h"

static uint32_t table[256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void make_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        table[i] = c;
    }
}

uint32_t cd_crc32c(const void *p, size_t n)
{
    pthread_once(&table_once, make_table);
    const unsigned char *s = p;
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) c = table[(c ^ s[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
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
