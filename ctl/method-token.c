/*
 * ctl/method-token.c: the token.* methods as the protocol knows them:
 * names, parameters, flags and table columns, shared by the daemon and
 * chimectl.  The daemon's handlers are in daemon/method-token.c;
 * doc/protocol.md ("The HTTP API") says what tokens are for.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

static const struct ctl_param p_create[] = {
	{ .name = "name", .type = CTL_P_STRING,
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL,
	    .help = "a name for people (unique among the account's tokens)",
	    .min = 1, .max = 64 },
	{ .name = "scope", .type = CTL_P_STRING,
	    .help = "read (the default: methods that change nothing) or "
	        "write (all the account may do)", .min = 1, .max = 5 },
	{ .name = "expires_in", .type = CTL_P_DURATION,
	    .help = "refused after this long (\"30d\"; default: never)" },
	{ .name = "admin", .type = CTL_P_BOOL,
	    .help = "admins: a token for every account and the admin "
	        "methods (the account is ignored)" },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_list[] = {
	{ .name = "account", .type = CTL_P_STRING,
	    .help = "only this account's (default: every token the caller "
	        "may see)" },
	{ .name = NULL }
};
static const struct ctl_param p_revoke[] = {
	{ .name = "id", .type = CTL_P_STRING,
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL,
	    .help = "token id (tok_...)", .max = 64 },
	{ .name = NULL }
};

const struct ctl_method ctl_methods_token[] = {
	{
		.name = "token.create",
		.summary = "a token for the HTTP API; its secret is shown "
		    "once",
		.params = p_create,
		.target = CTL_T_ACCOUNT,
		.flags = CTL_M_NEW,
	},
	{
		.name = "token.list",
		.summary = "tokens, without their secrets",
		.params = p_list,
		.target = CTL_T_ACCOUNT_GIVEN,
		.flags = CTL_M_READONLY,
		.columns = "id,name,account,admin,scope,state,expires_at,last_used_at",
		.list_key = "tokens",
	},
	{
		.name = "token.revoke",
		.summary = "refuse a token from now on",
		.params = p_revoke,
	},
	{ .name = NULL }
};
