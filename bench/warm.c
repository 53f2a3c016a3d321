/* warm: reads a database file once, sequentially, so that a read run measures the engine and not
 * which system's pages the previous phase evicted. At 10M claims claimd's map (9 GB) and
 * SQLite's file (7 GB) do not both stay cached through the other's import: without this the
 * system that imported first reads from disk. Both sides get the same treatment. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "bench.h"

/* MemAvailable from /proc/meminfo in bytes, 0 when unknown. */
static uint64_t mem_available(void)
{
    FILE *f = fopen("/proc/meminfo", "r");
    char line[128];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) break;
    if (f) fclose(f);
    return (uint64_t)kb * 1024;
}

double bench_warm_file(const char *path)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    /* A file that cannot stay cached beside the rest is not read: it would only evict pages. */
    uint64_t avail = mem_available();
    if (avail && (uint64_t)st.st_size > avail / 2) {
        close(fd);
        return -1;
    }
    int64_t t0 = now_ns();
    size_t bufsz = 1 << 20;
    char *buf = malloc(bufsz);
    posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    while (buf && read(fd, buf, bufsz) > 0) {}
    free(buf);
    close(fd);
    return (double)(now_ns() - t0) / 1e9;
}

void bench_warm(const char *what, const char *path)
{
    double s = bench_warm_file(path);
    if (s >= 0.5) fprintf(stderr, "claimbench: %s read into the page cache in %.1f s\n", what, s);
}

void bench_warm_claimd(const bench_proc *p)
{
    char path[300];
    snprintf(path, sizeof path, "%s/data.mdb", p->data);
    bench_warm("claimd's data file", path);
}
