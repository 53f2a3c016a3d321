/* run_search: claim.search with two words, top 20, one client, against SQLite FTS5's bm25 top 20
 * over the same corpus with the same query set. The words of each query come from one claim,
 * so every query has at least one match, and frequent words (long postings) come up as often
 * as they do in real searches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

#define NQUERIES 500

/* Copies word number k of text (lower-cased ASCII, punctuation dropped) into out. */
static int nth_word(const char *text, size_t k, char *out, size_t cap)
{
    const char *p = text;
    for (size_t i = 0; *p; i++) {
        while (*p == ' ') p++;
        const char *e = p;
        while (*e && *e != ' ') e++;
        if (i == k) {
            size_t n = 0;
            for (const char *q = p; q < e && n + 1 < cap; q++) {
                if (*q == ',' || *q == '.' || *q == '?') continue;
                out[n++] = (*q >= 'A' && *q <= 'Z') ? (char)(*q - 'A' + 'a') : *q;
            }
            out[n] = 0;
            return n ? 0 : -1;
        }
        p = e;
    }
    return -1;
}

static size_t count_words(const char *text)
{
    size_t n = 0;
    for (const char *p = text; *p; p++) if (*p == ' ') n++;
    return n + 1;
}

/* NQUERIES "w1 w2" strings. */
static char **make_queries(bench_corpus *cp)
{
    char **q = calloc(NQUERIES, sizeof *q);
    bench_rng r;
    rng_seed(&r, 99);
    for (size_t i = 0; q && i < NQUERIES;) {
        bench_claim bc;
        corpus_claim(cp, rng_below(&r, cp->n), &bc, 0);
        const char *text = bc.c.text;
        size_t n = count_words(text);
        char w1[128], w2[128], both[260];
        size_t a = rng_below(&r, n), b = rng_below(&r, n);
        if (a == b || nth_word(text, a, w1, sizeof w1) || nth_word(text, b, w2, sizeof w2) ||
            !strcmp(w1, w2))
            continue;
        snprintf(both, sizeof both, "%s %s", w1, w2);
        q[i++] = strdup(both);
    }
    return q;
}

static void make_search(void *arg, size_t conn, uint64_t i, claimd_args *a)
{
    char **q = arg;
    (void)conn;
    claimd_args_str(a, "q", q[i % NQUERIES]);
    claimd_args_uint(a, "limit", 20);
}

int run_search(bench_run *r)
{
    const bench_opts *o = r->o;
    const char *what = "claim.search two words, top 20, 1 client";
    char **queries = make_queries(r->cp);
    claimd_ctx *ctx = bench_connect(r->claimd.sock);
    claimd_args *a = claimd_args_new();
    claimd_args_str(a, "q", queries[0]);
    claimd_args_uint(a, "limit", 20);
    int rc = probe_method(ctx, "claim.search", a, NULL);
    claimd_args_free(a);
    double rps = -1, p50 = -1;
    const char *why = NULL;
    if (rc == CLAIMD_E_UNKNOWN_METHOD) {
        why = "n/a (method missing)";
    } else if (rc) {
        fprintf(stderr, "claimbench: claim.search: %s\n", claimd_errstr(ctx));
        why = "n/a (claim.search failed)";
    } else {
        fprintf(stderr, "claimbench: %s\n", what);
        bench_warm_claimd(&r->claimd);
        rss_phase(PH_READS);
        bench_drive_result res;
        if (call_loop(r->claimd.sock, "claim.search", make_search, queries, o->seconds, 0, &res) == 0) {
            rps = (double)res.done / res.seconds;
            p50 = lat_quantile(&res.lat, 0.5) / 1e3;
        }
        if (res.errors) fprintf(stderr, "claimbench: claim.search: %llu errors, first: %s\n",
                                (unsigned long long)res.errors, res.first_errstr);
        lat_free(&res.lat);
        rss_phase(PH_OTHER);
    }
    claimd_free(ctx);

    double sq_rps = -1, sq_p50 = -1;
    if (!o->skip_peers) {
        bench_lat lat = { 0 };
        bench_warm("SQLite's file", r->sqlite_path);
        sq_rps = sq_search(r->sqlite_path, queries, NQUERIES, o->seconds, &lat);
        sq_p50 = lat.n ? lat_quantile(&lat, 0.5) / 1e3 : -1;
        lat_free(&lat);
    }
    bench_figure *f;
    if (why) {
        f = fig_na("search_rps", what, "q/s", why);
        f->peer = sq_rps;
        snprintf(f->peer_name, sizeof f->peer_name, "SQLite FTS5 bm25");
    } else {
        f = fig_add("search_rps", what, "q/s", rps, "SQLite FTS5 bm25", sq_rps);
        fig_note(f, "p50 %.0f us vs %.0f us", p50, sq_p50);
    }
    fig_target(f, T_AT_LEAST, 10.0, 0);
    for (size_t i = 0; i < NQUERIES; i++) free(queries[i]);
    free(queries);
    return 0;
}
