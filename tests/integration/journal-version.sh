#!/bin/sh
# The journal's format version: a journal that a later chime left in a
# newer format is refused by this chimed and by chime-journal with a
# message naming the chime that wrote it and what to run; nothing in it is
# changed, and once it is back in this format everything is there.
. "$(dirname "$0")/lib.sh"

TAMPER=$B/tests/chime-test-tamper
JD=$DATA/journal
start_chimed
ctl schedule create --name kept --op quick --manual >/dev/null
check "stop" stop_chimed
"$JOURNAL" export "$DATA" >"$T/before.jsonl"
cp "$JD/data.mdb" "$T/before.mdb"

check "a later chime's format (2, by 0.9.0)" "$TAMPER" "$JD" \
    future-format 2 0.9.0
check_fails "chimed refuses the journal" 1 "$CHIMED" --data "$DATA" \
    --catalog "$CATALOG" --http none
check "... naming the chime that wrote it and what to run" grep -qF \
    "journal format 2, written by chime 0.9.0, is newer than this chime" \
    "$T/last"
check "... and this chime's own format" grep -qF "reads (format 1): run chime 0.9.0 or later on it; nothing was changed" "$T/last"
check_fails "chime-journal verify refuses it too" 1 "$JOURNAL" verify "$DATA"
check "... saying the same" grep -qF "written by chime 0.9.0" "$T/last"
check_fails "... and export" 1 "$JOURNAL" export "$DATA"
check "a newer format that does not say who wrote it" "$TAMPER" "$JD" \
    future-format 3 ""
check_fails "chimed refuses it as well" 1 "$CHIMED" --data "$DATA" \
    --catalog "$CATALOG" --http none
check "... saying a newer chime wrote it" grep -qF \
    "journal format 3 was written by a newer chime than this one" "$T/last"

# Back in format 1: the refusals changed nothing.
check "format 1 again" "$TAMPER" "$JD" future-format 1 "$(
    "$CHIMED" --version | sed 's/^chimed //')"
"$JOURNAL" export "$DATA" >"$T/after.jsonl"
check "... the same records as before the refusals" cmp "$T/before.jsonl" \
    "$T/after.jsonl"
start_chimed
check "chimed starts on it, the schedule there" ctl schedule get kept
check "stop" stop_chimed
finish
