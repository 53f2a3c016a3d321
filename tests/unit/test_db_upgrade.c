/* Unit test for daemon/db.c's upgrade of format 1 (indexes written in each write's txn) to
 * format 2 (the index pass): meta "indexed" must become the last change seq, and ix_revs must
 * name each claim's last revision, so the pass neither redoes nor misses anything. */
#include "tap.h"
#include "bytes.h"
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kn, const void *v, size_t vn)
{
    MDB_val key = { kn, (void *)k }, val = { vn, (void *)v };
    return mdb_put(txn, dbi, &key, &val, 0);
}

/* A claim_revs key id|rev and a change seq key. */
static void rev_key(unsigned char k[12], uint64_t id, uint32_t rev) { cd_put_u64be(k, id); cd_put_u32be(k + 8, rev); }

static uint32_t ix_rev(cd_db *db, MDB_txn *txn, uint64_t id)
{
    unsigned char k[8];
    cd_put_u64be(k, id);
    MDB_val key = { 8, k }, v;
    if (mdb_get(txn, db->dbi[CD_DBI_IX_REVS], &key, &v) || v.mv_size != 4) return 0;
    return cd_get_u32be(v.mv_data);
}

int main(void)
{
    char dir[] = "/tmp/claimd-upgrade-XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    cd_db db;
    ok(cd_db_open(&db, dir, 1 << 20) == 0, "a new environment opens (format %d)", CD_DB_FORMAT);

    /* Make it look like format 1: revisions 1-3 of claim 1, 1 of claim 2, 1-2 of claim 7,
     * five changes, no ix_revs and no "indexed". */
    MDB_txn *txn;
    mdb_txn_begin(db.env, NULL, 0, &txn);
    unsigned char k[12], fmt[4], seq[8];
    static const struct { uint64_t id; uint32_t rev; } revs[] = { { 1, 1 }, { 1, 2 }, { 1, 3 }, { 2, 1 }, { 7, 1 }, { 7, 2 } };
    int rc = 0;
    for (size_t i = 0; i < sizeof revs / sizeof revs[0]; i++) {
        rev_key(k, revs[i].id, revs[i].rev);
        rc |= put(txn, db.dbi[CD_DBI_CLAIM_REVS], k, 12, "x", 1);
    }
    for (uint64_t s = 1; s <= 5; s++) {
        cd_put_u64be(seq, s);
        rc |= put(txn, db.dbi[CD_DBI_CHANGES], seq, 8, "x", 1);
    }
    cd_put_u32be(fmt, 1);
    rc |= put(txn, db.dbi[CD_DBI_META], "format", 6, fmt, 4);
    MDB_val ik = { 7, (void *)"indexed" };
    mdb_del(txn, db.dbi[CD_DBI_META], &ik, NULL);
    rc |= mdb_txn_commit(txn);
    ok(rc == 0, "format 1 data written");
    cd_db_close(&db);

    ok(cd_db_open(&db, dir, 1 << 20) == 0, "format 1 data opens");
    mdb_txn_begin(db.env, NULL, MDB_RDONLY, &txn);
    MDB_val v;
    MDB_val fk = { 6, (void *)"format" };
    ok(mdb_get(txn, db.dbi[CD_DBI_META], &fk, &v) == 0 && v.mv_size == 4 && cd_get_u32be(v.mv_data) == CD_DB_FORMAT,
       "its format is now %d", CD_DB_FORMAT);
    ok(mdb_get(txn, db.dbi[CD_DBI_META], &ik, &v) == 0 && v.mv_size == 8 && cd_get_u64be(v.mv_data) == 5,
       "indexed is the last change seq (5)");
    is_int(ix_rev(&db, txn, 1), 3, "ix_revs: claim 1 at its last revision");
    is_int(ix_rev(&db, txn, 2), 1, "ix_revs: claim 2 at its only revision");
    is_int(ix_rev(&db, txn, 7), 2, "ix_revs: claim 7, the last claim, at its last revision");
    is_int(ix_rev(&db, txn, 3), 0, "ix_revs: nothing for a claim that does not exist");
    MDB_stat st;
    mdb_stat(txn, db.dbi[CD_DBI_IX_REVS], &st);
    is_int((long long)st.ms_entries, 3, "ix_revs has one entry per claim");
    mdb_txn_abort(txn);
    cd_db_close(&db);

    ok(cd_db_open(&db, dir, 1 << 20) == 0, "format %d data opens again without upgrading", CD_DB_FORMAT);
    cd_db_close(&db);

    /* A compacted copy (what `backup` makes) of format 1 data bigger than the map it is opened
     * with: LMDB maps exactly the data, with no free page, and the upgrade needs new ones. */
    char big[] = "/tmp/claimd-upgrade-big-XXXXXX", copy[] = "/tmp/claimd-upgrade-copy-XXXXXX";
    ok(mkdtemp(big) && mkdtemp(copy), "two more directories");
    ok(cd_db_open(&db, big, 1 << 20) == 0, "a second environment opens");
    rc = 0;
    char body[200];
    memset(body, 'x', sizeof body);
    for (uint64_t id = 1; id <= 20000 && !rc; id += 1000) {    /* ~4 MB of revisions */
        rc = mdb_txn_begin(db.env, NULL, 0, &txn);
        for (uint64_t i = id; i < id + 1000 && !rc; i++) {
            rev_key(k, i, 1);
            rc = put(txn, db.dbi[CD_DBI_CLAIM_REVS], k, 12, body, sizeof body);
        }
        if (!rc) {
            cd_put_u64be(seq, id);
            rc = put(txn, db.dbi[CD_DBI_CHANGES], seq, 8, "x", 1);
        }
        if (rc == MDB_MAP_FULL) { mdb_txn_abort(txn); rc = cd_db_grow(&db, 0); continue; }
        rc = rc ? (mdb_txn_abort(txn), rc) : mdb_txn_commit(txn);
    }
    mdb_txn_begin(db.env, NULL, 0, &txn);
    rc |= put(txn, db.dbi[CD_DBI_META], "format", 6, fmt, 4);
    mdb_del(txn, db.dbi[CD_DBI_META], &ik, NULL);
    rc |= mdb_txn_commit(txn);
    rc |= mdb_env_copy2(db.env, copy, MDB_CP_COMPACT);
    ok(rc == 0, "format 1 data of 20,000 revisions copied compacted");
    cd_db_close(&db);
    if (ok(cd_db_open(&db, copy, 1 << 20) == 0, "the copy opens with a 1 MiB map and is upgraded")) {
        mdb_txn_begin(db.env, NULL, MDB_RDONLY, &txn);
        is_int(ix_rev(&db, txn, 20000), 1, "ix_revs holds its last claim");
        mdb_txn_abort(txn);
        cd_db_close(&db);
    }

    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s %s", dir, big, copy);
    if (system(cmd) != 0) diag("could not remove %s", dir);
    return done_testing();
}
