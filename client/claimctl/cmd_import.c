/* cmd_import: bulk import of JSONL claims with claim.import.
 *
 * Lines are converted to MessagePack one by one and gathered into batches (--batch records, and
 * at most half the daemon's request limit in bytes, read from `stats` at the start: a request
 * over the limit makes the daemon drop the connection). Up to --in-flight
 * batches are pipelined on the one connection: while the daemon commits one, the next is already
 * on its way. Each batch remembers the line number and original text of its entries, so that
 * every rejected record, whether refused here (not JSON) or by the daemon, goes to the rejects
 * file with its line number, the reason and the input as it was. Lines refused here ride along
 * in the batch being filled, so the rejects file comes out in input order. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define DEFAULT_BATCH 1000
#define MAX_BATCH 10000
#define DEFAULT_IN_FLIGHT 4
#define MAX_IN_FLIGHT 64
#define BATCH_BYTES ((size_t)8 << 20)   /* half the daemon's default 16 MiB request limit */
#define ENVELOPE_BYTES 256               /* request envelope, "claims" and on_duplicate */

typedef struct {
    claimd_args *args;         /* {"claims": [ ... while filling; sealed when sent */
    size_t n;                  /* records in args */
    size_t bytes;              /* their packed size */
    size_t m, cap;             /* entries: the records, and lines rejected here, in line order */
    uint64_t *lines;           /* each entry's line number */
    char **inputs;             /* each entry's original line */
    json_t **local;            /* the error of a line rejected here; NULL for a record sent */
} batch;

typedef struct {
    ctl_env *env;
    const char *on_duplicate;
    FILE *rejects;             /* NULL: rejects are reported on stderr */
    batch *slots;              /* nslots = in-flight limit + 1 (the one being filled) */
    size_t nslots, head, in_flight;
    size_t batch_size;
    size_t batch_bytes;        /* send a batch once its records take this many bytes */
    uint64_t max_request;      /* the daemon's request limit; 0 if unknown */
    claimd_args *record;       /* scratch builder for one record */
    uint64_t imported, created, rejected, processed;
    off_t total_bytes, bytes_read; /* total_bytes 0: unknown (not a regular file) */
    int tty;
    double t0, last_draw;
    int fatal;                 /* exit code once the import cannot go on */
} importer;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- rejects ---- */

/* Reports one rejected record; takes the reference to error (a JSON error map). */
static void reject(importer *im, uint64_t line, const char *input, json_t *error)
{
    im->rejected++;
    im->processed++;
    if (im->rejects) {
        json_t *j = json_object();
        json_object_set_new(j, "line", json_integer((json_int_t)line));
        json_object_set_new(j, "error", error ? error : json_null());
        json_object_set_new(j, "input", ctl_json_text(input, strlen(input)));
        if (ctl_print_json_line(im->rejects, j) < 0 && !im->fatal) {
            ctl_warn("cannot write the rejects file: %s", strerror(errno));
            im->fatal = CTL_EXIT_FAILED;
        }
        json_decref(j);
        return;
    }
    const char *code = json_string_value(json_object_get(error, "code"));
    const char *msg = json_string_value(json_object_get(error, "message"));
    const char *field = json_string_value(json_object_get(error, "field"));
    fprintf(stderr, "claimctl: line %llu: %s: %s", (unsigned long long)line,
            code ? code : "error", msg ? msg : "rejected");
    if (field) fprintf(stderr, " (field %s)", field);
    fputc('\n', stderr);
    json_decref(error);
}

static json_t *local_error(const char *code, const char *message)
{
    return json_pack("{ss ss}", "code", code, "message", message);
}

/* ---- progress ---- */

static void draw_progress(importer *im, int force)
{
    if (!im->tty) return;
    double now = now_s();
    if (!force && now - im->last_draw < 0.25) return;
    im->last_draw = now;
    double elapsed = now - im->t0;
    double rate = elapsed > 0 ? (double)im->processed / elapsed : 0;
    fprintf(stderr, "\r\033[K%llu records, %.0f/s", (unsigned long long)im->processed, rate);
    if (im->total_bytes > 0 && im->bytes_read > 0) {
        double done = (double)im->bytes_read / (double)im->total_bytes;
        double eta = done > 0 ? elapsed * (1 - done) / done : 0;
        fprintf(stderr, ", %.0f%%, ETA %.0f s", done * 100, eta);
    }
    fflush(stderr);
}

static void clear_progress(importer *im)
{
    if (im->tty) fputs("\r\033[K", stderr);
}

/* ---- batches ---- */

static int batch_start(importer *im, batch *b)
{
    if (!b->args && !(b->args = claimd_args_new())) return -1;
    claimd_args_reset(b->args);
    claimd_args_begin_array(b->args, "claims");
    b->n = 0;
    b->bytes = 0;
    return 0;
}

static void batch_clear_entries(batch *b)
{
    for (size_t i = 0; i < b->m; i++) {
        free(b->inputs[i]);
        json_decref(b->local[i]);
    }
    b->m = 0;
    b->n = 0;
}

static void batch_free(batch *b)
{
    batch_clear_entries(b);
    free(b->lines);
    free(b->inputs);
    free(b->local);
    claimd_args_free(b->args);
}

/* Appends an entry: a record packed as rec[0..len), or (rec NULL) a line rejected here with
 * error (the reference is taken). Returns 0 or -1 (out of memory). */
static int batch_add(batch *b, uint64_t line, const char *input, const void *rec, size_t len,
                     json_t *error)
{
    if (b->m == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        uint64_t *lines = realloc(b->lines, cap * sizeof *lines);
        if (lines) b->lines = lines;
        char **inputs = realloc(b->inputs, cap * sizeof *inputs);
        if (inputs) b->inputs = inputs;
        json_t **local = realloc(b->local, cap * sizeof *local);
        if (local) b->local = local;
        if (!lines || !inputs || !local) {
            json_decref(error);
            return -1;
        }
        b->cap = cap;
    }
    char *copy = strdup(input);
    if (!copy || (rec && claimd_args_raw(b->args, NULL, rec, len) != CLAIMD_OK)) {
        free(copy);
        json_decref(error);
        return -1;
    }
    b->lines[b->m] = line;
    b->inputs[b->m] = copy;
    b->local[b->m] = rec ? NULL : error;
    b->m++;
    if (rec) {
        b->n++;
        b->bytes += len;
    }
    return 0;
}

static batch *current(importer *im)
{
    return &im->slots[(im->head + im->in_flight) % im->nslots];
}

/* The daemon answered a whole batch with an error: every record of it is rejected, unless the
 * error means no batch can succeed (then the import stops). */
static void batch_failed(importer *im, batch *b)
{
    int code = claimd_errcode(im->env->ctx);
    if (code == CLAIMD_E_FORBIDDEN || code == CLAIMD_E_UNKNOWN_METHOD ||
        code == CLAIMD_E_BAD_REQUEST || code == CLAIMD_E_IO || code == CLAIMD_E_PROTOCOL ||
        code == CLAIMD_E_NOMEM || code == CLAIMD_E_USAGE) {
        clear_progress(im);
        im->fatal = ctl_report_call_error(im->env);
        return;
    }
    json_t *error = ctl_json_from_value(claimd_error_value(im->env->ctx));
    for (size_t i = 0; i < b->m; i++)
        reject(im, b->lines[i], b->inputs[i],
               b->local[i] ? json_incref(b->local[i]) : json_incref(error));
    json_decref(error);
}

/* Reads the reply to the oldest batch in flight and accounts for each of its records. */
static void receive_oldest(importer *im)
{
    batch *b = &im->slots[im->head];
    claimd_value *r = NULL;
    if (claimd_get_reply(im->env->ctx, &r) != CLAIMD_OK) {
        batch_failed(im, b);
    } else {
        const claimd_value *results = claimd_value_get(r, "results");
        if (claimd_value_type(results) != CLAIMD_T_ARRAY || results->len != b->n) {
            clear_progress(im);
            ctl_warn("protocol error: claim.import answered %zu results for %zu claims",
                     claimd_value_len(results), b->n);
            im->fatal = CTL_EXIT_FAILED;
        } else {
            for (size_t i = 0, k = 0; i < b->m; i++) {
                if (b->local[i]) {
                    reject(im, b->lines[i], b->inputs[i], json_incref(b->local[i]));
                    continue;
                }
                const claimd_value *item = claimd_value_at(results, k++);
                const claimd_value *err = claimd_value_get(item, "error");
                if (err && err->type != CLAIMD_T_NIL) {
                    reject(im, b->lines[i], b->inputs[i], ctl_json_from_value(err));
                    continue;
                }
                int created = 0;
                claimd_value_bool(claimd_value_get(item, "created"), &created);
                im->imported++;
                im->processed++;
                im->created += created != 0;
            }
        }
    }
    claimd_value_free(r);
    batch_clear_entries(b);
    im->head = (im->head + 1) % im->nslots;
    im->in_flight--;
    draw_progress(im, 0);
}

/* Sends the batch being filled (if it has records) and starts the next one. */
static void send_current(importer *im)
{
    batch *b = current(im);
    if (b->n == 0 || im->fatal) return;
    if (im->in_flight == im->nslots - 1) {
        receive_oldest(im);
        if (im->fatal) return;
    }
    claimd_args_end(b->args);
    if (im->on_duplicate) claimd_args_str(b->args, "on_duplicate", im->on_duplicate);
    if (claimd_append(im->env->ctx, "claim.import", b->args) != CLAIMD_OK) {
        batch_failed(im, b);
        batch_clear_entries(b);
        batch_start(im, b);
        return;
    }
    im->in_flight++;
    if (batch_start(im, current(im)) < 0) {
        ctl_warn("out of memory");
        im->fatal = CTL_EXIT_FAILED;
    }
}

/* A line refused here: it waits in the batch being filled when that has records (to keep the
 * rejects in line order), else every batch before it is answered and it is reported at once. */
static void reject_here(importer *im, uint64_t lineno, const char *line, const char *code,
                        const char *why)
{
    batch *b = current(im);
    if (b->n) {
        if (batch_add(b, lineno, line, NULL, 0, local_error(code, why)) < 0) {
            ctl_warn("out of memory");
            im->fatal = CTL_EXIT_FAILED;
        }
        return;
    }
    while (!im->fatal && im->in_flight) receive_oldest(im);
    if (!im->fatal) reject(im, lineno, line, local_error(code, why));
}

/* Handles one input line (without its newline). */
static void take_line(importer *im, uint64_t lineno, const char *line, size_t len)
{
    size_t i = 0;
    while (i < len && strchr(" \t\r\f\v", line[i])) i++;
    if (i == len) return; /* blank lines are not records */
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
    if (!obj) {
        char msg[256];
        snprintf(msg, sizeof msg, "invalid JSON: %s (column %d)", jerr.text, jerr.column);
        reject_here(im, lineno, line, "invalid", msg);
        return;
    }
    if (!json_is_object(obj)) {
        json_decref(obj);
        reject_here(im, lineno, line, "invalid", "not a JSON object (each line must be one claim)");
        return;
    }
    claimd_args_reset(im->record);
    int rc = ctl_json_add_fields(im->record, obj);
    json_decref(obj);
    size_t rec_len = 0;
    const void *rec = rc == CLAIMD_OK ? claimd_args_data(im->record, &rec_len) : NULL;
    if (!rec) {
        reject_here(im, lineno, line, "invalid", "claim nested too deeply or has a key with NUL");
        return;
    }
    batch *b = current(im);
    if (im->max_request && rec_len + ENVELOPE_BYTES > im->max_request) {
        char msg[128];
        snprintf(msg, sizeof msg, "record of %zu bytes is over the daemon's request limit (%llu)",
                 rec_len, (unsigned long long)im->max_request);
        reject_here(im, lineno, line, "too_large", msg);
        return;
    }
    if (b->n && b->bytes + rec_len > im->batch_bytes) {
        send_current(im);
        if (im->fatal) return;
        b = current(im);
    }
    if (batch_add(b, lineno, line, rec, rec_len, NULL) < 0) {
        ctl_warn("out of memory");
        im->fatal = CTL_EXIT_FAILED;
        return;
    }
    if (b->n >= im->batch_size || b->bytes >= im->batch_bytes) send_current(im);
}

/* ---- the subcommand ---- */

static const char import_usage[] =
    "Usage: claimctl import [OPTIONS] FILE.jsonl|-\n\n"
    "Imports claims from JSON Lines (one claim object per line, the fields of claim.put) with\n"
    "claim.import, several batches in flight. Rejected records go to the rejects file, one JSON\n"
    "line each: {\"line\": N, \"error\": {\"code\", \"message\", ...}, \"input\": \"original line\"}.\n"
    "Ends with \"imported N, created C, rejected R in S s (X claims/s)\" on stderr; exits 1 if\n"
    "any record was rejected.\n\n"
    "Options:\n"
    "  --batch N             records per claim.import request (1-10000, default 1000)\n"
    "  --in-flight N         batches sent before waiting for a reply (1-64, default 4)\n"
    "  --on-duplicate POLICY merge (default), skip or error\n"
    "  --rejects PATH        rejects file (default FILE.rejects; reading stdin without it,\n"
    "                        rejects are reported on stderr). Truncated at start.\n";

/* Sizes batches to the daemon's limits (stats "limits"), when it tells them. */
static void fit_daemon_limits(importer *im)
{
    claimd_value *st = NULL;
    if (claimd_call(im->env->ctx, "stats", NULL, &st) != CLAIMD_OK) return;
    const claimd_value *limits = claimd_value_get(st, "limits");
    uint64_t max_request = claimd_value_get_uint(limits, "max_request", 0);
    uint64_t max_batch = claimd_value_get_uint(limits, "max_batch", 0);
    if (max_request > ENVELOPE_BYTES) {
        im->max_request = max_request;
        if (max_request / 2 < im->batch_bytes) im->batch_bytes = (size_t)(max_request / 2);
    }
    if (max_batch && max_batch < im->batch_size) im->batch_size = (size_t)max_batch;
    claimd_value_free(st);
}

/* Opens the rejects file into *f, refusing to overwrite the input. Returns an exit code. */
static int open_rejects(const char *path, const char *input, FILE **f)
{
    struct stat in, out;
    if (input && stat(input, &in) == 0 && stat(path, &out) == 0 && in.st_dev == out.st_dev &&
        in.st_ino == out.st_ino)
        return ctl_usage_error("import", "the rejects file would overwrite the input");
    if (!(*f = fopen(path, "w"))) {
        ctl_warn("cannot create rejects file %s: %s", path, strerror(errno));
        return CTL_EXIT_FAILED;
    }
    return CTL_EXIT_OK;
}

static int run_import(importer *im, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    while (!im->fatal && (n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        im->bytes_read += n;
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n') line[--len] = '\0';
        if (len && line[len - 1] == '\r') line[--len] = '\0';
        take_line(im, lineno, line, len);
        draw_progress(im, 0);
    }
    int read_error = ferror(in);
    free(line);
    if (!im->fatal) send_current(im);
    while (!im->fatal && im->in_flight) receive_oldest(im);
    if (read_error && !im->fatal) {
        ctl_warn("error reading the input: %s", strerror(errno));
        im->fatal = CTL_EXIT_FAILED;
    }
    return im->fatal;
}

int ctl_cmd_import(ctl_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        {"batch", required_argument, NULL, 'b'},
        {"in-flight", required_argument, NULL, 'f'},
        {"on-duplicate", required_argument, NULL, 'd'},
        {"rejects", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    importer im = {.env = env, .batch_size = DEFAULT_BATCH};
    long batch_size = DEFAULT_BATCH, in_flight = DEFAULT_IN_FLIGHT;
    const char *rejects_path = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (ctl_parse_int(optarg, 1, MAX_BATCH, &batch_size) < 0)
                return ctl_usage_error(argv[0], "--batch is a number from 1 to %d", MAX_BATCH);
            break;
        case 'f':
            if (ctl_parse_int(optarg, 1, MAX_IN_FLIGHT, &in_flight) < 0)
                return ctl_usage_error(argv[0], "--in-flight is a number from 1 to %d",
                                       MAX_IN_FLIGHT);
            break;
        case 'd': im.on_duplicate = optarg; break;
        case 'r': rejects_path = optarg; break;
        case 'h': fputs(import_usage, stdout); return CTL_EXIT_OK;
        default: return ctl_usage_error(argv[0], "bad option");
        }
    }
    if (argc - optind != 1) return ctl_usage_error(argv[0], "expected one FILE (or - for stdin)");
    if (im.on_duplicate && !ctl_valid_on_duplicate(im.on_duplicate))
        return ctl_usage_error(argv[0], "--on-duplicate is merge, skip or error");
    const char *path = argv[optind];
    int from_stdin = !strcmp(path, "-");
    FILE *in = from_stdin ? stdin : fopen(path, "r");
    if (!in) {
        ctl_warn("cannot open %s: %s", path, strerror(errno));
        return CTL_EXIT_FAILED;
    }
    struct stat st;
    if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode)) im.total_bytes = st.st_size;

    char *default_rejects = NULL;
    int rc = ctl_connect(env);
    if (rc) goto close_input;
    if (!rejects_path && !from_stdin) {
        size_t n = strlen(path) + sizeof ".rejects";
        if ((default_rejects = malloc(n))) snprintf(default_rejects, n, "%s.rejects", path);
        rejects_path = default_rejects;
    }
    if (rejects_path && (rc = open_rejects(rejects_path, from_stdin ? NULL : path, &im.rejects)))
        goto close_input;
    im.batch_size = (size_t)batch_size;
    im.batch_bytes = BATCH_BYTES;
    fit_daemon_limits(&im);
    im.nslots = (size_t)in_flight + 1;
    im.slots = calloc(im.nslots, sizeof *im.slots);
    im.record = claimd_args_new();
    if (!im.slots || !im.record || batch_start(&im, &im.slots[0]) < 0) {
        ctl_warn("out of memory");
        rc = CTL_EXIT_FAILED;
        goto free_batches;
    }
    im.tty = isatty(STDERR_FILENO);
    im.t0 = now_s();
    rc = run_import(&im, in);
    double secs = now_s() - im.t0;
    clear_progress(&im);
    fprintf(stderr, "imported %llu, created %llu, rejected %llu in %.2f s (%.0f claims/s)\n",
            (unsigned long long)im.imported, (unsigned long long)im.created,
            (unsigned long long)im.rejected, secs, secs > 0 ? (double)im.imported / secs : 0.0);
    if (im.rejected && im.rejects) ctl_warn("rejected records are in %s", rejects_path);
    if (!rc && im.rejected) rc = CTL_EXIT_FAILED;
free_batches:
    for (size_t i = 0; im.slots && i < im.nslots; i++) batch_free(&im.slots[i]);
    free(im.slots);
    claimd_args_free(im.record);
    if (im.rejects && fclose(im.rejects) != 0 && !rc) {
        ctl_warn("cannot write the rejects file: %s", strerror(errno));
        rc = CTL_EXIT_FAILED;
    }
close_input:
    free(default_rejects);
    if (!from_stdin) fclose(in);
    return rc;
}
