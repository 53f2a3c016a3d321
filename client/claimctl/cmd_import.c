/* cmd_import: `claimctl import`: options, the input format (JSONL, CSV or ClaimReview, by
 * --format or the file name), the rejects file, and the final summary. The pipeline itself is
 * in import_core.c, the formats in import_*.c. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "import.h"

#define DEFAULT_BATCH 1000
#define MAX_BATCH 10000
#define DEFAULT_IN_FLIGHT 4
#define MAX_IN_FLIGHT 64

enum { F_AUTO, F_JSONL, F_CSV, F_TSV, F_CLAIMREVIEW };

static const char import_usage[] =
    "Usage: claimctl import [OPTIONS] FILE|-\n\n"
    "Imports claims with claim.import, several batches in flight, reading the input as a\n"
    "stream (constant memory). Formats:\n"
    "  jsonl        one claim object per line (the fields of claim.put)           *.jsonl\n"
    "  csv          a header row of field names, then one claim per record         *.csv\n"
    "  tsv          the same, tab-separated, no quoting                            *.tsv\n"
    "  claimreview  schema.org ClaimReview JSON-LD: an object, an array or @graph  *.json[ld]\n"
    "A ClaimReview, a CSV row with verdict columns, or a --verdicts line also adds a verdict,\n"
    "unless the claim already has one with the same rating, url and at.\n\n"
    "Rejected records go to the rejects file, one JSON line each:\n"
    "  {\"line\": N, \"error\": {\"code\", \"message\", ...}, \"input\": \"the original text\"}\n"
    "(\"element\": I, counting from 0, for ClaimReview). The summary goes to stderr:\n"
    "  imported N, created C, rejected R in S s (X claims/s)\n"
    "The exit status is 1 if anything was rejected. Re-running an interrupted import is safe:\n"
    "claims with the same external_id (or speaker and text) are not created twice.\n\n"
    "Options:\n"
    "  --format FORMAT       jsonl, csv, tsv or claimreview (default: from the file name; jsonl\n"
    "                        for stdin and other names)\n"
    "  --dry-run             check every record here and write nothing (no daemon needed;\n"
    "                        duplicates and the daemon's own limits are not checked)\n"
    "  --rejects PATH        rejects file (default FILE.rejects; with stdin and no --rejects,\n"
    "                        rejects are reported on stderr). Truncated at start.\n"
    "  --on-duplicate POLICY merge (default), skip or error\n"
    "  --by NAME             recorded_by for records that have no \"by\"\n"
    "  --lang TAG            lang of claims that have none (the whole file's language)\n"
    "  --outlet NAME         outlet of appearances that have none (one is added if none)\n"
    "  --ratings FILE        more publishers' labels: lines LABEL<TAB>RATING (RATING a rating,\n"
    "                        or - for a label that carries none); see RATING VOCABULARY in\n"
    "                        claimctl(1). Unknown labels are kept on unrated verdicts and\n"
    "                        listed in the summary with their counts.\n"
    "  --rating LABEL=RATING read the publisher's rating LABEL as RATING (repeatable)\n"
    "  --batch N             records per claim.import request (1-10000, default 1000)\n"
    "  --in-flight N         batches sent before waiting for a reply (1-64, default 4)\n"
    "JSONL:\n"
    "  --verdicts FILE       verdicts and retractions of the claims, as written by\n"
    "                        `claimctl export --verdicts FILE`\n"
    "CSV:\n"
    "  --map COLUMN=FIELD    read COLUMN as FIELD (repeatable); --map COLUMN= skips it. A\n"
    "                        column or a field given twice is a usage error. Verdict fields\n"
    "                        may also be named verdict.label, verdict.rating, verdict.date,\n"
    "                        verdict.url, verdict.by, verdict.score, verdict.summary.\n"
    "  --delimiter C         field separator (default ','; 'tab' for tabs)\n"
    "  --list-sep S          separator of list cells (via, about, tags; default ';')\n"
    "  Columns: text quote lang speaker speaker_role attribution said_at medium via about tags\n"
    "  external_id by; one appearance: url outlet title published_at appearance_lang; one\n"
    "  verdict: rating label score verdict_by verdict_at verdict_url summary. A rating cell\n"
    "  that is a publisher's label (half-true, pants-fire, Falsch) is rated as a label. Lists\n"
    "  (via, about, tags) separate items with ';' (--list-sep); a via item is NAME or NAME:HOW.\n";

/* Opens the rejects file into *f, refusing to overwrite the input. Returns an exit code. */
static int open_rejects(const char *path, const char *input, FILE **f)
{
    struct stat in, out;
    if (input && stat(input, &in) == 0 && stat(path, &out) == 0 && in.st_dev == out.st_dev &&
        in.st_ino == out.st_ino)
        return ctl_usage_error("import", "the rejects file would overwrite the input");
    if (!(*f = fopen(path, "w"))) {
        ctl_warn("cannot create rejects file %s: %s", path, strerror(errno));
        return CTL_EXIT_FAILED;
    }
    return CTL_EXIT_OK;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && !strcasecmp(s + n - k, suffix);
}

static int format_named(const char *s)
{
    if (!strcmp(s, "jsonl")) return F_JSONL;
    if (!strcmp(s, "csv")) return F_CSV;
    if (!strcmp(s, "tsv")) return F_TSV;
    if (!strcmp(s, "claimreview")) return F_CLAIMREVIEW;
    return -1;
}

/* The format of path from its name; .json/.jsonld must mention ClaimReview near the start. */
static int format_of(const char *path, FILE *in)
{
    if (ends_with(path, ".csv")) return F_CSV;
    if (ends_with(path, ".tsv") || ends_with(path, ".tab")) return F_TSV;
    if (!ends_with(path, ".json") && !ends_with(path, ".jsonld")) return F_JSONL;
    char head[65536];
    size_t n = fread(head, 1, sizeof head - 1, in);
    head[n] = '\0';
    rewind(in);
    if (memmem(head, n, "ClaimReview", 11)) return F_CLAIMREVIEW;
    ctl_usage_error("import", "%s is JSON but does not look like ClaimReview; give --format", path);
    return -1;
}

/* Splits "A=B" at its last '=' (labels and columns may contain '='... rarely; fields never). */
static int split_pair(char *s, char **a, char **b)
{
    char *eq = strrchr(s, '=');
    if (!eq || eq == s) return -1;
    *eq = '\0';
    *a = s;
    *b = eq + 1;
    return 0;
}

/* Peak resident memory of this process in kB (VmHWM), or -1. */
static long peak_rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = strtol(line + 6, NULL, 10);
    if (f) fclose(f);
    return kb;
}

static void summary(const ctl_importer *im, double secs, const char *rejects_path)
{
    if (im->dry_run) {
        fprintf(stderr, "dry run: checked %llu, valid %llu, rejected %llu (nothing was written)\n",
                (unsigned long long)im->processed, (unsigned long long)im->imported,
                (unsigned long long)im->rejected);
    } else {
        fprintf(stderr, "imported %llu, created %llu, rejected %llu in %.2f s (%.0f claims/s)\n",
                (unsigned long long)im->imported, (unsigned long long)im->created,
                (unsigned long long)im->rejected, secs,
                secs > 0 ? (double)im->imported / secs : 0.0);
    }
    if (im->v_added || im->v_present || im->v_rejected || im->retracted)
        fprintf(stderr, "verdicts: added %llu, already there %llu, rejected %llu; retracted %llu\n",
                (unsigned long long)im->v_added, (unsigned long long)im->v_present,
                (unsigned long long)im->v_rejected, (unsigned long long)im->retracted);
    if (im->n_unmapped) {
        /* The labels nothing knows, most frequent first, for a --ratings file. */
        fprintf(stderr, "unrated verdicts: %llu, labels no vocabulary knows (add them with --ratings FILE):\n",
                (unsigned long long)im->v_unrated);
        int *done = calloc(im->n_unmapped, sizeof *done);
        for (size_t k = 0; done && k < im->n_unmapped; k++) {
            size_t best = 0;
            int found = 0;
            for (size_t i = 0; i < im->n_unmapped; i++)
                if (!done[i] && (!found || im->unmapped[i].n > im->unmapped[best].n)) best = i, found = 1;
            done[best] = 1;
            fprintf(stderr, "  %llu\t%s\n", (unsigned long long)im->unmapped[best].n, im->unmapped[best].label);
        }
        free(done);
    }
    if ((im->rejected || im->v_rejected) && im->rejects)
        ctl_warn("rejected records are in %s", rejects_path);
    if (getenv("CLAIMCTL_REPORT_RSS")) fprintf(stderr, "peak RSS %ld kB\n", peak_rss_kb());
}

int ctl_cmd_import(ctl_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        {"batch", required_argument, NULL, 'b'},
        {"in-flight", required_argument, NULL, 'f'},
        {"on-duplicate", required_argument, NULL, 'd'},
        {"rejects", required_argument, NULL, 'r'},
        {"format", required_argument, NULL, 'F'},
        {"dry-run", no_argument, NULL, 'n'},
        {"by", required_argument, NULL, 'B'},
        {"verdicts", required_argument, NULL, 'v'},
        {"map", required_argument, NULL, 'm'},
        {"delimiter", required_argument, NULL, 'D'},
        {"rating", required_argument, NULL, 'R'},
        {"ratings", required_argument, NULL, 'V'},
        {"lang", required_argument, NULL, 'L'},
        {"outlet", required_argument, NULL, 'O'},
        {"list-sep", required_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    ctl_importer im = {.env = env, .batch_size = DEFAULT_BATCH, .where_key = "line"};
    ctl_csv_options csv = {.delimiter = ','};
    ctl_rating_map ratings = {0};
    long batch_size = DEFAULT_BATCH, in_flight = DEFAULT_IN_FLIGHT;
    const char *rejects_path = NULL, *verdicts_path = NULL;
    char *default_rejects = NULL;
    FILE *in = NULL, *sidecar = NULL;
    int c, format = F_AUTO, rc = CTL_EXIT_OK, from_stdin = 0;
    csv.map_from = calloc((size_t)argc, sizeof *csv.map_from);
    csv.map_to = calloc((size_t)argc, sizeof *csv.map_to);
    ratings.labels = calloc((size_t)argc, sizeof *ratings.labels);
    ratings.ratings = calloc((size_t)argc, sizeof *ratings.ratings);
    if (!csv.map_from || !csv.map_to || !ratings.labels || !ratings.ratings) {
        rc = CTL_EXIT_FAILED;
        goto out;
    }
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            if (ctl_parse_int(optarg, 1, MAX_BATCH, &batch_size) < 0) {
                rc = ctl_usage_error(argv[0], "--batch is a number from 1 to %d", MAX_BATCH);
                goto out;
            }
            break;
        case 'f':
            if (ctl_parse_int(optarg, 1, MAX_IN_FLIGHT, &in_flight) < 0) {
                rc = ctl_usage_error(argv[0], "--in-flight is a number from 1 to %d", MAX_IN_FLIGHT);
                goto out;
            }
            break;
        case 'd': im.on_duplicate = optarg; break;
        case 'r': rejects_path = optarg; break;
        case 'F':
            if ((format = format_named(optarg)) < 0) {
                rc = ctl_usage_error(argv[0], "--format is jsonl, csv or claimreview");
                goto out;
            }
            break;
        case 'n': im.dry_run = 1; break;
        case 'B': im.by = optarg; break;
        case 'L':
            if (strlen(optarg) < 2 || strlen(optarg) > 35) {
                rc = ctl_usage_error(argv[0], "--lang is a language tag (en, de, pt-BR...)");
                goto out;
            }
            im.lang = optarg;
            break;
        case 'O': im.outlet = optarg; break;
        case 'S':
            if (!*optarg) {
                rc = ctl_usage_error(argv[0], "--list-sep is a non-empty separator");
                goto out;
            }
            csv.list_sep = optarg;
            break;
        case 'V': {
            char err[300];
            cd_vocab_free(im.vocab);
            if (!(im.vocab = cd_vocab_load(optarg, err, sizeof err))) {
                rc = ctl_usage_error(argv[0], "--ratings: %s", err);
                goto out;
            }
            break;
        }
        case 'v': verdicts_path = optarg; break;
        case 'm':
            if (split_pair(optarg, &csv.map_from[csv.n_map], &csv.map_to[csv.n_map]) < 0) {
                rc = ctl_usage_error(argv[0], "--map takes COLUMN=FIELD");
                goto out;
            }
            for (size_t k = 0; k < csv.n_map; k++) {
                const char *to = csv.map_to[csv.n_map], *was = csv.map_to[k];
                if (!strcmp(csv.map_from[k], csv.map_from[csv.n_map])) {
                    rc = ctl_usage_error(argv[0], "--map: column '%s' is mapped twice", csv.map_from[k]);
                    goto out;
                }
                if (*to && strcmp(to, "-") && !strcmp(ctl_csv_field_name(was), ctl_csv_field_name(to))) {
                    rc = ctl_usage_error(argv[0], "--map: field '%s' is mapped twice ('%s' and '%s')", to,
                                         csv.map_from[k], csv.map_from[csv.n_map]);
                    goto out;
                }
            }
            csv.n_map++;
            break;
        case 'D':
            if (!strcmp(optarg, "tab") || !strcmp(optarg, "\\t")) csv.delimiter = '\t';
            else if (strlen(optarg) == 1 && optarg[0] != '"' && optarg[0] != '\n') csv.delimiter = optarg[0];
            else {
                rc = ctl_usage_error(argv[0], "--delimiter is one character (or 'tab')");
                goto out;
            }
            break;
        case 'R': {
            char *label, *rating;
            char list[200];
            if (split_pair(optarg, &label, &rating) < 0 || !ctl_in_list(ctl_ratings, rating)) {
                rc = ctl_usage_error(argv[0], "--rating takes LABEL=RATING, RATING one of %s",
                                     ctl_list_text(ctl_ratings, list, sizeof list));
                goto out;
            }
            ratings.labels[ratings.n] = label;
            ratings.ratings[ratings.n++] = rating;
            break;
        }
        case 'h': fputs(import_usage, stdout); goto out;
        default: rc = ctl_usage_error(argv[0], "bad option"); goto out;
        }
    }
    if (argc - optind != 1) {
        rc = ctl_usage_error(argv[0], "expected one FILE (or - for stdin)");
        goto out;
    }
    if (im.on_duplicate && !ctl_valid_on_duplicate(im.on_duplicate)) {
        rc = ctl_usage_error(argv[0], "--on-duplicate is merge, skip or error");
        goto out;
    }
    const char *path = argv[optind];
    from_stdin = !strcmp(path, "-");
    if (!(in = from_stdin ? stdin : fopen(path, "r"))) {
        ctl_warn("cannot open %s: %s", path, strerror(errno));
        rc = CTL_EXIT_FAILED;
        goto out;
    }
    if (format == F_AUTO) format = from_stdin ? F_JSONL : format_of(path, in);
    if (format < 0) { rc = CTL_EXIT_USAGE; goto out; }
    if (format == F_TSV) {
        format = F_CSV;
        csv.no_quotes = 1;
        if (csv.delimiter == ',') csv.delimiter = '\t';
    }
    if (((csv.n_map || csv.list_sep) && format != F_CSV) || (verdicts_path && format != F_JSONL)) {
        rc = ctl_usage_error(argv[0], "--map and --list-sep are for CSV/TSV, --verdicts for JSONL");
        goto out;
    }
    if (verdicts_path && !(sidecar = fopen(verdicts_path, "r"))) {
        ctl_warn("cannot open %s: %s", verdicts_path, strerror(errno));
        rc = CTL_EXIT_FAILED;
        goto out;
    }
    if (format == F_CLAIMREVIEW) im.where_key = "element";
    struct stat st;
    if (fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode)) im.total_bytes = st.st_size;
    if (!im.dry_run && (rc = ctl_connect(env))) goto out;
    if (!rejects_path && !from_stdin) {
        size_t n = strlen(path) + sizeof ".rejects";
        if ((default_rejects = malloc(n))) snprintf(default_rejects, n, "%s.rejects", path);
        rejects_path = default_rejects;
    }
    if (rejects_path && (rc = open_rejects(rejects_path, from_stdin ? NULL : path, &im.rejects)))
        goto out;
    im.batch_size = (size_t)batch_size;
    im.rating_map = &ratings;
    if ((rc = ctl_import_start(&im, (size_t)in_flight))) goto out;
    im.tty = isatty(STDERR_FILENO);
    switch (format) {
    case F_CSV: rc = ctl_read_csv(&im, in, &csv); break;
    case F_CLAIMREVIEW: rc = ctl_read_claimreview(&im, in); break;
    default: rc = ctl_read_jsonl(&im, in, sidecar); break;
    }
    int end = ctl_import_finish(&im);
    if (!rc) rc = end;
    summary(&im, ctl_import_elapsed(&im), rejects_path);
    if (!rc && (im.rejected || im.v_rejected)) rc = CTL_EXIT_FAILED;
out:
    ctl_import_free(&im);
    claimd_free(im.side);
    if (im.rejects && fclose(im.rejects) != 0 && !rc) {
        ctl_warn("cannot write the rejects file: %s", strerror(errno));
        rc = CTL_EXIT_FAILED;
    }
    if (in && !from_stdin) fclose(in);
    if (sidecar) fclose(sidecar);
    free(default_rejects);
    free(csv.map_from);
    free(csv.map_to);
    free(ratings.labels);
    free(ratings.ratings);
    cd_vocab_free(im.vocab);
    return rc;
}
