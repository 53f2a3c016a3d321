/* nats_url: the NATS servers of --publish and --replica-of, one URL or several comma-separated
 * (the nodes of a cluster: the client fails over between them). */
#ifndef CD_NATS_URL_H
#define CD_NATS_URL_H

#include <nats/nats.h>

/* Gives opts the servers of list ("nats://a:4222,nats://b:4222"). NATS_OK or the failure. */
natsStatus cd_nats_set_servers(natsOptions *opts, const char *list);

#endif
