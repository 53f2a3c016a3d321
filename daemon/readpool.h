/* readpool: runs the reads that may take long (CD_M_POOL methods: search, match, query, big
 * lists, backup) on the libuv thread pool, each with a read txn of its own, so the loop thread
 * stays free for cheap reads and replies. While the writer waits to grow the map (which needs
 * every read txn of the process ended), new pool work is held back and started once the growth
 * ran, so a steady stream of reads cannot starve it. All functions: loop thread only. */
#ifndef CD_READPOOL_H
#define CD_READPOOL_H

#include "call.h"

/* The thread pool's size when none is configured: the reads of four clients at once. */
#define CD_READPOOL_DEFAULT_THREADS 4
/* The nice value pool threads take by default: cheap reads and writes go first on busy cores. */
#define CD_READPOOL_DEFAULT_NICE 10

/* Sizes libuv's thread pool (UV_THREADPOOL_SIZE) to threads and sets the nice value its threads
 * take (0: the daemon's own); call before the first use of the pool (the pool reads the
 * variable once, when it starts). */
void cd_readpool_configure(unsigned threads, int nice);

/* Run on the loop thread when a pool call has finished (its result or error is set). */
typedef void (*cd_readpool_done_fn)(cd_call *c);

/* Runs c's method on a pool thread with its own read txn, or holds it until a pending map
 * growth ran; done(c) follows on the loop thread. 0, or -1 (c untouched, done never called)
 * when the work cannot be started. */
int cd_readpool_submit(cd_server *srv, cd_call *c, cd_readpool_done_fn done);

/* Whether new pool work is being held for a map growth (for the writer's decision). */
int cd_readpool_holding(const cd_server *srv);

/* The writer wants to grow the map but pool calls hold read txns: hold new work from now on
 * (the growth waits for the calls running; a long one such as a backup is waited for without
 * holding reads, which would not make it end sooner). */
void cd_readpool_hold(cd_server *srv);

/* The growth ran: starts the calls held back for it. */
void cd_readpool_release(cd_server *srv);

#endif
