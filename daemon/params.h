/* params: typed, validated access to a request's named parameters.
 *
 * Every getter looks `key` up in a msgpack map; a nil value counts as absent. On a missing
 * required value or a wrong type it records `invalid` with the field path (prefix.key, or key)
 * on the call and returns -1; absent optional values return 0 and leave *out untouched. */
#ifndef CD_PARAMS_H
#define CD_PARAMS_H

#include <stdint.h>
#include "call.h"

typedef enum { CD_OPTIONAL = 0, CD_REQUIRED = 1 } cd_need;

/* The value under key in map (a MAP object), or NULL when absent, nil, or map is not a map. */
const msgpack_object *cd_map_get(const msgpack_object *map, const char *key);

/* The field path for errors: "prefix.key" (zone string), or key when prefix is NULL. */
const char *cd_field_path(cd_call *c, const char *prefix, const char *key);

/* Rejects keys of map not in the NULL-terminated list allowed: `invalid` naming the first. */
int cd_params_only(cd_call *c, const msgpack_object *map, const char *prefix,
                   const char *const *allowed);

/* A valid UTF-8 string of 1..max bytes (too_large beyond max when too_large_code is set). */
int cd_get_str(cd_call *c, const msgpack_object *map, const char *prefix, const char *key,
               cd_need need, size_t max, cd_str *out);

/* An unsigned integer in [min, max]. */
int cd_get_u64(cd_call *c, const msgpack_object *map, const char *prefix, const char *key,
               cd_need need, uint64_t min, uint64_t max, uint64_t *out);

/* A boolean. */
int cd_get_bool(cd_call *c, const msgpack_object *map, const char *prefix, const char *key,
                cd_need need, int *out);

/* A number (integer or float) in [min, max]. */
int cd_get_num(cd_call *c, const msgpack_object *map, const char *prefix, const char *key,
               cd_need need, double min, double max, double *out);

/* A string that must be one of the NULL-terminated names; *out is its index. */
int cd_get_enum(cd_call *c, const msgpack_object *map, const char *prefix, const char *key,
                cd_need need, const char *const *names, int *out);

/* An array (possibly empty); *out points at it. */
int cd_get_array(cd_call *c, const msgpack_object *map, const char *prefix, const char *key,
                 cd_need need, size_t max_items, const msgpack_object **out);

/* Validates one string object as UTF-8 text of 1..max bytes, reporting errors under field. */
int cd_check_str(cd_call *c, const msgpack_object *o, const char *field, size_t max, cd_str *out);

/* A zone copy of a client-supplied name for an error's field: at most 64 bytes, cut at a
 * character boundary, and every byte of invalid UTF-8 shown as '?' (replies are valid UTF-8). */
const char *cd_param_name(cd_call *c, const char *s, size_t n);

/* Index of s[0..n) in the NULL-terminated names, or -1. */
int cd_enum_index(const char *const *names, const char *s, size_t n);

#endif
