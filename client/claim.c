/* claim: typed helpers for the common calls, built on claimd_call. Each packs a claimd_args,
 * calls, and reads the fields it promises out of the result. */
#include <stdlib.h>
#include <string.h>

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

/* Adds key: [the n strings]; a count without items is an error. */
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
        for (size_t i = 0; i < c->n_via; i++) {
            claimd_via v;
            if (cd_client_struct_in(&v, sizeof v, cd_client_struct_at(c->via, i, CD_MIN_VIA),
                                    CD_MIN_VIA) < 0) {
                mark_bad(a);
                break;
            }
            claimd_args_begin_map(a, NULL);
            claimd_args_str(a, "name", v.name);
            opt_str(a, "how", v.how);
            claimd_args_end(a);
        }
        claimd_args_end(a);
    }
    if (c->n_appearances) {
        claimd_args_begin_array(a, "appearances");
        for (size_t i = 0; i < c->n_appearances; i++) {
            claimd_appearance ap;
            if (cd_client_struct_in(&ap, sizeof ap,
                                    cd_client_struct_at(c->appearances, i, CD_MIN_APPEARANCE),
                                    CD_MIN_APPEARANCE) < 0) {
                mark_bad(a);
                break;
            }
            claimd_args_begin_map(a, NULL);
            claimd_args_str(a, "url", ap.url);
            opt_str(a, "outlet", ap.outlet);
            opt_str(a, "title", ap.title);
            opt_str(a, "published_at", ap.published_at);
            opt_str(a, "lang", ap.lang);
            claimd_args_end(a);
        }
        claimd_args_end(a);
    }
    str_list(a, "about", c->about, c->n_about);
    str_list(a, "tags", c->tags, c->n_tags);
    opt_str(a, "external_id", c->external_id);
    opt_str(a, "by", c->by);
}

/* Adds the caller's claim (read through its struct_size) as claimd_args_claim describes. */
static int add_claim(claimd_args *a, const char *key, const claimd_claim *theirs)
{
    claimd_claim c;
    if (cd_client_struct_in(&c, sizeof c, theirs, CD_MIN_CLAIM) < 0 || !c.text) {
        mark_bad(a);
        return a->err;
    }
    int into_open_map = !key && !a->packed && a->depth > 0 && a->frames[a->depth - 1].is_map;
    if (into_open_map) {
        claim_fields(a, &c);
        return a->err;
    }
    claimd_args_begin_map(a, key);
    claim_fields(a, &c);
    claimd_args_end(a);
    return a->err;
}

int claimd_args_claim(claimd_args *a, const char *key, const claimd_claim *claim)
{
    if (!a) return CLAIMD_E_USAGE;
    return add_claim(a, key, claim);
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
    claimd_claim c;
    if (cd_client_struct_in(&c, sizeof c, claim, CD_MIN_CLAIM) < 0)
        return cd_client_fail(ctx, CLAIMD_E_USAGE, "claim without struct_size (CLAIMD_INIT)");
    if (!c.text) return cd_client_fail(ctx, CLAIMD_E_USAGE, "claim without text");
    claimd_args *a = claimd_args_new();
    if (a) {
        add_claim(a, NULL, claim);
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

int claimd_verdict_add(claimd_ctx *ctx, const claimd_verdict *verdict, uint64_t *verdict_id)
{
    if (!ctx) return CLAIMD_E_USAGE;
    claimd_verdict v;
    if (cd_client_struct_in(&v, sizeof v, verdict, CD_MIN_VERDICT) < 0)
        return cd_client_fail(ctx, CLAIMD_E_USAGE, "verdict without struct_size (CLAIMD_INIT)");
    if (!v.rating) return cd_client_fail(ctx, CLAIMD_E_USAGE, "verdict without rating");
    claimd_args *a = claimd_args_new();
    if (a) {
        claimd_args_uint(a, "claim", v.claim);
        claimd_args_str(a, "rating", v.rating);
        opt_str(a, "label", v.label);
        /* A whole score goes as an integer, the form every server expects for 1..5. */
        if (v.score == (double)(int64_t)v.score && v.score != 0)
            claimd_args_int(a, "score", (int64_t)v.score);
        else if (v.score != 0)
            claimd_args_float(a, "score", v.score);
        opt_str(a, "by", v.by);
        opt_str(a, "at", v.at);
        opt_str(a, "summary", v.summary);
        opt_str(a, "url", v.url);
        str_list(a, "evidence", v.evidence, v.n_evidence);
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
    size_t stride = n ? results[0].struct_size : 0;
    if (n && stride < CD_MIN_IMPORT_RESULT)
        return cd_client_fail(ctx, CLAIMD_E_USAGE,
                              "claim.import: results[0] without struct_size (CLAIMD_INIT)");
    for (size_t i = 0; i < n; i++)
        if (!cd_client_struct_at(claims, i, CD_MIN_CLAIM))
            return cd_client_fail(ctx, CLAIMD_E_USAGE,
                                  "claim.import: claim %zu without the struct_size of claim 0", i);
    claimd_args *a = claimd_args_new();
    if (a) {
        claimd_args_begin_array(a, "claims");
        for (size_t i = 0; i < n; i++)
            add_claim(a, NULL, cd_client_struct_at(claims, i, CD_MIN_CLAIM));
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
        claimd_import_result res = CLAIMD_IMPORT_RESULT_INIT;
        res.id = claimd_value_get_uint(item, "id", 0);
        if (err && err->type != CLAIMD_T_NIL) {
            size_t clen = 0;
            const char *code = claimd_value_str(claimd_value_get(err, "code"), &clen);
            res.code = code ? (int)claimd_code_from_name(code, clen) : CLAIMD_E_INTERNAL;
            res.id = 0;
            rejected++;
        } else {
            claimd_value_bool(claimd_value_get(item, "created"), &res.created);
        }
        /* The caller's array has its own stride; every element gets results[0]'s size. */
        void *slot = (char *)results + i * stride;
        memcpy(slot, &stride, sizeof stride);
        cd_client_struct_out(slot, &res, sizeof res);
    }
    if (n_rejected) *n_rejected = rejected;
    if (reply) *reply = r;
    else claimd_value_free(r);
    return CLAIMD_OK;
}
