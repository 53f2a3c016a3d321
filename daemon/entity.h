/* entity: people, organisations, outlets... and the alias index that finds them by name. */
#ifndef CD_ENTITY_H
#define CD_ENTITY_H

#include <lmdb.h>
#include <stdatomic.h>
#include "call.h"

#define CD_NAME_MAX 300          /* bytes of an entity name or alias */
#define CD_ALIASES_MAX 64        /* aliases in one request */
#define CD_ENTITY_ALIASES_MAX 256 /* aliases one entity may collect */

typedef enum {
    CD_KIND_PERSON = 0, CD_KIND_ORGANIZATION, CD_KIND_OUTLET, CD_KIND_GOVERNMENT, CD_KIND_GROUP,
    CD_KIND_UNKNOWN
} cd_entity_kind;

extern const char *const cd_entity_kind_names[];

typedef struct {
    uint64_t id;
    cd_str name;
    int kind;
    cd_str *aliases;
    size_t naliases;
    cd_str description;
    cd_str wikidata;
    uint64_t merged_into;       /* 0 unless merged */
} cd_entity;

/* Loads entity id into *out (strings in the call's zone). 0, MDB_NOTFOUND, or -1 (error set). */
int cd_entity_load(cd_call *c, MDB_txn *txn, uint64_t id, cd_entity *out);

/* Decodes and validates the stored entity record v of entity id into *out (zone memory).
 * 0, or -1 with internal error set (damaged record; nothing logged). */
int cd_entity_decode(cd_call *c, const MDB_val *v, uint64_t id, cd_entity *out);

/* Writes *e (new or changed) with its alias index entries (none once merged); logs op
 * ("entity.create", "entity.update"...) unless op is NULL. */
int cd_entity_store(cd_call *c, MDB_txn *txn, const cd_entity *e, const char *op);

/* Points the name key (cd_text_name_key) of name at id, replacing an entry that pointed at old_id (0: only
 * when the name is free). */
int cd_entity_index_name(cd_call *c, MDB_txn *txn, cd_str name, uint64_t id, uint64_t old_id);

/* Finds the entity whose name or alias folds like name[0..n); follows merges. 0 when none,
 * -1 on error (set on c). */
int cd_entity_lookup(cd_call *c, MDB_txn *txn, const char *name, size_t n, uint64_t *id);

/* Resolves an input entity reference (string, {"id"}, or a map with name...) at field. When
 * create is set, unknown names become new entities and maps extend existing ones; otherwise an
 * unknown name gives *id = 0. Returns 0 or -1 (error set). */
int cd_entity_resolve(cd_call *c, MDB_txn *txn, const msgpack_object *ref, const char *field,
                      int create, uint64_t *id);

/* Resolves an entity by name with an optional kind (-1: none), creating it (or setting the
 * kind of an existing one of unknown kind) when create is set. 0 or -1 (error set). */
int cd_entity_resolve_name(cd_call *c, MDB_txn *txn, cd_str name, int kind, int create, uint64_t *id);

/* Packs {"id", "name"} for entity id (name "" if it vanished), as a map header announcing
 * extra more pairs that the caller packs right after (e.g. a via hop's "how"). */
void cd_entity_pack_ref(cd_call *c, MDB_txn *txn, msgpack_packer *pk, uint64_t id, unsigned extra);

/* Marks every thread's memo of packed references stale (after an entity.merge commits; loop
 * thread) by advancing the memo epoch *gen (srv->ref_gen). Each memo drops itself on its next
 * use by a read that began after this. */
void cd_entity_ref_cache_clear(_Atomic uint64_t *gen);

/* Takes the memo epoch *gen (srv->ref_gen) a read call may fill the memo for; call right before
 * its read txn begins, so nothing it learns from an older snapshot outlives a later merge. */
void cd_entity_refs_snapshot(cd_call *c, _Atomic uint64_t *gen);

/* Frees the calling thread's memo (at exit; other threads' memos go with their threads). */
void cd_entity_ref_cache_free(cd_server *srv);

/* Packs the full entity map. */
void cd_entity_pack(msgpack_packer *pk, const cd_entity *e);

/* The same, its map header announcing extra more pairs that the caller packs right after. */
void cd_entity_pack_extra(msgpack_packer *pk, const cd_entity *e, unsigned extra);

#endif
