/* rss: samples the daemon's memory from /proc/PID/status every 10 ms, keeping the peak of
 * VmRSS and of RssAnon (the daemon's own heap and stacks, apart from LMDB's file-backed map)
 * for each phase of the run. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "bench.h"

static struct {
    pthread_t thread;
    pthread_mutex_t mu;
    pid_t pid;
    int running, stop;
    bench_phase phase;
    bench_mem peak[PH_COUNT];
    uint64_t hwm_kb;
} S = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* Reads VmRSS, RssAnon and VmHWM in kB; -1 when the process is gone. */
static int read_status(pid_t pid, uint64_t *rss, uint64_t *anon, uint64_t *hwm)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    unsigned long long v;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "VmRSS: %llu", &v) == 1) *rss = v;
        else if (sscanf(line, "RssAnon: %llu", &v) == 1) *anon = v;
        else if (sscanf(line, "VmHWM: %llu", &v) == 1) *hwm = v;
    }
    fclose(f);
    return 0;
}

static void *sampler(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&S.mu);
        int stop = S.stop;
        pid_t pid = S.pid;
        pthread_mutex_unlock(&S.mu);
        if (stop) break;
        uint64_t rss = 0, anon = 0, hwm = 0;
        if (read_status(pid, &rss, &anon, &hwm) == 0) {
            pthread_mutex_lock(&S.mu);
            bench_mem *p = &S.peak[S.phase];
            if (rss > p->rss_kb) p->rss_kb = rss;
            if (anon > p->anon_kb) p->anon_kb = anon;
            if (hwm > S.hwm_kb) S.hwm_kb = hwm;
            pthread_mutex_unlock(&S.mu);
        }
        struct timespec ts = { 0, 10 * 1000 * 1000 };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int rss_start(pid_t pid)
{
    memset(S.peak, 0, sizeof S.peak);
    S.pid = pid;
    S.stop = 0;
    S.phase = PH_IDLE;
    S.hwm_kb = 0;
    if (pthread_create(&S.thread, NULL, sampler, NULL)) return -1;
    S.running = 1;
    return 0;
}

void rss_phase(bench_phase ph)
{
    pthread_mutex_lock(&S.mu);
    S.phase = ph;
    pthread_mutex_unlock(&S.mu);
}

void rss_stop(bench_mem out[PH_COUNT], uint64_t *hwm_kb)
{
    if (S.running) {
        /* One last sample, so VmHWM covers the whole life so far. */
        uint64_t rss = 0, anon = 0, hwm = 0;
        if (read_status(S.pid, &rss, &anon, &hwm) == 0 && hwm > S.hwm_kb) S.hwm_kb = hwm;
        pthread_mutex_lock(&S.mu);
        S.stop = 1;
        pthread_mutex_unlock(&S.mu);
        pthread_join(S.thread, NULL);
        S.running = 0;
    }
    memcpy(out, S.peak, sizeof S.peak);
    *hwm_kb = S.hwm_kb;
}
