/* subscribe: live change notifications, pushed after commit as [2, "change", [change]]. */
#ifndef CD_SUBSCRIBE_H
#define CD_SUBSCRIBE_H

#include "call.h"

typedef struct cd_sub cd_sub;

/* Loop thread: sends each change of a committed write call to every matching subscription,
 * cutting off (with a final "subscription.closed" notice) subscribers whose connection has
 * more than the output limit waiting. */
void cd_subs_publish(cd_server *srv, const cd_call *c);

/* Frees a connection's subscription list. */
void cd_subs_free(cd_sub *head);

#endif
