/* bench.h: the internal interface of claimbench, the benchmark of claimd against its peers
 * (SQLite, Redis, a raw Unix socket, a bare fsync loop) and the machine's limits.
 *
 * One file per concept: corpus.c (the synthetic claims), words.c (per-language vocabularies),
 * rng.c (seeded PRNG, Zipf), procs.c (the daemons we start), rss.c (memory sampler),
 * measure.c (clocks, latencies), drive.c (many libclaimd connections from one thread),
 * peer_*.c (the peers), run_*.c (one measurement each), report.c (table and JSON). */
#ifndef BENCH_H
#define BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "claimd.h"

/* ---- options ------------------------------------------------------------------------------ */

typedef struct {
    size_t claims;             /* corpus size (--claims, default 100000) */
    int smoke;                 /* --smoke: tiny sizes and durations, for CI */
    double seconds;            /* duration of each timed throughput run */
    const char *claimd_path;   /* the daemon binary */
    const char *claimctl_path; /* the command-line client (may not exist yet) */
    const char *results_dir;   /* where latest.json and claims-N.json go ("" = nowhere) */
    const char *json_path;     /* --json PATH: write the results there as well */
    const char *workdir;       /* temp dir for sockets and data (made by main) */
    int keep;                  /* --keep: leave workdir behind */
    int import_batch;          /* claims per claim.import request */
    int import_depth;          /* claim.import requests in flight */
    int skip_peers;            /* --no-peers: only the daemon (for profiling runs) */
    const char *only;          /* --only=import,get,...: run a subset */
} bench_opts;

/* True when the measurement named name (import, claimctl, get, query, search, getload, writes) is
 * selected by --only (or --only is unset). */
int bench_selected(const bench_opts *o, const char *name);

/* ---- deterministic randomness ------------------------------------------------------------- */

typedef struct { uint64_t s; } bench_rng;

/* Seeds a generator; the same seed always gives the same sequence. */
void rng_seed(bench_rng *r, uint64_t seed);
/* Next 64 random bits (splitmix64). */
uint64_t rng_next(bench_rng *r);
/* Uniform in [0, n). */
uint64_t rng_below(bench_rng *r, uint64_t n);
/* Uniform in [0, 1). */
double rng_unit(bench_rng *r);

/* A Zipf(s) distribution over ranks 0..n-1 (rank 0 most frequent), sampled by binary search
 * over its cumulative table. */
typedef struct { double *cdf; size_t n; } bench_zipf;
int zipf_init(bench_zipf *z, size_t n, double s);
size_t zipf_draw(const bench_zipf *z, bench_rng *r);
void zipf_free(bench_zipf *z);

/* ---- the corpus --------------------------------------------------------------------------- */

#define BENCH_NLANGS 5
extern const char *const bench_langs[BENCH_NLANGS];   /* en ru fr tr el */

/* A synthetic word list for one language: words[rank], rank 0 the most frequent. */
typedef struct { char **words; size_t n; } bench_vocab;

/* Makes n distinct-looking words of language lang (index into bench_langs), deterministic. */
int vocab_make(bench_vocab *v, int lang, size_t n, uint64_t seed);
void vocab_free(bench_vocab *v);
/* The language of speaker number rank (en 40%, ru 20%, fr 15%, tr 15%, el 10%). */
int lang_of_rank(uint64_t rank, uint64_t seed);
/* n distinct names (people in their language's script, or outlets), caller frees each and the
 * array. NULL when out of memory. */
char **names_make(size_t n, uint64_t seed, int outlets);
/* A person's or outlet's name in the script of lang, written into buf (NUL-terminated). */
void vocab_name(bench_rng *r, int lang, int words, char *buf, size_t cap);

/* One claim of the corpus, in the shape of libclaimd's claimd_claim plus the ranks the peers
 * need. Its strings live in the corpus arena or the thread's scratch (see corpus_claim). */
typedef struct {
    claimd_claim c;                 /* what goes to the daemon */
    claimd_appearance apps[2];
    claimd_via via[1];
    const char *tags[3];
    const char *about[1];
    int lang;                       /* index into bench_langs */
    uint32_t speaker;               /* rank of the speaker (c.speaker is its name) */
    uint32_t outlet;                /* rank of the first appearance's outlet */
    int64_t said_ts;                /* said_at as seconds since the epoch (period start) */
} bench_claim;

typedef struct {
    size_t n;                            /* claims 0..n-1 (made on demand by corpus_claim) */
    uint64_t seed;
    char **speakers; size_t nspeakers;   /* names by rank */
    char **outlets; size_t noutlets;
    char **tags; size_t ntags;
    bench_vocab vocab[BENCH_NLANGS];
    bench_zipf zspeaker, zoutlet, ztag, zword;
    void *blocks;                        /* the arena: chained blocks, see corpus.c */
    size_t text_bytes;                   /* sum of text lengths (counted by the import) */
} bench_corpus;

/* Sets up a corpus of n claims from seed (the first n of the infinite deterministic sequence):
 * names, vocabularies, distributions. The claims are not stored; corpus_claim makes each. */
int corpus_make(bench_corpus *cp, size_t n, uint64_t seed);
/* Makes claim number idx (any idx, also beyond n: for fresh writes) into *out, with strings in
 * the corpus arena when arena is true, else in a per-thread scratch (valid until the next
 * call from the same thread). */
void corpus_claim(bench_corpus *cp, size_t idx, bench_claim *out, int arena);
void corpus_free(bench_corpus *cp);
/* Writes the corpus as JSON Lines (the claimctl import format) to path. 0 or -1. */
int corpus_write_jsonl(bench_corpus *cp, const char *path);
/* Appends s as a JSON string literal to a growing buffer (used by the JSONL writer and SQLite's
 * JSON columns). */
typedef struct { char *p; size_t n, cap; } bench_buf;
void buf_add(bench_buf *b, const char *s, size_t n);
void buf_adds(bench_buf *b, const char *s);
void buf_json_str(bench_buf *b, const char *s);
void buf_printf(bench_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(bench_buf *b);

/* ---- time and latencies ------------------------------------------------------------------- */

/* Monotonic nanoseconds. */
int64_t now_ns(void);
/* Sleeps ms milliseconds. */
void sleep_ms(int ms);

/* A growable list of latencies in nanoseconds. */
typedef struct { int64_t *ns; size_t n, cap; } bench_lat;
void lat_add(bench_lat *l, int64_t ns);
/* Merges src into dst (src is left empty). */
void lat_merge(bench_lat *dst, bench_lat *src);
/* The q-quantile (0..1) in nanoseconds; sorts the list. 0 when empty. */
double lat_quantile(bench_lat *l, double q);
void lat_free(bench_lat *l);

/* ---- processes ---------------------------------------------------------------------------- */

/* A started daemon: its pid, socket and data paths. */
typedef struct {
    pid_t pid;
    char sock[256];
    char data[256];
    char log[256];
} bench_proc;

/* Starts claimd on workdir/<name>.sock with data workdir/<name>-data and waits until it
 * answers ping (at most 10 s). 0 or -1 (message on stderr). */
int proc_start_claimd(const bench_opts *o, const char *name, bench_proc *p);
/* Starts redis-server on a Unix socket only (no TCP port, no persistence). 0 or -1. */
int proc_start_redis(const bench_opts *o, bench_proc *p);
/* SIGTERM, then waits up to 10 s (SIGKILL after that). Returns the exit status or -1. */
int proc_stop(bench_proc *p);
/* Kills every process still started (from a signal handler or atexit). */
void proc_kill_all(void);
/* Runs argv to completion with stdout to out_path (NULL: inherit) and stderr to err_path;
 * returns the exit status, or -1 when it could not be run. */
int proc_run(const char *const argv[], const char *out_path, const char *err_path);

/* CPU time (user + system) the process has used so far, in seconds; -1 when it is gone. */
double proc_cpu_seconds(pid_t pid);

/* Bytes written to the block device holding path so far (/sys/dev/block/M:m/stat, sectors
 * written): what reached the disk, from every process (the machine is otherwise quiet during
 * a phase). Not /proc/PID/io: claimd writes pages through its map (no write(2) to count in
 * wchar), and write_bytes accounts a whole large folio for each 4 KiB page. 0 when unknown. */
uint64_t disk_written_bytes(const char *path);

/* Bytes allocated on disk (st_blocks) for a file or the files of a directory. */
uint64_t disk_bytes(const char *path);

/* Reads the file at path once, sequentially, into the page cache (warm.c); the seconds it took,
 * or -1 when it cannot be read or is bigger than half of MemAvailable (it would not stay). */
double bench_warm_file(const char *path);
/* bench_warm_file, saying on stderr what was read when it took noticeable time. */
void bench_warm(const char *what, const char *path);
/* bench_warm on the data file of the daemon p (its data dir's data.mdb). */
void bench_warm_claimd(const bench_proc *p);

/* ---- memory sampling ---------------------------------------------------------------------- */

/* Phases of the run whose memory peaks are reported separately. */
typedef enum { PH_IDLE = 0, PH_IMPORT, PH_READS, PH_WRITES64, PH_OTHER, PH_COUNT } bench_phase;

typedef struct { uint64_t rss_kb, anon_kb; } bench_mem;

/* Samples /proc/pid/status every 10 ms in a thread until rss_stop. */
int rss_start(pid_t pid);
void rss_phase(bench_phase ph);
/* Stops the sampler; peaks per phase into out[PH_COUNT], VmHWM into *hwm_kb. */
void rss_stop(bench_mem out[PH_COUNT], uint64_t *hwm_kb);

/* ---- driving the daemon ------------------------------------------------------------------- */

/* Connects a new context to sock, or exits the bench with a message. */
claimd_ctx *bench_connect(const char *sock);

/* Builds the params of request number i for connection conn into a (already reset). */
typedef void (*bench_make_fn)(void *arg, size_t conn, uint64_t i, claimd_args *a);

typedef struct {
    uint64_t done;         /* replies received */
    uint64_t errors;       /* replies that were errors */
    int first_error;       /* code of the first error reply, or 0 */
    char first_errstr[200];
    double seconds;        /* wall time of the run */
    bench_lat lat;         /* per-request latency (send to reply) */
} bench_drive_result;

/* From one thread, keeps nconn raw msgpack-rpc connections to sock busy with `depth` requests
 * each (sent together, as redis-benchmark -P does: a connection's next burst leaves once all
 * replies of the previous one arrived) for `seconds` or until `max_requests` requests, whichever
 * comes first. 0, or -1 when a connection failed. */
int drive(const char *sock, size_t nconn, int depth, const char *method, bench_make_fn make,
          void *arg, double seconds, uint64_t max_requests, bench_drive_result *out);

/* One libclaimd context calling method with claimd_call, one request at a time. */
int call_loop(const char *sock, const char *method, bench_make_fn make, void *arg, double seconds,
              uint64_t max_requests, bench_drive_result *out);

/* Calls method once with args; returns the claimd_code (CLAIMD_E_UNKNOWN_METHOD when the
 * daemon does not have it yet) and the result (caller frees) in *res when res is not NULL. */
int probe_method(claimd_ctx *ctx, const char *method, const claimd_args *a, claimd_value **res);

/* The unsigned number under key in the daemon's stats (0 when missing). */
uint64_t claimd_stat(const char *sock, const char *key);
/* Waits until the daemon's stats.index_at_rest (its rest merges done) for at most limit_s:
 * the seconds it took, or -1 (it did not come to rest, or stats failed). */
double claimd_wait_rest(const char *sock, double limit_s);

/* Bytes a value tree takes when packed as MessagePack. */
size_t packed_size(const claimd_value *v);

/* ---- peers -------------------------------------------------------------------------------- */

typedef struct bench_sqlite bench_sqlite;

/* Opens (creating) a SQLite database at path with WAL and synchronous=FULL and the schema
 * (indexes on speaker/time, outlet/time, status/time, FTS5 on the text). NULL on failure. */
bench_sqlite *sq_open(const char *path);
void sq_close(bench_sqlite *s);
/* Loads every corpus claim in one transaction (the database at path); returns the seconds SQLite
 * took (making the claims not counted), or -1. Records the "sqlite_load" series: a checkpoint
 * each 1/BENCH_CHECKPOINTS of the corpus with the bytes on disk then (file + WAL, mid-transaction). */
double sq_bulk_load(bench_sqlite *s, bench_corpus *cp, const char *path);
/* Checkpoints the WAL into the main file and returns the bytes on disk (db + wal + shm). */
uint64_t sq_size_on_disk(bench_sqlite *s, const char *path);
/* Durable single-claim inserts from nthreads threads (each its own connection, one
 * transaction per claim) for seconds; claims numbered from first_idx. Returns claims/s. */
double sq_durable_writes(const char *path, const bench_corpus *cp, int nthreads, double seconds,
                         uint64_t first_idx, bench_lat *lat);
/* Newest 20 claims of a speaker (by name) from nthreads threads for seconds. Fills lat;
 * returns queries/s. */
double sq_query_speaker(const char *path, const bench_corpus *cp, int nthreads, double seconds,
                        uint64_t max_queries, bench_lat *lat);
/* Runs each FTS5 two-term query (bm25 order, top 20, with snippet and the row) once, cycling
 * for seconds; returns queries/s and fills lat. */
double sq_search(const char *path, char **queries, size_t nq, double seconds, bench_lat *lat);

/* Waits until the daemon on ctx has indexed every write acknowledged so far (a claim.query
 * waits for the index pass). 0, or -1 after printing why. */
int bench_wait_indexed(claimd_ctx *ctx);

/* A raw Unix-socket ping-pong: a server (a forked process when server_process, else a thread)
 * answering resp bytes to each req bytes, and a client measuring round trips for seconds (or max
 * round trips). Fills lat; returns trips/s. */
double raw_pingpong(const char *sock_path, size_t req, size_t resp, double seconds,
                    uint64_t max_trips, int server_process, bench_lat *lat);
/* Writes rec bytes + fdatasync per write, in place in a preallocated file in dir (no metadata
 * to journal: the best case of one flush per write), for seconds; returns writes/s. */
double raw_fsync_loop(const char *dir, size_t rec, double seconds);

/* Runs redis-benchmark GET against sock with c clients, value size d, pipeline P, n requests.
 * Returns requests/s (its own report), or -1 when it cannot run. p50/p99 in ms when not NULL. */
double redis_get_rps(const char *sock, int clients, size_t value_size, int pipeline, long n,
                     double *p50_ms, double *p99_ms);

/* ---- one run of the suite ---------------------------------------------------------------- */

typedef struct {
    const bench_opts *o;
    bench_corpus *cp;
    bench_proc claimd;             /* the daemon under test */
    char sqlite_path[600];
    bench_sqlite *sq;
    uint64_t *ids;                 /* claimd id of corpus claim i (0: not imported) */
    uint64_t next_fresh;           /* next corpus index for fresh writes */
    size_t get_req_bytes, get_resp_bytes;   /* measured by run_get, used by the peers */
} bench_run;

/* Each adds its figures (or n/a with the reason). 0, or -1 when the run cannot go on. */
int run_import(bench_run *r);      /* library import, SQLite bulk load, sizes on disk */
int run_claimctl(bench_run *r);    /* claimctl import into a second daemon */
int run_get(bench_run *r);         /* claim.get latency, 32 clients, depth 16; raw; Redis */
int run_query(bench_run *r);       /* claim.query newest-20 by speaker, 32 clients; SQLite */
int run_search(bench_run *r);      /* claim.search two terms top 20; SQLite FTS5 */
int run_getload(bench_run *r);     /* claim.get p99 while 4 clients run heavy searches */
int run_writes(bench_run *r);      /* durable claim.put, 1 and 64 clients; SQLite; fsync */

/* ---- results ------------------------------------------------------------------------------ */

typedef enum { T_NONE = 0, T_AT_LEAST, T_AT_MOST } bench_target_kind;
typedef enum { HOLDS_NA = 0, HOLDS_YES, HOLDS_NO } bench_holds;

/* One line of the table. A value < 0 means "not measured" (note says why). */
typedef struct {
    char id[48];          /* stable key in the JSON */
    char figure[80];      /* what is measured, for people */
    char unit[16];
    double claimd, peer;
    char peer_name[48];
    double ratio;         /* claimd / peer, or < 0 */
    bench_target_kind target_kind;
    double target;        /* on the ratio, or on the absolute value when target_abs */
    int target_abs;
    char note[160];
} bench_figure;

/* Adds a figure (ratio computed when both values are set) and returns it for extra fields. */
bench_figure *fig_add(const char *id, const char *figure, const char *unit, double claimd,
                      const char *peer_name, double peer);
/* Sets its target: kind on the ratio (abs 0) or on the claimd value itself (abs 1). */
void fig_target(bench_figure *f, bench_target_kind kind, double target, int abs);
void fig_note(bench_figure *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A figure that could not be measured (value n/a) with the reason. */
bench_figure *fig_na(const char *id, const char *figure, const char *unit, const char *why);
bench_figure *fig_find(const char *id);
bench_holds fig_holds(const bench_figure *f);

/* Extra key/values for the JSON (sizes, batch counts, settings). */
void info_num(const char *key, double v);
void info_str(const char *key, const char *v);

/* Appends a checkpoint to the named series ("claimd_import", "sqlite_load"): claims loaded, seconds
 * since the load began, bytes on disk, and bytes of data (< 0: unknown). Written to the JSON's
 * "series" for bench/scale.py's plot. */
void series_add(const char *name, double claims, double seconds, double disk_bytes, double data_bytes);
/* How many checkpoints an import records (one every 1/BENCH_CHECKPOINTS of the corpus). */
#define BENCH_CHECKPOINTS 20

/* Adds the "1M vs 100k" growth figures when the results of the other size are on disk. */
void report_growth(const bench_opts *o);
/* Prints the table to stdout. */
void report_table(const bench_opts *o);
/* Writes the JSON results to path. 0 or -1. */
int report_json(const bench_opts *o, const char *path);

#endif
