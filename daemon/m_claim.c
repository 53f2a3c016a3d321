/* m_claim: claim.put, claim.get, claim.import, appearance.add. */
#include <string.h>
#include "claim.h"
#include "db.h"
#include "methods.h"
#include "params.h"
#include "record.h"
#include "server.h"
#include "history.h"
#include "verdict.h"

enum { DUP_MERGE = 0, DUP_SKIP, DUP_ERROR };
static const char *const dup_names[] = { "merge", "skip", "error", NULL };

typedef struct { uint64_t id; uint32_t rev; int created; } put_result;

/* Puts one claim. A first pass validates the input and finds a duplicate without writing
 * anything (unknown entities are not created), so an invalid item, a skipped duplicate or a
 * conflict leaves no trace; only then is the input resolved for real and written. This keeps
 * claim.import free of a nested transaction per item, which LMDB makes costly. */
static int put_one(cd_call *c, MDB_txn *txn, const msgpack_object *map, const char *prefix,
                   int on_dup, put_result *res)
{
    cd_claim probe, cl, old;
    uint64_t dup;
    if (cd_get_enum(c, map, prefix, "on_duplicate", CD_OPTIONAL, dup_names, &on_dup) ||
        cd_claim_parse(c, txn, map, prefix, &probe, CD_PARSE_PROBE) ||
        cd_claim_find_duplicate(c, txn, &probe, &dup))
        return -1;
    if (dup && on_dup == DUP_ERROR) {
        cd_fail(c, CLAIMD_E_CONFLICT, cd_field_path(c, prefix, probe.external_id.n ? "external_id" : "text"),
                "duplicate of claim %llu", (unsigned long long)dup);
        cd_call_error_id(c, dup);
        return -1;
    }
    if (dup && cd_claim_load(c, txn, dup, &old))
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "duplicate claim %llu vanished", (unsigned long long)dup);
    if (dup && on_dup == DUP_SKIP) {
        *res = (put_result){ dup, old.rev, 0 };
        return 0;
    }
    if (cd_claim_parse(c, txn, map, prefix, &cl, 0)) {
        /* The probe accepted this input, so only storage can fail here; make sure the whole
         * request is undone, since entities may already have been created. */
        if (!c->mdb_rc) c->mdb_rc = MDB_BAD_TXN;
        return -1;
    }
    cl.dedup_hash = probe.dedup_hash;
    cl.has_dedup_hash = probe.has_dedup_hash && probe.speaker == cl.speaker;
    if (!dup) {
        if (cd_claim_store(c, txn, NULL, &cl, "claim.create", cl.recorded_by)) return -1;
        *res = (put_result){ cl.id, cl.rev, 1 };
        return 0;
    }
    *res = (put_result){ dup, old.rev, 0 };
    cd_claim merged = old;
    /* A duplicate found by its text under a new external_id: the key finds it from now on, so
     * re-running that import is idempotent; the claim keeps its first external_id. */
    if (cl.external_id.n && cd_claim_add_extid(c, txn, cl.external_id, dup)) return -1;
    if (!merged.external_id.n) merged.external_id = cl.external_id;
    long added = cd_claim_merge_lists(c, &merged, &cl, prefix);
    if (added < 0) return -1;
    if (added > 0 || merged.external_id.n != old.external_id.n) {
        if (cd_claim_store(c, txn, &old, &merged, "claim.merge", cl.recorded_by)) return -1;
        res->rev = merged.rev;
    }
    return 0;
}

static void pack_put_result(msgpack_packer *pk, const put_result *r)
{
    msgpack_pack_map(pk, 3);
    cd_pack_cstr(pk, "id");
    msgpack_pack_uint64(pk, r->id);
    cd_pack_cstr(pk, "rev");
    msgpack_pack_uint32(pk, r->rev);
    cd_pack_cstr(pk, "created");
    if (r->created) msgpack_pack_true(pk); else msgpack_pack_false(pk);
}

void cd_m_claim_put(cd_call *c, MDB_txn *txn)
{
    put_result r;
    if (c->params.type != MSGPACK_OBJECT_MAP) { cd_fail(c, CLAIMD_E_INVALID, "text", "required"); return; }
    if (put_one(c, txn, &c->params, NULL, DUP_MERGE, &r)) return;
    pack_put_result(&c->pk, &r);
}

void cd_m_claim_import(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "claims", "on_duplicate", NULL };
    const msgpack_object *claims = NULL;
    int on_dup = DUP_MERGE;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_enum(c, &c->params, NULL, "on_duplicate", CD_OPTIONAL, dup_names, &on_dup) ||
        cd_get_array(c, &c->params, NULL, "claims", CD_REQUIRED, c->srv->cfg.max_batch, &claims))
        return;
    msgpack_pack_map(&c->pk, 1);
    cd_pack_cstr(&c->pk, "results");
    msgpack_pack_array(&c->pk, claims->via.array.size);
    for (uint32_t i = 0; i < claims->via.array.size; i++) {
        put_result r;
        const char *prefix = cd_call_item_path(c, NULL, "claims", i);
        if (put_one(c, txn, &claims->via.array.ptr[i], prefix, on_dup, &r) == 0) {
            pack_put_result(&c->pk, &r);
            continue;
        }
        /* Storage trouble fails the whole request (the writer may grow the map and retry it);
         * anything else is this item's own error. */
        if (c->mdb_rc) return;
        msgpack_pack_map(&c->pk, 1);
        cd_pack_cstr(&c->pk, "error");
        msgpack_pack_map(&c->pk, 2 + !!c->err_field + c->has_err_id);
        cd_pack_cstr(&c->pk, "code");
        cd_pack_cstr(&c->pk, claimd_code_name(c->err));
        cd_pack_cstr(&c->pk, "message");
        cd_pack_cstr(&c->pk, c->err_msg);
        if (c->err_field) { cd_pack_cstr(&c->pk, "field"); cd_pack_cstr(&c->pk, c->err_field); }
        if (c->has_err_id) { cd_pack_cstr(&c->pk, "id"); msgpack_pack_uint64(&c->pk, c->err_id); }
        c->err = CLAIMD_OK;
        c->err_field = NULL;
        c->has_err_id = 0;
    }
}

void cd_m_claim_get(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "id", "as_of", NULL };
    uint64_t id;
    int64_t as_of = INT64_MAX;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_u64(c, &c->params, NULL, "id", CD_REQUIRED, 1, UINT64_MAX, &id) ||
        cd_get_as_of(c, &c->params, &as_of))
        return;
    cd_claim cl;
    int rc = as_of == INT64_MAX ? cd_claim_load(c, txn, id, &cl) : cd_history_as_of(c, txn, id, as_of, &cl);
    if (rc == MDB_NOTFOUND) {
        cd_fail(c, CLAIMD_E_NOT_FOUND, "id", as_of == INT64_MAX ? "no claim with id %llu"
                : "claim %llu was not recorded yet at as_of", (unsigned long long)id);
        return;
    }
    if (rc) return;
    if (as_of == INT64_MAX) { cd_claim_pack(c, txn, &cl); return; }
    /* As of an instant: the claim as it was, plus its verdicts as they were then. */
    cd_claim_pack_extra(c, txn, &cl, 1);
    cd_pack_cstr(&c->pk, "verdicts");
    cd_verdicts_pack(c, txn, id, as_of);
}

void cd_m_appearance_add(cd_call *c, MDB_txn *txn)
{
    uint64_t id;
    cd_str by = { 0 };
    cd_claim old, cl = { 0 };
    cd_appearance app;
    if (cd_get_u64(c, &c->params, NULL, "claim", CD_REQUIRED, 1, UINT64_MAX, &id) ||
        cd_get_str(c, &c->params, NULL, "by", CD_OPTIONAL, CD_SHORT_MAX, &by) ||
        cd_appearance_parse(c, txn, &c->params, NULL, &app, 1))
        return;
    int rc = cd_claim_load(c, txn, id, &old);
    if (rc == MDB_NOTFOUND) { cd_fail(c, CLAIMD_E_NOT_FOUND, "claim", "no claim with id %llu", (unsigned long long)id); return; }
    if (rc) return;
    cd_claim merged = old;
    cl.apps = &app;
    cl.napps = 1;
    uint32_t rev = old.rev;
    long added = cd_claim_merge_lists(c, &merged, &cl, NULL);
    if (added < 0) return;
    if (added > 0) {
        if (cd_claim_store(c, txn, &old, &merged, "appearance.add", by)) return;
        rev = merged.rev;
    }
    msgpack_pack_map(&c->pk, 1);
    cd_pack_cstr(&c->pk, "claim_rev");
    msgpack_pack_uint32(&c->pk, rev);
}
