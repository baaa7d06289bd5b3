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

#define P_ACCOUNT \
	{ "account", CTL_P_STRING, 0, "account (default: \"default\")", NULL }
#define P_ID \
	{ "id", CTL_P_STRING, CTL_P_REQUIRED | CTL_P_POSITIONAL, \
	    "schedule id or name", NULL }
#define P_CONFIG \
	{ "operation", CTL_P_STRING, 0, "operation of the catalog", "op" }, \
	{ "cron", CTL_P_STRING, 0, "cron expression (5 or 6 fields, @daily..., " \
	    "FRI#2, 5L: nth and last weekday)", NULL }, \
	{ "weekly", CTL_P_STRING, 0, "weekly cadence: \"mon 09:00\"", NULL }, \
	{ "monthly", CTL_P_STRING, 0, "monthly cadence: \"15 09:00\", " \
	    "\"last 18:00\"", NULL }, \
	{ "interval", CTL_P_DURATION, 0, "fixed interval: \"30s\", \"5m\"", \
	    "every" }, \
	{ "at", CTL_P_TIME, 0, "once, at an RFC 3339 instant", NULL }, \
	{ "manual", CTL_P_BOOL, 0, "no timed trigger; run by hand", NULL }, \
	{ "webhook", CTL_P_BOOL, 0, "triggered by signed POST /v1/hooks/ID", \
	    NULL }, \
	{ "webhook_secret", CTL_P_STRING, 0, "webhook secret: env:NAME, " \
	    "file:PATH, exec:COMMAND or generated (shown once)", NULL }, \
	{ "webhook_tolerance", CTL_P_INT, 0, "webhook timestamp tolerance, " \
	    "seconds (default 300)", NULL }, \
	{ "webhook_style", CTL_P_STRING, 0, "webhook signature style: " \
	    "standard (default), github or stripe", NULL }, \
	{ "tz", CTL_P_STRING, 0, "IANA time zone (default UTC)", NULL }, \
	{ "parameters", CTL_P_OBJECT, 0, "operation parameters (k=v)", \
	    "param" }, \
	{ "model", CTL_P_STRING, 0, "model (default: the operation's)", NULL }, \
	{ "max_cost_month", CTL_P_USD, 0, "monthly cost cap in USD", NULL }, \
	{ "overlap", CTL_P_STRING, 0, "skip, queue_one, allow, cancel_previous", \
	    NULL }, \
	{ "overlap_limit", CTL_P_INT, 0, "runs at once with overlap allow", \
	    NULL }, \
	{ "catchup", CTL_P_STRING, 0, "skip, latest, all", NULL }, \
	{ "catchup_window", CTL_P_DURATION, 0, "how far back catch-up looks", \
	    NULL }, \
	{ "priority", CTL_P_INT, 0, "1 (low) to 10 (high), default 5", NULL }, \
	{ "history", CTL_P_INT, 0, "runs kept for schedule.runs (default 100)", \
	    NULL }, \
	{ "note", CTL_P_STRING, 0, "free text", NULL }

static const struct ctl_param p_create[] = {
	{ "name", CTL_P_STRING, CTL_P_REQUIRED, "unique name in the account",
	    NULL },
	{ "batch", CTL_P_OBJECT, 0, "target: a batch definition (as "
	    "batch.create's; -f FILE), created and started at each fire",
	    NULL },
	P_CONFIG,
	{ "paused", CTL_P_BOOL, 0, "create paused", NULL },
	{ "force", CTL_P_BOOL, 0, "accept a cap that one run's estimate "
	    "passes on its own", NULL },
	{ "dry_run", CTL_P_BOOL, 0, "validate and show the cost estimate; "
	    "create nothing", NULL },
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_estimate[] = {
	{ "id", CTL_P_STRING, CTL_P_POSITIONAL, "an existing schedule (else "
	    "the one the other parameters describe)", NULL },
	{ "name", CTL_P_STRING, 0, "name (ignored)", NULL },
	P_CONFIG,
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_update[] = {
	P_ID,
	{ "name", CTL_P_STRING, 0, "new name", NULL },
	{ "force", CTL_P_BOOL, 0, "accept a cap that one run's estimate "
	    "passes on its own", NULL },
	{ "batch", CTL_P_OBJECT, 0, "new batch target (-f FILE)", NULL },
	P_CONFIG,
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_id[] = {
	P_ID,
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_list[] = {
	{ "account", CTL_P_STRING, 0, "only this account (default: every "
	    "account you may act for)", NULL },
	{ "state", CTL_P_STRING, 0, "only active or paused ones", NULL },
	{ "operation", CTL_P_STRING, 0, "only those of this operation", "op" },
	{ "name", CTL_P_STRING, 0, "only names matching this glob "
	    "(\"nightly-*\", \"job[0-9]\")", NULL },
	{ "limit", CTL_P_INT, 0, "at most this many (default 1000, at most "
	    "100000)", NULL },
	{ "cursor", CTL_P_STRING, 0, "the next_cursor of the previous page",
	    NULL },
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_pause[] = {
	P_ID,
	{ "note", CTL_P_STRING, 0, "why", NULL },
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_trigger[] = {
	P_ID,
	{ "idempotency_key", CTL_P_STRING, 0,
	    "a second trigger with this key returns the first run", "key" },
	{ "parameters", CTL_P_OBJECT, 0, "parameters merged over the "
	    "schedule's (k=v)", "param" },
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_runs[] = {
	P_ID,
	{ "limit", CTL_P_INT, 0, "newest first, at most this many (default 20)",
	    NULL },
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_next[] = {
	P_ID,
	{ "count", CTL_P_INT, 0, "how many (default 5, at most 1000)", NULL },
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};

const struct ctl_method ctl_methods_schedule[] = {
	{
		.name = "schedule.create",
		.summary = "create a schedule",
		.params = p_create,
		.flags = 0,
	},
	{
		.name = "schedule.get",
		.summary = "show a schedule",
		.params = p_id,
		.flags = CTL_M_READONLY,
	},
	{
		.name = "schedule.list",
		.summary = "list schedules, by name (job2 before job10)",
		.params = p_list,
		.flags = CTL_M_READONLY,
		.columns = "id,name~,+account,operation~,trigger spec~,+tz,state,next_fire",
		.list_key = "schedules",
	},
	{
		.name = "schedule.update",
		.summary = "change a schedule (the next fire is recomputed)",
		.params = p_update,
		.flags = 0,
	},
	{
		.name = "schedule.pause",
		.summary = "pause a schedule",
		.params = p_pause,
		.flags = 0,
	},
	{
		.name = "schedule.resume",
		.summary = "resume a paused schedule",
		.params = p_pause,
		.flags = 0,
	},
	{
		.name = "schedule.delete",
		.summary = "delete a schedule (its runs stay in the journal)",
		.params = p_id,
		.flags = 0,
	},
	{
		.name = "schedule.trigger",
		.summary = "run a schedule's operation now",
		.params = p_trigger,
		.flags = 0,
	},
	{
		.name = "schedule.runs",
		.summary = "recent runs of a schedule, newest first",
		.params = p_runs,
		.flags = CTL_M_READONLY,
		.columns = "run_id,status,triggered_by,scheduled_for,dst,latency_ms,cost_usd," "reason~,error~",
		.list_key = "runs",
	},
	{
		.name = "schedule.next",
		.summary = "the next fire instants of a schedule",
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
