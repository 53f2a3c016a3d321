/* query: an iterator over every page of claim.query or claim.search, and claim.match.
 *
 * The caller's parameters are kept as a decoded map; each page's request is that map (minus any
 * "cursor", and for search the "q" the iterator adds itself) plus the cursor of the page before.
 * The iterator stops only at a nil cursor, never at a short or empty page, because the daemon's
 * scan budget can end a page early. */
#include <stdlib.h>
#include <string.h>

#include "client.h"

struct claimd_query {
    claimd_ctx *ctx;
    const char *method;        /* "claim.query" or "claim.search" */
    char *q;                   /* search text, or NULL */
    claimd_value *params;      /* the caller's parameter map, or NULL */
    claimd_value *page;        /* the current page's result */
    size_t next;               /* index of the next item of the page */
    int started, done, err;
    uint64_t total;
};

static claimd_query *begin(claimd_ctx *ctx, const char *method, const char *q,
                           const claimd_args *params)
{
    if (!ctx) return NULL;
    claimd_query *it = calloc(1, sizeof *it);
    if (!it) return NULL;
    it->ctx = ctx;
    it->method = method;
    if (q && !(it->q = strdup(q))) goto fail;
    if (params) {
        const char *p;
        size_t n;
        if (cd_client_args_bytes(params, &p, &n) < 0 ||
            claimd_value_decode(p, n, &it->params) != CLAIMD_OK)
            goto fail;
    }
    return it;
fail:
    claimd_query_end(it);
    return NULL;
}

claimd_query *claimd_query_begin(claimd_ctx *ctx, const claimd_args *params)
{
    return begin(ctx, "claim.query", NULL, params);
}

claimd_query *claimd_search_begin(claimd_ctx *ctx, const char *q, const claimd_args *params)
{
    if (!q) return NULL;
    return begin(ctx, "claim.search", q, params);
}

void claimd_query_end(claimd_query *it)
{
    if (!it) return;
    claimd_value_free(it->page);
    claimd_value_free(it->params);
    free(it->q);
    free(it);
}

uint64_t claimd_query_total(const claimd_query *it)
{
    return it ? it->total : 0;
}

static int is_key(const claimd_value *k, const char *name)
{
    return k->type == CLAIMD_T_STR && k->len == strlen(name) && !memcmp(k->as.str, name, k->len);
}

/* The request for the next page: the caller's parameters with cursor (NULL on the first page). */
static claimd_args *page_request(const claimd_query *it, const claimd_value *cursor)
{
    claimd_args *a = claimd_args_new();
    if (!a) return NULL;
    for (size_t i = 0; it->params && i < it->params->len; i++) {
        const claimd_value *k = claimd_value_key_at(it->params, i);
        /* Keys of a map built with claimd_args are strings without NULs. */
        if (k->type != CLAIMD_T_STR || is_key(k, "cursor") || (it->q && is_key(k, "q"))) continue;
        claimd_args_value(a, k->as.str, claimd_value_val_at(it->params, i));
    }
    if (it->q) claimd_args_str(a, "q", it->q);
    if (cursor) claimd_args_value(a, "cursor", cursor);
    return a;
}

/* Fetches the page after the current one (the first when there is none). Returns a code. */
static int fetch(claimd_query *it)
{
    const claimd_value *cursor = it->page ? claimd_value_get(it->page, "cursor") : NULL;
    claimd_args *a = page_request(it, cursor);
    claimd_value_free(it->page);
    it->page = NULL;
    it->next = 0;
    int rc = cd_client_call_map(it->ctx, it->method, a, &it->page);
    if (rc) return rc;
    if (claimd_value_type(claimd_value_get(it->page, "items")) != CLAIMD_T_ARRAY)
        return cd_client_fail(it->ctx, CLAIMD_E_PROTOCOL, "%s: result has no items", it->method);
    if (!it->started) it->total = claimd_value_get_uint(it->page, "total", 0);
    it->started = 1;
    const claimd_value *next = claimd_value_get(it->page, "cursor");
    if (!next || next->type == CLAIMD_T_NIL) it->done = 1;
    return CLAIMD_OK;
}

int claimd_query_next(claimd_query *it, const claimd_value **item)
{
    if (item) *item = NULL;
    if (!it || !item) return CLAIMD_E_USAGE;
    if (it->err) return it->err;
    for (;;) {
        const claimd_value *items = claimd_value_get(it->page, "items");
        if (it->next < claimd_value_len(items)) {
            *item = claimd_value_at(items, it->next++);
            return CLAIMD_OK;
        }
        if (it->done) return CLAIMD_OK;
        if ((it->err = fetch(it)) != CLAIMD_OK) return it->err;
    }
}

int claimd_claim_match(claimd_ctx *ctx, const char *text, const char *speaker,
                       double min_similarity, unsigned limit, claimd_value **result)
{
    if (result) *result = NULL;
    if (!ctx || !result) return CLAIMD_E_USAGE;
    if (!text) return cd_client_fail(ctx, CLAIMD_E_USAGE, "claim.match: no text");
    claimd_args *a = claimd_args_new();
    if (a) {
        claimd_args_str(a, "text", text);
        if (speaker) claimd_args_str(a, "speaker", speaker);
        if (min_similarity >= 0) claimd_args_float(a, "min_similarity", min_similarity);
        if (limit) claimd_args_uint(a, "limit", limit);
    }
    return cd_client_call_map(ctx, "claim.match", a, result);
}
