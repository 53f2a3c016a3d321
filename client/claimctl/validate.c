/* validate: checks of a claim (and of the verdicts and retraction imported with it) against the
 * contract, made without the daemon. `import --dry-run` relies on them; a real import only
 * checks the extras here (the daemon checks the claims). What cannot be checked here:
 * duplicates, entity ids, and limits the daemon was started with other than the defaults. */
#include <string.h>

#include "import.h"
#include "isotime.h"

#define TEXT_MAX 65536
#define SHORT_MAX 1024
#define NAME_MAX_BYTES 300
#define URL_MAX 4096
#define TAG_MAX 200
#define EXTERNAL_ID_MAX 256
#define LIST_MAX 256
#define APPS_MAX 1024
#define ALIASES_MAX 64
#define SUMMARY_MAX 16384
#define EVIDENCE_MAX 64

/* The error being built: the first problem found wins. */
typedef struct {
    json_t *err;
    char field[160];
} check;

static int fail(check *c, const char *code, const char *message)
{
    if (!c->err) c->err = ctl_import_error(code, message, c->field[0] ? c->field : NULL);
    return -1;
}

/* Sets the field path to prefix.key, or prefix[i] when key is NULL (truncated if ever too
 * long: it is only a message). prefix may be c->field itself. */
static void at(check *c, const char *prefix, const char *key, long i)
{
    char tail[200], out[sizeof c->field];
    if (key) snprintf(tail, sizeof tail, "%s%.180s", *prefix ? "." : "", key);
    else snprintf(tail, sizeof tail, "[%ld]", i);
    size_t np = strnlen(prefix, sizeof out - 1), nt = strnlen(tail, sizeof out - 1 - np);
    memcpy(out, prefix, np);
    memcpy(out + np, tail, nt);
    out[np + nt] = '\0';
    memcpy(c->field, out, np + nt + 1);
}

static int blank(const char *s)
{
    return s[strspn(s, " \t\r\n\f\v")] == '\0';
}

/* A string of at most max bytes, not blank. */
static int str(check *c, json_t *v, size_t max)
{
    if (!json_is_string(v)) return fail(c, "invalid", "must be a string");
    if (json_string_length(v) > max) return fail(c, "too_large", "too long");
    if (blank(json_string_value(v))) return fail(c, "invalid", "must not be empty");
    return 0;
}

static int one_of(check *c, json_t *v, const char *const *list)
{
    char names[256], msg[300];
    if (str(c, v, 64)) return -1;
    if (ctl_in_list(list, json_string_value(v))) return 0;
    snprintf(msg, sizeof msg, "must be one of: %s", ctl_list_text(list, names, sizeof names));
    return fail(c, "invalid", msg);
}

static int time_value(check *c, json_t *v)
{
    char canon[48];
    if (str(c, v, 64)) return -1;
    if (!ctl_canonical_time(json_string_value(v), canon))
        return fail(c, "invalid", "not an ISO 8601 time (e.g. 2018, 2018-08-08, 2018-08-08T14:05Z)");
    return 0;
}

static int lang_value(check *c, json_t *v)
{
    if (str(c, v, 35)) return -1;
    if (json_string_length(v) < 2) return fail(c, "invalid", "a language tag (en, ru, pt-BR...)");
    return 0;
}

static int array(check *c, json_t *v, size_t max)
{
    if (!json_is_array(v)) return fail(c, "invalid", "must be an array");
    if (json_array_size(v) > max) return fail(c, "too_large", "too many items");
    return 0;
}

/* Checks that every key of obj is one of allowed. */
static int only(check *c, json_t *obj, const char *const *allowed)
{
    const char *key;
    json_t *v;
    char base[160];
    snprintf(base, sizeof base, "%s", c->field);
    json_object_foreach(obj, key, v) {
        if (!ctl_in_list(allowed, key)) {
            at(c, base, key, 0);
            return fail(c, "invalid", "unknown parameter");
        }
    }
    return 0;
}

static int id_value(check *c, json_t *v)
{
    if (!json_is_integer(v) || json_integer_value(v) < 1) return fail(c, "invalid", "an id (1, 2, ...)");
    return 0;
}

/* An entity reference: a name, {"id": N}, or a map with name, kind, aliases, description,
 * wikidata. */
static int entity_ref(check *c, json_t *v)
{
    static const char *const allowed[] = {"id", "name", "kind", "aliases", "description",
                                          "wikidata", NULL};
    char base[160];
    json_t *x;
    if (json_is_string(v)) return str(c, v, NAME_MAX_BYTES);
    if (!json_is_object(v)) return fail(c, "invalid", "an entity: a name, {\"id\": N} or {\"name\", ...}");
    snprintf(base, sizeof base, "%s", c->field);
    if (only(c, v, allowed)) return -1;
    if ((x = json_object_get(v, "id"))) return at(c, base, "id", 0), id_value(c, x);
    at(c, base, "name", 0);
    if (!(x = json_object_get(v, "name"))) return fail(c, "invalid", "required");
    if (str(c, x, NAME_MAX_BYTES)) return -1;
    if ((x = json_object_get(v, "kind")) && (at(c, base, "kind", 0), one_of(c, x, ctl_entity_kinds)))
        return -1;
    if ((x = json_object_get(v, "aliases"))) {
        at(c, base, "aliases", 0);
        if (array(c, x, ALIASES_MAX)) return -1;
        for (size_t i = 0; i < json_array_size(x); i++) {
            at(c, base, "aliases", 0);
            at(c, c->field, NULL, (long)i);
            if (str(c, json_array_get(x, i), NAME_MAX_BYTES)) return -1;
        }
    }
    if ((x = json_object_get(v, "description")) && (at(c, base, "description", 0), str(c, x, 4096)))
        return -1;
    if ((x = json_object_get(v, "wikidata"))) {
        at(c, base, "wikidata", 0);
        const char *q = json_string_value(x);
        if (!q || q[0] != 'Q' || !q[1] || strspn(q + 1, "0123456789") != strlen(q + 1))
            return fail(c, "invalid", "a Wikidata id (Q followed by digits)");
    }
    return 0;
}

static int via_hop(check *c, json_t *v)
{
    static const char *const allowed[] = {"name", "id", "how", "kind", NULL};
    char base[160];
    json_t *x;
    if (!json_is_object(v)) return fail(c, "invalid", "a via hop is a map with name or id, and how");
    snprintf(base, sizeof base, "%s", c->field);
    if (only(c, v, allowed)) return -1;
    if ((x = json_object_get(v, "how")) && (at(c, base, "how", 0), one_of(c, x, ctl_via_hows)))
        return -1;
    if ((x = json_object_get(v, "kind")) && (at(c, base, "kind", 0), one_of(c, x, ctl_entity_kinds)))
        return -1;
    if ((x = json_object_get(v, "id"))) return at(c, base, "id", 0), id_value(c, x);
    at(c, base, "name", 0);
    if (!(x = json_object_get(v, "name"))) return fail(c, "invalid", "required");
    return str(c, x, NAME_MAX_BYTES);
}

static int appearance(check *c, json_t *v)
{
    static const char *const allowed[] = {"url", "outlet", "title", "published_at", "lang", NULL};
    char base[160];
    json_t *x;
    if (!json_is_object(v)) return fail(c, "invalid", "an appearance is a map");
    snprintf(base, sizeof base, "%s", c->field);
    if (only(c, v, allowed)) return -1;
    if ((x = json_object_get(v, "url")) && (at(c, base, "url", 0), str(c, x, URL_MAX))) return -1;
    if ((x = json_object_get(v, "outlet")) && (at(c, base, "outlet", 0), entity_ref(c, x))) return -1;
    if ((x = json_object_get(v, "title")) && (at(c, base, "title", 0), str(c, x, SHORT_MAX))) return -1;
    if ((x = json_object_get(v, "published_at")) && (at(c, base, "published_at", 0), time_value(c, x)))
        return -1;
    if ((x = json_object_get(v, "lang")) && (at(c, base, "lang", 0), lang_value(c, x))) return -1;
    if (!json_object_get(v, "url") && !json_object_get(v, "outlet"))
        return at(c, base, "url", 0), fail(c, "invalid", "an appearance needs a url or an outlet");
    return 0;
}

/* Checks each item of the list under key with fn. */
static int each(check *c, json_t *obj, const char *key, size_t max, int (*fn)(check *, json_t *))
{
    json_t *list = json_object_get(obj, key);
    if (!list) return 0;
    at(c, "", key, 0);
    if (array(c, list, max)) return -1;
    for (size_t i = 0; i < json_array_size(list); i++) {
        at(c, key, NULL, (long)i);
        if (fn(c, json_array_get(list, i))) return -1;
    }
    return 0;
}

static int tag(check *c, json_t *v)
{
    return str(c, v, TAG_MAX);
}

json_t *ctl_validate_claim(json_t *claim)
{
    static const struct { const char *key; size_t max; } strings[] = {
        {"speaker_role", SHORT_MAX}, {"attribution", SHORT_MAX}, {"by", SHORT_MAX},
        {"external_id", EXTERNAL_ID_MAX},
    };
    check c = {0};
    json_t *x;
    if (!json_is_object(claim)) {
        fail(&c, "invalid", "a claim is a map of fields");
        return c.err;
    }
    if (only(&c, claim, ctl_claim_fields)) return c.err;
    at(&c, "", "text", 0);
    if (!(x = json_object_get(claim, "text"))) fail(&c, "invalid", "required");
    else str(&c, x, TEXT_MAX);
    if (!c.err && (x = json_object_get(claim, "quote")) && !json_is_boolean(x))
        at(&c, "", "quote", 0), fail(&c, "invalid", "must be true or false");
    if (!c.err && (x = json_object_get(claim, "lang"))) at(&c, "", "lang", 0), lang_value(&c, x);
    if (!c.err && (x = json_object_get(claim, "speaker"))) at(&c, "", "speaker", 0), entity_ref(&c, x);
    for (size_t i = 0; !c.err && i < sizeof strings / sizeof strings[0]; i++)
        if ((x = json_object_get(claim, strings[i].key)))
            at(&c, "", strings[i].key, 0), str(&c, x, strings[i].max);
    if (!c.err && (x = json_object_get(claim, "said_at"))) at(&c, "", "said_at", 0), time_value(&c, x);
    if (!c.err && (x = json_object_get(claim, "medium"))) at(&c, "", "medium", 0), one_of(&c, x, ctl_media);
    if (!c.err && (x = json_object_get(claim, "on_duplicate")) && !ctl_valid_on_duplicate(json_string_value(x)))
        at(&c, "", "on_duplicate", 0), fail(&c, "invalid", "must be one of: merge, skip, error");
    if (!c.err) each(&c, claim, "via", LIST_MAX, via_hop);
    if (!c.err) each(&c, claim, "appearances", APPS_MAX, appearance);
    if (!c.err) each(&c, claim, "about", LIST_MAX, entity_ref);
    if (!c.err) each(&c, claim, "tags", LIST_MAX, tag);
    return c.err;
}

static int verdict(check *c, json_t *v)
{
    static const char *const allowed[] = {"rating", "label", "score", "by", "at", "summary", "url",
                                          "evidence", "rating_value", "best_rating",
                                          "worst_rating", "by_url", NULL};
    static const char *const numbers[] = {"rating_value", "best_rating", "worst_rating"};
    char base[160];
    json_t *x;
    if (!json_is_object(v)) return fail(c, "invalid", "a verdict is a map");
    snprintf(base, sizeof base, "%s", c->field);
    if (only(c, v, allowed)) return -1;
    at(c, base, "rating", 0);
    /* No rating with a label: an unrated verdict (the daemon may still rate the label). */
    if (!(x = json_object_get(v, "rating")) && !json_is_string(json_object_get(v, "label")))
        return fail(c, "invalid", "required");
    if (x && one_of(c, x, ctl_ratings)) return -1;
    for (size_t i = 0; i < 3; i++)
        if ((x = json_object_get(v, numbers[i])) && (at(c, base, numbers[i], 0), !json_is_number(x)))
            return fail(c, "invalid", "a number");
    if ((x = json_object_get(v, "by_url")) && (at(c, base, "by_url", 0), str(c, x, URL_MAX))) return -1;
    if ((x = json_object_get(v, "label")) && (at(c, base, "label", 0), str(c, x, SHORT_MAX))) return -1;
    if ((x = json_object_get(v, "by")) && (at(c, base, "by", 0), str(c, x, SHORT_MAX))) return -1;
    if ((x = json_object_get(v, "url")) && (at(c, base, "url", 0), str(c, x, URL_MAX))) return -1;
    if ((x = json_object_get(v, "summary")) && (at(c, base, "summary", 0), str(c, x, SUMMARY_MAX)))
        return -1;
    if ((x = json_object_get(v, "at")) && (at(c, base, "at", 0), time_value(c, x))) return -1;
    if ((x = json_object_get(v, "score"))) {
        at(c, base, "score", 0);
        if (!json_is_integer(x) || json_integer_value(x) < 1 || json_integer_value(x) > 5)
            return fail(c, "invalid", "a whole number from 1 to 5");
    }
    if ((x = json_object_get(v, "evidence"))) {
        at(c, base, "evidence", 0);
        if (array(c, x, EVIDENCE_MAX)) return -1;
        for (size_t i = 0; i < json_array_size(x); i++) {
            at(c, base, "evidence", 0);
            at(c, c->field, NULL, (long)i);
            if (str(c, json_array_get(x, i), URL_MAX)) return -1;
        }
    }
    return 0;
}

json_t *ctl_validate_extras(json_t *extras)
{
    static const char *const retract_keys[] = {"reason", "by", NULL};
    check c = {0};
    json_t *r;
    each(&c, extras, "verdicts", 1024, verdict);
    if (!c.err && (r = json_object_get(extras, "retract"))) {
        at(&c, "", "retract", 0);
        if (!json_is_object(r)) fail(&c, "invalid", "a retraction is a map");
        else if (!only(&c, r, retract_keys)) {
            json_t *x;
            if ((x = json_object_get(r, "reason"))) at(&c, "retract", "reason", 0), str(&c, x, 4096);
            if (!c.err && (x = json_object_get(r, "by"))) at(&c, "retract", "by", 0), str(&c, x, SHORT_MAX);
        }
    }
    return c.err;
}

const char *ctl_canonical_time(const char *s, char *buf)
{
    cd_time t;
    if (!s || cd_time_parse(s, strlen(s), &t) < 0) return NULL;
    snprintf(buf, 40, "%s", t.canon);
    return buf;
}
