#!/bin/bash
# claimctl.t: claimctl against a real daemon: add/get/verdict/entity/call output and exit codes,
# error lines, and import of a JSONL file with bad lines (rejects file, summary, exit status).
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/lib/tap.sh"
. "$HERE/lib/daemon.sh"

[ -x "$CLAIMCTL" ] && [ -x "$CLAIMD_BIN" ] || bail_out "build claimd and claimctl first (make)"
trap daemon_cleanup EXIT
check "daemon starts and answers ping" start_daemon
[ -n "$CLAIMD_PID" ] || done_testing
T=$CLAIMD_TMP

# run ARGS...: runs claimctl; sets OUT (stdout), ERR (stderr) and RC (exit status).
run() {
    OUT=$("$CLAIMCTL" "$@" 2>"$T/stderr")
    RC=$?
    ERR=$(cat "$T/stderr")
}

# jget PATH: reads one JSON document on stdin and prints the value at PATH ("via.0.how");
# strings bare, anything else as JSON.
jget() {
    /usr/bin/python3 -c '
import json, sys
v = json.loads(sys.stdin.read())
for k in filter(None, sys.argv[1].split(".")):
    v = v[int(k)] if isinstance(v, list) else (v or {}).get(k)
print(v if isinstance(v, str) else json.dumps(v))' "$1"
}

# ---- help and usage ----
run --help
ok "$([ $RC = 0 ] && echo 1)" "claimctl --help exits 0"
like "$OUT" "Subcommands:" "and lists the subcommands"
for sub in ping stats call add get appearance verdict verdicts entity import; do
    run "$sub" --help
    ok "$([ $RC = 0 ] && [ -n "$OUT" ] && [ -z "$ERR" ] && echo 1)" "claimctl $sub --help"
done
like "$("$CLAIMCTL" add --help)" "--via NAME\[:HOW\]" "add --help documents the flags"
run bogus
is "$RC" 2 "unknown subcommand: exit 2"
run get abc
is "$RC" 2 "bad ID: exit 2"
like "$ERR" "^claimctl: get: bad ID 'abc'" "with a clear message"
run verdict 1 false --score 9
is "$RC" 2 "score out of range: exit 2"
run add --speaker "Nobody"
is "$RC" 2 "field flags without --text: exit 2"

# ---- connection ----
run ping
is "$RC" 0 "ping via \$CLAIMD_SOCKET"
is "$(echo "$OUT" | jget protocol)" 1 "ping reports protocol 1"
run --socket "$T/nothing.sock" ping
is "$RC" 3 "unreachable daemon: exit 3"
like "$ERR" "^claimctl: connection error: cannot connect to $T/nothing.sock" "names the socket"
OUT=$(CLAIMD_SOCKET= "$CLAIMCTL" --socket "$CLAIMD_SOCKET" ping 2>/dev/null)
is "$(echo "$OUT" | jget version | cut -c1)" 0 "--socket works without \$CLAIMD_SOCKET"

# ---- add / get ----
run add --text "We have not received any letter" --speaker "Dmitry Peskov" \
    --role "Kremlin spokesman" --said-at 2018-08-08 --lang en --medium statement \
    --via "Interfax:quoted" --via "RFE/RL:citing" --url https://www.rferl.org/a/paul-letter.html \
    --outlet "RFE/RL" --title "Paul letter" --about "Rand Paul" --tag letter --tag sanctions \
    --external-id rferl-1 --by tester
is "$RC" 0 "add with flags"
is "$OUT" '{"id":1,"rev":1,"created":true}' "prints id, rev, created"
run get 1
is "$RC" 0 "get"
is "$(echo "$OUT" | jget text)" "We have not received any letter" "text stored"
is "$(echo "$OUT" | jget speaker.name)" "Dmitry Peskov" "speaker as an entity"
is "$(echo "$OUT" | jget via.0.name):$(echo "$OUT" | jget via.0.how)" "Interfax:quoted" \
   "--via NAME:HOW split"
is "$(echo "$OUT" | jget appearances.0.outlet.name)" "RFE/RL" "appearance outlet"
is "$(echo "$OUT" | jget tags)" '["letter", "sanctions"]' "repeatable --tag"
is "$(echo "$OUT" | jget quote)" true "verbatim by default"
is "$(echo "$OUT" | wc -l)" 1 "one line of JSON"
run --pretty get 1
ok "$([ "$(echo "$OUT" | wc -l)" -gt 5 ] && echo 1)" "--pretty indents"

run add --text "we have not received any letter!" --speaker "dmitry peskov" --on-duplicate error
is "$RC" 1 "duplicate with --on-duplicate error: exit 1"
like "$ERR" "^claimctl: conflict: .*\(id 1\)$" "error line with code and id"
run add --text "We have not received any letter" --speaker "Dmitry Peskov" --on-duplicate merge \
    --tag extra
is "$(echo "$OUT" | jget created):$(echo "$OUT" | jget id)" "false:1" "merge into the existing claim"

run add --text "The letter was handed over" --paraphrase --speaker "Rand Paul"
is "$(echo "$OUT" | jget id)" 2 "second claim"
is "$("$CLAIMCTL" get 2 | jget quote)" false "--paraphrase stores quote false"
OUT=$(echo '{"text": "A claim from stdin", "speaker": {"name": "U.S. Embassy", "kind": "government"}}' |
      "$CLAIMCTL" add)
is "$(echo "$OUT" | jget created)" true "add reads a JSON claim on stdin"
run get 999
is "$RC" 1 "get of a missing claim: exit 1"
like "$ERR" "^claimctl: not_found: " "not_found error line"
run add --text "x" --said-at "yesterday"
is "$RC" 1 "invalid field: exit 1"
like "$ERR" "\(field said_at\)$" "names the field"

# ---- verdicts, appearances, entities, call ----
run verdict 1 false --label "Pants on Fire" --score 1 --by "Fact desk" --at 2018-08-09 \
    --evidence https://example.org/e1 --evidence https://example.org/e2
is "$RC" 0 "verdict"
is "$(echo "$OUT" | jget claim_rev)" 3 "verdict bumps the claim revision"
run verdict 1 mixed
run verdicts 1
is "$(echo "$OUT" | wc -l)" 2 "verdicts: one line per verdict"
is "$(echo "$OUT" | head -1 | jget rating):$(echo "$OUT" | head -1 | jget evidence.1)" \
   "false:https://example.org/e2" "oldest first, with evidence"
is "$("$CLAIMCTL" get 1 | jget status)" mixed "status follows the newest verdict"
run appearance 1 --url https://tass.ru/x --outlet TASS --lang ru
is "$RC:$(echo "$OUT" | jget claim_rev)" "0:5" "appearance added"
run entity put "Vladimir Putin" --kind person --alias Putin --wikidata Q7747
is "$(echo "$OUT" | jget kind)" person "entity put"
EID=$(echo "$OUT" | jget id)
is "$("$CLAIMCTL" entity get "$EID" | jget name)" "Vladimir Putin" "entity get"
is "$("$CLAIMCTL" entity find putin | jget id)" "$EID" "entity find by alias, any case"
run call claim.get "{\"id\": 2}"
is "$(echo "$OUT" | jget text)" "The letter was handed over" "call reaches any method"
run call --lines items verdict.list '{"claim": 1}'
is "$(echo "$OUT" | wc -l)" 2 "call --lines prints list items"
OUT=$(echo '{"id": 1}' | "$CLAIMCTL" call claim.get -)
is "$(echo "$OUT" | jget id)" 1 "call reads params from stdin with -"
run call no.such.method
is "$RC" 1 "unknown method: exit 1"
like "$ERR" "^claimctl: unknown_method: " "unknown_method error line"
run call claim.get '{"id": '
is "$RC" 2 "invalid JSON params: exit 2"

# ---- import ----
cat > "$T/claims.jsonl" <<'JSONL'
{"text": "Imported claim one", "speaker": "Dmitry Peskov", "external_id": "imp-1"}
{"text": "Imported claim two", "speaker": "Rand Paul", "said_at": "2018-08-08"}
this line is not JSON

["an", "array"]
{"text": "Imported claim three", "said_at": "not a date"}
{"text": "Imported claim four", "via": [{"name": "TASS", "how": "quoted"}]}
{"speaker": "Nobody"}
{"text": "Imported claim five", "tags": ["a", "b"]}
{"text": "Imported claim six", "lang": "ru", "truncated": 
{"text": "Imported claim seven", "about": ["Rand Paul"]}
{"text": "Imported claim one", "speaker": "Dmitry Peskov", "external_id": "imp-1"}
JSONL
run import --batch 2 "$T/claims.jsonl"
is "$RC" 1 "import with rejected lines: exit 1"
is "$OUT" "" "nothing on stdout"
like "$ERR" "^imported 6, created 5, rejected 5 in [0-9.]+ s \([0-9]+ claims/s\)" \
     "summary line: imported, created, rejected, time, rate"
REJ="$T/claims.jsonl.rejects"
ok "$([ -f "$REJ" ] && echo 1)" "rejects file next to the input"
is "$(wc -l < "$REJ")" 5 "one rejects line per rejected record"
is "$(while read -r l; do echo "$l" | jget line; done < "$REJ" | tr '\n' ' ')" "3 5 6 8 10 " \
   "line numbers of the bad records"
is "$(sed -n 1p "$REJ" | jget input)" "this line is not JSON" "original input kept"
like "$(sed -n 1p "$REJ" | jget error.message)" "^invalid JSON" "local reason for bad JSON"
is "$(sed -n 2p "$REJ" | jget error.message)" "not a JSON object (each line must be one claim)" \
   "local reason for a non-object"
is "$(sed -n 3p "$REJ" | jget error.code)" invalid "daemon's code for a bad field"
like "$(sed -n 4p "$REJ" | jget error.field)" "text$" "daemon names the missing field"
is "$(sed -n 3p "$REJ" | jget input)" '{"text": "Imported claim three", "said_at": "not a date"}' \
   "daemon-rejected input kept verbatim"

run import --on-duplicate skip --batch 3 --in-flight 1 --rejects "$T/again.rejects" - \
    < "$T/claims.jsonl"
like "$ERR" "^imported 6, created 0, rejected 5 " "re-import from stdin: nothing new created"
is "$(wc -l < "$T/again.rejects")" 5 "--rejects with stdin"

grep -v -e '^this' -e '^\[' -e 'not a date' -e Nobody -e truncated "$T/claims.jsonl" \
    > "$T/good.jsonl"
run import "$T/good.jsonl"
is "$RC" 0 "import without rejects: exit 0"
is "$(wc -c < "$T/good.jsonl.rejects")" 0 "empty rejects file"
run import "$T/missing.jsonl"
is "$RC" 1 "missing input file: exit 1"
run import --batch 0 "$T/good.jsonl"
is "$RC" 2 "bad --batch: exit 2"
run import --rejects "$T/good.jsonl" "$T/good.jsonl"
is "$RC" 2 "rejects file may not overwrite the input"
ok "$([ -s "$T/good.jsonl" ] && echo 1)" "input intact"

run stats
is "$(echo "$OUT" | jget claims)" 8 "stats counts the claims (3 added, 5 imported)"

stop_daemon
is "$?" 0 "daemon exits 0 on SIGTERM"

# ---- import sizes its batches to the daemon's request limit ----
daemon_cleanup
check "daemon with --max-request 4096 starts" start_daemon --max-request 4096
[ -n "$CLAIMD_PID" ] || done_testing
T=$CLAIMD_TMP
for i in $(seq 1 30); do
    echo "{\"text\": \"Small claim number $i with some words to fill the batch\", \"tags\": [\"s\"]}"
done > "$T/small.jsonl"
/usr/bin/python3 -c 'import json; print(json.dumps({"text": "x" * 5000}))' >> "$T/small.jsonl"
run import --batch 1000 "$T/small.jsonl"
like "$ERR" "^imported 30, created 30, rejected 1 " "batches split to fit a 4 KiB request limit"
is "$(jget error.code < "$T/small.jsonl.rejects"):$(jget line < "$T/small.jsonl.rejects")" \
   "too_large:31" "a record over the limit is rejected here, not sent"
run ping
is "$RC" 0 "the daemon still serves"
stop_daemon
is "$?" 0 "daemon exits 0 on SIGTERM"
done_testing
