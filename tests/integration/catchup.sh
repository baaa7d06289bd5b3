#!/bin/sh
# Downtime: each catch-up policy settles every missed occurrence exactly once.
. "$(dirname "$0")/lib.sh"

start_chimed
check "latest" ctl schedule create --name latest --op quick --cron "* * * * * *" --catchup latest
check "skip" ctl schedule create --name skip --op quick --cron "* * * * * *" --catchup skip
check "all" ctl schedule create --name all --op quick --cron "* * * * * *" --catchup all --overlap allow --overlap-limit 10
check "window" ctl schedule create --name window --op quick --cron "* * * * * *" --catchup latest --catchup-window 1s
check "fires before the stop" wait_for 20 runs_with "$(ctlj schedule get latest | jq -r .id)" success 1
check "clean stop" stop_chimed
down=$(date +%s)
# Downtime is the point here: let at least four seconds of occurrences go by.
while [ "$(date +%s)" -lt $((down + 5)) ]; do sleep 0.2; done
start_chimed

trig() { ctlj schedule runs "$1" --limit 1000 | jq "[.runs[] | select(.triggered_by == \"catchup\")] | length"; }
missed() { ctlj schedule runs "$1" --limit 1000 | jq "[.runs[] | select(.status == \"missed\" and .reason == \"$2\")] | length"; }

check "latest: one catch-up run" wait_for 20 sh -c "test \$($CHIMECTL --socket $SOCK --json schedule runs latest --limit 1000 | jq '[.runs[] | select(.triggered_by == \"catchup\")] | length') -eq 1"
check "latest: the others missed (superseded)" test "$(missed latest 'superseded by a later occurrence')" -ge 2
check "skip: no catch-up run" test "$(trig skip)" -eq 0
check "skip: all missed" test "$(missed skip 'catch-up policy skip')" -ge 3
check "all: every missed occurrence runs" wait_for 20 sh -c "test \$($CHIMECTL --socket $SOCK --json schedule runs all --limit 1000 | jq '[.runs[] | select(.triggered_by == \"catchup\")] | length') -ge 3"
check "window: old occurrences missed outside the window" test "$(missed window 'outside catch-up window')" -ge 2
check "no occurrence settled twice" no_double_claims

# Catch-up obeys the overlap policy: "all" with "allow" and a limit of 3
# starts at most 3 runs at once after a crash, and skips the rest.
check "a gate every second, at most 3 at once" ctl schedule create \
    --name limited --op gate --every 1s --catchup all --overlap allow \
    --overlap-limit 3
inflight() { ctlj schedule get limited | jq .runs_in_flight; }
check "it reaches 3 runs in flight" wait_for 20 sh -c "test \$($CHIMECTL --socket $SOCK --json schedule get limited | jq .runs_in_flight) -eq 3"
kill_chimed
crash=$(date +%s)
# Downtime is the point here: let at least four occurrences go by.
while [ "$(date +%s)" -lt $((crash + 5)) ]; do sleep 0.2; done
start_chimed
check "after the crash at most 3 run at once" test "$(inflight)" -le 3
check "the other catch-up occurrences are skipped (overlap)" wait_for 20 sh -c \
    "test \$($CHIMECTL --socket $SOCK --json schedule runs limited --limit 1000 | jq '[.runs[] | select(.triggered_by == \"catchup\" and .status == \"skipped\" and .reason == \"overlap\")] | length') -ge 1"
check "still at most 3 at once" test "$(inflight)" -le 3
touch "$T/release"
check "no occurrence settled twice" no_double_claims
check "the journal verifies" "$JOURNAL" verify "$DATA"
finish
