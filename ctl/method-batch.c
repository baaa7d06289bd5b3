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

#define P_ID \
	{ .name = "id", .type = CTL_P_STRING, \
	    .flags = CTL_P_REQUIRED | CTL_P_POSITIONAL, \
	    .help = "batch id" }

static const struct ctl_param p_create[] = {
	{ .name = "batch", .type = CTL_P_OBJECT,
	    .help = "the whole batch as a JSON object (chimectl: -f "
	        "FILE); the flags below describe a simple one" },
	{ .name = "name", .type = CTL_P_STRING,
	    .help = "name (with --op)" },
	{ .name = "description", .type = CTL_P_STRING,
	    .help = "free text" },
	{ .name = "type", .type = CTL_P_STRING,
	    .help = "parallel (default), sequential or conditional "
	        "(operations with depends_on and trigger_rule, given with "
	        "-f FILE)" },
	{ .name = "operation", .type = CTL_P_STRING, .alias = "op",
	    .help = "operation of the catalog, run --count times" },
	{ .name = "count", .type = CTL_P_INT,
	    .help = "how many operations (default 1, at most 100000)",
	    .min = 1, .max = CTL_MAX_BATCH_OPS },
	{ .name = "parameters", .type = CTL_P_OBJECT, .alias = "param",
	    .help = "parameters of each operation (k=v)" },
	{ .name = "max_concurrent", .type = CTL_P_INT,
	    .help = "at most this many at once (default 5)" },
	{ .name = "priority", .type = CTL_P_INT,
	    .help = "1 (low) to 10 (high), default 5" },
	{ .name = "max_cost", .type = CTL_P_USD,
	    .help = "stop launching past this cost (USD)" },
	{ .name = "stop_on_failure", .type = CTL_P_BOOL,
	    .help = "sequential: skip the rest after a failure" },
	{ .name = "draft", .type = CTL_P_BOOL,
	    .help = "create without starting (batch start ID)" },
	{ .name = "email_to", .type = CTL_P_STRINGS, .max = 50,
	    .help = "mail the batch's summary when it ends to ADDRESS "
	        "(repeatable or a comma list, at most 50)" },
	{ .name = "email_on", .type = CTL_P_STRING,
	    .help = "when: success (completed; default), failure (failed "
	        "or cancelled), always" },
	{ .name = "email_subject", .type = CTL_P_STRING,
	    .help = "subject template: {schedule} (the batch's name) "
	        "{status} {run} (its id) {account} {operation} {date}" },
	{ .name = "deliver", .type = CTL_P_OBJECT,
	    .help = "delivery as one object: email_to, on, subject" },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_get[] = {
	P_ID,
	{ .name = "limit", .type = CTL_P_INT,
	    .help = "operations shown (default 1000; 0: none)",
	    .min = 0, .max = CTL_MAX_BATCH_OPS },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_ops[] = {
	P_ID,
	{ .name = "offset", .type = CTL_P_INT,
	    .help = "first operation (0-based)",
	    .min = 0, .max = CTL_MAX_BATCH_OPS },
	{ .name = "limit", .type = CTL_P_INT,
	    .help = "at most this many (default 1000)",
	    .min = 1, .max = CTL_MAX_BATCH_OPS },
	{ .name = "status", .type = CTL_P_STRING,
	    .help = "only these: pending, running, completed, failed, "
	        "skipped, cancelled" },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_list[] = {
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_id[] = {
	P_ID,
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};
static const struct ctl_param p_cancel[] = {
	P_ID,
	{ .name = "reason", .type = CTL_P_STRING,
	    .help = "why (kept with the batch)",
	    .min = 1, .max = CTL_MAX_REASON },
	{ .name = "abort", .type = CTL_P_BOOL,
	    .help = "also stop the running operations" },
	CTL_PARAM_ACCOUNT,
	{ .name = NULL }
};

#define OPS_COLUMNS	"n,id,operation,status,run_id,cost_usd,reason,error"

const struct ctl_method ctl_methods_batch[] = {
	{
		.name = "batch.create",
		.summary = "create a batch (and start it unless --draft)",
		.params = p_create,
	},
	{
		.name = "batch.get",
		.summary = "show a batch: progress and its operations",
		.params = p_get,
		.target = CTL_T_BATCH,
		.flags = CTL_M_READONLY,
		.columns = OPS_COLUMNS,
		.list_key = "operations",
	},
	{
		.name = "batch.list",
		.summary = "list batches",
		.params = p_list,
		.target = CTL_T_ACCOUNT_GIVEN,
		.flags = CTL_M_READONLY,
		.columns = "id,name,type,state,outcome,total,completed," "failed,skipped,cancelled,running,spent_usd",
		.list_key = "batches",
	},
	{
		.name = "batch.ops",
		.summary = "the operations of a batch",
		.params = p_ops,
		.target = CTL_T_BATCH,
		.flags = CTL_M_READONLY,
		.columns = OPS_COLUMNS,
		.list_key = "operations",
	},
	{
		.name = "batch.start",
		.summary = "start a draft batch",
		.params = p_id,
		.target = CTL_T_BATCH,
	},
	{
		.name = "batch.cancel",
		.summary = "cancel a batch: pending operations are skipped",
		.params = p_cancel,
		.target = CTL_T_BATCH,
	},
	{
		.name = "batch.delete",
		.summary = "delete an ended or draft batch (its records stay)",
		.params = p_id,
		.target = CTL_T_BATCH,
	},
	{ .name = NULL }
};
