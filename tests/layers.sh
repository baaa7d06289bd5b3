#!/bin/sh
# The layering rule (doc/HACKING.md): each folder includes only the
# headers of the layers below it.
#
#	engine/   engine.h
#	journal/  engine.h journal.h   (journal/main*.c, chime-journal's
#	          main, also actors.h, for replay's fold)
#	actors/   engine.h journal.h actors.h
#	ctl/      engine.h ctl.h   (ctl/client.c, chimectl's main, also
#	          actors.h, for the offline cron evaluator)
#	daemon/   anything
#
# One "PASS: ..." or "FAIL: ..." line per folder; the script fails if any
# include breaks the rule.
set -u
S=${CHIME_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
FAILED=0

# allowed FOLDER HEADERS...: every "..." include in FOLDER is one of them.
allowed() {
	dir=$1
	shift
	bad=$(cd "$S" && grep -n '^#include "' "$dir"/*.c "$dir"/*.h 2>/dev/null |
	    while IFS= read -r line; do
		h=${line##*#include \"}
		h=${h%%\"*}
		ok=0
		for a in "$@"; do
			[ "$h" = "$a" ] && ok=1
		done
		[ $ok -eq 1 ] || printf '%s\n' "$line"
	done)
	if [ -n "$bad" ]; then
		echo "FAIL: $dir/ includes only $*"
		printf '%s\n' "$bad" | sed 's/^/  /'
		FAILED=1
	else
		echo "PASS: $dir/ includes only $*"
	fi
}

allowed engine engine.h
# chime-journal's main (journal/main*.c) may use replay's fold of actors/.
bad=$(cd "$S" && grep -n '^#include "' journal/*.c journal/*.h | grep -v \
    -e '"engine.h"' -e '"journal.h"' |
    grep -v '^journal/main[^/]*\.c:[0-9]*:#include "actors.h"')
if [ -n "$bad" ]; then
	echo "FAIL: journal/ includes only engine.h journal.h"
	printf '  %s\n' "$bad"
	FAILED=1
else
	echo "PASS: journal/ includes only engine.h journal.h (chime-journal: actors.h)"
fi
allowed actors engine.h journal.h actors.h
# chimectl's main may use the cron evaluator of actors/.
bad=$(cd "$S" && grep -n '^#include "' ctl/*.c ctl/*.h | grep -v \
    -e '"engine.h"' -e '"ctl.h"' | grep -v '^ctl/client.c:[0-9]*:#include "actors.h"')
if [ -n "$bad" ]; then
	echo "FAIL: ctl/ includes only engine.h and ctl.h"
	printf '  %s\n' "$bad"
	FAILED=1
else
	echo "PASS: ctl/ includes only engine.h and ctl.h (chimectl: actors.h)"
fi
# The domain never answers a transport: no HTTP request (daemon/hooks.c
# is the webhooks' edge), no control request (actors answer a struct reply).
bad=$(cd "$S" && grep -n -E -e '<event2/(http|keyvalq)' \
    -e '\b(evhttp_|httpd_|ctl_|CTL_)' actors/*.c actors/*.h)
if [ -n "$bad" ]; then
	echo "FAIL: actors/ answers no transport"
	printf '  %s\n' "$bad"
	FAILED=1
else
	echo "PASS: actors/ answers no transport"
fi

# Within actors/, modules in an order (doc/HACKING.md, "The layers"): the
# run life cycle reaches schedules and batches only through the kinds
# they register (struct schedule_kind, struct owner_kind), schedules reach
# batches only so, and only webhook.c sees deliveries.  Replay's fold
# (replay*.c) sits on top: it may call every module, and none calls it.  A file calls no
# function that a file of a later module defines.
base=$(cd "$S" && ls actors/*.c | grep -v -E -e '/(dispatch|run-cycle|recover|webhook)\.c$' -e '/(schedule|batch|replay)[^/]*\.c$')
run="actors/dispatch.c actors/run-cycle.c actors/recover.c"
sched=$(cd "$S" && ls actors/schedule*.c)
batch=$(cd "$S" && ls actors/batch*.c)
hook="actors/webhook.c"
# defined FILES...: the functions the files define and export (a name at
# the start of a line, its type on the line before, not static), as an ERE
# alternation.
defined() {
	(cd "$S" && awk '/^[a-z_][a-z_0-9]*\(/ && prev !~ /^static/ {
		sub(/\(.*/, ""); print } { prev = $0 }' "$@") |
	    sort -u | paste -s -d '|' -
}
# order NAME "LOWER FILES" "LATER FILES": no call from the first to the second.
order() {
	names=$(defined $3)
	bad=$(cd "$S" && grep -n -E "(^|[^a-z_0-9])($names)\(" $2 | grep -v -E ':[0-9]+:($names)\(')
	if [ -n "$bad" ]; then
		echo "FAIL: $1"
		printf '%s\n' "$bad" | sed 's/^/  /'
		FAILED=1
	else
		echo "PASS: $1"
	fi
}
order "actors/ below the run life cycle calls none of it or above" \
    "$base" "$run $sched $batch $hook"
order "the run life cycle calls no schedule, batch or delivery code" \
    "$run" "$sched $batch $hook"
order "schedules call no batch or delivery code" "$sched" "$batch $hook"
order "batches call no delivery code" "$batch" "$hook"
replay=$(cd "$S" && ls actors/replay*.c)
order "no module of actors/ calls replay's fold" \
    "$base $run $sched $batch $hook" "$replay"
exit $FAILED
