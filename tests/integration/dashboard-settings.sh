#!/bin/sh
# The dashboard's Settings page and the Overview's Apply buttons in a
# real browser (dashboard-settings.py) against a real chimed serving the
# source tree's ui/: every operation of the catalog in the form, as
# prefs.get --all has it; a change of several operations saved at once
# (prefs.bulk_set) and seen with chimectl; a bad value refused next to
# its field, nothing saved; the theme, accent colour and compact mode
# applied at once, kept in prefs.set_ui and applied again at the next
# sign-in of a browser that kept nothing; a failing schedule paused and
# a cheaper model preferred from the Overview's recommendations, each
# after its confirmation, seen with chimectl; a read-only token sees no
# Save and no Apply; an admin under "All accounts" is asked to choose.
. "$(dirname "$0")/lib.sh"

browser_need

start_chimed --ui-dir "$S/ui"
ctl account create acme >/dev/null
ctl account create other >/dev/null
ctl schedule create --account acme --name ok --op quick --manual >/dev/null
ctl schedule create --account acme --name bad --op fail --manual >/dev/null
runs_ended() {
	[ "$(ctlj schedule runs "$1" --account "$2" | jq '[.runs[] |
	    select(.status != "running" and .status != "pending")] |
	    length')" -ge "$3" ]
}
# analytics.sh's recipe: a schedule failing 3 runs of 3 (failing_schedule)
# and 10 runs of quick on test-model, whose prices are ten times
# cheap-model's (cheaper_model, from the catalog's prices).
for i in 1 2 3; do
	ctl schedule trigger bad --account acme >/dev/null
done
for i in 1 2 3 4 5 6 7 8 9 10; do
	ctl schedule trigger ok --account acme >/dev/null
done
check "acme's failing runs end" wait_for 30 runs_ended bad acme 3
check "... and its ten of quick" wait_for 30 runs_ended ok acme 10
# an account cap the month has spent already (budget_runs_out): only an
# admin may change it (account.update)
ctl account update acme --monthly-budget 0.000001 >/dev/null
check "the recommendations the page is to apply are there" json_ok \
    '[.recommendations[] | select(.kind == "failing_schedule" or
    .kind == "cheaper_model" or .kind == "budget_runs_out") | .kind] |
    sort == ["budget_runs_out", "cheaper_model", "failing_schedule"]' \
    ctlj analytics recommendations --account acme

ctlj token create editor --account acme --scope write >"$T/write.json"
ctlj token create reader --account acme --scope read >"$T/read.json"
ctlj token create boss --admin --scope write >"$T/admin.json"
secret_used "$(jq -r .token "$T/write.json")" \
    "$(jq -r .token "$T/read.json")" "$(jq -r .token "$T/admin.json")"

browser_test dashboard-settings.py CHIME_TOKEN_FILE="$T/write.json" \
    CHIME_READ_FILE="$T/read.json" CHIME_ADMIN_FILE="$T/admin.json"
finish
