/* checksum: the CRC-32C every stored record value carries, so bit rot is found, not served. */
#ifndef CD_CHECKSUM_H
#define CD_CHECKSUM_H
#include <stddef.h>
#include <stdint.h>

#define CD_CHECKSUM_BYTES 4

/* CRC-32C (Castagnoli) of p[0..n): part of the storage format, stable across versions. */
uint32_t cd_crc32c(const void *p, size_t n);

/* The same CRC by the portable table, whatever the CPU has (tests compare the two). */
uint32_t cd_crc32c_portable(const void *p, size_t n);

/* Writes the checksum of p[0..n) as 4 big-endian bytes at out. */
void cd_checksum_put(unsigned char out[CD_CHECKSUM_BYTES], const void *p, size_t n);

/* 1 when v[0..n) ends in the checksum of what precedes it (n >= 4), else 0. */
int cd_checksum_ok(const void *v, size_t n);

#endif
