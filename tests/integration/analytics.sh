#!/bin/sh
# The analytics table with a real chimed: every run's end adds to its row
# in its own transaction, and replay (the fold, from the records alone)
# finds the same rows at each stop.  A journal written before the table
# existed (the table and its claim gone) gets it built from the log at the
# next start, once, in analytics.rebuilt records: replay then finds the
# rebuilt rows equal to the fold's, and a later start builds nothing.  A
# journal whose table has its day rows alone (as before the months,
# dekads and totals existed) gets those added up from the days, once.
. "$(dirname "$0")/lib.sh"

TAMPER=$B/tests/chime-test-tamper

# ended_runs NAME: how many runs of schedule NAME have ended.
ended_runs() {
	ctlj schedule runs "$1" --account acme | jq '[.runs[] |
	    select(.status != "running" and .status != "pending")] | length'
}

# runs_ended NAME N: at least N of them.
runs_ended() { [ "$(ended_runs "$1")" -ge "$2" ]; }

start_chimed
check "a new journal claims the table at its first start" sh -c \
    "'$JOURNAL' export '$DATA' | jq -se 'any(.[]; .kind ==
    \"analytics.rebuilt\" and .body.rows == 0 and .account == null)'"
ctl account create acme --tz America/New_York >/dev/null
ctl schedule create --account acme --name ok --op quick --manual >/dev/null
ctl schedule create --account acme --name bad --op fail --manual >/dev/null
for i in 1 2 3; do
	ctl schedule trigger ok --account acme >/dev/null
done
ctl schedule trigger bad --account acme >/dev/null
ctl schedule trigger bad --account acme >/dev/null
check "the runs end" wait_for 30 runs_ended ok 3
check "... and the failing ones" wait_for 30 runs_ended bad 2
# ---- analytics.summary, against the export --------------------------------
# expect_summary FILE: FILE (analytics.summary's answer for acme over the
# last week) holds the figures computed here from the export alone.
expect_summary() {
	"$JOURNAL" export "$DATA" >"$T/export.jsonl"
	python3 - "$T/export.jsonl" "$1" <<'PY'
import json, sys
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo
ny = ZoneInfo("America/New_York")
final = {"success", "failed", "cancelled", "interrupted", "skipped", "missed"}
ran = ["success", "failed", "cancelled", "interrupted"]
recs = [json.loads(l) for l in open(sys.argv[1])]
got = json.load(open(sys.argv[2]))
# today in New York when the daemon answered (a midnight may have passed
# since): the week ending then
to = datetime.strptime(got["to"], "%Y-%m-%d").date()
now = datetime.now(ny).date()
assert to in (now, now - timedelta(days=1)), (got, now)
frm = to - timedelta(days=6)
assert got["from"] == frm.isoformat() and got["days"] == 7, got
runs = {k: 0 for k in final}
cost, lat = 0, []
for r in recs:
    b = r["body"]
    if r["account"] != "acme" or not (r["kind"].startswith("run.") or
            r["kind"].startswith("op.")) or b.get("status") not in final:
        continue
    if "run_id" not in b or "operation" not in b:
        continue
    when = b["finished_us"] or b["scheduled_for_us"]
    day = datetime.fromtimestamp(when / 1e6, timezone.utc).astimezone(ny).date()
    if not (frm <= day <= to):
        continue
    runs[b["status"]] += 1
    if b["status"] in ran and b.get("cost_usd") is not None:
        cost += round(float(b["cost_usd"]) * 1000000)
    if b["status"] in ran and b["started_us"] > 0 and \
            b["finished_us"] >= b["started_us"]:
        lat.append(b["finished_us"] - b["started_us"])
cur = got["current"]
for k in final:
    assert cur[k] == runs[k], (k, cur[k], runs[k])
assert cur["runs"] == sum(runs[k] for k in ran), cur
assert cur["cost_usd"] == "%d.%06d" % divmod(cost, 1000000), (cur, cost)
n = sum(runs[k] for k in ran)
assert abs(cur["success_rate"] - runs["success"] / n) < 1e-9, cur
assert abs(cur["latency_avg_ms"] - sum(lat) / len(lat) / 1000) < 1e-6, cur
def bucket(us):
    ms, b = us // 1000, 0
    while b < 25 and ms >= (1 << b):
        b += 1
    return b
bs = sorted(bucket(x) for x in lat)
rank = (len(bs) * 95 + 99) // 100
assert cur["latency_p95_ms"] == 1 << bs[rank - 1], (cur, bs)
prev = got["previous"]
assert prev["runs"] == 0 and prev["success_rate"] is None, prev
assert got["change"]["runs"] == cur["runs"], got["change"]
PY
}
# expect_trends_models TRENDS MODELS: analytics.trends (runs, by day, last
# week) and analytics.models (last week) as the export says.
expect_trends_models() {
	"$JOURNAL" export "$DATA" >"$T/export.jsonl"
	python3 - "$T/export.jsonl" "$1" "$2" <<'PY'
import json, sys
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo
ny = ZoneInfo("America/New_York")
ran = ["success", "failed", "cancelled", "interrupted"]
recs = [json.loads(l) for l in open(sys.argv[1])]
tr = json.load(open(sys.argv[2]))
mo = json.load(open(sys.argv[3]))
to = datetime.strptime(tr["to"], "%Y-%m-%d").date()
frm = to - timedelta(days=6)
assert tr["from"] == frm.isoformat() and tr["granularity"] == "day", tr
days = defaultdict(int)
groups = defaultdict(lambda: {"runs": 0, "success": 0, "cost": 0,
                              "costed": 0, "lat": []})
for r in recs:
    b = r["body"]
    if r["account"] != "acme" or "run_id" not in b or \
            b.get("status") not in ran or not (r["kind"].startswith("run.")
            or r["kind"].startswith("op.")):
        continue
    when = b["finished_us"] or b["scheduled_for_us"]
    day = datetime.fromtimestamp(when / 1e6, timezone.utc).astimezone(ny).date()
    if not (frm <= day <= to):
        continue
    days[day] += 1
    if b.get("model") is None:
        continue
    g = groups[(b["operation"], b["model"])]
    g["runs"] += 1
    g["success"] += b["status"] == "success"
    if b.get("cost_usd") is not None:
        g["cost"] += round(float(b["cost_usd"]) * 1000000)
        g["costed"] += 1
    if b["started_us"] > 0 and b["finished_us"] >= b["started_us"]:
        g["lat"].append(b["finished_us"] - b["started_us"])
series = tr["series"]
assert len(series) == 7, series
for i, e in enumerate(series):
    d = frm + timedelta(days=i)
    assert e["start"] == d.isoformat() and e["value"] == days[d], (e, d)
def bucket(us):
    ms, b = us // 1000, 0
    while b < 25 and ms >= (1 << b):
        b += 1
    return b
want = sorted(groups)
got = [(m["operation"], m["model"]) for m in mo["models"]]
assert got == want and want, (got, want)
for m in mo["models"]:
    g = groups[(m["operation"], m["model"])]
    assert m["runs"] == g["runs"] and m["success"] == g["success"], (m, g)
    assert abs(m["success_rate"] - g["success"] / g["runs"]) < 1e-9, m
    c = g["cost"] // g["costed"] if g["costed"] else None
    assert m["cost_per_run_usd"] == (None if c is None else
                                     "%d.%06d" % divmod(c, 1000000)), (m, c)
    if g["lat"]:
        assert abs(m["latency_avg_ms"] - sum(g["lat"]) / len(g["lat"]) /
                   1000) < 1e-6, m
        bs = sorted(bucket(x) for x in g["lat"])
        assert m["latency_p95_ms"] == 1 << bs[(len(bs) * 95 + 99) // 100 - 1]
PY
}
check "analytics.trends and analytics.models for the last week" sh -c \
    "'$CHIMECTL' --socket '$SOCK' --json analytics trends --account acme \
    --metric runs --period week >'$T/trends.json' &&
    '$CHIMECTL' --socket '$SOCK' --json analytics models --account acme \
    --period week >'$T/models.json'"
check "... every figure as the export says" expect_trends_models \
    "$T/trends.json" "$T/models.json"
# expect_accuracy FILE: analytics.accuracy (last week) as the export says.
expect_accuracy() {
	"$JOURNAL" export "$DATA" >"$T/export.jsonl"
	python3 - "$T/export.jsonl" "$1" <<'PY'
import json, sys
from collections import defaultdict
recs = [json.loads(l) for l in open(sys.argv[1])]
got = json.load(open(sys.argv[2]))
ran = ["success", "failed", "cancelled", "interrupted"]
micro = lambda s: round(float(s) * 1000000)
ops = defaultdict(list)
for r in recs:
    b = r["body"]
    if r["account"] != "acme" or "run_id" not in b or \
            b.get("status") not in ran or b.get("cost_usd") is None:
        continue
    e = b.get("estimate_usd") or {}
    if e.get("mid") is None:
        continue
    cost, low, mid, high = (micro(b["cost_usd"]), micro(e["low"]),
                            micro(e["mid"]), micro(e["high"]))
    err = abs(cost - mid) * 1000000 // cost if cost > 0 else \
        (1000000 if mid > 0 else 0)
    ops[b["operation"]].append((low <= cost <= high, err))
bounds = [50000, 100000, 200000, 350000, 500000, 1000000]
pct = [5, 10, 20, 35, 50, 100]
def check(g, xs):
    n = len(xs)
    assert g["estimated"] == n, (g, n)
    if n == 0:
        return
    assert abs(g["within_range_share"] - sum(w for w, _ in xs) / n) < 1e-9
    assert abs(g["within_20pct_share"] -
               sum(e < 200000 for _, e in xs) / n) < 1e-9, g
    assert abs(g["mean_error_pct"] - sum(e for _, e in xs) / n / 10000) < 1e-6
    es = sorted(xs, key=lambda x: x[1])
    p90 = es[(n * 90 + 99) // 100 - 1][1]
    b = next((i for i, x in enumerate(bounds) if p90 < x), None)
    assert g["p90_error_pct"] == (pct[b] if b is not None else None), (g, p90)
assert [g["operation"] for g in got["operations"]] == sorted(ops), got
for g in got["operations"]:
    check(g, ops[g["operation"]])
check(got["total"], [x for xs in ops.values() for x in xs])
assert got["target_pct"] == 20
assert got["total"]["estimated"] > 0, got   # not an empty comparison
PY
}
check "analytics.accuracy for the last week" sh -c "'$CHIMECTL' --socket \
    '$SOCK' --json analytics accuracy --account acme --period week \
    >'$T/accuracy.json'"
check "... every figure as the export says" expect_accuracy \
    "$T/accuracy.json"
# expect_breakdown FILE BY: analytics.breakdown (last week) by BY as the
# export says.
expect_breakdown() {
	"$JOURNAL" export "$DATA" >"$T/export.jsonl"
	python3 - "$T/export.jsonl" "$1" "$2" <<'PY'
import json, sys
from collections import defaultdict
recs = [json.loads(l) for l in open(sys.argv[1])]
got = json.load(open(sys.argv[2]))
by = sys.argv[3]
ran = ["success", "failed", "cancelled", "interrupted"]
final = ran + ["skipped", "missed"]
parts = defaultdict(lambda: {"cost": 0, "runs": 0, "success": 0, "skipped": 0})
for r in recs:
    b = r["body"]
    if r["account"] != "acme" or "run_id" not in b or \
            b.get("status") not in final:
        continue
    v = {"operation": b["operation"], "model": b.get("model"),
         "schedule": b["schedule"], "account": r["account"]}[by] or "-"
    p = parts[v]
    if b["status"] in ran:
        p["runs"] += 1
        p["success"] += b["status"] == "success"
        if b.get("cost_usd") is not None:
            p["cost"] += round(float(b["cost_usd"]) * 1000000)
    p["skipped"] += b["status"] == "skipped"
tc = sum(p["cost"] for p in parts.values())
tr = sum(p["runs"] for p in parts.values())
assert got["by"] == by and sorted(x[by] for x in got["parts"]) == \
    sorted(parts) and parts, (got, dict(parts))
for x in got["parts"]:
    p = parts[x[by]]
    assert x["cost_usd"] == "%d.%06d" % divmod(p["cost"], 1000000), (x, p)
    assert x["runs"] == p["runs"] and x["success"] == p["success"], (x, p)
    assert x["skipped"] == p["skipped"], (x, p)
    if p["runs"]:
        assert abs(x["success_rate"] - p["success"] / p["runs"]) < 1e-9
        assert abs(x["runs_share"] - p["runs"] / tr) < 1e-9
    if tc:
        assert abs(x["cost_share"] - p["cost"] / tc) < 1e-9
    if by == "schedule":
        assert x["name"] in ("ok", "bad", "cheap", "capped"), x
costs = [round(float(x["cost_usd"]) * 1000000) for x in got["parts"]]
assert costs == sorted(costs, reverse=True), costs
assert got["total_cost_usd"] == "%d.%06d" % divmod(tc, 1000000), got
PY
}
check "analytics.breakdown by schedule" sh -c "'$CHIMECTL' --socket '$SOCK' \
    --json analytics breakdown --account acme --by schedule --period week \
    >'$T/by-schedule.json'"
check "... every figure as the export says" expect_breakdown \
    "$T/by-schedule.json" schedule
check "analytics.breakdown by model" sh -c "'$CHIMECTL' --socket '$SOCK' \
    --json analytics breakdown --account acme --by model --period week \
    >'$T/by-model.json'"
check "... every figure as the export says" expect_breakdown \
    "$T/by-model.json" model
check "... a bad dimension is refused" error_is -32602 ctlj analytics \
    breakdown --account acme --by colour
# ---- months and dekads: the rows above the days ---------------------------
# run_periods: from the export, "MFROM MTO DFROM DTO": the whole months,
# and the whole dekads (days 1-10, 11-20, 21-end), that hold every run of
# acme (its local days): a query over those reads a month's or a dekad's
# row in place of its days' (and the account's totals by account).
run_periods() {
	"$JOURNAL" export "$DATA" | python3 -c '
import calendar, json, sys
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo
ny = ZoneInfo("America/New_York")
days = []
for l in sys.stdin:
    r = json.loads(l)
    b = r["body"]
    if r["account"] == "acme" and "run_id" in b and b.get("status"):
        when = b.get("finished_us") or b["scheduled_for_us"]
        days.append(datetime.fromtimestamp(when / 1e6,
                    timezone.utc).astimezone(ny).date())
lo, hi = min(days), max(days)
last = calendar.monthrange(hi.year, hi.month)[1]
dek = lambda d: 1 if d.day <= 10 else 11 if d.day <= 20 else 21
dend = lambda d: (10 if d.day <= 10 else 20 if d.day <= 20
                 else calendar.monthrange(d.year, d.month)[1])
print(lo.replace(day=1), hi.replace(day=last), lo.replace(day=dek(lo)),
      hi.replace(day=dend(hi)))'
}
# check_rollups WHEN: breakdowns over whole months and dekads (their rows)
# as the export says of every run.
check_rollups() {
	set -- "$1" $(run_periods)
	for by in operation schedule model account; do
		check "$1: breakdown by $by over whole months ($2..$3)" sh -c \
		    "'$CHIMECTL' --socket '$SOCK' --json analytics breakdown \
		    --account acme --by $by --from $2 --to $3 >'$T/m-$by.json'"
		check "... as the export says" expect_breakdown \
		    "$T/m-$by.json" $by
		check "$1: breakdown by $by over whole dekads ($4..$5)" sh -c \
		    "'$CHIMECTL' --socket '$SOCK' --json analytics breakdown \
		    --account acme --by $by --from $4 --to $5 >'$T/d-$by.json'"
		check "... as the export says" expect_breakdown \
		    "$T/d-$by.json" $by
	done
}
check_rollups "run ends"
# expect_pace FILE: each cap of analytics.pace projects its month at the
# pace so far (spent / the month's elapsed share), and says when it is
# reached: now once spent, else null when the projection stays under it.
expect_pace() {
	python3 - "$1" <<'PY'
import json, sys
from datetime import datetime
got = json.load(open(sys.argv[1]))
micro = lambda s: round(float(s) * 1000000)
e = got["month_elapsed"]
assert 0 < e <= 1, got
assert got["caps"], got
for c in got["caps"]:
    spent, budget, proj = (micro(c["spent_usd"]), micro(c["budget_usd"]),
                           micro(c["projected_usd"]))
    assert abs(proj - spent / e) <= 1 + spent / e * 1e-6, (c, e)
    if spent >= budget:
        assert c["reaches_cap_at"] is not None, c
    elif proj <= budget:
        assert c["reaches_cap_at"] is None, c
PY
}
ctl schedule trigger bad --account acme >/dev/null
check "a third failure" wait_for 30 runs_ended bad 3
ctl account update acme --monthly-budget 1000 >/dev/null
check "analytics.pace with a cap the month will not reach" sh -c \
    "'$CHIMECTL' --socket '$SOCK' --json analytics pace --account acme \
    >'$T/pace.json'"
check "... projected at the pace so far" expect_pace "$T/pace.json"
check "... not reached" json_ok '.caps[0].reaches_cap_at == null' ctlj \
    analytics pace --account acme
ctl account update acme --monthly-budget 0.000001 >/dev/null
check "a cap already spent: reached" json_ok \
    '.caps[0].reaches_cap_at != null and .caps[0].exceeded' ctlj \
    analytics pace --account acme
ctlj analytics recommendations --account acme >"$T/advice.json"
check "recommendations: the failing schedule, with its figures" jq -e \
    '[.recommendations[] | select(.kind == "failing_schedule" and
    .target == "bad" and .evidence.failed == 3 and .evidence.ran == 3 and
    .runs == 3 and (.command | startswith("chimectl schedule pause bad")))]
    | length == 1' "$T/advice.json"
check "... the account's budget that runs out, with its date" jq -e \
    '[.recommendations[] | select(.kind == "budget_runs_out" and
    .target == "acme" and .evidence.reaches_cap_at != null and
    (.command | startswith("chimectl account update acme --monthly-budget")))]
    | length == 1' "$T/advice.json"
check "... each with the call that applies it" jq -e \
    '([.recommendations[] | select(.kind == "failing_schedule" and
    .apply.method == "schedule.pause" and .apply.params.account == "acme" and
    .apply.params.note == "fails 3 of 3 runs" and
    .apply.params.id == .evidence.schedule and
    (.command | contains("--note \"fails 3 of 3 runs\"")))] | length == 1)
    and ([.recommendations[] | select(.kind == "budget_runs_out" and
    .apply.method == "account.update" and .apply.params.name == "acme" and
    (.apply.params.monthly_budget as $b | .command |
    endswith("--monthly-budget " + $b)))] | length == 1)' "$T/advice.json"
check "... and nothing without figures" jq -e \
    'all(.recommendations[]; .evidence != {} and (.command | length) > 0)' \
    "$T/advice.json"
CMD=$(jq -r '.recommendations[] | select(.kind == "failing_schedule") |
    .command' "$T/advice.json")
check "the command applies it" env PATH="$(dirname "$CHIMECTL"):$PATH" \
    CHIME_SOCKET="$SOCK" sh -c "$CMD"
check "... the schedule is paused" json_ok '.state == "paused"' ctlj \
    schedule get bad --account acme
check "... and no longer recommended" sh -c "'$CHIMECTL' --socket '$SOCK' \
    --json analytics recommendations --account acme | jq -e \
    '[.recommendations[] | select(.kind == \"failing_schedule\")] |
    length == 0'"
ctl schedule resume bad --account acme >/dev/null
ctl account update acme --monthly-budget 0 >/dev/null
# ---- a cheaper model: from the catalog's prices, then measured ------------
# quick costs 0.002000 a run on test-model (1000 and 500 tokens at 1.00
# and 2.00 a million); cheap-model's prices are a tenth of those.
n=$(ended_runs ok)
while [ "$n" -lt 10 ]; do
	ctl schedule trigger ok --account acme >/dev/null
	n=$((n + 1))
done
check "ten runs of quick on test-model" wait_for 30 runs_ended ok 10
ctlj analytics recommendations --account acme >"$T/advice.json"
check "recommendations: a model no run measured, from the catalog's prices" \
    jq -e '[.recommendations[] | select(.kind == "cheaper_model" and
    .target == "quick" and .evidence.model == "test-model" and
    .evidence.cheaper == "cheap-model" and .evidence.measured == false and
    .evidence.basis == "catalog prices" and .evidence.price_ratio == 0.1 and
    .evidence.cheaper_success_rate == null and .evidence.cheaper_runs == 0 and
    .evidence.cost_per_run_usd == "0.002000" and
    .evidence.cheaper_cost_per_run_usd == "0.000200" and
    .runs == .evidence.model_runs and .runs == 10 and
    .monthly_saving_usd == "0.018000" and
    .command == "chimectl prefs set --account acme --op quick --preferred-model cheap-model" and
    .apply == {"method": "prefs.set", "params": {"account": "acme",
    "operation": "quick", "preferred_model": "cheap-model"}})]
    | length == 1' "$T/advice.json"
ctl schedule create --account acme --name cheap --op quick --model \
    cheap-model --manual >/dev/null
for i in 1 2 3 4 5 6 7 8 9 10; do
	ctl schedule trigger cheap --account acme >/dev/null
done
check "ten runs of quick on cheap-model" wait_for 30 runs_ended cheap 10
ctlj analytics recommendations --account acme >"$T/advice.json"
check "... then measured: cost and success of both, on their runs" jq -e \
    '[.recommendations[] | select(.kind == "cheaper_model" and
    .target == "quick" and .evidence.model == "test-model" and
    .evidence.cheaper == "cheap-model" and .evidence.measured == true and
    .evidence.cheaper_runs == 10 and .evidence.cheaper_success_rate == 1 and
    .evidence.cheaper_cost_per_run_usd == "0.000200" and
    .runs == .evidence.model_runs + 10)] | length == 1' "$T/advice.json"
check "... and no longer from the prices" jq -e \
    '[.recommendations[] | select(.kind == "cheaper_model" and
    .evidence.measured == false)] | length == 0' "$T/advice.json"
# ---- a schedule its cap skips --------------------------------------------
ctl schedule create --account acme --name capped --op quick --manual \
    --max-cost-month 0.000001 --force >/dev/null
ctl schedule trigger capped --account acme >/dev/null
check "a run of capped ends" wait_for 30 runs_ended capped 1
check "... skipped by the cap" json_ok '.runs[0].status == "skipped"' ctlj \
    schedule runs capped --account acme
ctlj analytics recommendations --account acme >"$T/advice.json"
check "recommendations: the schedule its cap skips, and the call that \
doubles the cap" jq -e '[.recommendations[] | select(.kind ==
    "skipped_by_cap" and .target == "capped" and
    .evidence.max_cost_month_usd == "0.000001" and
    .apply.method == "schedule.update" and .apply.params.account == "acme"
    and .apply.params.id == .evidence.schedule and
    .apply.params.max_cost_month == "0.000002" and
    (.command | endswith("--max-cost-month 0.000002")))] | length == 1' \
    "$T/advice.json"
# sparkline_of FILE N: FILE's last line is a sparkline of N values, the
# largest the full block.
sparkline_of() {
	python3 - "$1" "$2" <<'PY'
import sys
line = open(sys.argv[1], encoding="utf-8").read().rstrip("\n").split("\n")[-1]
spark, _, tail = line.partition("  (max ")
assert len(spark) == int(sys.argv[2]), line
assert all("\u2581" <= c <= "\u2588" for c in spark), line
assert "\u2588" in spark and tail.endswith(")"), line   # the max is full
PY
}
check "chimectl prints trends with a sparkline" sh -c "'$CHIMECTL' --socket \
    '$SOCK' analytics trends --account acme --metric runs --period week \
    >'$T/trends.txt'"
check "... one block a day" sparkline_of "$T/trends.txt" 7
check "... a bad metric is refused" error_is -32602 ctlj analytics trends \
    --account acme --metric speed
check "... weeks: one entry for 7 days" json_ok \
    '.series | length == 2 and .[0].start == "2026-01-01" and
    .[1].start == "2026-01-08"' ctlj analytics trends --account acme \
    --from 2026-01-01 --to 2026-01-14 --granularity week
check "analytics.summary for the last week" sh -c "'$CHIMECTL' --socket \
    '$SOCK' --json analytics summary --account acme --period week \
    >'$T/summary.json'"
check "... every figure as the export says" expect_summary "$T/summary.json"
check "... a bad period is refused" error_is -32602 ctlj analytics summary \
    --account acme --period fortnight
check "... and a day that is none" error_is -32602 ctlj analytics summary \
    --account acme --from 2026-02-30
check "... an account the caller may not see is not found" error_is -32001 \
    ctlj analytics summary --account nobody
check "stop: replay finds the rows the runs added" stop_chimed

"$TAMPER" "$DATA/journal" forget-analytics
start_chimed
check "a journal without the table gets it built from the log" grep -q \
    'msg="analytics table built from the log" .* runs=[1-9]' "$LOG"
check "... in an analytics.rebuilt record with the claim" sh -c \
    "[ \"\$('$JOURNAL' export '$DATA' | jq -s '[.[] | select(.kind ==
    \"analytics.rebuilt\" and .body.rows_total > 0)] | length')\" = 1 ]"
n=$(ended_runs ok)
ctl schedule trigger ok --account acme >/dev/null
check "a run after it" wait_for 30 runs_ended ok $((n + 1))
check "stop: replay finds the rebuilt rows and the new run's" stop_chimed
start_chimed
check "built once: a later start builds nothing" sh -c \
    "[ \"\$(grep -c 'msg=\"analytics table built from the log\"' '$LOG')\" \
    = 2 ]"
check "stop again" stop_chimed

"$TAMPER" "$DATA/journal" forget-analytics-sums
start_chimed
SUMS='msg="analytics months, dekads and totals added up from the day rows"'
check "a table of days alone gets its months, dekads and totals added up" \
    grep -q "$SUMS day_rows=[1-9]" "$LOG"
check_rollups "added up from the days"
check "stop: replay finds the sums equal to the fold's" stop_chimed

finish
