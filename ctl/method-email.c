/*
 * ctl/method-email.c: the email.* methods as the protocol knows them: the
 * email log of an account's reports (doc/email.md).  The daemon's
 * handler is in daemon/method-email.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

static const struct ctl_param p_log[] = {
	{ .name = "schedule", .type = CTL_P_STRING,
	    .help = "only this schedule's (id or name)", .max = 128 },
	{ .name = "run", .type = CTL_P_STRING,
	    .help = "only this run's (SCHEDULE:N)", .max = 128 },
	{ .name = "address", .type = CTL_P_STRING,
	    .help = "only this address's", .max = 254 },
	{ .name = "limit", .type = CTL_P_INT,
	    .help = "at most this many, newest first (default 50)",
	    .min = 1, .max = 1000 },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};

const struct ctl_method ctl_methods_email[] = {
	{
		.name = "email.log",
		.summary = "the messages of the account's reports: when, to "
		    "whom, subject, outcome, SMTP code, error",
		.params = p_log,
		.target = CTL_T_ACCOUNT,
		.flags = CTL_M_READONLY,
		.columns = "at,address,outcome,code,subject,run_id,error",
		.list_key = "messages",
	},
	{ .name = NULL }
};
