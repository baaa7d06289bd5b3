#!/bin/sh
# The dashboard's Batches page in a real browser (headless chromium
# through python3-selenium) against a real chimed serving the source
# tree's ui/: the list against chimectl; a batch created through the form
# and one from a JSON file, each seen with chimectl, and the API's
# refusals shown in words; a batch's page followed live (Server-Sent
# Events) from an intermediate state to completion, its counts those of
# batch.get at the end, its event stream closed when the page is left
# (chime_watchers); a running batch cancelled through the page (seen
# with chimectl); a second account's token sees none of the first's
# batches; a read-only token gets no create or cancel; an admin's "All
# accounts" lists every account's batches with their account.  Screenshots go to
# $CHIME_SHOTS.  Without chromium the test is skipped (77), never passed.
. "$(dirname "$0")/lib.sh"

browser_need

start_chimed --ui-dir "$S/ui"
ctl account create acme >/dev/null
ctl account create other >/dev/null
ctl batch create --account acme --name seed --op quick --count 3 >/dev/null
ctl batch create --account acme --name seed-fail --op fail --count 2 \
    >/dev/null
ctl batch create --account other --name theirs --op quick --count 2 \
    >/dev/null
ended() {
	[ "$(ctlj batch list --account "$1" | jq '[.batches[] |
	    select(.state == "running")] | length')" -eq 0 ]
}
check "acme's batches end" wait_for 30 ended acme
check "other's batch ends" wait_for 30 ended other

ctlj token create writer --account acme --scope write >"$T/acme.json"
ctlj token create reader --account acme --scope read >"$T/read.json"
ctlj token create theirs --account other --scope write >"$T/other.json"
ctlj token create boss --admin --scope read >"$T/admin.json"
secret_used "$(jq -r .token "$T/acme.json")" \
    "$(jq -r .token "$T/read.json")" "$(jq -r .token "$T/other.json")" \
    "$(jq -r .token "$T/admin.json")"

browser_test dashboard-batches.py CHIME_TOKEN_FILE="$T/acme.json" \
    CHIME_READ_FILE="$T/read.json" CHIME_OTHER_FILE="$T/other.json" \
    CHIME_ADMIN_FILE="$T/admin.json" \
    CHIME_FILES="$T"
finish
