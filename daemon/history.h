/* history: reading the revision store (claim_revs: id|rev -> {op, at, by, claim}; the current
 * revision's claim is the one in claims, see db.h). */
#ifndef CD_HISTORY_H
#define CD_HISTORY_H

#include <lmdb.h>
#include "claim.h"

typedef struct {
    uint32_t rev;
    cd_str op, by;
    int64_t at;
    cd_claim claim;
} cd_revision;

/* Calls fn for each revision of claim id, oldest first, until fn returns nonzero. Returns 0,
 * MDB_NOTFOUND when the claim has no revisions, or -1 (error set). */
int cd_history_each(cd_call *c, MDB_txn *txn, uint64_t id,
                    int (*fn)(cd_call *c, MDB_txn *txn, const cd_revision *r, void *ud), void *ud);

/* Loads revision rev of claim id. 0, MDB_NOTFOUND, or -1 (error set). */
int cd_history_rev(cd_call *c, MDB_txn *txn, uint64_t id, uint32_t rev, cd_claim *out);

/* Loads the claim as it stood at instant as_of_us (the newest revision recorded before it).
 * 0, MDB_NOTFOUND (no revision that old), or -1 (error set). */
int cd_history_as_of(cd_call *c, MDB_txn *txn, uint64_t id, int64_t as_of_us, cd_claim *out);

#endif
