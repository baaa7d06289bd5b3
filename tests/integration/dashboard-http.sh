#!/bin/sh
# The dashboard's HTTP side with curl against a real chimed: the security
# headers on UI, API, error and 401 answers; the files of --ui-dir with
# their types, validators and 304, Chart.js from the system, / to /ui/;
# traversal refused (.., encoded or not, an encoded /, a dot file, a link
# out of the folder, no listing); sessions: the token in the body only,
# the cookie's attributes, the CSRF header required with a cookie, who is
# signed in without the secret, sign-out, a revoked token ending its
# sessions, at most 16 sessions a token; a second account's session sees
# none of the first's data.
. "$(dirname "$0")/lib.sh"

# The UI folder: the source tree's, with a link out of it and a dot file.
cp -R "$S/ui" "$T/ui"
chmod -R u+w "$T/ui"
ln -s /etc/passwd "$T/ui/passwd.txt"
ln -s "$T/ui/style.css" "$T/ui/inside.css"
echo secret >"$T/ui/.hidden"
echo outside >"$T/outside.txt"

start_chimed --ui-dir "$T/ui"
U=http://127.0.0.1:$HTTP_PORT

# get PATH [CURL ARGS...]: GET (or what the args say) PATH; the status on
# stdout, the headers in $T/h, the body in $T/b.
get() {
	p=$1
	shift
	curl -s --path-as-is -o "$T/b" -D "$T/h" -w '%{http_code}' \
	    --max-time 20 "$@" "$U$p"
}
# header NAME: the value of header NAME in $T/h (the last one).
header() {
	grep -i "^$1:" "$T/h" | tail -n 1 | sed 's/^[^:]*: *//' | tr -d '\r'
}
# secure_headers STATUS PATH [CURL ARGS...]: PATH answers STATUS with the
# three security headers.
secure_headers() {
	want=$1
	shift
	got=$(get "$@")
	[ "$got" = "$want" ] || { echo "status $got, wanted $want"; return 1; }
	[ "$(header Content-Security-Policy)" = \
	    "default-src 'self'; frame-ancestors 'none'" ] &&
	    [ "$(header X-Content-Type-Options)" = nosniff ] &&
	    [ "$(header Referrer-Policy)" = no-referrer ] && return 0
	echo "headers:"
	cat "$T/h"
	return 1
}
# status_is STATUS PATH [CURL ARGS...]
status_is() {
	want=$1
	shift
	got=$(get "$@")
	[ "$got" = "$want" ] || { echo "status $got: $(head -c 200 "$T/b")"; return 1; }
}
rpcbody() {
	printf '{"jsonrpc":"2.0","id":1,"method":"%s","params":%s}' "$1" \
	    "${2:-{\}}"
}
# signin TOKEN COOKIEJAR [CURL ARGS...]: POST /v1/session; status out.
signin() {
	tok=$1 jar=$2
	shift 2
	get /v1/session -X POST -H 'X-Chime-CSRF: 1' -c "$jar" \
	    -H 'Content-Type: application/json' \
	    --data-binary "{\"token\":\"$tok\"}" "$@"
}
# crpc JAR METHOD [PARAMS]: /v1/rpc with the cookie of JAR and the CSRF
# header; the status out, the answer in $T/b.
crpc() {
	get /v1/rpc -X POST -b "$1" -H 'X-Chime-CSRF: 1' \
	    --data-binary "$(rpcbody "$2" "${3:-}")"
}
# crpc_is JAR FILTER METHOD [PARAMS]: crpc answers 200 passing FILTER.
crpc_is() {
	jar=$1 f=$2
	shift 2
	got=$(crpc "$jar" "$@")
	[ "$got" = 200 ] && jq -e "$f" "$T/b" >/dev/null && return 0
	echo "status $got: $(head -c 300 "$T/b")"
	return 1
}

ctl account create acme >/dev/null
ctl account create other >/dev/null
ctl schedule create --account acme --name mine --op quick --manual >/dev/null
ctl schedule create --account other --name theirs --op quick --manual \
    >/dev/null
ctl schedule trigger mine --account acme >/dev/null
ctl schedule trigger theirs --account other >/dev/null
ended() {
	ctlj schedule runs "$1" --account "$2" | jq -e '[.runs[] |
	    select(.status == "success")] | length >= 1' >/dev/null
}
check "the runs end" wait_for 30 ended mine acme
check "... both" wait_for 30 ended theirs other
ctlj token create web --account acme --scope write >"$T/acme.json"
ctlj token create web --account other --scope read >"$T/other.json"
ctlj token create brief --account acme >"$T/brief.json"
ACME=$(jq -r .token "$T/acme.json")
OTHER=$(jq -r .token "$T/other.json")
BRIEF=$(jq -r .token "$T/brief.json")
secret_used "$ACME" "$OTHER" "$BRIEF"

# ---- the security headers, on every kind of answer -----------------------
check "headers: the dashboard's page" secure_headers 200 /ui/
check "headers: a script" secure_headers 200 /ui/js/app.js
check "headers: HEAD" secure_headers 200 /ui/ -I
check "headers: the redirect of /" secure_headers 302 /
check "headers: a 404" secure_headers 404 /nothing/here
check "headers: a refused path" secure_headers 400 /ui/../etc/passwd
check "headers: a 401 of the API" secure_headers 401 /v1/rpc -X POST \
    --data-binary "$(rpcbody account.list)"
check "headers: an answer of the API" secure_headers 200 /v1/rpc -X POST \
    -H "Authorization: Bearer $ACME" --data-binary "$(rpcbody account.list)"
check "headers: a 405" secure_headers 405 /v1/rpc
check "headers: /healthz and /metrics" sh -c "curl -sI '$U/healthz' |
    grep -qi '^Content-Security-Policy:' && curl -s -D - -o /dev/null \
    '$U/metrics' | grep -qi '^X-Content-Type-Options: nosniff'"
check "headers: the event stream's 401" secure_headers 401 /v1/events
# libevent's own refusals: a body past --http-max-body, headers past
# their limit, a request line that is not HTTP.
head -c 2000000 /dev/zero | tr '\0' x >"$T/big"
check "headers: libevent's 413" secure_headers 413 /v1/rpc -X POST \
    -H "Authorization: Bearer $ACME" --data-binary @"$T/big"
check "headers: libevent's 400 (headers too large)" secure_headers 400 \
    /ui/ -H "X-Big: $(head -c 20000 "$T/big")"
raw_refusal() {
	printf 'NOT A REQUEST\r\n\r\n' | curl -s --max-time 20 -D "$T/h" \
	    -o "$T/b" -w '%{http_code}' "telnet://127.0.0.1:$HTTP_PORT" \
	    >/dev/null 2>&1
	grep -q "^HTTP/1.1 400" "$T/b" && grep -qi \
	    "^Content-Security-Policy: default-src 'self'; frame-ancestors 'none'" \
	    "$T/b" && grep -qi '^X-Content-Type-Options: nosniff' "$T/b" || {
		cat "$T/b"
		return 1
	}
}
check "headers: libevent's 400 (no request line)" raw_refusal

# ---- files -----------------------------------------------------------------
ctype_is() { get "$1" >/dev/null; [ "$(header Content-Type)" = "$2" ] ||
    { echo "$1: $(header Content-Type)"; return 1; }; }
check "/ redirects to /ui/" sh -c "[ \"\$(curl -s -o /dev/null -w \
    '%{http_code} %{redirect_url}' '$U/')\" = '302 $U/ui/' ]"
check "/ui redirects to /ui/" sh -c "[ \"\$(curl -s -o /dev/null -w \
    '%{http_code} %{redirect_url}' '$U/ui')\" = '302 $U/ui/' ]"
check "/ui/ is index.html" sh -c "curl -s '$U/ui/' | cmp -s - '$S/ui/index.html'"
check "HTML is text/html" ctype_is /ui/ "text/html; charset=utf-8"
check "a module is text/javascript" ctype_is /ui/js/api.js \
    "text/javascript; charset=utf-8"
check "CSS is text/css" ctype_is /ui/style.css "text/css; charset=utf-8"
check "an SVG is image/svg+xml" ctype_is /ui/favicon.svg "image/svg+xml"
check "Chart.js is the system's, served here" sh -c "[ \"\$(curl -s -o \
    '$T/chart' -w '%{http_code}' '$U/ui/vendor/chart.js')\" = 200 ] &&
    head -c 200 '$T/chart' | grep -q 'Chart.js'"
check "an ETag and Last-Modified" sh -c "curl -sI '$U/ui/style.css' |
    grep -qi '^ETag: \"' && curl -sI '$U/ui/style.css' |
    grep -qi '^Last-Modified: '"
ETAG=$(curl -sI "$U/ui/style.css" | grep -i '^ETag:' | sed 's/^[^:]*: *//' |
    tr -d '\r')
check "If-None-Match with the ETag: 304, no body" sh -c "[ \"\$(curl -s \
    -o '$T/nm' -w '%{http_code}' -H 'If-None-Match: $ETAG' \
    '$U/ui/style.css')\" = 304 ] && [ ! -s '$T/nm' ]"
check "... another ETag: 200" status_is 200 /ui/style.css \
    -H 'If-None-Match: "0-0-0"'
check "a changed file has a new ETag" sh -c "echo '/* x */' >> \
    '$T/ui/style.css' && [ \"\$(curl -s -o /dev/null -w '%{http_code}' \
    -H 'If-None-Match: $ETAG' '$U/ui/style.css')\" = 200 ]"
check "a missing file: 404" status_is 404 /ui/nothing.js
check "a link inside the folder is served" status_is 200 /ui/inside.css

# ---- no way out of the folder, no listing --------------------------------
check "../ refused" status_is 400 /ui/../../etc/passwd
check "%2e%2e refused" status_is 400 /ui/%2e%2e/%2e%2e/etc/passwd
check "%2E%2E/ mixed case refused" status_is 400 /ui/js/%2E%2E/%2E%2E/outside.txt
check "an encoded / refused" status_is 400 /ui/..%2f..%2foutside.txt
check "an encoded NUL refused" status_is 400 /ui/index.html%00.js
check "a backslash refused" status_is 400 '/ui/..%5c..%5coutside.txt'
check "./ refused" status_is 400 /ui/./index.html
check "a dot file refused" status_is 400 /ui/.hidden
check "a link out of the folder is not served" status_is 404 /ui/passwd.txt
check "... nor its content" sh -c "! grep -q root: '$T/b'"
check "a folder is never listed" status_is 400 /ui/js/
check "... nor without its slash" status_is 404 /ui/js
check "an empty segment refused" status_is 400 /ui//index.html
check "only GET and HEAD on /ui/" status_is 405 /ui/ -X POST

# ---- signing in -------------------------------------------------------------
check "sign-in without the CSRF header: 403" status_is 403 /v1/session \
    -X POST --data-binary "{\"token\":\"$ACME\"}"
check "... and no cookie" sh -c "! grep -qi '^Set-Cookie' '$T/h'"
check "a token in the URL signs nobody in" status_is 400 \
    "/v1/session?token=$ACME" -X POST -H 'X-Chime-CSRF: 1'
check "... nor reads /v1/session" status_is 401 "/v1/session?token=$ACME"
check "a body that is not {token}: 400" status_is 400 /v1/session -X POST \
    -H 'X-Chime-CSRF: 1' --data-binary '{"token":1}'
check "a bad token: 401 in words" sh -c "[ \"\$(curl -s -o '$T/bad' -w \
    '%{http_code}' -X POST -H 'X-Chime-CSRF: 1' --data-binary \
    '{\"token\":\"chime_00000000000000000000000000000000\"}' \
    '$U/v1/session')\" = 401 ] && jq -e '.reason == \"unknown\"' '$T/bad'"
check "sign in with the token in the body" status_is 200 /v1/session \
    -X POST -H 'X-Chime-CSRF: 1' -c "$T/acme.jar" \
    --data-binary "{\"token\":\"$ACME\"}"
COOKIE=$(header Set-Cookie)
case $COOKIE in
chime_session=*) pass "the answer sets the session cookie" ;;
*) fail "the answer sets the session cookie" "$COOKIE" ;;
esac
for attr in HttpOnly SameSite=Strict Path=/ Max-Age=43200; do
	case "; $COOKIE;" in
	*"; $attr;"*) pass "the cookie is $attr" ;;
	*) fail "the cookie is $attr" "$COOKIE" ;;
	esac
done
case $COOKIE in
*Secure*) fail "no Secure over plain HTTP" "$COOKIE" ;;
*) pass "no Secure over plain HTTP" ;;
esac
check "the session id is 64 random hex digits" sh -c "printf '%s' \
    '$COOKIE' | grep -Eq '^chime_session=[0-9a-f]{64};'"
check "... never the token" sh -c "! grep -q '$ACME' '$T/h'"
check "the answer says who, without the secret" sh -c "jq -e '.account ==
    \"acme\" and .admin == false and .scope == \"write\" and
    (.token | startswith(\"tok_\"))' '$T/b' && ! grep -q chime_ '$T/b'"
check "behind TLS (X-Forwarded-Proto: https) the cookie is Secure" sh -c "
    curl -s -o /dev/null -D - -X POST -H 'X-Chime-CSRF: 1' \
    -H 'X-Forwarded-Proto: https' --data-binary '{\"token\":\"$ACME\"}' \
    '$U/v1/session' | grep -i '^Set-Cookie:' | grep -q '; Secure'"
check "GET /v1/session says who is signed in" sh -c "curl -s -b \
    '$T/acme.jar' '$U/v1/session' | jq -e '.account == \"acme\" and
    .expires_at != null'"
check "... and nobody without the cookie" status_is 401 /v1/session

# ---- the cookie on /v1/rpc ------------------------------------------------
check "a cookie without the CSRF header: 403" status_is 403 /v1/rpc \
    -X POST -b "$T/acme.jar" --data-binary "$(rpcbody schedule.list)"
check "... which says what is missing" sh -c "jq -e '.reason |
    test(\"X-Chime-CSRF\")' '$T/b'"
check "... with another value: 403" status_is 403 /v1/rpc -X POST \
    -b "$T/acme.jar" -H 'X-Chime-CSRF: yes' \
    --data-binary "$(rpcbody schedule.list)"
check "the cookie and the header: the account's data" crpc_is \
    "$T/acme.jar" '.result.schedules | map(.name) == ["mine"]' schedule.list
check "... its analytics" crpc_is "$T/acme.jar" \
    '.result.current.runs == 1' analytics.summary
check "... and writes with a write token" crpc_is "$T/acme.jar" \
    '.result.name == "made"' schedule.create \
    '{"name":"made","operation":"quick","manual":true}'
check "a CORS preflight is never granted" status_is 405 /v1/rpc -X OPTIONS \
    -H 'Origin: https://evil.example' \
    -H 'Access-Control-Request-Method: POST' \
    -H 'Access-Control-Request-Headers: x-chime-csrf'
check "... and says nothing of CORS" sh -c "! grep -qi \
    '^Access-Control-Allow' '$T/h'"
check "Bearer callers are unchanged (no CSRF header needed)" status_is 200 \
    /v1/rpc -X POST -H "Authorization: Bearer $ACME" \
    --data-binary "$(rpcbody schedule.list)"
check "a made-up session: 401" status_is 401 /v1/rpc -X POST \
    -H 'X-Chime-CSRF: 1' -b "chime_session=$(printf '%064d' 7)" \
    --data-binary "$(rpcbody schedule.list)"
check "... which says so" sh -c "jq -e '.reason == \"session_unknown\"' '$T/b'"
check "/v1/events takes the cookie (EventSource sends no header)" sh -c "
    curl -s -N --max-time 2 -b '$T/acme.jar' '$U/v1/events' |
    grep -q '^event: start'"

# ---- a second account --------------------------------------------------------
check "the other account signs in" status_is 200 /v1/session -X POST \
    -H 'X-Chime-CSRF: 1' -c "$T/other.jar" \
    --data-binary "{\"token\":\"$OTHER\"}"
check "... sees only its own schedules" crpc_is "$T/other.jar" \
    '.result.schedules | map(.name) == ["theirs"]' schedule.list
check "... only its own accounts" crpc_is "$T/other.jar" \
    '.result.accounts | map(.name) == ["other"]' account.list
check "... not the first's analytics" crpc_is "$T/other.jar" \
    '.error.code == -32003' analytics.summary '{"account":"acme"}'
check "... nor its breakdown" crpc_is "$T/other.jar" \
    '.error.code == -32003' analytics.breakdown '{"account":"acme"}'
check "... nor its schedule" crpc_is "$T/other.jar" '.error.code == -32001' \
    schedule.get '{"id":"mine","account":"acme"}'
check "... its own summary has its own run" crpc_is "$T/other.jar" \
    '.result.current.runs == 1' analytics.summary
check "a read token's session cannot write" crpc_is "$T/other.jar" \
    '.error.code == -32003' schedule.create \
    '{"name":"x","operation":"quick","manual":true}'

# ---- the end of a session --------------------------------------------------
check "sign-out without the CSRF header: 403" status_is 403 /v1/session \
    -X DELETE -b "$T/acme.jar"
check "... and the session goes on" status_is 200 /v1/session -b "$T/acme.jar"
check "sign out: 204" status_is 204 /v1/session -X DELETE \
    -H 'X-Chime-CSRF: 1' -b "$T/acme.jar"
check "... which removes the cookie" sh -c "grep -i '^Set-Cookie:' '$T/h' |
    grep -q 'chime_session=;.*Max-Age=0'"
check "... and ends the session on the server" status_is 401 /v1/rpc \
    -X POST -H 'X-Chime-CSRF: 1' -b "$T/acme.jar" \
    --data-binary "$(rpcbody schedule.list)"
check "... for GET /v1/session too" status_is 401 /v1/session \
    -b "$T/acme.jar"

check "a session of a token" status_is 200 /v1/session -X POST \
    -H 'X-Chime-CSRF: 1' -c "$T/brief.jar" \
    --data-binary "{\"token\":\"$BRIEF\"}"
ctl token revoke "$(jq -r .id "$T/brief.json")" >/dev/null
check "... ends when the token is revoked" status_is 401 /v1/rpc -X POST \
    -H 'X-Chime-CSRF: 1' -b "$T/brief.jar" \
    --data-binary "$(rpcbody schedule.list)"
check "... which the answer says" sh -c "jq -e '.reason == \"revoked\"' '$T/b'"

# At most 16 sessions a token: a 17th ends the oldest.
check "a first session" status_is 200 /v1/session -X POST \
    -H 'X-Chime-CSRF: 1' -c "$T/first.jar" \
    --data-binary "{\"token\":\"$OTHER\"}"
i=0
while [ $i -lt 16 ]; do
	signin "$OTHER" "$T/more.jar" >/dev/null
	i=$((i + 1))
done
check "16 more sessions of one token end the oldest" status_is 401 \
    /v1/session -b "$T/first.jar"
check "... not the newest" status_is 200 /v1/session -b "$T/more.jar"

check "no token in the daemon's log" sh -c "! grep -q chime_session= '$LOG'"
finish
