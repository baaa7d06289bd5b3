#!/bin/sh
# Webhook secrets and styles beyond the basics: rotation with a grace
# period (both secrets valid, then the old one expired and its file gone),
# the audit record with fingerprints, GitHub and Stripe signature styles,
# the webhook event log (webhook.events, webhook.received), a schedule of
# another trigger that takes webhooks, and message ids pruned after the
# retention period.  The signers are openssl (here and in lib.sh).
. "$(dirname "$0")/lib.sh"

# hmac_hex KEYTEXT DATA: hex HMAC-SHA256 of DATA under the bytes of KEYTEXT.
hmac_hex() {
	printf '%s' "$2" | openssl dgst -sha256 -hmac "$1" | sed 's/.*= //'
}

# fp SECRET: its SHA-256 fingerprint.
fp() {
	printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

# code: curl's status code; the answer in $T/body.
code() {
	curl -s -o "$T/body" -w '%{http_code}' --max-time 20 -X POST "$@"
}

# deliver SCHEDULE ID WHSEC [BODY]: a Standard Webhooks delivery signed now.
deliver() {
	ts=$(date +%s)
	b=${4:-'{"n":1}'}
	code -H "webhook-id: $2" -H "webhook-timestamp: $ts" \
	    -H "webhook-signature: $(sign "$2" "$ts" "$b" "$(hexkey "$3")")" \
	    --data-binary "$b" "http://127.0.0.1:$HTTP_PORT/v1/hooks/$1"
}

# github SCHEDULE DELIVERY SECRET BODY [SIGNED-BODY]
github() {
	code -H "X-GitHub-Delivery: $2" -H "X-GitHub-Event: push" \
	    -H "X-Hub-Signature-256: sha256=$(hmac_hex "$3" "${5:-$4}")" \
	    --data-binary "$4" "http://127.0.0.1:$HTTP_PORT/v1/hooks/$1"
}

# stripe SCHEDULE SECRET BODY [TS]
stripe() {
	t=${4:-$(date +%s)}
	code -H "Stripe-Signature: t=$t,v1=$(hmac_hex "$2" "$t.$3"),v0=00" \
	    --data-binary "$3" "http://127.0.0.1:$HTTP_PORT/v1/hooks/$1"
}

# events SCHEDULE [FLAGS]: its webhook events as JSON in $T/events.
events() {
	s=$1
	shift
	ctlj webhook events "$s" "$@" > "$T/events"
}

GH_SECRET="gh-test-secret-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
ST_SECRET="whsec_$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')"
ENV_NEW="whsec_$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
export WH_GH_SECRET="$GH_SECRET" WH_ST_SECRET="$ST_SECRET" \
    WH_NEW_SECRET="$ENV_NEW"
secret_used "$GH_SECRET" "$ST_SECRET" "$ENV_NEW"
start_chimed

# ---- rotation -------------------------------------------------------------
create_hook rot
SID=$HOOK_ID
A=$HOOK_SECRET
check "the first secret verifies" test "$(deliver "$SID" a1 "$A")" = 202
check_fails "rotation needs a reason" 2 ctl webhook rotate "$SID"
check_fails "a grace period over 30 days is refused" 1 ctl webhook rotate \
    "$SID" --reason x --grace 31d
check_fails "the current reference is refused as the new one" 1 ctl \
    webhook rotate "$SID" --reason x --secret "$(jq -r .webhook_secret_ref \
    "$T/create")"
check_fails "a bad new reference is refused" 1 ctl webhook rotate "$SID" \
    --reason x --secret "nope:x"
check_fails "an unreadable new secret is refused" 1 ctl webhook rotate \
    "$SID" --reason x --secret env:WH_NOT_SET
check "refusals changed nothing" json_ok '.secrets | length == 1' \
    ctlj webhook secrets "$SID"

ctlj webhook rotate "$SID" --grace 1h --reason "scheduled rotation" \
    > "$T/rot1"
B=$(jq -r .webhook_secret "$T/rot1")
secret_used "$B"
check "rotation shows the new secret once" test "${B#whsec_}" != "$B"
check "its answer has both fingerprints" jq -e ".fingerprint == \
    \"$(fp "$B")\" and .previous_fingerprint == \"$(fp "$A")\" and
    .previous_expires != null" "$T/rot1"
check "the new secret verifies" test "$(deliver "$SID" a2 "$B")" = 202
check "the old one too, in its grace period" \
    test "$(deliver "$SID" a3 "$A")" = 202
ctlj webhook secrets "$SID" > "$T/secrets"
check "webhook secrets lists both by fingerprint" jq -e ".secrets |
    length == 2 and .[0].primary and .[0].fingerprint == \"$(fp "$B")\"
    and (.[1].primary | not) and .[1].fingerprint == \"$(fp "$A")\" and
    .[1].expires != null and .[1].valid" "$T/secrets"
check "schedule get does not show a secret" json_ok \
    '.webhook_secret == null and .webhook_previous_secrets == 1' \
    ctlj schedule get "$SID"

# A short grace period: valid now, refused once it ends; its file goes.
ctlj webhook rotate "$SID" --grace 2s --reason "short grace" > "$T/rot2"
C=$(jq -r .webhook_secret "$T/rot2")
secret_used "$C"
check "three secrets now" json_ok '.secrets | length == 3' \
    ctlj webhook secrets "$SID"
check "the newest verifies" test "$(deliver "$SID" a4 "$C")" = 202
n=0
expired() {
	n=$((n + 1))
	[ "$(deliver "$SID" "exp$n" "$B")" = 401 ]
}
check "the secret whose grace ended is refused" wait_for 20 expired
check "the oldest one is still valid" test "$(deliver "$SID" a5 "$A")" = 202
gone() {
	ctlj webhook secrets "$SID" | jq -e '.secrets | length == 2' \
	    >/dev/null && [ "$(ls "$DATA/secrets" | grep -c "^$SID")" = 2 ]
}
check "it is forgotten and its generated file removed" wait_for 20 gone

# --grace 0: the old secret ends at once.  An env: secret as the new one.
ctlj webhook rotate "$SID" --grace 0 --reason "leaked" \
    --secret env:WH_NEW_SECRET > "$T/rot3"
check "a rotation to an env: secret shows no secret" jq -e \
    ".webhook_secret == null and .fingerprint == \"$(fp "$ENV_NEW")\"" \
    "$T/rot3"
check "with --grace 0 the old secret is refused at once" \
    test "$(deliver "$SID" a6 "$C")" = 401
check "the env: secret verifies" test "$(deliver "$SID" a7 "$ENV_NEW")" = 202
check "its generated file is removed" sh -c \
    "! ls $DATA/secrets | grep -q '$(jq -r .secret_ref "$T/rot2" |
    sed 's/generated://')'"

# Five secrets at most: four in their grace period is the limit.
for i in 1 2 3; do
	ctlj webhook rotate "$SID" --reason "fill $i" > "$T/fill$i"
	secret_used "$(jq -r .webhook_secret "$T/fill$i")"
done
check_fails "a fifth previous secret is refused" 1 ctl webhook rotate \
    "$SID" --reason "one too many"
ctlj webhook rotate "$SID" --reason "no grace" --grace 0 > "$T/fill4"
check "--grace 0 is still possible then" jq -e '.fingerprint' "$T/fill4"
secret_used "$(jq -r .webhook_secret "$T/fill4")"

export_journal
check "rotations are journaled with fingerprints, who and why" jq -s -e \
    "[.[] | select(.kind == \"webhook.rotated\")] | length == 7 and
    (.[0].body.old_fingerprint == \"$(fp "$A")\") and
    (.[0].body.new_fingerprint == \"$(fp "$B")\") and
    (.[0].body.reason == \"scheduled rotation\") and
    (.[0].body.by_uid == $(id -u)) and (.[0].body.grace_s == 3600)" \
    "$T/export.jsonl"
check "expired secrets are journaled" jq -s -e "[.[] |
    select(.kind == \"webhook.secret_expired\" and
    (.body.fingerprints | index(\"$(fp "$B")\")))] | length == 1" \
    "$T/export.jsonl"

# schedule.update to another reference: no grace; a generated file goes.
ctlj schedule create --name upd --op quick --webhook \
    --webhook-secret generated > "$T/upd"
UID2=$(jq -r .id "$T/upd")
U=$(jq -r .webhook_secret "$T/upd")
secret_used "$U"
check "its generated file exists" test -f "$DATA/secrets/$UID2"
check_fails "update cannot generate (rotate does)" 1 ctl schedule update \
    "$UID2" --webhook-secret generated
check "an update to an env: secret" ctl schedule update "$UID2" \
    --webhook-secret env:WH_NEW_SECRET
check "the generated file is removed" test ! -e "$DATA/secrets/$UID2"
check "the old secret is refused" test "$(deliver "$UID2" u1 "$U")" = 401
check "the new one verifies" test "$(deliver "$UID2" u2 "$ENV_NEW")" = 202

# ---- the event log --------------------------------------------------------
events "$SID"
# a1 to a7, and exp1 to exp$n (as many as the grace period let through).
check "webhook events lists every request, newest first" jq -e \
    ".events | length == $((7 + n)) and .[0].at >= .[1].at" "$T/events"
check "an accepted one names its run" jq -e '[.events[] |
    select(.message_id == "a7")][0] | .verified and .outcome == "accepted"
    and .status == 202 and (.run_id | startswith("s_")) and
    .source == "127.0.0.1"' "$T/events"
check "a refused one says why" jq -e '[.events[] |
    select(.message_id == "a6")][0] | (.verified | not) and
    .outcome == "unauthorized" and .status == 401 and
    .reason == "no matching signature" and .run_id == null' "$T/events"
events "$SID" --failed
check "--failed shows only refused requests" jq -e '.events | length >= 2
    and all(.[]; .status >= 400)' "$T/events"
check "--limit bounds the list" json_ok '.events | length == 2' \
    ctlj webhook events "$SID" --limit 2
export_journal
check "webhook.received keeps a verified body" jq -s -e '[.[] |
    select(.kind == "webhook.received" and .body.message_id == "a7")][0] |
    .body.body == "{\"n\":1}" and .body.verified and (.body.body_truncated |
    not) and .body.size == 7' "$T/export.jsonl"
check "and no body when not verified" jq -s -e '[.[] |
    select(.kind == "webhook.received" and .body.message_id == "a6")][0] |
    .body.body == null and (.body.verified | not)' "$T/export.jsonl"
check "an unknown schedule's request is journaled" sh -c \
    "test \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST \
    http://127.0.0.1:$HTTP_PORT/v1/hooks/s_none)\" = 404 &&
    $JOURNAL export $DATA | jq -s -e '[.[] | select(.kind ==
    \"webhook.received\" and .body.schedule == \"s_none\" and
    .body.status == 404)] | length == 1'"
# A refusal is answered from its record's commit, never before: with the
# journal's writer held, the 404 does not come (for 3 s, well past the
# moment it is decided, which the log shows); once released it does, and
# the record is there.
hold_journal
curl -s -o /dev/null -w '%{http_code}' --max-time 60 -X POST \
    "http://127.0.0.1:$HTTP_PORT/v1/hooks/s_held" > "$T/held.code" &
CURL=$!
check "the held request is refused (logged)" wait_for 20 grep -q \
    'msg="webhook refused" schedule=s_held status=404' "$LOG"
check "its 404 waits for the record" stays_empty 3 "$T/held.code"
release_journal
wait "$CURL"
check "then it is answered 404" test "$(cat "$T/held.code")" = 404
check "and its record is durable" sh -c "$JOURNAL export $DATA |
    jq -s -e '[.[] | select(.kind == \"webhook.received\" and
    .body.schedule == \"s_held\")] | length == 1'"
# A refused signature (401) waits the same way.
hold_journal
post "$SID" h1 "$(date +%s)" v1,AAAA '{}' > "$T/held401.code" &
CURL=$!
check "a bad signature is refused (logged)" wait_for 20 grep -q \
    "msg=\"webhook refused\" schedule=$SID status=401 .*message_id=\"h1\"" \
    "$LOG"
check "its 401 waits for the record" stays_empty 3 "$T/held401.code"
release_journal
wait "$CURL"
check "then it is answered 401" test "$(cat "$T/held401.code")" = 401

# ---- GitHub style ---------------------------------------------------------
ctlj schedule create --name gh --op quick --webhook --webhook-style github \
    --webhook-secret env:WH_GH_SECRET > "$T/gh"
GID=$(jq -r .id "$T/gh")
check "a github-style schedule" jq -e '.webhook_style == "github"' "$T/gh"
BODY='{"ref":"refs/heads/main"}'
check "a GitHub delivery: 202" test "$(github "$GID" \
    72d3162e-cc78-11e3-81ab-4c9367dc0958 "$GH_SECRET" "$BODY")" = 202
R=$(jq -r .run_id "$T/body")
check "a redelivery of it: 200" test "$(github "$GID" \
    72d3162e-cc78-11e3-81ab-4c9367dc0958 "$GH_SECRET" "$BODY")" = 200
check "it names the same run" jq -e ".run_id == \"$R\"" "$T/body"
check "a tampered GitHub body: 401" test "$(github "$GID" d2 "$GH_SECRET" \
    '{"ref":"x"}' "$BODY")" = 401
check "another GitHub secret: 401" test "$(github "$GID" d3 other-secret \
    "$BODY")" = 401
check "a GitHub delivery without its id: 401" test "$(code \
    -H "X-Hub-Signature-256: sha256=$(hmac_hex "$GH_SECRET" "$BODY")" \
    --data-binary "$BODY" "http://127.0.0.1:$HTTP_PORT/v1/hooks/$GID")" = 401
check "Standard Webhooks headers do not pass for it" \
    test "$(deliver "$GID" d4 "$ENV_NEW")" = 401

# ---- Stripe style ---------------------------------------------------------
ctlj schedule create --name st --op quick --webhook --webhook-style stripe \
    --webhook-secret env:WH_ST_SECRET > "$T/st"
TID=$(jq -r .id "$T/st")
EVT='{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","object":"event","type":"x"}'
check "a Stripe delivery: 202" test "$(stripe "$TID" "$ST_SECRET" \
    "$EVT")" = 202
R=$(jq -r .run_id "$T/body")
check "the same event signed again later: 200" test "$(stripe "$TID" \
    "$ST_SECRET" "$EVT" $(($(date +%s) - 5)))" = 200
check "it names the same run" jq -e ".run_id == \"$R\"" "$T/body"
check "an old Stripe timestamp: 401" test "$(stripe "$TID" "$ST_SECRET" \
    '{"id":"evt_2"}' $(($(date +%s) - 400)))" = 401
check "a Stripe event without an id: 400" test "$(stripe "$TID" \
    "$ST_SECRET" '{"object":"event"}')" = 400
check "a malformed Stripe-Signature: 401" test "$(code \
    -H 'Stripe-Signature: nonsense' --data-binary "$EVT" \
    "http://127.0.0.1:$HTTP_PORT/v1/hooks/$TID")" = 401
check_fails "an unknown style is refused" 1 ctl schedule create --name st2 \
    --op quick --webhook --webhook-style gitlab --webhook-secret generated

# ---- another trigger that takes webhooks ---------------------------------
ctlj schedule create --name both --op quick --cron '0 3 * * *' \
    --webhook-secret env:WH_NEW_SECRET > "$T/both"
BID=$(jq -r .id "$T/both")
check "a cron schedule with a webhook secret takes deliveries" \
    test "$(deliver "$BID" b1 "$ENV_NEW")" = 202
check "and keeps its cron trigger" jq -e '.trigger == "cron" and
    .webhook_url_path == "/v1/hooks/'"$BID"'"' "$T/both"
BAD=$(printf '\377\376x')
check "a verified body that is not UTF-8: 400" \
    test "$(deliver "$BID" nu1 "$ENV_NEW" "$BAD")" = 400
check "the journal keeps its event, without the body" sh -c "$JOURNAL \
    export $DATA | jq -s -e '[.[] | select(.kind == \"webhook.received\"
    and .body.message_id == \"nu1\")][0] | .body.verified and
    .body.status == 400 and .body.body == null and .body.size == 3'"
check "the refusal is logged with its reason" grep -q \
    "webhook refused.*status=400 reason=\"body neither JSON nor UTF-8\"" "$LOG"

# ---- across a restart -----------------------------------------------------
check "the daemon stops" stop_chimed
start_chimed --webhook-retention 3s
check "after a restart the rotated secrets are kept" json_ok \
    ".secrets | length == 5 and
    .[0].fingerprint == \"$(jq -r .fingerprint "$T/fill4")\"" \
    ctlj webhook secrets "$SID"
check "a secret in its grace period still verifies" \
    test "$(deliver "$SID" r1 "$(jq -r .webhook_secret "$T/fill2")")" = 202
check "the style is kept" json_ok '.webhook_style == "github"' \
    ctlj schedule get "$GID"

# ---- retention (3 s in this daemon) ---------------------------------------
check "a delivery to expire" test "$(deliver "$BID" p1 "$ENV_NEW")" = 202
P1=$(jq -r .run_id "$T/body")
check "a replay now: 200" test "$(deliver "$BID" p1 "$ENV_NEW")" = 200
pruned() {
	ctlj webhook events "$BID" | jq -e '.events | length == 0' >/dev/null
}
check "events older than the retention period are pruned" wait_for 30 pruned
redelivered() {
	[ "$(deliver "$BID" p1 "$ENV_NEW")" = 202 ] &&
	    jq -e ".run_id != \"$P1\"" "$T/body" >/dev/null
}
check "the message id is released: a new delivery of it runs again" \
    redelivered
export_journal
check "pruning is journaled" jq -s -e '[.[] | select(.kind ==
    "webhook.pruned")] | map(.body.message_ids) | add >= 3' \
    "$T/export.jsonl"
finish
