/* m_server: ping and stats. */
#include <unistd.h>
#include <string.h>
#include "bytes.h"
#include "db.h"
#include "isotime.h"
#include "methods.h"
#include "params.h"
#include "publish.h"
#include "replica.h"
#include "search_runs.h"
#include "server.h"
#include "writer.h"

void cd_m_ping(cd_call *c, MDB_txn *txn)
{
    (void)txn;
    msgpack_pack_map(&c->pk, 2);
    cd_pack_cstr(&c->pk, "version");
    cd_pack_cstr(&c->pk, CLAIMD_VERSION_STRING);
    cd_pack_cstr(&c->pk, "protocol");
    msgpack_pack_uint8(&c->pk, 1);
}

static void pack_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
    cd_pack_cstr(pk, key);
    msgpack_pack_uint64(pk, v);
}

static uint64_t table_entries(MDB_txn *txn, MDB_dbi dbi)
{
    MDB_stat st;
    return mdb_stat(txn, dbi, &st) ? 0 : st.ms_entries;
}

/* "publish": the change feed to NATS (publish.h): nil when off; else its state, the last seq
 * acknowledged, how far behind the log it is, and the failed attempts so far. */
/* The search postings runs (search_runs.h): how many a reader consults, merges done. */
static void pack_search_runs(cd_call *c, MDB_txn *txn)
{
    msgpack_packer *pk = &c->pk;
    cd_run_dir d;
    if (cd_runs_dir(c, txn, &d)) {          /* a damaged directory: stats still answers */
        c->err = CLAIMD_OK;
        c->err_field = NULL;
        c->err_msg[0] = 0;
        memset(&d, 0, sizeof d);
    }
    uint64_t postings = 0;
    int merging = 0;
    for (size_t i = 0; i < d.n; i++) {
        postings += d.run[i].postings;
        if (d.run[i].role != CD_RUN_LIVE) merging = 1;
    }
    cd_pack_cstr(pk, "search_runs");
    msgpack_pack_map(pk, 5);
    pack_u64(pk, "runs", d.n);
    cd_pack_cstr(pk, "merging");
    if (merging) msgpack_pack_true(pk); else msgpack_pack_false(pk);
    pack_u64(pk, "postings_written", postings);
    pack_u64(pk, "merges", atomic_load(&c->srv->ix.merges));
    pack_u64(pk, "merge_steps", atomic_load(&c->srv->ix.merge_steps));
}

static void pack_publish(msgpack_packer *pk, cd_server *srv)
{
    cd_pack_cstr(pk, "publish");
    if (!srv->publisher) { msgpack_pack_nil(pk); return; }
    cd_publish_status st;
    cd_publish_status_get(srv->publisher, &st);
    uint64_t committed = atomic_load(&srv->ix.committed);
    msgpack_pack_map(pk, 6);
    cd_pack_cstr(pk, "url");
    cd_pack_cstr(pk, srv->cfg.publish_url);
    cd_pack_cstr(pk, "stream");
    cd_pack_cstr(pk, srv->cfg.publish_stream);
    cd_pack_cstr(pk, "state");
    cd_pack_cstr(pk, st.state);
    pack_u64(pk, "published", st.published);
    pack_u64(pk, "publish_lag", committed > st.published ? committed - st.published : 0);
    pack_u64(pk, "errors", st.errors);
}

/* wait_seq {seq, timeout_ms}: answered once seq has committed here (the wait is conn.c's, set
 * up by dispatch), with the last seq committed: {"seq"}. */
void cd_m_wait_seq(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "seq", "timeout_ms", NULL };
    uint64_t seq;
    (void)txn;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_u64(c, &c->params, NULL, "seq", CD_REQUIRED, 0, UINT64_MAX, &seq))
        return;
    msgpack_pack_map(&c->pk, 1);
    pack_u64(&c->pk, "seq", atomic_load(&c->srv->ix.committed));
}

/* "replica": nil on a primary; on a replica (replica.h) where it follows, its state, the last
 * seq applied here and the primary's it knows of, and how far behind it is in seqs and seconds. */
static void pack_replica(msgpack_packer *pk, cd_server *srv)
{
    cd_pack_cstr(pk, "replica");
    if (!srv->replica) { msgpack_pack_nil(pk); return; }
    cd_replica_status st;
    cd_replica_status_get(srv->replica, &st);
    msgpack_pack_map(pk, 9);
    cd_pack_cstr(pk, "primary");
    cd_pack_cstr(pk, st.primary);
    cd_pack_cstr(pk, "url");
    cd_pack_cstr(pk, srv->cfg.replica_url);
    cd_pack_cstr(pk, "stream");
    cd_pack_cstr(pk, srv->cfg.publish_stream);
    cd_pack_cstr(pk, "state");
    cd_pack_cstr(pk, st.state);
    pack_u64(pk, "applied_seq", st.applied);
    pack_u64(pk, "primary_seq", st.primary_seq);
    pack_u64(pk, "replica_lag_seqs", st.primary_seq - st.applied);
    cd_pack_cstr(pk, "replica_lag_seconds");
    msgpack_pack_double(pk, st.lag_seconds);
    pack_u64(pk, "errors", st.errors);
}

void cd_m_stats(cd_call *c, MDB_txn *txn)
{
    cd_server *srv = c->srv;
    cd_db *db = &srv->db;
    MDB_envinfo info;
    MDB_stat env;
    mdb_env_info(db->env, &info);
    mdb_env_stat(db->env, &env);
    msgpack_packer *pk = &c->pk;
    msgpack_pack_map(pk, 39);
    pack_u64(pk, "claims", table_entries(txn, db->dbi[CD_DBI_CLAIMS]));
    pack_u64(pk, "entities", table_entries(txn, db->dbi[CD_DBI_ENTITIES]));
    pack_u64(pk, "verdicts", table_entries(txn, db->dbi[CD_DBI_VERDICTS]));
    pack_u64(pk, "revisions", table_entries(txn, db->dbi[CD_DBI_CLAIM_REVS]));
    pack_u64(pk, "seq", cd_db_next_id(txn, db->dbi[CD_DBI_CHANGES]) - 1);
    pack_u64(pk, "bytes_used", (uint64_t)(info.me_last_pgno + 1) * env.ms_psize);
    pack_u64(pk, "map_size", info.me_mapsize);
    pack_u64(pk, "connections", srv->nconns);
    pack_u64(pk, "uptime_s", (uint64_t)((cd_time_now_us() - srv->started_us) / 1000000));
    pack_u64(pk, "requests", srv->stats.requests);
    pack_u64(pk, "errors", srv->stats.errors);
    pack_u64(pk, "commits", srv->stats.commits);
    pack_u64(pk, "batched_writes", srv->stats.batched_calls);
    pack_u64(pk, "max_batch", srv->stats.max_batch);
    pack_u64(pk, "writes_in_flight", srv->writer ? cd_writer_in_flight(srv->writer) : 0);
    pack_u64(pk, "connections_total", srv->stats.connections_total);
    pack_u64(pk, "connections_refused", srv->stats.connections_refused);
    pack_u64(pk, "connections_idle_closed", srv->stats.connections_idle_closed);
    pack_u64(pk, "memory_used", srv->mem_used);
    pack_u64(pk, "memory_paused", srv->stats.memory_paused);
    pack_u64(pk, "memory_busy", srv->stats.memory_busy);
    pack_u64(pk, "memory_closed", srv->stats.memory_closed);
    pack_u64(pk, "map_growths", srv->stats.map_growths);
    /* Slow reads on the thread pool (readpool.h): running now, and how often a growth held them. */
    pack_u64(pk, "reads_off_loop", srv->workers_running);
    pack_u64(pk, "reads_held_for_growth", srv->stats.reads_held);
    /* The index pass: how far behind the committed changes it is, and whether it is failing. */
    uint64_t committed = atomic_load(&srv->ix.committed), indexed = atomic_load(&srv->ix.indexed);
    pack_u64(pk, "index_lag", committed > indexed ? committed - indexed : 0);
    pack_u64(pk, "index_passes", atomic_load(&srv->ix.passes));
    pack_u64(pk, "index_plans", atomic_load(&srv->ix.plans));
    pack_u64(pk, "index_plans_dropped", atomic_load(&srv->ix.plans_dropped));
    cd_pack_cstr(pk, "index_failing");
    if (atomic_load(&srv->ix.failing)) msgpack_pack_true(pk); else msgpack_pack_false(pk);
    /* Idle, with the rest merges done: readers consult the fewest runs (indexer.h). */
    cd_pack_cstr(pk, "index_at_rest");
    if (atomic_load(&srv->ix.at_rest)) msgpack_pack_true(pk); else msgpack_pack_false(pk);
    pack_search_runs(c, txn);
    pack_publish(pk, srv);
    pack_replica(pk, srv);
    cd_pack_cstr(pk, "version");
    cd_pack_cstr(pk, CLAIMD_VERSION_STRING);
    cd_pack_cstr(pk, "limits");
    msgpack_pack_map(pk, 12);
    pack_u64(pk, "max_connections", srv->cfg.max_connections);
    pack_u64(pk, "max_request", srv->cfg.max_request);
    pack_u64(pk, "max_depth", srv->cfg.max_depth);
    pack_u64(pk, "max_text", srv->cfg.max_text);
    pack_u64(pk, "max_batch", srv->cfg.max_batch);
    pack_u64(pk, "max_output", srv->cfg.max_output);
    pack_u64(pk, "idle_timeout_ms", srv->cfg.idle_timeout_ms);
    pack_u64(pk, "request_timeout_ms", srv->cfg.request_timeout_ms);
    pack_u64(pk, "max_connections_per_uid", srv->cfg.max_per_uid);
    pack_u64(pk, "reserved_connections", srv->cfg.reserved_connections);
    pack_u64(pk, "memory_budget", srv->cfg.memory_budget);
    pack_u64(pk, "max_subscriptions", srv->cfg.max_subscriptions);
    pack_u64(pk, "format", CD_DB_FORMAT);
    pack_u64(pk, "pid", (uint64_t)getpid());
    cd_pack_cstr(pk, "methods");
    cd_stats_pack_methods(&srv->stats, pk);
}
