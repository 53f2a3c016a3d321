/* match: near-duplicate claims for claim.match (docs/search.md, "Claim matching").
 *
 * Two texts are compared as *term sets*: the distinct search terms of each (cd_search_doc_build
 * in the claim's language space, so words are folded and stemmed the way search makes them),
 * after numbers were written one way (cd_match_canon_numbers: "5,000,000", "5 million", "5m"
 * and "five million" are one term; "40%", "40 percent" and "forty per cent" another).
 * Each term weighs its idf in the space (search's BM25 idf from the postings' df), and the
 * similarity is the weighted Jaccard sum(w, A ∩ B) / sum(w, A ∪ B): a rare word shared counts
 * much, "the", "said" and "has the highest ... in the world" little, and a rare word on one side
 * only ("corporate tax" against "incarceration") pulls the score down. Word order does not count,
 * so a question turned into a statement, or a sentence turned around, still matches.
 *
 * Candidates come from the full-text index, not from a table of their own (prefix filtering):
 * a claim whose weighted similarity with the query text is at least t shares at least t of the
 * query's weight, so it contains one of the query's rarest terms once the most common terms
 * dropped carry less than t of the weight. Only those rare terms' postings are read.
 */
#ifndef CD_MATCH_H
#define CD_MATCH_H

#include <stddef.h>
#include <stdint.h>

/* One distinct term of a text and its weight (0 until the caller weighs it). */
typedef struct {
    uint32_t off, len;            /* the term's bytes in the set's terms[off..off+len) */
    double w;
} cd_mterm;

/* The distinct terms of a text in byte order (malloc'd; free with cd_mset_free). */
typedef struct {
    char *terms;
    cd_mterm *t;
    size_t n;
} cd_mset;

/* A copy of s[0..n) with every number written canonically (see above; the rules are in
 * docs/search.md): digits with thousands separators and decimals (decimal comma in languages
 * that use it: lang, may be NULL), an attached or following multiplier word (thousand, million,
 * billion, trillion and their abbreviations, in English and a few other languages), English
 * number words up to ninety-nine, and a following percent sign or word. Malloc'd,
 * NUL-terminated, length in *out_n; NULL on no memory. */
char *cd_match_canon_numbers(const char *s, size_t n, const char *lang, size_t *out_n);

/* Fills *set with the distinct terms of s[0..n) in lang (NULL: fold only), numbers made
 * canonical first when canon is nonzero. 0, or -1 on invalid UTF-8 or no memory. */
int cd_mset_build(cd_mset *set, const char *s, size_t n, const char *lang, int canon);

/* The index of term[0..len) in set, or -1. */
long cd_mset_find(const cd_mset *set, const char *term, size_t len);

/* Frees set's arrays and zeroes it. */
void cd_mset_free(cd_mset *set);

/* The weighted Jaccard similarity of two weighed sets: 0 when their union weighs nothing. */
double cd_mset_similarity(const cd_mset *a, const cd_mset *b);

#endif
