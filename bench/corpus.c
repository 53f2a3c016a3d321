/* corpus: the deterministic synthetic claims. Claim number i is a pure function of (seed, i),
 * so the daemon, SQLite and claimctl see the very same claims, and writers can make fresh ones
 * (i >= n) from any thread.
 *
 * Shape, after RFE/RL's and fact-checkers' data: Zipf-distributed speakers (a few talk a lot),
 * outlets, tags and words; claim texts of 4 to 150 words, median about 20 (log-normal);
 * five languages in three scripts; most claims with one appearance, some with two, a fifth
 * passed on through an agency, a quarter about someone. */
#include <math.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench.h"

#define VOCAB_WORDS 20000
#define BLOCK_BYTES ((size_t)4 << 20)
#define SCRATCH_BYTES ((size_t)64 << 10)

typedef struct block { struct block *next; size_t used, cap; char data[]; } block;

/* Where a claim's strings go: the corpus arena, or this thread's scratch buffer. */
typedef struct { bench_corpus *cp; char *scratch; size_t used; } sink;

static char *sink_dup(sink *s, const char *p, size_t n)
{
    char *d;
    if (s->cp) {
        block *b = s->cp->blocks;
        if (!b || b->cap - b->used < n + 1) {
            size_t cap = n + 1 > BLOCK_BYTES ? n + 1 : BLOCK_BYTES;
            block *nb = malloc(sizeof *nb + cap);
            if (!nb) { fprintf(stderr, "claimbench: out of memory\n"); exit(1); }
            nb->next = b;
            nb->used = 0;
            nb->cap = cap;
            s->cp->blocks = b = nb;
        }
        d = b->data + b->used;
        b->used += n + 1;
    } else {
        if (SCRATCH_BYTES - s->used < n + 1) { fprintf(stderr, "claimbench: claim too big\n"); exit(1); }
        d = s->scratch + s->used;
        s->used += n + 1;
    }
    memcpy(d, p, n);
    d[n] = 0;
    return d;
}

static char *sink_str(sink *s, const char *p) { return sink_dup(s, p, strlen(p)); }

static double gauss(bench_rng *r)
{
    double u = rng_unit(r), v = rng_unit(r);
    return sqrt(-2.0 * log(u + 1e-300)) * cos(6.283185307179586 * v);
}

/* Appends n_words Zipf-drawn words of lang as sentences into out. */
static size_t make_text(bench_corpus *cp, bench_rng *r, int lang, int n_words, char *out, size_t cap)
{
    const bench_vocab *v = &cp->vocab[lang];
    size_t n = 0;
    int sentence_start = 1, in_sentence = 0;
    for (int i = 0; i < n_words && n + 64 < cap; i++) {
        const char *w = v->words[zipf_draw(&cp->zword, r)];
        if (i) out[n++] = ' ';
        size_t wl = strlen(w);
        memcpy(out + n, w, wl);
        if (sentence_start && out[n] >= 'a' && out[n] <= 'z') out[n] = (char)(out[n] - 'a' + 'A');
        n += wl;
        sentence_start = 0;
        in_sentence++;
        if (i == n_words - 1) break;
        double p = rng_unit(r);
        if (in_sentence > 6 && p < 0.10) { out[n++] = '.'; sentence_start = 1; in_sentence = 0; }
        else if (p < 0.18) out[n++] = ',';
    }
    out[n++] = rng_below(r, 100) < 4 ? '?' : '.';
    out[n] = 0;
    return n;
}

static void format_time(int64_t ts, int precision, char *buf, size_t cap)
{
    time_t t = (time_t)ts;
    struct tm tm;
    gmtime_r(&t, &tm);
    if (precision == 0) strftime(buf, cap, "%Y-%m-%dT%H:%MZ", &tm);
    else if (precision == 1) strftime(buf, cap, "%Y-%m-%d", &tm);
    else strftime(buf, cap, "%Y-%m", &tm);
}

/* The first instant of the period the text names, as the daemon orders by. */
static int64_t period_start(int64_t ts, int precision)
{
    if (precision == 0) return ts - ts % 60;
    time_t t = (time_t)ts;
    struct tm tm;
    gmtime_r(&t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    if (precision == 2) tm.tm_mday = 1;
    return (int64_t)timegm(&tm);
}

static const char *const roles[] = { "Kremlin spokesman", "Minister of Foreign Affairs",
    "opposition leader", "senator", "member of parliament", "mayor", "government spokeswoman",
    "President", "governor", "party chairman", "prime minister", "ambassador" };
static const char *const media[] = { "statement", "interview", "speech", "press-conference",
    "post", "broadcast", "press-release", "article", "testimony", "document", "other" };
static const int media_weight[] = { 22, 18, 14, 12, 12, 8, 6, 4, 2, 1, 1 };   /* sums to 100 */
static const char *const hows[] = { "reported", "quoted", "citing", "with-reporting-by" };

static const char *pick_medium(bench_rng *r)
{
    int p = (int)rng_below(r, 100);
    for (size_t i = 0; i < sizeof media / sizeof *media; i++) {
        if (p < media_weight[i]) return media[i];
        p -= media_weight[i];
    }
    return "other";
}

/* The lower-case ASCII slug of an outlet name, for its URLs. */
static void slug(const char *name, char *out, size_t cap)
{
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < cap; p++) {
        char ch = *p;
        if (ch >= 'A' && ch <= 'Z') out[n++] = (char)(ch - 'A' + 'a');
        else if (ch >= 'a' && ch <= 'z') out[n++] = ch;
        else if (ch == ' ' && n && out[n - 1] != '-') out[n++] = '-';
    }
    out[n] = 0;
}

/* Each thread's scratch buffer is freed when the thread ends (a key destructor). */
static pthread_key_t scratch_key;
static pthread_once_t scratch_once = PTHREAD_ONCE_INIT;

static void scratch_key_make(void)
{
    if (pthread_key_create(&scratch_key, free)) exit(1);
}

void corpus_claim(bench_corpus *cp, size_t idx, bench_claim *out, int arena)
{
    static __thread char *scratch;
    if (!arena && !scratch) {
        pthread_once(&scratch_once, scratch_key_make);
        if (!(scratch = malloc(SCRATCH_BYTES))) exit(1);
        pthread_setspecific(scratch_key, scratch);
    }
    sink s = { arena ? cp : NULL, scratch, 0 };
    bench_rng r;
    rng_seed(&r, cp->seed * 0x100000001b3ULL + idx);
    memset(out, 0, sizeof *out);
    /* libclaimd's structs carry their size (its ABI rule). */
    CLAIMD_INIT(&out->c);
    for (size_t i = 0; i < sizeof out->apps / sizeof out->apps[0]; i++) CLAIMD_INIT(&out->apps[i]);
    CLAIMD_INIT(&out->via[0]);
    claimd_claim *c = &out->c;
    char text[16384], buf[512], tmp[256];

    out->speaker = (uint32_t)zipf_draw(&cp->zspeaker, &r);
    c->speaker = cp->speakers[out->speaker];
    int home = lang_of_rank(out->speaker, cp->seed);
    out->lang = rng_below(&r, 100) < 85 ? home : (int)rng_below(&r, BENCH_NLANGS);
    c->lang = bench_langs[out->lang];

    double len = exp(3.0 + 0.5 * gauss(&r));
    if (rng_below(&r, 100) == 0) len *= 3;            /* the odd long quote */
    int words = len < 4 ? 4 : len > 150 ? 150 : (int)len;
    size_t tn = make_text(cp, &r, out->lang, words, text, sizeof text);
    c->text = sink_dup(&s, text, tn);

    c->quote = rng_below(&r, 100) < 70 ? CLAIMD_QUOTE_VERBATIM : CLAIMD_QUOTE_PARAPHRASE;
    int64_t ts = 1262304000 + (int64_t)rng_below(&r, 15ull * 365 * 86400);
    int prec = (int)rng_below(&r, 100);
    prec = prec < 70 ? 0 : prec < 95 ? 1 : 2;
    format_time(ts, prec, buf, sizeof buf);
    c->said_at = sink_str(&s, buf);
    out->said_ts = period_start(ts, prec);
    c->medium = pick_medium(&r);
    if (rng_below(&r, 100) < 30) c->speaker_role = roles[rng_below(&r, sizeof roles / sizeof *roles)];

    c->n_appearances = rng_below(&r, 100) < 90 ? 1 : 2;
    for (size_t i = 0; i < c->n_appearances; i++) {
        claimd_appearance *a = &out->apps[i];
        uint32_t outlet = (uint32_t)zipf_draw(&cp->zoutlet, &r);
        if (i == 0) out->outlet = outlet;
        a->outlet = cp->outlets[outlet];
        int64_t pub = ts + (int64_t)rng_below(&r, 2 * 86400);
        format_time(pub, 1, tmp, sizeof tmp);
        a->published_at = sink_str(&s, tmp);
        char sl[96];
        slug(a->outlet, sl, sizeof sl);
        snprintf(buf, sizeof buf, "https://%s.example/%.4s/%.2s/claim-%zu-%zu", sl, tmp, tmp + 5, idx, i);
        a->url = sink_str(&s, buf);
        if (rng_below(&r, 100) < 50) {
            size_t n = make_text(cp, &r, out->lang, 5 + (int)rng_below(&r, 6), text, sizeof text);
            a->title = sink_dup(&s, text, n - 1);     /* a headline has no full stop */
        }
        a->lang = c->lang;
    }
    c->appearances = out->apps;
    if (rng_below(&r, 100) < 20) {
        out->via[0].name = cp->outlets[zipf_draw(&cp->zoutlet, &r)];
        out->via[0].how = hows[rng_below(&r, 4)];
        c->via = out->via;
        c->n_via = 1;
    }
    if (rng_below(&r, 100) < 25) {
        out->about[0] = cp->speakers[zipf_draw(&cp->zspeaker, &r)];
        c->about = out->about;
        c->n_about = 1;
    }
    size_t ntags = rng_below(&r, 4);
    for (size_t i = 0; i < ntags; i++) {
        const char *t = cp->tags[zipf_draw(&cp->ztag, &r)];
        int dup = 0;
        for (size_t k = 0; k < c->n_tags; k++) dup |= out->tags[k] == t;
        if (!dup) out->tags[c->n_tags++] = t;
    }
    c->tags = out->tags;
    snprintf(buf, sizeof buf, "bench-%zu", idx);
    c->external_id = sink_str(&s, buf);
    c->by = "claimbench";
}

static const char *const real_tags[] = { "elections", "ukraine", "sanctions", "economy", "nato",
    "health", "migration", "energy", "corruption", "media-freedom", "covid-19", "climate",
    "human-rights", "security", "crimea", "gas", "protests", "courts", "budget", "education" };

int corpus_make(bench_corpus *cp, size_t n, uint64_t seed)
{
    memset(cp, 0, sizeof *cp);
    cp->seed = seed;
    cp->nspeakers = n / 50 > 200 ? n / 50 : 200;
    cp->noutlets = 400;
    cp->ntags = 300;
    for (int l = 0; l < BENCH_NLANGS; l++)
        if (vocab_make(&cp->vocab[l], l, VOCAB_WORDS, seed)) return -1;
    cp->speakers = names_make(cp->nspeakers, seed + 1, 0);
    cp->outlets = names_make(cp->noutlets, seed + 2, 1);
    cp->tags = calloc(cp->ntags, sizeof *cp->tags);
    if (!cp->speakers || !cp->outlets || !cp->tags) return -1;
    for (size_t i = 0; i < cp->ntags; i++) {
        char t[64];
        if (i < sizeof real_tags / sizeof *real_tags) snprintf(t, sizeof t, "%s", real_tags[i]);
        else snprintf(t, sizeof t, "%s-%zu", cp->vocab[0].words[200 + i], i);
        cp->tags[i] = strdup(t);
        if (!cp->tags[i]) return -1;
    }
    if (zipf_init(&cp->zword, VOCAB_WORDS, 1.0) || zipf_init(&cp->zspeaker, cp->nspeakers, 1.0) ||
        zipf_init(&cp->zoutlet, cp->noutlets, 1.1) || zipf_init(&cp->ztag, cp->ntags, 1.1))
        return -1;
    /* The claims themselves are not kept: each is made again when it is needed (about 9 us),
     * so a 10M corpus costs claimbench no memory. Kept, they took about 0.7 KB a claim
     * (claimbench's VmHWM over a 100k import: 81 MiB with them, 11 MiB without). */
    cp->n = n;
    return 0;
}

void corpus_free(bench_corpus *cp)
{
    for (block *b = cp->blocks, *next; b; b = next) { next = b->next; free(b); }
    for (int l = 0; l < BENCH_NLANGS; l++) vocab_free(&cp->vocab[l]);
    for (size_t i = 0; cp->speakers && i < cp->nspeakers; i++) free(cp->speakers[i]);
    for (size_t i = 0; cp->outlets && i < cp->noutlets; i++) free(cp->outlets[i]);
    for (size_t i = 0; cp->tags && i < cp->ntags; i++) free(cp->tags[i]);
    free(cp->speakers);
    free(cp->outlets);
    free(cp->tags);
    zipf_free(&cp->zword);
    zipf_free(&cp->zspeaker);
    zipf_free(&cp->zoutlet);
    zipf_free(&cp->ztag);
    memset(cp, 0, sizeof *cp);
}

/* One claim as a JSON object in the wire's field names (claimctl import's input). */
static void claim_json(bench_buf *b, const claimd_claim *c)
{
    buf_adds(b, "{\"text\":");
    buf_json_str(b, c->text);
    buf_adds(b, c->quote == CLAIMD_QUOTE_PARAPHRASE ? ",\"quote\":false" : ",\"quote\":true");
    buf_adds(b, ",\"lang\":"); buf_json_str(b, c->lang);
    buf_adds(b, ",\"speaker\":"); buf_json_str(b, c->speaker);
    if (c->speaker_role) { buf_adds(b, ",\"speaker_role\":"); buf_json_str(b, c->speaker_role); }
    buf_adds(b, ",\"said_at\":"); buf_json_str(b, c->said_at);
    buf_adds(b, ",\"medium\":"); buf_json_str(b, c->medium);
    if (c->n_via) {
        buf_adds(b, ",\"via\":[{\"name\":"); buf_json_str(b, c->via[0].name);
        buf_adds(b, ",\"how\":"); buf_json_str(b, c->via[0].how); buf_adds(b, "}]");
    }
    buf_adds(b, ",\"appearances\":[");
    for (size_t i = 0; i < c->n_appearances; i++) {
        const claimd_appearance *a = &c->appearances[i];
        buf_adds(b, i ? ",{\"url\":" : "{\"url\":"); buf_json_str(b, a->url);
        buf_adds(b, ",\"outlet\":"); buf_json_str(b, a->outlet);
        if (a->title) { buf_adds(b, ",\"title\":"); buf_json_str(b, a->title); }
        buf_adds(b, ",\"published_at\":"); buf_json_str(b, a->published_at);
        buf_adds(b, ",\"lang\":"); buf_json_str(b, a->lang);
        buf_adds(b, "}");
    }
    buf_adds(b, "]");
    if (c->n_about) { buf_adds(b, ",\"about\":["); buf_json_str(b, c->about[0]); buf_adds(b, "]"); }
    if (c->n_tags) {
        buf_adds(b, ",\"tags\":[");
        for (size_t i = 0; i < c->n_tags; i++) { if (i) buf_adds(b, ","); buf_json_str(b, c->tags[i]); }
        buf_adds(b, "]");
    }
    buf_adds(b, ",\"external_id\":"); buf_json_str(b, c->external_id);
    buf_adds(b, ",\"by\":"); buf_json_str(b, c->by);
    buf_adds(b, "}\n");
}

int corpus_write_jsonl(bench_corpus *cp, const char *path)
{
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    bench_buf b = { 0 };
    int rc = 0;
    for (size_t i = 0; i < cp->n && rc == 0; i++) {
        b.n = 0;
        bench_claim bc;
        corpus_claim(cp, i, &bc, 0);
        claim_json(&b, &bc.c);
        if (fwrite(b.p, 1, b.n, f) != b.n) rc = -1;
    }
    buf_free(&b);
    if (fclose(f) != 0) rc = -1;
    return rc;
}
