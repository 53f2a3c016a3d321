/* import_claimreview: ClaimReview JSON-LD (schema.org), as fact-checkers publish it for search
 * engines, read element by element (jsonld_split.c). Each ClaimReview becomes:
 *
 *   claim    text          <- claimReviewed (a reviewer's wording: quote is false)
 *            speaker       <- itemReviewed.author (name; @type Person -> person,
 *                             Organization -> organization, GovernmentOrganization ->
 *                             government, NewsMediaOrganization -> outlet; a Wikidata sameAs)
 *            said_at       <- itemReviewed.datePublished
 *            appearances   <- itemReviewed.appearance and firstAppearance (url, headline or
 *                             name -> title, datePublished, inLanguage, author or publisher
 *                             -> outlet)
 *            lang          <- inLanguage (a language tag)
 *            external_id   <- the review's @id (else its url) + '#' + a hash of the folded
 *                             claimReviewed: one ClaimReview is one (url, claimReviewed) pair,
 *                             so an article reviewing three claims gives three claims, and a
 *                             re-run finds each again
 *   verdict  rating, score <- reviewRating (claimreview_rating.c), label <- alternateName (else
 *            textualRating), rating_value/best_rating/worst_rating <- ratingValue/bestRating/
 *            worstRating as given, summary <- ratingExplanation, by <- author.name, by_url <-
 *            author.url (else its first sameAs), url <- url, at <- datePublished
 *
 * Dates as publishers write them (cd_time_parse_loose): "2021-7-20" is 2021-07-20, a time of
 * day without a zone keeps its date as given. An impossible date rejects what it dates: the
 * verdict's (the claim is still imported), or the claim's (the whole record goes to the rejects
 * file), with the field named. A verdict that cannot be stored (no label and no number) is a
 * rejected verdict too; its claim is imported. */
#include <stdlib.h>
#include <string.h>

#include "import.h"
#include "isotime.h"

typedef struct {
    ctl_importer *im;
    char why[256];
    const char *why_field;     /* the ClaimReview field r->why is about */
} reading;

/* The first item of an array, or v itself. */
static json_t *first(json_t *v)
{
    return json_is_array(v) ? json_array_get(v, 0) : v;
}

static const char *type_of(json_t *o)
{
    json_t *t = first(json_object_get(o, "@type"));
    const char *s = json_string_value(t);
    if (!s) return NULL;
    const char *slash = strrchr(s, '/'), *colon = strrchr(s, ':');
    if (slash && slash[1]) return slash + 1; /* https://schema.org/ClaimReview */
    if (colon && colon[1]) return colon + 1; /* schema:ClaimReview */
    return s;
}

static int is_type(json_t *o, const char *name)
{
    json_t *t = json_object_get(o, "@type");
    if (json_is_array(t)) {
        for (size_t i = 0; i < json_array_size(t); i++) {
            json_t *one = json_pack("{sO}", "@type", json_array_get(t, i));
            int yes = is_type(one, name);
            json_decref(one);
            if (yes) return 1;
        }
        return 0;
    }
    const char *s = type_of(o);
    return s && !strcmp(s, name);
}

/* A ClaimReview date, as claimd takes it, into buf; NULL when there is none or it is unusable
 * (reason in r->why). */
static const char *date(reading *r, json_t *v, const char *what, char *buf)
{
    const char *s = json_string_value(v);
    cd_time t;
    if (!s || !*s) return NULL;
    if (ctl_canonical_time(s, buf)) return s; /* as written: the daemon keeps it the same */
    if (cd_time_parse_loose(s, strlen(s), &t) == 0) {
        snprintf(buf, 48, "%s", t.canon);
        return buf;
    }
    if (!r->why[0]) {
        snprintf(r->why, sizeof r->why, "%s: not a valid date: %.60s", what, s);
        r->why_field = what;
    }
    return NULL;
}

/* The name of a Person/Organization value: an object with "name", or a plain string. */
static const char *name_of(json_t *v)
{
    v = first(v);
    if (json_is_string(v)) return json_string_value(v);
    return json_string_value(json_object_get(v, "name"));
}

/* An entity reference for an author: {"name", "kind", "wikidata"} or just the name. */
static json_t *entity(json_t *author)
{
    static const struct { const char *type, *kind; } kinds[] = {
        {"Person", "person"}, {"Organization", "organization"},
        {"GovernmentOrganization", "government"}, {"NewsMediaOrganization", "outlet"},
        {"Corporation", "organization"}, {"PoliticalParty", "organization"},
    };
    author = first(author);
    const char *name = name_of(author);
    if (!name || !*name) return NULL;
    json_t *e = json_pack("{ss}", "name", name);
    for (size_t i = 0; json_is_object(author) && i < sizeof kinds / sizeof kinds[0]; i++)
        if (is_type(author, kinds[i].type))
            json_object_set_new(e, "kind", json_string(kinds[i].kind));
    json_t *same = json_object_get(author, "sameAs");
    for (size_t i = 0; i < (json_is_array(same) ? json_array_size(same) : 1); i++) {
        const char *url = json_string_value(json_is_array(same) ? json_array_get(same, i) : same);
        const char *q = url ? strstr(url, "wikidata.org/wiki/Q") : NULL;
        if (q && q[19] && strspn(q + 19, "0123456789") == strlen(q + 19))
            json_object_set_new(e, "wikidata", json_string(q + 18)); /* "Q123" */
    }
    return e;
}

/* Adds an appearance (a CreativeWork, or a plain URL string) unless its url is already there. */
static void add_appearance(reading *r, json_t *list, json_t *work)
{
    json_t *a = json_object();
    char buf[48];
    const char *url = json_is_string(work) ? json_string_value(work)
                                           : json_string_value(json_object_get(work, "url"));
    if (url) {
        for (size_t i = 0; i < json_array_size(list); i++)
        {
            const char *seen = json_string_value(json_object_get(json_array_get(list, i), "url"));
            if (seen && !strcmp(url, seen)) goto skip;
        }
        json_object_set_new(a, "url", json_string(url));
    }
    if (json_is_object(work)) {
        const char *outlet = name_of(json_object_get(work, "author"));
        if (!outlet) outlet = name_of(json_object_get(work, "publisher"));
        const char *title = json_string_value(json_object_get(work, "headline"));
        if (!title) title = json_string_value(json_object_get(work, "name"));
        const char *at = date(r, json_object_get(work, "datePublished"), "appearance.datePublished", buf);
        if (outlet && *outlet) json_object_set_new(a, "outlet", json_string(outlet));
        if (title && *title) json_object_set_new(a, "title", json_string(title));
        if (at) json_object_set_new(a, "published_at", json_string(at));
        const char *lang = json_string_value(json_object_get(work, "inLanguage"));
        if (lang && strlen(lang) >= 2 && strlen(lang) <= 35)
            json_object_set_new(a, "lang", json_string(lang));
    }
    if (json_object_size(a) && (json_object_get(a, "url") || json_object_get(a, "outlet"))) {
        json_array_append_new(list, a);
        return;
    }
skip:
    json_decref(a);
}

/* Builds the claim and its verdict from one ClaimReview; NULL with r->why when it cannot. */
const char *ctl_claimreview_key(const char *id_or_url, const char *claim_reviewed, char *buf, size_t cap)
{
    size_t n = strlen(claim_reviewed);
    char *folded = malloc(n + 1);
    uint64_t h = 1469598103934665603ULL; /* FNV-1a, 64 bits */
    if (folded) {
        size_t fn = cd_vocab_fold(claim_reviewed, n, folded, n + 1);
        for (size_t i = 0; i < fn; i++) h = (h ^ (unsigned char)folded[i]) * 1099511628211ULL;
        free(folded);
    }
    snprintf(buf, cap, "%.200s#%016llx", id_or_url, (unsigned long long)h);
    return buf;
}

/* The reviewer's url: author.url, else the first sameAs. */
static const char *author_url(json_t *author)
{
    author = first(author);
    const char *u = json_string_value(json_object_get(author, "url"));
    if (!u || !*u) u = json_string_value(first(json_object_get(author, "sameAs")));
    return u && *u ? u : NULL;
}

/* Builds the verdict of a ClaimReview; NULL with *why (and *field) when it cannot be stored. */
static json_t *convert_verdict(reading *r, json_t *cr, const char **why, const char **field)
{
    char buf[48];
    json_t *rr = json_object_get(cr, "reviewRating"), *v = json_object();
    *why = NULL;
    *field = "reviewRating";
    if (!json_is_object(rr)) {
        *why = "reviewRating is missing";
        json_decref(v);
        return NULL;
    }
    const char *rating = ctl_claimreview_rating(r->im, rr, v, why);
    if (*why) {
        json_decref(v);
        return NULL;
    }
    if (rating) json_object_set_new(v, "rating", json_string(rating));
    const char *expl = json_string_value(json_object_get(rr, "ratingExplanation"));
    const char *by = name_of(json_object_get(cr, "author"));
    const char *by_url = author_url(json_object_get(cr, "author"));
    const char *url = json_string_value(json_object_get(cr, "url"));
    r->why[0] = '\0';
    const char *at = date(r, json_object_get(cr, "datePublished"), "datePublished", buf);
    if (r->why[0]) {
        *why = r->why;
        *field = "datePublished";
        json_decref(v);
        return NULL;
    }
    if (expl && *expl) json_object_set_new(v, "summary", json_string(expl));
    if (by && *by) json_object_set_new(v, "by", json_string(by));
    if (by_url) json_object_set_new(v, "by_url", json_string(by_url));
    if (url && *url) json_object_set_new(v, "url", json_string(url));
    if (at) json_object_set_new(v, "at", json_string(at));
    return v;
}

static json_t *convert(reading *r, json_t *cr, json_t **extras, json_t **verdict_error)
{
    char buf[48];
    *extras = NULL;
    *verdict_error = NULL;
    if (!json_is_object(cr)) {
        snprintf(r->why, sizeof r->why, "not a JSON object");
        return NULL;
    }
    if (!is_type(cr, "ClaimReview")) {
        snprintf(r->why, sizeof r->why, "not a ClaimReview (@type %.60s)",
                 type_of(cr) ? type_of(cr) : "missing");
        return NULL;
    }
    const char *text = json_string_value(json_object_get(cr, "claimReviewed"));
    if (!text || !*text) {
        snprintf(r->why, sizeof r->why, "claimReviewed is missing");
        return NULL;
    }
    json_t *claim = json_pack("{ss sb}", "text", text, "quote", 0);
    const char *lang = json_string_value(json_object_get(cr, "inLanguage"));
    if (lang && strlen(lang) >= 2 && strlen(lang) <= 35)
        json_object_set_new(claim, "lang", json_string(lang));
    const char *key = json_string_value(json_object_get(cr, "@id"));
    if (!key || !*key) key = json_string_value(json_object_get(cr, "url"));
    if (key && *key) {
        char ext[256];
        json_object_set_new(claim, "external_id", json_string(ctl_claimreview_key(key, text, ext, sizeof ext)));
    }

    json_t *item = first(json_object_get(cr, "itemReviewed"));
    json_t *speaker = entity(json_object_get(item, "author"));
    if (speaker) json_object_set_new(claim, "speaker", speaker);
    const char *said = date(r, json_object_get(item, "datePublished"), "itemReviewed.datePublished", buf);
    if (said) json_object_set_new(claim, "said_at", json_string(said));
    json_t *apps = json_array();
    static const char *const where[] = {"appearance", "firstAppearance"};
    for (int w = 0; w < 2; w++) {
        json_t *v = json_object_get(item, where[w]);
        if (json_is_array(v))
            for (size_t i = 0; i < json_array_size(v); i++) add_appearance(r, apps, json_array_get(v, i));
        else if (v)
            add_appearance(r, apps, v);
    }
    if (json_array_size(apps)) json_object_set(claim, "appearances", apps);
    json_decref(apps);

    if (r->why[0]) { /* a bad date of the claim or an appearance: the record is rejected */
        json_decref(claim);
        return NULL;
    }
    const char *why, *field;
    json_t *v = convert_verdict(r, cr, &why, &field);
    if (v) *extras = json_pack("{s[o]}", "verdicts", v);
    else *verdict_error = ctl_import_error("invalid", why, field);
    return claim;
}

static int on_element(const char *text, size_t len, uint64_t index, void *ctx)
{
    reading *r = ctx;
    ctl_importer *im = r->im;
    json_error_t jerr;
    r->why[0] = '\0';
    im->bytes_read += (off_t)len;
    json_t *cr = json_loadb(text, len, 0, &jerr), *extras = NULL;
    if (!cr) {
        snprintf(r->why, sizeof r->why, "invalid JSON: %s (line %d of the element)", jerr.text,
                 jerr.line);
        ctl_import_reject(im, index, text, len, "invalid", r->why);
    } else {
        json_t *verdict_error = NULL, *claim = convert(r, cr, &extras, &verdict_error);
        if (claim) ctl_import_add(im, index, text, len, claim, extras);
        else ctl_import_reject(im, index, text, len, "invalid", r->why);
        if (claim && verdict_error) {
            /* The claim goes in; the verdict that cannot is reported with its reason. */
            im->v_rejected++;
            char *copy = strndup(text, len);
            ctl_import_write_reject(im, "element", index, copy ? copy : "", verdict_error);
            free(copy);
        }
        json_decref(cr);
    }
    ctl_import_progress(im);
    return im->fatal ? -1 : 0;
}

int ctl_read_claimreview(ctl_importer *im, FILE *in)
{
    reading r = {.im = im};
    char err[200];
    if (ctl_jsonld_split(in, on_element, &r, err, sizeof err) < 0) {
        ctl_warn("ClaimReview input: %s", err);
        return CTL_EXIT_FAILED;
    }
    return CTL_EXIT_OK;
}
