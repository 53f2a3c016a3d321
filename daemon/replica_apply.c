/* replica_apply: a batch of the primary's changes written as the primary stored them
 * (replica_apply.h). Each change is written by the same code the primary's own write path
 * uses for the rows that follow from a record (duplicate keys, external ids, name keys:
 * claim_store.c, entity_keys.c), so the replica's tables are the primary's; the derived
 * indexes are built by the replica's own index pass from its change log, as on the primary. */
#include <errno.h>
#include <string.h>
#include "bytes.h"
#include "claim.h"
#include "db.h"
#include "dispatch.h"
#include "entity.h"
#include "entity_keys.h"
#include "params.h"
#include "record.h"
#include "replica_apply.h"
#include "server.h"

static void apply_batch(cd_call *c, MDB_txn *txn);

const cd_method cd_replica_apply_method = { "replica.apply", apply_batch, CD_ROLE_ADMIN, CD_M_WRITE };

/* A stored value as cd_rec_put takes it (it only reads data and size). */
static msgpack_sbuffer as_sbuffer(const MDB_val *v)
{
    return (msgpack_sbuffer){ .size = v->mv_size, .data = v->mv_data, .alloc = v->mv_size };
}

static const msgpack_object *field(const msgpack_object *map, const char *key, msgpack_object_type type)
{
    const msgpack_object *o = cd_map_get(map, key);
    return o && o->type == type ? o : NULL;
}

static MDB_val bin_val(const msgpack_object *o)
{
    return (MDB_val){ o->via.bin.size, (void *)o->via.bin.ptr };
}

static int damaged(cd_call *c, uint64_t seq, const char *what)
{
    return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "replica: the message of seq %llu is unusable: %s",
                   (unsigned long long)seq, what);
}

/* The claim's revisions of this change that the replica does not have yet, in order. */
static int apply_revs(cd_call *c, MDB_txn *txn, uint64_t seq, uint64_t id, const msgpack_object *revs,
                      uint64_t *speaker)
{
    cd_claim old;
    int rc = cd_claim_load(c, txn, id, &old), have = rc == 0;
    if (rc && rc != MDB_NOTFOUND) return -1;
    for (uint32_t i = 0; revs && i < revs->via.array.size; i++) {
        const msgpack_object *r = &revs->via.array.ptr[i];
        if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size != 5) return damaged(c, seq, "a revision is not [rev, op, at, by, body]");
        const msgpack_object *f = r->via.array.ptr;
        uint64_t rev = cd_rec_u64(&f[0]);
        if (have && rev <= old.rev) continue;      /* applied with an earlier change of the same write */
        if (rev != (have ? old.rev + 1 : 1u) || f[1].type != MSGPACK_OBJECT_STR || f[4].type != MSGPACK_OBJECT_BIN)
            return damaged(c, seq, "a revision is missing before it");
        MDB_val body = bin_val(&f[4]);
        cd_claim cl;
        if (cd_zrec_is_packed(body.mv_data, body.mv_size))   /* primaries send bodies plain (zrec.h) */
            return damaged(c, seq, "a revision's record is packed with the primary's dictionary");
        if (cd_claim_decode(c, &body, &cl)) return -1;
        if (cl.id != id || cl.rev != rev) return damaged(c, seq, "the revision's record is another claim's");
        c->at_us = cd_rec_i64(&f[2]);
        cd_str op = cd_rec_str(&f[1]);
        msgpack_sbuffer rec = as_sbuffer(&body);
        if (cd_claim_store_revision(c, txn, have ? &old : NULL, &cl, &rec, cd_call_strndup(c, op.p, op.n), cd_rec_str(&f[3])))
            return -1;
        old = cl;
        have = 1;
    }
    if (!have) return damaged(c, seq, "no revision of its claim");
    *speaker = old.speaker;
    return 0;
}

static int apply_verdicts(cd_call *c, MDB_txn *txn, uint64_t seq, uint64_t claim, const msgpack_object *list)
{
    cd_db *db = &c->srv->db;
    for (uint32_t i = 0; list && i < list->via.array.size; i++) {
        const msgpack_object *r = &list->via.array.ptr[i];
        if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size != 2 || r->via.array.ptr[1].type != MSGPACK_OBJECT_BIN)
            return damaged(c, seq, "a verdict is not [id, record]");
        uint64_t vid = cd_rec_u64(&r->via.array.ptr[0]);
        MDB_val v = bin_val(&r->via.array.ptr[1]), body, have;
        if (cd_rec_payload(c, &v, &body)) return -1;
        int rc = cd_rec_get_id(c, txn, db->dbi[CD_DBI_VERDICTS], vid, &have, "reading a verdict");
        if (rc == 0) continue;                      /* verdicts never change once written */
        if (rc != MDB_NOTFOUND) return -1;
        unsigned char key[16];
        cd_put_u64be(key, vid);
        msgpack_sbuffer sb = as_sbuffer(&body);
        if (cd_rec_put(c, txn, db->dbi[CD_DBI_VERDICTS], key, 8, &sb, 0, "storing a verdict")) return -1;
        cd_put_u64be(key, claim);
        cd_put_u64be(key + 8, vid);
        MDB_val k = { 16, key }, e = { 0, NULL };
        if ((rc = mdb_put(txn, db->dbi[CD_DBI_CLAIM_VERDICTS], &k, &e, 0))) return cd_fail_mdb(c, rc, "indexing a verdict");
    }
    return 0;
}

static int apply_relations(cd_call *c, MDB_txn *txn, uint64_t seq, const msgpack_object *list)
{
    for (uint32_t i = 0; list && i < list->via.array.size; i++) {
        const msgpack_object *r = &list->via.array.ptr[i];
        if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size != 2 || r->via.array.ptr[0].type != MSGPACK_OBJECT_BIN ||
            r->via.array.ptr[1].type != MSGPACK_OBJECT_BIN || r->via.array.ptr[0].via.bin.size != 18)
            return damaged(c, seq, "a relation is not [key, record]");
        MDB_val v = bin_val(&r->via.array.ptr[1]), body;
        if (cd_rec_payload(c, &v, &body)) return -1;
        msgpack_sbuffer sb = as_sbuffer(&body);
        if (cd_rec_put(c, txn, c->srv->db.dbi[CD_DBI_RELATIONS], r->via.array.ptr[0].via.bin.ptr, 18, &sb, 0,
                       "storing a relation"))
            return -1;
    }
    return 0;
}

/* The entity's record, its name keys as the primary's write path makes them, and the owners
 * of its names' alias keys as the primary has them. */
static int apply_entity(cd_call *c, MDB_txn *txn, uint64_t seq, uint64_t id, const msgpack_object *stored)
{
    cd_db *db = &c->srv->db;
    const msgpack_object *rec = field(stored, "entity", MSGPACK_OBJECT_BIN);
    const msgpack_object *aliases = field(stored, "aliases", MSGPACK_OBJECT_ARRAY);
    if (!rec) return 0;                             /* gone on the primary: nothing to write */
    MDB_val v = bin_val(rec), body;
    cd_entity e;
    if (cd_entity_decode(c, &v, id, &e) || cd_rec_payload(c, &v, &body)) return -1;
    unsigned char key[8];
    cd_put_u64be(key, id);
    msgpack_sbuffer sb = as_sbuffer(&body);
    if (cd_rec_put(c, txn, db->dbi[CD_DBI_ENTITIES], key, 8, &sb, 0, "storing an entity")) return -1;
    if (!e.merged_into)
        for (size_t i = 0; i <= e.naliases; i++) {
            cd_str name = i == 0 ? e.name : e.aliases[i - 1];
            int rc = cd_entity_keys_put(db, txn, name.p, name.n, id, 0);
            if (rc && rc != EILSEQ) return rc == ENOMEM ? cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory")
                                                        : cd_fail_mdb(c, rc, "indexing an alias");
        }
    for (uint32_t i = 0; aliases && i < aliases->via.array.size; i++) {
        const msgpack_object *r = &aliases->via.array.ptr[i];
        if (r->type != MSGPACK_OBJECT_ARRAY || r->via.array.size != 2 || r->via.array.ptr[0].type != MSGPACK_OBJECT_BIN ||
            r->via.array.ptr[0].via.bin.size == 0 || r->via.array.ptr[0].via.bin.size > CD_KEY_MAX)
            return damaged(c, seq, "an alias is not [key, owner]");
        unsigned char owner[8];
        cd_put_u64be(owner, cd_rec_u64(&r->via.array.ptr[1]));
        MDB_val k = bin_val(&r->via.array.ptr[0]), o = { 8, owner };
        int rc = mdb_put(txn, db->dbi[CD_DBI_ALIASES], &k, &o, 0);
        if (rc) return cd_fail_mdb(c, rc, "indexing an alias");
    }
    return 0;
}

/* One message: its rows, then its change record under the primary's seq. */
static int apply_one(cd_call *c, MDB_txn *txn, const msgpack_object *msg, uint64_t *last)
{
    cd_db *db = &c->srv->db;
    if (msg->type != MSGPACK_OBJECT_MAP) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "replica: a message is not a map");
    const msgpack_object *seqo = field(msg, "seq", MSGPACK_OBJECT_POSITIVE_INTEGER);
    const msgpack_object *stored = field(msg, "stored", MSGPACK_OBJECT_MAP);
    uint64_t seq = seqo ? seqo->via.u64 : 0;
    if (!seq) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "replica: a message without a seq");
    if (seq <= *last) return 0;                     /* applied already */
    if (seq != *last + 1)
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "replica: seq %llu follows %llu: changes are missing",
                       (unsigned long long)seq, (unsigned long long)*last);
    if (!stored) return damaged(c, seq, "it carries no stored rows (published by a claimd without replicas)");
    const msgpack_object *change = field(stored, "change", MSGPACK_OBJECT_BIN);
    if (!change) return damaged(c, seq, "no change record");
    MDB_val cv = bin_val(change), cbody;
    msgpack_object ch;
    if (cd_rec_unpack(c, &cv, 4, &ch) || cd_rec_payload(c, &cv, &cbody)) return -1;
    const msgpack_object *cf = ch.via.array.ptr;
    cd_str op = cd_rec_str(&cf[1]), type = cd_rec_str(&cf[2]);
    uint64_t id = cd_rec_u64(&cf[3]), speaker = 0;
    if (!op.n || !type.n || !id) return damaged(c, seq, "a change record without op, type or id");
    int rc;
    if (type.n == 6 && memcmp(type.p, "entity", 6) == 0) {
        rc = apply_entity(c, txn, seq, id, stored);
    } else {
        rc = apply_revs(c, txn, seq, id, field(stored, "revs", MSGPACK_OBJECT_ARRAY), &speaker);
        if (!rc) rc = apply_verdicts(c, txn, seq, id, field(stored, "verdicts", MSGPACK_OBJECT_ARRAY));
        if (!rc) rc = apply_relations(c, txn, seq, field(stored, "relations", MSGPACK_OBJECT_ARRAY));
    }
    if (rc) return -1;
    unsigned char key[8];
    cd_put_u64be(key, seq);
    msgpack_sbuffer sb = as_sbuffer(&cbody);
    if (cd_rec_put(c, txn, db->dbi[CD_DBI_CHANGES], key, 8, &sb, MDB_APPEND, "logging a change")) return -1;
    cd_change out = { seq, cd_rec_i64(&cf[0]), cd_call_strndup(c, op.p, op.n), cd_call_strndup(c, type.p, type.n),
                      id, speaker };
    if (!out.op || !out.type || cd_call_add_change(c, &out)) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    c->srv->ix.pend_committed = seq;
    *last = seq;
    return 0;
}

static int put_meta(cd_call *c, MDB_txn *txn, const char *key, const void *val, size_t n)
{
    MDB_val k = { strlen(key), (void *)key }, v = { n, (void *)val };
    int rc = mdb_put(txn, c->srv->db.dbi[CD_DBI_META], &k, &v, 0);
    return rc ? cd_fail_mdb(c, rc, "marking the replica") : 0;
}

static void apply_batch(cd_call *c, MDB_txn *txn)
{
    const msgpack_object *msgs = field(&c->params, "msgs", MSGPACK_OBJECT_ARRAY);
    const msgpack_object *stream = field(&c->params, "stream", MSGPACK_OBJECT_STR);
    const msgpack_object *seen = field(&c->params, "seen", MSGPACK_OBJECT_POSITIVE_INTEGER);
    if (!msgs || !stream) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "replica: a malformed batch"); return; }
    uint64_t last = cd_db_next_id(txn, c->srv->db.dbi[CD_DBI_CHANGES]) - 1;
    for (uint32_t i = 0; i < msgs->via.array.size; i++)
        if (apply_one(c, txn, &msgs->via.array.ptr[i], &last)) return;
    unsigned char s[8];
    cd_put_u64be(s, seen && seen->via.u64 > last ? seen->via.u64 : last);
    if (put_meta(c, txn, CD_META_REPLICA, stream->via.str.ptr, stream->via.str.size) ||
        put_meta(c, txn, CD_META_REPLICA_SEEN, s, 8))
        return;
    msgpack_pack_uint64(&c->pk, last);
}

int cd_replica_marker(MDB_txn *txn, MDB_dbi meta, char *buf, size_t n, uint64_t *seen)
{
    MDB_val k = { strlen(CD_META_REPLICA), (void *)CD_META_REPLICA }, v;
    buf[0] = 0;
    *seen = 0;
    int rc = mdb_get(txn, meta, &k, &v);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc) return rc;
    size_t len = v.mv_size < n - 1 ? v.mv_size : n - 1;
    memcpy(buf, v.mv_data, len);
    buf[len] = 0;
    k = (MDB_val){ strlen(CD_META_REPLICA_SEEN), (void *)CD_META_REPLICA_SEEN };
    if (mdb_get(txn, meta, &k, &v) == 0 && v.mv_size == 8) *seen = cd_get_u64be(v.mv_data);
    return 0;
}
