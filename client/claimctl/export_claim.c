/* export_claim: a claim read from the daemon turned back into claim.put input, so that an
 * export imports into an empty daemon and exports again to the same bytes.
 *
 * Left out: what the daemon computes (id, rev, status, retracted, retract_reason,
 * recorded_at); recorded_by comes back as by. Entities are written where they are first met as
 * full maps (kind, aliases, description, wikidata: what entity.put would need to recreate
 * them), then by name; a name resolves to the same entity because names and aliases are
 * unique in a daemon. A via hop cannot carry a full map, only its kind. */
#include <string.h>

#include "export.h"

static void copy(json_t *to, json_t *from, const char *key, const char *as)
{
    json_t *v = json_object_get(from, key);
    if (v && !json_is_null(v)) json_object_set(to, as ? as : key, v);
}

/* An entity reference {"id", "name"} as input: the full map the first time, else the name. */
static json_t *entity_ref(json_t *ref, ctl_entity_cache *cache)
{
    json_t *name = json_object_get(ref, "name");
    ctl_cached_entity *e = ctl_entity_cache_get(cache, (uint64_t)json_integer_value(json_object_get(ref, "id")), 0);
    if (!e || !e->record || e->written) return json_incref(name);
    e->written = 1;
    json_t *m = json_object();
    json_object_set(m, "name", json_object_get(e->record, "name"));
    const char *kind = json_string_value(json_object_get(e->record, "kind"));
    if (kind && strcmp(kind, "unknown")) json_object_set_new(m, "kind", json_string(kind));
    json_t *aliases = json_object_get(e->record, "aliases");
    if (json_array_size(aliases)) json_object_set(m, "aliases", aliases);
    copy(m, e->record, "description", NULL);
    copy(m, e->record, "wikidata", NULL);
    return json_object_size(m) == 1 ? (json_decref(m), json_incref(name)) : m;
}

void ctl_claim_entities(json_t *claim, void (*fn)(uint64_t id, void *ctx), void *ctx)
{
    size_t i;
    json_t *x;
    fn((uint64_t)json_integer_value(json_object_get(json_object_get(claim, "speaker"), "id")), ctx);
    json_array_foreach(json_object_get(claim, "via"), i, x)
        fn((uint64_t)json_integer_value(json_object_get(x, "id")), ctx);
    json_array_foreach(json_object_get(claim, "appearances"), i, x)
        fn((uint64_t)json_integer_value(json_object_get(json_object_get(x, "outlet"), "id")), ctx);
    json_array_foreach(json_object_get(claim, "about"), i, x)
        fn((uint64_t)json_integer_value(json_object_get(x, "id")), ctx);
}

json_t *ctl_export_claim(json_t *claim, ctl_entity_cache *cache)
{
    static const char *const plain[] = {"speaker_role", "attribution", "said_at", "medium"};
    json_t *out = json_object(), *x, *list;
    size_t i;
    copy(out, claim, "text", NULL);
    copy(out, claim, "quote", NULL);
    copy(out, claim, "lang", NULL);
    if ((x = json_object_get(claim, "speaker")) && json_is_object(x))
        json_object_set_new(out, "speaker", entity_ref(x, cache));
    for (i = 0; i < sizeof plain / sizeof plain[0]; i++) copy(out, claim, plain[i], NULL);
    if (json_array_size(x = json_object_get(claim, "via"))) {
        json_object_set_new(out, "via", list = json_array());
        json_t *hop;
        json_array_foreach(x, i, hop) {
            json_t *h = json_object();
            copy(h, hop, "name", NULL);
            copy(h, hop, "how", NULL);
            ctl_cached_entity *e = ctl_entity_cache_get(
                cache, (uint64_t)json_integer_value(json_object_get(hop, "id")), 0);
            const char *kind = e && e->record && !e->written
                                   ? json_string_value(json_object_get(e->record, "kind")) : NULL;
            if (kind && strcmp(kind, "unknown")) json_object_set_new(h, "kind", json_string(kind));
            json_array_append_new(list, h);
        }
    }
    if (json_array_size(x = json_object_get(claim, "appearances"))) {
        json_object_set_new(out, "appearances", list = json_array());
        json_t *ap;
        json_array_foreach(x, i, ap) {
            json_t *a = json_object();
            copy(a, ap, "url", NULL);
            json_t *outlet = json_object_get(ap, "outlet");
            if (json_is_object(outlet)) json_object_set_new(a, "outlet", entity_ref(outlet, cache));
            copy(a, ap, "title", NULL);
            copy(a, ap, "published_at", NULL);
            copy(a, ap, "lang", NULL);
            json_array_append_new(list, a);
        }
    }
    if (json_array_size(x = json_object_get(claim, "about"))) {
        json_object_set_new(out, "about", list = json_array());
        json_t *ref;
        json_array_foreach(x, i, ref) json_array_append_new(list, entity_ref(ref, cache));
    }
    if (json_array_size(x = json_object_get(claim, "tags"))) json_object_set(out, "tags", x);
    copy(out, claim, "external_id", NULL);
    copy(out, claim, "recorded_by", "by");
    return out;
}

json_t *ctl_export_verdict(json_t *verdict)
{
    static const char *const keys[] = {"rating", "label", "score", "by", "at", "summary", "url",
                                       "rating_value", "best_rating", "worst_rating", "by_url"};
    json_t *out = json_object();
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) copy(out, verdict, keys[i], NULL);
    if (json_array_size(json_object_get(verdict, "evidence")))
        copy(out, verdict, "evidence", NULL);
    return out;
}
