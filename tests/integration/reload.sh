#!/bin/sh
# Schedules read back at start are the schedules that were written: every
# field of schedule.list the same after SIGTERM and after kill -9, for
# schedules that share strings (account, operation, parameters, trigger
# text: shared copies in memory) and schedules that do not (an "at", a
# webhook keyring, a paused one, a deliver), in several zones; and a row
# the fast read cannot take (a webhook's previous secret) still loads.
. "$(dirname "$0")/lib.sh"

start_chimed
check "create a cron schedule with model, parameters, note" ctl schedule create --name c1 --op quick --cron "0 9 15 * *" --tz Asia/Tokyo --param x=1 --model cheap-model --note hello --max-cost-month 3 --history 7 --priority 2
check "create another with the same operation, trigger and parameters" ctl schedule create --name c2 --op quick --cron "0 9 15 * *" --tz Asia/Tokyo --param x=1
check "create a paused 'at' schedule" ctl schedule create --name at1 --op quick --at 2099-03-01T10:00:00Z --paused
check "create a weekly schedule in Berlin" ctl schedule create --name w1 --op quick --weekly "mon 09:00" --tz Europe/Berlin
check "create an interval schedule with a deliver" ctl schedule create --name i1 --op quick --every 7h --email-to a@example.com
check "create a webhook schedule" ctl schedule create --name h1 --op quick --webhook --webhook-secret generated
check "rotate its secret (the old one kept: a keyring in its row)" ctl webhook rotate h1 --reason test
ctlj schedule list | jq -S '[.schedules[]]' > "$T/before.json"
ctlj webhook secrets h1 | jq -S . > "$T/secrets.json"
check "two secrets, the previous one among them" test "$(jq "[.. | objects | select(has(\"fingerprint\"))] | length" "$T/secrets.json")" = 2
check "six schedules listed" test "$(jq length "$T/before.json")" = 6

check "drain" stop_chimed
start_chimed
ctlj schedule list | jq -S '[.schedules[]]' > "$T/after.json"
check "after SIGTERM: every schedule as it was" cmp "$T/before.json" "$T/after.json"
ctlj webhook secrets h1 | jq -S . > "$T/secrets.after.json"
check "the webhook's secrets, the previous one among them, as they were" cmp "$T/secrets.json" "$T/secrets.after.json"

kill_chimed
start_chimed
ctlj schedule list | jq -S '[.schedules[]]' > "$T/after9.json"
check "after kill -9: every schedule as it was" cmp "$T/before.json" "$T/after9.json"
check "the loader says each phase" grep -q 'msg="schedules loaded" schedules=6 active=5 paused=1 unreadable=0 rows_ms=' "$LOG"
check "drain" stop_chimed
finish
