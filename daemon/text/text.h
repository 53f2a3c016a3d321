/* text: Unicode normalisation for lookups, duplicate keys and search terms (utf8proc + Snowball).
 *
 * Folding (cd_text_fold, and every key and term built here), in this order:
 *   1. NFKC compatibility decomposition and Unicode full case folding (so "ﬁ" -> "fi", "Ａ" -> "a",
 *      "ß" -> "ss", final sigma "ς" -> "σ"); default-ignorable characters (soft hyphen, zero-width
 *      space/joiners, BOM, bidi marks, variation selectors) and Arabic tatweel are removed.
 *   2. Diacritics are stripped: a nonspacing or enclosing mark is dropped when it is a diacritic, i.e.
 *      it lies in the combining-diacritics blocks (U+0300-036F, 1AB0-1AFF, 1DC0-1DFF, 20D0-20FF,
 *      FE20-FE2F) or is a Cyrillic, Hebrew or Arabic combining mark. Marks of Indic and other
 *      abugida scripts (Devanagari, Tamil, Thai, ...) are vowel signs, not accents, and are kept.
 *   3. Letters that carry a stroke or are ligatures without a Unicode decomposition fold to their
 *      base: ı->i, ø->o, đ->d, ł->l, ħ->h, ŧ->t, æ->ae, œ->oe.
 *   4. NFC composition; white space (Z* and control characters) runs become one space, trimmed.
 * Turkish dotted/dotless I: "İ" folds to plain "i" (not Unicode's "i" + U+0307) and dotless "ı"
 * folds to "i" too, so "İstanbul", "ISTANBUL", "Istanbul" and "ıstanbul" all fold to "istanbul".
 * That is deliberately lossy (Turkish "ılık"/"ilik" collide) in exchange for matching whatever
 * keyboard or transliteration the writer used. Apostrophe look-alikes (U+2018, U+2019, U+201B,
 * U+02BB, U+02BC, U+0060, U+00B4, U+2032) fold to U+0027 so "O’Brien" = "O'Brien", "м’ясо" = "м'ясо".
 *
 * Search terms (cd_text_tokenize, cd_text_word_term), per word (docs/search.md, Languages):
 *   Snowball languages: fold steps 1-4 but Cyrillic marks (й ё ї ў) kept, "I" -> "ı" for "tr"
 *   first; Spanish/Portuguese endings respelled (-cion -> -ción, -ções -> -ção); Snowball stem;
 *   Russian surname suffix -ов/-ев cut; fold again (strip the rest).
 *   Hunspell languages (uk pl be cs bg kk sk): fold steps 1 and 4 (accents kept) -> the best
 *   hunspell stem, if the dictionary knows the word -> a case ending cut (text_hunspell.c) ->
 *   fold steps 2-4. Without the dictionary only the ending is cut.
 *   Other languages: exactly cd_text_fold of the word. Terms are capped at CD_TEXT_TERM_MAX bytes.
 *   Accents are folded before Snowball so that an unaccented query stems like the accented text
 *   even when the accent sits in the cut suffix ("securite"/"Sécurité" -> "securit").
 *
 * Word boundaries (tokenizer): a word is a run of letters, digits and marks (utf8proc categories
 * L*, N*, M*); a default-ignorable format character between two word characters (soft hyphen,
 * ZWNJ in Persian) stays inside the word; an apostrophe (U+0027, U+2019) or a middle dot U+00B7
 * (Catalan "l·l") between two letters joins them ("don't", "O'Brien", "м'ясо"), except that in
 * the elision languages fr, it, ca and in Turkish (tr, az) an apostrophe separates words ("l'homme"
 * -> "l", "homme"; "İstanbul'da" -> "istanbul", "da"). Each Han ideograph, hiragana and katakana
 * character is a token of its own (no dictionary segmentation). Everything else separates words.
 */
#ifndef CLAIMD_TEXT_H
#define CLAIMD_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* Longest search term in bytes; longer terms are cut at a character boundary (LMDB keys are short). */
#define CD_TEXT_TERM_MAX 120

/* 1 if s[0..n) is valid UTF-8 (shortest form, no surrogates, at most U+10FFFF); 0 otherwise. */
int cd_text_valid_utf8(const char *s, size_t n);

/* Folds s[0..n) for name/alias lookup (see above); caller frees; NULL on invalid UTF-8 or no memory. */
char *cd_text_fold(const char *s, size_t n, size_t *out_len);

/* Key of an entity name or alias (docs/data-model.md, "Names"): cd_text_fold, and apostrophes
 * (and their look-alikes) vanish while every other punctuation character (Unicode P*: hyphens,
 * dots, underscores, slashes...) separates words, so "barack-obama", "Barack_Obama", "BARACK
 * OBAMA" and "Barack  Obama" are one key, "D. S. Peskov" = "D.S. Peskov" = "D S Peskov" (but not
 * "DS Peskov"), "O'Brien" = "OBrien". Caller frees; NULL on invalid UTF-8 or no memory. */
char *cd_text_name_key(const char *s, size_t n, size_t *out_len);

/* Latin key of a name key: ICU "Any-Latin; Latin-ASCII", then cd_text_name_key again, so
 * "песков", "πεσκοφ" and "peskov" give "peskov", "peskoph", "peskov". Caller frees; NULL on
 * invalid UTF-8, no memory or a transliterator ICU cannot open (logged once). */
char *cd_text_latin_key(const char *key, size_t n, size_t *out_len);

/* Sound key of a Latin key: spellings transliterations disagree on written one way (ph, v, w ->
 * f; y, j -> i; ks, cks, x -> x; kh -> h; ck, q -> k; c before a/o/u -> k; doubled letters once),
 * so "peskov", "peskoph" and "peskow" all give "peskof". Caller frees; NULL when out of memory. */
char *cd_text_sound_key(const char *latin, size_t n, size_t *out_len);

/* Levenshtein distance between a[0..an) and b[0..bn) (bytes), or max + 1 when it exceeds max. */
unsigned cd_text_edit_distance(const char *a, size_t an, const char *b, size_t bn, unsigned max);

/* Key for duplicate claims (PROTOCOL.md): NFKC + case fold, punctuation (P*) becomes a space,
 * white space collapsed; accents, symbols and digits are kept. Caller frees; NULL on bad UTF-8. */
char *cd_text_dedup_key(const char *s, size_t n, size_t *out_len);

/* One search token. term/len is the processed term (not NUL-terminated, valid only during the
 * callback); pos counts tokens from 0; start/end are byte offsets of the word in the original text. */
typedef struct {
    const char *term;
    size_t len;
    uint32_t pos;
    size_t start, end;
} cd_token;

/* Token callback: return 0 to go on, anything else to stop tokenizing with that value. */
typedef int (*cd_token_fn)(const cd_token *tok, void *ud);

/* Splits s[0..n) into words, makes each a term for lang (NULL or unknown: fold only) and calls fn
 * for each in order. Returns 0 when done, fn's nonzero value if it stopped, -1 on invalid UTF-8 or
 * no memory. Uses this thread's stemmer cache (see cd_text_thread_cleanup). */
int cd_text_tokenize(const char *s, size_t n, const char *lang, cd_token_fn fn, void *ud);

/* The words cd_text_tokenize would find, with the same byte offsets and (but for words that
 * fold to nothing, such as a lone Arabic tatweel) the same positions, without folding or
 * stemming: each token's term is the word as written. Much cheaper, for snippets. Same returns. */
int cd_text_words(const char *s, size_t n, const char *lang, cd_token_fn fn, void *ud);

/* The term cd_text_tokenize would give for a token spelled word[0..n), for query words; pass lang
 * NULL for prefix* queries (fold only). Caller frees; NULL on invalid UTF-8 or no memory. A query
 * string with several words should go through cd_text_tokenize with the claim's lang instead. */
char *cd_text_word_term(const char *word, size_t n, const char *lang, size_t *out_len);

/* Snowball algorithm used for language tag lang ("en", "pt-BR", "sr_Latn"), or NULL for none. */
const char *cd_text_stemmer_name(const char *lang);

/* Frees this thread's cached stemmers. Threads made with pthreads also free them at exit; call it
 * explicitly from the main thread, or before a thread exits other ways. Safe to call repeatedly. */
void cd_text_thread_cleanup(void);

#endif
