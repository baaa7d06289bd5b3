#!/bin/sh
# Refused webhook requests cannot grow the journal without bound: of the
# requests nobody signed (401, 404, the listener's own 413), each schedule
# (and all unknown schedules together) journals the first N of a window in
# full (--webhook-refusals N/DURATION) and folds the rest into one record
# with a count when the window ends, or when the daemon stops.  Metrics
# count every one; a signed delivery is never folded.
. "$(dirname "$0")/lib.sh"

# flood.py PORT OUT PATH STATUS N [SIZE]: POST to PATH N times on one
# kept-alive connection (a body of SIZE bytes, default 2, reconnecting
# when the daemon closes); writes to OUT how many answers were STATUS.
cat > "$T/flood.py" <<'PY'
import http.client, sys
port, out, path, want, n = (int(sys.argv[1]), sys.argv[2], sys.argv[3],
                            int(sys.argv[4]), int(sys.argv[5]))
size = int(sys.argv[6]) if len(sys.argv) > 6 else 2
body = b"x" * size
c, got = None, 0
for i in range(n):
    for attempt in (1, 2):
        try:
            if c is None:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            p = path.replace("{i}", str(i))
            c.request("POST", p, body=body, headers={
                "webhook-id": "msg_%d" % i, "webhook-timestamp": "1",
                "webhook-signature": "v1,AAAA"})
            r = c.getresponse()
            r.read()
            got += r.status == want
            if r.getheader("Connection", "").lower() == "close":
                c.close()
                c = None
            break
        except (http.client.HTTPException, OSError):
            c = None
open(out, "w").write("%d\n" % got)
PY

# records FILTER: how many webhook.received records pass jq FILTER.
records() {
	"$JOURNAL" export "$DATA" | jq -s "[.[] | select(.kind ==
	    \"webhook.received\") | select($1)] | length"
}
# counted FILTER: the refusals those records stand for (count, else 1).
counted() {
	"$JOURNAL" export "$DATA" | jq -s "[.[] | select(.kind ==
	    \"webhook.received\") | select($1) | .body.count // 1] | add // 0"
}
# metric NAME VALUE: the metric's sample line is NAME VALUE.
metric() {
	curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | grep -qxF "$1 $2"
}

check_fails "a bad --webhook-refusals is refused" 2 "$CHIMED" --data \
    "$DATA" --webhook-refusals 20
check "it says what it expects" grep -q 'expected N/DURATION' "$T/last"
check_fails "a window under 1s is refused" 2 "$CHIMED" --data "$DATA" \
    --webhook-refusals 5/0s

# A window of an hour: nothing is folded away before the stop.
start_chimed --webhook-refusals 20/1h --http-max-body 4096
create_hook hook
SID=$HOOK_ID
SECRET=$HOOK_SECRET
base=$(records 'true')

python3 "$T/flood.py" "$HTTP_PORT" "$T/n401" "/v1/hooks/$SID" 401 500
check "500 unsigned requests: all answered 401" test "$(cat "$T/n401")" = 500
python3 "$T/flood.py" "$HTTP_PORT" "$T/n404" "/v1/hooks/s_nope{i}" 404 300
check "300 to unknown schedules: all answered 404" test \
    "$(cat "$T/n404")" = 300
python3 "$T/flood.py" "$HTTP_PORT" "$T/n413" "/v1/hooks/$SID" 413 30 5000
check "30 over --http-max-body: the listener's 413" test \
    "$(cat "$T/n413")" = 30

check "metrics count the 500 refusals" metric \
    'chime_webhook_requests_total{outcome="unauthorized"}' 500
check "and the 300 unknown schedules" metric \
    'chime_webhook_requests_total{outcome="not_found"}' 300
check "and the listener's 30" metric \
    'chime_webhook_requests_total{outcome="too_large"}' 30
check "of which 510 (401 and 413) + 280 (404) were folded" metric \
    chime_webhook_refusals_folded_total 790
check "the journal grew by 20 + 20 records, not 830" test \
    "$(($(records 'true') - base))" = 40
check "20 for the schedule, in full" test "$(records \
    ".body.schedule == \"$SID\"")" = 20
check "its event log has those 20" sh -c "$CHIMECTL --socket $SOCK --json \
    webhook events $SID --limit 1000 | jq -e '.events | length == 20'"
check "the daemon log has a line for each of them only" test "$(grep -c \
    'msg="webhook refused"' "$LOG")" -le 45

# A signed delivery is never folded.
ts=$(date +%s)
check "a signed delivery: 202" test "$(post "$SID" good1 "$ts" "$(sign \
    good1 "$ts" '{}' "$(hexkey "$SECRET")")" '{}')" = 202
check "journaled in full" test "$(records ".body.message_id == \"good1\" \
    and .body.status == 202")" = 1

# At the stop, each fold is written as one record with its count.
check "the daemon stops" stop_chimed
check "one more record for the schedule" test "$(records \
    ".body.schedule == \"$SID\" and .body.status >= 400")" = 21
check "they stand for its 530 refusals" test "$(counted \
    ".body.schedule == \"$SID\" and .body.status >= 400")" = 530
check "one more for the unknown schedules" test "$(records \
    ".body.style == null")" = 21
check "they stand for the 300" test "$(counted ".body.style == null")" = 300
check "a fold says when its refusals began and ended" test "$(records \
    '.body.count != null and .body.first_at_us <= .body.at_us')" = 2
check "the log has one line a fold" test "$(grep -c \
    'msg="webhook refusals folded"' "$LOG")" = 2

# A short window: the fold is written when it ends, while the daemon runs.
start_chimed --webhook-refusals 3/4s
before=$(records 'true')
python3 "$T/flood.py" "$HTTP_PORT" "$T/n401b" "/v1/hooks/$SID" 401 10
check "10 more refusals: 3 in full at once" test \
    "$(($(records 'true') - before))" = 3
check "the window's end writes the fold of the other 7" wait_for 20 sh -c \
    "test \$($JOURNAL export $DATA | jq -s '[.[] | select(.kind ==
    \"webhook.received\" and .body.count == 7)] | length') = 1"
check "its row shows the count in webhook events" sh -c "$CHIMECTL \
    --socket $SOCK --json webhook events $SID | jq -e '.events[0].count == 7
    and .events[0].first_at != null'"
check "a new window journals in full again" sh -c "python3 $T/flood.py \
    $HTTP_PORT $T/n401c /v1/hooks/$SID 401 1 && test \$($JOURNAL export \
    $DATA | jq -s '[.[] | select(.kind == \"webhook.received\")] |
    length') = $((before + 5))"
check "the daemon stops" stop_chimed
finish
