/* text_fold: UTF-8 validation and the folding pipeline behind lookup keys, dedup keys and terms.
 * The steps and their order are documented in text.h. */
#include "text.h"
#include "text_internal.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

int cd_text_valid_utf8(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;

    if (!s) return n == 0;
    while (i < n) {
        unsigned c = p[i];
        size_t len;
        uint32_t cp, min;

        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return 0; /* continuation byte, C0/C1 overlong lead, or F5+ */
        if (n - i < len) return 0;
        for (size_t k = 1; k < len; k++) {
            unsigned cc = p[i + k];
            if ((cc & 0xC0) != 0x80) return 0;
            cp = (cp << 6) | (cc & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
        i += len;
    }
    return 1;
}

/* Applied to each input code point before utf8proc's case folding and decomposition. */
static utf8proc_int32_t map_before_fold(utf8proc_int32_t c, void *data)
{
    unsigned flags = *(const unsigned *)data;

    switch (c) {
    case 0x0130: return 'i'; /* İ: Unicode's full fold "i" + U+0307 would leave a dot to strip */
    case 'I': return (flags & CD_FOLD_TURKIC_I) ? 0x0131 : 'I';
    case 0x2018: case 0x2019: case 0x201B: case 0x02BB: case 0x02BC:
    case 0x0060: case 0x00B4: case 0x2032:
        return '\'';
    default: return c;
    }
}

/* Nonspacing/enclosing marks that are accents on Latin, Greek, Cyrillic, Hebrew or Arabic letters.
 * Indic and other abugida marks are vowel signs and stay. */
static int is_diacritic(utf8proc_int32_t c, utf8proc_category_t cat)
{
    if (cat != UTF8PROC_CATEGORY_MN && cat != UTF8PROC_CATEGORY_ME) return 0;
    return (c >= 0x0300 && c <= 0x036F) || (c >= 0x0483 && c <= 0x0489) ||
           (c >= 0x0591 && c <= 0x05C7) || (c >= 0x0610 && c <= 0x061A) ||
           (c >= 0x064B && c <= 0x065F) || c == 0x0670 || (c >= 0x06D6 && c <= 0x06ED) ||
           (c >= 0x1AB0 && c <= 0x1AFF) || (c >= 0x1DC0 && c <= 0x1DFF) ||
           (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xFE20 && c <= 0xFE2F);
}

/* Letters with no Unicode decomposition that people nonetheless type without the stroke. Writes
 * one or two code points to dst and returns how many. */
static size_t base_letter(utf8proc_int32_t c, utf8proc_int32_t *dst)
{
    switch (c) {
    case 0x0131: dst[0] = 'i'; return 1; /* ı */
    case 0x00F8: dst[0] = 'o'; return 1; /* ø */
    case 0x0111: dst[0] = 'd'; return 1; /* đ */
    case 0x0142: dst[0] = 'l'; return 1; /* ł */
    case 0x0127: dst[0] = 'h'; return 1; /* ħ */
    case 0x0167: dst[0] = 't'; return 1; /* ŧ */
    case 0x00E6: dst[0] = 'a'; dst[1] = 'e'; return 2; /* æ */
    case 0x0153: dst[0] = 'o'; dst[1] = 'e'; return 2; /* œ */
    default: dst[0] = c; return 1;
    }
}

static int is_space(utf8proc_category_t cat)
{
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
           cat == UTF8PROC_CATEGORY_ZP || cat == UTF8PROC_CATEGORY_CC;
}

static int is_punct(utf8proc_category_t cat)
{
    return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

static int grow(int32_t **arr, size_t *cap, size_t need)
{
    if (need <= *cap) return 0;
    if (need > SIZE_MAX / sizeof(int32_t) / 2) return -1;
    size_t ncap = *cap ? *cap : 64;
    while (ncap < need) ncap *= 2;
    int32_t *p = realloc(*arr, ncap * sizeof(int32_t));
    if (!p) return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

void cd_text_buf_free(cd_text_buf *buf)
{
    free(buf->dec);
    free(buf->out);
    memset(buf, 0, sizeof *buf);
}

/* NFKD + case fold + ignorables removed, into buf->dec. Returns the code point count or -1. */
static ssize_t decompose(cd_text_buf *buf, const char *s, size_t n, unsigned flags)
{
    const utf8proc_option_t opts = UTF8PROC_COMPAT | UTF8PROC_DECOMPOSE | UTF8PROC_CASEFOLD |
                                   UTF8PROC_IGNORE | UTF8PROC_STABLE;

    if (n > (size_t)(SSIZE_MAX / 8)) return -1;
    if (grow(&buf->dec, &buf->dec_cap, n + 16) < 0) return -1;
    for (;;) {
        utf8proc_ssize_t r = utf8proc_decompose_custom(
            (const utf8proc_uint8_t *)(s ? s : ""), (utf8proc_ssize_t)n, buf->dec,
            (utf8proc_ssize_t)buf->dec_cap, opts, map_before_fold, &flags);
        if (r < 0) return -1;
        if ((size_t)r <= buf->dec_cap) return r;
        if (grow(&buf->dec, &buf->dec_cap, (size_t)r) < 0) return -1;
    }
}

/* The fold of pure ASCII input, without utf8proc: byte for byte the same result as the general
 * path (no ASCII character decomposes, composes or is ignorable), several times faster, and
 * most names and much text are ASCII. Writes bytes into buf->out. */
static ssize_t fold_ascii(cd_text_buf *buf, const char *s, size_t n, unsigned flags)
{
    if (grow(&buf->out, &buf->out_cap, n / sizeof(int32_t) + 2) < 0) return -1;
    char *o = (char *)buf->out;
    size_t k = 0;
    int pending_space = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i] == '`' ? '\'' : s[i];
        utf8proc_category_t cat = utf8proc_category((unsigned char)ch);
        if ((flags & CD_FOLD_NAME) && ch == '\'') continue;
        if (is_space(cat) || ((flags & (CD_FOLD_DROP_PUNCT | CD_FOLD_NAME)) && is_punct(cat))) {
            pending_space = k > 0;
            continue;
        }
        if (pending_space) {
            o[k++] = ' ';
            pending_space = 0;
        }
        o[k++] = ch >= 'A' && ch <= 'Z' ? (char)(ch + 32) : ch;
    }
    o[k] = 0;
    return (ssize_t)k;
}

static int all_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80) return 0;
    return 1;
}

ssize_t cd_text_fold_into(cd_text_buf *buf, const char *s, size_t n, unsigned flags)
{
    if (!(flags & (CD_FOLD_TURKIC_I | CD_FOLD_NO_ASCII_PATH)) && all_ascii(s ? s : "", s ? n : 0)) return fold_ascii(buf, s, s ? n : 0, flags);
    ssize_t len = decompose(buf, s, n, flags);
    if (len < 0) return -1;
    /* Base-letter folding at most doubles the count; +1 because reencode writes a NUL. */
    if (grow(&buf->out, &buf->out_cap, 2 * (size_t)len + 1) < 0) return -1;

    size_t o = 0;
    int pending_space = 0;
    for (ssize_t i = 0; i < len; i++) {
        utf8proc_int32_t c = buf->dec[i];
        utf8proc_category_t cat = utf8proc_category(c);
        utf8proc_int32_t rep[2];
        size_t nrep;

        if ((flags & CD_FOLD_NAME) && c == '\'') continue; /* O'Brien = OBrien = O’Brien */
        if (is_space(cat) || ((flags & (CD_FOLD_DROP_PUNCT | CD_FOLD_NAME)) && is_punct(cat))) {
            pending_space = o > 0;
            continue;
        }
        if (c == 0x0640) continue; /* Arabic tatweel only stretches a word on the page */
        /* й, ё, ї, ў are letters of their own to the Cyrillic stemmers, not accented и/е/і/у. */
        if ((flags & CD_FOLD_KEEP_CYRILLIC) && is_diacritic(c, cat) && o > 0 &&
            buf->out[o - 1] >= 0x0400 && buf->out[o - 1] <= 0x04FF) {
            buf->out[o++] = c;
            continue;
        }
        if (flags & CD_FOLD_KEEP_ACCENTS) {
            rep[0] = c;
            nrep = 1;
        } else {
            if (is_diacritic(c, cat)) continue;
            nrep = base_letter(c, rep);
        }
        if (pending_space) {
            buf->out[o++] = ' ';
            pending_space = 0;
        }
        for (size_t k = 0; k < nrep; k++) buf->out[o++] = rep[k];
    }
    utf8proc_ssize_t bytes = utf8proc_reencode(buf->out, (utf8proc_ssize_t)o,
                                               UTF8PROC_COMPOSE | UTF8PROC_STABLE);
    return bytes < 0 ? -1 : (ssize_t)bytes;
}

/* Validates, folds with flags, and hands the result over as one right-sized allocation. */
static char *fold_alloc(const char *s, size_t n, size_t *out_len, unsigned flags)
{
    cd_text_buf buf = {0};
    char *res = NULL;

    if (!cd_text_valid_utf8(s, n)) return NULL;
    ssize_t len = cd_text_fold_into(&buf, s, n, flags);
    if (len >= 0) {
        res = (char *)buf.out;
        buf.out = NULL;
        char *shrunk = realloc(res, (size_t)len + 1);
        if (shrunk) res = shrunk;
        if (out_len) *out_len = (size_t)len;
    }
    cd_text_buf_free(&buf);
    return res;
}

char *cd_text_fold(const char *s, size_t n, size_t *out_len)
{
    return fold_alloc(s, n, out_len, 0);
}

char *cd_text_name_key(const char *s, size_t n, size_t *out_len)
{
    return fold_alloc(s, n, out_len, CD_FOLD_NAME);
}

char *cd_text_dedup_key(const char *s, size_t n, size_t *out_len)
{
    /* The contract's normalised text: case-folded, punctuation and extra white space removed.
     * Accents, symbols and digits stay: "año"/"ano" or "5%"/"5$" are different claims. */
    return fold_alloc(s, n, out_len, CD_FOLD_DROP_PUNCT | CD_FOLD_KEEP_ACCENTS);
}
