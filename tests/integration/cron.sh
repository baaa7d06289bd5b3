#!/bin/sh
# Cron expressions through the real chimectl and chimed: the n-th and last
# weekday of the month ("#" and "L" in the day-of-week field), the search
# that reaches 2104-02-29 from 2096, the end of the instants computed, and
# expressions refused because no date matches them.
. "$(dirname "$0")/lib.sh"

# next EXPR ARGS...: the instants of "chimectl cron next" on one line.
next() {
	expr=$1
	shift
	"$CHIMECTL" cron next "$expr" "$@" | tr '\n' ' '
}

# next_is WANT EXPR ARGS...: "chimectl cron next" prints exactly WANT.
next_is() {
	want=$1
	shift
	got=$(next "$@")
	[ "$got" = "$want" ] || { echo "got '$got', want '$want'"; return 1; }
}

check "5#5: fifth Fridays, none in months without one" next_is \
    '2025-01-31T00:00:00Z 2025-05-30T00:00:00Z 2025-08-29T00:00:00Z 2025-10-31T00:00:00Z ' \
    '0 0 * * 5#5' --from 2025-01-01T00:00:00Z --count 4
check "FRI#5 is 5#5" next_is \
    '2025-01-31T00:00:00Z 2025-05-30T00:00:00Z ' \
    '0 0 * * FRI#5' --from 2025-01-01T00:00:00Z --count 2
check "1#1,5L: first Monday and last Friday" next_is \
    '2025-01-06T00:00:00Z 2025-01-31T00:00:00Z 2025-02-03T00:00:00Z 2025-02-28T00:00:00Z ' \
    '0 0 * * 1#1,5L' --from 2025-01-01T00:00:00Z --count 4
check "0L, 7L and SUN#L: last Sunday of February, 28 and 29 days" next_is \
    '2023-02-26T00:00:00Z 2024-02-25T00:00:00Z 2025-02-23T00:00:00Z ' \
    '0 0 * 2 0L' --from 2023-01-01T00:00:00Z --count 3
check "7L is 0L" next_is '2023-02-26T00:00:00Z 2024-02-25T00:00:00Z ' \
    '0 0 * 2 7L' --from 2023-01-01T00:00:00Z --count 2
check "sun#l is 0L" next_is '2023-02-26T00:00:00Z 2024-02-25T00:00:00Z ' \
    '0 0 * feb sun#l' --from 2023-01-01T00:00:00Z --count 2
check "13th OR second Friday (both days restricted)" next_is \
    '2025-01-10T00:00:00Z 2025-01-13T00:00:00Z 2025-02-13T00:00:00Z 2025-02-14T00:00:00Z ' \
    '0 0 13 * FRI#2' --from 2025-01-01T00:00:00Z --count 4
check "last Sunday of March, 02:30 in Berlin: shifted to 03:00 CEST" next_is \
    '2025-03-30T01:00:00Z 2026-03-29T01:00:00Z ' \
    '30 2 * 3 SUNL' --tz Europe/Berlin --from 2025-01-01T00:00:00Z --count 2
check "the shifted fire is tagged" sh -c "$CHIMECTL cron next '30 2 * 3 SUNL' --tz Europe/Berlin --from 2025-01-01T00:00:00Z --count 1 --verbose | grep -q '2025-03-30T02:30:00 Europe/Berlin  shifted'"
check "first Monday of the local month in Tokyo is a Sunday in UTC" next_is \
    '2025-08-03T16:00:00Z 2025-08-31T16:00:00Z ' \
    '0 1 * * MON#1' --tz Asia/Tokyo --from 2025-08-01T00:00:00Z --count 2

check "February 29 from 2096-03-01 is 2104-02-29" next_is \
    '2104-02-29T00:00:00Z 2108-02-29T00:00:00Z ' \
    '0 0 29 2 *' --from 2096-03-01T00:00:00Z --count 2
check "fifth Monday of February: 40 years from 2073" next_is \
    '2112-02-29T00:00:00Z ' \
    '0 0 * 2 MON#5' --from 2073-01-01T00:00:00Z --count 1
# Every fifth Monday of February up to 9999 (about 300 searches of up to
# 40 years each, then one that reaches the end): well within the limit.
check "a thousand rare fires are found at once" sh -c "timeout 20 $CHIMECTL cron next '0 0 * 2 MON#5' --from 2000-01-01T00:00:00Z --count 1000 >'$T/many' 2>&1; test \$(grep -c Z\$ '$T/many') -gt 250"
check "the short answer says where the search ended" grep -q \
    'no fire instant after 9988-02-29T00:00:00Z up to 9999-12-31T23:59:59Z' "$T/many"

check_fails "past 9999-12-31T23:59:59Z: exit 1" 1 "$CHIMECTL" cron next \
    '0 0 29 2 *' --from 9996-03-01T00:00:00Z
check "the message names the last instant" grep -q \
    'no fire instant after 9996-03-01T00:00:00Z up to 9999-12-31T23:59:59Z' "$T/last"
check_fails "a cadence inside the spring gap: exit 1" 1 "$CHIMECTL" cron next \
    '*/30 2 * 3 SUNL' --tz Europe/Berlin --from 2025-01-01T00:00:00Z
check "the message names the gap" grep -q \
    'within 400 years after 2025-01-01T00:00:00Z: .* daylight-saving gap of Europe/Berlin' "$T/last"

check_fails "5#6: exit 2" 2 "$CHIMECTL" cron next '0 0 * * 5#6'
check "5#6: the message" grep -q 'bad day-of-week field "5#6": "#" takes 1 to 5' "$T/last"
check_fails "5#0: exit 2" 2 "$CHIMECTL" cron next '0 0 * * 5#0'
check_fails "1-5#2: exit 2" 2 "$CHIMECTL" cron next '0 0 * * 1-5#2'
check "1-5#2: the message" grep -q 'bad day-of-week field "1-5#2": "#" and "L" follow a single weekday' "$T/last"
check_fails "*#2: exit 2" 2 "$CHIMECTL" cron next '0 0 * * *#2'
check_fails "L alone in day-of-week: exit 2" 2 "$CHIMECTL" cron next '0 0 * * L'
check "L alone: the message" grep -q '"L" follows a weekday' "$T/last"
check_fails "# in the minute field: exit 2" 2 "$CHIMECTL" cron next '1#2 0 * * *'
check_fails "February 30 never fires: exit 2" 2 "$CHIMECTL" cron next '0 0 30 2 *'
check "February 30: the message" grep -q 'never fires: day-of-month "30" does not occur in month "2"' "$T/last"
check_fails "*/8 and a fifth Sunday never meet: exit 2" 2 "$CHIMECTL" cron next '0 0 */8 * SUN#5'

# The daemon runs the same parser and search.
start_chimed
check "schedule with MON#1" ctl schedule create --name first-monday --op quick \
    --cron '0 9 * * MON#1' --tz Europe/Berlin
ctlj schedule next first-monday --count 3 >"$T/next.json"
check "its fires are first Mondays at 09:00 local" python3 -c "
import datetime, json, sys
for f in json.load(open('$T/next.json'))['next']:
    d = datetime.datetime.fromisoformat(f['local'])
    assert d.weekday() == 0 and d.day <= 7 and d.time() == datetime.time(9), f
"
first=$(jq -r '.next[0].utc' "$T/next.json")
before=$(python3 -c "
import datetime
t = datetime.datetime.fromisoformat('$first'.replace('Z', '+00:00'))
print((t - datetime.timedelta(seconds=1)).strftime('%Y-%m-%dT%H:%M:%SZ'))")
check "the daemon and chimectl cron next agree" sh -c "test -n '$before' && test \"\$(jq -r '.next[].utc' '$T/next.json' | tr '\n' ' ')\" = \"\$($CHIMECTL cron next '0 9 * * MON#1' --tz Europe/Berlin --from $before --count 3 | tr '\n' ' ')\""
check "schedule with February 29" ctl schedule create --name leap --op quick \
    --cron '0 0 29 2 *'
check "its next fires are February 29ths" sh -c "$CHIMECTL --socket $SOCK --json schedule next leap --count 3 | jq -e '[.next[].local | test(\"-02-29T00:00:00\$\")] | all and length == 3'"
check_fails "a cron that never fires is refused" 1 ctl schedule create \
    --name never --op quick --cron '0 0 31 4,6,9,11 *'
check "the reason says it never fires" grep -q 'never fires' "$T/last"
check_fails "and nothing was created" 1 ctl schedule get never
check_fails "a malformed # is refused" 1 ctl schedule create --name bad-nth \
    --op quick --cron '0 0 * * MON#6'
check "the reason names the day-of-week field" grep -q 'day-of-week' "$T/last"
# schedule.next without an id: the next fires of a schedule described by
# the parameters of schedule.create, checked by the same code, nothing
# written.  2:30 every day in New York: the March transition has no 2:30,
# which fires at 3:00 (shifted).
nschedules() { ctlj schedule list | jq '.schedules | length'; }
before_n=$(nschedules)
ctlj schedule next --op quick --cron '30 2 * * *' --tz America/New_York \
    --count 400 >"$T/spec.json"
check "a described cron's next fires, in its zone" jq -e \
    '.id == null and .tz == "America/New_York" and (.next | length) == 400' \
    "$T/spec.json"
check "the spring-forward 2:30 is shifted to 3:00 local" jq -e \
    '[.next[] | select(.dst == "shifted")] | length >= 1 and
     all(.local | endswith("T02:30:00"))' "$T/spec.json"
ctl schedule create --name ny --op quick --cron '30 2 * * *' \
    --tz America/New_York >/dev/null
ctlj schedule next ny --count 400 >"$T/ny.json"
check "the same as the schedule once created" sh -c \
    "test \"\$(jq -c .next '$T/spec.json')\" = \"\$(jq -c .next '$T/ny.json')\""
ctl schedule delete ny >/dev/null
ctlj schedule next --op quick --weekly 'mon 09:00' --tz Europe/Berlin \
    --count 2 >"$T/weekly.json"
check "a described weekly trigger" jq -e \
    '[.next[].local | endswith("T09:00:00")] | all and length == 2' \
    "$T/weekly.json"
ctlj schedule next --op quick --manual >"$T/manual.json"
check "a manual one has none" jq -e '.next == []' "$T/manual.json"
check "a bad cron is refused, naming the field" sh -c \
    "$CHIMECTL --socket $SOCK --json schedule next --op quick --cron '61 * * * *' 2>&1 >/dev/null |
    jq -e '.code == -32602 and .data.field == \"cron\" and
    (.data.reason | test(\"minute\"))'"
check "an unknown zone is refused, naming the field" sh -c \
    "$CHIMECTL --socket $SOCK --json schedule next --op quick --cron '0 9 * * *' --tz Mars/Base 2>&1 >/dev/null |
    jq -e '.code == -32602 and .data.field == \"tz\" and
    (.data.reason | test(\"Mars/Base\"))'"
check "no trigger is refused" sh -c \
    "$CHIMECTL --socket $SOCK --json schedule next --op quick 2>&1 >/dev/null |
    jq -e '.data.field == \"cron\" and (.data.reason | test(\"required\"))'"
check "an unknown operation is refused" sh -c \
    "$CHIMECTL --socket $SOCK --json schedule next --op nope --cron '0 9 * * *' 2>&1 >/dev/null |
    jq -e '.data.field == \"operation\"'"
check "describing writes nothing" test "$(nschedules)" = "$before_n"
finish
