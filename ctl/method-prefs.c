/*
 * ctl/method-prefs.c: the prefs.* methods: an account's preferences per
 * operation, and its UI document.  Handlers resolve the account the caller
 * acts for (method_account) and call actors/prefs.c, which answers once the
 * change is durable.
 */
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "ctl.h"

static void	method_prefs_get(struct ctl_req *, json_t *);
static void	method_prefs_set(struct ctl_req *, json_t *);
static void	method_prefs_bulk_set(struct ctl_req *, json_t *);
static void	method_prefs_set_ui(struct ctl_req *, json_t *);

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
	{ "prefs.get", "show an account's preferences", p_get,
	    CTL_M_READONLY, method_prefs_get,
	    "operation,preferred_model,enabled,monthly_budget_usd,"
	    "default_parameters", "operations" },
	{ "prefs.set", "change one operation's preferences", p_set, 0,
	    method_prefs_set, NULL, NULL },
	{ "prefs.bulk_set", "change many operations' preferences at once "
	    "(all or none)", p_bulk, 0, method_prefs_bulk_set,
	    "operation,preferred_model,enabled,monthly_budget_usd,"
	    "default_parameters", "operations" },
	{ "prefs.set_ui", "change the account's UI preferences", p_ui, 0,
	    method_prefs_set_ui, NULL, NULL },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL }
};

static void
method_prefs_get(struct ctl_req *req, json_t *params)
{
	const char	*account, *op = param_string(params, "operation");

	if ((account = method_account(req, params)) == NULL)
		return;
	if (op != NULL && !valid_id(op)) {
		ctl_error_param(req, "operation", "not an operation id");
		return;
	}
	ctl_reply(req, prefs_to_json(account, op));
}

static void
method_prefs_set(struct ctl_req *req, json_t *params)
{
	const char	*account;

	if ((account = method_account(req, params)) != NULL)
		prefs_ctl_set(ctl_req_reply(req), account, params);
}

static void
method_prefs_bulk_set(struct ctl_req *req, json_t *params)
{
	const char	*account;

	if ((account = method_account(req, params)) != NULL)
		prefs_ctl_bulk_set(ctl_req_reply(req), account, params);
}

static void
method_prefs_set_ui(struct ctl_req *req, json_t *params)
{
	const char	*account;

	if ((account = method_account(req, params)) != NULL)
		prefs_ctl_set_ui(ctl_req_reply(req), account, params);
}
