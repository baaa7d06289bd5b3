#!/bin/sh
# The schedule form and a schedule's page in a real browser (chromium,
# chromedriver, python3-selenium) against a real chimed serving the source
# tree's ui/: a schedule created through the form, its preview's next
# fires (a DST-shifted one among them) equal to chimectl schedule next
# for the same description and its estimate to schedule create --dry-run;
# a bad cron refused in words, nothing created; the schedule changed
# through the form, seen with chimectl; a schedule's page with the runs
# chimectl lists; a webhook schedule's page with the fingerprints
# chimectl lists, a rotation through the page showing the new secret once;
# another account's token told "not found"; a read-only token sees no
# write action.  Skipped (77) without the
# browser.
. "$(dirname "$0")/lib.sh"

browser_need

start_chimed --ui-dir "$S/ui"
ctl account create acme >/dev/null
ctl account create other >/dev/null
ctl schedule create --account acme --name ran --op quick --manual >/dev/null
ctl schedule create --account acme --name broke --op fail --manual \
    >/dev/null
ctl schedule trigger ran --account acme >/dev/null
ctl schedule trigger ran --account acme >/dev/null
ctl schedule trigger broke --account acme >/dev/null
runs_ended() {
	[ "$(ctlj schedule runs "$1" --account acme | jq '[.runs[] |
	    select(.status != "running" and .status != "pending")] |
	    length')" -ge "$2" ]
}
check "acme's runs end" wait_for 30 runs_ended ran 2
check "... and the failing one" wait_for 30 runs_ended broke 1
ctlj schedule create --account acme --name hook --op quick --webhook \
    --webhook-secret generated >"$T/hook.json"
secret_used "$(jq -r .webhook_secret "$T/hook.json")"
HOOK_ID=$(jq -r .id "$T/hook.json")
# one refused delivery, for the event log
curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
    --data '{"x":1}' "http://127.0.0.1:$HTTP_PORT/v1/hooks/$HOOK_ID"
check "the refused delivery is in the event log" sh -c \
    "$CHIMECTL --socket $SOCK --json webhook events hook --account acme |
    jq -e '.events | length == 1'"

ctlj token create editor --account acme --scope write >"$T/acme.json"
ctlj token create stranger --account other --scope write >"$T/other.json"
ctlj token create reader --account acme --scope read >"$T/reader.json"
secret_used "$(jq -r .token "$T/acme.json")" "$(jq -r .token "$T/other.json")" \
    "$(jq -r .token "$T/reader.json")"

browser_test dashboard-schedule-form.py CHIME_TOKEN_FILE="$T/acme.json" \
    CHIME_OTHER_FILE="$T/other.json" CHIME_READER_FILE="$T/reader.json"
finish
