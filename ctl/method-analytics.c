/*
 * ctl/method-analytics.c: the analytics.* methods as the protocol knows
 * them: names, parameters, flags, shared by the daemon and chimectl.  The
 * daemon's handlers are in daemon/method-analytics.c; doc/protocol.md
 * says what each figure is.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

#define P_PERIOD \
	{ .name = "period", .type = CTL_P_STRING, \
	    .help = "week, month (the default), quarter or year: the last 7, " \
	        "30, 91 or 365 days, today included", .min = 1, .max = 8 }, \
	{ .name = "from", .type = CTL_P_STRING, \
	    .help = "first day, YYYY-MM-DD (instead of a period)", \
	    .min = 10, .max = 10 }, \
	{ .name = "to", .type = CTL_P_STRING, \
	    .help = "last day, YYYY-MM-DD (default: today)", .min = 10, \
	    .max = 10 }, \
	{ .name = "account", .type = CTL_P_STRING, \
	    .help = "only this account's (default: every account the caller " \
	        "may act for)" }

static const struct ctl_param p_summary[] = {
	P_PERIOD,
	{ .name = NULL }
};
static const struct ctl_param p_breakdown[] = {
	{ .name = "by", .type = CTL_P_STRING,
	    .help = "operation (the default), model, schedule or account",
	    .min = 1, .max = 16 },
	P_PERIOD,
	{ .name = NULL }
};
static const struct ctl_param p_pace[] = {
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_trends[] = {
	{ .name = "metric", .type = CTL_P_STRING,
	    .help = "cost (the default), runs, failures or latency_p95",
	    .min = 1, .max = 16 },
	{ .name = "granularity", .type = CTL_P_STRING,
	    .help = "day (the default) or week", .min = 1, .max = 8 },
	P_PERIOD,
	{ .name = NULL }
};

const struct ctl_method ctl_methods_analytics[] = {
	{
		.name = "analytics.summary",
		.summary = "cost, runs, success rate and latency of a period, "
		    "against the one before",
		.params = p_summary,
		.target = CTL_T_ACCOUNT_GIVEN,
		.flags = CTL_M_READONLY,
	},
	{
		.name = "analytics.breakdown",
		.summary = "cost, runs and success rate by operation, model, "
		    "schedule or account, with their shares",
		.params = p_breakdown,
		.target = CTL_T_ACCOUNT_GIVEN,
		.flags = CTL_M_READONLY,
		.list_key = "parts",
	},
	{
		.name = "analytics.pace",
		.summary = "each cap's month so far, projected to its end, and "
		    "when it is reached at this pace",
		.params = p_pace,
		.target = CTL_T_ACCOUNT,
		.flags = CTL_M_READONLY,
		.columns = "kind,name,budget_usd,spent_usd,reserved_usd,projected_usd,reaches_cap_at",
		.list_key = "caps",
	},
	{
		.name = "analytics.recommendations",
		.summary = "what to change, with the figures behind it and the "
		    "command that does it",
		.params = p_pace,
		.target = CTL_T_ACCOUNT,
		.flags = CTL_M_READONLY,
		.columns = "kind,target,runs,command",
		.list_key = "recommendations",
	},
	{
		.name = "analytics.trends",
		.summary = "a metric for each day or week of a period, none "
		    "missing",
		.params = p_trends,
		.target = CTL_T_ACCOUNT_GIVEN,
		.flags = CTL_M_READONLY,
		.columns = "start,value",
		.list_key = "series",
	},
	{
		.name = "analytics.models",
		.summary = "per operation and model: runs, success rate, cost "
		    "per run, latency (measured runs)",
		.params = p_summary,
		.target = CTL_T_ACCOUNT_GIVEN,
		.flags = CTL_M_READONLY,
		.columns = "operation,model,runs,success_rate,cost_per_run_usd,latency_avg_ms,latency_p95_ms",
		.list_key = "models",
	},
	{
		.name = "analytics.accuracy",
		.summary = "how close the cost estimates came, per operation "
		    "(the target: within 20 %)",
		.params = p_summary,
		.target = CTL_T_ACCOUNT_GIVEN,
		.flags = CTL_M_READONLY,
		.columns = "operation,estimated,within_range_share,within_20pct_share,mean_error_pct,p90_error_pct",
		.list_key = "operations",
	},
	{ .name = NULL }
};
