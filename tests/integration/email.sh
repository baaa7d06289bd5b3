#!/bin/sh
# tests/integration/email.sh: reports by email (doc/email.md) through a
# real relay on loopback (smtp-relay.py, Debian's python3-aiosmtpd) with
# STARTTLS (a self-signed certificate made here) and AUTH.  The relay's
# flags refused when wrong; a schedule's deliver set, shown and refused
# when wrong (header injection, bad and too many addresses); a report
# from the operation's result and a rendered summary, each message parsed
# with Python's email package (headers, both parts, attachment bytes,
# List-Unsubscribe and its token); a 4xx then 250 (retried, sent once), a
# 5xx (failed, journaled), a dropped connection (retried, sent once); on
# failure; metrics; the journal's records and replay; nothing sent again
# at a restart; run.get's deliveries; kill -9 amid 50 recipients.
. "$(dirname "$0")/lib.sh"

# The relay and the parsing need Debian's python3 with aiosmtpd.
smtp_need
M=$T/mail

# A certificate for 127.0.0.1, which chimed checks with --smtp-ca.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$T/key.pem" \
    -out "$T/cert.pem" -days 2 -subj /CN=127.0.0.1 \
    -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 ||
    { fail "a certificate is made"; exit 1; }
cat >"$T/script.json" <<'EOF'
{"later@example.com": [451, 250], "gone@example.com": [550],
 "dropped@example.com": [0, 250]}
EOF
smtp_relay "$M" "$T/cert.pem" "$T/key.pem" relayuser 's3cret-Relay' \
    "$T/script.json"
printf 's3cret-Relay\n' >"$T/pw"
chmod 600 "$T/pw"

# The catalog: a report in the result, a summary (a result to escape), a
# failure.
cat >"$T/report.json" <<'EOF'
{"result": {"report": {"subject": "Weekly numbers", "text": "Total: 42\n", "html": "<p>Total: <b>42</b></p>", "attachments": [{"name": "numbers.csv", "content_type": "text/csv", "content_base64": "YSxiCjEsMgo="}, {"name": "blob.bin", "content_type": "application/octet-stream", "content_base64": "AAEC/f7/"}]}}, "usage": {"input_tokens": 10, "output_tokens": 5}}
EOF
cat >"$T/catalog.json" <<'EOF'
{
  "models": [{ "id": "m", "input_usd_per_mtok": "1.00", "output_usd_per_mtok": "2.00" }],
  "operations": [
    { "id": "report", "executor": "exec", "env": ["CHIME_TEST_DIR"],
      "argv": ["/bin/sh", "-c", "cat >/dev/null; cat \"$CHIME_TEST_DIR/report.json\""],
      "timeout": "10s", "tokens": { "input": [10, 10, 10], "output": [5, 5, 5] },
      "default_model": "m" },
    { "id": "summary", "executor": "exec",
      "argv": ["/bin/sh", "-c", "cat >/dev/null; printf '{\"result\":{\"note\":\"<b>a & b</b>\",\"n\":7},\"usage\":{\"input_tokens\":1000,\"output_tokens\":500}}'"],
      "timeout": "10s", "tokens": { "input": [10, 10, 10], "output": [5, 5, 5] },
      "default_model": "m" },
    { "id": "fail", "executor": "exec",
      "argv": ["/bin/sh", "-c", "cat >/dev/null; echo broken >&2; exit 3"],
      "timeout": "10s", "tokens": { "input": [10, 10, 10], "output": [5, 5, 5] },
      "default_model": "m" }
  ]
}
EOF
CATALOG=$T/catalog.json
SMTP="--smtp-url smtp://127.0.0.1:$RPORT --smtp-user relayuser
    --smtp-password file:$T/pw --smtp-from reports@chime.example.org
    --smtp-ca $T/cert.pem --public-url https://chime.example.org/
    --smtp-retry-delay 1s --smtp-suppress-bounces"

# ---- the relay's flags ---------------------------------------------------
check_fails "an http URL is refused" 2 "$CHIMED" --data "$DATA" \
    --smtp-url http://127.0.0.1:25 --smtp-from a@example.com
check "... saying what it wants" grep -q 'smtp://HOST\[:PORT\]' "$T/last"
check_fails "--smtp-insecure off loopback is refused" 2 "$CHIMED" \
    --data "$DATA" --smtp-url smtp://mail.example.com:587 \
    --smtp-from a@example.com --smtp-insecure
check_fails "--smtp-insecure with smtps:// is refused" 2 "$CHIMED" \
    --data "$DATA" --smtp-url smtps://127.0.0.1:465 \
    --smtp-from a@example.com --smtp-insecure
check_fails "a password in the URL is refused" 2 "$CHIMED" --data "$DATA" \
    --smtp-url smtp://u:p@127.0.0.1:25 --smtp-from a@example.com
check_fails "no --smtp-from is refused" 2 "$CHIMED" --data "$DATA" \
    --smtp-url smtp://127.0.0.1:25
check_fails "a bad --smtp-from is refused" 2 "$CHIMED" --data "$DATA" \
    --smtp-url smtp://127.0.0.1:25 --smtp-from 'a@b>'
check_fails "an unreadable password file is refused" 2 "$CHIMED" \
    --data "$DATA" --smtp-url smtp://127.0.0.1:25 --smtp-from a@example.com \
    --smtp-user u --smtp-password "file:$T/nonexistent"
check_fails "a user without a password is refused" 2 "$CHIMED" \
    --data "$DATA" --smtp-url smtp://127.0.0.1:25 --smtp-from a@example.com \
    --smtp-user u
check_fails "a plain-http public URL off loopback is refused" 2 "$CHIMED" \
    --data "$DATA" --public-url http://chime.example.org
printf 'smtp-url = smtp://127.0.0.1:%s\nsmtp-from = nobody\n' "$RPORT" \
    >"$T/bad.conf"
check_fails "a bad smtp-from in chimed.conf is refused" 1 "$CHIMED" \
    --config "$T/bad.conf" --check-config --data "$DATA"

# shellcheck disable=SC2086
start_chimed $SMTP
ctlj daemon status >"$T/status"
check "daemon.status shows the relay" grep -q "smtp://127.0.0.1:$RPORT" \
    "$T/status"
check "... its password reference, never the password" sh -c \
    "grep -q 'file:$T/pw' $T/status && ! grep -q s3cret-Relay $T/status"

# ---- a schedule's deliver -------------------------------------------------
check "a schedule with a deliver is created" ctl schedule create \
    --name weekly --op report --manual \
    --email-to ann@example.com,bob@example.com --email-to later@example.com \
    --email-to gone@example.com --email-subject 'Rapport über {schedule}'
check "schedule.get shows the deliver" json_ok '.deliver.email_to == ["ann@example.com","bob@example.com",
    "later@example.com","gone@example.com"] and .deliver.on == "success"
    and .deliver.subject == "Rapport über {schedule}"
    and .deliver.attach_result == false' ctlj schedule get weekly
# refused FIELD NAME ARGS...: schedule.create NAME with ARGS is an invalid
# request whose message names FIELD.
refused() {
	field=$1
	shift
	ctlj schedule create --op report --manual --name "$@" >/dev/null \
	    2>"$T/err"
	jq -e --arg f "$field" '.code == -32602 and
	    (tostring | contains($f))' "$T/err" >/dev/null
}
check "an address with > is refused" refused email_to bad1 \
    --email-to 'x@example.com>'
check "an address with CR LF (header injection) is refused" refused \
    email_to bad2 --email-to "$(printf 'x@example.com\r\nBcc: evil@example.com')"
check "a subject with CR LF is refused" refused subject bad3 \
    --email-to ok@example.com \
    --email-subject "$(printf 'Hi\r\nBcc: evil@example.com')"
check "an unknown placeholder is refused" refused subject bad4 \
    --email-to ok@example.com --email-subject 'Hi {password}'
check "an unknown email_on is refused" refused deliver.on bad5 \
    --email-to ok@example.com --email-on sometimes
check "an address given twice is refused" refused "given twice" bad6 \
    --email-to a@example.com,A@EXAMPLE.com
many=$(seq 1 51 | sed 's/.*/u&@example.com/' | paste -sd, -)
check "51 addresses are refused" refused "at most 50" bad7 \
    --email-to "$many"
check "an address without a domain dot is refused" refused email_to bad8 \
    --email-to root@localhost
check "email_on without recipients is refused" refused email_to bad9 \
    --email-on always
cat >"$T/batch.json" <<'JSON'
{"name": "pair", "type": "parallel", "operations": [{"id": "a", "operation": "summary"}]}
JSON
check "a schedule with a batch target takes a deliver (its batches')" \
    sh -c "$CHIMECTL --socket $SOCK --json schedule create --name batchly \
    --manual -f $T/batch.json --email-to ok@example.com | jq -e '.deliver.email_to == [\"ok@example.com\"]'"
check "... (deleted: notify-email.sh mails one)" ctl schedule delete batchly
ctlj schedule list >"$T/list"
check "nothing refused was created" sh -c "! grep -q '\"bad' $T/list"

check "a summary schedule" ctl schedule create --name plain --op summary \
    --manual --email-to carol@example.com --email-attach \
    --email-on always
check "a schedule mailing failures" ctl schedule create --name broken \
    --op fail --manual --email-to ops@example.com --email-on failure
check "a schedule mailing successes only" ctl schedule create \
    --name quiet --op fail --manual --email-to never@example.com

# ---- sending --------------------------------------------------------------
emls() { ls "$M"/*.eml 2>/dev/null | wc -l; }
sent_to() { grep -l "^To: <$1>" "$M"/*.eml 2>/dev/null | wc -l; }
exported() {
	"$JOURNAL" export "$DATA" >"$T/export.jsonl" 2>/dev/null
}
recorded() {
	exported && [ "$(jq -c "select(.kind == \"$1\" and
	    .body.address == \"$2\")" "$T/export.jsonl" | wc -l)" -eq 1 ]
}

check "a run is triggered" ctl schedule trigger weekly
check "ann, bob and later get their messages" wait_for 30 sh -c \
    "[ \$(grep -l '^To: <\(ann\|bob\|later\)@example.com>' $M/*.eml 2>/dev/null | wc -l) -eq 3 ]"
check "later was answered 451 then 250" wait_for 10 sh -c \
    "grep -c '^later@example.com' $M/attempts.log | grep -qx 2 &&
    grep -q '^later@example.com 451' $M/attempts.log"
# journal_has FILTER: the journal's records (an array) pass FILTER.
journal_has() {
	exported && jq -se "$1" "$T/export.jsonl" >/dev/null
}
check "email.sent for later after 2 attempts" wait_for 10 journal_has \
    '[.[] | select(.kind == "email.sent" and
    .body.address == "later@example.com")] | length == 1 and
    .[0].body.attempts == 2 and .[0].body.code == 250'
check "gone is failed with 550, journaled" wait_for 10 journal_has \
    '[.[] | select(.kind == "email.failed" and
    .body.address == "gone@example.com")] | length == 1 and
    .[0].body.code == 550 and .[0].body.attempts == 1 and
    (.[0].body.error | test("550"))' 
check "gone got nothing" sh -c "[ $(sent_to gone@example.com) -eq 0 ]"
check "gone's 550 put it on the suppression list (bounce)" wait_for 10 \
    journal_has '[.[] | select(.kind == "email.suppression_added")] |
    length == 1 and .[0].body.address == "gone@example.com" and
    .[0].body.reason == "bounce"' 
check "one email.queued claimed each recipient" sh -c \
    "jq -se '[.[] | select(.kind == \"email.queued\")] | length == 1 and
    (.[0].body.recipients | length == 4) and
    .[0].body.subject == \"Rapport über weekly\"' $T/export.jsonl"
check "every address was sent or failed once" sh -c \
    "jq -se '[.[] | select(.kind == \"email.sent\" or
    .kind == \"email.failed\") | .body.address] | sort ==
    [\"ann@example.com\",\"bob@example.com\",\"gone@example.com\",
    \"later@example.com\"]' $T/export.jsonl"
check "the last outcome is marked done" sh -c \
    "jq -se '[.[] | select(.kind == \"email.sent\" or
    .kind == \"email.failed\") | .body.done] | map(select(.)) |
    length == 1' $T/export.jsonl"
check "email.log of weekly: each outcome, code, attempts, subject" json_ok '.messages | length == 4 and
    ([.[] | [.address, .outcome, .code]] | sort) == [
    ["ann@example.com", "sent", 250], ["bob@example.com", "sent", 250],
    ["gone@example.com", "failed", 550], ["later@example.com", "sent", 250]]
    and ([.[] | select(.address == "later@example.com")][0].attempts == 2)
    and all(.[]; .subject == "Rapport über weekly")' \
    ctlj email log --schedule weekly
check "email.log by address" json_ok '.messages | length == 1 and .[0].outcome == "failed" and
    (.[0].error | test("550"))' ctlj email log --address GONE@example.com
check "email.log's limit" json_ok '.messages | length == 2' ctlj email log --limit 2
WEEKLY_RUN=$(ctlj schedule runs weekly | jq -r '.runs[0].run_id')
check "run.get of the run lists its deliveries, one per recipient" json_ok \
    '([.deliveries[] | [.address, .outcome, .code]] | sort) == [
    ["ann@example.com", "sent", 250], ["bob@example.com", "sent", 250],
    ["gone@example.com", "failed", 550], ["later@example.com", "sent", 250]]
    and all(.deliveries[]; .run_id == "'"$WEEKLY_RUN"'")' \
    ctlj run get "$WEEKLY_RUN"
check "no secret in the journal" sh -c \
    "! $JOURNAL export $DATA | grep -q s3cret-Relay"
check "no secret in the log" sh -c "! grep -q s3cret-Relay $LOG"

# Each message as Python's email package reads it.
RUN1=$(ctlj schedule runs weekly | jq -r '.runs[0].run_id')
cat >"$T/parse.py" <<'PY'
import base64, email, email.policy, glob, hashlib, hmac, json, sys
from urllib.parse import urlsplit, parse_qs
d, want_to, kind, run_id, keyfile = sys.argv[1:6]
msgs = []
for f in sorted(glob.glob(d + "/*.eml")):
    with open(f, "rb") as fp:
        m = email.message_from_binary_file(fp, policy=email.policy.default)
    if m["To"].addresses[0].addr_spec == want_to:
        msgs.append(m)
assert len(msgs) == 1, "%d messages to %s" % (len(msgs), want_to)
m = msgs[0]
assert m["From"].addresses[0].addr_spec == "reports@chime.example.org"
assert m["Auto-Submitted"] == "auto-generated"
assert m["Date"].datetime is not None
mid = m["Message-ID"]
assert mid.startswith("<") and mid.endswith("@chime.example.org>"), mid
want_mid = hashlib.sha256((run_id + "\n" + want_to).encode()).hexdigest()[:32]
assert mid == "<%s@chime.example.org>" % want_mid, (mid, want_mid)
lu = m["List-Unsubscribe"]
assert lu.startswith("<https://chime.example.org/v1/email/unsubscribe?"), lu
assert m["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
q = parse_qs(urlsplit(lu.strip("<>")).query)
assert q["account"] == ["default"] and q["address"] == [want_to], q
key = open(keyfile, "rb").read().rstrip(b"\n")
tok = base64.urlsafe_b64encode(hmac.new(key, ("default\n" + want_to).encode(),
    hashlib.sha256).digest()).decode().rstrip("=")
assert q["token"] == [tok], (q["token"], tok)
text = m.get_body(("plain",)).get_content()
html = m.get_body(("html",)).get_content()
alt = [p for p in m.walk() if p.get_content_type() == "multipart/alternative"]
assert len(alt) == 1
atts = {p.get_filename(): (p.get_content_type(), p.get_payload(decode=True))
        for p in m.iter_attachments()}
if kind == "report":
    assert str(m["Subject"]) == "Rapport über weekly", m["Subject"]
    assert text == "Total: 42\n", repr(text)
    assert html == "<p>Total: <b>42</b></p>", repr(html)
    assert atts["numbers.csv"] == ("text/csv", b"a,b\n1,2\n"), atts
    assert atts["blob.bin"] == ("application/octet-stream",
                                bytes([0, 1, 2, 253, 254, 255])), atts
else:
    assert str(m["Subject"]) == "[chime] plain: success", m["Subject"]
    assert "plain" in text and "success" in text and "<b>a & b</b>" in text
    assert "&lt;b&gt;a &amp; b&lt;/b&gt;" in html and "<b>a" not in html
    ct, body = atts["result.json"]
    assert ct == "application/json"
    assert json.loads(body)["note"] == "<b>a & b</b>"
# The bytes on the wire: CRLF lines, base64 in lines of at most 76.
raw = [open(f, "rb").read() for f in sorted(glob.glob(d + "/*.eml"))
       if b"\r\nTo: <" + want_to.encode() + b">\r\n" in open(f, "rb").read()]
assert len(raw) == 1
raw = raw[0]
hdr, body = raw.split(b"\r\n\r\n", 1)
assert all(len(l) <= 76 for l in body.split(b"\r\n")), "a long line"
if kind == "report":
    assert b"Subject: =?UTF-8?B?" in hdr, hdr
print("ok")
PY
check "the report to ann parses: headers, parts, attachments, unsubscribe" \
    "$PY" "$T/parse.py" "$M" ann@example.com report "$RUN1" \
    "$DATA/secrets/email-unsubscribe"
check "the report to later parses, sent once" \
    "$PY" "$T/parse.py" "$M" later@example.com report "$RUN1" \
    "$DATA/secrets/email-unsubscribe"

# ---- the unsubscribe link and the suppression list -----------------------
# The link of ann's message, to the daemon's own listener.
URL=$("$PY" -c '
import email, email.policy, glob, sys
for f in sorted(glob.glob(sys.argv[1] + "/*.eml")):
    m = email.message_from_binary_file(open(f, "rb"), policy=email.policy.default)
    if m["To"].addresses[0].addr_spec == "ann@example.com":
        print(m["List-Unsubscribe"].strip("<>"))' "$M" |
    sed "s|^https://chime.example.org|http://127.0.0.1:$HTTP_PORT|")
BAD=$(echo "$URL" | sed 's/token=\(.\)/token=X\1/; s/.$//')
OTHERACC=$(echo "$URL" | sed 's/account=default/account=acme/')
status_of() { curl -s -o "$T/page" -w '%{http_code}' "$@"; }
suppressions() {
	journal_has "[.[] | select(.kind == \"email.suppression_added\" and
	    .body.reason == \"unsubscribe\")] | length == $1"
}
check "GET shows the page with its button" sh -c \
    "[ \$(curl -s -o $T/page -w '%{http_code}' '$URL') = 200 ] &&
    grep -q '<form method=\"post\">' $T/page &&
    grep -q 'ann@example.com' $T/page"
check "a forged token is refused 400" sh -c \
    "[ \$(curl -s -o /dev/null -w '%{http_code}' -X POST -d List-Unsubscribe=One-Click '$BAD') = 400 ]"
check "ann's token for another account is refused 400" sh -c \
    "[ \$(curl -s -o /dev/null -w '%{http_code}' -X POST -d List-Unsubscribe=One-Click '$OTHERACC') = 400 ]"
check "... and nothing was written" suppressions 0
check "the one-click POST (RFC 8058) suppresses ann" sh -c \
    "[ \$(curl -s -o $T/page -w '%{http_code}' -X POST -d List-Unsubscribe=One-Click '$URL') = 200 ] &&
    grep -q 'No more reports' $T/page"
check "... journaled with reason unsubscribe" journal_has \
    '[.[] | select(.kind == "email.suppression_added" and
    .body.reason == "unsubscribe")] | length == 1 and
    .[0].body.address == "ann@example.com" and
    .[0].body.reason == "unsubscribe" and .[0].account == "default"'
check "a second POST changes nothing (idempotent)" sh -c \
    "[ \$(curl -s -o /dev/null -w '%{http_code}' -X POST -d List-Unsubscribe=One-Click '$URL') = 200 ]"
check "... no second record" suppressions 1
check "suppression.list: ann (unsubscribe), gone (bounce)" json_ok '.suppressions == [{"address": "ann@example.com",
    "reason": "unsubscribe", "at": .suppressions[0].at}, {"address":
    "gone@example.com", "reason": "bounce", "at": .suppressions[1].at}]' \
    ctlj suppression list
check "suppression.add" ctl suppression add Bob@Example.com
check "... bob added (manual)" json_ok '[.suppressions[].address] == ["ann@example.com","bob@example.com",
    "gone@example.com"] and .suppressions[1].reason == "manual"' \
    ctlj suppression list
check "suppression.add refuses a bad address" sh -c \
    "! $CHIMECTL --socket $SOCK suppression add 'x@example.com>' 2>/dev/null"
check "suppression.remove" ctl suppression remove bob@example.com
check "... bob removed" json_ok '[.suppressions[].address] == ["ann@example.com",
    "gone@example.com"]' ctlj suppression list
before_ann=$(sent_to ann@example.com)
check "the next run of weekly" ctl schedule trigger weekly
check "ann is skipped: email.suppressed" wait_for 20 journal_has \
    '[.[] | select(.kind == "email.suppressed" and
    .body.address == "ann@example.com")] | length == 1 and
    (.[0].body.error | test("unsubscribe"))'
check "bob still gets his" wait_for 20 sh -c \
    "[ \$(grep -l '^To: <bob@example.com>' $M/*.eml | wc -l) -eq 2 ]"
check "ann got nothing more" sh -c "[ $(sent_to ann@example.com) -eq $before_ann ]"

# Tenants: another account's list is not theirs to read or change.
if other_uid_ready && nb daemon status >/dev/null 2>&1; then
	check "an account for uid $OTHER_UID" ctl account create team-a \
	    --uid "$OTHER_UID"
	check "the tenant lists its own (empty) list" sh -c \
	    "$(command -v setpriv) --reuid=$OTHER_UID --regid=$OTHER_UID --clear-groups $CHIMECTL --socket $SOCK --json suppression list --account team-a | jq -e '.suppressions == []'"
	check "the tenant cannot read default's" sh -c \
	    "! $(command -v setpriv) --reuid=$OTHER_UID --regid=$OTHER_UID --clear-groups $CHIMECTL --socket $SOCK suppression list --account default"
	check "nor read default's email log" sh -c \
	    "! $(command -v setpriv) --reuid=$OTHER_UID --regid=$OTHER_UID --clear-groups $CHIMECTL --socket $SOCK email log --account default"
	check "nor lift ann's suppression there" sh -c \
	    "! $(command -v setpriv) --reuid=$OTHER_UID --regid=$OTHER_UID --clear-groups $CHIMECTL --socket $SOCK suppression remove ann@example.com --account default"
	check "... ann's suppression is still there" json_ok '[.suppressions[].address] == ["ann@example.com",
	    "gone@example.com"]' ctlj suppression list
else
	echo "(tenant checks skipped: needs root and setpriv)"
fi

check "a summary run" ctl schedule trigger plain
check "carol gets the summary" wait_for 20 sh -c \
    "[ \$(grep -l '^To: <carol@example.com>' $M/*.eml 2>/dev/null | wc -l) -eq 1 ]"
RUN2=$(ctlj schedule runs plain | jq -r '.runs[0].run_id')
check "the summary parses: escaped HTML, result.json attached" \
    "$PY" "$T/parse.py" "$M" carol@example.com summary "$RUN2" \
    "$DATA/secrets/email-unsubscribe"

check "a failing run" ctl schedule trigger broken
check "ops is told of the failure" wait_for 20 sh -c \
    "[ \$(grep -l '^To: <ops@example.com>' $M/*.eml 2>/dev/null | wc -l) -eq 1 ]"
check "a failing run of a success-only schedule" ctl schedule trigger quiet
wait_for 20 runs_with quiet failed 1
check "... sends nothing" journal_has \
    '[.[] | select(.kind | startswith("email.")) | .body |
    select(.address == "never@example.com" or
    (.recipients // [] | index("never@example.com")))] | length == 0' 

check "metrics count sent and failed" sh -c "
    curl -sf http://127.0.0.1:$HTTP_PORT/metrics >$T/metrics &&
    grep -q '^chime_emails_total{outcome=\"sent\"} 7' $T/metrics &&
    grep -q '^chime_emails_total{outcome=\"suppressed\"} 2' $T/metrics &&
    grep -q '^chime_email_unsubscribes_total{outcome=\"refused\"} 2' $T/metrics &&
    grep -q '^chime_email_unsubscribes_total{outcome=\"done\"} 2' $T/metrics &&
    grep -q '^chime_emails_total{outcome=\"failed\"} 1' $T/metrics &&
    grep -q '^chime_emails_total{outcome=\"deferred\"} 1' $T/metrics"

check "nothing is left pending" sh -c \
    "! mdb_dump -s email-pending $DATA/journal 2>/dev/null | grep -q example"
before=$(emls)
check "a clean stop (replay agrees)" stop_chimed
# shellcheck disable=SC2086
start_chimed $SMTP
check "a restart sends nothing again" sh -c \
    "[ \$(ls $M/*.eml | wc -l) -eq $before ] &&
    ! grep -q 'pending email sent again' $LOG"

check "delivery is turned off with --email-to none" ctl schedule update \
    weekly --email-to none
check "the deliver is gone" json_ok '.deliver == null' ctlj schedule get weekly
check "a deliver object over the protocol" ctl schedule update plain \
    --deliver on=failure
check "the deliver's on changed, its recipients kept" json_ok '.deliver.on == "failure" and .deliver.email_to == ["carol@example.com"]' \
    ctlj schedule get plain

# schedule.apply: a deliver is part of the configuration it compares.
echo '{"schedules": [{"name": "applied", "operation": "summary",
    "manual": true, "email_to": ["x@example.com"]}]}' >"$T/apply1.json"
echo '{"schedules": [{"name": "applied", "operation": "summary",
    "manual": true, "email_to": ["x@example.com"], "email_on": "always"}]}' \
    >"$T/apply2.json"
check "schedule.apply creates a schedule with a deliver" json_ok \
    '.created.names == ["applied"]' ctlj schedule apply -f "$T/apply1.json"
check "... the same set again is unchanged" json_ok \
    '.unchanged.names == ["applied"]' ctlj schedule apply -f "$T/apply1.json"
check "... a changed deliver is an update of \"deliver\"" json_ok \
    '.updated.fields.applied == ["deliver"]' \
    ctlj schedule apply -f "$T/apply2.json"
check "... as schedule.get shows" json_ok \
    '.deliver == {"attach_result": false, "email_to": ["x@example.com"],
    "on": "always"}' ctlj schedule get applied

# A relay that drops the connection: retried, sent once.
check "a schedule to a recipient whose first send is dropped" ctl schedule \
    create --name dropper --op summary --manual \
    --email-to dropped@example.com --email-on always
check "... triggered" ctl schedule trigger dropper
check "... its message arrives once" wait_for 30 sh -c \
    "[ \$(grep -l '^To: <dropped@example.com>' $M/*.eml 2>/dev/null |
    wc -l) -eq 1 ]"
check "... after the connection was dropped at the first attempt" sh -c \
    "grep '^dropped@example.com' $M/attempts.log | tr '\n' ' ' |
    grep -qx 'dropped@example.com 0 dropped@example.com 250 '"
check "... email.sent after 2 attempts, once" wait_for 10 journal_has \
    '[.[] | select(.kind == "email.sent" and
    .body.address == "dropped@example.com")] | length == 1 and
    .[0].body.attempts == 2 and .[0].body.code == 250'

# ---- kill -9 during deliveries to 50 recipients ---------------------------
# A relay that holds each message 150 ms; chimed killed once some are in;
# after the restart every recipient has exactly one outcome, and a
# message arrived twice only inside the crash window (accepted by the
# relay, its email.sent not yet durable: at most the sends in flight),
# with the same Message-ID.
kill "$RELAY_PID"
wait "$RELAY_PID" 2>/dev/null
M2=$T/mail2
echo '{"_delay_ms": 150}' >"$T/slow.json"
FIRST_PORT=$RPORT
smtp_relay "$M2" "$T/cert.pem" "$T/key.pem" relayuser 's3cret-Relay' \
    "$T/slow.json"
check "a clean stop" stop_chimed
SMTP=$(echo "$SMTP" | sed "s/127.0.0.1:$FIRST_PORT/127.0.0.1:$RPORT/")
# shellcheck disable=SC2086
start_chimed $SMTP
fifty=$(seq -w 1 50 | sed 's/.*/r&@example.com/' | paste -sd, -)
check "a schedule to 50 recipients" ctl schedule create --name many \
    --op summary --manual --email-to "$fifty"
m2() { ls "$M2"/*.eml 2>/dev/null | wc -l; }
check "a run" ctl schedule trigger many
check "some messages are in" wait_for 30 sh -c \
    "[ \$(ls $M2/*.eml 2>/dev/null | wc -l) -ge 6 ]"
kill_chimed
at_kill=$(m2)
check "... not all of them at the kill" sh -c "[ $at_kill -lt 50 ]"
# shellcheck disable=SC2086
start_chimed $SMTP
check "the restart sends the pending ones again" grep -q \
    'pending email sent again' "$LOG"
RUN3=$(ctlj schedule runs many | jq -r '.runs[0].run_id')
check "every recipient has exactly one outcome" wait_for 60 journal_has \
    "([.[] | select((.kind == \"email.sent\" or .kind == \"email.failed\")
    and .body.run_id == \"$RUN3\") | .body.address] | sort) ==
    ([range(1; 51)] | map(\"r\" + (if . < 10 then \"0\" else \"\" end) +
    tostring + \"@example.com\"))"
check "... all of them sent" journal_has \
    "[.[] | select(.kind == \"email.sent\" and .body.run_id ==
    \"$RUN3\")] | length == 50"
check "every recipient got the message" sh -c "
    [ \$(grep -h '^To: <r' $M2/*.eml | sort -u | wc -l) -eq 50 ]"
grep -h '^To: <r' "$M2"/*.eml | sort | uniq -d >"$T/dups"
check "duplicates only inside the crash window (at most 4 sends in flight)" \
    sh -c "[ \$(wc -l <$T/dups) -le 4 ]"
cat >"$T/sameid.py" <<'PY'
import email, email.policy, glob, sys
ids = {}
for f in glob.glob(sys.argv[1] + "/*.eml"):
    m = email.message_from_binary_file(open(f, "rb"),
        policy=email.policy.default)
    ids.setdefault(str(m["To"]), set()).add(str(m["Message-ID"]))
assert all(len(v) == 1 for v in ids.values()), ids
print(len(ids))
PY
check "a duplicate has its first copy's Message-ID" "$PY" "$T/sameid.py" "$M2"
echo "email crash: $at_kill of 50 in at the kill, $(wc -l <"$T/dups") sent twice"
check "nothing is left pending after the crash" sh -c \
    "! mdb_dump -s email-pending $DATA/journal 2>/dev/null | grep -q example"
finish
