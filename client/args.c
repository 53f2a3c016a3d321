/* args: the builder for a method's parameter map.
 *
 * MessagePack puts the element count in front of a container, but a builder learns it only when
 * the container is closed. Each container therefore reserves 5 header bytes (the largest header)
 * and, when closed, writes the smallest header that fits and slides its body down over the unused
 * bytes. The top-level map is never slid: its header is written into the end of its reserved
 * bytes when the data is asked for, so values can still be added afterwards. */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "prescan.h"

#define HDR_RESERVED 5

static int fail(claimd_args *a, int code)
{
    if (a->err == CLAIMD_OK) a->err = code;
    return a->err;
}

/* Writes the smallest array/map header for count at p; returns its length. */
static size_t put_header(unsigned char *p, int is_map, uint32_t count)
{
    if (count < 16) {
        p[0] = (unsigned char)((is_map ? 0x80 : 0x90) | count);
        return 1;
    }
    if (count <= 0xffff) {
        p[0] = is_map ? 0xde : 0xdc;
        p[1] = (unsigned char)(count >> 8);
        p[2] = (unsigned char)count;
        return 3;
    }
    p[0] = is_map ? 0xdf : 0xdd;
    for (int i = 0; i < 4; i++) p[1 + i] = (unsigned char)(count >> (24 - 8 * i));
    return 5;
}

static size_t header_len(uint32_t count)
{
    return count < 16 ? 1 : count <= 0xffff ? 3 : 5;
}

static void start_top_map(claimd_args *a)
{
    static const char reserved[HDR_RESERVED] = {0};
    a->buf.size = 0;
    a->depth = 1;
    a->frames[0] = (struct claimd_args_frame){0, 0, 1};
    if (msgpack_sbuffer_write(&a->buf, reserved, HDR_RESERVED) < 0) fail(a, CLAIMD_E_NOMEM);
}

claimd_args *claimd_args_new(void)
{
    claimd_args *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    msgpack_sbuffer_init(&a->buf);
    msgpack_packer_init(&a->pk, &a->buf, msgpack_sbuffer_write);
    start_top_map(a);
    if (a->err) {
        claimd_args_free(a);
        return NULL;
    }
    return a;
}

claimd_args *claimd_args_from_msgpack(const void *map, size_t len)
{
    size_t object_len = 0;
    if (!map || len == 0 || ((const unsigned char *)map)[0] < 0x80 ||
        (((const unsigned char *)map)[0] > 0x8f && ((const unsigned char *)map)[0] != 0xde &&
         ((const unsigned char *)map)[0] != 0xdf))
        return NULL;
    if (cd_prescan(map, len, len, CD_CLIENT_MAX_DEPTH, &object_len) != CD_SCAN_OK ||
        object_len != len)
        return NULL;
    claimd_args *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    msgpack_sbuffer_init(&a->buf);
    msgpack_packer_init(&a->pk, &a->buf, msgpack_sbuffer_write);
    a->packed = 1;
    if (msgpack_sbuffer_write(&a->buf, map, len) < 0) {
        claimd_args_free(a);
        return NULL;
    }
    return a;
}

void claimd_args_free(claimd_args *a)
{
    if (!a) return;
    msgpack_sbuffer_destroy(&a->buf);
    free(a);
}

void claimd_args_reset(claimd_args *a)
{
    if (!a) return;
    a->err = CLAIMD_OK;
    a->packed = 0;
    start_top_map(a);
}

int claimd_args_error(const claimd_args *a)
{
    return a ? a->err : CLAIMD_E_USAGE;
}

/* Checks that a value may be added at this point and packs its key when inside a map.
 * Counts the value in its container. Returns 0 or -1 (error recorded). */
static int begin_value(claimd_args *a, const char *key)
{
    if (a->err) return -1;
    if (a->packed || a->depth == 0) return fail(a, CLAIMD_E_USAGE), -1;
    struct claimd_args_frame *f = &a->frames[a->depth - 1];
    if (f->count == UINT32_MAX) return fail(a, CLAIMD_E_USAGE), -1;
    if (f->is_map) {
        if (!key) return fail(a, CLAIMD_E_USAGE), -1;
        if (msgpack_pack_str_with_body(&a->pk, key, strlen(key)) < 0)
            return fail(a, CLAIMD_E_NOMEM), -1;
    } else if (key) {
        return fail(a, CLAIMD_E_USAGE), -1;
    }
    f->count++;
    return 0;
}

/* Records the outcome of packing a value. */
static int packed(claimd_args *a, int rc)
{
    return rc < 0 ? fail(a, CLAIMD_E_NOMEM) : a->err;
}

int claimd_args_str(claimd_args *a, const char *key, const char *s)
{
    if (!a) return CLAIMD_E_USAGE;
    if (!s) return fail(a, CLAIMD_E_USAGE);
    return claimd_args_strn(a, key, s, strlen(s));
}

int claimd_args_strn(claimd_args *a, const char *key, const char *s, size_t len)
{
    if (!a) return CLAIMD_E_USAGE;
    if ((!s && len) || len > UINT32_MAX) return fail(a, CLAIMD_E_USAGE);
    if (begin_value(a, key) < 0) return a->err;
    return packed(a, msgpack_pack_str_with_body(&a->pk, s ? s : "", len));
}

int claimd_args_bin(claimd_args *a, const char *key, const void *p, size_t len)
{
    if (!a) return CLAIMD_E_USAGE;
    if ((!p && len) || len > UINT32_MAX) return fail(a, CLAIMD_E_USAGE);
    if (begin_value(a, key) < 0) return a->err;
    return packed(a, msgpack_pack_bin_with_body(&a->pk, p ? p : "", len));
}

int claimd_args_int(claimd_args *a, const char *key, int64_t v)
{
    if (!a) return CLAIMD_E_USAGE;
    if (begin_value(a, key) < 0) return a->err;
    return packed(a, msgpack_pack_int64(&a->pk, v));
}

int claimd_args_uint(claimd_args *a, const char *key, uint64_t v)
{
    if (!a) return CLAIMD_E_USAGE;
    if (begin_value(a, key) < 0) return a->err;
    return packed(a, msgpack_pack_uint64(&a->pk, v));
}

int claimd_args_bool(claimd_args *a, const char *key, int v)
{
    if (!a) return CLAIMD_E_USAGE;
    if (begin_value(a, key) < 0) return a->err;
    return packed(a, v ? msgpack_pack_true(&a->pk) : msgpack_pack_false(&a->pk));
}

int claimd_args_nil(claimd_args *a, const char *key)
{
    if (!a) return CLAIMD_E_USAGE;
    if (begin_value(a, key) < 0) return a->err;
    return packed(a, msgpack_pack_nil(&a->pk));
}

int claimd_args_float(claimd_args *a, const char *key, double v)
{
    if (!a) return CLAIMD_E_USAGE;
    if (begin_value(a, key) < 0) return a->err;
    return packed(a, msgpack_pack_double(&a->pk, v));
}

int claimd_args_raw(claimd_args *a, const char *key, const void *msgpack, size_t len)
{
    size_t object_len = 0;
    if (!a) return CLAIMD_E_USAGE;
    if (!msgpack || len == 0 ||
        cd_prescan(msgpack, len, len, CD_CLIENT_MAX_DEPTH, &object_len) != CD_SCAN_OK ||
        object_len != len)
        return fail(a, CLAIMD_E_USAGE);
    if (begin_value(a, key) < 0) return a->err;
    return packed(a, msgpack_sbuffer_write(&a->buf, msgpack, len));
}

int claimd_args_value(claimd_args *a, const char *key, const claimd_value *v)
{
    if (!a) return CLAIMD_E_USAGE;
    if (!v) return fail(a, CLAIMD_E_USAGE);
    if (begin_value(a, key) < 0) return a->err;
    /* Trees made by the library are never too deep to pack, so a failure is the allocation. */
    return packed(a, cd_client_pack_value(&a->pk, v));
}

static int begin_container(claimd_args *a, const char *key, int is_map)
{
    static const char reserved[HDR_RESERVED] = {0};
    if (!a) return CLAIMD_E_USAGE;
    if (a->depth >= CD_CLIENT_ARGS_MAX_DEPTH) return fail(a, CLAIMD_E_USAGE);
    if (begin_value(a, key) < 0) return a->err;
    size_t off = a->buf.size;
    if (msgpack_sbuffer_write(&a->buf, reserved, HDR_RESERVED) < 0) return fail(a, CLAIMD_E_NOMEM);
    a->frames[a->depth++] = (struct claimd_args_frame){off, 0, is_map};
    return a->err;
}

int claimd_args_begin_array(claimd_args *a, const char *key)
{
    return begin_container(a, key, 0);
}

int claimd_args_begin_map(claimd_args *a, const char *key)
{
    return begin_container(a, key, 1);
}

int claimd_args_end(claimd_args *a)
{
    if (!a) return CLAIMD_E_USAGE;
    if (a->err) return a->err;
    if (a->packed || a->depth < 2) return fail(a, CLAIMD_E_USAGE);
    struct claimd_args_frame *f = &a->frames[--a->depth];
    unsigned char *hdr = (unsigned char *)a->buf.data + f->hdr_off;
    size_t h = put_header(hdr, f->is_map, f->count);
    if (h < HDR_RESERVED) {
        size_t body = f->hdr_off + HDR_RESERVED;
        memmove(hdr + h, a->buf.data + body, a->buf.size - body);
        a->buf.size -= HDR_RESERVED - h;
    }
    return a->err;
}

int cd_client_args_bytes(const claimd_args *a, const char **p, size_t *len)
{
    if (!a || a->err) return -1;
    if (a->packed) {
        *p = a->buf.data;
        *len = a->buf.size;
        return 0;
    }
    if (a->depth != 1 || a->buf.size < HDR_RESERVED) return -1;
    size_t h = header_len(a->frames[0].count);
    unsigned char *start = (unsigned char *)a->buf.data + HDR_RESERVED - h;
    put_header(start, 1, a->frames[0].count);
    *p = (const char *)start;
    *len = a->buf.size - (HDR_RESERVED - h);
    return 0;
}

const void *claimd_args_data(claimd_args *a, size_t *len)
{
    const char *p;
    size_t n;
    if (cd_client_args_bytes(a, &p, &n) < 0) return NULL;
    if (len) *len = n;
    return p;
}
