#!/bin/sh
# daemon.status for a caller that is not an admin shows the figures of its
# own accounts only: no other tenant's counts, no data directory, pid,
# socket, catalog source or journal head.  An admin still sees everything.
#
# The other uids are 65534 (granted team-a) and 65533 (granted nothing),
# run with setpriv, so the test needs root (it is skipped otherwise); the
# socket is set up for them as in accounts.sh.
. "$(dirname "$0")/lib.sh"

OTHER=65534
NOBODY=65533
if ! other_uid_ready; then
	echo "SKIP: needs root and setpriv to act as uid $OTHER"
	exit 77
fi

SOCKDIR=$T/sock
SOCK=$SOCKDIR/chime.sock
export CHIME_SOCKET=$SOCK
mkdir -p "$SOCKDIR"
chmod 755 "$SOCKDIR"

# as UID ARGS...: chimectl --json as another uid.
as() {
	u=$1
	shift
	as_uid "$u" "$CHIMECTL" --socket "$SOCK" --json "$@"
}
# as_jq UID FILTER: that uid's daemon.status passes jq -e FILTER.
as_jq() {
	as "$1" daemon status | jq -e "$2" >/dev/null
}
ctl_jq() { ctlj daemon status | jq -e "$1" >/dev/null; }

start_chimed --socket "$SOCK"
chmod 666 "$SOCK"
if ! as "$OTHER" daemon status >/dev/null 2>&1; then
	echo "SKIP: uid $OTHER cannot run $CHIMECTL (build directory not reachable)"
	exit 77
fi

check "admin creates team-a for uid $OTHER" ctl account create team-a --uid "$OTHER"
check "a schedule of team-a" ctl schedule create --name t1 --op quick --manual --account team-a
check "two schedules of default" ctl schedule create --name d1 --op gate --manual
check "the second one paused" ctl schedule create --name d2 --op quick --every 1h
check "pause it" ctl schedule pause d2
run=$(ctlj schedule trigger d1 | jq -r .run_id)
check "default's run is running" wait_for 20 sh -c "test -e '$T/started.$run'"

check "admin sees every schedule and run" ctl_jq '.schedules == {"total": 3, "active": 2, "paused": 1, "completed": 0} and .runs.running == 1'
check "admin sees the host and the journal" ctl_jq '(.pid | type) == "number" and (.data_dir | type) == "string" and (.socket | type) == "string" and (.journal.head | length) == 64 and (.catalog.source | type) == "string"'

check "uid $OTHER sees team-a's figures only" as_jq "$OTHER" '.schedules == {"total": 1, "active": 1, "paused": 0, "completed": 0} and .runs == {"running": 0, "waiting": 0} and .accounts == ["team-a"]'
check "uid $OTHER sees no host or journal details" as_jq "$OTHER" '[has("pid", "data_dir", "socket", "journal", "catalog", "http", "connections", "timers")] | any | not'
check "uid $OTHER still sees version and uptime" as_jq "$OTHER" '(.version | type) == "string" and .uptime_s >= 0 and .draining == false'
check "the human output holds no data directory" sh -c "setpriv --reuid=$OTHER --regid=$OTHER --clear-groups '$CHIMECTL' --socket '$SOCK' daemon status > '$T/human' && ! grep -q -F '$DATA' '$T/human'"
check "uid $NOBODY, granted nothing, sees zeros" as_jq "$NOBODY" '.schedules.total == 0 and .runs.running == 0 and .accounts == []'

check "team-a's run is counted for uid $OTHER" ctl schedule create --name t2 --op gate --manual --account team-a
run2=$(ctlj schedule trigger t2 --account team-a | jq -r .run_id)
check "it runs" wait_for 20 sh -c "test -e '$T/started.$run2'"
check "uid $OTHER sees its one run" as_jq "$OTHER" '.runs.running == 1 and .schedules.total == 2'
check "admin sees both" ctl_jq '.runs.running == 2'
touch "$T/release"
check "drain" stop_chimed
finish
