/* libFuzzer harness for libclaimd's reply decoder, client/codec.c (make fuzz-reply).
 *
 * The input is a byte stream as the daemon might send it. It is fed to a cd_client_reader whole,
 * one byte at a time, and in pieces whose sizes come from the input itself; every way must give
 * the same messages, which must also match what the pure cd_client_decode_message gives when
 * walked over the buffer directly, and the same final verdict (clean end, waiting for more, or
 * broken). Each decoded tree is read completely and packed back, and the packed bytes must decode
 * to an identical tree. A small reader bound (64 bytes) is run too: it may refuse, never crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                      \
    do {                                                                                 \
        if (!(cond)) {                                                                   \
            fprintf(stderr, "fuzz_reply: check failed at line %d: %s\n", __LINE__, #cond); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

#define MAX_MSGS 64
#define MAX_BYTES ((size_t)1 << 20)

/* A message reduced to comparable bytes: kind, msgid, method and the packed trees. */
typedef struct {
    int kind;
    uint32_t msgid;
    msgpack_sbuffer packed;
} summary;

/* Reads every node (so that ASan sees any bad pointer) and packs the tree. */
static void pack_tree(msgpack_packer *pk, const claimd_value *v)
{
    if (!v) {
        msgpack_pack_nil(pk);
        return;
    }
    size_t len = claimd_value_len(v);
    if (v->type == CLAIMD_T_STR || v->type == CLAIMD_T_BIN) {
        CHECK(v->as.str[len] == '\0');
    } else if (v->type == CLAIMD_T_MAP) {
        for (size_t i = 0; i < len; i++) {
            CHECK(claimd_value_key_at(v, i) != NULL && claimd_value_val_at(v, i) != NULL);
            const char *k = claimd_value_str(claimd_value_key_at(v, i), NULL);
            if (k && strlen(k) == claimd_value_key_at(v, i)->len)
                CHECK(claimd_value_get(v, k) != NULL);
        }
    }
    CHECK(cd_client_pack_value(pk, v) == 0);
    /* The packed form decodes to a tree that packs to the same bytes. */
    msgpack_sbuffer a, b;
    msgpack_sbuffer_init(&a);
    msgpack_sbuffer_init(&b);
    msgpack_packer pa, pb;
    msgpack_packer_init(&pa, &a, msgpack_sbuffer_write);
    msgpack_packer_init(&pb, &b, msgpack_sbuffer_write);
    CHECK(cd_client_pack_value(&pa, v) == 0);
    claimd_value *again = NULL;
    CHECK(claimd_value_decode(a.data, a.size, &again) == CLAIMD_OK);
    CHECK(cd_client_pack_value(&pb, again) == 0);
    CHECK(a.size == b.size && memcmp(a.data, b.data, a.size) == 0);
    claimd_value_free(again);
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
}

static void summarise(const cd_client_msg *m, summary *s)
{
    s->kind = m->kind;
    s->msgid = m->msgid;
    msgpack_sbuffer_init(&s->packed);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &s->packed, msgpack_sbuffer_write);
    if (m->kind == CD_CLIENT_RESPONSE) {
        CHECK((m->error == NULL) != (m->result == NULL));
        CHECK(m->method == NULL && m->params == NULL);
        pack_tree(&pk, m->error);
        pack_tree(&pk, m->result);
    } else {
        CHECK(m->kind == CD_CLIENT_NOTIFICATION);
        CHECK(m->method && m->params && m->params->type == CLAIMD_T_ARRAY);
        msgpack_pack_str_with_body(&pk, m->method, strlen(m->method));
        pack_tree(&pk, m->params);
    }
}

/* Feeds data to a reader in pieces; piece i has size sizes[i % nsizes] (0 means all). Returns
 * the final state: 0 all consumed, 1 waiting for more, -1 broken. */
static int run_reader(const uint8_t *data, size_t size, size_t max_bytes, const size_t *sizes,
                      size_t nsizes, summary *out, size_t *nout)
{
    cd_client_reader r;
    cd_client_reader_init(&r, max_bytes, CD_CLIENT_MAX_DEPTH);
    size_t off = 0, piece = 0;
    int state = 0;
    *nout = 0;
    while (off < size && state >= 0) {
        size_t n = sizes[piece++ % nsizes];
        if (n == 0 || n > size - off) n = size - off;
        CHECK(cd_client_reader_feed(&r, data + off, n) == 0);
        off += n;
        cd_client_msg m;
        memset(&m, 0, sizeof m);
        while ((state = cd_client_reader_next(&r, &m)) == 1) {
            if (*nout < MAX_MSGS) summarise(&m, &out[(*nout)++]);
            cd_client_msg_clear(&m);
        }
        CHECK(m.result == NULL && m.error == NULL && m.params == NULL && m.method == NULL);
    }
    if (state == 0 && r.off != r.len) state = 1;
    if (state < 0) CHECK(r.failed && r.errstr[0]);
    cd_client_reader_free(&r);
    return state;
}

/* The same stream decoded with the pure function alone. */
static int run_pure(const uint8_t *data, size_t size, summary *out, size_t *nout)
{
    size_t off = 0;
    *nout = 0;
    while (off < size) {
        cd_client_msg m;
        memset(&m, 0, sizeof m);
        size_t used = 0;
        char err[160];
        int rc = cd_client_decode_message((const char *)data + off, size - off, MAX_BYTES,
                                          CD_CLIENT_MAX_DEPTH, &m, &used, err, sizeof err);
        if (rc <= 0) return rc == 0 ? 1 : -1;
        CHECK(used >= 1 && used <= size - off);
        if (*nout < MAX_MSGS) summarise(&m, &out[(*nout)++]);
        cd_client_msg_clear(&m);
        off += used;
    }
    return 0;
}

static void same(const summary *a, size_t na, const summary *b, size_t nb)
{
    CHECK(na == nb);
    for (size_t i = 0; i < na; i++) {
        CHECK(a[i].kind == b[i].kind && a[i].msgid == b[i].msgid);
        CHECK(a[i].packed.size == b[i].packed.size &&
              memcmp(a[i].packed.data, b[i].packed.data, a[i].packed.size) == 0);
    }
}

static void release(summary *s, size_t n)
{
    for (size_t i = 0; i < n; i++) msgpack_sbuffer_destroy(&s[i].packed);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static summary whole[MAX_MSGS], bytes[MAX_MSGS], pieces[MAX_MSGS], pure[MAX_MSGS];
    size_t nw, nb, np, nq;
    const size_t all[] = {0}, one[] = {1};
    size_t varied[4] = {1, 1, 1, 1};
    for (size_t i = 0; i < 4 && i < size; i++) varied[i] = 1 + data[i] % 37;

    int sw = run_reader(data, size, MAX_BYTES, all, 1, whole, &nw);
    int sb = run_reader(data, size, MAX_BYTES, one, 1, bytes, &nb);
    int sp = run_reader(data, size, MAX_BYTES, varied, 4, pieces, &np);
    int sq = run_pure(data, size, pure, &nq);
    CHECK(sw == sb && sw == sp && sw == sq);
    same(whole, nw, bytes, nb);
    same(whole, nw, pieces, np);
    same(whole, nw, pure, nq);
    release(whole, nw);
    release(bytes, nb);
    release(pieces, np);
    release(pure, nq);

    /* A tight bound: refusals are fine, crashes and leaks are not. */
    run_reader(data, size, 64, varied, 4, whole, &nw);
    release(whole, nw);

    claimd_value *v = NULL;
    int rc = claimd_value_decode(data, size, &v);
    CHECK(rc == CLAIMD_OK || rc == CLAIMD_E_PROTOCOL);
    CHECK((rc == CLAIMD_OK) == (v != NULL));
    claimd_value_free(v);
    return 0;
}
