#!/bin/bash
# bench_smoke.t: builds claimbench and runs its --smoke suite (2k claims, short runs) so the
# benchmark keeps compiling and working: every figure of the table is measured or says why not,
# the JSON results parse and carry the machine and the import checkpoints, the whole run stays
# under 30 s, and bench/scale.py makes the growth table and a well-formed SVG from the results.
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
# Batches of 100, so the 2k-claim import crosses each of its 20 checkpoints in its own reply.
"$BUILD/claimbench" --smoke --batch=100 --claimd "$BUILD/claimd" --json "$T/smoke.json" --dir "$T" \
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

# The import checkpoints (bench/README.md, "Scale"): 20 points each for claimd and SQLite's
# load, claims and seconds growing, the last at the whole corpus, bytes on disk measured.
check_series() {
    "$PY" - "$T/smoke.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
bad = []
for name, npts in (("claimd_import", 20), ("sqlite_load", 20)):
    s = r.get("series", {}).get(name)
    if not s or len(s) != npts:
        bad.append("%s: %s points" % (name, len(s) if s else 0)); continue
    if s[-1]["claims"] != r["claims"]:
        bad.append("%s ends at %s claims" % (name, s[-1]["claims"]))
    for a, b in zip(s, s[1:]):
        if not (b["claims"] > a["claims"] and b["seconds"] >= a["seconds"] > 0):
            bad.append("%s: %s then %s" % (name, a, b)); break
    if not all((p["disk_bytes"] or 0) > 0 for p in s):
        bad.append(name + ": bytes on disk missing")
if not all((p["data_bytes"] or 0) > 0 for p in r.get("series", {}).get("claimd_import", [])):
    bad.append("claimd_import: bytes_used missing")
if not (r["info"].get("claimbench.peak_rss_kb") or 0) > 0:
    bad.append("claimbench.peak_rss_kb")
if r["info"].get("corpus.text_bytes", 0) < 50 * r["claims"]:
    bad.append("corpus.text_bytes %s" % r["info"].get("corpus.text_bytes"))
print("\n".join("# bad: " + b for b in bad))
sys.exit(1 if bad else 0)
PY
}
check "the JSON has the import checkpoints of claimd and SQLite" check_series

# bench/scale.py turns results into the growth table and a well-formed two-panel SVG.
S=$(mktemp -d "${TMPDIR:-/tmp}/bench-scale.XXXXXX")
trap 'rm -rf "$T" "$S"' EXIT
cp "$T/smoke.json" "$S/claims-2000.json"
"$PY" - "$T/smoke.json" "$S/claims-4000.json" <<'PY'
import json, sys
# A second size made from the first (scaled claims), to exercise the growth columns.
r = json.load(open(sys.argv[1]))
r["claims"] = 4000
for s in r["series"].values():
    for p in s:
        p["claims"] *= 2
json.dump(r, open(sys.argv[2], "w"))
PY
"$PY" "$REPO/bench/scale.py" --results "$S" --svg "$S/scale.svg" 2000 4000 >"$S/table" 2>"$S/err"
is "$?" 0 "bench/scale.py exits 0" || sed 's/^/# /' "$S/err"
like "$(cat "$S/table")" "\| figure \| unit \| side \| 2k \| 4k \| 4k / 2k \|" "the growth table has a column per size"
like "$(cat "$S/table")" "\| bulk import, libclaimd pipelined claim.import \| claims/s \| claimd \| [0-9]" \
    "the growth table has the import row"
like "$(cat "$S/table")" "\|  \| MiB \| SQLite file" "the size row has the SQLite peer"
check_svg() {
    "$PY" - "$S/scale.svg" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
ns = "{http://www.w3.org/2000/svg}"
bad = []
if root.tag != ns + "svg" or root.get("width") != "800":
    bad.append("root %s width %s" % (root.tag, root.get("width")))
texts = " ".join(t.text or "" for t in root.iter(ns + "text"))
for want in ("Import rate", "Size on disk", "claims loaded", "claims/s", "MiB on disk",
             "claimd, 2k run", "SQLite, 4k run", "SQLite file + WAL, 2k"):
    if want not in texts:
        bad.append("no text " + want)
# one line per (run, system) in the rate panel and three per run in the size panel
paths = [p for p in root.iter(ns + "path") if p.get("d", "").count("L") >= 10]
if len(paths) < 2 * 2 + 3 * 2:
    bad.append("%d data lines" % len(paths))
print("\n".join("# bad: " + b for b in bad))
sys.exit(1 if bad else 0)
PY
}
check "the plot is a well-formed 800px SVG with both panels, labelled axes and a legend" check_svg
"$PY" "$REPO/bench/scale.py" --results "$S" --svg "" 2000 123 >/dev/null 2>"$S/err"
rc=$?
ok "$([ "$rc" -ne 0 ] && echo 1)" "bench/scale.py fails on a size without results"
like "$(cat "$S/err")" "claims-123.json" "and names the missing file"
done_testing
