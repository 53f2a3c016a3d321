/* publish: the change log published to NATS JetStream by a thread of its own (publish.h). */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "bytes.h"
#include "call.h"
#include "claim.h"
#include "entity.h"
#include "history.h"
#include "isotime.h"
#include "log.h"
#include "nats_url.h"
#include "publish.h"
#include "record.h"
#include "replica_rows.h"
#include "server.h"
#include "verdict.h"

/* Changes published per read transaction of the log (one snapshot, then a fresh one); they go
 * out asynchronously, up to PUBLISH_IN_FLIGHT unacknowledged, and the position moves once
 * JetStream has acknowledged the whole batch. */
#define PUBLISH_BATCH 1024
#define PUBLISH_IN_FLIGHT 512
/* How long one JetStream publish may wait for its acknowledgement. */
#define PUBLISH_ACK_MS 5000
/* Back-off after a failure: doubles from the first value up to the second. */
#define RETRY_FIRST_MS 100
#define RETRY_MAX_MS 5000
/* The longest the thread sleeps when it has nothing to do (a kick wakes it sooner). */
#define IDLE_WAIT_MS 200

enum { ST_CONNECTING, ST_PUBLISHING, ST_CAUGHT_UP, ST_UNREACHABLE };
static const char *const state_names[] = { "connecting", "publishing", "caught-up", "unreachable" };

struct cd_publisher {
    cd_server *srv;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t wake;
    int stop, kicked;
    char prefix[160];            /* "claimd.<stream>." */
    char primary[256];           /* this host's name: the Claimd-Primary header a replica names */
    MDB_env *pos_env;            /* DATA/publish.mdb: where publishing stands */
    MDB_dbi pos_dbi;
    uint64_t pos_saved;          /* the position last written there */
    natsOptions *opts;
    natsConnection *nc;
    jsCtx *js;
    _Atomic uint64_t published;
    _Atomic uint64_t errors;
    _Atomic int async_failed;    /* a message of the batch in flight was refused (libnats thread) */
    int chain;                   /* the stream's last message is `published`: expect it (see below) */
    _Atomic int state;
};

/* A stream name as JetStream takes it: letters, digits, '-' and '_' (no '.', '*', '>' or space). */
static int stream_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64) return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static void set_state(cd_publisher *p, int st)
{
    int old = atomic_exchange(&p->state, st);
    if (old == st) return;
    if (st == ST_UNREACHABLE) cd_warn("publish: NATS at %s unreachable; changes wait in the log (from seq %" PRIu64 ")",
                                      p->srv->cfg.publish_url, atomic_load(&p->published) + 1);
    else if (old == ST_UNREACHABLE || old == ST_CONNECTING)
        cd_info("publish: connected to %s, stream %s, publishing after seq %" PRIu64, p->srv->cfg.publish_url,
                p->srv->cfg.publish_stream, atomic_load(&p->published));
}

/* ---- the position store ---- */

static int pos_open(cd_publisher *p)
{
    char path[4096];
    if (snprintf(path, sizeof path, "%s/publish.mdb", p->srv->cfg.data_dir) >= (int)sizeof path) return ENAMETOOLONG;
    int rc = mdb_env_create(&p->pos_env);
    if (rc) return rc;
    MDB_txn *txn;
    if ((rc = mdb_env_set_mapsize(p->pos_env, (size_t)1 << 20)) ||
        (rc = mdb_env_open(p->pos_env, path, MDB_NOSUBDIR, 0640)) ||
        (rc = mdb_txn_begin(p->pos_env, NULL, 0, &txn))) {
        mdb_env_close(p->pos_env);
        p->pos_env = NULL;
        return rc;
    }
    if ((rc = mdb_dbi_open(txn, NULL, 0, &p->pos_dbi))) { mdb_txn_abort(txn); return rc; }
    MDB_val k = { 9, (void *)"published" }, v;
    if (mdb_get(txn, p->pos_dbi, &k, &v) == 0 && v.mv_size == 8) p->pos_saved = cd_get_u64be(v.mv_data);
    return mdb_txn_commit(txn);
}

/* Writes the position when it moved (its own environment: never waits for the writer). */
static void pos_save(cd_publisher *p)
{
    uint64_t at = atomic_load(&p->published);
    if (at == p->pos_saved) return;
    MDB_txn *txn;
    unsigned char buf[8];
    cd_put_u64be(buf, at);
    MDB_val k = { 9, (void *)"published" }, v = { 8, buf };
    int rc = mdb_txn_begin(p->pos_env, NULL, 0, &txn);
    if (!rc && (rc = mdb_put(txn, p->pos_dbi, &k, &v, 0)) == 0) rc = mdb_txn_commit(txn);
    else if (!rc) mdb_txn_abort(txn);
    if (rc) cd_warn("publish: cannot save the position %" PRIu64 ": %s", at, mdb_strerror(rc));
    else p->pos_saved = at;
}

/* ---- NATS ---- */

static void disconnect(cd_publisher *p)
{
    if (p->js) jsCtx_Destroy(p->js);
    if (p->nc) natsConnection_Destroy(p->nc);
    p->js = NULL;
    p->nc = NULL;
}

/* The seq of the stream's last message (its Nats-Msg-Id), 0 when the stream is empty. */
static natsStatus stream_last_seq(cd_publisher *p, uint64_t *out)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    *out = 0;
    natsStatus s = js_GetStreamInfo(&si, p->js, p->srv->cfg.publish_stream, NULL, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        jsStreamConfig cfg;
        char subjects[200];
        const char *list[1] = { subjects };
        snprintf(subjects, sizeof subjects, "%s>", p->prefix);
        jsStreamConfig_Init(&cfg);
        cfg.Name = p->srv->cfg.publish_stream;
        cfg.Subjects = list;
        cfg.SubjectsLen = 1;
        cfg.Storage = js_FileStorage;
        cfg.Replicas = p->srv->cfg.stream_replicas;
        s = js_AddStream(&si, p->js, &cfg, NULL, &jerr);
        if (s == NATS_OK) cd_info("publish: created stream %s (subjects %s)", cfg.Name, subjects);
        if (si) jsStreamInfo_Destroy(si);
        return s;
    }
    if (s != NATS_OK) return s;
    uint64_t last = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    if (last == 0) return NATS_OK;
    natsMsg *m = NULL;
    if ((s = js_GetMsg(&m, p->js, p->srv->cfg.publish_stream, last, NULL, &jerr)) != NATS_OK) return s;
    const char *id = NULL;
    if (natsMsgHeader_Get(m, "Nats-Msg-Id", &id) == NATS_OK && id) *out = strtoull(id, NULL, 10);
    natsMsg_Destroy(m);
    return NATS_OK;
}

/* libnats's thread: a message published asynchronously was not stored; the batch is sent again
 * from the last acknowledged position (JetStream drops the repeats of those that were). */
static void on_async_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
    (void)js;
    cd_publisher *p = closure;
    atomic_store(&p->async_failed, 1);
    cd_debug("publish: a message was refused: %s", pae->ErrText ? pae->ErrText : natsStatus_GetText(pae->Err));
}

/* Connects and finds where to resume. NATS_OK, or the failure (then retried later). */
static natsStatus connect_nats(cd_publisher *p)
{
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = PUBLISH_IN_FLIGHT;
    jo.PublishAsync.ErrHandler = on_async_error;
    jo.PublishAsync.ErrHandlerClosure = p;
    natsStatus s = natsConnection_Connect(&p->nc, p->opts);
    if (s == NATS_OK) s = natsConnection_JetStream(&p->js, p->nc, &jo);
    uint64_t last = 0;
    if (s == NATS_OK) s = stream_last_seq(p, &last);
    if (s != NATS_OK) {
        cd_debug("publish: %s: %s", p->srv->cfg.publish_url, nats_GetLastError(NULL) ? nats_GetLastError(NULL) : natsStatus_GetText(s));
        disconnect(p);
        return s;
    }
    /* Only a seq this database has committed can be one of ours: a last message past the change
     * log came from another publisher on our subjects (or a server not to be trusted), and going
     * on after it would skip, unpublished and unreported, every change up to its number. */
    uint64_t committed = atomic_load(&p->srv->ix.committed);
    if (last > committed) {
        cd_warn("publish: the stream's last message has Msg-Id %" PRIu64 ", past this database's last change %" PRIu64
                ": not one of ours (another publisher on %s>?); publishing after the saved seq %" PRIu64,
                last, committed, p->prefix, p->pos_saved);
        atomic_store(&p->published, p->pos_saved);
        p->chain = 0;                /* its Msg-Id is not one to expect before our next message */
        return NATS_OK;
    }
    /* The stream may be ahead of the saved position (killed between the ack and the save). */
    uint64_t at = p->pos_saved > last ? p->pos_saved : last;
    if (last > p->pos_saved) cd_info("publish: the stream holds up to seq %" PRIu64 ", past the saved %" PRIu64, last, p->pos_saved);
    if (last < at) cd_warn("publish: the stream's last message is seq %" PRIu64 " but %" PRIu64 " were published: "
                           "messages were removed from it (retention?); going on after %" PRIu64, last, at, at);
    atomic_store(&p->published, at);
    p->chain = last == at && last > 0;
    return NATS_OK;
}

/* ---- messages ---- */

/* Packs the message of change seq (op, type, id at `at`) into c's result: the change and the
 * record as it was right after the change's commit. 0, or -1 (error set on c). */
static int pack_message(cd_call *c, MDB_txn *txn, uint64_t seq, const MDB_val *change, int64_t at, cd_str op,
                        cd_str type, uint64_t id)
{
    char when[40];
    msgpack_packer *pk = &c->pk;
    msgpack_pack_map(pk, 7);
    cd_pack_cstr(pk, "seq");
    msgpack_pack_uint64(pk, seq);
    cd_pack_cstr(pk, "at");
    cd_pack_cstr(pk, cd_time_format_us(at, when));
    cd_pack_cstr(pk, "op");
    cd_pack_strn(pk, op.p, op.n);
    cd_pack_cstr(pk, "type");
    cd_pack_strn(pk, type.p, type.n);
    cd_pack_cstr(pk, "id");
    msgpack_pack_uint64(pk, id);
    /* What a replica writes (replica_rows.h). */
    cd_pack_cstr(pk, "stored");
    if (cd_rows_pack(c, txn, change, at, op, type, id)) return -1;
    cd_pack_cstr(pk, "record");
    if (type.n == 6 && memcmp(type.p, "entity", 6) == 0) {
        cd_entity e;
        int rc = cd_entity_load(c, txn, id, &e);
        if (rc == 0) cd_entity_pack(pk, &e);
        else if (rc == MDB_NOTFOUND) msgpack_pack_nil(pk);
        else return -1;
        return 0;
    }
    cd_claim cl;
    int rc = cd_history_as_of(c, txn, id, at + 1, &cl);
    if (rc == MDB_NOTFOUND) { msgpack_pack_nil(pk); return 0; }
    if (rc) return -1;
    cd_claim_pack_extra(c, txn, &cl, 1);
    cd_pack_cstr(pk, "verdicts");
    return cd_verdicts_pack(c, txn, id, at + 1) ? -1 : 0;
}

/* Sends one message asynchronously; its acknowledgement is awaited per batch (publish_some).
 * after: the seq of the message that must be the stream's last one before it (0: none), so that
 * a message lost in flight makes every later one of the batch refused too, never stored out of
 * order; the batch is then sent again from the stream's real end (resync). */
static natsStatus publish_one(cd_publisher *p, uint64_t seq, uint64_t after, cd_str op, const msgpack_sbuffer *body)
{
    char subject[256], msgid[24], prev[24];
    if (snprintf(subject, sizeof subject, "%s%.*s", p->prefix, (int)op.n, op.p) >= (int)sizeof subject)
        return NATS_INVALID_ARG;
    snprintf(msgid, sizeof msgid, "%" PRIu64, seq);
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, NULL, body->data, (int)body->size);
    if (s == NATS_OK) s = natsMsgHeader_Set(m, "Nats-Msg-Id", msgid);
    if (s == NATS_OK) s = natsMsgHeader_Set(m, "Claimd-Primary", p->primary);
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msgid;
    if (after) {
        snprintf(prev, sizeof prev, "%" PRIu64, after);
        po.ExpectLastMsgId = prev;
    }
    if (s == NATS_OK) s = js_PublishMsgAsync(p->js, &m, &po);   /* takes m on success */
    natsMsg_Destroy(m);
    return s;
}

/* Publishes the committed changes after p->published, one log snapshot's worth. 1 when some
 * were published, 0 when there was nothing to do, -1 on a NATS failure. */
static int publish_some(cd_publisher *p)
{
    cd_server *srv = p->srv;
    uint64_t from = atomic_load(&p->published);
    if (atomic_load(&srv->ix.committed) <= from) return 0;
    cd_call *c = cd_call_new_internal(srv);
    if (!c) return -1;
    MDB_txn *txn;
    MDB_cursor *cur = NULL;
    int rc = mdb_txn_begin(srv->db.env, NULL, MDB_RDONLY, &txn), done = 0;
    uint64_t sent = from;
    atomic_store(&p->async_failed, 0);
    if (rc) { cd_warn("publish: cannot read the change log: %s", mdb_strerror(rc)); cd_call_free(c); return -1; }
    if ((rc = mdb_cursor_open(txn, srv->db.dbi[CD_DBI_CHANGES], &cur)) == 0) {
        unsigned char key[8];
        cd_put_u64be(key, from + 1);
        MDB_val k = { 8, key }, v;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && done < PUBLISH_BATCH && !p->stop;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            uint64_t seq = cd_get_u64be(k.mv_data);
            msgpack_object o;
            cd_call_reset(c);
            if (cd_rec_unpack(c, &v, 4, &o)) { rc = -1; break; }
            const msgpack_object *f = o.via.array.ptr;
            cd_str op = cd_rec_str(&f[1]), type = cd_rec_str(&f[2]);
            if (pack_message(c, txn, seq, &v, cd_rec_i64(&f[0]), op, type, cd_rec_u64(&f[3])) < 0) { rc = -1; break; }
            natsStatus s = publish_one(p, seq, sent > from || p->chain ? sent : 0, op, &c->result);
            if (s != NATS_OK) {
                cd_debug("publish: seq %" PRIu64 ": %s", seq, natsStatus_GetText(s));
                rc = -2;
                break;
            }
            sent = seq;
            done++;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_abort(txn);
    if (done) {
        jsPubOptions po;
        jsPubOptions_Init(&po);
        po.MaxWait = PUBLISH_ACK_MS;
        natsStatus s = js_PublishAsyncComplete(p->js, &po);
        if (s == NATS_OK && !atomic_load(&p->async_failed)) {
            atomic_store(&p->published, sent);
            p->chain = 1;
        } else {
            cd_debug("publish: batch after seq %" PRIu64 " not acknowledged: %s", from,
                     s != NATS_OK ? natsStatus_GetText(s) : "a message was refused");
            if (rc != -1) rc = -2;
        }
    }
    if (rc == -1) cd_error("publish: cannot build the message after seq %" PRIu64 ": %s", atomic_load(&p->published),
                           c->err_msg[0] ? c->err_msg : "unreadable change");
    cd_call_free(c);
    if (done) pos_save(p);
    if (rc == -1 || rc == -2) return -1;
    return done > 0;
}

static void wait_ms(cd_publisher *p, unsigned ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
    pthread_mutex_lock(&p->mu);
    while (!p->stop && !p->kicked)
        if (pthread_cond_timedwait(&p->wake, &p->mu, &until) == ETIMEDOUT) break;
    p->kicked = 0;
    pthread_mutex_unlock(&p->mu);
}

/* A failed attempt: counted, NATS marked unreachable, then a wait that doubles each time. */
static void back_off(cd_publisher *p, unsigned *backoff)
{
    atomic_fetch_add(&p->errors, 1);
    set_state(p, ST_UNREACHABLE);
    wait_ms(p, *backoff);
    *backoff = *backoff * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : *backoff * 2;
}

static void *publish_main(void *arg)
{
    cd_publisher *p = arg;
    unsigned backoff = RETRY_FIRST_MS;
    while (!p->stop) {
        if (!p->js) {
            if (connect_nats(p) != NATS_OK) { back_off(p, &backoff); continue; }
            set_state(p, ST_PUBLISHING);
        }
        int r = publish_some(p);
        if (r < 0) {
            /* Start again from where the stream really ends: a connection made anew reads it. */
            disconnect(p);
            back_off(p, &backoff);
            continue;
        }
        backoff = RETRY_FIRST_MS;
        set_state(p, r ? ST_PUBLISHING : ST_CAUGHT_UP);
        if (r == 0) wait_ms(p, IDLE_WAIT_MS);
    }
    return NULL;
}

cd_publisher *cd_publish_start(cd_server *srv)
{
    if (!stream_name_ok(srv->cfg.publish_stream)) {
        cd_error("--stream %s: a stream name is 1-64 letters, digits, '-' or '_'", srv->cfg.publish_stream);
        return NULL;
    }
    cd_publisher *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->srv = srv;
    snprintf(p->prefix, sizeof p->prefix, "claimd.%s.", srv->cfg.publish_stream);
    if (gethostname(p->primary, sizeof p->primary - 1) < 0 || !p->primary[0]) snprintf(p->primary, sizeof p->primary, "unknown host");
    int rc = pos_open(p);
    if (rc) {
        cd_error("publish: cannot open %s/publish.mdb: %s", srv->cfg.data_dir, mdb_strerror(rc));
        free(p);
        return NULL;
    }
    atomic_store(&p->published, p->pos_saved);
    natsStatus s = natsOptions_Create(&p->opts);
    if (s == NATS_OK) s = cd_nats_set_servers(p->opts, srv->cfg.publish_url);
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(p->opts, -1);
    if (s == NATS_OK) s = natsOptions_SetReconnectWait(p->opts, 500);
    if (s == NATS_OK) s = natsOptions_SetTimeout(p->opts, 2000);
    if (s != NATS_OK) {
        cd_error("--publish %s: %s", srv->cfg.publish_url, natsStatus_GetText(s));
        if (p->opts) natsOptions_Destroy(p->opts);
        mdb_env_close(p->pos_env);
        free(p);
        return NULL;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    atomic_store(&p->state, ST_CONNECTING);
    if (pthread_create(&p->thread, NULL, publish_main, p)) {
        cd_error("publish: cannot start its thread");
        natsOptions_Destroy(p->opts);
        mdb_env_close(p->pos_env);
        free(p);
        return NULL;
    }
    return p;
}

void cd_publish_kick(cd_publisher *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->kicked = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

void cd_publish_status_get(cd_publisher *p, cd_publish_status *out)
{
    int st = atomic_load(&p->state);
    out->state = state_names[st >= 0 && st <= ST_UNREACHABLE ? st : 0];
    out->published = atomic_load(&p->published);
    out->errors = atomic_load(&p->errors);
}

void cd_publish_stop(cd_publisher *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_signal(&p->wake);
    pthread_mutex_unlock(&p->mu);
    pthread_join(p->thread, NULL);
    pos_save(p);
    disconnect(p);
    natsOptions_Destroy(p->opts);
    nats_Close();                /* libnats's own threads and memory: the publisher was its only user */
    mdb_env_close(p->pos_env);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    free(p);
}
