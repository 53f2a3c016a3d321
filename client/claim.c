/* claim: typed helpers for the common calls, built on claimd_call. Each packs a claimd_args,
 * calls, and reads the fields it promises out of the result. */
#include <stdlib.h>

#include "client.h"

/* Puts the builder in error: the claim is inconsistent (a count without items, no text). */
static void mark_bad(claimd_args *a)
{
    if (a->err == CLAIMD_OK) a->err = CLAIMD_E_USAGE;
}

/* Adds key: s when s is given. */
static void opt_str(claimd_args *a, const char *key, const char *s)
{
    if (s) claimd_args_str(a, key, s);
}

static void str_list(claimd_args *a, const char *key, const char *const *items, size_t n)
{
    if (!n) return;
    if (!items) {
        mark_bad(a);
        return;
    }
    claimd_args_begin_array(a, key);
    for (size_t i = 0; i < n; i++) claimd_args_str(a, NULL, items[i]);
    claimd_args_end(a);
}

static void claim_fields(claimd_args *a, const claimd_claim *c)
{
    claimd_args_str(a, "text", c->text);
    if (c->quote != CLAIMD_QUOTE_DEFAULT)
        claimd_args_bool(a, "quote", c->quote == CLAIMD_QUOTE_VERBATIM);
    opt_str(a, "lang", c->lang);
    if (c->speaker) {
        claimd_args_str(a, "speaker", c->speaker);
    } else if (c->speaker_id) {
        claimd_args_begin_map(a, "speaker");
        claimd_args_uint(a, "id", c->speaker_id);
        claimd_args_end(a);
    }
    opt_str(a, "speaker_role", c->speaker_role);
    opt_str(a, "attribution", c->attribution);
    opt_str(a, "said_at", c->said_at);
    opt_str(a, "medium", c->medium);
    if (c->n_via) {
        claimd_args_begin_array(a, "via");
        for (size_t i = 0; c->via && i < c->n_via; i++) {
            claimd_args_begin_map(a, NULL);
            claimd_args_str(a, "name", c->via[i].name);
            opt_str(a, "how", c->via[i].how);
            claimd_args_end(a);
        }
        if (!c->via) mark_bad(a);
        claimd_args_end(a);
    }
    if (c->n_appearances) {
        claimd_args_begin_array(a, "appearances");
        for (size_t i = 0; c->appearances && i < c->n_appearances; i++) {
            const claimd_appearance *ap = &c->appearances[i];
            claimd_args_begin_map(a, NULL);
            claimd_args_str(a, "url", ap->url);
            opt_str(a, "outlet", ap->outlet);
            opt_str(a, "title", ap->title);
            opt_str(a, "published_at", ap->published_at);
            opt_str(a, "lang", ap->lang);
            claimd_args_end(a);
        }
        if (!c->appearances) mark_bad(a);
        claimd_args_end(a);
    }
    str_list(a, "about", c->about, c->n_about);
    str_list(a, "tags", c->tags, c->n_tags);
    opt_str(a, "external_id", c->external_id);
    opt_str(a, "by", c->by);
}

int claimd_args_claim(claimd_args *a, const char *key, const claimd_claim *claim)
{
    if (!a) return CLAIMD_E_USAGE;
    if (!claim || !claim->text) {
        mark_bad(a);
        return a->err;
    }
    int into_open_map = !key && !a->packed && a->depth > 0 && a->frames[a->depth - 1].is_map;
    if (into_open_map) {
        claim_fields(a, claim);
        return a->err;
    }
    claimd_args_begin_map(a, key);
    claim_fields(a, claim);
    claimd_args_end(a);
    return a->err;
}

int cd_client_call_map(claimd_ctx *ctx, const char *method, claimd_args *a, claimd_value **out)
{
    *out = NULL;
    if (!a) return cd_client_fail(ctx, CLAIMD_E_NOMEM, "out of memory");
    int rc = claimd_args_error(a);
    if (rc) {
        claimd_args_free(a);
        return cd_client_fail(ctx, rc, "%s: bad parameters", method);
    }
    rc = claimd_call(ctx, method, a, out);
    claimd_args_free(a);
    if (rc) return rc;
    if (claimd_value_type(*out) != CLAIMD_T_MAP) {
        claimd_value_free(*out);
        *out = NULL;
        return cd_client_fail(ctx, CLAIMD_E_PROTOCOL, "%s: result is not a map", method);
    }
    return CLAIMD_OK;
}

int claimd_claim_put(claimd_ctx *ctx, const claimd_claim *claim, const char *on_duplicate,
                     uint64_t *id, uint64_t *rev, int *created)
{
    if (!ctx) return CLAIMD_E_USAGE;
    if (!claim || !claim->text) return cd_client_fail(ctx, CLAIMD_E_USAGE, "claim without text");
    claimd_args *a = claimd_args_new();
    if (a) {
        claimd_args_claim(a, NULL, claim);
        opt_str(a, "on_duplicate", on_duplicate);
    }
    claimd_value *r;
    int rc = cd_client_call_map(ctx, "claim.put", a, &r);
    if (rc) return rc;
    uint64_t got_id = claimd_value_get_uint(r, "id", 0);
    if (got_id == 0) rc = cd_client_fail(ctx, CLAIMD_E_PROTOCOL, "claim.put: result has no id");
    if (id) *id = got_id;
    if (rev) *rev = claimd_value_get_uint(r, "rev", 0);
    if (created) {
        int b = 0;
        claimd_value_bool(claimd_value_get(r, "created"), &b);
        *created = b;
    }
    claimd_value_free(r);
    return rc;
}

int claimd_claim_get(claimd_ctx *ctx, uint64_t id, claimd_value **claim)
{
    if (claim) *claim = NULL;
    if (!ctx || !claim) return CLAIMD_E_USAGE;
    claimd_args *a = claimd_args_new();
    if (a) claimd_args_uint(a, "id", id);
    return cd_client_call_map(ctx, "claim.get", a, claim);
}

int claimd_verdict_add(claimd_ctx *ctx, uint64_t claim_id, const char *rating, const char *label,
                       int score, const char *by, const char *at, const char *summary,
                       const char *url, uint64_t *verdict_id)
{
    if (!ctx) return CLAIMD_E_USAGE;
    if (!rating) return cd_client_fail(ctx, CLAIMD_E_USAGE, "verdict without rating");
    claimd_args *a = claimd_args_new();
    if (a) {
        claimd_args_uint(a, "claim", claim_id);
        claimd_args_str(a, "rating", rating);
        opt_str(a, "label", label);
        if (score) claimd_args_int(a, "score", score);
        opt_str(a, "by", by);
        opt_str(a, "at", at);
        opt_str(a, "summary", summary);
        opt_str(a, "url", url);
    }
    claimd_value *r;
    int rc = cd_client_call_map(ctx, "verdict.add", a, &r);
    if (rc) return rc;
    uint64_t vid = claimd_value_get_uint(r, "id", 0);
    if (vid == 0) rc = cd_client_fail(ctx, CLAIMD_E_PROTOCOL, "verdict.add: result has no id");
    if (verdict_id) *verdict_id = vid;
    claimd_value_free(r);
    return rc;
}

int claimd_claim_import(claimd_ctx *ctx, const claimd_claim *claims, size_t n,
                        const char *on_duplicate, claimd_import_result *results,
                        size_t *n_rejected, claimd_value **reply)
{
    if (reply) *reply = NULL;
    if (n_rejected) *n_rejected = 0;
    if (!ctx) return CLAIMD_E_USAGE;
    if ((n && (!claims || !results)) || n > UINT32_MAX)
        return cd_client_fail(ctx, CLAIMD_E_USAGE, "claim.import: bad claims or results");
    claimd_args *a = claimd_args_new();
    if (a) {
        claimd_args_begin_array(a, "claims");
        for (size_t i = 0; i < n; i++) claimd_args_claim(a, NULL, &claims[i]);
        claimd_args_end(a);
        opt_str(a, "on_duplicate", on_duplicate);
    }
    claimd_value *r;
    int rc = cd_client_call_map(ctx, "claim.import", a, &r);
    if (rc) return rc;
    const claimd_value *list = claimd_value_get(r, "results");
    if (claimd_value_type(list) != CLAIMD_T_ARRAY || list->len != n) {
        claimd_value_free(r);
        return cd_client_fail(ctx, CLAIMD_E_PROTOCOL,
                              "claim.import: results do not match the %zu claims sent", n);
    }
    size_t rejected = 0;
    for (size_t i = 0; i < n; i++) {
        const claimd_value *item = claimd_value_at(list, i);
        const claimd_value *err = claimd_value_get(item, "error");
        claimd_import_result *res = &results[i];
        res->id = claimd_value_get_uint(item, "id", 0);
        res->created = 0;
        res->code = CLAIMD_OK;
        if (err && err->type != CLAIMD_T_NIL) {
            size_t clen = 0;
            const char *code = claimd_value_str(claimd_value_get(err, "code"), &clen);
            res->code = code ? (int)claimd_code_from_name(code, clen) : CLAIMD_E_INTERNAL;
            res->id = 0;
            rejected++;
        } else {
            claimd_value_bool(claimd_value_get(item, "created"), &res->created);
        }
    }
    if (n_rejected) *n_rejected = rejected;
    if (reply) *reply = r;
    else claimd_value_free(r);
    return CLAIMD_OK;
}
