/* text_stem: language tag -> Snowball algorithm, and the per-thread cache of stemmer objects
 * (a stemmer is not thread-safe and costs allocations to create, so each thread keeps its own). */
#include "text.h"
#include "text_internal.h"

#include <libstemmer.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ISO 639 tags of the languages Debian 12's libstemmer 2.2 has an algorithm for. Ukrainian has
 * none there, so "uk" is folded only. Croatian, Bosnian and Montenegrin use the Serbian stemmer,
 * which reads both Cyrillic and Latin script (it stems to Latin). */
static const struct {
    const char *tag;
    const char *algo;
} LANGS[] = {
    {"ar", "arabic"},     {"hy", "armenian"},   {"eu", "basque"},    {"ca", "catalan"},
    {"da", "danish"},     {"nl", "dutch"},      {"en", "english"},   {"fi", "finnish"},
    {"fr", "french"},     {"de", "german"},     {"el", "greek"},     {"hi", "hindi"},
    {"hu", "hungarian"},  {"id", "indonesian"}, {"ga", "irish"},     {"it", "italian"},
    {"lt", "lithuanian"}, {"ne", "nepali"},     {"no", "norwegian"}, {"nb", "norwegian"},
    {"nn", "norwegian"},  {"pt", "portuguese"}, {"ro", "romanian"},  {"ru", "russian"},
    {"sr", "serbian"},    {"hr", "serbian"},    {"bs", "serbian"},   {"sh", "serbian"},
    {"cnr", "serbian"},   {"es", "spanish"},    {"sv", "swedish"},   {"ta", "tamil"},
    {"tr", "turkish"},    {"yi", "yiddish"},
};

void cd_text_lang_primary(const char *lang, char tag[4])
{
    size_t i = 0;

    tag[0] = '\0';
    if (!lang) return;
    while (lang[i] && lang[i] != '-' && lang[i] != '_') {
        char c = lang[i];
        if (i == 3) { tag[0] = '\0'; return; }
        if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
        if (c < 'a' || c > 'z') { tag[0] = '\0'; return; }
        tag[i++] = c;
    }
    tag[i] = '\0';
}

/* True if this libstemmer build has algo, so a different libstemmer degrades to folding only. */
static int algorithm_available(const char *algo)
{
    for (const char **l = sb_stemmer_list(); *l; l++)
        if (strcmp(*l, algo) == 0) return 1;
    return 0;
}

const char *cd_text_stemmer_name(const char *lang)
{
    char tag[4];

    cd_text_lang_primary(lang, tag);
    if (!tag[0]) return NULL;
    for (size_t i = 0; i < sizeof LANGS / sizeof LANGS[0]; i++)
        if (strcmp(LANGS[i].tag, tag) == 0)
            return algorithm_available(LANGS[i].algo) ? LANGS[i].algo : NULL;
    return NULL;
}

#define CACHE_SLOTS 40 /* more than the distinct algorithms in LANGS */

struct stem_cache {
    size_t n;
    struct {
        const char *algo;
        struct sb_stemmer *stemmer;
    } slot[CACHE_SLOTS];
    void *memo;                  /* text_tokens.c's term memo */
};

static _Thread_local struct stem_cache *tl_cache;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t cache_key;
static int key_ready;

static void cache_free(struct stem_cache *c)
{
    for (size_t i = 0; i < c->n; i++) sb_stemmer_delete(c->slot[i].stemmer);
    free(c->memo);
    free(c);
    cd_text_translit_free();
}

/* pthread key destructor: frees a thread's cache when the thread exits without cleaning up. */
static void cache_free_at_exit(void *p)
{
    if (tl_cache == p) tl_cache = NULL;
    cache_free(p);
}

static void make_key(void)
{
    key_ready = pthread_key_create(&cache_key, cache_free_at_exit) == 0;
}

/* This thread's cache, made on first use. NULL when out of memory. */
static struct stem_cache *thread_cache(void)
{
    if (!tl_cache) {
        tl_cache = calloc(1, sizeof *tl_cache);
        if (!tl_cache) return NULL;
        pthread_once(&key_once, make_key);
        if (key_ready) pthread_setspecific(cache_key, tl_cache);
    }
    return tl_cache;
}

int cd_text_thread_register(void)
{
    return thread_cache() ? 0 : -1;
}

void *cd_text_thread_memo(size_t bytes)
{
    struct stem_cache *c = thread_cache();
    if (c && !c->memo) c->memo = calloc(1, bytes);
    return c ? c->memo : NULL;
}

struct sb_stemmer *cd_text_stemmer_get(const char *algo)
{
    if (!thread_cache()) return NULL;
    for (size_t i = 0; i < tl_cache->n; i++)
        if (strcmp(tl_cache->slot[i].algo, algo) == 0) return tl_cache->slot[i].stemmer;
    if (tl_cache->n == CACHE_SLOTS) return NULL;
    struct sb_stemmer *st = sb_stemmer_new(algo, "UTF_8");
    if (!st) return NULL;
    tl_cache->slot[tl_cache->n].algo = algo;
    tl_cache->slot[tl_cache->n].stemmer = st;
    tl_cache->n++;
    return st;
}

void cd_text_thread_cleanup(void)
{
    if (!tl_cache) return;
    if (key_ready) pthread_setspecific(cache_key, NULL);
    cache_free(tl_cache);
    tl_cache = NULL;
}
