/* wire_values: the contract's rules for values as they arrive, applied once to a whole request.
 *
 * MessagePack libraries differ in how they encode the same value: some pack text as bin, some
 * pack large integers as float64. Rather than teach every getter every encoding, a request's
 * params are rewritten in place into the one form the methods read, before any method sees them:
 * bin that is valid UTF-8 becomes str, an integral float within +-2^53 becomes an integer, and a
 * map with a key given twice is refused. */
#ifndef CD_WIRE_VALUES_H
#define CD_WIRE_VALUES_H

#include <msgpack.h>
#include "call.h"

/* Rewrites o and everything inside it: valid-UTF-8 bin -> str (keys and values; bin that is not
 * UTF-8 stays bin, so a getter expecting text refuses it with its field, while a binary cursor
 * still passes), integral floats with |v| <= 2^53 -> integers. A duplicate key, or a bin key that
 * is not UTF-8, records `invalid` naming the key's path on c and returns -1; else 0. */
int cd_wire_normalize(cd_call *c, msgpack_object *o);

/* Bin that is valid UTF-8 becomes str in place (for the method name); 1 when o is text now. */
int cd_wire_text(msgpack_object *o);

/* An integral float with |v| <= 2^53 becomes an integer in place; others are left as they are. */
void cd_wire_integral(msgpack_object *o);

#endif
