/* jsonld_split: streams the elements of a JSON-LD document without loading it whole.
 *
 * Fact-checkers publish ClaimReview as one object, an array of objects, or an object whose
 * "@graph" holds them. A tree parser (jansson) would hold the whole file; this scanner only
 * finds where each element starts and ends (tracking strings, escapes and bracket depth, not
 * validating), and hands each element's text to the caller, who parses that one. So memory is
 * bounded by the largest element (ELEMENT_MAX), not by the file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"

#define ELEMENT_MAX ((size_t)64 << 20)

typedef struct {
    FILE *in;
    unsigned char io[65536];
    size_t pos, len;
    int eof;
    uint64_t offset;           /* bytes consumed, for error messages */
    char *buf;                 /* the value being read */
    size_t n, cap;
    char *err;
    size_t errlen;
} scanner;

static int next_byte(scanner *s)
{
    if (s->pos == s->len) {
        if (s->eof) return EOF;
        s->len = fread(s->io, 1, sizeof s->io, s->in);
        s->pos = 0;
        if (s->len == 0) {
            s->eof = 1;
            return EOF;
        }
    }
    s->offset++;
    return s->io[s->pos++];
}

static int peek_byte(scanner *s)
{
    int c = next_byte(s);
    if (c != EOF) {
        s->pos--;
        s->offset--;
    }
    return c;
}

static int failf(scanner *s, const char *what)
{
    snprintf(s->err, s->errlen, "%s at byte %llu", what, (unsigned long long)s->offset);
    return -1;
}

static int skip_ws(scanner *s)
{
    int c;
    while ((c = peek_byte(s)) == ' ' || c == '\t' || c == '\n' || c == '\r') next_byte(s);
    return c;
}

static int put(scanner *s, int c)
{
    if (s->n + 2 > s->cap) {
        if (s->cap >= ELEMENT_MAX) return failf(s, "an element larger than 64 MiB");
        size_t cap = s->cap ? s->cap * 2 : 65536;
        char *p = realloc(s->buf, cap);
        if (!p) return failf(s, "out of memory");
        s->buf = p;
        s->cap = cap;
    }
    s->buf[s->n++] = (char)c;
    s->buf[s->n] = '\0';
    return 0;
}

/* Appends one JSON value's text to s->buf (without checking it beyond its brackets). */
static int read_value(scanner *s)
{
    int c = skip_ws(s), depth = 0, in_str = 0, esc = 0;
    if (c == EOF) return failf(s, "unexpected end of input");
    if (c != '{' && c != '[' && c != '"') {
        /* A number or literal runs to the next delimiter. */
        while ((c = peek_byte(s)) != EOF && !strchr(" \t\r\n,]}", c))
            if (put(s, next_byte(s)) < 0) return -1;
        return 0;
    }
    do {
        c = next_byte(s);
        if (c == EOF) return failf(s, "unexpected end of input inside an element");
        if (put(s, c) < 0) return -1;
        if (in_str) {
            if (esc) esc = 0;
            else if (c == '\\') esc = 1;
            else if (c == '"') in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    } while (depth > 0 || in_str);
    return 0;
}

/* Streams the items of an array whose '[' has just been read. */
static int stream_array(scanner *s, ctl_element_fn each, void *ctx, uint64_t *index)
{
    if (skip_ws(s) == ']') {
        next_byte(s);
        return 0;
    }
    for (;;) {
        s->n = 0;
        if (read_value(s) < 0) return -1;
        if (each(s->buf, s->n, (*index)++, ctx) < 0) return 1;
        int c = skip_ws(s);
        next_byte(s);
        if (c == ']') return 0;
        if (c != ',') return failf(s, "expected ',' or ']' between elements");
    }
}

/* A top-level object whose '{' has just been read: streams its "@graph" if it has one, else
 * hands the whole object over as the one element. */
static int top_object(scanner *s, ctl_element_fn each, void *ctx, uint64_t *index)
{
    /* The object is gathered in the buffer (it is the element when there is no graph); members
     * before "@graph" are small in practice (@context), and dropped once the graph starts. */
    int graph = 0, rc = -1;
    if (put(s, '{') < 0) return -1;
    for (int first = 1;; first = 0) {
        int c = skip_ws(s);
        if (c == '}') {
            next_byte(s);
            if (!graph && put(s, '}') < 0) goto out;
            break;
        }
        if (!first) {
            if (c != ',') { failf(s, "expected ',' or '}' in the top-level object"); goto out; }
            next_byte(s);
            if (!graph && put(s, ',') < 0) goto out;
            c = skip_ws(s);
        }
        if (c != '"') { failf(s, "expected a member name in the top-level object"); goto out; }
        size_t key_at = s->n;
        if (read_value(s) < 0) goto out;
        int is_graph = s->n - key_at == 8 && !memcmp(s->buf + key_at, "\"@graph\"", 8);
        if (skip_ws(s) != ':') { failf(s, "expected ':' in the top-level object"); goto out; }
        next_byte(s);
        if (!graph && put(s, ':') < 0) goto out;
        if (is_graph && skip_ws(s) == '[') {
            next_byte(s);
            graph = 1;
            int r = stream_array(s, each, ctx, index);
            if (r) { rc = r; goto out; }
            s->n = 0;
            continue;
        }
        if (graph) {
            size_t keep = s->n;
            if (read_value(s) < 0) goto out;
            s->n = keep; /* members after the graph are read past and dropped */
        } else if (read_value(s) < 0) {
            goto out;
        }
    }
    rc = !graph && each(s->buf, s->n, (*index)++, ctx) < 0 ? 1 : 0;
out:
    return rc;
}

int ctl_jsonld_split(FILE *in, ctl_element_fn each, void *ctx, char *err, size_t errlen)
{
    scanner *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    s->in = in;
    s->err = err;
    s->errlen = errlen;
    uint64_t index = 0;
    int rc;
    if (peek_byte(s) == 0xef) { /* a UTF-8 byte order mark */
        next_byte(s);
        if (next_byte(s) != 0xbb || next_byte(s) != 0xbf) {
            rc = failf(s, "not JSON");
            goto out;
        }
    }
    int c = skip_ws(s);
    next_byte(s);
    if (c == '[') rc = stream_array(s, each, ctx, &index);
    else if (c == '{') rc = top_object(s, each, ctx, &index);
    else rc = failf(s, c == EOF ? "the input is empty" : "expected a JSON object or array");
    if (rc == 0 && skip_ws(s) != EOF) rc = failf(s, "unexpected text after the document");
    if (rc == 1) rc = 0; /* the caller stopped */
out:
    free(s->buf);
    free(s);
    return rc;
}
