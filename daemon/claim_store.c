/* claim_store: the single write path of claims (revision, indexes, duplicate keys, change log)
 * and duplicate detection. */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "checksum.h"
#include "claim.h"
#include "db.h"
#include "params.h"
#include "record.h"
#include "record_valid.h"
#include "text.h"

int cd_claim_load(cd_call *c, MDB_txn *txn, uint64_t id, cd_claim *out)
{
    MDB_val v;
    int rc = cd_rec_get_id(c, txn, c->db->dbi[CD_DBI_CLAIMS], id, &v, "reading a claim");
    if (rc) return rc;
    unsigned char key[8];
    cd_put_u64be(key, id);
    MDB_val k = { 8, key }, body;
    if (cd_rec_payload(c, &v, &body) || cd_claim_decode(c, &body, out)) return cd_rec_report(c, "claims", &k);
    if (out->id != id) {
        cd_fail(c, CLAIMD_E_INTERNAL, NULL, "damaged record: its id is not its key");
        return cd_rec_report(c, "claims", &k);
    }
    return 0;
}

/* dedup key speaker(8) | hash of the normalised text(8); the hash is cached on the claim
 * because normalising is the costliest step of a put. */
static int dedup_key(cd_call *c, cd_claim *cl, unsigned char key[16])
{
    if (!cl->has_dedup_hash) {
        size_t n;
        char *norm = cd_text_dedup_key(cl->text.p, cl->text.n, &n);
        if (!norm) return cd_fail(c, CLAIMD_E_INVALID, "text", "not valid UTF-8");
        cl->dedup_hash = cd_hash64(norm, n);
        cl->has_dedup_hash = 1;
        free(norm);
    }
    cd_put_u64be(key, cl->speaker);
    cd_put_u64be(key + 8, cl->dedup_hash);
    return 0;
}

static int same_dedup_text(const cd_claim *a, const cd_claim *b)
{
    size_t na, nb;
    char *ka = cd_text_dedup_key(a->text.p, a->text.n, &na);
    char *kb = cd_text_dedup_key(b->text.p, b->text.n, &nb);
    int same = ka && kb && na == nb && memcmp(ka, kb, na) == 0;
    free(ka);
    free(kb);
    return same;
}

int cd_claim_find_duplicate(cd_call *c, MDB_txn *txn, cd_claim *cl, uint64_t *id)
{
    cd_db *db = c->db;
    *id = 0;
    MDB_val k, v;
    int rc;
    if (cl->external_id.n) {
        k = (MDB_val){ cl->external_id.n, (void *)cl->external_id.p };
        rc = mdb_get(txn, db->dbi[CD_DBI_EXTID], &k, &v);
        if (rc == 0) { *id = cd_get_u64be(v.mv_data); return 0; }
        if (rc != MDB_NOTFOUND) return cd_fail_mdb(c, rc, "looking up an external id");
    }
    unsigned char key[16];
    if (cl->speaker == CD_SPEAKER_NEW || dedup_key(c, cl, key)) return c->err ? -1 : 0;
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, db->dbi[CD_DBI_DEDUP], &cur))) return cd_fail_mdb(c, rc, "dedup");
    k = (MDB_val){ 16, key };
    /* Every claim under this hash is checked on its real text: a hash collision is not a match. */
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); rc == 0 && !*id;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
        cd_claim other;
        uint64_t cand = cd_get_u64be(v.mv_data);
        if (cd_claim_load(c, txn, cand, &other) == 0 && same_dedup_text(cl, &other)) *id = cand;
    }
    mdb_cursor_close(cur);
    return c->err ? -1 : 0;
}

static int put_dedup(cd_call *c, MDB_txn *txn, cd_claim *cl, int del)
{
    unsigned char key[16], val[8];
    if (dedup_key(c, cl, key)) return -1;
    cd_put_u64be(val, cl->id);
    MDB_val k = { 16, key }, v = { 8, val };
    int rc = del ? mdb_del(txn, c->db->dbi[CD_DBI_DEDUP], &k, &v)
                 : mdb_put(txn, c->db->dbi[CD_DBI_DEDUP], &k, &v, MDB_NODUPDATA);
    if (rc == MDB_NOTFOUND || rc == MDB_KEYEXIST) rc = 0;
    return rc ? cd_fail_mdb(c, rc, "updating the duplicate index") : 0;
}

/* Stores the revision record {op, at, by, body} under id|rev. The current revision's body is
 * nil (rec NULL): its record is the one in `claims`, not stored twice (archive_revision fills it
 * in when a newer revision supersedes it). */
static int put_revision(cd_call *c, MDB_txn *txn, const cd_claim *cl, const msgpack_sbuffer *rec,
                        const char *op, cd_str by, int created)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    cd_pack_cstr(&pk, op);
    msgpack_pack_int64(&pk, c->at_us);
    cd_rec_pack_str(&pk, by);
    if (rec) {
        msgpack_pack_bin(&pk, rec->size);
        msgpack_pack_bin_body(&pk, rec->data, rec->size);
    } else {
        msgpack_pack_nil(&pk);
    }
    unsigned char key[12];
    cd_put_u64be(key, cl->id);
    cd_put_u32be(key + 8, cl->rev);
    /* A new claim has the largest id, so its first revision is the table's last key. */
    int rc = cd_rec_put(c, txn, c->db->dbi[CD_DBI_CLAIM_REVS], key, 12, &sb,
                        created ? MDB_APPEND : MDB_NOOVERWRITE, "storing a revision");
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* Before old (the stored current state) is superseded: its revision entry, a stub while it was
 * current, gets the record `claims` holds for it. An entry that has its body already (written
 * by a format 3 daemon) is left alone. */
static int archive_revision(cd_call *c, MDB_txn *txn, const cd_claim *old)
{
    cd_db *db = c->db;
    unsigned char key[12];
    cd_put_u64be(key, old->id);
    cd_put_u32be(key + 8, old->rev);
    MDB_val k = { 12, key }, v, cv;
    int rc = mdb_get(txn, db->dbi[CD_DBI_CLAIM_REVS], &k, &v);
    if (rc) return cd_fail_mdb(c, rc == MDB_NOTFOUND ? MDB_CORRUPTED : rc, "reading the current revision");
    msgpack_object o;
    if (cd_rec_unpack(c, &v, 4, &o)) return -1;      /* copied: the puts below may move v */
    const msgpack_object *f = o.via.array.ptr;
    if (f[3].type == MSGPACK_OBJECT_BIN) return 0;
    if (f[3].type != MSGPACK_OBJECT_NIL) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "corrupt revision");
    if ((rc = cd_rec_get_id(c, txn, db->dbi[CD_DBI_CLAIMS], old->id, &cv, "reading a claim")))
        return rc == MDB_NOTFOUND ? cd_fail_mdb(c, MDB_CORRUPTED, "reading a claim") : -1;
    MDB_val rec;   /* the record without the claims value's checksum: the revision's covers it */
    if (cd_rec_payload(c, &cv, &rec)) return cd_rec_report(c, "claims", &(MDB_val){ 8, key });
    cv = rec;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_object(&pk, f[0]);
    msgpack_pack_object(&pk, f[1]);
    msgpack_pack_object(&pk, f[2]);
    msgpack_pack_bin(&pk, cv.mv_size);
    msgpack_pack_bin_body(&pk, cv.mv_data, cv.mv_size);
    rc = cd_rec_put(c, txn, db->dbi[CD_DBI_CLAIM_REVS], key, 12, &sb, 0, "archiving a revision");
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

int cd_claim_store_revision(cd_call *c, MDB_txn *txn, const cd_claim *old, cd_claim *cl,
                            const msgpack_sbuffer *rec, const char *op, cd_str by)
{
    cd_db *db = c->db;
    unsigned char key[8];
    cd_put_u64be(key, cl->id);
    int rc = old ? archive_revision(c, txn, old) : 0;
    /* Packed once the claims have a dictionary (made here, at the first claim past
     * CD_ZREC_TRAIN_AT: zrec.h); archive_revision later moves these bytes as they are into the
     * revision, so old revisions stay packed too. */
    unsigned zid = rc ? 0 : cd_zrec_dict_for(txn, db->dbi[CD_DBI_META], db->dbi[CD_DBI_CLAIMS], CD_CHECKSUM_BYTES,
                                             CD_ZREC_CLAIMS, cl->id > CD_ZREC_TRAIN_AT);
    if (!rc) rc = cd_rec_put_packed(c, txn, db->dbi[CD_DBI_CLAIMS], key, 8, rec, zid,
                                    old ? 0 : MDB_APPEND, "storing a claim");
    if (!rc) rc = put_revision(c, txn, cl, NULL, op, by, old == NULL);
    if (rc) return -1;
    /* idx, search and match entries follow in the index pass (ixpass.h). */
    int text_moved = !old || old->speaker != cl->speaker || old->text.n != cl->text.n ||
                     memcmp(old->text.p, cl->text.p, cl->text.n) != 0;
    if (text_moved) {
        cd_claim before;
        if (old) { before = *old; before.has_dedup_hash = 0; }
        if ((old && put_dedup(c, txn, &before, 1)) || put_dedup(c, txn, cl, 0)) return -1;
    }
    if (cl->external_id.n && (!old || !old->external_id.n) && cd_claim_add_extid(c, txn, cl->external_id, cl->id))
        return -1;
    return 0;
}

int cd_claim_store(cd_call *c, MDB_txn *txn, const cd_claim *old, cd_claim *cl,
                   const char *op, cd_str by)
{
    cd_db *db = c->db;
    if (!old) {
        cl->id = cd_db_next_id(txn, db->dbi[CD_DBI_CLAIMS]);
        cl->rev = 1;
        cl->recorded_at = c->at_us;
    } else {
        cl->id = old->id;
        cl->rev = old->rev + 1;
    }
    cl->updated_at = c->at_us;
    msgpack_sbuffer rec;
    msgpack_sbuffer_init(&rec);
    cd_claim_encode(cl, &rec);
    int rc = cd_claim_store_revision(c, txn, old, cl, &rec, op, by);
    msgpack_sbuffer_destroy(&rec);
    if (rc) return -1;
    if (cd_change_log(c, txn, op, "claim", cl->id)) return -1;
    c->changes[c->nchanges - 1].speaker = cl->speaker;
    return 0;
}

static int same_str(cd_str a, cd_str b) { return a.n == b.n && memcmp(a.p, b.p, a.n) == 0; }

/* Fails the call when a list of n items would grow past max. */
static int list_full(cd_call *c, size_t n, size_t max, const char *prefix, const char *name)
{
    if (n < max) return 0;
    return cd_fail(c, CLAIMD_E_TOO_LARGE, cd_field_path(c, prefix, name),
                   "the claim already has %zu %s, the most it may have", max, name);
}

long cd_claim_merge_lists(cd_call *c, cd_claim *into, const cd_claim *cl, const char *prefix)
{
    long added = 0;
    cd_appearance *apps = cd_call_alloc(c, (into->napps + cl->napps + 1) * sizeof *apps);
    cd_via *via = cd_call_alloc(c, (into->nvia + cl->nvia + 1) * sizeof *via);
    uint64_t *about = cd_call_alloc(c, (into->nabout + cl->nabout + 1) * sizeof *about);
    cd_str *tags = cd_call_alloc(c, (into->ntags + cl->ntags + 1) * sizeof *tags);
    if (!apps || !via || !about || !tags) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    cd_copy(apps, into->apps, into->napps * sizeof *apps);
    cd_copy(via, into->via, into->nvia * sizeof *via);
    cd_copy(about, into->about, into->nabout * sizeof *about);
    cd_copy(tags, into->tags, into->ntags * sizeof *tags);
    into->apps = apps; into->via = via; into->about = about; into->tags = tags;
    for (size_t i = 0; i < cl->napps; i++) {
        int seen = 0;   /* the same URL (or, without URLs, the same outlet) is the same appearance */
        for (size_t k = 0; k < into->napps && !seen; k++)
            seen = cl->apps[i].url.n ? same_str(into->apps[k].url, cl->apps[i].url)
                                     : !into->apps[k].url.n && into->apps[k].outlet == cl->apps[i].outlet;
        if (seen) continue;
        if (list_full(c, into->napps, CD_APPS_MAX, prefix, "appearances")) return -1;
        into->apps[into->napps++] = cl->apps[i];
        added++;
    }
    for (size_t i = 0; i < cl->nvia; i++) {
        int seen = 0;
        for (size_t k = 0; k < into->nvia && !seen; k++)
            seen = into->via[k].entity == cl->via[i].entity && into->via[k].how == cl->via[i].how;
        if (seen) continue;
        if (list_full(c, into->nvia, CD_LIST_MAX, prefix, "via")) return -1;
        into->via[into->nvia++] = cl->via[i];
        added++;
    }
    for (size_t i = 0; i < cl->nabout; i++) {
        int seen = 0;
        for (size_t k = 0; k < into->nabout && !seen; k++) seen = into->about[k] == cl->about[i];
        if (seen) continue;
        if (list_full(c, into->nabout, CD_LIST_MAX, prefix, "about")) return -1;
        into->about[into->nabout++] = cl->about[i];
        added++;
    }
    for (size_t i = 0; i < cl->ntags; i++) {
        int seen = 0;
        for (size_t k = 0; k < into->ntags && !seen; k++) seen = same_str(into->tags[k], cl->tags[i]);
        if (seen) continue;
        if (list_full(c, into->ntags, CD_LIST_MAX, prefix, "tags")) return -1;
        into->tags[into->ntags++] = cl->tags[i];
        added++;
    }
    return added;
}

int cd_claim_add_extid(cd_call *c, MDB_txn *txn, cd_str external_id, uint64_t id)
{
    unsigned char val[8];
    cd_put_u64be(val, id);
    MDB_val k = { external_id.n, (void *)external_id.p }, v = { 8, val };
    int rc = mdb_put(txn, c->db->dbi[CD_DBI_EXTID], &k, &v, MDB_NOOVERWRITE);
    if (rc && rc != MDB_KEYEXIST) return cd_fail_mdb(c, rc, "indexing an external id");
    return 0;
}
