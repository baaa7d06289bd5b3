/*
 * actors/analytics.c: the aggregates the analytics read (table
 * "analytics", doc/journal-format.md): runs by final status, skips by
 * reason, cost, estimates against actuals, tokens, latency with a
 * log-scale histogram.  Each run's end adds to five rows: its day's, its
 * dekad's and its month's under its operation, model and schedule, and
 * the account's totals of the day and of the month, so that a query reads
 * a period's whole months and dekads as one row each and its days only at
 * the edges.
 *
 * A run's end adds its contribution (a delta, from the run map its record
 * carries) to each row in the record's own transaction, through a journal
 * merge (jrec_merge: the writer reads the row as the transaction left it,
 * so two runs ending in one commit both count).  The day is the run's
 * finished instant (else its nominal one) in the account's zone.  Replay
 * adds the same deltas from the same record: analytics_deltas and
 * analytics_merge are pure and shared by both.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

/* The final statuses a row counts, in its "runs" map. */
static const char *const analytics_statuses[ANALYTICS_STATUSES] = {
	"success", "failed", "cancelled", "interrupted", "skipped", "missed"
};

/* A row's fields, in the order analytics_row_pack writes them. */
enum {
	AR_ACCOUNT, AR_OPERATION, AR_MODEL, AR_SCHEDULE, AR_DAY, AR_RUNS,
	AR_SKIPPED, AR_COST, AR_COSTED, AR_MID, AR_ESTIMATED, AR_WITHIN,
	AR_ERROR_SUM, AR_ERROR_HIST, AR_IN, AR_OUT, AR_LATENCY_SUM, AR_TIMED,
	AR_LATENCY_HIST, AR_FIELDS
};
#define AR_FIELD(s)	{ s, sizeof(s) - 1 }
static const struct {
	const char	*name;
	size_t		 len;
} analytics_fields[AR_FIELDS] = {
	AR_FIELD("account"), AR_FIELD("operation"), AR_FIELD("model"),
	AR_FIELD("schedule"), AR_FIELD("day"), AR_FIELD("runs"),
	AR_FIELD("skipped"), AR_FIELD("cost_micro"), AR_FIELD("costed"),
	AR_FIELD("estimate_mid_micro"), AR_FIELD("estimated"),
	AR_FIELD("within"), AR_FIELD("error_ppm_sum"), AR_FIELD("error_hist"),
	AR_FIELD("input_tokens"), AR_FIELD("output_tokens"),
	AR_FIELD("latency_us_sum"), AR_FIELD("timed"), AR_FIELD("latency_hist")
};

/*
 * A row, decoded.  Its strings point into STRS, which the row owns and
 * reuses from one read to the next (a walk reads thousands of rows
 * without allocating); analytics_row_free releases it.
 */
struct analytics_row {
	const char	*account;
	const char	*operation;		/* NULL: an account's total */
	const char	*model;			/* NULL: none chosen */
	const char	*schedule;		/* or batch */
	int64_t		 day;			/* yyyymmdd; yyyymm00 a month */
	int64_t		 runs[ANALYTICS_STATUSES];
	const char	*reason[ANALYTICS_REASONS];	/* skips by reason */
	int64_t		 reason_n[ANALYTICS_REASONS];
	size_t		 nreasons;
	int64_t		 cost_micro;		/* of the runs with a cost */
	int64_t		 costed;
	int64_t		 estimate_mid_micro;	/* of the runs estimated
						   and costed */
	int64_t		 estimated;
	int64_t		 within;		/* low <= cost <= high */
	int64_t		 error_ppm_sum;		/* |cost - mid| / cost */
	int64_t		 error_hist[ANALYTICS_ERROR_BUCKETS];
	int64_t		 input_tokens;
	int64_t		 output_tokens;
	int64_t		 latency_us_sum;
	int64_t		 timed;
	int64_t		 latency_hist[ANALYTICS_LATENCY_BUCKETS];

	char		*strs;
	size_t		 strs_len;
	size_t		 strs_cap;
};

/* The upper bounds (exclusive) of the error buckets, in ppm; the last
 * bucket is everything above. */
static const int64_t analytics_error_bounds[ANALYTICS_ERROR_BUCKETS - 1] = {
	50000, 100000, 200000, 350000, 500000, 1000000
};

static void	 analytics_row_reset(struct analytics_row *, size_t);
static void	 analytics_row_free(struct analytics_row *);
static const char *analytics_row_strn(struct analytics_row *,
		     const char *, size_t);
static const char *analytics_row_cstr(struct analytics_row *,
		     const char *);
static int	 analytics_row_parse(const void *, size_t, size_t,
		     struct analytics_row *);
static int	 analytics_key_level(const char *, size_t, int64_t *);
static void	 analytics_row_pack(msgpack_packer *,
		     const struct analytics_row *);
static void	 analytics_row_add(struct analytics_row *,
		     const struct analytics_row *);
static void	 analytics_pack_ints(msgpack_packer *, const char *,
		     const int64_t *, size_t);

int
analytics_latency_bucket(int64_t us)
{
	int	b = 0;
	int64_t	ms = us / USEC_PER_MSEC;

	/* bucket k: below 2^k ms (bucket 0: below 1 ms) */
	while (b < ANALYTICS_LATENCY_BUCKETS - 1 && ms >= ((int64_t)1 << b))
		b++;
	return (b);
}

int
analytics_error_bucket(int64_t ppm)
{
	int	b;

	for (b = 0; b < ANALYTICS_ERROR_BUCKETS - 1; b++) {
		if (ppm < analytics_error_bounds[b])
			break;
	}
	return (b);
}

/* Empty R for a read of at most N bytes of msgpack: their strings fit
 * in STRS (a string takes at least one byte more in msgpack than here,
 * its NUL), so no pointer handed out moves until the next reset. */
static void
analytics_row_reset(struct analytics_row *r, size_t n)
{
	char	*strs = r->strs;
	size_t	 cap = r->strs_cap;

	memset(r, 0, sizeof *r);
	if (cap < n + 16) {	/* and room for "other" */
		free(strs);
		cap = n + 64;
		strs = xmalloc(cap);
	}
	r->strs = strs;
	r->strs_cap = cap;
}

static void
analytics_row_free(struct analytics_row *r)
{
	free(r->strs);
	memset(r, 0, sizeof *r);
}

/* The LEN bytes at S copied into R's strings, NUL-terminated. */
static const char *
analytics_row_strn(struct analytics_row *r, const char *s, size_t len)
{
	char	*d;

	if (r->strs_len + len + 1 > r->strs_cap)
		return (NULL);	/* not reached: room was reserved */
	d = r->strs + r->strs_len;
	memcpy(d, s, len);
	d[len] = '\0';
	r->strs_len += len + 1;
	return (d);
}

/* C string S (or NULL) copied into R's strings. */
static const char *
analytics_row_cstr(struct analytics_row *r, const char *s)
{
	return (s != NULL ? analytics_row_strn(r, s, strlen(s)) : NULL);
}

/* The string of C's next value copied into R's strings (NULL for nil or
 * another type). */
static const char *
analytics_row_next_str(struct analytics_row *r, struct unpack_cursor *c)
{
	const char	*s;
	uint32_t	 len;

	if (unpack_next_str(c, &s, &len) != 0)
		return (NULL);
	return (analytics_row_strn(r, s, len));
}

/* The integers of C's next value, an array, into V (N of them; missing
 * ones stay 0). */
static void
analytics_next_ints(struct unpack_cursor *c, int64_t *v, size_t n)
{
	uint32_t	len, i;

	if (unpack_next_array(c, &len) != 0)
		return;
	for (i = 0; i < len && !c->err; i++) {
		if (i < n)
			v[i] = unpack_next_int(c, 0);
		else
			unpack_next_skip(c);
	}
}

/* Do the N bytes at A and B match?  (Names of a few bytes: cheaper than
 * a call.) */
static int
analytics_same(const char *a, const char *b, size_t n)
{
	while (n > 0 && *a == *b) {
		a++;
		b++;
		n--;
	}
	return (n == 0);
}

/* The field named S (LEN bytes) of a row: AR_*, or -1.  Rows are written
 * in field order, so the one after the last (*HINT) is tried first. */
static int
analytics_field(const char *s, uint32_t len, int *hint)
{
	int	i, f;

	for (i = 0; i < AR_FIELDS; i++) {
		f = (*hint + i) % AR_FIELDS;
		if (analytics_fields[f].len == len &&
		    analytics_same(analytics_fields[f].name, s, len)) {
			*hint = f + 1;
			return (f);
		}
	}
	return (-1);
}

/* The "runs" (or with SKIPPED the "skipped") map of C into R. */
static void
analytics_next_counts(struct unpack_cursor *c, struct analytics_row *r,
    int skipped)
{
	const char	*s;
	uint32_t	 n, i, len;
	size_t		 k, j = 0;

	if (unpack_next_map(c, &n) != 0)
		return;
	for (i = 0; i < n && !c->err; i++) {
		if (skipped) {
			if (r->nreasons < ANALYTICS_REASONS &&
			    (r->reason[r->nreasons] = analytics_row_next_str(r,
			    c)) != NULL)
				r->reason_n[r->nreasons++] = unpack_next_int(c,
				    0);
			else
				unpack_next_skip(c);
			continue;
		}
		if (unpack_next_str(c, &s, &len) != 0) {
			unpack_next_skip(c);
			continue;
		}
		/* in their order, as analytics_row_pack writes them */
		for (k = 0; k < ANALYTICS_STATUSES; k++) {
			j = (i + k) % ANALYTICS_STATUSES;
			if (analytics_same(analytics_statuses[j], s, len) &&
			    analytics_statuses[j][len] == '\0')
				break;
		}
		if (k < ANALYTICS_STATUSES)
			r->runs[j] = unpack_next_int(c, 0);
		else
			unpack_next_skip(c);
	}
}

/* The value of field F (AR_*, or -1: unknown) of a row from C into R. */
static void
analytics_next_field(struct unpack_cursor *c, struct analytics_row *r,
    int f)
{
	static const size_t	ints[AR_FIELDS] = {
		[AR_DAY] = offsetof(struct analytics_row, day),
		[AR_COST] = offsetof(struct analytics_row, cost_micro),
		[AR_COSTED] = offsetof(struct analytics_row, costed),
		[AR_MID] = offsetof(struct analytics_row, estimate_mid_micro),
		[AR_ESTIMATED] = offsetof(struct analytics_row, estimated),
		[AR_WITHIN] = offsetof(struct analytics_row, within),
		[AR_ERROR_SUM] = offsetof(struct analytics_row, error_ppm_sum),
		[AR_IN] = offsetof(struct analytics_row, input_tokens),
		[AR_OUT] = offsetof(struct analytics_row, output_tokens),
		[AR_LATENCY_SUM] = offsetof(struct analytics_row,
		    latency_us_sum),
		[AR_TIMED] = offsetof(struct analytics_row, timed)
	};

	switch (f) {
	case AR_ACCOUNT:
		r->account = analytics_row_next_str(r, c);
		break;
	case AR_OPERATION:
		r->operation = analytics_row_next_str(r, c);
		break;
	case AR_MODEL:
		r->model = analytics_row_next_str(r, c);
		break;
	case AR_SCHEDULE:
		r->schedule = analytics_row_next_str(r, c);
		break;
	case AR_RUNS:
	case AR_SKIPPED:
		analytics_next_counts(c, r, f == AR_SKIPPED);
		break;
	case AR_ERROR_HIST:
		analytics_next_ints(c, r->error_hist, ANALYTICS_ERROR_BUCKETS);
		break;
	case AR_LATENCY_HIST:
		analytics_next_ints(c, r->latency_hist,
		    ANALYTICS_LATENCY_BUCKETS);
		break;
	default:
		if (f < 0 || ints[f] == 0) {
			unpack_next_skip(c);
			break;
		}
		*(int64_t *)(void *)((char *)r + ints[f]) =
		    unpack_next_int(c, 0);
		break;
	}
}

/* The row packed in BUF (LEN bytes) into R, reset for it with room for
 * MORE bytes of strings: 0, or -1 if it is not a row (R then holds what
 * was read of it). */
static int
analytics_row_parse(const void *buf, size_t len, size_t more,
    struct analytics_row *r)
{
	struct unpack_cursor	 c;
	const char		*s;
	uint32_t		 n, i, klen;
	int			 hint = 0;

	analytics_row_reset(r, len + more);
	unpack_cursor_init(&c, buf, len);
	if (unpack_next_map(&c, &n) != 0)
		return (-1);
	for (i = 0; i < n && !c.err; i++) {
		if (unpack_next_str(&c, &s, &klen) != 0) {
			unpack_next_skip(&c);
			continue;
		}
		analytics_next_field(&c, r, analytics_field(s, klen, &hint));
	}
	return (c.err || c.p != c.end ? -1 : 0);
}

static void
analytics_pack_ints(msgpack_packer *pk, const char *key, const int64_t *v,
    size_t n)
{
	size_t	i;

	pack_str(pk, key);
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++)
		msgpack_pack_int64(pk, v[i]);
}

static void
analytics_row_pack(msgpack_packer *pk, const struct analytics_row *r)
{
	size_t			 i;

	msgpack_pack_map(pk, AR_FIELDS + 1);
	pack_kstr(pk, analytics_fields[AR_ACCOUNT].name, r->account);
	pack_kstr(pk, analytics_fields[AR_OPERATION].name, r->operation);
	pack_kstr(pk, analytics_fields[AR_MODEL].name, r->model);
	pack_kstr(pk, analytics_fields[AR_SCHEDULE].name, r->schedule);
	pack_kint(pk, analytics_fields[AR_DAY].name, r->day);
	pack_str(pk, analytics_fields[AR_RUNS].name);
	msgpack_pack_map(pk, ANALYTICS_STATUSES);
	for (i = 0; i < ANALYTICS_STATUSES; i++)
		pack_kint(pk, analytics_statuses[i], r->runs[i]);
	pack_str(pk, analytics_fields[AR_SKIPPED].name);
	msgpack_pack_map(pk, r->nreasons);
	for (i = 0; i < r->nreasons; i++)
		pack_kint(pk, r->reason[i], r->reason_n[i]);
	pack_kint(pk, analytics_fields[AR_COST].name, r->cost_micro);
	pack_kint(pk, analytics_fields[AR_COSTED].name, r->costed);
	pack_kint(pk, analytics_fields[AR_MID].name, r->estimate_mid_micro);
	pack_kint(pk, analytics_fields[AR_ESTIMATED].name, r->estimated);
	pack_kint(pk, analytics_fields[AR_WITHIN].name, r->within);
	pack_kint(pk, analytics_fields[AR_ERROR_SUM].name, r->error_ppm_sum);
	analytics_pack_ints(pk, analytics_fields[AR_ERROR_HIST].name,
	    r->error_hist, ANALYTICS_ERROR_BUCKETS);
	pack_kint(pk, analytics_fields[AR_IN].name, r->input_tokens);
	pack_kint(pk, analytics_fields[AR_OUT].name, r->output_tokens);
	pack_kint(pk, analytics_fields[AR_LATENCY_SUM].name, r->latency_us_sum);
	pack_kint(pk, analytics_fields[AR_TIMED].name, r->timed);
	analytics_pack_ints(pk, analytics_fields[AR_LATENCY_HIST].name,
	    r->latency_hist, ANALYTICS_LATENCY_BUCKETS);
	pack_kint(pk, "format", 1);
}

/* Add N skips for REASON (a string of R's, or one that fits in its
 * strings) to R; an unknown one past the bound counts as "other". */
static void
analytics_add_reason(struct analytics_row *r, const char *reason, int64_t n)
{
	size_t	i;

	for (i = 0; i < r->nreasons; i++) {
		if (strcmp(r->reason[i], reason) == 0) {
			r->reason_n[i] += n;
			return;
		}
	}
	if (r->nreasons == ANALYTICS_REASONS) {
		analytics_add_reason(r, "other", n);	/* "other" is last */
		return;
	}
	if (r->nreasons == ANALYTICS_REASONS - 1 && strcmp(reason,
	    "other") != 0)
		reason = "other";
	if ((r->reason[r->nreasons] = analytics_row_cstr(r, reason)) == NULL)
		return;		/* not reached: room was reserved */
	r->reason_n[r->nreasons++] = n;
}

/* Row B's figures added to row A's. */
static void
analytics_row_add(struct analytics_row *a, const struct analytics_row *b)
{
	size_t	i;

	for (i = 0; i < ANALYTICS_STATUSES; i++)
		a->runs[i] += b->runs[i];
	for (i = 0; i < b->nreasons; i++)
		analytics_add_reason(a, b->reason[i], b->reason_n[i]);
	a->cost_micro += b->cost_micro;
	a->costed += b->costed;
	a->estimate_mid_micro += b->estimate_mid_micro;
	a->estimated += b->estimated;
	a->within += b->within;
	a->error_ppm_sum += b->error_ppm_sum;
	for (i = 0; i < ANALYTICS_ERROR_BUCKETS; i++)
		a->error_hist[i] += b->error_hist[i];
	a->input_tokens += b->input_tokens;
	a->output_tokens += b->output_tokens;
	a->latency_us_sum += b->latency_us_sum;
	a->timed += b->timed;
	for (i = 0; i < ANALYTICS_LATENCY_BUCKETS; i++)
		a->latency_hist[i] += b->latency_hist[i];
}

/* The first word of a skip's reason ("budget: ..." counts as "budget"),
 * at most 32 bytes, into BUF. */
static const char *
analytics_reason(const char *reason, char *buf, size_t len)
{
	size_t	n;

	if (reason == NULL || *reason == '\0' ||
	    (n = strcspn(reason, " :(,")) == 0)
		return ("unknown");
	if (n > 32)
		n = 32;
	if (n >= len)
		n = len - 1;
	memcpy(buf, reason, n);
	buf[n] = '\0';
	return (buf);
}

/*
 * The key of the row of LEVEL for ACCOUNT, DAY (yyyymmdd), OP, MODEL and
 * SCHED, into KEY: the day first, so that a period is a range of keys; a
 * month is day 00 and sorts before its days, its dekads 41, 42, 43 after
 * them; an account's totals under ACCOUNT/total/, after every day
 * (letters sort after digits).
 */
int64_t
analytics_level_day(int level, int64_t day)
{
	int64_t	dd = day % 100;

	if (level == ANALYTICS_MONTH || level == ANALYTICS_TOTAL_MONTH)
		return (day - dd);
	if (level == ANALYTICS_DEKAD)
		return (day - dd + (dd <= 10 ? 41 : dd <= 20 ? 42 : 43));
	return (day);
}

void
analytics_key(int level, const char *account, int64_t day, const char *op,
    const char *model, const char *sched, char *key, size_t len)
{
	day = analytics_level_day(level, day);
	if (level == ANALYTICS_TOTAL_DAY || level == ANALYTICS_TOTAL_MONTH)
		snprintf(key, len, "%s/total/%08lld", account, (long long)day);
	else
		snprintf(key, len, "%s/%08lld/%s/%s/%s", account,
		    (long long)day, op, model != NULL ? model : "-",
		    sched != NULL ? sched : "-");
}

/* What a run's end adds, read from its run map. */
struct analytics_fact {
	char		*op;
	char		*model;
	char		*sched;
	char		*reason;
	size_t		 status;
	int64_t		 day;
	int64_t		 cost;
	int64_t		 low;
	int64_t		 mid;
	int64_t		 high;
	int64_t		 in;
	int64_t		 out;
	int64_t		 lat;
};

/* The fields of a run map a fact reads, as found in it. */
struct analytics_run {
	char			*status;
	char			*op;
	char			*model;
	char			*sched;
	char			*reason;
	int64_t			 finished;
	int64_t			 started;
	int64_t			 scheduled;
	int64_t			 cost;
	int64_t			 low, mid, high;
	int64_t			 in, out;
};

/* 0 and *F (taking A's strings) from A in zone TZ, or 1 if it adds
 * nothing (A's strings freed). */
static int
analytics_fact_of(struct analytics_run *a, const struct tz *tz,
    struct analytics_fact *f)
{
	struct civil	 c;
	int64_t		 when, sec;

	memset(f, 0, sizeof *f);
	for (f->status = 0; a->status != NULL && f->status <
	    ANALYTICS_STATUSES; f->status++) {
		if (strcmp(a->status, analytics_statuses[f->status]) == 0)
			break;
	}
	free(a->status);
	a->status = NULL;
	if (f->status == ANALYTICS_STATUSES || a->op == NULL) {
		free(a->op);
		free(a->model);
		free(a->sched);
		free(a->reason);
		return (1);
	}
	f->op = a->op;
	f->model = a->model;
	f->sched = a->sched;
	f->reason = a->reason;
	when = a->finished > 0 ? a->finished : a->scheduled;
	sec = when / USEC_PER_SEC - (when < 0 && when % USEC_PER_SEC != 0);
	tz_to_civil(tz, sec, &c);
	f->day = (int64_t)c.year * 10000 + c.month * 100 + c.day;
	f->cost = a->cost;
	f->low = a->low;
	f->mid = a->mid;
	f->high = a->high;
	f->in = a->in;
	f->out = a->out;
	f->lat = -1;
	if (a->started > 0 && a->finished >= a->started && f->status <= 3)
		f->lat = a->finished - a->started;
	return (0);
}

/* 0 and *F from RUN in zone TZ, or 1 if it adds nothing. */
static int
analytics_fact(const msgpack_object *run, const struct tz *tz,
    struct analytics_fact *f)
{
	const msgpack_object	*est, *usage;
	struct analytics_run	 a;

	memset(f, 0, sizeof *f);
	if (run->type != MSGPACK_OBJECT_MAP)
		return (1);
	memset(&a, 0, sizeof a);
	a.status = unpack_strdup(run, "status");
	a.op = unpack_strdup(run, "operation");
	a.model = unpack_strdup(run, "model");
	a.sched = unpack_strdup(run, "schedule");
	a.reason = unpack_strdup(run, "reason");
	a.finished = unpack_int(run, "finished_us", 0);
	a.started = unpack_int(run, "started_us", 0);
	a.scheduled = unpack_int(run, "scheduled_for_us", 0);
	a.cost = unpack_int(run, "cost_micro", -1);
	a.low = a.mid = a.high = a.in = a.out = -1;
	if ((est = unpack_get(run, "estimate_micro")) != NULL &&
	    est->type == MSGPACK_OBJECT_MAP) {
		a.low = unpack_int(est, "low", -1);
		a.mid = unpack_int(est, "mid", -1);
		a.high = unpack_int(est, "high", -1);
	}
	if ((usage = unpack_get(run, "usage")) != NULL &&
	    usage->type == MSGPACK_OBJECT_MAP) {
		a.in = unpack_int(usage, "input_tokens", -1);
		a.out = unpack_int(usage, "output_tokens", -1);
	}
	return (analytics_fact_of(&a, tz, f));
}

/* Names a run map's fields are read by, in analytics_raw_field's order. */
enum {
	AF_STATUS, AF_OPERATION, AF_MODEL, AF_SCHEDULE, AF_REASON,
	AF_FINISHED, AF_STARTED, AF_SCHEDULED, AF_COST, AF_ESTIMATE, AF_USAGE,
	AF_FIELDS
};
static const struct {
	const char	*name;
	size_t		 len;
} analytics_run_fields[AF_FIELDS] = {
	AR_FIELD("status"), AR_FIELD("operation"), AR_FIELD("model"),
	AR_FIELD("schedule"), AR_FIELD("reason"), AR_FIELD("finished_us"),
	AR_FIELD("started_us"), AR_FIELD("scheduled_for_us"),
	AR_FIELD("cost_micro"), AR_FIELD("estimate_micro"), AR_FIELD("usage")
};

/* The string of C's next value, copied as unpack_strdup would (NULL for
 * another type). */
static char *
analytics_next_strdup(struct unpack_cursor *c)
{
	const char	*s;
	uint32_t	 len;

	if (unpack_next_str(c, &s, &len) != 0)
		return (NULL);
	return (xstrndup(s, len));
}

/* The N integers named NAMES of the map that is C's next value into V,
 * the first of each name (V untouched for a name absent, -1 for a value
 * that is not an integer, as unpack_int with -1). */
static void
analytics_next_ints_of(struct unpack_cursor *c, const char *const *names,
    int64_t *v, size_t n)
{
	const char	*s;
	uint32_t	 m, i, len;
	size_t		 k;
	int		 seen = 0;

	if (unpack_next_map(c, &m) != 0)
		return;
	for (i = 0; i < m && !c->err; i++) {
		if (unpack_next_str(c, &s, &len) != 0) {
			unpack_next_skip(c);
			continue;
		}
		for (k = 0; k < n; k++) {
			if (!(seen & (1 << k)) && strlen(names[k]) == len &&
			    analytics_same(names[k], s, len))
				break;
		}
		if (k == n) {
			unpack_next_skip(c);
			continue;
		}
		seen |= 1 << k;
		v[k] = unpack_next_int(c, -1);
	}
}

/*
 * analytics_fact from the run map packed in BUF (LEN bytes), read in place
 * (no objects; a run's end on the loop): the same fact as unpacking it,
 * the first of a name counting.
 */
static int
analytics_fact_raw(const void *buf, size_t len, const struct tz *tz,
    struct analytics_fact *f)
{
	static const char *const est[] = { "low", "mid", "high" };
	static const char *const usage[] = { "input_tokens", "output_tokens" };
	struct unpack_cursor	 c;
	struct analytics_run	 a;
	const char		*s;
	uint32_t		 n, i, klen;
	int64_t			 v[3];
	int			 k, seen = 0;

	memset(f, 0, sizeof *f);
	memset(&a, 0, sizeof a);
	a.cost = a.low = a.mid = a.high = a.in = a.out = -1;
	unpack_cursor_init(&c, buf, len);
	if (unpack_next_map(&c, &n) != 0)
		return (1);
	for (i = 0; i < n && !c.err; i++) {
		if (unpack_next_str(&c, &s, &klen) != 0) {
			unpack_next_skip(&c);	/* the key was skipped */
			continue;
		}
		for (k = 0; k < AF_FIELDS; k++) {
			if (analytics_run_fields[k].len == klen &&
			    analytics_same(analytics_run_fields[k].name, s,
			    klen))
				break;
		}
		if (k == AF_FIELDS || (seen & (1 << k))) {
			unpack_next_skip(&c);
			continue;
		}
		seen |= 1 << k;
		switch (k) {
		case AF_STATUS:
			a.status = analytics_next_strdup(&c);
			break;
		case AF_OPERATION:
			a.op = analytics_next_strdup(&c);
			break;
		case AF_MODEL:
			a.model = analytics_next_strdup(&c);
			break;
		case AF_SCHEDULE:
			a.sched = analytics_next_strdup(&c);
			break;
		case AF_REASON:
			a.reason = analytics_next_strdup(&c);
			break;
		case AF_FINISHED:
			a.finished = unpack_next_int(&c, 0);
			break;
		case AF_STARTED:
			a.started = unpack_next_int(&c, 0);
			break;
		case AF_SCHEDULED:
			a.scheduled = unpack_next_int(&c, 0);
			break;
		case AF_COST:
			a.cost = unpack_next_int(&c, -1);
			break;
		case AF_ESTIMATE:
			v[0] = v[1] = v[2] = -1;
			analytics_next_ints_of(&c, est, v, 3);
			a.low = v[0];
			a.mid = v[1];
			a.high = v[2];
			break;
		case AF_USAGE:
			v[0] = v[1] = -1;
			analytics_next_ints_of(&c, usage, v, 2);
			a.in = v[0];
			a.out = v[1];
			break;
		}
	}
	if (c.err || c.p != c.end) {	/* not a run map: nothing */
		free(a.status);
		free(a.op);
		free(a.model);
		free(a.sched);
		free(a.reason);
		return (1);
	}
	return (analytics_fact_of(&a, tz, f));
}

/*
 * F's delta for its rows, in three parts that each level's delta puts
 * together with its day (a run's end makes five): into PB, the map's
 * head and account up to *NAMES, the names of a row under an operation up
 * to *TOTAL, those of a total (nil) up to *TAIL, and the figures after
 * the day to the end.  A level's delta is a map of account, operation,
 * model, schedule, day, status, reason, cost, low, mid, high, in, out and
 * latency_us.
 */
static void
analytics_fact_parts(const char *account, const struct analytics_fact *f,
    struct pack_buffer *pb, size_t *names, size_t *total, size_t *tail)
{
	char	buf[40];

	msgpack_pack_map(&pb->pk, 14);
	pack_kstr(&pb->pk, "account", account);
	*names = pb->sbuf.size;
	pack_kstr(&pb->pk, "operation", f->op);
	pack_kstr(&pb->pk, "model", f->model);
	pack_kstr(&pb->pk, "schedule", f->sched);
	*total = pb->sbuf.size;
	pack_kstr(&pb->pk, "operation", NULL);
	pack_kstr(&pb->pk, "model", NULL);
	pack_kstr(&pb->pk, "schedule", NULL);
	*tail = pb->sbuf.size;
	pack_kint(&pb->pk, "status", (int64_t)f->status);
	pack_kstr(&pb->pk, "reason", f->status == 4 ? analytics_reason(
	    f->reason, buf, sizeof buf) : NULL);
	pack_kint(&pb->pk, "cost", f->cost);
	pack_kint(&pb->pk, "low", f->low);
	pack_kint(&pb->pk, "mid", f->mid);
	pack_kint(&pb->pk, "high", f->high);
	pack_kint(&pb->pk, "in", f->in);
	pack_kint(&pb->pk, "out", f->out);
	pack_kint(&pb->pk, "latency_us", f->lat);
}

/* Key of LEVEL as analytics_key writes it, from the account's "ACCOUNT/"
 * (PRE, PLEN bytes) and a row's "/OPERATION/MODEL/SCHEDULE" (SUF, SLEN
 * bytes), into KEY (LEN bytes). */
static void
analytics_level_key(int level, const char *account, const char *pre,
    size_t plen, const char *suf, size_t slen, const struct analytics_fact *f,
    char *key, size_t len)
{
	int64_t	day = analytics_level_day(level, f->day);
	int	total = level == ANALYTICS_TOTAL_DAY ||
		    level == ANALYTICS_TOTAL_MONTH;
	size_t	n = plen;
	int	i;

	if (day < 0 || day > 99999999 || plen + 6 + 8 + (total ? 0 : slen) >=
	    len) {
		analytics_key(level, account, f->day, f->op, f->model,
		    f->sched, key, len);
		return;
	}
	memcpy(key, pre, plen);
	if (total) {
		memcpy(key + n, "total/", 6);
		n += 6;
	}
	for (i = 7; i >= 0; i--) {
		key[n + i] = '0' + day % 10;
		day /= 10;
	}
	n += 8;
	if (!total) {
		memcpy(key + n, suf, slen);
		n += slen;
	}
	key[n] = '\0';
}

/* F's deltas for ACCOUNT handed to FN (F's strings freed). */
static int
analytics_fact_deltas(const char *account, struct analytics_fact *f,
    analytics_delta_fn fn, void *arg)
{
	struct pack_buffer	 pb, db;
	char			 key[ANALYTICS_KEY_MAX];
	char			 pre[ANALYTICS_KEY_MAX], suf[ANALYTICS_KEY_MAX];
	size_t			 names, total, tail, plen, slen;
	int			 level, rc = 0, n;

	pack_buffer_init(&pb);
	pack_buffer_init(&db);
	analytics_fact_parts(account, f, &pb, &names, &total, &tail);
	n = snprintf(pre, sizeof pre, "%s/", account);
	plen = n < 0 ? sizeof pre : (size_t)n;
	n = snprintf(suf, sizeof suf, "/%s/%s/%s", f->op, f->model != NULL ?
	    f->model : "-", f->sched != NULL ? f->sched : "-");
	slen = n < 0 ? sizeof suf : (size_t)n;
	for (level = 0; level < ANALYTICS_LEVELS && rc == 0; level++) {
		db.sbuf.size = 0;
		pack_raw(&db.pk, pb.sbuf.data, names);
		if (level == ANALYTICS_TOTAL_DAY ||
		    level == ANALYTICS_TOTAL_MONTH)
			pack_raw(&db.pk, pb.sbuf.data + total, tail - total);
		else
			pack_raw(&db.pk, pb.sbuf.data + names, total - names);
		pack_kint(&db.pk, "day", analytics_level_day(level, f->day));
		pack_raw(&db.pk, pb.sbuf.data + tail, pb.sbuf.size - tail);
		analytics_level_key(level, account, pre, plen, suf, slen, f,
		    key, sizeof key);
		rc = fn(key, db.sbuf.data, db.sbuf.size, arg);
	}
	pack_buffer_clear(&pb);
	pack_buffer_clear(&db);
	free(f->op);
	free(f->model);
	free(f->sched);
	free(f->reason);
	return (rc == 0 ? 0 : -1);
}

int
analytics_deltas(const char *account, const msgpack_object *run,
    const struct tz *tz, analytics_delta_fn fn, void *arg)
{
	struct analytics_fact	 f;

	if (account == NULL || analytics_fact(run, tz, &f) != 0)
		return (1);
	return (analytics_fact_deltas(account, &f, fn, arg));
}

/* A delta (the map of analytics_fact_parts), read in place. */
enum {
	AD_ACCOUNT, AD_OPERATION, AD_MODEL, AD_SCHEDULE, AD_REASON,
	AD_NAMES,		/* the strings before, the integers after */
	AD_DAY = AD_NAMES, AD_STATUS, AD_COST, AD_LOW, AD_MID, AD_HIGH, AD_IN,
	AD_OUT, AD_LATENCY, AD_FIELDS
};
static const struct {
	const char	*name;
	size_t		 len;
} analytics_delta_fields[AD_FIELDS] = {
	AR_FIELD("account"), AR_FIELD("operation"), AR_FIELD("model"),
	AR_FIELD("schedule"), AR_FIELD("reason"), AR_FIELD("day"),
	AR_FIELD("status"), AR_FIELD("cost"), AR_FIELD("low"), AR_FIELD("mid"),
	AR_FIELD("high"), AR_FIELD("in"), AR_FIELD("out"),
	AR_FIELD("latency_us")
};

struct analytics_delta {
	const char	*str[AD_NAMES];		/* NULL: nil or absent */
	uint32_t	 len[AD_NAMES];
	int64_t		 num[AD_FIELDS];	/* from AD_NAMES on; -1 absent */
};

/* The delta in BUF (LEN bytes) into D: 0, or -1 if it does not read. */
static int
analytics_delta_parse(const void *buf, size_t len, struct analytics_delta *d)
{
	struct unpack_cursor	 c;
	const char		*s;
	uint32_t		 n, i, klen;
	int			 f, k;

	memset(d, 0, sizeof *d);
	for (f = AD_NAMES; f < AD_FIELDS; f++)
		d->num[f] = -1;
	unpack_cursor_init(&c, buf, len);
	if (unpack_next_map(&c, &n) != 0)
		return (-1);
	for (i = 0; i < n && !c.err; i++) {
		if (unpack_next_str(&c, &s, &klen) != 0) {
			unpack_next_skip(&c);
			continue;
		}
		for (f = 0, k = -1; f < AD_FIELDS && k == -1; f++) {
			if (analytics_delta_fields[f].len == klen &&
			    analytics_same(analytics_delta_fields[f].name, s,
			    klen))
				k = f;
		}
		if (k == -1)
			unpack_next_skip(&c);
		else if (k < AD_NAMES) {
			if (unpack_next_str(&c, &d->str[k], &d->len[k]) != 0)
				d->str[k] = NULL;
		} else
			d->num[k] = unpack_next_int(&c, -1);
	}
	return (c.err || c.p != c.end ? -1 : 0);
}

/* Delta D's figures added to R. */
static void
analytics_delta_add(struct analytics_row *r, const struct analytics_delta *d)
{
	int64_t	s = d->num[AD_STATUS], cost = d->num[AD_COST];
	int64_t	low = d->num[AD_LOW], mid = d->num[AD_MID];
	int64_t	high = d->num[AD_HIGH], v, err;
	char	buf[40];

	if (s >= 0 && s < ANALYTICS_STATUSES)
		r->runs[s]++;
	if (s == 4 && d->str[AD_REASON] != NULL && d->len[AD_REASON] <
	    sizeof buf) {
		memcpy(buf, d->str[AD_REASON], d->len[AD_REASON]);
		buf[d->len[AD_REASON]] = '\0';
		analytics_add_reason(r, buf, 1);
	}
	if (cost >= 0 && s >= 0 && s <= 3) {
		r->cost_micro += cost;
		r->costed++;
		if (mid >= 0) {
			r->estimate_mid_micro += mid;
			r->estimated++;
			if (cost >= low && cost <= high)
				r->within++;
			err = cost > 0 ? (cost > mid ? cost - mid : mid - cost) *
			    1000000 / cost : (mid > 0 ? 1000000 : 0);
			r->error_ppm_sum += err;
			r->error_hist[analytics_error_bucket(err)]++;
		}
	}
	if ((v = d->num[AD_IN]) > 0)
		r->input_tokens += v;
	if ((v = d->num[AD_OUT]) > 0)
		r->output_tokens += v;
	if ((v = d->num[AD_LATENCY]) >= 0) {
		r->latency_us_sum += v;
		r->timed++;
		r->latency_hist[analytics_latency_bucket(v)]++;
	}
}

/* R's account, operation, model, schedule and day from delta D, when it
 * has none yet. */
static void
analytics_row_name(struct analytics_row *r, const struct analytics_delta *d)
{
	const char	**names[AD_REASON] = { &r->account, &r->operation,
			    &r->model, &r->schedule };
	int		  f;

	if (r->account != NULL)
		return;
	for (f = 0; f < AD_REASON; f++)
		*names[f] = d->str[f] != NULL ? analytics_row_strn(r,
		    d->str[f], d->len[f]) : NULL;
	r->day = d->num[AD_DAY] >= 0 ? d->num[AD_DAY] : 0;
}

void
analytics_merge(const void *old, size_t oldlen, const void *delta,
    size_t dlen, msgpack_sbuffer *out)
{
	struct journal_delta	d;

	d.data = delta;
	d.len = dlen;
	analytics_merge_all(old, oldlen, &d, 1, out);
}

/* N deltas merged into the row in their order, packed once: the row
 * analytics_merge would leave after each in turn (a row it packs reads
 * back as the same row). */
void
analytics_merge_all(const void *old, size_t oldlen,
    const struct journal_delta *deltas, size_t n, msgpack_sbuffer *out)
{
	struct analytics_row	 r;
	struct analytics_delta	 d;
	msgpack_packer		 pk;
	size_t			 i, more = 0;

	/* room for the names and reasons of all the deltas */
	for (i = 0; i < n; i++)
		more += deltas[i].len;
	memset(&r, 0, sizeof r);
	if (old == NULL || oldlen == 0 || analytics_row_parse(old, oldlen,
	    more, &r) != 0)
		analytics_row_reset(&r, more);	/* unreadable: counts as none */
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	for (i = 0; i < n; i++) {
		if (analytics_delta_parse(deltas[i].data, deltas[i].len,
		    &d) == 0) {
			analytics_row_name(&r, &d);
			analytics_delta_add(&r, &d);
		}
	}
	analytics_row_pack(&pk, &r);
	analytics_row_free(&r);
}

/* jrec_merge of a delta into REC (an analytics_delta_fn). */
static int
analytics_add_delta(const char *key, const void *delta, size_t dlen,
    void *arg)
{
	jrec_merge_all(arg, ANALYTICS_TABLE, key, strlen(key),
	    analytics_merge, analytics_merge_all, delta, dlen);
	return (0);
}

void
analytics_add(struct jrec *rec, const char *account, const void *run,
    size_t len)
{
	struct analytics_fact	f;

	/* the run map read in place: replay's analytics_deltas reads the
	 * same fact from the record's object */
	if (account == NULL || analytics_fact_raw(run, len,
	    account_tz(account), &f) != 0)
		return;
	analytics_fact_deltas(account, &f, analytics_add_delta, rec);
}

/*
 * Sums for the levels above the day: ROW (a day's row under an operation)
 * added to OLD (OLDLEN bytes, NULL for none), the row of LEVEL, packed
 * into OUT.  A new row takes its names from ROW (no operation, model or
 * schedule for a total) and its day from LEVEL (yyyymm00 for a month).
 */
void
analytics_row_sum(const void *old, size_t oldlen, const void *row,
    size_t rowlen, int level, msgpack_sbuffer *out)
{
	struct analytics_row	 r, s;
	msgpack_packer		 pk;

	memset(&r, 0, sizeof r);
	memset(&s, 0, sizeof s);
	if (old == NULL || oldlen == 0 || analytics_row_parse(old, oldlen,
	    rowlen, &r) != 0)
		analytics_row_reset(&r, rowlen);
	if (analytics_row_parse(row, rowlen, 0, &s) == 0) {
		if (r.account == NULL) {
			r.account = analytics_row_cstr(&r, s.account);
			if (level == ANALYTICS_DEKAD ||
			    level == ANALYTICS_MONTH) {
				r.operation = analytics_row_cstr(&r,
				    s.operation);
				r.model = analytics_row_cstr(&r, s.model);
				r.schedule = analytics_row_cstr(&r, s.schedule);
			}
			r.day = analytics_level_day(level, s.day);
		}
		analytics_row_add(&r, &s);
	}
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	analytics_row_pack(&pk, &r);
	analytics_row_free(&r);
	analytics_row_free(&s);
}

/*
 * Building the table, once.  A journal written before the table existed
 * has run ends that never added to it: the walk replays what analytics_add
 * would have done (each account's zone as its account.* records set it,
 * as replay's fold reads it).  A journal whose table was built before the
 * dekads, months and totals existed (ANALYTICS_CLAIM_DAYS only) has its
 * day rows:
 * the sums above them are added up from those.  Either way the rows go in
 * analytics.rebuilt records of at most ANALYTICS_REBUILD_ROWS puts each,
 * the last one claiming ANALYTICS_CLAIM: a journal that has the claim has
 * its table whole (a new journal claims it at its first start, with no
 * rows).
 */
struct analytics_rows_row {
	struct strmap_node	 node;	/* first */
	char			*key;
	msgpack_sbuffer		 row;
};

struct analytics_build_zone {
	struct strmap_node	 node;	/* first */
	char			*account;
	const struct tz		*tz;
};

struct analytics_build {
	struct analytics_rows	 rows;
	struct strmap		 zones;
	uint64_t		 records;
	uint64_t		 runs;
	uint64_t		 day_rows;	/* the sums: rows read */
	char			**stale;	/* keys of an earlier format */
	size_t			 nstale;
};

static const struct tz *
analytics_build_tz(struct analytics_build *b, const char *account)
{
	struct analytics_build_zone	*z;

	z = (struct analytics_build_zone *)strmap_find(&b->zones, account);
	return (z != NULL ? z->tz : tz_load("UTC", NULL));
}

static void
analytics_build_account(struct analytics_build *b, const struct record *rec)
{
	struct analytics_build_zone	*z;
	const struct tz			*tz;
	char				*zone;

	if ((zone = unpack_strdup(&rec->body, "tz")) == NULL)
		return;
	tz = tz_load(zone, NULL);
	free(zone);
	if (tz == NULL)
		return;
	z = (struct analytics_build_zone *)strmap_find(&b->zones,
	    rec->account);
	if (z == NULL) {
		z = xcalloc(1, sizeof *z);
		z->account = xstrdup(rec->account);
		strmap_insert(&b->zones, &z->node, z->account);
	}
	z->tz = tz;
}

void
analytics_rows_init(struct analytics_rows *rs)
{
	strmap_init(&rs->map);
}

/* The row under KEY as built so far (a new, empty one if none). */
static struct analytics_rows_row *
analytics_rows_get(struct analytics_rows *rs, const char *key)
{
	struct analytics_rows_row	*r;

	r = (struct analytics_rows_row *)strmap_find(&rs->map, key);
	if (r == NULL) {
		r = xcalloc(1, sizeof *r);
		r->key = xstrdup(key);
		msgpack_sbuffer_init(&r->row);
		strmap_insert(&rs->map, &r->node, r->key);
	}
	return (r);
}

int
analytics_rows_delta(const char *key, const void *delta, size_t dlen,
    void *arg)
{
	struct analytics_rows_row	*r;
	msgpack_sbuffer			 out;

	r = analytics_rows_get(arg, key);
	msgpack_sbuffer_init(&out);
	analytics_merge(r->row.size > 0 ? r->row.data : NULL, r->row.size,
	    delta, dlen, &out);
	msgpack_sbuffer_destroy(&r->row);
	r->row = out;
	return (0);
}

void
analytics_rows_sum(struct analytics_rows *rs, const void *daykey,
    size_t klen, const void *row, size_t len)
{
	struct analytics_rows_row	*r;
	msgpack_sbuffer			 out;
	char				 key[ANALYTICS_KEY_MAX], *account;
	const char			*slash;
	int64_t				 day, dd;
	size_t				 n, d;
	int				 level;

	if (analytics_key_level(daykey, klen, &day) != ANALYTICS_DAY ||
	    (slash = memchr(daykey, '/', klen)) == NULL)
		return;
	d = (size_t)(slash - (const char *)daykey);
	account = xstrndup(daykey, d);
	for (level = ANALYTICS_DAY + 1; level < ANALYTICS_LEVELS; level++) {
		/* a dekad's or month's row is named after the day's */
		n = klen < sizeof key ? klen : sizeof key - 1;
		memcpy(key, daykey, n);
		key[n] = '\0';
		if (level == ANALYTICS_DEKAD || level == ANALYTICS_MONTH) {
			dd = analytics_level_day(level, day) % 100;
			key[d + 7] = '0' + dd / 10;
			key[d + 8] = '0' + dd % 10;
		} else
			analytics_key(level, account, day, NULL, NULL, NULL,
			    key, sizeof key);
		r = analytics_rows_get(rs, key);
		msgpack_sbuffer_init(&out);
		analytics_row_sum(r->row.size > 0 ? r->row.data : NULL,
		    r->row.size, row, len, level, &out);
		msgpack_sbuffer_destroy(&r->row);
		r->row = out;
	}
	free(account);
}

/* The rows, for analytics_rows_foreach. */
struct analytics_rows_walk {
	void	(*fn)(const char *, const void *, size_t, void *);
	void	 *arg;
};

static void
analytics_rows_node(struct strmap_node *n, void *arg)
{
	struct analytics_rows_row	*r = (struct analytics_rows_row *)n;
	struct analytics_rows_walk	*w = arg;

	w->fn(r->key, r->row.data, r->row.size, w->arg);
}

void
analytics_rows_foreach(struct analytics_rows *rs,
    void (*fn)(const char *, const void *, size_t, void *), void *arg)
{
	struct analytics_rows_walk	w;

	w.fn = fn;
	w.arg = arg;
	strmap_foreach(&rs->map, analytics_rows_node, &w);
}

size_t
analytics_rows_count(const struct analytics_rows *rs)
{
	return (rs->map.count);
}

static void
analytics_rows_free_row(struct strmap_node *n, void *arg)
{
	struct analytics_rows_row	*r = (struct analytics_rows_row *)n;

	msgpack_sbuffer_destroy(&r->row);
	free(r->key);
	free(r);
}

void
analytics_rows_free(struct analytics_rows *rs)
{
	strmap_foreach(&rs->map, analytics_rows_free_row, NULL);
	strmap_clear(&rs->map);
}

static void
analytics_build_run(struct analytics_build *b, const struct record *rec)
{
	if (analytics_deltas(rec->account, &rec->body,
	    analytics_build_tz(b, rec->account), analytics_rows_delta,
	    &b->rows) == 0)
		b->runs++;
}

static int
analytics_build_entry(const struct journal_entry *e, void *arg)
{
	struct analytics_build	*b = arg;
	struct record		 rec;
	char			*cause = NULL;

	b->records++;
	if (e->hash == NULL || record_decode(e->rec, e->len, &rec,
	    &cause) != 0) {
		free(cause);
		return (0);	/* the chain checks say why */
	}
	if (rec.account != NULL && strncmp(rec.kind, "account.", 8) == 0)
		analytics_build_account(b, &rec);
	else if (rec.account != NULL && (strncmp(rec.kind, "run.", 4) == 0 ||
	    strncmp(rec.kind, "op.", 3) == 0))
		analytics_build_run(b, &rec);
	record_clear(&rec);
	return (0);
}

/* The level of the row under KEY (KLEN bytes), or -1 if it is not one of
 * ours; its day into *DAY. */
static int
analytics_key_level(const char *key, size_t klen, int64_t *day)
{
	const char	*p = memchr(key, '/', klen), *end = key + klen;
	int		 total = 0, i;

	if (p == NULL)
		return (-1);
	p++;
	if (end - p >= 6 && memcmp(p, "total/", 6) == 0) {
		total = 1;
		p += 6;
	}
	if (end - p < 8)
		return (-1);
	for (*day = 0, i = 0; i < 8; i++) {
		if (p[i] < '0' || p[i] > '9')
			return (-1);
		*day = *day * 10 + (p[i] - '0');
	}
	p += 8;
	if (total)
		return (p != end ? -1 : *day % 100 == 0 ?
		    ANALYTICS_TOTAL_MONTH : ANALYTICS_TOTAL_DAY);
	if (p == end || *p != '/')
		return (-1);
	return (*day % 100 == 0 ? ANALYTICS_MONTH : *day % 100 > 40 ?
	    ANALYTICS_DEKAD : ANALYTICS_DAY);
}

/* A day's row added to the sums above it (a journal_table_foreach
 * callback). */
static int
analytics_build_sums(const struct journal_row *row, void *arg)
{
	struct analytics_build	*b = arg;
	int64_t			 day;

	if (analytics_key_level(row->key, row->klen, &day) != ANALYTICS_DAY)
		return (0);
	analytics_rows_sum(&b->rows, row->key, row->klen, row->val,
	    row->vlen);
	b->day_rows++;
	return (0);
}

/* A row whose key is none of today's (an earlier chime's format: a table
 * it kept before the claims existed) is deleted with the rebuild, as the
 * log's fold never makes it (a journal_table_foreach callback). */
static int
analytics_build_stale(const struct journal_row *row, void *arg)
{
	struct analytics_build	*b = arg;
	int64_t			 day;

	if (analytics_key_level(row->key, row->klen, &day) != -1)
		return (0);
	b->stale = xreallocarray(b->stale, b->nstale + 1, sizeof *b->stale);
	b->stale[b->nstale++] = xstrndup(row->key, row->klen);
	return (0);
}

static void
analytics_build_free_zone(struct strmap_node *n, void *arg)
{
	struct analytics_build_zone	*z = (struct analytics_build_zone *)n;

	free(z->account);
	free(z);
}

static void
analytics_build_free(struct analytics_build *b)
{
	size_t	i;

	analytics_rows_free(&b->rows);
	strmap_foreach(&b->zones, analytics_build_free_zone, NULL);
	strmap_clear(&b->zones);
	for (i = 0; i < b->nstale; i++)
		free(b->stale[i]);
	free(b->stale);
}

/* Every row, in an array. */
struct analytics_list {
	struct analytics_rows_row	**v;
	size_t				  n;
};

static void
analytics_list_row(struct strmap_node *n, void *arg)
{
	struct analytics_list	*l = arg;

	l->v[l->n++] = (struct analytics_rows_row *)n;
}

static void
analytics_rebuilt_cb(const struct journal_result *res, void *arg)
{
	if (res->status == JOURNAL_ERROR)
		log_warnx("msg=\"analytics: a rebuilt record was not written; "
		    "the next start builds the table again\" error=\"%s\"",
		    res->error != NULL ? res->error : "?");
}

/* B's rows in analytics.rebuilt records, the last claiming the table;
 * FROM_SEQ: the first record read (0: the rows were summed). */
static void
analytics_build_write(struct journal *j, struct analytics_build *b,
    uint64_t from_seq)
{
	struct analytics_list		 l;
	struct analytics_rows_row	*r;
	struct jrec			*rec;
	msgpack_packer			*pk;
	size_t				 total = b->rows.map.count, from, i;

	/* the rows of an earlier format out first, as many a record */
	for (from = 0; from < b->nstale; from += ANALYTICS_REBUILD_ROWS) {
		rec = jrec_create("analytics.rebuilt", NULL);
		for (i = from; i < b->nstale &&
		    i < from + ANALYTICS_REBUILD_ROWS; i++)
			jrec_del(rec, ANALYTICS_TABLE, b->stale[i],
			    strlen(b->stale[i]));
		pk = jrec_body(rec);
		msgpack_pack_map(pk, 1);
		pack_kint(pk, "deleted", (int64_t)(i - from));
		journal_submit(j, rec, analytics_rebuilt_cb, NULL);
	}
	l.v = xcalloc(total + 1, sizeof *l.v);
	l.n = 0;
	strmap_foreach(&b->rows.map, analytics_list_row, &l);
	for (from = 0;; from += ANALYTICS_REBUILD_ROWS) {
		rec = jrec_create("analytics.rebuilt", NULL);
		for (i = from; i < total && i < from + ANALYTICS_REBUILD_ROWS;
		    i++) {
			r = l.v[i];
			jrec_put(rec, ANALYTICS_TABLE, r->key, strlen(r->key),
			    r->row.data, r->row.size);
		}
		pk = jrec_body(rec);
		if (from + ANALYTICS_REBUILD_ROWS < total) {
			msgpack_pack_map(pk, 1);
			pack_kint(pk, "rows", ANALYTICS_REBUILD_ROWS);
			journal_submit(j, rec, analytics_rebuilt_cb, NULL);
			continue;
		}
		/* the last: the claim, and what was read */
		msgpack_pack_map(pk, from_seq > 0 ? 5 : 3);
		pack_kint(pk, "rows", (int64_t)(total - from));
		pack_kint(pk, "rows_total", (int64_t)total);
		if (from_seq > 0) {
			pack_kint(pk, "records", (int64_t)b->records);
			pack_kint(pk, "runs", (int64_t)b->runs);
			pack_kint(pk, "from_seq", (int64_t)from_seq);
		} else
			pack_kint(pk, "day_rows", (int64_t)b->day_rows);
		jrec_claim(rec, ANALYTICS_CLAIM);
		journal_submit(j, rec, analytics_rebuilt_cb, NULL);
		break;
	}
	free(l.v);
	journal_flush(j);
}

int
analytics_rebuild(struct journal *j, char **cause)
{
	struct analytics_build	 b;
	struct journal_meta	 m;
	int64_t			 start = mono_us();
	int			 sums;

	if (journal_dedup_seq(j, ANALYTICS_CLAIM) != 0)
		return (0);
	if (journal_meta(j, &m, cause) != 0)
		return (-1);
	memset(&b, 0, sizeof b);
	analytics_rows_init(&b.rows);
	strmap_init(&b.zones);
	if ((sums = journal_dedup_seq(j, ANALYTICS_CLAIM_DAYS) != 0)) {
		if (journal_table_foreach(j, ANALYTICS_TABLE, NULL, 0, 0,
		    analytics_build_sums, &b) != 0) {
			*cause = xstrdup("cannot read the analytics table");
			analytics_build_free(&b);
			return (-1);
		}
	} else if (journal_log_foreach(j, m.anchor_seq + 1, NULL,
	    analytics_build_entry, &b, cause) != 0) {
		analytics_build_free(&b);
		return (-1);
	}
	if (journal_table_foreach(j, ANALYTICS_TABLE, NULL, 0, 0,
	    analytics_build_stale, &b) != 0) {
		*cause = xstrdup("cannot read the analytics table");
		analytics_build_free(&b);
		return (-1);
	}
	analytics_build_write(j, &b, sums ? 0 : m.anchor_seq + 1);
	if (sums)
		log_info("msg=\"analytics months, dekads and totals added up "
		    "from the day rows\" day_rows=%llu rows=%zu stale=%zu "
		    "ms=%lld", (unsigned long long)b.day_rows,
		    analytics_rows_count(&b.rows), b.nstale,
		    (long long)((mono_us() - start) / USEC_PER_MSEC));
	else
		log_info("msg=\"analytics table built from the log\" "
		    "records=%llu runs=%llu rows=%zu stale=%zu ms=%lld",
		    (unsigned long long)b.records, (unsigned long long)b.runs,
		    analytics_rows_count(&b.rows), b.nstale,
		    (long long)((mono_us() - start) / USEC_PER_MSEC));
	analytics_build_free(&b);
	return (0);
}

/* ---- queries ---------------------------------------------------------- */

/* Days since 1970-01-01 of a civil date, and back (proleptic Gregorian). */
static int64_t
analytics_days(int64_t y, int64_t m, int64_t d)
{
	int64_t	era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return (era * 146097 + doe - 719468);
}

static int64_t
analytics_ymd(int64_t z)
{
	int64_t	era, doe, yoe, y, doy, mp, d, m;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	y = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	m = mp + (mp < 10 ? 3 : -9);
	return ((y + (m <= 2)) * 10000 + m * 100 + d);
}

static int64_t
analytics_day_number(int64_t ymd)
{
	return (analytics_days(ymd / 10000, ymd / 100 % 100, ymd % 100));
}

/* "YYYY-MM-DD" as yyyymmdd, or -1. */
int64_t
analytics_parse_day(const char *s)
{
	int	y, m, d, n = 0;

	if (s == NULL || sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) != 3 ||
	    s[n] != '\0' || m < 1 || m > 12 || d < 1 || d > 31 || y < 1970)
		return (-1);
	if (analytics_ymd(analytics_days(y, m, d)) != (int64_t)y * 10000 +
	    m * 100 + d)
		return (-1);	/* no such date (2026-02-30) */
	return ((int64_t)y * 10000 + m * 100 + d);
}

/* Totals of the rows of a period. */
struct analytics_sum {
	int64_t		 runs[ANALYTICS_STATUSES];
	int64_t		 cost_micro;
	int64_t		 latency_us_sum;
	int64_t		 timed;
	int64_t		 latency_hist[ANALYTICS_LATENCY_BUCKETS];
};

/*
 * A walk over the rows of days FROM..TO of ACCOUNT (of every account
 * CALLER may act for when NULL), each handed to FN: the account's totals,
 * or with DETAIL its rows under each operation, model and schedule.  A
 * month wholly inside the period is read as its one month row, a dekad
 * as its dekad's, unless DAYS asks for every day's: a year costs at most
 * about 35 rows a group (its months, and the dekads and days at its two
 * ends).
 */
struct analytics_walk {
	const struct caller	*caller;
	const char		*account;
	int64_t			 from;
	int64_t			 to;
	int			 detail;
	int			 days;
	void			(*fn)(const struct analytics_row *, void *);
	void			*arg;

	int64_t			 seg_from;	/* the range being read */
	int64_t			 seg_to;
	struct analytics_row	 row;		/* reused */
};

static int
analytics_walk_row(const struct journal_row *row, void *arg)
{
	struct analytics_walk	*w = arg;
	int64_t			 day;
	int			 level;

	level = analytics_key_level(row->key, row->klen, &day);
	if (level == -1)
		return (0);
	if (w->detail && level >= ANALYTICS_TOTAL_DAY)
		return (1);	/* totals sort after every day */
	if (day > w->seg_to)
		return (1);
	if (day < w->seg_from)
		return (0);
	if (analytics_row_parse(row->val, row->vlen, 0, &w->row) != 0)
		return (0);
	if (w->row.account != NULL && (!w->detail ||
	    w->row.operation != NULL))
		w->fn(&w->row, w->arg);
	return (0);
}

/* The last day of the month of DAY (yyyymmdd). */
static int64_t
analytics_month_last(int64_t day)
{
	int64_t	y = day / 10000, m = day / 100 % 100;

	return (analytics_ymd(analytics_days(m == 12 ? y + 1 : y,
	    m == 12 ? 1 : m + 1, 1) - 1));
}

/*
 * The next range of W from day D (yyyymmdd) on: the month, if D is its
 * first day and the period takes it whole (unless W asks for DAYS), else
 * a dekad the same way (only under the operations: an account's totals a
 * day are few), else D's days up to its dekad's end.  Into W's seg_from
 * and seg_to (days, or a month's or dekad's "day"); returns the range's
 * last day.
 */
static int64_t
analytics_walk_next(struct analytics_walk *w, int64_t d)
{
	int64_t	dd = d % 100, last, dekad_last;

	last = analytics_month_last(d);
	dekad_last = dd <= 10 ? d - dd + 10 : dd <= 20 ? d - dd + 20 : last;
	if (!w->days && dd == 1 && last <= w->to) {
		w->seg_from = w->seg_to = analytics_level_day(ANALYTICS_MONTH,
		    d);
		return (last);
	}
	if (!w->days && w->detail && (dd == 1 || dd == 11 || dd == 21) &&
	    dekad_last <= w->to) {
		w->seg_from = w->seg_to = analytics_level_day(ANALYTICS_DEKAD,
		    d);
		return (dekad_last);
	}
	w->seg_from = d;
	w->seg_to = dekad_last < w->to ? dekad_last : w->to;
	return (w->seg_to);
}

/* W's ranges of ACCOUNT, one key range each. */
static int
analytics_walk_account(struct journal *j, struct analytics_walk *w,
    const char *account)
{
	char	prefix[96], start[112];
	int64_t	d, last;

	snprintf(prefix, sizeof prefix, "%s/%s", account, w->detail ? "" :
	    "total/");
	for (d = w->from; d <= w->to; d = analytics_ymd(
	    analytics_day_number(last) + 1)) {
		last = analytics_walk_next(w, d);
		snprintf(start, sizeof start, "%s%08lld", prefix,
		    (long long)w->seg_from);
		if (journal_table_seek(j, ANALYTICS_TABLE, prefix,
		    strlen(prefix), start, strlen(start), analytics_walk_row,
		    w) == -1)
			return (-1);
	}
	return (0);
}

static int
analytics_walk(struct journal *j, struct analytics_walk *w, char **cause)
{
	json_t	*list, *a;
	size_t	 i;
	int	 rc = 0;

	memset(&w->row, 0, sizeof w->row);
	if (w->account != NULL)
		rc = analytics_walk_account(j, w, w->account);
	else {
		list = account_list(w->caller);
		json_array_foreach(list, i, a) {
			if (rc == 0)
				rc = analytics_walk_account(j, w,
				    json_string_value(json_object_get(a,
				    "name")));
		}
		json_decref(list);
	}
	analytics_row_free(&w->row);
	if (rc == -1) {
		*cause = xstrdup("cannot read the analytics table");
		return (-1);
	}
	return (0);
}

/* A walk of CALLER's rows of ACCOUNT over FROM..TO into FN with ARG. */
static void
analytics_walk_init(struct analytics_walk *w, const struct caller *caller,
    const char *account, int64_t from, int64_t to, int detail,
    void (*fn)(const struct analytics_row *, void *), void *arg)
{
	memset(w, 0, sizeof *w);
	w->caller = caller;
	w->account = account;
	w->from = from;
	w->to = to;
	w->detail = detail;
	w->fn = fn;
	w->arg = arg;
}

/*
 * Groups of rows by a name (an operation, a model, a schedule...): a hash
 * of entries of SIZE bytes, each beginning with a struct analytics_entry,
 * also kept in an array V in the order they came, to sort.
 */
struct analytics_entry {
	struct strmap_node	 node;	/* first */
	char			*key;
};

struct analytics_bag {
	struct strmap		  map;
	struct analytics_entry	**v;
	size_t			  n;
	size_t			  size;
	struct analytics_entry	 *last;	/* rows come grouped: a shortcut */
};

static void
analytics_bag_init(struct analytics_bag *b, size_t size)
{
	memset(b, 0, sizeof *b);
	strmap_init(&b->map);
	b->size = size;
}

/* The entry of KEY, a new zeroed one if none; *NEW says which. */
static void *
analytics_bag_get(struct analytics_bag *b, const char *key, int *new)
{
	struct analytics_entry	*e;

	*new = 0;
	if (b->last != NULL && strcmp(b->last->key, key) == 0)
		return (b->last);
	if ((e = (struct analytics_entry *)strmap_find(&b->map, key)) ==
	    NULL) {
		e = xcalloc(1, b->size);
		e->key = xstrdup(key);
		strmap_insert(&b->map, &e->node, e->key);
		b->v = xreallocarray(b->v, b->n + 1, sizeof *b->v);
		b->v[b->n++] = e;
		*new = 1;
	}
	b->last = e;
	return (e);
}

static void
analytics_bag_free(struct analytics_bag *b, void (*fn)(void *))
{
	size_t	i;

	for (i = 0; i < b->n; i++) {
		if (fn != NULL)
			fn(b->v[i]);
		free(b->v[i]->key);
		free(b->v[i]);
	}
	free(b->v);
	strmap_clear(&b->map);
	memset(b, 0, sizeof *b);
}

static void
analytics_sum_add(struct analytics_sum *t, const struct analytics_row *r)
{
	size_t	i;

	for (i = 0; i < ANALYTICS_STATUSES; i++)
		t->runs[i] += r->runs[i];
	t->cost_micro += r->cost_micro;
	t->latency_us_sum += r->latency_us_sum;
	t->timed += r->timed;
	for (i = 0; i < ANALYTICS_LATENCY_BUCKETS; i++)
		t->latency_hist[i] += r->latency_hist[i];
}

/* analytics.summary's totals (a walk's FN). */
static void
analytics_total_add(const struct analytics_row *r, void *arg)
{
	analytics_sum_add(arg, r);
}

/* The upper bound in ms of latency bucket B (the last: none). */
static json_t *
analytics_bucket_ms(int b)
{
	if (b >= ANALYTICS_LATENCY_BUCKETS - 1)
		return (json_null());
	return (json_integer((json_int_t)1 << b));
}

/* The bucket holding the Q-th fraction (Q in percent) of the timed runs,
 * or -1 with none. */
int
analytics_quantile_bucket(const int64_t *hist, int64_t n, int q)
{
	int64_t	rank, seen = 0;
	int	b;

	if (n <= 0)
		return (-1);
	rank = (n * q + 99) / 100;	/* nearest rank */
	for (b = 0; b < ANALYTICS_LATENCY_BUCKETS; b++) {
		seen += hist[b];
		if (seen >= rank)
			return (b);
	}
	return (ANALYTICS_LATENCY_BUCKETS - 1);
}

static json_t *
analytics_sum_json(const struct analytics_sum *t)
{
	json_t	*j;
	char	 buf[32];
	int64_t	 ran;
	int	 b;

	ran = t->runs[0] + t->runs[1] + t->runs[2] + t->runs[3];
	j = json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "cost_usd",
	    fmt_usd(t->cost_micro, buf, sizeof buf), "runs", (json_int_t)ran,
	    "success", (json_int_t)t->runs[0], "failed",
	    (json_int_t)t->runs[1], "cancelled", (json_int_t)t->runs[2],
	    "interrupted", (json_int_t)t->runs[3], "skipped",
	    (json_int_t)t->runs[4], "missed", (json_int_t)t->runs[5]);
	json_object_set_new(j, "success_rate", ran > 0 ?
	    json_real((double)t->runs[0] / (double)ran) : json_null());
	json_object_set_new(j, "latency_avg_ms", t->timed > 0 ?
	    json_real((double)t->latency_us_sum / (double)t->timed / 1000.0) :
	    json_null());
	b = analytics_quantile_bucket(t->latency_hist, t->timed, 95);
	json_object_set_new(j, "latency_p95_ms", b < 0 ? json_null() :
	    analytics_bucket_ms(b));
	return (j);
}

/* B minus A for each number of the two figures (null when either is). */
static json_t *
analytics_change(json_t *a, json_t *b)
{
	static const char *const keys[] = { "runs", "success", "failed",
	    "skipped", "success_rate", "latency_avg_ms", "latency_p95_ms" };
	json_t		*c = json_object(), *x, *y;
	int64_t		 ca, cb;
	char		 buf[32];
	size_t		 i;

	parse_usd(json_string_value(json_object_get(a, "cost_usd")), &ca);
	parse_usd(json_string_value(json_object_get(b, "cost_usd")), &cb);
	json_object_set_new(c, "cost_usd", json_string(fmt_usd(cb - ca, buf,
	    sizeof buf)));
	json_object_set_new(c, "cost_pct", ca > 0 ? json_real(100.0 *
	    (double)(cb - ca) / (double)ca) : json_null());
	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		x = json_object_get(a, keys[i]);
		y = json_object_get(b, keys[i]);
		json_object_set_new(c, keys[i], json_is_number(x) &&
		    json_is_number(y) ? json_real(json_number_value(y) -
		    json_number_value(x)) : json_null());
	}
	return (c);
}

/* yyyymmdd as "YYYY-MM-DD" into BUF. */
static void
analytics_day_text(int64_t ymd, char *buf, size_t len)
{
	snprintf(buf, len, "%04d-%02d-%02d", (int)(ymd / 10000 % 10000),
	    (int)(ymd / 100 % 100), (int)(ymd % 100));
}

json_t *
analytics_summary(struct journal *j, const struct caller *caller,
    const char *account, int64_t from, int64_t to, char **cause)
{
	struct analytics_sum	 sum[2];
	struct analytics_walk	 w;
	json_t			*cur, *prev, *out;
	char			 a[32], b[32], c[32], d[32];
	int64_t			 n, pfrom, pto;

	n = analytics_day_number(to) - analytics_day_number(from) + 1;
	if (n < 1 || n > 3660) {
		*cause = xstrdup("from must be on or before to, and the period "
		    "at most 3660 days");
		return (NULL);
	}
	memset(sum, 0, sizeof sum);
	pto = analytics_ymd(analytics_day_number(from) - 1);
	pfrom = analytics_ymd(analytics_day_number(from) - n);
	analytics_walk_init(&w, caller, account, from, to, 0,
	    analytics_total_add, &sum[0]);
	if (analytics_walk(j, &w, cause) != 0)
		return (NULL);
	analytics_walk_init(&w, caller, account, pfrom, pto, 0,
	    analytics_total_add, &sum[1]);
	if (analytics_walk(j, &w, cause) != 0)
		return (NULL);
	cur = analytics_sum_json(&sum[0]);
	prev = analytics_sum_json(&sum[1]);
	analytics_day_text(from, a, sizeof a);
	analytics_day_text(to, b, sizeof b);
	analytics_day_text(pfrom, c, sizeof c);
	analytics_day_text(pto, d, sizeof d);
	out = json_pack("{s:s?,s:s,s:s,s:I,s:{s:s,s:s},s:o,s:o}", "account",
	    account, "from", a, "to", b, "days", (json_int_t)n, "previous_period",
	    "from", c, "to", d, "current", cur, "previous", prev);
	json_object_set_new(out, "change", analytics_change(prev, cur));
	return (out);
}

int64_t
analytics_today(const char *account)
{
	struct civil	c;
	int64_t		sec = now_us() / USEC_PER_SEC;

	tz_to_civil(account != NULL ? account_tz(account) : tz_load("UTC",
	    NULL), sec, &c);
	return ((int64_t)c.year * 10000 + c.month * 100 + c.day);
}

int64_t
analytics_days_before(int64_t ymd, int64_t n)
{
	return (analytics_ymd(analytics_day_number(ymd) - n));
}

/* analytics.trends' buckets: STEP days each from FROM. */
struct analytics_series {
	int64_t			 from;	/* day number */
	int64_t			 step;
	size_t			 n;
	struct analytics_sum	*sum;
};

static void
analytics_series_add(const struct analytics_row *r, void *arg)
{
	struct analytics_series	*s = arg;
	int64_t			 i;

	i = (analytics_day_number(r->day) - s->from) / s->step;
	if (i >= 0 && (size_t)i < s->n)
		analytics_sum_add(&s->sum[i], r);
}

/* METRIC of T as JSON: "cost" dollars (a string), "runs" (those that
 * ran), "failures" (failed and interrupted), "latency_p95" (ms, the
 * bucket's bound; null without runs). */
static json_t *
analytics_metric(const char *metric, const struct analytics_sum *t)
{
	char	buf[32];
	int	b;

	if (strcmp(metric, "cost") == 0)
		return (json_string(fmt_usd(t->cost_micro, buf, sizeof buf)));
	if (strcmp(metric, "runs") == 0)
		return (json_integer(t->runs[0] + t->runs[1] + t->runs[2] +
		    t->runs[3]));
	if (strcmp(metric, "failures") == 0)
		return (json_integer(t->runs[1] + t->runs[3]));
	b = analytics_quantile_bucket(t->latency_hist, t->timed, 95);
	return (b < 0 ? json_null() : analytics_bucket_ms(b));
}

int
analytics_metric_valid(const char *metric)
{
	return (strcmp(metric, "cost") == 0 || strcmp(metric, "runs") == 0 ||
	    strcmp(metric, "failures") == 0 || strcmp(metric,
	    "latency_p95") == 0);
}

json_t *
analytics_trends(struct journal *j, const struct caller *caller,
    const char *account, int64_t from, int64_t to, const char *metric,
    int week, char **cause)
{
	struct analytics_series	 s;
	struct analytics_walk	 w;
	json_t			*series, *out;
	char			 a[32], b[32];
	int64_t			 days;
	size_t			 i;

	days = analytics_day_number(to) - analytics_day_number(from) + 1;
	if (days < 1 || days > 3660) {
		*cause = xstrdup("from must be on or before to, and the period "
		    "at most 3660 days");
		return (NULL);
	}
	memset(&s, 0, sizeof s);
	s.from = analytics_day_number(from);
	s.step = week ? 7 : 1;
	s.n = (size_t)((days + s.step - 1) / s.step);
	s.sum = xcalloc(s.n, sizeof *s.sum);
	analytics_walk_init(&w, caller, account, from, to, 0,
	    analytics_series_add, &s);
	w.days = 1;
	if (analytics_walk(j, &w, cause) != 0) {
		free(s.sum);
		return (NULL);
	}
	series = json_array();
	for (i = 0; i < s.n; i++) {
		analytics_day_text(analytics_ymd(s.from + (int64_t)i * s.step),
		    a, sizeof a);
		json_array_append_new(series, json_pack("{s:s,s:o}", "start", a,
		    "value", analytics_metric(metric, &s.sum[i])));
	}
	free(s.sum);
	analytics_day_text(from, a, sizeof a);
	analytics_day_text(to, b, sizeof b);
	out = json_pack("{s:s?,s:s,s:s,s:s,s:s,s:o}", "account", account,
	    "metric", metric, "granularity", week ? "week" : "day", "from", a,
	    "to", b, "series", series);
	return (out);
}

/* analytics.models' groups: one an operation and model. */
struct analytics_group {
	struct analytics_entry	 e;	/* first */
	char			*operation;
	char			*model;
	struct analytics_sum	 sum;
	int64_t			 costed;
};

/* "A\037B" into KEY (LEN bytes), cut short if need be. */
static void
analytics_join(char *key, size_t len, const char *a, const char *b)
{
	size_t	na = strlen(a), nb = strlen(b);

	if (na > len - 2)
		na = len - 2;
	if (nb > len - 2 - na)
		nb = len - 2 - na;
	memcpy(key, a, na);
	key[na] = '\037';
	memcpy(key + na + 1, b, nb);
	key[na + 1 + nb] = '\0';
}

static void
analytics_groups_add(const struct analytics_row *r, void *arg)
{
	struct analytics_group	*g;
	char			 key[ANALYTICS_KEY_MAX];
	int			 new;

	/* the unit separator: in neither name */
	analytics_join(key, sizeof key, r->operation, r->model != NULL ?
	    r->model : "\036");
	g = analytics_bag_get(arg, key, &new);
	if (new) {
		g->operation = xstrdup(r->operation);
		g->model = r->model != NULL ? xstrdup(r->model) : NULL;
	}
	analytics_sum_add(&g->sum, r);
	g->costed += r->costed;
}

static void
analytics_group_free(void *p)
{
	struct analytics_group	*g = p;

	free(g->operation);
	free(g->model);
}

static int
analytics_group_cmp(const void *x, const void *y)
{
	const struct analytics_group	*a = *(struct analytics_group *const *)x;
	const struct analytics_group	*b = *(struct analytics_group *const *)y;
	int				 c = strcmp(a->operation, b->operation);

	if (c != 0)
		return (c);
	if (a->model == NULL || b->model == NULL)
		return (a->model == NULL ? (b->model == NULL ? 0 : 1) : -1);
	return (strcmp(a->model, b->model));
}

/* Group G as analytics.models lists it. */
static json_t *
analytics_group_json(const struct analytics_group *g, int64_t ran)
{
	json_t	*m;
	char	 buf[32];
	int	 q;

	m = json_pack("{s:s,s:s,s:I,s:I,s:f}", "operation", g->operation,
	    "model", g->model, "runs", (json_int_t)ran, "success",
	    (json_int_t)g->sum.runs[0], "success_rate",
	    (double)g->sum.runs[0] / (double)ran);
	json_object_set_new(m, "cost_per_run_usd", g->costed > 0 ?
	    json_string(fmt_usd(g->sum.cost_micro / g->costed, buf,
	    sizeof buf)) : json_null());
	json_object_set_new(m, "latency_avg_ms", g->sum.timed > 0 ?
	    json_real((double)g->sum.latency_us_sum / (double)g->sum.timed /
	    1000.0) : json_null());
	q = analytics_quantile_bucket(g->sum.latency_hist, g->sum.timed, 95);
	json_object_set_new(m, "latency_p95_ms", q < 0 ? json_null() :
	    analytics_bucket_ms(q));
	return (m);
}

json_t *
analytics_models(struct journal *j, const struct caller *caller,
    const char *account, int64_t from, int64_t to, char **cause)
{
	struct analytics_bag	 gs;
	struct analytics_walk	 w;
	struct analytics_group	*g;
	json_t			*list;
	char			 a[32], b[32];
	int64_t			 ran;
	size_t			 i;

	if (analytics_day_number(to) < analytics_day_number(from)) {
		*cause = xstrdup("from must be on or before to");
		return (NULL);
	}
	analytics_bag_init(&gs, sizeof *g);
	analytics_walk_init(&w, caller, account, from, to, 1,
	    analytics_groups_add, &gs);
	if (analytics_walk(j, &w, cause) != 0) {
		analytics_bag_free(&gs, analytics_group_free);
		return (NULL);
	}
	xqsort(gs.v, gs.n, sizeof *gs.v, analytics_group_cmp);
	list = json_array();
	for (i = 0; i < gs.n; i++) {
		g = (struct analytics_group *)gs.v[i];
		ran = g->sum.runs[0] + g->sum.runs[1] + g->sum.runs[2] +
		    g->sum.runs[3];
		if (ran > 0 && g->model != NULL)	/* measured runs only */
			json_array_append_new(list, analytics_group_json(g,
			    ran));
	}
	analytics_bag_free(&gs, analytics_group_free);
	analytics_day_text(from, a, sizeof a);
	analytics_day_text(to, b, sizeof b);
	return (json_pack("{s:s?,s:s,s:s,s:o}", "account", account, "from", a,
	    "to", b, "models", list));
}

/* analytics.accuracy's groups: one an operation. */
struct analytics_acc {
	struct analytics_entry	 e;	/* first: the operation */
	int64_t			 estimated;
	int64_t			 within;
	int64_t			 error_ppm_sum;
	int64_t			 error_hist[ANALYTICS_ERROR_BUCKETS];
};

struct analytics_accs {
	struct analytics_bag	 bag;
	struct analytics_acc	 total;
};

static void
analytics_acc_sum(struct analytics_acc *t, const struct analytics_row *r)
{
	size_t	i;

	t->estimated += r->estimated;
	t->within += r->within;
	t->error_ppm_sum += r->error_ppm_sum;
	for (i = 0; i < ANALYTICS_ERROR_BUCKETS; i++)
		t->error_hist[i] += r->error_hist[i];
}

static void
analytics_accs_add(const struct analytics_row *r, void *arg)
{
	struct analytics_accs	*as = arg;
	int			 new;

	analytics_acc_sum(analytics_bag_get(&as->bag, r->operation, &new), r);
	analytics_acc_sum(&as->total, r);
}

/* Entries by key. */
static int
analytics_entry_cmp(const void *x, const void *y)
{
	return (strcmp((*(struct analytics_entry *const *)x)->key,
	    (*(struct analytics_entry *const *)y)->key));
}

/* The upper bounds in percent of the error buckets (the last: none). */
static const int analytics_error_pct[ANALYTICS_ERROR_BUCKETS - 1] = {
	5, 10, 20, 35, 50, 100
};

static json_t *
analytics_acc_json(const struct analytics_acc *t, const char *operation)
{
	json_t	*j;
	int64_t	 rank, seen = 0, under20;
	int	 b;

	j = json_pack("{s:s?,s:I}", "operation", operation, "estimated",
	    (json_int_t)t->estimated);
	if (t->estimated == 0) {
		json_object_set_new(j, "within_range_share", json_null());
		json_object_set_new(j, "within_20pct_share", json_null());
		json_object_set_new(j, "mean_error_pct", json_null());
		json_object_set_new(j, "p90_error_pct", json_null());
		return (j);
	}
	under20 = t->error_hist[0] + t->error_hist[1] + t->error_hist[2];
	json_object_set_new(j, "within_range_share", json_real(
	    (double)t->within / (double)t->estimated));
	json_object_set_new(j, "within_20pct_share", json_real(
	    (double)under20 / (double)t->estimated));
	json_object_set_new(j, "mean_error_pct", json_real(
	    (double)t->error_ppm_sum / (double)t->estimated / 10000.0));
	rank = (t->estimated * 90 + 99) / 100;
	for (b = 0; b < ANALYTICS_ERROR_BUCKETS - 1; b++) {
		seen += t->error_hist[b];
		if (seen >= rank)
			break;
	}
	json_object_set_new(j, "p90_error_pct", b < ANALYTICS_ERROR_BUCKETS -
	    1 ? json_integer(analytics_error_pct[b]) : json_null());
	return (j);
}


json_t *
analytics_accuracy(struct journal *j, const struct caller *caller,
    const char *account, int64_t from, int64_t to, char **cause)
{
	struct analytics_accs	 as;
	struct analytics_walk	 w;
	json_t			*list;
	char			 a[32], b[32];
	size_t			 i;

	if (analytics_day_number(to) < analytics_day_number(from)) {
		*cause = xstrdup("from must be on or before to");
		return (NULL);
	}
	memset(&as, 0, sizeof as);
	analytics_bag_init(&as.bag, sizeof as.total);
	analytics_walk_init(&w, caller, account, from, to, 1,
	    analytics_accs_add, &as);
	if (analytics_walk(j, &w, cause) != 0) {
		analytics_bag_free(&as.bag, NULL);
		return (NULL);
	}
	xqsort(as.bag.v, as.bag.n, sizeof *as.bag.v, analytics_entry_cmp);
	list = json_array();
	for (i = 0; i < as.bag.n; i++)
		json_array_append_new(list, analytics_acc_json(
		    (struct analytics_acc *)as.bag.v[i], as.bag.v[i]->key));
	analytics_bag_free(&as.bag, NULL);
	analytics_day_text(from, a, sizeof a);
	analytics_day_text(to, b, sizeof b);
	return (json_pack("{s:s?,s:s,s:s,s:i,s:o,s:o}", "account", account,
	    "from", a, "to", b, "target_pct", 20, "operations", list, "total",
	    analytics_acc_json(&as.total, NULL)));
}

/* analytics.breakdown's groups: one a value of the field asked for. */
struct analytics_part {
	struct analytics_entry	 e;	/* first: the value */
	struct analytics_sum	 sum;
};

struct analytics_parts {
	const char		*by;
	struct analytics_bag	 bag;
	struct analytics_sum	 total;
};

static void
analytics_parts_init(struct analytics_parts *ps, const char *by)
{
	memset(ps, 0, sizeof *ps);
	ps->by = by;
	analytics_bag_init(&ps->bag, sizeof (struct analytics_part));
}

static void
analytics_parts_add(const struct analytics_row *r, void *arg)
{
	struct analytics_parts	*ps = arg;
	struct analytics_part	*p;
	const char		*v;
	int			 new;

	if (strcmp(ps->by, "operation") == 0)
		v = r->operation;
	else if (strcmp(ps->by, "model") == 0)
		v = r->model;
	else if (strcmp(ps->by, "schedule") == 0)
		v = r->schedule;
	else
		v = r->account;
	p = analytics_bag_get(&ps->bag, v != NULL ? v : "-", &new);
	analytics_sum_add(&p->sum, r);
	analytics_sum_add(&ps->total, r);
}

/* By cost, then runs, then value. */
static int
analytics_part_cmp(const void *x, const void *y)
{
	const struct analytics_part	*a = *(struct analytics_part *const *)x;
	const struct analytics_part	*b = *(struct analytics_part *const *)y;
	int64_t				 ra, rb;

	if (a->sum.cost_micro != b->sum.cost_micro)
		return (a->sum.cost_micro > b->sum.cost_micro ? -1 : 1);
	ra = a->sum.runs[0] + a->sum.runs[1] + a->sum.runs[2] + a->sum.runs[3];
	rb = b->sum.runs[0] + b->sum.runs[1] + b->sum.runs[2] + b->sum.runs[3];
	if (ra != rb)
		return (ra > rb ? -1 : 1);
	return (strcmp(a->e.key, b->e.key));
}

int
analytics_by_valid(const char *by)
{
	return (strcmp(by, "operation") == 0 || strcmp(by, "model") == 0 ||
	    strcmp(by, "schedule") == 0 || strcmp(by, "account") == 0);
}

static json_t *
analytics_part_json(const struct analytics_part *p,
    const struct analytics_sum *total, const char *by, analytics_sched_fn sf)
{
	struct analytics_sched	 s;
	json_t			*j;
	char		 buf[32];
	int64_t		 ran, all;

	ran = p->sum.runs[0] + p->sum.runs[1] + p->sum.runs[2] +
	    p->sum.runs[3];
	all = total->runs[0] + total->runs[1] + total->runs[2] +
	    total->runs[3];
	j = json_pack("{s:s,s:s,s:I,s:I,s:I}", by, p->e.key, "cost_usd",
	    fmt_usd(p->sum.cost_micro, buf, sizeof buf), "runs",
	    (json_int_t)ran, "success", (json_int_t)p->sum.runs[0], "skipped",
	    (json_int_t)p->sum.runs[4]);
	if (strcmp(by, "schedule") == 0 && sf != NULL && sf(p->e.key,
	    &s) == 0)
		json_object_set_new(j, "name", json_string(s.name));
	json_object_set_new(j, "success_rate", ran > 0 ? json_real(
	    (double)p->sum.runs[0] / (double)ran) : json_null());
	json_object_set_new(j, "cost_share", total->cost_micro > 0 ?
	    json_real((double)p->sum.cost_micro / (double)total->cost_micro) :
	    json_null());
	json_object_set_new(j, "runs_share", all > 0 ? json_real((double)ran /
	    (double)all) : json_null());
	return (j);
}

json_t *
analytics_breakdown(struct journal *j, const struct caller *caller,
    const char *account, int64_t from, int64_t to, const char *by,
    analytics_sched_fn sf, char **cause)
{
	struct analytics_parts	 ps;
	struct analytics_walk	 w;
	json_t			*list, *out;
	char			 a[32], b[32], buf[32];
	size_t			 i;

	if (analytics_day_number(to) < analytics_day_number(from)) {
		*cause = xstrdup("from must be on or before to");
		return (NULL);
	}
	analytics_parts_init(&ps, by);
	/* by account: the accounts' totals are enough */
	analytics_walk_init(&w, caller, account, from, to,
	    strcmp(by, "account") != 0, analytics_parts_add, &ps);
	if (analytics_walk(j, &w, cause) != 0) {
		analytics_bag_free(&ps.bag, NULL);
		return (NULL);
	}
	xqsort(ps.bag.v, ps.bag.n, sizeof *ps.bag.v, analytics_part_cmp);
	list = json_array();
	for (i = 0; i < ps.bag.n; i++)
		json_array_append_new(list, analytics_part_json(
		    (struct analytics_part *)ps.bag.v[i], &ps.total, by, sf));
	analytics_bag_free(&ps.bag, NULL);
	analytics_day_text(from, a, sizeof a);
	analytics_day_text(to, b, sizeof b);
	out = json_pack("{s:s?,s:s,s:s,s:s,s:o,s:s}", "account", account,
	    "by", by, "from", a, "to", b, "parts", list, "total_cost_usd",
	    fmt_usd(ps.total.cost_micro, buf, sizeof buf));
	return (out);
}

/* The instant local midnight begins day Y-M-1 in TZ (the first instant
 * after a gap that swallows it). */
static int64_t
analytics_month_start(const struct tz *tz, int y, int m)
{
	struct civil	c;
	int64_t		t[2];
	int		h;

	memset(&c, 0, sizeof c);
	c.year = y;
	c.month = m;
	c.day = 1;
	for (h = 0; h < 24; h++) {
		c.hour = h;
		if (tz_from_civil(tz, &c, t) > 0)
			return (t[0] * USEC_PER_SEC);
	}
	return (0);
}

void
analytics_pace(json_t *status, const char *account, int64_t now)
{
	const struct tz	*tz = account_tz(account);
	struct civil	 c;
	json_t		*cap;
	int64_t		 start, end, spent, budget, proj, at;
	char		 buf[40];
	size_t		 i;

	tz_to_civil(tz, now / USEC_PER_SEC, &c);
	start = analytics_month_start(tz, c.year, c.month);
	end = analytics_month_start(tz, c.month == 12 ? c.year + 1 : c.year,
	    c.month == 12 ? 1 : c.month + 1);
	if (start <= 0 || end <= start || now < start)
		return;
	json_object_set_new(status, "month_elapsed", json_real(
	    (double)(now - start) / (double)(end - start)));
	json_array_foreach(json_object_get(status, "caps"), i, cap) {
		if (parse_usd(json_string_value(json_object_get(cap,
		    "spent_usd")), &spent) != 0 || parse_usd(json_string_value(
		    json_object_get(cap, "budget_usd")), &budget) != 0)
			continue;
		/* the month so far, carried on at the same pace */
		proj = now > start ? (int64_t)((double)spent *
		    (double)(end - start) / (double)(now - start)) : spent;
		json_object_set_new(cap, "projected_usd", json_string(
		    fmt_usd(proj, buf, sizeof buf)));
		json_object_set_new(cap, "pace_usd_per_day", json_string(
		    fmt_usd(now > start ? (int64_t)((double)spent * 86400e6 /
		    (double)(now - start)) : 0, buf, sizeof buf)));
		if (spent >= budget && budget > 0)
			at = now;	/* reached */
		else if (proj > budget && spent > 0)
			at = start + (int64_t)((double)(now - start) *
			    (double)budget / (double)spent);
		else
			at = 0;
		json_object_set_new(cap, "reaches_cap_at", at > 0 ?
		    json_string(fmt_rfc3339(at, buf, sizeof buf)) :
		    json_null());
	}
}

/*
 * analytics.recommendations: what to change, each with the figures
 * behind it.  From the rows of the last ANALYTICS_ADVICE_DAYS days
 * (per schedule and per operation and model) and from the caps' pace.
 */
#define ANALYTICS_ADVICE_DAYS	30
#define ANALYTICS_MIN_RUNS	10	/* a model's measured runs */
#define ANALYTICS_MIN_FAILING	3	/* a schedule's runs */
#define ANALYTICS_MIN_ESTIMATED	10	/* an operation's costed runs */

struct analytics_advice {
	struct analytics_parts	 schedules;
	struct analytics_bag	 models;
	struct analytics_accs	 ops;
};

static void
analytics_advice_add(const struct analytics_row *r, void *arg)
{
	struct analytics_advice	*ad = arg;

	analytics_parts_add(r, &ad->schedules);
	analytics_groups_add(r, &ad->models);
	analytics_accs_add(r, &ad->ops);
}

static void
analytics_advice_free(struct analytics_advice *ad)
{
	analytics_bag_free(&ad->schedules.bag, NULL);
	analytics_bag_free(&ad->models, analytics_group_free);
	analytics_bag_free(&ad->ops.bag, NULL);
}

/*
 * A recommendation: COMMAND is the chimectl command that applies it, APPLY
 * (taken; NULL: nothing to set) the same as a method call, {method,
 * params}, for a program to make.
 */
static json_t *
analytics_advice(const char *kind, const char *target, json_t *evidence,
    int64_t runs, const char *money_key, int64_t money, const char *command,
    json_t *apply)
{
	char	buf[32];

	return (json_pack("{s:s,s:s,s:o,s:I,s:s,s:s,s:o}", "kind", kind,
	    "target", target, "evidence", evidence, "runs", (json_int_t)runs,
	    money_key, fmt_usd(money, buf, sizeof buf), "command", command,
	    "apply", apply != NULL ? apply : json_null()));
}

/* The call of METHOD with PARAMS (taken). */
static json_t *
analytics_apply(const char *method, json_t *params)
{
	return (json_pack("{s:s,s:o}", "method", method, "params", params));
}

/* A schedule failing often: at least half of its runs that ran. */
static void
analytics_advise_failing(const char *account, struct analytics_parts *ps,
    analytics_sched_fn sf, json_t *list)
{
	struct analytics_part	*p;
	struct analytics_sched	 s;
	char			*cmd, *note;
	int64_t			 ran, bad, wasted;
	size_t			 i;

	for (i = 0; i < ps->bag.n; i++) {
		p = (struct analytics_part *)ps->bag.v[i];
		ran = p->sum.runs[0] + p->sum.runs[1] + p->sum.runs[2] +
		    p->sum.runs[3];
		bad = p->sum.runs[1] + p->sum.runs[3];
		if (ran < ANALYTICS_MIN_FAILING || bad * 2 < ran ||
		    sf(p->e.key, &s) != 0 || !s.active)
			continue;
		wasted = ran > 0 ? p->sum.cost_micro * bad / ran : 0;
		xasprintf(&note, "fails %lld of %lld runs", (long long)bad,
		    (long long)ran);
		xasprintf(&cmd, "chimectl schedule pause %s --account %s "
		    "--note \"%s\"", s.name, account, note);
		json_array_append_new(list, analytics_advice("failing_schedule",
		    s.name, json_pack("{s:s,s:I,s:I,s:f}", "schedule", p->e.key,
		    "failed", (json_int_t)bad, "ran", (json_int_t)ran,
		    "failure_rate", (double)bad / (double)ran), ran,
		    "monthly_risk_usd", wasted, cmd, analytics_apply(
		    "schedule.pause", json_pack("{s:s,s:s,s:s}", "id",
		    p->e.key, "account", account, "note", note))));
		free(note);
		free(cmd);
	}
}

static void	 analytics_skips_add(const struct analytics_row *, void *);

/* A schedule its cap skipped ("budget" skips). */
static void
analytics_advise_skipped(const char *account, struct journal *j,
    const struct caller *caller, int64_t from, int64_t to,
    analytics_sched_fn sf, json_t *list)
{
	struct analytics_parts	 ps;
	struct analytics_walk	 w;
	struct analytics_sched	 s;
	struct analytics_part	*p;
	char			*cmd = NULL, b[32], b2[32];
	size_t			 i;

	analytics_parts_init(&ps, "schedule");
	analytics_walk_init(&w, caller, account, from, to, 1,
	    analytics_skips_add, &ps);
	if (analytics_walk(j, &w, &cmd) != 0) {
		free(cmd);
		analytics_bag_free(&ps.bag, NULL);
		return;
	}
	for (i = 0; i < ps.bag.n; i++) {
		p = (struct analytics_part *)ps.bag.v[i];
		if (p->sum.runs[4] > 0 && sf(p->e.key, &s) == 0 &&
		    s.max_cost_month > 0) {
			/* room for the month's runs at their cost so far */
			xasprintf(&cmd, "chimectl schedule update %s --account "
			    "%s --max-cost-month %s", s.name, account,
			    fmt_usd(s.max_cost_month * 2, b, sizeof b));
			json_array_append_new(list, analytics_advice(
			    "skipped_by_cap", s.name, json_pack("{s:s,s:I,s:s}",
			    "schedule", p->e.key, "skipped_by_budget",
			    (json_int_t)p->sum.runs[4], "max_cost_month_usd",
			    fmt_usd(s.max_cost_month, b, sizeof b)),
			    p->sum.runs[4], "monthly_risk_usd", 0, cmd,
			    analytics_apply("schedule.update", json_pack(
			    "{s:s,s:s,s:s}", "id", p->e.key, "account",
			    account, "max_cost_month", fmt_usd(s.max_cost_month
			    * 2, b2, sizeof b2)))));
			free(cmd);
		}
	}
	analytics_bag_free(&ps.bag, NULL);
}

/* Only R's skips by a budget, counted as its schedule's skips. */
static void
analytics_skips_add(const struct analytics_row *r, void *arg)
{
	struct analytics_parts	*ps = arg;
	struct analytics_row	 only = *r;
	size_t			 i;
	int64_t			 budget = 0;

	for (i = 0; i < r->nreasons; i++) {
		if (strcmp(r->reason[i], "budget") == 0)
			budget = r->reason_n[i];
	}
	if (budget == 0)
		return;
	memset(only.runs, 0, sizeof only.runs);
	only.runs[4] = budget;
	only.cost_micro = 0;
	only.timed = 0;
	only.latency_us_sum = 0;
	memset(only.latency_hist, 0, sizeof only.latency_hist);
	analytics_parts_add(&only, ps);
}

/* The runs that ran of OPERATION with MODEL in GS. */
static int64_t
analytics_ran(struct analytics_bag *gs, const char *operation,
    const char *model)
{
	struct analytics_group	*g;
	char			 key[ANALYTICS_KEY_MAX];

	analytics_join(key, sizeof key, operation, model);
	if ((g = (struct analytics_group *)strmap_find(&gs->map, key)) ==
	    NULL)
		return (0);
	return (g->sum.runs[0] + g->sum.runs[1] + g->sum.runs[2] +
	    g->sum.runs[3]);
}

/* A cheaper model with an equal or better success rate, measured on
 * ANALYTICS_MIN_RUNS runs each. */
static void
analytics_advise_measured(const char *account, struct analytics_bag *gs,
    const struct analytics_group *a, json_t *list)
{
	struct analytics_group	*b;
	char			*cmd, ca[32], cb[32];
	int64_t			 ra, rb, pa, pb, saving;
	size_t			 k;

	ra = a->sum.runs[0] + a->sum.runs[1] + a->sum.runs[2] + a->sum.runs[3];
	pa = a->sum.cost_micro / a->costed;
	for (k = 0; k < gs->n; k++) {
		b = (struct analytics_group *)gs->v[k];
		rb = b->sum.runs[0] + b->sum.runs[1] + b->sum.runs[2] +
		    b->sum.runs[3];
		if (b == a || b->model == NULL || strcmp(b->operation,
		    a->operation) != 0 || rb < ANALYTICS_MIN_RUNS ||
		    b->costed == 0)
			continue;
		pb = b->sum.cost_micro / b->costed;
		if (pb >= pa || b->sum.runs[0] * ra < a->sum.runs[0] * rb)
			continue;
		saving = (pa - pb) * ra * 30 / ANALYTICS_ADVICE_DAYS;
		xasprintf(&cmd, "chimectl prefs set --account %s --op %s "
		    "--preferred-model %s", account, a->operation, b->model);
		json_array_append_new(list, analytics_advice("cheaper_model",
		    a->operation, json_pack(
		    "{s:s,s:s,s:s,s:s,s:f,s:f,s:I,s:I,s:b}", "model", a->model,
		    "cheaper", b->model, "cost_per_run_usd", fmt_usd(pa, ca,
		    sizeof ca), "cheaper_cost_per_run_usd", fmt_usd(pb, cb,
		    sizeof cb), "success_rate", (double)a->sum.runs[0] /
		    (double)ra, "cheaper_success_rate", (double)b->sum.runs[0] /
		    (double)rb, "model_runs", (json_int_t)ra, "cheaper_runs",
		    (json_int_t)rb, "measured", 1), ra + rb,
		    "monthly_saving_usd", saving, cmd, analytics_apply(
		    "prefs.set", json_pack("{s:s,s:s,s:s}", "account", account,
		    "operation", a->operation, "preferred_model", b->model))));
		free(cmd);
	}
}

/*
 * A cheaper model no run measured, from the catalog's prices: of the
 * catalog's models that never ran A's operation here, the one whose price
 * for the operation's token counts (the mid estimate) is lowest, when it
 * is below A's model's.  Its cost a run: A's measured cost scaled by the
 * ratio of the two prices; its success rate is not known (null), and the
 * evidence says it was not measured.
 */
static void
analytics_advise_priced(const char *account, struct analytics_bag *gs,
    const struct analytics_group *a, json_t *list)
{
	const struct catalog	*cat = engine != NULL ? engine->catalog : NULL;
	const struct operation	*op;
	const struct model	*ma, *best = NULL;
	struct cost_range	 ca, cb, cbest;
	char			*cmd, pa_s[32], pb_s[32];
	int64_t			 ra, pa, pb;
	size_t			 i;

	if (cat == NULL || (op = catalog_operation(cat, a->operation)) ==
	    NULL || (ma = catalog_model(cat, a->model)) == NULL)
		return;
	memset(&cbest, 0, sizeof cbest);
	cost_estimate(op, ma, &ca);
	for (i = 0; ca.mid > 0 && i < cat->nmodels; i++) {
		if (strcmp(cat->models[i].id, a->model) == 0 ||
		    analytics_ran(gs, a->operation, cat->models[i].id) > 0)
			continue;
		cost_estimate(op, &cat->models[i], &cb);
		if (cb.mid < ca.mid && (best == NULL || cb.mid < cbest.mid)) {
			best = &cat->models[i];
			cbest = cb;
		}
	}
	if (best == NULL)
		return;
	ra = a->sum.runs[0] + a->sum.runs[1] + a->sum.runs[2] + a->sum.runs[3];
	pa = a->sum.cost_micro / a->costed;
	pb = (int64_t)((double)pa * (double)cbest.mid / (double)ca.mid);
	xasprintf(&cmd, "chimectl prefs set --account %s --op %s "
	    "--preferred-model %s", account, a->operation, best->id);
	json_array_append_new(list, analytics_advice("cheaper_model",
	    a->operation, json_pack("{s:s,s:s,s:s,s:s,s:f,s:n,s:I,s:I,s:b,"
	    "s:s,s:f}", "model", a->model, "cheaper", best->id,
	    "cost_per_run_usd", fmt_usd(pa, pa_s, sizeof pa_s),
	    "cheaper_cost_per_run_usd", fmt_usd(pb, pb_s, sizeof pb_s),
	    "success_rate", (double)a->sum.runs[0] / (double)ra,
	    "cheaper_success_rate", "model_runs", (json_int_t)ra,
	    "cheaper_runs", (json_int_t)0, "measured", 0, "basis",
	    "catalog prices", "price_ratio", (double)cbest.mid /
	    (double)ca.mid), ra, "monthly_saving_usd", (pa - pb) * ra * 30 /
	    ANALYTICS_ADVICE_DAYS, cmd, analytics_apply("prefs.set",
	    json_pack("{s:s,s:s,s:s}", "account", account, "operation",
	    a->operation, "preferred_model", best->id))));
	free(cmd);
}

/* Cheaper models for each model measured on ANALYTICS_MIN_RUNS runs. */
static void
analytics_advise_models(const char *account, struct analytics_bag *gs,
    json_t *list)
{
	struct analytics_group	*a;
	int64_t			 ra;
	size_t			 i;

	for (i = 0; i < gs->n; i++) {
		a = (struct analytics_group *)gs->v[i];
		ra = a->sum.runs[0] + a->sum.runs[1] + a->sum.runs[2] +
		    a->sum.runs[3];
		if (a->model == NULL || ra < ANALYTICS_MIN_RUNS ||
		    a->costed == 0)
			continue;
		analytics_advise_measured(account, gs, a, list);
		analytics_advise_priced(account, gs, a, list);
	}
}

/* Estimates drifting: fewer than half within 20 % of the actual cost. */
static void
analytics_advise_drift(const char *account, struct analytics_accs *as,
    json_t *list)
{
	struct analytics_acc	*a;
	char			*cmd;
	int64_t			 under20;
	size_t			 i;

	for (i = 0; i < as->bag.n; i++) {
		a = (struct analytics_acc *)as->bag.v[i];
		under20 = a->error_hist[0] + a->error_hist[1] + a->error_hist[2];
		if (a->estimated < ANALYTICS_MIN_ESTIMATED ||
		    under20 * 2 >= a->estimated)
			continue;
		xasprintf(&cmd, "chimectl analytics accuracy --account %s",
		    account);
		json_array_append_new(list, analytics_advice("estimate_drift",
		    a->e.key, json_pack("{s:I,s:f,s:f}", "estimated",
		    (json_int_t)a->estimated, "within_20pct_share",
		    (double)under20 / (double)a->estimated, "mean_error_pct",
		    (double)a->error_ppm_sum / (double)a->estimated / 10000.0),
		    a->estimated, "monthly_risk_usd", 0, cmd, NULL));
		free(cmd);
	}
}

/* A cap that the month's pace reaches before its end (STATUS: pace's). */
static void
analytics_advise_caps(const char *account, json_t *status, json_t *list)
{
	json_t		*cap, *apply;
	const char	*at, *kind, *name;
	char		*cmd, b[32];
	int64_t		 proj, budget, spent;
	size_t		 i;

	json_array_foreach(json_object_get(status, "caps"), i, cap) {
		at = json_string_value(json_object_get(cap, "reaches_cap_at"));
		kind = json_string_value(json_object_get(cap, "kind"));
		name = json_string_value(json_object_get(cap, "name"));
		if (at == NULL || kind == NULL || name == NULL ||
		    parse_usd(json_string_value(json_object_get(cap,
		    "projected_usd")), &proj) != 0 ||
		    parse_usd(json_string_value(json_object_get(cap,
		    "budget_usd")), &budget) != 0 ||
		    parse_usd(json_string_value(json_object_get(cap,
		    "spent_usd")), &spent) != 0)
			continue;
		fmt_usd(proj > budget ? proj : budget, b, sizeof b);
		if (strcmp(kind, "schedule_max_cost_month") == 0) {
			xasprintf(&cmd, "chimectl schedule update %s --account "
			    "%s --max-cost-month %s", name, account, b);
			apply = analytics_apply("schedule.update", json_pack(
			    "{s:s,s:s,s:s}", "id", name, "account", account,
			    "max_cost_month", b));
		} else if (strcmp(kind, "operation_monthly_budget") == 0) {
			xasprintf(&cmd, "chimectl prefs set --account %s --op "
			    "%s --monthly-budget %s", account, name, b);
			apply = analytics_apply("prefs.set", json_pack(
			    "{s:s,s:s,s:s}", "account", account, "operation",
			    name, "monthly_budget", b));
		} else {
			xasprintf(&cmd, "chimectl account update %s "
			    "--monthly-budget %s", account, b);
			apply = analytics_apply("account.update", json_pack(
			    "{s:s,s:s}", "name", account, "monthly_budget", b));
		}
		json_array_append_new(list, analytics_advice("budget_runs_out",
		    name, json_pack("{s:s,s:O,s:O,s:O,s:s}", "cap", kind,
		    "budget_usd", json_object_get(cap, "budget_usd"), "spent_usd",
		    json_object_get(cap, "spent_usd"), "projected_usd",
		    json_object_get(cap, "projected_usd"), "reaches_cap_at", at),
		    0, "monthly_risk_usd", proj > budget ? proj - budget : 0,
		    cmd, apply));
		free(cmd);
	}
}

json_t *
analytics_recommendations(struct journal *j, const struct caller *caller,
    const char *account, json_t *pace, analytics_sched_fn sf, char **cause)
{
	struct analytics_advice	 ad;
	struct analytics_walk	 w;
	json_t			*list;
	int64_t			 to = analytics_today(account);
	int64_t			 from = analytics_days_before(to,
				     ANALYTICS_ADVICE_DAYS - 1);

	memset(&ad, 0, sizeof ad);
	analytics_parts_init(&ad.schedules, "schedule");
	analytics_bag_init(&ad.models, sizeof (struct analytics_group));
	analytics_bag_init(&ad.ops.bag, sizeof (struct analytics_acc));
	analytics_walk_init(&w, caller, account, from, to, 1,
	    analytics_advice_add, &ad);
	if (analytics_walk(j, &w, cause) != 0) {
		analytics_advice_free(&ad);
		return (NULL);
	}
	list = json_array();
	analytics_advise_models(account, &ad.models, list);
	analytics_advise_failing(account, &ad.schedules, sf, list);
	analytics_advise_skipped(account, j, caller, from, to, sf, list);
	analytics_advise_caps(account, pace, list);
	analytics_advise_drift(account, &ad.ops, list);
	analytics_advice_free(&ad);
	return (json_pack("{s:s,s:i,s:o}", "account", account, "days",
	    ANALYTICS_ADVICE_DAYS, "recommendations", list));
}
