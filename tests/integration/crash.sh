#!/bin/sh
# kill -9 with runs in flight, then restart: the idempotent run is retried,
# the other is recorded interrupted, no occurrence runs twice, the chain
# verifies, and schedules go on.
. "$(dirname "$0")/lib.sh"

start_chimed
check "create a non-idempotent manual schedule" ctl schedule create --name g --op gate --manual
check "create an idempotent manual schedule" ctl schedule create --name gi --op gate-idem --manual
check "create an every-second schedule" ctl schedule create --name tick --op quick --cron "* * * * * *"
check "create a schedule whose operation starts a 30 s sleep" ctl schedule create --name sl --op sleeper --manual
check "create a schedule to delete while its run is in flight" ctl schedule create --name gone --op gate --manual
g=$(ctlj schedule trigger g | jq -r .run_id)
gi=$(ctlj schedule trigger gi | jq -r .run_id)
sl=$(ctlj schedule trigger sl | jq -r .run_id)
check "both runs started" wait_for 20 sh -c "test -e '$T/started.$g' && test -e '$T/started.$gi'"
check "the sleeper started its sleep" wait_for 20 test -e "$T/sleeper.$sl"
gone=$(ctlj schedule trigger gone | jq -r .run_id)
check "the run of the schedule to delete started" wait_for 20 test -e "$T/started.$gone"
check "its schedule is deleted while it runs" ctl schedule delete gone
read -r sl_sh sl_sleep < "$T/sleeper.$sl"
tick=$(ctlj schedule get tick | jq -r .id)
check "tick fires" wait_for 20 runs_with "$tick" success 2
before=$(ctlj schedule get tick | jq .run_counter)

kill_chimed
# The operations die with the daemon (the commands it started get SIGKILL
# when it dies); what they started is killed by the next start.
check "the operations died with the daemon" wait_for 20 sh -c "! kill -0 $sl_sh 2>/dev/null && ! xargs kill -0 < '$T/pids' 2>/dev/null"
touch "$T/release"

start_chimed
check "no process of an operation survives the restart" wait_for 20 sh -c "! kill -0 $sl_sleep 2>/dev/null"
orphan_settled() {
	export_journal && jq -s -e --arg s "${gone%:*}" '[.[] | select(.kind == "run.finished" and .body.schedule == $s and .body.status == "interrupted")] | length == 1' "$T/export.jsonl" >/dev/null
}
check "the run of the deleted schedule is settled interrupted" wait_for 20 orphan_settled
check "the sleeper's run is interrupted" wait_for 20 sh -c "$CHIMECTL --socket $SOCK --json run get '$sl' | jq -e '.status == \"interrupted\"'"
check "non-idempotent run is interrupted" wait_for 20 sh -c "$CHIMECTL --socket $SOCK --json run get '$g' | jq -e '.status == \"interrupted\"'"
check "idempotent run is retried and succeeds" wait_for 20 sh -c "$CHIMECTL --socket $SOCK --json run get '$gi' | jq -e '.status == \"success\" and .attempt == 2'"
check "tick goes on after the restart" wait_for 20 sh -c "test \$($CHIMECTL --socket $SOCK --json schedule get tick | jq .run_counter) -gt $((before + 1))"
check "no occurrence was settled twice" no_double_claims
check "the journal verifies" "$JOURNAL" verify "$DATA"

# A second crash straight away: still consistent.
kill_chimed
start_chimed
check "restart after a second crash" ctl daemon status
check "still no occurrence settled twice" no_double_claims
check "the journal still verifies" "$JOURNAL" verify "$DATA"
check "verify works while the daemon runs" "$JOURNAL" verify "$DATA"
check "drain" stop_chimed
finish
