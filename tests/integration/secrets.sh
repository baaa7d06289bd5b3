#!/bin/sh
# Every kind of secret reference end to end through a webhook schedule:
# env:NAME, file:PATH (0600 accepted, 0640 and 0644 refused), exec:COMMAND
# (run once, then cached) and generated (0600 under a 0700 DATA/secrets/,
# shown once).  Then the leak check finds none of them in the journal, the
# data directory outside secrets/ or the log, and a self-test shows that
# the check does find a secret planted where it must not be.
# The signer is openssl (lib.sh), independent of the daemon's code.
. "$(dirname "$0")/lib.sh"

# deliver SCHEDULE ID SECRET: the status of a delivery signed now with
# SECRET; the answer in $T/body.
deliver() {
	ts=$(date +%s)
	post "$1" "$2" "$ts" "$(sign "$2" "$ts" "$BODY" "$(hexkey "$3")")" \
	    "$BODY"
}

# delivered SCHEDULE ID SECRET: a delivery is accepted (202) and its run
# succeeds.
delivered() {
	[ "$(deliver "$1" "$2" "$3")" = 202 ] || return 1
	run=$(jq -r .run_id "$T/body")
	wait_for 20 run_is "$run" success
}

# create NAME REF: a webhook schedule with secret reference REF; the
# answer in $T/create.NAME, its id printed.
create() {
	ctlj schedule create --name "$1" --operation quick --webhook \
	    --webhook-secret "$2" >"$T/create.$1" 2>&1
	jq -r .id "$T/create.$1"
}

# random_whsec: a fresh whsec_ secret of 32 random bytes.
random_whsec() {
	printf 'whsec_%s' "$(head -c 32 /dev/urandom | base64 | tr -d '\n')"
}

# mode PATH: its permission bits in octal.
mode() {
	stat -c %a "$1"
}

BODY='{"event":"secrets"}'
mkdir -p "$T/keys" "$T/bin"

# env: the variable is the daemon's, so it is set before the start.
ENV_SECRET=$(random_whsec)
secret_used "$ENV_SECRET"
export CHIME_TEST_HOOK_SECRET="$ENV_SECRET"

# file: one readable by its owner only, two that let others in.
FILE_SECRET=$(random_whsec)
OPEN_SECRET=$(random_whsec)
WORLD_SECRET=$(random_whsec)
secret_used "$FILE_SECRET" "$OPEN_SECRET" "$WORLD_SECRET"
printf '%s\n' "$FILE_SECRET" >"$T/keys/hook.key"
chmod 600 "$T/keys/hook.key"
printf '%s\n' "$OPEN_SECRET" >"$T/keys/group.key"
chmod 640 "$T/keys/group.key"
printf '%s\n' "$WORLD_SECRET" >"$T/keys/world.key"
chmod 644 "$T/keys/world.key"

# exec: a bare base64 (not whsec_) secret from a command that counts its
# runs and also writes the secret to its standard error, which must go
# nowhere.
EXEC_SECRET=$(head -c 24 /dev/urandom | base64 | tr -d '\n')
secret_used "$EXEC_SECRET"
cat >"$T/bin/hook-secret" <<EOF
#!/bin/sh
echo "\$1" >>"$T/exec.count"
echo "$EXEC_SECRET" >&2
echo "$EXEC_SECRET"
EOF
chmod 700 "$T/bin/hook-secret"

start_chimed

# A note with a decoy string, for the self-test of the journal search.
DECOY=decoy-$(head -c 16 /dev/urandom | od -An -v -tx1 | tr -d ' \n')
printf '%s\n' "$DECOY" >"$T/decoy.grep"
ctl schedule create --name decoy --operation quick --manual \
    --note "not a secret: $DECOY" >/dev/null

# env:NAME
EID=$(create env "env:CHIME_TEST_HOOK_SECRET")
check "env: a schedule is created" jq -e \
    '.webhook_secret_ref == "env:CHIME_TEST_HOOK_SECRET" and
    .webhook_secret == null' "$T/create.env"
check "env: a delivery signed with it runs" delivered "$EID" msg_env \
    "$ENV_SECRET"
check "env: one signed with another secret is refused" test \
    "$(deliver "$EID" msg_env2 "$FILE_SECRET")" = 401
check_fails "env: an unset variable is refused at create" 1 ctl schedule \
    create --name unset --operation quick --webhook \
    --webhook-secret env:CHIME_TEST_NO_SUCH_SECRET
check "env: the error says it is not set" grep -q \
    "env:CHIME_TEST_NO_SUCH_SECRET: not set" "$T/last"

# file:PATH
FID=$(create file "file:$T/keys/hook.key")
check "file: a schedule is created" jq -e \
    ".webhook_secret_ref == \"file:$T/keys/hook.key\"" "$T/create.file"
check "file: mode 0600 is accepted: a delivery runs" delivered "$FID" \
    msg_file "$FILE_SECRET"
check_fails "file: mode 0640 is refused at create" 1 ctl schedule create \
    --name group --operation quick --webhook \
    --webhook-secret "file:$T/keys/group.key"
check "file: the error says why (0640)" grep -q "file:$T/keys/group.key: \
mode 0640 lets the group or others in (chmod 600 it)" "$T/last"
check_fails "file: mode 0644 is refused at create" 1 ctl schedule create \
    --name world --operation quick --webhook \
    --webhook-secret "file:$T/keys/world.key"
check "file: the error says why (0644)" grep -q "file:$T/keys/world.key: \
mode 0644 lets the group or others in (chmod 600 it)" "$T/last"
check_fails "file: a missing file is refused at create" 1 ctl schedule \
    create --name missing --operation quick --webhook \
    --webhook-secret "file:$T/keys/none.key"
chmod 600 "$T/keys/group.key"
GROUP_ID=$(create group "file:$T/keys/group.key")
check "file: once chmod 600, the same file is accepted" delivered \
    "$GROUP_ID" msg_group "$OPEN_SECRET"
# Checked again at each delivery: a file opened up later is refused.
chmod 640 "$T/keys/group.key"
check "file: opened up after create: 503" test \
    "$(deliver "$GROUP_ID" msg_group2 "$OPEN_SECRET")" = 503
check "file: the log says why (0640)" grep -q "schedule=$GROUP_ID .*secret \
file:$T/keys/group.key: mode 0640 lets the group or others in (chmod 600 it)" \
    "$LOG"
mv "$T/keys/group.key" "$T/keys/group.moved"
check "file: removed after create: 503" test \
    "$(deliver "$GROUP_ID" msg_group3 "$OPEN_SECRET")" = 503

# exec:COMMAND
XID=$(create exec "exec:$T/bin/hook-secret hook")
check "exec: a schedule is created" jq -e \
    ".webhook_secret_ref == \"exec:$T/bin/hook-secret hook\"" \
    "$T/create.exec"
check "exec: a delivery signed with its output runs" delivered "$XID" \
    msg_exec "$EXEC_SECRET"
check "exec: a second delivery runs" delivered "$XID" msg_exec2 \
    "$EXEC_SECRET"
check "exec: the command ran once, with its argument (cached)" test \
    "$(cat "$T/exec.count")" = hook
check_fails "exec: a failing command is refused at create" 1 ctl schedule \
    create --name false --operation quick --webhook \
    --webhook-secret exec:/bin/false
check "exec: the error gives its status" grep -q \
    "exec:/bin/false: exited with status 1" "$T/last"

# generated
GEN=$(create gen generated)
GEN_SECRET=$(jq -r .webhook_secret "$T/create.gen")
secret_used "$GEN_SECRET"
check "generated: the create answer shows it once" sh -c \
    "printf '%s' '$GEN_SECRET' | grep -Eq '^whsec_[A-Za-z0-9+/]{43}=$'"
check "generated: the row refers to it" jq -e \
    ".webhook_secret_ref == \"generated:$GEN\"" "$T/create.gen"
check "generated: kept in DATA/secrets/ID, mode 0600" test \
    "$(mode "$DATA/secrets/$GEN")" = 600
check "generated: DATA/secrets has mode 0700" test \
    "$(mode "$DATA/secrets")" = 700
check "generated: the file holds it" grep -qxF "$GEN_SECRET" \
    "$DATA/secrets/$GEN"
ctlj schedule get "$GEN" >"$T/get.gen"
check "generated: get does not show it" jq -e '.webhook_secret == null' \
    "$T/get.gen"
ctlj schedule list >"$T/list"
check "generated: neither get nor list holds it" sh -c \
    "! grep -qF '${GEN_SECRET#whsec_}' '$T/get.gen' '$T/list'"
check "generated: a delivery signed with it runs" delivered "$GEN" \
    msg_gen "$GEN_SECRET"

export_journal
check "the journal holds the references" jq -se "[.[] |
    select(.kind == \"schedule.created\") | .body.webhook_secret_ref] |
    index(\"env:CHIME_TEST_HOOK_SECRET\") and
    index(\"file:$T/keys/hook.key\") and index(\"generated:$GEN\") and
    index(\"exec:$T/bin/hook-secret hook\")" "$T/export.jsonl"
check "the daemon stops" stop_chimed

# The real check, now that the log is complete; finish will not repeat it.
leak_check

# Self-test: leak_scan must find what is planted where it must not be,
# return non-zero and name the file without stopping the test or marking
# it failed.
printf 'text %s text\n' "${FILE_SECRET#whsec_}" >"$DATA/planted.txt"
failed_before=$FAILED
leak_scan >"$T/scan" 2>&1
scan_rc=$?
failed_after=$FAILED
check "self-test: a planted whsec_ body is found" test "$scan_rc" -ne 0
check "self-test: finding it did not mark the test failed" test \
    "$failed_after" -eq "$failed_before"
check "self-test: the report names the file, and only it" test \
    "$(cat "$T/scan")" = "$DATA/planted.txt"
check "self-test: the report does not hold the secret" sh -c \
    "! grep -qF '${FILE_SECRET#whsec_}' '$T/scan'"
rm -f "$DATA/planted.txt"

{ printf 'bin\000'; hexkey "$GEN_SECRET"; printf '\000\001'; } \
    >"$DATA/planted.bin"
leak_scan >"$T/scan" 2>&1
check "self-test: the key in hex in a binary file is found" test $? -ne 0
check "self-test: that report names the binary file" test \
    "$(cat "$T/scan")" = "$DATA/planted.bin"
rm -f "$DATA/planted.bin"

printf '%s\n' "$EXEC_SECRET" >"$DATA/secrets/planted"
chmod 600 "$DATA/secrets/planted"
check "self-test: DATA/secrets/ is not searched" leak_scan
rm -f "$DATA/secrets/planted"

printf 'level=debug secret=%s\n' "$ENV_SECRET" >"$T/other.log"
leak_scan "$DATA" "$T/other.log" >"$T/scan" 2>&1
check "self-test: a secret in the log is found" test $? -ne 0
check "self-test: that report names the log" test \
    "$(cat "$T/scan")" = "$T/other.log"

leak_scan "$DATA" "$LOG" "$T/decoy.grep" >"$T/scan" 2>&1
check "self-test: a string in the journal is found" test $? -ne 0
check "self-test: in the export and in the LMDB file" sh -c \
    "grep -qx 'journal export' '$T/scan' &&
    grep -qx '$DATA/journal/data.mdb' '$T/scan'"

lines=$(wc -l <"$SECRETS_USED")
secret_used shortsecret >"$T/short"
check "self-test: a value under 12 characters is refused, with a note" \
    grep -q 'NOTE: secret_used: a value of 11 characters is ignored' \
    "$T/short"
check "self-test: and not looked for" test \
    "$(wc -l <"$SECRETS_USED")" -eq "$lines"

check "self-test: the data directory is clean again" leak_scan
finish
