/* text_internal: pieces shared by daemon/text_*.c only; everything else uses text.h. */
#ifndef CLAIMD_TEXT_INTERNAL_H
#define CLAIMD_TEXT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct sb_stemmer;

/* Reusable scratch space for folding: dec holds decomposed code points, out the folded result. */
typedef struct {
    int32_t *dec;
    size_t dec_cap;
    int32_t *out;
    size_t out_cap;
} cd_text_buf;

enum {
    CD_FOLD_KEEP_ACCENTS = 1, /* skip diacritic stripping and base-letter folding (pre-stemming) */
    CD_FOLD_DROP_PUNCT = 2,   /* punctuation (P*) becomes spaces (dedup keys) */
    CD_FOLD_TURKIC_I = 4,     /* "I" lower-cases to dotless "ı" (Turkish, before stemming) */
    CD_FOLD_NO_ASCII_PATH = 8, /* tests: take the general path even for ASCII input */
    CD_FOLD_NAME = 16,         /* name keys: apostrophes vanish, other punctuation is a space */
    CD_FOLD_KEEP_CYRILLIC = 32 /* with accents stripped, keep the marks of Cyrillic letters (й ё ї) */
};

/* Folds valid UTF-8 s[0..n) per flags; result is the NUL-terminated (char *)buf->out. Returns its
 * byte length, or -1 when out of memory. */
ssize_t cd_text_fold_into(cd_text_buf *buf, const char *s, size_t n, unsigned flags);

/* Frees buf's arrays and zeroes it. */
void cd_text_buf_free(cd_text_buf *buf);

/* Copies lang's primary subtag ("pt" of "pt-BR"), lower-cased, into tag; "" if none or longer than 3. */
void cd_text_lang_primary(const char *lang, char tag[4]);

/* This thread's term memo of bytes bytes (zeroed when made), kept with its stemmers and freed
 * with them (cd_text_thread_cleanup, or thread exit). NULL when out of memory. */
void *cd_text_thread_memo(size_t bytes);

/* Makes this thread's cache of stemmers and transliterator known, so that thread exit frees
 * them. 0, or -1 when out of memory. */
int cd_text_thread_register(void);

/* Closes this thread's transliterator (text_translit.c); called when its cache is freed. */
void cd_text_translit_free(void);

/* This thread's stemmer for Snowball algorithm algo, created on first use; NULL when out of memory. */
struct sb_stemmer *cd_text_stemmer_get(const char *algo);

struct cd_hun_lang;

/* The hunspell dictionary slot for ISO 639-1 tag (uk pl be cs bg kk sk), or NULL: none. */
const struct cd_hun_lang *cd_text_hunspell_lang(const char *tag);

/* The first hunspell stem of lower-cased UTF-8 word w[0..n) (tried capitalised too) into out
 * (cap bytes, UTF-8, NUL-terminated); its length, or 0 when the dictionary does not know the word,
 * is not installed or the word is too long. Thread-safe (one lock per dictionary). */
size_t cd_text_hunspell_stem(const struct cd_hun_lang *l, const char *w, size_t n, char *out, size_t cap);

/* The suffix-stripping rules for tag (uk be bg pl cs sk ru), or NULL: none. */
const void *cd_text_strip_rules(const char *tag);

/* Length of w[0..n) once the longest ending of rules that leaves a stem of 3 letters or more is
 * cut off (n when none). */
size_t cd_text_strip_suffix(const void *rules, const char *w, size_t n);

#endif
