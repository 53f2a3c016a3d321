/* m_entity: entity.put, entity.get, entity.find. */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "entity.h"
#include "methods.h"
#include "params.h"
#include "server.h"
#include "text.h"

#define FIND_LIMIT_DEFAULT 20
#define FIND_LIMIT_MAX 1000

void cd_m_entity_put(cd_call *c, MDB_txn *txn)
{
    uint64_t id;
    if (c->params.type != MSGPACK_OBJECT_MAP) { cd_fail(c, CLAIMD_E_INVALID, "name", "required"); return; }
    if (cd_map_get(&c->params, "id")) {
        cd_fail(c, CLAIMD_E_INVALID, "id", "ids are assigned by the daemon");
        return;
    }
    if (cd_entity_resolve(c, txn, &c->params, NULL, 1, &id)) return;
    cd_entity e;
    if (cd_entity_load(c, txn, id, &e)) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "entity vanished"); return; }
    cd_entity_pack(&c->pk, &e);
}

void cd_m_entity_get(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "id", NULL };
    uint64_t id;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_u64(c, &c->params, NULL, "id", CD_REQUIRED, 1, UINT64_MAX, &id))
        return;
    cd_entity e;
    int rc = cd_entity_load(c, txn, id, &e);
    if (rc == MDB_NOTFOUND) { cd_fail(c, CLAIMD_E_NOT_FOUND, "id", "no entity with id %llu", (unsigned long long)id); return; }
    if (rc) return;
    cd_entity_pack(&c->pk, &e);
}

/* Collects distinct entity ids whose folded names start with (or equal) the folded query. */
static size_t find_ids(cd_call *c, MDB_txn *txn, const char *folded, size_t flen, int prefix,
                       uint64_t *ids, size_t limit)
{
    MDB_cursor *cur;
    size_t n = 0;
    if (mdb_cursor_open(txn, c->srv->db.dbi[CD_DBI_ALIASES], &cur)) return 0;
    MDB_val k = { flen, (void *)folded }, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (; rc == 0 && n < limit; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < flen || memcmp(k.mv_data, folded, flen) != 0) break;
        if (!prefix && k.mv_size != flen) break;
        uint64_t id = cd_get_u64be(v.mv_data);
        int seen = 0;
        for (size_t i = 0; i < n && !seen; i++) seen = ids[i] == id;
        if (!seen) ids[n++] = id;
    }
    mdb_cursor_close(cur);
    return n;
}

void cd_m_entity_find(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "name", "prefix", "limit", NULL };
    cd_str name = { 0 }, prefix = { 0 };
    uint64_t limit = FIND_LIMIT_DEFAULT;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_str(c, &c->params, NULL, "name", CD_OPTIONAL, CD_NAME_MAX, &name) ||
        cd_get_str(c, &c->params, NULL, "prefix", CD_OPTIONAL, CD_NAME_MAX, &prefix) ||
        cd_get_u64(c, &c->params, NULL, "limit", CD_OPTIONAL, 1, FIND_LIMIT_MAX, &limit))
        return;
    if (!name.n == !prefix.n) { cd_fail(c, CLAIMD_E_INVALID, "name", "give exactly one of name or prefix"); return; }
    cd_str q = name.n ? name : prefix;
    size_t flen;
    char *folded = cd_text_fold(q.p, q.n, &flen);
    if (!folded) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); return; }
    uint64_t *ids = cd_call_alloc(c, limit * sizeof *ids);
    size_t n = ids ? find_ids(c, txn, folded, flen, prefix.n > 0, ids, limit) : 0;
    free(folded);
    /* Merged entities answer as their target; skip targets already listed. */
    cd_entity *found = cd_call_alloc(c, (n ? n : 1) * sizeof *found);
    size_t m = 0;
    for (size_t i = 0; found && i < n; i++) {
        cd_entity e;
        if (cd_entity_load(c, txn, ids[i], &e)) continue;
        if (e.merged_into && cd_entity_load(c, txn, e.merged_into, &e)) continue;
        int dup = 0;
        for (size_t j = 0; j < m && !dup; j++) dup = found[j].id == e.id;
        if (!dup) found[m++] = e;
    }
    msgpack_pack_map(&c->pk, 1);
    cd_pack_cstr(&c->pk, "items");
    msgpack_pack_array(&c->pk, (uint32_t)m);
    for (size_t i = 0; i < m; i++) cd_entity_pack(&c->pk, &found[i]);
}
