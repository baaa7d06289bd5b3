/*
 * actors/schedule-ops.c: the control operations on schedules, as the
 * daemon's method handlers call them: create, update, pause and resume,
 * delete, the estimate of a schedule to be, and the list.  Each change is
 * made on a copy (a struct schedule_op holds it with the request), checked,
 * and journaled first; the caller is answered, and the change takes effect
 * in memory, from the record's completion (durable) callback.  One change
 * per schedule at a time: a second one meanwhile is refused as busy.
 */
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

static int	schedule_cap_refused(struct reply *, const struct schedule *,
		    json_t *);
static void	schedule_created_cb(const struct journal_result *, void *);
static void	schedule_changed_cb(const struct journal_result *, void *);
static void	schedule_deleted_cb(const struct journal_result *, void *);
static int	prune_row_cb(const struct journal_row *, void *);
static int	list_natcmp(const char *, const char *);
static int	list_cmp_key(const char *, const char *,
		    const struct schedule *);
static int	list_wanted(const struct schedule_filter *,
		    const struct schedule *);
static void	schedule_list_one(struct schedule *, void *);
static struct schedule *schedule_draft(struct reply *, json_t *,
		    const char *);

/* ---- changes in flight ------------------------------------------------- */

/*
 * A change of KIND to S (NULL at create) by REQ (NULL: the daemon's own)
 * with T, the schedule as it will be (taken).  S is held, and busy while
 * a caller waits.
 */
struct schedule_op *
schedule_op_create(struct reply *req, struct schedule *s, struct schedule *t,
    int kind)
{
	struct schedule_op	*op;

	op = xcalloc(1, sizeof *op);
	op->req = req;
	op->s = s;
	op->t = t;
	op->kind = kind;
	if (s != NULL) {
		actor_ref(&s->actor);
		if (req != NULL)
			s->busy = 1;
	}
	return (op);
}

/* One control change per schedule at a time: a second one, while the
 * first's record is on its way, is refused (answered here). */
int
schedule_busy(struct reply *req, struct schedule *s)
{
	if (!s->busy)
		return (0);
	reply_fail(req, REPLY_CONFLICT, "another change to this schedule is "
	    "being recorded; try again", "id", "busy");
	return (1);
}

void
schedule_op_free(struct schedule_op *op)
{
	if (op->s != NULL && op->req != NULL)
		op->s->busy = 0;
	if (op->s != NULL)
		actor_unref(&op->s->actor);
	if (op->t != NULL)
		schedule_free(op->t);
	if (op->whsec != NULL)
		secret_free((unsigned char *)op->whsec, strlen(op->whsec));
	free(op->gen_ref);
	json_decref(op->answer);
	free(op);
}

/* Answer OP's caller that its record was not written. */
void
schedule_op_fail(struct schedule_op *op, const struct journal_result *res)
{
	if (res->status == JOURNAL_DUPLICATE)
		reply_fail(op->req, REPLY_CONFLICT, "already recorded", NULL,
		    NULL);
	else
		outcome_journal(op->req, res);
}

/*
 * A cap that one run of T (as configured) would pass on its own: the
 * parameter or cap name, with *why; NULL if none.  Create and update
 * refuse such a schedule unless forced.
 */
const char *
schedule_cap_refusal(const struct schedule *t, char **why)
{
	struct cost_range	 est;
	const char		*source, *model, *cap;
	int64_t			 limit;
	int			 samples;
	char			 b[2][40];

	if (t->batch_template != NULL || dispatch_estimate(t, &est, &source,
	    &samples, &model) == -1)
		return (NULL);
	if (t->max_cost_month > 0 && est.mid > t->max_cost_month) {
		xasprintf(why, "one run's estimate (mid %s) is more than the "
		    "cap (%s): every run would be skipped; give force to "
		    "create it anyway", fmt_usd(est.mid, b[0], sizeof b[0]),
		    fmt_usd(t->max_cost_month, b[1], sizeof b[1]));
		return ("max_cost_month");
	}
	if (budget_single_run(t->account, t->operation, est.mid, &cap,
	    &limit)) {
		xasprintf(why, "one run's estimate (mid %s) is more than the "
		    "account's %s (%s): every run would be skipped; give "
		    "force to create it anyway", fmt_usd(est.mid, b[0],
		    sizeof b[0]), cap, fmt_usd(limit, b[1], sizeof b[1]));
		return (cap);
	}
	return (NULL);
}

/* Refuse T for REQ (answered: 1) when one run passes a cap on its own and
 * PARAMS does not say force; else 0. */
static int
schedule_cap_refused(struct reply *req, const struct schedule *t,
    json_t *params)
{
	const char	*field;
	char		*reason = NULL;

	if (json_is_true(json_object_get(params, "force")) ||
	    (field = schedule_cap_refusal(t, &reason)) == NULL)
		return (0);
	reply_fail(req, REPLY_BUDGET, reason, field, "one run exceeds the cap");
	free(reason);
	return (1);
}

/* ---- create ------------------------------------------------------------ */

static void
schedule_created_cb(const struct journal_result *res, void *arg)
{
	struct schedule_op	*op = arg;
	struct schedule		*t = op->t;
	json_t			*reply;

	if (res->status != JOURNAL_OK) {
		schedule_release_name(t);
		schedule_drop_secret(op);
		schedule_op_fail(op, res);
		schedule_op_free(op);
		return;
	}
	op->t = NULL;
	schedule_register(t);
	schedule_arm(t, t->last_fire);
	log_info("msg=\"schedule created\" schedule=%s name=%s account=%s "
	    "trigger=%s", t->id, t->name, t->account,
	    schedule_trigger_names[t->trigger]);
	reply = schedule_to_json(t);
	if (op->whsec != NULL)
		json_object_set_new(reply, "webhook_secret",
		    json_string(op->whsec));
	reply_ok(op->req, reply);
	schedule_op_free(op);
}

/*
 * T (taken) as PARAMS make it (CREATING: a new one), its cap allowed: 0;
 * or -1 once REQ is refused, T freed.  Its name keyed anew: 1 if that key
 * is taken by another schedule.
 */
static int
schedule_configure(struct reply *req, struct schedule *t, json_t *params,
    int creating, const char *old_key)
{
	const char	*field = NULL;
	char		*reason = NULL;

	if (schedule_config_apply(&t->config, t->account, params, creating,
	    &field, &reason) == -1) {
		reply_invalid(req, field, reason);
		free(reason);
		schedule_free(t);
		return (-1);
	}
	if (schedule_cap_refused(req, t, params)) {
		schedule_free(t);
		return (-1);
	}
	free(t->name_key);
	t->name_key = schedule_name_key(t->account, strlen(t->account),
	    t->name);
	if ((old_key == NULL || strcmp(t->name_key, old_key) != 0) &&
	    schedule_claim_name(t) == -1) {
		reply_fail(req, REPLY_CONFLICT, "a schedule with this name "
		    "exists in this account", "name", "already exists");
		schedule_free(t);
		return (-1);
	}
	return (0);
}

/* schedule.create: validate, journal, then register and arm. */
void
schedule_ctl_create(struct reply *req, json_t *params, const char *account)
{
	struct schedule		*t;
	struct schedule_op	*op;
	char			*reason = NULL, *whsec = NULL, id[32];
	int64_t			 now = now_us();

	t = schedule_create();
	t->account = intern(account);
	if (schedule_configure(req, t, params, 1, NULL) == -1)
		return;
	do
		random_id("s_", id, sizeof id);
	while (schedule_find(id) != NULL);
	schedule_set_id(t, id, strlen(id));
	t->created_us = t->updated_us = now;
	t->anchor_us = now - now % USEC_PER_SEC;
	t->last_fire = now;
	if (json_is_true(json_object_get(params, "paused"))) {
		schedule_set_state(t, SCHEDULE_PAUSED);
		t->pause_reason = xstrdup("created paused");
	}
	if (t->webhook_secret_ref != NULL &&
	    strcmp(t->webhook_secret_ref, "generated") == 0 &&
	    schedule_make_secret(t, &whsec, &reason) == -1) {
		reply_fail(req, REPLY_UNAVAILABLE, reason, "webhook_secret",
		    "not generated");
		free(reason);
		schedule_release_name(t);
		schedule_free(t);
		return;
	}
	op = schedule_op_create(req, NULL, t, SCHEDULE_OP_CREATE);
	op->whsec = whsec;
	journal_submit(engine->journal, schedule_record(t, "schedule.created"),
	    schedule_created_cb, op);
}

/* ---- update, pause, resume ------------------------------------------- */

/* Move T's configuration into S (T gets S's old one, to be freed), with
 * the time of the change; the catch-up cursor only moves forward. */
void
schedule_take_config(struct schedule *s, struct schedule *t)
{
	SWAP(s->config, t->config);
	s->updated_us = t->updated_us;
	if (t->last_fire > s->last_fire)
		s->last_fire = t->last_fire;
}

static void
schedule_changed_cb(const struct journal_result *res, void *arg)
{
	struct schedule_op	*op = arg;
	struct schedule		*s = op->s, *t = op->t;

	if (res->status != JOURNAL_OK) {
		if (op->kind == SCHEDULE_OP_UPDATE && strcmp(s->name_key,
		    t->name_key) != 0)
			schedule_release_name(t);
		schedule_op_fail(op, res);
		schedule_op_free(op);
		return;
	}
	schedule_set_state(s, t->state);
	if (op->kind == SCHEDULE_OP_UPDATE) {
		if (strcmp(s->name_key, t->name_key) != 0)
			schedule_take_name(s, t);
		schedule_take_config(s, t);
		/* A generated secret replaced by another reference goes. */
		schedule_drop_generated(s->id, t->webhook_secret_ref, NULL, s);
	} else {
		if (t->last_fire > s->last_fire)
			s->last_fire = t->last_fire;
		s->updated_us = t->updated_us;
		SWAP(s->pause_reason, t->pause_reason);
		SWAP(s->pause_note, t->pause_note);
		SWAP(s->note, t->note);
	}
	schedule_arm(s, s->last_fire > now_us() ? s->last_fire : now_us());
	log_info("msg=\"schedule %s\" schedule=%s state=%s",
	    op->kind == SCHEDULE_OP_UPDATE ? "updated" :
	    op->kind == SCHEDULE_OP_PAUSE ? "paused" : "resumed", s->id,
	    schedule_state_names[s->state]);
	reply_ok(op->req, schedule_to_json(s));
	schedule_op_free(op);
}

/* schedule.update: the given fields change; the next fire is recomputed. */
void
schedule_ctl_update(struct reply *req, struct schedule *s, json_t *params)
{
	struct schedule	*t;
	struct jrec	*rec;
	int64_t		 now = now_us();

	if (schedule_busy(req, s))
		return;
	t = schedule_clone(s);
	if (schedule_configure(req, t, params, 0, s->name_key) == -1)
		return;
	t->updated_us = now;
	if (t->last_fire < now)
		t->last_fire = now;
	/* A completed one-shot given a new instant (or another trigger)
	 * is active again. */
	if (t->state == SCHEDULE_COMPLETED && (t->trigger != TRIGGER_AT ||
	    t->at_us > now))
		schedule_set_state(t, SCHEDULE_ACTIVE);
	rec = schedule_record(t, "schedule.updated");
	if (t->history < s->history && t->run_counter >= t->history)
		schedule_prune_runs(s, rec, t->run_counter - t->history + 1);
	journal_submit(engine->journal, rec, schedule_changed_cb,
	    schedule_op_create(req, s, t, SCHEDULE_OP_UPDATE));
}

/*
 * Pause or resume S with an optional note.  Pausing stops the timer now;
 * a paused schedule has no occurrences, and resuming starts from now.
 * Also how a schedule pauses on budget_exceeded (REQ NULL; see
 * struct schedule_kind).
 */
void
schedule_set_paused(struct reply *req, struct schedule *s, int pause,
    const char *reason, const char *note)
{
	struct schedule		*t;
	struct schedule_op	*op;
	int64_t			 now = now_us();

	if (req != NULL && schedule_busy(req, s))
		return;
	if (s->state == SCHEDULE_COMPLETED) {
		if (req != NULL)
			reply_fail(req, REPLY_CONFLICT, "the schedule has "
			    "completed (its one instant is settled); give it a "
			    "new --at with schedule update to run it again",
			    NULL, NULL);
		return;
	}
	if ((s->state == SCHEDULE_PAUSED) == pause) {
		if (req != NULL)
			reply_fail(req, REPLY_CONFLICT, pause ?
			    "schedule is paused already" :
			    "schedule is not paused", NULL, NULL);
		return;
	}
	t = schedule_clone(s);
	schedule_set_state(t, pause ? SCHEDULE_PAUSED : SCHEDULE_ACTIVE);
	free(t->pause_reason);
	t->pause_reason = pause ? xstrdup(reason) : NULL;
	/* A pause's note says why it is paused and goes with the pause; a
	 * resume's note becomes the schedule's note. */
	free(t->pause_note);
	t->pause_note = pause && note != NULL ? xstrdup(note) : NULL;
	if (!pause && note != NULL) {
		free(t->note);
		t->note = xstrdup(note);
	}
	t->updated_us = now;
	if (!pause && t->last_fire < now)
		t->last_fire = now;
	if (pause)
		timer_cancel(&s->timer);
	op = schedule_op_create(req, s, t, pause ? SCHEDULE_OP_PAUSE :
	    SCHEDULE_OP_RESUME);
	if (req == NULL) {
		/* Internal pause: take effect at once; the record follows. */
		schedule_set_state(s, t->state);
		SWAP(s->pause_reason, t->pause_reason);
		SWAP(s->pause_note, t->pause_note);
		s->updated_us = now;
		journal_submit(engine->journal, schedule_record(s,
		    "schedule.paused"), journal_log_cb, NULL);
		schedule_op_free(op);
		return;
	}
	journal_submit(engine->journal, schedule_record(t, pause ?
	    "schedule.paused" : "schedule.resumed"), schedule_changed_cb, op);
}

/* ---- delete ------------------------------------------------------------ */

static void
schedule_deleted_cb(const struct journal_result *res, void *arg)
{
	struct schedule_op	*op = arg;
	struct schedule		*s = op->s;

	if (res->status != JOURNAL_OK) {
		schedule_undelete(s, op->t->state);
		schedule_arm(s, now_us());
		schedule_op_fail(op, res);
		schedule_op_free(op);
		return;
	}
	schedule_unregister(s);
	/* Secrets the daemon generated for it go with it. */
	schedule_drop_generated(s->id, s->webhook_secret_ref, s->webhook_prev,
	    NULL);
	dispatch_cancel_pending(s, "schedule deleted");
	log_info("msg=\"schedule deleted\" schedule=%s", s->id);
	reply_ok(op->req, json_pack("{s:s, s:b}", "id", s->id, "deleted", 1));
	schedule_op_free(op);
	actor_unref(&s->actor);		/* the registry's reference */
}

struct prune_ctx {
	struct jrec	*rec;
	uint64_t	 below;
};

static int
prune_row_cb(const struct journal_row *row, void *arg)
{
	struct prune_ctx	*ctx = arg;
	const char		*k = row->key;
	uint64_t		 n = 0;
	size_t			 i;

	/* The key ends with the run number in 12 digits. */
	if (row->klen < 12)
		return (0);
	for (i = row->klen - 12; i < row->klen; i++) {
		if (k[i] < '0' || k[i] > '9')
			return (0);
		n = n * 10 + (uint64_t)(k[i] - '0');
	}
	if (n < ctx->below)
		jrec_del(ctx->rec, "runs", row->key, row->klen);
	return (0);
}

/* Make REC delete S's kept run rows numbered below BELOW. */
void
schedule_prune_runs(struct schedule *s, struct jrec *rec, uint64_t below)
{
	struct prune_ctx	ctx;
	char			prefix[128];

	ctx.rec = rec;
	ctx.below = below;
	snprintf(prefix, sizeof prefix, "%s:", s->id);
	if (journal_table_foreach(engine->journal, "runs", prefix,
	    strlen(prefix), 0, prune_row_cb, &ctx) == -1)
		log_warnx("msg=\"cannot read the runs table to prune it\" "
		    "schedule=%s", s->id);
}

/* schedule.delete: the row and the kept run rows go; the log keeps all. */
void
schedule_ctl_delete(struct reply *req, struct schedule *s)
{
	struct jrec		*rec;
	struct schedule		*t;
	const struct pack_pair	 v[] = {
		PACK_PAIR_STR("id", s->id),
		PACK_PAIR_STR("name", s->name),
	};

	if (schedule_busy(req, s))
		return;
	t = schedule_clone(s);
	timer_cancel(&s->timer);
	rec = jrec_create("schedule.deleted", s->account);
	jrec_failfast(rec);
	PACK_MAP(jrec_body(rec), v);
	jrec_del(rec, "schedules", s->id, strlen(s->id));
	jrec_del(rec, "progress", s->id, strlen(s->id));
	schedule_prune_runs(s, rec, UINT64_MAX);
	/* No new fire may start while the record is on its way. */
	schedule_set_state(s, SCHEDULE_DELETED);
	journal_submit(engine->journal, rec, schedule_deleted_cb,
	    schedule_op_create(req, s, t, SCHEDULE_OP_DELETE));
}

/* ---- estimate and next fires of a schedule to be --------------------- */

/*
 * The schedule PARAMS describe for ACCOUNT, checked as schedule.create
 * checks it ("name" not needed), with the grid and last fire of one
 * created now: allocated, never registered or journaled; the caller frees
 * it with schedule_free.  NULL after answering REQ with the fault.
 */
static struct schedule *
schedule_draft(struct reply *req, json_t *params, const char *account)
{
	struct schedule	*t;
	const char	*field = NULL;
	char		*reason = NULL;
	json_t		*p;

	t = schedule_create();
	t->account = intern(account);
	p = json_deep_copy(params);
	if (json_object_get(p, "name") == NULL)
		json_object_set_new(p, "name", json_string("estimate"));
	if (schedule_config_apply(&t->config, account, p, 1, &field,
	    &reason) == -1) {
		reply_invalid(req, field, reason);
		free(reason);
		json_decref(p);
		schedule_free(t);
		return (NULL);
	}
	json_decref(p);
	schedule_set_id(t, "(not created)", strlen("(not created)"));
	t->anchor_us = now_us() - now_us() % USEC_PER_SEC;
	t->last_fire = now_us();
	return (t);
}

/*
 * schedule.estimate (and schedule.create with dry_run): the estimate of
 * the schedule PARAMS describe; nothing is written.
 */
void
schedule_ctl_estimate(struct reply *req, json_t *params,
    const char *account)
{
	struct schedule	*t;
	json_t		*est;

	if ((t = schedule_draft(req, params, account)) == NULL)
		return;
	if ((est = schedule_estimate(t)) == NULL)
		reply_invalid(req, "operation", "the operation or its model "
		    "is not in the catalog");
	else
		reply_ok(req, est);
	schedule_free(t);
}

/*
 * The next COUNT fires of S, as schedule.next answers them: {"id", "tz",
 * "state", "next": [{"utc", "local", "dst"}]}, from now or the last
 * occurrence settled if later.  Returns allocated JSON.
 */
json_t *
schedule_next_json(const struct schedule *s, int count)
{
	struct cron_fire	*fires;
	int64_t			*when, from;
	json_t			*list;
	char			 utc[40], local[40];
	int			 i, n;

	when = xcalloc((size_t)count, sizeof *when);
	fires = xcalloc((size_t)count, sizeof *fires);
	from = now_us();
	if (s->last_fire > from)
		from = s->last_fire;
	n = schedule_next_fires(s, from, count, when, fires);
	list = json_array();
	for (i = 0; i < n; i++) {
		snprintf(local, sizeof local, "%04d-%02d-%02dT%02d:%02d:%02d",
		    fires[i].nominal.year, fires[i].nominal.month,
		    fires[i].nominal.day, fires[i].nominal.hour,
		    fires[i].nominal.minute, fires[i].nominal.second);
		json_array_append_new(list, json_pack("{s:s, s:s, s:s}",
		    "utc", fmt_rfc3339(when[i], utc, sizeof utc), "local",
		    local, "dst", dst_tag_name(fires[i].tag)));
	}
	free(when);
	free(fires);
	return (json_pack("{s:s, s:s, s:s, s:o}", "id", s->id, "tz",
	    tz_name(s->tz), "state", s->state == SCHEDULE_ACTIVE ? "active" :
	    "paused", "next", list));
}

/*
 * schedule.next without an id: the next COUNT fires of the schedule
 * PARAMS describe, checked as schedule.create checks it; nothing is
 * written.  Its "id" is null and its state "active".
 */
void
schedule_ctl_next(struct reply *req, json_t *params, const char *account,
    int count)
{
	struct schedule	*t;
	json_t		*out;

	if ((t = schedule_draft(req, params, account)) == NULL)
		return;
	out = schedule_next_json(t, count);
	json_object_set_new(out, "id", json_null());
	reply_ok(req, out);
	schedule_free(t);
}

/* ---- listing ----------------------------------------------------------- */

struct list_ctx {
	const struct schedule_filter	*f;
	struct schedule			**v;
	size_t				  n;
	size_t				  cap;
};

/*
 * Natural order: runs of digits compare as numbers ("job2" before
 * "job10"), letters without regard to case; ties are broken byte by byte,
 * so that only equal strings are equal.
 */
static int
list_natcmp(const char *a, const char *b)
{
	const char	*x = a, *y = b;
	size_t		 nx, ny;
	int		 c;

	while (*x != '\0' && *y != '\0') {
		if (isdigit((unsigned char)*x) && isdigit((unsigned char)*y)) {
			while (*x == '0' && isdigit((unsigned char)x[1]))
				x++;
			while (*y == '0' && isdigit((unsigned char)y[1]))
				y++;
			for (nx = 0; isdigit((unsigned char)x[nx]); nx++)
				/* nothing */;
			for (ny = 0; isdigit((unsigned char)y[ny]); ny++)
				/* nothing */;
			if (nx != ny)
				return (nx < ny ? -1 : 1);
			if ((c = strncmp(x, y, nx)) != 0)
				return (c);
			x += nx;
			y += ny;
			continue;
		}
		c = tolower((unsigned char)*x) - tolower((unsigned char)*y);
		if (c != 0)
			return (c);
		x++;
		y++;
	}
	if (*x != '\0' || *y != '\0')
		return (*x == '\0' ? -1 : 1);
	return (strcmp(a, b));
}

/* The list order: account, then name, both natural. */
static int
list_cmp_key(const char *acct, const char *name, const struct schedule *s)
{
	int	c;

	if ((c = list_natcmp(acct, s->account)) != 0)
		return (c);
	return (list_natcmp(name, s->name));
}

/* The list order of two struct schedule * (for qsort): by account, then
 * by name, both natural. */
int
schedule_list_cmp(const void *a, const void *b)
{
	const struct schedule	*x = *(struct schedule *const *)a;
	const struct schedule	*y = *(struct schedule *const *)b;

	return (list_cmp_key(x->account, x->name, y));
}

static const char *const schedule_sort_names[SCHEDULE_SORT_MAX] = {
	"name", "operation", "state", "next_fire", "last_fire", "cost_month"
};

/* S's key under SORT when it is a number. */
static int64_t
list_num_key(enum schedule_sort sort, const struct schedule *s)
{
	switch (sort) {
	case SCHEDULE_SORT_NEXT_FIRE:
		return (s->state == SCHEDULE_ACTIVE && s->next_fire > 0 ?
		    s->next_fire : INT64_MAX);
	case SCHEDULE_SORT_LAST_FIRE:
		return (s->fired_us);
	case SCHEDULE_SORT_COST_MONTH:
		return (s->month_spent);
	default:
		return (0);
	}
}

/* S's key under SORT when it is a string ("" for the name order). */
static const char *
list_str_key(enum schedule_sort sort, const struct schedule *s)
{
	switch (sort) {
	case SCHEDULE_SORT_OPERATION:
		return (s->operation);
	case SCHEDULE_SORT_STATE:
		return (schedule_state_names[s->state]);
	default:
		return ("");
	}
}

static int
list_numeric(enum schedule_sort sort)
{
	return (sort == SCHEDULE_SORT_NEXT_FIRE ||
	    sort == SCHEDULE_SORT_LAST_FIRE || sort == SCHEDULE_SORT_COST_MONTH);
}

/* Where the position (NUM or STR, ACCT, NAME) stands against S in F's
 * order: < 0 before it, 0 at it, > 0 after it. */
static int
list_cmp_pos(const struct schedule_filter *f, int64_t num, const char *str,
    const char *acct, const char *name, const struct schedule *s)
{
	int64_t	k;
	int	c = 0;

	if (list_numeric(f->sort)) {
		k = list_num_key(f->sort, s);
		c = num < k ? -1 : num > k;
	} else if (f->sort != SCHEDULE_SORT_NAME)
		c = list_natcmp(str, list_str_key(f->sort, s));
	if (c == 0)
		c = list_cmp_key(acct, name, s);
	return (f->desc ? -c : c);
}

/* qsort has no argument: the filter of the list being sorted. */
static const struct schedule_filter *list_sorting;

static int
list_sort_cmp(const void *a, const void *b)
{
	const struct schedule	*x = *(struct schedule *const *)a;
	const struct schedule	*y = *(struct schedule *const *)b;

	return (list_cmp_pos(list_sorting, list_num_key(list_sorting->sort, x),
	    list_str_key(list_sorting->sort, x), x->account, x->name, y));
}

/* F's order from a sort parameter ("next_fire", "-cost_month"): 0, or -1
 * for an unknown one. */
int
schedule_sort_parse(struct schedule_filter *f, const char *sort)
{
	int	i;

	f->desc = sort[0] == '-';
	for (i = 0; i < SCHEDULE_SORT_MAX; i++) {
		if (strcmp(sort + f->desc, schedule_sort_names[i]) == 0) {
			f->sort = i;
			return (0);
		}
	}
	return (-1);
}

/* The sort parameter of F's order, into BUF. */
static const char *
list_sort_text(const struct schedule_filter *f, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", f->desc ? "-" : "",
	    schedule_sort_names[f->sort]);
	return (buf);
}

/*
 * The cursor after S in F's order: "ACCOUNT/NAME" in the default order,
 * else "SORT:KEY:ACCOUNT/NAME" (SORT as the request gave it, KEY S's
 * value: a number, a string, or nothing for -name).  Allocated.
 */
static char *
list_cursor(const struct schedule_filter *f, const struct schedule *s)
{
	char	*c, sort[32];

	if (f->sort == SCHEDULE_SORT_NAME && !f->desc)
		xasprintf(&c, "%s/%s", s->account, s->name);
	else if (list_numeric(f->sort))
		xasprintf(&c, "%s:%lld:%s/%s", list_sort_text(f, sort,
		    sizeof sort), (long long)list_num_key(f->sort, s),
		    s->account, s->name);
	else
		xasprintf(&c, "%s:%s:%s/%s", list_sort_text(f, sort,
		    sizeof sort), list_str_key(f->sort, s), s->account,
		    s->name);
	return (c);
}

/* Copy the LEN bytes at P into BUF (of 64) if they are an id. */
static int
list_cursor_id(char *buf, const char *p, size_t len)
{
	if (len >= 64)
		return (-1);
	memcpy(buf, p, len);
	buf[len] = '\0';
	return (valid_id(buf) ? 0 : -1);
}

/*
 * F's position from CURSOR, a next_cursor of schedule_list under the same
 * order (F's sort set first): 0, or -1 when it is not one.
 */
int
schedule_cursor_parse(struct schedule_filter *f, const char *cursor)
{
	const char	*p = cursor, *slash, *colon;
	char		 sort[32], *end;
	size_t		 n;

	if (f->sort != SCHEDULE_SORT_NAME || f->desc) {
		list_sort_text(f, sort, sizeof sort);
		n = strlen(sort);
		if (strncmp(p, sort, n) != 0 || p[n] != ':')
			return (-1);
		p += n + 1;
		if ((colon = strchr(p, ':')) == NULL)
			return (-1);
		if (list_numeric(f->sort)) {
			errno = 0;
			f->after_num = strtoll(p, &end, 10);
			if (end != colon || p == colon || errno != 0)
				return (-1);
		} else if (f->sort == SCHEDULE_SORT_NAME) {
			if (colon != p)
				return (-1);
		} else if (list_cursor_id(f->after_str, p,
		    (size_t)(colon - p)) != 0)
			return (-1);
		p = colon + 1;
	}
	if ((slash = strchr(p, '/')) == NULL ||
	    list_cursor_id(f->after_account, p, (size_t)(slash - p)) != 0 ||
	    list_cursor_id(f->after_name, slash + 1, strlen(slash + 1)) != 0)
		return (-1);
	f->after = 1;
	return (0);
}

/* Is S visible to the caller, and does it pass the filter? */
static int
list_wanted(const struct schedule_filter *f, const struct schedule *s)
{
	struct account	*a;

	if (s->state == SCHEDULE_DELETED)
		return (0);
	if (f->account != NULL && strcmp(f->account, s->account) != 0)
		return (0);
	if (f->account == NULL && !f->caller->admin &&
	    ((a = account_find(s->account)) == NULL ||
	    !account_allows(a, f->caller)))
		return (0);
	if (f->state != -1 && (int)s->state != f->state)
		return (0);
	if (f->operation != NULL && strcmp(f->operation, s->operation) != 0)
		return (0);
	if (f->name != NULL && fnmatch(f->name, s->name, 0) != 0)
		return (0);
	if (f->after && list_cmp_pos(f, f->after_num, f->after_str,
	    f->after_account, f->after_name, s) >= 0)
		return (0);
	return (1);
}

static void
schedule_list_one(struct schedule *s, void *arg)
{
	struct list_ctx		*ctx = arg;

	if (!list_wanted(ctx->f, s))
		return;
	if (ctx->n == ctx->cap) {
		ctx->cap = ctx->cap == 0 ? 64 : ctx->cap * 2;
		ctx->v = xreallocarray(ctx->v, ctx->cap, sizeof *ctx->v);
	}
	ctx->v[ctx->n++] = s;
}

/*
 * The schedules F lets through (only those of accounts F's caller may act
 * for), in F's order (by default account then name, natural), at most
 * LIMIT of them, as schedule objects.  When more follow, *NEXT is the
 * cursor of the last one (allocated; else NULL): schedule_cursor_parse
 * takes it back for the next page.
 */
json_t *
schedule_list(const struct schedule_filter *f, size_t limit, char **next)
{
	struct list_ctx	 ctx;
	json_t		*a = json_array();
	size_t		 i;

	memset(&ctx, 0, sizeof ctx);
	ctx.f = f;
	*next = NULL;
	schedule_foreach(NULL, schedule_list_one, &ctx);
	list_sorting = f;
	if (ctx.n > 0)
		xqsort(ctx.v, ctx.n, sizeof *ctx.v, list_sort_cmp);
	for (i = 0; i < ctx.n && i < limit; i++)
		json_array_append_new(a, schedule_to_json(ctx.v[i]));
	if (i < ctx.n && i > 0)
		*next = list_cursor(f, ctx.v[i - 1]);
	free(ctx.v);
	return (a);
}

