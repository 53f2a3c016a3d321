/* vocab: the contract's closed vocabularies (PROTOCOL.md), for checks made before anything is
 * sent: usage errors for flags, and the local validation of --dry-run. */
#include <string.h>

#include "ctl.h"

const char *const ctl_media[] = {"post", "statement", "interview", "speech", "press-conference",
                                 "press-release", "broadcast", "article", "document", "testimony",
                                 "other", NULL};
const char *const ctl_via_hows[] = {"quoted", "reported", "citing", "with-reporting-by",
                                    "translated", "other", NULL};
const char *const ctl_ratings[] = {"true", "mostly-true", "mixed", "mostly-false", "false",
                                   "misleading", "unproven", "in-review", NULL};
const char *const ctl_entity_kinds[] = {"person", "organization", "outlet", "government", "group",
                                        "unknown", NULL};
const char *const ctl_relation_kinds[] = {"confirms", "contradicts", "repeats", "clarifies",
                                          "retracts", "responds-to", NULL};
const char *const ctl_claim_fields[] = {"text", "quote", "lang", "speaker", "speaker_role",
                                        "attribution", "said_at", "medium", "via", "appearances",
                                        "about", "tags", "external_id", "by", "on_duplicate",
                                        NULL};

int ctl_in_list(const char *const *list, const char *s)
{
    for (size_t i = 0; s && list[i]; i++)
        if (!strcmp(list[i], s)) return 1;
    return 0;
}

char *ctl_list_text(const char *const *list, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (size_t i = 0; list[i] && o + 1 < cap; i++) {
        int n = snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", list[i]);
        if (n < 0) break;
        o += (size_t)n;
    }
    return buf;
}
