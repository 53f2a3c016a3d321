/* Recall of the search terms on real inflected forms (tests/data/morphology/LANG.tsv: form TAB
 * lemma): the share of pairs where the form and its lemma give the same term, so a query in one
 * finds text in the other. Asserts a floor per language (docs/search.md has the table);
 * CLAIMD_MORPH_VERBOSE=1 lists the misses. Also checks the fallback without dictionaries. */
#include "tap.h"
#include "text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Recall floors: a little under what this build measures, so a regression fails. */
static const struct { const char *lang; double floor; } LANGS[] = {
    { "uk", 0.95 }, { "pl", 0.85 }, { "ru", 0.95 }, { "cs", 0.93 }, { "bg", 0.95 },
    { "fr", 0.90 }, { "es", 0.83 }, { "de", 0.93 },
};

/* Recall floors with no hunspell dictionary (suffix stripping only). */
static const struct { const char *lang; double floor; } FALLBACK[] = {
    { "uk", 0.80 }, { "pl", 0.70 }, { "cs", 0.70 }, { "bg", 0.70 },
};

static int same_term(const char *a, const char *b, const char *lang, char *ta, char *tb, size_t cap)
{
    size_t la, lb;
    char *x = cd_text_word_term(a, strlen(a), lang, &la);
    char *y = cd_text_word_term(b, strlen(b), lang, &lb);
    int same = x && y && la == lb && memcmp(x, y, la) == 0;
    snprintf(ta, cap, "%s", x ? x : "(null)");
    snprintf(tb, cap, "%s", y ? y : "(null)");
    free(x);
    free(y);
    return same;
}

/* Recall of lang's file, -1 when it cannot be read. */
static double recall(const char *dir, const char *lang, size_t *pairs)
{
    char path[512], line[512];
    snprintf(path, sizeof path, "%s/%s.tsv", dir, lang);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = 0, hit = 0;
    int verbose = getenv("CLAIMD_MORPH_VERBOSE") != NULL;
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        line[strcspn(line, "\r\n")] = 0;
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = 0;
        char ta[256], tb[256];
        n++;
        if (same_term(line, tab + 1, lang, ta, tb, sizeof ta)) hit++;
        else if (verbose) diag("%s miss: %s -> %s | %s -> %s", lang, line, ta, tab + 1, tb);
    }
    fclose(f);
    *pairs = n;
    return n ? (double)hit / (double)n : 0;
}

int main(void)
{
    const char *src = getenv("CLAIMD_SRC");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/tests/data/morphology", src && *src ? src : ".");
    /* Without dictionaries (a machine without hunspell-uk...): suffix stripping alone. A
     * dictionary is loaded once per process, so this is measured first, in a child that never
     * had one. */
    int fds[2];
    size_t nf = sizeof FALLBACK / sizeof FALLBACK[0];
    double got[sizeof FALLBACK / sizeof FALLBACK[0]];
    if (pipe(fds) == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            setenv("CLAIMD_HUNSPELL_DIR", "/nonexistent", 1);
            for (size_t i = 0; i < nf; i++) {
                size_t n;
                got[i] = recall(dir, FALLBACK[i].lang, &n);
            }
            ssize_t w = write(fds[1], got, sizeof got);
            _exit(w == (ssize_t)sizeof got ? 0 : 1);
        }
        close(fds[1]);
        ssize_t r = read(fds[0], got, sizeof got);
        close(fds[0]);
        int st = 0;
        if (pid > 0) waitpid(pid, &st, 0);
        ok(r == (ssize_t)sizeof got && pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
           "recall measured without dictionaries");
        for (size_t i = 0; i < nf && r == (ssize_t)sizeof got; i++)
            ok(got[i] >= FALLBACK[i].floor, "%s without a dictionary: recall %.3f >= %.2f",
               FALLBACK[i].lang, got[i], FALLBACK[i].floor);
    }
    for (size_t i = 0; i < sizeof LANGS / sizeof LANGS[0]; i++) {
        size_t n = 0;
        double r = recall(dir, LANGS[i].lang, &n);
        ok(r >= 0 && n >= 30, "%s: %zu labelled pairs read", LANGS[i].lang, n);
        ok(r >= LANGS[i].floor, "%s: recall %.3f >= %.2f", LANGS[i].lang, r, LANGS[i].floor);
    }
    cd_text_thread_cleanup();
    return done_testing();
}
