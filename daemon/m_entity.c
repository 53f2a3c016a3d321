/* m_entity: entity.put, entity.get, entity.find. */
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "entity.h"
#include "entity_keys.h"
#include "methods.h"
#include "params.h"
#include "server.h"
#include "text.h"

#define FIND_LIMIT_DEFAULT 20
#define FIND_LIMIT_MAX 1000

void cd_m_entity_put(cd_call *c, MDB_txn *txn)
{
    uint64_t id;
    if (c->params.type != MSGPACK_OBJECT_MAP) { cd_fail(c, CLAIMD_E_INVALID, "name", "required"); return; }
    if (cd_map_get(&c->params, "id")) {
        cd_fail(c, CLAIMD_E_INVALID, "id", "ids are assigned by the daemon");
        return;
    }
    if (cd_entity_resolve(c, txn, &c->params, NULL, 1, &id)) return;
    cd_entity e;
    if (cd_entity_load(c, txn, id, &e)) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "entity vanished"); return; }
    cd_entity_pack(&c->pk, &e);
}

void cd_m_entity_get(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "id", NULL };
    uint64_t id;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_u64(c, &c->params, NULL, "id", CD_REQUIRED, 1, UINT64_MAX, &id))
        return;
    cd_entity e;
    int rc = cd_entity_load(c, txn, id, &e);
    if (rc == MDB_NOTFOUND) { cd_fail(c, CLAIMD_E_NOT_FOUND, "id", "no entity with id %llu", (unsigned long long)id); return; }
    if (rc) return;
    cd_entity_pack(&c->pk, &e);
}

/* entity.find's candidates: an id and how it was found (lower tier and distance rank first). */
typedef enum { TIER_EXACT, TIER_LATIN, TIER_SOUND, TIER_CLOSE, TIER_COUNT } find_tier;
static const char *const tier_names[TIER_COUNT] = { "exact", "transliterated", "sound", "close" };

#define FIND_CANDIDATES_MAX 4096  /* ids collected before ranking */
#define FIND_SCAN_MAX 20000       /* sound keys compared by edit distance, at most */

typedef struct { uint64_t id; unsigned tier, dist; } find_cand;
typedef struct { find_cand *v; size_t n, cap; } cand_list;

/* Adds id at tier/dist, or improves the rank of an id already there. */
static void cand_add(cand_list *l, uint64_t id, unsigned tier, unsigned dist)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].id == id) {
            if (tier < l->v[i].tier || (tier == l->v[i].tier && dist < l->v[i].dist))
                l->v[i].tier = tier, l->v[i].dist = dist;
            return;
        }
    if (l->n < l->cap) l->v[l->n++] = (find_cand){ id, tier, dist };
}

/* Adds the ids under keys of dbi equal to (or, with prefix, starting with) key[0..n). */
static void scan_keys(MDB_txn *txn, MDB_dbi dbi, const char *key, size_t n, int prefix,
                      cand_list *l, unsigned tier)
{
    MDB_cursor *cur;
    if (n == 0 || n > CD_KEY_MAX + 1 || mdb_cursor_open(txn, dbi, &cur)) return;
    MDB_val k = { n, (void *)key }, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (size_t seen = 0; rc == 0 && l->n < l->cap && seen < FIND_SCAN_MAX; seen++) {
        if (k.mv_size < n || memcmp(k.mv_data, key, n) != 0) break;
        if (!prefix && k.mv_size != n) break;
        if (v.mv_size == 8) cand_add(l, cd_get_u64be(v.mv_data), tier, 0);
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
}

/* The most edits between sound keys still called close: a tenth of the key, 1 to 3. */
static unsigned close_max(size_t n)
{
    return n <= 5 ? 1 : n <= 12 ? 2 : 3;
}

/* Adds the ids whose sound key is within close_max edits of sound[0..n) and starts with the
 * same letter (a bounded range of name_keys, not a scan of every name). */
static void scan_close(MDB_txn *txn, MDB_dbi dbi, const char *sound, size_t n, cand_list *l)
{
    MDB_cursor *cur;
    if (n == 0 || n > CD_KEY_MAX || mdb_cursor_open(txn, dbi, &cur)) return;
    char head[2] = { CD_NAME_KEY_SOUND, sound[0] };
    unsigned max = close_max(n);
    MDB_val k = { 2, head }, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (size_t seen = 0; rc == 0 && l->n < l->cap && seen < FIND_SCAN_MAX; seen++) {
        if (k.mv_size < 2 || memcmp(k.mv_data, head, 2) != 0) break;
        unsigned d = cd_text_edit_distance(sound, n, (const char *)k.mv_data + 1, k.mv_size - 1, max);
        if (d <= max && v.mv_size == 8) cand_add(l, cd_get_u64be(v.mv_data), TIER_CLOSE, d);
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    mdb_cursor_close(cur);
}

/* Name keys of one entity's names equal to key[0..n)? */
static int has_name_key(const cd_entity *e, const char *key, size_t n)
{
    int found = 0;
    for (size_t i = 0; !found && i <= e->naliases; i++) {
        cd_str s = i == 0 ? e->name : e->aliases[i - 1];
        size_t kl;
        char *k = cd_text_name_key(s.p, s.n, &kl);
        found = k && kl == n && memcmp(k, key, n) == 0;
        free(k);
    }
    return found;
}

static int cand_cmp(const void *a, const void *b)
{
    const find_cand *x = a, *y = b;
    if (x->tier != y->tier) return x->tier < y->tier ? -1 : 1;
    if (x->dist != y->dist) return x->dist < y->dist ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

void cd_m_entity_find(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "name", "prefix", "limit", NULL };
    cd_str name = { 0 }, prefix = { 0 };
    uint64_t limit = FIND_LIMIT_DEFAULT;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_str(c, &c->params, NULL, "name", CD_OPTIONAL, CD_NAME_MAX, &name) ||
        cd_get_str(c, &c->params, NULL, "prefix", CD_OPTIONAL, CD_NAME_MAX, &prefix) ||
        cd_get_u64(c, &c->params, NULL, "limit", CD_OPTIONAL, 1, FIND_LIMIT_MAX, &limit))
        return;
    if (!name.n == !prefix.n) { cd_fail(c, CLAIMD_E_INVALID, "name", "give exactly one of name or prefix"); return; }
    int is_prefix = prefix.n > 0;
    cd_str q = is_prefix ? prefix : name;
    size_t klen = 0, llen = 0, slen = 0;
    char *key = cd_text_name_key(q.p, q.n, &klen);
    char *latin = key ? cd_text_latin_key(key, klen, &llen) : NULL;
    char *sound = latin ? cd_text_sound_key(latin, llen, &slen) : NULL;
    char *lk = latin ? malloc(llen + 1) : NULL, *sk = sound ? malloc(slen + 1) : NULL;
    cand_list l = { cd_call_alloc(c, FIND_CANDIDATES_MAX * sizeof *l.v), 0, FIND_CANDIDATES_MAX };
    if (!key || !l.v) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); goto out; }
    MDB_dbi keys = c->srv->db.dbi[CD_DBI_NAME_KEYS];
    scan_keys(txn, c->srv->db.dbi[CD_DBI_ALIASES], key, klen, is_prefix, &l, TIER_EXACT);
    if (lk) {
        lk[0] = CD_NAME_KEY_LATIN;
        memcpy(lk + 1, latin, llen);
        scan_keys(txn, keys, lk, llen + 1, is_prefix, &l, TIER_LATIN);
    }
    if (sk) {
        sk[0] = CD_NAME_KEY_SOUND;
        memcpy(sk + 1, sound, slen);
        scan_keys(txn, keys, sk, slen + 1, is_prefix, &l, TIER_SOUND);
        if (!is_prefix) scan_close(txn, keys, sound, slen, &l);
    }
    /* Merged entities answer as their target, at the best rank either had; an entity found
     * another way that has a name with the query's own key is an exact match too. */
    find_cand *ranked = cd_call_alloc(c, (l.n ? l.n : 1) * sizeof *ranked);
    cd_entity *ents = cd_call_alloc(c, (l.n ? l.n : 1) * sizeof *ents);
    if (!ranked || !ents) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); goto out; }
    size_t m = 0;
    for (size_t i = 0; i < l.n; i++) {
        cd_entity e;
        int rc = cd_entity_load(c, txn, l.v[i].id, &e);
        for (int hop = 0; rc == 0 && hop < 16 && e.merged_into; hop++)
            rc = cd_entity_load(c, txn, e.merged_into, &e);
        if (rc == MDB_NOTFOUND || (rc == 0 && e.merged_into)) continue;
        if (rc) goto out;               /* error set on c */
        find_cand fc = l.v[i];
        fc.id = e.id;
        if (fc.tier > TIER_EXACT && !is_prefix && has_name_key(&e, key, klen)) fc.tier = TIER_EXACT, fc.dist = 0;
        size_t j = 0;
        while (j < m && ranked[j].id != e.id) j++;
        if (j == m) { ents[m] = e; ranked[m++] = fc; }
        else if (cand_cmp(&fc, &ranked[j]) < 0) ranked[j].tier = fc.tier, ranked[j].dist = fc.dist;
    }
    /* Sort indexes so each entity stays with its rank. */
    size_t *order = cd_call_alloc(c, (m ? m : 1) * sizeof *order);
    if (!order) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); goto out; }
    for (size_t i = 0; i < m; i++) order[i] = i;
    for (size_t i = 1; i < m; i++)          /* insertion sort: m is small (a few candidates) */
        for (size_t j = i; j > 0 && cand_cmp(&ranked[order[j]], &ranked[order[j - 1]]) < 0; j--) {
            size_t t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
        }
    if (m > limit) m = (size_t)limit;
    msgpack_pack_map(&c->pk, 1);
    cd_pack_cstr(&c->pk, "items");
    msgpack_pack_array(&c->pk, (uint32_t)m);
    for (size_t i = 0; i < m; i++) {
        const find_cand *fc = &ranked[order[i]];
        cd_entity_pack_extra(&c->pk, &ents[order[i]], fc->tier == TIER_CLOSE ? 2 : 1);
        cd_pack_cstr(&c->pk, "match");
        cd_pack_cstr(&c->pk, tier_names[fc->tier]);
        if (fc->tier == TIER_CLOSE) {
            cd_pack_cstr(&c->pk, "distance");
            msgpack_pack_uint32(&c->pk, fc->dist);
        }
    }
out:
    free(key);
    free(latin);
    free(sound);
    free(lk);
    free(sk);
}
