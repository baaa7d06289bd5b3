/*
 * actors/budget.c: month-to-date spend and the account-level caps.
 *
 * For each account, and each (account, operation), in micro-dollars:
 * "actual", what the runs settled this month cost, and "reserved", the mid
 * estimates of the runs in flight.  Months are calendar months in the
 * account's time zone.  The actual figures are durable: budget_settle puts
 * the month's new total into the record that ends the run (table "spend",
 * keys "ACCOUNT/yyyymm" and "ACCOUNT/OPERATION/yyyymm"), so the spend and
 * the run's end are one transaction.  Reservations live in memory only: at
 * start they are zero, and the dispatcher reserves again for the runs it
 * recovers.
 *
 * Two caps are checked here: the account's monthly budget (account.c) and
 * the account's per-operation monthly budget (prefs.c).  A schedule's own
 * max_cost_month is the dispatcher's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

#define SPEND_KEY_MAX	200

#define SPEND_OF(n) \
	((struct spend *)((char *)(n) - offsetof(struct spend, node)))

/* The figures of an account (operation NULL) or of one operation. */
struct spend {
	struct strmap_node	 node;
	char			*key;		/* "ACCOUNT" or "ACCOUNT/OP" */
	char			*account;
	char			*operation;	/* NULL: the account's total */
	int32_t			 month;		/* yyyymm of actual; 0: none */
	int64_t			 actual;
	int32_t			 prev_month;	/* an earlier month, known */
	int64_t			 prev_actual;
	int64_t			 reserved;	/* runs in flight */
};

static struct strmap	spends;

static struct jrec_queue thresholds = STAILQ_HEAD_INITIALIZER(thresholds);

/* A threshold's notice (notice.c), told after its record is submitted. */
struct threshold_notice {
	STAILQ_ENTRY(threshold_notice)	 entry;
	char				*account;
	char				*cap;
	char				*owner;		/* or NULL */
	int				 percent;
	int64_t				 spent;
	int64_t				 limit;
	int32_t				 month;
};
STAILQ_HEAD(threshold_notices, threshold_notice);
static struct threshold_notices threshold_notices =
    STAILQ_HEAD_INITIALIZER(threshold_notices);
static const char *cap_account = "account_monthly_budget";
static const char *cap_operation = "operation_monthly_budget";
static const char *cap_schedule = "schedule_max_cost_month";

static struct spend	*spend_find(const char *, const char *, int);
static void		 spend_free(struct spend *);
static int64_t		 spend_actual(const struct spend *, int32_t);
static int		 spend_over(const struct spend *, int32_t, int64_t,
			     int64_t);
static void		 spend_reserve(struct spend *, int64_t);
static void		 spend_add(struct spend *, int32_t, int64_t, int64_t,
			     struct jrec *);
static void		 spend_load(struct spend *, int32_t, int64_t);
static int64_t		 spend_read(const struct spend *, int32_t);
static void		 spend_put(const struct spend *, int32_t, int64_t, int64_t,
			     struct jrec *);
static void		 spend_row_key(const struct spend *, int32_t, char *,
			     size_t);
static int		 spend_row_cb(const struct journal_row *, void *);
static int		 budget_percent(int64_t, int64_t, int64_t);
static int32_t		 month_of(const struct tz *, int64_t);
static char		*fmt_month(int32_t, char *, size_t);
static json_t		*cap_json(const char *, const char *, int32_t,
			     int64_t, int64_t, int64_t);
static void		 status_operations(const char *, int32_t, json_t *,
			     json_t *);

/* ---- figures ----------------------------------------------------------- */

/* The figures of ACCOUNT (OPERATION NULL) or of (ACCOUNT, OPERATION);
 * CREATE makes them if missing, else NULL. */
static struct spend *
spend_find(const char *account, const char *operation, int create)
{
	struct strmap_node	*n;
	struct spend		*s;
	char			 key[SPEND_KEY_MAX];
	int			 len;

	if (account == NULL)
		return (NULL);
	if (operation != NULL)
		len = snprintf(key, sizeof key, "%s/%s", account, operation);
	else
		len = snprintf(key, sizeof key, "%s", account);
	if (len < 0 || (size_t)len >= sizeof key)
		return (NULL);
	if (spends.nbuckets != 0 && (n = strmap_find(&spends, key)) != NULL)
		return (SPEND_OF(n));
	if (!create)
		return (NULL);
	s = xcalloc(1, sizeof *s);
	s->key = xstrdup(key);
	s->account = xstrdup(account);
	s->operation = operation != NULL ? xstrdup(operation) : NULL;
	strmap_insert(&spends, &s->node, s->key);
	return (s);
}

static void
spend_free(struct spend *s)
{
	free(s->key);
	free(s->account);
	free(s->operation);
	free(s);
}

/* What S's runs settled in MONTH cost, as far as memory knows. */
static int64_t
spend_actual(const struct spend *s, int32_t month)
{
	if (s == NULL)
		return (0);
	if (month == s->month)
		return (s->actual);
	if (month == s->prev_month)
		return (s->prev_actual);
	return (0);
}

/* Would MID more in MONTH take S past CAP?  Exactly CAP is within it. */
static int
spend_over(const struct spend *s, int32_t month, int64_t mid, int64_t cap)
{
	int64_t	used = 0;

	if (s != NULL)
		used = spend_actual(s, month) + s->reserved;
	return (used + (mid > 0 ? mid : 0) > cap);
}

static void
spend_reserve(struct spend *s, int64_t delta)
{
	if (s == NULL)
		return;
	s->reserved += delta;
	if (s->reserved < 0)
		s->reserved = 0;
}

/* Calendar month (yyyymm) of instant US in zone TZ. */
static int32_t
month_of(const struct tz *tz, int64_t us)
{
	struct civil	c;
	int64_t		sec = us / USEC_PER_SEC;

	if (us < 0 && us % USEC_PER_SEC != 0)
		sec--;
	tz_to_civil(tz, sec, &c);
	return ((int32_t)(c.year * 100 + c.month));
}

/* The calendar month (yyyymm) of instant US in ACCOUNT's zone. */
int32_t
budget_month(const char *account, int64_t us)
{
	return (month_of(account_tz(account), us));
}

static char *
fmt_month(int32_t month, char *buf, size_t len)
{
	snprintf(buf, len, "%04d-%02d", (int)(month / 100),
	    (int)(month % 100));
	return (buf);
}

/*
 * May a run of OPERATION in ACCOUNT with estimate MID start?  0 if the
 * month's actual + reserved + MID stays within the account's monthly
 * budget and within the operation's (from its preferences); else -1 and
 * *cap names the first cap it would pass ("account_monthly_budget" or
 * "operation_monthly_budget", static strings).  Reserves nothing.
 */
int
budget_check(const char *account, const char *operation, int64_t mid,
    const char **cap)
{
	const struct account	*a = account_find(account);
	const struct op_prefs	*p = prefs_lookup(account, operation);
	int32_t			 month;

	if ((a == NULL || a->monthly_budget <= 0) &&
	    (p == NULL || p->monthly_budget <= 0))
		return (0);
	month = budget_month(account, now_us());
	if (a != NULL && a->monthly_budget > 0 && spend_over(spend_find(
	    account, NULL, 0), month, mid, a->monthly_budget)) {
		*cap = cap_account;
		return (-1);
	}
	if (p != NULL && p->monthly_budget > 0 && spend_over(spend_find(
	    account, operation, 0), month, mid, p->monthly_budget)) {
		*cap = cap_operation;
		return (-1);
	}
	return (0);
}

/* A run of OPERATION in ACCOUNT with estimate MID is in flight. */
void
budget_reserve(const char *account, const char *operation, int64_t mid)
{
	if (mid <= 0)
		return;
	spend_reserve(spend_find(account, NULL, 1), mid);
	spend_reserve(spend_find(account, operation, 1), mid);
}

/* A run reserved with budget_reserve ended without a cost (never ran). */
void
budget_release(const char *account, const char *operation, int64_t mid)
{
	if (mid <= 0)
		return;
	spend_reserve(spend_find(account, NULL, 0), -mid);
	spend_reserve(spend_find(account, operation, 0), -mid);
}

/*
 * A run reserved with MID ended at WHEN_US having cost ACTUAL: release the
 * reservation, add ACTUAL to the month of WHEN_US (in the account's zone),
 * and put the month's new totals (account, and account + operation) into
 * REC, the record that ends the run.  REC NULL: memory only.
 */
void
budget_settle(const char *account, const char *operation, int64_t mid,
    int64_t actual, int64_t when_us, struct jrec *rec)
{
	const struct account	*a;
	const struct op_prefs	*p;
	struct spend		*sa, *so;
	int64_t			 before_a, before_o;
	int32_t			 month;

	budget_release(account, operation, mid);
	if (actual <= 0 || account == NULL || operation == NULL)
		return;
	month = budget_month(account, when_us);
	sa = spend_find(account, NULL, 1);
	so = spend_find(account, operation, 1);
	before_a = spend_actual(sa, month);
	before_o = spend_actual(so, month);
	spend_add(sa, month, actual, when_us, rec);
	spend_add(so, month, actual, when_us, rec);
	if ((a = account_find(account)) != NULL)
		budget_crossed(account, NULL, cap_account, a->monthly_budget,
		    month, before_a, spend_actual(sa, month));
	if ((p = prefs_lookup(account, operation)) != NULL)
		budget_crossed(account, operation, cap_operation,
		    p->monthly_budget, month, before_o, spend_actual(so, month));
}

/*
 * Spend under CAP (micro-dollars; 0: none) went from BEFORE to AFTER in
 * MONTH: when that passes 80 % or 100 % of the cap, journal a
 * "budget.threshold" event (account, operation or schedule, cap name,
 * percent, spent, cap, month), submitted by budget_thresholds_submit,
 * and log it.  OWNER names the operation for
 * an operation's cap, the schedule for its max_cost_month, else NULL.
 */
void
budget_crossed(const char *account, const char *owner, const char *cap_name,
    int64_t cap, int32_t month, int64_t before, int64_t after)
{
	int			 pct = budget_percent(cap, before, after);
	int			 is_op = strcmp(cap_name, cap_operation) == 0;
	const struct pack_pair	 v[] = {
		PACK_PAIR_STR("cap", cap_name),
		PACK_PAIR_STR("operation", is_op ? owner : NULL),
		PACK_PAIR_STR("schedule", !is_op ? owner : NULL),
		PACK_PAIR_INT("percent", pct),
		PACK_PAIR_INT("spent_micro", after),
		PACK_PAIR_INT("cap_micro", cap),
		PACK_PAIR_INT("month", month),
		PACK_PAIR_INT("format", 1),
	};
	struct jrec		*rec;
	struct threshold_notice	*tn;
	char			 b[2][32];

	if (pct == 0)
		return;
	log_info("msg=\"budget threshold\" account=%s cap=%s owner=%s "
	    "percent=%d spent_usd=%s cap_usd=%s", account, cap_name,
	    owner != NULL ? owner : "-", pct,
	    fmt_usd(after, b[0], sizeof b[0]), fmt_usd(cap, b[1], sizeof b[1]));
	rec = jrec_create("budget.threshold", account);
	PACK_MAP(jrec_body(rec), v);
	STAILQ_INSERT_TAIL(&thresholds, rec, entry);
	tn = xcalloc(1, sizeof *tn);
	tn->account = xstrdup(account);
	tn->cap = xstrdup(cap_name);
	tn->owner = owner != NULL ? xstrdup(owner) : NULL;
	tn->percent = pct;
	tn->spent = after;
	tn->limit = cap;
	tn->month = month;
	STAILQ_INSERT_TAIL(&threshold_notices, tn, entry);
}

/* The percent of CAP (80 or 100; 0 if none) that spend going from BEFORE
 * to AFTER passes; a CAP of 0 or less has none. */
static int
budget_percent(int64_t cap, int64_t before, int64_t after)
{
	static const int	levels[] = { 80, 100 };
	size_t			i;
	int			pct = 0;

	if (cap <= 0)
		return (0);
	for (i = 0; i < sizeof levels / sizeof levels[0]; i++) {
		if (before * 100 < cap * levels[i] &&
		    after * 100 >= cap * levels[i])
			pct = levels[i];
	}
	return (pct);
}

/* Journal the budget.threshold events budget_crossed made, after the
 * record of the run's end that crossed them. */
void
budget_thresholds_submit(void)
{
	struct jrec		*rec;
	struct threshold_notice	*tn;

	while ((rec = STAILQ_FIRST(&thresholds)) != NULL) {
		STAILQ_REMOVE_HEAD(&thresholds, entry);
		journal_submit(engine->journal, rec, journal_log_cb, NULL);
	}
	/* Their notices after them: never durable without the event. */
	while ((tn = STAILQ_FIRST(&threshold_notices)) != NULL) {
		STAILQ_REMOVE_HEAD(&threshold_notices, entry);
		notice_budget(tn->account, tn->cap, tn->owner, tn->percent,
		    tn->spent, tn->limit, tn->month);
		free(tn->account);
		free(tn->cap);
		free(tn->owner);
		free(tn);
	}
}

/*
 * Is MID, one run's estimate of OPERATION in ACCOUNT, more than one of the
 * account's caps on its own (so that every such run would be skipped)?
 * Then 1 with *cap (static name) and *limit; else 0.
 */
int
budget_single_run(const char *account, const char *operation, int64_t mid,
    const char **cap, int64_t *limit)
{
	const struct account	*a = account_find(account);
	const struct op_prefs	*p = prefs_lookup(account, operation);

	if (a != NULL && a->monthly_budget > 0 && mid > a->monthly_budget) {
		*cap = cap_account;
		*limit = a->monthly_budget;
		return (1);
	}
	if (p != NULL && p->monthly_budget > 0 && mid > p->monthly_budget) {
		*cap = cap_operation;
		*limit = p->monthly_budget;
		return (1);
	}
	return (0);
}

/*
 * Add ACTUAL to S's MONTH and put the new total into REC.  A later month
 * than S's makes it current; the month before stays known.  An older one
 * (a run that ended months ago: rare) is read from the table.
 */
static void
spend_add(struct spend *s, int32_t month, int64_t actual, int64_t when_us,
    struct jrec *rec)
{
	int64_t	total;

	if (s == NULL)
		return;
	if (month > s->month) {
		if (s->month != 0) {
			s->prev_month = s->month;
			s->prev_actual = s->actual;
		}
		s->month = month;
		s->actual = 0;
	}
	if (month == s->month)
		total = s->actual += actual;
	else if (month == s->prev_month)
		total = s->prev_actual += actual;
	else {
		total = spend_read(s, month) + actual;
		if (month > s->prev_month) {
			s->prev_month = month;
			s->prev_actual = total;
		}
	}
	spend_put(s, month, total, when_us, rec);
}

/* The figures of ACCOUNT (OPERATION NULL) or of one operation in the
 * month of NOW (the account's zone). */
void
budget_get(const char *account, const char *operation, int64_t now,
    struct budget_figures *f)
{
	const struct spend	*s = spend_find(account, operation, 0);

	f->month = budget_month(account, now);
	f->actual = spend_actual(s, f->month);
	f->reserved = s != NULL ? s->reserved : 0;
}

/* ---- metrics ----------------------------------------------------------- */

struct budget_emit {
	metrics_emit_fn	 emit;
	void		*arg;
};

static void
budget_emit_spend(struct strmap_node *n, void *arg)
{
	struct budget_emit	*e = arg;
	const struct spend	*s = SPEND_OF(n);
	const char		*values[2];

	values[0] = s->account;
	values[1] = s->operation != NULL ? s->operation : "";
	e->emit(e->arg, values, (double)spend_actual(s,
	    budget_month(s->account, now_us())) / 1e6);
}

/* The chime_spend_usd series: one per account and (account, operation)
 * that spent or reserved something since the daemon started. */
void
budget_metrics_spend(metrics_emit_fn emit, void *arg)
{
	struct budget_emit	e = { emit, arg };

	if (spends.nbuckets != 0)
		strmap_foreach(&spends, budget_emit_spend, &e);
}

/* One series of chime_budget_remaining_usd: CAP less what ACCOUNT's
 * OPERATION (NULL: the account) spent and reserved this month. */
static void
budget_emit_left(struct budget_emit *e, const char *account,
    const char *operation, int64_t cap)
{
	const struct spend	*s = spend_find(account, operation, 0);
	const char		*values[2];
	int64_t			 used = 0;

	if (s != NULL)
		used = money_add(spend_actual(s, budget_month(account,
		    now_us())), s->reserved);
	values[0] = account;
	values[1] = operation != NULL ? operation : "";
	e->emit(e->arg, values, (double)(cap - used) / 1e6);
}

static void
budget_emit_op(const struct op_prefs *p, void *arg)
{
	if (p->monthly_budget > 0)
		budget_emit_left(arg, p->account, p->operation,
		    p->monthly_budget);
}

static void
budget_emit_account(const struct account *a, void *arg)
{
	if (a->monthly_budget > 0)
		budget_emit_left(arg, a->name, NULL, a->monthly_budget);
	prefs_foreach(a->name, budget_emit_op, arg);
}

/* The chime_budget_remaining_usd series: every monthly budget set. */
void
budget_metrics_remaining(metrics_emit_fn emit, void *arg)
{
	struct budget_emit	e = { emit, arg };

	account_foreach(budget_emit_account, &e);
}

/* ---- rows -------------------------------------------------------------- */

static void
spend_row_key(const struct spend *s, int32_t month, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%d", s->key, (int)month);
}

/* The "spend" row (the daemon's and replay's): OPERATION NULL for the
 * account's own. */
void
budget_pack_spend(msgpack_packer *pk, const char *account,
    const char *operation, int32_t month, int64_t total, int64_t updated_us)
{
	const struct pack_pair	v[] = {
		PACK_PAIR_STR("account", account),
		PACK_PAIR_STR("operation", operation),
		PACK_PAIR_INT("month", month),
		PACK_PAIR_INT("actual_micro", total),
		PACK_PAIR_INT("updated_us", updated_us),
	};

	PACK_MAP(pk, v);
}

/* The month (yyyymm) of US in zone TZ (the daemon's and replay's). */
int32_t
budget_month_in(const struct tz *tz, int64_t us)
{
	return (month_of(tz, us));
}

/* Put S's total of MONTH, as of the run end at WHEN_US, into REC. */
static void
spend_put(const struct spend *s, int32_t month, int64_t total,
    int64_t when_us, struct jrec *rec)
{
	struct pack_buffer	pb;
	char			key[SPEND_KEY_MAX + 16];

	if (rec == NULL)
		return;
	spend_row_key(s, month, key, sizeof key);
	pack_buffer_init(&pb);
	budget_pack_spend(&pb.pk, s->account, s->operation, month, total,
	    when_us);
	jrec_put(rec, "spend", key, strlen(key), pb.sbuf.data, pb.sbuf.size);
	pack_buffer_clear(&pb);
}

/* The total of S's MONTH in the table (0 if none). */
static int64_t
spend_read(const struct spend *s, int32_t month)
{
	msgpack_unpacked	 u;
	char			 key[SPEND_KEY_MAX + 16];
	void			*val;
	size_t			 len;
	int64_t			 total = 0;

	if (engine == NULL || engine->journal == NULL)
		return (0);
	spend_row_key(s, month, key, sizeof key);
	if (journal_table_get(engine->journal, "spend", key, strlen(key), &val,
	    &len) == -1)
		return (0);
	if (unpack_buffer(val, len, &u) == 0) {
		total = unpack_int(&u.data, "actual_micro", 0);
		msgpack_unpacked_destroy(&u);
	}
	free(val);
	return (total);
}

/* A row of MONTH with ACTUAL read at start: keep the two latest months. */
static void
spend_load(struct spend *s, int32_t month, int64_t actual)
{
	if (month > s->month) {
		if (s->month != 0) {
			s->prev_month = s->month;
			s->prev_actual = s->actual;
		}
		s->month = month;
		s->actual = actual;
	} else if (month == s->month)
		s->actual = actual;
	else if (month >= s->prev_month) {
		s->prev_month = month;
		s->prev_actual = actual;
	}
}

static int
spend_row_cb(const struct journal_row *row, void *arg)
{
	msgpack_unpacked	 u;
	struct spend		*s;
	char			*account, *operation;
	int64_t			 month;
	size_t			*bad = arg;

	if (unpack_buffer(row->val, row->vlen, &u) == -1) {
		(*bad)++;
		return (0);
	}
	account = unpack_strdup(&u.data, "account");
	operation = unpack_strdup(&u.data, "operation");
	month = unpack_int(&u.data, "month", 0);
	if (account == NULL || month < 100001 || month > 999912 ||
	    (s = spend_find(account, operation, 1)) == NULL)
		(*bad)++;
	else
		spend_load(s, (int32_t)month, unpack_int(&u.data,
		    "actual_micro", 0));
	free(account);
	free(operation);
	msgpack_unpacked_destroy(&u);
	return (0);
}

/* Load the "spend" table; reservations start at zero. */
int
budget_load_all(struct journal *j, char **cause)
{
	size_t	bad = 0;

	budget_free_all();
	strmap_init(&spends);
	if (journal_table_foreach(j, "spend", NULL, 0, 0, spend_row_cb,
	    &bad) == -1) {
		*cause = xstrdup("cannot read the spend table");
		return (-1);
	}
	if (bad > 0)
		log_warnx("msg=\"unreadable spend rows skipped\" rows=%zu",
		    bad);
	return (0);
}

static void
spend_free_node(struct strmap_node *n, void *arg)
{
	spend_free(SPEND_OF(n));
}

void
budget_free_all(void)
{
	strmap_foreach(&spends, spend_free_node, NULL);
	strmap_clear(&spends);
}

/* ---- budget.status ----------------------------------------------------- */

/* One cap: KIND, NAME, its MONTH, the BUDGET and what is used of it. */
static json_t *
cap_json(const char *kind, const char *name, int32_t month, int64_t budget,
    int64_t spent, int64_t reserved)
{
	int64_t	left = budget - spent - reserved;
	char	b[40], s[40], r[40], l[40], m[16];

	return (json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
	    "kind", kind, "name", name, "month", fmt_month(month, m, sizeof m),
	    "budget_usd", fmt_usd(budget, b, sizeof b),
	    "spent_usd", fmt_usd(spent, s, sizeof s),
	    "reserved_usd", fmt_usd(reserved, r, sizeof r),
	    "left_usd", fmt_usd(left > 0 ? left : 0, l, sizeof l),
	    "exceeded", spent + reserved > budget));
}

struct status_ctx {
	const char		 *account;
	int32_t			  month;
	const struct op_prefs	**v;
	size_t			  n;
	struct spend		**sv;
	size_t			  sn;
};

static void
status_prefs_cb(const struct op_prefs *p, void *arg)
{
	struct status_ctx	*ctx = arg;

	if (p->monthly_budget <= 0)
		return;
	ctx->v = xreallocarray(ctx->v, ctx->n + 1, sizeof *ctx->v);
	ctx->v[ctx->n++] = p;
}

static void
status_spend_cb(struct strmap_node *n, void *arg)
{
	struct status_ctx	*ctx = arg;
	struct spend		*s = SPEND_OF(n);

	if (s->operation == NULL || strcmp(s->account, ctx->account) != 0 ||
	    (spend_actual(s, ctx->month) == 0 && s->reserved == 0))
		return;
	ctx->sv = xreallocarray(ctx->sv, ctx->sn + 1, sizeof *ctx->sv);
	ctx->sv[ctx->sn++] = s;
}

static int
status_cmp_prefs(const void *x, const void *y)
{
	return (strcmp((*(const struct op_prefs *const *)x)->operation,
	    (*(const struct op_prefs *const *)y)->operation));
}

static int
status_cmp_spend(const void *x, const void *y)
{
	return (strcmp((*(struct spend *const *)x)->operation,
	    (*(struct spend *const *)y)->operation));
}

/* Caps of ACCOUNT's operations into CAPS, spend by operation into OPS. */
static void
status_operations(const char *account, int32_t month, json_t *caps,
    json_t *ops)
{
	struct status_ctx	 ctx;
	struct budget_figures	 f;
	char			 s[40], r[40];
	size_t			 i;

	memset(&ctx, 0, sizeof ctx);
	ctx.account = account;
	ctx.month = month;
	prefs_foreach(account, status_prefs_cb, &ctx);
	if (ctx.n > 0)
		xqsort(ctx.v, ctx.n, sizeof *ctx.v, status_cmp_prefs);
	for (i = 0; i < ctx.n; i++) {
		budget_get(account, ctx.v[i]->operation, now_us(), &f);
		json_array_append_new(caps, cap_json(cap_operation,
		    ctx.v[i]->operation, f.month, ctx.v[i]->monthly_budget,
		    f.actual, f.reserved));
	}
	strmap_foreach(&spends, status_spend_cb, &ctx);
	if (ctx.sn > 0)
		xqsort(ctx.sv, ctx.sn, sizeof *ctx.sv, status_cmp_spend);
	for (i = 0; i < ctx.sn; i++) {
		json_array_append_new(ops, json_pack("{s:s, s:s, s:s}",
		    "operation", ctx.sv[i]->operation, "spent_usd",
		    fmt_usd(spend_actual(ctx.sv[i], month), s, sizeof s),
		    "reserved_usd", fmt_usd(ctx.sv[i]->reserved, r,
		    sizeof r)));
	}
	free(ctx.v);
	free(ctx.sv);
}

/*
 * A schedule's max_cost_month as a cap of budget.status (its month is in
 * its own zone).  The daemon lists an account's capped schedules (in the
 * order of schedule.list) and hands their caps to budget_status.
 */
json_t *
budget_schedule_cap(const struct schedule *s)
{
	json_t	*cap;
	int32_t	 month = month_of(s->tz, now_us());

	cap = cap_json(cap_schedule, s->name, month, s->max_cost_month,
	    s->month_key == month ? s->month_spent : 0, s->month_reserved);
	json_object_set_new(cap, "id", json_string(s->id));
	json_object_set_new(cap, "state", json_string(
	    s->state == SCHEDULE_PAUSED ? "paused" : "active"));
	return (cap);
}

/*
 * budget.status: ACCOUNT's month-to-date spend, and each cap that applies
 * in it (the account's monthly budget, each operation's, then SCHEDULES:
 * an array, stolen, of budget_schedule_cap's) with what is spent,
 * reserved and left.
 */
json_t *
budget_status(const char *account, json_t *schedules)
{
	const struct account	*a = account_find(account);
	struct budget_figures	 f;
	json_t			*j, *caps = json_array(), *ops = json_array();
	char			 s[40], r[40], m[16];

	budget_get(account, NULL, now_us(), &f);
	if (a != NULL && a->monthly_budget > 0)
		json_array_append_new(caps, cap_json(cap_account, account,
		    f.month, a->monthly_budget, f.actual, f.reserved));
	status_operations(account, f.month, caps, ops);
	json_array_extend(caps, schedules);
	json_decref(schedules);
	j = json_pack("{s:s, s:s, s:s, s:s, s:s}", "account", account,
	    "tz", tz_name(account_tz(account)), "month", fmt_month(f.month, m,
	    sizeof m), "spent_usd", fmt_usd(f.actual, s, sizeof s),
	    "reserved_usd", fmt_usd(f.reserved, r, sizeof r));
	json_object_set_new(j, "caps", caps);
	json_object_set_new(j, "operations", ops);
	return (j);
}
