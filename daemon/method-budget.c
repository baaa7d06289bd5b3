/*
 * daemon/method-budget.c: the handlers of budget.* methods: an account's
 * month-to-date spend against each of its caps (actors/budget.c).
 */
#include "actors.h"
#include "ctl.h"
#include "daemon.h"

static void	method_budget_status(struct ctl_req *, json_t *,
		    const struct target *);

const struct daemon_method daemon_methods_budget[] = {
	{ "budget.status", method_budget_status },
	{ NULL, NULL }
};

static void
method_budget_status(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	ctl_reply(req, budget_status(t->account));
}
