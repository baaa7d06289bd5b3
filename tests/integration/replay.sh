#!/bin/sh
# chime-journal replay: the state tables rebuilt from the log alone equal
# the journal's (a history shrunk by an update included), also read beside
# a running daemon; a row changed behind
# the log's back is caught and named (table and key); bad usage and a DIR
# that is not empty are refused (exit 2) and write nothing.
. "$(dirname "$0")/lib.sh"

TAMPER=$B/tests/chime-test-tamper

# ended RUN_ID: the run has ended.
ended() {
	ctlj run get "$1" | jq -e '.status != "pending" and .status != "running"'
}

start_chimed
check "create a manual schedule" ctl schedule create --name r --op quick --manual
id=$(ctlj schedule ls | jq -r '.[] | select(.name == "r") | .id // empty' 2>/dev/null)
[ -n "$id" ] || id=$(ctlj schedule ls | jq -r '.schedules[] | select(.name == "r") | .id')
run=$(ctlj schedule trigger "$id" --key k1 | jq -r .run_id)
check "its run ends" wait_for 20 ended "$run"
check "a budget set" ctl account update default --monthly-budget 100
# A history shrunk by an update deletes the runs beyond it: replay too.
for k in k2 k3 k4; do
	last=$(ctlj schedule trigger "$id" --key "$k" | jq -r .run_id)
	check "run $k ends" wait_for 20 ended "$last"
done
check "the history shrunk to 2" ctl schedule update "$id" --history 2
check "... the two last runs are kept, the others deleted" json_ok \
    '[.runs[].run_id] | sort == ["'"$id"':3", "'"$id"':4"]' \
    ctlj schedule runs "$id"

check_fails "replay beside the running daemon: identical" 0 \
    "$JOURNAL" replay "$DATA" --into "$T/live"
check "it says so, with its figures" grep -q '^identical: [0-9]* records' "$T/last"

check_fails "no --into: bad usage" 2 "$JOURNAL" replay "$DATA"
check_fails "two data directories: bad usage" 2 "$JOURNAL" replay "$DATA" "$DATA" --into "$T/x"
mkdir "$T/full" && echo keep > "$T/full/file"
check_fails "a DIR that is not empty is refused" 2 "$JOURNAL" replay "$DATA" --into "$T/full"
check "and left as it was" sh -c "[ \"\$(ls '$T/full')\" = file ] && grep -q keep '$T/full/file'"

check "stops cleanly" stop_chimed

# A row changed behind the log's back.
key="$id:$(printf '%012d' 4)"
check "tamper with the run's row" "$TAMPER" "$DATA/journal" row runs "$key"
check_fails "replay finds the tables different" 1 \
    "$JOURNAL" replay "$DATA" --into "$T/after"
check "it names the table and the key" grep -q "^differs: table runs, key $key\$" "$T/last"
check "it shows the values as JSON" grep -q '^  replay: {"run_id"' "$T/last"
cp "$T/last" "$T/tampered"
check "and ends with the count" grep -q '^different: .* 1 differences$' "$T/last"
check "the log itself still verifies" "$JOURNAL" verify "$DATA"
# The tables now differ from the log on purpose.
REPLAY=0
finish
