#!/bin/sh
# The layering rule (doc/HACKING.md): each folder includes only the
# headers of the layers below it.
#
#	engine/   engine.h
#	journal/  engine.h journal.h
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
allowed journal engine.h journal.h
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
exit $FAILED
