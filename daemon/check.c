/* check: what claimd would refuse to serve (record_valid.h), found ahead of time and for every
 * record at once, so an operator learns of damage before a client does and knows which backup
 * to restore (docs/operations.md, "Damage and recovery"). Read-only: safe on a live directory. */
#include <stdio.h>
#include <string.h>
#include "bytes.h"
#include "check.h"
#include "claim.h"
#include "db.h"
#include "db_inspect.h"
#include "entity.h"
#include "log.h"
#include "record.h"
#include "record_valid.h"
#include "index_runs.h"
#include "search_runs.h"
#include "verdict.h"

#define MAX_SHOWN 200

typedef struct {
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi[CD_DBI_COUNT];
    int have[CD_DBI_COUNT];
    cd_call call;               /* scratch: the decoders' zone and error */
    size_t records, damaged;
} checker;

static void report(checker *ck, const char *table, const MDB_val *k, const char *why)
{
    ck->damaged++;
    if (ck->damaged > MAX_SHOWN) return;
    char key[80];
    const unsigned char *p = k ? k->mv_data : NULL;
    if (k && k->mv_size == 8) snprintf(key, sizeof key, "id %llu", (unsigned long long)cd_get_u64be(p));
    else if (k && k->mv_size == 12) snprintf(key, sizeof key, "id %llu rev %u", (unsigned long long)cd_get_u64be(p), cd_get_u32be(p + 8));
    else {
        size_t w = (size_t)snprintf(key, sizeof key, "0x");
        for (size_t i = 0; k && i < k->mv_size && w + 3 < sizeof key; i++) w += (size_t)snprintf(key + w, sizeof key - w, "%02x", p[i]);
    }
    printf("damage: table %s, key %s: %s\n", table, key, why);
}

static cd_call *scratch(checker *ck)
{
    msgpack_zone_clear(&ck->call.zone);
    ck->call.err = CLAIMD_OK;
    ck->call.err_msg[0] = 0;
    return &ck->call;
}

static int exists(checker *ck, cd_dbi_id t, const unsigned char *id8)
{
    MDB_val k = { 8, (void *)id8 }, v;
    return mdb_get(ck->txn, ck->dbi[t], &k, &v) == 0;
}

/* Checks one entry of table t; reports what is wrong with it. */
static void check_entry(checker *ck, cd_dbi_id t, const char *name, const MDB_val *k, const MDB_val *v)
{
    cd_call *c = scratch(ck);
    const unsigned char *kp = k->mv_data;
    switch (t) {
    case CD_DBI_CLAIMS: {
        cd_claim cl;
        MDB_val body;
        if (k->mv_size != 8) { report(ck, name, k, "key is not 8 bytes"); return; }
        if (cd_rec_payload(c, v, &body) || cd_claim_decode(c, &body, &cl)) { report(ck, name, k, c->err_msg); return; }
        if (cl.id != cd_get_u64be(kp)) report(ck, name, k, "the record's id is not its key");
        return;
    }
    case CD_DBI_CLAIM_REVS: {
        msgpack_object o;
        cd_claim cl;
        if (k->mv_size != 12) { report(ck, name, k, "key is not 12 bytes"); return; }
        if (cd_rec_unpack(c, v, 4, &o)) { report(ck, name, k, c->err_msg); return; }
        const msgpack_object *f = o.via.array.ptr;
        if (f[3].type == MSGPACK_OBJECT_NIL) {   /* the current revision: its record is in claims */
            MDB_val ck8 = { 8, (void *)kp }, cv;
            if (mdb_get(ck->txn, ck->dbi[CD_DBI_CLAIMS], &ck8, &cv) != 0)
                report(ck, name, k, "the current revision's claim does not exist");
            else if (cd_rec_payload(c, &cv, &cv) == 0 && cd_claim_decode(c, &cv, &cl) == 0 &&
                     cl.rev != cd_get_u32be(kp + 8))
                report(ck, name, k, "a revision without a record that is not the claim's current one");
            return;                               /* the claim itself is checked under claims */
        }
        if (f[3].type != MSGPACK_OBJECT_BIN) { report(ck, name, k, "revision body is neither bytes nor nil"); return; }
        MDB_val body = { f[3].via.bin.size, (void *)f[3].via.bin.ptr };
        if (cd_claim_decode(c, &body, &cl)) { report(ck, name, k, c->err_msg); return; }
        if (cl.id != cd_get_u64be(kp) || cl.rev != cd_get_u32be(kp + 8))
            report(ck, name, k, "the revision's id or rev is not its key");
        return;
    }
    case CD_DBI_VERDICTS:
        if (k->mv_size != 8) { report(ck, name, k, "key is not 8 bytes"); return; }
        if (cd_verdict_validate(c, v)) report(ck, name, k, c->err_msg);
        return;
    case CD_DBI_ENTITIES: {
        cd_entity e;
        if (k->mv_size != 8) { report(ck, name, k, "key is not 8 bytes"); return; }
        if (cd_entity_decode(c, v, cd_get_u64be(kp), &e)) report(ck, name, k, c->err_msg);
        return;
    }
    case CD_DBI_CHANGES: {
        msgpack_object o;
        if (k->mv_size != 8) { report(ck, name, k, "key is not 8 bytes"); return; }
        if (cd_rec_unpack(c, v, 4, &o)) report(ck, name, k, c->err_msg);
        return;
    }
    case CD_DBI_IDX:   /* claim_index (empty since format 7): kind(1) value(8) -> said(8) id(8) */
        if (k->mv_size != 9 || v->mv_size != 16) { report(ck, name, k, "entry is not a 9-byte key and a 16-byte value"); return; }
        if (!exists(ck, CD_DBI_CLAIMS, (const unsigned char *)v->mv_data + 8))
            report(ck, name, k, "points at a claim that does not exist");
        return;
    case CD_DBI_CLAIM_VERDICTS:
        if (k->mv_size != 16) { report(ck, name, k, "key is not 16 bytes"); return; }
        if (!exists(ck, CD_DBI_CLAIMS, kp)) report(ck, name, k, "names a claim that does not exist");
        else if (!exists(ck, CD_DBI_VERDICTS, kp + 8)) report(ck, name, k, "names a verdict that does not exist");
        return;
    case CD_DBI_EXTID:
    case CD_DBI_ALIASES:
        if (v->mv_size != 8) { report(ck, name, k, "value is not an id (8 bytes)"); return; }
        if (!exists(ck, t == CD_DBI_EXTID ? CD_DBI_CLAIMS : CD_DBI_ENTITIES, v->mv_data))
            report(ck, name, k, "points at a record that does not exist");
        return;
    default:
        return;   /* walked (LMDB checks its pages on the way), no record form of ours to check */
    }
}

/* Ends the walk of table name after n entries (rc: what stopped it, MDB_NOTFOUND at its end). */
static void walk_end(checker *ck, const char *name, int rc, size_t n)
{
    ck->records += n;
    if (rc != MDB_NOTFOUND) {
        char why[120];
        snprintf(why, sizeof why, "walk stopped after %zu entries: %s", n, mdb_strerror(rc));
        report(ck, name, NULL, why);
    }
    printf("table %s: %zu entries\n", name, n);
}

/* A cursor on the run table "PREFIX%02u" of slot r names (name gets the table's name), or
 * NULL after reporting it missing. */
static MDB_cursor *open_run(checker *ck, const char *prefix, const cd_run_info *r, char name[32])
{
    MDB_dbi dbi;
    MDB_cursor *cur;
    snprintf(name, 32, "%s%02u", prefix, (unsigned)r->slot);
    if (mdb_dbi_open(ck->txn, name, 0, &dbi)) { report(ck, name, NULL, "the directory names a run that is missing"); return NULL; }
    int rc = mdb_cursor_open(ck->txn, dbi, &cur);
    if (rc) { report(ck, name, NULL, mdb_strerror(rc)); return NULL; }
    return cur;
}

static void walk_table(checker *ck, cd_dbi_id t, const char *name)
{
    MDB_cursor *cur;
    MDB_val k, v;
    int rc = mdb_cursor_open(ck->txn, ck->dbi[t], &cur);
    size_t n = 0;
    if (rc == 0) {
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            check_entry(ck, t, name, &k, &v);
            n++;
        }
        mdb_cursor_close(cur);
    }
    walk_end(ck, name, rc, n);
}

/* Walks one search run (search_runs.h): every chunk decodes, a term's chunks come in id order
 * and its first chunk's df is its number of postings, and every posting names a claim. */
static void walk_run(checker *ck, const cd_run_info *r)
{
    char name[32];
    MDB_cursor *cur = open_run(ck, "search_run", r, name);
    MDB_val k, v;
    int rc;
    if (!cur) return;
    size_t n = 0, tlen = 0;
    unsigned char term[CD_SEARCH_TERM_KEY], post[CD_RUN_CHUNK * CD_SEARCH_POSTING];
    uint64_t df = 0, seen = 0, last = 0;
    MDB_val term_key = { 0, term };
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        size_t kt = 0, got;
        cd_run_head h;
        int end = rc != 0, same = !end && cd_run_key_term(&k, &kt) == 0 && kt == tlen && memcmp(k.mv_data, term, kt) == 0;
        if (tlen && (end || !same) && df != seen) report(ck, name, &term_key, "the term's df is not its number of postings");
        if (end) break;
        n++;
        if (cd_run_chunk_head(&k, &v, &h) || cd_run_chunk_decode(&k, &v, post, &got)) { report(ck, name, &k, "a chunk that does not decode"); continue; }
        if (!same) {
            memcpy(term, k.mv_data, kt);
            term_key.mv_size = tlen = kt;
            df = h.first ? h.df : 0;
            seen = 0;
            if (!h.first) report(ck, name, &k, "a term's first chunk without its df");
        } else if (h.first || h.first_id <= last) {
            report(ck, name, &k, "a chunk out of order in its term");
        }
        last = h.last_id;
        seen += got;
        for (size_t i = 0; i < got; i++)
            if (!exists(ck, CD_DBI_CLAIMS, post + i * CD_SEARCH_POSTING)) {
                report(ck, name, &k, "a posting of a claim that does not exist");
                break;
            }
    }
    mdb_cursor_close(cur);
    walk_end(ck, name, rc, n);
}

/* Walks one claim index run (index_runs.h): every chunk decodes, the chunks' entries are in
 * key order across the run, the directory counts them, and every entry names a claim. */
static void walk_ixrun(checker *ck, const cd_run_info *r)
{
    char name[32];
    MDB_cursor *cur = open_run(ck, "index_run", r, name);
    MDB_val k, v;
    int rc;
    if (!cur) return;
    unsigned char e[CD_IXRUN_CHUNK * CD_IDX_KEY], last[CD_IDX_KEY];
    size_t n = 0;
    uint64_t entries = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        size_t got;
        n++;
        if (cd_ixrun_chunk_decode(&k, &v, e, &got)) { report(ck, name, &k, "a chunk that does not decode"); continue; }
        if (entries && memcmp(e, last, CD_IDX_KEY) <= 0) report(ck, name, &k, "a chunk that overlaps the one before it");
        memcpy(last, e + (got - 1) * CD_IDX_KEY, CD_IDX_KEY);
        entries += got;
        for (size_t i = 0; i < got; i++)
            if (!exists(ck, CD_DBI_CLAIMS, e + i * CD_IDX_KEY + 17)) {
                report(ck, name, &k, "points at a claim that does not exist");
                break;
            }
    }
    if (rc == MDB_NOTFOUND && entries != r->postings) {
        char why[120];
        snprintf(why, sizeof why, "holds %llu entries, the directory says %llu", (unsigned long long)entries,
                 (unsigned long long)r->postings);
        report(ck, name, NULL, why);
    }
    mdb_cursor_close(cur);
    walk_end(ck, name, rc, n);
}

/* The runs of both families their directories (meta "runs", "ixruns") list. */
static void walk_runs(checker *ck)
{
    static const struct { const char *key, *what; void (*walk)(checker *, const cd_run_info *); } family[] = {
        { "runs", "the directory of search runs is damaged", walk_run },
        { "ixruns", "the directory of index runs is damaged", walk_ixrun },
    };
    for (size_t f = 0; f < 2; f++) {
        MDB_val k = { strlen(family[f].key), (void *)family[f].key }, v;
        cd_run_dir d;
        if (!ck->have[CD_DBI_META] || mdb_get(ck->txn, ck->dbi[CD_DBI_META], &k, &v)) continue;
        if (cd_run_dir_decode(v.mv_data, v.mv_size, &d)) { report(ck, "meta", &k, family[f].what); continue; }
        for (size_t i = 0; i < d.n; i++) family[f].walk(ck, &d.run[i]);
    }
}

int cd_check_run(const char *dir)
{
    if (cd_db_inspect(dir)) return 2;
    checker ck;
    memset(&ck, 0, sizeof ck);
    msgpack_zone_init(&ck.call.zone, 8192);
    int rc = mdb_env_create(&ck.env);
    if (!rc) mdb_env_set_maxdbs(ck.env, 128);
    if (!rc) rc = mdb_env_open(ck.env, dir, MDB_RDONLY | MDB_NOTLS, 0640);
    if (!rc) rc = mdb_txn_begin(ck.env, NULL, MDB_RDONLY, &ck.txn);
    if (rc) {
        fprintf(stderr, "claimd --check: cannot open %s: %s\n", dir, mdb_strerror(rc));
        if (ck.env) mdb_env_close(ck.env);
        msgpack_zone_destroy(&ck.call.zone);
        return 2;
    }
    for (int t = 0; t < CD_DBI_COUNT; t++) {
        const char *name = cd_db_table_name((cd_dbi_id)t);
        if (mdb_dbi_open(ck.txn, name, cd_db_table_flags((cd_dbi_id)t), &ck.dbi[t]) == 0) ck.have[t] = 1;
        else report(&ck, name, NULL, "table is missing");
    }
    /* The dictionaries packed claim records name (zrec.h); a damaged one is reported, and the
     * records packed with it then fail as damaged too. */
    if (ck.have[CD_DBI_META] && cd_zrec_load(ck.txn, ck.dbi[CD_DBI_META]))
        report(&ck, "meta", NULL, "a compression dictionary is damaged");
    /* Tables first whose records others point at (claims, verdicts, entities) are all walked
     * in the same snapshot, so the order only decides the order of the lines. */
    for (int t = 0; t < CD_DBI_COUNT; t++)
        if (ck.have[t]) walk_table(&ck, (cd_dbi_id)t, cd_db_table_name((cd_dbi_id)t));
    walk_runs(&ck);
    if (ck.damaged > MAX_SHOWN) printf("... %zu more damage line(s) not shown\n", ck.damaged - MAX_SHOWN);
    printf("%s: %zu entries checked, %zu damaged\n", dir, ck.records, ck.damaged);
    mdb_txn_abort(ck.txn);
    mdb_env_close(ck.env);
    cd_zrec_unload();
    msgpack_zone_destroy(&ck.call.zone);
    return ck.damaged ? 1 : 0;
}
