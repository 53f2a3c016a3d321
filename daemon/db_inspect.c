/* db_inspect: claimd adopted whatever it found: another application's LMDB environment got
 * claimd's tables written into it, a 0-byte data.mdb became an empty database (a lost file
 * looked like a fresh start), and a refused file was first grown to the map size. Everything
 * here only reads, from a read-only environment opened with MDB_NOLOCK (no lock.mdb created). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include "bytes.h"
#include "db.h"
#include "db_inspect.h"
#include "log.h"

/* The names claimd's environment holds in LMDB's main table (db.c's tables[]; "idx" until format 4). */
static int is_claimd_table(const MDB_val *k)
{
    static const char *const names[] = {
        "meta", "claims", "claim_revs", "entities", "aliases", "extid", "dedup", "idx", "claim_index",
        "verdicts", "claim_verdicts", "relations", "changes", "search_terms", "search_blocks",
        "search_docs", "search_langs", "match_bands", "ix_revs", "name_keys", NULL
    };
    for (int i = 0; names[i]; i++)
        if (k->mv_size == strlen(names[i]) && !memcmp(k->mv_data, names[i], k->mv_size)) return 1;
    /* search_run00..: the slots of the search postings runs (format 6) */
    const unsigned char *p = k->mv_data;
    return k->mv_size == 12 && !memcmp(p, "search_run", 10) && p[10] >= '0' && p[10] <= '9' &&
           p[11] >= '0' && p[11] <= '9';
}

/* Looks at the main table's names and the meta stamp; 0 when claimd may open it. */
static int inspect_env(MDB_env *env, const char *file)
{
    MDB_txn *txn;
    MDB_dbi main_dbi, meta;
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc) return rc;
    if ((rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) || (rc = mdb_cursor_open(txn, main_dbi, &cur))) {
        mdb_txn_abort(txn);
        return rc;
    }
    char foreign[256] = "";
    size_t nforeign = 0, nnames = 0, used = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        nnames++;
        if (is_claimd_table(&k)) continue;
        if (nforeign++ < 4 && used + k.mv_size + 8 < sizeof foreign) {
            int n = snprintf(foreign + used, sizeof foreign - used, "%s%.*s", used ? ", " : "",
                             (int)(k.mv_size > 40 ? 40 : k.mv_size), (const char *)k.mv_data);
            if (n > 0) used += (size_t)n;
        }
    }
    mdb_cursor_close(cur);
    uint32_t format = 0;
    int stamped = 0;
    if (mdb_dbi_open(txn, "meta", 0, &meta) == 0) {
        MDB_val fk = { 6, (void *)"format" };
        if (mdb_get(txn, meta, &fk, &v) == 0 && v.mv_size == 4) {
            stamped = 1;
            format = cd_get_u32be(v.mv_data);
        }
    }
    mdb_txn_abort(txn);
    if (!stamped && nforeign) {
        cd_error("%s is not a claimd database: no claimd format stamp, and %zu table(s) claimd does not "
                 "know (%s%s); refusing to open it (point --data at a claimd data directory)",
                 file, nforeign, foreign, nforeign > 4 ? ", ..." : "");
        return MDB_INCOMPATIBLE;
    }
    if (!stamped && nnames) {
        /* claimd's tables without the stamp: an open that died before its first commit cannot
         * leave this (tables and stamp commit together), so something else wrote them. */
        cd_error("%s holds claimd's table names but no format stamp; refusing to open it", file);
        return MDB_INCOMPATIBLE;
    }
    if (stamped && format > CD_DB_FORMAT) {
        cd_error("data format version %u is newer than %u, the one this claimd knows; refusing to open",
                 format, CD_DB_FORMAT);
        return MDB_VERSION_MISMATCH;
    }
    return 0;
}

int cd_db_inspect(const char *dir)
{
    char file[4096];
    if ((size_t)snprintf(file, sizeof file, "%s/data.mdb", dir) >= sizeof file) return ENAMETOOLONG;
    struct stat st;
    if (stat(file, &st) < 0) return errno == ENOENT ? 0 : errno;   /* a new database */
    if (!S_ISREG(st.st_mode)) {
        cd_error("%s is not a regular file; refusing to open it", file);
        return EINVAL;
    }
    if (st.st_size == 0) {
        cd_error("%s is empty (0 bytes) where a database was expected: refusing to start on it as a new "
                 "database. If this directory is meant to be new, remove the empty file; if data was "
                 "lost, restore it from a backup (docs/operations.md, \"Damage and recovery\")", file);
        return EINVAL;
    }
    MDB_env *env;
    int rc = mdb_env_create(&env);
    if (rc) return rc;
    mdb_env_set_maxdbs(env, 128);
    rc = mdb_env_open(env, dir, MDB_RDONLY | MDB_NOLOCK | MDB_NOTLS, 0640);
    if (rc) {
        cd_error("%s is not a readable LMDB database (%s); refusing to open it", file, mdb_strerror(rc));
        mdb_env_close(env);
        return rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH ? MDB_INCOMPATIBLE : rc;
    }
    rc = inspect_env(env, file);
    mdb_env_close(env);
    return rc;
}
