/* Unit tests for the search runs: the chunk codec (search_run_codec.c), the directory and
 * merge policy (search_run_policy.c), and removals from a run in LMDB (search_runs.c) whose
 * chunks change size in a txn that already dirtied their page. */
#include "tap.h"
#include "bytes.h"
#include "db.h"
#include "search.h"
#include "search_runs.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rnd(void)
{
    return tap_xorshift64(&rng_state);
}

/* n postings with increasing ids from first, gaps of 1..maxgap, random tf/flags and norms. */
static void make_postings(unsigned char *out, size_t n, uint64_t first, uint64_t maxgap)
{
    uint64_t id = first;
    for (size_t i = 0; i < n; i++) {
        if (i) id += 1 + rnd() % maxgap;
        cd_search_posting(out + i * CD_SEARCH_POSTING, id, 1 + (uint32_t)(rnd() % 200), rnd() % 5 == 0,
                          (uint8_t)rnd());
    }
}

static void test_codec_round_trip(void)
{
    unsigned char post[CD_RUN_CHUNK * CD_SEARCH_POSTING], back[CD_RUN_CHUNK * CD_SEARCH_POSTING];
    unsigned char key[CD_RUN_KEY_MAX], val[CD_RUN_VALUE_MAX], tkey[CD_SEARCH_TERM_KEY];
    size_t tlen = cd_search_term_key(tkey, "ru\0", "письм", strlen("письм"));
    int all_ok = 1, heads_ok = 1;
    size_t biggest = 0;
    for (int round = 0; round < 2000; round++) {
        size_t n = 1 + rnd() % CD_RUN_CHUNK;
        uint64_t maxgap = round % 3 == 0 ? 1 : round % 3 == 1 ? 100 : (uint64_t)1 << 40;
        make_postings(post, n, rnd() % 1000000, maxgap);
        int first = round % 2;
        uint64_t df = 1 + rnd() % 1000000;
        MDB_val k = { cd_run_key(key, tkey, tlen, cd_get_u64be(post)), key };
        MDB_val v = { cd_run_chunk_encode(val, post, n, first, df), val };
        if (v.mv_size > biggest) biggest = v.mv_size;
        size_t got = 0;
        cd_run_head h;
        if (cd_run_chunk_decode(&k, &v, back, &got) || got != n || memcmp(back, post, n * CD_SEARCH_POSTING)) all_ok = 0;
        unsigned maxtf = 0, minnorm = 255;
        for (size_t i = 0; i < n; i++) {
            if (cd_search_posting_tf(post + i * 10) > maxtf) maxtf = cd_search_posting_tf(post + i * 10);
            if (cd_search_posting_norm(post + i * 10) < minnorm) minnorm = cd_search_posting_norm(post + i * 10);
        }
        if (cd_run_chunk_head(&k, &v, &h) || h.n != n || h.first != first || (first && h.df != df) ||
            h.first_id != cd_get_u64be(post) || h.last_id != cd_get_u64be(post + (n - 1) * 10) ||
            h.maxtf != maxtf || h.minnorm != minnorm)
            heads_ok = 0;
    }
    ok(all_ok, "2000 random chunks (dense, sparse, 2^40 gaps) decode to the postings encoded");
    ok(heads_ok, "the header gives count, df, first and last id and the block-max bound");
    ok(biggest <= CD_RUN_VALUE_MAX, "no value exceeds CD_RUN_VALUE_MAX (largest %zu)", biggest);

    /* Dense postings cost about 3 bytes each: the point of delta coding. */
    make_postings(post, CD_RUN_CHUNK, 5000, 3);
    size_t dense = cd_run_chunk_encode(val, post, CD_RUN_CHUNK, 1, CD_RUN_CHUNK);
    ok(dense < CD_RUN_CHUNK * 4, "128 close postings take %zu bytes (10-byte postings: 1280)", dense);

    size_t kt;
    MDB_val k = { cd_run_key(key, tkey, tlen, 42), key };
    ok(cd_run_key_term(&k, &kt) == 0 && kt == tlen && memcmp(key, tkey, tlen) == 0, "a chunk key gives back its term key");
    MDB_val shortk = { 5, key };
    ok(cd_run_key_term(&shortk, &kt) == -1, "a key too short for a chunk is refused");
}

static void test_codec_damage(void)
{
    unsigned char post[CD_RUN_CHUNK * CD_SEARCH_POSTING], back[CD_RUN_CHUNK * CD_SEARCH_POSTING];
    unsigned char key[CD_RUN_KEY_MAX], val[CD_RUN_VALUE_MAX], tkey[CD_SEARCH_TERM_KEY];
    size_t tlen = cd_search_term_key(tkey, "en\0", "claim", 5), got;
    make_postings(post, 50, 1000, 20);
    MDB_val k = { cd_run_key(key, tkey, tlen, 1000), key };
    size_t len = cd_run_chunk_encode(val, post, 50, 1, 50);
    int truncated_refused = 1;
    for (size_t cut = 0; cut < len; cut++) {
        MDB_val v = { cut, val };
        if (cd_run_chunk_decode(&k, &v, back, &got) == 0) truncated_refused = 0;
    }
    ok(truncated_refused, "every truncation of a chunk is refused");
    unsigned char longer[CD_RUN_VALUE_MAX + 1];
    memcpy(longer, val, len);
    longer[len] = 0;
    MDB_val v = { len + 1, longer };
    ok(cd_run_chunk_decode(&k, &v, back, &got) == -1, "a chunk with a trailing byte is refused");
    /* Flipped bytes: either refused, or decoded within the bounds the header states. */
    int bounded = 1;
    for (int round = 0; round < 5000; round++) {
        unsigned char bad[CD_RUN_VALUE_MAX];
        memcpy(bad, val, len);
        bad[rnd() % len] ^= (unsigned char)(1 + rnd() % 255);
        MDB_val bv = { len, bad };
        cd_run_head h;
        if (cd_run_chunk_decode(&k, &bv, back, &got) != 0) continue;
        if (cd_run_chunk_head(&k, &bv, &h) || got != h.n || got > CD_RUN_CHUNK) { bounded = 0; continue; }
        for (size_t i = 1; i < got; i++)
            if (cd_get_u64be(back + i * 10) <= cd_get_u64be(back + (i - 1) * 10)) bounded = 0;
        if (cd_get_u64be(back) != h.first_id || cd_get_u64be(back + (got - 1) * 10) != h.last_id) bounded = 0;
    }
    ok(bounded, "a damaged chunk is refused or decodes to increasing ids within its stated range");
}

static cd_run_dir dir_of(const uint64_t *sizes, size_t n)
{
    cd_run_dir d = { 0 };
    for (size_t i = 0; i < n; i++) d.run[d.n++] = (cd_run_info){ (uint8_t)i, CD_RUN_LIVE, 0, sizes[i] };
    return d;
}

static void test_policy(void)
{
    ok(cd_run_class(0) == 0 && cd_run_class(CD_RUN_BASE - 1) == 0 && cd_run_class(CD_RUN_BASE) == 1 &&
       cd_run_class((uint64_t)CD_RUN_BASE * CD_RUN_FANIN - 1) == 1 && cd_run_class((uint64_t)CD_RUN_BASE * CD_RUN_FANIN) == 2,
       "size classes start at CD_RUN_BASE and grow by CD_RUN_FANIN");
    size_t pick[CD_RUN_SLOTS];
    uint64_t three[] = { 100, 200, 300 };
    cd_run_dir d = dir_of(three, 3);
    ok(cd_run_pick(&d, pick) == 0, "three small runs: nothing to merge yet");
    uint64_t four[] = { 100, 1000000, 200, 300, 400 };
    d = dir_of(four, 5);
    size_t n = cd_run_pick(&d, pick);
    int small_only = n == 4;
    for (size_t i = 0; i < n; i++) small_only &= d.run[pick[i]].postings < 1000;
    ok(small_only, "four runs of one class are merged, the big one left alone");
    for (size_t i = 0; i < n; i++) { d.run[pick[i]].role = CD_RUN_INPUT; d.run[pick[i]].job = 1; }
    ok(cd_run_pick(&d, pick) == 0 && cd_runs_merge_due(&d), "runs in a merge are not picked again; a merge under way is due work");
    cd_run_dir busy = { 0 };
    for (int j = 0; j < CD_RUN_JOBS; j++) busy.run[busy.n++] = (cd_run_info){ (uint8_t)j, CD_RUN_OUTPUT, (uint8_t)(j + 1), 0 };
    for (int i = 0; i < 8; i++) busy.run[busy.n++] = (cd_run_info){ (uint8_t)(10 + i), CD_RUN_LIVE, 0, 100 };
    ok(cd_run_pick(&busy, pick) == 0, "no new merge while CD_RUN_JOBS are under way");
    busy.n = 1;
    for (int i = 0; i < 8; i++) busy.run[busy.n++] = (cd_run_info){ (uint8_t)(10 + i), CD_RUN_LIVE, 0, 100 };
    ok(cd_run_pick(&busy, pick) == CD_RUN_FANIN, "small runs are merged while a big merge is under way");
    uint64_t spread[20];
    for (int i = 0; i < 20; i++) spread[i] = (uint64_t)CD_RUN_BASE << (i % 10 * 2);   /* 2 a class */
    d = dir_of(spread, 20);
    n = cd_run_pick(&d, pick);
    ok(n >= 2, "more than CD_RUN_READ_MAX live runs: the smallest are merged anyway (%zu)", n);
    ok(cd_run_free_slot(&d) == 20, "the first unused slot is free");
    d.n = 0;
    ok(cd_run_free_slot(&d) == 0, "an empty directory frees slot 0");

    /* The directory's bytes round-trip; damage is refused. */
    d = dir_of(four, 5);
    d.run[2].role = CD_RUN_OUTPUT;
    d.run[2].job = 3;
    unsigned char buf[2 + 10 * CD_RUN_SLOTS];
    size_t len = cd_run_dir_encode(&d, buf);
    cd_run_dir back;
    ok(cd_run_dir_decode(buf, len, &back) == 0 && back.n == 5 && back.run[2].role == CD_RUN_OUTPUT && back.run[2].job == 3 &&
       back.run[1].postings == 1000000, "the directory round-trips");
    ok(cd_run_dir_decode(buf, len - 1, &back) == -1, "a truncated directory is refused");
    buf[3] = 1 << 2;                            /* a live run in a merge */
    ok(cd_run_dir_decode(buf, len, &back) == -1, "a live run with a merge number is refused");
    buf[3] = 0;
    buf[2 + 10] = buf[2];                       /* two runs in one slot */
    ok(cd_run_dir_decode(buf, len, &back) == -1, "a slot used twice is refused");
    buf[2 + 10] = CD_RUN_SLOTS;
    ok(cd_run_dir_decode(buf, len, &back) == -1, "a slot out of range is refused");
}

/* Simulates a long import: passes add runs of about a pass's postings, the policy's merges are
 * applied at once. Bounds: live runs a reader consults, and how often a posting is rewritten. */
/* The merge at rest leaves a reader at most two runs and rewrites the largest only once the
 * others hold 1/CD_RUN_REST_SHARE of it. */
static void test_policy_rest(void)
{
    size_t pick[CD_RUN_SLOTS];
    uint64_t one[] = { 5000 };
    cd_run_dir d = dir_of(one, 1);
    ok(cd_run_pick_rest(&d, pick) == 0, "rest: one run, nothing to merge");
    uint64_t pair[] = { 800000, 1000 };
    d = dir_of(pair, 2);
    ok(cd_run_pick_rest(&d, pick) == 0, "rest: a big run and a small one stay two");
    uint64_t trickle[] = { 1000, 800000, 2000, 3000 };
    d = dir_of(trickle, 4);
    size_t n = cd_run_pick_rest(&d, pick);
    int big_left = n == 3;
    for (size_t i = 0; i < n; i++) big_left &= d.run[pick[i]].postings < 800000;
    ok(big_left, "rest: small runs beside a big one merge without it (%zu)", n);
    uint64_t tiers[] = { 100000, 800000, 400000, 30000, 20000 };
    d = dir_of(tiers, 5);
    ok(cd_run_pick_rest(&d, pick) == 5, "rest: the others hold 1/8 of the largest: all merge into one");
    uint64_t eighth[] = { 800000, 100000 };
    d = dir_of(eighth, 2);
    ok(cd_run_pick_rest(&d, pick) == 2, "rest: exactly 1/8 is enough for a full merge");
    d.run[1].role = CD_RUN_INPUT;
    d.run[1].job = 1;
    ok(cd_run_pick_rest(&d, pick) == 0, "rest: nothing while a merge is under way");
}

static void test_policy_simulated(void)
{
    cd_run_dir d = { 0 };
    uint64_t written = 0, rewritten = 0;
    size_t most = 0;
    int stuck = 0;
    for (int pass = 0; pass < 20000 && !stuck; pass++) {
        uint64_t p = pass % 50 == 0 ? 1 + rnd() % 10 : 20000 + rnd() % 40000;  /* now and then a tiny one */
        int slot = cd_run_free_slot(&d);
        if (slot < 0) { stuck = 1; break; }
        d.run[d.n++] = (cd_run_info){ (uint8_t)slot, CD_RUN_LIVE, 0, p };
        written += p;
        size_t pick[CD_RUN_SLOTS], n;
        while ((n = cd_run_pick(&d, pick)) > 0) {
            uint64_t sum = 0;
            for (size_t i = 0; i < n; i++) sum += d.run[pick[i]].postings;
            rewritten += sum;
            /* remove the picked (highest index first), add the merged run */
            for (size_t a = 0; a < n; a++)
                for (size_t b = a + 1; b < n; b++)
                    if (pick[b] > pick[a]) { size_t t = pick[a]; pick[a] = pick[b]; pick[b] = t; }
            for (size_t i = 0; i < n; i++) {
                memmove(&d.run[pick[i]], &d.run[pick[i] + 1], (d.n - pick[i] - 1) * sizeof d.run[0]);
                d.n--;
            }
            slot = cd_run_free_slot(&d);
            d.run[d.n++] = (cd_run_info){ (uint8_t)slot, CD_RUN_LIVE, 0, sum };
        }
        if (d.n > most) most = d.n;
    }
    ok(!stuck, "20000 passes never run out of slots");
    ok(most <= 16, "a reader consults at most 16 runs (most seen: %zu)", most);
    double amp = (double)rewritten / (double)written;
    /* ~900M postings over a first class of 32k: about 8 classes to climb */
    ok(amp < 10, "each posting is rewritten %.1f times by merges (under 10)", amp);
}

/* Walks every chunk of the one run in txn: per term (alpha, beta, gamma) the ids in order, the
 * df its first chunk carries (0: none) and whether any chunk is out of place (not of these
 * terms, a first flag on a later chunk, ids not increasing). */
typedef struct { uint64_t ids[400]; size_t n; uint64_t df; int bad; } term_seen;

static int walk_run(cd_call *c, MDB_txn *txn, const unsigned char (*tk)[CD_SEARCH_TERM_KEY], const size_t *tl,
                    term_seen *seen)
{
    cd_run_dir d;
    memset(seen, 0, 3 * sizeof *seen);
    if (cd_runs_dir(c, txn, &d) || d.n != 1) return -1;
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, c->srv->db.run_slots[d.run[0].slot], &cur)) return -1;
    MDB_val k, v;
    unsigned char post[CD_RUN_CHUNK * CD_SEARCH_POSTING];
    int rc, bad = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        size_t kt, n, t;
        cd_run_head h;
        if (cd_run_key_term(&k, &kt) || cd_run_chunk_head(&k, &v, &h) || cd_run_chunk_decode(&k, &v, post, &n)) {
            bad = 1;
            continue;
        }
        for (t = 0; t < 3 && !(kt == tl[t] && memcmp(k.mv_data, tk[t], kt) == 0); t++) {}
        if (t == 3) { bad = 1; continue; }
        term_seen *s = &seen[t];
        if (h.first != (s->n == 0)) s->bad = 1;
        if (h.first) s->df = h.df;
        for (size_t i = 0; i < n; i++) {
            uint64_t id = cd_search_posting_id(post + i * CD_SEARCH_POSTING);
            if (s->n == 400 || (s->n && s->ids[s->n - 1] >= id)) { s->bad = 1; break; }
            s->ids[s->n++] = id;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND && !bad ? 0 : -1;
}

/* Whether seen holds exactly the ids lo..hi, with that df on its first chunk. */
static int holds(const term_seen *s, uint64_t lo, uint64_t hi)
{
    if (s->bad || s->n != hi - lo + 1 || s->df != s->n) return 0;
    for (size_t i = 0; i < s->n; i++)
        if (s->ids[i] != lo + i) return 0;
    return 1;
}

/* Three terms of 400 postings (ids 1..400: chunks 1-128, 129-256, 257-384, 385-400) in one run,
 * then in one txn: beta loses ids 1..100 (its first chunk shrinks) and 129..400, so its df
 * falls from 400 through 128 while the later chunks go (the first chunk's df varint shrinks
 * from two bytes to one: a value of another size); gamma loses its whole first chunk, ids
 * 1..128, so the second chunk takes the df over (a value that grows). Each of those rewrites a
 * chunk (put with MDB_CURRENT) on a page the txn dirtied already: LMDB then deletes the node
 * and re-adds it copying the key from where the cursor's key pointed, which the delete
 * shifted, and the chunk came back under the wrong key (the next removal: "a search run lost
 * the first chunk of a term"). */
static void test_removals(void)
{
    char dir[] = "/tmp/claimd-searchruns-XXXXXX";
    if (!mkdtemp(dir)) { ok(0, "a temp dir for the removal test"); return; }
    static cd_server srv;
    if (cd_db_open(&srv.db, dir, (size_t)64 << 20)) { ok(0, "opening a database in %s", dir); return; }
    cd_call *c = cd_call_new_internal(&srv);
    cd_run_builder *b = cd_run_builder_new();
    const char *terms[3] = { "alpha", "beta", "gamma" }, tag[4] = "en";
    unsigned char tk[3][CD_SEARCH_TERM_KEY], p[CD_SEARCH_POSTING];
    size_t tl[3];
    int rc = 0;
    for (int t = 0; t < 3; t++) {
        tl[t] = cd_search_term_key(tk[t], tag, terms[t], strlen(terms[t]));
        for (uint64_t id = 1; id <= 400 && !rc; id++) {
            cd_search_posting(p, id, 1 + (uint32_t)(id % 3), 0, 40);
            rc = cd_run_builder_add(c, b, tk[t], tl[t], p);
        }
    }
    MDB_txn *txn = NULL;
    uint64_t written = 0;
    if (!rc) rc = mdb_txn_begin(srv.db.env, NULL, 0, &txn);
    if (!rc) rc = cd_runs_flush(c, b, txn, &written);
    if (!rc) rc = mdb_txn_commit(txn);
    else if (txn) mdb_txn_abort(txn);
    ok(rc == 0 && written == 1200, "a run of 3 terms of 400 postings (%llu written)", (unsigned long long)written);
    txn = NULL;
    rc = mdb_txn_begin(srv.db.env, NULL, 0, &txn);
    const char *failed = NULL;
    for (uint64_t id = 1; id <= 400 && !rc; id++)
        if ((id <= 100 || id > 128) && (rc = cd_runs_remove(c, txn, tk[1], tl[1], id))) failed = "beta";
    for (uint64_t id = 1; id <= 128 && !rc; id++)
        if ((rc = cd_runs_remove(c, txn, tk[2], tl[2], id))) failed = "gamma";
    ok(rc == 0, "372 removals from beta and 128 from gamma in one txn%s%s%s", failed ? " (failed: " : "",
       failed ? failed : "", failed ? ")" : "");
    if (rc) diag("%s", c->err ? c->err_msg : "an LMDB error");
    term_seen seen[3];
    int walked = rc == 0 ? walk_run(c, txn, (const unsigned char (*)[CD_SEARCH_TERM_KEY])tk, tl, seen) : -1;
    ok(walked == 0 && holds(&seen[0], 1, 400), "alpha keeps ids 1..400, df 400");
    ok(walked == 0 && holds(&seen[1], 101, 128), "beta holds ids 101..128, df 28 (%zu ids, df %llu)",
       walked ? 0 : seen[1].n, walked ? 0ULL : (unsigned long long)seen[1].df);
    ok(walked == 0 && holds(&seen[2], 129, 400), "gamma holds ids 129..400, df 272 on its new first chunk (%zu ids, df %llu)",
       walked ? 0 : seen[2].n, walked ? 0ULL : (unsigned long long)seen[2].df);
    if (txn) mdb_txn_abort(txn);
    cd_run_builder_free(b);
    cd_call_free(c);
    cd_db_close(&srv.db);
    char cmd[64];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) diag("could not remove %s", dir);
}

int main(void)
{
    test_codec_round_trip();
    test_codec_damage();
    test_policy();
    test_policy_rest();
    test_policy_simulated();
    test_removals();
    return done_testing();
}
