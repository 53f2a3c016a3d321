#!/bin/bash
# libclaimd_install.t (issue 14.4): `make install DESTDIR=... PREFIX=/usr` lays the library out
# as distributions ship it (libclaimd.so -> libclaimd.so.0 -> libclaimd.so.0.x.y, a claimd.pc
# that says /usr), then a program is built from the installed files alone with
# `pkg-config --cflags --libs claimd`, once against the shared library and once against the
# static one (`pkg-config --static`), and both run against a real daemon, reporting the
# runtime version pkg-config announced.
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
. "$HERE/lib/tap.sh"
. "$HERE/lib/daemon.sh"
[ -x "$CLAIMCTL" ] && [ -x "$CLAIMD_BIN" ] || bail_out "build claimd and claimctl first (make)"
trap 'daemon_cleanup; rm -rf "$ROOT"' EXIT
ROOT=$(mktemp -d "${TMPDIR:-/tmp}/claimd-install.XXXXXX")
# unlike GOT PATTERN NAME: passes when no line of GOT matches PATTERN.
unlike() {
    if printf '%s' "$1" | grep -Eq -- "$2"; then
        ok "" "$3"
        echo "#   got:          '$1'"
        echo "#   not to match: '$2'"
        return 1
    fi
    ok 1 "$3"
}
SAN_FLAGS=""
[ -n "$CLAIMD_SANITIZED" ] && SAN_FLAGS="-fsanitize=$CLAIMD_SANITIZED"

# Run make as a user would, not with the variables of the `make test` around this test.
env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s -C "$REPO" BUILD="$CLAIMD_BUILD" \
    SANITIZE="$CLAIMD_SANITIZED" install DESTDIR="$ROOT" PREFIX=/usr >"$ROOT.log" 2>&1
RC=$?
is "$RC" 0 "make install DESTDIR=... PREFIX=/usr"
[ $RC = 0 ] || sed 's/^/# /' "$ROOT.log"
rm -f "$ROOT.log"

LIB="$ROOT/usr/lib"
VERSION=$(sed -n 's/^#define CLAIMD_VERSION_\(MAJOR\|MINOR\|PATCH\) //p' "$REPO/include/claimd.h" |
          paste -sd.)
is "$(readlink "$LIB/libclaimd.so")" "libclaimd.so.0" "libclaimd.so -> libclaimd.so.0"
is "$(readlink "$LIB/libclaimd.so.0")" "libclaimd.so.$VERSION" \
   "libclaimd.so.0 -> libclaimd.so.$VERSION"
ok "$([ -f "$LIB/libclaimd.so.$VERSION" ] && [ ! -L "$LIB/libclaimd.so.$VERSION" ] && echo 1)" \
   "libclaimd.so.$VERSION is the real file"
ok "$([ -f "$LIB/libclaimd.a" ] && [ -f "$ROOT/usr/include/claimd.h" ] && echo 1)" \
   "libclaimd.a and claimd.h installed"
like "$(cat "$LIB/pkgconfig/claimd.pc")" "^prefix=/usr$" "claimd.pc says prefix=/usr"
unlike "$(cat "$LIB/pkgconfig/claimd.pc")" "/usr/local|$ROOT" "and nothing of another prefix"

# pkg-config as on a system with the package installed, the sysroot standing in for /.
export PKG_CONFIG_SYSROOT_DIR="$ROOT" PKG_CONFIG_PATH="$LIB/pkgconfig"
is "$(pkg-config --modversion claimd)" "$VERSION" "pkg-config --modversion claimd"
CFLAGS_PC=$(pkg-config --cflags claimd)
LIBS_PC=$(pkg-config --libs claimd)
STATIC_PC=$(pkg-config --static --libs claimd)
like "$LIBS_PC" "-L$LIB( |$)" "--libs points into the installed tree ($LIBS_PC)"
like "$STATIC_PC" "-lmsgpackc" "--static adds msgpack ($STATIC_PC)"

SRC="$HERE/install/installed_client.c"
OUT="$ROOT/build"
mkdir -p "$OUT"
cc -std=c11 -Wall -Wextra -Werror $SAN_FLAGS $CFLAGS_PC -o "$OUT/shared" "$SRC" $LIBS_PC 2>"$OUT/cc.log"
is "$?" 0 "builds against the shared library" || sed 's/^/# /' "$OUT/cc.log"
# The static build: the same flags with libclaimd.a taken instead of the .so next to it.
cc -std=c11 -Wall -Wextra -Werror $SAN_FLAGS $CFLAGS_PC -o "$OUT/static" "$SRC" \
    ${STATIC_PC/-lclaimd/-l:libclaimd.a} 2>"$OUT/cc.log"
is "$?" 0 "builds against the static library (pkg-config --static)" || sed 's/^/# /' "$OUT/cc.log"
like "$(readelf -d "$OUT/shared")" "NEEDED.*\[libclaimd.so.0\]" "the shared build needs libclaimd.so.0"
unlike "$(readelf -d "$OUT/static")" "libclaimd" "the static build needs no libclaimd.so"

check "daemon starts" start_daemon
[ -n "$CLAIMD_PID" ] || done_testing
OUTPUT=$(LD_LIBRARY_PATH="$LIB" "$OUT/shared" 2>&1)
is "$?" 0 "the shared build runs against the daemon" || echo "$OUTPUT" | sed 's/^/# /'
is "$(echo "$OUTPUT" | sed -n 's/^runtime //p')" "$VERSION" "runtime version = pkg-config's"
like "$(LD_LIBRARY_PATH="$LIB" ldd "$OUT/shared")" "libclaimd.so.0 => $LIB/libclaimd.so.0" \
     "and it loaded the installed libclaimd.so.0"
like "$OUTPUT" "get text=A claim from a program built against the installed library" \
     "claim.put, verdict.add and claim.get round-trip"
OUTPUT=$("$OUT/static" "The static build's own claim" 2>&1)
is "$?" 0 "the static build runs against the daemon" || echo "$OUTPUT" | sed 's/^/# /'
is "$(echo "$OUTPUT" | sed -n 's/^runtime //p')" "$VERSION" "its runtime version too"
like "$OUTPUT" "put id=2 created=1" "its claim is the daemon's second"
done_testing
