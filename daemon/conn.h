/* conn: one client connection: framing, ordering of replies, backpressure. */
#ifndef CD_CONN_H
#define CD_CONN_H

#include <uv.h>
#include "call.h"
#include "dispatch.h"

/* Accepts a pending connection on srv's listener and starts reading it. */
void cd_conn_accept(cd_server *srv);

/* Loop thread: a write call came back from the writer; sends its reply (or drops it when the
 * connection has gone) and frees the call. */
void cd_conn_write_done(cd_call *c);

/* Shutdown: every connection answers what it has received (requests not yet started get busy,
 * also those still in its socket), delivers its pending replies, then closes. */
void cd_conn_stop_reading_all(cd_server *srv);

/* Closes a connection now; in-flight writes still complete and their replies are dropped. */
void cd_conn_close(cd_conn *conn);

/* Whether a connection still has replies to send or calls in flight. */
int cd_conn_busy(const cd_conn *conn);

/* The head of the connection's subscription list (owned by the connection). */
struct cd_sub **cd_conn_subs(cd_conn *conn);

/* The next open connection after conn (conn NULL: the first), for walking all of them. */
cd_conn *cd_conn_next(cd_server *srv, cd_conn *conn);

/* Appends an already packed message (a notification) to the connection's output and sends it. */
void cd_conn_push(cd_conn *conn, const char *bytes, size_t len);

/* Bytes queued for the peer and not yet written. */
size_t cd_conn_backlog(const cd_conn *conn);

#endif
