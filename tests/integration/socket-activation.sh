#!/bin/sh
# Socket activation (systemd's LISTEN_FDS protocol, as
# systemd-socket-activate speaks it): chimed takes the control socket and
# the HTTP listener it is handed instead of making its own, the first
# connection (which started it) is answered, daemon.status names the
# sockets it was given, the operations never see LISTEN_FDS, and at its
# stop the supervisor's socket file stays.  A descriptor of another kind
# is refused.  Skipped (77) without systemd-socket-activate.
. "$(dirname "$0")/lib.sh"

if ! command -v systemd-socket-activate >/dev/null 2>&1; then
	echo "SKIP: systemd-socket-activate (systemd) is not installed"
	trap - EXIT
	rm -rf "$T"
	exit 77
fi
mkdir -p "$DATA"
ASOCK=$T/activated.sock
PORT=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])')
systemd-socket-activate -l "$ASOCK" -l "127.0.0.1:$PORT" \
    "$CHIMED" --data "$DATA" --catalog "$CATALOG" --log-level debug \
    >>"$LOG" 2>&1 &
CHIMED_PID=$!
SOCK=$ASOCK
export CHIME_SOCKET=$SOCK
listening() { test -S "$ASOCK"; }
check "the supervisor listens before chimed runs" wait_for 20 listening
# The first request starts chimed; its connection waits in the backlog.
check "the first request is answered by the chimed it started" \
    ctl daemon status
ctlj daemon status >"$T/status"
check "daemon.status: the control socket it was handed" jq -e \
    --arg s "$ASOCK" '.socket == $s' "$T/status"
check "... and the HTTP listener" jq -e --arg a "127.0.0.1:$PORT" \
    '.http.address == $a' "$T/status"
check "the log says where they came from" sh -c \
    "grep -q 'msg=\"control socket from the supervisor\" fd=' '$LOG' &&
    grep -q 'msg=\"http listener from the supervisor\" fd=' '$LOG'"
HTTP_PORT=$PORT
check "HTTP on the handed listener: /healthz" sh -c \
    "curl -sf http://127.0.0.1:$PORT/healthz >/dev/null"
ctl schedule create --name env --op quick --manual >/dev/null
check "a run works" ctl schedule trigger env
check "stop" stop_chimed
check "the supervisor's socket file stays" test -S "$ASOCK"

# A descriptor that is no listening stream socket is refused: a datagram
# socket, chimed started by the first datagram.
systemd-socket-activate -d -l "$T/dgram.sock" "$CHIMED" --data "$DATA" \
    --catalog "$CATALOG" --http none >"$T/dgram.log" 2>&1 &
DG=$!
dgram_bound() { test -S "$T/dgram.sock"; }
check "a datagram socket, handed over" wait_for 20 dgram_bound
python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"x", sys.argv[1])' "$T/dgram.sock"
wait "$DG"
check "... chimed refuses it, exit 1" test $? -eq 1
check "... saying what it takes" grep -q "socket activation: descriptor 3 is neither a listening Unix stream socket" "$T/dgram.log"
finish
