/* import_jsonl: JSON Lines, one claim object per line, read line by line (constant memory).
 *
 * With a sidecar (`import --verdicts FILE`, as written by `export --verdicts FILE`), each line
 * of the sidecar is {"line": N, "verdict": {...}} or {"line": N, "retract": {...}}, in line
 * order: the verdicts and retraction of the claim on line N of the claims file. The two files
 * are read in step, so both stay streamed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"

typedef struct {
    FILE *f;
    char *line;
    size_t cap;
    uint64_t lineno;           /* line of the sidecar itself */
    json_t *next;              /* the parsed line read ahead, or NULL */
    uint64_t next_for;         /* the claims line it belongs to */
    int eof;
} sidecar;

/* Reads the next usable sidecar line into s->next (rejecting unreadable ones). */
static void sidecar_advance(ctl_importer *im, sidecar *s)
{
    json_decref(s->next);
    s->next = NULL;
    ssize_t n;
    while (!s->eof && (n = getline(&s->line, &s->cap, s->f)) >= 0) {
        s->lineno++;
        while (n && (s->line[n - 1] == '\n' || s->line[n - 1] == '\r')) s->line[--n] = '\0';
        if (s->line[strspn(s->line, " \t")] == '\0') continue;
        json_error_t jerr;
        json_t *j = json_loadb(s->line, (size_t)n, 0, &jerr);
        json_t *line = json_object_get(j, "line");
        const char *why = NULL;
        if (!j) why = "invalid JSON";
        else if (!json_is_integer(line) || json_integer_value(line) < 1) why = "no \"line\" number";
        else if (!json_object_get(j, "verdict") && !json_object_get(j, "retract"))
            why = "neither \"verdict\" nor \"retract\"";
        else if (s->next_for && (uint64_t)json_integer_value(line) < s->next_for)
            why = "out of line order";
        if (why) {
            im->v_rejected++;
            ctl_import_write_reject(im, "verdicts_line", s->lineno, s->line,
                                    ctl_import_error("invalid", why, NULL));
            json_decref(j);
            continue;
        }
        s->next = j;
        s->next_for = (uint64_t)json_integer_value(line);
        return;
    }
    s->eof = 1;
}

/* Gathers the sidecar lines of claims line lineno into extras (NULL when there are none);
 * lines for earlier claims lines (blank or unreadable) are rejected. */
static json_t *sidecar_take(ctl_importer *im, sidecar *s, uint64_t lineno)
{
    json_t *extras = NULL;
    while (s->next && s->next_for <= lineno) {
        if (s->next_for < lineno) {
            im->v_rejected++;
            ctl_import_write_reject(im, "verdicts_line", s->lineno, s->line,
                                    ctl_import_error("not_found", "no claim on that line", "line"));
        } else {
            if (!extras) extras = json_object();
            json_t *v = json_object_get(s->next, "verdict"), *r = json_object_get(s->next, "retract");
            if (v) {
                json_t *list = json_object_get(extras, "verdicts");
                if (!list) json_object_set_new(extras, "verdicts", list = json_array());
                json_array_append(list, v);
            }
            if (r) json_object_set(extras, "retract", r);
        }
        sidecar_advance(im, s);
    }
    return extras;
}

/* Handles one input line (without its newline). */
static void take_line(ctl_importer *im, sidecar *s, uint64_t lineno, const char *line, size_t len)
{
    json_t *extras = s->f ? sidecar_take(im, s, lineno) : NULL;
    size_t i = strspn(line, " \t\r\f\v");
    if (i >= len) { /* blank lines are not records */
        json_decref(extras);
        return;
    }
    json_error_t jerr;
    json_t *obj = json_loadb(line, len, JSON_ALLOW_NUL, &jerr);
    if (!obj || !json_is_object(obj)) {
        char msg[256];
        if (obj) snprintf(msg, sizeof msg, "not a JSON object (each line must be one claim)");
        else snprintf(msg, sizeof msg, "invalid JSON: %s (column %d)", jerr.text, jerr.column);
        json_decref(obj);
        json_decref(extras);
        ctl_import_reject(im, lineno, line, len, "invalid", msg);
        return;
    }
    ctl_import_add(im, lineno, line, len, obj, extras);
}

int ctl_read_jsonl(ctl_importer *im, FILE *in, FILE *sidecar_file)
{
    sidecar s = {.f = sidecar_file};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    uint64_t lineno = 0;
    if (s.f) sidecar_advance(im, &s);
    while (!im->fatal && (n = getline(&line, &cap, in)) >= 0) {
        lineno++;
        im->bytes_read += n;
        size_t len = (size_t)n;
        if (len && line[len - 1] == '\n') line[--len] = '\0';
        if (len && line[len - 1] == '\r') line[--len] = '\0';
        take_line(im, &s, lineno, line, len);
        ctl_import_progress(im);
    }
    int rc = CTL_EXIT_OK;
    if (ferror(in) && !im->fatal) {
        ctl_warn("error reading the input: %s", strerror(errno));
        rc = CTL_EXIT_FAILED;
    }
    /* Sidecar lines past the last claims line have no claim. */
    if (s.f && !im->fatal) json_decref(sidecar_take(im, &s, UINT64_MAX));
    json_decref(s.next);
    free(s.line);
    free(line);
    return rc;
}
