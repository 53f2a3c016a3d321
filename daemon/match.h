/* match: near-duplicate claims for claim.match (docs/search.md, "Claim matching").
 *
 * A text's shingles are its words, folded and unstemmed (cd_text_tokenize with no language, so
 * any two texts compare alike whatever their lang), and every pair of adjacent words, as 64-bit
 * hashes; the similarity of two texts is the exact Jaccard similarity of their shingle sets.
 * Candidates come from MinHash over the word *pairs* only (the words alone when a text has one):
 * single common words ("the", "said") make unrelated claims look 5-10% alike, pairs much less,
 * so pairs keep the candidate lists short. For each of CD_MATCH_HASHES hash functions the
 * signature keeps the smallest hash of a pair; CD_MATCH_BANDS bands of CD_MATCH_ROWS values each
 * are hashed into LSH buckets stored in LMDB:
 *   match_bands    bucket(4) -> claim id(8), MDB_DUPSORT | MDB_DUPFIXED
 * Claims sharing a bucket with the query text are candidates. With 16 bands of 2 rows a claim
 * whose pair sets have similarity p is a candidate with probability 1 - (1 - p^2)^16: 0.99 at
 * p = 0.5, 0.94 at 0.4, 0.78 at 0.3, 0.15 at 0.1. (Three words changed in a 15-word claim leave
 * p about 0.4 and a shingle similarity about 0.53.)
 * The hashes are part of the storage format: changing them means re-indexing (CD_DB_FORMAT).
 */
#ifndef CD_MATCH_H
#define CD_MATCH_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include "claim.h"

#define CD_MATCH_HASHES 32
#define CD_MATCH_ROWS 2
#define CD_MATCH_BANDS (CD_MATCH_HASHES / CD_MATCH_ROWS)

/* The shingles of a text: all of them, and the word pairs (LSH input), each sorted and unique
 * in malloc'd arrays (free with cd_match_set_free). */
typedef struct {
    uint64_t *all;
    size_t nall;
    uint64_t *pairs;
    size_t npairs;
} cd_match_set;

/* Fills s with the shingles of text[0..n). 0, or -1 on invalid UTF-8 or no memory. */
int cd_match_set_build(const char *text, size_t n, cd_match_set *s);

/* Frees s's arrays. */
void cd_match_set_free(cd_match_set *s);

/* The LSH input of s: its pairs, or all its shingles when it has no pairs (one word). */
void cd_match_set_lsh(const cd_match_set *s, const uint64_t **h, size_t *n);

/* The MinHash signature of a shingle set of n hashes (n > 0). */
void cd_match_signature(const uint64_t *sh, size_t n, uint32_t sig[CD_MATCH_HASHES]);

/* The LSH bucket of each band of a signature. */
void cd_match_bands(const uint32_t sig[CD_MATCH_HASHES], uint32_t bands[CD_MATCH_BANDS]);

/* |a ∩ b| / |a ∪ b| of two sorted, unique hash sets; 0 when both are empty. */
double cd_match_jaccard(const uint64_t *a, size_t na, const uint64_t *b, size_t nb);

/* The LSH buckets of text[0..n) into bands; returns 1, 0 when the text has no words, -1 on
 * invalid UTF-8 or no memory. */
int cd_match_text_bands(const char *text, size_t n, uint32_t bands[CD_MATCH_BANDS]);

/* Moves claim old's (NULL: none) bucket entries to those of cl (NULL: none) when the text
 * changed. 0, or -1 with the error set on c. */
int cd_match_index_update(cd_call *c, MDB_txn *txn, const cd_claim *old, const cd_claim *cl);

#endif
