#!/bin/sh
# Inbound webhooks (POST /v1/hooks/ID, Standard Webhooks signatures): a
# valid delivery runs once; tampered, wrongly signed, stale, future and
# malformed ones get 401; a replayed id answers the first run; 404, 413;
# concurrent deliveries of one id make one run; a secret without its
# whsec_ prefix is the same key; the secret stays secret.
# The signer is openssl (lib.sh), independent of the daemon's code.
. "$(dirname "$0")/lib.sh"

# deliver SCHEDULE ID BODY [HEXKEY [TS]]: a delivery signed now (or at TS).
deliver() {
	ts=${5:-$(date +%s)}
	post "$1" "$2" "$ts" "$(sign "$2" "$ts" "$3" "${4:-$KEY}")" "$3"
}

# webhook_runs SCHEDULE: runs of SCHEDULE in the journal that a webhook
# started.
webhook_runs() {
	export_journal
	jq -s "[.[] | select(.kind == \"run.started\" or .kind == \
	    \"run.pending\") | select(.body.schedule == \"$1\" and \
	    .body.triggered_by == \"webhook\") | .body.run_id] | unique |
	    length" "$T/export.jsonl"
}

ENV_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
export WH_TEST_SECRET="$ENV_SECRET"
secret_used "$ENV_SECRET"
# The same secret without its prefix; and one that is not base64.
export WH_BARE_SECRET="${ENV_SECRET#whsec_}" WH_RAW_SECRET=not-base64-text
secret_used "$WH_RAW_SECRET"
start_chimed
check "the listener is up" test -n "$HTTP_PORT"
create_hook hook
check "a webhook schedule is created" jq -e '.trigger == "webhook"' \
    "$T/create"
SID=$HOOK_ID
SECRET=$HOOK_SECRET
check "the create answer shows the generated secret" \
    sh -c "printf '%s' '$SECRET' | grep -q '^whsec_'"
check "the row refers to it, not holds it" jq -e \
    ".webhook_secret_ref == \"generated:$SID\" and .webhook_tolerance_s == 300" \
    "$T/create"
check "get does not show the secret again" sh -c \
    "$CHIMECTL --socket $SOCK --json schedule get $SID | jq -e '.webhook_secret == null'"
KEY=$(hexkey "$SECRET")
check_fails "a webhook trigger without a secret is refused" 1 ctl \
    schedule create --name nosecret --op quick --webhook
check_fails "a bad secret reference is refused" 1 ctl schedule create \
    --name badref --op quick --webhook --webhook-secret nope:x

BODY='{"event":"push","n":1}'
check "a valid delivery: 202" test "$(deliver "$SID" msg_1 "$BODY")" = 202
R1=$(jq -r .run_id "$T/body")
check "it answers the run id" test "${R1#"$SID":}" != "$R1"
check "the run succeeds" wait_for 20 run_is "$R1" success
check "the run was started by the webhook" sh -c \
    "$CHIMECTL --socket $SOCK --json run get '$R1' | jq -e '.triggered_by == \"webhook\"'"
check "the body is its webhook parameter" sh -c \
    "$CHIMECTL --socket $SOCK --json run get '$R1' | jq -e '.parameters.webhook.event == \"push\"'"

check "a replay: 200" test "$(deliver "$SID" msg_1 "$BODY")" = 200
check "it names the first run" jq -e ".run_id == \"$R1\" and .duplicate" \
    "$T/body"
check "no second run" test "$(webhook_runs "$SID")" = 1

# A delivery whose run is recorded without starting (the operation is
# disabled in the account's preferences): accepted, 202 with the run.
check "the operation is disabled" ctl prefs set --op quick --no-enabled
check "a delivery of a disabled operation: 202" \
    test "$(deliver "$SID" msg_off "$BODY")" = 202
check "it answers the skipped run and why" jq -e \
    '.status == "skipped" and .reason == "disabled" and (.run_id | startswith("'"$SID"':"))' \
    "$T/body"
check "a replay of it names that run: 200" \
    test "$(deliver "$SID" msg_off "$BODY")" = 200
check "the operation is enabled again" ctl prefs set --op quick --enabled

now=$(date +%s)
sig=$(sign msg_2 "$now" "$BODY" "$KEY")
check "a tampered body: 401" test "$(post "$SID" msg_2 "$now" "$sig" \
    '{"event":"push","n":2}')" = 401
check "the answer does not say which check failed" jq -e \
    '.error == "unauthorized"' "$T/body"
cp "$T/body" "$T/body.tampered"
WRONG=$(head -c 32 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
check "a wrong secret: 401" test "$(deliver "$SID" msg_3 "$BODY" \
    "$WRONG")" = 401
check "the same answer as for a tampered body" cmp -s "$T/body" \
    "$T/body.tampered"
check "an old timestamp: 401" test "$(deliver "$SID" msg_4 "$BODY" \
    "$KEY" $((now - 400)))" = 401
check "a future timestamp: 401" test "$(deliver "$SID" msg_5 "$BODY" \
    "$KEY" $((now + 400)))" = 401
check "a timestamp that is not a number: 401" test "$(post "$SID" msg_6 \
    "$now"x "$(sign msg_6 "$now" "$BODY" "$KEY")" "$BODY")" = 401
check "a malformed signature header: 401" test "$(post "$SID" msg_7 \
    "$now" "v1 garbage" "$BODY")" = 401
check "an id with a dot: 401" test "$(deliver "$SID" msg.8 "$BODY")" = 401
check "missing headers: 401" test "$(curl -s -o /dev/null -w '%{http_code}' \
    -X POST --data-binary "$BODY" \
    "http://127.0.0.1:$HTTP_PORT/v1/hooks/$SID")" = 401
check "one of several signatures may match" test "$(post "$SID" msg_9 \
    "$now" "v1,AAAA $(sign msg_9 "$now" "$BODY" "$KEY")" "$BODY")" = 202
check "the refusals were logged with their reason" grep -q \
    'reason="timestamp outside tolerance"' "$LOG"
check "no run for the refused deliveries" test "$(webhook_runs "$SID")" = 2

check "an unknown schedule: 404" test "$(deliver s_nope msg_10 "$BODY")" = 404
ctl schedule create --name manual --op quick --manual >/dev/null
check "a schedule without a webhook trigger: 404" test "$(deliver \
    "$(ctlj schedule get manual | jq -r .id)" msg_11 "$BODY")" = 404
head -c 1100000 /dev/zero | tr '\0' a > "$T/big"
check "a body over 1 MiB: 413" test "$(curl -s -o /dev/null -w \
    '%{http_code}' -X POST -H "webhook-id: msg_12" -H \
    "webhook-timestamp: $now" -H "webhook-signature: v1,AAAA" \
    --data-binary @"$T/big" \
    "http://127.0.0.1:$HTTP_PORT/v1/hooks/$SID")" = 413

# Ten deliveries of one id at once: one run, the others name it.
now=$(date +%s)
sig=$(sign msg_c "$now" "$BODY" "$KEY")
i=0
pids=
while [ $i -lt 10 ]; do
	curl -s -o "$T/c.$i" -w '%{http_code}\n' --max-time 20 -X POST \
	    -H "webhook-id: msg_c" -H "webhook-timestamp: $now" \
	    -H "webhook-signature: $sig" --data-binary "$BODY" \
	    "http://127.0.0.1:$HTTP_PORT/v1/hooks/$SID" > "$T/code.$i" &
	pids="$pids $!"
	i=$((i + 1))
done
# shellcheck disable=SC2086
wait $pids
check "concurrent deliveries: all answered 202 or 200" sh -c \
    "cat $T/code.* | grep -cE '^(200|202)$' | grep -qx 10"
check "exactly one accepted" sh -c "cat $T/code.* | grep -cx 202 |
    grep -qx 1"
check "all name the same run" sh -c "cat $T/c.* | jq -r .run_id | sort -u |
    wc -l | grep -qx 1"
check "exactly one run for them" test "$(webhook_runs "$SID")" = 3

ctlj schedule create --name envhook --op quick --webhook \
    --webhook-secret env:WH_TEST_SECRET --webhook-tolerance 10 > "$T/env"
EID=$(jq -r .id "$T/env")
EKEY=$(hexkey "$ENV_SECRET")
check "an env: secret verifies" test "$(deliver "$EID" msg_e1 "$BODY" \
    "$EKEY")" = 202
check "the other schedule's secret does not" test "$(deliver "$EID" \
    msg_e2 "$BODY")" = 401
check "a timestamp within 300 s but outside its tolerance of 10 s: 401" \
    test "$(deliver "$EID" msg_e3 "$BODY" "$EKEY" $(($(date +%s) - 60)))" \
    = 401
check_fails "a tolerance of 0 is refused" 1 ctl schedule create \
    --name badtol --op quick --webhook --webhook-secret env:X \
    --webhook-tolerance 0
check_fails "\"generated:\" references are the daemon's to make" 1 ctl \
    schedule create --name badgen --op quick --webhook \
    --webhook-secret generated:x
ctl schedule pause "$SID" >/dev/null
check "a paused schedule: 409" test "$(deliver "$SID" msg_p "$BODY")" = 409
ctl schedule resume "$SID" >/dev/null

check "metrics count the outcomes" sh -c "curl -s \
    http://127.0.0.1:$HTTP_PORT/metrics | grep -E \
    'chime_webhook_requests_total\\{outcome=\"unauthorized\"\\} [1-9]'"
curl -s "http://127.0.0.1:$HTTP_PORT/metrics" > "$T/metrics"
check "accepted counted" grep -q \
    'chime_webhook_requests_total{outcome="accepted"} 5' "$T/metrics"
check "duplicates counted" grep -q \
    'chime_webhook_requests_total{outcome="duplicate"} 11' "$T/metrics"
check "not found counted" grep -q \
    'chime_webhook_requests_total{outcome="not_found"} 2' "$T/metrics"

# A Standard Webhooks secret pasted without its whsec_ prefix (as provider
# dashboards show it) is decoded as the reference libraries do: the same
# key.  One that is not base64 is not taken as raw bytes: 503, logged.
ctlj schedule create --name barehook --op quick --webhook \
    --webhook-secret env:WH_BARE_SECRET > "$T/bare"
BID=$(jq -r .id "$T/bare")
check "a bare secret verifies with the key of its whsec_ form" test \
    "$(deliver "$BID" msg_b1 "$BODY" "$EKEY")" = 202
check "its run succeeds" wait_for 20 run_is "$(jq -r .run_id "$T/body")" \
    success
check "signed with the secret's text as raw bytes: 401" test \
    "$(deliver "$BID" msg_b2 "$BODY" "$(printf %s "$WH_BARE_SECRET" |
    od -An -v -tx1 | tr -d ' \n')")" = 401
check_fails "a secret that is not base64 is refused at create" 1 ctl \
    schedule create --name rawhook --op quick --webhook \
    --webhook-secret env:WH_RAW_SECRET
check "the refusal says why" grep -q 'must be base64, with or without the whsec_ prefix' "$T/last"
# One that stops being base64 after its schedule was made: 503, logged.
printf '%s\n' "${ENV_SECRET#whsec_}" >"$T/raw.key"
chmod 600 "$T/raw.key"
ctlj schedule create --name rawhook --op quick --webhook \
    --webhook-secret "file:$T/raw.key" > "$T/raw"
printf '%s\n' not-base64-text >"$T/raw.key"
check "a secret that is not base64 at delivery: 503" test "$(deliver "$(jq -r .id \
    "$T/raw")" msg_r1 "$BODY" "$(printf %s not-base64-text | od -An -v \
    -tx1 | tr -d ' \n')")" = 503
check "the log says why" grep -q 'must be base64, with or without the whsec_ prefix' \
    "$LOG"

# Across a restart the id is still known.
check "the daemon stops" stop_chimed
start_chimed
check "a replay after a restart: 200" test "$(deliver "$SID" msg_1 \
    "$BODY")" = 200
check "it still names the first run" jq -e ".run_id == \"$R1\"" "$T/body"
check "the generated secret still verifies" test "$(deliver "$SID" msg_13 \
    "$BODY")" = 202
check "the daemon stops again" stop_chimed

# The generated secret is under secrets/; finish checks that neither it
# nor the env: one is anywhere else.
check "the generated secret is under secrets/" grep -rqF "${SECRET#whsec_}" \
    "$DATA/secrets"
finish
