/* index: claim secondary indexes. An entry is the 25-byte key
 *   kind(1) value(8) said(8) id(8)
 * ordered by said_at within each (kind, value), so "newest 20 by speaker" is one cursor walk,
 * and again with kind | CD_IDX_BY_RECORDED ordered by id, for recorded_desc.
 * value is an entity id, an enum index, or the hash of a folded string (tags, lang).
 * The entries are stored as sorted runs (index_runs.h; format 6 and older: one DUPSORT table,
 * claim_index, kind|value -> said|id) and read in order through cd_index_cursor. */
#ifndef CD_INDEX_H
#define CD_INDEX_H

#include <lmdb.h>
#include "claim.h"

#define CD_IDX_KEY 25       /* logical entry: kind|value|said|id */
#define CD_IDX_PREFIX 9     /* kind|value: the entries of one list */

/* Or-ed into a kind: the same entries ordered by id (recording order) instead of said_at; the
 * said slot of such a key holds the id. */
#define CD_IDX_BY_RECORDED 0x80

typedef enum {
    CD_IDX_ALL = 0, CD_IDX_SPEAKER, CD_IDX_ABOUT, CD_IDX_OUTLET, CD_IDX_VIA, CD_IDX_TAG,
    CD_IDX_MEDIUM, CD_IDX_STATUS, CD_IDX_LANG
} cd_idx_kind;

/* The said key of a claim: start of its said_at period, or INT64_MIN when unknown. */
int64_t cd_index_said(const cd_claim *cl);

/* The index value of a string filter (tag, lang): hash of its folded form. */
uint64_t cd_index_str_value(const char *s, size_t n);

/* Builds the key kind|value|said|id into key[CD_IDX_KEY]. */
void cd_index_key(unsigned char *key, cd_idx_kind kind, uint64_t value, int64_t said, uint64_t id);

typedef struct cd_ixplan cd_ixplan;  /* ixplan.h */

/* Plans (in p, for the claim being planned) moving a claim's index entries from old (NULL:
 * none) to cl (NULL: none): additions and removal marks in the plan's builder, the removals
 * the runs owe in the plan. Reads nothing. 0, or -1 with the error set on c. */
int cd_index_plan(cd_call *c, cd_ixplan *p, const cd_claim *old, const cd_claim *cl);

/* Removes the n index entries keys from the runs that hold them, in the write txn. 0 or -1. */
int cd_index_unindex(cd_call *c, MDB_txn *txn, const unsigned char (*keys)[CD_IDX_KEY], size_t n);

typedef struct cd_ixcur cd_ixcur;    /* index_runs.h */

/* A cursor over every entry of the claim index as txn sees it (its runs, index_runs.h), moved
 * with cd_ixcur_get and closed with cd_ixcur_close. NULL with the error set on c. */
cd_ixcur *cd_index_cursor(cd_call *c, MDB_txn *txn);

/* Collects (zone array) the ids of every claim with an entry under (kind, value), ids unique,
 * appended to the array *ids of *n items and *cap capacity (may start empty). 0 or -1 (error set). */
int cd_index_collect(cd_call *c, MDB_txn *txn, cd_idx_kind kind, uint64_t value, uint64_t **ids,
                     size_t *n, size_t *cap);
#endif
