/*
 * ctl/method-run.c: the run.* methods as the protocol knows them: names,
 * parameters, flags and table columns, shared by the daemon and chimectl.
 * The daemon's handlers are in daemon/method-run.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

static const struct ctl_param p_run_get[] = {
	{ .name = "run_id", .type = CTL_P_STRING,
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL,
	    .help = "run id (SCHEDULE:N)" },
	{ .name = NULL }
};

static const struct ctl_param p_run_list[] = {
	{ .name = "account", .type = CTL_P_STRING,
	    .help = "only this account (default: every account you may "
	        "act for)" },
	{ .name = "status", .type = CTL_P_STRING,
	    .help = "only runs with this status (success, failed, ...)" },
	{ .name = "operation", .type = CTL_P_STRING, .alias = "op",
	    .help = "only runs of this operation",
	    .min = 1, .max = CTL_MAX_FILTER },
	{ .name = "model", .type = CTL_P_STRING,
	    .help = "only runs that used this model",
	    .min = 1, .max = CTL_MAX_FILTER },
	{ .name = "limit", .type = CTL_P_INT,
	    .help = "newest first, at most this many (default 50, at "
	        "most 1000)",
	    .min = 1, .max = CTL_MAX_RUNS },
	{ .name = "cursor", .type = CTL_P_STRING,
	    .help = "the next_cursor of the previous page",
	    .min = 1, .max = CTL_MAX_CURSOR },
	{ .name = NULL }
};

const struct ctl_method ctl_methods_run[] = {
	{
		.name = "run.get",
		.summary = "show one run",
		.params = p_run_get,
		.flags = CTL_M_READONLY,
	},
	{
		.name = "run.list",
		.summary = "recent runs across schedules and batches, newest "
		    "first",
		.params = p_run_list,
		.target = CTL_T_ACCOUNT_GIVEN,
		.flags = CTL_M_READONLY,
		.columns = "run_id,owner_name~,+account,operation~,+model,"
		    "status,+triggered_by,scheduled_for,latency_ms,cost_usd,"
		    "reason error~",
		.list_key = "runs",
	},
	{ .name = NULL }
};
