/* search_eval: top-k evaluation of a claim.search query over the language spaces.
 *
 * Every clause is required (AND). In each space the clause with the fewest postings drives;
 * the others are probed by seeking. Blocks of 1024 claim ids are the unit of skipping: a block
 * where some clause has no postings is skipped outright, and once the heap holds k hits a block
 * whose summed BM25 upper bounds (block-max) cannot beat the k-th score is skipped unread; inside
 * a block a claim is dropped as soon as its exact partial score plus the other clauses' block
 * bounds cannot (MaxScore-style). Until EXACT_TOTAL matches have been counted nothing is skipped,
 * so `total` is exact up to that many; past it pruning starts and `total` is extrapolated. */
#ifndef CD_SEARCH_EVAL_H
#define CD_SEARCH_EVAL_H

#include <lmdb.h>
#include "call.h"
#include "filter.h"
#include "search.h"

/* Matches counted exactly before pruning starts (beyond: total is an estimate). */
#define CD_SEARCH_EXACT_TOTAL 1000

/* One language space of a query: its plan and the statistics it is scored with. */
typedef struct {
    char tag[4];
    uint64_t ndocs, ntokens;                  /* BM25 statistics (frozen by a cursor) */
    cd_qplan plan;
    uint64_t df[CD_SEARCH_CLAUSES_MAX];       /* per clause in plan order (frozen by a cursor) */
    int frozen;                               /* df comes from a cursor, not from the index */
    int active;                               /* set by the run: every clause has postings */
} cd_sspace;

/* One hit: its score, claim id and the index of its space. */
typedef struct { double score; uint64_t id; uint32_t space; } cd_shit;

typedef struct {
    /* in */
    cd_sspace *spaces;
    size_t nspaces;
    const cd_filter *filter;
    int filter_on_claim;                      /* some filter needs the claim record */
    const uint64_t *members;                  /* sorted ids a filter allows, when use_members */
    size_t nmembers;
    int use_members;
    uint64_t max_id;                          /* claims with larger ids are left out */
    int has_after;                            /* continue after (after_score, after_id) */
    double after_score;
    uint64_t after_id;
    size_t k;                                 /* hits wanted */
    /* out */
    cd_shit *hits;                            /* zone array, best first */
    size_t nhits;
    uint64_t total;
    int total_exact;
} cd_search_run;

/* Whether hit a ranks before hit b: higher score, then lower id. */
int cd_search_hit_before(const cd_shit *a, const cd_shit *b);

/* Runs the query. 0, or -1 with the error set on c. */
int cd_search_run_eval(cd_call *c, MDB_txn *txn, cd_search_run *r);

#endif
