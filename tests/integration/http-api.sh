#!/bin/sh
# The control API over HTTP with a real chimed: tokens made with chimectl
# (token.create shows the secret once, token.list never), POST /v1/rpc
# with the socket's methods and errors for a token's account and scope: a
# read token cannot write, an account's token sees nothing of another
# account, an admin token may do what an admin may; no token, a bad one, a
# revoked or expired one get 401 with WWW-Authenticate, and an address
# that keeps failing gets 429; a streaming method is the socket's; the
# secrets appear in no log and no journal record.
. "$(dirname "$0")/lib.sh"

# rpc TOKEN JSON: POST JSON to /v1/rpc with TOKEN ("" for none); the body
# in $T/rpc.body, the status on stdout.
rpc() {
	if [ -n "$1" ]; then
		set -- -H "Authorization: Bearer $1" --data-binary "$2"
	else
		set -- --data-binary "$2"
	fi
	curl -s -o "$T/rpc.body" -D "$T/rpc.head" -w '%{http_code}' \
	    --max-time 20 -X POST "$@" "http://127.0.0.1:$HTTP_PORT/v1/rpc"
}
# call TOKEN METHOD [PARAMS]: rpc with a request of id 1.
call() {
	p=${3:-}
	[ -n "$p" ] || p='{}'
	rpc "$1" "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"$2\",\"params\":$p}"
}
# status_is STATUS TOKEN BODY [JQ]: rpc gets STATUS (and its body passes
# the jq filter).
status_is() {
	got=$(rpc "$2" "$3")
	[ "$got" = "$1" ] && { [ -z "${4:-}" ] ||
	    jq -e "$4" "$T/rpc.body" >/dev/null; } && return 0
	echo "status $got (wanted $1): $(cat "$T/rpc.body")"
	return 1
}
# call_status_is STATUS TOKEN METHOD: call gets STATUS.
call_status_is() {
	got=$(call "$2" "$3")
	[ "$got" = "$1" ] && return 0
	echo "status $got (wanted $1): $(cat "$T/rpc.body")"
	return 1
}
# metric_at_least NAME LABELS N
metric_at_least() { [ "$(metric "$1" "$2")" -ge "$3" ]; }
# answers STATUS JQ TOKEN METHOD [PARAMS]: the call gets STATUS and its
# body passes the jq filter.
answers() {
	want=$1 filter=$2
	shift 2
	got=$(call "$@")
	[ "$got" = "$want" ] && jq -e "$filter" "$T/rpc.body" >/dev/null && return 0
	echo "status $got (wanted $want): $(cat "$T/rpc.body")"
	return 1
}
# refused STATUS REASON TOKEN: a call with TOKEN gets STATUS and, for a
# 401, a WWW-Authenticate header and the reason.
refused() {
	got=$(call "$3" account.list)
	[ "$got" = "$1" ] || { echo "status $got: $(cat "$T/rpc.body")"; return 1; }
	[ "$1" = 401 ] || return 0
	grep -qi '^WWW-Authenticate: Bearer realm="chime"' "$T/rpc.head" &&
	    jq -e ".reason == \"$2\"" "$T/rpc.body" >/dev/null
}
# metric NAME LABELS: the value of a metric in /metrics (0 if absent).
metric() {
	m=$1
	[ -z "$2" ] || m="$1{$2}"
	curl -s "http://127.0.0.1:$HTTP_PORT/metrics" |
	    awk -v m="$m" '$1 == m { print $2; f = 1 } END { if (!f) print 0 }'
}
# status_code STATUS TOKEN PATH: a GET of PATH answers STATUS.
status_code() {
	got=$(curl -s -o /dev/null -w '%{http_code}' --max-time 20 \
	    ${2:+-H "Authorization: Bearer $2"} "http://127.0.0.1:$HTTP_PORT$3")
	[ "$got" = "$1" ] || { echo "status $got"; return 1; }
}
token() { jq -r .token "$T/$1.json"; }
token_id() { jq -r .id "$T/$1.json"; }

start_chimed
ctl account create acme >/dev/null
ctl account create other >/dev/null
ctl schedule create --account other --name theirs --op quick --manual \
    >/dev/null

# ---- tokens -------------------------------------------------------------
check "token create: a read token for acme" sh -c "'$CHIMECTL' --socket \
    '$SOCK' --json token create reader --account acme >'$T/read.json'"
check "... its secret is shown once" jq -e '(.token | startswith("chime_"))
    and .scope == "read" and .account == "acme" and .admin == false' \
    "$T/read.json"
ctlj token create writer --account acme --scope write >"$T/write.json"
ctlj token create boss --admin --scope write >"$T/admin.json"
ctlj token create brief --account acme --expires-in 2s >"$T/brief.json"
ctlj token create theirs --account other --scope write >"$T/other.json"
secret_used "$(token read)" "$(token write)" "$(token admin)" \
    "$(token brief)" "$(token other)"
check "token list never shows a secret" sh -c "! '$CHIMECTL' --socket \
    '$SOCK' --json token list | grep -q 'chime_'"
check "... but every token" json_ok '.tokens | length == 5' ctlj token list
check "a second token of one name is refused" error_is -32002 ctlj token \
    create reader --account acme
check "a bad scope is refused" error_is -32602 ctlj token create x \
    --account acme --scope admin
check "an unknown account is refused" error_is -32001 ctlj token create x \
    --account nobody

# ---- POST /v1/rpc -------------------------------------------------------
check "a read token reads its account" answers 200 \
    '.result.accounts | map(.name) == ["acme"]' "$(token read)" account.list
check "... its account by default" answers 200 '.result.schedules == []' \
    "$(token read)" schedule.list
check "a read token cannot write" answers 200 \
    '.error.code == -32003 and (.error.message | test("read-only"))' \
    "$(token read)" schedule.create '{"name":"x","operation":"quick","manual":true}'
check "a write token writes in its account" answers 200 \
    '.result.account == "acme" and .result.name == "mine"' \
    "$(token write)" schedule.create '{"name":"mine","operation":"quick","manual":true}'
check "... which the socket sees" json_ok '.schedules | length == 1' \
    ctlj schedule list --account acme
check "an account's token cannot act for another" answers 200 \
    '.error.code == -32003' "$(token write)" schedule.list \
    '{"account":"other"}'
check "... nor find its schedules" answers 200 '.error.code == -32001' \
    "$(token write)" schedule.get '{"id":"theirs","account":"other"}'
check "... nor see its tokens" answers 200 \
    '.result.tokens | map(.account) | unique == ["acme"]' \
    "$(token write)" token.list
check "admin methods are not an account token's" answers 200 \
    '.error.code == -32003' "$(token write)" account.create '{"name":"x"}'
check "a write token makes a token for its account" answers 200 \
    '.result.account == "acme" and (.result.token | startswith("chime_"))' \
    "$(token write)" token.create '{"name":"made","scope":"read"}'
secret_used "$(jq -r .result.token "$T/rpc.body")"
check "... but never an admin token" answers 200 '.error.code == -32003' \
    "$(token write)" token.create '{"name":"up","admin":true}'
check "an admin token may do what an admin may" answers 200 \
    '.result.name == "newco"' "$(token admin)" account.create \
    '{"name":"newco"}'
check "... and sees every account" answers 200 \
    '.result.accounts | length == 4' "$(token admin)" account.list
check "errors are the socket's" answers 200 \
    '.error.code == -32602 and .error.data.field == "name"' \
    "$(token write)" schedule.create '{"operation":"quick","manual":true}'
check "an unknown method" answers 200 '.error.code == -32601' \
    "$(token read)" nosuch.method
check "a streaming method is the socket's" answers 200 \
    '.error.code == -32601 and (.error.message | test("/v1/events"))' \
    "$(token read)" events.watch
check "a notification gets 204" status_is 204 "$(token read)" \
    '{"jsonrpc":"2.0","method":"account.list"}'
check "a batch is refused as on the socket" status_is 200 "$(token read)" \
    '[{"jsonrpc":"2.0","id":1,"method":"account.list"}]' \
    '.error.code == -32600'
check "not JSON: a parse error" status_is 200 "$(token read)" '{x' \
    '.error.code == -32700'
check "an empty body: an invalid request" status_is 200 "$(token read)" '' \
    '.error.code == -32600' 
check "GET is not allowed" sh -c "[ \"\$(curl -s -o /dev/null -w \
    '%{http_code}' http://127.0.0.1:$HTTP_PORT/v1/rpc)\" = 405 ]"

# ---- GET /v1/events -----------------------------------------------------
# sse NAME TOKEN [QUERY] [HEADER]: follow /v1/events into $T/NAME.sse.
sse() {
	curl -s -N -H "Authorization: Bearer $2" ${4:+-H "$4"} \
	    "http://127.0.0.1:$HTTP_PORT/v1/events${3:+?$3}" >"$T/$1.sse" &
	eval "SSE_$1=\$!"
}
# has FILE TEXT: FILE holds TEXT.
has() { grep -q -- "$2" "$1"; }
# ids FILE: the event ids of an SSE capture, in order.
ids() { sed -n 's/^id: //p' "$1"; }
sse acme "$(token read)" "from_seq=1"
sse admin "$(token admin)" "kinds=schedule.*&account=other"
check "an event stream starts" wait_for 20 has "$T/acme.sse" '^event: start'
# (the admin's stream follows from the head when it starts: it must have
# started before the records it is to see are written)
check "... and another" wait_for 20 has "$T/admin.sse" '^event: start'
ctl schedule create --account other --name hidden --op quick --manual \
    >/dev/null
ctl schedule create --account acme --name seen --op quick --manual \
    >/dev/null
check "a record of the token's account comes as an event" wait_for 20 has \
    "$T/acme.sse" '"kind":"schedule.created","account":"acme"'
check "... and another account's never" sh -c "! grep -q '\"hidden\"' \
    '$T/acme.sse'"
check "... nor a daemon record" sh -c "! grep -q '\"account\":null' \
    '$T/acme.sse'"
# ids_are_seqs FILE: each event's id is its data's seq, the data an
# export object.
ids_are_seqs() {
	sed -n 's/^data: //p' "$1" | tail -n +2 >"$T/data.jsonl"
	jq -s -e 'all(.seq > 0 and (.hash | length) == 64)' \
	    "$T/data.jsonl" >/dev/null &&
	    [ "$(ids "$1" | tr '\n' ' ')" = \
	    "$(jq -r .seq "$T/data.jsonl" | tr '\n' ' ')" ]
}
# first_id_after FILE N: the first event of FILE comes after seq N.
first_id_after() { [ "$(ids "$1" | head -n 1)" -gt "$2" ]; }
check "its id is the seq, its data the export object" ids_are_seqs \
    "$T/acme.sse"
ctl schedule create --account other --name hidden2 --op quick --manual \
    >/dev/null
check "an admin token follows one account, one kind" wait_for 20 has \
    "$T/admin.sse" '"name":"hidden2"'
check "... and nothing else (acme's came between)" sh -c "! grep -q \
    '\"account\":\"acme\"' '$T/admin.sse'"
check "... both of its account's" sh -c "[ \"\$(grep -c '\"name\":\"hidden' \
    '$T/admin.sse')\" -eq 2 ]"
FIRST=$(ids "$T/acme.sse" | head -n 1)
sse again "$(token read)" "" "Last-Event-ID: $FIRST"
check "Last-Event-ID resumes after that seq" wait_for 20 has \
    "$T/again.sse" '"name":"seen"'
check "... with no event at or before it" first_id_after "$T/again.sse" \
    "$FIRST"
check "another account's stream is refused" status_code 403 \
    "$(token read)" "/v1/events?account=other"
check "no token: 401" status_code 401 "" "/v1/events"
check "a bad from_seq: 400" status_code 400 "$(token read)" \
    "/v1/events?from_seq=x"
check "the watchers are counted" metric_at_least chime_watchers "" 3

# ---- refusals -----------------------------------------------------------
check "no token: 401" refused 401 missing ""
check "a malformed token: 401" refused 401 malformed "not-a-token"
check "an unknown token: 401" refused 401 unknown \
    "chime_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
check "an expired token: 401" wait_for 20 refused 401 expired "$(token brief)"
check "... listed as expired" json_ok \
    ".tokens[] | select(.id == \"$(token_id brief)\") | .state == \"expired\"" \
    ctlj token list
check "revoke a token" ctl token revoke "$(token_id read)"
check "a revoked token: 401" refused 401 unknown "$(token read)"
check "revoking it again: not found" error_is -32001 ctlj token revoke \
    "$(token_id read)"
check "another account's token cannot be revoked by a tenant's" answers \
    200 '.error.code == -32001' "$(token write)" token.revoke \
    "{\"id\":\"$(token_id other)\"}"
check "failures are counted by reason" metric_at_least \
    chime_http_auth_failures_total 'reason="unknown"' 2
# Ten failures from one address in a minute: then 429, good token or not.
i=0
while [ $i -lt 10 ]; do
	call "chime_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb" account.list >/dev/null
	i=$((i + 1))
done
check "an address that keeps failing gets 429" call_status_is 429 \
    "$(token write)" account.list
check "... with Retry-After" grep -qi '^Retry-After: [1-9]' "$T/rpc.head"
check "... counted" metric_at_least chime_http_auth_failures_total \
    'reason="limited"' 1
check "the socket is not limited" ctl account list

# ---- the journal and a restart -----------------------------------------
export_journal
check "token records carry the hash, never the secret" jq -se \
    '[.[] | select(.kind == "token.created")] | length == 6 and
    all(.body.sha256 | length == 64)' "$T/export.jsonl"
check "the revoke is recorded" jq -se \
    "[.[] | select(.kind == \"token.revoked\" and
    .body.id == \"$(token_id read)\")] | length == 1" "$T/export.jsonl"
check "stop" stop_chimed
check "a drain ends each event stream, saying where to resume" sh -c "
    grep -q '^event: end' '$T/acme.sse' &&
    sed -n 's/^data: //p' '$T/acme.sse' | tail -n 1 |
    jq -e '.reason == \"draining\" and .resume_from > 0' >/dev/null"
wait $SSE_acme $SSE_admin $SSE_again 2>/dev/null
start_chimed --trace ctl
check "after a restart a token still works" answers 200 \
    '.result.schedules | any(.name == "mine")' "$(token write)" schedule.list
check "... and a revoked one stays revoked" call_status_is 401 \
    "$(token read)" account.list
check "the request trace names the token by its id" grep -q \
    "method=schedule.list token=$(token_id write) " "$LOG"
check "stop again" stop_chimed

finish
