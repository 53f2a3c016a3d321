/* run_writes: durable single-claim writes (claim.put, acknowledged only after the commit's
 * fsync) from 1 client and from 64 concurrent clients, each a thread with its own connection:
 * the 64-client rate over the 1-client rate is the group-commit effect. Peers: SQLite with one
 * transaction per claim (synchronous=FULL) from 1 and 64 threads, and the floor of one fsync per
 * write (a write + fdatasync loop). Fresh claims are corpus claims numbered past the corpus. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include "bench.h"

#define WRITERS 64

typedef struct {
    bench_run *r;
    uint64_t *next;
    int64_t deadline;
    uint64_t ok, failed;
    int first_err;
    char errstr[200];
    bench_lat lat;
} put_job;

static void *put_thread(void *arg)
{
    put_job *j = arg;
    claimd_ctx *ctx = bench_connect(j->r->claimd.sock);
    bench_claim bc;
    while (now_ns() < j->deadline) {
        uint64_t idx = __atomic_fetch_add(j->next, 1, __ATOMIC_RELAXED);
        corpus_claim(j->r->cp, idx, &bc, 0);
        int64_t t0 = now_ns();
        int rc = claimd_claim_put(ctx, &bc.c, NULL, NULL, NULL, NULL);
        lat_add(&j->lat, now_ns() - t0);
        if (rc == CLAIMD_OK) { j->ok++; continue; }
        if (!j->failed++) {
            j->first_err = rc;
            snprintf(j->errstr, sizeof j->errstr, "%s", claimd_errstr(ctx));
        }
        if (rc == CLAIMD_E_IO || rc == CLAIMD_E_PROTOCOL) break;
    }
    claimd_free(ctx);
    return NULL;
}

/* What one run of put_clients cost the daemon. */
typedef struct { double p99_ms; uint64_t claims, commits, batched, written; } put_cost;

/* nthreads clients putting fresh claims for seconds; returns claims/s. */
static double put_clients(bench_run *r, int nthreads, double seconds, put_cost *cost, char *err,
                          size_t cap, uint64_t *failed)
{
    uint64_t commits0 = claimd_stat(r->claimd.sock, "commits");
    uint64_t batched0 = claimd_stat(r->claimd.sock, "batched_writes");
    uint64_t wb0 = disk_written_bytes(r->claimd.data);
    put_job *jobs = calloc((size_t)nthreads, sizeof *jobs);
    pthread_t *th = calloc((size_t)nthreads, sizeof *th);
    if (!jobs || !th) return -1;
    int64_t t0 = now_ns(), deadline = t0 + (int64_t)(seconds * 1e9);
    for (int i = 0; i < nthreads; i++) {
        jobs[i] = (put_job){ .r = r, .next = &r->next_fresh, .deadline = deadline };
        pthread_create(&th[i], NULL, put_thread, &jobs[i]);
    }
    uint64_t ok = 0;
    bench_lat lat = { 0 };
    *failed = 0;
    err[0] = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        ok += jobs[i].ok;
        if (jobs[i].failed && !*failed) snprintf(err, cap, "%s", jobs[i].errstr);
        *failed += jobs[i].failed;
        lat_merge(&lat, &jobs[i].lat);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    cost->p99_ms = lat_quantile(&lat, 0.99) / 1e6;
    cost->claims = ok;
    cost->written = disk_written_bytes(r->claimd.data) - wb0;
    cost->commits = claimd_stat(r->claimd.sock, "commits") - commits0;
    cost->batched = claimd_stat(r->claimd.sock, "batched_writes") - batched0;
    lat_free(&lat);
    free(jobs);
    free(th);
    return (double)ok / secs;
}

static void note_cost(bench_figure *f, const put_cost *c)
{
    fig_note(f, "p99 %.1f ms, %.1f claims/commit, %.0f KiB to disk/claim", c->p99_ms,
             c->commits ? (double)c->batched / (double)c->commits : 0.0,
             c->claims ? (double)c->written / 1024.0 / (double)c->claims : 0.0);
}

int run_writes(bench_run *r)
{
    const bench_opts *o = r->o;
    put_cost c1, c64;
    uint64_t failed1, failed64;
    char err1[200], err64[200];

    fprintf(stderr, "claimbench: durable claim.put, 1 client\n");
    double one = put_clients(r, 1, o->seconds, &c1, err1, sizeof err1, &failed1);
    fprintf(stderr, "claimbench: durable claim.put, %d clients\n", WRITERS);
    rss_phase(PH_WRITES64);
    double many = put_clients(r, WRITERS, o->seconds, &c64, err64, sizeof err64, &failed64);
    rss_phase(PH_OTHER);

    double sq1 = -1, sq64 = -1, fsync_rate = -1;
    if (!o->skip_peers) {
        fprintf(stderr, "claimbench: SQLite durable inserts, 1 and %d threads; fdatasync loop\n", WRITERS);
        /* The SQLite file got the same corpus; its fresh claims are numbered the same way. */
        sq1 = sq_durable_writes(r->sqlite_path, r->cp, 1, o->seconds, r->cp->n, NULL);
        sq64 = sq_durable_writes(r->sqlite_path, r->cp, WRITERS, o->seconds, r->cp->n + 50000000, NULL);
        fsync_rate = raw_fsync_loop(o->workdir, r->get_resp_bytes ? r->get_resp_bytes : 512, o->seconds);
    }
    bench_figure *f = fig_add("put_1c_rps", "durable claim.put, 1 client", "claims/s", one,
                              "SQLite, 1 txn per claim, 1 thread", sq1);
    note_cost(f, &c1);
    if (failed1) fig_note(f, "%llu failed: %s", (unsigned long long)failed1, err1);
    f = fig_add("put_1c_vs_fsync", "durable claim.put, 1 client, vs one fdatasync per write", "claims/s",
                one, "pwrite+fdatasync loop (in place)", fsync_rate);
    f = fig_add("put_64c_rps", "durable claim.put, 64 clients", "claims/s", many,
                "SQLite, 1 txn per claim, 64 threads", sq64);
    fig_target(f, T_AT_LEAST, 20000, 1);
    note_cost(f, &c64);
    if (failed64) fig_note(f, "%llu failed: %s", (unsigned long long)failed64, err64);
    f = fig_add("put_group_gain", "group commit: 64-client rate / 1-client rate", "x",
                one > 0 ? many / one : -1, "SQLite's 64/1 threads", sq1 > 0 && sq64 > 0 ? sq64 / sq1 : -1);
    fig_target(f, T_AT_LEAST, 20, 1);
    return 0;
}
