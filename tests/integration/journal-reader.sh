#!/bin/sh
# doc/journal-format.md is enough to read a journal: a workload writes
# every record kind, then tests/integration/journal-reader.py, written
# from that page alone (python3 and its standard library; the log read
# from `mdb_dump`), decodes every record, checks each body against the
# page's tables, verifies the chain, and renders each record as the page's
# export format says; its rendering must equal `chime-journal export`'s,
# record by record, and its verdict `chime-journal verify`'s.
. "$(dirname "$0")/lib.sh"

if ! command -v python3 >/dev/null 2>&1 || ! command -v mdb_dump >/dev/null 2>&1; then
	echo "SKIP: needs python3 and mdb_dump (lmdb-utils)"
	exit 77
fi
# The email.* kinds need a relay: Debian's python3-aiosmtpd.
smtp_need
TAMPER=$B/tests/chime-test-tamper
READER=$S/tests/integration/journal-reader.py
PAGE=$S/doc/journal-format.md
cp "$CATALOG" "$T/catalog.json"
CATALOG=$T/catalog.json

run_status() { ctlj run get "$1" | jq -r .status; }
# ended ID: the batch reached a final state.
ended() {
	ctlj batch get "$1" --limit 0 | jq -r .state | grep -Eqx 'completed|failed|cancelled'
}
# has KIND [FILTER]: the journal of $DATA has a record of KIND (whose
# export passes the jq FILTER).
has() {
	"$JOURNAL" export "$DATA" >"$T/has.jsonl" &&
	    jq -e -s "[.[] | select(.kind == \"$1\") | select(${2:-true})] |
	    length >= 1" "$T/has.jsonl" >/dev/null
}
# hook SCHEDULE ID WHSEC BODY: a Standard Webhooks delivery signed now.
hook() {
	ts=$(date +%s)
	curl -s -o /dev/null -w '%{http_code}' --max-time 20 -X POST \
	    -H "webhook-id: $2" -H "webhook-timestamp: $ts" \
	    -H "webhook-signature: $(sign "$2" "$ts" "$4" "$(hexkey "$3")")" \
	    --data-binary "$4" "http://127.0.0.1:$HTTP_PORT/v1/hooks/$1"
}

# ---- a second journal: occurrences missed while the daemon is down ----
# A cron schedule of every second, then a stop for the whole workload
# below (more than 20 s): at the next start 20 run.missed records and one
# aggregate.  DATA2's daemon is driven by hand beside lib.sh's.
DATA2=$T/data2
SOCK2=$DATA2/chime.sock
"$CHIMED" --data "$DATA2" --catalog "$CATALOG" --http none --scrub-interval 0 \
    --log-level debug >>"$T/chimed2.log" 2>&1 &
PID2=$!
check "a second daemon starts" wait_for 20 "$CHIMECTL" --socket "$SOCK2" daemon status
check "a schedule of every second" "$CHIMECTL" --socket "$SOCK2" schedule create --name sec --op quick --cron "* * * * * *" --catchup skip
check "it fires" wait_for 20 sh -c "$CHIMECTL --socket $SOCK2 --json schedule runs sec | jq -e '.runs | length >= 1'"
kill -TERM "$PID2"
wait "$PID2"
DOWN=$(date +%s)
# as a journal from before the run index: the next start writes
# runs.indexed
check "the second journal without its run index" \
    "$TAMPER" "$DATA2/journal" forget-table runs-by-time

# ---- accounts, preferences, schedules, runs, webhooks, batches ---------
start_chimed --webhook-retention 3s --scrub-interval 1s --max-running 5
check "account.created" ctl account create acme --tz Europe/Paris --monthly-budget 5
check "account.updated" ctl account update acme --monthly-budget 7.5
check "account.granted" ctl account grant acme --uid 4242
check "account.revoked" ctl account revoke acme --uid 4242
check "prefs.set" ctl prefs set --op quick --preferred-model cheap-model --monthly-budget 3
check "prefs.bulk_set" ctl prefs bulk_set --operations '{"gate": {"preferred_model": "cheap-model"}, "gate-idem": {"default_parameters": {"x": 1}}}'
check "prefs.ui_set" ctl prefs set_ui --color-scheme dark --accent-color '#112233'
check "schedule.created" ctl schedule create --name m --op quick --manual --param who=acme --param n=3
check "schedule.updated" ctl schedule update m --note "a note with UTF-8: é"
check "schedule.paused" ctl schedule pause m
check "schedule.resumed" ctl schedule resume m
r=$(ctlj schedule trigger m | jq -r .run_id)
check "run.started, run.finished" wait_for 20 run_is "$r" success
check "a flaky schedule" ctl schedule create --name fl --op flaky --manual
r=$(ctlj schedule trigger fl | jq -r .run_id)
check "run.retrying" wait_for 20 run_is "$r" success
check "a failing schedule" ctl schedule create --name f --op fail --manual
r=$(ctlj schedule trigger f | jq -r .run_id)
check "run.finished failed" wait_for 20 run_is "$r" failed
check "a capped schedule" ctl schedule create --name cap --op quick --manual --max-cost-month 0.000001 --force
ctl schedule trigger cap >/dev/null 2>&1
check "run.skipped (budget)" has run.skipped '.body.reason == "budget"'
check "schedule.paused (budget_exceeded)" has schedule.paused '.body.pause_reason == "budget_exceeded"'
check "a schedule near its cap" ctl schedule create --name near --op quick --model test-model --manual --max-cost-month 0.0024
r=$(ctlj schedule trigger near | jq -r .run_id)
check "budget.threshold (80 %)" wait_for 20 has budget.threshold '.body.cap == "max_cost_month" and .body.percent == 80'
# Whole seconds: the instant is 4 to 5 s ahead, room enough for a slow
# start of chimectl (a sanitizer build beside other tests) before it is
# past, which the daemon refuses.
check "a one-shot schedule" ctl schedule create --name once --op quick --at "$(date -u -d '+5 seconds' +%Y-%m-%dT%H:%M:%SZ)"
check "schedule.completed" wait_for 20 has schedule.completed '.body.state == "completed"'
check "a schedule to delete" ctl schedule create --name gone --op quick --manual
check "schedule.deleted" ctl schedule delete gone
# schedule.applied in acme (so that --prune leaves default's alone):
# created, then one updated and one deleted in a second record.
echo '[{"name": "a1", "operation": "quick", "manual": true},
    {"name": "a2", "operation": "quick", "cron": "0 3 1 1 *", "tz": "Asia/Tokyo"}]' \
    > "$T/apply1.json"
echo '{"schedules": {"a1": {"operation": "quick", "manual": true, "note": "n"}}}' \
    > "$T/apply2.json"
check "schedule.applied (created)" ctl schedule apply -f "$T/apply1.json" --account acme
check "schedule.applied (updated, deleted)" ctl schedule apply -f "$T/apply2.json" --account acme --prune
# A gate fired every second: its next fire is skipped (overlap).  With
# four more gates the five slots are taken: the next run waits
# (run.pending).
check "an overlapping schedule" ctl schedule create --name ov --op gate --cron "* * * * * *"
check "run.skipped (overlap)" wait_for 20 has run.skipped '.body.reason == "overlap"'
check "a gate schedule" ctl schedule create --name g --op gate --manual --overlap allow --overlap-limit 8
g1=$(ctlj schedule trigger g | jq -r .run_id)
g2=$(ctlj schedule trigger g | jq -r .run_id)
g3=$(ctlj schedule trigger g | jq -r .run_id)
g4=$(ctlj schedule trigger g | jq -r .run_id)
check "five gates run" wait_for 20 sh -c "test \$(ls '$T' | grep -c '^started\\.') -ge 5"
p=$(ctlj schedule trigger m | jq -r .run_id)
check "run.pending" test "$(run_status "$p")" = pending
touch "$T/release"
check "the pending run ends" wait_for 30 sh -c "test \"\$($CHIMECTL --socket $SOCK --json run get '$p' | jq -r .status)\" = success"
check "the overlapping schedule is deleted" ctl schedule delete ov
rm -f "$T/release"

# Webhooks: received (accepted, unauthorized, unknown schedule), rotated,
# a secret expired, ids pruned after the 3 s retention.
ctlj schedule create --name wh --op quick --webhook --webhook-secret generated >"$T/wh"
WID=$(jq -r .id "$T/wh")
WS=$(jq -r .webhook_secret "$T/wh")
secret_used "$WS"
check "webhook.received (accepted)" test "$(hook "$WID" msg_1 "$WS" '{"a":1}')" = 202
check "webhook.received (unauthorized)" test "$(hook "$WID" msg_2 whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw '{"a":2}')" = 401
check "webhook.received (not found)" test "$(hook s_nosuch msg_3 "$WS" '{}')" = 404
check "webhook.rotated" ctl webhook rotate "$WID" --grace 1s --reason "reader test"
check "webhook.secret_expired" wait_for 30 has webhook.secret_expired

# Batches: completed, failed (stop_on_failure), cancelled with an aborted
# and skipped operations, a conditional one with op.skipped, retries,
# a draft deleted.
cat > "$T/cond.json" <<'JSON'
{"name": "cond", "description": "every rule", "type": "conditional", "max_concurrent": 3, "operations": [
 {"id": "A", "operation": "quick", "parameters": {"k": [1, 2]}},
 {"id": "B", "operation": "fail", "depends_on": ["A"]},
 {"id": "C", "operation": "quick", "depends_on": ["B"]},
 {"id": "D", "operation": "quick", "depends_on": ["B"], "trigger_rule": "all_done"},
 {"id": "E", "operation": "flaky", "depends_on": ["A"], "trigger_rule": "none_failed"}]}
JSON
B1=$(ctlj batch create -f "$T/cond.json" | jq -r .id)
check "a conditional batch ends" wait_for 30 ended "$B1"
B2=$(ctlj batch create --name stop --type sequential --op fail --count 3 --stop-on-failure | jq -r .id)
check "batch.failed" wait_for 30 sh -c "test \"\$($CHIMECTL --socket $SOCK --json batch get $B2 --limit 0 | jq -r .state)\" = failed"
B3=$(ctlj batch create --name ab --op gate --count 3 --max-concurrent 1 | jq -r .id)
check "a gate of the batch runs" wait_for 20 sh -c "ls '$T' | grep -q '^started\\.$B3'"
check "batch.cancelled (op.cancelled, op.skipped)" ctl batch cancel "$B3" --reason "reader test" --abort
check "it ends" wait_for 30 ended "$B3"
B4=$(ctlj batch create --name draft --op quick --count 2 --draft | jq -r .id)
check "batch.deleted" ctl batch delete "$B4"
check "a scrub ran" wait_for 30 sh -c "$CHIMECTL --socket $SOCK --json daemon status | jq -e '.journal.chain.scrub.scrubs >= 1'"
check "webhook.pruned" wait_for 30 has webhook.pruned '.body.message_ids >= 1'
check "drain" stop_chimed

# ---- run.deferred, op.deferred: a start recorded while draining ---------
# The journal's write lock is held (hold_journal: the writer waits), two
# gates end, the runs waiting for their slots are given them (run.started,
# op.started submitted), SIGTERM arrives, the lock goes: both records land
# while the daemon drains, so both runs are deferred.
rm -f "$T/release" "$T"/started.*
start_chimed --max-running 2 --trace sched --scrub-interval 0
check "a second gate schedule" ctl schedule create --name g2 --op gate --manual
a1=$(ctlj schedule trigger g | jq -r .run_id)
a2=$(ctlj schedule trigger g2 | jq -r .run_id)
check "two gates hold both slots" wait_for 20 sh -c "test -e '$T/started.$a1' && test -e '$T/started.$a2'"
d1=$(ctlj schedule trigger m | jq -r .run_id)
B5=$(ctlj batch create --name def --op quick --count 1 | jq -r .id)
check "both wait for a slot" sh -c "test \"\$($CHIMECTL --socket $SOCK --json run get '$d1' | jq -r .status)\" = pending"
hold_journal
before=$(grep -c 'to=running' "$LOG")
touch "$T/release"
check "both are given a slot" wait_for 20 sh -c "test \$(grep -c 'to=running' '$LOG') -ge $((before + 2))"
kill -TERM "$CHIMED_PID"
check "the daemon drains" wait_for 20 grep -q 'msg="draining"' "$LOG"
release_journal
wait "$CHIMED_PID"
CHIMED_PID=
check "run.deferred written" sh -c "'$JOURNAL' export '$DATA' | jq -e -s '[.[] | select(.kind == \"run.deferred\")] | length >= 1'"
check "op.deferred written" sh -c "'$JOURNAL' export '$DATA' | jq -e -s '[.[] | select(.kind == \"op.deferred\")] | length >= 1'"

# ---- a crash: run.finished interrupted, op.interrupted, an orphan --------
rm -f "$T/release" "$T"/started.*
start_chimed --scrub-interval 0
check "the deferred runs resume" wait_for 30 sh -c "test \"\$($CHIMECTL --socket $SOCK --json run get '$d1' | jq -r .status)\" = success"
c1=$(ctlj schedule trigger g | jq -r .run_id)
B6=$(ctlj batch create --name crash --op gate --count 1 | jq -r .id)
check "two gates run" wait_for 20 sh -c "test \$(ls '$T' | grep -c '^started\\.') -ge 2"
kill_chimed
xargs kill -9 < "$T/pids" 2>/dev/null
start_chimed --scrub-interval 0
check "run.finished interrupted" wait_for 20 sh -c "test \"\$($CHIMECTL --socket $SOCK --json run get '$c1' | jq -r .status)\" = interrupted"
check "op.interrupted" wait_for 20 sh -c "'$JOURNAL' export '$DATA' | jq -e -s '[.[] | select(.kind == \"op.interrupted\")] | length >= 1'"
check "drain" stop_chimed

# ---- subscriptions: every subscription.* kind (doc/events.md) ----------
mkdir -p "$T/recv"
echo "fail once" >"$T/recv/mode"
python3 "$S/tests/integration/sub-receiver.py" "$S/doc/events.md" \
    "$T/recv/secrets" "$T/recv/mode" "$T/recv/log" "$T/recv/port" \
    >/dev/null 2>&1 &
RECV=$!
wait_for 20 test -s "$T/recv/port"
start_chimed --scrub-interval 0 --http-allow 127.0.0.1/32 \
    --subscription-time-scale 100000
SUBID=$(ctlj subscription create "http://127.0.0.1:$(cat "$T/recv/port")/" \
    --kinds 'schedule.*' | jq -r .id)
ctl schedule create --name subscribed --op quick --manual >/dev/null
check "subscription.failed, then .delivered" wait_for 20 json_ok \
    '.delivered == 1 and .failed == 1' ctlj subscription get "$SUBID"
check "subscription.tested" ctl subscription test "$SUBID"
check "subscription.updated" ctl subscription update "$SUBID" --batch 2
check "subscription.paused" ctl subscription pause "$SUBID"
check "subscription.resumed" ctl subscription resume "$SUBID"
echo 410 >"$T/recv/mode"
ctl schedule create --name subscribed2 --op quick --manual >/dev/null
check "subscription.disabled" wait_for 20 json_ok '.state == "disabled"' \
    ctlj subscription get "$SUBID"
check "subscription.deleted" ctl subscription delete "$SUBID"
kill "$RECV"
# ---- tokens: token.created for an account and an admin, token.revoked ---
ctlj token create reader --account acme >"$T/tok.json"
secret_used "$(jq -r .token "$T/tok.json")"
check "token.created" test -s "$T/tok.json"
ADMTOK=$(ctlj token create boss --admin | jq -r .token)
secret_used "$ADMTOK"
check "token.revoked" ctl token revoke "$(jq -r .id "$T/tok.json")"
check "drain" stop_chimed

# ---- email: email.queued, email.sent, email.failed (doc/email.md) -------
echo '{"gone@example.com": [550]}' >"$T/mail.json"
smtp_relay "$T/mail" - - - - "$T/mail.json"
start_chimed --scrub-interval 0 --smtp-insecure \
    --smtp-url "smtp://127.0.0.1:$RPORT" \
    --smtp-from reports@example.org --public-url https://chime.example.org \
    --notify-digest-interval 1s
ctl schedule create --name mailed --op quick --manual \
    --email-to ok@example.com,gone@example.com,quiet@example.com \
    --email-attach >/dev/null
check "email.suppression_added" ctl suppression add quiet@example.com
check "email.suppression_removed" sh -c \
    "$CHIMECTL --socket $SOCK suppression add x@example.com >/dev/null &&
    $CHIMECTL --socket $SOCK suppression remove x@example.com >/dev/null"
ctl schedule trigger mailed >/dev/null
check "email.queued, email.sent, email.failed, email.suppressed" wait_for 20 sh -c \
    "'$JOURNAL' export '$DATA' | jq -e -s '[.[] | select(.kind == \"email.sent\" or .kind == \"email.failed\" or .kind == \"email.suppressed\")] | length == 3'"
# Notifications: a failed run noted, then told in a digest; a batch's
# report; the account's sender name.
check "prefs.notify_set" ctl notify set --address ops@example.com
check "account.updated with a sender name" ctl account update default \
    --email-from-name 'Équipe'
ctl schedule create --name failing --op fail --manual >/dev/null
ctl schedule trigger failing >/dev/null
ctl batch create --name mailed-batch --op quick --email-to ok@example.com \
    --email-on always >/dev/null
check "notify.pending, notify.queued, a batch's email.queued" wait_for 20 sh -c \
    "'$JOURNAL' export '$DATA' | jq -e -s '([.[] | select(.kind == \"notify.pending\")] | length >= 1) and ([.[] | select(.kind == \"notify.queued\")] | length >= 1) and ([.[] | select(.kind == \"email.queued\" and (.body.run_id | startswith(\"b_\")))] | length == 1)'"
check "... and sent" wait_for 20 sh -c \
    "'$JOURNAL' export '$DATA' | jq -e -s '[.[] | select(.kind == \"email.sent\")] | length >= 3'"
kill "$RELAY_PID"
check "drain" stop_chimed

# ---- the second journal's missed occurrences -------------------------
while [ "$(date +%s)" -lt $((DOWN + 23)) ]; do sleep 0.5; done
"$CHIMED" --data "$DATA2" --catalog "$CATALOG" --http none --scrub-interval 0 \
    --log-level debug >>"$T/chimed2.log" 2>&1 &
PID2=$!
check "the second daemon starts again" wait_for 20 "$CHIMECTL" --socket "$SOCK2" daemon status
kill -TERM "$PID2"
wait "$PID2"
"$JOURNAL" export "$DATA2" >"$T/export2.jsonl"
check "run.missed, one by one" jq -e -s '[.[] | select(.kind == "run.missed" and .body.run_id != null)] | length == 20' "$T/export2.jsonl"
check "runs.indexed at its start" jq -e -s '[.[] | select(.kind == "runs.indexed" and .body.rows_total >= 1)] | length == 1' "$T/export2.jsonl"
check "run.missed, the aggregate" jq -e -s '[.[] | select(.kind == "run.missed" and .body.count >= 1)] | length == 1' "$T/export2.jsonl"

check "the aggregate says its occurrences' reason" jq -e -s '[.[] | select(.kind == "run.missed" and .body.count >= 1)][0].body.reason == "catch-up policy skip"' "$T/export2.jsonl"

# ---- the reader written from the page ----------------------------------
"$JOURNAL" export "$DATA" >"$T/export.jsonl"
check "the reader reads every kind, its types, chain and export agree" \
    python3 "$READER" --all-kinds "$PAGE" "$DATA/journal=$T/export.jsonl" \
    "$DATA2/journal=$T/export2.jsonl"
python3 "$READER" "$PAGE" "$DATA/journal" >"$T/reader.out" 2>&1
check "its verdict is chime-journal verify's" test \
    "$(sed -n 's|^[^:]*: ok|ok|p' "$T/reader.out")" = "$("$JOURNAL" verify "$DATA")"

# Damaged copies: both name the same first bad seq.
# same_bad NAME: reader and chime-journal verify agree on $T/bad.
same_bad() {
	"$JOURNAL" verify "$T/bad" >"$T/v1" 2>&1
	python3 "$READER" "$PAGE" "$T/bad/journal" >"$T/v2" 2>/dev/null
	a=$(sed -n 's/^\(bad: seq [0-9]*\):.*/\1/p' "$T/v1")
	b=$(sed -n 's|^[^:]*: \(bad: seq [0-9]*\):.*|\1|p' "$T/v2")
	[ -n "$a" ] && [ "$a" = "$b" ]
}
for how in "flip 12 46" "flip 12 5" "delete 12" "swap 12 13"; do
	rm -rf "$T/bad"
	cp -a "$DATA" "$T/bad"
	# shellcheck disable=SC2086
	"$TAMPER" "$T/bad/journal" $how
	check "damaged ($how): the reader and verify name the same seq" same_bad
done
finish
