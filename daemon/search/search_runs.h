/* search_runs: the search postings as sorted runs, written in key order and merged in steps.
 *
 * An index pass does not put its postings one by one into a B-tree. It collects them (the run
 * builder), sorts them by (space|term, claim id) and writes them as one new *run*: an empty
 * LMDB table (a *slot*, "search_run00".."search_run39") filled with MDB_APPEND, so pages are
 * filled whole, in order, and touched once. A merge combines the runs of one size class into
 * one bigger run, a few terms at a time (a *step*, one txn), taking each term's entries off the
 * front of its inputs as it appends them to the output. At every commit each posting is in
 * exactly one run, so a reader reads every run in the directory and never sees a posting twice
 * or misses one, whatever a merge or a crash left half done.
 *
 * A run's entries (integers big-endian; v = LEB128 varint):
 *   key   space(3) term 0x00 first_id(8): a *chunk* of at most CD_RUN_CHUNK postings of the term,
 *         ids increasing, first_id the smallest
 *   value flags(1: bit 0 = the term's first chunk in this run, which carries its df)
 *         [df(v)] n(v) span(v) maxtf(1) minnorm(1), then per posting after the first:
 *         id delta(v) and for every posting tf|flags(1) norm(1) (search.h's posting fields).
 *         span = last id - first_id; maxtf/minnorm bound BM25 over the chunk (block-max).
 * The directory (meta "runs"): version(1) count(1), then per run slot(1) role(1) postings(8):
 * role's low two bits 0 a run, 1 an input of a merge under way, 2 its output, and bits 2-4 that
 * merge's number (1..CD_RUN_JOBS). Several merges may be under way: a big merge takes many
 * steps, and the small runs that passes make meanwhile are merged in between (the step goes to
 * the merge with the fewest postings left), so they never pile up behind it.
 */
#ifndef CD_SEARCH_RUNS_H
#define CD_SEARCH_RUNS_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include "db.h"
#include "runs.h"
#include "search.h"

#define CD_RUN_CHUNK 128             /* postings in one chunk at most */
#define CD_RUN_KEY_MAX (CD_SEARCH_TERM_KEY + 1 + 8)
#define CD_RUN_VALUE_MAX (1 + 10 + 10 + 10 + 2 + CD_RUN_CHUNK * (10 + 2))

/* ---- chunk codec (search_run_codec.c: pure, no LMDB) ---- */

typedef struct {
    int first;                       /* the term's first chunk in its run: df is meaningful */
    uint64_t df, first_id, last_id;
    uint32_t n;
    uint8_t maxtf, minnorm;
} cd_run_head;

/* Builds a chunk key from a space|term key (tkey, tlen) and the chunk's first id; returns its length. */
size_t cd_run_key(unsigned char *out, const unsigned char *tkey, size_t tlen, uint64_t first_id);

/* The space|term part of a chunk key (its length into *tlen). 0, or -1 when k is no chunk key. */
int cd_run_key_term(const MDB_val *k, size_t *tlen);

/* Encodes n (1..CD_RUN_CHUNK) postings (search.h format, ids increasing) into out (room for
 * CD_RUN_VALUE_MAX); first says whether df is stored. Returns the value's length. */
size_t cd_run_chunk_encode(unsigned char *out, const unsigned char *postings, size_t n, int first, uint64_t df);

/* Reads a chunk's header (k its key, v its value). 0, or -1 when malformed. */
int cd_run_chunk_head(const MDB_val *k, const MDB_val *v, cd_run_head *h);

/* Decodes a chunk's postings into out (room for CD_RUN_CHUNK postings) in search.h's 10-byte
 * format; *n gets their count. 0, or -1 when malformed. */
int cd_run_chunk_decode(const MDB_val *k, const MDB_val *v, unsigned char *out, size_t *n);

/* ---- the runs in LMDB (search_runs.c) ---- */

typedef struct cd_run_builder cd_run_builder;

/* A new, empty builder (NULL when out of memory); free with cd_run_builder_free. */
cd_run_builder *cd_run_builder_new(void);
void cd_run_builder_free(cd_run_builder *b);

/* Holds back one posting of space|term key tkey for the next run. 0, or -1 (error set on c). */
int cd_run_builder_add(cd_call *c, cd_run_builder *b, const unsigned char *tkey, size_t tlen,
                       const unsigned char posting[CD_SEARCH_POSTING]);

/* Drops every held-back posting (their txn was aborted). */
void cd_run_builder_clear(cd_run_builder *b);

/* Writes the held-back postings as one new run in txn and empties b (nothing to do when it is
 * empty); *written gets their number. Runs merges first when no slot is free. 0, or -1 with
 * the error set. */
int cd_runs_flush(cd_call *c, cd_run_builder *b, MDB_txn *txn, uint64_t *written);

/* The directory as txn sees it (empty when there is none). 0, or -1 with the error set. */
int cd_runs_dir(cd_call *c, MDB_txn *txn, cd_run_dir *d);

/* Removes posting id of space|term tkey from whichever run holds it (nothing when none does),
 * keeping the chunk's header and the term's df exact. 0, or -1 with the error set. */
int cd_runs_remove(cd_call *c, MDB_txn *txn, const unsigned char *tkey, size_t tlen, uint64_t id);

/* Positions cur (on a run) on the first chunk of term tkey whose last id is >= id (the chunk
 * that holds id, if any does); *found 0 when the term has none. 0 or an LMDB code. */
int cd_runs_seek_chunk(MDB_cursor *cur, const unsigned char *tkey, size_t tlen, uint64_t id, MDB_val *k,
                       MDB_val *v, int *found);

/* The postings of space|term tkey over every run of d into *df. 0, or -1 with the error set. */
int cd_runs_df(cd_call *c, MDB_txn *txn, const cd_run_dir *d, const unsigned char *tkey, size_t tlen,
               uint64_t *df);

/* One merge step in txn: starts a merge when one is due, moves up to budget postings (whole
 * terms, at least one) from the inputs of the merge with the fewest postings left to its
 * output, and ends that merge when its inputs are empty. 0, or -1 with the error set. */
int cd_runs_merge_step(cd_call *c, MDB_txn *txn, size_t budget, cd_run_step *out);

#endif
