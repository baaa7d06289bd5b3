#!/bin/sh
# schedule.apply: a file of schedules keyed by name made the account's
# schedules in one record (created), applied again (unchanged, nothing
# written), changed with --prune (updated, deleted), --dry-run (the diff,
# nothing written), one bad entry (refused, named by entry and field,
# nothing changed), callers that may not act for the account (a uid, a
# token), a generated webhook secret refused; kill -9 after the answer:
# the schedules are back and fire; chime-journal verify and replay agree.
. "$(dirname "$0")/lib.sh"

seq_now() { ctlj daemon status | jq -r .journal.seq; }
names() { ctlj schedule list --account "${1:-default}" | jq -c '[.schedules[].name]'; }
applied() { "$JOURNAL" export "$DATA" | jq -s '[.[] | select(.kind == "schedule.applied")] | length'; }

# The set: N schedules of several triggers, zones and parameters; none
# fires while the test runs (cron in three months' time, manual).
N=40
month=$(( ($(date -u +%m | sed 's/^0//') + 2) % 12 + 1 ))
{
	echo '{"schedules": ['
	i=1
	while [ $i -le $N ]; do
		case $((i % 4)) in
		0) t="\"cron\": \"$((i % 60)) 3 1 $month *\", \"tz\": \"Europe/Paris\"" ;;
		1) t="\"manual\": true, \"parameters\": {\"n\": $i}" ;;
		2) t="\"cron\": \"0 $((i % 24)) 2 $month *\", \"note\": \"job $i\"" ;;
		3) t="\"manual\": true, \"overlap\": \"queue_one\", \"priority\": 7" ;;
		esac
		[ $i -gt 1 ] && echo ','
		printf '{"name": "job-%02d", "operation": "quick", %s}' "$i" "$t"
		i=$((i + 1))
	done
	echo ']}'
} > "$T/set.json"

start_chimed

# ---- created, then unchanged ---------------------------------------------
check "apply: $N schedules created in one record" json_ok \
    ".created.count == $N and .updated.count == 0 and .unchanged.count == 0
     and .deleted.count == 0 and (.seq | type) == \"number\"
     and (.created.names | length) == $N and .created.names[0] == \"job-01\"" \
    ctlj schedule apply -f "$T/set.json"
check "they are the account's schedules" json_ok \
    ".schedules | length == $N" ctlj schedule list
check "one schedule.applied record" test "$(applied)" -eq 1
s0=$(seq_now)
check "applied again: all unchanged, nothing written" json_ok \
    ".unchanged.count == $N and .created.count == 0 and .updated.count == 0
     and .seq == null" ctlj schedule apply -f "$T/set.json"
check "... the journal did not move" test "$(seq_now)" = "$s0"
check "a bare array is the same set" json_ok ".unchanged.count == $N" \
    sh -c "jq .schedules '$T/set.json' > '$T/array.json' &&
    '$CHIMECTL' --socket '$SOCK' --json schedule apply -f '$T/array.json'"

# ---- changed, dropped, pruned ---------------------------------------------
# job-02 gets another cron, job-03 leaves the set.
jq '.schedules |= (map(if .name == "job-02" then .cron = "30 4 2 '"$month"' *"
    else . end) | map(select(.name != "job-03")))' "$T/set.json" > "$T/set2.json"
before=$(ctlj schedule get job-02 | jq -c '{id, spec}')
check "dry run: the diff" json_ok \
    '.dry_run and .updated.names == ["job-02"] and .updated.fields["job-02"] == ["cron"]
     and .deleted.names == ["job-03"] and .unchanged.count == '$((N - 2))' and .seq == null' \
    ctlj schedule apply -f "$T/set2.json" --prune --dry-run
check "... nothing written" test "$(seq_now)" = "$s0"
check "... nothing changed" test "$(ctlj schedule get job-02 | jq -c '{id, spec}')" = "$before"
check "... job-03 still there" ctl schedule get job-03
check "without --prune job-03 stays" json_ok \
    '.updated.names == ["job-02"] and .deleted.count == 0' \
    ctlj schedule apply -f "$T/set2.json" --dry-run
check "apply --prune: updated and deleted" json_ok \
    '.updated.names == ["job-02"] and .deleted.names == ["job-03"]
     and .unchanged.count == '$((N - 2))' and .created.count == 0' \
    ctlj schedule apply -f "$T/set2.json" --prune
check "job-02 kept its id, with the new cron" json_ok \
    ".id == $(echo "$before" | jq .id) and .spec == \"30 4 2 $month *\"" \
    ctlj schedule get job-02
check "job-03 is gone" error_is -32001 ctlj schedule get job-03
check "$((N - 1)) schedules" json_ok ".schedules | length == $((N - 1))" \
    ctlj schedule list

# ---- one bad entry: nothing changes --------------------------------------
s1=$(seq_now)
jq '.schedules += [{"name": "new-1", "operation": "quick", "manual": true},
    {"name": "bad-1", "operation": "quick", "cron": "61 * * * *"}]
    | .schedules |= map(if .name == "job-04" then .note = "changed" else . end)' \
    "$T/set2.json" > "$T/bad.json"
ctlj schedule apply -f "$T/bad.json" --prune >/dev/null 2>"$T/err.json"
check "a bad cron: refused, named by entry and field" jq -e \
    '.code == -32602 and .data.field == "schedules.bad-1.cron"
     and .data.name == "bad-1" and (.message | contains("bad-1"))' "$T/err.json"
check "... nothing written" test "$(seq_now)" = "$s1"
check "... new-1 was not created" error_is -32001 ctlj schedule get new-1
check "... job-04 was not changed" json_ok '.note == null' ctlj schedule get job-04
jq '.schedules += [{"name": "bad-2", "operation": "quick", "manual": true, "colour": "red"}]' \
    "$T/set2.json" > "$T/bad2.json"
check "an unknown field is refused by name" sh -c "'$CHIMECTL' --socket '$SOCK' \
    --json schedule apply -f '$T/bad2.json' 2>&1 >/dev/null |
    jq -e '.data.field == \"schedules.bad-2.colour\"'"
jq '.schedules += [{"name": "bad-3", "operation": "nosuch", "manual": true}]' \
    "$T/set2.json" > "$T/bad3.json"
check "an unknown operation is refused by name" sh -c "'$CHIMECTL' --socket '$SOCK' \
    --json schedule apply -f '$T/bad3.json' 2>&1 >/dev/null |
    jq -e '.data.field == \"schedules.bad-3.operation\"'"
echo '{"schedules": {"hook": {"operation": "quick", "webhook": true,
    "webhook_secret": "generated"}}}' > "$T/hook.json"
check "a new generated webhook secret is refused" sh -c "'$CHIMECTL' --socket \
    '$SOCK' --json schedule apply -f '$T/hook.json' 2>&1 >/dev/null |
    jq -e '.data.field == \"schedules.hook.webhook_secret\"'"
echo '[{"name": "a", "operation": "quick", "manual": true},
    {"name": "a", "operation": "quick", "manual": true}]' > "$T/dup.json"
check_fails "a name twice in the file" 2 ctl schedule apply -f "$T/dup.json"
check "... still nothing written" test "$(seq_now)" = "$s1"

# ---- a large set: made on every core, checked in the set's order --------
# 300 entries (sets of 256 or more are made on more than one core; those
# naming a delivery or a secret on the loop): the first refusal in name
# order is the one told, a field's or a name's, whichever core made it.
big_set() {	# big_set JQ-EDIT > FILE: p-1000 .. p-1299, then the edit
	jq -n "{schedules: [range(300) | {name: \"p-\\(. + 1000)\",
	    operation: \"quick\", manual: true}]} | $1"
}
s2=$(seq_now)
big_set '.schedules[150].cron = "61 * * * *" | del(.schedules[150].manual)
    | .schedules += [{name: "p-1200~", operation: "quick", manual: true}]' \
    > "$T/p1.json"
check "300 entries, a bad cron before a bad name: the cron is told" sh -c \
    "'$CHIMECTL' --socket '$SOCK' --json schedule apply -f '$T/p1.json' 2>&1 \
    >/dev/null | jq -e '.data.field == \"schedules.p-1150.cron\"'"
big_set '.schedules += [{name: "p-1200~", operation: "quick", manual: true}]' \
    > "$T/p2.json"
check "... the bad name alone is told" sh -c "'$CHIMECTL' --socket '$SOCK' \
    --json schedule apply -f '$T/p2.json' 2>&1 >/dev/null |
    jq -e '.data.field == \"schedules.p-1200~\" and .data.name == \"p-1200~\"'"
big_set '.schedules[250] += {webhook: true, webhook_secret: "generated"}
    | del(.schedules[250].manual) | .schedules[270].cron = "61 * * * *"
    | del(.schedules[270].manual)' > "$T/p3.json"
check "... an entry made on the loop (a secret) before a bad cron: told" \
    sh -c "'$CHIMECTL' --socket '$SOCK' --json schedule apply -f '$T/p3.json' \
    2>&1 >/dev/null | jq -e '.data.field == \"schedules.p-1250.webhook_secret\"'"
check "... nothing written" test "$(seq_now)" = "$s2"
check "... p-1000 was not created" error_is -32001 ctlj schedule get p-1000
check "account par" ctl account create par
big_set '.schedules |= [.[] | if (.name | ltrimstr("p-") | tonumber) % 3 == 0
    then .paused = true else . end | if (.name | ltrimstr("p-") | tonumber)
    % 7 == 0 then .email_to = ["none"] else . end]' > "$T/p4.json"
check "300 created, some paused, some made on the loop" json_ok \
    '.created.count == 300 and (.seq | type) == "number"' \
    ctlj schedule apply -f "$T/p4.json" --account par
check "... the paused ones are paused, the rest active" json_ok \
    '[.schedules[] | select(.name | startswith("p-"))] | length == 300 and
     all(.[]; .state == (if (.name | ltrimstr("p-") | tonumber) % 3 == 0
     then "paused" else "active" end))' \
    ctlj schedule list --account par
check "... their record lists them in id order, each paused one so" sh -c \
    "'$JOURNAL' export '$DATA' | jq -e -s '[.[] | select(.kind == \"schedule.applied\" and .account == \"par\")] | length == 1 and (.[0].body.created | (map(.id) | . == sort) and length == 300 and all(.[]; (.state == \"paused\") == ((.name | ltrimstr(\"p-\") | tonumber) % 3 == 0)))' >/dev/null"
big_set '.schedules |= [.[] | if (.name | ltrimstr("p-") | tonumber) % 10 == 0
    then .note = "changed" else . end | if (.name | ltrimstr("p-") | tonumber)
    % 3 == 0 then .paused = true else . end | if (.name | ltrimstr("p-")
    | tonumber) % 7 == 0 then .email_to = ["none"] else . end]' > "$T/p5.json"
check "... 30 changed: updated, the rest unchanged" json_ok \
    '.updated.count == 30 and .unchanged.count == 270 and .created.count == 0
     and (.updated.names | all(ltrimstr("p-") | tonumber % 10 == 0))' \
    ctlj schedule apply -f "$T/p5.json" --account par
check "... p-1010 has the note" json_ok '.note == "changed"' \
    ctlj schedule get p-1010 --account par

# ---- who may apply --------------------------------------------------------
check "admin creates account acme" ctl account create acme
ctlj token create acmew --account acme --scope write > "$T/tok.json"
tok=$(jq -r .token "$T/tok.json")
secret_used "$tok"
body='{"jsonrpc":"2.0","id":1,"method":"schedule.apply","params":{"schedules":{"t1":{"operation":"quick","manual":true}}'
check "acme's token applies to acme" sh -c "'$(command -v curl)' -s --max-time 20 \
    -H 'Authorization: Bearer $tok' --data-binary '$body}}' \
    http://127.0.0.1:$HTTP_PORT/v1/rpc | jq -e '.result.account == \"acme\"
    and .result.created.names == [\"t1\"]'"
check "acme's token cannot apply to default" sh -c "'$(command -v curl)' -s \
    --max-time 20 -H 'Authorization: Bearer $tok' \
    --data-binary '$body,\"account\":\"default\"}}' \
    http://127.0.0.1:$HTTP_PORT/v1/rpc | jq -e '.error.code == -32003'"
check "... default has no t1" error_is -32001 ctlj schedule get t1
if other_uid_ready && nb daemon status >/dev/null 2>&1; then
	ctl account create team-a --uid "$OTHER_UID" >/dev/null
	check "uid $OTHER_UID cannot apply to default" error_is -32003 \
	    as_other "$CHIMECTL" --socket "$SOCK" --json schedule apply \
	    -f "$T/set2.json"
	check "uid $OTHER_UID applies to team-a" json_ok \
	    ".account == \"team-a\" and .created.count == $((N - 1))" \
	    as_other "$CHIMECTL" --socket "$SOCK" --json schedule apply \
	    -f "$T/set2.json" --account team-a
	check "... default is as it was" json_ok \
	    ".schedules | length == $((N - 1))" ctlj schedule list --account default
else
	echo "NOTE: the checks as another uid need root and setpriv"
fi

# ---- a set past the default request line (1 MiB) ------------------------
jq -n '{schedules: [range(9000) | {name: "big-\(.)", operation: "quick",
    manual: true, note: ("n" * 100)}]}' > "$T/big.json"
check_fails "a set of $(wc -c < "$T/big.json") bytes is refused by default" 1 \
    ctl schedule apply -f "$T/big.json" --dry-run
check "... as a request too large" grep -q "request too large" "$T/last"

# ---- kill -9 after the answer: back, and firing -------------------------
echo '{"schedules": {"tick": {"operation": "quick", "interval": "1s"}}}' \
    > "$T/tick.json"
check "tick created (no prune: the rest stays)" json_ok \
    '.created.names == ["tick"] and .deleted.count == 0' \
    ctlj schedule apply -f "$T/tick.json"
kill_chimed
start_chimed --ctl-max-request 4194304
check "with --ctl-max-request 4194304 the big set is taken (dry run)" \
    json_ok '.created.count == 9000 and .seq == null' \
    ctlj schedule apply -f "$T/big.json" --dry-run
check "account big" ctl account create big
check "... the big set applied there for real (rows packed on another core)" \
    json_ok '.created.count == 9000 and (.seq | type) == "number"' \
    ctlj schedule apply -f "$T/big.json" --account big
check "... its record lists the 9000 in id order, each with its row" sh -c \
    "'$JOURNAL' export '$DATA' | jq -e -s '[.[] | select(.kind == \"schedule.applied\" and .account == \"big\")] | length == 1 and (.[0].body.created | map(.id) as \$i | (\$i | length) == 9000 and \$i == (\$i | sort) and (\$i | unique | length) == 9000 and all(.[]; .account == \"big\" and .note == (\"n\" * 100)))' >/dev/null"
check "after kill -9: every schedule is back" json_ok \
    ".schedules | length == $N" ctlj schedule list --account default
check "... job-02 with its new cron" json_ok ".spec == \"30 4 2 $month *\"" \
    ctlj schedule get job-02
check "... the set applies unchanged" json_ok \
    ".unchanged.count == $((N - 1)) and .created.count == 0 and .seq == null" \
    ctlj schedule apply -f "$T/set2.json"
tick=$(ctlj schedule get tick | jq -r .id)
check "tick fires" wait_for 20 runs_with "$tick" success 1
check "SIGTERM" stop_chimed
start_chimed
check "after a restart: still $N" json_ok ".schedules | length == $N" \
    ctlj schedule list --account default
check "... and big's first and last" json_ok '.name == "big-0"' \
    ctlj schedule get big-0 --account big
check "..." json_ok '.name == "big-8999"' ctlj schedule get big-8999 --account big
check "SIGTERM again" stop_chimed
check "chime-journal verify" "$JOURNAL" verify "$DATA"
check "export has the applied records" test "$(applied)" -ge 3
finish
