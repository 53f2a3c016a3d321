/* codec: the client side of msgpack-rpc with no I/O in it. Requests are packed into a buffer;
 * bytes received from any transport are fed to a reader that hands out whole responses and
 * notifications. A fuzz harness (tests/fuzz/fuzz_reply.c) drives this file alone.
 *
 * Order of defences on received bytes: the reader's walker only finds where an object ends (so
 * a big reply arriving in pieces is walked once, not once per piece); the complete object then
 * passes cd_prescan with the size and depth limits; only then does msgpack_unpack allocate. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "prescan.h"

int cd_client_pack_request(msgpack_sbuffer *out, uint32_t msgid, const char *method,
                           const claimd_args *params)
{
    const char *body = NULL;
    size_t body_len = 0;
    if (!method || !*method) return CLAIMD_E_USAGE;
    if (params && cd_client_args_bytes(params, &body, &body_len) < 0)
        return params->err ? params->err : CLAIMD_E_USAGE;
    size_t before = out->size;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    if (msgpack_pack_array(&pk, 4) < 0 || msgpack_pack_uint8(&pk, 0) < 0 ||
        msgpack_pack_uint32(&pk, msgid) < 0 ||
        msgpack_pack_str_with_body(&pk, method, strlen(method)) < 0 ||
        msgpack_pack_array(&pk, params ? 1 : 0) < 0 ||
        (params && msgpack_sbuffer_write(out, body, body_len) < 0)) {
        out->size = before;
        return CLAIMD_E_NOMEM;
    }
    return CLAIMD_OK;
}

void cd_client_msg_clear(cd_client_msg *m)
{
    struct cd_client_msg *next = m->next;
    claimd_value_free(m->error);
    claimd_value_free(m->result);
    claimd_value_free(m->params);
    free(m->method);
    memset(m, 0, sizeof *m);
    m->next = next;
}

__attribute__((format(printf, 3, 4)))
static int bad(char *errbuf, size_t errlen, const char *fmt, ...)
{
    if (errbuf && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Converts a sub-object into a new tree, reporting why it could not be. */
static int convert(const msgpack_object *o, claimd_value **out, char *errbuf, size_t errlen)
{
    int rc = cd_client_value_from_object(o, out);
    if (rc == CLAIMD_E_NOMEM) return bad(errbuf, errlen, "out of memory decoding a reply");
    if (rc != CLAIMD_OK) return bad(errbuf, errlen, "reply holds a MessagePack ext value");
    return 0;
}

/* Fills *out from an unpacked envelope. Returns 0 or -1. */
static int read_envelope(const msgpack_object *o, cd_client_msg *out, char *errbuf, size_t errlen)
{
    if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size == 0)
        return bad(errbuf, errlen, "reply is not a msgpack-rpc array");
    const msgpack_object *e = o->via.array.ptr;
    if (e[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER)
        return bad(errbuf, errlen, "reply type is not an integer");
    if (e[0].via.u64 == 1) {
        if (o->via.array.size != 4)
            return bad(errbuf, errlen, "response has %u elements, not 4", o->via.array.size);
        if (e[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || e[1].via.u64 > UINT32_MAX)
            return bad(errbuf, errlen, "response msgid is not a uint32");
        out->kind = CD_CLIENT_RESPONSE;
        out->msgid = (uint32_t)e[1].via.u64;
        if (e[2].type == MSGPACK_OBJECT_NIL) return convert(&e[3], &out->result, errbuf, errlen);
        /* Plain msgpack-rpc servers may send a string error; the daemon sends a map. */
        if (e[2].type != MSGPACK_OBJECT_MAP && e[2].type != MSGPACK_OBJECT_STR)
            return bad(errbuf, errlen, "response error is neither nil, a map nor a string");
        return convert(&e[2], &out->error, errbuf, errlen);
    }
    if (e[0].via.u64 == 2) {
        if (o->via.array.size != 3)
            return bad(errbuf, errlen, "notification has %u elements, not 3", o->via.array.size);
        if (e[1].type != MSGPACK_OBJECT_STR)
            return bad(errbuf, errlen, "notification method is not a string");
        if (e[2].type != MSGPACK_OBJECT_ARRAY)
            return bad(errbuf, errlen, "notification params are not an array");
        out->kind = CD_CLIENT_NOTIFICATION;
        out->method = malloc(e[1].via.str.size + 1);
        if (!out->method) return bad(errbuf, errlen, "out of memory decoding a reply");
        if (e[1].via.str.size) memcpy(out->method, e[1].via.str.ptr, e[1].via.str.size);
        out->method[e[1].via.str.size] = '\0';
        return convert(&e[2], &out->params, errbuf, errlen);
    }
    return bad(errbuf, errlen, "message type %llu is neither a response nor a notification",
               (unsigned long long)e[0].via.u64);
}

int cd_client_decode_message(const char *buf, size_t len, size_t max_bytes, unsigned max_depth,
                             cd_client_msg *out, size_t *used, char *errbuf, size_t errlen)
{
    size_t object_len = 0;
    cd_client_msg_clear(out);
    cd_scan_result sr = cd_prescan(buf, len, max_bytes, max_depth, &object_len);
    if (sr == CD_SCAN_NEED_MORE) return 0;
    if (sr != CD_SCAN_OK)
        return bad(errbuf, errlen, "reply rejected by the pre-scan: %s", cd_scan_result_name(sr));
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc;
    if (msgpack_unpack_next(&up, buf, object_len, &off) != MSGPACK_UNPACK_SUCCESS ||
        off != object_len)
        rc = bad(errbuf, errlen, "reply is not valid MessagePack");
    else
        rc = read_envelope(&up.data, out, errbuf, errlen);
    msgpack_unpacked_destroy(&up);
    if (rc < 0) {
        cd_client_msg_clear(out);
        return -1;
    }
    *used = object_len;
    return 1;
}

/* ---- reader ---- */

void cd_client_reader_init(cd_client_reader *r, size_t max_bytes, unsigned max_depth)
{
    memset(r, 0, sizeof *r);
    r->pending = 1;
    r->max_bytes = max_bytes;
    r->max_depth = max_depth > CD_CLIENT_MAX_DEPTH ? CD_CLIENT_MAX_DEPTH : max_depth;
}

void cd_client_reader_free(cd_client_reader *r)
{
    free(r->buf);
    r->buf = NULL;
    r->off = r->len = r->cap = 0;
}

int cd_client_reader_feed(cd_client_reader *r, const void *p, size_t n)
{
    if (n == 0) return 0;
    if (r->off == r->len) r->off = r->len = 0;
    if (n > r->cap - r->len && r->off > 0) {
        /* Reclaim the consumed front before growing. */
        memmove(r->buf, r->buf + r->off, r->len - r->off);
        r->len -= r->off;
        r->off = 0;
    }
    if (n > r->cap - r->len) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap - r->len < n) {
            if (cap > SIZE_MAX / 2) return -1;
            cap *= 2;
        }
        char *nb = realloc(r->buf, cap);
        if (!nb) return -1;
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + r->len, p, n);
    r->len += n;
    return 0;
}

/* The shape of the value whose type byte is b: *hdr bytes of header (type byte, length field,
 * ext type byte), *lenw of them a big-endian length or count at offset 1, and for fixed-size
 * values or fix types the payload size or count in *inline_n. *kind: 0 scalar or blob, 1 array,
 * 2 map. Returns -1 for 0xc1, which is never valid. Same classification as cd_prescan. */
static int shape(unsigned b, size_t *hdr, unsigned *lenw, uint64_t *inline_n, int *kind)
{
    *hdr = 1;
    *lenw = 0;
    *inline_n = 0;
    *kind = 0;
    if (b <= 0x7f || b >= 0xe0) return 0;
    if (b <= 0x8f) { *kind = 2; *inline_n = b & 0x0f; return 0; }
    if (b <= 0x9f) { *kind = 1; *inline_n = b & 0x0f; return 0; }
    if (b <= 0xbf) { *inline_n = b & 0x1f; return 0; }
    switch (b) {
    case 0xc0: case 0xc2: case 0xc3: return 0;
    case 0xc4: case 0xd9: *hdr = 2; *lenw = 1; return 0;
    case 0xc5: case 0xda: *hdr = 3; *lenw = 2; return 0;
    case 0xc6: case 0xdb: *hdr = 5; *lenw = 4; return 0;
    case 0xc7: *hdr = 3; *lenw = 1; return 0;
    case 0xc8: *hdr = 4; *lenw = 2; return 0;
    case 0xc9: *hdr = 6; *lenw = 4; return 0;
    case 0xca: *inline_n = 4; return 0;
    case 0xcb: *inline_n = 8; return 0;
    case 0xcc: case 0xd0: *inline_n = 1; return 0;
    case 0xcd: case 0xd1: *inline_n = 2; return 0;
    case 0xce: case 0xd2: *inline_n = 4; return 0;
    case 0xcf: case 0xd3: *inline_n = 8; return 0;
    case 0xd4: *hdr = 2; *inline_n = 1; return 0;
    case 0xd5: *hdr = 2; *inline_n = 2; return 0;
    case 0xd6: *hdr = 2; *inline_n = 4; return 0;
    case 0xd7: *hdr = 2; *inline_n = 8; return 0;
    case 0xd8: *hdr = 2; *inline_n = 16; return 0;
    case 0xdc: *kind = 1; *hdr = 3; *lenw = 2; return 0;
    case 0xdd: *kind = 1; *hdr = 5; *lenw = 4; return 0;
    case 0xde: *kind = 2; *hdr = 3; *lenw = 2; return 0;
    case 0xdf: *kind = 2; *hdr = 5; *lenw = 4; return 0;
    default: return -1;
    }
}

/* Walks the buffered bytes of the current object from where the last walk stopped, applying
 * cd_prescan's checks in cd_prescan's order, so that "need more bytes" here means exactly what it
 * means there. Returns 1 when the object is complete (its length is r->walked), 0 when more bytes
 * are needed, or -1 when cd_prescan will refuse the bytes (it then names the reason). State only
 * changes once an element's header and payload are all there, so a walk resumes cleanly. */
static int walk(cd_client_reader *r)
{
    const unsigned char *base = (const unsigned char *)r->buf + r->off;
    size_t avail = r->len - r->off;
    uint64_t max = r->max_bytes;
    if (max < 1) return -1;
    for (;;) {
        size_t pos = r->walked;
        if (pos >= avail) return 0;
        size_t hdr;
        unsigned lenw;
        uint64_t n;
        int kind;
        if (shape(base[pos], &hdr, &lenw, &n, &kind) < 0) return -1;
        /* One byte for every other element announced and not started: pos + pending <= max. */
        uint64_t budget = max - pos - (r->pending - 1);
        if (hdr > budget) return -1;
        if (kind && r->nstack + 1 > r->max_depth) return -1;
        if (hdr > avail - pos) return 0;
        for (unsigned i = 0; i < lenw; i++) n = (n << 8) | base[pos + 1 + i];
        if (kind) {
            uint64_t elems = kind == 2 ? 2 * n : n;
            if (hdr + elems > budget) return -1;
            r->pending--;
            r->walked = pos + hdr;
            if (elems) {
                r->stack[r->nstack++] = elems;
                r->pending += elems;
                continue;
            }
        } else {
            if (hdr + n > budget) return -1;
            if (hdr + n > avail - pos) return 0;
            r->pending--;
            r->walked = pos + hdr + (size_t)n;
        }
        /* One element done: close every container it completes. */
        while (r->nstack && --r->stack[r->nstack - 1] == 0) r->nstack--;
        if (r->nstack == 0) return 1;
    }
}

int cd_client_reader_next(cd_client_reader *r, cd_client_msg *out)
{
    if (r->failed) return -1;
    if (r->off == r->len) return 0;
    int w = walk(r);
    if (w == 0) return 0;
    size_t avail = w == 1 ? r->walked : r->len - r->off;
    size_t used = 0;
    int rc = cd_client_decode_message(r->buf + r->off, avail, r->max_bytes, r->max_depth, out,
                                      &used, r->errstr, sizeof r->errstr);
    if (rc == 0) {
        if (w == 1) { /* the walker and the pre-scan disagree: trust the stricter answer */
            r->failed = 1;
            snprintf(r->errstr, sizeof r->errstr, "reply is truncated");
            return -1;
        }
        return 0;
    }
    if (rc < 0) {
        r->failed = 1;
        return -1;
    }
    r->off += used;
    r->walked = 0;
    r->nstack = 0;
    r->pending = 1;
    return 1;
}
