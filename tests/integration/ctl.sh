#!/bin/sh
# The control protocol with bad input, chimectl's exit codes, offline
# cron next, help, error messages that say each thing once.
. "$(dirname "$0")/lib.sh"

check_fails "no daemon: exit 3" 3 ctl daemon status
check "cron next without a daemon (DST in New York)" sh -c "test \"\$($CHIMECTL cron next '30 2 * * *' --tz America/New_York --from 2025-03-08T12:00:00Z --count 3 | tr '\n' ' ')\" = '2025-03-09T07:00:00Z 2025-03-10T06:30:00Z 2025-03-11T06:30:00Z '"
check "cron next, fall back: the repeated hour fires once" sh -c "test \"\$($CHIMECTL cron next '30 1 * * *' --tz America/New_York --from 2025-11-01T12:00:00Z --count 2 | tr '\n' ' ')\" = '2025-11-02T05:30:00Z 2025-11-03T06:30:00Z '"
check_fails "cron next: bad field is exit 2" 2 "$CHIMECTL" cron next "0 25 * * *"
check "cron next: the message names the field" grep -q hour "$T/last"
check_fails "cron next: unknown zone is exit 2" 2 "$CHIMECTL" cron next "0 1 * * *" --tz Nowhere/City
check "help lists the nouns" sh -c "$CHIMECTL help | grep -q 'schedule'"
check "help for one command" sh -c "$CHIMECTL help schedule create | grep -q -- '--cron'"
check_fails "unknown command is a usage error" 2 ctl frobnicate now
check_fails "help of an unknown topic is a usage error" 2 "$CHIMECTL" help nosuch
check "it names the topic" grep -q '"nosuch"' "$T/last"
check_fails "help of an unknown verb is a usage error" 2 "$CHIMECTL" help schedule nosuch
check "it names the verb" grep -q '"nosuch"' "$T/last"
check "help batch watch" sh -c "$CHIMECTL help batch watch | grep -q '^usage: chimectl batch watch ID'"
check "help batch lists watch" sh -c "$CHIMECTL help batch | grep -q '^  batch watch  '"
check "help cron lists next" sh -c "$CHIMECTL help cron | grep -q '^  cron next  '"
check "help batch create names the three types" sh -c "$CHIMECTL help batch create | grep -- '--type' | grep -q conditional"
# help_columns NOUN VERB: each parameter's type starts in the same column.
help_columns() {
	"$CHIMECTL" help "$@" | awk '/^  -|^  [A-Z]/ {
		if (match($0, /  (string|strings|integer|boolean|usd|duration|object|time)  /) == 0)
			bad = 1
		cols[RSTART] = 1 }
	    END { n = 0; for (c in cols) n++; exit bad || n != 1 }'
}
check "help columns line up past a long flag (--webhook-secret)" help_columns schedule create
check "help columns line up (batch create)" help_columns batch create
check_fails "-f with a missing file is a usage error" 2 "$CHIMECTL" batch create -f "$T/none.json"
check "the file is named once" test "$(grep -o "$T/none.json" "$T/last" | wc -l)" -eq 1
printf '{"a":\n' >"$T/bad.json"
check_fails "-f with bad JSON is a usage error" 2 "$CHIMECTL" batch create -f "$T/bad.json"
check "it names the file, line and column" grep -q "$T/bad.json:2:" "$T/last"
check_fails "a daemon with a missing catalog exits" 1 "$CHIMED" --data "$T/d1" --catalog "$T/none.json" --http none
check "its message says catalog once" sh -c "grep -q 'msg=\"catalog: $T/none.json' '$T/last' && ! grep -q 'catalog: catalog' '$T/last'"
mkdir "$T/d2" && : >"$T/d2/journal"
check_fails "a daemon whose journal cannot be made exits" 1 "$CHIMED" --data "$T/d2" --http none
check "its message names the journal once" sh -c "test \$(grep -o '$T/d2/journal' '$T/last' | wc -l) -eq 1"

start_chimed
raw() {
	python3 - "$SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
print(buf.decode().strip())
PY
}
code() { raw "$1" | jq -e ".error.code == $2" >/dev/null; }
# answer REQUEST FILTER: the answer to REQUEST passes jq -e FILTER.
answer() {
	a=$(raw "$1") && [ -n "$a" ] &&
	    printf '%s\n' "$a" | jq -e "$2" >/dev/null
}
check "malformed JSON: -32700" code '{"jsonrpc":"2.0","id":1,' -32700
check "not JSON-RPC 2.0: -32600" code '{"jsonrpc":"1.0","id":1,"method":"daemon.status"}' -32600
check "unknown method: -32601" code '{"jsonrpc":"2.0","id":1,"method":"nope.never"}' -32601
check "params of the wrong type: -32602" code '{"jsonrpc":"2.0","id":1,"method":"schedule.next","params":{"id":"x","count":"many"}}' -32602
r=$(raw '{"jsonrpc":"2.0","id":7,"method":"schedule.create","params":{"name":"x","operation":"quick","cron":"* * * 13 *"}}')
check "bad cron over the socket: -32602 with data.field" sh -c "echo '$r' | jq -e '.id == 7 and .error.code == -32602 and .error.data.field == \"cron\"'"
check "the reason names the month field" sh -c "echo '$r' | jq -e '.error.data.reason | test(\"month\")'"
check "the reason does not repeat the field" sh -c "echo '$r' | jq -e '.error.data.reason | (type == \"string\" and (startswith(\"cron:\") | not))'"
check_fails "chimectl: a bad cron is an error" 1 ctl schedule create --name x --op quick --cron "61 * * * *"
check "chimectl says cron once" sh -c "grep -q '(cron: bad minute field' '$T/last' && ! grep -q 'cron: cron' '$T/last'"
# Integers past int64 are valid JSON: -32602 naming the parameter.
big() {
	answer "$1" ".id == 5 and .error.code == -32602 and .error.data.field == \"$2\" and (.error.data.reason | test(\"out of range\"))"
}
check "2^63 in a parameter: -32602 naming it" big '{"jsonrpc":"2.0","id":5,"method":"schedule.list","params":{"limit":9223372036854775808}}' limit
check "-2^63-1 in a parameter: -32602 naming it" big '{"jsonrpc":"2.0","id":5,"method":"schedule.runs","params":{"id":"x","limit":-9223372036854775809}}' limit
check "a huge integer inside an object parameter: -32602 naming it" big '{"jsonrpc":"2.0","id":5,"method":"schedule.create","params":{"name":"big","operation":"quick","manual":true,"parameters":{"n":[1,{"m":123456789012345678901234567890}]}}}' parameters
check "nothing was created" sh -c "! $CHIMECTL --socket $SOCK schedule get big"
check "2^63-1 is an integer like any other" answer \
    '{"jsonrpc":"2.0","id":5,"method":"schedule.list","params":{"limit":9223372036854775807}}' \
    '.error.data.field == "limit" and .error.data.reason == "must be from 1 to 100000"'
check_fails "chimectl: an integer flag past int64 is a usage error" 2 ctl schedule list --limit 9223372036854775808
check "it says out of range" grep -q "out of range" "$T/last"
# Two changes to one schedule pipelined: the second waits for the first to
# be recorded, then applies to the schedule as it left it (renamed: the
# second still finds it); never a lost update.
ctl schedule create --name pipe --op quick --manual >/dev/null
python3 - "$SOCK" > "$T/pipe.json" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
reqs = [{"jsonrpc": "2.0", "id": 1, "method": "schedule.update",
         "params": {"id": "pipe", "name": "piped"}},
        {"jsonrpc": "2.0", "id": 2, "method": "schedule.update",
         "params": {"id": "pipe", "note": "hello"}}]
s.sendall(b"".join(json.dumps(r).encode() + b"\n" for r in reqs))
buf = b""
while buf.count(b"\n") < 2:
    buf += s.recv(65536)
print(json.dumps([json.loads(l) for l in buf.decode().split("\n") if l]))
PY
check "the rename was answered and kept" sh -c "jq -e '[.[] | select(.id == 1)][0].result.name == \"piped\"' '$T/pipe.json' && $CHIMECTL --socket $SOCK --json schedule get piped | jq -e '.name == \"piped\"'"
check "the second change applied after it" sh -c "jq -e '[.[] | select(.id == 2)][0] | .result.note == \"hello\" and .result.name == \"piped\"' '$T/pipe.json'"
# run.get of a run number the schedule has not reached says so plainly.
ctl schedule create --name hourly --op quick --every 1h >/dev/null
check_fails "run get of a run not yet fired is an error" 1 ctl run get hourly:1
check "it says the run has not happened, and when the next fire is" \
    grep -q "run 1 of hourly has not happened yet (0 so far); next fire at 20[0-9-]*T[0-9:]*Z (run_id: not yet)" "$T/last"
check "over the socket: -32001, data.reason \"not yet\"" answer \
    '{"jsonrpc":"2.0","id":1,"method":"run.get","params":{"run_id":"hourly:3"}}' \
    '.error.code == -32001 and .error.data.field == "run_id" and .error.data.reason == "not yet" and (.error.message | test("^run 3 of hourly has not happened yet"))'
ctl schedule pause hourly >/dev/null
check_fails "paused: still an error" 1 ctl run get hourly:1
check "it says the schedule is paused" grep -q "has not happened yet (0 so far); the schedule is paused" "$T/last"
check_fails "a manual schedule's run not yet triggered" 1 ctl run get piped:1
check "it says it runs when triggered" grep -q "run 1 of piped\? has not happened yet (0 so far); it runs when triggered" "$T/last"
check_fails "a schedule that does not exist is still not found" 1 ctl run get nosuch:1
check "as a bare not-found" grep -q "no such run (run_id: not found)" "$T/last"
check "socket mode is 0666" sh -c "test \"\$(stat -c %a '$SOCK')\" = 666"
check "a second daemon on the same socket is refused" sh -c "! $CHIMED --data '$DATA' --catalog '$CATALOG' >/dev/null 2>&1"
check "the first daemon still answers" ctl daemon status
finish
