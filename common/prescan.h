/* prescan: bounded validation of one MessagePack object at the front of a byte buffer.
 *
 * msgpack-c allocates arrays and maps from their header counts, so bytes from a socket must be
 * checked before msgpack_unpack sees them: this scanner walks the encoding without allocating,
 * rejects counts that cannot fit in the bytes allowed, enforces a nesting limit, and reports the
 * exact length of a complete object. Used by the daemon on requests and by the client on replies.
 */
#ifndef CLAIMD_PRESCAN_H
#define CLAIMD_PRESCAN_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CD_SCAN_OK = 0,       /* a complete, well-formed object of *object_len bytes is at buf[0] */
    CD_SCAN_NEED_MORE,    /* well-formed so far, but the object continues past len */
    CD_SCAN_TOO_LARGE,    /* the object is, or by its headers must be, longer than max_bytes */
    CD_SCAN_TOO_DEEP,     /* arrays/maps nest deeper than max_depth */
    CD_SCAN_MALFORMED     /* a byte that can never start a MessagePack value (0xc1) */
} cd_scan_result;

/* Scans buf[0..len) for one object of at most max_bytes bytes and max_depth nesting (the top
 * level array/map is depth 1). Never allocates; O(len) time; sets *object_len only on CD_SCAN_OK.
 * A header whose element count could not fit in max_bytes (each element takes >= 1 byte, each
 * map pair >= 2) is CD_SCAN_TOO_LARGE at once, before its elements have arrived. */
cd_scan_result cd_prescan(const char *buf, size_t len, size_t max_bytes, unsigned max_depth,
                          size_t *object_len);

/* Like cd_prescan, and also CD_SCAN_TOO_LARGE once the containers announce more than
 * max_elements elements in all (a map pair counts two). The unpacked form of an object costs
 * about 24 bytes per element, so this bounds what unpacking allocates by the element count
 * rather than only by the bytes received (a 16 MiB array of nils would be 400 MB). */
cd_scan_result cd_prescan_bounded(const char *buf, size_t len, size_t max_bytes, unsigned max_depth,
                                  uint64_t max_elements, size_t *object_len);

/* Like cd_prescan_bounded, and on CD_SCAN_OK stores in *elements (when not NULL) how many values
 * the object holds in all, itself included: what unpacking it will allocate objects for. */
cd_scan_result cd_prescan_counted(const char *buf, size_t len, size_t max_bytes, unsigned max_depth,
                                  uint64_t max_elements, size_t *object_len, uint64_t *elements);

/* Best effort: if buf starts like a msgpack-rpc request ([0, msgid, ...]) and the msgid has
 * arrived, stores it in *msgid and returns 1; else 0. Lets the daemon answer a request it will not
 * unpack (too large, too deep) with an error that names the request. */
int cd_prescan_msgid(const char *buf, size_t len, uint32_t *msgid);

/* A short static name for a scan result, for logs and tests. */
const char *cd_scan_result_name(cd_scan_result r);

#endif
