/* readpool: pool work with its own read txn, held back while the map must grow. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <uv.h>
#include "dispatch.h"
#include "entity.h"
#include "readpool.h"
#include "server.h"
#include "writer.h"

static int pool_nice = CD_READPOOL_DEFAULT_NICE;

struct cd_pool_work {
    uv_work_t req;
    cd_call *call;
    cd_readpool_done_fn done;
    struct cd_pool_work *next;    /* held list */
};

void cd_readpool_configure(unsigned threads, int nice)
{
    char n[16];
    pool_nice = nice;
    if (!threads) threads = CD_READPOOL_DEFAULT_THREADS;
    snprintf(n, sizeof n, "%u", threads);
    setenv("UV_THREADPOOL_SIZE", n, 1);
}

static int is_long(const cd_call *c)
{
    return (c->method->flags & CD_M_LONG) != 0;
}

/* Lowers the calling pool thread's scheduling priority once (nice is per thread on Linux): on a
 * machine with few cores the loop thread, which answers every cheap read and sends every reply,
 * then gets a core as soon as it has work instead of waiting for a time slice behind the
 * searches (measured: bench figure get_p99_under_search). */
static void pool_thread_nice(void)
{
    static _Thread_local int done;
    if (done) return;
    done = 1;
    errno = 0;
    int now = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    if (errno == 0 && now < pool_nice)
        (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), pool_nice);
}

/* Pool thread: the method in a read txn of its own (MDB_NOTLS: any thread may hold one). */
static void pool_run(uv_work_t *req)
{
    cd_call *call = ((struct cd_pool_work *)req)->call;
    pool_thread_nice();
    MDB_txn *txn;
    cd_entity_refs_snapshot(call, &call->srv->ref_gen);   /* before the txn: see entity.h */
    int rc = mdb_txn_begin(call->srv->db.env, NULL, MDB_RDONLY, &txn);
    if (rc) { cd_fail_mdb(call, rc, "starting a read transaction"); return; }
    call->method->fn(call, txn);
    mdb_txn_abort(txn);
}

static void pool_done(uv_work_t *req, int status)
{
    struct cd_pool_work *w = (struct cd_pool_work *)req;
    cd_call *call = w->call;
    cd_server *srv = call->srv;
    cd_readpool_done_fn done = w->done;
    free(w);
    if (status == UV_ECANCELED) cd_fail(call, CLAIMD_E_BUSY, NULL, "shutting down");
    srv->workers_running--;
    if (is_long(call)) srv->workers_long--;
    done(call);
    /* The growth waits for the last read txn: tell the writer's side it may go now. */
    if (srv->pool_hold && srv->workers_running == 0 && srv->writer) cd_writer_kick(srv->writer);
}

static int pool_start(cd_server *srv, struct cd_pool_work *w)
{
    srv->workers_running++;
    if (is_long(w->call)) srv->workers_long++;
    if (uv_queue_work(srv->loop, &w->req, pool_run, pool_done) == 0) return 0;
    srv->workers_running--;
    if (is_long(w->call)) srv->workers_long--;
    return -1;
}

int cd_readpool_holding(const cd_server *srv)
{
    /* While a long call runs the growth waits for it anyway: reads go on meanwhile. */
    return srv->pool_hold && srv->workers_long == 0;
}

int cd_readpool_submit(cd_server *srv, cd_call *c, cd_readpool_done_fn done)
{
    struct cd_pool_work *w = malloc(sizeof *w);
    if (!w) return -1;
    w->call = c;
    w->done = done;
    w->next = NULL;
    if (cd_readpool_holding(srv)) {
        if (srv->pool_held_tail) srv->pool_held_tail->next = w;
        else srv->pool_held = w;
        srv->pool_held_tail = w;
        return 0;
    }
    if (pool_start(srv, w) == 0) return 0;
    free(w);
    return -1;
}

void cd_readpool_hold(cd_server *srv)
{
    if (!srv->pool_hold) srv->stats.reads_held++;
    srv->pool_hold = 1;
}

void cd_readpool_release(cd_server *srv)
{
    srv->pool_hold = 0;
    struct cd_pool_work *w = srv->pool_held;
    srv->pool_held = srv->pool_held_tail = NULL;
    while (w) {
        struct cd_pool_work *next = w->next;
        w->next = NULL;
        if (pool_start(srv, w)) {
            cd_call *call = w->call;
            cd_readpool_done_fn done = w->done;
            free(w);
            cd_fail(call, CLAIMD_E_INTERNAL, NULL, "cannot start background work");
            done(call);
        }
        w = next;
    }
}
