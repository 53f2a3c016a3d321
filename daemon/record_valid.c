/* record_valid: a stored enum indexes a name table when the record goes out (claim_out.c), a
 * stored count sizes an allocation: a flipped bit there was a crash (medium 1000000 -> SIGSEGV)
 * or garbage (status 100 -> "meta"). Every decoder checks each field's type and range first. */
#include <inttypes.h>
#include <stdio.h>
#include "log.h"
#include "record_valid.h"

size_t cd_names_count(const char *const *names)
{
    size_t n = 0;
    while (names[n]) n++;
    return n;
}

static int damaged(cd_call *c, const char *field, const char *what)
{
    return cd_fail(c, CLAIMD_E_INTERNAL, NULL, "damaged record: field %s %s", field, what);
}

int cd_rv_str(cd_call *c, const msgpack_object *o, const char *field, int required)
{
    if (o->type == MSGPACK_OBJECT_STR) return 0;
    if (o->type == MSGPACK_OBJECT_NIL && !required) return 0;
    return damaged(c, field, required ? "is not a string" : "is neither a string nor nil");
}

int cd_rv_uint(cd_call *c, const msgpack_object *o, const char *field)
{
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER ? 0 : damaged(c, field, "is not an unsigned integer");
}

int cd_rv_int(cd_call *c, const msgpack_object *o, const char *field)
{
    return o->type == MSGPACK_OBJECT_POSITIVE_INTEGER || o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER
        ? 0 : damaged(c, field, "is not an integer");
}

int cd_rv_bool(cd_call *c, const msgpack_object *o, const char *field)
{
    return o->type == MSGPACK_OBJECT_BOOLEAN ? 0 : damaged(c, field, "is not a boolean");
}

int cd_rv_enum(cd_call *c, const msgpack_object *o, const char *field, size_t count, int none_ok)
{
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER && o->via.u64 < count) return 0;
    if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER && o->via.i64 == -1 && none_ok) return 0;
    return damaged(c, field, "is out of range");
}

int cd_rv_array(cd_call *c, const msgpack_object *o, const char *field)
{
    return o->type == MSGPACK_OBJECT_ARRAY ? 0 : damaged(c, field, "is not an array");
}

int cd_rec_report(cd_call *c, const char *table, const MDB_val *key)
{
    char k[80];
    const unsigned char *p = key ? key->mv_data : NULL;
    size_t n = key ? key->mv_size : 0;
    if (n == 8) {
        uint64_t id = 0;
        for (int i = 0; i < 8; i++) id = id << 8 | p[i];
        snprintf(k, sizeof k, "id %" PRIu64, id);
    } else {
        size_t w = 0;
        w += (size_t)snprintf(k, sizeof k, "0x");
        for (size_t i = 0; i < n && w + 3 < sizeof k; i++) w += (size_t)snprintf(k + w, sizeof k - w, "%02x", p[i]);
    }
    cd_error("damaged record in table %s, key %s: %s", table, k, c->err ? c->err_msg : "unreadable");
    return -1;
}
