/*
 * daemon/method-schedule.c: the handlers of schedule.* methods, given the
 * account or the schedule methods.c resolved; they call into
 * actors/schedule.c and actors/dispatch.c, which answer once the change is
 * durable.  Also the gate of the secret references a request gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actors.h"
#include "ctl.h"
#include "daemon.h"

#define RUNS_DEFAULT	20
#define NEXT_DEFAULT	5
#define LIST_DEFAULT	1000

static int	method_list_filter(struct ctl_req *, json_t *,
		    struct schedule_filter *);
static int	method_list_last_runs(json_t *);

/* A request waiting for the secret command it gives to be read. */
struct secret_defer {
	struct ctl_req	*req;
	json_t		*params;
	const char	*field;
};

static void
method_secret_ready(void *arg, const char *cause)
{
	struct secret_defer	*d = arg;
	char			*reason;

	if (cause != NULL) {
		xasprintf(&reason, "cannot be read now: %s", cause);
		ctl_error_param(d->req, d->field, reason);
		free(reason);
	} else
		daemon_method_run(d->req, d->params);
	json_decref(d->params);
	free(d);
}

/*
 * The secret reference in HOLDER's FIELD (HOLDER: PARAMS, or an object
 * inside them), checked before a handler reads it: env:, file: and exec:
 * touch the host, so only admins may give them (a tenant may ask for
 * "generated"), and an exec: command is read in a child the loop watches,
 * never on the loop.  Returns 0 to go on (no reference, "generated", or
 * one that can be read now); 1 when the request was answered (refused,
 * as FIELD, or as ERR_FIELD when given) or deferred: the method runs
 * again with the same request and params once the command ended (its
 * target resolved again: it may be gone), and finds it read.  Called
 * after the caller is authorised for the account, before anything else
 * happens.
 */
static int
method_secret_gate_in(struct ctl_req *req, json_t *params, json_t *holder,
    const char *field, const char *err_field)
{
	const char		*ref = param_string(holder, field);
	struct secret_defer	*d;
	char			*cause = NULL;
	int			 rc;

	if (err_field == NULL)
		err_field = field;
	if (ref == NULL || !secret_admin_only(ref))
		return (0);
	if (!ctl_req_caller(req)->admin) {
		ctl_error(req, CTL_E_FORBIDDEN, "only an admin may give a "
		    "secret reference (env:, file:, exec:); use \"generated\"",
		    err_field, "admin only");
		return (1);
	}
	d = xcalloc(1, sizeof *d);
	d->req = req;
	d->params = json_incref(params);
	d->field = field;
	if ((rc = secret_prepare(ref, method_secret_ready, d, &cause)) == 1)
		return (1);
	json_decref(params);
	free(d);
	if (rc == 0)
		return (0);
	ctl_error_param(req, err_field, cause);
	free(cause);
	return (1);
}

int
method_secret_gate(struct ctl_req *req, json_t *params, const char *field)
{
	return (method_secret_gate_in(req, params, params, field, NULL));
}

static void
method_create(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	const char	*account = t->account;
	json_t		*p;

	if (method_secret_gate(req, params, "webhook_secret"))
		return;
	if (!json_is_true(json_object_get(params, "dry_run"))) {
		schedule_ctl_create(ctl_req_reply(req), params, account);
		return;
	}
	if (schedule_lookup(account, param_string(params, "name")) !=
	    NULL) {
		ctl_error(req, CTL_E_CONFLICT, "a schedule with this name "
		    "exists in this account", "name", "already exists");
		return;
	}
	p = json_deep_copy(params);
	json_object_del(p, "dry_run");
	json_object_del(p, "paused");
	json_object_del(p, "force");
	schedule_ctl_estimate(ctl_req_reply(req), p, account);
	json_decref(p);
}

/*
 * schedule.apply: each entry of "schedules" checked against the entry
 * table (as the server checks params: no unknown field, each of its
 * type) and its secret reference gated, naming the entry
 * ("schedules.NAME.FIELD"); then the set is applied as one record.
 */
static void
method_apply(struct ctl_req *req, json_t *params, const struct target *t)
{
	json_t		*set = json_object_get(params, "schedules"), *e;
	const char	*key;
	char		*field, *reason, *path, *msg;
	int		 prune = 0, dry_run = 0, force = 0;

	/* Required (not in the table: chimectl gives it with -f FILE). */
	if (set == NULL) {
		ctl_error_param(req, "schedules", "is required");
		return;
	}
	if (json_object_size(set) > CTL_MAX_APPLY) {
		xasprintf(&reason, "at most %d schedules in one apply",
		    CTL_MAX_APPLY);
		ctl_error_param(req, "schedules", reason);
		free(reason);
		return;
	}
	json_object_foreach(set, key, e) {
		field = reason = NULL;
		if (!json_is_object(e)) {
			field = NULL;
			reason = xstrdup("must be an object of "
			    "schedule.create's fields");
		} else if (ctl_check_nested(&ctl_schedule_apply_entry, e,
		    &field, &reason) == 0) {
			if (json_object_get(e, "webhook_secret") == NULL)
				continue;	/* no reference to gate */
			xasprintf(&path, "schedules.%s.webhook_secret", key);
			if (method_secret_gate_in(req, params, e,
			    "webhook_secret", path)) {
				free(path);
				return;
			}
			free(path);
			continue;
		}
		if (field != NULL)
			xasprintf(&path, "schedules.%s.%s", key, field);
		else
			xasprintf(&path, "schedules.%s", key);
		xasprintf(&msg, "schedule \"%s\": %s%s%s", key,
		    field != NULL ? field : "", field != NULL ? ": " : "",
		    reason);
		ctl_error_data(req, CTL_E_INVALID_PARAMS, msg, json_pack(
		    "{s:s, s:s, s:s}", "field", path, "reason", reason,
		    "name", key));
		free(msg);
		free(path);
		free(field);
		free(reason);
		return;
	}
	param_bool(params, "prune", &prune);
	param_bool(params, "dry_run", &dry_run);
	param_bool(params, "force", &force);
	schedule_ctl_apply(ctl_req_reply(req), t->account, set, prune,
	    dry_run, force);
}

static void
method_estimate(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	const char	*account;
	struct schedule	*s;
	json_t		*est;

	if (json_object_get(params, "id") != NULL) {
		if ((s = method_schedule(req, params)) == NULL)
			return;
		if ((est = schedule_estimate(s)) == NULL)
			ctl_error(req, CTL_E_CONFLICT, "the operation or its "
			    "model is not in the catalog", "operation",
			    "not in the catalog");
		else
			ctl_reply(req, est);
		return;
	}
	if ((account = method_account(req, params)) == NULL ||
	    method_secret_gate(req, params, "webhook_secret"))
		return;
	schedule_ctl_estimate(ctl_req_reply(req), params, account);
}

static void
method_get(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct schedule	*s = t->schedule;

	ctl_reply(req, schedule_to_json(s));
}

/*
 * The filter of a schedule.list request: 0, or -1 after answering an
 * error.
 */
static int
method_list_filter(struct ctl_req *req, json_t *params,
    struct schedule_filter *f)
{
	const char	*state = param_string(params, "state");
	const char	*sort = param_string(params, "sort");
	const char	*c = param_string(params, "cursor");

	memset(f, 0, sizeof *f);
	f->caller = ctl_req_caller(req);
	f->account = param_string(params, "account");
	f->operation = param_string(params, "operation");
	f->name = param_string(params, "name");
	f->state = -1;
	if (state != NULL && strcmp(state, "active") == 0)
		f->state = SCHEDULE_ACTIVE;
	else if (state != NULL && strcmp(state, "paused") == 0)
		f->state = SCHEDULE_PAUSED;
	else if (state != NULL) {
		ctl_error_param(req, "state", "must be active or paused");
		return (-1);
	}
	if (sort != NULL && schedule_sort_parse(f, sort) != 0) {
		ctl_error_param(req, "sort", "must be name, operation, state, "
		    "next_fire, last_fire or cost_month, with a leading - "
		    "for the reverse order");
		return (-1);
	}
	if (c != NULL && schedule_cursor_parse(f, c) != 0) {
		ctl_error_param(req, "cursor", "not a next_cursor of "
		    "schedule.list with this sort");
		return (-1);
	}
	return (0);
}

/*
 * schedule.list: the caller's schedules (of one account if asked, which
 * must be one it may act for), filtered by state, operation and a name
 * glob, a page at a time.
 */
static void
method_list(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct schedule_filter	 f;
	int64_t			 limit = LIST_DEFAULT;
	int			 last_run = 0;
	char			*next;
	json_t			*list;

	param_int(params, "limit", &limit);
	param_bool(params, "last_run", &last_run);
	if (method_list_filter(req, params, &f) != 0)
		return;
	list = schedule_list(&f, (size_t)limit, &next);
	if (last_run && method_list_last_runs(list) != 0) {
		json_decref(list);
		free(next);
		ctl_error(req, CTL_E_UNAVAILABLE, "cannot read the runs table",
		    NULL, NULL);
		return;
	}
	ctl_reply(req, json_pack("{s:o, s:b, s:o}", "schedules", list,
	    "truncated", next != NULL, "next_cursor", next != NULL ?
	    json_string(next) : json_null()));
	free(next);
}

static void
method_update(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct schedule	*s = t->schedule;
	json_t		*p;

	if (method_secret_gate(req, params, "webhook_secret"))
		return;
	/* "id" and "account" locate the schedule; the rest is the change. */
	p = json_deep_copy(params);
	json_object_del(p, "id");
	json_object_del(p, "account");
	if (json_object_size(p) == 0)
		ctl_error_param(req, "id", "nothing to change");
	else
		schedule_ctl_update(ctl_req_reply(req), s, p);
	json_decref(p);
}

static void
method_pause(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct schedule	*s = t->schedule;

	schedule_set_paused(ctl_req_reply(req), s, 1, "paused",
	    param_string(params, "note"));
}

static void
method_resume(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct schedule	*s = t->schedule;

	schedule_set_paused(ctl_req_reply(req), s, 0, NULL,
	    param_string(params, "note"));
}

static void
method_delete(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct schedule	*s = t->schedule;

	schedule_ctl_delete(ctl_req_reply(req), s);
}

static void
method_trigger(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct schedule	*s = t->schedule;
	const char	*key = param_string(params, "idempotency_key");

	if (s->batch_template != NULL) {
		ctl_error(req, CTL_E_CONFLICT, "this schedule's target is a "
		    "batch: start one with batch.create", "id",
		    "batch target");
		return;
	}
	dispatch_manual(ctl_req_reply(req), s, key, json_object_get(params, "parameters"));
}

struct runs_ctx {
	json_t	*list;
	size_t	 limit;
};

static int
runs_row_cb(const struct journal_row *row, void *arg)
{
	struct runs_ctx		*ctx = arg;
	msgpack_unpacked	 u;

	if (unpack_buffer(row->val, row->vlen, &u) == 0) {
		json_array_append_new(ctx->list, run_row_to_json(&u.data));
		msgpack_unpacked_destroy(&u);
	}
	return (json_array_size(ctx->list) >= ctx->limit);
}

static void
method_runs(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct schedule	*s = t->schedule;
	struct runs_ctx	 ctx;
	int64_t		 limit = RUNS_DEFAULT;
	char		 prefix[128];

	param_int(params, "limit", &limit);
	snprintf(prefix, sizeof prefix, "%s:", s->id);
	ctx.list = json_array();
	ctx.limit = (size_t)limit;
	if (journal_table_foreach(engine->journal, "runs", prefix,
	    strlen(prefix), 1, runs_row_cb, &ctx) == -1) {
		json_decref(ctx.list);
		ctl_error(req, CTL_E_UNAVAILABLE, "cannot read the runs table",
		    NULL, NULL);
		return;
	}
	ctl_reply(req, json_pack("{s:s, s:o}", "id", s->id, "runs", ctx.list));
}

/*
 * Each schedule object of LIST gets "last_run": its newest run's id,
 * status, error, reason and instants (null before its first run).  0, or
 * -1 when the runs table cannot be read.
 */
static int
method_list_last_runs(json_t *list)
{
	static const char *const keep[] = { "run_id", "status", "error",
	    "reason", "scheduled_for", "finished", NULL };
	struct runs_ctx	 ctx;
	json_t		*s, *run, *last;
	size_t		 i, k;
	char		 prefix[128];

	json_array_foreach(list, i, s) {
		snprintf(prefix, sizeof prefix, "%s:",
		    json_string_value(json_object_get(s, "id")));
		ctx.list = json_array();
		ctx.limit = 1;
		if (journal_table_foreach(engine->journal, "runs", prefix,
		    strlen(prefix), 1, runs_row_cb, &ctx) == -1) {
			json_decref(ctx.list);
			return (-1);
		}
		last = json_null();
		if ((run = json_array_get(ctx.list, 0)) != NULL) {
			last = json_object();
			for (k = 0; keep[k] != NULL; k++)
				json_object_set(last, keep[k],
				    json_object_get(run, keep[k]));
		}
		json_object_set_new(s, "last_run", last);
		json_decref(ctx.list);
	}
	return (0);
}

/*
 * schedule.next: the next fires of an existing schedule ("id"), or of the
 * one the other parameters describe (checked as schedule.create checks
 * them; nothing is written), as schedule.estimate takes them.
 */
static void
method_next(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct schedule	*s;
	const char	*account;
	int64_t		 count = NEXT_DEFAULT;
	json_t		*p;

	param_int(params, "count", &count);
	if (json_object_get(params, "id") != NULL) {
		if ((s = method_schedule(req, params)) != NULL)
			ctl_reply(req, schedule_next_json(s, (int)count));
		return;
	}
	if ((account = method_account(req, params)) == NULL ||
	    method_secret_gate(req, params, "webhook_secret"))
		return;
	p = json_deep_copy(params);
	json_object_del(p, "count");
	schedule_ctl_next(ctl_req_reply(req), p, account, (int)count);
	json_decref(p);
}

const struct daemon_method daemon_methods_schedule[] = {
	{ "schedule.create", method_create },
	{ "schedule.apply", method_apply },
	{ "schedule.get", method_get },
	{ "schedule.list", method_list },
	{ "schedule.update", method_update },
	{ "schedule.pause", method_pause },
	{ "schedule.resume", method_resume },
	{ "schedule.delete", method_delete },
	{ "schedule.trigger", method_trigger },
	{ "schedule.runs", method_runs },
	{ "schedule.next", method_next },
	{ "schedule.estimate", method_estimate },
	{ NULL, NULL }
};
