/*
 * ctl/method-subscription.c: the subscription.* methods as the protocol
 * knows them: names, parameters, flags and table columns, shared by the
 * daemon and chimectl.  The daemon's handlers are in
 * daemon/method-subscription.c; doc/protocol.md and doc/events.md say
 * what they do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

#define P_SUB \
	{ .name = "id", .type = CTL_P_STRING, \
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL, \
	    .help = "subscription id", .max = 64 }
#define P_CONFIG \
	{ .name = "kinds", .type = CTL_P_STRING, \
	    .help = "record kinds sent, comma-separated: exact kinds, " \
	        "prefixes ending \".*\" (run.*), or * (the default: all)", \
	    .min = 1, .max = 4096 }, \
	{ .name = "batch", .type = CTL_P_INT, \
	    .help = "events per POST (default 1: one event object; more: " \
	        "a JSON array)", .min = 1, .max = 100 }, \
	{ .name = "secret", .type = CTL_P_STRING, \
	    .help = "signing secret: generated (the default; shown once), " \
	        "or (admins) env:NAME, file:PATH, exec:COMMAND", \
	    .min = 1, .max = 4096 }

static const struct ctl_param p_create[] = {
	{ .name = "url", .type = CTL_P_STRING,
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL,
	    .help = "the receiver: an http or https URL", .min = 1,
	    .max = 2048 },
	P_CONFIG,
	{ .name = "from_seq", .type = CTL_P_INT,
	    .help = "first seq sent (default: the next record written)",
	    .min = 1, .max = INT64_MAX },
	{ .name = "all_accounts", .type = CTL_P_BOOL,
	    .help = "admins: every account's records and the daemon's" },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_update[] = {
	P_SUB,
	{ .name = "url", .type = CTL_P_STRING,
	    .help = "the receiver: an http or https URL", .min = 1,
	    .max = 2048 },
	P_CONFIG,
	{ .name = NULL }
};
static const struct ctl_param p_one[] = {
	P_SUB,
	{ .name = NULL }
};
static const struct ctl_param p_list[] = {
	{ .name = "account", .type = CTL_P_STRING,
	    .help = "only this account's (default: every account the caller "
	        "may act for)" },
	{ .name = NULL }
};
static const struct ctl_param p_deliveries[] = {
	P_SUB,
	{ .name = "limit", .type = CTL_P_INT,
	    .help = "newest first, at most this many (default 50, at most "
	        "100)", .min = 1, .max = 100 },
	{ .name = NULL }
};

const struct ctl_method ctl_methods_subscription[] = {
	{
		.name = "subscription.create",
		.summary = "send the journal's events to a URL, signed",
		.params = p_create,
		.target = CTL_T_ACCOUNT,
		.flags = CTL_M_NEW,
	},
	{
		.name = "subscription.list",
		.summary = "subscriptions, with their progress",
		.params = p_list,
		.target = CTL_T_ACCOUNT_GIVEN,
		.flags = CTL_M_READONLY,
		.columns = "id,account,state,url,kinds,batch,cursor,delivered,failed,lag_records",
		.list_key = "subscriptions",
	},
	{
		.name = "subscription.get",
		.summary = "one subscription, with its progress and lag",
		.params = p_one,
		.flags = CTL_M_READONLY,
	},
	{
		.name = "subscription.update",
		.summary = "change a subscription's URL, kinds, batch or secret",
		.params = p_update,
	},
	{
		.name = "subscription.pause",
		.summary = "stop sending; the cursor stays",
		.params = p_one,
	},
	{
		.name = "subscription.resume",
		.summary = "send again from the cursor (also a disabled one)",
		.params = p_one,
	},
	{
		.name = "subscription.delete",
		.summary = "delete a subscription (and its generated secret)",
		.params = p_one,
	},
	{
		.name = "subscription.test",
		.summary = "POST a test message now; say how the receiver "
		    "answered",
		.params = p_one,
	},
	{
		.name = "subscription.deliveries",
		.summary = "a subscription's last delivery attempts, newest "
		    "first",
		.params = p_deliveries,
		.flags = CTL_M_READONLY,
		.columns = "at,outcome,first_seq,last_seq,events,attempt,status,latency_ms,error",
		.list_key = "deliveries",
	},
	{ .name = NULL }
};
