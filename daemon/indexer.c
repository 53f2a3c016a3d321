/* indexer: the index pipeline's writer-side state and policy (see indexer.h). */
#include <errno.h>
#include <stdlib.h>
#include <sys/statvfs.h>
#include <uv.h>
#include "call.h"
#include "db.h"
#include "dispatch.h"
#include "index_runs.h"
#include "indexer.h"
#include "ixpass.h"
#include "ixpipe.h"
#include "ixplan.h"
#include "log.h"
#include "search_runs.h"
#include "server.h"

/* How long the index may lag behind idle time: a pass is a commit of its own, so a client
 * writing one claim at a time would otherwise pay two commits per claim. Readers waiting for
 * the index do not wait for this. */
#define IX_IDLE_DELAY_NS CD_IX_IDLE_DELAY_NS
#define IX_PASS_MIN 16           /* the smallest pass MDB_TXN_FULL can halve it to */
#define MERGE_STEPS_MAX_NS 50000000LL /* merge steps after a pass, while no write waits */
#define MERGE_WORK 8                 /* postings merged per posting a pass wrote, at least */
#define IX_PASS_REGROW 64        /* passes after a halving before the size doubles again */
#define PIPE_MIN_FREE ((uint64_t)256 << 20) /* free disk below which passes leave the pipeline */
#define DISK_CHECK_NS 100000000LL    /* how often the writer looks at the free disk */

struct cd_indexer {
    cd_server *srv;
    cd_indexer_hooks hooks;
    cd_call *call;               /* writer thread: the index pass's memory and error */
    int stalled;                 /* writer thread: a pass failed; retry after the next commit */
    int64_t behind_since;        /* writer thread: when the index fell behind (0: it is not) */
    int64_t failed_at;           /* writer thread: uv_hrtime of the last failed pass */
    size_t pass_max;             /* writer thread: changes a pass takes (halved on MDB_TXN_FULL) */
    int pass_ok;                 /* writer thread: passes that went through since it was halved */
    int merge_more;              /* writer thread: run merge work is left (run when idle) */
    int rest_done;               /* writer thread: rest merges were started (or none was due)
                                    since the last write batch */
    int64_t wrote_at;            /* writer thread: uv_hrtime of the last write batch */
    cd_ixpipe *pipe;             /* builds the passes beside the writer (NULL: the writer does) */
    _Atomic int disk_roomy;      /* the data's file system has PIPE_MIN_FREE free (check_disk_room) */
    int64_t disk_checked_at;     /* writer thread: uv_hrtime of that look */
    cd_call *waiters;            /* loop thread: parked reads, in arrival order */
};

/* Whether the index has changes to catch up on and may try: after a failed pass, only once
 * new changes came or a reader asks. */
static int index_behind(const cd_indexer_view *v)
{
    return v->indexed < v->committed &&
           (!v->stalled || v->wanted || v->now - v->failed_at >= CD_IX_RETRY_NS);
}

/* Whether the index pass goes before the next write batch: readers wait for it, it fell a
 * whole pass behind (which bounds the catch-up after a crash and a reader's wait), or it has
 * lagged ten idle delays under a steady stream of writes. */
static int index_first(const cd_indexer_view *v, int64_t behind_since)
{
    return index_behind(v) && (v->wanted || v->committed - v->indexed >= CD_IX_PASS_MAX ||
                               (behind_since && v->now - behind_since > 10 * IX_IDLE_DELAY_NS));
}

/* With nothing else to do: the rest merges once the writer has been idle CD_IX_REST_DELAY_NS
 * (once per stretch of idleness), else a wait until then. */
static void rest_or_wait(const cd_indexer_view *v, cd_indexer_decision *d)
{
    if (!v->rest_pending) return;
    int64_t due = v->wrote_at + CD_IX_REST_DELAY_NS;
    if (v->now >= due) {
        d->action = CD_IX_DO_REST;
    } else {
        d->action = CD_IX_DO_WAIT_UNTIL;
        d->due = due;
    }
}

/* A write batch (CD_IX_DO_WRITE), an index pass once the index has lagged IX_IDLE_DELAY_NS or a
 * reader waits for it, merge steps when nothing else is to do, the rest merges once idle a
 * while (rest_or_wait), stop when the writer must. With the pipeline, a plan it built goes
 * first, it decides when passes are due, and write batches wait for its plan once the index
 * lags CD_IX_LAG_MAX; after a failed pass the writer runs the passes itself until the next
 * batch. */
cd_indexer_decision cd_indexer_decide(const cd_indexer_view *v)
{
    cd_indexer_decision d = { CD_IX_DO_WAIT, 0, v->behind_since, 0 };
    if (v->pipe_in_use && v->plan_ready) { d.action = CD_IX_DO_PLAN; return d; }
    if (v->pipe_in_use && !v->stalled) {
        if (v->writes_queued) {
            if (v->committed - v->indexed < CD_IX_LAG_MAX) d.action = CD_IX_DO_WRITE;
            else d.kick_urgent = 1;
        } else if (v->stopping) {
            d.action = CD_IX_DO_STOP;
        } else if (v->merge_more) {
            d.action = CD_IX_DO_MERGE;
        } else if (v->indexed >= v->committed) {
            rest_or_wait(v, &d);
        }
        return d;
    }
    int behind = index_behind(v);
    if (!behind) d.behind_since = 0;
    else if (!d.behind_since) d.behind_since = v->now;
    if (v->writes_queued) { d.action = index_first(v, d.behind_since) ? CD_IX_DO_PASS : CD_IX_DO_WRITE; return d; }
    if (v->stopping) { d.action = CD_IX_DO_STOP; return d; }
    if (!behind && v->merge_more) { d.action = CD_IX_DO_MERGE; return d; }
    int64_t due = d.behind_since + IX_IDLE_DELAY_NS;
    if (!behind && v->stalled && v->indexed < v->committed)
        due = v->failed_at + CD_IX_RETRY_NS;     /* a failed pass is tried again by itself */
    else if (!behind) { rest_or_wait(v, &d); return d; }
    if (v->wanted || v->now >= due) { d.action = CD_IX_DO_PASS; return d; }
    d.action = CD_IX_DO_WAIT_UNTIL;
    d.due = due;
    return d;
}

void cd_indexer_logged(cd_indexer *ix, const cd_call *c)
{
    if (c->nchanges) ix->srv->ix.pend_committed = c->changes[c->nchanges - 1].seq;
}

void cd_indexer_committed(cd_indexer *ix)
{
    cd_server *srv = ix->srv;
    atomic_store(&srv->ix.committed, srv->ix.pend_committed);
    atomic_store(&srv->ix.indexed, srv->ix.pend_indexed);
}

void cd_indexer_aborted(cd_indexer *ix)
{
    cd_server *srv = ix->srv;
    srv->ix.pend_committed = atomic_load(&srv->ix.committed);
    srv->ix.pend_indexed = atomic_load(&srv->ix.indexed);
}

/* Whether passes come from the pipeline: not while they fail for want of space, nor while the
 * data's file system is short of room. The pipeline's read snapshots, open most of the time
 * under writes, keep the pages the writer's commits free from being reused until they end,
 * so the file grows by that slack; on a nearly full disk that slack is the last of it, and
 * the writer runs the passes itself (no snapshot held) until room is back. */
static int pipe_in_use(const cd_indexer *ix)
{
    return ix->pipe && atomic_load(&ix->disk_roomy) && !atomic_load(&ix->srv->ix.failing_full);
}

/* Writer thread: looks at the data's free space again when the last look is old. */
static void check_disk_room(cd_indexer *ix)
{
    int64_t now = (int64_t)uv_hrtime();
    if (now - ix->disk_checked_at < DISK_CHECK_NS) return;
    ix->disk_checked_at = now;
    struct statvfs st;
    if (statvfs(ix->srv->cfg.data_dir, &st) < 0) return;
    atomic_store(&ix->disk_roomy, (uint64_t)st.f_bavail * st.f_frsize >= PIPE_MIN_FREE);
}

/* After a pass, applied or failed: the pass size won back, the failure state, the loop told
 * (to wake the readers waiting). */
static void pass_done(cd_indexer *ix, int rc, uint64_t attempt)
{
    cd_server *srv = ix->srv;
    cd_call *c = ix->call;
    if (!rc && ix->pass_max < CD_IX_PASS_MAX && ++ix->pass_ok >= IX_PASS_REGROW) {
        ix->pass_max *= 2;
        ix->pass_ok = 0;
        if (ix->pipe) cd_ixpipe_set_max(ix->pipe, ix->pass_max);
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
    ix->stalled = rc != 0;
    if (rc) ix->failed_at = (int64_t)uv_hrtime();
    ix->hooks.tell_loop(ix->hooks.arg);
    /* More to index: the pipeline may build the next plan from the state this pass left. */
    if (pipe_in_use(ix) && srv->ix.pend_indexed < srv->ix.pend_committed) cd_ixpipe_kick(ix->pipe, 0);
}

/* A pass was too big for one txn (big tables, little overlap between claims): halves the
 * changes a pass takes, the pipeline's too; won back after IX_PASS_REGROW passes (pass_done).
 * Returns the new size. */
static size_t halve_pass(cd_indexer *ix)
{
    ix->pass_max /= 2;
    ix->pass_ok = 0;
    if (ix->pipe) cd_ixpipe_set_max(ix->pipe, ix->pass_max);
    cd_info("index pass too big for one transaction: %zu changes a pass from now", ix->pass_max);
    return ix->pass_max;
}

/* One index pass in a txn of its own (growing the map when it must). Returns 0 or the code it
 * failed with, after logging why; the loop is told either way, to wake the readers waiting. */
static int run_index_pass(cd_indexer *ix)
{
    cd_server *srv = ix->srv;
    cd_call *c = ix->call;
    int rc, tries = 0;
    size_t max = ix->pass_max;
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
            cd_indexer_aborted(ix);
        } else if ((rc = mdb_txn_commit(txn))) {
            cd_indexer_aborted(ix);
        } else {
            cd_indexer_committed(ix);
            atomic_fetch_add(&srv->ix.passes, 1);
        }
        /* Too many pages for one txn (big tables, little overlap between claims): halve the
         * pass, and win the size back after IX_PASS_REGROW passes that went through. */
        if (rc == MDB_TXN_FULL && max > IX_PASS_MIN) {
            max = halve_pass(ix);
            continue;
        }
        if (rc != MDB_MAP_FULL || tries++ >= CD_DB_GROW_TRIES || ix->hooks.grow(ix->hooks.arg)) break;
    }
    pass_done(ix, rc, attempt);
    return rc;
}

/* Applies the plan the pipeline built, in a txn of its own. A plan whose build failed is
 * dropped and the writer runs the pass itself (which reports why). One that cannot be applied
 * is dropped and the next is built: after the map grew (MDB_MAP_FULL), or with half as many
 * changes (MDB_TXN_FULL); any other failure is the pass's, reported as the writer's own
 * passes are. A stale one (another pass ran since it was built) is dropped for the next.
 * -1 when no pass went through. */
static int run_pipe_plan(cd_indexer *ix)
{
    cd_server *srv = ix->srv;
    cd_call *c = ix->call;
    int built, rc;
    cd_ixplan *plan = cd_ixpipe_take(ix->pipe, &built);
    if (!plan) return -1;
    if (!built) {
        cd_ixpipe_release(ix->pipe);
        atomic_fetch_add(&srv->ix.plans_dropped, 1);
        return run_index_pass(ix) ? -1 : 0;
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
    cd_ixpipe_release(ix->pipe);
    if (!rc) {
        srv->ix.pend_indexed = last;
        srv->ix.pend_postings += written;
        cd_indexer_committed(ix);
        atomic_fetch_add(&srv->ix.passes, 1);
        atomic_fetch_add(&srv->ix.plans, 1);
        pass_done(ix, 0, attempt);
        return 0;
    }
    cd_indexer_aborted(ix);
    atomic_fetch_add(&srv->ix.plans_dropped, 1);
    int again = rc == -1;                              /* stale */
    if (rc == MDB_TXN_FULL && ix->pass_max > IX_PASS_MIN) {
        halve_pass(ix);
        again = 1;
    } else if (rc == MDB_MAP_FULL && ix->hooks.grow(ix->hooks.arg) == 0) {
        again = 1;
    }
    if (again) {
        cd_ixpipe_kick(ix->pipe, atomic_load(&srv->ix.wanted));
        return -1;
    }
    pass_done(ix, rc, attempt);
    return -1;
}

/* One step of each family's merges (search postings, claim index) in txn, st their sum. */
static int merge_step(cd_call *c, MDB_txn *txn, size_t budget, cd_run_step *st)
{
    cd_run_step idx;
    if (cd_runs_merge_step(c, txn, budget, st) || cd_ixruns_merge_step(c, txn, budget, &idx)) return -1;
    st->more = st->more > idx.more ? st->more : idx.more;
    st->finished += idx.finished;
    st->moved += idx.moved;
    return 0;
}

/* Merge steps of the runs (search_runs.h, index_runs.h), each in a txn of its own, after a pass: at
 * least one, so merges keep up under a steady stream of writes, and more while no write
 * waits, up to MERGE_STEPS_MAX_NS; what is left goes on whenever the writer is idle
 * (ix->merge_more). A failed step is logged and left for the next pass. */
static void run_merge_steps(cd_indexer *ix)
{
    cd_server *srv = ix->srv;
    cd_call *c = ix->call;
    int64_t start = (int64_t)uv_hrtime();
    for (int steps = 0;; steps++) {
        /* Each posting a pass writes is rewritten about once per size class it climbs: until
         * the merges did MERGE_WORK times the postings passes wrote, or the runs pile up, the
         * steps go on even while writes wait, so merges keep pace with any write load. */
        if (steps && ix->merge_more < 2 && srv->ix.pend_postings == 0) {
            int waiting = ix->hooks.writes_wait(ix->hooks.arg);
            if (waiting || (int64_t)uv_hrtime() - start > MERGE_STEPS_MAX_NS) return;
        }
        MDB_txn *txn;
        cd_run_step st;
        int rc;
        cd_call_reset(c);
        msgpack_zone_clear(&c->zone);
        if ((rc = mdb_txn_begin(srv->db.env, NULL, 0, &txn))) { cd_error("run merge: %s", mdb_strerror(rc)); return; }
        ix->merge_more = 0;                      /* a failed step waits for the next pass */
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
        ix->merge_more = st.more;
        if (!st.more) {
            if (ix->rest_done) atomic_store(&srv->ix.at_rest, 1);   /* the rest merges ended */
            return;
        }
    }
}

/* Starts the rest merges of both families (runs.h, cd_run_pick_rest) in a txn of their own;
 * 1 when one started (the merge steps carry it out), else 0, and at rest (srv->ix.at_rest) then.
 * A failure is logged and waits for the next stretch of idleness. */
static int run_rest_start(cd_indexer *ix)
{
    cd_server *srv = ix->srv;
    cd_call *c = ix->call;
    cd_run_family fams[2] = { cd_run_family_search(&srv->db), cd_run_family_index(&srv->db) };
    MDB_txn *txn;
    int rc, started = 0;
    ix->rest_done = 1;
    cd_call_reset(c);
    msgpack_zone_clear(&c->zone);
    if ((rc = mdb_txn_begin(srv->db.env, NULL, 0, &txn))) { cd_error("rest merge: %s", mdb_strerror(rc)); return 0; }
    for (int i = 0; i < 2; i++) {
        int one;
        if (cd_run_rest_start(c, txn, &fams[i], &one)) {
            mdb_txn_abort(txn);
            if (c->mdb_rc != MDB_MAP_FULL) cd_error("rest merge failed: %s", c->err_msg);
            return 0;
        }
        started |= one;
    }
    if (!started) {                          /* the runs are as few as the policy makes them */
        mdb_txn_abort(txn);
        atomic_store(&srv->ix.at_rest, 1);
        return 0;
    }
    if ((rc = mdb_txn_commit(txn))) {
        cd_error("rest merge: %s", mdb_strerror(rc));
        return 0;
    }
    ix->merge_more = 1;
    return 1;
}

cd_indexer_decision cd_indexer_next(cd_indexer *ix, int writes_queued, int stopping)
{
    cd_server *srv = ix->srv;
    cd_indexer_view v = {
        .writes_queued = writes_queued,
        .stopping = stopping,
        .pipe_in_use = pipe_in_use(ix),
        .wanted = atomic_load(&srv->ix.wanted),
        .stalled = ix->stalled,
        .merge_more = ix->merge_more,
        .rest_pending = !ix->rest_done,
        .wrote_at = ix->wrote_at,
        .committed = srv->ix.pend_committed,
        .indexed = srv->ix.pend_indexed,
        .behind_since = ix->behind_since,
        .failed_at = ix->failed_at,
        .now = (int64_t)uv_hrtime(),
    };
    v.plan_ready = v.pipe_in_use && cd_ixpipe_ready(ix->pipe);
    cd_indexer_decision d = cd_indexer_decide(&v);
    ix->behind_since = d.behind_since;
    if (d.kick_urgent) cd_ixpipe_kick(ix->pipe, 1);
    return d;
}

void cd_indexer_run(cd_indexer *ix, cd_indexer_action a)
{
    switch (a) {
    case CD_IX_DO_PASS:
        if (run_index_pass(ix) == 0) run_merge_steps(ix);
        ix->behind_since = 0;
        break;
    case CD_IX_DO_PLAN:
        if (run_pipe_plan(ix) == 0) run_merge_steps(ix);
        break;
    case CD_IX_DO_MERGE:
        run_merge_steps(ix);
        break;
    case CD_IX_DO_REST:
        if (run_rest_start(ix)) run_merge_steps(ix);
        break;
    default:
        break;
    }
}

int cd_indexer_refuses_writes(const cd_indexer *ix, uint64_t *lag)
{
    cd_server *srv = ix->srv;
    *lag = srv->ix.pend_committed - srv->ix.pend_indexed;
    return atomic_load(&srv->ix.failing_full) && *lag >= CD_IX_LAG_FULL;
}

void cd_indexer_after_batch(cd_indexer *ix, int ran)
{
    if (ran) {
        ix->stalled = 0;                 /* new changes: a failed pass may go through now */
        ix->rest_done = 0;               /* and the runs they make are merged at the next rest */
        ix->wrote_at = (int64_t)uv_hrtime();
        atomic_store(&ix->srv->ix.at_rest, 0);
    }
    check_disk_room(ix);
    if (pipe_in_use(ix)) cd_ixpipe_kick(ix->pipe, 0);
}

/* Loop thread: readers wait for the index; a pass is wanted before the next write batch. */
static void want_index(cd_indexer *ix)
{
    atomic_store(&ix->srv->ix.wanted, 1);
    if (pipe_in_use(ix)) cd_ixpipe_kick(ix->pipe, 1);
    ix->hooks.wake(ix->hooks.arg);
}

/* Checks the deadlines of reads waiting for a min_seq while any wait (dispatch.h). */
static uv_timer_t wait_timer;
static int wait_timer_ready;

static void on_wait_timer(uv_timer_t *t)
{
    cd_indexer *ix = t->data;
    if (ix->waiters) cd_indexer_resume_parked(ix);
    if (!ix->waiters) uv_timer_stop(t);
}

int cd_indexer_park(cd_indexer *ix, cd_call *call, cd_indexer_resume_fn resume)
{
    cd_server *srv = ix->srv;
    uint64_t committed = atomic_load(&srv->ix.committed);
    int indexed = (call->method->flags & CD_M_INDEXED) != 0;
    if (call->min_seq <= committed) {
        if (!indexed || atomic_load(&srv->ix.indexed) >= committed) return 0;
        /* Passes fail for want of space: answer from the index as far as it got (it lags at most
         * CD_IX_LAG_FULL changes: writes beyond are refused) rather than wait for one. */
        if (atomic_load(&srv->ix.failing_full)) return 0;
    }
    if (call->min_seq > committed) {
        if (!wait_timer_ready) {
            uv_timer_init(srv->loop, &wait_timer);
            uv_unref((uv_handle_t *)&wait_timer);
            wait_timer_ready = 1;
        }
        wait_timer.data = ix;
        if (!uv_is_active((uv_handle_t *)&wait_timer)) uv_timer_start(&wait_timer, on_wait_timer, 20, 20);
    }
    call->ix_target = call->min_seq > committed ? call->min_seq : committed;
    call->ix_attempt = atomic_load(&srv->ix.attempts) + 1;   /* a pass that starts from now */
    call->ix_resume = resume;
    call->next = NULL;
    cd_call **tail = &ix->waiters;
    while (*tail) tail = &(*tail)->next;
    *tail = call;
    want_index(ix);
    return 1;
}

void cd_indexer_resume_parked(cd_indexer *ix)
{
    cd_server *srv = ix->srv;
    if (!ix->waiters) return;
    uint64_t indexed = atomic_load(&srv->ix.indexed), failed = atomic_load(&srv->ix.failed_attempt);
    uint64_t committed = atomic_load(&srv->ix.committed);
    int64_t now = (int64_t)uv_hrtime();
    cd_call **p = &ix->waiters, *ready = NULL, **ready_tail = &ready;
    while (*p) {
        cd_call *call = *p;
        /* Ready when the index got there (a read that is not of the indexes: the seq it waits
         * for committed), when a pass attempted for it failed (an older failure says nothing
         * about the state now), or when its min_seq wait timed out. */
        int of_index = (call->method->flags & CD_M_INDEXED) != 0;
        uint64_t have = of_index ? indexed : committed;
        int expired = call->min_seq > committed && call->wait_deadline_ns && now >= call->wait_deadline_ns;
        if (call->ix_target > have && (!of_index || failed < call->ix_attempt) && !expired) { p = &call->next; continue; }
        *p = call->next;
        call->next = NULL;
        *ready_tail = call;
        ready_tail = &call->next;
    }
    if (ix->waiters) want_index(ix);
    while (ready) {
        cd_call *call = ready;
        ready = call->next;
        if (call->min_seq > committed)
            cd_fail(call, CLAIMD_E_BUSY, NULL, "seq %llu has not committed here in time (this claimd is at seq %llu)",
                    (unsigned long long)call->min_seq, (unsigned long long)committed);
        else if ((call->method->flags & CD_M_INDEXED) && call->ix_target > indexed && !atomic_load(&srv->ix.failing_full))
            cd_fail(call, CLAIMD_E_INTERNAL, NULL, "the index cannot catch up with the latest writes (see the log)");
        call->ix_resume(call);
    }
}

void cd_indexer_abandon_parked(cd_indexer *ix)
{
    while (ix->waiters) {
        cd_call *call = ix->waiters;
        ix->waiters = call->next;
        call->next = NULL;
        cd_fail(call, CLAIMD_E_BUSY, NULL, "shutting down");
        call->ix_resume(call);
    }
}

void cd_indexer_hold(cd_indexer *ix)
{
    /* The pipeline's read txn, if one is open, ends within one plan's build. */
    if (ix->pipe) cd_ixpipe_hold(ix->pipe);
}

void cd_indexer_unhold(cd_indexer *ix)
{
    if (ix->pipe) cd_ixpipe_unhold(ix->pipe);
}

cd_indexer *cd_indexer_new(cd_server *srv, const cd_indexer_hooks *hooks)
{
    cd_indexer *ix = calloc(1, sizeof *ix);
    if (!ix) return NULL;
    ix->srv = srv;
    ix->hooks = *hooks;
    ix->pass_max = CD_IX_PASS_MAX;
    ix->wrote_at = (int64_t)uv_hrtime();   /* a restart merges the runs it finds at its first rest */
    atomic_store(&ix->disk_roomy, 1);
    ix->disk_checked_at = INT64_MIN / 2;
    check_disk_room(ix);
    if (!(srv->ixplan = cd_ixplan_new()) || !(ix->call = cd_call_new_internal(srv))) {
        cd_indexer_free(ix);
        return NULL;
    }
    /* Where the index stands: a restart catches up from meta "indexed" while readers wait. */
    MDB_txn *txn;
    if (mdb_txn_begin(srv->db.env, NULL, MDB_RDONLY, &txn) == 0) {
        srv->ix.pend_committed = cd_db_next_id(txn, srv->db.dbi[CD_DBI_CHANGES]) - 1;
        srv->ix.pend_indexed = cd_ixplan_indexed(&srv->db, txn);
        mdb_txn_abort(txn);
    }
    cd_indexer_committed(ix);
    return ix;
}

int cd_indexer_start_pipeline(cd_indexer *ix)
{
    /* Without the pipeline the writer builds every pass itself (--index-threads 0). */
    if (ix->srv->cfg.index_threads &&
        !(ix->pipe = cd_ixpipe_start(ix->srv, ix->pass_max, ix->hooks.wake, ix->hooks.arg)))
        return -1;
    return 0;
}

void cd_indexer_begin(cd_indexer *ix)
{
    cd_server *srv = ix->srv;
    /* A restart that finds the index behind builds a plan at once. */
    if (ix->pipe && srv->ix.pend_indexed < srv->ix.pend_committed) cd_ixpipe_kick(ix->pipe, 1);
}

void cd_indexer_stop_pipeline(cd_indexer *ix)
{
    cd_ixpipe_stop(ix->pipe);
    ix->pipe = NULL;
}

void cd_indexer_free(cd_indexer *ix)
{
    if (!ix) return;
    /* The min_seq timer outlives ix (it is never closed): it must not fire for it any more. */
    if (wait_timer_ready && wait_timer.data == ix) uv_timer_stop(&wait_timer);
    cd_indexer_stop_pipeline(ix);
    /* The writer thread's own index pass plan. */
    cd_ixplan_free(ix->srv->ixplan);
    ix->srv->ixplan = NULL;
    cd_call_free(ix->call);
    free(ix);
}
