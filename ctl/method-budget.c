/*
 * ctl/method-budget.c: the budget.* methods as the protocol knows them: names,
 * parameters, flags and table columns, shared by the daemon and chimectl.
 * The daemon's handlers are in daemon/method-budget.c.
 */
#include "engine.h"
#include "ctl.h"

static const struct ctl_param p_status[] = {
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};

const struct ctl_method ctl_methods_budget[] = {
	{
		.name = "budget.status",
		.summary = "month-to-date spend against each cap",
		.params = p_status,
		.target = CTL_T_ACCOUNT,
		.flags = CTL_M_READONLY,
		.columns = "kind,name,month,budget_usd,spent_usd,reserved_usd,left_usd",
		.list_key = "caps",
	},
	{ .name = NULL }
};
