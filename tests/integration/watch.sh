#!/bin/sh
# chimectl batch watch: a line per change when its output is not a
# terminal, a status block redrawn in place on one (a pty), JSON lines
# with --json; the exit status says how the batch ended.
. "$(dirname "$0")/lib.sh"

start_chimed --trace ctl

# polls: how many batch.get requests the daemon answered.
polls() { grep -c 'msg="ctl request".*method=batch.get ' "$LOG"; }
# gates_started N: at least N gate operations have started.
gates_started() { [ "$(ls "$T" | grep -c '^started\.')" -ge "$1" ]; }
# polled_past N: the daemon answered more than N batch.get requests.
polled_past() { [ "$(polls)" -gt "$1" ]; }

check_fails "watch without an id is a usage error" 2 ctl batch watch
check_fails "watch of an unknown batch is an error" 1 ctl batch watch b_nosuch
check "it says so" grep -q "no such batch" "$T/last"

# ---- not a terminal: a line only when something changed -------------------
B=$(ctlj batch create --name watched --op gate --count 3 --max-concurrent 2 |
    jq -r .id)
check "two gated operations run" wait_for 20 gates_started 2
n=$(polls)
ctl batch watch "$B" >"$T/watch.out" 2>"$T/watch.err" &
W=$!
check "the watch asks again and again" wait_for 20 polled_past $((n + 4))
check "one line while nothing changed" test "$(wc -l <"$T/watch.out")" -eq 1
check "that line is the progress and the cost" \
    grep -q '^0/3 ended (0 completed.*2 running, running; spent \$' "$T/watch.out"
touch "$T/release"
wait "$W"
rc=$?
check "exit 0: the batch completed" test "$rc" -eq 0
check "the last line is the end" \
    sh -c "tail -n 1 '$T/watch.out' | grep -q '^3/3 ended (3 completed, 0 failed, 0 skipped, 0 cancelled), 0 running, completed; spent \\$'"
check "no line repeats the one before" \
    awk 'NR > 1 && $0 == prev { exit 1 } { prev = $0 }' "$T/watch.out"
check "fewer lines than looks" \
    test "$(wc -l <"$T/watch.out")" -lt $(($(polls) - n))
check "nothing on stderr" test ! -s "$T/watch.err"
check "no escape sequence in a file" sh -c "! grep -q \"$(printf '\033')\" '$T/watch.out'"

# ---- --json: the batch as one JSON line per change -----------------------
# json_lines ID: --json batch watch ID prints JSON lines, the last one the
# completed batch.
json_lines() {
	ctlj batch watch "$1" >"$T/json.out" || return 1
	jq -e . "$T/json.out" >/dev/null &&
	    tail -n 1 "$T/json.out" | jq -e ".id == \"$1\" and .state == \"completed\"" >/dev/null
}
check "--json: one JSON object a line, the last completed" json_lines "$B"

# ---- a terminal: one block redrawn in place -------------------------------
rm -f "$T/release" "$T"/started.*
B2=$(ctlj batch create --name on-a-tty --op gate --count 2 --max-concurrent 1 |
    jq -r .id)
check "a gated operation runs" wait_for 20 gates_started 1
# watch-tty.py: run the watch on a pty; once a block has been redrawn with the
# running operation in it, release the gate; keep all it printed.
cat >"$T/watch-tty.py" <<'PY'
import os, pty, re, sys, time
chimectl, sock, batch, release, out = sys.argv[1:6]
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm"
    os.execv(chimectl, [chimectl, "--socket", sock, "batch", "watch", batch])
buf = b""
deadline = time.time() + 60
released = False
while time.time() < deadline:
    try:
        d = os.read(fd, 65536)
    except OSError:
        break
    if not d:
        break
    buf += d
    if not released and b"running:" in buf and \
            re.search(rb"\x1b\[\d+A\r\x1b\[J", buf):
        open(release, "w").close()
        released = True
_, st = os.waitpid(pid, 0)
open(out, "wb").write(buf)
sys.exit(os.waitstatus_to_exitcode(st))
PY
python3 "$T/watch-tty.py" "$CHIMECTL" "$SOCK" "$B2" "$T/release" "$T/tty.out"
rc=$?
check "tty: exit 0, the batch completed" test "$rc" -eq 0
# The part after the last "clear to the end of the screen": the final block.
python3 - "$T/tty.out" "$T/tty.last" <<'PY'
import sys
buf = open(sys.argv[1], "rb").read()
open(sys.argv[2], "wb").write(buf.rsplit(b"\x1b[J", 1)[-1].replace(b"\r", b""))
PY
check "tty: the block moves the cursor up and clears" \
    python3 -c "import re, sys; sys.exit(not re.search(rb'\x1b\[[4-9]A\r\x1b\[J', open('$T/tty.out', 'rb').read()))"
check "tty: it showed the running operation" grep -q "^  op-1  gate  $B2:1" "$T/tty.out"
check "tty: it showed a bar, the time and the cost" \
    sh -c "grep -q '^\[#*-*\]  [0-9]/2 ended' '$T/tty.out' && grep -q '^elapsed [0-9]*s  spent \\$' '$T/tty.out'"
check "tty: the final block says completed" \
    grep -q "^batch $B2 on-a-tty (parallel): completed$" "$T/tty.last"
check "tty: with every operation done" \
    sh -c "grep -q '^\[#*\]  2/2 ended, 100%$' '$T/tty.last' && grep -q '^2 completed, 0 failed, 0 skipped, 0 cancelled, 0 running, 0 pending$' '$T/tty.last'"

# ---- a cancelled batch: exit 1 --------------------------------------------
rm -f "$T/release"
B3=$(ctlj batch create --name to-cancel --op gate --count 2 --max-concurrent 1 |
    jq -r .id)
ctl batch watch "$B3" >"$T/cancel.out" 2>&1 &
W=$!
check "a third batch runs" wait_for 20 sh -c "grep -q 'running' '$T/cancel.out'"
check "it is cancelled" ctl batch cancel "$B3" --reason "test" --abort
wait "$W"
rc=$?
check "exit 1: the batch was cancelled" test "$rc" -eq 1
check "the last line says cancelled" sh -c "tail -n 1 '$T/cancel.out' | grep -q 'cancelled; spent'"
touch "$T/release"
finish
