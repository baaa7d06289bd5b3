#!/bin/sh
# Overlap policies with a run that outlasts the interval; budget caps.
. "$(dirname "$0")/lib.sh"

start_chimed
reason() { ctlj schedule runs "$1" --limit 1000 | jq -e "[.runs[] | select(.status == \"$2\" and (.reason // \"\") == \"$3\")] | length >= $4" >/dev/null; }
status_n() { ctlj schedule runs "$1" --limit 1000 | jq -e "[.runs[] | select(.status == \"$2\")] | length >= $3" >/dev/null; }

check "skip" ctl schedule create --name o-skip --op gate --every 1s --overlap skip
check "skip: later fires are skipped for overlap" wait_for 20 reason o-skip skipped overlap 2
check "skip: only one run at a time" sh -c "test \$($CHIMECTL --socket $SOCK --json schedule runs o-skip --limit 1000 | jq '[.runs[] | select(.status == \"running\")] | length') -eq 1"
ctl schedule pause o-skip >/dev/null

check "queue_one" ctl schedule create --name o-queue --op gate --every 1s --overlap queue_one
check "queue_one: one waits" wait_for 20 status_n o-queue pending 1
check "queue_one: the rest are skipped" wait_for 20 reason o-queue skipped overlap 1
ctl schedule pause o-queue >/dev/null

check "allow" ctl schedule create --name o-allow --op gate --every 1s --overlap allow --overlap-limit 2
check "allow: two run at once" wait_for 20 status_n o-allow running 2
check "allow: the third is skipped" wait_for 20 reason o-allow skipped overlap 1
ctl schedule pause o-allow >/dev/null

check "cancel_previous" ctl schedule create --name o-cancel --op gate --every 1s --overlap cancel_previous
check "cancel_previous: the older run is cancelled" wait_for 20 status_n o-cancel cancelled 1
ctl schedule pause o-cancel >/dev/null

touch "$T/release"
check "queued run starts once the previous ends" wait_for 30 status_n o-queue success 2

# Budget: the quick operation's mid estimate is 0.002000 USD.
check "budget schedule" ctl schedule create --name capped --op quick --every 1s --max-cost-month 0.003
check "over the cap: paused with budget_exceeded" wait_for 20 sh -c "$CHIMECTL --socket $SOCK --json schedule get capped | jq -e '.state == \"paused\" and .pause_reason == \"budget_exceeded\"'"
check "over the cap: the run is skipped for budget" wait_for 20 reason capped skipped budget 1
check "under the cap: one run succeeded" status_n capped success 1
check_fails "manual trigger over the cap is refused" 1 ctl schedule trigger capped
check "no occurrence settled twice" no_double_claims
check "the journal verifies" "$JOURNAL" verify "$DATA"
finish
