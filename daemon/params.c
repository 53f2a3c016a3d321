/* params: parameter checking shared by every method. */
#include <string.h>
#include "params.h"
#include "text.h"

const msgpack_object *cd_map_get(const msgpack_object *map, const char *key)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP) return NULL;
    size_t klen = strlen(key);
    const msgpack_object_kv *kv = map->via.map.ptr;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &kv[i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == klen &&
            memcmp(k->via.str.ptr, key, klen) == 0)
            return kv[i].val.type == MSGPACK_OBJECT_NIL ? NULL : &kv[i].val;
    }
    return NULL;
}

const char *cd_field_path(cd_call *c, const char *prefix, const char *key)
{
    if (!prefix) return key;
    /* Built for every claim a request carries (the speaker's and outlet's paths are handed
     * down for errors that mostly never come): concatenated, not formatted. */
    size_t a = strlen(prefix), b = strlen(key);
    char *p = cd_call_alloc(c, a + b + 2);
    if (!p) return key;
    memcpy(p, prefix, a);
    p[a] = '.';
    memcpy(p + a + 1, key, b + 1);
    return p;
}

const char *cd_param_name(cd_call *c, const char *s, size_t n)
{
    if (n > 64) {
        n = 64;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;   /* don't split a character */
    }
    char *d = cd_call_strndup(c, s, n);
    if (!d || cd_text_valid_utf8(d, n)) return d;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)d[i] >= 0x80 || (unsigned char)d[i] < 0x20) d[i] = '?';
    return d;
}

int cd_params_only(cd_call *c, const msgpack_object *map, const char *prefix,
                   const char *const *allowed)
{
    if (!map || map->type != MSGPACK_OBJECT_MAP) return 0;
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object *k = &map->via.map.ptr[i].key;
        if (k->type != MSGPACK_OBJECT_STR)
            return cd_fail(c, CLAIMD_E_INVALID, prefix, "parameter names must be strings");
        if (cd_enum_index(allowed, k->via.str.ptr, k->via.str.size) < 0) {
            const char *name = cd_param_name(c, k->via.str.ptr, k->via.str.size);
            const char *field = name ? cd_field_path(c, prefix, name) : prefix;
            return cd_fail(c, CLAIMD_E_INVALID, field, "unknown parameter");
        }
    }
    return 0;
}

int cd_check_str(cd_call *c, const msgpack_object *o, const char *field, size_t max, cd_str *out)
{
    if (o->type == MSGPACK_OBJECT_BIN)   /* bin that was UTF-8 is str by now (wire_values.h) */
        return cd_fail(c, CLAIMD_E_INVALID, field, "not valid UTF-8");
    if (o->type != MSGPACK_OBJECT_STR)
        return cd_fail(c, CLAIMD_E_INVALID, field, "must be a string");
    if (o->via.str.size > max)
        return cd_fail(c, CLAIMD_E_TOO_LARGE, field,
                       "longer than %zu bytes", max);
    if (!cd_text_valid_utf8(o->via.str.ptr, o->via.str.size))
        return cd_fail(c, CLAIMD_E_INVALID, field, "not valid UTF-8");
    size_t i = 0;
    while (i < o->via.str.size && (o->via.str.ptr[i] == ' ' || o->via.str.ptr[i] == '\t' ||
                                   o->via.str.ptr[i] == '\n' || o->via.str.ptr[i] == '\r'))
        i++;
    if (i == o->via.str.size)
        return cd_fail(c, CLAIMD_E_INVALID, field, "must not be empty");
    *out = (cd_str){ o->via.str.ptr, o->via.str.size };
    return 0;
}

int cd_get_str(cd_call *c, const msgpack_object *map, const char *prefix, const char *key,
               cd_need need, size_t max, cd_str *out)
{
    const msgpack_object *o = cd_map_get(map, key);
    if (!o) return need ? cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, prefix, key), "required") : 0;
    return cd_check_str(c, o, cd_field_path(c, prefix, key), max, out);
}

int cd_get_u64(cd_call *c, const msgpack_object *map, const char *prefix, const char *key,
               cd_need need, uint64_t min, uint64_t max, uint64_t *out)
{
    const msgpack_object *o = cd_map_get(map, key);
    if (!o) return need ? cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, prefix, key), "required") : 0;
    if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 < min || o->via.u64 > max)
        return cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, prefix, key),
                       "must be an integer from %llu to %llu", (unsigned long long)min,
                       (unsigned long long)max);
    *out = o->via.u64;
    return 0;
}

int cd_get_bool(cd_call *c, const msgpack_object *map, const char *prefix, const char *key,
                cd_need need, int *out)
{
    const msgpack_object *o = cd_map_get(map, key);
    if (!o) return need ? cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, prefix, key), "required") : 0;
    if (o->type != MSGPACK_OBJECT_BOOLEAN)
        return cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, prefix, key), "must be true or false");
    *out = o->via.boolean;
    return 0;
}

int cd_get_num(cd_call *c, const msgpack_object *map, const char *prefix, const char *key,
               cd_need need, double min, double max, double *out)
{
    const msgpack_object *o = cd_map_get(map, key);
    if (!o) return need ? cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, prefix, key), "required") : 0;
    double v;
    switch (o->type) {
    case MSGPACK_OBJECT_POSITIVE_INTEGER: v = (double)o->via.u64; break;
    case MSGPACK_OBJECT_NEGATIVE_INTEGER: v = (double)o->via.i64; break;
    case MSGPACK_OBJECT_FLOAT32: case MSGPACK_OBJECT_FLOAT64: v = o->via.f64; break;
    default: v = min - 1;
    }
    if (!(v >= min && v <= max))
        return cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, prefix, key),
                       "must be a number from %g to %g", min, max);
    *out = v;
    return 0;
}

int cd_enum_index(const char *const *names, const char *s, size_t n)
{
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0) return i;
    return -1;
}

int cd_get_enum(cd_call *c, const msgpack_object *map, const char *prefix, const char *key,
                cd_need need, const char *const *names, int *out)
{
    const msgpack_object *o = cd_map_get(map, key);
    if (!o) return need ? cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, prefix, key), "required") : 0;
    int i = o->type == MSGPACK_OBJECT_STR ? cd_enum_index(names, o->via.str.ptr, o->via.str.size) : -1;
    if (i < 0) {
        char list[200] = "";
        for (int k = 0; names[k] && strlen(list) + strlen(names[k]) + 3 < sizeof list; k++) {
            if (k) strcat(list, ", ");
            strcat(list, names[k]);
        }
        return cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, prefix, key), "must be one of: %s", list);
    }
    *out = i;
    return 0;
}

int cd_get_array(cd_call *c, const msgpack_object *map, const char *prefix, const char *key,
                 cd_need need, size_t max_items, const msgpack_object **out)
{
    const msgpack_object *o = cd_map_get(map, key);
    if (!o) return need ? cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, prefix, key), "required") : 0;
    if (o->type != MSGPACK_OBJECT_ARRAY)
        return cd_fail(c, CLAIMD_E_INVALID, cd_field_path(c, prefix, key), "must be an array");
    if (o->via.array.size > max_items)
        return cd_fail(c, CLAIMD_E_TOO_LARGE, cd_field_path(c, prefix, key),
                       "more than %zu items", max_items);
    *out = o;
    return 0;
}
