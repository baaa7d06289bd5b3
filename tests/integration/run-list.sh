#!/bin/sh
# run.list: the runs of an account across its schedules and batches,
# newest first; the status, operation and model filters; pages with a
# cursor that cross from schedules to batches; bad parameters refused by
# name; an account's runs invisible to a tenant of another; the index
# (runs-by-time) rebuilt from the runs table for a journal without it,
# and a damaged index row named by replay.
#
# The tenant part acts as uid 65534 with setpriv (as list.sh does);
# without root it is left out, with a note.
. "$(dirname "$0")/lib.sh"
TAMPER=$B/tests/chime-test-tamper

OTHER=65534
SOCKDIR=$T/sock
SOCK=$SOCKDIR/chime.sock
export CHIME_SOCKET=$SOCK
mkdir -p "$SOCKDIR"
start_chimed --socket "$SOCK"

# ids ARGS...: the run ids run.list answers, on one line.
ids() { ctlj run list "$@" | jq -r '[.runs[].run_id] | join(" ")'; }
# list_jq FILTER ARGS...: the --json list passes jq -e FILTER.
list_jq() {
	f=$1
	shift
	out=$(ctlj run list "$@") || return 1
	printf '%s\n' "$out" | jq -e "$f" >/dev/null
}
# field_error FIELD ARGS...: the list is refused -32602 naming FIELD.
field_error() {
	f=$1
	shift
	[ "$(ctlj run list "$@" 2>&1 >/dev/null |
	    jq -r '"\(.code) \(.data.field)"')" = "-32602 $f" ]
}
# list_code CODE ARGS...: the list is refused with error CODE.
list_code() {
	c=$1
	shift
	[ "$(ctlj run list "$@" 2>&1 >/dev/null | jq -r .code)" = "$c" ]
}
# settled N: every run of the account has ended, and there are N.
settled() {
	ctlj run list --limit 1000 "$@" | jq -e --argjson n "$N" \
	    '(.runs | length) == $n and all(.runs[];
	    .status != "pending" and .status != "running")' >/dev/null
}
# pages LIMIT ARGS...: every run id, page by page, following next_cursor.
pages() {
	lim=$1
	shift
	cur=
	all=
	while :; do
		out=$(ctlj run list --limit "$lim" ${cur:+--cursor "$cur"} "$@") ||
		    return 1
		all="$all $(printf %s "$out" | jq -r '[.runs[].run_id] | join(" ")')"
		cur=$(printf %s "$out" | jq -r '.next_cursor // empty')
		[ -n "$cur" ] || break
	done
	echo $all
}
# pages_are WANT LIMIT ARGS...: pages LIMIT ARGS... is WANT.
pages_are() {
	want=$1
	shift
	got=$(pages "$@")
	[ "$got" = "$want" ] || { echo "got \"$got\""; return 1; }
}
# is WANT ARGS...: ids ARGS... is WANT.
is() {
	want=$1
	shift
	got=$(ids "$@")
	[ "$got" = "$want" ] || { echo "got \"$got\""; return 1; }
}

check "no runs yet: an empty list" list_jq \
    '.runs == [] and .truncated == false and .next_cursor == null'

# Runs of two schedules and a batch, one after the other so that each is
# made after the one before: quick (success), fail (failed), cheap (quick
# priced with cheap-model), then a batch of quick and fail.
ctl prefs set cheap --op quick --model cheap-model >/dev/null 2>&1
ctl schedule create --name ok --op quick --manual >/dev/null ||
    fail "create ok"
ctl schedule create --name bad --op fail --manual >/dev/null ||
    fail "create bad"
# trig NAME: trigger NAME, wait for its run to end, print its id.
trig() {
	r=$(ctlj schedule trigger "$1" | jq -r .run_id) || return 1
	wait_for 20 sh -c "$CHIMECTL --socket $SOCK --json run get $r |
	    jq -e '.status != \"pending\" and .status != \"running\"' >/dev/null"
	echo "$r"
}
R1=$(trig ok)
R2=$(trig bad)
R3=$(trig ok)
R4=$(trig bad)
R5=$(trig ok)
N=5
cat >"$T/batch.json" <<EOF
{"name": "mixed", "type": "sequential", "operations": [
 {"id": "a", "operation": "quick"}, {"id": "b", "operation": "fail"},
 {"id": "c", "operation": "quick"}]}
EOF
B=$(ctlj batch create -f "$T/batch.json" | jq -r .id) || fail "batch create"
N=$((N + 3))
check "every run ended" wait_for 30 settled
check "newest first across schedules and the batch" \
    is "$B:3 $B:2 $B:1 $R5 $R4 $R3 $R2 $R1"
check "rows say their owner, kind and name" list_jq \
    '[.runs[] | "\(.owner)/\(.owner_name)"] == ["batch/mixed",
    "batch/mixed", "batch/mixed", "schedule/ok", "schedule/bad",
    "schedule/ok", "schedule/bad", "schedule/ok"]'
# (run.get adds the run's email deliveries, which run.list leaves out)
check "rows are run.get's rows" sh -c "[ \"\$($CHIMECTL --socket $SOCK \
    --json run list | jq -c '.runs[3] | del(.owner, .owner_name)')\" = \
    \"\$($CHIMECTL --socket $SOCK --json run get $R5 |
    jq -c 'del(.deliveries)')\" ]"

# ---- filters --------------------------------------------------------------
check "--status failed" is "$B:2 $R4 $R2" --status failed
check "--status success" is "$B:3 $B:1 $R5 $R3 $R1" --status success
check "--op fail" is "$B:2 $R4 $R2" --op fail
check "--op quick --status failed: none" is "" --op quick --status failed
check "--model test-model" list_jq \
    '(.runs | length) > 0 and all(.runs[]; .model == "test-model")' \
    --model test-model
check "--model nosuch: none" is "" --model nosuch
check "--account default is the same list" \
    is "$B:3 $B:2 $B:1 $R5 $R4 $R3 $R2 $R1" --account default

# ---- pages ----------------------------------------------------------------
check "a page: limit, truncated and next_cursor" list_jq \
    '([.runs[].run_id] == ["'"$B:3"'", "'"$B:2"'"]) and .truncated and
    (.next_cursor | type) == "string"' --limit 2
check "pages of 3 cross from the batch to the schedules" \
    pages_are "$B:3 $B:2 $B:1 $R5 $R4 $R3 $R2 $R1" 3
check "pages of 1" pages_are "$B:3 $B:2 $B:1 $R5 $R4 $R3 $R2 $R1" 1
check "pages of 1 through a filter" pages_are "$B:2 $R4 $R2" 1 --status failed
check "the last page has no cursor" list_jq \
    '.truncated == false and .next_cursor == null' --limit 8
cur=$(ctlj run list --limit 4 | jq -r .next_cursor)
check "a cursor still works once the runs before it are gone" \
    ctl batch delete "$B"
check "the next page starts after it" is "$R4 $R3 $R2 $R1" --cursor "$cur"
check "a deleted batch's runs are gone from the list" \
    is "$R5 $R4 $R3 $R2 $R1"
N=5

# ---- bad parameters -------------------------------------------------------
check_fails "a bad status is refused" 1 ctl run list --status sleeping
check "-32602 naming status" field_error status --status sleeping
check "a cursor that is not one: -32602 naming it" field_error cursor \
    --cursor nonsense
check "a cursor with a slash in its run key: -32602" field_error cursor \
    --cursor 0000000000000001/a/b:1
check "limit 0: -32602 naming it" field_error limit --limit 0
check "limit 1001: -32602 naming it" field_error limit --limit 1001
check "an empty operation: -32602 naming it" field_error operation --op ''
check "an unknown account is -32001" list_code -32001 --account nosuch
check "the refusals wrote nothing" is "$R5 $R4 $R3 $R2 $R1"

# ---- the table ------------------------------------------------------------
ctl run list >"$T/table"
check "the table's head" grep -q '^RUN_ID  *OWNER_NAME  *OPERATION' "$T/table"
check "a failed run's error in its row" grep -q "^$R4 .* failed " "$T/table"
check "chimectl help names run list" sh -c \
    "$CHIMECTL help | grep -q 'run list'"

# ---- the index from the runs table, and replay ----------------------------
before=$(ctlj run list | jq -c .runs)
stop_chimed || fail "stop"
check "forget the index (a journal from before it)" \
    "$TAMPER" "$DATA/journal" forget-table runs-by-time
start_chimed --socket "$SOCK"
check "it is built again at start" grep -q 'msg="run index built' "$LOG"
check "the same list from it" sh -c "[ \"\$($CHIMECTL --socket $SOCK \
    --json run list | jq -c .runs)\" = '$before' ]"
check "a second start builds nothing" sh -c \
    "[ \$(grep -c 'msg=\"run index built' $LOG) = 1 ]"
stop_chimed || fail "stop after the rebuild"
key=$(mdb_dump -p -s runs-by-time "$DATA/journal" | sed -n 's/^ \(default\/.*\)/\1/p' | head -1)
check "replay finds the index as the log makes it" replay_check
check "a damaged index row" "$TAMPER" "$DATA/journal" row runs-by-time "$key"
check_fails "replay names it" 1 sh -c \
    "$JOURNAL replay $DATA --into $T/rb >$T/replay.out"
check "by table and key" grep -q "differs: table runs-by-time, key $key" \
    "$T/replay.out"
REPLAY=0
start_chimed --socket "$SOCK"

# ---- a tenant --------------------------------------------------------------
if ! other_uid_ready; then
	echo "NOTE: the tenant checks need root and setpriv; left out"
	finish
fi
chgrp "$OTHER" "$SOCKDIR" "$SOCK"
chmod 750 "$SOCKDIR"
nbj() {
	as_other "$CHIMECTL" --socket "$SOCK" --json "$@"
}
if ! nbj daemon status >/dev/null 2>&1; then
	echo "NOTE: uid $OTHER cannot run $CHIMECTL; the tenant checks are left out"
	finish
fi
check "team-a for uid $OTHER" ctl account create team-a --uid "$OTHER"
ctl schedule create --name mine --op quick --manual --account team-a \
    >/dev/null || fail "create team-a/mine"
T1=$(ctlj schedule trigger mine --account team-a | jq -r .run_id)
check "team-a's run ends" wait_for 20 sh -c "$CHIMECTL --socket $SOCK \
    --json run get $T1 | jq -e '.status == \"success\"' >/dev/null"
# nb_jq FILTER ARGS...: as uid 65534, the list passes jq -e FILTER.
nb_jq() {
	f=$1
	shift
	out=$(nbj run list "$@") || return 1
	printf '%s\n' "$out" | jq -e "$f" >/dev/null
}
check "the tenant's list holds only team-a's run" nb_jq \
    '[.runs[].run_id] == ["'"$T1"'"]'
check "and a filter that matches default's too" nb_jq \
    '[.runs[].run_id] == ["'"$T1"'"]' --op quick
check "and a cursor from default's runs" nb_jq \
    '[.runs[].run_id] == []' --cursor "$cur"
nb_code() {
	c=$1
	shift
	[ "$(nbj run list "$@" 2>&1 >/dev/null | jq -r .code)" = "$c" ]
}
check "naming default is refused: -32003" nb_code -32003 \
    --account default
check "the admin sees both accounts, with each run's account" list_jq \
    '[.runs[] | "\(.account)/\(.run_id)"] == ["team-a/'"$T1"'",
    "default/'"$R5"'"]' --limit 2
finish
