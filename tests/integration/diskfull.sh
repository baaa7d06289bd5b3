#!/bin/sh
# A full disk loses nothing: the journal holds what it cannot write and
# writes it once there is room again.  A run that ends meanwhile keeps its
# result, usage and cost (it is not said finished before that is durable);
# changes are refused with data.reason "disk_full" and change nothing;
# readiness fails; fires are held and, once the journal writes again,
# settled by the catch-up policy, so every occurrence ends as exactly one
# record and no run number goes unused.
#
# The data directory is a small tmpfs, filled up with a file: the test
# needs root (it is skipped otherwise).
. "$(dirname "$0")/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "SKIP: needs root to mount a small file system"
	exit 77
fi
mkdir -p "$DATA"
if ! mount -t tmpfs -o size=48m,mode=0750 tmpfs "$DATA" 2>/dev/null; then
	echo "SKIP: cannot mount a tmpfs"
	exit 77
fi
diskfull_cleanup() {
	st=$?
	if [ -n "$CHIMED_PID" ]; then
		kill -9 "$CHIMED_PID" 2>/dev/null
		wait "$CHIMED_PID" 2>/dev/null
		CHIMED_PID=
	fi
	umount "$DATA" 2>/dev/null
	(exit "$st")
	cleanup
}
trap diskfull_cleanup EXIT

readyz() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/readyz"; }
# refused_disk_full: a new schedule late-N is refused for a full disk.
# Until the journal needs more room than the file system has, LMDB reuses
# free pages of its file and writes succeed: each try has a new name.
tries=0
refused_disk_full() {
	tries=$((tries + 1))
	ctlj schedule create --name "late-$tries" --op quick --manual \
	    2>"$T/refused" >/dev/null
	# (jq 1.6 -e passes on empty input: the answer must be there)
	[ -s "$T/refused" ] && jq -e '.code == -32006 and
	    .data.reason == "disk_full"' "$T/refused" >/dev/null
}
run_status() { ctlj run get "$1" | jq -r .status; }

start_chimed --trace sched
check "create a gate schedule" ctl schedule create --name g --op gate --manual
check "create a schedule firing every second" ctl schedule create --name tick \
    --op quick --every 1s
tick=$(ctlj schedule get tick | jq -r .id)
g=$(ctlj schedule trigger g | jq -r .run_id)
check "the gate run started" wait_for 20 test -e "$T/started.$g"
check "tick fires" wait_for 20 runs_with "$tick" success 2

# Fill the file system until the journal cannot write, then let the gate
# run end.
dd if=/dev/zero of="$DATA/fill" bs=1M >/dev/null 2>&1
check "changes are refused with data.reason disk_full" wait_for 30 refused_disk_full
check "the refused change left nothing" sh -c "! $CHIMECTL --socket $SOCK schedule get late-$tries >/dev/null 2>&1"
touch "$T/release"
check "the gate run's command ends" wait_for 20 grep -q "msg=\"exec finished\" run=$g " "$LOG"
check "readiness fails while the journal cannot write" wait_for 10 sh -c "test \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$HTTP_PORT/readyz)\" = 503"
check "fires are held" wait_for 20 grep -q "fire held: the journal cannot write" "$LOG"
check "reads still work" ctl schedule get tick
# LMDB may still find free pages in its file for a small record: the end
# is then durable, and only then said.  Either it is not said, or the
# journal already holds it.
said_only_when_durable() {
	grep -q "msg=\"run finished\" run=$g " "$LOG" || return 0
	export_journal && jq -s -e --arg r "$g" '[.[] | select(.kind ==
	    "run.finished" and .body.run_id == $r)] | length == 1' \
	    "$T/export.jsonl" >/dev/null
}
check "the gate run's end is not said done before it is durable" \
    said_only_when_durable
held_counter=$(ctlj schedule get tick | jq .run_counter)

# Room again.
rm -f "$DATA/fill"
check "the gate run's end is recorded with its result" wait_for 30 sh -c \
    "$CHIMECTL --socket $SOCK --json run get '$g' | jq -e '.status == \"success\" and .result.gate == true and .cost_usd != \"0.000000\"'"
check "changes work again" wait_for 30 ctl schedule create --name after --op quick --manual
check "readiness comes back" wait_for 10 sh -c "test \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$HTTP_PORT/readyz)\" = 200"
check "tick fires again" wait_for 20 sh -c "test \$($CHIMECTL --socket $SOCK --json schedule get tick | jq .run_counter) -gt $((held_counter + 1))"
# Every occurrence of tick up to its last fire is exactly one record (a
# run, a skip or a miss), numbered without a gap.
every_occurrence_once() {
	export_journal || return 1
	jq -s --arg s "$tick" '[.[] | select(.kind | startswith("run."))
	    | select(.body.schedule == $s and .body.scheduled_for_us != null
	      and .body.count == null)
	    | {n: .body.number, t: .body.scheduled_for_us}] | unique_by(.n)
	    | (map(.n) == [range(1; length + 1)])
	      and (map(.t) | unique | length) == length
	      and ([.[1:][] .t] as $b | [.[:-1][] .t] as $a
	        | [range(0; $a | length)] | all($b[.] - $a[.] == 1000000))' \
	    "$T/export.jsonl" | grep -qx true
}
check "every occurrence of tick is one record, numbers without a gap" every_occurrence_once
check "no occurrence was settled twice" no_double_claims
check "the journal verifies" "$JOURNAL" verify "$DATA"
check "the held fires were settled by catch-up" grep -q "held while the journal could not write catch up" "$LOG"
check "drain" stop_chimed
finish
