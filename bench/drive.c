/* drive: load generation against the daemon.
 *
 * Like redis-benchmark, one thread drives every connection: it sends a burst of `depth`
 * requests on each, polls, and when a connection turns readable takes the replies that arrived,
 * sending the next burst once all replies of the previous one are in. With depth 1 that is N
 * clients each waiting for its answer; with depth 16 it is redis-benchmark's -P 16. One thread
 * keeps the client's CPU cost low and comparable to redis-benchmark's on a 2-core machine, where
 * client and server share the cores.
 *
 * The connections speak msgpack-rpc directly (params built with libclaimd's args builder):
 * libclaimd's blocking context may read a reply into its own buffer while flushing, which a
 * poll() on its descriptor cannot see, so it cannot be multiplexed this way. Single-client
 * figures use libclaimd itself (call_loop). */
#include <errno.h>
#include <msgpack.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "bench.h"

claimd_ctx *bench_connect(const char *sock)
{
    claimd_ctx *ctx = claimd_new();
    if (!ctx || claimd_connect(ctx, sock) != CLAIMD_OK) {
        fprintf(stderr, "claimbench: cannot connect to %s: %s\n", sock,
                ctx ? claimd_errstr(ctx) : "out of memory");
        exit(1);
    }
    return ctx;
}

int probe_method(claimd_ctx *ctx, const char *method, const claimd_args *a, claimd_value **res)
{
    claimd_value *v = NULL;
    int rc = claimd_call(ctx, method, a, &v);
    if (res) *res = v;
    else claimd_value_free(v);
    return rc;
}

uint64_t claimd_stat(const char *sock, const char *key)
{
    claimd_ctx *ctx = bench_connect(sock);
    claimd_value *v = NULL;
    uint64_t n = 0;
    if (claimd_call(ctx, "stats", NULL, &v) == CLAIMD_OK) n = claimd_value_get_uint(v, key, 0);
    claimd_value_free(v);
    claimd_free(ctx);
    return n;
}

double claimd_wait_rest(const char *sock, double limit_s)
{
    int64_t t0 = now_ns();
    claimd_ctx *ctx = bench_connect(sock);
    double waited = -1;
    for (;;) {
        claimd_value *v = NULL;
        int rest = 0;
        if (claimd_call(ctx, "stats", NULL, &v) != CLAIMD_OK ||
            claimd_value_bool(claimd_value_get(v, "index_at_rest"), &rest)) {
            claimd_value_free(v);
            break;
        }
        claimd_value_free(v);
        double s = (double)(now_ns() - t0) / 1e9;
        if (rest) { waited = s; break; }
        if (s > limit_s) break;
        sleep_ms(20);
    }
    claimd_free(ctx);
    return waited;
}

size_t packed_size(const claimd_value *v)
{
    claimd_args *a = claimd_args_new();
    size_t len = 0;
    if (!a) return 0;
    claimd_args_value(a, "v", v);
    const void *p = claimd_args_data(a, &len);
    claimd_args_free(a);
    /* Minus the one-pair map header and the key "v" around it. */
    return p && len > 3 ? len - 3 : 0;
}

/* ---- one raw connection ------------------------------------------------------------------ */

typedef struct {
    int fd;
    msgpack_unpacker up;
    msgpack_sbuffer out;
    uint32_t msgid;
    int outstanding;          /* replies of the current burst still to come */
    int64_t sent_at;
} rconn;

static int rconn_open(rconn *c, const char *sock)
{
    memset(c, 0, sizeof *c);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(sock) >= sizeof sa.sun_path) return -1;
    memcpy(sa.sun_path, sock, strlen(sock) + 1);
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        fprintf(stderr, "claimbench: cannot connect to %s: %s\n", sock, strerror(errno));
        return -1;
    }
    msgpack_unpacker_init(&c->up, 64 * 1024);
    msgpack_sbuffer_init(&c->out);
    return 0;
}

static void rconn_close(rconn *c)
{
    if (c->fd >= 0) close(c->fd);
    msgpack_unpacker_destroy(&c->up);
    msgpack_sbuffer_destroy(&c->out);
}

/* Packs [0, msgid, method, [params]] into the output buffer. */
static void rconn_append(rconn *c, const char *method, claimd_args *a)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, &c->out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint8(&pk, 0);
    msgpack_pack_uint32(&pk, c->msgid++);
    size_t mlen = strlen(method);
    msgpack_pack_str(&pk, mlen);
    msgpack_pack_str_body(&pk, method, mlen);
    size_t plen = 0;
    const void *params = claimd_args_data(a, &plen);
    if (params && plen) {
        msgpack_pack_array(&pk, 1);
        msgpack_sbuffer_write(&c->out, params, plen);
    } else {
        msgpack_pack_array(&pk, 0);
    }
}

static int rconn_send(rconn *c)
{
    size_t off = 0;
    while (off < c->out.size) {
        ssize_t n = send(c->fd, c->out.data + off, c->out.size - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        off += (size_t)n;
    }
    msgpack_sbuffer_clear(&c->out);
    return 0;
}

/* Reads what arrived and counts complete replies; errors go into out. -1 on a dead socket. */
static int rconn_read(rconn *c, bench_drive_result *out, int *replies)
{
    *replies = 0;
    if (msgpack_unpacker_buffer_capacity(&c->up) < 16 * 1024 &&
        !msgpack_unpacker_reserve_buffer(&c->up, 64 * 1024))
        return -1;
    ssize_t n = recv(c->fd, msgpack_unpacker_buffer(&c->up), msgpack_unpacker_buffer_capacity(&c->up),
                     MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
    if (n <= 0) return -1;
    msgpack_unpacker_buffer_consumed(&c->up, (size_t)n);
    msgpack_unpacked res;
    msgpack_unpacked_init(&res);
    int rc;
    while ((rc = msgpack_unpacker_next(&c->up, &res)) == MSGPACK_UNPACK_SUCCESS) {
        const msgpack_object *o = &res.data;
        if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 4 ||
            o->via.array.ptr[0].via.u64 != 1) {
            fprintf(stderr, "claimbench: a reply that is not a msgpack-rpc response\n");
            msgpack_unpacked_destroy(&res);
            return -1;
        }
        const msgpack_object *err = &o->via.array.ptr[2];
        if (err->type != MSGPACK_OBJECT_NIL && !out->errors++) {
            out->first_error = CLAIMD_E_INTERNAL;
            for (uint32_t i = 0; err->type == MSGPACK_OBJECT_MAP && i < err->via.map.size; i++) {
                const msgpack_object_kv *kv = &err->via.map.ptr[i];
                if (kv->key.type != MSGPACK_OBJECT_STR || kv->val.type != MSGPACK_OBJECT_STR) continue;
                if (kv->key.via.str.size == 4 && !memcmp(kv->key.via.str.ptr, "code", 4))
                    out->first_error = (int)claimd_code_from_name(kv->val.via.str.ptr, kv->val.via.str.size);
                if (kv->key.via.str.size == 7 && !memcmp(kv->key.via.str.ptr, "message", 7))
                    snprintf(out->first_errstr, sizeof out->first_errstr, "%.*s",
                             (int)kv->val.via.str.size, kv->val.via.str.ptr);
            }
        }
        (*replies)++;
    }
    msgpack_unpacked_destroy(&res);
    return rc == MSGPACK_UNPACK_PARSE_ERROR ? -1 : 0;
}

/* ---- the driver -------------------------------------------------------------------------- */

int drive(const char *sock, size_t nconn, int depth, const char *method, bench_make_fn make,
          void *arg, double seconds, uint64_t max_requests, bench_drive_result *out)
{
    memset(out, 0, sizeof *out);
    rconn *c = calloc(nconn, sizeof *c);
    struct pollfd *pfd = calloc(nconn, sizeof *pfd);
    claimd_args *a = claimd_args_new();
    if (!c || !pfd || !a) { fprintf(stderr, "claimbench: out of memory\n"); exit(1); }
    uint64_t seq = 0;
    int rc = 0;
    size_t opened = 0, active = 0;
    for (; opened < nconn; opened++)
        if (rconn_open(&c[opened], sock)) { rc = -1; goto done; }
    int64_t start = now_ns(), deadline = start + (int64_t)(seconds * 1e9), end = start;
    for (size_t i = 0; i < nconn; i++) {
        for (int k = 0; k < depth; k++) {
            claimd_args_reset(a);
            make(arg, i, seq++, a);
            rconn_append(&c[i], method, a);
        }
        c[i].outstanding = depth;
        c[i].sent_at = now_ns();
        if (rconn_send(&c[i])) { rc = -1; goto done; }
        pfd[i] = (struct pollfd){ c[i].fd, POLLIN, 0 };
        active++;
    }
    while (active) {
        int pr = poll(pfd, nconn, 10000);
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) {
            fprintf(stderr, "claimbench: %s: no reply from the daemon within 10 s\n", method);
            rc = -1;
            goto done;
        }
        for (size_t i = 0; i < nconn; i++) {
            if (pfd[i].fd < 0 || !pfd[i].revents) continue;
            int got;
            if (rconn_read(&c[i], out, &got)) {
                fprintf(stderr, "claimbench: %s: connection to the daemon failed\n", method);
                rc = -1;
                goto done;
            }
            c[i].outstanding -= got;
            out->done += (uint64_t)got;
            end = now_ns();
            for (int k = 0; k < got; k++) lat_add(&out->lat, end - c[i].sent_at);
            if (c[i].outstanding > 0) continue;
            if (end < deadline && (!max_requests || seq < max_requests)) {
                for (int k = 0; k < depth; k++) {
                    claimd_args_reset(a);
                    make(arg, i, seq++, a);
                    rconn_append(&c[i], method, a);
                }
                c[i].outstanding = depth;
                c[i].sent_at = now_ns();
                if (rconn_send(&c[i])) { rc = -1; goto done; }
            } else {
                pfd[i].fd = -1;
                active--;
            }
        }
    }
    out->seconds = (double)(end - start) / 1e9;
done:
    for (size_t i = 0; i < opened; i++) rconn_close(&c[i]);
    claimd_args_free(a);
    free(c);
    free(pfd);
    return rc;
}

int call_loop(const char *sock, const char *method, bench_make_fn make, void *arg, double seconds,
              uint64_t max_requests, bench_drive_result *out)
{
    memset(out, 0, sizeof *out);
    claimd_ctx *ctx = bench_connect(sock);
    claimd_args *a = claimd_args_new();
    int64_t start = now_ns(), deadline = start + (int64_t)(seconds * 1e9), t = start;
    int rc = 0;
    for (uint64_t i = 0; t < deadline && (!max_requests || i < max_requests); i++) {
        claimd_args_reset(a);
        make(arg, 0, i, a);
        claimd_value *v = NULL;
        int64_t t0 = now_ns();
        int r = claimd_call(ctx, method, a, &v);
        t = now_ns();
        claimd_value_free(v);
        lat_add(&out->lat, t - t0);
        out->done++;
        if (r == CLAIMD_E_IO || r == CLAIMD_E_PROTOCOL) {
            fprintf(stderr, "claimbench: %s: %s\n", method, claimd_errstr(ctx));
            rc = -1;
            break;
        }
        if (r && !out->errors++) {
            out->first_error = r;
            snprintf(out->first_errstr, sizeof out->first_errstr, "%s", claimd_errstr(ctx));
        }
    }
    out->seconds = (double)(t - start) / 1e9;
    claimd_args_free(a);
    claimd_free(ctx);
    return rc;
}
