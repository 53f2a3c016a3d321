/* ixcheck: a test tool for the derived tables (tests/py/ix_rebuild.t, search_runs.t), run on a
 * stopped daemon's data directory.
 *   ixcheck dump DIR    prints every entry of the derived tables (claim_index, empty since
 *                       format 7, search_*,
 *                       ix_revs) as "table hex(key) hex(value)" lines, in table order, and the
 *                       search postings as "posting hex(space|term) hex(posting)" lines, sorted,
 *                       whatever runs hold them (a posting in two runs prints twice; a term whose
 *                       df in a run is not its number of postings there prints a "bad_df" line),
 *                       and the claim index entries as "index hex(entry)" lines, sorted, whatever
 *                       runs hold them (a run its directory counts wrong prints "bad_count")
 *   ixcheck runs DIR    prints "runs N" and one "run SLOT ROLE POSTINGS" line per run
 *   ixcheck reset DIR   empties them and sets meta "indexed" to 0, so the next daemon start
 *                       rebuilds them from the change log: an index made from scratch
 * Two directories whose dumps are equal have the same derived index, however their runs are cut
 * and whichever forward records are packed (dump prints them plain). */
#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "index_runs.h"
#include "search_runs.h"
#include "zrec.h"

static void hex(const MDB_val *v);

static const char *const derived[] = { "claim_index", "search_terms", "search_blocks", "search_docs",
                                       "search_langs", "ix_revs", NULL };

typedef struct { unsigned char key[CD_SEARCH_TERM_KEY]; size_t klen; unsigned char p[CD_SEARCH_POSTING]; } entry;

static int entry_cmp(const void *a, const void *b)
{
    const entry *x = a, *y = b;
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int r = memcmp(x->key, y->key, n);
    if (r) return r;
    if (x->klen != y->klen) return x->klen < y->klen ? -1 : 1;
    return memcmp(x->p, y->p, CD_SEARCH_POSTING);
}

/* The directory under meta key dir_key ("runs": search postings, "ixruns": claim index). */
static int read_dir(MDB_txn *txn, const char *dir_key, cd_run_dir *d)
{
    MDB_dbi meta;
    MDB_val k = { strlen(dir_key), (void *)dir_key }, v;
    memset(d, 0, sizeof *d);
    int rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (!rc) rc = mdb_get(txn, meta, &k, &v);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc) return rc;
    return cd_run_dir_decode(v.mv_data, v.mv_size, d) ? MDB_CORRUPTED : 0;
}

/* The table of slot (prefix "search_run" or "index_run"). */
static MDB_dbi slot_dbi(MDB_txn *txn, const char *prefix, int slot, int *rc)
{
    char name[32];
    MDB_dbi dbi = 0;
    snprintf(name, sizeof name, "%s%02d", prefix, slot);
    *rc = mdb_dbi_open(txn, name, 0, &dbi);
    return dbi;
}

static int key_cmp(const void *a, const void *b) { return memcmp(a, b, CD_IDX_KEY); }

/* Every claim index entry of every run, sorted ("index hex(entry)"; an entry in two runs
 * prints twice), and a "bad_count" line for a run the directory counts wrong. */
static int dump_index(MDB_txn *txn)
{
    cd_run_dir d;
    int rc = read_dir(txn, "ixruns", &d);
    unsigned char *all = NULL;
    size_t n = 0, cap = 0;
    for (size_t r = 0; !rc && r < d.n; r++) {
        MDB_dbi dbi = slot_dbi(txn, "index_run", d.run[r].slot, &rc);
        MDB_cursor *cur;
        if (rc || (rc = mdb_cursor_open(txn, dbi, &cur))) break;
        MDB_val k, v;
        uint64_t in_run = 0;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            size_t got;
            if (n + CD_IXRUN_CHUNK > cap) {
                cap = cap ? cap * 2 : 4096;
                unsigned char *bigger = realloc(all, cap * CD_IDX_KEY);
                if (!bigger) { free(all); mdb_cursor_close(cur); return ENOMEM; }
                all = bigger;
            }
            if (cd_ixrun_chunk_decode(&k, &v, all + n * CD_IDX_KEY, &got)) { printf("bad_chunk index slot %u\n", d.run[r].slot); continue; }
            n += got;
            in_run += got;
        }
        mdb_cursor_close(cur);
        if (rc == MDB_NOTFOUND) rc = 0;
        if (in_run != d.run[r].postings)
            printf("bad_count index slot %u holds %llu directory %llu\n", d.run[r].slot, (unsigned long long)in_run,
                   (unsigned long long)d.run[r].postings);
    }
    if (!rc) {
        if (n > 1) qsort(all, n, CD_IDX_KEY, key_cmp);
        for (size_t i = 0; i < n; i++) {
            MDB_val k = { CD_IDX_KEY, all + i * CD_IDX_KEY };
            printf("index ");
            hex(&k);
            putchar('\n');
        }
    }
    free(all);
    return rc;
}

/* Every posting of every run, sorted, with a check of each term's df in each run. */
static int dump_postings(MDB_txn *txn)
{
    cd_run_dir d;
    int rc = read_dir(txn, "runs", &d);
    entry *all = NULL;
    size_t n = 0, cap = 0;
    for (size_t r = 0; !rc && r < d.n; r++) {
        MDB_dbi dbi = slot_dbi(txn, "search_run", d.run[r].slot, &rc);
        MDB_cursor *cur;
        if (rc || (rc = mdb_cursor_open(txn, dbi, &cur))) break;
        MDB_val k, v;
        unsigned char term[CD_SEARCH_TERM_KEY], post[CD_RUN_CHUNK * CD_SEARCH_POSTING];
        size_t tlen = 0, got;
        uint64_t df = 0, seen = 0;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            cd_run_head h;
            size_t kt = 0;
            int end = rc != 0, same = !end && cd_run_key_term(&k, &kt) == 0 && kt == tlen && !memcmp(k.mv_data, term, kt);
            if (tlen && (end || !same) && df != seen) printf("bad_df slot %u %.*s df %llu postings %llu\n", d.run[r].slot,
                                                             (int)tlen - 3, term + 3, (unsigned long long)df, (unsigned long long)seen);
            if (end) break;
            if (cd_run_chunk_head(&k, &v, &h) || cd_run_chunk_decode(&k, &v, post, &got)) { printf("bad_chunk slot %u\n", d.run[r].slot); continue; }
            if (!same) {
                memcpy(term, k.mv_data, kt);
                tlen = kt;
                seen = 0;
                df = h.first ? h.df : 0;
                if (!h.first) printf("bad_first slot %u %.*s\n", d.run[r].slot, (int)kt - 3, term + 3);
            } else if (h.first) {
                printf("bad_first slot %u %.*s\n", d.run[r].slot, (int)kt - 3, term + 3);
            }
            seen += got;
            for (size_t i = 0; i < got; i++) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 4096;
                    entry *bigger = realloc(all, cap * sizeof *all);
                    if (!bigger) { free(all); mdb_cursor_close(cur); return ENOMEM; }
                    all = bigger;
                }
                memcpy(all[n].key, term, tlen);
                all[n].klen = tlen;
                memcpy(all[n].p, post + i * CD_SEARCH_POSTING, CD_SEARCH_POSTING);
                n++;
            }
        }
        mdb_cursor_close(cur);
        if (rc == MDB_NOTFOUND) rc = 0;
    }
    if (!rc) {
        if (n > 1) qsort(all, n, sizeof *all, entry_cmp);
        for (size_t i = 0; i < n; i++) {
            MDB_val k = { all[i].klen, all[i].key }, v = { CD_SEARCH_POSTING, all[i].p };
            printf("posting ");
            hex(&k);
            putchar(' ');
            hex(&v);
            putchar('\n');
        }
    }
    free(all);
    return rc;
}

static int list_runs(MDB_env *env)
{
    MDB_txn *txn;
    cd_run_dir d;
    int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (!rc) rc = read_dir(txn, "runs", &d);
    if (!rc) {
        printf("runs %zu\n", d.n);
        for (size_t i = 0; i < d.n; i++)
            printf("run %u %u %llu\n", d.run[i].slot, d.run[i].role, (unsigned long long)d.run[i].postings);
    }
    if (txn) mdb_txn_abort(txn);
    return rc;
}

static void hex(const MDB_val *v)
{
    const unsigned char *p = v->mv_data;
    for (size_t i = 0; i < v->mv_size; i++) printf("%02x", p[i]);
}

static int dump(MDB_env *env)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    MDB_dbi meta;
    if (!rc && (rc = mdb_dbi_open(txn, "meta", 0, &meta)) == 0) rc = cd_zrec_load(txn, meta);
    for (int t = 0; !rc && derived[t]; t++) {
        MDB_dbi dbi;
        MDB_cursor *cur;
        MDB_val k, v;
        if ((rc = mdb_dbi_open(txn, derived[t], 0, &dbi)) == MDB_NOTFOUND) { rc = 0; continue; }
        if (rc || (rc = mdb_cursor_open(txn, dbi, &cur))) break;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            /* Forward records print plain: whether one is packed depends on when the
             * dictionary was made (zrec.h), not on what the index holds. */
            char *plain = NULL;
            const char *why = NULL;
            size_t n = 0;
            if (cd_zrec_is_packed(v.mv_data, v.mv_size) && !(plain = cd_zrec_unpack_malloc(v.mv_data, v.mv_size, &n, &why)))
                printf("bad_packed %s %s\n", derived[t], why);
            if (plain) v = (MDB_val){ n, plain };
            printf("%s ", derived[t]);
            hex(&k);
            putchar(' ');
            hex(&v);
            putchar('\n');
            free(plain);
        }
        mdb_cursor_close(cur);
        if (rc == MDB_NOTFOUND) rc = 0;
    }
    if (!rc) rc = dump_postings(txn);
    if (!rc) rc = dump_index(txn);
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
    static const char *const families[] = { "search_run", "index_run" };
    for (int f = 0; !rc && f < 2; f++)
        for (int slot = 0; !rc && slot < CD_RUN_SLOTS; slot++) {
            MDB_dbi dbi = slot_dbi(txn, families[f], slot, &rc);
            if (rc == MDB_NOTFOUND) { rc = 0; continue; }
            if (!rc) rc = mdb_drop(txn, dbi, 0);
        }
    MDB_dbi meta;
    MDB_val rk = { 4, (void *)"runs" }, xk = { 6, (void *)"ixruns" };
    unsigned char zero[8] = { 0 };
    MDB_val k = { 7, (void *)"indexed" }, v = { 8, zero };
    if (!rc) rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (!rc) rc = mdb_put(txn, meta, &k, &v, 0);
    if (!rc && (rc = mdb_del(txn, meta, &rk, NULL)) == MDB_NOTFOUND) rc = 0;
    if (!rc && (rc = mdb_del(txn, meta, &xk, NULL)) == MDB_NOTFOUND) rc = 0;
    if (rc) { mdb_txn_abort(txn); return rc; }
    return mdb_txn_commit(txn);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "dump") && strcmp(argv[1], "reset") && strcmp(argv[1], "runs"))) {
        fprintf(stderr, "usage: ixcheck dump|runs|reset DATA_DIR\n");
        return 2;
    }
    MDB_env *env;
    int rc = mdb_env_create(&env);
    int writes = strcmp(argv[1], "reset") == 0;
    if (!rc) rc = mdb_env_set_maxdbs(env, 128);
    if (!rc) rc = mdb_env_open(env, argv[2], writes ? 0 : MDB_RDONLY, 0640);
    if (!rc) rc = writes ? reset(env) : strcmp(argv[1], "runs") ? dump(env) : list_runs(env);
    mdb_env_close(env);
    if (rc) fprintf(stderr, "ixcheck %s %s: %s\n", argv[1], argv[2], mdb_strerror(rc));
    return rc ? 1 : 0;
}
