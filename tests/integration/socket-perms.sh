#!/bin/sh
# Who reaches the control socket: the daemon makes its data directory 0711
# and the socket 0666, so a uid granted an account connects and is served
# as documented, an ungranted uid connects and is refused per account by
# the daemon (SO_PEERCRED), and neither can list or read anything else in
# the data directory (journal/ and secrets/ are 0700).  chimectl names the
# reason it cannot connect: no socket, permission denied, refused.
#
# The other uids are 65534 (granted) and 65533 (not), run with setpriv, so
# the test needs root (it is skipped otherwise).  $T (0700 from mktemp) gets
# o+x to be traversed, as a data directory's parents must be.
. "$(dirname "$0")/lib.sh"

GRANTED=65534
STRANGER=65533
if ! other_uid_ready; then
	echo "SKIP: needs root and setpriv to act as other uids"
	exit 77
fi

# mode PATH: the octal mode of PATH.
mode() {
	stat -c %a "$1"
}
# jq_as UID FILTER ARGS...: as UID, chimectl --json ARGS succeeds and its
# answer passes jq -e FILTER.
jq_as() {
	u=$1
	f=$2
	shift 2
	out=$(as_uid "$u" "$CHIMECTL" --socket "$SOCK" --json "$@") &&
	    printf '%s\n' "$out" | jq -e "$f" >/dev/null
}
# code_as UID CODE ARGS...: as UID, chimectl exits 1 with error CODE.
code_as() {
	u=$1
	want=$2
	shift 2
	got=$(as_uid "$u" "$CHIMECTL" --socket "$SOCK" --json "$@" 2>&1 \
	    >/dev/null | jq -r .code 2>/dev/null)
	[ "$got" = "$want" ]
}

start_chimed
if ! as_uid "$GRANTED" test -x "$CHIMECTL"; then
	echo "SKIP: uid $GRANTED cannot run $CHIMECTL (build directory not reachable)"
	exit 77
fi
check "the data directory is 0711" test "$(mode "$DATA")" = 711
check "the socket is 0666" test "$(mode "$SOCK")" = 666
check "the journal directory is 0700" test "$(mode "$DATA/journal")" = 700
check "a webhook schedule with a generated secret" ctl schedule create \
    --name hook --op quick --webhook --webhook-secret generated
check "secrets/ is 0700" test "$(mode "$DATA/secrets")" = 700
check "the pid file is not for others" sh -c "test \$(( 0$(mode \
    "$DATA/chimed.pid") & 7 )) -eq 0"

check "an account for uid $GRANTED" ctl account create team --uid "$GRANTED"
check "uid $GRANTED connects and is served" as_uid "$GRANTED" "$CHIMECTL" \
    --socket "$SOCK" schedule create --account team --name mine --op quick \
    --manual
check "and lists its account's schedules" jq_as "$GRANTED" \
    '[.schedules[].name] == ["mine"]' schedule ls --account team
check "uid $STRANGER connects, and is refused for the account (-32003)" \
    code_as "$STRANGER" -32003 schedule ls --account team
check "and sees none of default's schedules" jq_as "$STRANGER" \
    '.schedules == []' schedule ls
for u in "$GRANTED" "$STRANGER"; do
	check_fails "uid $u cannot list the data directory" 2 as_uid "$u" \
	    ls "$DATA"
	check_fails "uid $u cannot read the pid file" 1 as_uid "$u" \
	    cat "$DATA/chimed.pid"
	check_fails "uid $u cannot list the journal" 2 as_uid "$u" \
	    ls "$DATA/journal"
	check_fails "uid $u cannot read the journal" 1 as_uid "$u" \
	    cat "$DATA/journal/data.mdb"
	check_fails "uid $u cannot list secrets/" 2 as_uid "$u" ls "$DATA/secrets"
done

# ---- chimectl says why it cannot connect ---------------------------------
check_fails "no socket: exit 3" 3 "$CHIMECTL" --socket "$T/none.sock" \
    daemon status
check "it says there is no socket there" grep -qF \
    "no socket at $T/none.sock: is chimed running?" "$T/last"
chmod 700 "$DATA"
check_fails "a directory it cannot pass: exit 3" 3 as_uid "$GRANTED" \
    "$CHIMECTL" --socket "$SOCK" daemon status
check "it says permission denied" grep -qF \
    "cannot connect to $SOCK: permission denied" "$T/last"
check "and not that the daemon is not running" sh -c "! grep -q \
    'is chimed running' $T/last"
chmod 711 "$DATA"
python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1])' "$T/stale.sock"
check_fails "a socket nobody listens on: exit 3" 3 "$CHIMECTL" --socket \
    "$T/stale.sock" daemon status
check "it says connection refused" grep -qF \
    "cannot connect to $T/stale.sock: connection refused" "$T/last"
stop_chimed

# An existing data directory keeps its mode; the log says when others
# cannot reach the socket through it.
chmod 750 "$DATA"
start_chimed
check "a 0750 data directory is left 0750" test "$(mode "$DATA")" = 750
check "the log says other uids cannot reach the socket" grep -q \
    'msg="other uids cannot reach the control socket' "$LOG"
stop_chimed
finish
