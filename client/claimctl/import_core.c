/* import_core: batches of claim.import, pipelined on one connection, with the rejects file.
 *
 * Records are converted to MessagePack one by one and gathered into batches (--batch records,
 * and at most half the daemon's request limit in bytes, read from `stats` at the start: a
 * request over the limit makes the daemon drop the connection). Up to --in-flight batches are
 * pipelined: while the daemon commits one, the next is already on its way. Each batch keeps
 * where each entry came from and its original text, so that every rejected record, refused here
 * or by the daemon, goes to the rejects file as it was read. Records refused here ride along in
 * the batch being filled, so the rejects file comes out in input order. With --dry-run nothing
 * is sent: each record is checked here (validate.c) and counted. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "import.h"

#define MAX_BATCH_BYTES ((size_t)8 << 20) /* half the daemon's default 16 MiB request limit */
#define ENVELOPE_BYTES 256                 /* request envelope, "claims" and on_duplicate */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

json_t *ctl_import_error(const char *code, const char *message, const char *field)
{
    json_t *e = json_pack("{ss ss}", "code", code, "message", message);
    if (e && field) json_object_set_new(e, "field", json_string(field));
    return e;
}

/* ---- rejects ---- */

void ctl_import_write_reject(ctl_importer *im, const char *key, uint64_t where, const char *input,
                             json_t *error)
{
    if (im->rejects) {
        json_t *j = json_object();
        json_object_set_new(j, key, json_integer((json_int_t)where));
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
    if (im->tty) fputs("\r\033[K", stderr);
    fprintf(stderr, "claimctl: %s %llu: %s: %s", key, (unsigned long long)where,
            code ? code : "error", msg ? msg : "rejected");
    if (field) fprintf(stderr, " (field %s)", field);
    fputc('\n', stderr);
    json_decref(error);
}

/* Reports one rejected record; takes the reference to error. */
static void reject(ctl_importer *im, uint64_t where, const char *input, json_t *error)
{
    im->rejected++;
    im->processed++;
    ctl_import_write_reject(im, im->where_key, where, input, error);
}

/* ---- progress ---- */

void ctl_import_progress(ctl_importer *im)
{
    if (!im->tty) return;
    double now = now_s();
    if (now - im->last_draw < 0.25) return;
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

static void clear_progress(ctl_importer *im)
{
    if (im->tty) fputs("\r\033[K", stderr);
}

/* ---- batches ---- */

static int batch_start(ctl_batch *b)
{
    if (!b->args && !(b->args = claimd_args_new())) return -1;
    claimd_args_reset(b->args);
    claimd_args_begin_array(b->args, "claims");
    b->n = 0;
    b->bytes = 0;
    return 0;
}

static void batch_clear_entries(ctl_batch *b)
{
    for (size_t i = 0; i < b->m; i++) {
        free(b->e[i].input);
        json_decref(b->e[i].local);
        json_decref(b->e[i].extras);
    }
    b->m = 0;
    b->n = 0;
}

/* Appends an entry: a record packed as rec[0..len), or (rec NULL) a record refused here with
 * error. References to error and extras are taken. Returns 0 or -1 (out of memory). */
static int batch_add(ctl_batch *b, uint64_t where, const char *input, size_t input_len,
                     const void *rec, size_t len, json_t *error, json_t *extras)
{
    char *copy = NULL;
    if (b->m == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        ctl_entry *e = realloc(b->e, cap * sizeof *e);
        if (!e) goto fail;
        b->e = e;
        b->cap = cap;
    }
    if (!(copy = malloc(input_len + 1))) goto fail;
    memcpy(copy, input, input_len);
    copy[input_len] = '\0';
    if (rec && claimd_args_raw(b->args, NULL, rec, len) != CLAIMD_OK) goto fail;
    b->e[b->m++] = (ctl_entry){where, copy, rec ? NULL : error, extras, 0};
    if (rec) {
        b->n++;
        b->bytes += len;
    }
    return 0;
fail:
    free(copy);
    json_decref(error);
    json_decref(extras);
    return -1;
}

static ctl_batch *current(ctl_importer *im)
{
    return &im->slots[(im->head + im->in_flight) % im->nslots];
}

static void out_of_memory(ctl_importer *im)
{
    ctl_warn("out of memory");
    im->fatal = CTL_EXIT_FAILED;
}

/* The daemon answered a whole batch with an error: every record of it is rejected, unless the
 * error means no batch can succeed (then the import stops). */
static void batch_failed(ctl_importer *im, ctl_batch *b)
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
        reject(im, b->e[i].where, b->e[i].input,
               b->e[i].local ? json_incref(b->e[i].local) : json_incref(error));
    json_decref(error);
}

/* The daemon's error for one record of a batch, with the field relative to the record
 * ("said_at", not "claims[2].said_at": the batch position means nothing to the user). */
static json_t *record_error(const claimd_value *err)
{
    json_t *e = ctl_json_from_value(err);
    const char *field = json_string_value(json_object_get(e, "field"));
    if (field && !strncmp(field, "claims[", 7)) {
        const char *rest = strchr(field, ']');
        if (rest && rest[1] == '.') json_object_set_new(e, "field", json_string(rest + 2));
        else if (rest && !rest[1]) json_object_del(e, "field");
    }
    return e;
}

/* Accounts for each record of an answered batch; returns 1 if any has extras to apply. */
static int take_results(ctl_importer *im, ctl_batch *b, const claimd_value *results)
{
    int extras = 0;
    for (size_t i = 0, k = 0; i < b->m; i++) {
        ctl_entry *e = &b->e[i];
        if (e->local) {
            reject(im, e->where, e->input, json_incref(e->local));
            continue;
        }
        const claimd_value *item = claimd_value_at(results, k++);
        const claimd_value *err = claimd_value_get(item, "error");
        if (err && claimd_value_type(err) != CLAIMD_T_NIL) {
            reject(im, e->where, e->input, record_error(err));
            continue;
        }
        int created = 0;
        claimd_value_bool(claimd_value_get(item, "created"), &created);
        e->id = claimd_value_get_uint(item, "id", 0);
        extras |= e->extras != NULL;
        im->imported++;
        im->processed++;
        im->created += created != 0;
    }
    return extras;
}

/* Reads the reply to the oldest batch in flight and accounts for each of its records. */
static void receive_oldest(ctl_importer *im)
{
    ctl_batch *b = &im->slots[im->head];
    claimd_value *r = NULL;
    if (claimd_get_reply(im->env->ctx, &r) != CLAIMD_OK) {
        batch_failed(im, b);
    } else {
        const claimd_value *results = claimd_value_get(r, "results");
        if (claimd_value_type(results) != CLAIMD_T_ARRAY || claimd_value_len(results) != b->n) {
            clear_progress(im);
            ctl_warn("protocol error: claim.import answered %zu results for %zu claims",
                     claimd_value_len(results), b->n);
            im->fatal = CTL_EXIT_FAILED;
        } else if (take_results(im, b, results)) {
            ctl_import_apply(im, b);
        }
    }
    claimd_value_free(r);
    batch_clear_entries(b);
    im->head = (im->head + 1) % im->nslots;
    im->in_flight--;
    ctl_import_progress(im);
}

/* Sends the batch being filled (if it has records) and starts the next one. */
static void send_current(ctl_importer *im)
{
    ctl_batch *b = current(im);
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
        batch_start(b);
        return;
    }
    im->in_flight++;
    if (batch_start(current(im)) < 0) out_of_memory(im);
}

/* A record refused here (error taken): it waits in the batch being filled when that has
 * records (to keep the rejects in input order), else every batch before it is answered and it
 * is reported at once. */
static void refuse(ctl_importer *im, uint64_t where, const char *input, size_t len, json_t *error)
{
    ctl_batch *b = current(im);
    if (b->n) {
        if (batch_add(b, where, input, len, NULL, 0, error, NULL) < 0) out_of_memory(im);
        return;
    }
    while (!im->fatal && im->in_flight) receive_oldest(im);
    if (im->fatal) {
        json_decref(error);
        return;
    }
    char *copy = strndup(input, len);
    reject(im, where, copy ? copy : "", error);
    free(copy);
}

void ctl_import_reject(ctl_importer *im, uint64_t where, const char *input, size_t len,
                       const char *code, const char *message)
{
    refuse(im, where, input, len, ctl_import_error(code, message, NULL));
}

/* --dry-run: checks the record here and counts it. */
static void check_only(ctl_importer *im, uint64_t where, const char *input, size_t len,
                       json_t *claim, json_t *extras)
{
    json_t *error = ctl_validate_claim(claim);
    if (!error && extras) error = ctl_validate_extras(extras);
    if (error) {
        refuse(im, where, input, len, error);
    } else {
        im->imported++;
        im->processed++;
    }
    json_decref(claim);
    json_decref(extras);
}

/* --lang and --outlet: defaults for the records that do not say. */
static void apply_defaults(const ctl_importer *im, json_t *claim)
{
    if (im->lang && !json_object_get(claim, "lang"))
        json_object_set_new(claim, "lang", json_string(im->lang));
    if (!im->outlet) return;
    json_t *apps = json_object_get(claim, "appearances"), *a;
    size_t i;
    if (!json_array_size(apps)) {
        json_object_set_new(claim, "appearances", json_pack("[{ss}]", "outlet", im->outlet));
        return;
    }
    json_array_foreach(apps, i, a)
        if (json_is_object(a) && !json_object_get(a, "outlet"))
            json_object_set_new(a, "outlet", json_string(im->outlet));
}

void ctl_import_add(ctl_importer *im, uint64_t where, const char *input, size_t len, json_t *claim,
                    json_t *extras)
{
    if (im->fatal) goto drop;
    if (im->by && json_is_object(claim) && !json_object_get(claim, "by"))
        json_object_set_new(claim, "by", json_string(im->by));
    if (json_is_object(claim)) apply_defaults(im, claim);
    if (im->dry_run) {
        check_only(im, where, input, len, claim, extras);
        return;
    }
    json_t *error = extras ? ctl_validate_extras(extras) : NULL;
    if (error) {
        refuse(im, where, input, len, error);
        goto drop;
    }
    claimd_args_reset(im->record);
    int rc = ctl_json_add_fields(im->record, claim);
    size_t rec_len = 0;
    const void *rec = rc == CLAIMD_OK ? claimd_args_data(im->record, &rec_len) : NULL;
    if (!rec) {
        ctl_import_reject(im, where, input, len, "invalid",
                          "claim nested too deeply or has a key with NUL");
        goto drop;
    }
    if (im->max_request && rec_len + ENVELOPE_BYTES > im->max_request) {
        char msg[128];
        snprintf(msg, sizeof msg, "record of %zu bytes is over the daemon's request limit (%llu)",
                 rec_len, (unsigned long long)im->max_request);
        ctl_import_reject(im, where, input, len, "too_large", msg);
        goto drop;
    }
    ctl_batch *b = current(im);
    if (b->n && b->bytes + rec_len > im->batch_bytes) {
        send_current(im);
        if (im->fatal) goto drop;
        b = current(im);
    }
    json_decref(claim);
    if (batch_add(b, where, input, len, rec, rec_len, NULL, extras) < 0) {
        out_of_memory(im);
        return;
    }
    if (b->n >= im->batch_size || b->bytes >= im->batch_bytes) send_current(im);
    return;
drop:
    json_decref(claim);
    json_decref(extras);
}

/* ---- start and end ---- */

/* Sizes batches to the daemon's limits (stats "limits"), when it tells them. */
static void fit_daemon_limits(ctl_importer *im)
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

int ctl_import_start(ctl_importer *im, size_t in_flight)
{
    im->batch_bytes = MAX_BATCH_BYTES;
    if (!im->dry_run) fit_daemon_limits(im);
    im->nslots = in_flight + 1;
    im->slots = calloc(im->nslots, sizeof *im->slots);
    im->record = claimd_args_new();
    if (!im->slots || !im->record || batch_start(&im->slots[0]) < 0) {
        ctl_warn("out of memory");
        return CTL_EXIT_FAILED;
    }
    im->t0 = now_s();
    return CTL_EXIT_OK;
}

double ctl_import_elapsed(const ctl_importer *im)
{
    return now_s() - im->t0;
}

int ctl_import_finish(ctl_importer *im)
{
    if (!im->fatal) send_current(im);
    while (!im->fatal && im->in_flight) receive_oldest(im);
    clear_progress(im);
    return im->fatal;
}

void ctl_import_free(ctl_importer *im)
{
    for (size_t i = 0; im->slots && i < im->nslots; i++) {
        batch_clear_entries(&im->slots[i]);
        free(im->slots[i].e);
        claimd_args_free(im->slots[i].args);
    }
    free(im->slots);
    im->slots = NULL;
    claimd_args_free(im->record);
    im->record = NULL;
    for (size_t i = 0; i < im->n_unmapped; i++) free(im->unmapped[i].label);
    free(im->unmapped);
    im->unmapped = NULL;
    im->n_unmapped = 0;
}

