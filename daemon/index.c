/* index: computing a claim's index keys and applying the difference between two revisions. */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "index.h"
#include "index_runs.h"
#include "isotime.h"
#include "ixpass.h"
#include "ixplan.h"
#include "record.h"
#include "text.h"

int64_t cd_index_said(const cd_claim *cl)
{
    cd_time t;
    if (cl->said_at.n && cd_time_parse(cl->said_at.p, cl->said_at.n, &t) == 0) return t.start_us;
    return INT64_MIN;
}

uint64_t cd_index_str_value(const char *s, size_t n)
{
    size_t flen;
    char *f = cd_text_fold(s, n, &flen);
    uint64_t h = f ? cd_hash64(f, flen) : cd_hash64(s, n);
    free(f);
    return h;
}

void cd_index_key(unsigned char *key, cd_idx_kind kind, uint64_t value, int64_t said, uint64_t id)
{
    key[0] = (unsigned char)kind;
    cd_put_u64be(key + 1, value);
    cd_put_i64key(key + 9, said);
    cd_put_u64be(key + 17, id);
}

cd_ixcur *cd_index_cursor(cd_call *c, MDB_txn *txn)
{
    cd_run_family f = cd_run_family_index(c->db);
    cd_run_dir d;
    if (cd_run_dir_load(c, txn, &f, &d)) return NULL;
    int rc;
    cd_ixcur *x = cd_ixcur_open(txn, c->db, &d, &rc);
    if (!x) cd_fail_mdb(c, rc, "reading an index");
    return x;
}

typedef struct { unsigned char (*keys)[CD_IDX_KEY]; size_t n; } key_set;

static void add_one(key_set *ks, const unsigned char *key)
{
    for (size_t i = 0; i < ks->n; i++)
        if (memcmp(ks->keys[i], key, CD_IDX_KEY) == 0) return;
    memcpy(ks->keys[ks->n++], key, CD_IDX_KEY);
}

/* Adds the said-ordered key and its recorded-ordered twin (id in the said slot). */
static void add_key(key_set *ks, cd_idx_kind kind, uint64_t value, int64_t said, uint64_t id)
{
    unsigned char key[CD_IDX_KEY];
    cd_index_key(key, kind, value, said, id);
    add_one(ks, key);
    cd_index_key(key, kind | CD_IDX_BY_RECORDED, value, (int64_t)id, id);
    add_one(ks, key);
}

/* Every index key of cl, in a zone array. */
static int claim_keys(cd_call *c, const cd_claim *cl, key_set *ks)
{
    ks->n = 0;
    ks->keys = NULL;
    if (!cl) return 0;
    size_t max = 2 * (5 + cl->nabout + cl->napps + cl->nvia + cl->ntags);
    ks->keys = cd_call_alloc(c, max * CD_IDX_KEY);
    if (!ks->keys) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    int64_t said = cd_index_said(cl);
    add_key(ks, CD_IDX_ALL, 0, said, cl->id);
    if (cl->speaker) add_key(ks, CD_IDX_SPEAKER, cl->speaker, said, cl->id);
    for (size_t i = 0; i < cl->nabout; i++) add_key(ks, CD_IDX_ABOUT, cl->about[i], said, cl->id);
    for (size_t i = 0; i < cl->napps; i++)
        if (cl->apps[i].outlet) add_key(ks, CD_IDX_OUTLET, cl->apps[i].outlet, said, cl->id);
    for (size_t i = 0; i < cl->nvia; i++) add_key(ks, CD_IDX_VIA, cl->via[i].entity, said, cl->id);
    for (size_t i = 0; i < cl->ntags; i++)
        add_key(ks, CD_IDX_TAG, cd_index_str_value(cl->tags[i].p, cl->tags[i].n), said, cl->id);
    if (cl->medium >= 0) add_key(ks, CD_IDX_MEDIUM, (uint64_t)cl->medium, said, cl->id);
    add_key(ks, CD_IDX_STATUS, (uint64_t)(cl->status + 1), said, cl->id);
    if (cl->lang.n) add_key(ks, CD_IDX_LANG, cd_index_str_value(cl->lang.p, cl->lang.n), said, cl->id);
    return 0;
}

static int has_key(const key_set *ks, const unsigned char *key)
{
    for (size_t i = 0; i < ks->n; i++)
        if (memcmp(ks->keys[i], key, CD_IDX_KEY) == 0) return 1;
    return 0;
}

int cd_index_plan(cd_call *c, cd_ixplan *p, const cd_claim *old, const cd_claim *cl)
{
    key_set before, after;
    if (claim_keys(c, old, &before) || claim_keys(c, cl, &after)) return -1;
    cd_ixrun_builder *b = cd_ixplan_ixruns(p);
    for (size_t i = 0; i < before.n; i++) {
        if (has_key(&after, before.keys[i])) continue;
        /* The entry is in a run already written, or held back in this pass: gone from both. */
        if (cd_ixplan_unindex(c, p, before.keys[i]) || cd_ixrun_builder_add(c, b, before.keys[i], 1)) return -1;
    }
    for (size_t i = 0; i < after.n; i++) {
        if (has_key(&before, after.keys[i])) continue;
        if (cd_ixrun_builder_add(c, b, after.keys[i], 0)) return -1;
    }
    return 0;
}

int cd_index_unindex(cd_call *c, MDB_txn *txn, const unsigned char (*keys)[CD_IDX_KEY], size_t n)
{
    cd_run_family f = cd_run_family_index(c->db);
    cd_run_dir d;
    if (cd_run_dir_load(c, txn, &f, &d)) return -1;
    for (size_t i = 0; i < n; i++)
        if (cd_ixruns_remove(c, txn, &d, keys[i])) return -1;
    return 0;
}

int cd_index_collect(cd_call *c, MDB_txn *txn, cd_idx_kind kind, uint64_t value, uint64_t **ids,
                     size_t *n, size_t *cap)
{
    if (cd_ixpass_catch_up(c, txn)) return -1;     /* the index as of this txn's own writes */
    cd_ixcur *cur = cd_index_cursor(c, txn);
    if (!cur) return -1;
    unsigned char key[CD_IDX_KEY];
    int rc;
    cd_index_key(key, kind, value, INT64_MIN, 0);
    for (rc = cd_ixcur_get(cur, key, MDB_SET_RANGE); rc == 0; rc = cd_ixcur_get(cur, key, MDB_NEXT)) {
        const unsigned char *p = key;
        if (p[0] != kind || cd_get_u64be(p + 1) != value) break;
        uint64_t id = cd_get_u64be(p + 17);
        int seen = 0;
        for (size_t i = 0; i < *n && !seen; i++) seen = (*ids)[i] == id;
        if (seen) continue;
        if (*n == *cap) {
            size_t ncap = *cap ? *cap * 2 : 64;
            uint64_t *bigger = cd_call_alloc(c, ncap * sizeof *bigger);
            if (!bigger) { cd_ixcur_close(cur); return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); }
            if (*n) memcpy(bigger, *ids, *n * sizeof *bigger);
            *ids = bigger;
            *cap = ncap;
        }
        (*ids)[(*n)++] = id;
    }
    cd_ixcur_close(cur);
    return rc && rc != MDB_NOTFOUND ? cd_fail_mdb(c, rc, "reading an index") : 0;
}
