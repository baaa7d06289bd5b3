#!/bin/sh
# SIGTERM lets a running operation finish; SIGHUP and daemon.reload keep the
# old catalog when the new one is bad; retries; failures keep stderr.
. "$(dirname "$0")/lib.sh"

cp "$CATALOG" "$T/catalog.json"
CATALOG=$T/catalog.json
start_chimed --drain-timeout 60s

check "retrying schedule" ctl schedule create --name flaky --op flaky --manual
r=$(ctlj schedule trigger flaky | jq -r .run_id)
check "a failed attempt is retried" wait_for 20 sh -c "$CHIMECTL --socket $SOCK --json run get '$r' | jq -e '.status == \"success\" and .attempt == 2'"
check "failing schedule" ctl schedule create --name failing --op fail --manual
r=$(ctlj schedule trigger failing | jq -r .run_id)
check "a failure keeps stderr's tail" wait_for 20 sh -c "$CHIMECTL --socket $SOCK --json run get '$r' | jq -e '.status == \"failed\" and (.error | test(\"boom\"))'"

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
kill -TERM "$CHIMED_PID"
check "draining: the daemon waits for the run" sh -c "kill -0 $CHIMED_PID"
check "draining: new connections are refused" wait_for 10 sh -c "! $CHIMECTL --socket $SOCK daemon status"
touch "$T/release"
wait "$CHIMED_PID"
rc=$?
CHIMED_PID=
check "drained: exit status 0" test "$rc" -eq 0
check "the log says drained" grep -q 'msg="drained"' "$LOG"
start_chimed
check "the drained run was recorded success" sh -c "$CHIMECTL --socket $SOCK --json run get '$r' | jq -e '.status == \"success\"'"
check "the journal verifies" "$JOURNAL" verify "$DATA"
finish
