/* index_runs: writing, editing and merging the claim index runs in LMDB (see index_runs.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "grow.h"
#include "index_runs.h"

/* ---- the builder ---- */

/* An addition or removal in the order it came (seq): sorted by (entry, seq) at the flush, the
 * last one of each entry says whether it is written. */
typedef struct { unsigned char key[CD_IDX_KEY]; uint8_t del; uint32_t seq; } held;

struct cd_ixrun_builder {
    held *e;
    size_t n, cap;
};

cd_ixrun_builder *cd_ixrun_builder_new(void)
{
    return calloc(1, sizeof(cd_ixrun_builder));
}

void cd_ixrun_builder_free(cd_ixrun_builder *b)
{
    if (!b) return;
    free(b->e);
    free(b);
}

void cd_ixrun_builder_clear(cd_ixrun_builder *b)
{
    b->n = 0;
}

int cd_ixrun_builder_add(cd_call *c, cd_ixrun_builder *b, const unsigned char key[CD_IDX_KEY], int del)
{
    if (cd_grow((void **)&b->e, &b->cap, b->n + 1, sizeof *b->e))
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    held *h = &b->e[b->n];
    memcpy(h->key, key, CD_IDX_KEY);
    h->del = (uint8_t)(del != 0);
    h->seq = (uint32_t)b->n++;
    return 0;
}

static int held_cmp(const void *a, const void *b)
{
    const held *x = a, *y = b;
    int r = memcmp(x->key, y->key, CD_IDX_KEY);
    return r ? r : (x->seq > y->seq) - (x->seq < y->seq);
}

/* ---- writing entries as chunks ---- */

/* Entries in key order cut into chunks (one kind|value each, at most CD_IXRUN_CHUNK) and put
 * under cur with flags (MDB_APPEND when the run is written front to back). */
typedef struct {
    MDB_cursor *cur;
    unsigned flags;
    size_t n;
    uint64_t added;
    unsigned char e[CD_IXRUN_CHUNK * CD_IDX_KEY];
} chunk_out;

static int out_flush(chunk_out *o)
{
    if (!o->n) return 0;
    unsigned char val[CD_IXRUN_VALUE_MAX];
    MDB_val k = { CD_IDX_KEY, o->e }, v = { cd_ixrun_chunk_encode(val, o->e, o->n), val };
    o->n = 0;
    return mdb_cursor_put(o->cur, &k, &v, o->flags);
}

/* Adds entry key (greater than any added before); 0 or an LMDB code. */
static int out_add(chunk_out *o, const unsigned char *key)
{
    int rc;
    if (o->n && (o->n == CD_IXRUN_CHUNK || memcmp(o->e, key, CD_IDX_PREFIX) != 0) && (rc = out_flush(o))) return rc;
    memcpy(o->e + o->n++ * CD_IDX_KEY, key, CD_IDX_KEY);
    o->added++;
    return 0;
}

int cd_ixruns_flush(cd_call *c, cd_ixrun_builder *b, MDB_txn *txn, uint64_t *written)
{
    *written = 0;
    if (!b->n) return 0;
    cd_run_family f = cd_run_family_index(c->db);
    cd_run_dir d;
    int slot, rc;
    chunk_out *o = NULL;
    if (cd_run_slot_for_flush(c, txn, &f, cd_ixruns_merge_step, &d, &slot)) goto out;
    qsort(b->e, b->n, sizeof *b->e, held_cmp);
    if (!(o = calloc(1, sizeof *o))) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); goto out; }
    o->flags = MDB_APPEND;
    if ((rc = mdb_cursor_open(txn, f.slots[slot], &o->cur))) { o->cur = NULL; cd_fail_mdb(c, rc, "writing an index run"); goto out; }
    for (size_t i = 0; i < b->n; i++) {
        if (i + 1 < b->n && memcmp(b->e[i].key, b->e[i + 1].key, CD_IDX_KEY) == 0) continue;  /* not the last word */
        if (b->e[i].del) continue;
        if ((rc = out_add(o, b->e[i].key))) { cd_fail_mdb(c, rc, "writing an index run"); goto out; }
    }
    if ((rc = out_flush(o))) { cd_fail_mdb(c, rc, "writing an index run"); goto out; }
    if (o->added) {
        d.run[d.n++] = (cd_run_info){ (uint8_t)slot, CD_RUN_LIVE, 0, o->added };
        if (cd_run_dir_store(c, txn, &f, &d)) goto out;
    }
    *written = o->added;
out:
    if (o && o->cur) mdb_cursor_close(o->cur);
    free(o);
    cd_ixrun_builder_clear(b);
    return c->err ? -1 : 0;
}

/* ---- removing one entry ---- */

int cd_ixrun_seek_le(MDB_cursor *cur, const unsigned char *key, MDB_val *k, MDB_val *v)
{
    *k = (MDB_val){ CD_IDX_KEY, (void *)key };
    int rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    if (rc == 0 && k->mv_size == CD_IDX_KEY && memcmp(k->mv_data, key, CD_IDX_KEY) == 0) return 0;
    if (rc && rc != MDB_NOTFOUND) return rc;
    return mdb_cursor_get(cur, k, v, rc == 0 ? MDB_PREV : MDB_LAST);
}

/* Positions cur on the chunk that would hold key (the last chunk whose first entry is <= key,
 * when it is of key's kind|value); *found 0 when there is none. 0 or an LMDB code. */
static int seek_chunk(MDB_cursor *cur, const unsigned char *key, MDB_val *k, MDB_val *v, int *found)
{
    int rc = cd_ixrun_seek_le(cur, key, k, v);
    *found = rc == 0 && k->mv_size == CD_IDX_KEY && memcmp(k->mv_data, key, CD_IDX_PREFIX) == 0;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int cd_ixruns_remove(cd_call *c, MDB_txn *txn, cd_run_dir *d, const unsigned char key[CD_IDX_KEY])
{
    cd_run_family f = cd_run_family_index(c->db);
    unsigned char e[CD_IXRUN_CHUNK * CD_IDX_KEY], val[CD_IXRUN_VALUE_MAX];
    int changed = 0;
    for (size_t r = 0; r < d->n; r++) {
        MDB_cursor *cur;
        int rc = mdb_cursor_open(txn, f.slots[d->run[r].slot], &cur), found;
        if (rc) return cd_fail_mdb(c, rc, "reading an index run");
        MDB_val k, v;
        size_t n = 0, at = CD_IXRUN_CHUNK;
        if ((rc = seek_chunk(cur, key, &k, &v, &found))) goto fail;
        if (found && cd_ixrun_chunk_decode(&k, &v, e, &n)) {
            mdb_cursor_close(cur);
            return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "an index run chunk is damaged");
        }
        for (size_t i = 0; i < n && at == CD_IXRUN_CHUNK; i++)
            if (memcmp(e + i * CD_IDX_KEY, key, CD_IDX_KEY) == 0) at = i;
        if (at < n) {
            /* The chunk goes and comes back without the entry, keyed by its new first entry,
             * which still sorts after the chunk before it and before the one after it. */
            memmove(e + at * CD_IDX_KEY, e + (at + 1) * CD_IDX_KEY, (n - at - 1) * CD_IDX_KEY);
            if ((rc = mdb_cursor_del(cur, 0))) goto fail;
            if (--n) {
                MDB_val nk = { CD_IDX_KEY, e }, nv = { cd_ixrun_chunk_encode(val, e, n), val };
                if ((rc = mdb_cursor_put(cur, &nk, &nv, 0))) goto fail;
            }
            if (d->run[r].postings) d->run[r].postings--;
            changed = 1;
        }
        mdb_cursor_close(cur);
        continue;
    fail:
        mdb_cursor_close(cur);
        return cd_fail_mdb(c, rc, "updating an index run");
    }
    /* The counts steer the merge policy and are checked (claimd --check): kept exact. */
    return changed ? cd_run_dir_store(c, txn, &f, d) : 0;
}

/* ---- merging ---- */

/* One input of a merge step: the entries of the chunk it last took off its run's front, from
 * pos on not yet moved. */
typedef struct {
    MDB_cursor *cur;
    size_t n, pos;
    int done;                          /* its run is empty */
    uint64_t taken;                    /* entries taken off its run in this step, net */
    unsigned char e[CD_IXRUN_CHUNK * CD_IDX_KEY];
} merge_in;

/* Refills in from its run's front chunk when it has moved all it holds. 0 or an LMDB code
 * (MDB_CORRUPTED for a chunk that does not decode). */
static int in_fill(merge_in *in)
{
    if (in->done || in->pos < in->n) return 0;
    MDB_val k, v;
    int rc = mdb_cursor_get(in->cur, &k, &v, MDB_FIRST);
    if (rc == MDB_NOTFOUND) { in->done = 1; return 0; }
    if (rc) return rc;
    if (cd_ixrun_chunk_decode(&k, &v, in->e, &in->n)) return MDB_CORRUPTED;
    in->pos = 0;
    in->taken += in->n;
    return mdb_cursor_del(in->cur, 0);
}

/* Puts what in holds but did not move back at its run's front, as one chunk. */
static int in_put_back(merge_in *in)
{
    if (in->pos >= in->n) return 0;
    size_t n = in->n - in->pos;
    unsigned char val[CD_IXRUN_VALUE_MAX];
    MDB_val k = { CD_IDX_KEY, in->e + in->pos * CD_IDX_KEY }, v = { cd_ixrun_chunk_encode(val, in->e + in->pos * CD_IDX_KEY, n), val };
    in->taken -= n;
    in->pos = in->n;
    return mdb_cursor_put(in->cur, &k, &v, 0);
}

/* Moves up to budget entries of merge job from its inputs to its output (o), smallest first,
 * an entry found in several inputs once; *finished when the inputs are empty. */
static int merge_entries(merge_in *in, size_t nin, chunk_out *o, size_t budget, int *finished)
{
    int rc;
    *finished = 0;
    for (uint64_t moved = 0; moved < budget; moved++) {
        size_t best = nin;
        for (size_t i = 0; i < nin; i++) {
            if ((rc = in_fill(&in[i]))) return rc;
            if (in[i].done) continue;
            if (best == nin || memcmp(in[i].e + in[i].pos * CD_IDX_KEY, in[best].e + in[best].pos * CD_IDX_KEY, CD_IDX_KEY) < 0)
                best = i;
        }
        if (best == nin) { *finished = 1; return 0; }
        const unsigned char *key = in[best].e + in[best].pos * CD_IDX_KEY;
        if ((rc = out_add(o, key))) return rc;
        for (size_t i = 0; i < nin; i++)
            if (i != best && !in[i].done && memcmp(in[i].e + in[i].pos * CD_IDX_KEY, key, CD_IDX_KEY) == 0) in[i].pos++;
        in[best].pos++;
    }
    for (size_t i = 0; i < nin; i++)
        if ((rc = in_put_back(&in[i]))) return rc;
    return 0;
}

int cd_ixruns_merge_step(cd_call *c, MDB_txn *txn, size_t budget, cd_run_step *res)
{
    cd_run_family f = cd_run_family_index(c->db);
    cd_run_dir d;
    memset(res, 0, sizeof *res);
    if (cd_run_dir_load(c, txn, &f, &d) || cd_run_merge_start(c, txn, &f, &d)) return -1;
    uint8_t job = cd_run_next_job(&d);
    if (!job) return 0;
    size_t out_i, nin, in_i[CD_RUN_SLOTS], opened = 0;
    if (cd_run_job_members(c, &f, &d, job, in_i, &nin, &out_i)) return -1;
    merge_in *in = calloc(nin ? nin : 1, sizeof *in);
    chunk_out *o = calloc(1, sizeof *o);
    int rc = 0, finished = 0;
    if (!in || !o) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); goto done; }
    o->flags = MDB_APPEND;
    if ((rc = mdb_cursor_open(txn, f.slots[d.run[out_i].slot], &o->cur))) { o->cur = NULL; goto done; }
    for (; opened < nin; opened++)
        if ((rc = mdb_cursor_open(txn, f.slots[d.run[in_i[opened]].slot], &in[opened].cur))) goto done;
    if ((rc = merge_entries(in, nin, o, budget ? budget : 1, &finished)) || (rc = out_flush(o))) goto done;
    for (size_t i = 0; i < nin; i++) {
        uint64_t *p = &d.run[in_i[i]].postings;
        *p = *p > in[i].taken ? *p - in[i].taken : 0;
    }
    d.run[out_i].postings += o->added;
    if (finished) cd_run_job_finish(&d, job, out_i);
    if (cd_run_dir_store(c, txn, &f, &d)) goto done;
    res->finished = finished;
    res->more = cd_run_more(&d);
    res->moved = o->added;
done:
    if (rc && !c->err) {
        if (rc == MDB_CORRUPTED) cd_fail(c, CLAIMD_E_INTERNAL, NULL, "an index run chunk is damaged");
        else cd_fail_mdb(c, rc, "merging index runs");
    }
    for (size_t i = 0; i < opened; i++) mdb_cursor_close(in[i].cur);
    if (o && o->cur) mdb_cursor_close(o->cur);
    free(in);
    free(o);
    return c->err ? -1 : 0;
}

/* ---- the format 7 upgrade ---- */

int cd_ixruns_from_table(cd_db *db, MDB_txn *txn, MDB_dbi old, uint64_t *moved)
{
    cd_run_family f = cd_run_family_index(db);
    MDB_cursor *src = NULL;
    chunk_out *o = calloc(1, sizeof *o);
    int rc = o ? 0 : ENOMEM;
    *moved = 0;
    for (int s = 0; !rc && s < CD_RUN_SLOTS; s++) rc = mdb_drop(txn, f.slots[s], 0);
    if (!rc) rc = mdb_cursor_open(txn, old, &src);
    if (!rc) {
        o->flags = MDB_APPEND;
        rc = mdb_cursor_open(txn, f.slots[0], &o->cur);
        if (rc) o->cur = NULL;
    }
    MDB_val k, v;
    unsigned char e[CD_IDX_KEY];
    for (int op = MDB_FIRST; !rc; op = MDB_NEXT) {
        if ((rc = mdb_cursor_get(src, &k, &v, op))) break;
        if (k.mv_size != CD_IDX_PREFIX || v.mv_size != CD_IDX_KEY - CD_IDX_PREFIX) { rc = MDB_CORRUPTED; break; }
        memcpy(e, k.mv_data, CD_IDX_PREFIX);
        memcpy(e + CD_IDX_PREFIX, v.mv_data, CD_IDX_KEY - CD_IDX_PREFIX);
        rc = out_add(o, e);
    }
    if (rc == MDB_NOTFOUND) rc = out_flush(o);
    if (!rc) {
        cd_run_dir d = { 0 };
        if (o->added) d.run[d.n++] = (cd_run_info){ 0, CD_RUN_LIVE, 0, o->added };
        rc = cd_run_dir_put(txn, &f, &d);
        *moved = o->added;
    }
    if (src) mdb_cursor_close(src);
    if (o && o->cur) mdb_cursor_close(o->cur);
    free(o);
    return rc;
}
