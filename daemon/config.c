/* config: defaults from PROTOCOL.md "Limits", overridden by command-line flags. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "config.h"

void cd_config_defaults(cd_config *cfg)
{
    const char *sock = getenv("CLAIMD_SOCKET");
    *cfg = (cd_config){
        .data_dir = "./var/data",
        .socket_path = sock && *sock ? sock : "./var/claimd.sock",
        .writers_group = NULL,
        .map_size = (size_t)1 << 30,
        .log_level = CD_LOG_INFO,
        .max_connections = 1024,
        .max_request = (size_t)16 << 20,
        .max_depth = 32,
        .max_text = (size_t)64 << 10,
        .max_batch = 10000,
        .max_output = (size_t)64 << 20,
        .idle_timeout_ms = 30000,
    };
}

static void usage(FILE *to)
{
    fprintf(to,
        "usage: claimd [options]\n"
        "  --data DIR            LMDB data directory (default ./var/data)\n"
        "  --socket PATH         Unix socket (default $CLAIMD_SOCKET, else ./var/claimd.sock)\n"
        "  --writers GROUP       members of GROUP may write (default: only root and the daemon's user)\n"
        "  --map-size BYTES      initial LMDB map size, suffixes K M G (default 1G; grows by itself)\n"
        "  --log-level LEVEL     debug, info, warn or error (default info)\n"
        "  --max-connections N   default 1024\n"
        "  --max-request BYTES   largest request object (default 16M)\n"
        "  --max-depth N         deepest nesting of a request (4-32, default 32; msgpack-c decodes no deeper)\n"
        "  --max-text BYTES      longest claim text (default 64K)\n"
        "  --max-batch N         most claims in one claim.import (default 10000)\n"
        "  --max-output BYTES    unsent replies before a connection is no longer read (default 64M)\n"
        "  --idle-timeout MS     close a connection stuck inside an object after MS (default 30000)\n"
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

int cd_config_parse_args(cd_config *cfg, int argc, char **argv)
{
    enum { O_DATA = 256, O_SOCKET, O_WRITERS, O_MAP, O_LOG, O_MAXCONN, O_MAXREQ, O_MAXDEPTH,
           O_MAXTEXT, O_MAXBATCH, O_MAXOUT, O_IDLE, O_VERSION, O_HELP };
    static const struct option opts[] = {
        { "data", required_argument, 0, O_DATA },
        { "socket", required_argument, 0, O_SOCKET },
        { "writers", required_argument, 0, O_WRITERS },
        { "map-size", required_argument, 0, O_MAP },
        { "log-level", required_argument, 0, O_LOG },
        { "max-connections", required_argument, 0, O_MAXCONN },
        { "max-request", required_argument, 0, O_MAXREQ },
        { "max-depth", required_argument, 0, O_MAXDEPTH },
        { "max-text", required_argument, 0, O_MAXTEXT },
        { "max-batch", required_argument, 0, O_MAXBATCH },
        { "max-output", required_argument, 0, O_MAXOUT },
        { "idle-timeout", required_argument, 0, O_IDLE },
        { "version", no_argument, 0, O_VERSION },
        { "help", no_argument, 0, O_HELP },
        { 0, 0, 0, 0 },
    };
    int c, bad = 0;
    opterr = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case O_DATA: cfg->data_dir = optarg; break;
        case O_SOCKET: cfg->socket_path = optarg; break;
        case O_WRITERS: cfg->writers_group = optarg; break;
        case O_MAP: bad |= parse_size(optarg, &cfg->map_size) < 0 || cfg->map_size < (1u << 20); break;
        case O_LOG: bad |= cd_log_parse_level(optarg, &cfg->log_level) < 0; break;
        case O_MAXCONN: bad |= parse_uint(optarg, &cfg->max_connections) < 0; break;
        case O_MAXREQ: bad |= parse_size(optarg, &cfg->max_request) < 0 || cfg->max_request < 64; break;
        case O_MAXDEPTH: bad |= parse_uint(optarg, &cfg->max_depth) < 0 || cfg->max_depth > 32 || cfg->max_depth < 4; break;
        case O_MAXTEXT: bad |= parse_size(optarg, &cfg->max_text) < 0 || cfg->max_text == 0; break;
        case O_MAXBATCH: bad |= parse_uint(optarg, &cfg->max_batch) < 0; break;
        case O_MAXOUT: bad |= parse_size(optarg, &cfg->max_output) < 0 || cfg->max_output < 4096; break;
        case O_IDLE: bad |= parse_uint(optarg, &cfg->idle_timeout_ms) < 0; break;
        case O_VERSION: printf("claimd %s (protocol 1)\n", CLAIMD_VERSION_STRING); return 1;
        case O_HELP: usage(stdout); return 1;
        default: bad = 1;
        }
        if (bad) {
            if (c >= O_DATA) fprintf(stderr, "claimd: bad value for --%s: %s\n", opts[c - O_DATA].name, optarg);
            usage(stderr);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "claimd: unexpected argument: %s\n", argv[optind]);
        usage(stderr);
        return -1;
    }
    if (strlen(cfg->socket_path) >= 108) {
        fprintf(stderr, "claimd: socket path too long (max 107 bytes): %s\n", cfg->socket_path);
        return -1;
    }
    return 0;
}
