/* dirlock: two daemons on one LMDB environment would each run an index pass and a writer over
 * the same file (one of them spun a core forever); the second must refuse before it opens the
 * environment. flock, not fcntl: LMDB takes fcntl locks of its own in lock.mdb, and flock locks
 * belong to the open file, so nothing else this process closes can drop ours. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>
#include "dirlock.h"
#include "log.h"

int cd_dirlock_take(const char *dir)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/claimd.lock", dir) >= sizeof path) {
        cd_error("data directory path too long: %s", dir);
        return -1;
    }
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) {
        cd_error("cannot open lock file %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int err = errno;
        char buf[32] = { 0 };
        ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
        long pid = 0;
        if (n > 0) sscanf(buf, "%ld", &pid);
        close(fd);
        if (err == EWOULDBLOCK && pid > 0)
            cd_error("data directory %s is in use by another claimd (pid %ld, lock %s); refusing to start",
                     dir, pid, path);
        else if (err == EWOULDBLOCK)
            cd_error("data directory %s is in use by another claimd (pid not yet written in %s); refusing to start",
                     dir, path);
        else
            cd_error("cannot lock %s: %s", path, strerror(err));
        return -1;
    }
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
    if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)len, 0) != len)
        cd_warn("cannot write our pid into %s: %s", path, strerror(errno));
    return fd;
}

void cd_dirlock_release(int fd)
{
    if (fd >= 0) close(fd);   /* the lock goes with the last descriptor of the open file */
}
