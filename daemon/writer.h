/* writer: the one thread that owns LMDB write transactions, with group commit.
 *
 * The loop thread submits write calls; the writer takes every call queued so far (bounded) as a
 * batch, runs the calls in one txn (a failing call is split off: see run_batch), commits the
 * batch once (one fsync), and hands the batch back to the loop, which answers the calls. A
 * call's success reply is only ever sent after the commit of its batch returned 0. Between
 * batches, and whenever the writer is idle, it applies the index passes the index pipeline
 * built (ixpipe.h), or runs them itself (ixpass.h) with --index-threads 0 and after a pass
 * failed; the indexer (indexer.h) owns that side and decides what runs next. */
#ifndef CD_WRITER_H
#define CD_WRITER_H

#include "call.h"

typedef struct cd_writer cd_writer;

/* Hook run on the loop thread for each call whose batch has finished (committed or failed). */
typedef void (*cd_writer_done_fn)(cd_call *c);

/* Starts the writer thread for srv; done is called on the loop thread for finished calls.
 * Returns NULL after logging on failure. */
cd_writer *cd_writer_start(cd_server *srv, cd_writer_done_fn done);

/* Queues a write call (loop thread). Ownership passes to the writer until done(c). */
void cd_writer_submit(cd_writer *w, cd_call *c);

typedef struct cd_indexer cd_indexer;

/* The writer's indexer (indexer.h): where reads that wait for the index are parked (loop thread). */
cd_indexer *cd_writer_indexer(cd_writer *w);

/* Re-checks pending work on the loop thread (e.g. a map growth deferred while a pool thread
 * held a read txn); readpool.c calls it when srv->workers_running drops to 0 during a hold. */
void cd_writer_kick(cd_writer *w);

/* Calls submitted and not yet handed back (loop thread). */
size_t cd_writer_in_flight(const cd_writer *w);

/* Stops the thread once the queue is empty, joins it and frees w; call from the loop thread
 * after every submitted call came back; cb runs when the async handle has closed. */
void cd_writer_stop(cd_writer *w);

#endif
