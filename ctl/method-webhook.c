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
	{ .name = "id", .type = CTL_P_STRING, \
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL, \
	    .help = "schedule id or name" }

static const struct ctl_param p_rotate[] = {
	P_SCHEDULE,
	{ .name = "reason", .type = CTL_P_STRING, .flags = CTL_P_REQUIRED,
	    .help = "why the secret changes (journaled)" },
	{ .name = "grace", .type = CTL_P_DURATION,
	    .help = "how long the old secret stays valid (default 24h; 0: "
	        "not at all; at most 30d)" },
	{ .name = "secret", .type = CTL_P_STRING,
	    .help = "the new secret: env:NAME, file:PATH, exec:COMMAND or "
	        "generated (the default; shown once)" },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_secrets[] = {
	P_SCHEDULE,
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_events[] = {
	P_SCHEDULE,
	{ .name = "failed", .type = CTL_P_BOOL,
	    .help = "only refused requests" },
	{ .name = "limit", .type = CTL_P_INT,
	    .help = "newest first, at most this many (default 50, at most "
	        "1000)",
	    .min = 1, .max = CTL_MAX_EVENTS },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};

const struct ctl_method ctl_methods_webhook[] = {
	{
		.name = "webhook.rotate",
		.summary = "a new webhook secret; the old one stays valid " "for a grace period",
		.params = p_rotate,
		.target = CTL_T_SCHEDULE,
	},
	{
		.name = "webhook.secrets",
		.summary = "a schedule's webhook secrets, by fingerprint",
		.params = p_secrets,
		.target = CTL_T_SCHEDULE,
		.flags = CTL_M_READONLY,
		.columns = "fingerprint,primary,source,rotated,expires,valid",
		.list_key = "secrets",
	},
	{
		.name = "webhook.events",
		.summary = "requests to a schedule's webhook, newest first",
		.params = p_events,
		.target = CTL_T_SCHEDULE,
		.flags = CTL_M_READONLY,
		.columns = "at,message_id,verified,outcome,status,reason,size,source,run_id",
		.list_key = "events",
	},
	{ .name = NULL }
};
