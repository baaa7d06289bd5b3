# tests/integration/lib.sh: start a real chimed on a temporary data
# directory and drive it through its socket.  Sourced by each test script.
#
# Each check prints "PASS: <name>" or "FAIL: <name>"; the script exits 1 if
# any check failed.  Waiting is always for a condition (wait_for), with a
# deadline; never a fixed sleep standing in for an event.
set -u

B=${CHIME_BUILDDIR:-$(cd "$(dirname "$0")/../.." && pwd)}
S=${CHIME_SRCDIR:-$B}
# jq -e fails on empty input (tests/integration/shim/jq says why).
PATH=$S/tests/integration/shim:$PATH
export PATH
CHIMED=$B/chimed
CHIMECTL=$B/chimectl
JOURNAL=$B/chime-journal
HOLD_JOURNAL=$B/tests/chime-test-hold
T=$(mktemp -d "${TMPDIR:-/tmp}/chime-test.XXXXXX")
DATA=$T/data
SOCK=$DATA/chime.sock
LOG=$T/chimed.log
CATALOG=$S/tests/integration/catalog.json
CHIMED_PID=
FAILED=0
export CHIME_SOCKET=$SOCK
export CHIME_TEST_DIR=$T
# The test's own standard output, also inside "check" (replay_check).
exec 3>&1

# On exit (also an early one): end the daemon, run the leak check if
# finish did not, show the log (secrets masked) if something failed.  A
# leak turns a passing exit status into 1; other exit statuses are kept.
cleanup() {
	status=$?
	if [ -n "$CHIMED_PID" ] && kill -0 "$CHIMED_PID" 2>/dev/null; then
		kill -9 "$CHIMED_PID" 2>/dev/null
		wait "$CHIMED_PID" 2>/dev/null
	fi
	# Operations of a killed daemon may outlive it: end them.
	pkill -9 -f "chime-test-op $T" 2>/dev/null
	if ! leak_check && [ "$status" -eq 0 ]; then
		status=1
	fi
	if [ "$FAILED" -ne 0 ]; then
		echo "---- chimed log ($LOG) ----"
		tail -n 80 "$LOG" 2>/dev/null | secret_mask
	fi
	rm -rf "$T"
	[ "$status" -eq 0 ] || exit "$status"
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
		fail "$name" "$(head -c 400 "$T/out" | secret_mask |
		    tr '\n' ' ')"
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
		    secret_mask | tr '\n' ' ')"
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

# stays_empty SECONDS FILE: FILE is still empty after SECONDS (for what
# must not happen within a time: an answer that must wait).
stays_empty() {
	! wait_for "$1" test -s "$2"
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

# stop_chimed: SIGTERM (drain), wait for exit; returns its status.  A
# clean stop is followed by replay_check.
stop_chimed() {
	kill -TERM "$CHIMED_PID"
	wait "$CHIMED_PID"
	rc=$?
	CHIMED_PID=
	[ $rc -ne 0 ] || replay_check
	return $rc
}

# replay_check: chime-journal replay rebuilds every state table from the
# log alone and finds them identical to the journal's (a failure prints
# the first differences).  A test whose journal is damaged on purpose sets
# REPLAY=0; one whose journal was archived gives the archives'
# options in REPLAY_ARCHIVES ("--archive FILE ...").
replay_check() {
	[ "${REPLAY:-1}" = 1 ] && [ -e "$DATA/journal/data.mdb" ] || return 0
	REPLAY_N=$(( ${REPLAY_N:-0} + 1 ))
	# shellcheck disable=SC2086
	if "$JOURNAL" replay "$DATA" --into "$T/replay.$REPLAY_N" \
	    ${REPLAY_ARCHIVES:-} >"$T/replay.out" 2>&1; then
		pass "replay $REPLAY_N: the log rebuilds the state tables" >&3
	else
		fail "replay $REPLAY_N: the log rebuilds the state tables" >&3
		sed 's/^/  /' "$T/replay.out" | head -n 60 | secret_mask >&3
	fi
	rm -rf "$T/replay.$REPLAY_N"
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

# json_ok FILTER CMD...: the answer of CMD (a --json command) passes
# jq -e FILTER.
json_ok() {
	f=$1
	shift
	"$@" | jq -e "$f" >/dev/null
}

# error_is CODE CMD...: CMD (a --json command) fails with error CODE.
error_is() {
	want=$1
	shift
	got=$("$@" 2>&1 >/dev/null | jq -r .code 2>/dev/null)
	[ "$got" = "$want" ]
}

# create_hook NAME: create the webhook schedule NAME (operation quick, a
# generated secret), its answer (or error) in $T/create; HOOK_ID and
# HOOK_SECRET are its id and secret, a secret of the test (secret_used).
create_hook() {
	ctlj schedule create --name "$1" --op quick --webhook \
	    --webhook-secret generated > "$T/create" 2>&1
	HOOK_ID=$(jq -r .id "$T/create")
	HOOK_SECRET=$(jq -r .webhook_secret "$T/create")
	secret_used "$HOOK_SECRET"
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

# normalise: the export ($T/export.jsonl) without what differs from run to
# run (times, ids numbered in order of appearance, sequence numbers,
# hashes, pids, the month, SHA-256 fingerprints, the instant in a rotated
# secret's name) and without checkpoint records (signed with a key of
# each run's own, written on a clock), one record a line: what the *-export.sh and
# schedule-workload.sh scripts compare with their expected files.
normalise() {
	jq -s -c '
	    def when: if type == "number" then (if . == 0 then 0 else "T" end)
		elif type == "string" then "T" else . end;
	    . as $all
	    | (reduce ([$all[] | tostring | scan("[bs]_[a-z0-9]{12}")][]) as $id
		({}; if has($id) then . else .[$id] = "ID\(length + 1)" end))
		as $map
	    | $all[] | select(.kind != "checkpoint")
	    | del(.seq, .time, .time_us, .hash)
	    | walk(if type == "object" then with_entries(
		if (.key | test("_us$|^pid$|^by_pid$|^catalog$|^nominal_local$"))
		then .value |= when
		elif .key == "month_key" and .value != 0 then .value = "M"
		elif .key == "row_key" then .value = "K"
		elif .key == "claim" then .value |= sub("@[0-9]+$"; "@T")
		else . end) else . end)
	    | walk(if type == "string" then
		gsub("(?<i>[bs]_[a-z0-9]{12})"; $map[.i])
		| gsub("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z?"; "T")
		| gsub("[0-9a-f]{64}"; "FP")
		| gsub("^(?<r>generated:ID[0-9]+\\.r)[0-9]+$"; "\(.r)N")
		else . end)' "$T/export.jsonl"
}

# check_export EXPECTED: the normalised export of the stopped daemon's
# journal equals file EXPECTED (CHIME_EXPORT_OUT=FILE keeps it, to make
# the file anew after a change that is meant), and the journal verifies.
check_export() {
	export_journal
	normalise > "$T/got.jsonl"
	[ -n "${CHIME_EXPORT_OUT:-}" ] && cp "$T/got.jsonl" "$CHIME_EXPORT_OUT"
	check "the export is the expected one" diff -u "$1" "$T/got.jsonl"
	check "the journal verifies" "$JOURNAL" verify "$DATA"
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

# --- a second uid --------------------------------------------------------
# Tests of what a tenant may do act as OTHER_UID (nobody) with setpriv.
# other_uid_ready: that is possible (root and setpriv), and the uid may
# pass $T to reach the daemon's default socket (0666 in its 0711 data
# directory); else 1 and the test should skip.  as_uid UID CMD...: run CMD
# as UID (and its own group); as_other CMD...: as OTHER_UID.  nb ARGS...:
# chimectl as OTHER_UID, on the test's socket.
OTHER_UID=65534
other_uid_ready() {
	[ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1 &&
	    chmod 711 "$T"
}
as_uid() {
	u=$1
	shift
	setpriv --reuid="$u" --regid="$u" --clear-groups "$@"
}
as_other() { as_uid "$OTHER_UID" "$@"; }
nb() { as_other "$CHIMECTL" --socket "$SOCK" "$@"; }

# --- secrets: none may leak ----------------------------------------------
# A test registers every secret it gives the daemon (or the daemon makes)
# with secret_used; at the end leak_check looks for each in the journal
# export, the data directory outside secrets/ and the daemon's log.
SECRETS_USED=$T/secrets.used		# one registered value a line
SECRETS_GREP=$T/secrets.grep		# the strings looked for, one a line
SECRET_MIN=12				# shorter values would match by chance
LEAK_CHECKED=0
LEAK_FILES=0

# secret_used VALUE...: remember VALUE as a secret of this test.  For a
# whsec_BASE64 value its base64 (without padding) and the hex of the key
# it decodes to are looked for as well.  A value shorter than SECRET_MIN
# characters or holding a newline is not looked for (a note says so).
secret_used() {
	local v b h
	for v in "$@"; do
		case $v in
		*'
'*)
			echo "NOTE: secret_used: a value with a newline is" \
			    "ignored (register it line by line)"
			continue
			;;
		esac
		if [ "${#v}" -lt "$SECRET_MIN" ]; then
			echo "NOTE: secret_used: a value of ${#v} characters" \
			    "is ignored: under $SECRET_MIN it would match by" \
			    "chance"
			continue
		fi
		printf '%s\n' "$v" >>"$SECRETS_USED"
		printf '%s\n' "$v" >>"$SECRETS_GREP"
		case $v in
		whsec_*)
			b=${v#whsec_}
			b=${b%%=*}
			if [ "${#b}" -ge "$SECRET_MIN" ]; then
				printf '%s\n' "$b" >>"$SECRETS_GREP"
			fi
			h=$(printf '%s' "${v#whsec_}" | base64 -d 2>/dev/null |
			    od -An -v -tx1 | tr -d ' \n')
			if [ "${#h}" -ge "$SECRET_MIN" ]; then
				printf '%s\n' "$h" >>"$SECRETS_GREP"
			fi
			;;
		esac
	done
}

# secret_mask: copy stdin to stdout with every registered secret replaced
# by "[secret]", so that what a failing test shows does not hold one.
secret_mask() {
	if [ ! -s "$SECRETS_GREP" ]; then
		cat
		return
	fi
	awk 'NR == FNR { if (length($0) > 0) p[++n] = $0; next }
	    { for (i = 1; i <= n; i++)
		while ((j = index($0, p[i])) > 0)
			$0 = substr($0, 1, j - 1) "[secret]" \
			    substr($0, j + length(p[i]))
	      print }' "$SECRETS_GREP" -
}

# leak_scan [DATADIR [LOGFILE [PATTERNS]]]: look for each line of PATTERNS
# (default: the registered secrets) as a fixed string, binary files
# included, in the journal export of DATADIR, every file under DATADIR
# but DATADIR/secrets/ and LOGFILE (defaults $DATA and $LOG).  Prints the
# name of each file holding one ("journal export" for the export), never
# the secret, and leaves the number of files looked at in LEAK_FILES.
# Returns 0 when none holds one, 1 when one does.  It neither exits nor
# touches FAILED, so that a test can call it to see it find a leak.
leak_scan() {
	local dir lf pat list f hit
	dir=${1:-$DATA}
	lf=${2:-$LOG}
	pat=${3:-$SECRETS_GREP}
	list=$T/leak.files
	hit=0
	if "$JOURNAL" export "$dir" >"$T/leak.export" 2>"$T/leak.err"; then
		if grep -qaF -f "$pat" "$T/leak.export"; then
			echo "journal export"
			hit=1
		fi
		LEAK_FILES=1
	else
		echo "NOTE: no journal export of $dir ($(head -c 200 \
		    "$T/leak.err" | tr '\n' ' ')); its files are still" \
		    "searched" >&2
		LEAK_FILES=0
	fi
	rm -f "$T/leak.export"
	find "$dir" -path "$dir/secrets" -prune -o -type f -print >"$list"
	if [ -f "$lf" ]; then
		printf '%s\n' "$lf" >>"$list"
	fi
	while IFS= read -r f; do
		LEAK_FILES=$((LEAK_FILES + 1))
		if grep -qsaF -f "$pat" -- "$f"; then
			printf '%s\n' "$f"
			hit=1
		fi
	done <"$list"
	return $hit
}

# leak_check: the check "no secret leaked" over $DATA and $LOG, once a
# test (finish runs it, else the exit trap).  Silent when the test
# registered no secret or has no data directory.  Returns 1 on a leak.
leak_check() {
	local n
	if [ "$LEAK_CHECKED" -ne 0 ] || [ ! -s "$SECRETS_USED" ] ||
	    [ ! -d "$DATA" ]; then
		return 0
	fi
	LEAK_CHECKED=1
	n=$(sort -u "$SECRETS_USED" | wc -l | tr -d ' ')
	if leak_scan >"$T/leak.hits"; then
		pass "no secret leaked ($n secret(s) sought in $LEAK_FILES files)"
		return 0
	fi
	fail "no secret leaked" "a secret is in: $(sed "s|^$T/||" \
	    "$T/leak.hits" | paste -sd ' ')"
	return 1
}

# --- webhook signing (openssl; independent of the daemon's code) ---------

# sign ID TS BODY HEXKEY: the Standard Webhooks "v1,BASE64" signature of
# ID.TS.BODY under the key bytes HEXKEY.
sign() {
	printf '%s.%s.%s' "$1" "$2" "$3" | openssl dgst -sha256 -mac HMAC \
	    -macopt "hexkey:$4" -binary | base64 | tr -d '\n' |
	    sed 's/^/v1,/'
}

# hexkey SECRET: the key bytes of a Standard Webhooks SECRET in hex, as
# the reference libraries decode it: the base64 after an optional whsec_
# prefix (its padding added if left out).
hexkey() {
	local k
	k=${1#whsec_}
	while [ $((${#k} % 4)) -ne 0 ]; do
		k="$k="
	done
	printf '%s' "$k" | base64 -d | od -An -v -tx1 | tr -d ' \n'
}

# post SCHEDULE ID TS SIG BODY: POST a Standard Webhooks delivery; prints
# the status code, the answer in $T/body.
post() {
	curl -s -o "$T/body" -w '%{http_code}' --max-time 20 -X POST \
	    -H "webhook-id: $2" -H "webhook-timestamp: $3" \
	    -H "webhook-signature: $4" -H 'Content-Type: application/json' \
	    --data-binary "$5" "http://127.0.0.1:$HTTP_PORT/v1/hooks/$1"
}

# run_is RUN STATUS: run RUN has STATUS.
run_is() {
	ctlj run get "$1" | jq -e ".status == \"$2\""
}

# --- holding the journal's writer -----------------------------------------

# hold_journal: take the daemon's journal write lock (tests/chime-test-hold,
# made by `make check`) until release_journal.  The daemon's next commit
# waits for it, and so does everything that waits for a durable record.
hold_journal() {
	if [ ! -x "$HOLD_JOURNAL" ]; then
		fail "hold_journal" "$HOLD_JOURNAL is not built" \
		    "(make check TESTS= builds it)"
		exit 1
	fi
	rm -f "$T/hold.out"
	"$HOLD_JOURNAL" "$DATA/journal" </dev/null \
	    >"$T/hold.out" 2>&1 &
	HOLD_PID=$!
	if ! wait_for 20 grep -qx held "$T/hold.out"; then
		fail "hold_journal" "$(cat "$T/hold.out")"
		exit 1
	fi
}

# release_journal: give the lock back; the daemon commits what waited.
release_journal() {
	kill -TERM "$HOLD_PID"
	wait "$HOLD_PID"
}

finish() {
	# A daemon still running: replay a snapshot of its journal.
	if [ -n "$CHIMED_PID" ] && kill -0 "$CHIMED_PID" 2>/dev/null; then
		replay_check
	fi
	leak_check
	[ "$FAILED" -eq 0 ]
	exit $?
}

# python_with MODULE: the python3 that imports MODULE (Debian's first,
# whatever else is first on PATH), or nothing.
python_with() {
	for p in /usr/bin/python3 python3; do
		if "$p" -c "import $1" 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# smtp_need: exit 77 (skipped) unless a python3 with aiosmtpd is here
# (Debian's python3-aiosmtpd, installed by scripts/bootstrap); sets PY.
smtp_need() {
	if ! PY=$(python_with aiosmtpd); then
		echo "SKIP: python3-aiosmtpd is not installed (scripts/bootstrap" \
		    "installs it)"
		exit 77
	fi
}

# smtp_relay DIR [CERT KEY USER PASSWORD [SCRIPT]]: a real SMTP relay on
# loopback (tests/integration/smtp-relay.py: STARTTLS with CERT and KEY,
# AUTH with USER and PASSWORD, "-" for none; SCRIPT: the replies it gives
# some recipients) writing every message it takes into DIR; RPORT its
# port; stopped when the test exits.  smtp_need first.
smtp_relay() {
	dir=$1
	shift
	[ $# -gt 0 ] || set -- - - - -
	mkdir -p "$dir"
	rm -f "$T/relay.port"
	"$PY" "$S/tests/integration/smtp-relay.py" "$dir" "$T/relay.port" \
	    "$@" >"$T/relay.log" 2>&1 &
	RELAY_PID=$!
	trap 'st=$?; kill "$RELAY_PID" 2>/dev/null; (exit $st); cleanup' EXIT
	wait_for 20 test -s "$T/relay.port" || { fail "the relay starts"; exit 1; }
	RPORT=$(cat "$T/relay.port")
}

# browser_need: exit 77 (skipped, never passed) unless chromium,
# chromedriver and a python3 with selenium are here; sets PY to that
# python3 (Debian's, whatever else is first on PATH) and SHOTS to where
# screenshots go ($CHIME_SHOTS, default dashboard-screenshots in the build
# tree).
browser_need() {
	PY=$(python_with selenium)
	for need in chromium chromedriver; do
		if ! command -v "$need" >/dev/null 2>&1; then
			echo "SKIP: $need is not installed (scripts/bootstrap" \
			    "installs chromium and chromium-driver)"
			exit 77
		fi
	done
	if [ -z "$PY" ]; then
		echo "SKIP: no python3 with selenium (scripts/bootstrap" \
		    "installs python3-selenium)"
		exit 77
	fi
	SHOTS=${CHIME_SHOTS:-$B/tests/integration/dashboard-screenshots}
	mkdir -p "$SHOTS"
}

# browser_test SCRIPT [NAME=VALUE...]: run the browser test
# tests/integration/SCRIPT (dashboard_lib.py) against this chimed, with
# the environment given; its PASS:/FAIL: lines become this test's, secrets
# masked.  Exits 77 when the browser cannot start.
browser_test() {
	script=$1
	shift
	if env CHIME_URL="http://127.0.0.1:$HTTP_PORT" CHIME_SHOTS="$SHOTS" \
	    CHIMECTL="$CHIMECTL" CHIME_SOCKET="$SOCK" "$@" \
	    "$PY" "$S/tests/integration/$script" >"$T/browser.out" 2>&1; then
		secret_mask <"$T/browser.out"
	else
		rc=$?
		secret_mask <"$T/browser.out"
		[ $rc -eq 77 ] && exit 77
		fail "the browser test $script" "exit $rc"
	fi
	echo "screenshots: $SHOTS"
}
