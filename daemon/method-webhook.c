/*
 * daemon/method-webhook.c: the handlers of webhook.* methods: rotate a
 * schedule's webhook secret, list its secrets by fingerprint, read its
 * webhook event log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actors.h"
#include "ctl.h"
#include "daemon.h"

static void
method_webhook_rotate(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	if (!method_secret_gate(req, params, "secret"))
		schedule_ctl_rotate(ctl_req_reply(req), t->schedule, params);
}

static void
method_webhook_secrets(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct schedule	*s = t->schedule;

	webhook_ctl_secrets(ctl_req_reply(req), s);
}

static void
method_webhook_events(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct schedule	*s = t->schedule;

	webhook_ctl_events(ctl_req_reply(req), s, params);
}

const struct daemon_method daemon_methods_webhook[] = {
	{ "webhook.rotate", method_webhook_rotate },
	{ "webhook.secrets", method_webhook_secrets },
	{ "webhook.events", method_webhook_events },
	{ NULL, NULL }
};
