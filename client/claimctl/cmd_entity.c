/* cmd_entity: entity put | get | find (entity.put, entity.get, entity.find). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const char entity_usage[] =
    "Usage: claimctl entity put NAME [--kind KIND] [--alias NAME]... [--description TEXT]\n"
    "                               [--wikidata QID]\n"
    "       claimctl entity put - < entity.json\n"
    "       claimctl entity get ID\n"
    "       claimctl entity find NAME [--limit N]\n"
    "       claimctl entity find --prefix TEXT [--limit N]\n\n"
    "put records an entity, or returns the existing one whose name or alias matches (adding new\n"
    "aliases); KIND: person organization outlet government group unknown. find matches names\n"
    "and aliases ignoring case, accents and punctuation, and across scripts (Peskov finds\n"
    "Песков, Πεσκόφ, Peskow), and prints one entity per line, best first, with \"match\":\n"
    "exact, transliterated, sound or close (\"distance\" edits): duplicates to merge.\n";

static int entity_put(ctl_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        {"kind", required_argument, NULL, 'k'},
        {"alias", required_argument, NULL, 'a'},
        {"description", required_argument, NULL, 'd'},
        {"wikidata", required_argument, NULL, 'w'},
        {NULL, 0, NULL, 0},
    };
    const char *kind = NULL, *description = NULL, *wikidata = NULL;
    const char **aliases = calloc((size_t)argc, sizeof *aliases);
    size_t n_aliases = 0;
    int c, rc = CTL_EXIT_OK;
    claimd_args *a = NULL;
    json_t *obj = NULL;
    if (!aliases) return CTL_EXIT_FAILED;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'k': kind = optarg; break;
        case 'a': aliases[n_aliases++] = optarg; break;
        case 'd': description = optarg; break;
        case 'w': wikidata = optarg; break;
        default: rc = ctl_usage_error("entity", "bad option"); goto done;
        }
    }
    if (argc - optind != 1) {
        rc = ctl_usage_error("entity", "put takes one NAME (or - for JSON on stdin)");
        goto done;
    }
    if (!(a = claimd_args_new())) {
        rc = CTL_EXIT_FAILED;
        goto done;
    }
    if (!strcmp(argv[optind], "-")) {
        if (kind || n_aliases || description || wikidata) {
            rc = ctl_usage_error("entity", "options and JSON on stdin do not mix");
            goto done;
        }
        if (!(obj = ctl_json_read_object(stdin, "entity"))) {
            rc = CTL_EXIT_USAGE;
            goto done;
        }
        if (ctl_json_add_fields(a, obj) != CLAIMD_OK) {
            rc = ctl_usage_error("entity", "the entity cannot be sent (nested too deeply?)");
            goto done;
        }
    } else {
        claimd_args_str(a, "name", argv[optind]);
        if (kind) claimd_args_str(a, "kind", kind);
        if (n_aliases) {
            claimd_args_begin_array(a, "aliases");
            for (size_t i = 0; i < n_aliases; i++) claimd_args_str(a, NULL, aliases[i]);
            claimd_args_end(a);
        }
        if (description) claimd_args_str(a, "description", description);
        if (wikidata) claimd_args_str(a, "wikidata", wikidata);
    }
    rc = ctl_call_and_print(env, "entity.put", a, NULL);
done:
    json_decref(obj);
    claimd_args_free(a);
    free(aliases);
    return rc;
}

static int entity_get(ctl_env *env, int argc, char **argv)
{
    uint64_t id;
    if (argc != 2) return ctl_usage_error("entity", "get takes one ID");
    if (ctl_parse_id(argv[1], &id) < 0) return ctl_usage_error("entity", "bad ID '%s'", argv[1]);
    claimd_args *a = claimd_args_new();
    if (!a) return CTL_EXIT_FAILED;
    claimd_args_uint(a, "id", id);
    int rc = ctl_call_and_print(env, "entity.get", a, NULL);
    claimd_args_free(a);
    return rc;
}

static int entity_find(ctl_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        {"prefix", required_argument, NULL, 'p'},
        {"limit", required_argument, NULL, 'l'},
        {NULL, 0, NULL, 0},
    };
    const char *prefix = NULL;
    long limit = 0;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'p': prefix = optarg; break;
        case 'l':
            if (ctl_parse_int(optarg, 1, 1000, &limit) < 0)
                return ctl_usage_error("entity", "--limit is a number from 1 to 1000");
            break;
        default: return ctl_usage_error("entity", "bad option");
        }
    }
    int names = argc - optind;
    if ((prefix && names) || (!prefix && names != 1))
        return ctl_usage_error("entity", "find takes one NAME, or --prefix TEXT");
    claimd_args *a = claimd_args_new();
    if (!a) return CTL_EXIT_FAILED;
    if (prefix) claimd_args_str(a, "prefix", prefix);
    else claimd_args_str(a, "name", argv[optind]);
    if (limit) claimd_args_int(a, "limit", limit);
    int rc = ctl_call_and_print(env, "entity.find", a, "items");
    claimd_args_free(a);
    return rc;
}

int ctl_cmd_entity(ctl_env *env, int argc, char **argv)
{
    if (ctl_wants_help(argc, argv, entity_usage)) return CTL_EXIT_OK;
    if (argc < 2) return ctl_usage_error("entity", "expected put, get or find");
    /* The action's own argv starts at the action name, as getopt expects. */
    if (!strcmp(argv[1], "put")) return entity_put(env, argc - 1, argv + 1);
    if (!strcmp(argv[1], "get")) return entity_get(env, argc - 1, argv + 1);
    if (!strcmp(argv[1], "find")) return entity_find(env, argc - 1, argv + 1);
    return ctl_usage_error("entity", "unknown action '%s' (put, get or find)", argv[1]);
}

static const char merge_usage[] =
    "Usage: claimctl merge FROM INTO [--by NAME]\n\n"
    "Merges entity FROM into entity INTO (names, aliases or ids): the same person under two\n"
    "names. INTO gains FROM's names as aliases, FROM answers merged_into, and FROM's claims are\n"
    "found under INTO. Prints INTO after the merge.\n\n"
    "  claimctl merge \"Dmitrij Peskov\" \"Dmitry Peskov\" --by desk\n";

int ctl_cmd_merge(ctl_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        {"by", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *by = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b': by = optarg; break;
        case 'h': fputs(merge_usage, stdout); return CTL_EXIT_OK;
        default: return ctl_usage_error(argv[0], "bad option");
        }
    }
    if (argc - optind != 2) return ctl_usage_error(argv[0], "expected FROM and INTO");
    claimd_args *a = claimd_args_new();
    if (!a) return CTL_EXIT_FAILED;
    /* entity.merge takes bare ids as well as references. */
    uint64_t id;
    for (int i = 0; i < 2; i++) {
        const char *key = i ? "into" : "from", *s = argv[optind + i];
        if (strspn(s, "0123456789") == strlen(s) && ctl_parse_id(s, &id) == 0)
            claimd_args_uint(a, key, id);
        else
            claimd_args_str(a, key, s);
    }
    if (by) claimd_args_str(a, "by", by);
    int rc = ctl_call_and_print(env, "entity.merge", a, NULL);
    claimd_args_free(a);
    return rc;
}
