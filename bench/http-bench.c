/*
 * bench/http-bench.c: runs per second through the http executor, and the
 * time chimed adds to each run.
 *
 * For each concurrency C: start chime-test-router on 127.0.0.1 and a real
 * chimed (durable journal by default) with --max-running C and
 * --http-allow 127.0.0.1/32, whose catalog has one http operation calling
 * the router.  Create C manual schedules, then send N schedule.trigger
 * requests (pipelined, many in flight) whose parameters ask the router to
 * answer after --latency-ms.  Once every run has ended, stop the daemon,
 * read its journal back (chime-journal export) and the router's record of
 * each request (GET /requests), and compute per run:
 *
 *	latency		finished_us - started_us of its run.finished record
 *			(started: the executor slot was granted; finished:
 *			the result was handled, before its record is durable)
 *	router		replied_us - received_us at the router
 *	overhead	latency - router: what chimed adds (the run.started
 *			commit, building and signing the request, libcurl,
 *			the loop, handling the result)
 *
 * runs/s is N over the time from the first trigger to the last finish.
 *
 *	http-bench [--concurrency N,...] [--runs N] [--latency-ms N]
 *	    [--chimed PATH] [--journal PATH] [--router PATH]
 *	    [--sync full|batch|none] [--log-level LEVEL] [--connections N]
 *	    [--window N] [--keep] [--out FILE]
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <jansson.h>

#include "engine.h"
#include "bench.h"

#define MAX_LEVELS	8
#define START_TIMEOUT	(60 * USEC_PER_SEC)
#define STOP_TIMEOUT	(300 * USEC_PER_SEC)
#define END_TIMEOUT	(600 * USEC_PER_SEC)
#define POLL_US		(20 * USEC_PER_MSEC)
#define SECRET		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

struct options {
	struct bench_opts b;		/* --chimed, --sync, --keep, --out */
	uint64_t	 levels[MAX_LEVELS];
	size_t		 nlevels;
	uint64_t	 runs;		/* 0: max(2000, 8 x concurrency) */
	int		 latency_ms;
};

/* One run, joined from the journal and the router. */
struct run_times {
	struct strmap_node	 node;
	char			*run_id;
	int64_t			 started_us;
	int64_t			 finished_us;
	int64_t			 received_us;	/* at the router */
	int64_t			 replied_us;
	int			 success;
	int			 requests;	/* seen by the router */
};

/* The figures of one concurrency. */
struct result {
	uint64_t	 concurrency;
	uint64_t	 runs;
	uint64_t	 succeeded;
	uint64_t	 joined;	/* runs with both sides known */
	int64_t		 elapsed_us;	/* first trigger to last finish */
	double		 rate;
	int64_t		 overhead[3];	/* p50, p99, max */
	int64_t		 latency[3];
	int64_t		 router[3];
	int64_t		 trigger[2];	/* answer latency p50, p99 */
	int64_t		 daemon_cpu_us;
	struct bench_rss rss;
};


static deadfunc void	usage(void);
static int		take_option(void *, int, const char *);
static int		create_params(uint64_t, char *, size_t, void *);
static int		trigger_params(uint64_t, char *, size_t, void *);
static int		wait_idle(struct bench_daemon *, uint64_t, char **);
static int		read_journal(const struct options *, const char *,
			    struct strmap *, char **);
static int		finished_line(const char *, size_t, void *);
static int		read_router(const struct bench_router *, struct strmap *,
			    char **);
static void		summarize(struct strmap *, int64_t, struct result *);
static void		times_free(struct strmap_node *, void *);
static int		run_level(const struct options *, uint64_t,
			    struct result *, char **);
static void		print_table(const struct options *, struct result *,
			    size_t);
static json_t		*result_json(const struct result *);

struct trigger_arg {
	uint64_t	 schedules;
	int		 latency_ms;
};

static deadfunc void
usage(void)
{
	fprintf(stderr, "usage: http-bench [--concurrency N,...] [--runs N] "
	    "[--latency-ms N]\n"
	    "           [--chimed PATH] [--journal PATH] [--router PATH]\n"
	    "           [--sync full|batch|none] [--log-level LEVEL]\n"
	    "           [--connections N] [--window N] [--keep] "
	    "[--out FILE]\n");
	exit(2);
}


static int
create_params(uint64_t i, char *buf, size_t len, void *arg)
{
	int	n;

	n = snprintf(buf, len, "{\"name\":\"hb-%llu\",\"operation\":\"gw\","
	    "\"manual\":true}", (unsigned long long)i);
	return (n < 0 || (size_t)n >= len ? -1 : n);
}

static int
trigger_params(uint64_t i, char *buf, size_t len, void *arg)
{
	const struct trigger_arg	*t = arg;
	int				 n;

	n = snprintf(buf, len, "{\"id\":\"hb-%llu\",\"parameters\":"
	    "{\"router\":{\"latency_ms\":%d}}}",
	    (unsigned long long)(i % t->schedules), t->latency_ms);
	return (n < 0 || (size_t)n >= len ? -1 : n);
}

/* Wait until nothing runs or waits and RUNS requests reached the router. */
static int
wait_idle(struct bench_daemon *d, uint64_t runs, char **cause)
{
	json_t	*st;
	int64_t	 t0 = mono_us();

	for (;;) {
		if (bench_call(d->sock, "daemon.status", NULL,
		    10 * USEC_PER_SEC, &st, cause) == -1)
			return (-1);
		if (bench_json_int(st, "runs.running") == 0 &&
		    bench_json_int(st, "runs.waiting") == 0 &&
		    bench_json_int(st, "journal.pending") == 0) {
			json_decref(st);
			return (0);
		}
		json_decref(st);
		if (mono_us() - t0 > END_TIMEOUT) {
			xasprintf(cause, "%llu runs did not end within %lld s",
			    (unsigned long long)runs,
			    (long long)(END_TIMEOUT / USEC_PER_SEC));
			return (-1);
		}
		usleep(POLL_US);
	}
}

static struct run_times *
times_get(struct strmap *m, const char *id)
{
	struct strmap_node	*n;
	struct run_times	*t;

	if ((n = strmap_find(m, id)) != NULL)
		return ((struct run_times *)n);
	t = xcalloc(1, sizeof *t);
	t->run_id = xstrdup(id);
	strmap_insert(m, &t->node, t->run_id);
	return (t);
}

static void
times_free(struct strmap_node *n, void *arg)
{
	struct run_times	*t = (struct run_times *)n;

	free(t->run_id);
	free(t);
}

/* Join LINE to the run times ARG (a strmap) if it is run.finished. */
static int
finished_line(const char *line, size_t len, void *arg)
{
	struct strmap		*m = arg;
	struct run_times	*t;
	json_t			*j, *body;
	const char		*kind, *id, *status;

	if ((j = json_loadb(line, len, 0, NULL)) == NULL)
		return (0);
	body = json_object_get(j, "body");
	kind = json_string_value(json_object_get(j, "kind"));
	id = json_string_value(json_object_get(body, "run_id"));
	if (kind != NULL && id != NULL && strcmp(kind, "run.finished") == 0) {
		t = times_get(m, id);
		t->started_us = json_integer_value(json_object_get(body,
		    "started_us"));
		t->finished_us = json_integer_value(json_object_get(body,
		    "finished_us"));
		status = json_string_value(json_object_get(body, "status"));
		t->success = status != NULL && strcmp(status, "success") == 0;
	}
	json_decref(j);
	return (0);
}

/* The run.finished records of the journal in DATA. */
static int
read_journal(const struct options *o, const char *data, struct strmap *m,
    char **cause)
{
	return (bench_journal_export(o->b.journal, data, finished_line, m,
	    cause));
}

/* The router's record of each request, joined by run id. */
static int
read_router(const struct bench_router *r, struct strmap *m, char **cause)
{
	struct run_times	*t;
	json_t			*a, *o;
	const char		*id;
	size_t			 i;

	if ((a = bench_router_get(r, "/requests", cause)) == NULL)
		return (-1);
	json_array_foreach(a, i, o) {
		if ((id = json_string_value(json_object_get(o,
		    "run_id"))) == NULL)
			continue;
		t = times_get(m, id);
		t->requests++;
		t->received_us = json_integer_value(json_object_get(o,
		    "received_us"));
		t->replied_us = json_integer_value(json_object_get(o,
		    "replied_us"));
	}
	json_decref(a);
	return (0);
}

struct summary_arg {
	struct result	*r;
	int64_t		*overhead, *latency, *router;
	int64_t		 last_finish;
};

static void
summarize_one(struct strmap_node *n, void *arg)
{
	struct run_times	*t = (struct run_times *)n;
	struct summary_arg	*a = arg;
	size_t			 k;

	if (t->success)
		a->r->succeeded++;
	if (t->finished_us > a->last_finish)
		a->last_finish = t->finished_us;
	if (t->finished_us == 0 || t->requests != 1 || t->replied_us == 0)
		return;
	k = a->r->joined++;
	a->latency[k] = t->finished_us - t->started_us;
	a->router[k] = t->replied_us - t->received_us;
	a->overhead[k] = a->latency[k] - a->router[k];
}

static void
summarize(struct strmap *m, int64_t t0, struct result *r)
{
	struct summary_arg	a;
	size_t			n = m->count;

	memset(&a, 0, sizeof a);
	a.r = r;
	a.overhead = xcalloc(n + 1, sizeof *a.overhead);
	a.latency = xcalloc(n + 1, sizeof *a.latency);
	a.router = xcalloc(n + 1, sizeof *a.router);
	strmap_foreach(m, summarize_one, &a);
	bench_quantiles(a.overhead, r->joined, r->overhead);
	bench_quantiles(a.latency, r->joined, r->latency);
	bench_quantiles(a.router, r->joined, r->router);
	r->elapsed_us = a.last_finish - t0;
	r->rate = r->elapsed_us > 0 ? (double)r->runs * USEC_PER_SEC /
	    (double)r->elapsed_us : 0;
	free(a.overhead);
	free(a.latency);
	free(a.router);
}

/* Everything for concurrency C; fills R. */
static int
run_level(const struct options *o, uint64_t c, struct result *r,
    char **cause)
{
	struct bench_daemon	 d;
	struct bench_pipeline	 p;
	struct trigger_arg	 ta;
	struct bench_router	 rt;
	struct strmap		 m;
	char			*catalog = NULL;
	int64_t			 ready, cpu0, t0, took;
	int			 rc = -1;

	memset(r, 0, sizeof *r);
	memset(&p, 0, sizeof p);
	memset(&rt, 0, sizeof rt);
	strmap_init(&m);
	r->concurrency = c;
	r->runs = o->runs != 0 ? o->runs : (c * 8 > 2000 ? c * 8 : 2000);
	bench_daemon_init(&d, o->b.chimed, NULL);
	if (bench_router_start(o->b.router, d.dir, SECRET, &rt, cause) == -1)
		goto out;
	if ((catalog = bench_router_catalog(d.dir, rt.port, "env:CHIME_BENCH_SECRET",
	    cause)) == NULL)
		goto out;
	d.http_allow = "127.0.0.1/32";
	d.catalog = catalog;
	d.sync = o->b.sync;
	d.log_level = o->b.log_level;
	d.max_running = (int)c;
	setenv("CHIME_BENCH_SECRET", SECRET, 1);
	if (bench_daemon_start(&d, 0, START_TIMEOUT, &ready, NULL,
	    cause) == -1)
		goto out;

	bench_pipeline_init(&p, &o->b, d.sock, "schedule.create");
	p.total = c;
	p.params = create_params;
	if (bench_pipeline_run(&p, cause) == -1)
		goto out;
	if (p.errors > 0) {
		xasprintf(cause, "schedule.create failed: %s", p.first_error);
		goto out;
	}
	bench_pipeline_free(&p);

	ta.schedules = c;
	ta.latency_ms = o->latency_ms;
	bench_pipeline_init(&p, &o->b, d.sock, "schedule.trigger");
	p.total = r->runs;
	p.params = trigger_params;
	p.arg = &ta;
	cpu0 = bench_cpu_us(d.pid);
	t0 = now_us();
	if (bench_pipeline_run(&p, cause) == -1)
		goto out;
	if (p.errors > 0) {
		xasprintf(cause, "%llu schedule.trigger failed; first: %s",
		    (unsigned long long)p.errors, p.first_error);
		goto out;
	}
	bench_sort(p.latency_us, r->runs);
	r->trigger[0] = bench_percentile(p.latency_us, r->runs, 0.50);
	r->trigger[1] = bench_percentile(p.latency_us, r->runs, 0.99);
	if (wait_idle(&d, r->runs, cause) == -1)
		goto out;
	r->daemon_cpu_us = bench_cpu_us(d.pid) - cpu0;
	bench_rss(d.pid, &r->rss);
	if (bench_daemon_stop(&d, SIGTERM, STOP_TIMEOUT, &took, cause) == -1)
		goto out;
	if (read_journal(o, d.data, &m, cause) == -1 ||
	    read_router(&rt, &m, cause) == -1)
		goto out;
	summarize(&m, t0, r);
	fprintf(stderr, "http-bench: concurrency %llu: %llu runs, %.0f/s\n",
	    (unsigned long long)c, (unsigned long long)r->runs, r->rate);
	rc = 0;
out:
	if (rc == -1)
		bench_daemon_log_tail(&d, 20);
	bench_daemon_kill(&d);
	bench_router_stop(&rt);
	bench_pipeline_free(&p);
	strmap_foreach(&m, times_free, NULL);
	strmap_clear(&m);
	bench_daemon_free(&d, o->b.keep);
	free(catalog);
	return (rc);
}

static json_t *
result_json(const struct result *r)
{
	return (json_pack("{s:I, s:I, s:I, s:I, s:f, s:f, s:{s:f, s:f, s:f}, "
	    "s:{s:f, s:f, s:f}, s:{s:f, s:f, s:f}, s:{s:f, s:f}, s:f, s:I}",
	    "concurrency", (json_int_t)r->concurrency,
	    "runs", (json_int_t)r->runs,
	    "succeeded", (json_int_t)r->succeeded,
	    "measured", (json_int_t)r->joined,
	    "elapsed_s", r->elapsed_us / 1e6,
	    "runs_per_s", r->rate,
	    "overhead_ms", "p50", r->overhead[0] / 1e3, "p99",
	    r->overhead[1] / 1e3, "max", r->overhead[2] / 1e3,
	    "latency_ms", "p50", r->latency[0] / 1e3, "p99",
	    r->latency[1] / 1e3, "max", r->latency[2] / 1e3,
	    "router_ms", "p50", r->router[0] / 1e3, "p99",
	    r->router[1] / 1e3, "max", r->router[2] / 1e3,
	    "trigger_answer_ms", "p50", r->trigger[0] / 1e3, "p99",
	    r->trigger[1] / 1e3,
	    "daemon_cpu_s", r->daemon_cpu_us / 1e6,
	    "daemon_rss_bytes", (json_int_t)r->rss.rss));
}

static void
print_table(const struct options *o, struct result *res, size_t n)
{
	const struct result	*r;
	size_t			 i;

	printf("\nhttp-bench: router answers after %d ms, journal-sync %s, "
	    "%ld cores\n", o->latency_ms, o->b.sync,
	    sysconf(_SC_NPROCESSORS_ONLN));
	printf("%11s %7s %7s %8s %9s %9s %9s %9s %9s %7s\n", "concurrency",
	    "runs", "ok", "runs/s", "ovh p50", "ovh p99", "lat p50",
	    "lat p99", "trig p99", "cpu s");
	for (i = 0; i < n; i++) {
		r = &res[i];
		printf("%11llu %7llu %7llu %8.0f %7.2fms %7.2fms %7.1fms "
		    "%7.1fms %7.1fms %7.2f\n",
		    (unsigned long long)r->concurrency,
		    (unsigned long long)r->runs,
		    (unsigned long long)r->succeeded, r->rate,
		    r->overhead[0] / 1e3, r->overhead[1] / 1e3,
		    r->latency[0] / 1e3, r->latency[1] / 1e3,
		    r->trigger[1] / 1e3, r->daemon_cpu_us / 1e6);
	}
	printf("ovh: run latency (slot granted -> result handled) minus the "
	    "router's own time\n");
	for (i = 0; i < n; i++)
		printf("target (issue 16): >= 8,000 runs/s: concurrency %llu "
		    "%.0f runs/s, %s\n", (unsigned long long)res[i].concurrency,
		    res[i].rate, res[i].rate >= 8000 ? "met" : "NOT met");
}

/* --concurrency N,... (bench_opts_parse); -1: not it. */
static int
take_option(void *arg, int ch, const char *val)
{
	struct options	*o = arg;

	if (ch != 'c')
		return (-1);
	if (bench_parse_list(val, o->levels, MAX_LEVELS, &o->nlevels) == -1)
		usage();
	return (0);
}

int
main(int argc, char **argv)
{
	struct options		 o;
	const struct bench_own	 own[] = {
		{ "concurrency", BENCH_OWN_TAKE, NULL, 0, 0, 'c' },
		{ "runs", BENCH_OWN_U64, &o.runs, 1, 10000000, 0 },
		{ "latency-ms", BENCH_OWN_INT, &o.latency_ms, 0, 60000, 0 },
		{ NULL }
	};
	struct result		 res[MAX_LEVELS];
	json_t			*a;
	char			*cause = NULL;
	size_t			 i;

	memset(&o, 0, sizeof o);
	bench_opts_init(&o.b, "http-bench");
	o.levels[0] = 32;
	o.levels[1] = 256;
	o.levels[2] = 1024;
	o.nlevels = 3;
	o.latency_ms = 50;
	o.b.conns = 8;
	o.b.window = 128;
	o.b.conns_max = 256;
	o.b.window_max = 100000;
	if (bench_opts_parse(&o.b, argc, argv, own,
	    BENCH_TAKE_DAEMON | BENCH_TAKE_JOURNAL | BENCH_TAKE_ROUTER |
	    BENCH_TAKE_LOG_LEVEL | BENCH_TAKE_CONNECTIONS | BENCH_TAKE_WINDOW,
	    take_option, &o) == -1)
		usage();
	bench_opts_check(&o.b, BENCH_NEED_JOURNAL | BENCH_NEED_ROUTER);
	log_open("http-bench", LOG_LEVEL_WARN);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	for (i = 0; i < o.nlevels; i++) {
		if (o.levels[i] > 100000) {
			fprintf(stderr, "http-bench: concurrency %llu is more "
			    "than --max-running allows\n",
			    (unsigned long long)o.levels[i]);
			return (2);
		}
		if (run_level(&o, o.levels[i], &res[i], &cause) == -1) {
			fprintf(stderr, "http-bench: concurrency %llu: %s\n",
			    (unsigned long long)o.levels[i], cause);
			return (1);
		}
	}
	print_table(&o, res, o.nlevels);
	a = json_array();
	for (i = 0; i < o.nlevels; i++)
		json_array_append_new(a, result_json(&res[i]));
	bench_opts_output(&o.b, json_pack("{s:s, s:i, s:s, s:i, s:o}",
	    "bench", "http-bench", "latency_ms", o.latency_ms, "sync",
	    o.b.sync, "cores", (int)sysconf(_SC_NPROCESSORS_ONLN), "levels",
	    a));
	bench_opts_free(&o.b);
	return (0);
}
