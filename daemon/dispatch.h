/* dispatch: the method table, role checks, and routing of calls to the loop or the writer. */
#ifndef CD_DISPATCH_H
#define CD_DISPATCH_H

#include <lmdb.h>
#include "call.h"

typedef enum { CD_ROLE_READ = 0, CD_ROLE_WRITE = 1, CD_ROLE_ADMIN = 2 } cd_role;

/* A method body: reads params from c, packs the result into c->pk or records an error.
 * txn is the loop's read txn, or the writer's batch txn for CD_M_WRITE methods. */
typedef void (*cd_method_fn)(cd_call *c, MDB_txn *txn);

/* CD_M_WRITE: runs on the writer thread; CD_M_NOTXN: needs no txn; CD_M_SLOW: may take more
 * than ~1 ms, so it runs on the libuv thread pool with its own read txn (readpool.h) while its
 * connection waits, and the loop thread stays free for other connections; CD_M_LONG: a slow
 * call that may take seconds (backup: a map growth does not hold reads back for it);
 * CD_M_SLOW_AS_OF: slow only when called with an as_of parameter (a history replay);
 * CD_M_INDEXED: reads idx, search or match tables, so it waits for the index pass to reach
 * every change committed before it arrived (ixpass.h), then runs. */
enum { CD_M_WRITE = 1, CD_M_NOTXN = 2, CD_M_SLOW = 4, CD_M_INDEXED = 8, CD_M_LONG = 16,
       CD_M_SLOW_AS_OF = 32 };

struct cd_method {
    const char *name;
    cd_method_fn fn;
    cd_role role;       /* least role allowed to call it */
    unsigned flags;
};

/* The method named s[0..n), or NULL. */
const cd_method *cd_method_find(const char *s, size_t n);

/* The index of m in the method table (for per-method stats). */
int cd_method_index(const cd_method *m);

/* The method at index i (i < the table size). */
const cd_method *cd_method_at(size_t i);

/* The name of a role ("read", "write", "admin"). */
const char *cd_role_name(cd_role r);

/* Resolves c's method and checks the role; on failure records the error (unknown_method,
 * forbidden) and returns -1. */
int cd_dispatch_prepare(cd_call *c, cd_role role);

/* The wait of a read for a seq (read-your-writes on a replica, docs/protocol.md): a read's
 * `min_seq` (with `timeout_ms`, default and most below) or wait_seq's `seq`. */
#define CD_WAIT_SEQ_DEFAULT_MS 5000
#define CD_WAIT_SEQ_MAX_MS 60000

/* Whether the prepared read c runs on the thread pool (readpool.h): its method is CD_M_SLOW, or
 * this call of it is (CD_M_SLOW_AS_OF with as_of). */
int cd_dispatch_off_loop(const cd_call *c);

/* Runs a read call on the calling thread with the loop's short read txn (loop thread only). */
void cd_dispatch_read(cd_call *c);

#endif
