/* client.h: internals of libclaimd shared by its files (not installed).
 *
 * Layers, one per file, each usable without the ones above it:
 *   abi.c     the caller's versioned structs (struct_size first): reading, writing, arrays
 *   value.c   claimd_value trees: conversion from msgpack_object, accessors, packing back
 *   args.c    claimd_args: the parameter-map builder
 *   codec.c   transport-free msgpack-rpc codec: request encoding, a reply reader fed with bytes
 *   context.c the blocking socket context (connect, call, pipelining, notifications)
 *   claim.c   typed helpers (claim.put/get/import, verdict.add)
 *   lifecycle.c  typed helpers for claim.update/retract/history
 *   query.c   the paging iterator over claim.query / claim.search, and claim.match
 *   subscribe.c  subscribe, unsubscribe, changes and the blocking "next change"
 */
#ifndef CLAIMD_CLIENT_H
#define CLAIMD_CLIENT_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "claimd.h"

/* Nesting allowed in a reply, the envelope included. msgpack-c's unpacker stops at 32 levels
 * (MSGPACK_EMBED_STACK_SIZE), so the pre-scan refuses deeper objects with a clear reason first. */
#define CD_CLIENT_MAX_DEPTH 32

/* Nesting allowed in a parameter map built with claimd_args (the daemon's request limit is 32,
 * and the request envelope adds one level). */
#define CD_CLIENT_ARGS_MAX_DEPTH 31

/* ---- abi.c ---- */

/* The size of type up to and including field: the smallest struct_size a caller may pass, when
 * field is the last one of the struct's first version (later versions only append). */
#define CD_SIZE_UPTO(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))
#define CD_MIN_VIA CD_SIZE_UPTO(claimd_via, how)
#define CD_MIN_APPEARANCE CD_SIZE_UPTO(claimd_appearance, lang)
#define CD_MIN_CLAIM CD_SIZE_UPTO(claimd_claim, by)
#define CD_MIN_VERDICT CD_SIZE_UPTO(claimd_verdict, n_evidence)
#define CD_MIN_IMPORT_RESULT CD_SIZE_UPTO(claimd_import_result, code)
#define CD_MIN_CHANGE CD_SIZE_UPTO(claimd_change, reason)

/* Copies the caller's struct into ours (ours_size bytes, zero past what the caller has).
 * Returns 0, or -1 when theirs is NULL, its struct_size is below min_size, or it has bytes past
 * ours_size (fields of a newer header) that are not zero. */
int cd_client_struct_in(void *ours, size_t ours_size, const void *theirs, size_t min_size);

/* Copies ours into the caller's struct, as much as its struct_size holds (struct_size kept;
 * its fields this library does not know are zeroed). */
void cd_client_struct_out(void *theirs, const void *ours, size_t ours_size);

/* Element i of a caller's array whose stride is base's struct_size, or NULL when that is below
 * min_size or element i's struct_size differs. */
const void *cd_client_struct_at(const void *base, size_t i, size_t min_size);

/* ---- value.c ---- */

/* A node of a value tree (opaque in claimd.h, so a later version may add fields). */
struct claimd_value {
    claimd_type type;
    size_t len;                 /* STR/BIN: bytes (without the NUL); ARRAY: items; MAP: pairs */
    union {
        int b;                  /* BOOL: 0 or 1 */
        int64_t i;              /* INT */
        uint64_t u;             /* UINT */
        double f;               /* FLOAT (float32 values are widened) */
        const char *str;        /* STR/BIN: len bytes followed by a NUL added for convenience */
        claimd_value *items;    /* ARRAY: len items; MAP: 2*len nodes, key then value */
    } as;
};

/* Converts a msgpack object (at most CD_CLIENT_MAX_DEPTH deep) into a new tree, one allocation.
 * Returns CLAIMD_OK, CLAIMD_E_NOMEM, or CLAIMD_E_PROTOCOL for ext types or excessive nesting. */
int cd_client_value_from_object(const msgpack_object *o, claimd_value **out);

/* Packs a value tree with pk. Returns 0, or -1 when the packer's writer fails or the tree nests
 * deeper than CD_CLIENT_MAX_DEPTH. */
int cd_client_pack_value(msgpack_packer *pk, const claimd_value *v);

/* ---- args.c ---- */

struct claimd_args_frame {
    size_t hdr_off;        /* where the container's 5 reserved header bytes start */
    uint32_t count;        /* items (array) or pairs (map) added so far */
    int is_map;
};

struct claimd_args {
    msgpack_sbuffer buf;   /* packed bytes; a built map starts with 5 reserved header bytes */
    msgpack_packer pk;
    struct claimd_args_frame frames[CD_CLIENT_ARGS_MAX_DEPTH];
    unsigned depth;        /* open containers, the top-level map included (>= 1 unless packed) */
    int err;               /* sticky claimd_code */
    int packed;            /* 1: buf holds caller-packed bytes exactly, nothing can be added */
};

/* The finished map bytes of a (const: only the reserved header bytes are rewritten), or -1 when
 * a has an error or an open container. */
int cd_client_args_bytes(const claimd_args *a, const char **p, size_t *len);

/* ---- context.c ---- */

/* Records a failed call that leaves the connection usable (e.g. a reply without an expected
 * field) and returns code. */
__attribute__((format(printf, 3, 4)))
int cd_client_fail(claimd_ctx *ctx, int code, const char *fmt, ...);

/* ---- claim.c ---- */

/* Calls method with a (taken: freed here, even on failure; NULL means out of memory) and checks
 * that the result is a map, which goes to *out (caller frees). Returns a claimd_code. */
int cd_client_call_map(claimd_ctx *ctx, const char *method, claimd_args *a, claimd_value **out);

/* ---- codec.c ---- */

typedef enum { CD_CLIENT_RESPONSE = 1, CD_CLIENT_NOTIFICATION = 2 } cd_client_msg_kind;

/* One decoded message from the daemon. Owns its trees and method string. */
typedef struct cd_client_msg {
    cd_client_msg_kind kind;
    uint32_t msgid;                /* response */
    claimd_value *error;           /* response: the error map, or NULL on success */
    claimd_value *result;          /* response: the result (NULL when error is set) */
    char *method;                  /* notification: NUL-terminated method name */
    claimd_value *params;          /* notification: the params array */
    struct cd_client_msg *next;    /* queue link for the context */
} cd_client_msg;

/* Appends the request [0, msgid, method, [params]] (or [] when params is NULL) to out.
 * Returns CLAIMD_OK, CLAIMD_E_USAGE (bad params) or CLAIMD_E_NOMEM. */
int cd_client_pack_request(msgpack_sbuffer *out, uint32_t msgid, const char *method,
                           const claimd_args *params);

/* Decodes the message at the front of buf[0..len): returns 1 and fills *out and *used when a
 * whole message is there, 0 when more bytes are needed, -1 (with a reason in errbuf) when the
 * bytes are not a valid reply or notification within the bounds. Pure: no state, no I/O. */
int cd_client_decode_message(const char *buf, size_t len, size_t max_bytes, unsigned max_depth,
                             cd_client_msg *out, size_t *used, char *errbuf, size_t errlen);

/* Frees what a message owns and zeroes it (the next link is kept). */
void cd_client_msg_clear(cd_client_msg *m);

/* A reader accumulates bytes from any transport and hands out whole messages. It remembers how
 * far an incomplete object has been walked, so a large reply arriving in many pieces is walked
 * once, and only a complete object goes through cd_prescan and then msgpack_unpack. */
typedef struct {
    char *buf;
    size_t off, len, cap;          /* unread bytes are buf[off..len) */
    size_t max_bytes;
    unsigned max_depth;
    size_t walked;                 /* bytes of the current object already walked */
    uint64_t pending;              /* its elements announced and not started (as cd_prescan) */
    unsigned nstack;               /* open containers of the current object */
    uint64_t stack[CD_CLIENT_MAX_DEPTH]; /* elements still expected in each open container */
    int failed;                    /* sticky: the stream is broken */
    char errstr[160];
} cd_client_reader;

/* Starts an empty reader with the given bounds on one message. */
void cd_client_reader_init(cd_client_reader *r, size_t max_bytes, unsigned max_depth);

/* Frees the reader's buffer (the reader can be initialised again). */
void cd_client_reader_free(cd_client_reader *r);

/* Copies n bytes into the reader. Returns 0, or -1 when out of memory. */
int cd_client_reader_feed(cd_client_reader *r, const void *p, size_t n);

/* Takes the next whole message: 1 (filled *out), 0 (need more bytes), -1 (stream broken, reason
 * in r->errstr; sticky). The caller clears *out with cd_client_msg_clear. */
int cd_client_reader_next(cd_client_reader *r, cd_client_msg *out);

#endif
