/* peer_groups: the write role follows the groups the peer process really has. The group
 * database says what a user may get at login, not what a process holds: one that dropped the
 * writers group (setgroups) must not write, one given it as a supplementary group must. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <sys/socket.h>
#include "log.h"
#include "peer_groups.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59   /* Linux 4.13; older C libraries lack the name */
#endif

/* Fallback for kernels without SO_PEERGROUPS: the user's groups in the group database. */
static int user_has_group(uid_t uid, gid_t gid, gid_t want)
{
    struct passwd pw, *pwp = NULL;
    char buf[4096];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &pwp) || !pwp) return 0;
    gid_t groups[256];
    int n = 256;
    if (getgrouplist(pw.pw_name, gid, groups, &n) < 0) return 0;
    for (int i = 0; i < n; i++)
        if (groups[i] == want) return 1;
    return 0;
}

int cd_peer_has_group(int fd, uid_t uid, gid_t gid, gid_t want)
{
    if (gid == want) return 1;
    gid_t small[64], *groups = small;
    socklen_t len = sizeof small;
    int rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
    if (rc < 0 && errno == ERANGE) {          /* more than 64 groups: len says how many bytes */
        if (!(groups = malloc(len ? len : 1))) return 0;
        rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len);
    }
    int found = 0;
    if (rc == 0) {
        for (size_t i = 0; i < len / sizeof(gid_t); i++)
            if (groups[i] == want) { found = 1; break; }
    } else if (errno == ENOPROTOOPT) {
        static int warned;
        if (!warned++) cd_warn("no SO_PEERGROUPS (Linux < 4.13): write role from the group database");
        found = user_has_group(uid, gid, want);
    }
    if (groups != small) free(groups);
    return found;
}
