#!/bin/sh
# Claims ahead of the instant (--claim-ahead): a timed occurrence is claimed
# (run.claimed, durable) before its instant and started at it, never
# before; kill -9 between the claim and the instant loses nothing and runs
# nothing twice, whether chimed is back before the instant or after it; a
# pause between the two cancels the claimed run; a schedule with a run in
# flight is decided at its instant.
. "$(dirname "$0")/lib.sh"

# A lead longer than the tests' instants are away: every "at" below is
# claimed as soon as it is created.
start_chimed --claim-ahead 10s

now_s() { date +%s; }
at_in() { date -u -d "@$(( $(now_s) + $1 ))" +%Y-%m-%dT%H:%M:%SZ; }
# cron_in N: a six-field cron expression (UTC) for the second N s from now.
cron_in() { date -u -d "@$(( $(now_s) + $1 ))" '+%S %M %H * * *'; }
# run_of NAME: the id of schedule NAME's first run ("" if none yet).
run_of() { ctlj schedule runs "$1" --limit 10 | jq -r '.runs[-1].run_id // empty'; }
# status_is RUN STATUS
status_is() { ctlj run get "$1" | jq -e --arg s "$2" '.status == $s' >/dev/null; }
# claimed NAME: NAME has one run, pending (claimed, its instant to come).
claimed() { r=$(run_of "$1") && [ -n "$r" ] && status_is "$r" pending; }
# records RUN: RUN's records in the export, in order, one "KIND TIME_US
# SCHEDULED_FOR_US" line each.
records() {
	jq -r --arg r "$1" 'select(.body.run_id == $r)
	    | "\(.kind) \(.time_us) \(.body.scheduled_for_us)"' "$T/export.jsonl"
}
# kinds_are RUN K1,K2,...: RUN's records are exactly these kinds, in order.
kinds_are() {
	[ "$(records "$1" | cut -d' ' -f1 | paste -sd, -)" = "$2" ]
}
# durable_before RUN KIND: RUN's KIND record was durable before its instant.
durable_before() {
	records "$1" | awk -v k="$2" '$1 == k { n++; if ($2 >= $3) bad = 1 }
	    END { exit !(n == 1 && !bad) }'
}
# not_before RUN KIND: every KIND record of RUN came at or after its instant.
not_before() {
	records "$1" | awk -v k="$2" '$1 == k { n++; if ($2 < $3) bad = 1 }
	    END { exit !(n >= 1 && !bad) }'
}

# --- a claim, then kill -9 before the instant --------------------------
# Both within the lead (10 s), so claimed at once.
T_EARLY=$(at_in 5)	# instant passes while chimed is down
T_LATE=$(at_in 9)	# instant still to come when chimed is back
check "an at schedule due in 5 s" ctl schedule create --name early --op quick --at "$T_EARLY"
check "an at schedule due in 9 s" ctl schedule create --name late --op quick --at "$T_LATE"
check "a cron schedule due in 9 s, to pause between its claim and its instant" ctl schedule create --name paused --op quick --cron "$(cron_in 9)" --tz UTC
check "the early occurrence is claimed before its instant" wait_for 10 claimed early
check "the late occurrence is claimed before its instant" wait_for 10 claimed late
check "the cron occurrence is claimed before its instant" wait_for 10 claimed paused
early=$(run_of early)
late=$(run_of late)
paused=$(run_of paused)
kill_chimed
check "the kill came before the early instant" test "$(now_s)" -lt "$(date -d "$T_EARLY" +%s)"
export_journal
for r in "$early" "$late" "$paused"; do
	check "$r: run.claimed durable before its instant" durable_before "$r" run.claimed
done
# Back after the early instant, before the late one.
check "the early instant passes while chimed is down" wait_for 15 sh -c "test \$(date +%s) -gt \$(date -d '$T_EARLY' +%s)"
start_chimed --claim-ahead 10s
check "the early run, its instant past, is resumed at once" wait_for 10 grep -q "pending run resumed.* run=$early" "$LOG"
check "the late run waits for its instant" wait_for 10 grep -q "claimed run waits for its instant.* run=$late" "$LOG"
check "the early run succeeds" wait_for 20 status_is "$early" success
check "the late run is still pending" status_is "$late" pending

check "pause before the instant" ctl schedule pause paused
check "the claimed run of the paused schedule ends cancelled" wait_for 10 status_is "$paused" cancelled
reason_is() { ctlj run get "$1" | jq -e --arg r "$2" '.reason == $r' >/dev/null; }
check "with the pause as its reason" reason_is "$paused" "the schedule was paused before the run's instant"

check "the late run succeeds" wait_for 30 status_is "$late" success
export_journal
check "early: claimed, started, finished, once each" kinds_are "$early" run.claimed,run.started,run.finished
check "late: claimed, started, finished, once each" kinds_are "$late" run.claimed,run.started,run.finished
check "paused: claimed, then cancelled; never started" kinds_are "$paused" run.claimed,run.finished
check "the late run started at its instant, not before" not_before "$late" run.started
check "the early run started after its instant" not_before "$early" run.started
state_is() { ctlj schedule get "$1" | jq -e --arg s "$2" '.state == $s' >/dev/null; }
check "the early one-shot is completed" state_is early completed
check "the late one-shot is completed" state_is late completed
check "no occurrence settled twice" no_double_claims

# --- a delete between the claim and the instant ------------------------
check "a cron schedule due in 9 s, to delete" ctl schedule create --name gone --op quick --cron "$(cron_in 9)" --tz UTC
check "its occurrence is claimed" wait_for 10 claimed gone
gone=$(run_of gone)
check "delete before the instant" ctl schedule delete gone
gone_cancelled() {
	export_journal && kinds_are "$gone" run.claimed,run.finished &&
	jq -s -e --arg r "$gone" '[.[] | select(.body.run_id == $r and
	    .kind == "run.finished")][0].body | .status == "cancelled" and
	    .reason == "schedule deleted"' "$T/export.jsonl" >/dev/null
}
check "its claimed run ends cancelled, never started" wait_for 10 gone_cancelled

# --- a schedule with a run in flight is decided at its instant ---------
check "an every-2s schedule whose runs outlast it" ctl schedule create --name busy --op gate --every 2s --overlap skip
busy=$(ctlj schedule get busy | jq -r .id)
skipped_at_instant() {
	export_journal &&
	jq -s -e --arg s "$busy" '[.[] | select(.kind == "run.skipped" and
	    .body.schedule == $s and .body.reason == "overlap")]
	    | length >= 1 and all(.time_us >= .body.scheduled_for_us)' \
	    "$T/export.jsonl" >/dev/null
}
check "its occurrences with a run in flight are skipped at their instant, not before" wait_for 20 skipped_at_instant
check "its first occurrence was claimed ahead" sh -c "jq -s -e --arg s '$busy' '[.[] | select(.kind == \"run.claimed\" and .body.schedule == \$s)] | length >= 1' '$T/export.jsonl' >/dev/null"
ctl schedule pause busy >/dev/null
touch "$T/release"

# --- --claim-ahead 0: claims at the instant, as before -----------------
stop_chimed
start_chimed --claim-ahead 0
check "with --claim-ahead 0, an every-second schedule" ctl schedule create --name tick --op quick --every 1s
tick=$(ctlj schedule get tick | jq -r .id)
check "runs" wait_for 20 runs_with "$tick" success 1
ctl schedule pause tick >/dev/null
export_journal
check "and its runs have no run.claimed record" sh -c "jq -s -e --arg s '$tick' '[.[] | select(.kind == \"run.claimed\" and .body.schedule == \$s)] | length == 0' '$T/export.jsonl' >/dev/null"
check_fails "--claim-ahead past 10s is refused" 2 "$CHIMED" --data "$T/other" --claim-ahead 11s --check-config
check "no occurrence settled twice" no_double_claims
check "the journal verifies" "$JOURNAL" verify "$DATA"
finish
