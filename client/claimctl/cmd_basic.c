/* cmd_basic: ping, stats, backup, and the generic `call` that reaches every method. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"

/* Runs a method without parameters, for subcommands that take no arguments. */
static int no_arg_call(ctl_env *env, int argc, char **argv, const char *method, const char *usage)
{
    if (ctl_wants_help(argc, argv, usage)) return CTL_EXIT_OK;
    if (argc > 1) return ctl_usage_error(argv[0], "unexpected argument '%s'", argv[1]);
    return ctl_call_and_print(env, method, NULL, NULL);
}

int ctl_cmd_ping(ctl_env *env, int argc, char **argv)
{
    return no_arg_call(env, argc, argv, "ping",
                       "Usage: claimctl ping\n\n"
                       "Checks that the daemon answers. Prints {\"version\", \"protocol\"}.\n");
}

int ctl_cmd_stats(ctl_env *env, int argc, char **argv)
{
    return no_arg_call(env, argc, argv, "stats",
                       "Usage: claimctl stats\n\n"
                       "Prints the daemon's counts (claims, entities, verdicts), storage sizes,\n"
                       "connections, uptime and last change sequence number.\n");
}

static const char call_usage[] =
    "Usage: claimctl call METHOD [PARAMS]\n\n"
    "Calls any method of the daemon. PARAMS is a JSON object of named parameters, or '-' to\n"
    "read it from stdin; without PARAMS the method gets no parameters. Prints the result.\n\n"
    "Options:\n"
    "  -l, --lines KEY  print each item of the result's KEY list on its own line\n\n"
    "Examples:\n"
    "  claimctl call claim.get '{\"id\": 12}'\n"
    "  claimctl call --lines items claim.query '{\"speaker\": \"Dmitry Peskov\", \"limit\": 50}'\n";

int ctl_cmd_call(ctl_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        {"lines", required_argument, NULL, 'l'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *lines = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': lines = optarg; break;
        case 'h': fputs(call_usage, stdout); return CTL_EXIT_OK;
        default: return ctl_usage_error(argv[0], "bad option");
        }
    }
    if (optind >= argc) return ctl_usage_error(argv[0], "METHOD is required");
    if (argc - optind > 2) return ctl_usage_error(argv[0], "too many arguments");
    const char *method = argv[optind];
    const char *text = optind + 1 < argc ? argv[optind + 1] : NULL;
    claimd_args *params = NULL;
    if (text) {
        json_t *obj = !strcmp(text, "-") ? ctl_json_read_object(stdin, argv[0])
                                         : ctl_json_parse_object(text, argv[0]);
        if (!obj) return CTL_EXIT_USAGE;
        params = claimd_args_new();
        int bad = !params || ctl_json_add_fields(params, obj) != CLAIMD_OK;
        json_decref(obj);
        if (bad) {
            claimd_args_free(params);
            return ctl_usage_error(argv[0], "PARAMS cannot be sent (nested deeper than 30 "
                                            "levels, or a key with a NUL)");
        }
    }
    int rc = ctl_call_and_print(env, method, params, lines);
    claimd_args_free(params);
    return rc;
}

static const char backup_usage[] =
    "Usage: claimctl backup PATH\n\n"
    "Asks the daemon to write a consistent, compacted copy of its data into the directory PATH\n"
    "(new or empty; a relative PATH is taken from the current directory) while it keeps\n"
    "serving. The daemon itself writes it, so PATH must be writable by the daemon's user; only\n"
    "an admin connection (the daemon's user or root) may back up. Prints {\"path\", \"bytes\"}.\n"
    "To restore, start claimd with --data PATH.\n";

int ctl_cmd_backup(ctl_env *env, int argc, char **argv)
{
    if (ctl_wants_help(argc, argv, backup_usage)) return CTL_EXIT_OK;
    if (argc != 2 || !*argv[1]) return ctl_usage_error(argv[0], "expected one PATH");
    char path[PATH_MAX];
    if (argv[1][0] == '/') {
        snprintf(path, sizeof path, "%s", argv[1]);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) {
            ctl_warn("cannot read the current directory: %s", strerror(errno));
            return CTL_EXIT_FAILED;
        }
        if (snprintf(path, sizeof path, "%s/%s", cwd, argv[1]) >= (int)sizeof path)
            return ctl_usage_error(argv[0], "PATH is too long");
    }
    claimd_args *a = claimd_args_new();
    if (!a) return CTL_EXIT_FAILED;
    claimd_args_str(a, "path", path);
    int rc = ctl_call_and_print(env, "backup", a, NULL);
    claimd_args_free(a);
    return rc;
}
