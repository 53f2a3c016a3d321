/* libFuzzer harness for the daemon's request decoding: daemon/call.c (envelope, client
 * notifications) and daemon/wire_values.c (bin as text, integral floats, duplicate keys), fed
 * through common/prescan.c as the daemon does (make fuzz-request).
 *
 * Each complete object the prescan accepts becomes a call; when its envelope is good the params
 * are normalized. Whatever the bytes: no crash, and after a successful pass the tree holds no bin
 * that is valid UTF-8, no float with an integral value within 2^53, and no map with two equal
 * str keys; after a failed pass the error is `invalid` with a field. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>

#include "call.h"
#include "prescan.h"
#include "text.h"
#include "wire_values.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_request: check failed at line %d: %s\n", __LINE__, #cond); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

static void check_tree(const msgpack_object *o)
{
    switch (o->type) {
    case MSGPACK_OBJECT_BIN:
        CHECK(!cd_text_valid_utf8(o->via.bin.ptr, o->via.bin.size));
        break;
    case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64: {
        double v = o->via.f64;
        CHECK(!(isfinite(v) && v == trunc(v) && fabs(v) <= 9007199254740992.0));
        break;
    }
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < o->via.array.size; i++) check_tree(&o->via.array.ptr[i]);
        break;
    case MSGPACK_OBJECT_MAP:
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            const msgpack_object *k = &o->via.map.ptr[i].key;
            CHECK(k->type != MSGPACK_OBJECT_BIN);   /* a non-UTF-8 bin key is refused */
            check_tree(k);
            check_tree(&o->via.map.ptr[i].val);
            if (k->type != MSGPACK_OBJECT_STR) continue;
            for (uint32_t j = 0; j < i; j++) {
                const msgpack_object *e = &o->via.map.ptr[j].key;
                CHECK(!(e->type == MSGPACK_OBJECT_STR && e->via.str.size == k->via.str.size &&
                        memcmp(e->via.str.ptr, k->via.str.ptr, k->via.str.size) == 0));
            }
        }
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data;
    size_t off = 0;
    while (off < size) {
        size_t len;
        if (cd_prescan_bounded(p + off, size - off, 1 << 20, 32, 1 << 18, &len) != CD_SCAN_OK) break;
        cd_call *c = cd_call_new(NULL, NULL, p + off, len);
        off += len;
        if (!c) continue;
        if (!c->err) {
            CHECK(c->params.type == MSGPACK_OBJECT_MAP || c->params.type == MSGPACK_OBJECT_NIL);
            int rc = cd_wire_normalize(c, &c->params);
            if (rc == 0) {
                CHECK(c->err == CLAIMD_OK);
                check_tree(&c->params);
            } else {
                CHECK(c->err == CLAIMD_E_INVALID && c->err_field != NULL);
                CHECK(cd_text_valid_utf8(c->err_field, strlen(c->err_field)));
            }
        }
        msgpack_sbuffer out;
        msgpack_sbuffer_init(&out);
        if (!c->notification) cd_call_encode_reply(c, &out);
        msgpack_sbuffer_destroy(&out);
        cd_call_free(c);
    }
    return 0;
}
