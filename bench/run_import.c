/* run_import: bulk import of the whole corpus through the socket (pipelined claim.import
 * batches through libclaimd) against SQLite's bulk load of the same claims, and the size each
 * takes on disk afterwards. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench.h"

/* Reads one claim.import reply: records each claim's id from first, counts rejects. */
static int take_import_reply(bench_run *r, claimd_ctx *ctx, size_t first, size_t n,
                             uint64_t *rejected, char *first_err, size_t cap)
{
    claimd_value *v = NULL;
    int rc = claimd_get_reply(ctx, &v);
    if (rc) {
        fprintf(stderr, "claimbench: claim.import: %s\n", claimd_errstr(ctx));
        return -1;
    }
    const claimd_value *res = claimd_value_get(v, "results");
    for (size_t i = 0; i < n; i++) {
        const claimd_value *item = claimd_value_at(res, i);
        const claimd_value *err = claimd_value_get(item, "error");
        if (err || !item) {
            if (!(*rejected)++ && err)
                snprintf(first_err, cap, "%s: %s", claimd_value_get_str(err, "code"),
                         claimd_value_get_str(err, "message"));
            continue;
        }
        r->ids[first + i] = claimd_value_get_uint(item, "id", 0);
    }
    claimd_value_free(v);
    return 0;
}

/* Imports the corpus; returns seconds or -1. */
int bench_wait_indexed(claimd_ctx *ctx)
{
    claimd_args *a = claimd_args_new();
    claimd_args_int(a, "limit", 1);
    int rc = claimd_call(ctx, "claim.query", a, NULL);
    claimd_args_free(a);
    if (rc != CLAIMD_OK) fprintf(stderr, "claimbench: claim.query after the import: %s\n", claimd_errstr(ctx));
    return rc == CLAIMD_OK ? 0 : -1;
}

/* The daemon's stats.bytes_used (the pages in use, without the map's preallocated tail), or -1. */
static double data_bytes(bench_run *r)
{
    uint64_t b = claimd_stat(r->claimd.sock, "bytes_used");
    return b ? (double)b : -1;
}

/* Imports the corpus; returns the seconds until everything was acknowledged and indexed (the
 * seconds until the last acknowledgement in *acked_secs), or -1. */
static double import_library(bench_run *r, uint64_t *rejected, char *first_err, size_t cap, double *acked_secs)
{
    const bench_opts *o = r->o;
    claimd_ctx *ctx = bench_connect(r->claimd.sock);
    claimd_args *a = claimd_args_new();
    size_t batch = (size_t)o->import_batch, n = r->cp->n;
    size_t *starts = calloc(n / batch + 2, sizeof *starts);
    size_t sent = 0, nsent = 0, ntaken = 0, acked = 0, next_cp = 1;
    bench_claim bc;
    int64_t t0 = now_ns();
    while (ntaken < nsent || sent < n) {
        /* Keep import_depth batches in flight: the daemon commits one while the next arrives. */
        if (sent < n && nsent - ntaken < (size_t)o->import_depth) {
            size_t m = n - sent < batch ? n - sent : batch;
            claimd_args_reset(a);
            claimd_args_begin_array(a, "claims");
            for (size_t i = 0; i < m; i++) {
                /* Made now rather than kept: the args builder copies it at once. */
                corpus_claim(r->cp, sent + i, &bc, 0);
                r->cp->text_bytes += strlen(bc.c.text);
                claimd_args_claim(a, NULL, &bc.c);
            }
            claimd_args_end(a);
            if (claimd_append(ctx, "claim.import", a) != CLAIMD_OK) {
                fprintf(stderr, "claimbench: claim.import: %s\n", claimd_errstr(ctx));
                return -1;
            }
            starts[nsent++] = sent;
            sent += m;
            if (nsent - ntaken < (size_t)o->import_depth && sent < n) continue;
        }
        size_t first = starts[ntaken];
        size_t m = (ntaken + 1 < nsent ? starts[ntaken + 1] : sent) - first;
        if (take_import_reply(r, ctx, first, m, rejected, first_err, cap)) return -1;
        ntaken++;
        acked += m;
        /* Checkpoints at each 1/20 of the corpus acknowledged; the last one once indexed, below. */
        /* (One point per reply: a batch larger than 1/20 of the corpus crosses several.) */
        if (next_cp < BENCH_CHECKPOINTS && acked >= n * next_cp / BENCH_CHECKPOINTS) {
            series_add("claimd_import", (double)acked, (double)(now_ns() - t0) / 1e9,
                       (double)disk_bytes(r->claimd.data), data_bytes(r));
            while (next_cp < BENCH_CHECKPOINTS && acked >= n * next_cp / BENCH_CHECKPOINTS) next_cp++;
        }
    }
    *acked_secs = (double)(now_ns() - t0) / 1e9;
    if (bench_wait_indexed(ctx)) return -1;
    double secs = (double)(now_ns() - t0) / 1e9;
    series_add("claimd_import", (double)n, secs, (double)disk_bytes(r->claimd.data), data_bytes(r));
    free(starts);
    claimd_args_free(a);
    claimd_free(ctx);
    return secs;
}

/* Copies the daemon's numeric stats into the results (commits, batch sizes, bytes used...). */
static void record_stats(bench_run *r, const char *prefix)
{
    claimd_ctx *ctx = bench_connect(r->claimd.sock);
    claimd_value *st = NULL;
    if (probe_method(ctx, "stats", NULL, &st) == CLAIMD_OK) {
        for (size_t i = 0; i < claimd_value_len(st); i++) {
            const claimd_value *k = claimd_value_key_at(st, i), *v = claimd_value_val_at(st, i);
            char key[128];
            uint64_t u;
            if (claimd_value_type(v) == CLAIMD_T_MAP) {
                /* One level of nesting ("counts": {...}) is flattened as counts.claims. */
                for (size_t j = 0; j < claimd_value_len(v); j++) {
                    const claimd_value *k2 = claimd_value_key_at(v, j), *v2 = claimd_value_val_at(v, j);
                    snprintf(key, sizeof key, "%s.%s.%s", prefix, claimd_value_str(k, NULL),
                             claimd_value_str(k2, NULL));
                    if (claimd_value_uint(v2, &u) == 0) info_num(key, (double)u);
                }
                continue;
            }
            snprintf(key, sizeof key, "%s.%s", prefix, claimd_value_str(k, NULL));
            if (claimd_value_uint(v, &u) == 0) info_num(key, (double)u);
        }
    }
    claimd_value_free(st);
    claimd_free(ctx);
}

int run_import(bench_run *r)
{
    const bench_opts *o = r->o;
    size_t n = r->cp->n;
    uint64_t rejected = 0;
    char first_err[256] = "";
    fprintf(stderr, "claimbench: importing %zu claims through the socket (batches of %d, %d in flight)\n",
            n, o->import_batch, o->import_depth);
    rss_phase(PH_IMPORT);
    double cpu0 = proc_cpu_seconds(r->claimd.pid);
    uint64_t wb0 = disk_written_bytes(r->claimd.data), commits0 = claimd_stat(r->claimd.sock, "commits");
    double acked = -1, secs = import_library(r, &rejected, first_err, sizeof first_err, &acked);
    double cpu = proc_cpu_seconds(r->claimd.pid) - cpu0;
    uint64_t written = disk_written_bytes(r->claimd.data) - wb0;
    uint64_t commits = claimd_stat(r->claimd.sock, "commits") - commits0;
    rss_phase(PH_OTHER);
    if (secs < 0) return -1;
    if (rejected) fprintf(stderr, "claimbench: %llu claims rejected, first: %s\n",
                          (unsigned long long)rejected, first_err);
    info_num("import.rejected", (double)rejected);
    info_num("import.seconds", secs);
    info_num("import.acked_seconds", acked);
    info_num("import.daemon_cpu_seconds", cpu);
    info_num("import.daemon_write_bytes", (double)written);
    info_num("import.commits", (double)commits);
    /* The reads are measured at rest, as a newsroom's daemon spends most of its time: after the
     * rest merges leave each index one or two runs (docs/data-model.md). Their time is shown,
     * and they finish before SQLite's load starts, so neither slows the other. */
    double rest = claimd_wait_rest(r->claimd.sock, 600);
    info_num("import.rest_seconds", rest);
    record_stats(r, "claimd_stats_after_import");
    uint64_t claimd_bytes = disk_bytes(r->claimd.data);

    double sq_secs = -1, sq_cpu = -1;
    uint64_t sq_bytes = 0;
    if (!o->skip_peers) {
        fprintf(stderr, "claimbench: SQLite bulk load of the same claims\n");
        r->sq = sq_open(r->sqlite_path);
        struct timespec c0, c1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        if (r->sq) sq_secs = sq_bulk_load(r->sq, r->cp, r->sqlite_path);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        sq_cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
        info_num("sqlite.load_cpu_seconds", sq_cpu);
        if (sq_secs > 0) sq_bytes = sq_size_on_disk(r->sq, r->sqlite_path);
        info_num("sqlite.load_seconds", sq_secs);
    }
    bench_figure *f = fig_add("import_rate", "bulk import, libclaimd pipelined claim.import", "claims/s",
                              (double)(n - rejected) / secs, "SQLite bulk load (1 txn)",
                              sq_secs > 0 ? (double)n / sq_secs : -1);
    fig_target(f, T_AT_LEAST, 3.0, 0);
    fig_note(f, "CPU per claim: claimd %.0f us, SQLite %.0f us", cpu * 1e6 / (double)n,
             sq_cpu > 0 ? sq_cpu * 1e6 / (double)n : -1.0);
    fig_note(f, "%.1f KiB to disk per claim, %llu commits", (double)written / 1024.0 / (double)n,
             (unsigned long long)commits);
    fig_note(f, "timed to indexed; acked %.2f s sooner; at rest %.2f s later", secs - acked, rest);
    if (rejected) fig_note(f, "%llu rejected", (unsigned long long)rejected);

    f = fig_add("disk_size", "database size on disk after import", "MiB",
                (double)claimd_bytes / 1048576.0, "SQLite file (WAL checkpointed)",
                sq_bytes ? (double)sq_bytes / 1048576.0 : -1);
    fig_target(f, T_AT_MOST, 1.5, 0);
    /* The map is allocated on disk in full: say how much of it is data. */
    fig_note(f, "data %.0f MiB (stats.bytes_used), the rest the map's unused tail",
             (double)claimd_stat(r->claimd.sock, "bytes_used") / 1048576.0);
    info_num("corpus.claims", (double)n);
    info_num("corpus.text_bytes", (double)r->cp->text_bytes);
    info_num("corpus.speakers", (double)r->cp->nspeakers);
    return 0;
}
