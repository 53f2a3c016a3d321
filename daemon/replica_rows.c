/* replica_rows: the stored rows of one change, packed for its published message (replica_rows.h). */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "entity.h"
#include "entity_keys.h"
#include "record.h"
#include "replica_rows.h"
#include "server.h"
#include "text.h"

/* Stored field positions this file reads (m_verdict.c, m_relation.c). */
#define VERDICT_RECORDED_AT 11
#define RELATION_AT 2

/* A list packed aside, then copied into the result after its array header. */
typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
    uint32_t n;
} side_list;

static void side_init(side_list *l)
{
    msgpack_sbuffer_init(&l->sb);
    msgpack_packer_init(&l->pk, &l->sb, msgpack_sbuffer_write);
    l->n = 0;
}

static void side_emit(cd_call *c, const char *key, side_list *l)
{
    cd_pack_cstr(&c->pk, key);
    msgpack_pack_array(&c->pk, l->n);
    if (l->sb.size) msgpack_sbuffer_write(&c->result, l->sb.data, l->sb.size);
    msgpack_sbuffer_destroy(&l->sb);
}

static void pack_bin(msgpack_packer *pk, const void *p, size_t n)
{
    msgpack_pack_bin(pk, n);
    msgpack_pack_bin_body(pk, p, n);
}

/* The revisions of claim id recorded at `at`, oldest first: walked back from the newest. */
static int pack_revs(cd_call *c, MDB_txn *txn, uint64_t id, int64_t at)
{
    cd_db *db = &c->srv->db;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, db->dbi[CD_DBI_CLAIM_REVS], &cur);
    if (rc) return cd_fail_mdb(c, rc, "reading revisions");
    unsigned char key[12];
    cd_put_u64be(key, id + 1);
    cd_put_u32be(key + 8, 0);
    MDB_val k = { 12, key }, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    rc = rc == 0 ? mdb_cursor_get(cur, &k, &v, MDB_PREV) : mdb_cursor_get(cur, &k, &v, MDB_LAST);
    /* Collected newest first, packed oldest first. */
    size_t n = 0, cap = 4;
    msgpack_object *revs = cd_call_alloc(c, cap * sizeof *revs);
    uint32_t *nums = cd_call_alloc(c, cap * sizeof *nums);
    for (; rc == 0 && revs && nums; rc = mdb_cursor_get(cur, &k, &v, MDB_PREV)) {
        if (k.mv_size != 12 || cd_get_u64be(k.mv_data) != id) break;
        msgpack_object o;
        if (cd_rec_unpack(c, &v, 4, &o)) break;
        int64_t rat = cd_rec_i64(&o.via.array.ptr[1]);
        if (rat < at) break;
        if (rat != at) continue;
        if (n == cap) {
            msgpack_object *r2 = cd_call_alloc(c, cap * 2 * sizeof *r2);
            uint32_t *n2 = cd_call_alloc(c, cap * 2 * sizeof *n2);
            if (!r2 || !n2) { revs = NULL; break; }
            memcpy(r2, revs, n * sizeof *r2);
            memcpy(n2, nums, n * sizeof *n2);
            revs = r2;
            nums = n2;
            cap *= 2;
        }
        nums[n] = cd_get_u32be((unsigned char *)k.mv_data + 8);
        revs[n++] = o;
    }
    mdb_cursor_close(cur);
    if (c->err) return -1;
    if (!revs || !nums) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    if (rc && rc != MDB_NOTFOUND) return cd_fail_mdb(c, rc, "reading revisions");
    MDB_val cv = { 0, NULL }, cbody = { 0, NULL };
    cd_pack_cstr(&c->pk, "revs");
    msgpack_pack_array(&c->pk, (uint32_t)n);
    for (size_t i = n; i-- > 0;) {
        const msgpack_object *f = revs[i].via.array.ptr;
        msgpack_pack_array(&c->pk, 5);
        msgpack_pack_uint32(&c->pk, nums[i]);
        msgpack_pack_object(&c->pk, f[0]);
        msgpack_pack_object(&c->pk, f[1]);
        msgpack_pack_object(&c->pk, f[2]);
        /* Bodies travel plain: packed ones name a dictionary of this database, not the
         * replica's (which packs with its own). */
        if (f[3].type == MSGPACK_OBJECT_BIN) {
            MDB_val body = { f[3].via.bin.size, (void *)f[3].via.bin.ptr };
            if (cd_rec_plain(c, &body)) return -1;
            pack_bin(&c->pk, body.mv_data, body.mv_size);
            continue;
        }
        /* The current revision: its record is the one in claims. */
        if (!cbody.mv_data) {
            if ((rc = cd_rec_get_id(c, txn, db->dbi[CD_DBI_CLAIMS], id, &cv, "reading a claim")))
                return rc == MDB_NOTFOUND ? cd_fail(c, CLAIMD_E_INTERNAL, NULL, "claim %llu has a revision but no record",
                                                    (unsigned long long)id) : -1;
            if (cd_rec_payload(c, &cv, &cbody) || cd_rec_plain(c, &cbody)) return -1;
        }
        pack_bin(&c->pk, cbody.mv_data, cbody.mv_size);
    }
    return 0;
}

/* The verdicts of claim recorded at `at` (verdict.add): [[id, stored value]]. */
static int pack_verdicts(cd_call *c, MDB_txn *txn, uint64_t claim, int64_t at)
{
    cd_db *db = &c->srv->db;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, db->dbi[CD_DBI_CLAIM_VERDICTS], &cur);
    if (rc) return cd_fail_mdb(c, rc, "listing verdicts");
    unsigned char key[16];
    cd_put_u64be(key, claim);
    cd_put_u64be(key + 8, 0);
    MDB_val k = { 16, key }, v;
    side_list l;
    side_init(&l);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 16 || cd_get_u64be(k.mv_data) != claim) break;
        uint64_t vid = cd_get_u64be((unsigned char *)k.mv_data + 8);
        MDB_val vv;
        msgpack_object o;
        if (cd_rec_get_id(c, txn, db->dbi[CD_DBI_VERDICTS], vid, &vv, "reading a verdict")) break;
        if (cd_rec_unpack(c, &vv, VERDICT_RECORDED_AT + 1, &o)) break;
        if (cd_rec_i64(&o.via.array.ptr[VERDICT_RECORDED_AT]) != at) continue;
        msgpack_pack_array(&l.pk, 2);
        msgpack_pack_uint64(&l.pk, vid);
        pack_bin(&l.pk, vv.mv_data, vv.mv_size);
        l.n++;
    }
    mdb_cursor_close(cur);
    side_emit(c, "verdicts", &l);
    return c->err ? -1 : 0;
}

/* The relations stored under claim at `at` (relation.add): [[key, stored value]]. */
static int pack_relations(cd_call *c, MDB_txn *txn, uint64_t claim, int64_t at)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, c->srv->db.dbi[CD_DBI_RELATIONS], &cur);
    if (rc) return cd_fail_mdb(c, rc, "listing relations");
    unsigned char key[18] = { 0 };
    cd_put_u64be(key, claim);
    MDB_val k = { 18, key }, v;
    side_list l;
    side_init(&l);
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 18 || cd_get_u64be(k.mv_data) != claim) break;
        msgpack_object o;
        if (cd_rec_unpack(c, &v, RELATION_AT + 1, &o)) break;
        if (cd_rec_i64(&o.via.array.ptr[RELATION_AT]) != at) continue;
        msgpack_pack_array(&l.pk, 2);
        pack_bin(&l.pk, k.mv_data, k.mv_size);
        pack_bin(&l.pk, v.mv_data, v.mv_size);
        l.n++;
    }
    mdb_cursor_close(cur);
    side_emit(c, "relations", &l);
    return c->err ? -1 : 0;
}

/* The entity's record and, for each of its names, who owns its key in aliases now. */
static int pack_entity(cd_call *c, MDB_txn *txn, uint64_t id)
{
    cd_db *db = &c->srv->db;
    MDB_val v;
    int rc = cd_rec_get_id(c, txn, db->dbi[CD_DBI_ENTITIES], id, &v, "reading an entity");
    cd_pack_cstr(&c->pk, "entity");
    if (rc == MDB_NOTFOUND) { msgpack_pack_nil(&c->pk); return 0; }
    if (rc) return -1;
    pack_bin(&c->pk, v.mv_data, v.mv_size);
    cd_entity e;
    if (cd_entity_decode(c, &v, id, &e)) return -1;
    side_list l;
    side_init(&l);
    for (size_t i = 0; i <= e.naliases; i++) {
        cd_str name = i == 0 ? e.name : e.aliases[i - 1];
        size_t klen;
        char *nk = cd_text_name_key(name.p, name.n, &klen);
        if (!nk) continue;
        MDB_val k = { klen, nk }, owner;
        if (klen > 0 && klen <= CD_KEY_MAX && mdb_get(txn, db->dbi[CD_DBI_ALIASES], &k, &owner) == 0 &&
            owner.mv_size == 8) {
            msgpack_pack_array(&l.pk, 2);
            pack_bin(&l.pk, nk, klen);
            msgpack_pack_uint64(&l.pk, cd_get_u64be(owner.mv_data));
            l.n++;
        }
        free(nk);
    }
    side_emit(c, "aliases", &l);
    return 0;
}

int cd_rows_pack(cd_call *c, MDB_txn *txn, const MDB_val *change_val, int64_t at, cd_str op, cd_str type,
                 uint64_t id)
{
    int is_entity = type.n == 6 && memcmp(type.p, "entity", 6) == 0;
    int verdicts = op.n == 11 && memcmp(op.p, "verdict.add", 11) == 0;
    int relations = op.n == 12 && memcmp(op.p, "relation.add", 12) == 0;
    msgpack_pack_map(&c->pk, is_entity ? 3 : 2 + verdicts + relations);
    cd_pack_cstr(&c->pk, "change");
    pack_bin(&c->pk, change_val->mv_data, change_val->mv_size);
    if (is_entity) return pack_entity(c, txn, id);
    if (pack_revs(c, txn, id, at)) return -1;
    if (verdicts && pack_verdicts(c, txn, id, at)) return -1;
    if (relations && pack_relations(c, txn, id, at)) return -1;
    return 0;
}
