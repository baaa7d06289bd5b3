/*
 * ctl/method-webhook.c: the webhook.* methods as the protocol knows them: names,
 * parameters, flags and table columns, shared by the daemon and chimectl.
 * The daemon's handlers are in daemon/method-webhook.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

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
	{
		.name = "webhook.rotate",
		.summary = "a new webhook secret; the old one stays valid " "for a grace period",
		.params = p_rotate,
		.flags = 0,
	},
	{
		.name = "webhook.secrets",
		.summary = "a schedule's webhook secrets, by fingerprint",
		.params = p_secrets,
		.flags = CTL_M_READONLY,
		.columns = "fingerprint,primary,source,rotated,expires,valid",
		.list_key = "secrets",
	},
	{
		.name = "webhook.events",
		.summary = "requests to a schedule's webhook, newest first",
		.params = p_events,
		.flags = CTL_M_READONLY,
		.columns = "at,message_id,verified,outcome,status,reason,size,source,run_id",
		.list_key = "events",
	},
	{ .name = NULL }
};
