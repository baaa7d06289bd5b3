/*
 * actors/dispatch.c: what a schedule does with an occurrence.  Each nominal
 * occurrence ends as exactly one recorded outcome: a run, a skipped run
 * (overlap, budget) or a missed one (catch-up).  The record that settles
 * occurrence T of schedule S claims the dedup key "S@T" (Unix seconds), so
 * no occurrence starts twice, across crashes and restarts.
 *
 * Here: occurrences and the overlap policy, manual and webhook triggers,
 * runs of other owners (batches), holding fires while the journal cannot
 * write, and catch-up.  A run, once begun, lives in run-cycle.c; runs a
 * crash left in flight are settled by recover.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

#define CATCHUP_SCAN_MAX	100000	/* occurrences examined per schedule */
#define MISSED_SINGLE_MAX	20	/* then one aggregated record */

static struct schedule **held;		/* fell due while the journal */
static size_t	nheld, heldcap;		/* could not write */

static const struct schedule_kind *schedules;
static const struct owner_kind *owners;	/* other than schedules */

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

const char *
dispatch_trigger_parse(const char *s)
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

struct run *
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

void
dispatch_month_roll(struct schedule *s, int64_t now)
{
	int32_t	key = dispatch_month_key(s, now);

	if (key != s->month_key) {
		s->month_key = key;
		s->month_spent = 0;
	}
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
			dispatch_run_abort(r, "cancelled by a newer occurrence");
		}
		return (0);
	default:
		return (-1);
	}
}

/* Schedules are reached through K from now on. */
void
dispatch_set_schedule_kind(const struct schedule_kind *k)
{
	schedules = k;
}

/* How the life cycle reaches schedules (see struct schedule_kind). */
const struct schedule_kind *
dispatch_schedules(void)
{
	if (schedules == NULL)
		fatalx("dispatch: no schedule kind");
	return (schedules);
}

/* Run owners other than schedules are of kind K from now on (NULL: none). */
void
dispatch_set_owner_kind(const struct owner_kind *k)
{
	owners = k;
}

/* The run owner (a schedule, or of the other kind) with id ID, or NULL. */
struct schedule *
dispatch_owner_find(const char *id)
{
	struct schedule	*s = NULL;

	if (schedules != NULL)
		s = schedules->lookup(id);
	if (s == NULL && owners != NULL)
		s = owners->lookup(id);
	return (s);
}

/*
 * Check template TMPL of a schedule of ACCOUNT with the owner kind: 0 and
 * the mid estimate of one owner made from it in *MID, or -1 with *FIELD
 * and *REASON (allocated).
 */
int
dispatch_template_check(const char *tmpl, const char *account, char **field,
    char **reason, int64_t *mid)
{
	if (owners == NULL) {
		*field = xstrdup("batch");
		*reason = xstrdup("batches are not loaded");
		return (-1);
	}
	return (owners->check(tmpl, account, field, reason, mid));
}

/* At start, once schedules are loaded: each learns how many owners fired
 * from its template are running. */
void
dispatch_count_owners(void)
{
	if (owners != NULL && owners->count != NULL)
		owners->count();
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
		dispatch_month_roll(s, now_us());
		if (money_add(money_add(s->month_spent, s->month_reserved),
		    mid) > s->max_cost_month) {
			r = occurrence_run(s, t, f, trig);
			xasprintf(&r->error, "the batch's estimate (mid) would "
			    "pass max_cost_month");
			run_settle_now(r, RUN_SKIPPED, "budget", key);
			schedules->capped(s);
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
	/* Claimed ahead (dispatch_timer): it waits for its instant. */
	r->ahead = t > now_us();
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

/*
 * May occurrence T of S be claimed before its instant?  Only when its
 * verdict cannot change until then: a timed fire of a schedule with no
 * run in flight (no run of it can end and change the overlap policy's
 * answer, none can be cancelled early) and no batch template.  Any other
 * is decided at its instant.
 */
static int
claim_ahead_ok(const struct schedule *s)
{
	return (s->nruns == 0 && s->batch_template == NULL &&
	    !journal_stalled(engine->journal, NULL, NULL));
}

/* The instant of R, claimed ahead of it, came: it takes a slot now. */
static void
dispatch_due(struct run *r)
{
	int64_t	now = now_us();

	r->ahead = 0;
	metrics_observe_us(METRICS_FIRE_LAG_SECONDS, now - r->scheduled_for);
	log_trace(TRACE_SCHED, "msg=\"fire\" schedule=%s run=%s lag_us=%lld "
	    "claimed=ahead", r->sched->id, r->id,
	    (long long)(now - r->scheduled_for));
	run_want_slot(r);
}

/*
 * A fire timer or a retry timer of S went off.  With --claim-ahead the
 * fire timer goes off that long before the instant: the occurrence is
 * claimed then (run.claimed, durable before the instant) and its run
 * waits on its own timer for the instant; an occurrence that may not be
 * claimed ahead (claim_ahead_ok) has its timer set again for the instant.
 */
void
dispatch_timer(struct schedule *s, uint64_t arg)
{
	struct cron_fire	 f;
	struct run		*r;
	int64_t			 t, now;

	if (arg & TIMER_RETRY) {
		if ((r = run_find(s, arg & ~TIMER_RETRY)) == NULL ||
		    r->status != RUN_PENDING || engine->draining)
			return;
		if (r->ahead)
			dispatch_due(r);
		else
			run_want_slot(r);
		return;
	}
	if (s->state != SCHEDULE_ACTIVE || engine->draining ||
	    (int64_t)arg != s->next_fire)
		return;
	t = s->next_fire;
	now = now_us();
	if (t > now && !claim_ahead_ok(s)) {
		timer_set(&s->timer, t, (uint64_t)t);
		return;
	}
	if (journal_stalled(engine->journal, NULL, NULL)) {
		dispatch_hold(s);
		return;
	}
	metrics_count(METRICS_FIRES, NULL, 1);
	if (t <= now) {
		metrics_observe_us(METRICS_FIRE_LAG_SECONDS, now - t);
		log_trace(TRACE_SCHED, "msg=\"fire\" schedule=%s lag_us=%lld",
		    s->id, (long long)(now - t));
	} else
		log_trace(TRACE_SCHED, "msg=\"claim ahead\" schedule=%s "
		    "ahead_us=%lld", s->id, (long long)(t - now));
	cron_fire_unpack(&s->next, t / USEC_PER_SEC, &f);
	dispatch_occurrence(s, t, &f, trigger_source(s));
	schedules->complete(s);
	if (s->state == SCHEDULE_ACTIVE)
		schedules->arm(s, t);
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

int
dispatch_idem_reply(struct reply *req, struct schedule *s, const char *key)
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
	if (key != NULL && dispatch_idem_reply(req, s, key) == 0)
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
	if (dispatch_idem_reply(req, s, claim) == 0) {
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

/* One record for many missed occurrences (first..last, COUNT of them). */
static void
missed_aggregate(struct schedule *s, int64_t first, int64_t last,
    uint64_t count, int capped, const char *reason)
{
	struct jrec		*rec;
	const struct pack_pair	 v[] = {
		PACK_PAIR_STR("schedule", s->id),
		PACK_PAIR_STR("status", "missed"),
		PACK_PAIR_STR("reason", reason),
		PACK_PAIR_INT("count", (int64_t)count),
		PACK_PAIR_BOOL("count_is_lower_bound", capped),
		PACK_PAIR_INT("first_us", first),
		PACK_PAIR_INT("last_us", last),
	};

	rec = jrec_create("run.missed", s->account);
	PACK_MAP(jrec_body(rec), v);
	schedules->put_progress(s, rec);
	journal_submit(engine->journal, rec, journal_log_cb, NULL);
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
	struct cron_fire	 f;
	int64_t			 t;

	t = schedules->next_after(s, s->last_fire, &f);
	dispatch_catchup_from(s, now, t, &f);
}

/* As dispatch_catchup, with the first occurrence after S's last settled
 * one found already: T (0: none), details FIRST. */
void
dispatch_catchup_from(struct schedule *s, int64_t now, int64_t t,
    const struct cron_fire *first)
{
	struct cron_fire	 f = *first, latest_f;
	int64_t			 window = now - s->catchup_window_us;
	int64_t			 agg_first = 0, agg_last = 0, latest = 0;
	uint64_t		 nout = 0, scanned = 0;
	const char		*agg_reason = "outside catch-up window";

	for (; t != 0 && t <= now; t = schedules->next_after(s, t, &f)) {
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
	schedules->complete(s);
	/* The walk ended at the first occurrence after now (or none): the
	 * one to arm, as next_after from now would find it again. */
	if (scanned <= CATCHUP_SCAN_MAX)
		schedules->arm_next(s, t, &f);
	else
		schedules->arm(s, s->last_fire > now ? s->last_fire : now);
}
