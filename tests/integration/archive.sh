#!/bin/sh
# chime-journal archive with a real chimed: the oldest records move into a
# file and leave the journal, which keeps an anchor; chimed starts and
# writes on from it; verify proves the log chains on from the anchor, and
# with --archive that the archives and the log are one history from
# genesis, also against a checkpoint witnessed before the archive; replay
# and prove take the archives too.  Refusals change nothing: chimed
# running, a subscription that has not passed the records, bad --before,
# an existing output file.  A changed, cut or foreign archive is caught.
. "$(dirname "$0")/lib.sh"

WITNESS=$T/witness.log
A1=$T/one.archive
A2=$T/two.archive

# last_note FILE: the last note of a checkpoint log, on stdout.
last_note() {
	awk '/^--- checkpoint seq=/ { n = ""; next } { n = n $0 "\n" }
	    END { printf "%s", n }' "$1"
}
# says FILE TEXT: FILE holds TEXT.
says() { grep -q -- "$2" "$1"; }
# fails_saying STATUS TEXT CMD...: CMD exits with STATUS and says TEXT.
fails_saying() {
	want=$1 text=$2
	shift 2
	"$@" >"$T/fs.out" 2>&1
	got=$?
	[ "$got" -eq "$want" ] && grep -q -- "$text" "$T/fs.out" && return 0
	echo "exit $got, wanted $want and \"$text\":"
	cat "$T/fs.out"
	return 1
}
# first_seq: the seq of the first record `chime-journal export` prints.
first_seq() { "$JOURNAL" export "$DATA" | head -n 1 | jq -r .seq; }
# stays_empty_of TEXT: chimed's log does not say TEXT.
stays_empty_of() { ! grep -q -- "$1" "$LOG"; }
# journal_sum: a checksum of the journal's log as export prints it.
journal_sum() { "$JOURNAL" export "$DATA" | sha256sum; }

FLAGS="--checkpoint-log $WITNESS --http-allow 127.0.0.1/32"

# ---- first life: records, a witnessed checkpoint, a lagging subscriber --
# shellcheck disable=SC2086
start_chimed $FLAGS
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	ctl account create "acct$i" >/dev/null
done
ctl journal checkpoint >"$T/note1"
"$JOURNAL" pubkey "$DATA" >"$T/pub"
SUB=$(ctlj subscription create http://127.0.0.1:1/gone | jq -r .id)
for i in 13 14 15 16; do
	ctl account create "acct$i" >/dev/null
done
check "archive refuses while chimed runs" fails_saying 1 \
    "stop chimed first" "$JOURNAL" archive "$DATA" --before 5 --out "$A1"
check "... and writes no file" test ! -e "$A1"
check "stop" stop_chimed
N1=$(sed -n 2p "$T/note1")
HEAD=$("$JOURNAL" export "$DATA" | tail -n 1 | jq -r .seq)
K=$(( N1 + 4 ))		# archive seq 1..K-1: past the witnessed size
SUM0=$(journal_sum)

# ---- refusals: nothing changes ---------------------------------------
check "a subscriber that has not passed the records blocks it" \
    fails_saying 1 "subscription $SUB .* would lose its events" \
    "$JOURNAL" archive "$DATA" --before "$K" --out "$A1"
check "--before 0: bad usage" fails_saying 2 "not a seq" \
    "$JOURNAL" archive "$DATA" --before 0 --out "$A1"
check "--before a word: bad usage" fails_saying 2 "RFC 3339" \
    "$JOURNAL" archive "$DATA" --before soon --out "$A1"
check "no --out: bad usage" fails_saying 2 "needs --before and --out" \
    "$JOURNAL" archive "$DATA" --before "$K"
check "--before past the head: the last record stays" fails_saying 1 \
    "always stays" "$JOURNAL" archive "$DATA" --before $((HEAD + 1)) \
    --out "$A1" --force
check "--before 1: nothing to archive" fails_saying 1 \
    "nothing to archive" "$JOURNAL" archive "$DATA" --before 1 \
    --out "$A1" --force
touch "$T/taken"
check "an existing output file is never overwritten" fails_saying 1 \
    "never overwritten" "$JOURNAL" archive "$DATA" --before "$K" \
    --out "$T/taken" --force
check "no archive: no file" test ! -e "$A1"
check "... the journal is as it was" test "$(journal_sum)" = "$SUM0"
check "... from seq 1" test "$(first_seq)" = 1

# --force archives past it (on a copy): chimed says what it skipped.
rm -rf "$T/forced"
cp -a "$DATA" "$T/forced"
check "--force archives past a lagging subscriber" sh -c "'$JOURNAL' archive \
    '$T/forced' --before $K --out '$T/forced.archive' --force >/dev/null"
"$CHIMED" --data "$T/forced" --catalog "$CATALOG" --http none \
    --log-level debug >"$T/forced.log" 2>&1 &
FORCED=$!
check "... and its events are said skipped, not silently lost" wait_for 20 \
    grep -q "msg=\"subscription skips archived records\" subscription=$SUB" \
    "$T/forced.log"
kill -TERM $FORCED
wait $FORCED

# The subscriber goes: the archive may proceed.
start_chimed $FLAGS
ctl subscription delete "$SUB" >/dev/null
check "stop" stop_chimed
cp -a "$DATA" "$T/pre"
HEAD=$("$JOURNAL" export "$DATA" | tail -n 1 | jq -r .seq)

# ---- the archive -----------------------------------------------------
check "archive --before SEQ" sh -c "'$JOURNAL' archive '$DATA' --before $K \
    --out '$A1' >'$T/arch.out'"
check "... says what moved" says "$T/arch.out" \
    "archived seq 1\.\.$((K - 1)) ($((K - 1)) records)"
check "... the archive file is 0600" test "$(stat -c %a "$A1")" = 600
check "... no temporary file is left" test ! -e "$A1.tmp"
check "the log begins at seq $K" test "$(first_seq)" = "$K"
check "the log after it is unchanged" sh -c "[ \"\$('$JOURNAL' export \
    '$T/pre' | tail -n +$K | sha256sum)\" = \"\$('$JOURNAL' export \
    '$DATA' | sha256sum)\" ]"
check "verify alone: the log chains on from the anchor" sh -c \
    "'$JOURNAL' verify '$DATA' >'$T/v.out'"
check "... and says what is archived" says "$T/v.out" \
    "seq 1\.\.$((K - 1)) archived"
head -n 1 "$T/v.out" >"$T/v.line"
"$JOURNAL" export "$DATA" >"$T/export.jsonl"
check "the reader written from journal-format.md reads the pruned journal" \
    sh -c "python3 '$S/tests/integration/journal-reader.py' \
    '$S/doc/journal-format.md' '$DATA/journal=$T/export.jsonl' \
    >'$T/reader.out'"
check "... with verify's verdict" sh -c "[ \"\$(head -n 1 '$T/reader.out' |
    sed 's/^[^:]*: //')\" = \"\$(cat '$T/v.line')\" ]"
check "verify --archive: one history from genesis" sh -c \
    "'$JOURNAL' verify '$DATA' --archive '$A1' >'$T/v.out'"
check "... every record" says "$T/v.out" "ok: $HEAD records, seq 1\.\.$HEAD"
check "... against the checkpoint witnessed before the archive" \
    "$JOURNAL" verify "$DATA" --archive "$A1" --pubkey "$T/pub" \
    --checkpoint "$T/note1"
check "that checkpoint without the archive: cannot be checked" \
    fails_saying 1 "covers archived records only" "$JOURNAL" verify \
    "$DATA" --pubkey "$T/pub" --checkpoint "$T/note1"
check "replay needs the archive" fails_saying 1 "are archived" \
    "$JOURNAL" replay "$DATA" --into "$T/r0"
check "replay --archive: identical" "$JOURNAL" replay "$DATA" \
    --into "$T/r1" --archive "$A1"
check "prove an archived record needs the archive" fails_saying 1 \
    "are archived" "$JOURNAL" prove "$DATA" 3
check "prove --archive" sh -c "'$JOURNAL' prove '$DATA' 3 --archive '$A1' \
    >'$T/p3.json'"
check "check-proof of an archived record" "$JOURNAL" check-proof \
    "$T/p3.json" --pubkey "$T/pub"

# ---- chimed goes on from the anchor ----------------------------------
REPLAY_ARCHIVES="--archive $A1"
export REPLAY_ARCHIVES
start_chimed $FLAGS
check "chimed starts on the pruned journal, its chain checked" \
    stays_empty_of "journal chain broken"
for i in 17 18 19 20 21 22; do
	ctl account create "acct$i" >/dev/null
done
"$CHIMECTL" --socket "$SOCK" watch --from 1 >"$T/w.out" 2>"$T/w.err" &
W=$!
check "watch --from 1 on the pruned journal" wait_for 20 grep -q \
    "\"kind\":\"account.created\",\"account\":\"acct22\"" "$T/w.out"
kill -INT $W
wait $W
check "... says the journal begins at the anchor now" says "$T/w.err" \
    "journal begins at seq $K now"
check "... and begins there" test "$(head -n 1 "$T/w.out" | jq -r .seq)" = \
    "$K"
ctl journal checkpoint >"$T/note2"
check "stop" stop_chimed
HEAD=$("$JOURNAL" export "$DATA" | tail -n 1 | jq -r .seq)
check "verify --archive --checkpoint: the new checkpoint too" sh -c \
    "'$JOURNAL' verify '$DATA' --archive '$A1' --pubkey '$T/pub' \
    --checkpoint '$T/note2' >'$T/v.out'"
check "... every checkpoint record signed" says "$T/v.out" \
    "checkpoint records signed by"

# ---- a second archive, by time ---------------------------------------
# --before the time of the log's 8th record (RFC 3339, milliseconds):
# S5 is the first record at or after it.
T5=$("$JOURNAL" export "$DATA" | sed -n 8p | jq -r .time)
S5=$("$JOURNAL" export "$DATA" | jq -s --arg t "$T5" \
    '[.[] | select(.time >= $t)][0].seq')
check "the time falls after the anchor" test "$S5" -gt "$K"
check "archive --before TIME" sh -c "'$JOURNAL' archive '$DATA' --before \
    '$T5' --out '$A2' >'$T/arch2.out'"
check "... from the anchor to the first record at or after it" says \
    "$T/arch2.out" "archived seq $K\.\.$((S5 - 1))"
REPLAY_ARCHIVES="--archive $A1 --archive $A2"
check "verify --archive A1 --archive A2" "$JOURNAL" verify "$DATA" \
    --archive "$A1" --archive "$A2" --pubkey "$T/pub" --checkpoint \
    "$T/note1"
check "verify --archive A2 alone: from its anchor" sh -c \
    "'$JOURNAL' verify '$DATA' --archive '$A2' >'$T/v.out'"
check "... which it names" says "$T/v.out" "seq 1\.\.$((K - 1)) archived"
check "archives out of order: refused" fails_saying 1 \
    "archives before it end at seq" "$JOURNAL" verify "$DATA" \
    --archive "$A2" --archive "$A1"
check "a missing archive between: refused" fails_saying 1 \
    "journal's log begins after seq $((S5 - 1))" "$JOURNAL" verify \
    "$DATA" --archive "$A1"
check "replay --archive A1 --archive A2: identical" "$JOURNAL" replay \
    "$DATA" --into "$T/r2" --archive "$A1" --archive "$A2"

# ---- damaged archives -------------------------------------------------
python3 -c "
import sys
b = bytearray(open('$A1', 'rb').read())
i = b.find(b'acct2')
b[i + 4] = ord('X')
open('$T/changed.archive', 'wb').write(b)"
check "a changed record in an archive: named" fails_saying 1 \
    "bad: archive $T/changed.archive: seq [0-9]*: hash mismatch" \
    "$JOURNAL" verify "$DATA" --archive "$T/changed.archive" \
    --archive "$A2"
head -c $(( $(wc -c <"$A1") - 20 )) "$A1" >"$T/cut.archive"
check "a cut archive: named" fails_saying 1 "cut short" \
    "$JOURNAL" verify "$DATA" --archive "$T/cut.archive" --archive "$A2"
printf 'not an archive' >"$T/junk.archive"
check "not an archive: named" fails_saying 1 "not a chime journal archive" \
    "$JOURNAL" verify "$DATA" --archive "$T/junk.archive"
"$CHIMED" --data "$T/other2" --catalog "$CATALOG" --http none \
    >>"$T/other2.log" 2>&1 &
OTHER=$!
wait_for 20 test -S "$T/other2/chime.sock"
"$CHIMECTL" --socket "$T/other2/chime.sock" account create x >/dev/null
"$CHIMECTL" --socket "$T/other2/chime.sock" account create y >/dev/null
kill -TERM $OTHER
wait $OTHER
"$JOURNAL" archive "$T/other2" --before 2 --out "$T/foreign.archive" \
    >/dev/null
check "another journal's archive: named" fails_saying 1 \
    "an archive of journal" "$JOURNAL" verify "$DATA" \
    --archive "$T/foreign.archive"

finish
