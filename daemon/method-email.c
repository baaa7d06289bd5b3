/*
 * daemon/method-email.c: the handler of email.log, for the account the
 * caller acts for (actors/email.c keeps the log).
 */
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"

static void
method_email_log(struct ctl_req *req, json_t *params, const struct target *t)
{
	struct email_log_query	 q;
	struct schedule		*s;
	int64_t			 limit = 50;

	memset(&q, 0, sizeof q);
	q.account = t->account;
	q.run = param_string(params, "run");
	q.address = param_string(params, "address");
	if ((q.schedule = param_string(params, "schedule")) != NULL &&
	    (s = schedule_lookup(t->account, q.schedule)) != NULL)
		q.schedule = s->id;
	param_int(params, "limit", &limit);
	q.limit = (size_t)limit;
	ctl_reply(req, json_pack("{s:s, s:o}", "account", t->account,
	    "messages", email_log(&q)));
}

const struct daemon_method daemon_methods_email[] = {
	{ "email.log", method_email_log },
	{ NULL, NULL }
};
