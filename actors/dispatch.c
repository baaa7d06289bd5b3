/*
 * actors/dispatch.c: what a schedule does with an occurrence.  Each nominal
 * occurrence ends as exactly one recorded outcome: a run, a skipped run
 * (overlap, budget) or a missed one (catch-up).  The record that settles
 * occurrence T of schedule S claims the dedup key "S@T" (Unix seconds), so
 * no occurrence starts twice, across crashes and restarts.
 *
 * A run's life, each step journaled before it has effects:
 *	run.started  (slot free)  -> executor -> run.finished
 *	run.pending  (no slot)    -> MSG_SLOT -> run.started -> ...
 *	run.retrying (attempt failed, retries left) -> timer -> run.started
 *	run.skipped / run.missed  (no execution)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "actors.h"

#define CATCHUP_SCAN_MAX	100000	/* occurrences examined per schedule */
#define MISSED_SINGLE_MAX	20	/* then one aggregated record */

struct exec_done {
	struct run		*run;
	struct exec_result	*result;
};

static int	dispatch_abandoned;
static struct schedule **held;		/* fell due while the journal */
static size_t	nheld, heldcap;		/* could not write */

static const struct owner_kind *owners;	/* other than schedules */

static void	run_begin(struct run *, const char *);
static void	run_start(struct run *);
static void	run_finish(struct run *, enum run_status);
static void	run_submit(struct run *, const char *, const char *,
		    journal_done_cb);
static void	run_submit_arg(struct run *, const char *, const char *,
		    journal_done_cb, void *);
static struct jrec *run_record(struct run *, const char *, const char *);
static void	run_started_cb(const struct journal_result *, void *);
static void	run_pending_cb(const struct journal_result *, void *);
static void	run_want_slot(struct run *);
static void	run_unlink(struct run *);
static void	run_abort(struct run *, const char *);
static void	dispatch_suppressed(struct schedule *, int64_t,
		    const struct cron_fire *);
static void	dispatch_hold(struct schedule *);

static const char *trig_cron = "cron";
static const char *trig_interval = "interval";
static const char *trig_at = "at";
static const char *trig_manual = "manual";
static const char *trig_catchup = "catchup";
static const char *trig_batch = "batch";
static const char *trig_webhook = "webhook";

static const char *
trigger_source(const struct schedule *s)
{
	switch (s->trigger) {
	case TRIGGER_INTERVAL:
		return (trig_interval);
	case TRIGGER_AT:
		return (trig_at);
	case TRIGGER_MANUAL:
		return (trig_manual);
	case TRIGGER_WEBHOOK:
		return (trig_webhook);
	default:
		return (trig_cron);
	}
}

static const char *
trigger_source_parse(const char *s)
{
	static const char **all[] = { &trig_cron, &trig_interval, &trig_at,
	    &trig_manual, &trig_catchup, &trig_batch, &trig_webhook };
	size_t		    i;

	for (i = 0; i < sizeof all / sizeof all[0]; i++) {
		if (s != NULL && strcmp(s, *all[i]) == 0)
			return (*all[i]);
	}
	return (trig_cron);
}

/* Completion callback for records whose outcome only needs logging. */
void
dispatch_log_cb(const struct journal_result *res, void *arg)
{
	if (res->status == JOURNAL_ERROR)
		log_warnx("msg=\"journal write failed\" error=\"%s\"",
		    log_escape(res->error != NULL ? res->error : "unknown"));
}

/* After the drain timeout: results of aborted runs are not recorded, so
 * that the next start settles them like a crash. */
void
dispatch_abandon(void)
{
	dispatch_abandoned = 1;
}

static struct run *
run_find(struct schedule *s, uint64_t number)
{
	struct run	*first, *last, *r;

	/* A schedule's runs are in number order (a batch's mostly): walk
	 * from the nearer end; slots and results come mostly to the
	 * oldest. */
	if ((first = TAILQ_FIRST(&s->runs)) == NULL)
		return (NULL);
	last = TAILQ_LAST(&s->runs, run_list);
	if (number <= first->number || last->number <= first->number ||
	    number - first->number <= last->number - number) {
		TAILQ_FOREACH(r, &s->runs, entry) {
			if (r->number == number)
				return (r);
		}
	} else {
		TAILQ_FOREACH_REVERSE(r, &s->runs, run_list, entry) {
			if (r->number == number)
				return (r);
		}
	}
	return (NULL);
}

/* Calendar month (yyyymm) of instant US in the schedule's zone. */
int32_t
dispatch_month_key(const struct schedule *s, int64_t us)
{
	struct civil	c;

	tz_to_civil(s->tz, us / USEC_PER_SEC, &c);
	return ((int32_t)(c.year * 100 + c.month));
}

static void
month_roll(struct schedule *s, int64_t now)
{
	int32_t	key = dispatch_month_key(s, now);

	if (key != s->month_key) {
		s->month_key = key;
		s->month_spent = 0;
	}
}

/* ---- records ----------------------------------------------------------- */

/*
 * Journal run R as KIND: the run map as body, its row in "runs", its
 * presence in "active" while in flight, its schedule's row, and (for the
 * first record of a run) the removal of the row that falls out of the
 * kept history.  CLAIM, if any, is the dedup key it claims.
 */
static void
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
	if (r->sched->hooks == NULL)
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
	/* A deleted schedule's rows are gone; its runs leave only records. */
	if (s->state == SCHEDULE_DELETED)
		jrec_del(rec, "runs", key, strlen(key));
	else
		jrec_put(rec, "runs", key, strlen(key), pb.sbuf.data,
		    pb.sbuf.size);
	pack_buffer_clear(&pb);
	if (run_status_final(r->status))
		jrec_del(rec, "active", key, strlen(key));
	else
		jrec_put(rec, "active", key, strlen(key), "", 0);
	if (claim != NULL) {
		jrec_claim(rec, claim);
		if (s->hooks == NULL && r->number > s->history) {
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
		webhook_expiry_put(rec, claim);
	if (s->hooks != NULL)
		s->hooks->put_state(s, r, rec);
	else
		schedule_put_progress(s, rec);
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

static int	idem_reply(struct reply *, struct schedule *, const char *);

static void
settle_reply_cb(const struct journal_result *res, void *arg)
{
	struct settle_reply	*sr = arg;

	if (res->status == JOURNAL_DUPLICATE && sr->idem_key != NULL) {
		if (idem_reply(sr->req, sr->sched, sr->idem_key) == -1)
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
static void
run_settle_now(struct run *r, enum run_status st, const char *reason,
    const char *claim)
{
	struct settle_reply	*sr = NULL;
	struct run_end		*e;

	r->finished_us = now_us();
	run_set_status(r, st);
	e = run_end_new(r, st, reason != NULL ? reason : "");
	e->budget_skip = st == RUN_SKIPPED && reason != NULL &&
	    (strcmp(reason, "budget") == 0 || (r->sched->hooks != NULL &&
	    strcmp(reason, r->sched->hooks->budget_reason) == 0));
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
	if (r->sched->hooks != NULL)
		r->sched->hooks->ended(r->sched, r);
	run_free(r);
}

/* ---- occurrences ------------------------------------------------------- */

static void
occurrence_key(const struct schedule *s, int64_t t, char *buf, size_t len)
{
	snprintf(buf, len, "%s@%lld", s->id, (long long)(t / USEC_PER_SEC));
}

static struct run *
occurrence_run(struct schedule *s, int64_t t, const struct cron_fire *f,
    const char *trig)
{
	struct run	*r;

	r = run_create(s, ++s->run_counter);
	r->operation = xstrdup(s->operation);
	r->triggered_by = trig;
	r->scheduled_for = t;
	r->nominal = f->nominal;
	r->dst = f->tag;
	/* The account's default parameters for the operation, under the
	 * schedule's. */
	r->parameters = prefs_merge_parameters(prefs_lookup(s->account,
	    s->operation), s->parameters);
	return (r);
}

/* The overlap policy's verdict for a new occurrence: 0 run now, 1 run
 * after the current one (queue_one), -1 skip. */
static int
overlap_verdict(struct schedule *s)
{
	struct run	*r, *next;

	if (s->nruns == 0)
		return (0);
	switch (s->overlap) {
	case OVERLAP_QUEUE_ONE:
		TAILQ_FOREACH(r, &s->runs, entry) {
			if (r->queued)
				return (-1);
		}
		return (1);
	case OVERLAP_ALLOW:
		return (s->nruns < s->overlap_limit ? 0 : -1);
	case OVERLAP_CANCEL_PREVIOUS:
		for (r = TAILQ_FIRST(&s->runs); r != NULL; r = next) {
			next = TAILQ_NEXT(r, entry);
			run_abort(r, "cancelled by a newer occurrence");
		}
		return (0);
	default:
		return (-1);
	}
}

/* Run owners other than schedules are of kind K from now on (NULL: none). */
void
dispatch_set_owner_kind(const struct owner_kind *k)
{
	owners = k;
}

/*
 * Occurrence T of S whose target is a batch template: a batch is created
 * and started (its record claims the occurrence); with a batch of S still
 * running, the overlap policy "allow" (up to its limit) lets another start
 * and every other policy skips; the schedule's cap counts the template's
 * mid estimate.
 */
static void
dispatch_batch_occurrence(struct schedule *s, int64_t t,
    const struct cron_fire *f, const char *trig, const char *key)
{
	struct run	*r;
	char		*cause = NULL, *field = NULL, *reason = NULL;
	int64_t		 mid = 0;

	if (s->batches_running > 0 && (s->overlap != OVERLAP_ALLOW ||
	    s->batches_running >= s->overlap_limit)) {
		run_settle_now(occurrence_run(s, t, f, trig), RUN_SKIPPED,
		    "overlap", key);
		return;
	}
	if (owners == NULL)
		fatalx("schedule %s: a template but no owner kind", s->id);
	if (s->max_cost_month > 0 && owners->check(s->batch_template,
	    s->account, &field, &reason, &mid) == 0) {
		month_roll(s, now_us());
		if (money_add(money_add(s->month_spent, s->month_reserved),
		    mid) > s->max_cost_month) {
			r = occurrence_run(s, t, f, trig);
			xasprintf(&r->error, "the batch's estimate (mid) would "
			    "pass max_cost_month");
			run_settle_now(r, RUN_SKIPPED, "budget", key);
			schedule_set_paused(NULL, s, 1, "budget_exceeded", NULL);
			return;
		}
	}
	free(field);
	free(reason);
	if (owners->fire(s, t, key, &cause) == -1) {
		r = occurrence_run(s, t, f, trig);
		r->error = cause;
		run_settle_now(r, RUN_FAILED, "batch", key);
		return;
	}
	s->batches_running++;
}

/*
 * Occurrence T of S (nominal details F) arrived: settle it as a run or a
 * skip.  Catch-up runs obey the overlap policy like any other: after a
 * crash, "all" with "allow" and a limit of 3 starts at most 3 at once.
 */
static void
dispatch_occurrence(struct schedule *s, int64_t t, const struct cron_fire *f,
    const char *trig)
{
	struct run	*r;
	char		 key[128];
	int		 v = 0;

	if (t > s->last_fire)
		s->last_fire = t;
	if (t > s->fired_us)
		s->fired_us = t;
	occurrence_key(s, t, key, sizeof key);
	if (s->batch_template != NULL) {
		dispatch_batch_occurrence(s, t, f, trig, key);
		return;
	}
	v = overlap_verdict(s);
	r = occurrence_run(s, t, f, trig);
	log_trace(TRACE_SCHED, "msg=\"occurrence\" schedule=%s run=%s "
	    "verdict=%d", s->id, r->id, v);
	if (v == -1) {
		run_settle_now(r, RUN_SKIPPED, "overlap", key);
		dispatch_suppressed(s, t, f);
		return;
	}
	r->queued = v == 1;
	if (r->queued)
		s->has_queued = 1;
	run_begin(r, key);
	dispatch_suppressed(s, t, f);
}

/*
 * A wall-anchored occurrence that fell in a repeated interval ran at the
 * earlier of its two instants; record the later one as skipped with the
 * DST tag "suppressed", so the timeline shows why it did not run.
 */
static void
dispatch_suppressed(struct schedule *s, int64_t t, const struct cron_fire *f)
{
	struct cron_fire	 g;
	struct run		*r;
	int64_t			 when[2];
	char			 key[128];

	if (s->trigger > TRIGGER_MONTHLY || (s->cron.flags & CRON_WALL) == 0 ||
	    f->tag != DST_NONE ||
	    tz_from_civil(s->tz, &f->nominal, when) != 2 ||
	    when[0] != t / USEC_PER_SEC)
		return;
	g = *f;
	g.utc = when[1];
	g.tag = DST_SUPPRESSED;
	r = occurrence_run(s, when[1] * USEC_PER_SEC, &g, trigger_source(s));
	occurrence_key(s, r->scheduled_for, key, sizeof key);
	run_settle_now(r, RUN_SKIPPED, "dst_suppressed", key);
}

/*
 * S fell due while the journal cannot write: its occurrence gets no run
 * (and no run number) now; it waits, unarmed, for the journal to write
 * again, when its catch-up policy settles what it missed (see
 * dispatch_journal_writable).
 */
static void
dispatch_hold(struct schedule *s)
{
	if (nheld == heldcap) {
		heldcap = heldcap == 0 ? 64 : heldcap * 2;
		held = xreallocarray(held, heldcap, sizeof *held);
	}
	actor_ref(&s->actor);
	held[nheld++] = s;
	log_trace(TRACE_SCHED, "msg=\"fire held: the journal cannot write\" "
	    "schedule=%s", s->id);
}

/* The journal writes again: every schedule held meanwhile catches up. */
void
dispatch_journal_writable(void)
{
	struct schedule	**list = held;
	size_t		  i, n = nheld;
	int64_t		  now = now_us();

	held = NULL;
	nheld = heldcap = 0;
	if (n > 0)
		log_info("msg=\"schedules held while the journal could not "
		    "write catch up\" schedules=%zu", n);
	for (i = 0; i < n; i++) {
		if (list[i]->state == SCHEDULE_ACTIVE && !engine->draining &&
		    !timer_armed(&list[i]->timer))
			dispatch_catchup(list[i], now);
		actor_unref(&list[i]->actor);
	}
	free(list);
}

/* A fire timer or a retry timer of S went off. */
void
dispatch_timer(struct schedule *s, uint64_t arg)
{
	struct run	*r;
	int64_t		 t;

	if (arg & TIMER_RETRY) {
		if ((r = run_find(s, arg & ~TIMER_RETRY)) != NULL &&
		    r->status == RUN_PENDING && !engine->draining)
			run_want_slot(r);
		return;
	}
	if (s->state != SCHEDULE_ACTIVE || engine->draining ||
	    (int64_t)arg != s->next_fire)
		return;
	if (journal_stalled(engine->journal, NULL, NULL)) {
		dispatch_hold(s);
		return;
	}
	t = s->next_fire;
	metrics_count(METRICS_FIRES, NULL, 1);
	metrics_observe_us(METRICS_FIRE_LAG_SECONDS, now_us() - t);
	log_trace(TRACE_SCHED, "msg=\"fire\" schedule=%s lag_us=%lld", s->id,
	    (long long)(now_us() - t));
	dispatch_occurrence(s, t, &s->next, trigger_source(s));
	schedule_complete(s);
	if (s->state == SCHEDULE_ACTIVE)
		schedule_arm(s, t);
}

/* ---- budget and start -------------------------------------------------- */

/* Would R's mid estimate take S past its monthly cap? */
static int
over_budget(struct schedule *s, const struct run *r)
{
	month_roll(s, now_us());
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

/*
 * Price R, check the budget and start it (or queue it for a slot).  CLAIM
 * is the dedup key of its occurrence or idempotency key.
 */
static void
run_begin(struct run *r, const char *claim)
{
	struct schedule		*s = r->sched;
	const struct operation	*op;
	const struct model	*model;
	const struct op_prefs	*p;
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
	if (s->hooks != NULL && (cap = s->hooks->budget(s, r)) != NULL) {
		run_refusal(r, REPLY_BUDGET, "the run would pass its owner's "
		    "cost cap", cap, "budget exceeded");
		free(r->error);
		xasprintf(&r->error, "the run's estimate (mid) would pass %s",
		    cap);
		run_settle_now(r, RUN_SKIPPED, s->hooks->budget_reason, claim);
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
		if (s->hooks == NULL && s->state == SCHEDULE_ACTIVE)
			schedule_set_paused(NULL, s, 1, "budget_exceeded",
			    NULL);
		return;
	}
	r->catalog = engine->catalog;
	catalog_ref(r->catalog);
	TAILQ_INSERT_TAIL(&s->runs, r, entry);
	s->nruns++;
	actor_ref(&s->actor);
	s->month_reserved = money_add(s->month_reserved, r->estimate.mid);
	budget_reserve(s->account, r->operation, r->estimate.mid);
	if (!r->queued && !engine->draining && slots_try_acquire() == 0) {
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
		if (idem_reply(r->req, s, r->idem_key) == -1)
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
	if (s->hooks != NULL) {
		/* Its owner counts it as failed to begin. */
		run_set_status(r, RUN_FAILED);
		free(r->error);
		r->error = xstrdup(res->status == JOURNAL_DUPLICATE ?
		    "its claim was refused: settled before" : res->error !=
		    NULL ? res->error : "journal write failed");
		s->hooks->ended(s, r);
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
		run_submit(r, "run.deferred", NULL, dispatch_log_cb);
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
	else if (!r->queued)
		run_want_slot(r);
}

/* Take a free slot now, or wait in the priority queue for one. */
static void
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
		run_submit(r, "run.retrying", NULL, dispatch_log_cb);
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

/* R ended with ST: record it, account its cost, let a queued run go. */
static void
run_finish(struct run *r, enum run_status st)
{
	struct schedule	*s = r->sched;
	struct jrec	*rec;
	struct run_end	*e;
	int64_t		 before;

	r->finished_us = now_us();
	run_set_status(r, st);
	if (r->cost > 0) {
		month_roll(s, r->finished_us);
		before = s->month_spent;
		s->month_spent = money_add(s->month_spent, r->cost);
		if (s->hooks == NULL)
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
	journal_submit(engine->journal, rec, run_end_cb, e);
	budget_thresholds_submit();
	run_unlink(r);
	if (s->hooks != NULL)
		s->hooks->ended(s, r);
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

/* The schedule is going away: runs that have not started end cancelled;
 * running ones finish on their own. */
void
dispatch_cancel_pending(struct schedule *s, const char *reason)
{
	struct run	*r, *next;

	for (r = TAILQ_FIRST(&s->runs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->job == NULL)
			run_abort(r, reason);
	}
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

/* ---- manual triggers --------------------------------------------------- */

/*
 * Answer REQ with the run that idempotency key KEY of S started (a
 * duplicate trigger).  Returns -1, answering nothing, if the key is not
 * known (yet) — or, from a refused claim, answers a conflict.
 */
int
dispatch_idem_lookup(struct schedule *s, const char *key, char **run_id)
{
	char	 k[600];
	void	*val = NULL;
	size_t	 len = 0;

	snprintf(k, sizeof k, "%s:%s", s->id, key);
	if (journal_table_get(engine->journal, "idem", k, strlen(k), &val,
	    &len) == -1)
		return (-1);
	*run_id = xstrndup(val, len);
	free(val);
	return (0);
}

static int
idem_reply(struct reply *req, struct schedule *s, const char *key)
{
	char	*id = NULL;

	if (dispatch_idem_lookup(s, key, &id) == -1)
		return (-1);
	reply_ok(req, json_pack("{s:s, s:s, s:b}", "run_id", id, "status",
	    "duplicate", "duplicate", 1));
	free(id);
	return (0);
}

/*
 * schedule.trigger: a run now, outside the timeline (the overlap policy
 * does not apply; budgets do).  KEY, if given, is an idempotency key: a
 * second trigger with the same key answers the first run's id.
 */
void
dispatch_manual(struct reply *req, struct schedule *s, const char *key,
    json_t *params)
{
	struct cron_fire	 f;
	struct run		*r;
	json_t			*merged;
	char			 claim[600];
	int64_t			 now = now_us();

	/* A key seen before: answer its run, use up nothing. */
	if (key != NULL && idem_reply(req, s, key) == 0)
		return;
	memset(&f, 0, sizeof f);
	tz_to_civil(s->tz, now / USEC_PER_SEC, &f.nominal);
	r = occurrence_run(s, now, &f, trig_manual);
	r->req = req;
	if (params != NULL && json_object_size(params) > 0) {
		merged = json_loads(r->parameters, 0, NULL);
		if (merged == NULL)
			merged = json_object();
		json_object_update(merged, params);
		free(r->parameters);
		r->parameters = json_dumps(merged, JSON_COMPACT |
		    JSON_SORT_KEYS);
		json_decref(merged);
	}
	if (key != NULL) {
		r->idem_key = xstrdup(key);
		snprintf(claim, sizeof claim, "manual-key:%s:%s", s->id, key);
	} else
		snprintf(claim, sizeof claim, "manual-run:%s", r->id);
	run_begin(r, claim);
}

/* ---- webhooks ----------------------------------------------------------- */

/* A verified delivery of S, answered through REQ: a run like a manual
 * trigger's, claiming "webhook:S:MSGID", answered once the claim is
 * durable (a message id seen before: its first run). */
void
dispatch_webhook_run(struct reply *req, struct schedule *s,
    const char *msgid, json_t *param)
{
	struct cron_fire	 f;
	struct run		*r;
	json_t			*merged;
	char			 claim[600];
	int64_t			 now = now_us();

	/* A message id seen before: answer its first run. */
	snprintf(claim, sizeof claim, "wh:%s", msgid);
	if (idem_reply(req, s, claim) == 0) {
		json_decref(param);
		return;
	}
	memset(&f, 0, sizeof f);
	tz_to_civil(s->tz, now / USEC_PER_SEC, &f.nominal);
	r = occurrence_run(s, now, &f, trig_webhook);
	r->req = req;
	if ((merged = json_loads(r->parameters, 0, NULL)) == NULL)
		merged = json_object();
	json_object_set_new(merged, "webhook", param);
	free(r->parameters);
	r->parameters = json_dumps(merged, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(merged);
	xasprintf(&r->idem_key, "wh:%s", msgid);
	snprintf(claim, sizeof claim, "webhook:%s:%s", s->id, msgid);
	log_info("msg=\"webhook accepted\" schedule=%s run=%s webhook_id=%s",
	    s->id, r->id, msgid);
	run_begin(r, claim);
}

/* ---- runs of other owners (batches) ------------------------------------ */

/*
 * Begin run number N of OWNER: OPERATION with PARAMETERS, claiming CLAIM.
 * Budgets, preferences, slots, executors, retries and records are those of
 * every run; the owner's hooks see it end.  Returns the run while it is in
 * flight, or NULL if it already ended (skipped, failed to begin).
 */
struct run *
dispatch_owner_run(struct schedule *owner, uint64_t n, const char *operation,
    const char *parameters, const char *claim)
{
	struct run	*r;
	uint64_t	 before;

	r = run_create(owner, n);
	r->operation = xstrdup(operation);
	r->triggered_by = trig_batch;
	r->scheduled_for = now_us();
	tz_to_civil(owner->tz, r->scheduled_for / USEC_PER_SEC, &r->nominal);
	r->parameters = prefs_merge_parameters(prefs_lookup(owner->account,
	    operation), parameters != NULL ? parameters : "{}");
	before = owner->nruns;
	run_begin(r, claim);
	return (owner->nruns > before ? r : NULL);
}

/* ---- recovery ---------------------------------------------------------- */

struct recover_ctx {
	struct run	**v;
	size_t		  n;
	size_t		  cap;
	char		**orphans;	/* active keys with no schedule */
	size_t		  norphans;
};

static void
civil_parse(const char *s, struct civil *c)
{
	memset(c, 0, sizeof *c);
	if (s != NULL)
		sscanf(s, "%d-%d-%dT%d:%d:%d", &c->year, &c->month, &c->day,
		    &c->hour, &c->minute, &c->second);
}

/* Rebuild a run in flight from its row. */
static struct run *
run_unpack(const msgpack_object *o)
{
	struct schedule		*s;
	struct run		*r;
	const msgpack_object	*est;
	char			*sid, *v;
	enum run_status		 st;

	if ((sid = unpack_strdup(o, "schedule")) == NULL)
		return (NULL);
	s = schedule_find(sid);
	if (s == NULL && owners != NULL)
		s = owners->lookup(sid);
	free(sid);
	if (s == NULL || s->state == SCHEDULE_DELETED)
		return (NULL);
	r = run_create(s, (uint64_t)unpack_int(o, "number", 0));
	v = unpack_strdup(o, "status");
	if (v == NULL || run_status_parse(v, &st) == -1 ||
	    run_status_final(st)) {
		free(v);
		run_free(r);
		return (NULL);
	}
	free(v);
	run_set_status(r, st);
	v = unpack_strdup(o, "triggered_by");
	r->triggered_by = trigger_source_parse(v);
	free(v);
	r->scheduled_for = unpack_int(o, "scheduled_for_us", 0);
	v = unpack_strdup(o, "nominal_local");
	civil_parse(v, &r->nominal);
	free(v);
	r->created_us = unpack_int(o, "created_us", 0);
	r->started_us = unpack_int(o, "started_us", 0);
	r->waited_us = unpack_int(o, "waited_us", 0);
	r->attempt = (int)unpack_int(o, "attempt", 1);
	est = unpack_get(o, "estimate_micro");
	r->estimate.low = unpack_int(est, "low", 0);
	r->estimate.mid = unpack_int(est, "mid", 0);
	r->estimate.high = unpack_int(est, "high", 0);
	r->model = unpack_strdup(o, "model");
	r->model_id = r->model != NULL ? xstrdup(r->model) : NULL;
	if ((r->operation = unpack_strdup(o, "operation")) == NULL)
		r->operation = xstrdup(s->operation);
	r->estimate_source = "catalog";
	r->idem_key = unpack_strdup(o, "idempotency_key");
	if ((r->parameters = unpack_strdup(o, "parameters")) == NULL)
		r->parameters = xstrdup("{}");
	return (r);
}

static int
active_row_cb(const struct journal_row *row, void *arg)
{
	struct recover_ctx	*ctx = arg;
	msgpack_unpacked	 u;
	void			*val;
	size_t			 len;
	struct run		*r;

	/* No row (its schedule was deleted while it ran): an orphan. */
	if (journal_table_get(engine->journal, "runs", row->key, row->klen,
	    &val, &len) == -1) {
		ctx->orphans = xreallocarray(ctx->orphans, ctx->norphans + 1,
		    sizeof *ctx->orphans);
		ctx->orphans[ctx->norphans++] = xstrndup(row->key, row->klen);
		return (0);
	}
	if (unpack_buffer(val, len, &u) == 0) {
		if ((r = run_unpack(&u.data)) != NULL) {
			if (ctx->n == ctx->cap) {
				ctx->cap = ctx->cap == 0 ? 64 : ctx->cap * 2;
				ctx->v = xreallocarray(ctx->v, ctx->cap,
				    sizeof *ctx->v);
			}
			ctx->v[ctx->n++] = r;
		} else {
			ctx->orphans = xreallocarray(ctx->orphans,
			    ctx->norphans + 1, sizeof *ctx->orphans);
			ctx->orphans[ctx->norphans++] = xstrndup(row->key,
			    row->klen);
		}
		msgpack_unpacked_destroy(&u);
	}
	free(val);
	return (0);
}

/*
 * A run in flight whose schedule is gone (deleted before the crash): its
 * outcome is recorded interrupted, and its rows go.
 */
static void
recover_orphan(const char *key)
{
	struct jrec	*rec;
	msgpack_packer	*pk;
	const char	*colon = strrchr(key, ':');
	char		*sched;

	sched = xstrndup(key, colon != NULL ? (size_t)(colon - key) :
	    strlen(key));
	rec = jrec_create("run.finished", NULL);
	pk = jrec_body(rec);
	msgpack_pack_map(pk, 5);
	pack_kstr(pk, "row", key);
	pack_kstr(pk, "schedule", sched);
	pack_kstr(pk, "status", "interrupted");
	pack_kstr(pk, "reason", "schedule deleted");
	pack_kstr(pk, "error", "the daemon stopped while the run was in "
	    "flight and its schedule was deleted");
	jrec_del(rec, "active", key, strlen(key));
	jrec_del(rec, "runs", key, strlen(key));
	journal_submit(engine->journal, rec, dispatch_log_cb, NULL);
	log_info("msg=\"run of a deleted schedule settled\" row=%s", key);
	free(sched);
}

/* Settle one run found in flight at start. */
static void
recover_run(struct run *r)
{
	struct schedule		*s = r->sched;
	const struct operation	*op;

	op = catalog_operation(engine->catalog, r->operation);
	r->catalog = engine->catalog;
	catalog_ref(r->catalog);
	TAILQ_INSERT_TAIL(&s->runs, r, entry);
	s->nruns++;
	actor_ref(&s->actor);
	s->month_reserved = money_add(s->month_reserved, r->estimate.mid);
	budget_reserve(s->account, r->operation, r->estimate.mid);
	if (op == NULL) {
		free(r->error);
		xasprintf(&r->error, "operation \"%s\" is no longer in the "
		    "catalog", r->operation);
		run_finish(r, r->status == RUN_PENDING ? RUN_FAILED :
		    RUN_INTERRUPTED);
		return;
	}
	if (r->status == RUN_PENDING) {
		log_info("msg=\"pending run resumed\" run=%s", r->id);
		run_want_slot(r);
		return;
	}
	/* Idempotent: run it again, within its retry policy. */
	if (op->idempotent && r->attempt < op->retry.attempts + 1) {
		log_info("msg=\"interrupted run retried\" run=%s attempt=%d",
		    r->id, r->attempt + 1);
		r->attempt++;
		run_set_status(r, RUN_PENDING);
		free(r->error);
		r->error = xstrdup("interrupted by a daemon restart");
		run_submit(r, "run.retrying", NULL, dispatch_log_cb);
		run_want_slot(r);
		return;
	}
	free(r->error);
	r->error = xstrdup("the daemon stopped while the run was in flight; "
	    "the operation is not idempotent, so it was not run again");
	run_finish(r, RUN_INTERRUPTED);
}

/* Settle every run the journal shows in flight (pending or running). */
int
dispatch_recover_runs(struct journal *j, char **cause)
{
	struct recover_ctx	ctx;
	size_t			i;

	memset(&ctx, 0, sizeof ctx);
	if (journal_table_foreach(j, "active", NULL, 0, 0, active_row_cb,
	    &ctx) == -1) {
		*cause = xstrdup("cannot read the active runs table");
		return (-1);
	}
	for (i = 0; i < ctx.n; i++)
		recover_run(ctx.v[i]);
	for (i = 0; i < ctx.norphans; i++) {
		recover_orphan(ctx.orphans[i]);
		free(ctx.orphans[i]);
	}
	free(ctx.orphans);
	if (ctx.n > 0)
		log_info("msg=\"runs in flight settled\" runs=%zu", ctx.n);
	free(ctx.v);
	return (0);
}

/* One record for many missed occurrences (first..last, COUNT of them). */
static void
missed_aggregate(struct schedule *s, int64_t first, int64_t last,
    uint64_t count, int capped, const char *reason)
{
	struct jrec	*rec;
	msgpack_packer	*pk;

	rec = jrec_create("run.missed", s->account);
	pk = jrec_body(rec);
	msgpack_pack_map(pk, 7);
	pack_kstr(pk, "schedule", s->id);
	pack_kstr(pk, "status", "missed");
	pack_kstr(pk, "reason", reason);
	pack_kint(pk, "count", (int64_t)count);
	pack_kbool(pk, "count_is_lower_bound", capped);
	pack_kint(pk, "first_us", first);
	pack_kint(pk, "last_us", last);
	schedule_put_progress(s, rec);
	journal_submit(engine->journal, rec, dispatch_log_cb, NULL);
	log_info("msg=\"occurrences missed\" schedule=%s count=%llu%s",
	    s->id, (unsigned long long)count, capped ? "+" : "");
}

static void
missed_one(struct schedule *s, int64_t t, const struct cron_fire *f,
    const char *reason)
{
	struct run	*r;
	char		 key[128];

	occurrence_key(s, t, key, sizeof key);
	if (t > s->last_fire)
		s->last_fire = t;
	r = occurrence_run(s, t, f, trigger_source(s));
	run_settle_now(r, RUN_MISSED, reason, key);
	dispatch_suppressed(s, t, f);
}

/*
 * Apply S's catch-up policy to the occurrences after its last settled one
 * up to NOW, then arm its timer.  Occurrences older than the catch-up
 * window are missed; within it, "skip" misses all, "latest" runs the most
 * recent once, "all" runs each.
 */
void
dispatch_catchup(struct schedule *s, int64_t now)
{
	struct cron_fire	 f, latest_f;
	int64_t			 t, window = now - s->catchup_window_us;
	int64_t			 agg_first = 0, agg_last = 0, latest = 0;
	uint64_t		 nout = 0, scanned = 0;
	const char		*agg_reason = "outside catch-up window";

	t = s->last_fire;
	while ((t = schedule_next_after(s, t, &f)) != 0 && t <= now) {
		if (++scanned > CATCHUP_SCAN_MAX)
			break;
		if (t <= window || s->catchup == CATCHUP_SKIP) {
			if (nout++ < MISSED_SINGLE_MAX) {
				missed_one(s, t, &f, t <= window ?
				    "outside catch-up window" :
				    "catch-up policy skip");
				continue;
			}
			if (agg_first == 0)
				agg_first = t;
			agg_last = t;
			/* The aggregate says its last occurrence's reason. */
			agg_reason = t <= window ? "outside catch-up window" :
			    "catch-up policy skip";
			continue;
		}
		if (s->catchup == CATCHUP_ALL) {
			dispatch_occurrence(s, t, &f, trig_catchup);
			continue;
		}
		if (latest != 0)
			missed_one(s, latest, &latest_f,
			    "superseded by a later occurrence");
		latest = t;
		latest_f = f;
	}
	if (agg_first != 0) {
		if (scanned > CATCHUP_SCAN_MAX) {
			/* Too many to walk: settle the rest up to now. */
			agg_last = now;
		}
		s->last_fire = agg_last;
		missed_aggregate(s, agg_first, agg_last,
		    nout - MISSED_SINGLE_MAX, scanned > CATCHUP_SCAN_MAX,
		    agg_reason);
	} else if (scanned > CATCHUP_SCAN_MAX) {
		s->last_fire = now;
		missed_aggregate(s, t, now, 0, 1, agg_reason);
	}
	if (latest != 0)
		dispatch_occurrence(s, latest, &latest_f, trig_catchup);
	schedule_complete(s);
	schedule_arm(s, s->last_fire > now ? s->last_fire : now);
}
