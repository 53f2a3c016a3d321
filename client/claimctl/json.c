/* json: conversion between JSON (jansson) and libclaimd's values and parameter builder. It lives
 * in claimctl so that the library itself needs no JSON dependency. */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

/* Length of the valid UTF-8 sequence at s[0..n), or 0 when it is not one (overlong forms,
 * surrogates and code points past U+10FFFF are invalid, as in jansson). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; cp = c & 0x07; }
    else return 0;
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

json_t *ctl_json_text(const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    if (j) return j;
    /* Invalid UTF-8: keep what is readable and mark the rest. */
    char *fixed = malloc(n * 3 + 1);
    if (!fixed) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq((const unsigned char *)s + i, n - i);
        if (k) {
            memcpy(fixed + o, s + i, k);
            o += k;
            i += k;
        } else {
            memcpy(fixed + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        }
    }
    j = json_stringn(fixed, o);
    free(fixed);
    return j;
}

static json_t *base64(const unsigned char *p, size_t n)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((n + 2) / 3 * 4 + 1);
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n) v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n) v |= p[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    json_t *j = json_stringn(out, o);
    free(out);
    return j;
}

/* A JSON string for a map key: the key itself when it is a string, else its JSON text. */
static json_t *key_string(const claimd_value *k)
{
    size_t len;
    const char *str = claimd_value_str(k, &len);
    if (str) return ctl_json_text(str, len);
    json_t *j = ctl_json_from_value(k);
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    json_t *text = s ? json_string(s) : NULL;
    free(s);
    return text;
}

json_t *ctl_json_from_value(const claimd_value *v)
{
    /* claimd_value is opaque (libclaimd's ABI rule): every read goes through an accessor. */
    int b = 0;
    int64_t i64 = 0;
    uint64_t u64 = 0;
    double f = 0;
    size_t len = claimd_value_len(v);
    switch (claimd_value_type(v)) {
    case CLAIMD_T_NIL: return json_null();
    case CLAIMD_T_BOOL: claimd_value_bool(v, &b); return json_boolean(b);
    case CLAIMD_T_INT: claimd_value_int(v, &i64); return json_integer(i64);
    case CLAIMD_T_UINT:
        claimd_value_uint(v, &u64);
        return u64 <= (uint64_t)INT64_MAX ? json_integer((json_int_t)u64) : json_real((double)u64);
    case CLAIMD_T_FLOAT: {
        claimd_value_float(v, &f);
        json_t *j = json_real(f);
        return j ? j : json_null(); /* NaN and infinities have no JSON form */
    }
    case CLAIMD_T_STR: return ctl_json_text(claimd_value_str(v, NULL), len);
    case CLAIMD_T_BIN: return base64((const unsigned char *)claimd_value_bin(v, NULL), len);
    case CLAIMD_T_ARRAY: {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < len; i++) {
            json_t *item = ctl_json_from_value(claimd_value_at(v, i));
            if (!item || json_array_append_new(arr, item) < 0) {
                json_decref(arr);
                return NULL;
            }
        }
        return arr;
    }
    case CLAIMD_T_MAP: {
        json_t *obj = json_object();
        for (size_t i = 0; obj && i < len; i++) {
            json_t *key = key_string(claimd_value_key_at(v, i));
            json_t *val = key ? ctl_json_from_value(claimd_value_val_at(v, i)) : NULL;
            int rc = val ? json_object_setn_new(obj, json_string_value(key),
                                                json_string_length(key), val)
                         : -1;
            json_decref(key);
            if (rc < 0) {
                json_decref(obj);
                return NULL;
            }
        }
        return obj;
    }
    }
    return NULL;
}

int ctl_json_add(claimd_args *a, const char *key, json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_STRING: return claimd_args_strn(a, key, json_string_value(j), json_string_length(j));
    case JSON_INTEGER: return claimd_args_int(a, key, json_integer_value(j));
    case JSON_REAL: return claimd_args_float(a, key, json_real_value(j));
    case JSON_TRUE: return claimd_args_bool(a, key, 1);
    case JSON_FALSE: return claimd_args_bool(a, key, 0);
    case JSON_NULL: return claimd_args_nil(a, key);
    case JSON_ARRAY: {
        size_t i;
        json_t *item;
        if (claimd_args_begin_array(a, key)) return claimd_args_error(a);
        json_array_foreach(j, i, item) if (ctl_json_add(a, NULL, item)) return claimd_args_error(a);
        return claimd_args_end(a);
    }
    case JSON_OBJECT:
        if (claimd_args_begin_map(a, key)) return claimd_args_error(a);
        if (ctl_json_add_fields(a, j)) return claimd_args_error(a);
        return claimd_args_end(a);
    }
    return CLAIMD_E_USAGE;
}

int ctl_json_add_fields(claimd_args *a, json_t *obj)
{
    const char *key;
    size_t klen;
    json_t *val;
    if (!json_is_object(obj)) return CLAIMD_E_USAGE;
    json_object_keylen_foreach(obj, key, klen, val) {
        if (memchr(key, '\0', klen)) return CLAIMD_E_USAGE; /* the builder takes C-string keys */
        if (ctl_json_add(a, key, val)) return claimd_args_error(a);
    }
    return claimd_args_error(a);
}

json_t *ctl_json_parse_object(const char *s, const char *cmd)
{
    json_error_t err;
    json_t *j = json_loads(s, JSON_ALLOW_NUL, &err);
    if (!j) {
        ctl_usage_error(cmd, "invalid JSON: %s (line %d, column %d)", err.text, err.line,
                        err.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        ctl_usage_error(cmd, "expected a JSON object");
        return NULL;
    }
    return j;
}

json_t *ctl_json_read_object(FILE *f, const char *cmd)
{
    json_error_t err;
    json_t *j = json_loadf(f, JSON_ALLOW_NUL, &err);
    if (!j) {
        ctl_usage_error(cmd, "invalid JSON on stdin: %s (line %d, column %d)", err.text,
                        err.line, err.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        ctl_usage_error(cmd, "expected a JSON object on stdin");
        return NULL;
    }
    return j;
}
