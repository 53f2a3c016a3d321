/* ixpipe: the index pipeline's second thread, which builds index passes while the writer writes.
 *
 * An index pass is mostly reading and text analysis (ixplan.h): loading the changed claims,
 * normalising, tokenising and stemming their text, encoding forward records, sorting entries.
 * On the writer thread that work sits between durable writes and their commits, and leaves the
 * machine's second core idle. Here a thread of its own builds each pass as a plan from a read
 * txn; the writer only applies it (a few ms of B-tree writes for thousands of claims), between
 * write batches.
 *
 * One plan is in flight at a time: the next is built only once the writer has applied (or
 * dropped) the last one, so it reads the index state the last one left, and a plan is always
 * built from a snapshot that has every earlier pass. The thread starts a plan when the index
 * lags by half a pass, when it has lagged ten idle delays under a steady stream of writes,
 * after an idle delay without writes, or at once when a reader waits for the index (urgent).
 *
 * Threads: kick, ready, take, release and set_max are for the writer thread; hold and unhold for
 * the thread that grows the map; ready is called on the pipeline's thread.
 */
#ifndef CD_IXPIPE_H
#define CD_IXPIPE_H

#include <stddef.h>
#include <stdint.h>
#include "ixplan.h"

typedef struct cd_ixpipe cd_ixpipe;
typedef struct cd_server cd_server;

/* Called on the pipeline's thread each time a plan is ready to take (must not block long). */
typedef void (*cd_ixpipe_ready_fn)(void *arg);

/* The idle delay: how long the index may lag without new writes before a pass is built. */
#define CD_IX_IDLE_DELAY_NS 20000000LL

/* Starts the thread. NULL when it cannot (logged). */
cd_ixpipe *cd_ixpipe_start(cd_server *srv, size_t max, cd_ixpipe_ready_fn ready, void *arg);

/* Stops and frees the pipeline once its plan under way (if any) is built. */
void cd_ixpipe_stop(cd_ixpipe *p);

/* Changes were committed, or (urgent) a reader waits for the index: a plan may be due. */
void cd_ixpipe_kick(cd_ixpipe *p, int urgent);

/* Whether a plan is ready to take. */
int cd_ixpipe_ready(cd_ixpipe *p);

/* The ready plan (NULL: none), *built 0 when building it failed (the writer then runs the pass
 * itself, which reports why). The caller hands it back with cd_ixpipe_release. */
cd_ixplan *cd_ixpipe_take(cd_ixpipe *p, int *built);

/* The plan taken was applied or dropped: the next may be built. */
void cd_ixpipe_release(cd_ixpipe *p);

/* The most changes a plan takes from now (the writer halves it on MDB_TXN_FULL). */
void cd_ixpipe_set_max(cd_ixpipe *p, size_t max);

/* Waits until the thread holds no read txn and keeps it from opening one until unhold (map
 * growth needs no txn open in the process). */
void cd_ixpipe_hold(cd_ixpipe *p);
void cd_ixpipe_unhold(cd_ixpipe *p);

#endif
