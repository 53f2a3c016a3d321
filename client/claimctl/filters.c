/* filters: the claim.query / claim.search filter flags (--speaker, --status, --said-from...),
 * shared by query, search and export, turned into the parameters of the call. */
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

const char ctl_filter_help[] =
    "Filters (all optional, combined with AND):\n"
    "  --speaker NAME|ID      who said it (a name or alias, any case and accents; digits: an id)\n"
    "  --about NAME|ID        who or what it is about\n"
    "  --outlet NAME|ID       where it appeared\n"
    "  --via NAME|ID          an entity of its attribution chain\n"
    "  --medium MEDIUM        post, statement, interview, speech, press-conference, ...\n"
    "  --status STATUS        unverified, or the rating of its newest verdict (true, false, ...)\n"
    "  --tag LABEL            one of its tags\n"
    "  --lang TAG             language of its text\n"
    "  --said-from TIME       said at or after TIME (ISO 8601, any precision)\n"
    "  --said-to TIME         said before the end of TIME's period (2018-08 is all of August)\n"
    "  --include-retracted    include retracted claims\n";

int ctl_add_entity_ref(claimd_args *a, const char *key, const char *s)
{
    uint64_t id;
    if (strspn(s, "0123456789") == strlen(s) && ctl_parse_id(s, &id) == 0) {
        claimd_args_begin_map(a, key);
        claimd_args_uint(a, "id", id);
        return claimd_args_end(a);
    }
    return claimd_args_str(a, key, s);
}

int ctl_filter_take(ctl_filters *f, int code, const char *arg, const char *cmd)
{
    static const char *const keys[] = {"speaker", "about", "outlet", "via", "medium", "status",
                                       "tag", "lang", "said_from", "said_to",
                                       "include_retracted", "order"};
    static const char *const flags[] = {"--speaker", "--about", "--outlet", "--via", "--medium",
                                        "--status", "--tag", "--lang", "--said-from", "--said-to",
                                        "--include-retracted", "--order"};
    if (code < CTL_F_SPEAKER || code > CTL_F_ORDER) return 0;
    int i = code - CTL_F_SPEAKER;
    if (f->seen & (1u << i)) {
        ctl_usage_error(cmd, "%s given twice (each filter takes one value)", flags[i]);
        return -1;
    }
    f->seen |= 1u << i;
    char list[256];
    switch (code) {
    case CTL_F_SPEAKER: case CTL_F_ABOUT: case CTL_F_OUTLET: case CTL_F_VIA:
        ctl_add_entity_ref(f->args, keys[i], arg);
        return 1;
    case CTL_F_MEDIUM:
        if (!ctl_in_list(ctl_media, arg)) {
            ctl_usage_error(cmd, "--medium is one of %s", ctl_list_text(ctl_media, list, sizeof list));
            return -1;
        }
        break;
    case CTL_F_STATUS:
        if (strcmp(arg, "unverified") && !ctl_in_list(ctl_ratings, arg)) {
            ctl_usage_error(cmd, "--status is unverified or one of %s",
                            ctl_list_text(ctl_ratings, list, sizeof list));
            return -1;
        }
        break;
    case CTL_F_INCLUDE_RETRACTED:
        claimd_args_bool(f->args, keys[i], 1);
        return 1;
    case CTL_F_ORDER:
        if (strcmp(arg, "said_desc") && strcmp(arg, "said_asc") && strcmp(arg, "recorded_desc")) {
            ctl_usage_error(cmd, "--order is said_desc, said_asc or recorded_desc");
            return -1;
        }
        break;
    default:
        break;
    }
    claimd_args_str(f->args, keys[i], arg);
    return 1;
}
