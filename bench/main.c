/* claimbench: runs the whole suite in one go (so every ratio compares figures measured minutes
 * apart on the same machine), prints the table and writes the JSON results.
 *
 *   claimbench [--claims=N] [--smoke] [--seconds=S] [--only=import,claimctl,get,query,search,getload,writes]
 *              [--claimd=PATH] [--claimctl=PATH] [--results=DIR] [--json=PATH] [--dir=TMP]
 *              [--batch=N] [--depth=N] [--no-peers] [--keep] */
#include <ftw.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bench.h"

static char workdir[512];
static int keep_workdir;

static void usage(FILE *to)
{
    fprintf(to,
        "usage: claimbench [options]\n"
        "  --claims=N       corpus size (default 100000; 1000000 for the 1M suite)\n"
        "  --smoke          tiny corpus (2000) and short runs, for CI\n"
        "  --seconds=S      length of each timed run (default 5, smoke 0.3)\n"
        "  --only=LIST      comma list of: import claimctl get query search getload writes (import always runs)\n"
        "  --claimd=PATH    daemon binary (default: claimd next to claimbench)\n"
        "  --claimctl=PATH  claimctl binary (default: claimctl next to claimbench)\n"
        "  --results=DIR    write latest.json and claims-N.json there (default bench/results; smoke: none)\n"
        "  --json=PATH      also write the results to PATH\n"
        "  --dir=DIR        parent of the temp dir for data and sockets (default $TMPDIR or /tmp)\n"
        "  --batch=N        claims per claim.import (default 1000)\n"
        "  --depth=N        claim.import requests in flight (default 4)\n"
        "  --no-peers       measure only claimd (for profiling)\n"
        "  --keep           keep the temp dir\n");
}

int bench_selected(const bench_opts *o, const char *name)
{
    if (!o->only) return 1;
    size_t n = strlen(name);
    for (const char *p = o->only; (p = strstr(p, name)); p += n)
        if ((p == o->only || p[-1] == ',') && (p[n] == 0 || p[n] == ',')) return 1;
    return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)flag; (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    proc_kill_all();
    if (workdir[0] && !keep_workdir) nftw(workdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void on_signal(int sig)
{
    proc_kill_all();
    signal(sig, SIG_DFL);
    raise(sig);
}

/* path of a program next to our own binary; kept for the whole run (freed at exit). */
static char *sibling_paths[2];

static void free_sibling_paths(void)
{
    free(sibling_paths[0]);
    free(sibling_paths[1]);
}

static char *sibling(const char *argv0, const char *name)
{
    char *copy = strdup(argv0), *out = malloc(strlen(argv0) + strlen(name) + 2);
    if (!copy || !out) exit(1);
    sprintf(out, "%s/%s", dirname(copy), name);
    free(copy);
    sibling_paths[sibling_paths[0] ? 1 : 0] = out;
    return out;
}

static int parse_args(bench_opts *o, int argc, char **argv, const char **tmp_parent)
{
    enum { O_CLAIMS = 256, O_SMOKE, O_SECONDS, O_ONLY, O_CLAIMD, O_CLAIMCTL, O_RESULTS, O_JSON,
           O_DIR, O_BATCH, O_DEPTH, O_NOPEERS, O_KEEP, O_HELP };
    static const struct option opts[] = {
        { "claims", required_argument, 0, O_CLAIMS }, { "smoke", no_argument, 0, O_SMOKE },
        { "seconds", required_argument, 0, O_SECONDS }, { "only", required_argument, 0, O_ONLY },
        { "claimd", required_argument, 0, O_CLAIMD }, { "claimctl", required_argument, 0, O_CLAIMCTL },
        { "results", required_argument, 0, O_RESULTS }, { "json", required_argument, 0, O_JSON },
        { "dir", required_argument, 0, O_DIR }, { "batch", required_argument, 0, O_BATCH },
        { "depth", required_argument, 0, O_DEPTH }, { "no-peers", no_argument, 0, O_NOPEERS },
        { "keep", no_argument, 0, O_KEEP }, { "help", no_argument, 0, O_HELP }, { 0, 0, 0, 0 },
    };
    int c, results_set = 0;
    double secs = 0;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_CLAIMS: o->claims = strtoull(optarg, NULL, 10); break;
        case O_SMOKE: o->smoke = 1; break;
        case O_SECONDS: secs = atof(optarg); break;
        case O_ONLY: o->only = optarg; break;
        case O_CLAIMD: o->claimd_path = optarg; break;
        case O_CLAIMCTL: o->claimctl_path = optarg; break;
        case O_RESULTS: o->results_dir = optarg; results_set = 1; break;
        case O_JSON: o->json_path = optarg; break;
        case O_DIR: *tmp_parent = optarg; break;
        case O_BATCH: o->import_batch = atoi(optarg); break;
        case O_DEPTH: o->import_depth = atoi(optarg); break;
        case O_NOPEERS: o->skip_peers = 1; break;
        case O_KEEP: o->keep = 1; break;
        case O_HELP: usage(stdout); exit(0);
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) { usage(stderr); return -1; }
    if (o->smoke && !o->claims) o->claims = 2000;
    if (!o->claims) o->claims = 100000;
    o->seconds = secs > 0 ? secs : o->smoke ? 0.3 : 5.0;
    if (!results_set) o->results_dir = o->smoke ? "" : "bench/results";
    if (o->import_batch <= 0 || o->import_batch > 10000) o->import_batch = 1000;
    if (o->import_depth <= 0 || o->import_depth > 64) o->import_depth = 4;
    if (o->claims < 100) { fprintf(stderr, "claimbench: --claims must be at least 100\n"); return -1; }
    return 0;
}

/* The memory figures from the sampler's per-phase peaks. */
static void memory_figures(const bench_mem peak[PH_COUNT], uint64_t hwm_kb)
{
    uint64_t anon_all = 0;
    for (int i = 0; i < PH_COUNT; i++) if (peak[i].anon_kb > anon_all) anon_all = peak[i].anon_kb;
    bench_figure *f = fig_add("mem_peak_rss", "daemon peak RSS (VmHWM, LMDB map pages included)", "MiB",
                              (double)hwm_kb / 1024.0, "", -1);
    f = fig_add("mem_anon_import", "daemon RssAnon peak during the import", "MiB",
                peak[PH_IMPORT].anon_kb ? (double)peak[PH_IMPORT].anon_kb / 1024.0 : -1, "", -1);
    fig_target(f, T_AT_MOST, 64, 1);
    f = fig_add("mem_anon_64c", "daemon RssAnon peak under 64 writing clients", "MiB",
                peak[PH_WRITES64].anon_kb ? (double)peak[PH_WRITES64].anon_kb / 1024.0 : -1, "", -1);
    fig_target(f, T_AT_MOST, 64, 1);
    f = fig_add("mem_anon_peak", "daemon RssAnon peak over the whole run", "MiB",
                (double)anon_all / 1024.0, "", -1);
    fig_target(f, T_AT_MOST, 64, 1);
}

static void versions(const bench_run *r)
{
    info_str("claimd.path", r->o->claimd_path);
    claimd_ctx *ctx = bench_connect(r->claimd.sock);
    claimd_value *v = NULL;
    if (claimd_call(ctx, "ping", NULL, &v) == CLAIMD_OK && claimd_value_get_str(v, "version"))
        info_str("claimd.version", claimd_value_get_str(v, "version"));
    claimd_value_free(v);
    claimd_free(ctx);
    FILE *p = popen("redis-server --version 2>/dev/null", "r");
    char line[256];
    if (p && fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        info_str("redis.version", line);
    }
    if (p) pclose(p);
    /* The source tree's commit, when the bench runs from a git checkout. */
    p = popen("git rev-parse --short HEAD 2>/dev/null", "r");
    if (p && fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        info_str("git.commit", line);
    }
    if (p) pclose(p);
}

int main(int argc, char **argv)
{
    bench_opts o = { 0 };
    const char *tmp_parent = getenv("TMPDIR");
    if (parse_args(&o, argc, argv, &tmp_parent)) return 2;
    atexit(free_sibling_paths);
    if (!o.claimd_path) o.claimd_path = sibling(argv[0], "claimd");
    if (!o.claimctl_path) o.claimctl_path = sibling(argv[0], "claimctl");
    if (access(o.claimd_path, X_OK) != 0) {
        fprintf(stderr, "claimbench: no daemon at %s (build it, or pass --claimd)\n", o.claimd_path);
        return 2;
    }
    snprintf(workdir, sizeof workdir, "%s/claimbench.XXXXXX", tmp_parent && *tmp_parent ? tmp_parent : "/tmp");
    if (!mkdtemp(workdir)) { perror("claimbench: mkdtemp"); return 1; }
    o.workdir = workdir;
    keep_workdir = o.keep;
    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_IGN);

    fprintf(stderr, "claimbench: making %zu synthetic claims in %s\n", o.claims, workdir);
    static bench_corpus cp;
    int64_t t0 = now_ns();
    if (corpus_make(&cp, o.claims, 20180808)) { fprintf(stderr, "claimbench: out of memory\n"); return 1; }
    info_num("corpus.make_seconds", (double)(now_ns() - t0) / 1e9);

    bench_run r = { .o = &o, .cp = &cp, .next_fresh = o.claims };
    snprintf(r.sqlite_path, sizeof r.sqlite_path, "%s/peer.sqlite", workdir);
    r.ids = calloc(o.claims, sizeof *r.ids);
    if (!r.ids || proc_start_claimd(&o, "claimd", &r.claimd)) return 1;
    versions(&r);
    rss_start(r.claimd.pid);

    int rc = run_import(&r);
    if (!rc && bench_selected(&o, "claimctl")) rc = run_claimctl(&r);
    if (!rc && bench_selected(&o, "get")) rc = run_get(&r);
    if (!rc && bench_selected(&o, "query")) rc = run_query(&r);
    if (!rc && bench_selected(&o, "search")) rc = run_search(&r);
    if (!rc && bench_selected(&o, "getload")) rc = run_getload(&r);
    if (!rc && bench_selected(&o, "writes")) rc = run_writes(&r);

    bench_mem peak[PH_COUNT];
    uint64_t hwm_kb;
    rss_stop(peak, &hwm_kb);
    int st = proc_stop(&r.claimd);
    if (st != 0) fprintf(stderr, "claimbench: claimd exited with status %d (log: %s)\n", st, r.claimd.log);
    sq_close(r.sq);
    if (rc) { fprintf(stderr, "claimbench: stopped early (log: %s)\n", r.claimd.log); return 1; }
    memory_figures(peak, hwm_kb);
    /* claimbench's own peak: it must stay small at 10M claims (the corpus is made on demand). */
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0) info_num("claimbench.peak_rss_kb", (double)ru.ru_maxrss);

    report_growth(&o);
    report_table(&o);
    if (o.results_dir && *o.results_dir) {
        char path[600];
        mkdir(o.results_dir, 0755);
        snprintf(path, sizeof path, "%s/latest.json", o.results_dir);
        if (report_json(&o, path)) return 1;
        snprintf(path, sizeof path, "%s/claims-%zu.json", o.results_dir, o.claims);
        if (report_json(&o, path)) return 1;
        printf("results: %s/latest.json\n", o.results_dir);
    }
    if (o.json_path && report_json(&o, o.json_path)) return 1;
    free(r.ids);
    corpus_free(&cp);
    return st == 0 ? 0 : 1;
}
