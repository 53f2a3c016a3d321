/* Unit test for daemon/zrec.c: dictionaries trained from a table's records, packed bodies that
 * unpack to exactly what was packed, refusal of damaged or unknown packed bodies, dictionaries
 * reloaded on open and a damaged one found. */
#include "tap.h"
#include "bytes.h"
#include "checksum.h"
#include "zrec.h"

#include <lmdb.h>
#include <msgpack.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *words[] = { "minister", "said", "the", "budget", "would", "grow", "percent",
                               "next", "year", "according", "to", "agency", "reports", "tax",
                               "police", "election", "vaccine", "border", "million", "claimed" };

/* A claim-like record: a positional array with text, a URL, a lang and numbers, as claim.c's. */
static size_t make_record(unsigned i, char *out, size_t cap)
{
    char text[400];
    size_t n = 0;
    unsigned x = i * 2654435761u;
    for (int w = 0; w < 30 && n < sizeof text - 20; w++) {
        x = x * 1103515245u + 12345u;
        n += (size_t)snprintf(text + n, sizeof text - n, "%s ", words[(x >> 16) % 20]);
    }
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 6);
    msgpack_pack_uint64(&pk, i);
    msgpack_pack_uint32(&pk, 1);
    msgpack_pack_str_with_body(&pk, text, n);
    msgpack_pack_str_with_body(&pk, "en", 2);
    char url[128];
    int un = snprintf(url, sizeof url, "https://news.example/%u/%u/story-%u.html", 2000 + i % 25, i % 12, i);
    msgpack_pack_str_with_body(&pk, url, (size_t)un);
    msgpack_pack_int64(&pk, 1700000000000000LL + i);
    size_t len = sb.size < cap ? sb.size : cap;
    memcpy(out, sb.data, len);
    msgpack_sbuffer_destroy(&sb);
    return len;
}

static MDB_env *open_env(const char *dir, MDB_dbi *meta, MDB_dbi *recs)
{
    MDB_env *env;
    MDB_txn *txn;
    mdb_env_create(&env);
    mdb_env_set_maxdbs(env, 4);
    mdb_env_set_mapsize(env, 64 << 20);
    if (mdb_env_open(env, dir, 0, 0640)) return NULL;
    mdb_txn_begin(env, NULL, 0, &txn);
    mdb_dbi_open(txn, "meta", MDB_CREATE, meta);
    mdb_dbi_open(txn, "recs", MDB_CREATE, recs);
    int rc = cd_zrec_load(txn, *meta);
    mdb_txn_commit(txn);
    return rc ? NULL : env;
}

/* Stores records [from, to) as the record tables do: body then its checksum. */
static void store(MDB_env *env, MDB_dbi recs, unsigned from, unsigned to)
{
    MDB_txn *txn;
    mdb_txn_begin(env, NULL, 0, &txn);
    for (unsigned i = from; i < to; i++) {
        char body[1024];
        unsigned char key[8];
        size_t n = make_record(i, body, sizeof body);
        cd_put_u64be(key, i);
        MDB_val k = { 8, key }, v = { n + CD_CHECKSUM_BYTES, NULL };
        mdb_put(txn, recs, &k, &v, MDB_RESERVE);
        memcpy(v.mv_data, body, n);
        cd_checksum_put((unsigned char *)v.mv_data + n, body, n);
    }
    mdb_txn_commit(txn);
}

static unsigned dict_for(MDB_txn *txn, MDB_dbi meta, MDB_dbi recs, int may_train)
{
    return cd_zrec_dict_for(txn, meta, recs, CD_CHECKSUM_BYTES, CD_ZREC_CLAIMS, may_train);
}

int main(void)
{
    char dir[] = "/tmp/claimd-zrec-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    MDB_dbi meta, recs;
    MDB_env *env = open_env(dir, &meta, &recs);
    ok(env != NULL, "an environment opens with no dictionaries");
    char plain[1024], packed[2048], back[1024];
    size_t pn = make_record(7, plain, sizeof plain);
    ok(cd_zrec_pack(0, plain, pn, packed, sizeof packed) == 0, "dictionary 0 means plain");
    ok(cd_zrec_pack(1, plain, pn, packed, sizeof packed) == 0, "an id with no dictionary loaded packs nothing");
    ok(!cd_zrec_is_packed(plain, pn), "a MessagePack record is not taken for a packed one");

    MDB_txn *txn;
    store(env, recs, 1, CD_ZREC_TRAIN_AT);
    mdb_txn_begin(env, NULL, 0, &txn);
    ok(dict_for(txn, meta, recs, 1) == 0, "%d records are too few to train on", CD_ZREC_TRAIN_AT - 1);
    mdb_txn_commit(txn);
    store(env, recs, CD_ZREC_TRAIN_AT, 3000);
    mdb_txn_begin(env, NULL, 0, &txn);
    ok(dict_for(txn, meta, recs, 0) == 0, "no dictionary where training is not asked for");
    mdb_txn_abort(txn);

    /* A txn that trains and aborts leaves nothing in the file; the next makes the same one. */
    mdb_txn_begin(env, NULL, 0, &txn);
    ok(dict_for(txn, meta, recs, 1) == 1, "enough records train dictionary 1 in the txn");
    ok(dict_for(txn, meta, recs, 0) == 1, "which the same txn then finds stored");
    size_t z1 = cd_zrec_pack(1, plain, pn, packed, sizeof packed);
    char first[2048];
    memcpy(first, packed, z1);
    mdb_txn_abort(txn);
    mdb_txn_begin(env, NULL, 0, &txn);
    ok(dict_for(txn, meta, recs, 0) == 0, "an aborted txn takes its dictionary away");
    ok(dict_for(txn, meta, recs, 1) == 1, "training again in a new txn");
    size_t z2 = cd_zrec_pack(1, plain, pn, packed, sizeof packed);
    ok(z1 == z2 && memcmp(first, packed, z1) == 0, "made the same dictionary: the same record packs to the same bytes");
    mdb_txn_commit(txn);
    unsigned id = 1;

    /* Every record, trained on or new, unpacks to its exact bytes; most get much smaller. */
    size_t in = 0, out = 0;
    int exact = 1, smaller = 0;
    for (unsigned i = 1; i < 6000; i += 7) {
        size_t n = make_record(i, plain, sizeof plain);
        size_t z = cd_zrec_pack(id, plain, n, packed, sizeof packed);
        const char *why = NULL;
        if (!z) { in += n; out += n; continue; }
        smaller++;
        in += n;
        out += z;
        size_t m = cd_zrec_plain_size(packed, z, &why);
        if (!cd_zrec_is_packed(packed, z) || m != n || cd_zrec_unpack(packed, z, back, m, &why) || memcmp(back, plain, n))
            exact = 0;
    }
    ok(exact, "every packed record unpacks to exactly its plain bytes");
    ok(smaller > 800, "%d of 857 records were packed smaller", smaller);
    ok(out * 2 < in, "packed records take %zu of %zu bytes", out, in);

    pn = make_record(4242, plain, sizeof plain);
    size_t z = cd_zrec_pack(id, plain, pn, packed, sizeof packed);
    ok(z > 0 && packed[0] == (char)CD_ZREC_TAG && packed[1] == 1, "a packed body is the tag, the dictionary id, the frame");
    ok(cd_zrec_pack(id, plain, pn, packed, 4) == 0, "no room for the packed form: stored plain");
    z = cd_zrec_pack(id, plain, pn, packed, sizeof packed);

    /* Damage: a flipped byte anywhere is refused or unpacks to other bytes, never past size. */
    int refused = 0, unseen_none = 1;
    for (size_t at = CD_ZREC_HEAD; at < z; at++) {
        char bad[2048];
        memcpy(bad, packed, z);
        bad[at] ^= 0x5a;
        const char *why = NULL;
        size_t m = cd_zrec_plain_size(bad, z, &why);
        if (!m) { refused++; continue; }
        char *dst = malloc(m);
        if (cd_zrec_unpack(bad, z, dst, m, &why)) refused++;
        else if (m == pn && memcmp(dst, plain, pn) == 0) unseen_none = 0;   /* damage went unseen */
        free(dst);
    }
    ok(unseen_none, "no damaged frame unpacks to the original record");
    ok(refused > 0, "%d of %zu damaged frames were refused outright", refused, z - CD_ZREC_HEAD);
    const char *why = NULL;
    char other[2048];
    memcpy(other, packed, z);
    other[1] = 9;
    ok(cd_zrec_plain_size(other, z, &why) == 0 && why && strstr(why, "dictionary"),
       "a body naming an unknown dictionary is refused (%s)", why ? why : "");
    ok(cd_zrec_plain_size(packed, 2, &why) == 0, "a body of just the header is refused");
    ok(cd_zrec_plain_size(packed, z - 3, &why) != 0 ? cd_zrec_unpack(packed, z - 3, back, pn, &why) != 0 : 1,
       "a truncated frame is refused");

    /* The dictionary is in the file: a new open unpacks what the first one packed. */
    mdb_env_close(env);
    cd_zrec_unload();
    ok(cd_zrec_plain_size(packed, z, &why) == 0, "after unload the dictionary is gone");
    env = open_env(dir, &meta, &recs);
    ok(env != NULL, "reopened with dictionary 1 stored");
    size_t m = cd_zrec_plain_size(packed, z, &why);
    ok(m == pn && cd_zrec_unpack(packed, z, back, m, &why) == 0 && memcmp(back, plain, pn) == 0,
       "a body packed before the reopen unpacks after it");

    /* A damaged dictionary is found when the environment opens. */
    mdb_txn_begin(env, NULL, 0, &txn);
    unsigned char key[6] = { 'z', 'd', 'i', 'c', 't', 1 };
    MDB_val k = { 6, key }, v;
    mdb_get(txn, meta, &k, &v);
    unsigned char *copy = malloc(v.mv_size);
    memcpy(copy, v.mv_data, v.mv_size);
    copy[v.mv_size / 2] ^= 1;
    MDB_val nv = { v.mv_size, copy };
    mdb_put(txn, meta, &k, &nv, 0);
    ok(cd_zrec_load(txn, meta) == MDB_CORRUPTED, "a dictionary whose checksum fails is refused on load");
    ok(cd_zrec_plain_size(packed, z, &why) == 0, "and nothing packed with it unpacks then");
    ok(dict_for(txn, meta, recs, 1) == 0, "nor is anything packed with it");
    mdb_txn_abort(txn);
    free(copy);
    mdb_env_close(env);
    cd_zrec_unload();

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    return done_testing();
}
