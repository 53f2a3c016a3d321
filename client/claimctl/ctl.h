/* ctl.h: internals of claimctl, the command-line client (one subcommand family per file,
 * dispatched from the table in main.c). */
#ifndef CLAIMCTL_CTL_H
#define CLAIMCTL_CTL_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

#include "claimd.h"

/* Exit codes scripts rely on (claimctl(1) "EXIT STATUS"). */
enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_FAILED = 1,       /* a call failed, or records were rejected */
    CTL_EXIT_USAGE = 2,
    CTL_EXIT_UNREACHABLE = 3   /* cannot connect to the daemon, or the connection was lost */
};

/* What every subcommand gets: the global options and the (lazily made) connection. */
typedef struct {
    const char *socket;        /* --socket, or NULL for $CLAIMD_SOCKET / ./var/claimd.sock */
    int pretty;                /* --pretty: indent JSON output */
    claimd_ctx *ctx;           /* set by ctl_connect */
} ctl_env;

/* A subcommand: run gets argv[0] = its name; returns an exit code. */
typedef struct {
    const char *name;
    const char *summary;
    int (*run)(ctl_env *env, int argc, char **argv);
} ctl_command;

/* ---- main.c ---- */

/* Connects env->ctx if not yet connected. Returns CTL_EXIT_OK, or prints the error and returns
 * CTL_EXIT_UNREACHABLE (CTL_EXIT_USAGE for a bad socket path). */
int ctl_connect(ctl_env *env);

/* ---- report.c ---- */

/* Prints the context's last error as "claimctl: <code>: <message> (field f) (id N)" on stderr
 * and returns the matching exit code (1 for daemon errors, 3 for a lost connection). */
int ctl_report_call_error(ctl_env *env);

/* Prints "claimctl: <cmd>: <message>" and a --help hint on stderr; returns CTL_EXIT_USAGE. */
__attribute__((format(printf, 2, 3)))
int ctl_usage_error(const char *cmd, const char *fmt, ...);

/* Prints "claimctl: <message>" on stderr. */
__attribute__((format(printf, 1, 2)))
void ctl_warn(const char *fmt, ...);

/* Parses a decimal record id (1 .. 2^64-1) with nothing after it. Returns 0 or -1. */
int ctl_parse_id(const char *s, uint64_t *id);

/* Parses a decimal integer in [min, max] with nothing after it. Returns 0 or -1. */
int ctl_parse_int(const char *s, long min, long max, long *out);

/* 1 when s is "merge", "skip" or "error" (the on_duplicate policies). */
int ctl_valid_on_duplicate(const char *s);

/* Checks for "-h"/"--help" among argv[1..]: prints usage to stdout and returns 1 if there. */
int ctl_wants_help(int argc, char **argv, const char *usage);

/* Splits "NAME:HOW" in place when HOW is one of the contract's values; otherwise it is all
 * NAME (names such as "Agency: Foo" may contain colons). */
claimd_via ctl_parse_via(char *s);

/* ---- output.c ---- */

/* Prints v as one JSON line on stdout (indented with --pretty). Returns an exit code. */
int ctl_print_value(ctl_env *env, const claimd_value *v);

/* Prints each item of the array under key in result (the whole result if key is NULL) as its
 * own JSON line, so that jq and line tools work on lists. Returns an exit code. */
int ctl_print_items(ctl_env *env, const claimd_value *result, const char *key);

/* Prints a JSON value as one line on stdout (indented with --pretty). Returns an exit code. */
int ctl_print_json(ctl_env *env, json_t *j);

/* Prints {"id", "rev"}. Returns an exit code. */
int ctl_print_id_rev(ctl_env *env, uint64_t id, uint64_t rev);

/* Prints a JSON value as one line on f (always compact). Returns 0 or -1. */
int ctl_print_json_line(FILE *f, json_t *j);

/* Calls method with params (may be NULL) and prints the result (or its items under list_key).
 * Connects first. Returns an exit code. */
int ctl_call_and_print(ctl_env *env, const char *method, const claimd_args *params,
                       const char *list_key);

/* ---- json.c ---- */

/* A new JSON value for a value tree, or NULL when out of memory. Binary strings become base64
 * text, non-string map keys their JSON text, and integers above 2^63-1 reals. */
json_t *ctl_json_from_value(const claimd_value *v);

/* A JSON string of s[0..n), with invalid UTF-8 replaced by U+FFFD, or NULL when out of memory. */
json_t *ctl_json_text(const char *s, size_t n);

/* Adds a JSON value under key (NULL inside an array) to a. Returns the builder's code. */
int ctl_json_add(claimd_args *a, const char *key, json_t *j);

/* Adds every member of a JSON object to the innermost open map of a. Returns the builder's code
 * (CLAIMD_E_USAGE when obj is not an object). */
int ctl_json_add_fields(claimd_args *a, json_t *obj);

/* Reads all of f and parses it as one JSON object. Returns NULL (with a message printed for cmd)
 * when it is not one. */
json_t *ctl_json_read_object(FILE *f, const char *cmd);

/* Parses s as one JSON object; NULL (with a message printed for cmd) when it is not one. */
json_t *ctl_json_parse_object(const char *s, const char *cmd);

/* ---- vocab.c: the contract's closed vocabularies (NULL-terminated) ---- */
extern const char *const ctl_media[];
extern const char *const ctl_via_hows[];
extern const char *const ctl_ratings[];
extern const char *const ctl_entity_kinds[];
extern const char *const ctl_relation_kinds[];
extern const char *const ctl_claim_fields[];   /* claim.put's parameters */

/* 1 when s is one of list. */
int ctl_in_list(const char *const *list, const char *s);

/* list as "a, b, c" in buf (truncated to cap). Returns buf. */
char *ctl_list_text(const char *const *list, char *buf, size_t cap);

/* ---- filters.c: the claim.query / claim.search filter flags ---- */
enum {
    CTL_F_SPEAKER = 1000, CTL_F_ABOUT, CTL_F_OUTLET, CTL_F_VIA, CTL_F_MEDIUM, CTL_F_STATUS,
    CTL_F_TAG, CTL_F_LANG, CTL_F_SAID_FROM, CTL_F_SAID_TO, CTL_F_INCLUDE_RETRACTED, CTL_F_ORDER
};

/* The filter options, for a subcommand's getopt_long table. */
#define CTL_FILTER_OPTIONS \
    {"speaker", required_argument, NULL, CTL_F_SPEAKER}, \
    {"about", required_argument, NULL, CTL_F_ABOUT}, \
    {"outlet", required_argument, NULL, CTL_F_OUTLET}, \
    {"via", required_argument, NULL, CTL_F_VIA}, \
    {"medium", required_argument, NULL, CTL_F_MEDIUM}, \
    {"status", required_argument, NULL, CTL_F_STATUS}, \
    {"tag", required_argument, NULL, CTL_F_TAG}, \
    {"lang", required_argument, NULL, CTL_F_LANG}, \
    {"said-from", required_argument, NULL, CTL_F_SAID_FROM}, \
    {"said-to", required_argument, NULL, CTL_F_SAID_TO}, \
    {"include-retracted", no_argument, NULL, CTL_F_INCLUDE_RETRACTED}
#define CTL_ORDER_OPTION {"order", required_argument, NULL, CTL_F_ORDER}

/* The filters given so far: the parameters, and which flags were seen. */
typedef struct {
    claimd_args *args;
    unsigned seen;
} ctl_filters;

/* The filter options' help text. */
extern const char ctl_filter_help[];

/* Takes a getopt code: 1 when it was a filter (added to f->args), 0 when it is not one, -1 after
 * printing a usage error (a bad value, or a filter given twice). */
int ctl_filter_take(ctl_filters *f, int code, const char *arg, const char *cmd);

/* Adds an entity reference: {"id": N} when s is all digits, else the name. Returns the
 * builder's code. */
int ctl_add_entity_ref(claimd_args *a, const char *key, const char *s);

/* ---- subcommands ---- */
int ctl_cmd_ping(ctl_env *env, int argc, char **argv);          /* cmd_basic.c */
int ctl_cmd_stats(ctl_env *env, int argc, char **argv);
int ctl_cmd_call(ctl_env *env, int argc, char **argv);
int ctl_cmd_add(ctl_env *env, int argc, char **argv);           /* cmd_claim.c */
int ctl_cmd_get(ctl_env *env, int argc, char **argv);
int ctl_cmd_appearance(ctl_env *env, int argc, char **argv);
int ctl_cmd_verdict(ctl_env *env, int argc, char **argv);       /* cmd_verdict.c */
int ctl_cmd_verdicts(ctl_env *env, int argc, char **argv);
int ctl_cmd_entity(ctl_env *env, int argc, char **argv);        /* cmd_entity.c */
int ctl_cmd_merge(ctl_env *env, int argc, char **argv);
int ctl_cmd_import(ctl_env *env, int argc, char **argv);        /* cmd_import.c */
int ctl_cmd_backup(ctl_env *env, int argc, char **argv);        /* cmd_basic.c */
int ctl_cmd_update(ctl_env *env, int argc, char **argv);        /* cmd_lifecycle.c */
int ctl_cmd_retract(ctl_env *env, int argc, char **argv);
int ctl_cmd_history(ctl_env *env, int argc, char **argv);
int ctl_cmd_query(ctl_env *env, int argc, char **argv);         /* cmd_query.c */
int ctl_cmd_search(ctl_env *env, int argc, char **argv);
int ctl_cmd_match(ctl_env *env, int argc, char **argv);
int ctl_cmd_relate(ctl_env *env, int argc, char **argv);        /* cmd_relation.c */
int ctl_cmd_relations(ctl_env *env, int argc, char **argv);
int ctl_cmd_changes(ctl_env *env, int argc, char **argv);       /* cmd_changes.c */
int ctl_cmd_watch(ctl_env *env, int argc, char **argv);
int ctl_cmd_export(ctl_env *env, int argc, char **argv);        /* cmd_export.c */

#endif
