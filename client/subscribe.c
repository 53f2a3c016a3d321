/* subscribe: the change feed from the client side: subscribe/unsubscribe, paging with
 * `changes`, and a blocking wait for the next change notification. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"

int claimd_subscribe(claimd_ctx *ctx, const claimd_args *filters, uint64_t *subscription,
                     uint64_t *seq)
{
    if (!ctx) return CLAIMD_E_USAGE;
    claimd_args *a;
    if (filters) {
        const char *p;
        size_t n;
        if (cd_client_args_bytes(filters, &p, &n) < 0)
            return cd_client_fail(ctx, CLAIMD_E_USAGE, "subscribe: filters have an error");
        a = claimd_args_from_msgpack(p, n);
    } else {
        a = claimd_args_new();
    }
    claimd_value *r;
    int rc = cd_client_call_map(ctx, "subscribe", a, &r);
    if (rc) return rc;
    uint64_t id = claimd_value_get_uint(r, "subscription", 0);
    if (subscription) *subscription = id;
    if (seq) *seq = claimd_value_get_uint(r, "seq", 0);
    claimd_value_free(r);
    if (!id) return cd_client_fail(ctx, CLAIMD_E_PROTOCOL, "subscribe: result has no id");
    return CLAIMD_OK;
}

int claimd_unsubscribe(claimd_ctx *ctx, uint64_t subscription)
{
    if (!ctx) return CLAIMD_E_USAGE;
    claimd_args *a = claimd_args_new();
    if (a) claimd_args_uint(a, "subscription", subscription);
    claimd_value *r;
    int rc = cd_client_call_map(ctx, "unsubscribe", a, &r);
    claimd_value_free(r);
    return rc;
}

int claimd_changes(claimd_ctx *ctx, uint64_t since, unsigned limit, claimd_value **result)
{
    if (result) *result = NULL;
    if (!ctx || !result) return CLAIMD_E_USAGE;
    claimd_args *a = claimd_args_new();
    if (a) {
        claimd_args_uint(a, "since", since);
        if (limit) claimd_args_uint(a, "limit", limit);
    }
    int rc = cd_client_call_map(ctx, "changes", a, result);
    if (rc == CLAIMD_OK && claimd_value_type(claimd_value_get(*result, "items")) != CLAIMD_T_ARRAY) {
        claimd_value_free(*result);
        *result = NULL;
        return cd_client_fail(ctx, CLAIMD_E_PROTOCOL, "changes: result has no items");
    }
    return rc;
}

static void copy_str(char *dst, size_t cap, const claimd_value *map, const char *key)
{
    const char *s = claimd_value_get_str(map, key);
    snprintf(dst, cap, "%s", s ? s : "");
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fills *change from a notification; returns 1 when it was a change or a cut-off notice. */
static int take_notification(const char *method, const claimd_value *params, claimd_change *change)
{
    const claimd_value *body = claimd_value_at(params, 0);
    if (!strcmp(method, "change")) {
        uint64_t seq = claimd_value_get_uint(body, "seq", 0);
        if (!seq) return 0;
        change->seq = seq;
        change->id = claimd_value_get_uint(body, "id", 0);
        copy_str(change->op, sizeof change->op, body, "op");
        copy_str(change->type, sizeof change->type, body, "type");
        copy_str(change->at, sizeof change->at, body, "at");
        change->subscription = claimd_value_get_uint(body, "subscription", 0);
        return 1;
    }
    if (!strcmp(method, "subscription.closed")) {
        change->closed = claimd_value_get_uint(body, "subscription", 0);
        copy_str(change->reason, sizeof change->reason, body, "reason");
        return change->closed != 0;
    }
    return 0;
}

int claimd_next_change(claimd_ctx *ctx, claimd_change *out, int timeout_ms)
{
    if (!ctx || !out || out->struct_size < CD_MIN_CHANGE) return CLAIMD_E_USAGE;
    /* Filled in our own struct, then copied into as much of the caller's as it has. */
    claimd_change change = CLAIMD_CHANGE_INIT;
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    int rc = CLAIMD_OK;
    for (;;) {
        int wait = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            wait = left <= 0 ? 0 : left > 1000000000 ? 1000000000 : (int)left;
        }
        char *method = NULL;
        claimd_value *params = NULL;
        rc = claimd_next_notification(ctx, &method, &params, wait);
        if (rc || !method) break; /* an error, or timed out */
        int got = take_notification(method, params, &change);
        free(method);
        claimd_value_free(params);
        if (got) break;
        change = (claimd_change)CLAIMD_CHANGE_INIT;
    }
    cd_client_struct_out(out, &change, sizeof change);
    return rc;
}
