/*
 * actors/run-cycle.c: the life of a run, from its first record to its
 * last, each step journaled before it has effects:
 *	run.started  (slot free)  -> executor -> run.finished
 *	run.pending  (no slot)    -> MSG_SLOT -> run.started -> ...
 *	run.claimed  (before its instant) -> timer at the instant -> the slot
 *	             path of run.pending
 *	run.retrying (attempt failed, retries left) -> timer -> run.started
 *	run.skipped / run.missed  (no execution)
 * Its records, pricing and the budgets, slots, the executor, retries, its
 * end, and the answer to the one waiting for it (struct reply, with the
 * run's refusal).  Occurrences begin runs in dispatch.c; recovery settles
 * those a crash left in flight in recover.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "actors.h"

struct exec_done {
	struct run		*run;
	struct exec_result	*result;
};

static void	run_start(struct run *);
static void	run_submit_arg(struct run *, const char *, const char *,
		    journal_done_cb, void *);
static struct jrec *run_record(struct run *, const char *, const char *);
static void	run_started_cb(const struct journal_result *, void *);
static void	run_pending_cb(const struct journal_result *, void *);
static void	run_unlink(struct run *);
static void	run_deliver(struct run *, enum run_status);
static void	run_abort(struct run *, const char *);

static int	dispatch_abandoned;

/* After the drain timeout: results of aborted runs are not recorded, so
 * that the next start settles them like a crash. */
void
dispatch_abandon(void)
{
	dispatch_abandoned = 1;
}

/* ---- records ----------------------------------------------------------- */

/*
 * Journal run R as KIND: the run map as body, its row in "runs", its
 * presence in "active" while in flight, its schedule's row, and (for the
 * first record of a run) the removal of the row that falls out of the
 * kept history.  CLAIM, if any, is the dedup key it claims.
 */
void
run_submit(struct run *r, const char *kind, const char *claim,
    journal_done_cb cb)
{
	run_submit_arg(r, kind, claim, cb, r);
}

/* run_submit with ARG for the callback instead of the run. */
static void
run_submit_arg(struct run *r, const char *kind, const char *claim,
    journal_done_cb cb, void *arg)
{
	journal_submit(engine->journal, run_record(r, kind, claim), cb, arg);
}

/*
 * The record kind of a batch's run: "op.*" instead of "run.*", and a
 * finished run says how ("op.completed", "op.failed", ...).
 */
static const char *
owner_kind(const struct run *r, const char *kind)
{
	if (OWNER_HOOKS(r->sched) == NULL)
		return (kind);
	if (strcmp(kind, "run.finished") == 0) {
		switch (r->status) {
		case RUN_SUCCESS:
			return ("op.completed");
		case RUN_SKIPPED:
			return ("op.skipped");
		case RUN_CANCELLED:
			return ("op.cancelled");
		case RUN_INTERRUPTED:
			return ("op.interrupted");
		default:
			return ("op.failed");
		}
	}
	if (strcmp(kind, "run.started") == 0)
		return ("op.started");
	if (strcmp(kind, "run.pending") == 0)
		return ("op.pending");
	if (strcmp(kind, "run.retrying") == 0)
		return ("op.retrying");
	if (strcmp(kind, "run.skipped") == 0)
		return ("op.skipped");
	if (strcmp(kind, "run.deferred") == 0)
		return ("op.deferred");
	return (kind);
}

/* Build the record of run R as KIND (see run_submit). */
static struct jrec *
run_record(struct run *r, const char *kind, const char *claim)
{
	struct schedule		*s = r->sched;
	struct jrec		*rec;
	struct pack_buffer	 pb;
	char			 key[128], old[JOURNAL_MAX_KEY + 1];

	rec = jrec_create(owner_kind(r, kind), s->account);
	run_row_key(s->id, r->number, key, sizeof key);
	/* Packed once: the same bytes are the body and the row. */
	pack_buffer_init(&pb);
	run_pack(r, &pb.pk);
	pack_raw(jrec_body(rec), pb.sbuf.data, pb.sbuf.size);
	/* a run's end counts in its analytics row, in the same transaction */
	if (run_status_final(r->status))
		analytics_add(rec, s->account, pb.sbuf.data, pb.sbuf.size);
	/* A deleted schedule's rows are gone; its runs leave only records. */
	if (s->state == SCHEDULE_DELETED)
		jrec_del(rec, "runs", key, strlen(key));
	else
		jrec_put(rec, "runs", key, strlen(key), pb.sbuf.data,
		    pb.sbuf.size);
	pack_buffer_clear(&pb);
	if (run_status_final(r->status))
		jrec_del(rec, "active", key, strlen(key));
	else	/* put by its claim already, for every later record */
		jrec_put_lazy(rec, "active", key, strlen(key), "", 0);
	if (claim != NULL) {
		jrec_claim(rec, claim);
		pack_buffer_init(&pb);
		pack_str(&pb.pk, claim);
		jrec_body_add(rec, "claim", pb.sbuf.data, pb.sbuf.size);
		pack_buffer_clear(&pb);
		if (OWNER_HOOKS(s) == NULL && r->number > s->history) {
			run_row_key(s->id, r->number - s->history, old,
			    sizeof old);
			jrec_del(rec, "runs", old, strlen(old));
		}
	}
	if (r->idem_key != NULL && claim != NULL) {
		snprintf(old, sizeof old, "%s:%s", s->id, r->idem_key);
		jrec_put(rec, "idem", old, strlen(old), r->id, strlen(r->id));
	}
	/* A webhook's message id is kept for the retention period only. */
	if (claim != NULL && strncmp(claim, "webhook:", 8) == 0)
		webhook_expiry_put(rec, claim, r->created_us);
	if (OWNER_HOOKS(s) != NULL)
		OWNER_HOOKS(s)->put_state(s, r, rec);
	else
		dispatch_schedules()->put_progress(s, rec);
	return (rec);
}

/* A refusal that waits for the record settling its run. */
struct settle_reply {
	struct reply	*req;
	struct schedule	*sched;
	char		*idem_key;
	struct refusal	 refusal;
	json_t		*record;	/* the run, as recorded */
};


static void
settle_reply_cb(const struct journal_result *res, void *arg)
{
	struct settle_reply	*sr = arg;

	if (res->status == JOURNAL_DUPLICATE && sr->idem_key != NULL) {
		if (dispatch_idem_reply(sr->req, sr->sched, sr->idem_key) == -1)
			reply_fail(sr->req, REPLY_CONFLICT, "already claimed",
			    NULL, NULL);
	} else if (res->status != JOURNAL_OK)
		outcome_journal(sr->req, res);
	else {
		reply_refuse_recorded(sr->req, &sr->refusal, sr->record);
		sr->record = NULL;
	}
	json_decref(sr->record);
	actor_unref(&sr->sched->actor);
	free(sr->idem_key);
	free(sr);
}

/* What is said of a run's end once its record is durable. */
struct run_end {
	char			*id;
	enum run_status		 status;
	char			*reason;	/* skipped, missed: why */
	int			 budget_skip;
	int64_t			 latency_us;	/* -1: never started */
	int64_t			 cost;
	struct settle_reply	*reply;		/* a request waiting */
};

/*
 * The record of a run's end landed: only now is it logged and counted
 * (the writer holds the record while the journal cannot write; nothing is
 * said done before it is durable).
 */
static void
run_end_cb(const struct journal_result *res, void *arg)
{
	struct run_end	*e = arg;
	char		 buf[32];

	if (res->status == JOURNAL_OK) {
		metrics_count(METRICS_RUNS, run_status_name(e->status), 1);
		if (e->budget_skip)
			metrics_count(METRICS_BUDGET_SKIPS, NULL, 1);
		if (e->latency_us >= 0)
			metrics_observe_us(METRICS_RUN_SECONDS, e->latency_us);
		if (e->reason != NULL)
			log_info("msg=\"run %s\" run=%s reason=\"%s\"",
			    run_status_name(e->status), e->id,
			    log_escape(e->reason));
		else
			log_info("msg=\"run finished\" run=%s status=%s "
			    "latency_ms=%lld cost_usd=%s", e->id,
			    run_status_name(e->status), e->latency_us > 0 ?
			    (long long)(e->latency_us / 1000) : 0LL,
			    fmt_usd(e->cost > 0 ? e->cost : 0, buf,
			    sizeof buf));
	} else if (res->status != JOURNAL_DUPLICATE)
		log_warnx("msg=\"run end not recorded\" run=%s status=%s "
		    "error=\"%s\"", e->id, run_status_name(e->status),
		    log_escape(res->error));
	if (e->reply != NULL)
		settle_reply_cb(res, e->reply);
	free(e->reason);
	free(e->id);
	free(e);
}

/* The note of R's end, ending with ST (see run_end_cb). */
static struct run_end *
run_end_new(const struct run *r, enum run_status st, const char *reason)
{
	struct run_end	*e;

	e = xcalloc(1, sizeof *e);
	e->id = xstrdup(r->id);
	e->status = st;
	e->reason = reason != NULL ? xstrdup(reason) : NULL;
	e->latency_us = r->started_us > 0 && r->finished_us > 0 ?
	    r->finished_us - r->started_us : -1;
	e->cost = r->cost;
	return (e);
}

/* A run with no execution (skipped, missed, failed before start); a
 * request waiting for it is answered once the record is durable. */
void
run_settle_now(struct run *r, enum run_status st, const char *reason,
    const char *claim)
{
	struct settle_reply	*sr = NULL;
	struct run_end		*e;

	r->finished_us = now_us();
	run_set_status(r, st);
	e = run_end_new(r, st, reason != NULL ? reason : "");
	e->budget_skip = st == RUN_SKIPPED && reason != NULL &&
	    (strcmp(reason, "budget") == 0 || (OWNER_HOOKS(r->sched) != NULL &&
	    strcmp(reason, OWNER_HOOKS(r->sched)->budget_reason) == 0));
	if (reason != NULL) {
		free(r->reason);
		r->reason = xstrdup(reason);
	}
	if (r->req != NULL) {
		sr = xcalloc(1, sizeof *sr);
		sr->req = r->req;
		sr->sched = r->sched;
		actor_ref(&sr->sched->actor);
		sr->idem_key = r->idem_key != NULL ? xstrdup(r->idem_key) :
		    NULL;
		sr->refusal = r->refusal;
		if (sr->refusal.message == NULL) {
			sr->refusal.kind = REPLY_CONFLICT;
			sr->refusal.message = "the run did not start";
		}
		sr->record = json_pack("{s:s, s:s, s:s*}", "run_id", r->id,
		    "status", run_status_name(st), "reason", reason);
		r->req = NULL;
	}
	e->reply = sr;
	run_submit_arg(r, st == RUN_MISSED ? "run.missed" : st == RUN_SKIPPED ?
	    "run.skipped" : "run.finished", claim, run_end_cb, e);
	if (OWNER_HOOKS(r->sched) != NULL)
		OWNER_HOOKS(r->sched)->ended(r->sched, r);
	run_free(r);
}

/* ---- budget and start -------------------------------------------------- */

/* Would R's mid estimate take S past its monthly cap? */
static int
over_budget(struct schedule *s, const struct run *r)
{
	dispatch_month_roll(s, now_us());
	if (s->max_cost_month <= 0)
		return (0);
	return (money_add(money_add(s->month_spent, s->month_reserved),
	    r->estimate.mid) > s->max_cost_month);
}

/* The model a run of S uses: the schedule's override, else the account's
 * preferred model for the operation (if the catalog has it), else the
 * operation's default.  NULL if it is not in the catalog. */
static const struct model *
run_model(const struct schedule *s, const struct operation *op)
{
	const struct op_prefs	*p;
	const struct model	*m;

	if (s->model != NULL)
		return (catalog_model(engine->catalog, s->model));
	if ((p = prefs_lookup(s->account, op->id)) != NULL &&
	    p->preferred_model != NULL &&
	    (m = catalog_model(engine->catalog, p->preferred_model)) != NULL)
		return (m);
	return (catalog_model(engine->catalog, op->default_model));
}

/*
 * The estimate of one run of S now (as run_begin would price it): 0, or -1
 * if its operation or model is not in the catalog.
 */
int
dispatch_estimate(const struct schedule *s, struct cost_range *out,
    const char **source, int *samples, const char **model_id)
{
	const struct operation	*op;
	const struct model	*model;

	if ((op = catalog_operation(engine->catalog, s->operation)) == NULL ||
	    (model = run_model(s, op)) == NULL)
		return (-1);
	estimate_run(s->account, op, model, out, source, samples);
	*model_id = model->id;
	return (0);
}

/* Why R is refused, told to its waiter once the record settling it is
 * durable (static strings). */
static void
run_refusal(struct run *r, enum reply_kind kind, const char *message,
    const char *field, const char *reason)
{
	r->refusal.kind = kind;
	r->refusal.message = message;
	r->refusal.field = field;
	r->refusal.reason = reason;
}

/* R is in flight: with the catalog it began with, among its owner's runs,
 * its mid estimate reserved from the owner's month and the budgets. */
void
run_enlist(struct run *r)
{
	struct schedule	*s = r->sched;

	r->catalog = engine->catalog;
	catalog_ref(r->catalog);
	TAILQ_INSERT_TAIL(&s->runs, r, entry);
	s->nruns++;
	actor_ref(&s->actor);
	s->month_reserved = money_add(s->month_reserved, r->estimate.mid);
	budget_reserve(s->account, r->operation, r->estimate.mid);
}

/*
 * Price R, check the budget and start it (or queue it for a slot).  CLAIM
 * is the dedup key of its occurrence or idempotency key.
 */
void
run_begin(struct run *r, const char *claim)
{
	struct schedule		*s = r->sched;
	const struct operation	*op;
	const struct model	*model;
	const struct op_prefs	*p;
	const struct run_hooks	*hooks;
	const char		*cap;

	op = catalog_operation(engine->catalog, r->operation);
	model = op == NULL ? NULL : run_model(s, op);
	if (op == NULL || model == NULL) {
		xasprintf(&r->error, "operation \"%s\" or its model is not in "
		    "the catalog", r->operation);
		run_refusal(r, REPLY_CONFLICT, "the operation or its model is "
		    "not in the catalog", "operation", "not in the catalog");
		run_settle_now(r, RUN_FAILED, "catalog", claim);
		return;
	}
	r->model = xstrdup(model->id);
	r->model_id = xstrdup(model->id);
	estimate_run(s->account, op, model, &r->estimate, &r->estimate_source,
	    &r->estimate_samples);
	if ((p = prefs_lookup(s->account, r->operation)) != NULL &&
	    !p->enabled) {
		run_refusal(r, REPLY_CONFLICT, "the operation is disabled in "
		    "the account's preferences", "operation", "disabled");
		run_settle_now(r, RUN_SKIPPED, "disabled", claim);
		return;
	}
	/* Three caps, the same for every trigger: the schedule's, the
	 * account's per operation, the account's. */
	cap = NULL;
	hooks = OWNER_HOOKS(s);
	if (hooks != NULL && (cap = hooks->budget(s, r)) != NULL) {
		run_refusal(r, REPLY_BUDGET, "the run would pass its owner's "
		    "cost cap", cap, "budget exceeded");
		free(r->error);
		xasprintf(&r->error, "the run's estimate (mid) would pass %s",
		    cap);
		run_settle_now(r, RUN_SKIPPED, hooks->budget_reason, claim);
		return;
	}
	if (over_budget(s, r))
		cap = "max_cost_month";
	else if (budget_check(s->account, r->operation, r->estimate.mid,
	    &cap) == 0)
		cap = NULL;
	if (cap != NULL) {
		run_refusal(r, REPLY_BUDGET, "the run would pass a monthly "
		    "budget", cap, "budget exceeded");
		free(r->error);
		xasprintf(&r->error, "the run's estimate (mid) would pass %s",
		    cap);
		run_settle_now(r, RUN_SKIPPED, "budget", claim);
		if (OWNER_HOOKS(s) == NULL && s->state == SCHEDULE_ACTIVE)
			dispatch_schedules()->capped(s);
		return;
	}
	run_enlist(r);
	if (r->ahead) {
		/* Claimed before its instant: it waits for it, pending. */
		r->awaiting = 1;
		run_submit(r, "run.claimed", claim, run_pending_cb);
	} else if (!r->queued && !engine->draining &&
	    slots_try_acquire() == 0) {
		r->has_slot = 1;
		r->started_us = now_us();
		run_set_status(r, RUN_RUNNING);
		r->awaiting = 1;
		run_submit(r, "run.started", claim, run_started_cb);
	} else {
		r->awaiting = 1;
		run_submit(r, "run.pending", claim, run_pending_cb);
	}
}

/* Answer the request that asked for R, if any: R began. */
static void
run_reply(struct run *r)
{
	if (r->req == NULL)
		return;
	reply_ok(r->req, json_pack("{s:s, s:s, s:b}", "run_id", r->id,
	    "status", run_status_name(r->status), "duplicate", 0));
	r->req = NULL;
}

/* The claim was refused: this occurrence or key was settled before. */
static void
run_refused(struct run *r, const struct journal_result *res)
{
	struct schedule	*s = r->sched;

	if (res->status == JOURNAL_DUPLICATE && r->req != NULL &&
	    r->idem_key != NULL) {
		if (dispatch_idem_reply(r->req, s, r->idem_key) == -1)
			reply_fail(r->req, REPLY_CONFLICT, "already claimed",
			    NULL, NULL);
		r->req = NULL;
	} else if (r->req != NULL) {
		if (res->status == JOURNAL_DUPLICATE)
			reply_fail(r->req, REPLY_CONFLICT, "already claimed",
			    NULL, NULL);
		else
			outcome_journal(r->req, res);
		r->req = NULL;
	}
	if (res->status == JOURNAL_DUPLICATE)
		log_info("msg=\"occurrence already settled\" run=%s", r->id);
	else
		log_warnx("msg=\"run not recorded\" run=%s error=\"%s\"",
		    r->id, log_escape(res->error));
	if (r->has_slot) {
		r->has_slot = 0;
		slots_release();
	}
	run_unlink(r);
	if (OWNER_HOOKS(s) != NULL) {
		/* Its owner counts it as failed to begin. */
		run_set_status(r, RUN_FAILED);
		free(r->error);
		r->error = xstrdup(res->status == JOURNAL_DUPLICATE ?
		    "its claim was refused: settled before" : res->error !=
		    NULL ? res->error : "journal write failed");
		OWNER_HOOKS(s)->ended(s, r);
	}
	run_free(r);
}

/* A record naming R landed: 0 if it is durable (the caller waiting for
 * R's claim is answered), -1 if it was refused (R is gone). */
static int
run_landed(struct run *r, const struct journal_result *res)
{
	r->awaiting = 0;
	if (res->status != JOURNAL_OK) {
		run_refused(r, res);
		return (-1);
	}
	run_reply(r);
	return (0);
}

static void
run_started_cb(const struct journal_result *res, void *arg)
{
	struct run	*r = arg;

	if (run_landed(r, res) == -1)
		return;
	if (r->aborting) {
		r->has_slot = 0;
		slots_release();
		run_finish(r, RUN_CANCELLED);
		return;
	}
	if (engine->draining) {
		/* Not started after all: the next start resumes it. */
		r->has_slot = 0;
		slots_release();
		run_set_status(r, RUN_PENDING);
		r->started_us = 0;
		free(r->reason);
		r->reason = xstrdup("deferred: the daemon was draining");
		run_submit(r, "run.deferred", NULL, journal_log_cb);
		run_unlink(r);
		run_free(r);
		return;
	}
	run_start(r);
}

static void
run_pending_cb(const struct journal_result *res, void *arg)
{
	struct run	*r = arg;

	if (run_landed(r, res) == -1)
		return;
	if (r->aborting)
		run_finish(r, RUN_CANCELLED);
	else if (r->ahead)
		run_wait_instant(r);
	else if (!r->queued)
		run_want_slot(r);
}

/* R, claimed ahead of its instant, waits for it on its own timer
 * (dispatch_timer then asks for a slot); an instant already past goes
 * off at once. */
void
run_wait_instant(struct run *r)
{
	timer_set(&r->retry_timer, r->scheduled_for, TIMER_RETRY | r->number);
}

/* Take a free slot now, or wait in the priority queue for one. */
void
run_want_slot(struct run *r)
{
	if (engine->draining)
		return;
	if (slots_try_acquire() == 0) {
		dispatch_slot(r->sched, r->number);
		return;
	}
	slots_wait(&r->waiter, &r->sched->actor, r->number, r->priority);
}

/* A slot was granted to run number N of S (it is taken already). */
void
dispatch_slot(struct schedule *s, uint64_t n)
{
	struct run	*r = run_find(s, n);

	if (r == NULL || r->status != RUN_PENDING || r->aborting ||
	    engine->draining) {
		slots_release();
		return;
	}
	r->has_slot = 1;
	if (r->waiter.since_us > 0) {
		r->waited_us += now_us() - r->waiter.since_us;
		r->waiter.since_us = 0;
	}
	r->started_us = now_us();
	run_set_status(r, RUN_RUNNING);
	r->awaiting = 1;
	run_submit(r, "run.started", NULL, run_started_cb);
}

/* ---- execution --------------------------------------------------------- */

static void
exec_done_free(void *p)
{
	struct exec_done	*d = p;

	exec_result_free(d->result);
	free(d);
}

static void
run_exec_cb(struct exec_result *res, void *arg)
{
	struct run		*r = arg;
	struct exec_done	*d;

	/* The executor frees its job after this callback. */
	r->job = NULL;
	d = xmalloc(sizeof *d);
	d->run = r;
	d->result = res;
	actor_send(&r->sched->actor, msg_create(MSG_EXEC_DONE, 0, d,
	    exec_done_free));
}

/* Hand R to its executor (its run.started record is durable). */
static void
run_start(struct run *r)
{
	const struct operation	*op;
	struct exec_request	 req;
	char			*cause = NULL;

	op = catalog_operation(r->catalog, r->operation);
	if (op == NULL) {
		xasprintf(&r->error, "operation \"%s\" is not in the catalog",
		    r->operation);
		r->has_slot = 0;
		slots_release();
		run_finish(r, RUN_FAILED);
		return;
	}
	memset(&req, 0, sizeof req);
	req.run_id = r->id;
	req.operation = r->operation;
	req.account = r->sched->account;
	req.model = r->model;
	req.parameters = r->parameters;
	req.deadline_ms = op->timeout_ms;
	log_info("msg=\"run started\" run=%s operation=%s attempt=%d "
	    "lag_ms=%lld", r->id, req.operation, r->attempt,
	    (long long)((r->started_us - r->scheduled_for) / 1000));
	r->job = executor_start(op, &req, r->attempt, run_exec_cb, r, &cause);
	if (r->job == NULL) {
		r->error = cause;
		r->has_slot = 0;
		slots_release();
		run_finish(r, RUN_FAILED);
	}
}

/* Delay before attempt N+1: exponential from the policy, +-20% jitter. */
static int64_t
retry_delay(const struct retry_policy *p, int attempt)
{
	int64_t		d = p->backoff_ms;
	uint32_t	rnd;
	int		i;

	for (i = 1; i < attempt && d < p->max_backoff_ms; i++)
		d *= 2;
	if (d > p->max_backoff_ms)
		d = p->max_backoff_ms;
	if (RAND_bytes((unsigned char *)&rnd, sizeof rnd) != 1)
		rnd = 0;
	d = d * (80 + (int64_t)(rnd % 41)) / 100;
	return (d * USEC_PER_MSEC);
}

static void
run_take_result(struct run *r, struct exec_result *res)
{
	const struct model	*model;

	free(r->error);
	r->error = res->error != NULL ? xstrdup(res->error) : NULL;
	free(r->result);
	r->result = res->result != NULL ? xstrdup(res->result) : NULL;
	if (res->model != NULL) {
		free(r->model);
		r->model = xstrdup(res->model);
	}
	r->input_tokens = res->input_tokens;
	r->output_tokens = res->output_tokens;
	if (res->cost_micro >= 0)
		r->cost = res->cost_micro;
	else {
		/* The price of the model that ran, if the catalog knows
		 * it, else of the one chosen. */
		model = catalog_model(r->catalog, r->model);
		if (model == NULL && r->model_id != NULL)
			model = catalog_model(r->catalog, r->model_id);
		r->cost = model != NULL ? cost_actual(model,
		    res->input_tokens, res->output_tokens) : 0;
	}
}

/* The executor finished an attempt of a run of S. */
void
dispatch_exec_done(struct schedule *s, struct msg *m)
{
	struct exec_done	*d = m->ptr;
	struct run		*r = d->run;
	struct exec_result	*res = d->result;
	const struct operation	*op;
	int64_t			 delay;

	r->job = NULL;
	r->has_slot = 0;
	slots_release();
	run_add_attempt(r, res, r->started_us);
	if (dispatch_abandoned) {
		run_unlink(r);
		run_free(r);
		return;
	}
	run_take_result(r, res);
	op = catalog_operation(r->catalog, r->operation);
	if (op != NULL &&
	    (res->status == EXEC_FAILED || res->status == EXEC_TIMEOUT) &&
	    res->retryable && !r->aborting &&
	    r->attempt < op->retry.attempts &&
	    s->state != SCHEDULE_DELETED && !engine->draining) {
		delay = retry_delay(&op->retry, r->attempt);
		/* The server's Retry-After, when longer, wins. */
		if (res->retry_after_ms * USEC_PER_MSEC > delay)
			delay = res->retry_after_ms * USEC_PER_MSEC;
		log_info("msg=\"run attempt failed, retrying\" run=%s "
		    "attempt=%d delay_ms=%lld error=\"%s\"", r->id, r->attempt,
		    (long long)(delay / 1000), log_escape(r->error));
		r->attempt++;
		run_set_status(r, RUN_PENDING);
		run_submit(r, "run.retrying", NULL, journal_log_cb);
		timer_set(&r->retry_timer, now_us() + delay,
		    TIMER_RETRY | r->number);
		return;
	}
	switch (res->status) {
	case EXEC_SUCCESS:
		run_finish(r, RUN_SUCCESS);
		break;
	case EXEC_CANCELLED:
		run_finish(r, RUN_CANCELLED);
		break;
	default:
		run_finish(r, RUN_FAILED);
		break;
	}
}

/* Remove R from its schedule's runs in flight (and drop its reference). */
static void
run_unlink(struct run *r)
{
	struct schedule	*s = r->sched;

	TAILQ_REMOVE(&s->runs, r, entry);
	s->nruns--;
	s->month_reserved -= r->estimate.mid;
	budget_release(s->account, r->operation, r->estimate.mid);
	if (s->month_reserved < 0)
		s->month_reserved = 0;
	if (r->waiter.actor != NULL)
		slots_cancel(&r->waiter);
	timer_cancel(&r->retry_timer);
	actor_unref(&s->actor);
}

/* Start the run queued behind the previous one (queue_one), if any. */
static void
promote_queued(struct schedule *s)
{
	struct run	*r;

	/* At most one run is queued (queue_one): look only if one was. */
	if (!s->has_queued)
		return;
	TAILQ_FOREACH(r, &s->runs, entry) {
		if (r->queued && r->status == RUN_PENDING) {
			/* If its claim is still on its way, the claim's
			 * callback asks for the slot. */
			r->queued = 0;
			s->has_queued = 0;
			if (!r->awaiting)
				run_want_slot(r);
			return;
		}
		if (r->queued)
			return;
	}
	s->has_queued = 0;
}

/* R of a schedule ended with ST, its run.finished submitted: its report
 * follows (email.c) when the schedule has a "deliver", and a failure is
 * noted for its account's notices (notice.c), after it. */
static void
run_deliver(struct run *r, enum run_status st)
{
	struct schedule		*s = r->sched;
	struct email_run	 er;

	memset(&er, 0, sizeof er);
	er.deliver = s->deliver;
	er.run_id = r->id;
	er.schedule_id = s->id;
	er.schedule_name = s->name;
	er.account = s->account;
	er.operation = r->operation;
	er.st = st;
	er.status = run_status_name(st);
	er.error = r->error;
	er.result = r->result;
	er.cost_micro = r->cost;
	er.finished_us = r->finished_us;
	if (s->deliver != NULL)
		email_run_finished(&er);
	if (st == RUN_FAILED)
		notice_run_failed(&er);
}

/* R ended with ST: record it, account its cost, let a queued run go. */
void
run_finish(struct run *r, enum run_status st)
{
	struct schedule	*s = r->sched;
	struct jrec	*rec;
	struct run_end	*e;
	int64_t		 before;

	r->finished_us = now_us();
	run_set_status(r, st);
	if (r->cost > 0) {
		dispatch_month_roll(s, r->finished_us);
		before = s->month_spent;
		s->month_spent = money_add(s->month_spent, r->cost);
		if (OWNER_HOOKS(s) == NULL)
			budget_crossed(s->account, s->id, "max_cost_month",
			    s->max_cost_month, s->month_key, before,
			    s->month_spent);
	}
	e = run_end_new(r, st, NULL);
	rec = run_record(r, "run.finished", NULL);
	/* The spend is durable with the run's end (the reservation is
	 * released by run_unlink). */
	budget_settle(s->account, r->operation, 0, r->cost > 0 ? r->cost : 0,
	    r->finished_us, rec);
	if (st == RUN_SUCCESS)
		estimate_observe(s->account, r->operation, r->model_id != NULL ?
		    r->model_id : r->model, r->input_tokens, r->output_tokens,
		    rec);
	/* The end, the thresholds it crossed and the mail it queues are
	 * durable together (a crash keeps all or none of them). */
	journal_group_begin(engine->journal);
	journal_submit(engine->journal, rec, run_end_cb, e);
	budget_thresholds_submit();
	if (OWNER_HOOKS(s) == NULL)
		run_deliver(r, st);
	journal_group_end(engine->journal);
	run_unlink(r);
	if (OWNER_HOOKS(s) != NULL)
		OWNER_HOOKS(s)->ended(s, r);
	else
		promote_queued(s);
	run_free(r);
}

/*
 * Stop run R: a running executor is aborted (the run ends cancelled when
 * it reports back); a run waiting for a slot, a retry or its predecessor
 * ends cancelled now; a run whose record is on its way ends cancelled when
 * the record is durable.
 */
static void
run_abort(struct run *r, const char *reason)
{
	if (r->aborting)
		return;
	r->aborting = 1;
	free(r->reason);
	r->reason = xstrdup(reason);
	if (r->job != NULL)
		executor_abort(r->job);
	else if (!r->awaiting && !r->has_slot)
		run_finish(r, RUN_CANCELLED);
}

/* Stop run R (see run_abort). */
void
dispatch_run_abort(struct run *r, const char *reason)
{
	run_abort(r, reason);
}

/* Cancel with REASON the runs of S that have not started (with AHEAD,
 * only those claimed ahead of an instant not yet come). */
static void
cancel_unstarted(struct schedule *s, const char *reason, int ahead)
{
	struct run	*r, *next;

	for (r = TAILQ_FIRST(&s->runs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->job == NULL && (!ahead || r->ahead))
			run_abort(r, reason);
	}
}

/* The schedule is going away: runs that have not started end cancelled;
 * running ones finish on their own. */
void
dispatch_cancel_pending(struct schedule *s, const char *reason)
{
	cancel_unstarted(s, reason, 0);
}

/* S was paused: its runs claimed ahead of an instant not yet come end
 * cancelled; others go on (a pause stops fires, not runs). */
void
dispatch_cancel_ahead(struct schedule *s)
{
	cancel_unstarted(s, "the schedule was paused before the run's "
	    "instant", 1);
}

/* Shutdown: drop runs in memory without recording anything. */
void
dispatch_forget_runs(struct schedule *s)
{
	struct run	*r;

	while ((r = TAILQ_FIRST(&s->runs)) != NULL) {
		executor_abort(r->job);
		r->job = NULL;
		run_unlink(r);
		run_free(r);
	}
}

/* Is nothing left to wait for (no executor, no record in flight)? */
int
dispatch_quiet(void)
{
	return (executor_running() == 0 &&
	    journal_pending(engine->journal) == 0);
}

