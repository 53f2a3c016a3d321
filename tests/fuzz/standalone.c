/* standalone: a main() for a fuzz harness (tests/fuzz/fuzz_NAME.c) without libFuzzer, so the
 * harnesses also run under gcc and in the sanitizer build of `make test` (tests/fuzz.t).
 *
 *   fuzz_NAME [-max_total_time=S] [-runs=N] [-seed=N] [-max_len=N] [-artifact_prefix=P] [-flag=...]
 *             CORPUS_DIR_OR_FILE...
 *
 * Replays every corpus file once, then feeds random mutations of them (bit flips, byte edits,
 * inserts, deletes, duplicated or spliced ranges, truncation) until S seconds or N runs have
 * passed. Without coverage feedback this finds less than libFuzzer does; it is the bounded,
 * compiler-independent part. Other -flags are libFuzzer's and are ignored. When a check or a
 * sanitizer aborts (ASAN_OPTIONS=abort_on_error=1), the input is written to P + "crash-HASH" and
 * its hex to stderr. Ends with libFuzzer's summary lines ("stat::number_of_executed_units: N"). */
#include <dirent.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct { uint8_t *p; size_t n; } input;

static input *corpus;
static size_t ncorpus, corpus_cap;
static size_t max_len = 4096;
static const char *artifact_prefix = "";

/* The input being run, for the crash handler. */
static const uint8_t *volatile current;
static volatile size_t current_n;

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

/* xorshift64*: reproducible from -seed, good enough to pick mutations. */
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

static size_t below(size_t n) { return n ? (size_t)(rnd() % n) : 0; }

static void add_input(const uint8_t *p, size_t n)
{
    if (ncorpus == corpus_cap) {
        corpus_cap = corpus_cap ? 2 * corpus_cap : 64;
        corpus = realloc(corpus, corpus_cap * sizeof *corpus);
        if (!corpus) { perror("standalone"); exit(2); }
    }
    uint8_t *copy = malloc(n ? n : 1);
    if (!copy) { perror("standalone"); exit(2); }
    if (n) memcpy(copy, p, n);
    corpus[ncorpus].p = copy;
    corpus[ncorpus++].n = n;
}

static void load_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return;
    uint8_t *buf = malloc(max_len + 1);
    if (!buf) { perror("standalone"); exit(2); }
    size_t n = fread(buf, 1, max_len, f);
    fclose(f);
    add_input(buf, n);
    free(buf);
}

static void load(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) return;
    if (!S_ISDIR(st.st_mode)) { load_file(path); return; }
    DIR *d = opendir(path);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode)) load_file(full);
    }
    closedir(d);
}

static void put_hex(int fd, const uint8_t *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char buf[2];
    for (size_t i = 0; i < n; i++) {
        buf[0] = digits[p[i] >> 4];
        buf[1] = digits[p[i] & 15];
        if (write(fd, buf, 2) < 0) return;
    }
}

/* Async-signal-safe: saves the input that crashed, then dies by the same signal. */
static void on_crash(int sig)
{
    const uint8_t *p = current;
    size_t n = current_n;
    if (p) {
        uint64_t h = 1469598103934665603ULL;
        for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ULL;
        char path[4096];
        size_t l = strlen(artifact_prefix);
        if (l > sizeof path - 32) l = 0;
        memcpy(path, artifact_prefix, l);
        memcpy(path + l, "crash-", 6);
        l += 6;
        for (int i = 60; i >= 0; i -= 4) path[l++] = "0123456789abcdef"[(h >> i) & 15];
        path[l] = 0;
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            if (write(fd, p, n) < 0) { /* nothing more to do in a dying process */ }
            close(fd);
        }
        static const char msg[] = "standalone: crashing input written to ";
        if (write(2, msg, sizeof msg - 1) < 0 || write(2, path, l) < 0 || write(2, "\nhex: ", 6) < 0) {}
        put_hex(2, p, n);
        if (write(2, "\n", 1) < 0) {}
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void catch_signals(void)
{
    static const int sigs[] = { SIGABRT, SIGSEGV, SIGBUS, SIGFPE, SIGILL };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old;
        /* A sanitizer's own handler (it reports, then aborts: SIGABRT comes here) stays. */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler != SIG_DFL && sigs[i] != SIGABRT) continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_crash;
        sigaction(sigs[i], &sa, NULL);
    }
}

static void run_one(const uint8_t *p, size_t n)
{
    current_n = n;
    current = p;
    LLVMFuzzerTestOneInput(p, n);
    current = NULL;
}

static const uint8_t interesting[] = { 0x00, 0x01, 0x7f, 0x80, 0xff, '0', '1', '9', 'a', 'f', 'g', 'A', 'F' };

/* One random edit of buf[0..*n) (capacity max_len). */
static void mutate(uint8_t *buf, size_t *n)
{
    size_t len = *n;
    switch (below(8)) {
    case 0:   /* flip a bit */
        if (len) buf[below(len)] ^= (uint8_t)(1u << below(8));
        break;
    case 1:   /* set a byte to a random or an interesting value */
        if (len) buf[below(len)] = below(2) ? (uint8_t)rnd() : interesting[below(sizeof interesting)];
        break;
    case 2:   /* insert bytes */
        if (len < max_len) {
            size_t at = below(len + 1), k = 1 + below(8);
            if (k > max_len - len) k = max_len - len;
            memmove(buf + at + k, buf + at, len - at);
            for (size_t i = 0; i < k; i++) buf[at + i] = below(2) ? (uint8_t)rnd() : interesting[below(sizeof interesting)];
            len += k;
        }
        break;
    case 3:   /* delete a range */
        if (len) {
            size_t at = below(len), k = 1 + below(len - at < 16 ? len - at : 16);
            memmove(buf + at, buf + at + k, len - at - k);
            len -= k;
        }
        break;
    case 4:   /* truncate */
        len = below(len + 1);
        break;
    case 5:   /* duplicate a range */
        if (len && len < max_len) {
            size_t from = below(len), k = 1 + below(len - from), at = below(len + 1);
            if (k > max_len - len) k = max_len - len;
            memmove(buf + at + k, buf + at, len - at);
            memmove(buf + at, buf + (from < at ? from : from + k), k);
            len += k;
        }
        break;
    case 6:   /* splice in the start of another input */
        if (ncorpus) {
            const input *o = &corpus[below(ncorpus)];
            size_t at = below(len + 1), k = below(o->n + 1);
            if (k > max_len - at) k = max_len - at;
            memcpy(buf + at, o->p, k);
            if (at + k > len) len = at + k;
        }
        break;
    default:  /* swap two bytes */
        if (len > 1) {
            size_t a = below(len), b = below(len);
            uint8_t t = buf[a];
            buf[a] = buf[b];
            buf[b] = t;
        }
        break;
    }
    *n = len;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    double seconds = 10;
    unsigned long long runs_max = 0, seed = (unsigned long long)time(NULL);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "-max_total_time=", 16) == 0) seconds = atof(a + 16);
        else if (strncmp(a, "-runs=", 6) == 0) runs_max = strtoull(a + 6, NULL, 10);
        else if (strncmp(a, "-seed=", 6) == 0) seed = strtoull(a + 6, NULL, 10);
        else if (strncmp(a, "-max_len=", 9) == 0) max_len = strtoull(a + 9, NULL, 10);
        else if (strncmp(a, "-artifact_prefix=", 17) == 0) artifact_prefix = a + 17;
        else if (a[0] == '-') continue;
        else load(a);
    }
    if (max_len == 0) max_len = 1;
    rng_state ^= seed * 0x2545f4914f6cdd1dULL;
    if (!rng_state) rng_state = 1;
    catch_signals();
    fprintf(stderr, "standalone: seed=%llu inputs=%zu max_len=%zu\n", seed, ncorpus, max_len);

    double start = now();
    unsigned long long runs = 0;
    for (size_t i = 0; i < ncorpus; i++, runs++) run_one(corpus[i].p, corpus[i].n);
    uint8_t *buf = malloc(max_len);
    if (!buf) { perror("standalone"); return 2; }
    /* Either limit ends the run, as with libFuzzer (0: that limit is off). */
    while (!(runs_max && runs >= runs_max) && !(seconds > 0 && now() - start >= seconds)) {
        size_t n = 0;
        if (ncorpus) {
            const input *o = &corpus[below(ncorpus)];
            n = o->n < max_len ? o->n : max_len;
            memcpy(buf, o->p, n);
        }
        for (size_t k = 1 + below(4); k; k--) mutate(buf, &n);
        /* An exact-size copy, so a read past the input's end is a sanitizer report. */
        uint8_t *exact = malloc(n ? n : 1);
        if (!exact) { perror("standalone"); return 2; }
        memcpy(exact, buf, n);
        run_one(exact, n);
        free(exact);
        runs++;
    }
    free(buf);
    double took = now() - start;
    printf("Done %llu runs in %.0f second(s)\n", runs, took);
    printf("stat::number_of_executed_units: %llu\n", runs);
    for (size_t i = 0; i < ncorpus; i++) free(corpus[i].p);
    free(corpus);
    return 0;
}
