/* ixpass: the index pass (see ixpass.h). */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "claim.h"
#include "db.h"
#include "history.h"
#include "index.h"
#include "index_runs.h"
#include "ixpass.h"
#include "record.h"
#include "search.h"
#include "search_runs.h"
#include "server.h"
#include "wbuf.h"

static const MDB_val indexed_key = { 7, (void *)"indexed" };

uint64_t cd_ixpass_indexed(cd_server *srv, MDB_txn *txn)
{
    MDB_val k = indexed_key, v;
    if (mdb_get(txn, srv->db.dbi[CD_DBI_META], &k, &v) || v.mv_size != 8) return 0;
    return cd_get_u64be(v.mv_data);
}

/* The claim ids of up to max changes after seq `from` (sorted, unique, malloc'd in *ids), the
 * last seq read in *last and whether more changes follow in *more. 0 or -1 (error set). */
static int changed_claims(cd_call *c, MDB_txn *txn, uint64_t from, size_t max, uint64_t **ids,
                          size_t *n, uint64_t *last, int *more)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, c->srv->db.dbi[CD_DBI_CHANGES], &cur);
    if (rc) return cd_fail_mdb(c, rc, "reading changes");
    unsigned char key[8];
    cd_put_u64be(key, from + 1);
    MDB_val k = { 8, key }, v;
    uint64_t *out = malloc(max * sizeof *out);
    size_t got = 0, seen = 0;
    *last = from;
    if (!out) { mdb_cursor_close(cur); return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); }
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
    qsort(out, got, sizeof *out, cd_cmp_u64);
    size_t u = 0;
    for (size_t i = 0; i < got; i++)
        if (!u || out[u - 1] != out[i]) out[u++] = out[i];
    *ids = out;
    *n = u;
    return 0;
}

/* Moves claim id's index entries from the revision they were made from to its current one. */
static int index_claim(cd_call *c, MDB_txn *txn, uint64_t id)
{
    cd_claim cur, old;
    int rc = cd_claim_load(c, txn, id, &cur);
    if (rc == MDB_NOTFOUND) return 0;               /* never committed: nothing to index */
    if (rc) return -1;
    unsigned char key[8], rev[4];
    cd_put_u64be(key, id);
    MDB_val k = { 8, key }, v;
    MDB_dbi revs = c->srv->db.dbi[CD_DBI_IX_REVS];
    uint32_t made_from = 0;
    rc = mdb_get(txn, revs, &k, &v);
    if (rc == 0 && v.mv_size == 4) made_from = cd_get_u32be(v.mv_data);
    else if (rc && rc != MDB_NOTFOUND) return cd_fail_mdb(c, rc, "reading index state");
    if (made_from == cur.rev) return 0;               /* a change that kept the revision */
    int have_old = 0;
    if (made_from) {
        rc = cd_history_rev(c, txn, id, made_from, &old);
        if (rc && rc != MDB_NOTFOUND) return -1;
        have_old = rc == 0;
    }
    if (cd_index_update(c, txn, have_old ? &old : NULL, &cur) ||
        cd_search_index_update(c, txn, have_old ? &old : NULL, &cur))
        return -1;
    cd_put_u32be(rev, cur.rev);
    return cd_wbuf_put(c, c->srv->wbuf, revs, key, 8, rev, 4, 0);
}

int cd_ixpass_run(cd_call *c, MDB_txn *txn, size_t max, int *more)
{
    cd_server *srv = c->srv;
    uint64_t from = cd_ixpass_indexed(srv, txn), last = from, *ids = NULL;
    size_t n = 0;
    *more = 0;
    if (changed_claims(c, txn, from, max, &ids, &n, &last, more)) return -1;
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        /* A pass loads thousands of claims: give back each one's memory (the call's own
         * params and result are not in use while a pass runs in it). */
        if (!c->method) {
            cd_call_reset(c);
            msgpack_zone_clear(&c->zone);
        }
        rc = index_claim(c, txn, ids[i]);
    }
    free(ids);
    uint64_t written = 0, ix_written = 0;
    /* The pass's postings and index entries become one run each; on failure the txn is
     * aborted, so are they. */
    if (rc || cd_runs_flush(c, srv->runs, txn, &written) || cd_ixruns_flush(c, srv->ixruns, txn, &ix_written) ||
        cd_wbuf_flush(c, srv->wbuf, txn)) {
        cd_run_builder_clear(srv->runs);
        cd_ixrun_builder_clear(srv->ixruns);
        return -1;
    }
    if (last == from) return 0;
    unsigned char seq[8];
    cd_put_u64be(seq, last);
    MDB_val k = indexed_key, v = { 8, seq };
    if ((rc = mdb_put(txn, srv->db.dbi[CD_DBI_META], &k, &v, 0))) return cd_fail_mdb(c, rc, "recording index state");
    srv->ix.pend_indexed = last;
    srv->ix.pend_postings += written + ix_written;
    return 0;
}

int cd_ixpass_catch_up(cd_call *c, MDB_txn *txn)
{
    /* Normally a pass and a batch behind; far more means passes are failing, and one call's
     * txn and memory should not take on the whole backlog. */
    int more = 1;
    for (int i = 0; more; i++) {
        if (i == CD_IX_CATCH_UP_PASSES)
            return cd_fail(c, CLAIMD_E_BUSY, NULL, "the index is far behind the writes; retry later");
        if (cd_ixpass_run(c, txn, CD_IX_PASS_MAX, &more)) return -1;
    }
    return 0;
}
