/* m_lifecycle: claim.update (optimistic concurrency), claim.retract, claim.history. */
#include <string.h>
#include "claim.h"
#include "history.h"
#include "isotime.h"
#include "methods.h"
#include "params.h"

/* Loads claim id for a change, answering not_found under field when it does not exist. */
static int load_for_change(cd_call *c, MDB_txn *txn, uint64_t id, const char *field, cd_claim *cl)
{
    int rc = cd_claim_load(c, txn, id, cl);
    if (rc == MDB_NOTFOUND)
        return cd_fail(c, CLAIMD_E_NOT_FOUND, field, "no claim with id %llu", (unsigned long long)id);
    return rc ? -1 : 0;
}

static void pack_id_rev(cd_call *c, const cd_claim *cl)
{
    msgpack_pack_map(&c->pk, 2);
    cd_pack_cstr(&c->pk, "id");
    msgpack_pack_uint64(&c->pk, cl->id);
    cd_pack_cstr(&c->pk, "rev");
    msgpack_pack_uint32(&c->pk, cl->rev);
}

void cd_m_claim_update(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "id", "rev", "set", "by", NULL };
    uint64_t id, rev;
    cd_str by = { 0 };
    const msgpack_object *set = cd_map_get(&c->params, "set");
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_u64(c, &c->params, NULL, "id", CD_REQUIRED, 1, UINT64_MAX, &id) ||
        cd_get_u64(c, &c->params, NULL, "rev", CD_REQUIRED, 1, UINT32_MAX, &rev) ||
        cd_get_str(c, &c->params, NULL, "by", CD_OPTIONAL, CD_SHORT_MAX, &by))
        return;
    if (!set || set->type != MSGPACK_OBJECT_MAP || set->via.map.size == 0) {
        cd_fail(c, CLAIMD_E_INVALID, "set", "must be a map of the fields to change");
        return;
    }
    cd_claim old, cl;
    if (load_for_change(c, txn, id, "id", &old)) return;
    if (old.rev != rev) {
        cd_fail(c, CLAIMD_E_CONFLICT, "rev", "claim %llu is at rev %u, not %llu", (unsigned long long)id,
                old.rev, (unsigned long long)rev);
        cd_call_error_id(c, id);
        return;
    }
    cl = old;
    if (cd_claim_parse(c, txn, set, "set", &cl, CD_PARSE_PARTIAL)) return;
    cl.has_dedup_hash = 0;
    if (cd_claim_store(c, txn, &old, &cl, "claim.update", by)) return;
    pack_id_rev(c, &cl);
}

void cd_m_claim_retract(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "id", "reason", "by", "rev", NULL };
    uint64_t id, rev = 0;
    cd_str reason = { 0 }, by = { 0 };
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_u64(c, &c->params, NULL, "id", CD_REQUIRED, 1, UINT64_MAX, &id) ||
        cd_get_u64(c, &c->params, NULL, "rev", CD_OPTIONAL, 1, UINT32_MAX, &rev) ||
        cd_get_str(c, &c->params, NULL, "reason", CD_OPTIONAL, 4096, &reason) ||
        cd_get_str(c, &c->params, NULL, "by", CD_OPTIONAL, CD_SHORT_MAX, &by))
        return;
    cd_claim old, cl;
    if (load_for_change(c, txn, id, "id", &old)) return;
    if (rev && old.rev != rev) {
        cd_fail(c, CLAIMD_E_CONFLICT, "rev", "claim %llu is at rev %u", (unsigned long long)id, old.rev);
        cd_call_error_id(c, id);
        return;
    }
    /* Retracting twice changes nothing: the first retraction and its reason stand. */
    if (old.retracted) { pack_id_rev(c, &old); return; }
    cl = old;
    cl.retracted = 1;
    cl.retract_reason = reason;
    if (cd_claim_store(c, txn, &old, &cl, "claim.retract", by)) return;
    pack_id_rev(c, &cl);
}

static int pack_revision(cd_call *c, MDB_txn *txn, const cd_revision *r, void *ud)
{
    char when[40];
    (*(uint32_t *)ud)++;
    msgpack_pack_map(&c->pk, 5);
    cd_pack_cstr(&c->pk, "rev");
    msgpack_pack_uint32(&c->pk, r->rev);
    cd_pack_cstr(&c->pk, "at");
    cd_pack_cstr(&c->pk, cd_time_format_us(r->at, when));
    cd_pack_cstr(&c->pk, "by");
    if (r->by.n) cd_pack_strn(&c->pk, r->by.p, r->by.n); else msgpack_pack_nil(&c->pk);
    cd_pack_cstr(&c->pk, "op");
    cd_pack_strn(&c->pk, r->op.p, r->op.n);
    cd_pack_cstr(&c->pk, "claim");
    cd_claim_pack(c, txn, &r->claim);
    return 0;
}

static int count_revision(cd_call *c, MDB_txn *txn, const cd_revision *r, void *ud)
{
    (void)c; (void)txn; (void)r;
    (*(uint32_t *)ud)++;
    return 0;
}

void cd_m_claim_history(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "id", NULL };
    uint64_t id;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_u64(c, &c->params, NULL, "id", CD_REQUIRED, 1, UINT64_MAX, &id))
        return;
    /* Count first: the array header precedes the items. */
    uint32_t n = 0;
    int rc = cd_history_each(c, txn, id, count_revision, &n);
    if (rc == MDB_NOTFOUND) { cd_fail(c, CLAIMD_E_NOT_FOUND, "id", "no claim with id %llu", (unsigned long long)id); return; }
    if (rc) return;
    msgpack_pack_map(&c->pk, 1);
    cd_pack_cstr(&c->pk, "items");
    msgpack_pack_array(&c->pk, n);
    uint32_t packed = 0;
    cd_history_each(c, txn, id, pack_revision, &packed);
}
