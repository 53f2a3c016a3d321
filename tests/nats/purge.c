/* purge: removes all but the last KEEP messages of stream STREAM at nats://URL, as a stream's
 * retention would, for tests/py/replica.t (a replica that falls behind retention). Exit 0, or
 * 1 on a NATS error (printed).
 *
 *   purge URL STREAM KEEP */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 4) { fprintf(stderr, "usage: purge URL STREAM KEEP\n"); return 2; }
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    jsOptions o;
    jsErrCode jerr = 0;
    natsStatus s = natsConnection_ConnectTo(&nc, argv[1]);
    if (s == NATS_OK) s = natsConnection_JetStream(&js, nc, NULL);
    if (s == NATS_OK) {
        jsOptions_Init(&o);
        o.Stream.Purge.Keep = strtoull(argv[3], NULL, 10);
        s = js_PurgeStream(js, argv[2], &o, &jerr);
    }
    if (s != NATS_OK) fprintf(stderr, "purge: %s (%d)\n", natsStatus_GetText(s), (int)jerr);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_Close();
    return s == NATS_OK ? 0 : 1;
}
