/*
 * actors/schedule.c: schedules.  Each schedule is an actor with one timer
 * for its next fire; this file keeps the registry (by id, by account and
 * name), the life cycle and the one writer of a schedule's state, the
 * triggers' next fires and the arming of the timer, the "schedules" and
 * "progress" rows, the JSON view, and the loading at start.  What
 * schedule.create and schedule.update set is in schedule-config.c, the
 * control operations in schedule-ops.c, webhook secrets in
 * schedule-secrets.c; what happens at a fire (runs, overlap, budgets,
 * executors, catch-up) is in dispatch.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

static struct strmap	by_id;
static struct strmap	by_name;
static size_t		nactive;
static size_t		npaused;
static size_t		ncompleted;

static struct schedule *schedule_alloc(void);
static void	schedule_handle(struct actor *, struct msg *);
static void	schedule_free_actor(struct actor *);
static void	schedule_state_write(struct schedule *, enum schedule_state,
		    int);
static void	schedule_registry_init(void);
static int64_t	schedule_cap_reached(const struct schedule *, int64_t,
		    int64_t);

static void	schedule_capped(struct schedule *);
static void	progress_put(struct schedule *, struct jrec *, int);
static int	schedule_unpack_values(const msgpack_object **,
		    struct schedule *, char **);
struct row_rest;
static int	schedule_unpack_own(const msgpack_object **,
		    struct schedule *, struct row_rest *, char **);
static int	schedule_unpack_rest(struct schedule *, struct row_rest *,
		    char **);
static int	load_key_cmp(const char *, const void *, size_t);
static inline int row_key_eq(const char *, const char *, size_t);
static inline int row_next_scalar(struct unpack_cursor *,
		    msgpack_object *);
static void	progress_apply(struct schedule *, const msgpack_object **);

static const struct owner_type schedule_actor_type = {
	{ "schedule", schedule_handle, schedule_free_actor }, NULL
};

/* Schedules as the run life cycle reaches them. */
static const struct schedule_kind schedule_kind = {
	.lookup = schedule_find,
	.next_after = schedule_next_after,
	.arm = schedule_arm,
	.arm_next = schedule_arm_next,
	.complete = schedule_complete,
	.capped = schedule_capped,
	.put_progress = schedule_put_progress,
};

const char *const schedule_state_names[SCHEDULE_STATES] = {
	"active", "paused", "deleted", "completed"
};

#define SCHED_OF(n, field) \
	((struct schedule *)((char *)(n) - offsetof(struct schedule, field)))

/* ---- life cycle -------------------------------------------------------- */

/* A new schedule actor with the default configuration, in no registry
 * (one reference; schedule_free drops it). */
struct schedule *
schedule_create(void)
{
	dispatch_set_schedule_kind(&schedule_kind);
	return (schedule_create_shared());
}

/*
 * As schedule_create, on any thread while intern_share(1) holds (the zone
 * and parameters are interned): schedule.apply's workers.  The registry
 * tells the dispatcher how to reach schedules when it takes one.
 */
struct schedule *
schedule_create_shared(void)
{
	struct schedule	*s;

	s = schedule_alloc();
	schedule_config_init(&s->config);
	return (s);
}

/* As schedule_create, on any thread: no zone and no parameters yet. */
static struct schedule *
schedule_alloc(void)
{
	struct schedule	*s;

	s = xcalloc(1, sizeof *s);
	actor_init(&s->actor, &schedule_actor_type.actor);
	timer_init(&s->timer, &s->actor);
	TAILQ_INIT(&s->runs);
	schedule_config_defaults(&s->config);
	return (s);
}

/* "ACCOUNT/NAME" (the first ALEN bytes of ACCOUNT), allocated to its
 * size: a schedule's key in the registry by name. */
char *
schedule_name_key(const char *account, size_t alen, const char *name)
{
	size_t	 nlen = strlen(name);
	char	*k;

	k = xmalloc(alen + 1 + nlen + 1);
	memcpy(k, account, alen);
	k[alen] = '/';
	memcpy(k + alen + 1, name, nlen + 1);
	return (k);
}

/* S's id is the LEN bytes at ID: in S itself when they fit. */
void
schedule_set_id(struct schedule *s, const char *id, size_t len)
{
	if (s->id != s->id_buf)
		free(s->id);
	if (len < sizeof s->id_buf) {
		memcpy(s->id_buf, id, len);
		s->id_buf[len] = '\0';
		s->id = s->id_buf;
	} else
		s->id = xstrndup(id, len);
}

static void
schedule_free_fields(struct schedule *s)
{
	if (s->id != s->id_buf)
		free(s->id);
	intern_drop(s->account);
	free(s->name_key);
	free(s->pause_reason);
	free(s->pause_note);
	schedule_config_clear(&s->config);
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

/* Free a schedule that never became one of the registry (a copy, or one
 * not created). */
void
schedule_free(struct schedule *t)
{
	if (t == NULL)
		return;
	actor_unref(&t->actor);
}

/* A copy of S's configuration and progress, for a change to work on
 * (in no registry; schedule_free frees it). */
struct schedule *
schedule_clone(const struct schedule *s)
{
	struct schedule	*t;

	t = schedule_create();
	schedule_config_clear(&t->config);
	schedule_config_copy(&t->config, &s->config);
	schedule_set_id(t, s->id, strlen(s->id));
	t->account = intern(s->account);
	t->name_key = xstrdup(s->name_key);
	t->pause_reason = s->pause_reason != NULL ?
	    xstrdup(s->pause_reason) : NULL;
	t->pause_note = s->pause_note != NULL ? xstrdup(s->pause_note) : NULL;
	t->webhook_prev = webhook_keyring_copy(s->webhook_prev);
	t->month_spent = s->month_spent;
	t->month_key = s->month_key;
	t->created_us = s->created_us;
	t->updated_us = s->updated_us;
	t->last_fire = s->last_fire;
	t->fired_us = s->fired_us;
	t->run_counter = s->run_counter;
	schedule_set_state(t, s->state);
	return (t);
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
		    "(new)", schedule_state_names[s->state],
		    schedule_state_names[st]);
	log_trace(TRACE_SCHED, "msg=\"schedule state\" schedule=%s from=%s "
	    "to=%s", s->id != NULL ? s->id : "(new)",
	    schedule_state_names[s->state], schedule_state_names[st]);
	counted = s->id != NULL && by_id.nbuckets != 0 &&
	    strmap_find(&by_id, s->id) == &s->node;
	if (counted)
		schedule_count_state(s, -1);
	s->state = st;
	if (counted)
		schedule_count_state(s, 1);
}

/* A pause also cancels the runs claimed ahead of an instant not yet come
 * (dispatch_timer): the pause came before their instant. */
void
schedule_set_state(struct schedule *s, enum schedule_state st)
{
	schedule_state_write(s, st, 0);
	if (st == SCHEDULE_PAUSED && s->nruns > 0)
		dispatch_cancel_ahead(s);
}

/* S, "deleted" while its deletion's record was on its way, is ST again:
 * the record was not written. */
void
schedule_undelete(struct schedule *s, enum schedule_state st)
{
	schedule_state_write(s, st, 1);
}

static void
schedule_registry_init(void)
{
	dispatch_set_schedule_kind(&schedule_kind);
	if (by_id.nbuckets == 0) {
		strmap_init(&by_id);
		strmap_init(&by_name);
	}
}

/* Add S to the registry by id (its name is claimed already). */
void
schedule_register(struct schedule *s)
{
	schedule_registry_init();
	strmap_insert(&by_id, &s->node, s->id);
	schedule_count_state(s, 1);
}

/* Take S (deleted) out of the registry, by id and by name. */
void
schedule_unregister(struct schedule *s)
{
	strmap_remove(&by_id, &s->node);
	if (strmap_find(&by_name, s->name_key) == &s->name_node)
		strmap_remove(&by_name, &s->name_node);
	schedule_count_state(s, -1);
}

/* Claim S's name_key ("account/name") for S: -1 if another has it. */
int
schedule_claim_name(struct schedule *s)
{
	schedule_registry_init();
	return (strmap_insert(&by_name, &s->name_node, s->name_key));
}

/* Give up the name T claimed (a change that was not written). */
void
schedule_release_name(struct schedule *t)
{
	strmap_remove(&by_name, &t->name_node);
}

/* S takes the name T claimed (a rename written), and gives up its own. */
void
schedule_take_name(struct schedule *s, struct schedule *t)
{
	char	*swap;

	strmap_remove(&by_name, &s->name_node);
	strmap_remove(&by_name, &t->name_node);
	swap = s->name_key;
	s->name_key = t->name_key;
	t->name_key = swap;
	strmap_insert(&by_name, &s->name_node, s->name_key);
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

/* By name alone within ACCOUNT (never by id); deleted ones are not
 * found. */
struct schedule *
schedule_by_name(const char *account, const char *name)
{
	struct strmap_node	*n;
	struct schedule		*s;
	char			 nk[160];
	size_t			 a = strlen(account), l = strlen(name);

	if (by_name.nbuckets == 0 || a + l + 2 > sizeof nk)
		return (NULL);
	memcpy(nk, account, a);
	nk[a] = '/';
	memcpy(nk + a + 1, name, l + 1);
	if ((n = strmap_find(&by_name, nk)) == NULL)
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

struct foreach_ctx {
	const char	*account;
	void		 (*cb)(struct schedule *, void *);
	void		*arg;
};

static void
schedule_foreach_node(struct strmap_node *node, void *arg)
{
	struct foreach_ctx	*ctx = arg;
	struct schedule		*s = SCHED_OF(node, node);

	if (s->state == SCHEDULE_DELETED || (ctx->account != NULL &&
	    strcmp(s->account, ctx->account) != 0))
		return;
	ctx->cb(s, ctx->arg);
}

/*
 * Call CB(S, ARG) for each schedule S of ACCOUNT (NULL: of every
 * account) that is not deleted, in no particular order.  CB may change S
 * but neither adds to the registry nor takes from it.
 */
void
schedule_foreach(const char *account, void (*cb)(struct schedule *, void *),
    void *arg)
{
	struct foreach_ctx	ctx = { account, cb, arg };

	if (by_id.nbuckets != 0)
		strmap_foreach(&by_id, schedule_foreach_node, &ctx);
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

/* A run of S was skipped by a cap: S pauses until resumed. */
static void
schedule_capped(struct schedule *s)
{
	journal_group_begin(engine->journal);	/* the pause with its notice */
	schedule_set_paused(NULL, s, 1, "budget_exceeded", NULL);
	notice_schedule_paused(s->account, s->id, s->name, "budget_exceeded",
	    s->updated_us);
	journal_group_end(engine->journal);
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
	    "schedule.completed"), journal_log_cb, NULL);
}

/* Compute the next fire after AFTER and arm (or disarm) the timer. */
void
schedule_arm(struct schedule *s, int64_t after)
{
	struct cron_fire	f;

	schedule_arm_next(s, schedule_next_after(s, after, &f), &f);
}

/* Arm (or disarm) the timer for NEXT, the next fire (details *F) that
 * schedule_next_after found. */
void
schedule_arm_next(struct schedule *s, int64_t next, const struct cron_fire *f)
{
	s->next_fire = next;
	cron_fire_pack(f, &s->next);
	if (s->state != SCHEDULE_ACTIVE || s->next_fire == 0) {
		timer_cancel(&s->timer);
		return;
	}
	/* With --claim-ahead, a timed fire goes off that long before its
	 * instant to claim it (dispatch_timer); a batch template's fire is
	 * decided at its instant. */
	timer_set(&s->timer, s->batch_template == NULL ? s->next_fire -
	    engine->claim_ahead_us : s->next_fire, (uint64_t)s->next_fire);
}

/* ---- rows and views ---------------------------------------------------- */

/* The keys of a schedule row, in the order schedule_pack writes them. */
enum row_key {
	RK_ID, RK_NAME, RK_ACCOUNT, RK_OPERATION, RK_MODEL, RK_PARAMETERS,
	RK_TRIGGER, RK_SPEC, RK_TZ, RK_OVERLAP, RK_OVERLAP_LIMIT, RK_CATCHUP,
	RK_CATCHUP_WINDOW_US, RK_PRIORITY, RK_HISTORY, RK_MAX_COST_MONTH,
	RK_STATE, RK_PAUSE_REASON, RK_NOTE, RK_ANCHOR_US, RK_CREATED_US,
	RK_UPDATED_US, RK_LAST_FIRE_US, RK_RUN_COUNTER, RK_MONTH_KEY,
	RK_MONTH_SPENT, RK_BATCH_TEMPLATE, RK_WEBHOOK_SECRET_REF,
	RK_WEBHOOK_TOLERANCE_S, RK_WEBHOOK_STYLE, RK_WEBHOOK_PREVIOUS,
	RK_PAUSE_NOTE, RK_FIRED_US, RK_FORMAT,
	RK_DELIVER,	/* last: packed only when set */
	RK_MAX
};
static const char *const row_keys[RK_MAX] = {
	"id", "name", "account", "operation", "model", "parameters",
	"trigger", "spec", "tz", "overlap", "overlap_limit", "catchup",
	"catchup_window_us", "priority", "history", "max_cost_month_micro",
	"state", "pause_reason", "note", "anchor_us", "created_us",
	"updated_us", "last_fire_us", "run_counter", "month_key",
	"month_spent_micro", "batch_template", "webhook_secret_ref",
	"webhook_tolerance_s", "webhook_style", "webhook_previous",
	"pause_note", "fired_us", "format", "deliver"
};
#define ROW_FORMAT	1

/*
 * The integers of a row: where each is in struct schedule, and its width
 * (1 and 2: unsigned; 4 and 8: signed, run_counter's bits as they are).
 * A row without one leaves the value schedule_create gave.
 */
static const struct row_int {
	uint8_t	key;		/* enum row_key */
	uint8_t	size;
	size_t	off;
} row_ints[] = {
#define ROW_INT(k, f) { k, sizeof ((struct schedule *)0)->f, \
	    offsetof(struct schedule, f) }
	ROW_INT(RK_OVERLAP_LIMIT, overlap_limit),
	ROW_INT(RK_CATCHUP_WINDOW_US, catchup_window_us),
	ROW_INT(RK_PRIORITY, priority),
	ROW_INT(RK_HISTORY, history),
	ROW_INT(RK_MAX_COST_MONTH, max_cost_month),
	ROW_INT(RK_ANCHOR_US, anchor_us),
	ROW_INT(RK_CREATED_US, created_us),
	ROW_INT(RK_UPDATED_US, updated_us),
	ROW_INT(RK_LAST_FIRE_US, last_fire),
	ROW_INT(RK_RUN_COUNTER, run_counter),
	ROW_INT(RK_MONTH_KEY, month_key),
	ROW_INT(RK_MONTH_SPENT, month_spent),
	ROW_INT(RK_WEBHOOK_TOLERANCE_S, webhook_tolerance_s),
	ROW_INT(RK_FIRED_US, fired_us),
#undef ROW_INT
};

static int64_t
row_int_get(const struct schedule *s, const struct row_int *r)
{
	const char	*p = (const char *)s + r->off;
	uint16_t	 u16;
	int32_t		 i32;
	int64_t		 i64;

	switch (r->size) {
	case 1:
		return (*(const uint8_t *)p);
	case 2:
		memcpy(&u16, p, sizeof u16);
		return (u16);
	case 4:
		memcpy(&i32, p, sizeof i32);
		return (i32);
	default:
		memcpy(&i64, p, sizeof i64);
		return (i64);
	}
}

static void
row_int_set(struct schedule *s, const struct row_int *r, int64_t v)
{
	char		*p = (char *)s + r->off;
	uint16_t	 u16 = (uint16_t)v;
	int32_t		 i32 = (int32_t)v;

	switch (r->size) {
	case 1:
		*(uint8_t *)p = (uint8_t)v;
		break;
	case 2:
		memcpy(p, &u16, sizeof u16);
		break;
	case 4:
		memcpy(p, &i32, sizeof i32);
		break;
	default:
		memcpy(p, &v, sizeof v);
		break;
	}
}

/* The "schedules" table row (and the body of schedule.* records). */
static void
schedule_pack(const struct schedule *s, msgpack_packer *pk)
{
	struct pack_scratch	 prev;
	msgpack_packer		 ppk;
	size_t			 i;
#define ROW_STR(k, v)	[k] = PACK_PAIR_STR(row_keys[k], v)
	struct pack_pair	 v[RK_MAX] = {
		ROW_STR(RK_ID, s->id),
		ROW_STR(RK_NAME, s->name),
		ROW_STR(RK_ACCOUNT, s->account),
		ROW_STR(RK_OPERATION, s->operation),
		ROW_STR(RK_MODEL, s->model),
		[RK_PARAMETERS] = PACK_PAIR_JSON(row_keys[RK_PARAMETERS],
		    s->parameters),
		ROW_STR(RK_TRIGGER, schedule_trigger_names[s->trigger]),
		ROW_STR(RK_SPEC, s->trigger_text),
		ROW_STR(RK_TZ, tz_name(s->tz)),
		ROW_STR(RK_OVERLAP, schedule_overlap_names[s->overlap]),
		ROW_STR(RK_CATCHUP, schedule_catchup_names[s->catchup]),
		ROW_STR(RK_STATE, schedule_state_names[s->state]),
		ROW_STR(RK_PAUSE_REASON, s->pause_reason),
		ROW_STR(RK_NOTE, s->note),
		ROW_STR(RK_BATCH_TEMPLATE, s->batch_template),
		ROW_STR(RK_WEBHOOK_SECRET_REF, s->webhook_secret_ref),
		ROW_STR(RK_WEBHOOK_STYLE,
		    webhook_style_names[s->webhook_style]),
		ROW_STR(RK_PAUSE_NOTE, s->pause_note),
		[RK_FORMAT] = PACK_PAIR_INT(row_keys[RK_FORMAT], ROW_FORMAT),
		[RK_DELIVER] = PACK_PAIR_JSON(row_keys[RK_DELIVER],
		    s->deliver),
	};
#undef ROW_STR

	for (i = 0; i < sizeof row_ints / sizeof row_ints[0]; i++) {
		v[row_ints[i].key] = (struct pack_pair)PACK_PAIR_INT(
		    row_keys[row_ints[i].key], row_int_get(s, &row_ints[i]));
	}
	pack_scratch_init(&prev, &ppk);
	webhook_keyring_pack(s->webhook_prev, &ppk);
	v[RK_WEBHOOK_PREVIOUS] = (struct pack_pair)PACK_PAIR_RAW(
	    row_keys[RK_WEBHOOK_PREVIOUS], prev.data, prev.len);
	/* A schedule without delivery has no "deliver" key (rows and
	 * records as before it existed). */
	pack_map(pk, v, s->deliver != NULL ? RK_MAX : RK_DELIVER);
	pack_scratch_clear(&prev);
}

/*
 * The "progress" row: what runs change (last occurrence settled, run
 * counter, the month's spending), small so that run records do not rewrite
 * the whole schedule row.  At load it overrides the schedule row's copy.
 * Packed from its values here, for the daemon and for replay alike.
 */
void
schedule_pack_progress(msgpack_packer *pk, int64_t last_fire, int64_t fired,
    int64_t counter, int64_t month_key, int64_t month_spent)
{
	const struct pack_pair	 v[] = {
		PACK_PAIR_INT("last_fire_us", last_fire),
		PACK_PAIR_INT("fired_us", fired),
		PACK_PAIR_INT("run_counter", counter),
		PACK_PAIR_INT("month_key", month_key),
		PACK_PAIR_INT("month_spent_micro", month_spent),
	};

	PACK_MAP(pk, v);
}

/* Put S's "progress" row into REC; NOTE: also as the body's "progress"
 * (a body that is not S's own map, so that replay finds the row). */
static void
progress_put(struct schedule *s, struct jrec *rec, int note)
{
	struct pack_buffer	 pb;

	if (s->state == SCHEDULE_DELETED)
		return;
	pack_buffer_init(&pb);
	schedule_pack_progress(&pb.pk, s->last_fire, s->fired_us,
	    (int64_t)s->run_counter, s->month_key, s->month_spent);
	/* most records of S's runs leave it as it was (lazy) */
	jrec_put_lazy(rec, "progress", s->id, strlen(s->id), pb.sbuf.data,
	    pb.sbuf.size);
	if (note)
		jrec_body_add(rec, "progress", pb.sbuf.data, pb.sbuf.size);
	pack_buffer_clear(&pb);
}

/* Put S's "progress" row into REC, whose body is something else (it
 * carries the row as "progress"). */
void
schedule_put_progress(struct schedule *s, struct jrec *rec)
{
	progress_put(s, rec, 1);
}

/* Put S's row (and progress) in REC, whose body is something else (it
 * carries the row as "schedule_row"). */
void
schedule_put_row(struct schedule *s, struct jrec *rec)
{
	struct pack_buffer	pb;

	pack_buffer_init(&pb);
	schedule_pack(s, &pb.pk);
	jrec_put(rec, "schedules", s->id, strlen(s->id), pb.sbuf.data,
	    pb.sbuf.size);
	jrec_body_add(rec, "schedule_row", pb.sbuf.data, pb.sbuf.size);
	pack_buffer_clear(&pb);
	progress_put(s, rec, 0);
}

/*
 * S's row and progress row packed into ROWS, on any thread while nothing
 * changes S; schedule_rows_put then puts them in a record whose body holds
 * the rows of several schedules (schedule.applied).
 */
void
schedule_rows_pack(const struct schedule *s, struct schedule_rows *rows)
{
	struct pack_scratch	ps;
	msgpack_packer		pk;

	pack_scratch_init(&ps, &pk);
	schedule_pack(s, &pk);
	rows->row_len = ps.len;
	schedule_pack_progress(&pk, s->last_fire, s->fired_us,
	    (int64_t)s->run_counter, s->month_key, s->month_spent);
	rows->progress_len = ps.len - rows->row_len;
	rows->data = xmalloc(ps.len);
	memcpy(rows->data, ps.data, ps.len);
	pack_scratch_clear(&ps);
}

/* S's rows packed by schedule_rows_pack put in REC (its row and progress
 * row), the row also packed into REC's body, as an element of it. */
void
schedule_rows_put(const struct schedule *s, const struct schedule_rows *rows,
    struct jrec *rec)
{
	size_t	off;

	(void)jrec_body_since(rec, 0, &off);
	pack_raw(jrec_body(rec), rows->data, rows->row_len);
	jrec_put_body(rec, "schedules", s->id, strlen(s->id), off,
	    rows->row_len);
	if (s->state != SCHEDULE_DELETED)
		jrec_put(rec, "progress", s->id, strlen(s->id),
		    rows->data + rows->row_len, rows->progress_len);
}

void
schedule_rows_clear(struct schedule_rows *rows)
{
	free(rows->data);
	memset(rows, 0, sizeof *rows);
}

/* A record of KIND carrying S's row as body and as table row. */
struct jrec *
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
		jrec_put_body(rec, "schedules", s->id, strlen(s->id), 0,
		    pb.sbuf.size);
	pack_buffer_clear(&pb);
	progress_put(s, rec, 0);
	return (rec);
}


static char	*unpack_seen[RK_MAX];	/* unpack_val_intern's */

/*
 * The shared copy (intern.c) of string V, the value of row key K; NULL if
 * V is absent or not a string.  The copy of the row before is kept (with
 * a reference) for each key: rows in a row often share their account,
 * operation, parameters, and it is compared before the pool is searched.
 * unpack_intern_forget drops those at the end of the load.
 */
static char *
unpack_val_intern(const msgpack_object *v, int k)
{
	char	*p;

	if (v == NULL || v->type != MSGPACK_OBJECT_STR)
		return (NULL);
	if ((p = unpack_seen[k]) != NULL && strlen(p) == v->via.str.size &&
	    memcmp(p, v->via.str.ptr, v->via.str.size) == 0)
		return (intern_ref(p));
	p = intern_n(v->via.str.ptr, v->via.str.size);
	intern_drop(unpack_seen[k]);
	unpack_seen[k] = intern_ref(p);
	return (p);
}

static void
unpack_intern_forget(void)
{
	size_t	k;

	for (k = 0; k < RK_MAX; k++) {
		intern_drop(unpack_seen[k]);
		unpack_seen[k] = NULL;
	}
}

/* The index of string V among NAMES (N of them), or -1. */
static int
val_name_index(const msgpack_object *v, const char *const *names, int n)
{
	int	i;

	if (v == NULL || v->type != MSGPACK_OBJECT_STR)
		return (-1);
	for (i = 0; i < n; i++) {
		if (strlen(names[i]) == v->via.str.size &&
		    memcmp(names[i], v->via.str.ptr, v->via.str.size) == 0)
			return (i);
	}
	return (-1);
}

/* A name of NAMES (N of them) held in V, or DEF. */
static int
unpack_name(const msgpack_object *v, const char *const *names, int n,
    int def)
{
	int	i = val_name_index(v, names, n);

	return (i == -1 ? def : i);
}

#define ZONES_SEEN	16	/* unpack_zone's last zones */

/* The zone named by string V: one of the rows before when it has that
 * name (rows share a few zones), else tz_load's. */
static const struct tz *
unpack_zone(const msgpack_object *v, char **cause)
{
	static const struct tz	*seen[ZONES_SEEN];
	static size_t		 next;
	const struct tz		*tz;
	const char		*name;
	char			*zone;
	size_t			 i;

	for (i = 0; i < ZONES_SEEN && seen[i] != NULL &&
	    v->type == MSGPACK_OBJECT_STR && v->via.str.size > 0; i++) {
		name = tz_name(seen[i]);
		if (name[0] == v->via.str.ptr[0] &&
		    strlen(name) == v->via.str.size &&
		    memcmp(name, v->via.str.ptr, v->via.str.size) == 0)
			return (seen[i]);
	}
	zone = unpack_val_strdup(v);
	if ((tz = tz_load(zone, cause)) != NULL)
		seen[next++ % ZONES_SEEN] = tz;
	free(zone);
	return (tz);
}

/*
 * The values of a row's N keys KEYS (of lengths KLENS) without msgpack's
 * objects: each read from the bytes at BUF (LEN) into VALS, V pointing to
 * those found, as unpack_index leaves them (the last of two alike; with
 * FIRST, the first, as unpack_get).  -1 for a row of another shape (a
 * value that is no scalar, keys that are no strings, bytes that are no
 * msgpack): the caller decodes that one whole.
 */
static int
row_index(const void *buf, size_t len, const char *const *keys,
    const uint8_t *klens, size_t nkeys, int first, msgpack_object *vals,
    const msgpack_object **v)
{
	struct unpack_cursor	 c;
	msgpack_object		 other;
	const char		*k;
	uint32_t		 n, klen, i;
	size_t			 j, idx = 0, hint = 0;

	memset(v, 0, nkeys * sizeof *v);
	unpack_cursor_init(&c, buf, len);
	if (unpack_next_map(&c, &n) != 0)
		return (-1);
	for (i = 0; i < n; i++) {
		/* a key is a short string (fixstr) read here, else read
		 * by the cursor */
		if (c.p < c.end && (*c.p & 0xe0) == 0xa0 &&
		    (size_t)(c.end - c.p) > (size_t)(*c.p & 0x1f)) {
			klen = *c.p & 0x1f;
			k = (const char *)c.p + 1;
			c.p += 1 + klen;
		} else if (unpack_next_str(&c, &k, &klen) != 0)
			return (-1);
		for (j = 0; j < nkeys; j++) {
			idx = (hint + j) % nkeys;
			if (klens[idx] == klen && row_key_eq(keys[idx], k,
			    klen))
				break;
		}
		if (j < nkeys && first && v[idx] != NULL)
			j = nkeys;
		if (row_next_scalar(&c, j < nkeys ? &vals[idx] : &other) != 0)
			return (-1);
		if (j < nkeys) {
			v[idx] = &vals[idx];
			hint = idx + 1;
		}
	}
	return (c.err || c.p != c.end ? -1 : 0);
}

/*
 * unpack_next_scalar, the values a row holds most (a small or an
 * unsigned integer, a short string, nil) read here rather than by a call.
 */
static inline int
row_next_scalar(struct unpack_cursor *c, msgpack_object *o)
{
	const uint8_t	*p = c->p;
	size_t		 left = (size_t)(c->end - p), n, i;
	uint64_t	 v;
	uint8_t		 b;

	if (left == 0 || c->err)
		return (unpack_next_scalar(c, o));
	b = p[0];
	if (b <= 0x7f) {
		o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o->via.u64 = b;
		c->p = p + 1;
		return (0);
	}
	if ((b & 0xe0) == 0xa0 && left > (n = b & 0x1f)) {
		o->type = MSGPACK_OBJECT_STR;
		o->via.str.ptr = (const char *)p + 1;
		o->via.str.size = (uint32_t)n;
		c->p = p + 1 + n;
		return (0);
	}
	if (b == 0xc0) {
		o->type = MSGPACK_OBJECT_NIL;
		o->via.u64 = 0;
		c->p = p + 1;
		return (0);
	}
	if (b >= 0xcc && b <= 0xcf && left > (n = (size_t)1 << (b - 0xcc))) {
		for (v = 0, i = 1; i <= n; i++)
			v = v << 8 | p[i];
		o->type = MSGPACK_OBJECT_POSITIVE_INTEGER;
		o->via.u64 = v;
		c->p = p + 1 + n;
		return (0);
	}
	return (unpack_next_scalar(c, o));
}

/* Are the LEN bytes at A and B alike?  Keys are short: compared here,
 * eight bytes at a time, rather than by a call. */
static inline int
row_key_eq(const char *a, const char *b, size_t len)
{
	uint64_t	x, y;

	while (len >= 8) {
		memcpy(&x, a, 8);
		memcpy(&y, b, 8);
		if (x != y)
			return (0);
		a += 8;
		b += 8;
		len -= 8;
	}
	while (len > 0) {
		if (*a++ != *b++)
			return (0);
		len--;
	}
	return (1);
}

/* The lengths of N KEYS into KLENS, once (each shorter than 256). */
static const uint8_t *
row_key_lens(const char *const *keys, size_t n, uint8_t *klens)
{
	size_t	i;

	if (klens[0] == 0) {
		for (i = 0; i < n; i++)
			klens[i] = (uint8_t)strlen(keys[i]);
	}
	return (klens);
}

/*
 * What a row's decode leaves to the loop's thread: the values that become
 * shared copies (intern.c), the zone, the trigger's text and the state,
 * whose writers are the loop's.  The strings point into the row.
 */
struct row_rest {
	msgpack_object	 account;
	msgpack_object	 operation;
	msgpack_object	 model;
	msgpack_object	 parameters;
	msgpack_object	 tz;
	msgpack_object	 spec;		/* the trigger's text */
	int		 kind;		/* enum trigger_kind */
	int		 state;		/* enum schedule_state */
};

/* Read a row into S (as schedule_create made it); -1 and *cause if the
 * row lacks what a schedule needs. */
static int
schedule_unpack(const msgpack_object *o, struct schedule *s, char **cause)
{
	const msgpack_object	*v[RK_MAX];

	unpack_index(o, row_keys, RK_MAX, v);
	return (schedule_unpack_values(v, s, cause));
}

/* Read a row's values V (unpack_index, row_index) into S. */
static int
schedule_unpack_values(const msgpack_object **v, struct schedule *s,
    char **cause)
{
	struct row_rest	 r;
	int		 rc;

	rc = schedule_unpack_own(v, s, &r, cause);
	if (rc == 0)
		rc = schedule_unpack_rest(s, &r, cause);
	return (rc);
}

/* V, or a nil value in *O if V is absent. */
static void
row_rest_val(msgpack_object *o, const msgpack_object *v)
{
	if (v != NULL)
		*o = *v;
	else
		o->type = MSGPACK_OBJECT_NIL;
}

/*
 * The part of a row's decode into S that any thread may do: what S owns
 * alone (its strings, numbers, trigger's instants, "account/name").  What
 * is shared or registered is left in R for schedule_unpack_rest, R's
 * strings pointing into V's bytes.
 */
static int
schedule_unpack_own(const msgpack_object **v, struct schedule *s,
    struct row_rest *r, char **cause)
{
	const msgpack_object	*acct = v[RK_ACCOUNT], *sp = v[RK_SPEC];
	char			 buf[256], *spec;
	size_t			 i;
	int			 rc;

	memset(r, 0, sizeof *r);
	if (v[RK_ID] != NULL && v[RK_ID]->type == MSGPACK_OBJECT_STR)
		schedule_set_id(s, v[RK_ID]->via.str.ptr,
		    v[RK_ID]->via.str.size);
	s->name = unpack_val_strdup(v[RK_NAME]);
	if (s->id == NULL || s->name == NULL || acct == NULL ||
	    acct->type != MSGPACK_OBJECT_STR || v[RK_OPERATION] == NULL ||
	    v[RK_OPERATION]->type != MSGPACK_OBJECT_STR ||
	    v[RK_TRIGGER] == NULL || v[RK_TRIGGER]->type != MSGPACK_OBJECT_STR ||
	    sp == NULL || sp->type != MSGPACK_OBJECT_STR || v[RK_TZ] == NULL ||
	    v[RK_TZ]->type != MSGPACK_OBJECT_STR) {
		*cause = xstrdup("missing fields");
		return (-1);
	}
	if ((r->kind = val_name_index(v[RK_TRIGGER], schedule_trigger_names,
	    TRIGGER_KINDS)) == -1) {
		*cause = xstrdup("unknown trigger");
		return (-1);
	}
	/* the trigger's text, NUL-terminated to be read */
	if (sp->via.str.size < sizeof buf) {
		memcpy(buf, sp->via.str.ptr, sp->via.str.size);
		buf[sp->via.str.size] = '\0';
		spec = buf;
	} else
		spec = xstrndup(sp->via.str.ptr, sp->via.str.size);
	rc = schedule_config_when(&s->config, r->kind, spec, 1, cause);
	if (spec != buf)
		free(spec);
	if (rc == -1)
		return (-1);
	r->spec = *sp;
	row_rest_val(&r->account, acct);
	row_rest_val(&r->operation, v[RK_OPERATION]);
	row_rest_val(&r->model, v[RK_MODEL]);
	row_rest_val(&r->parameters, v[RK_PARAMETERS]);
	row_rest_val(&r->tz, v[RK_TZ]);
	s->note = unpack_val_strdup(v[RK_NOTE]);
	s->pause_reason = unpack_val_strdup(v[RK_PAUSE_REASON]);
	s->pause_note = unpack_val_strdup(v[RK_PAUSE_NOTE]);
	s->overlap = (uint8_t)unpack_name(v[RK_OVERLAP],
	    schedule_overlap_names, OVERLAP_KINDS, s->overlap);
	s->catchup = (uint8_t)unpack_name(v[RK_CATCHUP],
	    schedule_catchup_names, CATCHUP_KINDS, s->catchup);
	r->state = unpack_name(v[RK_STATE], schedule_state_names,
	    SCHEDULE_STATES, SCHEDULE_ACTIVE);
	for (i = 0; i < sizeof row_ints / sizeof row_ints[0]; i++)
		row_int_set(s, &row_ints[i], unpack_val_int(
		    v[row_ints[i].key], row_int_get(s, &row_ints[i])));
	s->batch_template = unpack_val_strdup(v[RK_BATCH_TEMPLATE]);
	s->deliver = unpack_val_strdup(v[RK_DELIVER]);
	s->webhook_secret_ref = unpack_val_strdup(v[RK_WEBHOOK_SECRET_REF]);
	s->webhook_style = (uint8_t)unpack_name(v[RK_WEBHOOK_STYLE],
	    webhook_style_names, WEBHOOK_NSTYLES, s->webhook_style);
	s->webhook_prev = webhook_keyring_unpack(v[RK_WEBHOOK_PREVIOUS]);
	s->name_key = schedule_name_key(acct->via.str.ptr, acct->via.str.size,
	    s->name);
	return (0);
}

/* The rest of a row's decode into S, on the loop's thread: shared copies,
 * the zone, the trigger's text, the state. */
static int
schedule_unpack_rest(struct schedule *s, struct row_rest *r, char **cause)
{
	s->account = unpack_val_intern(&r->account, RK_ACCOUNT);
	s->operation = unpack_val_intern(&r->operation, RK_OPERATION);
	s->model = unpack_val_intern(&r->model, RK_MODEL);
	intern_drop(s->parameters);
	s->parameters = r->parameters.type == MSGPACK_OBJECT_STR ?
	    unpack_val_intern(&r->parameters, RK_PARAMETERS) : intern("{}");
	if ((s->tz = unpack_zone(&r->tz, cause)) == NULL)
		return (-1);
	schedule_config_trigger_text(&s->config, r->kind, r->spec.via.str.ptr,
	    r->spec.via.str.size);
	switch (r->state) {
	case SCHEDULE_PAUSED:
		schedule_set_state(s, SCHEDULE_PAUSED);
		break;
	case SCHEDULE_COMPLETED:
		schedule_set_state(s, SCHEDULE_COMPLETED);
		break;
	default:
		break;
	}
	schedule_watch_expiry(s);
	return (0);
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
	char			 buf[40], local[40], *words;

	params = json_loads(s->parameters, 0, NULL);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s*, s:o, s:s, s:s, s:s, s:s, "
	    "s:i, s:s, s:I, s:i, s:i, s:s, s:s*, s:s*, s:I, s:i, s:b}",
	    "id", s->id, "name", s->name, "account", s->account,
	    "operation", s->operation, "model", s->model,
	    "parameters", params != NULL ? params : json_object(),
	    "trigger", schedule_trigger_names[s->trigger],
	    "spec", s->trigger_text, "tz", tz_name(s->tz),
	    "overlap", schedule_overlap_names[s->overlap],
	    "overlap_limit", s->overlap_limit,
	    "catchup", schedule_catchup_names[s->catchup],
	    "catchup_window_s", (json_int_t)(s->catchup_window_us /
	    USEC_PER_SEC), "priority", s->priority, "history", s->history,
	    "state", schedule_state_names[s->state],
	    "pause_reason", s->pause_reason,
	    "note", s->note, "run_counter", (json_int_t)s->run_counter,
	    "runs_in_flight", s->nruns, "wall_anchored",
	    (s->cron.flags & CRON_WALL) != 0 && s->trigger <= TRIGGER_MONTHLY);
	json_object_set_new(j, "trigger_words", json_string(words =
	    trigger_words(s->trigger, s->trigger_text, s->interval_us)));
	free(words);
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
	json_object_set_new(j, "deliver", s->deliver != NULL ?
	    json_loads(s->deliver, 0, NULL) : json_null());
	json_set_instant(j, "next_fire", s->state == SCHEDULE_ACTIVE ?
	    s->next_fire : 0);
	if (s->state == SCHEDULE_ACTIVE && s->next_fire > 0) {
		snprintf(local, sizeof local, "%04d-%02d-%02dT%02d:%02d:%02d",
		    (int)s->next.year, s->next.month, s->next.day,
		    s->next.hour, s->next.minute, s->next.second);
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

/* ---- loading ----------------------------------------------------------- */

struct load_ctx {
	struct schedule	**list;		/* in the table's order (by id) */
	size_t		  n;
	size_t		  cap;
	size_t		  bad;
	size_t		  cursor;	/* progress_row_finish's place in list */
	size_t		  strays;	/* rows whose id is not their key */
	struct ordered	 *rows;		/* rows being read */
	int		  threads;	/* working beside the loop's */
	int		  registering;	/* the registries being filled on
					   another thread */
};

/*
 * A schedules row on its way at start: decoded off the loop's thread as
 * far as it can be (schedule_row_work), then finished on it, in the
 * table's order (schedule_row_finish).
 */
struct row_ref {			/* a row, valid during the walk */
	const void	*key;
	const void	*val;
	size_t		 klen;
	size_t		 vlen;
};

struct load_slot {
	struct row_ref	 row;		/* first */
	struct schedule	*s;
	struct row_rest	 rest;
	char		*cause;
	int		 rc;		/* 0: decoded; -1: refused (cause);
					   1: of another shape, decoded whole
					   by schedule_row_finish */
};

static uint8_t	row_klens[RK_MAX];	/* row_keys' lengths */

#define LOAD_AHEAD	8	/* buckets read ahead of the inserts */

/* The walk's row into the next slot (each kind of slot begins with a
 * struct row_ref). */
static int
row_slot_cb(const struct journal_row *row, void *arg)
{
	struct load_ctx	*ctx = arg;
	struct row_ref	*ref = ordered_next(ctx->rows);

	ref->key = row->key;
	ref->klen = row->klen;
	ref->val = row->val;
	ref->vlen = row->vlen;
	return (0);
}

/* Any thread: what the row makes of a new schedule by itself. */
static void
schedule_row_work(void *slot, void *arg)
{
	struct load_slot	*ls = slot;
	msgpack_object		 vals[RK_MAX];
	const msgpack_object	*v[RK_MAX];

	ls->s = schedule_alloc();
	if (row_index(ls->row.val, ls->row.vlen, row_keys, row_klens, RK_MAX, 0,
	    vals, v) != 0)
		ls->rc = 1;
	else
		ls->rc = schedule_unpack_own(v, ls->s, &ls->rest, &ls->cause);
}

/* The loop's thread, in the table's order: the rest of the row, and the
 * schedule into the list. */
static void
schedule_row_finish(void *slot, void *arg)
{
	struct load_ctx		*ctx = arg;
	struct load_slot	*ls = slot;
	struct schedule		*s = ls->s;
	msgpack_unpacked	 u;

	if (ls->rc == 0)
		ls->rc = schedule_unpack_rest(s, &ls->rest, &ls->cause);
	else if (ls->rc == 1) {
		if (unpack_buffer(ls->row.val, ls->row.vlen, &u) == -1) {
			schedule_free(s);
			ctx->bad++;
			return;
		}
		ls->rc = schedule_unpack(&u.data, s, &ls->cause);
		msgpack_unpacked_destroy(&u);
	}
	if (ls->rc == -1) {
		log_warnx("msg=\"schedule row not loaded\" key=\"%.*s\" "
		    "error=\"%s\"", (int)(ls->row.klen > 64 ? 64 : ls->row.klen),
		    (const char *)ls->row.key, log_escape(ls->cause));
		free(ls->cause);
		schedule_free(s);
		ctx->bad++;
		return;
	}
	if (load_key_cmp(s->id, ls->row.key, ls->row.klen) != 0)
		ctx->strays++;
	if (ctx->n == ctx->cap) {
		ctx->cap = ctx->cap == 0 ? 1024 : ctx->cap * 2;
		ctx->list = xreallocarray(ctx->list, ctx->cap,
		    sizeof *ctx->list);
	}
	ctx->list[ctx->n++] = s;
}

/*
 * Any thread: the loaded schedules into both registries, counted by
 * state (nothing else touches those meanwhile).  Their ids are distinct
 * (no strays) and the registries were empty: no lookups.
 */
static void
schedule_register_work(void *slot, void *arg)
{
	struct load_ctx	*ctx = *(struct load_ctx **)slot;
	struct schedule	*s;
	size_t		 i;

	for (i = 0; i < ctx->n; i++) {
		if (i + 2 * LOAD_AHEAD < ctx->n) {
			s = ctx->list[i + 2 * LOAD_AHEAD];
			strmap_prefetch(&by_id, s->id, 0);
			strmap_prefetch(&by_name, s->name_key, 0);
		}
		if (i + LOAD_AHEAD < ctx->n)
			strmap_prefetch(&by_name,
			    ctx->list[i + LOAD_AHEAD]->name_key, 1);
		s = ctx->list[i];
		strmap_insert_new(&by_id, &s->node, s->id);
		schedule_count_state(s, 1);
		strmap_insert(&by_name, &s->name_node, s->name_key);
	}
}

/* The loaded schedules into both registries, one by one: a second row
 * with an id already loaded is dropped from the list. */
static void
schedule_register_list(struct load_ctx *ctx)
{
	struct schedule	*s;
	size_t		 i;

	for (i = 0; i < ctx->n; i++) {
		s = ctx->list[i];
		if (strmap_insert(&by_id, &s->node, s->id) == -1) {
			log_warnx("msg=\"schedule row not loaded\" "
			    "schedule=%s error=\"a second row with this id\"",
			    s->id);
			schedule_free(s);
			ctx->list[i] = NULL;
			ctx->bad++;
			continue;
		}
		schedule_count_state(s, 1);
		strmap_insert(&by_name, &s->name_node, s->name_key);
	}
}

/*
 * Is the schedule ID before (< 0), at (0) or after (> 0) the row key KEY
 * of KLEN bytes, in the tables' order (bytes, then the shorter first)?
 */
static int
load_key_cmp(const char *id, const void *key, size_t klen)
{
	size_t	len = strlen(id);
	int	c;

	if ((c = memcmp(id, key, len < klen ? len : klen)) != 0)
		return (c);
	return (len < klen ? -1 : len > klen);
}

/*
 * A "progress" row over its schedule's: read off the loop's thread
 * (progress_row_work), then put over the schedule on it, in the table's
 * order (progress_row_finish).  The progress table is keyed by id like
 * the schedules table, so its rows come in the order of the loaded list:
 * a cursor moves along it (no lookup by id); a row the cursor does not
 * find is looked up as before.
 */
#define PROGRESS_KEYS	5
static const char *const progress_keys[PROGRESS_KEYS] = { "last_fire_us",
    "fired_us", "run_counter", "month_key", "month_spent_micro" };
static uint8_t		 progress_klens[PROGRESS_KEYS];

struct progress_slot {
	struct row_ref	 row;		/* first */
	msgpack_object	 vals[PROGRESS_KEYS];	/* NIL: absent */
	int		 whole;		/* of another shape: read on the loop */
};

/* Any thread: the row's values. */
static void
progress_row_work(void *slot, void *arg)
{
	struct progress_slot	*ps = slot;
	const msgpack_object	*v[PROGRESS_KEYS];
	size_t			 i;

	if (row_index(ps->row.val, ps->row.vlen, progress_keys, progress_klens,
	    PROGRESS_KEYS, 1, ps->vals, v) != 0) {
		ps->whole = 1;
		return;
	}
	for (i = 0; i < PROGRESS_KEYS; i++) {
		if (v[i] == NULL)
			ps->vals[i].type = MSGPACK_OBJECT_NIL;
	}
}

/* The loop's thread, in the table's order: the values over the
 * schedule's. */
static void
progress_row_finish(void *slot, void *arg)
{
	struct load_ctx		*ctx = arg;
	struct progress_slot	*ps = slot;
	msgpack_unpacked	 u;
	const msgpack_object	*v[PROGRESS_KEYS];
	struct schedule		*s = NULL;
	char			*id;
	int			 c = 1;
	size_t			 i;

	while (ctx->cursor < ctx->n && (ctx->list[ctx->cursor] == NULL ||
	    (c = load_key_cmp(ctx->list[ctx->cursor]->id, ps->row.key,
	    ps->row.klen)) < 0))
		ctx->cursor++;
	if (ctx->cursor < ctx->n && c == 0)
		s = ctx->list[ctx->cursor];
	else if (ctx->registering)
		return;		/* ids are keys: no schedule has this one */
	else {
		id = xstrndup(ps->row.key, ps->row.klen);
		s = schedule_find(id);
		free(id);
	}
	if (s == NULL)
		return;
	if (ps->whole) {
		if (unpack_buffer(ps->row.val, ps->row.vlen, &u) == -1)
			return;
		for (i = 0; i < PROGRESS_KEYS; i++)
			v[i] = unpack_get(&u.data, progress_keys[i]);
		progress_apply(s, v);
		msgpack_unpacked_destroy(&u);
		return;
	}
	for (i = 0; i < PROGRESS_KEYS; i++)
		v[i] = ps->vals[i].type != MSGPACK_OBJECT_NIL ? &ps->vals[i] :
		    NULL;
	progress_apply(s, v);
}

/*
 * The catch-up at start: each active schedule's first occurrence after
 * its last settled one found off the loop's thread (a pure walk of its
 * trigger), then the policy applied on it, in the list's order.
 */
struct catchup_slot {
	struct schedule		*s;
	int64_t			 t;
	struct cron_fire	 f;
};

static void
catchup_work(void *slot, void *arg)
{
	struct catchup_slot	*cs = slot;

	cs->t = schedule_next_after(cs->s, cs->s->last_fire, &cs->f);
}

static void
catchup_finish(void *slot, void *arg)
{
	struct catchup_slot	*cs = slot;
	int64_t			 now = *(int64_t *)arg;

	if (cs->s->state == SCHEDULE_ACTIVE)
		dispatch_catchup_from(cs->s, now, cs->t, &cs->f);
}

/* The walk is over (its rows still valid): every row read and applied. */
static void
rows_end(void *arg)
{
	struct load_ctx	*ctx = arg;

	if (ctx->rows == NULL)
		return;
	ctx->threads = ordered_threads(ctx->rows);
	ordered_end(ctx->rows);
	ctx->rows = NULL;
}

/* A progress row's values V (last_fire_us, fired_us, run_counter,
 * month_key, month_spent_micro) over S's. */
static void
progress_apply(struct schedule *s, const msgpack_object **v)
{
	s->last_fire = unpack_val_int(v[0], s->last_fire);
	s->fired_us = unpack_val_int(v[1], s->fired_us);
	s->run_counter = (uint64_t)unpack_val_int(v[2],
	    (int64_t)s->run_counter);
	s->month_key = (int32_t)unpack_val_int(v[3], s->month_key);
	s->month_spent = unpack_val_int(v[4], s->month_spent);
}

/* Start reading S's exec: webhook secrets now, so that the first delivery
 * after a start finds them read (secret.c reads them off the loop). */
/*
 * Recovery: load every schedule row, then settle the runs that were in
 * flight, then apply each schedule's catch-up policy to the instants it
 * missed while the daemon was down, and arm the timers.
 */
int
schedule_load_all(struct journal *j, char **cause)
{
	struct load_ctx	 ctx;
	struct ordered	*reg, *catchup;
	struct schedule	*s;
	size_t		 i;
	int64_t		 now = now_us(), t0 = now, t1, t2, t3, tr, tw;
	int		 rc;

	memset(&ctx, 0, sizeof ctx);
	schedule_registry_init();
	row_key_lens(row_keys, RK_MAX, row_klens);
	ctx.rows = ordered_start(sizeof(struct load_slot), schedule_row_work,
	    schedule_row_finish, &ctx, -1);
	rc = journal_table_foreach_end(j, "schedules", row_slot_cb,
	    rows_end, &ctx);
	unpack_intern_forget();
	if (rc == -1) {
		*cause = xstrdup("cannot read the schedules table");
		free(ctx.list);
		return (-1);
	}
	t1 = now_us();
	strmap_reserve(&by_id, by_id.count + ctx.n);
	strmap_reserve(&by_name, by_name.count + ctx.n);
	/*
	 * The table's keys are distinct: so are the ids, if each row's id
	 * is its key.  Then both registries are filled on another core
	 * while this one reads the progress rows, which find their
	 * schedules in the list, not in the registry.
	 */
	reg = NULL;
	if (ctx.strays == 0 && by_id.count == 0) {
		ctx.registering = 1;
		reg = ordered_start(sizeof(struct load_ctx *),
		    schedule_register_work, NULL, NULL, -1);
		*(struct load_ctx **)ordered_next(reg) = &ctx;
		ordered_flush(reg);
	} else
		schedule_register_list(&ctx);
	tr = now_us();
	row_key_lens(progress_keys, PROGRESS_KEYS, progress_klens);
	ctx.rows = ordered_start(sizeof(struct progress_slot),
	    progress_row_work, progress_row_finish, &ctx, -1);
	rc = journal_table_foreach_end(j, "progress", row_slot_cb, rows_end,
	    &ctx);
	tw = now_us();
	if (reg != NULL) {
		ordered_end(reg);
		ctx.registering = 0;
	}
	if (rc == -1) {
		*cause = xstrdup("cannot read the progress table");
		free(ctx.list);
		return (-1);
	}
	t2 = now_us();
	dispatch_count_owners();
	if (dispatch_recover_runs(j, cause) == -1) {
		free(ctx.list);
		return (-1);
	}
	t3 = now_us();
	/* in the list's order, which is (mostly) the order in memory */
	catchup = ordered_start(sizeof(struct catchup_slot), catchup_work,
	    catchup_finish, &now, -1);
	for (i = 0; i < ctx.n; i++) {
		if ((s = ctx.list[i]) == NULL)
			continue;
		schedule_prefetch_secrets(s);
		if (s->state == SCHEDULE_ACTIVE)
			((struct catchup_slot *)ordered_next(catchup))->s = s;
	}
	ordered_end(catchup);
	free(ctx.list);
	log_info("msg=\"schedules loaded\" schedules=%zu active=%zu paused=%zu "
	    "unreadable=%zu rows_ms=%lld register_ms=%lld progress_ms=%lld "
	    "recover_ms=%lld catchup_ms=%lld threads=%d", nactive + npaused,
	    nactive, npaused, ctx.bad, (long long)(t1 - t0) / 1000,
	    (long long)((tr - t1) + (t2 - tw)) / 1000,
	    (long long)(tw - tr) / 1000, (long long)(t3 - t2) / 1000,
	    (long long)(now_us() - t3) / 1000, ctx.threads + 1);
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
	schedule_secrets_stop();
	if (by_id.nbuckets == 0)
		return;
	strmap_foreach(&by_id, schedule_free_node, NULL);
	strmap_clear(&by_id);
	strmap_clear(&by_name);
	nactive = npaused = 0;
}

