#!/bin/sh
# tests/integration/previous/make.sh OLD_BUILD: how the journal in this
# directory was made, for the record (make check does not run it).  OLD_BUILD
# is a build of the chime before the journal carried format_by and before
# its analytics table had more than day rows (commit dcecce5); the
# workload is driven with that build's chimectl, the daemon stopped with
# SIGTERM, and the journal copied compacted (mdb_copy -c), with its keys.
# tests/integration/journal-upgrade.sh starts today's chimed on a copy.
set -eu
OLD=$1
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
D=$T/data
"$OLD/chimed" --data "$D" --catalog "$OLD/tests/integration/catalog.json" \
    --http none --log-level warn 2>"$T/log" &
PID=$!
C="$OLD/chimectl --socket $D/chime.sock"
until $C daemon status >/dev/null 2>&1; do sleep 0.1; done
$C account create acme --uid 0 >/dev/null
$C schedule create --account acme --name daily --op quick \
    --cron '0 9 * * *' --tz Europe/Berlin >/dev/null
$C schedule create --account acme --name hourly --op quick \
    --every 1h >/dev/null
$C schedule pause hourly --account acme --note "kept paused" >/dev/null
$C schedule create --account acme --name man --op quick --manual >/dev/null
$C schedule create --account acme --name bad --op fail --manual >/dev/null
for i in 1 2 3; do $C schedule trigger man --account acme >/dev/null; done
for i in 1 2; do $C schedule trigger bad --account acme >/dev/null; done
$C batch create --account acme --name b1 --op quick --count 3 >/dev/null
n=0
until [ "$($C --json schedule runs man --account acme | jq '
    [.runs[] | select(.status == "success")] | length')" = 3 ] &&
    [ "$($C --json schedule runs bad --account acme | jq '
    [.runs[] | select(.status == "failed")] | length')" = 2 ] &&
    [ "$($C --json batch list --account acme | jq -r '
    .batches[0].state')" = completed ]; do
	n=$((n + 1))
	[ $n -lt 300 ] || { echo "the workload did not end" >&2; exit 1; }
	sleep 0.1
done
kill -TERM $PID
wait $PID
rm -f "$HERE/data.mdb"
mdb_copy -c "$D/journal" "$HERE"
cp "$D/keys/journal.key" "$D/keys/journal.pub" "$HERE/"
"$OLD/chime-journal" export "$D" >"$HERE/export.jsonl"
rm -rf "$T"
