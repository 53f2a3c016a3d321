/* replica: the NATS side of a read replica, its hand-off to the writer, and promotion (replica.h). */
#include <errno.h>
#include <inttypes.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>
#include "bytes.h"
#include "conn.h"
#include "db.h"
#include "entity.h"
#include "isotime.h"
#include "log.h"
#include "nats_url.h"
#include "publish.h"
#include "replica.h"
#include "replica_apply.h"
#include "server.h"
#include "subscribe.h"
#include "writer.h"

/* Messages one apply call takes at most (one txn on the writer); fewer when fewer wait. */
#define APPLY_BATCH 512
#define APPLY_BATCH_BYTES ((size_t)8 << 20)
/* How long one wait for the next message lasts; the stream's end is looked up again after
 * STREAM_INFO_MS without messages, and the consumer is made anew when the stream has more
 * than the replica but nothing came for STALE_MS (a consumer lost with its server). */
#define NEXT_MSG_MS 200
#define STREAM_INFO_MS 1000
#define STALE_MS 3000
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 5000

enum { ST_CONNECTING, ST_APPLYING, ST_CAUGHT_UP, ST_UNREACHABLE, ST_GAP, ST_FAILING };
static const char *const state_names[] = { "connecting", "applying", "caught-up", "unreachable", "gap", "failing" };

struct cd_replica {
    cd_server *srv;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    int stop;                    /* guarded by mu */
    uv_async_t async;            /* thread -> loop: outbox has a call to submit */
    cd_call *outbox;             /* guarded by mu: an apply call for the writer */
    cd_call *inbox;              /* guarded by mu: that call, back from the writer */
    char subject[200];           /* "claimd.<stream>.>" */
    natsOptions *opts;
    natsConnection *nc;
    jsCtx *js;
    natsSubscription *sub;
    _Atomic uint64_t applied;
    _Atomic uint64_t primary_seq;
    _Atomic uint64_t errors;
    _Atomic int64_t behind_since_us; /* wall time of the oldest change known and not applied (0: none) */
    _Atomic int state;
    char primary[256];           /* guarded by mu */
    int64_t last_msg_ms, last_info_ms;  /* thread: monotonic times */
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void set_state(cd_replica *r, int st)
{
    int old = atomic_exchange(&r->state, st);
    if (old == st) return;
    cd_server *srv = r->srv;
    if (st == ST_UNREACHABLE)
        cd_warn("replica: NATS at %s unreachable; serving reads as of seq %" PRIu64, srv->cfg.replica_url,
                atomic_load(&r->applied));
    else if (st == ST_CAUGHT_UP || st == ST_APPLYING) {
        if (old == ST_CONNECTING || old == ST_UNREACHABLE || old == ST_FAILING)
            cd_info("replica: following stream %s at %s after seq %" PRIu64, srv->cfg.publish_stream,
                    srv->cfg.replica_url, atomic_load(&r->applied));
    }
}

/* Notes that the primary has reached seq (heard from the stream), and since when the replica
 * is behind it. */
static void heard_of(cd_replica *r, uint64_t seq, int64_t at_us)
{
    uint64_t cur = atomic_load(&r->primary_seq);
    while (seq > cur && !atomic_compare_exchange_weak(&r->primary_seq, &cur, seq)) {}
    if (seq <= atomic_load(&r->applied)) return;
    int64_t since = atomic_load(&r->behind_since_us);
    if (!since || (at_us && at_us < since)) atomic_store(&r->behind_since_us, at_us ? at_us : cd_time_now_us());
}

static void wait_ms(cd_replica *r, unsigned ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&r->mu);
    while (!r->stop)
        if (pthread_cond_timedwait(&r->wake, &r->mu, &until) == ETIMEDOUT) break;
    pthread_mutex_unlock(&r->mu);
}

static int stopping(cd_replica *r)
{
    pthread_mutex_lock(&r->mu);
    int s = r->stop;
    pthread_mutex_unlock(&r->mu);
    return s;
}

/* ---- NATS ---- */

static void drop_sub(cd_replica *r)
{
    if (r->sub) natsSubscription_Destroy(r->sub);
    r->sub = NULL;
}

static void disconnect(cd_replica *r)
{
    drop_sub(r);
    if (r->js) jsCtx_Destroy(r->js);
    if (r->nc) natsConnection_Destroy(r->nc);
    r->js = NULL;
    r->nc = NULL;
}

static natsStatus connect_nats(cd_replica *r)
{
    natsStatus s = natsConnection_Connect(&r->nc, r->opts);
    if (s == NATS_OK) s = natsConnection_JetStream(&r->js, r->nc, NULL);
    if (s != NATS_OK) disconnect(r);
    return s;
}

/* The claimd seq of stream message sseq (its Nats-Msg-Id); 0 when it cannot be read. */
static uint64_t msg_seq_at(cd_replica *r, uint64_t sseq)
{
    natsMsg *m = NULL;
    jsErrCode jerr = 0;
    uint64_t seq = 0;
    if (js_GetMsg(&m, r->js, r->srv->cfg.publish_stream, sseq, NULL, &jerr) != NATS_OK) return 0;
    const char *id = NULL;
    if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id) seq = strtoull(id, NULL, 10);
    natsMsg_Destroy(m);
    return seq;
}

enum { LOCATE_OK, LOCATE_GAP, LOCATE_FAILED };

/* The stream message to start at for seq want: *start (the stream's next one when want is past
 * its end). LOCATE_GAP when want is older than the stream's first message. */
static int locate(cd_replica *r, uint64_t want, uint64_t *start, uint64_t *first_seq)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, r->js, r->srv->cfg.publish_stream, NULL, &jerr);
    if (s != NATS_OK) {
        if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr)
            cd_debug("replica: no stream %s yet (the primary creates it when it first publishes)", r->srv->cfg.publish_stream);
        return LOCATE_FAILED;
    }
    uint64_t fs = si->State.FirstSeq, ls = si->State.LastSeq, msgs = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    r->last_info_ms = now_ms();
    *start = ls + 1;
    if (msgs == 0) return LOCATE_OK;
    uint64_t f = msg_seq_at(r, fs), l = msg_seq_at(r, ls);
    if (!f || !l) return LOCATE_FAILED;
    heard_of(r, l, 0);
    *first_seq = f;
    if (want > l) return LOCATE_OK;
    if (want < f) return LOCATE_GAP;
    /* The publisher stores seqs back to back (each message expects the one before it), so the
     * stream sequence follows; when it does not (messages deleted inside), start at the first
     * one and let the seqs already applied be skipped. */
    uint64_t guess = fs + (want - f);
    *start = guess <= ls && msg_seq_at(r, guess) == want ? guess : fs;
    return LOCATE_OK;
}

static natsStatus subscribe_from(cd_replica *r, uint64_t start)
{
    jsSubOptions so;
    jsErrCode jerr = 0;
    jsSubOptions_Init(&so);
    so.Stream = r->srv->cfg.publish_stream;
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverByStartSequence;
    so.Config.OptStartSeq = start;
    natsStatus s = js_SubscribeSync(&r->sub, r->js, r->subject, NULL, &so, &jerr);
    if (s == NATS_OK) natsSubscription_SetPendingLimits(r->sub, -1, 256 << 20);
    r->last_msg_ms = now_ms();
    return s;
}

/* ---- batches for the writer ---- */

typedef struct {
    msgpack_sbuffer body;        /* the payloads, back to back */
    uint32_t n;
    uint64_t last;               /* the last seq in it (or the one applied before it) */
} batch;

/* Builds the apply call {"stream", "seen", "msgs": [payloads]} with its params in its zone. */
static cd_call *make_call(cd_replica *r, const batch *b)
{
    cd_call *c = cd_call_new_internal(r->srv);
    if (!c) return NULL;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    cd_pack_cstr(&pk, "stream");
    cd_pack_cstr(&pk, r->srv->cfg.publish_stream);
    cd_pack_cstr(&pk, "seen");
    msgpack_pack_uint64(&pk, atomic_load(&r->primary_seq));
    cd_pack_cstr(&pk, "msgs");
    msgpack_pack_array(&pk, b->n);
    msgpack_sbuffer_write(&sb, b->body.data, b->body.size);
    char *copy = cd_call_alloc(c, sb.size);
    size_t off = 0;
    int ok = copy != NULL;
    if (ok) {
        memcpy(copy, sb.data, sb.size);
        ok = msgpack_unpack(copy, sb.size, &off, &c->zone, &c->params) == MSGPACK_UNPACK_SUCCESS;
    }
    c->req_bytes = sb.size;
    msgpack_sbuffer_destroy(&sb);
    if (!ok) { cd_call_free(c); return NULL; }
    c->method = &cd_replica_apply_method;
    return c;
}

/* Runs the batch through the writer (via the loop) and waits for its commit. 0 when it
 * committed, 1 when the daemon is stopping, -1 when it failed (logged). */
static int apply(cd_replica *r, const batch *b)
{
    cd_call *c = make_call(r, b);
    if (!c) { cd_error("replica: cannot build a batch (out of memory?)"); return -1; }
    pthread_mutex_lock(&r->mu);
    r->outbox = c;
    pthread_mutex_unlock(&r->mu);
    uv_async_send(&r->async);
    pthread_mutex_lock(&r->mu);
    while (!r->inbox && !r->stop) pthread_cond_wait(&r->wake, &r->mu);
    c = r->inbox;
    r->inbox = NULL;
    int stop = r->stop;
    pthread_mutex_unlock(&r->mu);
    if (!c) return 1;            /* stopping: the call is freed by cd_replica_stop */
    int rc = 0;
    if (c->err == CLAIMD_E_BUSY && (stop || c->srv->stopping)) rc = 1;
    else if (c->err) {
        cd_error("replica: applying seqs %" PRIu64 "..%" PRIu64 " failed: %s", atomic_load(&r->applied) + 1, b->last,
                 c->err_msg);
        rc = -1;
    } else {
        atomic_store(&r->applied, b->last);
        if (b->last >= atomic_load(&r->primary_seq)) atomic_store(&r->behind_since_us, 0);
    }
    cd_call_free(c);
    return rc;
}

static void note_primary(cd_replica *r, natsMsg *m)
{
    const char *name = NULL;
    if (natsMsgHeader_Get(m, "Claimd-Primary", &name) != NATS_OK || !name) return;
    pthread_mutex_lock(&r->mu);
    if (strncmp(r->primary, name, sizeof r->primary - 1) != 0) {
        if (r->primary[0]) cd_warn("replica: the stream's messages now come from %s (before: %s)", name, r->primary);
        snprintf(r->primary, sizeof r->primary, "%s", name);
    }
    pthread_mutex_unlock(&r->mu);
}

/* Takes message m into b when it is the next seq. 1 taken or skipped (a repeat), 0 when a seq
 * is missing before it (the consumer must start again), -1 when it is not a claimd message. */
static int take(cd_replica *r, batch *b, natsMsg *m)
{
    const char *id = NULL;
    if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) != NATS_OK || !id) return -1;
    uint64_t seq = strtoull(id, NULL, 10);
    jsMsgMetaData *meta = NULL;
    int64_t stored_us = 0;
    if (natsMsg_GetMetaData(&meta, m) == NATS_OK) {
        heard_of(r, seq + meta->NumPending, meta->Timestamp / 1000);
        stored_us = meta->Timestamp / 1000;
        jsMsgMetaData_Destroy(meta);
    }
    (void)stored_us;
    if (seq <= b->last) return 1;
    if (seq != b->last + 1) return 0;
    note_primary(r, m);
    msgpack_sbuffer_write(&b->body, natsMsg_GetData(m), (size_t)natsMsg_GetDataLength(m));
    b->n++;
    b->last = seq;
    return 1;
}

/* Reads what the stream has after the last applied seq, applies it batch by batch. Returns 0
 * to go on, -1 after a NATS failure (reconnect), -2 after a gap in the stream (the consumer
 * starts again from the replica's position). */
static int follow(cd_replica *r)
{
    batch b;
    msgpack_sbuffer_init(&b.body);
    b.n = 0;
    b.last = atomic_load(&r->applied);
    natsMsg *m = NULL;
    natsStatus s = natsSubscription_NextMsg(&m, r->sub, NEXT_MSG_MS);
    int rc = 0;
    if (s == NATS_TIMEOUT) {
        int64_t now = now_ms();
        uint64_t applied = atomic_load(&r->applied);
        if (atomic_load(&r->primary_seq) > applied && now - r->last_msg_ms > STALE_MS) {
            cd_debug("replica: nothing came for %d ms while the stream has more: consumer made anew", STALE_MS);
            rc = -2;
        } else if (now - r->last_info_ms > STREAM_INFO_MS) {
            uint64_t start, first = 0;
            if (locate(r, applied + 1, &start, &first) == LOCATE_FAILED) rc = -1;
        }
        if (!rc) set_state(r, atomic_load(&r->primary_seq) > applied ? ST_APPLYING : ST_CAUGHT_UP);
        msgpack_sbuffer_destroy(&b.body);
        return rc;
    }
    if (s != NATS_OK) {
        cd_debug("replica: reading the stream: %s", natsStatus_GetText(s));
        msgpack_sbuffer_destroy(&b.body);
        return -1;
    }
    r->last_msg_ms = now_ms();
    for (;;) {
        int t = take(r, &b, m);
        natsMsg_Destroy(m);
        m = NULL;
        if (t < 0) cd_warn("replica: a message on %s without a Nats-Msg-Id: not from claimd, skipped", r->subject);
        if (t == 0) { rc = -2; break; }
        int queued = 0;
        if (b.n >= APPLY_BATCH || b.body.size >= APPLY_BATCH_BYTES ||
            natsSubscription_GetPending(r->sub, &queued, NULL) != NATS_OK || queued <= 0)
            break;
        if (natsSubscription_NextMsg(&m, r->sub, 1) != NATS_OK) break;
    }
    if (b.n) {
        set_state(r, ST_APPLYING);
        int a = apply(r, &b);
        if (a == 0) set_state(r, atomic_load(&r->primary_seq) > b.last ? ST_APPLYING : ST_CAUGHT_UP);
        if (a < 0) {
            atomic_fetch_add(&r->errors, 1);
            set_state(r, ST_FAILING);
            rc = -3;
        } else if (a > 0) {
            rc = -4;
        }
    }
    msgpack_sbuffer_destroy(&b.body);
    return rc;
}

static void back_off(cd_replica *r, unsigned *backoff, int st)
{
    atomic_fetch_add(&r->errors, 1);
    set_state(r, st);
    wait_ms(r, *backoff);
    *backoff = *backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : *backoff * 2;
}

static void *replica_main(void *arg)
{
    cd_replica *r = arg;
    unsigned backoff = RETRY_FIRST_MS;
    while (!stopping(r)) {
        if (atomic_load(&r->state) == ST_GAP) { wait_ms(r, 1000); continue; }
        if (!r->js) {
            if (connect_nats(r) != NATS_OK) { back_off(r, &backoff, ST_UNREACHABLE); continue; }
        }
        if (!r->sub) {
            uint64_t want = atomic_load(&r->applied) + 1, start = 0, first = 0;
            int l = locate(r, want, &start, &first);
            if (l == LOCATE_GAP) {
                cd_error("replica: stream %s starts at seq %" PRIu64 " but this replica needs seq %" PRIu64 " next: seqs %"
                         PRIu64 "..%" PRIu64 " are no longer in the stream (its retention removed them). Applying "
                         "stopped; start this replica again from a fresh backup of the primary (docs/operations.md)",
                         r->srv->cfg.publish_stream, first, want, want, first - 1);
                set_state(r, ST_GAP);
                disconnect(r);
                continue;
            }
            if (l == LOCATE_FAILED || subscribe_from(r, start) != NATS_OK) {
                disconnect(r);
                back_off(r, &backoff, ST_UNREACHABLE);
                continue;
            }
            set_state(r, atomic_load(&r->primary_seq) > want - 1 ? ST_APPLYING : ST_CAUGHT_UP);
        }
        int rc = follow(r);
        if (rc == 0) { backoff = RETRY_FIRST_MS; continue; }
        if (rc == -4) { wait_ms(r, 100); continue; }           /* the daemon is stopping */
        if (rc == -2) { drop_sub(r); continue; }               /* start the consumer again at our seq */
        if (rc == -3) { drop_sub(r); wait_ms(r, backoff); backoff = backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : backoff * 2; continue; }
        disconnect(r);
        back_off(r, &backoff, ST_UNREACHABLE);
    }
    return NULL;
}

/* ---- the loop's side ---- */

static void give_back(cd_replica *r, cd_call *c)
{
    pthread_mutex_lock(&r->mu);
    r->inbox = c;
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->mu);
}

static void on_async(uv_async_t *h)
{
    cd_replica *r = h->data;
    cd_server *srv = r->srv;
    pthread_mutex_lock(&r->mu);
    cd_call *c = r->outbox;
    r->outbox = NULL;
    pthread_mutex_unlock(&r->mu);
    if (!c) return;
    if (srv->stopping || !srv->writer) {
        cd_fail(c, CLAIMD_E_BUSY, NULL, "shutting down");
        give_back(r, c);
        return;
    }
    cd_writer_submit(srv->writer, c);
}

void cd_replica_write_done(cd_call *c)
{
    if (c->method != &cd_replica_apply_method) { cd_conn_write_done(c); return; }
    cd_server *srv = c->srv;
    if (!c->err) {
        for (size_t i = 0; i < c->nchanges; i++)
            if (strcmp(c->changes[i].type, "entity") == 0) { cd_entity_ref_cache_clear(&srv->ref_gen); break; }
        cd_subs_publish(srv, c);
    }
    give_back(srv->replica, c);
    if (srv->stopping) cd_server_maybe_finish(srv);
}

int cd_replica_refuse(cd_call *c)
{
    cd_replica *r = c->srv->replica;
    char primary[256];
    pthread_mutex_lock(&r->mu);
    snprintf(primary, sizeof primary, "%s", r->primary[0] ? r->primary : "the claimd publishing it");
    pthread_mutex_unlock(&r->mu);
    return cd_fail(c, CLAIMD_E_READ_ONLY, NULL,
                   "this claimd is a read replica: send writes to its primary, %s (stream %s on %s)", primary,
                   c->srv->cfg.publish_stream, c->srv->cfg.replica_url);
}

void cd_replica_status_get(cd_replica *r, cd_replica_status *out)
{
    int st = atomic_load(&r->state);
    out->state = state_names[st >= 0 && st <= ST_FAILING ? st : 0];
    pthread_mutex_lock(&r->mu);
    snprintf(out->primary, sizeof out->primary, "%s", r->primary);
    pthread_mutex_unlock(&r->mu);
    out->applied = atomic_load(&r->srv->ix.committed);
    out->primary_seq = atomic_load(&r->primary_seq);
    if (out->primary_seq < out->applied) out->primary_seq = out->applied;
    int64_t since = atomic_load(&r->behind_since_us), now = cd_time_now_us();
    out->lag_seconds = out->primary_seq > out->applied && since && now > since ? (double)(now - since) / 1e6 : 0;
    out->errors = atomic_load(&r->errors);
}

int cd_replica_check_dir(cd_server *srv)
{
    MDB_txn *txn;
    char stream[128];
    uint64_t seen;
    int rc = mdb_txn_begin(srv->db.env, NULL, MDB_RDONLY, &txn);
    if (!rc) {
        rc = cd_replica_marker(txn, srv->db.dbi[CD_DBI_META], stream, sizeof stream, &seen);
        mdb_txn_abort(txn);
    }
    if (rc) { cd_error("cannot read %s: %s", srv->cfg.data_dir, mdb_strerror(rc)); return -1; }
    if (!srv->cfg.replica_url) {
        if (!stream[0]) return 0;
        cd_error("%s is a read replica of stream %s: start it with --replica-of, or make it a primary with "
                 "claimd --promote %s (docs/operations.md)", srv->cfg.data_dir, stream, srv->cfg.data_dir);
        return -1;
    }
    if (srv->cfg.publish_url) {
        cd_error("--replica-of and --publish together: a replica does not publish its primary's changes again");
        return -1;
    }
    if (stream[0] && strcmp(stream, srv->cfg.publish_stream) != 0) {
        cd_error("%s is a replica of stream %s, not %s: give --stream %s, or start from a backup of the other primary",
                 srv->cfg.data_dir, stream, srv->cfg.publish_stream, stream);
        return -1;
    }
    return 0;
}

cd_replica *cd_replica_start(cd_server *srv)
{
    cd_replica *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    r->srv = srv;
    snprintf(r->subject, sizeof r->subject, "claimd.%s.>", srv->cfg.publish_stream);
    atomic_store(&r->applied, atomic_load(&srv->ix.committed));
    atomic_store(&r->primary_seq, atomic_load(&srv->ix.committed));
    atomic_store(&r->state, ST_CONNECTING);
    natsStatus s = natsOptions_Create(&r->opts);
    if (s == NATS_OK) s = cd_nats_set_servers(r->opts, srv->cfg.replica_url);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(r->opts, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(r->opts, 500);
    if (s == NATS_OK) s = natsOptions_SetTimeout(r->opts, 2000);
    if (s != NATS_OK) {
        cd_error("--replica-of %s: %s", srv->cfg.replica_url, natsStatus_GetText(s));
        if (r->opts) natsOptions_Destroy(r->opts);
        free(r);
        return NULL;
    }
    pthread_mutex_init(&r->mu, NULL);
    pthread_cond_init(&r->wake, NULL);
    if (uv_async_init(srv->loop, &r->async, on_async)) goto fail;
    r->async.data = r;
    uv_unref((uv_handle_t *)&r->async);     /* the shutdown does not wait for it */
    srv->replica = r;
    if (pthread_create(&r->thread, NULL, replica_main, r)) {
        srv->replica = NULL;
        uv_close((uv_handle_t *)&r->async, NULL);
        uv_run(srv->loop, UV_RUN_NOWAIT);
        goto fail;
    }
    cd_info("replica: read-only, following stream %s on %s from seq %" PRIu64, srv->cfg.publish_stream,
            srv->cfg.replica_url, atomic_load(&r->applied) + 1);
    return r;
fail:
    cd_error("replica: cannot start its thread");
    natsOptions_Destroy(r->opts);
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->wake);
    free(r);
    return NULL;
}

static void free_on_close(uv_handle_t *h)
{
    free(h->data);
}

void cd_replica_stop(cd_replica *r)
{
    if (!r) return;
    cd_server *srv = r->srv;
    pthread_mutex_lock(&r->mu);
    r->stop = 1;
    pthread_cond_broadcast(&r->wake);
    pthread_mutex_unlock(&r->mu);
    pthread_join(r->thread, NULL);
    cd_call_free(r->outbox);
    cd_call_free(r->inbox);
    disconnect(r);
    natsOptions_Destroy(r->opts);
    if (!srv->publisher) nats_Close();
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->wake);
    srv->replica = NULL;
    uv_close((uv_handle_t *)&r->async, free_on_close);
    uv_run(srv->loop, UV_RUN_NOWAIT);
}

/* ---- promotion ---- */

int cd_replica_promote(const char *dir, int force)
{
    cd_db db;
    memset(&db, 0, sizeof db);
    if (cd_db_open(&db, dir, (size_t)64 << 20)) return 2;
    MDB_txn *txn;
    char stream[128];
    uint64_t seen = 0;
    int rc = mdb_txn_begin(db.env, NULL, 0, &txn), out = 1;
    if (rc) goto done;
    if ((rc = cd_replica_marker(txn, db.dbi[CD_DBI_META], stream, sizeof stream, &seen))) { mdb_txn_abort(txn); goto done; }
    uint64_t applied = cd_db_next_id(txn, db.dbi[CD_DBI_CHANGES]) - 1;
    if (!stream[0]) {
        fprintf(stderr, "claimd: %s is not a replica (already a primary); nothing to do\n", dir);
        mdb_txn_abort(txn);
        out = 0;
        goto done;
    }
    if (seen > applied && !force) {
        fprintf(stderr, "claimd: %s applied stream %s up to seq %" PRIu64 " but had heard of seq %" PRIu64 ": %" PRIu64
                " changes of the primary would be lost. Start the replica until stats shows replica_lag_seqs 0, "
                "or give --force to promote it as it is\n", dir, stream, applied, seen, seen - applied);
        mdb_txn_abort(txn);
        goto done;
    }
    MDB_val k1 = { strlen(CD_META_REPLICA), (void *)CD_META_REPLICA };
    MDB_val k2 = { strlen(CD_META_REPLICA_SEEN), (void *)CD_META_REPLICA_SEEN };
    rc = mdb_del(txn, db.dbi[CD_DBI_META], &k1, NULL);
    if (!rc || rc == MDB_NOTFOUND) rc = mdb_del(txn, db.dbi[CD_DBI_META], &k2, NULL);
    if (rc == MDB_NOTFOUND) rc = 0;
    if (rc) { mdb_txn_abort(txn); goto done; }
    if ((rc = mdb_txn_commit(txn))) goto done;
    printf("%s: promoted to a primary at seq %" PRIu64 " (it was a replica of stream %s%s). Start it without "
           "--replica-of; with --publish nats://... --stream %s its new changes continue the stream after seq %" PRIu64 "\n",
           dir, applied, stream, seen > applied ? ", promoted with --force" : "", stream, applied);
    out = 0;
done:
    if (rc) {
        fprintf(stderr, "claimd: --promote %s: %s\n", dir, mdb_strerror(rc));
        out = 2;
    }
    cd_db_close(&db);
    return out;
}
