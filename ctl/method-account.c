/*
 * ctl/method-account.c: the account.* methods.  Creating and changing an
 * account is for admins; any caller may list and read the accounts that
 * grant its uid (an account it may not act for is "not found").  Changes
 * are carried out by actors/account.c, which answers once durable.
 */
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "ctl.h"

static void		 method_account_create(struct ctl_req *, json_t *);
static void		 method_account_list(struct ctl_req *, json_t *);
static void		 method_account_get(struct ctl_req *, json_t *);
static void		 method_account_update(struct ctl_req *, json_t *);
static void		 method_account_grant(struct ctl_req *, json_t *);
static void		 method_account_revoke(struct ctl_req *, json_t *);
static struct account	*method_account_named(struct ctl_req *, json_t *);

#define P_NAME \
	{ "name", CTL_P_STRING, CTL_P_REQUIRED | CTL_P_POSITIONAL, \
	    "account name", NULL }
#define P_UID \
	{ "uid", CTL_P_INT, 0, "a uid allowed to act for the account", NULL }, \
	{ "user", CTL_P_STRING, 0, "a user name (instead of uid)", NULL }
#define P_BUDGET \
	{ "monthly_budget", CTL_P_USD, 0, "monthly budget in USD (0: none)", \
	    NULL }, \
	{ "tz", CTL_P_STRING, 0, "IANA zone of the budget months (default " \
	    "UTC)", NULL }

static const struct ctl_param p_create[] = {
	P_NAME,
	P_UID,
	P_BUDGET,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_name[] = {
	P_NAME,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_update[] = {
	P_NAME,
	P_BUDGET,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_grant[] = {
	P_NAME,
	P_UID,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_none[] = {
	{ NULL, 0, 0, NULL, NULL }
};

const struct ctl_method ctl_methods_account[] = {
	{ "account.create", "create an account (admin)", p_create,
	    CTL_M_ADMIN, method_account_create, NULL, NULL },
	{ "account.list", "list the accounts you may act for", p_none,
	    CTL_M_READONLY, method_account_list,
	    "name,uids,monthly_budget_usd,tz,created", "accounts" },
	{ "account.get", "show an account", p_name, CTL_M_READONLY,
	    method_account_get, NULL, NULL },
	{ "account.update", "change an account's budget or zone (admin)",
	    p_update, CTL_M_ADMIN, method_account_update, NULL, NULL },
	{ "account.grant", "let a uid act for an account (admin)", p_grant,
	    CTL_M_ADMIN, method_account_grant, NULL, NULL },
	{ "account.revoke", "stop a uid acting for an account (admin)",
	    p_grant, CTL_M_ADMIN, method_account_revoke, NULL, NULL },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL }
};

/* The account "name" names, if the caller may act for it; NULL after
 * answering -32001 (also for one it may not act for: not revealed). */
static struct account *
method_account_named(struct ctl_req *req, json_t *params)
{
	struct account	*a;

	a = account_find(param_string(params, "name"));
	if (a == NULL || !account_allows(a, ctl_req_caller(req))) {
		ctl_error(req, CTL_E_NOT_FOUND, "no such account", "name",
		    "unknown account");
		return (NULL);
	}
	return (a);
}

static void
method_account_create(struct ctl_req *req, json_t *params)
{
	account_ctl_create(ctl_req_reply(req), params);
}

static void
method_account_list(struct ctl_req *req, json_t *params)
{
	ctl_reply(req, json_pack("{s:o}", "accounts",
	    account_list(ctl_req_caller(req))));
}

static void
method_account_get(struct ctl_req *req, json_t *params)
{
	struct account	*a;

	if ((a = method_account_named(req, params)) != NULL)
		ctl_reply(req, account_to_json(a));
}

static void
method_account_update(struct ctl_req *req, json_t *params)
{
	struct account	*a;

	if ((a = method_account_named(req, params)) != NULL)
		account_ctl_update(ctl_req_reply(req), a, params);
}

static void
method_account_grant(struct ctl_req *req, json_t *params)
{
	struct account	*a;

	if ((a = method_account_named(req, params)) != NULL)
		account_ctl_grant(ctl_req_reply(req), a, params, 1);
}

static void
method_account_revoke(struct ctl_req *req, json_t *params)
{
	struct account	*a;

	if ((a = method_account_named(req, params)) != NULL)
		account_ctl_grant(ctl_req_reply(req), a, params, 0);
}
