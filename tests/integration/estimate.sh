#!/bin/sh
# Cost estimates: from the catalog first, then from observed usage once
# enough runs are known; --dry-run and schedule.estimate write nothing.
. "$(dirname "$0")/lib.sh"

start_chimed
seq0=$(ctlj daemon status | jq .journal.seq)
# quick: catalog tokens in 500/1000/2000, out 100/500/1000 at 1.00/2.00 USD
# per million: low 0.000700, mid 0.002000, high 0.004000.
check "dry run shows the catalog estimate" sh -c "$CHIMECTL --socket $SOCK --json schedule create --name est --op quick --cron '0 9 * * *' --dry-run | jq -e '.estimate_source == \"catalog\" and .estimate_usd.low == \"0.000700\" and .estimate_usd.mid == \"0.002000\" and .estimate_usd.high == \"0.004000\"'"
check "projected = fires left x mid" sh -c "$CHIMECTL --socket $SOCK --json schedule estimate --op quick --cron '0 9 * * *' | jq -e '(.projected_month_usd | tonumber) == (.fires_left_this_month * 0.002)'"
check_fails "dry run with a bad cron is refused" 1 ctl schedule create --name est --op quick --cron "0 9 * * 8" --dry-run
check "dry run and estimate wrote nothing" test "$(ctlj daemon status | jq .journal.seq)" = "$seq0"
check_fails "the dry-run schedule does not exist" 1 ctl schedule get est

check "a manual schedule" ctl schedule create --name est --op quick --manual
id=$(ctlj schedule get est | jq -r .id)
i=0
while [ $i -lt 10 ]; do
	r=$(ctlj schedule trigger est | jq -r .run_id)
	wait_for 20 sh -c "$CHIMECTL --socket $SOCK --json run get '$r' | jq -e '.status == \"success\"'" || fail "run $r"
	i=$((i + 1))
done
# The quick operation always reports 1000 input and 500 output tokens.
check "after 10 runs the estimate is observed" sh -c "$CHIMECTL --socket $SOCK --json schedule estimate est | jq -e '.estimate_source == \"observed\" and .estimate_samples == 10'"
check "and it converged on the real usage" sh -c "$CHIMECTL --socket $SOCK --json schedule estimate est | jq -e '.estimate_usd.low == \"0.002000\" and .estimate_usd.mid == \"0.002000\" and .estimate_usd.high == \"0.002000\"'"
check "runs record where their estimate came from" sh -c "$CHIMECTL --socket $SOCK --json schedule runs est --limit 1 | jq -e '.runs[0].estimate_source == \"catalog\" and (.runs[0].attempts | length) == 1 and .runs[0].attempts[0].status == \"success\"'"
check "the observed usage survives a restart" stop_chimed
start_chimed
check "observed after the restart" sh -c "$CHIMECTL --socket $SOCK --json schedule estimate est | jq -e '.estimate_source == \"observed\" and .estimate_samples == 10'"
r=$(ctlj schedule trigger est | jq -r .run_id)
check "the next run is priced from observation" wait_for 20 sh -c "$CHIMECTL --socket $SOCK --json run get '$r' | jq -e '.estimate_source == \"observed\" and .estimate_usd.mid == \"0.002000\"'"
finish
