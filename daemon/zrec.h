/* zrec: stored records compressed with zstd dictionaries trained on the database's own records.
 *
 * A record of a few hundred bytes barely compresses on its own; against a dictionary made from
 * a couple of thousand of its neighbours (field layout, URL prefixes, frequent words) it loses
 * about half. A packed body is
 *     0xc1 (a byte MessagePack never uses, so no plain record starts with it) | dict id(1) |
 *     zstd frame without its magic number (content size in its header, no frame checksum: the
 *     stored value's CRC-32C covers the packed bytes)
 * and a plain body is the record as it always was, so both live side by side in one table.
 *
 * Dictionaries are kept in meta "zdict" id(1) -> family(1) dictionary crc32c(4), id = family
 * + 1. Once stored a dictionary never changes and is never removed: records name the one they
 * were packed with. A family's dictionary is made in the write txn that first stores a record
 * of that family with an id above CD_ZREC_TRAIN_AT, from the family's first CD_ZREC_TRAIN_AT
 * records in key order. The rule depends only on the data, never on timing, so a replica that
 * applies the same changes makes the same dictionary at the same change and packs the same
 * records into the same bytes (zstd is deterministic for one dictionary and level). Records
 * stored before, and any that would not get smaller, stay plain.
 *
 * Thread use: packing and unpacking may run on any thread (each keeps its own zstd contexts);
 * loading and cd_zrec_dict_for only on the thread that owns the write txn.
 */
#ifndef CD_ZREC_H
#define CD_ZREC_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#define CD_ZREC_TAG 0xc1                  /* first byte of a packed body */
#define CD_ZREC_HEAD 2                    /* tag and dictionary id */
#define CD_ZREC_TRAIN_AT 1000            /* records a dictionary is made from; ids above it are packed */
#define CD_ZREC_DICT_BYTES (32 << 10)     /* dictionary size */
#define CD_ZREC_PLAIN_MAX (64u << 20)     /* largest unpacked body accepted (damage bound) */

typedef enum {
    CD_ZREC_CLAIMS = 0,   /* claim records: claims, and claim_revs' archived bodies */
    CD_ZREC_FWD,          /* search forward records (search_docs) */
    CD_ZREC_FAMILIES
} cd_zrec_family;

/* Forgets every dictionary, then registers those stored in meta (read in txn). Returns 0, or an
 * LMDB code (MDB_CORRUPTED when a stored dictionary is damaged), logged. */
int cd_zrec_load(MDB_txn *txn, MDB_dbi meta);

/* Frees every dictionary and context of this thread (at close; no other thread may use them). */
void cd_zrec_unload(void);

/* 1 when body p[0..n) is packed (starts with CD_ZREC_TAG), else 0. */
int cd_zrec_is_packed(const void *p, size_t n);

/* Bytes a packed form of n plain bytes may take at most (for the output of cd_zrec_pack). */
size_t cd_zrec_bound(size_t n);

/* Packs src[0..n) with dictionary id (cd_zrec_dict_for) into dst[0..cap). Returns the packed
 * size, or 0 when the body is to be stored plain (id 0, not smaller, or a zstd failure). */
size_t cd_zrec_pack(unsigned id, const void *src, size_t n, void *dst, size_t cap);

/* Unpacks packed body p[0..n) into a malloc'd buffer of *size bytes (cd_zrec_plain_size, then
 * cd_zrec_unpack), for callers whose records must not pile up in a call's zone. NULL with *why
 * set when it cannot be unpacked or memory is short. */
void *cd_zrec_unpack_malloc(const void *p, size_t n, size_t *size, const char **why);

/* Any txn: the id of family f's dictionary when txn's snapshot holds it and it is the one
 * loaded (never one an aborted txn made), else 0. Packs nothing new: for readers that pack
 * ahead of a write (the index pipeline). */
unsigned cd_zrec_stored(MDB_txn *txn, MDB_dbi meta, cd_zrec_family f);

/* The plain size of packed body p[0..n), or 0 with *why set when it cannot be unpacked
 * (unknown dictionary, damaged header, larger than CD_ZREC_PLAIN_MAX). */
size_t cd_zrec_plain_size(const void *p, size_t n, const char **why);

/* Unpacks p[0..n) into dst[0..size), size being cd_zrec_plain_size's answer. 0, or -1 with *why
 * set when the frame is damaged or does not unpack to exactly size bytes. */
int cd_zrec_unpack(const void *p, size_t n, void *dst, size_t size, const char **why);

/* Write txn: the id of the dictionary family f packs with in txn, or 0 (store plain). When
 * meta has none and may_train is set, makes it from the first CD_ZREC_TRAIN_AT values of dbi
 * (each value's last tail bytes, its checksum, left out) and puts it into meta in txn; the txn
 * aborting takes it away again, and the next txn makes the same one or, from other records,
 * another. Training takes ~0.1 s, once in a database's life. Returns 0 too when the records
 * are too few or too alike to train on (not tried again in this process) or on a failure. */
unsigned cd_zrec_dict_for(MDB_txn *txn, MDB_dbi meta, MDB_dbi dbi, size_t tail, cd_zrec_family f, int may_train);

#endif
