/* buf: a growable byte buffer with JSON string escaping, for the JSONL corpus, SQLite's JSON
 * columns and the results file. Out of memory is fatal: this is a benchmark, not the daemon. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench.h"

static void reserve(bench_buf *b, size_t more)
{
    if (b->n + more + 1 <= b->cap) return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more + 1) cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) { fprintf(stderr, "claimbench: out of memory\n"); exit(1); }
    b->p = p;
    b->cap = cap;
}

void buf_add(bench_buf *b, const char *s, size_t n)
{
    reserve(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = 0;
}

void buf_adds(bench_buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

void buf_json_str(bench_buf *b, const char *s)
{
    buf_add(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') { esc[0] = '\\'; esc[1] = (char)*p; buf_add(b, esc, 2); }
        else if (*p < 0x20) { snprintf(esc, sizeof esc, "\\u%04x", *p); buf_add(b, esc, 6); }
        else buf_add(b, (const char *)p, 1);
    }
    buf_add(b, "\"", 1);
}

void buf_printf(bench_buf *b, const char *fmt, ...)
{
    va_list ap;
    if (!fmt) return;      /* also tells gcc under -fsanitize that fmt is not null */
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)n;
}

void buf_free(bench_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}
