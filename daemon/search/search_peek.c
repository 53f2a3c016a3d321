/* search_peek: decoding candidate claims into a scratch zone (claim.search filters, claim.match). */
#include "log.h"
#include "search.h"

int cd_search_claim_peek(cd_call *c, MDB_txn *txn, msgpack_zone *scratch, uint64_t id, cd_claim *cl)
{
    /* A msgpack_zone holds no pointers to itself, so the structs can be swapped and restored. */
    msgpack_zone own = c->zone;
    c->zone = *scratch;
    int rc = cd_claim_load(c, txn, id, cl);
    *scratch = c->zone;
    c->zone = own;
    if (rc == 0 || rc == MDB_NOTFOUND) return rc;
    if (c->mdb_rc) return -1;
    /* A record that does not decode is skipped, not a failed request; say which one it was. */
    cd_warn("claim %llu: %s; skipped", (unsigned long long)id, c->err_msg);
    c->err = CLAIMD_OK;
    c->err_field = NULL;
    return MDB_NOTFOUND;
}
