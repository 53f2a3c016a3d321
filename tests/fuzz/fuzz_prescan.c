/* libFuzzer harness for common/prescan.c (build and run: make fuzz-prescan).
 *
 * Runs cd_prescan on the input under several limits and cross-checks it against msgpack-c, the
 * decoder it guards: an OK object must decode with exactly object_len bytes (through both
 * msgpack_unpack, as the daemon calls it, and msgpack_unpack_next, as the client does); every
 * proper prefix of it must be NEED_MORE; a MALFORMED or NEED_MORE verdict must match msgpack-c's.
 * msgpack-c is only run where the verdict bounds its allocations by the input size (max_bytes no
 * more than the input length), since unbounded headers are exactly what it cannot survive.
 * cd_prescan_msgid is checked against the decoded envelope. Any disagreement aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <msgpack.h>
#include "prescan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                       \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            fprintf(stderr, "fuzz_prescan: check failed at line %d: %s\n", __LINE__, #cond); \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

/* The decoded envelope's msgid as cd_prescan_msgid should see it; 0 if none. */
static int expected_msgid(const msgpack_object *o, uint32_t *id)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size < 2) return 0;
    const msgpack_object *e = o->via.array.ptr;
    if (e[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || e[0].via.u64 != 0) return 0;
    if (e[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || e[1].via.u64 > UINT32_MAX) return 0;
    *id = (uint32_t)e[1].via.u64;
    return 1;
}

/* An OK verdict of object_len bytes: both msgpack-c entry points decode exactly that. */
static void check_decodes(const char *buf, size_t object_len)
{
    msgpack_zone zone;
    msgpack_object obj;
    size_t off = 0;
    CHECK(msgpack_zone_init(&zone, 4096));
    CHECK(msgpack_unpack(buf, object_len, &off, &zone, &obj) == MSGPACK_UNPACK_SUCCESS);
    CHECK(off == object_len);

    uint32_t want = 0, got = 0;
    int has = expected_msgid(&obj, &want);
    CHECK(cd_prescan_msgid(buf, object_len, &got) == has);
    CHECK(!has || got == want);
    msgpack_zone_destroy(&zone);

    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    off = 0;
    CHECK(msgpack_unpack_next(&up, buf, object_len, &off) == MSGPACK_UNPACK_SUCCESS);
    CHECK(off == object_len);
    msgpack_unpacked_destroy(&up);
}

/* What msgpack_unpack says about buf[0..len). */
static msgpack_unpack_return msgpack_verdict(const char *buf, size_t len)
{
    msgpack_zone zone;
    msgpack_object obj;
    size_t off = 0;
    CHECK(msgpack_zone_init(&zone, 4096));
    msgpack_unpack_return r = msgpack_unpack(buf, len, &off, &zone, &obj);
    msgpack_zone_destroy(&zone);
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *buf = (const char *)data;
    /* depth stays within msgpack-c's own nesting limit (32), so OK must mean decodable. */
    const struct { size_t max; unsigned depth; } limits[] = {
        { SIZE_MAX, 32 }, { (size_t)16 << 20, 32 }, { size, 32 }, { size / 2 + 1, 8 },
        { 64, 4 }, { 1, 1 }, { size, 0 },
    };
    size_t ok_len = 0;
    int ok_seen = 0;

    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        size_t max = limits[i].max, len = 0;
        unsigned depth = limits[i].depth;
        cd_scan_result r = cd_prescan(buf, size, max, depth, &len);
        CHECK((unsigned)r <= CD_SCAN_MALFORMED);
        CHECK(cd_scan_result_name(r) != NULL);

        if (r == CD_SCAN_OK) {
            CHECK(len >= 1 && len <= size && len <= max);
            CHECK(!ok_seen || len == ok_len);   /* the limits never change the length */
            ok_seen = 1, ok_len = len;
            check_decodes(buf, len);
            size_t again = 0;
            CHECK(cd_prescan(buf, len, max, depth, &again) == CD_SCAN_OK && again == len);
            CHECK(cd_prescan(buf, len - 1, max, depth, &again) == CD_SCAN_NEED_MORE);
            CHECK(cd_prescan(buf, len / 2, max, depth, &again) == CD_SCAN_NEED_MORE);
            CHECK(cd_prescan(buf, size, SIZE_MAX, 32, &again) == CD_SCAN_OK && again == len);
        } else if (r == CD_SCAN_NEED_MORE) {
            size_t unused;
            CHECK(cd_prescan(buf, size / 2, max, depth, &unused) == CD_SCAN_NEED_MORE);
            if (max <= size && depth == 32) CHECK(msgpack_verdict(buf, size) == MSGPACK_UNPACK_CONTINUE);
        } else if (r == CD_SCAN_MALFORMED && max <= size && depth == 32) {
            CHECK(msgpack_verdict(buf, size) == MSGPACK_UNPACK_PARSE_ERROR);
        }
    }
    return 0;
}
