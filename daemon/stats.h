/* stats: counters the daemon keeps about itself, reported by the `stats` method. */
#ifndef CD_STATS_H
#define CD_STATS_H

#include <stdint.h>

typedef struct {
    uint64_t requests;          /* requests answered */
    uint64_t errors;            /* of which answered with an error */
    uint64_t commits;           /* write batches committed */
    uint64_t batched_calls;     /* write requests in those batches */
    uint64_t max_batch;         /* largest batch so far */
    uint64_t connections_total; /* connections accepted since start */
    uint64_t connections_refused; /* refused with busy (over max_connections) */
    uint64_t map_growths;
} cd_stats;

#endif
