/* run_getload: claim.get round trips from one client while 4 other clients run heavy searches
 * back to back (issue 11: "claim.get p99 <= 1 ms while 4 clients run heavy searches"). A heavy
 * search asks for the corpus's most frequent words (the longest postings) with a big page, so
 * each one costs the daemon milliseconds; the get client measures what that does to a cheap
 * read on another connection. The idle p99 of the same client, measured just before, goes in the
 * note: the figure's target is absolute (1 ms), no peer. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench.h"

#define LOAD_CLIENTS 4
#define HEAVY_QUERIES 64
#define HEAVY_LIMIT 200

typedef struct { const uint64_t *ids; size_t n; } getload_ids;

typedef struct {
    const char *sock;
    char **queries;
    double seconds;
    bench_drive_result res;
    int rc;
} load_job;

static void make_get(void *arg, size_t conn, uint64_t i, claimd_args *a)
{
    const getload_ids *g = arg;
    (void)conn;
    uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ULL;
    x ^= x >> 31;
    claimd_args_uint(a, "id", g->ids[x % g->n]);
}

static void make_heavy(void *arg, size_t conn, uint64_t i, claimd_args *a)
{
    char **q = arg;
    claimd_args_str(a, "q", q[(i + conn * 17) % HEAVY_QUERIES]);
    claimd_args_uint(a, "limit", HEAVY_LIMIT);
}

/* One and two-word queries over the ten most frequent words of each language. */
static char **heavy_queries(const bench_corpus *cp)
{
    char **q = calloc(HEAVY_QUERIES, sizeof *q);
    for (size_t i = 0; q && i < HEAVY_QUERIES; i++) {
        const bench_vocab *v = &cp->vocab[i % BENCH_NLANGS];
        size_t a = (i / BENCH_NLANGS) % 10, b = (a + 1 + i % 3) % 10;
        char buf[300];
        if (i % 4 == 0) snprintf(buf, sizeof buf, "%s", v->words[a]);
        else snprintf(buf, sizeof buf, "%s %s", v->words[a], v->words[b]);
        q[i] = strdup(buf);
    }
    return q;
}

static void *load_thread(void *arg)
{
    load_job *j = arg;
    j->rc = drive(j->sock, LOAD_CLIENTS, 1, "claim.search", make_heavy, j->queries, j->seconds, 0, &j->res);
    return NULL;
}

int run_getload(bench_run *r)
{
    const bench_opts *o = r->o;
    const char *what = "claim.get p99, 1 client, while 4 clients run heavy searches";
    getload_ids g = { 0 };
    uint64_t *ids = malloc((r->cp->n ? r->cp->n : 1) * sizeof *ids);
    for (size_t i = 0; ids && i < r->cp->n; i++)
        if (r->ids[i]) ids[g.n++] = r->ids[i];
    g.ids = ids;
    if (!g.n) { free(ids); fig_na("get_p99_under_search", what, "us", "n/a (nothing imported)"); return 0; }
    char **queries = heavy_queries(r->cp);
    if (!queries) { free(ids); return -1; }

    /* What one heavy search costs alone, and the idle p99 of the get client. */
    bench_warm_claimd(&r->claimd);
    bench_drive_result one, idle, busy;
    call_loop(r->claimd.sock, "claim.search", make_heavy, queries, o->seconds / 5, HEAVY_QUERIES, &one);
    double heavy50 = lat_quantile(&one.lat, 0.5) / 1e3;
    lat_free(&one.lat);
    fprintf(stderr, "claimbench: claim.get, 1 client, idle then under 4 searching clients\n");
    rss_phase(PH_READS);
    call_loop(r->claimd.sock, "claim.get", make_get, &g, o->seconds / 2, 0, &idle);
    double idle99 = lat_quantile(&idle.lat, 0.99) / 1e3;
    lat_free(&idle.lat);

    load_job job = { r->claimd.sock, queries, o->seconds + 0.5, { 0 }, 0 };
    pthread_t t;
    int started = pthread_create(&t, NULL, load_thread, &job) == 0;
    /* Let the searches get going before the gets are timed. */
    struct timespec pause = { 0, 200 * 1000 * 1000 };
    nanosleep(&pause, NULL);
    int rc = call_loop(r->claimd.sock, "claim.get", make_get, &g, o->seconds, 0, &busy);
    if (started) pthread_join(t, NULL);
    rss_phase(PH_OTHER);
    double p99 = lat_quantile(&busy.lat, 0.99) / 1e3, p50 = lat_quantile(&busy.lat, 0.5) / 1e3;
    double srch = job.res.seconds > 0 ? (double)job.res.done / job.res.seconds : -1;
    info_num("getload.gets", (double)busy.done);
    info_num("getload.searches", (double)job.res.done);
    bench_figure *f;
    if (rc || !started || job.rc) {
        f = fig_na("get_p99_under_search", what, "us", "n/a (a connection failed)");
    } else {
        f = fig_add("get_p99_under_search", what, "us", p99, "", -1);
        fig_note(f, "idle p99 %.0f us; p50 %.0f us under load; %.0f heavy searches/s (one alone: p50 %.0f us)",
                 idle99, p50, srch, heavy50);
    }
    fig_target(f, T_AT_MOST, 1000, 1);
    if (busy.errors || job.res.errors)
        fig_note(f, "%llu get and %llu search errors: %s", (unsigned long long)busy.errors,
                 (unsigned long long)job.res.errors, busy.errors ? busy.first_errstr : job.res.first_errstr);
    lat_free(&busy.lat);
    lat_free(&job.res.lat);
    for (size_t i = 0; i < HEAVY_QUERIES; i++) free(queries[i]);
    free(queries);
    free(ids);
    return 0;
}
