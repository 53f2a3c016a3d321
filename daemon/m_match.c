/* m_match: claim.match: the claims whose text is a near-duplicate of a given text (match.h).
 * Per language space: the query's rarest terms give candidates from the full-text postings, and
 * each candidate is verified with the idf-weighted Jaccard similarity of the two term sets, so a
 * reported similarity is exact, never an estimate. */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "entity.h"
#include "match.h"
#include "methods.h"
#include "params.h"
#include "record.h"
#include "search.h"
#include "search_plist.h"
#include "server.h"

#define MATCH_LIMIT_DEFAULT 20
#define MATCH_LIMIT_MAX 1000
/* The default threshold, chosen from the labelled pairs' precision/recall table (docs/search.md). */
#define MATCH_MIN_DEFAULT 0.35
/* Candidates verified at most per language space; past it, those carrying the most query weight. */
#define MATCH_CANDIDATES_MAX 2000
/* Postings read at most per request to gather candidates (bounds time on common words). */
#define MATCH_POSTINGS_MAX 400000
/* Query terms candidates are gathered from at most (the rarest). */
#define MATCH_RARE_TERMS_MAX 48
/* The share of the bound the common terms left unread may carry. Up to 1 the result is the
 * same; lower reads more (longer) posting lists and leaves fewer candidates to verify, because
 * a candidate must then carry more of the query's weight in the terms read (m_match.c). */
#define MATCH_SKIP_SHARE 0.5
/* A little below 1 against rounding. */
#define MATCH_PREFIX_SAFETY 0.95

typedef struct { uint64_t id; double weight; } candidate;
typedef struct { uint64_t id; double similarity; } match;

/* ---- per-request idf memo: term -> idf in the current space ---- */

typedef struct { uint64_t h; char *term; size_t len; double idf; } memo_slot;

typedef struct {
    memo_slot *slots;
    size_t cap, used;
    MDB_txn *txn;                  /* for df lookups over the runs of dir */
    cd_run_dir dir;
    char tag[4];
    uint64_t ndocs;
} idf_memo;

static void memo_clear(idf_memo *m)
{
    for (size_t i = 0; i < m->cap; i++) free(m->slots[i].term);
    free(m->slots);
    m->slots = NULL;
    m->cap = m->used = 0;
}

static int memo_grow(idf_memo *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    memo_slot *s = calloc(cap, sizeof *s);
    if (!s) return -1;
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->slots[i].term) continue;
        size_t j = m->slots[i].h & (cap - 1);
        while (s[j].term) j = (j + 1) & (cap - 1);
        s[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = s;
    m->cap = cap;
    return 0;
}

/* The weight of term in the memo's space (idf squared, see weigh), looked up once per request.
 * 0, or -1 (error set). */
static int memo_idf(cd_call *c, idf_memo *m, const char *term, size_t len, double *idf)
{
    if ((m->used + 1) * 2 > m->cap && memo_grow(m)) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    uint64_t h = cd_hash64(term, len);
    size_t j = h & (m->cap - 1);
    for (; m->slots[j].term; j = (j + 1) & (m->cap - 1))
        if (m->slots[j].h == h && m->slots[j].len == len && memcmp(m->slots[j].term, term, len) == 0) {
            *idf = m->slots[j].idf;
            return 0;
        }
    uint64_t df;
    if (cd_plist_df(c, m->txn, &m->dir, m->tag, term, len, &df)) return -1;
    char *copy = malloc(len + 1);
    if (!copy) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    memcpy(copy, term, len);
    double i = cd_search_idf(m->ndocs, df);
    m->slots[j] = (memo_slot){ h, copy, len, i * i };
    m->used++;
    *idf = m->slots[j].idf;
    return 0;
}

/* Gives every term of set its weight, idf squared: the weight a term has in the dot product of
 * two tf-idf vectors, and on the labelled pairs a better precision/recall curve than idf alone
 * (the rare words that make two claims different weigh more against a shared frame). */
static int weigh(cd_call *c, idf_memo *m, cd_mset *set)
{
    for (size_t i = 0; i < set->n; i++)
        if (memo_idf(c, m, set->terms + set->t[i].off, set->t[i].len, &set->t[i].w)) return -1;
    return 0;
}

/* ---- candidates: id -> the query weight of the rare terms it holds ---- */

typedef struct { candidate *slots; size_t cap, used; } cand_map;

static int cand_add(cand_map *m, uint64_t id, double w)
{
    if ((m->used + 1) * 2 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 4096;
        candidate *s = calloc(cap, sizeof *s);
        if (!s) return -1;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->slots[i].id) continue;
            size_t j = (m->slots[i].id * 0x9e3779b97f4a7c15ULL >> 20) & (cap - 1);
            while (s[j].id) j = (j + 1) & (cap - 1);
            s[j] = m->slots[i];
        }
        free(m->slots);
        m->slots = s;
        m->cap = cap;
    }
    size_t j = (id * 0x9e3779b97f4a7c15ULL >> 20) & (m->cap - 1);
    for (; m->slots[j].id; j = (j + 1) & (m->cap - 1))
        if (m->slots[j].id == id) { m->slots[j].weight += w; return 0; }
    m->slots[j] = (candidate){ id, w };
    m->used++;
    return 0;
}

static int by_weight_asc(const void *a, const void *b)
{
    double x = ((const cd_mterm *)a)->w, y = ((const cd_mterm *)b)->w;
    return (x > y) - (x < y);
}

static int cand_by_weight(const void *a, const void *b)
{
    const candidate *x = a, *y = b;
    if (x->weight != y->weight) return x->weight > y->weight ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

static int match_cmp(const void *a, const void *b)
{
    const match *x = a, *y = b;
    if (x->similarity != y->similarity) return x->similarity > y->similarity ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

typedef struct {
    cd_str text;
    double min_sim;
    uint64_t speaker;
    int include_retracted;
    size_t postings_left;          /* MATCH_POSTINGS_MAX, shared by the spaces */
    match *found;
    size_t nfound, capfound;
    msgpack_zone scratch;
} match_req;

/* Reads the postings of the query's rarest terms into cands (see match.h: prefix filtering).
 * raw holds the query's terms as the index has them, q as they are compared (numbers rewritten):
 * a claim reaching the threshold shares at least min_sim of q's weight, of which the terms
 * only q has (rewritten numbers, absent from the index) can give at most their own weight, so
 * the raw terms left out may weigh less than the rest. */
static int gather(cd_call *c, MDB_txn *txn, match_req *rq, idf_memo *m, const cd_mset *raw, const cd_mset *q,
                  cand_map *cands, double *unread)
{
    cd_mterm *order = malloc((raw->n + 1) * sizeof *order);
    if (!order) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    memcpy(order, raw->t, raw->n * sizeof *order);
    qsort(order, raw->n, sizeof *order, by_weight_asc);
    double qweight = 0, q_only = 0, skipped = 0;
    for (size_t i = 0; i < q->n; i++) {
        qweight += q->t[i].w;
        if (cd_mset_find(raw, q->terms + q->t[i].off, q->t[i].len) < 0) q_only += q->t[i].w;
    }
    size_t first = 0;
    double may_skip = MATCH_SKIP_SHARE * MATCH_PREFIX_SAFETY * (rq->min_sim * qweight - q_only);
    while (first + 1 < raw->n && skipped + order[first].w < may_skip) skipped += order[first++].w;
    if (raw->n - first > MATCH_RARE_TERMS_MAX) {
        for (size_t i = first; i < raw->n - MATCH_RARE_TERMS_MAX; i++) skipped += order[i].w;
        first = raw->n - MATCH_RARE_TERMS_MAX;
    }
    /* What a candidate may share beyond the weight counted for it: the terms left unread and
     * those only the compared set has. */
    *unread = skipped + q_only;
    int rc = 0;
    /* Rarest first, so that the postings budget is spent where it tells most. */
    for (size_t i = raw->n; i-- > first && rq->postings_left && !rc;) {
        cd_plist l;
        if (cd_plist_open_term(c, txn, &m->dir, &l, m->tag, raw->terms + order[i].off, order[i].len)) { rc = -1; break; }
        for (const unsigned char *p = cd_plist_seek(&l, 0); p && rq->postings_left; p = cd_plist_next(&l)) {
            rq->postings_left--;
            if (!rq->include_retracted && cd_search_posting_retracted(p)) continue;
            if (cand_add(cands, cd_search_posting_id(p), order[i].w)) {
                rc = cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
                break;
            }
        }
        cd_plist_close(&l);
    }
    free(order);
    return rc;
}

static int keep(cd_call *c, match_req *rq, uint64_t id, double s)
{
    if (rq->nfound == rq->capfound) {
        size_t cap = rq->capfound ? rq->capfound * 2 : 64;
        match *f = realloc(rq->found, cap * sizeof *f);
        if (!f) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
        rq->found = f;
        rq->capfound = cap;
    }
    rq->found[rq->nfound++] = (match){ id, s };
    return 0;
}

/* Candidates of one language space, verified. 0, or -1 (error set). */
static int match_space(cd_call *c, MDB_txn *txn, match_req *rq, idf_memo *m)
{
    const char *lang = cd_search_space_lang(m->tag);
    cd_mset raw = { 0 }, q = { 0 }, other = { 0 };
    cand_map cands = { 0 };
    double unread = 0, qweight = 0;
    int rc = -1;
    if (cd_mset_build(&raw, rq->text.p, rq->text.n, lang, 0) ||
        cd_mset_build(&q, rq->text.p, rq->text.n, lang, 1)) {
        cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
        goto out;
    }
    if (!raw.n || !q.n) { rc = 0; goto out; }
    if (weigh(c, m, &raw) || weigh(c, m, &q) || gather(c, txn, rq, m, &raw, &q, &cands, &unread)) goto out;
    for (size_t i = 0; i < q.n; i++) qweight += q.t[i].w;
    /* Keep the candidates that can still reach the threshold: a claim shares at most the weight
     * counted for it plus what was left unread, and the union weighs at least the query. Most
     * candidates share one rare word and nothing else; they end here, unread. Then keep the
     * heaviest. */
    size_t n = 0;
    double need = rq->min_sim * qweight * MATCH_PREFIX_SAFETY - unread;
    for (size_t i = 0; i < cands.cap; i++)
        if (cands.slots[i].id && cands.slots[i].weight >= need) cands.slots[n++] = cands.slots[i];
    if (n > MATCH_CANDIDATES_MAX) {
        qsort(cands.slots, n, sizeof *cands.slots, cand_by_weight);
        n = MATCH_CANDIDATES_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        cd_claim cl;
        int got = cd_search_claim_peek(c, txn, &rq->scratch, cands.slots[i].id, &cl);
        if (got < 0) goto out;
        char tag[4];
        if (got == 0) cd_search_space_of(cl.lang.p, cl.lang.n, tag);
        if (got == 0 && memcmp(tag, m->tag, CD_SEARCH_SPACE) == 0 && (rq->include_retracted || !cl.retracted) &&
            (!rq->speaker || cl.speaker == rq->speaker)) {
            if (cd_mset_build(&other, cl.text.p, cl.text.n, lang, 1) == 0) {
                if (weigh(c, m, &other)) goto out;
                double s = cd_mset_similarity(&q, &other);
                if (s >= rq->min_sim && keep(c, rq, cands.slots[i].id, s)) goto out;
                cd_mset_free(&other);
            }
        }
        msgpack_zone_clear(&rq->scratch);
    }
    rc = 0;
out:
    cd_mset_free(&raw);
    cd_mset_free(&q);
    cd_mset_free(&other);
    free(cands.slots);
    return rc;
}

/* Every language space holding claims (only lang's when given), each matched in turn. */
static int match_spaces(cd_call *c, MDB_txn *txn, match_req *rq, const cd_str *lang)
{
    char only[4];
    cd_search_space_of(lang->p, lang->n, only);
    idf_memo m = { 0 };
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, c->srv->db.dbi[CD_DBI_SEARCH_LANGS], &cur);
    if (rc) return cd_fail_mdb(c, rc, "reading search statistics");
    m.txn = txn;
    if (cd_runs_dir(c, txn, &m.dir)) {
        mdb_cursor_close(cur);
        return -1;
    }
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != CD_SEARCH_SPACE || v.mv_size != 16) continue;
        if (lang->n && memcmp(k.mv_data, only, CD_SEARCH_SPACE) != 0) continue;
        memset(m.tag, 0, sizeof m.tag);
        memcpy(m.tag, k.mv_data, CD_SEARCH_SPACE);
        m.ndocs = cd_get_u64be(v.mv_data);
        memo_clear(&m);
        if (match_space(c, txn, rq, &m)) break;
    }
    memo_clear(&m);
    mdb_cursor_close(cur);
    if (c->err) return -1;
    return rc && rc != MDB_NOTFOUND ? cd_fail_mdb(c, rc, "reading search statistics") : 0;
}

void cd_m_claim_match(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "text", "speaker", "lang", "min_similarity", "limit", "include_retracted", NULL };
    match_req rq = { .min_sim = MATCH_MIN_DEFAULT, .postings_left = MATCH_POSTINGS_MAX };
    cd_str lang = { 0 };
    uint64_t limit = MATCH_LIMIT_DEFAULT;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_str(c, &c->params, NULL, "text", CD_REQUIRED, c->srv->cfg.max_text, &rq.text) ||
        cd_get_str(c, &c->params, NULL, "lang", CD_OPTIONAL, 64, &lang) ||
        cd_get_num(c, &c->params, NULL, "min_similarity", CD_OPTIONAL, 0.0, 1.0, &rq.min_sim) ||
        cd_get_u64(c, &c->params, NULL, "limit", CD_OPTIONAL, 1, MATCH_LIMIT_MAX, &limit) ||
        cd_get_bool(c, &c->params, NULL, "include_retracted", CD_OPTIONAL, &rq.include_retracted))
        return;
    if (!cd_text_valid_utf8(rq.text.p, rq.text.n)) {
        cd_fail(c, CLAIMD_E_INVALID, "text", "not valid UTF-8");
        return;
    }
    const msgpack_object *ref = cd_map_get(&c->params, "speaker");
    if (ref) {
        if (cd_entity_resolve(c, txn, ref, "speaker", 0, &rq.speaker)) {
            if (c->err != CLAIMD_E_NOT_FOUND) return;
            c->err = CLAIMD_OK;
            c->err_field = NULL;
        }
    }
    if (!msgpack_zone_init(&rq.scratch, 8192)) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); return; }
    /* A speaker that does not exist said nothing. */
    if ((ref && !rq.speaker) || match_spaces(c, txn, &rq, &lang) == 0) {
        if (rq.nfound > 1) qsort(rq.found, rq.nfound, sizeof *rq.found, match_cmp);
        size_t n = rq.nfound > limit ? (size_t)limit : rq.nfound;
        msgpack_pack_map(&c->pk, 1);
        cd_pack_cstr(&c->pk, "items");
        msgpack_pack_array(&c->pk, (uint32_t)n);
        for (size_t i = 0; i < n; i++) {
            msgpack_pack_map(&c->pk, 2);
            cd_pack_cstr(&c->pk, "id");
            msgpack_pack_uint64(&c->pk, rq.found[i].id);
            cd_pack_cstr(&c->pk, "similarity");
            msgpack_pack_double(&c->pk, rq.found[i].similarity);
        }
    }
    msgpack_zone_destroy(&rq.scratch);
    free(rq.found);
}
