/* Tests for daemon/wire_values.c and the envelope in daemon/call.c: bin taken as text when it is
 * UTF-8 (keys, values, nested), integral floats as integers within 2^53, duplicate keys refused
 * with the key's path (small maps pairwise, big ones sorted), and client notifications
 * recognised as such. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <msgpack.h>
#include "call.h"
#include "wire_values.h"
#include "tap.h"

typedef struct {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} buf;

static void buf_init(buf *b)
{
    msgpack_sbuffer_init(&b->sb);
    msgpack_packer_init(&b->pk, &b->sb, msgpack_sbuffer_write);
}

static void pstr(buf *b, const char *s) { msgpack_pack_str(&b->pk, strlen(s)); msgpack_pack_str_body(&b->pk, s, strlen(s)); }
static void pbin(buf *b, const char *s, size_t n) { msgpack_pack_bin(&b->pk, n); msgpack_pack_bin_body(&b->pk, s, n); }

/* Unpacks b into c's zone and normalizes it; returns normalize's result, *out the object. */
static int run(cd_call *c, buf *b, msgpack_object *out)
{
    size_t off = 0;
    char *copy = cd_call_alloc(c, b->sb.size);
    memcpy(copy, b->sb.data, b->sb.size);
    if (msgpack_unpack(copy, b->sb.size, &off, &c->zone, out) < 0) return -2;
    return cd_wire_normalize(c, out);
}

static void test_bin_and_floats(void)
{
    cd_call *c = cd_call_new_internal(NULL);
    buf b;
    buf_init(&b);
    msgpack_pack_map(&b.pk, 6);
    pbin(&b, "text", 4); pbin(&b, "caf\xc3\xa9", 5);                  /* UTF-8 bin key and value */
    pstr(&b, "id"); msgpack_pack_double(&b.pk, 4294967296.0);         /* 2^32 as float64 */
    pstr(&b, "neg"); msgpack_pack_float(&b.pk, -3.0f);
    pstr(&b, "half"); msgpack_pack_double(&b.pk, 1.5);
    pstr(&b, "huge"); msgpack_pack_double(&b.pk, 18014398509481984.0); /* 2^54 */
    pstr(&b, "via"); msgpack_pack_array(&b.pk, 1);
    msgpack_pack_map(&b.pk, 2);
    pbin(&b, "name", 4); pbin(&b, "\xff\xfe", 2);                      /* not UTF-8: stays bin */
    pstr(&b, "n"); msgpack_pack_double(&b.pk, 9007199254740992.0);    /* 2^53 exactly */
    msgpack_object o;
    ok(run(c, &b, &o) == 0 && c->err == CLAIMD_OK, "a map with bin and floats normalizes without error");
    const msgpack_object_kv *kv = o.via.map.ptr;
    ok(kv[0].key.type == MSGPACK_OBJECT_STR && kv[0].key.via.str.size == 4, "a UTF-8 bin key becomes str");
    ok(kv[0].val.type == MSGPACK_OBJECT_STR && memcmp(kv[0].val.via.str.ptr, "caf\xc3\xa9", 5) == 0,
       "a UTF-8 bin value becomes str with the same bytes");
    ok(kv[1].val.type == MSGPACK_OBJECT_POSITIVE_INTEGER && kv[1].val.via.u64 == 4294967296ull,
       "float64 2^32 becomes the integer 2^32");
    ok(kv[2].val.type == MSGPACK_OBJECT_NEGATIVE_INTEGER && kv[2].val.via.i64 == -3, "float32 -3 becomes -3");
    ok(kv[3].val.type == MSGPACK_OBJECT_FLOAT64, "1.5 stays a float");
    ok(kv[4].val.type == MSGPACK_OBJECT_FLOAT64, "2^54 stays a float (beyond 2^53)");
    const msgpack_object_kv *via = kv[5].val.via.array.ptr[0].via.map.ptr;
    ok(via[0].key.type == MSGPACK_OBJECT_STR, "a nested bin key becomes str");
    ok(via[0].val.type == MSGPACK_OBJECT_BIN, "nested bin that is not UTF-8 stays bin");
    ok(via[1].val.type == MSGPACK_OBJECT_POSITIVE_INTEGER && via[1].val.via.u64 == 9007199254740992ull,
       "2^53 as float64 becomes an integer");
    msgpack_sbuffer_destroy(&b.sb);
    cd_call_free(c);

    msgpack_object f = { .type = MSGPACK_OBJECT_FLOAT64 };
    f.via.f64 = -0.0;
    cd_wire_integral(&f);
    ok(f.type == MSGPACK_OBJECT_POSITIVE_INTEGER && f.via.u64 == 0, "-0.0 becomes 0");
    f.type = MSGPACK_OBJECT_FLOAT64; f.via.f64 = NAN;
    cd_wire_integral(&f);
    ok(f.type == MSGPACK_OBJECT_FLOAT64, "NaN stays a float");
    f.via.f64 = INFINITY;
    cd_wire_integral(&f);
    ok(f.type == MSGPACK_OBJECT_FLOAT64, "infinity stays a float");
    f.via.f64 = -9007199254740994.0;
    cd_wire_integral(&f);
    ok(f.type == MSGPACK_OBJECT_FLOAT64, "-(2^53 + 2) stays a float");
}

static void expect_dup(buf *b, const char *field, const char *name)
{
    cd_call *c = cd_call_new_internal(NULL);
    msgpack_object o;
    int rc = run(c, b, &o);
    ok(rc == -1 && c->err == CLAIMD_E_INVALID && c->err_field && strcmp(c->err_field, field) == 0,
       "%s: invalid, field %s (got %s)", name, field, c->err_field ? c->err_field : "none");
    cd_call_free(c);
    msgpack_sbuffer_destroy(&b->sb);
}

static void test_duplicates(void)
{
    buf b;
    buf_init(&b);
    msgpack_pack_map(&b.pk, 2);
    pstr(&b, "id"); msgpack_pack_uint8(&b.pk, 1);
    pstr(&b, "id"); msgpack_pack_uint8(&b.pk, 2);
    expect_dup(&b, "id", "{id, id}");

    buf_init(&b);
    msgpack_pack_map(&b.pk, 2);
    pstr(&b, "id"); msgpack_pack_uint8(&b.pk, 1);
    pbin(&b, "id", 2); msgpack_pack_uint8(&b.pk, 1);
    expect_dup(&b, "id", "str id and bin id");

    buf_init(&b);
    msgpack_pack_map(&b.pk, 2);
    pstr(&b, "text"); pstr(&b, "x");
    pstr(&b, "via"); msgpack_pack_array(&b.pk, 2);
    msgpack_pack_map(&b.pk, 0);
    msgpack_pack_map(&b.pk, 3);
    pstr(&b, "name"); pstr(&b, "a");
    pstr(&b, "how"); pstr(&b, "quoted");
    pstr(&b, "how"); pstr(&b, "leaked");
    expect_dup(&b, "via[1].how", "a duplicate inside an array of maps");

    buf_init(&b);
    msgpack_pack_map(&b.pk, 1);
    pstr(&b, "speaker");
    msgpack_pack_map(&b.pk, 2);
    msgpack_pack_uint8(&b.pk, 7); pstr(&b, "a");
    msgpack_pack_double(&b.pk, 7.0); pstr(&b, "b");
    expect_dup(&b, "speaker.7", "integer keys 7 and 7.0");

    /* ext keys: compared by their own layout (type, size, bytes), not as str. */
    char ext1[40] = "abcd\x01", ext2[40] = "abcd\x02";
    buf_init(&b);
    msgpack_pack_map(&b.pk, 3);
    msgpack_pack_ext(&b.pk, 40, 5); msgpack_pack_ext_body(&b.pk, ext1, 40);
    msgpack_pack_nil(&b.pk);
    msgpack_pack_ext(&b.pk, 40, 5); msgpack_pack_ext_body(&b.pk, ext2, 40);
    msgpack_pack_nil(&b.pk);
    msgpack_pack_ext(&b.pk, 40, 5); msgpack_pack_ext_body(&b.pk, ext1, 40);
    msgpack_pack_nil(&b.pk);
    expect_dup(&b, "[bytes]", "an ext key given twice (40-byte ext)");

    buf_init(&b);
    msgpack_pack_map(&b.pk, 2);
    msgpack_pack_uint8(&b.pk, 10); msgpack_pack_nil(&b.pk);
    msgpack_pack_uint8(&b.pk, 10); msgpack_pack_nil(&b.pk);
    expect_dup(&b, "10", "integer key 10 twice at the top: field 10");

    /* A big map: sorted, and the repeated key is far from its first. */
    buf_init(&b);
    msgpack_pack_map(&b.pk, 3001);
    char k[16];
    for (int i = 0; i < 3000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        pstr(&b, k);
        msgpack_pack_int(&b.pk, i);
    }
    pstr(&b, "k17"); msgpack_pack_nil(&b.pk);
    expect_dup(&b, "k17", "a 3,001-key map with k17 twice");

    buf_init(&b);
    msgpack_pack_map(&b.pk, 3000);
    for (int i = 0; i < 3000; i++) {
        snprintf(k, sizeof k, "k%d", i);
        pstr(&b, k);
        msgpack_pack_int(&b.pk, i);
    }
    cd_call *c = cd_call_new_internal(NULL);
    msgpack_object o;
    ok(run(c, &b, &o) == 0 && c->err == CLAIMD_OK, "3,000 distinct keys: no error");
    cd_call_free(c);
    msgpack_sbuffer_destroy(&b.sb);

    buf_init(&b);
    msgpack_pack_map(&b.pk, 1);
    pbin(&b, "n\xffme", 4); pstr(&b, "x");
    c = cd_call_new_internal(NULL);
    ok(run(c, &b, &o) == -1 && c->err == CLAIMD_E_INVALID && c->err_field && strcmp(c->err_field, "n?me") == 0,
       "a bin key that is not UTF-8: invalid, field shown with ? (got %s)", c->err_field ? c->err_field : "none");
    cd_call_free(c);
    msgpack_sbuffer_destroy(&b.sb);
}

static void test_envelope(void)
{
    buf b;
    buf_init(&b);
    msgpack_pack_array(&b.pk, 3);
    msgpack_pack_uint8(&b.pk, 2);
    pstr(&b, "ping");
    msgpack_pack_array(&b.pk, 0);
    ok(b.sb.size == 8 && memcmp(b.sb.data, "\x93\x02\xa4ping\x90", 8) == 0, "[2, \"ping\", []] is 93 02 a4 ping 90");
    cd_call *c = cd_call_new(NULL, NULL, b.sb.data, b.sb.size);
    ok(c && c->notification && c->err == CLAIMD_OK && c->method_name.n == 4 &&
       memcmp(c->method_name.p, "ping", 4) == 0, "a client notification makes a call marked as one");
    cd_call_free(c);
    msgpack_sbuffer_destroy(&b.sb);

    buf_init(&b);
    msgpack_pack_array(&b.pk, 4);
    msgpack_pack_uint8(&b.pk, 0);
    msgpack_pack_double(&b.pk, 4000000000.0);
    pbin(&b, "ping", 4);
    msgpack_pack_array(&b.pk, 0);
    c = cd_call_new(NULL, NULL, b.sb.data, b.sb.size);
    ok(c && !c->notification && c->err == CLAIMD_OK && c->msgid == 4000000000u && c->method_name.n == 4,
       "a request with a float64 msgid and a bin method name");
    cd_call_free(c);
    msgpack_sbuffer_destroy(&b.sb);

    buf_init(&b);
    msgpack_pack_array(&b.pk, 3);
    msgpack_pack_uint8(&b.pk, 2);
    pstr(&b, "ping");
    pstr(&b, "params");
    c = cd_call_new(NULL, NULL, b.sb.data, b.sb.size);
    ok(c && c->notification && c->err == CLAIMD_E_BAD_REQUEST, "a notification with bad params: a call with bad_request (dropped later)");
    cd_call_free(c);
    msgpack_sbuffer_destroy(&b.sb);
}

int main(void)
{
    test_bin_and_floats();
    test_duplicates();
    test_envelope();
    return done_testing();
}
