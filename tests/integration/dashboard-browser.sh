#!/bin/sh
# The dashboard in a real browser (Debian's chromium and chromedriver,
# driven headless by python3-selenium) against a real chimed serving the
# source tree's ui/: sign in with a token; the overview's four cards hold
# analytics.summary's figures (as chimectl gets them) for each period; no
# request leaves the daemon's origin (Chrome's performance log); an
# admin's account switcher lists the accounts; sign out ends the session.
# The Schedules page: its list against chimectl, filters, paging; pause
# with a note, resume, trigger and delete through it, each seen with
# chimectl; a read-only token sees no write action.
# Screenshots of each page go to $CHIME_SHOTS (default
# tests/integration/dashboard-screenshots in the build tree).  Without
# chromium, chromedriver or selenium the test is skipped (77), never
# passed.
. "$(dirname "$0")/lib.sh"

browser_need

start_chimed --ui-dir "$S/ui"
ctl account create acme >/dev/null
ctl account create other >/dev/null
ctl schedule create --account acme --name ok --op quick --manual >/dev/null
ctl schedule create --account acme --name bad --op fail --manual >/dev/null
ctl schedule create --account other --name theirs --op quick --manual \
    >/dev/null
ctl account update acme --monthly-budget 0.02 >/dev/null
# For the Schedules page: enough of acme's to page at 10, one with a next
# fire in a zone of its own, one to delete.
for i in 1 2 3 4 5 6 7 8; do
	ctl schedule create --account acme --name "job$i" --op quick --manual \
	    >/dev/null
done
ctl schedule create --account acme --name later --op quick \
    --at 2030-01-15T09:30:00+01:00 --tz Europe/Paris >/dev/null
ctl schedule create --account acme --name doomed --op quick --manual \
    >/dev/null
for i in 1 2 3; do
	ctl schedule trigger ok --account acme >/dev/null
done
ctl schedule trigger bad --account acme >/dev/null
ctl schedule trigger theirs --account other >/dev/null
runs_ended() {
	[ "$(ctlj schedule runs "$1" --account "$2" | jq '[.runs[] |
	    select(.status != "running" and .status != "pending")] |
	    length')" -ge "$3" ]
}
check "acme's runs end" wait_for 30 runs_ended ok acme 3
check "... and its failing one" wait_for 30 runs_ended bad acme 1
check "other's run ends" wait_for 30 runs_ended theirs other 1

ctlj token create viewer --account acme --scope write >"$T/acme.json"
ctlj token create boss --admin --scope read >"$T/admin.json"
secret_used "$(jq -r .token "$T/acme.json")" "$(jq -r .token "$T/admin.json")"
for p in week month quarter year; do
	ctlj analytics summary --account acme --period "$p" >"$T/summary-$p.json"
done

browser_test dashboard-browser.py CHIME_TOKEN_FILE="$T/acme.json" \
    CHIME_ADMIN_FILE="$T/admin.json" CHIME_SUMMARIES="$T"
finish
