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
        memcpy(out->method, e[1].via.str.ptr, e[1].via.str.size);
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

/* How a MessagePack header at p (avail bytes) extends: *hdr header bytes, then *payload bytes,
 * then *elems child elements. Returns 1, 0 when the header itself is incomplete, or -1 for a byte
 * the walker leaves to cd_prescan to judge (0xc1). */
static int header_shape(const unsigned char *p, size_t avail, size_t *hdr, uint64_t *payload,
                        uint64_t *elems)
{
    static const unsigned char fixed[32] = {
        /* 0xc0..0xdf: total header size for fixed-size types, 0 for the others */
        1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 5, 9, 2, 3, 5, 9, 2, 3, 5, 9, 3, 4, 6, 10, 18, 0, 0, 0, 0, 0, 0, 0};
    unsigned b = p[0];
    *payload = 0;
    *elems = 0;
    *hdr = 1;
    if (b <= 0x7f || b >= 0xe0) return 1;
    if (b <= 0x8f) { *elems = 2u * (b & 0x0f); return 1; }
    if (b <= 0x9f) { *elems = b & 0x0f; return 1; }
    if (b <= 0xbf) { *payload = b & 0x1f; return 1; }
    if (b == 0xc1) return -1;
    if (fixed[b - 0xc0]) { *hdr = fixed[b - 0xc0]; return 1; }
    size_t lenbytes;
    switch (b) {
    case 0xc4: case 0xc7: case 0xd9: lenbytes = 1; break;
    case 0xc5: case 0xc8: case 0xda: case 0xdc: case 0xde: lenbytes = 2; break;
    default: lenbytes = 4; break; /* c6 c9 db dd df */
    }
    if (avail < 1 + lenbytes) return 0;
    uint64_t n = 0;
    for (size_t i = 0; i < lenbytes; i++) n = (n << 8) | p[1 + i];
    *hdr = 1 + lenbytes;
    if (b == 0xc7 || b == 0xc8 || b == 0xc9) { *hdr += 1; *payload = n; } /* ext: type byte */
    else if (b == 0xdc || b == 0xdd) *elems = n;
    else if (b == 0xde || b == 0xdf) *elems = 2 * n;
    else *payload = n;
    return 1;
}

/* Walks the buffered bytes of the current object from where the last walk stopped.
 * Returns 1 when the object is complete (its length is r->walked), 0 when more bytes are needed,
 * or -1 when the bytes are for cd_prescan to judge (a limit or a malformed byte). */
static int walk(cd_client_reader *r)
{
    const unsigned char *base = (const unsigned char *)r->buf + r->off;
    size_t avail = r->len - r->off;
    while (r->walked < avail) {
        size_t hdr;
        uint64_t payload, elems;
        int hs = header_shape(base + r->walked, avail - r->walked, &hdr, &payload, &elems);
        if (hs < 0) return -1;
        if (hs == 0) return 0;
        if (payload > r->max_bytes || elems > r->max_bytes ||
            r->walked + hdr + payload > r->max_bytes)
            return -1;
        if (r->walked + hdr + payload > avail) return 0;
        r->walked += hdr + payload;
        if (elems) {
            if (r->nstack >= r->max_depth) return -1;
            r->stack[r->nstack++] = elems;
            continue;
        }
        /* One element done: close every container it completes. */
        while (r->nstack && --r->stack[r->nstack - 1] == 0) r->nstack--;
        if (r->nstack == 0) return 1;
    }
    return r->walked >= r->max_bytes ? -1 : 0;
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
    return 1;
}
