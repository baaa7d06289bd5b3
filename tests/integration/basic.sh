#!/bin/sh
# Create, fire, inspect, pause, resume, update and delete a schedule through
# the real socket; bad input is refused and changes nothing.
. "$(dirname "$0")/lib.sh"

# Is nothing of schedule $1 in flight (a run claimed ahead included)?
runs_settled() {
	n=$(ctlj schedule runs "$1" --limit 1000 | jq '[.runs[] |
	    select(.status == "pending" or .status == "running")] | length')
	[ "$n" -eq 0 ]
}

# No checkpoints by time: one of the writer's own could land between the
# two reads of the journal's head around the refused requests below.
start_chimed --checkpoint-interval 0

check "daemon status answers" ctl daemon status
check "status has a journal head" sh -c "$CHIMECTL --socket $SOCK --json daemon status | jq -e '.journal.seq >= 1 and (.journal.head | length) == 64'"
check "status lists what a schedule may name" sh -c "$CHIMECTL --socket $SOCK --json daemon status | jq -e '(.operations | map(.id) | index(\"quick\")) != null and (.operations[] | select(.id == \"quick\") | .default_model) == \"test-model\" and (.models | map(.id)) == [\"cheap-model\", \"test-model\"] and (.operations[0] | has(\"argv\") | not)'"

check "create an interval schedule" ctl schedule create --name every-second \
    --op quick --every 1s --param kind=test --param n=3
id=$(ctlj schedule get every-second | jq -r .id)
check "schedule has an id" test -n "$id"
check "the schedule fires and succeeds" wait_for 20 runs_with "$id" success 2

run=$(ctlj schedule runs "$id" | jq -r '[.runs[] | select(.status == "success")][0].run_id')
check "run.get shows the run" sh -c "$CHIMECTL --socket $SOCK --json run get '$run' | jq -e '.status == \"success\" and .usage.input_tokens == 1000 and .cost_usd == \"0.002000\" and .model == \"test-model\" and .result.ok == true'"
check "a run records its parameters" sh -c "$CHIMECTL --socket $SOCK --json run get '$run' | jq -e '.parameters.kind == \"test\" and .parameters.n == 3'"
check "runs are listed newest first" sh -c "$CHIMECTL --socket $SOCK --json schedule runs '$id' | jq -e '.runs[0].number > .runs[1].number'"
check "human table output" sh -c "$CHIMECTL --socket $SOCK schedule ls | grep -q every-second"

check "pause" ctl schedule pause "$id" --note "maintenance window"
check "paused: no next fire" sh -c "$CHIMECTL --socket $SOCK --json schedule get '$id' | jq -e '.state == \"paused\" and .next_fire == null and .pause_note == \"maintenance window\"'"
check_fails "pause twice is a conflict" 1 ctl schedule pause "$id"
check "resume" ctl schedule resume "$id"
check "resumed: next fire set" sh -c "$CHIMECTL --socket $SOCK --json schedule get '$id' | jq -e '.state == \"active\" and .next_fire != null'"

check "update to a cron in a zone" ctl schedule update "$id" --cron "30 2 * * *" --tz America/New_York
check "next fires follow the new cron" sh -c "$CHIMECTL --socket $SOCK --json schedule next '$id' --count 3 | jq -e '(.next | length) == 3 and (.next[0].local | endswith(\"02:30:00\"))'"

# Bad input: a clear error and nothing changes.  An occurrence claimed
# ahead under the old trigger still runs at its instant (an update applies
# from the next occurrence): wait for it first.
check "nothing of the schedule in flight" wait_for 20 runs_settled "$id"
seq_before=$(ctlj daemon status | jq .journal.seq)
check_fails "bad cron is refused" 1 ctl schedule create --name bad1 --op quick --cron "61 * * * *"
check "the error names the field" grep -q minute "$T/last"
check_fails "unknown zone is refused" 1 ctl schedule create --name bad2 --op quick --cron "0 * * * *" --tz Mars/Base
check_fails "unknown operation is refused" 1 ctl schedule create --name bad3 --op nosuch --cron "0 * * * *"
check_fails "two triggers are refused" 1 ctl schedule create --name bad4 --op quick --cron "0 * * * *" --every 5s
check_fails "no trigger is refused" 1 ctl schedule create --name bad5 --op quick
check_fails "duplicate name is refused" 1 ctl schedule create --name every-second --op quick --every 5s
check_fails "bad overlap policy is refused" 1 ctl schedule create --name bad6 --op quick --every 5s --overlap sometimes
check_fails "past 'at' is refused" 1 ctl schedule create --name bad7 --op quick --at 2001-01-01T00:00:00Z
check_fails "unknown flag is a usage error" 2 ctl schedule create --name bad8 --op quick --every 5s --colour red
check_fails "unknown schedule is not found" 1 ctl schedule get nosuch
check_fails "bad run id" 1 ctl run get nonsense
seq_after=$(ctlj daemon status | jq .journal.seq)
check "rejected requests wrote nothing" test "$seq_before" = "$seq_after"

check "manual trigger" ctl schedule trigger "$id" --key deploy-42
first=$(ctlj schedule trigger "$id" --key deploy-42 | jq -r .run_id)
check "same idempotency key returns the same run" sh -c "$CHIMECTL --socket $SOCK --json schedule trigger '$id' --key deploy-42 | jq -e '.duplicate == true and .run_id == \"$first\"'"

next=$(ctlj schedule trigger "$id" | jq -r .run_id)
check "a repeated key uses up no run number" test "${next##*:}" -eq $(( ${first##*:} + 1 ))

check_fails "an interval past 100 years is refused" 1 ctl schedule create --name huge --op quick --every 106751990d
check "the daemon is still up" ctl daemon status
check "a numeric key does not collide with keyless runs" ctl schedule trigger "$id" --key "${next##*:}"
long=$(printf 'k%.0s' $(seq 150))
lr=$(ctlj schedule trigger "$id" --key "$long" | jq -r .run_id)
check "a 150-character key is answered as a duplicate" sh -c "$CHIMECTL --socket $SOCK --json schedule trigger '$id' --key '$long' | jq -e '.duplicate == true and .run_id == \"$lr\"'"

check "lower the kept history" ctl schedule update "$id" --history 2
check "history is pruned to 2 runs" wait_for 20 sh -c "test \$($CHIMECTL --socket $SOCK --json schedule runs '$id' --limit 100 | jq '.runs | length') -le 2"
check "set a model" ctl schedule update "$id" --model cheap-model
check "clear the model with an empty string" ctl schedule update "$id" --model ""
check "the model is back to the operation's" sh -c "$CHIMECTL --socket $SOCK --json schedule get '$id' | jq -e '.model == null'"
check_fails "weekly with a bad day is refused" 1 ctl schedule create --name bad9 --op quick --weekly "monkey 09:00"
check_fails "weekly with day 8 is refused" 1 ctl schedule create --name bad10 --op quick --weekly "8 09:00"
check "weekly with a full day name" ctl schedule create --name wk --op quick --weekly "Monday 09:00" --tz Europe/Berlin
check "monthly on the last day" ctl schedule create --name mo --op quick --monthly "last 18:30" --tz Australia/Lord_Howe
check "monthly next fires are month ends" sh -c "$CHIMECTL --socket $SOCK --json schedule next mo --count 3 | jq -e '[.next[].local | test(\"-(28|29|30|31)T18:30:00\")] | all'"
check "a second daemon on the same data directory is refused" sh -c "! $CHIMED --data '$DATA' --catalog '$CATALOG' 2>$T/second.log && grep -q 'another chimed' $T/second.log"

check "delete" ctl schedule delete "$id"
check_fails "deleted schedule is gone" 1 ctl schedule get "$id"
check "the journal verifies" "$JOURNAL" verify "$DATA"
check "SIGTERM drains and exits 0" stop_chimed
finish
