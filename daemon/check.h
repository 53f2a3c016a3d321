/* check: `claimd --check DIR`, an offline walk of every table that reports damage. */
#ifndef CD_CHECK_H
#define CD_CHECK_H

/* Opens dir's database read-only, walks every table (every key and value), decodes and
 * validates every record and checks that index entries point at records that exist; prints
 * each damage found and a summary to stdout. Returns the process exit status: 0 no damage,
 * 1 damage found, 2 the data could not be opened at all. */
int cd_check_run(const char *dir);

#endif
