/* claimd.h: the public C API of libclaimd, the client library of the claimd daemon.
 * The wire contract is docs/protocol.md (MessagePack-RPC over a Unix socket); the library's
 * ABI rules, soname policy and non-blocking use are in docs/clients.md ("The C library").
 *
 * Model: hiredis. A transport-free codec (claimd_reader, claimd_encode_request) under a blocking
 * context: create -> options -> connect, then claimd_call (or claimd_append + claimd_get_reply to
 * pipeline), and typed helpers for the common calls on top. A program with its own event loop
 * uses the codec alone and does its own I/O.
 *
 * ABI (soname libclaimd.so.0): everything exported is declared here with CLAIMD_API and named
 * claimd_*. A newer 0.x library runs every program built against an older 0.x header:
 *  - Objects are opaque (claimd_ctx, claimd_args, claimd_value, claimd_reader, claimd_message...):
 *    only the library allocates them, so their size is not part of the ABI.
 *  - Every struct the caller allocates (claimd_claim, claimd_via, claimd_appearance,
 *    claimd_verdict, claimd_import_result, claimd_change) starts with `size_t struct_size`, the
 *    sizeof the caller was compiled with. Set it with CLAIMD_INIT(&s) or the type's
 *    CLAIMD_..._INIT initialiser; a struct_size of 0 (or too small) is CLAIMD_E_USAGE. New fields
 *    only ever go at the end. The library reads and writes only the struct_size bytes the caller
 *    has; a newer caller's fields that this library does not know must be zero (else
 *    CLAIMD_E_USAGE, rather than silently ignoring them). In arrays, every element has the same
 *    struct_size, which is also the stride.
 *  - Enum values are explicit and never change; new ones are added.
 * An incompatible change (a removed or changed function, a reordered field) bumps the soname. */
#ifndef CLAIMD_H
#define CLAIMD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Marks the exported API. The library is built with -fvisibility=hidden, so only these symbols
 * (and nothing internal) are visible in libclaimd.so. */
#if defined(__GNUC__) || defined(__clang__)
#define CLAIMD_API __attribute__((visibility("default")))
#else
#define CLAIMD_API
#endif

/* The version of this header. claimd_version_numbers() gives the library's at run time: its
 * major must be the same and its minor at least this one for the functions used here. */
#define CLAIMD_VERSION_MAJOR 0
#define CLAIMD_VERSION_MINOR 1
#define CLAIMD_VERSION_PATCH 0
#define CLAIMD_PROTOCOL 1

/* Zeroes the struct *p and sets its struct_size (see "ABI" above), for any claimd struct:
 *   claimd_claim c;  CLAIMD_INIT(&c);  c.text = "...";                                      */
#define CLAIMD_INIT(p) ((void)memset((p), 0, sizeof *(p)), (p)->struct_size = sizeof *(p))

/* Error codes: 0 is success. Values are fixed and never reused: the daemon's error codes of the
 * wire contract are 1..99 (a new one takes the next free number), the library's own 100..199.
 * A daemon code this library does not know yet comes back as CLAIMD_E_INTERNAL; its wire name
 * is still in claimd_error_value() under "code". */
typedef enum {
    CLAIMD_OK = 0,
    CLAIMD_E_BAD_REQUEST = 1,     /* "bad_request" */
    CLAIMD_E_UNKNOWN_METHOD = 2,  /* "unknown_method" */
    CLAIMD_E_INVALID = 3,         /* "invalid" */
    CLAIMD_E_NOT_FOUND = 4,       /* "not_found" */
    CLAIMD_E_CONFLICT = 5,        /* "conflict" */
    CLAIMD_E_TOO_LARGE = 6,       /* "too_large" */
    CLAIMD_E_FORBIDDEN = 7,       /* "forbidden" */
    CLAIMD_E_BUSY = 8,            /* "busy" */
    CLAIMD_E_STORAGE_FULL = 9,    /* "storage_full" */
    CLAIMD_E_INTERNAL = 10,       /* "internal" */
    CLAIMD_E_READ_ONLY = 11,      /* "read_only": a write sent to a read replica */
    CLAIMD_E_IO = 100,            /* library: socket error or connection closed */
    CLAIMD_E_PROTOCOL = 101,      /* library: the daemon sent something that is not a valid reply */
    CLAIMD_E_NOMEM = 102,         /* library: out of memory (or a caller's buffer too small) */
    CLAIMD_E_USAGE = 103          /* library: bad argument to a library call */
} claimd_code;

/* The wire name of a daemon code ("invalid"...), or a library code's description. Static. */
CLAIMD_API const char *claimd_code_name(claimd_code code);

/* Parses a wire error code name; unknown names give CLAIMD_E_INTERNAL. */
CLAIMD_API claimd_code claimd_code_from_name(const char *name, unsigned long len);

/* ---------------------------------------------------------------------------------------------
 * Conventions
 *
 * Functions that can fail return an int that is a claimd_code: 0 (CLAIMD_OK) on success.
 * Every pointer the library returns says who owns it: "caller frees with X" or "owned by the
 * context/value, valid until Y". Nothing here is thread-safe per handle; use one claimd_ctx per
 * thread (handles share no state, so different threads may use different handles freely).
 * ------------------------------------------------------------------------------------------- */

/* The library's version, "MAJOR.MINOR.PATCH". Static string. */
CLAIMD_API const char *claimd_version(void);

/* The library's version as numbers, in whichever pointers are not NULL (compare with
 * CLAIMD_VERSION_MAJOR / _MINOR to check the library a program runs with). */
CLAIMD_API void claimd_version_numbers(int *major, int *minor, int *patch);

/* ---------------------------------------------------------------------------------------------
 * Values: the decoded result of a call (a MessagePack object tree)
 * ------------------------------------------------------------------------------------------- */

typedef enum {
    CLAIMD_T_NIL = 0,
    CLAIMD_T_BOOL = 1,
    CLAIMD_T_INT = 2,   /* a negative integer (non-negative ones are CLAIMD_T_UINT) */
    CLAIMD_T_UINT = 3,
    CLAIMD_T_FLOAT = 4,
    CLAIMD_T_STR = 5,
    CLAIMD_T_BIN = 6,
    CLAIMD_T_ARRAY = 7,
    CLAIMD_T_MAP = 8
} claimd_type;

/* A node of a value tree, opaque: read it with the accessors below (the pointers they return
 * are owned by the tree). A whole tree is one allocation: free it with claimd_value_free() on the
 * root the library handed out, never on an inner node. */
typedef struct claimd_value claimd_value;

/* Frees a whole tree returned by the library (result, notification params). NULL is a no-op. */
CLAIMD_API void claimd_value_free(claimd_value *root);

/* The value's type; CLAIMD_T_NIL for NULL. */
CLAIMD_API claimd_type claimd_value_type(const claimd_value *v);

/* A short static name for a type ("nil", "bool", "int", "uint", "float", "str", "bin", "array",
 * "map"). */
CLAIMD_API const char *claimd_type_name(claimd_type t);

/* The value stored under the string key in a map (the last one if a key repeats), or NULL when v
 * is not a map or has no such key. Owned by the tree. */
CLAIMD_API const claimd_value *claimd_value_get(const claimd_value *map, const char *key);

/* Item i of an array, or NULL when v is not an array or i is out of range. Owned by the tree. */
CLAIMD_API const claimd_value *claimd_value_at(const claimd_value *array, size_t i);

/* Key / value of pair i of a map, or NULL when out of range or v is not a map. Owned by the
 * tree. */
CLAIMD_API const claimd_value *claimd_value_key_at(const claimd_value *map, size_t i);
CLAIMD_API const claimd_value *claimd_value_val_at(const claimd_value *map, size_t i);

/* Number of items (array), pairs (map) or bytes (str, bin); 0 for other types and NULL. */
CLAIMD_API size_t claimd_value_len(const claimd_value *v);

/* The NUL-terminated text of a STR value (length in *len when len is not NULL), or NULL when v
 * is not a string. Owned by the tree. */
CLAIMD_API const char *claimd_value_str(const claimd_value *v, size_t *len);

/* The bytes of a BIN value (length in *len when len is not NULL; a NUL follows them), or NULL
 * when v is not bin. Owned by the tree. */
CLAIMD_API const void *claimd_value_bin(const claimd_value *v, size_t *len);

/* Typed reads: store the number in *out and return 0, or return -1 (and leave *out alone) when v
 * has another type or the number does not fit. UINT and INT convert into each other when the
 * number fits; floats are not converted to integers. claimd_value_float accepts any number. */
CLAIMD_API int claimd_value_uint(const claimd_value *v, uint64_t *out);
CLAIMD_API int claimd_value_int(const claimd_value *v, int64_t *out);
CLAIMD_API int claimd_value_float(const claimd_value *v, double *out);
CLAIMD_API int claimd_value_bool(const claimd_value *v, int *out);

/* Shortcuts on a map: the string / unsigned number under key, or NULL / fallback when missing or
 * of another type. The string is owned by the tree. */
CLAIMD_API const char *claimd_value_get_str(const claimd_value *map, const char *key);
CLAIMD_API uint64_t claimd_value_get_uint(const claimd_value *map, const char *key,
                                          uint64_t fallback);

/* Decodes one complete MessagePack object buf[0..len) into a new tree in *out, with the same
 * bounds the library applies to replies (pre-scan: size <= len, nesting <= 32; no ext types).
 * Returns CLAIMD_OK, or CLAIMD_E_PROTOCOL for bytes that are not exactly one such object.
 * Caller frees *out with claimd_value_free. */
CLAIMD_API int claimd_value_decode(const void *buf, size_t len, claimd_value **out);

/* ---------------------------------------------------------------------------------------------
 * Parameters: a builder for the one map of named parameters every method takes
 *
 *   claimd_args *a = claimd_args_new();
 *   claimd_args_str(a, "text", "...");
 *   claimd_args_begin_array(a, "tags");  claimd_args_str(a, NULL, "nato");  claimd_args_end(a);
 *
 * Inside a map, every value needs a key; inside an array, key must be NULL. Errors (bad nesting,
 * out of memory, a NULL string) are sticky: the call that gets the args fails with CLAIMD_E_USAGE
 * (or CLAIMD_E_NOMEM), so a sequence of adds needs no checks in between.
 * ------------------------------------------------------------------------------------------- */

typedef struct claimd_args claimd_args;

/* A new, empty parameter map, or NULL when out of memory. Caller frees with claimd_args_free. */
CLAIMD_API claimd_args *claimd_args_new(void);

/* A parameter map made of caller-packed MessagePack bytes (one complete map, copied), or NULL
 * when the bytes are not exactly one map. No more values can be added to it. Caller frees with
 * claimd_args_free. */
CLAIMD_API claimd_args *claimd_args_from_msgpack(const void *map, size_t len);

/* Frees the builder. NULL is a no-op. */
CLAIMD_API void claimd_args_free(claimd_args *a);

/* Empties the builder (keeping its memory) so it can build another map. */
CLAIMD_API void claimd_args_reset(claimd_args *a);

/* Each adds one value (under key in a map; key NULL in an array) and returns the builder's sticky
 * code: CLAIMD_OK while every add so far succeeded. claimd_args_str with s NULL is an error
 * (use claimd_args_nil); claimd_args_strn takes len bytes that may contain NULs. */
CLAIMD_API int claimd_args_str(claimd_args *a, const char *key, const char *s);
CLAIMD_API int claimd_args_strn(claimd_args *a, const char *key, const char *s, size_t len);
CLAIMD_API int claimd_args_int(claimd_args *a, const char *key, int64_t v);
CLAIMD_API int claimd_args_uint(claimd_args *a, const char *key, uint64_t v);
CLAIMD_API int claimd_args_bool(claimd_args *a, const char *key, int v);
CLAIMD_API int claimd_args_nil(claimd_args *a, const char *key);
CLAIMD_API int claimd_args_float(claimd_args *a, const char *key, double v);
CLAIMD_API int claimd_args_bin(claimd_args *a, const char *key, const void *p, size_t len);

/* Adds one pre-packed MessagePack value (checked to be exactly one complete object). */
CLAIMD_API int claimd_args_raw(claimd_args *a, const char *key, const void *msgpack, size_t len);

/* Adds a copy of a value tree (for example a record read back from the daemon). */
CLAIMD_API int claimd_args_value(claimd_args *a, const char *key, const claimd_value *v);

/* Opens a nested array / map as the next value; claimd_args_end closes the innermost one.
 * Nesting is limited to 31 levels, the top-level map included (inside the request envelope that
 * is the daemon's limit of 32). */
CLAIMD_API int claimd_args_begin_array(claimd_args *a, const char *key);
CLAIMD_API int claimd_args_begin_map(claimd_args *a, const char *key);
CLAIMD_API int claimd_args_end(claimd_args *a);

/* The builder's sticky code (CLAIMD_OK, CLAIMD_E_USAGE or CLAIMD_E_NOMEM). */
CLAIMD_API int claimd_args_error(const claimd_args *a);

/* The packed map (with every nested container closed) and its length in *len, or NULL when the
 * builder has an error or a container is still open. Owned by the builder, valid until its next
 * change. */
CLAIMD_API const void *claimd_args_data(claimd_args *a, size_t *len);

/* ---------------------------------------------------------------------------------------------
 * The transport-free codec, for a program with its own event loop (libuv, libevent, epoll...)
 *
 * Nothing here does I/O, blocks, or keeps global state: the program owns the socket, writes
 * requests encoded with claimd_encode_request whenever it likes (pipelined: any number before
 * the first reply), and feeds every byte it reads to a claimd_reader, which hands out replies
 * and notifications as soon as they are complete. Replies come in request order; match them by
 * msgid. examples/uv_client.c does this with libuv.
 *
 *   claimd_reader *r = claimd_reader_new(0);
 *   // when the socket is readable:  n = read(fd, buf, sizeof buf);  claimd_reader_feed(r, buf, n);
 *   claimd_message *m;
 *   while ((rc = claimd_reader_next(r, &m)) == CLAIMD_OK && m) { ...; claimd_message_free(m); }
 *   // rc != CLAIMD_OK: the stream is broken (claimd_reader_errstr): close the connection
 * ------------------------------------------------------------------------------------------- */

/* Packs the request [0, msgid, method, [params]] (params NULL: []) into buf[0..cap) and stores
 * its length in *len. Returns CLAIMD_OK; CLAIMD_E_NOMEM when cap is too small (nothing usable is
 * in buf, *len is the size needed: call again with that much, e.g. buf NULL and cap 0 first);
 * CLAIMD_E_USAGE for no method or params with an error or an open container. */
CLAIMD_API int claimd_encode_request(void *buf, size_t cap, size_t *len, uint32_t msgid,
                                     const char *method, const claimd_args *params);

typedef struct claimd_reader claimd_reader;
typedef struct claimd_message claimd_message;

typedef enum {
    CLAIMD_MSG_REPLY = 1,          /* [1, msgid, error, result] */
    CLAIMD_MSG_NOTIFICATION = 2    /* [2, method, params], e.g. "change" after "subscribe" */
} claimd_message_type;

/* A new reader that accepts messages up to max_message bytes (0: 256 MiB, as the context; at
 * least 64), or NULL when out of memory or max_message is too small. Caller frees with
 * claimd_reader_free. */
CLAIMD_API claimd_reader *claimd_reader_new(size_t max_message);

/* Frees the reader and any bytes it holds. NULL is a no-op. */
CLAIMD_API void claimd_reader_free(claimd_reader *r);

/* Copies len bytes received from the daemon into the reader. Returns CLAIMD_OK, CLAIMD_E_NOMEM,
 * or CLAIMD_E_PROTOCOL when the stream is already broken. */
CLAIMD_API int claimd_reader_feed(claimd_reader *r, const void *buf, size_t len);

/* Takes the next complete message: CLAIMD_OK with *msg set (caller frees with
 * claimd_message_free), or CLAIMD_OK with *msg NULL when more bytes are needed; CLAIMD_E_PROTOCOL
 * when the bytes are not a valid msgpack-rpc reply or notification within the bounds (sticky:
 * the connection cannot be resynchronised; claimd_reader_errstr says why); CLAIMD_E_NOMEM.
 * A large reply is walked once however many pieces it arrives in. */
CLAIMD_API int claimd_reader_next(claimd_reader *r, claimd_message **msg);

/* Why the stream is broken, or "" while it is not. Owned by the reader. */
CLAIMD_API const char *claimd_reader_errstr(const claimd_reader *r);

/* Frees a message and the values it owns. NULL is a no-op. */
CLAIMD_API void claimd_message_free(claimd_message *m);

/* The message's type. */
CLAIMD_API claimd_message_type claimd_message_type_of(const claimd_message *m);

/* A reply's msgid (0 for a notification). */
CLAIMD_API uint32_t claimd_message_msgid(const claimd_message *m);

/* A reply's outcome: CLAIMD_OK, or the claimd_code of its error (CLAIMD_E_INTERNAL for a code
 * this library does not know, or a plain string error). CLAIMD_OK for a notification. */
CLAIMD_API int claimd_message_code(const claimd_message *m);

/* A reply's error map ({"code", "message", "field"?, "id"?}), or NULL on success. Owned by m. */
CLAIMD_API const claimd_value *claimd_message_error(const claimd_message *m);

/* A reply's result (NULL when it has an error, or for a notification). Owned by m; or take it
 * with claimd_message_take_result (caller frees with claimd_value_free; m keeps NULL). */
CLAIMD_API const claimd_value *claimd_message_result(const claimd_message *m);
CLAIMD_API claimd_value *claimd_message_take_result(claimd_message *m);

/* A notification's method name and params array (NULL for a reply). Owned by m. */
CLAIMD_API const char *claimd_message_method(const claimd_message *m);
CLAIMD_API const claimd_value *claimd_message_params(const claimd_message *m);

/* ---------------------------------------------------------------------------------------------
 * Context: one blocking connection to the daemon
 * ------------------------------------------------------------------------------------------- */

typedef struct claimd_ctx claimd_ctx;

/* A new, unconnected context with default options, or NULL when out of memory.
 * Caller frees with claimd_free. */
CLAIMD_API claimd_ctx *claimd_new(void);

/* Closes the connection and frees the context and everything it owns. NULL is a no-op. */
CLAIMD_API void claimd_free(claimd_ctx *ctx);

/* Options; set them before claimd_connect (they apply from then on). Each returns CLAIMD_OK or
 * CLAIMD_E_USAGE for a value out of range. */
/* Longest wait, in milliseconds, for each connect / call / reply (0: wait forever; default 0).
 * When it expires the call fails with CLAIMD_E_IO ("timed out") and the connection is unusable,
 * because the reply may still arrive later. */
CLAIMD_API int claimd_set_timeout_ms(claimd_ctx *ctx, int ms);
/* Largest reply accepted, in bytes (default 256 MiB, minimum 64). A bigger reply is
 * CLAIMD_E_PROTOCOL: the bound keeps a broken or hostile peer from exhausting memory. */
CLAIMD_API int claimd_set_max_reply(claimd_ctx *ctx, size_t bytes);
/* Most notifications kept unread (default 65536); later ones are dropped and counted. */
CLAIMD_API int claimd_set_max_queued_notifications(claimd_ctx *ctx, size_t n);

/* Connects to the daemon's Unix socket: socket_path, or when NULL $CLAIMD_SOCKET, or when that
 * is unset or empty "./var/claimd.sock". Returns CLAIMD_OK, CLAIMD_E_USAGE (path too long,
 * already connected) or CLAIMD_E_IO (errstr says why: no such socket, connection refused...). */
CLAIMD_API int claimd_connect(claimd_ctx *ctx, const char *socket_path);

/* The connected socket's file descriptor (for poll), or -1. Owned by the context. */
CLAIMD_API int claimd_fd(const claimd_ctx *ctx);

/* Errors. After a failed call, claimd_errcode() is its code and claimd_errstr() a one-line
 * description (the daemon's message for daemon errors). A daemon error leaves the connection
 * usable and is replaced by the next call's outcome. A library error (CLAIMD_E_IO,
 * CLAIMD_E_PROTOCOL) is sticky: the connection is closed and every later call fails with it.
 * The strings are owned by the context, valid until its next call. */
CLAIMD_API int claimd_errcode(const claimd_ctx *ctx);
CLAIMD_API const char *claimd_errstr(const claimd_ctx *ctx);
/* The failed call's "field" (the parameter at fault), or NULL. */
CLAIMD_API const char *claimd_error_field(const claimd_ctx *ctx);
/* The failed call's "id" (an existing record, e.g. the duplicate), or 0. */
CLAIMD_API uint64_t claimd_error_id(const claimd_ctx *ctx);
/* The daemon's whole error map of the failed call, or NULL (library errors). Owned by the
 * context, valid until its next call. */
CLAIMD_API const claimd_value *claimd_error_value(const claimd_ctx *ctx);

/* Calls method with params (NULL: no parameters) and waits for the answer. On CLAIMD_OK *result
 * is the result (caller frees with claimd_value_free); on failure *result is NULL and the error
 * is on the context. result may be NULL to discard the result. Fails with CLAIMD_E_USAGE while
 * pipelined replies are still pending (read them with claimd_get_reply first). */
CLAIMD_API int claimd_call(claimd_ctx *ctx, const char *method, const claimd_args *params,
                           claimd_value **result);

/* Pipelining: claimd_append queues a request (sent at the latest by the next claimd_get_reply,
 * and earlier as the output buffer fills); claimd_get_reply returns the answer to the oldest
 * request whose reply has not been read yet, in request order, with claimd_call's result and
 * error convention. claimd_pending() is the number of replies not read yet. params are copied:
 * the caller may free or reuse them right after claimd_append returns. */
CLAIMD_API int claimd_append(claimd_ctx *ctx, const char *method, const claimd_args *params);
CLAIMD_API int claimd_get_reply(claimd_ctx *ctx, claimd_value **result);
CLAIMD_API size_t claimd_pending(const claimd_ctx *ctx);

/* Sends whatever claimd_append queued without waiting for replies. */
CLAIMD_API int claimd_flush(claimd_ctx *ctx);

/* Notifications ([2, method, params]) the daemon sends on this connection, for example after
 * "subscribe", are queued whenever the library reads from the socket. This returns the oldest
 * one, waiting up to timeout_ms for one to arrive (0: do not wait; -1: wait forever).
 * On CLAIMD_OK: *method (caller frees with free()) and *params (the params array; caller frees
 * with claimd_value_free) are set, or both are NULL when none arrived in time. Replies to
 * pipelined requests that arrive meanwhile are kept for claimd_get_reply. */
CLAIMD_API int claimd_next_notification(claimd_ctx *ctx, char **method, claimd_value **params,
                                        int timeout_ms);

/* How many notifications were dropped because the queue was full. */
CLAIMD_API uint64_t claimd_notifications_dropped(const claimd_ctx *ctx);

/* ---------------------------------------------------------------------------------------------
 * Typed helpers for the common calls (all built on claimd_call)
 * ------------------------------------------------------------------------------------------- */

/* The structs below follow the ABI rule of the header comment: struct_size first, set with
 * CLAIMD_INIT(&s) or the CLAIMD_..._INIT initialiser, new fields only at the end. */

/* A hop of the attribution chain: name of the entity (outlet, agency, person) and how it passed
 * the claim on ("quoted", "reported", "citing", "with-reporting-by", "translated", "other"). */
typedef struct {
    size_t struct_size;       /* sizeof(claimd_via) */
    const char *name;
    const char *how;          /* may be NULL */
} claimd_via;
#define CLAIMD_VIA_INIT {sizeof(claimd_via), NULL, NULL}

/* Where the claim was published. Every field may be NULL except url. */
typedef struct {
    size_t struct_size;       /* sizeof(claimd_appearance) */
    const char *url;
    const char *outlet;       /* entity name */
    const char *title;
    const char *published_at; /* ISO 8601, any precision */
    const char *lang;
} claimd_appearance;
#define CLAIMD_APPEARANCE_INIT {sizeof(claimd_appearance), NULL, NULL, NULL, NULL, NULL}

typedef enum {
    CLAIMD_QUOTE_DEFAULT = 0, /* not sent: the daemon's default (verbatim) */
    CLAIMD_QUOTE_VERBATIM = 1,
    CLAIMD_QUOTE_PARAPHRASE = 2
} claimd_quote;

/* A claim to record. Initialise it (CLAIMD_INIT(&c) or `claimd_claim c = CLAIMD_CLAIM_INIT;`)
 * and fill what is known: NULL strings, zero counts and CLAIMD_QUOTE_DEFAULT are left out of the
 * request. Only text is required. The library never keeps these pointers beyond the call. */
typedef struct {
    size_t struct_size;               /* sizeof(claimd_claim) */
    const char *text;
    claimd_quote quote;
    const char *lang;
    const char *speaker;              /* entity name or alias; NULL: anonymous or speaker_id */
    uint64_t speaker_id;              /* used when speaker is NULL and this is not 0 */
    const char *speaker_role;
    const char *attribution;
    const char *said_at;              /* ISO 8601, any precision */
    const char *medium;
    const claimd_via *via;            /* n_via hops, each initialised */
    size_t n_via;
    const claimd_appearance *appearances; /* n_appearances, each initialised */
    size_t n_appearances;
    const char *const *about;         /* n_about entity names */
    size_t n_about;
    const char *const *tags;          /* n_tags labels */
    size_t n_tags;
    const char *external_id;
    const char *by;
} claimd_claim;
#define CLAIMD_CLAIM_INIT {sizeof(claimd_claim), NULL, CLAIMD_QUOTE_DEFAULT, NULL, NULL, 0, NULL, \
                           NULL, NULL, NULL, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, NULL}

/* Adds a claim to a: as a nested map under key (key not NULL), as a map item (key NULL inside
 * an array), or as fields of the innermost open map (key NULL inside a map, e.g. the top-level
 * map for claim.put). A claim without text or struct_size is a CLAIMD_E_USAGE error. */
CLAIMD_API int claimd_args_claim(claimd_args *a, const char *key, const claimd_claim *claim);

/* claim.put. on_duplicate: "merge" (NULL: the daemon's default), "skip" or "error". Stores the
 * claim id, revision and whether it was created in whichever out pointers are not NULL.
 * A duplicate with "error" fails with CLAIMD_E_CONFLICT and claimd_error_id() = existing id. */
CLAIMD_API int claimd_claim_put(claimd_ctx *ctx, const claimd_claim *claim,
                                const char *on_duplicate, uint64_t *id, uint64_t *rev,
                                int *created);

/* claim.get. *claim: the record (caller frees with claimd_value_free). */
CLAIMD_API int claimd_claim_get(claimd_ctx *ctx, uint64_t id, claimd_value **claim);

/* A fact-checker's verdict on one claim (docs/data-model.md, "Verdict"). claim and rating are
 * required; NULL strings, score 0 and n_evidence 0 are left out of the request. */
typedef struct {
    size_t struct_size;               /* sizeof(claimd_verdict) */
    uint64_t claim;                   /* the claim's id */
    const char *rating;               /* "false", "mostly-true", ... */
    const char *label;                /* the publisher's own wording */
    double score;                     /* 1..5; 0: none */
    const char *by;
    const char *at;                   /* ISO 8601, any precision */
    const char *summary;
    const char *url;
    const char *const *evidence;      /* n_evidence URLs */
    size_t n_evidence;
} claimd_verdict;
#define CLAIMD_VERDICT_INIT {sizeof(claimd_verdict), 0, NULL, NULL, 0, NULL, NULL, NULL, NULL, \
                             NULL, 0}

/* verdict.add. Stores the new verdict's id in *verdict_id when not NULL. (Before 0.1.0 this took
 * ten positional arguments; a struct can grow.) */
CLAIMD_API int claimd_verdict_add(claimd_ctx *ctx, const claimd_verdict *verdict,
                                  uint64_t *verdict_id);

/* The outcome of one record of claimd_claim_import. */
typedef struct {
    size_t struct_size;       /* sizeof(claimd_import_result) */
    uint64_t id;              /* the claim (new or existing); 0 when rejected */
    int created;              /* 1 when a new claim was recorded */
    int code;                 /* CLAIMD_OK, or the claimd_code the record was rejected with */
} claimd_import_result;
#define CLAIMD_IMPORT_RESULT_INIT {sizeof(claimd_import_result), 0, 0, 0}

/* claim.import of n claims (n <= 10,000 with the daemon's default limit) in one request, applied
 * record by record. results (caller-owned, n entries; results[0].struct_size set, which is the
 * stride, the others are overwritten) receives each record's outcome in input order;
 * *n_rejected (when not NULL) counts rejected records; *reply (when not NULL) receives the
 * daemon's whole result with every error map (caller frees with claimd_value_free). Returns
 * CLAIMD_OK when the request went through, even if some records were rejected. */
CLAIMD_API int claimd_claim_import(claimd_ctx *ctx, const claimd_claim *claims, size_t n,
                                   const char *on_duplicate, claimd_import_result *results,
                                   size_t *n_rejected, claimd_value **reply);

/* ---------------------------------------------------------------------------------------------
 * Revisions: update, retract, history (client/lifecycle.c)
 * ------------------------------------------------------------------------------------------- */

/* claim.update: applies the fields of set (a map built with claimd_args, e.g. "medium" or a
 * whole "tags" list; claimd_args_nil clears a field) if rev is still the claim's revision. by
 * may be NULL. Stores the new revision in *new_rev when not NULL. A stale rev fails with
 * CLAIMD_E_CONFLICT (nothing applied): read the claim again and decide. */
CLAIMD_API int claimd_claim_update(claimd_ctx *ctx, uint64_t id, uint64_t rev,
                                   const claimd_args *set, const char *by, uint64_t *new_rev);

/* claim.retract: the claim stays readable with "retracted": true; queries leave it out. reason
 * and by may be NULL. Retracting again changes nothing and returns the current revision. */
CLAIMD_API int claimd_claim_retract(claimd_ctx *ctx, uint64_t id, const char *reason,
                                    const char *by, uint64_t *new_rev);

/* claim.history: *result is {"items": [{"rev", "at", "by", "op", "claim"}]}, oldest first
 * (caller frees with claimd_value_free). */
CLAIMD_API int claimd_claim_history(claimd_ctx *ctx, uint64_t id, claimd_value **result);

/* ---------------------------------------------------------------------------------------------
 * Queries and search over every page (client/query.c)
 *
 *   claimd_query *q = claimd_query_begin(ctx, filters);      // filters: NULL or a claimd_args map
 *   const claimd_value *claim;
 *   while ((rc = claimd_query_next(q, &claim)) == CLAIMD_OK && claim) { ... }
 *   claimd_query_end(q);                                      // rc != CLAIMD_OK: see ctx errors
 *
 * The iterator sends the filters with the cursor of the previous page until the daemon answers
 * a nil cursor. It never stops at a short or empty page: a page may hold fewer items than its
 * limit when the daemon's scan budget runs out. "limit" in the filters sets the page size (the
 * daemon's default 20 when absent; at most 1000); a "cursor" in them is ignored. The context
 * must not be used for other calls while a page is being fetched (between next calls it may).
 * ------------------------------------------------------------------------------------------- */

typedef struct claimd_query claimd_query;

/* Starts an iterator over claim.query with params (copied; NULL: no filters). Nothing is sent
 * until the first claimd_query_next. Returns NULL when out of memory or when params has an
 * error or an open container. Caller ends it with claimd_query_end. */
CLAIMD_API claimd_query *claimd_query_begin(claimd_ctx *ctx, const claimd_args *params);

/* The same over claim.search for the query text q (words, "phrases", prefix*), with params as
 * for claimd_query_begin (filters, "limit", "mark"). Its items are the search hits
 * {"id", "score", "snippet", "claim"}, best first. */
CLAIMD_API claimd_query *claimd_search_begin(claimd_ctx *ctx, const char *q,
                                             const claimd_args *params);

/* The next item: returns CLAIMD_OK with *item set, or with *item NULL when every page has been
 * read. *item is owned by the iterator, valid until the next call or claimd_query_end. On an
 * error the code is returned (the context has the details) and the iterator stays finished. */
CLAIMD_API int claimd_query_next(claimd_query *it, const claimd_value **item);

/* claim.search's "total" of the first page (0 for claim.query or before the first page). */
CLAIMD_API uint64_t claimd_query_total(const claimd_query *it);

/* Frees the iterator (the context stays open). NULL is a no-op. */
CLAIMD_API void claimd_query_end(claimd_query *it);

/* claim.match: claims whose text is a near-duplicate of text. speaker (NULL: any) restricts
 * them to one speaker; min_similarity < 0 and limit 0 use the daemon's defaults. *result is
 * {"items": [{"id", "similarity"}]}, best first (caller frees with claimd_value_free). */
CLAIMD_API int claimd_claim_match(claimd_ctx *ctx, const char *text, const char *speaker,
                                  double min_similarity, unsigned limit, claimd_value **result);

/* ---------------------------------------------------------------------------------------------
 * The change feed (client/subscribe.c)
 *
 * Gap-free catch-up (docs/protocol.md, "The change feed"): subscribe first and note the seq it
 * returns; read `changes` from your last processed seq up to that seq; then take changes with
 * claimd_next_change, dropping any with seq <= the last one you processed.
 * ------------------------------------------------------------------------------------------- */

/* subscribe with optional filters (NULL: every change; else a map with "types", "ops",
 * "speaker", "claim"). Stores the subscription id and the last seq committed when it started in
 * whichever out pointers are not NULL. */
CLAIMD_API int claimd_subscribe(claimd_ctx *ctx, const claimd_args *filters, uint64_t *subscription,
                                uint64_t *seq);

/* unsubscribe. Changes already queued on the connection may still be returned afterwards. */
CLAIMD_API int claimd_unsubscribe(claimd_ctx *ctx, uint64_t subscription);

/* changes: *result is {"items": [change], "next": seq}, the changes after since, oldest first
 * (limit 0: the daemon's default 100). Caller frees with claimd_value_free. */
CLAIMD_API int claimd_changes(claimd_ctx *ctx, uint64_t since, unsigned limit,
                              claimd_value **result);

/* One change of the feed, or the notice that a subscription was cut off. Strings are copied
 * (truncated if ever longer than their buffers). Initialise struct_size (CLAIMD_INIT or
 * CLAIMD_CHANGE_INIT) before the first claimd_next_change; the library keeps it. */
typedef struct {
    size_t struct_size;        /* sizeof(claimd_change) */
    uint64_t seq;              /* > 0 for a change; 0 when none arrived or for a cut-off notice */
    uint64_t id;               /* the claim or entity changed */
    char op[32];               /* "claim.create", "verdict.add", ... */
    char type[16];             /* "claim" or "entity" */
    char at[48];               /* commit time, UTC */
    uint64_t closed;           /* a subscription the daemon cut off (it did not read fast
                                * enough): subscribe again and catch up; else 0 */
    char reason[160];          /* why, for a cut-off */
    /* Appended after the first layout, as the ABI rule says: a caller whose struct_size ends at
     * reason still works and simply does not receive this. */
    uint64_t subscription;     /* the subscription a change is for (a connection may have
                                * several); 0 when the daemon does not say */
} claimd_change;
#define CLAIMD_CHANGE_INIT {sizeof(claimd_change), 0, 0, "", "", "", 0, "", 0}

/* Waits up to timeout_ms (-1: forever, 0: no wait) for the next change notification of any
 * subscription on this connection and fills *change. Returns CLAIMD_OK with change->seq > 0
 * for a change, change->closed > 0 for a cut-off notice, both 0 when nothing arrived in time;
 * or an error code (for example CLAIMD_E_IO when the connection is lost). Other notifications
 * are skipped. Replies to pipelined requests that arrive meanwhile are kept. */
CLAIMD_API int claimd_next_change(claimd_ctx *ctx, claimd_change *change, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
