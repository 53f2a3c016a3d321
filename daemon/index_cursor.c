/* index_cursor: one ordered cursor over every claim index run (index_runs.h).
 *
 * Each run has a cursor of its own on the chunk it is in, with that chunk decoded; the merged
 * cursor returns the smallest (moving forward) or largest (moving back) of the runs' current
 * entries. Moving forward, every run stands on its first entry after the one last returned;
 * back, on its last entry before it. A change of direction places every run again from the
 * entry last returned, so any mix of NEXT and PREV is exact. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "index_runs.h"

typedef struct {
    MDB_cursor *cur;
    size_t n, pos;                     /* the decoded chunk and the entry the run stands on */
    int valid;                         /* pos names an entry (0: the run is past its end) */
    unsigned char e[CD_IXRUN_CHUNK * CD_IDX_KEY];
} run_pos;

struct cd_ixcur {
    size_t nruns;
    int dir;                           /* 1 forward, -1 back, 0 not placed */
    unsigned char last[CD_IDX_KEY];    /* the entry last returned */
    run_pos run[];
};

cd_ixcur *cd_ixcur_open(MDB_txn *txn, const cd_db *db, const cd_run_dir *d, int *rc)
{
    /* malloc: the chunk buffers (1.6 KB a run) are written before they are read */
    cd_ixcur *x = malloc(sizeof *x + d->n * sizeof x->run[0]);
    *rc = 0;
    if (!x) { *rc = ENOMEM; return NULL; }
    x->nruns = 0;
    x->dir = 0;
    for (size_t i = 0; i < d->n; i++) {
        x->run[i].valid = 0;
        x->run[i].n = x->run[i].pos = 0;
        if ((*rc = mdb_cursor_open(txn, db->ixrun_slots[d->run[i].slot], &x->run[i].cur))) {
            cd_ixcur_close(x);
            return NULL;
        }
        x->nruns++;
    }
    return x;
}

void cd_ixcur_close(cd_ixcur *x)
{
    if (!x) return;
    for (size_t i = 0; i < x->nruns; i++) mdb_cursor_close(x->run[i].cur);
    free(x);
}

/* Decodes the chunk r's LMDB cursor moved to with op (rc NOTFOUND: r is past its end). */
static int load(run_pos *r, MDB_cursor_op op, int at_last)
{
    MDB_val k, v;
    int rc = mdb_cursor_get(r->cur, &k, &v, op);
    r->valid = 0;
    if (rc == MDB_NOTFOUND) return 0;
    if (rc) return rc;
    if (cd_ixrun_chunk_decode(&k, &v, r->e, &r->n)) return MDB_CORRUPTED;
    r->pos = at_last ? r->n - 1 : 0;
    r->valid = 1;
    return 0;
}

static const unsigned char *entry(const run_pos *r) { return r->e + r->pos * CD_IDX_KEY; }

/* Places r on its first entry >= key: in the last chunk starting at or before key, else the
 * first entry of the chunk after it. */
static int seek_ge(run_pos *r, const unsigned char *key)
{
    MDB_val k, v;
    int rc = cd_ixrun_seek_le(r->cur, key, &k, &v);
    if (rc == MDB_NOTFOUND) return load(r, MDB_FIRST, 0);    /* every chunk starts after key */
    if (rc || (rc = load(r, MDB_GET_CURRENT, 0))) return rc;
    while (r->pos < r->n && memcmp(entry(r), key, CD_IDX_KEY) < 0) r->pos++;
    return r->pos < r->n ? 0 : load(r, MDB_NEXT, 0);
}

static int step_next(run_pos *r)
{
    if (++r->pos < r->n) return 0;
    return load(r, MDB_NEXT, 0);
}

static int step_prev(run_pos *r)
{
    if (r->pos > 0) { r->pos--; return 0; }
    return load(r, MDB_PREV, 1);
}

/* Places r on its last entry < key. */
static int seek_lt(run_pos *r, const unsigned char *key)
{
    int rc = seek_ge(r, key);
    if (rc) return rc;
    return r->valid ? step_prev(r) : load(r, MDB_LAST, 1);
}

/* The run whose entry comes first in direction dir, or nruns when every run is at its end. */
static size_t pick(const cd_ixcur *x, int dir)
{
    size_t best = x->nruns;
    for (size_t i = 0; i < x->nruns; i++) {
        if (!x->run[i].valid) continue;
        int cmp = best == x->nruns ? -1 : memcmp(entry(&x->run[i]), entry(&x->run[best]), CD_IDX_KEY);
        if (dir > 0 ? cmp < 0 : best == x->nruns || cmp > 0) best = i;
    }
    return best;
}

int cd_ixcur_get(cd_ixcur *x, unsigned char key[CD_IDX_KEY], MDB_cursor_op op)
{
    int rc = 0, dir = op == MDB_PREV || op == MDB_LAST ? -1 : 1;
    if ((op == MDB_NEXT || op == MDB_PREV) && !x->dir) return EINVAL;
    for (size_t i = 0; i < x->nruns && !rc; i++) {
        run_pos *r = &x->run[i];
        switch (op) {
        case MDB_SET_RANGE: rc = seek_ge(r, key); break;
        case MDB_FIRST: rc = load(r, MDB_FIRST, 0); break;
        case MDB_LAST: rc = load(r, MDB_LAST, 1); break;
        case MDB_NEXT:
            if (x->dir != 1) rc = seek_ge(r, x->last);
            /* every run on the entry just returned moves past it: an entry in two runs once */
            if (!rc && r->valid && memcmp(entry(r), x->last, CD_IDX_KEY) == 0) rc = step_next(r);
            break;
        case MDB_PREV:
            if (x->dir != -1) rc = seek_lt(r, x->last);
            else if (r->valid && memcmp(entry(r), x->last, CD_IDX_KEY) == 0) rc = step_prev(r);
            break;
        default: return EINVAL;
        }
    }
    if (rc) { x->dir = 0; return rc; }
    size_t best = pick(x, dir);
    if (best == x->nruns) { x->dir = 0; return MDB_NOTFOUND; }
    x->dir = dir;
    memcpy(x->last, entry(&x->run[best]), CD_IDX_KEY);
    memcpy(key, x->last, CD_IDX_KEY);
    return 0;
}
