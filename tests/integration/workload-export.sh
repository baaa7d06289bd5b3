#!/bin/sh
# The journal of a fixed workload of everything but batches, record by
# record: accounts (create, grant, revoke, update), preferences (set,
# set_ui), schedules of each trigger kind, updated, paused, resumed,
# triggered (with and without an idempotency key, refused by a budget,
# skipped as disabled) and deleted, webhook deliveries (valid, replayed,
# wrongly signed, to an unknown schedule, signed with the old secret in
# a rotation's grace period), a reload and a restart.  Nothing fires on
# its own: timed triggers are far in the future, runs are triggered by
# hand or by webhook and waited for one at a time, so the journal's order
# is the workload's.  The export, with times, ids, sequence numbers,
# hashes, fingerprints and secrets taken out, must equal
# tests/integration/workload-export.expected: what the daemon writes does
# not change unnoticed.  (CHIME_EXPORT_OUT=FILE keeps the normalised
# export.)
. "$(dirname "$0")/lib.sh"

EXPECTED=$S/tests/integration/workload-export.expected

# ended RUN: the run has ended (whatever its status).
ended() {
	ctlj run get "$1" | jq -e '.status | test("^(success|failed|skipped|cancelled|timeout)$")'
}
# trigger NAME [FLAGS...]: trigger, wait until its run ended, print its id.
trigger() {
	r=$(ctlj schedule trigger "$@" | jq -r .run_id)
	wait_for 30 ended "$r" || fail "run $r of $1 ends"
	echo "$r"
}
# deliver SCHEDULE ID HEXKEY: a Standard Webhooks delivery of $BODY
# signed now; prints the status code, the answer in $T/body.
deliver() {
	ts=$(date +%s)
	post "$1" "$2" "$ts" "$(sign "$2" "$ts" "$BODY" "$3")" "$BODY"
}

start_chimed
check "the listener is up" test -n "$HTTP_PORT"

# ---- accounts ------------------------------------------------------------
check "a second account" ctl account create team --uid 4242 \
    --monthly-budget 25 --tz Europe/Paris
check "a uid granted" ctl account grant team --uid 4343
check "a uid revoked" ctl account revoke team --uid 4242
check "the account updated" ctl account update team --monthly-budget 30 \
    --tz America/New_York

# ---- preferences ---------------------------------------------------------
check "quick's preferences" ctl prefs set --op quick \
    --preferred-model cheap-model --default-parameters lang=en \
    --default-parameters n=2 --monthly-budget 5
check "fail is disabled" ctl prefs set --op fail --no-enabled
check "team's gate preferences" ctl prefs set --account team --op gate \
    --preferred-model test-model --monthly-budget 1.5
check "the UI preferences" ctl prefs set_ui --color-scheme dark \
    --accent-color '#0A0b0c' --compact-mode \
    --list-views '{"runs": {"columns": ["run_id", "status"], "sort": "-started", "page_size": 50}}'
check "one UI key changes" ctl prefs set_ui --color-scheme light

# ---- schedules of each trigger kind --------------------------------------
check "cron, 5 fields, in a zone" ctl schedule create --name cron5 \
    --op quick --cron '30 4 29 2 *' --tz Europe/Berlin --note five
check "cron, 6 fields, in a zone" ctl schedule create --name cron6 \
    --op quick --cron '15 0 12 25 12 *' --tz America/New_York \
    --param k=v --priority 8
check "weekly" ctl schedule create --name weekly --op quick \
    --weekly 'sun 03:00' --tz Asia/Tokyo --catchup latest
check "monthly" ctl schedule create --name monthly --op quick \
    --monthly 'last 18:00' --overlap queue_one --history 10
check "interval" ctl schedule create --name every --op quick --every 30d \
    --catchup all --catchup-window 1h
check "at" ctl schedule create --name once --op quick \
    --at 2099-01-01T00:00:00Z
check "manual" ctl schedule create --name man --op quick --manual \
    --param n=5 --model test-model
check "manual in team" ctl schedule create --name teamman --op gate-idem \
    --manual --account team --paused
create_hook hook
check "webhook with a generated secret" jq -e '.trigger == "webhook"' \
    "$T/create"
HOOK=$HOOK_ID
A=$HOOK_SECRET

check "update several fields" ctl schedule update cron5 \
    --cron '0 5 29 2 *' --note 'five, later' --priority 3 \
    --param x=1 --max-cost-month 40
check "rename" ctl schedule update every --name interval --every 40d
check "pause with a note" ctl schedule pause weekly --note 'on holiday'
check "resume" ctl schedule resume weekly

# ---- triggers ------------------------------------------------------------
R=$(trigger man)
check "a manual run succeeds" run_is "$R" success
R=$(trigger man --key k-1 --param extra=yes)
check "a run with a key succeeds" run_is "$R" success
ctlj schedule trigger man --key k-1 > "$T/again"
check "the same key names the first run" jq -e ".run_id == \"$R\"" \
    "$T/again"
check "a tiny cap" ctl schedule create --name capped --op quick --manual \
    --max-cost-month 0.000001 --force
ctlj schedule trigger capped > "$T/capped" 2>&1
check "the capped run is refused" grep -q budget "$T/capped"
check "a schedule of a disabled operation" ctl schedule create --name off \
    --op fail --manual
ctlj schedule trigger off > "$T/off" 2>&1
check "its run is skipped" grep -q disabled "$T/off"
check "fail is enabled again" ctl prefs set --op fail --enabled
R=$(trigger off)
check "now its run fails" run_is "$R" failed
check "bulk_set" ctl prefs bulk_set --operations '{"flaky": {"enabled": false}, "gate": {"preferred_model": "cheap-model"}}'
check "delete" ctl schedule delete monthly

# ---- webhooks ------------------------------------------------------------
KEY=$(hexkey "$A")
BODY='{"event":"push","n":1}'
check "a valid delivery: 202" test "$(deliver "$HOOK" msg_1 "$KEY")" = 202
R=$(jq -r .run_id "$T/body")
check "its run succeeds" wait_for 30 run_is "$R" success
check "its replay: 200" test "$(deliver "$HOOK" msg_1 "$KEY")" = 200
WRONG=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
check "a wrong signature: 401" test "$(deliver "$HOOK" msg_2 "$WRONG")" = 401
check "an unknown schedule: 404" test "$(deliver s_000000000000 msg_3 \
    "$KEY")" = 404
ctlj webhook rotate "$HOOK" --grace 1h --reason "scheduled rotation" \
    > "$T/rot"
B=$(jq -r .webhook_secret "$T/rot")
secret_used "$B"
check "rotation shows a new secret" test "${B#whsec_}" != "$B"
check "the new secret verifies" test "$(deliver "$HOOK" msg_4 \
    "$(hexkey "$B")")" = 202
R=$(jq -r .run_id "$T/body")
check "its run succeeds" wait_for 30 run_is "$R" success
check "the old one in its grace: 202" test "$(deliver "$HOOK" msg_5 \
    "$KEY")" = 202
R=$(jq -r .run_id "$T/body")
check "its run succeeds" wait_for 30 run_is "$R" success
check "quick is disabled" ctl prefs set --op quick --no-enabled
check "a delivery of a disabled operation: 202" test "$(deliver "$HOOK" \
    msg_6 "$KEY")" = 202
check "its run is skipped" jq -e \
    '.status == "skipped" and .reason == "disabled"' "$T/body"
check "quick is enabled again" ctl prefs set --op quick --enabled
check "the webhook schedule is paused" ctl schedule pause "$HOOK"
check "a delivery to it: 409" test "$(deliver "$HOOK" msg_7 "$KEY")" = 409
check "and resumed" ctl schedule resume "$HOOK"

# ---- reload, restart -----------------------------------------------------
check "reload" ctl daemon reload
check "the daemon stops" stop_chimed
start_chimed
R=$(trigger man)
check "a run after the restart succeeds" run_is "$R" success
check "the daemon stops again" stop_chimed

check_export "$EXPECTED"
finish
