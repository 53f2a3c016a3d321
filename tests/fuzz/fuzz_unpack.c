/* libFuzzer harness for what unpacking a request costs (make fuzz-unpack): the path every byte
 * from a client takes before a method sees it, as conn.c runs it.
 *
 * The input is a byte stream as a client might send it. It is cut into objects with
 * cd_prescan_counted under the daemon's limits; each whole object within the element rule
 * (at most max(65536, bytes / 2) values) is unpacked with cd_call_new, its envelope read, and an
 * error reply encoded for it. Checked: the pre-scanner's length and value count agree with
 * msgpack-c's own decoder, every object takes at least one byte per value, and what cd_call_new
 * allocated (the zone's chunks, measured with the sanitizer allocator) stays within
 * cd_call_cost, the figure the memory budget charges. Objects past the element rule must not be
 * unpacked, as in the daemon. */
#include <sanitizer/allocator_interface.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "call.h"
#include "prescan.h"
#include "server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                        \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fprintf(stderr, "fuzz_unpack: check failed at line %d: %s\n", __LINE__, #cond); \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

#define MAX_REQUEST ((size_t)1 << 20)
#define MAX_DEPTH 32

/* Bytes the call's zone holds: every chunk is one malloc'd block whose first word links the
 * next (msgpack-c's zone.c; the struct is opaque in its header). */
static size_t zone_bytes(msgpack_zone *z)
{
    size_t n = 0;
    for (void *ch = z->chunk_list.head; ch; ch = *(void **)ch)
        n += __sanitizer_get_allocated_size(ch);
    return n;
}

/* Values in the tree under o, o included (recursion is bounded by the depth limit). */
static uint64_t count_values(const msgpack_object *o)
{
    uint64_t n = 1;
    if (o->type == MSGPACK_OBJECT_ARRAY)
        for (uint32_t i = 0; i < o->via.array.size; i++) n += count_values(&o->via.array.ptr[i]);
    else if (o->type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < o->via.map.size; i++)
            n += count_values(&o->via.map.ptr[i].key) + count_values(&o->via.map.ptr[i].val);
    return n;
}

/* msgpack-c's view of the object at p: its length and its number of values. */
static void reference(const char *p, size_t len, size_t *used, uint64_t *values)
{
    msgpack_zone z;
    msgpack_object o;
    size_t off = 0;
    CHECK(msgpack_zone_init(&z, 4096));
    CHECK(msgpack_unpack(p, len, &off, &z, &o) == MSGPACK_UNPACK_SUCCESS);
    *used = off;
    *values = count_values(&o);
    msgpack_zone_destroy(&z);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cd_server srv;   /* cd_call_new only records it */
    const char *buf = (const char *)data;
    size_t off = 0;
    while (off < size) {
        size_t len = 0;
        uint64_t values = 0;
        cd_scan_result r = cd_prescan_counted(buf + off, size - off, MAX_REQUEST, MAX_DEPTH,
                                              MAX_REQUEST / 4, &len, &values);
        if (r != CD_SCAN_OK) break;
        CHECK(len > 0 && len <= size - off);
        CHECK(values >= 1 && values <= len);
        size_t ref_len;
        uint64_t ref_values;
        reference(buf + off, len, &ref_len, &ref_values);
        CHECK(ref_len == len);
        CHECK(ref_values == values);
        if (values <= cd_call_max_values(len)) {
            cd_call *c = cd_call_new(&srv, NULL, buf + off, len);
            if (c) {
                CHECK(zone_bytes(&c->zone) <= cd_call_cost(len, values));
                if (c->method_name.n) CHECK(c->method_name.p != NULL);
                if (!c->err) cd_fail(c, CLAIMD_E_BUSY, NULL, "fuzz");
                msgpack_sbuffer out;
                msgpack_sbuffer_init(&out);
                cd_call_encode_reply(c, &out);
                CHECK(out.size > 0);
                msgpack_sbuffer_destroy(&out);
                cd_call_free(c);
            }
        }
        off += len;
    }
    return 0;
}
