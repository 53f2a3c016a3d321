/* procs: the daemons the bench starts for itself (claimd, redis-server), each on a socket in
 * the bench's temp dir, and their clean stop. Every started pid is remembered so that an
 * interrupted run leaves nothing behind. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "bench.h"

#define MAX_PROCS 8
static pid_t started[MAX_PROCS];

static void remember(pid_t pid)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (!started[i]) { started[i] = pid; return; }
}

static void forget(pid_t pid)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (started[i] == pid) started[i] = 0;
}

void proc_kill_all(void)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (started[i] > 0) { kill(started[i], SIGKILL); waitpid(started[i], NULL, 0); started[i] = 0; }
}

void sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000 };
    nanosleep(&ts, NULL);
}

/* Forks and execs argv with stdout/stderr redirected (NULL: inherited). */
static pid_t spawn(const char *const argv[], const char *out_path, const char *err_path)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        if (out_path) {
            int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (fd >= 0) { dup2(fd, 1); close(fd); }
        }
        if (err_path) {
            int fd = open(err_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) { dup2(fd, 2); close(fd); }
        }
        execvp(argv[0], (char *const *)argv);
        fprintf(stderr, "claimbench: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

int proc_run(const char *const argv[], const char *out_path, const char *err_path)
{
    pid_t pid = spawn(argv, out_path, err_path);
    if (pid < 0) return -1;
    remember(pid);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    forget(pid);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* 1 when the child has exited (and is reaped), so waiting for readiness can stop early. */
static int exited(pid_t pid)
{
    int st;
    return waitpid(pid, &st, WNOHANG) == pid;
}

static void show_log(const char *what, const char *log)
{
    fprintf(stderr, "claimbench: %s did not start; its log (%s):\n", what, log);
    FILE *f = fopen(log, "r");
    char line[512];
    for (int i = 0; f && i < 30 && fgets(line, sizeof line, f); i++) fputs(line, stderr);
    if (f) fclose(f);
}

int proc_start_claimd(const bench_opts *o, const char *name, bench_proc *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->sock, sizeof p->sock, "%s/%s.sock", o->workdir, name);
    snprintf(p->data, sizeof p->data, "%s/%s-data", o->workdir, name);
    snprintf(p->log, sizeof p->log, "%s/%s.log", o->workdir, name);
    const char *argv[] = { o->claimd_path, "--data", p->data, "--socket", p->sock,
                     "--log-level", "warn", NULL };
    p->pid = spawn(argv, NULL, p->log);
    if (p->pid < 0) return -1;
    remember(p->pid);
    for (int waited = 0; waited < 10000; waited += 10) {
        if (exited(p->pid)) { forget(p->pid); p->pid = 0; break; }
        claimd_ctx *ctx = claimd_new();
        int ok = ctx && claimd_connect(ctx, p->sock) == CLAIMD_OK &&
                 claimd_call(ctx, "ping", NULL, NULL) == CLAIMD_OK;
        claimd_free(ctx);
        if (ok) return 0;
        sleep_ms(10);
    }
    show_log("claimd", p->log);
    if (p->pid > 0) proc_stop(p);
    return -1;
}

/* Sends PING over the Unix socket and checks for +PONG. */
static int redis_ping(const char *sock)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(sock) >= sizeof sa.sun_path) { close(fd); return -1; }
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    int ok = 0;
    char buf[16];
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && write(fd, "PING\r\n", 6) == 6 &&
        read(fd, buf, sizeof buf) >= 5 && memcmp(buf, "+PONG", 5) == 0)
        ok = 1;
    close(fd);
    return ok ? 0 : -1;
}

int proc_start_redis(const bench_opts *o, bench_proc *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->sock, sizeof p->sock, "%s/redis.sock", o->workdir);
    snprintf(p->data, sizeof p->data, "%s", o->workdir);
    snprintf(p->log, sizeof p->log, "%s/redis.log", o->workdir);
    /* No TCP port, no RDB snapshots, no AOF: an in-memory cache on a Unix socket. */
    const char *argv[] = { "redis-server", "--port", "0", "--unixsocket", p->sock, "--save", "",
                     "--appendonly", "no", "--dir", p->data, "--logfile", p->log,
                     "--daemonize", "no", NULL };
    p->pid = spawn(argv, NULL, p->log);
    if (p->pid < 0) return -1;
    remember(p->pid);
    for (int waited = 0; waited < 10000; waited += 10) {
        if (exited(p->pid)) { forget(p->pid); p->pid = 0; break; }
        if (redis_ping(p->sock) == 0) return 0;
        sleep_ms(10);
    }
    show_log("redis-server", p->log);
    if (p->pid > 0) proc_stop(p);
    return -1;
}

int proc_stop(bench_proc *p)
{
    if (p->pid <= 0) return -1;
    kill(p->pid, SIGTERM);
    int st = 0;
    pid_t r = 0;
    for (int waited = 0; waited < 10000 && (r = waitpid(p->pid, &st, WNOHANG)) == 0; waited += 10)
        sleep_ms(10);
    if (r == 0) {
        fprintf(stderr, "claimbench: pid %d ignored SIGTERM for 10 s; killing it\n", (int)p->pid);
        kill(p->pid, SIGKILL);
        waitpid(p->pid, &st, 0);
    }
    forget(p->pid);
    p->pid = 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

uint64_t disk_bytes(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) return 0;
    if (!S_ISDIR(st.st_mode)) return (uint64_t)st.st_blocks * 512;
    uint64_t sum = 0;
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
        sum += disk_bytes(sub);
    }
    closedir(d);
    return sum;
}

double proc_cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    /* Fields after the command name, which is in parentheses and may contain spaces. */
    char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

uint64_t disk_written_bytes(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0) return 0;
    char sys[96];
    snprintf(sys, sizeof sys, "/sys/dev/block/%u:%u/stat", major(st.st_dev), minor(st.st_dev));
    FILE *f = fopen(sys, "r");
    unsigned long long sectors = 0;
    if (!f) return 0;
    if (fscanf(f, "%*u %*u %*u %*u %*u %*u %llu", &sectors) != 1) sectors = 0;
    fclose(f);
    return (uint64_t)sectors * 512;
}
