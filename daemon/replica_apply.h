/* replica_apply: the writer-thread side of a read replica (replica.h): the stored rows of the
 * primary's changes (replica_rows.h) written into the replica's LMDB, with the primary's ids,
 * revisions and seqs, in one txn per batch together with the change records themselves: the
 * last key of `changes` is where the replica stands, so a crash loses or repeats nothing. */
#ifndef CD_REPLICA_APPLY_H
#define CD_REPLICA_APPLY_H

#include <lmdb.h>
#include "call.h"

/* meta key that marks a data directory as a replica (value: the stream's name) and the one
 * holding the primary's last seq the replica had heard of (u64, big-endian). */
#define CD_META_REPLICA "replica_of"
#define CD_META_REPLICA_SEEN "replica_primary_seq"

/* The internal write method (never in the dispatch table: no client can call it). Its
 * params are an array of published message payloads (maps, see replica_rows.h) with
 * consecutive seqs; those at or below the last applied seq are skipped. */
extern const cd_method cd_replica_apply_method;

/* The stream a data directory replicates, as a NUL-terminated copy in buf ("" when it is
 * not a replica); the last primary seq it heard of in *seen. 0 or an LMDB code. */
int cd_replica_marker(MDB_txn *txn, MDB_dbi meta, char *buf, size_t n, uint64_t *seen);

#endif
