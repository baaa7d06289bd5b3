# tests/integration/lib.sh: start a real chimed on a temporary data
# directory and drive it through its socket.  Sourced by each test script.
#
# Each check prints "PASS: <name>" or "FAIL: <name>"; the script exits 1 if
# any check failed.  Waiting is always for a condition (wait_for), with a
# deadline; never a fixed sleep standing in for an event.
set -u

B=${CHIME_BUILDDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
S=${CHIME_SRCDIR:-$B}
CHIMED=$B/chimed
CHIMECTL=$B/chimectl
JOURNAL=$B/chime-journal
T=$(mktemp -d "${TMPDIR:-/tmp}/chime-test.XXXXXX")
DATA=$T/data
SOCK=$DATA/chime.sock
LOG=$T/chimed.log
CATALOG=$S/tests/integration/catalog.json
CHIMED_PID=
FAILED=0
export CHIME_SOCKET=$SOCK
export CHIME_TEST_DIR=$T

cleanup() {
	if [ -n "$CHIMED_PID" ] && kill -0 "$CHIMED_PID" 2>/dev/null; then
		kill -9 "$CHIMED_PID" 2>/dev/null
		wait "$CHIMED_PID" 2>/dev/null
	fi
	# Operations of a killed daemon may outlive it: end them.
	pkill -9 -f "chime-test-op $T" 2>/dev/null
	if [ "$FAILED" -ne 0 ]; then
		echo "---- chimed log ($LOG) ----"
		tail -n 80 "$LOG" 2>/dev/null
	fi
	rm -rf "$T"
}
trap cleanup EXIT

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1${2:+ ($2)}"; FAILED=1; }

# check NAME CMD...: the command must succeed.
check() {
	name=$1
	shift
	if "$@" >"$T/out" 2>&1; then
		pass "$name"
	else
		fail "$name" "$(head -c 400 "$T/out" | tr '\n' ' ')"
	fi
}

# check_fails NAME STATUS CMD...: the command must exit with STATUS.
check_fails() {
	name=$1
	want=$2
	shift 2
	"$@" >"$T/out" 2>&1
	got=$?
	cp "$T/out" "$T/last"
	if [ "$got" -eq "$want" ]; then
		pass "$name"
	else
		fail "$name" "exit $got, wanted $want: $(head -c 300 "$T/out" |
		    tr '\n' ' ')"
	fi
}

# wait_for SECONDS CMD...: until the command succeeds, at most SECONDS.
wait_for() {
	limit=$1
	shift
	end=$(( $(date +%s) + limit ))
	while ! "$@" >/dev/null 2>&1; do
		if [ "$(date +%s)" -ge "$end" ]; then
			return 1
		fi
		sleep 0.05
	done
	return 0
}

ctl() { "$CHIMECTL" --socket "$SOCK" "$@"; }
ctlj() { "$CHIMECTL" --socket "$SOCK" --json "$@"; }

# start_chimed [FLAGS...]: start and wait until the socket answers.  The
# HTTP listener takes any free loopback port (FLAGS may override --http);
# HTTP_PORT is the port bound, empty without a listener.
start_chimed() {
	"$CHIMED" --data "$DATA" --catalog "$CATALOG" --log-level debug \
	    --http 127.0.0.1:0 "$@" >>"$LOG" 2>&1 &
	CHIMED_PID=$!
	if ! wait_for 20 ctl daemon status; then
		fail "chimed starts" "no answer on $SOCK"
		exit 1
	fi
	HTTP_PORT=$(ctlj daemon status | jq -r '.http.address // empty' |
	    sed 's/.*://')
	export HTTP_PORT
}

# stop_chimed: SIGTERM (drain), wait for exit; returns its status.
stop_chimed() {
	kill -TERM "$CHIMED_PID"
	wait "$CHIMED_PID"
	rc=$?
	CHIMED_PID=
	return $rc
}

# kill_chimed: kill -9, as a crash.
kill_chimed() {
	kill -9 "$CHIMED_PID"
	wait "$CHIMED_PID" 2>/dev/null
	CHIMED_PID=
}

# jget JSON-FILTER CMD...: run CMD (a --json command) and apply jq.
jget() {
	filter=$1
	shift
	"$@" | jq -r "$filter"
}

# runs_with SCHEDULE STATUS N: at least N runs of SCHEDULE have STATUS.
runs_with() {
	n=$(ctlj schedule runs "$1" --limit 1000 |
	    jq "[.runs[] | select(.status == \"$2\")] | length")
	[ "$n" -ge "$3" ]
}

# export_journal: the journal as JSON lines in $T/export.jsonl.
export_journal() {
	"$JOURNAL" export "$DATA" > "$T/export.jsonl"
}

# no_double_claims: no occurrence (schedule@instant) was settled by two runs.
no_double_claims() {
	export_journal || return 1
	jq -s '[.[] | select(.kind | startswith("run."))
	    | select(.body.run_id != null and .body.triggered_by != "manual")
	    | {r: .body.run_id, k: "\(.body.schedule)@\(.body.scheduled_for_us)"}]
	    | unique | group_by(.k) | map(select(length > 1)) | length == 0' \
	    "$T/export.jsonl" | grep -qx true
}

finish() {
	[ "$FAILED" -eq 0 ]
	exit $?
}
