/* cmd_query: query (claim.query), search (claim.search) and match (claim.match). query and
 * search follow cursors until --limit items are printed or the daemon has no more, one JSON
 * object per line. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define PAGE_MAX 1000

static const char query_usage_head[] =
    "Usage: claimctl query [FILTERS] [--order ORDER] [--limit N]\n\n"
    "Prints the matching claims, one JSON object per line, following the daemon's cursors until\n"
    "N claims are printed (default: all of them).\n\n"
    "  --order ORDER          said_desc (default), said_asc or recorded_desc\n"
    "  --limit N              print at most N claims\n\n";

static const char search_usage_head[] =
    "Usage: claimctl search QUERY [FILTERS] [--limit N | --all]\n\n"
    "Full-text search: QUERY is words (all must match), \"exact phrases\" and prefix* words.\n"
    "Prints the hits best first, one per line: {\"id\", \"score\", \"snippet\", \"claim\"}, where\n"
    "the snippet marks matched words with [ ]. See docs/search.md.\n\n"
    "  --limit N              print at most N hits (default 20)\n"
    "  --all                  print every hit\n\n";

/* Prints up to max items (0: all) of an iterator. Returns an exit code. */
static int print_all(ctl_env *env, claimd_query *it, uint64_t max)
{
    const claimd_value *item;
    uint64_t n = 0;
    int rc = CLAIMD_OK;
    while ((max == 0 || n < max) && (rc = claimd_query_next(it, &item)) == CLAIMD_OK && item) {
        if ((rc = ctl_print_value(env, item))) return rc;
        n++;
    }
    if ((max == 0 || n < max) && rc != CLAIMD_OK) return ctl_report_call_error(env);
    return CTL_EXIT_OK;
}

/* The shared body of query and search (q NULL: query). */
static int run_listing(ctl_env *env, int argc, char **argv, int search)
{
    static const struct option opts[] = {
        CTL_FILTER_OPTIONS,
        CTL_ORDER_OPTION,
        {"limit", required_argument, NULL, 'l'},
        {"all", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ctl_filters f = {claimd_args_new(), 0};
    long limit = search ? 20 : 0;
    int c, rc = CTL_EXIT_OK;
    if (!f.args) return CTL_EXIT_FAILED;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int took = ctl_filter_take(&f, c, optarg, argv[0]);
        if (took < 0) { rc = CTL_EXIT_USAGE; goto done; }
        if (took) {
            if (search && c == CTL_F_ORDER) {
                rc = ctl_usage_error(argv[0], "search results are ranked: no --order");
                goto done;
            }
            continue;
        }
        switch (c) {
        case 'l':
            if (ctl_parse_int(optarg, 1, 2000000000L, &limit) < 0) {
                rc = ctl_usage_error(argv[0], "--limit is a positive number");
                goto done;
            }
            break;
        case 'a':
            if (!search) { rc = ctl_usage_error(argv[0], "bad option"); goto done; }
            limit = 0;
            break;
        case 'h':
            fputs(search ? search_usage_head : query_usage_head, stdout);
            fputs(ctl_filter_help, stdout);
            goto done;
        default: rc = ctl_usage_error(argv[0], "bad option"); goto done;
        }
    }
    if (argc - optind != (search ? 1 : 0)) {
        rc = ctl_usage_error(argv[0], search ? "expected one QUERY" : "unexpected argument '%s'",
                             argv[optind]);
        goto done;
    }
    claimd_args_uint(f.args, "limit", limit > 0 && limit < PAGE_MAX ? (uint64_t)limit : PAGE_MAX);
    if ((rc = ctl_connect(env))) goto done;
    claimd_query *it = search ? claimd_search_begin(env->ctx, argv[optind], f.args)
                              : claimd_query_begin(env->ctx, f.args);
    if (!it) {
        ctl_warn("out of memory");
        rc = CTL_EXIT_FAILED;
        goto done;
    }
    rc = print_all(env, it, (uint64_t)limit);
    claimd_query_end(it);
done:
    claimd_args_free(f.args);
    return rc;
}

int ctl_cmd_query(ctl_env *env, int argc, char **argv)
{
    return run_listing(env, argc, argv, 0);
}

int ctl_cmd_search(ctl_env *env, int argc, char **argv)
{
    return run_listing(env, argc, argv, 1);
}

static const char match_usage[] =
    "Usage: claimctl match TEXT [--lang TAG] [--speaker NAME|ID] [--min-similarity X]\n"
    "                           [--limit N] [--include-retracted] [--claims]\n\n"
    "Finds claims that repeat TEXT, also lightly re-worded (near-duplicates), best first:\n"
    "one {\"id\", \"similarity\"} per line, similarity from 0 to 1.\n\n"
    "  --lang TAG             TEXT's language: only claims in it, words stemmed for it\n"
    "  --speaker NAME|ID      only claims of this speaker\n"
    "  --min-similarity X     the least similarity to report (0 to 1; daemon default otherwise)\n"
    "  --limit N              at most N claims\n"
    "  --include-retracted    consider retracted claims too\n"
    "  --claims               add each matched claim as \"claim\"\n";

/* Adds the claim of each {"id", "similarity"} item (read pipelined) and prints the items. */
static int print_matches_with_claims(ctl_env *env, const claimd_value *items)
{
    claimd_args *a = claimd_args_new();
    if (!a) return CTL_EXIT_FAILED;
    for (size_t i = 0; i < claimd_value_len(items); i++) {
        claimd_args_reset(a);
        claimd_args_uint(a, "id", claimd_value_get_uint(claimd_value_at(items, i), "id", 0));
        if (claimd_append(env->ctx, "claim.get", a) != CLAIMD_OK) {
            claimd_args_free(a);
            return ctl_report_call_error(env);
        }
    }
    claimd_args_free(a);
    int rc = CTL_EXIT_OK;
    for (size_t i = 0; i < claimd_value_len(items); i++) {
        claimd_value *claim = NULL;
        if (claimd_get_reply(env->ctx, &claim) != CLAIMD_OK) {
            int e = ctl_report_call_error(env);
            if (!rc) rc = e;
            if (claimd_errcode(env->ctx) == CLAIMD_E_IO) return rc;
            continue;
        }
        json_t *j = ctl_json_from_value(claimd_value_at(items, i));
        json_object_set_new(j, "claim", ctl_json_from_value(claim));
        claimd_value_free(claim);
        int prc = ctl_print_json(env, j);
        json_decref(j);
        if (prc && !rc) rc = prc;
    }
    return rc;
}

int ctl_cmd_match(ctl_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        {"speaker", required_argument, NULL, 's'},
        {"lang", required_argument, NULL, 'L'},
        {"min-similarity", required_argument, NULL, 'm'},
        {"limit", required_argument, NULL, 'l'},
        {"include-retracted", no_argument, NULL, 'r'},
        {"claims", no_argument, NULL, 'c'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *speaker = NULL, *lang = NULL;
    double min_sim = -1;
    long limit = 0;
    int c, retracted = 0, with_claims = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 's': speaker = optarg; break;
        case 'L': lang = optarg; break;
        case 'm': {
            char *end;
            min_sim = strtod(optarg, &end);
            if (*end || end == optarg || !(min_sim >= 0 && min_sim <= 1))
                return ctl_usage_error(argv[0], "--min-similarity is a number from 0 to 1");
            break;
        }
        case 'l':
            if (ctl_parse_int(optarg, 1, 1000, &limit) < 0)
                return ctl_usage_error(argv[0], "--limit is a number from 1 to 1000");
            break;
        case 'r': retracted = 1; break;
        case 'c': with_claims = 1; break;
        case 'h': fputs(match_usage, stdout); return CTL_EXIT_OK;
        default: return ctl_usage_error(argv[0], "bad option");
        }
    }
    if (argc - optind != 1) return ctl_usage_error(argv[0], "expected one TEXT");
    claimd_args *a = claimd_args_new();
    if (!a) return CTL_EXIT_FAILED;
    claimd_args_str(a, "text", argv[optind]);
    if (speaker) ctl_add_entity_ref(a, "speaker", speaker);
    if (lang) claimd_args_str(a, "lang", lang);
    if (min_sim >= 0) claimd_args_float(a, "min_similarity", min_sim);
    if (limit) claimd_args_int(a, "limit", limit);
    if (retracted) claimd_args_bool(a, "include_retracted", 1);
    int rc = ctl_connect(env);
    claimd_value *r = NULL;
    if (!rc && claimd_call(env->ctx, "claim.match", a, &r) != CLAIMD_OK)
        rc = ctl_report_call_error(env);
    claimd_args_free(a);
    if (rc) return rc;
    const claimd_value *items = claimd_value_get(r, "items");
    if (claimd_value_type(items) != CLAIMD_T_ARRAY) {
        ctl_warn("the result has no \"items\" list");
        rc = CTL_EXIT_FAILED;
    } else {
        rc = with_claims ? print_matches_with_claims(env, items) : ctl_print_items(env, r, "items");
    }
    claimd_value_free(r);
    return rc;
}
