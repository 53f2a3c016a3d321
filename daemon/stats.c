/* stats: per-method counters and log2 latency histograms (upper-bound percentiles). */
#include <string.h>
#include "call.h"
#include "dispatch.h"
#include "stats.h"

static int bucket_of(uint64_t us)
{
    int b = 0;
    while (us && b < CD_STATS_BUCKETS - 1) { us >>= 1; b++; }
    return b;
}

void cd_stats_record(cd_stats *st, int m, int failed, uint64_t latency_ns)
{
    cd_method_stats *ms = m >= 0 && m < CD_STATS_METHODS ? &st->per_method[m] : &st->unknown;
    st->requests++;
    ms->requests++;
    if (failed) { st->errors++; ms->errors++; }
    ms->latency[bucket_of(latency_ns / 1000)]++;
}

/* The upper bound in microseconds of the bucket holding quantile q. */
static uint64_t quantile_us(const uint64_t *h, uint64_t total, double q)
{
    uint64_t want = (uint64_t)(q * (double)total), seen = 0;
    for (int b = 0; b < CD_STATS_BUCKETS; b++) {
        seen += h[b];
        if (seen > want) return b ? (uint64_t)1 << b : 1;
    }
    return (uint64_t)1 << (CD_STATS_BUCKETS - 1);
}

static void pack_one(msgpack_packer *pk, const char *name, const cd_method_stats *ms)
{
    cd_pack_cstr(pk, name);
    msgpack_pack_map(pk, 5);
    cd_pack_cstr(pk, "requests"); msgpack_pack_uint64(pk, ms->requests);
    cd_pack_cstr(pk, "errors"); msgpack_pack_uint64(pk, ms->errors);
    cd_pack_cstr(pk, "p50_us"); msgpack_pack_uint64(pk, quantile_us(ms->latency, ms->requests, 0.50));
    cd_pack_cstr(pk, "p99_us"); msgpack_pack_uint64(pk, quantile_us(ms->latency, ms->requests, 0.99));
    cd_pack_cstr(pk, "p999_us"); msgpack_pack_uint64(pk, quantile_us(ms->latency, ms->requests, 0.999));
}

void cd_stats_pack_methods(const cd_stats *st, msgpack_packer *pk)
{
    cd_method_stats all;
    memset(&all, 0, sizeof all);
    uint32_t n = 1;
    for (int m = 0; m < CD_STATS_METHODS; m++) n += st->per_method[m].requests > 0;
    n += st->unknown.requests > 0;
    msgpack_pack_map(pk, n);
    for (int m = 0; m < CD_STATS_METHODS; m++) {
        const cd_method_stats *ms = &st->per_method[m];
        if (!ms->requests) continue;
        pack_one(pk, cd_method_at((size_t)m)->name, ms);
        all.requests += ms->requests;
        all.errors += ms->errors;
        for (int b = 0; b < CD_STATS_BUCKETS; b++) all.latency[b] += ms->latency[b];
    }
    if (st->unknown.requests) {
        pack_one(pk, "(none)", &st->unknown);
        all.requests += st->unknown.requests;
        all.errors += st->unknown.errors;
        for (int b = 0; b < CD_STATS_BUCKETS; b++) all.latency[b] += st->unknown.latency[b];
    }
    pack_one(pk, "all", &all);
}
