#!/bin/sh
# Reading a journal while chimed writes it: no torn record.  A pipelined
# client keeps the daemon writing (schedules created, updated, paused,
# resumed and triggered: hundreds of records a second, many in one
# commit, a checkpoint every 1000) while, over and over,
# - chime-journal export prints whole JSON lines, seq contiguous from its
#   first line to its last, each export the next one's prefix byte for
#   byte, never behind the seq the daemon reported before it;
# - chime-journal verify says ok, on as many records as the daemon had
#   reported, and its head is the hash the final export gives that seq;
# - tests/integration/journal-reader.py (the reader written from
#   doc/journal-format.md) verifies the chain the same way;
# and two `chimectl watch --from 1`, one from before the load and one
# started in the middle of it, follow: once the load stops and a last
# record is written, each got every seq from 1 to it once, in order, whole
# JSON lines equal to the final export's.
. "$(dirname "$0")/lib.sh"

if ! command -v python3 >/dev/null 2>&1 ||
    ! command -v mdb_dump >/dev/null 2>&1; then
	echo "SKIP: needs python3 and mdb_dump (lmdb-utils)"
	exit 77
fi
READER=$S/tests/integration/journal-reader.py
PAGE=$S/doc/journal-format.md
# How many of each reading the load must outlast.
EXPORTS=8
VERIFIES=8
READS=3
# Seconds the readings may take, the load included (it stops by itself
# after LOAD_MAX seconds in any case).  Bounds against a hang, not a
# speed asked for: on a machine busy with other work the readings take
# longer, and the load runs as long as they do (it is stopped once they
# have their counts), so that a slow machine never fails the test.
LOOP_MAX=300
LOAD_MAX=360

head_seq() { ctlj daemon status | jq -r .journal.seq; }
# seq_now: head_seq, or 0 if the daemon did not say (the readings compare
# their seq with it).
seq_now() {
	v=$(head_seq 2>/dev/null)
	case $v in
	'' | *[!0-9]*) echo 0 ;;
	*) echo "$v" ;;
	esac
}
# last_seq FILE: the seq of FILE's last line (0: none or not JSON).
last_seq() { tail -n 1 "$1" | jq -r '.seq // 0' 2>/dev/null || echo 0; }
# reaches SEQ FILE: FILE's last line is at SEQ or later.
reaches() { [ "$(last_seq "$2")" -ge "$1" ]; }
# idle: no run is running or waiting for a slot.
idle() {
	ctlj daemon status | jq -e '.runs.running == 0 and .runs.waiting == 0'
}
# note FILE TEXT: record a fault of the readings in FILE (checked at the
# end, as the readings run in the background too).
note() { printf '%s\n' "$2" >>"$1"; }
# count FILE: the number held in FILE (0: none yet); set FILE N: hold N
# (renamed into place, so that count never reads a half-written FILE).
count() { v=$(cat "$1" 2>/dev/null); echo "${v:-0}"; }
set_count() { echo "$2" >"$1.new" && mv "$1.new" "$1"; }

# lines FILE FROM: FILE holds whole lines (its last byte a newline), each
# one JSON record object with a 64-hex hash, their seqs FROM, FROM + 1,
# ... without a gap or a duplicate; the seqs are left in FILE.seq.  Says
# what is wrong on stdout.
lines() {
	if [ ! -s "$1" ]; then
		echo "empty"
		return 1
	fi
	if [ "$(tail -c 1 "$1" | od -An -tx1 | tr -d ' ')" != 0a ]; then
		echo "the last line is cut: $(tail -c 80 "$1")"
		return 1
	fi
	if ! jq -r 'if type == "object" and (.seq | type) == "number" and
	    (.hash | type) == "string" and (.hash | test("^[0-9a-f]{64}$"))
	    then .seq else error("not a record: \(tojson[:80])") end' \
	    "$1" >"$1.seq" 2>"$1.err"; then
		echo "a line is not a JSON record: $(head -c 200 "$1.err")"
		return 1
	fi
	if [ "$(wc -l <"$1.seq")" -ne "$(wc -l <"$1")" ]; then
		echo "$(wc -l <"$1") lines hold $(wc -l <"$1.seq") objects"
		return 1
	fi
	awk -v from="$2" '$1 != from + NR - 1 {
		printf "line %d has seq %s, not %d\n", NR, $1, from + NR - 1
		exit 1 }' "$1.seq"
}

# prefix OLD NEW FROM: NEW (an export from FROM) begins with OLD's lines
# from seq FROM on (OLD being an export from 1), byte for byte, and goes
# at least as far.
prefix() {
	tail -n "+$3" "$1" >"$T/pfx"
	if ! head -c "$(wc -c <"$T/pfx")" "$2" | cmp -s - "$T/pfx"; then
		echo "it differs from the export before it in seq $3..$(last_seq "$1")"
		return 1
	fi
	if [ "$(last_seq "$2")" -lt "$(last_seq "$1")" ]; then
		echo "it ends at seq $(last_seq "$2"), before the export before it ($(last_seq "$1"))"
		return 1
	fi
}

# ---- the load ----------------------------------------------------------
# One connection, rounds of pipelined requests (each round answered
# before the next is sent; about 25 rounds a second): 5 schedules
# created, 5 earlier ones updated, one paused and resumed, one earlier
# one triggered (a run of quick: run.started, run.finished).  Until
# $T/load.stop exists, or LOAD_MAX seconds.  Prints a summary line to
# $T/load.out; exit 1 if a request was refused.
load() {
	python3 -c '
import json, socket, sys, time, os
path, stop, limit = sys.argv[1], sys.argv[2], float(sys.argv[3])
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
f = s.makefile("rb")
made, rid, rounds, errors, first = [], 0, 0, 0, None
end = time.time() + limit
def req(method, params):
    global rid
    rid += 1
    return json.dumps({"jsonrpc": "2.0", "id": rid, "method": method,
                       "params": params}).encode() + b"\n"
while not os.path.exists(stop) and time.time() < end:
    t0 = time.time()
    out = []
    for i in range(5):
        out.append(req("schedule.create", {"name": "l%d-%d" % (rounds, i),
            "operation": "quick", "manual": True,
            "parameters": {"round": rounds, "i": i, "text": "é\u2028\"\\"}}))
    if made:
        for i in range(5):
            out.append(req("schedule.update", {"id": made[(rounds * 7 + i * 13)
                % len(made)], "note": "round %d" % rounds}))
        one = made[(rounds * 31) % len(made)]
        out.append(req("schedule.pause", {"id": one, "note": "load"}))
        out.append(req("schedule.resume", {"id": one}))
        out.append(req("schedule.trigger", {"id": made[rounds % len(made)]}))
    s.sendall(b"".join(out))
    for _ in out:
        a = json.loads(f.readline())
        if "error" in a:
            errors += 1
            first = first or a
    made += ["l%d-%d" % (rounds, i) for i in range(5)]
    rounds += 1
    time.sleep(max(0.0, 0.04 - (time.time() - t0)))
print("rounds=%d requests=%d errors=%d first_error=%s" % (rounds, rid,
      errors, json.dumps(first)))
sys.exit(1 if errors else 0)
' "$SOCK" "$T/load.stop" "$LOAD_MAX" >"$T/load.out" 2>&1
}

# ---- the readings ------------------------------------------------------
# verify_loop: chime-journal verify until $T/checks.done; each must say
# ok on at least as many records as the daemon reported before it.  Its
# "N HEAD" pairs go to $T/heads, faults to $T/verify.bad.
verify_loop() {
	n=0
	while [ ! -e "$T/checks.done" ] && [ -d "$T" ] && [ "$n" -lt 1000 ]; do
		s0=$(seq_now)
		"$JOURNAL" verify "$DATA" >"$T/v.out" 2>&1
		rc=$?
		n=$((n + 1))
		v=$(sed -n 's/^ok: \([0-9]*\) records, seq 1\.\.\1, head \([0-9a-f]\{64\}\)$/\1 \2/p' "$T/v.out")
		if [ "$rc" -ne 0 ] || [ -z "$v" ]; then
			note "$T/verify.bad" "verify $n (exit $rc): $(head -c 300 "$T/v.out")"
		elif [ "${v%% *}" -lt "$s0" ]; then
			note "$T/verify.bad" "verify $n: ${v%% *} records, the daemon had reported $s0"
		fi
		[ -z "$v" ] || echo "$v" >>"$T/heads"
		set_count "$T/verify.n" "$n"
	done
}

# read_loop: READS runs of the independent reader over the live journal
# (mdb_dump: one read transaction); the same as verify_loop.
read_loop() {
	n=0
	while [ "$n" -lt "$READS" ] && [ ! -e "$T/checks.done" ] &&
	    [ -d "$T" ]; do
		s0=$(seq_now)
		python3 "$READER" "$PAGE" "$DATA/journal" >"$T/r.out" 2>&1
		rc=$?
		n=$((n + 1))
		v=$(sed -n 's/^[^ ]*: ok: \([0-9]*\) records, seq 1\.\.\1, head \([0-9a-f]\{64\}\)$/\1 \2/p' "$T/r.out")
		if [ "$rc" -ne 0 ] || [ -z "$v" ]; then
			note "$T/read.bad" "reader $n (exit $rc): $(head -c 300 "$T/r.out")"
		elif [ "${v%% *}" -lt "$s0" ]; then
			note "$T/read.bad" "reader $n: ${v%% *} records, the daemon had reported $s0"
		fi
		[ -z "$v" ] || echo "$v" >>"$T/heads"
		set_count "$T/read.n" "$n"
	done
}

# export_once N: the Nth export, from 1 (every third, from the first) or
# else from 200 records before the end of the last full one (the tail,
# where the writer is), checked: whole lines, contiguous, the last full
# export's continuation, not behind the daemon's seq before it.  Keeps
# the full ones as $T/prev.jsonl, the last seq of each in
# $T/export.lasts; faults to $T/export.bad.
export_once() {
	from=1
	if [ $(($1 % 3)) -ne 1 ]; then
		from=$(($(last_seq "$T/prev.jsonl") - 200))
		[ "$from" -ge 1 ] || from=1
	fi
	s0=$(seq_now)
	if ! "$JOURNAL" export "$DATA" --from "$from" >"$T/e.jsonl" \
	    2>"$T/e.err"; then
		note "$T/export.bad" "export $1 --from $from failed: $(head -c 200 "$T/e.err")"
		return
	fi
	if ! why=$(lines "$T/e.jsonl" "$from"); then
		note "$T/export.bad" "export $1 --from $from: $why"
		return
	fi
	if [ "$(last_seq "$T/e.jsonl")" -lt "$s0" ]; then
		note "$T/export.bad" "export $1: ends at seq $(last_seq "$T/e.jsonl"), the daemon had reported $s0"
	fi
	if [ -s "$T/prev.jsonl" ] &&
	    ! why=$(prefix "$T/prev.jsonl" "$T/e.jsonl" "$from"); then
		note "$T/export.bad" "export $1 --from $from: $why"
	fi
	last_seq "$T/e.jsonl" >>"$T/export.lasts"
	if [ "$from" -eq 1 ]; then
		mv "$T/e.jsonl" "$T/prev.jsonl"
	fi
}

# ---- the watchers ------------------------------------------------------
# watch_ok FILE END: FILE (a chimectl watch --from 1, ended) is whole JSON
# record lines, seq 1, 2, ... through END at least, each the final
# export's object for its seq ($T/final.jsonl), every key the same.
watch_ok() {
	if ! why=$(lines "$1" 1); then
		echo "$why"
		return 1
	fi
	if [ "$(last_seq "$1")" -lt "$2" ]; then
		echo "it ends at seq $(last_seq "$1"), before $2"
		return 1
	fi
	jq -c '{seq, time, time_us, kind, account, body, hash}' "$1" \
	    >"$T/w.cmp"
	head -n "$(wc -l <"$1")" "$T/final.jsonl" |
	    jq -c '{seq, time, time_us, kind, account, body, hash}' \
	    >"$T/f.cmp"
	if ! cmp -s "$T/w.cmp" "$T/f.cmp"; then
		echo "it differs from the export:"
		diff "$T/w.cmp" "$T/f.cmp" | head -n 6 | cut -c 1-300
		return 1
	fi
	if ! jq -e 'has("seq") and has("time") and has("time_us") and
	    has("kind") and has("account") and has("body") and has("hash")' \
	    "$1" >/dev/null; then
		echo "a line lacks a key of the export object"
		return 1
	fi
}

# On an early exit, the load and the readings end too.
BG=
stop_bg() {
	touch "$T/checks.done" "$T/load.stop" 2>/dev/null
	for p in $BG; do
		kill "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
}
on_exit() {
	st=$?
	stop_bg
	(exit "$st")
	cleanup
}
trap on_exit EXIT

# A small stream buffer: the watchers are paused and resumed all along.
start_chimed --checkpoint-every 1000 --checkpoint-interval 0 \
    --watch-buffer 4096 --scrub-interval 0

"$CHIMECTL" --socket "$SOCK" watch --from 1 >"$T/w1.out" 2>"$T/w1.err" &
W1=$!
check "the first watcher has the backlog" wait_for 20 reaches \
    "$(head_seq)" "$T/w1.out"

load &
LOAD=$!
BG="$BG $LOAD"
check "the load is being written" wait_for 20 sh -c \
    "[ \$('$CHIMECTL' --socket '$SOCK' --json daemon status |
    jq .journal.seq) -ge 500 ]"
verify_loop &
VERIFY=$!
read_loop &
READ=$!
BG="$BG $VERIFY $READ"

# Exports until every reading has run its count (and the second watcher
# has started in the middle), or LOOP_MAX seconds.
end=$(( $(date +%s) + LOOP_MAX ))
n=0
W2=
while [ "$n" -lt "$EXPORTS" ] ||
    [ "$(count "$T/verify.n")" -lt "$VERIFIES" ] ||
    [ "$(count "$T/read.n")" -lt "$READS" ]; do
	if [ "$(date +%s)" -ge "$end" ] || ! kill -0 "$LOAD" 2>/dev/null; then
		break
	fi
	n=$((n + 1))
	export_once "$n"
	if [ "$n" -eq 3 ]; then
		"$CHIMECTL" --socket "$SOCK" watch --from 1 >"$T/w2.out" \
		    2>"$T/w2.err" &
		W2=$!
	fi
done
LOAD_LIVE=0
kill -0 "$LOAD" 2>/dev/null && LOAD_LIVE=1
touch "$T/checks.done" "$T/load.stop"
wait "$VERIFY"
wait "$READ"
wait "$LOAD"
LOAD_RC=$?
check "the load outlasted every reading" test "$LOAD_LIVE" -eq 1
check "the load was answered, no request refused ($(cat "$T/load.out"))" \
    test "$LOAD_RC" -eq 0
check "$n exports, $(count "$T/verify.n") verifies and $(count \
    "$T/read.n") reader runs during the load" sh -c \
    "[ $n -ge $EXPORTS ] && [ $(count "$T/verify.n") -ge $VERIFIES ] &&
    [ $(count "$T/read.n") -ge $READS ]"
check "the exports saw the journal grow ($(sort -un "$T/export.lasts" |
    head -n 1)..$(sort -un "$T/export.lasts" | tail -n 1))" \
    test "$(sort -un "$T/export.lasts" | wc -l)" -ge 3
check "every export: whole JSON lines, seq contiguous, the one before it its prefix, never behind the daemon" \
    test ! -s "$T/export.bad"
[ -s "$T/export.bad" ] && head -n 5 "$T/export.bad"
check "every verify of the live journal said ok, not behind the daemon" \
    test ! -s "$T/verify.bad"
[ -s "$T/verify.bad" ] && head -n 5 "$T/verify.bad"
check "every run of the independent reader said ok, not behind the daemon" \
    test ! -s "$T/read.bad"
[ -s "$T/read.bad" ] && head -n 5 "$T/read.bad"

# ---- a last record, then the watchers ----------------------------------
check "the load's runs have ended" wait_for 30 idle
H0=$(head_seq)
check "a last record" ctl schedule create --name the-end --op quick --manual
END=$("$JOURNAL" export "$DATA" --from "$H0" | jq -r \
    'select(.kind == "schedule.created" and .body.name == "the-end") | .seq')
check "the export has it (seq ${END:-none})" test -n "$END"
END=${END:-0}
check "the daemon reports it" wait_for 20 sh -c \
    "[ \$('$CHIMECTL' --socket '$SOCK' --json daemon status |
    jq .journal.seq) -ge $END ]"
check "the first watcher reaches it" wait_for 30 reaches "$END" "$T/w1.out"
check "the second watcher, started during the load, reaches it" \
    test -n "$W2"
[ -n "$W2" ] && check "... and reaches it" wait_for 30 reaches "$END" \
    "$T/w2.out"
kill -INT "$W1"
wait "$W1"
check "the first watcher ends with status 0" test $? -eq 0
if [ -n "$W2" ]; then
	kill -INT "$W2"
	wait "$W2"
	check "the second watcher ends with status 0" test $? -eq 0
fi

"$JOURNAL" export "$DATA" >"$T/final.jsonl"
check "the final export: whole JSON lines, seq 1..its last" \
    lines "$T/final.jsonl" 1
check "the first watcher: 1..$END once each, in order, whole, the export's" \
    watch_ok "$T/w1.out" "$END"
[ -n "$W2" ] && check "the second watcher: the same" \
    watch_ok "$T/w2.out" "$END"

# Each verify's and reader's head is the final export's hash of its seq.
jq -r '"\(.seq) \(.hash)"' "$T/final.jsonl" >"$T/final.heads"
check "each verify and reader head is the export's hash of that seq ($(sort -u "$T/heads" 2>/dev/null | wc -l) heads)" \
    awk 'NR == FNR { h[$1] = $2; next }
    !($1 in h) || h[$1] != $2 { print; bad = 1 } END { exit bad }' \
    "$T/final.heads" "$T/heads"
check "the journal verifies" "$JOURNAL" verify "$DATA"
check "the daemon stops" stop_chimed
finish
