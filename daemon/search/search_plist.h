/* search_plist: reading one query clause's postings in claim-id order, a chunk at a time, with
 * the block maxima that let the evaluator skip blocks that cannot reach the top k.
 *
 * A term's postings are spread over the runs (search_runs.h): each run's chunks are decoded one
 * at a time and the runs merged by claim id (a posting is in one run only). The block maxima
 * of the list that drives an evaluation are read up front (cd_plist_scan_blocks): from the
 * chunks' headers (a chunk within two blocks bounds both), or from the postings of a chunk
 * spread wider. Every other list answers cd_plist_block lazily, for the blocks the driver
 * visits only: from the postings of its current chunk in the block and the headers of the
 * chunks after it that start there, so a rare word next to a common one does not read the
 * common one's whole list. A prefix clause is materialised: the postings of every term
 * starting with the prefix are merged into one sorted array (tf summed), and its block maxima
 * are computed from it. */
#ifndef CD_SEARCH_PLIST_H
#define CD_SEARCH_PLIST_H

#include <lmdb.h>
#include "call.h"
#include "search.h"
#include "search_runs.h"

/* More terms than this under one prefix: the query is refused (make the prefix longer). */
#define CD_SEARCH_PREFIX_TERMS 4096
/* More postings than this under the prefixes of one request (every prefix in every language
 * space): refused too. Bounds memory, and the time the loop thread spends: about 10 ms. */
#define CD_SEARCH_PREFIX_POSTINGS 250000

typedef struct {
    uint32_t block;
    uint8_t maxtf, minnorm;
} cd_sblock;

/* One run's part of a term's postings: the chunk the cursor is on, decoded. */
typedef struct {
    MDB_cursor *cur;
    unsigned char post[CD_RUN_CHUNK * CD_SEARCH_POSTING];
    size_t n, i;                     /* postings in post, the current one */
    uint64_t first, last;            /* the chunk's first and last id */
    MDB_cursor *peek;                /* lazy block bounds: reads the headers of later chunks */
    int eof;
} cd_plist_run;

typedef struct {
    unsigned char key[CD_SEARCH_TERM_KEY];
    size_t klen;
    cd_plist_run *runs;              /* malloc'd: the runs that hold the term */
    size_t nruns;
    const unsigned char *at;         /* the current posting (NULL before the first seek) */
    size_t at_run;                   /* the run it is in */
    uint64_t others_min;             /* the smallest current id of the other runs (UINT64_MAX: none) */
    unsigned char *owned;            /* a materialised (prefix) list's postings, malloc'd */
    size_t owned_n, oi;
    int materialised, eof;
    int scanned;                     /* blocks holds every block (a materialised list's, or
                                        cd_plist_scan_blocks read them) */
    cd_sblock *blocks;               /* malloc'd, in block order */
    size_t nblocks, bi;
    cd_sblock lazy;                  /* the last block cd_plist_block worked out lazily */
    uint64_t df;                     /* postings in the list (live) */
} cd_plist;

/* Opens the postings of term in space tag over the runs of d (cd_runs_dir, read once per
 * request), each run on its first chunk; df 0 when the term is absent. 0 or -1 (error set). */
int cd_plist_open_term(cd_call *c, MDB_txn *txn, const cd_run_dir *d, cd_plist *l, const char tag[4],
                       const char *term, size_t len);

/* Reads the block maxima of every block of l (nblocks, blocks) from its runs, leaving the runs
 * where they were: for the list that drives an evaluation, which visits its every block.
 * Nothing to do for a materialised list. 0 or -1 (error set). */
int cd_plist_scan_blocks(cd_call *c, cd_plist *l);

/* The number of postings of term in space tag (0 when absent) into *df, without reading them,
 * over the runs of d (cd_runs_dir). 0 or -1 (error set). */
int cd_plist_df(cd_call *c, MDB_txn *txn, const cd_run_dir *d, const char tag[4], const char *term, size_t len,
                uint64_t *df);

/* Opens the union of the postings of every term of space tag that starts with prefix, taking
 * them from *budget (the postings the request may still materialise). 0, or -1 (error set:
 * invalid "q" when the prefix matches too much). */
int cd_plist_open_prefix(cd_call *c, MDB_txn *txn, const cd_run_dir *d, cd_plist *l, const char tag[4],
                         const char *prefix, size_t len, size_t *budget);

/* The first posting with an id >= id at or after the current one, or NULL at the end. */
const unsigned char *cd_plist_seek(cd_plist *l, uint64_t id);

/* The posting after the current one, or NULL at the end. */
const unsigned char *cd_plist_next(cd_plist *l);

/* The block entry of block (calls must ask for non-decreasing blocks), or NULL when the list
 * has no postings in it. Unscanned, the list moves to its first posting at or after the
 * block's first id: later seeks must not go below it. */
const cd_sblock *cd_plist_block(cd_plist *l, uint32_t block);

/* Closes the list's LMDB cursor and frees its memory. */
void cd_plist_close(cd_plist *l);

#endif
