/*
 * ctl/method-batch.c: the batch.* methods as the protocol knows them: names,
 * parameters, flags and table columns, shared by the daemon and chimectl.
 * The daemon's handlers are in daemon/method-batch.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ctl.h"

#define P_ACCOUNT \
	{ "account", CTL_P_STRING, 0, "account (default: \"default\")", NULL }
#define P_ID \
	{ "id", CTL_P_STRING, CTL_P_REQUIRED | CTL_P_POSITIONAL, "batch id", \
	    NULL }

static const struct ctl_param p_create[] = {
	{ "batch", CTL_P_OBJECT, 0, "the whole batch as a JSON object "
	    "(chimectl: -f FILE); the flags below describe a simple one",
	    NULL },
	{ "name", CTL_P_STRING, 0, "name (with --op)", NULL },
	{ "description", CTL_P_STRING, 0, "free text", NULL },
	{ "type", CTL_P_STRING, 0, "parallel (default), sequential or "
	    "conditional (operations with depends_on and trigger_rule, "
	    "given with -f FILE)", NULL },
	{ "operation", CTL_P_STRING, 0, "operation of the catalog, run --count "
	    "times", "op" },
	{ "count", CTL_P_INT, 0, "how many operations (default 1, at most "
	    "100000)", NULL },
	{ "parameters", CTL_P_OBJECT, 0, "parameters of each operation (k=v)",
	    "param" },
	{ "max_concurrent", CTL_P_INT, 0, "at most this many at once "
	    "(default 5)", NULL },
	{ "priority", CTL_P_INT, 0, "1 (low) to 10 (high), default 5", NULL },
	{ "max_cost", CTL_P_USD, 0, "stop launching past this cost (USD)",
	    NULL },
	{ "stop_on_failure", CTL_P_BOOL, 0, "sequential: skip the rest after "
	    "a failure", NULL },
	{ "draft", CTL_P_BOOL, 0, "create without starting (batch start ID)",
	    NULL },
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_get[] = {
	P_ID,
	{ "limit", CTL_P_INT, 0, "operations shown (default 1000; 0: none)",
	    NULL },
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_ops[] = {
	P_ID,
	{ "offset", CTL_P_INT, 0, "first operation (0-based)", NULL },
	{ "limit", CTL_P_INT, 0, "at most this many (default 1000)", NULL },
	{ "status", CTL_P_STRING, 0, "only these: pending, running, "
	    "completed, failed, skipped, cancelled", NULL },
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_list[] = {
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_id[] = {
	P_ID,
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};
static const struct ctl_param p_cancel[] = {
	P_ID,
	{ "reason", CTL_P_STRING, 0, "why (kept with the batch)", NULL },
	{ "abort", CTL_P_BOOL, 0, "also stop the running operations", NULL },
	P_ACCOUNT,
	{ NULL, 0, 0, NULL, NULL }
};

#define OPS_COLUMNS	"n,id,operation,status,run_id,cost_usd,reason,error"

const struct ctl_method ctl_methods_batch[] = {
	{
		.name = "batch.create",
		.summary = "create a batch (and start it unless --draft)",
		.params = p_create,
		.flags = 0,
	},
	{
		.name = "batch.get",
		.summary = "show a batch: progress and its operations",
		.params = p_get,
		.flags = CTL_M_READONLY,
		.columns = OPS_COLUMNS,
		.list_key = "operations",
	},
	{
		.name = "batch.list",
		.summary = "list batches",
		.params = p_list,
		.flags = CTL_M_READONLY,
		.columns = "id,name,type,state,outcome,total,completed," "failed,skipped,cancelled,running,spent_usd",
		.list_key = "batches",
	},
	{
		.name = "batch.ops",
		.summary = "the operations of a batch",
		.params = p_ops,
		.flags = CTL_M_READONLY,
		.columns = OPS_COLUMNS,
		.list_key = "operations",
	},
	{
		.name = "batch.start",
		.summary = "start a draft batch",
		.params = p_id,
		.flags = 0,
	},
	{
		.name = "batch.cancel",
		.summary = "cancel a batch: pending operations are skipped",
		.params = p_cancel,
		.flags = 0,
	},
	{
		.name = "batch.delete",
		.summary = "delete an ended or draft batch (its records stay)",
		.params = p_id,
		.flags = 0,
	},
	{ .name = NULL }
};
