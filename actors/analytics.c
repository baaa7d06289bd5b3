/*
 * actors/analytics.c: the aggregates the analytics read, one row per
 * account, operation, model, schedule and local day (table "analytics",
 * doc/journal-format.md): runs by final status, skips by reason, cost,
 * estimates against actuals, tokens, latency with a log-scale histogram.
 *
 * A run's end adds its contribution (a delta, from the run map its record
 * carries) to its row in the record's own transaction, through a journal
 * merge (jrec_merge: the writer reads the row as the transaction left it,
 * so two runs ending in one commit both count).  The day is the run's
 * finished instant (else its nominal one) in the account's zone.  Replay
 * adds the same delta from the same record: analytics_delta and
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

/* A row, decoded. */
struct analytics_row {
	char		*account;
	char		*operation;
	char		*model;			/* NULL: none chosen */
	char		*schedule;		/* or batch */
	int64_t		 day;			/* yyyymmdd */
	int64_t		 runs[ANALYTICS_STATUSES];
	char		*reason[ANALYTICS_REASONS];	/* skips by reason */
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
};

/* The upper bounds (exclusive) of the error buckets, in ppm; the last
 * bucket is everything above. */
static const int64_t analytics_error_bounds[ANALYTICS_ERROR_BUCKETS - 1] = {
	50000, 100000, 200000, 350000, 500000, 1000000
};

static void	 analytics_row_clear(struct analytics_row *);
static void	 analytics_row_read(const msgpack_object *,
		     struct analytics_row *);
static void	 analytics_row_pack(msgpack_packer *,
		     const struct analytics_row *);
static void	 analytics_ints(const msgpack_object *, const char *,
		     int64_t *, size_t);
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

static void
analytics_row_clear(struct analytics_row *r)
{
	size_t	i;

	free(r->account);
	free(r->operation);
	free(r->model);
	free(r->schedule);
	for (i = 0; i < r->nreasons; i++)
		free(r->reason[i]);
	memset(r, 0, sizeof *r);
}

/* The integers of array KEY of O into V (N of them; missing ones 0). */
static void
analytics_ints(const msgpack_object *o, const char *key, int64_t *v, size_t n)
{
	const msgpack_object	*a = unpack_get(o, key);
	size_t			 i;

	memset(v, 0, n * sizeof *v);
	if (a == NULL || a->type != MSGPACK_OBJECT_ARRAY)
		return;
	for (i = 0; i < n && i < a->via.array.size; i++)
		v[i] = unpack_val_int(&a->via.array.ptr[i], 0);
}

static void
analytics_row_read(const msgpack_object *o, struct analytics_row *r)
{
	const msgpack_object	*m;
	uint32_t		 i;
	size_t			 s;

	memset(r, 0, sizeof *r);
	if (o->type != MSGPACK_OBJECT_MAP)
		return;
	r->account = unpack_strdup(o, "account");
	r->operation = unpack_strdup(o, "operation");
	r->model = unpack_strdup(o, "model");
	r->schedule = unpack_strdup(o, "schedule");
	r->day = unpack_int(o, "day", 0);
	if ((m = unpack_get(o, "runs")) != NULL)
		for (s = 0; s < ANALYTICS_STATUSES; s++)
			r->runs[s] = unpack_int(m, analytics_statuses[s], 0);
	if ((m = unpack_get(o, "skipped")) != NULL &&
	    m->type == MSGPACK_OBJECT_MAP) {
		for (i = 0; i < m->via.map.size &&
		    r->nreasons < ANALYTICS_REASONS; i++) {
			if (m->via.map.ptr[i].key.type != MSGPACK_OBJECT_STR)
				continue;
			r->reason[r->nreasons] = xstrndup(
			    m->via.map.ptr[i].key.via.str.ptr,
			    m->via.map.ptr[i].key.via.str.size);
			r->reason_n[r->nreasons++] = unpack_val_int(
			    &m->via.map.ptr[i].val, 0);
		}
	}
	r->cost_micro = unpack_int(o, "cost_micro", 0);
	r->costed = unpack_int(o, "costed", 0);
	r->estimate_mid_micro = unpack_int(o, "estimate_mid_micro", 0);
	r->estimated = unpack_int(o, "estimated", 0);
	r->within = unpack_int(o, "within", 0);
	r->error_ppm_sum = unpack_int(o, "error_ppm_sum", 0);
	analytics_ints(o, "error_hist", r->error_hist, ANALYTICS_ERROR_BUCKETS);
	r->input_tokens = unpack_int(o, "input_tokens", 0);
	r->output_tokens = unpack_int(o, "output_tokens", 0);
	r->latency_us_sum = unpack_int(o, "latency_us_sum", 0);
	r->timed = unpack_int(o, "timed", 0);
	analytics_ints(o, "latency_hist", r->latency_hist,
	    ANALYTICS_LATENCY_BUCKETS);
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
	size_t	i;

	msgpack_pack_map(pk, 20);
	pack_kstr(pk, "account", r->account);
	pack_kstr(pk, "operation", r->operation);
	pack_kstr(pk, "model", r->model);
	pack_kstr(pk, "schedule", r->schedule);
	pack_kint(pk, "day", r->day);
	pack_str(pk, "runs");
	msgpack_pack_map(pk, ANALYTICS_STATUSES);
	for (i = 0; i < ANALYTICS_STATUSES; i++)
		pack_kint(pk, analytics_statuses[i], r->runs[i]);
	pack_str(pk, "skipped");
	msgpack_pack_map(pk, r->nreasons);
	for (i = 0; i < r->nreasons; i++)
		pack_kint(pk, r->reason[i], r->reason_n[i]);
	pack_kint(pk, "cost_micro", r->cost_micro);
	pack_kint(pk, "costed", r->costed);
	pack_kint(pk, "estimate_mid_micro", r->estimate_mid_micro);
	pack_kint(pk, "estimated", r->estimated);
	pack_kint(pk, "within", r->within);
	pack_kint(pk, "error_ppm_sum", r->error_ppm_sum);
	analytics_pack_ints(pk, "error_hist", r->error_hist,
	    ANALYTICS_ERROR_BUCKETS);
	pack_kint(pk, "input_tokens", r->input_tokens);
	pack_kint(pk, "output_tokens", r->output_tokens);
	pack_kint(pk, "latency_us_sum", r->latency_us_sum);
	pack_kint(pk, "timed", r->timed);
	analytics_pack_ints(pk, "latency_hist", r->latency_hist,
	    ANALYTICS_LATENCY_BUCKETS);
	pack_kint(pk, "format", 1);
}

/* The first word of a skip's reason ("budget: ..." counts as "budget"),
 * at most 32 bytes (allocated). */
static char *
analytics_reason(const char *reason)
{
	size_t	n;

	if (reason == NULL || *reason == '\0')
		return (xstrdup("unknown"));
	n = strcspn(reason, " :(,");
	if (n == 0)
		return (xstrdup("unknown"));
	return (xstrndup(reason, n > 32 ? 32 : n));
}

int
analytics_delta(const char *account, const msgpack_object *run,
    const struct tz *tz, struct pack_buffer *delta, char *key, size_t keylen)
{
	const msgpack_object	*est, *usage;
	struct civil		 c;
	char			*op, *model, *status, *reason, *sched;
	int64_t			 when, sec, day, cost, low = -1, mid = -1;
	int64_t			 high = -1, in = -1, out = -1, lat = -1;
	int64_t			 started, finished;
	size_t			 s;

	if (account == NULL || run->type != MSGPACK_OBJECT_MAP)
		return (1);
	op = unpack_strdup(run, "operation");
	status = unpack_strdup(run, "status");
	for (s = 0; status != NULL && s < ANALYTICS_STATUSES; s++) {
		if (strcmp(status, analytics_statuses[s]) == 0)
			break;
	}
	if (op == NULL || status == NULL || s == ANALYTICS_STATUSES) {
		free(op);
		free(status);
		return (1);
	}
	model = unpack_strdup(run, "model");
	sched = unpack_strdup(run, "schedule");
	reason = unpack_strdup(run, "reason");
	finished = unpack_int(run, "finished_us", 0);
	started = unpack_int(run, "started_us", 0);
	when = finished > 0 ? finished : unpack_int(run, "scheduled_for_us",
	    0);
	sec = when / USEC_PER_SEC - (when < 0 && when % USEC_PER_SEC != 0);
	tz_to_civil(tz, sec, &c);
	day = (int64_t)c.year * 10000 + c.month * 100 + c.day;
	cost = unpack_int(run, "cost_micro", -1);
	if ((est = unpack_get(run, "estimate_micro")) != NULL &&
	    est->type == MSGPACK_OBJECT_MAP) {
		low = unpack_int(est, "low", -1);
		mid = unpack_int(est, "mid", -1);
		high = unpack_int(est, "high", -1);
	}
	if ((usage = unpack_get(run, "usage")) != NULL &&
	    usage->type == MSGPACK_OBJECT_MAP) {
		in = unpack_int(usage, "input_tokens", -1);
		out = unpack_int(usage, "output_tokens", -1);
	}
	if (started > 0 && finished >= started &&
	    (s == 0 || s == 1 || s == 2 || s == 3))
		lat = finished - started;
	/* the day first: a period is a range of keys */
	snprintf(key, keylen, "%s/%08lld/%s/%s/%s", account, (long long)day,
	    op, model != NULL ? model : "-", sched != NULL ? sched : "-");
	msgpack_pack_map(&delta->pk, 14);
	pack_kstr(&delta->pk, "account", account);
	pack_kstr(&delta->pk, "operation", op);
	pack_kstr(&delta->pk, "model", model);
	pack_kstr(&delta->pk, "schedule", sched);
	pack_kint(&delta->pk, "day", day);
	pack_kint(&delta->pk, "status", (int64_t)s);
	if (s == 4) {
		free(status);
		status = analytics_reason(reason);
		pack_kstr(&delta->pk, "reason", status);
	} else
		pack_kstr(&delta->pk, "reason", NULL);
	pack_kint(&delta->pk, "cost", cost);
	pack_kint(&delta->pk, "low", low);
	pack_kint(&delta->pk, "mid", mid);
	pack_kint(&delta->pk, "high", high);
	pack_kint(&delta->pk, "in", in);
	pack_kint(&delta->pk, "out", out);
	pack_kint(&delta->pk, "latency_us", lat);
	free(op);
	free(model);
	free(sched);
	free(status);
	free(reason);
	return (0);
}

/* Add the skip REASON to R (an unknown one past the bound counts as
 * "other"). */
static void
analytics_add_reason(struct analytics_row *r, const char *reason)
{
	size_t	i;

	for (i = 0; i < r->nreasons; i++) {
		if (strcmp(r->reason[i], reason) == 0) {
			r->reason_n[i]++;
			return;
		}
	}
	if (r->nreasons == ANALYTICS_REASONS) {
		analytics_add_reason(r, "other");	/* "other" is last */
		return;
	}
	if (r->nreasons == ANALYTICS_REASONS - 1 && strcmp(reason,
	    "other") != 0)
		reason = "other";
	r->reason[r->nreasons] = xstrdup(reason);
	r->reason_n[r->nreasons++] = 1;
}

void
analytics_merge(const void *old, size_t oldlen, const void *delta,
    size_t dlen, msgpack_sbuffer *out)
{
	struct analytics_row	 r;
	msgpack_unpacked	 u, d;
	msgpack_packer		 pk;
	const msgpack_object	*o;
	char			*reason;
	int64_t			 s, cost, low, mid, high, v, err;

	memset(&r, 0, sizeof r);
	if (old != NULL && oldlen > 0 && unpack_buffer(old, oldlen, &u) == 0) {
		analytics_row_read(&u.data, &r);
		msgpack_unpacked_destroy(&u);
	}
	msgpack_packer_init(&pk, out, msgpack_sbuffer_write);
	if (unpack_buffer(delta, dlen, &d) != 0) {
		analytics_row_pack(&pk, &r);	/* not reached: ours */
		analytics_row_clear(&r);
		return;
	}
	o = &d.data;
	if (r.account == NULL) {
		r.account = unpack_strdup(o, "account");
		r.operation = unpack_strdup(o, "operation");
		r.model = unpack_strdup(o, "model");
		r.schedule = unpack_strdup(o, "schedule");
		r.day = unpack_int(o, "day", 0);
	}
	s = unpack_int(o, "status", -1);
	if (s >= 0 && s < ANALYTICS_STATUSES)
		r.runs[s]++;
	if (s == 4 && (reason = unpack_strdup(o, "reason")) != NULL) {
		analytics_add_reason(&r, reason);
		free(reason);
	}
	cost = unpack_int(o, "cost", -1);
	low = unpack_int(o, "low", -1);
	mid = unpack_int(o, "mid", -1);
	high = unpack_int(o, "high", -1);
	if (cost >= 0 && s >= 0 && s <= 3) {
		r.cost_micro += cost;
		r.costed++;
		if (mid >= 0) {
			r.estimate_mid_micro += mid;
			r.estimated++;
			if (cost >= low && cost <= high)
				r.within++;
			err = cost > 0 ? (cost > mid ? cost - mid : mid - cost) *
			    1000000 / cost : (mid > 0 ? 1000000 : 0);
			r.error_ppm_sum += err;
			r.error_hist[analytics_error_bucket(err)]++;
		}
	}
	if ((v = unpack_int(o, "in", -1)) > 0)
		r.input_tokens += v;
	if ((v = unpack_int(o, "out", -1)) > 0)
		r.output_tokens += v;
	if ((v = unpack_int(o, "latency_us", -1)) >= 0) {
		r.latency_us_sum += v;
		r.timed++;
		r.latency_hist[analytics_latency_bucket(v)]++;
	}
	msgpack_unpacked_destroy(&d);
	analytics_row_pack(&pk, &r);
	analytics_row_clear(&r);
}

void
analytics_add(struct jrec *rec, const char *account, const void *run,
    size_t len)
{
	struct pack_buffer	 pb;
	msgpack_unpacked	 u;
	char			 key[ANALYTICS_KEY_MAX];

	if (account == NULL || unpack_buffer(run, len, &u) != 0)
		return;
	pack_buffer_init(&pb);
	if (analytics_delta(account, &u.data, account_tz(account), &pb, key,
	    sizeof key) == 0)
		jrec_merge(rec, ANALYTICS_TABLE, key, strlen(key),
		    analytics_merge, pb.sbuf.data, pb.sbuf.size);
	pack_buffer_clear(&pb);
	msgpack_unpacked_destroy(&u);
}

/*
 * Building the table from the log, once: a journal written before the
 * table existed has run ends that never added to it.  The walk replays
 * what analytics_add would have done (each account's zone as its account.*
 * records set it, as replay's fold reads it), then the rows go in
 * analytics.rebuilt records of at most ANALYTICS_REBUILD_ROWS puts each,
 * the last one claiming ANALYTICS_CLAIM: a journal that has the claim has
 * its table whole (a new journal claims it at its first start, with no
 * rows).
 */
struct analytics_build_row {
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
	struct strmap		 rows;
	struct strmap		 zones;
	uint64_t		 records;
	uint64_t		 runs;
	char			*cause;
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

static void
analytics_build_run(struct analytics_build *b, const struct record *rec)
{
	struct analytics_build_row	*r;
	struct pack_buffer		 d;
	msgpack_sbuffer			 out;
	char				 key[ANALYTICS_KEY_MAX];

	pack_buffer_init(&d);
	if (analytics_delta(rec->account, &rec->body,
	    analytics_build_tz(b, rec->account), &d, key, sizeof key) != 0) {
		pack_buffer_clear(&d);
		return;
	}
	r = (struct analytics_build_row *)strmap_find(&b->rows, key);
	msgpack_sbuffer_init(&out);
	analytics_merge(r != NULL ? r->row.data : NULL, r != NULL ?
	    r->row.size : 0, d.sbuf.data, d.sbuf.size, &out);
	pack_buffer_clear(&d);
	if (r == NULL) {
		r = xcalloc(1, sizeof *r);
		r->key = xstrdup(key);
		strmap_insert(&b->rows, &r->node, r->key);
	} else
		msgpack_sbuffer_destroy(&r->row);
	r->row = out;
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


static void
analytics_build_free_row(struct strmap_node *n, void *arg)
{
	struct analytics_build_row	*r = (struct analytics_build_row *)n;

	msgpack_sbuffer_destroy(&r->row);
	free(r->key);
	free(r);
}

static void
analytics_build_free_zone(struct strmap_node *n, void *arg)
{
	struct analytics_build_zone	*z = (struct analytics_build_zone *)n;

	free(z->account);
	free(z);
}

/* Every row, in an array. */
struct analytics_list {
	struct analytics_build_row	**v;
	size_t				  n;
};

static void
analytics_list_row(struct strmap_node *n, void *arg)
{
	struct analytics_list	*l = arg;

	l->v[l->n++] = (struct analytics_build_row *)n;
}

static void
analytics_rebuilt_cb(const struct journal_result *res, void *arg)
{
	if (res->status == JOURNAL_ERROR)
		log_warnx("msg=\"analytics: a rebuilt record was not written; "
		    "the next start builds the table again\" error=\"%s\"",
		    res->error != NULL ? res->error : "?");
}

int
analytics_rebuild(struct journal *j, char **cause)
{
	struct analytics_build		 b;
	struct analytics_list		 l;
	struct analytics_build_row	*r;
	struct journal_meta		 m;
	struct jrec			*rec;
	msgpack_packer			*pk;
	size_t				 total, from, i;
	int64_t				 start = mono_us();

	if (journal_dedup_seq(j, ANALYTICS_CLAIM) != 0)
		return (0);
	if (journal_meta(j, &m, cause) != 0)
		return (-1);
	memset(&b, 0, sizeof b);
	strmap_init(&b.rows);
	strmap_init(&b.zones);
	if (journal_log_foreach(j, m.anchor_seq + 1, NULL,
	    analytics_build_entry, &b, cause) != 0) {
		strmap_foreach(&b.rows, analytics_build_free_row, NULL);
		strmap_foreach(&b.zones, analytics_build_free_zone, NULL);
		strmap_clear(&b.rows);
		strmap_clear(&b.zones);
		return (-1);
	}
	total = b.rows.count;
	l.v = xcalloc(total + 1, sizeof *l.v);
	l.n = 0;
	strmap_foreach(&b.rows, analytics_list_row, &l);
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
		msgpack_pack_map(pk, 5);
		pack_kint(pk, "rows", (int64_t)(total - from));
		pack_kint(pk, "rows_total", (int64_t)total);
		pack_kint(pk, "records", (int64_t)b.records);
		pack_kint(pk, "runs", (int64_t)b.runs);
		pack_kint(pk, "from_seq", (int64_t)m.anchor_seq + 1);
		jrec_claim(rec, ANALYTICS_CLAIM);
		journal_submit(j, rec, analytics_rebuilt_cb, NULL);
		break;
	}
	free(l.v);
	journal_flush(j);
	log_info("msg=\"analytics table built from the log\" records=%llu "
	    "runs=%llu rows=%zu ms=%lld", (unsigned long long)b.records,
	    (unsigned long long)b.runs, total,
	    (long long)((mono_us() - start) / USEC_PER_MSEC));
	strmap_foreach(&b.rows, analytics_build_free_row, NULL);
	strmap_foreach(&b.zones, analytics_build_free_zone, NULL);
	strmap_clear(&b.rows);
	strmap_clear(&b.zones);
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

/* A walk over the rows of days FROM..TO that CALLER may see (of ACCOUNT
 * only, unless NULL), each handed to FN. */
struct analytics_walk {
	const struct caller	*caller;
	const char		*account;
	int64_t			 from;
	int64_t			 to;
	void			(*fn)(const struct analytics_row *, void *);
	void			*arg;
};

static int
analytics_walk_row(const struct journal_row *row, void *arg)
{
	struct analytics_walk	*w = arg;
	struct analytics_row	 r;
	struct account		*a;
	msgpack_unpacked	 u;
	const char		*k = row->key;
	size_t			 n, i;
	int64_t			 day = 0;

	/* one account's rows are in day order: stop past the last day */
	if (w->account != NULL && row->klen >= (n = strlen(w->account)) + 10) {
		for (i = n + 1; i < n + 9 && k[i] >= '0' && k[i] <= '9'; i++)
			day = day * 10 + (k[i] - '0');
		if (i == n + 9 && day > w->to)
			return (1);
	}
	if (unpack_buffer(row->val, row->vlen, &u) != 0)
		return (0);
	analytics_row_read(&u.data, &r);
	msgpack_unpacked_destroy(&u);
	if (r.day >= w->from && r.day <= w->to && r.account != NULL &&
	    r.operation != NULL && (w->account != NULL ||
	    ((a = account_find(r.account)) != NULL &&
	    account_allows(a, w->caller))))
		w->fn(&r, w->arg);
	analytics_row_clear(&r);
	return (0);
}

static int
analytics_walk(struct journal *j, struct analytics_walk *w, char **cause)
{
	char	prefix[80], start[96];
	int	rc;

	if (w->account != NULL) {
		/* ACCOUNT/FROM...: a range, read from its first day */
		snprintf(prefix, sizeof prefix, "%s/", w->account);
		snprintf(start, sizeof start, "%s/%08lld", w->account,
		    (long long)w->from);
		rc = journal_table_seek(j, ANALYTICS_TABLE, prefix,
		    strlen(prefix), start, strlen(start), analytics_walk_row, w);
	} else
		rc = journal_table_foreach(j, ANALYTICS_TABLE, NULL, 0, 0,
		    analytics_walk_row, w);
	if (rc == -1) {
		*cause = xstrdup("cannot read the analytics table");
		return (-1);
	}
	return (0);
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

/* analytics.summary's two periods: the current from FROM. */
struct analytics_periods {
	int64_t			 from;
	struct analytics_sum	 sum[2];
};

static void
analytics_periods_add(const struct analytics_row *r, void *arg)
{
	struct analytics_periods	*p = arg;

	analytics_sum_add(&p->sum[r->day >= p->from ? 0 : 1], r);
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
	struct analytics_periods p;
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
	memset(&p, 0, sizeof p);
	p.from = from;
	pto = analytics_ymd(analytics_day_number(from) - 1);
	pfrom = analytics_ymd(analytics_day_number(from) - n);
	w.caller = caller;
	w.account = account;
	w.from = pfrom;
	w.to = to;
	w.fn = analytics_periods_add;
	w.arg = &p;
	if (analytics_walk(j, &w, cause) != 0)
		return (NULL);
	cur = analytics_sum_json(&p.sum[0]);
	prev = analytics_sum_json(&p.sum[1]);
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
	w.caller = caller;
	w.account = account;
	w.from = from;
	w.to = to;
	w.fn = analytics_series_add;
	w.arg = &s;
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
	char			*operation;
	char			*model;
	struct analytics_sum	 sum;
	int64_t			 costed;
};

struct analytics_groups {
	struct analytics_group	*g;
	size_t			 n;
};

static void
analytics_groups_add(const struct analytics_row *r, void *arg)
{
	struct analytics_groups	*gs = arg;
	struct analytics_group	*g;
	size_t			 i;

	for (i = 0; i < gs->n; i++) {
		g = &gs->g[i];
		if (strcmp(g->operation, r->operation) == 0 &&
		    ((g->model == NULL && r->model == NULL) || (g->model !=
		    NULL && r->model != NULL && strcmp(g->model,
		    r->model) == 0)))
			break;
	}
	if (i == gs->n) {
		gs->g = xreallocarray(gs->g, gs->n + 1, sizeof *gs->g);
		g = &gs->g[gs->n++];
		memset(g, 0, sizeof *g);
		g->operation = xstrdup(r->operation);
		g->model = r->model != NULL ? xstrdup(r->model) : NULL;
	}
	analytics_sum_add(&gs->g[i].sum, r);
	gs->g[i].costed += r->costed;
}

static int
analytics_group_cmp(const void *x, const void *y)
{
	const struct analytics_group	*a = x, *b = y;
	int				 c = strcmp(a->operation, b->operation);

	if (c != 0)
		return (c);
	if (a->model == NULL || b->model == NULL)
		return (a->model == NULL ? (b->model == NULL ? 0 : 1) : -1);
	return (strcmp(a->model, b->model));
}

json_t *
analytics_models(struct journal *j, const struct caller *caller,
    const char *account, int64_t from, int64_t to, char **cause)
{
	struct analytics_groups	 gs;
	struct analytics_walk	 w;
	struct analytics_group	*g;
	json_t			*list, *m;
	char			 a[32], b[32], buf[32];
	int64_t			 ran;
	size_t			 i;
	int			 q;

	if (analytics_day_number(to) < analytics_day_number(from)) {
		*cause = xstrdup("from must be on or before to");
		return (NULL);
	}
	memset(&gs, 0, sizeof gs);
	w.caller = caller;
	w.account = account;
	w.from = from;
	w.to = to;
	w.fn = analytics_groups_add;
	w.arg = &gs;
	if (analytics_walk(j, &w, cause) != 0)
		return (NULL);
	qsort(gs.g, gs.n, sizeof *gs.g, analytics_group_cmp);
	list = json_array();
	for (i = 0; i < gs.n; i++) {
		g = &gs.g[i];
		ran = g->sum.runs[0] + g->sum.runs[1] + g->sum.runs[2] +
		    g->sum.runs[3];
		if (ran == 0 || g->model == NULL) {
			free(g->operation);
			free(g->model);
			continue;	/* measured runs only */
		}
		m = json_pack("{s:s,s:s,s:I,s:I,s:f}", "operation",
		    g->operation, "model", g->model, "runs", (json_int_t)ran,
		    "success", (json_int_t)g->sum.runs[0], "success_rate",
		    (double)g->sum.runs[0] / (double)ran);
		json_object_set_new(m, "cost_per_run_usd", g->costed > 0 ?
		    json_string(fmt_usd(g->sum.cost_micro / g->costed, buf,
		    sizeof buf)) : json_null());
		json_object_set_new(m, "latency_avg_ms", g->sum.timed > 0 ?
		    json_real((double)g->sum.latency_us_sum /
		    (double)g->sum.timed / 1000.0) : json_null());
		q = analytics_quantile_bucket(g->sum.latency_hist,
		    g->sum.timed, 95);
		json_object_set_new(m, "latency_p95_ms", q < 0 ? json_null() :
		    analytics_bucket_ms(q));
		json_array_append_new(list, m);
		free(g->operation);
		free(g->model);
	}
	free(gs.g);
	analytics_day_text(from, a, sizeof a);
	analytics_day_text(to, b, sizeof b);
	return (json_pack("{s:s?,s:s,s:s,s:o}", "account", account, "from", a,
	    "to", b, "models", list));
}

/* analytics.accuracy's groups: one an operation. */
struct analytics_acc {
	char		*operation;
	int64_t		 estimated;
	int64_t		 within;
	int64_t		 error_ppm_sum;
	int64_t		 error_hist[ANALYTICS_ERROR_BUCKETS];
};

struct analytics_accs {
	struct analytics_acc	*a;
	size_t			 n;
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
	size_t			 i;

	for (i = 0; i < as->n; i++) {
		if (strcmp(as->a[i].operation, r->operation) == 0)
			break;
	}
	if (i == as->n) {
		as->a = xreallocarray(as->a, as->n + 1, sizeof *as->a);
		memset(&as->a[as->n], 0, sizeof *as->a);
		as->a[as->n++].operation = xstrdup(r->operation);
	}
	analytics_acc_sum(&as->a[i], r);
	analytics_acc_sum(&as->total, r);
}

static int
analytics_acc_cmp(const void *x, const void *y)
{
	const struct analytics_acc	*a = x, *b = y;

	return (strcmp(a->operation, b->operation));
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
	w.caller = caller;
	w.account = account;
	w.from = from;
	w.to = to;
	w.fn = analytics_accs_add;
	w.arg = &as;
	if (analytics_walk(j, &w, cause) != 0)
		return (NULL);
	qsort(as.a, as.n, sizeof *as.a, analytics_acc_cmp);
	list = json_array();
	for (i = 0; i < as.n; i++) {
		json_array_append_new(list, analytics_acc_json(&as.a[i],
		    as.a[i].operation));
		free(as.a[i].operation);
	}
	free(as.a);
	analytics_day_text(from, a, sizeof a);
	analytics_day_text(to, b, sizeof b);
	return (json_pack("{s:s?,s:s,s:s,s:i,s:o,s:o}", "account", account,
	    "from", a, "to", b, "target_pct", 20, "operations", list, "total",
	    analytics_acc_json(&as.total, NULL)));
}

/* analytics.breakdown's groups: one a value of the field asked for. */
struct analytics_part {
	char			*value;
	struct analytics_sum	 sum;
};

struct analytics_parts {
	const char		*by;
	struct analytics_part	*p;
	size_t			 n;
	struct analytics_sum	 total;
};

static void
analytics_parts_add(const struct analytics_row *r, void *arg)
{
	struct analytics_parts	*ps = arg;
	const char		*v;
	size_t			 i;

	if (strcmp(ps->by, "operation") == 0)
		v = r->operation;
	else if (strcmp(ps->by, "model") == 0)
		v = r->model;
	else if (strcmp(ps->by, "schedule") == 0)
		v = r->schedule;
	else
		v = r->account;
	if (v == NULL)
		v = "-";
	for (i = 0; i < ps->n; i++) {
		if (strcmp(ps->p[i].value, v) == 0)
			break;
	}
	if (i == ps->n) {
		ps->p = xreallocarray(ps->p, ps->n + 1, sizeof *ps->p);
		memset(&ps->p[ps->n], 0, sizeof *ps->p);
		ps->p[ps->n++].value = xstrdup(v);
	}
	analytics_sum_add(&ps->p[i].sum, r);
	analytics_sum_add(&ps->total, r);
}

/* By cost, then runs, then value. */
static int
analytics_part_cmp(const void *x, const void *y)
{
	const struct analytics_part	*a = x, *b = y;
	int64_t				 ra, rb;

	if (a->sum.cost_micro != b->sum.cost_micro)
		return (a->sum.cost_micro > b->sum.cost_micro ? -1 : 1);
	ra = a->sum.runs[0] + a->sum.runs[1] + a->sum.runs[2] + a->sum.runs[3];
	rb = b->sum.runs[0] + b->sum.runs[1] + b->sum.runs[2] + b->sum.runs[3];
	if (ra != rb)
		return (ra > rb ? -1 : 1);
	return (strcmp(a->value, b->value));
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
	j = json_pack("{s:s,s:s,s:I,s:I,s:I}", by, p->value, "cost_usd",
	    fmt_usd(p->sum.cost_micro, buf, sizeof buf), "runs",
	    (json_int_t)ran, "success", (json_int_t)p->sum.runs[0], "skipped",
	    (json_int_t)p->sum.runs[4]);
	if (strcmp(by, "schedule") == 0 && sf != NULL && sf(p->value,
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
	memset(&ps, 0, sizeof ps);
	ps.by = by;
	w.caller = caller;
	w.account = account;
	w.from = from;
	w.to = to;
	w.fn = analytics_parts_add;
	w.arg = &ps;
	if (analytics_walk(j, &w, cause) != 0)
		return (NULL);
	qsort(ps.p, ps.n, sizeof *ps.p, analytics_part_cmp);
	list = json_array();
	for (i = 0; i < ps.n; i++) {
		json_array_append_new(list, analytics_part_json(&ps.p[i],
		    &ps.total, by, sf));
		free(ps.p[i].value);
	}
	free(ps.p);
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
	struct analytics_groups	 models;
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

static json_t *
analytics_advice(const char *kind, const char *target, json_t *evidence,
    int64_t runs, const char *money_key, int64_t money, const char *command)
{
	char	buf[32];

	return (json_pack("{s:s,s:s,s:o,s:I,s:s,s:s}", "kind", kind, "target",
	    target, "evidence", evidence, "runs", (json_int_t)runs, money_key,
	    fmt_usd(money, buf, sizeof buf), "command", command));
}

/* A schedule failing often: at least half of its runs that ran. */
static void
analytics_advise_failing(const char *account, struct analytics_parts *ps,
    analytics_sched_fn sf, json_t *list)
{
	struct analytics_part	*p;
	struct analytics_sched	 s;
	char			*cmd;
	int64_t			 ran, bad, wasted;
	size_t			 i;

	for (i = 0; i < ps->n; i++) {
		p = &ps->p[i];
		ran = p->sum.runs[0] + p->sum.runs[1] + p->sum.runs[2] +
		    p->sum.runs[3];
		bad = p->sum.runs[1] + p->sum.runs[3];
		if (ran < ANALYTICS_MIN_FAILING || bad * 2 < ran ||
		    sf(p->value, &s) != 0 || !s.active)
			continue;
		wasted = ran > 0 ? p->sum.cost_micro * bad / ran : 0;
		xasprintf(&cmd, "chimectl schedule pause %s --account %s "
		    "--note \"fails %lld of %lld runs\"", s.name, account,
		    (long long)bad, (long long)ran);
		json_array_append_new(list, analytics_advice("failing_schedule",
		    s.name, json_pack("{s:s,s:I,s:I,s:f}", "schedule", p->value,
		    "failed", (json_int_t)bad, "ran", (json_int_t)ran,
		    "failure_rate", (double)bad / (double)ran), ran,
		    "monthly_risk_usd", wasted, cmd));
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
	char			*cmd = NULL, b[32];
	size_t			 i;

	memset(&ps, 0, sizeof ps);
	ps.by = "schedule";
	w.caller = caller;
	w.account = account;
	w.from = from;
	w.to = to;
	w.fn = analytics_skips_add;
	w.arg = &ps;
	if (analytics_walk(j, &w, &cmd) != 0) {
		free(cmd);
		return;
	}
	for (i = 0; i < ps.n; i++) {
		if (ps.p[i].sum.runs[4] > 0 && sf(ps.p[i].value, &s) == 0 &&
		    s.max_cost_month > 0) {
			/* room for the month's runs at their cost so far */
			xasprintf(&cmd, "chimectl schedule update %s --account "
			    "%s --max-cost-month %s", s.name, account,
			    fmt_usd(s.max_cost_month * 2, b, sizeof b));
			json_array_append_new(list, analytics_advice(
			    "skipped_by_cap", s.name, json_pack("{s:s,s:I,s:s}",
			    "schedule", ps.p[i].value, "skipped_by_budget",
			    (json_int_t)ps.p[i].sum.runs[4], "max_cost_month_usd",
			    fmt_usd(s.max_cost_month, b, sizeof b)),
			    ps.p[i].sum.runs[4], "monthly_risk_usd", 0, cmd));
			free(cmd);
		}
		free(ps.p[i].value);
	}
	free(ps.p);
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

/* A cheaper model with an equal or better success rate, measured on
 * ANALYTICS_MIN_RUNS runs each. */
static void
analytics_advise_models(const char *account, struct analytics_groups *gs,
    json_t *list)
{
	struct analytics_group	*a, *b;
	char			*cmd, ca[32], cb[32];
	int64_t			 ra, rb, pa, pb, saving;
	size_t			 i, k;

	for (i = 0; i < gs->n; i++) {
		a = &gs->g[i];
		ra = a->sum.runs[0] + a->sum.runs[1] + a->sum.runs[2] +
		    a->sum.runs[3];
		if (a->model == NULL || ra < ANALYTICS_MIN_RUNS ||
		    a->costed == 0)
			continue;
		pa = a->sum.cost_micro / a->costed;
		for (k = 0; k < gs->n; k++) {
			b = &gs->g[k];
			rb = b->sum.runs[0] + b->sum.runs[1] + b->sum.runs[2] +
			    b->sum.runs[3];
			if (k == i || b->model == NULL || strcmp(b->operation,
			    a->operation) != 0 || rb < ANALYTICS_MIN_RUNS ||
			    b->costed == 0)
				continue;
			pb = b->sum.cost_micro / b->costed;
			if (pb >= pa || b->sum.runs[0] * ra < a->sum.runs[0] * rb)
				continue;
			saving = (pa - pb) * ra * 30 / ANALYTICS_ADVICE_DAYS;
			xasprintf(&cmd, "chimectl prefs set --account %s --op %s "
			    "--preferred-model %s", account, a->operation,
			    b->model);
			json_array_append_new(list, analytics_advice(
			    "cheaper_model", a->operation, json_pack(
			    "{s:s,s:s,s:s,s:s,s:f,s:f,s:I,s:I,s:b}", "model",
			    a->model, "cheaper", b->model, "cost_per_run_usd",
			    fmt_usd(pa, ca, sizeof ca), "cheaper_cost_per_run_usd",
			    fmt_usd(pb, cb, sizeof cb), "success_rate",
			    (double)a->sum.runs[0] / (double)ra,
			    "cheaper_success_rate", (double)b->sum.runs[0] /
			    (double)rb, "model_runs", (json_int_t)ra,
			    "cheaper_runs", (json_int_t)rb, "measured", 1),
			    ra + rb, "monthly_saving_usd", saving, cmd));
			free(cmd);
		}
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

	for (i = 0; i < as->n; i++) {
		a = &as->a[i];
		under20 = a->error_hist[0] + a->error_hist[1] + a->error_hist[2];
		if (a->estimated < ANALYTICS_MIN_ESTIMATED ||
		    under20 * 2 >= a->estimated)
			continue;
		xasprintf(&cmd, "chimectl analytics accuracy --account %s",
		    account);
		json_array_append_new(list, analytics_advice("estimate_drift",
		    a->operation, json_pack("{s:I,s:f,s:f}", "estimated",
		    (json_int_t)a->estimated, "within_20pct_share",
		    (double)under20 / (double)a->estimated, "mean_error_pct",
		    (double)a->error_ppm_sum / (double)a->estimated / 10000.0),
		    a->estimated, "monthly_risk_usd", 0, cmd));
		free(cmd);
	}
}

/* A cap that the month's pace reaches before its end (STATUS: pace's). */
static void
analytics_advise_caps(const char *account, json_t *status, json_t *list)
{
	json_t		*cap;
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
		if (strcmp(kind, "schedule_max_cost_month") == 0)
			xasprintf(&cmd, "chimectl schedule update %s --account "
			    "%s --max-cost-month %s", name, account, b);
		else if (strcmp(kind, "operation_monthly_budget") == 0)
			xasprintf(&cmd, "chimectl prefs set --account %s --op "
			    "%s --monthly-budget %s", account, name, b);
		else
			xasprintf(&cmd, "chimectl account update %s "
			    "--monthly-budget %s", account, b);
		json_array_append_new(list, analytics_advice("budget_runs_out",
		    name, json_pack("{s:s,s:O,s:O,s:O,s:s}", "cap", kind,
		    "budget_usd", json_object_get(cap, "budget_usd"), "spent_usd",
		    json_object_get(cap, "spent_usd"), "projected_usd",
		    json_object_get(cap, "projected_usd"), "reaches_cap_at", at),
		    0, "monthly_risk_usd", proj > budget ? proj - budget : 0,
		    cmd));
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
	size_t			 i;

	memset(&ad, 0, sizeof ad);
	ad.schedules.by = "schedule";
	w.caller = caller;
	w.account = account;
	w.from = from;
	w.to = to;
	w.fn = analytics_advice_add;
	w.arg = &ad;
	if (analytics_walk(j, &w, cause) != 0)
		return (NULL);
	list = json_array();
	analytics_advise_models(account, &ad.models, list);
	analytics_advise_failing(account, &ad.schedules, sf, list);
	analytics_advise_skipped(account, j, caller, from, to, sf, list);
	analytics_advise_caps(account, pace, list);
	analytics_advise_drift(account, &ad.ops, list);
	for (i = 0; i < ad.schedules.n; i++)
		free(ad.schedules.p[i].value);
	free(ad.schedules.p);
	for (i = 0; i < ad.models.n; i++) {
		free(ad.models.g[i].operation);
		free(ad.models.g[i].model);
	}
	free(ad.models.g);
	for (i = 0; i < ad.ops.n; i++)
		free(ad.ops.a[i].operation);
	free(ad.ops.a);
	return (json_pack("{s:s,s:i,s:o}", "account", account, "days",
	    ANALYTICS_ADVICE_DAYS, "recommendations", list));
}
