/* server: control socket set-up (private directory, stale socket, permissions) and shutdown. */
#include <errno.h>
#include <libgen.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "conn.h"
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
    /* umask around bind: the socket gets exactly socket_mode (0660 unless configured), whatever
     * our umask was, with no window in which it is wider. */
    mode_t old = umask((~srv->cfg.socket_mode) & 0777);
    int rc = uv_pipe_bind(&srv->listener, path);
    umask(old);
    /* A backlog as deep as the connection limit: a burst of clients up to max_connections
     * is queued by the kernel (which caps it at net.core.somaxconn) rather than refused with
     * EAGAIN while the loop is busy accepting. */
    int backlog = srv->cfg.max_connections > 511 ? (int)srv->cfg.max_connections : 511;
    if (rc == 0) rc = uv_listen((uv_stream_t *)&srv->listener, backlog, on_connection);
    if (rc) {
        cd_error("cannot listen on %s: %s", path, uv_strerror(rc));
        uv_close((uv_handle_t *)&srv->listener, NULL);
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
    cd_conn_ix_abandon(srv);
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
        unlink(srv->cfg.socket_path);
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
    uv_close((uv_handle_t *)&srv->sig_term, NULL);
    uv_close((uv_handle_t *)&srv->sig_int, NULL);
    /* Closing the watchers restored the default actions; a second SIGTERM during the last
     * steps of the exit must not kill the process by signal. */
    signal(SIGTERM, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    uv_close((uv_handle_t *)&srv->maintenance, NULL);
    cd_info("stopped");
}
