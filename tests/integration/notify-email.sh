#!/bin/sh
# tests/integration/notify-email.sh: an account's notifications by email
# (doc/email.md, "Notifications"), a batch's deliver and the account's
# sender name, through the loopback relay the email tests use
# (smtp-relay.py, python3-aiosmtpd).  notify.get and notify.set, refusals;
# the sender name in From: (RFC 2047); 80 % of the account's budget: one
# cost alert; a schedule paused by its cap: one notice at once; a burst of
# 50 failed runs: digests an interval apart, each run in exactly one, a
# handful of messages for 50 runs; a batch's summary per its "on", and a
# schedule of batches giving its deliver to them; failed runs noted before
# a crash are mailed after the restart, none twice; a subscriber disabled
# (410): one notice; a webhook's previous secret about to end: one notice;
# replay folds the records; a tenant can neither read
# nor set another account's settings.
. "$(dirname "$0")/lib.sh"

smtp_need
M=$T/mail
# A plain loopback relay (--smtp-insecure): TLS is email.sh's to test.
smtp_relay "$M"

# quick costs 0.002 USD a run (1000 + 500 tokens at 1 and 2 USD/Mtok);
# fail fails at once.
cat >"$T/catalog.json" <<'EOF'
{
  "models": [{ "id": "m", "input_usd_per_mtok": "1.00", "output_usd_per_mtok": "2.00" }],
  "operations": [
    { "id": "quick", "executor": "exec",
      "argv": ["/bin/sh", "-c", "cat >/dev/null; printf '{\"result\":{},\"usage\":{\"input_tokens\":1000,\"output_tokens\":500}}'"],
      "timeout": "10s", "tokens": { "input": [1000, 1000, 1000], "output": [500, 500, 500] },
      "default_model": "m" },
    { "id": "fail", "executor": "exec",
      "argv": ["/bin/sh", "-c", "cat >/dev/null; echo broken >&2; exit 3"],
      "timeout": "10s", "tokens": { "input": [1, 1, 1], "output": [1, 1, 1] },
      "default_model": "m" }
  ]
}
EOF
CATALOG=$T/catalog.json
SMTP="--smtp-url smtp://127.0.0.1:$RPORT --smtp-insecure
    --smtp-from chime@chime.example.org --smtp-retry-delay 1s"

# $T/mails.py DIR: what the relay received, as JSON lines {file, to,
# from, subject, date, runs: [the run ids a digest lists]}.  MAILS: it,
# for sh -c.
cat >"$T/mails.py" <<'PY'
import email, email.policy, glob, json, re, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    with open(f, "rb") as fp:
        m = email.message_from_binary_file(fp, policy=email.policy.default)
    text = m.get_body(preferencelist=("plain",)).get_content()
    print(json.dumps({"file": f, "to": str(m["To"]), "from": str(m["From"]),
                      "subject": str(m["Subject"]), "date": str(m["Date"]),
                      "runs": re.findall(r" run (\S+)  ", text)}))
PY
MAILS="$PY $T/mails.py $M"
mails() { $MAILS; }
# count JQ-SELECT: how many messages match.
PAUSED='[.[] | select(.subject | test("capped paused"))] | length'
LISTED='[.[] | select(.subject | test("failed run")) | .runs[]] | length'

# shellcheck disable=SC2086
start_chimed $SMTP --notify-digest-interval 4s

# ---- the settings ---------------------------------------------------------
check "the defaults: no address, every event" sh -c \
    "$CHIMECTL --socket $SOCK --json notify get | jq -e '.addresses == [] and .run_failed == \"all\" and .schedule_paused and .budget and .subscriber_disabled and .updated == null'"
check_fails "a bad address is refused" 1 ctl notify set --address 'x@example.com>'
check "... naming the field" grep -q 'addresses' "$T/last"
check_fails "run_failed of a bad name is refused" 1 ctl notify set \
    --run-failed 'a b!'
check_fails "nothing to change is refused" 1 ctl notify set
check "the address is set" ctl notify set --address ops@example.com
check "notify get shows it" sh -c \
    "$CHIMECTL --socket $SOCK --json notify get | jq -e '.addresses == [\"ops@example.com\"] and .updated != null'"
check "schedule_paused off, then on again" sh -c \
    "$CHIMECTL --socket $SOCK --json notify set --no-schedule-paused | jq -e '.schedule_paused == false' &&
     $CHIMECTL --socket $SOCK --json notify set --schedule-paused | jq -e '.schedule_paused == true and .addresses == [\"ops@example.com\"]'"

# The account's sender name, not ASCII: RFC 2047 in From:.
check "the account's sender name is set" sh -c \
    "$CHIMECTL --socket $SOCK --json account update default --email-from-name 'Équipe Rapports' | jq -e '.email_from_name == \"Équipe Rapports\"'"
check_fails "a sender name with a line break is refused" 1 ctl account \
    update default --email-from-name "$(printf 'a\nBcc: x@example.com')"

# ---- a schedule paused by its cap: one notice at once ------------------------
# The account's budget: the first run (0.002 USD) passes 80 % of it.
check "an account budget" ctl account update default --monthly-budget 0.0025
check "a capped schedule" ctl schedule create --name capped --op quick \
    --every 1s --max-cost-month 0.003
check "it is paused by its cap" wait_for 30 sh -c \
    "$CHIMECTL --socket $SOCK --json schedule get capped | jq -e '.state == \"paused\" and .pause_reason == \"budget_exceeded\"'"
check "one pause notice arrives" wait_for 20 sh -c \
    "test \"\$($MAILS | jq -s '$PAUSED')\" -ge 1"
mails >"$T/mails.0"
check "... one, at the notification address" jq -e -s \
    '[.[] | select(.subject | test("capped paused"))] | length == 1 and .[0].to == "ops@example.com"' \
    "$T/mails.0"
check "... from the account's sender name" jq -e -s \
    '[.[] | select(.subject | test("capped paused"))][0].from | test("^\"?Équipe Rapports\"? <chime@chime.example.org>$")' \
    "$T/mails.0"
check "... encoded (RFC 2047)" sh -c "grep -q '^From: =?UTF-8?B?' $M/*.eml"
check "a cost alert: 80 % of the account's budget" wait_for 20 sh -c \
    "test \"\$($MAILS | jq -s '[.[] | select(.subject == \"[chime] default: 80 % of the monthly budget of account default spent\")] | length')\" -eq 1"
check "the account's budget is lifted" ctl account update default \
    --monthly-budget 0

# ---- a burst of 50 failed runs: one digest per interval ------------------------
check "a failing schedule" ctl schedule create --name broken --op fail --manual
i=0
while [ $i -lt 50 ]; do
	ctl schedule trigger broken >/dev/null 2>&1 || fail "trigger $i"
	i=$((i + 1))
done
check "50 runs fail" wait_for 60 sh -c "test \$($CHIMECTL --socket $SOCK --json schedule runs broken --limit 1000 | jq '[.runs[] | select(.status == \"failed\")] | length') -eq 50"
check "the digests list all 50" wait_for 30 sh -c \
    "test \"\$($MAILS | jq -s '$LISTED')\" -eq 50"
mails >"$T/mails.1"
jq -s '[.[] | select(.subject | test("failed run"))]' "$T/mails.1" >"$T/digests.1"
check "each run in exactly one digest" jq -e \
    '[.[].runs[]] | (length == 50) and (unique | length == 50)' "$T/digests.1"
check "a handful of digests, not 50 mails" jq -e 'length >= 1 and length <= 6' \
    "$T/digests.1"
check "every digest goes to the notification address" jq -e \
    'all(.[]; .to == "ops@example.com")' "$T/digests.1"
# Digests of one account come at least the interval apart.
check "digests are an interval apart" "$PY" - "$T/digests.1" <<'PY'
import json, sys, email.utils
d = sorted(email.utils.parsedate_to_datetime(x["date"]).timestamp()
           for x in json.load(open(sys.argv[1])))
sys.exit(0 if all(b - a >= 3 for a, b in zip(d, d[1:])) else 1)
PY
check "still one pause notice" sh -c "test \"\$($MAILS | jq -s '$PAUSED')\" -eq 1"
check "the email log shows the notices" sh -c \
    "$CHIMECTL --socket $SOCK --json email log --address ops@example.com | jq -e '[.messages[] | select(.outcome == \"sent\")] | length >= 2'"

# ---- a batch's deliver ------------------------------------------------------------
subject_n() { $MAILS | jq -s --arg s "$1" '[.[] | select(.subject == $s)] | length'; }
check "a batch mailing its end" sh -c "$CHIMECTL --socket $SOCK --json batch create \
    --name nightly --op quick --count 3 --email-to batch@example.com \
    --email-on always | jq -e '.deliver.on == \"always\"'"
check "its summary arrives once it completes" wait_for 30 sh -c \
    "test \"\$($MAILS | jq -s '[.[] | select(.subject == \"[chime] batch nightly: completed\" and .to == \"batch@example.com\")] | length')\" -eq 1"
check "a failing batch mailing on success only" ctl batch create \
    --name quiet --op fail --count 2 --email-to never@example.com
QUIET=$(ctlj batch list | jq -r '.batches[] | select(.name == "quiet") | .id')
check "a failing batch mailing failures" ctl batch create --name loud \
    --op fail --count 2 --email-to batch@example.com --email-on failure \
    --email-subject '{schedule} ended {status}'
check "the failure's summary arrives" wait_for 30 sh -c \
    "test \"\$($MAILS | jq -s '[.[] | select(.subject == \"loud ended completed_with_failures\")] | length')\" -eq 1"
"$PY" - "$M" 'loud ended completed_with_failures' >"$T/loud.txt" <<'PY'
import email, email.policy, glob, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    m = email.message_from_binary_file(open(f, "rb"),
                                       policy=email.policy.default)
    if str(m["Subject"]) == sys.argv[2]:
        print(m.get_body(preferencelist=("plain",)).get_content())
PY
check "... listing the operations by state" sh -c \
    "grep -q 'batch of 2 operations' $T/loud.txt && grep -q '\"failed\": 2' $T/loud.txt"
check "the batch wanting success sent nothing" wait_for 20 sh -c \
    "$CHIMECTL --socket $SOCK --json batch get $QUIET --limit 0 | jq -e '.state == \"completed\"' >/dev/null &&
     ! $JOURNAL export $DATA | jq -e 'select(.kind == \"email.queued\" and .body.run_id == \"$QUIET\")' | grep -q ."
# A schedule whose target is a batch: its deliver is its batches'.
cat >"$T/pair.json" <<'JSON'
{"name": "pair", "type": "parallel", "operations": [{"id": "a", "operation": "quick"}, {"id": "b", "operation": "quick"}]}
JSON
check "a schedule of batches with a deliver" ctl schedule create \
    --name pairs --at "$(date -u -d '+5 seconds' +%Y-%m-%dT%H:%M:%SZ)" \
    -f "$T/pair.json" --email-to batch@example.com --email-on always \
    --email-subject '{schedule}: {status}'
check "the batch's summary arrives" wait_for 30 sh -c \
    "test \"\$($MAILS | jq -s '[.[] | select(.subject | test(\"^pairs@.*: completed$\"))] | length')\" -eq 1"

# ---- pending failures survive a restart ------------------------------------------
check "a clean stop (replay agrees)" stop_chimed
# shellcheck disable=SC2086
start_chimed $SMTP --notify-digest-interval 1h
i=0
while [ $i -lt 5 ]; do
	ctl schedule trigger broken >/dev/null 2>&1 || fail "trigger $i"
	i=$((i + 1))
done
check "5 more runs fail" wait_for 60 sh -c "test \$($CHIMECTL --socket $SOCK --json schedule runs broken --limit 1000 | jq '[.runs[] | select(.status == \"failed\")] | length') -eq 55"
check "they are noted for a digest" wait_for 20 sh -c \
    "test \$($JOURNAL export $DATA | jq -s '[.[] | select(.kind == \"notify.pending\")] | length') -eq 55"
# A crash (kill -9) before the digest: the rows are the digest's state.
kill_chimed
# shellcheck disable=SC2086
start_chimed $SMTP --notify-digest-interval 2s --http-allow 127.0.0.1/32
check "after the restart their digest arrives" wait_for 30 sh -c \
    "test \"\$($MAILS | jq -s '$LISTED')\" -eq 55"
mails | jq -s '[.[] | select(.subject | test("failed run"))]' >"$T/digests.2"
check "no run told twice" jq -e '[.[].runs[]] | unique | length == 55' \
    "$T/digests.2"
check "the journal's notices" sh -c \
    "$JOURNAL export $DATA | jq -se '[.[] | select(.kind == \"notify.queued\")] | length >= 3'"

# ---- a subscriber disabled: one notice at once ----------------------------------
# A receiver that answers 410 Gone to everything.
"$PY" - "$T/gone.port" <<'PY' >/dev/null 2>&1 &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self.send_response(410)
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1], "w").write(str(s.server_port))
s.serve_forever()
PY
GONE_PID=$!
wait_for 20 test -s "$T/gone.port" || fail "the 410 receiver starts"
SUB=$(ctlj subscription create "http://127.0.0.1:$(cat "$T/gone.port")/x" \
    --kinds schedule.created | jq -r .id)
ctl schedule create --name poke --op quick --manual >/dev/null
check "the subscriber is disabled (gone)" wait_for 20 sh -c \
    "$CHIMECTL --socket $SOCK --json subscription get $SUB | jq -e '.state == \"disabled\"'"
check "one notice of it arrives" wait_for 20 sh -c \
    "test \"\$($MAILS | jq -s '[.[] | select(.subject == \"[chime] default: subscriber $SUB disabled\")] | length')\" -eq 1"
kill "$GONE_PID" 2>/dev/null

# ---- a webhook's previous secret a day before its grace period ends -----------
check "a schedule taking webhooks" ctl schedule create --name hooked \
    --op quick --webhook --webhook-secret generated
check "its secret rotated, the previous one kept for 1h" ctl webhook rotate \
    hooked --reason test --grace 1h
check "its account is told at once (less than a day is left)" \
    wait_for 20 sh -c \
    "test \"\$($MAILS | jq -s '[.[] | select(.subject | startswith(\"[chime] default: the previous webhook secret of hooked ends \"))] | length')\" -eq 1"

# ---- tenants ---------------------------------------------------------------------
if other_uid_ready && nb daemon status >/dev/null 2>&1; then
	check "an account for uid $OTHER_UID" ctl account create team-a \
	    --uid "$OTHER_UID"
	check "the tenant reads its own settings" sh -c \
	    "$(command -v setpriv) --reuid=$OTHER_UID --regid=$OTHER_UID --clear-groups $CHIMECTL --socket $SOCK --json notify get --account team-a | jq -e '.addresses == []'"
	check "... and sets them" nb notify set --account team-a \
	    --address team@example.com
	check_fails "it cannot read another account's" 1 nb notify get \
	    --account default
	check_fails "nor set them" 1 nb notify set --account default \
	    --address evil@example.com
	check "default's are unchanged" sh -c \
	    "$CHIMECTL --socket $SOCK --json notify get | jq -e '.addresses == [\"ops@example.com\"]'"
else
	echo "(tenant checks skipped: needs root and setpriv)"
fi

check "a clean stop (replay agrees)" stop_chimed
check "the journal verifies" "$JOURNAL" verify "$DATA"
finish
