/* bytes: big-endian fixed-width integers for LMDB keys, so that memcmp order is numeric order. */
#ifndef CLAIMD_BYTES_H
#define CLAIMD_BYTES_H

#include <stdint.h>

/* One unaligned load or store and a byte swap each (GCC and clang do not turn the byte loops
 * into that): postings decoding writes an id per posting, by the million per search. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define CD_BE64(v) __builtin_bswap64(v)
#define CD_BE32(v) __builtin_bswap32(v)
#else
#define CD_BE64(v) (v)
#define CD_BE32(v) (v)
#endif

/* Stores v at p as 8 big-endian bytes. */
static inline void cd_put_u64be(unsigned char *p, uint64_t v)
{
    v = CD_BE64(v);
    __builtin_memcpy(p, &v, 8);
}

/* Reads 8 big-endian bytes at p. */
static inline uint64_t cd_get_u64be(const unsigned char *p)
{
    uint64_t v;
    __builtin_memcpy(&v, p, 8);
    return CD_BE64(v);
}

/* Stores v at p as 4 big-endian bytes. */
static inline void cd_put_u32be(unsigned char *p, uint32_t v)
{
    v = CD_BE32(v);
    __builtin_memcpy(p, &v, 4);
}

/* Reads 4 big-endian bytes at p. */
static inline uint32_t cd_get_u32be(const unsigned char *p)
{
    uint32_t v;
    __builtin_memcpy(&v, p, 4);
    return CD_BE32(v);
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
