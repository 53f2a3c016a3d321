/* stats: counters the daemon keeps about itself, reported by the `stats` method. */
#ifndef CD_STATS_H
#define CD_STATS_H

#include <msgpack.h>
#include <stdint.h>

#define CD_STATS_METHODS 48      /* at least the number of methods in the dispatch table */
#define CD_STATS_BUCKETS 40      /* latency histogram: bucket b holds [2^(b-1), 2^b) microseconds */

typedef struct {
    uint64_t requests, errors;
    uint64_t latency[CD_STATS_BUCKETS];
} cd_method_stats;

typedef struct {
    uint64_t requests;          /* requests answered */
    uint64_t errors;            /* of which answered with an error */
    uint64_t commits;           /* write batches committed */
    uint64_t batched_calls;     /* write requests in those batches */
    uint64_t max_batch;         /* largest batch so far */
    uint64_t connections_total; /* connections accepted since start */
    uint64_t connections_refused; /* refused with busy (over a connection limit) */
    uint64_t connections_idle_closed; /* closed after --idle-timeout with nothing happening */
    uint64_t memory_paused;     /* times a connection stopped being read for the memory budget */
    uint64_t memory_busy;       /* requests answered busy because the budget could not hold them */
    uint64_t memory_closed;     /* connections closed as the biggest holders over the budget */
    uint64_t map_growths;
    uint64_t reads_held;        /* times new pool reads were held back for a map growth (readpool.h) */
    cd_method_stats per_method[CD_STATS_METHODS];
    cd_method_stats unknown;    /* requests that named no method or were malformed */
} cd_stats;

/* Counts one answered request of method index m (-1: none) with its latency (loop thread). */
void cd_stats_record(cd_stats *st, int m, int failed, uint64_t latency_ns);

/* Packs {"method": {"requests", "errors", "p50_us", "p99_us", "p999_us"}, ...} for methods
 * that were called, plus "all" over every request. */
void cd_stats_pack_methods(const cd_stats *st, msgpack_packer *pk);

#endif
