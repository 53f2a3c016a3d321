/* claimd.h: the public C API of libclaimd, the client library of the claimd daemon.
 * The wire contract is docs/protocol.md (MessagePack-RPC over a Unix socket).
 *
 * Model: hiredis. A transport-free codec (client/codec.c) under a blocking context: create ->
 * options -> connect, then claimd_call (or claimd_append + claimd_get_reply to pipeline), and typed
 * helpers for the common calls on top. */
#ifndef CLAIMD_H
#define CLAIMD_H

#include <stddef.h>
#include <stdint.h>

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

/* ---------------------------------------------------------------------------------------------
 * Conventions
 *
 * Functions that can fail return an int that is a claimd_code: 0 (CLAIMD_OK) on success.
 * Every pointer the library returns says who owns it: "caller frees with X" or "owned by the
 * context/value, valid until Y". Nothing here is thread-safe per handle; use one claimd_ctx per
 * thread (handles share no state, so different threads may use different handles freely).
 * ------------------------------------------------------------------------------------------- */

/* The library's version, "MAJOR.MINOR.PATCH". Static string. */
const char *claimd_version(void);

/* ---------------------------------------------------------------------------------------------
 * Values: the decoded result of a call (a MessagePack object tree)
 * ------------------------------------------------------------------------------------------- */

typedef enum {
    CLAIMD_T_NIL = 0,
    CLAIMD_T_BOOL,
    CLAIMD_T_INT,     /* a negative integer (MessagePack keeps non-negative ones as CLAIMD_T_UINT) */
    CLAIMD_T_UINT,
    CLAIMD_T_FLOAT,
    CLAIMD_T_STR,
    CLAIMD_T_BIN,
    CLAIMD_T_ARRAY,
    CLAIMD_T_MAP
} claimd_type;

typedef struct claimd_value claimd_value;

/* A node of a value tree. Fields are read-only for the caller. A whole tree is one allocation:
 * free it with claimd_value_free() on the root the library handed out, never on an inner node. */
struct claimd_value {
    claimd_type type;
    size_t len;                 /* STR/BIN: bytes (without the added NUL); ARRAY: items; MAP: pairs */
    union {
        int b;                  /* BOOL: 0 or 1 */
        int64_t i;              /* INT */
        uint64_t u;             /* UINT */
        double f;               /* FLOAT (float32 values are widened) */
        const char *str;        /* STR/BIN: len bytes followed by a NUL added for convenience */
        claimd_value *items;    /* ARRAY: len items; MAP: 2*len nodes, key then value */
    } as;
};

/* Frees a whole tree returned by the library (result, notification params). NULL is a no-op. */
void claimd_value_free(claimd_value *root);

/* The value's type; CLAIMD_T_NIL for NULL. */
claimd_type claimd_value_type(const claimd_value *v);

/* A short static name for a type ("nil", "bool", "int", "uint", "float", "str", "bin", "array",
 * "map"). */
const char *claimd_type_name(claimd_type t);

/* The value stored under the string key in a map (the last one if a key repeats), or NULL when v
 * is not a map or has no such key. Owned by the tree. */
const claimd_value *claimd_value_get(const claimd_value *map, const char *key);

/* Item i of an array, or NULL when v is not an array or i is out of range. Owned by the tree. */
const claimd_value *claimd_value_at(const claimd_value *array, size_t i);

/* Key / value of pair i of a map, or NULL when out of range or v is not a map. Owned by the tree. */
const claimd_value *claimd_value_key_at(const claimd_value *map, size_t i);
const claimd_value *claimd_value_val_at(const claimd_value *map, size_t i);

/* Number of items (array), pairs (map) or bytes (str, bin); 0 for other types and NULL. */
size_t claimd_value_len(const claimd_value *v);

/* The NUL-terminated text of a STR value (length in *len when len is not NULL), or NULL when v
 * is not a string. Owned by the tree. */
const char *claimd_value_str(const claimd_value *v, size_t *len);

/* Typed reads: store the number in *out and return 0, or return -1 (and leave *out alone) when v
 * has another type or the number does not fit. UINT and INT convert into each other when the
 * number fits; floats are not converted to integers. claimd_value_float accepts any number. */
int claimd_value_uint(const claimd_value *v, uint64_t *out);
int claimd_value_int(const claimd_value *v, int64_t *out);
int claimd_value_float(const claimd_value *v, double *out);
int claimd_value_bool(const claimd_value *v, int *out);

/* Shortcuts on a map: the string / unsigned number under key, or NULL / fallback when missing or
 * of another type. The string is owned by the tree. */
const char *claimd_value_get_str(const claimd_value *map, const char *key);
uint64_t claimd_value_get_uint(const claimd_value *map, const char *key, uint64_t fallback);

/* Decodes one complete MessagePack object buf[0..len) into a new tree in *out, with the same
 * bounds the library applies to replies (pre-scan: size <= len, nesting <= 32; no ext types).
 * Returns CLAIMD_OK, or CLAIMD_E_PROTOCOL for bytes that are not exactly one such object.
 * Caller frees *out with claimd_value_free. */
int claimd_value_decode(const void *buf, size_t len, claimd_value **out);

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
claimd_args *claimd_args_new(void);

/* A parameter map made of caller-packed MessagePack bytes (one complete map, copied), or NULL
 * when the bytes are not exactly one map. No more values can be added to it. Caller frees with
 * claimd_args_free. */
claimd_args *claimd_args_from_msgpack(const void *map, size_t len);

/* Frees the builder. NULL is a no-op. */
void claimd_args_free(claimd_args *a);

/* Empties the builder (keeping its memory) so it can build another map. */
void claimd_args_reset(claimd_args *a);

/* Each adds one value (under key in a map; key NULL in an array) and returns the builder's sticky
 * code: CLAIMD_OK while every add so far succeeded. claimd_args_str with s NULL is an error
 * (use claimd_args_nil); claimd_args_strn takes len bytes that may contain NULs. */
int claimd_args_str(claimd_args *a, const char *key, const char *s);
int claimd_args_strn(claimd_args *a, const char *key, const char *s, size_t len);
int claimd_args_int(claimd_args *a, const char *key, int64_t v);
int claimd_args_uint(claimd_args *a, const char *key, uint64_t v);
int claimd_args_bool(claimd_args *a, const char *key, int v);
int claimd_args_nil(claimd_args *a, const char *key);
int claimd_args_float(claimd_args *a, const char *key, double v);
int claimd_args_bin(claimd_args *a, const char *key, const void *p, size_t len);

/* Adds one pre-packed MessagePack value (checked to be exactly one complete object). */
int claimd_args_raw(claimd_args *a, const char *key, const void *msgpack, size_t len);

/* Adds a copy of a value tree (for example a record read back from the daemon). */
int claimd_args_value(claimd_args *a, const char *key, const claimd_value *v);

/* Opens a nested array / map as the next value; claimd_args_end closes the innermost one.
 * Nesting is limited to 31 levels, the top-level map included (inside the request envelope that
 * is the daemon's limit of 32). */
int claimd_args_begin_array(claimd_args *a, const char *key);
int claimd_args_begin_map(claimd_args *a, const char *key);
int claimd_args_end(claimd_args *a);

/* The builder's sticky code (CLAIMD_OK, CLAIMD_E_USAGE or CLAIMD_E_NOMEM). */
int claimd_args_error(const claimd_args *a);

/* The packed map (with every nested container closed) and its length in *len, or NULL when the
 * builder has an error or a container is still open. Owned by the builder, valid until its next
 * change. */
const void *claimd_args_data(claimd_args *a, size_t *len);

/* ---------------------------------------------------------------------------------------------
 * Context: one blocking connection to the daemon
 * ------------------------------------------------------------------------------------------- */

typedef struct claimd_ctx claimd_ctx;

/* A new, unconnected context with default options, or NULL when out of memory.
 * Caller frees with claimd_free. */
claimd_ctx *claimd_new(void);

/* Closes the connection and frees the context and everything it owns. NULL is a no-op. */
void claimd_free(claimd_ctx *ctx);

/* Options; set them before claimd_connect (they apply from then on). Each returns CLAIMD_OK or
 * CLAIMD_E_USAGE for a value out of range. */
/* Longest wait, in milliseconds, for each connect / call / reply (0: wait forever; default 0).
 * When it expires the call fails with CLAIMD_E_IO ("timed out") and the connection is unusable,
 * because the reply may still arrive later. */
int claimd_set_timeout_ms(claimd_ctx *ctx, int ms);
/* Largest reply accepted, in bytes (default 256 MiB, minimum 64). A bigger reply is
 * CLAIMD_E_PROTOCOL: the bound keeps a broken or hostile peer from exhausting memory. */
int claimd_set_max_reply(claimd_ctx *ctx, size_t bytes);
/* Most notifications kept unread (default 65536); later ones are dropped and counted. */
int claimd_set_max_queued_notifications(claimd_ctx *ctx, size_t n);

/* Connects to the daemon's Unix socket: socket_path, or when NULL $CLAIMD_SOCKET, or when that
 * is unset or empty "./var/claimd.sock". Returns CLAIMD_OK, CLAIMD_E_USAGE (path too long,
 * already connected) or CLAIMD_E_IO (errstr says why: no such socket, connection refused...). */
int claimd_connect(claimd_ctx *ctx, const char *socket_path);

/* The connected socket's file descriptor (for poll), or -1. Owned by the context. */
int claimd_fd(const claimd_ctx *ctx);

/* Errors. After a failed call, claimd_errcode() is its code and claimd_errstr() a one-line
 * description (the daemon's message for daemon errors). A daemon error leaves the connection
 * usable and is replaced by the next call's outcome. A library error (CLAIMD_E_IO,
 * CLAIMD_E_PROTOCOL) is sticky: the connection is closed and every later call fails with it.
 * The strings are owned by the context, valid until its next call. */
int claimd_errcode(const claimd_ctx *ctx);
const char *claimd_errstr(const claimd_ctx *ctx);
/* The failed call's "field" (the parameter at fault), or NULL. */
const char *claimd_error_field(const claimd_ctx *ctx);
/* The failed call's "id" (an existing record, e.g. the duplicate), or 0. */
uint64_t claimd_error_id(const claimd_ctx *ctx);
/* The daemon's whole error map of the failed call, or NULL (library errors). Owned by the
 * context, valid until its next call. */
const claimd_value *claimd_error_value(const claimd_ctx *ctx);

/* Calls method with params (NULL: no parameters) and waits for the answer. On CLAIMD_OK *result
 * is the result (caller frees with claimd_value_free); on failure *result is NULL and the error
 * is on the context. result may be NULL to discard the result. Fails with CLAIMD_E_USAGE while
 * pipelined replies are still pending (read them with claimd_get_reply first). */
int claimd_call(claimd_ctx *ctx, const char *method, const claimd_args *params,
                claimd_value **result);

/* Pipelining: claimd_append queues a request (sent at the latest by the next claimd_get_reply,
 * and earlier as the output buffer fills); claimd_get_reply returns the answer to the oldest
 * request whose reply has not been read yet, in request order, with claimd_call's result and
 * error convention. claimd_pending() is the number of replies not read yet. params are copied:
 * the caller may free or reuse them right after claimd_append returns. */
int claimd_append(claimd_ctx *ctx, const char *method, const claimd_args *params);
int claimd_get_reply(claimd_ctx *ctx, claimd_value **result);
size_t claimd_pending(const claimd_ctx *ctx);

/* Sends whatever claimd_append queued without waiting for replies. */
int claimd_flush(claimd_ctx *ctx);

/* Notifications ([2, method, params]) the daemon sends on this connection, for example after
 * "subscribe", are queued whenever the library reads from the socket. This returns the oldest
 * one, waiting up to timeout_ms for one to arrive (0: do not wait; -1: wait forever).
 * On CLAIMD_OK: *method (caller frees with free()) and *params (the params array; caller frees
 * with claimd_value_free) are set, or both are NULL when none arrived in time. Replies to
 * pipelined requests that arrive meanwhile are kept for claimd_get_reply. */
int claimd_next_notification(claimd_ctx *ctx, char **method, claimd_value **params,
                             int timeout_ms);

/* How many notifications were dropped because the queue was full. */
uint64_t claimd_notifications_dropped(const claimd_ctx *ctx);

/* ---------------------------------------------------------------------------------------------
 * Typed helpers for the common calls (all built on claimd_call)
 * ------------------------------------------------------------------------------------------- */

/* A hop of the attribution chain: name of the entity (outlet, agency, person) and how it passed
 * the claim on ("quoted", "reported", "citing", "with-reporting-by", "translated", "other"). */
typedef struct {
    const char *name;
    const char *how;          /* may be NULL */
} claimd_via;

/* Where the claim was published. Every field may be NULL except url. */
typedef struct {
    const char *url;
    const char *outlet;       /* entity name */
    const char *title;
    const char *published_at; /* ISO 8601, any precision */
    const char *lang;
} claimd_appearance;

typedef enum {
    CLAIMD_QUOTE_DEFAULT = 0, /* not sent: the daemon's default (verbatim) */
    CLAIMD_QUOTE_VERBATIM,
    CLAIMD_QUOTE_PARAPHRASE
} claimd_quote;

/* A claim to record. Zero-initialise it and fill what is known: NULL strings, zero counts and
 * CLAIMD_QUOTE_DEFAULT are left out of the request. Only text is required. The library never
 * keeps these pointers beyond the call. */
typedef struct {
    const char *text;
    claimd_quote quote;
    const char *lang;
    const char *speaker;              /* entity name or alias; NULL: anonymous or speaker_id */
    uint64_t speaker_id;              /* used when speaker is NULL and this is not 0 */
    const char *speaker_role;
    const char *attribution;
    const char *said_at;              /* ISO 8601, any precision */
    const char *medium;
    const claimd_via *via;            /* n_via hops */
    size_t n_via;
    const claimd_appearance *appearances;
    size_t n_appearances;
    const char *const *about;         /* n_about entity names */
    size_t n_about;
    const char *const *tags;          /* n_tags labels */
    size_t n_tags;
    const char *external_id;
    const char *by;
} claimd_claim;

/* Adds a claim to a: as a nested map under key (key not NULL), as a map item (key NULL inside
 * an array), or as fields of the innermost open map (key NULL inside a map, e.g. the top-level
 * map for claim.put). A claim without text is a CLAIMD_E_USAGE error. */
int claimd_args_claim(claimd_args *a, const char *key, const claimd_claim *claim);

/* claim.put. on_duplicate: "merge" (NULL: the daemon's default), "skip" or "error". Stores the
 * claim id, revision and whether it was created in whichever out pointers are not NULL.
 * A duplicate with "error" fails with CLAIMD_E_CONFLICT and claimd_error_id() = existing id. */
int claimd_claim_put(claimd_ctx *ctx, const claimd_claim *claim, const char *on_duplicate,
                     uint64_t *id, uint64_t *rev, int *created);

/* claim.get. *claim: the record (caller frees with claimd_value_free). */
int claimd_claim_get(claimd_ctx *ctx, uint64_t id, claimd_value **claim);

/* verdict.add. rating is required; NULL strings and score 0 are left out. Stores the new
 * verdict's id in *verdict_id when not NULL. */
int claimd_verdict_add(claimd_ctx *ctx, uint64_t claim_id, const char *rating, const char *label,
                       int score, const char *by, const char *at, const char *summary,
                       const char *url, uint64_t *verdict_id);

/* The outcome of one record of claimd_claim_import. */
typedef struct {
    uint64_t id;              /* the claim (new or existing); 0 when rejected */
    int created;              /* 1 when a new claim was recorded */
    int code;                 /* CLAIMD_OK, or the claimd_code the record was rejected with */
} claimd_import_result;

/* claim.import of n claims (n <= 10,000 with the daemon's default limit) in one request, applied
 * record by record. results (caller-owned, n entries) receives each record's outcome in input
 * order; *n_rejected (when not NULL) counts rejected records; *reply (when not NULL) receives the
 * daemon's whole result with every error map (caller frees with claimd_value_free). Returns
 * CLAIMD_OK when the request went through, even if some records were rejected. */
int claimd_claim_import(claimd_ctx *ctx, const claimd_claim *claims, size_t n,
                        const char *on_duplicate, claimd_import_result *results,
                        size_t *n_rejected, claimd_value **reply);

/* ---------------------------------------------------------------------------------------------
 * Revisions: update, retract, history (client/lifecycle.c)
 * ------------------------------------------------------------------------------------------- */

/* claim.update: applies the fields of set (a map built with claimd_args, e.g. "medium" or a
 * whole "tags" list; claimd_args_nil clears a field) if rev is still the claim's revision. by
 * may be NULL. Stores the new revision in *new_rev when not NULL. A stale rev fails with
 * CLAIMD_E_CONFLICT (nothing applied): read the claim again and decide. */
int claimd_claim_update(claimd_ctx *ctx, uint64_t id, uint64_t rev, const claimd_args *set,
                        const char *by, uint64_t *new_rev);

/* claim.retract: the claim stays readable with "retracted": true; queries leave it out. reason
 * and by may be NULL. Retracting again changes nothing and returns the current revision. */
int claimd_claim_retract(claimd_ctx *ctx, uint64_t id, const char *reason, const char *by,
                         uint64_t *new_rev);

/* claim.history: *result is {"items": [{"rev", "at", "by", "op", "claim"}]}, oldest first
 * (caller frees with claimd_value_free). */
int claimd_claim_history(claimd_ctx *ctx, uint64_t id, claimd_value **result);

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
claimd_query *claimd_query_begin(claimd_ctx *ctx, const claimd_args *params);

/* The same over claim.search for the query text q (words, "phrases", prefix*), with params as
 * for claimd_query_begin (filters, "limit", "mark"). Its items are the search hits
 * {"id", "score", "snippet", "claim"}, best first. */
claimd_query *claimd_search_begin(claimd_ctx *ctx, const char *q, const claimd_args *params);

/* The next item: returns CLAIMD_OK with *item set, or with *item NULL when every page has been
 * read. *item is owned by the iterator, valid until the next call or claimd_query_end. On an
 * error the code is returned (the context has the details) and the iterator stays finished. */
int claimd_query_next(claimd_query *it, const claimd_value **item);

/* claim.search's "total" of the first page (0 for claim.query or before the first page). */
uint64_t claimd_query_total(const claimd_query *it);

/* Frees the iterator (the context stays open). NULL is a no-op. */
void claimd_query_end(claimd_query *it);

/* claim.match: claims whose text is a near-duplicate of text. speaker (NULL: any) restricts
 * them to one speaker; min_similarity < 0 and limit 0 use the daemon's defaults. *result is
 * {"items": [{"id", "similarity"}]}, best first (caller frees with claimd_value_free). */
int claimd_claim_match(claimd_ctx *ctx, const char *text, const char *speaker,
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
int claimd_subscribe(claimd_ctx *ctx, const claimd_args *filters, uint64_t *subscription,
                     uint64_t *seq);

/* unsubscribe. Changes already queued on the connection may still be returned afterwards. */
int claimd_unsubscribe(claimd_ctx *ctx, uint64_t subscription);

/* changes: *result is {"items": [change], "next": seq}, the changes after since, oldest first
 * (limit 0: the daemon's default 100). Caller frees with claimd_value_free. */
int claimd_changes(claimd_ctx *ctx, uint64_t since, unsigned limit, claimd_value **result);

/* One change of the feed, or the notice that a subscription was cut off. Strings are copied
 * (truncated if ever longer than their buffers). */
typedef struct {
    uint64_t seq;              /* > 0 for a change; 0 when none arrived or for a cut-off notice */
    uint64_t id;               /* the claim or entity changed */
    char op[32];               /* "claim.create", "verdict.add", ... */
    char type[16];             /* "claim" or "entity" */
    char at[48];               /* commit time, UTC */
    uint64_t closed;           /* a subscription the daemon cut off (it did not read fast
                                * enough): subscribe again and catch up; else 0 */
    char reason[160];          /* why, for a cut-off */
} claimd_change;

/* Waits up to timeout_ms (-1: forever, 0: no wait) for the next change notification of any
 * subscription on this connection and fills *change. Returns CLAIMD_OK with change->seq > 0
 * for a change, change->closed > 0 for a cut-off notice, both 0 when nothing arrived in time;
 * or an error code (for example CLAIMD_E_IO when the connection is lost). Other notifications
 * are skipped. Replies to pipelined requests that arrive meanwhile are kept. */
int claimd_next_change(claimd_ctx *ctx, claimd_change *change, int timeout_ms);

#ifdef __cplusplus
}
#endif
#endif
