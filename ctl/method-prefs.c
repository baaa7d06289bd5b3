/*
 * ctl/method-prefs.c: the prefs.* methods as the protocol knows them: names,
 * parameters, flags and table columns, shared by the daemon and chimectl.
 * The daemon's handlers are in daemon/method-prefs.c.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

#define P_ACCOUNT \
	{ "account", CTL_P_STRING, 0, "account (default: \"default\")", NULL }

static const struct ctl_param p_get[] = {
	P_ACCOUNT,
	{ "operation", CTL_P_STRING, 0, "one operation's preferences",
	    "op" },
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_set[] = {
	{ "operation", CTL_P_STRING, CTL_P_REQUIRED, "operation of the catalog",
	    "op" },
	{ "preferred_model", CTL_P_STRING, 0, "model of the catalog (\"\" "
	    "clears)", NULL },
	{ "enabled", CTL_P_BOOL, 0, "whether runs of it may start", NULL },
	{ "default_parameters", CTL_P_OBJECT, 0, "parameters under each "
	    "schedule's (k=v; replaces the set)", NULL },
	{ "monthly_budget", CTL_P_USD, 0, "monthly budget of the operation in "
	    "USD (0: none)", NULL },
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_bulk[] = {
	{ "operations", CTL_P_OBJECT, CTL_P_REQUIRED, "{\"OP\": {fields of "
	    "prefs.set}, ...}", NULL },
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_ui[] = {
	{ "color_scheme", CTL_P_STRING, 0, "light, dark or auto", NULL },
	{ "accent_color", CTL_P_STRING, 0, "#RRGGBB", NULL },
	{ "compact_mode", CTL_P_BOOL, 0, "compact lists", NULL },
	{ "list_views", CTL_P_OBJECT, 0, "{\"VIEW\": {columns, sort, "
	    "page_size}, ...}", NULL },
	{ "replace", CTL_P_BOOL, 0, "the keys given are the whole document",
	    NULL },
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};

const struct ctl_method ctl_methods_prefs[] = {
	{
		.name = "prefs.get",
		.summary = "show an account's preferences",
		.params = p_get,
		.flags = CTL_M_READONLY,
		.columns = "operation,preferred_model,enabled,monthly_budget_usd," "default_parameters",
		.list_key = "operations",
	},
	{
		.name = "prefs.set",
		.summary = "change one operation's preferences",
		.params = p_set,
		.flags = 0,
	},
	{
		.name = "prefs.bulk_set",
		.summary = "change many operations' preferences at once " "(all or none)",
		.params = p_bulk,
		.flags = 0,
		.columns = "operation,preferred_model,enabled,monthly_budget_usd," "default_parameters",
		.list_key = "operations",
	},
	{
		.name = "prefs.set_ui",
		.summary = "change the account's UI preferences",
		.params = p_ui,
		.flags = 0,
	},
	{ .name = NULL }
};
