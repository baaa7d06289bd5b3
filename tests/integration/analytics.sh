#!/bin/sh
# The analytics table with a real chimed: every run's end adds to its row
# in its own transaction, and replay (the fold, from the records alone)
# finds the same rows at each stop.  A journal written before the table
# existed (the table and its claim gone) gets it built from the log at the
# next start, once, in analytics.rebuilt records: replay then finds the
# rebuilt rows equal to the fold's, and a later start builds nothing.
. "$(dirname "$0")/lib.sh"

TAMPER=$B/tests/chime-test-tamper

# ended_runs NAME: how many runs of schedule NAME have ended.
ended_runs() {
	ctlj schedule runs "$1" --account acme | jq '[.runs[] |
	    select(.status != "running" and .status != "pending")] | length'
}

# runs_ended NAME N: at least N of them.
runs_ended() { [ "$(ended_runs "$1")" -ge "$2" ]; }

start_chimed
check "a new journal claims the table at its first start" sh -c \
    "'$JOURNAL' export '$DATA' | jq -se 'any(.[]; .kind ==
    \"analytics.rebuilt\" and .body.rows == 0 and .account == null)'"
ctl account create acme --tz America/New_York >/dev/null
ctl schedule create --account acme --name ok --op quick --manual >/dev/null
ctl schedule create --account acme --name bad --op fail --manual >/dev/null
for i in 1 2 3; do
	ctl schedule trigger ok --account acme >/dev/null
done
ctl schedule trigger bad --account acme >/dev/null
ctl schedule trigger bad --account acme >/dev/null
check "the runs end" wait_for 30 runs_ended ok 3
check "... and the failing ones" wait_for 30 runs_ended bad 2
check "stop: replay finds the rows the runs added" stop_chimed

"$TAMPER" "$DATA/journal" forget-analytics
start_chimed
check "a journal without the table gets it built from the log" grep -q \
    'msg="analytics table built from the log" .* runs=[1-9]' "$LOG"
check "... in an analytics.rebuilt record with the claim" sh -c \
    "[ \"\$('$JOURNAL' export '$DATA' | jq -s '[.[] | select(.kind ==
    \"analytics.rebuilt\" and .body.rows_total > 0)] | length')\" = 1 ]"
ctl schedule trigger ok --account acme >/dev/null
check "a run after it" wait_for 30 runs_ended ok 4
check "stop: replay finds the rebuilt rows and the new run's" stop_chimed
start_chimed
check "built once: a later start builds nothing" sh -c \
    "[ \"\$(grep -c 'msg=\"analytics table built from the log\"' '$LOG')\" \
    = 2 ]"
check "stop again" stop_chimed

finish
