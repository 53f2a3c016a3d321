/* m_query: claim.query: walk the most selective index in the requested order, check every
 * filter on the record, stop at limit or at a scan budget, and hand back a keyset cursor (the
 * last index key examined), so pages never repeat or skip a claim whose key did not move. */
#include <errno.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "filter.h"
#include "index.h"
#include "index_runs.h"
#include "methods.h"
#include "params.h"
#include "query_cursor.h"
#include "server.h"

#define QUERY_LIMIT_DEFAULT 20
#define QUERY_LIMIT_MAX 1000
/* Index entries one request may examine: bounds the time a sparse filter holds the loop. A page
 * may then hold fewer than limit items; the cursor continues the walk. */
#define QUERY_SCAN_BUDGET 20000

static const char *const order_names[] = { "said_desc", "said_asc", "recorded_desc", NULL };

/* Reads `cursor`; it must belong to the same order and index (prefix: the request's kind|value). */
static int parse_cursor(cd_call *c, int order, const unsigned char *prefix, unsigned char *key, int *has)
{
    const msgpack_object *o = cd_map_get(&c->params, "cursor");
    cd_query_cursor cur;
    *has = 0;
    if (!o) return 0;
    /* Raw bytes come as bin, or as str when they happened to be valid UTF-8 (wire_values.h
     * turns such bin into str); the hex form is twice as long, so the sizes tell them apart. */
    if ((o->type != MSGPACK_OBJECT_BIN && o->type != MSGPACK_OBJECT_STR) ||
        cd_query_cursor_decode(o->via.bin.ptr, o->via.bin.size, &cur) < 0)
        return cd_fail(c, CLAIMD_E_INVALID, "cursor", "not a cursor returned by claim.query");
    if (cur.order != order || memcmp(cur.key, prefix, CD_IDX_PREFIX) != 0)
        return cd_fail(c, CLAIMD_E_INVALID, "cursor", "this cursor belongs to another order or filter");
    memcpy(key, cur.key, CD_IDX_KEY);
    *has = 1;
    return 0;
}

void cd_m_claim_query(cd_call *c, MDB_txn *txn)
{
    static const char *const own[] = { "order", "limit", "cursor", NULL };
    int order = CD_QUERY_SAID_DESC;
    uint64_t limit = QUERY_LIMIT_DEFAULT;
    cd_filter f;
    if (c->params.type == MSGPACK_OBJECT_MAP)
        for (uint32_t i = 0; i < c->params.via.map.size; i++) {
            const msgpack_object *k = &c->params.via.map.ptr[i].key;
            if (k->type != MSGPACK_OBJECT_STR ||
                (!cd_filter_is_key(k->via.str.ptr, k->via.str.size) && cd_enum_index(own, k->via.str.ptr, k->via.str.size) < 0)) {
                cd_fail(c, CLAIMD_E_INVALID, k->type == MSGPACK_OBJECT_STR ?
                        cd_param_name(c, k->via.str.ptr, k->via.str.size) : NULL,
                        "unknown parameter");
                return;
            }
        }
    if (cd_get_enum(c, &c->params, NULL, "order", CD_OPTIONAL, order_names, &order) ||
        cd_get_u64(c, &c->params, NULL, "limit", CD_OPTIONAL, 1, QUERY_LIMIT_MAX, &limit) ||
        cd_filter_parse(c, txn, &c->params, &f))
        return;
    cd_idx_kind kind;
    uint64_t value;
    cd_filter_pick_index(&f, &kind, &value);
    int by_said = order != CD_QUERY_RECORDED_DESC;
    if (!by_said) kind |= CD_IDX_BY_RECORDED;
    unsigned char lo[CD_IDX_KEY], hi[CD_IDX_KEY], key[CD_IDX_KEY];
    /* [lo, hi): the said range when ordering by said, else the whole (kind, value) run. */
    cd_index_key(lo, kind, value, by_said && f.has_from ? f.said_from : INT64_MIN, 0);
    cd_index_key(hi, kind, value, by_said && f.has_to ? f.said_to : INT64_MAX, 0);
    if (!by_said || !f.has_to) memset(hi + 9, 0xff, 16);
    int has_cursor;
    if (parse_cursor(c, order, lo, key, &has_cursor)) return;

    cd_claim *items = cd_call_alloc(c, limit * sizeof *items);
    if (!items) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); return; }
    cd_ixcur *cur = cd_index_cursor(c, txn);
    if (!cur) return;
    int rc;
    int asc = order == CD_QUERY_SAID_ASC;
    size_t n = 0, scanned = 0;
    int more = 0;
    unsigned char at[CD_IDX_KEY], last[CD_IDX_KEY];
    /* Position on the first entry to examine. */
    if (asc) {
        memcpy(at, has_cursor ? key : lo, CD_IDX_KEY);
        rc = cd_ixcur_get(cur, at, MDB_SET_RANGE);
        if (rc == 0 && has_cursor && memcmp(at, key, CD_IDX_KEY) == 0) rc = cd_ixcur_get(cur, at, MDB_NEXT);
    } else {
        memcpy(at, has_cursor ? key : hi, CD_IDX_KEY);
        rc = cd_ixcur_get(cur, at, MDB_SET_RANGE);
        rc = rc == 0 ? cd_ixcur_get(cur, at, MDB_PREV) : rc == MDB_NOTFOUND ? cd_ixcur_get(cur, at, MDB_LAST) : rc;
    }
    if (f.nothing) rc = MDB_NOTFOUND;   /* a named entity does not exist: nothing can match */
    for (; rc == 0; rc = cd_ixcur_get(cur, at, asc ? MDB_NEXT : MDB_PREV)) {
        if (memcmp(at, lo, CD_IDX_PREFIX) != 0) break;
        if (memcmp(at, lo, CD_IDX_KEY) < 0 || memcmp(at, hi, CD_IDX_KEY) >= 0) break;
        if (n == limit || scanned == QUERY_SCAN_BUDGET) { more = 1; break; }
        scanned++;
        memcpy(last, at, CD_IDX_KEY);
        cd_claim cl;
        if (cd_claim_load(c, txn, cd_get_u64be(last + 17), &cl)) { c->err = CLAIMD_OK; continue; }
        if (cd_filter_match(&f, &cl)) items[n++] = cl;
    }
    cd_ixcur_close(cur);
    if (c->err) return;
    msgpack_pack_map(&c->pk, 2);
    cd_pack_cstr(&c->pk, "items");
    msgpack_pack_array(&c->pk, (uint32_t)n);
    for (size_t i = 0; i < n; i++) cd_claim_pack(c, txn, &items[i]);
    cd_pack_cstr(&c->pk, "cursor");
    if (more && !f.nothing) {
        cd_query_cursor next = { order, { 0 } };
        char hex[CD_QUERY_CURSOR_HEX];
        memcpy(next.key, last, CD_IDX_KEY);
        cd_query_cursor_encode(&next, hex);
        cd_pack_strn(&c->pk, hex, sizeof hex);
    } else {
        msgpack_pack_nil(&c->pk);
    }
}
