/* search: the full-text index of claims and the pieces of claim.search (docs/search.md).
 *
 * A claim's text is indexed in its *language space*: the primary subtag of its lang ("en" for
 * "en-GB"), lower-cased and NUL-padded to 3 bytes; all NUL when the claim has no usable lang.
 * Every space is tokenized and stemmed with its own rules (text.h), so a query is evaluated in
 * each space separately with the query words made into terms the same way.
 *
 * Storage (named LMDB databases, integers big-endian; v = LEB128 varint):
 *   postings       one posting(10) = id(8) tf|flags(1) norm(1) per claim and term, kept in the
 *                  search runs (search_runs.h): tables search_run00.. holding chunks of a term's
 *                  postings keyed space(3) term 0x00 first_id(8), delta-coded, each with the
 *                  block-max bound (largest tf, smallest norm) of its postings. tf is capped at
 *                  127; flag 0x80 marks a retracted claim; norm is the claim's token count,
 *                  log-quantised to one byte (cd_search_norm_encode). search_terms and
 *                  search_blocks held them until format 6 and are kept empty.
 *   search_docs    id(8) -> forward record: space(3) flags(1) tokens(v) nterms(v), then per term
 *                  in byte order: len(v) term tf(v) position deltas(v) x tf. Lets an update or a
 *                  retraction remove exactly the postings it wrote, and phrases check positions.
 *                  Stored packed (zrec.h, family CD_ZREC_FWD) once there is a dictionary: read
 *                  them through cd_rec_plain.
 *   search_langs   space(3) -> docs(8) tokens(8): the BM25 statistics of each language space.
 * Terms never contain a 0x00 byte (the tokenizer treats control characters as separators).
 */
#ifndef CD_SEARCH_H
#define CD_SEARCH_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include "bytes.h"
#include "claim.h"
#include "text.h"

#define CD_SEARCH_SPACE 3            /* bytes of a language space in keys */
#define CD_SEARCH_POSTING 10         /* bytes of one posting value */
#define CD_SEARCH_TF_MAX 127         /* tf stored in a posting saturates here */
#define CD_SEARCH_RETRACTED 0x80     /* posting flag: the claim is retracted */
#define CD_SEARCH_BLOCK_SHIFT 10     /* claim ids per block-max entry: 1 << 10 */
#define CD_SEARCH_TERM_KEY (CD_SEARCH_SPACE + CD_TEXT_TERM_MAX)
#define CD_SEARCH_BM25_K1 1.2
#define CD_SEARCH_BM25_B 0.75

#define CD_SEARCH_CLAUSES_MAX 32     /* distinct words (terms and prefixes) in one query */
#define CD_SEARCH_PHRASES_MAX 8      /* quoted phrases in one query */
#define CD_SEARCH_PHRASE_WORDS 32    /* words in one phrase */
#define CD_SEARCH_PARTS_MAX 128      /* pieces (words, phrases, prefixes) q may be split into */

/* ---- language spaces (search_codec.c) ---- */

/* The space of a claim lang lang[0..n): tag is the primary subtag, lower-case, NUL-terminated and
 * NUL-padded ("" when n is 0 or the tag has no 2-3 letter primary subtag). tag[0..3) is the key. */
void cd_search_space_of(const char *lang, size_t n, char tag[4]);

/* The language to tokenize a space's text with: tag, or NULL for the empty space. */
const char *cd_search_space_lang(const char tag[4]);

/* ---- varints (search_varint.c) ---- */

/* Writes v as a LEB128 varint at p (at most 10 bytes); returns the bytes written. */
size_t cd_search_put_varint(unsigned char *p, uint64_t v);

/* cd_search_get_varint for a varint of two bytes or more (the out-of-line part). */
int cd_search_get_varint_long(const unsigned char **p, const unsigned char *end, uint64_t *v);

/* Reads a varint at *p (not past end) into *v and advances *p. 0, or -1 when truncated, too long
 * or not in its shortest form (the one cd_search_put_varint writes). Inline for the one-byte
 * case: most id deltas of a frequent word's postings, decoded by the million per search. */
static inline int cd_search_get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
    if (*p < end && **p < 0x80) {
        *v = *(*p)++;
        return 0;
    }
    return cd_search_get_varint_long(p, end, v);
}

/* ---- encodings (search_codec.c) ---- */

/* One-byte code of a token count: exact below 64, then 20 steps per doubling; monotonic. */
uint8_t cd_search_norm_encode(uint32_t tokens);

/* The token count a norm code stands for (the smallest count with that code). */
uint32_t cd_search_norm_decode(uint8_t code);

/* Fills a posting value: id, tf (capped at CD_SEARCH_TF_MAX), the retracted flag and norm. */
void cd_search_posting(unsigned char out[CD_SEARCH_POSTING], uint64_t id, uint32_t tf, int retracted,
                       uint8_t norm);

/* Posting accessors. The id is read with one load and a byte swap (bytes.h): it is the
 * innermost loop. */
static inline uint64_t cd_search_posting_id(const unsigned char *p) { return cd_get_u64be(p); }
static inline uint32_t cd_search_posting_tf(const unsigned char *p) { return p[8] & 0x7f; }
static inline int cd_search_posting_retracted(const unsigned char *p) { return (p[8] & CD_SEARCH_RETRACTED) != 0; }
static inline uint8_t cd_search_posting_norm(const unsigned char *p) { return p[9]; }

/* Builds space|term into key (room for CD_SEARCH_TERM_KEY); returns its length. */
size_t cd_search_term_key(unsigned char *key, const char tag[4], const char *term, size_t len);

/* ---- BM25 (search_codec.c) ---- */

/* Inverse document frequency ln(1 + (N - df + 0.5) / (df + 0.5)), never below 1e-6. */
double cd_search_idf(uint64_t ndocs, uint64_t df);

/* The length part of BM25 for every norm code: k1 * (1 - b + b * len / avg). */
void cd_search_norm_table(double k[256], uint64_t ndocs, uint64_t ntokens);

/* BM25 of one term in one claim, given its idf and the claim's k[norm]. */
static inline double cd_search_bm25(double idf, uint32_t tf, double k)
{
    return idf * tf * (CD_SEARCH_BM25_K1 + 1) / (tf + k);
}

/* ---- documents: tokens of a text and the forward record (search_codec.c) ---- */

typedef struct { uint32_t off, len, pos; } cd_search_tok;

/* A tokenized text: every token's term (bytes in terms[off..off+len)) and position, sorted by
 * (term, position) once built. Memory is malloc'd; free with cd_search_doc_free. */
typedef struct {
    char *terms;
    size_t terms_n, terms_cap;
    cd_search_tok *toks;
    size_t ntoks, toks_cap;
    uint32_t tokens;             /* the text's length in tokens */
} cd_search_doc;

/* Tokenizes text[0..n) with lang (NULL: fold only) into *d (which must be zeroed or freed before).
 * 0, or -1 on invalid UTF-8 or no memory. */
int cd_search_doc_build(cd_search_doc *d, const char *text, size_t n, const char *lang);

/* Frees d's arrays and zeroes it. */
void cd_search_doc_free(cd_search_doc *d);

/* The forward record of d for space tag (malloc'd, *len bytes), or NULL when out of memory. */
unsigned char *cd_search_fwd_encode(const cd_search_doc *d, const char tag[4], int retracted, size_t *len);

/* A forward record being read; points into the record's bytes. */
typedef struct {
    char tag[4];
    int retracted;
    uint32_t tokens;
    uint64_t nterms;
    const unsigned char *p, *end;
} cd_search_fwd;

/* One term entry of a forward record; positions are the varint deltas in [pos, pos_end). */
typedef struct {
    const char *term;
    size_t len;
    uint32_t tf;
    const unsigned char *pos, *pos_end;
} cd_search_fwd_term;

/* Opens a forward record of n bytes. 0, or -1 when it is malformed. */
int cd_search_fwd_open(cd_search_fwd *f, const void *rec, size_t n);

/* Reads the next term entry: 1, 0 at the end, -1 when malformed. */
int cd_search_fwd_next(cd_search_fwd *f, cd_search_fwd_term *t);

/* Decodes up to max positions of t into out (ascending); returns how many. */
size_t cd_search_fwd_positions(const cd_search_fwd_term *t, uint32_t *out, size_t max);

/* ---- queries (search_query.c) ---- */

typedef enum { CD_QPART_WORDS, CD_QPART_PHRASE, CD_QPART_PREFIX } cd_qpart_kind;

/* A piece of the query string: bare words, a quoted phrase, or one word ending in '*' (p/n is
 * the text without quotes and without the trailing stars). */
typedef struct { cd_qpart_kind kind; const char *p; size_t n; } cd_qpart;

/* Splits q[0..n) into at most max parts. Returns the count, or -1 when there are more. */
int cd_search_parse_q(const char *q, size_t n, cd_qpart *parts, int max);

typedef enum { CD_CLAUSE_TERM, CD_CLAUSE_PREFIX } cd_clause_kind;

/* One required condition: a term, or every term starting with a prefix (folded, unstemmed). */
typedef struct {
    cd_clause_kind kind;
    size_t len;
    char term[CD_TEXT_TERM_MAX + 1];
} cd_qclause;

/* A phrase: its words as clause indexes and their positions relative to the first word. */
typedef struct {
    int n;
    int clause[CD_SEARCH_PHRASE_WORDS];
    uint32_t rel[CD_SEARCH_PHRASE_WORDS];
} cd_qphrase;

/* A query made into terms for one language: distinct clauses, in query order, and phrases. */
typedef struct {
    int nclauses, nphrases;
    cd_qclause clause[CD_SEARCH_CLAUSES_MAX];
    cd_qphrase phrase[CD_SEARCH_PHRASES_MAX];
} cd_qplan;

enum { CD_PLAN_OK = 0, CD_PLAN_NOMEM = -1, CD_PLAN_TOO_MANY = -2 };

/* Makes parts into the clauses and phrases of lang (NULL: fold only). CD_PLAN_OK, or an error. */
int cd_search_plan_build(const cd_qpart *parts, int nparts, const char *lang, cd_qplan *plan);

/* Whether term[0..len) satisfies clause i of plan (equal term, or starts with the prefix). */
int cd_search_clause_matches(const cd_qplan *plan, int i, const char *term, size_t len);

/* Whether the claim whose forward record is f contains phrase ph of plan. 1, 0, or -1 on no
 * memory or a malformed record. */
int cd_search_phrase_in(const cd_qplan *plan, const cd_qphrase *ph, const cd_search_fwd *f);

/* The token positions, ascending, of the words of f's claim that satisfy a clause of plan
 * (malloc'd array of *n, NULL when none). 0, or -1 on no memory or a malformed record. */
int cd_search_marks(const cd_qplan *plan, const cd_search_fwd *f, uint32_t **out, size_t *n);

/* ---- snippets (search_snippet.c) ---- */

#define CD_SEARCH_SNIPPET_MAX 240    /* bytes of claim text shown (markers and ellipses extra) */

/* The snippet of text[0..n) with the words at token positions marks[0..nmarks) (ascending)
 * between open and close; cut to a window around the best cluster of marks, "…" marking a cut.
 * Word boundaries come from a pass without stemming; when its token count differs from tokens
 * (the count the index holds, from tokenizing with lang: elision and Turkish apostrophes split
 * differently) the text is tokenized with lang instead. malloc'd, NUL-terminated, length in
 * *out_len; NULL on no memory or invalid UTF-8. */
char *cd_search_snippet(const char *text, size_t n, const char *lang, uint32_t tokens,
                        const uint32_t *marks, size_t nmarks, const char *open, const char *close,
                        size_t *out_len);

/* ---- cursors (search_cursor.c) ---- */

/* The frozen statistics of one language space, so later pages score exactly like the first. */
typedef struct {
    char tag[4];
    uint64_t ndocs, ntokens;
    int nclauses;
    uint64_t df[CD_SEARCH_CLAUSES_MAX];
} cd_search_frozen;

/* A claim.search cursor: where the last page stopped and what it was scored with. */
typedef struct {
    uint64_t qhash;              /* hash of q and the lang filter it was made for */
    double score;                /* the last hit returned */
    uint64_t id;
    uint64_t max_id;             /* claims recorded after the first page are not included */
    size_t nspaces;
    cd_search_frozen *spaces;    /* malloc'd by cd_search_cursor_decode */
} cd_search_cursor;

/* Encodes cur as lower-case hex (malloc'd, NUL-terminated; length in *len), NULL on no memory. */
char *cd_search_cursor_encode(const cd_search_cursor *cur, size_t *len);

/* Decodes hex[0..n) into *cur (spaces malloc'd; free with cd_search_cursor_free). 0, or -1 when
 * it is not a cursor this daemon made. */
int cd_search_cursor_decode(const char *hex, size_t n, cd_search_cursor *cur);

/* Frees what cd_search_cursor_decode allocated. */
void cd_search_cursor_free(cd_search_cursor *cur);

/* ---- reading candidates (search_peek.c) ---- */

/* Loads claim id with every allocation going to scratch instead of the call's zone, so that a
 * method checking thousands of candidates does not keep them all: cl is valid until scratch is
 * cleared. 0, MDB_NOTFOUND (also for an undecodable record, logged), or -1 (LMDB error set). */
int cd_search_claim_peek(cd_call *c, MDB_txn *txn, msgpack_zone *scratch, uint64_t id, cd_claim *cl);

/* ---- the index (search_index.c) ---- */

typedef struct cd_ixplan cd_ixplan;  /* ixplan.h */

/* Plans (in p, for the claim being planned) moving claim old's (NULL: none) postings, forward
 * record and space statistics to those of cl (NULL: none), when its text, language space or
 * retraction changed: reads old's forward record, tokenizes cl's text, holds its postings back
 * in the plan's builder. 0, or -1 with the error set on c. */
int cd_search_index_plan(cd_call *c, MDB_txn *txn, cd_ixplan *p, const cd_claim *old, const cd_claim *cl);

/* Applies a planned change of claim id's forward record in the write txn: removes the postings
 * of old (NULL: none) from the runs, stores fwd (NULL: none; removes the record), keeps the
 * space statistics. 0, or -1 with the error set on c (the txn must be aborted). */
int cd_search_index_apply(cd_call *c, MDB_txn *txn, uint64_t id, const unsigned char *old, size_t old_len,
                          const unsigned char *fwd, size_t fwd_len);

#endif
