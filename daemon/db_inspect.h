/* db_inspect: what is in a data directory, looked at read-only before claimd opens it to write. */
#ifndef CD_DB_INSPECT_H
#define CD_DB_INSPECT_H

/* Checks dir/data.mdb before the environment is opened for writing (which would create
 * tables, stamp a format and reserve the whole map on disk): a missing file is a new database;
 * a 0-byte file (data was expected), a file LMDB cannot read, an environment with named tables
 * but no claimd format stamp (another application's) and a claimd format newer than
 * CD_DB_FORMAT are refused. Opens read-only without a lock file, so nothing in dir changes.
 * Returns 0 when the directory may be opened, else an LMDB/errno code after logging why. */
int cd_db_inspect(const char *dir);

#endif
