/* rating_vocab: fact-checkers' own rating labels ("Pants on Fire", "Falsch", "Παραπληροφόρηση")
 * mapped to the contract's ratings (PROTOCOL.md), shared by claimctl and the daemon.
 *
 * The built-in table is data, in rating_labels.c; an operator adds to it (and overrides it) with
 * a file of "label<TAB>rating" lines (claimctl import --ratings FILE, claimd --ratings FILE).
 * Labels are compared folded: case, accents and diacritics (Latin, Greek, Cyrillic ё, Arabic
 * harakat and hamza forms, Devanagari nukta), punctuation and white space do not count; when a
 * whole label does not match, the part after its last ':' is tried ("Rating: False"). */
#ifndef CLAIMD_RATING_VOCAB_H
#define CLAIMD_RATING_VOCAB_H

#include <stddef.h>

/* The rating a label stands for: one of the contract's rating names, CD_VOCAB_UNRATED (a label
 * known to carry no truth rating: satire, Flip-O-Meter), or NULL (an unknown label). */
#define CD_VOCAB_UNRATED "-"

typedef struct cd_vocab cd_vocab;

/* Folds s[0..n) for comparison into out (cap bytes, NUL-terminated); returns its length. */
size_t cd_vocab_fold(const char *s, size_t n, char *out, size_t cap);

/* Reads an operator's vocabulary file: "label<TAB>rating" lines (rating a contract rating or
 * "-" for known but unrated), '#' comments and blank lines skipped. NULL with a reason ("line
 * N: ...") in err on a bad line or an unreadable file. */
cd_vocab *cd_vocab_load(const char *path, char *err, size_t errlen);

/* Frees a vocabulary from cd_vocab_load (NULL is fine). */
void cd_vocab_free(cd_vocab *v);

/* The rating of label[0..n): the operator's vocabulary first (may be NULL), then the built-in
 * one; NULL when neither knows it. Thread-safe. */
const char *cd_vocab_rating(const cd_vocab *extra, const char *label, size_t n);

/* The rating for a position on a publisher's numeric scale (ratingValue between worstRating and
 * bestRating): the score 1 + 4 * (value - worst) / (best - worst), rounded, gives 5 true,
 * 4 mostly-true, 3 mixed, 2 mostly-false, 1 false. NULL when best <= worst or value is off the
 * scale. *score gets the unrounded 1-5 score. */
const char *cd_vocab_rating_on_scale(double value, double best, double worst, double *score);

/* The built-in table (rating_labels.c): label as publishers write it, and its rating. */
typedef struct {
    const char *label, *rating;
} cd_vocab_entry;
extern const cd_vocab_entry cd_vocab_builtin[];
extern const size_t cd_vocab_builtin_n;

#endif
