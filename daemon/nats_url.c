/* nats_url: a comma-separated list of NATS URLs handed to libnats (nats_url.h). */
#include <stdlib.h>
#include <string.h>
#include "nats_url.h"

#define MAX_SERVERS 16

natsStatus cd_nats_set_servers(natsOptions *opts, const char *list)
{
    char *copy = strdup(list), *save = NULL;
    const char *urls[MAX_SERVERS];
    int n = 0;
    if (!copy) return NATS_NO_MEMORY;
    for (char *u = strtok_r(copy, ", ", &save); u && n < MAX_SERVERS; u = strtok_r(NULL, ", ", &save)) urls[n++] = u;
    /* libnats takes one URL by SetURL; a list, in its order, by SetServers (no shuffling: the
     * operator's order is the preference). */
    natsStatus s = n == 0 ? NATS_INVALID_ARG : n == 1 ? natsOptions_SetURL(opts, urls[0]) : natsOptions_SetServers(opts, urls, n);
    if (s == NATS_OK && n > 1) s = natsOptions_SetNoRandomize(opts, true);
    free(copy);
    return s;
}
