/* test_client_live: libclaimd's typed helpers for revisions, queries, search, match and the change
 * feed against the real daemon ($CLAIMD_BUILD/claimd, else the claimd next to this program's
 * directory), started here on a temp directory: update with optimistic concurrency, retract,
 * history, the query iterator across pages (including the empty pages a spent scan budget
 * gives), the search iterator, match, subscribe and the blocking next change. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "claimd.h"
#include "tap.h"

static pid_t daemon_pid = -1;
static char tmpdir[] = "/tmp/claimd-live.XXXXXX";
static char sock[PATH_MAX];

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Starts the daemon and waits until it answers ping. Returns 0 or -1. */
static int start_daemon(const char *argv0)
{
    char bin[PATH_MAX], data[PATH_MAX], log[PATH_MAX];
    const char *build = getenv("CLAIMD_BUILD");
    if (build && *build) {
        snprintf(bin, sizeof bin, "%s/claimd", build);
    } else {
        char self[PATH_MAX];
        snprintf(self, sizeof self, "%s", argv0);
        snprintf(bin, sizeof bin, "%s/../claimd", dirname(self));
    }
    if (access(bin, X_OK) != 0 || !mkdtemp(tmpdir)) return -1;
    snprintf(data, sizeof data, "%s/data", tmpdir);
    snprintf(sock, sizeof sock, "%s/s.sock", tmpdir);
    snprintf(log, sizeof log, "%s/claimd.log", tmpdir);
    daemon_pid = fork();
    if (daemon_pid < 0) return -1;
    if (daemon_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) dup2(fd, 2);
        execl(bin, bin, "--data", data, "--socket", sock, (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 1000; i++) {
        claimd_ctx *ctx = claimd_new();
        int up = claimd_connect(ctx, sock) == CLAIMD_OK && claimd_call(ctx, "ping", NULL, NULL) == 0;
        claimd_free(ctx);
        if (up) return 0;
        if (waitpid(daemon_pid, NULL, WNOHANG) == daemon_pid) return -1;
        sleep_ms(10);
    }
    return -1;
}

static void stop_daemon(void)
{
    if (daemon_pid > 0) {
        kill(daemon_pid, SIGTERM);
        waitpid(daemon_pid, NULL, 0);
    }
    char cmd[PATH_MAX + 16];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) diag("could not remove %s", tmpdir);
}

static claimd_ctx *connect_or_die(void)
{
    claimd_ctx *ctx = claimd_new();
    if (!ctx || claimd_connect(ctx, sock) != CLAIMD_OK) {
        printf("Bail out! cannot connect: %s\n", ctx ? claimd_errstr(ctx) : "no memory");
        stop_daemon();
        exit(255);
    }
    return ctx;
}

/* Imports n claims "<prefix> number i" by speaker, tagging the first one with first_tag. */
static int import_many(claimd_ctx *ctx, const char *speaker, const char *prefix, size_t n,
                       const char *first_tag)
{
    enum { BATCH = 5000 };
    static claimd_claim cl[BATCH];
    static claimd_import_result res[BATCH];
    static char text[BATCH][96];
    const char *tags[1] = {first_tag};
    for (size_t done = 0; done < n;) {
        size_t k = n - done < BATCH ? n - done : BATCH;
        for (size_t i = 0; i < k; i++) {
            snprintf(text[i], sizeof text[i], "%s number %zu", prefix, done + i);
            cl[i] = (claimd_claim){
                .struct_size = sizeof cl[i], .text = text[i], .speaker = speaker};
            if (done + i == 0 && first_tag) {
                cl[i].tags = tags;
                cl[i].n_tags = 1;
            }
        }
        size_t rejected = 0;
        res[0].struct_size = sizeof res[0];
        if (claimd_claim_import(ctx, cl, k, NULL, res, &rejected, NULL) != CLAIMD_OK || rejected)
            return -1;
        done += k;
    }
    return 0;
}

/* Counts the items of an iterator and checks their ids are distinct (ids < 1 << 20). */
static long walk(claimd_query *q, int hits, int *distinct, int *rc)
{
    static unsigned char seen[1 << 20];
    memset(seen, 0, sizeof seen);
    long n = 0;
    const claimd_value *item;
    *distinct = 1;
    while ((*rc = claimd_query_next(q, &item)) == CLAIMD_OK && item) {
        uint64_t id = claimd_value_get_uint(hits ? claimd_value_get(item, "claim") : item, "id", 0);
        if (id == 0 || id >= sizeof seen || seen[id]++) *distinct = 0;
        n++;
    }
    return n;
}

static void test_revisions(claimd_ctx *ctx)
{
    claimd_claim cl = {.struct_size = sizeof cl, .text = "We have not received any letter",
                       .speaker = "Dmitry Peskov",
                       .medium = "statement", .said_at = "2018-08-08"};
    uint64_t id = 0, rev = 0, rev2 = 0;
    int created = 0;
    is_int(claimd_claim_put(ctx, &cl, NULL, &id, &rev, &created), CLAIMD_OK, "claim.put");

    claimd_args *set = claimd_args_new();
    claimd_args_str(set, "speaker_role", "Kremlin spokesman");
    claimd_args_nil(set, "medium");
    is_int(claimd_claim_update(ctx, id, rev, set, "editor", &rev2), CLAIMD_OK, "update at rev 1");
    is_int((long long)rev2, 2, "update returns the new rev");
    is_int(claimd_claim_update(ctx, id, rev, set, "editor", NULL), CLAIMD_E_CONFLICT,
           "update with a stale rev is a conflict");
    is_int((long long)claimd_error_id(ctx), (long long)id, "conflict names the claim");
    is_str(claimd_error_field(ctx), "rev", "conflict names the rev field");
    claimd_args_free(set);

    claimd_value *got = NULL;
    claimd_claim_get(ctx, id, &got);
    is_str(claimd_value_get_str(got, "speaker_role"), "Kremlin spokesman", "update applied");
    ok(claimd_value_get(got, "medium") == NULL, "nil in set cleared medium");
    claimd_value_free(got);

    claimd_args *bad = claimd_args_new();
    claimd_args_begin_array(bad, "tags");
    is_int(claimd_claim_update(ctx, id, 2, bad, NULL, NULL), CLAIMD_E_USAGE,
           "update with an open set is a usage error");
    claimd_args_free(bad);

    uint64_t rrev = 0, rrev2 = 0;
    is_int(claimd_claim_retract(ctx, id, "wrong speaker", "editor", &rrev), CLAIMD_OK, "retract");
    is_int((long long)rrev, 3, "retract makes rev 3");
    claimd_claim_retract(ctx, id, "another reason", NULL, &rrev2);
    is_int((long long)rrev2, 3, "retracting again changes nothing");
    is_int(claimd_claim_retract(ctx, 999999, NULL, NULL, NULL), CLAIMD_E_NOT_FOUND,
           "retract of a missing claim is not_found");

    claimd_value *h = NULL;
    is_int(claimd_claim_history(ctx, id, &h), CLAIMD_OK, "history");
    const claimd_value *items = claimd_value_get(h, "items");
    is_int((long long)claimd_value_len(items), 3, "three revisions");
    is_str(claimd_value_get_str(claimd_value_at(items, 0), "op"), "claim.create", "first: create");
    is_str(claimd_value_get_str(claimd_value_at(items, 1), "op"), "claim.update", "then update");
    is_str(claimd_value_get_str(claimd_value_at(items, 2), "op"), "claim.retract", "then retract");
    is_str(claimd_value_get_str(claimd_value_get(claimd_value_at(items, 2), "claim"),
                                "retract_reason"),
           "wrong speaker", "the last revision carries the reason");
    claimd_value_free(h);
}

static void test_query(claimd_ctx *ctx)
{
    ok(import_many(ctx, "Rand Paul", "Paul claim", 2500, NULL) == 0, "2,500 claims imported");
    claimd_args *f = claimd_args_new();
    claimd_args_str(f, "speaker", "rand paul");
    claimd_args_uint(f, "limit", 1000);
    claimd_query *q = claimd_query_begin(ctx, f);
    claimd_args_free(f);
    int distinct, rc;
    long n = walk(q, 0, &distinct, &rc);
    is_int(rc, CLAIMD_OK, "query iterator ends without error");
    is_int(n, 2500, "pages of 1000 give every claim");
    ok(distinct, "each claim once");
    const claimd_value *item;
    is_int(claimd_query_next(q, &item), CLAIMD_OK, "next after the end is still OK");
    ok(item == NULL, "and gives no item");
    claimd_query_end(q);

    f = claimd_args_new();
    claimd_args_str(f, "speaker", "Rand Paul");
    claimd_args_uint(f, "limit", 7);
    claimd_args_str(f, "cursor", "ignored");
    q = claimd_query_begin(ctx, f);
    claimd_args_free(f);
    n = walk(q, 0, &distinct, &rc);
    is_int(n, 2500, "pages of 7 give every claim too (a caller's cursor is ignored)");
    ok(distinct && rc == CLAIMD_OK, "each once, no error");
    claimd_query_end(q);

    /* 21,000 claims of one speaker and a tag only on the oldest: newest first, the first page
     * spends the scan budget (20,000 entries) without a match and comes back empty. */
    ok(import_many(ctx, "Sparse Speaker", "Sparse", 21000, "rare") == 0, "21,000 claims imported");
    f = claimd_args_new();
    claimd_args_str(f, "speaker", "Sparse Speaker");
    claimd_args_str(f, "tag", "rare");
    claimd_args_str(f, "order", "recorded_desc");
    claimd_value *first = NULL;
    claimd_call(ctx, "claim.query", f, &first);
    const claimd_value *cur = claimd_value_get(first, "cursor");
    ok(claimd_value_len(claimd_value_get(first, "items")) == 0 && cur &&
           claimd_value_type(cur) != CLAIMD_T_NIL,
       "(the first page alone is empty, with a cursor)");
    claimd_value_free(first);
    q = claimd_query_begin(ctx, f);
    claimd_args_free(f);
    n = walk(q, 0, &distinct, &rc);
    is_int(n, 1, "the iterator follows an empty page to the one match");
    claimd_query_end(q);

    f = claimd_args_new();
    claimd_args_str(f, "order", "sideways");
    q = claimd_query_begin(ctx, f);
    claimd_args_free(f);
    is_int(claimd_query_next(q, &item), CLAIMD_E_INVALID, "a bad filter is the daemon's error");
    is_str(claimd_error_field(ctx), "order", "with its field");
    is_int(claimd_query_next(q, &item), CLAIMD_E_INVALID, "and the iterator stays failed");
    claimd_query_end(q);

    claimd_args *open = claimd_args_new();
    claimd_args_begin_map(open, "speaker");
    ok(claimd_query_begin(ctx, open) == NULL, "begin refuses params with an open container");
    claimd_args_free(open);
}

static void test_search_match(claimd_ctx *ctx)
{
    claimd_args *f = claimd_args_new();
    claimd_args_str(f, "speaker", "Rand Paul");
    claimd_args_uint(f, "limit", 100);
    claimd_query *q = claimd_search_begin(ctx, "paul claim", f);
    claimd_args_free(f);
    int distinct, rc;
    long n = walk(q, 1, &distinct, &rc);
    is_int(rc, CLAIMD_OK, "search iterator ends without error");
    is_int(n, 2500, "search pages give every hit");
    ok(distinct, "each hit once");
    is_int((long long)claimd_query_total(q), 2500, "total from the first page");
    claimd_query_end(q);

    q = claimd_search_begin(ctx, "number 1234", NULL);
    const claimd_value *hit = NULL;
    claimd_query_next(q, &hit);
    ok(hit && claimd_value_get(hit, "snippet") && claimd_value_get(hit, "score"),
       "a hit has a score and a snippet");
    claimd_query_end(q);

    claimd_claim cl = {.struct_size = sizeof cl,
                       .text = "The letter emphasized the importance of further engagement in "
                               "various areas including countering terrorism",
                       .speaker = "Rand Paul"};
    claimd_claim_put(ctx, &cl, NULL, NULL, NULL, NULL);
    claimd_value *m = NULL;
    is_int(claimd_claim_match(ctx, "The letter stressed the importance of further engagement in "
                                   "various areas including countering terrorism",
                              NULL, -1, 0, &m),
           CLAIMD_OK, "match");
    ok(claimd_value_len(claimd_value_get(m, "items")) >= 1, "finds the re-worded claim");
    claimd_value_free(m);
    claimd_claim_match(ctx, "cultural exchanges resumed in the spring", "Rand Paul", 0.5, 5, &m);
    is_int((long long)claimd_value_len(claimd_value_get(m, "items")), 0,
           "an unrelated text matches nothing");
    claimd_value_free(m);
}

static void test_changes(claimd_ctx *ctx)
{
    claimd_ctx *watcher = connect_or_die();
    claimd_args *f = claimd_args_new();
    claimd_args_begin_array(f, "ops");
    claimd_args_str(f, NULL, "claim.create");
    claimd_args_end(f);
    uint64_t sub = 0, seq = 0;
    is_int(claimd_subscribe(watcher, f, &sub, &seq), CLAIMD_OK, "subscribe");
    claimd_args_free(f);
    ok(sub > 0 && seq > 0, "subscription id and start seq");

    claimd_change ch = CLAIMD_CHANGE_INIT;
    is_int(claimd_next_change(watcher, &ch, 50), CLAIMD_OK, "nothing yet: OK");
    ok(ch.seq == 0 && ch.closed == 0, "and no change");

    claimd_claim cl = {.struct_size = sizeof cl, .text = "A claim made while watching",
                       .speaker = "Watcher Test"};
    uint64_t id = 0;
    claimd_claim_put(ctx, &cl, NULL, &id, NULL, NULL);
    is_int(claimd_next_change(watcher, &ch, 5000), CLAIMD_OK, "next change");
    ok(ch.seq > seq, "its seq is after the subscription's");
    is_str(ch.op, "claim.create", "op");
    is_str(ch.type, "claim", "type");
    is_int((long long)ch.id, (long long)id, "the new claim's id");
    ok(strlen(ch.at) > 10, "commit time");
    is_int((long long)ch.subscription, (long long)sub, "the subscription it is for");

    /* A caller compiled with the first layout (struct_size ending at reason): it gets the
     * change, and nothing is written past its struct. */
    union {
        claimd_change ch;
        unsigned char bytes[sizeof(claimd_change)];
    } old;
    memset(&old, 0xa5, sizeof old);
    old.ch.struct_size = offsetof(claimd_change, reason) + sizeof old.ch.reason;
    claimd_claim_put(ctx, &(claimd_claim){.struct_size = sizeof(claimd_claim),
                                          .text = "A second claim made while watching",
                                          .speaker = "Watcher Test"},
                     NULL, NULL, NULL, NULL);
    is_int(claimd_next_change(watcher, &old.ch, 5000), CLAIMD_OK, "first-layout caller: change");
    int untouched = 1;
    for (size_t i = old.ch.struct_size; i < sizeof old; i++) untouched &= old.bytes[i] == 0xa5;
    ok(old.ch.seq > ch.seq && !strcmp(old.ch.op, "claim.create") && untouched,
       "filled up to its struct_size, not past it");

    claimd_value *page = NULL;
    is_int(claimd_changes(watcher, ch.seq - 1, 1, &page), CLAIMD_OK, "changes");
    const claimd_value *first = claimd_value_at(claimd_value_get(page, "items"), 0);
    is_int((long long)claimd_value_get_uint(first, "seq", 0), (long long)ch.seq,
           "changes since seq-1 starts with that change");
    claimd_value_free(page);

    is_int(claimd_unsubscribe(watcher, sub), CLAIMD_OK, "unsubscribe");
    is_int(claimd_unsubscribe(watcher, sub), CLAIMD_E_NOT_FOUND, "twice: not_found");
    claimd_free(watcher);
}

int main(int argc, char **argv)
{
    (void)argc;
    if (start_daemon(argv[0]) < 0) {
        ok(0, "claimd starts (build it first)");
        stop_daemon();
        return done_testing();
    }
    claimd_ctx *ctx = connect_or_die();
    test_revisions(ctx);
    test_query(ctx);
    test_search_match(ctx);
    test_changes(ctx);
    claimd_free(ctx);
    stop_daemon();
    return done_testing();
}
