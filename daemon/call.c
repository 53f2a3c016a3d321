/* call: request envelope decoding, error recording and reply encoding. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include "call.h"
#include "server.h"
#include "log.h"
#include "wire_values.h"

static cd_call *call_alloc(cd_server *srv, cd_conn *conn, size_t zone_chunk)
{
    cd_call *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    if (!msgpack_zone_init(&c->zone, zone_chunk)) { free(c); return NULL; }
    msgpack_sbuffer_init(&c->result);
    msgpack_packer_init(&c->pk, &c->result, msgpack_sbuffer_write);
    c->srv = srv;
    c->db = srv ? &srv->db : NULL;
    c->cfg = srv ? &srv->cfg : NULL;
    c->conn = conn;
    c->params.type = MSGPACK_OBJECT_NIL;
    return c;
}

cd_call *cd_call_new(cd_server *srv, cd_conn *conn, const char *bytes, size_t len)
{
    /* The zone's first chunk holds the copy of the request, so one allocation serves most calls. */
    cd_call *c = call_alloc(srv, conn, len + 4096 > 8192 ? len + 4096 : 8192);
    if (!c) return NULL;
    char *copy = msgpack_zone_malloc_no_align(&c->zone, len);
    msgpack_object req;
    size_t off = 0;
    if (!copy) goto drop;
    memcpy(copy, bytes, len);
    c->req_bytes = len;
    if (msgpack_unpack(copy, len, &off, &c->zone, &req) < 0) goto drop;
    if (req.type != MSGPACK_OBJECT_ARRAY || req.via.array.size < 2) goto drop;
    msgpack_object *el = req.via.array.ptr;
    /* A client's notification [2, method, params]: run like a request, its reply dropped. */
    if (req.via.array.size == 3 && el[0].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
        el[0].via.u64 == 2) {
        c->notification = 1;
        if (!cd_wire_text(&el[1]))
            cd_fail(c, CLAIMD_E_BAD_REQUEST, NULL, "method must be a string");
        else if (el[2].type != MSGPACK_OBJECT_ARRAY || el[2].via.array.size > 1 ||
                 (el[2].via.array.size == 1 && el[2].via.array.ptr[0].type != MSGPACK_OBJECT_MAP))
            cd_fail(c, CLAIMD_E_BAD_REQUEST, NULL, "params must be [] or [map]");
        else if (el[2].via.array.size == 1)
            c->params = el[2].via.array.ptr[0];
        if (el[1].type == MSGPACK_OBJECT_STR)
            c->method_name = (cd_str){ el[1].via.str.ptr, el[1].via.str.size };
        return c;
    }
    cd_wire_integral(&el[1]);   /* a msgid a JavaScript library sent as a float */
    if (el[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || el[1].via.u64 > UINT32_MAX) goto drop;
    c->msgid = (uint32_t)el[1].via.u64;
    if (req.via.array.size >= 3) cd_wire_text(&el[2]);   /* a method name sent as bin */
    cd_wire_integral(&el[0]);
    if (req.via.array.size != 4)
        cd_fail(c, CLAIMD_E_BAD_REQUEST, NULL, "a request is [0, msgid, method, params]");
    else if (el[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER || el[0].via.u64 != 0)
        cd_fail(c, CLAIMD_E_BAD_REQUEST, NULL, "message type must be 0 (request)");
    else if (el[2].type != MSGPACK_OBJECT_STR)
        cd_fail(c, CLAIMD_E_BAD_REQUEST, NULL, "method must be a string");
    else if (el[3].type != MSGPACK_OBJECT_ARRAY || el[3].via.array.size > 1 ||
             (el[3].via.array.size == 1 && el[3].via.array.ptr[0].type != MSGPACK_OBJECT_MAP))
        cd_fail(c, CLAIMD_E_BAD_REQUEST, NULL, "params must be [] or [map]");
    else if (el[3].via.array.size == 1)
        c->params = el[3].via.array.ptr[0];
    if (req.via.array.size >= 3 && el[2].type == MSGPACK_OBJECT_STR)
        c->method_name = (cd_str){ el[2].via.str.ptr, el[2].via.str.size };
    return c;
drop:
    cd_call_free(c);
    return NULL;
}

cd_call *cd_call_new_internal(cd_server *srv)
{
    return call_alloc(srv, NULL, 8192);
}

cd_call *cd_call_new_error(cd_server *srv, cd_conn *conn, uint32_t msgid, claimd_code code,
                           const char *msg)
{
    cd_call *c = call_alloc(srv, conn, 1024);
    if (!c) return NULL;
    c->msgid = msgid;
    cd_fail(c, code, NULL, "%s", msg);
    return c;
}

void cd_call_free(cd_call *c)
{
    if (!c) return;
    msgpack_zone_destroy(&c->zone);
    msgpack_sbuffer_destroy(&c->result);
    free(c);
}

int cd_fail(cd_call *c, claimd_code code, const char *field, const char *fmt, ...)
{
    if (c->err) return -1;
    c->err = code;
    c->err_field = field;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err_msg, sizeof c->err_msg, fmt, ap);
    va_end(ap);
    return -1;
}

/* LMDB reports a short write, which is how a filling disk shows, as EIO: call it full when
 * the data's file system has almost no room left. */
static int disk_nearly_full(const cd_call *c)
{
    struct statvfs st;
    if (statvfs(c->srv->cfg.data_dir, &st) < 0) return 0;
    uint64_t free_bytes = (uint64_t)st.f_bavail * st.f_frsize;
    return free_bytes < ((uint64_t)16 << 20) || st.f_bavail < st.f_blocks / 100;
}

int cd_fail_mdb(cd_call *c, int rc, const char *what)
{
    if (!c->mdb_rc) c->mdb_rc = rc;
    if (rc == MDB_MAP_FULL || rc == ENOSPC || rc == EDQUOT || (rc == EIO && disk_nearly_full(c)))
        return cd_fail(c, CLAIMD_E_STORAGE_FULL, NULL, "storage full while %s", what);
    cd_error("storage error while %s: %s", what, mdb_strerror(rc));
    return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "storage error while %s", what);
}

void cd_call_error_id(cd_call *c, uint64_t id)
{
    c->err_id = id;
    c->has_err_id = 1;
}

void *cd_call_alloc(cd_call *c, size_t n)
{
    return msgpack_zone_malloc(&c->zone, n ? n : 1);
}

char *cd_call_strndup(cd_call *c, const char *s, size_t n)
{
    char *d = msgpack_zone_malloc_no_align(&c->zone, n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = 0;
    return d;
}

char *cd_call_printf(cd_call *c, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0) return NULL;
    return cd_call_strndup(c, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

char *cd_call_item_path(cd_call *c, const char *prefix, const char *key, uint32_t i)
{
    size_t np = prefix ? strlen(prefix) : 0, nk = strlen(key);
    char digits[10];
    size_t nd = 0;
    do digits[nd++] = (char)('0' + i % 10); while ((i /= 10));
    char *d = msgpack_zone_malloc_no_align(&c->zone, np + 1 + nk + nd + 3);
    if (!d) return NULL;
    char *p = d;
    if (prefix) {
        memcpy(p, prefix, np);
        p += np;
        *p++ = '.';
    }
    memcpy(p, key, nk);
    p += nk;
    *p++ = '[';
    while (nd) *p++ = digits[--nd];
    *p++ = ']';
    *p = 0;
    return d;
}

void cd_call_reset(cd_call *c)
{
    msgpack_sbuffer_clear(&c->result);
    c->err = CLAIMD_OK;
    c->err_field = NULL;
    c->err_msg[0] = 0;
    c->has_err_id = 0;
    c->mdb_rc = 0;
    c->nchanges = 0;
    c->names = NULL;   /* ids it held may belong to entities a retried batch never created */
}

int cd_call_add_change(cd_call *c, const cd_change *ch)
{
    if (c->nchanges == c->changes_cap) {
        size_t cap = c->changes_cap ? c->changes_cap * 2 : CD_MAX_CHANGES_INLINE;
        cd_change *n = cd_call_alloc(c, cap * sizeof *n);
        if (!n) return -1;
        if (c->nchanges) memcpy(n, c->changes, c->nchanges * sizeof *n);
        c->changes = n;   /* the old array stays in the zone until the call is freed */
        c->changes_cap = cap;
    }
    c->changes[c->nchanges++] = *ch;
    return 0;
}

void cd_pack_strn(msgpack_packer *pk, const char *s, size_t n)
{
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void cd_pack_cstr(msgpack_packer *pk, const char *s)
{
    cd_pack_strn(pk, s, strlen(s));
}

void cd_call_encode_reply(const cd_call *c, msgpack_sbuffer *out)
{
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint8(&pk, 1);
    msgpack_pack_uint32(&pk, c->msgid);
    if (c->err) {
        msgpack_pack_map(&pk, 2 + (c->err_field != NULL) + c->has_err_id);
        cd_pack_cstr(&pk, "code");
        cd_pack_cstr(&pk, claimd_code_name(c->err));
        cd_pack_cstr(&pk, "message");
        cd_pack_cstr(&pk, c->err_msg);
        if (c->err_field) {
            cd_pack_cstr(&pk, "field");
            cd_pack_cstr(&pk, c->err_field);
        }
        if (c->has_err_id) {
            cd_pack_cstr(&pk, "id");
            msgpack_pack_uint64(&pk, c->err_id);
        }
        msgpack_pack_nil(&pk);
    } else {
        msgpack_pack_nil(&pk);
        if (c->result.size) msgpack_sbuffer_write(out, c->result.data, c->result.size);
        else msgpack_pack_map(&pk, 0);
    }
}
