/* record_valid: checks on records read back from disk, so damage is reported, never served. */
#ifndef CD_RECORD_VALID_H
#define CD_RECORD_VALID_H

#include <lmdb.h>
#include "call.h"

/* The number of names before the NULL that ends a name table (cd_medium_names...). */
size_t cd_names_count(const char *const *names);

/* Each checks one stored field and returns 0, or -1 with internal error "damaged record: field
 * NAME ..." set on the call. */
/* A string, or nil when !required. */
int cd_rv_str(cd_call *c, const msgpack_object *o, const char *field, int required);
/* A non-negative integer. */
int cd_rv_uint(cd_call *c, const msgpack_object *o, const char *field);
/* An integer (either sign). */
int cd_rv_int(cd_call *c, const msgpack_object *o, const char *field);
/* true or false. */
int cd_rv_bool(cd_call *c, const msgpack_object *o, const char *field);
/* An index into a name table of count names, or -1 when none_ok (the "not set" value). */
int cd_rv_enum(cd_call *c, const msgpack_object *o, const char *field, size_t count, int none_ok);
/* An array (of any size: the bytes bounded it already, see cd_rec_unpack). */
int cd_rv_array(cd_call *c, const msgpack_object *o, const char *field);

/* Logs that the record under key in table failed (the call's error says why) and returns -1;
 * the call's error stays internal. Loaders call it, as only they know table and key. */
int cd_rec_report(cd_call *c, const char *table, const MDB_val *key);

#endif
