#!/bin/sh
# The control protocol with bad input, chimectl's exit codes, offline
# cron next, help.
. "$(dirname "$0")/lib.sh"

check_fails "no daemon: exit 3" 3 ctl daemon status
check "cron next without a daemon (DST in New York)" sh -c "test \"\$($CHIMECTL cron next '30 2 * * *' --tz America/New_York --from 2025-03-08T12:00:00Z --count 3 | tr '\n' ' ')\" = '2025-03-09T07:00:00Z 2025-03-10T06:30:00Z 2025-03-11T06:30:00Z '"
check "cron next, fall back: the repeated hour fires once" sh -c "test \"\$($CHIMECTL cron next '30 1 * * *' --tz America/New_York --from 2025-11-01T12:00:00Z --count 2 | tr '\n' ' ')\" = '2025-11-02T05:30:00Z 2025-11-03T06:30:00Z '"
check_fails "cron next: bad field is exit 2" 2 "$CHIMECTL" cron next "0 25 * * *"
check "cron next: the message names the field" grep -q hour "$T/last"
check_fails "cron next: unknown zone is exit 2" 2 "$CHIMECTL" cron next "0 1 * * *" --tz Nowhere/City
check "help lists the nouns" sh -c "$CHIMECTL help | grep -q 'schedule'"
check "help for one command" sh -c "$CHIMECTL help schedule create | grep -q -- '--cron'"
check_fails "unknown command is a usage error" 2 ctl frobnicate now

start_chimed
raw() {
	python3 - "$SOCK" "$1" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
print(buf.decode().strip())
PY
}
code() { raw "$1" | jq -e ".error.code == $2" >/dev/null; }
check "malformed JSON: -32700" code '{"jsonrpc":"2.0","id":1,' -32700
check "not JSON-RPC 2.0: -32600" code '{"jsonrpc":"1.0","id":1,"method":"daemon.status"}' -32600
check "unknown method: -32601" code '{"jsonrpc":"2.0","id":1,"method":"nope.never"}' -32601
check "params of the wrong type: -32602" code '{"jsonrpc":"2.0","id":1,"method":"schedule.next","params":{"id":"x","count":"many"}}' -32602
r=$(raw '{"jsonrpc":"2.0","id":7,"method":"schedule.create","params":{"name":"x","operation":"quick","cron":"* * * 13 *"}}')
check "bad cron over the socket: -32602 with data.field" sh -c "echo '$r' | jq -e '.id == 7 and .error.code == -32602 and .error.data.field == \"cron\"'"
check "the reason names the month field" sh -c "echo '$r' | jq -e '.error.data.reason | test(\"month\")'"
# Two changes to one schedule pipelined: the second is refused while the
# first is being recorded, or both apply in order; never a lost update.
ctl schedule create --name pipe --op quick --manual >/dev/null
python3 - "$SOCK" > "$T/pipe.json" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
reqs = [{"jsonrpc": "2.0", "id": 1, "method": "schedule.update",
         "params": {"id": "pipe", "name": "piped"}},
        {"jsonrpc": "2.0", "id": 2, "method": "schedule.update",
         "params": {"id": "pipe", "note": "hello"}}]
s.sendall(b"".join(json.dumps(r).encode() + b"\n" for r in reqs))
buf = b""
while buf.count(b"\n") < 2:
    buf += s.recv(65536)
print(json.dumps([json.loads(l) for l in buf.decode().split("\n") if l]))
PY
check "the rename was answered and kept" sh -c "jq -e '[.[] | select(.id == 1)][0].result.name == \"piped\"' '$T/pipe.json' && $CHIMECTL --socket $SOCK --json schedule get piped | jq -e '.name == \"piped\"'"
check "the second change applied or was refused as busy" sh -c "jq -e '[.[] | select(.id == 2)][0] | (.result.note == \"hello\") or (.error.code == -32002)' '$T/pipe.json'"
check "socket mode is 0666" sh -c "test \"\$(stat -c %a '$SOCK')\" = 666"
check "a second daemon on the same socket is refused" sh -c "! $CHIMED --data '$DATA' --catalog '$CATALOG' >/dev/null 2>&1"
check "the first daemon still answers" ctl daemon status
finish
