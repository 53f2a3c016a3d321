/* peer_sqlite: what a newsroom would build on SQLite instead of claimd, done the way its
 * documentation recommends: WAL, synchronous=FULL (durable commits, like claimd's), entities in
 * their own table, a claims table with indexes on speaker/time, outlet/time and status/time, the
 * lists as JSON columns, an external-content FTS5 index on the text, prepared statements. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "bench.h"

static const char *const schema =
    "PRAGMA journal_mode=WAL;"
    "PRAGMA synchronous=FULL;"
    "CREATE TABLE IF NOT EXISTS entities(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE COLLATE NOCASE);"
    "CREATE TABLE IF NOT EXISTS claims(id INTEGER PRIMARY KEY, external_id TEXT UNIQUE,"
    "  text TEXT NOT NULL, quote INT NOT NULL, lang TEXT, speaker_id INT, speaker_role TEXT,"
    "  said_at TEXT, said_ts INT, medium TEXT, outlet_id INT, appearances TEXT, via TEXT,"
    "  about TEXT, tags TEXT, status TEXT NOT NULL DEFAULT 'unverified',"
    "  retracted INT NOT NULL DEFAULT 0, recorded_at INT, recorded_by TEXT);"
    "CREATE INDEX IF NOT EXISTS claims_speaker ON claims(speaker_id, said_ts);"
    "CREATE INDEX IF NOT EXISTS claims_outlet ON claims(outlet_id, said_ts);"
    "CREATE INDEX IF NOT EXISTS claims_status ON claims(status, said_ts);"
    "CREATE VIRTUAL TABLE IF NOT EXISTS claims_fts USING fts5(text, content='claims',"
    "  content_rowid='id', tokenize='unicode61 remove_diacritics 2');";

typedef struct {
    sqlite3 *db;
    sqlite3_stmt *ent_ins, *ent_get, *claim_ins, *fts_ins;
    bench_buf apps, via, about, tags;
} writer_conn;

struct bench_sqlite { writer_conn w; };

static int fail(sqlite3 *db, const char *what)
{
    fprintf(stderr, "claimbench: sqlite: %s: %s\n", what, db ? sqlite3_errmsg(db) : "no handle");
    return -1;
}

static int writer_open(writer_conn *w, const char *path)
{
    memset(w, 0, sizeof *w);
    if (sqlite3_open(path, &w->db) != SQLITE_OK) return fail(w->db, "open");
    sqlite3_busy_timeout(w->db, 60000);
    if (sqlite3_exec(w->db, schema, NULL, NULL, NULL) != SQLITE_OK) return fail(w->db, "schema");
    if (sqlite3_prepare_v2(w->db, "INSERT INTO entities(name) VALUES(?1) ON CONFLICT(name) DO NOTHING",
                           -1, &w->ent_ins, NULL) ||
        sqlite3_prepare_v2(w->db, "SELECT id FROM entities WHERE name = ?1", -1, &w->ent_get, NULL) ||
        sqlite3_prepare_v2(w->db,
            "INSERT INTO claims(external_id, text, quote, lang, speaker_id, speaker_role, said_at,"
            " said_ts, medium, outlet_id, appearances, via, about, tags, recorded_at, recorded_by)"
            " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16)"
            " ON CONFLICT(external_id) DO NOTHING", -1, &w->claim_ins, NULL) ||
        sqlite3_prepare_v2(w->db, "INSERT INTO claims_fts(rowid, text) VALUES(?1, ?2)", -1,
                           &w->fts_ins, NULL))
        return fail(w->db, "prepare");
    return 0;
}

static void writer_close(writer_conn *w)
{
    sqlite3_finalize(w->ent_ins);
    sqlite3_finalize(w->ent_get);
    sqlite3_finalize(w->claim_ins);
    sqlite3_finalize(w->fts_ins);
    sqlite3_close(w->db);
    buf_free(&w->apps);
    buf_free(&w->via);
    buf_free(&w->about);
    buf_free(&w->tags);
}

/* The id of the entity named name, created when new (what claimd does with a name reference). */
static sqlite3_int64 entity_id(writer_conn *w, const char *name)
{
    sqlite3_bind_text(w->ent_ins, 1, name, -1, SQLITE_STATIC);
    sqlite3_step(w->ent_ins);
    sqlite3_reset(w->ent_ins);
    sqlite3_bind_text(w->ent_get, 1, name, -1, SQLITE_STATIC);
    sqlite3_int64 id = sqlite3_step(w->ent_get) == SQLITE_ROW ? sqlite3_column_int64(w->ent_get, 0) : 0;
    sqlite3_reset(w->ent_get);
    return id;
}

static void bind_opt(sqlite3_stmt *st, int i, const char *s)
{
    if (s) sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
    else sqlite3_bind_null(st, i);
}

/* Inserts one claim (entities resolved, JSON lists, FTS row). 0 or -1. */
static int insert_claim(writer_conn *w, const bench_claim *bc)
{
    const claimd_claim *c = &bc->c;
    sqlite3_int64 speaker = entity_id(w, c->speaker);
    sqlite3_int64 outlet = entity_id(w, c->appearances[0].outlet);
    w->apps.n = w->via.n = w->about.n = w->tags.n = 0;
    buf_adds(&w->apps, "[");
    for (size_t i = 0; i < c->n_appearances; i++) {
        const claimd_appearance *a = &c->appearances[i];
        buf_adds(&w->apps, i ? ",{\"url\":" : "{\"url\":");
        buf_json_str(&w->apps, a->url);
        buf_printf(&w->apps, ",\"outlet\":%lld", (long long)(i ? entity_id(w, a->outlet) : outlet));
        if (a->title) { buf_adds(&w->apps, ",\"title\":"); buf_json_str(&w->apps, a->title); }
        buf_adds(&w->apps, ",\"published_at\":"); buf_json_str(&w->apps, a->published_at);
        buf_adds(&w->apps, ",\"lang\":"); buf_json_str(&w->apps, a->lang);
        buf_adds(&w->apps, "}");
    }
    buf_adds(&w->apps, "]");
    buf_adds(&w->via, "[");
    if (c->n_via) {
        buf_printf(&w->via, "{\"entity\":%lld,\"how\":", (long long)entity_id(w, c->via[0].name));
        buf_json_str(&w->via, c->via[0].how);
        buf_adds(&w->via, "}");
    }
    buf_adds(&w->via, "]");
    buf_adds(&w->about, "[");
    if (c->n_about) buf_printf(&w->about, "%lld", (long long)entity_id(w, c->about[0]));
    buf_adds(&w->about, "]");
    buf_adds(&w->tags, "[");
    for (size_t i = 0; i < c->n_tags; i++) {
        if (i) buf_adds(&w->tags, ",");
        buf_json_str(&w->tags, c->tags[i]);
    }
    buf_adds(&w->tags, "]");

    sqlite3_stmt *st = w->claim_ins;
    sqlite3_bind_text(st, 1, c->external_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, c->text, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 3, c->quote != CLAIMD_QUOTE_PARAPHRASE);
    bind_opt(st, 4, c->lang);
    sqlite3_bind_int64(st, 5, speaker);
    bind_opt(st, 6, c->speaker_role);
    bind_opt(st, 7, c->said_at);
    sqlite3_bind_int64(st, 8, bc->said_ts);
    bind_opt(st, 9, c->medium);
    sqlite3_bind_int64(st, 10, outlet);
    sqlite3_bind_text(st, 11, w->apps.p, (int)w->apps.n, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, w->via.p, (int)w->via.n, SQLITE_STATIC);
    sqlite3_bind_text(st, 13, w->about.p, (int)w->about.n, SQLITE_STATIC);
    sqlite3_bind_text(st, 14, w->tags.p, (int)w->tags.n, SQLITE_STATIC);
    sqlite3_bind_int64(st, 15, (sqlite3_int64)time(NULL) * 1000000);
    bind_opt(st, 16, c->by);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return fail(w->db, "insert claim");
    if (sqlite3_changes(w->db) == 0) return 0;            /* a duplicate external_id */
    sqlite3_bind_int64(w->fts_ins, 1, sqlite3_last_insert_rowid(w->db));
    sqlite3_bind_text(w->fts_ins, 2, c->text, -1, SQLITE_STATIC);
    rc = sqlite3_step(w->fts_ins);
    sqlite3_reset(w->fts_ins);
    return rc == SQLITE_DONE ? 0 : fail(w->db, "insert fts");
}

bench_sqlite *sq_open(const char *path)
{
    bench_sqlite *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    if (writer_open(&s->w, path)) { writer_close(&s->w); free(s); return NULL; }
    return s;
}

void sq_close(bench_sqlite *s)
{
    if (!s) return;
    writer_close(&s->w);
    free(s);
}

/* Bytes on disk of the database file and its WAL and shared-memory files. */
static uint64_t sq_files_bytes(const char *path)
{
    char p[600];
    uint64_t sum = disk_bytes(path);
    snprintf(p, sizeof p, "%s-wal", path);
    sum += disk_bytes(p);
    snprintf(p, sizeof p, "%s-shm", path);
    return sum + disk_bytes(p);
}

double sq_bulk_load(bench_sqlite *s, bench_corpus *cp, const char *path)
{
    int64_t t0 = now_ns(), making = 0;
    size_t next_cp = 1;
    bench_claim bc;
    if (sqlite3_exec(s->w.db, "BEGIN", NULL, NULL, NULL)) return fail(s->w.db, "begin");
    for (size_t i = 0; i < cp->n; i++) {
        /* The claims are made on the fly (the corpus keeps none); that time is not SQLite's. */
        int64_t m0 = now_ns();
        corpus_claim(cp, i, &bc, 0);
        making += now_ns() - m0;
        if (insert_claim(&s->w, &bc)) return -1;
        if (i + 1 == cp->n * next_cp / BENCH_CHECKPOINTS && next_cp < BENCH_CHECKPOINTS) {
            series_add("sqlite_load", (double)(i + 1), (double)(now_ns() - t0 - making) / 1e9,
                       (double)sq_files_bytes(path), -1);
            next_cp++;
        }
    }
    if (sqlite3_exec(s->w.db, "COMMIT", NULL, NULL, NULL)) return fail(s->w.db, "commit");
    double secs = (double)(now_ns() - t0 - making) / 1e9;
    series_add("sqlite_load", (double)cp->n, secs, (double)sq_files_bytes(path), -1);
    info_num("sqlite.load_corpus_seconds", (double)making / 1e9);
    return secs;
}

uint64_t sq_size_on_disk(bench_sqlite *s, const char *path)
{
    sqlite3_exec(s->w.db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    return sq_files_bytes(path);
}

/* ---- many threads ------------------------------------------------------------------------ */

typedef struct {
    const char *path;
    const bench_corpus *cp;
    int64_t deadline;
    uint64_t max_ops;
    uint64_t *next;               /* shared counter (claim index or query number) */
    uint64_t ops;
    uint64_t bytes;               /* result bytes read, so no work can be skipped */
    bench_lat lat;
    char **queries; size_t nq;    /* search only */
    int thread_no;
    int failed;
} sq_job;

static void *write_thread(void *arg)
{
    sq_job *j = arg;
    writer_conn w;
    if (writer_open(&w, j->path)) { j->failed = 1; writer_close(&w); return NULL; }
    bench_claim bc;
    while (now_ns() < j->deadline) {
        uint64_t idx = __atomic_fetch_add(j->next, 1, __ATOMIC_RELAXED);
        corpus_claim((bench_corpus *)j->cp, idx, &bc, 0);
        int64_t t0 = now_ns();
        /* One transaction per claim: the claim, its entities and its FTS row, durably. */
        if (sqlite3_exec(w.db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
            insert_claim(&w, &bc) || sqlite3_exec(w.db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
            fail(w.db, "durable insert");
            sqlite3_exec(w.db, "ROLLBACK", NULL, NULL, NULL);
            j->failed = 1;
            break;
        }
        lat_add(&j->lat, now_ns() - t0);
        j->ops++;
    }
    writer_close(&w);
    return NULL;
}

static void *query_thread(void *arg)
{
    sq_job *j = arg;
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(j->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
            "SELECT c.id, c.text, c.quote, c.lang, c.speaker_id, e.name, c.speaker_role, c.said_at,"
            " c.medium, c.appearances, c.via, c.about, c.tags, c.status, c.recorded_at,"
            " c.recorded_by, c.external_id FROM claims c JOIN entities e ON e.id = c.speaker_id"
            " WHERE c.speaker_id = (SELECT id FROM entities WHERE name = ?1) AND c.retracted = 0"
            " ORDER BY c.said_ts DESC, c.id DESC LIMIT 20", -1, &st, NULL) != SQLITE_OK) {
        fail(db, "query prepare");
        j->failed = 1;
        sqlite3_close(db);
        return NULL;
    }
    bench_rng r;
    rng_seed(&r, 777 + (uint64_t)j->thread_no);
    while (now_ns() < j->deadline) {
        uint64_t n = __atomic_fetch_add(j->next, 1, __ATOMIC_RELAXED);
        if (j->max_ops && n >= j->max_ops) break;
        const char *who = j->cp->speakers[zipf_draw(&j->cp->zspeaker, &r)];
        int64_t t0 = now_ns();
        sqlite3_bind_text(st, 1, who, -1, SQLITE_STATIC);
        while (sqlite3_step(st) == SQLITE_ROW)
            for (int col = 0; col < 17; col++) j->bytes += (size_t)sqlite3_column_bytes(st, col);
        sqlite3_reset(st);
        lat_add(&j->lat, now_ns() - t0);
        j->ops++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return NULL;
}

static void *search_thread(void *arg)
{
    sq_job *j = arg;
    sqlite3 *db;
    sqlite3_stmt *st = NULL;
    /* FTS5 orders by rank (bm25) itself and computes snippets for the 20 rows it returns. */
    if (sqlite3_open_v2(j->path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
            "SELECT c.id, f.score, f.snip, c.text, c.speaker_id, c.said_at, c.lang, c.appearances"
            " FROM (SELECT rowid, rank AS score, snippet(claims_fts, 0, '[', ']', '...', 12) AS snip"
            "       FROM claims_fts WHERE claims_fts MATCH ?1 ORDER BY rank LIMIT 20) f"
            " JOIN claims c ON c.id = f.rowid ORDER BY f.score", -1, &st, NULL) != SQLITE_OK) {
        fail(db, "search prepare");
        j->failed = 1;
        sqlite3_close(db);
        return NULL;
    }
    bench_buf q = { 0 };
    for (uint64_t n = 0; now_ns() < j->deadline; n++) {
        /* Each word quoted: two terms, both required (FTS5's implicit AND). */
        const char *words = j->queries[n % j->nq];
        const char *sp = strchr(words, ' ');
        q.n = 0;
        buf_adds(&q, "\"");
        buf_add(&q, words, sp ? (size_t)(sp - words) : strlen(words));
        buf_adds(&q, "\"");
        if (sp) { buf_adds(&q, " \""); buf_adds(&q, sp + 1); buf_adds(&q, "\""); }
        int64_t t0 = now_ns();
        sqlite3_bind_text(st, 1, q.p, (int)q.n, SQLITE_STATIC);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            for (int col = 0; col < 8; col++) j->bytes += (size_t)sqlite3_column_bytes(st, col);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) { fail(db, "search"); j->failed = 1; break; }
        lat_add(&j->lat, now_ns() - t0);
        j->ops++;
    }
    buf_free(&q);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return NULL;
}

/* Runs fn on nthreads threads and returns their total operations per second. */
static double run_threads(void *(*fn)(void *), sq_job *proto, int nthreads, bench_lat *lat)
{
    sq_job *jobs = calloc((size_t)nthreads, sizeof *jobs);
    pthread_t *th = calloc((size_t)nthreads, sizeof *th);
    if (!jobs || !th) return -1;
    int64_t t0 = now_ns();
    for (int i = 0; i < nthreads; i++) {
        jobs[i] = *proto;
        jobs[i].thread_no = i;
        pthread_create(&th[i], NULL, fn, &jobs[i]);
    }
    uint64_t ops = 0;
    int failed = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        ops += jobs[i].ops;
        failed |= jobs[i].failed;
        if (lat) lat_merge(lat, &jobs[i].lat);
        else lat_free(&jobs[i].lat);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    free(jobs);
    free(th);
    return failed && !ops ? -1 : (double)ops / secs;
}

double sq_durable_writes(const char *path, const bench_corpus *cp, int nthreads, double seconds,
                         uint64_t first_idx, bench_lat *lat)
{
    uint64_t next = first_idx;
    sq_job proto = { .path = path, .cp = cp, .deadline = now_ns() + (int64_t)(seconds * 1e9), .next = &next };
    return run_threads(write_thread, &proto, nthreads, lat);
}

double sq_query_speaker(const char *path, const bench_corpus *cp, int nthreads, double seconds,
                        uint64_t max_queries, bench_lat *lat)
{
    uint64_t next = 0;
    sq_job proto = { .path = path, .cp = cp, .deadline = now_ns() + (int64_t)(seconds * 1e9),
                     .max_ops = max_queries, .next = &next };
    return run_threads(query_thread, &proto, nthreads, lat);
}

double sq_search(const char *path, char **queries, size_t nq, double seconds, bench_lat *lat)
{
    uint64_t next = 0;
    sq_job proto = { .path = path, .deadline = now_ns() + (int64_t)(seconds * 1e9), .next = &next,
                     .queries = queries, .nq = nq };
    return run_threads(search_thread, &proto, 1, lat);
}
