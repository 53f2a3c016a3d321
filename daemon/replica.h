/* replica: a read replica following its primary's change feed on NATS JetStream
 * (`claimd --replica-of nats://HOST:PORT --stream NAME`; docs/operations.md, "Read replicas").
 *
 * A thread of its own reads the stream the primary publishes (publish.h) with an ordered
 * consumer, starting at the stream message of seq applied + 1, where applied is the last key of
 * the replica's own change log. It hands the messages, a batch at a time, to the writer as one
 * internal write call (replica_apply.h), which stores the primary's rows with the primary's ids
 * and seqs in one txn with the change records: a kill -9 resumes after the last committed seq,
 * with no gap and no repeat. Committed batches go to subscribers like any write; the replica's
 * index pass builds its indexes from its change log as the primary's does.
 *
 * A seq missing from the stream (removed by the stream's retention before the replica read it)
 * stops the applying for good: the state becomes "gap", the log says which seqs are missing and
 * that the replica must start again from a fresh backup of the primary. Every write method is
 * refused with read_only, naming the primary (its host, from the messages' Claimd-Primary
 * header) and the stream. */
#ifndef CD_REPLICA_H
#define CD_REPLICA_H

#include <stdint.h>
#include "call.h"

typedef struct cd_replica cd_replica;

/* What stats shows of the replica. */
typedef struct {
    const char *state;           /* "connecting", "applying", "caught-up", "unreachable", "gap", "failing" */
    char primary[256];           /* the primary's host as its messages name it ("" until one came) */
    uint64_t applied;            /* the last seq committed here */
    uint64_t primary_seq;        /* the primary's last seq the replica has heard of */
    double lag_seconds;          /* how long the oldest change not applied yet has been waiting */
    uint64_t errors;             /* failed attempts (NATS or apply) so far */
} cd_replica_status;

/* Checks the data directory's role against the command line, before anything is served: a
 * replica's directory (meta replica_of) refuses to start without --replica-of, and with
 * another stream. 0, or -1 after logging why. */
int cd_replica_check_dir(cd_server *srv);

/* Starts following cfg.replica_url, stream cfg.publish_stream. NULL after logging why. */
cd_replica *cd_replica_start(cd_server *srv);

/* The writer's done hook in replica mode (loop thread): the replica's own apply calls are
 * handed back to its thread (after their changes went to subscribers), all others go to
 * cd_conn_write_done. */
void cd_replica_write_done(cd_call *c);

/* Fails c with read_only, naming the primary; returns -1 (dispatch). */
int cd_replica_refuse(cd_call *c);

/* A snapshot of the replica's state (any thread). */
void cd_replica_status_get(cd_replica *r, cd_replica_status *out);

/* Stops the thread, closes the NATS connection and the loop handle, frees r (after uv_run
 * returned; runs the loop once more to close its handle). */
void cd_replica_stop(cd_replica *r);

/* `claimd --promote DIR [--force]`: turns a stopped replica's data directory into a primary's
 * (removes the replica mark), refusing when the replica had not applied every change it had
 * heard of unless force. Exit status: 0 done, 1 refused, 2 cannot open. */
int cd_replica_promote(const char *dir, int force);

#endif
