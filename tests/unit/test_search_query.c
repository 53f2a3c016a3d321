/* Unit tests for daemon/search/search_query.c and search_snippet.c: splitting q, making plans per
 * language, clause matching, phrase checks on forward records, snippets. */
#include "tap.h"
#include "search.h"

#include <stdlib.h>
#include <string.h>

static int parse(const char *q, cd_qpart *parts)
{
    return cd_search_parse_q(q, strlen(q), parts, CD_SEARCH_PARTS_MAX);
}

static int part_is(const cd_qpart *p, cd_qpart_kind kind, const char *text)
{
    return p->kind == kind && p->n == strlen(text) && memcmp(p->p, text, p->n) == 0;
}

static void test_parse(void)
{
    cd_qpart parts[CD_SEARCH_PARTS_MAX];
    int n = parse("  peskov  \"the letter\" sanct* ", parts);
    ok(n == 3 && part_is(&parts[0], CD_QPART_WORDS, "peskov") && part_is(&parts[1], CD_QPART_PHRASE, "the letter") &&
       part_is(&parts[2], CD_QPART_PREFIX, "sanct"), "words, a phrase and a prefix");
    n = parse("\"unterminated phrase", parts);
    ok(n == 1 && part_is(&parts[0], CD_QPART_PHRASE, "unterminated phrase"), "an unterminated quote runs to the end");
    n = parse("“curly quotes” «guillemets» „low”", parts);
    ok(n == 3 && part_is(&parts[0], CD_QPART_PHRASE, "curly quotes") && part_is(&parts[1], CD_QPART_PHRASE, "guillemets") &&
       part_is(&parts[2], CD_QPART_PHRASE, "low"), "typographic quotes delimit phrases");
    n = parse("a\"b c\"d", parts);
    ok(n == 3 && part_is(&parts[0], CD_QPART_WORDS, "a") && part_is(&parts[1], CD_QPART_PHRASE, "b c") &&
       part_is(&parts[2], CD_QPART_WORDS, "d"), "a quote inside a word starts a phrase");
    n = parse("*** \"\" ", parts);
    is_int(n, 0, "stars and empty quotes alone give no parts");
    n = parse("word**", parts);
    ok(n == 1 && part_is(&parts[0], CD_QPART_PREFIX, "word"), "several trailing stars make one prefix");
    char many[600] = "";
    for (int i = 0; i < CD_SEARCH_PARTS_MAX; i++) strcat(many, "w ");
    is_int(parse(many, parts), CD_SEARCH_PARTS_MAX, "128 parts fit");
    strcat(many, "w");
    is_int(parse(many, parts), -1, "129 do not");
    cd_qpart few[4];
    is_int(cd_search_parse_q(many, strlen(many), few, 4), -1, "more parts than room is an error");
}

static cd_qplan *plan_of(const char *q, const char *lang, int *rc)
{
    static cd_qplan plan;
    cd_qpart parts[CD_SEARCH_PARTS_MAX];
    int n = parse(q, parts);
    *rc = n < 0 ? -99 : cd_search_plan_build(parts, n, lang, &plan);
    return &plan;
}

static int clause_is(const cd_qplan *p, int i, cd_clause_kind kind, const char *term)
{
    return i < p->nclauses && p->clause[i].kind == kind && p->clause[i].len == strlen(term) &&
           strcmp(p->clause[i].term, term) == 0;
}

static void test_plans(void)
{
    int rc;
    cd_qplan *p = plan_of("Letters LETTER letter's Péskov", "en", &rc);
    ok(rc == 0 && p->nclauses == 2 && clause_is(p, 0, CD_CLAUSE_TERM, "letter") && clause_is(p, 1, CD_CLAUSE_TERM, "peskov"),
       "English: words stemmed, folded and deduplicated");
    p = plan_of("Letters", NULL, &rc);
    ok(rc == 0 && p->nclauses == 1 && clause_is(p, 0, CD_CLAUSE_TERM, "letters"), "no language: folded only");
    p = plan_of("письма ПИСЬМО", "ru", &rc);
    ok(rc == 0 && p->nclauses == 1 && clause_is(p, 0, CD_CLAUSE_TERM, "письм"), "Russian forms share a stem");
    p = plan_of("ISTANBUL'da", "tr", &rc);
    ok(rc == 0 && p->nclauses == 2 && clause_is(p, 0, CD_CLAUSE_TERM, "istanbul") && clause_is(p, 1, CD_CLAUSE_TERM, "da"),
       "Turkish: the apostrophe splits the suffix, I folds to i");
    p = plan_of("U.S* sanctions*", "en", &rc);
    ok(rc == 0 && p->nclauses == 3 && clause_is(p, 0, CD_CLAUSE_TERM, "u") && clause_is(p, 1, CD_CLAUSE_PREFIX, "s") &&
       clause_is(p, 2, CD_CLAUSE_PREFIX, "sanctions"),
       "a prefix: earlier words are terms, the last is folded and not stemmed");
    p = plan_of("\"the letter from Paul\" letter", "en", &rc);
    ok(rc == 0 && p->nclauses == 4 && p->nphrases == 1 && p->phrase[0].n == 4 && p->phrase[0].clause[1] == 1 &&
       p->phrase[0].rel[3] == 3, "a phrase adds its words as clauses and records their order");
    p = plan_of("\"letter\"", "en", &rc);
    ok(rc == 0 && p->nclauses == 1 && p->nphrases == 0, "a one-word phrase is just a word");
    char q[400] = "";
    for (int i = 0; i < 33; i++) sprintf(q + strlen(q), "w%d ", i);
    plan_of(q, NULL, &rc);
    is_int(rc, CD_PLAN_TOO_MANY, "33 distinct words are too many");
    strcpy(q, "");
    for (int i = 0; i < 40; i++) strcat(q, "same ");
    p = plan_of(q, NULL, &rc);
    ok(rc == 0 && p->nclauses == 1, "repeating one word 40 times is one clause");
    p = plan_of("sen*", "en", &rc);
    ok(cd_search_clause_matches(p, 0, "senat", 5) && cd_search_clause_matches(p, 0, "send", 4) &&
       !cd_search_clause_matches(p, 0, "se", 2) && !cd_search_clause_matches(p, 0, "sea", 3),
       "a prefix clause matches terms starting with it");
    p = plan_of("senat", NULL, &rc);
    ok(cd_search_clause_matches(p, 0, "senat", 5) && !cd_search_clause_matches(p, 0, "senate", 6),
       "a term clause matches only itself");
}

/* The forward record of text in lang, malloc'd. */
static unsigned char *record(const char *text, const char *lang, size_t *len)
{
    cd_search_doc d = { 0 };
    cd_search_doc_build(&d, text, strlen(text), lang);
    unsigned char *rec = cd_search_fwd_encode(&d, lang ? lang : "\0\0\0", 0, len);
    cd_search_doc_free(&d);
    return rec;
}

static int phrase(const char *q, const char *text, const char *lang)
{
    int rc;
    cd_qplan *p = plan_of(q, lang, &rc);
    size_t len;
    unsigned char *rec = record(text, lang, &len);
    cd_search_fwd f;
    cd_search_fwd_open(&f, rec, len);
    int in = 1;
    for (int i = 0; i < p->nphrases && in == 1; i++) in = cd_search_phrase_in(p, &p->phrase[i], &f);
    free(rec);
    return in;
}

static void test_phrases(void)
{
    const char *t = "Russia never received a letter from senator Paul, and the letter from the senate was lost";
    is_int(phrase("\"letter from senator\"", t, "en"), 1, "an exact sequence is found");
    is_int(phrase("\"letters from senators\"", t, "en"), 1, "phrase words are stemmed like the text");
    is_int(phrase("\"senator letter\"", t, "en"), 0, "order matters");
    is_int(phrase("\"letter senator\"", t, "en"), 0, "adjacency matters");
    is_int(phrase("\"the senate was\"", t, "en"), 1, "a later occurrence counts");
    is_int(phrase("\"letter from the senate\"", t, "en"), 1, "a repeated first word: the second one matches");
    is_int(phrase("\"from senator\" \"was lost\"", t, "en"), 1, "two phrases both present");
    is_int(phrase("\"from senator\" \"was found\"", t, "en"), 0, "two phrases, one absent");
    is_int(phrase("\"письма сенатора\"", "Кремль получил письмо сенатора Пола", "ru"), 1, "a Russian phrase in other forms");
}

/* The snippet of text for query q in lang, marks found through the forward record. */
static const char *snippet(const char *q, const char *text, const char *lang)
{
    static char out[1024];
    int rc;
    cd_qplan *p = plan_of(q, lang, &rc);
    size_t len, nmarks = 0;
    unsigned char *rec = record(text, lang, &len);
    cd_search_fwd f;
    uint32_t *marks = NULL;
    char *s = NULL;
    if (cd_search_fwd_open(&f, rec, len) == 0 && cd_search_marks(p, &f, &marks, &nmarks) == 0)
        s = cd_search_snippet(text, strlen(text), lang, f.tokens, marks, nmarks, "[", "]", &len);
    snprintf(out, sizeof out, "%s", s ? s : "(null)");
    if (s && len != strlen(s)) out[0] = '!';
    free(s);
    free(marks);
    free(rec);
    return out;
}

static void test_snippets(void)
{
    is_str(snippet("letters paul", "Russia got the letter from\nPaul.", "en"), "Russia got the [letter] from [Paul].",
           "a short text is shown whole, matches marked, line breaks as spaces");
    is_str(snippet("peskov", "Песков and PÉSKOV", "en"), "Песков and [PÉSKOV]", "marks follow the folded terms");
    is_str(snippet("sanct*", "New sanctions, sanctioned banks", "en"), "New [sanctions], [sanctioned] banks", "prefixes are marked");
    char text[4096] = "";
    for (int i = 0; i < 60; i++) strcat(text, "filler words here ");
    strcat(text, "the decisive letter was sent ");
    for (int i = 0; i < 60; i++) strcat(text, "more filler text ");
    const char *s = snippet("letter", text, "en");
    ok(strstr(s, "[letter]") != NULL, "a long text is cut around the match");
    ok(strncmp(s, "\xe2\x80\xa6", 3) == 0 && strcmp(s + strlen(s) - 3, "\xe2\x80\xa6") == 0,
       "with an ellipsis at both cut ends");
    ok(strlen(s) <= CD_SEARCH_SNIPPET_MAX + 2 + 6, "within the snippet size (%zu bytes)", strlen(s));
    const char *mark = strstr(s, "[letter]");
    ok(mark && mark - s > 40 && strlen(mark) > 40, "the match has context on both sides");
    s = snippet("nothing", text, "en");
    ok(strncmp(s, "filler words", 12) == 0 && strcmp(s + strlen(s) - 3, "\xe2\x80\xa6") == 0,
       "no match: the beginning of the text");
    /* French elision splits "l'homme" where plain folding keeps one word: the marks must still
     * land on the right words (the tokenizer of the language is used when the counts differ). */
    is_str(snippet("homme lettre", "Selon l'homme, la lettre n'est pas arrivée", "fr"),
           "Selon l'[homme], la [lettre] n'est pas arrivée", "French elision: marks on the right words");
    is_str(snippet("da", "İstanbul'da bir mektup", "tr"), "İstanbul'[da] bir mektup",
           "Turkish suffix after an apostrophe: marked alone");
    uint32_t none = 0;
    size_t len;
    char *e = cd_search_snippet("", 0, NULL, 0, &none, 0, "[", "]", &len);
    ok(e && len == 0 && e[0] == 0, "an empty text gives an empty snippet");
    free(e);
}

int main(void)
{
    test_parse();
    test_plans();
    test_phrases();
    test_snippets();
    return done_testing();
}
