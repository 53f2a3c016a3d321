# daemon.sh: start and stop a private claimd for shell tests. Source it, then:
#
#   start_daemon [EXTRA CLAIMD ARGS...] || bail_out "daemon did not start"
#   trap daemon_cleanup EXIT
#   ... "$CLAIMCTL" ping ...        # $CLAIMD_SOCKET is exported, so claimctl finds the daemon
#   stop_daemon; echo "daemon exit status $?"
#
# Sets CLAIMD_BUILD (default <repo>/build), CLAIMD_BIN, CLAIMCTL, CLAIMD_TMP (a private temp
# dir), CLAIMD_SOCKET, CLAIMD_PID and CLAIMD_LOG (the daemon's stderr).

: "${CLAIMD_BUILD:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build}"
CLAIMD_BIN="$CLAIMD_BUILD/claimd"
CLAIMCTL="$CLAIMD_BUILD/claimctl"
CLAIMD_TMP=""
CLAIMD_PID=""

# Starts claimd on a new temp dir and waits until it answers ping (polling every 10 ms, at most
# 10 s). Returns 1, after showing the daemon's log as TAP comments, if it does not come up.
start_daemon() {
    CLAIMD_TMP=$(mktemp -d "${TMPDIR:-/tmp}/claimd-test.XXXXXX") || return 1
    export CLAIMD_SOCKET="$CLAIMD_TMP/s.sock"
    CLAIMD_LOG="$CLAIMD_TMP/claimd.log"
    "$CLAIMD_BIN" --data "$CLAIMD_TMP/data" --socket "$CLAIMD_SOCKET" "$@" 2>"$CLAIMD_LOG" &
    CLAIMD_PID=$!
    local tries=0
    while [ $tries -lt 1000 ]; do
        if ! kill -0 "$CLAIMD_PID" 2>/dev/null; then
            echo "# claimd exited during startup; its log:"
            sed 's/^/#   /' "$CLAIMD_LOG"
            CLAIMD_PID=""
            return 1
        fi
        if [ -S "$CLAIMD_SOCKET" ] && "$CLAIMCTL" ping >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.01
        tries=$((tries + 1))
    done
    echo "# claimd did not answer ping within 10 s; its log:"
    sed 's/^/#   /' "$CLAIMD_LOG"
    return 1
}

# Sends SIGTERM and waits (at most 10 s, then SIGKILL). Returns the daemon's exit status.
stop_daemon() {
    [ -n "$CLAIMD_PID" ] || return 0
    local pid=$CLAIMD_PID tries=0 status
    CLAIMD_PID=""
    kill -TERM "$pid" 2>/dev/null
    while kill -0 "$pid" 2>/dev/null && [ $tries -lt 1000 ]; do
        sleep 0.01
        tries=$((tries + 1))
    done
    if kill -0 "$pid" 2>/dev/null; then
        echo "# claimd ignored SIGTERM for 10 s: killing it"
        kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null
    status=$?
    return $status
}

# For `trap daemon_cleanup EXIT`: stops the daemon if it still runs and removes the temp dir.
daemon_cleanup() {
    stop_daemon
    [ -n "$CLAIMD_TMP" ] && rm -rf "$CLAIMD_TMP"
    CLAIMD_TMP=""
}
