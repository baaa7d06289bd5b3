#!/bin/sh
# A journal damaged in the middle (a byte of a record or of a stored hash
# flipped, a record deleted, two records swapped): chimed still starts and
# reports the break in daemon.status, the metrics, the log and a
# journal.scrub record; found at start when the damage lies after the
# point verified earlier, by the background scrub when it lies before it,
# and at every start after that.  A damaged tail stops the start.
. "$(dirname "$0")/lib.sh"

TAMPER=$B/tests/chime-test-tamper
JD=$DATA/journal
# The journal is damaged on purpose: its tables need not follow its log.
REPLAY=0

# status_broken SEQ FOUND_BY: daemon.status reports the break.
status_broken() {
	ctlj daemon status | jq -e ".journal.chain.ok == false and
	    .journal.chain.broken_seq == $1 and
	    .journal.chain.found_by == \"$2\" and
	    (.journal.chain.reason | length) > 0" >/dev/null
}
# metric_broken SEQ: /metrics says so.
metric_broken() {
	curl -s "http://127.0.0.1:$HTTP_PORT/metrics" >"$T/metrics" &&
	    grep -qx 'chime_journal_chain_ok 0' "$T/metrics" &&
	    grep -qx "chime_journal_chain_broken_seq $1" "$T/metrics"
}
# log_broken SEQ FOUND_BY FROM_LINE: the log says so after line FROM_LINE.
log_broken() {
	tail -n "+$3" "$LOG" | grep -q "level=warn.*msg=\"journal chain broken\" seq=$1 found_by=$2 "
}
# event_broken SEQ SCOPE: a journal.scrub record says so.
event_broken() {
	"$JOURNAL" export "$DATA" >"$T/export.jsonl" &&
	    jq -se "map(select(.kind == \"journal.scrub\" and
	    .body.outcome == \"broken\" and .body.bad_seq == $1 and
	    .body.scope == \"$2\" and .account == null)) | length >= 1" \
	    "$T/export.jsonl" >/dev/null
}
# reported NAME SEQ FOUND_BY FROM_LINE: all four places.
reported() {
	check "$1: daemon.status names seq $2 ($3)" wait_for 20 status_broken "$2" "$3"
	check "$1: the metrics name seq $2" metric_broken "$2"
	check "$1: the log names seq $2" log_broken "$2" "$3" "$4"
	check "$1: a journal.scrub record names seq $2" wait_for 20 event_broken "$2" "$3"
}
# verify_says SEQ TEXT: chime-journal verify finds the same seq.
verify_says() {
	"$JOURNAL" verify "$DATA" >"$T/verify" 2>&1
	[ $? -eq 1 ] && grep -q "^bad: seq $1: .*$2" "$T/verify"
}
restore() {
	rm -rf "$DATA"
	cp -a "$T/pristine" "$DATA"
}
lines() { wc -l <"$LOG" | tr -d ' '; }

# ---- a journal of some 40 records, never verified at start --------------
start_chimed --scrub-interval 0
check "create a manual schedule" ctl schedule create --name s --op quick --manual
sid=$(ctlj schedule get s | jq -r .id)
i=0
while [ $i -lt 12 ]; do
	ctl schedule trigger s >/dev/null
	i=$((i + 1))
done
check "twelve runs succeed" wait_for 20 runs_with "$sid" success 12
check "an intact chain is ok in daemon.status" sh -c "$CHIMECTL --socket $SOCK --json daemon status | jq -e '.journal.chain.ok == true and .journal.chain.broken_seq == null'"
check "and in the metrics" sh -c "curl -s http://127.0.0.1:$HTTP_PORT/metrics | grep -qx 'chime_journal_chain_ok 1'"
check "drain" stop_chimed
head=$("$JOURNAL" verify "$DATA" | sed -n 's/^ok: \([0-9]*\) records.*/\1/p')
check "the journal has some records" test "${head:-0}" -ge 20
cp -a "$DATA" "$T/pristine"
K=10	# a record in the middle, well before the tail

# ---- found at start (after the verified point) --------------------------
# Byte 46 of a log value is the second letter of the kind (seq < 128): the
# record still decodes, its hash no longer matches.
check "flip a byte of record $K" "$TAMPER" "$JD" flip $K 46
from=$(lines)
start_chimed --scrub-interval 0
reported "flipped record" $K start "$from"
check "verify names the same seq" verify_says $K "hash mismatch"
check "the daemon goes on: a run succeeds" ctl schedule trigger s
check "and it is recorded" wait_for 20 runs_with "$sid" success 13
check "drain" stop_chimed

restore
check "flip a byte of the stored hash of record $K" "$TAMPER" "$JD" flip $K 5
from=$(lines)
start_chimed --scrub-interval 0
reported "flipped hash" $K start "$from"
check "verify names the same seq" verify_says $K "hash mismatch"
check "drain" stop_chimed

restore
check "delete record $K" "$TAMPER" "$JD" delete $K
from=$(lines)
start_chimed --scrub-interval 0
reported "deleted record" $K start "$from"
check "verify names the same seq" verify_says $K "missing"
check "drain" stop_chimed

restore
check "swap records $K and $((K + 1))" "$TAMPER" "$JD" swap $K $((K + 1))
from=$(lines)
start_chimed --scrub-interval 0
reported "swapped records" $K start "$from"
check "verify names the same seq" verify_says $K "record says seq $((K + 1))"
check "drain" stop_chimed

# ---- found by the scrub (before the verified point) ---------------------
restore
start_chimed --scrub-interval 0
check "a clean start verifies to the tail" sh -c "$CHIMECTL --socket $SOCK --json daemon status | jq -e '.journal.chain.ok and .journal.chain.verified_seq >= $head'"
check "drain" stop_chimed
check "flip a byte of record $K" "$TAMPER" "$JD" flip $K 46
from=$(lines)
start_chimed --scrub-interval 1s
reported "scrub" $K scrub "$from"
check "the start checked only what followed seq $head" sh -c "tail -n +$from '$LOG' | grep -q 'msg=\"journal chain checked\" from=$head '"
check "the scrub lowered the verified point" sh -c "$CHIMECTL --socket $SOCK --json daemon status | jq -e '.journal.chain.verified_seq == $((K - 1))'"
check "drain" stop_chimed
from=$(lines)
start_chimed --scrub-interval 0
reported "the next start" $K start "$from"
check "drain" stop_chimed

# ---- a bad tail stops the start -----------------------------------------
restore
last=$("$JOURNAL" verify "$DATA" | sed -n 's/^ok: \([0-9]*\) records.*/\1/p')
check "flip a byte of the last record ($last)" "$TAMPER" "$JD" flip "$last" 46
check_fails "chimed refuses to start" 1 "$CHIMED" --data "$DATA" --catalog "$CATALOG" --http none
check "with a message naming the tail" grep -q "chain tail mismatch at seq $last" "$T/last"
check "and writes nothing" sh -c "test \"\$('$JOURNAL' export '$DATA' | wc -l)\" -eq $last"
finish
