/* bytes: big-endian fixed-width integers for LMDB keys, so that memcmp order is numeric order. */
#ifndef CLAIMD_BYTES_H
#define CLAIMD_BYTES_H

#include <stdint.h>

/* Stores v at p as 8 big-endian bytes. */
static inline void cd_put_u64be(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) { p[i] = (unsigned char)v; v >>= 8; }
}

/* Reads 8 big-endian bytes at p. */
static inline uint64_t cd_get_u64be(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = (v << 8) | p[i];
    return v;
}

/* Stores v at p as 4 big-endian bytes. */
static inline void cd_put_u32be(unsigned char *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--) { p[i] = (unsigned char)v; v >>= 8; }
}

/* Reads 4 big-endian bytes at p. */
static inline uint32_t cd_get_u32be(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v = (v << 8) | p[i];
    return v;
}

/* Signed times as keys: flipping the sign bit makes negative values sort before positive ones. */
static inline void cd_put_i64key(unsigned char *p, int64_t v)
{
    cd_put_u64be(p, (uint64_t)v ^ 0x8000000000000000ULL);
}

/* Inverse of cd_put_i64key. */
static inline int64_t cd_get_i64key(const unsigned char *p)
{
    return (int64_t)(cd_get_u64be(p) ^ 0x8000000000000000ULL);
}

#endif
