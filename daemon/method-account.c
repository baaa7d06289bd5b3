/*
 * daemon/method-account.c: the handlers of account.* methods. Creating and
 * changing an account is for admins; any caller may list and read the
 * accounts that grant its uid (an account it may not act for is "not
 * found"). Changes are carried out by actors/account.c, which answers once
 * durable.
 */
#include <stdlib.h>
#include <string.h>
#include "actors.h"
#include "ctl.h"
#include "daemon.h"

static void
method_account_create(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	account_ctl_create(ctl_req_reply(req), params);
}

static void
method_account_list(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	ctl_reply(req, json_pack("{s:o}", "accounts",
	    account_list(ctl_req_caller(req))));
}

static void
method_account_get(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	ctl_reply(req, account_to_json(t->named));
}

static void
method_account_update(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	account_ctl_update(ctl_req_reply(req), t->named, params);
}

static void
method_account_grant(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	account_ctl_grant(ctl_req_reply(req), t->named, params, 1);
}

static void
method_account_revoke(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	account_ctl_grant(ctl_req_reply(req), t->named, params, 0);
}

const struct daemon_method daemon_methods_account[] = {
	{ "account.create", method_account_create },
	{ "account.list", method_account_list },
	{ "account.get", method_account_get },
	{ "account.update", method_account_update },
	{ "account.grant", method_account_grant },
	{ "account.revoke", method_account_revoke },
	{ NULL, NULL }
};
