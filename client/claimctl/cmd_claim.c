/* cmd_claim: add (claim.put), get (claim.get) and appearance (appearance.add). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

static const char add_usage[] =
    "Usage: claimctl add --text TEXT [FIELD OPTIONS] [--on-duplicate POLICY]\n"
    "       claimctl add [--on-duplicate POLICY] < claim.json\n\n"
    "Records a claim and prints {\"id\", \"rev\", \"created\"}. Without --text, the claim is the\n"
    "JSON object on stdin (the fields of claim.put, see claimctl(1)).\n\n"
    "Field options:\n"
    "  --text TEXT            what was said (required)\n"
    "  --paraphrase           TEXT is a paraphrase, not a verbatim quotation\n"
    "  --lang TAG             language of TEXT (en, ru, uk, ...)\n"
    "  --speaker NAME         who said it (an entity name or alias; created if new)\n"
    "  --role ROLE            the speaker's role as reported (\"Kremlin spokesman\")\n"
    "  --attribution TEXT     the attribution as printed\n"
    "  --said-at TIME         when it was said (ISO 8601: 2018, 2018-08-08, ...T14:05Z)\n"
    "  --medium MEDIUM        post, statement, interview, speech, press-conference, ...\n"
    "  --via NAME[:HOW]       a hop of the attribution chain, outlet first (repeatable);\n"
    "                         HOW: quoted reported citing with-reporting-by translated other\n"
    "  --url URL              where it was published, with --outlet NAME, --title TEXT,\n"
    "                         --published-at TIME\n"
    "  --about NAME           who or what the claim is about (repeatable)\n"
    "  --tag LABEL            a free label (repeatable)\n"
    "  --external-id KEY      your own key for the claim (makes adding it again idempotent)\n"
    "  --by NAME              who is recording it\n"
    "  --on-duplicate POLICY  merge (default), skip or error\n";

enum {
    OPT_TEXT = 256, OPT_PARAPHRASE, OPT_LANG, OPT_SPEAKER, OPT_ROLE, OPT_ATTRIBUTION, OPT_SAID_AT,
    OPT_MEDIUM, OPT_VIA, OPT_URL, OPT_OUTLET, OPT_TITLE, OPT_PUBLISHED_AT, OPT_ABOUT, OPT_TAG,
    OPT_EXTERNAL_ID, OPT_BY, OPT_ON_DUPLICATE
};

/* Prints {"id", "rev", "created"} for a put. */
static int print_put(ctl_env *env, uint64_t id, uint64_t rev, int created)
{
    json_t *j = json_pack("{sI sI sb}", "id", (json_int_t)id, "rev", (json_int_t)rev,
                          "created", created);
    char *s = j ? json_dumps(j, env->pretty ? JSON_INDENT(2) : JSON_COMPACT) : NULL;
    json_decref(j);
    if (!s) return CTL_EXIT_FAILED;
    puts(s);
    free(s);
    return CTL_EXIT_OK;
}

/* add without --text: the claim is a JSON object on stdin. */
static int add_from_stdin(ctl_env *env, const char *cmd, const char *on_duplicate)
{
    if (isatty(STDIN_FILENO))
        return ctl_usage_error(cmd, "--text is required (or a JSON claim object on stdin)");
    json_t *obj = ctl_json_read_object(stdin, cmd);
    if (!obj) return CTL_EXIT_USAGE;
    if (on_duplicate) json_object_set_new(obj, "on_duplicate", json_string(on_duplicate));
    claimd_args *a = claimd_args_new();
    int bad = !a || ctl_json_add_fields(a, obj) != CLAIMD_OK;
    json_decref(obj);
    if (bad) {
        claimd_args_free(a);
        return ctl_usage_error(cmd, "the claim cannot be sent (nested too deeply?)");
    }
    int rc = ctl_call_and_print(env, "claim.put", a, NULL);
    claimd_args_free(a);
    return rc;
}

int ctl_cmd_add(ctl_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        {"text", required_argument, NULL, OPT_TEXT},
        {"paraphrase", no_argument, NULL, OPT_PARAPHRASE},
        {"lang", required_argument, NULL, OPT_LANG},
        {"speaker", required_argument, NULL, OPT_SPEAKER},
        {"role", required_argument, NULL, OPT_ROLE},
        {"attribution", required_argument, NULL, OPT_ATTRIBUTION},
        {"said-at", required_argument, NULL, OPT_SAID_AT},
        {"medium", required_argument, NULL, OPT_MEDIUM},
        {"via", required_argument, NULL, OPT_VIA},
        {"url", required_argument, NULL, OPT_URL},
        {"outlet", required_argument, NULL, OPT_OUTLET},
        {"title", required_argument, NULL, OPT_TITLE},
        {"published-at", required_argument, NULL, OPT_PUBLISHED_AT},
        {"about", required_argument, NULL, OPT_ABOUT},
        {"tag", required_argument, NULL, OPT_TAG},
        {"external-id", required_argument, NULL, OPT_EXTERNAL_ID},
        {"by", required_argument, NULL, OPT_BY},
        {"on-duplicate", required_argument, NULL, OPT_ON_DUPLICATE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    claimd_claim cl = CLAIMD_CLAIM_INIT;
    claimd_appearance ap = CLAIMD_APPEARANCE_INIT;
    /* Repeatable options can occur at most argc times. */
    claimd_via *via = calloc((size_t)argc, sizeof *via);
    const char **about = calloc((size_t)argc, sizeof *about);
    const char **tags = calloc((size_t)argc, sizeof *tags);
    const char *on_duplicate = NULL;
    int fields = 0, rc = CTL_EXIT_OK, c;
    if (!via || !about || !tags) {
        ctl_warn("out of memory");
        rc = CTL_EXIT_FAILED;
        goto free_lists;
    }
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c != OPT_ON_DUPLICATE && c != 'h' && c != '?') fields++;
        switch (c) {
        case OPT_TEXT: cl.text = optarg; break;
        case OPT_PARAPHRASE: cl.quote = CLAIMD_QUOTE_PARAPHRASE; break;
        case OPT_LANG: cl.lang = optarg; break;
        case OPT_SPEAKER: cl.speaker = optarg; break;
        case OPT_ROLE: cl.speaker_role = optarg; break;
        case OPT_ATTRIBUTION: cl.attribution = optarg; break;
        case OPT_SAID_AT: cl.said_at = optarg; break;
        case OPT_MEDIUM: cl.medium = optarg; break;
        case OPT_VIA: via[cl.n_via++] = ctl_parse_via(optarg); break;
        case OPT_URL: ap.url = optarg; break;
        case OPT_OUTLET: ap.outlet = optarg; break;
        case OPT_TITLE: ap.title = optarg; break;
        case OPT_PUBLISHED_AT: ap.published_at = optarg; break;
        case OPT_ABOUT: about[cl.n_about++] = optarg; break;
        case OPT_TAG: tags[cl.n_tags++] = optarg; break;
        case OPT_EXTERNAL_ID: cl.external_id = optarg; break;
        case OPT_BY: cl.by = optarg; break;
        case OPT_ON_DUPLICATE: on_duplicate = optarg; break;
        case 'h': fputs(add_usage, stdout); goto free_lists;
        default: rc = ctl_usage_error(argv[0], "bad option"); goto free_lists;
        }
    }
    if (optind < argc) {
        rc = ctl_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
        goto free_lists;
    }
    if (on_duplicate && !ctl_valid_on_duplicate(on_duplicate)) {
        rc = ctl_usage_error(argv[0], "--on-duplicate is merge, skip or error");
        goto free_lists;
    }
    if (!cl.text) {
        if (fields) rc = ctl_usage_error(argv[0], "--text is required with field options");
        else rc = add_from_stdin(env, argv[0], on_duplicate);
        goto free_lists;
    }
    if ((ap.outlet || ap.title || ap.published_at) && !ap.url) {
        rc = ctl_usage_error(argv[0], "--outlet, --title and --published-at need --url");
        goto free_lists;
    }
    if (ap.url) {
        ap.lang = cl.lang;
        cl.appearances = &ap;
        cl.n_appearances = 1;
    }
    cl.via = via;
    cl.about = about;
    cl.tags = tags;
    if ((rc = ctl_connect(env))) goto free_lists;
    uint64_t id = 0, rev = 0;
    int created = 0;
    if (claimd_claim_put(env->ctx, &cl, on_duplicate, &id, &rev, &created) != CLAIMD_OK)
        rc = ctl_report_call_error(env);
    else
        rc = print_put(env, id, rev, created);
free_lists:
    free(via);
    free(about);
    free(tags);
    return rc;
}

int ctl_cmd_get(ctl_env *env, int argc, char **argv)
{
    static const char usage[] = "Usage: claimctl get ID\n\nPrints the claim ID as JSON.\n";
    uint64_t id;
    if (ctl_wants_help(argc, argv, usage)) return CTL_EXIT_OK;
    if (argc != 2) return ctl_usage_error(argv[0], "expected one claim ID");
    if (ctl_parse_id(argv[1], &id) < 0) return ctl_usage_error(argv[0], "bad ID '%s'", argv[1]);
    int rc = ctl_connect(env);
    if (rc) return rc;
    claimd_value *claim = NULL;
    if (claimd_claim_get(env->ctx, id, &claim) != CLAIMD_OK) return ctl_report_call_error(env);
    rc = ctl_print_value(env, claim);
    claimd_value_free(claim);
    return rc;
}

static const char appearance_usage[] =
    "Usage: claimctl appearance ID --url URL [--outlet NAME] [--title TEXT]\n"
    "                             [--published-at TIME] [--lang TAG]\n\n"
    "Adds a place where claim ID was published. Prints {\"claim_rev\"}.\n";

int ctl_cmd_appearance(ctl_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        {"url", required_argument, NULL, 'u'},
        {"outlet", required_argument, NULL, 'o'},
        {"title", required_argument, NULL, 't'},
        {"published-at", required_argument, NULL, 'P'},
        {"lang", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *url = NULL, *outlet = NULL, *title = NULL, *published = NULL, *lang = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'u': url = optarg; break;
        case 'o': outlet = optarg; break;
        case 't': title = optarg; break;
        case 'P': published = optarg; break;
        case 'l': lang = optarg; break;
        case 'h': fputs(appearance_usage, stdout); return CTL_EXIT_OK;
        default: return ctl_usage_error(argv[0], "bad option");
        }
    }
    uint64_t id;
    if (argc - optind != 1) return ctl_usage_error(argv[0], "expected one claim ID");
    if (ctl_parse_id(argv[optind], &id) < 0)
        return ctl_usage_error(argv[0], "bad ID '%s'", argv[optind]);
    if (!url) return ctl_usage_error(argv[0], "--url is required");
    claimd_args *a = claimd_args_new();
    if (!a) return CTL_EXIT_FAILED;
    claimd_args_uint(a, "claim", id);
    claimd_args_str(a, "url", url);
    if (outlet) claimd_args_str(a, "outlet", outlet);
    if (title) claimd_args_str(a, "title", title);
    if (published) claimd_args_str(a, "published_at", published);
    if (lang) claimd_args_str(a, "lang", lang);
    int rc = ctl_call_and_print(env, "appearance.add", a, NULL);
    claimd_args_free(a);
    return rc;
}
