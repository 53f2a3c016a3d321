/* claimctl: the command-line client of claimd. Global options, then a subcommand looked up in
 * the table below; each subcommand family lives in its own cmd_*.c file. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

static const ctl_command commands[] = {
    {"ping", "check that the daemon answers; prints its version", ctl_cmd_ping},
    {"stats", "counts, sizes, connections and uptime of the daemon", ctl_cmd_stats},
    {"call", "call any method with JSON parameters", ctl_cmd_call},
    {"add", "record a claim (from flags, or a JSON object on stdin)", ctl_cmd_add},
    {"get", "print a claim", ctl_cmd_get},
    {"update", "change a claim at a known revision", ctl_cmd_update},
    {"retract", "retract a claim (it stays readable)", ctl_cmd_retract},
    {"history", "every revision of a claim, oldest first", ctl_cmd_history},
    {"query", "claims matching filters (all pages)", ctl_cmd_query},
    {"search", "full-text search, best first", ctl_cmd_search},
    {"match", "claims that repeat a text (near-duplicates)", ctl_cmd_match},
    {"appearance", "add a place where a claim was published", ctl_cmd_appearance},
    {"verdict", "add a fact-check verdict to a claim", ctl_cmd_verdict},
    {"verdicts", "list a claim's verdicts, oldest first", ctl_cmd_verdicts},
    {"relate", "record a relation between two claims", ctl_cmd_relate},
    {"relations", "the relations of a claim, both directions", ctl_cmd_relations},
    {"entity", "put, get or find entities (people, organisations, outlets)", ctl_cmd_entity},
    {"merge", "merge two entities (the same person under two names)", ctl_cmd_merge},
    {"import", "bulk-import claims from JSONL, CSV or ClaimReview", ctl_cmd_import},
    {"export", "export claims as JSONL or ClaimReview", ctl_cmd_export},
    {"changes", "the change log, oldest first (--follow: and new changes)", ctl_cmd_changes},
    {"watch", "print changes as they commit (subscribe)", ctl_cmd_watch},
    {"backup", "a consistent copy of the data, taken while serving", ctl_cmd_backup},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fputs("Usage: claimctl [--socket PATH] [--pretty] SUBCOMMAND [ARGS...]\n"
          "       claimctl SUBCOMMAND --help\n\n"
          "Options:\n"
          "  -s, --socket PATH  daemon socket (default: $CLAIMD_SOCKET, else ./var/claimd.sock)\n"
          "  -p, --pretty       indent JSON output\n"
          "  -h, --help         show this help\n"
          "  -V, --version      show the version\n\n"
          "Subcommands:\n", f);
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-11s %s\n", commands[i].name, commands[i].summary);
    fputs("\nOutput is JSON, one object per line. Exit status: 0 ok, 1 a call failed or records\n"
          "were rejected, 2 usage error, 3 the daemon cannot be reached. See claimctl(1).\n", f);
}

int ctl_connect(ctl_env *env)
{
    if (env->ctx && claimd_fd(env->ctx) >= 0) return CTL_EXIT_OK;
    if (!env->ctx && !(env->ctx = claimd_new())) {
        ctl_warn("out of memory");
        return CTL_EXIT_FAILED;
    }
    if (claimd_connect(env->ctx, env->socket) != CLAIMD_OK) return ctl_report_call_error(env);
    return CTL_EXIT_OK;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"socket", required_argument, NULL, 's'},
        {"pretty", no_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    ctl_env env = {0};
    int c;
    /* '+': stop at the subcommand; its own options are parsed by the subcommand. */
    while ((c = getopt_long(argc, argv, "+s:phV", opts, NULL)) != -1) {
        switch (c) {
        case 's': env.socket = optarg; break;
        case 'p': env.pretty = 1; break;
        case 'h': usage(stdout); return CTL_EXIT_OK;
        case 'V': printf("claimctl %s\n", claimd_version()); return CTL_EXIT_OK;
        default: usage(stderr); return CTL_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return CTL_EXIT_USAGE;
    }
    const char *name = argv[optind];
    const ctl_command *cmd = NULL;
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(commands[i].name, name)) cmd = &commands[i];
    if (!strcmp(name, "help")) {
        usage(stdout);
        return CTL_EXIT_OK;
    }
    if (!cmd) {
        fprintf(stderr, "claimctl: unknown subcommand '%s'\nTry 'claimctl --help'.\n", name);
        return CTL_EXIT_USAGE;
    }
    int sub_argc = argc - optind;
    char **sub_argv = argv + optind;
    optind = 0; /* GNU getopt: full re-initialisation for the subcommand's own parse */
    int rc = cmd->run(&env, sub_argc, sub_argv);
    if (fflush(stdout) != 0 && rc == CTL_EXIT_OK) {
        ctl_warn("cannot write the output");
        rc = CTL_EXIT_FAILED;
    }
    claimd_free(env.ctx);
    return rc;
}
