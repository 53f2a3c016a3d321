/* run_store: a family's run directory and slots in LMDB, and the start of its merges (runs.h). */
#include <stdint.h>
#include <string.h>
#include "runs.h"

cd_run_family cd_run_family_search(const cd_db *db)
{
    return (cd_run_family){ "search", { 4, (void *)"runs" }, db->run_slots, db->dbi[CD_DBI_META] };
}

cd_run_family cd_run_family_index(const cd_db *db)
{
    return (cd_run_family){ "index", { 6, (void *)"ixruns" }, db->ixrun_slots, db->dbi[CD_DBI_META] };
}

int cd_run_dir_load(cd_call *c, MDB_txn *txn, const cd_run_family *f, cd_run_dir *d)
{
    MDB_val k = f->dir_key, v;
    int rc = mdb_get(txn, f->meta, &k, &v);
    if (rc == MDB_NOTFOUND) { memset(d, 0, sizeof *d); return 0; }
    if (rc) return cd_fail_mdb(c, rc, "reading the runs' directory");
    if (cd_run_dir_decode(v.mv_data, v.mv_size, d))
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "the directory of %s runs is damaged", f->what);
    return 0;
}

int cd_run_dir_put(MDB_txn *txn, const cd_run_family *f, const cd_run_dir *d)
{
    unsigned char buf[2 + 10 * CD_RUN_SLOTS];
    MDB_val k = f->dir_key, v = { cd_run_dir_encode(d, buf), buf };
    return mdb_put(txn, f->meta, &k, &v, 0);
}

int cd_run_dir_store(cd_call *c, MDB_txn *txn, const cd_run_family *f, const cd_run_dir *d)
{
    int rc = cd_run_dir_put(txn, f, d);
    return rc ? cd_fail_mdb(c, rc, "recording the runs' directory") : 0;
}

/* Emptied because a crash cannot leave entries in a slot no run owns (a run and its directory
 * entry commit together): this is for a damaged directory's leftovers. */
int cd_run_take_slot(cd_call *c, MDB_txn *txn, const cd_run_family *f, const cd_run_dir *d, int *slot)
{
    *slot = cd_run_free_slot(d);
    if (*slot < 0) return 0;
    MDB_stat st;
    MDB_dbi dbi = f->slots[*slot];
    int rc = mdb_stat(txn, dbi, &st);
    if (!rc && st.ms_entries) rc = mdb_drop(txn, dbi, 0);
    return rc ? cd_fail_mdb(c, rc, "preparing a run") : 0;
}

/* Makes the n runs of d at pick the inputs of a new merge with an output in a free slot (none
 * when no job number or slot is free). 0, or -1 with the error set. */
static int start_job(cd_call *c, MDB_txn *txn, const cd_run_family *f, cd_run_dir *d, const size_t *pick, size_t n,
                     int *started)
{
    int slot;
    *started = 0;
    if (!n) return 0;
    uint8_t job = 1;                     /* the lowest number no merge under way has */
    for (int busy = 1; busy && job <= CD_RUN_JOBS;) {
        busy = 0;
        for (size_t i = 0; i < d->n; i++)
            if (d->run[i].job == job) { busy = 1; job++; break; }
    }
    if (job > CD_RUN_JOBS) return 0;
    if (cd_run_take_slot(c, txn, f, d, &slot)) return -1;
    if (slot < 0) return 0;                     /* full: the merges under way free slots */
    for (size_t i = 0; i < n; i++) {
        d->run[pick[i]].role = CD_RUN_INPUT;
        d->run[pick[i]].job = job;
    }
    d->run[d->n++] = (cd_run_info){ (uint8_t)slot, CD_RUN_OUTPUT, job, 0 };
    *started = 1;
    return 0;
}

int cd_run_merge_start(cd_call *c, MDB_txn *txn, const cd_run_family *f, cd_run_dir *d)
{
    size_t pick[CD_RUN_SLOTS], n = cd_run_pick(d, pick);
    int started;
    return start_job(c, txn, f, d, pick, n, &started);
}

int cd_run_rest_start(cd_call *c, MDB_txn *txn, const cd_run_family *f, int *started)
{
    cd_run_dir d;
    size_t pick[CD_RUN_SLOTS];
    *started = 0;
    if (cd_run_dir_load(c, txn, f, &d) || start_job(c, txn, f, &d, pick, cd_run_pick_rest(&d, pick), started))
        return -1;
    return *started ? cd_run_dir_store(c, txn, f, &d) : 0;
}

int cd_run_job_members(cd_call *c, const cd_run_family *f, const cd_run_dir *d, uint8_t job, size_t in[CD_RUN_SLOTS],
                       size_t *nin, size_t *out)
{
    *nin = 0;
    *out = d->n;
    for (size_t i = 0; i < d->n; i++) {
        if (d->run[i].job != job) continue;
        if (d->run[i].role == CD_RUN_OUTPUT) *out = i;
        else in[(*nin)++] = i;
    }
    if (*out == d->n) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "a %s run merge lost its output", f->what);
    return 0;
}

int cd_run_slot_for_flush(cd_call *c, MDB_txn *txn, const cd_run_family *f, cd_run_step_fn step, cd_run_dir *d,
                          int *slot)
{
    if (cd_run_dir_load(c, txn, f, d) || cd_run_take_slot(c, txn, f, d, slot)) return -1;
    /* No free slot: merges have not kept up. Merge in this txn until one is free. */
    cd_run_step st = { 1, 0, 0 };
    while (*slot < 0 && st.more) {
        if (step(c, txn, SIZE_MAX, &st) || cd_run_dir_load(c, txn, f, d) || cd_run_take_slot(c, txn, f, d, slot))
            return -1;
    }
    return *slot < 0 ? cd_fail(c, CLAIMD_E_INTERNAL, NULL, "no free slot for a %s run", f->what) : 0;
}
