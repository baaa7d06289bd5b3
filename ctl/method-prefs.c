/*
 * ctl/method-prefs.c: the prefs.* methods, and notify.* (the notification
 * settings kept in the account's preferences), as the protocol knows them:
 * names, parameters, flags and table columns, shared by the daemon and
 * chimectl.
 * The daemon's handlers are in daemon/method-prefs.c.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"


static const struct ctl_param p_get[] = {
	CTL_PARAM_ACCOUNT,
	{ .name = "operation", .type = CTL_P_STRING, .alias = "op",
	    .help = "one operation's preferences" },
	{ .name = "all", .type = CTL_P_BOOL,
	    .help = "every operation of the catalog, and its models" },
	{ .name = NULL }
};
static const struct ctl_param p_set[] = {
	{ .name = "operation", .type = CTL_P_STRING, .flags = CTL_P_REQUIRED,
	    .alias = "op",
	    .help = "operation of the catalog" },
	{ .name = "preferred_model", .type = CTL_P_STRING,
	    .help = "model of the catalog (\"\" clears)" },
	{ .name = "enabled", .type = CTL_P_BOOL,
	    .help = "whether runs of it may start" },
	{ .name = "default_parameters", .type = CTL_P_OBJECT,
	    .help = "parameters under each schedule's (k=v; replaces the "
	        "set)" },
	{ .name = "monthly_budget", .type = CTL_P_USD,
	    .help = "monthly budget of the operation in USD (0: none)" },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_bulk[] = {
	{ .name = "operations", .type = CTL_P_OBJECT,
	    .flags = CTL_P_REQUIRED,
	    .help = "{\"OP\": {fields of prefs.set}, ...}" },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_ui[] = {
	{ .name = "color_scheme", .type = CTL_P_STRING,
	    .help = "light, dark or auto" },
	{ .name = "accent_color", .type = CTL_P_STRING,
	    .help = "#RRGGBB" },
	{ .name = "compact_mode", .type = CTL_P_BOOL,
	    .help = "compact lists" },
	{ .name = "list_views", .type = CTL_P_OBJECT,
	    .help = "{\"VIEW\": {columns, sort, page_size}, ...}" },
	{ .name = "replace", .type = CTL_P_BOOL,
	    .help = "the keys given are the whole document" },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};

const struct ctl_method ctl_methods_prefs[] = {
	{
		.name = "prefs.get",
		.summary = "show an account's preferences",
		.params = p_get,
		.target = CTL_T_ACCOUNT,
		.flags = CTL_M_READONLY,
		.columns = "operation,preferred_model,enabled,monthly_budget_usd," "default_parameters",
		.list_key = "operations",
	},
	{
		.name = "prefs.set",
		.summary = "change one operation's preferences",
		.params = p_set,
		.target = CTL_T_ACCOUNT,
	},
	{
		.name = "prefs.bulk_set",
		.summary = "change many operations' preferences at once " "(all or none)",
		.params = p_bulk,
		.target = CTL_T_ACCOUNT,
		.columns = "operation,preferred_model,enabled,monthly_budget_usd," "default_parameters",
		.list_key = "operations",
	},
	{
		.name = "prefs.set_ui",
		.summary = "change the account's UI preferences",
		.params = p_ui,
		.target = CTL_T_ACCOUNT,
	},
	{ .name = NULL }
};

static const struct ctl_param p_notify_get[] = {
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_notify_set[] = {
	{ .name = "addresses", .type = CTL_P_STRINGS, .alias = "address",
	    .help = "where notices go: up to 10 addresses, the flag repeated "
	        "(the list replaces the one before; none: no notices)",
	    .min = 1, .max = 10 },
	{ .name = "run_failed", .type = CTL_P_STRING,
	    .help = "failed runs of all schedules, none, or of the schedules "
	        "named (a,b,...), in a digest", .min = 1, .max = 4096 },
	{ .name = "schedule_paused", .type = CTL_P_BOOL,
	    .help = "a schedule paused by a cap" },
	{ .name = "budget", .type = CTL_P_BOOL,
	    .help = "spend passing 80 % and 100 % of a cap" },
	{ .name = "webhook_secret", .type = CTL_P_BOOL,
	    .help = "a webhook's previous secret a day before its grace "
	        "period ends" },
	{ .name = "subscriber_disabled", .type = CTL_P_BOOL,
	    .help = "a subscriber disabled after failing" },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};

const struct ctl_method ctl_methods_notify[] = {
	{
		.name = "notify.get",
		.summary = "show where the account's notices go and which "
		    "events make them",
		.params = p_notify_get,
		.target = CTL_T_ACCOUNT,
		.flags = CTL_M_READONLY,
	},
	{
		.name = "notify.set",
		.summary = "change the account's notification addresses or "
		    "events",
		.params = p_notify_set,
		.target = CTL_T_ACCOUNT,
	},
	{ .name = NULL }
};
