/* writer: group commit on a dedicated thread, map growth handled with the loop's help. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>
#include "cond_until.h"
#include "dispatch.h"
#include "indexer.h"
#include "isotime.h"
#include "log.h"
#include "params.h"
#include "readpool.h"
#include "server.h"
#include "writer.h"

#define BATCH_MAX_CALLS 1000
/* Request bytes in one batch: keeps one transaction's dirty pages well inside LMDB's limit
 * (a batch of big imports would otherwise hit MDB_TXN_FULL) and its commit short. */
#define BATCH_MAX_BYTES ((size_t)32 << 20)
/* Claims written by one batch. Without MDB_WRITEMAP every page a transaction dirties is a
 * malloc'd copy that LMDB keeps for reuse, so the daemon's heap follows its largest
 * transaction (~30 pages, 120 KiB, per claim at 100k claims); fewer claims per commit costs
 * little, since commits are cheap next to the pages they write. A single request bigger than
 * this still runs whole, in a batch of its own. */
#define BATCH_MAX_CLAIMS 256

struct cd_writer {
    cd_server *srv;
    cd_writer_done_fn done;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;         /* the writer waits here for work or a grow answer */
    cd_call *queue_head, *queue_tail;   /* submitted, not yet taken (guarded by mu) */
    cd_call *done_head, *done_tail;     /* finished, not yet answered (guarded by mu) */
    int stop;
    int grow_wanted, grow_done, grow_rc; /* map growth handshake (guarded by mu) */
    uv_async_t async;            /* writer -> loop: batch done, growth wanted or index moved */
    size_t in_flight;            /* loop thread only */
    _Atomic uint64_t commits;    /* write batches (or spans of one) committed with calls in them */
    _Atomic uint64_t batched;    /* calls handed back in those batches */
    _Atomic uint64_t max_batch;  /* the most calls one batch carried */
    cd_indexer *ix;              /* the index pipeline's state and policy (indexer.h) */
};

/* How many claims a call writes, as far as the batch bound is concerned. */
static size_t call_weight(const cd_call *c)
{
    if (c->err || strcmp(c->method->name, "claim.import") != 0) return 1;
    const msgpack_object *claims = cd_map_get(&c->params, "claims");
    return claims && claims->type == MSGPACK_OBJECT_ARRAY && claims->via.array.size ? claims->via.array.size : 1;
}

static void list_push(cd_call **head, cd_call **tail, cd_call *c)
{
    c->next = NULL;
    if (*tail) (*tail)->next = c;
    else *head = c;
    *tail = c;
}

/* Asks the loop thread to grow the map while this thread waits: the loop is the only other
 * user of transactions, and it holds none while it runs the async callback. */
static int request_growth(cd_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->grow_wanted = 1;
    w->grow_done = 0;
    pthread_mutex_unlock(&w->mu);
    uv_async_send(&w->async);
    pthread_mutex_lock(&w->mu);
    while (!w->grow_done) pthread_cond_wait(&w->wake, &w->mu);
    int rc = w->grow_rc;
    pthread_mutex_unlock(&w->mu);
    return rc;
}

/* Runs the unsettled calls of [from, end) in txn; stops at the first that fails (settled,
 * returned in *failed) or at MDB_MAP_FULL (returned). *last is the last call run. */
static int run_calls(cd_writer *w, MDB_txn *txn, cd_call *from, cd_call *end, int64_t now,
                     cd_call **last, cd_call **failed)
{
    for (cd_call *c = from; c != end; c = c->next) {
        if (c->settled) continue;
        cd_call_reset(c);
        c->at_us = now;
        c->method->fn(c, txn);
        cd_indexer_logged(w->ix, c);
        *last = c;
        if (!c->err) continue;
        if (c->mdb_rc == MDB_MAP_FULL) return MDB_MAP_FULL;
        c->settled = 1;
        *failed = c;
        return 0;
    }
    return 0;
}

/* Runs the calls of [from, end) that have not failed yet in one txn. The first call that fails
 * aborts the txn: it is marked settled (its error is final) and returned in *failed, and 0 is
 * returned. Otherwise returns mdb_txn_commit's code (MDB_MAP_FULL also when a call ran out of
 * map), *failed staying NULL. */
static int run_span(cd_writer *w, cd_call *from, cd_call *end, int64_t now, cd_call **failed)
{
    MDB_txn *txn;
    cd_call *last = NULL;
    *failed = NULL;
    int rc = mdb_txn_begin(w->srv->db.env, NULL, 0, &txn);
    if (rc) return rc;
    rc = run_calls(w, txn, from, end, now, &last, failed);
    if (rc || *failed) {
        mdb_txn_abort(txn);
        cd_indexer_aborted(w->ix);
        return rc;
    }
    rc = mdb_txn_commit(txn);
    if (rc) cd_indexer_aborted(w->ix);
    else cd_indexer_committed(w->ix);
    if (!rc && last) atomic_fetch_add(&w->commits, 1);
    return rc;
}

/* Stores a batch with as few commits as it allows. Calls share one txn, without nested txns
 * (they would copy every page a call touches twice; MDB_WRITEMAP also forbids them): a call
 * that fails may have written part of its work, so the txn is aborted, the calls before it are
 * run again and committed on their own, and the batch goes on after it. Runs are repeatable
 * (same state, same input, same time stamp), so the failed call's error is the one it gets in
 * the state the calls before it leave; a batch with k failures costs k extra commits at most.
 * Calls still unsettled when storage fails report that failure. Returns 1, or 0 when the batch
 * was refused (the index cannot keep up) and nothing ran. */
static int run_batch(cd_writer *w, cd_call *batch)
{
    int64_t now = cd_time_now_us();
    int tries = 0;
    uint64_t lag;
    if (cd_indexer_refuses_writes(w->ix, &lag)) {
        /* The index cannot be written for want of space and is far enough behind: taking more
         * writes would pile up a backlog no reader sees. Refused until a pass goes through. */
        for (cd_call *c = batch; c; c = c->next) {
            cd_call_reset(c);
            cd_fail(c, CLAIMD_E_STORAGE_FULL, NULL, "storage full: the index is %llu changes behind and "
                    "cannot be written; writes resume once space is freed", (unsigned long long)lag);
        }
        return 0;
    }
    for (cd_call *c = batch; c; c = c->next) c->settled = 0;
    cd_call *from = batch;
    while (from) {
        cd_call *end = NULL, *failed;
        for (;;) {
            int rc = run_span(w, from, end, now, &failed);
            if (rc == MDB_MAP_FULL && tries++ < CD_DB_GROW_TRIES && request_growth(w) == 0) continue;
            if (rc) {
                for (cd_call *c = from; c != end; c = c->next) {
                    if (c->settled) continue;
                    cd_call_reset(c);
                    cd_fail_mdb(c, rc, "committing");
                    c->settled = 1;
                }
                break;
            }
            if (!failed) break;          /* [from, end) committed */
            end = failed;                /* commit the calls before it on their own */
        }
        from = end;
    }
    return 1;
}

/* Waits (w->mu held) until there is work, and returns it: what the indexer decides
 * (cd_indexer_next) for the queue and the stop flag as they stand: a write batch, index work,
 * or stop. */
static cd_indexer_action wait_for_work(cd_writer *w)
{
    for (;;) {
        cd_indexer_decision d = cd_indexer_next(w->ix, w->queue_head != NULL, w->stop);
        if (d.action == CD_IX_DO_WAIT) pthread_cond_wait(&w->wake, &w->mu);
        else if (d.action == CD_IX_DO_WAIT_UNTIL) cd_cond_wait_until(&w->wake, &w->mu, d.due);
        else return d.action;
    }
}

static void *writer_main(void *arg)
{
    cd_writer *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        cd_indexer_action work = wait_for_work(w);
        if (work == CD_IX_DO_STOP) { pthread_mutex_unlock(&w->mu); break; }
        if (work != CD_IX_DO_WRITE) {
            pthread_mutex_unlock(&w->mu);
            cd_indexer_run(w->ix, work);
            continue;
        }
        /* Take everything that queued while the last batch committed, up to the bound. */
        cd_call *batch = w->queue_head, *last = batch;
        size_t n = 1, bytes = batch->req_bytes, weight = call_weight(batch);
        while (last->next && n < BATCH_MAX_CALLS && bytes + last->next->req_bytes <= BATCH_MAX_BYTES &&
               weight + call_weight(last->next) <= BATCH_MAX_CLAIMS) {
            last = last->next;
            bytes += last->req_bytes;
            weight += call_weight(last);
            n++;
        }
        w->queue_head = last->next;
        if (!w->queue_head) w->queue_tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&w->mu);

        cd_indexer_after_batch(w->ix, run_batch(w, batch));
        atomic_fetch_add(&w->batched, n);
        if (n > atomic_load(&w->max_batch)) atomic_store(&w->max_batch, n);

        pthread_mutex_lock(&w->mu);
        if (w->done_tail) w->done_tail->next = batch;
        else w->done_head = batch;
        w->done_tail = last;
        pthread_mutex_unlock(&w->mu);
        uv_async_send(&w->async);
    }
    return NULL;
}

/* Loop thread: answers finished calls and serves growth requests. */
static void on_async(uv_async_t *h)
{
    cd_writer *w = h->data;
    cd_server *srv = w->srv;
    pthread_mutex_lock(&w->mu);
    cd_call *done = w->done_head;
    w->done_head = w->done_tail = NULL;
    /* Growth remaps the file: it waits while a pool thread holds a read txn, and new pool work
     * is held back meanwhile (readpool.h) so that reads coming all the time cannot starve it;
     * the last pool call to end kicks this again. */
    int grow = w->grow_wanted && srv->workers_running == 0;
    if (grow) w->grow_wanted = 0;
    else if (w->grow_wanted) cd_readpool_hold(srv);
    pthread_mutex_unlock(&w->mu);

    if (grow) {
        cd_indexer_hold(w->ix);
        int rc = cd_db_grow(&srv->db, 0);
        cd_indexer_unhold(w->ix);
        if (rc) cd_warn("cannot grow the map: %s", mdb_strerror(rc));
        else srv->stats.map_growths++;
        pthread_mutex_lock(&w->mu);
        w->grow_rc = rc;
        w->grow_done = 1;
        pthread_cond_signal(&w->wake);
        pthread_mutex_unlock(&w->mu);
        cd_readpool_release(srv);
    }
    /* Counted by the writer: one wake-up here may hand back several batches. */
    srv->stats.commits = atomic_load(&w->commits);
    srv->stats.batched_calls = atomic_load(&w->batched);
    srv->stats.max_batch = atomic_load(&w->max_batch);
    while (done) {
        cd_call *next = done->next;
        w->in_flight--;
        w->done(done);
        done = next;
    }
    cd_indexer_resume_parked(w->ix);
}

/* The indexer's hooks (indexer.h), for the writer w. */

/* A plan is ready (pipeline thread) or readers wait for the index (loop thread): wake the
 * writer to decide again. */
static void hook_wake(void *arg)
{
    cd_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
}

static int hook_grow(void *arg) { return request_growth(arg); }
static void hook_tell_loop(void *arg) { cd_writer *w = arg; uv_async_send(&w->async); }

static int hook_writes_wait(void *arg)
{
    cd_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    int waiting = w->queue_head != NULL || w->stop;
    pthread_mutex_unlock(&w->mu);
    return waiting;
}

cd_writer *cd_writer_start(cd_server *srv, cd_writer_done_fn done)
{
    cd_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->srv = srv;
    w->done = done;
    cd_indexer_hooks hooks = { .arg = w, .grow = hook_grow, .tell_loop = hook_tell_loop,
                               .writes_wait = hook_writes_wait, .wake = hook_wake };
    if (!(w->ix = cd_indexer_new(srv, &hooks))) {
        free(w);
        return NULL;
    }
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (uv_async_init(srv->loop, &w->async, on_async)) goto fail;
    w->async.data = w;
    if (cd_indexer_start_pipeline(w->ix)) {
        uv_close((uv_handle_t *)&w->async, NULL);
        goto fail;
    }
    if (pthread_create(&w->thread, NULL, writer_main, w)) {
        cd_indexer_stop_pipeline(w->ix);
        uv_close((uv_handle_t *)&w->async, NULL);
        goto fail;
    }
    cd_indexer_begin(w->ix);
    return w;
fail:
    cd_error("cannot start the writer thread");
    cd_indexer_free(w->ix);
    free(w);
    return NULL;
}

void cd_writer_submit(cd_writer *w, cd_call *c)
{
    w->in_flight++;
    pthread_mutex_lock(&w->mu);
    list_push(&w->queue_head, &w->queue_tail, c);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
}

size_t cd_writer_in_flight(const cd_writer *w)
{
    return w->in_flight;
}

static void free_on_close(uv_handle_t *h)
{
    cd_writer *w = h->data;
    cd_indexer_free(w->ix);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->wake);
    free(w);
}

void cd_writer_stop(cd_writer *w)
{
    pthread_mutex_lock(&w->mu);
    w->stop = 1;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    cd_indexer_stop_pipeline(w->ix);  /* after the writer: its last batches may have waited for a plan */
    uv_close((uv_handle_t *)&w->async, free_on_close);
}

cd_indexer *cd_writer_indexer(cd_writer *w)
{
    return w->ix;
}

void cd_writer_kick(cd_writer *w)
{
    uv_async_send(&w->async);
}
