#!/bin/sh
# A scripted workload of schedule control operations: every trigger kind
# created, then updated, paused and resumed, read back at a restart,
# webhook secrets rotated and expired, updated again, and deleted.  Its
# journal export, with what differs from run to run masked (ids, times,
# process ids, hashes, fingerprints), must equal schedule-workload.expected:
# the records the schedule code writes stay what they were, key for key.
# CHIME_WORKLOAD_OUT=FILE keeps the masked export (to make the reference
# after an intended change), CHIME_WORKLOAD_RAW=FILE the export itself.
. "$(dirname "$0")/lib.sh"

export WL_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
export WL_SECRET2=whsec_c2Vjb25kIHNlY3JldCBvZiB0aGUgd29ya2xvYWQ=
secret_used "$WL_SECRET" "$WL_SECRET2"
start_chimed

# No schedule may fire while the script runs (a run's records would make
# the export differ): the timed triggers fire at most daily, most of them
# monthly or yearly.  Should one fire all the same, the script is skipped.

# mk NAME ARGS...: create schedule NAME; its id in $T/id.NAME.
mk() {
	n=$1
	shift
	ctlj schedule create --name "$n" "$@" > "$T/create.$n" &&
	    jq -r .id "$T/create.$n" > "$T/id.$n"
}
id() { cat "$T/id.$1"; }

AT=$(date -u -d '+30 days' +%Y-%m-%dT%H:%M:%SZ)
AT2=$(date -u -d '+40 days' +%Y-%m-%dT%H:%M:%SZ)
check "a cron schedule" mk wl-cron --op quick --cron '0 9 * * mon-fri' \
    --tz Europe/Paris --param a=1 --note first --priority 7 --history 20
check "a weekly schedule" mk wl-weekly --op quick --weekly 'tue 10:30' \
    --overlap queue_one --catchup all --catchup-window 2h
check "a monthly schedule" mk wl-monthly --op quick --monthly 'last 18:00' \
    --tz America/New_York --max-cost-month 5.00
check "an interval schedule" mk wl-every --op quick --every 90m \
    --overlap allow --overlap-limit 3
check "a one-shot schedule" mk wl-at --op quick --at "$AT"
check "a manual schedule" mk wl-manual --op quick --manual --paused
check "a webhook schedule, generated secret" mk wl-hook --op quick \
    --webhook --webhook-secret generated --webhook-tolerance 120
secret_used "$(jq -r .webhook_secret "$T/create.wl-hook")"
check "a webhook schedule, env secret" mk wl-hook-env --op quick \
    --webhook --webhook-secret env:WL_SECRET --webhook-style github

check "update: cron text, zone, parameters" ctl schedule update \
    "$(id wl-cron)" --cron '30 4 29 2 *' --tz Asia/Tokyo --param b=2
check "update: name and note" ctl schedule update "$(id wl-weekly)" \
    --name wl-weekly2 --note renamed
check "update: interval to cron" ctl schedule update "$(id wl-every)" \
    --cron '@yearly' --catchup skip
check "update: a new instant" ctl schedule update "$(id wl-at)" --at "$AT2"
check "update: webhook tolerance and style" ctl schedule update \
    "$(id wl-hook)" --webhook-tolerance 600 --webhook-style stripe
check "update: cap removed, priority" ctl schedule update \
    "$(id wl-monthly)" --max-cost-month 0 --priority 2
check "pause with a note" ctl schedule pause "$(id wl-cron)" \
    --note 'maintenance'
check "pause" ctl schedule pause "$(id wl-monthly)"
check "resume with a note" ctl schedule resume "$(id wl-cron)" \
    --note 'back'
check "resume a created-paused one" ctl schedule resume "$(id wl-manual)"
# A restart: what follows works on schedules read back from their rows.
check "stops to restart" stop_chimed
start_chimed
check "rotate a generated secret, with grace" ctl webhook rotate \
    "$(id wl-hook)" --reason 'routine' --grace 1h
check "rotate to a reference, no grace" ctl webhook rotate \
    "$(id wl-hook-env)" --reason 'moved' --secret env:WL_SECRET2 --grace 0
check "rotate again, a short grace" ctl webhook rotate "$(id wl-hook)" \
    --reason 'again' --grace 1s
# expired: the journal holds the record of an expired secret.
expired() {
	"$JOURNAL" export "$DATA" | grep -q '"kind":"webhook.secret_expired"'
}
check "the short grace period ends in a record" wait_for 20 expired
check "update: the row shows the previous secret" ctl schedule update \
    "$(id wl-hook)" --note 'rotated twice'
check "delete" ctl schedule delete "$(id wl-every)"
check "delete the rotated one" ctl schedule delete "$(id wl-hook)"
check "stops cleanly" stop_chimed
export_journal

if grep -q '"kind":"run\.' "$T/export.jsonl"; then
	echo "SKIP: a schedule fired while the script ran; run it again"
	exit 77
fi

normalise > "$T/masked.jsonl"
[ -n "${CHIME_WORKLOAD_RAW:-}" ] && cp "$T/export.jsonl" "$CHIME_WORKLOAD_RAW"
if [ -n "${CHIME_WORKLOAD_OUT:-}" ]; then
	cp "$T/masked.jsonl" "$CHIME_WORKLOAD_OUT"
fi
check "the journal is as it was" diff -u \
    "$S/tests/integration/schedule-workload.expected" "$T/masked.jsonl"
exit "$FAILED"
