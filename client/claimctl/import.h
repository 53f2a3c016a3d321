/* import.h: the import pipeline of claimctl, shared by the input formats.
 *
 *   reader (import_jsonl.c, import_csv.c, import_claimreview.c)
 *     -> ctl_import_add: one claim (JSON, claim.put fields) + its extras (verdicts, retraction)
 *     -> import_core.c: batches of claim.import, several in flight; rejects file; progress
 *     -> import_apply.c: after a batch is answered, its records' verdicts and retractions are
 *        applied on a second connection, skipping verdicts the claim already has
 *
 * Every record carries where it came from (a line, or an element index for ClaimReview) and its
 * original text, so a rejected record is written to the rejects file as it was read. Memory is
 * bounded by the batches in flight: readers hand over one record at a time. */
#ifndef CLAIMCTL_IMPORT_H
#define CLAIMCTL_IMPORT_H

#include <sys/types.h>

#include "ctl.h"
#include "rating_vocab.h"

/* One record of a batch. */
typedef struct {
    uint64_t where;            /* line or element number */
    char *input;               /* the original text */
    json_t *local;             /* the error of a record refused here; NULL for one sent */
    json_t *extras;            /* {"verdicts": [...], "retract": {...}} or NULL */
    uint64_t id;               /* the claim, once the daemon has answered */
} ctl_entry;

typedef struct {
    claimd_args *args;         /* {"claims": [ ... while filling */
    size_t n;                  /* records in args */
    size_t bytes;              /* their packed size */
    size_t m, cap;             /* entries: the records and those refused here, in input order */
    ctl_entry *e;
} ctl_batch;

/* --rating LABEL=RATING pairs. */
typedef struct {
    char **labels, **ratings;
    size_t n;
} ctl_rating_map;

/* A label no vocabulary knows, and how many verdicts had it (for the summary). */
typedef struct {
    char *label;
    uint64_t n;
} ctl_unmapped;

typedef struct {
    ctl_env *env;
    const char *on_duplicate;
    const char *by;            /* --by: recorded_by of records without one */
    const char *lang;          /* --lang: lang of claims without one */
    const char *outlet;        /* --outlet: outlet of appearances without one */
    const ctl_rating_map *rating_map; /* --rating pairs (may be NULL) */
    cd_vocab *vocab;           /* --ratings FILE (may be NULL) */
    ctl_unmapped *unmapped;    /* labels nothing rated, in order of first sight */
    size_t n_unmapped, cap_unmapped;
    uint64_t v_unrated;        /* verdicts sent without a rating */
    const char *where_key;     /* "line" or "element" in the rejects file */
    int dry_run;
    FILE *rejects;             /* NULL: rejects are reported on stderr */
    ctl_batch *slots;          /* nslots = in-flight limit + 1 (the one being filled) */
    size_t nslots, head, in_flight;
    size_t batch_size;
    size_t batch_bytes;        /* send a batch once its records take this many bytes */
    uint64_t max_request;      /* the daemon's request limit; 0 if unknown */
    claimd_args *record;       /* scratch builder for one record */
    claimd_ctx *side;          /* second connection for verdicts and retractions */
    uint64_t imported, created, rejected, processed;
    uint64_t v_added, v_present, v_rejected, retracted;
    off_t total_bytes, bytes_read; /* total_bytes 0: unknown (not a regular file) */
    int tty;
    double t0, last_draw;
    int fatal;                 /* exit code once the import cannot go on */
} ctl_importer;

/* ---- import_core.c ---- */

/* Prepares the batches (and, unless dry_run, reads the daemon's limits). Returns an exit code. */
int ctl_import_start(ctl_importer *im, size_t in_flight);

/* Takes one record: claim (an object of claim.put fields) and extras (NULL, or {"verdicts":
 * [verdict.add params without "claim"], "retract": {"reason", "by"}}); both references are
 * taken. input[0..len) is the original text, where its line or element number. */
void ctl_import_add(ctl_importer *im, uint64_t where, const char *input, size_t len, json_t *claim,
                    json_t *extras);

/* Rejects a record here (unreadable, not convertible) with a code and a message. */
void ctl_import_reject(ctl_importer *im, uint64_t where, const char *input, size_t len,
                       const char *code, const char *message);

/* Writes one rejects line {key: where, "error", "input"}; takes the reference to error. Used for
 * records whose claim was imported but a verdict was refused, and for sidecar lines. */
void ctl_import_write_reject(ctl_importer *im, const char *key, uint64_t where, const char *input,
                             json_t *error);

/* Sends what is left and waits for every reply. Returns the fatal exit code or 0. */
int ctl_import_finish(ctl_importer *im);

/* Seconds since ctl_import_start. */
double ctl_import_elapsed(const ctl_importer *im);

/* Redraws the progress line (terminals only, at most 4 times a second). */
void ctl_import_progress(ctl_importer *im);

/* Frees the batches (the rejects file and connections are the caller's). */
void ctl_import_free(ctl_importer *im);

/* A JSON error map {"code", "message"} (plus "field" when not NULL). */
json_t *ctl_import_error(const char *code, const char *message, const char *field);

/* ---- import_apply.c ---- */

/* Applies the verdicts and retractions of the answered records of b (entries with an id and
 * extras) on the side connection, skipping a verdict the claim already has with the same
 * rating, url and at (any at when the verdict has none). */
void ctl_import_apply(ctl_importer *im, ctl_batch *b);

/* ---- validate.c ---- */

/* Checks a claim object against the contract as far as it can be checked without the daemon
 * (fields, types, enumerations, times, lengths). Returns NULL when it passes, else an error map
 * {"code", "message", "field"} (new reference). */
json_t *ctl_validate_claim(json_t *claim);

/* The same for extras ({"verdicts": [...], "retract": {...}}); fields as "verdicts[i].rating". */
json_t *ctl_validate_extras(json_t *extras);

/* The canonical form of an ISO 8601 time (as the daemon stores it) in buf (>= 40 bytes), or
 * NULL when s is not a valid time. */
const char *ctl_canonical_time(const char *s, char *buf);

/* ---- the readers ---- */

/* import_jsonl.c: one claim object per line; sidecar (may be NULL) holds {"line": N,
 * "verdict": {...}} and {"line": N, "retract": {...}} lines in line order (claimctl export
 * --verdicts). Returns an exit code for reading errors (rejects are counted by the importer). */
int ctl_read_jsonl(ctl_importer *im, FILE *in, FILE *sidecar);

/* import_csv.c: CSV with a header row. */
typedef struct {
    char delimiter;            /* ',' by default */
    int no_quotes;             /* TSV: '"' is an ordinary character */
    const char *list_sep;      /* separator of list cells (default ";") */
    char **map_from, **map_to; /* --map COLUMN=FIELD pairs (FIELD "" or "-": ignore COLUMN) */
    size_t n_map;
} ctl_csv_options;

/* The column a --map FIELD names: "verdict.label" is "label", "verdict.date" "verdict_at"... */
const char *ctl_csv_field_name(const char *field);

/* The header is checked first: an unknown column is a usage error (exit 2). */
int ctl_read_csv(ctl_importer *im, FILE *in, const ctl_csv_options *o);

/* import_claimreview.c: ClaimReview JSON-LD (one object, an array, or {"@graph": [...]}), read
 * element by element. */
int ctl_read_claimreview(ctl_importer *im, FILE *in);

/* The external_id of a ClaimReview: its @id or url, '#', and a hash of the folded
 * claimReviewed, so an article reviewing several claims gives several claims (into buf). */
const char *ctl_claimreview_key(const char *id_or_url, const char *claim_reviewed, char *buf, size_t cap);

/* claimreview_rating.c (see claimctl(1) RATING VOCABULARY). */

/* The rating of a publisher's label: --rating pairs, --ratings FILE, the built-in vocabulary;
 * CD_VOCAB_UNRATED for a label known to carry none; NULL when nothing knows it. */
const char *ctl_rate_label(const ctl_importer *im, const char *label);

/* Counts a verdict sent without a rating because nothing knows its label. */
void ctl_note_unmapped(ctl_importer *im, const char *label);

/* Fills verdict (a verdict.add map) from a ClaimReview reviewRating: label (alternateName,
 * else textualRating), rating_value/best_rating/worst_rating as given, the 1-5 score from them;
 * returns the rating (the label's, else the numbers'), or NULL: unrated (the label is counted
 * as unmapped), or, with *why set, a verdict that cannot be stored (no label, no number). */
const char *ctl_claimreview_rating(ctl_importer *im, json_t *review_rating, json_t *verdict,
                                   const char **why);

/* Rates an imported verdict map in place: a rating that is not a contract rating is taken as
 * the publisher's label; a label alone gets its vocabulary rating, or stays unrated (counted). */
void ctl_rate_verdict(ctl_importer *im, json_t *verdict);

/* The usual wording of a rating ("Mostly true"), used as alternateName on export. */
const char *ctl_rating_wording(const char *rating);

/* jsonld_split.c: streams the elements of a JSON-LD document: calls each(element text, length,
 * index, ctx) for every top-level object, array item, or item of a top-level "@graph" array,
 * holding one element in memory at a time. Returns 0, or -1 with a reason in err (bad syntax
 * outside elements, or an element that does not end before the input does). */
typedef int (*ctl_element_fn)(const char *text, size_t len, uint64_t index, void *ctx);
int ctl_jsonld_split(FILE *in, ctl_element_fn each, void *ctx, char *err, size_t errlen);

#endif
