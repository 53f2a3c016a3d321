/* claimd: the claim-tracking database daemon. Wires config, storage, writer and socket
 * together and runs the event loop until SIGTERM/SIGINT/SIGHUP. */
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "conn.h"
#include "entity.h"
#include "isotime.h"
#include "log.h"
#include "server.h"
#include "publish.h"
#include "replica.h"
#include "readpool.h"
#include "writer.h"

#define MAINTENANCE_MS 60000

static void on_signal(uv_signal_t *h, int signum)
{
    cd_server *srv = h->data;
    cd_info("received %s", signum == SIGTERM ? "SIGTERM" : signum == SIGINT ? "SIGINT" : "SIGHUP");
    cd_server_shutdown(srv);
}

static void on_maintenance(uv_timer_t *t)
{
    cd_server *srv = t->data;
    cd_db_reader_check(&srv->db);
}

static int resolve_writers_group(cd_server *srv)
{
    if (!srv->cfg.writers_group) return 0;
    struct group gr, *grp = NULL;
    char buf[8192];
    if (getgrnam_r(srv->cfg.writers_group, &gr, buf, sizeof buf, &grp) || !grp) {
        cd_error("--writers: no group named %s", srv->cfg.writers_group);
        return -1;
    }
    srv->writers_gid = grp->gr_gid;
    srv->have_writers_gid = 1;
    return 0;
}

/* Raises the soft descriptor limit towards what max_connections needs (plus room for LMDB and
 * the thread pool), up to the hard limit; the default soft limit is often 1,024. */
static void raise_fd_limit(const cd_config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return;
    rlim_t want = (rlim_t)cfg->max_connections + 64;
    if (rl.rlim_cur >= want) return;
    rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur < want)
        cd_warn("descriptor limit %llu is below --max-connections %u + 64; raise LimitNOFILE",
                (unsigned long long)rl.rlim_cur, cfg->max_connections);
}

/* The signals that stop the daemon, blocked from the first instruction until the loop's
 * watchers exist: one arriving during start-up (a long upgrade, the map reservation) then waits
 * and ends in the orderly shutdown instead of killing the process by its default action. The
 * threads started meanwhile (writer, publisher) inherit the mask, so the loop thread takes them. */
static void stop_signals_mask(int how)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(how, &set, NULL);
}

int main(int argc, char **argv)
{
    static cd_server srv;
    stop_signals_mask(SIG_BLOCK);
    /* An offline job of its own: no socket, no writer (check.h). */
    if (argc == 3 && !strcmp(argv[1], "--check")) return cd_check_run(argv[2]);
    if (argc == 2 && !strncmp(argv[1], "--check=", 8)) return cd_check_run(argv[1] + 8);
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "--promote")) {
        if (argc == 4 && strcmp(argv[3], "--force")) { fprintf(stderr, "usage: claimd --promote DIR [--force]\n"); return 2; }
        return cd_replica_promote(argv[2], argc == 4);
    }
    cd_config_defaults(&srv.cfg);
    int rc = cd_config_parse_args(&srv.cfg, argc, argv);
    if (rc) return rc < 0 ? 2 : 0;
    cd_log_set_level(srv.cfg.log_level);
    signal(SIGPIPE, SIG_IGN);
    srv.self_uid = geteuid();
    srv.started_us = cd_time_now_us();
    if (resolve_writers_group(&srv) < 0) return 1;
    raise_fd_limit(&srv.cfg);
    cd_readpool_configure(srv.cfg.read_threads, (int)srv.cfg.read_nice);   /* before anything uses libuv's pool */

    if (cd_db_open(&srv.db, srv.cfg.data_dir, srv.cfg.map_size)) return 1;
    if (cd_replica_check_dir(&srv)) goto close_db;
    srv.loop = uv_default_loop();
    srv.writer = cd_writer_start(&srv, srv.cfg.replica_url ? cd_replica_write_done : cd_conn_write_done);
    if (!srv.writer) goto close_db;
    if (srv.cfg.publish_url && !(srv.publisher = cd_publish_start(&srv))) goto stop_writer;
    if (srv.cfg.replica_url && !cd_replica_start(&srv)) goto stop_writer;
    if (cd_server_listen(&srv) < 0) goto stop_writer;

    uv_signal_init(srv.loop, &srv.sig_term);
    uv_signal_init(srv.loop, &srv.sig_int);
    uv_signal_init(srv.loop, &srv.sig_hup);
    srv.sig_term.data = srv.sig_int.data = srv.sig_hup.data = &srv;
    uv_signal_start(&srv.sig_term, on_signal, SIGTERM);
    uv_signal_start(&srv.sig_int, on_signal, SIGINT);
    uv_signal_start(&srv.sig_hup, on_signal, SIGHUP);
    stop_signals_mask(SIG_UNBLOCK);   /* one that came meanwhile is taken by the loop now */
    uv_timer_init(srv.loop, &srv.maintenance);
    srv.maintenance.data = &srv;
    uv_timer_start(&srv.maintenance, on_maintenance, MAINTENANCE_MS, MAINTENANCE_MS);

    cd_info("claimd %s ready: data %s, socket %s, map %zu bytes", CLAIMD_VERSION_STRING,
            srv.cfg.data_dir, srv.cfg.socket_path, srv.db.map_size);
    uv_run(srv.loop, UV_RUN_DEFAULT);
    cd_replica_stop(srv.replica);
    cd_publish_stop(srv.publisher);
    uv_loop_close(srv.loop);
    cd_entity_ref_cache_free(&srv);
    cd_db_close(&srv.db);
    return 0;

stop_writer:
    cd_replica_stop(srv.replica);
    cd_publish_stop(srv.publisher);
    cd_writer_stop(srv.writer);
    uv_run(srv.loop, UV_RUN_NOWAIT);
close_db:
    cd_db_close(&srv.db);
    return 1;
}
