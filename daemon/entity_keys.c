/* entity_keys: name keys of entities (see entity_keys.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "bytes.h"
#include "entity_keys.h"
#include "log.h"
#include "text.h"

/* Adds prefix+key -> id to name_keys (a set of ids per key). */
static int put_key(const cd_db *db, MDB_txn *txn, char prefix, const char *key, size_t n,
                   const unsigned char idb[8])
{
    if (n == 0 || n + 1 > CD_KEY_MAX) return 0;
    char buf[CD_KEY_MAX + 1];
    buf[0] = prefix;
    memcpy(buf + 1, key, n);
    MDB_val k = { n + 1, buf }, v = { 8, (void *)idb };
    int rc = mdb_put(txn, db->dbi[CD_DBI_NAME_KEYS], &k, &v, MDB_NODUPDATA);
    return rc == MDB_KEYEXIST ? 0 : rc;
}

int cd_entity_keys_put(const cd_db *db, MDB_txn *txn, const char *name, size_t n, uint64_t id,
                       uint64_t old_id)
{
    size_t klen, llen = 0, slen = 0;
    char *key = cd_text_name_key(name, n, &klen);
    if (!key) return cd_text_valid_utf8(name, n) ? ENOMEM : EILSEQ;
    int rc = 0;
    unsigned char idb[8];
    cd_put_u64be(idb, id);
    if (klen > 0 && klen <= CD_KEY_MAX) {
        MDB_dbi dbi = db->dbi[CD_DBI_ALIASES];
        MDB_val k = { klen, key }, v = { 8, idb }, cur;
        /* The first entity to claim a name keeps it, unless it is being merged away. */
        rc = mdb_get(txn, dbi, &k, &cur);
        if (rc == MDB_NOTFOUND || (rc == 0 && old_id && cd_get_u64be(cur.mv_data) == old_id))
            rc = mdb_put(txn, dbi, &k, &v, 0);
    }
    /* Latin and sound keys list every entity with the name, owner or not: entity.find shows
     * the duplicates a desk may want to merge. No transliterator (ICU missing data): none. */
    char *latin = rc || !klen ? NULL : cd_text_latin_key(key, klen, &llen);
    char *sound = latin ? cd_text_sound_key(latin, llen, &slen) : NULL;
    if (latin && !rc) rc = put_key(db, txn, CD_NAME_KEY_LATIN, latin, llen, idb);
    if (sound && !rc) rc = put_key(db, txn, CD_NAME_KEY_SOUND, sound, slen, idb);
    free(sound);
    free(latin);
    free(key);
    return rc;
}

/* Entity record fields (entity.c): [ver, name, kind, aliases, description, wikidata, merged]. */
enum { F_NAME = 1, F_ALIASES = 3, F_MERGED = 6, F_COUNT = 7 };

static int index_record(const cd_db *db, MDB_txn *txn, uint64_t id, const MDB_val *v)
{
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = 0;
    if (msgpack_unpack_next(&u, v->mv_data, v->mv_size, &off) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_ARRAY || u.data.via.array.size < F_COUNT) {
        cd_warn("entity %llu: unreadable record, its names are not indexed", (unsigned long long)id);
        goto out;
    }
    const msgpack_object *f = u.data.via.array.ptr;
    if (f[F_MERGED].type == MSGPACK_OBJECT_POSITIVE_INTEGER && f[F_MERGED].via.u64) goto out;
    const msgpack_object *al = &f[F_ALIASES];
    uint32_t na = al->type == MSGPACK_OBJECT_ARRAY ? al->via.array.size : 0;
    for (uint32_t i = 0; i <= na && !rc; i++) {
        const msgpack_object *s = i == 0 ? &f[F_NAME] : &al->via.array.ptr[i - 1];
        if (s->type != MSGPACK_OBJECT_STR) continue;
        rc = cd_entity_keys_put(db, txn, s->via.str.ptr, s->via.str.size, id, 0);
        if (rc == EILSEQ) rc = 0;   /* names were validated when written */
    }
out:
    msgpack_unpacked_destroy(&u);
    return rc;
}

int cd_entity_keys_rebuild(const cd_db *db, MDB_txn *txn)
{
    MDB_cursor *cur;
    MDB_val k, v;
    size_t n = 0;
    int rc;
    if ((rc = mdb_drop(txn, db->dbi[CD_DBI_ALIASES], 0)) || (rc = mdb_drop(txn, db->dbi[CD_DBI_NAME_KEYS], 0)) ||
        (rc = mdb_cursor_open(txn, db->dbi[CD_DBI_ENTITIES], &cur)))
        return rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8) continue;
        /* Copy: writing other tables may move the page v points into. */
        MDB_val copy = { v.mv_size, malloc(v.mv_size ? v.mv_size : 1) };
        if (!copy.mv_data) { rc = ENOMEM; break; }
        memcpy(copy.mv_data, v.mv_data, v.mv_size);
        rc = index_record(db, txn, cd_get_u64be(k.mv_data), &copy);
        free(copy.mv_data);
        if (rc) break;
        n++;
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND) rc = 0;
    if (!rc) cd_info("entity names re-keyed (%zu entities): punctuation folded, Latin and sound keys indexed", n);
    return rc;
}
