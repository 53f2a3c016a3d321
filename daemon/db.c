/* db: environment set-up and the small helpers every table shares. */
#include <errno.h>
#include <fcntl.h>
#include <msgpack.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdlib.h>
#include "bytes.h"
#include "checksum.h"
#include "db.h"
#include "zrec.h"
#include "db_inspect.h"
#include "dirlock.h"
#include "entity_keys.h"
#include "index_runs.h"
#include "log.h"

static const struct { const char *name; unsigned flags; } tables[CD_DBI_COUNT] = {
    [CD_DBI_META] = { "meta", 0 },
    [CD_DBI_CLAIMS] = { "claims", 0 },
    [CD_DBI_CLAIM_REVS] = { "claim_revs", 0 },
    [CD_DBI_ENTITIES] = { "entities", 0 },
    [CD_DBI_ALIASES] = { "aliases", 0 },
    [CD_DBI_EXTID] = { "extid", 0 },
    [CD_DBI_DEDUP] = { "dedup", MDB_DUPSORT | MDB_DUPFIXED },
    [CD_DBI_IDX] = { "claim_index", MDB_DUPSORT | MDB_DUPFIXED },
    [CD_DBI_VERDICTS] = { "verdicts", 0 },
    [CD_DBI_CLAIM_VERDICTS] = { "claim_verdicts", 0 },
    [CD_DBI_RELATIONS] = { "relations", 0 },
    [CD_DBI_CHANGES] = { "changes", 0 },
    [CD_DBI_SEARCH_TERMS] = { "search_terms", MDB_DUPSORT | MDB_DUPFIXED },
    [CD_DBI_SEARCH_BLOCKS] = { "search_blocks", 0 },
    [CD_DBI_SEARCH_DOCS] = { "search_docs", 0 },
    [CD_DBI_SEARCH_LANGS] = { "search_langs", 0 },
    [CD_DBI_MATCH_BANDS] = { "match_bands", MDB_DUPSORT | MDB_DUPFIXED },
    [CD_DBI_IX_REVS] = { "ix_revs", 0 },
    [CD_DBI_NAME_KEYS] = { "name_keys", MDB_DUPSORT | MDB_DUPFIXED },
};

const char *cd_db_table_name(cd_dbi_id t) { return tables[t].name; }

unsigned cd_db_table_flags(cd_dbi_id t) { return tables[t].flags; }

/* claim.match took its candidates from LSH buckets in match_bands until it used the search
 * postings (match.h); the buckets of an older directory are dead weight (~500 bytes a claim):
 * emptied once, the table kept so the set of tables stays that of the format. */
static int empty_legacy_bands(cd_db *db, MDB_txn *txn)
{
    MDB_stat st;
    int rc = mdb_stat(txn, db->dbi[CD_DBI_MATCH_BANDS], &st);
    if (rc || st.ms_entries == 0) return rc;
    cd_info("emptying match_bands (%zu entries): claim.match no longer uses it", (size_t)st.ms_entries);
    return mdb_drop(txn, db->dbi[CD_DBI_MATCH_BANDS], 0);
}

/* Creates dir (and its parents) with mode 0750 when missing. */
static int make_dirs(const char *dir)
{
    char path[4096];
    size_t n = strlen(dir);
    if (n >= sizeof path) return ENAMETOOLONG;
    memcpy(path, dir, n + 1);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(path, 0750) < 0 && errno != EEXIST) return errno;
        *p = '/';
    }
    if (mkdir(path, 0750) < 0 && errno != EEXIST) return errno;
    return 0;
}

/* Records in ix_revs that claim id's index entries were made from revision rev (4 bytes, as in
 * its claim_revs key); ids must come in ascending order. */
static int put_ix_rev(cd_db *db, MDB_txn *txn, uint64_t id, const unsigned char rev[4])
{
    unsigned char key[8];
    cd_put_u64be(key, id);
    MDB_val k = { 8, key }, v = { 4, (void *)rev };
    return mdb_put(txn, db->dbi[CD_DBI_IX_REVS], &k, &v, MDB_APPEND);
}

/* Format 1 kept the indexes in each write's own txn, so they reflect every change and every
 * claim's last revision: record that in meta "indexed" and ix_revs (format 2's index pass). */
static int upgrade_1_to_2(cd_db *db, MDB_txn *txn)
{
    MDB_cursor *cur;
    MDB_val k, v;
    unsigned char seq[8];
    cd_put_u64be(seq, cd_db_next_id(txn, db->dbi[CD_DBI_CHANGES]) - 1);
    MDB_val ik = { 7, (void *)"indexed" }, iv = { 8, seq };
    int rc = mdb_put(txn, db->dbi[CD_DBI_META], &ik, &iv, 0);
    if (rc || (rc = mdb_cursor_open(txn, db->dbi[CD_DBI_CLAIM_REVS], &cur))) return rc;
    /* claim_revs is ordered id|rev: a claim's last revision is the key before the next id. */
    uint64_t id = 0;
    unsigned char rev[4];
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 12) continue;
        uint64_t kid = cd_get_u64be(k.mv_data);
        if (id && kid != id && (rc = put_ix_rev(db, txn, id, rev))) break;
        id = kid;
        memcpy(rev, (unsigned char *)k.mv_data + 8, 4);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND && id) rc = put_ix_rev(db, txn, id, rev);    /* the last claim's */
    if (rc == MDB_NOTFOUND) rc = 0;
    if (!rc) cd_info("data format 1 upgraded to 2 (index pass state recorded)");
    return rc;
}

/* Format 3 makes different search terms from the same words (accents folded before stemming,
 * hunspell stems): the derived tables (search and claim index) are emptied and every claim is
 * indexed again by the index pass, which replays the change log from the start (ix_revs
 * emptied: no claim's entries are taken as made). */
static int reindex_search(cd_db *db, MDB_txn *txn)
{
    static const cd_dbi_id derived[] = { CD_DBI_SEARCH_TERMS, CD_DBI_SEARCH_BLOCKS, CD_DBI_SEARCH_DOCS,
                                         CD_DBI_SEARCH_LANGS, CD_DBI_IX_REVS, CD_DBI_IDX };
    int rc = 0;
    for (size_t i = 0; !rc && i < sizeof derived / sizeof derived[0]; i++)
        rc = mdb_drop(txn, db->dbi[derived[i]], 0);
    for (int i = 0; !rc && i < CD_DB_RUN_SLOTS; i++) rc = mdb_drop(txn, db->run_slots[i], 0);
    for (int i = 0; !rc && i < CD_DB_RUN_SLOTS; i++) rc = mdb_drop(txn, db->ixrun_slots[i], 0);
    MDB_val rk = { 4, (void *)"runs" }, xk = { 6, (void *)"ixruns" };
    if (!rc && (rc = mdb_del(txn, db->dbi[CD_DBI_META], &rk, NULL)) == MDB_NOTFOUND) rc = 0;
    if (!rc && (rc = mdb_del(txn, db->dbi[CD_DBI_META], &xk, NULL)) == MDB_NOTFOUND) rc = 0;
    unsigned char zero[8] = { 0 };
    MDB_val ik = { 7, (void *)"indexed" }, iv = { 8, zero };
    if (!rc) rc = mdb_put(txn, db->dbi[CD_DBI_META], &ik, &iv, 0);
    if (!rc) cd_info("search and claim indexes emptied: the index pass rebuilds them from the change log");
    return rc;
}

/* Format 2 -> 3: entity names re-keyed (entity_keys.c), search terms rebuilt. */
static int upgrade_2_to_3(cd_db *db, MDB_txn *txn)
{
    int rc = cd_entity_keys_rebuild(db, txn);
    return rc ? rc : reindex_search(db, txn);
}

/* Rewrites the revision entry under cur (a claim's newest, [op, at, by, bin(record)]) as the
 * stub [op, at, by, nil] format 4 keeps for the current revision, whose record is in claims. */
static int stub_current_revision(MDB_cursor *cur, MDB_val *k, const MDB_val *v)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    int rc = 0;
    if (msgpack_unpack_next(&u, v->mv_data, v->mv_size, NULL) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size < 4) {
        rc = MDB_CORRUPTED;
    } else if (u.data.via.array.ptr[3].type == MSGPACK_OBJECT_BIN) {
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_array(&pk, 4);
        for (int i = 0; i < 3; i++) msgpack_pack_object(&pk, u.data.via.array.ptr[i]);
        msgpack_pack_nil(&pk);
        MDB_val nv = { sb.size, sb.data };
        rc = mdb_cursor_put(cur, k, &nv, MDB_CURRENT);
        msgpack_sbuffer_destroy(&sb);
    }
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* Format 4 stores a claim's current record once, in claims: the newest revision of each claim
 * in claim_revs loses its copy (older revisions keep theirs). */
static int stub_current_revisions(cd_db *db, MDB_txn *txn)
{
    MDB_cursor *claims, *revs;
    int rc = mdb_cursor_open(txn, db->dbi[CD_DBI_CLAIMS], &claims);
    if (rc) return rc;
    if ((rc = mdb_cursor_open(txn, db->dbi[CD_DBI_CLAIM_REVS], &revs))) { mdb_cursor_close(claims); return rc; }
    MDB_val k, v;
    size_t n = 0;
    for (rc = mdb_cursor_get(claims, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(claims, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8) continue;
        uint64_t id = cd_get_u64be(k.mv_data);
        unsigned char next[12];
        cd_put_u64be(next, id + 1);
        cd_put_u32be(next + 8, 0);
        /* The claim's newest revision: the key before id+1|0 (or the table's last). */
        MDB_val rk = { 12, next }, rv;
        int r = mdb_cursor_get(revs, &rk, &rv, MDB_SET_RANGE);
        r = r == 0 ? mdb_cursor_get(revs, &rk, &rv, MDB_PREV) : r == MDB_NOTFOUND ? mdb_cursor_get(revs, &rk, &rv, MDB_LAST) : r;
        if (r == MDB_NOTFOUND) continue;
        if (r) { rc = r; break; }
        if (rk.mv_size != 12 || cd_get_u64be(rk.mv_data) != id) continue;
        /* The key passed to a put must not point into the page the put rewrites. */
        unsigned char key[12];
        memcpy(key, rk.mv_data, 12);
        rk = (MDB_val){ 12, key };
        if ((rc = stub_current_revision(revs, &rk, &rv))) break;
        n++;
    }
    mdb_cursor_close(revs);
    mdb_cursor_close(claims);
    if (rc == MDB_NOTFOUND) rc = 0;
    if (!rc && n) cd_info("%zu current revisions no longer stored twice", n);
    return rc;
}

/* Format 3 -> 4: current revisions stubbed (above), and the secondary indexes move from table
 * idx (one 25-byte key per entry) to
 * claim_index (kind|value keys with 16-byte said|id duplicates, index.h), which the index pass
 * fills again: the old table is deleted and every derived table made again from the change log
 * (ix_revs is shared by the secondary and search indexes, so both are rebuilt). */
static int upgrade_3_to_4(cd_db *db, MDB_txn *txn)
{
    MDB_dbi old;
    int rc = mdb_dbi_open(txn, "idx", 0, &old);
    if (rc == 0) rc = mdb_drop(txn, old, 1);
    else if (rc == MDB_NOTFOUND) rc = 0;
    if (!rc) rc = mdb_drop(txn, db->dbi[CD_DBI_IDX], 0);
    if (!rc) rc = reindex_search(db, txn);
    if (!rc) rc = stub_current_revisions(db, txn);
    if (!rc) cd_info("data format 3 upgraded to 4 (idx moved to claim_index, derived tables rebuilt by the index pass)");
    return rc;
}

/* Format 4 -> 5: every value of the record tables gets the checksum of its bytes appended, as
 * cd_rec_put writes them from now on. */
static int add_checksums(cd_db *db, MDB_txn *txn)
{
    static const cd_dbi_id record_tables[] = { CD_DBI_CLAIMS, CD_DBI_CLAIM_REVS, CD_DBI_ENTITIES,
                                               CD_DBI_VERDICTS, CD_DBI_CHANGES, CD_DBI_RELATIONS };
    size_t n = 0, cap = 0;
    unsigned char *buf = NULL;
    int rc = 0;
    for (size_t t = 0; !rc && t < sizeof record_tables / sizeof record_tables[0]; t++) {
        MDB_cursor *cur;
        MDB_val k, v;
        if ((rc = mdb_cursor_open(txn, db->dbi[record_tables[t]], &cur))) break;
        for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            /* Already checksummed (a value written by a format 5 daemon under an older stamp, or
             * a step run twice): left alone; a format 4 value ends so by chance once in 2^32. */
            if (cd_checksum_ok(v.mv_data, v.mv_size)) continue;
            if (v.mv_size + CD_CHECKSUM_BYTES > cap) {
                cap = (v.mv_size + CD_CHECKSUM_BYTES) * 2;
                unsigned char *nb = realloc(buf, cap);
                if (!nb) { rc = ENOMEM; break; }
                buf = nb;
            }
            /* Copied first: k and v point into the map, which the put may rewrite. A put that
             * grows a value can split the page under the cursor, so the cursor is placed on the
             * key again after it rather than trusted to stay put. */
            unsigned char key[512];
            if (k.mv_size > sizeof key) { rc = MDB_BAD_VALSIZE; break; }
            memcpy(key, k.mv_data, k.mv_size);
            MDB_val kc = { k.mv_size, key };
            memcpy(buf, v.mv_data, v.mv_size);
            cd_checksum_put(buf + v.mv_size, buf, v.mv_size);
            MDB_val nv = { v.mv_size + CD_CHECKSUM_BYTES, buf };
            if ((rc = mdb_put(txn, db->dbi[record_tables[t]], &kc, &nv, 0)) ||
                (rc = mdb_cursor_get(cur, &kc, &v, MDB_SET))) break;
            n++;
        }
        mdb_cursor_close(cur);
        if (rc == MDB_NOTFOUND) rc = 0;
    }
    free(buf);
    if (!rc) cd_info("data format 4 upgraded to 5 (%zu record values checksummed)", n);
    return rc;
}

/* Writes the format version into a new environment, upgrades an older one step by step, or
 * refuses one it does not know. */
static int check_format(cd_db *db, MDB_txn *txn)
{
    MDB_val k = { 6, (void *)"format" }, v;
    int rc = mdb_get(txn, db->dbi[CD_DBI_META], &k, &v);
    if (rc == MDB_NOTFOUND) {
        unsigned char buf[4];
        cd_put_u32be(buf, CD_DB_FORMAT);
        v = (MDB_val){ 4, buf };
        return mdb_put(txn, db->dbi[CD_DBI_META], &k, &v, 0);
    }
    if (rc) return rc;
    uint32_t format = v.mv_size == 4 ? cd_get_u32be(v.mv_data) : 0, stored = format;
    if (format == 1) {
        if ((rc = upgrade_1_to_2(db, txn))) return rc;
        format = 2;
    }
    if (format == 2) {
        if ((rc = upgrade_2_to_3(db, txn))) return rc;
        format = 3;
    }
    if (format == 3) {
        if ((rc = upgrade_3_to_4(db, txn))) return rc;
        format = 4;
    }
    if (format == 4) {
        if ((rc = add_checksums(db, txn))) return rc;
        format = 5;
    }
    if (format == 5) {
        /* Format 6 keeps the search postings in sorted runs (search_runs.h): the postings
         * are rebuilt by the index pass from the change log, as for format 3. */
        if ((rc = reindex_search(db, txn))) return rc;
        cd_info("data format 5 upgraded to 6 (search postings moved to runs, rebuilt by the index pass)");
        format = 6;
    }
    if (format == 6) {
        /* Format 7 keeps the claim index in sorted runs (index_runs.h): the one table's entries,
         * already in key order, are written into one run. */
        uint64_t moved;
        if ((rc = cd_ixruns_from_table(db, txn, db->dbi[CD_DBI_IDX], &moved)) ||
            (rc = mdb_drop(txn, db->dbi[CD_DBI_IDX], 0)))
            return rc;
        cd_info("data format 6 upgraded to 7 (%llu claim index entries moved to a run)", (unsigned long long)moved);
        format = 7;
    }
    if (format == 7) {
        /* Format 8 may store claim records packed with a dictionary (zrec.h); format 7's plain
         * records stay as they are, valid as ever. Only the version moves. */
        cd_info("data format 7 upgraded to 8 (claim records packed once a dictionary is trained)");
        format = 8;
    }
    if (format == CD_DB_FORMAT && stored != CD_DB_FORMAT) {
        unsigned char buf[4];
        cd_put_u32be(buf, CD_DB_FORMAT);
        MDB_val nv = { 4, buf };
        if ((rc = mdb_put(txn, db->dbi[CD_DBI_META], &k, &nv, 0))) return rc;
    }
    if (format != CD_DB_FORMAT) {
        cd_error("data format version %u is not %u, the one this claimd knows; refusing to open",
                 format, CD_DB_FORMAT);
        return MDB_VERSION_MISMATCH;
    }
    return 0;
}

/* Gives the data file real blocks over [from, to): a write through the map into a hole that the
 * file system cannot fill raises SIGBUS, so with MDB_WRITEMAP no page may be a hole. */
static int reserve(cd_db *db, size_t from, size_t to)
{
    mdb_filehandle_t fd;
    int rc = mdb_env_get_fd(db->env, &fd);
    if (rc) return rc;
    return to > from ? posix_fallocate(fd, (off_t)from, (off_t)(to - from)) : 0;
}

/* Opens the environment, with MDB_WRITEMAP when writemap is set. */
static int env_open(cd_db *db, const char *dir, size_t map_size, int writemap)
{
    int rc;
    if ((rc = mdb_env_create(&db->env))) return rc;
    if ((rc = mdb_env_set_maxdbs(db->env, 128)) || (rc = mdb_env_set_maxreaders(db->env, 256)) ||
        (rc = mdb_env_set_mapsize(db->env, map_size)) ||
        /* MDB_NOTLS: read txns are tied to our handles, not threads (the loop reuses one,
         * workers open their own). MDB_NORDAHEAD: random access over a map larger than RAM. */
        (rc = mdb_env_open(db->env, dir, MDB_NOTLS | MDB_NORDAHEAD | (writemap ? MDB_WRITEMAP : 0), 0640))) {
        mdb_env_close(db->env);
        db->env = NULL;
    }
    return rc;
}

int cd_db_open(cd_db *db, const char *dir, size_t map_size)
{
    memset(db, 0, sizeof *db);
    int rc = make_dirs(dir);
    if (rc) { cd_error("cannot create data directory %s: %s", dir, strerror(rc)); return rc; }
    /* Before anything opens the environment: a second daemon must not touch it at all. */
    if ((db->lock_fd = cd_dirlock_take(dir)) < 0) return EBUSY;
    db->locked = 1;
    /* Read-only first: nothing is written (no table, stamp or map reservation) into what is
     * not a claimd database, or is one of a newer format. */
    if ((rc = cd_db_inspect(dir))) {
        cd_dirlock_release(db->lock_fd);
        db->locked = 0;
        return rc;
    }
    /* MDB_WRITEMAP: a txn writes its pages in place in the shared map instead of malloc'd
     * copies written out at commit, so the heap stays small whatever a txn touches. It needs
     * the whole map backed by blocks (see reserve); where the disk cannot hold that, the
     * copies it is. Nothing is written through the map before the reservation. */
    if ((rc = env_open(db, dir, map_size, 1))) goto fail;
    MDB_envinfo info;
    mdb_env_info(db->env, &info);
    /* Data bigger than map_size maps exactly its own size (a compacted backup has no free
     * page either): leave room for the first txns (an upgrade, the first batch) as a growth
     * step would. */
    MDB_stat st;
    mdb_env_stat(db->env, &st);
    size_t used = (info.me_last_pgno + 1) * (size_t)st.ms_psize;
    size_t room = used + (used / 4 > CD_DB_GROW_MIN ? used / 4 : CD_DB_GROW_MIN);
    if (info.me_mapsize < used + used / 4 && (rc = mdb_env_set_mapsize(db->env, room)) == 0)
        mdb_env_info(db->env, &info);
    if (rc) goto fail_env;
    db->writemap = 1;
    if ((rc = reserve(db, 0, info.me_mapsize))) {
        cd_warn("cannot reserve %zu bytes for the map (%s): writing through malloc'd pages instead",
                info.me_mapsize, strerror(rc));
        mdb_env_close(db->env);
        db->env = NULL;
        db->writemap = 0;
        if ((rc = env_open(db, dir, info.me_mapsize, 0))) goto fail;
        mdb_env_info(db->env, &info);
    }
    db->map_size = info.me_mapsize;
    cd_db_reader_check(db);

    MDB_txn *txn;
    if ((rc = mdb_txn_begin(db->env, NULL, 0, &txn))) goto fail_env;
    for (int i = 0; i < CD_DBI_COUNT; i++)
        if ((rc = mdb_dbi_open(txn, tables[i].name, tables[i].flags | MDB_CREATE, &db->dbi[i])))
            goto fail_txn;
    for (int i = 0; i < CD_DB_RUN_SLOTS; i++) {
        char name[32];
        snprintf(name, sizeof name, "search_run%02d", i);
        if ((rc = mdb_dbi_open(txn, name, MDB_CREATE, &db->run_slots[i]))) goto fail_txn;
        snprintf(name, sizeof name, "index_run%02d", i);
        if ((rc = mdb_dbi_open(txn, name, MDB_CREATE, &db->ixrun_slots[i]))) goto fail_txn;
    }
    if ((rc = check_format(db, txn))) goto fail_txn;
    if ((rc = cd_zrec_load(txn, db->dbi[CD_DBI_META]))) goto fail_txn;
    if ((rc = empty_legacy_bands(db, txn))) goto fail_txn;
    if ((rc = mdb_txn_commit(txn))) goto fail_env;
    return 0;

fail_txn:
    mdb_txn_abort(txn);
fail_env:
    mdb_env_close(db->env);
    db->env = NULL;
fail:
    if (rc != MDB_VERSION_MISMATCH) cd_error("cannot open data in %s: %s", dir, mdb_strerror(rc));
    cd_dirlock_release(db->lock_fd);
    db->locked = 0;
    return rc;
}

void cd_db_close(cd_db *db)
{
    if (db->read_txn) { mdb_txn_abort(db->read_txn); db->read_txn = NULL; }
    if (db->env) { mdb_env_close(db->env); db->env = NULL; cd_zrec_unload(); }
    if (db->locked) { cd_dirlock_release(db->lock_fd); db->locked = 0; }
}

MDB_txn *cd_db_read_begin(cd_db *db)
{
    int rc;
    if (db->read_txn) rc = mdb_txn_renew(db->read_txn);
    else rc = mdb_txn_begin(db->env, NULL, MDB_RDONLY, &db->read_txn);
    if (rc) {
        cd_error("read transaction: %s", mdb_strerror(rc));
        if (db->read_txn) { mdb_txn_abort(db->read_txn); db->read_txn = NULL; }
        return NULL;
    }
    return db->read_txn;
}

void cd_db_read_end(cd_db *db)
{
    if (db->read_txn) mdb_txn_reset(db->read_txn);
}

uint64_t cd_db_next_id(MDB_txn *txn, MDB_dbi dbi)
{
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t next = 1;
    if (mdb_cursor_open(txn, dbi, &cur)) return 0;
    if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0 && k.mv_size >= 8)
        next = cd_get_u64be(k.mv_data) + 1;
    mdb_cursor_close(cur);
    return next;
}

int cd_db_grow(cd_db *db, size_t want)
{
    /* A quarter more each time, within [CD_DB_GROW_MIN, CD_DB_GROW_MAX]: with MDB_WRITEMAP the
     * whole map is allocated on disk, so the step is what the data directory holds beyond the
     * data (a quarter of a 12 GB map would be 3 GB of it; a 512 MiB step costs a remap per
     * ~40k claims, a few ms). */
    size_t size = db->map_size;
    while (size < want || size == db->map_size) {
        size_t step = size / 4;
        size += step < CD_DB_GROW_MIN ? CD_DB_GROW_MIN : step > CD_DB_GROW_MAX ? CD_DB_GROW_MAX : step;
    }
    int rc = db->writemap ? reserve(db, db->map_size, size) : 0;
    /* A nearly full disk: take a smaller step, down to 1 MiB, rather than none. */
    while (rc == ENOSPC && size - db->map_size > ((size_t)1 << 20) && (size + db->map_size) / 2 >= want)
        rc = reserve(db, db->map_size, size = db->map_size + ((size - db->map_size) / 2 & ~(size_t)4095));
    if (rc) {
        cd_warn("cannot reserve %zu more bytes for the map: %s", size - db->map_size, strerror(rc));
        /* A failed fallocate may keep what it did allocate: give it back, or every failed
         * attempt (an index pass retried on a full disk) would take more of the disk. */
        mdb_filehandle_t fd;
        if (db->writemap && mdb_env_get_fd(db->env, &fd) == 0 && ftruncate(fd, (off_t)db->map_size) < 0)
            cd_warn("cannot give back the failed reservation: %s", strerror(errno));
        return rc;
    }
    rc = mdb_env_set_mapsize(db->env, size);
    if (rc) return rc;
    cd_info("map size grown from %zu to %zu bytes", db->map_size, size);
    db->map_size = size;
    return 0;
}

int cd_db_reader_check(cd_db *db)
{
    int dead = 0;
    mdb_reader_check(db->env, &dead);
    if (dead) cd_info("cleared %d stale reader slot(s)", dead);
    return dead;
}
