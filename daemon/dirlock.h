/* dirlock: one claimd per data directory, by an exclusive lock on DIR/claimd.lock. */
#ifndef CD_DIRLOCK_H
#define CD_DIRLOCK_H

/* Takes the exclusive lock on dir/claimd.lock (created 0640), writing our pid into it; the lock
 * lives as long as the returned descriptor (and goes with the process, however it ends).
 * Returns the descriptor, or -1 after logging why (another process holds it: its pid named). */
int cd_dirlock_take(const char *dir);

/* Releases a lock taken by cd_dirlock_take (fd < 0: nothing to do). */
void cd_dirlock_release(int fd);

#endif
