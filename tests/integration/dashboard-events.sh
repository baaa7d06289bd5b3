#!/bin/sh
# The dashboard's Events and Subscriptions pages in a real browser
# (dashboard-events.py, headless chromium) against a real chimed serving
# the source tree's ui/.  Events: runs triggered with chimectl appear at
# the top of the page as they happen, each event as chime-journal export
# has it; the kind filter, a refused filter in words, pause and resume
# (events held and counted); the connection cut (by a relay in
# dashboard-events.py) and back: the page reconnects from the next seq,
# nothing missed, nothing twice; leaving the page ends its stream
# (chime_watchers back to 0); a second account's token sees none of the
# first's events.  Subscriptions: one created through the page to a
# tests-only receiver (sub-receiver.py) is seen with chimectl, its secret
# shown once; its deliveries appear in its page as they are made; pause,
# resume, test and delete through the page, each seen with chimectl; a
# read-only token sees no write action.  An admin under All accounts sees
# every record and every subscription; last, chimed drains (SIGTERM) and
# the page says so.
# Skipped (77) without chromium.
. "$(dirname "$0")/lib.sh"

browser_need

R=$T/recv
mkdir -p "$R"
python3 "$S/tests/integration/sub-receiver.py" "$S/doc/events.md" \
    "$R/secrets" "$R/mode" "$R/log" "$R/port" >>"$R/out" 2>&1 &
RPID=$!
trap 'st=$?; kill $RPID 2>/dev/null; wait $RPID 2>/dev/null; (exit $st); cleanup' EXIT
wait_for 20 test -s "$R/port" || { fail "the receiver starts"; exit 1; }
echo ok >"$R/mode"

start_chimed --ui-dir "$S/ui" --http-allow 127.0.0.1/32
ctl account create acme >/dev/null
ctl account create other >/dev/null
ctl schedule create --account acme --name ok --op quick --manual >/dev/null
ctl schedule create --account other --name theirs --op quick --manual \
    >/dev/null

ctlj token create writer --account acme --scope write >"$T/acme.json"
ctlj token create reader --account acme --scope read >"$T/read.json"
ctlj token create theirs --account other --scope read >"$T/other.json"
ctlj token create boss --admin --scope read >"$T/admin.json"
secret_used "$(jq -r .token "$T/acme.json")" \
    "$(jq -r .token "$T/read.json")" "$(jq -r .token "$T/other.json")" \
    "$(jq -r .token "$T/admin.json")"

browser_test dashboard-events.py CHIME_TOKEN_FILE="$T/acme.json" \
    CHIME_READ_FILE="$T/read.json" CHIME_OTHER_FILE="$T/other.json" \
    CHIME_ADMIN_FILE="$T/admin.json" CHIME_PID="$CHIMED_PID" \
    CHIME_JOURNAL="$JOURNAL" CHIME_DATA="$DATA" \
    CHIME_RECV_URL="http://127.0.0.1:$(cat "$R/port")/hook" \
    CHIME_RECV_DIR="$R"
# The browser test ends by making the daemon drain (SIGTERM); if it
# stopped before, the daemon is made to here.
kill -TERM "$CHIMED_PID" 2>/dev/null
wait "$CHIMED_PID"
rc=$?
CHIMED_PID=
check "chimed drained and exited 0 with the page following" test "$rc" -eq 0
replay_check
finish
