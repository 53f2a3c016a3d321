/* publish: the change feed carried to a NATS JetStream stream (docs/operations.md, "Publishing
 * the change feed").
 *
 * One thread of its own, off the writer and the loop, follows the change log in LMDB (its own
 * read transactions: the log is the backlog, durable and bounded by the disk, never a queue in
 * memory) and publishes every committed change, in seq order, to the subject
 * claimd.<stream>.<op> ("claimd.newsroom.claim.update"), with the seq as the message id
 * (Nats-Msg-Id) so that JetStream drops a repeat, and the full record as it was after the
 * change's commit, so that a consumer needs nothing else. The payload is MessagePack:
 *   {"seq", "at", "op", "type", "id", "record"}
 * record: a claim as claim.get with as_of gives it (verdicts included), an entity as entity.get.
 *
 * Where it stands is kept in a small LMDB environment of its own beside the data
 * (DATA/publish.mdb: "published" -> seq), written by this thread only, so that keeping it never
 * waits for or holds up the writer; on start the stream's last message (its Nats-Msg-Id) is read
 * too, and publishing resumes after the larger of the two: no gap and no repeat across restarts,
 * kill -9 included. When NATS is unreachable the daemon serves as ever; the thread retries with
 * a back-off, logs each change of state once, and catches up when NATS is back. */
#ifndef CD_PUBLISH_H
#define CD_PUBLISH_H

#include <stdint.h>

typedef struct cd_server cd_server;
typedef struct cd_publisher cd_publisher;

/* What stats shows of the publisher. */
typedef struct {
    const char *state;           /* "connecting", "publishing", "caught-up", "unreachable" */
    uint64_t published;          /* the last seq JetStream acknowledged */
    uint64_t errors;             /* failed attempts so far */
} cd_publish_status;

/* Starts publishing srv's change log to cfg.publish_url, stream cfg.publish_stream (creating the
 * stream, subjects claimd.<stream>.>, when it does not exist). NULL after logging why (a bad URL
 * or stream name, or the position store cannot be opened); an unreachable server is not an error. */
cd_publisher *cd_publish_start(cd_server *srv);

/* Wakes the thread: changes up to seq have committed (called on the loop thread; cheap). */
void cd_publish_kick(cd_publisher *p);

/* A snapshot of the publisher's state (any thread). */
void cd_publish_status_get(cd_publisher *p, cd_publish_status *out);

/* Stops the thread (after the message in flight), closes the NATS connection and frees p. */
void cd_publish_stop(cd_publisher *p);

#endif
