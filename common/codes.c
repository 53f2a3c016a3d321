/* codes: the wire names of error codes, shared by the daemon and the client library. The codes
 * have fixed values in two ranges (claimd.h), so the names are a table of pairs, not an array
 * indexed by code. */
#include <string.h>
#include "claimd.h"

static const struct {
    claimd_code code;
    const char *name;
    int wire;                  /* 1: a daemon code of the wire contract */
} code_names[] = {
    {CLAIMD_OK, "ok", 0},
    {CLAIMD_E_BAD_REQUEST, "bad_request", 1},
    {CLAIMD_E_UNKNOWN_METHOD, "unknown_method", 1},
    {CLAIMD_E_INVALID, "invalid", 1},
    {CLAIMD_E_NOT_FOUND, "not_found", 1},
    {CLAIMD_E_CONFLICT, "conflict", 1},
    {CLAIMD_E_TOO_LARGE, "too_large", 1},
    {CLAIMD_E_FORBIDDEN, "forbidden", 1},
    {CLAIMD_E_BUSY, "busy", 1},
    {CLAIMD_E_STORAGE_FULL, "storage_full", 1},
    {CLAIMD_E_INTERNAL, "internal", 1},
    {CLAIMD_E_READ_ONLY, "read_only", 1},
    {CLAIMD_E_IO, "connection error", 0},
    {CLAIMD_E_PROTOCOL, "protocol error", 0},
    {CLAIMD_E_NOMEM, "out of memory", 0},
    {CLAIMD_E_USAGE, "bad usage", 0},
};

#define N_CODES (sizeof code_names / sizeof code_names[0])

const char *claimd_code_name(claimd_code code)
{
    for (size_t i = 0; i < N_CODES; i++)
        if (code_names[i].code == code) return code_names[i].name;
    return "unknown";
}

claimd_code claimd_code_from_name(const char *name, unsigned long len)
{
    for (size_t i = 0; name && i < N_CODES; i++)
        if (code_names[i].wire && strlen(code_names[i].name) == len &&
            memcmp(code_names[i].name, name, len) == 0)
            return code_names[i].code;
    return CLAIMD_E_INTERNAL;
}
