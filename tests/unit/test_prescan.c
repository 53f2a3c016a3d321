/* Tests for common/prescan.c: every MessagePack format family, truncation at every prefix,
 * concatenated objects, hostile headers, depth limits, and msgid extraction. Where it helps,
 * results are cross-checked against msgpack-c's own decoder. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "prescan.h"
#include "tap.h"

#define MiB16 ((size_t)16 << 20)

typedef struct {
    const char *name;
    const char *bytes;
    size_t len;            /* length of the complete object */
} vector;

#define V(name, lit) { name, lit, sizeof(lit) - 1 }

/* One complete object per MessagePack format, with non-zero lengths where a length exists. */
static const vector formats[] = {
    V("positive fixint 0", "\x00"),
    V("positive fixint 127", "\x7f"),
    V("negative fixint -32", "\xe0"),
    V("negative fixint -1", "\xff"),
    V("nil", "\xc0"),
    V("false", "\xc2"),
    V("true", "\xc3"),
    V("fixmap empty", "\x80"),
    V("fixmap 1 pair", "\x81\x01\x02"),
    V("fixmap 15 pairs", "\x8f\x01\x01\x02\x02\x03\x03\x04\x04\x05\x05\x06\x06\x07\x07\x08\x08"
                         "\x09\x09\x0a\x0a\x0b\x0b\x0c\x0c\x0d\x0d\x0e\x0e\x0f\x0f"),
    V("fixarray empty", "\x90"),
    V("fixarray 2", "\x92\x01\x02"),
    V("fixstr empty", "\xa0"),
    V("fixstr 3", "\xa3" "abc"),
    V("fixstr 31", "\xbf" "0123456789012345678901234567890"),
    V("bin8", "\xc4\x02xy"),
    V("bin8 empty", "\xc4\x00"),
    V("bin16", "\xc5\x00\x02xy"),
    V("bin32", "\xc6\x00\x00\x00\x02xy"),
    V("ext8", "\xc7\x02\x05xy"),
    V("ext8 empty", "\xc7\x00\x05"),
    V("ext16", "\xc8\x00\x02\x05xy"),
    V("ext32", "\xc9\x00\x00\x00\x02\x05xy"),
    V("float32", "\xca\x3f\xc0\x00\x00"),
    V("float64", "\xcb\x3f\xf8\x00\x00\x00\x00\x00\x00"),
    V("uint8", "\xcc\xff"),
    V("uint16", "\xcd\xff\xff"),
    V("uint32", "\xce\xff\xff\xff\xff"),
    V("uint64", "\xcf\xff\xff\xff\xff\xff\xff\xff\xff"),
    V("int8", "\xd0\x80"),
    V("int16", "\xd1\x80\x00"),
    V("int32", "\xd2\x80\x00\x00\x00"),
    V("int64", "\xd3\x80\x00\x00\x00\x00\x00\x00\x00"),
    V("fixext1", "\xd4\x01" "a"),
    V("fixext2", "\xd5\x01" "ab"),
    V("fixext4", "\xd6\xff" "abcd"),
    V("fixext8", "\xd7\x01" "abcdefgh"),
    V("fixext16", "\xd8\x01" "abcdefghijklmnop"),
    V("str8", "\xd9\x03" "abc"),
    V("str16", "\xda\x00\x03" "abc"),
    V("str32", "\xdb\x00\x00\x00\x03" "abc"),
    V("array16", "\xdc\x00\x02\x01\x02"),
    V("array16 empty", "\xdc\x00\x00"),
    V("array32", "\xdd\x00\x00\x00\x02\x01\x02"),
    V("map16", "\xde\x00\x01\x01\x02"),
    V("map16 empty", "\xde\x00\x00"),
    V("map32", "\xdf\x00\x00\x00\x01\x01\x02"),
    V("nested mixed", "\x93\x81\xa1k\x92\xc0\xc3\xd4\x01z\xdc\x00\x01\x90"),
};

/* Bytes msgpack-c consumes for one object at buf, or 0 if it does not decode one. */
static size_t msgpack_consumed(const char *buf, size_t len)
{
    msgpack_unpacked u;
    size_t off = 0;
    msgpack_unpacked_init(&u);
    msgpack_unpack_return r = msgpack_unpack_next(&u, buf, len, &off);
    msgpack_unpacked_destroy(&u);
    return r == MSGPACK_UNPACK_SUCCESS ? off : 0;
}

/* 1 if every proper prefix of buf[0..len) scans as NEED_MORE. */
static int prefixes_need_more(const char *buf, size_t len, size_t max, unsigned depth)
{
    for (size_t k = 0; k < len; k++) {
        size_t olen = 12345;
        cd_scan_result r = cd_prescan(buf, k, max, depth, &olen);
        if (r != CD_SCAN_NEED_MORE || olen != 12345) {
            diag("prefix of %zu bytes: %s", k, cd_scan_result_name(r));
            return 0;
        }
    }
    return 1;
}

static void test_formats(void)
{
    for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
        const vector *v = &formats[i];
        size_t olen = 0;
        cd_scan_result r = cd_prescan(v->bytes, v->len, MiB16, 32, &olen);
        ok(r == CD_SCAN_OK && olen == v->len && msgpack_consumed(v->bytes, v->len) == v->len
               && prefixes_need_more(v->bytes, v->len, MiB16, 32),
           "%s: ok with %zu bytes (as msgpack-c), every prefix need_more", v->name, v->len);
    }
}

/* Every type byte but 0xc1 starts a value; with zero bytes after it, the length found must be
 * the one msgpack-c finds. */
static void test_every_type_byte(void)
{
    char buf[64] = { 0 };
    int bad = 0;
    for (int b = 0; b < 256; b++) {
        size_t olen = 0;
        buf[0] = (char)b;
        cd_scan_result r = cd_prescan(buf, sizeof buf, MiB16, 32, &olen);
        if (b == 0xc1) {
            if (r != CD_SCAN_MALFORMED) bad++, diag("0xc1: %s", cd_scan_result_name(r));
        } else if (r != CD_SCAN_OK || olen != msgpack_consumed(buf, sizeof buf)) {
            bad++;
            diag("type byte 0x%02x: %s, %zu bytes", b, cd_scan_result_name(r), olen);
        }
    }
    is_int(bad, 0, "all 256 type bytes: 0xc1 malformed, the rest agree with msgpack-c");
}

/* Builds a request with nested containers and every value family, the way a client would. */
static void pack_request(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint32(&pk, 0);
    msgpack_pack_uint32(&pk, 4000000000u);
    msgpack_pack_str_with_body(&pk, "claim.put", 9);
    msgpack_pack_array(&pk, 1);
    msgpack_pack_map(&pk, 6);
    msgpack_pack_str_with_body(&pk, "text", 4);
    const char *text = "Das Weiße Haus hat dazu nichts gesagt.";
    msgpack_pack_str_with_body(&pk, text, strlen(text));
    msgpack_pack_str_with_body(&pk, "tags", 4);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_str_with_body(&pk, "us", 2);
    msgpack_pack_nil(&pk);
    msgpack_pack_str_with_body(&pk, "n", 1);
    msgpack_pack_int64(&pk, -5000000000LL);
    msgpack_pack_str_with_body(&pk, "f", 1);
    msgpack_pack_double(&pk, 1.5);
    msgpack_pack_str_with_body(&pk, "b", 1);
    msgpack_pack_bin_with_body(&pk, "\x00\x01\x02", 3);
    msgpack_pack_str_with_body(&pk, "x", 1);
    msgpack_pack_ext_with_body(&pk, "abcde", 5, 7);
}

/* A 16-bit and a 32-bit header: 300 array elements, 70000 map pairs, a 70000-byte string. */
static void pack_big(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    static char text[70000];
    memset(text, 'w', sizeof text);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_array(&pk, 300);
    for (int i = 0; i < 300; i++) msgpack_pack_int(&pk, i);
    msgpack_pack_map(&pk, 70000);
    for (int i = 0; i < 70000; i++) { msgpack_pack_uint32(&pk, (uint32_t)i); msgpack_pack_true(&pk); }
    msgpack_pack_str_with_body(&pk, text, sizeof text);
}

static void test_composites(void)
{
    msgpack_sbuffer a, b;
    msgpack_sbuffer_init(&a);
    msgpack_sbuffer_init(&b);
    pack_request(&a);
    pack_big(&b);
    size_t olen = 0;

    ok(cd_prescan(a.data, a.size, MiB16, 32, &olen) == CD_SCAN_OK && olen == a.size,
       "packed request: ok with its %zu bytes", a.size);
    ok(prefixes_need_more(a.data, a.size, MiB16, 32), "packed request: every prefix need_more");
    ok(cd_prescan(b.data, b.size, MiB16, 32, &olen) == CD_SCAN_OK && olen == b.size,
       "array16/map32/str32 object: ok with its %zu bytes", b.size);
    int some_bad = 0;   /* every prefix of 500 KB is quadratic; sample them instead */
    for (size_t k = 0; k < b.size; k += 1 + k / 64)
        if (cd_prescan(b.data, k, MiB16, 32, &olen) != CD_SCAN_NEED_MORE) some_bad = 1;
    if (cd_prescan(b.data, b.size - 1, MiB16, 32, &olen) != CD_SCAN_NEED_MORE) some_bad = 1;
    ok(!some_bad, "array16/map32/str32 object: sampled prefixes need_more");

    /* Concatenated objects: only the first is measured. */
    msgpack_sbuffer_write(&a, b.data, b.size);
    olen = 0;
    ok(cd_prescan(a.data, a.size, MiB16, 32, &olen) == CD_SCAN_OK && olen == a.size - b.size,
       "two objects back to back: the length of the first only");
    ok(cd_prescan("\x01\x02", 2, MiB16, 32, &olen) == CD_SCAN_OK && olen == 1,
       "two fixints: length 1");
    ok(cd_prescan("\x91\x90\x91", 3, MiB16, 32, &olen) == CD_SCAN_OK && olen == 2,
       "[[]] followed by the start of another array: length 2");

    /* The limit is inclusive, and counts the whole object, not the bytes seen so far. */
    ok(cd_prescan(b.data, b.size, b.size, 32, &olen) == CD_SCAN_OK,
       "max_bytes equal to the object size: ok");
    is_int(cd_prescan(b.data, b.size, b.size - 1, 32, &olen), CD_SCAN_TOO_LARGE,
           "max_bytes one below the object size: too_large");
    is_int(cd_prescan(b.data, 1000, 100000, 32, &olen), CD_SCAN_TOO_LARGE,
           "max_bytes 100000: too_large decided in the first 1000 bytes (map of 70000 pairs)");
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
}

static void test_hostile(void)
{
    size_t olen = 777;
    is_int(cd_prescan("\xdd\xff\xff\xff\xff", 5, MiB16, 32, &olen), CD_SCAN_TOO_LARGE,
           "array32 of 4G elements: too_large from its header");
    is_int(olen, 777, "object_len untouched when not ok");
    is_int(cd_prescan("\xc6\xff\xff\xff\xff", 5, MiB16, 32, &olen), CD_SCAN_TOO_LARGE,
           "bin32 of 4 GiB: too_large");
    is_int(cd_prescan("\xdb\xff\xff\xff\xff", 5, MiB16, 32, &olen), CD_SCAN_TOO_LARGE,
           "str32 of 4 GiB: too_large");
    is_int(cd_prescan("\xc9\xff\xff\xff\xff\x01", 6, MiB16, 32, &olen), CD_SCAN_TOO_LARGE,
           "ext32 of 4 GiB: too_large");
    is_int(cd_prescan("\xdf\xff\xff\xff\xff", 5, MiB16, 32, &olen), CD_SCAN_TOO_LARGE,
           "map32 of 4G pairs: too_large");
    /* 8M elements fit in 16 MiB, but 8M pairs need 16M elements plus the header. */
    is_int(cd_prescan("\xdd\x00\x80\x00\x00", 5, MiB16, 32, &olen), CD_SCAN_NEED_MORE,
           "array32 of 8M elements under 16 MiB: need_more");
    is_int(cd_prescan("\xdf\x00\x80\x00\x00", 5, MiB16, 32, &olen), CD_SCAN_TOO_LARGE,
           "map32 of 8M pairs under 16 MiB: too_large (two bytes per pair)");
    is_int(cd_prescan("\x94\x00\x01\xa1m\x91\x91\xdd\xff\xff\xff\xff", 12, MiB16, 32, &olen),
           CD_SCAN_TOO_LARGE, "a huge array nested in a request: too_large");
    is_int(cd_prescan("\xdd\xff", 2, MiB16, 32, &olen), CD_SCAN_NEED_MORE,
           "array32 header cut short: need_more (count not known yet)");
    is_int(cd_prescan("\xdd\x00", 2, 3, 32, &olen), CD_SCAN_TOO_LARGE,
           "array32 header longer than max_bytes: too_large without waiting");

    /* Siblings still to come reserve one byte each: [bin(n), 0 x 9] in 20 bytes. */
    const char sib_ok[] = "\xdc\x00\x0a\xc4\x06" "abcdef" "\0\0\0\0\0\0\0\0\0";
    ok(cd_prescan(sib_ok, 20, 20, 32, &olen) == CD_SCAN_OK && olen == 20,
       "bin6 then 9 siblings in exactly 20 bytes: ok");
    is_int(cd_prescan(sib_ok, 8, 20, 32, &olen), CD_SCAN_NEED_MORE, "...its prefix: need_more");
    is_int(cd_prescan("\xdc\x00\x0a\xc4\x07", 5, 20, 32, &olen), CD_SCAN_TOO_LARGE,
           "bin7 with 9 siblings still to come in 20 bytes: too_large from the bin header");

    is_int(cd_prescan("\xc1", 1, MiB16, 32, &olen), CD_SCAN_MALFORMED, "0xc1: malformed");
    is_int(cd_prescan("\x92\x01\xc1", 3, MiB16, 32, &olen), CD_SCAN_MALFORMED,
           "0xc1 inside an array: malformed");
    is_int(cd_prescan("\x81\xc1", 2, MiB16, 32, &olen), CD_SCAN_MALFORMED,
           "0xc1 as a map key: malformed");
    is_int(cd_prescan("", 0, MiB16, 32, &olen), CD_SCAN_NEED_MORE, "empty buffer: need_more");
    is_int(cd_prescan(NULL, 0, MiB16, 32, &olen), CD_SCAN_NEED_MORE, "NULL, 0: need_more");
    is_int(cd_prescan("\x01", 1, 0, 32, &olen), CD_SCAN_TOO_LARGE, "max_bytes 0: too_large");
    ok(cd_prescan("\x01", 1, 1, 32, &olen) == CD_SCAN_OK && olen == 1, "max_bytes 1, fixint: ok");
    ok(cd_prescan("\x01", 1, 1, 32, NULL) == CD_SCAN_OK, "object_len may be NULL");

    /* Sizes near SIZE_MAX must not wrap: with no byte limit these are just incomplete. */
    is_int(cd_prescan("\xdd\xff\xff\xff\xff", 5, SIZE_MAX, 32, &olen), CD_SCAN_NEED_MORE,
           "array32 4G with max_bytes SIZE_MAX: need_more");
    is_int(cd_prescan("\xc6\xff\xff\xff\xff" "abc", 8, SIZE_MAX, 32, &olen), CD_SCAN_NEED_MORE,
           "bin32 4 GiB with max_bytes SIZE_MAX: need_more");
    is_int(cd_prescan("\xdf\xff\xff\xff\xff\xdf\xff\xff\xff\xff\xdf\xff\xff\xff\xff\xc6\xff\xff"
                      "\xff\xff", 20, SIZE_MAX, 32, &olen),
           CD_SCAN_NEED_MORE, "nested map32 4G x3 + bin32 with max_bytes SIZE_MAX: need_more");
#if SIZE_MAX > 0xffffffffu
    /* array32 of 2^32-1 elements takes 4 GiB + 4 bytes at least; 4 bytes of slack remain. */
    size_t max = (size_t)UINT64_C(0x100000008);
    is_int(cd_prescan("\xdd\xff\xff\xff\xff\xc4\x03", 7, max, 32, &olen), CD_SCAN_NEED_MORE,
           "array32 4G with bin8 of 3 as first element within 4 GiB + 8: need_more");
    is_int(cd_prescan("\xdd\xff\xff\xff\xff\xc4\x04", 7, max, 32, &olen), CD_SCAN_TOO_LARGE,
           "...bin8 of 4 there: too_large (one byte over, with 4G-1 siblings to come)");
    is_int(cd_prescan("\xdd\xff\xff\xff\xff\xc6\xff\xff\xff\xff", 10, max, 32, &olen),
           CD_SCAN_TOO_LARGE, "...bin32 of 4 GiB there: too_large");
#endif
}

static void test_depth(void)
{
    char deep[80];
    size_t olen = 0;
    memset(deep, 0x91, 33);
    deep[33] = 0x00;
    is_int(cd_prescan(deep, 34, MiB16, 32, &olen), CD_SCAN_TOO_DEEP, "33 nested arrays: too_deep");
    is_int(cd_prescan(deep, 33, MiB16, 32, &olen), CD_SCAN_TOO_DEEP,
           "33 nested arrays, innermost element missing: too_deep at once");
    ok(cd_prescan(deep + 1, 33, MiB16, 32, &olen) == CD_SCAN_OK && olen == 33,
       "32 nested arrays: ok");
    ok(msgpack_consumed(deep + 1, 33) == 33, "...and msgpack-c decodes them too");
    deep[32] = (char)0x90;
    is_int(cd_prescan(deep, 33, MiB16, 32, &olen), CD_SCAN_TOO_DEEP,
           "an empty array at depth 33 is too deep too");
    is_int(cd_prescan("\x81\x01\x91\x91\x00", 5, MiB16, 2, &olen), CD_SCAN_TOO_DEEP,
           "a map value nesting past max_depth 2: too_deep");
    ok(cd_prescan("\x81\x01\x91\x00", 4, MiB16, 2, &olen) == CD_SCAN_OK,
       "a map value at depth 2 with max_depth 2: ok");
    ok(cd_prescan("\x92\x91\x00\x91\x00", 5, MiB16, 2, &olen) == CD_SCAN_OK && olen == 5,
       "depth is per path, not summed over siblings");
    ok(cd_prescan("\x05", 1, MiB16, 0, &olen) == CD_SCAN_OK, "max_depth 0: a scalar is ok");
    is_int(cd_prescan("\x90", 1, MiB16, 0, &olen), CD_SCAN_TOO_DEEP,
           "max_depth 0: an array is too deep");
    memset(deep, 0x91, 70);
    deep[70] = 0;
    is_int(cd_prescan(deep, 71, MiB16, 1000, &olen), CD_SCAN_TOO_DEEP,
           "max_depth beyond the scanner's fixed stack is clamped, not overflowed");
}

static void test_msgid(void)
{
    uint32_t id = 0;
    ok(cd_prescan_msgid("\x94\x00\x2a\xa4ping\x90", 9, &id) == 1 && id == 42, "[0, 42, ...]: 42");
    ok(cd_prescan_msgid("\x94\x00\xcc\xff", 4, &id) == 1 && id == 255, "uint8 msgid");
    ok(cd_prescan_msgid("\x94\x00\xcd\x12\x34", 5, &id) == 1 && id == 0x1234, "uint16 msgid");
    ok(cd_prescan_msgid("\x94\x00\xce\xff\xff\xff\xff", 7, &id) == 1 && id == UINT32_MAX,
       "uint32 msgid 4294967295");
    ok(cd_prescan_msgid("\x94\x00\xcf\0\0\0\0\0\0\0\x09", 11, &id) == 1 && id == 9,
       "uint64-encoded small msgid");
    ok(cd_prescan_msgid("\x94\xcc\x00\xd2\0\0\0\x07", 8, &id) == 1 && id == 7,
       "type 0 as uint8, msgid as non-negative int32");
    ok(cd_prescan_msgid("\xdc\x00\x04\x00\x07", 5, &id) == 1 && id == 7, "array16 envelope");
    ok(cd_prescan_msgid("\xdd\x00\x00\x00\x05\x00\x08", 7, &id) == 1 && id == 8,
       "array32 envelope with 5 elements (wrong count, msgid still found)");
    ok(cd_prescan_msgid("\x94\x00\x07\xa1m\x91\xdd\xff\xff\xff\xff", 11, &id) == 1 && id == 7,
       "msgid of a request too large to unpack");

    id = 99;
    ok(!cd_prescan_msgid("\x94\x00\xcf\0\0\0\x01\0\0\0\0", 11, &id) && id == 99,
       "msgid above uint32: none (and *msgid untouched)");
    ok(!cd_prescan_msgid("\x94\x00\xd0\xff", 4, &id), "negative msgid: none");
    ok(!cd_prescan_msgid("\x94\x00\xce\x00\x00", 5, &id), "msgid not fully arrived: none");
    ok(!cd_prescan_msgid("\x94\x00", 2, &id), "msgid missing: none");
    ok(!cd_prescan_msgid("\x94\x01\x07\xc0\xc0", 5, &id), "a response [1, ...]: none");
    ok(!cd_prescan_msgid("\x93\x02\xa1m\x90", 5, &id), "a notification [2, ...]: none");
    ok(!cd_prescan_msgid("\x91\x00", 2, &id), "one-element array: none");
    ok(!cd_prescan_msgid("\x84\x00\x07", 3, &id), "a map: none");
    ok(!cd_prescan_msgid("\x94\xa1" "0\x07", 4, &id), "type as a string: none");
    ok(!cd_prescan_msgid("\xdc\x00", 2, &id), "array16 header cut short: none");
    ok(!cd_prescan_msgid("", 0, &id), "empty: none");
}

/* The element budget of cd_prescan_bounded: counts every element a container announces. */
static void test_element_budget(void)
{
    char buf[200];
    size_t len = 0;
    buf[0] = (char)0xdc; buf[1] = 0; buf[2] = 100;            /* array16 of 100 nils */
    memset(buf + 3, 0xc0, 100);
    is_int(cd_prescan_bounded(buf, 103, 1 << 20, 32, 100, &len), CD_SCAN_OK, "100 elements within a budget of 100");
    is_int((int)len, 103, "... whole object");
    is_int(cd_prescan_bounded(buf, 103, 1 << 20, 32, 99, &len), CD_SCAN_TOO_LARGE, "100 elements over a budget of 99");
    is_int(cd_prescan_bounded(buf, 3, 1 << 20, 32, 99, &len), CD_SCAN_TOO_LARGE,
           "... refused from the header alone, before the elements arrive");
    /* [{"a": nil}, {"a": nil}]: 2 array elements + 2 pairs x 2 = 6 */
    static const char nested[] = "\x92\x81\xa1" "a\xc0\x81\xa1" "a\xc0";
    is_int(cd_prescan_bounded(nested, sizeof nested - 1, 1 << 20, 32, 6, &len), CD_SCAN_OK, "nested: 6 within 6");
    is_int(cd_prescan_bounded(nested, sizeof nested - 1, 1 << 20, 32, 5, &len), CD_SCAN_TOO_LARGE, "nested: 6 over 5");
    is_int(cd_prescan(buf, 103, 1 << 20, 32, &len), CD_SCAN_OK, "cd_prescan has no element budget");
}

/* cd_prescan_counted: the number of values unpacking will make, checked against msgpack-c. */
static void test_element_count(void)
{
    static const char nested[] = "\x92\x81\xa1" "a\xc0\x81\xa1" "a\xc0";
    static const char scalar[] = "\xa3" "abc";
    static const char empty[] = "\x90";
    struct { const char *name, *bytes; size_t len; uint64_t want; } cases[] = {
        { "nested [{a:nil},{a:nil}]", nested, sizeof nested - 1, 7 },
        { "one string", scalar, sizeof scalar - 1, 1 },
        { "empty array", empty, 1, 1 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t len = 0;
        uint64_t n = 0;
        is_int(cd_prescan_counted(cases[i].bytes, cases[i].len, 1 << 20, 32, UINT64_MAX, &len, &n), CD_SCAN_OK,
               "%s: scans", cases[i].name);
        is_int((int)n, (int)cases[i].want, "%s: %d values", cases[i].name, (int)cases[i].want);
    }
    uint64_t n = 99;
    size_t len = 0;
    is_int(cd_prescan_counted(nested, 4, 1 << 20, 32, UINT64_MAX, &len, &n), CD_SCAN_NEED_MORE, "partial: need more");
    is_int((int)n, 99, "... and the count is left alone");
}

static void test_names(void)
{
    is_str(cd_scan_result_name(CD_SCAN_OK), "ok", "name of OK");
    is_str(cd_scan_result_name(CD_SCAN_NEED_MORE), "need_more", "name of NEED_MORE");
    is_str(cd_scan_result_name(CD_SCAN_TOO_LARGE), "too_large", "name of TOO_LARGE");
    is_str(cd_scan_result_name(CD_SCAN_TOO_DEEP), "too_deep", "name of TOO_DEEP");
    is_str(cd_scan_result_name(CD_SCAN_MALFORMED), "malformed", "name of MALFORMED");
    is_str(cd_scan_result_name((cd_scan_result)42), "unknown", "name of an out-of-range value");
}

int main(void)
{
    test_formats();
    test_every_type_byte();
    test_composites();
    test_hostile();
    test_depth();
    test_msgid();
    test_element_budget();
    test_element_count();
    test_names();
    return done_testing();
}
