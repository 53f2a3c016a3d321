/* db: the LMDB environment, its named databases, format version and id counters.
 *
 * Storage layout (all integers big-endian so that key order is numeric order):
 *   meta          "format" -> u32 version (the last change seq is the last key of changes)
 *                 "zdict" id(1) -> family(1) dictionary crc(4): record dictionaries (zrec.h)
 *                 "indexed" -> u64 seq: the derived tables below reflect every change up to it
 *                 "replica_of", "replica_primary_seq": a read replica's mark (replica_apply.h)
 *   ix_revs       claim id(8) -> rev(4): the revision claim_index/search entries were made from
 *   claims        id(8) -> current claim record (see record.h)
 *   claim_revs    id(8) rev(4) -> {op, at, by, record} for every superseded revision; the
 *                 current one is {op, at, by, nil}: its record is the one in claims
 *   entities      id(8) -> entity record
 *   aliases       name key -> entity id(8)   (names and aliases, cd_text_name_key)
 *   name_keys     'L' Latin key | 'S' sound key -> entity id(8), MDB_DUPSORT (entity_keys.h)
 *   extid         external_id -> claim id(8)
 *   dedup         speaker(8) hash(8) -> claim id(8)  (MDB_DUPSORT: rare hash collisions)
 *   index_run00..39 the claim secondary indexes as sorted runs (index.h, index_runs.h), their
 *                 directory in meta "ixruns"
 *   claim_index   empty since format 7 (format 4-6: the claim index, kind(1) value(8) -> said(8)
 *                 id(8) MDB_DUPSORT|MDB_DUPFIXED; format 3 and older: table idx, 25-byte keys)
 *   search_run00..39 the search postings as sorted runs (search_runs.h), directory meta "runs"
 *   verdicts      id(8) -> verdict record
 *   claim_verdicts claim(8) verdict(8) -> ""
 *   relations     claim(8) dir(1) kind(1) other(8) -> {note, by, at}; stored under both claims
 *   changes       seq(8) -> change record {at, op, type, id}
 *   search_terms, search_blocks, search_docs, search_langs: the full-text index (search.h)
 *   match_bands   unused since claim.match reads the search postings (match.h); emptied on open
 * claim_index and search_* are derived: the index pass (ixpass.h) writes them after the
 * claim writes commit. Format 2 added ix_revs and "indexed" (format 1 is upgraded on open).
 * Format 3 re-keyed aliases (punctuation folded), added name_keys and changed search terms
 * (accents folded before stemming, hunspell stems): format 2 is upgraded on open.
 * Format 4 moved idx to claim_index (16-byte duplicates under 9-byte keys: half the bytes) and
 * stores the current revision's record once (claims): format 3 is upgraded on open (stubbing
 * each newest revision, dropping idx and rebuilding the derived tables).
 * Format 5 ends every value of the record tables (claims, claim_revs, entities, verdicts,
 * changes, relations) with a CRC-32C of the record (checksum.h, record.c); format 4 is upgraded
 * on open by appending it to every value.
 * Format 6 keeps the search postings in sorted runs (search_runs.h), rebuilt on upgrade.
 * Format 7 keeps the claim index in sorted runs (index_runs.h): format 6's claim_index is
 * written into one run on open.
 * Format 8 packs claim records (claims, and the bodies claim_revs archives) and search forward
 * records with zstd dictionaries trained on the records themselves, kept in meta "zdict"
 * (zrec.h). Plain records stay valid, so format 7 opens as it is.
 *
 * Format version bump procedure: any change to a key layout or record encoding that an older
 * daemon would misread increments CD_DB_FORMAT here, documents the change in docs/data-model.md,
 * and (when data can be carried over) adds an upgrade step in db.c's open path.
 */
#ifndef CD_DB_H
#define CD_DB_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#define CD_DB_FORMAT 8
#define CD_DB_RUN_SLOTS 40               /* tables one family of runs lives in (runs.h) */
#define CD_DB_GROW_MIN ((size_t)32 << 20)   /* smallest map growth step */
#define CD_DB_GROW_MAX ((size_t)512 << 20)  /* largest: what the file holds beyond the data */
#define CD_DB_GROW_TRIES 8                  /* the most growths a write batch or an index pass asks for */

typedef enum {
    CD_DBI_META = 0, CD_DBI_CLAIMS, CD_DBI_CLAIM_REVS, CD_DBI_ENTITIES, CD_DBI_ALIASES,
    CD_DBI_EXTID, CD_DBI_DEDUP, CD_DBI_IDX, CD_DBI_VERDICTS, CD_DBI_CLAIM_VERDICTS,
    CD_DBI_RELATIONS, CD_DBI_CHANGES,
    CD_DBI_SEARCH_TERMS, CD_DBI_SEARCH_BLOCKS, CD_DBI_SEARCH_DOCS, CD_DBI_SEARCH_LANGS,
    CD_DBI_MATCH_BANDS, CD_DBI_IX_REVS, CD_DBI_NAME_KEYS, CD_DBI_COUNT
} cd_dbi_id;

typedef struct {
    MDB_env *env;
    MDB_dbi dbi[CD_DBI_COUNT];
    MDB_dbi run_slots[CD_DB_RUN_SLOTS];  /* "search_run00"..: search postings runs */
    MDB_dbi ixrun_slots[CD_DB_RUN_SLOTS]; /* "index_run00"..: claim index runs (index_runs.h) */
    size_t map_size;
    int writemap;           /* opened with MDB_WRITEMAP, the map's file range fully allocated */
    MDB_txn *read_txn;      /* the loop thread's reusable read txn (reset between requests) */
    int lock_fd;            /* dirlock.h: held from before the environment opens until close */
    int locked;             /* lock_fd is ours */
} cd_db;

/* Takes the directory lock (dirlock.h), refuses what is not a claimd database (db_inspect.h),
 * opens (creating if needed) the environment in dir, checks the format version, opens every
 * named database. Returns 0 or an LMDB/errno code after logging why. */
int cd_db_open(cd_db *db, const char *dir, size_t map_size);

/* The LMDB name and flags of table t (for tools that open the tables themselves: check.h). */
const char *cd_db_table_name(cd_dbi_id t);
unsigned cd_db_table_flags(cd_dbi_id t);

/* Closes the environment; no transaction may be active. */
void cd_db_close(cd_db *db);

/* Starts (renews) the loop thread's read txn; pair with cd_db_read_end. NULL on failure. */
MDB_txn *cd_db_read_begin(cd_db *db);

/* Releases the read snapshot taken by cd_db_read_begin, keeping the handle for reuse. */
void cd_db_read_end(cd_db *db);

/* The next id for a table keyed by id(8): last key + 1, or 1 when empty. */
uint64_t cd_db_next_id(MDB_txn *txn, MDB_dbi dbi);

/* Grows the map by a quarter (at least CD_DB_GROW_MIN, at most CD_DB_GROW_MAX, and to want bytes; less, down to 1 MiB,
 * when the disk is nearly full), allocating the new range on disk first when the map is
 * written in place; the caller guarantees no txn of this
 * process is active. Returns 0, an errno (ENOSPC: the disk is full) or an LMDB code. */
int cd_db_grow(cd_db *db, size_t want);

/* Clears reader slots left by dead processes; returns how many were cleared. */
int cd_db_reader_check(cd_db *db);

#endif
