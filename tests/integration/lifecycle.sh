#!/bin/sh
# What a schedule shows through its life: a one-shot ("at") is completed
# once its instant is settled and an update with a new instant makes it
# active again; last_fire is the last occurrence that fired, never the
# instant of a create, an update or a resume; a pause's note goes with the
# pause.
. "$(dirname "$0")/lib.sh"

field() { ctlj schedule get "$1" | jq -r "$2"; }

start_chimed
# 4 to 5 s ahead (whole seconds): still ahead when the checks below look
# at it before its instant, also in a slow sanitizer build.
at=$(date -u -d '+5 seconds' +%Y-%m-%dT%H:%M:%SZ)
check "create a one-shot" ctl schedule create --name once --op quick --at "$at" \
    --note "kept note"
check "a new schedule has no last_fire" test "$(field once .last_fire)" = null
check "it is active before its instant" test "$(field once .state)" = active
check "its run succeeds" wait_for 20 runs_with "$(field once .id)" success 1
check "then it is completed" wait_for 20 sh -c "test \"\$($CHIMECTL --socket $SOCK --json schedule get once | jq -r .state)\" = completed"
check "a completed one-shot has no next fire" test "$(field once .next_fire)" = null
check "its last_fire is its instant" test "$(field once .last_fire)" = "$at"
check_fails "resuming a completed one-shot is a conflict" 1 ctl schedule resume once
check "the conflict says what to do" grep -q "new --at" "$T/last"
check_fails "pausing a completed one-shot is a conflict" 1 ctl schedule pause once
check "daemon.status counts it as completed" sh -c \
    "$CHIMECTL --socket $SOCK --json daemon status | jq -e '.schedules.completed == 1'"
at2=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
check "an update with a new instant" ctl schedule update once --at "$at2"
check "makes it active again" test "$(field once .state)" = active
check "with that next fire" test "$(field once .next_fire)" = "$at2"
check "still showing the instant that fired as last_fire" test "$(field once .last_fire)" = "$at"

# A restart keeps it all.
check "restart" stop_chimed
start_chimed
check "state and last_fire survive a restart" sh -c \
    "$CHIMECTL --socket $SOCK --json schedule get once | jq -e '.state == \"active\" and .last_fire == \"$at\"'"

# last_fire is never an update's or a resume's instant.
check "create a manual schedule" ctl schedule create --name man --op quick --manual
check "update it" ctl schedule update man --note changed
check "pause it with a note" ctl schedule pause man --note "maintenance window"
check "the pause note shows while paused" test "$(field man .pause_note)" = "maintenance window"
check "the schedule's note is not the pause's" test "$(field man .note)" = changed
check "resume it" ctl schedule resume man
check "the pause note goes with the pause" test "$(field man .pause_note)" = null
check "the schedule's note stays" test "$(field man .note)" = changed
check "no last_fire after create, update, pause and resume" test "$(field man .last_fire)" = null
check "a resume's note becomes the schedule's note" sh -c \
    "$CHIMECTL --socket $SOCK schedule pause man && $CHIMECTL --socket $SOCK schedule resume man --note back"
check "so it reads back" test "$(field man .note)" = back

# Changes to one schedule sent at once, without waiting for answers: each
# waits for the one before it to be recorded, none is refused as busy, and
# the last one sent is the state that stays.
cat > "$T/burst.py" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
calls = []
for i in range(10):
    calls.append(("schedule.update", {"id": "man", "note": "burst %d" % i}))
    calls.append(("schedule.pause", {"id": "man"}))
    calls.append(("schedule.resume", {"id": "man"}))
calls.append(("schedule.update", {"id": "man", "note": "last"}))
for i, (m, p) in enumerate(calls):
    f.write(json.dumps({"jsonrpc": "2.0", "id": i, "method": m,
        "params": p}) + "\n")
f.flush()
errors = 0
for _ in calls:
    a = json.loads(f.readline())
    if "error" in a:
        errors += 1
        print(json.dumps(a))
print("errors", errors)
PY
check "a burst of changes to one schedule: none refused" sh -c \
    "python3 '$T/burst.py' '$SOCK' | tee '$T/burst.out' | grep -qx 'errors 0'"
check "the last change sent is the one that stays" test "$(field man .note)" = last
check "and the schedule is active" test "$(field man .state)" = active
check "the journal verifies" "$JOURNAL" verify "$DATA"
check "drain" stop_chimed
finish
