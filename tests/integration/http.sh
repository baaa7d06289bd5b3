#!/bin/sh
# The http executor against chime-test-router: success with usage and
# cost, a timeout, 5xx retried to success with the same Idempotency-Key,
# 429 with Retry-After honoured, 4xx not retried, the address filter, a
# slow router saturating --max-running 2, a call in flight aborted by
# cancel_previous, and (finish) the signing secret in neither the journal,
# the data directory nor the log.
. "$(dirname "$0")/lib.sh"

ROUTER=$B/tests/chime-test-router
SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
secret_used "$SECRET"
ROUTER_PID=
# stop_router: end the router; returns the status it was called with, so
# that the exit trap hands the test's own status on to cleanup.
stop_router() {
	router_status=$?
	if [ -n "$ROUTER_PID" ]; then
		kill "$ROUTER_PID" 2>/dev/null
		wait "$ROUTER_PID" 2>/dev/null
	fi
	return $router_status
}
trap 'stop_router; cleanup' EXIT

"$ROUTER" --port-file "$T/router.port" --secret "$SECRET" --quiet \
    >>"$T/router.log" 2>&1 &
ROUTER_PID=$!
if ! wait_for 20 test -s "$T/router.port"; then
	fail "the router starts" "$(cat "$T/router.log")"
	exit 1
fi
PORT=$(cat "$T/router.port")
URL=http://127.0.0.1:$PORT/v1/run

# rget PATH: GET from the router.
rget() { curl -sf "http://127.0.0.1:$PORT$1"; }
# reqs RUN: what the router saw of RUN, oldest first.
reqs() { rget "/requests?run_id=$1"; }
# json_is JQ-CONDITION: the JSON on stdin satisfies the condition.  No
# input fails: jq -e alone succeeds when it reads nothing.
json_is() {
	json_in=$(cat)
	[ -n "$json_in" ] && printf '%s\n' "$json_in" | jq -e "$1" >/dev/null
}
# run_is RUN JQ-CONDITION: of what run.get says of RUN.
run_is() { ctlj run get "$1" | json_is "$2"; }
# reqs_is RUN JQ-CONDITION: of what the router saw of RUN.
reqs_is() { reqs "$1" | json_is "$2"; }
# estimate_is SCHEDULE JQ-CONDITION: of its cost estimate.
estimate_is() { ctlj schedule estimate "$1" | json_is "$2"; }
ended() { run_is "$1" '.status == "success" or .status == "failed"'; }

op() {	# op ID TIMEOUT ATTEMPTS [URL]
	cat <<EOF
    {"id": "$1", "executor": "http", "url": "${4:-$URL}",
     "secret_ref": "env:CHIME_TEST_GW_SECRET", "timeout": "$2",
     "connect_timeout": "2s",
     "retry": {"attempts": $3, "backoff": "200ms", "max_backoff": "1s"},
     "tokens": {"input": [500, 1000, 2000], "output": [100, 500, 1000]},
     "default_model": "test-model", "idempotent": true}
EOF
}
cat >"$T/catalog.json" <<EOF
{"models": [{"id": "test-model", "input_usd_per_mtok": "1.00",
             "output_usd_per_mtok": "2.00"}],
 "operations": [
$(op gw 5s 3),
$(op gw-short 300ms 1),
$(op gw-other 5s 1 "http://127.0.0.2:$PORT/v1/run"),
$(op gw-conv 5s 1)
 ]}
EOF
CATALOG=$T/catalog.json
export CHIME_TEST_GW_SECRET=$SECRET

check_fails "a bad --http-allow is refused" 2 "$CHIMED" --data "$DATA" \
    --catalog "$CATALOG" --http-allow 127.0.0.1/8
check "the refusal names the flag" grep -q -- "--http-allow" "$T/last"
start_chimed --max-running 2 --http-allow 127.0.0.1/32

# trigger NAME ROUTER-JSON: a run of schedule NAME with parameters.router.
trigger() {
	ctlj schedule trigger "$1" --param "router=$2" | jq -r .run_id
}
ctl schedule create --name gw --op gw --manual >/dev/null
ctl schedule create --name short --op gw-short --manual >/dev/null
ctl schedule create --name other --op gw-other --manual >/dev/null

# Success: result, model, usage and the cost from the catalog's price.
r=$(trigger gw '{"model": "gw-model", "usage": {"input_tokens": 1000, "output_tokens": 500}}')
check "success" wait_for 20 run_is "$r" '.status == "success"'
check "result, model, usage and cost" run_is "$r" '.result.text == "routed answer" and .model == "gw-model" and .usage.input_tokens == 1000 and .usage.output_tokens == 500 and .cost_usd == "0.002000" and .attempt == 1'
check "the router saw one signed request keyed by the run id" reqs_is "$r" "length == 1 and .[0].idempotency_key == \"$r\" and .[0].signature_ok == true and .[0].webhook_id == \"$r:1\""

# Timeout: the attempt ends at its deadline; one attempt only.
r=$(trigger short '{"latency_ms": 3000}')
check "timeout" wait_for 20 run_is "$r" '.status == "failed" and .error == "timed out after 300ms"'
check "the timeout is recorded as an attempt" run_is "$r" '(.attempts | length) == 1 and .attempts[0].status == "timeout"'

# 5xx then success: retried with the same Idempotency-Key.
r=$(trigger gw '{"fail_times": 2, "fail_status": 503}')
check "5xx retried to success" wait_for 30 run_is "$r" '.status == "success" and .attempt == 3'
check "three attempts reached the router" reqs_is "$r" '[.[].status] == [503, 503, 200] and [.[].attempt] == [1, 2, 3]'
check "the same Idempotency-Key on each retry" reqs_is "$r" "[.[].idempotency_key] | unique == [\"$r\"]"
check "a webhook-id per attempt, each signed" reqs_is "$r" "[.[].webhook_id] == [\"$r:1\", \"$r:2\", \"$r:3\"] and all(.[]; .signature_ok)"

# 429 with Retry-After: 2 s, longer than the 200 ms backoff, is honoured.
r=$(trigger gw '{"fail_times": 1, "fail_status": 429, "retry_after": 2}')
check "429 retried to success" wait_for 30 run_is "$r" '.status == "success" and .attempt == 2'
check "the retry waited for Retry-After (2 s)" reqs_is "$r" 'length == 2 and .[0].status == 429 and (.[1].received_us - .[0].replied_us) >= 2000000'

# 4xx: not retried, the body in the error.
r=$(trigger gw '{"status": 404, "body": "no such route"}')
check "4xx fails" wait_for 20 run_is "$r" '.status == "failed" and .error == "HTTP 404: no such route"'
check "4xx is not retried" reqs_is "$r" 'length == 1'
check "4xx: one attempt" run_is "$r" '.attempt == 1'

# The address filter: 127.0.0.2 is loopback outside the allowed /32.
r=$(trigger other '{}')
check "a loopback address outside --http-allow is refused" wait_for 20 run_is "$r" '.status == "failed" and .error == "address 127.0.0.2 not allowed (loopback)"'
check "the refused call never reached the router" reqs_is "$r" 'length == 0'

# A slow router saturates --max-running 2: the other runs wait for a slot.
# The five triggers go in one write on one connection, so all five are
# recorded long before the first call (2 s) ends, however slow the
# machine is at starting programs.
python3 - "$SOCK" > "$T/slow.ids" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
for i in range(5):
    f.write(json.dumps({"jsonrpc": "2.0", "id": i,
        "method": "schedule.trigger", "params": {"id": "gw",
        "parameters": {"router": {"latency_ms": 2000}}}}) + "\n")
f.flush()
for _ in range(5):
    print(json.loads(f.readline())["result"]["run_id"])
PY
runs=$(cat "$T/slow.ids")
for r in $runs; do
	wait_for 30 run_is "$r" '.status == "success"' || fail "slow run $r"
done
waited=0
for r in $runs; do
	if run_is "$r" '.waited_ms > 0'; then
		waited=$((waited + 1))
	fi
done
check "runs beyond two waited for a slot (waited_ms > 0)" test "$waited" -ge 3
for r in $runs; do
	reqs "$r"
done >"$T/slow.json"
# Most requests in the router at one instant (a request is in from its
# receipt until its answer).
overlap=$(jq -s 'add | . as $a | [$a[] | .received_us as $t | [$a[] | select(.received_us <= $t and .replied_us > $t)] | length] | max' "$T/slow.json")
check "the router had exactly 2 of them at once at most" test "$overlap" -eq 2

# cancel_previous: each fire (every second) aborts the run before it,
# whose call is in flight at the router (answering after 5 s).
ctl schedule create --name cancel --op gw --every 1s --overlap cancel_previous \
    --param 'router={"latency_ms": 5000}' >/dev/null
# aborted_call SCHEDULE: a run of SCHEDULE cancelled by a newer fire while
# its call was at the router: one attempt, cancelled, ended long before
# the router would have answered.
aborted_call() {
	r=$(ctlj schedule runs "$1" --limit 100 | jq -r '[.runs[] | select(.status == "cancelled" and .reason == "cancelled by a newer occurrence" and (.attempts | length) == 1 and .attempts[0].status == "cancelled")][0].run_id // empty')
	[ -n "$r" ] && run_is "$r" '.latency_ms < 4000' &&
	    reqs_is "$r" 'length == 1 and .[0].received_us > 0'
}
check "a newer fire aborts the http call in flight" wait_for 20 aborted_call cancel
ctl schedule pause cancel >/dev/null

# Estimates converge on what the router reports: 700 in, 300 out at
# 1.00 / 2.00 USD per million = 0.001300 (the catalog's mid is 0.002000).
ctl schedule create --name conv --op gw-conv --manual >/dev/null
check "the first estimate is the catalog's" estimate_is conv '.estimate_source == "catalog" and .estimate_usd.mid == "0.002000"'
i=0
while [ $i -lt 10 ]; do
	r=$(trigger conv '{"usage": {"input_tokens": 700, "output_tokens": 300}}')
	wait_for 30 ended "$r" || fail "run $r did not end"
	i=$((i + 1))
done
check "after 10 runs the estimate is the router's usage" estimate_is conv '.estimate_source == "observed" and .estimate_usd.low == "0.001300" and .estimate_usd.mid == "0.001300" and .estimate_usd.high == "0.001300"'

check "the log names the endpoint, not the body" sh -c "grep -q 'msg=\"http finished\".*url=\"http://127.0.0.1:$PORT/v1/run\"' '$LOG' && ! grep -q 'routed answer' '$LOG'"
check "drain" stop_chimed
check "the journal verifies" "$JOURNAL" verify "$DATA"
finish
