#!/bin/sh
# README.md's tour, as written: every ```sh block from "A five-minute
# tour" to "Documentation" runs with sh -e at the top of a tree (./chimed,
# ./chimectl, ./chime-journal) against a daemon started there as the README
# starts it, from a fresh data directory.  Where the README's prose says to
# kill -9 the daemon before a block, the test does, and starts it again.
# The only change to the text: the HTTP port (the README's default 8470)
# is the one this daemon took.  No block may fail or print an error, and a
# few outputs are checked for what the README says they show.
. "$(dirname "$0")/lib.sh"

TREE=$T/tree
DATA=$TREE/var/chime
SOCK=$DATA/chime.sock
BLOCKS=$T/blocks
mkdir -p "$TREE" "$BLOCKS"
for p in chimed chimectl chime-journal; do
	ln -s "$B/$p" "$TREE/$p"
done
# A user's shell has no CHIME_SOCKET: the tour finds the socket itself.
unset CHIME_SOCKET

# Split the tour into blocks: $BLOCKS/N.sh, and $BLOCKS/N.crash when the
# prose before block N asks for a kill -9.
python3 - "$S/README.md" "$BLOCKS" <<'PY'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
start = text.index("\n## A five-minute tour")
end = text.index("\n## Documentation")
tour = text[start:end]
n = 0
pos = 0
for m in re.finditer(r"^```sh\n(.*?)^```$", tour, re.S | re.M):
    n += 1
    prose = tour[pos:m.start()]
    pos = m.end()
    open("%s/%d.sh" % (sys.argv[2], n), "w").write(m.group(1))
    if "kill -9" in prose:
        open("%s/%d.crash" % (sys.argv[2], n), "w").close()
PY
nblocks=$(ls "$BLOCKS" | grep -c '\.sh$')
check "the tour has its blocks" test "$nblocks" -ge 5
check "one of them follows a crash" sh -c "ls '$BLOCKS' | grep -q crash"

# tour_chimed: ./chimed at the top of the tree, as the README starts it
# (the HTTP listener on a free port instead of 8470).
tour_chimed() {
	(cd "$TREE" && exec ./chimed --http 127.0.0.1:0 --log-level debug \
	    >>"$LOG" 2>&1) &
	CHIMED_PID=$!
	if ! wait_for 20 ctl daemon status; then
		fail "./chimed starts" "no answer on $SOCK"
		exit 1
	fi
	HTTP_PORT=$(ctlj daemon status | jq -r '.http.address' | sed 's/.*://')
}

# run_block N: block N with sh -e in the tree; its output in N.out and
# N.err.  It must succeed and print no error.
run_block() {
	sed "s/127\.0\.0\.1:8470/127.0.0.1:$HTTP_PORT/g" "$BLOCKS/$1.sh" \
	    >"$BLOCKS/$1.run"
	if ! (cd "$TREE" && sh -e "$BLOCKS/$1.run") >"$BLOCKS/$1.out" \
	    2>"$BLOCKS/$1.err"; then
		echo "---- block $1 ----"
		cat "$BLOCKS/$1.sh"
		echo "---- its output (last lines) ----"
		tail -n 15 "$BLOCKS/$1.out" "$BLOCKS/$1.err"
		return 1
	fi
	if grep -q 'chimectl:' "$BLOCKS/$1.err"; then
		cat "$BLOCKS/$1.err"
		return 1
	fi
}

check "README: ./chimed is the default daemon, port 8470" \
    sh -c "grep -q '127.0.0.1:8470' '$S/README.md' && $CHIMED --help 2>&1 | grep -q 8470"
tour_chimed
n=1
while [ "$n" -le "$nblocks" ]; do
	if [ -e "$BLOCKS/$n.crash" ]; then
		kill_chimed
		tour_chimed
	fi
	check "README block $n runs as written" run_block "$n"
	n=$((n + 1))
done

# What the blocks showed.  out N PATTERN: block N's output has PATTERN.
out() { grep -q -- "$2" "$BLOCKS/$1.out"; }
first=$(grep -l 'schedule create --name inbox-triage' "$BLOCKS"/*.sh |
    head -n 1 | sed 's|.*/||; s|\.sh$||')
check "the tour lists both schedules" \
    sh -c "grep -q '^s_[a-z0-9]*  inbox-triage  *email-classify  *interval 10s' '$BLOCKS/$first.out' && grep -q '^s_[a-z0-9]*  morning-brief  *analytics-summary  *cron 0 7 \* \* 1-5' '$BLOCKS/$first.out'"
# fits N: block N's tables (lines from "ID " to the first "truncated:")
# are at most 100 characters wide.
fits() {
	python3 -c 'import sys
t = False
for l in open(sys.argv[1], encoding="utf-8"):
    t = t or l.startswith("ID ")
    if t and l.startswith("truncated:"):
        t = False
    if t and len(l.rstrip("\n")) > 100:
        sys.exit(1)' "$BLOCKS/$1.out"
}
check "the schedule table fits in 100 columns" fits "$first"
check "run get shows run 1" out "$first" "^run_id: s_[a-z0-9]*:1$"
crash=$(ls "$BLOCKS" | grep crash | sed 's/\.crash$//')
check "after the crash: runs listed, none twice" \
    sh -c "grep -o '^s_[a-z0-9]*:[0-9]*' '$BLOCKS/$crash.out' | sort | uniq -d | grep -q . && exit 1; grep -q '^s_[a-z0-9]*:1 ' '$BLOCKS/$crash.out'"
check "the hash chain verifies" out "$crash" "^ok: [0-9]* records"
check "nothing doubled in the journal" no_double_claims
cost=$(grep -l 'dry-run' "$BLOCKS"/*.sh | head -n 1 | sed 's|.*/||; s|\.sh$||')
check "the dry run prices the schedule" out "$cost" "^projected_month_usd: "
check "the budget of team-a is shown" out "$cost" "^account_monthly_budget  *team-a "
batch=$(grep -l 'batch create' "$BLOCKS"/*.sh | head -n 1 | sed 's|.*/||; s|\.sh$||')
check "the sample batch completed" out "$batch" "^4/4 ended (4 completed.*completed; spent"
check "the long batch was cancelled while it ran" \
    sh -c "grep -q '^reason: wrong inbox' '$BLOCKS/$batch.out' && grep -q '^progress: .* [1-9][0-9]* skipped, .*cancelled$' '$BLOCKS/$batch.out'"
hook=$(grep -l 'webhook-secret generated' "$BLOCKS"/*.sh | head -n 1 |
    sed 's|.*/||; s|\.sh$||')
check "the signed delivery is accepted" out "$hook" '^{"run_id":"s_[a-z0-9]*:1","status":"running"}'
check "its event is listed" out "$hook" " true  *accepted  *202 "
check "the new secret is shown once" out "$hook" "^webhook_secret: whsec_"
secret_used "$(sed -n 's/^webhook_secret: //p' "$BLOCKS/$hook.out")"
finish
