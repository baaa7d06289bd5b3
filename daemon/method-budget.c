/*
 * daemon/method-budget.c: the handlers of budget.* methods: an account's
 * month-to-date spend against each of its caps (actors/budget.c), its
 * schedules' caps among them, listed here (budget.c knows no registry).
 */
#include <stdlib.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"

struct capped {
	struct schedule	**v;
	size_t		  n;
	size_t		  cap;
};

static void
method_budget_capped(struct schedule *s, void *arg)
{
	struct capped	*c = arg;

	if (s->max_cost_month <= 0)
		return;
	if (c->n == c->cap) {
		c->cap = c->cap == 0 ? 16 : c->cap * 2;
		c->v = xreallocarray(c->v, c->cap, sizeof *c->v);
	}
	c->v[c->n++] = s;
}

/* budget.status's answer for ACCOUNT: every cap, its schedules' too. */
json_t *
method_budget_status_of(const char *account)
{
	struct capped	 c = { NULL, 0, 0 };
	json_t		*caps = json_array();
	size_t		 i;

	schedule_foreach(account, method_budget_capped, &c);
	if (c.n > 0)
		xqsort(c.v, c.n, sizeof *c.v, schedule_list_cmp);
	for (i = 0; i < c.n; i++)
		json_array_append_new(caps, budget_schedule_cap(c.v[i]));
	free(c.v);
	return (budget_status(account, caps));
}

static void
method_budget_status(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	ctl_reply(req, method_budget_status_of(t->account));
}

const struct daemon_method daemon_methods_budget[] = {
	{ "budget.status", method_budget_status },
	{ NULL, NULL }
};
