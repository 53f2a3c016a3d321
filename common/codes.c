/* codes: the wire names of error codes, shared by the daemon and the client library. */
#include <string.h>
#include "claimd.h"

static const char *const code_names[] = {
    [CLAIMD_OK] = "ok",
    [CLAIMD_E_BAD_REQUEST] = "bad_request",
    [CLAIMD_E_UNKNOWN_METHOD] = "unknown_method",
    [CLAIMD_E_INVALID] = "invalid",
    [CLAIMD_E_NOT_FOUND] = "not_found",
    [CLAIMD_E_CONFLICT] = "conflict",
    [CLAIMD_E_TOO_LARGE] = "too_large",
    [CLAIMD_E_FORBIDDEN] = "forbidden",
    [CLAIMD_E_BUSY] = "busy",
    [CLAIMD_E_STORAGE_FULL] = "storage_full",
    [CLAIMD_E_INTERNAL] = "internal",
    [CLAIMD_E_IO] = "connection error",
    [CLAIMD_E_PROTOCOL] = "protocol error",
    [CLAIMD_E_NOMEM] = "out of memory",
    [CLAIMD_E_USAGE] = "bad usage",
};

const char *claimd_code_name(claimd_code code)
{
    if ((unsigned)code >= sizeof code_names / sizeof code_names[0]) return "unknown";
    return code_names[code];
}

claimd_code claimd_code_from_name(const char *name, unsigned long len)
{
    for (int c = CLAIMD_E_BAD_REQUEST; c <= CLAIMD_E_INTERNAL; c++)
        if (strlen(code_names[c]) == len && memcmp(code_names[c], name, len) == 0)
            return (claimd_code)c;
    return CLAIMD_E_INTERNAL;
}
