/* search_index: keeping the full-text index in step with the claims, in the index pass
 * (ixpass.c calls cd_search_index_update). A change removes exactly the postings listed in the
 * claim's stored forward record from the runs that hold them, then indexes the new text: its
 * postings go to the pass's run builder (search_runs.h), written as one run when the pass ends. */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "search.h"
#include "server.h"
#include "search_runs.h"

/* Adds (sign +1) or removes (-1) one claim of `tokens` tokens to its space's statistics. */
static int langs_adjust(cd_call *c, MDB_txn *txn, const char tag[4], int sign, uint32_t tokens)
{
    MDB_dbi dbi = c->srv->db.dbi[CD_DBI_SEARCH_LANGS];
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
static int posting_add(cd_call *c, const char tag[4], const cd_search_fwd_term *t, const unsigned char *posting)
{
    unsigned char tkey[CD_SEARCH_TERM_KEY];
    size_t tlen = cd_search_term_key(tkey, tag, t->term, t->len);
    return cd_run_builder_add(c, c->srv->runs, tkey, tlen, posting);
}

/* Removes everything claim id's forward record says was indexed for it. */
static int remove_doc(cd_call *c, MDB_txn *txn, uint64_t id)
{
    MDB_dbi dbi = c->srv->db.dbi[CD_DBI_SEARCH_DOCS];
    unsigned char key[8];
    cd_put_u64be(key, id);
    MDB_val k = { 8, key }, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc) return cd_fail_mdb(c, rc, "reading a forward record");
    /* Copy: writes below may move the page the record sits on. */
    unsigned char *rec = malloc(v.mv_size ? v.mv_size : 1);
    if (!rec) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    memcpy(rec, v.mv_data, v.mv_size);
    cd_search_fwd f;
    cd_search_fwd_term t;
    int more = -1;
    if (cd_search_fwd_open(&f, rec, v.mv_size) == 0) {
        while ((more = cd_search_fwd_next(&f, &t)) == 1)
            if (posting_remove(c, txn, f.tag, &t, id)) break;
    }
    if (more < 0 && !c->err) cd_fail(c, CLAIMD_E_INTERNAL, NULL, "corrupt search record of claim %llu",
                                     (unsigned long long)id);
    if (!c->err) langs_adjust(c, txn, f.tag, -1, f.tokens);
    free(rec);
    if (c->err) return -1;
    rc = mdb_del(txn, dbi, &k, NULL);
    return rc && rc != MDB_NOTFOUND ? cd_fail_mdb(c, rc, "removing a forward record") : 0;
}

/* Indexes claim cl: forward record and space statistics now, postings (with their blocks) held
 * back in the write buffer. */
static int add_doc(cd_call *c, MDB_txn *txn, const cd_claim *cl)
{
    char tag[4];
    cd_search_space_of(cl->lang.p, cl->lang.n, tag);
    cd_search_doc d = { 0 };
    if (cd_search_doc_build(&d, cl->text.p, cl->text.n, cd_search_space_lang(tag))) {
        cd_search_doc_free(&d);
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "cannot tokenize the text (out of memory)");
    }
    size_t flen;
    unsigned char *fwd = cd_search_fwd_encode(&d, tag, cl->retracted, &flen);
    cd_search_doc_free(&d);
    if (!fwd) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    unsigned char key[8];
    cd_put_u64be(key, cl->id);
    MDB_val k = { 8, key }, v = { flen, fwd };
    int rc = mdb_put(txn, c->srv->db.dbi[CD_DBI_SEARCH_DOCS], &k, &v, 0);
    if (rc) { free(fwd); return cd_fail_mdb(c, rc, "storing a forward record"); }
    /* The postings are read back from the forward record just written: one source of truth. */
    cd_search_fwd f;
    cd_search_fwd_term t;
    int more = -1;
    if (cd_search_fwd_open(&f, fwd, flen) == 0) {
        uint8_t norm = cd_search_norm_encode(f.tokens);
        while ((more = cd_search_fwd_next(&f, &t)) == 1) {
            unsigned char posting[CD_SEARCH_POSTING];
            cd_search_posting(posting, cl->id, t.tf, cl->retracted, norm);
            if (posting_add(c, tag, &t, posting)) break;
        }
        if (!c->err) langs_adjust(c, txn, tag, +1, f.tokens);
    }
    free(fwd);
    if (more < 0 && !c->err) cd_fail(c, CLAIMD_E_INTERNAL, NULL, "cannot read back a forward record");
    return c->err ? -1 : 0;
}

int cd_search_index_update(cd_call *c, MDB_txn *txn, const cd_claim *old, const cd_claim *cl)
{
    if (old && cl) {
        char a[4], b[4];
        cd_search_space_of(old->lang.p, old->lang.n, a);
        cd_search_space_of(cl->lang.p, cl->lang.n, b);
        int same = memcmp(a, b, CD_SEARCH_SPACE) == 0 && !old->retracted == !cl->retracted &&
                   old->text.n == cl->text.n && memcmp(old->text.p, cl->text.p, cl->text.n) == 0;
        if (same) return 0;
    }
    if ((old && remove_doc(c, txn, old->id)) || (cl && add_doc(c, txn, cl))) {
        /* Some postings may be written already: the whole request must be undone, even inside
         * a claim.import that would otherwise report this item's error and carry on. */
        if (!c->mdb_rc) c->mdb_rc = MDB_BAD_TXN;
        return -1;
    }
    return 0;
}
