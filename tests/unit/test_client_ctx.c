/* test_client_ctx: libclaimd's blocking context against a scripted fake daemon (a forked child
 * on a temp socket), so connection handling is tested without the real daemon: call results and
 * daemon errors, pipelining in order (also with megabytes in flight both ways), notifications,
 * timeouts, a peer that closes or sends garbage, reconnecting, and the typed helpers' requests. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "tap.h"

/* ---- the fake daemon ---- */

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return;
        }
        p += w;
        n -= (size_t)w;
    }
}

static void pack_str(msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Looks up a string key in a msgpack map object. */
static const msgpack_object *field(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP) return NULL;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(key) &&
            memcmp(k->via.str.ptr, key, k->via.str.size) == 0)
            return &map->via.map.ptr[i].val;
    }
    return NULL;
}

static int str_is(const msgpack_object *o, const char *s)
{
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
           memcmp(o->via.str.ptr, s, o->via.str.size) == 0;
}

static void pack_notification(msgpack_packer *pk, uint64_t seq)
{
    msgpack_pack_array(pk, 3);
    msgpack_pack_uint8(pk, 2);
    pack_str(pk, "change");
    msgpack_pack_array(pk, 1);
    msgpack_pack_map(pk, 1);
    pack_str(pk, "seq");
    msgpack_pack_uint64(pk, seq);
}

/* Answers one request. Returns 0, or -1 to drop the connection. */
static int answer(int fd, const msgpack_object *req)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    const msgpack_object *e = req->via.array.ptr;
    uint32_t id = (uint32_t)e[1].via.u64;
    const msgpack_object *m = &e[2];
    const msgpack_object *params = e[3].via.array.size ? &e[3].via.array.ptr[0] : NULL;
    int rc = 0;

    if (str_is(m, "close")) {
        msgpack_sbuffer_destroy(&sb);
        return -1;
    }
    if (str_is(m, "hold")) {
        msgpack_sbuffer_destroy(&sb);
        return 0;
    }
    if (str_is(m, "garbage")) {
        write_all(fd, "\x94\x01\xc1", 3);
        msgpack_sbuffer_destroy(&sb);
        return 0;
    }
    if (str_is(m, "notify")) pack_notification(&pk, 1);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint32(&pk, str_is(m, "wrongid") ? id + 1 : id);
    if (str_is(m, "fail")) {
        msgpack_pack_map(&pk, 4);
        pack_str(&pk, "code"); pack_str(&pk, "conflict");
        pack_str(&pk, "message"); pack_str(&pk, "duplicate of claim 42");
        pack_str(&pk, "field"); pack_str(&pk, "external_id");
        pack_str(&pk, "id"); msgpack_pack_uint8(&pk, 42);
        msgpack_pack_nil(&pk);
    } else if (str_is(m, "strerr")) {
        pack_str(&pk, "plain failure");
        msgpack_pack_nil(&pk);
    } else if (str_is(m, "claim.put") && !field(params, "text")) {
        msgpack_pack_map(&pk, 3);
        pack_str(&pk, "code"); pack_str(&pk, "invalid");
        pack_str(&pk, "message"); pack_str(&pk, "text is required");
        pack_str(&pk, "field"); pack_str(&pk, "text");
        msgpack_pack_nil(&pk);
    } else if (str_is(m, "claim.put")) {
        msgpack_pack_nil(&pk);
        msgpack_pack_map(&pk, 3);
        /* id 5 for a verbatim quote from a named speaker, else 6: proves what was sent */
        int good = str_is(field(params, "speaker"), "Peskov") && !field(params, "quote") &&
                   str_is(field(params, "on_duplicate"), "skip");
        pack_str(&pk, "id"); msgpack_pack_uint8(&pk, good ? 5 : 6);
        pack_str(&pk, "rev"); msgpack_pack_uint8(&pk, 1);
        pack_str(&pk, "created"); msgpack_pack_true(&pk);
    } else if (str_is(m, "claim.import")) {
        const msgpack_object *claims = field(params, "claims");
        uint32_t n = claims && claims->type == MSGPACK_OBJECT_ARRAY ? claims->via.array.size : 0;
        msgpack_pack_nil(&pk);
        msgpack_pack_map(&pk, 1);
        pack_str(&pk, "results");
        msgpack_pack_array(&pk, n);
        for (uint32_t i = 0; i < n; i++) {
            if (str_is(field(&claims->via.array.ptr[i], "text"), "bad")) {
                msgpack_pack_map(&pk, 1);
                pack_str(&pk, "error");
                msgpack_pack_map(&pk, 2);
                pack_str(&pk, "code"); pack_str(&pk, "invalid");
                pack_str(&pk, "message"); pack_str(&pk, "bad text");
            } else {
                msgpack_pack_map(&pk, 2);
                pack_str(&pk, "id"); msgpack_pack_uint32(&pk, 100 + i);
                pack_str(&pk, "created"); msgpack_pack_int(&pk, 0); /* not a bool: created 0 */
            }
        }
    } else if (str_is(m, "verdict.add")) {
        msgpack_pack_nil(&pk);
        msgpack_pack_map(&pk, 2);
        const msgpack_object *claim = field(params, "claim");
        int good = claim && claim->via.u64 == 5 && str_is(field(params, "rating"), "false") &&
                   !field(params, "label") && field(params, "score") &&
                   field(params, "score")->via.u64 == 1 && field(params, "evidence") &&
                   field(params, "evidence")->via.array.size == 1;
        pack_str(&pk, "id"); msgpack_pack_uint8(&pk, good ? 9 : 8);
        pack_str(&pk, "claim_rev"); msgpack_pack_uint8(&pk, 2);
    } else if (str_is(m, "burst")) {
        msgpack_pack_nil(&pk);
        msgpack_pack_true(&pk);
        for (uint64_t s = 1; s <= 5; s++) pack_notification(&pk, s);
    } else {
        /* echo: the params map, or nil */
        msgpack_pack_nil(&pk);
        if (params) msgpack_pack_object(&pk, *params);
        else msgpack_pack_nil(&pk);
    }
    write_all(fd, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    return rc;
}

static void serve(int lfd)
{
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) continue;
        msgpack_unpacker up;
        msgpack_unpacker_init(&up, 1 << 16);
        msgpack_unpacked res;
        msgpack_unpacked_init(&res);
        int open = 1;
        while (open) {
            msgpack_unpacker_reserve_buffer(&up, 1 << 16);
            ssize_t n = read(fd, msgpack_unpacker_buffer(&up), 1 << 16);
            if (n <= 0) break;
            msgpack_unpacker_buffer_consumed(&up, (size_t)n);
            while (open && msgpack_unpacker_next(&up, &res) == MSGPACK_UNPACK_SUCCESS)
                if (answer(fd, &res.data) < 0) open = 0;
        }
        msgpack_unpacked_destroy(&res);
        msgpack_unpacker_destroy(&up);
        close(fd);
    }
}

static pid_t server_pid;
static char dir[64], sock[100];

static void start_server(void)
{
    snprintf(dir, sizeof dir, "/tmp/claimd-ctx-XXXXXX");
    if (!mkdtemp(dir)) exit(2);
    snprintf(sock, sizeof sock, "%s/s.sock", dir);
    int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(lfd, 16) < 0) exit(2);
    server_pid = fork();
    if (server_pid == 0) {
        /* Never outlive the test, even when it crashes. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        alarm(120);
        signal(SIGPIPE, SIG_IGN); /* the client must not need this: it sends with MSG_NOSIGNAL */
        serve(lfd);
    }
    close(lfd);
}

static void stop_server(void)
{
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
    unlink(sock);
    rmdir(dir);
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- tests ---- */

static void test_connect(void)
{
    claimd_ctx *c = claimd_new();
    is_int(claimd_connect(c, "/nonexistent/claimd.sock"), CLAIMD_E_IO, "missing socket: io");
    ok(strstr(claimd_errstr(c), "/nonexistent/claimd.sock") != NULL, "errstr names the path: %s",
       claimd_errstr(c));
    is_int(claimd_call(c, "ping", NULL, NULL), CLAIMD_E_IO, "the connect error is sticky");
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    is_int(claimd_connect(c, longpath), CLAIMD_E_USAGE, "too long path: usage");
    setenv("CLAIMD_SOCKET", sock, 1);
    is_int(claimd_connect(c, NULL), CLAIMD_OK, "NULL path uses $CLAIMD_SOCKET, reconnects");
    is_int(claimd_connect(c, NULL), CLAIMD_E_USAGE, "connecting twice: usage");
    ok(claimd_fd(c) >= 0, "fd available");
    claimd_free(c);
    unsetenv("CLAIMD_SOCKET");
}

static void test_calls(claimd_ctx *c)
{
    claimd_args *a = claimd_args_new();
    claimd_args_str(a, "word", "hello");
    claimd_value *r = NULL;
    is_int(claimd_call(c, "echo", a, &r), CLAIMD_OK, "call");
    is_str(claimd_value_get_str(r, "word"), "hello", "result tree");
    claimd_value_free(r);
    is_int(claimd_call(c, "echo", NULL, &r), CLAIMD_OK, "call without params");
    ok(r && r->type == CLAIMD_T_NIL, "nil result is a nil value, not NULL");
    claimd_value_free(r);

    r = (claimd_value *)1;
    is_int(claimd_call(c, "fail", a, &r), CLAIMD_E_CONFLICT, "daemon error code");
    ok(r == NULL, "no result on error");
    is_str(claimd_errstr(c), "duplicate of claim 42", "errstr is the daemon's message");
    is_str(claimd_error_field(c), "external_id", "error field");
    is_int((long long)claimd_error_id(c), 42, "error id");
    is_str(claimd_value_get_str(claimd_error_value(c), "code"), "conflict", "error map");
    is_int(claimd_call(c, "echo", a, NULL), CLAIMD_OK, "a daemon error does not stick");
    ok(claimd_errcode(c) == CLAIMD_OK && claimd_error_field(c) == NULL && claimd_error_id(c) == 0,
       "and is cleared by the next call");
    is_int(claimd_call(c, "strerr", NULL, NULL), CLAIMD_E_INTERNAL, "string error: internal");
    is_str(claimd_errstr(c), "plain failure", "with its text");

    claimd_args_begin_array(a, "open");
    is_int(claimd_call(c, "echo", a, NULL), CLAIMD_E_USAGE, "args with an open container: usage");
    is_int(claimd_call(c, "echo", NULL, NULL), CLAIMD_OK, "connection still fine");
    claimd_args_free(a);
}

static void test_pipeline(claimd_ctx *c)
{
    claimd_args *a = claimd_args_new();
    for (int i = 0; i < 200; i++) {
        claimd_args_reset(a);
        claimd_args_int(a, "i", i);
        claimd_append(c, i == 50 ? "fail" : "echo", a);
    }
    claimd_args_free(a);
    is_int((long long)claimd_pending(c), 200, "200 requests pending");
    is_int(claimd_call(c, "echo", NULL, NULL), CLAIMD_E_USAGE, "call refused while pending");
    int in_order = 1, fail_at = -1;
    for (int i = 0; i < 200; i++) {
        claimd_value *r = NULL;
        int rc = claimd_get_reply(c, &r);
        if (rc == CLAIMD_E_CONFLICT) fail_at = i;
        else if (rc != CLAIMD_OK || claimd_value_get_uint(r, "i", 999) != (uint64_t)i) in_order = 0;
        claimd_value_free(r);
    }
    ok(in_order, "replies in request order");
    is_int(fail_at, 50, "the failed request's error at its place");
    is_int(claimd_get_reply(c, NULL), CLAIMD_E_USAGE, "no reply pending: usage");

    /* ~20 MB each way: the echo server blocks on its writes unless the client reads while it
     * is still writing. */
    char *blob = malloc(10000);
    memset(blob, 'x', 10000);
    a = claimd_args_new();
    for (int i = 0; i < 2000; i++) {
        claimd_args_reset(a);
        claimd_args_strn(a, "blob", blob, 10000);
        claimd_args_int(a, "i", i);
        if (claimd_append(c, "echo", a)) break;
    }
    claimd_args_free(a);
    free(blob);
    int good = 0;
    for (int i = 0; i < 2000; i++) {
        claimd_value *r = NULL;
        if (claimd_get_reply(c, &r) == CLAIMD_OK &&
            claimd_value_get_uint(r, "i", 9999) == (uint64_t)i &&
            claimd_value_len(claimd_value_get(r, "blob")) == 10000)
            good++;
        claimd_value_free(r);
    }
    is_int(good, 2000, "20 MB pipelined both ways without deadlock");
}

static void test_notifications(claimd_ctx *c)
{
    char *method = NULL;
    claimd_value *params = NULL;
    is_int(claimd_call(c, "notify", NULL, NULL), CLAIMD_OK, "call preceded by a notification");
    is_int(claimd_next_notification(c, &method, &params, 0), CLAIMD_OK, "notification queued");
    is_str(method, "change", "its method");
    is_int((long long)claimd_value_get_uint(claimd_value_at(params, 0), "seq", 0), 1, "its params");
    free(method);
    claimd_value_free(params);
    double t0 = now_s();
    is_int(claimd_next_notification(c, &method, &params, 100), CLAIMD_OK, "waiting for none");
    double waited = now_s() - t0;
    ok(method == NULL && params == NULL && waited >= 0.09 && waited < 2, "nothing after %.2f s",
       waited);

    claimd_set_max_queued_notifications(c, 2);
    claimd_call(c, "burst", NULL, NULL);
    /* Take the burst off the socket: the call returned before the notifications arrived. */
    int got = 0;
    while (claimd_next_notification(c, &method, &params, 200) == CLAIMD_OK && method) {
        if (got == 0) ok(claimd_value_get_uint(claimd_value_at(params, 0), "seq", 0) == 1,
                         "oldest notification first");
        got++;
        free(method);
        claimd_value_free(params);
        if (got == 1) claimd_call(c, "echo", NULL, NULL); /* a call between two reads */
    }
    ok(got >= 2 && got <= 5, "burst delivered (%d)", got);
    ok(got + (int)claimd_notifications_dropped(c) == 5, "delivered + dropped = 5");
    claimd_set_max_queued_notifications(c, 65536);
}

static void test_failures(void)
{
    claimd_ctx *c = claimd_new();
    claimd_connect(c, sock);
    is_int(claimd_call(c, "close", NULL, NULL), CLAIMD_E_IO, "peer closes: io");
    ok(strstr(claimd_errstr(c), "closed") != NULL, "errstr: %s", claimd_errstr(c));
    is_int(claimd_call(c, "echo", NULL, NULL), CLAIMD_E_IO, "sticky after the connection broke");
    ok(claimd_fd(c) == -1, "socket closed");
    is_int(claimd_connect(c, sock), CLAIMD_OK, "reconnect");
    is_int(claimd_call(c, "echo", NULL, NULL), CLAIMD_OK, "works again");
    is_int(claimd_call(c, "garbage", NULL, NULL), CLAIMD_E_PROTOCOL, "garbage reply: protocol");
    claimd_free(c);

    c = claimd_new();
    claimd_connect(c, sock);
    is_int(claimd_call(c, "wrongid", NULL, NULL), CLAIMD_E_PROTOCOL, "reply msgid mismatch");
    claimd_free(c);

    c = claimd_new();
    claimd_set_timeout_ms(c, 150);
    claimd_connect(c, sock);
    double t0 = now_s();
    is_int(claimd_call(c, "hold", NULL, NULL), CLAIMD_E_IO, "no reply: timeout");
    double took = now_s() - t0;
    ok(took >= 0.14 && took < 2, "after the timeout (%.2f s): %s", took, claimd_errstr(c));
    claimd_free(c);

    c = claimd_new();
    is_int(claimd_call(c, "echo", NULL, NULL), CLAIMD_E_USAGE, "call before connect: usage");
    is_int(claimd_set_timeout_ms(c, -1), CLAIMD_E_USAGE, "negative timeout refused");
    claimd_free(c);
}

static void test_helpers(claimd_ctx *c)
{
    claimd_claim cl = {.struct_size = sizeof cl, .text = "No letter was received",
                       .speaker = "Peskov"};
    uint64_t id = 0, rev = 0;
    int created = 0;
    is_int(claimd_claim_put(c, &cl, "skip", &id, &rev, &created), CLAIMD_OK, "claim_put");
    ok(id == 5 && rev == 1 && created == 1, "id, rev, created (request as expected: id %llu)",
       (unsigned long long)id);
    claimd_claim none = CLAIMD_CLAIM_INIT;
    is_int(claimd_claim_put(c, &none, NULL, &id, NULL, NULL), CLAIMD_E_USAGE, "no text: usage");
    claimd_claim unsized = {0};
    unsized.text = "x";
    is_int(claimd_claim_put(c, &unsized, NULL, &id, NULL, NULL), CLAIMD_E_USAGE,
           "no struct_size: usage");

    claimd_value *v = NULL;
    is_int(claimd_claim_get(c, 77, &v), CLAIMD_OK, "claim_get");
    is_int((long long)claimd_value_get_uint(v, "id", 0), 77, "claim_get sends the id");
    claimd_value_free(v);

    uint64_t vid = 0;
    const char *evidence[] = {"https://example.org/e"};
    claimd_verdict vd = CLAIMD_VERDICT_INIT;
    vd.claim = 5;
    vd.rating = "false";
    vd.score = 1;
    vd.evidence = evidence;
    vd.n_evidence = 1;
    is_int(claimd_verdict_add(c, &vd, &vid), CLAIMD_OK, "verdict_add");
    is_int((long long)vid, 9, "verdict id (request as expected)");

    claimd_claim batch[3] = {{.struct_size = sizeof batch[0], .text = "a"},
                             {.struct_size = sizeof batch[0], .text = "bad"},
                             {.struct_size = sizeof batch[0], .text = "c"}};
    /* A caller compiled against a newer header: bigger results, a field this library lacks. */
    struct newer_result { claimd_import_result r; uint64_t future; } res[3];
    memset(res, 0xff, sizeof res);
    res[0].r.struct_size = sizeof res[0];
    size_t rejected = 0;
    claimd_value *reply = NULL;
    is_int(claimd_claim_import(c, batch, 3, NULL, &res[0].r, &rejected, &reply), CLAIMD_OK,
           "import");
    ok(res[0].r.id == 100 && res[0].r.code == CLAIMD_OK && res[1].r.id == 0 &&
           res[1].r.code == CLAIMD_E_INVALID && res[2].r.id == 102 && res[2].r.created == 0,
       "per-record results, strided by results[0].struct_size");
    ok(res[2].r.struct_size == sizeof res[0] && res[1].future == 0 && res[2].future == 0,
       "every struct_size set, the unknown field zeroed");
    is_int((long long)rejected, 1, "one rejected");
    is_str(claimd_value_get_str(
               claimd_value_get(claimd_value_at(claimd_value_get(reply, "results"), 1), "error"),
               "message"),
           "bad text", "full reply kept");
    claimd_value_free(reply);
}

int main(void)
{
    start_server();
    test_connect();
    claimd_ctx *c = claimd_new();
    if (claimd_connect(c, sock) != CLAIMD_OK) diag("connect: %s", claimd_errstr(c));
    test_calls(c);
    test_pipeline(c);
    test_notifications(c);
    test_helpers(c);
    claimd_free(c);
    test_failures();
    stop_server();
    return done_testing();
}
