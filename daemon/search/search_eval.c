/* search_eval: conjunctive BM25 top-k with block-max and MaxScore-style early termination. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "log.h"
#include "search_eval.h"
#include "record.h"
#include "search_plist.h"

/* Bounds are compared with a little slack so that rounding never prunes a claim whose exact
 * score (summed in another order) would tie or beat the threshold. */
#define BOUND_SLACK (1.0 + 1e-9)

typedef struct {
    cd_call *c;
    MDB_txn *txn;
    cd_search_run *r;
    cd_shit *heap;                 /* min-heap: the worst kept hit on top */
    size_t nheap;
    int pruning;
    uint64_t counted;              /* matches counted while exhaustive */
    uint64_t examined;             /* driver postings looked at while exhaustive */
    uint64_t driver_total;         /* driver postings of every active space */
    size_t prefix_budget;          /* postings prefixes may still materialise */
    cd_run_dir dir;                /* the search runs, read once for every clause of every space */
    msgpack_zone scratch;          /* claims loaded for filter checks */
    int stop;                      /* past max_id, or a probed list ran out: this space is done */
    /* Work counters, logged at debug level: how much early termination saved. */
    uint64_t n_blocks, n_blocks_disjoint, n_blocks_pruned, n_postings, n_pruned, n_probes, n_full;
} eval_state;

int cd_search_hit_before(const cd_shit *a, const cd_shit *b)
{
    return a->score > b->score || (a->score == b->score && a->id < b->id);
}

static void heap_down(cd_shit *h, size_t n, size_t i)
{
    for (;;) {
        size_t w = i, l = 2 * i + 1, r = l + 1;
        if (l < n && cd_search_hit_before(&h[w], &h[l])) w = l;
        if (r < n && cd_search_hit_before(&h[w], &h[r])) w = r;
        if (w == i) return;
        cd_shit t = h[i]; h[i] = h[w]; h[w] = t;
        i = w;
    }
}

static void heap_push(eval_state *st, const cd_shit *hit)
{
    cd_shit *h = st->heap;
    if (st->nheap < st->r->k) {
        size_t i = st->nheap++;
        h[i] = *hit;
        while (i > 0 && cd_search_hit_before(&h[(i - 1) / 2], &h[i])) {
            cd_shit t = h[i]; h[i] = h[(i - 1) / 2]; h[(i - 1) / 2] = t;
            i = (i - 1) / 2;
        }
    } else if (cd_search_hit_before(hit, &h[0])) {
        h[0] = *hit;
        heap_down(h, st->nheap, 0);
    }
}

/* The score a claim must beat to enter the heap (only meaningful while pruning). */
static double threshold(const eval_state *st)
{
    return st->nheap == st->r->k ? st->heap[0].score : -INFINITY;
}

static int can_enter(const eval_state *st, const cd_shit *hit)
{
    const cd_search_run *r = st->r;
    if (r->has_after) {
        cd_shit after = { r->after_score, r->after_id, 0 };
        if (!cd_search_hit_before(&after, hit)) return 0;   /* already on an earlier page */
    }
    return st->nheap < r->k || cd_search_hit_before(hit, &st->heap[0]);
}

static int is_member(const cd_search_run *r, uint64_t id)
{
    size_t lo = 0, hi = r->nmembers;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->members[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < r->nmembers && r->members[lo] == id;
}

/* Whether claim id contains every phrase of plan. 1, 0, or -1 (error set). */
static int phrases_ok(eval_state *st, const cd_qplan *plan, uint64_t id)
{
    unsigned char key[8];
    cd_put_u64be(key, id);
    MDB_val k = { 8, key }, v;
    int rc = mdb_get(st->txn, st->c->db->dbi[CD_DBI_SEARCH_DOCS], &k, &v);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc) return cd_fail_mdb(st->c, rc, "reading a forward record");
    cd_search_fwd f;
    if (cd_rec_plain(st->c, &v)) return -1;
    if (cd_search_fwd_open(&f, v.mv_data, v.mv_size)) return 0;
    for (int i = 0; i < plan->nphrases; i++) {
        int in = cd_search_phrase_in(plan, &plan->phrase[i], &f);
        if (in < 0) return cd_fail(st->c, CLAIMD_E_INTERNAL, NULL, "out of memory");
        if (!in) return 0;
    }
    return 1;
}

/* Whether claim id passes the filters that need its record. 1, 0, or -1 (error set). */
static int filter_ok(eval_state *st, uint64_t id)
{
    cd_claim cl;
    int rc = cd_search_claim_peek(st->c, st->txn, &st->scratch, id, &cl);
    int ok = rc == 0 && cd_filter_match(st->r->filter, &cl);
    msgpack_zone_clear(&st->scratch);
    return rc < 0 ? -1 : ok;
}

/* Per-space scoring constants. */
typedef struct {
    int n;                                   /* clauses */
    int order[CD_SEARCH_CLAUSES_MAX];        /* clause indexes, fewest postings first */
    double idf[CD_SEARCH_CLAUSES_MAX];
    double k[256];
    double drv_tf1[256];                     /* the driver's score at tf 1, per length code */
} scoring;

static double block_bound(const scoring *sc, int j, const cd_sblock *b)
{
    double tf = b->maxtf ? b->maxtf : 1;
    return sc->idf[j] * tf * (CD_SEARCH_BM25_K1 + 1) / (tf + sc->k[b->minnorm]);
}

static double posting_score(const scoring *sc, int j, const unsigned char *p)
{
    return cd_search_bm25(sc->idf[j], cd_search_posting_tf(p), sc->k[cd_search_posting_norm(p)]);
}

/* Counts a verified match while exhaustive; switches to pruning past CD_SEARCH_EXACT_TOTAL. */
static void count_match(eval_state *st)
{
    if (st->pruning) return;
    if (++st->counted > CD_SEARCH_EXACT_TOTAL) st->pruning = 1;
}

/* Scores one claim of the driver's block; -1 on error, else 0. */
static int score_claim(eval_state *st, cd_sspace *sp, uint32_t si, const scoring *sc, cd_plist *lists,
                       const double *bnd, const unsigned char *p)
{
    const cd_search_run *r = st->r;
    uint64_t id = cd_search_posting_id(p);
    double s[CD_SEARCH_CLAUSES_MAX], rest = 0, partial;
    int d = sc->order[0];
    if (!st->pruning) st->examined++;
    st->n_postings++;
    if (cd_search_posting_retracted(p) && !r->filter->include_retracted) return 0;
    if (r->use_members && !is_member(r, id)) return 0;
    /* Most postings have tf 1: their driver score is looked up (the same expression, computed
     * once per length code), sparing a division in the loop over every driver posting. */
    s[d] = partial = cd_search_posting_tf(p) == 1 ? sc->drv_tf1[cd_search_posting_norm(p)] : posting_score(sc, d, p);
    for (int m = 1; m < sc->n; m++) rest += bnd[sc->order[m]];
    for (int m = 1; m < sc->n; m++) {
        int j = sc->order[m];
        if (st->pruning && (partial + rest) * BOUND_SLACK < threshold(st)) { st->n_pruned++; return 0; }
        st->n_probes++;
        const unsigned char *q = cd_plist_seek(&lists[j], id);
        if (!q) { st->stop = 1; return 0; }            /* a list ran out: nothing more matches */
        if (cd_search_posting_id(q) != id) return 0;
        s[j] = posting_score(sc, j, q);
        partial += s[j];
        rest -= bnd[j];
    }
    /* The reported score sums in query order, so every page computes it bit for bit alike. */
    st->n_full++;
    cd_shit hit = { 0, id, si };
    for (int j = 0; j < sc->n; j++) hit.score += s[j];
    int enters = can_enter(st, &hit);
    if (st->pruning && !enters) return 0;
    if (sp->plan.nphrases) {
        int ok = phrases_ok(st, &sp->plan, id);
        if (ok <= 0) return ok;
    }
    if (r->filter_on_claim) {
        int ok = filter_ok(st, id);
        if (ok <= 0) return ok;
    }
    count_match(st);
    if (enters) heap_push(st, &hit);
    return 0;
}

static int by_df(const cd_sspace *sp, int a, int b)
{
    return sp->df[a] != sp->df[b] ? (sp->df[a] < sp->df[b] ? -1 : 1) : a - b;
}

static int eval_space(eval_state *st, cd_sspace *sp, uint32_t si)
{
    cd_call *c = st->c;
    cd_plist lists[CD_SEARCH_CLAUSES_MAX];
    scoring sc;
    int rc = 0;
    sc.n = sp->plan.nclauses;
    memset(lists, 0, sizeof lists);
    sp->active = sc.n > 0;
    /* Every clause must match: once one has no postings in this space, the space has no hit
     * and the other clauses are not opened (a query in one language meets every other
     * language's space, where its words are mostly absent: each open seeks every run). */
    for (int j = 0; j < sc.n && !rc && sp->active; j++) {
        const cd_qclause *cl = &sp->plan.clause[j];
        rc = cl->kind == CD_CLAUSE_PREFIX ? cd_plist_open_prefix(c, st->txn, &st->dir, &lists[j], sp->tag, cl->term,
                                                                 cl->len, &st->prefix_budget)
                                          : cd_plist_open_term(c, st->txn, &st->dir, &lists[j], sp->tag, cl->term, cl->len);
        if (!sp->frozen) sp->df[j] = lists[j].df;
        if (!lists[j].df || !sp->df[j]) sp->active = 0;
    }
    if (rc || !sp->active) goto out;

    for (int j = 0; j < sc.n; j++) {
        sc.idf[j] = cd_search_idf(sp->ndocs, sp->df[j]);
        int m = j;                                   /* insertion sort by df */
        while (m > 0 && by_df(sp, sc.order[m - 1], j) > 0) { sc.order[m] = sc.order[m - 1]; m--; }
        sc.order[m] = j;
    }
    cd_search_norm_table(sc.k, sp->ndocs, sp->ntokens);
    int d = sc.order[0];
    for (int i = 0; i < 256; i++) sc.drv_tf1[i] = cd_search_bm25(sc.idf[d], 1, sc.k[i]);
    cd_plist *drv = &lists[d];
    if (cd_plist_scan_blocks(c, drv)) { rc = -1; goto out; }   /* the others' blocks are read lazily */
    uint64_t examined_before = st->examined;
    st->driver_total += sp->df[d];
    st->stop = 0;
    for (size_t b = 0; b < drv->nblocks && !st->stop && !c->err; b++) {
        const cd_sblock *blk = &drv->blocks[b];
        uint64_t first = (uint64_t)blk->block << CD_SEARCH_BLOCK_SHIFT;
        if (first > st->r->max_id) break;
        double bnd[CD_SEARCH_CLAUSES_MAX], ub = block_bound(&sc, d, blk);
        int disjoint = 0;
        st->n_blocks++;
        for (int m = 1; m < sc.n && !disjoint; m++) {
            int j = sc.order[m];
            const cd_sblock *o = cd_plist_block(&lists[j], blk->block);
            if (!o) disjoint = 1;
            else ub += bnd[j] = block_bound(&sc, j, o);
        }
        if (disjoint) {
            st->n_blocks_disjoint++;
            /* No claim here has every word. While counting exactly, the driver's postings in
             * the block still count as examined (a page read, no probing of other lists). */
            if (!st->pruning)
                for (const unsigned char *p = cd_plist_seek(drv, first);
                     p && cd_search_posting_id(p) >> CD_SEARCH_BLOCK_SHIFT == blk->block; p = cd_plist_next(drv))
                    st->examined++;
            continue;
        }
        if (st->pruning && ub * BOUND_SLACK < threshold(st)) { st->n_blocks_pruned++; continue; }
        for (const unsigned char *p = cd_plist_seek(drv, first); p && !c->err; p = cd_plist_next(drv)) {
            uint64_t id = cd_search_posting_id(p);
            if (id >> CD_SEARCH_BLOCK_SHIFT != blk->block) break;
            if (id > st->r->max_id) { st->stop = 1; break; }
            if (score_claim(st, sp, si, &sc, lists, bnd, p)) { rc = -1; break; }
        }
    }
    /* Still exhaustive: every driver posting of the space was decided, read or not. */
    if (!st->pruning) st->examined = examined_before + sp->df[d];
out:
    for (int j = 0; j < sc.n; j++) cd_plist_close(&lists[j]);
    return rc || c->err ? -1 : 0;
}

static int hit_cmp(const void *a, const void *b)
{
    const cd_shit *x = a, *y = b;
    return cd_search_hit_before(x, y) ? -1 : cd_search_hit_before(y, x) ? 1 : 0;
}

int cd_search_run_eval(cd_call *c, MDB_txn *txn, cd_search_run *r)
{
    eval_state st = { .c = c, .txn = txn, .r = r, .prefix_budget = CD_SEARCH_PREFIX_POSTINGS };
    r->hits = NULL;
    r->nhits = 0;
    r->total = 0;
    r->total_exact = 1;
    st.heap = cd_call_alloc(c, (r->k ? r->k : 1) * sizeof *st.heap);
    if (!st.heap) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    if (cd_runs_dir(c, txn, &st.dir)) return -1;
    if (!msgpack_zone_init(&st.scratch, 8192)) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < r->nspaces && !rc; i++) rc = eval_space(&st, &r->spaces[i], (uint32_t)i);
    msgpack_zone_destroy(&st.scratch);
    if (rc) return -1;
    cd_debug("search: %zu spaces, blocks %llu (disjoint %llu, pruned %llu), driver postings %llu (pruned %llu), "
             "probes %llu, fully scored %llu, counted %llu%s", r->nspaces, (unsigned long long)st.n_blocks,
             (unsigned long long)st.n_blocks_disjoint, (unsigned long long)st.n_blocks_pruned,
             (unsigned long long)st.n_postings, (unsigned long long)st.n_pruned, (unsigned long long)st.n_probes,
             (unsigned long long)st.n_full, (unsigned long long)st.counted, st.pruning ? " then pruning" : "");
    if (!st.pruning) {
        r->total = st.counted;
    } else {
        /* counted and examined stopped growing when pruning started: the share of driver postings
         * that were matches then, applied to the driver postings of every space. */
        double est = st.examined ? (double)st.counted * (double)st.driver_total / (double)st.examined
                                 : (double)st.counted;
        r->total = est > (double)st.counted ? (uint64_t)llround(est) : st.counted;
        r->total_exact = 0;
    }
    qsort(st.heap, st.nheap, sizeof *st.heap, hit_cmp);
    r->hits = st.heap;
    r->nhits = st.nheap;
    return 0;
}
