#!/bin/bash
# bench_smoke.t: builds claimbench and runs its --smoke suite (2k claims, short runs) so the
# benchmark keeps compiling and working: every figure of the table is measured or says why not,
# the JSON results parse and carry the machine, and the whole run stays under 30 s.
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
. "$HERE/lib/tap.sh"
BUILD=${CLAIMD_BUILD:-$REPO/build}
PY=/usr/bin/python3

[ -x "$BUILD/claimd" ] || bail_out "build claimd first (make)"
# The peers come from Debian (scripts/deps.sh bench); without them there is nothing to compare.
if ! [ -f /usr/include/sqlite3.h ] || ! command -v redis-server >/dev/null ||
   ! command -v redis-benchmark >/dev/null; then
    "$REPO/scripts/deps.sh" bench >/dev/null 2>&1
fi
if ! [ -f /usr/include/sqlite3.h ] || ! command -v redis-benchmark >/dev/null; then
    echo "1..0 # SKIP the bench's peers (libsqlite3-dev, redis) are not installed"
    exit 0
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/bench-smoke.XXXXXX")
trap 'rm -rf "$T"' EXIT

check "claimbench builds" make -s -C "$REPO" BUILD="$BUILD" "$BUILD/claimbench"

start=$(date +%s)
"$BUILD/claimbench" --smoke --claimd "$BUILD/claimd" --json "$T/smoke.json" --dir "$T" \
    >"$T/out" 2>"$T/err"
rc=$?
elapsed=$(( $(date +%s) - start ))
is "$rc" 0 "claimbench --smoke exits 0" || sed 's/^/# /' "$T/err" | tail -20
ok "$([ "$elapsed" -lt 30 ] && echo 1)" "the smoke run takes under 30 s (took ${elapsed}s)"
like "$(cat "$T/out")" "\| figure \| unit \| claimd \| peer \|" "prints the table header"
like "$(cat "$T/out")" "targets: [0-9]+ hold, [0-9]+ do not" "prints the target summary"

# Checks the JSON: the figures that the daemon can serve today are measured with their peer
# (positive numbers and a ratio), and every other figure carries a reason.
check_json() {
    "$PY" - "$T/smoke.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
figs = {f["id"]: f for f in r["figures"]}
bad = []
for fid in ("import_rate", "disk_size", "get_rtt_p50", "get_rtt_p99", "get_32c_rps",
            "get_32c_p16_rps", "put_1c_rps", "put_64c_rps", "put_group_gain"):
    f = figs.get(fid)
    if not f or not (f["claimd"] or 0) > 0 or not (f["peer"] or 0) > 0 or not (f["ratio"] or 0) > 0:
        bad.append(fid)
for fid in ("mem_peak_rss", "mem_anon_import", "mem_anon_64c"):
    if not (figs.get(fid, {}).get("claimd") or 0) > 0:
        bad.append(fid)
for f in r["figures"]:
    if f["claimd"] is None and not f["note"]:
        bad.append(f["id"] + " (n/a without a reason)")
    if f["target"] is not None and f["holds"] is None and f["claimd"] is not None and f["ratio"] is not None:
        bad.append(f["id"] + " (target not judged)")
for fid in ("query_32c_rps", "search_rps"):
    f = figs.get(fid)
    if not f or (f["claimd"] is None and "n/a" not in f["note"]):
        bad.append(fid)
m = r.get("machine", {})
if not m.get("nproc") or not m.get("mem_total_kb") or not r.get("date"):
    bad.append("machine/date")
if r["claims"] != 2000 or not r["smoke"]:
    bad.append("size")
if bad:
    print("\n".join("# bad: " + b for b in bad))
sys.exit(1 if bad else 0)
PY
}
check "the JSON results carry every figure, its peer and ratio, and the machine" check_json
like "$(cat "$T/out")" "bulk import, libclaimd pipelined claim.import \| claims/s \| [0-9]" \
    "the import figure is in the table"
ok "$([ -z "$(ls "$T" | grep -v -e '^smoke.json$' -e '^out$' -e '^err$')" ] && echo 1)" \
    "claimbench removes its temp dir (daemons' data and sockets)"
ok "$(! pgrep -f "claimd --data $T" >/dev/null && echo 1)" "no daemon is left running"
done_testing
