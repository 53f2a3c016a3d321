/* cmd_changes: changes (page through the change log) and watch (subscribe and print changes as
 * they commit). Both share the gap-free catch-up of docs/protocol.md ("The change feed"):
 * subscribe first and note its seq S, read `changes` from the last seq printed up to S, then
 * print notifications, dropping any seq already printed. A subscription the daemon cuts off
 * (the reader was too slow) is renewed the same way, so nothing is lost or printed twice. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define PAGE 1000

typedef struct {
    ctl_env *env;
    claimd_args *sub;          /* subscribe's filters */
    char **types, **ops;       /* the same filters, for the catch-up read with `changes` */
    size_t n_types, n_ops;
    uint64_t claim;
    const char *speaker;
    uint64_t speaker_id;       /* resolved for the catch-up; 0: unknown, matches nothing */
    uint64_t last;             /* seq of the last change handled */
    uint64_t printed, max;     /* max 0: no limit */
} feed;

static int listed(char **list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (s && !strcmp(list[i], s)) return 1;
    return 0;
}

/* Whether a change read with `changes` passes the watch filters (the daemon applies them to
 * live notifications). The speaker is checked on the claim as it is now. */
static int passes(feed *f, const claimd_value *ch)
{
    const char *type = claimd_value_get_str(ch, "type");
    uint64_t id = claimd_value_get_uint(ch, "id", 0);
    if (f->n_types && !listed(f->types, f->n_types, type)) return 0;
    if (f->n_ops && !listed(f->ops, f->n_ops, claimd_value_get_str(ch, "op"))) return 0;
    if (f->claim && (!type || strcmp(type, "claim") || id != f->claim)) return 0;
    if (f->speaker) {
        if (!type || strcmp(type, "claim") || !f->speaker_id) return 0;
        claimd_value *claim = NULL;
        if (claimd_claim_get(f->env->ctx, id, &claim) != CLAIMD_OK) return 0;
        uint64_t sid = claimd_value_get_uint(claimd_value_get(claim, "speaker"), "id", 0);
        claimd_value_free(claim);
        return sid == f->speaker_id;
    }
    return 1;
}

static int done(const feed *f)
{
    return f->max && f->printed >= f->max;
}

/* Prints the logged changes after f->last, up to seq until (0: to the end of the log).
 * Returns an exit code. */
static int catch_up(feed *f, uint64_t until)
{
    while (!done(f) && (!until || f->last < until)) {
        claimd_value *page = NULL;
        if (claimd_changes(f->env->ctx, f->last, PAGE, &page) != CLAIMD_OK)
            return ctl_report_call_error(f->env);
        const claimd_value *items = claimd_value_get(page, "items");
        size_t n = claimd_value_len(items);
        for (size_t i = 0; i < n && !done(f); i++) {
            const claimd_value *ch = claimd_value_at(items, i);
            uint64_t seq = claimd_value_get_uint(ch, "seq", 0);
            if (until && seq > until) break;
            if (seq <= f->last) continue;
            f->last = seq;
            if (!passes(f, ch)) continue;
            int rc = ctl_print_value(f->env, ch);
            if (rc) {
                claimd_value_free(page);
                return rc;
            }
            f->printed++;
        }
        claimd_value_free(page);
        fflush(stdout);
        if (n == 0) break;
    }
    return CTL_EXIT_OK;
}

/* Subscribes and catches up from f->last (when catch_up_from is set) to the subscription's
 * start. Returns an exit code. */
static int subscribe_and_catch_up(feed *f, int catch_up_from)
{
    uint64_t sub = 0, seq = 0;
    if (claimd_subscribe(f->env->ctx, f->sub, &sub, &seq) != CLAIMD_OK)
        return ctl_report_call_error(f->env);
    if (!catch_up_from) {
        f->last = seq;
        return CTL_EXIT_OK;
    }
    return catch_up(f, seq);
}

static int print_change(feed *f, const claimd_change *ch)
{
    json_t *j = json_pack("{sI ss ss ss sI}", "seq", (json_int_t)ch->seq, "at", ch->at, "op",
                          ch->op, "type", ch->type, "id", (json_int_t)ch->id);
    int rc = ctl_print_json(f->env, j);
    json_decref(j);
    fflush(stdout);
    return rc;
}

/* Prints live changes until f->max are printed or the connection fails. */
static int live(feed *f)
{
    while (!done(f)) {
        claimd_change ch = CLAIMD_CHANGE_INIT;
        if (claimd_next_change(f->env->ctx, &ch, -1) != CLAIMD_OK)
            return ctl_report_call_error(f->env);
        if (ch.closed) {
            ctl_warn("the daemon cut the subscription off (%s); subscribing again from seq %llu",
                     ch.reason, (unsigned long long)f->last);
            int rc = subscribe_and_catch_up(f, 1);
            if (rc) return rc;
            continue;
        }
        if (ch.seq <= f->last) continue;
        f->last = ch.seq;
        int rc = print_change(f, &ch);
        if (rc) return rc;
        f->printed++;
    }
    return CTL_EXIT_OK;
}

/* Resolves the speaker filter to an entity id for the catch-up check. */
static int resolve_speaker(feed *f)
{
    uint64_t id;
    if (strspn(f->speaker, "0123456789") == strlen(f->speaker) && !ctl_parse_id(f->speaker, &id)) {
        f->speaker_id = id;
        return CTL_EXIT_OK;
    }
    claimd_args *a = claimd_args_new();
    claimd_value *r = NULL;
    if (!a) return CTL_EXIT_FAILED;
    claimd_args_str(a, "name", f->speaker);
    claimd_args_int(a, "limit", 1);
    int ok = claimd_call(f->env->ctx, "entity.find", a, &r) == CLAIMD_OK;
    claimd_args_free(a);
    if (!ok) return ctl_report_call_error(f->env);
    /* Only the entity with this very name: entity.find also ranks transliterated and close
     * names after it, and filtering by another person would be wrong. */
    const claimd_value *first = claimd_value_at(claimd_value_get(r, "items"), 0);
    const char *how = claimd_value_get_str(first, "match");
    f->speaker_id = !how || !strcmp(how, "exact") ? claimd_value_get_uint(first, "id", 0) : 0;
    claimd_value_free(r);
    return CTL_EXIT_OK;
}

/* Splits a comma-separated list in place into out (room for at least strlen(s)/2+1 items). */
static size_t split_commas(char *s, char **out)
{
    size_t n = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ","))
        if (*tok) out[n++] = tok;
    return n;
}

static const char watch_usage[] =
    "Usage: claimctl watch [--types LIST] [--ops LIST] [--speaker NAME|ID] [--claim ID]\n"
    "                      [--since SEQ] [--count N]\n\n"
    "Subscribes to the change feed and prints each change as it commits, one per line:\n"
    "{\"seq\", \"at\", \"op\", \"type\", \"id\"}, until interrupted (or N changes with --count).\n\n"
    "  --types LIST     claim and/or entity, comma-separated\n"
    "  --ops LIST       ops, comma-separated: claim.create, claim.update, claim.merge,\n"
    "                   claim.retract, verdict.add, appearance.add, relation.add,\n"
    "                   entity.create, entity.update, entity.merge\n"
    "  --speaker NAME   changes of claims by this speaker\n"
    "  --claim ID       changes of this claim\n"
    "  --since SEQ      first print the logged changes after SEQ (with the same filters), then\n"
    "                   go live with no gap and no repeat: pass the last seq you processed\n"
    "  --count N        exit after printing N changes\n\n"
    "If the daemon cuts the subscription off because the output is not read fast enough,\n"
    "watch subscribes again and catches up from the last seq printed.\n";

static const char changes_usage[] =
    "Usage: claimctl changes [--since SEQ] [--limit N] [--follow]\n\n"
    "Prints the change log after SEQ (default 0: from the start), oldest first, one change per\n"
    "line: {\"seq\", \"at\", \"op\", \"type\", \"id\"}. --limit stops after N changes; --follow\n"
    "keeps printing new changes as they commit (as `watch --since SEQ`).\n";

static int run_feed(ctl_env *env, int argc, char **argv, int watch)
{
    static const struct option opts[] = {
        {"types", required_argument, NULL, 't'},
        {"ops", required_argument, NULL, 'o'},
        {"speaker", required_argument, NULL, 's'},
        {"claim", required_argument, NULL, 'c'},
        {"since", required_argument, NULL, 'S'},
        {"count", required_argument, NULL, 'n'},
        {"limit", required_argument, NULL, 'n'},
        {"follow", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    feed f = {.env = env};
    char *types_arg = NULL, *ops_arg = NULL;
    int c, rc = CTL_EXIT_OK, since_given = 0, follow = watch;
    long max = 0;
    uint64_t since = 0;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        int watch_only = c == 't' || c == 'o' || c == 's' || c == 'c';
        if ((watch_only && !watch) || (c == 'f' && watch)) c = '?';
        switch (c) {
        case 't': free(types_arg); types_arg = strdup(optarg); break;
        case 'o': free(ops_arg); ops_arg = strdup(optarg); break;
        case 's': f.speaker = optarg; break;
        case 'c':
            if (ctl_parse_id(optarg, &f.claim) < 0) {
                rc = ctl_usage_error(argv[0], "--claim is a claim id");
                goto out;
            }
            break;
        case 'S': {
            long v;
            if (ctl_parse_int(optarg, 0, (long)(~0UL >> 1), &v) < 0) {
                rc = ctl_usage_error(argv[0], "--since is a change seq (0 or more)");
                goto out;
            }
            since = (uint64_t)v;
            since_given = 1;
            break;
        }
        case 'n':
            if (ctl_parse_int(optarg, 1, (long)(~0UL >> 1), &max) < 0) {
                rc = ctl_usage_error(argv[0], "--%s is a positive number", watch ? "count" : "limit");
                goto out;
            }
            break;
        case 'f': follow = 1; break;
        case 'h': fputs(watch ? watch_usage : changes_usage, stdout); goto out;
        default: rc = ctl_usage_error(argv[0], "bad option"); goto out;
        }
    }
    if (optind < argc) {
        rc = ctl_usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    f.max = (uint64_t)max;
    f.last = since;
    size_t cap = (types_arg ? strlen(types_arg) : 0) + (ops_arg ? strlen(ops_arg) : 0) + 2;
    f.types = calloc(cap, sizeof *f.types);
    f.ops = calloc(cap, sizeof *f.ops);
    f.sub = claimd_args_new();
    if (!f.types || !f.ops || !f.sub) { rc = CTL_EXIT_FAILED; goto out; }
    if (types_arg) {
        f.n_types = split_commas(types_arg, f.types);
        claimd_args_begin_array(f.sub, "types");
        for (size_t i = 0; i < f.n_types; i++) claimd_args_str(f.sub, NULL, f.types[i]);
        claimd_args_end(f.sub);
    }
    if (ops_arg) {
        f.n_ops = split_commas(ops_arg, f.ops);
        claimd_args_begin_array(f.sub, "ops");
        for (size_t i = 0; i < f.n_ops; i++) claimd_args_str(f.sub, NULL, f.ops[i]);
        claimd_args_end(f.sub);
    }
    if (f.speaker) ctl_add_entity_ref(f.sub, "speaker", f.speaker);
    if (f.claim) claimd_args_uint(f.sub, "claim", f.claim);
    if ((rc = ctl_connect(env))) goto out;
    if (f.speaker && (rc = resolve_speaker(&f))) goto out;
    if (!follow) {
        rc = catch_up(&f, 0);
        goto out;
    }
    /* changes --follow reads the log from --since (0 by default); watch only with --since. */
    if ((rc = subscribe_and_catch_up(&f, since_given || !watch))) goto out;
    rc = live(&f);
out:
    claimd_args_free(f.sub);
    free(f.types);
    free(f.ops);
    free(types_arg);
    free(ops_arg);
    return rc;
}

int ctl_cmd_changes(ctl_env *env, int argc, char **argv)
{
    return run_feed(env, argc, argv, 0);
}

int ctl_cmd_watch(ctl_env *env, int argc, char **argv)
{
    return run_feed(env, argc, argv, 1);
}
