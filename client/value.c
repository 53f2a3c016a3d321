/* value: claimd_value trees. A tree is built from a msgpack_object in one allocation (nodes
 * first, then string bytes), so the caller frees a whole reply with one call and a tree never
 * outlives the msgpack zone it was converted from. */
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "prescan.h"

/* Sizes of the one allocation a tree needs. */
typedef struct {
    size_t nodes;
    size_t bytes;
} tree_size;

/* Counts the nodes below (not including) o and the string bytes of o's subtree. Returns -1 for
 * an ext object or nesting past CD_CLIENT_MAX_DEPTH. */
static int measure(const msgpack_object *o, unsigned depth, tree_size *sz)
{
    if (depth > CD_CLIENT_MAX_DEPTH) return -1;
    switch (o->type) {
    case MSGPACK_OBJECT_STR:
        sz->bytes += o->via.str.size + 1;
        return 0;
    case MSGPACK_OBJECT_BIN:
        sz->bytes += o->via.bin.size + 1;
        return 0;
    case MSGPACK_OBJECT_ARRAY:
        sz->nodes += o->via.array.size;
        for (uint32_t i = 0; i < o->via.array.size; i++)
            if (measure(&o->via.array.ptr[i], depth + 1, sz) < 0) return -1;
        return 0;
    case MSGPACK_OBJECT_MAP:
        sz->nodes += 2 * (size_t)o->via.map.size;
        for (uint32_t i = 0; i < o->via.map.size; i++) {
            if (measure(&o->via.map.ptr[i].key, depth + 1, sz) < 0) return -1;
            if (measure(&o->via.map.ptr[i].val, depth + 1, sz) < 0) return -1;
        }
        return 0;
    case MSGPACK_OBJECT_EXT:
        return -1;
    default:
        return 0;
    }
}

/* Bump allocators over the tree's block. */
typedef struct {
    claimd_value *node;
    char *text;
} tree_cursor;

static void fill(claimd_value *v, const msgpack_object *o, tree_cursor *c)
{
    memset(v, 0, sizeof *v);
    switch (o->type) {
    case MSGPACK_OBJECT_BOOLEAN:
        v->type = CLAIMD_T_BOOL;
        v->as.b = o->via.boolean ? 1 : 0;
        break;
    case MSGPACK_OBJECT_POSITIVE_INTEGER:
        v->type = CLAIMD_T_UINT;
        v->as.u = o->via.u64;
        break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER:
        v->type = CLAIMD_T_INT;
        v->as.i = o->via.i64;
        break;
    case MSGPACK_OBJECT_FLOAT32:
    case MSGPACK_OBJECT_FLOAT64:
        v->type = CLAIMD_T_FLOAT;
        v->as.f = o->via.f64;
        break;
    case MSGPACK_OBJECT_STR:
    case MSGPACK_OBJECT_BIN: {
        const char *p = o->type == MSGPACK_OBJECT_STR ? o->via.str.ptr : o->via.bin.ptr;
        uint32_t n = o->type == MSGPACK_OBJECT_STR ? o->via.str.size : o->via.bin.size;
        v->type = o->type == MSGPACK_OBJECT_STR ? CLAIMD_T_STR : CLAIMD_T_BIN;
        v->len = n;
        if (n) memcpy(c->text, p, n);
        c->text[n] = '\0';
        v->as.str = c->text;
        c->text += n + 1;
        break;
    }
    case MSGPACK_OBJECT_ARRAY:
        v->type = CLAIMD_T_ARRAY;
        v->len = o->via.array.size;
        v->as.items = c->node;
        c->node += v->len;
        for (size_t i = 0; i < v->len; i++) fill(&v->as.items[i], &o->via.array.ptr[i], c);
        break;
    case MSGPACK_OBJECT_MAP:
        v->type = CLAIMD_T_MAP;
        v->len = o->via.map.size;
        v->as.items = c->node;
        c->node += 2 * v->len;
        for (size_t i = 0; i < v->len; i++) {
            fill(&v->as.items[2 * i], &o->via.map.ptr[i].key, c);
            fill(&v->as.items[2 * i + 1], &o->via.map.ptr[i].val, c);
        }
        break;
    default:
        v->type = CLAIMD_T_NIL;
        break;
    }
}

int cd_client_value_from_object(const msgpack_object *o, claimd_value **out)
{
    tree_size sz = {1, 0};
    *out = NULL;
    if (measure(o, 1, &sz) < 0) return CLAIMD_E_PROTOCOL;
    if (sz.nodes > (SIZE_MAX - sz.bytes) / sizeof(claimd_value)) return CLAIMD_E_NOMEM;
    claimd_value *block = malloc(sz.nodes * sizeof(claimd_value) + sz.bytes);
    if (!block) return CLAIMD_E_NOMEM;
    tree_cursor c = {block + 1, (char *)(block + sz.nodes)};
    fill(block, o, &c);
    *out = block;
    return CLAIMD_OK;
}

int claimd_value_decode(const void *buf, size_t len, claimd_value **out)
{
    size_t object_len = 0;
    *out = NULL;
    if (!buf || len == 0) return CLAIMD_E_PROTOCOL;
    if (cd_prescan(buf, len, len, CD_CLIENT_MAX_DEPTH, &object_len) != CD_SCAN_OK ||
        object_len != len)
        return CLAIMD_E_PROTOCOL;
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    size_t off = 0;
    int rc = CLAIMD_E_PROTOCOL;
    if (msgpack_unpack_next(&up, buf, len, &off) == MSGPACK_UNPACK_SUCCESS && off == len)
        rc = cd_client_value_from_object(&up.data, out);
    msgpack_unpacked_destroy(&up);
    return rc;
}

static int pack_at(msgpack_packer *pk, const claimd_value *v, unsigned depth)
{
    if (depth > CD_CLIENT_MAX_DEPTH) return -1;
    switch (v->type) {
    case CLAIMD_T_NIL: return msgpack_pack_nil(pk);
    case CLAIMD_T_BOOL: return v->as.b ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    case CLAIMD_T_INT: return msgpack_pack_int64(pk, v->as.i);
    case CLAIMD_T_UINT: return msgpack_pack_uint64(pk, v->as.u);
    case CLAIMD_T_FLOAT: return msgpack_pack_double(pk, v->as.f);
    case CLAIMD_T_STR:
        if (v->len > UINT32_MAX) return -1;
        return msgpack_pack_str_with_body(pk, v->as.str, v->len);
    case CLAIMD_T_BIN:
        if (v->len > UINT32_MAX) return -1;
        return msgpack_pack_bin_with_body(pk, v->as.str, v->len);
    case CLAIMD_T_ARRAY:
        if (v->len > UINT32_MAX || msgpack_pack_array(pk, v->len) < 0) return -1;
        for (size_t i = 0; i < v->len; i++)
            if (pack_at(pk, &v->as.items[i], depth + 1) < 0) return -1;
        return 0;
    case CLAIMD_T_MAP:
        if (v->len > UINT32_MAX || msgpack_pack_map(pk, v->len) < 0) return -1;
        for (size_t i = 0; i < 2 * v->len; i++)
            if (pack_at(pk, &v->as.items[i], depth + 1) < 0) return -1;
        return 0;
    }
    return -1;
}

int cd_client_pack_value(msgpack_packer *pk, const claimd_value *v)
{
    return pack_at(pk, v, 1);
}

void claimd_value_free(claimd_value *root)
{
    free(root);
}

claimd_type claimd_value_type(const claimd_value *v)
{
    return v ? v->type : CLAIMD_T_NIL;
}

const char *claimd_type_name(claimd_type t)
{
    static const char *const names[] = {"nil", "bool", "int", "uint", "float",
                                        "str", "bin", "array", "map"};
    return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "unknown";
}

const claimd_value *claimd_value_get(const claimd_value *map, const char *key)
{
    if (!map || map->type != CLAIMD_T_MAP || !key) return NULL;
    size_t klen = strlen(key);
    const claimd_value *found = NULL;
    for (size_t i = 0; i < map->len; i++) {
        const claimd_value *k = &map->as.items[2 * i];
        if (k->type == CLAIMD_T_STR && k->len == klen && memcmp(k->as.str, key, klen) == 0)
            found = &map->as.items[2 * i + 1];
    }
    return found;
}

const claimd_value *claimd_value_at(const claimd_value *array, size_t i)
{
    if (!array || array->type != CLAIMD_T_ARRAY || i >= array->len) return NULL;
    return &array->as.items[i];
}

const claimd_value *claimd_value_key_at(const claimd_value *map, size_t i)
{
    if (!map || map->type != CLAIMD_T_MAP || i >= map->len) return NULL;
    return &map->as.items[2 * i];
}

const claimd_value *claimd_value_val_at(const claimd_value *map, size_t i)
{
    if (!map || map->type != CLAIMD_T_MAP || i >= map->len) return NULL;
    return &map->as.items[2 * i + 1];
}

size_t claimd_value_len(const claimd_value *v)
{
    if (!v) return 0;
    switch (v->type) {
    case CLAIMD_T_STR: case CLAIMD_T_BIN: case CLAIMD_T_ARRAY: case CLAIMD_T_MAP: return v->len;
    default: return 0;
    }
}

const char *claimd_value_str(const claimd_value *v, size_t *len)
{
    if (!v || v->type != CLAIMD_T_STR) return NULL;
    if (len) *len = v->len;
    return v->as.str;
}

const void *claimd_value_bin(const claimd_value *v, size_t *len)
{
    if (!v || v->type != CLAIMD_T_BIN) return NULL;
    if (len) *len = v->len;
    return v->as.str;
}

int claimd_value_uint(const claimd_value *v, uint64_t *out)
{
    if (!v) return -1;
    if (v->type == CLAIMD_T_UINT) { *out = v->as.u; return 0; }
    if (v->type == CLAIMD_T_INT && v->as.i >= 0) { *out = (uint64_t)v->as.i; return 0; }
    return -1;
}

int claimd_value_int(const claimd_value *v, int64_t *out)
{
    if (!v) return -1;
    if (v->type == CLAIMD_T_INT) { *out = v->as.i; return 0; }
    if (v->type == CLAIMD_T_UINT && v->as.u <= (uint64_t)INT64_MAX) {
        *out = (int64_t)v->as.u;
        return 0;
    }
    return -1;
}

int claimd_value_float(const claimd_value *v, double *out)
{
    if (!v) return -1;
    switch (v->type) {
    case CLAIMD_T_FLOAT: *out = v->as.f; return 0;
    case CLAIMD_T_UINT: *out = (double)v->as.u; return 0;
    case CLAIMD_T_INT: *out = (double)v->as.i; return 0;
    default: return -1;
    }
}

int claimd_value_bool(const claimd_value *v, int *out)
{
    if (!v || v->type != CLAIMD_T_BOOL) return -1;
    *out = v->as.b;
    return 0;
}

const char *claimd_value_get_str(const claimd_value *map, const char *key)
{
    return claimd_value_str(claimd_value_get(map, key), NULL);
}

uint64_t claimd_value_get_uint(const claimd_value *map, const char *key, uint64_t fallback)
{
    uint64_t u;
    return claimd_value_uint(claimd_value_get(map, key), &u) == 0 ? u : fallback;
}
