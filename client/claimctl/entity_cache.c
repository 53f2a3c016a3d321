/* entity_cache: the entities an export has met, by id: each one's record (fetched once with
 * entity.get, pipelined per page of claims) and whether its full description was written yet.
 * An open-addressing hash table; memory grows with the number of distinct entities, not with
 * the number of claims. */
#include <stdlib.h>

#include "export.h"

static size_t slot_of(uint64_t id, size_t cap)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    return (size_t)id & (cap - 1);
}

static int grow(ctl_entity_cache *c)
{
    size_t cap = c->cap ? c->cap * 2 : 1024;
    ctl_cached_entity *slots = calloc(cap, sizeof *slots);
    if (!slots) return -1;
    for (size_t i = 0; i < c->cap; i++) {
        if (!c->slots[i].id) continue;
        size_t k = slot_of(c->slots[i].id, cap);
        while (slots[k].id) k = (k + 1) & (cap - 1);
        slots[k] = c->slots[i];
    }
    free(c->slots);
    c->slots = slots;
    c->cap = cap;
    return 0;
}

ctl_cached_entity *ctl_entity_cache_get(ctl_entity_cache *c, uint64_t id, int create)
{
    if (!id) return NULL;
    if (c->cap) {
        for (size_t k = slot_of(id, c->cap); c->slots[k].id; k = (k + 1) & (c->cap - 1))
            if (c->slots[k].id == id) return &c->slots[k];
    }
    if (!create) return NULL;
    if ((c->n + 1) * 2 > c->cap && grow(c) < 0) return NULL;
    size_t k = slot_of(id, c->cap);
    while (c->slots[k].id) k = (k + 1) & (c->cap - 1);
    c->slots[k].id = id;
    c->n++;
    return &c->slots[k];
}

void ctl_entity_cache_free(ctl_entity_cache *c)
{
    for (size_t i = 0; i < c->cap; i++) json_decref(c->slots[i].record);
    free(c->slots);
    c->slots = NULL;
    c->cap = c->n = 0;
}
