/* Unit test for daemon/indexer.c's decision (cd_indexer_decide): what the writer does next for a
 * given state of its queue, the index and the pipeline. Without the pipeline (or while it is out
 * of use) a write batch goes first while the index lags less than a pass, unless a reader waits
 * or it has lagged ten idle delays under writes; an idle writer waits one idle delay before a
 * pass; a failed pass is tried again only after new changes (the next batch clears the stall), a
 * reader, or the retry delay; merge steps run only when nothing else is to do; the writer stops
 * once stopping and no batch waits. With the pipeline a ready plan goes first, passes are the
 * pipeline's to time, and write batches wait (kicking it) once the index lags CD_IX_LAG_MAX.
 * An idle writer with the index caught up and no merge left starts the rest merges once, when
 * CD_IX_REST_DELAY_NS has passed since its last write batch, with or without the pipeline. */
#include "tap.h"
#include "indexer.h"
#include "ixpass.h"
#include "ixpipe.h"

#define NOW 1000000000000LL      /* an uv_hrtime well past 0 */
#define IDLE CD_IX_IDLE_DELAY_NS

static const char *action_name(cd_indexer_action a)
{
    switch (a) {
    case CD_IX_DO_WRITE: return "write";
    case CD_IX_DO_PASS: return "pass";
    case CD_IX_DO_PLAN: return "plan";
    case CD_IX_DO_MERGE: return "merge";
    case CD_IX_DO_REST: return "rest";
    case CD_IX_DO_WAIT: return "wait";
    case CD_IX_DO_WAIT_UNTIL: return "wait_until";
    case CD_IX_DO_STOP: return "stop";
    }
    return "?";
}

/* A writer without the pipeline, the index lagging lag changes, nothing else going on. */
static cd_indexer_view view(uint64_t lag)
{
    cd_indexer_view v = { 0 };
    v.committed = 100000 + lag;
    v.indexed = 100000;
    v.now = NOW;
    return v;
}

/* Passes when the decision for v is want (by name, to show both on failure). */
static cd_indexer_decision expect(const cd_indexer_view *v, cd_indexer_action want, const char *what)
{
    cd_indexer_decision d = cd_indexer_decide(v);
    is_str(action_name(d.action), action_name(want), "%s", what);
    return d;
}

static void test_writes_without_pipeline(void)
{
    cd_indexer_view v = view(10);
    v.writes_queued = 1;
    cd_indexer_decision d = expect(&v, CD_IX_DO_WRITE, "writes queued, index 10 behind: the batch goes first");
    is_int(d.behind_since, NOW, "the index is marked behind since now");
    ok(!d.kick_urgent, "no pipeline kick without the pipeline");

    v.wanted = 1;
    expect(&v, CD_IX_DO_PASS, "a reader waits for the index: the pass goes before the batch");
    v.wanted = 0;

    v = view(CD_IX_PASS_MAX - 1);
    v.writes_queued = 1;
    expect(&v, CD_IX_DO_WRITE, "index one change short of a whole pass behind: the batch");
    v = view(CD_IX_PASS_MAX);
    v.writes_queued = 1;
    expect(&v, CD_IX_DO_PASS, "index a whole pass behind: the pass goes first");

    v = view(10);
    v.writes_queued = 1;
    v.behind_since = NOW - 10 * IDLE;
    d = expect(&v, CD_IX_DO_WRITE, "behind exactly ten idle delays under writes: still the batch");
    is_int(d.behind_since, NOW - 10 * IDLE, "behind_since kept while the index stays behind");
    v.behind_since = NOW - 10 * IDLE - 1;
    expect(&v, CD_IX_DO_PASS, "behind more than ten idle delays under writes: the pass");

    v = view(0);
    v.writes_queued = 1;
    v.wanted = 1;
    v.behind_since = NOW - 5;
    d = expect(&v, CD_IX_DO_WRITE, "index caught up: the batch, even with a reader flagged");
    is_int(d.behind_since, 0, "caught up: no longer behind");
}

static void test_idle_without_pipeline(void)
{
    cd_indexer_view v = view(10);
    cd_indexer_decision d = expect(&v, CD_IX_DO_WAIT_UNTIL, "idle, index behind just now: wait an idle delay");
    is_int(d.due, NOW + IDLE, "due one idle delay from when it fell behind");
    is_int(d.behind_since, NOW, "behind since now");

    v.behind_since = NOW - IDLE + 1;
    d = expect(&v, CD_IX_DO_WAIT_UNTIL, "idle, behind for less than the idle delay: wait on");
    is_int(d.due, NOW + 1, "due when the idle delay is up");
    v.behind_since = NOW - IDLE;
    expect(&v, CD_IX_DO_PASS, "idle, behind for the idle delay: the pass");

    v = view(10);
    v.wanted = 1;
    expect(&v, CD_IX_DO_PASS, "idle, a reader waits: the pass at once");

    v = view(0);
    v.behind_since = NOW - 3;
    d = expect(&v, CD_IX_DO_WAIT, "idle, index caught up: wait for a signal");
    is_int(d.behind_since, 0, "caught up: behind_since cleared");
}

static void test_failed_pass(void)
{
    /* The last pass failed 1 ms ago. */
    cd_indexer_view v = view(CD_IX_PASS_MAX);
    v.stalled = 1;
    v.failed_at = NOW - 1000000;
    v.writes_queued = 1;
    cd_indexer_decision d = expect(&v, CD_IX_DO_WRITE, "a pass failed, a pass behind, writes queued: no retry, the batch");
    is_int(d.behind_since, 0, "a stalled index does not count as behind");

    v.writes_queued = 0;
    d = expect(&v, CD_IX_DO_WAIT_UNTIL, "a pass failed, idle: wait for the retry delay");
    is_int(d.due, NOW - 1000000 + CD_IX_RETRY_NS, "due when the retry delay is up");

    v.stalled = 0;     /* what the next batch does (cd_indexer_after_batch) */
    v.behind_since = NOW - IDLE;
    expect(&v, CD_IX_DO_PASS, "after new changes the stall is gone: the pass");
    v.stalled = 1;
    expect(&v, CD_IX_DO_WAIT_UNTIL, "the same state stalled: no pass yet");

    v.wanted = 1;
    expect(&v, CD_IX_DO_PASS, "a pass failed but a reader waits: retried at once");
    v.wanted = 0;

    v.failed_at = NOW - CD_IX_RETRY_NS;
    v.behind_since = 0;
    d = expect(&v, CD_IX_DO_WAIT_UNTIL, "retry delay up, idle: behind again, from now");
    is_int(d.due, NOW + IDLE, "then the idle delay as for any lag");
    v.behind_since = NOW - IDLE;
    expect(&v, CD_IX_DO_PASS, "retry delay and idle delay up: the pass is tried again");
    v.writes_queued = 1;
    v.behind_since = 0;
    expect(&v, CD_IX_DO_PASS, "retry delay up, a pass behind, writes queued: the pass first");
}

static void test_merge_and_stop(void)
{
    cd_indexer_view v = view(0);
    v.merge_more = 1;
    expect(&v, CD_IX_DO_MERGE, "nothing else to do, merge work left: merge steps");
    v.writes_queued = 1;
    expect(&v, CD_IX_DO_WRITE, "merge work left but writes queued: the batch");
    v.writes_queued = 0;
    v.committed += 10;
    expect(&v, CD_IX_DO_WAIT_UNTIL, "merge work left but the index behind: no merge, the pass is due later");
    v.wanted = 1;
    expect(&v, CD_IX_DO_PASS, "merge work left, index behind, a reader: the pass");

    v = view(0);
    v.stopping = 1;
    v.merge_more = 1;
    expect(&v, CD_IX_DO_STOP, "stopping and idle: stop (merge work or not)");
    v.writes_queued = 1;
    expect(&v, CD_IX_DO_WRITE, "stopping with writes queued: they go first");
    v = view(10);
    v.stopping = 1;
    expect(&v, CD_IX_DO_STOP, "stopping with the index behind: stop (a restart catches up)");
    v.wanted = 1;
    expect(&v, CD_IX_DO_STOP, "stopping, a reader flagged, no writes: stop");
}

static void test_pipeline(void)
{
    cd_indexer_view v = view(10);
    v.pipe_in_use = 1;
    v.writes_queued = 1;
    v.plan_ready = 1;
    v.stopping = 1;
    expect(&v, CD_IX_DO_PLAN, "a ready plan goes before writes and stopping");
    v.plan_ready = 0;
    v.stopping = 0;

    cd_indexer_decision d = expect(&v, CD_IX_DO_WRITE, "pipeline, index behind by less than the lag bound: the batch");
    ok(!d.kick_urgent, "no urgent kick under the bound");
    v.wanted = 1;
    v.committed = v.indexed + CD_IX_PASS_MAX;
    expect(&v, CD_IX_DO_WRITE, "pipeline: a reader or a whole pass behind does not hold the batch");
    v.wanted = 0;
    v.committed = v.indexed + CD_IX_LAG_MAX - 1;
    expect(&v, CD_IX_DO_WRITE, "pipeline, one change short of the lag bound: the batch");
    v.committed = v.indexed + CD_IX_LAG_MAX;
    d = expect(&v, CD_IX_DO_WAIT, "pipeline, lag bound reached: writes wait for the plan");
    ok(d.kick_urgent, "... and the pipeline is asked for it at once");

    v = view(10);
    v.pipe_in_use = 1;
    v.behind_since = NOW - 100 * IDLE;
    d = expect(&v, CD_IX_DO_WAIT, "pipeline, idle and behind: wait, the pipeline times the passes");
    ok(!d.kick_urgent, "no kick when idle");
    is_int(d.behind_since, NOW - 100 * IDLE, "the pipeline path leaves behind_since alone");
    v.wanted = 1;
    expect(&v, CD_IX_DO_WAIT, "pipeline, a reader waits: still the pipeline's plan, not a pass");

    v = view(0);
    v.pipe_in_use = 1;
    v.merge_more = 1;
    expect(&v, CD_IX_DO_MERGE, "pipeline, idle, merge work left: merge steps");
    v.stopping = 1;
    expect(&v, CD_IX_DO_STOP, "pipeline, stopping and idle: stop");

    v = view(10);
    v.pipe_in_use = 1;
    v.stalled = 1;
    v.failed_at = NOW - 1000;
    v.writes_queued = 1;
    v.wanted = 1;
    expect(&v, CD_IX_DO_PASS, "pipeline after a failed pass: the writer runs the pass itself");

    v = view(CD_IX_LAG_MAX);
    v.plan_ready = 1;            /* not looked at: the pipeline is out of use (disk short) */
    v.writes_queued = 1;
    d = expect(&v, CD_IX_DO_PASS, "pipeline out of use: no plan, the writer's own pass a pass behind");
    ok(!d.kick_urgent, "no kick of a pipeline out of use");
}

static void test_rest(void)
{
    for (int pipe = 0; pipe < 2; pipe++) {
        const char *how = pipe ? "pipeline" : "no pipeline";
        cd_indexer_view v = view(0);
        v.pipe_in_use = pipe;
        v.rest_pending = 1;
        v.wrote_at = NOW - CD_IX_REST_DELAY_NS + 5;
        cd_indexer_decision d = expect(&v, CD_IX_DO_WAIT_UNTIL, "idle, caught up, wrote just now: wait for the rest");
        is_int(d.due, NOW + 5, "%s: due a rest delay after the last write batch", how);
        v.wrote_at = NOW - CD_IX_REST_DELAY_NS;
        expect(&v, CD_IX_DO_REST, "idle a rest delay: the rest merges");
        v.rest_pending = 0;
        expect(&v, CD_IX_DO_WAIT, "rest merges started already: wait for a signal");
        v.rest_pending = 1;
        /* Each of these goes before the rest merges, alone. */
        struct { int *flag; cd_indexer_action want; const char *what; } before[] = {
            { &v.merge_more, CD_IX_DO_MERGE, "merge work left goes before the rest merges" },
            { &v.writes_queued, CD_IX_DO_WRITE, "a write batch goes before the rest merges" },
            { &v.stopping, CD_IX_DO_STOP, "stopping goes before the rest merges" },
        };
        for (size_t i = 0; i < sizeof before / sizeof before[0]; i++) {
            *before[i].flag = 1;
            expect(&v, before[i].want, before[i].what);
            *before[i].flag = 0;
        }
        v.committed = v.indexed + 10;
        d = cd_indexer_decide(&v);
        ok(d.action != CD_IX_DO_REST, "%s: the index behind: no rest merges (%s)", how, action_name(d.action));
    }
}

int main(void)
{
    test_writes_without_pipeline();
    test_idle_without_pipeline();
    test_failed_pass();
    test_merge_and_stop();
    test_pipeline();
    test_rest();
    return done_testing();
}
