/* consume: a JetStream consumer that is not claimd, for tests/py/publish.t. It reads stream
 * STREAM at nats://URL from its first message with a pull consumer of its own and prints one
 * line per message, "msgid<TAB>subject<TAB>payload as hex", acknowledging each, until WANT
 * messages were read or none came for IDLE_MS. Exit 0, or 1 on a NATS error (printed).
 *
 *   consume URL STREAM WANT IDLE_MS */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>

static int fail(const char *what, natsStatus s)
{
    fprintf(stderr, "consume: %s: %s\n", what, natsStatus_GetText(s));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 5) { fprintf(stderr, "usage: consume URL STREAM WANT IDLE_MS\n"); return 2; }
    const char *url = argv[1], *stream = argv[2];
    long want = atol(argv[3]), idle = atol(argv[4]), got = 0;
    natsConnection *nc = NULL;
    jsCtx *js = NULL;
    natsSubscription *sub = NULL;
    natsStatus s = natsConnection_ConnectTo(&nc, url);
    if (s != NATS_OK) return fail("connect", s);
    if ((s = natsConnection_JetStream(&js, nc, NULL)) != NATS_OK) return fail("jetstream", s);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Config.DeliverPolicy = js_DeliverAll;
    so.Config.AckPolicy = js_AckExplicit;
    char subject[200];
    snprintf(subject, sizeof subject, "claimd.%s.>", stream);
    if ((s = js_PullSubscribe(&sub, js, subject, NULL, NULL, &so, NULL)) != NATS_OK) return fail("subscribe", s);
    while (got < want) {
        natsMsgList list = { 0 };
        s = natsSubscription_Fetch(&list, sub, 256, idle, NULL);
        if (s == NATS_TIMEOUT) break;
        if (s != NATS_OK) return fail("fetch", s);
        for (int i = 0; i < list.Count; i++) {
            natsMsg *m = list.Msgs[i];
            const char *id = "";
            natsMsgHeader_Get(m, "Nats-Msg-Id", &id);
            printf("%s\t%s\t", id ? id : "", natsMsg_GetSubject(m));
            const unsigned char *d = (const unsigned char *)natsMsg_GetData(m);
            for (int k = 0; k < natsMsg_GetDataLength(m); k++) printf("%02x", d[k]);
            putchar('\n');
            natsMsg_Ack(m, NULL);
            got++;
        }
        natsMsgList_Destroy(&list);
    }
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    nats_Close();
    return 0;
}
