#!/bin/sh
# fuzz.t: a short, bounded run of every harness tests/fuzz/fuzz_NAME.c (seeds in
# tests/fuzz/corpus/NAME), twice:
# - under libFuzzer (the Makefile's rule for $(BUILD)/fuzz/fuzz_NAME, clang, ASan+UBSan) for
#   CLAIMD_FUZZ_SECONDS (default 10) on a scratch copy of its corpus, so the repo is not touched;
#   skipped without clang;
# - standalone (tests/fuzz/standalone.c as main, $(BUILD)/fuzz/standalone/fuzz_NAME, built with the
#   build's compiler and sanitizers from its own objects): corpus replay, then random mutations for
#   CLAIMD_FUZZ_STANDALONE_SECONDS (default 3); skipped for a harness the Makefile has no
#   standalone rule for.
# Reports executions and crashes as TAP diagnostics ("# fuzz_NAME: executions=N crashes=N").
# The long runs are `make fuzz` (FUZZ_SECONDS=300 each).
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
build=${CLAIMD_BUILD:-$repo/build}
secs=${CLAIMD_FUZZ_SECONDS:-10}
standalone_secs=${CLAIMD_FUZZ_STANDALONE_SECONDS:-3}
sanitize=${CLAIMD_SANITIZED:-}
have_clang=1
command -v clang >/dev/null 2>&1 || have_clang=0

srcs=$(ls "$repo"/tests/fuzz/fuzz_*.c 2>/dev/null)
if [ -z "$srcs" ]; then
    echo "1..0 # SKIP no fuzz harnesses in tests/fuzz"
    exit 0
fi
echo "1..$(( $(echo "$srcs" | wc -l) * 4 ))"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/claimd-fuzz-t.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0
total_execs=0
total_crashes=0

# run_one LABEL BIN SHORT SECONDS KIND [MAKEARGS...]: builds BIN (two tests: builds, runs).
run_one() {
    label=$1 bin=$2 short=$3 run_secs=$4 kind=$5
    shift 5
    n=$((n + 1))
    if ! make -s -C "$repo" BUILD="$build" "$@" "$bin" >"$tmp/$label.build" 2>&1; then
        if grep -q "No rule to make target" "$tmp/$label.build"; then
            echo "ok $n - $label builds # SKIP the Makefile has no $kind rule for it"
        else
            echo "not ok $n - $label builds"
            tail -n 20 "$tmp/$label.build" | sed 's/^/# /'
        fi
        n=$((n + 1))
        echo "ok $n - $label runs without crashes # SKIP not built"
        return
    fi
    echo "ok $n - $label builds"

    corpus="$tmp/corpus-$label" artifacts="$tmp/artifacts-$label"
    mkdir -p "$corpus" "$artifacts"
    seeds="$repo/tests/fuzz/corpus/$short"
    [ -d "$seeds" ] || seeds=
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}abort_on_error=1" \
        "$bin" -max_total_time="$run_secs" -max_len=4096 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "$corpus" $seeds >"$tmp/$label.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$tmp/$label.log" | tail -n 1)
    [ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$tmp/$label.log" | tail -n 1)
    crashes=$(ls "$artifacts" | wc -l)
    echo "# $label: executions=${execs:-0} crashes=$crashes seconds=$run_secs exit=$rc"
    total_execs=$((total_execs + ${execs:-0}))
    total_crashes=$((total_crashes + crashes))
    n=$((n + 1))
    if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] && [ "${execs:-0}" -gt 0 ]; then
        echo "ok $n - $label runs ${run_secs}s without crashes (${execs} executions)"
    else
        echo "not ok $n - $label runs ${run_secs}s without crashes"
        grep -E "ERROR|SUMMARY|check failed|crashing input|#[0-9]+ +0x|artifact" "$tmp/$label.log" | head -n 30 | sed 's/^/# /'
        for a in "$artifacts"/*; do
            [ -f "$a" ] || continue
            mkdir -p "$build/fuzz"
            cp "$a" "$build/fuzz/$label-$(basename "$a")" &&
                echo "# kept $build/fuzz/$label-$(basename "$a") (base64: $(head -c 256 "$a" | base64 -w0))"
        done
    fi
}

for src in $srcs; do
    name=$(basename "$src" .c)
    short=${name#fuzz_}
    if [ "$have_clang" -eq 1 ]; then
        run_one "$name" "$build/fuzz/$name" "$short" "$secs" libFuzzer
    else
        n=$((n + 1)); echo "ok $n - $name builds # SKIP clang is missing (apt-get install clang)"
        n=$((n + 1)); echo "ok $n - $name runs without crashes # SKIP not built"
    fi
    run_one "$name-standalone" "$build/fuzz/standalone/$name" "$short" "$standalone_secs" standalone \
        SANITIZE="$sanitize"
done
echo "# fuzz total: executions=$total_execs crashes=$total_crashes"
