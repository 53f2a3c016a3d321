/* text_translit: Latin and sound keys of names, for finding a name across scripts (ICU). */
#include "text.h"
#include "text_internal.h"
#include "log.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/ustring.h>
#include <unicode/utrans.h>

/* A UTransliterator may not be used by two threads at once, and opening "Any-Latin" costs
 * milliseconds (it builds every script's rules): each thread keeps its own, freed with the
 * stemmers (cd_text_thread_cleanup -> cd_text_translit_free). */
static _Thread_local UTransliterator *tl_trans;
static _Thread_local int tl_failed;

static UTransliterator *thread_trans(void)
{
    if (tl_trans || tl_failed) return tl_trans;
    if (cd_text_thread_register() < 0) return NULL;  /* so thread exit frees it */
    static const UChar id[] = u"Any-Latin; Latin-ASCII";
    UErrorCode st = U_ZERO_ERROR;
    tl_trans = utrans_openU(id, -1, UTRANS_FORWARD, NULL, 0, NULL, &st);
    if (U_FAILURE(st)) {
        static int logged;
        if (!__atomic_exchange_n(&logged, 1, __ATOMIC_RELAXED))
            cd_warn("ICU cannot open the Any-Latin transliterator (%s): names are found in their own script only",
                    u_errorName(st));
        tl_trans = NULL;
        tl_failed = 1;
    }
    return tl_trans;
}

void cd_text_translit_free(void)
{
    if (tl_trans) utrans_close(tl_trans);
    tl_trans = NULL;
    tl_failed = 0;
}

char *cd_text_latin_key(const char *key, size_t n, size_t *out_len)
{
    if (!cd_text_valid_utf8(key, n) || n > (1u << 20)) return NULL;
    int ascii = 1;
    for (size_t i = 0; i < n && ascii; i++) ascii = (unsigned char)key[i] < 0x80;
    if (ascii) return cd_text_name_key(key, n, out_len);
    UTransliterator *tr = thread_trans();
    if (!tr) return NULL;
    /* Transliteration may lengthen text (Ш -> Sh, 中 -> zhōng): room for 4x, then retry bigger. */
    int32_t cap = (int32_t)n * 4 + 16, len = 0;
    UChar *u = NULL;
    char *res = NULL;
    for (int attempt = 0; attempt < 3; attempt++, cap *= 4) {
        UErrorCode st = U_ZERO_ERROR;
        free(u);
        if (!(u = malloc((size_t)cap * sizeof *u))) return NULL;
        u_strFromUTF8(u, cap, &len, key, (int32_t)n, &st);
        if (U_FAILURE(st)) { free(u); return NULL; }
        int32_t limit = len;
        utrans_transUChars(tr, u, &len, cap, 0, &limit, &st);
        if (st == U_BUFFER_OVERFLOW_ERROR) continue;
        if (U_FAILURE(st)) break;
        int32_t blen = 0;
        st = U_ZERO_ERROR;
        u_strToUTF8(NULL, 0, &blen, u, len, &st);
        char *b = malloc((size_t)blen + 1);
        st = U_ZERO_ERROR;
        if (b) u_strToUTF8(b, blen + 1, &blen, u, len, &st);
        if (b && U_SUCCESS(st)) res = cd_text_name_key(b, (size_t)blen, out_len);
        free(b);
        break;
    }
    free(u);
    return res;
}

char *cd_text_sound_key(const char *latin, size_t n, size_t *out_len)
{
    char *o = malloc(n + 1);
    if (!o) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = latin[i], next = i + 1 < n ? latin[i + 1] : 0;
        if (c == 'p' && next == 'h') { c = 'f'; i++; }
        else if (c == 'k' && next == 'h') { c = 'h'; i++; }
        else if (c == 'c' && next == 'k') { c = 'k'; i++; if (i + 1 < n && latin[i + 1] == 's') { c = 'x'; i++; } }
        else if (c == 'k' && next == 's') { c = 'x'; i++; }
        else if (c == 'c' && (next == 'a' || next == 'o' || next == 'u')) c = 'k';
        else if (c == 'q') c = 'k';
        else if (c == 'v' || c == 'w') c = 'f';
        else if (c == 'y' || c == 'j') c = 'i';
        /* A vowel doubled by a transliteration (Zelenskyy, -ij) or a doubled consonant, once. */
        if (k > 0 && o[k - 1] == c && c != ' ') continue;
        o[k++] = c;
    }
    o[k] = 0;
    if (out_len) *out_len = k;
    return o;
}

unsigned cd_text_edit_distance(const char *a, size_t an, const char *b, size_t bn, unsigned max)
{
    if (an > bn + max || bn > an + max) return max + 1;
    if (bn > 255) return max + 1;
    unsigned row[256];
    for (size_t j = 0; j <= bn; j++) row[j] = (unsigned)j;
    for (size_t i = 1; i <= an; i++) {
        unsigned diag = row[0], best;
        row[0] = (unsigned)i;
        best = row[0];
        for (size_t j = 1; j <= bn; j++) {
            unsigned up = row[j];
            unsigned v = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < v) v = up + 1;
            if (row[j - 1] + 1 < v) v = row[j - 1] + 1;
            row[j] = v;
            diag = up;
            if (v < best) best = v;
        }
        if (best > max) return max + 1;
    }
    return row[bn] > max ? max + 1 : row[bn];
}
