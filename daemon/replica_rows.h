/* replica_rows: the stored rows a published change carries, so that a read replica can write
 * exactly what its primary stored (replica.h) without re-running the request.
 *
 * The publisher (publish.h) adds "stored" to every message: a map of stored values, as bytes
 * in the primary's own format (record.h, db.h), read in the publisher's snapshot of the log:
 *   "change":    bin  the change record as in `changes` (with its checksum)
 *   a claim change (type "claim"):
 *   "revs":      [[rev, op, at, by|nil, body bin]]  every revision of the claim recorded at the
 *                change's `at` (one write call stamps all its work with one time), oldest first;
 *                body: the claim record of that revision, without checksum
 *   "verdicts":  [[id, bin]]   op verdict.add: the claim's verdicts recorded at `at`
 *   "relations": [[key bin, bin]]  op relation.add: the relations stored under the claim at `at`
 *   an entity change (type "entity"):
 *   "entity":    bin | nil  the entity record as it is when published
 *   "aliases":   [[key bin, owner]]  the owner in `aliases` of each of the entity's name keys
 * Every bin that is a stored value keeps its checksum, checked again by the replica. */
#ifndef CD_REPLICA_ROWS_H
#define CD_REPLICA_ROWS_H

#include <lmdb.h>
#include "call.h"

/* Packs the "stored" map of change seq (its stored value change_val, decoded as at, op, type,
 * id) into c->pk. 0, or -1 with the error set on c. */
int cd_rows_pack(cd_call *c, MDB_txn *txn, const MDB_val *change_val, int64_t at, cd_str op, cd_str type,
                 uint64_t id);

#endif
