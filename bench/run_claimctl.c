/* run_claimctl: `claimctl import` of the corpus as JSON Lines into a fresh daemon, timed from
 * the command's start to its exit (JSON parsing included: that is what a script pays). */
#include <stdio.h>
#include <unistd.h>
#include "bench.h"

int run_claimctl(bench_run *r)
{
    const bench_opts *o = r->o;
    const char *id = "import_rate_claimctl", *what = "bulk import, claimctl import (JSONL)";
    if (access(o->claimctl_path, X_OK) != 0) {
        fig_na(id, what, "claims/s", "n/a (claimctl not built)");
        return 0;
    }
    char jsonl[600], rejects[600];
    snprintf(jsonl, sizeof jsonl, "%s/corpus.jsonl", o->workdir);
    snprintf(rejects, sizeof rejects, "%s/rejects.jsonl", o->workdir);
    if (corpus_write_jsonl(r->cp, jsonl)) {
        fig_na(id, what, "claims/s", "n/a (cannot write the JSONL file)");
        return 0;
    }
    bench_proc d;
    if (proc_start_claimd(o, "claimctl", &d)) return -1;
    fprintf(stderr, "claimbench: claimctl import of %zu claims\n", r->cp->n);
    const char *argv[] = { o->claimctl_path, "--socket", d.sock, "import", "--rejects", rejects,
                     jsonl, NULL };
    int64_t t0 = now_ns();
    int st = proc_run(argv, "/dev/null", NULL);
    /* Until the daemon has indexed it all, as the library import is timed. */
    claimd_ctx *ctx = bench_connect(d.sock);
    if (ctx) { bench_wait_indexed(ctx); claimd_free(ctx); }
    double secs = (double)(now_ns() - t0) / 1e9;
    proc_stop(&d);
    unlink(jsonl);
    if (st != 0 && st != 1) {
        fig_na(id, what, "claims/s", "n/a (claimctl import failed)");
        fprintf(stderr, "claimbench: claimctl import exited with %d\n", st);
        return 0;
    }
    const bench_figure *lib = fig_find("import_rate");
    bench_figure *f = fig_add(id, what, "claims/s", (double)r->cp->n / secs,
                              "SQLite bulk load (1 txn)", lib ? lib->peer : -1);
    fig_target(f, T_AT_LEAST, 3.0, 0);
    if (st == 1) fig_note(f, "some records rejected (see the rejects file)");
    return 0;
}
