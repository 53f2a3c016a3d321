/* search_plist: reading one query clause's postings in claim-id order, a page at a time, with
 * the block maxima that let the evaluator skip blocks that cannot reach the top k.
 *
 * A term's postings are read straight from LMDB's DUPFIXED pages (MDB_GET_MULTIPLE): no copy.
 * A prefix clause is materialised: the postings of every term starting with the prefix are
 * merged into one sorted array (tf summed), and its block maxima are computed from it. */
#ifndef CD_SEARCH_PLIST_H
#define CD_SEARCH_PLIST_H

#include <lmdb.h>
#include "call.h"
#include "search.h"

/* More terms than this under one prefix: the query is refused (make the prefix longer). */
#define CD_SEARCH_PREFIX_TERMS 4096
/* More postings than this under the prefixes of one request (every prefix in every language
 * space): refused too. Bounds memory, and the time the loop thread spends: about 10 ms. */
#define CD_SEARCH_PREFIX_POSTINGS 250000

typedef struct {
    uint32_t block;
    uint8_t maxtf, minnorm;
} cd_sblock;

typedef struct {
    MDB_cursor *cur;                 /* NULL for a materialised (prefix) list */
    unsigned char key[CD_SEARCH_TERM_KEY];
    size_t klen;
    const unsigned char *page;       /* the current run of postings (LMDB page or array) */
    size_t page_n, i;                /* its length and the current index */
    int eof;
    cd_sblock *blocks;               /* malloc'd, in block order */
    size_t nblocks, bi;
    uint64_t df;                     /* postings in the list (live) */
    unsigned char *owned;            /* a materialised list's postings (malloc'd) */
} cd_plist;

/* Opens the postings of term in space tag; df 0 when the term is absent. 0 or -1 (error set). */
int cd_plist_open_term(cd_call *c, MDB_txn *txn, cd_plist *l, const char tag[4], const char *term,
                       size_t len);

/* The number of postings of term in space tag (0 when absent) into *df, without reading them,
 * through cur (a cursor on search_terms the caller keeps open across lookups). 0 or -1 (error set). */
int cd_plist_df(cd_call *c, MDB_cursor *cur, const char tag[4], const char *term, size_t len, uint64_t *df);

/* Opens the union of the postings of every term of space tag that starts with prefix, taking
 * them from *budget (the postings the request may still materialise). 0, or -1 (error set:
 * invalid "q" when the prefix matches too much). */
int cd_plist_open_prefix(cd_call *c, MDB_txn *txn, cd_plist *l, const char tag[4], const char *prefix,
                         size_t len, size_t *budget);

/* The first posting with an id >= id at or after the current one, or NULL at the end. */
const unsigned char *cd_plist_seek(cd_plist *l, uint64_t id);

/* The posting after the current one, or NULL at the end. */
const unsigned char *cd_plist_next(cd_plist *l);

/* The block entry of block (calls must ask for non-decreasing blocks), or NULL when the list
 * has no postings in it. */
const cd_sblock *cd_plist_block(cd_plist *l, uint32_t block);

/* Closes the list's LMDB cursor and frees its memory. */
void cd_plist_close(cd_plist *l);

#endif
