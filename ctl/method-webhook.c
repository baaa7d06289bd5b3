/*
 * ctl/method-webhook.c: the webhook.* methods: rotate a schedule's webhook
 * secret, list its secrets by fingerprint, read its webhook event log.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "ctl.h"

static void	method_webhook_rotate(struct ctl_req *, json_t *);
static void	method_webhook_secrets(struct ctl_req *, json_t *);
static void	method_webhook_events(struct ctl_req *, json_t *);

#define P_SCHEDULE \
	{ "id", CTL_P_STRING, CTL_P_REQUIRED | CTL_P_POSITIONAL, \
	    "schedule id or name", NULL }
#define P_ACCOUNT \
	{ "account", CTL_P_STRING, 0, "account (default: \"default\")", NULL }

static const struct ctl_param p_rotate[] = {
	P_SCHEDULE,
	{ "reason", CTL_P_STRING, CTL_P_REQUIRED, "why the secret changes "
	    "(journaled)", NULL },
	{ "grace", CTL_P_DURATION, 0, "how long the old secret stays valid "
	    "(default 24h; 0: not at all; at most 30d)", NULL },
	{ "secret", CTL_P_STRING, 0, "the new secret: env:NAME, file:PATH, "
	    "exec:COMMAND or generated (the default; shown once)", NULL },
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_secrets[] = {
	P_SCHEDULE,
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_events[] = {
	P_SCHEDULE,
	{ "failed", CTL_P_BOOL, 0, "only refused requests", NULL },
	{ "limit", CTL_P_INT, 0, "newest first, at most this many (default "
	    "50, at most 1000)", NULL },
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};

const struct ctl_method ctl_methods_webhook[] = {
	{ "webhook.rotate", "a new webhook secret; the old one stays valid "
	    "for a grace period", p_rotate, 0, method_webhook_rotate, NULL,
	    NULL },
	{ "webhook.secrets", "a schedule's webhook secrets, by fingerprint",
	    p_secrets, CTL_M_READONLY, method_webhook_secrets,
	    "fingerprint,primary,source,rotated,expires,valid", "secrets" },
	{ "webhook.events", "requests to a schedule's webhook, newest first",
	    p_events, CTL_M_READONLY, method_webhook_events,
	    "at,message_id,verified,outcome,status,reason,size,source,run_id",
	    "events" },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL }
};

static void
method_webhook_rotate(struct ctl_req *req, json_t *params)
{
	struct schedule	*s;

	if ((s = method_schedule(req, params)) != NULL &&
	    !method_secret_gate(req, params, "secret", method_webhook_rotate))
		schedule_ctl_rotate(ctl_req_reply(req), s, params);
}

static void
method_webhook_secrets(struct ctl_req *req, json_t *params)
{
	struct schedule	*s;

	if ((s = method_schedule(req, params)) != NULL)
		webhook_ctl_secrets(ctl_req_reply(req), s);
}

static void
method_webhook_events(struct ctl_req *req, json_t *params)
{
	struct schedule	*s;

	if ((s = method_schedule(req, params)) != NULL)
		webhook_ctl_events(ctl_req_reply(req), s, params);
}
