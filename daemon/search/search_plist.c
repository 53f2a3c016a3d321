/* search_plist: posting lists merged over the search runs, and materialised prefix unions. */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "search_plist.h"

static uint64_t pid(const unsigned char *p) { return cd_search_posting_id(p); }

/* Widens block bound b to cover a posting (or a chunk) of tf up to maxtf and norm down to minnorm. */
static void widen(cd_sblock *b, unsigned maxtf, unsigned minnorm)
{
    if (maxtf > b->maxtf) b->maxtf = (uint8_t)maxtf;
    if (minnorm < b->minnorm) b->minnorm = (uint8_t)minnorm;
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

/* Block entries of n postings in id order. */
static int blocks_of_postings(cd_plist *l, size_t *cap, const unsigned char *post, size_t n)
{
    for (size_t i = 0; i < n;) {
        const unsigned char *p = post + i * CD_SEARCH_POSTING;
        cd_sblock b = { (uint32_t)(pid(p) >> CD_SEARCH_BLOCK_SHIFT), 0, 255 };
        for (; i < n; i++) {
            p = post + i * CD_SEARCH_POSTING;
            if (pid(p) >> CD_SEARCH_BLOCK_SHIFT != b.block) break;
            widen(&b, cd_search_posting_tf(p), cd_search_posting_norm(p));
        }
        if (push_block(l, cap, b)) return -1;
    }
    return 0;
}

static int block_cmp(const void *a, const void *b)
{
    const cd_sblock *x = a, *y = b;
    return x->block < y->block ? -1 : x->block > y->block;
}

/* Sorts the block entries gathered from every run and folds those of one block together. */
static void blocks_fold(cd_plist *l)
{
    if (l->nblocks > 1) qsort(l->blocks, l->nblocks, sizeof *l->blocks, block_cmp);
    size_t u = 0;
    for (size_t i = 0; i < l->nblocks; i++) {
        cd_sblock b = l->blocks[i];
        if (u && l->blocks[u - 1].block == b.block) {
            widen(&l->blocks[u - 1], b.maxtf, b.minnorm);
        } else {
            l->blocks[u++] = b;
        }
    }
    l->nblocks = u;
}

/* Whether the entry k is a chunk of l's term. */
static int own_chunk(const cd_plist *l, const MDB_val *k)
{
    size_t tlen;
    return cd_run_key_term(k, &tlen) == 0 && tlen == l->klen && memcmp(k->mv_data, l->key, tlen) == 0;
}

/* Decodes the chunk at (k, v) into r. 0, or -1 when it is damaged (the run then ends here). */
static int load_chunk(cd_plist_run *r, const MDB_val *k, const MDB_val *v)
{
    cd_run_head h;
    if (cd_run_chunk_head(k, v, &h) || cd_run_chunk_decode(k, v, r->post, &r->n)) {
        r->eof = 1;
        r->n = 0;
        return -1;
    }
    r->i = 0;
    r->first = h.first_id;
    r->last = h.last_id;
    return 0;
}

/* Puts r on the first posting with an id >= id at or after its current one (eof when none). */
static void run_seek(const cd_plist *l, cd_plist_run *r, uint64_t id)
{
    if (r->eof) return;
    if (r->n && pid(r->post + r->i * CD_SEARCH_POSTING) >= id) return;
    if (!r->n || r->last < id) {
        MDB_val k, v;
        /* Seeks mostly move forward a little: the next chunk is the cheap first guess. */
        int rc = mdb_cursor_get(r->cur, &k, &v, MDB_NEXT), found = rc == 0 && own_chunk(l, &k);
        cd_run_head h;
        if (found && (cd_run_chunk_head(&k, &v, &h) || h.last_id < id)) {
            found = 0;
            if (cd_runs_seek_chunk(r->cur, l->key, l->klen, id, &k, &v, &found)) found = 0;
        }
        if (!found || load_chunk(r, &k, &v)) { r->eof = 1; return; }
    }
    /* Gallop from the current posting (targets are usually near), then bisect. */
    size_t lo = r->i, hi = r->n, step = 1;
    while (lo + step < hi && pid(r->post + (lo + step) * CD_SEARCH_POSTING) < id) {
        lo += step;
        step *= 2;
    }
    if (lo + step < hi) hi = lo + step + 1;
    if (pid(r->post + lo * CD_SEARCH_POSTING) < id) lo++;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pid(r->post + mid * CD_SEARCH_POSTING) < id) lo = mid + 1;
        else hi = mid;
    }
    if (lo == r->n) { r->eof = 1; return; }      /* cannot happen: the chunk's last id >= id */
    r->i = lo;
}

/* Moves r past its current posting. */
static void run_next(const cd_plist *l, cd_plist_run *r)
{
    if (r->eof) return;
    if (r->i + 1 < r->n) { r->i++; return; }
    MDB_val k, v;
    if (mdb_cursor_get(r->cur, &k, &v, MDB_NEXT) || !own_chunk(l, &k) || load_chunk(r, &k, &v)) r->eof = 1;
}

/* Makes the smallest current posting over the runs l's current one, and notes the smallest id
 * of the other runs (l->others_min) so that cd_plist_next can stay in one run without a scan. */
static const unsigned char *pick_current(cd_plist *l)
{
    const unsigned char *best = NULL;
    uint64_t second = UINT64_MAX;
    for (size_t i = 0; i < l->nruns; i++) {
        cd_plist_run *r = &l->runs[i];
        if (r->eof) continue;
        const unsigned char *p = r->post + r->i * CD_SEARCH_POSTING;
        if (!best || pid(p) < pid(best)) {
            if (best) second = pid(best);
            best = p;
            l->at_run = i;
        } else if (pid(p) < second) {
            second = pid(p);
        }
    }
    l->at = best;
    l->others_min = second;
    if (!best) l->eof = 1;
    return best;
}

int cd_plist_df(cd_call *c, MDB_txn *txn, const cd_run_dir *d, const char tag[4], const char *term, size_t len,
                uint64_t *df)
{
    unsigned char key[CD_SEARCH_TERM_KEY];
    return cd_runs_df(c, txn, d, key, cd_search_term_key(key, tag, term, len), df);
}

/* Reads the chunk headers of l's term in run r into l's block entries, then puts the run's
 * cursor back on its current chunk. */
static int scan_run(cd_call *c, cd_plist *l, cd_plist_run *r, size_t *cap)
{
    unsigned char post[CD_RUN_CHUNK * CD_SEARCH_POSTING];
    MDB_val k, v;
    int found, rc = cd_runs_seek_chunk(r->cur, l->key, l->klen, 0, &k, &v, &found);
    for (; rc == 0 && found && own_chunk(l, &k); rc = mdb_cursor_get(r->cur, &k, &v, MDB_NEXT)) {
        cd_run_head h;
        size_t n;
        if (cd_run_chunk_head(&k, &v, &h)) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "a search run chunk is damaged");
        uint32_t b0 = (uint32_t)(h.first_id >> CD_SEARCH_BLOCK_SHIFT), b1 = (uint32_t)(h.last_id >> CD_SEARCH_BLOCK_SHIFT);
        if (b1 - b0 <= 1) {
            /* Within two blocks: the chunk's bound holds for both (an upper bound is enough). */
            for (uint32_t b = b0; b <= b1; b++)
                if (push_block(l, cap, (cd_sblock){ b, h.maxtf, h.minnorm })) goto oom;
        } else {
            if (cd_run_chunk_decode(&k, &v, post, &n)) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "a search run chunk is damaged");
            if (blocks_of_postings(l, cap, post, n)) goto oom;
        }
    }
    if (rc && rc != MDB_NOTFOUND) return cd_fail_mdb(c, rc, "reading postings");
    if (r->eof) return 0;
    /* Back on the current chunk (decoded already) with one exact seek. */
    if ((rc = cd_runs_seek_chunk(r->cur, l->key, l->klen, r->first, &k, &v, &found)) || !found)
        return rc ? cd_fail_mdb(c, rc, "reading postings") : cd_fail(c, CLAIMD_E_INTERNAL, NULL, "a search run chunk vanished");
    return 0;
oom:
    return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
}

int cd_plist_open_term(cd_call *c, MDB_txn *txn, const cd_run_dir *dir, cd_plist *l, const char tag[4],
                       const char *term, size_t len)
{
    memset(l, 0, sizeof *l);
    l->klen = cd_search_term_key(l->key, tag, term, len);
    l->eof = 1;
    if (!dir->n) return 0;
    if (!(l->runs = calloc(dir->n, sizeof *l->runs))) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < dir->n; i++) {
        cd_plist_run *r = &l->runs[l->nruns];
        int rc = mdb_cursor_open(txn, c->db->run_slots[dir->run[i].slot], &r->cur);
        if (rc) { r->cur = NULL; return cd_fail_mdb(c, rc, "reading postings"); }
        l->nruns++;
        MDB_val k, v;
        int found;
        if ((rc = cd_runs_seek_chunk(r->cur, l->key, l->klen, 0, &k, &v, &found))) return cd_fail_mdb(c, rc, "reading postings");
        if (!found) {                              /* not in this run: forget it */
            mdb_cursor_close(r->cur);
            memset(r, 0, sizeof *r);
            l->nruns--;
            continue;
        }
        cd_run_head h;
        if (cd_run_chunk_head(&k, &v, &h) || load_chunk(r, &k, &v))
            return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "a search run chunk is damaged");
        l->df += h.df;                             /* the term's first chunk in a run carries its df */
    }
    l->eof = l->nruns == 0;
    if (!l->eof) pick_current(l);
    return 0;
}

int cd_plist_scan_blocks(cd_call *c, cd_plist *l)
{
    if (l->scanned) return 0;
    size_t cap = 0;
    for (size_t i = 0; i < l->nruns; i++)
        if (scan_run(c, l, &l->runs[i], &cap)) return -1;
    blocks_fold(l);
    l->scanned = 1;
    return 0;
}

static int posting_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 8);
}

static int term_cmp(const void *a, const void *b)
{
    const MDB_val *x = a, *y = b;
    size_t n = x->mv_size < y->mv_size ? x->mv_size : y->mv_size;
    int r = memcmp(x->mv_data, y->mv_data, n);
    return r ? r : (x->mv_size > y->mv_size) - (x->mv_size < y->mv_size);
}

/* The distinct terms among n (sorted in place). */
static size_t count_distinct(MDB_val *terms, size_t n)
{
    if (n > 1) qsort(terms, n, sizeof *terms, term_cmp);
    size_t u = 0;
    for (size_t i = 0; i < n; i++)
        if (!u || term_cmp(&terms[u - 1], &terms[i]) != 0) terms[u++] = terms[i];
    return u;
}

int cd_plist_open_prefix(cd_call *c, MDB_txn *txn, const cd_run_dir *dir, cd_plist *l, const char tag[4],
                         const char *prefix, size_t len, size_t *budget)
{
    memset(l, 0, sizeof *l);
    l->materialised = 1;
    unsigned char key[CD_SEARCH_TERM_KEY];
    size_t klen = cd_search_term_key(key, tag, prefix, len), n = 0, cap = 0, nterms = 0, terms_cap = 0;
    int too_many = 0, rc = 0;
    MDB_val *terms = NULL;                /* term keys seen (pointing into the txn's pages) */
    for (size_t r = 0; r < dir->n && !too_many && !c->err; r++) {
        MDB_cursor *cur;
        if ((rc = mdb_cursor_open(txn, c->db->run_slots[dir->run[r].slot], &cur))) { cd_fail_mdb(c, rc, "reading postings"); break; }
        MDB_val k = { klen, key }, v, last = { 0, NULL };
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            size_t tlen, got;
            if (k.mv_size < klen || memcmp(k.mv_data, key, klen) != 0) break;
            if (cd_run_key_term(&k, &tlen)) continue;
            MDB_val t = { tlen, k.mv_data };
            if (!last.mv_data || term_cmp(&last, &t) != 0) {
                last = t;
                if (nterms == terms_cap) {
                    terms_cap = terms_cap ? terms_cap * 2 : 64;
                    MDB_val *bigger = realloc(terms, terms_cap * sizeof *terms);
                    if (!bigger) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); break; }
                    terms = bigger;
                }
                terms[nterms++] = t;
                /* Counted exactly once the runs' lists get long (a word is in several runs). */
                if (nterms > CD_SEARCH_PREFIX_TERMS && (nterms = count_distinct(terms, nterms)) > CD_SEARCH_PREFIX_TERMS) {
                    too_many = 1;
                    break;
                }
            }
            if (n + CD_RUN_CHUNK > cap) {
                cap = cap ? cap * 2 : 1024;
                unsigned char *bigger = realloc(l->owned, cap * CD_SEARCH_POSTING);
                if (!bigger) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); break; }
                l->owned = bigger;
            }
            if (cd_run_chunk_decode(&k, &v, l->owned + n * CD_SEARCH_POSTING, &got)) continue;
            if (n + got > *budget) { too_many = 1; break; }
            n += got;
        }
        mdb_cursor_close(cur);
        if (rc && rc != MDB_NOTFOUND && !c->err) cd_fail_mdb(c, rc, "reading postings");
    }
    free(terms);
    if (c->err) return -1;
    if (too_many)
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
    l->owned_n = u;
    l->df = u;
    l->eof = u == 0;
    l->at = u ? l->owned : NULL;
    size_t bcap = 0;
    if (blocks_of_postings(l, &bcap, l->owned, u)) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    l->scanned = 1;
    return 0;
}

/* The materialised list's first posting with an id >= id from the current one. */
static const unsigned char *owned_seek(cd_plist *l, uint64_t id)
{
    size_t lo = l->oi, hi = l->owned_n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pid(l->owned + mid * CD_SEARCH_POSTING) < id) lo = mid + 1;
        else hi = mid;
    }
    l->oi = lo;
    if (lo == l->owned_n) { l->eof = 1; return l->at = NULL; }
    return l->at = l->owned + lo * CD_SEARCH_POSTING;
}

const unsigned char *cd_plist_seek(cd_plist *l, uint64_t id)
{
    if (l->eof) return NULL;
    if (l->at && pid(l->at) >= id) return l->at;
    if (l->materialised) return owned_seek(l, id);
    /* Every other run is already at or past others_min: when id is not beyond it, only the
     * current run moves (the others' seeks would do nothing). */
    if (id <= l->others_min) {
        cd_plist_run *r = &l->runs[l->at_run];
        run_seek(l, r, id);
        if (!r->eof && pid(r->post + r->i * CD_SEARCH_POSTING) < l->others_min) return l->at = r->post + r->i * CD_SEARCH_POSTING;
        return pick_current(l);
    }
    for (size_t i = 0; i < l->nruns; i++) run_seek(l, &l->runs[i], id);
    return pick_current(l);
}

const unsigned char *cd_plist_next(cd_plist *l)
{
    if (l->eof || !l->at) return NULL;
    if (l->materialised) {
        if (++l->oi >= l->owned_n) { l->eof = 1; return l->at = NULL; }
        return l->at = l->owned + l->oi * CD_SEARCH_POSTING;
    }
    cd_plist_run *r = &l->runs[l->at_run];
    run_next(l, r);
    /* A posting is in one run only, so ids differ: still below every other run's, it is next. */
    if (!r->eof && pid(r->post + r->i * CD_SEARCH_POSTING) < l->others_min) return l->at = r->post + r->i * CD_SEARCH_POSTING;
    return pick_current(l);
}

/* Folds into *b the bound of run r's postings in [lo, hi), r on its first posting >= lo and
 * below hi: exact over its current chunk, then the headers of the chunks after it that start
 * below hi (read with the run's peek cursor, opened on first use). 0, or -1 when a chunk is
 * damaged or LMDB fails (the bound is then the loosest). */
static int run_block_bound(cd_plist *l, cd_plist_run *r, uint64_t hi, cd_sblock *b)
{
    for (size_t i = r->i; i < r->n; i++) {
        const unsigned char *p = r->post + i * CD_SEARCH_POSTING;
        if (pid(p) >= hi) return 0;
        widen(b, cd_search_posting_tf(p), cd_search_posting_norm(p));
    }
    if (r->last + 1 >= hi) return 0;
    if (!r->peek && mdb_cursor_open(mdb_cursor_txn(r->cur), mdb_cursor_dbi(r->cur), &r->peek)) {
        r->peek = NULL;
        return -1;
    }
    unsigned char key[CD_RUN_KEY_MAX];
    MDB_val k = { cd_run_key(key, l->key, l->klen, r->last + 1), key }, v;
    int rc;
    for (rc = mdb_cursor_get(r->peek, &k, &v, MDB_SET_RANGE); rc == 0 && own_chunk(l, &k);
         rc = mdb_cursor_get(r->peek, &k, &v, MDB_NEXT)) {
        cd_run_head h;
        if (cd_run_chunk_head(&k, &v, &h)) return -1;
        if (h.first_id >= hi) break;
        widen(b, h.maxtf, h.minnorm);
    }
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : -1;
}

const cd_sblock *cd_plist_block(cd_plist *l, uint32_t block)
{
    if (l->scanned) {
        while (l->bi < l->nblocks && l->blocks[l->bi].block < block) l->bi++;
        return l->bi < l->nblocks && l->blocks[l->bi].block == block ? &l->blocks[l->bi] : NULL;
    }
    if (l->eof) return NULL;
    uint64_t lo = (uint64_t)block << CD_SEARCH_BLOCK_SHIFT, hi = lo + ((uint64_t)1 << CD_SEARCH_BLOCK_SHIFT);
    l->lazy = (cd_sblock){ block, 0, 255 };
    int any = 0;
    for (size_t i = 0; i < l->nruns; i++) {
        cd_plist_run *r = &l->runs[i];
        run_seek(l, r, lo);
        if (r->eof || pid(r->post + r->i * CD_SEARCH_POSTING) >= hi) continue;
        any = 1;
        /* Unreadable: a bound no posting can pass keeps the search exact. */
        if (run_block_bound(l, r, hi, &l->lazy)) l->lazy = (cd_sblock){ block, 255, 0 };
    }
    pick_current(l);
    return any ? &l->lazy : NULL;
}

void cd_plist_close(cd_plist *l)
{
    for (size_t i = 0; i < l->nruns; i++) {
        if (l->runs[i].cur) mdb_cursor_close(l->runs[i].cur);
        if (l->runs[i].peek) mdb_cursor_close(l->runs[i].peek);
    }
    free(l->runs);
    free(l->blocks);
    free(l->owned);
    memset(l, 0, sizeof *l);
}
