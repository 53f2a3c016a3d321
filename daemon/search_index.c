/* search_index: keeping the full-text index in step with every claim write, inside the write's
 * own transaction (cd_claim_store calls cd_search_index_update). A change removes exactly the
 * postings listed in the claim's stored forward record, then indexes the new text. */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "search.h"
#include "server.h"
#include "wbuf.h"

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

/* Raises a block's maxima to cover a new posting (tf, norm); writes only when they change. */
static int block_add(cd_call *c, MDB_txn *txn, const char tag[4], const cd_search_fwd_term *t,
                     uint64_t id, uint32_t tf, uint8_t norm)
{
    unsigned char key[CD_SEARCH_BLOCK_KEY];
    size_t klen = cd_search_block_key(key, tag, t->term, t->len, (uint32_t)(id >> CD_SEARCH_BLOCK_SHIFT));
    MDB_dbi dbi = c->srv->db.dbi[CD_DBI_SEARCH_BLOCKS];
    MDB_val k = { klen, key }, v;
    unsigned char val[CD_SEARCH_BLOCK_VALUE] = { (unsigned char)tf, norm };
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == 0 && v.mv_size == CD_SEARCH_BLOCK_VALUE) {
        const unsigned char *o = v.mv_data;
        if (o[0] >= tf && o[1] <= norm) return 0;
        val[0] = o[0] > tf ? o[0] : (unsigned char)tf;
        val[1] = o[1] < norm ? o[1] : norm;
    } else if (rc && rc != MDB_NOTFOUND) {
        return cd_fail_mdb(c, rc, "reading a search block");
    }
    v = (MDB_val){ sizeof val, val };
    rc = mdb_put(txn, dbi, &k, &v, 0);
    return rc ? cd_fail_mdb(c, rc, "updating a search block") : 0;
}

/* Writes the block entries of a term from its postings: every block from block `from` on, or
 * (one) only block `from`, writing nothing when it holds no postings. */
static int blocks_scan(cd_call *c, MDB_txn *txn, const char tag[4], const cd_search_fwd_term *t,
                       uint32_t from, int one)
{
    unsigned char tkey[CD_SEARCH_TERM_KEY], bkey[CD_SEARCH_BLOCK_KEY];
    size_t tlen = cd_search_term_key(tkey, tag, t->term, t->len);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, c->srv->db.dbi[CD_DBI_SEARCH_TERMS], &cur);
    if (rc) return cd_fail_mdb(c, rc, "reading postings");
    unsigned char start[CD_SEARCH_POSTING] = { 0 };
    cd_put_u64be(start, (uint64_t)from << CD_SEARCH_BLOCK_SHIFT);
    MDB_val k = { tlen, tkey }, v = { CD_SEARCH_POSTING, start };
    MDB_dbi dbi = c->srv->db.dbi[CD_DBI_SEARCH_BLOCKS];
    unsigned maxtf = 0, minnorm = 255;
    uint32_t block = from;
    int have = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_GET_BOTH_RANGE);; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
        const unsigned char *p = rc == 0 ? v.mv_data : NULL;
        uint32_t b = p ? (uint32_t)(cd_get_u64be(p) >> CD_SEARCH_BLOCK_SHIFT) : 0;
        if (have && (!p || b != block)) {            /* a block is complete: store it */
            unsigned char val[CD_SEARCH_BLOCK_VALUE] = { (unsigned char)maxtf, (unsigned char)minnorm };
            MDB_val bk = { cd_search_block_key(bkey, tag, t->term, t->len, block), bkey }, bv = { sizeof val, val };
            int prc = mdb_put(txn, dbi, &bk, &bv, 0);
            if (prc) { rc = prc; break; }
            have = 0;
        }
        if (!p || (one && b != from)) break;
        if (!have) { block = b; maxtf = 0; minnorm = 255; have = 1; }
        if (cd_search_posting_tf(p) > maxtf) maxtf = cd_search_posting_tf(p);
        if (cd_search_posting_norm(p) < minnorm) minnorm = cd_search_posting_norm(p);
    }
    mdb_cursor_close(cur);
    return rc && rc != MDB_NOTFOUND ? cd_fail_mdb(c, rc, "rebuilding search blocks") : 0;
}

/* Deletes the entry of block (for a term whose posting there was removed) when the block has
 * no postings left, else recomputes it exactly. */
static int block_rebuild(cd_call *c, MDB_txn *txn, const char tag[4], const cd_search_fwd_term *t,
                         uint32_t block)
{
    unsigned char bkey[CD_SEARCH_BLOCK_KEY];
    MDB_val k = { cd_search_block_key(bkey, tag, t->term, t->len, block), bkey };
    int rc = mdb_del(txn, c->srv->db.dbi[CD_DBI_SEARCH_BLOCKS], &k, NULL);
    if (rc && rc != MDB_NOTFOUND) return cd_fail_mdb(c, rc, "updating a search block");
    return blocks_scan(c, txn, tag, t, block, 1);
}

/* Deletes every block entry of a term (its list fell below CD_SEARCH_BLOCK_MIN_DF). */
static int blocks_drop(cd_call *c, MDB_txn *txn, const char tag[4], const cd_search_fwd_term *t)
{
    unsigned char key[CD_SEARCH_BLOCK_KEY];
    size_t klen = cd_search_block_key(key, tag, t->term, t->len, 0), plen = klen - 4;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, c->srv->db.dbi[CD_DBI_SEARCH_BLOCKS], &cur);
    if (rc) return cd_fail_mdb(c, rc, "dropping search blocks");
    for (;;) {                                       /* at most CD_SEARCH_BLOCK_MIN_DF entries */
        MDB_val k = { klen, key }, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc || k.mv_size != klen || memcmp(k.mv_data, key, plen) != 0) break;
        if ((rc = mdb_cursor_del(cur, 0))) break;
    }
    mdb_cursor_close(cur);
    return rc && rc != MDB_NOTFOUND ? cd_fail_mdb(c, rc, "dropping search blocks") : 0;
}

/* The number of postings of a term (0 when it has none). */
static int term_df(cd_call *c, MDB_txn *txn, const unsigned char *tkey, size_t tlen, size_t *df)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, c->srv->db.dbi[CD_DBI_SEARCH_TERMS], &cur);
    if (rc) return cd_fail_mdb(c, rc, "counting postings");
    MDB_val k = { tlen, (void *)tkey }, v;
    *df = 0;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    if (rc == 0) rc = mdb_cursor_count(cur, df);
    mdb_cursor_close(cur);
    return rc && rc != MDB_NOTFOUND ? cd_fail_mdb(c, rc, "counting postings") : 0;
}

/* Removes one posting and keeps the term's block entries exact. */
static int posting_remove(cd_call *c, MDB_txn *txn, const char tag[4], const cd_search_fwd_term *t,
                          const unsigned char *posting)
{
    unsigned char tkey[CD_SEARCH_TERM_KEY];
    size_t tlen = cd_search_term_key(tkey, tag, t->term, t->len), df;
    MDB_val k = { tlen, tkey }, v = { CD_SEARCH_POSTING, (void *)posting };
    int rc = mdb_del(txn, c->srv->db.dbi[CD_DBI_SEARCH_TERMS], &k, &v);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc) return cd_fail_mdb(c, rc, "removing a posting");
    if (term_df(c, txn, tkey, tlen, &df)) return -1;
    if (df + 1 == CD_SEARCH_BLOCK_MIN_DF) return blocks_drop(c, txn, tag, t);
    if (df < CD_SEARCH_BLOCK_MIN_DF) return 0;
    return block_rebuild(c, txn, tag, t, (uint32_t)(cd_get_u64be(posting) >> CD_SEARCH_BLOCK_SHIFT));
}

int cd_search_postings_apply(cd_call *c, MDB_txn *txn, MDB_cursor *cur, const MDB_val *key,
                             const MDB_val *vals, size_t n)
{
    char tag[4] = { 0 };
    memcpy(tag, key->mv_data, CD_SEARCH_SPACE);
    cd_search_fwd_term t = { (const char *)key->mv_data + CD_SEARCH_SPACE, key->mv_size - CD_SEARCH_SPACE,
                             0, NULL, NULL };
    size_t added = 0;
    for (size_t i = 0; i < n; i++) {
        /* A new claim's id is larger than any posting's, so it goes at the end of its list
         * (MDB_APPENDDUP: pages fill up instead of splitting in half); a rewritten claim's
         * posting goes in its place. */
        MDB_val k = *key, v = vals[i];
        int rc = mdb_cursor_put(cur, &k, &v, MDB_APPENDDUP);
        if (rc == MDB_KEYEXIST) rc = mdb_cursor_put(cur, &k, &v, MDB_NODUPDATA);
        if (rc == MDB_KEYEXIST) continue;                /* already there */
        if (rc) return cd_fail_mdb(c, rc, "storing a posting");
        added++;
    }
    if (!added) return 0;
    MDB_val k = *key, v;
    size_t df;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    if (!rc) rc = mdb_cursor_count(cur, &df);
    if (rc) return cd_fail_mdb(c, rc, "counting postings");
    if (df < CD_SEARCH_BLOCK_MIN_DF) return 0;
    if (df - added < CD_SEARCH_BLOCK_MIN_DF) return blocks_scan(c, txn, tag, &t, 0, 0);
    /* Raise each block's bound once for all the new postings that fall in it. */
    for (size_t i = 0; i < n;) {
        const unsigned char *p = vals[i].mv_data;
        uint64_t id = cd_get_u64be(p);
        uint32_t block = (uint32_t)(id >> CD_SEARCH_BLOCK_SHIFT), maxtf = 0;
        uint8_t minnorm = 255;
        for (; i < n && (uint32_t)(cd_get_u64be(vals[i].mv_data) >> CD_SEARCH_BLOCK_SHIFT) == block; i++) {
            p = vals[i].mv_data;
            if (cd_search_posting_tf(p) > maxtf) maxtf = cd_search_posting_tf(p);
            if (cd_search_posting_norm(p) < minnorm) minnorm = cd_search_posting_norm(p);
        }
        if (block_add(c, txn, tag, &t, id, maxtf, minnorm)) return -1;
    }
    return 0;
}

/* Holds back one posting of term t for cd_search_postings_apply (see wbuf.h). */
static int posting_add(cd_call *c, const char tag[4], const cd_search_fwd_term *t, const unsigned char *posting)
{
    unsigned char tkey[CD_SEARCH_TERM_KEY];
    size_t tlen = cd_search_term_key(tkey, tag, t->term, t->len);
    return cd_wbuf_put(c, c->srv->wbuf, c->srv->db.dbi[CD_DBI_SEARCH_TERMS], tkey, tlen, posting,
                       CD_SEARCH_POSTING, 0);
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
        uint8_t norm = cd_search_norm_encode(f.tokens);
        while ((more = cd_search_fwd_next(&f, &t)) == 1) {
            unsigned char posting[CD_SEARCH_POSTING];
            cd_search_posting(posting, id, t.tf, f.retracted, norm);
            if (posting_remove(c, txn, f.tag, &t, posting)) break;
        }
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
    if ((old && (cd_wbuf_flush(c, c->srv->wbuf, txn) || remove_doc(c, txn, old->id))) || (cl && add_doc(c, txn, cl))) {
        /* Some postings may be written already: the whole request must be undone, even inside
         * a claim.import that would otherwise report this item's error and carry on. */
        if (!c->mdb_rc) c->mdb_rc = MDB_BAD_TXN;
        return -1;
    }
    return 0;
}
