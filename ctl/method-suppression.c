/*
 * ctl/method-suppression.c: the suppression.* methods as the protocol
 * knows them: an account's addresses that receive none of its reports
 * (doc/email.md).  The daemon's handlers are in
 * daemon/method-suppression.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

static const struct ctl_param p_list[] = {
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_add[] = {
	{ .name = "address", .type = CTL_P_STRING,
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL,
	    .help = "the address (LOCAL@DOMAIN)", .min = 1, .max = 254 },
	{ .name = "reason", .type = CTL_P_STRING,
	    .help = "why (default \"manual\"; a word of a-z, 0-9, _ and -)",
	    .min = 1, .max = 32 },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_remove[] = {
	{ .name = "address", .type = CTL_P_STRING,
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL,
	    .help = "the address", .min = 1, .max = 254 },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};

const struct ctl_method ctl_methods_suppression[] = {
	{
		.name = "suppression.list",
		.summary = "addresses that get none of the account's reports",
		.params = p_list,
		.target = CTL_T_ACCOUNT,
		.flags = CTL_M_READONLY,
		.columns = "address,reason,at",
		.list_key = "suppressions",
	},
	{
		.name = "suppression.add",
		.summary = "stop mailing an address the account's reports",
		.params = p_add,
		.target = CTL_T_ACCOUNT,
	},
	{
		.name = "suppression.remove",
		.summary = "mail an address the account's reports again",
		.params = p_remove,
		.target = CTL_T_ACCOUNT,
	},
	{ .name = NULL }
};
