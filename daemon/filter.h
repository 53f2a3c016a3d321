/* filter: the claim filters shared by claim.query and claim.search (PROTOCOL.md): speaker,
 * about, outlet, via (entity refs resolved without creating), medium, status, tag, lang,
 * said_from, said_to, include_retracted. All given filters combine with AND. */
#ifndef CD_FILTER_H
#define CD_FILTER_H

#include <lmdb.h>
#include "claim.h"
#include "index.h"

typedef struct {
    uint64_t speaker, about, outlet, via;   /* 0: not filtered */
    int medium;                             /* -1: not filtered */
    int status;                             /* -2: not filtered; -1 unverified; else rating */
    cd_str tag, lang;
    int64_t said_from, said_to;             /* [from, to) in microseconds */
    int has_from, has_to;
    int include_retracted;
    int nothing;                            /* a named entity does not exist: no claim matches */
} cd_filter;

/* The filter parameter names, NULL-terminated (for a method's allowed-parameter list). */
extern const char *const cd_filter_keys[];

/* Parses the filters present in params. 0 or -1 (error set, e.g. invalid "said_from"). */
int cd_filter_parse(cd_call *c, MDB_txn *txn, const msgpack_object *params, cd_filter *f);

/* Whether claim cl passes every filter. */
int cd_filter_match(const cd_filter *f, const cd_claim *cl);

/* The most selective index to walk for f: its kind and value (CD_IDX_ALL, 0 when none). */
void cd_filter_pick_index(const cd_filter *f, cd_idx_kind *kind, uint64_t *value);

/* Whether name[0..n) is one of cd_filter_keys. */
int cd_filter_is_key(const char *name, size_t n);

#endif
