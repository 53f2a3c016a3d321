/* claimd.h: the public C API of libclaimd, the client library of the claimd daemon.
 * The wire contract is docs/protocol.md (MessagePack-RPC over a Unix socket). */
#ifndef CLAIMD_H
#define CLAIMD_H

#ifdef __cplusplus
extern "C" {
#endif

#define CLAIMD_VERSION_MAJOR 0
#define CLAIMD_VERSION_MINOR 1
#define CLAIMD_VERSION_PATCH 0
#define CLAIMD_PROTOCOL 1

/* Error codes: 0 is success; the codes from CLAIMD_E_BAD_REQUEST to CLAIMD_E_INTERNAL are the
 * daemon's error codes of the wire contract; the others are raised by the library itself. */
typedef enum {
    CLAIMD_OK = 0,
    CLAIMD_E_BAD_REQUEST,     /* "bad_request" */
    CLAIMD_E_UNKNOWN_METHOD,  /* "unknown_method" */
    CLAIMD_E_INVALID,         /* "invalid" */
    CLAIMD_E_NOT_FOUND,       /* "not_found" */
    CLAIMD_E_CONFLICT,        /* "conflict" */
    CLAIMD_E_TOO_LARGE,       /* "too_large" */
    CLAIMD_E_FORBIDDEN,       /* "forbidden" */
    CLAIMD_E_BUSY,            /* "busy" */
    CLAIMD_E_STORAGE_FULL,    /* "storage_full" */
    CLAIMD_E_INTERNAL,        /* "internal" */
    CLAIMD_E_IO,              /* library: socket error or connection closed */
    CLAIMD_E_PROTOCOL,        /* library: the daemon sent something that is not a valid reply */
    CLAIMD_E_NOMEM,           /* library: out of memory */
    CLAIMD_E_USAGE            /* library: bad argument to a library call */
} claimd_code;

/* The wire name of a daemon code ("invalid"...), or a library code's description. Static. */
const char *claimd_code_name(claimd_code code);

/* Parses a wire error code name; unknown names give CLAIMD_E_INTERNAL. */
claimd_code claimd_code_from_name(const char *name, unsigned long len);

#ifdef __cplusplus
}
#endif
#endif
