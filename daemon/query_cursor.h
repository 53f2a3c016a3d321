/* query_cursor: the claim.query cursor, opaque to clients. It is the hex of 26 bytes:
 *   order(1) then the last index key examined, kind(1) value(8) said(8) id(8) (index.h),
 * so a later page continues strictly after that key. Also accepted as the raw 26 bytes (bin).
 * Pure functions: no LMDB, no calls, so tests/fuzz/fuzz_query_cursor.c links only this file. */
#ifndef CD_QUERY_CURSOR_H
#define CD_QUERY_CURSOR_H

#include <stddef.h>
#include "index.h"

/* The orders of claim.query, as the cursor's first byte stores them. */
enum { CD_QUERY_SAID_DESC = 0, CD_QUERY_SAID_ASC, CD_QUERY_RECORDED_DESC, CD_QUERY_ORDERS };

#define CD_QUERY_CURSOR_RAW (1 + CD_IDX_KEY)          /* bytes of the raw form */
#define CD_QUERY_CURSOR_HEX (2 * CD_QUERY_CURSOR_RAW) /* characters of the hex form */

/* A decoded cursor: the order it was made for and the index key to continue after. */
typedef struct {
    int order;
    unsigned char key[CD_IDX_KEY];
} cd_query_cursor;

/* Writes cur's raw form (order byte, then the key) into raw. */
void cd_query_cursor_raw(const cd_query_cursor *cur, unsigned char raw[CD_QUERY_CURSOR_RAW]);

/* Writes cur as lower-case hex into hex (not NUL-terminated): the form claim.query returns. */
void cd_query_cursor_encode(const cd_query_cursor *cur, char hex[CD_QUERY_CURSOR_HEX]);

/* Decodes p[0..n), the raw form (n == CD_QUERY_CURSOR_RAW) or the lower-case hex form
 * (n == CD_QUERY_CURSOR_HEX), into *cur. 0, or -1 when it is not a cursor claim.query makes (an
 * unknown order or index kind, a by-recorded key for a said order or the reverse, id 0). Whether
 * it fits the request (its order and index) is the caller's check. */
int cd_query_cursor_decode(const void *p, size_t n, cd_query_cursor *cur);

#endif
