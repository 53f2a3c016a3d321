/* search_index: keeping the full-text index in step with the claims, in the index pass
 * (ixplan.h). Planning tokenizes the new text into its forward record and holds its postings
 * back in the pass's run builder (search_runs.h), written as one run when the pass is applied;
 * applying removes exactly the postings the claim's old forward record lists from the runs that
 * hold them, and stores the new record. */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "search.h"
#include "search_runs.h"
#include "ixplan.h"
#include "record.h"
#include "zrec.h"

/* Adds (sign +1) or removes (-1) one claim of `tokens` tokens to its space's statistics. */
static int langs_adjust(cd_call *c, MDB_txn *txn, const char tag[4], int sign, uint32_t tokens)
{
    MDB_dbi dbi = c->db->dbi[CD_DBI_SEARCH_LANGS];
    MDB_val k = { CD_SEARCH_SPACE, (void *)tag }, v;
    uint64_t docs = 0, toks = 0;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0 && v.mv_size == 16) {
        docs = cd_get_u64be(v.mv_data);
        toks = cd_get_u64be((const unsigned char *)v.mv_data + 8);
    } else if (rc && rc != MDB_NOTFOUND) {
        return cd_fail_mdb(c, rc, "reading search statistics");
    }
    if (sign > 0) { docs++; toks += tokens; }
    else { docs = docs ? docs - 1 : 0; toks = toks >= tokens ? toks - tokens : 0; }
    if (docs == 0) {
        rc = mdb_del(txn, dbi, &k, NULL);
        if (rc == MDB_NOTFOUND) rc = 0;
    } else {
        unsigned char buf[16];
        cd_put_u64be(buf, docs);
        cd_put_u64be(buf + 8, toks);
        v = (MDB_val){ 16, buf };
        rc = mdb_put(txn, dbi, &k, &v, 0);
    }
    return rc ? cd_fail_mdb(c, rc, "updating search statistics") : 0;
}

/* Removes one posting from the run that holds it. */
static int posting_remove(cd_call *c, MDB_txn *txn, const char tag[4], const cd_search_fwd_term *t,
                          uint64_t id)
{
    unsigned char tkey[CD_SEARCH_TERM_KEY];
    return cd_runs_remove(c, txn, tkey, cd_search_term_key(tkey, tag, t->term, t->len), id);
}

/* Holds back one posting of term t for the pass's run (search_runs.h). */
static int posting_add(cd_call *c, cd_ixplan *p, const char tag[4], const cd_search_fwd_term *t,
                       const unsigned char *posting)
{
    unsigned char tkey[CD_SEARCH_TERM_KEY];
    size_t tlen = cd_search_term_key(tkey, tag, t->term, t->len);
    return cd_run_builder_add(c, cd_ixplan_postings(p), tkey, tlen, posting);
}

/* Tokenizes claim cl into a new forward record (malloc'd, *flen bytes), NULL with the error
 * set on c. */
static unsigned char *doc_encode(cd_call *c, const cd_claim *cl, size_t *flen)
{
    char tag[4];
    cd_search_space_of(cl->lang.p, cl->lang.n, tag);
    cd_search_doc d = { 0 };
    if (cd_search_doc_build(&d, cl->text.p, cl->text.n, cd_search_space_lang(tag))) {
        cd_search_doc_free(&d);
        cd_fail(c, CLAIMD_E_INTERNAL, NULL, "cannot tokenize the text (out of memory)");
        return NULL;
    }
    unsigned char *fwd = cd_search_fwd_encode(&d, tag, cl->retracted, flen);
    cd_search_doc_free(&d);
    if (!fwd) cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    return fwd;
}

/* Holds back in the plan's builder the postings of forward record fwd of claim id: read back
 * from the record, so the record is the one source of truth. */
static int doc_postings(cd_call *c, cd_ixplan *p, uint64_t id, int retracted, const unsigned char *fwd,
                        size_t flen)
{
    cd_search_fwd f;
    cd_search_fwd_term t;
    int more = -1;
    if (cd_search_fwd_open(&f, fwd, flen) == 0) {
        uint8_t norm = cd_search_norm_encode(f.tokens);
        while ((more = cd_search_fwd_next(&f, &t)) == 1) {
            unsigned char posting[CD_SEARCH_POSTING];
            cd_search_posting(posting, id, t.tf, retracted, norm);
            if (posting_add(c, p, f.tag, &t, posting)) return -1;
        }
    }
    return more < 0 ? cd_fail(c, CLAIMD_E_INTERNAL, NULL, "cannot read back a forward record") : 0;
}

int cd_search_index_plan(cd_call *c, MDB_txn *txn, cd_ixplan *p, const cd_claim *old, const cd_claim *cl)
{
    if (old && cl) {
        char a[4], b[4];
        cd_search_space_of(old->lang.p, old->lang.n, a);
        cd_search_space_of(cl->lang.p, cl->lang.n, b);
        int same = memcmp(a, b, CD_SEARCH_SPACE) == 0 && !old->retracted == !cl->retracted &&
                   old->text.n == cl->text.n && memcmp(old->text.p, cl->text.p, cl->text.n) == 0;
        if (same) return 0;
    }
    MDB_val v = { 0, NULL };
    if (old) {
        unsigned char key[8];
        cd_put_u64be(key, old->id);
        MDB_val k = { 8, key };
        int rc = mdb_get(txn, c->db->dbi[CD_DBI_SEARCH_DOCS], &k, &v);
        if (rc && rc != MDB_NOTFOUND) return cd_fail_mdb(c, rc, "reading a forward record");
        if (rc) v = (MDB_val){ 0, NULL };
        else if (cd_rec_plain(c, &v)) return -1;     /* the plan holds old records plain */
    }
    size_t flen = 0;
    unsigned char *fwd = NULL;
    if (cl && !(fwd = doc_encode(c, cl, &flen))) return -1;
    /* The new record is packed here, off the writer, when the snapshot has the dictionary;
     * cd_search_index_apply packs what comes plain once there is one. */
    unsigned zid = fwd ? cd_zrec_stored(txn, c->db->dbi[CD_DBI_META], CD_ZREC_FWD) : 0;
    size_t cap = zid ? cd_zrec_bound(flen) : 0, zlen = 0;
    unsigned char *packed = cap ? cd_call_alloc(c, cap) : NULL;
    if (packed) zlen = cd_zrec_pack(zid, fwd, flen, packed, cap);
    int rc = cd_ixplan_search(c, p, v.mv_data, v.mv_size, zlen ? packed : fwd, zlen ? zlen : flen);
    if (!rc && fwd) rc = doc_postings(c, p, cl->id, cl->retracted, fwd, flen);
    free(fwd);
    return rc;
}

/* Removes from the runs every posting forward record rec (of claim id) lists. */
static int remove_postings(cd_call *c, MDB_txn *txn, uint64_t id, const unsigned char *rec, size_t len)
{
    cd_search_fwd f;
    cd_search_fwd_term t;
    int more = -1;
    if (cd_search_fwd_open(&f, rec, len) == 0) {
        while ((more = cd_search_fwd_next(&f, &t)) == 1)
            if (posting_remove(c, txn, f.tag, &t, id)) return -1;
    }
    if (more < 0) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "corrupt search record of claim %llu",
                                 (unsigned long long)id);
    return langs_adjust(c, txn, f.tag, -1, f.tokens);
}

/* The form of forward record fwd[0..len) to store in *stored: packed when the forward records
 * have a dictionary (made here at the first record past CD_ZREC_TRAIN_AT: zrec.h) and fwd
 * came plain from a plan built before it. In *plain, the record plain. Either may point into
 * *scratch (malloc'd, for the caller to free): a pass applies thousands of records in one call,
 * whose zone would keep them all. 0 or -1 (error set). */
static int fwd_forms(cd_call *c, MDB_txn *txn, uint64_t id, const unsigned char *fwd, size_t len, MDB_val *stored,
                     MDB_val *plain, unsigned char **scratch)
{
    *stored = *plain = (MDB_val){ len, (void *)fwd };
    *scratch = NULL;
    const char *why = NULL;
    if (cd_zrec_is_packed(fwd, len)) {
        size_t n = 0;
        if (!(*scratch = cd_zrec_unpack_malloc(fwd, len, &n, &why)))
            return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "a forward record of the pass: %s", why);
        *plain = (MDB_val){ n, *scratch };
        return 0;
    }
    cd_db *db = c->db;
    unsigned zid = cd_zrec_dict_for(txn, db->dbi[CD_DBI_META], db->dbi[CD_DBI_SEARCH_DOCS], 0, CD_ZREC_FWD,
                                    id > CD_ZREC_TRAIN_AT);
    size_t cap = zid ? cd_zrec_bound(len) : 0, n = 0;
    if (cap && !(*scratch = malloc(cap))) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    if (*scratch && (n = cd_zrec_pack(zid, fwd, len, *scratch, cap))) *stored = (MDB_val){ n, *scratch };
    return 0;
}

int cd_search_index_apply(cd_call *c, MDB_txn *txn, uint64_t id, const unsigned char *old, size_t old_len,
                          const unsigned char *fwd, size_t fwd_len)
{
    unsigned char key[8];
    cd_put_u64be(key, id);
    MDB_val k = { 8, key }, v, plain;
    MDB_dbi docs = c->db->dbi[CD_DBI_SEARCH_DOCS];
    unsigned char *scratch = NULL;
    int rc = 0;
    if (old && remove_postings(c, txn, id, old, old_len)) goto failed;
    if (fwd) {
        cd_search_fwd f;
        if (fwd_forms(c, txn, id, fwd, fwd_len, &v, &plain, &scratch)) goto failed;
        if (cd_search_fwd_open(&f, plain.mv_data, plain.mv_size)) {
            cd_fail(c, CLAIMD_E_INTERNAL, NULL, "cannot read back a forward record");
            goto failed;
        }
        if ((rc = mdb_put(txn, docs, &k, &v, 0))) { cd_fail_mdb(c, rc, "storing a forward record"); goto failed; }
        if (langs_adjust(c, txn, f.tag, +1, f.tokens)) goto failed;
    } else if (old && (rc = mdb_del(txn, docs, &k, NULL)) && rc != MDB_NOTFOUND) {
        cd_fail_mdb(c, rc, "removing a forward record");
        goto failed;
    }
    free(scratch);
    return 0;
failed:
    free(scratch);
    /* Some postings may be written already: the whole request must be undone, even inside a
     * claim.import that would otherwise report this item's error and carry on. */
    if (!c->mdb_rc) c->mdb_rc = MDB_BAD_TXN;
    return -1;
}
