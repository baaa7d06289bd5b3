#!/bin/sh
# schedule.list: natural order, the state, operation and name filters,
# pages with a cursor, a table that fits 100 columns unless --wide, and a
# tenant's list that holds only its accounts' schedules, whatever the
# filters and the cursor say.
#
# The tenant part acts as uid 65534 with setpriv (as accounts.sh does);
# without root it is left out, with a note.
. "$(dirname "$0")/lib.sh"

OTHER=65534
SOCKDIR=$T/sock
SOCK=$SOCKDIR/chime.sock
export CHIME_SOCKET=$SOCK
mkdir -p "$SOCKDIR"
start_chimed --socket "$SOCK"

# names ARGS...: the names schedule.list answers, on one line.
names() { ctlj schedule list "$@" | jq -r '[.schedules[].name] | join(" ")'; }
# is WANT ARGS...: names ARGS... is WANT.
is() {
	want=$1
	shift
	got=$(names "$@")
	[ "$got" = "$want" ] || { echo "got \"$got\""; return 1; }
}
# list_jq FILTER ARGS...: the --json list answers and passes jq -e FILTER.
list_jq() {
	f=$1
	shift
	out=$(ctlj schedule list "$@") || return 1
	printf '%s\n' "$out" | jq -e "$f" >/dev/null
}
# field_error FIELD ARGS...: the list is refused -32602 naming FIELD.
field_error() {
	f=$1
	shift
	[ "$(ctlj schedule list "$@" 2>&1 >/dev/null |
	    jq -r '"\(.code) \(.data.field)"')" = "-32602 $f" ]
}

for n in job10 job2 job1 Job3 alpha; do
	ctl schedule create --name "$n" --op quick --every 1h >/dev/null ||
	    fail "create $n"
done
ctl schedule create --name beta --op fail --manual >/dev/null
ctl schedule create --name gamma --op quick --cron "0 7 * * 1-5" \
    --tz America/Argentina/Buenos_Aires --paused >/dev/null
ctl schedule pause job2 >/dev/null

check "natural order: job2 before job10, case aside" \
    is "alpha beta gamma job1 job2 Job3 job10"
check "--state paused" is "gamma job2" --state paused
check "--state active" is "alpha beta job1 Job3 job10" --state active
check "--op" is "beta" --op fail
check "--name GLOB" is "job1 job2 job10" --name 'job*'
check "--name with a class" is "job1 job2" --name 'job[0-9]'
check "filters together" is "job1 job10" --name 'job*' --op quick --state active
check "a filter that matches nothing" is "" --name 'zz*'

# ---- pages ----------------------------------------------------------------
check "a page: limit, truncated and next_cursor" list_jq \
    '([.schedules[].name] == ["alpha", "beta", "gamma"]) and .truncated and .next_cursor == "default/gamma"' \
    --limit 3
# pages LIMIT ARGS...: every name, page by page, following next_cursor.
pages() {
	lim=$1
	shift
	cur=
	all=
	while :; do
		out=$(ctlj schedule list --limit "$lim" ${cur:+--cursor "$cur"} "$@") ||
		    return 1
		all="$all $(printf %s "$out" | jq -r '[.schedules[].name] | join(" ")')"
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
check "pages of 2 make the whole list, in order" \
    pages_are "alpha beta gamma job1 job2 Job3 job10" 2
check "pages of 1 through a filter" pages_are "job1 job2 job10" 1 --name 'job*'
check "the last page has no cursor" list_jq \
    '.truncated == false and has("next_cursor") and .next_cursor == null' \
    --limit 7
# ---- sorts ----------------------------------------------------------------
check "--sort state: active, then paused; names within" \
    is "alpha beta job1 Job3 job10 gamma job2" --sort state
check "--sort -state: the whole order reversed" \
    is "job2 gamma job10 Job3 job1 beta alpha" --sort -state
check "--sort operation" is "beta alpha gamma job1 job2 Job3 job10" \
    --sort operation
check "--sort cost_month: all equal, so by name" \
    is "alpha beta gamma job1 job2 Job3 job10" --sort cost_month
# The next fires in the order listed: instants rising, none last.
check "--sort next_fire: soonest first, none last" list_jq \
    '[.schedules[].next_fire] | (map(select(. != null)) | . == sort) and
     (.[0:4] | all(. != null)) and (.[4:] | all(. == null))' \
    --sort next_fire
check "pages of 2 under --sort next_fire make the same list" \
    pages_are "$(names --sort next_fire)" 2 --sort next_fire
check "pages of 3 under --sort -state" \
    pages_are "job2 gamma job10 Job3 job1 beta alpha" 3 --sort -state
check "a sorted page's cursor names its sort" list_jq \
    '.next_cursor == "-state:paused:default/gamma"' --sort -state --limit 2
check "a cursor of another sort: -32602 naming cursor" field_error cursor \
    --sort state --cursor default/gamma
check "a name cursor under a sort: -32602" field_error cursor \
    --sort next_fire --cursor "-state:paused:default/gamma"
check "an unknown sort: -32602 naming sort" field_error sort --sort colour
ctl schedule trigger beta >/dev/null
beta_ended() {
	ctlj schedule list --name beta --last-run | jq -e \
	    '.schedules[0].last_run.status == "failed"' >/dev/null
}
check "--last-run: the newest run's status" wait_for 30 beta_ended
last_is_runs() {
	ctlj schedule list --name beta --last-run | jq -e --argjson r \
	    "$(ctlj schedule runs beta --limit 1 | jq '.runs[0]')" \
	    '.schedules[0].last_run | .run_id == $r.run_id and
	     .error == $r.error and .error != null and
	     .finished == $r.finished' >/dev/null
}
check "... its id and error, as schedule.runs has them" last_is_runs
check "... null for a schedule never run" list_jq \
    '.schedules[0] | has("last_run") and .last_run == null' \
    --name alpha --last-run
check "... and left out unless asked" list_jq \
    '.schedules[0] | has("last_run") | not' --name alpha
# last_fire is the newest timed occurrence (a manual run is not one).
ctl schedule create --name tick --op quick --every 1s >/dev/null
ticked() {
	ctlj schedule get tick | jq -e '.last_fire != null' >/dev/null
}
check "a schedule every second fires" wait_for 30 ticked
check "--sort -last_fire: the one that fired first in the list" list_jq \
    '.schedules[0].name == "tick"' --sort -last_fire
check "--sort last_fire: ... last, after those never fired" list_jq \
    '.schedules[-1].name == "tick" and
     ([.schedules[:-1][].last_fire] | all(. == null))' --sort last_fire
ctl schedule delete tick >/dev/null

cur=$(ctlj schedule list --limit 4 | jq -r .next_cursor)
check "a cursor still works once its schedule is gone" ctl schedule delete job1
check "the next page starts after it" is "job2 Job3 job10" --cursor "$cur"
check_fails "a bad state is refused" 1 ctl schedule list --state sleeping
check "-32602 naming state" field_error state --state sleeping
check "a cursor that is not one: -32602 naming it" field_error cursor --cursor nonsense
check "an empty glob: -32602 naming name" field_error name --name ''
check "limit 0: -32602 naming it" field_error limit --limit 0
# list_code CODE ARGS...: the list is refused with error CODE.
list_code() {
	c=$1
	shift
	[ "$(ctlj schedule list "$@" 2>&1 >/dev/null | jq -r .code)" = "$c" ]
}
check "an unknown account is -32001" list_code -32001 --account nosuch

# ---- the table ------------------------------------------------------------
ctl schedule create --name a-schedule-name-long-enough-to-push-the-table-past-its-width \
    --op quick --cron "0 7 * * 1-5" --tz America/Argentina/Buenos_Aires >/dev/null
ctl schedule list >"$T/table"
# fits FILE: no line of FILE is wider than 100 characters (UTF-8).
fits() {
	python3 -c 'import sys
sys.exit(any(len(l.rstrip("\n")) > 100 for l in open(sys.argv[1], encoding="utf-8")))' "$1"
}
check "the table fits in 100 columns" fits "$T/table"
ctl schedule list --wide >"$T/wide"
not_fits() { ! fits "$1"; }
check "it would not at full width" not_fits "$T/wide"
check "a long name is cut with an ellipsis" grep -q "^s_[a-z0-9]*  a-schedule-name.*…" "$T/table"
check "--wide shows it whole, with zones and accounts" \
    sh -c "$CHIMECTL --socket $SOCK schedule list --wide | grep 'a-schedule-name-long-enough-to-push-the-table-past-its-width  default .*America/Argentina/Buenos_Aires'"
check "chimectl --wide works as well" \
    sh -c "$CHIMECTL --socket $SOCK --wide schedule ls | grep -q '^ID .* ACCOUNT .* TZ '"

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
for n in job3 job20 other; do
	ctl schedule create --name "$n" --op quick --every 1h --account team-a \
	    >/dev/null || fail "create team-a/$n"
done
# nb_jq FILTER ARGS...: as uid 65534, the list passes jq -e FILTER.
nb_jq() {
	f=$1
	shift
	out=$(nbj schedule list "$@") || return 1
	printf '%s\n' "$out" | jq -e "$f" >/dev/null
}
check "the tenant's list holds only team-a's" nb_jq \
    '[.schedules[] | "\(.account)/\(.name)"] == ["team-a/job3", "team-a/job20", "team-a/other"]'
check "and so does a filter that matches default's too" nb_jq \
    '[.schedules[].name] == ["job3", "job20"]' --name 'job*'
check "and a cursor into default's names" nb_jq \
    '([.schedules[].name] == ["job3"]) and .next_cursor == "team-a/job3"' \
    --cursor default/alpha --limit 1
check "the tenant pages on through its own" nb_jq \
    '[.schedules[].name] == ["job20", "other"]' --cursor team-a/job3
check "the tenant's --state filter stays in team-a" nb_jq \
    '.schedules == []' --state paused
check "the admin still sees both accounts" list_jq \
    '[.schedules[] | "\(.account)/\(.name)"] == ["default/job2", "team-a/job20"]' \
    --name 'job2*'
finish
