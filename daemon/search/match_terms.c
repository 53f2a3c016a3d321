/* match_terms: the weighed term sets claim.match compares (match.h), and their similarity. */
#include <stdlib.h>
#include <string.h>
#include "match.h"
#include "search.h"

int cd_mset_build(cd_mset *set, const char *s, size_t n, const char *lang, int canon)
{
    memset(set, 0, sizeof *set);
    char *canonical = NULL;
    if (canon) {
        size_t cn;
        if (!(canonical = cd_match_canon_numbers(s, n, lang, &cn))) return -1;
        s = canonical;
        n = cn;
    }
    cd_search_doc d = { 0 };
    int rc = cd_search_doc_build(&d, s, n, lang);
    free(canonical);
    if (rc) { cd_search_doc_free(&d); return -1; }
    /* The doc's tokens are sorted by (term, position): one entry per run of equal terms. */
    set->t = malloc((d.ntoks + 1) * sizeof *set->t);
    if (!set->t) { cd_search_doc_free(&d); return -1; }
    for (size_t i = 0; i < d.ntoks; i++) {
        const cd_search_tok *t = &d.toks[i];
        if (set->n) {
            const cd_mterm *prev = &set->t[set->n - 1];
            if (prev->len == t->len && memcmp(d.terms + prev->off, d.terms + t->off, t->len) == 0) continue;
        }
        set->t[set->n++] = (cd_mterm){ t->off, t->len, 0.0 };
    }
    set->terms = d.terms;          /* the set keeps the doc's term bytes; the rest goes */
    d.terms = NULL;
    cd_search_doc_free(&d);
    return 0;
}

static int term_cmp(const char *a, size_t na, const char *b, size_t nb)
{
    int c = memcmp(a, b, na < nb ? na : nb);
    return c ? c : (na > nb) - (na < nb);
}

long cd_mset_find(const cd_mset *set, const char *term, size_t len)
{
    size_t lo = 0, hi = set->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = term_cmp(set->terms + set->t[mid].off, set->t[mid].len, term, len);
        if (c == 0) return (long)mid;
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

void cd_mset_free(cd_mset *set)
{
    free(set->terms);
    free(set->t);
    memset(set, 0, sizeof *set);
}

double cd_mset_similarity(const cd_mset *a, const cd_mset *b)
{
    size_t i = 0, j = 0;
    double both = 0, all = 0;
    while (i < a->n || j < b->n) {
        int c = i == a->n ? 1 : j == b->n ? -1
              : term_cmp(a->terms + a->t[i].off, a->t[i].len, b->terms + b->t[j].off, b->t[j].len);
        if (c == 0) {
            /* The same term weighs the same on both sides (one idf); take the larger if not. */
            double w = a->t[i].w > b->t[j].w ? a->t[i].w : b->t[j].w;
            both += w;
            all += w;
            i++;
            j++;
        } else if (c < 0) {
            all += a->t[i++].w;
        } else {
            all += b->t[j++].w;
        }
    }
    return all > 0 ? both / all : 0.0;
}
