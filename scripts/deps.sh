#!/bin/sh
# Installs the Debian packages claimd needs to build and test, only those missing.
# Usage: scripts/deps.sh [build|test|bench]   (each level includes the previous ones)
set -eu
level=${1:-build}
pkgs="build-essential pkg-config liblmdb-dev libuv1-dev libmsgpack-dev libutf8proc-dev libstemmer-dev libjansson-dev libnats-dev libicu-dev libhunspell-dev libzstd-dev"
dicts="hunspell-uk hunspell-pl hunspell-cs hunspell-bg hunspell-be hunspell-sk hunspell-kk"
case "$level" in
  test)  pkgs="$pkgs $dicts nats-server python3 python3-msgpack python3-pip python3-setuptools python3-wheel perl lmdb-utils valgrind clang libclang-rt-14-dev util-linux" ;;
  bench) pkgs="$pkgs $dicts nats-server python3 python3-msgpack python3-pip python3-setuptools python3-wheel perl lmdb-utils valgrind clang libclang-rt-14-dev util-linux sqlite3 libsqlite3-dev redis-server redis-tools" ;;
esac
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >&2
