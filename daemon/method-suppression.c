/*
 * daemon/method-suppression.c: the handlers of suppression.* methods, for
 * the account the caller acts for (actors/suppression.c keeps the list).
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"

static void	method_suppression_done(void *, int, json_t *, const char *);

static void
method_suppression_list(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	ctl_reply(req, json_pack("{s:s, s:o}", "account", t->account,
	    "suppressions", suppression_list(t->account)));
}

/* A change's answer: the row, or the journal's error. */
static void
method_suppression_done(void *arg, int rc, json_t *row, const char *error)
{
	struct reply	*r = arg;

	if (rc == -1) {
		reply_fail(r, REPLY_UNAVAILABLE, error, NULL, NULL);
		return;
	}
	reply_ok(r, json_deep_copy(row));
}

static void
method_suppression_add(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	const char	*addr = param_string(params, "address");
	const char	*reason = param_string(params, "reason"), *why, *p;

	if (mail_address_check(addr, &why) == -1) {
		ctl_error(req, CTL_E_INVALID_PARAMS, "invalid params", "address", why);
		return;
	}
	if (reason == NULL)
		reason = "manual";
	for (p = reason; *p != '\0'; p++)
		if (!islower((u_char)*p) && !isdigit((u_char)*p) &&
		    *p != '_' && *p != '-') {
			ctl_error(req, CTL_E_INVALID_PARAMS, "invalid params",
			    "reason", "must be a word of a-z, 0-9, _ and -");
			return;
		}
	suppression_change(t->account, addr, reason, method_suppression_done,
	    ctl_req_reply(req));
}

static void
method_suppression_remove(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	suppression_change(t->account, param_string(params, "address"), NULL,
	    method_suppression_done, ctl_req_reply(req));
}

const struct daemon_method daemon_methods_suppression[] = {
	{ "suppression.list", method_suppression_list },
	{ "suppression.add", method_suppression_add },
	{ "suppression.remove", method_suppression_remove },
	{ NULL, NULL }
};
