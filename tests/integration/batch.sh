#!/bin/sh
# Batches: parallel bounds, partial failure, sequential order, a conditional
# graph and its trigger rules, validation, cancel (with and without abort),
# max_cost, priority overtaking, and a crash mid-batch.
. "$(dirname "$0")/lib.sh"

# No checkpoints by time: one of the writer's own could land between the
# two reads of the journal's head around the refused requests below.
start_chimed --checkpoint-interval 0

# field ID KEY: a field of batch.get.
field() { ctlj batch get "$1" --limit 0 | jq -r ".$2"; }
# ended ID: the batch reached a final state.
ended() { field "$1" state | grep -Eqx 'completed|failed|cancelled'; }
# counts ID: "completed failed skipped cancelled running state".
counts() {
	ctlj batch get "$1" --limit 0 |
	    jq -r '"\(.completed) \(.failed) \(.skipped) \(.cancelled) \(.running) \(.state)"'
}
# create FILE [FLAGS]: create from FILE, print the id.
create() {
	f=$1
	shift
	ctlj batch create -f "$f" "$@" | jq -r .id
}
# op_status ID LOCAL: the status of one operation.
op_status() {
	ctlj batch ops "$1" | jq -r ".operations[] | select(.id == \"$2\") | .status"
}
op_reason() {
	ctlj batch ops "$1" | jq -r ".operations[] | select(.id == \"$2\") | .reason"
}
# max_in_flight ID: the most operations of ID in flight at once, from the
# journal's op.* records in seq order.
max_in_flight() {
	export_journal
	jq -s --arg b "$1" '[.[] | select((.kind | startswith("op.")) and .body.schedule == $b)]
	    | reduce .[] as $r ({set: {}, max: 0};
		if $r.kind == "op.started" then .set[$r.body.run_id] = 1
		    | .max = ([.max, (.set | length)] | max)
		else del(.set[$r.body.run_id]) end) | .max' "$T/export.jsonl"
}
# kinds ID KIND: how many records of KIND the journal has for batch ID.
kinds() {
	export_journal
	jq -s --arg b "$1" --arg k "$2" '[.[] | select(.kind == $k and
	    (.body.schedule == $b or .body.id == $b))] | length' "$T/export.jsonl"
}
# gates_started N: at least N gate operations have started.
gates_started() {
	[ "$(ls "$T" | grep -c '^started\.')" -ge "$1" ]
}

# ---- parallel: at most max_concurrent at once ----------------------------
P=$(ctlj batch create --name par --op quick --count 20 --max-concurrent 5 |
    jq -r .id)
check "parallel: created and started" test -n "$P"
check "parallel: all 20 end" wait_for 30 ended "$P"
check "parallel: 20 completed" test "$(counts "$P")" = "20 0 0 0 0 completed"
check "parallel: never more than 5 running at once" \
    test "$(max_in_flight "$P")" -le 5
check "parallel: 5 did run at once" test "$(max_in_flight "$P")" -eq 5
check "parallel: 20 op.completed records" test "$(kinds "$P" op.completed)" -eq 20
check "parallel: one batch.completed record" \
    test "$(kinds "$P" batch.completed)" -eq 1
check "parallel: spent is the sum of the operations' costs" \
    test "$(field "$P" spent_usd)" = "0.040000"

# ---- partial failure -----------------------------------------------------
cat > "$T/partial.json" <<'EOF'
{"name": "partial", "type": "parallel", "max_concurrent": 4, "operations": [
 {"operation": "quick"}, {"operation": "fail"}, {"operation": "quick"},
 {"operation": "fail"}, {"operation": "quick"}, {"operation": "quick"},
 {"operation": "fail"}, {"operation": "quick"}]}
EOF
PF=$(create "$T/partial.json")
check "partial failure: ends" wait_for 30 ended "$PF"
check "partial failure: exact counts, the batch completed" \
    test "$(counts "$PF")" = "5 3 0 0 0 completed"
check "partial failure: op.failed records" test "$(kinds "$PF" op.failed)" -eq 3

# ---- retries: an attempt that fails is retried per the operation ---------
FL=$(ctlj batch create --name flaky --op flaky --count 2 | jq -r .id)
check "retries: ends" wait_for 30 ended "$FL"
check "retries: both completed on their second attempt" \
    test "$(counts "$FL")" = "2 0 0 0 0 completed"
check "retries: op.retrying records" test "$(kinds "$FL" op.retrying)" -eq 2

# ---- sequential: strict order --------------------------------------------
cat > "$T/seq.json" <<'EOF'
{"name": "seq", "type": "sequential", "operations": [
 {"id": "s3", "operation": "quick", "sequence_order": 30},
 {"id": "s1", "operation": "quick", "sequence_order": 10},
 {"id": "s4", "operation": "fail", "sequence_order": 40},
 {"id": "s2", "operation": "quick", "sequence_order": 20},
 {"id": "s5", "operation": "quick", "sequence_order": 50}]}
EOF
SQ=$(create "$T/seq.json")
check "sequential: ends" wait_for 30 ended "$SQ"
check "sequential: a failure does not stop the rest" \
    test "$(counts "$SQ")" = "4 1 0 0 0 completed"
seq_order() {
	export_journal
	jq -s -r --arg b "$SQ" '[.[] | select((.kind | startswith("op.")) and .body.schedule == $b)]
	    | map("\(.kind):\(.body.number)") | join(" ")' "$T/export.jsonl"
}
check "sequential: each starts after the previous ended, by sequence_order" \
    test "$(seq_order)" = "op.started:2 op.completed:2 op.started:4 op.completed:4 op.started:1 op.completed:1 op.started:3 op.failed:3 op.started:5 op.completed:5"

sed 's/"name": "seq"/"name": "seq-stop", "stop_on_failure": true/' \
    "$T/seq.json" > "$T/seq-stop.json"
SS=$(create "$T/seq-stop.json")
check "stop_on_failure: ends failed" wait_for 30 sh -c \
    "test \"\$($CHIMECTL --json batch get $SS --limit 0 | jq -r .state)\" = failed"
check "stop_on_failure: the rest is skipped" \
    test "$(counts "$SS")" = "3 1 1 0 0 failed"
check "stop_on_failure: skipped with its reason" \
    test "$(op_reason "$SS" s5)" = "stop_on_failure"

# ---- conditional: a diamond and the trigger rules ------------------------
cat > "$T/diamond.json" <<'EOF'
{"name": "diamond", "type": "conditional", "max_concurrent": 10, "operations": [
 {"id": "A", "operation": "quick"},
 {"id": "B", "operation": "fail", "depends_on": ["A"]},
 {"id": "C", "operation": "quick", "depends_on": ["A"]},
 {"id": "D", "operation": "quick", "depends_on": ["B", "C"]},
 {"id": "E", "operation": "quick", "depends_on": ["D"]},
 {"id": "all_done", "operation": "quick", "depends_on": ["B", "C"], "trigger_rule": "all_done"},
 {"id": "one_failed", "operation": "quick", "depends_on": ["B", "C"], "trigger_rule": "one_failed"},
 {"id": "none_failed", "operation": "quick", "depends_on": ["B", "C"], "trigger_rule": "none_failed"},
 {"id": "none_failed_ok", "operation": "quick", "depends_on": ["C", "E"], "trigger_rule": "none_failed"},
 {"id": "one_failed_no", "operation": "quick", "depends_on": ["A", "C"], "trigger_rule": "one_failed"}]}
EOF
CD=$(create "$T/diamond.json")
check "conditional: ends" wait_for 30 ended "$CD"
check "conditional: B failed" test "$(op_status "$CD" B)" = failed
check "conditional: D (all_success) skipped" test "$(op_status "$CD" D)" = skipped
check "conditional: D skipped because of a dependency" \
    test "$(op_reason "$CD" D)" = dependency
check "conditional: the skip propagates to E" test "$(op_status "$CD" E)" = skipped
check "trigger rule all_done runs" test "$(op_status "$CD" all_done)" = completed
check "trigger rule one_failed runs" test "$(op_status "$CD" one_failed)" = completed
check "trigger rule none_failed skipped after a failure" \
    test "$(op_status "$CD" none_failed)" = skipped
check "trigger rule none_failed runs after a skip" \
    test "$(op_status "$CD" none_failed_ok)" = completed
check "trigger rule one_failed skipped when nothing failed" \
    test "$(op_status "$CD" one_failed_no)" = skipped
check "conditional: exact counts" test "$(counts "$CD")" = "5 1 4 0 0 completed"

# ---- validation: nothing is written --------------------------------------
before=$(ctlj daemon status | jq .journal.seq)
bad() {
	printf '%s' "$2" > "$T/bad.json"
	check_fails "rejected: $1" 1 ctl batch create -f "$T/bad.json"
	check "rejected: $1 names $3" grep -q -- "$3" "$T/last"
}
bad "a cycle" '{"name":"x","type":"conditional","operations":[{"id":"a","operation":"quick","depends_on":["c"]},{"id":"b","operation":"quick","depends_on":["a"]},{"id":"c","operation":"quick","depends_on":["b"]}]}' 'depends_on'
bad "an unknown dependency" '{"name":"x","type":"conditional","operations":[{"id":"a","operation":"quick"},{"id":"b","operation":"quick","depends_on":["zz"]}]}' 'operations\[1\].depends_on'
bad "a self dependency" '{"name":"x","type":"conditional","operations":[{"id":"a","operation":"quick","depends_on":["a"]}]}' 'operations\[0\].depends_on'
bad "a bad priority" '{"name":"x","priority":11,"operations":[{"operation":"quick"}]}' 'priority'
bad "an empty batch" '{"name":"x","operations":[]}' 'operations'
bad "an unknown operation" '{"name":"x","operations":[{"operation":"quick"},{"operation":"nope"}]}' 'operations\[1\].operation'
bad "a duplicate id" '{"name":"x","operations":[{"id":"a","operation":"quick"},{"id":"a","operation":"quick"}]}' 'operations\[1\].id'
after=$(ctlj daemon status | jq .journal.seq)
check "rejected batches wrote nothing" test "$before" = "$after"

# ---- draft, start, delete ------------------------------------------------
DR=$(ctlj batch create --name draft --op quick --count 2 --draft | jq -r .id)
check "draft: created as draft" test "$(field "$DR" state)" = draft
check "draft: nothing runs" test "$(counts "$DR")" = "0 0 0 0 0 draft"
check "draft: start" ctl batch start "$DR"
check "draft: then runs to the end" wait_for 30 ended "$DR"
check_fails "start twice is refused" 1 ctl batch start "$DR"
check "delete an ended batch" ctl batch delete "$DR"
check_fails "deleted: not found" 1 ctl batch get "$DR"

# ---- cancel with --abort, then without -----------------------------------
AB=$(ctlj batch create --name abort --op gate --count 6 --max-concurrent 2 | jq -r .id)
check "abort: two gates run" wait_for 20 gates_started 2
check "abort: cancel --abort" ctl batch cancel "$AB" --reason "stop now" --abort
check "abort: running ones are stopped" wait_for 20 sh -c \
    "test \"\$($CHIMECTL --json batch get $AB --limit 0 | jq -r .running)\" = 0"
check "abort: exact counts" test "$(counts "$AB")" = "0 0 4 2 0 cancelled"
check "abort: reason kept" test "$(field "$AB" reason)" = "stop now"
check_fails "cancel of an ended batch is refused" 1 ctl batch cancel "$AB"
check "a refused cancel changed nothing" test "$(counts "$AB")" = "0 0 4 2 0 cancelled"

rm -f "$T"/started.*
CA=$(ctlj batch create --name cancel --op gate --count 5 --max-concurrent 2 | jq -r .id)
check "cancel: two gates run" wait_for 20 gates_started 2
check "cancel: cancel" ctl batch cancel "$CA" --reason "enough"
check "cancel: pending skipped, running go on" \
    test "$(counts "$CA")" = "0 0 3 0 2 cancelled"
touch "$T/release"
check "cancel: the running ones finish" wait_for 30 sh -c \
    "test \"\$($CHIMECTL --json batch get $CA --limit 0 | jq -r .running)\" = 0"
check "cancel: exact counts" test "$(counts "$CA")" = "2 0 3 0 0 cancelled"
check "cancel: one batch.cancelled record" test "$(kinds "$CA" batch.cancelled)" -eq 1

# ---- max_cost ------------------------------------------------------------
# quick's mid estimate is 0.002000 USD: two fit under 0.005, the third not.
MC=$(ctlj batch create --name capped --op quick --count 5 --max-concurrent 1 \
    --max-cost 0.005 | jq -r .id)
check "max_cost: ends" wait_for 30 ended "$MC"
check "max_cost: two ran, three skipped, the batch failed" \
    test "$(counts "$MC")" = "2 0 3 0 0 failed"
check "max_cost: skipped with reason batch_budget" \
    test "$(op_reason "$MC" op-5)" = batch_budget
check "max_cost: spent stays within the cap" \
    test "$(field "$MC" spent_usd)" = "0.004000"

# ---- crash mid-batch -----------------------------------------------------
rm -f "$T/release" "$T"/started.* "$T/pids"
CR=$(ctlj batch create --name crash --op gate --count 6 --max-concurrent 2 | jq -r .id)
check "crash: two gates run" wait_for 20 gates_started 2
CI=$(ctlj batch create --name crash-idem --op gate-idem --count 1 | jq -r .id)
check "crash: an idempotent gate runs too" wait_for 20 gates_started 3
kill_chimed
start_chimed
check "batches are loaded at start" grep -q 'msg="batches loaded"' "$LOG"
check "crash: the batch is back" test "$(field "$CR" state)" = running
touch "$T/release"
check "crash: it ends" wait_for 30 ended "$CR"
check "crash: exact counts (the two in flight were interrupted)" \
    test "$(counts "$CR")" = "4 2 0 0 0 completed"
check "crash: six executions, none twice (and the retry)" \
    test "$(wc -l < "$T/pids")" -eq 8
check "crash: one op.started per operation" \
    test "$(kinds "$CR" op.started)" -eq 6
check "crash: the idempotent one is run again and completes" \
    wait_for 30 ended "$CI"
check "crash: its counts" test "$(counts "$CI")" = "1 0 0 0 0 completed"
check "run.get shows a batch's run" sh -c "$CHIMECTL --socket $SOCK --json run get '$CI:1' | jq -e '.status == \"success\" and .triggered_by == \"batch\"'"
check "crash: it was retried, not interrupted" \
    test "$(kinds "$CI" op.retrying)" -eq 1
stop_chimed

# ---- priority overtaking -------------------------------------------------
rm -f "$T/release" "$T"/started.*
start_chimed --max-running 1
LO=$(ctlj batch create --name low --op gate --count 4 --max-concurrent 4 --priority 1 | jq -r .id)
check "priority: the low batch holds the only slot" wait_for 20 gates_started 1
HI=$(ctlj batch create --name high --op quick --count 2 --priority 10 | jq -r .id)
touch "$T/release"
check "priority: both end" wait_for 30 sh -c "$CHIMECTL --json batch get $HI --limit 0 | jq -e '.state == \"completed\"' && $CHIMECTL --json batch get $LO --limit 0 | jq -e '.state == \"completed\"'"
first_started() {
	export_journal
	jq -s -r --arg lo "$LO" --arg hi "$HI" '[.[] | select(.kind == "op.started"
	    and (.body.schedule == $lo or .body.schedule == $hi))]
	    | map(if .body.schedule == $hi then "H" else "L" end) | join("")' \
	    "$T/export.jsonl"
}
check "priority: the priority-10 batch overtakes the waiting priority-1 ops" \
    test "$(first_started)" = "LHHLLL"

# An ended batch says how it went, and the table shows every count.
FB=$(ctlj batch create --name failing --op fail --count 2 | jq -r .id)
printf '%s\n' '{"name": "mixed", "type": "parallel", "operations": [{"operation": "quick"}, {"operation": "fail"}]}' >"$T/mixed.json"
MB=$(ctlj batch create -f "$T/mixed.json" | jq -r .id)
check "a batch whose operations all failed: outcome failed" wait_for 30 sh -c \
    "$CHIMECTL --json batch get $FB --limit 0 | jq -e '.state == \"completed\" and .outcome == \"failed\" and .failed == 2'"
check "a batch with some failed: outcome partial" wait_for 30 sh -c \
    "$CHIMECTL --json batch get $MB --limit 0 | jq -e '.outcome == \"partial\"'"
check "a batch that all went well: outcome succeeded" sh -c \
    "$CHIMECTL --json batch get $HI --limit 0 | jq -e '.outcome == \"succeeded\"'"
check "batch ls shows the outcome, failed and cancelled columns" sh -c \
    "$CHIMECTL batch ls | head -n 1 | grep -q 'OUTCOME.*FAILED.*CANCELLED' && $CHIMECTL batch ls | grep failing | grep -q ' failed '"

check "the journal verifies" "$JOURNAL" verify "$DATA"
finish
