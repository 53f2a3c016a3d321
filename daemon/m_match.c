/* m_match: claim.match: the claims whose text is a near-duplicate of a given text. Candidates
 * come from the LSH buckets the text's MinHash bands fall in; each is verified by the exact
 * Jaccard similarity of the shingle sets, so similarity is exact, never an estimate. */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "entity.h"
#include "match.h"
#include "methods.h"
#include "params.h"
#include "search.h"
#include "server.h"

#define MATCH_LIMIT_DEFAULT 20
#define MATCH_LIMIT_MAX 1000
#define MATCH_MIN_DEFAULT 0.5
/* Candidates verified at most; past it, those sharing the most buckets with the text win. */
#define MATCH_CANDIDATES_MAX 5000

typedef struct { uint64_t id; uint32_t bands; } candidate;
typedef struct { uint64_t id; double similarity; } match;

static int cand_by_id(const void *a, const void *b)
{
    uint64_t x = ((const candidate *)a)->id, y = ((const candidate *)b)->id;
    return x < y ? -1 : x > y;
}

static int cand_by_bands(const void *a, const void *b)
{
    const candidate *x = a, *y = b;
    if (x->bands != y->bands) return x->bands > y->bands ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int match_cmp(const void *a, const void *b)
{
    const match *x = a, *y = b;
    if (x->similarity != y->similarity) return x->similarity > y->similarity ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Every claim id in the text's buckets, once each with how many buckets it shares (malloc'd). */
static int gather(cd_call *c, MDB_txn *txn, const uint32_t bands[CD_MATCH_BANDS], candidate **out, size_t *nout)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, c->srv->db.dbi[CD_DBI_MATCH_BANDS], &cur);
    if (rc) return cd_fail_mdb(c, rc, "reading the match index");
    candidate *cs = NULL;
    size_t n = 0, cap = 0;
    for (int b = 0; b < CD_MATCH_BANDS && !c->err; b++) {
        unsigned char key[4];
        cd_put_u32be(key, bands[b]);
        MDB_val k = { 4, key }, v;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
            if (v.mv_size != 8) continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                candidate *bigger = realloc(cs, cap * sizeof *cs);
                if (!bigger) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); break; }
                cs = bigger;
            }
            cs[n++] = (candidate){ cd_get_u64be(v.mv_data), 1 };
        }
        if (rc && rc != MDB_NOTFOUND && !c->err) cd_fail_mdb(c, rc, "reading the match index");
    }
    mdb_cursor_close(cur);
    if (c->err) { free(cs); return -1; }
    if (n > 1) qsort(cs, n, sizeof *cs, cand_by_id);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u && cs[u - 1].id == cs[i].id) cs[u - 1].bands++;
        else cs[u++] = cs[i];
    }
    if (u > MATCH_CANDIDATES_MAX) {
        qsort(cs, u, sizeof *cs, cand_by_bands);
        u = MATCH_CANDIDATES_MAX;
    }
    *out = cs;
    *nout = u;
    return 0;
}

void cd_m_claim_match(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "text", "speaker", "min_similarity", "limit", "include_retracted", NULL };
    cd_str text;
    uint64_t limit = MATCH_LIMIT_DEFAULT, speaker = 0;
    double min_sim = MATCH_MIN_DEFAULT;
    int include_retracted = 0;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_str(c, &c->params, NULL, "text", CD_REQUIRED, c->srv->cfg.max_text, &text) ||
        cd_get_num(c, &c->params, NULL, "min_similarity", CD_OPTIONAL, 0.0, 1.0, &min_sim) ||
        cd_get_u64(c, &c->params, NULL, "limit", CD_OPTIONAL, 1, MATCH_LIMIT_MAX, &limit) ||
        cd_get_bool(c, &c->params, NULL, "include_retracted", CD_OPTIONAL, &include_retracted))
        return;
    const msgpack_object *ref = cd_map_get(&c->params, "speaker");
    int nobody = 0;                          /* a speaker that does not exist said nothing */
    if (ref) {
        if (cd_entity_resolve(c, txn, ref, "speaker", 0, &speaker)) {
            if (c->err != CLAIMD_E_NOT_FOUND) return;
            c->err = CLAIMD_OK;
            c->err_field = NULL;
        }
        nobody = speaker == 0;
    }
    cd_match_set q = { 0 };
    size_t ncand = 0, nmatch = 0;
    candidate *cands = NULL;
    match *found = NULL;
    msgpack_zone scratch;
    if (!msgpack_zone_init(&scratch, 8192)) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); return; }
    if (cd_match_set_build(text.p, text.n, &q)) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); goto out; }
    const uint64_t *lsh;
    size_t nlsh;
    cd_match_set_lsh(&q, &lsh, &nlsh);
    if (nlsh && !nobody) {
        uint32_t sig[CD_MATCH_HASHES], bands[CD_MATCH_BANDS];
        cd_match_signature(lsh, nlsh, sig);
        cd_match_bands(sig, bands);
        if (gather(c, txn, bands, &cands, &ncand)) goto out;
    }
    found = malloc((ncand + 1) * sizeof *found);
    if (!found) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); goto out; }
    for (size_t i = 0; i < ncand; i++) {
        cd_claim cl;
        int rc = cd_search_claim_peek(c, txn, &scratch, cands[i].id, &cl);
        if (rc < 0) goto out;
        if (rc == 0 && (include_retracted || !cl.retracted) && (!speaker || cl.speaker == speaker)) {
            cd_match_set other;
            if (cd_match_set_build(cl.text.p, cl.text.n, &other) == 0) {
                double s = cd_match_jaccard(q.all, q.nall, other.all, other.nall);
                if (s >= min_sim) found[nmatch++] = (match){ cands[i].id, s };
                cd_match_set_free(&other);
            }
        }
        msgpack_zone_clear(&scratch);
    }
    qsort(found, nmatch, sizeof *found, match_cmp);
    if (nmatch > limit) nmatch = (size_t)limit;
    msgpack_pack_map(&c->pk, 1);
    cd_pack_cstr(&c->pk, "items");
    msgpack_pack_array(&c->pk, (uint32_t)nmatch);
    for (size_t i = 0; i < nmatch; i++) {
        msgpack_pack_map(&c->pk, 2);
        cd_pack_cstr(&c->pk, "id");
        msgpack_pack_uint64(&c->pk, found[i].id);
        cd_pack_cstr(&c->pk, "similarity");
        msgpack_pack_double(&c->pk, found[i].similarity);
    }
out:
    msgpack_zone_destroy(&scratch);
    cd_match_set_free(&q);
    free(cands);
    free(found);
}
