/* peer_groups: whether the process at the other end of a Unix socket holds a group. */
#ifndef CD_PEER_GROUPS_H
#define CD_PEER_GROUPS_H
#include <sys/types.h>

/* 1 when the peer of socket fd (uid, primary gid from SO_PEERCRED) held group want when it
 * connected: its primary gid, or one of its supplementary groups as the kernel recorded them
 * (SO_PEERGROUPS). Only where the kernel lacks SO_PEERGROUPS (Linux < 4.13) are uid's groups
 * taken from the group database (getgrouplist) instead. 0 otherwise or on error. */
int cd_peer_has_group(int fd, uid_t uid, gid_t gid, gid_t want);

#endif
