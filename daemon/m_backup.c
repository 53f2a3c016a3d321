/* m_backup: backup {path}: a consistent, compacted copy of the data (mdb_env_copy2 with
 * MDB_CP_COMPACT) taken from a read snapshot while the daemon keeps serving. Runs on the
 * thread pool (CD_M_SLOW). Restore: start claimd with --data pointing at the copy's directory. */
#include <dirent.h>
#include <errno.h>
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
    /* The target is a new or empty directory: never overwrite anything. */
    struct stat st;
    if (stat(path, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) { cd_fail(c, CLAIMD_E_INVALID, "path", "%s exists and is not a directory", path); return; }
        if (!dir_is_empty(path)) { cd_fail(c, CLAIMD_E_CONFLICT, "path", "%s is not empty", path); return; }
    } else if (mkdir(path, 0750) < 0) {
        cd_fail(c, CLAIMD_E_INVALID, "path", "cannot create directory: %s", strerror(errno));
        return;
    }
    char file[4096];
    snprintf(file, sizeof file, "%s/data.mdb", path);
    int rc = mdb_env_copy2(c->srv->db.env, path, MDB_CP_COMPACT);
    if (rc) {
        unlink(file);
        if (rc == ENOSPC || rc == EDQUOT) { cd_fail(c, CLAIMD_E_STORAGE_FULL, "path", "no space for the backup"); return; }
        cd_fail(c, CLAIMD_E_INTERNAL, "path", "backup failed: %s", mdb_strerror(rc));
        return;
    }
    uint64_t bytes = stat(file, &st) == 0 ? (uint64_t)st.st_size : 0;
    cd_info("backup written to %s (%llu bytes)", path, (unsigned long long)bytes);
    msgpack_pack_map(&c->pk, 2);
    cd_pack_cstr(&c->pk, "path");
    cd_pack_cstr(&c->pk, path);
    cd_pack_cstr(&c->pk, "bytes");
    msgpack_pack_uint64(&c->pk, bytes);
}
