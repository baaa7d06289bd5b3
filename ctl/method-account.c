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
	{ "name", CTL_P_STRING, CTL_P_REQUIRED | CTL_P_POSITIONAL, \
	    "account name", NULL }
#define P_UID \
	{ "uid", CTL_P_INT, 0, "a uid allowed to act for the account", NULL }, \
	{ "user", CTL_P_STRING, 0, "a user name (instead of uid)", NULL }
#define P_BUDGET \
	{ "monthly_budget", CTL_P_USD, 0, "monthly budget in USD (0: none)", \
	    NULL }, \
	{ "tz", CTL_P_STRING, 0, "IANA zone of the budget months (default " \
	    "UTC)", NULL }

static const struct ctl_param p_create[] = {
	P_NAME,
	P_UID,
	P_BUDGET,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_name[] = {
	P_NAME,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_update[] = {
	P_NAME,
	P_BUDGET,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_grant[] = {
	P_NAME,
	P_UID,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_none[] = {
	{ NULL, 0, 0, NULL, NULL }
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
		.flags = CTL_M_READONLY,
	},
	{
		.name = "account.update",
		.summary = "change an account's budget or zone (admin)",
		.params = p_update,
		.flags = CTL_M_ADMIN,
	},
	{
		.name = "account.grant",
		.summary = "let a uid act for an account (admin)",
		.params = p_grant,
		.flags = CTL_M_ADMIN,
	},
	{
		.name = "account.revoke",
		.summary = "stop a uid acting for an account (admin)",
		.params = p_grant,
		.flags = CTL_M_ADMIN,
	},
	{ .name = NULL }
};
