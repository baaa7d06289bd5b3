#!/bin/sh
# events.watch and chimectl watch against a real daemon: the backlog then
# live records in seq order; a resume from the last seq seen while records
# are written, with no gap and no duplicate; a reader that stops reading,
# paused then ended with the seq to resume from; the kinds filter; what a
# tenant (a second uid) may see; JSON lines for jq; Ctrl-C; the end at a
# drain.
. "$(dirname "$0")/lib.sh"

# A small stream bound and stall limit, so that a stalled reader is cut
# quickly; the rest as in production.
start_chimed --watch-buffer 4096 --watch-stall 2s

# seqs FILE: the seq of each event line of FILE, one a line.
seqs() { jq -r .seq "$1"; }
# contiguous FILE FROM TO: FILE's events are exactly FROM..TO in order.
contiguous() {
	[ "$(seqs "$1" | tr '\n' ' ')" = "$(seq "$2" "$3" | tr '\n' ' ')" ]
}
# lines_at_least N FILE
lines_at_least() { [ "$(wc -l < "$2")" -ge "$1" ]; }
# last_seq FILE: the seq of FILE's last event (0: none).
last_seq() { tail -n 1 "$1" | jq -r '.seq // 0' 2>/dev/null || echo 0; }
first_seq() { head -n 1 "$1" | jq -r '.seq // 0' 2>/dev/null || echo 0; }
head_seq() { ctlj daemon status | jq -r .journal.seq; }
# at_head FILE: FILE's last event is the journal's head.
at_head() { [ "$(last_seq "$1")" = "$(head_seq)" ]; }
# reaches SEQ FILE: FILE has an event at SEQ or later.
reaches() { [ "$(last_seq "$2")" -ge "$1" ]; }
# none_but FILTER FILE: every event of FILE passes jq FILTER.
none_but() { [ "$(jq -c "select(($1) | not)" "$2" | wc -l)" -eq 0 ]; }
# A watcher in the background is chimectl itself (not a shell function in
# a subshell, which would not pass on a SIGINT).

# watchers_are N: the metric says N watchers.
watchers_are() {
	curl -sf "http://127.0.0.1:$HTTP_PORT/metrics" |
	    grep -qx "chime_watchers $1"
}
# batch_ends ID: the batch is no longer running.
batch_ends() {
	ctlj batch get "$1" | jq -e '.state != "running"' >/dev/null
}
# wait_exit PID SECONDS: PID has exited within SECONDS.
wait_exit() { wait_for "$2" sh -c "! kill -0 $1 2>/dev/null"; }

check_fails "from_seq past the head + 1 is invalid params" 1 \
    ctlj watch --from 1000000
check "it names the field" grep -q '"field": "from_seq"' "$T/last"
check_fails "a malformed kind is invalid params" 1 ctlj watch --kind 'run*x'
check "it names kinds" grep -q '"field": "kinds"' "$T/last"
check_fails "an unknown account is not found" 1 ctlj watch --account nosuch
check "it says -32001" grep -q '"code": -32001' "$T/last"
check_fails "a bad flag is a usage error" 2 ctl watch --nosuch
check "chimectl help watch describes it" sh -c \
    "'$CHIMECTL' help watch | grep -q -- '--kind KIND'"

# ---- the backlog, then live, in order -------------------------------------
check "an account and a manual schedule" ctl schedule create --name m1 \
    --op quick --manual
H=$(head_seq)
"$CHIMECTL" --socket "$SOCK" watch --from 1 > "$T/w1.out" 2> "$T/w1.err" &
W1=$!
check "the backlog arrives" wait_for 20 lines_at_least "$H" "$T/w1.out"
check "the backlog is 1..head in order" contiguous "$T/w1.out" 1 "$H"
check "trigger the schedule" ctl schedule trigger m1
check "live records follow" wait_for 20 lines_at_least $((H + 2)) \
    "$T/w1.out"
check "up to the head" wait_for 20 at_head "$T/w1.out"
H2=$(head_seq)
kill -INT $W1
wait $W1
rc=$?
check "Ctrl-C ends chimectl watch with status 0" test "$rc" -eq 0
check "every record once, in order, up to the head" \
    contiguous "$T/w1.out" 1 "$H2"
check "each line is the export object, which jq reads" sh -c \
    "jq -e 'has(\"seq\") and has(\"time\") and has(\"time_us\") and
    has(\"kind\") and has(\"account\") and has(\"body\") and
    (.hash | length == 64)' '$T/w1.out' >/dev/null"
check "the same objects as chime-journal export" sh -c \
    "'$JOURNAL' export '$DATA' --from 1 | head -n $H2 | jq -c . > '$T/exp' &&
    jq -c . '$T/w1.out' | diff - '$T/exp'"

# Only new records by default.
check "no watcher left" wait_for 20 watchers_are 0
"$CHIMECTL" --socket "$SOCK" watch > "$T/w2.out" 2>&1 &
W2=$!
check "a watch from the head" wait_for 20 watchers_are 1
check "trigger again" ctl schedule trigger m1
check "the new records come" wait_for 20 lines_at_least 2 "$T/w2.out"
check "and nothing older" test "$(first_seq "$T/w2.out")" -eq $((H2 + 1))
kill -INT $W2
wait $W2

# ---- resume after a disconnect while records are written -----------------
BATCH=$(ctlj batch create --name load --op quick --count 300 \
    --max-concurrent 8 | jq -r .id)
"$CHIMECTL" --socket "$SOCK" watch --from 1 > "$T/r1.out" 2>/dev/null &
R1=$!
check "the first watcher sees records" wait_for 20 lines_at_least \
    $((H2 + 40)) "$T/r1.out"
kill -INT $R1
wait $R1
LAST=$(last_seq "$T/r1.out")
check "the batch still runs when the first watcher goes" sh -c \
    "'$CHIMECTL' --socket '$SOCK' --json batch get $BATCH |
    jq -e '.state == \"running\"' >/dev/null"
"$CHIMECTL" --socket "$SOCK" watch --from $((LAST + 1)) > "$T/r2.out" \
    2>/dev/null &
R2=$!
check "the batch ends" wait_for 60 batch_ends "$BATCH"
H3=$(head_seq)
check "the second watcher reaches the head" wait_for 20 reaches "$H3" \
    "$T/r2.out"
kill -INT $R2
wait $R2
cat "$T/r1.out" "$T/r2.out" > "$T/r.out"
check "the two watches together: 1..head, no gap, no duplicate" \
    contiguous "$T/r.out" 1 "$H3"

# ---- kinds -----------------------------------------------------------------
"$CHIMECTL" --socket "$SOCK" watch --from 1 --kind run.finished \
    --kind 'batch.*' > "$T/k.out" \
    2>/dev/null &
K=$!
n_want=$("$JOURNAL" export "$DATA" | jq -s '[.[] | select(.seq <= '"$H3"')
    | select(.kind == "run.finished" or (.kind | startswith("batch.")))]
    | length')
check "the filtered backlog arrives" wait_for 20 lines_at_least "$n_want" \
    "$T/k.out"
kill -INT $K
wait $K
check "only the kinds asked for" none_but \
    '.kind == "run.finished" or (.kind | startswith("batch."))' "$T/k.out"
check "in seq order" sh -c "jq .seq '$T/k.out' | sort -n -c"
check "all of them" test "$(jq -s "map(select(.seq <= $H3)) | length" \
    "$T/k.out")" -eq "$n_want"

# ---- a reader that stops reading is paused, then cut ----------------------
# chimectl writes into a pipe nobody reads until $T/go exists: it stops
# reading its socket, the daemon's buffer fills, the watch pauses, and
# past --watch-stall it ends.
rm -f "$T/go"
( ctl --json watch --from 1 2> "$T/s.err"; echo $? > "$T/s.rc" ) |
    ( while [ ! -e "$T/go" ]; do sleep 0.05; done; cat > "$T/s.out" ) &
check "the stalled watcher is ended by the daemon" wait_for 30 grep -q \
    'msg="watcher not reading; ended"' "$LOG"
touch "$T/go"
check "chimectl exits once it has read everything" wait_for 20 test -s \
    "$T/s.rc"
check "with status 1" test "$(cat "$T/s.rc")" -eq 1
RESUME=$(sed -n 's/.*resume with --from \([0-9]*\).*/\1/p' "$T/s.err")
check "it says where to resume" test -n "$RESUME"
check "it says why" grep -q "(stalled)" "$T/s.err"
check "the resume seq is the one after the last event it got" \
    test "$(last_seq "$T/s.out")" -eq $((RESUME - 1))
check "it got every record before it, once, in order" contiguous \
    "$T/s.out" 1 $((RESUME - 1))
check "it was cut before the head" test "$RESUME" -le "$H3"
"$CHIMECTL" --socket "$SOCK" watch --from "$RESUME" > "$T/s2.out" \
    2>/dev/null &
S2=$!
check "a watch from the resume seq gets the rest" wait_for 20 reaches \
    "$H3" "$T/s2.out"
kill -INT $S2
wait $S2
check "starting at the resume seq" test "$(first_seq "$T/s2.out")" -eq \
    "$RESUME"
check "no watcher left" wait_for 20 watchers_are 0
check "the metrics count events and ends" sh -c \
    "curl -sf http://127.0.0.1:$HTTP_PORT/metrics > '$T/metrics' &&
    grep -q '^chime_watch_ended_total{reason=\"stalled\"} 1' '$T/metrics' &&
    grep -Eq '^chime_watch_events_total [1-9]' '$T/metrics'"

# ---- a tenant sees its own accounts' events only --------------------------
if other_uid_ready && nb daemon status >/dev/null 2>&1; then
	check "team-a for uid $OTHER_UID" ctl account create team-a \
	    --uid "$OTHER_UID"
	check "a schedule of team-a" ctl schedule create --name t1 \
	    --op quick --manual --account team-a
	check "its run" ctl schedule trigger t1 --account team-a
	setpriv --reuid="$OTHER_UID" --regid="$OTHER_UID" \
	    --clear-groups "$CHIMECTL" --socket "$SOCK" --json watch --from 1 \
	    > "$T/t.out" 2>"$T/t.err" &
	TW=$!
	check "the tenant's backlog arrives" wait_for 20 sh -c \
	    "jq -e 'select(.kind == \"run.finished\")' '$T/t.out' >/dev/null"
	check "a record of default while the tenant watches" \
	    ctl schedule trigger m1
	check "and one of team-a" ctl schedule trigger t1 --account team-a
	check "the tenant sees team-a's new run" wait_for 20 sh -c \
	    "[ \$(jq -s 'map(select(.kind == \"run.finished\")) | length' \
	    '$T/t.out') -ge 2 ]"
	kill -INT $TW
	wait $TW
	check "every event the tenant got is team-a's" none_but \
	    '.account == "team-a"' "$T/t.out"
	check "none without an account" sh -c \
	    "! grep -q '\"account\":null' '$T/t.out'"
	check "all of team-a's, in order" sh -c \
	    "'$JOURNAL' export '$DATA' | jq -c 'select(.account == \"team-a\")' |
	    head -n \$(wc -l < '$T/t.out') > '$T/t.exp' &&
	    jq -c . '$T/t.out' | diff - '$T/t.exp'"
	check_fails "a tenant naming another account is refused" 1 \
	    nb --json watch --account default
	check "forbidden, as other methods answer" grep -q \
	    '"code": -32003' "$T/last"
	check "the same as schedule list answers" sh -c \
	    "setpriv --reuid=$OTHER_UID --regid=$OTHER_UID --clear-groups \
	    '$CHIMECTL' --socket '$SOCK' --json schedule list --account default \
	    2>&1 | grep -q '\"code\": -32003'"
else
	echo "SKIP: the tenant part needs root and setpriv"
fi

# ---- a drain ends every watcher with the seq to resume from ---------------
"$CHIMECTL" --socket "$SOCK" --json watch > "$T/d.out" 2> "$T/d.err" &
D=$!
check "a watcher before the drain" wait_for 20 watchers_are 1
HD=$(head_seq)
check "the daemon drains and stops" stop_chimed
check "the watcher was ended" wait_exit "$D" 20
wait $D
rc=$?
check "chimectl watch exits 1 when the daemon ends the watch" test "$rc" -eq 1
check "it says draining and the seq to resume from" grep -q \
    "(draining): resume with --from $((HD + 1))" "$T/d.err"
start_chimed
"$CHIMECTL" --socket "$SOCK" --json watch --from $((HD + 1)) \
    > "$T/d2.out" 2>/dev/null &
D2=$!
check "after the restart the watch resumes" wait_for 20 reaches \
    $((HD + 2)) "$T/d2.out"
kill -INT $D2
wait $D2
check "from the seq it was told" test "$(first_seq "$T/d2.out")" -eq \
    $((HD + 1))
check "with daemon.stopped, which the first watch did not get" sh -c \
    "jq -r .kind '$T/d2.out' | grep -qx daemon.stopped"
check "the journal verifies" "$JOURNAL" verify "$DATA"

# ---- a record that does not decode ends the watch, naming it ---------------
check "the daemon stops" stop_chimed
# A damaged log cannot be replayed: that check ends here.
REPLAY=0
check "record 3 damaged (its array header)" "$B/tests/chime-test-tamper" \
    "$DATA/journal" flip 3 32
start_chimed
check_fails "a watch over it ends with status 1" 1 \
    timeout -s INT 20 "$CHIMECTL" --socket "$SOCK" --json watch --from 1
check "it names the record and resumes at it" grep -q \
    "(bad_record: .*): resume with --from 3" "$T/last"
check "the records before it came" sh -c \
    "grep '^{\"seq\"' '$T/last' | jq -r .seq | tr '\n' ' ' |
    grep -qx '1 2 '"
check "the daemon logged it" grep -q \
    'msg="watch: a record does not decode" seq=3' "$LOG"

# ---- the number of watchers is bounded ---------------------------------------
check "the daemon stops again" stop_chimed
start_chimed --watch-max 1
"$CHIMECTL" --socket "$SOCK" watch > /dev/null 2>&1 &
M1=$!
check "one watcher" wait_for 20 watchers_are 1
check_fails "a second one is refused" 1 timeout -s INT 10 \
    "$CHIMECTL" --socket "$SOCK" --json watch
check "overloaded, -32005" grep -q '"code": -32005' "$T/last"
kill -INT $M1
wait $M1
check "once the first has gone" wait_for 20 watchers_are 0
"$CHIMECTL" --socket "$SOCK" watch > /dev/null 2>&1 &
M2=$!
check "there is room again" wait_for 20 watchers_are 1
kill -INT $M2
wait $M2

exit $FAILED
