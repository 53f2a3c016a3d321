/* call: one msgpack-rpc request on its way through the daemon, and its reply.
 *
 * A call owns a msgpack_zone holding a private copy of the request bytes, the unpacked params
 * (whose strings point into that copy) and any scratch memory its method allocates, so a call's
 * memory is freed in one step whatever thread ran it. */
#ifndef CD_CALL_H
#define CD_CALL_H

#include <lmdb.h>
#include <msgpack.h>
#include <stdint.h>
#include <string.h>
#include "claimd.h"
#include "config.h"
#include "db.h"

typedef struct cd_server cd_server;
typedef struct cd_conn cd_conn;
typedef struct cd_call cd_call;
typedef struct cd_method cd_method;

/* A borrowed byte string (not NUL-terminated unless said so). */
typedef struct { const char *p; size_t n; } cd_str;

#define CD_MAX_CHANGES_INLINE 4

/* A change record produced by a write, published to subscribers after commit. */
typedef struct {
    uint64_t seq;
    int64_t at;
    const char *op, *type;    /* static strings */
    uint64_t id;
    uint64_t speaker;         /* a claim change: the claim's speaker (for subscription filters) */
} cd_change;

struct cd_call {
    cd_server *srv;
    cd_db *db;                /* the database it runs against (&srv->db; NULL without a server) */
    const cd_config *cfg;     /* the daemon's settings (&srv->cfg; NULL without a server) */
    cd_conn *conn;            /* NULL once the connection has gone: the reply is dropped */
    cd_call *next;            /* queue link (writer queue, batch, done list) */
    const cd_method *method;
    uint32_t msgid;
    int notification;         /* a client's [2, method, params]: run, but nothing is sent back */
    size_t req_bytes;         /* size of the request object (bounds write batches) */
    size_t mem_charge;        /* what the call counts against the memory budget (conn.c) */
    cd_str method_name;       /* as sent; empty when the envelope had none */
    msgpack_object params;    /* a MAP, or NIL when params was [] */
    msgpack_zone zone;
    msgpack_sbuffer result;   /* the packed result value, valid when err == CLAIMD_OK */
    msgpack_packer pk;        /* packs into result */
    claimd_code err;
    const char *err_field;    /* zone or static string, or NULL */
    char err_msg[200];
    uint64_t err_id;
    int has_err_id;
    int mdb_rc;               /* the LMDB code behind an internal/storage_full error, else 0 */
    int settled;              /* writer: this call's outcome in its batch is final */
    uint64_t ix_target;       /* a parked read: the change seq the indexes must reach... */
    uint64_t ix_attempt;      /* ...and the first pass attempt it waits for */
    void (*ix_resume)(cd_call *c); /* ...and what runs when it may go on (indexer.h) */
    uint64_t min_seq;         /* a read waits until this seq has committed here (dispatch.h) */
    int64_t wait_deadline_ns; /* ...until this uv_hrtime at most, then busy (0: no wait) */
    int64_t at_us;            /* the time the request's write is stamped with */
    int64_t start_ns;         /* monotonic arrival time, for latency stats */
    cd_change *changes;       /* zone array of changes made; count in nchanges */
    size_t nchanges, changes_cap;
    struct cd_name_cache *names; /* entity names already resolved by this call (entity.c) */
    uint64_t ref_gen;         /* a read: the reference memo epoch its txn may fill (entity.h) */
};

/* The most values (array items, map keys and values, the request itself) a request of len bytes
 * may hold to be unpacked: 65,536, and past that one per 2 bytes. Each value unpacks into a
 * 24-byte msgpack_object however small it was on the wire. */
static inline uint64_t cd_call_max_values(size_t len)
{
    return len / 2 > 65536 ? len / 2 : 65536;
}

/* An upper bound of what cd_call_new allocates for a request of len bytes holding values values:
 * the call, its zone (the request's copy, one msgpack_object per value, the slack of zone chunks
 * that double) and a small result. The memory budget charges it (conn.c); tests/fuzz/
 * fuzz_unpack.c checks that it holds. */
static inline size_t cd_call_cost(size_t len, uint64_t values)
{
    return 16384 + 2 * len + (size_t)values * 2 * sizeof(msgpack_object);
}

/* Builds a call from one complete, pre-scanned request or client notification of len bytes.
 * Returns NULL only on allocation failure or when the bytes are neither an array starting
 * [0, uint msgid, ...] nor a 3-element [2, ...] (then the connection must be closed). Envelope
 * errors leave err = CLAIMD_E_BAD_REQUEST. A method name sent as bin is taken as text. */
cd_call *cd_call_new(cd_server *srv, cd_conn *conn, const char *bytes, size_t len);

/* A call of the daemon's own, without a method or connection: work such as an index pass uses
 * it for its memory zone and error. NULL when out of memory. */
cd_call *cd_call_new_internal(cd_server *srv);

/* Builds a call that only carries an error for msgid (e.g. too_large before unpacking). */
cd_call *cd_call_new_error(cd_server *srv, cd_conn *conn, uint32_t msgid, claimd_code code,
                           const char *msg);

/* Frees the call and everything in its zone. */
void cd_call_free(cd_call *c);

/* Records an error (first one wins) and returns -1, so handlers can `return cd_fail(...)`.
 * field may be NULL; it must outlive the call (static, or from cd_call_strdup). */
int cd_fail(cd_call *c, claimd_code code, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Records an LMDB failure: storage_full for MDB_MAP_FULL/ENOSPC, else internal (logged). */
int cd_fail_mdb(cd_call *c, int rc, const char *what);

/* Attaches the id of an existing record to the call's error (duplicates). */
void cd_call_error_id(cd_call *c, uint64_t id);

/* Allocates n bytes in the call's zone (freed with the call); NULL on failure. */
void *cd_call_alloc(cd_call *c, size_t n);

/* A NUL-terminated zone copy of s[0..n). */
char *cd_call_strndup(cd_call *c, const char *s, size_t n);

/* printf into a zone string (for field paths like "via[2].how"). */
char *cd_call_printf(cd_call *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The zone string "prefix.key[i]" ("key[i]" when prefix is NULL): an item's field path, made
 * for every item of a claim.import whether it fails or not, so without printf. */
char *cd_call_item_path(cd_call *c, const char *prefix, const char *key, uint32_t i);

/* Discards the result and error so the method can be run again (batch retry after map growth). */
void cd_call_reset(cd_call *c);

/* Records a change for the change log's subscribers; the caller has already stored it. */
int cd_call_add_change(cd_call *c, const cd_change *ch);

/* Appends the full response [1, msgid, error, result] to out. */
void cd_call_encode_reply(const cd_call *c, msgpack_sbuffer *out);

/* memcpy that accepts an empty (possibly NULL) source: lists without items have no array. */
static inline void cd_copy(void *dst, const void *src, size_t n)
{
    if (n) memcpy(dst, src, n);
}

/* Packs a NUL-terminated string. */
void cd_pack_cstr(msgpack_packer *pk, const char *s);

/* Packs s[0..n) as a string. */
void cd_pack_strn(msgpack_packer *pk, const char *s, size_t n);

#endif
