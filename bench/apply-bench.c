/*
 * bench/apply-bench.c: declarative bulk registration (schedule.apply)
 * against schedule.create pipelined, on the same machine in the same run.
 *
 * For each of --rounds rounds, on fresh data directories:
 *
 *	apply		start a real chimed (durable journal by default) and
 *			send one schedule.apply of N new schedules (the
 *			request text made before the clock starts): N over
 *			the time from the first byte sent to the answer,
 *			which comes once the one schedule.applied record is
 *			durable; daemon.status must then count N schedules
 *	again		the same set again: every schedule unchanged, nothing
 *			written (the diff alone)
 *	restart		kill -9, start again: still N schedules (the record
 *			loads back)
 *	create		a fresh chimed, the same N schedules made with
 *			schedule.create, pipelined (--connections x
 *			--window, bench.c's pipeline): N over first request
 *			sent to last answer
 *	parse		the limit: the same request text parsed by jansson in
 *			this process, as the daemon must (the fastest of
 *			three); no apply can take less
 *
 * The schedules are a mix that never fires while the bench runs: cron by
 * day of a month half a year away, weekly on a weekday that is not today
 * or tomorrow, an interval of 1 to 31 days; in eight zones; one in four
 * with parameters.  The medians of the rounds are printed next to the
 * target (100,000 schedules/s durable for 10,000 new ones) and to the
 * pipelined create of the same run; --out FILE writes them as JSON.
 *
 *	apply-bench [--count N] [--rounds K] [--chimed PATH] [--catalog FILE]
 *	    [--connections N] [--window N] [--sync full|batch|none]
 *	    [--log-level LEVEL] [--keep] [--out FILE]
 */
#include <sys/types.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "bench.h"

#define START_TIMEOUT	(600 * USEC_PER_SEC)
#define STOP_TIMEOUT	(600 * USEC_PER_SEC)
#define CALL_TIMEOUT	(600 * USEC_PER_SEC)
#define TARGET		100000.0	/* schedules/s, from issue 16 */
#define MAX_ROUNDS	15

struct options {
	struct bench_opts b;
	uint64_t	 count;
	int		 rounds;
};

struct gen {
	int	month;		/* cron: half a year away */
	int	wday[5];	/* weekly: not today or tomorrow */
};

struct round {
	int64_t	apply_us;	/* first byte sent to the answer */
	int64_t	again_us;	/* the same set again: all unchanged */
	int64_t	crash_us;	/* kill -9, start until N are loaded */
	int64_t	create_us;	/* pipelined schedule.create */
	int64_t	parse_us;	/* the request parsed here (the limit) */
	int64_t	request_bytes;
	double	load;
};


static deadfunc void
usage(void)
{
	fprintf(stderr, "usage: apply-bench [--count N] [--rounds K] "
	    "[--chimed PATH] [--catalog FILE]\n"
	    "           [--connections N] [--window N] "
	    "[--sync full|batch|none]\n"
	    "           [--log-level LEVEL] [--keep] [--out FILE]\n");
	exit(2);
}

static void
gen_init(struct gen *g)
{
	struct tm	tm;
	time_t		t = time(NULL);
	int		i, n = 0;

	gmtime_r(&t, &tm);
	g->month = (tm.tm_mon + 6) % 12 + 1;
	for (i = 2; i < 7; i++)
		g->wday[n++] = (tm.tm_wday + i) % 7;
}

/* Schedule I's fields, without its name: '"operation":...' */
static int
gen_fields(const struct gen *g, uint64_t i, char *buf, size_t len)
{
	uint64_t	k = i % 3, j = i / 3;
	int		min = (int)(j % 60), hour = (int)(j / 60 % 24), n;
	char		trig[64];

	if (k == 0)
		snprintf(trig, sizeof trig, "\"cron\":\"%d %d %d %d *\"", min,
		    hour, 1 + (int)(j % 28), g->month);
	else if (k == 1)
		snprintf(trig, sizeof trig, "\"weekly\":\"%s %02d:%02d\"",
		    bench_day_names[g->wday[j % 5]], hour, min);
	else
		snprintf(trig, sizeof trig, "\"interval\":\"%dh\"",
		    24 + (int)(j % 720));
	n = snprintf(buf, len, "\"operation\":\"%s\",\"tz\":\"%s\",%s%s",
	    i % 2 ? "report" : "noop", bench_zones[i % BENCH_NZONES], trig,
	    i % 4 == 0 ? ",\"parameters\":{\"folder\":\"inbox\",\"limit\":20}" :
	    "");
	return (n < 0 || (size_t)n >= len ? -1 : n);
}

/* schedule.create number I (the pipeline's params). */
static int
gen_create(uint64_t i, char *buf, size_t len, void *arg)
{
	char	f[256];
	int	n;

	if (gen_fields(arg, i, f, sizeof f) == -1)
		return (-1);
	n = snprintf(buf, len, "{\"name\":\"s-%07llu\",%s}",
	    (unsigned long long)i, f);
	return (n < 0 || (size_t)n >= len ? -1 : n);
}

/* The params of schedule.apply: N schedules keyed by name. */
static char *
gen_apply(const struct gen *g, uint64_t n)
{
	char	*buf, f[256];
	size_t	 len = 0, cap = 256 + n * 200;
	uint64_t i;

	buf = xmalloc(cap);
	len += (size_t)snprintf(buf, cap, "{\"schedules\":{");
	for (i = 0; i < n; i++) {
		gen_fields(g, i, f, sizeof f);
		len += (size_t)snprintf(buf + len, cap - len,
		    "%s\"s-%07llu\":{%s}", i > 0 ? "," : "",
		    (unsigned long long)i, f);
	}
	snprintf(buf + len, cap - len, "}}");
	return (buf);
}

/* daemon.status's schedules.total is N; else -1 and *CAUSE. */
static int
expect_total(struct bench_daemon *d, uint64_t n, char **cause)
{
	json_t	*st;
	int64_t	 got;

	if (bench_call(d->sock, "daemon.status", NULL, 10 * USEC_PER_SEC, &st,
	    cause) == -1)
		return (-1);
	got = bench_json_int(st, "schedules.total");
	json_decref(st);
	if (got == (int64_t)n)
		return (0);
	xasprintf(cause, "daemon.status reports %lld schedules, not %llu",
	    (long long)got, (unsigned long long)n);
	return (-1);
}

/* result.KEY.count of an apply's answer. */
static int64_t
outcome(json_t *res, const char *key)
{
	return (json_integer_value(json_object_get(json_object_get(res, key),
	    "count")));
}

/* The fastest of three parses of PARAMS by jansson, in microseconds. */
static int64_t
parse_alone(const char *params)
{
	json_error_t	 err;
	json_t		*v;
	int64_t		 t0, t, best = INT64_MAX;
	int		 i;

	for (i = 0; i < 3; i++) {
		t0 = mono_us();
		v = json_loads(params, 0, &err);
		t = mono_us() - t0;
		if (v == NULL)
			fatalx("apply-bench: the request does not parse: %s",
			    err.text);
		json_decref(v);
		if (t < best)
			best = t;
	}
	return (best);
}

static int
run_round(const struct options *o, const struct gen *g, struct round *r,
    char **cause)
{
	struct bench_daemon	 d;
	struct bench_pipeline	 p;
	json_t			*res = NULL;
	char			*params;
	int64_t			 t0, ready, took;
	uint64_t		 n = o->count;
	int			 rc = -1;

	memset(r, 0, sizeof *r);
	memset(&p, 0, sizeof p);
	r->load = bench_loadavg();
	params = gen_apply(g, n);
	r->request_bytes = (int64_t)strlen(params);
	r->parse_us = parse_alone(params);
	bench_daemon_init(&d, o->b.chimed, o->b.catalog);
	d.sync = o->b.sync;
	d.log_level = o->b.log_level;
	d.keep = o->b.keep;
	d.ctl_max_request = "67108864";
	if (bench_daemon_start(&d, 0, START_TIMEOUT, &ready, NULL,
	    cause) == -1)
		goto out;
	t0 = mono_us();
	if (bench_call(d.sock, "schedule.apply", params, CALL_TIMEOUT, &res,
	    cause) == -1)
		goto out;
	r->apply_us = mono_us() - t0;
	if (outcome(res, "created") != (int64_t)n) {
		xasprintf(cause, "schedule.apply created %lld, not %llu",
		    (long long)outcome(res, "created"),
		    (unsigned long long)n);
		goto out;
	}
	json_decref(res);
	res = NULL;
	if (expect_total(&d, n, cause) == -1)
		goto out;
	t0 = mono_us();
	if (bench_call(d.sock, "schedule.apply", params, CALL_TIMEOUT, &res,
	    cause) == -1)
		goto out;
	r->again_us = mono_us() - t0;
	if (outcome(res, "unchanged") != (int64_t)n ||
	    !json_is_null(json_object_get(res, "seq"))) {
		xasprintf(cause, "the same set again: %lld unchanged, not %llu",
		    (long long)outcome(res, "unchanged"),
		    (unsigned long long)n);
		goto out;
	}
	if (bench_daemon_stop(&d, SIGKILL, STOP_TIMEOUT, &took, cause) == -1 ||
	    bench_daemon_start(&d, (int64_t)n, START_TIMEOUT, &r->crash_us,
	    NULL, cause) == -1 || bench_daemon_stop(&d, SIGTERM, STOP_TIMEOUT,
	    &took, cause) == -1)
		goto out;
	bench_daemon_free(&d, o->b.keep);

	bench_daemon_init(&d, o->b.chimed, o->b.catalog);
	d.sync = o->b.sync;
	d.log_level = o->b.log_level;
	d.keep = o->b.keep;
	if (bench_daemon_start(&d, 0, START_TIMEOUT, &ready, NULL,
	    cause) == -1)
		goto out;
	bench_pipeline_init(&p, &o->b, d.sock, "schedule.create");
	p.total = n;
	p.params = gen_create;
	p.arg = (void *)g;
	if (bench_pipeline_run(&p, cause) == -1)
		goto out;
	if (p.errors > 0) {
		xasprintf(cause, "%llu schedule.create failed; first: %s",
		    (unsigned long long)p.errors, p.first_error);
		goto out;
	}
	r->create_us = p.elapsed_us;
	if (expect_total(&d, n, cause) == -1 ||
	    bench_daemon_stop(&d, SIGTERM, STOP_TIMEOUT, &took, cause) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		bench_daemon_log_tail(&d, 20);
	json_decref(res);
	free(params);
	bench_pipeline_free(&p);
	bench_daemon_free(&d, o->b.keep);
	return (rc);
}

static int64_t
median(struct round *v, int n, size_t off)
{
	int64_t	x[MAX_ROUNDS];
	int	i;

	for (i = 0; i < n; i++)
		memcpy(&x[i], (char *)&v[i] + off, sizeof x[i]);
	bench_sort(x, (size_t)n);
	return (x[n / 2]);
}

static double
rate(uint64_t n, int64_t us)
{
	return (us > 0 ? (double)n * USEC_PER_SEC / (double)us : 0);
}

int
main(int argc, char **argv)
{
	static struct options		 o;
	static const struct bench_own	 own[] = {
		{ "count", BENCH_OWN_U64, &o.count, 1, 20000, 0 },
		{ "rounds", BENCH_OWN_INT, &o.rounds, 1, MAX_ROUNDS, 0 },
		{ "help", BENCH_OWN_HELP, NULL, 0, 0, 0 },
		{ NULL }
	};
	struct round			 r[MAX_ROUNDS];
	struct gen			 g;
	json_t				*arr;
	char				*cause = NULL;
	int64_t				 apply, again, crash, create, parse;
	int				 i;

	bench_opts_init(&o.b, "apply-bench");
	o.count = 10000;
	o.rounds = 3;
	if (bench_opts_parse(&o.b, argc, argv, own, BENCH_TAKE_DAEMON |
	    BENCH_TAKE_CATALOG | BENCH_TAKE_LOG_LEVEL |
	    BENCH_TAKE_CONNECTIONS | BENCH_TAKE_WINDOW, NULL, NULL) == -1)
		usage();
	bench_opts_check(&o.b, 0);
	gen_init(&g);
	arr = json_array();
	for (i = 0; i < o.rounds; i++) {
		fprintf(stderr, "apply-bench: round %d of %d, %llu "
		    "schedules...\n", i + 1, o.rounds,
		    (unsigned long long)o.count);
		if (run_round(&o, &g, &r[i], &cause) == -1) {
			fprintf(stderr, "apply-bench: %s\n", cause);
			exit(1);
		}
		json_array_append_new(arr, json_pack("{s:f,s:f,s:f,s:f,s:I,"
		    "s:f,s:f}", "apply_per_s", rate(o.count, r[i].apply_us),
		    "again_per_s", rate(o.count, r[i].again_us),
		    "create_per_s", rate(o.count, r[i].create_us),
		    "crash_recovery_s", r[i].crash_us / 1e6,
		    "request_bytes", (json_int_t)r[i].request_bytes,
		    "parse_ms", r[i].parse_us / 1e3, "loadavg", r[i].load));
	}
	apply = median(r, o.rounds, offsetof(struct round, apply_us));
	again = median(r, o.rounds, offsetof(struct round, again_us));
	crash = median(r, o.rounds, offsetof(struct round, crash_us));
	create = median(r, o.rounds, offsetof(struct round, create_us));
	parse = median(r, o.rounds, offsetof(struct round, parse_us));
	printf("\napply-bench: %s, journal-sync %s, %llu schedules, median "
	    "of %d rounds, %ld cores, load %.1f-%.1f\n", o.b.chimed, o.b.sync,
	    (unsigned long long)o.count, o.rounds,
	    sysconf(_SC_NPROCESSORS_ONLN), r[0].load, bench_loadavg());
	printf("  request: %lld bytes (one line)\n",
	    (long long)r[0].request_bytes);
	printf("  %-44s %10.0f /s  (%.1f ms)  target >= %.0f /s: %s\n",
	    "schedule.apply, N new, durable", rate(o.count, apply),
	    apply / 1e3, TARGET, rate(o.count, apply) >= TARGET ? "met" :
	    "NOT met");
	printf("  %-44s %10.0f /s  (%.1f ms)\n",
	    "schedule.apply, the same set again (unchanged)",
	    rate(o.count, again), again / 1e3);
	printf("  %-44s %10.0f /s  (%.1f ms, %d x %d in flight)\n",
	    "schedule.create pipelined, durable", rate(o.count, create),
	    create / 1e3, o.b.conns, o.b.window);
	printf("  %-44s %10.3f s\n", "after kill -9: start until N loaded",
	    crash / 1e6);
	printf("  %-44s %10.1f ms (the apply of N new: %.1f times that)\n",
	    "limit: the request parsed alone (jansson)", parse / 1e3,
	    parse > 0 ? (double)apply / (double)parse : 0.0);
	bench_opts_output(&o.b, json_pack("{s:s,s:s,s:s,s:I,s:i,s:f,s:f,s:f,"
	    "s:f,s:f,s:f,s:o}", "program", "apply-bench", "chimed", o.b.chimed,
	    "journal_sync", o.b.sync, "schedules", (json_int_t)o.count,
	    "rounds", o.rounds, "target_per_s", TARGET,
	    "apply_per_s", rate(o.count, apply),
	    "again_per_s", rate(o.count, again),
	    "create_per_s", rate(o.count, create),
	    "crash_recovery_s", crash / 1e6, "parse_ms", parse / 1e3,
	    "rounds_detail", arr));
	bench_opts_free(&o.b);
	return (0);
}
