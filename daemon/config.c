/* config: defaults from PROTOCOL.md "Limits", overridden by command-line flags. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "config.h"
#include "readpool.h"
#include "search_runs.h"

/* 256 MiB, or a quarter of the machine's memory when that is less. */
static size_t default_memory_budget(void)
{
    size_t budget = (size_t)256 << 20;
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    if (pages > 0 && page > 0 && (unsigned long long)pages * (unsigned long long)page / 4 < budget)
        budget = (size_t)((unsigned long long)pages * (unsigned long long)page / 4);
    return budget;
}

void cd_config_defaults(cd_config *cfg)
{
    const char *sock = getenv("CLAIMD_SOCKET");
    *cfg = (cd_config){
        .data_dir = "./var/data",
        .socket_path = sock && *sock ? sock : "./var/claimd.sock",
        .socket_mode = 0660,
        .writers_group = NULL,
        .map_size = (size_t)64 << 20,
        .log_level = CD_LOG_INFO,
        .max_connections = 1024,
        .max_request = (size_t)16 << 20,
        .max_depth = 32,
        .max_text = (size_t)64 << 10,
        .max_batch = 10000,
        .max_output = (size_t)64 << 20,
        .max_subscriptions = 1024,
        .idle_timeout_ms = 60000,
        .request_timeout_ms = 30000,
        .max_per_uid = 0,
        .reserved_connections = 0,
        .memory_budget = default_memory_budget(),
        .merge_step = CD_RUN_STEP_POSTINGS,
        .publish_stream = "claimd",
        .stream_replicas = 1,
        .read_threads = CD_READPOOL_DEFAULT_THREADS,
        .index_threads = 1,
        .read_nice = CD_READPOOL_DEFAULT_NICE,
    };
}

/* The settings that default to a share of another one, once every flag is known. */
static void derive_defaults(cd_config *cfg)
{
    if (!cfg->max_per_uid) cfg->max_per_uid = cfg->max_connections / 4 ? cfg->max_connections / 4 : 1;
    if (!cfg->reserved_connections) cfg->reserved_connections = cfg->max_connections / 16;
}

static void usage(FILE *to)
{
    fprintf(to,
        "usage: claimd [options]\n"
        "       claimd --check DIR    walk every table of DIR's database read-only and report\n"
        "                             damage (exit 0 none, 1 damage, 2 cannot open)\n"
        "       claimd --promote DIR [--force]\n"
        "                             make a stopped replica's data directory a primary's (refused\n"
        "                             while it has not applied every change it heard of, unless --force)\n"
        "  --data DIR            LMDB data directory (default ./var/data)\n"
        "  --socket PATH         Unix socket (default $CLAIMD_SOCKET, else ./var/claimd.sock)\n"
        "  --socket-mode MODE    octal permissions of the socket (default 0660; 0666 lets every\n"
        "                        local user that can reach its directory read)\n"
        "  --writers GROUP       members of GROUP may write (default: only root and the daemon's user)\n"
        "  --map-size BYTES      initial LMDB map size, suffixes K M G (default 64M; grows by itself)\n"
        "  --log-level LEVEL     debug, info, warn or error (default info)\n"
        "  --max-connections N   default 1024\n"
        "  --max-request BYTES   largest request object (default 16M)\n"
        "  --max-depth N         deepest nesting of a request (4-32, default 32; msgpack-c decodes no deeper)\n"
        "  --max-text BYTES      longest claim text (default 64K)\n"
        "  --max-batch N         most claims in one claim.import (default 10000)\n"
        "  --max-output BYTES    unsent replies before a connection is no longer read (default 64M)\n"
        "  --max-subscriptions N subscriptions one connection may hold (default 1024)\n"
        "  --merge-step N        postings one merge step of the search runs moves: a bigger\n"
        "                        step merges sooner, a smaller one holds writes back less\n"
        "                        (default 131072)\n"
        "  --idle-timeout MS     close a connection that has done nothing for MS (no request\n"
        "                        received, no reply written, nothing running; subscribers are\n"
        "                        never idle) (default 60000)\n"
        "  --request-timeout MS  close a connection stuck inside a partial request after MS\n"
        "                        (default 30000)\n"
        "  --max-connections-per-uid N\n"
        "                        connections one uid may hold, root and the daemon's user\n"
        "                        exempt (default max-connections/4)\n"
        "  --reserved-connections N\n"
        "                        the last N slots are for writers and admins, the last N/2 for\n"
        "                        admins (default max-connections/16)\n"
        "  --memory-budget BYTES what all connections together may hold: input, unpacked\n"
        "                        requests, unsent replies, notification backlogs (default 256M,\n"
        "                        or a quarter of RAM when less)\n"
        "  --publish URL         publish every committed change to NATS JetStream at URL\n"
        "                        (nats://HOST:PORT), subjects claimd.STREAM.OP\n"
        "  --ratings FILE        more rating labels for verdict.add without a rating (label<TAB>rating lines)\n"
        "  --stream NAME         the JetStream stream for --publish or --replica-of (default claimd)\n"
        "  --stream-replicas N   copies of the stream --publish creates when it does not exist, on\n"
        "                        that many nodes of a NATS cluster (default 1; 3 in a cluster of three)\n"
        "  --replica-of URL      run as a read replica of the primary publishing --stream on NATS at\n"
        "                        URL (nats://HOST:PORT, or several, comma-separated): writes are\n"
        "                        refused with read_only\n"
        "  --read-threads N      threads that run searches, matches, queries, long lists and\n"
        "                        backups off the event loop (1-64, default 4)\n"
        "  --read-nice N         their nice value, so cheap reads and writes go first on busy\n"
        "                        cores (0-19, default 10; 0: the daemon's own)\n"
        "  --index-threads N     threads that analyse claims for the indexes beside the writer\n"
        "                        (0-1, default 1; 0: the writer does it between writes)\n"
        "  --config FILE         read settings from FILE: lines of key = value, keys as the\n"
        "                        flags above without --; flags given override the file\n"
        "  --version, --help\n");
}

/* Parses "123", "64K", "16M", "2G" into bytes; -1 on junk or overflow. */
static int parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *s == '-') return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'K': case 'k': shift = 10; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'G': case 'g': shift = 30; end++; break;
    case 'T': case 't': shift = 40; end++; break;
    }
    if (*end || (shift && v > (~0ULL >> shift))) return -1;
    *out = (size_t)(v << shift);
    return 0;
}

static int parse_uint(const char *s, unsigned *out)
{
    size_t v;
    if (parse_size(s, &v) < 0 || v == 0 || v > 0x7fffffff) return -1;
    *out = (unsigned)v;
    return 0;
}

/* Applies one setting by its flag name (without "--"); used for flags and config-file keys.
 * String values must outlive cfg. Returns 0, or -1 on an unknown name or a bad value. */
static int apply_option(cd_config *cfg, const char *name, const char *val)
{
    int bad = 0;
    if (!strcmp(name, "data")) cfg->data_dir = val;
    else if (!strcmp(name, "socket")) cfg->socket_path = val;
    else if (!strcmp(name, "writers")) cfg->writers_group = val;
    else if (!strcmp(name, "socket-mode")) {
        char *end;
        unsigned long m = strtoul(val, &end, 8);
        bad = *val == 0 || *end != 0 || m > 0777 || (m & 0111);
        cfg->socket_mode = (unsigned)m;
    }
    else if (!strcmp(name, "map-size")) bad = parse_size(val, &cfg->map_size) < 0 || cfg->map_size < (1u << 20);
    else if (!strcmp(name, "log-level")) bad = cd_log_parse_level(val, &cfg->log_level) < 0;
    else if (!strcmp(name, "max-connections")) bad = parse_uint(val, &cfg->max_connections) < 0;
    else if (!strcmp(name, "max-request")) bad = parse_size(val, &cfg->max_request) < 0 || cfg->max_request < 64;
    else if (!strcmp(name, "max-depth")) bad = parse_uint(val, &cfg->max_depth) < 0 || cfg->max_depth > 32 || cfg->max_depth < 4;
    else if (!strcmp(name, "max-text")) bad = parse_size(val, &cfg->max_text) < 0 || cfg->max_text == 0;
    else if (!strcmp(name, "max-batch")) bad = parse_uint(val, &cfg->max_batch) < 0;
    else if (!strcmp(name, "max-output")) bad = parse_size(val, &cfg->max_output) < 0 || cfg->max_output < 4096;
    else if (!strcmp(name, "max-subscriptions")) bad = parse_uint(val, &cfg->max_subscriptions) < 0;
    else if (!strcmp(name, "merge-step")) bad = parse_uint(val, &cfg->merge_step) < 0 || cfg->merge_step == 0;
    else if (!strcmp(name, "idle-timeout")) bad = parse_uint(val, &cfg->idle_timeout_ms) < 0;
    else if (!strcmp(name, "request-timeout")) bad = parse_uint(val, &cfg->request_timeout_ms) < 0;
    else if (!strcmp(name, "max-connections-per-uid")) bad = parse_uint(val, &cfg->max_per_uid) < 0;
    else if (!strcmp(name, "reserved-connections")) bad = parse_uint(val, &cfg->reserved_connections) < 0;
    else if (!strcmp(name, "read-threads")) bad = parse_uint(val, &cfg->read_threads) < 0 || cfg->read_threads > 64;
    else if (!strcmp(name, "index-threads")) {
        size_t v;
        bad = parse_size(val, &v) < 0 || v > 1;
        cfg->index_threads = bad ? cfg->index_threads : (unsigned)v;
    }
    else if (!strcmp(name, "read-nice")) {
        size_t v;
        bad = parse_size(val, &v) < 0 || v > 19;
        cfg->read_nice = bad ? cfg->read_nice : (unsigned)v;
    }
    else if (!strcmp(name, "memory-budget")) bad = parse_size(val, &cfg->memory_budget) < 0 || cfg->memory_budget < (4u << 20);
    else if (!strcmp(name, "publish")) {
        bad = strncmp(val, "nats://", 7) != 0 && strncmp(val, "tls://", 6) != 0;
        cfg->publish_url = val;
    }
    else if (!strcmp(name, "stream-replicas")) bad = parse_uint(val, &cfg->stream_replicas) < 0 || cfg->stream_replicas > 5;
    else if (!strcmp(name, "replica-of")) {
        bad = strncmp(val, "nats://", 7) != 0 && strncmp(val, "tls://", 6) != 0;
        cfg->replica_url = val;
    }
    else if (!strcmp(name, "ratings")) {
        char err[300];
        cd_vocab_free(cfg->ratings);
        if (!(cfg->ratings = cd_vocab_load(val, err, sizeof err))) fprintf(stderr, "claimd: --ratings: %s\n", err);
        bad = !cfg->ratings;
    }
    else if (!strcmp(name, "stream")) {
        bad = *val == 0;
        cfg->publish_stream = val;
    }
    else { fprintf(stderr, "claimd: unknown setting: %s\n", name); return -1; }
    if (bad) fprintf(stderr, "claimd: bad value for %s: %s\n", name, val);
    return bad ? -1 : 0;
}

/* Reads "key = value" lines (same keys as the long flags; '#' starts a comment). The file's
 * strings are kept for the life of the process. */
static int load_config_file(cd_config *cfg, const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "claimd: cannot read config %s: %s\n", path, strerror(errno)); return -1; }
    char line[4096];
    int lineno = 0, rc = 0;
    while (rc == 0 && fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash) *hash = 0;
        char *key = line + strspn(line, " \t\r\n");
        if (!*key) continue;
        char *eq = strchr(key, '=');
        if (!eq) { fprintf(stderr, "claimd: %s:%d: expected key = value\n", path, lineno); rc = -1; break; }
        char *kend = eq;
        while (kend > key && (kend[-1] == ' ' || kend[-1] == '\t')) kend--;
        *kend = 0;
        char *val = eq + 1 + strspn(eq + 1, " \t");
        size_t vlen = strcspn(val, "\r\n");
        while (vlen && (val[vlen - 1] == ' ' || val[vlen - 1] == '\t')) vlen--;
        val[vlen] = 0;
        char *kept = strdup(val);
        if (!kept || apply_option(cfg, key, kept) < 0) {
            fprintf(stderr, "claimd: %s:%d: rejected\n", path, lineno);
            free(kept);
            rc = -1;
        }
    }
    fclose(f);
    return rc;
}

int cd_config_parse_args(cd_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        { "data", required_argument, 0, 0 },
        { "socket", required_argument, 0, 0 },
        { "writers", required_argument, 0, 0 },
        { "socket-mode", required_argument, 0, 0 },
        { "map-size", required_argument, 0, 0 },
        { "log-level", required_argument, 0, 0 },
        { "max-connections", required_argument, 0, 0 },
        { "max-request", required_argument, 0, 0 },
        { "max-depth", required_argument, 0, 0 },
        { "max-text", required_argument, 0, 0 },
        { "max-batch", required_argument, 0, 0 },
        { "max-output", required_argument, 0, 0 },
        { "max-subscriptions", required_argument, 0, 0 },
        { "merge-step", required_argument, 0, 0 },
        { "idle-timeout", required_argument, 0, 0 },
        { "request-timeout", required_argument, 0, 0 },
        { "max-connections-per-uid", required_argument, 0, 0 },
        { "reserved-connections", required_argument, 0, 0 },
        { "memory-budget", required_argument, 0, 0 },
        { "publish", required_argument, 0, 0 },
        { "ratings", required_argument, 0, 0 },
        { "replica-of", required_argument, 0, 0 },
        { "stream-replicas", required_argument, 0, 0 },
        { "stream", required_argument, 0, 0 },
        { "read-threads", required_argument, 0, 0 },
        { "read-nice", required_argument, 0, 0 },
        { "index-threads", required_argument, 0, 0 },
        { "config", required_argument, 0, 'c' },
        { "version", no_argument, 0, 'V' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    /* The config file is read first, so flags override it wherever they stand. */
    for (int i = 1; i < argc; i++) {
        const char *file = NULL;
        if (!strcmp(argv[i], "--config") && i + 1 < argc) file = argv[i + 1];
        else if (!strncmp(argv[i], "--config=", 9)) file = argv[i] + 9;
        if (file && load_config_file(cfg, file) < 0) return -1;
    }
    int c, idx;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "", opts, &idx)) != -1) {
        switch (c) {
        case 0:
            if (apply_option(cfg, opts[idx].name, optarg) < 0) { usage(stderr); return -1; }
            break;
        case 'c': break;
        case 'V': printf("claimd %s (protocol 1)\n", CLAIMD_VERSION_STRING); return 1;
        case 'h': usage(stdout); return 1;
        default: usage(stderr); return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "claimd: unexpected argument: %s\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    derive_defaults(cfg);
    if (cfg->reserved_connections >= cfg->max_connections) {
        fprintf(stderr, "claimd: --reserved-connections must be below --max-connections\n");
        return -1;
    }
    if (strlen(cfg->socket_path) >= 108) {
        fprintf(stderr, "claimd: socket path too long (max 107 bytes): %s\n", cfg->socket_path);
        return -1;
    }
    return 0;
}
