/* ixplan: an index pass built from a snapshot, then applied by the writer (see ixplan.h). */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "grow.h"
#include "history.h"
#include "index_runs.h"
#include "ixplan.h"
#include "record.h"
#include "search.h"
#include "search_runs.h"

/* What the pass does for one claim, beyond the builders' additions. */
typedef struct {
    uint64_t id;
    uint32_t rev;                  /* ix_revs: the revision its entries are now made from */
    size_t unindex_at, nunindex;   /* its entries to remove: keys[unindex_at ...] */
    int search;                    /* its forward record changes (old_*, fwd_* below) */
    int have_old, have_fwd;
    size_t old_at, old_len, fwd_at, fwd_len; /* in bytes[] */
} plan_claim;

struct cd_ixplan {
    uint64_t from, last;
    int more;
    plan_claim *claims;
    size_t nclaims, claims_cap;
    unsigned char (*keys)[CD_IDX_KEY];
    size_t nkeys, keys_cap;
    unsigned char *bytes;
    size_t nbytes, bytes_cap;
    cd_run_builder *postings;
    cd_ixrun_builder *ixruns;
};

cd_ixplan *cd_ixplan_new(void)
{
    cd_ixplan *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (!(p->postings = cd_run_builder_new()) || !(p->ixruns = cd_ixrun_builder_new())) {
        cd_ixplan_free(p);
        return NULL;
    }
    return p;
}

void cd_ixplan_free(cd_ixplan *p)
{
    if (!p) return;
    cd_run_builder_free(p->postings);
    cd_ixrun_builder_free(p->ixruns);
    free(p->claims);
    free(p->keys);
    free(p->bytes);
    free(p);
}

void cd_ixplan_clear(cd_ixplan *p)
{
    p->from = p->last = 0;
    p->more = 0;
    p->nclaims = p->nkeys = p->nbytes = 0;
    cd_run_builder_clear(p->postings);
    cd_ixrun_builder_clear(p->ixruns);
}

uint64_t cd_ixplan_last(const cd_ixplan *p) { return p->last; }
int cd_ixplan_more(const cd_ixplan *p) { return p->more; }
cd_ixrun_builder *cd_ixplan_ixruns(cd_ixplan *p) { return p->ixruns; }
cd_run_builder *cd_ixplan_postings(cd_ixplan *p) { return p->postings; }

static int out_of_memory(cd_call *c)
{
    return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
}

int cd_ixplan_unindex(cd_call *c, cd_ixplan *p, const unsigned char key[CD_IDX_KEY])
{
    if (cd_grow((void **)&p->keys, &p->keys_cap, p->nkeys + 1, CD_IDX_KEY)) return out_of_memory(c);
    memcpy(p->keys[p->nkeys++], key, CD_IDX_KEY);
    p->claims[p->nclaims - 1].nunindex++;
    return 0;
}

/* Appends n bytes to the plan's byte store; their offset in *at. */
static int keep_bytes(cd_call *c, cd_ixplan *p, const void *b, size_t n, size_t *at)
{
    if (cd_grow((void **)&p->bytes, &p->bytes_cap, p->nbytes + n, 1)) return out_of_memory(c);
    if (n) memcpy(p->bytes + p->nbytes, b, n);
    *at = p->nbytes;
    p->nbytes += n;
    return 0;
}

int cd_ixplan_search(cd_call *c, cd_ixplan *p, const void *old, size_t old_len, const void *fwd,
                     size_t fwd_len)
{
    plan_claim *pc = &p->claims[p->nclaims - 1];
    pc->search = 1;
    pc->have_old = old != NULL;
    pc->have_fwd = fwd != NULL;
    pc->old_len = old ? old_len : 0;
    pc->fwd_len = fwd ? fwd_len : 0;
    if (old && keep_bytes(c, p, old, old_len, &pc->old_at)) return -1;
    return fwd ? keep_bytes(c, p, fwd, fwd_len, &pc->fwd_at) : 0;
}

static const MDB_val indexed_key = { 7, (void *)"indexed" };

uint64_t cd_ixplan_indexed(const cd_db *db, MDB_txn *txn)
{
    MDB_val k = indexed_key, v;
    if (mdb_get(txn, db->dbi[CD_DBI_META], &k, &v) || v.mv_size != 8) return 0;
    return cd_get_u64be(v.mv_data);
}

/* The claim ids of up to max changes after seq `from` (sorted, unique, malloc'd in *ids), the
 * last seq read in *last and whether more changes follow in *more. 0 or -1 (error set). */
static int changed_claims(cd_call *c, MDB_txn *txn, uint64_t from, size_t max, uint64_t **ids,
                          size_t *n, uint64_t *last, int *more)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, c->db->dbi[CD_DBI_CHANGES], &cur);
    if (rc) return cd_fail_mdb(c, rc, "reading changes");
    unsigned char key[8];
    cd_put_u64be(key, from + 1);
    MDB_val k = { 8, key }, v;
    uint64_t *out = malloc((max ? max : 1) * sizeof *out);
    size_t got = 0, seen = 0;
    *last = from;
    if (!out) { mdb_cursor_close(cur); return out_of_memory(c); }
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && seen < max;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), seen++) {
        msgpack_object o;
        if (k.mv_size != 8 || cd_rec_unpack(c, &v, 4, &o)) { rc = -1; break; }
        *last = cd_get_u64be(k.mv_data);
        const msgpack_object *f = o.via.array.ptr;
        cd_str type = cd_rec_str(&f[2]);
        if (type.n == 5 && memcmp(type.p, "claim", 5) == 0) out[got++] = cd_rec_u64(&f[3]);
    }
    mdb_cursor_close(cur);
    if (rc == -1 || (rc && rc != MDB_NOTFOUND)) {
        free(out);
        return rc == -1 ? -1 : cd_fail_mdb(c, rc, "reading changes");
    }
    *more = rc == 0;
    if (got) qsort(out, got, sizeof *out, cd_cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < got; i++)
        if (!u || out[u - 1] != out[i]) out[u++] = out[i];
    *ids = out;
    *n = u;
    return 0;
}

/* Plans moving claim id's index entries from the revision they were made from to its current
 * one. */
static int plan_claim_of(cd_call *c, MDB_txn *txn, cd_ixplan *p, uint64_t id)
{
    cd_claim cur, old;
    int rc = cd_claim_load(c, txn, id, &cur);
    if (rc == MDB_NOTFOUND) return 0;               /* never committed: nothing to index */
    if (rc) return -1;
    unsigned char key[8];
    cd_put_u64be(key, id);
    MDB_val k = { 8, key }, v;
    uint32_t made_from = 0;
    rc = mdb_get(txn, c->db->dbi[CD_DBI_IX_REVS], &k, &v);
    if (rc == 0 && v.mv_size == 4) made_from = cd_get_u32be(v.mv_data);
    else if (rc && rc != MDB_NOTFOUND) return cd_fail_mdb(c, rc, "reading index state");
    if (made_from == cur.rev) return 0;               /* a change that kept the revision */
    int have_old = 0;
    if (made_from) {
        rc = cd_history_rev(c, txn, id, made_from, &old);
        if (rc && rc != MDB_NOTFOUND) return -1;
        have_old = rc == 0;
    }
    if (cd_grow((void **)&p->claims, &p->claims_cap, p->nclaims + 1, sizeof *p->claims)) return out_of_memory(c);
    p->claims[p->nclaims++] = (plan_claim){ .id = id, .rev = cur.rev, .unindex_at = p->nkeys };
    return cd_index_plan(c, p, have_old ? &old : NULL, &cur) ||
           cd_search_index_plan(c, txn, p, have_old ? &old : NULL, &cur) ? -1 : 0;
}

int cd_ixplan_build(cd_call *c, MDB_txn *txn, cd_ixplan *p, size_t max, cd_ixplan_renew_fn renew, void *arg)
{
    cd_ixplan_clear(p);
    uint64_t *ids = NULL;
    size_t n = 0;
    p->from = p->last = cd_ixplan_indexed(c->db, txn);
    if (changed_claims(c, txn, p->from, max, &ids, &n, &p->last, &p->more)) return -1;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        if (renew && i && i % CD_IXPLAN_RENEW_EVERY == 0 && (rc = renew(arg, &txn))) {
            cd_fail_mdb(c, rc, "renewing a read transaction");
            rc = -1;
            break;
        }
        /* A pass loads thousands of claims: give back each one's memory (an internal call's
         * own params and result are not in use while a pass runs in it). */
        if (!c->method) {
            cd_call_reset(c);
            msgpack_zone_clear(&c->zone);
        }
        rc = plan_claim_of(c, txn, p, ids[i]);
    }
    free(ids);
    if (rc) cd_ixplan_clear(p);
    return rc;
}

/* Writes one claim's part of the plan (its ix_revs put goes through the cursor, in id order). */
static int apply_claim(cd_call *c, MDB_txn *txn, cd_ixplan *p, const plan_claim *pc, MDB_cursor *revs)
{
    if (pc->nunindex && cd_index_unindex(c, txn, (const unsigned char (*)[CD_IDX_KEY])p->keys[pc->unindex_at],
                                         pc->nunindex))
        return -1;
    if (pc->search && cd_search_index_apply(c, txn, pc->id, pc->have_old ? p->bytes + pc->old_at : NULL,
                                            pc->old_len, pc->have_fwd ? p->bytes + pc->fwd_at : NULL,
                                            pc->fwd_len))
        return -1;
    unsigned char key[8], rev[4];
    cd_put_u64be(key, pc->id);
    cd_put_u32be(rev, pc->rev);
    MDB_val k = { 8, key }, v = { 4, rev };
    int rc = mdb_cursor_put(revs, &k, &v, 0);
    return rc ? cd_fail_mdb(c, rc, "recording index state") : 0;
}

int cd_ixplan_apply(cd_call *c, MDB_txn *txn, cd_ixplan *p, uint64_t *written)
{
    cd_db *db = c->db;
    *written = 0;
    if (cd_ixplan_indexed(db, txn) != p->from) {
        cd_ixplan_clear(p);
        return CD_IXPLAN_STALE;
    }
    MDB_cursor *revs = NULL;
    int rc = mdb_cursor_open(txn, db->dbi[CD_DBI_IX_REVS], &revs);
    if (rc) { cd_ixplan_clear(p); return cd_fail_mdb(c, rc, "recording index state"); }
    for (size_t i = 0; i < p->nclaims && !rc; i++) rc = apply_claim(c, txn, p, &p->claims[i], revs);
    mdb_cursor_close(revs);
    /* The pass's postings and index entries become one run each; on failure the txn is
     * aborted, so are they. */
    uint64_t postings = 0, entries = 0;
    if (rc || cd_runs_flush(c, p->postings, txn, &postings) || cd_ixruns_flush(c, p->ixruns, txn, &entries)) {
        cd_ixplan_clear(p);
        return -1;
    }
    *written = postings + entries;
    uint64_t last = p->last, from = p->from;
    cd_ixplan_clear(p);
    if (last == from) return 0;
    unsigned char seq[8];
    cd_put_u64be(seq, last);
    MDB_val k = indexed_key, v = { 8, seq };
    if ((rc = mdb_put(txn, db->dbi[CD_DBI_META], &k, &v, 0))) return cd_fail_mdb(c, rc, "recording index state");
    return 0;
}
