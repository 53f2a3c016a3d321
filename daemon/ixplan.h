/* ixplan: one index pass, split into what can be worked out from a snapshot and what must be
 * written.
 *
 * Building a plan only reads: the changes past meta "indexed", each changed claim, the revision
 * its entries were made from (ix_revs, claim_revs) and its old forward record. It does the text
 * analysis (normalising, tokenising, stemming), encodes the new forward records and sorts the
 * pass's additions into run builders. That is most of a pass's CPU, and any thread with a read
 * txn can do it (ixpipe.h runs it on a thread of its own while the writer commits writes).
 *
 * Applying a plan is the writer's part: in a write txn it removes the entries and postings the
 * old revisions had from the runs that hold them, stores forward records, space statistics and
 * ix_revs, writes the builders as one run each and moves meta "indexed" on. A plan is applied
 * only to the state it was built from: when meta "indexed" moved since (another pass ran), apply
 * refuses it and nothing is written. Only passes write the tables a plan reads (ix_revs,
 * search_docs) and meta "indexed", so a plan whose "indexed" still matches is exactly the pass
 * the writer would have built itself.
 */
#ifndef CD_IXPLAN_H
#define CD_IXPLAN_H

#include <lmdb.h>
#include <stdint.h>
#include "call.h"
#include "claim.h"
#include "index.h"

typedef struct cd_ixplan cd_ixplan;
struct cd_run_builder;
struct cd_ixrun_builder;

/* The seq the indexes reflect in txn (meta "indexed"; 0: none yet). */
uint64_t cd_ixplan_indexed(const cd_db *db, MDB_txn *txn);

/* A new, empty plan (NULL when out of memory); free with cd_ixplan_free. */
cd_ixplan *cd_ixplan_new(void);
void cd_ixplan_free(cd_ixplan *p);

/* Empties p for the next pass, keeping its memory. */
void cd_ixplan_clear(cd_ixplan *p);

/* Between claims a build may trade its read txn for a fresh one: renew(arg, &txn) ends *txn and
 * begins another (0, or an LMDB code). That is safe: what a plan reads besides the claims
 * (ix_revs, search_docs, meta "indexed") only passes write, and a pass that ran meanwhile makes
 * the plan stale; a claim read newer than the changes the plan covers is indexed at the revision
 * read, which ix_revs records, so its later change finds nothing to do. A short-lived snapshot
 * lets the writer reuse the pages its commits free instead of growing the file. */
typedef int (*cd_ixplan_renew_fn)(void *arg, MDB_txn **txn);
#define CD_IXPLAN_RENEW_EVERY 32   /* claims between renewals */

/* Builds in p (cleared first) the pass over up to max changes past meta "indexed" in txn (read
 * only is enough; renew NULL: that txn throughout). c gives memory and the error; its zone is
 * cleared between claims when it is an internal call (no method). 0, or -1 with the error set
 * on c. */
int cd_ixplan_build(cd_call *c, MDB_txn *txn, cd_ixplan *p, size_t max, cd_ixplan_renew_fn renew, void *arg);

/* The last change seq p covers, and whether changes past it were left for the next pass. */
uint64_t cd_ixplan_last(const cd_ixplan *p);
int cd_ixplan_more(const cd_ixplan *p);

#define CD_IXPLAN_STALE 1   /* cd_ixplan_apply: meta "indexed" moved since the plan was built */

/* Writes p into the write txn: 0 (*written: postings and entries the new runs hold), the
 * CD_IXPLAN_STALE refusal (nothing written), or -1 with the error set on c (abort the txn).
 * p is left empty either way. */
int cd_ixplan_apply(cd_call *c, MDB_txn *txn, cd_ixplan *p, uint64_t *written);

/* For index.c and search_index.c while a plan is built: the claim being planned gets these. */

/* The pass's builder of claim index entries (additions and removal marks). */
struct cd_ixrun_builder *cd_ixplan_ixruns(cd_ixplan *p);

/* The pass's builder of search postings. */
struct cd_run_builder *cd_ixplan_postings(cd_ixplan *p);

/* Records that index entry key of the claim being planned must go from the runs. 0 or -1. */
int cd_ixplan_unindex(cd_call *c, cd_ixplan *p, const unsigned char key[CD_IDX_KEY]);

/* Records the claim's forward records: the one to remove (old, NULL: none) and the one to store
 * (fwd, NULL: none), both copied. Without this call its search data stays as it is. 0 or -1. */
int cd_ixplan_search(cd_call *c, cd_ixplan *p, const void *old, size_t old_len, const void *fwd,
                     size_t fwd_len);

#endif
