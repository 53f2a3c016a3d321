/* entity_keys: the keys an entity's names are found by (aliases: name key -> owner; name_keys:
 * Latin and sound keys -> every entity with such a name), and their rebuild for format 3. */
#ifndef CD_ENTITY_KEYS_H
#define CD_ENTITY_KEYS_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>
#include "db.h"

#define CD_KEY_MAX 500           /* longest key indexed (LMDB keys are at most 511 bytes) */
#define CD_NAME_KEY_LATIN 'L'    /* name_keys key prefix: Latin key (cd_text_latin_key) */
#define CD_NAME_KEY_SOUND 'S'    /* name_keys key prefix: sound key (cd_text_sound_key) */

/* Indexes name[0..n) for entity id: its name key in aliases when free (or owned by old_id,
 * which a merge replaces), and its Latin and sound keys in name_keys in any case. Returns 0,
 * an LMDB code, or EILSEQ when name is not valid UTF-8 (ENOMEM when out of memory). */
int cd_entity_keys_put(const cd_db *db, MDB_txn *txn, const char *name, size_t n, uint64_t id,
                       uint64_t old_id);

/* Format 2 -> 3: rebuilds aliases with today's name keys and fills name_keys, from every entity
 * not merged away, in id order (the first entity to bring a key keeps it, as when written).
 * Returns 0 or an LMDB/errno code. */
int cd_entity_keys_rebuild(const cd_db *db, MDB_txn *txn);

#endif
