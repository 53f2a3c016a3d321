/* claim: the claim record: parsing input, stored encoding, output, and the one write path that
 * keeps every index, the revision store and the change log in step. */
#ifndef CD_CLAIM_H
#define CD_CLAIM_H

#include <lmdb.h>
#include "call.h"

#define CD_LIST_MAX 256          /* items in via, about, tags of one claim */
#define CD_APPS_MAX 1024         /* appearances of one claim */
#define CD_SHORT_MAX 1024        /* bytes of short strings (role, title, tag...) */
#define CD_URL_MAX 4096

extern const char *const cd_medium_names[];
extern const char *const cd_via_how_names[];
extern const char *const cd_rating_names[];

typedef struct { uint64_t entity; int how; } cd_via;

typedef struct {
    cd_str url;
    uint64_t outlet;             /* 0: none */
    cd_str title, published_at, lang;
} cd_appearance;

typedef struct {
    uint64_t id;
    uint32_t rev;
    cd_str text;
    int quote;
    cd_str lang;
    uint64_t speaker;            /* 0: anonymous */
    cd_str speaker_role, attribution;
    cd_str said_at;              /* canonical time text, or empty */
    int medium;                  /* index in cd_medium_names, or -1 */
    cd_via *via; size_t nvia;
    cd_appearance *apps; size_t napps;
    uint64_t *about; size_t nabout;
    cd_str *tags; size_t ntags;
    cd_str external_id;
    int64_t recorded_at;         /* microseconds since the epoch */
    cd_str recorded_by;
    int status;                  /* index in cd_rating_names, or -1 for unverified */
    int retracted;
    cd_str retract_reason;
    int64_t updated_at;
    /* Duplicate key cache (not stored): hash of the normalised text, once computed. */
    uint64_t dedup_hash;
    int has_dedup_hash;
} cd_claim;

enum {
    CD_PARSE_PARTIAL = 1,   /* *out is an existing claim that only the given fields change
                               (claim.update's `set`: lists replaced whole, nil clears) */
    CD_PARSE_PROBE = 2      /* validate only: unknown entities are not created (their ids are 0,
                               an unknown speaker is CD_SPEAKER_NEW); nothing is written */
};

/* Speaker id of a probed claim whose speaker does not exist yet (matches no stored claim). */
#define CD_SPEAKER_NEW UINT64_MAX

/* Parses and validates claim input fields from map (reporting errors under prefix, e.g.
 * "claims[3]"), resolving entity references, creating entities unless probing. A probe that
 * succeeds guarantees the same input parses again without an input error. 0 or -1 (error set). */
int cd_claim_parse(cd_call *c, MDB_txn *txn, const msgpack_object *map, const char *prefix,
                   cd_claim *out, unsigned mode);

/* Loads claim id. 0, MDB_NOTFOUND, or -1 (error set). */
int cd_claim_load(cd_call *c, MDB_txn *txn, uint64_t id, cd_claim *out);

/* Stores a new revision of a claim: old is NULL on creation. Bumps rev, writes the claim, its
 * revision record, index/extid/dedup entries, and the change log entry op. */
int cd_claim_store(cd_call *c, MDB_txn *txn, const cd_claim *old, cd_claim *cl,
                   const char *op, cd_str by);

/* The writes of cd_claim_store but the change log's, for cl exactly as given: its id and rev
 * (old's + 1, or 1 without old), and rec, its stored record (cd_claim_encode's bytes), stamped
 * c->at_us. A replica applies its primary's revisions with it (replica_apply.h). 0 or -1. */
int cd_claim_store_revision(cd_call *c, MDB_txn *txn, const cd_claim *old, cd_claim *cl,
                            const msgpack_sbuffer *rec, const char *op, cd_str by);

/* Packs the claim as the wire's claim map (entity refs expanded to {id, name}). */
void cd_claim_pack(cd_call *c, MDB_txn *txn, const cd_claim *cl);

/* Like cd_claim_pack, with a map header announcing extra pairs the caller packs after it. */
void cd_claim_pack_extra(cd_call *c, MDB_txn *txn, const cd_claim *cl, unsigned extra);

/* Finds a duplicate of cl: same external_id, else same speaker and normalised text (caching
 * the text's hash on cl). Sets *id (0: none). 0 or -1 (error set). */
int cd_claim_find_duplicate(cd_call *c, MDB_txn *txn, cd_claim *cl, uint64_t *id);

/* Adds cl's appearances, via hops, tags and about to *into (skipping ones already there).
 * Returns how many items were added, or -1 with too_large (field named under prefix) when a
 * list would pass its limit: nothing is ever dropped silently. */
long cd_claim_merge_lists(cd_call *c, cd_claim *into, const cd_claim *cl, const char *prefix);

/* Makes external_id find claim id too (a duplicate merged under another importer's key);
 * an external_id already taken keeps its claim. 0 or -1 (error set). */
int cd_claim_add_extid(cd_call *c, MDB_txn *txn, cd_str external_id, uint64_t id);

/* Packs the claim's stored form into sb. */
void cd_claim_encode(const cd_claim *cl, msgpack_sbuffer *sb);

/* Decodes a stored claim (bytes in the call's zone). 0 or -1 (error set). */
int cd_claim_decode(cd_call *c, const MDB_val *v, cd_claim *out);
/* (v is the record's bytes without the stored value's checksum: cd_rec_payload strips it.) */

/* Parses an appearance map at field into *a (outlet resolved, created if new and create). */
int cd_appearance_parse(cd_call *c, MDB_txn *txn, const msgpack_object *m, const char *field,
                        cd_appearance *a, int create);

/* Validates a time string at key of map into its canonical text (zone copy). */
int cd_get_time(cd_call *c, const msgpack_object *map, const char *prefix, const char *key,
                int required, cd_str *canon, int64_t *start_us);

#endif
