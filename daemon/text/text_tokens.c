/* text_tokens: splitting text into words and turning each word into a search term
 * (fold with accents -> Snowball stem -> strip accents; order and rules in text.h). */
#include "text.h"
#include "text_internal.h"
#include "record.h"

#include <libstemmer.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Words longer than this (in bytes of original text) are folded but not stemmed: a stemmer
 * takes an int length and nothing useful is gained stemming a kilobyte-long "word". */
#define STEM_WORD_MAX 1024

/* How one language's text is cut and stemmed; fixed for one tokenize call. */
typedef struct {
    const char *algo;      /* Snowball algorithm, NULL: none */
    const struct cd_hun_lang *hun; /* hunspell dictionary (where Snowball has no algorithm) */
    const void *strip;     /* endings cut after stemming (Slavic cases, surnames), NULL: none */
    const char *const (*respell)[2]; /* endings given back their accent before Snowball, or NULL */
    const void *id;        /* what the memo tells rules apart by: algo, hun or NULL */
    unsigned pre_flags;    /* extra fold flags before stemming (Turkish I) */
    int apostrophe_splits; /* elision languages and Turkish suffixes: ' separates words */
} lang_rules;

/* Scratch buffers for making terms, reused across the words of one call. */
typedef struct {
    cd_text_buf pre;  /* lower-cased word with accents, stemmer input */
    cd_text_buf post; /* finished term */
} term_scratch;

/* Terms made lately, per thread. Word frequencies are Zipfian, so most words of a text were
 * seen a moment ago; folding (utf8proc) and stemming them again was a quarter of indexing. A
 * direct-mapped table: a collision just replaces the older word. */
#define MEMO_SLOTS 16384
#define MEMO_WORD 32
typedef struct {
    const void *algo;      /* the rules the term was made with: lang_rules id and pre_flags */
    unsigned pre_flags;
    uint8_t wlen, tlen;    /* wlen 0: empty slot */
    char word[MEMO_WORD];
    char term[MEMO_WORD * 2];
} memo_slot;
static memo_slot *memo_find(const lang_rules *lr, const char *w, size_t n, int *hit)
{
    *hit = 0;
    if (n == 0 || n > MEMO_WORD) return NULL;
    memo_slot *memo = cd_text_thread_memo(MEMO_SLOTS * sizeof *memo);
    if (!memo) return NULL;
    uint64_t h = cd_hash64(w, n) ^ ((uintptr_t)lr->id * 31 + lr->pre_flags);
    memo_slot *s = &memo[(h ^ (h >> 29)) & (MEMO_SLOTS - 1)];
    *hit = s->wlen == n && s->algo == lr->id && s->pre_flags == lr->pre_flags && memcmp(s->word, w, n) == 0;
    return s;
}

/* make_term through the memo. */
static const char *memo_term(term_scratch *ts, const lang_rules *lr, const char *w, size_t n, size_t *len);

/* Folding accents before Snowball hides a suffix the stemmer knows only with its accent:
 * Spanish "declaracion" keeps its "-cion" where "declaración" loses "-ción"; Portuguese singular
 * "-ção" and plural "-ções" fold to different stems. These endings are given their accent (or
 * their singular) back before stemming, so all spellings meet. {folded ending, respelling}. */
static const char *const RESPELL_ES[][2] = { { "cion", "ción" }, { "sion", "sión" }, { NULL, NULL } };
static const char *const RESPELL_PT[][2] = { { "coes", "cao" }, { "soes", "sao" }, { "oes", "ao" }, { NULL, NULL } };

/* Rewrites the ending of buf->out (len bytes) per table; returns the new length, or -1 when out
 * of memory. */
static ssize_t respell(cd_text_buf *buf, ssize_t len, const char *const (*table)[2])
{
    char *w = (char *)buf->out;
    for (size_t i = 0; table[i][0]; i++) {
        size_t el = strlen(table[i][0]), rl = strlen(table[i][1]);
        if ((size_t)len <= el + 2 || memcmp(w + len - el, table[i][0], el) != 0) continue;
        size_t need = (size_t)len - el + rl + 1;
        if (need > buf->out_cap * sizeof(int32_t)) return len;   /* never: the folded word was longer */
        memcpy(w + len - el, table[i][1], rl + 1);
        return (ssize_t)(len - (ssize_t)el + (ssize_t)rl);
    }
    return len;
}

static lang_rules rules_for(const char *lang)
{
    lang_rules r = {cd_text_stemmer_name(lang), NULL, NULL, NULL, NULL, 0, 0};
    char tag[4];

    cd_text_lang_primary(lang, tag);
    if (!r.algo && tag[0]) r.hun = cd_text_hunspell_lang(tag);
    if (tag[0]) r.strip = cd_text_strip_rules(tag);
    r.id = r.algo ? (const void *)r.algo : (const void *)r.hun;
    if (!strcmp(tag, "es")) r.respell = RESPELL_ES;
    if (!strcmp(tag, "pt")) r.respell = RESPELL_PT;
    if (!strcmp(tag, "tr") || !strcmp(tag, "az")) {
        r.pre_flags = CD_FOLD_TURKIC_I;
        r.apostrophe_splits = 1;
    }
    if (!strcmp(tag, "fr") || !strcmp(tag, "it") || !strcmp(tag, "ca")) r.apostrophe_splits = 1;
    return r;
}

/* Makes the term for valid UTF-8 word w[0..n); returns it (valid until the next call with ts) and
 * its length in *len, or NULL when out of memory. */
static const char *make_term(term_scratch *ts, const lang_rules *lr, const char *w, size_t n,
                             size_t *len)
{
    ssize_t r;

    if ((!lr->algo && !lr->hun) || n > STEM_WORD_MAX) {
        r = cd_text_fold_into(&ts->post, w, n, 0);
    } else if (lr->algo) {
        /* Accents go before stemming, so an unaccented query stems like the accented text even
         * where the accent sits in the suffix the stemmer cuts ("sécurité"/"securite" ->
         * "securit"); Cyrillic й ё ї ў stay, the Cyrillic stemmers read them as letters. */
        r = cd_text_fold_into(&ts->pre, w, n, CD_FOLD_KEEP_CYRILLIC | lr->pre_flags);
        if (r < 0) return NULL;
        if (lr->respell) r = respell(&ts->pre, r, lr->respell);
        struct sb_stemmer *st = cd_text_stemmer_get(lr->algo);
        if (!st) return NULL;
        const sb_symbol *stem = sb_stemmer_stem(st, (const sb_symbol *)ts->pre.out, (int)r);
        if (!stem) return NULL;
        size_t sl = cd_text_strip_suffix(lr->strip, (const char *)stem, (size_t)sb_stemmer_length(st));
        r = cd_text_fold_into(&ts->post, (const char *)stem, sl, 0);
    } else {
        /* Dictionaries spell with accents ("nowotwór"); the term loses them afterwards, so an
         * unaccented word the dictionary does not know still ends on the same term. */
        r = cd_text_fold_into(&ts->pre, w, n, CD_FOLD_KEEP_ACCENTS | lr->pre_flags);
        if (r < 0) return NULL;
        char lemma[256];
        const char *src = (const char *)ts->pre.out;
        size_t sl = cd_text_hunspell_stem(lr->hun, src, (size_t)r, lemma, sizeof lemma);
        if (sl > 0) {
            /* The lemma's case (Київ) and accents are folded like the word's. */
            ssize_t lr2 = cd_text_fold_into(&ts->post, lemma, sl, CD_FOLD_KEEP_ACCENTS);
            if (lr2 < 0) return NULL;
            if ((size_t)lr2 < sizeof lemma) {
                memcpy(lemma, ts->post.out, (size_t)lr2);
                src = lemma;
                r = lr2;
            }
        }
        sl = cd_text_strip_suffix(lr->strip, src, (size_t)r);
        r = cd_text_fold_into(&ts->post, src, sl, 0);
    }
    if (r < 0) return NULL;

    const char *term = (const char *)ts->post.out;
    size_t l = (size_t)r;
    if (l > CD_TEXT_TERM_MAX) {
        l = CD_TEXT_TERM_MAX;
        while (l > 0 && ((unsigned char)term[l] & 0xC0) == 0x80) l--; /* whole characters only */
    }
    *len = l;
    return term;
}

/* utf8proc_category with the ASCII range answered inline: word boundaries look at every
 * character of every text indexed or shown as a snippet, and most are ASCII. */
/* Categories of U+0000..U+07FF (Latin, Greek, Cyrillic, Armenian, Hebrew, Arabic: most text
 * we see), read once from utf8proc: its lookup was a quarter of making a snippet. */
#define SMALL_CATS 0x800
static uint8_t small_cats[SMALL_CATS];
static uint8_t small_kind[SMALL_CATS];     /* KIND_* bits of the same characters */
static pthread_once_t small_cats_once = PTHREAD_ONCE_INIT;
enum { KIND_WORD = 1, KIND_START = 2 };

static int is_word_start(utf8proc_category_t c);
static int is_word_char(utf8proc_category_t c);

static void fill_small_cats(void)
{
    for (utf8proc_int32_t c = 0; c < SMALL_CATS; c++) {
        utf8proc_category_t cat = utf8proc_category(c);
        small_cats[c] = (uint8_t)cat;
        small_kind[c] = (uint8_t)((is_word_char(cat) ? KIND_WORD : 0) | (is_word_start(cat) ? KIND_START : 0));
    }
}

/* The category of c; tokenize has filled small_cats before any call. */
static inline utf8proc_category_t category(utf8proc_int32_t c)
{
    if (c >= 0 && c < SMALL_CATS) return (utf8proc_category_t)small_cats[c];
    return utf8proc_category(c);
}

static int is_letter(utf8proc_category_t c)
{
    return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO;
}

static int is_word_start(utf8proc_category_t c)
{
    return is_letter(c) || (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
}

static int is_word_char(utf8proc_category_t c)
{
    return c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_NO; /* L*, M*, N* */
}

/* Han ideographs and kana: written without spaces, so each is a token by itself. */
static int is_cjk_single(utf8proc_int32_t c)
{
    return (c >= 0x3040 && c <= 0x30FF) || (c >= 0x31F0 && c <= 0x31FF) ||
           (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFF66 && c <= 0xFF9F) ||
           (c >= 0x20000 && c <= 0x3FFFF);
}

static utf8proc_int32_t peek(const unsigned char *p, size_t n, size_t i, size_t *len)
{
    if (p[i] < 0x80) { *len = 1; return p[i]; }
    if ((p[i] & 0xE0) == 0xC0 && i + 1 < n) {     /* two bytes; the text was validated */
        *len = 2;
        return (utf8proc_int32_t)(p[i] & 0x1F) << 6 | (p[i + 1] & 0x3F);
    }
    utf8proc_int32_t c = 0;
    utf8proc_ssize_t l = utf8proc_iterate(p + i, (utf8proc_ssize_t)(n - i), &c);
    *len = l > 0 ? (size_t)l : 1; /* input is validated; the fallback only guards progress */
    return c;
}

/* Whether c (not itself a word character) continues the word when followed by next. */
static int joins(utf8proc_int32_t c, utf8proc_int32_t next, const lang_rules *lr)
{
    utf8proc_category_t cn = category(next);

    if (is_cjk_single(next)) return 0;
    if (c == 0x00B7) return is_letter(cn); /* Catalan "col·lecció" */
    if (c == '\'' || c == 0x2019) return !lr->apostrophe_splits && is_letter(cn);
    if (category(c) == UTF8PROC_CATEGORY_CF && utf8proc_get_property(c)->ignorable)
        return is_word_char(cn); /* soft hyphen, ZWNJ: folding removes them anyway */
    return 0;
}

/* End (byte offset) of the word that starts at i with a word-start character. */
static size_t word_end(const unsigned char *p, size_t n, size_t i, const lang_rules *lr)
{
    size_t l;

    peek(p, n, i, &l);
    i += l;
    while (i < n) {
        if (p[i] < 0x80 && (small_kind[p[i]] & KIND_WORD)) { i++; continue; }   /* most text */
        utf8proc_int32_t c = peek(p, n, i, &l);
        if (c >= SMALL_CATS && is_cjk_single(c)) break;
        if (c < SMALL_CATS ? !(small_kind[c] & KIND_WORD) : !is_word_char(category(c))) {
            size_t l2;
            if (i + l >= n || !joins(c, peek(p, n, i + l, &l2), lr)) break;
        }
        i += l;
    }
    return i;
}

static const char *memo_term(term_scratch *ts, const lang_rules *lr, const char *w, size_t n, size_t *len)
{
    int hit;
    memo_slot *s = memo_find(lr, w, n, &hit);
    if (hit) { *len = s->tlen; return s->term; }
    const char *term = make_term(ts, lr, w, n, len);
    if (term && s && *len <= sizeof s->term) {
        *s = (memo_slot){ lr->id, lr->pre_flags, (uint8_t)n, (uint8_t)*len, { 0 }, { 0 } };
        memcpy(s->word, w, n);
        memcpy(s->term, term, *len);
    }
    return term;
}

/* The tokenizer's loop; with make_terms unset each token's term is the word as written (no
 * folding or stemming), for callers that need only where the words are. */
static int tokenize(const char *s, size_t n, const char *lang, cd_token_fn fn, void *ud, int make_terms)
{
    const unsigned char *p = (const unsigned char *)s;
    lang_rules lr = rules_for(lang);
    term_scratch ts = {{0}, {0}};
    uint32_t pos = 0;
    size_t i = 0;
    int rc = 0;

    if (!cd_text_valid_utf8(s, n)) return -1;
    pthread_once(&small_cats_once, fill_small_cats);
    while (i < n && rc == 0) {
        size_t l;
        if (p[i] < 0x80 && !(small_kind[p[i]] & KIND_START)) { i++; continue; }  /* spaces, punctuation */
        utf8proc_int32_t c = peek(p, n, i, &l);
        size_t start = i, end;

        if (c >= SMALL_CATS && is_cjk_single(c)) end = i + l;
        else if (c < SMALL_CATS ? (small_kind[c] & KIND_START) : is_word_start(category(c))) end = word_end(p, n, i, &lr);
        else { i += l; continue; }
        i = end;

        size_t len = end - start;
        const char *term = s + start;
        if (make_terms) {
            term = memo_term(&ts, &lr, s + start, end - start, &len);
            if (!term) { rc = -1; break; }
            if (len == 0) continue; /* e.g. a word of ignorable characters only */
        }
        cd_token tok = {term, len, pos++, start, end};
        rc = fn(&tok, ud);
    }
    cd_text_buf_free(&ts.pre);
    cd_text_buf_free(&ts.post);
    return rc;
}

int cd_text_tokenize(const char *s, size_t n, const char *lang, cd_token_fn fn, void *ud)
{
    return tokenize(s, n, lang, fn, ud, 1);
}

int cd_text_words(const char *s, size_t n, const char *lang, cd_token_fn fn, void *ud)
{
    return tokenize(s, n, lang, fn, ud, 0);
}

char *cd_text_word_term(const char *word, size_t n, const char *lang, size_t *out_len)
{
    lang_rules lr = rules_for(lang);
    term_scratch ts = {{0}, {0}};
    char *res = NULL;
    size_t len;

    if (!cd_text_valid_utf8(word, n)) return NULL;
    const char *term = make_term(&ts, &lr, word ? word : "", n, &len);
    if (term && (res = malloc(len + 1))) {
        memcpy(res, term, len);
        res[len] = '\0';
        if (out_len) *out_len = len;
    }
    cd_text_buf_free(&ts.pre);
    cd_text_buf_free(&ts.post);
    return res;
}
