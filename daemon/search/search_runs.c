/* search_runs: writing, editing and merging the postings runs in LMDB (see search_runs.h). */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "grow.h"
#include "search_runs.h"

/* ---- the builder: postings held back for the next run ---- */

/* A term's postings are a linked list in the pool, in the order they came (claim ids increase
 * over a pass: changed_claims sorts them), so a flush only sorts the distinct terms. */
typedef struct { uint32_t koff, head, tail, n; uint8_t klen; } term_slot;
typedef struct { unsigned char p[CD_SEARCH_POSTING]; uint32_t next; } pool_entry;

struct cd_run_builder {
    term_slot *terms;
    size_t nterms, cap;               /* cap: hash table size, a power of two */
    uint32_t *table;                  /* index + 1 into terms, 0 empty */
    unsigned char *keys;
    size_t keys_n, keys_cap;
    pool_entry *pool;
    size_t pool_n, pool_cap;
};

cd_run_builder *cd_run_builder_new(void)
{
    return calloc(1, sizeof(cd_run_builder));
}

void cd_run_builder_free(cd_run_builder *b)
{
    if (!b) return;
    free(b->terms);
    free(b->table);
    free(b->keys);
    free(b->pool);
    free(b);
}

void cd_run_builder_clear(cd_run_builder *b)
{
    if (b->table) memset(b->table, 0, b->cap * sizeof *b->table);
    b->nterms = b->keys_n = b->pool_n = 0;
}

static uint32_t hash_key(const unsigned char *k, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) h = (h ^ k[i]) * 16777619u;
    return h;
}

/* Doubles the hash table (or makes the first) and re-inserts every term. */
static int rehash(cd_run_builder *b)
{
    size_t ncap = b->cap ? b->cap * 2 : 4096;
    uint32_t *nt = calloc(ncap, sizeof *nt);
    term_slot *nterms = realloc(b->terms, (ncap / 2) * sizeof *nterms);
    if (!nt || !nterms) { free(nt); if (nterms) b->terms = nterms; return -1; }
    b->terms = nterms;
    for (size_t i = 0; i < b->nterms; i++) {
        uint32_t h = hash_key(b->keys + b->terms[i].koff, b->terms[i].klen) & (uint32_t)(ncap - 1);
        while (nt[h]) h = (h + 1) & (uint32_t)(ncap - 1);
        nt[h] = (uint32_t)i + 1;
    }
    free(b->table);
    b->table = nt;
    b->cap = ncap;
    return 0;
}

int cd_run_builder_add(cd_call *c, cd_run_builder *b, const unsigned char *tkey, size_t tlen,
                       const unsigned char posting[CD_SEARCH_POSTING])
{
    if ((b->nterms + 1) * 2 > b->cap && rehash(b)) goto oom;
    uint32_t h = hash_key(tkey, tlen) & (uint32_t)(b->cap - 1), t;
    while ((t = b->table[h])) {
        const term_slot *s = &b->terms[t - 1];
        if (s->klen == tlen && memcmp(b->keys + s->koff, tkey, tlen) == 0) break;
        h = (h + 1) & (uint32_t)(b->cap - 1);
    }
    if (cd_grow((void **)&b->pool, &b->pool_cap, b->pool_n + 1, sizeof *b->pool)) goto oom;
    uint32_t e = (uint32_t)b->pool_n++;
    memcpy(b->pool[e].p, posting, CD_SEARCH_POSTING);
    b->pool[e].next = UINT32_MAX;
    if (!t) {
        if (cd_grow((void **)&b->keys, &b->keys_cap, b->keys_n + tlen, 1)) goto oom;
        memcpy(b->keys + b->keys_n, tkey, tlen);
        b->terms[b->nterms] = (term_slot){ (uint32_t)b->keys_n, e, e, 1, (uint8_t)tlen };
        b->keys_n += tlen;
        b->table[h] = (uint32_t)++b->nterms;
        return 0;
    }
    term_slot *s = &b->terms[t - 1];
    b->pool[s->tail].next = e;
    s->tail = e;
    s->n++;
    return 0;
oom:
    return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
}

/* ---- the directory ---- */

int cd_runs_dir(cd_call *c, MDB_txn *txn, cd_run_dir *d)
{
    cd_run_family f = cd_run_family_search(c->db);
    return cd_run_dir_load(c, txn, &f, d);
}

static int dir_store(cd_call *c, MDB_txn *txn, const cd_run_dir *d)
{
    cd_run_family f = cd_run_family_search(c->db);
    return cd_run_dir_store(c, txn, &f, d);
}

/* ---- writing a term's postings as chunks ---- */

/* Appends n postings (ids increasing) of term tkey to the run under cur, as chunks. */
static int append_term(cd_call *c, MDB_cursor *cur, const unsigned char *tkey, size_t tlen,
                       const unsigned char *postings, size_t n)
{
    unsigned char key[CD_RUN_KEY_MAX], val[CD_RUN_VALUE_MAX];
    for (size_t i = 0; i < n; i += CD_RUN_CHUNK) {
        size_t m = n - i < CD_RUN_CHUNK ? n - i : CD_RUN_CHUNK;
        const unsigned char *p = postings + i * CD_SEARCH_POSTING;
        MDB_val k = { cd_run_key(key, tkey, tlen, cd_get_u64be(p)), key };
        MDB_val v = { cd_run_chunk_encode(val, p, m, i == 0, n), val };
        int rc = mdb_cursor_put(cur, &k, &v, MDB_APPEND);
        if (rc) return cd_fail_mdb(c, rc, "writing a search run");
    }
    return 0;
}

static int posting_id_cmp(const void *a, const void *b)
{
    return memcmp(a, b, 8);
}

static const cd_run_builder *sort_builder;

static int term_cmp(const void *a, const void *b)
{
    const term_slot *x = &sort_builder->terms[*(const uint32_t *)a], *y = &sort_builder->terms[*(const uint32_t *)b];
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int r = memcmp(sort_builder->keys + x->koff, sort_builder->keys + y->koff, n);
    return r ? r : (int)x->klen - (int)y->klen;
}

int cd_runs_flush(cd_call *c, cd_run_builder *b, MDB_txn *txn, uint64_t *written)
{
    *written = 0;
    if (!b->nterms) return 0;
    cd_run_dir d;
    int slot, rc = 0;
    uint32_t *order = malloc(b->nterms * sizeof *order);
    unsigned char *buf = NULL;
    size_t buf_cap = 0;
    MDB_cursor *cur = NULL;
    if (!order) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); goto out; }
    cd_run_family f = cd_run_family_search(c->db);
    if (cd_run_slot_for_flush(c, txn, &f, cd_runs_merge_step, &d, &slot)) goto out;
    for (uint32_t i = 0; i < b->nterms; i++) order[i] = i;
    /* qsort has no context argument: the builder is the writer thread's, one flush at a time */
    sort_builder = b;
    qsort(order, b->nterms, sizeof *order, term_cmp);
    if ((rc = mdb_cursor_open(txn, c->db->run_slots[slot], &cur))) { cd_fail_mdb(c, rc, "writing a search run"); goto out; }
    uint64_t total = 0;
    for (size_t i = 0; i < b->nterms; i++) {
        const term_slot *s = &b->terms[order[i]];
        if (cd_grow((void **)&buf, &buf_cap, (size_t)s->n * CD_SEARCH_POSTING, 1)) {
            cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
            goto out;
        }
        size_t n = 0;
        int sorted = 1;
        for (uint32_t e = s->head; e != UINT32_MAX; e = b->pool[e].next, n++) {
            memcpy(buf + n * CD_SEARCH_POSTING, b->pool[e].p, CD_SEARCH_POSTING);
            if (n && memcmp(buf + (n - 1) * CD_SEARCH_POSTING, buf + n * CD_SEARCH_POSTING, 8) >= 0) sorted = 0;
        }
        if (!sorted) {                 /* not from one pass in id order: sort, drop repeats */
            qsort(buf, n, CD_SEARCH_POSTING, posting_id_cmp);
            size_t u = 0;
            for (size_t j = 0; j < n; j++)
                if (!u || memcmp(buf + (u - 1) * CD_SEARCH_POSTING, buf + j * CD_SEARCH_POSTING, 8) != 0)
                    memmove(buf + u++ * CD_SEARCH_POSTING, buf + j * CD_SEARCH_POSTING, CD_SEARCH_POSTING);
            n = u;
        }
        if (append_term(c, cur, b->keys + s->koff, s->klen, buf, n)) goto out;
        total += n;
    }
    d.run[d.n++] = (cd_run_info){ (uint8_t)slot, CD_RUN_LIVE, 0, total };
    *written = total;
    dir_store(c, txn, &d);
out:
    if (cur) mdb_cursor_close(cur);
    free(buf);
    free(order);
    cd_run_builder_clear(b);
    return c->err ? -1 : 0;
}

/* ---- removing one posting ---- */

/* Whether entry k is a chunk of term tkey. */
static int is_term_chunk(const MDB_val *k, const unsigned char *tkey, size_t tlen)
{
    size_t kt;
    return cd_run_key_term(k, &kt) == 0 && kt == tlen && memcmp(k->mv_data, tkey, tlen) == 0;
}

int cd_runs_seek_chunk(MDB_cursor *cur, const unsigned char *tkey, size_t tlen, uint64_t id, MDB_val *k,
                       MDB_val *v, int *found)
{
    unsigned char key[CD_RUN_KEY_MAX];
    *k = (MDB_val){ cd_run_key(key, tkey, tlen, id), key };
    *found = 0;
    int rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE), after = rc == 0;
    if (after && is_term_chunk(k, tkey, tlen) && cd_get_u64be((const unsigned char *)k->mv_data + tlen + 1) == id) {
        *found = 1;
        return 0;
    }
    if (id == 0) {                     /* no chunk before the term's first can reach id 0 */
        *found = after && is_term_chunk(k, tkey, tlen);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    if (rc && rc != MDB_NOTFOUND) return rc;
    /* The chunk before the first one starting at or after id may still reach id. */
    rc = mdb_cursor_get(cur, k, v, after ? MDB_PREV : MDB_LAST);
    if (rc == 0 && is_term_chunk(k, tkey, tlen)) {
        cd_run_head h;
        if (cd_run_chunk_head(k, v, &h) == 0 && h.last_id >= id) { *found = 1; return 0; }
    } else if (rc && rc != MDB_NOTFOUND) {
        return rc;
    }
    if (!after) return 0;
    if (rc == 0) rc = mdb_cursor_get(cur, k, v, MDB_NEXT);
    else rc = mdb_cursor_get(cur, k, v, MDB_FIRST);    /* nothing before it: it is the first */
    if (rc == MDB_NOTFOUND) return 0;
    if (rc) return rc;
    *found = is_term_chunk(k, tkey, tlen);
    return 0;
}

/* Replaces the value of the entry under cur, whose key k is as mdb_cursor_get returned it: a
 * pointer into the entry's page. When the new value's size differs (a df crossing a varint
 * length, a chunk taking over the df), LMDB's MDB_CURRENT deletes the node and adds it again,
 * copying the key from k->mv_data *after* the delete; if the page was already dirty in this txn
 * (a removal just rewrote a chunk next to it), the delete has shifted other nodes over those
 * bytes, and the chunk comes back under a neighbour's key: the term's first chunk is "lost" to
 * the next pass, or its postings move to another term or id. So the key is copied out first. */
static int put_current(MDB_cursor *cur, const MDB_val *k, MDB_val *v)
{
    unsigned char key[CD_RUN_KEY_MAX];
    if (k->mv_size > sizeof key) return MDB_BAD_VALSIZE;
    memcpy(key, k->mv_data, k->mv_size);
    MDB_val own = { k->mv_size, key };
    return mdb_cursor_put(cur, &own, v, MDB_CURRENT);
}

/* Rewrites the first chunk of term tkey in the run under cur with df changed by delta (the
 * chunk under cur when it is that chunk already). */
static int adjust_df(cd_call *c, MDB_cursor *cur, const unsigned char *tkey, size_t tlen, int64_t delta)
{
    unsigned char post[CD_RUN_CHUNK * CD_SEARCH_POSTING], val[CD_RUN_VALUE_MAX];
    MDB_val k, v;
    int found, rc = cd_runs_seek_chunk(cur, tkey, tlen, 0, &k, &v, &found);
    if (rc) return cd_fail_mdb(c, rc, "updating a search run");
    cd_run_head h;
    size_t n;
    if (!found || cd_run_chunk_head(&k, &v, &h) || !h.first || cd_run_chunk_decode(&k, &v, post, &n))
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "a search run lost the first chunk of a term");
    MDB_val nv = { cd_run_chunk_encode(val, post, n, 1, (uint64_t)((int64_t)h.df + delta)), val };
    rc = put_current(cur, &k, &nv);
    return rc ? cd_fail_mdb(c, rc, "updating a search run") : 0;
}

/* Removes id from the chunk under cur (k, v: its entry), which holds it at index at. */
static int remove_from_chunk(cd_call *c, MDB_cursor *cur, const unsigned char *tkey, size_t tlen,
                             const MDB_val *k, const MDB_val *v, unsigned char *post, size_t n, size_t at)
{
    cd_run_head h;
    unsigned char key[CD_RUN_KEY_MAX], val[CD_RUN_VALUE_MAX];
    if (cd_run_chunk_head(k, v, &h)) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "a search run chunk is damaged");
    memmove(post + at * CD_SEARCH_POSTING, post + (at + 1) * CD_SEARCH_POSTING, (n - at - 1) * CD_SEARCH_POSTING);
    n--;
    int rc;
    if ((rc = mdb_cursor_del(cur, 0))) return cd_fail_mdb(c, rc, "updating a search run");
    if (n) {
        MDB_val nk = { cd_run_key(key, tkey, tlen, cd_get_u64be(post)), key };
        MDB_val nv = { cd_run_chunk_encode(val, post, n, h.first, h.df - 1), val };
        if ((rc = mdb_cursor_put(cur, &nk, &nv, 0))) return cd_fail_mdb(c, rc, "updating a search run");
        return h.first ? 0 : adjust_df(c, cur, tkey, tlen, -1);
    }
    if (!h.first) return adjust_df(c, cur, tkey, tlen, -1);
    if (h.df <= 1) return 0;                         /* the term's last posting in this run */
    /* The emptied chunk was the first: the next one carries the df now. */
    MDB_val nk, nv;
    int found;
    if ((rc = cd_runs_seek_chunk(cur, tkey, tlen, 0, &nk, &nv, &found))) return cd_fail_mdb(c, rc, "updating a search run");
    cd_run_head nh;
    size_t m;
    if (!found || cd_run_chunk_head(&nk, &nv, &nh) || nh.first_id <= h.last_id ||
        cd_run_chunk_decode(&nk, &nv, post, &m))
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "a search run's df says more postings than it has");
    nv = (MDB_val){ cd_run_chunk_encode(val, post, m, 1, h.df - 1), val };
    rc = put_current(cur, &nk, &nv);
    return rc ? cd_fail_mdb(c, rc, "updating a search run") : 0;
}

int cd_runs_remove(cd_call *c, MDB_txn *txn, const unsigned char *tkey, size_t tlen, uint64_t id)
{
    cd_run_dir d;
    if (cd_runs_dir(c, txn, &d)) return -1;
    unsigned char post[CD_RUN_CHUNK * CD_SEARCH_POSTING];
    for (size_t r = 0; r < d.n; r++) {
        MDB_cursor *cur;
        int rc = mdb_cursor_open(txn, c->db->run_slots[d.run[r].slot], &cur);
        if (rc) return cd_fail_mdb(c, rc, "reading a search run");
        MDB_val k, v;
        int found;
        size_t n = 0;
        rc = cd_runs_seek_chunk(cur, tkey, tlen, id, &k, &v, &found);
        if (rc) { mdb_cursor_close(cur); return cd_fail_mdb(c, rc, "reading a search run"); }
        if (found && cd_run_chunk_decode(&k, &v, post, &n)) {
            mdb_cursor_close(cur);
            return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "a search run chunk is damaged");
        }
        for (size_t i = 0; found && i < n; i++) {
            if (cd_get_u64be(post + i * CD_SEARCH_POSTING) != id) continue;
            rc = remove_from_chunk(c, cur, tkey, tlen, &k, &v, post, n, i);
            mdb_cursor_close(cur);
            return rc;                 /* a posting is in one run only */
        }
        mdb_cursor_close(cur);
    }
    return 0;
}

int cd_runs_df(cd_call *c, MDB_txn *txn, const cd_run_dir *d, const unsigned char *tkey, size_t tlen,
               uint64_t *df)
{
    *df = 0;
    for (size_t r = 0; r < d->n; r++) {
        MDB_cursor *cur;
        int rc = mdb_cursor_open(txn, c->db->run_slots[d->run[r].slot], &cur);
        if (rc) return cd_fail_mdb(c, rc, "reading a search run");
        MDB_val k, v;
        int found;
        cd_run_head h;
        rc = cd_runs_seek_chunk(cur, tkey, tlen, 0, &k, &v, &found);
        if (!rc && found && cd_run_chunk_head(&k, &v, &h) == 0 && h.first) *df += h.df;
        mdb_cursor_close(cur);
        if (rc) return cd_fail_mdb(c, rc, "reading a search run");
    }
    return 0;
}

/* ---- merging ---- */

/* Moves the whole of the smallest term at the inputs' fronts to the output; *moved gets its
 * postings (0 when the inputs are empty). */
static int merge_term(cd_call *c, MDB_cursor **in, size_t nin, MDB_cursor *out, unsigned char **buf,
                      size_t *cap, uint64_t *moved, uint64_t *taken)
{
    unsigned char term[CD_SEARCH_TERM_KEY];
    size_t tlen = 0;
    int have = 0, rc;
    MDB_val k, v;
    *moved = 0;
    for (size_t i = 0; i < nin; i++) {
        size_t kt;
        if ((rc = mdb_cursor_get(in[i], &k, &v, MDB_FIRST)) == MDB_NOTFOUND) continue;
        if (rc) return cd_fail_mdb(c, rc, "reading a search run");
        if (cd_run_key_term(&k, &kt)) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "a search run key is damaged");
        size_t m = kt < tlen ? kt : tlen;
        int cmp = have ? memcmp(k.mv_data, term, m) : -1;
        if (!have || cmp < 0 || (cmp == 0 && kt < tlen)) {
            memcpy(term, k.mv_data, kt);
            tlen = kt;
            have = 1;
        }
    }
    if (!have) return 0;
    size_t n = 0;
    for (size_t i = 0; i < nin; i++) {
        taken[i] = 0;
        for (;;) {
            size_t kt, got;
            rc = mdb_cursor_get(in[i], &k, &v, MDB_FIRST);
            if (rc == MDB_NOTFOUND) break;
            if (rc) return cd_fail_mdb(c, rc, "reading a search run");
            if (cd_run_key_term(&k, &kt) || kt != tlen || memcmp(k.mv_data, term, tlen) != 0) break;
            if (cd_grow((void **)buf, cap, (n + CD_RUN_CHUNK) * CD_SEARCH_POSTING, 1))
                return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
            if (cd_run_chunk_decode(&k, &v, *buf + n * CD_SEARCH_POSTING, &got))
                return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "a search run chunk is damaged");
            n += got;
            taken[i] += got;
            if ((rc = mdb_cursor_del(in[i], 0))) return cd_fail_mdb(c, rc, "merging search runs");
        }
    }
    /* Each input's postings are in id order and no id is in two runs: merge the inputs'
     * stretches of buf (one after the other, taken[i] postings each) into one. */
    size_t parts = 0;
    for (size_t i = 0; i < nin; i++) parts += taken[i] > 0;
    const unsigned char *merged = *buf;
    unsigned char *tmp = NULL;
    if (parts > 1) {
        size_t at[CD_RUN_SLOTS], end[CD_RUN_SLOTS], off = 0;
        for (size_t i = 0; i < nin; i++) { at[i] = off; off += taken[i]; end[i] = off; }
        if (!(tmp = malloc(n * CD_SEARCH_POSTING))) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
        for (size_t o = 0; o < n; o++) {
            size_t best = nin;
            for (size_t i = 0; i < nin; i++)
                if (at[i] < end[i] && (best == nin || memcmp(*buf + at[i] * CD_SEARCH_POSTING,
                                                             *buf + at[best] * CD_SEARCH_POSTING, 8) < 0))
                    best = i;
            memcpy(tmp + o * CD_SEARCH_POSTING, *buf + at[best]++ * CD_SEARCH_POSTING, CD_SEARCH_POSTING);
        }
        merged = tmp;
    }
    int arc = append_term(c, out, term, tlen, merged, n);
    free(tmp);
    if (arc) return -1;
    *moved = n;
    return 0;
}

int cd_runs_merge_step(cd_call *c, MDB_txn *txn, size_t budget, cd_run_step *res)
{
    cd_run_dir d;
    cd_run_family f = cd_run_family_search(c->db);
    memset(res, 0, sizeof *res);
    if (cd_run_dir_load(c, txn, &f, &d) || cd_run_merge_start(c, txn, &f, &d)) return -1;
    uint8_t job = cd_run_next_job(&d);
    if (!job) return 0;
    size_t out_i, nin, in_i[CD_RUN_SLOTS];
    if (cd_run_job_members(c, &f, &d, job, in_i, &nin, &out_i)) return -1;
    MDB_cursor *in[CD_RUN_SLOTS], *out = NULL;
    uint64_t taken[CD_RUN_SLOTS], moved_total = 0;
    unsigned char *buf = NULL;
    size_t cap = 0, opened = 0;
    int rc = mdb_cursor_open(txn, c->db->run_slots[d.run[out_i].slot], &out);
    if (rc) { out = NULL; cd_fail_mdb(c, rc, "merging search runs"); goto done; }
    for (; opened < nin; opened++)
        if ((rc = mdb_cursor_open(txn, c->db->run_slots[d.run[in_i[opened]].slot], &in[opened]))) {
            cd_fail_mdb(c, rc, "merging search runs");
            goto done;
        }
    for (;;) {
        uint64_t moved;
        if (merge_term(c, in, nin, out, &buf, &cap, &moved, taken)) goto done;
        for (size_t i = 0; i < nin; i++) {
            uint64_t *p = &d.run[in_i[i]].postings;
            *p = *p > taken[i] ? *p - taken[i] : 0;
        }
        d.run[out_i].postings += moved;
        moved_total += moved;
        if (!moved) {                              /* inputs empty: the output is a run now */
            cd_run_job_finish(&d, job, out_i);
            res->finished = 1;
            break;
        }
        if (moved_total >= budget) break;
    }
    if (dir_store(c, txn, &d)) goto done;
    res->more = cd_run_more(&d);
    res->moved = moved_total;
done:
    for (size_t i = 0; i < opened; i++) mdb_cursor_close(in[i]);
    if (out) mdb_cursor_close(out);
    free(buf);
    return c->err ? -1 : 0;
}
