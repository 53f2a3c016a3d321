/* run_query: claim.query, the newest 20 claims of a speaker, from 32 clients; speakers drawn
 * with the corpus's own Zipf weights (busy speakers are asked about more). The peer is the same
 * query on SQLite's (speaker_id, said_ts) index from 32 threads with their own connections. */
#include <stdio.h>
#include "bench.h"

static void make_query(void *arg, size_t conn, uint64_t i, claimd_args *a)
{
    bench_corpus *cp = arg;
    bench_rng r;
    rng_seed(&r, 4242 + i * 131 + conn);
    claimd_args_str(a, "speaker", cp->speakers[zipf_draw(&cp->zspeaker, &r)]);
    claimd_args_uint(a, "limit", 20);
}

int run_query(bench_run *r)
{
    const bench_opts *o = r->o;
    const char *what = "claim.query newest 20 by speaker, 32 clients";
    claimd_ctx *probe = bench_connect(r->claimd.sock);
    claimd_args *a = claimd_args_new();
    claimd_value *v = NULL;
    claimd_args_str(a, "speaker", r->cp->speakers[0]);
    claimd_args_uint(a, "limit", 20);
    int rc = probe_method(probe, "claim.query", a, &v);
    size_t items = claimd_value_len(claimd_value_get(v, "items"));
    claimd_value_free(v);
    claimd_args_free(a);
    if (rc == CLAIMD_E_UNKNOWN_METHOD) {
        fig_na("query_32c_rps", what, "req/s", "n/a (method missing)");
        fig_na("query_32c_p99", "claim.query p99, 32 clients", "ms", "n/a (method missing)");
        claimd_free(probe);
        return 0;
    }
    if (rc) {
        fprintf(stderr, "claimbench: claim.query: %s\n", claimd_errstr(probe));
        fig_na("query_32c_rps", what, "req/s", "n/a (claim.query failed)");
        fig_na("query_32c_p99", "claim.query p99, 32 clients", "ms", "n/a (claim.query failed)");
        claimd_free(probe);
        return 0;
    }
    claimd_free(probe);
    info_num("query.top_speaker_items", (double)items);

    fprintf(stderr, "claimbench: %s\n", what);
    bench_warm_claimd(&r->claimd);
    rss_phase(PH_READS);
    bench_drive_result res;
    if (drive(r->claimd.sock, 32, 1, "claim.query", make_query, r->cp, o->seconds, 0, &res)) return -1;
    rss_phase(PH_OTHER);
    double rps = (double)res.done / res.seconds, p99 = lat_quantile(&res.lat, 0.99) / 1e6;
    lat_free(&res.lat);

    double sq_rps = -1, sq_p99 = -1;
    if (!o->skip_peers) {
        bench_lat lat = { 0 };
        bench_warm("SQLite's file", r->sqlite_path);
        sq_rps = sq_query_speaker(r->sqlite_path, r->cp, 32, o->seconds, 0, &lat);
        sq_p99 = lat.n ? lat_quantile(&lat, 0.99) / 1e6 : -1;
        lat_free(&lat);
    }
    bench_figure *f = fig_add("query_32c_rps", what, "req/s", rps, "SQLite, 32 threads", sq_rps);
    if (res.errors) fig_note(f, "%llu errors: %s", (unsigned long long)res.errors, res.first_errstr);
    fig_add("query_32c_p99", "claim.query p99, 32 clients", "ms", p99, "SQLite, 32 threads", sq_p99);
    return 0;
}
