/* cmd_lifecycle: update (claim.update), retract (claim.retract) and history (claim.history). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const char update_usage[] =
    "Usage: claimctl update ID --rev N [FIELD OPTIONS] [--by NAME]\n"
    "       claimctl update ID --rev N --set-json '{\"field\": value, ...}' [--by NAME]\n\n"
    "Changes claim ID if it is still at revision N (see `claimctl get ID`); prints {\"id\", \"rev\"}\n"
    "with the new revision. If someone changed the claim since, nothing is applied and the exit\n"
    "status is 1 with a conflict error: read it again and decide.\n\n"
    "Field options (as for add; list options replace the whole list):\n"
    "  --text TEXT  --quote | --paraphrase  --lang TAG  --speaker NAME|ID  --role ROLE\n"
    "  --attribution TEXT  --said-at TIME  --medium MEDIUM\n"
    "  --via NAME[:HOW] (repeatable)  --about NAME|ID (repeatable)  --tag LABEL (repeatable)\n"
    "  --url URL [--outlet NAME] [--title TEXT] [--published-at TIME]  (one appearance)\n"
    "  --clear FIELD          remove a field (lang, speaker, speaker_role, attribution, said_at,\n"
    "                         medium, via, appearances, about, tags; quote goes back to true)\n"
    "  --set-json OBJECT      the fields to set as one JSON object (null clears a field)\n"
    "  --by NAME              who is making the change (kept in the history)\n";

enum {
    U_TEXT = 256, U_QUOTE, U_PARAPHRASE, U_LANG, U_SPEAKER, U_ROLE, U_ATTRIBUTION, U_SAID_AT,
    U_MEDIUM, U_VIA, U_ABOUT, U_TAG, U_URL, U_OUTLET, U_TITLE, U_PUBLISHED_AT, U_CLEAR, U_SET_JSON,
    U_REV, U_BY
};

/* The repeatable and appearance options, gathered before they become lists of set. */
typedef struct {
    char **via, **about, **tags;
    size_t n_via, n_about, n_tags;
    int via_given, about_given, tags_given;
    const char *url, *outlet, *title, *published_at;
} update_lists;

/* The claim field an update option sets, or NULL. */
static const char *field_of(int code)
{
    switch (code) {
    case U_TEXT: return "text";
    case U_QUOTE: case U_PARAPHRASE: return "quote";
    case U_LANG: return "lang";
    case U_SPEAKER: return "speaker";
    case U_ROLE: return "speaker_role";
    case U_ATTRIBUTION: return "attribution";
    case U_SAID_AT: return "said_at";
    case U_MEDIUM: return "medium";
    case U_VIA: return "via";
    case U_ABOUT: return "about";
    case U_TAG: return "tags";
    case U_URL: case U_OUTLET: case U_TITLE: case U_PUBLISHED_AT: return "appearances";
    default: return NULL;
    }
}

/* A field both set and cleared (the daemon would see the key twice), or NULL. */
static const char *set_and_cleared(const char **set, size_t n_set, char **cleared, size_t n_cleared)
{
    for (size_t i = 0; i < n_cleared; i++)
        for (size_t k = 0; k < n_set; k++)
            if (!strcmp(cleared[i], set[k])) return cleared[i];
    return NULL;
}

static int add_lists(claimd_args *set, const update_lists *l)
{
    if (l->via_given) {
        claimd_args_begin_array(set, "via");
        for (size_t i = 0; i < l->n_via; i++) {
            claimd_via v = ctl_parse_via(l->via[i]);
            claimd_args_begin_map(set, NULL);
            claimd_args_str(set, "name", v.name);
            if (v.how) claimd_args_str(set, "how", v.how);
            claimd_args_end(set);
        }
        claimd_args_end(set);
    }
    if (l->about_given) {
        claimd_args_begin_array(set, "about");
        for (size_t i = 0; i < l->n_about; i++) ctl_add_entity_ref(set, NULL, l->about[i]);
        claimd_args_end(set);
    }
    if (l->tags_given) {
        claimd_args_begin_array(set, "tags");
        for (size_t i = 0; i < l->n_tags; i++) claimd_args_str(set, NULL, l->tags[i]);
        claimd_args_end(set);
    }
    if (l->url) {
        claimd_args_begin_array(set, "appearances");
        claimd_args_begin_map(set, NULL);
        claimd_args_str(set, "url", l->url);
        if (l->outlet) claimd_args_str(set, "outlet", l->outlet);
        if (l->title) claimd_args_str(set, "title", l->title);
        if (l->published_at) claimd_args_str(set, "published_at", l->published_at);
        claimd_args_end(set);
        claimd_args_end(set);
    }
    return claimd_args_error(set);
}

int ctl_cmd_update(ctl_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        {"text", required_argument, NULL, U_TEXT},
        {"quote", no_argument, NULL, U_QUOTE},
        {"paraphrase", no_argument, NULL, U_PARAPHRASE},
        {"lang", required_argument, NULL, U_LANG},
        {"speaker", required_argument, NULL, U_SPEAKER},
        {"role", required_argument, NULL, U_ROLE},
        {"attribution", required_argument, NULL, U_ATTRIBUTION},
        {"said-at", required_argument, NULL, U_SAID_AT},
        {"medium", required_argument, NULL, U_MEDIUM},
        {"via", required_argument, NULL, U_VIA},
        {"about", required_argument, NULL, U_ABOUT},
        {"tag", required_argument, NULL, U_TAG},
        {"url", required_argument, NULL, U_URL},
        {"outlet", required_argument, NULL, U_OUTLET},
        {"title", required_argument, NULL, U_TITLE},
        {"published-at", required_argument, NULL, U_PUBLISHED_AT},
        {"clear", required_argument, NULL, U_CLEAR},
        {"set-json", required_argument, NULL, U_SET_JSON},
        {"rev", required_argument, NULL, U_REV},
        {"by", required_argument, NULL, U_BY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    update_lists l = {0};
    const char **set_fields = calloc((size_t)argc, sizeof *set_fields);
    char **cleared = calloc((size_t)argc, sizeof *cleared);
    size_t n_set = 0, n_cleared = 0;
    l.via = calloc((size_t)argc, sizeof *l.via);
    l.about = calloc((size_t)argc, sizeof *l.about);
    l.tags = calloc((size_t)argc, sizeof *l.tags);
    claimd_args *set = claimd_args_new();
    json_t *set_json = NULL;
    const char *by = NULL;
    uint64_t rev = 0;
    int c, rc = CTL_EXIT_OK, fields = 0;
    if (!l.via || !l.about || !l.tags || !set || !set_fields || !cleared) {
        rc = CTL_EXIT_FAILED;
        goto done;
    }
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c >= U_TEXT && c <= U_CLEAR) fields++;
        if (field_of(c)) set_fields[n_set++] = field_of(c);
        switch (c) {
        case U_TEXT: claimd_args_str(set, "text", optarg); break;
        case U_QUOTE: claimd_args_bool(set, "quote", 1); break;
        case U_PARAPHRASE: claimd_args_bool(set, "quote", 0); break;
        case U_LANG: claimd_args_str(set, "lang", optarg); break;
        case U_SPEAKER: ctl_add_entity_ref(set, "speaker", optarg); break;
        case U_ROLE: claimd_args_str(set, "speaker_role", optarg); break;
        case U_ATTRIBUTION: claimd_args_str(set, "attribution", optarg); break;
        case U_SAID_AT: claimd_args_str(set, "said_at", optarg); break;
        case U_MEDIUM: claimd_args_str(set, "medium", optarg); break;
        case U_VIA: l.via[l.n_via++] = optarg; l.via_given = 1; break;
        case U_ABOUT: l.about[l.n_about++] = optarg; l.about_given = 1; break;
        case U_TAG: l.tags[l.n_tags++] = optarg; l.tags_given = 1; break;
        case U_URL: l.url = optarg; break;
        case U_OUTLET: l.outlet = optarg; break;
        case U_TITLE: l.title = optarg; break;
        case U_PUBLISHED_AT: l.published_at = optarg; break;
        case U_CLEAR:
            cleared[n_cleared++] = optarg;
            claimd_args_nil(set, optarg);
            break;
        case U_SET_JSON:
            json_decref(set_json);
            if (!(set_json = ctl_json_parse_object(optarg, argv[0]))) {
                rc = CTL_EXIT_USAGE;
                goto done;
            }
            break;
        case U_REV:
            if (ctl_parse_id(optarg, &rev) < 0) {
                rc = ctl_usage_error(argv[0], "--rev is a revision number (1, 2, ...)");
                goto done;
            }
            break;
        case U_BY: by = optarg; break;
        case 'h': fputs(update_usage, stdout); goto done;
        default: rc = ctl_usage_error(argv[0], "bad option"); goto done;
        }
    }
    uint64_t id;
    if (argc - optind != 1 || ctl_parse_id(argv[optind], &id) < 0) {
        rc = ctl_usage_error(argv[0], "expected one claim ID");
        goto done;
    }
    if (!rev) {
        rc = ctl_usage_error(argv[0], "--rev is required (the revision your change is based on)");
        goto done;
    }
    if ((l.outlet || l.title || l.published_at) && !l.url) {
        rc = ctl_usage_error(argv[0], "--outlet, --title and --published-at need --url");
        goto done;
    }
    const char *both = set_and_cleared(set_fields, n_set, cleared, n_cleared);
    if (both) {
        rc = ctl_usage_error(argv[0], "%s is both set and cleared", both);
        goto done;
    }
    if (set_json && fields) {
        rc = ctl_usage_error(argv[0], "--set-json and field options do not mix");
        goto done;
    }
    if (!set_json && !fields) {
        rc = ctl_usage_error(argv[0], "nothing to change: give field options or --set-json");
        goto done;
    }
    if ((set_json ? ctl_json_add_fields(set, set_json) : add_lists(set, &l)) != CLAIMD_OK) {
        rc = ctl_usage_error(argv[0], "the change cannot be sent (nested too deeply?)");
        goto done;
    }
    if ((rc = ctl_connect(env))) goto done;
    uint64_t new_rev = 0;
    if (claimd_claim_update(env->ctx, id, rev, set, by, &new_rev) != CLAIMD_OK) {
        rc = ctl_report_call_error(env);
        goto done;
    }
    rc = ctl_print_id_rev(env, id, new_rev);
done:
    json_decref(set_json);
    claimd_args_free(set);
    free((void *)set_fields);
    free(cleared);
    free(l.via);
    free(l.about);
    free(l.tags);
    return rc;
}

static const char retract_usage[] =
    "Usage: claimctl retract ID [--reason TEXT] [--by NAME]\n\n"
    "Retracts claim ID: it stays readable with \"retracted\": true and the reason, and queries\n"
    "and search leave it out unless --include-retracted. Prints {\"id\", \"rev\"}. Retracting a\n"
    "retracted claim changes nothing.\n";

int ctl_cmd_retract(ctl_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        {"reason", required_argument, NULL, 'r'},
        {"by", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *reason = NULL, *by = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'r': reason = optarg; break;
        case 'b': by = optarg; break;
        case 'h': fputs(retract_usage, stdout); return CTL_EXIT_OK;
        default: return ctl_usage_error(argv[0], "bad option");
        }
    }
    uint64_t id, rev = 0;
    if (argc - optind != 1 || ctl_parse_id(argv[optind], &id) < 0)
        return ctl_usage_error(argv[0], "expected one claim ID");
    int rc = ctl_connect(env);
    if (rc) return rc;
    if (claimd_claim_retract(env->ctx, id, reason, by, &rev) != CLAIMD_OK)
        return ctl_report_call_error(env);
    return ctl_print_id_rev(env, id, rev);
}

int ctl_cmd_history(ctl_env *env, int argc, char **argv)
{
    static const char usage[] =
        "Usage: claimctl history ID\n\n"
        "Prints every revision of claim ID, oldest first, one per line:\n"
        "{\"rev\", \"at\", \"by\", \"op\", \"claim\"} with the whole claim as it was then.\n";
    uint64_t id;
    if (ctl_wants_help(argc, argv, usage)) return CTL_EXIT_OK;
    if (argc != 2 || ctl_parse_id(argv[1], &id) < 0)
        return ctl_usage_error(argv[0], "expected one claim ID");
    int rc = ctl_connect(env);
    if (rc) return rc;
    claimd_value *h = NULL;
    if (claimd_claim_history(env->ctx, id, &h) != CLAIMD_OK) return ctl_report_call_error(env);
    rc = ctl_print_items(env, h, "items");
    claimd_value_free(h);
    return rc;
}
