/* match_index: keeping each claim's LSH bucket entries in step with its text. */
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "match.h"
#include "server.h"
#include "wbuf.h"

/* Adds (del = 0) or removes (del = 1) the bucket entries of a claim's text. */
static int put_bands(cd_call *c, MDB_txn *txn, const cd_claim *cl, int del)
{
    uint32_t bands[CD_MATCH_BANDS];
    int rc = cd_match_text_bands(cl->text.p, cl->text.n, bands);
    if (rc < 0) return cd_fail(c, CLAIMD_E_INVALID, "text", "not valid UTF-8");
    if (rc == 0) return 0;                       /* no words: nothing to match on */
    MDB_dbi dbi = c->srv->db.dbi[CD_DBI_MATCH_BANDS];
    unsigned char key[4], val[8];
    cd_put_u64be(val, cl->id);
    for (int b = 0; b < CD_MATCH_BANDS; b++) {
        cd_put_u32be(key, bands[b]);
        MDB_val k = { 4, key }, v = { 8, val };
        if (!del) {
            if (cd_wbuf_put(c, c->srv->wbuf, dbi, key, 4, val, 8, MDB_NODUPDATA)) return -1;
            continue;
        }
        /* Two bands of one text may land in one bucket: the second delete finds it done. */
        rc = mdb_del(txn, dbi, &k, &v);
        if (rc && rc != MDB_NOTFOUND && rc != MDB_KEYEXIST) return cd_fail_mdb(c, rc, "updating the match index");
    }
    return 0;
}

int cd_match_index_update(cd_call *c, MDB_txn *txn, const cd_claim *old, const cd_claim *cl)
{
    if (old && cl && old->text.n == cl->text.n && memcmp(old->text.p, cl->text.p, cl->text.n) == 0)
        return 0;
    if (old && (cd_wbuf_flush(c, c->srv->wbuf, txn) || put_bands(c, txn, old, 1))) return -1;
    if (cl && put_bands(c, txn, cl, 0)) return -1;
    return 0;
}
