#!/bin/sh
# The supervisor files as make install writes them: the systemd unit
# passes systemd-analyze verify and its sandbox rates "OK" or better in
# systemd-analyze security; the sysusers.d entry makes the chime user and
# group, the tmpfiles.d entry the state and configuration directories
# with their modes (in a scratch root); the runit run script parses and
# runs the installed chimed as chime.  make install and make uninstall
# leave nothing behind.  Skipped (77) where systemd's tools are missing.
. "$(dirname "$0")/lib.sh"

for tool in systemd-analyze systemd-sysusers systemd-tmpfiles; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "SKIP: $tool is not installed"
		trap - EXIT
		rm -rf "$T"
		exit 77
	fi
done
ROOT="$T/root"
check "make install into a scratch root" make -C "$B" install \
    DESTDIR="$ROOT"
UNIT=$(find "$ROOT" -name chimed.service | head -n 1)
check "... the unit is installed" test -f "$UNIT"
SBIN=$(sed -n 's|^ExecStart=\([^ ]*\) .*|\1|p' "$UNIT")
check "... naming the installed chimed" test -x "$ROOT$SBIN"
# verify wants the binary where the unit says: this build's, in a copy
sed -e "s|^ExecStart=[^ ]*|ExecStart=$B/chimed|" \
    -e "s|^ExecStartPre=[^ ]*|ExecStartPre=$B/chimed|" "$UNIT" \
    >"$T/chimed.service"
check "systemd-analyze verify: no complaint" sh -c \
    "systemd-analyze verify --man=no '$T/chimed.service' >'$T/verify' 2>&1 &&
    [ ! -s '$T/verify' ]"
check "systemd-analyze security: exposure OK or better" sh -c \
    "systemd-analyze security --offline=yes '$T/chimed.service' |
    grep -Eq 'Overall exposure level for chimed.service: [0-9.]+ (OK|SAFE)'"
check "... Type=notify with the watchdog, drained on stop" sh -c \
    "grep -qx 'Type=notify' '$UNIT' && grep -q '^WatchdogSec=' '$UNIT' &&
    grep -qx 'KillMode=mixed' '$UNIT'"
SYSUSERS=$(find "$ROOT" -path '*sysusers.d/chime.conf' | head -n 1)
TMPFILES=$(find "$ROOT" -path '*tmpfiles.d/chime.conf' | head -n 1)
mkdir -p "$T/sys/etc"
check "sysusers.d: the chime user and group" sh -c \
    "systemd-sysusers --root='$T/sys' '$SYSUSERS' >/dev/null 2>&1 &&
    grep -q '^chime:x:[0-9]*:[0-9]*:.*:/var/lib/chime:' '$T/sys/etc/passwd' &&
    grep -q '^chime:x:' '$T/sys/etc/group'"
check "tmpfiles.d: /var/lib/chime 0711 and /etc/chime 0755" sh -c \
    "systemd-tmpfiles --root='$T/sys' --create '$TMPFILES' >/dev/null 2>&1 &&
    [ \"\$(stat -c %a '$T/sys/var/lib/chime')\" = 711 ] &&
    [ \"\$(stat -c %a '$T/sys/etc/chime')\" = 755 ]"
RUN=$(find "$ROOT" -path '*runit/chimed/run' | head -n 1)
check "runit: the run script parses" sh -n "$RUN"
check "... and runs the installed chimed as chime" grep -q \
    "chpst -u chime:chime $SBIN " "$RUN"
check "... the installed catalog is the example" cmp \
    "$S/contrib/catalog.example.json" \
    "$(find "$ROOT" -path '*etc/chime/catalog.json' | head -n 1)"
CONF=$(find "$ROOT" -path '*etc/chime/chimed.conf' | head -n 1)
check "... and chimed.conf, naming the installed catalog" grep -qx \
    "catalog = $(dirname "${CONF#"$ROOT"}")/catalog.json" "$CONF"
check "... which chimed --check-config accepts" sh -c \
    "'$B/chimed' --config '$CONF' --catalog '$S/contrib/catalog.example.json' \
    --check-config >/dev/null"
check "the unit checks the configuration before it starts" grep -q \
    "^ExecStartPre=$SBIN --check-config" "$UNIT"
echo "max-running = 4" >>"$CONF"
check "make uninstall" make -C "$B" uninstall DESTDIR="$ROOT"
check "... keeps an edited chimed.conf" test -f "$CONF"
rm -f "$CONF"
rmdir "$(dirname "$CONF")"
check "... leaves no file behind" sh -c "[ -z \"\$(find '$ROOT' -type f)\" ]"
finish
