/* filter: parsing and checking claim filters. */
#include <string.h>
#include "entity.h"
#include "filter.h"
#include "isotime.h"
#include "params.h"

const char *const cd_filter_keys[] = {
    "speaker", "about", "outlet", "via", "medium", "status", "tag", "lang", "said_from", "said_to",
    "include_retracted", NULL
};

static const char *const status_names[] = {
    "unverified", "true", "mostly-true", "mixed", "mostly-false", "false", "misleading", "unproven",
    "in-review", NULL
};

int cd_filter_is_key(const char *name, size_t n)
{
    return cd_enum_index(cd_filter_keys, name, n) >= 0;
}

/* Resolves an entity filter without creating anything; an unknown name matches nothing. */
static int entity_filter(cd_call *c, MDB_txn *txn, const msgpack_object *params, const char *key,
                         cd_filter *f, uint64_t *out)
{
    const msgpack_object *ref = cd_map_get(params, key);
    if (!ref) return 0;
    if (cd_entity_resolve(c, txn, ref, key, 0, out)) {
        if (c->err != CLAIMD_E_NOT_FOUND) return -1;
        c->err = CLAIMD_OK;          /* an unknown id is an empty result, not an error */
        c->err_field = NULL;
        *out = 0;
    }
    if (!*out) f->nothing = 1;
    return 0;
}

static int time_bound(cd_call *c, const msgpack_object *params, const char *key, int upper,
                      int64_t *out, int *has)
{
    cd_str s = { 0 };
    if (cd_get_str(c, params, NULL, key, CD_OPTIONAL, 64, &s)) return -1;
    if (!s.n) return 0;
    cd_time t;
    if (cd_time_parse(s.p, s.n, &t) < 0)
        return cd_fail(c, CLAIMD_E_INVALID, key, "not an ISO 8601 time");
    /* A `to` bound given as a period includes that whole period. */
    *out = upper ? t.end_us : t.start_us;
    *has = 1;
    return 0;
}

int cd_filter_parse(cd_call *c, MDB_txn *txn, const msgpack_object *params, cd_filter *f)
{
    memset(f, 0, sizeof *f);
    f->medium = -1;
    f->status = -2;
    int st = -1;
    if (entity_filter(c, txn, params, "speaker", f, &f->speaker) ||
        entity_filter(c, txn, params, "about", f, &f->about) ||
        entity_filter(c, txn, params, "outlet", f, &f->outlet) ||
        entity_filter(c, txn, params, "via", f, &f->via) ||
        cd_get_enum(c, params, NULL, "medium", CD_OPTIONAL, cd_medium_names, &f->medium) ||
        cd_get_enum(c, params, NULL, "status", CD_OPTIONAL, status_names, &st) ||
        cd_get_str(c, params, NULL, "tag", CD_OPTIONAL, 200, &f->tag) ||
        cd_get_str(c, params, NULL, "lang", CD_OPTIONAL, 35, &f->lang) ||
        time_bound(c, params, "said_from", 0, &f->said_from, &f->has_from) ||
        time_bound(c, params, "said_to", 1, &f->said_to, &f->has_to) ||
        cd_get_bool(c, params, NULL, "include_retracted", CD_OPTIONAL, &f->include_retracted))
        return -1;
    if (st >= 0) f->status = st - 1;
    return 0;
}

static int fold_equal(cd_str a, cd_str b)
{
    return cd_index_str_value(a.p, a.n) == cd_index_str_value(b.p, b.n);
}

int cd_filter_match(const cd_filter *f, const cd_claim *cl)
{
    if (f->nothing) return 0;
    if (cl->retracted && !f->include_retracted) return 0;
    if (f->speaker && cl->speaker != f->speaker) return 0;
    if (f->medium >= 0 && cl->medium != f->medium) return 0;
    if (f->status >= -1 && cl->status != f->status) return 0;
    if (f->lang.n && !(cl->lang.n && fold_equal(cl->lang, f->lang))) return 0;
    if (f->has_from || f->has_to) {
        int64_t said = cd_index_said(cl);
        if (said == INT64_MIN) return 0;
        if (f->has_from && said < f->said_from) return 0;
        if (f->has_to && said >= f->said_to) return 0;
    }
    int ok;
    if (f->about) {
        ok = 0;
        for (size_t i = 0; i < cl->nabout && !ok; i++) ok = cl->about[i] == f->about;
        if (!ok) return 0;
    }
    if (f->outlet) {
        ok = 0;
        for (size_t i = 0; i < cl->napps && !ok; i++) ok = cl->apps[i].outlet == f->outlet;
        if (!ok) return 0;
    }
    if (f->via) {
        ok = 0;
        for (size_t i = 0; i < cl->nvia && !ok; i++) ok = cl->via[i].entity == f->via;
        if (!ok) return 0;
    }
    if (f->tag.n) {
        ok = 0;
        for (size_t i = 0; i < cl->ntags && !ok; i++) ok = fold_equal(cl->tags[i], f->tag);
        if (!ok) return 0;
    }
    return 1;
}

void cd_filter_pick_index(const cd_filter *f, cd_idx_kind *kind, uint64_t *value)
{
    /* Entity filters are usually the most selective, then tag, status, lang, medium. */
    if (f->speaker) { *kind = CD_IDX_SPEAKER; *value = f->speaker; }
    else if (f->via) { *kind = CD_IDX_VIA; *value = f->via; }
    else if (f->about) { *kind = CD_IDX_ABOUT; *value = f->about; }
    else if (f->outlet) { *kind = CD_IDX_OUTLET; *value = f->outlet; }
    else if (f->tag.n) { *kind = CD_IDX_TAG; *value = cd_index_str_value(f->tag.p, f->tag.n); }
    else if (f->status >= -1) { *kind = CD_IDX_STATUS; *value = (uint64_t)(f->status + 1); }
    else if (f->lang.n) { *kind = CD_IDX_LANG; *value = cd_index_str_value(f->lang.p, f->lang.n); }
    else if (f->medium >= 0) { *kind = CD_IDX_MEDIUM; *value = (uint64_t)f->medium; }
    else { *kind = CD_IDX_ALL; *value = 0; }
}
