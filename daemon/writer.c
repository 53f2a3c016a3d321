/* writer: group commit on a dedicated thread, map growth handled with the loop's help. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>
#include <uv.h>
#include "cond_until.h"
#include "conn.h"
#include "dispatch.h"
#include "isotime.h"
#include "ixpass.h"
#include "ixpipe.h"
#include "ixplan.h"
#include "log.h"
#include "params.h"
#include "readpool.h"
#include "search.h"
#include "server.h"
#include "index_runs.h"
#include "search_runs.h"
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
/* How long the index may lag behind idle time: a pass is a commit of its own, so a client
 * writing one claim at a time would otherwise pay two commits per claim. Readers waiting for
 * the index do not wait for this. */
#define IX_IDLE_DELAY_NS CD_IX_IDLE_DELAY_NS
/* With the pipeline (ixpipe.h), the most changes the index may lag before write batches wait
 * for its next plan: bounds a reader's wait and the catch-up after a crash, and holds the
 * writes to the pace the analysis keeps. */
#define IX_LAG_MAX (2 * CD_IX_PASS_MAX)
#define IX_RETRY_NS 1000000000LL     /* a failed pass is tried again after this, new changes or not */
#define IX_PASS_MIN 16           /* the smallest pass MDB_TXN_FULL can halve it to */
#define MERGE_STEPS_MAX_NS 50000000LL /* merge steps after a pass, while no write waits */
#define MERGE_WORK 8                 /* postings merged per posting a pass wrote, at least */
#define IX_PASS_REGROW 64        /* passes after a halving before the size doubles again */
#define PIPE_MIN_FREE ((uint64_t)256 << 20) /* free disk below which passes leave the pipeline */
#define DISK_CHECK_NS 100000000LL    /* how often the writer looks at the free disk */

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
    cd_call *ixcall;             /* writer thread: the index pass's memory and error */
    int ix_stalled;              /* writer thread: a pass failed; retry after the next commit */
    int64_t ix_behind_since;     /* writer thread: when the index fell behind (0: it is not) */
    int64_t ix_failed_at;        /* writer thread: uv_hrtime of the last failed pass */
    size_t ix_pass_max;          /* writer thread: changes a pass takes (halved on MDB_TXN_FULL) */
    int ix_pass_ok;              /* writer thread: passes that went through since it was halved */
    int merge_more;              /* writer thread: run merge work is left (run when idle) */
    cd_ixpipe *pipe;             /* builds the passes beside the writer (NULL: the writer does) */
    _Atomic int disk_roomy;      /* the data's file system has PIPE_MIN_FREE free (check_disk_room) */
    int64_t disk_checked_at;     /* writer thread: uv_hrtime of that look */
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

/* After a commit: the seqs the txn reached are the ones readers may count on. */
static void ix_publish(cd_server *srv)
{
    atomic_store(&srv->ix.committed, srv->ix.pend_committed);
    atomic_store(&srv->ix.indexed, srv->ix.pend_indexed);
}

/* After an abort: nothing the txn reached happened. */
static void ix_forget(cd_server *srv)
{
    srv->ix.pend_committed = atomic_load(&srv->ix.committed);
    srv->ix.pend_indexed = atomic_load(&srv->ix.indexed);
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
        ix_forget(w->srv);
        return rc;
    }
    rc = mdb_txn_commit(txn);
    if (rc) ix_forget(w->srv);
    else ix_publish(w->srv);
    if (!rc && last) atomic_fetch_add(&w->commits, 1);
    return rc;
}

/* Stores a batch with as few commits as it allows. Calls share one txn, without nested txns
 * (they would copy every page a call touches twice; MDB_WRITEMAP also forbids them): a call
 * that fails may have written part of its work, so the txn is aborted, the calls before it are
 * run again and committed on their own, and the batch goes on after it. Runs are repeatable
 * (same state, same input, same time stamp), so the failed call's error is the one it gets in
 * the state the calls before it leave; a batch with k failures costs k extra commits at most.
 * Calls still unsettled when storage fails report that failure. */
static void run_batch(cd_writer *w, cd_call *batch)
{
    int64_t now = cd_time_now_us();
    int tries = 0;
    cd_server *srv = w->srv;
    uint64_t lag = srv->ix.pend_committed - srv->ix.pend_indexed;
    if (atomic_load(&srv->ix.failing_full) && lag >= CD_IX_LAG_FULL) {
        /* The index cannot be written for want of space and is far enough behind: taking more
         * writes would pile up a backlog no reader sees. Refused until a pass goes through. */
        for (cd_call *c = batch; c; c = c->next) {
            cd_call_reset(c);
            cd_fail(c, CLAIMD_E_STORAGE_FULL, NULL, "storage full: the index is %llu changes behind and "
                    "cannot be written; writes resume once space is freed", (unsigned long long)lag);
        }
        return;
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
    w->ix_stalled = 0;                   /* new changes: a failed pass may go through now */
}

/* Whether passes come from the pipeline: not while they fail for want of space, nor while the
 * data's file system is short of room. The pipeline's read snapshots, open most of the time
 * under writes, keep the pages the writer's commits free from being reused until they end,
 * so the file grows by that slack; on a nearly full disk that slack is the last of it, and
 * the writer runs the passes itself (no snapshot held) until room is back. */
static int pipe_in_use(const cd_writer *w)
{
    return w->pipe && atomic_load(&w->disk_roomy) && !atomic_load(&w->srv->ix.failing_full);
}

/* Writer thread: looks at the data's free space again when the last look is old. */
static void check_disk_room(cd_writer *w)
{
    int64_t now = (int64_t)uv_hrtime();
    if (now - w->disk_checked_at < DISK_CHECK_NS) return;
    w->disk_checked_at = now;
    struct statvfs st;
    if (statvfs(w->srv->cfg.data_dir, &st) < 0) return;
    atomic_store(&w->disk_roomy, (uint64_t)st.f_bavail * st.f_frsize >= PIPE_MIN_FREE);
}

/* After a pass, applied or failed: the pass size won back, the failure state, the loop told
 * (to wake the readers waiting). */
static void pass_done(cd_writer *w, int rc, uint64_t attempt)
{
    cd_server *srv = w->srv;
    cd_call *c = w->ixcall;
    if (!rc && w->ix_pass_max < CD_IX_PASS_MAX && ++w->ix_pass_ok >= IX_PASS_REGROW) {
        w->ix_pass_max *= 2;
        w->ix_pass_ok = 0;
        if (w->pipe) cd_ixpipe_set_max(w->pipe, w->ix_pass_max);
    }
    if (rc) {
        cd_error("index pass failed: %s", c->err ? c->err_msg : mdb_strerror(rc));
        atomic_store(&srv->ix.failed_attempt, attempt);
    }
    atomic_store(&srv->ix.failing, rc != 0);
    /* EIO: LMDB reports a short write, which is how a full disk shows when pages are written
     * out at commit (call.c treats it so for calls too). */
    atomic_store(&srv->ix.failing_full, rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT || rc == EIO ||
                                        (rc && c->err == CLAIMD_E_STORAGE_FULL));
    w->ix_stalled = rc != 0;
    if (rc) w->ix_failed_at = (int64_t)uv_hrtime();
    uv_async_send(&w->async);
    /* More to index: the pipeline may build the next plan from the state this pass left. */
    if (pipe_in_use(w) && srv->ix.pend_indexed < srv->ix.pend_committed) cd_ixpipe_kick(w->pipe, 0);
}

/* A pass was too big for one txn (big tables, little overlap between claims): halves the
 * changes a pass takes, the pipeline's too; won back after IX_PASS_REGROW passes (pass_done).
 * Returns the new size. */
static size_t halve_pass(cd_writer *w)
{
    w->ix_pass_max /= 2;
    w->ix_pass_ok = 0;
    if (w->pipe) cd_ixpipe_set_max(w->pipe, w->ix_pass_max);
    cd_info("index pass too big for one transaction: %zu changes a pass from now", w->ix_pass_max);
    return w->ix_pass_max;
}

/* One index pass in a txn of its own (growing the map when it must). Returns 0 or the code it
 * failed with, after logging why; the loop is told either way, to wake the readers waiting. */
static int run_index_pass(cd_writer *w)
{
    cd_server *srv = w->srv;
    cd_call *c = w->ixcall;
    int rc, tries = 0;
    size_t max = w->ix_pass_max;
    uint64_t attempt = atomic_fetch_add(&srv->ix.attempts, 1) + 1;
    for (;;) {
        MDB_txn *txn;
        int more;
        cd_call_reset(c);
        msgpack_zone_clear(&c->zone);
        atomic_store(&srv->ix.wanted, 0);
        if ((rc = mdb_txn_begin(srv->db.env, NULL, 0, &txn))) break;
        if (cd_ixpass_run(c, txn, max, &more)) {
            rc = c->mdb_rc ? c->mdb_rc : MDB_BAD_TXN;
            mdb_txn_abort(txn);
            ix_forget(srv);
        } else if ((rc = mdb_txn_commit(txn))) {
            ix_forget(srv);
        } else {
            ix_publish(srv);
            atomic_fetch_add(&srv->ix.passes, 1);
        }
        /* Too many pages for one txn (big tables, little overlap between claims): halve the
         * pass, and win the size back after IX_PASS_REGROW passes that went through. */
        if (rc == MDB_TXN_FULL && max > IX_PASS_MIN) {
            max = halve_pass(w);
            continue;
        }
        if (rc != MDB_MAP_FULL || tries++ >= CD_DB_GROW_TRIES || request_growth(w)) break;
    }
    pass_done(w, rc, attempt);
    return rc;
}

/* Applies the plan the pipeline built, in a txn of its own. A plan whose build failed is
 * dropped and the writer runs the pass itself (which reports why). One that cannot be applied
 * is dropped and the next is built: after the map grew (MDB_MAP_FULL), or with half as many
 * changes (MDB_TXN_FULL); any other failure is the pass's, reported as the writer's own
 * passes are. A stale one (another pass ran since it was built) is dropped for the next.
 * -1 when no pass went through. */
static int run_pipe_plan(cd_writer *w)
{
    cd_server *srv = w->srv;
    cd_call *c = w->ixcall;
    int built, rc;
    cd_ixplan *plan = cd_ixpipe_take(w->pipe, &built);
    if (!plan) return -1;
    if (!built) {
        cd_ixpipe_release(w->pipe);
        atomic_fetch_add(&srv->ix.plans_dropped, 1);
        return run_index_pass(w) ? -1 : 0;
    }
    uint64_t attempt = atomic_fetch_add(&srv->ix.attempts, 1) + 1;
    uint64_t last = cd_ixplan_last(plan), written = 0;
    MDB_txn *txn;
    cd_call_reset(c);
    msgpack_zone_clear(&c->zone);
    if (!(rc = mdb_txn_begin(srv->db.env, NULL, 0, &txn))) {
        int applied = cd_ixplan_apply(c, txn, plan, &written);
        if (applied) {
            mdb_txn_abort(txn);
            rc = applied == CD_IXPLAN_STALE ? -1 : c->mdb_rc ? c->mdb_rc : MDB_BAD_TXN;
        } else {
            rc = mdb_txn_commit(txn);
        }
    }
    cd_ixpipe_release(w->pipe);
    if (!rc) {
        srv->ix.pend_indexed = last;
        srv->ix.pend_postings += written;
        ix_publish(srv);
        atomic_fetch_add(&srv->ix.passes, 1);
        atomic_fetch_add(&srv->ix.plans, 1);
        pass_done(w, 0, attempt);
        return 0;
    }
    ix_forget(srv);
    atomic_fetch_add(&srv->ix.plans_dropped, 1);
    int again = rc == -1;                              /* stale */
    if (rc == MDB_TXN_FULL && w->ix_pass_max > IX_PASS_MIN) {
        halve_pass(w);
        again = 1;
    } else if (rc == MDB_MAP_FULL && request_growth(w) == 0) {
        again = 1;
    }
    if (again) {
        cd_ixpipe_kick(w->pipe, atomic_load(&srv->ix.wanted));
        return -1;
    }
    pass_done(w, rc, attempt);
    return -1;
}

/* One step of each family's merges (search postings, claim index) in txn, st their sum. */
static int merge_step(cd_call *c, MDB_txn *txn, size_t budget, cd_run_step *st)
{
    cd_run_step ix;
    if (cd_runs_merge_step(c, txn, budget, st) || cd_ixruns_merge_step(c, txn, budget, &ix)) return -1;
    st->more = st->more > ix.more ? st->more : ix.more;
    st->finished += ix.finished;
    st->moved += ix.moved;
    return 0;
}

/* Merge steps of the runs (search_runs.h, index_runs.h), each in a txn of its own, after a pass: at
 * least one, so merges keep up under a steady stream of writes, and more while no write
 * waits, up to MERGE_STEPS_MAX_NS; what is left goes on whenever the writer is idle
 * (w->merge_more). A failed step is logged and left for the next pass. */
static void run_merge_steps(cd_writer *w)
{
    cd_server *srv = w->srv;
    cd_call *c = w->ixcall;
    int64_t start = (int64_t)uv_hrtime();
    for (int steps = 0;; steps++) {
        /* Each posting a pass writes is rewritten about once per size class it climbs: until
         * the merges did MERGE_WORK times the postings passes wrote, or the runs pile up, the
         * steps go on even while writes wait, so merges keep pace with any write load. */
        if (steps && w->merge_more < 2 && srv->ix.pend_postings == 0) {
            pthread_mutex_lock(&w->mu);
            int waiting = w->queue_head != NULL || w->stop;
            pthread_mutex_unlock(&w->mu);
            if (waiting || (int64_t)uv_hrtime() - start > MERGE_STEPS_MAX_NS) return;
        }
        MDB_txn *txn;
        cd_run_step st;
        int rc;
        cd_call_reset(c);
        msgpack_zone_clear(&c->zone);
        if ((rc = mdb_txn_begin(srv->db.env, NULL, 0, &txn))) { cd_error("run merge: %s", mdb_strerror(rc)); return; }
        w->merge_more = 0;                       /* a failed step waits for the next pass */
        if (merge_step(c, txn, srv->cfg.merge_step, &st)) {
            mdb_txn_abort(txn);
            /* Out of room: the next pass grows the map; the merge waits for it. */
            if (c->mdb_rc != MDB_MAP_FULL) cd_error("run merge failed: %s", c->err_msg);
            return;
        }
        if ((rc = mdb_txn_commit(txn))) { cd_error("run merge: %s", mdb_strerror(rc)); return; }
        atomic_fetch_add(&srv->ix.merge_steps, 1);
        if (st.finished) atomic_fetch_add(&srv->ix.merges, (uint64_t)st.finished);
        uint64_t owed = st.moved / MERGE_WORK;
        srv->ix.pend_postings = st.more && srv->ix.pend_postings > owed ? srv->ix.pend_postings - owed : 0;
        w->merge_more = st.more;
        if (!st.more) return;
    }
}

/* Whether the index has changes to catch up on and may try: after a failed pass, only once
 * new changes came or a reader asks (writer thread). */
static int index_behind(const cd_writer *w)
{
    return w->srv->ix.pend_indexed < w->srv->ix.pend_committed &&
           (!w->ix_stalled || atomic_load(&w->srv->ix.wanted) ||
            (int64_t)uv_hrtime() - w->ix_failed_at >= IX_RETRY_NS);
}

/* Whether the index pass goes before the next write batch: readers wait for it, it fell a
 * whole pass behind (which bounds the catch-up after a crash and a reader's wait), or it has
 * lagged ten idle delays under a steady stream of writes. */
static int index_first(const cd_writer *w)
{
    return index_behind(w) && (atomic_load(&w->srv->ix.wanted) ||
                               w->srv->ix.pend_committed - w->srv->ix.pend_indexed >= CD_IX_PASS_MAX ||
                               (w->ix_behind_since && (int64_t)uv_hrtime() - w->ix_behind_since > 10 * IX_IDLE_DELAY_NS));
}

/* Waits (w->mu held) for work: a write batch (1), an index pass (0) once the index has
 * lagged IX_IDLE_DELAY_NS or a reader waits for it, merge steps (2) when nothing else is to
 * do; -1 when the writer must stop. With the pipeline, a plan it built (3) goes first, it
 * decides when passes are due, and write batches wait for its plan once the index lags
 * IX_LAG_MAX; after a failed pass the writer runs the passes itself until the next batch. */
static int wait_for_work(cd_writer *w)
{
    for (;;) {
        if (pipe_in_use(w) && cd_ixpipe_ready(w->pipe)) return 3;
        if (pipe_in_use(w) && !w->ix_stalled) {
            if (w->queue_head) {
                if (w->srv->ix.pend_committed - w->srv->ix.pend_indexed < IX_LAG_MAX) return 1;
                cd_ixpipe_kick(w->pipe, 1);
            } else if (w->stop) {
                return -1;
            } else if (w->merge_more) {
                return 2;
            }
            pthread_cond_wait(&w->wake, &w->mu);
            continue;
        }
        int behind = index_behind(w);
        if (!behind) w->ix_behind_since = 0;
        else if (!w->ix_behind_since) w->ix_behind_since = (int64_t)uv_hrtime();
        if (w->queue_head) return index_first(w) ? 0 : 1;
        if (w->stop) return -1;
        if (!behind && w->merge_more) return 2;
        int64_t due = w->ix_behind_since + IX_IDLE_DELAY_NS;
        if (!behind && w->ix_stalled && w->srv->ix.pend_indexed < w->srv->ix.pend_committed)
            due = w->ix_failed_at + IX_RETRY_NS;     /* a failed pass is tried again by itself */
        else if (!behind) { pthread_cond_wait(&w->wake, &w->mu); continue; }
        if (atomic_load(&w->srv->ix.wanted) || (int64_t)uv_hrtime() >= due) return 0;
        cd_cond_wait_until(&w->wake, &w->mu, due);
    }
}

static void *writer_main(void *arg)
{
    cd_writer *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        int work = wait_for_work(w);
        if (work < 0) { pthread_mutex_unlock(&w->mu); break; }
        if (work == 0) {
            pthread_mutex_unlock(&w->mu);
            if (run_index_pass(w) == 0) run_merge_steps(w);
            w->ix_behind_since = 0;
            continue;
        }
        if (work == 2) {
            pthread_mutex_unlock(&w->mu);
            run_merge_steps(w);
            continue;
        }
        if (work == 3) {
            pthread_mutex_unlock(&w->mu);
            if (run_pipe_plan(w) == 0) run_merge_steps(w);
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

        run_batch(w, batch);
        check_disk_room(w);
        if (pipe_in_use(w)) cd_ixpipe_kick(w->pipe, 0);
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
        /* The pipeline's read txn, if one is open, ends within one plan's build. */
        if (w->pipe) cd_ixpipe_hold(w->pipe);
        int rc = cd_db_grow(&srv->db, 0);
        if (w->pipe) cd_ixpipe_unhold(w->pipe);
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
    if (srv->ix.waiters) cd_conn_ix_resume(srv);
}

/* Frees the writer thread's own index pass plan. */
static void free_buffers(cd_server *srv)
{
    cd_ixplan_free(srv->ixplan);
    srv->ixplan = NULL;
}

/* Pipeline thread: a plan is ready; wake the writer to apply it. */
static void on_plan_ready(void *arg)
{
    cd_writer *w = arg;
    pthread_mutex_lock(&w->mu);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
}

cd_writer *cd_writer_start(cd_server *srv, cd_writer_done_fn done)
{
    cd_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->srv = srv;
    w->done = done;
    w->ix_pass_max = CD_IX_PASS_MAX;
    atomic_store(&w->disk_roomy, 1);
    w->disk_checked_at = INT64_MIN / 2;
    check_disk_room(w);
    if (!(srv->ixplan = cd_ixplan_new()) || !(w->ixcall = cd_call_new_internal(srv))) {
        free_buffers(srv);
        free(w);
        return NULL;
    }
    /* Where the index stands: a restart catches up from meta "indexed" while readers wait. */
    MDB_txn *txn;
    if (mdb_txn_begin(srv->db.env, NULL, MDB_RDONLY, &txn) == 0) {
        srv->ix.pend_committed = cd_db_next_id(txn, srv->db.dbi[CD_DBI_CHANGES]) - 1;
        srv->ix.pend_indexed = cd_ixplan_indexed(srv, txn);
        mdb_txn_abort(txn);
    }
    ix_publish(srv);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (uv_async_init(srv->loop, &w->async, on_async)) goto fail;
    w->async.data = w;
    /* Without the pipeline the writer builds every pass itself (--index-threads 0). */
    if (srv->cfg.index_threads && !(w->pipe = cd_ixpipe_start(srv, w->ix_pass_max, on_plan_ready, w))) {
        uv_close((uv_handle_t *)&w->async, NULL);
        goto fail;
    }
    if (pthread_create(&w->thread, NULL, writer_main, w)) {
        cd_ixpipe_stop(w->pipe);
        uv_close((uv_handle_t *)&w->async, NULL);
        goto fail;
    }
    /* A restart that finds the index behind builds a plan at once. */
    if (w->pipe && srv->ix.pend_indexed < srv->ix.pend_committed) cd_ixpipe_kick(w->pipe, 1);
    return w;
fail:
    cd_error("cannot start the writer thread");
    cd_call_free(w->ixcall);
    free_buffers(srv);
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
    free_buffers(w->srv);
    cd_call_free(w->ixcall);
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
    cd_ixpipe_stop(w->pipe);     /* after the writer: its last batches may have waited for a plan */
    w->pipe = NULL;
    uv_close((uv_handle_t *)&w->async, free_on_close);
}

void cd_writer_want_index(cd_writer *w)
{
    atomic_store(&w->srv->ix.wanted, 1);
    if (pipe_in_use(w)) cd_ixpipe_kick(w->pipe, 1);
    pthread_mutex_lock(&w->mu);
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->mu);
}

void cd_writer_kick(cd_writer *w)
{
    uv_async_send(&w->async);
}
