#!/bin/sh
# The HTTP listener: /healthz, /readyz (503 while draining), /metrics in the
# Prometheus text format, 404, 405 with Allow, 413, the connection limit,
# --http none, a bad --http.
. "$(dirname "$0")/lib.sh"

# code METHOD PATH [CURL ARGS...]: the status code of one request.
code() {
	m=$1
	p=$2
	shift 2
	curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -X "$m" \
	    --max-time 20 "$@" "http://127.0.0.1:$HTTP_PORT$p"
}

check_fails "a bad --http is refused" 2 "$CHIMED" --data "$DATA" \
    --http 127.0.0.1
check "it says what it expects" grep -q 'IPV4:PORT' "$T/last"
check_fails "a port out of range is refused" 2 "$CHIMED" --data "$DATA" \
    --http 127.0.0.1:70000
check_fails "a host name is refused" 2 "$CHIMED" --data "$DATA" \
    --http example.com:80
check "nothing was created by the refused starts" test ! -e "$DATA"

start_chimed --drain-timeout 60s
check "daemon.status has the bound address" test -n "$HTTP_PORT"
check "the bound port is not 0" test "$HTTP_PORT" -ne 0
check "healthz 200" test "$(code GET /healthz)" = 200
check "healthz says ok" grep -qx ok "$T/body"
check "readyz 200" test "$(code GET /readyz)" = 200
check "HEAD healthz 200" test "$(code HEAD /healthz -I)" = 200
check "404 for an unknown path" test "$(code GET /nope)" = 404
check "404 for a path below healthz" test "$(code GET /healthz/x)" = 404
check "405 for POST /healthz" test "$(code POST /healthz -d x)" = 405
check "405 says what is allowed" grep -qi '^Allow: GET, HEAD' "$T/headers"
check "405 for DELETE /metrics" test "$(code DELETE /metrics)" = 405
head -c 1100000 /dev/zero > "$T/big"
check "413 for a body over 1 MiB" test "$(code POST /healthz \
    --data-binary @"$T/big")" = 413
check "413 for a body over 1 MiB to an unknown path" test "$(code POST \
    /v1/hooks/x --data-binary @"$T/big")" = 413
check "400 for headers over 16 KiB" test "$(code GET /healthz -H \
    "X-Big: $(head -c 17000 /dev/zero | tr '\0' a)")" = 400
check_fails "a port in use stops a second daemon" 1 "$CHIMED" --data \
    "$T/data2" --catalog "$CATALOG" --http "127.0.0.1:$HTTP_PORT"
check "it says why" grep -q 'Address already in use' "$T/last"
check "before its control socket existed" test ! -e "$T/data2/chime.sock"
check "still healthy after the refusals" test "$(code GET /healthz)" = 200

check "a schedule" ctl schedule create --name quick --op quick --manual
r=$(ctlj schedule trigger quick | jq -r .run_id)
check "its run ends" wait_for 20 sh -c "$CHIMECTL --socket $SOCK --json run get '$r' | jq -e '.status == \"success\"'"
check "metrics 200" test "$(code GET /metrics)" = 200
cp "$T/body" "$T/metrics"
check "metrics content type is the text format 0.0.4" \
    grep -qi '^Content-Type: text/plain; version=0.0.4' "$T/headers"
for m in chime_fires_total:counter chime_runs_total:counter \
    chime_run_duration_seconds:histogram chime_fire_lag_seconds:histogram \
    chime_journal_commits_total:counter chime_journal_records_total:counter \
    chime_journal_commit_duration_seconds:histogram \
    chime_webhook_requests_total:counter chime_budget_skips_total:counter \
    chime_executor_slots_in_use:gauge chime_runs_waiting:gauge \
    chime_actors:gauge chime_uptime_seconds:gauge chime_build_info:gauge; do
	check "TYPE ${m%%:*}" grep -qx "# TYPE ${m%%:*} ${m#*:}" "$T/metrics"
done
check "journal commits > 0" awk '$1 == "chime_journal_commits_total" &&
    $2 > 0 { ok = 1 } END { exit !ok }' "$T/metrics"
check "commit latency observed" awk '
    $1 == "chime_journal_commit_duration_seconds_count" && $2 > 0 {
	ok = 1 }
    END { exit !ok }' "$T/metrics"
check "one schedule actor" grep -qx 'chime_actors{kind="schedule"} 1' \
    "$T/metrics"
check "nothing running" grep -qx 'chime_executor_slots_in_use 0' \
    "$T/metrics"
check "every histogram ends with +Inf" sh -c "test \$(grep -c '_bucket{le=\"+Inf\"}' $T/metrics) -eq \$(grep -c '^# TYPE .* histogram' $T/metrics)"
check "every sample line is a name, labels and a number" awk '
    /^#/ { next }
    $0 !~ /^chime_[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? [-+0-9.eInfNa]+$/ {
	bad = 1; print }
    END { exit bad }' "$T/metrics"

# Readiness while draining: a running gate operation holds the drain.
check "a long run" ctl schedule create --name long --op gate --manual
r=$(ctlj schedule trigger long | jq -r .run_id)
check "it started" wait_for 20 test -e "$T/started.$r"
check "slots in use while it runs" sh -c "curl -s http://127.0.0.1:$HTTP_PORT/metrics | grep -qx 'chime_executor_slots_in_use 1'"
kill -TERM "$CHIMED_PID"
check "readyz 503 while draining" wait_for 10 sh -c "test \"\$(curl -s -o $T/body -w '%{http_code}' http://127.0.0.1:$HTTP_PORT/readyz)\" = 503"
check "readyz says why" grep -q 'draining' "$T/body"
check "healthz still 200 while draining" test "$(code GET /healthz)" = 200
touch "$T/release"
wait "$CHIMED_PID"
rc=$?
CHIMED_PID=
check "drained: exit status 0" test "$rc" -eq 0
check "the listener is gone after the drain" sh -c "! curl -s --max-time 5 http://127.0.0.1:$HTTP_PORT/healthz"

# Limits: body size, connections (counted from their accept) and time.
check_fails "a bad --http-max-connections is refused" 2 "$CHIMED" \
    --data "$DATA" --http-max-connections 0
check_fails "a bad --http-timeout is refused" 2 "$CHIMED" --data "$DATA" \
    --http-timeout 0s
start_chimed --http-max-connections 2 --http-max-body 2048 --http-timeout 10s
head -c 4096 /dev/zero > "$T/4k"
check "413 past --http-max-body" test "$(code POST /healthz \
    --data-binary @"$T/4k")" = 413
check "the listener's own 413 is logged, with its path" grep -q \
    'msg="http request refused" status=413 reason="body over --http-max-body" path="/healthz"' \
    "$LOG"
check "400 for headers over 16 KiB" test "$(code GET /healthz?x=1 -H \
    "X-Big: $(head -c 17000 /dev/zero | tr '\0' a)")" = 400
curl -s "http://127.0.0.1:$HTTP_PORT/metrics" > "$T/metrics"
check "both are counted" sh -c "grep -qx \
    'chime_http_refused_total{reason=\"too_large\"} 1' $T/metrics &&
    grep -qx 'chime_http_refused_total{reason=\"bad_request\"} 1' \
    $T/metrics"
check "a body within it reaches the route" test "$(code POST /healthz \
    -d x)" = 405
# hold N: N keep-alive connections, each after one request, held open
# until $T/let-go exists; "ready" in $T/held once all are answered.
cat > "$T/hold.py" <<'PY'
import os, socket, sys, time
port, n, dir = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
conns = []
for i in range(n):
    c = socket.create_connection(("127.0.0.1", port))
    c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    if b" 200 " not in c.recv(4096):
        sys.exit(1)
    conns.append(c)
open(os.path.join(dir, "held"), "w").write("ready\n")
deadline = time.time() + 60
while not os.path.exists(os.path.join(dir, "let-go")) and time.time() < deadline:
    time.sleep(0.05)
PY
python3 "$T/hold.py" "$HTTP_PORT" 2 "$T" &
HOLD=$!
check "two connections are held" wait_for 20 test -s "$T/held"
check "daemon.status counts them" sh -c "$CHIMECTL --socket $SOCK --json \
    daemon status | jq -e '.http.connections == 2'"
check "a third connection: 503" test "$(code GET /healthz)" = 503
check "it says why" grep -q 'too many connections' "$T/body"
check "and asks to retry" grep -qi '^Retry-After: 1' "$T/headers"
touch "$T/let-go"
wait "$HOLD"
check "once they close, connections are taken again" wait_for 20 sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' \
    http://127.0.0.1:$HTTP_PORT/healthz)\" = 200"
n=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	[ "$(code GET /healthz)" = 200 ] && n=$((n + 1))
done
check "closed connections give their place back" test "$n" -eq 20
stop_chimed

# Connections count from their accept, and a request must be read whole
# within --http-timeout of it (or of the previous answer), however its
# bytes trickle in; a request a route is serving has no deadline.
start_chimed --http-max-connections 2 --http-timeout 2s
# silent.py PORT N OUT: open N connections and send nothing; "open" in
# OUT.open once they are; {"closed", "seconds"} in OUT once the daemon
# closed them all (or after 20 s).
cat > "$T/silent.py" <<'PY'
import json, os, select, sys, time
import socket
port, n, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
conns = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
start = time.time()
open(out + ".open", "w").write("open\n")
closed = set()
while len(closed) < n and time.time() - start < 20:
    r, _, _ = select.select([c for c in conns if c not in closed], [], [], 0.2)
    for c in r:
        if not c.recv(4096):
            closed.add(c)
json.dump({"closed": len(closed), "seconds": time.time() - start},
          open(out + ".tmp", "w"))
os.rename(out + ".tmp", out)
PY
# slow.py PORT DELAY REQFILE OUT: send REQFILE a byte every DELAY seconds;
# {"closed", "seconds", "sent", "total", "status"} in OUT once the daemon
# answers or closes (status null: no answer).
cat > "$T/slow.py" <<'PY'
import json, os, select, socket, sys, time
port, delay, out = int(sys.argv[1]), float(sys.argv[2]), sys.argv[4]
req = open(sys.argv[3], "rb").read()
c = socket.create_connection(("127.0.0.1", port))
start, sent, buf, closed = time.time(), 0, b"", False
while time.time() - start < 60:
    r, _, _ = select.select([c], [], [], delay)
    if r:
        data = c.recv(4096)
        if not data:
            closed = True
            break
        buf += data
        if b"\r\n\r\n" in buf:
            break
    elif sent < len(req):
        try:
            c.sendall(req[sent:sent + 1])
        except OSError:
            closed = True
            break
        sent += 1
status = int(buf.split(b" ")[1]) if buf.startswith(b"HTTP/") else None
json.dump({"closed": closed, "seconds": time.time() - start, "sent": sent,
           "total": len(req), "status": status}, open(out + ".tmp", "w"))
os.rename(out + ".tmp", out)
PY
python3 "$T/silent.py" "$HTTP_PORT" 2 "$T/silent" &
SILENT=$!
check "two connections are open, silent" wait_for 20 test -s "$T/silent.open"
check "they are counted from their accept" wait_for 20 sh -c "$CHIMECTL \
    --socket $SOCK --json daemon status | jq -e '.http.connections == 2'"
check "a third connection: 503" test "$(code GET /healthz)" = 503
check "the silent ones are closed at the deadline" wait_for 20 test -s \
    "$T/silent"
check "both, after 2 s and well before 20" jq -e '.closed == 2 and
    .seconds >= 1.5 and .seconds < 10' "$T/silent"
wait "$SILENT"
check "their places are taken again" wait_for 20 sh -c "test \"\$(curl -s \
    -o /dev/null -w '%{http_code}' http://127.0.0.1:$HTTP_PORT/healthz)\" = 200"

# A signed webhook delivery sent a byte every 0.2 s (10 s in all): each
# byte comes well within 2 s of the last, but the request is not read
# whole within 2 s of the accept: closed, unanswered, nothing run.
ctlj schedule create --name slowhook --op quick --webhook \
    --webhook-secret generated > "$T/slowhook"
HID=$(jq -r .id "$T/slowhook")
HSECRET=$(jq -r .webhook_secret "$T/slowhook")
secret_used "$HSECRET"
ts=$(date +%s)
hbody='{"slow":true}'
hsig=$(sign slow1 "$ts" "$hbody" "$(hexkey "$HSECRET")")
printf 'POST /v1/hooks/%s HTTP/1.1\r\nHost: x\r\nwebhook-id: slow1\r\nwebhook-timestamp: %s\r\nwebhook-signature: %s\r\nContent-Length: %s\r\n\r\n%s' \
    "$HID" "$ts" "$hsig" "${#hbody}" "$hbody" > "$T/slow.req"
python3 "$T/slow.py" "$HTTP_PORT" 0.2 "$T/slow.req" "$T/slow"
check "a request trickling in is closed before it is whole" jq -e \
    '.closed and .status == null and .sent < .total' "$T/slow"
check "at the deadline" jq -e '.seconds >= 1.5 and .seconds < 10' "$T/slow"
check "nothing ran" sh -c "$CHIMECTL --socket $SOCK --json schedule runs \
    $HID | jq -e '.runs == []'"
check "the log says so (a line a second at most)" grep -q \
    'msg="http request not read in time; closed" timeout_s=2' "$LOG"
curl -s "http://127.0.0.1:$HTTP_PORT/metrics" > "$T/metrics"
check "the two silent ones and it are counted, and the 503" sh -c "grep \
    -qx 'chime_http_refused_total{reason=\"timeout\"} 3' $T/metrics &&
    grep -qx 'chime_http_refused_total{reason=\"connections\"} 1' \
    $T/metrics"
# The same delivery at once is accepted.
# (one timestamp for the header and the signature: two date calls may
# straddle a second)
ts=$(date +%s)
check "sent whole, it is accepted" test "$(post "$HID" slow2 "$ts" \
    "$(sign slow2 "$ts" "$hbody" "$(hexkey "$HSECRET")")" \
    "$hbody")" = 202

# A request a route is serving is not cut: a delivery waits for the
# journal (held) longer than the deadline, then is answered.
hold_journal
ts=$(date +%s)
post "$HID" slow3 "$ts" "$(sign slow3 "$ts" "$hbody" "$(hexkey \
    "$HSECRET")")" "$hbody" > "$T/slow3.code" &
POST=$!
check "the held delivery is read" wait_for 20 sh -c "$CHIMECTL --socket \
    $SOCK --json daemon status | jq -e '.http.connections == 1'"
check "it waits past the deadline (4 s)" stays_empty 4 "$T/slow3.code"
check "still connected" kill -0 "$POST"
release_journal
wait "$POST"
check "and is answered 202" test "$(cat "$T/slow3.code")" = 202
stop_chimed

start_chimed --http none
check "--http none: no address in daemon.status" sh -c "$CHIMECTL --socket $SOCK --json daemon status | jq -e '.http == null'"
check "--http none: HTTP_PORT is empty" test -z "$HTTP_PORT"
check "--http none: only the earlier starts listened" test "$(grep -c 'msg="http listening"' "$LOG")" -eq 3
finish
