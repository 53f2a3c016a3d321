/* search_query: the query language of claim.search. q is split into words, quoted phrases and
 * prefix* words (cd_search_parse_q), then made into terms for one language at a time
 * (cd_search_plan_build), exactly as claim text of that language is indexed. */
#include <stdlib.h>
#include <string.h>
#include "search.h"

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* Bytes of a phrase quote at q[i]: '"', “ ” „ or « » (any of them opens or closes), else 0. */
static size_t quote_len(const char *q, size_t i, size_t n)
{
    const unsigned char *u = (const unsigned char *)q + i;
    if (u[0] == '"') return 1;
    if (i + 1 < n && u[0] == 0xC2 && (u[1] == 0xAB || u[1] == 0xBB)) return 2;
    if (i + 2 < n && u[0] == 0xE2 && u[1] == 0x80 && u[2] >= 0x9C && u[2] <= 0x9E) return 3;
    return 0;
}

int cd_search_parse_q(const char *q, size_t n, cd_qpart *parts, int max)
{
    int np = 0;
    size_t i = 0, ql;
    while (i < n) {
        if (is_space(q[i])) { i++; continue; }
        cd_qpart part;
        if ((ql = quote_len(q, i, n))) {
            size_t s = i += ql;
            while (i < n && !quote_len(q, i, n)) i++;
            part = (cd_qpart){ CD_QPART_PHRASE, q + s, i - s };
            if (i < n) i += quote_len(q, i, n);
        } else {
            size_t s = i;
            while (i < n && !is_space(q[i]) && !quote_len(q, i, n)) i++;
            size_t e = i;
            while (e > s && q[e - 1] == '*') e--;
            part = (cd_qpart){ e < i ? CD_QPART_PREFIX : CD_QPART_WORDS, q + s, e - s };
        }
        if (part.n == 0) continue;
        if (np == max) return -1;
        parts[np++] = part;
    }
    return np;
}

/* Index of the clause (kind, term), added when new; CD_PLAN_TOO_MANY when the plan is full. */
static int add_clause(cd_qplan *plan, cd_clause_kind kind, const char *term, size_t len)
{
    for (int i = 0; i < plan->nclauses; i++)
        if (plan->clause[i].kind == kind && plan->clause[i].len == len &&
            memcmp(plan->clause[i].term, term, len) == 0)
            return i;
    if (plan->nclauses == CD_SEARCH_CLAUSES_MAX) return CD_PLAN_TOO_MANY;
    cd_qclause *cl = &plan->clause[plan->nclauses];
    cl->kind = kind;
    cl->len = len > CD_TEXT_TERM_MAX ? CD_TEXT_TERM_MAX : len;
    memcpy(cl->term, term, cl->len);
    cl->term[cl->len] = 0;
    return plan->nclauses++;
}

/* Tokens of one query part, collected for the plan. */
typedef struct {
    cd_qplan *plan;
    int rc;                              /* first error */
    int n;                               /* tokens seen */
    int add;                             /* make each token a term clause */
    int keep;                            /* remember tokens (phrases, prefixes) */
    int clause[CD_SEARCH_PHRASE_WORDS];  /* their clauses, when added */
    size_t start[CD_SEARCH_PHRASE_WORDS], end[CD_SEARCH_PHRASE_WORDS];
} part_tokens;

static int collect(const cd_token *tok, void *ud)
{
    part_tokens *pt = ud;
    int i = 0;
    if (pt->add && (i = add_clause(pt->plan, CD_CLAUSE_TERM, tok->term, tok->len)) < 0) {
        pt->rc = i;
        return 1;
    }
    if (pt->keep) {
        if (pt->n == CD_SEARCH_PHRASE_WORDS) { pt->rc = CD_PLAN_TOO_MANY; return 1; }
        pt->clause[pt->n] = i;
        pt->start[pt->n] = tok->start;
        pt->end[pt->n] = tok->end;
    }
    pt->n++;
    return 0;
}

static int add_words(cd_qplan *plan, const char *p, size_t n, const char *lang)
{
    part_tokens pt = { .plan = plan, .add = 1 };
    if (cd_text_tokenize(p, n, lang, collect, &pt) < 0) return CD_PLAN_NOMEM;
    return pt.rc;
}

static int add_prefix(cd_qplan *plan, const cd_qpart *part, const char *lang)
{
    part_tokens pt = { .plan = plan, .keep = 1 };
    if (cd_text_tokenize(part->p, part->n, lang, collect, &pt) < 0) return CD_PLAN_NOMEM;
    if (pt.rc) return pt.rc;
    if (pt.n == 0) return CD_PLAN_OK;
    /* Every word but the last is an ordinary term ("U.S*" is "u" and the prefix "s"); the last is
     * folded without stemming, because the typed beginning of a word is not a word to stem. */
    size_t s = pt.start[pt.n - 1], e = pt.end[pt.n - 1];
    int rc = add_words(plan, part->p, s, lang);
    if (rc) return rc;
    size_t len;
    char *pre = cd_text_word_term(part->p + s, e - s, NULL, &len);
    if (!pre) return CD_PLAN_NOMEM;
    rc = len ? add_clause(plan, CD_CLAUSE_PREFIX, pre, len) : 0;
    free(pre);
    return rc < 0 ? rc : CD_PLAN_OK;
}

static int add_phrase(cd_qplan *plan, const cd_qpart *part, const char *lang)
{
    part_tokens pt = { .plan = plan, .add = 1, .keep = 1 };
    if (cd_text_tokenize(part->p, part->n, lang, collect, &pt) < 0) return CD_PLAN_NOMEM;
    if (pt.rc) return pt.rc;
    if (pt.n < 2) return CD_PLAN_OK;          /* one word: just a required term */
    if (plan->nphrases == CD_SEARCH_PHRASES_MAX) return CD_PLAN_TOO_MANY;
    cd_qphrase *ph = &plan->phrase[plan->nphrases++];
    ph->n = pt.n;
    for (int k = 0; k < pt.n; k++) {
        ph->clause[k] = pt.clause[k];
        ph->rel[k] = (uint32_t)k;             /* tokenizer positions are consecutive */
    }
    return CD_PLAN_OK;
}

int cd_search_plan_build(const cd_qpart *parts, int nparts, const char *lang, cd_qplan *plan)
{
    plan->nclauses = plan->nphrases = 0;
    for (int i = 0; i < nparts; i++) {
        int rc;
        if (parts[i].kind == CD_QPART_PHRASE) {
            rc = add_phrase(plan, &parts[i], lang);
        } else if (parts[i].kind == CD_QPART_PREFIX) {
            rc = add_prefix(plan, &parts[i], lang);
        } else {
            rc = add_words(plan, parts[i].p, parts[i].n, lang);
        }
        if (rc) return rc;
    }
    return CD_PLAN_OK;
}

int cd_search_clause_matches(const cd_qplan *plan, int i, const char *term, size_t len)
{
    const cd_qclause *cl = &plan->clause[i];
    if (cl->kind == CD_CLAUSE_TERM) return len == cl->len && memcmp(term, cl->term, len) == 0;
    return len >= cl->len && memcmp(term, cl->term, cl->len) == 0;
}

static int has_position(const uint32_t *pos, size_t n, uint32_t want)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pos[mid] < want) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && pos[lo] == want;
}

int cd_search_phrase_in(const cd_qplan *plan, const cd_qphrase *ph, const cd_search_fwd *f)
{
    uint32_t *pos[CD_SEARCH_PHRASE_WORDS] = { 0 };
    size_t npos[CD_SEARCH_PHRASE_WORDS] = { 0 };
    cd_search_fwd it = *f;
    cd_search_fwd_term t;
    int rc, found = 0;
    while ((rc = cd_search_fwd_next(&it, &t)) == 1) {
        for (int j = 0; j < ph->n; j++) {
            if (pos[j] || !cd_search_clause_matches(plan, ph->clause[j], t.term, t.len)) continue;
            if (!(pos[j] = malloc(t.tf * sizeof **pos))) { rc = -1; goto out; }
            npos[j] = cd_search_fwd_positions(&t, pos[j], t.tf);
        }
    }
    if (rc < 0) goto out;
    for (int j = 0; j < ph->n; j++)
        if (!pos[j]) goto out;
    for (size_t a = 0; a < npos[0] && !found; a++) {
        int all = 1;
        for (int j = 1; j < ph->n && all; j++)
            all = has_position(pos[j], npos[j], pos[0][a] + ph->rel[j]);
        found = all;
    }
out:
    for (int j = 0; j < ph->n; j++) free(pos[j]);
    return rc < 0 ? -1 : found;
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

int cd_search_marks(const cd_qplan *plan, const cd_search_fwd *f, uint32_t **out, size_t *n)
{
    cd_search_fwd it = *f;
    cd_search_fwd_term t;
    uint32_t *pos = NULL;
    size_t np = 0;
    int rc;
    while ((rc = cd_search_fwd_next(&it, &t)) == 1) {
        int hit = 0;
        for (int i = 0; i < plan->nclauses && !hit; i++) hit = cd_search_clause_matches(plan, i, t.term, t.len);
        if (!hit) continue;
        uint32_t *bigger = realloc(pos, (np + t.tf) * sizeof *pos);
        if (!bigger) { rc = -1; break; }
        pos = bigger;
        np += cd_search_fwd_positions(&t, pos + np, t.tf);
    }
    if (rc < 0) { free(pos); return -1; }
    if (np > 1) qsort(pos, np, sizeof *pos, u32_cmp);
    *out = pos;
    *n = np;
    return 0;
}
