/* export_claimreview: one verdict of a claim as a schema.org ClaimReview, with the properties
 * Google's Fact Check Tools read: claimReviewed, reviewRating (alternateName, ratingValue,
 * bestRating, worstRating), author (name, url), datePublished, url, and itemReviewed, a Claim
 * with its author, datePublished, appearance and firstAppearance (the earliest published).
 *
 * What was imported goes back as it was, and nothing is invented: alternateName is the
 * verdict's label (else the usual wording of its rating, "Mostly true"); ratingValue,
 * bestRating and worstRating are the numbers the publisher gave (rating_value, best_rating,
 * worst_rating), else the verdict's own 1-5 score with 5 and 1, else none; never rescaled.
 * datePublished is the verdict's `at` unless the daemon stamped it (no `at` was given: `at` is
 * then the recording time to the microsecond, and no datePublished is written). author.url is
 * the verdict's by_url. */
#include <string.h>

#include "export.h"
#include "import.h"

static const char *schema_type(const char *kind)
{
    if (!kind) return "Thing";
    if (!strcmp(kind, "person")) return "Person";
    if (!strcmp(kind, "government")) return "GovernmentOrganization";
    if (!strcmp(kind, "outlet")) return "NewsMediaOrganization";
    if (!strcmp(kind, "organization") || !strcmp(kind, "group")) return "Organization";
    return "Thing";
}

static void set_str(json_t *o, const char *key, json_t *from, const char *from_key)
{
    json_t *v = json_object_get(from, from_key);
    if (json_is_string(v)) json_object_set(o, key, v);
}

static json_t *author(json_t *ref, ctl_entity_cache *cache)
{
    ctl_cached_entity *e =
        ctl_entity_cache_get(cache, (uint64_t)json_integer_value(json_object_get(ref, "id")), 0);
    json_t *rec = e ? e->record : NULL;
    json_t *a = json_pack("{ss}", "@type",
                          schema_type(json_string_value(json_object_get(rec, "kind"))));
    set_str(a, "name", ref, "name");
    const char *q = json_string_value(json_object_get(rec, "wikidata"));
    if (q) json_object_set_new(a, "sameAs", json_sprintf("https://www.wikidata.org/wiki/%s", q));
    return a;
}

static json_t *creative_work(json_t *ap)
{
    json_t *w = json_pack("{ss}", "@type", "CreativeWork");
    set_str(w, "url", ap, "url");
    set_str(w, "headline", ap, "title");
    set_str(w, "datePublished", ap, "published_at");
    set_str(w, "inLanguage", ap, "lang");
    json_t *outlet = json_object_get(ap, "outlet");
    if (json_is_object(outlet))
        json_object_set_new(w, "author", json_pack("{ss sO}", "@type", "Organization", "name",
                                                   json_object_get(outlet, "name")));
    return w;
}

json_t *ctl_claimreview_of(json_t *claim, json_t *verdict, ctl_entity_cache *cache)
{
    json_t *cr = json_pack("{ss}", "@type", "ClaimReview");
    set_str(cr, "url", verdict, "url");
    const char *vat = json_string_value(json_object_get(verdict, "at"));
    const char *recorded = json_string_value(json_object_get(verdict, "recorded_at"));
    if (vat && !(recorded && !strcmp(vat, recorded))) set_str(cr, "datePublished", verdict, "at");
    if (json_is_string(json_object_get(verdict, "by")) || json_is_string(json_object_get(verdict, "by_url"))) {
        json_t *a = json_pack("{ss}", "@type", "Organization");
        set_str(a, "name", verdict, "by");
        set_str(a, "url", verdict, "by_url");
        json_object_set_new(cr, "author", a);
    }
    set_str(cr, "claimReviewed", claim, "text");
    set_str(cr, "inLanguage", claim, "lang");

    const char *rating = json_string_value(json_object_get(verdict, "rating"));
    json_t *rr = json_pack("{ss}", "@type", "Rating");
    json_t *value = json_object_get(verdict, "rating_value"), *score = json_object_get(verdict, "score");
    if (value || json_object_get(verdict, "best_rating") || json_object_get(verdict, "worst_rating")) {
        if (value) json_object_set(rr, "ratingValue", value);
        if (json_object_get(verdict, "best_rating"))
            json_object_set(rr, "bestRating", json_object_get(verdict, "best_rating"));
        if (json_object_get(verdict, "worst_rating"))
            json_object_set(rr, "worstRating", json_object_get(verdict, "worst_rating"));
    } else if (json_is_number(score)) {
        json_object_set(rr, "ratingValue", score);
        json_object_set_new(rr, "bestRating", json_integer(5));
        json_object_set_new(rr, "worstRating", json_integer(1));
    }
    const char *label = json_string_value(json_object_get(verdict, "label"));
    if (label || rating)
        json_object_set_new(rr, "alternateName", json_string(label ? label : ctl_rating_wording(rating)));
    set_str(rr, "ratingExplanation", verdict, "summary");
    json_object_set_new(cr, "reviewRating", rr);

    json_t *item = json_pack("{ss}", "@type", "Claim");
    json_t *speaker = json_object_get(claim, "speaker");
    if (json_is_object(speaker)) json_object_set_new(item, "author", author(speaker, cache));
    set_str(item, "datePublished", claim, "said_at");
    json_t *apps = json_object_get(claim, "appearances"), *earliest = NULL, *ap;
    size_t i;
    if (json_array_size(apps)) {
        json_t *list = json_array();
        json_array_foreach(apps, i, ap) {
            json_array_append_new(list, creative_work(ap));
            const char *at = json_string_value(json_object_get(ap, "published_at"));
            const char *best = json_string_value(json_object_get(earliest, "published_at"));
            /* ISO 8601 of one precision sorts as text; a dated one beats an undated one. */
            if (!earliest || (at && (!best || strcmp(at, best) < 0))) earliest = ap;
        }
        json_object_set_new(item, "appearance", list);
        json_object_set_new(item, "firstAppearance", creative_work(earliest));
    }
    json_object_set_new(cr, "itemReviewed", item);
    return cr;
}
