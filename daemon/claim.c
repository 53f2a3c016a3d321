/* claim: input parsing, the stored encoding, and the wire output of a claim. */
#include <string.h>
#include "claim.h"
#include "entity.h"
#include "isotime.h"
#include "params.h"
#include "record.h"
#include "record_valid.h"

const char *const cd_medium_names[] = {
    "post", "statement", "interview", "speech", "press-conference", "press-release", "broadcast",
    "article", "document", "testimony", "other", NULL
};
const char *const cd_via_how_names[] = {
    "quoted", "reported", "citing", "with-reporting-by", "translated", "other", NULL
};
const char *const cd_rating_names[] = {
    "true", "mostly-true", "mixed", "mostly-false", "false", "misleading", "unproven", "in-review", NULL
};

enum { C_VER, C_ID, C_REV, C_TEXT, C_QUOTE, C_LANG, C_SPEAKER, C_ROLE, C_ATTR, C_SAID, C_MEDIUM,
       C_VIA, C_APPS, C_ABOUT, C_TAGS, C_EXTID, C_RECAT, C_RECBY, C_STATUS, C_RETRACTED,
       C_RREASON, C_UPDATED, C_FIELDS };

int cd_get_time(cd_call *c, const msgpack_object *map, const char *prefix, const char *key,
                int required, cd_str *canon, int64_t *start_us)
{
    cd_str s = { 0 };
    if (cd_get_str(c, map, prefix, key, required ? CD_REQUIRED : CD_OPTIONAL, 64, &s)) return -1;
    if (!s.n) return 0;
    cd_time t;
    if (cd_time_parse(s.p, s.n, &t) < 0)
        return cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, prefix, key),
                       "not an ISO 8601 time (e.g. 2018, 2018-08-08, 2018-08-08T14:05Z)");
    canon->n = strlen(t.canon);
    canon->p = cd_call_strndup(c, t.canon, canon->n);
    if (!canon->p) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    if (start_us) *start_us = t.start_us;
    return 0;
}

/* A language tag: 2-35 bytes of letters, digits and '-' or '_' (BCP 47 shape, not registry). */
static int get_lang(cd_call *c, const msgpack_object *map, const char *prefix, cd_str *out)
{
    if (cd_get_str(c, map, prefix, "lang", CD_OPTIONAL, 35, out)) return -1;
    for (size_t i = 0; i < out->n; i++) {
        char ch = out->p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ((ch == '-' || ch == '_') && i > 0)) || out->n < 2)
            return cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, prefix, "lang"),
                           "must be a language tag like en or pt-BR");
    }
    return 0;
}

static const char *item_field(cd_call *c, const char *prefix, const char *key, uint32_t i)
{
    return cd_call_item_path(c, prefix, key, i);
}

int cd_appearance_parse(cd_call *c, MDB_txn *txn, const msgpack_object *m, const char *field,
                        cd_appearance *a, int create)
{
    static const char *const allowed[] = { "url", "outlet", "title", "published_at", "lang", "claim", "by", NULL };
    memset(a, 0, sizeof *a);
    if (m->type != MSGPACK_OBJECT_MAP)
        return cd_fail(c, CLAIMD_E_INVALID, field, "an appearance is a map");
    if (cd_params_only(c, m, field, allowed) ||
        cd_get_str(c, m, field, "url", CD_OPTIONAL, CD_URL_MAX, &a->url) ||
        cd_get_str(c, m, field, "title", CD_OPTIONAL, CD_SHORT_MAX, &a->title) ||
        cd_get_time(c, m, field, "published_at", 0, &a->published_at, NULL) ||
        get_lang(c, m, field, &a->lang))
        return -1;
    const msgpack_object *o = cd_map_get(m, "outlet");
    if (o && cd_entity_resolve(c, txn, o, cd_field_path(c, field, "outlet"), create, &a->outlet)) return -1;
    if (!a->url.n && !o)
        return cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, field, "url"), "an appearance needs a url or an outlet");
    return 0;
}

static int parse_via(cd_call *c, MDB_txn *txn, const msgpack_object *arr, const char *prefix, cd_claim *out,
                     int create)
{
    static const char *const allowed[] = { "name", "id", "how", "kind", NULL };
    out->via = cd_call_alloc(c, arr->via.array.size * sizeof *out->via);
    if (!out->via) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        const msgpack_object *m = &arr->via.array.ptr[i];
        const char *f = item_field(c, prefix, "via", i);
        cd_via v = { 0, cd_enum_index(cd_via_how_names, "other", 5) };
        int kind = -1;
        cd_str name = { 0 };
        if (m->type != MSGPACK_OBJECT_MAP)
            return cd_fail(c, CLAIMD_E_INVALID, f, "a via hop is a map with name or id, and how");
        if (cd_params_only(c, m, f, allowed) ||
            cd_get_enum(c, m, f, "how", CD_OPTIONAL, cd_via_how_names, &v.how) ||
            cd_get_enum(c, m, f, "kind", CD_OPTIONAL, cd_entity_kind_names, &kind) ||
            cd_get_str(c, m, f, "name", CD_OPTIONAL, CD_NAME_MAX, &name))
            return -1;
        /* With an id the hop resolves as {"id": N} (the map itself); else by name and kind. */
        if (cd_map_get(m, "id")) {
            if (cd_entity_resolve(c, txn, m, f, create, &v.entity)) return -1;
        } else if (!name.n) {
            return cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, f, "name"), "required");
        } else if (cd_entity_resolve_name(c, txn, name, kind, create, &v.entity)) {
            return -1;
        }
        out->via[out->nvia++] = v;
    }
    return 0;
}

static int parse_apps(cd_call *c, MDB_txn *txn, const msgpack_object *arr, const char *prefix, cd_claim *out,
                      int create)
{
    out->apps = cd_call_alloc(c, arr->via.array.size * sizeof *out->apps);
    if (!out->apps) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    for (uint32_t i = 0; i < arr->via.array.size; i++)
        if (cd_appearance_parse(c, txn, &arr->via.array.ptr[i], item_field(c, prefix, "appearances", i),
                                &out->apps[out->napps++], create))
            return -1;
    return 0;
}

static int parse_about(cd_call *c, MDB_txn *txn, const msgpack_object *arr, const char *prefix, cd_claim *out,
                       int create)
{
    out->about = cd_call_alloc(c, arr->via.array.size * sizeof *out->about);
    if (!out->about) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        uint64_t id;
        if (cd_entity_resolve(c, txn, &arr->via.array.ptr[i], item_field(c, prefix, "about", i), create, &id))
            return -1;
        int seen = 0;
        for (size_t k = 0; k < out->nabout && !seen; k++) seen = out->about[k] == id;
        if (!seen) out->about[out->nabout++] = id;
    }
    return 0;
}

static int parse_tags(cd_call *c, const msgpack_object *arr, const char *prefix, cd_claim *out)
{
    out->tags = cd_call_alloc(c, arr->via.array.size * sizeof *out->tags);
    if (!out->tags) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    for (uint32_t i = 0; i < arr->via.array.size; i++) {
        cd_str t;
        if (cd_check_str(c, &arr->via.array.ptr[i], item_field(c, prefix, "tags", i), 200, &t)) return -1;
        int seen = 0;
        for (size_t k = 0; k < out->ntags && !seen; k++)
            seen = out->tags[k].n == t.n && memcmp(out->tags[k].p, t.p, t.n) == 0;
        if (!seen) out->tags[out->ntags++] = t;
    }
    return 0;
}

/* Clears the field named key[0..n) (a nil in claim.update's `set`); -1 if it cannot be cleared. */
static int clear_field(cd_call *c, cd_claim *cl, const char *key, size_t n, const char *prefix)
{
    static const char *const names[] = { "lang", "speaker", "speaker_role", "attribution", "said_at",
        "medium", "via", "appearances", "about", "tags", "quote", NULL };
    switch (cd_enum_index(names, key, n)) {
    case 0: cl->lang.n = 0; return 0;
    case 1: cl->speaker = 0; return 0;
    case 2: cl->speaker_role.n = 0; return 0;
    case 3: cl->attribution.n = 0; return 0;
    case 4: cl->said_at.n = 0; return 0;
    case 5: cl->medium = -1; return 0;
    case 6: cl->nvia = 0; return 0;
    case 7: cl->napps = 0; return 0;
    case 8: cl->nabout = 0; return 0;
    case 9: cl->ntags = 0; return 0;
    case 10: cl->quote = 1; return 0;
    }
    char *name = cd_call_strndup(c, key, n > 64 ? 64 : n);
    return cd_fail(c, CLAIMD_E_INVALID, name ? cd_field_path(c, prefix, name) : prefix, "cannot be cleared");
}

int cd_claim_parse(cd_call *c, MDB_txn *txn, const msgpack_object *map, const char *prefix,
                   cd_claim *out, unsigned mode)
{
    int partial = (mode & CD_PARSE_PARTIAL) != 0, create = !(mode & CD_PARSE_PROBE);
    static const char *const allowed[] = {
        "text", "quote", "lang", "speaker", "speaker_role", "attribution", "said_at", "medium", "via",
        "appearances", "about", "tags", "external_id", "by", "on_duplicate", NULL
    };
    static const char *const settable[] = {
        "text", "quote", "lang", "speaker", "speaker_role", "attribution", "said_at", "medium", "via",
        "appearances", "about", "tags", NULL
    };
    if (!partial) {
        memset(out, 0, sizeof *out);
        out->quote = 1;
        out->medium = -1;
        out->status = -1;
    }
    if (map->type != MSGPACK_OBJECT_MAP)
        return cd_fail(c, CLAIMD_E_INVALID, prefix ? prefix : "text", "a claim is a map of fields");
    if (cd_params_only(c, map, prefix, partial ? settable : allowed)) return -1;
    for (uint32_t i = 0; partial && i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->val.type == MSGPACK_OBJECT_NIL &&
            clear_field(c, out, kv->key.via.str.ptr, kv->key.via.str.size, prefix))
            return -1;
    }
    const msgpack_object *via = NULL, *apps = NULL, *about = NULL, *tags = NULL, *speaker;
    if (cd_get_str(c, map, prefix, "text", partial ? CD_OPTIONAL : CD_REQUIRED, c->cfg->max_text, &out->text) ||
        cd_get_bool(c, map, prefix, "quote", CD_OPTIONAL, &out->quote) ||
        get_lang(c, map, prefix, &out->lang) ||
        cd_get_str(c, map, prefix, "speaker_role", CD_OPTIONAL, CD_SHORT_MAX, &out->speaker_role) ||
        cd_get_str(c, map, prefix, "attribution", CD_OPTIONAL, CD_SHORT_MAX, &out->attribution) ||
        cd_get_time(c, map, prefix, "said_at", 0, &out->said_at, NULL) ||
        cd_get_enum(c, map, prefix, "medium", CD_OPTIONAL, cd_medium_names, &out->medium) ||
        cd_get_str(c, map, prefix, "external_id", CD_OPTIONAL, 256, &out->external_id) ||
        cd_get_str(c, map, prefix, "by", CD_OPTIONAL, CD_SHORT_MAX, &out->recorded_by) ||
        cd_get_array(c, map, prefix, "via", CD_OPTIONAL, CD_LIST_MAX, &via) ||
        cd_get_array(c, map, prefix, "appearances", CD_OPTIONAL, CD_APPS_MAX, &apps) ||
        cd_get_array(c, map, prefix, "about", CD_OPTIONAL, CD_LIST_MAX, &about) ||
        cd_get_array(c, map, prefix, "tags", CD_OPTIONAL, CD_LIST_MAX, &tags))
        return -1;
    if ((speaker = cd_map_get(map, "speaker"))) {
        if (cd_entity_resolve(c, txn, speaker, cd_field_path(c, prefix, "speaker"), create, &out->speaker))
            return -1;
        /* Probing, a speaker not created yet has no claims: nothing can be its duplicate. */
        if (!out->speaker) out->speaker = CD_SPEAKER_NEW;
    }
    /* Lists given are replaced whole. */
    if (via) { out->nvia = 0; if (parse_via(c, txn, via, prefix, out, create)) return -1; }
    if (apps) { out->napps = 0; if (parse_apps(c, txn, apps, prefix, out, create)) return -1; }
    if (about) { out->nabout = 0; if (parse_about(c, txn, about, prefix, out, create)) return -1; }
    if (tags) { out->ntags = 0; if (parse_tags(c, tags, prefix, out)) return -1; }
    return 0;
}

void cd_claim_encode(const cd_claim *cl, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, C_FIELDS);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint64(&pk, cl->id);
    msgpack_pack_uint32(&pk, cl->rev);
    cd_rec_pack_str(&pk, cl->text);
    if (cl->quote) msgpack_pack_true(&pk); else msgpack_pack_false(&pk);
    cd_rec_pack_str(&pk, cl->lang);
    msgpack_pack_uint64(&pk, cl->speaker);
    cd_rec_pack_str(&pk, cl->speaker_role);
    cd_rec_pack_str(&pk, cl->attribution);
    cd_rec_pack_str(&pk, cl->said_at);
    msgpack_pack_int(&pk, cl->medium);
    msgpack_pack_array(&pk, (uint32_t)cl->nvia * 2);
    for (size_t i = 0; i < cl->nvia; i++) {
        msgpack_pack_uint64(&pk, cl->via[i].entity);
        msgpack_pack_int(&pk, cl->via[i].how);
    }
    msgpack_pack_array(&pk, (uint32_t)cl->napps);
    for (size_t i = 0; i < cl->napps; i++) {
        const cd_appearance *a = &cl->apps[i];
        msgpack_pack_array(&pk, 5);
        cd_rec_pack_str(&pk, a->url);
        msgpack_pack_uint64(&pk, a->outlet);
        cd_rec_pack_str(&pk, a->title);
        cd_rec_pack_str(&pk, a->published_at);
        cd_rec_pack_str(&pk, a->lang);
    }
    msgpack_pack_array(&pk, (uint32_t)cl->nabout);
    for (size_t i = 0; i < cl->nabout; i++) msgpack_pack_uint64(&pk, cl->about[i]);
    msgpack_pack_array(&pk, (uint32_t)cl->ntags);
    for (size_t i = 0; i < cl->ntags; i++) cd_rec_pack_str(&pk, cl->tags[i]);
    cd_rec_pack_str(&pk, cl->external_id);
    msgpack_pack_int64(&pk, cl->recorded_at);
    cd_rec_pack_str(&pk, cl->recorded_by);
    msgpack_pack_int(&pk, cl->status);
    if (cl->retracted) msgpack_pack_true(&pk); else msgpack_pack_false(&pk);
    cd_rec_pack_str(&pk, cl->retract_reason);
    msgpack_pack_int64(&pk, cl->updated_at);
}

/* The array elements of o, or NULL with *n = 0 when o is not an array. */
static const msgpack_object *arr_items(const msgpack_object *o, size_t *n)
{
    *n = o->type == MSGPACK_OBJECT_ARRAY ? o->via.array.size : 0;
    return *n ? o->via.array.ptr : NULL;
}

/* Every field of a stored claim has its type and every enum its range (record_valid.h), before
 * anything indexes a name table with it or sizes an allocation from it. */
static int valid_claim(cd_call *c, const msgpack_object *f)
{
    size_t nmedium = cd_names_count(cd_medium_names), nrating = cd_names_count(cd_rating_names);
    size_t nhow = cd_names_count(cd_via_how_names);
    if (cd_rv_uint(c, &f[C_ID], "id") || cd_rv_uint(c, &f[C_REV], "rev") || cd_rv_str(c, &f[C_TEXT], "text", 1) ||
        cd_rv_bool(c, &f[C_QUOTE], "quote") || cd_rv_str(c, &f[C_LANG], "lang", 0) ||
        cd_rv_uint(c, &f[C_SPEAKER], "speaker") || cd_rv_str(c, &f[C_ROLE], "speaker_role", 0) ||
        cd_rv_str(c, &f[C_ATTR], "attribution", 0) || cd_rv_str(c, &f[C_SAID], "said_at", 0) ||
        cd_rv_enum(c, &f[C_MEDIUM], "medium", nmedium, 1) || cd_rv_array(c, &f[C_VIA], "via") ||
        cd_rv_array(c, &f[C_APPS], "appearances") || cd_rv_array(c, &f[C_ABOUT], "about") ||
        cd_rv_array(c, &f[C_TAGS], "tags") || cd_rv_str(c, &f[C_EXTID], "external_id", 0) ||
        cd_rv_int(c, &f[C_RECAT], "recorded_at") || cd_rv_str(c, &f[C_RECBY], "recorded_by", 0) ||
        cd_rv_enum(c, &f[C_STATUS], "status", nrating, 1) || cd_rv_bool(c, &f[C_RETRACTED], "retracted") ||
        cd_rv_str(c, &f[C_RREASON], "retract_reason", 0) || cd_rv_int(c, &f[C_UPDATED], "updated_at"))
        return -1;
    const msgpack_object_array *via = &f[C_VIA].via.array, *apps = &f[C_APPS].via.array;
    if (via->size % 2) return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "damaged record: field via has an odd length");
    for (uint32_t i = 0; i < via->size; i += 2)
        if (cd_rv_uint(c, &via->ptr[i], "via.entity") || cd_rv_enum(c, &via->ptr[i + 1], "via.how", nhow, 0)) return -1;
    for (uint32_t i = 0; i < apps->size; i++) {
        const msgpack_object *a = &apps->ptr[i];
        if (a->type != MSGPACK_OBJECT_ARRAY || a->via.array.size < 5)
            return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "damaged record: an appearance is not a record of 5 fields");
        const msgpack_object *af = a->via.array.ptr;
        if (cd_rv_str(c, &af[0], "appearances.url", 0) || cd_rv_uint(c, &af[1], "appearances.outlet") ||
            cd_rv_str(c, &af[2], "appearances.title", 0) || cd_rv_str(c, &af[3], "appearances.published_at", 0) ||
            cd_rv_str(c, &af[4], "appearances.lang", 0))
            return -1;
    }
    for (uint32_t i = 0; i < f[C_ABOUT].via.array.size; i++)
        if (cd_rv_uint(c, &f[C_ABOUT].via.array.ptr[i], "about")) return -1;
    for (uint32_t i = 0; i < f[C_TAGS].via.array.size; i++)
        if (cd_rv_str(c, &f[C_TAGS].via.array.ptr[i], "tags", 0)) return -1;
    return 0;
}

int cd_claim_decode(cd_call *c, const MDB_val *v, cd_claim *out)
{
    msgpack_object o;
    if (cd_rec_unpack_body(c, v, C_FIELDS, &o)) return -1;
    if (valid_claim(c, o.via.array.ptr)) return -1;
    const msgpack_object *f = o.via.array.ptr, *it;
    size_t n;
    memset(out, 0, sizeof *out);
    out->id = cd_rec_u64(&f[C_ID]);
    out->rev = (uint32_t)cd_rec_u64(&f[C_REV]);
    out->text = cd_rec_str(&f[C_TEXT]);
    out->quote = f[C_QUOTE].type == MSGPACK_OBJECT_BOOLEAN && f[C_QUOTE].via.boolean;
    out->lang = cd_rec_str(&f[C_LANG]);
    out->speaker = cd_rec_u64(&f[C_SPEAKER]);
    out->speaker_role = cd_rec_str(&f[C_ROLE]);
    out->attribution = cd_rec_str(&f[C_ATTR]);
    out->said_at = cd_rec_str(&f[C_SAID]);
    out->medium = (int)cd_rec_i64(&f[C_MEDIUM]);
    it = arr_items(&f[C_VIA], &n);
    out->via = cd_call_alloc(c, (n / 2 + 1) * sizeof *out->via);
    for (size_t i = 0; out->via && i + 1 < n; i += 2)
        out->via[out->nvia++] = (cd_via){ cd_rec_u64(&it[i]), (int)cd_rec_i64(&it[i + 1]) };
    it = arr_items(&f[C_APPS], &n);
    out->apps = cd_call_alloc(c, (n + 1) * sizeof *out->apps);
    for (size_t i = 0; out->apps && i < n; i++) {
        size_t m;
        const msgpack_object *a = arr_items(&it[i], &m);
        if (m < 5) continue;
        out->apps[out->napps++] = (cd_appearance){ cd_rec_str(&a[0]), cd_rec_u64(&a[1]),
            cd_rec_str(&a[2]), cd_rec_str(&a[3]), cd_rec_str(&a[4]) };
    }
    it = arr_items(&f[C_ABOUT], &n);
    out->about = cd_call_alloc(c, (n + 1) * sizeof *out->about);
    for (size_t i = 0; out->about && i < n; i++) out->about[out->nabout++] = cd_rec_u64(&it[i]);
    it = arr_items(&f[C_TAGS], &n);
    out->tags = cd_call_alloc(c, (n + 1) * sizeof *out->tags);
    for (size_t i = 0; out->tags && i < n; i++) out->tags[out->ntags++] = cd_rec_str(&it[i]);
    if (!out->via || !out->apps || !out->about || !out->tags)
        return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory");
    out->external_id = cd_rec_str(&f[C_EXTID]);
    out->recorded_at = cd_rec_i64(&f[C_RECAT]);
    out->recorded_by = cd_rec_str(&f[C_RECBY]);
    out->status = (int)cd_rec_i64(&f[C_STATUS]);
    out->retracted = f[C_RETRACTED].type == MSGPACK_OBJECT_BOOLEAN && f[C_RETRACTED].via.boolean;
    out->retract_reason = cd_rec_str(&f[C_RREASON]);
    out->updated_at = cd_rec_i64(&f[C_UPDATED]);
    return 0;
}
