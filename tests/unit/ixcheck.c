/* ixcheck: a test tool for the derived tables (tests/py/ix_rebuild.t), run on a stopped daemon's
 * data directory.
 *   ixcheck dump DIR    prints every entry of the derived tables (claim_index, search_*,
 *                       ix_revs) as "table hex(key) hex(value)" lines, in table order
 *   ixcheck reset DIR   empties them and sets meta "indexed" to 0, so the next daemon start
 *                       rebuilds them from the change log: an index made from scratch
 * Two directories whose dumps are equal have the same derived index, byte for byte. */
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

static const char *const derived[] = { "claim_index", "search_terms", "search_blocks", "search_docs",
                                       "search_langs", "ix_revs", NULL };

static void hex(const MDB_val *v)
{
    const unsigned char *p = v->mv_data;
    for (size_t i = 0; i < v->mv_size; i++) printf("%02x", p[i]);
}

static int dump(MDB_env *env)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    for (int t = 0; !rc && derived[t]; t++) {
        MDB_dbi dbi;
        MDB_cursor *cur;
        MDB_val k, v;
        if ((rc = mdb_dbi_open(txn, derived[t], 0, &dbi)) == MDB_NOTFOUND) { rc = 0; continue; }
        if (rc || (rc = mdb_cursor_open(txn, dbi, &cur))) break;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            printf("%s ", derived[t]);
            hex(&k);
            putchar(' ');
            hex(&v);
            putchar('\n');
        }
        mdb_cursor_close(cur);
        if (rc == MDB_NOTFOUND) rc = 0;
    }
    mdb_txn_abort(txn);
    return rc;
}

static int reset(MDB_env *env)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(env, NULL, 0, &txn);
    if (rc) return rc;
    for (int t = 0; !rc && derived[t]; t++) {
        MDB_dbi dbi;
        if ((rc = mdb_dbi_open(txn, derived[t], 0, &dbi)) == MDB_NOTFOUND) { rc = 0; continue; }
        if (!rc) rc = mdb_drop(txn, dbi, 0);
    }
    MDB_dbi meta;
    unsigned char zero[8] = { 0 };
    MDB_val k = { 7, (void *)"indexed" }, v = { 8, zero };
    if (!rc) rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (!rc) rc = mdb_put(txn, meta, &k, &v, 0);
    if (rc) { mdb_txn_abort(txn); return rc; }
    return mdb_txn_commit(txn);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "dump") && strcmp(argv[1], "reset"))) {
        fprintf(stderr, "usage: ixcheck dump|reset DATA_DIR\n");
        return 2;
    }
    MDB_env *env;
    int rc = mdb_env_create(&env);
    if (!rc) rc = mdb_env_set_maxdbs(env, 32);
    if (!rc) rc = mdb_env_open(env, argv[2], strcmp(argv[1], "dump") ? 0 : MDB_RDONLY, 0640);
    if (!rc) rc = strcmp(argv[1], "dump") ? reset(env) : dump(env);
    mdb_env_close(env);
    if (rc) fprintf(stderr, "ixcheck %s %s: %s\n", argv[1], argv[2], mdb_strerror(rc));
    return rc ? 1 : 0;
}
