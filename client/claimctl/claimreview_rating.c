/* claimreview_rating: from a ClaimReview reviewRating to the contract's rating and 1-5 score,
 * and back for export.
 *
 * Publishers word their ratings their own way ("Pants on Fire", "Missing context") and scale
 * them their own way (ratingValue between worstRating and bestRating, or none at all). The
 * rating is, in this order:
 *   1. the user's --rating LABEL=RATING for the alternateName;
 *   2. an alternateName that means misleading, unproven or in-review (no place on a scale);
 *   3. the ratingValue scaled to 1-5: 5 true, 4 mostly-true, 3 mixed, 2 mostly-false, 1 false
 *      (the publisher's own position on its scale says more than a word like "Accurate");
 *   4. an alternateName that means one of those five.
 * Labels are compared ignoring case, '-' and '_', and a final '!' or '.'. The score is the
 * scaled ratingValue whenever there is one. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "import.h"

static const struct {
    const char *label;
    const char *rating;
} labels[] = {
    {"true", "true"}, {"correct", "true"}, {"accurate", "true"}, {"confirmed", "true"},
    {"verdadero", "true"}, {"vrai", "true"}, {"richtig", "true"},
    {"mostly true", "mostly-true"}, {"mostly correct", "mostly-true"},
    {"mostly accurate", "mostly-true"}, {"largely accurate", "mostly-true"},
    {"mixed", "mixed"}, {"mixture", "mixed"}, {"half true", "mixed"}, {"partly true", "mixed"},
    {"partly false", "mixed"}, {"partially true", "mixed"}, {"partially false", "mixed"},
    {"mostly false", "mostly-false"}, {"mostly incorrect", "mostly-false"},
    {"largely false", "mostly-false"}, {"largely inaccurate", "mostly-false"},
    {"false", "false"}, {"incorrect", "false"}, {"inaccurate", "false"}, {"wrong", "false"},
    {"pants on fire", "false"}, {"fake", "false"}, {"fabricated", "false"}, {"hoax", "false"},
    {"falso", "false"}, {"faux", "false"}, {"falsch", "false"},
    {"misleading", "misleading"}, {"missing context", "misleading"},
    {"out of context", "misleading"}, {"needs context", "misleading"},
    {"lacks context", "misleading"}, {"distorts the facts", "misleading"},
    {"exaggerated", "misleading"}, {"exaggeration", "misleading"}, {"enganoso", "misleading"},
    {"engañoso", "misleading"}, {"trompeur", "misleading"}, {"irreführend", "misleading"},
    {"unproven", "unproven"}, {"unverified", "unproven"}, {"unsupported", "unproven"},
    {"no evidence", "unproven"}, {"unsubstantiated", "unproven"},
    {"not enough evidence", "unproven"}, {"unverifiable", "unproven"},
    {"in review", "in-review"}, {"under review", "in-review"},
    {"research in progress", "in-review"},
};

static const char *const by_score[] = {NULL, "false", "mostly-false", "mixed", "mostly-true", "true"};

/* Folds a label for comparison into out: ASCII lower case, '-' and '_' as spaces, runs of
 * spaces as one, no leading or trailing space, no final '!' or '.'. */
static void fold(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    int space = 0;
    for (; *s && o + 1 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '-' || c == '_' || isspace(c)) {
            space = o > 0;
            continue;
        }
        if (space && o + 2 < cap) out[o++] = ' ';
        space = 0;
        out[o++] = (char)(c < 0x80 ? tolower(c) : c);
    }
    while (o && (out[o - 1] == '!' || out[o - 1] == '.')) o--;
    out[o] = '\0';
}

/* A number from a JSON number or numeric string; -1 (and *ok 0) when there is none. */
static double number(json_t *v, int *ok)
{
    *ok = 1;
    if (json_is_number(v)) return json_number_value(v);
    if (json_is_string(v)) {
        char *end;
        double d = strtod(json_string_value(v), &end);
        if (end != json_string_value(v) && *end == '\0') return d;
    }
    *ok = 0;
    return -1;
}

const char *ctl_claimreview_rating(json_t *rr, const ctl_rating_map *map, int *score)
{
    int has_v, has_best, has_worst;
    double v = number(json_object_get(rr, "ratingValue"), &has_v);
    double best = number(json_object_get(rr, "bestRating"), &has_best);
    double worst = number(json_object_get(rr, "worstRating"), &has_worst);
    if (!has_best) best = 5;
    if (!has_worst) worst = 1;
    *score = 0;
    if (has_v && best > worst && v >= worst && v <= best)
        *score = (int)lround(1 + 4 * (v - worst) / (best - worst));
    const char *label = json_string_value(json_object_get(rr, "alternateName"));
    if (label) {
        char want[128], have[128];
        fold(label, want, sizeof want);
        for (size_t i = 0; map && i < map->n; i++) {
            fold(map->labels[i], have, sizeof have);
            if (!strcmp(want, have)) return map->ratings[i];
        }
        for (size_t i = 0; i < sizeof labels / sizeof labels[0]; i++) {
            if (strcmp(want, labels[i].label)) continue;
            if (*score && ctl_rating_value(labels[i].rating)) break; /* on the scale: step 3 */
            return labels[i].rating;
        }
    }
    return *score ? by_score[*score] : NULL;
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

int ctl_rating_value(const char *rating)
{
    for (int s = 1; rating && s <= 5; s++)
        if (!strcmp(by_score[s], rating)) return s;
    return 0;
}
