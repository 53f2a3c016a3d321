/* runs: what the two kinds of sorted runs (search postings, search_runs.h; claim index entries,
 * index_runs.h) share: the directory of runs in meta, the merge policy and the LMDB side of
 * starting a merge and choosing the next step.
 *
 * A *family* of runs is a set of CD_RUN_SLOTS LMDB tables (slots) and one directory value in
 * meta. Each run lives in one slot and is written in key order (MDB_APPEND into an emptied
 * slot); merges combine runs of one size class a step (one txn) at a time. At every commit an
 * entry is in exactly one run of its family, so a reader reads every run of the directory. The
 * directory (meta key): version(1) count(1), then per run slot(1) role(1) entries(8): role's low
 * two bits 0 a run, 1 an input of a merge under way, 2 its output, and bits 2-4 that merge's
 * number (1..CD_RUN_JOBS). ("postings" below counts a family's entries: postings, or index
 * entries.)
 */
#ifndef CD_RUNS_H
#define CD_RUNS_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include "call.h"
#include "db.h"

#define CD_RUN_SLOTS CD_DB_RUN_SLOTS /* tables a run can live in */
#define CD_RUN_FANIN 4               /* runs of one size class merged together */
#define CD_RUN_BASE 32768            /* entries of the smallest size class */
#define CD_RUN_STEP_POSTINGS 131072  /* entries one merge step moves (at least one term or chunk) */
#define CD_RUN_JOBS 4                /* merges under way at once at most */
#define CD_RUN_REST_SHARE 8          /* at rest, all runs merge into one once the smaller ones
                                        hold 1/CD_RUN_REST_SHARE of the largest's entries */

enum { CD_RUN_LIVE = 0, CD_RUN_INPUT = 1, CD_RUN_OUTPUT = 2 };

typedef struct {
    uint8_t slot, role, job;         /* job: the merge (1..CD_RUN_JOBS) an input/output is in */
    uint64_t postings;               /* entries in the run */
} cd_run_info;

typedef struct {
    size_t n;
    cd_run_info run[CD_RUN_SLOTS];
} cd_run_dir;

/* ---- directory and merge policy (run_policy.c: pure) ---- */

/* Size class of a run of p postings: 0 below CD_RUN_BASE, then one per factor CD_RUN_FANIN. */
int cd_run_class(uint64_t postings);

/* Picks the runs to merge next (while fewer than CD_RUN_JOBS merges are under way):
 * CD_RUN_FANIN live runs of the smallest class that has that many (or, when too many runs are
 * live, the smallest ones). Writes their indexes in d into pick and returns how many (0:
 * nothing to merge). */
size_t cd_run_pick(const cd_run_dir *d, size_t pick[CD_RUN_SLOTS]);

/* Picks the merge that leaves a reader fewest runs while the writer is at rest (no merge under
 * way, no write for a while): every live run once the ones besides the largest hold at least
 * 1/CD_RUN_REST_SHARE of its entries, else every live run but the largest when there are three
 * or more, so a reader at rest consults at most two runs and a trickle of small passes costs
 * only their own rewriting. Writes indexes into pick and returns how many (0: nothing). */
size_t cd_run_pick_rest(const cd_run_dir *d, size_t pick[CD_RUN_SLOTS]);

/* A slot no run of d uses, or -1. */
int cd_run_free_slot(const cd_run_dir *d);

/* Serialises d (room for 2 + 10 * CD_RUN_SLOTS bytes); returns the length. */
size_t cd_run_dir_encode(const cd_run_dir *d, unsigned char *out);

/* Parses a directory value. 0, or -1 when malformed (slots out of range or repeated). */
int cd_run_dir_decode(const unsigned char *p, size_t n, cd_run_dir *d);

/* Whether a merge is under way or due. */
int cd_runs_merge_due(const cd_run_dir *d);

/* Drops entry i of d (the entries after it move up). */
void cd_run_dir_remove(cd_run_dir *d, size_t i);

/* The merge under way with the fewest input entries left (0: none): small merges finish
 * first, so the runs passes keep making are merged while a big merge goes on. */
uint8_t cd_run_next_job(const cd_run_dir *d);

/* ---- a family's directory and slots in LMDB (run_store.c) ---- */

typedef struct {
    int more;                        /* merge work remains: 1, or 2 when the directory is over half full */
    int finished;                    /* this step ended a merge */
    uint64_t moved;                  /* entries it moved */
} cd_run_step;

/* A family's merge step (cd_runs_merge_step, cd_ixruns_merge_step): moves up to budget entries. */
typedef int (*cd_run_step_fn)(cd_call *c, MDB_txn *txn, size_t budget, cd_run_step *out);

typedef struct {
    const char *what;                /* "search" or "index": for messages */
    MDB_val dir_key;                 /* its directory's key in meta */
    const MDB_dbi *slots;            /* its CD_RUN_SLOTS tables */
    MDB_dbi meta;
} cd_run_family;

/* The family of search postings runs / of claim index runs of srv's database. */
cd_run_family cd_run_family_search(const cd_db *db);
cd_run_family cd_run_family_index(const cd_db *db);

/* The directory of f as txn sees it (empty when there is none). 0, or -1 with the error set. */
int cd_run_dir_load(cd_call *c, MDB_txn *txn, const cd_run_family *f, cd_run_dir *d);

/* Stores d as f's directory. 0, or -1 with the error set. */
int cd_run_dir_store(cd_call *c, MDB_txn *txn, const cd_run_family *f, const cd_run_dir *d);

/* The same without a call (the format upgrade): 0 or an LMDB code. */
int cd_run_dir_put(MDB_txn *txn, const cd_run_family *f, const cd_run_dir *d);

/* A free slot of f for a new run, emptied, into *slot (-1: none is free). 0, or -1 with the
 * error set. */
int cd_run_take_slot(cd_call *c, MDB_txn *txn, const cd_run_family *f, const cd_run_dir *d, int *slot);

/* The directory of f into d and a free, emptied slot for a run a flush writes into *slot; when
 * none is free (merges have not kept up), merges with step in txn until one is. 0, or -1 with
 * the error set. */
int cd_run_slot_for_flush(cd_call *c, MDB_txn *txn, const cd_run_family *f, cd_run_step_fn step, cd_run_dir *d,
                          int *slot);

/* Starts the merge the policy picks for d, if any (and if a job number and a slot are free):
 * marks its inputs and adds its output to d (the caller stores d). 0, or -1 with the error set. */
int cd_run_merge_start(cd_call *c, MDB_txn *txn, const cd_run_family *f, cd_run_dir *d);

/* Starts the merge cd_run_pick_rest picks for f's directory in txn and stores the directory;
 * *started is 1 when it did (the merge steps then carry it out). 0, or -1 with the error set. */
int cd_run_rest_start(cd_call *c, MDB_txn *txn, const cd_run_family *f, int *started);

/* The inputs (indexes into d, into in[], *nin of them) and the output (*out) of merge job. 0,
 * or -1 with the error set when the merge has no output. */
int cd_run_job_members(cd_call *c, const cd_run_family *f, const cd_run_dir *d, uint8_t job, size_t in[CD_RUN_SLOTS],
                       size_t *nin, size_t *out);

/* Ends merge job in d: its output becomes a live run and its inputs leave the directory. */
void cd_run_job_finish(cd_run_dir *d, uint8_t job, size_t out);

/* What is left for d after a step: 0 nothing, 1 more merge work, 2 more and the directory is
 * over half full (merges must not wait). */
int cd_run_more(const cd_run_dir *d);

#endif
