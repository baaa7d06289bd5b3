/*
 * ctl/method-schedule.c: the schedule.* methods as the protocol knows them: names,
 * parameters, flags and table columns, shared by the daemon and chimectl.
 * The daemon's handlers are in daemon/method-schedule.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

#define P_ID \
	{ .name = "id", .type = CTL_P_STRING, \
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL, \
	    .help = "schedule id or name" }
#define P_CONFIG \
	{ .name = "operation", .type = CTL_P_STRING, .alias = "op", \
	    .help = "operation of the catalog" }, \
	{ .name = "cron", .type = CTL_P_STRING, \
	    .help = "cron expression (5 or 6 fields, @daily..., FRI#2, " \
	        "5L: nth and last weekday)" }, \
	{ .name = "weekly", .type = CTL_P_STRING, \
	    .help = "weekly cadence: \"mon 09:00\"" }, \
	{ .name = "monthly", .type = CTL_P_STRING, \
	    .help = "monthly cadence: \"15 09:00\", \"last 18:00\"" }, \
	{ .name = "interval", .type = CTL_P_DURATION, .alias = "every", \
	    .help = "fixed interval: \"30s\", \"5m\"" }, \
	{ .name = "at", .type = CTL_P_TIME, \
	    .help = "once, at an RFC 3339 instant" }, \
	{ .name = "manual", .type = CTL_P_BOOL, \
	    .help = "no timed trigger; run by hand" }, \
	{ .name = "webhook", .type = CTL_P_BOOL, \
	    .help = "triggered by signed POST /v1/hooks/ID" }, \
	{ .name = "webhook_secret", .type = CTL_P_STRING, \
	    .help = "webhook secret: env:NAME, file:PATH, exec:COMMAND or " \
	        "generated (shown once)" }, \
	{ .name = "webhook_tolerance", .type = CTL_P_INT, \
	    .help = "webhook timestamp tolerance, seconds (default 300)" }, \
	{ .name = "webhook_style", .type = CTL_P_STRING, \
	    .help = "webhook signature style: standard (default), github " \
	        "or stripe" }, \
	{ .name = "tz", .type = CTL_P_STRING, \
	    .help = "IANA time zone (default UTC)" }, \
	{ .name = "parameters", .type = CTL_P_OBJECT, .alias = "param", \
	    .help = "operation parameters (k=v)" }, \
	{ .name = "model", .type = CTL_P_STRING, \
	    .help = "model (default: the operation's)" }, \
	{ .name = "max_cost_month", .type = CTL_P_USD, \
	    .help = "monthly cost cap in USD" }, \
	{ .name = "overlap", .type = CTL_P_STRING, \
	    .help = "skip, queue_one, allow, cancel_previous" }, \
	{ .name = "overlap_limit", .type = CTL_P_INT, \
	    .help = "runs at once with overlap allow" }, \
	{ .name = "catchup", .type = CTL_P_STRING, \
	    .help = "skip, latest, all" }, \
	{ .name = "catchup_window", .type = CTL_P_DURATION, \
	    .help = "how far back catch-up looks" }, \
	{ .name = "priority", .type = CTL_P_INT, \
	    .help = "1 (low) to 10 (high), default 5" }, \
	{ .name = "history", .type = CTL_P_INT, \
	    .help = "runs kept for schedule.runs (default 100)" }, \
	{ .name = "note", .type = CTL_P_STRING, \
	    .help = "free text" }, \
	{ .name = "email_to", .type = CTL_P_STRINGS, .max = 50, \
	    .help = "mail each run's report to ADDRESS (repeatable or a " \
	        "comma list, at most 50; \"none\": stop mailing)" }, \
	{ .name = "email_on", .type = CTL_P_STRING, \
	    .help = "when to mail: success (default), failure, always" }, \
	{ .name = "email_subject", .type = CTL_P_STRING, \
	    .help = "subject template: {schedule} {status} {run} " \
	        "{account} {operation} {date}" }, \
	{ .name = "email_attach", .type = CTL_P_BOOL, \
	    .help = "attach the result as result.json" }, \
	{ .name = "deliver", .type = CTL_P_OBJECT, \
	    .help = "delivery as one object: email_to, on, subject, " \
	        "attach_result ({} stops it)" }

static const struct ctl_param p_create[] = {
	{ .name = "name", .type = CTL_P_STRING, .flags = CTL_P_REQUIRED,
	    .help = "unique name in the account" },
	{ .name = "batch", .type = CTL_P_OBJECT,
	    .help = "target: a batch definition (as batch.create's; -f "
	        "FILE), created and started at each fire" },
	P_CONFIG,
	{ .name = "paused", .type = CTL_P_BOOL,
	    .help = "create paused" },
	{ .name = "force", .type = CTL_P_BOOL,
	    .help = "accept a cap that one run's estimate passes on its "
	        "own" },
	{ .name = "dry_run", .type = CTL_P_BOOL,
	    .help = "validate and show the cost estimate; create nothing" },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_apply[] = {
	{ .name = "schedules", .type = CTL_P_OBJECT,
	    .help = "required: the account's schedules, keyed by name, each "
	        "with schedule.create's fields (-f FILE: {\"schedules\": "
	        "[...]})" },
	{ .name = "prune", .type = CTL_P_BOOL,
	    .help = "delete the account's schedules the set does not name" },
	{ .name = "dry_run", .type = CTL_P_BOOL,
	    .help = "show what would change; change nothing" },
	{ .name = "force", .type = CTL_P_BOOL,
	    .help = "accept caps that one run's estimate passes on its own" },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
/* One entry of schedule.apply: schedule.create's fields but dry_run and
 * account ("name", when given, is the entry's key). */
static const struct ctl_param p_apply_entry[] = {
	{ .name = "name", .type = CTL_P_STRING,
	    .help = "the entry's key" },
	{ .name = "batch", .type = CTL_P_OBJECT,
	    .help = "target: a batch definition" },
	P_CONFIG,
	{ .name = "paused", .type = CTL_P_BOOL,
	    .help = "created paused (only when the entry creates it)" },
	{ .name = "force", .type = CTL_P_BOOL,
	    .help = "accept a cap that one run's estimate passes on its "
	        "own" },
	{ .name = NULL }
};
const struct ctl_method ctl_schedule_apply_entry = {
	.name = "schedule.apply entry",
	.summary = "one schedule of schedule.apply",
	.params = p_apply_entry,
};
static const struct ctl_param p_estimate[] = {
	{ .name = "id", .type = CTL_P_STRING, .flags = CTL_P_POSITIONAL,
	    .help = "an existing schedule (else the one the other "
	        "parameters describe)" },
	{ .name = "name", .type = CTL_P_STRING,
	    .help = "name (ignored)" },
	P_CONFIG,
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_update[] = {
	P_ID,
	{ .name = "name", .type = CTL_P_STRING,
	    .help = "new name" },
	{ .name = "force", .type = CTL_P_BOOL,
	    .help = "accept a cap that one run's estimate passes on its "
	        "own" },
	{ .name = "batch", .type = CTL_P_OBJECT,
	    .help = "new batch target (-f FILE)" },
	P_CONFIG,
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_id[] = {
	P_ID,
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_list[] = {
	{ .name = "account", .type = CTL_P_STRING,
	    .help = "only this account (default: every account you may "
	        "act for)" },
	{ .name = "state", .type = CTL_P_STRING,
	    .help = "only active or paused ones" },
	{ .name = "operation", .type = CTL_P_STRING, .alias = "op",
	    .help = "only those of this operation" },
	{ .name = "name", .type = CTL_P_STRING,
	    .help = "only names matching this glob (\"nightly-*\", "
	        "\"job[0-9]\")",
	    .min = 1, .max = CTL_MAX_GLOB },
	{ .name = "limit", .type = CTL_P_INT,
	    .help = "at most this many (default 1000, at most 100000)",
	    .min = 1, .max = CTL_MAX_LIST },
	{ .name = "cursor", .type = CTL_P_STRING,
	    .help = "the next_cursor of the previous page" },
	{ .name = "sort", .type = CTL_P_STRING,
	    .help = "name (default), operation, state, next_fire, "
	        "last_fire or cost_month; -KEY for the reverse" },
	{ .name = "last_run", .type = CTL_P_BOOL,
	    .help = "add each schedule's newest run (status, error)" },
	{ .name = NULL }
};
static const struct ctl_param p_pause[] = {
	P_ID,
	{ .name = "note", .type = CTL_P_STRING,
	    .help = "why" },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_trigger[] = {
	P_ID,
	{ .name = "idempotency_key", .type = CTL_P_STRING, .alias = "key",
	    .help = "a second trigger with this key returns the first run",
	    .min = 1, .max = CTL_MAX_KEY },
	{ .name = "parameters", .type = CTL_P_OBJECT, .alias = "param",
	    .help = "parameters merged over the schedule's (k=v)" },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_runs[] = {
	P_ID,
	{ .name = "limit", .type = CTL_P_INT,
	    .help = "newest first, at most this many (default 20)",
	    .min = 1, .max = CTL_MAX_RUNS },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_next[] = {
	{ .name = "id", .type = CTL_P_STRING, .flags = CTL_P_POSITIONAL,
	    .help = "an existing schedule (else the one the other "
	        "parameters describe)" },
	{ .name = "name", .type = CTL_P_STRING,
	    .help = "name (ignored)" },
	P_CONFIG,
	{ .name = "count", .type = CTL_P_INT,
	    .help = "how many (default 5, at most 1000)",
	    .min = 1, .max = CTL_MAX_NEXT },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};

const struct ctl_method ctl_methods_schedule[] = {
	{
		.name = "schedule.create",
		.summary = "create a schedule",
		.params = p_create,
		.target = CTL_T_ACCOUNT,
		.flags = CTL_M_NEW,
	},
	{
		.name = "schedule.apply",
		.summary = "make an account's schedules match a set (one record: "
		    "created, updated, unchanged, deleted with --prune)",
		.params = p_apply,
		.target = CTL_T_ACCOUNT,
	},
	{
		.name = "schedule.get",
		.summary = "show a schedule",
		.params = p_id,
		.target = CTL_T_SCHEDULE,
		.flags = CTL_M_READONLY,
	},
	{
		.name = "schedule.list",
		.summary = "list schedules, by name (job2 before job10)",
		.params = p_list,
		.target = CTL_T_ACCOUNT_GIVEN,
		.flags = CTL_M_READONLY,
		.columns = "id,name~,+account,operation~,trigger spec~,+tz,state,next_fire",
		.list_key = "schedules",
	},
	{
		.name = "schedule.update",
		.summary = "change a schedule (the next fire is recomputed)",
		.params = p_update,
		.target = CTL_T_SCHEDULE,
	},
	{
		.name = "schedule.pause",
		.summary = "pause a schedule",
		.params = p_pause,
		.target = CTL_T_SCHEDULE,
	},
	{
		.name = "schedule.resume",
		.summary = "resume a paused schedule",
		.params = p_pause,
		.target = CTL_T_SCHEDULE,
	},
	{
		.name = "schedule.delete",
		.summary = "delete a schedule (its runs stay in the journal)",
		.params = p_id,
		.target = CTL_T_SCHEDULE,
	},
	{
		.name = "schedule.trigger",
		.summary = "run a schedule's operation now",
		.params = p_trigger,
		.target = CTL_T_SCHEDULE,
	},
	{
		.name = "schedule.runs",
		.summary = "recent runs of a schedule, newest first",
		.params = p_runs,
		.target = CTL_T_SCHEDULE,
		.flags = CTL_M_READONLY,
		.columns = "run_id,status,triggered_by,scheduled_for,dst,latency_ms,cost_usd," "reason~,error~",
		.list_key = "runs",
	},
	{
		.name = "schedule.next",
		.summary = "the next fire instants of a schedule (or of one "
		    "described, as schedule.estimate)",
		.params = p_next,
		.flags = CTL_M_READONLY,
		.columns = "utc,local,dst",
		.list_key = "next",
	},
	{
		.name = "schedule.estimate",
		.summary = "cost of one run and this month's projection",
		.params = p_estimate,
		.flags = CTL_M_READONLY,
	},
	{ .name = NULL }
};
