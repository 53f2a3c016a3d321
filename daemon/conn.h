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

/* Stops reading every connection (shutdown); replies still pending are delivered. */
void cd_conn_stop_reading_all(cd_server *srv);

/* Closes a connection now; in-flight writes still complete and their replies are dropped. */
void cd_conn_close(cd_conn *conn);

/* Whether a connection still has replies to send or calls in flight. */
int cd_conn_busy(const cd_conn *conn);

#endif
