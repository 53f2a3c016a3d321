/* server: the daemon's shared state, the listening socket and its lifecycle. */
#ifndef CD_SERVER_H
#define CD_SERVER_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>
#include "config.h"
#include "db.h"
#include "stats.h"

typedef struct cd_writer cd_writer;
typedef struct cd_publisher cd_publisher;
typedef struct cd_replica cd_replica;
typedef struct cd_conn cd_conn;

/* Where the index pass stands (ixpass.h). The indexer (indexer.h) publishes after each of the
 * writer's commits, and parks readers of the indexes until indexed reaches what was committed
 * when they came. */
typedef struct {
    _Atomic uint64_t committed;  /* last change seq committed */
    _Atomic uint64_t indexed;    /* last change seq the derived indexes reflect */
    _Atomic int wanted;          /* readers are waiting: pass before the next write batch */
    _Atomic int failing;         /* the last pass failed (logged) */
    _Atomic int failing_full;    /* ... for want of space: reads use the index as it is */
    _Atomic uint64_t attempts;   /* passes started */
    _Atomic uint64_t failed_attempt; /* the number of the last pass that failed (0: none) */
    _Atomic uint64_t passes;     /* passes committed */
    _Atomic uint64_t plans;      /* of which built on the pipeline's thread (ixpipe.h) */
    _Atomic uint64_t plans_dropped; /* plans it built that the writer could not apply */
    _Atomic uint64_t merge_steps, merges; /* search run merge steps and merges committed */
    _Atomic int at_rest;         /* the writer is idle and the rest merges are done (indexer.h) */
    uint64_t pend_committed, pend_indexed; /* writer thread: as of its open txn */
    uint64_t pend_postings;      /* writer thread: postings passes wrote that merges still owe work for */
} cd_ix_state;

struct cd_server {
    cd_config cfg;
    cd_db db;
    uv_loop_t *loop;
    uv_pipe_t listener;
    uv_signal_t sig_term, sig_int, sig_hup;
    uv_timer_t maintenance;      /* periodic stale-reader check */
    cd_writer *writer;
    cd_publisher *publisher;     /* the change feed to NATS JetStream (publish.h), NULL when off */
    cd_replica *replica;         /* following a primary's feed (replica.h): NULL on a primary */
    struct cd_ixplan *ixplan;    /* writer thread: the pass it builds itself (ixpass.h) */
    cd_conn *conns;              /* doubly linked list of open connections */
    unsigned nconns;
    size_t mem_used;             /* bytes all connections hold (conn.c), held to cfg.memory_budget */
    cd_conn *mem_big;            /* the one connection whose partial request may pass its share */
    int stopping;                /* SIGTERM seen: no new connections or requests */
    int listening;
    dev_t socket_dev;            /* the socket file we bound: shutdown unlinks only that one */
    ino_t socket_ino;
    _Atomic uint64_t ref_gen;    /* entity merges answered so far: the epoch of the threads'
                                  * memos of packed entity references (entity.c) */
    unsigned workers_running;    /* calls on the libuv thread pool, each with a read txn (readpool.h) */
    unsigned workers_long;       /* of which CD_M_LONG ones (backup) */
    int pool_hold;               /* a map growth waits for those: new pool work is held back */
    struct cd_pool_work *pool_held, *pool_held_tail; /* that work, in arrival order */
    uid_t self_uid;
    gid_t writers_gid;
    int have_writers_gid;
    int64_t started_us;
    cd_stats stats;
    cd_ix_state ix;
};

/* Creates the socket's private directory, replaces a stale socket, refuses a live one, and
 * starts accepting. Returns 0, or -1 after logging why. */
int cd_server_listen(cd_server *srv);

/* Starts an orderly shutdown: stop accepting and reading, let queued writes commit and their
 * replies go out, then close every connection and stop the writer. */
void cd_server_shutdown(cd_server *srv);

/* Called by conn when a connection has closed, to update counts and finish a shutdown. */
void cd_server_conn_closed(cd_server *srv, cd_conn *conn);

/* Finishes a shutdown once nothing is in flight; safe to call any time. */
void cd_server_maybe_finish(cd_server *srv);

#endif
