#!/bin/sh
# SIGTERM lets a running operation finish; SIGHUP and daemon.reload keep the
# old catalog when the new one is bad; retries; failures keep stderr.
. "$(dirname "$0")/lib.sh"

cp "$CATALOG" "$T/catalog.json"
CATALOG=$T/catalog.json
start_chimed --drain-timeout 60s

check "retrying schedule" ctl schedule create --name flaky --op flaky --manual
r=$(ctlj schedule trigger flaky | jq -r .run_id)
check "a failed attempt is retried" wait_for 20 json_ok \
    '.status == "success" and .attempt == 2' ctlj run get "$r"
check "failing schedule" ctl schedule create --name failing --op fail --manual
r=$(ctlj schedule trigger failing | jq -r .run_id)
check "a failure keeps stderr's tail" wait_for 20 json_ok \
    '.status == "failed" and (.error | test("boom"))' ctlj run get "$r"

ops=$(ctlj daemon status | jq .catalog.operations)
echo '{"models": [], "operations": [' > "$CATALOG"
kill -HUP "$CHIMED_PID"
check "SIGHUP with a bad catalog keeps the old one" wait_for 20 grep -q "catalog reload refused" "$LOG"
check "the operations are still there" test "$(ctlj daemon status | jq .catalog.operations)" = "$ops"
check_fails "daemon.reload reports the bad catalog" 1 ctl daemon reload
cp "$S/tests/integration/catalog.json" "$CATALOG"
check "daemon.reload with a good catalog" ctl daemon reload

check "a long run" ctl schedule create --name long --op gate --manual
r=$(ctlj schedule trigger long | jq -r .run_id)
check "it started" wait_for 20 test -e "$T/started.$r"
# A connection opened before the drain: it keeps working for reads, while
# every method that changes something is refused in one place.
cat > "$T/open-conn.py" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
print("connected", flush=True)
sys.stdin.readline()
calls = [("schedule.create", {"name": "late", "operation": "gate",
    "manual": True}), ("schedule.trigger", {"id": "long"}),
    ("batch.create", {"operation": "gate", "count": 1, "draft": True}),
    ("schedule.list", {})]
for i, (m, p) in enumerate(calls):
    f.write(json.dumps({"jsonrpc": "2.0", "id": i, "method": m,
        "params": p}) + "\n")
    f.flush()
    print(json.dumps({"method": m, "answer": json.loads(f.readline())}),
        flush=True)
PY
mkfifo "$T/go"
python3 "$T/open-conn.py" "$SOCK" < "$T/go" > "$T/open-conn.out" &
conn=$!
exec 7> "$T/go"
check "a connection opened before the drain" wait_for 10 grep -q connected "$T/open-conn.out"
kill -TERM "$CHIMED_PID"
check "draining: the daemon waits for the run" sh -c "kill -0 $CHIMED_PID"
check "draining: the log says so" wait_for 10 grep -q 'msg="draining"' "$LOG"
echo go >&7
exec 7>&-
wait "$conn"
answer() { grep "\"method\": \"$1\"" "$T/open-conn.out" | sed 's/^{"method": "[^"]*", "answer": //; s/}$//'; }
for m in schedule.create schedule.trigger batch.create; do
	check "draining: $m on an open connection is refused" sh -c "echo '$(answer $m)' | jq -e '.error.code == -32006 and .error.data.reason == \"draining\" and .error.message == \"the daemon is draining: nothing was changed\"'"
done
check "draining: a read on an open connection is answered" sh -c "echo '$(answer schedule.list)' | jq -e '.result.schedules | map(.name) | index(\"long\") != null'"
check "draining: new connections are refused" wait_for 10 sh -c "! $CHIMECTL --socket $SOCK daemon status"
touch "$T/release"
wait "$CHIMED_PID"
rc=$?
CHIMED_PID=
check "drained: exit status 0" test "$rc" -eq 0
check "the log says drained" grep -q 'msg="drained"' "$LOG"
start_chimed
check "nothing refused was recorded" sh -c "! $CHIMECTL --socket $SOCK schedule get late"
check "the drained run was recorded success" sh -c "$CHIMECTL --socket $SOCK --json run get '$r' | jq -e '.status == \"success\"'"
check "the journal verifies" "$JOURNAL" verify "$DATA"
finish
