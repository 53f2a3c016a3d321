/* wbuf: index entries a write call adds, held back and written in key order.
 *
 * A claim adds some 20 entries to the claim_index, ix_revs and other tables at random places.
 * Written as they come, each put descends its B-tree from the root; sorted and written through one
 * cursor per table, consecutive puts mostly land on the leaf the cursor is already on, which LMDB
 * checks first. The writer thread owns one buffer (cd_server.wbuf); it is flushed before its txn
 * commits (run_span in writer.c), before any index entry is removed and before the writer reads
 * an index (cd_index_collect), so no read misses a held-back entry.
 */
#ifndef CD_WBUF_H
#define CD_WBUF_H

#include <lmdb.h>
#include <stddef.h>
#include "call.h"

typedef struct cd_wbuf cd_wbuf;

/* A new, empty buffer, or NULL when out of memory. */
cd_wbuf *cd_wbuf_new(void);

/* Frees b and what it holds. */
void cd_wbuf_free(cd_wbuf *b);

/* Holds back a put of key -> val (both at most 255 bytes) into table dbi, written with flags.
 * 0, or -1 with the error set on c (out of memory). */
int cd_wbuf_put(cd_call *c, cd_wbuf *b, MDB_dbi dbi, const void *key, size_t klen, const void *val,
                size_t vlen, unsigned flags);

/* Writes every held-back entry in (table, key, value) order and empties b. An MDB_KEYEXIST from
 * a plain put counts as done. 0, or -1 with the error set on c; b is emptied either way. */
int cd_wbuf_flush(cd_call *c, cd_wbuf *b, MDB_txn *txn);

/* Drops every held-back entry (their txn was aborted). */
void cd_wbuf_clear(cd_wbuf *b);

#endif
