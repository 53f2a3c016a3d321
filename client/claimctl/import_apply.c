/* import_apply: the verdicts and retractions that come with imported records (ClaimReview, CSV
 * verdict columns, the --verdicts sidecar of an export), applied once the claims' batch has
 * been answered and every claim has an id.
 *
 * claim.import has no verdicts, and verdict.add has no idempotency key, so a re-run (after a
 * kill -9, say) must not add a verdict twice: each claim's verdicts are read first (verdict.list,
 * pipelined for the whole batch), and a verdict is added only when the claim has none with the
 * same rating, url and at. A retraction is idempotent in the daemon. This runs on a second
 * connection so the claim.import pipeline on the first keeps its order. */
#include <stdlib.h>
#include <string.h>

#include "import.h"

/* A verdict sent earlier in this batch, to catch two records that merged into one claim. */
typedef struct {
    uint64_t claim;
    json_t *v;
} sent_verdict;

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

/* Whether verdict v (import side, JSON) is the one stored as existing (daemon side). */
static int same_verdict(json_t *v, const char *rating, const char *url, const char *at)
{
    const char *vat = json_string_value(json_object_get(v, "at"));
    char canon[48];
    if (!same_str(json_string_value(json_object_get(v, "rating")), rating) ||
        !same_str(json_string_value(json_object_get(v, "url")), url))
        return 0;
    if (!vat) return 1; /* no at: the daemon stamps "now", so any at is the same verdict */
    const char *c = ctl_canonical_time(vat, canon);
    return c && at && !strcmp(c, at);
}

static int already_stored(json_t *v, const claimd_value *list)
{
    const claimd_value *items = claimd_value_get(list, "items");
    for (size_t i = 0; i < claimd_value_len(items); i++) {
        const claimd_value *x = claimd_value_at(items, i);
        if (same_verdict(v, claimd_value_get_str(x, "rating"), claimd_value_get_str(x, "url"),
                         claimd_value_get_str(x, "at")))
            return 1;
    }
    return 0;
}

static int already_sent(json_t *v, uint64_t claim, const sent_verdict *sent, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (sent[i].claim != claim) continue;
        json_t *s = sent[i].v;
        const char *at = json_string_value(json_object_get(s, "at"));
        char canon[48];
        if (same_verdict(v, json_string_value(json_object_get(s, "rating")),
                         json_string_value(json_object_get(s, "url")),
                         at ? ctl_canonical_time(at, canon) : NULL))
            return 1;
    }
    return 0;
}

static int connect_side(ctl_importer *im)
{
    if (im->side) return 0;
    if (!(im->side = claimd_new())) return -1;
    if (claimd_connect(im->side, im->env->socket) != CLAIMD_OK) {
        ctl_warn("%s: %s", claimd_code_name(claimd_errcode(im->side)), claimd_errstr(im->side));
        return -1;
    }
    return 0;
}

/* Writes a rejects line for verdict j (-1: the retraction) of entry e. */
static void reject_part(ctl_importer *im, const ctl_entry *e, int j, claimd_ctx *ctx)
{
    json_t *err = ctl_json_from_value(claimd_error_value(ctx));
    if (!err || !json_is_object(err))
        err = ctl_import_error(claimd_code_name(claimd_errcode(ctx)), claimd_errstr(ctx), NULL);
    const char *field = json_string_value(json_object_get(err, "field"));
    char path[160];
    if (j >= 0) snprintf(path, sizeof path, "verdicts[%d]%s%s", j, field ? "." : "", field ? field : "");
    else snprintf(path, sizeof path, "retract%s%s", field ? "." : "", field ? field : "");
    json_object_set_new(err, "field", json_string(path));
    ctl_import_write_reject(im, im->where_key, e->where, e->input, err);
}

/* A pending request: entry i, verdict j (-1: retraction). */
typedef struct {
    size_t i;
    int j;
} pending;

void ctl_import_apply(ctl_importer *im, ctl_batch *b)
{
    if (im->fatal) return;
    if (connect_side(im) < 0) {
        im->fatal = CTL_EXIT_UNREACHABLE;
        return;
    }
    claimd_ctx *ctx = im->side;
    claimd_value **lists = calloc(b->m, sizeof *lists);
    char *asked = calloc(b->m, 1);
    pending *p = NULL;
    sent_verdict *sent = NULL;
    size_t np = 0, nsent = 0, cap = 0;
    claimd_args *a = claimd_args_new();
    if (!lists || !asked || !a) goto oom;

    /* 1. The verdicts each claim has now, pipelined. */
    for (size_t i = 0; i < b->m; i++) {
        ctl_entry *e = &b->e[i];
        if (!e->id || !json_array_size(json_object_get(e->extras, "verdicts"))) continue;
        claimd_args_reset(a);
        claimd_args_uint(a, "claim", e->id);
        if (claimd_append(ctx, "verdict.list", a) != CLAIMD_OK) goto io;
        asked[i] = 1;
    }
    for (size_t i = 0; i < b->m; i++) {
        if (!asked[i]) continue;
        if (claimd_get_reply(ctx, &lists[i]) != CLAIMD_OK) {
            if (claimd_errcode(ctx) == CLAIMD_E_IO || claimd_errcode(ctx) == CLAIMD_E_PROTOCOL)
                goto io;
            size_t nv = json_array_size(json_object_get(b->e[i].extras, "verdicts"));
            reject_part(im, &b->e[i], 0, ctx);
            im->v_rejected += nv;
            json_object_del(b->e[i].extras, "verdicts");
        }
    }

    /* 2. The verdicts not there yet, and the retractions, pipelined. */
    for (size_t i = 0; i < b->m; i++) {
        ctl_entry *e = &b->e[i];
        if (!e->id || !e->extras) continue;
        json_t *vs = json_object_get(e->extras, "verdicts"), *retract;
        size_t nv = json_array_size(vs), need = nv + 1;
        if (np + need > cap) {
            size_t ncap = (np + need) * 2;
            pending *np2 = realloc(p, ncap * sizeof *p);
            if (np2) p = np2;
            sent_verdict *ns = realloc(sent, ncap * sizeof *sent);
            if (ns) sent = ns;
            if (!np2 || !ns) goto oom;
            cap = ncap;
        }
        for (size_t j = 0; j < nv; j++) {
            json_t *v = json_array_get(vs, j);
            if (already_stored(v, lists[i]) || already_sent(v, e->id, sent, nsent)) {
                im->v_present++;
                continue;
            }
            claimd_args_reset(a);
            claimd_args_uint(a, "claim", e->id);
            if (ctl_json_add_fields(a, v) != CLAIMD_OK || claimd_append(ctx, "verdict.add", a))
                goto io;
            sent[nsent++] = (sent_verdict){e->id, v};
            p[np++] = (pending){i, (int)j};
        }
        if ((retract = json_object_get(e->extras, "retract"))) {
            claimd_args_reset(a);
            claimd_args_uint(a, "id", e->id);
            if (ctl_json_add_fields(a, retract) != CLAIMD_OK ||
                claimd_append(ctx, "claim.retract", a))
                goto io;
            p[np++] = (pending){i, -1};
        }
    }
    for (size_t k = 0; k < np; k++) {
        if (claimd_get_reply(ctx, NULL) == CLAIMD_OK) {
            if (p[k].j >= 0) im->v_added++;
            else im->retracted++;
            continue;
        }
        if (claimd_errcode(ctx) == CLAIMD_E_IO || claimd_errcode(ctx) == CLAIMD_E_PROTOCOL) goto io;
        reject_part(im, &b->e[p[k].i], p[k].j, ctx);
        if (p[k].j >= 0) im->v_rejected++;
    }
    goto out;
oom:
    ctl_warn("out of memory");
    im->fatal = CTL_EXIT_FAILED;
    goto out;
io:
    ctl_warn("verdicts: %s: %s", claimd_code_name(claimd_errcode(ctx)), claimd_errstr(ctx));
    im->fatal = claimd_errcode(ctx) == CLAIMD_E_IO ? CTL_EXIT_UNREACHABLE : CTL_EXIT_FAILED;
out:
    for (size_t i = 0; lists && i < b->m; i++) claimd_value_free(lists[i]);
    free(lists);
    free(asked);
    free(p);
    free(sent);
    claimd_args_free(a);
}
