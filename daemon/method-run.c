/*
 * daemon/method-run.c: the handlers of run.* methods.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "actors.h"
#include "ctl.h"
#include "daemon.h"

static void	method_run_not_yet(struct ctl_req *, struct schedule *,
		    uint64_t);
static int	method_run_list_query(struct ctl_req *, json_t *,
		    struct run_list_query *);
static void	method_run_owner(json_t *);

static void
method_run_get(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	const char		*id = param_string(params, "run_id"), *rid;
	struct schedule		*s;
	struct account		*a;
	struct batch		*b;
	msgpack_unpacked	 u;
	json_t			*res;
	char			 sid[128], key[160];
	uint64_t		 n;
	void			*val;
	size_t			 len;

	if (run_id_parse(id, sid, sizeof sid, &n) == -1) {
		ctl_error_param(req, "run_id", "expected SCHEDULE:NUMBER");
		return;
	}
	/* "NAME:N" works too, for the caller's default account. */
	if ((s = schedule_find(sid)) == NULL)
		s = schedule_lookup("default", sid);
	/* A batch's run: "BATCH:N". */
	if (s == NULL && (b = batch_find(sid)) != NULL)
		s = &b->owner;
	if (s != NULL)
		snprintf(sid, sizeof sid, "%s", s->id);
	if (s == NULL || s->state == SCHEDULE_DELETED ||
	    (a = account_find(s->account)) == NULL ||
	    !account_allows(a, ctl_req_caller(req))) {
		ctl_error(req, CTL_E_NOT_FOUND, "no such run", "run_id",
		    "not found");
		return;
	}
	run_row_key(sid, n, key, sizeof key);
	if (journal_table_get(engine->journal, "runs", key, strlen(key), &val,
	    &len) == -1) {
		if (n > s->run_counter && OWNER_HOOKS(s) == NULL)
			method_run_not_yet(req, s, n);
		else
			ctl_error(req, CTL_E_NOT_FOUND, n <= s->run_counter ?
			    "run is older than the kept history; see "
			    "chime-journal export" : "no such run", "run_id",
			    "not found");
		return;
	}
	if (unpack_buffer(val, len, &u) == -1) {
		free(val);
		ctl_error(req, CTL_E_INTERNAL, "unreadable run row", NULL,
		    NULL);
		return;
	}
	res = run_row_to_json(&u.data);
	/* its reports by email, each recipient's outcome (a schedule's
	 * runs; a batch's report is under the batch's id) */
	rid = json_string_value(json_object_get(res, "run_id"));
	if (OWNER_HOOKS(s) == NULL && rid != NULL)
		json_object_set_new(res, "deliveries", email_deliveries(rid));
	ctl_reply(req, res);
	msgpack_unpacked_destroy(&u);
	free(val);
}

/* -32001 for run N of schedule S, which has not happened yet: say so, and
 * when the next one will. */
static void
method_run_not_yet(struct ctl_req *req, struct schedule *s, uint64_t n)
{
	char	*msg, when[40];
	int	 next = s->state == SCHEDULE_ACTIVE && s->next_fire > 0;

	if (next)
		fmt_rfc3339(s->next_fire, when, sizeof when);
	xasprintf(&msg, "run %llu of %s has not happened yet (%llu so far); "
	    "%s%s", (unsigned long long)n, s->name,
	    (unsigned long long)s->run_counter, next ? "next fire at " :
	    s->state == SCHEDULE_PAUSED ? "the schedule is paused" :
	    s->trigger == TRIGGER_MANUAL || s->trigger == TRIGGER_WEBHOOK ?
	    "it runs when triggered" : "it has no next fire", next ? when :
	    "");
	ctl_error(req, CTL_E_NOT_FOUND, msg, "run_id", "not yet");
	free(msg);
}

/* run.list's parameters as a query: 0, or -1 when REQ was answered. */
static int
method_run_list_query(struct ctl_req *req, json_t *params,
    struct run_list_query *q)
{
	enum run_status	 st;
	int64_t		 limit = RUN_LIST_DEFAULT;

	memset(q, 0, sizeof *q);
	q->caller = ctl_req_caller(req);
	q->account = param_string(params, "account");
	q->status = param_string(params, "status");
	q->operation = param_string(params, "operation");
	q->model = param_string(params, "model");
	q->after = param_string(params, "cursor");
	param_int(params, "limit", &limit);
	q->limit = (size_t)limit;
	if (q->status != NULL && run_status_parse(q->status, &st) == -1) {
		ctl_error_param(req, "status", "must be pending, running, "
		    "success, failed, skipped, missed, interrupted or "
		    "cancelled");
		return (-1);
	}
	if (q->after != NULL && !run_list_cursor_ok(q->after)) {
		ctl_error_param(req, "cursor", "not a next_cursor of "
		    "run.list");
		return (-1);
	}
	return (0);
}

/* Run R's "owner" ("schedule" or "batch", what its "schedule" id names)
 * and "owner_name" (null when it cannot be told). */
static void
method_run_owner(json_t *r)
{
	const char	*id = json_string_value(json_object_get(r, "schedule"));
	const char	*name = NULL, *kind = "schedule";
	struct schedule	*s;
	struct batch	*b;

	if (id != NULL && (b = batch_find(id)) != NULL) {
		kind = "batch";
		name = b->owner.name;
	} else if (id != NULL && (s = schedule_find(id)) != NULL)
		name = s->name;
	json_object_set_new(r, "owner", json_string(kind));
	json_object_set_new(r, "owner_name", name != NULL ?
	    json_string(name) : json_null());
}

/*
 * run.list: the runs of the caller's accounts (of one if asked, which
 * must be one it may act for) across their schedules and batches, newest
 * first, filtered by status, operation and model, a page at a time.
 */
static void
method_run_list(struct ctl_req *req, json_t *params, const struct target *t)
{
	struct run_list_query	 q;
	json_t			*list;
	char			*next;
	size_t			 scanned, i;

	(void)t;
	if (method_run_list_query(req, params, &q) != 0)
		return;
	if ((list = run_list(&q, &next, &scanned)) == NULL) {
		ctl_error(req, CTL_E_UNAVAILABLE, "cannot read the run index",
		    NULL, NULL);
		return;
	}
	for (i = 0; i < json_array_size(list); i++)
		method_run_owner(json_array_get(list, i));
	log_trace(TRACE_CTL, "msg=\"run.list\" runs=%zu scanned=%zu",
	    json_array_size(list), scanned);
	ctl_reply(req, json_pack("{s:o, s:b, s:o}", "runs", list,
	    "truncated", next != NULL, "next_cursor", next != NULL ?
	    json_string(next) : json_null()));
	free(next);
}

const struct daemon_method daemon_methods_run[] = {
	{ "run.get", method_run_get },
	{ "run.list", method_run_list },
	{ NULL, NULL }
};
