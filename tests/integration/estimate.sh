#!/bin/sh
# Cost estimates: from the catalog first, then from observed usage once
# enough runs are known; --dry-run and schedule.estimate write nothing.
. "$(dirname "$0")/lib.sh"

start_chimed
seq0=$(ctlj daemon status | jq .journal.seq)
# quick: catalog tokens in 500/1000/2000, out 100/500/1000 at 1.00/2.00 USD
# per million: low 0.000700, mid 0.002000, high 0.004000.
check "dry run shows the catalog estimate" sh -c "$CHIMECTL --socket $SOCK --json schedule create --name est --op quick --cron '0 9 * * *' --dry-run | jq -e '.estimate_source == \"catalog\" and .estimate_usd.low == \"0.000700\" and .estimate_usd.mid == \"0.002000\" and .estimate_usd.high == \"0.004000\"'"
check "projected = fires left x mid" sh -c "$CHIMECTL --socket $SOCK --json schedule estimate --op quick --cron '0 9 * * *' | jq -e '(.projected_month_usd | tonumber * 1000000 | round) == (.fires_left_this_month * 2000)'"
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

# Caps that surprise: one run over the cap is refused without --force.
ctl_budget_refused() {
	ctlj "$@" 2>"$T/err" >/dev/null
	# (jq 1.6 -e passes on empty input: the answer must be there)
	[ -s "$T/err" ] && jq -e '.code == -32004 and .data.field == "max_cost_month"' "$T/err" >/dev/null
}
check "a cap one run passes on its own is refused" ctl_budget_refused \
    schedule create --name tiny --op quick --cron "0 9 * * *" --max-cost-month 0.001
check_fails "so nothing was created" 1 ctl schedule get tiny
check "the dry run warns instead" sh -c "$CHIMECTL --socket $SOCK --json schedule create --name tiny --op quick --cron '0 9 * * *' --max-cost-month 0.001 --dry-run | jq -e '.warnings | length == 1 and (.[0] | test(\"every run would be skipped\"))'"
check "with --force it is created" ctl schedule create --name tiny --op quick \
    --cron "0 9 * * *" --max-cost-month 0.001 --force
check "its cap is reached at its next fire" sh -c "$CHIMECTL --socket $SOCK --json schedule get tiny | jq -e '.cap_reached == .next_fire'"
check "an update to a cap one run passes is refused" ctl_budget_refused \
    schedule update est --max-cost-month 0.0015
check "a cap reached this month is dated in estimate" sh -c "$CHIMECTL --socket $SOCK --json schedule estimate --op quick --every 1h --max-cost-month 0.004 | jq -e '.cap_reached != null and (.warnings[0] | test(\"reached at\"))'"
check "a cap not reached this month is null" sh -c "$CHIMECTL --socket $SOCK --json schedule estimate --op quick --cron '0 9 1 1 *' --max-cost-month 100 | jq -e '.cap_reached == null and .warnings == []'"

# Spend crossing 80 % of a cap is an event (the schedule's cap and the
# operation's monthly budget in the account's preferences).
check "a schedule with a cap of 0.005" ctl schedule create --name eighty \
    --op quick --manual --max-cost-month 0.005
for n in 1 2; do
	r=$(ctlj schedule trigger eighty | jq -r .run_id)
	wait_for 20 sh -c "$CHIMECTL --socket $SOCK --json run get '$r' | jq -e '.status == \"success\"'" || fail "run $r"
done
threshold() {
	export_journal && jq -s -e --arg cap "$1" --argjson p "$2" \
	    '[.[] | select(.kind == "budget.threshold" and .body.cap == $cap and .body.percent == $p)] | length == 1' \
	    "$T/export.jsonl" >/dev/null
}
check "80 % of the schedule's cap is journaled once" wait_for 20 threshold max_cost_month 80
check "not yet 100 %" sh -c "! jq -s -e '[.[] | select(.kind == \"budget.threshold\" and .body.cap == \"max_cost_month\" and .body.percent == 100)] | length > 0' '$T/export.jsonl' >/dev/null"
check "an operation budget just above what quick spent" ctl prefs set --op quick --monthly-budget 0.034
r=$(ctlj schedule trigger est | jq -r .run_id)
check "one more run of quick" wait_for 20 sh -c "$CHIMECTL --socket $SOCK --json run get '$r' | jq -e '.status == \"success\"'"
check "its spend crossing 80 % of the operation's budget is journaled" wait_for 20 threshold operation_monthly_budget 80
metrics() { curl -s "http://127.0.0.1:$HTTP_PORT/metrics"; }
check "/metrics has the month's spend per operation" sh -c \
    "curl -s http://127.0.0.1:$HTTP_PORT/metrics | grep -qx 'chime_spend_usd{account=\"default\",operation=\"quick\"} 0.028'"
check "and per account" sh -c \
    "curl -s http://127.0.0.1:$HTTP_PORT/metrics | grep -qx 'chime_spend_usd{account=\"default\",operation=\"\"} 0.028'"
check "and what is left of the operation's budget" sh -c \
    "curl -s http://127.0.0.1:$HTTP_PORT/metrics | grep -qx 'chime_budget_remaining_usd{account=\"default\",operation=\"quick\"} 0.006'"
check "no gauge has float noise" sh -c \
    "! curl -s http://127.0.0.1:$HTTP_PORT/metrics | grep -v '^#' | grep -Eq '[0-9]\.[0-9]*0000000[0-9]|[0-9]\.[0-9]*9999999[0-9]'"
finish
