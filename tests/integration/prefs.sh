#!/bin/sh
# Preferences and budgets through the real socket: prefs set/get, a bulk
# change of five operations is one journal record, an invalid entry writes
# nothing, the UI document is kept as given, budget.status shows each cap,
# and everything survives a restart.  The last part checks what the
# dispatcher does with them (preferred model, default parameters, spend,
# account and operation budgets, disabled operations).
. "$(dirname "$0")/lib.sh"

# ctl_error CODE FIELD ARGS...: the command fails with error CODE whose
# data.field is FIELD ("-" for none).
ctl_error() {
	code=$1
	field=$2
	shift 2
	ctlj "$@" 2>"$T/err" >/dev/null && return 1
	jq -e --argjson c "$code" --arg f "$field" \
	    '.code == $c and ($f == "-" or .data.field == $f)' "$T/err" >/dev/null
}
seq_now() { ctlj daemon status | jq .journal.seq; }

# No checkpoints by time: one of the writer's own could land between the
# two reads of the journal's head around the refused requests below.
start_chimed --checkpoint-interval 0

# ---- prefs.set / prefs.get -------------------------------------------------
check "set quick's preferences" ctl prefs set --op quick \
    --preferred-model cheap-model --default-parameters lang=en \
    --default-parameters n=2 --monthly-budget 3.50
check "prefs.get shows them" json_ok '.preferred_model == "cheap-model" and .default_parameters == {"lang": "en", "n": 2} and .monthly_budget_usd == "3.500000" and .enabled == true' ctlj prefs get --op quick
check "only the given fields change" ctl prefs set --op quick --no-enabled
check "the others are kept" json_ok '.enabled == false and .preferred_model == "cheap-model" and .monthly_budget_usd == "3.500000"' ctlj prefs get --op quick
check "an operation never set shows the defaults" json_ok '.enabled == true and .preferred_model == null and .default_parameters == {}' ctlj prefs get --op gate
check "the account's listing has quick only" json_ok '[.operations[].operation] == ["quick"]' ctlj prefs get
check "human table output" sh -c "$CHIMECTL --socket $SOCK prefs get | grep -q 'quick *cheap-model *false'"
check "--all: every operation of the catalog, set or not, with the models" \
    json_ok '[.operations[].operation] == ["fail", "flaky", "gate",
    "gate-idem", "quick", "sleeper"] and (.operations[] |
    select(.operation == "quick") | .preferred_model == "cheap-model" and
    .default_model == "test-model") and (.operations[] |
    select(.operation == "gate") | .enabled and .updated == null and
    .preferred_model == null) and [.models[].id] == ["cheap-model",
    "test-model"] and .ui != null' ctlj prefs get --all
check "... not with one operation" ctl_error -32602 all prefs get --all \
    --op quick

seq0=$(seq_now)
check "an unknown model is refused" ctl_error -32602 preferred_model prefs set --op quick --preferred-model nope
check "an unknown operation is refused" ctl_error -32602 operation prefs set --op nope --enabled
check "nothing to change is refused" ctl_error -32602 operation prefs set --op quick
check "an unknown account is not found" ctl_error -32001 account prefs set --op quick --enabled --account nosuch
check "refused changes wrote nothing" test "$(seq_now)" = "$seq0"

# ---- prefs.bulk_set --------------------------------------------------------
seq0=$(seq_now)
check "bulk_set of five operations" ctl prefs bulk_set --operations '{
    "quick": {"enabled": true},
    "gate": {"preferred_model": "cheap-model", "monthly_budget": "1"},
    "gate-idem": {"default_parameters": {"x": 1}},
    "fail": {"enabled": false},
    "flaky": {"preferred_model": "test-model"}}'
seq1=$(seq_now)
check "it is one journal record" test "$seq1" -eq $((seq0 + 1))
export_journal
check "the record is prefs.bulk_set with five operations" jq -e -s \
    "[.[] | select(.seq > $seq0)] | length == 1 and .[0].kind == \"prefs.bulk_set\" and (.[0].body.operations | keys) == [\"fail\", \"flaky\", \"gate\", \"gate-idem\", \"quick\"]" \
    "$T/export.jsonl"
check "all five took effect" json_ok '[.operations[].operation] == ["fail", "flaky", "gate", "gate-idem", "quick"] and ([.operations[] | select(.operation == "fail")][0].enabled == false)' ctlj prefs get

check "an invalid entry refuses the whole bulk_set, naming it" ctl_error -32602 operations.gate.preferred_model prefs bulk_set --operations '{
    "quick": {"enabled": false},
    "gate": {"preferred_model": "nope"},
    "fail": {"enabled": true}}'
check "an unknown key is refused with its path" ctl_error -32602 operations.quick.colour prefs bulk_set --operations '{"quick": {"colour": "red"}}'
check "the refused bulk_set wrote nothing (journal seq unchanged)" test "$(seq_now)" = "$seq1"
check "and changed nothing" json_ok '([.operations[] | select(.operation == "quick")][0].enabled == true) and ([.operations[] | select(.operation == "fail")][0].enabled == false)' ctlj prefs get

# ---- the UI document -------------------------------------------------------
check "set the UI preferences" ctl prefs set_ui --color-scheme dark \
    --accent-color '#0A0b0c' --compact-mode \
    --list-views '{"runs": {"columns": ["run_id", "status"], "sort": "-started", "page_size": 50}}'
check "they are returned as given" json_ok '.ui == {"color_scheme": "dark", "accent_color": "#0A0b0c", "compact_mode": true, "list_views": {"runs": {"columns": ["run_id", "status"], "sort": "-started", "page_size": 50}}}' ctlj prefs get
check "a bad page size is refused with its path" ctl_error -32602 list_views.runs.page_size prefs set_ui --list-views '{"runs": {"page_size": 501}}'
check "a bad colour is refused" ctl_error -32602 accent_color prefs set_ui --accent-color red
check "one key changes alone" ctl prefs set_ui --color-scheme light
check "the rest is kept" json_ok '.ui.color_scheme == "light" and .ui.compact_mode == true and .ui.list_views.runs.page_size == 50' ctlj prefs get

# ---- budget.status ---------------------------------------------------------
check "give default a monthly budget" ctl account update default --monthly-budget 10
check "a schedule with its own cap" ctl schedule create --name capped \
    --op quick --manual --param n=5 --max-cost-month 2
check "budget status lists each cap" json_ok '[.caps[] | [.kind, .name]] == [["account_monthly_budget", "default"], ["operation_monthly_budget", "gate"], ["operation_monthly_budget", "quick"], ["schedule_max_cost_month", "capped"]]' ctlj budget status
check "the account cap shows budget and what is left" json_ok '.caps[0].budget_usd == "10.000000" and .caps[0].left_usd == "10.000000" and (.caps[0].month | test("^[0-9]{4}-[0-9]{2}$"))' ctlj budget status
check "human table output" sh -c "$CHIMECTL --socket $SOCK budget status | grep -q '^operation_monthly_budget *quick'"
check "an account in another zone has its own month" ctl account create kiwi --tz Pacific/Kiritimati --monthly-budget 1
check "its status names its zone" json_ok '.tz == "Pacific/Kiritimati" and .caps[0].kind == "account_monthly_budget"' ctlj budget status --account kiwi

# ---- restart ---------------------------------------------------------------
check "SIGTERM drains and exits 0" stop_chimed
start_chimed
check "preferences survive a restart" json_ok '.preferred_model == "cheap-model" and .default_parameters == {"lang": "en", "n": 2} and .monthly_budget_usd == "3.500000"' ctlj prefs get --op quick
check "the UI document survives a restart" json_ok '.ui.color_scheme == "light" and .ui.accent_color == "#0A0b0c"' ctlj prefs get
check "the account budget survives a restart" json_ok '.caps[0].budget_usd == "10.000000"' ctlj budget status

# ---- needs dispatch wiring -------------------------------------------------
# Everything below checks what the dispatcher does with the preferences and
# budgets (actors/dispatch.c: prefs_lookup, prefs_merge_parameters,
# budget_check / budget_reserve / budget_settle / budget_release).

# needs dispatch wiring: the preferred model is used when the schedule has
# none; default parameters go under the schedule's (the schedule wins).
check "trigger a run of quick" ctl schedule trigger capped
check "it succeeds" wait_for 20 runs_with capped success 1
check "it ran with the preferred model" json_ok '.model == "cheap-model"' ctlj run get capped:1   # needs dispatch wiring
check "its parameters are the defaults under the schedule's" json_ok '.parameters == {"lang": "en", "n": 5}' ctlj run get capped:1   # needs dispatch wiring

# needs dispatch wiring: the run's cost is the account's and the
# operation's month-to-date spend, written with the run's end.
check "the spend shows in budget status" json_ok '.spent_usd == "0.000200" and ([.caps[] | select(.name == "quick")][0].spent_usd == "0.000200")' ctlj budget status   # needs dispatch wiring
check "SIGTERM drains and exits 0 (spend)" stop_chimed
start_chimed
check "the spend survives a restart" json_ok '.spent_usd == "0.000200"' ctlj budget status   # needs dispatch wiring

# needs dispatch wiring: a run that would pass the account's monthly
# budget is skipped (reason budget) and a manual trigger answered -32004.
check "lower default's budget under the next run" ctl account update default --monthly-budget 0.0003
check "the trigger is refused: account budget" ctl_error -32004 - schedule trigger capped   # needs dispatch wiring
check "the run is recorded skipped for its budget" json_ok '.runs[0].status == "skipped" and .runs[0].reason == "budget"' ctlj schedule runs capped   # needs dispatch wiring

# needs dispatch wiring: the same for the operation's monthly budget.
check "no account budget" ctl account update default --monthly-budget 0
check "resume the schedule if the budget paused it" sh -c "$CHIMECTL --socket $SOCK schedule resume capped || true"
check "quick's budget is what was spent" ctl prefs set --op quick --monthly-budget 0.0002
check "the trigger is refused: operation budget" ctl_error -32004 - schedule trigger capped   # needs dispatch wiring

# needs dispatch wiring: an operation disabled in the account's
# preferences does not run.
check "disable gate" ctl prefs set --op gate --no-enabled
check "a schedule of gate" ctl schedule create --name gated --op gate --manual
check "its trigger is refused" ctl_error -32002 - schedule trigger gated   # needs dispatch wiring
check "its run is recorded skipped, disabled" json_ok '.runs[0].status == "skipped" and .runs[0].reason == "disabled"' ctlj schedule runs gated   # needs dispatch wiring
touch "$T/release"

check "the journal verifies" "$JOURNAL" verify "$DATA"
check "SIGTERM drains and exits 0 (end)" stop_chimed
finish
