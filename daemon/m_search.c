/* m_search: claim.search: parse q and the filters, pick the language spaces to search (the lang
 * filter's, else every space with claims), run the top-k evaluation, and pack hits with their
 * snippets, the cursor and the total. Runs on the loop thread in its read txn. */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "filter.h"
#include "index_runs.h"
#include "methods.h"
#include "params.h"
#include "record.h"
#include "search_eval.h"
#include "server.h"

#define SEARCH_LIMIT_DEFAULT 20
#define SEARCH_LIMIT_MAX 1000
#define SEARCH_Q_MAX 4096
#define SEARCH_MARK_MAX 32
/* A filter index with at most this many claims becomes an id set checked before scoring. */
#define SEARCH_MEMBERS_MAX 200000

typedef struct {
    cd_str q;
    uint64_t limit;
    cd_filter f;
    const char *open, *close;
    cd_qpart parts[CD_SEARCH_PARTS_MAX];
    int nparts;
    uint64_t qhash;
} search_req;

static int check_keys(cd_call *c)
{
    static const char *const own[] = { "q", "limit", "cursor", "mark", NULL };
    if (c->params.type != MSGPACK_OBJECT_MAP) return 0;
    for (uint32_t i = 0; i < c->params.via.map.size; i++) {
        const msgpack_object *k = &c->params.via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            return cd_fail(c, CLAIMD_E_INVALID, NULL, "parameter names must be strings");
        if (!cd_filter_is_key(k->via.str.ptr, k->via.str.size) && cd_enum_index(own, k->via.str.ptr, k->via.str.size) < 0)
            return cd_fail(c, CLAIMD_E_INVALID,
                           cd_param_name(c, k->via.str.ptr, k->via.str.size),
                           "unknown parameter");
    }
    return 0;
}

/* `mark`: [open, close], the strings put around matched words (default "[" and "]"). */
static int get_mark(cd_call *c, search_req *rq)
{
    const msgpack_object *a = NULL;
    rq->open = "[";
    rq->close = "]";
    if (cd_get_array(c, &c->params, NULL, "mark", CD_OPTIONAL, 2, &a)) return -1;
    if (!a) return 0;
    if (a->via.array.size != 2) return cd_fail(c, CLAIMD_E_INVALID, "mark", "must be [open, close]");
    const char *out[2];
    for (int i = 0; i < 2; i++) {
        const msgpack_object *o = &a->via.array.ptr[i];
        if (o->type != MSGPACK_OBJECT_STR || o->via.str.size > SEARCH_MARK_MAX ||
            !cd_text_valid_utf8(o->via.str.ptr, o->via.str.size))
            return cd_fail(c, CLAIMD_E_INVALID, "mark", "must be two strings of at most %d bytes", SEARCH_MARK_MAX);
        if (!(out[i] = cd_call_strndup(c, o->via.str.ptr, o->via.str.size)))
            return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    }
    rq->open = out[0];
    rq->close = out[1];
    return 0;
}

/* Builds the plan of one space, turning plan errors into call errors. */
static int build_plan(cd_call *c, const search_req *rq, const char tag[4], cd_qplan *plan)
{
    int rc = cd_search_plan_build(rq->parts, rq->nparts, cd_search_space_lang(tag), plan);
    if (rc == CD_PLAN_TOO_MANY)
        return cd_fail(c, CLAIMD_E_INVALID, "q", "too many words: at most %d distinct words, %d phrases of %d words",
                       CD_SEARCH_CLAUSES_MAX, CD_SEARCH_PHRASES_MAX, CD_SEARCH_PHRASE_WORDS);
    if (rc) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    return 0;
}

static int parse_request(cd_call *c, MDB_txn *txn, search_req *rq)
{
    rq->limit = SEARCH_LIMIT_DEFAULT;
    if (check_keys(c) ||
        cd_get_str(c, &c->params, NULL, "q", CD_REQUIRED, SEARCH_Q_MAX, &rq->q) ||
        cd_get_u64(c, &c->params, NULL, "limit", CD_OPTIONAL, 1, SEARCH_LIMIT_MAX, &rq->limit) ||
        get_mark(c, rq) || cd_filter_parse(c, txn, &c->params, &rq->f))
        return -1;
    rq->nparts = cd_search_parse_q(rq->q.p, rq->q.n, rq->parts, CD_SEARCH_PARTS_MAX);
    if (rq->nparts < 0) return cd_fail(c, CLAIMD_E_INVALID, "q", "too many words");
    cd_qplan *probe = cd_call_alloc(c, sizeof *probe);
    if (!probe) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    if (build_plan(c, rq, "\0\0\0", probe)) return -1;
    if (probe->nclauses == 0) return cd_fail(c, CLAIMD_E_INVALID, "q", "no words to search for");
    /* A cursor belongs to one query: the same q, made into terms for the same languages. */
    rq->qhash = cd_hash64(rq->q.p, rq->q.n) ^ (cd_hash64(rq->f.lang.p, rq->f.lang.n) * 31);
    return 0;
}

/* The spaces of a later page: exactly those of the cursor, with its statistics. */
static int spaces_from_cursor(cd_call *c, const search_req *rq, const cd_search_cursor *cur, cd_search_run *run)
{
    run->spaces = cd_call_alloc(c, (cur->nspaces + 1) * sizeof *run->spaces);
    if (!run->spaces) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < cur->nspaces; i++) {
        cd_sspace *sp = &run->spaces[i];
        const cd_search_frozen *fz = &cur->spaces[i];
        memcpy(sp->tag, fz->tag, 4);
        sp->ndocs = fz->ndocs;
        sp->ntokens = fz->ntokens;
        sp->frozen = 1;
        if (build_plan(c, rq, sp->tag, &sp->plan)) return -1;
        if (sp->plan.nclauses != fz->nclauses)
            return cd_fail(c, CLAIMD_E_INVALID, "cursor", "this cursor belongs to another query");
        memcpy(sp->df, fz->df, sizeof sp->df);
    }
    run->nspaces = cur->nspaces;
    return 0;
}

/* The spaces of a first page: every space holding claims, or only the lang filter's. */
static int spaces_from_index(cd_call *c, MDB_txn *txn, const search_req *rq, cd_search_run *run)
{
    char only[4];
    cd_search_space_of(rq->f.lang.p, rq->f.lang.n, only);
    MDB_dbi dbi = c->srv->db.dbi[CD_DBI_SEARCH_LANGS];
    MDB_stat st;
    int rc = mdb_stat(txn, dbi, &st);
    if (rc) return cd_fail_mdb(c, rc, "reading search statistics");
    run->spaces = cd_call_alloc(c, (st.ms_entries + 1) * sizeof *run->spaces);
    if (!run->spaces) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, dbi, &cur))) return cd_fail_mdb(c, rc, "reading search statistics");
    MDB_val k, v;
    run->nspaces = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && run->nspaces < st.ms_entries;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != CD_SEARCH_SPACE || v.mv_size != 16) continue;
        if (rq->f.lang.n && memcmp(k.mv_data, only, CD_SEARCH_SPACE) != 0) continue;
        cd_sspace *sp = &run->spaces[run->nspaces];
        memset(sp->tag, 0, 4);
        memcpy(sp->tag, k.mv_data, CD_SEARCH_SPACE);
        sp->ndocs = cd_get_u64be(v.mv_data);
        sp->ntokens = cd_get_u64be((const unsigned char *)v.mv_data + 8);
        sp->frozen = 0;
        if (build_plan(c, rq, sp->tag, &sp->plan)) break;
        run->nspaces++;
    }
    mdb_cursor_close(cur);
    if (c->err) return -1;
    return rc && rc != MDB_NOTFOUND ? cd_fail_mdb(c, rc, "reading search statistics") : 0;
}

/* The sorted ids of the claims under the filter's most selective index (and within its said
 * range), when there are at most SEARCH_MEMBERS_MAX: candidates outside the set are dropped
 * before scoring, and only those inside need their record read to check the other filters. */
static int collect_members(cd_call *c, MDB_txn *txn, const cd_filter *f, cd_search_run *run)
{
    cd_idx_kind kind;
    uint64_t value;
    int ranged = f->has_from || f->has_to;
    cd_filter_pick_index(f, &kind, &value);
    /* No index or only lang (the language spaces already narrow the search) and no dates. */
    if ((kind == CD_IDX_ALL || kind == CD_IDX_LANG) && !ranged) return 0;
    cd_ixcur *cur = cd_index_cursor(c, txn);
    if (!cur) return -1;
    int rc;
    unsigned char lo[CD_IDX_KEY], hi[CD_IDX_KEY];
    cd_index_key(lo, kind, value, f->has_from ? f->said_from : INT64_MIN, 0);
    cd_index_key(hi, kind, value, f->has_to ? f->said_to : INT64_MAX, 0);
    size_t n = 0, cap = 0;
    uint64_t *ids = NULL;
    int over = 0;
    unsigned char at[CD_IDX_KEY];
    memcpy(at, lo, CD_IDX_KEY);
    for (rc = cd_ixcur_get(cur, at, MDB_SET_RANGE); rc == 0; rc = cd_ixcur_get(cur, at, MDB_NEXT)) {
        const unsigned char *p = at;
        if (memcmp(p, hi, CD_IDX_PREFIX) != 0 || (f->has_to && memcmp(p, hi, CD_IDX_KEY) >= 0)) break;
        if (n == SEARCH_MEMBERS_MAX) { over = 1; break; }
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 256;
            uint64_t *bigger = cd_call_alloc(c, ncap * sizeof *bigger);
            if (!bigger) { cd_ixcur_close(cur); return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); }
            if (n) memcpy(bigger, ids, n * sizeof *ids);
            ids = bigger;
            cap = ncap;
        }
        ids[n++] = cd_get_u64be(p + 17);
    }
    cd_ixcur_close(cur);
    if (rc && rc != MDB_NOTFOUND && !over) return cd_fail_mdb(c, rc, "reading an index");
    if (over) return 0;
    if (n > 1) qsort(ids, n, sizeof *ids, cd_cmp_u64);     /* said order -> id order */
    run->members = ids;                                 /* an empty set is right too */
    run->nmembers = n;
    run->use_members = 1;
    return 0;
}

static int filter_needs_claim(const cd_filter *f)
{
    return f->speaker || f->about || f->outlet || f->via || f->medium >= 0 || f->status >= -1 ||
           f->tag.n || f->lang.n || f->has_from || f->has_to;
}

/* The snippet of hit claim cl: matched words from its forward record (malloc'd, or NULL). */
static char *snippet_of(cd_call *c, MDB_txn *txn, const search_req *rq, const cd_sspace *sp, const cd_claim *cl,
                        size_t *len)
{
    unsigned char key[8];
    cd_put_u64be(key, cl->id);
    MDB_val k = { 8, key }, v;
    cd_search_fwd f;
    uint32_t *marks = NULL;
    size_t nmarks = 0;
    if (mdb_get(txn, c->srv->db.dbi[CD_DBI_SEARCH_DOCS], &k, &v) || cd_rec_plain(c, &v) ||
        cd_search_fwd_open(&f, v.mv_data, v.mv_size) ||
        cd_search_marks(&sp->plan, &f, &marks, &nmarks))
        return NULL;
    char *s = cd_search_snippet(cl->text.p, cl->text.n, cd_search_space_lang(sp->tag), f.tokens, marks, nmarks,
                                rq->open, rq->close, len);
    free(marks);
    return s;
}

static void pack_hit(cd_call *c, MDB_txn *txn, const search_req *rq, const cd_search_run *run, const cd_shit *h)
{
    msgpack_packer *pk = &c->pk;
    const cd_sspace *sp = &run->spaces[h->space];
    cd_claim cl;
    int loaded = cd_claim_load(c, txn, h->id, &cl) == 0;
    msgpack_pack_map(pk, 4);
    cd_pack_cstr(pk, "id");
    msgpack_pack_uint64(pk, h->id);
    cd_pack_cstr(pk, "score");
    msgpack_pack_double(pk, h->score);
    cd_pack_cstr(pk, "snippet");
    size_t len;
    char *snip = loaded ? snippet_of(c, txn, rq, sp, &cl, &len) : NULL;
    if (snip) cd_pack_strn(pk, snip, len);
    else msgpack_pack_nil(pk);
    free(snip);
    cd_pack_cstr(pk, "claim");
    if (loaded) cd_claim_pack(c, txn, &cl);
    else msgpack_pack_nil(pk);
}

/* Packs the cursor after hit last: the active spaces with the statistics they were scored with. */
static int pack_cursor(cd_call *c, const search_req *rq, const cd_search_run *run, const cd_shit *last)
{
    cd_search_cursor cur = { rq->qhash, last->score, last->id, run->max_id, 0, NULL };
    cur.spaces = cd_call_alloc(c, (run->nspaces + 1) * sizeof *cur.spaces);
    if (!cur.spaces) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    for (size_t i = 0; i < run->nspaces; i++) {
        const cd_sspace *sp = &run->spaces[i];
        if (!sp->active) continue;
        cd_search_frozen *fz = &cur.spaces[cur.nspaces++];
        memcpy(fz->tag, sp->tag, 4);
        fz->ndocs = sp->ndocs;
        fz->ntokens = sp->ntokens;
        fz->nclauses = sp->plan.nclauses;
        memcpy(fz->df, sp->df, sizeof fz->df);
    }
    size_t len;
    char *hex = cd_search_cursor_encode(&cur, &len);
    if (!hex) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    cd_pack_strn(&c->pk, hex, len);
    free(hex);
    return 0;
}

void cd_m_claim_search(cd_call *c, MDB_txn *txn)
{
    search_req rq;
    cd_search_run run;
    memset(&rq, 0, sizeof rq);
    memset(&run, 0, sizeof run);
    if (parse_request(c, txn, &rq)) return;
    const msgpack_object *co = cd_map_get(&c->params, "cursor");
    cd_search_cursor cur = { 0 };
    int rc;
    if (co) {
        if (co->type != MSGPACK_OBJECT_STR || cd_search_cursor_decode(co->via.str.ptr, co->via.str.size, &cur)) {
            cd_fail(c, CLAIMD_E_INVALID, "cursor", "not a cursor returned by claim.search");
            return;
        }
        if (cur.qhash != rq.qhash) {
            cd_search_cursor_free(&cur);
            cd_fail(c, CLAIMD_E_INVALID, "cursor", "this cursor belongs to another query");
            return;
        }
        rc = spaces_from_cursor(c, &rq, &cur, &run);
        run.max_id = cur.max_id;
        run.has_after = 1;
        run.after_score = cur.score;
        run.after_id = cur.id;
        cd_search_cursor_free(&cur);
    } else {
        rc = spaces_from_index(c, txn, &rq, &run);
        run.max_id = cd_db_next_id(txn, c->srv->db.dbi[CD_DBI_CLAIMS]) - 1;
    }
    if (rc) return;
    if (rq.f.nothing) run.nspaces = 0;                 /* a named entity does not exist */
    run.filter = &rq.f;
    run.filter_on_claim = filter_needs_claim(&rq.f);
    run.k = rq.limit + 1;                               /* one more tells whether a next page exists */
    if (collect_members(c, txn, &rq.f, &run) || cd_search_run_eval(c, txn, &run)) return;

    size_t n = run.nhits > rq.limit ? rq.limit : run.nhits;
    msgpack_pack_map(&c->pk, 4);
    cd_pack_cstr(&c->pk, "items");
    msgpack_pack_array(&c->pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++) pack_hit(c, txn, &rq, &run, &run.hits[i]);
    cd_pack_cstr(&c->pk, "cursor");
    if (run.nhits > rq.limit) {
        if (pack_cursor(c, &rq, &run, &run.hits[n - 1])) return;
    } else {
        msgpack_pack_nil(&c->pk);
    }
    cd_pack_cstr(&c->pk, "total");
    msgpack_pack_uint64(&c->pk, run.total);
    cd_pack_cstr(&c->pk, "total_exact");
    if (run.total_exact) msgpack_pack_true(&c->pk);
    else msgpack_pack_false(&c->pk);
}
