/* server: control socket set-up (private directory, stale socket, permissions) and shutdown. */
#include <errno.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "conn.h"
#include "indexer.h"
#include "log.h"
#include "server.h"
#include "writer.h"

#define SHUTDOWN_GRACE_MS 10000

/* Makes sure the socket's directory exists; a new one is created 0750 (owner and group only),
 * which is what keeps the socket away from other users. */
static int prepare_socket_dir(const char *path)
{
    char copy[PATH_MAX];
    snprintf(copy, sizeof copy, "%s", path);
    const char *dir = dirname(copy);
    struct stat st;
    if (stat(dir, &st) < 0) {
        if (errno != ENOENT || mkdir(dir, 0750) < 0) {
            cd_error("cannot create socket directory %s: %s", dir, strerror(errno));
            return -1;
        }
        return 0;
    }
    if (!S_ISDIR(st.st_mode)) { cd_error("%s is not a directory", dir); return -1; }
    if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX))
        cd_warn("socket directory %s is world-writable: anyone could replace the socket", dir);
    return 0;
}

/* Removes a socket file left by a dead daemon; refuses to touch a live daemon's socket or a
 * file that is not a socket. */
static int clear_stale_socket(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0) return errno == ENOENT ? 0 : -1;
    if (!S_ISSOCK(st.st_mode)) {
        cd_error("%s exists and is not a socket; not replacing it", path);
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", path);
    int live = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    close(fd);
    if (live) {
        cd_error("another claimd is already listening on %s", path);
        return -1;
    }
    cd_info("replacing stale socket %s", path);
    return unlink(path);
}

/* A listening-to-be Unix socket bound at path with the given mode: its fd, or a negative
 * libuv error code. */
static int bind_socket(const char *path, unsigned mode)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) return UV_ENAMETOOLONG;
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return uv_translate_sys_error(errno);
    mode_t old = umask((~mode) & 0777);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    int err = errno;
    umask(old);
    if (rc < 0) { close(fd); return uv_translate_sys_error(err); }
    return fd;
}

/* Removes the socket file only while it is still the one we bound: a successor daemon may have
 * replaced the path with its own live socket (clear_stale_socket), which is not ours to take. */
static void unlink_own_socket(const cd_server *srv)
{
    struct stat st;
    const char *path = srv->cfg.socket_path;
    if (lstat(path, &st) < 0) return;
    if (st.st_dev != srv->socket_dev || st.st_ino != srv->socket_ino) {
        cd_info("%s is no longer our socket (replaced); leaving it", path);
        return;
    }
    unlink(path);
}

static void on_connection(uv_stream_t *listener, int status)
{
    cd_server *srv = listener->data;
    if (status < 0) { cd_warn("accept: %s", uv_strerror(status)); return; }
    cd_conn_accept(srv);
}

int cd_server_listen(cd_server *srv)
{
    const char *path = srv->cfg.socket_path;
    if (prepare_socket_dir(path) < 0 || clear_stale_socket(path) < 0) return -1;
    uv_pipe_init(srv->loop, &srv->listener, 0);
    srv->listener.data = srv;
    /* Bound here, not by uv_pipe_bind: libuv unlinks the path of a pipe it bound when the handle
     * closes, whoever's socket is there by then; ours is removed by unlink_own_socket. umask
     * around bind: the socket gets exactly socket_mode (0660 unless configured), whatever our
     * umask was, with no window in which it is wider. */
    int rc = bind_socket(path, srv->cfg.socket_mode), bound = rc >= 0;
    struct stat st;
    if (bound && lstat(path, &st) == 0) { srv->socket_dev = st.st_dev; srv->socket_ino = st.st_ino; }
    if (bound) {
        int fd = rc;
        if ((rc = uv_pipe_open(&srv->listener, fd)) < 0) close(fd);
    }
    /* A backlog as deep as the connection limit: a burst of clients up to max_connections
     * is queued by the kernel (which caps it at net.core.somaxconn) rather than refused with
     * EAGAIN while the loop is busy accepting. */
    int backlog = srv->cfg.max_connections > 511 ? (int)srv->cfg.max_connections : 511;
    if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->listener, backlog, on_connection);
    if (rc) {
        cd_error("cannot listen on %s: %s", path, uv_strerror(rc));
        uv_close((uv_handle_t *)&srv->listener, NULL);
        if (bound) unlink_own_socket(srv);
        return -1;
    }
    srv->listening = 1;
    return 0;
}

static uv_timer_t grace_timer;

static void on_grace_expired(uv_timer_t *t)
{
    cd_server *srv = t->data;
    cd_warn("shutdown: closing %u connection(s) that did not drain in time", srv->nconns);
    if (srv->writer) cd_indexer_abandon_parked(cd_writer_indexer(srv->writer));
    while (srv->conns) cd_conn_close(srv->conns);
}

void cd_server_shutdown(cd_server *srv)
{
    if (srv->stopping) return;
    srv->stopping = 1;
    cd_info("shutting down: %u connection(s), %zu write(s) in flight", srv->nconns,
            srv->writer ? cd_writer_in_flight(srv->writer) : 0);
    if (srv->listening) {
        uv_close((uv_handle_t *)&srv->listener, NULL);
        unlink_own_socket(srv);
        srv->listening = 0;
    }
    uv_timer_init(srv->loop, &grace_timer);
    grace_timer.data = srv;
    uv_timer_start(&grace_timer, on_grace_expired, SHUTDOWN_GRACE_MS, 0);
    uv_unref((uv_handle_t *)&grace_timer);
    cd_conn_stop_reading_all(srv);
    cd_server_maybe_finish(srv);
}

void cd_server_conn_closed(cd_server *srv, cd_conn *conn)
{
    (void)conn;
    srv->nconns--;
    cd_server_maybe_finish(srv);
}

void cd_server_maybe_finish(cd_server *srv)
{
    if (!srv->stopping || srv->nconns || !srv->writer || cd_writer_in_flight(srv->writer)) return;
    cd_writer_stop(srv->writer);
    srv->writer = NULL;
    uv_timer_stop(&grace_timer);
    uv_close((uv_handle_t *)&grace_timer, NULL);
    /* Closing the watchers restores the default actions; a second SIGTERM during the last
     * steps of the exit must not kill the process by signal: blocked first, ignored after. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    uv_close((uv_handle_t *)&srv->sig_term, NULL);
    uv_close((uv_handle_t *)&srv->sig_int, NULL);
    uv_close((uv_handle_t *)&srv->sig_hup, NULL);
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    uv_close((uv_handle_t *)&srv->maintenance, NULL);
    cd_info("stopped");
}
