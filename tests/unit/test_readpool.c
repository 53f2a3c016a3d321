/* Unit test for daemon/readpool.c: slow reads run on the thread pool at once, each with a read
 * txn of its own; while a map growth waits (cd_readpool_hold) new work is held back and started
 * in order by cd_readpool_release, except while a long call (backup) runs, which the growth waits
 * for anyway; the pool threads lower their priority. */
#include "tap.h"
#include "db.h"
#include "dispatch.h"
#include "readpool.h"
#include "server.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static _Atomic int running, max_running, started, had_txn, niced;

static void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* The method body: counts, checks it has a live read txn and a lowered priority, sleeps. */
static void slow_body(cd_call *c, MDB_txn *txn, int ms)
{
    started++;
    int now = ++running;
    for (int m = max_running; now > m && !atomic_compare_exchange_weak(&max_running, &m, now);) {}
    MDB_val k = { 6, (void *)"format" }, v;
    if (txn && mdb_get(txn, c->srv->db.dbi[CD_DBI_META], &k, &v) == 0) had_txn++;
    if (getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid)) >= 7) niced++;
    sleep_ms(ms);
    running--;
    msgpack_pack_nil(&c->pk);
}

static void read_fn(cd_call *c, MDB_txn *txn) { slow_body(c, txn, 60); }
static void long_fn(cd_call *c, MDB_txn *txn) { slow_body(c, txn, 250); }

static const cd_method m_read = { "test.read", read_fn, CD_ROLE_READ, CD_M_SLOW };
static const cd_method m_long = { "test.long", long_fn, CD_ROLE_READ, CD_M_SLOW | CD_M_LONG };

static cd_call *order[32];
static int ndone;

static void on_done(cd_call *c) { order[ndone++] = c; }

static cd_server srv;

static cd_call *new_call(const cd_method *m)
{
    cd_call *c = cd_call_new_internal(&srv);
    c->method = m;
    return c;
}

static void run_until(int n)
{
    while (ndone < n) uv_run(srv.loop, UV_RUN_ONCE);
}

static void reset(void)
{
    for (int i = 0; i < ndone; i++) cd_call_free(order[i]);
    ndone = 0;
    started = max_running = 0;
}

int main(void)
{
    char dir[] = "/tmp/claimd-readpool-XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    cd_readpool_configure(4, 10);
    srv.loop = uv_default_loop();
    if (!ok(cd_db_open(&srv.db, dir, 1 << 20) == 0, "a database opens")) return done_testing();

    /* Four reads at once run side by side, each with its own txn, on lowered priority. */
    cd_call *c[4];
    for (int i = 0; i < 4; i++) ok(cd_readpool_submit(&srv, c[i] = new_call(&m_read), on_done) == 0, "read %d submitted", i);
    is_int((int)srv.workers_running, 4, "four calls on the pool");
    run_until(4);
    ok(max_running >= 2, "they ran at the same time (%d at most)", (int)max_running);
    is_int(had_txn, 4, "each read its own txn");
    is_int(niced, 4, "each ran with the pool threads' nice value");
    is_int((int)srv.workers_running, 0, "none left running");
    reset();

    /* A growth waits: what comes after the hold waits for the release, in order. */
    cd_call *a = new_call(&m_read), *b = new_call(&m_read), *d = new_call(&m_read);
    cd_readpool_submit(&srv, a, on_done);
    cd_readpool_hold(&srv);
    ok(cd_readpool_holding(&srv), "the pool holds new work once a growth waits");
    is_int((long long)srv.stats.reads_held, 1, "stats count the hold");
    cd_readpool_submit(&srv, b, on_done);
    cd_readpool_submit(&srv, d, on_done);
    is_int((int)srv.workers_running, 1, "only the call from before the hold runs");
    run_until(1);
    sleep_ms(100);
    uv_run(srv.loop, UV_RUN_NOWAIT);
    ok(ndone == 1 && order[0] == a && started == 1, "the held calls did not start (%d started)", (int)started);
    is_int((int)srv.workers_running, 0, "the pool ran dry: no read txn is left for the growth to wait for");
    cd_readpool_release(&srv);
    ok(!cd_readpool_holding(&srv), "the release ends the hold");
    run_until(3);
    ok((order[1] == b && order[2] == d) || (order[1] == d && order[2] == b), "the held calls ran after the release");
    reset();

    /* A long call (backup) running: the growth waits for it anyway, so reads are not held. */
    cd_call *l = new_call(&m_long), *r = new_call(&m_read), *r2 = new_call(&m_read);
    cd_readpool_submit(&srv, l, on_done);
    cd_readpool_hold(&srv);
    ok(!cd_readpool_holding(&srv), "no hold while a long call runs");
    cd_readpool_submit(&srv, r, on_done);
    run_until(1);
    ok(order[0] == r, "a read submitted meanwhile ran and finished before the long call");
    run_until(2);
    ok(cd_readpool_holding(&srv), "once the long call ended, the hold applies");
    cd_readpool_submit(&srv, r2, on_done);
    is_int((int)srv.workers_running, 0, "and a new read is held");
    cd_readpool_release(&srv);
    run_until(3);
    ok(order[2] == r2, "the held read ran after the release");
    reset();

    cd_db_close(&srv.db);
    uv_loop_close(srv.loop);
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) diag("could not remove %s", dir);
    return done_testing();
}
