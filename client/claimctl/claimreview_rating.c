/* claimreview_rating: the rating of an imported verdict, from the publisher's label or from its
 * numbers, and the wording of a rating for export.
 *
 * A label ("Pants on Fire", "Falsch", "Παραπληροφόρηση") is rated by, in this order: the user's
 * --rating LABEL=RATING pairs, the --ratings FILE vocabulary, the built-in vocabulary
 * (common/rating_labels.c). All compare labels folded (rating_vocab.h). A label the vocabulary
 * knows to carry no rating ("Satire", Flip-O-Meter) stays unrated. When nothing knows the label,
 * a ClaimReview's ratingValue between worstRating (default 1) and bestRating (default 5) gives
 * the rating by its place on the scale (cd_vocab_rating_on_scale). Otherwise the verdict is
 * unrated: kept with its label, and the label counted for the import summary. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "import.h"

const char *ctl_rate_label(const ctl_importer *im, const char *label)
{
    if (!label || !*label) return NULL;
    const ctl_rating_map *map = im->rating_map;
    char want[256], have[256];
    cd_vocab_fold(label, strlen(label), want, sizeof want);
    for (size_t i = 0; map && i < map->n; i++) {
        cd_vocab_fold(map->labels[i], strlen(map->labels[i]), have, sizeof have);
        if (!strcmp(want, have)) return map->ratings[i];
    }
    return cd_vocab_rating(im->vocab, label, strlen(label));
}

void ctl_note_unmapped(ctl_importer *im, const char *label)
{
    im->v_unrated++;
    for (size_t i = 0; i < im->n_unmapped; i++)
        if (!strcmp(im->unmapped[i].label, label)) {
            im->unmapped[i].n++;
            return;
        }
    if (im->n_unmapped == im->cap_unmapped) {
        size_t cap = im->cap_unmapped ? im->cap_unmapped * 2 : 16;
        ctl_unmapped *u = realloc(im->unmapped, cap * sizeof *u);
        if (!u) return;
        im->unmapped = u;
        im->cap_unmapped = cap;
    }
    char *copy = strdup(label);
    if (!copy) return;
    im->unmapped[im->n_unmapped++] = (ctl_unmapped){copy, 1};
}

/* A number from a JSON number or a numeric string, as a new JSON number (integer when written
 * as one); NULL when v is neither. */
static json_t *number(json_t *v, double *d)
{
    if (json_is_integer(v)) { *d = (double)json_integer_value(v); return json_incref(v); }
    if (json_is_real(v)) { *d = json_real_value(v); return isfinite(*d) ? json_incref(v) : NULL; }
    const char *s = json_string_value(v);
    if (!s || !*s) return NULL;
    char *end;
    long long i = strtoll(s, &end, 10);
    if (*end == '\0') { *d = (double)i; return json_integer(i); }
    *d = strtod(s, &end);
    return *end == '\0' && isfinite(*d) ? json_real(*d) : NULL;
}

const char *ctl_claimreview_rating(ctl_importer *im, json_t *rr, json_t *verdict, const char **why)
{
    *why = NULL;
    const char *label = json_string_value(json_object_get(rr, "alternateName"));
    if (!label || !*label) label = json_string_value(json_object_get(rr, "textualRating"));
    if (label && !*label) label = NULL;
    double v = 0, best = 5, worst = 1;
    json_t *jv = number(json_object_get(rr, "ratingValue"), &v);
    json_t *jb = number(json_object_get(rr, "bestRating"), &best);
    json_t *jw = number(json_object_get(rr, "worstRating"), &worst);
    if (jv) json_object_set_new(verdict, "rating_value", jv);
    if (jb) json_object_set_new(verdict, "best_rating", jb);
    if (jw) json_object_set_new(verdict, "worst_rating", jw);
    if (label) json_object_set_new(verdict, "label", json_string(label));
    double score = 0;
    const char *by_number = jv ? cd_vocab_rating_on_scale(v, best, worst, &score) : NULL;
    if (by_number) json_object_set_new(verdict, "score", json_integer((json_int_t)(score + 0.5)));
    const char *rating = ctl_rate_label(im, label);
    if (rating && !strcmp(rating, CD_VOCAB_UNRATED)) return NULL; /* known, no rating */
    if (rating) return rating;
    if (by_number) return by_number;
    if (label) {
        ctl_note_unmapped(im, label);
        return NULL;
    }
    *why = jv ? "reviewRating: no alternateName or textualRating, and ratingValue is off the "
                "scale from worstRating to bestRating"
              : "reviewRating has neither alternateName, textualRating nor ratingValue";
    return NULL;
}

void ctl_rate_verdict(ctl_importer *im, json_t *v)
{
    const char *rating = json_string_value(json_object_get(v, "rating"));
    const char *label = json_string_value(json_object_get(v, "label"));
    if (rating && ctl_in_list(ctl_ratings, rating)) return;
    if (rating) {
        /* A publisher's label in the rating column ("pants-fire", "Falsch"): rate it as one. */
        const char *r = ctl_rate_label(im, rating);
        if (!label) json_object_set_new(v, "label", json_string(rating));
        label = json_string_value(json_object_get(v, "label"));
        if (r && strcmp(r, CD_VOCAB_UNRATED)) {
            json_object_set_new(v, "rating", json_string(r));
            return;
        }
        if (!r && label && strcmp(label, rating)) r = ctl_rate_label(im, label);
        json_object_del(v, "rating");
        if (r && strcmp(r, CD_VOCAB_UNRATED)) json_object_set_new(v, "rating", json_string(r));
        else if (!r) ctl_note_unmapped(im, json_string_value(json_object_get(v, "label")));
        return;
    }
    if (!label) return; /* nothing to rate: validation reports it */
    const char *r = ctl_rate_label(im, label);
    if (r && strcmp(r, CD_VOCAB_UNRATED)) json_object_set_new(v, "rating", json_string(r));
    else if (!r) ctl_note_unmapped(im, label);
}

const char *ctl_rating_wording(const char *rating)
{
    static const struct { const char *rating, *wording; } words[] = {
        {"true", "True"}, {"mostly-true", "Mostly true"}, {"mixed", "Mixed"},
        {"mostly-false", "Mostly false"}, {"false", "False"}, {"misleading", "Misleading"},
        {"unproven", "Unproven"}, {"in-review", "In review"},
    };
    for (size_t i = 0; rating && i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(words[i].rating, rating)) return words[i].wording;
    return rating;
}
