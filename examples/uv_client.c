/* uv_client: libclaimd without blocking, driven by a libuv event loop.
 *
 * The program owns the socket (a uv_pipe_t); libclaimd only encodes requests into buffers the
 * program writes (claimd_encode_request) and decodes whatever bytes libuv hands over
 * (claimd_reader). It pipelines ping, subscribe and claim.put without waiting between them,
 * waits for the put's reply and its change notification, reads the claim back with claim.get,
 * and prints one line per step. A timer shows the loop stays free: it ticks while the daemon
 * works.
 *
 *   uv_client [--socket PATH] [--read-size N] [TEXT]
 *
 * PATH defaults to $CLAIMD_SOCKET; --read-size makes libuv read N bytes at a time (1 feeds the
 * reader byte by byte). Build: cc uv_client.c $(pkg-config --cflags --libs claimd libuv)
 * Exit status: 0 when every step worked, 1 otherwise. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <claimd.h>
#include <uv.h>

enum { MSG_PING, MSG_SUBSCRIBE, MSG_PUT, MSG_GET };

typedef struct {
    uv_pipe_t pipe;
    uv_connect_t connect;
    uv_timer_t ticker;
    claimd_reader *reader;
    size_t read_size;
    const char *text;
    uint64_t claim_id;        /* from the put's reply */
    uint64_t changed_id;      /* from the change notification */
    int sent_get;
    int ticks;
    int status;               /* the exit status: 1 until claim.get has answered */
} client;

static void on_close(uv_handle_t *h) { (void)h; }

static void finish(client *c, int status)
{
    c->status = status;
    claimd_reader_free(c->reader);
    c->reader = NULL;
    if (!uv_is_closing((uv_handle_t *)&c->pipe)) uv_close((uv_handle_t *)&c->pipe, on_close);
    if (!uv_is_closing((uv_handle_t *)&c->ticker)) uv_close((uv_handle_t *)&c->ticker, on_close);
}

static void on_written(uv_write_t *req, int status)
{
    if (status < 0) fprintf(stderr, "uv_client: write: %s\n", uv_strerror(status));
    free(req->data);
    free(req);
}

/* Encodes method(params) as request msgid and queues it on the pipe; libuv writes it when it
 * can. Returns 0 or -1. */
static int send_call(client *c, uint32_t msgid, const char *method, const claimd_args *params)
{
    size_t len = 0;
    if (claimd_encode_request(NULL, 0, &len, msgid, method, params) != CLAIMD_E_NOMEM) return -1;
    char *buf = malloc(len);
    uv_write_t *req = malloc(sizeof *req);
    if (!buf || !req || claimd_encode_request(buf, len, &len, msgid, method, params) != CLAIMD_OK) {
        free(buf);
        free(req);
        return -1;
    }
    req->data = buf;
    uv_buf_t b = uv_buf_init(buf, (unsigned)len);
    if (uv_write(req, (uv_stream_t *)&c->pipe, &b, 1, on_written) < 0) {
        free(buf);
        free(req);
        return -1;
    }
    return 0;
}

/* Once both the put's reply and its change are in, reads the claim back. */
static void maybe_get(client *c)
{
    if (c->sent_get || !c->claim_id || !c->changed_id) return;
    if (c->changed_id != c->claim_id) {
        fprintf(stderr, "uv_client: change for claim %llu, expected %llu\n",
                (unsigned long long)c->changed_id, (unsigned long long)c->claim_id);
        finish(c, 1);
        return;
    }
    claimd_args *a = claimd_args_new();
    claimd_args_uint(a, "id", c->claim_id);
    c->sent_get = 1;
    if (send_call(c, MSG_GET, "claim.get", a) < 0) finish(c, 1);
    claimd_args_free(a);
}

static void on_reply(client *c, claimd_message *m)
{
    const claimd_value *r = claimd_message_result(m);
    if (claimd_message_code(m) != CLAIMD_OK) {
        fprintf(stderr, "uv_client: reply %u: %s: %s\n", claimd_message_msgid(m),
                claimd_code_name((claimd_code)claimd_message_code(m)),
                claimd_value_get_str(claimd_message_error(m), "message"));
        finish(c, 1);
        return;
    }
    switch (claimd_message_msgid(m)) {
    case MSG_PING:
        printf("ping version=%s protocol=%llu\n", claimd_value_get_str(r, "version"),
               (unsigned long long)claimd_value_get_uint(r, "protocol", 0));
        break;
    case MSG_SUBSCRIBE:
        printf("subscribed subscription=%llu\n",
               (unsigned long long)claimd_value_get_uint(r, "subscription", 0));
        break;
    case MSG_PUT: {
        int created = 0;
        claimd_value_bool(claimd_value_get(r, "created"), &created);
        c->claim_id = claimd_value_get_uint(r, "id", 0);
        printf("put id=%llu created=%d\n", (unsigned long long)c->claim_id, created);
        maybe_get(c);
        break;
    }
    case MSG_GET:
        printf("get id=%llu text=%s\n", (unsigned long long)claimd_value_get_uint(r, "id", 0),
               claimd_value_get_str(r, "text"));
        printf("ticks while waiting: %s\n", c->ticks > 0 ? "yes" : "none needed");
        finish(c, 0);
        break;
    }
}

static void on_notification(client *c, claimd_message *m)
{
    const claimd_value *change = claimd_value_at(claimd_message_params(m), 0);
    if (strcmp(claimd_message_method(m), "change") != 0) return;
    printf("change op=%s type=%s id=%llu\n", claimd_value_get_str(change, "op"),
           claimd_value_get_str(change, "type"),
           (unsigned long long)claimd_value_get_uint(change, "id", 0));
    c->changed_id = claimd_value_get_uint(change, "id", 0);
    maybe_get(c);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    client *c = h->data;
    size_t n = c->read_size ? c->read_size : suggested;
    buf->base = malloc(n);
    buf->len = buf->base ? n : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    client *c = s->data;
    if (n < 0) {
        fprintf(stderr, "uv_client: read: %s\n", uv_strerror((int)n));
        finish(c, 1);
    } else if (n > 0 && c->reader) {
        int rc = claimd_reader_feed(c->reader, buf->base, (size_t)n);
        claimd_message *m;
        /* finish() frees the reader, so check it after each message. */
        while (rc == CLAIMD_OK && c->reader &&
               (rc = claimd_reader_next(c->reader, &m)) == CLAIMD_OK && m) {
            if (claimd_message_type_of(m) == CLAIMD_MSG_REPLY) on_reply(c, m);
            else on_notification(c, m);
            claimd_message_free(m);
        }
        if (rc != CLAIMD_OK && c->reader) {
            fprintf(stderr, "uv_client: %s\n", claimd_reader_errstr(c->reader));
            finish(c, 1);
        }
    }
    free(buf->base);
}

static void on_connect(uv_connect_t *req, int status)
{
    client *c = req->data;
    if (status < 0) {
        fprintf(stderr, "uv_client: connect: %s\n", uv_strerror(status));
        finish(c, 1);
        return;
    }
    uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
    /* Three requests at once, no waiting in between: replies come back in this order. */
    claimd_args *sub = claimd_args_new();
    claimd_args_begin_array(sub, "ops");
    claimd_args_str(sub, NULL, "claim.create");
    claimd_args_end(sub);
    claimd_args *put = claimd_args_new();
    claimd_claim cl = CLAIMD_CLAIM_INIT;
    cl.text = c->text;
    cl.speaker = "uv_client";
    claimd_args_claim(put, NULL, &cl);
    if (send_call(c, MSG_PING, "ping", NULL) < 0 ||
        send_call(c, MSG_SUBSCRIBE, "subscribe", sub) < 0 ||
        send_call(c, MSG_PUT, "claim.put", put) < 0) {
        fprintf(stderr, "uv_client: cannot queue the requests\n");
        finish(c, 1);
    }
    claimd_args_free(sub);
    claimd_args_free(put);
}

static void on_tick(uv_timer_t *t)
{
    client *c = t->data;
    if (++c->ticks > 10000) { /* 10 s without an answer */
        fprintf(stderr, "uv_client: timed out\n");
        finish(c, 1);
    }
}

int main(int argc, char **argv)
{
    client c;
    memset(&c, 0, sizeof c);
    c.status = 1;
    c.text = "A claim recorded from a libuv event loop";
    const char *path = getenv("CLAIMD_SOCKET");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--socket") && i + 1 < argc) path = argv[++i];
        else if (!strcmp(argv[i], "--read-size") && i + 1 < argc)
            c.read_size = strtoul(argv[++i], NULL, 10);
        else c.text = argv[i];
    }
    if (!path || !*path) {
        fprintf(stderr, "uv_client: no socket (--socket PATH or $CLAIMD_SOCKET)\n");
        return 2;
    }
    int major = 0, minor = 0, patch = 0;
    claimd_version_numbers(&major, &minor, &patch);
    printf("library %d.%d.%d\n", major, minor, patch);
    if (major != CLAIMD_VERSION_MAJOR || minor < CLAIMD_VERSION_MINOR) {
        fprintf(stderr, "uv_client: built for libclaimd %d.%d, running with %s\n",
                CLAIMD_VERSION_MAJOR, CLAIMD_VERSION_MINOR, claimd_version());
        return 1;
    }

    uv_loop_t *loop = uv_default_loop();
    c.reader = claimd_reader_new(0);
    if (!c.reader) return 1;
    uv_pipe_init(loop, &c.pipe, 0);
    c.pipe.data = &c;
    uv_timer_init(loop, &c.ticker);
    c.ticker.data = &c;
    uv_timer_start(&c.ticker, on_tick, 1, 1);
    c.connect.data = &c;
    uv_pipe_connect(&c.connect, &c.pipe, path, on_connect);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    claimd_reader_free(c.reader);
    fflush(stdout);
    return c.status;
}
