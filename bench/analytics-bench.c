/*
 * bench/analytics-bench.c: how long the analytics queries take over a
 * year of aggregates, in-process (no socket: the query itself).
 *
 * It fills a temporary journal's "analytics" table with the rows a year
 * of runs leaves: for each of ACCOUNTS accounts, OPS operations, MODELS
 * models and 365 days, one day's row (a schedule an operation), each the
 * merge of a few runs' deltas, and the rows above it (the dekad's, the
 * month's, the account's totals of the day and the month) added up from
 * those, written through jrec_put in records of 1000 rows.  Then it
 * times each query for one account, REPEAT times: summary over a week, a
 * month and a year, trends by day over a year, models and accuracy over
 * a year, breakdown by operation over a year; it prints
 * p50, p99 and max in ms against the target (p99 under 5 ms), and the
 * CPU time at p50 (the wall time includes waiting for a core on a busy
 * machine).  Last, the run-end side: the CPU a run's end costs the
 * writer's merges, into all its rows and into its day's row alone.
 * --out FILE writes the same figures as JSON.  The year ends today
 * (UTC).  --keep-data DIR writes the journal into DIR/journal (DIR must
 * not exist) and leaves it there: a data directory chimed starts on, with
 * a year of analytics for accounts acct0, acct1... (bench/dashboard-load.py
 * --year uses it).
 *
 *	analytics-bench [--accounts N] [--ops N] [--models N] [--repeat N]
 *	    [--out FILE] [--keep-data DIR]
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine.h"
#include "journal.h"
#include "actors.h"
#include "bench.h"

#define AB_DAYS		365
#define AB_TARGET_MS	5.0

/* This thread's CPU time so far: a query's cost apart from waiting for
 * a core (the machine may be busy). */
static int64_t
ab_cpu_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ((int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000);
}

static void
usage(void)
{
	fprintf(stderr, "usage: analytics-bench [--accounts N] [--ops N] "
	    "[--models N] [--repeat N] [--out FILE]\n"
	    "    [--keep-data DIR]\n");
	exit(2);
}

/* The rows above the days, put in REC (a new one each 1000). */
struct ab_put {
	struct journal	*j;
	struct jrec	*rec;
	uint64_t	 rows;
	uint64_t	 submitted;
	uint64_t	*done;
	struct event_base *base;
};

static void	ab_done(const struct journal_result *, void *);

static void
ab_put(struct ab_put *p, const char *key, const void *row, size_t len)
{
	if (p->rec == NULL) {
		p->rec = jrec_create("bench.rows", NULL);
		msgpack_pack_map(jrec_body(p->rec), 0);
	}
	jrec_put(p->rec, ANALYTICS_TABLE, key, strlen(key), row, len);
	if (++p->rows % 1000 == 0) {
		journal_submit(p->j, p->rec, ab_done, p->done);
		p->submitted++;
		p->rec = NULL;
		while (p->submitted - *p->done > 8)
			event_base_loop(p->base, EVLOOP_ONCE);
	}
}

/* An analytics_rows_foreach callback: the row into the journal. */
static void
ab_put_sum(const char *key, const void *row, size_t len, void *arg)
{
	ab_put(arg, key, row, len);
}

/*
 * The run-end side: what the writer does for one run's end, a delta
 * merged into each row it adds to (read the row, add, pack it again), over
 * rows held in memory.  LEVELS: all of them, or 1: the day's alone (the
 * table before the dekads, months and totals).
 */
struct ab_merge {
	int			 levels;
	int			 seen;
	struct analytics_rows	 rows;
};

static int
ab_merge_delta(const char *key, const void *delta, size_t dlen, void *arg)
{
	struct ab_merge	*m = arg;

	if (m->seen++ >= m->levels)
		return (0);
	return (analytics_rows_delta(key, delta, dlen, &m->rows));
}

/* CPU microseconds a run's end costs the writer, adding to LEVELS rows
 * (N run ends of 50 operations over 30 days). */
static double
ab_run_ends(int levels, int n)
{
	struct ab_merge		 m;
	struct pack_buffer	 pb;
	msgpack_unpacked	 u;
	char			 op[32];
	int64_t			 start, day;
	int			 i;

	memset(&m, 0, sizeof m);
	m.levels = levels;
	analytics_rows_init(&m.rows);
	start = ab_cpu_us();
	for (i = 0; i < n; i++) {
		snprintf(op, sizeof op, "op%d", i % 50);
		day = (int64_t)1764547200 + (int64_t)(i % 30) * 86400;
		pack_buffer_init(&pb);
		msgpack_pack_map(&pb.pk, 11);
		pack_kstr(&pb.pk, "operation", op);
		pack_kstr(&pb.pk, "model", "model0");
		pack_kstr(&pb.pk, "schedule", "s_bench");
		pack_kstr(&pb.pk, "status", i % 10 ? "success" : "failed");
		pack_kint(&pb.pk, "started_us", day * 1000000);
		pack_kint(&pb.pk, "finished_us", day * 1000000 + 850000);
		pack_kint(&pb.pk, "scheduled_for_us", day * 1000000);
		pack_kint(&pb.pk, "cost_micro", 1200);
		pack_str(&pb.pk, "estimate_micro");
		msgpack_pack_map(&pb.pk, 3);
		pack_kint(&pb.pk, "low", 800);
		pack_kint(&pb.pk, "mid", 1000);
		pack_kint(&pb.pk, "high", 1500);
		pack_str(&pb.pk, "usage");
		msgpack_pack_map(&pb.pk, 2);
		pack_kint(&pb.pk, "input_tokens", 300);
		pack_kint(&pb.pk, "output_tokens", 120);
		pack_kstr(&pb.pk, "reason", NULL);
		if (unpack_buffer(pb.sbuf.data, pb.sbuf.size, &u) != 0)
			fatalx("run-ends: a run map that does not read");
		m.seen = 0;
		analytics_deltas("acct0", &u.data, tz_load("UTC", NULL),
		    ab_merge_delta, &m);
		msgpack_unpacked_destroy(&u);
		pack_buffer_clear(&pb);
	}
	start = ab_cpu_us() - start;
	analytics_rows_free(&m.rows);
	return ((double)start / n);
}

static void
ab_done(const struct journal_result *r, void *arg)
{
	uint64_t	*n = arg;

	if (r->status != JOURNAL_OK)
		fatalx("analytics-bench: a record failed: %s",
		    r->error != NULL ? r->error : "?");
	(*n)++;
}

/* The delta of one run of operation OP, model M, on DAY (days since the
 * epoch), as a run map's delta would be. */
static void
ab_delta(struct pack_buffer *d, const char *acct, const char *op,
    const char *model, const char *sched, int64_t ymd, int ok)
{
	msgpack_pack_map(&d->pk, 14);
	pack_kstr(&d->pk, "account", acct);
	pack_kstr(&d->pk, "operation", op);
	pack_kstr(&d->pk, "model", model);
	pack_kstr(&d->pk, "schedule", sched);
	pack_kint(&d->pk, "day", ymd);
	pack_kint(&d->pk, "status", ok ? 0 : 1);
	pack_kstr(&d->pk, "reason", NULL);
	pack_kint(&d->pk, "cost", 1200);
	pack_kint(&d->pk, "low", 800);
	pack_kint(&d->pk, "mid", 1000);
	pack_kint(&d->pk, "high", 1500);
	pack_kint(&d->pk, "in", 300);
	pack_kint(&d->pk, "out", 120);
	pack_kint(&d->pk, "latency_us", 850000);
}

int
main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "accounts", required_argument, NULL, 'a' },
		{ "ops", required_argument, NULL, 'o' },
		{ "models", required_argument, NULL, 'm' },
		{ "repeat", required_argument, NULL, 'r' },
		{ "out", required_argument, NULL, 'O' },
		{ "keep-data", required_argument, NULL, 'K' },
		{ NULL, 0, NULL, 0 }
	};
	static const char *const names[] = { "summary week", "summary month",
	    "summary year", "trends year/day", "models year", "accuracy year",
	    "breakdown year" };
	struct caller		 admin;
	struct event_base	*base;
	struct journal_options	 jo;
	struct journal		*j;
	struct ab_put		 put;
	struct analytics_rows	 sums;
	struct pack_buffer	 d;
	msgpack_sbuffer		 row;
	json_t			*out, *figs, *res;
	int64_t			*t, *cpu, q[3], qc[3], today, from, start;
	int64_t			 cstart;
	double			 end_all, end_day;
	uint64_t		 accounts = 10, ops = 50, models = 4, repeat = 50;
	uint64_t		 rows, done = 0, a, o, m, day;
	const char		*outfile = NULL, *keep = NULL;
	struct tm		 tm;
	time_t			 now;
	char			*dir, *jdir, *cause = NULL, acct[32], op[32];
	char			 sched[64];
	char			 model[32], key[ANALYTICS_KEY_MAX];
	size_t			 k, r;
	int			 ch, met = 1;

	log_open("analytics-bench", LOG_LEVEL_WARN);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'a':
			accounts = strtoull(optarg, NULL, 10);
			break;
		case 'o':
			ops = strtoull(optarg, NULL, 10);
			break;
		case 'm':
			models = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			repeat = strtoull(optarg, NULL, 10);
			break;
		case 'O':
			outfile = optarg;
			break;
		case 'K':
			keep = optarg;
			break;
		default:
			usage();
		}
	}
	if (accounts == 0 || ops == 0 || models == 0 || repeat == 0 ||
	    optind != argc)
		usage();
	if (keep != NULL) {
		if (mkdir(keep, 0700) == -1)
			fatal("mkdir %s", keep);
		dir = xstrdup(keep);
	} else
		dir = bench_tmpdir(NULL, "analytics-bench");
	xasprintf(&jdir, "%s/journal", dir);
	base = event_base_new();
	memset(&jo, 0, sizeof jo);
	jo.sync = JOURNAL_SYNC_NONE;
	if ((j = journal_open(jdir, &jo, &cause)) == NULL ||
	    journal_start(j, base, &cause) != 0)
		fatalx("journal: %s", cause);
	now = time(NULL);
	gmtime_r(&now, &tm);
	today = (int64_t)(tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 +
	    tm.tm_mday;
	start = mono_us();
	memset(&put, 0, sizeof put);
	put.j = j;
	put.done = &done;
	put.base = base;
	for (a = 0; a < accounts; a++) {
		snprintf(acct, sizeof acct, "acct%llu", (unsigned long long)a);
		analytics_rows_init(&sums);
		for (o = 0; o < ops; o++) {
			snprintf(op, sizeof op, "op%llu", (unsigned long long)o);
			snprintf(sched, sizeof sched, "s_%llu_%llu",
			    (unsigned long long)a, (unsigned long long)o);
			for (m = 0; m < models; m++) {
				snprintf(model, sizeof model, "model%llu",
				    (unsigned long long)m);
				for (day = 0; day < AB_DAYS; day++) {
					int64_t ymd = analytics_days_before(
					    today, (int64_t)day);

					analytics_key(ANALYTICS_DAY, acct, ymd,
					    op, model, sched, key, sizeof key);
					msgpack_sbuffer_init(&row);
					for (r = 0; r < 3; r++) {
						msgpack_sbuffer tmp;

						pack_buffer_init(&d);
						ab_delta(&d, acct, op, model,
						    sched, ymd, r != 2);
						msgpack_sbuffer_init(&tmp);
						analytics_merge(row.data,
						    row.size, d.sbuf.data,
						    d.sbuf.size, &tmp);
						msgpack_sbuffer_destroy(&row);
						row = tmp;
						pack_buffer_clear(&d);
					}
					ab_put(&put, key, row.data, row.size);
					analytics_rows_sum(&sums, key,
					    strlen(key), row.data, row.size);
					msgpack_sbuffer_destroy(&row);
				}
			}
		}
		analytics_rows_foreach(&sums, ab_put_sum, &put);
		analytics_rows_free(&sums);
	}
	if (put.rec != NULL) {
		journal_submit(j, put.rec, ab_done, &done);
		put.submitted++;
	}
	rows = put.rows;
	journal_flush(j);
	printf("analytics-bench: %llu rows (%llu accounts x %llu operations "
	    "x %llu models x %d days, and their months and totals) written "
	    "in %.1f s\n",
	    (unsigned long long)rows, (unsigned long long)accounts,
	    (unsigned long long)ops, (unsigned long long)models, AB_DAYS,
	    (double)(mono_us() - start) / 1e6);
	printf("  query (one account)          p50 ms    p99 ms    max ms"
	    "   cpu p50 ms\n");
	memset(&admin, 0, sizeof admin);
	admin.admin = 1;
	t = xcalloc(repeat, sizeof *t);
	cpu = xcalloc(repeat, sizeof *cpu);
	figs = json_object();
	for (k = 0; k < sizeof names / sizeof names[0]; k++) {
		from = analytics_days_before(today, k == 0 ? 6 : k == 1 ? 29 :
		    AB_DAYS - 1);
		for (r = 0; r < repeat; r++) {
			start = mono_us();
			cstart = ab_cpu_us();
			switch (k) {
			case 0: case 1: case 2:
				res = analytics_summary(j, &admin, "acct0",
				    from, today, &cause);
				break;
			case 3:
				res = analytics_trends(j, &admin, "acct0",
				    from, today, "cost", 0, &cause);
				break;
			case 4:
				res = analytics_models(j, &admin, "acct0",
				    from, today, &cause);
				break;
			case 5:
				res = analytics_accuracy(j, &admin, "acct0",
				    from, today, &cause);
				break;
			default:
				res = analytics_breakdown(j, &admin, "acct0",
				    from, today, "operation", NULL, &cause);
				break;
			}
			t[r] = mono_us() - start;
			cpu[r] = ab_cpu_us() - cstart;
			if (res == NULL)
				fatalx("%s: %s", names[k], cause);
			json_decref(res);
		}
		bench_quantiles(t, repeat, q);
		bench_quantiles(cpu, repeat, qc);
		if ((double)q[1] / 1000.0 >= AB_TARGET_MS)
			met = 0;
		printf("  %-28s %8.2f  %8.2f  %8.2f  %11.2f\n", names[k],
		    (double)q[0] / 1000.0, (double)q[1] / 1000.0,
		    (double)q[2] / 1000.0, (double)qc[0] / 1000.0);
		json_object_set_new(figs, names[k], json_pack("{s:f,s:f,s:f,s:f}",
		    "p50_ms", (double)q[0] / 1000.0, "p99_ms",
		    (double)q[1] / 1000.0, "max_ms", (double)q[2] / 1000.0,
		    "cpu_p50_ms", (double)qc[0] / 1000.0));
	}
	printf("  target: p99 under %.0f ms: %s\n", AB_TARGET_MS, met ? "met" :
	    "NOT met");
	out = json_pack("{s:I,s:I,s:I,s:I,s:o,s:b}", "rows", (json_int_t)rows,
	    "accounts", (json_int_t)accounts, "ops", (json_int_t)ops,
	    "models", (json_int_t)models, "queries", figs, "target_met", met);
	/* the run-end side, apart from the journal's commit */
	end_all = ab_run_ends(ANALYTICS_LEVELS, 200000);
	end_day = ab_run_ends(1, 200000);
	printf("  run end (the writer's merges, CPU): %.2f us for its %d rows, "
	    "%.2f us for the day's row alone\n", end_all, ANALYTICS_LEVELS,
	    end_day);
	json_object_set_new(out, "run_end_us", json_real(end_all));
	json_object_set_new(out, "run_end_day_row_us", json_real(end_day));
	if (outfile != NULL && bench_write_json(outfile, out, &cause) != 0)
		fatalx("%s", cause);
	json_decref(out);
	free(t);
	free(cpu);
	journal_close(j);
	event_base_free(base);
	if (keep == NULL)
		bench_rm_tree(dir);
	free(jdir);
	free(dir);
	return (0);
}
