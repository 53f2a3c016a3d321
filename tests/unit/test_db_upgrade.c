/* Unit test for daemon/db.c's upgrades. Format 1 (indexes written in each write's txn) went to
 * format 2 (the index pass) by recording meta "indexed" and ix_revs; format 3 changes the search
 * terms, so after either upgrade "indexed" is 0 and ix_revs empty: the pass indexes every claim
 * again. Format 2 -> 3 also re-keys entity names (punctuation folded) and fills name_keys.
 * Format 3 -> 4 moves the secondary indexes from table idx (25-byte keys) to claim_index
 * (9-byte keys, 16-byte DUPFIXED duplicates) and has the pass rebuild every derived table. */
#include "tap.h"
#include "bytes.h"
#include "checksum.h"
#include "claim.h"
#include "db.h"
#include "record.h"
#include "entity_keys.h"

#include <msgpack.h>

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

/* An entity record as entity.c writes it: [1, name, kind, aliases, description, wikidata, merged]. */
static int put_entity(cd_db *db, MDB_txn *txn, uint64_t id, const char *name, const char *alias, uint64_t merged)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 7);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_str_with_body(&pk, name, strlen(name));
    msgpack_pack_uint8(&pk, 0);
    msgpack_pack_array(&pk, alias ? 1 : 0);
    if (alias) msgpack_pack_str_with_body(&pk, alias, strlen(alias));
    msgpack_pack_str_with_body(&pk, "", 0);
    msgpack_pack_str_with_body(&pk, "", 0);
    msgpack_pack_uint64(&pk, merged);
    unsigned char k[8];
    cd_put_u64be(k, id);
    int rc = put(txn, db->dbi[CD_DBI_ENTITIES], k, 8, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

/* The id aliases gives key, 0 if none. */
static uint64_t alias_of(cd_db *db, MDB_txn *txn, const char *key)
{
    MDB_val k = { strlen(key), (void *)key }, v;
    if (mdb_get(txn, db->dbi[CD_DBI_ALIASES], &k, &v) || v.mv_size != 8) return 0;
    return cd_get_u64be(v.mv_data);
}

/* How many ids name_keys holds under prefix+key. */
static size_t name_key_ids(cd_db *db, MDB_txn *txn, char prefix, const char *key)
{
    char buf[256];
    buf[0] = prefix;
    strcpy(buf + 1, key);
    MDB_cursor *cur;
    MDB_val k = { strlen(key) + 1, buf }, v;
    size_t n = 0;
    mdb_cursor_open(txn, db->dbi[CD_DBI_NAME_KEYS], &cur);
    if (mdb_cursor_get(cur, &k, &v, MDB_SET) == 0) {
        size_t c = 0;
        mdb_cursor_count(cur, &c);
        n = (size_t)c;
    }
    mdb_cursor_close(cur);
    return n;
}

/* Format 2 data with format 2's alias keys (folded, punctuation kept) is re-keyed. */
static void test_format_2(const char *dir)
{
    cd_db db;
    MDB_txn *txn;
    unsigned char fmt[4], idb[8];
    ok(cd_db_open(&db, dir, 1 << 20) == 0, "a third environment opens");
    mdb_txn_begin(db.env, NULL, 0, &txn);
    mdb_drop(txn, db.dbi[CD_DBI_NAME_KEYS], 0);
    int rc = put_entity(&db, txn, 1, "Barack Obama", NULL, 0);
    rc |= put_entity(&db, txn, 2, "barack-obama", "B. H. Obama", 0);
    rc |= put_entity(&db, txn, 3, "Песков", NULL, 0);
    rc |= put_entity(&db, txn, 4, "Peskov D.", NULL, 3);     /* merged into 3 */
    static const char *const old_keys[] = { "barack obama", "barack-obama", "b. h. obama", "песков", "peskov d." };
    static const uint64_t owners[] = { 1, 2, 2, 3, 3 };
    for (size_t i = 0; i < 5; i++) {
        cd_put_u64be(idb, owners[i]);
        rc |= put(txn, db.dbi[CD_DBI_ALIASES], old_keys[i], strlen(old_keys[i]), idb, 8);
    }
    rc |= put(txn, db.dbi[CD_DBI_SEARCH_DOCS], "\0\0\0\0\0\0\0\1", 8, "old", 3);
    cd_put_u32be(fmt, 2);
    rc |= put(txn, db.dbi[CD_DBI_META], "format", 6, fmt, 4);
    rc |= mdb_txn_commit(txn);
    ok(rc == 0, "format 2 data with entities written");
    cd_db_close(&db);

    ok(cd_db_open(&db, dir, 1 << 20) == 0, "format 2 data opens and is upgraded");
    mdb_txn_begin(db.env, NULL, MDB_RDONLY, &txn);
    is_int((long long)alias_of(&db, txn, "barack obama"), 1, "'Barack Obama' keeps its key");
    is_int((long long)alias_of(&db, txn, "barack-obama"), 0, "the old key with a hyphen is gone");
    is_int((long long)alias_of(&db, txn, "b h obama"), 2, "an alias is re-keyed with its dots folded");
    is_int((long long)alias_of(&db, txn, "песков"), 3, "a Cyrillic name keeps its key");
    is_int((long long)alias_of(&db, txn, "peskov d"), 0, "a merged entity's own names are not indexed (its target holds them)");
    is_int((long long)name_key_ids(&db, txn, CD_NAME_KEY_LATIN, "barack obama"), 2,
           "name_keys lists both entities named Barack Obama, duplicates for a desk to merge");
    is_int((long long)name_key_ids(&db, txn, CD_NAME_KEY_LATIN, "peskov"), 1, "name_keys holds Песков's Latin key");
    is_int((long long)name_key_ids(&db, txn, CD_NAME_KEY_SOUND, "peskof"), 1, "and its sound key");
    MDB_stat st;
    mdb_stat(txn, db.dbi[CD_DBI_SEARCH_DOCS], &st);
    is_int((long long)st.ms_entries, 0, "the search index is emptied, to be made again with format 3's terms");
    mdb_txn_abort(txn);
    cd_db_close(&db);
}

/* Format 4 -> 5 alone: record values get their checksum, and a claim stored at format 4 reads
 * back through cd_claim_load after the upgrade; a value checksummed twice would not. */
static void test_format_5(void)
{
    char dir[] = "/tmp/claimd-upgrade-5-XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return; }
    cd_db db;
    ok(cd_db_open(&db, dir, 1 << 20) == 0, "another environment opens");
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cd_claim cl;
    memset(&cl, 0, sizeof cl);
    cl.id = 1;
    cl.rev = 1;
    cl.text = (cd_str){ "A claim stored at format 4", 26 };
    cl.medium = -1;
    cl.status = -1;
    cd_claim_encode(&cl, &sb);
    MDB_txn *txn;
    unsigned char key[8], fmt[4];
    cd_put_u64be(key, 1);
    cd_put_u32be(fmt, 4);
    mdb_txn_begin(db.env, NULL, 0, &txn);
    int rc = put(txn, db.dbi[CD_DBI_CLAIMS], key, 8, sb.data, sb.size);
    rc |= put(txn, db.dbi[CD_DBI_META], "format", 6, fmt, 4);
    rc |= mdb_txn_commit(txn);
    ok(rc == 0, "format 4 data written (a claim without a checksum)");
    cd_db_close(&db);
    if (ok(cd_db_open(&db, dir, 1 << 20) == 0, "format 4 data opens and is upgraded")) {
        MDB_val k = { 8, key }, v;
        mdb_txn_begin(db.env, NULL, MDB_RDONLY, &txn);
        ok(mdb_get(txn, db.dbi[CD_DBI_CLAIMS], &k, &v) == 0 && v.mv_size == sb.size + CD_CHECKSUM_BYTES &&
           memcmp(v.mv_data, sb.data, sb.size) == 0 && cd_checksum_ok(v.mv_data, v.mv_size),
           "the claim's value is its format 4 bytes and their checksum");
        MDB_val body;
        cd_call c;
        memset(&c, 0, sizeof c);
        msgpack_zone_init(&c.zone, 1024);
        cd_claim back;
        ok(cd_rec_payload(&c, &v, &body) == 0 && cd_claim_decode(&c, &body, &back) == 0 && back.text.n == 26 &&
           memcmp(back.text.p, "A claim stored at format 4", 26) == 0, "and it decodes as before");
        unsigned char rotten[256];
        memcpy(rotten, v.mv_data, v.mv_size);
        rotten[10] ^= 0x04;
        MDB_val rv = { v.mv_size, rotten };
        c.err = CLAIMD_OK;
        ok(cd_rec_payload(&c, &rv, &body) < 0 && c.err == CLAIMD_E_INTERNAL, "one flipped bit fails the checksum");
        msgpack_zone_destroy(&c.zone);
        mdb_txn_abort(txn);
        cd_db_close(&db);
    }
    msgpack_sbuffer_destroy(&sb);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) diag("could not remove %s", dir);
}

/* Format 3 data with its idx table (plain 25-byte keys) and a search index: the old table is
 * deleted, claim_index is a DUPSORT|DUPFIXED table, and the derived tables are to be rebuilt. */
static void test_format_3(const char *dir)
{
    cd_db db;
    MDB_txn *txn;
    MDB_dbi old;
    unsigned char fmt[4], key[25] = { 1 }, seq[8];
    ok(cd_db_open(&db, dir, 1 << 20) == 0, "a fourth environment opens");
    mdb_txn_begin(db.env, NULL, 0, &txn);
    int rc = mdb_dbi_open(txn, "idx", MDB_CREATE, &old);
    for (uint64_t id = 1; id <= 3 && !rc; id++) {
        cd_put_u64be(key + 17, id);
        rc = put(txn, old, key, sizeof key, "", 0);
    }
    rc |= put(txn, db.dbi[CD_DBI_SEARCH_DOCS], "\0\0\0\0\0\0\0\1", 8, "old", 3);
    rc |= put(txn, db.dbi[CD_DBI_IX_REVS], "\0\0\0\0\0\0\0\1", 8, "\0\0\0\1", 4);
    /* Claim 1 at rev 2: both revisions carry their record, as format 3 wrote them. */
    static const unsigned char rev_full[] = { 0x94, 0xa1, 'c', 0x01, 0xc0, 0xc4, 0x02, 'r', '1' },
                               rev2_full[] = { 0x94, 0xa1, 'u', 0x02, 0xc0, 0xc4, 0x02, 'r', '2' };
    unsigned char rk[12], ck[8];
    for (uint64_t id = 1; id <= 40; id++) {          /* claims 1-40 at rev 2 (several leaves' worth) */
        rev_key(rk, id, 1);
        rc |= put(txn, db.dbi[CD_DBI_CLAIM_REVS], rk, 12, rev_full, sizeof rev_full);
        rev_key(rk, id, 2);
        rc |= put(txn, db.dbi[CD_DBI_CLAIM_REVS], rk, 12, rev2_full, sizeof rev2_full);
        cd_put_u64be(ck, id);
        rc |= put(txn, db.dbi[CD_DBI_CLAIMS], ck, 8, "r2", 2);
    }
    cd_put_u64be(seq, 3);
    rc |= put(txn, db.dbi[CD_DBI_META], "indexed", 7, seq, 8);
    cd_put_u32be(fmt, 3);
    rc |= put(txn, db.dbi[CD_DBI_META], "format", 6, fmt, 4);
    rc |= mdb_txn_commit(txn);
    ok(rc == 0, "format 3 data with an idx table written");
    cd_db_close(&db);

    ok(cd_db_open(&db, dir, 1 << 20) == 0, "format 3 data opens and is upgraded");
    mdb_txn_begin(db.env, NULL, MDB_RDONLY, &txn);
    is_int(mdb_dbi_open(txn, "idx", 0, &old), MDB_NOTFOUND, "the old idx table is gone");
    unsigned flags = 0;
    mdb_dbi_flags(txn, db.dbi[CD_DBI_IDX], &flags);
    ok((flags & (MDB_DUPSORT | MDB_DUPFIXED)) == (MDB_DUPSORT | MDB_DUPFIXED), "claim_index is DUPSORT|DUPFIXED");
    MDB_stat st;
    mdb_stat(txn, db.dbi[CD_DBI_SEARCH_DOCS], &st);
    is_int((long long)st.ms_entries, 0, "the search index is emptied");
    mdb_stat(txn, db.dbi[CD_DBI_IX_REVS], &st);
    is_int((long long)st.ms_entries, 0, "ix_revs is emptied: the pass indexes every claim again");
    MDB_val ik = { 7, (void *)"indexed" }, v;
    ok(mdb_get(txn, db.dbi[CD_DBI_META], &ik, &v) == 0 && v.mv_size == 8 && cd_get_u64be(v.mv_data) == 0,
       "indexed is 0");
    MDB_val fk = { 6, (void *)"format" };
    ok(mdb_get(txn, db.dbi[CD_DBI_META], &fk, &v) == 0 && v.mv_size == 4 && cd_get_u32be(v.mv_data) == CD_DB_FORMAT,
       "its format is now %d", CD_DB_FORMAT);
    static const unsigned char rev2_stub[] = { 0x94, 0xa1, 'u', 0x02, 0xc0, 0xc0 };
    unsigned char rk2[12];
    int stubs = 0, kept = 0;
    for (uint64_t id = 1; id <= 40; id++) {
        rev_key(rk2, id, 2);
        MDB_val k2 = { 12, rk2 };
        stubs += mdb_get(txn, db.dbi[CD_DBI_CLAIM_REVS], &k2, &v) == 0 && v.mv_size == sizeof rev2_stub + CD_CHECKSUM_BYTES &&
                 memcmp(v.mv_data, rev2_stub, sizeof rev2_stub) == 0 && cd_checksum_ok(v.mv_data, v.mv_size);
        rev_key(rk2, id, 1);
        k2 = (MDB_val){ 12, rk2 };
        kept += mdb_get(txn, db.dbi[CD_DBI_CLAIM_REVS], &k2, &v) == 0 && v.mv_size == sizeof rev_full + CD_CHECKSUM_BYTES;
    }
    is_int(stubs, 40, "each current revision keeps op, at and by, and its record only in claims");
    is_int(kept, 40, "each older revision keeps its record");
    mdb_stat(txn, db.dbi[CD_DBI_CLAIM_REVS], &st);
    is_int((long long)st.ms_entries, 80, "no revision key lost or added");
    mdb_txn_abort(txn);
    cd_db_close(&db);
}

int main(void)
{
    char dir[] = "/tmp/claimd-upgrade-XXXXXX", dir2[] = "/tmp/claimd-upgrade-2-XXXXXX",
         dir3[] = "/tmp/claimd-upgrade-3-XXXXXX";
    if (!mkdtemp(dir) || !mkdtemp(dir2) || !mkdtemp(dir3)) { perror("mkdtemp"); return 1; }
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
    ok(mdb_get(txn, db.dbi[CD_DBI_META], &ik, &v) == 0 && v.mv_size == 8 && cd_get_u64be(v.mv_data) == 0,
       "indexed is 0: format 3's terms are made again from the whole change log");
    is_int(ix_rev(&db, txn, 1), 0, "ix_revs: claim 1 is to be indexed again");
    MDB_stat st;
    mdb_stat(txn, db.dbi[CD_DBI_IX_REVS], &st);
    is_int((long long)st.ms_entries, 0, "ix_revs is empty");
    rev_key(k, 7, 2);
    MDB_val rk = { 12, k };
    ok(mdb_get(txn, db.dbi[CD_DBI_CLAIM_REVS], &rk, &v) == 0 && v.mv_size == 1 + CD_CHECKSUM_BYTES &&
       ((const char *)v.mv_data)[0] == 'x' && cd_checksum_ok(v.mv_data, v.mv_size),
       "format 4 -> 5 after 1 -> 2 -> 3 -> 4: a revision's value keeps its bytes and gains their checksum");
    cd_put_u64be(seq, 5);
    MDB_val sk = { 8, seq };
    ok(mdb_get(txn, db.dbi[CD_DBI_CHANGES], &sk, &v) == 0 && cd_checksum_ok(v.mv_data, v.mv_size),
       "and so does a change");
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
        MDB_stat st2;
        mdb_stat(txn, db.dbi[CD_DBI_IX_REVS], &st2);
        is_int((long long)st2.ms_entries, 0, "ix_revs is empty after the upgrade to format 3");
        mdb_txn_abort(txn);
        cd_db_close(&db);
    }

    test_format_2(dir2);
    test_format_3(dir3);
    test_format_5();

    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf %s %s %s %s %s", dir, big, copy, dir2, dir3);
    if (system(cmd) != 0) diag("could not remove %s", dir);
    return done_testing();
}
