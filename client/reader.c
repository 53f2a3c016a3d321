/* reader: the public face of the transport-free codec (claimd_reader, claimd_message,
 * claimd_encode_request), for programs that run their own event loop. It wraps codec.c's reader
 * and request packer, the same code the blocking context uses, and does no I/O. */
#include <stdlib.h>
#include <string.h>

#include "client.h"

#define DEFAULT_MAX_MESSAGE ((size_t)256 << 20)

struct claimd_reader {
    cd_client_reader rd;
};

struct claimd_message {
    cd_client_msg m;
    int code;                      /* reply: CLAIMD_OK or the error's claimd_code */
};

/* ---- requests ---- */

/* A msgpack writer into a fixed buffer that keeps counting past its end. */
typedef struct {
    char *buf;
    size_t cap, len;
} fixed_out;

static int fixed_write(void *data, const char *p, size_t n)
{
    fixed_out *o = data;
    if (o->len <= o->cap && n <= o->cap - o->len) memcpy(o->buf + o->len, p, n);
    o->len += n;
    return 0;
}

int claimd_encode_request(void *buf, size_t cap, size_t *len, uint32_t msgid, const char *method,
                          const claimd_args *params)
{
    if (len) *len = 0;
    if (!len || (!buf && cap) || !method || !*method) return CLAIMD_E_USAGE;
    const char *body = NULL;
    size_t body_len = 0;
    if (params && cd_client_args_bytes(params, &body, &body_len) < 0)
        return params->err ? params->err : CLAIMD_E_USAGE;
    fixed_out o = {buf, cap, 0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &o, fixed_write);
    msgpack_pack_array(&pk, 4);
    msgpack_pack_uint8(&pk, 0);
    msgpack_pack_uint32(&pk, msgid);
    msgpack_pack_str_with_body(&pk, method, strlen(method));
    msgpack_pack_array(&pk, params ? 1 : 0);
    if (params) fixed_write(&o, body, body_len);
    *len = o.len;
    return o.len <= cap ? CLAIMD_OK : CLAIMD_E_NOMEM;
}

/* ---- reader ---- */

claimd_reader *claimd_reader_new(size_t max_message)
{
    if (max_message == 0) max_message = DEFAULT_MAX_MESSAGE;
    if (max_message < 64) return NULL;
    claimd_reader *r = malloc(sizeof *r);
    if (!r) return NULL;
    cd_client_reader_init(&r->rd, max_message, CD_CLIENT_MAX_DEPTH);
    return r;
}

void claimd_reader_free(claimd_reader *r)
{
    if (!r) return;
    cd_client_reader_free(&r->rd);
    free(r);
}

int claimd_reader_feed(claimd_reader *r, const void *buf, size_t len)
{
    if (!r || (!buf && len)) return CLAIMD_E_USAGE;
    if (r->rd.failed) return CLAIMD_E_PROTOCOL;
    return cd_client_reader_feed(&r->rd, buf, len) < 0 ? CLAIMD_E_NOMEM : CLAIMD_OK;
}

/* The claimd_code of a reply's error: the map's "code", or internal for a string error from a
 * plain msgpack-rpc server. */
static int error_code(const claimd_value *e)
{
    size_t clen = 0;
    const char *code = claimd_value_str(claimd_value_get(e, "code"), &clen);
    return code ? (int)claimd_code_from_name(code, clen) : CLAIMD_E_INTERNAL;
}

int claimd_reader_next(claimd_reader *r, claimd_message **msg)
{
    if (msg) *msg = NULL;
    if (!r || !msg) return CLAIMD_E_USAGE;
    claimd_message *m = calloc(1, sizeof *m);
    if (!m) return CLAIMD_E_NOMEM;
    int rc = cd_client_reader_next(&r->rd, &m->m);
    if (rc <= 0) {
        free(m);
        return rc == 0 ? CLAIMD_OK : CLAIMD_E_PROTOCOL;
    }
    if (m->m.kind == CD_CLIENT_RESPONSE && m->m.error) m->code = error_code(m->m.error);
    *msg = m;
    return CLAIMD_OK;
}

const char *claimd_reader_errstr(const claimd_reader *r)
{
    if (!r) return "no reader";
    return r->rd.failed ? r->rd.errstr : "";
}

/* ---- messages ---- */

void claimd_message_free(claimd_message *m)
{
    if (!m) return;
    cd_client_msg_clear(&m->m);
    free(m);
}

claimd_message_type claimd_message_type_of(const claimd_message *m)
{
    if (!m) return 0;
    return m->m.kind == CD_CLIENT_RESPONSE ? CLAIMD_MSG_REPLY : CLAIMD_MSG_NOTIFICATION;
}

uint32_t claimd_message_msgid(const claimd_message *m)
{
    return m && m->m.kind == CD_CLIENT_RESPONSE ? m->m.msgid : 0;
}

int claimd_message_code(const claimd_message *m)
{
    return m ? m->code : CLAIMD_E_USAGE;
}

const claimd_value *claimd_message_error(const claimd_message *m)
{
    return m ? m->m.error : NULL;
}

const claimd_value *claimd_message_result(const claimd_message *m)
{
    return m ? m->m.result : NULL;
}

claimd_value *claimd_message_take_result(claimd_message *m)
{
    if (!m) return NULL;
    claimd_value *v = m->m.result;
    m->m.result = NULL;
    return v;
}

const char *claimd_message_method(const claimd_message *m)
{
    return m ? m->m.method : NULL;
}

const claimd_value *claimd_message_params(const claimd_message *m)
{
    return m ? m->m.params : NULL;
}
