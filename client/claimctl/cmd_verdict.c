/* cmd_verdict: verdict (verdict.add) and verdicts (verdict.list). */
#include <getopt.h>
#include <stdlib.h>

#include "ctl.h"

static const char verdict_usage[] =
    "Usage: claimctl verdict ID RATING [--label TEXT] [--score 1-5] [--by NAME] [--at TIME]\n"
    "                        [--summary TEXT] [--url URL] [--evidence URL]...\n\n"
    "Adds a fact-check verdict to claim ID and prints {\"id\", \"claim_rev\"}.\n"
    "RATING: true mostly-true mixed mostly-false false misleading unproven in-review.\n\n"
    "Options:\n"
    "  --label TEXT     the publisher's own wording (\"Pants on Fire\")\n"
    "  --score N        1-5 as in ClaimReview (5 best)\n"
    "  --by NAME        who checked it\n"
    "  --at TIME        when it was published (ISO 8601)\n"
    "  --summary TEXT   the reasoning in short\n"
    "  --url URL        the fact-check article\n"
    "  --evidence URL   a source supporting the verdict (repeatable)\n";

int ctl_cmd_verdict(ctl_env *env, int argc, char **argv)
{
    static const struct option opts[] = {
        {"label", required_argument, NULL, 'l'},
        {"score", required_argument, NULL, 's'},
        {"by", required_argument, NULL, 'b'},
        {"at", required_argument, NULL, 'a'},
        {"summary", required_argument, NULL, 'S'},
        {"url", required_argument, NULL, 'u'},
        {"evidence", required_argument, NULL, 'e'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *label = NULL, *score = NULL, *by = NULL, *at = NULL, *summary = NULL, *url = NULL;
    const char **evidence = calloc((size_t)argc, sizeof *evidence);
    size_t n_evidence = 0;
    int c, rc = CTL_EXIT_OK;
    long score_value = 0;
    claimd_args *a = NULL;
    if (!evidence) return CTL_EXIT_FAILED;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': label = optarg; break;
        case 's': score = optarg; break;
        case 'b': by = optarg; break;
        case 'a': at = optarg; break;
        case 'S': summary = optarg; break;
        case 'u': url = optarg; break;
        case 'e': evidence[n_evidence++] = optarg; break;
        case 'h': fputs(verdict_usage, stdout); goto done;
        default: rc = ctl_usage_error(argv[0], "bad option"); goto done;
        }
    }
    uint64_t id;
    if (argc - optind != 2) {
        rc = ctl_usage_error(argv[0], "expected a claim ID and a RATING");
        goto done;
    }
    if (ctl_parse_id(argv[optind], &id) < 0) {
        rc = ctl_usage_error(argv[0], "bad ID '%s'", argv[optind]);
        goto done;
    }
    if (score && ctl_parse_int(score, 1, 5, &score_value) < 0) {
        rc = ctl_usage_error(argv[0], "--score is a whole number from 1 to 5");
        goto done;
    }
    if (!(a = claimd_args_new())) {
        rc = CTL_EXIT_FAILED;
        goto done;
    }
    claimd_args_uint(a, "claim", id);
    claimd_args_str(a, "rating", argv[optind + 1]);
    if (label) claimd_args_str(a, "label", label);
    if (score) claimd_args_int(a, "score", score_value);
    if (by) claimd_args_str(a, "by", by);
    if (at) claimd_args_str(a, "at", at);
    if (summary) claimd_args_str(a, "summary", summary);
    if (url) claimd_args_str(a, "url", url);
    if (n_evidence) {
        claimd_args_begin_array(a, "evidence");
        for (size_t i = 0; i < n_evidence; i++) claimd_args_str(a, NULL, evidence[i]);
        claimd_args_end(a);
    }
    rc = ctl_call_and_print(env, "verdict.add", a, NULL);
done:
    claimd_args_free(a);
    free(evidence);
    return rc;
}

int ctl_cmd_verdicts(ctl_env *env, int argc, char **argv)
{
    static const char usage[] =
        "Usage: claimctl verdicts ID\n\nPrints the verdicts of claim ID, oldest first, one per "
        "line.\n";
    uint64_t id;
    if (ctl_wants_help(argc, argv, usage)) return CTL_EXIT_OK;
    if (argc != 2) return ctl_usage_error(argv[0], "expected one claim ID");
    if (ctl_parse_id(argv[1], &id) < 0) return ctl_usage_error(argv[0], "bad ID '%s'", argv[1]);
    claimd_args *a = claimd_args_new();
    if (!a) return CTL_EXIT_FAILED;
    claimd_args_uint(a, "claim", id);
    int rc = ctl_call_and_print(env, "verdict.list", a, "items");
    claimd_args_free(a);
    return rc;
}
