/*
 * ctl/method-batch.c: the batch.* methods.  Handlers resolve the caller's
 * account and the batch, then call into actors/batch.c, which answers once
 * the change is durable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "ctl.h"

#define OPS_DEFAULT	1000
#define OPS_MAX		100000

static void	method_batch_create(struct ctl_req *, json_t *);
static void	method_batch_get(struct ctl_req *, json_t *);
static void	method_batch_list(struct ctl_req *, json_t *);
static void	method_batch_ops(struct ctl_req *, json_t *);
static void	method_batch_start(struct ctl_req *, json_t *);
static void	method_batch_cancel(struct ctl_req *, json_t *);
static void	method_batch_delete(struct ctl_req *, json_t *);

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
	{ "batch.create", "create a batch (and start it unless --draft)",
	    p_create, 0, method_batch_create, NULL, NULL },
	{ "batch.get", "show a batch: progress and its operations", p_get,
	    CTL_M_READONLY, method_batch_get, OPS_COLUMNS, "operations" },
	{ "batch.list", "list batches", p_list, CTL_M_READONLY,
	    method_batch_list, "id,name,type,state,outcome,total,completed,"
	    "failed,skipped,cancelled,running,spent_usd", "batches" },
	{ "batch.ops", "the operations of a batch", p_ops, CTL_M_READONLY,
	    method_batch_ops, OPS_COLUMNS, "operations" },
	{ "batch.start", "start a draft batch", p_id, 0, method_batch_start,
	    NULL, NULL },
	{ "batch.cancel", "cancel a batch: pending operations are skipped",
	    p_cancel, 0, method_batch_cancel, NULL, NULL },
	{ "batch.delete", "delete an ended or draft batch (its records stay)",
	    p_id, 0, method_batch_delete, NULL, NULL },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL }
};

/* The batch a request names, in an account the caller may act for; NULL
 * after answering an error. */
static struct batch *
method_batch(struct ctl_req *req, json_t *params)
{
	const char	*acct = param_string(params, "account");
	struct batch	*b;
	struct account	*a;

	b = batch_find(param_string(params, "id"));
	if (b != NULL && ((acct != NULL && strcmp(acct, b->owner.account) !=
	    0) || (a = account_find(b->owner.account)) == NULL ||
	    !account_allows(a, ctl_req_caller(req))))
		b = NULL;
	if (b == NULL)
		ctl_error(req, CTL_E_NOT_FOUND, "no such batch", "id",
		    "not found");
	return (b);
}

/* The flags of the simple form as a batch definition of one operation
 * (new reference), to be repeated *COUNT times. */
static json_t *
method_batch_simple(json_t *params, int64_t *count, const char **field,
    const char **why)
{
	json_t		*o, *op, *p;
	const char	*keys[] = { "name", "description", "type",
	    "max_concurrent", "priority", "max_cost", "stop_on_failure" };
	size_t		 k;

	if (json_object_get(params, "operation") == NULL) {
		*field = "operation";
		*why = "required without batch (or -f FILE)";
		return (NULL);
	}
	*count = 1;
	if (param_int(params, "count", count) && (*count < 1 ||
	    *count > BATCH_MAX_OPS)) {
		*field = "count";
		*why = "must be from 1 to 100000";
		return (NULL);
	}
	o = json_object();
	for (k = 0; k < sizeof keys / sizeof keys[0]; k++)
		if ((p = json_object_get(params, keys[k])) != NULL)
			json_object_set(o, keys[k], p);
	op = json_pack("{s:O}", "operation", json_object_get(params,
	    "operation"));
	if ((p = json_object_get(params, "parameters")) != NULL)
		json_object_set(op, "parameters", p);
	json_object_set_new(o, "operations", json_pack("[o]", op));
	return (o);
}

static void
method_batch_create(struct ctl_req *req, json_t *params)
{
	const char	*account, *field = NULL, *why = NULL, *key;
	json_t		*o, *v;
	int64_t		 count = 1;
	int		 draft = 0;

	if ((o = json_object_get(params, "batch")) != NULL) {
		json_object_foreach(params, key, v) {
			if (strcmp(key, "batch") != 0 && strcmp(key,
			    "account") != 0 && strcmp(key, "draft") != 0) {
				ctl_error_param(req, key, "give the batch "
				    "object or these flags, not both");
				return;
			}
		}
		/* The object may name its account. */
		if (json_object_get(params, "account") == NULL &&
		    json_is_string(v = json_object_get(o, "account"))) {
			params = json_deep_copy(params);
			json_object_set(params, "account", v);
		} else
			json_incref(params);
		o = json_deep_copy(o);
	} else {
		if ((o = method_batch_simple(params, &count, &field,
		    &why)) == NULL) {
			ctl_error_param(req, field, why);
			return;
		}
		json_incref(params);
	}
	if ((account = method_account(req, params)) != NULL) {
		json_object_del(o, "account");
		draft = json_is_true(json_object_get(params, "draft")) ||
		    json_is_true(json_object_get(o, "draft"));
		json_object_del(o, "draft");
		if (engine->draining && !draft)
			ctl_error(req, CTL_E_UNAVAILABLE, "the daemon is "
			    "draining", NULL, NULL);
		else
			batch_ctl_create(ctl_req_reply(req), o, account, (uint32_t)count,
			    draft);
	}
	json_decref(o);
	json_decref(params);
}

static void
method_batch_get(struct ctl_req *req, json_t *params)
{
	struct batch	*b;
	int64_t		 limit = OPS_DEFAULT;
	json_t		*o;

	if ((b = method_batch(req, params)) == NULL)
		return;
	if (param_int(params, "limit", &limit) && (limit < 0 ||
	    limit > OPS_MAX)) {
		ctl_error_param(req, "limit", "must be from 0 to 100000");
		return;
	}
	o = batch_to_json(b);
	if (limit > 0)
		json_object_set_new(o, "operations", batch_ops_json(b, 0,
		    (uint32_t)limit, 1));
	ctl_reply(req, o);
}

static void
method_batch_list(struct ctl_req *req, json_t *params)
{
	const char	*account = param_string(params, "account");

	if (account != NULL && method_account(req, params) == NULL)
		return;
	ctl_reply(req, json_pack("{s:o}", "batches",
	    batch_list(ctl_req_caller(req), account)));
}

static void
method_batch_ops(struct ctl_req *req, json_t *params)
{
	struct batch	*b;
	int64_t		 offset = 0, limit = OPS_DEFAULT;
	const char	*status = param_string(params, "status");
	json_t		*all, *out, *v;
	size_t		 i;

	if ((b = method_batch(req, params)) == NULL)
		return;
	if (param_int(params, "offset", &offset) && (offset < 0 ||
	    offset > BATCH_MAX_OPS)) {
		ctl_error_param(req, "offset", "must be from 0 to 100000");
		return;
	}
	if (param_int(params, "limit", &limit) && (limit < 1 ||
	    limit > OPS_MAX)) {
		ctl_error_param(req, "limit", "must be from 1 to 100000");
		return;
	}
	if (status == NULL) {
		out = batch_ops_json(b, (uint32_t)offset, (uint32_t)limit, 1);
	} else {
		all = batch_ops_json(b, (uint32_t)offset, BATCH_MAX_OPS, 0);
		out = json_array();
		json_array_foreach(all, i, v) {
			if (json_array_size(out) >= (size_t)limit)
				break;
			if (strcmp(json_string_value(json_object_get(v,
			    "status")), status) == 0)
				json_array_append(out, v);
		}
		json_decref(all);
	}
	ctl_reply(req, json_pack("{s:s, s:o}", "id", b->owner.id,
	    "operations", out));
}

static void
method_batch_start(struct ctl_req *req, json_t *params)
{
	struct batch	*b;

	if ((b = method_batch(req, params)) != NULL)
		batch_ctl_start(ctl_req_reply(req), b);
}

static void
method_batch_cancel(struct ctl_req *req, json_t *params)
{
	struct batch	*b;
	const char	*reason = param_string(params, "reason");
	int		 abort = 0;

	if ((b = method_batch(req, params)) == NULL)
		return;
	if (reason != NULL && (reason[0] == '\0' || strlen(reason) > 500)) {
		ctl_error_param(req, "reason", "must be 1 to 500 characters");
		return;
	}
	param_bool(params, "abort", &abort);
	batch_ctl_cancel(ctl_req_reply(req), b, reason, abort);
}

static void
method_batch_delete(struct ctl_req *req, json_t *params)
{
	struct batch	*b;

	if ((b = method_batch(req, params)) != NULL)
		batch_ctl_delete(ctl_req_reply(req), b);
}
