#!/bin/sh
# chime-journal backup of a running journal, as doc/operations.md tells
# it: taken while chimed creates schedules and ends runs (a write storm)
# it is a consistent copy that verifies (the command reads it back) and
# replays; the backup is a data directory: a restore (a copy of it as
# DATA) starts, holds exactly the records the backup held, signs with the
# same key, and its webhook schedule takes a delivery signed with the
# secret generated before the backup.  A second backup into the same
# place is refused and changes nothing.
. "$(dirname "$0")/lib.sh"

start_chimed
ctl account create acme >/dev/null
create_hook hooked
check "a webhook schedule with a generated secret" test -n "$HOOK_SECRET"

# The storm: schedules created and runs ended, until told to stop.
storm() {
	i=0
	while [ ! -e "$T/calm" ]; do
		ctl schedule create --account acme --name "s$i" --op quick \
		    --manual >/dev/null 2>&1 &&
		    ctl schedule trigger "s$i" --account acme >/dev/null 2>&1
		i=$((i + 1))
	done
	echo "$i" >"$T/storm.count"
}
storm &
STORM=$!
storming() {
	[ "$(ctlj schedule list --account acme --limit 1000 |
	    jq '.schedules | length')" -ge 20 ]
}
check "the storm is under way" wait_for 60 storming
BK=$T/backup
check "chime-journal backup of the running journal" sh -c \
    "'$JOURNAL' backup '$DATA' '$BK' >'$T/bk.out' 2>&1"
cat "$T/bk.out"
check "... it says what it copied, then verifies the copy" sh -c \
    "grep -q '^backup $BK: journal to seq [0-9]* ([0-9]* bytes), 2 key files, 1 secrets' '$T/bk.out' &&
    grep -q '^ok: [0-9]* records' '$T/bk.out'"
more_after() {
	[ "$(ctlj daemon status | jq .journal.seq)" -gt \
	    "$(sed -n 's/^backup .*journal to seq \([0-9]*\) .*/\1/p' "$T/bk.out")" ]
}
check "the storm went on past the backup's last record" wait_for 60 more_after
touch "$T/calm"
wait "$STORM"
check "a backup into an existing directory is refused" sh -c \
    "! '$JOURNAL' backup '$DATA' '$BK' 2>'$T/again' &&
    grep -q 'cannot make $BK: File exists' '$T/again'"
check "... the backup is 0700, its journal and key 0600" sh -c \
    "[ \"\$(stat -c %a '$BK')\" = 700 ] &&
    [ \"\$(stat -c %a '$BK/journal/data.mdb')\" = 600 ] &&
    [ \"\$(stat -c %a '$BK/keys/journal.key')\" = 600 ] &&
    [ \"\$(stat -c %a '$BK/secrets/$HOOK_ID')\" = 600 ]"
check "chime-journal verify accepts the backup" "$JOURNAL" verify "$BK"
check "... and replay rebuilds its tables, identical" "$JOURNAL" replay \
    "$BK" --into "$T/replayed"
SEQ=$(sed -n 's/^backup .*journal to seq \([0-9]*\) .*/\1/p' "$T/bk.out")
"$JOURNAL" export "$BK" >"$T/bk.jsonl"
check "the backup's records end at its seq, without gaps" jq -se \
    --argjson s "$SEQ" '(.[-1].seq == $s) and
    ([.[].seq] == [range(1; $s + 1)])' "$T/bk.jsonl"
"$JOURNAL" export "$DATA" | head -n "$SEQ" >"$T/live.jsonl"
check "... the very records of the live journal up to it" cmp \
    "$T/bk.jsonl" "$T/live.jsonl"
NSCHED=$(jq -s '[.[] | select(.kind == "schedule.created" and
    .account == "acme")] | length' "$T/bk.jsonl")
check "stop" stop_chimed

# restore: the backup, copied, is the data directory
NEW=$T/restored
cp -a "$BK" "$NEW"
chmod 0711 "$NEW"
DATA=$NEW
SOCK=$NEW/chime.sock
start_chimed
check "the restored daemon starts from the backup's last record" sh -c \
    "[ \"\$('$CHIMECTL' --socket '$SOCK' --json daemon status |
    jq -r .journal.seq)\" -gt $SEQ ]"
check "... with the backup's schedules ($NSCHED)" json_ok \
    ".schedules | length == $NSCHED" ctlj schedule list --account acme \
    --limit 100000
check "... signing with the same key" cmp "$BK/keys/journal.pub" \
    "$NEW/keys/journal.pub"
KEY=$(hexkey "$HOOK_SECRET")
ts=$(date +%s)
BODY='{"restored":true}'
check "... and its webhook takes a delivery signed with the old secret" \
    test "$(post "$HOOK_ID" msg_restored "$ts" \
    "$(sign msg_restored "$ts" "$BODY" "$KEY")" "$BODY")" = 202
check "stop the restored daemon" stop_chimed
finish
