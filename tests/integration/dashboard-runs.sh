#!/bin/sh
# The Runs page in a real browser (as dashboard-browser.sh): its rows are
# chimectl run list's, with the same filters (status, operation, model);
# Next and Previous follow run.list's cursor from a batch's runs into a
# schedule's; a run links to its schedule's or batch's page; an admin's
# "All accounts" has an Account column and every account's runs; another
# account's token sees none of acme's.  Skipped (77) without chromium,
# chromedriver or selenium.
. "$(dirname "$0")/lib.sh"

browser_need

start_chimed --ui-dir "$S/ui"
ctl account create acme >/dev/null
ctl account create other >/dev/null
ctl schedule create --account acme --name ok --op quick --manual >/dev/null
ctl schedule create --account acme --name bad --op fail --manual >/dev/null
ctl schedule create --account other --name theirs --op quick --manual \
    >/dev/null
# acme: a failing run and two good ones of its schedules, then a batch of
# 30 (more than a page of 25), then one more schedule run after it, with
# the account's preferred model for quick.
for s in ok bad ok; do
	ctl schedule trigger "$s" --account acme >/dev/null
done
ctlj batch create --account acme --name bulk --op quick --count 30 \
    >"$T/batch.json"
B=$(jq -r .id "$T/batch.json")
ctl schedule trigger theirs --account other >/dev/null
# ended ACCOUNT N: ACCOUNT has N runs, none pending or running.
ended() {
	ctlj run list --account "$1" --limit 1000 | jq -e --argjson n "$2" \
	    '(.runs | length) == $n and all(.runs[]; .status != "pending" and
	    .status != "running")' >/dev/null
}
check "acme's schedule runs and batch end" wait_for 60 ended acme 33
# the last one priced with another model
check "acme prefers cheap-model for quick" ctl prefs set --account acme \
    --op quick --preferred-model cheap-model
ctl schedule trigger ok --account acme >/dev/null
check "... and its last run" wait_for 30 ended acme 34
check "other's run ends" wait_for 30 ended other 1

ctlj token create viewer --account acme --scope read >"$T/acme.json"
ctlj token create theirs --account other --scope write >"$T/other.json"
ctlj token create boss --admin --scope read >"$T/admin.json"
secret_used "$(jq -r .token "$T/acme.json")" \
    "$(jq -r .token "$T/other.json")" "$(jq -r .token "$T/admin.json")"

browser_test dashboard-runs.py CHIME_TOKEN_FILE="$T/acme.json" \
    CHIME_OTHER_FILE="$T/other.json" CHIME_ADMIN_FILE="$T/admin.json" \
    CHIME_BATCH="$B"
finish
