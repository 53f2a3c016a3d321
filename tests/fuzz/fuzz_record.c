/* libFuzzer harness for the decoders of records read from disk (make fuzz-record).
 *
 * The input stands for a value of the claims, claim_revs, entities or verdicts table after any
 * damage: each decoder (cd_claim_decode, a revision's envelope then its claim, cd_entity_decode,
 * cd_verdict_validate) gets it. They may refuse (internal error set on the call), never crash or
 * read out of bounds; when one accepts, everything the wire form would use is read here (the
 * name of every enum, every string's bytes, every list), so an accepted value out of range is an
 * ASan report, not a silent pass. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checksum.h"
#include "claim.h"
#include "entity.h"
#include "record.h"
#include "verdict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile size_t sink;

static void touch(cd_str s)
{
    for (size_t i = 0; i < s.n; i++) sink += (unsigned char)s.p[i];
}

static void use_claim(const cd_claim *cl)
{
    touch(cl->text);
    touch(cl->lang);
    touch(cl->speaker_role);
    touch(cl->attribution);
    touch(cl->said_at);
    touch(cl->external_id);
    touch(cl->recorded_by);
    touch(cl->retract_reason);
    if (cl->medium >= 0) sink += strlen(cd_medium_names[cl->medium]);
    if (cl->status >= 0) sink += strlen(cd_rating_names[cl->status]);
    for (size_t i = 0; i < cl->nvia; i++) sink += strlen(cd_via_how_names[cl->via[i].how]) + cl->via[i].entity;
    for (size_t i = 0; i < cl->napps; i++) {
        touch(cl->apps[i].url);
        touch(cl->apps[i].title);
        touch(cl->apps[i].published_at);
        touch(cl->apps[i].lang);
    }
    for (size_t i = 0; i < cl->nabout; i++) sink += cl->about[i];
    for (size_t i = 0; i < cl->ntags; i++) touch(cl->tags[i]);
}

static cd_call *fresh(void)
{
    static cd_call c;
    static int ready;
    if (!ready) { msgpack_zone_init(&c.zone, 8192); ready = 1; }
    msgpack_zone_clear(&c.zone);
    c.err = CLAIMD_OK;
    c.err_msg[0] = 0;
    return &c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The checked decoders get the input as a stored value with a valid checksum (else nearly
     * every input would stop there) and once as it is. */
    static unsigned char stored[4096 + CD_CHECKSUM_BYTES];
    if (size > 4096) return 0;
    memcpy(stored, data, size);
    cd_checksum_put(stored + size, data, size);
    MDB_val v = { size, (void *)data }, sv = { size + CD_CHECKSUM_BYTES, stored };
    cd_call *c = fresh();
    cd_claim cl;
    if (cd_claim_decode(c, &v, &cl) == 0) use_claim(&cl);
    else if (c->err != CLAIMD_E_INTERNAL) abort();   /* a refusal is always internal */

    c = fresh();
    msgpack_object o;
    (void)cd_rec_unpack(c, &v, 4, &o);
    c = fresh();
    if (cd_rec_unpack(c, &sv, 4, &o) == 0 && o.via.array.ptr[3].type == MSGPACK_OBJECT_BIN) {
        MDB_val body = { o.via.array.ptr[3].via.bin.size, (void *)o.via.array.ptr[3].via.bin.ptr };
        if (cd_claim_decode(c, &body, &cl) == 0) use_claim(&cl);
    }

    c = fresh();
    cd_entity e;
    if (cd_entity_decode(c, &sv, 1, &e) == 0) {
        touch(e.name);
        touch(e.description);
        touch(e.wikidata);
        sink += strlen(cd_entity_kind_names[e.kind]);
        for (size_t i = 0; i < e.naliases; i++) touch(e.aliases[i]);
    }

    c = fresh();
    (void)cd_verdict_validate(c, &sv);
    c = fresh();
    (void)cd_verdict_validate(c, &v);
    return 0;
}
