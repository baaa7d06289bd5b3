/*
 * ctl/method-account.c: the account.* methods as the protocol knows them: names,
 * parameters, flags and table columns, shared by the daemon and chimectl.
 * The daemon's handlers are in daemon/method-account.c.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

#define P_NAME \
	{ .name = "name", .type = CTL_P_STRING, \
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL, \
	    .help = "account name" }
#define P_UID \
	{ .name = "uid", .type = CTL_P_INT, \
	    .help = "a uid allowed to act for the account" }, \
	{ .name = "user", .type = CTL_P_STRING, \
	    .help = "a user name (instead of uid)" }
#define P_BUDGET \
	{ .name = "monthly_budget", .type = CTL_P_USD, \
	    .help = "monthly budget in USD (0: none)" }, \
	{ .name = "tz", .type = CTL_P_STRING, \
	    .help = "IANA zone of the budget months (default UTC)" }, \
	{ .name = "email_from_name", .type = CTL_P_STRING, \
	    .help = "the display name of From: in the account's mail (\"\": " \
	        "the daemon's --smtp-from-name)", .max = 64 }

static const struct ctl_param p_create[] = {
	P_NAME,
	P_UID,
	P_BUDGET,
	{ .name = NULL }
};
static const struct ctl_param p_name[] = {
	P_NAME,
	{ .name = NULL }
};
static const struct ctl_param p_update[] = {
	P_NAME,
	P_BUDGET,
	{ .name = NULL }
};
static const struct ctl_param p_grant[] = {
	P_NAME,
	P_UID,
	{ .name = NULL }
};
static const struct ctl_param p_none[] = {
	{ .name = NULL }
};

const struct ctl_method ctl_methods_account[] = {
	{
		.name = "account.create",
		.summary = "create an account (admin)",
		.params = p_create,
		.flags = CTL_M_ADMIN,
	},
	{
		.name = "account.list",
		.summary = "list the accounts you may act for",
		.params = p_none,
		.flags = CTL_M_READONLY,
		.columns = "name,uids,monthly_budget_usd,tz,created",
		.list_key = "accounts",
	},
	{
		.name = "account.get",
		.summary = "show an account",
		.params = p_name,
		.target = CTL_T_ACCOUNT_NAMED,
		.flags = CTL_M_READONLY,
	},
	{
		.name = "account.update",
		.summary = "change an account's budget or zone (admin)",
		.params = p_update,
		.target = CTL_T_ACCOUNT_NAMED,
		.flags = CTL_M_ADMIN,
	},
	{
		.name = "account.grant",
		.summary = "let a uid act for an account (admin)",
		.params = p_grant,
		.target = CTL_T_ACCOUNT_NAMED,
		.flags = CTL_M_ADMIN,
	},
	{
		.name = "account.revoke",
		.summary = "stop a uid acting for an account (admin)",
		.params = p_grant,
		.target = CTL_T_ACCOUNT_NAMED,
		.flags = CTL_M_ADMIN,
	},
	{ .name = NULL }
};
