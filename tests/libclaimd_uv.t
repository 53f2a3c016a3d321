#!/bin/bash
# libclaimd_uv.t: examples/uv_client (libuv owns the socket; libclaimd's claimd_reader and
# claimd_encode_request do the protocol, no blocking call) against a real daemon: three
# pipelined requests, the change notification of its claim.put, then claim.get; once with
# libuv's own read size and once fed one byte at a time.
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/tap.sh"
. "$HERE/lib/daemon.sh"
UV="$CLAIMD_BUILD/examples/uv_client"
[ -x "$UV" ] && [ -x "$CLAIMD_BIN" ] && [ -x "$CLAIMCTL" ] || bail_out "build everything first (make)"
trap daemon_cleanup EXIT
check "daemon starts" start_daemon
[ -n "$CLAIMD_PID" ] || done_testing

OUT=$("$UV" --socket "$CLAIMD_SOCKET" "A claim sent through libuv" 2>&1)
is "$?" 0 "uv_client exits 0" || echo "$OUT" | sed 's/^/# /'
like "$OUT" "^ping version=[0-9.]+ protocol=1$" "ping's reply"
like "$OUT" "^subscribed subscription=[1-9]" "subscribe's reply"
like "$OUT" "^put id=1 created=1$" "claim.put's reply"
like "$OUT" "^change op=claim.create type=claim id=1$" "the change notification of the put"
like "$OUT" "^get id=1 text=A claim sent through libuv$" "claim.get after both"

OUT=$("$UV" --socket "$CLAIMD_SOCKET" --read-size 1 "Fed to the reader byte by byte" 2>&1)
is "$?" 0 "with 1-byte reads: exits 0" || echo "$OUT" | sed 's/^/# /'
like "$OUT" "^change op=claim.create type=claim id=2$" "the notification reassembled"
like "$OUT" "^get id=2 text=Fed to the reader byte by byte$" "and the reply"
is "$("$CLAIMCTL" get 2 | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["text"])')" \
   "Fed to the reader byte by byte" "the daemon stored it (claimctl get)"

OUT=$("$UV" --socket "$CLAIMD_TMP/nothing.sock" 2>&1)
is "$?" 1 "no daemon: exit 1"
like "$OUT" "connect: " "with the reason"
done_testing
