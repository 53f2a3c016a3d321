/* export.h: claimctl export, shared by its files.
 *
 *   cmd_export.c          the subcommand: pages of claims (claim.query through the iterator),
 *                         the entities and verdicts of each page fetched pipelined, output
 *   export_claim.c        a claim as claim.put input (JSONL that imports back to the same)
 *   export_claimreview.c  a verdict of a claim as a schema.org ClaimReview
 *   entity_cache.c        the entities met so far */
#ifndef CLAIMCTL_EXPORT_H
#define CLAIMCTL_EXPORT_H

#include "ctl.h"

typedef struct {
    uint64_t id;               /* 0: empty slot */
    json_t *record;            /* the entity as entity.get returned it, or NULL */
    int written;               /* its full description was written already */
} ctl_cached_entity;

typedef struct {
    ctl_cached_entity *slots;
    size_t cap, n;
} ctl_entity_cache;

/* The entry of id (created empty when create is set), or NULL (id 0, not found, no memory). */
ctl_cached_entity *ctl_entity_cache_get(ctl_entity_cache *c, uint64_t id, int create);

/* Frees the table and the records. */
void ctl_entity_cache_free(ctl_entity_cache *c);

/* Calls fn for the id of every entity a claim refers to (speaker, via, appearance outlets,
 * about). */
void ctl_claim_entities(json_t *claim, void (*fn)(uint64_t id, void *ctx), void *ctx);

/* The claim (as claim.get returns it) as claim.put input: the input fields only, an entity as
 * its full map ({"name", "kind", "aliases", "description", "wikidata"}) where it is first
 * met, and by name afterwards. New reference. */
json_t *ctl_export_claim(json_t *claim, ctl_entity_cache *cache);

/* A verdict (as verdict.list returns it) as verdict.add input without "claim". New reference. */
json_t *ctl_export_verdict(json_t *verdict);

/* A schema.org ClaimReview for one verdict of a claim. New reference. */
json_t *ctl_claimreview_of(json_t *claim, json_t *verdict, ctl_entity_cache *cache);

#endif
