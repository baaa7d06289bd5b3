/*
 * daemon/method-token.c: the handlers of token.* methods.  A caller makes
 * tokens for the accounts it may act for (an admin token only an admin),
 * and sees and revokes those; a token's secret is in token.create's
 * answer only.  actors/token.c keeps them.
 */
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"

static void
method_token_create(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	token_ctl_create(ctl_req_reply(req), t->account, params);
}

static void
method_token_list(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	ctl_reply(req, json_pack("{s:o}", "tokens",
	    token_list(ctl_req_caller(req), t->account)));
}

static void
method_token_revoke(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct token	*tok;

	if ((tok = token_find(param_string(params, "id"),
	    ctl_req_caller(req))) == NULL) {
		ctl_error(req, CTL_E_NOT_FOUND, "no such token", "id",
		    "not found");
		return;
	}
	token_ctl_revoke(ctl_req_reply(req), tok);
}

const struct daemon_method daemon_methods_token[] = {
	{ "token.create", method_token_create },
	{ "token.list", method_token_list },
	{ "token.revoke", method_token_revoke },
	{ NULL, NULL }
};
