/* lifecycle: typed helpers for the calls that revise a claim (claim.update, claim.retract) and
 * read its revisions (claim.history). */
#include "client.h"

/* Reads the "rev" of an {"id", "rev"} result into *new_rev and frees the result. */
static int take_rev(claimd_ctx *ctx, const char *method, claimd_value *r, uint64_t *new_rev)
{
    uint64_t rev = claimd_value_get_uint(r, "rev", 0);
    claimd_value_free(r);
    if (rev == 0) return cd_client_fail(ctx, CLAIMD_E_PROTOCOL, "%s: result has no rev", method);
    if (new_rev) *new_rev = rev;
    return CLAIMD_OK;
}

int claimd_claim_update(claimd_ctx *ctx, uint64_t id, uint64_t rev, const claimd_args *set,
                        const char *by, uint64_t *new_rev)
{
    if (!ctx) return CLAIMD_E_USAGE;
    const char *set_bytes;
    size_t set_len;
    if (!set || cd_client_args_bytes(set, &set_bytes, &set_len) < 0)
        return cd_client_fail(ctx, CLAIMD_E_USAGE, "claim.update: set has an error or is open");
    claimd_args *a = claimd_args_new();
    if (a) {
        claimd_args_uint(a, "id", id);
        claimd_args_uint(a, "rev", rev);
        claimd_args_raw(a, "set", set_bytes, set_len);
        if (by) claimd_args_str(a, "by", by);
    }
    claimd_value *r;
    int rc = cd_client_call_map(ctx, "claim.update", a, &r);
    return rc ? rc : take_rev(ctx, "claim.update", r, new_rev);
}

int claimd_claim_retract(claimd_ctx *ctx, uint64_t id, const char *reason, const char *by,
                         uint64_t *new_rev)
{
    if (!ctx) return CLAIMD_E_USAGE;
    claimd_args *a = claimd_args_new();
    if (a) {
        claimd_args_uint(a, "id", id);
        if (reason) claimd_args_str(a, "reason", reason);
        if (by) claimd_args_str(a, "by", by);
    }
    claimd_value *r;
    int rc = cd_client_call_map(ctx, "claim.retract", a, &r);
    return rc ? rc : take_rev(ctx, "claim.retract", r, new_rev);
}

int claimd_claim_history(claimd_ctx *ctx, uint64_t id, claimd_value **result)
{
    if (result) *result = NULL;
    if (!ctx || !result) return CLAIMD_E_USAGE;
    claimd_args *a = claimd_args_new();
    if (a) claimd_args_uint(a, "id", id);
    int rc = cd_client_call_map(ctx, "claim.history", a, result);
    if (rc == CLAIMD_OK && claimd_value_type(claimd_value_get(*result, "items")) != CLAIMD_T_ARRAY) {
        claimd_value_free(*result);
        *result = NULL;
        return cd_client_fail(ctx, CLAIMD_E_PROTOCOL, "claim.history: result has no items");
    }
    return rc;
}
