#!/bin/sh
# The journal of a fixed batch workload, record by record: batches of each
# type, a draft started later, a cancel with --abort, a max_cost cap, a
# schedule whose target is a batch template, a delete and a restart.  The
# export, with times, ids, sequence numbers and hashes taken out, must
# equal tests/integration/batch-export.expected: what batches write does
# not change unnoticed.  (CHIME_EXPORT_OUT=FILE keeps the normalised
# export.)
. "$(dirname "$0")/lib.sh"

EXPECTED=$S/tests/integration/batch-export.expected

# state ID: a batch's state.
state() { ctlj batch get "$1" --limit 0 | jq -r .state; }
ended() { state "$1" | grep -Eqx 'completed|failed|cancelled'; }
# run_batch FILE|-- FLAGS...: create, wait until it ended, print the id.
run_batch() {
	if [ "$1" = -- ]; then
		shift
		id=$(ctlj batch create "$@" | jq -r .id)
	else
		id=$(ctlj batch create -f "$@" | jq -r .id)
	fi
	wait_for 30 ended "$id" || fail "batch $id ends"
	echo "$id"
}
gates_started() { [ "$(ls "$T" | grep -c '^started\.')" -ge "$1" ]; }

start_chimed

cat > "$T/seq.json" <<'EOF'
{"name": "seq", "type": "sequential", "stop_on_failure": true,
 "operations": [{"id": "one", "operation": "quick", "sequence_order": 2},
  {"id": "two", "operation": "fail", "sequence_order": 1},
  {"id": "three", "operation": "quick", "sequence_order": 3}]}
EOF
cat > "$T/graph.json" <<'EOF'
{"name": "graph", "type": "conditional", "max_concurrent": 1,
 "operations": [{"id": "a", "operation": "quick", "parameters": {"n": 1}},
  {"id": "b", "operation": "fail", "depends_on": ["a"]},
  {"id": "c", "operation": "quick", "depends_on": ["b"],
   "trigger_rule": "one_failed"},
  {"id": "d", "operation": "quick", "depends_on": ["b"]},
  {"id": "e", "operation": "quick", "depends_on": ["c", "d"],
   "trigger_rule": "all_done"},
  {"id": "f", "operation": "quick", "depends_on": ["a", "c"],
   "trigger_rule": "none_failed"}]}
EOF
cat > "$T/tmpl.json" <<'EOF'
{"name": "from-template", "type": "sequential", "description": "fired",
 "operations": [{"id": "x", "operation": "quick"},
  {"id": "y", "operation": "quick", "parameters": {"k": "v"}}]}
EOF

PAR=$(run_batch -- --name par --op quick --count 3 --max-concurrent 1 \
    --param n=2 --priority 7)
check "parallel batch completed" test "$(state "$PAR")" = completed
SEQ=$(run_batch "$T/seq.json")
check "sequential batch stopped on failure" test "$(state "$SEQ")" = failed
GR=$(run_batch "$T/graph.json")
check "conditional batch ended" test "$(state "$GR")" = completed
DR=$(ctlj batch create --name draft --op quick --count 2 --draft \
    --max-concurrent 1 | jq -r .id)
check "a draft stays a draft" test "$(state "$DR")" = draft
check "the draft starts" ctl batch start "$DR"
check "the draft ends" wait_for 30 ended "$DR"
CAP=$(run_batch -- --name capped --op quick --count 4 --max-concurrent 1 \
    --max-cost 0.005)
check "max_cost: the batch failed" test "$(state "$CAP")" = failed
AB=$(ctlj batch create --name abort --op gate --count 3 --max-concurrent 1 |
    jq -r .id)
check "abort: one gate runs" wait_for 20 gates_started 1
check "abort: cancel --abort" ctl batch cancel "$AB" --reason "stop now" --abort
check "abort: nothing runs" wait_for 20 sh -c \
    "test \"\$($CHIMECTL --json batch get $AB --limit 0 | jq -r .running)\" = 0"
check "an ended batch is deleted" ctl batch delete "$PAR"

at=$(date -u -d @$(( $(date +%s) + 2 )) +%Y-%m-%dT%H:%M:%SZ)
check "a schedule firing a template once" \
    ctl schedule create --name tmpl --at "$at" -f "$T/tmpl.json"
sid=$(ctlj schedule get tmpl | jq -r .id)
fired() {
	ctlj batch list | jq -e "[.batches[] | select(.schedule == \"$sid\" and
	    .state == \"completed\")] | length == 1"
}
check "its batch completes" wait_for 30 fired
check "the schedule is completed" wait_for 10 sh -c \
    "$CHIMECTL --json schedule get tmpl | jq -e '.state == \"completed\"'"
stop_chimed
start_chimed
check "batches are loaded again" wait_for 10 sh -c \
    "$CHIMECTL --json batch list | jq -e '.batches | length == 6'"
stop_chimed

check_export "$EXPECTED"
finish
