/* claim_out: the wire form of a claim: only fields that are set, entity refs as {id, name}. */
#include "claim.h"
#include "entity.h"
#include "isotime.h"

static void pack_key(msgpack_packer *pk, const char *k) { cd_pack_cstr(pk, k); }

static void pack_opt_str(msgpack_packer *pk, const char *k, cd_str s, unsigned *count, int count_only)
{
    if (!s.n) return;
    if (count_only) { (*count)++; return; }
    pack_key(pk, k);
    cd_pack_strn(pk, s.p, s.n);
}

static void pack_appearance(cd_call *c, MDB_txn *txn, msgpack_packer *pk, const cd_appearance *a)
{
    msgpack_pack_map(pk, !!a->url.n + !!a->outlet + !!a->title.n + !!a->published_at.n + !!a->lang.n);
    unsigned dummy = 0;
    pack_opt_str(pk, "url", a->url, &dummy, 0);
    if (a->outlet) { pack_key(pk, "outlet"); cd_entity_pack_ref(c, txn, pk, a->outlet, 0); }
    pack_opt_str(pk, "title", a->title, &dummy, 0);
    pack_opt_str(pk, "published_at", a->published_at, &dummy, 0);
    pack_opt_str(pk, "lang", a->lang, &dummy, 0);
}

/* Packs the optional string fields, or (count_only) counts them. */
static void pack_strings(msgpack_packer *pk, const cd_claim *cl, unsigned *count, int count_only)
{
    pack_opt_str(pk, "lang", cl->lang, count, count_only);
    pack_opt_str(pk, "speaker_role", cl->speaker_role, count, count_only);
    pack_opt_str(pk, "attribution", cl->attribution, count, count_only);
    pack_opt_str(pk, "said_at", cl->said_at, count, count_only);
    pack_opt_str(pk, "external_id", cl->external_id, count, count_only);
    pack_opt_str(pk, "recorded_by", cl->recorded_by, count, count_only);
    pack_opt_str(pk, "retract_reason", cl->retract_reason, count, count_only);
}

void cd_claim_pack(cd_call *c, MDB_txn *txn, const cd_claim *cl)
{
    cd_claim_pack_extra(c, txn, cl, 0);
}

void cd_claim_pack_extra(cd_call *c, MDB_txn *txn, const cd_claim *cl, unsigned extra)
{
    msgpack_packer *pk = &c->pk;
    /* Always: id rev text quote status retracted recorded_at via appearances about tags. */
    unsigned n = 11 + extra + !!cl->speaker + (cl->medium >= 0);
    pack_strings(pk, cl, &n, 1);
    msgpack_pack_map(pk, n);
    pack_key(pk, "id"); msgpack_pack_uint64(pk, cl->id);
    pack_key(pk, "rev"); msgpack_pack_uint32(pk, cl->rev);
    pack_key(pk, "text"); cd_pack_strn(pk, cl->text.p, cl->text.n);
    pack_key(pk, "quote"); if (cl->quote) msgpack_pack_true(pk); else msgpack_pack_false(pk);
    pack_key(pk, "status"); cd_pack_cstr(pk, cl->status >= 0 ? cd_rating_names[cl->status] : "unverified");
    pack_key(pk, "retracted"); if (cl->retracted) msgpack_pack_true(pk); else msgpack_pack_false(pk);
    char when[40];
    pack_key(pk, "recorded_at"); cd_pack_cstr(pk, cd_time_format_us(cl->recorded_at, when));
    if (cl->speaker) { pack_key(pk, "speaker"); cd_entity_pack_ref(c, txn, pk, cl->speaker, 0); }
    if (cl->medium >= 0) { pack_key(pk, "medium"); cd_pack_cstr(pk, cd_medium_names[cl->medium]); }
    pack_strings(pk, cl, NULL, 0);
    pack_key(pk, "via");
    msgpack_pack_array(pk, (uint32_t)cl->nvia);
    for (size_t i = 0; i < cl->nvia; i++) {
        /* A hop is the entity ref plus how: {"id", "name", "how"}. */
        cd_entity_pack_ref(c, txn, pk, cl->via[i].entity, 1);
        pack_key(pk, "how");
        cd_pack_cstr(pk, cd_via_how_names[cl->via[i].how]);
    }
    pack_key(pk, "appearances");
    msgpack_pack_array(pk, (uint32_t)cl->napps);
    for (size_t i = 0; i < cl->napps; i++) pack_appearance(c, txn, pk, &cl->apps[i]);
    pack_key(pk, "about");
    msgpack_pack_array(pk, (uint32_t)cl->nabout);
    for (size_t i = 0; i < cl->nabout; i++) cd_entity_pack_ref(c, txn, pk, cl->about[i], 0);
    pack_key(pk, "tags");
    msgpack_pack_array(pk, (uint32_t)cl->ntags);
    for (size_t i = 0; i < cl->ntags; i++) cd_pack_strn(pk, cl->tags[i].p, cl->tags[i].n);
}
