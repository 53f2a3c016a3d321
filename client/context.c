/* context: one blocking connection to the daemon.
 *
 * The socket is non-blocking underneath and every wait is a poll() on both directions: while a
 * long pipeline is being written, replies that arrive are read and queued at the same time, so
 * neither side can fill its socket buffer and wait for the other forever. Received bytes go
 * through the codec's reader; responses wait in a queue for claimd_get_reply (request order,
 * checked by msgid) and notifications in another for claimd_next_notification. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "client.h"

#define DEFAULT_SOCKET "./var/claimd.sock"
#define DEFAULT_MAX_REPLY ((size_t)256 << 20)
#define DEFAULT_MAX_NOTES 65536
/* Queued output past which claimd_append starts writing without waiting to be asked. */
#define EAGER_WRITE_BYTES (256 * 1024)
/* Sent bytes at the front of the output buffer past which they are dropped (the unsent rest
 * moved to the front) when they are at least as many as the unsent ones. */
#define COMPACT_OUT_BYTES (1024 * 1024)

typedef struct {
    cd_client_msg *head, *tail;
    size_t n;
} msg_queue;

struct claimd_ctx {
    int fd;
    int broken;                    /* a library error closed the connection: err is sticky */
    int err;
    char errstr[256];
    claimd_value *errval;          /* the daemon's error map of the failed call */
    const char *errfield;          /* inside errval */
    uint64_t errid;
    int timeout_ms;
    size_t max_reply;
    size_t max_notes;
    msgpack_sbuffer out;           /* requests not written yet are out.data[out_off..size) */
    size_t out_off;
    uint32_t next_msgid;
    size_t pending;                /* requests whose reply has not been handed out */
    cd_client_reader rd;
    msg_queue replies;
    msg_queue notes;
    uint64_t dropped;
};

/* ---- queues ---- */

static void queue_push(msg_queue *q, cd_client_msg *m)
{
    m->next = NULL;
    if (q->tail) q->tail->next = m;
    else q->head = m;
    q->tail = m;
    q->n++;
}

static cd_client_msg *queue_pop(msg_queue *q)
{
    cd_client_msg *m = q->head;
    if (!m) return NULL;
    q->head = m->next;
    if (!q->head) q->tail = NULL;
    q->n--;
    return m;
}

static void msg_free(cd_client_msg *m)
{
    if (!m) return;
    cd_client_msg_clear(m);
    free(m);
}

static void queue_clear(msg_queue *q)
{
    cd_client_msg *m;
    while ((m = queue_pop(q))) msg_free(m);
}

/* ---- errors ---- */

/* Forgets the previous call's daemon error; a library error stays (it is sticky). */
static void clear_call_error(claimd_ctx *ctx)
{
    if (ctx->broken) return;
    claimd_value_free(ctx->errval);
    ctx->errval = NULL;
    ctx->errfield = NULL;
    ctx->errid = 0;
    ctx->err = CLAIMD_OK;
    ctx->errstr[0] = '\0';
}

__attribute__((format(printf, 3, 0)))
static void vset_error(claimd_ctx *ctx, int code, const char *fmt, va_list ap)
{
    ctx->err = code;
    vsnprintf(ctx->errstr, sizeof ctx->errstr, fmt, ap);
}

/* A failed call that leaves the connection usable (bad usage, out of memory). */
__attribute__((format(printf, 3, 4)))
static int call_error(claimd_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset_error(ctx, code, fmt, ap);
    va_end(ap);
    return code;
}

int cd_client_fail(claimd_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset_error(ctx, code, fmt, ap);
    va_end(ap);
    return code;
}

/* A failure of the connection itself: closes it, and the error sticks until claimd_connect. */
__attribute__((format(printf, 3, 4)))
static int conn_error(claimd_ctx *ctx, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vset_error(ctx, code, fmt, ap);
    va_end(ap);
    ctx->broken = 1;
    if (ctx->fd >= 0) close(ctx->fd);
    ctx->fd = -1;
    return code;
}

/* Takes ownership of the daemon's error (a map, or a string from a plain msgpack-rpc server). */
static int daemon_error(claimd_ctx *ctx, claimd_value *e)
{
    ctx->errval = e;
    const char *text = claimd_value_str(e, NULL);
    if (text) {
        ctx->err = CLAIMD_E_INTERNAL;
        snprintf(ctx->errstr, sizeof ctx->errstr, "%s", text);
        return ctx->err;
    }
    size_t clen = 0;
    const char *code = claimd_value_str(claimd_value_get(e, "code"), &clen);
    ctx->err = code ? (int)claimd_code_from_name(code, clen) : CLAIMD_E_INTERNAL;
    const char *msg = claimd_value_get_str(e, "message");
    snprintf(ctx->errstr, sizeof ctx->errstr, "%s", msg ? msg : claimd_code_name(ctx->err));
    ctx->errfield = claimd_value_get_str(e, "field");
    ctx->errid = claimd_value_get_uint(e, "id", 0);
    return ctx->err;
}

int claimd_errcode(const claimd_ctx *ctx)
{
    return ctx ? ctx->err : CLAIMD_E_USAGE;
}

const char *claimd_errstr(const claimd_ctx *ctx)
{
    return ctx ? ctx->errstr : "no context";
}

const char *claimd_error_field(const claimd_ctx *ctx)
{
    return ctx ? ctx->errfield : NULL;
}

uint64_t claimd_error_id(const claimd_ctx *ctx)
{
    return ctx ? ctx->errid : 0;
}

const claimd_value *claimd_error_value(const claimd_ctx *ctx)
{
    return ctx ? ctx->errval : NULL;
}

/* ---- lifecycle and options ---- */

claimd_ctx *claimd_new(void)
{
    claimd_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) return NULL;
    ctx->fd = -1;
    ctx->max_reply = DEFAULT_MAX_REPLY;
    ctx->max_notes = DEFAULT_MAX_NOTES;
    msgpack_sbuffer_init(&ctx->out);
    cd_client_reader_init(&ctx->rd, ctx->max_reply, CD_CLIENT_MAX_DEPTH);
    return ctx;
}

/* Drops everything that belongs to one connection. */
static void reset_connection(claimd_ctx *ctx)
{
    if (ctx->fd >= 0) close(ctx->fd);
    ctx->fd = -1;
    ctx->broken = 0;
    clear_call_error(ctx);
    queue_clear(&ctx->replies);
    queue_clear(&ctx->notes);
    ctx->out.size = 0;
    ctx->out_off = 0;
    ctx->pending = 0;
    cd_client_reader_free(&ctx->rd);
    cd_client_reader_init(&ctx->rd, ctx->max_reply, CD_CLIENT_MAX_DEPTH);
}

void claimd_free(claimd_ctx *ctx)
{
    if (!ctx) return;
    reset_connection(ctx);
    cd_client_reader_free(&ctx->rd);
    msgpack_sbuffer_destroy(&ctx->out);
    free(ctx);
}

int claimd_set_timeout_ms(claimd_ctx *ctx, int ms)
{
    if (!ctx || ms < 0) return CLAIMD_E_USAGE;
    ctx->timeout_ms = ms;
    return CLAIMD_OK;
}

int claimd_set_max_reply(claimd_ctx *ctx, size_t bytes)
{
    if (!ctx || bytes < 64) return CLAIMD_E_USAGE;
    ctx->max_reply = bytes;
    ctx->rd.max_bytes = bytes;
    return CLAIMD_OK;
}

int claimd_set_max_queued_notifications(claimd_ctx *ctx, size_t n)
{
    if (!ctx) return CLAIMD_E_USAGE;
    ctx->max_notes = n;
    return CLAIMD_OK;
}

int claimd_fd(const claimd_ctx *ctx)
{
    return ctx ? ctx->fd : -1;
}

size_t claimd_pending(const claimd_ctx *ctx)
{
    return ctx ? ctx->pending : 0;
}

uint64_t claimd_notifications_dropped(const claimd_ctx *ctx)
{
    return ctx ? ctx->dropped : 0;
}

int claimd_connect(claimd_ctx *ctx, const char *socket_path)
{
    if (!ctx) return CLAIMD_E_USAGE;
    if (ctx->fd >= 0) return call_error(ctx, CLAIMD_E_USAGE, "already connected");
    reset_connection(ctx);
    const char *path = socket_path;
    if (!path) path = getenv("CLAIMD_SOCKET");
    if (!path || !*path) path = DEFAULT_SOCKET;

    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    size_t n = strlen(path);
    if (n >= sizeof sa.sun_path)
        return conn_error(ctx, CLAIMD_E_USAGE, "socket path too long (%zu bytes, limit %zu): %s",
                          n, sizeof sa.sun_path - 1, path);
    memcpy(sa.sun_path, path, n);

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return conn_error(ctx, CLAIMD_E_IO, "socket: %s", strerror(errno));
    if (ctx->timeout_ms > 0) {
        /* A Unix-socket connect waits on a full listen backlog for as long as SO_SNDTIMEO. */
        struct timeval tv = {ctx->timeout_ms / 1000, (ctx->timeout_ms % 1000) * 1000};
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    int rc;
    do rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    while (rc < 0 && errno == EINTR);
    if (rc < 0) {
        int e = errno;
        close(fd);
        return conn_error(ctx, CLAIMD_E_IO, "cannot connect to %s: %s", path,
                          e == EAGAIN ? "timed out" : strerror(e));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        int e = errno;
        close(fd);
        return conn_error(ctx, CLAIMD_E_IO, "fcntl: %s", strerror(e));
    }
    ctx->fd = fd;
    return CLAIMD_OK;
}

/* ---- I/O ---- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A deadline ms from now, or -1 (none) for ms < 0. */
static int64_t deadline_in(int ms)
{
    return ms < 0 ? -1 : now_ms() + ms;
}

static int output_pending(const claimd_ctx *ctx)
{
    return ctx->out_off < ctx->out.size;
}

/* Moves decoded messages into their queues. Returns 0 or -1 (connection failed). */
static int take_messages(claimd_ctx *ctx)
{
    for (;;) {
        cd_client_msg *m = calloc(1, sizeof *m);
        if (!m) return conn_error(ctx, CLAIMD_E_NOMEM, "out of memory reading a reply"), -1;
        int rc = cd_client_reader_next(&ctx->rd, m);
        if (rc <= 0) {
            free(m);
            if (rc == 0) return 0;
            return conn_error(ctx, CLAIMD_E_PROTOCOL, "%s", ctx->rd.errstr), -1;
        }
        if (m->kind == CD_CLIENT_RESPONSE) {
            if (ctx->replies.n >= ctx->pending) {
                msg_free(m);
                return conn_error(ctx, CLAIMD_E_PROTOCOL, "response to no request"), -1;
            }
            queue_push(&ctx->replies, m);
        } else if (ctx->notes.n < ctx->max_notes) {
            queue_push(&ctx->notes, m);
        } else {
            ctx->dropped++;
            msg_free(m);
        }
    }
}

/* Reads what is available without waiting. Returns bytes read, 0 when none, -1 on failure. */
static ssize_t read_some(claimd_ctx *ctx)
{
    char buf[65536];
    ssize_t n;
    do n = recv(ctx->fd, buf, sizeof buf, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n == 0) return conn_error(ctx, CLAIMD_E_IO, "connection closed by the daemon"), -1;
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        return conn_error(ctx, CLAIMD_E_IO, "read: %s", strerror(errno)), -1;
    }
    if (cd_client_reader_feed(&ctx->rd, buf, (size_t)n) < 0)
        return conn_error(ctx, CLAIMD_E_NOMEM, "out of memory reading a reply"), -1;
    return take_messages(ctx) < 0 ? -1 : n;
}

/* Writes queued requests without waiting. Returns bytes written, 0 when none, -1 on failure. */
static ssize_t write_some(claimd_ctx *ctx)
{
    if (!output_pending(ctx)) return 0;
    ssize_t n;
    do n = send(ctx->fd, ctx->out.data + ctx->out_off, ctx->out.size - ctx->out_off,
                MSG_DONTWAIT | MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
        if (errno == EPIPE || errno == ECONNRESET)
            return conn_error(ctx, CLAIMD_E_IO, "connection closed by the daemon"), -1;
        return conn_error(ctx, CLAIMD_E_IO, "write: %s", strerror(errno)), -1;
    }
    ctx->out_off += (size_t)n;
    if (ctx->out_off == ctx->out.size) {
        ctx->out_off = ctx->out.size = 0;
    } else if (ctx->out_off >= COMPACT_OUT_BYTES && ctx->out_off >= ctx->out.size - ctx->out_off) {
        /* A pipeline that keeps appending may never drain the buffer completely: without this
         * the sent bytes in front would stay, and the buffer grow with everything ever sent. */
        memmove(ctx->out.data, ctx->out.data + ctx->out_off, ctx->out.size - ctx->out_off);
        ctx->out.size -= ctx->out_off;
        ctx->out_off = 0;
    }
    return n;
}

typedef int (*pump_goal)(const claimd_ctx *ctx);

static int goal_reply(const claimd_ctx *ctx) { return ctx->replies.head != NULL; }
static int goal_note(const claimd_ctx *ctx) { return ctx->notes.head != NULL; }
static int goal_flushed(const claimd_ctx *ctx) { return !output_pending(ctx); }

/* Moves bytes both ways until goal holds (1), the deadline passes (0; -1 means none), or the
 * connection fails (-1). */
static int pump(claimd_ctx *ctx, pump_goal goal, int64_t deadline)
{
    for (;;) {
        if (goal(ctx)) return 1;
        ssize_t w = write_some(ctx);
        if (w < 0) return -1;
        /* Right after a request went out whole its reply cannot be here yet: wait in poll
         * rather than spend a recv that fails with EAGAIN (a round trip's fixed cost). The
         * reader keeps no unparsed complete message, so nothing is left waiting by this. */
        int sent_all = w > 0 && !output_pending(ctx);
        ssize_t r = sent_all ? 0 : read_some(ctx);
        if (r < 0) return -1;
        if (r > 0 || (w > 0 && !sent_all)) continue;
        int wait_ms = -1;
        if (deadline >= 0) {
            int64_t left = deadline - now_ms();
            if (left <= 0) return 0;
            wait_ms = left > 1000000 ? 1000000 : (int)left;
        }
        struct pollfd pfd = {ctx->fd, POLLIN | (output_pending(ctx) ? POLLOUT : 0), 0};
        int pr = poll(&pfd, 1, wait_ms);
        if (pr < 0 && errno != EINTR)
            return conn_error(ctx, CLAIMD_E_IO, "poll: %s", strerror(errno)), -1;
        /* POLLHUP/POLLERR surface on the next read or write with their reason. */
    }
}

/* Runs pump under the context's call timeout; a timeout breaks the connection. */
static int pump_for_call(claimd_ctx *ctx, pump_goal goal)
{
    int rc = pump(ctx, goal, ctx->timeout_ms > 0 ? deadline_in(ctx->timeout_ms) : -1);
    if (rc == 1) return CLAIMD_OK;
    if (rc == 0) return conn_error(ctx, CLAIMD_E_IO, "timed out after %d ms", ctx->timeout_ms);
    return ctx->err;
}

/* Common entry checks: a sticky error, or no connection. */
static int check_usable(claimd_ctx *ctx)
{
    if (ctx->broken) return ctx->err;
    clear_call_error(ctx);
    if (ctx->fd < 0) return call_error(ctx, CLAIMD_E_USAGE, "not connected");
    return CLAIMD_OK;
}

/* ---- calls ---- */

int claimd_append(claimd_ctx *ctx, const char *method, const claimd_args *params)
{
    if (!ctx) return CLAIMD_E_USAGE;
    int rc = check_usable(ctx);
    if (rc) return rc;
    rc = cd_client_pack_request(&ctx->out, ctx->next_msgid, method, params);
    if (rc == CLAIMD_E_NOMEM) return call_error(ctx, rc, "out of memory packing a request");
    if (rc) return call_error(ctx, rc, "%s", !method || !*method ? "no method name"
                                             : "parameters have an error or an open container");
    ctx->next_msgid++;
    ctx->pending++;
    if (ctx->out.size - ctx->out_off >= EAGER_WRITE_BYTES) {
        if (write_some(ctx) < 0 || read_some(ctx) < 0) return ctx->err;
    }
    return CLAIMD_OK;
}

int claimd_get_reply(claimd_ctx *ctx, claimd_value **result)
{
    if (result) *result = NULL;
    if (!ctx) return CLAIMD_E_USAGE;
    int rc = check_usable(ctx);
    if (rc) return rc;
    if (ctx->pending == 0) return call_error(ctx, CLAIMD_E_USAGE, "no reply is pending");
    rc = pump_for_call(ctx, goal_reply);
    if (rc) return rc;
    cd_client_msg *m = queue_pop(&ctx->replies);
    uint32_t expected = ctx->next_msgid - (uint32_t)ctx->pending;
    ctx->pending--;
    if (m->msgid != expected) {
        uint32_t got = m->msgid;
        msg_free(m);
        return conn_error(ctx, CLAIMD_E_PROTOCOL, "response msgid %u, expected %u", got,
                          expected);
    }
    if (m->error) {
        rc = daemon_error(ctx, m->error);
        m->error = NULL;
    } else if (result) {
        *result = m->result;
        m->result = NULL;
    }
    msg_free(m);
    return rc;
}

int claimd_call(claimd_ctx *ctx, const char *method, const claimd_args *params,
                claimd_value **result)
{
    if (result) *result = NULL;
    if (!ctx) return CLAIMD_E_USAGE;
    if (ctx->pending && !ctx->broken)
        return call_error(ctx, CLAIMD_E_USAGE, "%zu pipelined replies are still pending",
                          ctx->pending);
    int rc = claimd_append(ctx, method, params);
    if (rc) return rc;
    return claimd_get_reply(ctx, result);
}

int claimd_flush(claimd_ctx *ctx)
{
    if (!ctx) return CLAIMD_E_USAGE;
    int rc = check_usable(ctx);
    if (rc) return rc;
    return pump_for_call(ctx, goal_flushed);
}

int claimd_next_notification(claimd_ctx *ctx, char **method, claimd_value **params,
                             int timeout_ms)
{
    if (method) *method = NULL;
    if (params) *params = NULL;
    if (!ctx || !method || !params) return CLAIMD_E_USAGE;
    if (!ctx->notes.head) {
        int rc = check_usable(ctx);
        if (rc) return rc;
        if (pump(ctx, goal_note, deadline_in(timeout_ms)) < 0) return ctx->err;
    } else {
        clear_call_error(ctx);
    }
    cd_client_msg *m = queue_pop(&ctx->notes);
    if (!m) return CLAIMD_OK;
    *method = m->method;
    *params = m->params;
    m->method = NULL;
    m->params = NULL;
    msg_free(m);
    return CLAIMD_OK;
}
