/* measure: the monotonic clock and latency lists with quantiles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench.h"

int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void lat_add(bench_lat *l, int64_t ns)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4096;
        int64_t *p = realloc(l->ns, cap * sizeof *p);
        if (!p) { fprintf(stderr, "claimbench: out of memory\n"); exit(1); }
        l->ns = p;
        l->cap = cap;
    }
    l->ns[l->n++] = ns;
}

void lat_merge(bench_lat *dst, bench_lat *src)
{
    for (size_t i = 0; i < src->n; i++) lat_add(dst, src->ns[i]);
    lat_free(src);
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

double lat_quantile(bench_lat *l, double q)
{
    if (!l->n) return 0;
    qsort(l->ns, l->n, sizeof *l->ns, cmp_i64);
    size_t i = (size_t)(q * (double)(l->n - 1) + 0.5);
    if (i >= l->n) i = l->n - 1;
    return (double)l->ns[i];
}

void lat_free(bench_lat *l)
{
    free(l->ns);
    memset(l, 0, sizeof *l);
}
