/* index_runs: the claim index (index.h) as sorted runs, written in key order and merged in steps.
 *
 * An index pass does not put its entries one by one into a B-tree, where each of a claim's ~16
 * entries lands on another random page. It collects them (the builder), sorts them and writes
 * them as one new run: an emptied slot table ("index_run00".."index_run39") filled with
 * MDB_APPEND, so pages are filled whole and in order. The runs form a family (runs.h): the same
 * directory format, merge policy and slots as the search postings, under meta "ixruns".
 *
 * An entry is the 25-byte logical key kind(1) value(8) said(8) id(8) (index.h). A run holds
 * its entries in key order as *chunks* of at most CD_IXRUN_CHUNK entries of one kind|value:
 *   key   the chunk's first entry (25 bytes)
 *   value mode(1) n(v), then per entry after the first, relative to the entry before it:
 *         mode 0: said delta(v) zigzag(id delta)(v); mode 1 (every entry's said slot holds its
 *         id, as in the CD_IDX_BY_RECORDED kinds): id delta(v).
 * (v: LEB128 varint.) Chunks of a run do not overlap, so the run's entries are the chunks'
 * entries in key order. A removal rewrites the one chunk that holds the entry; a merge step
 * takes whole chunks off the front of its inputs, merges their entries and appends them to its
 * output, putting back what it decoded but did not move as a chunk at its input's front.
 */
#ifndef CD_INDEX_RUNS_H
#define CD_INDEX_RUNS_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include "call.h"
#include "index.h"
#include "runs.h"

#define CD_IXRUN_CHUNK 64                              /* entries in one chunk at most */
#define CD_IXRUN_VALUE_MAX (1 + 10 + (CD_IXRUN_CHUNK - 1) * 20)

/* ---- chunk codec (index_run_codec.c: pure, no LMDB) ---- */

/* Encodes n (1..CD_IXRUN_CHUNK) entries (CD_IDX_KEY bytes each, strictly increasing, one
 * kind|value) as a chunk value into out (room for CD_IXRUN_VALUE_MAX); its key is entries[0].
 * Returns the value's length. */
size_t cd_ixrun_chunk_encode(unsigned char *out, const unsigned char *entries, size_t n);

/* Decodes the chunk k -> v into out (room for CD_IXRUN_CHUNK entries); *n gets their count.
 * 0, or -1 when malformed (wrong key size, bad count, entries not increasing, trailing bytes). */
int cd_ixrun_chunk_decode(const MDB_val *k, const MDB_val *v, unsigned char *out, size_t *n);

/* ---- the builder: a pass's entries held back for its run (index_runs.c) ---- */

typedef struct cd_ixrun_builder cd_ixrun_builder;

/* A new, empty builder (NULL when out of memory); free with cd_ixrun_builder_free. */
cd_ixrun_builder *cd_ixrun_builder_new(void);
void cd_ixrun_builder_free(cd_ixrun_builder *b);

/* Holds back the addition (del 0) or removal (del 1) of entry key; the last one held back for
 * a key wins at the flush. A removal must also be applied to the runs (cd_ixruns_remove). 0, or
 * -1 (error set on c). */
int cd_ixrun_builder_add(cd_call *c, cd_ixrun_builder *b, const unsigned char key[CD_IDX_KEY], int del);

/* Drops everything held back (its txn was aborted). */
void cd_ixrun_builder_clear(cd_ixrun_builder *b);

/* ---- the runs in LMDB (index_runs.c) ---- */

/* Writes the entries b holds back as one new run in txn and empties b (nothing to do when none
 * is held); *written gets their number. Merges first when no slot is free. 0, or -1 with the
 * error set (b is emptied either way). */
int cd_ixruns_flush(cd_call *c, cd_ixrun_builder *b, MDB_txn *txn, uint64_t *written);

/* Positions cur (on a run) on the last chunk whose first entry is <= key, into k, v. 0,
 * MDB_NOTFOUND when every chunk starts after key, or another LMDB code. */
int cd_ixrun_seek_le(MDB_cursor *cur, const unsigned char *key, MDB_val *k, MDB_val *v);

/* Removes entry key from every run of d (the directory as txn sees it) that holds it (an entry
 * is normally in one), and stores d with those runs' counts lowered. 0, or -1 with the error set. */
int cd_ixruns_remove(cd_call *c, MDB_txn *txn, cd_run_dir *d, const unsigned char key[CD_IDX_KEY]);

/* One merge step of the index runs in txn (as cd_runs_merge_step does for the postings): starts
 * a merge when one is due and moves up to budget entries (whole chunks, at least one) of the
 * merge with the fewest entries left. 0, or -1 with the error set. */
int cd_ixruns_merge_step(cd_call *c, MDB_txn *txn, size_t budget, cd_run_step *out);

/* Writes every entry of the old one-table claim_index (format 6 and older, key order) into one
 * run (the format 7 upgrade). *moved gets their number. 0 or an LMDB code. */
int cd_ixruns_from_table(cd_db *db, MDB_txn *txn, MDB_dbi old, uint64_t *moved);

/* ---- reading: one cursor over every run (index_cursor.c) ---- */

typedef struct cd_ixcur cd_ixcur;

/* A cursor over the runs of directory d in txn (d is copied). NULL when out of memory or when
 * a run cannot be opened (*rc gets the LMDB code, or ENOMEM). */
cd_ixcur *cd_ixcur_open(MDB_txn *txn, const cd_db *db, const cd_run_dir *d, int *rc);

/* Moves the cursor and reads the entry it lands on into key: op MDB_SET_RANGE (the first entry
 * >= key), MDB_NEXT, MDB_PREV (from the entry last returned), MDB_FIRST or MDB_LAST. An entry in
 * two runs is returned once. 0, MDB_NOTFOUND at either end, MDB_CORRUPTED for a chunk that does
 * not decode, or another LMDB code. */
int cd_ixcur_get(cd_ixcur *cur, unsigned char key[CD_IDX_KEY], MDB_cursor_op op);

void cd_ixcur_close(cd_ixcur *cur);

#endif
