/*
 * daemon/method-prefs.c: the handlers of prefs.* methods: an account's
 * preferences per operation, and its UI document, of the account the
 * caller acts for (resolved by methods.c); actors/prefs.c answers once the
 * change is durable.
 */
#include <stdlib.h>
#include <string.h>
#include "actors.h"
#include "ctl.h"
#include "daemon.h"

static void
method_prefs_get(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	const char	*op = param_string(params, "operation");
	int		 all = 0;

	if (op != NULL && !valid_id(op)) {
		ctl_error_param(req, "operation", "not an operation id");
		return;
	}
	param_bool(params, "all", &all);
	if (op != NULL && all) {
		ctl_error_param(req, "all", "not with operation");
		return;
	}
	ctl_reply(req, prefs_to_json(t->account, op, all));
}

static void
method_prefs_set(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	prefs_ctl_set(ctl_req_reply(req), t->account, params);
}

static void
method_prefs_bulk_set(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	prefs_ctl_bulk_set(ctl_req_reply(req), t->account, params);
}

static void
method_prefs_set_ui(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	prefs_ctl_set_ui(ctl_req_reply(req), t->account, params);
}

static void
method_notify_get(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	ctl_reply(req, prefs_notify_to_json(t->account));
}

static void
method_notify_set(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	prefs_ctl_set_notify(ctl_req_reply(req), t->account, params);
}

const struct daemon_method daemon_methods_notify[] = {
	{ "notify.get", method_notify_get },
	{ "notify.set", method_notify_set },
	{ NULL, NULL }
};

const struct daemon_method daemon_methods_prefs[] = {
	{ "prefs.get", method_prefs_get },
	{ "prefs.set", method_prefs_set },
	{ "prefs.bulk_set", method_prefs_bulk_set },
	{ "prefs.set_ui", method_prefs_set_ui },
	{ NULL, NULL }
};
