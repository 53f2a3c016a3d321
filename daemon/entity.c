/* entity: storage of entities and the resolution of entity references in input. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "dispatch.h"
#include "entity.h"
#include "entity_keys.h"
#include "params.h"
#include "record.h"
#include "record_valid.h"
#include "text.h"

const char *const cd_entity_kind_names[] = {
    "person", "organization", "outlet", "government", "group", "unknown", NULL
};

enum { E_VER, E_NAME, E_KIND, E_ALIASES, E_DESC, E_WIKIDATA, E_MERGED, E_FIELDS };

int cd_entity_load(cd_call *c, MDB_txn *txn, uint64_t id, cd_entity *out)
{
    MDB_val v;
    int rc = cd_rec_get_id(c, txn, c->db->dbi[CD_DBI_ENTITIES], id, &v, "reading an entity");
    if (rc) return rc;
    if (cd_entity_decode(c, &v, id, out)) {
        unsigned char key[8];
        cd_put_u64be(key, id);
        MDB_val k = { 8, key };
        return cd_rec_report(c, "entities", &k);
    }
    return 0;
}

/* Field types and the kind's range (record_valid.h). */
static int valid_entity(cd_call *c, const msgpack_object *f)
{
    if (cd_rv_str(c, &f[E_NAME], "name", 1) || cd_rv_enum(c, &f[E_KIND], "kind", cd_names_count(cd_entity_kind_names), 0) ||
        cd_rv_array(c, &f[E_ALIASES], "aliases") || cd_rv_str(c, &f[E_DESC], "description", 0) ||
        cd_rv_str(c, &f[E_WIKIDATA], "wikidata", 0) || cd_rv_uint(c, &f[E_MERGED], "merged_into"))
        return -1;
    for (uint32_t i = 0; i < f[E_ALIASES].via.array.size; i++)
        if (cd_rv_str(c, &f[E_ALIASES].via.array.ptr[i], "aliases", 0)) return -1;
    return 0;
}

int cd_entity_decode(cd_call *c, const MDB_val *v, uint64_t id, cd_entity *out)
{
    msgpack_object o;
    if (cd_rec_unpack(c, v, E_FIELDS, &o) || valid_entity(c, o.via.array.ptr)) return -1;
    const msgpack_object *f = o.via.array.ptr;
    memset(out, 0, sizeof *out);
    out->id = id;
    out->name = cd_rec_str(&f[E_NAME]);
    out->kind = (int)cd_rec_u64(&f[E_KIND]);
    if (out->kind > CD_KIND_UNKNOWN) out->kind = CD_KIND_UNKNOWN;
    if (f[E_ALIASES].type == MSGPACK_OBJECT_ARRAY && f[E_ALIASES].via.array.size) {
        out->naliases = f[E_ALIASES].via.array.size;
        out->aliases = cd_call_alloc(c, out->naliases * sizeof *out->aliases);
        if (!out->aliases) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
        for (size_t i = 0; i < out->naliases; i++)
            out->aliases[i] = cd_rec_str(&f[E_ALIASES].via.array.ptr[i]);
    }
    out->description = cd_rec_str(&f[E_DESC]);
    out->wikidata = cd_rec_str(&f[E_WIKIDATA]);
    out->merged_into = cd_rec_u64(&f[E_MERGED]);
    return 0;
}

int cd_entity_index_name(cd_call *c, MDB_txn *txn, cd_str name, uint64_t id, uint64_t old_id)
{
    int rc = cd_entity_keys_put(c->db, txn, name.p, name.n, id, old_id);
    if (rc == EILSEQ) return cd_fail(c, CLAIMD_E_INVALID, "name", "not valid UTF-8");
    if (rc == ENOMEM) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    return rc ? cd_fail_mdb(c, rc, "indexing an alias") : 0;
}

int cd_entity_store(cd_call *c, MDB_txn *txn, const cd_entity *e, const char *op)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, E_FIELDS);
    msgpack_pack_uint8(&pk, 1);
    cd_rec_pack_str(&pk, e->name);
    msgpack_pack_uint8(&pk, (uint8_t)e->kind);
    msgpack_pack_array(&pk, (uint32_t)e->naliases);
    for (size_t i = 0; i < e->naliases; i++) cd_rec_pack_str(&pk, e->aliases[i]);
    cd_rec_pack_str(&pk, e->description);
    cd_rec_pack_str(&pk, e->wikidata);
    msgpack_pack_uint64(&pk, e->merged_into);
    unsigned char key[8];
    cd_put_u64be(key, e->id);
    int rc = cd_rec_put(c, txn, c->db->dbi[CD_DBI_ENTITIES], key, 8, &sb, 0, "storing an entity");
    msgpack_sbuffer_destroy(&sb);
    if (rc) return rc;
    if (!e->merged_into) {
        if (cd_entity_index_name(c, txn, e->name, e->id, 0)) return -1;
        for (size_t i = 0; i < e->naliases; i++)
            if (cd_entity_index_name(c, txn, e->aliases[i], e->id, 0)) return -1;
    }
    return op ? cd_change_log(c, txn, op, "entity", e->id) : 0;
}

/* A per-call memo of names already looked up (exact bytes -> id): an import names the same
 * speakers and outlets over and over, and folding a name is the costly step. Zone memory;
 * dropped by cd_call_reset. Only found names are kept, and entity ids never change within a
 * call except in entity.merge, which does not look names up after merging. */
#define NAME_CACHE_SLOTS 512
struct cd_name_cache {
    struct { const char *name; size_t n; uint64_t id; } slot[NAME_CACHE_SLOTS];
};

static uint64_t *name_cache_slot(cd_call *c, const char *name, size_t n, int insert)
{
    if (!c->names) {
        if (!insert) return NULL;
        c->names = cd_call_alloc(c, sizeof *c->names);
        if (!c->names) return NULL;
        memset(c->names, 0, sizeof *c->names);
    }
    size_t h = (size_t)cd_hash64(name, n) % NAME_CACHE_SLOTS;
    for (int probe = 0; probe < 8; probe++, h = (h + 1) % NAME_CACHE_SLOTS) {
        if (!c->names->slot[h].name) {
            if (!insert) return NULL;
            c->names->slot[h].name = name;
            c->names->slot[h].n = n;
            return &c->names->slot[h].id;
        }
        if (c->names->slot[h].n == n && memcmp(c->names->slot[h].name, name, n) == 0)
            return &c->names->slot[h].id;
    }
    return NULL;
}

int cd_entity_lookup(cd_call *c, MDB_txn *txn, const char *name, size_t n, uint64_t *id)
{
    uint64_t *memo = name_cache_slot(c, name, n, 0);
    if (memo && *memo) { *id = *memo; return 0; }
    size_t flen;
    char *folded = cd_text_name_key(name, n, &flen);
    if (!folded) return cd_fail(c, CLAIMD_E_INVALID, NULL, "name is not valid UTF-8");
    *id = 0;
    MDB_val k = { flen, folded }, v;
    int rc = flen && flen <= CD_KEY_MAX ? mdb_get(txn, c->db->dbi[CD_DBI_ALIASES], &k, &v) : MDB_NOTFOUND;
    free(folded);
    if (rc == MDB_NOTFOUND) return 0;
    if (rc) return cd_fail_mdb(c, rc, "looking up a name");
    *id = cd_get_u64be(v.mv_data);
    /* A merged entity answers as the one it was merged into; the hop bound guards cycles. */
    for (int hop = 0; hop < 16; hop++) {
        cd_entity e;
        rc = cd_entity_load(c, txn, *id, &e);
        if (rc == MDB_NOTFOUND) { *id = 0; return 0; }
        if (rc) return -1;
        if (!e.merged_into) break;
        *id = e.merged_into;
    }
    /* The memo keeps a pointer to name: names come from the call's own request or zone. */
    if (*id && (memo = name_cache_slot(c, name, n, 1))) *memo = *id;
    return 0;
}

/* Whether name has the name key of the entity's name or one of its aliases. */
static int entity_has_name(const cd_entity *e, cd_str name)
{
    size_t a, b;
    char *fa = cd_text_name_key(name.p, name.n, &a);
    int found = 0;
    for (size_t i = 0; fa && !found && i <= e->naliases; i++) {
        cd_str s = i == 0 ? e->name : e->aliases[i - 1];
        char *fb = cd_text_name_key(s.p, s.n, &b);
        found = fb && a == b && memcmp(fa, fb, a) == 0;
        free(fb);
    }
    free(fa);
    return found;
}

typedef struct {
    cd_str name, description, wikidata;
    int kind, has_kind;
    cd_str aliases[CD_ALIASES_MAX];
    size_t naliases;
} entity_input;

/* Validates an entity map (as in entity.put or an entity reference map) into *in. */
static int parse_entity_map(cd_call *c, const msgpack_object *m, const char *field, entity_input *in)
{
    static const char *const allowed[] = { "id", "name", "kind", "aliases", "description", "wikidata", NULL };
    memset(in, 0, sizeof *in);
    in->kind = CD_KIND_UNKNOWN;
    const msgpack_object *al = NULL;
    if (cd_params_only(c, m, field, allowed) ||
        cd_get_str(c, m, field, "name", CD_REQUIRED, CD_NAME_MAX, &in->name) ||
        cd_get_str(c, m, field, "description", CD_OPTIONAL, 4096, &in->description) ||
        cd_get_str(c, m, field, "wikidata", CD_OPTIONAL, 32, &in->wikidata) ||
        cd_get_array(c, m, field, "aliases", CD_OPTIONAL, CD_ALIASES_MAX, &al))
        return -1;
    if (cd_map_get(m, "kind")) {
        if (cd_get_enum(c, m, field, "kind", CD_REQUIRED, cd_entity_kind_names, &in->kind)) return -1;
        in->has_kind = 1;
    }
    if (in->wikidata.n) {
        int ok = in->wikidata.n >= 2 && in->wikidata.p[0] == 'Q' && in->wikidata.p[1] != '0';
        for (size_t i = 1; ok && i < in->wikidata.n; i++)
            ok = in->wikidata.p[i] >= '0' && in->wikidata.p[i] <= '9';
        if (!ok) return cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, field, "wikidata"),
                                "must be a Wikidata item id like Q30");
    }
    for (uint32_t i = 0; al && i < al->via.array.size; i++) {
        const char *f = cd_call_printf(c, "%s%saliases[%u]", field ? field : "", field ? "." : "", i);
        if (cd_check_str(c, &al->via.array.ptr[i], f, CD_NAME_MAX, &in->aliases[in->naliases])) return -1;
        in->naliases++;
    }
    return 0;
}

/* Adds what the input brings to an existing entity; stores it only if something changed. */
static int extend_entity(cd_call *c, MDB_txn *txn, cd_entity *e, const entity_input *in)
{
    int changed = 0;
    cd_str *all = cd_call_alloc(c, (e->naliases + in->naliases + 1) * sizeof *all);
    if (!all) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    cd_copy(all, e->aliases, e->naliases * sizeof *all);
    cd_entity grown = *e;
    grown.aliases = all;
    cd_str cands[CD_ALIASES_MAX + 1];
    size_t ncands = 0;
    cands[ncands++] = in->name;
    for (size_t i = 0; i < in->naliases; i++) cands[ncands++] = in->aliases[i];
    for (size_t i = 0; i < ncands; i++) {
        if (entity_has_name(&grown, cands[i])) continue;
        if (grown.naliases >= CD_ENTITY_ALIASES_MAX)
            return cd_fail(c, CLAIMD_E_TOO_LARGE, "aliases", "entity %llu already has %d aliases, the most it may have",
                           (unsigned long long)e->id, CD_ENTITY_ALIASES_MAX);
        all[grown.naliases++] = cands[i];
        changed = 1;
    }
    if (in->has_kind && grown.kind == CD_KIND_UNKNOWN && in->kind != CD_KIND_UNKNOWN) {
        grown.kind = in->kind;
        changed = 1;
    }
    if (!grown.description.n && in->description.n) { grown.description = in->description; changed = 1; }
    if (!grown.wikidata.n && in->wikidata.n) { grown.wikidata = in->wikidata; changed = 1; }
    if (!changed) return 0;
    *e = grown;
    return cd_entity_store(c, txn, e, "entity.update");
}

/* Finds or creates the entity an entity map describes. */
static int resolve_map(cd_call *c, MDB_txn *txn, const entity_input *in, int create, uint64_t *id)
{
    if (cd_entity_lookup(c, txn, in->name.p, in->name.n, id)) return -1;
    for (size_t i = 0; !*id && i < in->naliases; i++)
        if (cd_entity_lookup(c, txn, in->aliases[i].p, in->aliases[i].n, id)) return -1;
    if (!create) return 0;
    cd_entity e;
    if (*id) {
        /* Found by its name and bringing nothing more: nothing to add. */
        if (!in->naliases && !in->has_kind && !in->description.n && !in->wikidata.n) return 0;
        if (cd_entity_load(c, txn, *id, &e)) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "entity vanished");
        return extend_entity(c, txn, &e, in);
    }
    memset(&e, 0, sizeof e);
    e.id = cd_db_next_id(txn, c->db->dbi[CD_DBI_ENTITIES]);
    e.name = in->name;
    e.kind = in->kind;
    e.aliases = (cd_str *)in->aliases;
    e.naliases = in->naliases;
    e.description = in->description;
    e.wikidata = in->wikidata;
    *id = e.id;
    return cd_entity_store(c, txn, &e, "entity.create");
}

int cd_entity_resolve(cd_call *c, MDB_txn *txn, const msgpack_object *ref, const char *field,
                      int create, uint64_t *id)
{
    *id = 0;
    if (ref->type == MSGPACK_OBJECT_STR) {
        entity_input in;
        memset(&in, 0, sizeof in);
        in.kind = CD_KIND_UNKNOWN;
        if (cd_check_str(c, ref, field, CD_NAME_MAX, &in.name)) return -1;
        return resolve_map(c, txn, &in, create, id);
    }
    if (ref->type != MSGPACK_OBJECT_MAP)
        return cd_fail(c, CLAIMD_E_INVALID, field, "an entity reference is a name, {\"id\": N} or an entity map");
    if (cd_map_get(ref, "id")) {
        uint64_t want;
        if (cd_get_u64(c, ref, field, "id", CD_REQUIRED, 1, UINT64_MAX, &want)) return -1;
        cd_entity e;
        for (int hop = 0; hop < 16; hop++) {
            int rc = cd_entity_load(c, txn, want, &e);
            if (rc == MDB_NOTFOUND)
                return cd_fail(c, CLAIMD_E_NOT_FOUND, field, "no entity with id %llu", (unsigned long long)want);
            if (rc) return -1;
            if (!e.merged_into) break;
            want = e.merged_into;
        }
        *id = want;
        return 0;
    }
    entity_input in;
    if (parse_entity_map(c, ref, field, &in)) return -1;
    return resolve_map(c, txn, &in, create, id);
}

/* Each thread's memo of entity references (id -> the id and name it answers as): every claim
 * read packs a few, and each would otherwise be an mdb_get and a record decode. Reads run on the
 * loop and on the thread pool (readpool.h), so each thread keeps its own and none is shared.
 * Names never change; merges do: an entity.merge commit advances srv->ref_gen, and a memo that
 * is behind the epoch a read took before its txn began (cd_entity_refs_snapshot) is emptied. A
 * read whose epoch is older than the memo's (its snapshot predates a merge the memo already
 * knows) neither uses nor fills it. Write calls, on the writer thread, never use it. */
#define REF_CACHE_SLOTS 4096
#define REF_NAME_MAX 56
struct cd_ref_cache {
    uint64_t gen;                /* the epoch its entries were learned in */
    struct { uint64_t id, as_id; uint32_t len; char name[REF_NAME_MAX]; } slot[REF_CACHE_SLOTS];
};

static _Thread_local struct cd_ref_cache *tl_refs;
static pthread_once_t refs_key_once = PTHREAD_ONCE_INIT;
static pthread_key_t refs_key;
static int refs_key_ready;

/* pthread key destructor: a pool thread's memo goes when the thread exits. */
static void refs_free_at_exit(void *p)
{
    if (tl_refs == p) tl_refs = NULL;
    free(p);
}

static void refs_make_key(void)
{
    refs_key_ready = pthread_key_create(&refs_key, refs_free_at_exit) == 0;
}

/* This thread's memo for a read of epoch gen, emptied when it is behind; NULL when the read
 * is older than the memo or memory is short. */
static struct cd_ref_cache *thread_refs(uint64_t gen)
{
    if (!tl_refs) {
        tl_refs = calloc(1, sizeof *tl_refs);
        if (!tl_refs) return NULL;
        tl_refs->gen = gen;
        pthread_once(&refs_key_once, refs_make_key);
        if (refs_key_ready) pthread_setspecific(refs_key, tl_refs);
    }
    if (tl_refs->gen == gen) return tl_refs;
    if (tl_refs->gen > gen) return NULL;
    memset(tl_refs->slot, 0, sizeof tl_refs->slot);
    tl_refs->gen = gen;
    return tl_refs;
}

void cd_entity_ref_cache_clear(_Atomic uint64_t *gen)
{
    atomic_fetch_add(gen, 1);
}

void cd_entity_refs_snapshot(cd_call *c, _Atomic uint64_t *gen)
{
    c->ref_gen = atomic_load(gen);
}

void cd_entity_ref_cache_free(cd_server *srv)
{
    (void)srv;
    if (refs_key_ready) pthread_setspecific(refs_key, NULL);
    free(tl_refs);
    tl_refs = NULL;
}

void cd_entity_pack_ref(cd_call *c, MDB_txn *txn, msgpack_packer *pk, uint64_t id, unsigned extra)
{
    int cacheable = c->method && !(c->method->flags & CD_M_WRITE);
    struct cd_ref_cache *refs = cacheable ? thread_refs(c->ref_gen) : NULL;
    size_t slot = (size_t)(id % REF_CACHE_SLOTS);
    if (refs && refs->slot[slot].id == id && id) {
        msgpack_pack_map(pk, 2 + extra);
        cd_pack_cstr(pk, "id");
        msgpack_pack_uint64(pk, refs->slot[slot].as_id);
        cd_pack_cstr(pk, "name");
        cd_pack_strn(pk, refs->slot[slot].name, refs->slot[slot].len);
        return;
    }
    cd_entity e;
    cd_str name = { "", 0 };
    uint64_t asked = id;
    int found = 0;
    /* Output names the entity a merged one now answers as. */
    for (int hop = 0; hop < 16 && cd_entity_load(c, txn, id, &e) == 0; hop++) {
        name = e.name;
        found = 1;
        if (!e.merged_into) break;
        id = e.merged_into;
    }
    if (refs && found && name.n <= REF_NAME_MAX) {
        refs->slot[slot].id = asked;
        refs->slot[slot].as_id = id;
        refs->slot[slot].len = (uint32_t)name.n;
        cd_copy(refs->slot[slot].name, name.p, name.n);
    }
    msgpack_pack_map(pk, 2 + extra);
    cd_pack_cstr(pk, "id");
    msgpack_pack_uint64(pk, id);
    cd_pack_cstr(pk, "name");
    cd_pack_strn(pk, name.p, name.n);
}

void cd_entity_pack(msgpack_packer *pk, const cd_entity *e)
{
    cd_entity_pack_extra(pk, e, 0);
}

void cd_entity_pack_extra(msgpack_packer *pk, const cd_entity *e, unsigned extra)
{
    msgpack_pack_map(pk, 4 + !!e->description.n + !!e->wikidata.n + !!e->merged_into + extra);
    cd_pack_cstr(pk, "id");
    msgpack_pack_uint64(pk, e->id);
    cd_pack_cstr(pk, "name");
    cd_pack_strn(pk, e->name.p, e->name.n);
    cd_pack_cstr(pk, "kind");
    cd_pack_cstr(pk, cd_entity_kind_names[e->kind]);
    cd_pack_cstr(pk, "aliases");
    msgpack_pack_array(pk, (uint32_t)e->naliases);
    for (size_t i = 0; i < e->naliases; i++) cd_pack_strn(pk, e->aliases[i].p, e->aliases[i].n);
    if (e->description.n) { cd_pack_cstr(pk, "description"); cd_pack_strn(pk, e->description.p, e->description.n); }
    if (e->wikidata.n) { cd_pack_cstr(pk, "wikidata"); cd_pack_strn(pk, e->wikidata.p, e->wikidata.n); }
    if (e->merged_into) { cd_pack_cstr(pk, "merged_into"); msgpack_pack_uint64(pk, e->merged_into); }
}

int cd_entity_resolve_name(cd_call *c, MDB_txn *txn, cd_str name, int kind, int create, uint64_t *id)
{
    entity_input in;
    memset(&in, 0, sizeof in);
    in.name = name;
    in.kind = kind >= 0 ? kind : CD_KIND_UNKNOWN;
    in.has_kind = kind >= 0;
    return resolve_map(c, txn, &in, create, id);
}
