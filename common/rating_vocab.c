/* rating_vocab: label folding, the lookup in the built-in table (rating_labels.c) and in an
 * operator's file, and the numeric-scale fallback. See rating_vocab.h. */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rating_vocab.h"

#define LABEL_MAX 256 /* folded bytes compared; longer labels are cut (never a real label) */

static const char *const rating_names[] = { "true", "mostly-true", "mixed", "mostly-false", "false",
                                            "misleading", "unproven", "in-review", CD_VOCAB_UNRATED,
                                            NULL };

typedef struct {
    char *folded;
    const char *rating; /* one of rating_names */
} entry;

struct cd_vocab {
    entry *e;
    size_t n;
};

/* The canonical pointer for a rating name, or NULL. */
static const char *rating_name(const char *s, size_t n)
{
    for (size_t i = 0; rating_names[i]; i++)
        if (strlen(rating_names[i]) == n && !memcmp(rating_names[i], s, n)) return rating_names[i];
    return NULL;
}

/* Base letters of U+0100..U+017F (Latin Extended-A), one per code point. */
static const char latin_ext_a[] = "aaaaaaccccccccdd" "ddeeeeeeeeeegggg" "gggghhhhiiiiiiii"
                                  "iiiijjkkklllllll" "lllnnnnnnnnnoooo" "oooorrrrrrssssss"
                                  "ssttttttuuuuuuuu" "uuuuwwyyyzzzzzzs";
/* U+00C0..U+00FF (Latin-1 letters); '.' marks x and / (separators), digits mark two letters. */
static const char latin_1[] = "aaaaaa1ceeeeiiii" "dnooooo.ouuuuy23" "aaaaaa1ceeeeiiii" "dnooooo.ouuuuy3y";

enum { SEP = -1, DROP = -2 };

/* The folded code point for c: a code point, SEP (a separator) or DROP (nothing). Latin-1 and
 * Latin Extended-A letters are handled by the caller. */
static long fold_cp(uint32_t c)
{
    if (c < 0x80) {
        if (c >= 'A' && c <= 'Z') return c + 32;
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return c;
        return SEP;
    }
    if (c < 0xC0) return SEP;                       /* Latin-1 punctuation: ¡ « » ¿ ... */
    if (c >= 0x0218 && c <= 0x021B) return c < 0x021A ? 's' : 't'; /* Romanian ș ț */
    if (c >= 0x0300 && c <= 0x036F) return DROP;    /* combining accents */
    /* Greek: lower case, no tonos or dialytika, final sigma as sigma. */
    switch (c) {
    case 0x0386: case 0x03AC: return 0x03B1;
    case 0x0388: case 0x03AD: return 0x03B5;
    case 0x0389: case 0x03AE: return 0x03B7;
    case 0x038A: case 0x03AF: case 0x0390: case 0x03AA: case 0x03CA: return 0x03B9;
    case 0x038C: case 0x03CC: return 0x03BF;
    case 0x038E: case 0x03CD: case 0x03B0: case 0x03AB: case 0x03CB: return 0x03C5;
    case 0x038F: case 0x03CE: return 0x03C9;
    case 0x03C2: return 0x03C3;
    case 0x037E: case 0x0387: return SEP;           /* Greek question mark, ano teleia */
    }
    if (c >= 0x0391 && c <= 0x03A9) return c + 0x20;
    /* Cyrillic: lower case; ё ѐ as е. */
    if (c >= 0x0400 && c <= 0x040F) c += 0x50;
    else if (c >= 0x0410 && c <= 0x042F) c += 0x20;
    if (c == 0x0451 || c == 0x0450) return 0x0435;
    /* Arabic script: no harakat or tatweel, one alef, one yeh, teh marbuta as heh; the Persian
     * and Urdu forms of yeh, kaf and heh as the Arabic ones. */
    if ((c >= 0x064B && c <= 0x065F) || c == 0x0670 || c == 0x0640) return DROP;
    if (c == 0x0622 || c == 0x0623 || c == 0x0625) return 0x0627;
    if (c == 0x0649 || c == 0x06CC) return 0x064A;
    if (c == 0x0629 || c == 0x06C1 || c == 0x06BE) return 0x0647;
    if (c == 0x06A9) return 0x0643;
    if (c == 0x060C || c == 0x061B || c == 0x061F || (c >= 0x066A && c <= 0x066D) || c == 0x06D4)
        return SEP;
    /* Devanagari: no nukta (फ़र्ज़ी = फर्जी); danda is punctuation. */
    if (c == 0x093C) return DROP;
    if (c >= 0x0958 && c <= 0x095F) {
        static const uint16_t base[] = { 0x0915, 0x0916, 0x0917, 0x091C, 0x0921, 0x0922, 0x092B, 0x092F };
        return base[c - 0x0958];
    }
    if (c == 0x0964 || c == 0x0965) return SEP;
    if ((c >= 0x2000 && c <= 0x206F) || c == 0x3000 || (c >= 0x3001 && c <= 0x3003)) return SEP;
    if (c == 0xFEFF || c == 0x200B) return DROP;
    return (long)c;
}

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length, 0 if it is invalid. */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *c)
{
    if (s[0] < 0x80) { *c = s[0]; return 1; }
    size_t len = s[0] >= 0xF0 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 ? 2 : 0;
    if (!len || len > n || s[0] > 0xF4) return 0;
    uint32_t v = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    *c = v;
    return len;
}

static size_t put_utf8(char *out, uint32_t c)
{
    if (c < 0x80) { out[0] = (char)c; return 1; }
    if (c < 0x800) { out[0] = (char)(0xC0 | c >> 6); out[1] = (char)(0x80 | (c & 0x3F)); return 2; }
    if (c < 0x10000) {
        out[0] = (char)(0xE0 | c >> 12); out[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        out[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | c >> 18); out[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3F)); out[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

size_t cd_vocab_fold(const char *s, size_t n, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0, i = 0;
    int sep = 0;
    if (!cap) return 0;
    while (i < n) {
        uint32_t c;
        size_t len = utf8_next(p + i, n - i, &c);
        if (!len) { i++; sep = 1; continue; }
        i += len;
        char tmp[8];
        size_t tn = 0;
        if (c >= 0xC0 && c <= 0xFF) {
            char b = latin_1[c - 0xC0];
            if (b == '.') { sep = 1; continue; }
            if (b == '1') { tmp[0] = 'a'; tmp[1] = 'e'; tn = 2; }
            else if (b == '2') { tmp[0] = 't'; tmp[1] = 'h'; tn = 2; }
            else if (b == '3') { tmp[0] = 's'; tmp[1] = 's'; tn = 2; }
            else { tmp[0] = b; tn = 1; }
            if (c == 0xFE) { tmp[0] = 't'; tmp[1] = 'h'; tn = 2; }
        } else if (c >= 0x0100 && c <= 0x017F) {
            tmp[0] = latin_ext_a[c - 0x0100];
            tn = 1;
        } else {
            long f = fold_cp(c);
            if (f == DROP) continue;
            if (f == SEP) { sep = 1; continue; }
            tn = put_utf8(tmp, (uint32_t)f);
        }
        if (sep && o) {
            if (o + 1 >= cap) break;
            out[o++] = ' ';
        }
        sep = 0;
        if (o + tn >= cap) break;
        memcpy(out + o, tmp, tn);
        o += tn;
    }
    out[o] = '\0';
    return o;
}

static int by_folded(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->folded, ((const entry *)b)->folded);
}

static const char *find(const entry *e, size_t n, const char *folded)
{
    entry key = { (char *)folded, NULL };
    const entry *hit = n ? bsearch(&key, e, n, sizeof *e, by_folded) : NULL;
    return hit ? hit->rating : NULL;
}

static entry *builtin;
static size_t builtin_n;
static pthread_once_t builtin_once = PTHREAD_ONCE_INIT;

/* Folds and sorts the built-in table once. A label listed twice keeps its first rating. */
static void builtin_init(void)
{
    builtin = calloc(cd_vocab_builtin_n ? cd_vocab_builtin_n : 1, sizeof *builtin);
    if (!builtin) return;
    for (size_t i = 0; i < cd_vocab_builtin_n; i++) {
        char f[LABEL_MAX];
        const char *l = cd_vocab_builtin[i].label, *r = cd_vocab_builtin[i].rating;
        cd_vocab_fold(l, strlen(l), f, sizeof f);
        const char *name = rating_name(r, strlen(r));
        if (!f[0] || !name) continue;
        builtin[builtin_n].folded = strdup(f);
        builtin[builtin_n].rating = name;
        if (builtin[builtin_n].folded) builtin_n++;
    }
    qsort(builtin, builtin_n, sizeof *builtin, by_folded);
}

static const char *lookup(const cd_vocab *extra, const char *folded)
{
    const char *r = extra ? find(extra->e, extra->n, folded) : NULL;
    if (!r) {
        pthread_once(&builtin_once, builtin_init);
        r = find(builtin, builtin_n, folded);
    }
    return r;
}

const char *cd_vocab_rating(const cd_vocab *extra, const char *label, size_t n)
{
    char f[LABEL_MAX];
    cd_vocab_fold(label, n, f, sizeof f);
    if (!f[0]) return NULL;
    const char *r = lookup(extra, f);
    if (r) return r;
    /* "Rating: False", "Verdict: Mostly false": the part after the last ':'. */
    const char *colon = memrchr(label, ':', n);
    if (colon) {
        size_t rest = n - (size_t)(colon + 1 - label);
        cd_vocab_fold(colon + 1, rest, f, sizeof f);
        if (f[0]) return lookup(extra, f);
    }
    return NULL;
}

const char *cd_vocab_rating_on_scale(double value, double best, double worst, double *score)
{
    if (!(best > worst) || !(value >= worst && value <= best) || !isfinite(best - worst)) return NULL;
    static const char *const by_score[] = { "false", "mostly-false", "mixed", "mostly-true", "true" };
    double s = 1 + 4 * (value - worst) / (best - worst);
    if (score) *score = s;
    return by_score[(int)(s + 0.5) - 1]; /* s >= 1: rounds half up, without libm */
}

void cd_vocab_free(cd_vocab *v)
{
    if (!v) return;
    for (size_t i = 0; i < v->n; i++) free(v->e[i].folded);
    free(v->e);
    free(v);
}

cd_vocab *cd_vocab_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    cd_vocab *v = calloc(1, sizeof *v);
    size_t cap = 0, lineno = 0;
    char *line = NULL;
    size_t linecap = 0;
    ssize_t len;
    if (!v) goto oom;
    while ((len = getline(&line, &linecap, f)) >= 0) {
        lineno++;
        while (len && (line[len - 1] == '\n' || line[len - 1] == '\r')) line[--len] = '\0';
        if (!len || line[0] == '#') continue;
        char *tab = strrchr(line, '\t');
        if (!tab) {
            snprintf(err, errlen, "%s: line %zu: expected \"label<TAB>rating\"", path, lineno);
            goto fail;
        }
        char *r = tab + 1;
        size_t rn = strlen(r);
        while (rn && (r[rn - 1] == ' ')) rn--;
        while (rn && *r == ' ') { r++; rn--; }
        const char *name = rating_name(r, rn);
        if (!name && rn == 7 && !memcmp(r, "unrated", 7)) name = CD_VOCAB_UNRATED;
        if (!name) {
            snprintf(err, errlen, "%s: line %zu: \"%.*s\" is not a rating (true, mostly-true, mixed, "
                     "mostly-false, false, misleading, unproven, in-review, or - for unrated)",
                     path, lineno, (int)(rn > 40 ? 40 : rn), r);
            goto fail;
        }
        char fl[LABEL_MAX];
        cd_vocab_fold(line, (size_t)(tab - line), fl, sizeof fl);
        if (!fl[0]) {
            snprintf(err, errlen, "%s: line %zu: empty label", path, lineno);
            goto fail;
        }
        if (v->n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            entry *ne = realloc(v->e, ncap * sizeof *ne);
            if (!ne) goto oom;
            v->e = ne;
            cap = ncap;
        }
        v->e[v->n].folded = strdup(fl);
        v->e[v->n].rating = name;
        if (!v->e[v->n].folded) goto oom;
        v->n++;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    /* A label given twice: the later line wins (stable: keep the last of equal labels). */
    for (size_t i = 0; i < v->n; i++)
        for (size_t j = i + 1; j < v->n; j++)
            if (v->e[i].rating && !strcmp(v->e[i].folded, v->e[j].folded)) v->e[i].rating = NULL;
    size_t k = 0;
    for (size_t i = 0; i < v->n; i++) {
        if (v->e[i].rating) v->e[k++] = v->e[i];
        else free(v->e[i].folded);
    }
    v->n = k;
    qsort(v->e, v->n, sizeof *v->e, by_folded);
    free(line);
    fclose(f);
    return v;
oom:
    snprintf(err, errlen, "%s: out of memory", path);
fail:
    free(line);
    fclose(f);
    cd_vocab_free(v);
    return NULL;
}
