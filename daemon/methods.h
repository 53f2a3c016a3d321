/* methods: every RPC method's body (see dispatch.h for the calling convention). Each reads its
 * params from the call, packs its result or records an error; write methods run on the writer
 * thread in their batch's transaction, which is aborted and run again without them when they
 * fail (writer.c). Contracts: docs/protocol.md. */
#ifndef CD_METHODS_H
#define CD_METHODS_H

#include "dispatch.h"

void cd_m_ping(cd_call *c, MDB_txn *txn);            /* {version, protocol} */
void cd_m_stats(cd_call *c, MDB_txn *txn);
void cd_m_wait_seq(cd_call *c, MDB_txn *txn);           /* counts, sizes, limits, counters */
void cd_m_entity_put(cd_call *c, MDB_txn *txn);      /* create or extend an entity */
void cd_m_entity_get(cd_call *c, MDB_txn *txn);      /* one entity by id */
void cd_m_entity_find(cd_call *c, MDB_txn *txn);     /* entities by folded name or prefix */
void cd_m_claim_put(cd_call *c, MDB_txn *txn);       /* create, or merge/skip/refuse a duplicate */
void cd_m_claim_get(cd_call *c, MDB_txn *txn);       /* one claim by id */
void cd_m_claim_import(cd_call *c, MDB_txn *txn);    /* many claim.put, one result each */
void cd_m_verdict_add(cd_call *c, MDB_txn *txn);     /* rate a claim; updates its status */
void cd_m_verdict_list(cd_call *c, MDB_txn *txn);    /* a claim's verdicts, oldest first */
void cd_m_appearance_add(cd_call *c, MDB_txn *txn);  /* one more place a claim appeared */
void cd_m_claim_update(cd_call *c, MDB_txn *txn);    /* change fields if rev is current */
void cd_m_claim_retract(cd_call *c, MDB_txn *txn);   /* mark retracted, keep readable */
void cd_m_claim_history(cd_call *c, MDB_txn *txn);   /* every revision, oldest first */
void cd_m_entity_merge(cd_call *c, MDB_txn *txn);    /* from becomes an alias of into */
void cd_m_relation_add(cd_call *c, MDB_txn *txn);    /* link two claims (confirms...) */
void cd_m_relation_list(cd_call *c, MDB_txn *txn);   /* a claim's relations, both ways */
void cd_m_claim_query(cd_call *c, MDB_txn *txn);     /* filtered, ordered, keyset-paged */
void cd_m_changes(cd_call *c, MDB_txn *txn);         /* the change log from a seq */
void cd_m_subscribe(cd_call *c, MDB_txn *txn);       /* live change notifications */
void cd_m_unsubscribe(cd_call *c, MDB_txn *txn);     /* stop a subscription */
void cd_m_claim_search(cd_call *c, MDB_txn *txn);    /* full-text, BM25-ranked, paged */
void cd_m_claim_match(cd_call *c, MDB_txn *txn);     /* near-duplicates of a text */
void cd_m_backup(cd_call *c, MDB_txn *txn);          /* compacted copy to a directory */

#endif
