/* cmd_relation: relate (relation.add) and relations (relation.list). */
#include <getopt.h>

#include "ctl.h"

static const char relate_usage[] =
    "Usage: claimctl relate FROM TO KIND [--note TEXT] [--by NAME]\n\n"
    "Records that claim FROM KIND claim TO, e.g. `claimctl relate 5 1 clarifies`. KIND:\n"
    "confirms, contradicts, repeats, clarifies, retracts, responds-to. Relating the same pair\n"
    "with the same KIND again replaces the note. Prints {}.\n";

int ctl_cmd_relate(ctl_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        {"note", required_argument, NULL, 'n'},
        {"by", required_argument, NULL, 'b'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *note = NULL, *by = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'n': note = optarg; break;
        case 'b': by = optarg; break;
        case 'h': fputs(relate_usage, stdout); return CTL_EXIT_OK;
        default: return ctl_usage_error(argv[0], "bad option");
        }
    }
    uint64_t from, to;
    char list[160];
    if (argc - optind != 3) return ctl_usage_error(argv[0], "expected FROM TO KIND");
    if (ctl_parse_id(argv[optind], &from) < 0 || ctl_parse_id(argv[optind + 1], &to) < 0)
        return ctl_usage_error(argv[0], "FROM and TO are claim ids");
    const char *kind = argv[optind + 2];
    if (!ctl_in_list(ctl_relation_kinds, kind))
        return ctl_usage_error(argv[0], "KIND is one of %s",
                               ctl_list_text(ctl_relation_kinds, list, sizeof list));
    claimd_args *a = claimd_args_new();
    if (!a) return CTL_EXIT_FAILED;
    claimd_args_uint(a, "from", from);
    claimd_args_uint(a, "to", to);
    claimd_args_str(a, "kind", kind);
    if (note) claimd_args_str(a, "note", note);
    if (by) claimd_args_str(a, "by", by);
    int rc = ctl_call_and_print(env, "relation.add", a, NULL);
    claimd_args_free(a);
    return rc;
}

int ctl_cmd_relations(ctl_env *env, int argc, char **argv)
{
    static const char usage[] =
        "Usage: claimctl relations ID\n\n"
        "Prints the relations of claim ID in both directions, one per line:\n"
        "{\"from\", \"to\", \"kind\", \"note\"}.\n";
    uint64_t id;
    if (ctl_wants_help(argc, argv, usage)) return CTL_EXIT_OK;
    if (argc != 2 || ctl_parse_id(argv[1], &id) < 0)
        return ctl_usage_error(argv[0], "expected one claim ID");
    claimd_args *a = claimd_args_new();
    if (!a) return CTL_EXIT_FAILED;
    claimd_args_uint(a, "claim", id);
    int rc = ctl_call_and_print(env, "relation.list", a, "items");
    claimd_args_free(a);
    return rc;
}
