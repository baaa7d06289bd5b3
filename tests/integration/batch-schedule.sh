#!/bin/sh
# A schedule whose target is a batch template: each occurrence creates and
# starts one batch (claiming the occurrence), overlap and restarts included.
. "$(dirname "$0")/lib.sh"

start_chimed
cat > "$T/quick.json" <<'JSON'
{"name": "pair", "type": "parallel", "max_concurrent": 2,
 "operations": [{"id": "a", "operation": "quick"},
                {"id": "b", "operation": "quick", "parameters": {"n": 2}}]}
JSON
cat > "$T/gate.json" <<'JSON'
{"name": "slow", "type": "sequential",
 "operations": [{"id": "g", "operation": "gate"}]}
JSON
cat > "$T/bad.json" <<'JSON'
{"name": "bad", "type": "parallel", "operations": [{"id": "x", "operation": "nosuch"}]}
JSON

batches_of() {	# batches_of SCHEDULE-ID STATE: how many
	ctlj batch list | jq "[.batches[] | select(.schedule == \"$1\" and .state == \"$2\")] | length"
}
at_least() { test "$(batches_of "$1" "$2")" -ge "$3"; }

check_fails "a bad template is refused" 1 ctl schedule create --name bad --every 1s -f "$T/bad.json"
check "the error names the template's operation" grep -q "operations\[0\]" "$T/last"
check_fails "a template and an operation together are refused" 1 ctl schedule create --name both --op quick --every 1s -f "$T/quick.json"

check "a schedule firing a batch every second" ctl schedule create --name pairs --every 1s -f "$T/quick.json"
id=$(ctlj schedule get pairs | jq -r .id)
check "its target is shown" sh -c "$CHIMECTL --socket $SOCK --json schedule get pairs | jq -e '.operation == \"batch\" and .batch.name == \"pair\"'"
check "each fire starts a batch that completes" wait_for 30 at_least "$id" completed 2
check_fails "a manual trigger of a batch target is refused" 1 ctl schedule trigger pairs
ctl schedule pause pairs >/dev/null

check "a slow batch target with overlap skip" ctl schedule create --name slow --every 1s -f "$T/gate.json"
sid=$(ctlj schedule get slow | jq -r .id)
check "the next fires are skipped while its batch runs" wait_for 20 sh -c "$CHIMECTL --socket $SOCK --json schedule runs slow --limit 100 | jq -e '[.runs[] | select(.status == \"skipped\" and .reason == \"overlap\")] | length >= 2'"
check "only one batch of it runs" test "$(batches_of "$sid" running)" -eq 1
ctl schedule pause slow >/dev/null
kill_chimed
start_chimed
touch "$T/release"
check "after a crash its batch is back and ends" wait_for 30 at_least "$sid" completed 1
check "no occurrence settled twice" no_double_claims
check "the journal verifies" "$JOURNAL" verify "$DATA"
finish
