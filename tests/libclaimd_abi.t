#!/bin/bash
# libclaimd_abi.t: libclaimd.so exports the public API and nothing else: every dynamic symbol
# is claimd_*, under the version node CLAIMD_0; every CLAIMD_API function of include/claimd.h is
# exported (so none lacks its definition or its CLAIMD_API); the soname is libclaimd.so.0 and
# the library leaves nothing of its own undefined (-z defs) and needs only libc and msgpack-c.
# libclaimd.a has the same global symbols (its internals localised).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/tap.sh"
: "${CLAIMD_BUILD:=$HERE/../build}"
SO="$CLAIMD_BUILD/libclaimd.so"
[ -f "$SO" ] || bail_out "build libclaimd.so first (make)"

defined=$(nm -D --defined-only "$SO" | awk '{print $3}' | sed 's/@.*//' | sort -u)
leaked=$(echo "$defined" | grep -v '^claimd_' | grep -v '^CLAIMD_0$')
is "$leaked" "" "every exported symbol starts with claimd_"
ok "$([ "$(echo "$defined" | grep -c '^claimd_')" -ge 80 ] && echo 1)" \
   "and the API is there ($(echo "$defined" | grep -c '^claimd_') functions)"

declared=$(grep -o 'CLAIMD_API [^(]*(' "$HERE/../include/claimd.h" | grep -o 'claimd_[a-z0-9_]*($' |
           tr -d '(' | sort -u)
missing=$(comm -23 <(echo "$declared") <(echo "$defined"))
is "$missing" "" "every CLAIMD_API declaration of claimd.h is exported"
undeclared=$(comm -13 <(echo "$declared") <(echo "$defined" | grep '^claimd_'))
is "$undeclared" "" "and every exported symbol is declared with CLAIMD_API"
api_lines=$(grep -cE '^(const |void|int|uint|size_t|claimd_)[^;]*\bclaimd_[a-z0-9_]*\(' \
            "$HERE/../include/claimd.h")
is "$api_lines" 0 "no declaration in claimd.h without CLAIMD_API"

unversioned=$(objdump -T "$SO" | awk '$NF ~ /^claimd_/ && $(NF-1) != "CLAIMD_0"')
is "$unversioned" "" "every claimd_ symbol has the version CLAIMD_0"
like "$(readelf -d "$SO")" "Library soname: \[libclaimd.so.0\]" "soname libclaimd.so.0"
undefined=$(nm -D --undefined-only "$SO" | awk '{print $2}' | grep -e '^cd_' -e '^claimd_')
is "$undefined" "" "no undefined symbol of its own (-z defs links everything in)"
needed=$(readelf -d "$SO" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' |
         grep -v -e '^libc\.so' -e '^libmsgpackc\.so' -e '^libasan\.so' -e '^libubsan\.so' \
                 -e '^libm\.so' -e '^libgcc_s\.so' -e '^libstdc++\.so')
is "$needed" "" "it needs only libc and msgpack-c (and the sanitizer runtimes when sanitized)"

# The static library: the same API, its internal symbols local (no cd_* to clash with).
A="$CLAIMD_BUILD/libclaimd.a"
globals=$(nm --defined-only -g "$A" | awk 'NF == 3 {print $3}' | sort -u)
is "$(echo "$globals" | grep -v '^claimd_')" "" "libclaimd.a defines only claimd_* globally"
is "$(comm -3 <(echo "$globals") <(echo "$defined" | grep '^claimd_'))" "" \
   "the same claimd_* set as libclaimd.so"
done_testing
