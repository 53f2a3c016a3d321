/* wire_values: one pass over a request's params, so every method reads a single encoding. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "params.h"
#include "text.h"
#include "wire_values.h"

/* Maps with more keys than this are checked for duplicates by sorting, not pairwise. */
#define PAIRWISE_MAX 16

/* One step of the path from the params map down to a value, for error fields. */
typedef struct path_step {
    const struct path_step *up;
    const char *key;             /* a map key (raw client bytes), or NULL for an array index */
    size_t keylen;
    uint32_t index;
} path_step;

int cd_wire_text(msgpack_object *o)
{
    if (o->type == MSGPACK_OBJECT_BIN && cd_text_valid_utf8(o->via.bin.ptr, o->via.bin.size)) {
        /* str and bin share their layout (size, ptr) in msgpack_object's union. */
        msgpack_object_str s = { o->via.bin.size, o->via.bin.ptr };
        o->type = MSGPACK_OBJECT_STR;
        o->via.str = s;
    }
    return o->type == MSGPACK_OBJECT_STR;
}

void cd_wire_integral(msgpack_object *o)
{
    if (o->type != MSGPACK_OBJECT_FLOAT32 && o->type != MSGPACK_OBJECT_FLOAT64) return;
    double v = o->via.f64;
    if (!isfinite(v) || v != trunc(v) || fabs(v) > 9007199254740992.0) return;
    if (v >= 0) {
        o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
        o->via.u64 = (uint64_t)v;
    } else {
        o->type = MSGPACK_OBJECT_NEGATIVE_INTEGER;
        o->via.i64 = (int64_t)v;
    }
}

/* "a.b[3].c" for the step and its parents, each key shown as cd_param_name shows it. */
static const char *path_string(cd_call *c, const path_step *p)
{
    if (!p) return NULL;
    const char *up = path_string(c, p->up);
    if (!p->key) return cd_call_printf(c, "%s[%u]", up ? up : "", p->index);
    const char *name = cd_param_name(c, p->key, p->keylen);
    if (!name) return up;
    return up ? cd_call_printf(c, "%s.%s", up, name) : name;
}

static int key_cmp(const msgpack_object *a, const msgpack_object *b)
{
    if (a->type != b->type) return a->type < b->type ? -1 : 1;
    switch (a->type) {
    case MSGPACK_OBJECT_STR: case MSGPACK_OBJECT_BIN: {   /* str and bin share a layout */
        size_t n = a->via.str.size < b->via.str.size ? a->via.str.size : b->via.str.size;
        int r = n ? memcmp(a->via.str.ptr, b->via.str.ptr, n) : 0;
        if (r) return r;
        return a->via.str.size < b->via.str.size ? -1 : a->via.str.size > b->via.str.size;
    }
    case MSGPACK_OBJECT_EXT: {
        if (a->via.ext.type != b->via.ext.type) return a->via.ext.type < b->via.ext.type ? -1 : 1;
        if (a->via.ext.size != b->via.ext.size) return a->via.ext.size < b->via.ext.size ? -1 : 1;
        return a->via.ext.size ? memcmp(a->via.ext.ptr, b->via.ext.ptr, a->via.ext.size) : 0;
    }
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        return a->via.u64 < b->via.u64 ? -1 : a->via.u64 > b->via.u64;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        return a->via.i64 < b->via.i64 ? -1 : a->via.i64 > b->via.i64;
    case MSGPACK_OBJECT_BOOLEAN:
        return (int)a->via.boolean - (int)b->via.boolean;
    case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64:
        return a->via.f64 < b->via.f64 ? -1 : a->via.f64 > b->via.f64;
    default:
        return 0;   /* nil, and containers (ordered only by type: see dup_sorted) */
    }
}

static int key_equal(const msgpack_object *a, const msgpack_object *b)
{
    if (a->type == MSGPACK_OBJECT_ARRAY || a->type == MSGPACK_OBJECT_MAP)
        return msgpack_object_equal(*a, *b);
    return key_cmp(a, b) == 0;
}

static int cmp_key_ptr(const void *x, const void *y)
{
    return key_cmp(*(const msgpack_object *const *)x, *(const msgpack_object *const *)y);
}

/* The key given twice in map, or NULL. Small maps pairwise; big ones sorted in the call's zone,
 * so a 100,000-key map costs n log n, not n^2. */
static const msgpack_object *duplicate_key(cd_call *c, const msgpack_object_map *m)
{
    uint32_t n = m->size;
    if (n <= PAIRWISE_MAX) {
        for (uint32_t i = 1; i < n; i++)
            for (uint32_t j = 0; j < i; j++)
                if (key_equal(&m->ptr[i].key, &m->ptr[j].key)) return &m->ptr[i].key;
        return NULL;
    }
    const msgpack_object **keys = cd_call_alloc(c, (size_t)n * sizeof *keys);
    if (!keys) return NULL;   /* out of memory: the getters still see the first of a pair */
    for (uint32_t i = 0; i < n; i++) keys[i] = &m->ptr[i].key;
    qsort(keys, n, sizeof *keys, cmp_key_ptr);
    for (uint32_t i = 1; i < n; i++) {
        if (key_cmp(keys[i - 1], keys[i])) continue;
        /* Equal under the order: the same scalar, or two containers (compared fully, over the
         * run of containers of that type, which only a request built to be odd contains). */
        if (keys[i]->type != MSGPACK_OBJECT_ARRAY && keys[i]->type != MSGPACK_OBJECT_MAP)
            return keys[i];
        for (uint32_t j = i; j > 0 && key_cmp(keys[j - 1], keys[i]) == 0; j--)
            if (msgpack_object_equal(*keys[j - 1], *keys[i])) return keys[i];
    }
    return NULL;
}

/* A key that is not a string, written for an error's field: 10, -2, 1.5, true, nil, [array]. */
static const char *key_text(cd_call *c, const msgpack_object *k)
{
    switch (k->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: return cd_call_printf(c, "%llu", (unsigned long long)k->via.u64);
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: return cd_call_printf(c, "%lld", (long long)k->via.i64);
    case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64: return cd_call_printf(c, "%g", k->via.f64);
    case MSGPACK_OBJECT_BOOLEAN: return k->via.boolean ? "true" : "false";
    case MSGPACK_OBJECT_NIL: return "nil";
    case MSGPACK_OBJECT_ARRAY: return "[array]";
    case MSGPACK_OBJECT_MAP: return "{map}";
    default: return "[bytes]";
    }
}

static int normalize(cd_call *c, msgpack_object *o, const path_step *at)
{
    switch (o->type) {
    case MSGPACK_OBJECT_BIN:
        cd_wire_text(o);
        return 0;
    case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64:
        cd_wire_integral(o);
        return 0;
    case MSGPACK_OBJECT_ARRAY:
        for (uint32_t i = 0; i < o->via.array.size; i++) {
            path_step step = { at, NULL, 0, i };
            if (normalize(c, &o->via.array.ptr[i], &step)) return -1;
        }
        return 0;
    case MSGPACK_OBJECT_MAP: {
        msgpack_object_map *m = &o->via.map;
        for (uint32_t i = 0; i < m->size; i++) {
            msgpack_object *k = &m->ptr[i].key;
            if (k->type == MSGPACK_OBJECT_BIN && !cd_wire_text(k)) {
                path_step step = { at, k->via.bin.ptr, k->via.bin.size, 0 };
                return cd_fail(c, CLAIMD_E_INVALID, path_string(c, &step),
                               "parameter name is not valid UTF-8");
            }
            cd_wire_integral(k);
            /* Container keys are never read by a method, but are compared for duplicates in
             * their normal form too. */
            if ((k->type == MSGPACK_OBJECT_ARRAY || k->type == MSGPACK_OBJECT_MAP) && normalize(c, k, at))
                return -1;
        }
        const msgpack_object *dup = duplicate_key(c, m);
        if (dup) {
            const char *name = dup->type == MSGPACK_OBJECT_STR ? NULL : key_text(c, dup);
            path_step step = { at, name ? name : dup->via.str.ptr,
                               name ? strlen(name) : dup->via.str.size, 0 };
            const char *field = path_string(c, &step);
            return cd_fail(c, CLAIMD_E_INVALID, field ? field : "params", "key given twice in one map");
        }
        for (uint32_t i = 0; i < m->size; i++) {
            const msgpack_object *k = &m->ptr[i].key;
            path_step step = { at, k->type == MSGPACK_OBJECT_STR ? k->via.str.ptr : "?",
                               k->type == MSGPACK_OBJECT_STR ? k->via.str.size : 1, 0 };
            if (normalize(c, &m->ptr[i].val, &step)) return -1;
        }
        return 0;
    }
    default:
        return 0;
    }
}

int cd_wire_normalize(cd_call *c, msgpack_object *o)
{
    return normalize(c, o, NULL);
}
