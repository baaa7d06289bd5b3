#!/bin/sh
# The supervisor's notifications with a real chimed.  systemd's protocol:
# a datagram socket named by NOTIFY_SOCKET (here a listener that writes
# each notification to a file) gets EXTEND_TIMEOUT_USEC while the start
# recovers, READY=1 with a STATUS= line once it answers, WATCHDOG=1 again
# and again at half of WATCHDOG_USEC, RELOADING=1 then READY=1 around a
# SIGHUP, STOPPING=1 when SIGTERM begins the drain.  s6's: --ready-fd N
# gets a newline once the socket answers, then is closed; a descriptor
# that is not open is refused at the start.
. "$(dirname "$0")/lib.sh"

NOTIFY="$T/notify.sock"
python3 - "$NOTIFY" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as out:
    while True:
        msg = s.recv(4096).decode()
        out.write(msg.replace("\n", " | ") + "\n")
PY
LISTENER=$!
# (the exit status reaches cleanup unchanged)
trap 'st=$?; kill $LISTENER 2>/dev/null; (exit $st); cleanup' EXIT
check "the listener is up" wait_for 10 test -S "$NOTIFY"

# seen N PATTERN: at least N notifications match PATTERN (grep -E).
seen() { [ "$(grep -cE "$2" "$T/notify.log" 2>/dev/null)" -ge "$1" ]; }

NOTIFY_SOCKET="$NOTIFY" WATCHDOG_USEC=300000 start_chimed
check "READY=1, with a STATUS= line" wait_for 10 seen 1 \
    '^READY=1 \| STATUS=[0-9]+ schedules \([0-9]+ active\), [0-9]+ runs in flight \([0-9]+ waiting\), journal seq [1-9]'
check "... after EXTEND_TIMEOUT_USEC while it recovered" sh -c \
    "grep -nE '^EXTEND_TIMEOUT_USEC=[0-9]+ \\| STATUS=recovering' \
    '$T/notify.log' | head -n 1 | cut -d: -f1 | { read -r e;
    r=\$(grep -nE '^READY=1' '$T/notify.log' | head -n 1 | cut -d: -f1);
    [ -n \"\$e\" ] && [ \"\$e\" -lt \"\$r\" ]; }"
check "WATCHDOG=1, again and again" wait_for 10 seen 5 '^WATCHDOG=1$'
kill -HUP "$CHIMED_PID"
check "SIGHUP: RELOADING=1" wait_for 10 seen 1 \
    '^RELOADING=1 \| MONOTONIC_USEC=[0-9]+$'
check "... then READY=1 again" wait_for 10 seen 2 '^READY=1 '
check "stop: a clean drain" stop_chimed
check "... announced with STOPPING=1 and its STATUS=" seen 1 \
    '^STOPPING=1 \| STATUS=.*draining'
N=$(grep -c '^WATCHDOG=1$' "$T/notify.log")
check "... and no word once stopped" sh -c \
    "[ \"\$(grep -c '^WATCHDOG=1$' '$T/notify.log')\" = $N ]"

# Without NOTIFY_SOCKET nothing is sent, and a start needs nothing.
: >"$T/notify.log"
start_chimed
check "no NOTIFY_SOCKET: nothing sent" sh -c "[ ! -s '$T/notify.log' ]"
stop_chimed >/dev/null

# s6: the readiness line on --ready-fd, once the socket answers.
rm -f "$T/ready"
"$CHIMED" --data "$DATA" --catalog "$CATALOG" --http none --ready-fd 3 \
    3>"$T/ready" >>"$LOG" 2>&1 &
CHIMED_PID=$!
check "--ready-fd: a newline once ready" wait_for 20 sh -c \
    "[ \"\$(od -An -c '$T/ready' | tr -d ' ')\" = '\\n' ]"
check "... by then the socket answers" ctl daemon status
check "... and the descriptor is closed" sh -c \
    "! ls -l /proc/$CHIMED_PID/fd 2>/dev/null | grep -q ' 3 -> '"
stop_chimed >/dev/null
# (9 closed here: make may pass the test descriptors of its own)
check_fails "--ready-fd that is not open is refused" 1 "$CHIMED" --data \
    "$DATA" --catalog "$CATALOG" --http none --ready-fd 9 9>&-
check "... saying so" grep -q -- '--ready-fd 9: not an open descriptor' \
    "$T/last"
check_fails "--ready-fd that is no number is refused" 2 "$CHIMED" --data \
    "$DATA" --ready-fd three
check "... saying so" grep -q -- '--ready-fd: expected a number' "$T/last"
finish
