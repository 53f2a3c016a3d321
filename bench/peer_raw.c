/* peer_raw: the physical floors. A Unix-socket ping-pong with messages of claim.get's sizes (the
 * least any daemon on a socket can take for a round trip), and a write + fdatasync loop (the
 * least a durable write can take when every write gets its own flush). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>
#include "bench.h"

/* Reads or writes exactly n bytes; 0, or -1 on error or end of stream. */
static int full_io(int fd, char *buf, size_t n, int writing)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = writing ? write(fd, buf + done, n - done) : read(fd, buf + done, n - done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        done += (size_t)r;
    }
    return 0;
}

typedef struct { int listen_fd; size_t req, resp; } pong_server;

static void *pong_main(void *arg)
{
    pong_server *s = arg;
    int fd = accept(s->listen_fd, NULL, NULL);
    if (fd < 0) return NULL;
    char *in = malloc(s->req), *out = calloc(1, s->resp);
    while (in && out && full_io(fd, in, s->req, 0) == 0 && full_io(fd, out, s->resp, 1) == 0) {}
    free(in);
    free(out);
    close(fd);
    return NULL;
}

double raw_pingpong(const char *sock_path, size_t req, size_t resp, double seconds,
                    uint64_t max_trips, int server_process, bench_lat *lat)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(sock_path) >= sizeof sa.sun_path) return -1;
    memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
    unlink(sock_path);
    pong_server s = { socket(AF_UNIX, SOCK_STREAM, 0), req, resp };
    if (s.listen_fd < 0 || bind(s.listen_fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(s.listen_fd, 4) < 0) {
        perror("claimbench: raw ping-pong socket");
        return -1;
    }
    /* A server process is what a daemon is: each trip then also switches address spaces. */
    pthread_t th;
    pid_t child = -1;
    if (server_process) {
        if ((child = fork()) < 0) return -1;
        if (child == 0) { pong_main(&s); _exit(0); }
    } else if (pthread_create(&th, NULL, pong_main, &s)) {
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    double rate = -1;
    char *out = calloc(1, req), *in = malloc(resp);
    if (fd >= 0 && out && in && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
        uint64_t trips = 0;
        int64_t start = now_ns(), deadline = start + (int64_t)(seconds * 1e9), t = start;
        while (t < deadline && (!max_trips || trips < max_trips)) {
            int64_t t0 = now_ns();
            if (full_io(fd, out, req, 1) || full_io(fd, in, resp, 0)) break;
            t = now_ns();
            lat_add(lat, t - t0);
            trips++;
        }
        rate = (double)trips / ((double)(t - start) / 1e9);
    }
    if (fd >= 0) close(fd);        /* the server sees end of stream and leaves */
    if (server_process) waitpid(child, NULL, 0);
    else pthread_join(th, NULL);
    close(s.listen_fd);
    unlink(sock_path);
    free(out);
    free(in);
    return rate;
}

double raw_fsync_loop(const char *dir, size_t rec, double seconds)
{
    char path[512];
    snprintf(path, sizeof path, "%s/fsync-loop.dat", dir);
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    /* Preallocate and flush, so each later fdatasync carries only the record's data. */
    const size_t file_bytes = (size_t)64 << 20;
    char *buf = calloc(1, rec > 65536 ? rec : 65536);
    for (size_t off = 0; buf && off < file_bytes; off += 65536)
        if (full_io(fd, buf, 65536, 1)) { free(buf); buf = NULL; }
    if (!buf || fsync(fd) < 0) { free(buf); close(fd); unlink(path); return -1; }
    uint64_t n = 0;
    off_t off = 0;
    int64_t start = now_ns(), deadline = start + (int64_t)(seconds * 1e9), t = start;
    while (t < deadline) {
        if (pwrite(fd, buf, rec, off) != (ssize_t)rec || fdatasync(fd) < 0) break;
        off = (off_t)((size_t)off + rec < file_bytes - rec ? (size_t)off + rec : 0);
        n++;
        t = now_ns();
    }
    free(buf);
    close(fd);
    unlink(path);
    return t > start ? (double)n / ((double)(t - start) / 1e9) : -1;
}
