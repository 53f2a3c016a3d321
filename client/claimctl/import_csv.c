/* import_csv: CSV with a header row (RFC 4180), read record by record in constant memory.
 *
 * Fields are separated by the delimiter (',' unless --delimiter) and may be quoted with '"'
 * ('""' inside quotes is one '"'); quoted fields may hold delimiters and line breaks. Records
 * end with LF or CRLF; blank lines are skipped; a UTF-8 byte order mark at the start is
 * skipped. The header names the columns: claim fields, one appearance (url, outlet, title,
 * published_at, appearance_lang) and one verdict (rating, label, score, verdict_by, verdict_at,
 * verdict_url, summary); --map renames columns (verdict.label, verdict.date... name the
 * verdict's fields too). Empty cells are absent fields. List cells (about, tags, via) separate
 * items with ';' (or --list-sep), and a via item is NAME or NAME:HOW. TSV (no_quotes) has no
 * quoting: '"' is text. Dates as publishers write them ("2021-7-20") are padded. A rating cell
 * holding a publisher's label is rated by the vocabulary (claimreview_rating.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "import.h"
#include "isotime.h"

#define RECORD_MAX ((size_t)16 << 20) /* a record past this is surely a quote left open */

enum { C_IGNORE = -1 };

static const char *const columns[] = {
    "text", "quote", "lang", "speaker", "speaker_role", "attribution", "said_at", "medium",
    "via", "about", "tags", "external_id", "by", "url", "outlet", "title", "published_at",
    "appearance_lang", "rating", "label", "score", "verdict_by", "verdict_at", "verdict_url",
    "summary", NULL};

enum {
    K_TEXT, K_QUOTE, K_LANG, K_SPEAKER, K_SPEAKER_ROLE, K_ATTRIBUTION, K_SAID_AT, K_MEDIUM,
    K_VIA, K_ABOUT, K_TAGS, K_EXTERNAL_ID, K_BY, K_URL, K_OUTLET, K_TITLE, K_PUBLISHED_AT,
    K_APP_LANG, K_RATING, K_LABEL, K_SCORE, K_VERDICT_BY, K_VERDICT_AT, K_VERDICT_URL,
    K_SUMMARY, K_COUNT
};

/* A growable byte buffer. */
typedef struct {
    char *p;
    size_t n, cap;
} buf;

static int put(buf *b, char c)
{
    if (b->n + 1 >= b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        char *p = realloc(b->p, cap);
        if (!p) return -1;
        b->p = p;
        b->cap = cap;
    }
    b->p[b->n++] = c;
    return 0;
}

typedef struct {
    FILE *in;
    char delim;
    int no_quotes;
    unsigned char io[65536];
    size_t pos, len;
    int eof;
    uint64_t line;             /* current physical line */
    buf raw;                   /* the record as read, for the rejects file */
    buf text;                  /* the fields' text, each NUL-terminated */
    size_t *off;               /* start of each field in text */
    size_t nfields, capfields;
} reader;

static int next_byte(reader *r)
{
    if (r->pos == r->len) {
        if (r->eof) return EOF;
        r->len = fread(r->io, 1, sizeof r->io, r->in);
        r->pos = 0;
        if (r->len == 0) {
            r->eof = 1;
            return EOF;
        }
    }
    return r->io[r->pos++];
}

static int peek_byte(reader *r)
{
    int c = next_byte(r);
    if (c != EOF) r->pos--;
    return c;
}

/* Starts field number r->nfields at the current end of the text. */
static int new_field(reader *r)
{
    if (r->nfields == r->capfields) {
        size_t cap = r->capfields ? r->capfields * 2 : 32;
        size_t *off = realloc(r->off, cap * sizeof *off);
        if (!off) return -1;
        r->off = off;
        r->capfields = cap;
    }
    r->off[r->nfields] = r->text.n;
    return 0;
}

/* Reads one record. Returns 1 (a record), 0 (end of input), -1 with a reason in why (out of
 * memory, a record past RECORD_MAX, or input ending inside quotes: reading cannot go on). */
static int read_record(reader *r, const char **why)
{
    r->raw.n = r->text.n = r->nfields = 0;
    int c = next_byte(r), in_quotes = 0, field_start = 1;
    if (c == EOF) return 0;
    if (new_field(r) < 0) goto oom;
    for (;; c = next_byte(r)) {
        if (r->raw.n > RECORD_MAX) {
            *why = "a record of more than 16 MiB (a quote left open?)";
            return -1;
        }
        if (c == EOF) {
            if (in_quotes) {
                *why = "the input ends inside a quoted field";
                return -1;
            }
            break;
        }
        if (c == '\n') r->line++;
        if (in_quotes) {
            if (c == '"') {
                if (put(&r->raw, '"') < 0) goto oom;
                if (peek_byte(r) == '"') { /* "" inside quotes: one quote */
                    next_byte(r);
                    if (put(&r->raw, '"') < 0 || put(&r->text, '"') < 0) goto oom;
                } else {
                    in_quotes = 0;
                }
                continue;
            }
            if (put(&r->raw, (char)c) < 0 || put(&r->text, (char)c) < 0) goto oom;
            continue;
        }
        if (c == '\r' && peek_byte(r) == '\n') continue;
        if (c == '\n') break;
        if (put(&r->raw, (char)c) < 0) goto oom;
        if (c == r->delim) {
            if (put(&r->text, '\0') < 0) goto oom;
            r->nfields++;
            if (new_field(r) < 0) goto oom;
            field_start = 1;
            continue;
        }
        if (c == '"' && field_start && !r->no_quotes) {
            in_quotes = 1;
            field_start = 0;
            continue;
        }
        field_start = 0;
        if (put(&r->text, (char)c) < 0) goto oom;
    }
    if (put(&r->text, '\0') < 0 || put(&r->raw, '\0') < 0) goto oom;
    r->raw.n--;
    r->nfields++;
    return 1;
oom:
    *why = "out of memory";
    return -1;
}

static const char *field(const reader *r, size_t i)
{
    return r->text.p + r->off[i];
}

/* ---- header ---- */

const char *ctl_csv_field_name(const char *field)
{
    static const char *const alias[][2] = {
        {"verdict.label", "label"}, {"verdict.rating", "rating"}, {"verdict.date", "verdict_at"},
        {"verdict.at", "verdict_at"}, {"verdict_date", "verdict_at"}, {"verdict.url", "verdict_url"},
        {"verdict.by", "verdict_by"}, {"verdict.score", "score"}, {"verdict.summary", "summary"},
        {"verdict_label", "label"}, {"verdict_rating", "rating"},
    };
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
        if (!strcmp(alias[i][0], field)) return alias[i][1];
    return field;
}

static int column_index(const char *name, const ctl_csv_options *o)
{
    for (size_t i = 0; i < o->n_map; i++) {
        if (strcmp(o->map_from[i], name)) continue;
        const char *to = o->map_to[i];
        if (!*to || !strcmp(to, "-")) return C_IGNORE;
        name = ctl_csv_field_name(to);
        break;
    }
    for (int k = 0; columns[k]; k++)
        if (!strcmp(columns[k], name)) return k;
    return -2;
}

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) s[--n] = '\0';
    return s;
}

/* ---- a row to a claim ---- */

typedef struct {
    const char *why;           /* the reason a row is rejected */
    char column[64];
} row_error;

static json_t *text_of(const char *s, const char *col, row_error *e)
{
    json_t *j = json_string(s);
    if (!j && !e->why) {
        e->why = "invalid UTF-8";
        snprintf(e->column, sizeof e->column, "%s", col);
    }
    return j;
}

/* Splits s at sep into trimmed, non-empty items, adding each to list. */
static void split_items(char *s, const char *sep, json_t *list, const char *col, row_error *e, int via)
{
    size_t seplen = strlen(sep);
    for (char *tok = s, *next; tok; tok = next) {
        char *at = strstr(tok, sep);
        next = at ? at + seplen : NULL;
        if (at) *at = '\0';
        char *item = trim(tok);
        if (!*item) continue;
        if (!via) {
            json_array_append_new(list, text_of(item, col, e));
            continue;
        }
        claimd_via v = ctl_parse_via(item);
        json_t *hop = json_object();
        json_object_set_new(hop, "name", text_of(trim((char *)v.name), col, e));
        if (v.how) json_object_set_new(hop, "how", json_string(v.how));
        json_array_append_new(list, hop);
    }
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"true", "yes", "1", "quote", "verbatim", NULL};
    static const char *const no[] = {"false", "no", "0", "paraphrase", NULL};
    for (int i = 0; yes[i]; i++)
        if (!strcasecmp(s, yes[i])) return *out = 1, 0;
    for (int i = 0; no[i]; i++)
        if (!strcasecmp(s, no[i])) return *out = 0, 0;
    return -1;
}

/* Builds the claim and extras of one row (cells indexed by column kind). */
static json_t *row_claim(char **cell, const char *list_sep, json_t **extras, row_error *e)
{
    static const int plain[] = {K_TEXT, K_LANG, K_SPEAKER, K_SPEAKER_ROLE, K_ATTRIBUTION,
                                K_SAID_AT, K_MEDIUM, K_EXTERNAL_ID, K_BY};
    json_t *claim = json_object();
    *extras = NULL;
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (cell[plain[i]])
            json_object_set_new(claim, columns[plain[i]], text_of(cell[plain[i]], columns[plain[i]], e));
    if (cell[K_QUOTE]) {
        int q = 1;
        if (parse_bool(cell[K_QUOTE], &q) < 0 && !e->why) {
            e->why = "must be true or false (yes/no, 1/0, quote/paraphrase)";
            snprintf(e->column, sizeof e->column, "quote");
        }
        json_object_set_new(claim, "quote", json_boolean(q));
    }
    static const int lists[] = {K_VIA, K_ABOUT, K_TAGS};
    for (size_t i = 0; i < 3; i++) {
        if (!cell[lists[i]]) continue;
        json_t *list = json_array();
        split_items(cell[lists[i]], list_sep, list, columns[lists[i]], e, lists[i] == K_VIA);
        json_object_set_new(claim, columns[lists[i]], list);
    }
    if (cell[K_URL] || cell[K_OUTLET] || cell[K_TITLE] || cell[K_PUBLISHED_AT] || cell[K_APP_LANG]) {
        static const int app[] = {K_URL, K_OUTLET, K_TITLE, K_PUBLISHED_AT, K_APP_LANG};
        json_t *a = json_object();
        for (size_t i = 0; i < 5; i++)
            if (cell[app[i]])
                json_object_set_new(a, app[i] == K_APP_LANG ? "lang" : columns[app[i]],
                                    text_of(cell[app[i]], columns[app[i]], e));
        json_object_set_new(claim, "appearances", json_pack("[o]", a));
    }
    static const struct { int k; const char *key; } verdict[] = {
        {K_RATING, "rating"}, {K_LABEL, "label"}, {K_VERDICT_BY, "by"}, {K_VERDICT_AT, "at"},
        {K_VERDICT_URL, "url"}, {K_SUMMARY, "summary"}};
    json_t *v = NULL;
    for (size_t i = 0; i < sizeof verdict / sizeof verdict[0]; i++) {
        if (!cell[verdict[i].k]) continue;
        if (!v) v = json_object();
        json_object_set_new(v, verdict[i].key, text_of(cell[verdict[i].k], columns[verdict[i].k], e));
    }
    if (cell[K_SCORE]) {
        long score = 0;
        if (!v) v = json_object();
        if (ctl_parse_int(cell[K_SCORE], 1, 5, &score) < 0 && !e->why) {
            e->why = "a whole number from 1 to 5";
            snprintf(e->column, sizeof e->column, "score");
        }
        json_object_set_new(v, "score", json_integer(score));
    }
    if (v) *extras = json_pack("{s[o]}", "verdicts", v);
    return claim;
}

/* ---- the reader ---- */

int ctl_read_csv(ctl_importer *im, FILE *in, const ctl_csv_options *o)
{
    reader r = {.in = in, .delim = o->delimiter ? o->delimiter : ',', .no_quotes = o->no_quotes, .line = 1};
    const char *list_sep = o->list_sep ? o->list_sep : ";";
    const char *why = NULL;
    int *kind = NULL, rc = CTL_EXIT_OK;
    char **cell = NULL;
    size_t ncols = 0;
    /* The byte order mark, if any. */
    if (peek_byte(&r) == 0xef) {
        r.pos = 0;
        if (r.len >= 3 && r.io[1] == 0xbb && r.io[2] == 0xbf) r.pos = 3;
    }
    int got;
    do got = read_record(&r, &why);
    while (got == 1 && r.nfields == 1 && !*field(&r, 0));
    if (got <= 0) {
        if (got < 0) ctl_warn("CSV header: %s", why);
        else ctl_warn("the CSV input is empty: a header row is required");
        rc = got < 0 ? CTL_EXIT_FAILED : CTL_EXIT_USAGE;
        goto out;
    }
    ncols = r.nfields;
    kind = calloc(ncols, sizeof *kind);
    cell = calloc(K_COUNT, sizeof *cell);
    if (!kind || !cell) { rc = CTL_EXIT_FAILED; goto out; }
    int has_text = 0;
    for (size_t i = 0; i < ncols; i++) {
        char *name = trim((char *)field(&r, i));
        kind[i] = column_index(name, o);
        if (kind[i] == -2) {
            char list[512];
            rc = ctl_usage_error("import", "unknown CSV column '%s' (known: %s; rename with "
                                 "--map '%s=FIELD', skip with --map '%s=')", name,
                                 ctl_list_text(columns, list, sizeof list), name, name);
            goto out;
        }
        for (size_t k = 0; k < i; k++)
            if (kind[i] >= 0 && kind[k] == kind[i]) {
                rc = ctl_usage_error("import", "two CSV columns are '%s'", columns[kind[i]]);
                goto out;
            }
        has_text |= kind[i] == K_TEXT;
    }
    if (!has_text) {
        rc = ctl_usage_error("import", "the CSV header has no 'text' column (use --map COLUMN=text)");
        goto out;
    }
    for (;;) {
        uint64_t start = r.line;
        got = read_record(&r, &why);
        if (got == 0 || im->fatal) break;
        if (got < 0) {
            ctl_warn("CSV line %llu: %s; stopping", (unsigned long long)start, why);
            rc = CTL_EXIT_FAILED;
            break;
        }
        im->bytes_read += (off_t)r.raw.n + 1;
        if (r.nfields == 1 && !*field(&r, 0)) continue; /* a blank line */
        if (r.nfields > ncols) {
            char msg[96];
            snprintf(msg, sizeof msg, "%zu fields, but the header has %zu columns", r.nfields, ncols);
            ctl_import_reject(im, start, r.raw.p, r.raw.n, "invalid", msg);
            continue;
        }
        memset(cell, 0, K_COUNT * sizeof *cell);
        for (size_t i = 0; i < r.nfields; i++) {
            char *v = (char *)field(&r, i);
            if (kind[i] >= 0 && *v) cell[kind[i]] = v;
        }
        row_error e = {0};
        static const int times[] = {K_SAID_AT, K_PUBLISHED_AT, K_VERDICT_AT};
        char canon[3][48];
        for (size_t i = 0; i < 3; i++) {
            cd_time t;
            const char *v = cell[times[i]];
            if (v && !ctl_canonical_time(v, canon[i]) && cd_time_parse_loose(v, strlen(v), &t) == 0) {
                snprintf(canon[i], sizeof canon[i], "%s", t.canon);
                cell[times[i]] = canon[i];
            }
        }
        json_t *extras = NULL, *claim = row_claim(cell, list_sep, &extras, &e);
        if (extras && !e.why) ctl_rate_verdict(im, json_array_get(json_object_get(extras, "verdicts"), 0));
        if (e.why) {
            char msg[160];
            snprintf(msg, sizeof msg, "column %s: %s", e.column, e.why);
            json_decref(claim);
            json_decref(extras);
            ctl_import_reject(im, start, r.raw.p, r.raw.n, "invalid", msg);
            continue;
        }
        ctl_import_add(im, start, r.raw.p, r.raw.n, claim, extras);
        ctl_import_progress(im);
    }
    if (ferror(in)) {
        ctl_warn("error reading the input: %s", strerror(errno));
        rc = CTL_EXIT_FAILED;
    }
out:
    free(kind);
    free(cell);
    free(r.raw.p);
    free(r.text.p);
    free(r.off);
    return rc;
}
