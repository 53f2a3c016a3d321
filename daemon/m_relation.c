/* m_relation: relation.add and relation.list. A relation is stored twice, under each claim
 * (claim(8) dir(1) kind(1) other(8) -> {note, by, at}), so listing either side is one range. */
#include <string.h>
#include "bytes.h"
#include "claim.h"
#include "db.h"
#include "isotime.h"
#include "methods.h"
#include "params.h"
#include "record.h"
#include "server.h"

static const char *const kind_names[] = {
    "confirms", "contradicts", "repeats", "clarifies", "retracts", "responds-to", NULL
};

enum { DIR_OUT = 0, DIR_IN = 1 };

static void relation_key(unsigned char *key, uint64_t claim, int dir, int kind, uint64_t other)
{
    cd_put_u64be(key, claim);
    key[8] = (unsigned char)dir;
    key[9] = (unsigned char)kind;
    cd_put_u64be(key + 10, other);
}

static int claim_exists(cd_call *c, MDB_txn *txn, uint64_t id, const char *field, cd_claim *cl)
{
    int rc = cd_claim_load(c, txn, id, cl);
    if (rc == MDB_NOTFOUND) return cd_fail(c, CLAIMD_E_NOT_FOUND, field, "no claim with id %llu", (unsigned long long)id);
    return rc ? -1 : 0;
}

/* Logs relation.add under one of the two claims, with its speaker for subscription filters. */
static int log_relation(cd_call *c, MDB_txn *txn, const cd_claim *cl)
{
    if (cd_change_log(c, txn, "relation.add", "claim", cl->id)) return -1;
    c->changes[c->nchanges - 1].speaker = cl->speaker;
    return 0;
}

void cd_m_relation_add(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "from", "to", "kind", "note", "by", NULL };
    uint64_t from, to;
    int kind;
    cd_str note = { 0 }, by = { 0 };
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_u64(c, &c->params, NULL, "from", CD_REQUIRED, 1, UINT64_MAX, &from) ||
        cd_get_u64(c, &c->params, NULL, "to", CD_REQUIRED, 1, UINT64_MAX, &to) ||
        cd_get_enum(c, &c->params, NULL, "kind", CD_REQUIRED, kind_names, &kind) ||
        cd_get_str(c, &c->params, NULL, "note", CD_OPTIONAL, 4096, &note) ||
        cd_get_str(c, &c->params, NULL, "by", CD_OPTIONAL, CD_SHORT_MAX, &by))
        return;
    if (from == to) { cd_fail(c, CLAIMD_E_INVALID, "to", "a claim cannot relate to itself"); return; }
    cd_claim a, b;
    if (claim_exists(c, txn, from, "from", &a) || claim_exists(c, txn, to, "to", &b)) return;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    cd_rec_pack_str(&pk, note);
    cd_rec_pack_str(&pk, by);
    msgpack_pack_int64(&pk, c->at_us);
    unsigned char key[18];
    MDB_dbi dbi = c->srv->db.dbi[CD_DBI_RELATIONS];
    /* Adding the same relation again replaces its note. */
    relation_key(key, from, DIR_OUT, kind, to);
    int rc = cd_rec_put(c, txn, dbi, key, sizeof key, &sb, 0, "storing a relation");
    relation_key(key, to, DIR_IN, kind, from);
    if (!rc) rc = cd_rec_put(c, txn, dbi, key, sizeof key, &sb, 0, "storing a relation");
    msgpack_sbuffer_destroy(&sb);
    /* Both claims changed: the feed names each, so a subscription to either sees it. */
    if (rc || log_relation(c, txn, &a) || log_relation(c, txn, &b)) return;
    msgpack_pack_map(&c->pk, 0);
}

void cd_m_relation_list(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "claim", NULL };
    uint64_t id;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_u64(c, &c->params, NULL, "claim", CD_REQUIRED, 1, UINT64_MAX, &id))
        return;
    cd_claim self;
    if (claim_exists(c, txn, id, "claim", &self)) return;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, c->srv->db.dbi[CD_DBI_RELATIONS], &cur);
    if (rc) { cd_fail_mdb(c, rc, "listing relations"); return; }
    unsigned char start[18];
    relation_key(start, id, 0, 0, 0);
    /* Two passes over a short range: count, then pack (the array header comes first). */
    uint32_t n = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) {
            msgpack_pack_map(&c->pk, 1);
            cd_pack_cstr(&c->pk, "items");
            msgpack_pack_array(&c->pk, n);
        }
        MDB_val k = { sizeof start, start }, v;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            const unsigned char *p = k.mv_data;
            if (k.mv_size != 18 || cd_get_u64be(p) != id) break;
            if (pass == 0) { n++; continue; }
            uint64_t other = cd_get_u64be(p + 10);
            msgpack_object rec;
            cd_str note = { 0 };
            if (cd_rec_unpack(c, &v, 3, &rec) == 0) note = cd_rec_str(&rec.via.array.ptr[0]);
            c->err = CLAIMD_OK;
            msgpack_pack_map(&c->pk, 3 + !!note.n);
            cd_pack_cstr(&c->pk, "from");
            msgpack_pack_uint64(&c->pk, p[8] == DIR_OUT ? id : other);
            cd_pack_cstr(&c->pk, "to");
            msgpack_pack_uint64(&c->pk, p[8] == DIR_OUT ? other : id);
            cd_pack_cstr(&c->pk, "kind");
            cd_pack_cstr(&c->pk, kind_names[p[9] < 6 ? p[9] : 0]);
            if (note.n) { cd_pack_cstr(&c->pk, "note"); cd_pack_strn(&c->pk, note.p, note.n); }
        }
    }
    mdb_cursor_close(cur);
}
