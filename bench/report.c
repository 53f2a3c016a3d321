/* report: the figures of a run, the table people read, the JSON that keeps them, and the growth
 * from 100k to 1M claims (read back from the other size's JSON when it is on disk). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

#define MAX_FIGS 64
#define MAX_INFO 160

static bench_figure figs[MAX_FIGS];
static size_t nfigs;
static struct { char key[96]; double num; char str[160]; int is_str; } infos[MAX_INFO];
static size_t ninfos;

#define MAX_SERIES 4
#define MAX_POINTS (BENCH_CHECKPOINTS + 4)
static struct {
    char name[32];
    size_t n;
    struct { double claims, seconds, disk_bytes, data_bytes; } p[MAX_POINTS];
} series[MAX_SERIES];
static size_t nseries;

void series_add(const char *name, double claims, double seconds, double disk_bytes, double data_bytes)
{
    size_t i = 0;
    while (i < nseries && strcmp(series[i].name, name)) i++;
    if (i == nseries) {
        if (nseries == MAX_SERIES) return;
        snprintf(series[nseries++].name, sizeof series[i].name, "%s", name);
    }
    if (series[i].n == MAX_POINTS) return;
    size_t k = series[i].n++;
    series[i].p[k].claims = claims;
    series[i].p[k].seconds = seconds;
    series[i].p[k].disk_bytes = disk_bytes;
    series[i].p[k].data_bytes = data_bytes;
}

bench_figure *fig_add(const char *id, const char *figure, const char *unit, double claimd,
                      const char *peer_name, double peer)
{
    bench_figure *f = fig_find(id);
    if (!f) {
        if (nfigs == MAX_FIGS) { fprintf(stderr, "claimbench: too many figures\n"); exit(1); }
        f = &figs[nfigs++];
    }
    memset(f, 0, sizeof *f);
    snprintf(f->id, sizeof f->id, "%s", id);
    snprintf(f->figure, sizeof f->figure, "%s", figure);
    snprintf(f->unit, sizeof f->unit, "%s", unit);
    snprintf(f->peer_name, sizeof f->peer_name, "%s", peer_name ? peer_name : "");
    f->claimd = claimd;
    f->peer = peer;
    f->ratio = claimd >= 0 && peer > 0 ? claimd / peer : -1;
    return f;
}

void fig_target(bench_figure *f, bench_target_kind kind, double target, int abs)
{
    f->target_kind = kind;
    f->target = target;
    f->target_abs = abs;
}

void fig_note(bench_figure *f, const char *fmt, ...)
{
    size_t n = strlen(f->note);
    if (n && n + 2 < sizeof f->note) { memcpy(f->note + n, "; ", 3); n += 2; }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->note + n, sizeof f->note - n, fmt, ap);
    va_end(ap);
}

bench_figure *fig_na(const char *id, const char *figure, const char *unit, const char *why)
{
    bench_figure *f = fig_add(id, figure, unit, -1, "", -1);
    fig_note(f, "%s", why);
    return f;
}

bench_figure *fig_find(const char *id)
{
    for (size_t i = 0; i < nfigs; i++)
        if (!strcmp(figs[i].id, id)) return &figs[i];
    return NULL;
}

bench_holds fig_holds(const bench_figure *f)
{
    if (f->target_kind == T_NONE) return HOLDS_NA;
    double v = f->target_abs ? f->claimd : f->ratio;
    if (v < 0) return HOLDS_NA;
    int ok = f->target_kind == T_AT_LEAST ? v >= f->target : v <= f->target;
    return ok ? HOLDS_YES : HOLDS_NO;
}

static void info_set(const char *key, double num, const char *str)
{
    size_t i = 0;
    while (i < ninfos && strcmp(infos[i].key, key)) i++;
    if (i == ninfos) {
        if (ninfos == MAX_INFO) return;
        ninfos++;
    }
    snprintf(infos[i].key, sizeof infos[i].key, "%s", key);
    infos[i].num = num;
    infos[i].is_str = str != NULL;
    snprintf(infos[i].str, sizeof infos[i].str, "%s", str ? str : "");
}

void info_num(const char *key, double v) { info_set(key, v, NULL); }
void info_str(const char *key, const char *v) { info_set(key, 0, v); }

/* ---- formatting -------------------------------------------------------------------------- */

static const char *num(double v, char *buf, size_t cap)
{
    if (v < 0) snprintf(buf, cap, "n/a");
    else if (v >= 100) snprintf(buf, cap, "%.0f", v);
    else if (v >= 10) snprintf(buf, cap, "%.1f", v);
    else snprintf(buf, cap, "%.2f", v);
    return buf;
}

static const char *target_text(const bench_figure *f, char *buf, size_t cap)
{
    if (f->target_kind == T_NONE) return snprintf(buf, cap, "—"), buf;
    char n[32];
    snprintf(buf, cap, "%s %s%s%s", f->target_kind == T_AT_LEAST ? "≥" : "≤", num(f->target, n, sizeof n),
             f->target_abs ? " " : "×", f->target_abs ? f->unit : "");
    return buf;
}

static const char *holds_text(bench_holds h)
{
    return h == HOLDS_YES ? "yes" : h == HOLDS_NO ? "**no**" : "—";
}

void report_table(const bench_opts *o)
{
    char a[32], b[32], c[32], t[64];
    printf("\nclaimbench: %zu claims; every ratio is claimd / peer, measured in this run\n\n", o->claims);
    printf("| figure | unit | claimd | peer | peer value | ratio | target | holds | note |\n");
    printf("| --- | --- | ---: | --- | ---: | ---: | --- | --- | --- |\n");
    for (size_t i = 0; i < nfigs; i++) {
        const bench_figure *f = &figs[i];
        printf("| %s | %s | %s | %s | %s | %s%s | %s | %s | %s |\n", f->figure, f->unit,
               num(f->claimd, a, sizeof a), f->peer_name[0] ? f->peer_name : "—",
               f->peer_name[0] ? num(f->peer, b, sizeof b) : "—", num(f->ratio, c, sizeof c),
               f->ratio >= 0 ? "×" : "", target_text(f, t, sizeof t), holds_text(fig_holds(f)),
               f->note);
    }
    int yes = 0, no = 0;
    for (size_t i = 0; i < nfigs; i++) {
        bench_holds h = fig_holds(&figs[i]);
        yes += h == HOLDS_YES;
        no += h == HOLDS_NO;
    }
    printf("\ntargets: %d hold, %d do not\n", yes, no);
}

/* ---- JSON -------------------------------------------------------------------------------- */

static void json_num(bench_buf *b, double v)
{
    if (v < 0) buf_adds(b, "null");
    else buf_printf(b, "%.6g", v);
}

/* A byte count in full (%g would round it to 6 digits), or null when unknown. */
static void json_bytes(bench_buf *b, double v)
{
    if (v < 0) buf_adds(b, "null");
    else buf_printf(b, "%.0f", v);
}

/* The machine: CPU model and count, memory, kernel. */
static void machine_json(bench_buf *b)
{
    char model[256] = "unknown", line[512];
    int cpus = 0;
    FILE *f = fopen("/proc/cpuinfo", "r");
    while (f && fgets(line, sizeof line, f)) {
        if (!strncmp(line, "processor", 9)) cpus++;
        char *colon = strchr(line, ':');
        if (!strncmp(line, "model name", 10) && colon && !strcmp(model, "unknown")) {
            snprintf(model, sizeof model, "%s", colon + 2);
            model[strcspn(model, "\n")] = 0;
        }
    }
    if (f) fclose(f);
    unsigned long long mem_kb = 0;
    f = fopen("/proc/meminfo", "r");
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %llu", &mem_kb) == 1) break;
    if (f) fclose(f);
    struct utsname u;
    uname(&u);
    buf_adds(b, "  \"machine\": {\"cpu\": ");
    buf_json_str(b, model);
    buf_printf(b, ", \"cpuinfo_processors\": %d, \"nproc\": %ld, \"mem_total_kb\": %llu, \"kernel\": ",
               cpus, sysconf(_SC_NPROCESSORS_ONLN), mem_kb);
    buf_json_str(b, u.release);
    buf_adds(b, "},\n");
}

int report_json(const bench_opts *o, const char *path)
{
    bench_buf b = { 0 };
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
    buf_adds(&b, "{\n  \"date\": ");
    buf_json_str(&b, date);
    buf_printf(&b, ",\n  \"claims\": %zu,\n  \"smoke\": %s,\n  \"seconds_per_run\": %g,\n", o->claims,
               o->smoke ? "true" : "false", o->seconds);
    machine_json(&b);
    buf_adds(&b, "  \"figures\": [\n");
    for (size_t i = 0; i < nfigs; i++) {
        const bench_figure *f = &figs[i];
        /* One figure per line: report_growth reads them back line by line. */
        buf_adds(&b, "    {\"id\": "); buf_json_str(&b, f->id);
        buf_adds(&b, ", \"figure\": "); buf_json_str(&b, f->figure);
        buf_adds(&b, ", \"unit\": "); buf_json_str(&b, f->unit);
        buf_adds(&b, ", \"claimd\": "); json_num(&b, f->claimd);
        buf_adds(&b, ", \"peer\": "); json_num(&b, f->peer);
        buf_adds(&b, ", \"peer_name\": "); buf_json_str(&b, f->peer_name);
        buf_adds(&b, ", \"ratio\": "); json_num(&b, f->ratio);
        buf_adds(&b, ", \"target\": ");
        if (f->target_kind == T_NONE) buf_adds(&b, "null");
        else {
            buf_printf(&b, "{\"op\": \"%s\", \"value\": %g, \"on\": \"%s\"}",
                       f->target_kind == T_AT_LEAST ? ">=" : "<=", f->target, f->target_abs ? "claimd" : "ratio");
        }
        bench_holds h = fig_holds(f);
        buf_printf(&b, ", \"holds\": %s", h == HOLDS_YES ? "true" : h == HOLDS_NO ? "false" : "null");
        buf_adds(&b, ", \"note\": "); buf_json_str(&b, f->note);
        buf_adds(&b, i + 1 < nfigs ? "},\n" : "}\n");
    }
    /* The import checkpoints, one series per line of points. */
    buf_adds(&b, "  ],\n  \"series\": {");
    for (size_t i = 0; i < nseries; i++) {
        buf_adds(&b, i ? ",\n    " : "\n    ");
        buf_json_str(&b, series[i].name);
        buf_adds(&b, ": [");
        for (size_t k = 0; k < series[i].n; k++) {
            buf_printf(&b, "%s{\"claims\": %.0f, \"seconds\": ", k ? ", " : "", series[i].p[k].claims);
            json_num(&b, series[i].p[k].seconds);
            buf_adds(&b, ", \"disk_bytes\": ");
            json_bytes(&b, series[i].p[k].disk_bytes);
            buf_adds(&b, ", \"data_bytes\": ");
            json_bytes(&b, series[i].p[k].data_bytes);
            buf_adds(&b, "}");
        }
        buf_adds(&b, "]");
    }
    buf_adds(&b, nseries ? "\n  },\n  \"info\": {\n" : "},\n  \"info\": {\n");
    for (size_t i = 0; i < ninfos; i++) {
        buf_adds(&b, "    ");
        buf_json_str(&b, infos[i].key);
        buf_adds(&b, ": ");
        if (infos[i].is_str) buf_json_str(&b, infos[i].str);
        else json_num(&b, infos[i].num);
        buf_adds(&b, i + 1 < ninfos ? ",\n" : "\n");
    }
    buf_adds(&b, "  }\n}\n");
    FILE *f = fopen(path, "w");
    int rc = f && fwrite(b.p, 1, b.n, f) == b.n ? 0 : -1;
    if (f && fclose(f)) rc = -1;
    buf_free(&b);
    if (rc) fprintf(stderr, "claimbench: cannot write %s\n", path);
    return rc;
}

/* ---- growth from 100k to 1M -------------------------------------------------------------- */

/* The git commit recorded in a results file ("" when none) into buf. */
static void prior_commit(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "r");
    char line[512];
    buf[0] = 0;
    while (f && fgets(line, sizeof line, f)) {
        char *p = strstr(line, "\"git.commit\": \"");
        if (!p) continue;
        p += strlen("\"git.commit\": \"");
        size_t n = strcspn(p, "\"");
        if (n >= cap) n = cap - 1;
        memcpy(buf, p, n);
        buf[n] = 0;
        break;
    }
    if (f) fclose(f);
}

static const char *info_text(const char *key)
{
    for (size_t i = 0; i < ninfos; i++)
        if (!strcmp(infos[i].key, key) && infos[i].is_str) return infos[i].str;
    return "";
}

/* The claimd value of figure id in a results file written by report_json; -1 when absent. */
static double prior_value(const char *path, const char *id)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char line[2048], want[96];
    snprintf(want, sizeof want, "{\"id\": \"%s\",", id);
    double v = -1;
    while (fgets(line, sizeof line, f)) {
        char *p = strstr(line, want), *c;
        if (p && (c = strstr(p, "\"claimd\": ")) && sscanf(c + 10, "%lf", &v) != 1) v = -1;
        if (p) break;
    }
    fclose(f);
    return v;
}

void report_growth(const bench_opts *o)
{
    if (!o->results_dir || !*o->results_dir || (o->claims != 100000 && o->claims != 1000000)) return;
    int big = o->claims == 1000000;
    char path[600];
    snprintf(path, sizeof path, "%s/claims-%d.json", o->results_dir, big ? 100000 : 1000000);
    if (access(path, R_OK) != 0) return;
    /* Growth means something only between runs of the same code: otherwise it is shown, not judged. */
    char other_commit[64];
    prior_commit(path, other_commit, sizeof other_commit);
    int same_code = other_commit[0] && !strcmp(other_commit, info_text("git.commit"));
    /* import rate: 100k rate / 1M rate (how much slower at 1M); query p99: 1M / 100k. */
    static const struct { const char *id, *gid, *what; int higher_better; } g[] = {
        { "import_rate", "growth_import_rate", "import rate, 100k / 1M (slowdown)", 1 },
        { "query_32c_p99", "growth_query_p99", "claim.query p99, 1M / 100k", 0 },
        { "get_rtt_p99", "growth_get_p99", "claim.get p99, 1M / 100k", 0 },
        { "search_rps", "growth_search_rate", "search rate, 100k / 1M (slowdown)", 1 },
    };
    for (size_t i = 0; i < sizeof g / sizeof *g; i++) {
        const bench_figure *now = fig_find(g[i].id);
        double other = prior_value(path, g[i].id);
        if (!now || now->claimd <= 0 || other <= 0) continue;
        double v100k = big ? other : now->claimd, v1m = big ? now->claimd : other;
        double growth = g[i].higher_better ? v100k / v1m : v1m / v100k;
        bench_figure *f = fig_add(g[i].gid, g[i].what, "x", growth, "", -1);
        if (i < 2) fig_target(f, T_AT_MOST, 1.3, 1);
        if (!same_code) {
            f->target_kind = T_NONE;
            fig_note(f, "not judged: %s is from commit %s, this run %s", path,
                     other_commit[0] ? other_commit : "?", *info_text("git.commit") ? info_text("git.commit") : "?");
        } else {
            fig_note(f, "from %s", path);
        }
    }
}
