#!/bin/sh
# Signed checkpoints and their witness with a real chimed: `chimectl
# journal checkpoint` prints a note signed by DATA/keys/journal.key, the
# same note is appended to --checkpoint-log and POSTed to --checkpoint-url,
# one is written at shutdown; `chime-journal verify --checkpoint` proves
# the journal extends a witnessed note, `prove` / `check-proof` prove one
# record or two checkpoints without the journal.  Then the tampering the
# hash chain alone does not see, each caught and named: a cut tail with a
# rewritten meta, an older data.mdb put back, a forged signature, a record
# changed (and the chain rehashed), a proof for a changed record.
. "$(dirname "$0")/lib.sh"

TAMPER=$B/tests/chime-test-tamper
WITNESS=$T/witness.log
POSTS=$T/posts.jsonl

# last_note FILE: the last note of a checkpoint log, on stdout.
last_note() {
	awk '/^--- checkpoint seq=/ { n = ""; next } { n = n $0 "\n" }
	    END { printf "%s", n }' "$1"
}
# entries FILE: how many checkpoints a checkpoint log holds.
entries() { grep -c '^--- checkpoint seq=' "$1" 2>/dev/null || echo 0; }
# says FILE TEXT: FILE holds TEXT.
says() { grep -q -- "$2" "$1"; }
# verify_bad DIR NOTE TEXT: verify --checkpoint exits 1 and says TEXT.
verify_bad() {
	"$JOURNAL" verify "$1" --pubkey "$T/pub" --checkpoint "$2" \
	    >"$T/verify.out" 2>&1
	[ $? -eq 1 ] && grep -q -- "$3" "$T/verify.out"
}
# copy NAME: a copy of the stopped daemon's data directory in $T/NAME.
copy() { rm -rf "$T/$1"; cp -a "$DATA" "$T/$1"; }

# A receiver for the URL witness: one JSON body a line into $POSTS.
python3 -c '
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open(sys.argv[1], "ab") as f:
            f.write(body + b"\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(sys.argv[2], "w").write(str(s.server_port))
s.serve_forever()
' "$POSTS" "$T/port" &
RECEIVER=$!
trap 'kill $RECEIVER 2>/dev/null; cleanup' EXIT
check "the receiver listens" wait_for 10 test -s "$T/port"
URL=http://127.0.0.1:$(cat "$T/port")/checkpoints

FLAGS="--checkpoint-log $WITNESS --checkpoint-url $URL --http-allow 127.0.0.1/32"

# ---- first life: a few records, a checkpoint on request ---------------
# shellcheck disable=SC2086
start_chimed $FLAGS
for a in acct1 acct2 acct3; do
	check "create account $a" ctl account create "$a"
done
check "chimectl journal checkpoint" sh -c \
    "'$CHIMECTL' --socket '$SOCK' journal checkpoint >'$T/note1'"
check "the note names this journal and its size" \
    grep -q '^chime\.journal/[0-9a-f]\{32\}$' "$T/note1"
check "the note ends with its signature line" \
    sh -c "tail -n 1 '$T/note1' | grep -q '^— chime\.journal/'"
last_note "$WITNESS" >"$T/logged1"
check "the checkpoint log holds the same note" cmp -s "$T/logged1" "$T/note1"
check "the same note was POSTed" wait_for 10 python3 -c "
import json, sys
notes = [json.loads(l)['note'] for l in open('$POSTS')]
sys.exit(0 if open('$T/note1').read() in notes else 1)"
check "asked again with nothing since: the same checkpoint" sh -c \
    "'$CHIMECTL' --socket '$SOCK' journal checkpoint | cmp -s - '$T/note1'"
check "--json: seq, tree_size, root, note" sh -c \
    "'$CHIMECTL' --socket '$SOCK' --json journal checkpoint |
    jq -e '.seq == .tree_size + 1 and (.root | length) == 64 and
    (.note | startswith(\"chime.journal/\"))'"
if other_uid_ready; then
	OTHER_UID=65534
	check_fails "a tenant may not ask for a checkpoint" 1 \
	    nb journal checkpoint
fi
check "the key is 0600 in a 0700 directory" sh -c \
    "[ \"\$(stat -c %a '$DATA/keys/journal.key')\" = 600 ] &&
    [ \"\$(stat -c %a '$DATA/keys')\" = 700 ] &&
    [ \"\$(stat -c %a '$DATA/keys/journal.pub')\" = 644 ]"
"$JOURNAL" pubkey "$DATA" >"$T/pub"
check "chime-journal pubkey prints DATA/keys/journal.pub" \
    cmp -s "$T/pub" "$DATA/keys/journal.pub"
check "verify --checkpoint while chimed runs" "$JOURNAL" verify "$DATA" \
    --pubkey "$T/pub" --checkpoint "$T/note1"
check "stop" stop_chimed
check "a checkpoint at shutdown, witnessed" test "$(entries "$WITNESS")" -eq 2
copy old

# ---- second life: more records, then the witnessed state --------------
# shellcheck disable=SC2086
start_chimed $FLAGS
for a in acct4 acct5 acct6; do
	check "create account $a" ctl account create "$a"
done
ctl journal checkpoint >"$T/note2"
check "stop again" stop_chimed
last_note "$WITNESS" >"$T/witnessed"
check "the witness holds four checkpoints" test "$(entries "$WITNESS")" -eq 4
check "every checkpoint was POSTed" wait_for 10 sh -c \
    "[ \$(wc -l <'$POSTS') -eq 4 ]"
export_journal
check "checkpoint records: account null, tree_size, root, head_hash, note" \
    jq -se '[.[] | select(.kind == "checkpoint")] | length == 4 and
    all(.account == null and .body.tree_size == .seq - 1 and
    (.body.root | length) == 64 and (.body.head_hash | length) == 64 and
    (.body.note | startswith("chime.journal/")))' "$T/export.jsonl"
M=$(sed -n 2p "$T/witnessed")
check "the pristine journal verifies" "$JOURNAL" verify "$DATA"
check "... and extends the last witnessed checkpoint" "$JOURNAL" verify \
    "$DATA" --pubkey "$T/pub" --checkpoint "$T/witnessed"
check "... and the first" "$JOURNAL" verify "$DATA" --pubkey "$T/pub" \
    --checkpoint "$T/note1"

# ---- a witness URL that fails: counted and logged, the journal goes on --
# metric_failed: /metrics counts a failed POST to the URL witness.
metric_failed() {
	curl -s "http://127.0.0.1:$HTTP_PORT/metrics" |
	    grep -q '^chime_checkpoint_witness_failures_total{witness="url"} [1-9]'
}
copy pristine
start_chimed --checkpoint-url http://127.0.0.1:1/ --http-allow 127.0.0.1/32
check "a dead witness URL: the checkpoint is still answered" sh -c \
    "'$CHIMECTL' --socket '$SOCK' journal checkpoint | grep -q '^chime.journal/'"
check "... the failure is counted" wait_for 20 metric_failed
check "... and logged, to be tried again" wait_for 20 grep -q \
    'msg="checkpoint witness: POST failed, trying again"' "$LOG"
check "... and the journal still writes" ctl account create acct7
check "stop with a POST pending" stop_chimed
check "... given up at shutdown, logged" grep -q \
    'msg="checkpoint witness: POST failed, giving up"' "$LOG"
rm -rf "$DATA"
cp -a "$T/pristine" "$DATA"

# ---- proofs -----------------------------------------------------------
acct2=$(jq -s '[.[] | select(.kind == "account.created" and
    .body.name == "acct2")][0].seq' "$T/export.jsonl")
check "prove a record" sh -c "'$JOURNAL' prove '$DATA' $acct2 >'$T/proof.json'"
check "the proof is self-contained JSON" jq -e \
    ".seq == $acct2 and .tree_size == $M and (.path | length) > 0 and
    (.record | length) > 0 and (.checkpoint | length) > 0" "$T/proof.json"
mv "$DATA" "$T/away"
check "check-proof without the journal" "$JOURNAL" check-proof \
    "$T/proof.json" --pubkey "$T/pub"
mv "$T/away" "$DATA"
n1=$(sed -n 2p "$T/note1")
check "a consistency proof between two checkpoints" sh -c \
    "'$JOURNAL' prove '$DATA' --from-size $n1 >'$T/cons.json'"
check "check-proof of it" "$JOURNAL" check-proof "$T/cons.json" \
    --pubkey "$T/pub"
check_fails "a record after the last checkpoint cannot be proved" 1 \
    "$JOURNAL" prove "$DATA" $((M + 5))
check_fails "check-proof needs the key" 2 "$JOURNAL" check-proof \
    "$T/proof.json"

# A proof for a changed record: its bytes no longer lead to the root.
python3 -c "
import base64, json
p = json.load(open('$T/proof.json'))
r = base64.b64decode(p['record']).replace(b'acct2', b'acctX')
p['record'] = base64.b64encode(r).decode()
json.dump(p, open('$T/forged.json', 'w'))"
check_fails "check-proof: a changed record is refused" 1 "$JOURNAL" \
    check-proof "$T/forged.json" --pubkey "$T/pub"
check "... naming the seq and tree size" says "$T/last" \
    "record seq $acct2 is not in the checkpoint of tree size $M"
python3 -c "
import json
p = json.load(open('$T/cons.json'))
p['to_checkpoint'] = p['to_checkpoint'].replace('\n$M\n', '\n$((M + 1))\n')
json.dump(p, open('$T/cons-forged.json', 'w'))"
check_fails "check-proof: a forged checkpoint in a consistency proof" 1 \
    "$JOURNAL" check-proof "$T/cons-forged.json" --pubkey "$T/pub"

# ---- tampering --------------------------------------------------------
# A cut tail with meta's head rewritten: the chain alone still verifies.
copy cut
"$TAMPER" "$T/cut/journal" cut $((M - 3))
check "cut tail: the chain alone sees nothing" "$JOURNAL" verify "$T/cut"
check "cut tail: verify --checkpoint names it" verify_bad "$T/cut" \
    "$T/witnessed" "journal ends at seq $((M - 3)), checkpoint covers $M"

# An older copy of data.mdb put back.
copy older
cp "$T/old/journal/data.mdb" "$T/older/journal/data.mdb"
check "older data.mdb: the chain alone sees nothing" "$JOURNAL" verify \
    "$T/older"
check "older data.mdb: verify --checkpoint names it" verify_bad "$T/older" \
    "$T/witnessed" "journal ends at seq [0-9]*, checkpoint covers $M"

# A forged signature, and a note of another size under the old signature.
sed '$ s/.\(.\)$/A\1/' "$T/witnessed" >"$T/forged-sig"
if cmp -s "$T/witnessed" "$T/forged-sig"; then
	sed '$ s/.\(.\)$/B\1/' "$T/witnessed" >"$T/forged-sig"
fi
check "forged signature: refused" verify_bad "$DATA" "$T/forged-sig" \
    "bad: checkpoint .*signature"
sed "2 s/.*/$((M - 3))/" "$T/witnessed" >"$T/forged-size"
check "a note of another size under the same signature: refused" \
    verify_bad "$T/cut" "$T/forged-size" "bad: checkpoint"

# A record changed and the chain rehashed from it: the checkpoint records
# in the log disagree, and so does the witness.
copy changed
"$TAMPER" "$T/changed/journal" rewrite "$acct2" acct2 acctX
"$JOURNAL" verify "$T/changed" >"$T/changed.out" 2>&1
check "changed record: verify exits 1" test $? -eq 1
check "changed record: verify names the checkpoint and the range" says \
    "$T/changed.out" "was changed"
check "changed record: the range holds the seq" python3 -c "
import re, sys
m = re.search(r'seq (\d+)\.\.(\d+) was changed', open('$T/changed.out').read())
sys.exit(0 if m and int(m.group(1)) <= $acct2 <= int(m.group(2)) else 1)"
check "changed record: verify --checkpoint fails too" verify_bad \
    "$T/changed" "$T/witnessed" "bad: seq"
check_fails "changed record: prove against the witnessed note refuses" 1 \
    "$JOURNAL" prove "$T/changed" "$acct2" --checkpoint "$T/witnessed"
check "... saying the journal does not extend it" says "$T/last" \
    "do not hash to the checkpoint's root"

finish
