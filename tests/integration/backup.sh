#!/bin/sh
# A backup of a running journal, as doc/operations.md tells it: mdb_copy -c
# of DATA/journal while chimed runs and writes takes a consistent copy;
# chime-journal verify and replay accept it; a restore (the copy's
# data.mdb in a new DATA, with the keys) starts, and holds the schedules
# and runs the copy held.  Skipped (77) without mdb_copy (lmdb-utils).
. "$(dirname "$0")/lib.sh"

if ! command -v mdb_copy >/dev/null 2>&1; then
	echo "SKIP: mdb_copy (lmdb-utils) is not installed"
	trap - EXIT
	rm -rf "$T"
	exit 77
fi
start_chimed
ctl account create acme >/dev/null
i=0
while [ $i -lt 20 ]; do
	ctl schedule create --account acme --name "s$i" --op quick --manual \
	    >/dev/null
	i=$((i + 1))
done
# runs keep ending while the copy is taken
i=0
while [ $i -lt 20 ]; do
	ctl schedule trigger "s$i" --account acme >/dev/null
	i=$((i + 1))
done
B="$T/backup"
mkdir -m 0700 "$B"
check "mdb_copy -c of the running journal" mdb_copy -c "$DATA/journal" "$B"
chmod 0600 "$B/data.mdb"
check "chime-journal verify accepts the copy" "$JOURNAL" verify "$B"
check "... and replay rebuilds its tables" "$JOURNAL" replay "$B" \
    --into "$T/replayed"
SEQ=$("$JOURNAL" export "$B" | tail -n 1 | jq -r .seq)
check "stop" stop_chimed

# restore: a new data directory with the copy's journal and the keys
NEW="$T/restored"
mkdir -m 0711 "$NEW"
mkdir -m 0700 "$NEW/journal"
install -m 0600 "$B/data.mdb" "$NEW/journal/data.mdb"
cp -rp "$DATA/keys" "$NEW/keys"
DATA=$NEW
SOCK=$NEW/chime.sock
start_chimed
check "the restored journal starts, from the copy's last record" sh -c \
    "[ \"\$('$CHIMECTL' --socket '$SOCK' --json daemon status |
    jq -r .journal.seq)\" -ge $SEQ ]"
check "... with the 20 schedules" json_ok '.schedules | length == 20' \
    ctlj schedule list --account acme
check "... and a run after it" ctl schedule trigger s0 --account acme
check "stop the restored daemon" stop_chimed
finish
