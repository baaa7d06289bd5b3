#!/bin/sh
# Accounts isolate their users: a second uid granted the account "team-a"
# can use team-a's schedules and nothing of "default"; it cannot create or
# change accounts; revoking it takes everything away again.
#
# The second uid is 65534 (nobody), run with setpriv, so the test needs root
# (it is skipped otherwise).  It reaches the daemon's default socket (0666
# in a 0711 data directory; see socket-perms.sh) once $T (0700 from mktemp)
# may be passed.
# Reaching the socket only lets a process speak the protocol; what it may
# do is decided by the daemon from its uid, which is what this test checks.
. "$(dirname "$0")/lib.sh"

OTHER=$OTHER_UID
if ! other_uid_ready; then
	echo "SKIP: needs root and setpriv to act as uid $OTHER"
	exit 77
fi

nbj() { nb --json "$@"; }

start_chimed
if ! nb daemon status >/dev/null 2>&1; then
	echo "SKIP: uid $OTHER cannot run $CHIMECTL (build directory not reachable)"
	exit 77
fi

# ---- set up, as admin (root) ----------------------------------------------
check "admin creates team-a for uid $OTHER" ctl account create team-a --uid "$OTHER"
check "admin creates a schedule in default" ctl schedule create --name secret \
    --op quick --manual --note "default's own"
secret=$(ctlj schedule get secret | jq -r .id)
check "admin triggers it once" ctl schedule trigger secret
check "its run succeeds" wait_for 20 runs_with "$secret" success 1
check "admin lists both accounts" json_ok '[.accounts[].name] == ["default", "team-a"]' ctlj account list
check "a duplicate account is a conflict" error_is -32002 ctlj account create team-a
check "an unknown account is not found" error_is -32001 ctlj account grant nosuch --uid 1

# ---- what the other uid may do --------------------------------------------
check "uid $OTHER sees only team-a in account.list" json_ok '[.accounts[].name] == ["team-a"]' nbj account list
check "uid $OTHER reads team-a" nb account get team-a
check "uid $OTHER creates a schedule in team-a" nb schedule create \
    --name mine --op quick --manual --account team-a
mine=$(nbj schedule get mine --account team-a | jq -r .id)
check "uid $OTHER gets it by name" test -n "$mine"
check "uid $OTHER lists team-a's schedules" json_ok '[.schedules[].name] == ["mine"]' nbj schedule list --account team-a
check "uid $OTHER's unscoped list holds only team-a's" json_ok '[.schedules[].account] | unique == ["team-a"]' nbj schedule list
check "uid $OTHER triggers its schedule" nb schedule trigger mine --account team-a
check "the run succeeds" wait_for 20 json_ok '[.runs[] | select(.status == "success")] | length >= 1' nbj schedule runs mine --account team-a
check "uid $OTHER reads the run" nb run get "$mine:1"
check "uid $OTHER pauses its schedule" nb schedule pause "$mine"
check "uid $OTHER resumes its schedule" nb schedule resume "$mine"
check "uid $OTHER sets team-a's preferences" nb prefs set --account team-a \
    --op quick --preferred-model cheap-model
check "uid $OTHER reads team-a's budget" nb budget status --account team-a

# ---- what it may not do ---------------------------------------------------
check "default's account is not found for it" error_is -32001 nbj account get default
check "account.create is admin only" error_is -32003 nbj account create mine2
check "account.grant is admin only" error_is -32003 nbj account grant team-a --uid 1
check "account.revoke is admin only" error_is -32003 nbj account revoke team-a --uid "$OTHER"
check "account.update is admin only" error_is -32003 nbj account update team-a --monthly-budget 1
check "default's schedule by id is not found" error_is -32001 nbj schedule get "$secret"
check "default's schedule by name is not found" error_is -32001 nbj schedule get secret
check "... nor with --account default" error_is -32001 nbj schedule get secret --account default
check "it cannot trigger it" error_is -32001 nbj schedule trigger "$secret"
check "it cannot pause it" error_is -32001 nbj schedule pause "$secret"
check "it cannot resume it" error_is -32001 nbj schedule resume "$secret"
check "it cannot update it" error_is -32001 nbj schedule update "$secret" --note mine
check "it cannot delete it" error_is -32001 nbj schedule delete "$secret"
check "it cannot read its runs" error_is -32001 nbj schedule runs "$secret"
check "it cannot read its next fires" error_is -32001 nbj schedule next "$secret"
check "it cannot read its run" error_is -32001 nbj run get "$secret:1"
check "it cannot list default's schedules" error_is -32003 nbj schedule list --account default
check "it cannot create in default (implicit)" error_is -32003 nbj schedule create --name x --op quick --manual
check "it cannot create in default (explicit)" error_is -32003 nbj schedule create --name x --op quick --manual --account default
check "it cannot read default's preferences" error_is -32003 nbj prefs get
check "it cannot set default's preferences" error_is -32003 nbj prefs set --op quick --no-enabled --account default
check "it cannot bulk-set default's preferences" error_is -32003 nbj prefs bulk_set --operations '{"quick":{"enabled":false}}' --account default
check "it cannot set default's UI preferences" error_is -32003 nbj prefs set_ui --color-scheme dark --account default
check "it cannot read default's budget" error_is -32003 nbj budget status --account default
check "it cannot reach an account that does not exist" error_is -32001 nbj prefs get --account nosuch
check "daemon.reload is admin only" error_is -32003 nbj daemon reload

# Nothing of default's was touched.
check "default's schedule is unchanged" json_ok '.state == "active" and .note == "default'"'"'s own" and .run_counter == 1 and .created == .updated' ctlj schedule get secret
check "default's preferences are unset" json_ok '(.operations | length) == 0' ctlj prefs get
export_journal
check "every record of uid $OTHER's doing is in team-a" jq -e -s '[.[] | select(.kind == "prefs.set" or .body.name == "mine") | .account] | unique == ["team-a"]' "$T/export.jsonl"

# ---- a creation queued behind a revoke -------------------------------------
# The journal is held, so the revoke's record waits; the other uid's
# schedule.create, sent meanwhile, waits for the account's change before
# it, is authorised again when its turn comes, and is refused: nothing of
# it is created.
hold_journal
ctl account revoke team-a --uid "$OTHER" > "$T/revoke.out" 2>&1 &
REVOKE=$!
check "the revoke's record waits for the journal" wait_for 20 sh -c \
    "$CHIMECTL --socket $SOCK --json daemon status | jq -e '.journal.pending >= 1'"
nbj schedule create --name behind --op quick --manual --account team-a \
    > "$T/behind.out" 2>&1 &
BEHIND=$!
check "the creation is connected" wait_for 20 sh -c \
    "$CHIMECTL --socket $SOCK --json daemon status | jq -e '.connections >= 3'"
check "the creation is not answered while the revoke is in flight" \
    stays_empty 1 "$T/behind.out"
release_journal
check "the revoke is answered" wait "$REVOKE"
wait "$BEHIND"
check "the creation, authorised after the revoke, is forbidden" \
    jq -e '.code == -32003' "$T/behind.out"
check "and nothing was created" error_is -32001 ctlj schedule get behind --account team-a
check "admin grants uid $OTHER again" ctl account grant team-a --uid "$OTHER"

# ---- revoke, grant by user name, restart ----------------------------------
check "admin revokes uid $OTHER" ctl account revoke team-a --uid "$OTHER"
check "revoked: account.list is empty" json_ok '.accounts == []' nbj account list
check "revoked: team-a's schedule is not found" error_is -32001 nbj schedule get mine --account team-a
check "revoked: team-a is forbidden" error_is -32003 nbj schedule list --account team-a
check "revoking twice is a conflict" error_is -32002 ctlj account revoke team-a --uid "$OTHER"
check "admin grants it again by user name" ctl account grant team-a --user "$(getent passwd "$OTHER" | cut -d: -f1)"
check "granted: it reads its schedule again" nb schedule get mine --account team-a

check "SIGTERM drains and exits 0" stop_chimed
start_chimed
check "after a restart team-a still grants uid $OTHER" json_ok ".uids == [$OTHER]" ctlj account get team-a
check "after a restart uid $OTHER still sees only team-a" json_ok '[.accounts[].name] == ["team-a"]' nbj account list
check "after a restart default is still hidden" error_is -32001 nbj schedule get "$secret"
check "the journal verifies" "$JOURNAL" verify "$DATA"
check "SIGTERM drains and exits 0 again" stop_chimed
finish
