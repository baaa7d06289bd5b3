/*
 * actors/schedule.c: schedules.  Each schedule is an actor with one timer
 * for its next fire; this file keeps the registry, parses and validates
 * configuration, encodes the "schedules" table row, and carries out the
 * control operations.  What happens at a fire (runs, overlap, budgets,
 * executors, catch-up) is in dispatch.c.
 *
 * Every change is journaled first; the caller is answered, and the change
 * takes effect in memory, from the record's completion (durable) callback.
 */
#include <ctype.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actors.h"

#define SCHEDULE_HISTORY_DEFAULT	100
#define SCHEDULE_HISTORY_MAX		10000
#define SCHEDULE_LIST_DEFAULT		1000
#define SCHEDULE_INTERVAL_MAX		(100LL * 366 * 86400 * USEC_PER_SEC)

static struct strmap	by_id;
static struct strmap	by_name;
static size_t		nactive;
static size_t		npaused;
static size_t		ncompleted;

/* Context of a control operation waiting for its record. */
struct sched_op {
	struct reply		*req;
	struct schedule		*s;
	struct schedule		*t;	/* the new configuration */
	int			 kind;
	char			*whsec;	/* a generated secret, shown once */
	char			*gen_ref; /* generated:NAME made for the op */
	json_t			*answer; /* rotation: the answer to give */
};
enum { OP_CREATE, OP_UPDATE, OP_PAUSE, OP_RESUME, OP_DELETE, OP_ROTATE,
    OP_EXPIRE };

static void	schedule_handle(struct actor *, struct msg *);
static void	schedule_prune_runs(struct schedule *, struct jrec *,
		    uint64_t);
static void	schedule_free_actor(struct actor *);
static void	schedule_drop_secret(struct sched_op *);
static struct jrec *schedule_record(struct schedule *, const char *);
static void	schedule_prefetch_secrets(const struct schedule *);
static void	schedule_state_write(struct schedule *, enum schedule_state,
		    int);
static int64_t	schedule_cap_reached(const struct schedule *, int64_t,
		    int64_t);
static const char *schedule_cap_refusal(const struct schedule *, char **);
static int	schedule_cap_refused(struct reply *, const struct schedule *,
		    json_t *);
static int	schedule_make_secret(struct schedule *, char **, char **);
static void	schedule_drop_generated(const char *, const char *,
		    const struct webhook_keyring *, const struct schedule *);
static void	schedule_put_row(struct schedule *, struct jrec *);
static void	schedule_watch_expiry(const struct schedule *);

static const struct actor_type schedule_actor_type = {
	"schedule", schedule_handle, schedule_free_actor
};

static const char *trigger_names[] = {
	"cron", "weekly", "monthly", "interval", "at", "manual", "webhook"
};
static const char *overlap_names[] = {
	"skip", "queue_one", "allow", "cancel_previous"
};
static const char *catchup_names[] = { "skip", "latest", "all" };
static const char *state_names[] = {
	"active", "paused", "deleted", "completed"
};
static const char *weekday_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};
static const char *weekday_full[] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday",
	"saturday"
};

static int
name_index(const char *s, const char **names, int n)
{
	int	i;

	for (i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0)
			return (i);
	}
	return (-1);
}

#define SCHED_OF(n, field) \
	((struct schedule *)((char *)(n) - offsetof(struct schedule, field)))

/* ---- life cycle -------------------------------------------------------- */

static struct schedule *
schedule_new(void)
{
	struct schedule	*s;

	s = xcalloc(1, sizeof *s);
	actor_init(&s->actor, &schedule_actor_type);
	timer_init(&s->timer, &s->actor);
	TAILQ_INIT(&s->runs);
	s->tz = tz_load("UTC", NULL);
	s->overlap = OVERLAP_SKIP;
	s->overlap_limit = 1;
	s->catchup = CATCHUP_LATEST;
	s->catchup_window_us = 3600 * USEC_PER_SEC;
	s->priority = 5;
	s->history = SCHEDULE_HISTORY_DEFAULT;
	s->parameters = xstrdup("{}");
	s->webhook_tolerance_s = WEBHOOK_TOLERANCE_DEFAULT;
	return (s);
}

static void
schedule_free_fields(struct schedule *s)
{
	free(s->id);
	free(s->name);
	free(s->account);
	free(s->name_key);
	free(s->operation);
	free(s->model);
	free(s->parameters);
	free(s->trigger_text);
	free(s->note);
	free(s->pause_reason);
	free(s->pause_note);
	free(s->batch_template);
	free(s->webhook_secret_ref);
	webhook_keyring_free(s->webhook_prev);
}

static void
schedule_free_actor(struct actor *a)
{
	struct schedule	*s = (struct schedule *)a;

	timer_cancel(&s->timer);
	schedule_free_fields(s);
	free(s);
}

/* Free a configuration that never became an actor of the registry. */
static void
schedule_discard(struct schedule *t)
{
	actor_unref(&t->actor);
}

static void
schedule_count_state(const struct schedule *s, int delta)
{
	if (s->state == SCHEDULE_ACTIVE)
		nactive += delta;
	else if (s->state == SCHEDULE_PAUSED)
		npaused += delta;
	else if (s->state == SCHEDULE_COMPLETED)
		ncompleted += delta;
}

/*
 * The one writer of a schedule's state: checks the transition, keeps the
 * counts of a registered schedule, traces from -> to.  Nothing leaves
 * "deleted" but UNDO (its deletion's record was not written); only an
 * active schedule completes.
 */
static void
schedule_state_write(struct schedule *s, enum schedule_state st, int undo)
{
	int	counted;

	if (s->state == st)
		return;
	if ((s->state == SCHEDULE_DELETED && !undo) ||
	    (st == SCHEDULE_COMPLETED && s->state != SCHEDULE_ACTIVE))
		fatalx("schedule %s: state %s -> %s", s->id != NULL ? s->id :
		    "(new)", state_names[s->state], state_names[st]);
	log_trace(TRACE_SCHED, "msg=\"schedule state\" schedule=%s from=%s "
	    "to=%s", s->id != NULL ? s->id : "(new)", state_names[s->state],
	    state_names[st]);
	counted = s->id != NULL && by_id.nbuckets != 0 &&
	    strmap_find(&by_id, s->id) == &s->node;
	if (counted)
		schedule_count_state(s, -1);
	s->state = st;
	if (counted)
		schedule_count_state(s, 1);
}

void
schedule_set_state(struct schedule *s, enum schedule_state st)
{
	schedule_state_write(s, st, 0);
}

static void
schedule_register(struct schedule *s)
{
	if (by_id.nbuckets == 0) {
		strmap_init(&by_id);
		strmap_init(&by_name);
	}
	strmap_insert(&by_id, &s->node, s->id);
	schedule_count_state(s, 1);
}

static void
schedule_unregister(struct schedule *s)
{
	strmap_remove(&by_id, &s->node);
	if (strmap_find(&by_name, s->name_key) == &s->name_node)
		strmap_remove(&by_name, &s->name_node);
	schedule_count_state(s, -1);
}

struct schedule *
schedule_find(const char *id)
{
	struct strmap_node	*n;

	if (by_id.nbuckets == 0 || (n = strmap_find(&by_id, id)) == NULL)
		return (NULL);
	return (SCHED_OF(n, node));
}

/* By id, or by name within ACCOUNT; deleted schedules are not found. */
struct schedule *
schedule_lookup(const char *account, const char *key)
{
	struct strmap_node	*n;
	struct schedule		*s;
	char			*nk;

	if ((s = schedule_find(key)) != NULL) {
		if (s->state == SCHEDULE_DELETED)
			return (NULL);
		if (account != NULL && strcmp(s->account, account) != 0)
			return (NULL);
		return (s);
	}
	if (account == NULL || by_name.nbuckets == 0)
		return (NULL);
	xasprintf(&nk, "%s/%s", account, key);
	n = strmap_find(&by_name, nk);
	free(nk);
	if (n == NULL)
		return (NULL);
	s = SCHED_OF(n, name_node);
	return (s->state == SCHEDULE_DELETED ? NULL : s);
}

void
schedule_counts(struct schedule_counts *c)
{
	memset(c, 0, sizeof *c);
	c->total = nactive + npaused + ncompleted;
	c->active = nactive;
	c->paused = npaused;
	c->completed = ncompleted;
	c->runs_running = (size_t)slots_in_use();
	c->runs_waiting = slots_waiting();
}

/* Add the runs in flight of S to C (running, or waiting for a slot). */
void
schedule_count_runs(const struct schedule *s, struct schedule_counts *c)
{
	const struct run	*r;

	TAILQ_FOREACH(r, &s->runs, entry) {
		if (r->status == RUN_RUNNING)
			c->runs_running++;
		else if (r->status == RUN_PENDING)
			c->runs_waiting++;
	}
}

struct counts_ctx {
	const struct caller	*caller;
	struct schedule_counts	*c;
};

static void
schedule_counts_node(struct strmap_node *node, void *arg)
{
	struct counts_ctx	*ctx = arg;
	struct schedule		*s = SCHED_OF(node, node);
	struct account		*a;

	if (s->state == SCHEDULE_DELETED ||
	    (a = account_find(s->account)) == NULL ||
	    !account_allows(a, ctx->caller))
		return;
	ctx->c->total++;
	if (s->state == SCHEDULE_ACTIVE)
		ctx->c->active++;
	else if (s->state == SCHEDULE_COMPLETED)
		ctx->c->completed++;
	else
		ctx->c->paused++;
	schedule_count_runs(s, ctx->c);
}

/* Add the schedules of the accounts CALLER may act for, and their runs
 * in flight, to C. */
void
schedule_counts_for(const struct caller *caller, struct schedule_counts *c)
{
	struct counts_ctx	ctx = { caller, c };

	if (by_id.nbuckets != 0)
		strmap_foreach(&by_id, schedule_counts_node, &ctx);
}

static void
schedule_handle(struct actor *a, struct msg *m)
{
	struct schedule	*s = (struct schedule *)a;

	switch (m->type) {
	case MSG_TIMER:
		dispatch_timer(s, m->arg);
		break;
	case MSG_SLOT:
		dispatch_slot(s, m->arg);
		break;
	case MSG_EXEC_DONE:
		dispatch_exec_done(s, m);
		break;
	default:
		log_warnx("msg=\"schedule: unknown message\" type=%d", m->type);
		break;
	}
}

/* ---- triggers ---------------------------------------------------------- */

/* "09:30" -> hour, minute. */
static int
parse_hhmm(const char *s, int *h, int *m)
{
	char	*end;
	long	 hv, mv;

	hv = strtol(s, &end, 10);
	if (end == s || *end != ':' || !isdigit((unsigned char)end[1]))
		return (-1);
	mv = strtol(end + 1, &end, 10);
	if (*end != '\0' || hv < 0 || hv > 23 || mv < 0 || mv > 59)
		return (-1);
	*h = (int)hv;
	*m = (int)mv;
	return (0);
}

/* "mon 09:00" (or "1 09:00", "monday 09:00") */
static int
parse_weekly(const char *spec, struct cron *c, char **reason)
{
	char	 day[16], hm[16];
	int	 dow = -1, h, m, i;

	if (sscanf(spec, "%15s %15s", day, hm) != 2) {
		*reason = xstrdup("expected \"DAY HH:MM\", e.g. \"mon 09:00\"");
		return (-1);
	}
	for (i = 0; i < 7; i++) {
		if (strcasecmp(day, weekday_names[i]) == 0 ||
		    strcasecmp(day, weekday_full[i]) == 0)
			dow = i;
	}
	if (dow == -1 && day[0] >= '0' && day[0] <= '7' && day[1] == '\0')
		dow = (day[0] - '0') % 7;
	if (dow == -1) {
		xasprintf(reason, "unknown day \"%s\" (sun..sat or 0..7)", day);
		return (-1);
	}
	if (parse_hhmm(hm, &h, &m) == -1) {
		xasprintf(reason, "bad time \"%s\" (HH:MM)", hm);
		return (-1);
	}
	cron_weekly(dow, h, m, c);
	return (0);
}

/* "15 09:00" or "last 18:30" */
static int
parse_monthly(const char *spec, struct cron *c, char **reason)
{
	char	 day[16], hm[16], *end;
	long	 dom;
	int	 h, m;

	if (sscanf(spec, "%15s %15s", day, hm) != 2) {
		*reason = xstrdup("expected \"DAY HH:MM\" with DAY 1-31 or "
		    "last, e.g. \"last 18:00\"");
		return (-1);
	}
	if (strcasecmp(day, "last") == 0)
		dom = 0;
	else {
		dom = strtol(day, &end, 10);
		if (*end != '\0' || dom < 1 || dom > 31) {
			xasprintf(reason, "bad day \"%s\" (1-31 or last)", day);
			return (-1);
		}
	}
	if (parse_hhmm(hm, &h, &m) == -1) {
		xasprintf(reason, "bad time \"%s\" (HH:MM)", hm);
		return (-1);
	}
	cron_monthly((int)dom, h, m, c);
	return (0);
}

/*
 * Set T's trigger from KIND and its text SPEC (STORED: as read from its
 * row; else as given by a caller).  On error *reason says why.
 */
static int
trigger_set(struct schedule *t, int kind, const char *spec, int stored,
    char **reason)
{
	int64_t	v;

	switch (kind) {
	case TRIGGER_CRON:
		/* A STORED row may hold a cron that never fires, from
		 * before such were refused: it loads, with no next fire. */
		if ((stored ? cron_parse_stored(spec, &t->cron, reason) :
		    cron_parse(spec, &t->cron, reason)) == -1)
			return (-1);
		break;
	case TRIGGER_WEEKLY:
		if (parse_weekly(spec, &t->cron, reason) == -1)
			return (-1);
		break;
	case TRIGGER_MONTHLY:
		if (parse_monthly(spec, &t->cron, reason) == -1)
			return (-1);
		break;
	case TRIGGER_INTERVAL:
		if (parse_duration(spec, &v) == -1 || v < USEC_PER_SEC ||
		    v % USEC_PER_SEC != 0 || v > SCHEDULE_INTERVAL_MAX) {
			*reason = xstrdup("must be a whole number of seconds, "
			    "from 1 to 100 years (\"30s\", \"5m\", \"1h\")");
			return (-1);
		}
		t->interval_us = v;
		break;
	case TRIGGER_AT:
		if (parse_rfc3339(spec, &v) == -1) {
			*reason = xstrdup("must be an RFC 3339 instant");
			return (-1);
		}
		t->at_us = v - v % USEC_PER_SEC;
		break;
	case TRIGGER_MANUAL:
	case TRIGGER_WEBHOOK:
		break;
	default:
		*reason = xstrdup("unknown trigger");
		return (-1);
	}
	t->trigger = (uint8_t)kind;
	free(t->trigger_text);
	t->trigger_text = xstrdup(spec);
	return (0);
}

/* The first fire of S strictly after AFTER (us); 0 if none. */
int64_t
schedule_next_after(const struct schedule *s, int64_t after,
    struct cron_fire *f)
{
	int64_t	k, when, sec;

	memset(f, 0, sizeof *f);
	switch (s->trigger) {
	case TRIGGER_CRON:
	case TRIGGER_WEEKLY:
	case TRIGGER_MONTHLY:
		sec = after / USEC_PER_SEC;
		if (after < 0 && after % USEC_PER_SEC != 0)
			sec--;
		if (cron_next(&s->cron, s->tz, sec, f) == -1)
			return (0);
		return (f->utc * USEC_PER_SEC);
	case TRIGGER_INTERVAL:
		if (after < s->anchor_us)
			when = s->anchor_us;
		else {
			k = (after - s->anchor_us) / s->interval_us + 1;
			if (__builtin_mul_overflow(k, s->interval_us, &when) ||
			    __builtin_add_overflow(when, s->anchor_us, &when))
				return (0);
		}
		break;
	case TRIGGER_AT:
		if (s->at_us <= after)
			return (0);
		when = s->at_us;
		break;
	default:
		return (0);
	}
	f->utc = when / USEC_PER_SEC;
	tz_to_civil(s->tz, f->utc, &f->nominal);
	f->tag = DST_NONE;
	return (when);
}

/* The next COUNT fires after FROM; returns how many were found. */
int
schedule_next_fires(const struct schedule *s, int64_t from, int count,
    int64_t *out, struct cron_fire *fires)
{
	struct cron_fire	f;
	int64_t			when = from;
	int			n;

	for (n = 0; n < count; n++) {
		if ((when = schedule_next_after(s, when, &f)) == 0)
			break;
		out[n] = when;
		if (fires != NULL)
			fires[n] = f;
	}
	return (n);
}

/*
 * A one-shot ("at") whose instant has been settled (run, skipped or
 * missed) is completed: no next fire, shown as "completed".  An update
 * with a new instant (or another trigger) makes it active again.
 */
void
schedule_complete(struct schedule *s)
{
	if (s->trigger != TRIGGER_AT || s->state != SCHEDULE_ACTIVE ||
	    s->last_fire < s->at_us)
		return;
	schedule_set_state(s, SCHEDULE_COMPLETED);
	timer_cancel(&s->timer);
	s->next_fire = 0;
	log_info("msg=\"schedule completed\" schedule=%s", s->id);
	journal_submit(engine->journal, schedule_record(s,
	    "schedule.completed"), dispatch_log_cb, NULL);
}

/* Compute the next fire after AFTER and arm (or disarm) the timer. */
void
schedule_arm(struct schedule *s, int64_t after)
{
	s->next_fire = schedule_next_after(s, after, &s->next);
	if (s->state != SCHEDULE_ACTIVE || s->next_fire == 0) {
		timer_cancel(&s->timer);
		return;
	}
	timer_set(&s->timer, s->next_fire, (uint64_t)s->next_fire);
}

/* ---- configuration ----------------------------------------------------- */

/* A copy of S's configuration and progress, for an update to work on. */
static struct schedule *
schedule_clone(const struct schedule *s)
{
	struct schedule	*t;

	t = schedule_new();
	free(t->parameters);
	t->id = xstrdup(s->id);
	t->name = xstrdup(s->name);
	t->account = xstrdup(s->account);
	t->name_key = xstrdup(s->name_key);
	t->operation = xstrdup(s->operation);
	t->model = s->model != NULL ? xstrdup(s->model) : NULL;
	t->parameters = xstrdup(s->parameters);
	t->trigger_text = xstrdup(s->trigger_text);
	t->note = s->note != NULL ? xstrdup(s->note) : NULL;
	t->batch_template = s->batch_template != NULL ?
	    xstrdup(s->batch_template) : NULL;
	t->pause_reason = s->pause_reason != NULL ?
	    xstrdup(s->pause_reason) : NULL;
	t->pause_note = s->pause_note != NULL ? xstrdup(s->pause_note) : NULL;
	t->webhook_secret_ref = s->webhook_secret_ref != NULL ?
	    xstrdup(s->webhook_secret_ref) : NULL;
	t->webhook_tolerance_s = s->webhook_tolerance_s;
	t->webhook_style = s->webhook_style;
	t->webhook_prev = webhook_keyring_copy(s->webhook_prev);
	t->tz = s->tz;
	t->cron = s->cron;
	t->interval_us = s->interval_us;
	t->at_us = s->at_us;
	t->anchor_us = s->anchor_us;
	t->catchup_window_us = s->catchup_window_us;
	t->max_cost_month = s->max_cost_month;
	t->month_spent = s->month_spent;
	t->month_key = s->month_key;
	t->created_us = s->created_us;
	t->updated_us = s->updated_us;
	t->last_fire = s->last_fire;
	t->fired_us = s->fired_us;
	t->run_counter = s->run_counter;
	t->history = s->history;
	t->trigger = s->trigger;
	t->overlap = s->overlap;
	t->overlap_limit = s->overlap_limit;
	t->catchup = s->catchup;
	schedule_set_state(t, s->state);
	t->priority = s->priority;
	return (t);
}

#define SWAP(a, b) do {				\
	__typeof__(a) swap_tmp = (a);		\
	(a) = (b);				\
	(b) = swap_tmp;				\
} while (0)

/* Move T's configuration into S (T gets S's old one, to be freed). */
static void
schedule_take_config(struct schedule *s, struct schedule *t)
{
	SWAP(s->name, t->name);
	SWAP(s->operation, t->operation);
	SWAP(s->model, t->model);
	SWAP(s->parameters, t->parameters);
	SWAP(s->trigger_text, t->trigger_text);
	SWAP(s->note, t->note);
	SWAP(s->batch_template, t->batch_template);
	SWAP(s->webhook_secret_ref, t->webhook_secret_ref);
	SWAP(s->webhook_prev, t->webhook_prev);
	s->webhook_tolerance_s = t->webhook_tolerance_s;
	s->webhook_style = t->webhook_style;
	s->tz = t->tz;
	s->cron = t->cron;
	s->interval_us = t->interval_us;
	s->at_us = t->at_us;
	s->anchor_us = t->anchor_us;
	s->catchup_window_us = t->catchup_window_us;
	s->max_cost_month = t->max_cost_month;
	s->updated_us = t->updated_us;
	if (t->last_fire > s->last_fire)
		s->last_fire = t->last_fire;
	s->history = t->history;
	s->trigger = t->trigger;
	s->overlap = t->overlap;
	s->overlap_limit = t->overlap_limit;
	s->catchup = t->catchup;
	s->priority = t->priority;
}

static const char *trigger_params[] = {
	"cron", "weekly", "monthly", "interval", "at", "manual", "webhook"
};

/* The trigger given in PARAMS: its kind, or -1 (none), or -2 (several). */
static int
config_trigger_kind(json_t *params)
{
	int	i, kind = -1;

	for (i = 0; i < TRIGGER_KINDS; i++) {
		if (json_object_get(params, trigger_params[i]) == NULL)
			continue;
		if ((i == TRIGGER_MANUAL || i == TRIGGER_WEBHOOK) &&
		    !json_is_true(json_object_get(params, trigger_params[i])))
			continue;
		if (kind != -1)
			return (-2);
		kind = i;
	}
	return (kind);
}

static int
config_trigger(struct schedule *t, json_t *params, int creating,
    const char **field, char **reason)
{
	json_t	*v;
	char	 buf[64];
	int	 kind;

	if ((kind = config_trigger_kind(params)) == -2) {
		*field = "cron";
		*reason = xstrdup("give exactly one trigger: cron, weekly, "
		    "monthly, interval, at, manual or webhook");
		return (-1);
	}
	if (kind == -1) {
		if (!creating)
			return (0);
		*field = "cron";
		*reason = xstrdup("a trigger is required: cron, weekly, "
		    "monthly, interval, at, manual or webhook");
		return (-1);
	}
	*field = trigger_params[kind];
	v = json_object_get(params, trigger_params[kind]);
	if (kind == TRIGGER_INTERVAL && json_is_integer(v)) {
		snprintf(buf, sizeof buf, "%llds",
		    (long long)json_integer_value(v));
		return (trigger_set(t, kind, buf, 0, reason));
	}
	if (kind == TRIGGER_AT && json_is_string(v)) {
		int64_t	at;

		if (parse_rfc3339(json_string_value(v), &at) == 0) {
			if (at <= now_us()) {
				*reason = xstrdup("is in the past");
				return (-1);
			}
			fmt_rfc3339(at, buf, sizeof buf);
			return (trigger_set(t, kind, buf, 0, reason));
		}
	}
	if (kind == TRIGGER_MANUAL || kind == TRIGGER_WEBHOOK)
		return (trigger_set(t, kind, "", 0, reason));
	if (!json_is_string(v)) {
		*reason = xstrdup("must be a string");
		return (-1);
	}
	return (trigger_set(t, kind, json_string_value(v), 0, reason));
}

static int
config_string(json_t *params, const char *key, char **dst, int nullable)
{
	json_t	*v = json_object_get(params, key);

	if (v == NULL)
		return (0);
	free(*dst);
	*dst = NULL;
	if (json_is_null(v) && nullable)
		return (0);
	if (!json_is_string(v))
		return (-1);
	/* An empty string clears a field that may be unset. */
	if (nullable && *json_string_value(v) == '\0')
		return (0);
	*dst = xstrdup(json_string_value(v));
	return (0);
}

static int
config_enum(json_t *params, const char *key, const char **names, int n,
    uint8_t *dst, char **reason)
{
	json_t	*v = json_object_get(params, key);
	int	 i;

	if (v == NULL)
		return (0);
	if (!json_is_string(v) || (i = name_index(json_string_value(v), names,
	    n)) == -1) {
		xasprintf(reason, "must be one of %s%s%s%s%s%s%s", names[0],
		    n > 1 ? ", " : "", n > 1 ? names[1] : "",
		    n > 2 ? ", " : "", n > 2 ? names[2] : "",
		    n > 3 ? ", " : "", n > 3 ? names[3] : "");
		return (-1);
	}
	*dst = (uint8_t)i;
	return (0);
}

static int
config_int(json_t *params, const char *key, int64_t lo, int64_t hi,
    int64_t *out, char **reason)
{
	json_t	*v = json_object_get(params, key);

	if (v == NULL)
		return (1);
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi) {
		xasprintf(reason, "must be an integer from %lld to %lld",
		    (long long)lo, (long long)hi);
		return (-1);
	}
	*out = json_integer_value(v);
	return (0);
}

/* Money or duration given as a string or a number. */
static int
config_text(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.6f", json_real_value(v));
	else
		return (-1);
	return (0);
}

static int
config_scalars(struct schedule *t, json_t *params, const char **field,
    char **reason)
{
	json_t	*v;
	char	 buf[64];
	int64_t	 n;

	*field = "overlap";
	if (config_enum(params, "overlap", overlap_names, 4, &t->overlap,
	    reason) == -1)
		return (-1);
	*field = "catchup";
	if (config_enum(params, "catchup", catchup_names, 3, &t->catchup,
	    reason) == -1)
		return (-1);
	*field = "overlap_limit";
	if ((config_int(params, *field, 1, 64, &n, reason)) == -1)
		return (-1);
	else if (json_object_get(params, *field) != NULL)
		t->overlap_limit = (uint8_t)n;
	*field = "priority";
	if (config_int(params, *field, 1, 10, &n, reason) == -1)
		return (-1);
	else if (json_object_get(params, *field) != NULL)
		t->priority = (uint8_t)n;
	*field = "history";
	if (config_int(params, *field, 1, SCHEDULE_HISTORY_MAX, &n,
	    reason) == -1)
		return (-1);
	else if (json_object_get(params, *field) != NULL)
		t->history = (uint16_t)n;
	*field = "catchup_window";
	if ((v = json_object_get(params, *field)) != NULL) {
		if (config_text(v, buf, sizeof buf) == -1 ||
		    parse_duration(buf, &n) == -1 || n > 366 * 86400 *
		    USEC_PER_SEC) {
			*reason = xstrdup("must be a duration up to 366d "
			    "(\"30m\", \"1h\", \"2d\")");
			return (-1);
		}
		t->catchup_window_us = n;
	}
	*field = "max_cost_month";
	if ((v = json_object_get(params, *field)) != NULL) {
		if (json_is_null(v))
			t->max_cost_month = 0;
		else if (config_text(v, buf, sizeof buf) == -1 ||
		    parse_usd(buf, &n) == -1) {
			*reason = xstrdup("must be an amount in USD, e.g. "
			    "\"5.00\"");
			return (-1);
		} else
			t->max_cost_month = n;
	}
	return (0);
}

/*
 * A batch template as the schedule's target ("batch": the definition of
 * batch.create): each occurrence creates and starts a batch.  Its
 * operation is then "batch".
 */
static int
config_batch(struct schedule *t, json_t *params, const char **field,
    char **reason)
{
	json_t	*v = json_object_get(params, "batch");
	char	*tmpl, *bfield = NULL, *breason = NULL;
	int64_t	 mid;

	if (v == NULL)
		return (0);
	*field = "batch";
	if (json_is_null(v)) {
		free(t->batch_template);
		t->batch_template = NULL;
		return (0);
	}
	if (!json_is_object(v) || json_object_get(params, "operation") !=
	    NULL) {
		*reason = xstrdup("must be a batch definition (a JSON object), "
		    "instead of an operation");
		return (-1);
	}
	tmpl = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	if (batch_template_check(tmpl, t->account, &bfield, &breason,
	    &mid) == -1) {
		xasprintf(reason, "%s: %s", bfield, breason);
		free(bfield);
		free(breason);
		free(tmpl);
		return (-1);
	}
	free(t->batch_template);
	t->batch_template = tmpl;
	free(t->operation);
	t->operation = xstrdup("batch");
	return (0);
}

/*
 * The webhook settings: "webhook_secret" (a secret reference, or
 * "generated" at create: the caller makes it once the id is known) and
 * "webhook_tolerance" (seconds).  A webhook trigger needs a secret.
 */
static int
config_webhook(struct schedule *t, json_t *params, int creating,
    const char **field, char **reason)
{
	json_t		*v;
	const char	*ref;
	char		*cause = NULL;
	json_int_t	 n;

	*field = "webhook_tolerance";
	if ((v = json_object_get(params, "webhook_tolerance")) != NULL) {
		if (!json_is_integer(v) || (n = json_integer_value(v)) < 1 ||
		    n > 86400) {
			*reason = xstrdup("must be a whole number of seconds "
			    "from 1 to 86400");
			return (-1);
		}
		t->webhook_tolerance_s = (int32_t)n;
	}
	*field = "webhook_style";
	if ((v = json_object_get(params, "webhook_style")) != NULL) {
		if (!json_is_string(v) || (n = name_index(json_string_value(v),
		    (const char **)webhook_style_names, WEBHOOK_NSTYLES)) ==
		    -1) {
			*reason = xstrdup("must be standard, github or stripe");
			return (-1);
		}
		t->webhook_style = (uint8_t)n;
	}
	*field = "webhook_secret";
	if ((v = json_object_get(params, "webhook_secret")) != NULL) {
		if (!json_is_string(v)) {
			*reason = xstrdup("must be a secret reference (env:, "
			    "file:, exec:) or \"generated\"");
			return (-1);
		}
		ref = json_string_value(v);
		if (strcmp(ref, "generated") == 0) {
			if (!creating) {
				*reason = xstrdup("\"generated\" is only "
				    "possible at create; webhook.rotate makes "
				    "a new generated secret");
				return (-1);
			}
		} else if (strncmp(ref, "generated:", 10) == 0) {
			*reason = xstrdup("use \"generated\": the daemon "
			    "names generated secrets");
			return (-1);
		} else if (secret_ref_check(ref, reason) == -1)
			return (-1);
		free(t->webhook_secret_ref);
		t->webhook_secret_ref = xstrdup(ref);
	}
	/* A secret given, or one that must sign in another style: it must
	 * read now, and fit the style (Standard Webhooks: base64). */
	if (t->webhook_secret_ref != NULL &&
	    strcmp(t->webhook_secret_ref, "generated") != 0 &&
	    (v != NULL || json_object_get(params, "webhook_style") != NULL) &&
	    webhook_secret_usable(t->webhook_secret_ref, t->webhook_style,
	    &cause) == -1) {
		*field = v != NULL ? "webhook_secret" : "webhook_style";
		xasprintf(reason, "cannot be read now: %s", cause);
		free(cause);
		return (-1);
	}
	if (t->trigger == TRIGGER_WEBHOOK && t->webhook_secret_ref == NULL) {
		*reason = xstrdup("a webhook trigger needs a secret (env:NAME, "
		    "file:PATH, exec:COMMAND or generated)");
		return (-1);
	}
	return (0);
}

/*
 * Apply the configuration in PARAMS to T (a new schedule or a clone).  On
 * error *field names the parameter and *reason (allocated) says why.
 */
static int
config_apply(struct schedule *t, json_t *params, int creating,
    const char **field, char **reason)
{
	const struct catalog	*cat = engine->catalog;
	json_t			*v;
	const struct tz		*tz;

	*field = "name";
	if (config_string(params, "name", &t->name, 0) == -1 ||
	    (t->name != NULL && !valid_id(t->name))) {
		*reason = xstrdup("must be 1-64 of A-Z a-z 0-9 . _ - (not "
		    "starting with . or -)");
		return (-1);
	}
	if (creating && t->name == NULL) {
		*reason = xstrdup("is required");
		return (-1);
	}
	if (config_batch(t, params, field, reason) == -1)
		return (-1);
	*field = "operation";
	if (config_string(params, "operation", &t->operation, 0) == -1 ||
	    (creating && t->operation == NULL)) {
		*reason = xstrdup("is required (an operation of the catalog, "
		    "or a batch template in \"batch\")");
		return (-1);
	}
	if (json_object_get(params, "operation") != NULL &&
	    catalog_operation(cat, t->operation) == NULL) {
		/* (checked below) */
		xasprintf(reason, "unknown operation \"%s\"", t->operation);
		return (-1);
	}
	if (json_object_get(params, "operation") != NULL) {
		/* A real operation replaces a batch target. */
		free(t->batch_template);
		t->batch_template = NULL;
	}
	*field = "model";
	if (config_string(params, "model", &t->model, 1) == -1 ||
	    (t->model != NULL && catalog_model(cat, t->model) == NULL)) {
		xasprintf(reason, "unknown model \"%s\"", t->model != NULL ?
		    t->model : "");
		return (-1);
	}
	*field = "tz";
	if ((v = json_object_get(params, "tz")) != NULL) {
		if (!json_is_string(v) || (tz = tz_load(json_string_value(v),
		    reason)) == NULL) {
			if (*reason == NULL)
				*reason = xstrdup("must be an IANA zone name");
			return (-1);
		}
		t->tz = tz;
	}
	*field = "parameters";
	if ((v = json_object_get(params, "parameters")) != NULL) {
		if (!json_is_object(v)) {
			*reason = xstrdup("must be a JSON object");
			return (-1);
		}
		free(t->parameters);
		t->parameters = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	}
	*field = "note";
	if (config_string(params, "note", &t->note, 1) == -1) {
		*reason = xstrdup("must be a string");
		return (-1);
	}
	if (config_scalars(t, params, field, reason) == -1)
		return (-1);
	if (config_trigger(t, params, creating, field, reason) == -1)
		return (-1);
	return (config_webhook(t, params, creating, field, reason));
}

/* ---- rows and views ---------------------------------------------------- */

/* The keys of a schedule row, in the order schedule_pack writes them. */
enum row_key {
	RK_ID, RK_NAME, RK_ACCOUNT, RK_OPERATION, RK_MODEL, RK_PARAMETERS,
	RK_TRIGGER, RK_SPEC, RK_TZ, RK_OVERLAP, RK_OVERLAP_LIMIT, RK_CATCHUP,
	RK_CATCHUP_WINDOW, RK_PRIORITY, RK_HISTORY, RK_MAX_COST, RK_STATE,
	RK_PAUSE_REASON, RK_NOTE, RK_ANCHOR, RK_CREATED, RK_UPDATED,
	RK_LAST_FIRE, RK_RUN_COUNTER, RK_MONTH_KEY, RK_MONTH_SPENT,
	RK_BATCH_TEMPLATE, RK_WEBHOOK_SECRET, RK_WEBHOOK_TOLERANCE,
	RK_WEBHOOK_STYLE, RK_WEBHOOK_PREVIOUS, RK_PAUSE_NOTE, RK_FIRED, RK_MAX
};
static const char *const row_keys[RK_MAX] = {
	"id", "name", "account", "operation", "model", "parameters",
	"trigger", "spec", "tz", "overlap", "overlap_limit", "catchup",
	"catchup_window_us", "priority", "history", "max_cost_month_micro",
	"state", "pause_reason", "note", "anchor_us", "created_us",
	"updated_us", "last_fire_us", "run_counter", "month_key",
	"month_spent_micro", "batch_template", "webhook_secret_ref",
	"webhook_tolerance_s", "webhook_style", "webhook_previous",
	"pause_note", "fired_us"
};

/* The "schedules" table row (and the body of schedule.* records). */
static void
schedule_pack(const struct schedule *s, msgpack_packer *pk)
{
	msgpack_pack_map(pk, RK_MAX + 1);	/* and "format" */
	pack_kstr(pk, "id", s->id);
	pack_kstr(pk, "name", s->name);
	pack_kstr(pk, "account", s->account);
	pack_kstr(pk, "operation", s->operation);
	pack_kstr(pk, "model", s->model);
	pack_kjson(pk, "parameters", s->parameters);
	pack_kstr(pk, "trigger", trigger_names[s->trigger]);
	pack_kstr(pk, "spec", s->trigger_text);
	pack_kstr(pk, "tz", tz_name(s->tz));
	pack_kstr(pk, "overlap", overlap_names[s->overlap]);
	pack_kint(pk, "overlap_limit", s->overlap_limit);
	pack_kstr(pk, "catchup", catchup_names[s->catchup]);
	pack_kint(pk, "catchup_window_us", s->catchup_window_us);
	pack_kint(pk, "priority", s->priority);
	pack_kint(pk, "history", s->history);
	pack_kint(pk, "max_cost_month_micro", s->max_cost_month);
	pack_kstr(pk, "state", state_names[s->state]);
	pack_kstr(pk, "pause_reason", s->pause_reason);
	pack_kstr(pk, "note", s->note);
	pack_kint(pk, "anchor_us", s->anchor_us);
	pack_kint(pk, "created_us", s->created_us);
	pack_kint(pk, "updated_us", s->updated_us);
	pack_kint(pk, "last_fire_us", s->last_fire);
	pack_kint(pk, "run_counter", (int64_t)s->run_counter);
	pack_kint(pk, "month_key", s->month_key);
	pack_kint(pk, "month_spent_micro", s->month_spent);
	pack_kstr(pk, "batch_template", s->batch_template);
	pack_kstr(pk, "webhook_secret_ref", s->webhook_secret_ref);
	pack_kint(pk, "webhook_tolerance_s", s->webhook_tolerance_s);
	pack_kstr(pk, "webhook_style", webhook_style_names[s->webhook_style]);
	pack_str(pk, "webhook_previous");
	webhook_keyring_pack(s->webhook_prev, pk);
	pack_kstr(pk, "pause_note", s->pause_note);
	pack_kint(pk, "fired_us", s->fired_us);
	pack_kint(pk, "format", 1);
}

/*
 * The "progress" row: what runs change (last occurrence settled, run
 * counter, the month's spending), small so that run records do not rewrite
 * the whole schedule row.  At load it overrides the schedule row's copy.
 */
void
schedule_put_progress(struct schedule *s, struct jrec *rec)
{
	struct pack_buffer	pb;

	if (s->state == SCHEDULE_DELETED)
		return;
	pack_buffer_init(&pb);
	msgpack_pack_map(&pb.pk, 5);
	pack_kint(&pb.pk, "last_fire_us", s->last_fire);
	pack_kint(&pb.pk, "fired_us", s->fired_us);
	pack_kint(&pb.pk, "run_counter", (int64_t)s->run_counter);
	pack_kint(&pb.pk, "month_key", s->month_key);
	pack_kint(&pb.pk, "month_spent_micro", s->month_spent);
	jrec_put(rec, "progress", s->id, strlen(s->id), pb.sbuf.data,
	    pb.sbuf.size);
	pack_buffer_clear(&pb);
}

/* Put S's row (and progress) in REC, whose body is something else. */
static void
schedule_put_row(struct schedule *s, struct jrec *rec)
{
	struct pack_buffer	pb;

	pack_buffer_init(&pb);
	schedule_pack(s, &pb.pk);
	jrec_put(rec, "schedules", s->id, strlen(s->id), pb.sbuf.data,
	    pb.sbuf.size);
	pack_buffer_clear(&pb);
	schedule_put_progress(s, rec);
}

/* A record of KIND carrying S's row as body and as table row. */
static struct jrec *
schedule_record(struct schedule *s, const char *kind)
{
	struct jrec		*rec;
	struct pack_buffer	 pb;

	rec = jrec_create(kind, s->account);
	jrec_failfast(rec);
	pack_buffer_init(&pb);
	schedule_pack(s, &pb.pk);
	pack_raw(jrec_body(rec), pb.sbuf.data, pb.sbuf.size);
	if (s->state != SCHEDULE_DELETED)
		jrec_put(rec, "schedules", s->id, strlen(s->id),
		    pb.sbuf.data, pb.sbuf.size);
	pack_buffer_clear(&pb);
	schedule_put_progress(s, rec);
	return (rec);
}


/* A name of NAMES (N of them) held in V, or DEF. */
static int
unpack_name(const msgpack_object *v, const char **names, int n, int def)
{
	char	*s = unpack_val_strdup(v);
	int	 i = s != NULL ? name_index(s, names, n) : -1;

	free(s);
	return (i == -1 ? def : i);
}

static int
schedule_unpack(const msgpack_object *o, struct schedule *s, char **cause)
{
	const msgpack_object	*v[RK_MAX];
	char			*trigger, *spec, *zone;
	int			 kind, rc = -1;

	unpack_index(o, row_keys, RK_MAX, v);
	s->id = unpack_val_strdup(v[RK_ID]);
	s->name = unpack_val_strdup(v[RK_NAME]);
	s->account = unpack_val_strdup(v[RK_ACCOUNT]);
	s->operation = unpack_val_strdup(v[RK_OPERATION]);
	trigger = unpack_val_strdup(v[RK_TRIGGER]);
	spec = unpack_val_strdup(v[RK_SPEC]);
	zone = unpack_val_strdup(v[RK_TZ]);
	if (s->id == NULL || s->name == NULL || s->account == NULL ||
	    s->operation == NULL || trigger == NULL || spec == NULL ||
	    zone == NULL) {
		*cause = xstrdup("missing fields");
		goto out;
	}
	if ((s->tz = tz_load(zone, cause)) == NULL)
		goto out;
	if ((kind = name_index(trigger, trigger_names, TRIGGER_KINDS)) == -1 ||
	    trigger_set(s, kind, spec, 1, cause) == -1) {
		if (*cause == NULL)
			*cause = xstrdup("unknown trigger");
		goto out;
	}
	s->model = unpack_val_strdup(v[RK_MODEL]);
	free(s->parameters);
	if ((s->parameters = unpack_val_strdup(v[RK_PARAMETERS])) == NULL)
		s->parameters = xstrdup("{}");
	s->note = unpack_val_strdup(v[RK_NOTE]);
	s->pause_reason = unpack_val_strdup(v[RK_PAUSE_REASON]);
	s->pause_note = unpack_val_strdup(v[RK_PAUSE_NOTE]);
	s->fired_us = unpack_val_int(v[RK_FIRED], 0);
	s->overlap = (uint8_t)unpack_name(v[RK_OVERLAP], overlap_names, 4,
	    OVERLAP_SKIP);
	s->catchup = (uint8_t)unpack_name(v[RK_CATCHUP], catchup_names, 3,
	    CATCHUP_LATEST);
	switch (unpack_name(v[RK_STATE], state_names, 4, SCHEDULE_ACTIVE)) {
	case SCHEDULE_PAUSED:
		schedule_set_state(s, SCHEDULE_PAUSED);
		break;
	case SCHEDULE_COMPLETED:
		schedule_set_state(s, SCHEDULE_COMPLETED);
		break;
	default:
		break;
	}
	s->overlap_limit = (uint8_t)unpack_val_int(v[RK_OVERLAP_LIMIT], 1);
	s->catchup_window_us = unpack_val_int(v[RK_CATCHUP_WINDOW],
	    3600 * USEC_PER_SEC);
	s->priority = (uint8_t)unpack_val_int(v[RK_PRIORITY], 5);
	s->history = (uint16_t)unpack_val_int(v[RK_HISTORY],
	    SCHEDULE_HISTORY_DEFAULT);
	s->max_cost_month = unpack_val_int(v[RK_MAX_COST], 0);
	s->anchor_us = unpack_val_int(v[RK_ANCHOR], 0);
	s->created_us = unpack_val_int(v[RK_CREATED], 0);
	s->updated_us = unpack_val_int(v[RK_UPDATED], 0);
	s->last_fire = unpack_val_int(v[RK_LAST_FIRE], 0);
	s->run_counter = (uint64_t)unpack_val_int(v[RK_RUN_COUNTER], 0);
	s->month_key = (int32_t)unpack_val_int(v[RK_MONTH_KEY], 0);
	s->month_spent = unpack_val_int(v[RK_MONTH_SPENT], 0);
	s->batch_template = unpack_val_strdup(v[RK_BATCH_TEMPLATE]);
	s->webhook_secret_ref = unpack_val_strdup(v[RK_WEBHOOK_SECRET]);
	s->webhook_tolerance_s = (int32_t)unpack_val_int(
	    v[RK_WEBHOOK_TOLERANCE], WEBHOOK_TOLERANCE_DEFAULT);
	s->webhook_style = (uint8_t)unpack_name(v[RK_WEBHOOK_STYLE],
	    (const char **)webhook_style_names, WEBHOOK_NSTYLES,
	    WEBHOOK_STANDARD);
	s->webhook_prev = webhook_keyring_unpack(v[RK_WEBHOOK_PREVIOUS]);
	schedule_watch_expiry(s);
	xasprintf(&s->name_key, "%s/%s", s->account, s->name);
	rc = 0;
out:
	free(trigger);
	free(spec);
	free(zone);
	return (rc);
}

static void
json_set_instant(json_t *o, const char *key, int64_t us)
{
	char	buf[40];

	json_object_set_new(o, key, us > 0 ? json_string(fmt_rfc3339(us, buf,
	    sizeof buf)) : json_null());
}

json_t *
schedule_to_json(const struct schedule *s)
{
	json_t			*j, *params;
	const struct operation	*op;
	const struct model	*model = NULL;
	struct cost_range	 est;
	const char		*source, *mname;
	int			 samples;
	char			 buf[40], local[40];

	params = json_loads(s->parameters, 0, NULL);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s*, s:o, s:s, s:s, s:s, s:s, "
	    "s:i, s:s, s:I, s:i, s:i, s:s, s:s*, s:s*, s:I, s:i, s:b}",
	    "id", s->id, "name", s->name, "account", s->account,
	    "operation", s->operation, "model", s->model,
	    "parameters", params != NULL ? params : json_object(),
	    "trigger", trigger_names[s->trigger], "spec", s->trigger_text,
	    "tz", tz_name(s->tz), "overlap", overlap_names[s->overlap],
	    "overlap_limit", s->overlap_limit,
	    "catchup", catchup_names[s->catchup],
	    "catchup_window_s", (json_int_t)(s->catchup_window_us /
	    USEC_PER_SEC), "priority", s->priority, "history", s->history,
	    "state", state_names[s->state], "pause_reason", s->pause_reason,
	    "note", s->note, "run_counter", (json_int_t)s->run_counter,
	    "runs_in_flight", s->nruns, "wall_anchored",
	    (s->cron.flags & CRON_WALL) != 0 && s->trigger <= TRIGGER_MONTHLY);
	json_object_set_new(j, "max_cost_month_usd", s->max_cost_month > 0 ?
	    json_string(fmt_usd(s->max_cost_month, buf, sizeof buf)) :
	    json_null());
	json_object_set_new(j, "month_spent_usd", json_string(fmt_usd(
	    s->month_spent, buf, sizeof buf)));
	if (s->webhook_secret_ref != NULL) {
		json_object_set_new(j, "webhook_secret_ref",
		    json_string(s->webhook_secret_ref));
		json_object_set_new(j, "webhook_tolerance_s",
		    json_integer(s->webhook_tolerance_s));
		json_object_set_new(j, "webhook_style",
		    json_string(webhook_style_names[s->webhook_style]));
		json_object_set_new(j, "webhook_url_path", json_sprintf(
		    "/v1/hooks/%s", s->id));
		json_object_set_new(j, "webhook_previous_secrets",
		    json_integer(s->webhook_prev != NULL ?
		    s->webhook_prev->n : 0));
	}
	if (s->batch_template != NULL) {
		json_t	*bt = json_loads(s->batch_template, 0, NULL);

		json_object_set_new(j, "batch", bt != NULL ? bt : json_null());
		json_object_set_new(j, "batches_running",
		    json_integer(s->batches_running));
	}
	json_set_instant(j, "created", s->created_us);
	json_set_instant(j, "updated", s->updated_us);
	json_set_instant(j, "last_fire", s->fired_us);
	json_object_set_new(j, "pause_note", s->pause_note != NULL ?
	    json_string(s->pause_note) : json_null());
	json_set_instant(j, "next_fire", s->state == SCHEDULE_ACTIVE ?
	    s->next_fire : 0);
	if (s->state == SCHEDULE_ACTIVE && s->next_fire > 0) {
		snprintf(local, sizeof local, "%04d-%02d-%02dT%02d:%02d:%02d",
		    s->next.nominal.year, s->next.nominal.month,
		    s->next.nominal.day, s->next.nominal.hour,
		    s->next.nominal.minute, s->next.nominal.second);
		json_object_set_new(j, "next_fire_local", json_string(local));
		json_object_set_new(j, "next_fire_dst",
		    json_string(dst_tag_name(s->next.tag)));
	}
	op = catalog_operation(engine->catalog, s->operation);
	if (op != NULL)
		model = catalog_model(engine->catalog, s->model != NULL ?
		    s->model : op->default_model);
	if (op != NULL && model != NULL) {
		cost_estimate(op, model, &est);
		json_object_set_new(j, "estimate_usd", json_pack("{s:s, s:s, "
		    "s:s}", "low", fmt_usd(est.low, buf, sizeof buf),
		    "mid", fmt_usd(est.mid, local, sizeof local),
		    "high", fmt_usd(est.high, (char[40]){0}, 40)));
	}
	/* With a cap: when it is reached at the projected pace. */
	if (s->max_cost_month > 0 && s->batch_template == NULL &&
	    dispatch_estimate(s, &est, &source, &samples, &mname) == 0)
		json_set_instant(j, "cap_reached", schedule_cap_reached(s,
		    est.mid, now_us()));
	return (j);
}

/* ---- batch targets ----------------------------------------------------- */

/* A batch fired by schedule ID is running (at start: recovery). */
void
schedule_batch_started(const char *id)
{
	struct schedule	*s = schedule_find(id);

	if (s != NULL)
		s->batches_running++;
}

/*
 * A batch fired by schedule ID ended having spent SPENT: it counts in the
 * schedule's month, and the schedule's progress row goes into REC (the
 * batch's final record; may be NULL).
 */
void
schedule_batch_ended(const char *id, int64_t spent, struct jrec *rec)
{
	struct schedule	*s = schedule_find(id);

	if (s == NULL || s->state == SCHEDULE_DELETED)
		return;
	if (s->batches_running > 0)
		s->batches_running--;
	if (spent > 0) {
		struct civil	c;

		tz_to_civil(s->tz, now_us() / USEC_PER_SEC, &c);
		if (s->month_key != c.year * 100 + c.month) {
			s->month_key = c.year * 100 + c.month;
			s->month_spent = 0;
		}
		s->month_spent = money_add(s->month_spent, spent);
	}
	if (rec != NULL)
		schedule_put_progress(s, rec);
}

/* ---- estimates --------------------------------------------------------- */

#define ESTIMATE_FIRES_MAX	100000

/* The first instant of the month after the one holding NOW, in S's zone. */
static int64_t
month_end(const struct schedule *s, int64_t now)
{
	struct civil	c;
	int64_t		when[2];

	tz_to_civil(s->tz, now / USEC_PER_SEC, &c);
	c.day = 1;
	c.hour = c.minute = c.second = 0;
	if (++c.month > 12) {
		c.month = 1;
		c.year++;
	}
	tz_from_civil(s->tz, &c, when);
	return (when[0] * USEC_PER_SEC);
}

/*
 * At the projected pace (MID per fire from NOW), the fire of S whose run
 * would pass its max_cost_month (and be skipped, pausing S), if that falls
 * in the current month of its zone; else 0.  What is spent and reserved
 * counts.  An interval is computed; other triggers are walked, at most
 * ESTIMATE_FIRES_MAX fires.
 */
static int64_t
schedule_cap_reached(const struct schedule *s, int64_t mid, int64_t now)
{
	struct cron_fire	 f;
	int64_t			 end, t, used, fits, i;

	if (s->max_cost_month <= 0 || mid <= 0 ||
	    s->state != SCHEDULE_ACTIVE)
		return (0);
	used = s->month_reserved;
	if (s->month_key == dispatch_month_key(s, now))
		used = money_add(used, s->month_spent);
	end = month_end(s, now);
	t = s->last_fire > now ? s->last_fire : now;
	if ((t = schedule_next_after(s, t, &f)) == 0 || t >= end)
		return (0);
	/* Runs that still fit: used + k * mid <= cap for k <= fits. */
	fits = used >= s->max_cost_month ? 0 :
	    (s->max_cost_month - used) / mid;
	if (s->trigger == TRIGGER_INTERVAL) {
		if (fits > (end - t) / s->interval_us)
			return (0);
		t += fits * s->interval_us;
		return (t < end ? t : 0);
	}
	for (i = 0; i < fits && i < ESTIMATE_FIRES_MAX; i++) {
		if ((t = schedule_next_after(s, t, &f)) == 0 || t >= end)
			return (0);
	}
	return (i == fits ? t : 0);
}

/*
 * Why S's caps will surprise its owner, as sentences (a new array): one
 * run's estimate MID more than a cap on its own (every run would be
 * skipped), or the schedule's cap reached this month at REACHED.
 */
static json_t *
schedule_cap_warnings(const struct schedule *s, int64_t mid, int64_t reached)
{
	json_t		*w = json_array();
	const char	*cap;
	int64_t		 limit;
	char		 b[3][40];

	fmt_usd(mid, b[0], sizeof b[0]);
	if (s->max_cost_month > 0 && mid > s->max_cost_month)
		json_array_append_new(w, json_sprintf("one run's estimate "
		    "(mid %s) is more than max_cost_month (%s): every run "
		    "would be skipped and the schedule paused", b[0],
		    fmt_usd(s->max_cost_month, b[1], sizeof b[1])));
	else if (reached != 0)
		json_array_append_new(w, json_sprintf("at the projected pace "
		    "max_cost_month (%s) is reached at %s: runs from then on "
		    "are skipped and the schedule paused",
		    fmt_usd(s->max_cost_month, b[1], sizeof b[1]),
		    fmt_rfc3339(reached, b[2], sizeof b[2])));
	if (budget_single_run(s->account, s->operation, mid, &cap, &limit))
		json_array_append_new(w, json_sprintf("one run's estimate "
		    "(mid %s) is more than the account's %s (%s): every run "
		    "would be skipped", b[0], cap,
		    fmt_usd(limit, b[1], sizeof b[1])));
	return (w);
}

/*
 * A cap that one run of T (as configured) would pass on its own: the
 * parameter or cap name, with *why; NULL if none.  Create and update
 * refuse such a schedule unless forced.
 */
static const char *
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

/*
 * What S costs: one run's estimate (low / mid / high, and whether it comes
 * from the catalog or from observed usage), the fires left this month in
 * its zone, the month's projected cost (fires left x mid), when the
 * schedule's cap is reached at that pace, and warnings about its caps.
 */
json_t *
schedule_estimate(const struct schedule *s)
{
	struct cost_range	 est;
	struct cron_fire	 f;
	const char		*source, *model;
	int64_t			 now = now_us(), end, t;
	int64_t			 fires = 0, projected, reached;
	int			 samples, capped = 0;
	char			 b[4][40];
	json_t			*j;

	if (dispatch_estimate(s, &est, &source, &samples, &model) == -1)
		return (NULL);
	end = month_end(s, now);
	t = s->last_fire > now ? s->last_fire : now;
	while ((t = schedule_next_after(s, t, &f)) != 0 && t < end) {
		if (++fires >= ESTIMATE_FIRES_MAX) {
			capped = 1;
			break;
		}
	}
	projected = fires > 0 && est.mid > INT64_MAX / fires ? INT64_MAX :
	    fires * est.mid;
	reached = schedule_cap_reached(s, est.mid, now);
	j = json_pack("{s:s, s:s, s:{s:s, s:s, s:s}, s:s, s:i, "
	    "s:I, s:b, s:s, s:s, s:s*}",
	    "operation", s->operation, "model", model,
	    "estimate_usd", "low", fmt_usd(est.low, b[0], sizeof b[0]),
	    "mid", fmt_usd(est.mid, b[1], sizeof b[1]),
	    "high", fmt_usd(est.high, b[2], sizeof b[2]),
	    "estimate_source", source, "estimate_samples", samples,
	    "fires_left_this_month", (json_int_t)fires,
	    "fires_left_is_lower_bound", capped,
	    "projected_month_usd", fmt_usd(projected, b[3], sizeof b[3]),
	    "tz", tz_name(s->tz),
	    "max_cost_month_usd", s->max_cost_month > 0 ?
	    fmt_usd(s->max_cost_month, (char[40]){0}, 40) : NULL);
	json_set_instant(j, "cap_reached", reached);
	json_object_set_new(j, "warnings", schedule_cap_warnings(s, est.mid,
	    reached));
	return (j);
}

/*
 * schedule.estimate (and schedule.create with dry_run): the estimate of an
 * existing schedule (params "id"), or of the one PARAMS describe; nothing
 * is written.
 */
void
schedule_ctl_estimate(struct reply *req, json_t *params,
    const char *account)
{
	struct schedule	*t;
	const char	*field = NULL;
	char		*reason = NULL;
	json_t		*est, *p;

	t = schedule_new();
	t->account = xstrdup(account);
	p = json_deep_copy(params);
	if (json_object_get(p, "name") == NULL)
		json_object_set_new(p, "name", json_string("estimate"));
	if (config_apply(t, p, 1, &field, &reason) == -1) {
		reply_invalid(req, field, reason);
		free(reason);
		json_decref(p);
		schedule_discard(t);
		return;
	}
	json_decref(p);
	t->id = xstrdup("(not created)");
	t->anchor_us = now_us() - now_us() % USEC_PER_SEC;
	t->last_fire = now_us();
	if ((est = schedule_estimate(t)) == NULL)
		reply_invalid(req, "operation", "the operation or its model "
		    "is not in the catalog");
	else
		reply_ok(req, est);
	schedule_discard(t);
}

/* ---- control operations ------------------------------------------------ */

static struct sched_op *
sched_op_new(struct reply *req, struct schedule *s, struct schedule *t,
    int kind)
{
	struct sched_op	*op;

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
static int
schedule_busy(struct reply *req, struct schedule *s)
{
	if (!s->busy)
		return (0);
	reply_fail(req, REPLY_CONFLICT, "another change to this schedule is "
	    "being recorded; try again", "id", "busy");
	return (1);
}

static void
sched_op_free(struct sched_op *op)
{
	if (op->s != NULL && op->req != NULL)
		op->s->busy = 0;
	if (op->s != NULL)
		actor_unref(&op->s->actor);
	if (op->t != NULL)
		schedule_discard(op->t);
	if (op->whsec != NULL)
		secret_free((unsigned char *)op->whsec, strlen(op->whsec));
	free(op->gen_ref);
	json_decref(op->answer);
	free(op);
}

static void
sched_op_fail(struct sched_op *op, const struct journal_result *res)
{
	if (res->status == JOURNAL_DUPLICATE)
		reply_fail(op->req, REPLY_CONFLICT, "already recorded", NULL,
		    NULL);
	else
		outcome_journal(op->req, res);
}

static void
schedule_created_cb(const struct journal_result *res, void *arg)
{
	struct sched_op	*op = arg;
	struct schedule	*t = op->t;
	json_t		*reply;

	if (res->status != JOURNAL_OK) {
		strmap_remove(&by_name, &t->name_node);
		schedule_drop_secret(op);
		sched_op_fail(op, res);
		sched_op_free(op);
		return;
	}
	op->t = NULL;
	schedule_register(t);
	schedule_arm(t, t->last_fire);
	log_info("msg=\"schedule created\" schedule=%s name=%s account=%s "
	    "trigger=%s", t->id, t->name, t->account,
	    trigger_names[t->trigger]);
	reply = schedule_to_json(t);
	if (op->whsec != NULL)
		json_object_set_new(reply, "webhook_secret",
		    json_string(op->whsec));
	reply_ok(op->req, reply);
	sched_op_free(op);
}

/* A secret generated for a schedule whose creation failed: remove it. */
static void
schedule_drop_secret(struct sched_op *op)
{
	char	*cause = NULL;

	if (op->whsec == NULL || op->t == NULL)
		return;
	if (secret_remove(engine->data_dir, op->t->id, &cause) == -1) {
		log_warnx("msg=\"secret not removed\" schedule=%s "
		    "error=\"%s\"", op->t->id, log_escape(cause));
		free(cause);
	}
}

/*
 * A "generated" webhook secret for T (its id is set): make it, keep its
 * whsec_ form in *WHSEC for the create answer, and refer to it.
 */
static int
schedule_make_secret(struct schedule *t, char **whsec, char **cause)
{
	unsigned char	*raw;
	char		 fp[65];

	if (secret_generate(engine->data_dir, t->id, whsec, cause) == -1)
		return (-1);
	raw = (unsigned char *)*whsec;
	secret_fingerprint(raw, strlen(*whsec), fp);
	log_info("msg=\"webhook secret generated\" schedule=%s "
	    "fingerprint=%.16s", t->id, fp);
	free(t->webhook_secret_ref);
	xasprintf(&t->webhook_secret_ref, "generated:%s", t->id);
	return (0);
}

/* schedule.create: validate, journal, then register and arm. */
void
schedule_ctl_create(struct reply *req, json_t *params, const char *account)
{
	struct schedule	*t;
	struct sched_op	*op;
	const char	*field = NULL;
	char		*reason = NULL, *whsec = NULL, id[32];
	int64_t		 now = now_us();

	if (by_id.nbuckets == 0) {
		strmap_init(&by_id);
		strmap_init(&by_name);
	}
	t = schedule_new();
	t->account = xstrdup(account);
	if (config_apply(t, params, 1, &field, &reason) == -1) {
		reply_invalid(req, field, reason);
		free(reason);
		schedule_discard(t);
		return;
	}
	if (schedule_cap_refused(req, t, params)) {
		schedule_discard(t);
		return;
	}
	xasprintf(&t->name_key, "%s/%s", t->account, t->name);
	if (strmap_insert(&by_name, &t->name_node, t->name_key) == -1) {
		reply_fail(req, REPLY_CONFLICT, "a schedule with this name "
		    "exists in this account", "name", "already exists");
		schedule_discard(t);
		return;
	}
	do
		random_id("s_", id, sizeof id);
	while (schedule_find(id) != NULL);
	t->id = xstrdup(id);
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
		strmap_remove(&by_name, &t->name_node);
		schedule_discard(t);
		return;
	}
	op = sched_op_new(req, NULL, t, OP_CREATE);
	op->whsec = whsec;
	journal_submit(engine->journal, schedule_record(t, "schedule.created"),
	    schedule_created_cb, op);
}

static void
schedule_changed_cb(const struct journal_result *res, void *arg)
{
	struct sched_op	*op = arg;
	struct schedule	*s = op->s, *t = op->t;

	if (res->status != JOURNAL_OK) {
		if (op->kind == OP_UPDATE && strcmp(s->name_key,
		    t->name_key) != 0)
			strmap_remove(&by_name, &t->name_node);
		sched_op_fail(op, res);
		sched_op_free(op);
		return;
	}
	schedule_set_state(s, t->state);
	if (op->kind == OP_UPDATE) {
		if (strcmp(s->name_key, t->name_key) != 0) {
			strmap_remove(&by_name, &s->name_node);
			strmap_remove(&by_name, &t->name_node);
			SWAP(s->name_key, t->name_key);
			strmap_insert(&by_name, &s->name_node, s->name_key);
		}
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
	    op->kind == OP_UPDATE ? "updated" : op->kind == OP_PAUSE ?
	    "paused" : "resumed", s->id, state_names[s->state]);
	reply_ok(op->req, schedule_to_json(s));
	sched_op_free(op);
}

/* schedule.update: the given fields change; the next fire is recomputed. */
void
schedule_ctl_update(struct reply *req, struct schedule *s, json_t *params)
{
	struct schedule	*t;
	struct jrec	*rec;
	const char	*field = NULL;
	char		*reason = NULL;
	int64_t		 now = now_us();

	if (schedule_busy(req, s))
		return;
	t = schedule_clone(s);
	if (config_apply(t, params, 0, &field, &reason) == -1) {
		reply_invalid(req, field, reason);
		free(reason);
		schedule_discard(t);
		return;
	}
	if (schedule_cap_refused(req, t, params)) {
		schedule_discard(t);
		return;
	}
	free(t->name_key);
	xasprintf(&t->name_key, "%s/%s", t->account, t->name);
	if (strcmp(t->name_key, s->name_key) != 0 &&
	    strmap_insert(&by_name, &t->name_node, t->name_key) == -1) {
		reply_fail(req, REPLY_CONFLICT, "a schedule with this name "
		    "exists in this account", "name", "already exists");
		schedule_discard(t);
		return;
	}
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
	    sched_op_new(req, s, t, OP_UPDATE));
}

/*
 * Pause or resume S with an optional note.  Pausing stops the timer now;
 * a paused schedule has no occurrences, and resuming starts from now.
 * Also used by dispatch.c to pause on budget_exceeded (REQ NULL).
 */
void
schedule_set_paused(struct reply *req, struct schedule *s, int pause,
    const char *reason, const char *note)
{
	struct schedule	*t;
	struct sched_op	*op;
	int64_t		 now = now_us();

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
	op = sched_op_new(req, s, t, pause ? OP_PAUSE : OP_RESUME);
	if (req == NULL) {
		/* Internal pause: take effect at once; the record follows. */
		schedule_set_state(s, t->state);
		SWAP(s->pause_reason, t->pause_reason);
		SWAP(s->pause_note, t->pause_note);
		s->updated_us = now;
		journal_submit(engine->journal, schedule_record(s,
		    "schedule.paused"), dispatch_log_cb, NULL);
		sched_op_free(op);
		return;
	}
	journal_submit(engine->journal, schedule_record(t, pause ?
	    "schedule.paused" : "schedule.resumed"), schedule_changed_cb, op);
}

static void
schedule_deleted_cb(const struct journal_result *res, void *arg)
{
	struct sched_op	*op = arg;
	struct schedule	*s = op->s;

	if (res->status != JOURNAL_OK) {
		schedule_state_write(s, op->t->state, 1);
		schedule_arm(s, now_us());
		sched_op_fail(op, res);
		sched_op_free(op);
		return;
	}
	schedule_unregister(s);
	/* Secrets the daemon generated for it go with it. */
	schedule_drop_generated(s->id, s->webhook_secret_ref, s->webhook_prev,
	    NULL);
	dispatch_cancel_pending(s, "schedule deleted");
	log_info("msg=\"schedule deleted\" schedule=%s", s->id);
	reply_ok(op->req, json_pack("{s:s, s:b}", "id", s->id, "deleted", 1));
	sched_op_free(op);
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
static void
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
	struct jrec	*rec;
	struct schedule	*t;

	if (schedule_busy(req, s))
		return;
	t = schedule_clone(s);
	timer_cancel(&s->timer);
	rec = jrec_create("schedule.deleted", s->account);
	jrec_failfast(rec);
	msgpack_pack_map(jrec_body(rec), 2);
	pack_kstr(jrec_body(rec), "id", s->id);
	pack_kstr(jrec_body(rec), "name", s->name);
	jrec_del(rec, "schedules", s->id, strlen(s->id));
	jrec_del(rec, "progress", s->id, strlen(s->id));
	schedule_prune_runs(s, rec, UINT64_MAX);
	/* No new fire may start while the record is on its way. */
	schedule_set_state(s, SCHEDULE_DELETED);
	journal_submit(engine->journal, rec, schedule_deleted_cb,
	    sched_op_new(req, s, t, OP_DELETE));
}

/* ---- loading ----------------------------------------------------------- */

struct load_ctx {
	struct schedule	**list;
	size_t		  n;
	size_t		  cap;
	size_t		  bad;
};

static int
schedule_row_cb(const struct journal_row *row, void *arg)
{
	struct load_ctx		*ctx = arg;
	msgpack_unpacked	 u;
	struct schedule		*s;
	char			*cause = NULL;

	if (unpack_buffer(row->val, row->vlen, &u) == -1) {
		ctx->bad++;
		return (0);
	}
	s = schedule_new();
	if (schedule_unpack(&u.data, s, &cause) == -1) {
		log_warnx("msg=\"schedule row not loaded\" key=\"%.*s\" "
		    "error=\"%s\"", (int)(row->klen > 64 ? 64 : row->klen),
		    (const char *)row->key, log_escape(cause));
		free(cause);
		schedule_discard(s);
		ctx->bad++;
	} else {
		if (ctx->n == ctx->cap) {
			ctx->cap = ctx->cap == 0 ? 1024 : ctx->cap * 2;
			ctx->list = xreallocarray(ctx->list, ctx->cap,
			    sizeof *ctx->list);
		}
		ctx->list[ctx->n++] = s;
	}
	msgpack_unpacked_destroy(&u);
	return (0);
}

static int
progress_row_cb(const struct journal_row *row, void *arg)
{
	msgpack_unpacked	 u;
	struct schedule		*s;
	char			*id;

	id = xstrndup(row->key, row->klen);
	s = schedule_find(id);
	free(id);
	if (s == NULL || unpack_buffer(row->val, row->vlen, &u) == -1)
		return (0);
	s->last_fire = unpack_int(&u.data, "last_fire_us", s->last_fire);
	s->fired_us = unpack_int(&u.data, "fired_us", s->fired_us);
	s->run_counter = (uint64_t)unpack_int(&u.data, "run_counter",
	    (int64_t)s->run_counter);
	s->month_key = (int32_t)unpack_int(&u.data, "month_key", s->month_key);
	s->month_spent = unpack_int(&u.data, "month_spent_micro",
	    s->month_spent);
	msgpack_unpacked_destroy(&u);
	return (0);
}

/* Start reading S's exec: webhook secrets now, so that the first delivery
 * after a start finds them read (secret.c reads them off the loop). */
static void
schedule_prefetch_secrets(const struct schedule *s)
{
	char	*cause = NULL;
	int	 i;

	if (s->webhook_secret_ref != NULL &&
	    secret_prepare(s->webhook_secret_ref, NULL, NULL, &cause) == -1) {
		free(cause);
		cause = NULL;
	}
	for (i = 0; s->webhook_prev != NULL && i < s->webhook_prev->n; i++) {
		if (secret_prepare(s->webhook_prev->v[i].ref, NULL, NULL,
		    &cause) == -1) {
			free(cause);
			cause = NULL;
		}
	}
}

/*
 * Recovery: load every schedule row, then settle the runs that were in
 * flight, then apply each schedule's catch-up policy to the instants it
 * missed while the daemon was down, and arm the timers.
 */
int
schedule_load_all(struct journal *j, char **cause)
{
	struct load_ctx	 ctx;
	struct schedule	*s;
	size_t		 i;
	int64_t		 now = now_us();

	memset(&ctx, 0, sizeof ctx);
	if (by_id.nbuckets == 0) {
		strmap_init(&by_id);
		strmap_init(&by_name);
	}
	if (journal_table_foreach(j, "schedules", NULL, 0, 0, schedule_row_cb,
	    &ctx) == -1) {
		*cause = xstrdup("cannot read the schedules table");
		free(ctx.list);
		return (-1);
	}
	for (i = 0; i < ctx.n; i++) {
		s = ctx.list[i];
		schedule_register(s);
		strmap_insert(&by_name, &s->name_node, s->name_key);
		schedule_prefetch_secrets(s);
	}
	free(ctx.list);
	if (journal_table_foreach(j, "progress", NULL, 0, 0, progress_row_cb,
	    NULL) == -1) {
		*cause = xstrdup("cannot read the progress table");
		return (-1);
	}
	batch_count_origins();
	if (dispatch_recover_runs(j, cause) == -1)
		return (-1);
	for (i = 0; i < by_id.nbuckets; i++) {
		struct strmap_node	*n;

		for (n = by_id.buckets[i]; n != NULL; n = n->next) {
			s = SCHED_OF(n, node);
			if (s->state == SCHEDULE_ACTIVE)
				dispatch_catchup(s, now);
		}
	}
	log_info("msg=\"schedules loaded\" schedules=%zu active=%zu paused=%zu "
	    "unreadable=%zu", nactive + npaused, nactive, npaused, ctx.bad);
	return (0);
}

/* Stop firing: timers of every schedule are cancelled (drain). */
static void
schedule_stop_node(struct strmap_node *n, void *arg)
{
	timer_cancel(&SCHED_OF(n, node)->timer);
}

void
schedule_drain(void)
{
	if (by_id.nbuckets != 0)
		strmap_foreach(&by_id, schedule_stop_node, NULL);
}

static void
schedule_free_node(struct strmap_node *n, void *arg)
{
	struct schedule	*s = SCHED_OF(n, node);

	timer_cancel(&s->timer);
	dispatch_forget_runs(s);
	actor_unref(&s->actor);
}

void
schedule_free_all(void)
{
	if (by_id.nbuckets == 0)
		return;
	strmap_foreach(&by_id, schedule_free_node, NULL);
	strmap_clear(&by_id);
	strmap_clear(&by_name);
	nactive = npaused = 0;
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

static int
list_cmp(const void *a, const void *b)
{
	const struct schedule	*x = *(struct schedule *const *)a;
	const struct schedule	*y = *(struct schedule *const *)b;

	return (list_cmp_key(x->account, x->name, y));
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
	if (f->after_name != NULL &&
	    list_cmp_key(f->after_account, f->after_name, s) >= 0)
		return (0);
	return (1);
}

static void
schedule_list_node(struct strmap_node *node, void *arg)
{
	struct list_ctx		*ctx = arg;
	struct schedule		*s = SCHED_OF(node, node);

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
 * for), by account then name in natural order, at most LIMIT of them, as
 * schedule objects.  When more follow, *NEXT is the cursor of the last one
 * ("ACCOUNT/NAME", allocated; else NULL): give it back as the filter's
 * after_account and after_name for the next page.
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
	if (by_id.nbuckets != 0)
		strmap_foreach(&by_id, schedule_list_node, &ctx);
	if (ctx.n > 0)
		qsort(ctx.v, ctx.n, sizeof *ctx.v, list_cmp);
	for (i = 0; i < ctx.n && i < limit; i++)
		json_array_append_new(a, schedule_to_json(ctx.v[i]));
	if (i < ctx.n && i > 0)
		xasprintf(next, "%s/%s", ctx.v[i - 1]->account,
		    ctx.v[i - 1]->name);
	free(ctx.v);
	return (a);
}

/* ---- webhook secrets ---------------------------------------------------- */

/* Does S (primary or previous) refer to REF? */
static int
schedule_has_secret(const struct schedule *s, const char *ref)
{
	int	i;

	if (s == NULL)
		return (0);
	if (s->webhook_secret_ref != NULL &&
	    strcmp(s->webhook_secret_ref, ref) == 0)
		return (1);
	for (i = 0; s->webhook_prev != NULL && i < s->webhook_prev->n; i++) {
		if (strcmp(s->webhook_prev->v[i].ref, ref) == 0)
			return (1);
	}
	return (0);
}

/* Remove generated secret REF unless NOW still refers to it. */
static void
schedule_drop_one(const char *id, const char *ref, const struct schedule *now)
{
	char	*cause = NULL;

	if (ref == NULL || strncmp(ref, "generated:", 10) != 0 ||
	    schedule_has_secret(now, ref))
		return;
	if (secret_remove(engine->data_dir, ref + 10, &cause) == -1) {
		log_warnx("msg=\"generated secret not removed\" schedule=%s "
		    "error=\"%s\"", id, log_escape(cause));
		free(cause);
	}
}

/* Remove the generated secrets among REF and OLDK (a schedule's secrets
 * before a change) that NOW (after it; NULL: deleted) no longer uses. */
static void
schedule_drop_generated(const char *id, const char *ref,
    const struct webhook_keyring *oldk, const struct schedule *now)
{
	int	i;

	schedule_drop_one(id, ref, now);
	for (i = 0; oldk != NULL && i < oldk->n; i++)
		schedule_drop_one(id, oldk->v[i].ref, now);
}

/* Drop T's previous secrets whose grace period ended by NOW; how many. */
static int
schedule_expired_out(struct schedule *t, int64_t now, json_t *gone)
{
	struct webhook_keyring	*k = t->webhook_prev;
	int			 i, j, n = 0;

	for (i = j = 0; k != NULL && i < k->n; i++) {
		if (k->v[i].expires_us > now) {
			k->v[j++] = k->v[i];
			continue;
		}
		if (gone != NULL)
			json_array_append_new(gone,
			    json_string(k->v[i].fingerprint));
		free(k->v[i].ref);
		n++;
	}
	if (k != NULL && (k->n = j) == 0) {
		webhook_keyring_free(k);
		t->webhook_prev = NULL;
	}
	return (n);
}

/* The new primary secret of a rotation: REF (checked and readable), or a
 * generated one (its whsec_ value in op->whsec).  Fills FP; 0, or -1 and
 * *field / *reason (allocated). */
static int
schedule_new_secret(struct sched_op *op, const char *ref, char fp[65],
    const char **field, char **reason)
{
	struct schedule	*t = op->t;
	char		 name[96];

	*field = "secret";
	if (ref != NULL && strcmp(ref, "generated") != 0) {
		if (strncmp(ref, "generated:", 10) == 0) {
			*reason = xstrdup("use \"generated\": the daemon names "
			    "generated secrets");
			return (-1);
		}
		if (secret_ref_check(ref, reason) == -1)
			return (-1);
		if (schedule_has_secret(op->s, ref)) {
			*reason = xstrdup("the schedule uses this reference "
			    "already; give another one, or none for a "
			    "generated secret");
			return (-1);
		}
		if (webhook_secret_fingerprint(ref, fp, reason) == -1)
			return (-1);
		free(t->webhook_secret_ref);
		t->webhook_secret_ref = xstrdup(ref);
		return (0);
	}
	snprintf(name, sizeof name, "%s.r%lld", t->id,
	    (long long)t->updated_us);
	if (secret_generate(engine->data_dir, name, &op->whsec, reason) == -1)
		return (-1);
	secret_fingerprint((unsigned char *)op->whsec, strlen(op->whsec), fp);
	free(t->webhook_secret_ref);
	xasprintf(&t->webhook_secret_ref, "generated:%s", name);
	op->gen_ref = xstrdup(t->webhook_secret_ref);
	return (0);
}

/* The "webhook.rotated" audit record: fingerprints, never secrets. */
static struct jrec *
schedule_rotated_record(struct sched_op *op, const char *oldfp,
    const char *newfp, int64_t grace, const char *why)
{
	const struct caller	*c = reply_caller(op->req);
	struct schedule		*t = op->t;
	struct jrec		*rec;
	msgpack_packer		*pk;

	rec = jrec_create("webhook.rotated", t->account);
	jrec_failfast(rec);
	pk = jrec_body(rec);
	msgpack_pack_map(pk, 10);
	pack_kstr(pk, "schedule", t->id);
	pack_kstr(pk, "old_fingerprint", oldfp);
	pack_kstr(pk, "new_fingerprint", newfp);
	pack_kstr(pk, "new_secret_ref", t->webhook_secret_ref);
	pack_kint(pk, "grace_s", grace / USEC_PER_SEC);
	pack_kint(pk, "old_expires_us", grace > 0 ? t->updated_us + grace : 0);
	pack_kstr(pk, "reason", why);
	pack_kint(pk, "by_uid", c != NULL ? (int64_t)c->uid : -1);
	pack_kint(pk, "by_pid", c != NULL ? (int64_t)c->pid : -1);
	pack_kstr(pk, "by_account", t->account);
	schedule_put_row(t, rec);
	return (rec);
}

static void
schedule_rotated_cb(const struct journal_result *res, void *arg)
{
	struct sched_op	*op = arg;
	struct schedule	*s = op->s, *t = op->t;

	if (res->status != JOURNAL_OK) {
		if (op->gen_ref != NULL)
			schedule_drop_one(t->id, op->gen_ref, NULL);
		sched_op_fail(op, res);
		sched_op_free(op);
		return;
	}
	SWAP(s->webhook_secret_ref, t->webhook_secret_ref);
	SWAP(s->webhook_prev, t->webhook_prev);
	s->updated_us = t->updated_us;
	/* T now holds the secrets before: drop what is no longer used. */
	schedule_drop_generated(s->id, t->webhook_secret_ref, t->webhook_prev,
	    s);
	schedule_watch_expiry(s);
	log_info("msg=\"webhook secret rotated\" schedule=%s "
	    "fingerprint=%s previous=%d", s->id, json_string_value(
	    json_object_get(op->answer, "fingerprint")), s->webhook_prev !=
	    NULL ? s->webhook_prev->n : 0);
	if (op->whsec != NULL)
		json_object_set_new(op->answer, "webhook_secret",
		    json_string(op->whsec));
	reply_ok(op->req, op->answer);
	op->answer = NULL;
	sched_op_free(op);
}

/*
 * webhook.rotate: a new primary secret ("secret": a reference, or none for
 * a generated one shown once); the previous stays valid for "grace"
 * (default 24 h; 0 ends it now); "reason" says why.  Journaled as
 * "webhook.rotated" with the SHA-256 fingerprints of old and new.
 */
void
schedule_ctl_rotate(struct reply *req, struct schedule *s, json_t *params)
{
	struct sched_op		*op;
	struct webhook_previous	*p;
	const char		*why = param_string(params, "reason");
	const char		*field = NULL;
	char			 oldfp[65], newfp[65], *reason = NULL;
	char			 when[40];
	int64_t			 grace = WEBHOOK_GRACE_DEFAULT, now = now_us();
	int			 have_old;

	if (s->webhook_secret_ref == NULL) {
		reply_fail(req, REPLY_CONFLICT, "the schedule takes no "
		    "webhooks", "id", "no webhook secret");
		return;
	}
	if (why == NULL || *why == '\0' || strlen(why) > 500) {
		reply_invalid(req, "reason", "required: why the secret "
		    "changes (at most 500 bytes)");
		return;
	}
	if (json_object_get(params, "grace") != NULL && (!param_duration(
	    params, "grace", &grace) || grace < 0 || grace > WEBHOOK_GRACE_MAX)) {
		reply_invalid(req, "grace", "must be a duration from 0 to "
		    "30d");
		return;
	}
	if (schedule_busy(req, s))
		return;
	op = sched_op_new(req, s, schedule_clone(s), OP_ROTATE);
	op->t->updated_us = now;
	schedule_expired_out(op->t, now, NULL);
	if (grace > 0 && op->t->webhook_prev != NULL &&
	    op->t->webhook_prev->n >= WEBHOOK_PREVIOUS_MAX) {
		reply_fail(req, REPLY_CONFLICT, "four previous secrets are in "
		    "their grace period already; rotate with --grace 0 or "
		    "once one has expired", "grace", "too many secrets");
		sched_op_free(op);
		return;
	}
	have_old = webhook_secret_fingerprint(s->webhook_secret_ref, oldfp,
	    &reason) == 0;
	if (!have_old) {
		log_warnx("msg=\"rotating an unreadable webhook secret\" "
		    "schedule=%s error=\"%s\"", s->id, log_escape(reason));
		free(reason);
		reason = NULL;
	}
	if (schedule_new_secret(op, param_string(params, "secret"), newfp,
	    &field, &reason) == -1) {
		reply_invalid(req, field, reason);
		free(reason);
		sched_op_free(op);
		return;
	}
	if (grace > 0) {
		if (op->t->webhook_prev == NULL)
			op->t->webhook_prev = xcalloc(1,
			    sizeof *op->t->webhook_prev);
		p = &op->t->webhook_prev->v[op->t->webhook_prev->n++];
		p->ref = xstrdup(s->webhook_secret_ref);
		snprintf(p->fingerprint, sizeof p->fingerprint, "%s",
		    have_old ? oldfp : "");
		p->rotated_us = now;
		p->expires_us = now + grace;
	}
	op->answer = json_pack("{s:s, s:s, s:s*, s:s*, s:s}", "id", s->id,
	    "fingerprint", newfp, "previous_fingerprint", have_old ? oldfp :
	    NULL, "previous_expires", grace > 0 ? fmt_rfc3339(now + grace,
	    when, sizeof when) : NULL, "secret_ref",
	    op->t->webhook_secret_ref);
	journal_submit(engine->journal, schedule_rotated_record(op,
	    have_old ? oldfp : NULL, newfp, grace, why), schedule_rotated_cb,
	    op);
}

static void
schedule_expired_cb(const struct journal_result *res, void *arg)
{
	struct sched_op	*op = arg;
	struct schedule	*s = op->s, *t = op->t;

	s->busy = 0;
	if (res->status != JOURNAL_OK) {
		log_warnx("msg=\"expired webhook secrets not recorded\" "
		    "schedule=%s error=\"%s\"", s->id, log_escape(res->error));
		webhook_expire_at(now_us() + 10 * USEC_PER_SEC);
		sched_op_free(op);
		return;
	}
	SWAP(s->webhook_prev, t->webhook_prev);
	schedule_drop_generated(s->id, NULL, t->webhook_prev, s);
	log_info("msg=\"webhook secrets expired\" schedule=%s", s->id);
	sched_op_free(op);
}

/* One schedule: end the previous secrets whose grace period is over, in a
 * "webhook.secret_expired" record. */
static void
schedule_expire_node(struct strmap_node *n, void *arg)
{
	struct schedule	*s = SCHED_OF(n, node);
	struct sched_op	*op;
	struct jrec	*rec;
	json_t		*gone;
	size_t		 i;
	int64_t		 now = *(int64_t *)arg;

	if (s->webhook_prev == NULL || s->state == SCHEDULE_DELETED)
		return;
	if (s->busy) {
		/* A change is on its way: look again in a second. */
		webhook_expire_at(now + USEC_PER_SEC);
		return;
	}
	op = sched_op_new(NULL, s, schedule_clone(s), OP_EXPIRE);
	gone = json_array();
	if (schedule_expired_out(op->t, now, gone) == 0) {
		json_decref(gone);
		schedule_watch_expiry(s);
		sched_op_free(op);
		return;
	}
	schedule_watch_expiry(op->t);
	s->busy = 1;
	rec = jrec_create("webhook.secret_expired", s->account);
	msgpack_pack_map(jrec_body(rec), 2);
	pack_kstr(jrec_body(rec), "schedule", s->id);
	pack_str(jrec_body(rec), "fingerprints");
	msgpack_pack_array(jrec_body(rec), json_array_size(gone));
	for (i = 0; i < json_array_size(gone); i++)
		pack_str(jrec_body(rec), json_string_value(json_array_get(gone,
		    i)));
	json_decref(gone);
	schedule_put_row(op->t, rec);
	journal_submit(engine->journal, rec, schedule_expired_cb, op);
}

/* End every previous webhook secret whose grace period is over by NOW
 * (verification ignores them already; this forgets them and removes the
 * generated ones).  Runs when the earliest grace period ends. */
void
schedule_expire_secrets(int64_t now)
{
	if (by_id.nbuckets != 0)
		strmap_foreach(&by_id, schedule_expire_node, &now);
}

/* Have the expiry timer cover S's previous secrets. */
static void
schedule_watch_expiry(const struct schedule *s)
{
	int	i;

	for (i = 0; s->webhook_prev != NULL && i < s->webhook_prev->n; i++)
		webhook_expire_at(s->webhook_prev->v[i].expires_us);
}
