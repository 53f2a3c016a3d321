/* conn: reads bytes, cuts them into pre-scanned objects, runs or queues each call, and writes
 * replies back in request order.
 *
 * Ordering rule: write calls go to the writer in arrival order and come back in that order; any
 * other call waits (held, with reading paused) until the connection's writes have come back. So
 * replies leave in request order and a read sees the connection's earlier writes. */
#include <grp.h>
#include <stdio.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include "conn.h"
#include "peer_groups.h"
#include "entity.h"
#include "indexer.h"
#include "log.h"
#include "prescan.h"
#include "server.h"
#include "publish.h"
#include "readpool.h"
#include "subscribe.h"
#include "writer.h"

#define IN_MIN_CAP (16u << 10)
#define IN_SHRINK_ABOVE (1u << 20)
#define MAX_WRITES_PER_CONN 4096
#define OUT_KEEP_MAX (256u << 10)   /* output buffer room kept between replies */
/* The memory budget (PROTOCOL.md "Limits"): no connection takes in more while it holds a
 * quarter of it (its buffers may still double once); below half of it nobody else is held back;
 * above it a
 * connection holding more than its share (half the budget over the open connections, at least
 * MEM_FLOOR) is not read and takes no new request until it drops below; a request whose unpacked
 * size would pass the budget is answered busy; past a quarter over the budget (what no pause
 * stops: notification backlogs, replies of calls already running) the biggest holder is closed. */
#define MEM_FLOOR (64u << 10)
#define MEM_RETRY_MS 20             /* how often a connection held back for memory looks again */

struct cd_conn {
    uv_pipe_t pipe;
    uv_timer_t mem_wait;         /* polls while the connection is held back for memory */
    int mem_waiting;
    size_t mem;                  /* what it holds, as counted in srv->mem_used */
    size_t mem_calls;            /* of which its calls not yet answered (mem_charge) */
    uv_timer_t idle;             /* closes a connection idle between objects (idle_timeout_ms),
                                  * stuck inside one (request_timeout_ms) or refused */
    int timing_partial;          /* the idle timer runs for a partial object */
    int partial;                 /* the input ends inside an object (as of the last scan) */
    cd_server *srv;
    cd_conn *prev, *next;
    cd_role role;
    uid_t uid;
    char *in;                    /* received bytes; [in_off, in_len) not yet parsed */
    size_t in_len, in_off, in_cap;
    cd_call *held;               /* a non-write call waiting for earlier writes */
    size_t writes_in_flight;
    msgpack_sbuffer out;         /* replies not yet handed to uv_write */
    size_t out_unsent;           /* bytes handed to uv_write and not yet written */
    int writing;                 /* a uv_write is in flight; later replies wait in out */
    int reading;
    int eof;                     /* the peer finished sending; close once answered */
    int refuse;                  /* over a connection limit: answer busy once, then close */
    char refuse_why[96];         /* which limit, for that busy */
    int close_after_flush;
    int closing;                 /* uv_close started; no more processing */
    int open_handles;
    int slow_in_flight;          /* a CD_M_SLOW call is on the thread pool (or held for a map
                                  * growth), or a read waits for the index pass: one at a time */
    struct cd_sub *subs;         /* this connection's subscriptions */
};

typedef struct {
    uv_write_t req;
    cd_conn *conn;
    char *data;
    size_t len;
} out_chunk;

static void conn_process(cd_conn *c);
static void conn_touch(cd_conn *c);
static void conn_reply(cd_conn *c, cd_call *call);
static int conn_mem_blocked(const cd_conn *c);

/* ---- memory budget ----------------------------------------------------------------------- */

/* Brings srv->mem_used up to date with what c holds now. */
static void conn_account(cd_conn *c)
{
    size_t now = c->in_cap + c->out.alloc + c->out_unsent + c->mem_calls;
    c->srv->mem_used = c->srv->mem_used - c->mem + now;
    c->mem = now;
}

static size_t conn_share(const cd_server *srv)
{
    size_t share = srv->cfg.memory_budget / 2 / (srv->nconns ? srv->nconns : 1);
    return share > MEM_FLOOR ? share : MEM_FLOOR;
}

/* Whether c may take in more now (read, start its next request) as far as memory goes. */
static int conn_mem_allows(const cd_conn *c)
{
    const cd_server *srv = c->srv;
    size_t budget = srv->cfg.memory_budget;
    if (c == srv->mem_big) return srv->mem_used < budget;
    /* No one connection past a quarter: its buffers may double once more and stay within. */
    if (c->mem >= budget / 4) return 0;
    return srv->mem_used < budget / 2 || c->mem < conn_share(srv);
}

/* Under memory pressure, requests larger than a share are received one at a time: the first
 * connection found held back inside a partial request may go on past its share (up to the
 * budget) until that request is whole, so big requests queue instead of all stalling. One whose
 * request cannot fit even so (it alone holds half the budget) is answered busy and closed (the
 * stream cannot be followed past a request not received). */
static void conn_big_request(cd_conn *c, int partial)
{
    cd_server *srv = c->srv;
    /* Only a connection held back by its input alone: one with replies or calls pending waits
     * for those instead. */
    int input_only = !c->out.size && !c->out_unsent && !c->mem_calls;
    if (srv->mem_big == c && (!partial || !input_only)) srv->mem_big = NULL;
    if (!partial || !input_only || !conn_mem_blocked(c)) return;
    if (!srv->mem_big) {
        srv->mem_big = c;
        return;
    }
    /* It may wait for others to give memory back, unless it alone would need half the budget. */
    if (srv->mem_big != c || c->mem < srv->cfg.memory_budget / 2) return;
    uint32_t msgid;
    srv->stats.memory_busy++;
    cd_info("closing a connection whose %zu-byte partial request does not fit in the memory budget", c->in_len - c->in_off);
    if (cd_prescan_msgid(c->in + c->in_off, c->in_len - c->in_off, &msgid)) {
        cd_call *call = cd_call_new_error(srv, c, msgid, CLAIMD_E_BUSY,
                                          "the request does not fit in the daemon's memory budget now; retry later");
        if (call) {
            call->start_ns = (int64_t)uv_hrtime();
            if (c->held) cd_call_free(call);   /* cannot happen: a held call stops reading */
            else if (c->writes_in_flight) c->held = call;   /* answered after those writes */
            else conn_reply(c, call);
        }
    }
    c->in_off = c->in_len;
    c->close_after_flush = 1;
    srv->mem_big = NULL;
}

/* Past a quarter over the budget, closes the connection holding the most (what pausing cannot
 * stop has grown: notification backlogs, big replies of calls already running). */
static void conn_enforce_budget(cd_server *srv)
{
    size_t budget = srv->cfg.memory_budget;
    if (srv->mem_used <= budget + budget / 4) return;
    size_t open_total = 0;
    cd_conn *worst = NULL;
    for (cd_conn *o = srv->conns; o; o = o->next) {
        if (o->closing) continue;
        open_total += o->mem;
        if (!worst || o->mem > worst->mem) worst = o;
    }
    /* Connections already closing give their memory back soon: not a reason to close more. */
    if (!worst || open_total <= budget + budget / 4) return;
    cd_warn("memory budget (%zu bytes) exceeded: %zu held; closing the connection of uid %u holding %zu",
            budget, srv->mem_used, (unsigned)worst->uid, worst->mem);
    srv->stats.memory_closed++;
    cd_conn_close(worst);
}

static void on_mem_wait(uv_timer_t *t)
{
    conn_process(t->data);
}

/* ---- lifetime ---------------------------------------------------------------------------- */

static void conn_maybe_free(cd_conn *c)
{
    if (!c->closing || c->open_handles || c->writes_in_flight || c->slow_in_flight) return;
    c->srv->mem_used -= c->mem;
    cd_subs_free(c->subs);
    msgpack_sbuffer_destroy(&c->out);
    free(c->in);
    free(c);
}

static void on_handle_closed(uv_handle_t *h)
{
    cd_conn *c = h->data;
    c->open_handles--;
    if (c->open_handles == 0) cd_server_maybe_finish(c->srv);
    conn_maybe_free(c);
}

/* Frees one of c's calls and gives back what it counted against the budget. */
static void conn_call_free(cd_conn *c, cd_call *call)
{
    c->mem_calls -= call->mem_charge;
    cd_call_free(call);
    conn_account(c);
}

void cd_conn_close(cd_conn *c)
{
    if (c->closing) return;
    c->closing = 1;
    if (c->held) { conn_call_free(c, c->held); c->held = NULL; }
    if (c->srv->mem_big == c) c->srv->mem_big = NULL;
    if (c->prev) c->prev->next = c->next;
    else c->srv->conns = c->next;
    if (c->next) c->next->prev = c->prev;
    /* The slot is free now, though the handles finish closing on a later loop turn. */
    cd_server_conn_closed(c->srv, c);
    uv_close((uv_handle_t *)&c->pipe, on_handle_closed);
    uv_close((uv_handle_t *)&c->idle, on_handle_closed);
    uv_close((uv_handle_t *)&c->mem_wait, on_handle_closed);
}

int cd_conn_busy(const cd_conn *c)
{
    return c->writes_in_flight || c->slow_in_flight || c->out.size || c->out_unsent || c->held;
}

/* ---- output ------------------------------------------------------------------------------ */

static void on_written(uv_write_t *req, int status)
{
    out_chunk *ch = (out_chunk *)req;
    cd_conn *c = ch->conn;
    c->out_unsent -= ch->len;
    c->writing = 0;
    free(ch->data);
    free(ch);
    conn_account(c);
    if (c->closing) return;
    if (status < 0) { cd_debug("write to client failed: %s", uv_strerror(status)); cd_conn_close(c); return; }
    conn_touch(c);   /* a client reading its replies is not idle */
    conn_process(c);
}

/* Hands the buffered replies to libuv in one write; the chunk owns its bytes until written.
 * One write at a time: replies that come meanwhile gather in out and leave together, so a
 * client sending tiny requests costs one buffer, not one allocation per reply. try_now: write
 * at once when the socket takes it; only for callers that take buffered requests afterwards
 * (conn_process), since such a write has no completion callback to resume them. */
static void conn_flush(cd_conn *c, int try_now)
{
    if (c->closing || c->writing || c->out.size == 0) return;
    if (!try_now) goto queue;
    /* Most replies fit in the socket's buffer: written now, they need no request, no copy, no
     * completion callback and no change to the poll set (one syscall per reply, not three). */
    uv_buf_t now = uv_buf_init(c->out.data, (unsigned)c->out.size);
    int n = uv_try_write((uv_stream_t *)&c->pipe, &now, 1);
    if (n < 0 && n != UV_EAGAIN) {
        cd_debug("write to client failed: %s", uv_strerror(n));
        cd_conn_close(c);
        return;
    }
    if (n > 0) {
        memmove(c->out.data, c->out.data + n, c->out.size - (size_t)n);
        c->out.size -= (size_t)n;
    }
    if (c->out.size == 0) {
        if (c->out.alloc > OUT_KEEP_MAX) {       /* a big reply went out: do not keep its room */
            msgpack_sbuffer_destroy(&c->out);
            msgpack_sbuffer_init(&c->out);
            conn_account(c);
        }
        return;
    }
queue:;
    out_chunk *ch = malloc(sizeof *ch);
    if (!ch) { cd_conn_close(c); return; }
    ch->conn = c;
    ch->len = c->out.size;
    ch->data = msgpack_sbuffer_release(&c->out);
    uv_buf_t buf = uv_buf_init(ch->data, (unsigned)ch->len);
    c->out_unsent += ch->len;
    c->writing = 1;
    conn_account(c);
    int rc = uv_write(&ch->req, (uv_stream_t *)&c->pipe, &buf, 1, on_written);
    if (rc) {
        c->writing = 0;
        c->out_unsent -= ch->len;
        free(ch->data);
        free(ch);
        cd_conn_close(c);
    }
}

/* Encodes the call's reply into the output buffer, counts it, frees the call. */
static void conn_reply(cd_conn *c, cd_call *call)
{
    cd_server *srv = c->srv;
    cd_stats_record(&srv->stats, cd_method_index(call->method), call->err != CLAIMD_OK,
                    (uint64_t)((int64_t)uv_hrtime() - call->start_ns));
    if (call->notification) {   /* the client asked for no reply: its outcome goes to the log */
        if (call->err)
            cd_debug("notification %.*s: %s: %s", (int)(call->method_name.n > 64 ? 64 : call->method_name.n),
                     call->method_name.p ? call->method_name.p : "", claimd_code_name(call->err), call->err_msg);
    } else {
        cd_call_encode_reply(call, &c->out);
    }
    conn_call_free(c, call);
}

/* ---- input ------------------------------------------------------------------------------- */

/* How far the input buffer may grow now: one request plus slack, and under memory pressure no
 * further than the connection's share, but for the one big request let through at a time. */
static size_t conn_in_limit(const cd_conn *c)
{
    const cd_server *srv = c->srv;
    size_t limit = srv->cfg.max_request + IN_MIN_CAP;
    if (srv->mem_used >= srv->cfg.memory_budget / 2 && c != srv->mem_big) {
        size_t share = conn_share(srv);
        if (share < limit) limit = share > c->in_cap ? share : c->in_cap;
    }
    return limit;
}

/* Whether reading must wait for memory: the connection holds more than it may now, or its input
 * buffer is full and may not grow. */
static int conn_mem_blocked(const cd_conn *c)
{
    if (!conn_mem_allows(c)) return 1;
    return c->in_cap - (c->in_len - c->in_off) < IN_MIN_CAP / 2 && c->in_cap >= conn_in_limit(c);
}

static int conn_wants_input(const cd_conn *c)
{
    return !c->closing && !c->eof && !c->close_after_flush && !c->held && !c->slow_in_flight &&
           !conn_mem_blocked(c) &&
           c->writes_in_flight < MAX_WRITES_PER_CONN &&
           c->out_unsent + c->out.size < c->srv->cfg.max_output;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    cd_conn *c = h->data;
    (void)suggested;
    if (c->in_off) {                         /* keep unparsed bytes at the front */
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    size_t limit = conn_in_limit(c);
    if (c->in_cap - c->in_len < IN_MIN_CAP / 2 && c->in_cap < limit) {
        size_t cap = c->in_cap ? c->in_cap * 2 : IN_MIN_CAP;
        if (cap > limit) cap = limit;
        char *n = realloc(c->in, cap);
        if (n) { c->in = n; c->in_cap = cap; conn_account(c); }
    }
    *buf = uv_buf_init(c->in + c->in_len, (unsigned)(c->in_cap - c->in_len));
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    cd_conn *c = s->data;
    (void)buf;
    if (nread == UV_EOF) {
        c->eof = 1;
    } else if (nread == UV_ENOBUFS) {
        /* no room left under the memory budget: conn_process stops reading */
    } else if (nread < 0) {
        cd_debug("read from client failed: %s", uv_strerror((int)nread));
        cd_conn_close(c);
        return;
    } else {
        c->in_len += (size_t)nread;
    }
    conn_process(c);
}

static void on_idle_timeout(uv_timer_t *t)
{
    cd_conn *c = t->data;
    cd_server *srv = c->srv;
    if (c->refuse) {
        cd_info("closing a refused connection that sent nothing");
    } else if (c->timing_partial && c->mem_waiting) {
        /* Held back for memory, not slow: its request clock starts again once it may read. */
        uv_timer_start(&c->idle, on_idle_timeout, srv->cfg.request_timeout_ms, 0);
        return;
    } else if (c->timing_partial) {
        cd_info("closing a connection stuck inside a partial request for %u ms", srv->cfg.request_timeout_ms);
    } else if (c->subs || c->writes_in_flight || c->slow_in_flight || c->held) {
        /* Waiting on the daemon or for notifications is not idleness. */
        uv_timer_start(&c->idle, on_idle_timeout, srv->cfg.idle_timeout_ms, 0);
        return;
    } else {
        cd_info("closing a connection from uid %u idle for %u ms", (unsigned)c->uid, srv->cfg.idle_timeout_ms);
        srv->stats.connections_idle_closed++;
    }
    cd_conn_close(c);
}

/* Restarts the between-objects idle clock (not the one of a partial object, which only a
 * completed object restarts). */
static void conn_touch(cd_conn *c)
{
    if (c->refuse || c->closing || c->timing_partial) return;
    uv_timer_start(&c->idle, on_idle_timeout, c->srv->cfg.idle_timeout_ms, 0);
}

/* Answers an object that will not be unpacked: with an error if its msgid can be read, and
 * closes the connection, since the stream cannot be resynchronised past it. */
static void conn_reject_object(cd_conn *c, cd_scan_result r)
{
    uint32_t msgid;
    const char *p = c->in + c->in_off;
    size_t n = c->in_len - c->in_off;
    cd_info("rejecting a request: %s", cd_scan_result_name(r));
    if (cd_prescan_msgid(p, n, &msgid)) {
        claimd_code code = r == CD_SCAN_MALFORMED ? CLAIMD_E_BAD_REQUEST : CLAIMD_E_TOO_LARGE;
        const char *msg = r == CD_SCAN_TOO_DEEP ? "request nested too deeply"
                        : r == CD_SCAN_TOO_LARGE ? "request larger than the limit"
                        : "request is not valid MessagePack";
        cd_call *call = cd_call_new_error(c->srv, c, msgid, code, msg);
        if (call) {
            call->start_ns = (int64_t)uv_hrtime();
            conn_reply(c, call);
        }
    }
    c->in_off = c->in_len;
    c->close_after_flush = 1;
}

/* Skips the whole object of len bytes at the front of the input, which will not be unpacked;
 * returns an error call for it (code, msg) to be answered in order (a notification's is only
 * logged), or NULL when it is neither a request with a readable msgid nor a notification. */
static cd_call *conn_skip_object(cd_conn *c, size_t len, claimd_code code, const char *msg)
{
    uint32_t msgid = 0;
    const unsigned char *p = (const unsigned char *)c->in + c->in_off;
    int have = cd_prescan_msgid(c->in + c->in_off, len, &msgid);
    /* A client notification [2, method, params] (fixarray 3, then 2) gets no reply either way. */
    int notification = !have && len > 2 && p[0] == 0x93 && p[1] == 0x02;
    cd_info("not unpacking a request of %zu bytes: %s", len, msg);
    c->in_off += len;
    if (!have && !notification) return NULL;
    cd_call *call = cd_call_new_error(c->srv, c, msgid, code, msg);
    if (call) call->notification = notification;
    return call;
}

/* A call that ran off the loop (writer or thread pool) is back, its in-flight count already
 * taken down: answer it and go on reading, or drop it when the connection has gone. */
static void conn_deferred_done(cd_conn *c, cd_call *call)
{
    cd_server *srv = c->srv;   /* conn_maybe_free may free c */
    if (c->closing) {
        conn_call_free(c, call);
        conn_maybe_free(c);
        cd_server_maybe_finish(srv);
        return;
    }
    conn_reply(c, call);
    conn_process(c);
    if (srv->stopping) cd_server_maybe_finish(srv);
}

/* A call back from the thread pool (readpool.h): answer it, then go on with the connection. */
static void conn_pool_done(cd_call *call)
{
    cd_conn *c = call->conn;
    c->slow_in_flight = 0;
    conn_deferred_done(c, call);
}

/* Runs a read whose turn has come: a slow one goes to the thread pool (1: conn_pool_done
 * answers it; the connection takes nothing more meanwhile, so replies keep request order),
 * anything else runs here (0: the caller answers it). */
static int conn_start_read(cd_conn *c, cd_call *call)
{
    if (!call->err && cd_dispatch_off_loop(call)) {
        c->slow_in_flight = 1;
        if (cd_readpool_submit(c->srv, call, conn_pool_done) == 0) return 1;
        c->slow_in_flight = 0;
        cd_fail(call, CLAIMD_E_INTERNAL, NULL, "cannot start background work");
    }
    if (!call->err) cd_dispatch_read(call);
    return 0;
}

/* A read parked for the index may go on (indexer.h): run it, or answer it when its wait failed
 * (its error set) or its connection is closing. */
static void conn_ix_resumed(cd_call *call)
{
    cd_conn *c = call->conn;
    c->slow_in_flight = 0;
    if (!call->err && !c->closing && conn_start_read(c, call)) return;
    conn_deferred_done(c, call);
}

/* Parks a read of the indexes, or one with a min_seq, until the index (or the commits) get there
 * (cd_indexer_park): the connection waits as for a slow call. 1 when parked. */
static int conn_park_for_index(cd_conn *c, cd_call *call)
{
    cd_server *srv = c->srv;
    if (!srv->writer || !cd_indexer_park(cd_writer_indexer(srv->writer), call, conn_ix_resumed)) return 0;
    c->slow_in_flight = 1;
    return 1;
}

/* Runs a call that is not a write (or an early error) now and queues its reply; a read of the
 * indexes first waits for the index pass, and a slow call goes to the thread pool, the
 * connection waiting for it either way. */
static void conn_run_now(cd_conn *c, cd_call *call)
{
    if (!call->err && ((call->method->flags & CD_M_INDEXED) || call->min_seq) && conn_park_for_index(c, call)) return;
    if (conn_start_read(c, call)) return;
    conn_reply(c, call);
}

static void conn_update_reading(cd_conn *c)
{
    int want = conn_wants_input(c);
    int mem_blocked = !c->closing && !c->eof && conn_mem_blocked(c);
    if (mem_blocked != c->mem_waiting) {
        c->mem_waiting = mem_blocked;
        if (mem_blocked) {
            c->srv->stats.memory_paused++;
            uv_timer_start(&c->mem_wait, on_mem_wait, MEM_RETRY_MS, MEM_RETRY_MS);
        } else {
            uv_timer_stop(&c->mem_wait);
            /* the wait was the budget's: a partial request's clock starts again */
            if (c->timing_partial)
                uv_timer_start(&c->idle, on_idle_timeout, c->srv->cfg.request_timeout_ms, 0);
        }
    }
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read) == 0) c->reading = 1;
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->pipe);
        c->reading = 0;
    }
}

/* Whether the next buffered object may be taken now: nothing it must wait behind (a held read,
 * a slow call, the write window) and room for its reply. */
static int conn_may_take(const cd_conn *c)
{
    return !c->held && !c->slow_in_flight && !c->close_after_flush && c->in_off < c->in_len &&
           c->writes_in_flight < MAX_WRITES_PER_CONN &&
           c->out_unsent + c->out.size < c->srv->cfg.max_output && conn_mem_allows(c);
}

/* Bytes the peer has sent that are still in the socket's receive queue (0 when unknown). */
static size_t conn_unread_in_socket(cd_conn *c)
{
    uv_os_fd_t fd;
    int n = 0;
    if (uv_fileno((uv_handle_t *)&c->pipe, &fd) || ioctl(fd, FIONREAD, &n) < 0 || n < 0) return 0;
    return (size_t)n;
}

static void conn_process(cd_conn *c)
{
    cd_server *srv = c->srv;
    if (c->closing) return;
    if (c->held && !c->writes_in_flight) {
        cd_call *call = c->held;
        c->held = NULL;
        conn_run_now(c, call);
    }
    /* stopped on an incomplete object; kept from the last scan when nothing may be taken now */
    int partial = c->partial && c->in_off < c->in_len;
    int progressed = 0; /* at least one whole object was taken in this pass */
    /* Taking objects and flushing alternate until neither can go on: a flush that drains the
     * output at once (uv_try_write) calls no callback, so the requests already buffered must be
     * taken here or nothing would ever take them (the connection would hang). */
    for (;;) {
        while (conn_may_take(c)) {
            size_t len;
            uint64_t elements;
            /* Headers announcing more than one element per 4 bytes of --max-request are refused
             * before the body comes (the stream cannot be followed past them). */
            cd_scan_result r = cd_prescan_counted(c->in + c->in_off, c->in_len - c->in_off,
                                                  srv->cfg.max_request, srv->cfg.max_depth,
                                                  srv->cfg.max_request / 4, &len, &elements);
            partial = r == CD_SCAN_NEED_MORE;
            if (partial) break;
            if (r != CD_SCAN_OK) { conn_reject_object(c, r); break; }
            progressed = 1;
            /* A whole object that will not be unpacked is answered and skipped: too many values
             * for its bytes (each costs a msgpack_object, 24 bytes, however small it was on the
             * wire), or more than the budget has left. */
            size_t cost = cd_call_cost(len, elements);
            cd_call *call;
            if (elements > cd_call_max_values(len)) {
                call = conn_skip_object(c, len, CLAIMD_E_TOO_LARGE,
                                        "request holds more values than its size allows (at most one per 2 bytes past 65536)");
            } else if (!c->refuse && !srv->stopping && cost > MEM_FLOOR &&
                       srv->mem_used + cost > srv->cfg.memory_budget) {
                srv->stats.memory_busy++;
                call = conn_skip_object(c, len, CLAIMD_E_BUSY,
                                        "the daemon's memory budget is in use; retry later");
            } else {
                call = cd_call_new(srv, c, c->in + c->in_off, len);
                c->in_off += len;
                if (call) {
                    call->mem_charge = cost;
                    c->mem_calls += cost;
                    conn_account(c);
                }
            }
            if (!call) {
                cd_info("closing a connection that sent something that is not a request");
                c->close_after_flush = 1;
                break;
            }
            call->start_ns = (int64_t)uv_hrtime();
            if (c->refuse) {
                cd_fail(call, CLAIMD_E_BUSY, NULL, "%s; retry later", c->refuse_why);
                c->close_after_flush = 1;
            } else if (srv->stopping) {
                /* Received before the shutdown took everything in: answered, not dropped. */
                cd_fail(call, CLAIMD_E_BUSY, NULL, "shutting down");
            }
            if (cd_dispatch_prepare(call, c->role) == 0 && (call->method->flags & CD_M_WRITE)) {
                c->writes_in_flight++;
                cd_writer_submit(srv->writer, call);
                continue;
            }
            if (c->writes_in_flight) { c->held = call; break; }
            conn_run_now(c, call);
        }
        conn_flush(c, 1);
        if (c->closing) return;
        if (partial || !conn_may_take(c)) break;
    }
    if (c->in_off == c->in_len) c->in_off = c->in_len = 0;
    if (c->in_cap > IN_SHRINK_ABOVE && c->in_len - c->in_off < IN_MIN_CAP) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
        char *n = realloc(c->in, IN_MIN_CAP);
        if (n) { c->in = n; c->in_cap = IN_MIN_CAP; }
        conn_account(c);
    }
    /* A partial object starts its own clock, which only a completed object restarts: bytes
     * trickled into one object do not. Otherwise the between-objects clock runs, restarted by
     * every completed object and every reply written. */
    if (c->refuse) {
        /* its one-second clock from accept runs on */
    } else if (partial && !c->close_after_flush) {
        if (progressed || !c->timing_partial || !uv_is_active((uv_handle_t *)&c->idle)) {
            c->timing_partial = 1;
            uv_timer_start(&c->idle, on_idle_timeout, srv->cfg.request_timeout_ms, 0);
        }
    } else if (c->timing_partial || progressed || !uv_is_active((uv_handle_t *)&c->idle)) {
        c->timing_partial = 0;
        conn_touch(c);
    }
    c->partial = partial;
    conn_big_request(c, partial && !c->close_after_flush);
    conn_flush(c, 1);
    if (c->closing) return;
    /* At shutdown a connection closes once everything it sent has been answered, including what
     * still waits in the socket (read and answered busy); a partial object is not a request. */
    if ((c->close_after_flush || c->eof || (srv->stopping && !conn_unread_in_socket(c))) &&
        !cd_conn_busy(c)) {
        cd_conn_close(c);
        cd_server_maybe_finish(srv);
        return;
    }
    conn_update_reading(c);
    conn_enforce_budget(srv);
}

/* ---- writer results and server hooks ----------------------------------------------------- */

void cd_conn_write_done(cd_call *call)
{
    cd_conn *c = call->conn;
    cd_server *srv = c->srv;   /* conn_maybe_free may free c */
    if (!call->err) {
        for (size_t i = 0; i < call->nchanges; i++)
            if (strcmp(call->changes[i].op, "entity.merge") == 0) { cd_entity_ref_cache_clear(&srv->ref_gen); break; }
        cd_subs_publish(srv, call);
        if (call->nchanges) cd_publish_kick(srv->publisher);
    }
    c->writes_in_flight--;
    conn_deferred_done(c, call);
}

void cd_conn_stop_reading_all(cd_server *srv)
{
    for (cd_conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        conn_process(c);
    }
}

/* The role of the peer: admin for root and our own user, write for a process holding the
 * writers group (peer_groups.h). */
static cd_role peer_role(cd_server *srv, int fd, uid_t *uid_out)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return CD_ROLE_READ;
    *uid_out = cred.uid;
    if (cred.uid == 0 || cred.uid == srv->self_uid) return CD_ROLE_ADMIN;
    if (!srv->have_writers_gid) return CD_ROLE_READ;
    return cd_peer_has_group(fd, cred.uid, cred.gid, srv->writers_gid) ? CD_ROLE_WRITE : CD_ROLE_READ;
}

/* Whether the new connection c (already in the list) is over a limit, and which (into why).
 * Refused connections do not count against anyone. Admins (root, the daemon's user) may take
 * every slot; writers all but the last half of the reserved ones; readers none of the reserved;
 * a non-admin uid at most max_per_uid. One walk of the list: accepts are rare next to requests. */
static int conn_refusal(cd_server *srv, const cd_conn *c, char *why, size_t n)
{
    const cd_config *cfg = &srv->cfg;
    unsigned admitted = 0, same_uid = 0;
    for (const cd_conn *o = srv->conns; o; o = o->next) {
        if (o == c || o->refuse || o->closing) continue;
        admitted++;
        if (o->uid == c->uid) same_uid++;
    }
    unsigned limit = cfg->max_connections;
    if (c->role == CD_ROLE_WRITE) limit -= cfg->reserved_connections / 2;
    else if (c->role < CD_ROLE_WRITE) limit -= cfg->reserved_connections;
    if (admitted >= cfg->max_connections) {
        snprintf(why, n, "too many connections (%u)", cfg->max_connections);
        return 1;
    }
    if (admitted >= limit) {
        snprintf(why, n, "the last connection slots are reserved for %s",
                 c->role == CD_ROLE_WRITE ? "admins" : "writers and admins");
        return 1;
    }
    if (c->role < CD_ROLE_ADMIN && same_uid >= cfg->max_per_uid) {
        snprintf(why, n, "too many connections from uid %u (%u)", (unsigned)c->uid, cfg->max_per_uid);
        return 1;
    }
    return 0;
}

void cd_conn_accept(cd_server *srv)
{
    cd_conn *c = calloc(1, sizeof *c);
    if (!c) return;
    c->srv = srv;
    msgpack_sbuffer_init(&c->out);
    uv_pipe_init(srv->loop, &c->pipe, 0);
    uv_timer_init(srv->loop, &c->idle);
    uv_timer_init(srv->loop, &c->mem_wait);
    c->pipe.data = c->idle.data = c->mem_wait.data = c;
    c->open_handles = 3;
    c->next = srv->conns;
    if (srv->conns) srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    srv->stats.connections_total++;
    if (uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)&c->pipe)) {
        cd_conn_close(c);
        return;
    }
    uv_os_fd_t fd;
    uv_fileno((uv_handle_t *)&c->pipe, &fd);
    c->role = peer_role(srv, fd, &c->uid);
    if (conn_refusal(srv, c, c->refuse_why, sizeof c->refuse_why)) {
        /* Answer its first request with busy; one that sends nothing goes after a second,
         * so silent connections cannot hold descriptors past the limit. */
        c->refuse = 1;
        srv->stats.connections_refused++;
        cd_info("refusing a connection from uid %u: %s", (unsigned)c->uid, c->refuse_why);
        uv_timer_start(&c->idle, on_idle_timeout, 1000, 0);
    } else {
        conn_touch(c);
    }
    cd_debug("connection from uid %u with role %s", (unsigned)c->uid, cd_role_name(c->role));
    conn_update_reading(c);
}

struct cd_sub **cd_conn_subs(cd_conn *c) { return &c->subs; }

cd_conn *cd_conn_next(cd_server *srv, cd_conn *c) { return c ? c->next : srv->conns; }

size_t cd_conn_backlog(const cd_conn *c) { return c->out.size + c->out_unsent; }

void cd_conn_push(cd_conn *c, const char *bytes, size_t len)
{
    if (c->closing) return;
    msgpack_sbuffer_write(&c->out, bytes, len);
    conn_flush(c, 0);   /* its completion resumes requests that waited for output room */
    conn_account(c);
    conn_enforce_budget(c->srv);
}
