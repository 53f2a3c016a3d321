/* text_hunspell: dictionary stems (libhunspell) for languages Snowball has no algorithm for, and
 * the suffix stripping that follows them (and stands in for them without a dictionary). */
#include "text.h"
#include "text_internal.h"
#include "log.h"

#include <errno.h>
#include <hunspell/hunspell.h>
#include <iconv.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* One language's dictionary. A Hunhandle keeps per-call state, so one thread at a time uses it
 * (lock); loading one costs 50-500 ms and 10-100 MB, so there is one per process, loaded on first
 * use, never per thread. The tokenizer's per-thread memo means most words never get here. */
struct cd_hun_lang {
    const char *tag, *dict;     /* ISO 639-1 tag, Debian's dictionary file name */
    pthread_mutex_t lock;
    int tried;                  /* loading was attempted (under lock) */
    Hunhandle *h;               /* NULL: no dictionary installed (suffix stripping only) */
    iconv_t to_dic, from_dic;   /* UTF-8 <-> the dictionary's SET encoding, when not UTF-8 */
};

#define HUN(tag, dict) { tag, dict, PTHREAD_MUTEX_INITIALIZER, 0, NULL, (iconv_t)-1, (iconv_t)-1 }
static struct cd_hun_lang HUN_LANGS[] = {
    HUN("uk", "uk_UA"), HUN("pl", "pl_PL"), HUN("be", "be_BY"), HUN("cs", "cs_CZ"),
    HUN("bg", "bg_BG"), HUN("kk", "kk_KZ"), HUN("sk", "sk_SK"),
};

const struct cd_hun_lang *cd_text_hunspell_lang(const char *tag)
{
    for (size_t i = 0; i < sizeof HUN_LANGS / sizeof HUN_LANGS[0]; i++)
        if (strcmp(HUN_LANGS[i].tag, tag) == 0) return &HUN_LANGS[i];
    return NULL;
}

/* Loads l's dictionary from $CLAIMD_HUNSPELL_DIR or /usr/share/hunspell; l->lock is held. */
static void load(struct cd_hun_lang *l)
{
    l->tried = 1;
    const char *dir = getenv("CLAIMD_HUNSPELL_DIR");
    if (!dir || !*dir) dir = "/usr/share/hunspell";
    char aff[4096], dic[4096];
    snprintf(aff, sizeof aff, "%s/%s.aff", dir, l->dict);
    snprintf(dic, sizeof dic, "%s/%s.dic", dir, l->dict);
    FILE *f = fopen(dic, "r");
    if (!f) {
        cd_info("no hunspell dictionary %s (%s): %s text is stemmed by suffix stripping only", dic,
                strerror(errno), l->tag);
        return;
    }
    fclose(f);
    l->h = Hunspell_create(aff, dic);
    if (!l->h) { cd_warn("hunspell cannot load %s", dic); return; }
    const char *enc = Hunspell_get_dic_encoding(l->h);
    if (enc && strcasecmp(enc, "UTF-8") != 0) {
        l->to_dic = iconv_open(enc, "UTF-8");
        l->from_dic = iconv_open("UTF-8", enc);
        if (l->to_dic == (iconv_t)-1 || l->from_dic == (iconv_t)-1) {
            cd_warn("no conversion between UTF-8 and %s (%s): %s text is stemmed by suffix stripping only",
                    enc, dic, l->tag);
            Hunspell_destroy(l->h);
            l->h = NULL;
        }
    }
    if (l->h) cd_info("hunspell dictionary %s loaded for %s", dic, l->tag);
}

/* Converts s[0..n) with cd into out (cap bytes, NUL-terminated). 0, or -1 when it does not fit
 * or a character has no equivalent (the word is then not in that dictionary anyway). */
static int convert(iconv_t cd, const char *s, size_t n, char *out, size_t cap)
{
    char *in = (char *)s, *o = out;
    size_t inl = n, outl = cap - 1;
    iconv(cd, NULL, NULL, NULL, NULL);
    if (iconv(cd, &in, &inl, &o, &outl) == (size_t)-1) return -1;
    *o = 0;
    return 0;
}

/* Bytes w and s share at their start, ignoring the case of s's first letter (stems of proper
 * nouns come capitalised). */
static size_t common_prefix(const char *w, size_t n, const char *s)
{
    utf8proc_int32_t a, b;
    utf8proc_ssize_t la = utf8proc_iterate((const utf8proc_uint8_t *)w, (utf8proc_ssize_t)n, &a);
    utf8proc_ssize_t lb = utf8proc_iterate((const utf8proc_uint8_t *)s, -1, &b);
    if (la <= 0 || lb <= 0 || utf8proc_tolower(a) != utf8proc_tolower(b)) return 0;
    size_t k = (size_t)la, j = (size_t)lb;
    while (k < n && s[j] && w[k] == s[j]) k++, j++;
    return k;
}

/* Keeps in best (cap bytes, UTF-8) whichever of best and the stems of NUL-terminated word
 * (dictionary encoding) is the better lemma of w[0..n): the longest shared start with the word
 * ("київ": "Київ" over the name "Кий"; "війни": "війна" over the verb "війнути"), then the
 * shorter, then the smaller bytes, so the choice never depends on the dictionary's order.
 * l->lock is held. */
static void best_stem(struct cd_hun_lang *l, const char *word, const char *w, size_t n, char *best, size_t cap)
{
    char **list = NULL, conv[256];
    int k = Hunspell_stem(l->h, &list, word);
    for (int i = 0; i < k; i++) {
        const char *s = list[i];
        if (l->from_dic != (iconv_t)-1) {
            if (convert(l->from_dic, s, strlen(s), conv, sizeof conv) < 0) continue;
            s = conv;
        }
        size_t sl = strlen(s);
        if (sl == 0 || sl >= cap) continue;
        if (best[0]) {
            size_t pb = common_prefix(w, n, best), ps = common_prefix(w, n, s), bl = strlen(best);
            if (ps < pb || (ps == pb && (sl > bl || (sl == bl && strcmp(s, best) >= 0)))) continue;
        }
        memcpy(best, s, sl + 1);
    }
    if (list) Hunspell_free_list(l->h, &list, k);
}

size_t cd_text_hunspell_stem(const struct cd_hun_lang *cl, const char *w, size_t n, char *out, size_t cap)
{
    struct cd_hun_lang *l = (struct cd_hun_lang *)cl;
    char word[256], capital[256];
    if (n == 0 || n >= sizeof word || cap < 2) return 0;
    out[0] = 0;
    pthread_mutex_lock(&l->lock);
    if (!l->tried) load(l);
    if (!l->h) goto out;
    if (l->to_dic != (iconv_t)-1) {
        if (convert(l->to_dic, w, n, word, sizeof word) == 0) best_stem(l, word, w, n, out, cap);
    } else {
        memcpy(word, w, n);
        word[n] = 0;
        best_stem(l, word, w, n, out, cap);
    }
    /* Proper nouns are in the dictionaries capitalised ("Київ") and the word arrives lower-cased:
     * the capitalised spelling's stems compete too. */
    utf8proc_int32_t c;
    utf8proc_ssize_t cl1 = utf8proc_iterate((const utf8proc_uint8_t *)w, (utf8proc_ssize_t)n, &c);
    utf8proc_uint8_t up[8];
    utf8proc_ssize_t ul = cl1 > 0 ? utf8proc_encode_char(utf8proc_toupper(c), up) : 0;
    if (ul > 0 && (size_t)ul + n - (size_t)cl1 < sizeof capital) {
        memcpy(capital, up, (size_t)ul);
        memcpy(capital + ul, w + cl1, n - (size_t)cl1);
        size_t cn = (size_t)ul + n - (size_t)cl1;
        capital[cn] = 0;
        if (l->to_dic == (iconv_t)-1) best_stem(l, capital, w, n, out, cap);
        else if (convert(l->to_dic, capital, cn, word, sizeof word) == 0) best_stem(l, word, w, n, out, cap);
    }
out:
    pthread_mutex_unlock(&l->lock);
    return strlen(out);
}

/* Endings stripped after the dictionary stem (or from the word itself when the dictionary does
 * not know it, as with most surnames): noun, adjective and surname case endings, per language. The stem that remains keeps at least STRIP_MIN_STEM letters. Russian comes from
 * Snowball and only loses a surname suffix -ов/-ев left by it ("пескова" -> "песков"). */
#define STRIP_MIN_STEM 3
static const struct {
    const char *tag;
    const char *const *endings;
} STRIP[] = {
    { "uk", (const char *const[]){ "ського", "ському", "ськими", "ськім", "ська", "ську", "ської", "ською",
                                   "ими", "ами", "ями", "ого", "ому", "ові", "еві", "ий", "ій", "ої", "ою", "ею",
                                   "ів", "ам", "ям", "ах", "ях", "им", "ім", "ом", "ем", "а", "я", "у", "ю", "і",
                                   "и", "е", "о", "ь", "ї", NULL } },
    { "be", (const char *const[]){ "ага", "аму", "ымі", "амі", "ямі", "ай", "ой", "ый", "ій", "аў", "яў", "ам",
                                   "ах", "ях", "ым", "ім", "ом", "ем", "а", "я", "у", "ю", "і", "ы", "е", "о",
                                   "ь", NULL } },
    { "bg", (const char *const[]){ "ите", "ият", "ата", "ото", "ете", "ът", "ят", "та", "то", "те", "ия", "ов",
                                   "ев", "а", "я", "и", "о", "е", NULL } },
    { "pl", (const char *const[]){ "skiego", "skiemu", "skimi", "iego", "iemu", "ego", "emu", "ymi", "imi",
                                   "ami", "ach", "ych", "ich", "owi", "ów", "om", "em", "ym", "im", "ej",
                                   "ą", "ę", "a", "y", "i", "u", "o", "e", NULL } },
    { "cs", (const char *const[]){ "ého", "ému", "ými", "ých", "ami", "ách", "ům", "ou", "em", "ím", "ám",
                                   "ů", "a", "u", "y", "e", "é", "i", "í", "o", "ý", NULL } },
    { "sk", (const char *const[]){ "ého", "ému", "ými", "ých", "ami", "ách", "om", "ou", "em", "ím", "ám",
                                   "a", "u", "y", "e", "é", "i", "í", "o", "ý", NULL } },
    { "ru", (const char *const[]){ "ов", "ев", "ёв", NULL } },
};

const void *cd_text_strip_rules(const char *tag)
{
    for (size_t i = 0; i < sizeof STRIP / sizeof STRIP[0]; i++)
        if (strcmp(STRIP[i].tag, tag) == 0) return STRIP[i].endings;
    return NULL;
}

static size_t letters(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

size_t cd_text_strip_suffix(const void *rules, const char *w, size_t n)
{
    const char *const *e = rules;
    size_t best = 0;
    if (!e) return n;
    for (; *e; e++) {   /* the longest ending that leaves a long enough stem */
        size_t el = strlen(*e);
        if (el > best && el < n && memcmp(w + n - el, *e, el) == 0 && letters(w, n - el) >= STRIP_MIN_STEM)
            best = el;
    }
    return n - best;
}
