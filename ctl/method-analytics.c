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

static const struct ctl_param p_summary[] = {
	{ .name = "period", .type = CTL_P_STRING,
	    .help = "week, month (the default), quarter or year: the last 7, "
	        "30, 91 or 365 days, today included", .min = 1, .max = 8 },
	{ .name = "from", .type = CTL_P_STRING,
	    .help = "first day, YYYY-MM-DD (instead of a period)",
	    .min = 10, .max = 10 },
	{ .name = "to", .type = CTL_P_STRING,
	    .help = "last day, YYYY-MM-DD (default: today)", .min = 10,
	    .max = 10 },
	{ .name = "account", .type = CTL_P_STRING,
	    .help = "only this account's (default: every account the caller "
	        "may act for)" },
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
	{ .name = NULL }
};
