/* cmd_export: `claimctl export`: the claims matching the filters as JSONL (claim.put input that
 * imports back to the same, with verdicts and retractions in a --verdicts sidecar), or as
 * ClaimReview JSON-LD (one ClaimReview per verdict). Streams: one page of claims (1000) is held
 * at a time, with its entities and verdicts fetched pipelined. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"

#define PAGE 1000

typedef struct {
    ctl_env *env;
    int claimreview;
    FILE *out, *sidecar;
    ctl_entity_cache cache;
    json_t *page[PAGE];        /* the claims of the page being written */
    claimd_value *verdicts[PAGE];
    size_t n;
    uint64_t line;             /* JSONL lines written */
    uint64_t claims, reviews;
    int first_review;
    uint64_t *want;            /* entity ids to fetch for this page */
    size_t nwant, capwant;
} exporter;

static void want_entity(uint64_t id, void *ctx)
{
    exporter *x = ctx;
    ctl_cached_entity *e = ctl_entity_cache_get(&x->cache, id, 1);
    if (!e || e->record || e->written == -1) return;
    e->written = -1; /* asked for: once per id */
    if (x->nwant == x->capwant) {
        size_t cap = x->capwant ? x->capwant * 2 : 256;
        uint64_t *w = realloc(x->want, cap * sizeof *w);
        if (!w) return;
        x->want = w;
        x->capwant = cap;
    }
    x->want[x->nwant++] = id;
}

/* Sends method {key: id} for each id, then stores each reply with store. Returns an exit code. */
static int fetch_all(exporter *x, const char *method, const char *key, const uint64_t *ids,
                     size_t n, void (*store)(exporter *, size_t, claimd_value *))
{
    claimd_args *a = claimd_args_new();
    if (!a) return CTL_EXIT_FAILED;
    for (size_t i = 0; i < n; i++) {
        claimd_args_reset(a);
        claimd_args_uint(a, key, ids[i]);
        if (claimd_append(x->env->ctx, method, a) != CLAIMD_OK) {
            claimd_args_free(a);
            return ctl_report_call_error(x->env);
        }
    }
    claimd_args_free(a);
    int rc = CTL_EXIT_OK;
    for (size_t i = 0; i < n; i++) {
        claimd_value *r = NULL;
        if (claimd_get_reply(x->env->ctx, &r) != CLAIMD_OK) {
            int e = ctl_report_call_error(x->env);
            if (!rc) rc = e;
            if (claimd_errcode(x->env->ctx) == CLAIMD_E_IO) return rc;
            continue;
        }
        store(x, i, r);
    }
    return rc;
}

static void store_entity(exporter *x, size_t i, claimd_value *r)
{
    ctl_cached_entity *e = ctl_entity_cache_get(&x->cache, x->want[i], 0);
    if (e) {
        e->record = ctl_json_from_value(r);
        e->written = 0;
    }
    claimd_value_free(r);
}

static void store_verdicts(exporter *x, size_t i, claimd_value *r)
{
    x->verdicts[i] = r;
}

static int write_line(FILE *f, json_t *j)
{
    if (ctl_print_json_line(f, j) < 0) {
        ctl_warn("cannot write the output: %s", strerror(errno));
        return CTL_EXIT_FAILED;
    }
    return CTL_EXIT_OK;
}

/* Writes the claims of the page (JSONL) and their sidecar lines. */
static int write_jsonl(exporter *x)
{
    int rc = CTL_EXIT_OK;
    for (size_t i = 0; i < x->n && !rc; i++) {
        json_t *claim = ctl_export_claim(x->page[i], &x->cache);
        rc = write_line(x->out, claim);
        json_decref(claim);
        x->line++;
        x->claims++;
        if (!x->sidecar) continue;
        json_t *vs = ctl_json_from_value(claimd_value_get(x->verdicts[i], "items")), *v;
        size_t k;
        json_array_foreach(vs, k, v) {
            json_t *line = json_pack("{sI so}", "line", (json_int_t)x->line, "verdict",
                                     ctl_export_verdict(v));
            if (!rc) rc = write_line(x->sidecar, line);
            json_decref(line);
        }
        json_decref(vs);
        if (json_is_true(json_object_get(x->page[i], "retracted"))) {
            json_t *r = json_object();
            json_t *reason = json_object_get(x->page[i], "retract_reason");
            if (reason) json_object_set(r, "reason", reason);
            json_t *line = json_pack("{sI so}", "line", (json_int_t)x->line, "retract", r);
            if (!rc) rc = write_line(x->sidecar, line);
            json_decref(line);
        }
    }
    return rc;
}

/* Writes one ClaimReview per verdict of the page's claims, as items of the @graph array. */
static int write_claimreview(exporter *x)
{
    for (size_t i = 0; i < x->n; i++) {
        json_t *vs = ctl_json_from_value(claimd_value_get(x->verdicts[i], "items")), *v;
        size_t k;
        x->claims++;
        json_array_foreach(vs, k, v) {
            json_t *cr = ctl_claimreview_of(x->page[i], v, &x->cache);
            fputs(x->first_review ? "\n" : ",\n", x->out);
            x->first_review = 0;
            int bad = json_dumpf(cr, x->out, JSON_COMPACT) < 0;
            json_decref(cr);
            x->reviews++;
            if (bad) {
                json_decref(vs);
                ctl_warn("cannot write the output: %s", strerror(errno));
                return CTL_EXIT_FAILED;
            }
        }
        json_decref(vs);
    }
    return CTL_EXIT_OK;
}

/* Fetches what the page needs, writes it, and empties it. */
static int flush_page(exporter *x)
{
    x->nwant = 0;
    for (size_t i = 0; i < x->n; i++) ctl_claim_entities(x->page[i], want_entity, x);
    int rc = fetch_all(x, "entity.get", "id", x->want, x->nwant, store_entity);
    if (!rc && (x->sidecar || x->claimreview)) {
        uint64_t ids[PAGE];
        for (size_t i = 0; i < x->n; i++)
            ids[i] = (uint64_t)json_integer_value(json_object_get(x->page[i], "id"));
        rc = fetch_all(x, "verdict.list", "claim", ids, x->n, store_verdicts);
    }
    if (!rc) rc = x->claimreview ? write_claimreview(x) : write_jsonl(x);
    for (size_t i = 0; i < x->n; i++) {
        json_decref(x->page[i]);
        claimd_value_free(x->verdicts[i]);
        x->verdicts[i] = NULL;
    }
    x->n = 0;
    return rc;
}

static const char export_usage_head[] =
    "Usage: claimctl export [--format jsonl|claimreview] [--output FILE] [--verdicts FILE]\n"
    "                       [FILTERS] [--order ORDER]\n\n"
    "Writes the claims matching the filters (default: every claim not retracted).\n\n"
    "  --format jsonl        (default) one claim per line, as claim.put input: `claimctl\n"
    "                        import` into an empty daemon and export again gives the same\n"
    "                        bytes. Entities are described in full where first met, then by\n"
    "                        name. id, rev, status, recorded_at are not written.\n"
    "  --verdicts FILE       (jsonl) also write each claim's verdicts, and its retraction with\n"
    "                        --include-retracted, as {\"line\": N, \"verdict\"|\"retract\": {...}}\n"
    "                        lines; `claimctl import --verdicts FILE` reads them back\n"
    "  --format claimreview  schema.org ClaimReview JSON-LD, one ClaimReview per verdict, in\n"
    "                        {\"@context\": \"https://schema.org\", \"@graph\": [...]}\n"
    "  --output FILE         write to FILE instead of stdout\n"
    "  --order ORDER         said_asc (default: keeps the round trip exact), said_desc,\n"
    "                        recorded_desc\n\n";

int ctl_cmd_export(ctl_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        CTL_FILTER_OPTIONS,
        CTL_ORDER_OPTION,
        {"format", required_argument, NULL, 'F'},
        {"output", required_argument, NULL, 'o'},
        {"verdicts", required_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    exporter *x = calloc(1, sizeof *x);
    ctl_filters f = {claimd_args_new(), 0};
    const char *output = NULL, *verdicts = NULL;
    claimd_query *it = NULL;
    int c, rc = CTL_EXIT_OK;
    if (!x || !f.args) {
        free(x);
        claimd_args_free(f.args);
        return CTL_EXIT_FAILED;
    }
    x->env = env;
    x->out = stdout;
    x->first_review = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        int took = ctl_filter_take(&f, c, optarg, argv[0]);
        if (took < 0) { rc = CTL_EXIT_USAGE; goto done; }
        if (took) continue;
        switch (c) {
        case 'F':
            if (!strcmp(optarg, "claimreview")) x->claimreview = 1;
            else if (strcmp(optarg, "jsonl")) {
                rc = ctl_usage_error(argv[0], "--format is jsonl or claimreview");
                goto done;
            }
            break;
        case 'o': output = optarg; break;
        case 'v': verdicts = optarg; break;
        case 'h':
            fputs(export_usage_head, stdout);
            fputs(ctl_filter_help, stdout);
            goto done;
        default: rc = ctl_usage_error(argv[0], "bad option"); goto done;
        }
    }
    if (optind < argc) {
        rc = ctl_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
        goto done;
    }
    if (verdicts && x->claimreview) {
        rc = ctl_usage_error(argv[0], "--verdicts is for --format jsonl (ClaimReview has them)");
        goto done;
    }
    if (!(f.seen & (1u << (CTL_F_ORDER - CTL_F_SPEAKER)))) claimd_args_str(f.args, "order", "said_asc");
    claimd_args_uint(f.args, "limit", PAGE);
    if ((rc = ctl_connect(env))) goto done;
    if (output && !(x->out = fopen(output, "w"))) {
        ctl_warn("cannot create %s: %s", output, strerror(errno));
        rc = CTL_EXIT_FAILED;
        goto done;
    }
    if (verdicts && !(x->sidecar = fopen(verdicts, "w"))) {
        ctl_warn("cannot create %s: %s", verdicts, strerror(errno));
        rc = CTL_EXIT_FAILED;
        goto done;
    }
    if (!(it = claimd_query_begin(env->ctx, f.args))) {
        rc = CTL_EXIT_FAILED;
        goto done;
    }
    if (x->claimreview) fputs("{\"@context\": \"https://schema.org\", \"@graph\": [", x->out);
    const claimd_value *claim;
    int qrc;
    while (!rc && (qrc = claimd_query_next(it, &claim)) == CLAIMD_OK && claim) {
        if (!(x->page[x->n++] = ctl_json_from_value(claim))) rc = CTL_EXIT_FAILED;
        if (x->n == PAGE) rc = flush_page(x);
    }
    if (!rc && qrc != CLAIMD_OK) rc = ctl_report_call_error(env);
    if (!rc && x->n) rc = flush_page(x);
    if (x->claimreview) fputs("\n]}\n", x->out);
done:
    for (size_t i = 0; i < x->n; i++) json_decref(x->page[i]);
    claimd_query_end(it);
    ctl_entity_cache_free(&x->cache);
    free(x->want);
    if (x->out && x->out != stdout && fclose(x->out) != 0 && !rc) {
        ctl_warn("cannot write %s: %s", output, strerror(errno));
        rc = CTL_EXIT_FAILED;
    }
    if (x->sidecar && fclose(x->sidecar) != 0 && !rc) {
        ctl_warn("cannot write %s: %s", verdicts, strerror(errno));
        rc = CTL_EXIT_FAILED;
    }
    claimd_args_free(f.args);
    free(x);
    return rc;
}
