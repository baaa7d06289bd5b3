/*
 * ctl/method-budget.c: the budget.* methods: an account's month-to-date
 * spend against each of its caps (actors/budget.c).
 */
#include "actors.h"
#include "ctl.h"

static void	method_budget_status(struct ctl_req *, json_t *);

static const struct ctl_param p_status[] = {
	{ "account", CTL_P_STRING, 0, "account (default: \"default\")", NULL },
	{ NULL, 0, 0, NULL, NULL }
};

const struct ctl_method ctl_methods_budget[] = {
	{ "budget.status", "month-to-date spend against each cap",
	    p_status, CTL_M_READONLY, method_budget_status,
	    "kind,name,month,budget_usd,spent_usd,reserved_usd,left_usd",
	    "caps" },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL }
};

static void
method_budget_status(struct ctl_req *req, json_t *params)
{
	const char	*account;

	if ((account = method_account(req, params)) != NULL)
		ctl_reply(req, budget_status(account));
}
