/* Unit test for the claim index runs (daemon/index_runs.h): the chunk codec round-trips and
 * refuses damaged chunks; against a model (a bitmap over a small universe of entries), random
 * passes of additions and removals, flushed as runs and merged in steps of random budgets,
 * always read back through the merged cursor exactly as the model says (forward, backward,
 * from random seeks and over random changes of direction), the directory counts every run's
 * entries, and the format 7 upgrade carries a one-table index over entry for entry. */
#include "tap.h"
#include "bytes.h"
#include "db.h"
#include "index_runs.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t seed = 88172645463325252ULL;
static uint64_t rnd(void)
{
    return tap_xorshift64(&seed);
}

/* ---- codec ---- */

/* n increasing entries of one kind|value: recorded-order ones (said = id) or said-ordered
 * ones with repeated saids. */
static void make_chunk(unsigned char *e, size_t n, int recorded)
{
    uint64_t value = rnd(), id = 1 + rnd() % 1000000;
    int64_t said = (int64_t)(rnd() % 2000000000000ULL) - 1000000000000LL;
    for (size_t i = 0; i < n; i++) {
        if (recorded) {
            id += 1 + rnd() % 5000;
            cd_index_key(e + i * CD_IDX_KEY, CD_IDX_SPEAKER | CD_IDX_BY_RECORDED, value, (int64_t)id, id);
        } else {
            if (rnd() % 3) said += (int64_t)(rnd() % 86400000000ULL) + 1, id = 1 + rnd() % 10000000;
            else id += 1 + rnd() % 100;
            cd_index_key(e + i * CD_IDX_KEY, CD_IDX_SPEAKER, value, said, id);
        }
    }
}

static void test_codec(void)
{
    unsigned char e[CD_IXRUN_CHUNK * CD_IDX_KEY], back[CD_IXRUN_CHUNK * CD_IDX_KEY], val[CD_IXRUN_VALUE_MAX];
    int all_ok = 1;
    size_t biggest = 0, rec_bytes = 0, rec_n = 0;
    for (int t = 0; t < 4000; t++) {
        size_t n = 1 + rnd() % CD_IXRUN_CHUNK, got;
        int recorded = t % 2;
        make_chunk(e, n, recorded);
        MDB_val k = { CD_IDX_KEY, e }, v = { cd_ixrun_chunk_encode(val, e, n), val };
        if (v.mv_size > biggest) biggest = v.mv_size;
        if (recorded) rec_bytes += v.mv_size, rec_n += n;
        if (cd_ixrun_chunk_decode(&k, &v, back, &got) || got != n || memcmp(back, e, n * CD_IDX_KEY)) all_ok = 0;
    }
    ok(all_ok, "4000 random chunks decode to the entries they were made of");
    ok(biggest <= CD_IXRUN_VALUE_MAX, "no value exceeds CD_IXRUN_VALUE_MAX (largest %zu)", biggest);
    ok(rec_bytes < rec_n * 3, "recorded-order entries take %.1f bytes each (25 logical)", (double)rec_bytes / (double)rec_n);

    make_chunk(e, 40, 0);
    MDB_val k = { CD_IDX_KEY, e }, v = { cd_ixrun_chunk_encode(val, e, 40), val };
    size_t got, len = v.mv_size;
    int refused = 1;
    for (size_t cut = 0; cut < len; cut++) {
        MDB_val tv = { cut, val };
        if (cd_ixrun_chunk_decode(&k, &tv, back, &got) == 0) refused = 0;
    }
    ok(refused, "every truncation of a chunk is refused");
    unsigned char longer[CD_IXRUN_VALUE_MAX + 1];
    memcpy(longer, val, len);
    longer[len] = 0;
    MDB_val lv = { len + 1, longer };
    ok(cd_ixrun_chunk_decode(&k, &lv, back, &got) == -1, "a chunk with a trailing byte is refused");
    MDB_val sk = { CD_IDX_KEY - 1, e };
    ok(cd_ixrun_chunk_decode(&sk, &v, back, &got) == -1, "a key of the wrong size is refused");
    unsigned char bad[CD_IXRUN_VALUE_MAX];
    memcpy(bad, val, len);
    bad[0] = 2;
    MDB_val bv = { len, bad };
    ok(cd_ixrun_chunk_decode(&k, &bv, back, &got) == -1, "an unknown mode is refused");
    bad[0] = 1;
    ok(cd_ixrun_chunk_decode(&k, &bv, back, &got) == -1, "mode 1 on entries whose said is not their id is refused");
    unsigned char same[2 * CD_IDX_KEY];
    memcpy(same, e, CD_IDX_KEY);
    memcpy(same + CD_IDX_KEY, e, CD_IDX_KEY);
    MDB_val dv = { cd_ixrun_chunk_encode(val, same, 2), val };
    ok(cd_ixrun_chunk_decode(&k, &dv, back, &got) == -1, "an entry repeated (not increasing) is refused");
    int bounded = 1;
    for (int t = 0; t < 20000; t++) {            /* random damage never decodes out of bounds */
        memcpy(bad, val, len);
        bad[rnd() % len] ^= (unsigned char)(1 + rnd() % 255);
        MDB_val xv = { len, bad };
        if (cd_ixrun_chunk_decode(&k, &xv, back, &got) == 0 && got > CD_IXRUN_CHUNK) bounded = 0;
    }
    ok(bounded, "20000 damaged chunks decode to at most CD_IXRUN_CHUNK entries or are refused");
}

/* ---- runs against a model ---- */

#define NKV 12                       /* kind|value lists */
#define NSAID 40
#define NID 120
#define UNIVERSE (NKV * NSAID * NID)

static unsigned char universe[UNIVERSE][CD_IDX_KEY];   /* every possible entry, in key order */
static unsigned char model[UNIVERSE];
static size_t model_n;
static cd_server srv;
static cd_ixrun_builder *builder;  /* the pass under way */
static cd_call *c;

static int key_cmp(const void *a, const void *b) { return memcmp(a, b, CD_IDX_KEY); }

static void make_universe(void)
{
    size_t n = 0;
    for (int kv = 0; kv < NKV; kv++)
        for (int s = 0; s < NSAID; s++)
            for (int id = 1; id <= NID; id++) {
                /* lists 0-3 recorded-order (said = id, so only s == 0 is used), 4-11 said-ordered */
                int rec = kv < 4;
                cd_index_key(universe[n++], rec ? CD_IDX_TAG | CD_IDX_BY_RECORDED : CD_IDX_TAG, (uint64_t)kv * 7919,
                             rec ? (int64_t)(id + s * 1000) : (int64_t)s * 86400000000LL - 500000000000LL,
                             rec ? (uint64_t)(id + s * 1000) : (uint64_t)id);
            }
    qsort(universe, n, CD_IDX_KEY, key_cmp);
}

/* The model's first entry >= key from index 0 (binary search over the universe, then along). */
static long model_ge(const unsigned char *key)
{
    size_t lo = 0, hi = UNIVERSE;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (memcmp(universe[mid], key, CD_IDX_KEY) < 0) lo = mid + 1;
        else hi = mid;
    }
    while (lo < UNIVERSE && !model[lo]) lo++;
    return lo < UNIVERSE ? (long)lo : -1;
}

static long model_next(long i) { while (++i < UNIVERSE && !model[i]) {} return i < UNIVERSE ? i : -1; }
static long model_prev(long i) { while (--i >= 0 && !model[i]) {} return i; }

static MDB_txn *begin(void)
{
    MDB_txn *txn;
    return mdb_txn_begin(srv.db.env, NULL, 0, &txn) ? NULL : txn;
}

static int dir_of(MDB_txn *txn, cd_run_dir *d)
{
    cd_run_family f = cd_run_family_index(&srv.db);
    return cd_run_dir_load(c, txn, &f, d);
}

/* One pass: random additions and removals (an entry may change twice in one pass). */
static int pass(size_t ops)
{
    MDB_txn *txn = begin();
    if (!txn) return -1;
    for (size_t i = 0; i < ops; i++) {
        size_t u = rnd() % UNIVERSE;
        if (model[u]) {
            cd_run_dir d;
            if (dir_of(txn, &d) || cd_ixruns_remove(c, txn, &d, universe[u]) ||
                cd_ixrun_builder_add(c, builder, universe[u], 1)) goto fail;
            model[u] = 0;
            model_n--;
        } else {
            if (cd_ixrun_builder_add(c, builder, universe[u], 0)) goto fail;
            model[u] = 1;
            model_n++;
        }
    }
    uint64_t written;
    if (cd_ixruns_flush(c, builder, txn, &written)) goto fail;
    return mdb_txn_commit(txn) ? -1 : 0;
fail:
    mdb_txn_abort(txn);
    return -1;
}

static int merge_steps(int steps, size_t budget, int *more)
{
    for (int i = 0; i < steps; i++) {
        MDB_txn *txn = begin();
        cd_run_step st;
        if (!txn || cd_ixruns_merge_step(c, txn, budget, &st)) { if (txn) mdb_txn_abort(txn); return -1; }
        if (mdb_txn_commit(txn)) return -1;
        *more = st.more;
        if (!st.more) break;
    }
    return 0;
}

/* Whether the merged cursor reads exactly the model: a full scan each way, random seeks with
 * random walks, and the directory's counts equal to each run's entries. */
static int matches_model(char *why, size_t whylen)
{
    MDB_txn *txn;
    if (mdb_txn_begin(srv.db.env, NULL, MDB_RDONLY, &txn)) { snprintf(why, whylen, "txn"); return 0; }
    cd_run_dir d;
    int rc, good = 1;
    cd_ixcur *x = NULL;
    if (dir_of(txn, &d) || !(x = cd_ixcur_open(txn, &srv.db, &d, &rc))) { snprintf(why, whylen, "open"); good = 0; goto out; }
    unsigned char key[CD_IDX_KEY];
    long m = model_ge(universe[0]);
    size_t seen = 0;
    for (rc = cd_ixcur_get(x, key, MDB_FIRST); rc == 0; rc = cd_ixcur_get(x, key, MDB_NEXT), seen++) {
        if (m < 0 || memcmp(key, universe[m], CD_IDX_KEY)) { snprintf(why, whylen, "forward scan differs at %zu", seen); good = 0; goto out; }
        m = model_next(m);
    }
    if (rc != MDB_NOTFOUND || m != -1 || seen != model_n) { snprintf(why, whylen, "forward scan: %zu of %zu", seen, model_n); good = 0; goto out; }
    m = model_prev(UNIVERSE);
    for (rc = cd_ixcur_get(x, key, MDB_LAST); rc == 0; rc = cd_ixcur_get(x, key, MDB_PREV)) {
        if (m < 0 || memcmp(key, universe[m], CD_IDX_KEY)) { snprintf(why, whylen, "backward scan differs"); good = 0; goto out; }
        m = model_prev(m);
    }
    if (rc != MDB_NOTFOUND || m != -1) { snprintf(why, whylen, "backward scan ends early"); good = 0; goto out; }
    for (int t = 0; t < 60; t++) {
        unsigned char probe[CD_IDX_KEY];
        memcpy(probe, universe[rnd() % UNIVERSE], CD_IDX_KEY);
        if (rnd() % 2) probe[CD_IDX_KEY - 1] ^= 1;           /* often not an entry at all */
        m = model_ge(probe);
        memcpy(key, probe, CD_IDX_KEY);
        rc = cd_ixcur_get(x, key, MDB_SET_RANGE);
        if (m < 0 ? rc != MDB_NOTFOUND : rc != 0 || memcmp(key, universe[m], CD_IDX_KEY)) {
            snprintf(why, whylen, "seek %d differs", t); good = 0; goto out;
        }
        for (int s = 0; s < 12 && m >= 0; s++) {
            int fwd = rnd() % 2;
            m = fwd ? model_next(m) : model_prev(m);
            rc = cd_ixcur_get(x, key, fwd ? MDB_NEXT : MDB_PREV);
            if (m < 0 ? rc != MDB_NOTFOUND : rc != 0 || memcmp(key, universe[m], CD_IDX_KEY)) {
                snprintf(why, whylen, "walk step %d after seek %d differs", s, t); good = 0; goto out;
            }
        }
    }
    uint64_t counted = 0;
    for (size_t r = 0; r < d.n; r++) {
        MDB_cursor *cur;
        MDB_val k, v;
        uint64_t in_run = 0;
        if (mdb_cursor_open(txn, srv.db.ixrun_slots[d.run[r].slot], &cur)) { good = 0; goto out; }
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            unsigned char e[CD_IXRUN_CHUNK * CD_IDX_KEY];
            size_t n;
            if (cd_ixrun_chunk_decode(&k, &v, e, &n)) { snprintf(why, whylen, "a chunk does not decode"); good = 0; }
            in_run += n;
        }
        mdb_cursor_close(cur);
        if (in_run != d.run[r].postings) { snprintf(why, whylen, "run %zu holds %llu, the directory says %llu", r, (unsigned long long)in_run, (unsigned long long)d.run[r].postings); good = 0; }
        counted += in_run;
    }
    if (good && counted != model_n) { snprintf(why, whylen, "the runs hold %llu entries, the model %zu", (unsigned long long)counted, model_n); good = 0; }
out:
    cd_ixcur_close(x);
    mdb_txn_abort(txn);
    return good;
}

static void test_runs(const char *dir)
{
    make_universe();
    int failed_at = -1, more = 0;
    size_t most_runs = 0;
    char why[256] = "";
    for (int p = 0; p < 150 && failed_at < 0; p++) {
        size_t ops = p < 100 ? 1 + rnd() % 400 : 1 + rnd() % 5;
        if (pass(ops) || merge_steps((int)(rnd() % 4), 1 + rnd() % 700, &more)) { failed_at = p; snprintf(why, sizeof why, "%s", c->err_msg); break; }
        if (!matches_model(why, sizeof why)) failed_at = p;
        MDB_txn *txn;
        cd_run_dir d;
        if (mdb_txn_begin(srv.db.env, NULL, MDB_RDONLY, &txn) == 0) {
            if (dir_of(txn, &d) == 0 && d.n > most_runs) most_runs = d.n;
            mdb_txn_abort(txn);
        }
        cd_call_reset(c);
    }
    ok(failed_at < 0, "150 passes with merge steps between: the cursor reads the model exactly (%s at pass %d)",
       failed_at < 0 ? "ok" : why, failed_at);
    ok(most_runs > 1, "several runs were live at once (most: %zu)", most_runs);
    more = 1;
    ok(merge_steps(100000, 997, &more) == 0 && !more, "merges run to the end");
    MDB_txn *txn;
    cd_run_dir d = { 0 };
    if (mdb_txn_begin(srv.db.env, NULL, MDB_RDONLY, &txn) == 0) { dir_of(txn, &d); mdb_txn_abort(txn); }
    ok(d.n < most_runs, "merged down to %zu runs", d.n);
    snprintf(why, sizeof why, "ok");
    ok(matches_model(why, sizeof why), "after the merges the cursor still reads the model (%s)", why);

    /* The format 7 upgrade: a one-table index (kind|value -> said|id duplicates) becomes a run. */
    MDB_dbi old;
    txn = begin();
    int rc = txn ? mdb_dbi_open(txn, "old_index", MDB_CREATE | MDB_DUPSORT | MDB_DUPFIXED, &old) : -1;
    size_t put = 0;
    for (size_t u = 0; !rc && u < UNIVERSE; u++) {
        if (!model[u]) continue;
        MDB_val k = { CD_IDX_PREFIX, universe[u] }, v = { CD_IDX_KEY - CD_IDX_PREFIX, universe[u] + CD_IDX_PREFIX };
        rc = mdb_put(txn, old, &k, &v, 0);
        put++;
    }
    uint64_t moved = 0;
    if (!rc) rc = cd_ixruns_from_table(&srv.db, txn, old, &moved);
    if (!rc) rc = mdb_txn_commit(txn);
    else if (txn) mdb_txn_abort(txn);
    ok(rc == 0 && moved == put, "the upgrade moves every entry of the old table (%llu of %zu)", (unsigned long long)moved, put);
    if (mdb_txn_begin(srv.db.env, NULL, MDB_RDONLY, &txn) == 0) { dir_of(txn, &d); mdb_txn_abort(txn); }
    snprintf(why, sizeof why, "ok");
    ok(d.n == 1 && matches_model(why, sizeof why), "into one run that reads as the old table did (%s)", why);
    (void)dir;
}

int main(void)
{
    test_codec();
    char dir[] = "/tmp/claimd-ixruns-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    if (cd_db_open(&srv.db, dir, (size_t)256 << 20)) return 1;
    builder = cd_ixrun_builder_new();
    c = cd_call_new_internal(&srv);
    test_runs(dir);
    cd_call_free(c);
    cd_ixrun_builder_free(builder);
    cd_db_close(&srv.db);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) diag("could not remove %s", dir);
    return done_testing();
}
