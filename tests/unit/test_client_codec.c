/* test_client_codec: libclaimd's transport-free layers on canned bytes: the args builder's
 * output, request packing, the reply decoder and reader (valid replies, errors, notifications,
 * truncation, hostile counts and nesting, wrong envelopes), and value accessors. */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "tap.h"

#define B(...) ((const unsigned char[]){__VA_ARGS__}), sizeof((const unsigned char[]){__VA_ARGS__})

/* Passes when the builder's bytes equal want[0..n). */
static int bytes_are(claimd_args *a, const unsigned char *want, size_t n, const char *name)
{
    size_t len = 0;
    const unsigned char *got = claimd_args_data(a, &len);
    int same = got && len == n && memcmp(got, want, n) == 0;
    ok(same, "args bytes: %s", name);
    if (!same && got) {
        char hex[200] = "";
        for (size_t i = 0; i < len && i < 60; i++) sprintf(hex + strlen(hex), "%02x", got[i]);
        diag("  got %zu bytes: %s", len, hex);
    }
    return same;
}

static void test_args_bytes(void)
{
    claimd_args *a = claimd_args_new();
    bytes_are(a, B(0x80), "empty map");
    claimd_args_uint(a, "a", 1);
    bytes_are(a, B(0x81, 0xa1, 'a', 0x01), "{a: 1}");
    claimd_args_int(a, "n", -2);
    claimd_args_bool(a, "t", 1);
    claimd_args_nil(a, "z");
    bytes_are(a, B(0x84, 0xa1, 'a', 0x01, 0xa1, 'n', 0xfe, 0xa1, 't', 0xc3, 0xa1, 'z', 0xc0),
              "scalars after reading the data once");
    claimd_args_reset(a);
    claimd_args_begin_array(a, "l");
    claimd_args_uint(a, NULL, 1);
    claimd_args_str(a, NULL, "x");
    claimd_args_begin_map(a, NULL);
    claimd_args_bool(a, "k", 0);
    claimd_args_end(a);
    claimd_args_end(a);
    claimd_args_float(a, "f", 0.5);
    bytes_are(a, B(0x82, 0xa1, 'l', 0x93, 0x01, 0xa1, 'x', 0x81, 0xa1, 'k', 0xc2,
                   0xa1, 'f', 0xcb, 0x3f, 0xe0, 0, 0, 0, 0, 0, 0),
              "nested array and map, compacted headers");
    claimd_args_reset(a);
    claimd_args_begin_array(a, "e");
    claimd_args_end(a);
    claimd_args_strn(a, "s", "a\0b", 3);
    claimd_args_bin(a, "b", "\x01\x02", 2);
    bytes_are(a, B(0x83, 0xa1, 'e', 0x90, 0xa1, 's', 0xa3, 'a', 0, 'b', 0xa1, 'b', 0xc4, 2, 1, 2),
              "empty array, string with NUL, bin");
    claimd_args_reset(a);
    claimd_args_uint(a, "u", UINT64_MAX);
    bytes_are(a, B(0x81, 0xa1, 'u', 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
              "uint64 max");

    /* 16 elements need array16 / map16 headers: the body slides by 2 bytes, not 4. */
    claimd_args_reset(a);
    claimd_args_begin_array(a, "x");
    for (int i = 0; i < 16; i++) claimd_args_uint(a, NULL, (uint64_t)i);
    claimd_args_end(a);
    size_t len = 0;
    const unsigned char *p = claimd_args_data(a, &len);
    ok(p && len == 1 + 2 + 3 + 16 && p[3] == 0xdc && p[4] == 0 && p[5] == 16 && p[6] == 0 &&
           p[21] == 15,
       "array of 16 uses array16 header");
    claimd_args_reset(a);
    char key[16];
    for (int i = 0; i < 17; i++) {
        snprintf(key, sizeof key, "k%d", i);
        claimd_args_uint(a, key, 0);
    }
    p = claimd_args_data(a, &len);
    ok(p && p[0] == 0xde && p[1] == 0 && p[2] == 17, "top map of 17 keys uses map16 header");
    claimd_args_free(a);
}

static void test_args_errors(void)
{
    claimd_args *a = claimd_args_new();
    is_int(claimd_args_uint(a, NULL, 1), CLAIMD_E_USAGE, "value without key in a map is usage");
    is_int(claimd_args_str(a, "k", "v"), CLAIMD_E_USAGE, "the error is sticky");
    ok(claimd_args_data(a, NULL) == NULL, "no data from a builder in error");
    claimd_args_reset(a);
    ok(claimd_args_error(a) == CLAIMD_OK, "reset clears the error");
    claimd_args_begin_array(a, "l");
    is_int(claimd_args_uint(a, "k", 1), CLAIMD_E_USAGE, "key inside an array is usage");
    claimd_args_reset(a);
    claimd_args_begin_map(a, "m");
    ok(claimd_args_data(a, NULL) == NULL, "no data while a container is open");
    claimd_args_end(a);
    ok(claimd_args_data(a, NULL) != NULL, "data once it is closed");
    is_int(claimd_args_end(a), CLAIMD_E_USAGE, "end of the top-level map is usage");
    claimd_args_reset(a);
    is_int(claimd_args_str(a, "k", NULL), CLAIMD_E_USAGE, "NULL string is usage");
    claimd_args_reset(a);
    int rc = 0;
    for (int i = 1; i < CD_CLIENT_ARGS_MAX_DEPTH; i++) rc |= claimd_args_begin_map(a, "d");
    ok(rc == CLAIMD_OK, "31 levels of nesting are allowed");
    is_int(claimd_args_begin_map(a, "d"), CLAIMD_E_USAGE, "the 32nd level is refused");
    claimd_args_reset(a);
    is_int(claimd_args_raw(a, "r", "\x92\x01", 2), CLAIMD_E_USAGE, "truncated raw value refused");
    claimd_args_reset(a);
    is_int(claimd_args_raw(a, "r", "\x01\x02", 2), CLAIMD_E_USAGE, "two raw values refused");
    claimd_args_reset(a);
    is_int(claimd_args_raw(a, "r", "\x92\x01\xa1z", 4), CLAIMD_OK, "complete raw value accepted");
    bytes_are(a, B(0x81, 0xa1, 'r', 0x92, 0x01, 0xa1, 'z'), "raw value copied as is");
    claimd_args_free(a);

    a = claimd_args_from_msgpack("\x81\xa1k\x07", 4);
    ok(a != NULL, "pre-packed map accepted");
    bytes_are(a, B(0x81, 0xa1, 'k', 0x07), "pre-packed bytes kept");
    is_int(claimd_args_uint(a, "x", 1), CLAIMD_E_USAGE, "nothing can be added to pre-packed args");
    claimd_args_free(a);
    ok(claimd_args_from_msgpack("\x91\x01", 2) == NULL, "pre-packed array refused");
    ok(claimd_args_from_msgpack("\x81\xa1k", 3) == NULL, "truncated pre-packed map refused");
    ok(claimd_args_from_msgpack("\x80\x80", 2) == NULL, "trailing bytes after the map refused");
}

static void test_args_claim(void)
{
    claimd_via via[] = {{sizeof via[0], "TASS", "quoted"}, {sizeof via[0], "RFE/RL", NULL}};
    claimd_appearance ap[] = {
        {sizeof ap[0], "https://example.org/a", "RFE/RL", "Title", "2018-08-08", "en"}};
    const char *tags[] = {"sanctions", "letter"};
    claimd_claim c = {.struct_size = sizeof c, .text = "We have not received the letter",
                      .quote = CLAIMD_QUOTE_PARAPHRASE,
                      .speaker = "Dmitry Peskov", .said_at = "2018-08-08", .via = via, .n_via = 2,
                      .appearances = ap, .n_appearances = 1, .tags = tags, .n_tags = 2,
                      .external_id = "x-1"};
    claimd_args *a = claimd_args_new();
    is_int(claimd_args_claim(a, NULL, &c), CLAIMD_OK, "claim packed into the top-level map");
    size_t len;
    const void *p = claimd_args_data(a, &len);
    claimd_value *v = NULL;
    is_int(claimd_value_decode(p, len, &v), CLAIMD_OK, "packed claim decodes");
    is_str(claimd_value_get_str(v, "text"), c.text, "text");
    int b = -1;
    ok(claimd_value_bool(claimd_value_get(v, "quote"), &b) == 0 && b == 0, "quote false");
    is_str(claimd_value_get_str(v, "speaker"), "Dmitry Peskov", "speaker as a name");
    const claimd_value *hops = claimd_value_get(v, "via");
    is_int((long long)claimd_value_len(hops), 2, "two via hops");
    is_str(claimd_value_get_str(claimd_value_at(hops, 0), "how"), "quoted", "hop how");
    ok(claimd_value_get(claimd_value_at(hops, 1), "how") == NULL, "missing how left out");
    is_str(claimd_value_get_str(claimd_value_at(claimd_value_get(v, "appearances"), 0), "outlet"),
           "RFE/RL", "appearance outlet");
    is_str(claimd_value_str(claimd_value_at(claimd_value_get(v, "tags"), 1), NULL), "letter",
           "tags");
    ok(claimd_value_get(v, "lang") == NULL && claimd_value_get(v, "about") == NULL,
       "unset fields are left out");
    claimd_value_free(v);

    claimd_args_reset(a);
    claimd_args_begin_array(a, "claims");
    claimd_args_claim(a, NULL, &c);
    claimd_claim anon = {.struct_size = sizeof anon, .text = "x", .speaker_id = 42};
    claimd_args_claim(a, NULL, &anon);
    claimd_args_end(a);
    p = claimd_args_data(a, &len);
    claimd_value_decode(p, len, &v);
    const claimd_value *list = claimd_value_get(v, "claims");
    ok(claimd_value_len(list) == 2 &&
           claimd_value_get_uint(claimd_value_get(claimd_value_at(list, 1), "speaker"), "id", 0) == 42,
       "claims as array items; speaker_id as {id}");
    claimd_value_free(v);
    claimd_claim bad = {.struct_size = sizeof bad, .n_tags = 1};
    claimd_args_reset(a);
    ok(claimd_args_claim(a, NULL, &bad) == CLAIMD_E_USAGE, "claim without text is usage");
    claimd_args_free(a);
}

static void test_request(void)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    is_int(cd_client_pack_request(&sb, 7, "ping", NULL), CLAIMD_OK, "pack ping");
    ok(sb.size == 9 && memcmp(sb.data, "\x94\x00\x07\xa4ping\x90", 9) == 0,
       "request [0, 7, \"ping\", []]");
    sb.size = 0;
    claimd_args *a = claimd_args_new();
    claimd_args_uint(a, "id", 300);
    cd_client_pack_request(&sb, 70000, "claim.get", a);
    ok(sb.size == 1 + 1 + 5 + 10 + 1 + 1 + 3 + 3 &&
           memcmp(sb.data, "\x94\x00\xce\x00\x01\x11\x70\xa9" "claim.get\x91\x81\xa2id\xcd\x01\x2c",
                  sb.size) == 0,
       "request with a params map and a uint32 msgid");
    sb.size = 0;
    claimd_args_begin_map(a, "open");
    is_int(cd_client_pack_request(&sb, 1, "x", a), CLAIMD_E_USAGE, "open container: usage");
    ok(sb.size == 0, "nothing packed on error");
    is_int(cd_client_pack_request(&sb, 1, "", NULL), CLAIMD_E_USAGE, "empty method: usage");
    claimd_args_free(a);
    msgpack_sbuffer_destroy(&sb);
}

/* Decodes buf with a 1 MiB bound; returns the decoder's answer. */
static int decode(const unsigned char *buf, size_t len, cd_client_msg *m, char *err)
{
    size_t used = 0;
    memset(m, 0, sizeof *m);
    err[0] = '\0';
    return cd_client_decode_message((const char *)buf, len, 1 << 20, CD_CLIENT_MAX_DEPTH, m, &used,
                                    err, 160);
}

static const unsigned char ping_reply[] = {
    0x94, 0x01, 0x07, 0xc0, 0x82, 0xa7, 'v', 'e', 'r', 's', 'i', 'o', 'n',
    0xa5, '0', '.', '1', '.', '0', 0xa8, 'p', 'r', 'o', 't', 'o', 'c', 'o', 'l', 0x01};

static void test_decode_valid(void)
{
    cd_client_msg m;
    char err[160];
    size_t used = 0;
    memset(&m, 0, sizeof m);
    is_int(cd_client_decode_message((const char *)ping_reply, sizeof ping_reply, 1 << 20, 32, &m,
                                    &used, err, sizeof err),
           1, "response decodes");
    ok(m.kind == CD_CLIENT_RESPONSE && m.msgid == 7 && m.error == NULL, "kind, msgid, no error");
    is_int((long long)used, sizeof ping_reply, "whole message consumed");
    is_str(claimd_value_get_str(m.result, "version"), "0.1.0", "result.version");
    is_int((long long)claimd_value_get_uint(m.result, "protocol", 0), 1, "result.protocol");
    cd_client_msg_clear(&m);

    int rc = decode(B(0x94, 0x01, 0x08,
                      0x83, 0xa4, 'c', 'o', 'd', 'e', 0xa7, 'i', 'n', 'v', 'a', 'l', 'i', 'd',
                      0xa7, 'm', 'e', 's', 's', 'a', 'g', 'e', 0xa1, 'm',
                      0xa5, 'f', 'i', 'e', 'l', 'd', 0xa4, 't', 'e', 'x', 't', 0xc0),
                    &m, err);
    ok(rc == 1 && m.error && !m.result, "error response decodes");
    is_str(claimd_value_get_str(m.error, "field"), "text", "error.field");
    cd_client_msg_clear(&m);

    rc = decode(B(0x94, 0x01, 0x09, 0xa4, 'o', 'o', 'p', 's', 0xc0), &m, err);
    ok(rc == 1 && claimd_value_type(m.error) == CLAIMD_T_STR, "string error kept");
    cd_client_msg_clear(&m);

    rc = decode(B(0x94, 0x01, 0x0a, 0xc0, 0xc0), &m, err);
    ok(rc == 1 && claimd_value_type(m.result) == CLAIMD_T_NIL && m.result, "nil result is a value");
    cd_client_msg_clear(&m);

    rc = decode(B(0x93, 0x02, 0xa6, 'c', 'h', 'a', 'n', 'g', 'e', 0x91, 0x81, 0xa3, 's', 'e', 'q',
                  0x05),
                &m, err);
    ok(rc == 1 && m.kind == CD_CLIENT_NOTIFICATION, "notification decodes");
    is_str(m.method, "change", "notification method");
    is_int((long long)claimd_value_get_uint(claimd_value_at(m.params, 0), "seq", 0), 5,
           "notification params");
    cd_client_msg_clear(&m);
}

static void test_decode_bad(void)
{
    cd_client_msg m;
    char err[160];
    int need_more = 1;
    for (size_t n = 0; n < sizeof ping_reply; n++)
        if (decode(ping_reply, n, &m, err) != 0) need_more = 0;
    ok(need_more, "every proper prefix of a reply asks for more bytes");

    struct { const char *name; const unsigned char *p; size_t n; const char *why; } cases[] = {
        {"a map, not an array", B(0x81, 0x01, 0x02), "array"},
        {"empty array", B(0x90), "array"},
        {"a request", B(0x94, 0x00, 0x01, 0xa1, 'x', 0x90), "neither"},
        {"type 3", B(0x93, 0x03, 0x01, 0xc0), "neither"},
        {"type is a string", B(0x94, 0xa1, '1', 0x01, 0xc0, 0xc0), "integer"},
        {"response of 3 elements", B(0x93, 0x01, 0x01, 0xc0), "not 4"},
        {"response of 5 elements", B(0x95, 0x01, 0x01, 0xc0, 0xc0, 0xc0), "not 4"},
        {"msgid is a string", B(0x94, 0x01, 0xa1, '1', 0xc0, 0xc0), "msgid"},
        {"msgid over uint32", B(0x94, 0x01, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 0xc0), "msgid"},
        {"negative msgid", B(0x94, 0x01, 0xff, 0xc0, 0xc0), "msgid"},
        {"error is an integer", B(0x94, 0x01, 0x01, 0x05, 0xc0), "error"},
        {"notification method int", B(0x93, 0x02, 0x01, 0x90), "method"},
        {"notification params map", B(0x93, 0x02, 0xa1, 'x', 0x80), "params"},
        {"notification of 4", B(0x94, 0x02, 0xa1, 'x', 0x90, 0xc0), "not 3"},
        {"byte 0xc1", B(0x94, 0x01, 0x01, 0xc0, 0xc1), "malformed"},
        {"ext value in result", B(0x94, 0x01, 0x01, 0xc0, 0xd4, 0x01, 0x00), "ext"},
        {"array32 of 4G in result", B(0x94, 0x01, 0x01, 0xc0, 0xdd, 0xff, 0xff, 0xff, 0xff),
         "too_large"},
        {"map32 of 4G pairs", B(0xdf, 0xff, 0xff, 0xff, 0xff), "too_large"},
        {"str32 of 4 GiB", B(0x94, 0x01, 0x01, 0xc0, 0xdb, 0xff, 0xff, 0xff, 0xff), "too_large"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = decode(cases[i].p, cases[i].n, &m, err);
        ok(rc == -1 && strstr(err, cases[i].why), "rejected: %s", cases[i].name);
        if (rc != -1 || !strstr(err, cases[i].why)) diag("  rc %d, reason \"%s\"", rc, err);
    }

    /* 40 nested arrays inside a result: refused by the pre-scan, before msgpack-c sees it. */
    unsigned char deep[4 + 40 + 1] = {0x94, 0x01, 0x01, 0xc0};
    for (int i = 0; i < 40; i++) deep[4 + i] = 0x91;
    deep[44] = 0x01;
    int rc = decode(deep, sizeof deep, &m, err);
    ok(rc == -1 && strstr(err, "too_deep"), "40 levels of nesting refused (%s)", err);
    /* 30 levels in the result (31 with the envelope) are fine. */
    unsigned char ok_deep[4 + 30 + 1] = {0x94, 0x01, 0x01, 0xc0};
    for (int i = 0; i < 30; i++) ok_deep[4 + i] = 0x91;
    ok_deep[34] = 0x01;
    ok(decode(ok_deep, sizeof ok_deep, &m, err) == 1, "31 levels decode");
    cd_client_msg_clear(&m);
}

static void test_reader(void)
{
    /* Three messages: a notification, an error response, a result, fed one byte at a time. */
    static const unsigned char stream[] = {
        0x93, 0x02, 0xa1, 'n', 0x90,
        0x94, 0x01, 0x00, 0x81, 0xa4, 'c', 'o', 'd', 'e', 0xa4, 'b', 'u', 's', 'y', 0xc0,
        0x94, 0x01, 0x01, 0xc0, 0x92, 0xa2, 'h', 'i', 0xcd, 0x01, 0x00};
    cd_client_reader r;
    cd_client_reader_init(&r, 1 << 20, CD_CLIENT_MAX_DEPTH);
    cd_client_msg got[4];
    memset(got, 0, sizeof got);
    int n = 0, early = 0;
    for (size_t i = 0; i < sizeof stream; i++) {
        cd_client_reader_feed(&r, &stream[i], 1);
        int rc;
        while (n < 4 && (rc = cd_client_reader_next(&r, &got[n])) == 1) n++;
        if (i == 3 && n > 0) early = 1;
    }
    ok(!early, "nothing before the first message is complete");
    is_int(n, 3, "three messages from a byte-at-a-time stream");
    ok(got[0].kind == CD_CLIENT_NOTIFICATION && got[1].msgid == 0 && got[1].error &&
           got[2].msgid == 1,
       "in order, with kinds and msgids");
    is_int((long long)claimd_value_get_uint(got[2].result, "x", 9), 9, "get on an array: fallback");
    is_int((long long)claimd_value_at(got[2].result, 1)->as.u, 256, "uint16 item");
    for (int i = 0; i < n; i++) cd_client_msg_clear(&got[i]);
    is_int(cd_client_reader_next(&r, &got[0]), 0, "empty reader needs more");

    /* A complete reply followed by garbage: the reply, then a sticky failure. */
    cd_client_reader_feed(&r, ping_reply, sizeof ping_reply);
    cd_client_reader_feed(&r, "\xc1\x00", 2);
    is_int(cd_client_reader_next(&r, &got[0]), 1, "reply before garbage");
    cd_client_msg_clear(&got[0]);
    is_int(cd_client_reader_next(&r, &got[0]), -1, "garbage breaks the stream");
    cd_client_reader_feed(&r, ping_reply, sizeof ping_reply);
    is_int(cd_client_reader_next(&r, &got[0]), -1, "and it stays broken");
    cd_client_reader_free(&r);

    /* A bound on reply size is enforced while the reply is still arriving. */
    cd_client_reader_init(&r, 100, CD_CLIENT_MAX_DEPTH);
    unsigned char big[8] = {0x94, 0x01, 0x01, 0xc0, 0xda, 0x10, 0x00, 'x'}; /* str16 of 4096 */
    cd_client_reader_feed(&r, big, sizeof big);
    is_int(cd_client_reader_next(&r, &got[0]), -1, "reply over max_bytes refused early");
    ok(strstr(r.errstr, "too_large") != NULL, "reason names the limit (%s)", r.errstr);
    cd_client_reader_free(&r);

    /* A large reply in 1 KiB pieces: decoded once complete, and exactly. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint8(&pk, 3);
    msgpack_pack_nil(&pk);
    msgpack_pack_array(&pk, 2000);
    for (int i = 0; i < 2000; i++) {
        msgpack_pack_map(&pk, 1);
        msgpack_pack_str_with_body(&pk, "text", 4);
        msgpack_pack_str_with_body(&pk, "abcdefghijklmnopqrstuvwxyz0123456789", 36);
    }
    cd_client_reader_init(&r, 1 << 20, CD_CLIENT_MAX_DEPTH);
    int early_big = 0, done = 0;
    for (size_t off = 0; off < sb.size; off += 1024) {
        size_t n2 = sb.size - off < 1024 ? sb.size - off : 1024;
        cd_client_reader_feed(&r, sb.data + off, n2);
        int rc = cd_client_reader_next(&r, &got[0]);
        if (rc == 1 && off + n2 < sb.size) early_big = 1;
        if (rc == 1) done = 1;
        if (rc == -1) diag("reader failed: %s", r.errstr);
    }
    ok(done && !early_big, "large reply decoded when, and only when, complete");
    ok(claimd_value_len(got[0].result) == 2000 &&
           claimd_value_len(claimd_value_get(claimd_value_at(got[0].result, 1999), "text")) == 36,
       "large reply content");
    cd_client_msg_clear(&got[0]);
    cd_client_reader_free(&r);
    msgpack_sbuffer_destroy(&sb);
}

static void test_values(void)
{
    claimd_value *v = NULL;
    /* {"s": "a\0b", "i": -5, "u": 7, "f": 1.5, "b": bin "xy", "k": true, "s": "dup"} */
    static const unsigned char m[] = {0x87, 0xa1, 's', 0xa3, 'a', 0, 'b', 0xa1, 'i', 0xfb,
                                      0xa1, 'u', 0x07, 0xa1, 'f', 0xca, 0x3f, 0xc0, 0, 0,
                                      0xa1, 'b', 0xc4, 2, 'x', 'y', 0xa1, 'k', 0xc3,
                                      0xa1, 's', 0xa3, 'd', 'u', 'p'};
    is_int(claimd_value_decode(m, sizeof m, &v), CLAIMD_OK, "value decodes");
    is_int((long long)claimd_value_len(v), 7, "seven pairs");
    is_str(claimd_value_get_str(v, "s"), "dup", "a repeated key: the last one wins");
    size_t len = 0;
    const char *s = claimd_value_str(claimd_value_val_at(v, 0), &len);
    ok(s && len == 3 && s[1] == '\0' && s[2] == 'b' && s[3] == '\0', "embedded NUL, terminated");
    int64_t i = 0;
    uint64_t u = 0;
    double f = 0;
    int b = 0;
    ok(claimd_value_int(claimd_value_get(v, "i"), &i) == 0 && i == -5, "int");
    ok(claimd_value_uint(claimd_value_get(v, "i"), &u) == -1, "negative is not a uint");
    ok(claimd_value_int(claimd_value_get(v, "u"), &i) == 0 && i == 7, "uint read as int");
    ok(claimd_value_float(claimd_value_get(v, "f"), &f) == 0 && f == 1.5, "float32 widened");
    ok(claimd_value_uint(claimd_value_get(v, "f"), &u) == -1, "float is not a uint");
    ok(claimd_value_bool(claimd_value_get(v, "k"), &b) == 0 && b == 1, "bool");
    const claimd_value *bin = claimd_value_get(v, "b");
    ok(claimd_value_type(bin) == CLAIMD_T_BIN && bin->len == 2 && claimd_value_str(bin, NULL) == NULL,
       "bin is not a str");
    ok(claimd_value_get(v, "missing") == NULL && claimd_value_at(v, 0) == NULL &&
           claimd_value_key_at(v, 7) == NULL,
       "missing key, array access on a map, index past the end");
    is_str(claimd_type_name(claimd_value_type(claimd_value_get(v, "u"))), "uint", "type name");

    claimd_args *a = claimd_args_new();
    claimd_args_value(a, "v", v);
    const unsigned char *p = claimd_args_data(a, &len);
    /* The same bytes, except that the float32 comes back as a float64 (4 more bytes). */
    ok(p && len == 3 + sizeof m + 4 && memcmp(p + 3, m, 15) == 0 && p[18] == 0xcb,
       "value packs back (%zu bytes)", len);
    claimd_value *back = NULL;
    claimd_value_decode(p, len, &back);
    const claimd_value *inner = claimd_value_get(back, "v");
    ok(claimd_value_len(inner) == 7 && claimd_value_float(claimd_value_get(inner, "f"), &f) == 0 &&
           f == 1.5 && claimd_value_len(claimd_value_get(inner, "b")) == 2,
       "and decodes to the same tree");
    claimd_value_free(back);
    claimd_args_free(a);
    claimd_value_free(v);

    is_int(claimd_value_decode("\x01\x02", 2, &v), CLAIMD_E_PROTOCOL, "trailing bytes refused");
    ok(v == NULL, "and no tree");
    is_int(claimd_value_decode("\x92\x01", 2, &v), CLAIMD_E_PROTOCOL, "truncated refused");
    claimd_value_free(NULL);
    ok(claimd_value_type(NULL) == CLAIMD_T_NIL && claimd_value_len(NULL) == 0, "NULL is nil");
    is_str(claimd_version(), "0.1.0", "claimd_version");
    int maj = -1, min = -1, patch = -1;
    claimd_version_numbers(&maj, &min, &patch);
    ok(maj == CLAIMD_VERSION_MAJOR && min == CLAIMD_VERSION_MINOR && patch == CLAIMD_VERSION_PATCH,
       "claimd_version_numbers %d.%d.%d", maj, min, patch);
    claimd_version_numbers(NULL, NULL, NULL);
}

/* The public codec (claimd_encode_request, claimd_reader): what an event-loop program uses. */
static void test_public_codec(void)
{
    claimd_args *a = claimd_args_new();
    claimd_args_uint(a, "id", 7);
    size_t need = 0, len = 0;
    is_int(claimd_encode_request(NULL, 0, &need, 5, "claim.get", a), CLAIMD_E_NOMEM,
           "encode into no buffer: too small");
    char buf[64];
    is_int(claimd_encode_request(buf, need - 1, &len, 5, "claim.get", a), CLAIMD_E_NOMEM,
           "one byte short: too small");
    is_int((long long)len, (long long)need, "and says how much is needed");
    is_int(claimd_encode_request(buf, sizeof buf, &len, 5, "claim.get", a), CLAIMD_OK, "fits");
    /* The same bytes as the blocking context sends. */
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    cd_client_pack_request(&sb, 5, "claim.get", a);
    ok(len == need && len == sb.size && memcmp(buf, sb.data, len) == 0,
       "the request the context would send (%zu bytes)", len);
    msgpack_sbuffer_destroy(&sb);
    is_int(claimd_encode_request(buf, sizeof buf, &len, 1, "", a), CLAIMD_E_USAGE, "no method");
    claimd_args_begin_array(a, "open");
    is_int(claimd_encode_request(buf, sizeof buf, &len, 1, "x", a), CLAIMD_E_USAGE,
           "params with an open container");
    claimd_args_free(a);
    is_int(claimd_encode_request(buf, sizeof buf, &len, 1, "ping", NULL), CLAIMD_OK,
           "no params");
    static const unsigned char ping_req[] = {0x94, 0x00, 0x01, 0xa4, 'p', 'i', 'n', 'g', 0x90};
    ok(len == sizeof ping_req && memcmp(buf, ping_req, len) == 0, "[0, 1, \"ping\", []]");

    static const unsigned char stream[] = {
        0x93, 0x02, 0xa6, 'c', 'h', 'a', 'n', 'g', 'e', 0x91, 0x81, 0xa2, 'i', 'd', 0x07,
        0x94, 0x01, 0x03, 0x82, 0xa4, 'c', 'o', 'd', 'e', 0xa9, 'r', 'e', 'a', 'd', '_', 'o', 'n',
        'l', 'y', 0xa7, 'm', 'e', 's', 's', 'a', 'g', 'e', 0xa1, 'm', 0xc0,
        0x94, 0x01, 0x04, 0xc0, 0x81, 0xa2, 'i', 'd', 0x09};
    ok(claimd_reader_new(10) == NULL, "a reader bound below 64 bytes refused");
    claimd_reader *r = claimd_reader_new(0);
    claimd_message *m[3] = {NULL, NULL, NULL};
    int n = 0, rc = CLAIMD_OK;
    for (size_t i = 0; i < sizeof stream && rc == CLAIMD_OK; i++) {
        rc = claimd_reader_feed(r, &stream[i], 1);
        claimd_message *got;
        while (rc == CLAIMD_OK && (rc = claimd_reader_next(r, &got)) == CLAIMD_OK && got)
            if (n < 3) m[n++] = got;
            else claimd_message_free(got);
    }
    is_int(rc, CLAIMD_OK, "fed a byte at a time: no error");
    is_int(n, 3, "three messages out");
    ok(claimd_message_type_of(m[0]) == CLAIMD_MSG_NOTIFICATION &&
           !strcmp(claimd_message_method(m[0]), "change") &&
           claimd_value_get_uint(claimd_value_at(claimd_message_params(m[0]), 0), "id", 0) == 7 &&
           claimd_message_msgid(m[0]) == 0 && claimd_message_result(m[0]) == NULL,
       "a notification: method and params");
    ok(claimd_message_type_of(m[1]) == CLAIMD_MSG_REPLY && claimd_message_msgid(m[1]) == 3 &&
           claimd_message_code(m[1]) == CLAIMD_E_READ_ONLY &&
           !strcmp(claimd_value_get_str(claimd_message_error(m[1]), "message"), "m") &&
           claimd_message_result(m[1]) == NULL,
       "an error reply: msgid, code and error map");
    claimd_value *res = claimd_message_take_result(m[2]);
    ok(claimd_message_code(m[2]) == CLAIMD_OK && claimd_message_msgid(m[2]) == 4 &&
           claimd_value_get_uint(res, "id", 0) == 9 && claimd_message_result(m[2]) == NULL,
       "a result reply; its result taken");
    for (int i = 0; i < n; i++) claimd_message_free(m[i]);
    claimd_value_free(res);
    is_str(claimd_reader_errstr(r), "", "no error string while the stream is fine");

    claimd_message *got = (claimd_message *)1;
    is_int(claimd_reader_next(r, &got), CLAIMD_OK, "an empty reader: OK");
    ok(got == NULL, "and no message");
    claimd_reader_feed(r, "\x93\x05\x00\x00", 4);
    is_int(claimd_reader_next(r, &got), CLAIMD_E_PROTOCOL, "message type 5: protocol error");
    ok(strlen(claimd_reader_errstr(r)) > 0, "with a reason: %s", claimd_reader_errstr(r));
    is_int(claimd_reader_feed(r, ping_reply, sizeof ping_reply), CLAIMD_E_PROTOCOL,
           "a broken reader takes no more bytes");
    claimd_reader_free(r);
    claimd_reader_free(NULL);
    claimd_message_free(NULL);
}

/* The ABI rule for caller structs: struct_size first, read only as far as it goes, a newer
 * caller's unknown fields accepted when zero and refused when set, arrays strided by it. */
static void test_struct_sizes(void)
{
    claimd_args *a = claimd_args_new();
    claimd_claim unsized = {0};
    unsized.text = "x";
    is_int(claimd_args_claim(a, NULL, &unsized), CLAIMD_E_USAGE, "struct_size 0 refused");
    claimd_args_reset(a);
    claimd_claim small = {.struct_size = offsetof(claimd_claim, by), .text = "x"};
    is_int(claimd_args_claim(a, NULL, &small), CLAIMD_E_USAGE,
           "struct_size below the first version refused");

    /* A caller compiled against a newer header: a bigger struct with a field we do not know. */
    struct newer_via { claimd_via v; const char *since; } hops[2] = {
        {{sizeof hops[0], "TASS", "quoted"}, NULL}, {{sizeof hops[0], "RIA", NULL}, NULL}};
    struct newer_claim { claimd_claim c; uint64_t future; } big;
    memset(&big, 0, sizeof big);
    big.c.struct_size = sizeof big;
    big.c.text = "newer";
    big.c.via = &hops[0].v;
    big.c.n_via = 2;
    claimd_args_reset(a);
    is_int(claimd_args_claim(a, NULL, &big.c), CLAIMD_OK,
           "a newer, bigger struct with its new field zero");
    size_t len;
    const void *p = claimd_args_data(a, &len);
    claimd_value *v = NULL;
    claimd_value_decode(p, len, &v);
    const claimd_value *list = claimd_value_get(v, "via");
    ok(claimd_value_len(list) == 2 &&
           claimd_value_get_str(claimd_value_at(list, 1), "name") &&
           !strcmp(claimd_value_get_str(claimd_value_at(list, 1), "name"), "RIA"),
       "via array strided by the caller's struct_size");
    claimd_value_free(v);
    big.future = 1;
    claimd_args_reset(a);
    is_int(claimd_args_claim(a, NULL, &big.c), CLAIMD_E_USAGE,
           "a newer field set is refused, not dropped");
    big.future = 0;
    hops[1].v.struct_size = sizeof(claimd_via);
    claimd_args_reset(a);
    is_int(claimd_args_claim(a, NULL, &big.c), CLAIMD_E_USAGE,
           "array elements of different sizes refused");
    claimd_args_free(a);

    claimd_claim lit = CLAIMD_CLAIM_INIT;
    claimd_change ch = CLAIMD_CHANGE_INIT;
    claimd_verdict vd;
    CLAIMD_INIT(&vd);
    ok(lit.struct_size == sizeof lit && ch.struct_size == sizeof ch &&
           vd.struct_size == sizeof vd && vd.rating == NULL,
       "CLAIMD_..._INIT and CLAIMD_INIT set struct_size");
}

/* Error codes have fixed values: daemon codes 1..99, library codes 100.. (claimd.h). */
static void test_codes(void)
{
    ok(CLAIMD_E_INTERNAL == 10 && CLAIMD_E_READ_ONLY == 11 && CLAIMD_E_IO == 100 &&
           CLAIMD_E_USAGE == 103,
       "code values are the documented ones");
    is_int(claimd_code_from_name("read_only", 9), CLAIMD_E_READ_ONLY, "read_only parsed");
    is_str(claimd_code_name(CLAIMD_E_READ_ONLY), "read_only", "and named");
    is_int(claimd_code_from_name("some_future_code", 16), CLAIMD_E_INTERNAL,
           "unknown name: internal");
    is_int(claimd_code_from_name("bad usage", 9), CLAIMD_E_INTERNAL,
           "library codes are not wire names");
    is_str(claimd_code_name(CLAIMD_E_USAGE), "bad usage", "library code described");
    is_str(claimd_code_name((claimd_code)55), "unknown", "unassigned value");
}

int main(void)
{
    test_args_bytes();
    test_args_errors();
    test_args_claim();
    test_struct_sizes();
    test_public_codec();
    test_codes();
    test_request();
    test_decode_valid();
    test_decode_bad();
    test_reader();
    test_values();
    return done_testing();
}
