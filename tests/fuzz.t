#!/bin/sh
# fuzz.t: a short, bounded libFuzzer run of every harness tests/fuzz/fuzz_NAME.c (built by the
# Makefile's rule for $(BUILD)/fuzz/fuzz_NAME, seeds in tests/fuzz/corpus/NAME). Each runs
# CLAIMD_FUZZ_SECONDS (default 10) on a scratch copy of its corpus, so the repo is not touched.
# Reports executions and crashes as TAP diagnostics ("# fuzz_NAME: executions=N crashes=N").
# The long runs are `make fuzz` (FUZZ_SECONDS=300 each). Skipped without clang.
set -u
here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
build=${CLAIMD_BUILD:-$repo/build}
secs=${CLAIMD_FUZZ_SECONDS:-10}

if ! command -v clang >/dev/null 2>&1; then
    echo "1..0 # SKIP clang is missing (apt-get install clang)"
    exit 0
fi
srcs=$(ls "$repo"/tests/fuzz/fuzz_*.c 2>/dev/null)
if [ -z "$srcs" ]; then
    echo "1..0 # SKIP no fuzz harnesses in tests/fuzz"
    exit 0
fi
echo "1..$(( $(echo "$srcs" | wc -l) * 2 ))"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/claimd-fuzz-t.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
n=0
total_execs=0
total_crashes=0
for src in $srcs; do
    name=$(basename "$src" .c)
    short=${name#fuzz_}
    bin=$build/fuzz/$name
    n=$((n + 1))
    if ! make -s -C "$repo" BUILD="$build" "$bin" >"$tmp/$name.build" 2>&1; then
        if grep -q "No rule to make target" "$tmp/$name.build"; then
            echo "ok $n - $name builds # SKIP the Makefile has no rule for \$(BUILD)/fuzz/$name yet"
            n=$((n + 1))
            echo "ok $n - $name runs without crashes # SKIP not built"
            continue
        fi
        echo "not ok $n - $name builds"
        tail -n 20 "$tmp/$name.build" | sed 's/^/# /'
        n=$((n + 1))
        echo "ok $n - $name runs without crashes # SKIP not built"
        continue
    fi
    echo "ok $n - $name builds"

    mkdir -p "$tmp/corpus-$short" "$tmp/artifacts-$short"
    seeds="$repo/tests/fuzz/corpus/$short"
    [ -d "$seeds" ] || seeds=
    "$bin" -max_total_time="$secs" -max_len=4096 -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$tmp/artifacts-$short/" "$tmp/corpus-$short" $seeds >"$tmp/$name.log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$tmp/$name.log" | tail -n 1)
    [ -n "$execs" ] || execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$tmp/$name.log" | tail -n 1)
    crashes=$(ls "$tmp/artifacts-$short" | wc -l)
    echo "# $name: executions=${execs:-0} crashes=$crashes seconds=$secs corpus=$(ls "$tmp/corpus-$short" | wc -l) exit=$rc"
    total_execs=$((total_execs + ${execs:-0}))
    total_crashes=$((total_crashes + crashes))
    n=$((n + 1))
    if [ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ] && [ "${execs:-0}" -gt 0 ]; then
        echo "ok $n - $name runs ${secs}s without crashes (${execs} executions)"
    else
        echo "not ok $n - $name runs ${secs}s without crashes"
        grep -E "ERROR|SUMMARY|#[0-9]+ +0x|artifact" "$tmp/$name.log" | head -n 30 | sed 's/^/# /'
        for a in "$tmp/artifacts-$short"/*; do
            [ -f "$a" ] || continue
            mkdir -p "$build/fuzz"
            cp "$a" "$build/fuzz/" && echo "# kept $build/fuzz/$(basename "$a") (base64: $(head -c 256 "$a" | base64 -w0))"
        done
    fi
done
echo "# fuzz total: executions=$total_execs crashes=$total_crashes"
