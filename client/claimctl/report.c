/* report: error lines on stderr, exit codes, and the small argument parsers every subcommand
 * shares. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

int ctl_report_call_error(ctl_env *env)
{
    int code = claimd_errcode(env->ctx);
    const char *field = claimd_error_field(env->ctx);
    uint64_t id = claimd_error_id(env->ctx);
    fprintf(stderr, "claimctl: %s: %s", claimd_code_name(code), claimd_errstr(env->ctx));
    if (field) fprintf(stderr, " (field %s)", field);
    if (id) fprintf(stderr, " (id %llu)", (unsigned long long)id);
    fputc('\n', stderr);
    switch (code) {
    case CLAIMD_E_IO: return CTL_EXIT_UNREACHABLE;
    case CLAIMD_E_USAGE: return CTL_EXIT_USAGE;
    default: return CTL_EXIT_FAILED;
    }
}

int ctl_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "claimctl: %s%s", cmd ? cmd : "", cmd ? ": " : "");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'claimctl %s%s--help'.\n", cmd ? cmd : "", cmd ? " " : "");
    return CTL_EXIT_USAGE;
}

void ctl_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("claimctl: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int ctl_parse_id(const char *s, uint64_t *id)
{
    if (!s || *s < '0' || *s > '9') return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v == 0) return -1;
    *id = v;
    return 0;
}

int ctl_parse_int(const char *s, long min, long max, long *out)
{
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int ctl_valid_on_duplicate(const char *s)
{
    return s && (!strcmp(s, "merge") || !strcmp(s, "skip") || !strcmp(s, "error"));
}

int ctl_wants_help(int argc, char **argv, const char *usage)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) break;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(usage, stdout);
            return 1;
        }
    }
    return 0;
}

claimd_via ctl_parse_via(char *s)
{
    claimd_via v = {sizeof v, s, NULL};
    char *colon = strrchr(s, ':');
    if (colon && ctl_in_list(ctl_via_hows, colon + 1)) {
        *colon = '\0';
        v.how = colon + 1;
    }
    return v;
}
