/* config: the daemon's settings, from defaults and the command line. */
#ifndef CD_CONFIG_H
#define CD_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include "log.h"
#include "rating_vocab.h"

typedef struct {
    const char *data_dir;        /* LMDB environment directory */
    const char *socket_path;     /* Unix socket to listen on */
    unsigned socket_mode;        /* permission bits of the socket file (default 0660) */
    const char *writers_group;   /* members get the write role; NULL: nobody but admins */
    size_t map_size;             /* initial LMDB map size in bytes; grows on demand */
    cd_log_level log_level;
    unsigned max_connections;    /* beyond this, new connections get `busy` and are closed */
    size_t max_request;          /* bytes of one request object */
    unsigned max_depth;          /* nesting depth of one request object */
    size_t max_text;             /* bytes of a claim's text */
    unsigned max_batch;          /* claims in one claim.import */
    size_t max_output;           /* unsent reply bytes before a connection is no longer read */
    unsigned max_subscriptions;  /* subscriptions one connection may hold; beyond: too_large */
    unsigned idle_timeout_ms;    /* a connection with nothing received, sent or running for this
                                  * long (and no subscription) is closed */
    unsigned request_timeout_ms; /* a connection stuck inside a partial object is closed after this */
    unsigned max_per_uid;        /* connections one non-admin uid may hold (0: max_connections/4) */
    unsigned reserved_connections; /* the last slots: readers never get them, writers not the last
                                  * half (0 given: max_connections/16) */
    unsigned merge_step;         /* postings one merge step of the search runs moves (search_runs.h) */
    size_t memory_budget;        /* what all connections together may hold (buffers, requests,
                                  * replies, backlogs) */
    const char *publish_url;     /* NATS server to publish the change feed to (publish.h); NULL: off */
    const char *publish_stream;  /* its JetStream stream (default "claimd"); a replica's too */
    unsigned stream_replicas;    /* --stream-replicas: copies a stream created by --publish keeps (1-5) */
    const char *replica_url;     /* --replica-of: NATS server(s) of the primary's stream (replica.h); NULL: a primary */
    cd_vocab *ratings;           /* --ratings FILE: labels added to the rating vocabulary; NULL: none */
    unsigned read_threads;       /* libuv thread pool size: slow reads and backups at once (readpool.h) */
    unsigned read_nice;          /* the nice value of those threads (0-19; 0: the daemon's) */
    unsigned index_threads;      /* threads that build index passes beside the writer (ixpipe.h;
                                  * 0: the writer builds them itself) */
} cd_config;

/* Fills *cfg with the defaults of the wire contract. */
void cd_config_defaults(cd_config *cfg);

/* Parses argv into *cfg; on a usage error prints a message and returns -1, on --help/--version
 * prints and returns 1, else 0. */
int cd_config_parse_args(cd_config *cfg, int argc, char **argv);

#endif
