/* run_policy: which runs to merge, and the directory's encoding (runs.h). Pure functions,
 * unit-tested on their own (tests/unit/test_search_runs.c), shared by both families of runs.
 *
 * The policy is tiered: a run's size class grows by one for every CD_RUN_FANIN-fold growth of
 * its entries, and CD_RUN_FANIN runs of one class are merged into one of the next. Each posting
 * is then rewritten once per class it climbs (about log4 of the index's size over CD_RUN_BASE),
 * and a reader consults at most CD_RUN_FANIN - 1 runs a class. Should runs pile up anyway (a
 * steady stream of one-claim passes makes many small runs before they reach a class), the
 * smallest are merged once more than CD_RUN_READ_MAX are live, which bounds a reader's work.
 * With CD_RUN_JOBS merges of CD_RUN_FANIN + 1 runs each, the slots in use stay about
 * CD_RUN_READ_MAX + CD_RUN_JOBS * (CD_RUN_FANIN + 1) = 36 of 40; beyond, cd_runs_flush merges
 * before it writes (merge_until_free). */
#include <string.h>
#include "bytes.h"
#include "runs.h"

#define CD_RUN_READ_MAX 16           /* live runs beyond which the smallest are merged */

int cd_run_class(uint64_t postings)
{
    int cls = 0;
    for (uint64_t bound = CD_RUN_BASE; postings >= bound && cls < 30; bound *= CD_RUN_FANIN) cls++;
    return cls;
}

/* Indexes of the live runs of d, smallest first (insertion sort: at most CD_RUN_SLOTS). */
static size_t live_by_size(const cd_run_dir *d, size_t out[CD_RUN_SLOTS])
{
    size_t n = 0;
    for (size_t i = 0; i < d->n; i++) {
        if (d->run[i].role != CD_RUN_LIVE) continue;
        size_t j = n++;
        while (j > 0 && d->run[out[j - 1]].postings > d->run[i].postings) { out[j] = out[j - 1]; j--; }
        out[j] = i;
    }
    return n;
}

size_t cd_run_pick(const cd_run_dir *d, size_t pick[CD_RUN_SLOTS])
{
    int jobs = 0;
    for (size_t i = 0; i < d->n; i++) jobs += d->run[i].role == CD_RUN_OUTPUT;
    if (jobs >= CD_RUN_JOBS) return 0;
    size_t live[CD_RUN_SLOTS], n = live_by_size(d, live);
    if (n < 2) return 0;
    /* The smallest class with CD_RUN_FANIN runs: they are adjacent in size order. */
    for (size_t i = 0; i + CD_RUN_FANIN <= n; i++) {
        int cls = cd_run_class(d->run[live[i]].postings);
        if (cd_run_class(d->run[live[i + CD_RUN_FANIN - 1]].postings) == cls) {
            memcpy(pick, live + i, CD_RUN_FANIN * sizeof *pick);
            return CD_RUN_FANIN;
        }
    }
    if (n > CD_RUN_READ_MAX || d->n + CD_RUN_FANIN >= CD_RUN_SLOTS) {
        size_t k = n < CD_RUN_FANIN ? n : CD_RUN_FANIN;
        memcpy(pick, live, k * sizeof *pick);
        return k;
    }
    return 0;
}

size_t cd_run_pick_rest(const cd_run_dir *d, size_t pick[CD_RUN_SLOTS])
{
    for (size_t i = 0; i < d->n; i++)
        if (d->run[i].role != CD_RUN_LIVE) return 0;
    size_t live[CD_RUN_SLOTS], n = live_by_size(d, live);
    if (n < 2) return 0;
    uint64_t largest = d->run[live[n - 1]].postings, others = 0;
    for (size_t i = 0; i + 1 < n; i++) others += d->run[live[i]].postings;
    size_t k = others >= largest / CD_RUN_REST_SHARE ? n : n >= 3 ? n - 1 : 0;
    memcpy(pick, live, k * sizeof *pick);
    return k;
}

int cd_run_free_slot(const cd_run_dir *d)
{
    for (int s = 0; s < CD_RUN_SLOTS; s++) {
        size_t i = 0;
        while (i < d->n && d->run[i].slot != s) i++;
        if (i == d->n) return s;
    }
    return -1;
}

size_t cd_run_dir_encode(const cd_run_dir *d, unsigned char *out)
{
    unsigned char *p = out;
    *p++ = 1;
    *p++ = (unsigned char)d->n;
    for (size_t i = 0; i < d->n; i++) {
        *p++ = d->run[i].slot;
        *p++ = (unsigned char)(d->run[i].role | d->run[i].job << 2);
        cd_put_u64be(p, d->run[i].postings);
        p += 8;
    }
    return (size_t)(p - out);
}

int cd_run_dir_decode(const unsigned char *p, size_t n, cd_run_dir *d)
{
    memset(d, 0, sizeof *d);
    if (n < 2 || p[0] != 1 || p[1] > CD_RUN_SLOTS || n != 2 + (size_t)p[1] * 10) return -1;
    d->n = p[1];
    unsigned long long used = 0;
    for (size_t i = 0; i < d->n; i++) {
        const unsigned char *e = p + 2 + i * 10;
        unsigned role = e[1] & 3, job = e[1] >> 2;
        if (e[0] >= CD_RUN_SLOTS || role > CD_RUN_OUTPUT || job > CD_RUN_JOBS || (role == CD_RUN_LIVE) != (job == 0) ||
            (used >> e[0] & 1))
            return -1;
        used |= 1ULL << e[0];
        d->run[i] = (cd_run_info){ e[0], (uint8_t)role, (uint8_t)job, cd_get_u64be(e + 2) };
    }
    return 0;
}

int cd_runs_merge_due(const cd_run_dir *d)
{
    size_t pick[CD_RUN_SLOTS];
    for (size_t i = 0; i < d->n; i++)
        if (d->run[i].role != CD_RUN_LIVE) return 1;
    return cd_run_pick(d, pick) > 0;
}

void cd_run_dir_remove(cd_run_dir *d, size_t i)
{
    memmove(&d->run[i], &d->run[i + 1], (d->n - i - 1) * sizeof d->run[0]);
    d->n--;
}

uint8_t cd_run_next_job(const cd_run_dir *d)
{
    uint64_t left[CD_RUN_JOBS + 1] = { 0 };
    int active[CD_RUN_JOBS + 1] = { 0 };
    for (size_t i = 0; i < d->n; i++) {
        if (d->run[i].role == CD_RUN_LIVE) continue;
        active[d->run[i].job] = 1;
        if (d->run[i].role == CD_RUN_INPUT) left[d->run[i].job] += d->run[i].postings;
    }
    uint8_t best = 0;
    for (uint8_t j = 1; j <= CD_RUN_JOBS; j++)
        if (active[j] && (!best || left[j] < left[best])) best = j;
    return best;
}

void cd_run_job_finish(cd_run_dir *d, uint8_t job, size_t out)
{
    d->run[out].role = CD_RUN_LIVE;
    d->run[out].job = 0;
    for (size_t i = d->n; i-- > 0;)
        if (d->run[i].role == CD_RUN_INPUT && d->run[i].job == job) cd_run_dir_remove(d, i);
}

int cd_run_more(const cd_run_dir *d)
{
    return cd_runs_merge_due(d) ? (d->n > CD_RUN_SLOTS / 2 ? 2 : 1) : 0;
}
