/* peer_redis: Redis GET as measured by its own redis-benchmark (Debian's), on a Unix socket,
 * with the same value size and client count as claimd's claim.get run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

double redis_get_rps(const char *sock, int clients, size_t value_size, int pipeline, long n,
                     double *p50_ms, double *p99_ms)
{
    char cmd[1024];
    /* One SET first, so GET reads a real value of value_size bytes rather than a nil. */
    snprintf(cmd, sizeof cmd, "redis-benchmark -s '%s' -c 1 -n 1 -d %zu -t set -q >/dev/null 2>&1",
             sock, value_size);
    if (system(cmd) != 0) return -1;
    snprintf(cmd, sizeof cmd,
             "redis-benchmark -s '%s' -c %d -n %ld -d %zu -P %d -t get --csv 2>/dev/null",
             sock, clients, n, value_size, pipeline);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    char line[512];
    double rps = -1, avg, mn, p50, p95, p99;
    while (fgets(line, sizeof line, p)) {
        if (strncmp(line, "\"GET\"", 5) != 0) continue;
        if (sscanf(line, "\"GET\",\"%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf\",\"%lf\"",
                   &rps, &avg, &mn, &p50, &p95, &p99) == 6) {
            if (p50_ms) *p50_ms = p50;
            if (p99_ms) *p99_ms = p99;
        } else if (sscanf(line, "\"GET\",\"%lf\"", &rps) != 1) {
            rps = -1;
        }
    }
    if (pclose(p) != 0 && rps < 0) return -1;
    return rps;
}
