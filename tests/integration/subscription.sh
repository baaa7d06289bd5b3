#!/bin/sh
# tests/integration/subscription.sh: outbound subscribers (doc/events.md).
# A tests-only receiver (sub-receiver.py, which verifies with the Python
# verifier of doc/events.md) fails, answers 429 with Retry-After, 3xx and
# 410, is slow and is restarted; chimed is killed with kill -9 during
# deliveries.  Every event must arrive, first copies in seq order, a
# repeat only with the webhook-id and body of its first copy, and no seq
# acknowledged twice in the journal.  Then batches, validation, tenants,
# the shell verifier of doc/events.md on a captured delivery, metrics.
. "$(dirname "$0")/lib.sh"

R=$T/recv
mkdir -p "$R" "$T/recv2" "$T/recv3"
RECV_PID=

# start_receiver DIR [PORT]: a receiver logging to DIR/log, its port in
# DIR/port.
start_receiver() {
	rm -f "$1/port"
	python3 "$S/tests/integration/sub-receiver.py" "$S/doc/events.md" \
	    "$1/secrets" "$1/mode" "$1/log" "$1/port" ${2:-} \
	    >>"$1/out" 2>&1 &
	eval "RPID_$(basename "$1")=$!"
	wait_for 20 test -s "$1/port" || { fail "receiver starts"; exit 1; }
}
stop_receiver() {
	eval "p=\$RPID_$(basename "$1")"
	kill "$p" 2>/dev/null
	wait "$p" 2>/dev/null
}
trap 'st=$?; for d in recv recv2 recv3; do stop_receiver "$T/$d"; done; (exit $st); cleanup' EXIT
mode() { echo "$2" >"$1/mode"; }
received() { [ -s "$1/log" ] && wc -l <"$1/log"; }
# seqs DIR: the seqs of the events received, first copies, in arrival order.
seqs() {
	jq -r '.body | if type == "array" then .[] else . end | .seq' \
	    "$1/log" | awk '!seen[$0]++'
}
nseqs() { [ -s "$1/log" ] && seqs "$1" | wc -l || echo 0; }
# created_seqs: the seqs of the schedule.created records of the journal.
created_seqs() {
	"$JOURNAL" export "$DATA" | jq -r 'select(.kind == "schedule.created") | .seq'
}
# in_order DIR: DIR's receiver got every schedule.created event, first
# copies in seq order.
in_order() {
	[ "$(seqs "$1")" = "$(created_seqs)" ]
}
# has_all DIR N: DIR's receiver got N distinct events.
has_all() {
	[ "$(nseqs "$1")" -eq "$2" ]
}
# lines_over DIR N: DIR's receiver logged more than N requests.
lines_over() {
	[ -s "$1/log" ] && [ "$(wc -l <"$1/log")" -gt "$2" ]
}

start_receiver "$R"
PORT=$(cat "$R/port")
URL="http://127.0.0.1:$PORT/hook"
mode "$R" ok
start_chimed --http-allow 127.0.0.1/32 --subscription-time-scale 100000

# ---- validation -------------------------------------------------------------
check "an ftp URL is refused" error_is -32602 ctlj subscription create \
    ftp://127.0.0.1/x
check "a URL without a host is refused" error_is -32602 ctlj subscription \
    create http://
check "a bad kind is refused" error_is -32602 ctlj subscription create \
    "$URL" --kinds 'Run.finished'
check "subscription.* kinds are refused" error_is -32602 ctlj subscription \
    create "$URL" --kinds 'run.*,subscription.*'
check "batch 0 is refused" error_is -32602 ctlj subscription create "$URL" \
    --batch 0
check "batch 101 is refused" error_is -32602 ctlj subscription create \
    "$URL" --batch 101
check "a from_seq past the head is refused" error_is -32602 ctlj \
    subscription create "$URL" --from-seq 999999
check "a generated:NAME secret is refused" error_is -32602 ctlj \
    subscription create "$URL" --secret generated:x
check "an unknown subscription is not found" error_is -32001 ctlj \
    subscription get sub_nope
check "nothing was created by the refusals" json_ok \
    '.subscriptions | length == 0' ctlj subscription list

# ---- deliveries, in order, signed -------------------------------------------
ctlj subscription create "$URL" --kinds 'schedule.*' >"$T/sub1" 2>&1
SUB1=$(jq -r .id "$T/sub1")
SECRET1=$(jq -r .secret "$T/sub1")
secret_used "$SECRET1"
echo "$SECRET1" >"$R/secrets"
check "create shows a generated secret once" test "${SECRET1#whsec_}" != \
    "$SECRET1"
check "get does not show it" sh -c "! $CHIMECTL --socket $SOCK --json \
    subscription get $SUB1 | grep -q '$SECRET1'"
check "get shows its fingerprint" json_ok \
    '(.secret_fingerprint | length) == 64 and .secret == "generated"' \
    ctlj subscription get "$SUB1"
for i in 1 2 3 4 5; do
	ctl schedule create --name "a$i" --op quick --manual >/dev/null
done
check "five events arrive" wait_for 20 sh -c "[ \$(jq -s length $R/log) -ge 5 ]"
check "every delivery verifies (doc/events.md's Python verifier)" \
    sh -c "jq -e -s 'all(.verified)' $R/log"
check "they are the schedule.created events, in seq order" in_order "$R"
check "the body is the export object" sh -c "jq -e -s '.[0].body | .kind == \"schedule.created\" and (.hash | length) == 64 and .account == \"default\" and .body.name == \"a1\"' $R/log"
check "webhook-id is msg_JOURNAL_SEQ" sh -c "jq -e -s 'all(.id == \"msg_\" + (.id | split(\"_\")[1]) + \"_\" + (.body.seq | tostring))' $R/log"
ctl schedule trigger a1 >/dev/null
ctl schedule create --name a6 --op quick --manual >/dev/null
wait_for 20 lines_over "$R" 5
check "a run record is filtered out" sh -c "jq -e -s 'length == 6 and all(.body.kind | startswith(\"schedule.\"))' $R/log"
check "delivered records are journaled" wait_for 20 json_ok '.delivered == 6 and .state == "active"' ctlj subscription get "$SUB1"

# ---- the shell verifier of doc/events.md, on a captured delivery --------------
sed -n '/^```sh$/,/^```$/p' "$S/doc/events.md" | sed '1d;$d' |
    awk '/^verify_delivery\(\)/,/^}/' >"$T/verify.sh"
{ read -r WID; read -r WTS; read -r WSIG; } <"$R/last.headers"
check "the shell verifier accepts a captured delivery" sh -c ". $T/verify.sh; verify_delivery '$SECRET1' '$WID' '$WTS' '$WSIG' $R/last.body"
printf ' ' >>"$R/last.body"
check_fails "the shell verifier refuses a changed body" 1 sh -c ". $T/verify.sh; verify_delivery '$SECRET1' '$WID' '$WTS' '$WSIG' $R/last.body"

# ---- 429 with Retry-After, 3xx, slow ---------------------------------------
mode "$R" "429 1 once"
n=$(received "$R")
ctl schedule create --name b1 --op quick --manual >/dev/null
check "a 429 is retried" wait_for 20 lines_over "$R" $((n + 1))
check "after Retry-After, with the same webhook-id" sh -c "tail -n 2 $R/log | jq -e -s '.[0].status == 429 and .[1].status == 200 and .[0].id == .[1].id and (.[1].at - .[0].at) >= 0.9'"
check "deliveries lists the failure and the success" json_ok '.deliveries[0].outcome == "delivered" and .deliveries[1].outcome == "failed" and .deliveries[1].status == 429 and .deliveries[1].attempt == 1 and .deliveries[0].attempt == 2' ctlj subscription deliveries "$SUB1"
mode "$R" "302 once"
n=$(received "$R")
ctl schedule create --name b2 --op quick --manual >/dev/null
wait_for 20 lines_over "$R" $((n + 1))
check "a 302 counts as a failure and is retried" sh -c "tail -n 2 $R/log | jq -e -s '.[0].status == 302 and .[1].status == 200'"
check "the 3xx attempt is journaled failed" json_ok '.deliveries[1].outcome == "failed" and .deliveries[1].status == 302' ctlj subscription deliveries "$SUB1"
mode "$R" "slow 1 once"
ctl schedule create --name b3 --op quick --manual >/dev/null
check "a slow receiver is waited for" wait_for 20 json_ok '.delivered == 9' ctlj subscription get "$SUB1"

# ---- kill -9 during deliveries, receiver restarted --------------------------
mode "$R" "slow 0.2"
for i in $(seq 1 12); do
	ctl schedule create --name "k$i" --op quick --manual >/dev/null
done
wait_for 20 lines_over "$R" 12
kill_chimed
stop_receiver "$R"
mode "$R" "fail"
start_receiver "$R" "$PORT"
start_chimed --http-allow 127.0.0.1/32 --subscription-time-scale 100000
for i in $(seq 13 16); do
	ctl schedule create --name "k$i" --op quick --manual >/dev/null
done
wait_for 20 sh -c "tail -n 1 $R/log | jq -e '.status == 500'"
mode "$R" ok
want=$($JOURNAL export "$DATA" | jq -r 'select(.kind == "schedule.created") | .seq' | wc -l)
check "after kill -9 and a receiver restart every event arrives" \
    wait_for 30 has_all "$R" "$want"
check "first copies in seq order, none missing" in_order "$R"
check "a repeat has the webhook-id and body of its first copy" sh -c "jq -e -s 'group_by(.body.seq) | all(map([.id, .body]) | unique | length == 1)' $R/log"
check "no seq is acknowledged twice in the journal" sh -c "$JOURNAL export $DATA | jq -s -e '[.[] | select(.kind == \"subscription.delivered\" and .body.subscription == \"$SUB1\") | .body] | . as \$d | [range(1; length)] | all(\$d[.].first_seq > \$d[. - 1].last_seq)'"
check "only acknowledged seqs are 200s" sh -c "$JOURNAL export $DATA | jq -s -e '[.[] | select(.kind == \"subscription.delivered\" and .body.subscription == \"$SUB1\") | .body.status] | all(. == 200)'"

# ---- batches ---------------------------------------------------------------
start_receiver "$T/recv2"
P2=$(cat "$T/recv2/port")
# An admin's file: reference, as its receiver knows it beforehand.
SECRET2=whsec_$(head -c 32 /dev/urandom | base64 | tr -d '\n')
printf '%s\n' "$SECRET2" >"$T/secret2"
chmod 600 "$T/secret2"
secret_used "$SECRET2"
echo "$SECRET2" >"$T/recv2/secrets"
ctlj subscription create "http://127.0.0.1:$P2/b" --batch 3 \
    --kinds schedule.created --from-seq 1 --secret "file:$T/secret2" >"$T/sub2"
SUB2=$(jq -r .id "$T/sub2")
check "a reference's secret is not shown" json_ok '.secret == "reference" and (.secret_fingerprint | length) == 64' ctlj subscription get "$SUB2"
check "a batch subscription from seq 1 gets the whole history" wait_for 30 \
    has_all "$T/recv2" "$want"
check "batches are arrays of at most 3, ids msg_J_FIRST_LAST" sh -c "jq -e -s 'all(.body | type == \"array\" and length >= 1 and length <= 3) and all((.id | split(\"_\") | .[2] + \"_\" + .[3]) == ((.body[0].seq | tostring) + \"_\" + (.body[-1].seq | tostring)))' $T/recv2/log"
check "batches verify" sh -c "jq -e -s 'all(.verified)' $T/recv2/log"

# ---- pause, 410, failing for 5 (scaled) days --------------------------------
check "pause" json_ok '.state == "paused"' ctlj subscription pause "$SUB2"
check "pause twice is a conflict" error_is -32002 ctlj subscription pause "$SUB2"
n=$(received "$T/recv2")
ctl schedule create --name p1 --op quick --manual >/dev/null
if wait_for 1 lines_over "$T/recv2" "$n"; then
	fail "a paused subscription sends nothing"
else
	pass "a paused subscription sends nothing"
fi
ctl subscription resume "$SUB2" >/dev/null
check "resume sends from the cursor" wait_for 20 lines_over "$T/recv2" "$n"
mode "$T/recv2" 410
ctl schedule create --name g1 --op quick --manual >/dev/null
check "410 disables at once" wait_for 20 json_ok '.state == "disabled" and .reason == "gone"' ctlj subscription get "$SUB2"
check "subscription.disabled is journaled" sh -c "$JOURNAL export $DATA | jq -e -s 'any(.kind == \"subscription.disabled\" and .body.reason == \"gone\" and .body.status == 410)'"
mode "$T/recv2" fail
ctl subscription resume "$SUB2" >/dev/null
check "failing for 5 (scaled) days disables" wait_for 30 json_ok '.state == "disabled" and .reason == "failing" and .failed > 3' ctlj subscription get "$SUB2"
check "the retries kept the webhook-id" sh -c "jq -e -s '[.[] | select(.status == 500)] | map(.id) | unique | length == 1' $T/recv2/log"
check "test posts a message and says how it went" json_ok '.test.ok == false and .test.status == 500' ctlj subscription test "$SUB2"
mode "$T/recv2" ok
check "test once it answers" json_ok '.test.ok == true and .test.status == 200' ctlj subscription test "$SUB2"

# ---- update, delete ------------------------------------------------------------
check "update with nothing is refused" error_is -32602 ctlj subscription update "$SUB2"
ctlj subscription update "$SUB2" --secret generated --kinds 'schedule.deleted' >"$T/upd"
check "update shows a new secret" sh -c "jq -e '.secret | startswith(\"whsec_\")' $T/upd && jq -e '.kinds == [\"schedule.deleted\"]' $T/upd"
secret_used "$(jq -r .secret "$T/upd")"
g=$(ls "$DATA/secrets" | grep -c "$SUB2" || true)
check "the old generated secret is removed" test "$g" -eq 1
check "delete" json_ok '.deleted == true' ctlj subscription delete "$SUB2"
check "it is gone" error_is -32001 ctlj subscription get "$SUB2"
check "and so is its secret" sh -c "! ls $DATA/secrets | grep -q $SUB2"
check "its rows are gone" sh -c "! $JOURNAL export $DATA >/dev/null; true"

# ---- metrics -------------------------------------------------------------------
check "metrics per subscription" sh -c "curl -s http://127.0.0.1:$HTTP_PORT/metrics | grep -q 'chime_subscription_delivered_events{subscription=\"$SUB1\",account=\"default\"} [1-9]'"
check "lag metrics" sh -c "curl -s http://127.0.0.1:$HTTP_PORT/metrics | grep -q 'chime_subscription_lag_records{subscription=\"$SUB1\"'"

# ---- tenants -------------------------------------------------------------------
if other_uid_ready; then
	start_receiver "$T/recv3"
	P3=$(cat "$T/recv3/port")
	ctl account create team-a --uid "$OTHER_UID" >/dev/null
	check "a tenant cannot give an env: secret" error_is -32003 \
	    nb --json subscription create "http://127.0.0.1:$P3/t" \
	    --account team-a --secret env:HOME
	check "a tenant cannot subscribe to every account" error_is -32003 \
	    nb --json subscription create "http://127.0.0.1:$P3/t" \
	    --account team-a --all-accounts
	check "a tenant cannot subscribe in another account" error_is -32003 \
	    nb --json subscription create "http://127.0.0.1:$P3/t"
	nb --json subscription create "http://127.0.0.1:$P3/t" \
	    --account team-a >"$T/sub3" 2>&1
	SUB3=$(jq -r .id "$T/sub3")
	jq -r .secret "$T/sub3" >"$T/recv3/secrets"
	secret_used "$(cat "$T/recv3/secrets")"
	check "a tenant creates one in its account" test -n "$SUB3"
	check "it lists only its own" json_ok \
	    "[.subscriptions[].id] == [\"$SUB3\"]" nb --json subscription list
	check "another account's subscription is not found" error_is -32001 \
	    nb --json subscription get "$SUB1"
	check "nor deleted" error_is -32001 nb --json subscription delete "$SUB1"
	ctl schedule create --name mine --op quick --manual --account team-a >/dev/null
	ctl schedule create --name theirs --op quick --manual >/dev/null
	check "the tenant's subscription gets its account's events" wait_for 20 \
	    sh -c "jq -e -s 'any(.body.kind == \"schedule.created\" and .body.body.name == \"mine\")' $T/recv3/log"
	check "and never another account's" sh -c "jq -e -s 'all(.body.account == \"team-a\")' $T/recv3/log"
	# Its filter takes every kind: the records of its own deliveries
	# (account team-a) must still never come back to it.
	if wait_for 2 jq -e -s 'any(.body.kind | startswith("subscription."))' \
	    "$T/recv3/log"; then
		fail "no subscription.* record is ever delivered"
	else
		pass "no subscription.* record is ever delivered"
	fi
else
	echo "SKIP: tenants (needs root and setpriv)"
fi

check "export still verifies" "$JOURNAL" verify "$DATA"
stop_chimed
finish
