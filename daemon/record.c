/* record: shared encoding helpers and the change log. */
#include <string.h>
#include "bytes.h"
#include "checksum.h"
#include "db.h"
#include "prescan.h"
#include "record.h"
#include "zrec.h"

void cd_rec_pack_str(msgpack_packer *pk, cd_str s)
{
    if (s.n) cd_pack_strn(pk, s.p, s.n);
    else msgpack_pack_nil(pk);
}

cd_str cd_rec_str(const msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_STR) return (cd_str){ "", 0 };
    return (cd_str){ o->via.str.ptr, o->via.str.size };
}

uint64_t cd_rec_u64(const msgpack_object *o)
{
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? o->via.u64 : 0;
}

int64_t cd_rec_i64(const msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) return (int64_t)o->via.u64;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) return o->via.i64;
    return 0;
}

int cd_rec_payload(cd_call *c, const MDB_val *v, MDB_val *body)
{
    if (!cd_checksum_ok(v->mv_data, v->mv_size))
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "damaged record: checksum mismatch");
    *body = (MDB_val){ v->mv_size - CD_CHECKSUM_BYTES, v->mv_data };
    return 0;
}

int cd_rec_unpack(cd_call *c, const MDB_val *v, uint32_t min, msgpack_object *out)
{
    MDB_val body;
    return cd_rec_payload(c, v, &body) ? -1 : cd_rec_unpack_body(c, &body, min, out);
}

int cd_rec_plain(cd_call *c, MDB_val *body)
{
    if (!cd_zrec_is_packed(body->mv_data, body->mv_size)) return 0;
    const char *why = NULL;
    size_t n = cd_zrec_plain_size(body->mv_data, body->mv_size, &why);
    char *plain = n ? cd_call_alloc(c, n) : NULL;
    if (!n) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "damaged record: %s", why);
    if (!plain) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    if (cd_zrec_unpack(body->mv_data, body->mv_size, plain, n, &why))
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "damaged record: %s", why);
    *body = (MDB_val){ n, plain };
    return 0;
}

int cd_rec_unpack_body(cd_call *c, const MDB_val *v, uint32_t min, msgpack_object *out)
{
    /* Copy first: LMDB pages may move under a write txn, and the object must outlive it. A
     * packed body is unpacked into the copy. */
    MDB_val body = *v;
    if (cd_rec_plain(c, &body)) return -1;
    int unpacked = body.mv_data != v->mv_data;      /* already a zone copy */
    v = &body;
    char *copy = unpacked ? body.mv_data : cd_call_alloc(c, v->mv_size);
    size_t off = 0;
    if (!copy) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    if (!unpacked) memcpy(copy, v->mv_data, v->mv_size);
    /* Scanned first: a damaged header count must not size an allocation (msgpack-c allocates
     * arrays from their headers), and the value must be exactly one object, nothing after it. */
    size_t len = 0;
    if (cd_prescan(copy, v->mv_size, v->mv_size, 16, &len) != CD_SCAN_OK || len != v->mv_size)
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "damaged record: not one well-formed value");
    if (msgpack_unpack(copy, v->mv_size, &off, &c->zone, out) != MSGPACK_UNPACK_SUCCESS ||
        out->type != MSGPACK_OBJECT_ARRAY || out->via.array.size < min)
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "damaged record: not a record of %u fields", min);
    return 0;
}

int cd_rec_get_id(cd_call *c, MDB_txn *txn, MDB_dbi dbi, uint64_t id, MDB_val *v, const char *what)
{
    unsigned char key[8];
    cd_put_u64be(key, id);
    MDB_val k = { 8, key };
    int rc = mdb_get(txn, dbi, &k, v);
    if (rc == MDB_NOTFOUND) return rc;
    return rc ? cd_fail_mdb(c, rc, what) : 0;
}

int cd_rec_put(cd_call *c, MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
               const msgpack_sbuffer *sb, unsigned flags, const char *what)
{
    MDB_val k = { klen, (void *)key }, v = { sb->size + CD_CHECKSUM_BYTES, NULL };
    int rc = mdb_put(txn, dbi, &k, &v, flags | MDB_RESERVE);
    if (rc) return cd_fail_mdb(c, rc, what);
    memcpy(v.mv_data, sb->data, sb->size);
    cd_checksum_put((unsigned char *)v.mv_data + sb->size, sb->data, sb->size);
    return 0;
}

int cd_rec_put_packed(cd_call *c, MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen,
                      const msgpack_sbuffer *sb, unsigned zid, unsigned flags, const char *what)
{
    size_t cap = zid ? cd_zrec_bound(sb->size) : 0;
    char *packed = cap ? cd_call_alloc(c, cap) : NULL;
    size_t n = packed ? cd_zrec_pack(zid, sb->data, sb->size, packed, cap) : 0;
    if (!n) return cd_rec_put(c, txn, dbi, key, klen, sb, flags, what);
    msgpack_sbuffer p = { n, packed, cap };
    return cd_rec_put(c, txn, dbi, key, klen, &p, flags, what);
}

uint64_t cd_hash64(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) { h ^= s[i]; h *= 0x100000001b3ULL; }
    return h;
}

int cd_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

int cd_change_log(cd_call *c, MDB_txn *txn, const char *op, const char *type, uint64_t id)
{
    cd_db *db = c->db;
    cd_change ch = { cd_db_next_id(txn, db->dbi[CD_DBI_CHANGES]), c->at_us, op, type, id, 0 };
    unsigned char key[8];
    cd_put_u64be(key, ch.seq);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_int64(&pk, ch.at);
    cd_pack_cstr(&pk, op);
    cd_pack_cstr(&pk, type);
    msgpack_pack_uint64(&pk, id);
    int rc = cd_rec_put(c, txn, db->dbi[CD_DBI_CHANGES], key, 8, &sb, MDB_APPEND, "logging a change");
    msgpack_sbuffer_destroy(&sb);
    if (rc) return rc;
    if (cd_call_add_change(c, &ch)) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    return 0;
}
