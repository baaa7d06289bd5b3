#!/bin/sh
# chimed's configuration file (--config): settings as KEY = VALUE lines,
# the command line winning; every bad line refused with the file, the line
# and the key, and nothing started; --check-config checks the flags, the
# file and the catalog and exits 0 or 1; daemon.status says where each
# setting came from (a URL's password masked).
. "$(dirname "$0")/lib.sh"

CONF=$T/chimed.conf
cat >"$CONF" <<'CONF'
# chime's settings
; both kinds of comment line
max-running = 8
drain-timeout = 5s
watch-max = 7
http-allow = 10.0.0.0/8
http-allow = 192.168.0.0/16
checkpoint-syslog = no
checkpoint-url = https://witness:hunter2@127.0.0.1:9/ckpt
CONF

# ---- --check-config ---------------------------------------------------------
check "--check-config: a good file and the catalog" sh -c \
    "'$CHIMED' --config '$CONF' --catalog '$CATALOG' --check-config \
    >'$T/cc' && grep -qx 'configuration: $CONF' '$T/cc' && grep -q \
    '^catalog: .*catalog.json, [0-9]* operations, [0-9]* models' '$T/cc'"
check "... and nothing was made" test ! -e "$DATA"
printf '{"operations": 3}\n' >"$T/bad-catalog.json"
check_fails "--check-config: a bad catalog exits 1" 1 "$CHIMED" \
    --config "$CONF" --catalog "$T/bad-catalog.json" --check-config
check "... saying why" grep -q 'catalog' "$T/last"
check_fails "--check-config: a bad flag exits 1" 1 "$CHIMED" \
    --check-config --max-running 0
check "... naming it" grep -q -- '--max-running: expected a number' "$T/last"

# ---- bad files: every error with its line, nothing started --------------
BAD=$T/bad.conf
cat >"$BAD" <<'CONF'
max-running = 0
colour = blue
not a setting
version = yes
journal-sync = maybe
watch-max = 3
watch-max = 4
checkpoint-syslog = perhaps
[daemon]
http = 127.0.0.1:0
CONF
check_fails "a bad file: chimed exits 2" 2 "$CHIMED" --config "$BAD" \
    --data "$DATA"
check "... and makes nothing" test ! -e "$DATA"
said() { grep -qF "chimed: $BAD:$1" "$T/last" || { cat "$T/last"; return 1; }; }
check "a value out of range: file, line, key" said \
    '1: max-running: expected a number from 1 to 100000, got "0"'
check "an unknown key" said '2: colour: unknown setting'
check "a line that is no setting" said '3: not a setting: expected KEY = VALUE'
check "a flag that is no setting" said '4: version: a flag only'
check "a bad word" said '5: journal-sync: expected full, batch or none'
check "a setting given twice" said '7: watch-max: given twice (first on line 6)'
check "a flag without a value takes yes or no" said \
    '8: checkpoint-syslog: expected yes or no, got "perhaps"'
check "sections are refused" said '10: sections are not used: "[daemon]"'
check_fails "--check-config says the same, exit 1" 1 "$CHIMED" \
    --config "$BAD" --check-config
check "... all of it" said '7: watch-max: given twice'
check_fails "a missing --config file: exit 2" 2 "$CHIMED" \
    --config "$T/nothing.conf" --data "$DATA"
check "... saying so" grep -q "cannot read the configuration file $T/nothing.conf" "$T/last"
python3 -c "print('checkpoint-url = https://x/' + 'a' * 5000)" >"$T/long.conf"
check_fails "a line past 4 KiB: exit 2" 2 "$CHIMED" --config "$T/long.conf" \
    --data "$DATA"
check "... saying so" grep -q "long.conf:1: a line longer than" "$T/last"

# ---- a daemon on the file, the command line winning ----------------------
start_chimed --config "$CONF" --max-running 4
ctlj daemon status >"$T/status"
source_of() {
	jq -e --arg n "$1" --arg s "$2" \
	    '[.config.settings[] | select(.name == $n) | .source] == [$s]' \
	    "$T/status" >/dev/null || { jq -c .config "$T/status"; return 1; }
}
check "daemon.status names the file" jq -e --arg f "$CONF" \
    '.config.file == $f' "$T/status"
check "a setting of the file: its line" source_of drain-timeout "$CONF:4"
check "a setting the command line gives over the file's: command line" \
    source_of max-running "command line"
check "... with its value" jq -e '.config.settings[] |
    select(.name == "max-running") | .value == "4"' "$T/status"
check "a setting neither gives: default" source_of ui-dir default
check "a repeated setting: each line" jq -e --arg f "$CONF" \
    '[.config.settings[] | select(.name == "http-allow") |
     "\(.value) \(.source)"] ==
     ["10.0.0.0/8 \($f):6", "192.168.0.0/16 \($f):7"]' "$T/status"
check "a URL's password is masked" jq -e '.config.settings[] |
    select(.name == "checkpoint-url") |
    .value == "https://witness:***@127.0.0.1:9/ckpt"' "$T/status"
check "... and never shown" sh -c "! grep -q hunter2 '$T/status'"
check "the file's settings are in force (watch-max 7)" jq -e \
    '.config.settings[] | select(.name == "watch-max") | .value == "7"' \
    "$T/status"
# max-running: the command line's 4, not the file's 8.
ctl schedule create --name gated --op gate --manual --overlap allow >/dev/null
for i in 1 2 3 4 5 6; do
	ctl schedule trigger gated >/dev/null
done
four_run() {
	ctlj daemon status | jq -e '.runs.running == 4 and .runs.waiting == 2' \
	    >/dev/null
}
check "4 run at once and 2 wait: --max-running 4 is in force" \
    wait_for 30 four_run
touch "$T/release"
drained() { ctlj daemon status | jq -e '.runs.running == 0' >/dev/null; }
check "the runs end" wait_for 60 drained
check "chimed stops cleanly" stop_chimed
check "the URL's password never reached the log" sh -c "! grep -q hunter2 '$LOG'"
finish
