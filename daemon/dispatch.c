/* dispatch: one table says which methods exist, who may call them and where they run. */
#include <string.h>
#include <uv.h>
#include "dispatch.h"
#include "entity.h"
#include "log.h"
#include "methods.h"
#include "params.h"
#include "replica.h"
#include "server.h"
#include "wire_values.h"

/* Where reads run: claim.get, entity.get, stats and the subscription calls touch one record or
 * the loop's own state and stay on the loop thread; every read whose cost grows with the data
 * (a list, a scan, a ranking: 1-20 ms measured on long histories, many verdicts or relations,
 * a big entity prefix, 1,000 changes) is CD_M_SLOW and runs on the thread pool. */
static const cd_method methods[] = {
    { "ping", cd_m_ping, CD_ROLE_READ, CD_M_NOTXN },
    { "stats", cd_m_stats, CD_ROLE_READ, 0 },
    { "entity.put", cd_m_entity_put, CD_ROLE_WRITE, CD_M_WRITE },
    { "entity.get", cd_m_entity_get, CD_ROLE_READ, 0 },
    { "entity.find", cd_m_entity_find, CD_ROLE_READ, CD_M_SLOW },
    { "claim.put", cd_m_claim_put, CD_ROLE_WRITE, CD_M_WRITE },
    { "claim.get", cd_m_claim_get, CD_ROLE_READ, CD_M_SLOW_AS_OF },
    { "claim.import", cd_m_claim_import, CD_ROLE_WRITE, CD_M_WRITE },
    { "verdict.add", cd_m_verdict_add, CD_ROLE_WRITE, CD_M_WRITE },
    { "verdict.list", cd_m_verdict_list, CD_ROLE_READ, CD_M_SLOW },
    { "appearance.add", cd_m_appearance_add, CD_ROLE_WRITE, CD_M_WRITE },
    { "claim.update", cd_m_claim_update, CD_ROLE_WRITE, CD_M_WRITE },
    { "claim.retract", cd_m_claim_retract, CD_ROLE_WRITE, CD_M_WRITE },
    { "claim.history", cd_m_claim_history, CD_ROLE_READ, CD_M_SLOW },
    { "entity.merge", cd_m_entity_merge, CD_ROLE_WRITE, CD_M_WRITE },
    { "relation.add", cd_m_relation_add, CD_ROLE_WRITE, CD_M_WRITE },
    { "relation.list", cd_m_relation_list, CD_ROLE_READ, CD_M_SLOW },
    /* Thread pool: a query, search or match over a big index takes milliseconds; the loop
     * thread serves the other connections meanwhile. */
    { "claim.query", cd_m_claim_query, CD_ROLE_READ, CD_M_INDEXED | CD_M_SLOW },
    { "claim.search", cd_m_claim_search, CD_ROLE_READ, CD_M_INDEXED | CD_M_SLOW },
    { "claim.match", cd_m_claim_match, CD_ROLE_READ, CD_M_INDEXED | CD_M_SLOW },
    { "changes", cd_m_changes, CD_ROLE_READ, CD_M_SLOW },
    { "subscribe", cd_m_subscribe, CD_ROLE_READ, 0 },
    { "unsubscribe", cd_m_unsubscribe, CD_ROLE_READ, CD_M_NOTXN },
    { "backup", cd_m_backup, CD_ROLE_ADMIN, CD_M_SLOW | CD_M_LONG },
    { "wait_seq", cd_m_wait_seq, CD_ROLE_READ, CD_M_NOTXN },
};

const cd_method *cd_method_find(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
        if (strlen(methods[i].name) == n && memcmp(methods[i].name, s, n) == 0) return &methods[i];
    return NULL;
}

int cd_method_index(const cd_method *m)
{
    return m ? (int)(m - methods) : -1;
}

const cd_method *cd_method_at(size_t i)
{
    return &methods[i];
}

_Static_assert(sizeof methods / sizeof methods[0] <= CD_STATS_METHODS, "raise CD_STATS_METHODS");

const char *cd_role_name(cd_role r)
{
    return r == CD_ROLE_ADMIN ? "admin" : r == CD_ROLE_WRITE ? "write" : "read";
}

/* Takes a read's min_seq and timeout_ms out of its params (the method never sees them), or
 * wait_seq's seq and timeout_ms (left for it to check): c->min_seq and its deadline. */
static int take_wait(cd_call *c)
{
    int is_wait = strcmp(c->method->name, "wait_seq") == 0;
    const char *key = is_wait ? "seq" : "min_seq";
    if (c->params.type != MSGPACK_OBJECT_MAP || (!cd_map_get(&c->params, key) && !is_wait)) return 0;
    uint64_t seq = 0, ms = CD_WAIT_SEQ_DEFAULT_MS;
    if (cd_get_u64(c, &c->params, NULL, key, CD_REQUIRED, 0, UINT64_MAX, &seq) ||
        cd_get_u64(c, &c->params, NULL, "timeout_ms", CD_OPTIONAL, 0, CD_WAIT_SEQ_MAX_MS, &ms))
        return -1;
    c->min_seq = seq;
    c->wait_deadline_ns = (int64_t)uv_hrtime() + (int64_t)ms * 1000000;
    if (is_wait) return 0;
    msgpack_object_map *m = &c->params.via.map;
    uint32_t n = 0;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key;
        if (k->type == MSGPACK_OBJECT_STR && ((k->via.str.size == 7 && !memcmp(k->via.str.ptr, "min_seq", 7)) ||
                                              (k->via.str.size == 10 && !memcmp(k->via.str.ptr, "timeout_ms", 10))))
            continue;
        m->ptr[n++] = m->ptr[i];
    }
    m->size = n;
    return 0;
}

int cd_dispatch_prepare(cd_call *c, cd_role role)
{
    if (c->err) return -1;
    c->method = cd_method_find(c->method_name.p, c->method_name.n);
    if (!c->method) {
        int n = c->method_name.n > 64 ? 64 : (int)c->method_name.n;
        /* Only printable ASCII of the name goes back into the message. */
        char shown[65];
        for (int i = 0; i < n; i++) {
            char ch = c->method_name.p[i];
            shown[i] = ch >= 0x20 && ch < 0x7f ? ch : '?';
        }
        shown[n] = 0;
        return cd_fail(c, CLAIMD_E_UNKNOWN_METHOD, NULL, "no method named \"%s\"", shown);
    }
    /* A replica takes its writes from its primary only (replica.h). */
    if ((c->method->flags & CD_M_WRITE) && c->srv->replica) return cd_replica_refuse(c);
    if (role < c->method->role)
        return cd_fail(c, CLAIMD_E_FORBIDDEN, NULL, "%s needs the %s role; this connection has %s",
                       c->method->name, cd_role_name(c->method->role), cd_role_name(role));
    if (cd_wire_normalize(c, &c->params)) return -1;
    return c->method->flags & CD_M_WRITE ? 0 : take_wait(c);
}

int cd_dispatch_off_loop(const cd_call *c)
{
    unsigned f = c->method ? c->method->flags : 0;
    if (f & CD_M_SLOW) return 1;
    /* An as-of read replays the claim's history: as slow as claim.history. */
    return (f & CD_M_SLOW_AS_OF) && c->params.type == MSGPACK_OBJECT_MAP && cd_map_get(&c->params, "as_of");
}

void cd_dispatch_read(cd_call *c)
{
    if (c->method->flags & CD_M_NOTXN) {
        c->method->fn(c, NULL);
        return;
    }
    cd_db *db = &c->srv->db;
    cd_entity_refs_snapshot(c, &c->srv->ref_gen);   /* before the txn: see entity.h */
    MDB_txn *txn = cd_db_read_begin(db);
    if (!txn) {
        cd_fail(c, CLAIMD_E_INTERNAL, NULL, "cannot start a read transaction");
        return;
    }
    c->method->fn(c, txn);
    cd_db_read_end(db);
}
