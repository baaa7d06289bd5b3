/*
 * daemon/method-subscription.c: the handlers of subscription.* methods.
 * A subscription is found by its id among the accounts the caller may act
 * for (others are not found); create and list act on an account resolved
 * by methods.c.  Secret references are checked by method_secret_gate
 * (admins only, read before the request goes on).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"

/* The subscription "id" names, if the caller may act for its account;
 * NULL after answering -32001. */
static struct subscription *
method_subscription(struct ctl_req *req, json_t *params)
{
	struct subscription	*s;
	struct account		*a;

	s = subscription_find(param_string(params, "id"));
	if (s != NULL && ((a = account_find(subscription_row(s)->account)) ==
	    NULL || !account_allows(a, ctl_req_caller(req))))
		s = NULL;
	if (s == NULL)
		ctl_error(req, CTL_E_NOT_FOUND, "no such subscription", "id",
		    "not found");
	return (s);
}

static void
method_sub_create(struct ctl_req *req, json_t *params, const struct target *t)
{
	if (!method_secret_gate(req, params, "secret"))
		subscription_op_create(ctl_req_reply(req), params, t->account);
}

static void
method_sub_list(struct ctl_req *req, json_t *params, const struct target *t)
{
	subscription_op_list(ctl_req_reply(req), params, t->account);
}

static void
method_sub_get(struct ctl_req *req, json_t *params, const struct target *t)
{
	struct subscription	*s;

	if ((s = method_subscription(req, params)) != NULL)
		subscription_op_get(ctl_req_reply(req), s);
}

static void
method_sub_update(struct ctl_req *req, json_t *params, const struct target *t)
{
	struct subscription	*s;

	if ((s = method_subscription(req, params)) != NULL &&
	    !method_secret_gate(req, params, "secret"))
		subscription_op_update(ctl_req_reply(req), s, params);
}

static void
method_sub_state(struct ctl_req *req, json_t *params, const char *verb)
{
	struct subscription	*s;

	if ((s = method_subscription(req, params)) != NULL)
		subscription_op_state(ctl_req_reply(req), s, verb);
}

static void
method_sub_pause(struct ctl_req *req, json_t *params, const struct target *t)
{
	method_sub_state(req, params, "pause");
}

static void
method_sub_resume(struct ctl_req *req, json_t *params, const struct target *t)
{
	method_sub_state(req, params, "resume");
}

static void
method_sub_delete(struct ctl_req *req, json_t *params, const struct target *t)
{
	method_sub_state(req, params, "delete");
}

static void
method_sub_test(struct ctl_req *req, json_t *params, const struct target *t)
{
	struct subscription	*s;

	if ((s = method_subscription(req, params)) != NULL)
		subscription_op_test(ctl_req_reply(req), s);
}

static void
method_sub_deliveries(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct subscription	*s;

	if ((s = method_subscription(req, params)) != NULL)
		subscription_op_deliveries(ctl_req_reply(req), s, params);
}

const struct daemon_method daemon_methods_subscription[] = {
	{ "subscription.create", method_sub_create },
	{ "subscription.list", method_sub_list },
	{ "subscription.get", method_sub_get },
	{ "subscription.update", method_sub_update },
	{ "subscription.pause", method_sub_pause },
	{ "subscription.resume", method_sub_resume },
	{ "subscription.delete", method_sub_delete },
	{ "subscription.test", method_sub_test },
	{ "subscription.deliveries", method_sub_deliveries },
	{ NULL, NULL }
};
