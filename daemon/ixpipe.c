/* ixpipe: building index passes on a thread of their own (see ixpipe.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <uv.h>
#include "call.h"
#include "cond_until.h"
#include "ixpass.h"
#include "ixpipe.h"
#include "log.h"
#include "server.h"

typedef enum { PIPE_IDLE, PIPE_BUILDING, PIPE_READY, PIPE_TAKEN } pipe_state;

struct cd_ixpipe {
    cd_server *srv;
    cd_ixpipe_ready_fn ready;
    void *ready_arg;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    pthread_mutex_t txn_mu;      /* held while the thread has a read txn open (cd_ixpipe_hold) */
    /* Guarded by mu: */
    pipe_state state;
    int stop;
    int kicked, urgent;          /* changes committed since the last plan began; a reader waits */
    int built_ok;                /* of the ready plan */
    int64_t behind_since, last_kick; /* uv_hrtime of the first and last kick since the last plan */
    _Atomic size_t max;
    cd_call *call;               /* the thread's memory and error */
    cd_ixplan *plan;
};

/* Whether a plan is due now (mu held); otherwise *due is when it will be. */
static int plan_due(cd_ixpipe *p, int64_t now, int64_t *due)
{
    cd_server *srv = p->srv;
    uint64_t committed = atomic_load(&srv->ix.committed), indexed = atomic_load(&srv->ix.indexed);
    if (p->urgent || committed - indexed >= atomic_load(&p->max) / 2) return 1;
    int64_t steady = p->behind_since + 10 * CD_IX_IDLE_DELAY_NS, idle = p->last_kick + CD_IX_IDLE_DELAY_NS;
    *due = steady < idle ? steady : idle;
    return now >= *due;
}

/* Trades the build's read txn for a fresh snapshot, letting a map growth in between. */
static int renew_txn(void *arg, MDB_txn **txn)
{
    cd_ixpipe *p = arg;
    mdb_txn_reset(*txn);
    pthread_mutex_unlock(&p->txn_mu);
    pthread_mutex_lock(&p->txn_mu);
    return mdb_txn_renew(*txn);   /* the same handle: a reset one may still be aborted */
}

/* Builds the next plan from read txns renewed every few claims. */
static void build_plan(cd_ixpipe *p)
{
    cd_call *c = p->call;
    MDB_txn *txn;
    int ok = 0;
    cd_call_reset(c);
    msgpack_zone_clear(&c->zone);
    pthread_mutex_lock(&p->txn_mu);
    int rc = mdb_txn_begin(p->srv->db.env, NULL, MDB_RDONLY, &txn);
    if (rc == 0) {
        ok = cd_ixplan_build(c, txn, p->plan, atomic_load(&p->max), renew_txn, p) == 0;
        mdb_txn_abort(txn);
    }
    pthread_mutex_unlock(&p->txn_mu);
    if (!ok) cd_debug("index plan not built: %s", c->err ? c->err_msg : mdb_strerror(rc));
    pthread_mutex_lock(&p->mu);
    p->built_ok = ok;
    p->state = PIPE_READY;
    pthread_mutex_unlock(&p->mu);
    p->ready(p->ready_arg);
}

static void *pipe_main(void *arg)
{
    cd_ixpipe *p = arg;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        int64_t due = 0;
        if (p->state != PIPE_IDLE || !p->kicked) {
            pthread_cond_wait(&p->wake, &p->mu);
            continue;
        }
        if (!plan_due(p, (int64_t)uv_hrtime(), &due)) {
            cd_cond_wait_until(&p->wake, &p->mu, due);
            continue;
        }
        p->kicked = p->urgent = 0;
        p->behind_since = 0;
        p->state = PIPE_BUILDING;
        /* Readers that came before now are served by this plan or a later one. */
        atomic_store(&p->srv->ix.wanted, 0);
        pthread_mutex_unlock(&p->mu);
        build_plan(p);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

/* Frees p (NULL: nothing), its locks too when they were made. */
static void pipe_free(cd_ixpipe *p, int locks)
{
    if (!p) return;
    if (locks) {
        pthread_mutex_destroy(&p->mu);
        pthread_mutex_destroy(&p->txn_mu);
        pthread_cond_destroy(&p->wake);
    }
    cd_call_free(p->call);
    cd_ixplan_free(p->plan);
    free(p);
}

cd_ixpipe *cd_ixpipe_start(cd_server *srv, size_t max, cd_ixpipe_ready_fn ready, void *arg)
{
    cd_ixpipe *p = calloc(1, sizeof *p);
    if (!p) goto fail;
    p->srv = srv;
    p->ready = ready;
    p->ready_arg = arg;
    atomic_store(&p->max, max);
    if (!(p->call = cd_call_new_internal(srv)) || !(p->plan = cd_ixplan_new())) goto fail;
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->txn_mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    if (pthread_create(&p->thread, NULL, pipe_main, p) == 0) return p;
    pipe_free(p, 1);
    p = NULL;
fail:
    cd_error("cannot start the index pipeline thread");
    pipe_free(p, 0);
    return NULL;
}

void cd_ixpipe_stop(cd_ixpipe *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pipe_free(p, 1);
}

void cd_ixpipe_kick(cd_ixpipe *p, int urgent)
{
    int64_t now = (int64_t)uv_hrtime();
    pthread_mutex_lock(&p->mu);
    if (!p->kicked) p->behind_since = now;
    p->kicked = 1;
    p->last_kick = now;
    if (urgent) p->urgent = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

int cd_ixpipe_ready(cd_ixpipe *p)
{
    pthread_mutex_lock(&p->mu);
    int ready = p->state == PIPE_READY;
    pthread_mutex_unlock(&p->mu);
    return ready;
}

cd_ixplan *cd_ixpipe_take(cd_ixpipe *p, int *built)
{
    cd_ixplan *plan = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->state == PIPE_READY) {
        p->state = PIPE_TAKEN;
        *built = p->built_ok;
        plan = p->plan;
    }
    pthread_mutex_unlock(&p->mu);
    return plan;
}

void cd_ixpipe_release(cd_ixpipe *p)
{
    pthread_mutex_lock(&p->mu);
    if (p->state == PIPE_TAKEN) p->state = PIPE_IDLE;
    cd_ixplan_clear(p->plan);
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

void cd_ixpipe_set_max(cd_ixpipe *p, size_t max)
{
    atomic_store(&p->max, max);
}

void cd_ixpipe_hold(cd_ixpipe *p)
{
    pthread_mutex_lock(&p->txn_mu);
}

void cd_ixpipe_unhold(cd_ixpipe *p)
{
    pthread_mutex_unlock(&p->txn_mu);
}
