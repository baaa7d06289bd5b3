#!/bin/sh
# A journal written by an earlier chime (tests/integration/previous: made
# by make.sh with the build before the journal kept format_by, analytics
# rows above the day's and the run index) is opened by today's chimed:
# today's chime-journal verifies it as it is; chimed upgrades it at its
# first start, recording each upgrade in the log (analytics.rebuilt,
# runs.indexed; the analytics rows the earlier chime kept under another
# key format deleted), once; every record the earlier chime wrote is kept as it
# was; its accounts, schedules (a paused one with its note), runs and
# batch are all there, the run list and the analytics show its runs, and
# its schedules run again; the log rebuilds the tables (replay).
. "$(dirname "$0")/lib.sh"

P=$S/tests/integration/previous
mkdir -p "$DATA/journal" "$DATA/keys"
chmod 0700 "$DATA/journal" "$DATA/keys"
cp "$P/data.mdb" "$DATA/journal/data.mdb"
cp "$P/journal.key" "$P/journal.pub" "$DATA/keys/"
chmod 0600 "$DATA/journal/data.mdb" "$DATA/keys/journal.key"
NPREV=$(wc -l <"$P/export.jsonl")

check "today's chime-journal verifies the earlier journal" sh -c \
    "'$JOURNAL' verify '$DATA' | grep -q '^ok: $NPREV records'"
start_chimed
"$JOURNAL" export "$DATA" >"$T/after.jsonl"
check "the first start records the upgrades: analytics.rebuilt, runs.indexed" \
    jq -se --argjson n "$NPREV" '[.[] | select(.seq > $n) | .kind] |
    index("analytics.rebuilt") != null and index("runs.indexed") != null' \
    "$T/after.jsonl"
check "... the earlier chime's analytics rows (another key format) deleted" \
    jq -se '[.[] | select(.kind == "analytics.rebuilt") | .body.deleted //
    0] | add > 0' "$T/after.jsonl"
NUP=$(jq -s '[.[] | select(.kind == "analytics.rebuilt" or
    .kind == "runs.indexed")] | length' "$T/after.jsonl")
check "... every record of the earlier chime kept as it was (seq, hash)" \
    sh -c "jq -c '[.seq, .hash]' '$P/export.jsonl' >'$T/prev.keys' &&
    jq -c '[.seq, .hash]' '$T/after.jsonl' | head -n $NPREV >'$T/now.keys' &&
    cmp '$T/prev.keys' '$T/now.keys'"
check "its schedules are there, the paused one with its note" json_ok \
    '[.schedules[] | [.name, .state]] | sort == [["bad", "active"],
    ["daily", "active"], ["hourly", "paused"], ["man", "active"]]' \
    ctlj schedule list --account acme
check "... the note kept" json_ok '.pause_note == "kept paused"' \
    ctlj schedule get hourly --account acme
check "... the cron one has its next fire in its zone" json_ok \
    '.next_fire != null and .tz == "Europe/Berlin"' \
    ctlj schedule get daily --account acme
check "its runs: 3 succeeded, 2 failed" sh -c "
    [ \"\$('$CHIMECTL' --socket '$SOCK' --json schedule runs man \
    --account acme | jq '[.runs[] | select(.status == \"success\")] |
    length')\" = 3 ] &&
    [ \"\$('$CHIMECTL' --socket '$SOCK' --json schedule runs bad \
    --account acme | jq '[.runs[] | select(.status == \"failed\")] |
    length')\" = 2 ]"
check "its batch, completed" json_ok \
    '[.batches[] | [.name, .state]] == [["b1", "completed"]]' \
    ctlj batch list --account acme
NRUNS=$(jq -s '[.[] | select(.kind == "run.finished" or
    .kind == "op.completed")] | length' "$P/export.jsonl")
# Since the journal was made, occurrences of the daily cron schedule may
# have passed: the first start records them missed (the catch-up policy),
# so those runs are there as well, and only those.
check "run list (the index built at the upgrade) shows its $NRUNS runs" \
    json_ok "([.runs[] | select(.status != \"missed\")] | length) ==
    $NRUNS and all(.runs[] | select(.status == \"missed\");
    .owner_name == \"daily\")" ctlj run list --account acme
# The days the earlier chime ran them (a period ending today would lose
# them as the fixture ages).
check "... and the analytics count them" json_ok \
    ".current.runs == $NRUNS" ctlj analytics summary --account acme \
    --from 2026-12-01 --to 2026-12-31
ran() {
	ctlj schedule runs man --account acme | jq -e '
	    [.runs[] | select(.status == "success")] | length == 4'
}
check "its schedules run again" ctl schedule trigger man --account acme
check "... to success" wait_for 20 ran
check "stop" stop_chimed
start_chimed
check "a second start upgrades nothing again" sh -c "
    [ \"\$('$JOURNAL' export '$DATA' | jq -s '[.[] |
    select(.kind == \"analytics.rebuilt\" or .kind == \"runs.indexed\")] |
    length')\" = $NUP ]"
check "stop again" stop_chimed
check "chime-journal verify accepts the upgraded journal" "$JOURNAL" \
    verify "$DATA"
finish
