/* indexer: the index pipeline's owner on the writer's side: its state, and the policy of when an
 * index pass, a pipeline plan or merge steps run between the writer's batches.
 *
 * The writer thread keeps the write queue, batches and their transactions; it tells the indexer
 * what happened (a commit, an abort, a batch) and asks it what to do next (cd_indexer_next), which
 * is decided by cd_indexer_decide, a pure function of a small view of the state. The index work
 * itself is the indexer's: the passes the writer builds itself (ixpass.h), the plans the pipeline
 * builds on a thread of its own (ixpipe.h, ixplan.h) and the merge steps of the runs
 * (search_runs.h, index_runs.h). Where the index stands is published in srv->ix (server.h); the
 * reads that must wait for it are parked here (cd_indexer_park) until it gets there.
 *
 * Threads: everything is for the writer thread, except the parking of reads, cd_indexer_hold and
 * cd_indexer_unhold (loop thread), and create, start_pipeline, begin, stop_pipeline and free,
 * called by the writer's own start and stop on the loop thread.
 */
#ifndef CD_INDEXER_H
#define CD_INDEXER_H

#include <stdint.h>

typedef struct cd_indexer cd_indexer;
typedef struct cd_server cd_server;
typedef struct cd_call cd_call;

/* With the pipeline (ixpipe.h), the most changes the index may lag before write batches wait for
 * its next plan: bounds a reader's wait and the catch-up after a crash, and holds the writes to
 * the pace the analysis keeps. (CD_IX_PASS_MAX: ixpass.h.) */
#define CD_IX_LAG_MAX (2 * CD_IX_PASS_MAX)
/* A failed pass is tried again after this, new changes or not. */
#define CD_IX_RETRY_NS 1000000000LL
/* No write batch for this long, the index caught up and no merge left: the writer is at rest,
 * and merges the runs down to one or two (runs.h, cd_run_pick_rest) for the readers. */
#define CD_IX_REST_DELAY_NS 500000000LL

/* What the writer asks of the index side (arg is passed back to each). */
typedef struct {
    void *arg;
    /* Grows the map while the caller waits (the writer's handshake with the loop thread): 0, or
     * the LMDB code it failed with. */
    int (*grow)(void *arg);
    /* Wakes the loop thread, which then resumes the parked reads (cd_indexer_resume_parked). */
    void (*tell_loop)(void *arg);
    /* Whether write batches are queued or the writer stops: merge steps give way to them. */
    int (*writes_wait)(void *arg);
    /* Wakes the writer thread to decide again: a plan is ready (pipeline thread) or readers wait
     * for the index (loop thread). Must not block long. */
    void (*wake)(void *arg);
} cd_indexer_hooks;

/* What the writer does next. */
typedef enum {
    CD_IX_DO_WRITE,       /* take a write batch */
    CD_IX_DO_PASS,        /* run an index pass (then merge steps when it went through) */
    CD_IX_DO_PLAN,        /* apply the plan the pipeline built (then merge steps) */
    CD_IX_DO_MERGE,       /* merge steps of the runs */
    CD_IX_DO_REST,        /* start the merges that leave readers fewest runs (cd_run_pick_rest) */
    CD_IX_DO_WAIT,        /* wait until signalled, then ask again */
    CD_IX_DO_WAIT_UNTIL,  /* wait until signalled or the decision's due, then ask again */
    CD_IX_DO_STOP,        /* the writer stops */
} cd_indexer_action;

/* Everything the decision looks at: the writer's queue, the pipeline's, the index's position
 * and failure state, and the clock (uv_hrtime ns), all read by the caller. */
typedef struct {
    int writes_queued;        /* write batches wait in the writer's queue */
    int stopping;             /* the writer is to stop once idle */
    int pipe_in_use;          /* passes come from the pipeline (indexer.c, pipe_in_use) */
    int plan_ready;           /* the pipeline has a plan ready to take (only with pipe_in_use) */
    int wanted;               /* readers wait for the index (srv->ix.wanted) */
    int stalled;              /* the last pass failed and no batch ran since */
    int merge_more;           /* run merge work is left */
    int rest_pending;         /* no rest merge was started since the last write batch */
    int64_t wrote_at;         /* when the last write batch ran (uv_hrtime ns) */
    uint64_t committed;       /* the writer's last committed change seq (srv->ix.pend_committed) */
    uint64_t indexed;         /* the last change seq the index reflects (srv->ix.pend_indexed) */
    int64_t behind_since;     /* when the index fell behind (0: it is not, or not looked at yet) */
    int64_t failed_at;        /* when the last pass failed */
    int64_t now;
} cd_indexer_view;

/* The decision, and what the caller must do with the state besides. */
typedef struct {
    cd_indexer_action action;
    int64_t due;              /* CD_IX_DO_WAIT_UNTIL: the uv_hrtime deadline */
    int64_t behind_since;     /* the view's behind_since from now on */
    int kick_urgent;          /* ask the pipeline for its plan at once (write batches wait for it) */
} cd_indexer_decision;

/* What the writer does next in the state v: pure (reads nothing but v, changes nothing). */
cd_indexer_decision cd_indexer_decide(const cd_indexer_view *v);

/* The indexer for srv: allocates the writer's pass memory, looks at the free disk and at where
 * the index stands in the database, and publishes that. NULL when out of memory. */
cd_indexer *cd_indexer_new(cd_server *srv, const cd_indexer_hooks *hooks);

/* Starts the pipeline's thread when srv->cfg.index_threads asks for one: 0, or -1 (logged). */
int cd_indexer_start_pipeline(cd_indexer *ix);

/* The writer thread runs: a restart that finds the index behind builds a plan at once. */
void cd_indexer_begin(cd_indexer *ix);

/* Stops the pipeline's thread (none: nothing); after the writer's, whose last batches may have
 * waited for a plan. */
void cd_indexer_stop_pipeline(cd_indexer *ix);

/* Frees ix (NULL: nothing), its pipeline too if still running. */
void cd_indexer_free(cd_indexer *ix);

/* After a write call ran in the open txn: the last change it logged (if any) is the seq the txn reaches. */
void cd_indexer_logged(cd_indexer *ix, const cd_call *c);

/* After a write txn committed: the seqs it reached are the ones readers may count on. */
void cd_indexer_committed(cd_indexer *ix);

/* After a write txn was aborted or failed to commit: nothing it reached happened. */
void cd_indexer_aborted(cd_indexer *ix);

/* Whether write batches are refused because the index cannot be written for want of space and
 * lags too far; *lag is how far it lags either way. */
int cd_indexer_refuses_writes(const cd_indexer *ix, uint64_t *lag);

/* After a write batch (ran: its calls ran, rather than being refused): a failed pass may go
 * through now, the free disk is looked at again, and the pipeline told of the changes. */
void cd_indexer_after_batch(cd_indexer *ix, int ran);

/* Decides what the writer does next (cd_indexer_decide on the state as it is now), keeping the
 * index side's part of it: the caller holds the lock its queue and stop flag are guarded by. */
cd_indexer_decision cd_indexer_next(cd_indexer *ix, int writes_queued, int stopping);

/* Runs the index work chosen (CD_IX_DO_PASS, CD_IX_DO_PLAN or CD_IX_DO_MERGE). */
void cd_indexer_run(cd_indexer *ix, cd_indexer_action a);

/* Loop thread: a parked read may go on (cd_indexer_park); its error is set when its wait failed,
 * and it is then only to be answered. */
typedef void (*cd_indexer_resume_fn)(cd_call *call);

/* Loop thread: parks a read of the indexes until the index pass reaches every change committed
 * so far (ixpass.h), and a read with a min_seq until that seq has committed (and, for a read of
 * the indexes, is indexed), asking for a pass before the next write batch; resume(call) runs
 * once it may go on. 1 when parked, 0 when it need not wait. */
int cd_indexer_park(cd_indexer *ix, cd_call *call, cd_indexer_resume_fn resume);

/* Loop thread: resumes the parked reads the index (or the commits) has now reached, and fails
 * those a pass attempted for them failed or whose min_seq wait timed out; the others wait on. */
void cd_indexer_resume_parked(cd_indexer *ix);

/* Loop thread, shutdown: resumes every read still parked, failed with busy. */
void cd_indexer_abandon_parked(cd_indexer *ix);

/* Loop thread, around a map growth: waits until the pipeline holds no read txn and keeps it from
 * opening one until unhold (no pipeline: nothing). */
void cd_indexer_hold(cd_indexer *ix);
void cd_indexer_unhold(cd_indexer *ix);

#endif
