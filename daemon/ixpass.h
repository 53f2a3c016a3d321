/* ixpass: bringing the derived indexes (idx, search_*) up to the change log.
 *
 * A claim write commits the claim, its revision and its change record; the index entries they
 * imply are written afterwards by an index pass: a txn of the writer thread that takes the
 * claims of many changes at once and writes their entries as sorted runs, so a pass touches
 * each page once where single writes would touch it once per claim, and a durable write's
 * commit flushes a handful of pages instead of a hundred. Most passes are built on the index
 * pipeline's thread and only applied by the writer (ixpipe.h); this is the pass the writer
 * builds itself (catching up inside a call's txn, with --index-threads 0, or when a built plan
 * could not be applied). The state lives in the same txns: meta "indexed" is the last change
 * seq applied, and ix_revs holds the revision each claim's entries were made from, so a pass
 * removes exactly those entries (the old revision comes from claim_revs) before adding the
 * current ones. A crash loses no index work that matters:
 * the next start applies whatever the change log holds past "indexed".
 *
 * Readers of the indexes (claim.query, claim.search, claim.match) wait until the pass has
 * applied every change committed before they arrived (indexer.h), so a client always finds what
 * it has written; a writer call that reads an index catches it up in its own txn first
 * (cd_ixpass_catch_up).
 */
#ifndef CD_IXPASS_H
#define CD_IXPASS_H

#include <lmdb.h>
#include <stdint.h>
#include "call.h"

#define CD_IX_PASS_MAX 2048     /* changes one pass takes: bounds its txn's dirty pages */

/* Builds and applies in txn (writer thread) the pass over up to max changes past meta "indexed"
 * (ixplan.h), with the writer's own plan; *more says whether changes remain. 0, or -1 with the
 * error set on c. */
int cd_ixpass_run(cd_call *c, MDB_txn *txn, size_t max, int *more);

/* While passes fail for want of space, writes are refused (storage_full) once the index lags
 * this many changes: a write that cannot be indexed is not acknowledged into a backlog. */
#define CD_IX_LAG_FULL 256
#define CD_IX_CATCH_UP_PASSES 8  /* passes a writer call may run to catch the index up */

/* Applies every change past meta "indexed" (a writer call about to read an index). 0, or -1
 * with the error set on c (busy when that takes more than CD_IX_CATCH_UP_PASSES passes). */
int cd_ixpass_catch_up(cd_call *c, MDB_txn *txn);

#endif
