/* history: walks a claim's revisions in order; the key order id|rev is the time order. */
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "history.h"
#include "record.h"
#include "record_valid.h"

/* Decodes the revision stored under key k (id|rev) with value v into *r. A nil body is the
 * current revision, whose record is the claim in `claims`. 0 or -1 (error set). */
static int decode_revision(cd_call *c, MDB_txn *txn, const MDB_val *k, const MDB_val *v, cd_revision *r)
{
    msgpack_object o;
    if (cd_rec_unpack(c, v, 4, &o)) return cd_rec_report(c, "claim_revs", k);
    const msgpack_object *f = o.via.array.ptr;
    *r = (cd_revision){ cd_get_u32be((unsigned char *)k->mv_data + 8), cd_rec_str(&f[0]), cd_rec_str(&f[2]),
                        cd_rec_i64(&f[1]), { 0 } };
    if (f[3].type == MSGPACK_OBJECT_NIL) {
        uint64_t id = cd_get_u64be(k->mv_data);
        int rc = cd_claim_load(c, txn, id, &r->claim);
        if (rc == 0 && r->claim.rev == r->rev) return 0;
        if (rc < 0) return -1;
        cd_fail(c, CLAIMD_E_INTERNAL, NULL, "damaged record: revision %u of claim %llu has no record",
                (unsigned)r->rev, (unsigned long long)id);
        return cd_rec_report(c, "claim_revs", k);
    }
    if (f[3].type != MSGPACK_OBJECT_BIN) {
        cd_fail(c, CLAIMD_E_INTERNAL, NULL, "damaged record: the revision's body is neither bytes nor nil");
        return cd_rec_report(c, "claim_revs", k);
    }
    MDB_val body = { f[3].via.bin.size, (void *)f[3].via.bin.ptr };
    return cd_claim_decode(c, &body, &r->claim) ? cd_rec_report(c, "claim_revs", k) : 0;
}

int cd_history_rev(cd_call *c, MDB_txn *txn, uint64_t id, uint32_t rev, cd_claim *out)
{
    unsigned char key[12];
    cd_put_u64be(key, id);
    cd_put_u32be(key + 8, rev);
    MDB_val k = { 12, key }, v;
    int rc = mdb_get(txn, c->db->dbi[CD_DBI_CLAIM_REVS], &k, &v);
    if (rc == MDB_NOTFOUND) return rc;
    if (rc) return cd_fail_mdb(c, rc, "reading a revision");
    cd_revision r;
    if (decode_revision(c, txn, &k, &v, &r)) return -1;
    *out = r.claim;
    return 0;
}

int cd_history_each(cd_call *c, MDB_txn *txn, uint64_t id,
                    int (*fn)(cd_call *c, MDB_txn *txn, const cd_revision *r, void *ud), void *ud)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, c->db->dbi[CD_DBI_CLAIM_REVS], &cur);
    if (rc) return cd_fail_mdb(c, rc, "reading history");
    unsigned char key[12];
    cd_put_u64be(key, id);
    cd_put_u32be(key + 8, 0);
    MDB_val k = { 12, key }, v;
    int found = 0, stop = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && !stop;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 12 || cd_get_u64be(k.mv_data) != id) break;
        cd_revision r;
        if (decode_revision(c, txn, &k, &v, &r)) break;
        found = 1;
        stop = fn(c, txn, &r, ud);
    }
    mdb_cursor_close(cur);
    if (c->err) return -1;
    return found ? 0 : MDB_NOTFOUND;
}

typedef struct { int64_t as_of; cd_claim *out; int found; } as_of_state;

static int keep_if_before(cd_call *c, MDB_txn *txn, const cd_revision *r, void *ud)
{
    (void)c; (void)txn;
    as_of_state *st = ud;
    if (r->at >= st->as_of) return 1;
    *st->out = r->claim;
    st->found = 1;
    return 0;
}

int cd_history_as_of(cd_call *c, MDB_txn *txn, uint64_t id, int64_t as_of_us, cd_claim *out)
{
    as_of_state st = { as_of_us, out, 0 };
    int rc = cd_history_each(c, txn, id, keep_if_before, &st);
    if (rc) return rc;
    return st.found ? 0 : MDB_NOTFOUND;
}
