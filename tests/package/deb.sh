#!/bin/sh
# tests/package/deb.sh [TARBALL]: the Debian package, end to end, on this
# machine.  Builds it from a clean copy of the sources (TARBALL, a make
# dist chime-VERSION.tar.gz; without one, the files git tracks or would
# track in this tree), checks it with lintian, installs it with apt-get,
# starts the installed /usr/sbin/chimed as the chime user with the
# installed /etc/chime/chimed.conf, drives it with the installed
# /usr/bin/chimectl, stops it, reinstalls, removes and purges the package
# and checks what is left: the journal and the chime user only
# (doc/operations.md, "From the Debian package").  Then installs and
# purges once more without starting chimed: nothing is left but the user.
#
# Needs root, apt and a machine it may install packages on: not part of
# make check (.ci/run runs it).  It refuses to run where chime is
# installed or left anything (it deletes the chime user and /var/lib/chime
# at the end, which must be its own).  One "PASS: deb: ..." or
# "FAIL: deb: ..." line per check; exit 1 if any failed.
set -u
S=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/chime-deb.XXXXXX")
FAILED=0
CHIMED_PID=
STATE=/var/lib/chime
CONF=/etc/chime
export DEBIAN_FRONTEND=noninteractive
# chimectl finds the installed daemon's socket as an operator's would:
# with no setting, from a directory without ./var/chime.
unset CHIME_SOCKET CHIME_DATA
[ $# -eq 0 ] || set -- "$(realpath "$1")"
cd /

# apt-get waits for another apt or dpkg that holds the lock.
apt_get() { apt-get -y -q -o DPkg::Lock::Timeout=600 "$@"; }

pass() { echo "PASS: deb: $1"; }
fail() { echo "FAIL: deb: $1${2:+ ($2)}"; FAILED=1; }

# check NAME CMD...: the command must succeed (its output, when it does
# not, on the FAIL line).
check() {
	name=$1
	shift
	if "$@" >"$T/out" 2>&1; then
		pass "$name"
	else
		fail "$name" "$(head -c 400 "$T/out" | tr '\n' ' ')"
	fi
}

# wait_for SECONDS CMD...: until the command succeeds, at most SECONDS.
wait_for() {
	limit=$1
	shift
	end=$(($(date +%s) + limit))
	while ! "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

installed() {
	dpkg-query -W -f='${Status}\n' chime 2>/dev/null |
	    grep -q ' installed$'
}

# forget_all: what this script made on the system goes (the preflight
# made sure none of it was there before).
forget_all() {
	if dpkg-query -W chime >/dev/null 2>&1; then
		apt_get purge chime >>"$T/apt.log" 2>&1
	fi
	rm -rf "$STATE"
	if getent passwd chime >/dev/null; then
		userdel chime
	fi
	if getent group chime >/dev/null; then
		groupdel chime
	fi
}

cleanup() {
	status=$?
	if [ -n "$CHIMED_PID" ] && kill -0 "$CHIMED_PID" 2>/dev/null; then
		kill -9 "$CHIMED_PID"
		wait "$CHIMED_PID" 2>/dev/null
	fi
	[ "${PREFLIGHT_OK:-0}" = 1 ] && forget_all
	if [ "$FAILED" -ne 0 ]; then
		for f in build.log lintian.out apt.log chimed.log; do
			[ -s "$T/$f" ] || continue
			echo "---- $f (last lines) ----"
			tail -n 40 "$T/$f"
		done
	fi
	rm -rf "$T"
	[ "$FAILED" -eq 0 ] || status=1
	exit "$status"
}
trap cleanup EXIT
trap 'exit 2' INT TERM

# --- preflight ---------------------------------------------------------
if [ "$(id -u)" -ne 0 ]; then
	fail "runs as root" "it installs and purges the package"
	exit 1
fi
left=""
dpkg-query -W chime >/dev/null 2>&1 && left="$left the package,"
getent passwd chime >/dev/null && left="$left the chime user,"
getent group chime >/dev/null && left="$left the chime group,"
[ -e "$STATE" ] && left="$left $STATE,"
[ -e "$CONF" ] && left="$left $CONF,"
if [ -n "$left" ]; then
	fail "a machine without chime" "found$left; to start again:" \
	    "apt-get purge chime; rm -rf $STATE; userdel chime"
	exit 1
fi
PREFLIGHT_OK=1

# --- build -------------------------------------------------------------
if [ $# -gt 0 ]; then
	tar -xzf "$1" -C "$T"
	SRC=$(find "$T" -mindepth 1 -maxdepth 1 -type d -name 'chime-*')
else
	SRC=$T/chime
	mkdir "$SRC"
	# A tracked file that make distclean deleted is left out (the build
	# makes it again).
	(cd "$S" && git ls-files -z --cached --others --exclude-standard |
	    tar -cf - --ignore-failed-read --null -T -) | tar -xf - -C "$SRC"
fi
check "the clean copy has debian/" test -x "$SRC/debian/rules"
# The build's packages (debian/control) and lintian; the lists once more
# if they are stale.
if ! apt_get build-dep "$SRC" >"$T/apt.log" 2>&1 ||
    ! apt_get install --no-install-recommends lintian >>"$T/apt.log" 2>&1
then
	{
		apt-get update -qq
		apt_get build-dep "$SRC"
		apt_get install --no-install-recommends lintian
	} >>"$T/apt.log" 2>&1
fi
VERSION=$(cd "$SRC" && dpkg-parsechangelog -S Version)
ARCH=$(dpkg --print-architecture)
DEB=$T/chime_${VERSION}_$ARCH.deb
DBG=$T/chime-dbgsym_${VERSION}_$ARCH.deb
CHANGES=$T/chime_${VERSION}_$ARCH.changes
(cd "$SRC" && dpkg-buildpackage -b -us -uc) >"$T/build.log" 2>&1
check "dpkg-buildpackage -b builds chime_${VERSION}_$ARCH.deb" test -s "$DEB"
check "and chime-dbgsym_${VERSION}_$ARCH.deb" test -s "$DBG"
if [ ! -s "$DEB" ]; then
	exit 1
fi
echo "chime_${VERSION}_$ARCH.deb: $(stat -c %s "$DEB") bytes," \
    "chime-dbgsym: $(stat -c %s "$DBG") bytes"
# No error or warning; each override in debian/*.lintian-overrides says
# why.  A second run prints the tags, the overridden ones too (O:):
# --show-overrides alone turns lintian's exit status into 2.
lintian --info --display-info --fail-on error,warning "$CHANGES" \
    >"$T/lintian.out" 2>&1
lintian_rc=$?
lintian --display-info --show-overrides "$CHANGES" 2>&1 |
    grep -E '^[EWIPO]: ' | sed 's/^/lintian: /'
if [ "$lintian_rc" -eq 0 ]; then
	pass "lintian: no error, no warning"
else
	fail "lintian: no error, no warning" "exit $lintian_rc: $(grep -E \
	    '^[EW]: ' "$T/lintian.out" | head -n 5 | tr '\n' ' ')"
fi

# --- install -----------------------------------------------------------
check "apt-get install ./chime_${VERSION}_$ARCH.deb" \
    apt_get install "$DEB"
dpkg -L chime | sort >"$T/files"
chime_user() {
	getent passwd chime | awk -F: -v home="$STATE" '
	    $6 == home && $7 ~ /nologin$/ { ok = 1 } END { exit !ok }'
}
check "the chime user: home $STATE, no login shell" chime_user
check "$STATE made by tmpfiles.d: chime's, 0711" \
    test "$(stat -c '%U:%G %a' "$STATE" 2>&1)" = "chime:chime 711"
check "chimed.conf and catalog.json are conffiles" sh -c \
    "dpkg-query -W -f='\${Conffiles}\n' chime | grep -q ' $CONF/chimed.conf ' &&
     dpkg-query -W -f='\${Conffiles}\n' chime | grep -q ' $CONF/catalog.json '"
check "the units are installed" test -f /lib/systemd/system/chimed.service \
    -a -f /lib/systemd/system/chimed.socket
check "and not enabled" test "$(systemctl is-enabled chimed.service \
    2>&1)$(systemctl is-enabled chimed.socket 2>&1)" = disableddisabled
check "the unit's ExecStartPre: chimed --check-config as chime" sh -c \
    "setpriv --reuid=chime --regid=chime --init-groups -- \
    /usr/sbin/chimed --check-config --data $STATE 2>&1 |
    grep -qx 'configuration: $CONF/chimed.conf'"

# --- run the installed chimed, as the unit would -----------------------
# No systemd here (most likely): chimed as chime, as ExecStart= starts it,
# its configuration the installed one.
setpriv --reuid=chime --regid=chime --init-groups -- \
    /usr/sbin/chimed --data "$STATE" >"$T/chimed.log" 2>&1 &
CHIMED_PID=$!
check "the installed chimed starts" wait_for 30 chimectl daemon status
check "it runs as chime" test "$(ps -o user= -p "$CHIMED_PID")" = chime
chimectl --json daemon status >"$T/status.json" 2>&1
check "it read $CONF/chimed.conf and its catalog" jq -se \
    ".[0].config.file == \"$CONF/chimed.conf\" and
     .[0].catalog.source == \"$CONF/catalog.json\"" "$T/status.json"
check "it serves libjs-chart.js's Chart.js to the dashboard" sh -c \
    "curl -fsS http://127.0.0.1:8470/ui/vendor/chart.js |
    cmp -s - /usr/share/javascript/chart.js/chart.min.js"
check "chimectl account create" chimectl account create pkg --uid 0
check "chimectl schedule create" chimectl schedule create --name pkg-run \
    --op email-classify --manual --param folder=inbox --account pkg
check "chimectl schedule trigger" chimectl schedule trigger pkg-run \
    --account pkg
runs_ok() {
	chimectl --json schedule runs pkg-run --account pkg |
	    jq -se '[.[0].runs[] | select(.status == "success")] | length >= 1'
}
check "the run succeeds" wait_for 30 runs_ok
check "chime-journal verify $STATE" chime-journal verify "$STATE"
kill -TERM "$CHIMED_PID"
wait "$CHIMED_PID"
rc=$?
CHIMED_PID=
check "chimed stops on SIGTERM (exit 0)" test "$rc" -eq 0

# --- reinstall, remove, purge ------------------------------------------
echo "# edited by tests/package/deb.sh" >>"$CONF/chimed.conf"
check "apt-get install --reinstall" apt_get install --reinstall "$DEB"
check "which keeps an edited chimed.conf" \
    grep -qx "# edited by tests/package/deb.sh" "$CONF/chimed.conf"
check "apt-get remove" apt_get remove chime
check "which removes the programs" test ! -e /usr/sbin/chimed \
    -a ! -e /usr/bin/chimectl -a ! -e /lib/systemd/system/chimed.service
check "and keeps the conffiles" test -f "$CONF/chimed.conf" \
    -a -f "$CONF/catalog.json"
check "apt-get purge" apt_get purge chime
check "dpkg forgets chime" sh -c '! dpkg-query -W chime'
# Every path of dpkg -L is gone, but for directories other packages
# share (/usr/bin, /lib/systemd/system, ...).
leftovers() {
	while read -r f; do
		[ "$f" != /. ] || continue
		[ -e "$f" ] || [ -L "$f" ] || continue
		if [ -d "$f" ] && dpkg -S "$f" >/dev/null 2>&1
		then
			continue
		fi
		echo "$f"
	done <"$T/files"
}
no_leftovers() {
	left=$(leftovers)
	[ -z "$left" ] || { echo "left: $(echo "$left" | tr '\n' ' ')"; return 1; }
}
check "no file or directory of the package is left" no_leftovers
check "$CONF is gone" test ! -e "$CONF"
check "no process of chime is left" sh -c '! pgrep -u chime'
check "the journal in $STATE is kept" test -s "$STATE/journal/data.mdb"
check "the chime user is kept" getent passwd chime

# --- install and purge, never started ----------------------------------
forget_all
check "apt-get install, a second time" apt_get install "$DEB"
check "apt-get purge at once" apt_get purge chime
check "leaves no $STATE (nothing was written in it)" test ! -e "$STATE"
check "and no $CONF" test ! -e "$CONF"
check "nor a file of the package" no_leftovers
