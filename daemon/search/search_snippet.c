/* search_snippet: the piece of a claim's text shown with a search hit, matched words marked.
 * Short texts are shown whole; longer ones are cut at word boundaries to the window of at most
 * CD_SEARCH_SNIPPET_MAX bytes holding the most matched words, centred on them. Which words match
 * comes from the forward record (cd_search_marks), so the text need not be stemmed again. */
#include <stdlib.h>
#include <string.h>
#include "search.h"

typedef struct { size_t start, end; int hit; } word;

typedef struct {
    const uint32_t *marks;
    size_t nmarks, next;   /* marks come in token order: next is the first not yet reached */
    word *w;
    size_t n, cap;
    int oom;
} words;

static int add_word(const cd_token *tok, void *ud)
{
    words *ws = ud;
    if (ws->n == ws->cap) {
        size_t cap = ws->cap ? ws->cap * 2 : 64;
        word *w = realloc(ws->w, cap * sizeof *w);
        if (!w) { ws->oom = 1; return 1; }
        ws->w = w;
        ws->cap = cap;
    }
    while (ws->next < ws->nmarks && ws->marks[ws->next] < tok->pos) ws->next++;
    int hit = ws->next < ws->nmarks && ws->marks[ws->next] == tok->pos;
    ws->w[ws->n++] = (word){ tok->start, tok->end, hit };
    return 0;
}

/* Splits text into ws (reset first): word boundaries only, or (terms set) the full
 * tokenizer. 0, or -1 on invalid UTF-8 or no memory. */
static int split(words *ws, const char *text, size_t n, const char *lang, int terms)
{
    ws->n = ws->next = 0;
    ws->oom = 0;
    int rc = terms ? cd_text_tokenize(text, n, lang, add_word, ws) : cd_text_words(text, n, lang, add_word, ws);
    return rc < 0 || ws->oom ? -1 : 0;
}

/* Picks words [*a, *b] (inclusive) to show out of n, all within max bytes. */
static void pick_window(const word *w, size_t n, size_t max, size_t *a, size_t *b)
{
    size_t best = 0, ba = 0, bb = 0, hits = 0, lo = 0;
    for (size_t hi = 0; hi < n; hi++) {
        hits += w[hi].hit;
        while (lo < hi && w[hi].end - w[lo].start > max) hits -= w[lo++].hit;
        if (hits > best) { best = hits; ba = lo; bb = hi; }
    }
    if (!best) {                                    /* nothing marked: the beginning */
        ba = bb = 0;
        while (bb + 1 < n && w[bb + 1].end - w[0].start <= max) bb++;
        *a = ba; *b = bb;
        return;
    }
    while (!w[ba].hit) ba++;                        /* tighten to the marked words... */
    while (!w[bb].hit) bb--;
    /* ...then add context: up to half the room before, the rest after, then before again. */
    size_t span = w[bb].end - w[ba].start, left = span < max ? (max - span) / 2 : 0, used = 0;
    while (ba > 0 && used + (w[ba].start - w[ba - 1].start) <= left) {
        used += w[ba].start - w[ba - 1].start;
        ba--;
    }
    while (bb + 1 < n && w[bb + 1].end - w[ba].start <= max) bb++;
    while (ba > 0 && w[bb].end - w[ba - 1].start <= max) ba--;
    *a = ba;
    *b = bb;
}

/* Appends s[0..n) to out at *len, turning tabs and line breaks into spaces. */
static void put(char *out, size_t *len, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        out[(*len)++] = ch == '\n' || ch == '\r' || ch == '\t' ? ' ' : ch;
    }
}

char *cd_search_snippet(const char *text, size_t n, const char *lang, uint32_t tokens,
                        const uint32_t *marks, size_t nmarks, const char *open, const char *close,
                        size_t *out_len)
{
    words ws = { marks, nmarks, 0, NULL, 0, 0, 0 };
    /* Word boundaries under the language's rules give the index's positions without folding or
     * stemming anything; only a word that folds to nothing (the count tells) makes the full
     * tokenizer necessary. */
    if (split(&ws, text, n, lang, 0) || (ws.n != tokens && split(&ws, text, n, lang, 1))) {
        free(ws.w);
        return NULL;
    }
    size_t from = 0, to = n, a = 0, b = ws.n ? ws.n - 1 : 0;
    if (n > CD_SEARCH_SNIPPET_MAX && ws.n) {
        pick_window(ws.w, ws.n, CD_SEARCH_SNIPPET_MAX, &a, &b);
        from = ws.w[a].start;
        to = ws.w[b].end;
    } else if (n > CD_SEARCH_SNIPPET_MAX) {
        to = CD_SEARCH_SNIPPET_MAX;                 /* no words at all: whole characters only */
        while (to > 0 && ((unsigned char)text[to] & 0xC0) == 0x80) to--;
    }
    size_t lo = strlen(open), lc = strlen(close), nhit = 0;
    for (size_t i = 0; i < ws.n; i++) nhit += ws.w[i].hit;
    char *out = malloc(to - from + nhit * (lo + lc) + 2 * 3 + 1);
    if (!out) { free(ws.w); return NULL; }
    size_t len = 0, at = from;
    static const char ellipsis[] = "\xe2\x80\xa6";   /* U+2026 */
    if (from > 0) { memcpy(out, ellipsis, 3); len = 3; }
    for (size_t i = 0; i < ws.n; i++) {
        const word *w = &ws.w[i];
        if (w->start < from || w->end > to || !w->hit) continue;
        put(out, &len, text + at, w->start - at);
        memcpy(out + len, open, lo); len += lo;
        put(out, &len, text + w->start, w->end - w->start);
        memcpy(out + len, close, lc); len += lc;
        at = w->end;
    }
    put(out, &len, text + at, to - at);
    if (to < n) { memcpy(out + len, ellipsis, 3); len += 3; }
    out[len] = 0;
    *out_len = len;
    free(ws.w);
    return out;
}
