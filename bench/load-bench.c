/*
 * bench/load-bench.c: how many schedules one chimed holds, how fast they
 * are created, what they cost in memory, and how fast they come back after
 * a restart and after a crash.
 *
 * For each count N, on a fresh data directory: start a real chimed
 * (durable journal by default), create N schedules with schedule.create
 * over its socket (pipelined on a few connections), read its RSS before
 * and after, stop it with SIGTERM and time a start until daemon.status
 * answers schedules.total == N, then kill -9 it and time another start.
 * The schedules are a mix of triggers (cron by month and by weekday,
 * weekly, monthly, interval, at) in several zones, all due days or months
 * ahead, so none fires during the run.
 *
 *	load-bench [--counts N,...] [--chimed PATH] [--catalog FILE]
 *	    [--connections N] [--window N] [--sync full|batch|none]
 *	    [--log-level LEVEL] [--keep] [--out FILE]
 */
#include <sys/types.h>
#include <sys/resource.h>

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "engine.h"
#include "bench.h"


#define MAX_COUNTS	16
#define START_TIMEOUT	(600 * USEC_PER_SEC)
#define STOP_TIMEOUT	(600 * USEC_PER_SEC)
#define MIB		(1024.0 * 1024.0)

/* What the schedules are made of; dates near today are avoided. */
struct gen {
	int64_t		 now;
	int		 months[12];	/* months with no date near today */
	int		 nmonths;
	int		 wdays[7];	/* weekdays with no date near today */
	int		 nwdays;
	int		 mdays[31];	/* days of month, likewise */
	int		 nmdays;
};

/* The figures of one count. */
struct result {
	uint64_t	 n;
	int64_t		 create_us;
	double		 create_rate;
	int64_t		 lat_p50_us;
	int64_t		 lat_p99_us;
	int64_t		 daemon_cpu_us;	/* during creation */
	int64_t		 client_cpu_us;
	struct bench_rss rss_before;
	struct bench_rss rss_after;
	int64_t		 disk;
	int64_t		 stop_us;	/* SIGTERM to exit */
	int64_t		 restart_us;	/* start to total == N */
	struct bench_rss rss_restart;
	int64_t		 crash_us;	/* after kill -9: start to total == N */
	struct bench_rss rss_crash;
	int64_t		 timers;	/* armed after the crash recovery */
	double		 load_before;	/* load average at start, at end */
	double		 load_after;
};

struct options {
	struct bench_opts b;		/* --chimed, --sync, --keep, --out */
	uint64_t	 counts[MAX_COUNTS];
	size_t		 ncounts;
};


static const char *ops[] = { "noop", "report" };

static deadfunc void	usage(void);
static int		take_option(void *, int, const char *);
static int		gen_has(const int *, int, int);
static void		gen_init(struct gen *);
static int		gen_params(uint64_t, char *, size_t, void *);
static int		gen_trigger(const struct gen *, uint64_t, char *,
			    size_t);
static int		run_count(const struct options *, const struct gen *,
			    uint64_t, struct result *, char **);
static int		restart(struct bench_daemon *, uint64_t, int,
			    int64_t *, int64_t *, struct bench_rss *, char **);
static int64_t		self_cpu_us(void);
static void		print_table(const struct options *, struct result *,
			    size_t);
static json_t		*result_json(const struct result *);
static json_t		*rss_json(const struct bench_rss *);

static deadfunc void
usage(void)
{
	fprintf(stderr, "usage: load-bench [--counts N,...] [--chimed PATH] "
	    "[--catalog FILE]\n"
	    "           [--connections N] [--window N] "
	    "[--sync full|batch|none]\n"
	    "           [--log-level LEVEL] [--keep] [--out FILE]\n");
	exit(2);
}

static int
gen_has(const int *v, int n, int x)
{
	int	i;

	for (i = 0; i < n; i++) {
		if (v[i] == x)
			return (1);
	}
	return (0);
}

/*
 * The months, weekdays and days of month that no local date from one day
 * before to two days after now (UTC) has, in any zone: triggers limited to
 * them cannot fire during the run.
 */
static void
gen_init(struct gen *g)
{
	int		 near_m[4], near_w[4], near_d[4], k, i;
	struct tm	 tm;
	time_t		 t;

	memset(g, 0, sizeof *g);
	g->now = now_us();
	for (k = -1; k <= 2; k++) {
		t = (time_t)(g->now / USEC_PER_SEC) + k * 86400;
		gmtime_r(&t, &tm);
		near_m[k + 1] = tm.tm_mon + 1;
		near_w[k + 1] = tm.tm_wday;
		near_d[k + 1] = tm.tm_mday;
	}
	/* Also the month after this one: a date in it may be days away. */
	for (i = 1; i <= 12; i++) {
		if (!gen_has(near_m, 4, i) && i != near_m[1] % 12 + 1)
			g->months[g->nmonths++] = i;
	}
	for (i = 0; i < 7; i++) {
		if (!gen_has(near_w, 4, i))
			g->wdays[g->nwdays++] = i;
	}
	for (i = 1; i <= 28; i++) {
		if (!gen_has(near_d, 4, i))
			g->mdays[g->nmdays++] = i;
	}
}

/* The trigger of schedule I ("\"cron\":\"...\""); its length. */
static int
gen_trigger(const struct gen *g, uint64_t i, char *buf, size_t len)
{
	uint64_t	 k = i % 20, j = i / 20;
	int		 min = (int)(j % 60), hour = (int)(j / 60 % 24);
	char		 at[64];

	if (k < 4)		/* 20%: cron on days of a few months */
		return (snprintf(buf, len, "\"cron\":\"%d %d %d %d *\"", min,
		    hour, 1 + (int)(j % 28), g->months[j % g->nmonths]));
	if (k < 6)		/* 10%: cron on a weekday */
		return (snprintf(buf, len, "\"cron\":\"%d %d * * %d\"", min,
		    hour, g->wdays[j % g->nwdays]));
	if (k < 7)		/* 5%: six fields, a second of a weekday */
		return (snprintf(buf, len, "\"cron\":\"%d %d %d * * %s\"",
		    (int)(j % 60), min, hour,
		    bench_day_names[g->wdays[(j + 1) % g->nwdays]]));
	if (k < 10)		/* 15%: weekly */
		return (snprintf(buf, len, "\"weekly\":\"%s %02d:%02d\"",
		    bench_day_names[g->wdays[j % g->nwdays]], hour, min));
	if (k < 13)		/* 15%: monthly */
		return (snprintf(buf, len, "\"monthly\":\"%d %02d:%02d\"",
		    g->mdays[j % g->nmdays], hour, min));
	if (k < 16)		/* 15%: every 1 to 31 days, in hours */
		return (snprintf(buf, len, "\"interval\":\"%dh\"",
		    24 + (int)(j % 720)));
	/* 20%: once, 40 to 340 days from now. */
	fmt_rfc3339(g->now + (40 * 86400 + (int64_t)(j * 7919 %
	    (300 * 86400))) * USEC_PER_SEC, at, sizeof at);
	return (snprintf(buf, len, "\"at\":\"%s\"", at));
}

/* The params of schedule.create number I. */
static int
gen_params(uint64_t i, char *buf, size_t len, void *arg)
{
	const struct gen	*g = arg;
	char			 trig[128];
	int			 n;

	gen_trigger(g, i, trig, sizeof trig);
	n = snprintf(buf, len, "{\"name\":\"load-%08llu\",\"operation\":"
	    "\"%s\",\"tz\":\"%s\",%s%s}", (unsigned long long)i,
	    ops[i % 2], bench_zones[i % BENCH_NZONES], trig,
	    i % 4 == 0 ? ",\"parameters\":{\"folder\":\"inbox\",\"limit\":20}" :
	    "");
	return (n < 0 || (size_t)n >= len ? -1 : n);
}

static int64_t
self_cpu_us(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
	    USEC_PER_SEC + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/*
 * Stop D with SIG (SIGTERM: drain; SIGKILL: a crash), start it again and
 * wait until it reports N schedules.
 */
static int
restart(struct bench_daemon *d, uint64_t n, int sig, int64_t *stop_us,
    int64_t *ready_us, struct bench_rss *rss, char **cause)
{
	json_t	*st;
	int64_t	 took;

	if (bench_daemon_stop(d, sig, STOP_TIMEOUT, &took, cause) == -1)
		return (-1);
	if (stop_us != NULL)
		*stop_us = took;
	if (bench_daemon_start(d, (int64_t)n, START_TIMEOUT, ready_us, &st,
	    cause) == -1)
		return (-1);
	json_decref(st);
	bench_rss(d->pid, rss);
	return (0);
}

/* Everything for one count N; fills R. */
static int
run_count(const struct options *o, const struct gen *g, uint64_t n,
    struct result *r, char **cause)
{
	struct bench_daemon	 d;
	struct bench_pipeline	 p;
	json_t			*st = NULL;
	int64_t			 ready, took, cpu0, self0;
	int			 rc = -1;

	memset(r, 0, sizeof *r);
	memset(&p, 0, sizeof p);
	r->n = n;
	r->load_before = bench_loadavg();
	bench_daemon_init(&d, o->b.chimed, o->b.catalog);
	d.sync = o->b.sync;
	d.log_level = o->b.log_level;
	d.keep = o->b.keep;
	if (bench_daemon_start(&d, 0, START_TIMEOUT, &ready, NULL,
	    cause) == -1)
		goto out;
	bench_rss(d.pid, &r->rss_before);
	cpu0 = bench_cpu_us(d.pid);
	self0 = self_cpu_us();

	bench_pipeline_init(&p, &o->b, d.sock, "schedule.create");
	p.total = n;
	p.params = gen_params;
	p.arg = (void *)g;
	if (bench_pipeline_run(&p, cause) == -1)
		goto out;
	r->daemon_cpu_us = bench_cpu_us(d.pid) - cpu0;
	r->client_cpu_us = self_cpu_us() - self0;
	if (p.errors > 0) {
		xasprintf(cause, "%llu of %llu schedule.create failed; first: "
		    "%s", (unsigned long long)p.errors, (unsigned long long)n,
		    p.first_error);
		goto out;
	}
	r->create_us = p.elapsed_us;
	r->create_rate = (double)n * USEC_PER_SEC / (double)p.elapsed_us;
	bench_sort(p.latency_us, n);
	r->lat_p50_us = bench_percentile(p.latency_us, n, 0.50);
	r->lat_p99_us = bench_percentile(p.latency_us, n, 0.99);
	if (bench_call(d.sock, "daemon.status", NULL, 10 * USEC_PER_SEC, &st,
	    cause) == -1)
		goto out;
	if (bench_json_int(st, "schedules.total") != (int64_t)n) {
		xasprintf(cause, "daemon.status reports %lld schedules, not "
		    "%llu", (long long)bench_json_int(st, "schedules.total"),
		    (unsigned long long)n);
		goto out;
	}
	bench_rss(d.pid, &r->rss_after);
	r->disk = bench_du(d.data);
	fprintf(stderr, "load-bench: %llu created in %.2f s; restarting\n",
	    (unsigned long long)n, r->create_us / 1e6);

	if (restart(&d, n, SIGTERM, &r->stop_us, &r->restart_us,
	    &r->rss_restart, cause) == -1)
		goto out;
	if (restart(&d, n, SIGKILL, NULL, &r->crash_us, &r->rss_crash,
	    cause) == -1)
		goto out;
	json_decref(st);
	st = NULL;
	if (bench_call(d.sock, "daemon.status", NULL, 10 * USEC_PER_SEC, &st,
	    cause) == -1)
		goto out;
	r->timers = bench_json_int(st, "timers");
	r->load_after = bench_loadavg();
	if (bench_daemon_stop(&d, SIGTERM, STOP_TIMEOUT, &took, cause) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		bench_daemon_log_tail(&d, 20);
	json_decref(st);
	bench_pipeline_free(&p);
	bench_daemon_free(&d, o->b.keep);
	return (rc);
}

static json_t *
rss_json(const struct bench_rss *r)
{
	return (json_pack("{s:I,s:I,s:I,s:I}", "rss", (json_int_t)r->rss,
	    "anon", (json_int_t)r->anon, "file", (json_int_t)r->file,
	    "hwm", (json_int_t)r->hwm));
}

static json_t *
result_json(const struct result *r)
{
	double	per = (double)(r->rss_after.rss - r->rss_before.rss) /
	    (double)r->n;
	double	per_anon = (double)(r->rss_after.anon - r->rss_before.anon) /
	    (double)r->n;

	return (json_pack("{s:I,s:f,s:f,s:f,s:f,s:f,s:f,s:o,s:o,s:f,s:f,"
	    "s:I,s:I,s:f,s:f,s:o,s:f,s:o,s:I,s:f,s:f}",
	    "schedules", (json_int_t)r->n,
	    "create_s", r->create_us / 1e6,
	    "create_per_s", r->create_rate,
	    "create_latency_p50_ms", r->lat_p50_us / 1e3,
	    "create_latency_p99_ms", r->lat_p99_us / 1e3,
	    "daemon_cpu_s", r->daemon_cpu_us / 1e6,
	    "client_cpu_s", r->client_cpu_us / 1e6,
	    "rss_before", rss_json(&r->rss_before),
	    "rss_after", rss_json(&r->rss_after),
	    "rss_bytes_per_schedule", per,
	    "anon_bytes_per_schedule", per_anon,
	    "disk_bytes", (json_int_t)r->disk,
	    "disk_bytes_per_schedule", (json_int_t)(r->disk / (int64_t)r->n),
	    "stop_s", r->stop_us / 1e6,
	    "restart_recovery_s", r->restart_us / 1e6,
	    "rss_after_restart", rss_json(&r->rss_restart),
	    "crash_recovery_s", r->crash_us / 1e6,
	    "rss_after_crash_recovery", rss_json(&r->rss_crash),
	    "timers_after_recovery", (json_int_t)r->timers,
	    "loadavg_before", r->load_before,
	    "loadavg_after", r->load_after));
}

static void
print_table(const struct options *o, struct result *res, size_t n)
{
	const struct result	*r;
	double			 heap, heap_crash;
	size_t			 i;

	printf("\nload-bench: %s, journal-sync %s, %d connections x %d in "
	    "flight, %ld cores\n", o->b.chimed, o->b.sync, o->b.conns,
	    o->b.window, sysconf(_SC_NPROCESSORS_ONLN));
	printf("%10s %9s %8s %8s %8s %9s %9s %9s %8s %7s %8s %8s %9s %9s\n",
	    "schedules", "create/s", "p99 ms", "RSS0 MiB", "RSS MiB",
	    "B/sched", "anon B/s", "disk MiB", "cpu s", "stop s",
	    "restart s", "crash s", "RSS' MiB", "load");
	for (i = 0; i < n; i++) {
		r = &res[i];
		printf("%10llu %9.0f %8.1f %8.1f %8.1f %9.0f %9.0f %9.1f "
		    "%8.2f %7.2f %9.3f %8.3f %9.1f %4.1f-%.1f\n",
		    (unsigned long long)r->n, r->create_rate,
		    r->lat_p99_us / 1e3, r->rss_before.rss / MIB,
		    r->rss_after.rss / MIB,
		    (double)(r->rss_after.rss - r->rss_before.rss) /
		    (double)r->n,
		    (double)(r->rss_after.anon - r->rss_before.anon) /
		    (double)r->n, r->disk / MIB, r->daemon_cpu_us / 1e6,
		    r->stop_us / 1e6, r->restart_us / 1e6, r->crash_us / 1e6,
		    r->rss_crash.rss / MIB, r->load_before, r->load_after);
	}
	printf("\n  create/s: schedule.create answered per second; p99 ms: "
	    "its answer latency\n  (request queued to answer, with up to "
	    "%d in flight); RSS0/RSS: VmRSS before and\n  after creation; "
	    "B/sched: (RSS - RSS0) / N (anon: the heap alone, without "
	    "LMDB's\n  file-backed map); cpu s: the daemon's CPU time during "
	    "creation; restart s:\n  SIGTERM, then start until daemon.status "
	    "answers N; crash s: the same after\n  kill -9; RSS': VmRSS after "
	    "that recovery; load: the machine's 1-minute load average\n  at "
	    "the start and at the end (figures taken on a busy machine "
	    "are worse).\n", o->b.conns * o->b.window);
	for (i = 0; i < n; i++) {
		r = &res[i];
		if (r->n != 1000000)
			continue;
		printf("\n  targets (1,000,000 schedules): RSS %.0f MiB "
		    "(target < 1024): %s; reload after restart %.2f s, after "
		    "crash %.2f s (target < 2 s): %s\n", r->rss_after.rss /
		    MIB, r->rss_after.rss < 1024 * MIB ? "met" : "NOT met",
		    r->restart_us / 1e6, r->crash_us / 1e6,
		    r->restart_us < 2 * USEC_PER_SEC &&
		    r->crash_us < 2 * USEC_PER_SEC ? "met" : "NOT met");
		heap = (double)(r->rss_after.anon - r->rss_before.anon) /
		    (double)r->n;
		heap_crash = (double)(r->rss_crash.anon - r->rss_before.anon) /
		    (double)r->n;
		printf("  heap per schedule %.0f B after creation, %.0f B "
		    "after the crash recovery (target < 600 B): %s\n", heap,
		    heap_crash, heap < 600 && heap_crash < 600 ? "met" :
		    "NOT met");
	}
}

/* --counts N,... (bench_opts_parse); -1: not it. */
static int
take_option(void *arg, int ch, const char *val)
{
	struct options	*o = arg;

	if (ch != 'n')
		return (-1);
	if (bench_parse_list(val, o->counts, MAX_COUNTS, &o->ncounts) == -1) {
		fprintf(stderr, "load-bench: --counts: expected counts like "
		    "1000,10k,1M\n");
		exit(2);
	}
	return (0);
}

int
main(int argc, char **argv)
{
	static const struct bench_own	 own[] = {
		{ "counts", BENCH_OWN_TAKE, NULL, 0, 0, 'n' },
		{ "help", BENCH_OWN_HELP, NULL, 0, 0, 0 },
		{ NULL }
	};
	struct options			 o;
	struct gen			 g;
	struct result			 res[MAX_COUNTS];
	json_t				*arr;
	char				*cause = NULL;
	size_t				 i;

	memset(&o, 0, sizeof o);
	bench_opts_init(&o.b, "load-bench");
	bench_parse_list("1000,10000,100000", o.counts, MAX_COUNTS,
	    &o.ncounts);
	if (bench_opts_parse(&o.b, argc, argv, own,
	    BENCH_TAKE_DAEMON | BENCH_TAKE_CATALOG | BENCH_TAKE_LOG_LEVEL |
	    BENCH_TAKE_CONNECTIONS | BENCH_TAKE_WINDOW, take_option, &o) == -1)
		usage();
	bench_opts_check(&o.b, 0);
	gen_init(&g);
	for (i = 0; i < o.ncounts; i++) {
		fprintf(stderr, "load-bench: %llu schedules...\n",
		    (unsigned long long)o.counts[i]);
		if (run_count(&o, &g, o.counts[i], &res[i], &cause) == -1) {
			fprintf(stderr, "load-bench: %llu schedules: %s\n",
			    (unsigned long long)o.counts[i], cause);
			print_table(&o, res, i);
			exit(1);
		}
	}
	print_table(&o, res, o.ncounts);
	arr = json_array();
	for (i = 0; i < o.ncounts; i++)
		json_array_append_new(arr, result_json(&res[i]));
	bench_opts_output(&o.b, json_pack("{s:s,s:s,s:s,s:i,s:i,s:I,s:o}",
	    "program", "load-bench", "chimed", o.b.chimed,
	    "journal_sync", o.b.sync, "connections", o.b.conns,
	    "window", o.b.window, "cores",
	    (json_int_t)sysconf(_SC_NPROCESSORS_ONLN), "results", arr));
	bench_opts_free(&o.b);
	return (0);
}
