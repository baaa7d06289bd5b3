#!/bin/sh
# Secret references that touch the host (env:, file:, exec:) are an admin's
# to give: a tenant (a uid granted an account) is refused before anything is
# read or run, also with --dry-run, in schedule.update, schedule.estimate
# and webhook.rotate, and may use "generated" secrets only.  An admin's
# exec: command runs in a child the loop watches: the daemon answers other
# requests while the command runs.
#
# The tenant is uid 65534 (nobody), run with setpriv, so the test needs root
# (it is skipped otherwise); it reaches the daemon's default socket.
. "$(dirname "$0")/lib.sh"

if ! other_uid_ready; then
	echo "SKIP: needs root and setpriv to act as uid $OTHER_UID"
	exit 77
fi
mkdir -p "$T/bin"

# nb_refused ARGS...: as the tenant, the command is answered -32003 on the
# secret's field, and the answer says nothing of the host.
nb_refused() {
	nb --json "$@" >"$T/nb.out" 2>"$T/nb.err"
	# (jq 1.6 -e passes on empty input: the answer must be there)
	[ -s "$T/nb.err" ] && jq -e '.code == -32003 and (.data.field == "webhook_secret" or
	    .data.field == "secret")' "$T/nb.err" >/dev/null &&
	    ! grep -Eqi 'no such file|mode 0|permission|exists' "$T/nb.err"
}

# A command that, run with the daemon's rights, would leave a trace.
cat >"$T/bin/trace" <<EOF
#!/bin/sh
touch "$T/pwned.\$1"
echo whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
EOF
chmod 755 "$T/bin/trace"
# A secret command that waits until $T/go exists.
SLOW=whsec_$(head -c 32 /dev/urandom | base64 | tr -d '\n')
cat >"$T/bin/slow-secret" <<EOF
#!/bin/sh
while [ ! -e "$T/go" ]; do sleep 0.05; done
echo $SLOW
EOF
chmod 700 "$T/bin/slow-secret"
secret_used "$SLOW"
secret_used whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
# A root-only file, and the secret of another account's schedule.
printf 'root-only-secret\n' >"$T/root-only"
chmod 600 "$T/root-only"
secret_used root-only-secret

start_chimed
if ! nb daemon status >/dev/null 2>&1; then
	echo "SKIP: uid $OTHER_UID cannot run $CHIMECTL (build directory not reachable)"
	exit 77
fi
check "admin creates team-a for uid $OTHER_UID" ctl account create team-a --uid "$OTHER_UID"
check "admin makes a schedule with a generated secret in default" \
    ctl schedule create --name other --op quick --webhook --webhook-secret generated
other=$(ctlj schedule get other | jq -r .id)

# ---- the tenant -------------------------------------------------------------
check "exec: at create is refused" nb_refused schedule create --name a \
    --op quick --webhook --webhook-secret "exec:$T/bin/trace create" --account team-a
check "exec: with --dry-run is refused" nb_refused schedule create --name a \
    --op quick --webhook --webhook-secret "exec:$T/bin/trace dry" --account team-a --dry-run
check "exec: in schedule.estimate is refused" nb_refused schedule estimate \
    --op quick --webhook --webhook-secret "exec:$T/bin/trace estimate" --account team-a
check "file: of a root-only file is refused" nb_refused schedule create --name a \
    --op quick --webhook --webhook-secret "file:$T/root-only" --account team-a
check "file: of another account's generated secret is refused" nb_refused \
    schedule create --name a --op quick --webhook \
    --webhook-secret "file:$DATA/secrets/$other" --account team-a
check "file: of a missing path says nothing of it" nb_refused schedule create \
    --name a --op quick --webhook --webhook-secret "file:/no/such/path" --account team-a
check "env: is refused" nb_refused schedule create --name a --op quick \
    --webhook --webhook-secret env:HOME --account team-a
check "a generated secret is the tenant's to make" nb schedule create --name mine \
    --op quick --webhook --webhook-secret generated --account team-a
mine=$(nb --json schedule get mine --account team-a | jq -r .id)
check "exec: in schedule.update is refused" nb_refused schedule update "$mine" \
    --webhook-secret "exec:$T/bin/trace update"
check "exec: in webhook.rotate is refused" nb_refused webhook rotate "$mine" \
    --reason test --secret "exec:$T/bin/trace rotate"
check "file: in webhook.rotate is refused" nb_refused webhook rotate "$mine" \
    --reason test --secret "file:$T/root-only"
check "the tenant rotates to a new generated secret" nb webhook rotate "$mine" \
    --reason test
check "nothing ran with the daemon's rights" sh -c "! ls '$T'/pwned.* >/dev/null 2>&1"
check "the tenant's schedule kept a generated secret" sh -c \
    "$CHIMECTL --socket $SOCK --json schedule get '$mine' | jq -e '.webhook_secret_ref | startswith(\"generated:\")'"
check "no refused schedule was created" sh -c \
    "$CHIMECTL --socket $SOCK --json schedule list --account team-a | jq -e '[.schedules[].name] == [\"mine\"]'"

# ---- the admin --------------------------------------------------------------
check "an admin's exec: reference works" ctl schedule create --name adm \
    --op quick --webhook --webhook-secret "exec:$T/bin/trace admin"
check "its command ran" test -e "$T/pwned.admin"
ctlj schedule create --name slow --op quick --webhook \
    --webhook-secret "exec:$T/bin/slow-secret" >"$T/slow.out" 2>&1 &
slow=$!
check "the slow command has started" wait_for 20 pgrep -f "$T/bin/slow-secret"
check "the daemon answers while the command runs" ctl daemon status
check "the create still waits for its secret" kill -0 "$slow"
touch "$T/go"
wait "$slow"
check "the create ends once the command ended" jq -e '.name == "slow"' "$T/slow.out"
check "drain" stop_chimed
finish
