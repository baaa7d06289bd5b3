/*
 * daemon/method-batch.c: the handlers of batch.* methods. Handlers resolve
 * the caller's account and the batch, then call into actors/batch.c, which
 * answers once the change is durable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actors.h"
#include "ctl.h"
#include "daemon.h"

#define OPS_DEFAULT	1000

/* The protocol's bound (ctl/) is the domain's limit (actors/). */
_Static_assert(CTL_MAX_BATCH_OPS == BATCH_MAX_OPS,
    "batch.create's count and batch.ops' offset bound the batch size");

/* The flags of the simple form as a batch definition of one operation
 * (new reference), to be repeated *COUNT times. */
static json_t *
method_batch_simple(json_t *params, int64_t *count, const char **field,
    const char **why)
{
	json_t		*o, *op, *p;
	const char	*keys[] = { "name", "description", "type",
	    "max_concurrent", "priority", "max_cost", "stop_on_failure",
	    "deliver" };
	static const char *const flat[][2] = {
		{ "email_to", "email_to" }, { "email_on", "on" },
		{ "email_subject", "subject" },
	};
	json_t		*d;
	size_t		 k;

	if (json_object_get(params, "operation") == NULL) {
		*field = "operation";
		*why = "required without batch (or -f FILE)";
		return (NULL);
	}
	*count = 1;
	param_int(params, "count", count);
	o = json_object();
	for (k = 0; k < sizeof keys / sizeof keys[0]; k++)
		if ((p = json_object_get(params, keys[k])) != NULL)
			json_object_set(o, keys[k], p);
	/* --email-to, --email-on, --email-subject over "deliver". */
	for (k = 0; k < sizeof flat / sizeof flat[0]; k++) {
		if ((p = json_object_get(params, flat[k][0])) == NULL)
			continue;
		if (!json_is_object(d = json_object_get(o, "deliver"))) {
			d = json_object();
			json_object_set_new(o, "deliver", d);
		}
		json_object_set(d, flat[k][1], p);
	}
	op = json_pack("{s:O}", "operation", json_object_get(params,
	    "operation"));
	if ((p = json_object_get(params, "parameters")) != NULL)
		json_object_set(op, "parameters", p);
	json_object_set_new(o, "operations", json_pack("[o]", op));
	return (o);
}

static void
method_batch_create(struct ctl_req *req, json_t *params,
    const struct target *t)
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
		batch_ctl_create(ctl_req_reply(req), o, account,
		    (uint32_t)count, draft);
	}
	json_decref(o);
	json_decref(params);
}

static void
method_batch_get(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct batch	*b = t->batch;
	int64_t		 limit = OPS_DEFAULT;
	json_t		*o;

	param_int(params, "limit", &limit);
	o = batch_to_json(b);
	if (limit > 0)
		json_object_set_new(o, "operations", batch_ops_json(b, 0,
		    (uint32_t)limit, 1));
	ctl_reply(req, o);
}

static void
method_batch_list(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	ctl_reply(req, json_pack("{s:o}", "batches",
	    batch_list(ctl_req_caller(req), t->account)));
}

static void
method_batch_ops(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct batch	*b = t->batch;
	int64_t		 offset = 0, limit = OPS_DEFAULT;
	const char	*status = param_string(params, "status");
	json_t		*all, *out, *v;
	size_t		 i;

	param_int(params, "offset", &offset);
	param_int(params, "limit", &limit);
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
method_batch_start(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct batch	*b = t->batch;

	batch_ctl_start(ctl_req_reply(req), b);
}

static void
method_batch_cancel(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct batch	*b = t->batch;
	const char	*reason = param_string(params, "reason");
	int		 abort = 0;

	param_bool(params, "abort", &abort);
	batch_ctl_cancel(ctl_req_reply(req), b, reason, abort);
}

static void
method_batch_delete(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct batch	*b = t->batch;

	batch_ctl_delete(ctl_req_reply(req), b);
}

const struct daemon_method daemon_methods_batch[] = {
	{ "batch.create", method_batch_create },
	{ "batch.get", method_batch_get },
	{ "batch.list", method_batch_list },
	{ "batch.ops", method_batch_ops },
	{ "batch.start", method_batch_start },
	{ "batch.cancel", method_batch_cancel },
	{ "batch.delete", method_batch_delete },
	{ NULL, NULL }
};
