/* ixpass: the index pass run on the writer thread (see ixpass.h). */
#include "ixpass.h"
#include "ixplan.h"
#include "server.h"

int cd_ixpass_run(cd_call *c, MDB_txn *txn, size_t max, int *more)
{
    cd_server *srv = c->srv;
    uint64_t written = 0;
    *more = 0;
    if (cd_ixplan_build(c, txn, srv->ixplan, max, NULL, NULL)) return -1;
    uint64_t last = cd_ixplan_last(srv->ixplan);
    *more = cd_ixplan_more(srv->ixplan);
    /* Built in this very txn: it cannot be stale. */
    if (cd_ixplan_apply(c, txn, srv->ixplan, &written)) return -1;
    srv->ix.pend_indexed = last;
    srv->ix.pend_postings += written;
    return 0;
}

int cd_ixpass_catch_up(cd_call *c, MDB_txn *txn)
{
    /* Normally a pass and a batch behind; far more means passes are failing, and one call's
     * txn and memory should not take on the whole backlog. */
    int more = 1;
    for (int i = 0; more; i++) {
        if (i == CD_IX_CATCH_UP_PASSES)
            return cd_fail(c, CLAIMD_E_BUSY, NULL, "the index is far behind the writes; retry later");
        if (cd_ixpass_run(c, txn, CD_IX_PASS_MAX, &more)) return -1;
    }
    return 0;
}
