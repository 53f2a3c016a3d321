/* record: the compact stored form of records (positional MessagePack arrays) and helpers to
 * read them back, plus the change log every write appends to. */
#ifndef CD_RECORD_H
#define CD_RECORD_H

#include <lmdb.h>
#include "call.h"
#include "zrec.h"

/* Packs s as a string, or nil when empty. */
void cd_rec_pack_str(msgpack_packer *pk, cd_str s);

/* The string in o, or an empty cd_str when o is nil or not a string. */
cd_str cd_rec_str(const msgpack_object *o);

/* The unsigned integer in o, or 0. */
uint64_t cd_rec_u64(const msgpack_object *o);

/* The signed integer in o, or 0. */
int64_t cd_rec_i64(const msgpack_object *o);

/* Copies a stored value into the call's zone, checks its checksum (checksum.h) and unpacks it
 * into an array of at least min elements. Returns 0, or -1 with internal error set (damaged). */
int cd_rec_unpack(cd_call *c, const MDB_val *v, uint32_t min, msgpack_object *out);

/* As cd_rec_unpack for a record held inside another (a revision's claim), which has no
 * checksum of its own: the outer one covers it. */
int cd_rec_unpack_body(cd_call *c, const MDB_val *v, uint32_t min, msgpack_object *out);

/* Makes *body, a record body as stored (packed or plain: zrec.h), the plain record: unpacked
 * into the call's zone when packed, left as it is otherwise. 0, or -1 with internal error set. */
int cd_rec_plain(cd_call *c, MDB_val *body);

/* The record bytes of stored value v without its checksum, in *body (same memory). Returns 0,
 * or -1 with internal error set when the checksum does not match (damaged). */
int cd_rec_payload(cd_call *c, const MDB_val *v, MDB_val *body);

/* Reads the record stored under id(8) in dbi into *v (LMDB memory, valid within txn).
 * Returns 0, MDB_NOTFOUND (no error set), or -1 with the LMDB failure set on the call. */
int cd_rec_get_id(cd_call *c, MDB_txn *txn, MDB_dbi dbi, uint64_t id, MDB_val *v, const char *what);

/* Puts key -> the packed bytes of sb and their checksum into dbi, failing the call on an LMDB
 * error. Every record table is written through here (and read through cd_rec_unpack). */
int cd_rec_put(cd_call *c, MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
               const msgpack_sbuffer *sb, unsigned flags, const char *what);

/* As cd_rec_put, the record packed with dictionary zid (zrec.h: cd_zrec_dict_for) when zid is
 * not 0 and packing makes it smaller; readers unpack it in cd_rec_unpack_body. */
int cd_rec_put_packed(cd_call *c, MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                      const msgpack_sbuffer *sb, unsigned zid, unsigned flags, const char *what);

/* 64-bit FNV-1a hash (stable across versions: it is part of the storage format). */
uint64_t cd_hash64(const void *p, size_t n);

/* qsort comparator of uint64_t values, ascending. */
int cd_cmp_u64(const void *a, const void *b);

/* Appends {seq, at, op, type, id} to the change log and the call's change list. */
int cd_change_log(cd_call *c, MDB_txn *txn, const char *op, const char *type, uint64_t id);

#endif
