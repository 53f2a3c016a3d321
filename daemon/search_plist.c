/* search_plist: posting lists over LMDB pages and materialised prefix unions. */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "search_plist.h"
#include "server.h"

static uint64_t pid(const unsigned char *p) { return cd_search_posting_id(p); }

/* Makes the page the cursor is on the current run (op: MDB_GET_MULTIPLE or MDB_NEXT_MULTIPLE). */
static int load_page(cd_plist *l, MDB_cursor_op op)
{
    MDB_val k, v = { 0, NULL };
    int rc = mdb_cursor_get(l->cur, &k, &v, op);
    /* A key holding a single posting may be a plain node: GET_MULTIPLE then returns nothing. */
    if (rc == 0 && v.mv_size == 0 && op == MDB_GET_MULTIPLE) rc = mdb_cursor_get(l->cur, &k, &v, MDB_GET_CURRENT);
    if (rc || v.mv_size < CD_SEARCH_POSTING) {
        l->eof = 1;
        l->page_n = 0;
        return -1;
    }
    l->page = v.mv_data;
    l->page_n = v.mv_size / CD_SEARCH_POSTING;
    l->i = 0;
    return 0;
}

/* Appends a block entry to l->blocks (growing it). */
static int push_block(cd_plist *l, size_t *cap, cd_sblock b)
{
    if (l->nblocks == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        cd_sblock *nb = realloc(l->blocks, ncap * sizeof *nb);
        if (!nb) return -1;
        l->blocks = nb;
        *cap = ncap;
    }
    l->blocks[l->nblocks++] = b;
    return 0;
}

static int load_blocks(cd_call *c, MDB_txn *txn, cd_plist *l, const char tag[4], const char *term, size_t len)
{
    unsigned char key[CD_SEARCH_BLOCK_KEY];
    size_t klen = cd_search_block_key(key, tag, term, len, 0), plen = klen - 4, cap = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, c->srv->db.dbi[CD_DBI_SEARCH_BLOCKS], &cur);
    if (rc) return cd_fail_mdb(c, rc, "reading search blocks");
    MDB_val k = { klen, key }, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        const unsigned char *kp = k.mv_data, *vp = v.mv_data;
        if (k.mv_size != klen || memcmp(kp, key, plen) != 0) break;
        if (v.mv_size != CD_SEARCH_BLOCK_VALUE) continue;
        cd_sblock b = { cd_get_u32be(kp + plen), vp[0], vp[1] };
        if (push_block(l, &cap, b)) { mdb_cursor_close(cur); return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); }
    }
    mdb_cursor_close(cur);
    return rc && rc != MDB_NOTFOUND ? cd_fail_mdb(c, rc, "reading search blocks") : 0;
}

int cd_plist_df(cd_call *c, MDB_cursor *cur, const char tag[4], const char *term, size_t len, uint64_t *df)
{
    unsigned char key[CD_SEARCH_TERM_KEY];
    MDB_val k = { cd_search_term_key(key, tag, term, len), key }, v;
    size_t n = 0;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    if (rc == 0) rc = mdb_cursor_count(cur, &n);
    if (rc && rc != MDB_NOTFOUND) return cd_fail_mdb(c, rc, "counting postings");
    *df = n;
    return 0;
}

int cd_plist_open_term(cd_call *c, MDB_txn *txn, cd_plist *l, const char tag[4], const char *term,
                       size_t len)
{
    memset(l, 0, sizeof *l);
    l->klen = cd_search_term_key(l->key, tag, term, len);
    int rc = mdb_cursor_open(txn, c->srv->db.dbi[CD_DBI_SEARCH_TERMS], &l->cur);
    if (rc) { l->cur = NULL; return cd_fail_mdb(c, rc, "reading postings"); }
    MDB_val k = { l->klen, l->key }, v;
    rc = mdb_cursor_get(l->cur, &k, &v, MDB_SET_KEY);
    if (rc == MDB_NOTFOUND) { l->eof = 1; return 0; }
    if (rc) return cd_fail_mdb(c, rc, "reading postings");
    size_t n = 0;
    if ((rc = mdb_cursor_count(l->cur, &n))) return cd_fail_mdb(c, rc, "counting postings");
    l->df = n;
    if (n >= CD_SEARCH_BLOCK_MIN_DF) {
        load_page(l, MDB_GET_MULTIPLE);
        return load_blocks(c, txn, l, tag, term, len);
    }
    /* A short list has no stored block entries: read it once to make them, then rewind. */
    size_t cap = 0;
    cd_sblock b = { 0, 0, 255 };
    int have = 0;
    for (int more = load_page(l, MDB_GET_MULTIPLE) == 0; more; more = load_page(l, MDB_NEXT_MULTIPLE) == 0) {
        for (size_t i = 0; i < l->page_n; i++) {
            const unsigned char *p = l->page + i * CD_SEARCH_POSTING;
            uint32_t blk = (uint32_t)(pid(p) >> CD_SEARCH_BLOCK_SHIFT);
            if (have && blk != b.block) {
                if (push_block(l, &cap, b)) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
                have = 0;
            }
            if (!have) { b = (cd_sblock){ blk, 0, 255 }; have = 1; }
            if (cd_search_posting_tf(p) > b.maxtf) b.maxtf = (uint8_t)cd_search_posting_tf(p);
            if (cd_search_posting_norm(p) < b.minnorm) b.minnorm = cd_search_posting_norm(p);
        }
    }
    if (have && push_block(l, &cap, b)) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    l->eof = 0;
    k = (MDB_val){ l->klen, l->key };
    if ((rc = mdb_cursor_get(l->cur, &k, &v, MDB_SET_KEY))) return cd_fail_mdb(c, rc, "reading postings");
    load_page(l, MDB_GET_MULTIPLE);
    return 0;
}

static int posting_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 8);
}

/* Block maxima of a sorted, merged array of postings. */
static int blocks_of_array(cd_plist *l)
{
    size_t cap = 0;
    for (size_t i = 0; i < l->page_n;) {
        const unsigned char *p = l->page + i * CD_SEARCH_POSTING;
        cd_sblock b = { (uint32_t)(pid(p) >> CD_SEARCH_BLOCK_SHIFT), 0, 255 };
        for (; i < l->page_n; i++) {
            p = l->page + i * CD_SEARCH_POSTING;
            if (pid(p) >> CD_SEARCH_BLOCK_SHIFT != b.block) break;
            if (cd_search_posting_tf(p) > b.maxtf) b.maxtf = (uint8_t)cd_search_posting_tf(p);
            if (cd_search_posting_norm(p) < b.minnorm) b.minnorm = cd_search_posting_norm(p);
        }
        if (push_block(l, &cap, b)) return -1;
    }
    return 0;
}

int cd_plist_open_prefix(cd_call *c, MDB_txn *txn, cd_plist *l, const char tag[4], const char *prefix,
                         size_t len, size_t *budget)
{
    memset(l, 0, sizeof *l);
    unsigned char key[CD_SEARCH_TERM_KEY];
    size_t klen = cd_search_term_key(key, tag, prefix, len), n = 0, cap = 0, terms = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, c->srv->db.dbi[CD_DBI_SEARCH_TERMS], &cur);
    if (rc) return cd_fail_mdb(c, rc, "reading postings");
    MDB_val k = { klen, key }, v, last = { 0, NULL };
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < klen || memcmp(k.mv_data, key, klen) != 0) break;
        if (v.mv_size != CD_SEARCH_POSTING) continue;
        if (!last.mv_data || last.mv_size != k.mv_size || memcmp(last.mv_data, k.mv_data, k.mv_size) != 0) {
            last = k;
            if (++terms > CD_SEARCH_PREFIX_TERMS) break;
        }
        if (n == *budget) { terms = CD_SEARCH_PREFIX_TERMS + 1; break; }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            unsigned char *bigger = realloc(l->owned, cap * CD_SEARCH_POSTING);
            if (!bigger) { mdb_cursor_close(cur); return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); }
            l->owned = bigger;
        }
        memcpy(l->owned + n++ * CD_SEARCH_POSTING, v.mv_data, CD_SEARCH_POSTING);
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND) return cd_fail_mdb(c, rc, "reading postings");
    if (terms > CD_SEARCH_PREFIX_TERMS)
        return cd_fail(c, CLAIMD_E_INVALID, "q", "the prefix %.*s* matches too many words; make it longer",
                       (int)len, prefix);
    *budget -= n;
    /* One posting per claim: several words with the prefix in one claim add up their tf. */
    if (n > 1) qsort(l->owned, n, CD_SEARCH_POSTING, posting_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char *p = l->owned + i * CD_SEARCH_POSTING;
        unsigned char *q = l->owned + (u ? u - 1 : 0) * CD_SEARCH_POSTING;
        if (u && pid(q) == pid(p)) {
            uint32_t tf = cd_search_posting_tf(q) + cd_search_posting_tf(p);
            cd_search_posting(q, pid(q), tf, cd_search_posting_retracted(q), cd_search_posting_norm(q));
        } else {
            memmove(l->owned + u++ * CD_SEARCH_POSTING, p, CD_SEARCH_POSTING);
        }
    }
    l->page = l->owned;
    l->page_n = u;
    l->df = u;
    l->eof = u == 0;
    if (blocks_of_array(l)) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    return 0;
}

const unsigned char *cd_plist_seek(cd_plist *l, uint64_t id)
{
    if (l->eof) return NULL;
    if (!(l->page_n && pid(l->page + (l->page_n - 1) * CD_SEARCH_POSTING) >= id)) {
        if (!l->cur) { l->eof = 1; return NULL; }
        /* Seeks mostly move forward a little: the next page is the cheap first guess (a seek
         * from the root compares the term key again at every level of the tree). */
        if (load_page(l, MDB_NEXT_MULTIPLE)) return NULL;       /* no more pages: past the end */
        if (pid(l->page + (l->page_n - 1) * CD_SEARCH_POSTING) < id) {
            unsigned char from[CD_SEARCH_POSTING] = { 0 };
            cd_put_u64be(from, id);
            MDB_val k = { l->klen, l->key }, v = { CD_SEARCH_POSTING, from };
            if (mdb_cursor_get(l->cur, &k, &v, MDB_GET_BOTH_RANGE) || load_page(l, MDB_GET_MULTIPLE)) {
                l->eof = 1;
                return NULL;
            }
        }
    }
    /* Gallop from the current posting (targets are usually near), then bisect. */
    size_t lo = l->i, hi = l->page_n, step = 1;
    while (lo + step < hi && pid(l->page + (lo + step) * CD_SEARCH_POSTING) < id) {
        lo += step;
        step *= 2;
    }
    if (lo + step < hi) hi = lo + step + 1;
    if (pid(l->page + lo * CD_SEARCH_POSTING) < id) lo++;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pid(l->page + mid * CD_SEARCH_POSTING) < id) lo = mid + 1;
        else hi = mid;
    }
    if (lo == l->page_n) { l->eof = 1; return NULL; }   /* cannot happen: the page's last id >= id */
    l->i = lo;
    return l->page + lo * CD_SEARCH_POSTING;
}

const unsigned char *cd_plist_next(cd_plist *l)
{
    if (l->eof) return NULL;
    if (l->i + 1 < l->page_n) return l->page + ++l->i * CD_SEARCH_POSTING;
    if (!l->cur || load_page(l, MDB_NEXT_MULTIPLE)) { l->eof = 1; return NULL; }
    return l->page;
}

const cd_sblock *cd_plist_block(cd_plist *l, uint32_t block)
{
    while (l->bi < l->nblocks && l->blocks[l->bi].block < block) l->bi++;
    return l->bi < l->nblocks && l->blocks[l->bi].block == block ? &l->blocks[l->bi] : NULL;
}

void cd_plist_close(cd_plist *l)
{
    if (l->cur) mdb_cursor_close(l->cur);
    free(l->blocks);
    free(l->owned);
    memset(l, 0, sizeof *l);
}
