/* m_backup: backup {path}: a consistent, compacted copy of the data (mdb_env_copy2 with
 * MDB_CP_COMPACT) taken from a read snapshot while the daemon keeps serving. Runs on the
 * thread pool (CD_M_SLOW). The copy is written to a temporary name, synced and renamed to
 * data.mdb, with the live file's mode (never wider than 0660). Restore: start claimd with --data pointing at the copy's directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "log.h"
#include "methods.h"
#include "params.h"
#include "server.h"

static int dir_is_empty(const char *path)
{
    DIR *d = opendir(path);
    if (!d) return 0;
    struct dirent *e;
    int empty = 1;
    while (empty && (e = readdir(d)))
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* The copy goes to a temporary name in the target directory and becomes data.mdb only when it
 * is whole and on disk (fsync, rename, fsync of the directory): a backup killed midway leaves
 * no data.mdb that a restore could take for a backup. */
#define PARTIAL_NAME ".data.mdb.partial"

/* The live data file's permission bits, never wider than owner read/write, group read/write:
 * a backup must not be readable by users the live database is closed to. */
static mode_t backup_mode(cd_server *srv)
{
    mdb_filehandle_t fd;
    struct stat st;
    if (mdb_env_get_fd(srv->db.env, &fd) || fstat(fd, &st) < 0) return 0600;
    return st.st_mode & 0660;
}

/* Writes the compacted copy into dirfd as data.mdb; 0 or an errno / LMDB code. */
static int write_copy(cd_server *srv, int dirfd)
{
    int fd = openat(dirfd, PARTIAL_NAME, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return errno;
    int rc = fchmod(fd, backup_mode(srv)) < 0 ? errno : 0;   /* as the live file, whatever the umask */
    if (!rc) rc = mdb_env_copyfd2(srv->db.env, fd, MDB_CP_COMPACT);
    if (!rc && fsync(fd) < 0) rc = errno;
    if (close(fd) < 0 && !rc) rc = errno;
    if (!rc && renameat(dirfd, PARTIAL_NAME, dirfd, "data.mdb") < 0) rc = errno;
    if (!rc && fsync(dirfd) < 0) rc = errno;
    if (rc) unlinkat(dirfd, PARTIAL_NAME, 0);
    return rc;
}

void cd_m_backup(cd_call *c, MDB_txn *txn)
{
    static const char *const allowed[] = { "path", NULL };
    cd_str p;
    (void)txn;
    if (cd_params_only(c, &c->params, NULL, allowed) ||
        cd_get_str(c, &c->params, NULL, "path", CD_REQUIRED, 4000, &p))
        return;
    char *path = cd_call_strndup(c, p.p, p.n);
    if (!path) { cd_fail(c, CLAIMD_E_INTERNAL, NULL, "out of memory"); return; }
    if (path[0] != '/') { cd_fail(c, CLAIMD_E_INVALID, "path", "must be an absolute directory path"); return; }
    /* The target is a new or empty directory, not a symlink (it could point anywhere, such as
     * into a directory other users read): never overwrite anything. */
    struct stat st;
    int created = 0;
    if (lstat(path, &st) == 0) {
        if (S_ISLNK(st.st_mode)) { cd_fail(c, CLAIMD_E_INVALID, "path", "%s is a symbolic link; give the real directory", path); return; }
        if (!S_ISDIR(st.st_mode)) { cd_fail(c, CLAIMD_E_INVALID, "path", "%s exists and is not a directory", path); return; }
        if (!dir_is_empty(path)) { cd_fail(c, CLAIMD_E_CONFLICT, "path", "%s is not empty", path); return; }
    } else if (mkdir(path, 0750) < 0) {
        cd_fail(c, CLAIMD_E_INVALID, "path", "cannot create directory: %s", strerror(errno));
        return;
    } else {
        created = 1;
    }
    /* O_NOFOLLOW: the directory checked above, not a symlink put in its place since. */
    int dirfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dirfd < 0) {
        cd_fail(c, CLAIMD_E_INVALID, "path", "cannot open %s: %s", path, strerror(errno));
        return;
    }
    int rc = write_copy(c->srv, dirfd);
    uint64_t bytes = !rc && fstatat(dirfd, "data.mdb", &st, AT_SYMLINK_NOFOLLOW) == 0 ? (uint64_t)st.st_size : 0;
    close(dirfd);
    if (rc) {
        if (created) rmdir(path);
        if (rc == ENOSPC || rc == EDQUOT) { cd_fail(c, CLAIMD_E_STORAGE_FULL, "path", "no space for the backup"); return; }
        cd_fail(c, CLAIMD_E_INTERNAL, "path", "backup failed: %s", mdb_strerror(rc));
        return;
    }
    cd_info("backup written to %s (%llu bytes)", path, (unsigned long long)bytes);
    msgpack_pack_map(&c->pk, 2);
    cd_pack_cstr(&c->pk, "path");
    cd_pack_cstr(&c->pk, path);
    cd_pack_cstr(&c->pk, "bytes");
    msgpack_pack_uint64(&c->pk, bytes);
}
