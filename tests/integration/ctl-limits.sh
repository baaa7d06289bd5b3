#!/bin/sh
# The control socket is not a resource one tenant can take from everyone:
# a uid that is not an admin holds at most --ctl-max-per-uid connections,
# the last --ctl-admin-reserved places are kept for admins, a connection
# that leaves a request line unfinished is closed at --ctl-read-timeout
# (counted from its first byte, however the bytes trickle in), one that
# asks nothing at --ctl-idle-timeout; a request being served, however long,
# is not cut.
#
# The tenant is uid 65534 (nobody), run with setpriv: the test needs root
# (it is skipped otherwise).  It reaches the socket because the daemon makes
# its data directory 0711 and the socket 0666; $T (0700 from mktemp) gets
# o+x to be traversed.
. "$(dirname "$0")/lib.sh"

OTHER=65534
if ! other_uid_ready; then
	echo "SKIP: needs root and setpriv to act as uid $OTHER"
	exit 77
fi
mkdir "$T/nb"
chown "$OTHER" "$T/nb"

# conns.py MODE ...: a client of the socket, as another uid.
#   hold N EXPECT OUT LETGO: open N connections and send nothing; once
#	EXPECT of them are left open (the others answered and closed) or
#	20 s passed, write {"kept", "refused", "messages"} to OUT; then hold
#	them until the file LETGO exists.
#   half OUT [TRICKLE]: send an unfinished request line (then one more
#	byte every TRICKLE seconds); write {"closed", "seconds", "lines",
#	"sent"} to OUT once the daemon closes it, or after 20 s.
#   idle OUT: connect, send nothing; the same report.
cat > "$T/conns.py" <<'PY'
import json, os, select, socket, sys, time

def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s

def report(out, d):
    with open(out + ".tmp", "w") as f:
        json.dump(d, f)
    os.rename(out + ".tmp", out)

def hold(path, n, expect, out, letgo):
    conns = [connect(path) for _ in range(n)]
    bufs = {c: b"" for c in conns}
    closed = set()
    deadline = time.time() + 20
    while n - len(closed) > expect and time.time() < deadline:
        r, _, _ = select.select([c for c in conns if c not in closed],
                                [], [], 0.2)
        for c in r:
            data = c.recv(4096)
            if data:
                bufs[c] += data
            else:
                closed.add(c)
    msgs = sorted(set(json.loads(bufs[c].split(b"\n")[0])["error"]["message"]
                      for c in closed if bufs[c]))
    report(out, {"kept": n - len(closed), "refused": len(closed),
                 "messages": msgs})
    deadline = time.time() + 120
    while not os.path.exists(letgo) and time.time() < deadline:
        time.sleep(0.05)

def wait_close(path, out, first, trickle):
    c = connect(path)
    start = time.time()
    sent = 0
    if first:
        c.sendall(first)
    buf = b""
    closed = False
    next_send = start + trickle if trickle else None
    while time.time() - start < 20:
        wait = 0.2 if next_send is None else max(0, next_send - time.time())
        r, _, _ = select.select([c], [], [], wait)
        if r:
            try:
                data = c.recv(4096)
            except OSError:
                # closed by the daemon while a byte was on its way
                data = b""
            if not data:
                closed = True
                break
            buf += data
        if next_send is not None and time.time() >= next_send:
            try:
                c.sendall(b" ")
            except OSError:
                closed = True
                break
            sent += 1
            next_send += trickle
    report(out, {"closed": closed, "seconds": time.time() - start,
                 "sent": sent,
                 "lines": [json.loads(l) for l in buf.split(b"\n") if l]})

mode, path = sys.argv[1], sys.argv[2]
if mode == "hold":
    hold(path, int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6])
elif mode == "half":
    wait_close(path, sys.argv[3], b'{"jsonrpc":"2.0","id":1,',
               float(sys.argv[4]) if len(sys.argv) > 4 else 0)
else:
    wait_close(path, sys.argv[3], b"", 0)
PY
chmod 644 "$T/conns.py"

# A python3 the other uid can run (a per-user shim may not be).
PY=
for p in python3 /usr/bin/python3; do
	if as_other "$p" -c pass 2>/dev/null; then
		PY=$p
		break
	fi
done
if [ -z "$PY" ]; then
	echo "SKIP: uid $OTHER cannot run python3"
	exit 77
fi
# nb_conns MODE ARGS...: conns.py as uid 65534.
nb_conns() {
	m=$1
	shift
	as_other "$PY" "$T/conns.py" "$m" "$SOCK" "$@"
}
# elapse SECONDS: let SECONDS pass from START (set by the caller); the
# duration is what is under test, not a stand-in for an event.
elapse() {
	wait_for $(($1 + 10)) sh -c "test \$(( \$(date +%s) - $START )) -ge $1"
}
# jq_file FILTER FILE: FILE passes jq -e FILTER.
jq_file() {
	jq -e "$1" "$2" >/dev/null
}

check_fails "--ctl-admin-reserved must leave places for the others" 2 \
    "$CHIMED" --data "$DATA" --ctl-max-connections 8 --ctl-admin-reserved 8
check "it says why" grep -q 'must be below --ctl-max-connections 8' "$T/last"
check_fails "a bad --ctl-idle-timeout is refused" 2 "$CHIMED" --data \
    "$DATA" --ctl-idle-timeout 0s
check_fails "a bad --ctl-max-per-uid is refused" 2 "$CHIMED" --data \
    "$DATA" --ctl-max-per-uid 0

# ---- one uid holds at most --ctl-max-per-uid (default 32) ----------------
start_chimed
if ! as_other test -x "$CHIMECTL"; then
	echo "SKIP: uid $OTHER cannot run $CHIMECTL (build directory not reachable)"
	exit 77
fi
nb_conns hold 300 32 "$T/nb/hold1" "$T/letgo1" &
HOLDER=$!
check "uid $OTHER opened 300 connections" wait_for 30 test -s "$T/nb/hold1"
check "it keeps 32 of them" jq_file '.kept == 32' "$T/nb/hold1"
check "the others are refused with -32005, saying why" jq_file \
    '.messages == ["too many connections from this uid"]' "$T/nb/hold1"
check "root is still answered while they are held" ctl daemon status
check "the daemon counts them" sh -c "$CHIMECTL --socket $SOCK --json \
    daemon status | jq -e '.connections >= 32'"
check "the log says so, not once a connection" sh -c "test \$(grep -c \
    'msg=\"control connection refused\"' $LOG) -lt 100"
touch "$T/letgo1"
wait "$HOLDER"
check "once they close, the uid is served again" wait_for 20 \
    as_other "$CHIMECTL" --socket "$SOCK" daemon status
stop_chimed

# ---- the last places are kept for admins ---------------------------------
start_chimed --ctl-max-connections 40 --ctl-max-per-uid 40 \
    --ctl-admin-reserved 8
check "no connection but the asking one" wait_for 20 sh -c "$CHIMECTL \
    --socket $SOCK --json daemon status | jq -e '.connections == 1'"
nb_conns hold 60 32 "$T/nb/hold2" "$T/letgo2" &
HOLDER=$!
check "uid $OTHER opened 60 connections" wait_for 30 test -s "$T/nb/hold2"
check "it keeps 40 - 8 of them" jq_file '.kept == 32' "$T/nb/hold2"
check "the others are told the rest are kept for admins" jq_file \
    '.messages == ["too many connections (the rest are kept for admins)"]' \
    "$T/nb/hold2"
check "root is answered" ctl daemon status
check "on several connections at once" sh -c "for i in 1 2 3 4 5 6; do
    $CHIMECTL --socket $SOCK daemon status >/dev/null & done; wait"
touch "$T/letgo2"
wait "$HOLDER"
stop_chimed

# ---- unfinished and idle connections are closed --------------------------
start_chimed --ctl-read-timeout 2s --ctl-idle-timeout 3s
nb_conns half "$T/nb/half"
check "a half-sent request is closed" jq_file '.closed' "$T/nb/half"
check "at the read timeout" jq_file '.seconds >= 1.5 and .seconds < 10' \
    "$T/nb/half"
check "with -32600 saying why" jq_file '.lines == [{"jsonrpc": "2.0",
    "id": null, "error": {"code": -32600,
    "message": "request not complete within 2000 ms"}}]' "$T/nb/half"
nb_conns half "$T/nb/trickle" 0.5
check "one byte every 0.5 s does not keep it open" jq_file \
    '.closed and .seconds < 10' "$T/nb/trickle"
nb_conns idle "$T/nb/idle"
check "an idle connection is closed" jq_file '.closed' "$T/nb/idle"
check "at the idle timeout, without a word" jq_file \
    '.seconds >= 2.5 and .seconds < 10 and .lines == []' "$T/nb/idle"
check "the daemon is still fine" ctl daemon status

# A request being served is never idle: hold the journal so that
# schedule.create waits for its record longer than the idle timeout.  And
# chimectl batch watch follows a batch for as long.
cat > "$T/batch.json" <<'JSON'
{"name": "long", "type": "sequential",
 "operations": [{"id": "a", "operation": "gate"}]}
JSON
b=$(ctlj batch create -f "$T/batch.json" | jq -r .id)
check "the batch's operation started" wait_for 20 sh -c "ls $T/started.* \
    >/dev/null 2>&1"
ctl batch watch "$b" > "$T/watch" 2>&1 &
WATCH=$!
hold_journal
ctl schedule create --name slow --op quick --manual > "$T/slow" 2>&1 &
SLOW=$!
START=$(date +%s)
check "the request and the watch are connected" wait_for 20 sh -c \
    "$CHIMECTL --socket $SOCK --json daemon status |
    jq -e '.connections >= 2'"
check "5 s pass: longer than the idle timeout (3 s)" elapse 5
check "the request is still waiting for its record" kill -0 "$SLOW"
check "watch is still running" kill -0 "$WATCH"
release_journal
check "the answer arrives on the same connection" wait "$SLOW"
check "the schedule was created" grep -q '^id: ' "$T/slow"
touch "$T/release"
check "watch ends with the batch, completed" wait "$WATCH"
stop_chimed
finish
