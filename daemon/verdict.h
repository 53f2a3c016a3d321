/* verdict: what other methods need of verdicts. */
#ifndef CD_VERDICT_H
#define CD_VERDICT_H

#include <lmdb.h>
#include "call.h"

/* Packs the array of claim's verdicts recorded before as_of_us (INT64_MAX: all), oldest
 * first by `at`. 0 or -1 (error set). */
int cd_verdicts_pack(cd_call *c, MDB_txn *txn, uint64_t claim, int64_t as_of_us);

/* Reads the optional `as_of` time parameter: the end of the period given (so "2018-08-09"
 * means "as recorded by the end of 9 August"); leaves *as_of_us alone when absent. */
int cd_get_as_of(cd_call *c, const msgpack_object *params, int64_t *as_of_us);

/* Checks the stored verdict record v (record_valid.h): 0, or -1 with internal error set. */
int cd_verdict_validate(cd_call *c, const MDB_val *v);

#endif
