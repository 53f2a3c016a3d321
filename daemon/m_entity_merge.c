/* m_entity_merge: entity.merge: one entity known under two names becomes one. The merged-away
 * entity keeps answering (with merged_into), its names resolve to the target, and every claim
 * that referred to it is rewritten to the target in a new revision, so indexes find it there. */
#include <string.h>
#include "claim.h"
#include "entity.h"
#include "index.h"
#include "methods.h"
#include "params.h"
#include "record.h"

/* Replaces from by into in every entity field of cl (dropping duplicates it creates). */
static void rewrite_refs(cd_claim *cl, uint64_t from, uint64_t into)
{
    if (cl->speaker == from) cl->speaker = into;
    for (size_t i = 0; i < cl->napps; i++)
        if (cl->apps[i].outlet == from) cl->apps[i].outlet = into;
    size_t m = 0;
    for (size_t i = 0; i < cl->nvia; i++) {
        cd_via v = cl->via[i];
        if (v.entity == from) v.entity = into;
        int dup = 0;
        for (size_t k = 0; k < m && !dup; k++) dup = cl->via[k].entity == v.entity && cl->via[k].how == v.how;
        if (!dup) cl->via[m++] = v;
    }
    cl->nvia = m;
    m = 0;
    for (size_t i = 0; i < cl->nabout; i++) {
        uint64_t a = cl->about[i] == from ? into : cl->about[i];
        int dup = 0;
        for (size_t k = 0; k < m && !dup; k++) dup = cl->about[k] == a;
        if (!dup) cl->about[m++] = a;
    }
    cl->nabout = m;
}

/* Copies a claim's lists into zone memory so they can be edited without touching old. */
static int own_lists(cd_call *c, cd_claim *cl)
{
    cd_via *via = cd_call_alloc(c, (cl->nvia + 1) * sizeof *via);
    cd_appearance *apps = cd_call_alloc(c, (cl->napps + 1) * sizeof *apps);
    uint64_t *about = cd_call_alloc(c, (cl->nabout + 1) * sizeof *about);
    if (!via || !apps || !about) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    cd_copy(via, cl->via, cl->nvia * sizeof *via);
    cd_copy(apps, cl->apps, cl->napps * sizeof *apps);
    cd_copy(about, cl->about, cl->nabout * sizeof *about);
    cl->via = via; cl->apps = apps; cl->about = about;
    return 0;
}

static int resolve_existing(cd_call *c, MDB_txn *txn, const char *key, cd_entity *e)
{
    const msgpack_object *ref = cd_map_get(&c->params, key);
    uint64_t id;
    if (!ref) return cd_fail(c, CLAIMD_E_INVALID, key, "required");
    if (ref->type == MSGPACK_OBJECT_POSITIVE_INTEGER) id = ref->via.u64;
    else if (cd_entity_resolve(c, txn, ref, key, 0, &id)) return -1;
    if (!id || cd_entity_load(c, txn, id, e) == MDB_NOTFOUND)
        return cd_fail(c, CLAIMD_E_NOT_FOUND, key, "no such entity");
    if (e->merged_into)
        return cd_fail(c, CLAIMD_E_INVALID, key, "entity %llu is already merged into %llu",
                       (unsigned long long)e->id, (unsigned long long)e->merged_into);
    return c->err ? -1 : 0;
}

void cd_m_entity_merge(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "from", "into", "by", NULL };
    cd_entity from, into;
    cd_str by = { 0 };
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_str(c, &c->params, NULL, "by", CD_OPTIONAL, CD_SHORT_MAX, &by) ||
        resolve_existing(c, txn, "from", &from) || resolve_existing(c, txn, "into", &into))
        return;
    if (from.id == into.id) { cd_fail(c, CLAIMD_E_INVALID, "into", "cannot merge an entity into itself"); return; }

    /* The target learns every name of the merged entity. */
    cd_str *aliases = cd_call_alloc(c, (into.naliases + from.naliases + 2) * sizeof *aliases);
    if (!aliases) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); return; }
    cd_copy(aliases, into.aliases, into.naliases * sizeof *aliases);
    into.aliases = aliases;
    for (size_t i = 0; i <= from.naliases; i++) {
        cd_str name = i == 0 ? from.name : from.aliases[i - 1];
        int dup = name.n == into.name.n && memcmp(name.p, into.name.p, name.n) == 0;
        for (size_t k = 0; k < into.naliases && !dup; k++)
            dup = name.n == into.aliases[k].n && memcmp(name.p, into.aliases[k].p, name.n) == 0;
        if (dup) continue;
        if (into.naliases >= CD_ENTITY_ALIASES_MAX) {
            cd_fail(c, CLAIMD_E_TOO_LARGE, "from", "the merged entity would have more than %d aliases",
                    CD_ENTITY_ALIASES_MAX);
            return;
        }
        into.aliases[into.naliases++] = name;
    }
    if (!into.description.n) into.description = from.description;
    if (!into.wikidata.n) into.wikidata = from.wikidata;
    if (into.kind == CD_KIND_UNKNOWN) into.kind = from.kind;
    for (size_t i = 0; i <= from.naliases; i++)
        if (cd_entity_index_name(c, txn, i == 0 ? from.name : from.aliases[i - 1], into.id, from.id)) return;
    if (cd_entity_store(c, txn, &into, "entity.update")) return;
    from.merged_into = into.id;
    if (cd_entity_store(c, txn, &from, "entity.merge")) return;

    uint64_t *ids = NULL;
    size_t n = 0, cap = 0;
    static const cd_idx_kind kinds[] = { CD_IDX_SPEAKER, CD_IDX_ABOUT, CD_IDX_OUTLET, CD_IDX_VIA };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
        if (cd_index_collect(c, txn, kinds[k], from.id, &ids, &n, &cap)) return;
    for (size_t i = 0; i < n; i++) {
        cd_claim old, cl;
        if (cd_claim_load(c, txn, ids[i], &old)) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "indexed claim vanished"); return; }
        cl = old;
        if (own_lists(c, &cl)) return;
        rewrite_refs(&cl, from.id, into.id);
        if (cd_claim_store(c, txn, &old, &cl, "entity.merge", by)) return;
    }
    cd_entity_pack(&c->pk, &into);
}
