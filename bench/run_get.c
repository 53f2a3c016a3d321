/* run_get: claim.get by id, three ways, each against its peer:
 *   1 client, one request at a time: p50/p99 round trip vs a raw Unix-socket ping-pong of the
 *     same request and reply sizes (the floor for any daemon on a socket);
 *   32 clients: requests/s vs redis-benchmark GET with 32 clients and the same value size;
 *   32 clients pipelining 16 deep vs redis-benchmark -P 16. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

typedef struct { const uint64_t *ids; size_t n; } get_args;

#define GET_ROUNDS 10     /* alternating runs of claimd and the raw peer, 1 client */

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33; x *= 0xff51afd7ed558ccdULL; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

static void make_ping(void *arg, size_t conn, uint64_t i, claimd_args *a)
{
    (void)arg; (void)conn; (void)i; (void)a;
}

static void make_get(void *arg, size_t conn, uint64_t i, claimd_args *a)
{
    const get_args *g = arg;
    (void)conn;
    claimd_args_uint(a, "id", g->ids[mix(i + 1) % g->n]);
}

/* The ids that were imported (the first n corpus claims, minus any rejected). */
static size_t imported_ids(const bench_run *r, uint64_t **out)
{
    uint64_t *ids = malloc((r->cp->n ? r->cp->n : 1) * sizeof *ids);
    size_t n = 0;
    for (size_t i = 0; ids && i < r->cp->n; i++)
        if (r->ids[i]) ids[n++] = r->ids[i];
    *out = ids;
    return n;
}

/* Average request and reply sizes of claim.get over a sample, envelope included. */
static void message_sizes(bench_run *r, const uint64_t *ids, size_t n)
{
    claimd_ctx *ctx = bench_connect(r->claimd.sock);
    claimd_args *a = claimd_args_new();
    size_t samples = n < 500 ? n : 500, req = 0, resp = 0, got = 0;
    for (size_t i = 0; i < samples; i++) {
        claimd_args_reset(a);
        claimd_args_uint(a, "id", ids[mix(i + 7) % n]);
        size_t plen = 0;
        claimd_args_data(a, &plen);
        claimd_value *v = NULL;
        if (claimd_call(ctx, "claim.get", a, &v) != CLAIMD_OK) continue;
        /* [0, msgid, "claim.get", [params]] and [1, msgid, nil, result]. */
        req += 1 + 1 + 5 + 10 + 1 + plen;
        resp += 1 + 1 + 5 + 1 + packed_size(v);
        got++;
        claimd_value_free(v);
    }
    r->get_req_bytes = got ? req / got : 32;
    r->get_resp_bytes = got ? resp / got : 512;
    claimd_args_free(a);
    claimd_free(ctx);
    info_num("get.request_bytes", (double)r->get_req_bytes);
    info_num("get.reply_bytes", (double)r->get_resp_bytes);
}

int run_get(bench_run *r)
{
    const bench_opts *o = r->o;
    uint64_t *ids;
    size_t n = imported_ids(r, &ids);
    if (!n) { fprintf(stderr, "claimbench: no imported claims to read\n"); free(ids); return -1; }
    bench_warm_claimd(&r->claimd);
    message_sizes(r, ids, n);
    get_args g = { ids, n };
    bench_drive_result res;
    rss_phase(PH_READS);

    /* 1 client: warm up, then time each round trip. */
    fprintf(stderr, "claimbench: claim.get, 1 client\n");
    call_loop(r->claimd.sock, "claim.get", make_get, &g, o->seconds / 5, 0, &res);
    lat_free(&res.lat);
    uint64_t max1 = o->smoke ? 2000 : 200000;
    char sock[512];
    snprintf(sock, sizeof sock, "%s/raw.sock", o->workdir);
    /* claimd and the raw ping-pong take turns, GET_ROUNDS short runs each, and each side's
     * latencies are pooled: the shared machine's speed drifts over seconds, and alternating
     * puts both sides under the same drift. The peer is a server process, as claimd is; the
     * same with a server thread in this process (no address-space switch, which no daemon can
     * avoid) goes in a note. */
    bench_lat mine = { 0 }, raw = { 0 };
    uint64_t done = 0, errors = 0;
    for (int round = 0; round < GET_ROUNDS; round++) {
        if (call_loop(r->claimd.sock, "claim.get", make_get, &g, o->seconds / GET_ROUNDS, max1 / GET_ROUNDS, &res))
            return -1;
        lat_merge(&mine, &res.lat);
        lat_free(&res.lat);
        done += res.done;
        errors += res.errors;
        bench_lat one = { 0 };
        if (!o->skip_peers &&
            raw_pingpong(sock, r->get_req_bytes, r->get_resp_bytes, o->seconds / GET_ROUNDS, max1 / GET_ROUNDS, 1, &one) > 0)
            lat_merge(&raw, &one);
        lat_free(&one);
    }
    double c50 = lat_quantile(&mine, 0.50) / 1e3, c99 = lat_quantile(&mine, 0.99) / 1e3;
    double r50 = raw.n ? lat_quantile(&raw, 0.50) / 1e3 : -1, r99 = raw.n ? lat_quantile(&raw, 0.99) / 1e3 : -1;
    double t50 = -1;
    info_num("get1.requests", (double)done);
    info_num("get1.errors", (double)errors);
    lat_free(&mine);
    lat_free(&raw);
    if (!o->skip_peers && raw_pingpong(sock, r->get_req_bytes, r->get_resp_bytes, o->seconds / 2, max1, 0, &raw) > 0)
        t50 = lat_quantile(&raw, 0.50) / 1e3;
    lat_free(&raw);
    /* The same requests from a bare msgpack-rpc client: what libclaimd itself adds. */
    drive(r->claimd.sock, 1, 1, "claim.get", make_get, &g, o->seconds / 2, max1, &res);
    double bare50 = lat_quantile(&res.lat, 0.50) / 1e3;
    lat_free(&res.lat);
    /* ping: the same trip with no storage work, to split the daemon's fixed cost from get's. */
    call_loop(r->claimd.sock, "ping", make_ping, NULL, o->seconds / 2, max1, &res);
    double ping50 = lat_quantile(&res.lat, 0.50) / 1e3;
    lat_free(&res.lat);
    bench_figure *f = fig_add("ping_rtt_p50", "ping round trip p50, 1 client (fixed cost)", "us", ping50,
                              "raw Unix-socket ping-pong (server process)", r50);
    fig_note(f, "raw ping-pong with a server thread in the client's process: p50 %.1f us", t50);
    f = fig_add("get_rtt_p50", "claim.get round trip p50, 1 client", "us", c50,
                              "raw Unix-socket ping-pong (server process)", r50);
    fig_target(f, T_AT_MOST, 1.5, 0);
    fig_note(f, "bare msgpack-rpc client (no libclaimd) p50 %.1f us", bare50);
    f = fig_add("get_rtt_p99", "claim.get round trip p99, 1 client", "us", c99,
                "raw Unix-socket ping-pong (server process)", r99);
    fig_target(f, T_AT_MOST, 1.5, 0);

    /* 32 clients, then 32 clients 16 deep; Redis right after each, on the same cores. */
    bench_proc redis = { 0 };
    int have_redis = !o->skip_peers && proc_start_redis(o, &redis) == 0;
    size_t value = r->get_resp_bytes > 8 ? r->get_resp_bytes - 8 : r->get_resp_bytes;
    static const int depths[2] = { 1, 16 };
    static const char *const ids_[2] = { "get_32c_rps", "get_32c_p16_rps" };
    static const char *const what[2] = { "claim.get throughput, 32 clients",
                                         "claim.get throughput, 32 clients pipelining 16" };
    static const char *const peer[2] = { "redis-benchmark GET -c 32", "redis-benchmark GET -c 32 -P 16" };
    for (int k = 0; k < 2; k++) {
        fprintf(stderr, "claimbench: %s\n", what[k]);
        double cpu0 = proc_cpu_seconds(r->claimd.pid);
        if (drive(r->claimd.sock, 32, depths[k], "claim.get", make_get, &g, o->seconds, 0, &res)) return -1;
        double cpu_us = (proc_cpu_seconds(r->claimd.pid) - cpu0) * 1e6 / (double)(res.done ? res.done : 1);
        double rps = (double)res.done / res.seconds;
        double p99 = lat_quantile(&res.lat, 0.99) / 1e3;
        lat_free(&res.lat);
        double redis_rps = -1, redis_cpu_us = -1;
        if (have_redis) {
            long reqs = o->smoke ? 20000 : depths[k] > 1 ? 2000000 : 300000;
            double rcpu0 = proc_cpu_seconds(redis.pid);
            redis_rps = redis_get_rps(redis.sock, 32, value, depths[k], reqs, NULL, NULL);
            redis_cpu_us = (proc_cpu_seconds(redis.pid) - rcpu0) * 1e6 / (double)reqs;
        }
        f = fig_add(ids_[k], what[k], "req/s", rps, peer[k], redis_rps);
        if (k == 0) fig_target(f, T_AT_LEAST, 1.0, 0);
        fig_note(f, "claimd p99 %.0f us; server CPU per request: claimd %.1f us, Redis %.1f us", p99,
                 cpu_us, redis_cpu_us);
        if (res.errors) fig_note(f, "%llu errors: %s", (unsigned long long)res.errors, res.first_errstr);
    }
    if (have_redis) proc_stop(&redis);
    else if (!o->skip_peers) fprintf(stderr, "claimbench: redis-server did not start; Redis figures are n/a\n");
    rss_phase(PH_OTHER);
    free(ids);
    return 0;
}
