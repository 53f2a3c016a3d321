/* libclaimd_get: the C library's side of bench/python_client.py. Measures claim.get through
 * libclaimd on one connection: the round trip (one request at a time, p50/p99) and the
 * throughput of pipelines of DEPTH requests (claimd_append + claimd_get_reply).
 * Usage: libclaimd_get SOCKET MAX_ID RTT_N PIPE_N DEPTH; prints one JSON line.
 * Built by bench/python_client.py against build/libclaimd.a (it is not part of claimbench). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "claimd.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    if (argc != 6) { fprintf(stderr, "usage: %s SOCKET MAX_ID RTT_N PIPE_N DEPTH\n", argv[0]); return 2; }
    uint64_t max_id = strtoull(argv[2], NULL, 10);
    long rtt_n = atol(argv[3]), pipe_n = atol(argv[4]), depth = atol(argv[5]);
    claimd_ctx *ctx = claimd_new();
    claimd_args *a = claimd_args_new();
    double *lat = malloc((size_t)rtt_n * sizeof *lat);
    if (!ctx || !a || !lat || max_id == 0 || depth < 1) return 1;
    if (claimd_connect(ctx, argv[1]) != CLAIMD_OK) { fprintf(stderr, "connect: %s\n", claimd_errstr(ctx)); return 1; }
    for (long i = 0; i < rtt_n; i++) {
        claimd_args_reset(a);
        claimd_args_uint(a, "id", 1 + (uint64_t)i * 7919 % max_id);
        claimd_value *v = NULL;
        double t0 = now_us();
        if (claimd_call(ctx, "claim.get", a, &v) != CLAIMD_OK) { fprintf(stderr, "get: %s\n", claimd_errstr(ctx)); return 1; }
        lat[i] = now_us() - t0;
        claimd_value_free(v);
    }
    qsort(lat, (size_t)rtt_n, sizeof *lat, by_value);
    double t0 = now_us();
    long done = 0;
    while (done < pipe_n) {
        long n = pipe_n - done < depth ? pipe_n - done : depth;
        for (long i = 0; i < n; i++) {
            claimd_args_reset(a);
            claimd_args_uint(a, "id", 1 + (uint64_t)(done + i) * 7919 % max_id);
            if (claimd_append(ctx, "claim.get", a) != CLAIMD_OK) return 1;
        }
        for (long i = 0; i < n; i++) {
            claimd_value *v = NULL;
            if (claimd_get_reply(ctx, &v) != CLAIMD_OK) { fprintf(stderr, "reply: %s\n", claimd_errstr(ctx)); return 1; }
            claimd_value_free(v);
        }
        done += n;
    }
    double secs = (now_us() - t0) / 1e6;
    printf("{\"rtt_p50_us\": %.1f, \"rtt_p99_us\": %.1f, \"pipelined_rps\": %.0f}\n",
           lat[rtt_n / 2], lat[rtt_n * 99 / 100], pipe_n / secs);
    free(lat);
    claimd_args_free(a);
    claimd_free(ctx);
    return 0;
}
