/*
 * bench/batch-bench.c: one large parallel batch through the http executor:
 * operations per second, the time chimed adds to each operation, and the
 * memory a pending operation costs.
 *
 * Start chime-test-router on 127.0.0.1 and a real chimed (durable journal
 * by default) with --max-running C and --http-allow 127.0.0.1/32, whose
 * catalog has one http operation calling the router.  Create a batch of N
 * operations with max_concurrent C as a draft (the daemon's anonymous RSS
 * before and after gives the memory per pending operation), start it, and
 * poll batch.get until it ends.  Then stop the daemon and read the
 * op.completed records back (chime-journal export):
 *
 *	ops/s		N over the time from batch.start to the batch's end
 *	latency		finished_us - started_us of each op.completed
 *	overhead	latency - the router's answer delay (--latency-ms):
 *			what chimed adds (the op.started commit, the request,
 *			libcurl, the loop, handling the result)
 *	cpu/op		the daemon's CPU time over N
 *
 *	batch-bench [--ops N] [--max-concurrent C] [--latency-ms N]
 *	    [--chimed PATH] [--journal PATH] [--router PATH]
 *	    [--sync full|batch|none] [--keep] [--out FILE]
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

#include <jansson.h>

#include "engine.h"
#include "bench.h"

#define START_TIMEOUT	(60 * USEC_PER_SEC)
#define STOP_TIMEOUT	(300 * USEC_PER_SEC)
#define CALL_TIMEOUT	(120 * USEC_PER_SEC)
#define END_TIMEOUT	(3600 * USEC_PER_SEC)
#define POLL_US		(50 * USEC_PER_MSEC)

struct options {
	struct bench_opts b;		/* --chimed, --sync, --keep, --out */
	uint64_t	 ops;
	uint64_t	 concurrency;
	int		 latency_ms;
};

struct result {
	uint64_t	 completed;
	int64_t		 create_us;	/* batch.create (draft) answered */
	int64_t		 elapsed_us;	/* batch.start to the end */
	double		 rate;
	int64_t		 pending_bytes;	/* anonymous RSS per pending op */
	int64_t		 latency[3];	/* p50, p99, max */
	int64_t		 overhead[3];
	int64_t		 cpu_per_op_us;
	struct bench_rss rss;
};

/* The latencies read back from the journal. */
struct latencies {
	int64_t		*v;
	size_t		 n;
	size_t		 cap;
};

static deadfunc void	usage(void);
static int		wait_end(struct bench_daemon *, const char *, char **);
static int		read_journal(const struct options *, const char *,
			    int64_t **, size_t *, char **);
static int		latency_line(const char *, size_t, void *);
static int		run(const struct options *, struct result *, char **);

static deadfunc void
usage(void)
{
	fprintf(stderr, "usage: batch-bench [--ops N] [--max-concurrent C] "
	    "[--latency-ms N]\n"
	    "           [--chimed PATH] [--journal PATH] [--router PATH]\n"
	    "           [--sync full|batch|none] [--keep] [--out FILE]\n");
	exit(2);
}

/* Poll batch.get until batch ID leaves "running". */
static int
wait_end(struct bench_daemon *d, const char *id, char **cause)
{
	json_t		*b;
	const char	*st;
	char		*params;
	int64_t		 t0 = mono_us();
	int		 done;

	xasprintf(&params, "{\"id\":\"%s\",\"limit\":0}", id);
	for (;;) {
		if (bench_call(d->sock, "batch.get", params, CALL_TIMEOUT, &b,
		    cause) == -1) {
			free(params);
			return (-1);
		}
		st = json_string_value(json_object_get(b, "state"));
		done = st != NULL && strcmp(st, "running") != 0;
		if (done && strcmp(st, "completed") != 0)
			xasprintf(cause, "the batch ended %s: %s", st,
			    json_string_value(json_object_get(b, "progress")));
		json_decref(b);
		if (done) {
			free(params);
			return (*cause == NULL ? 0 : -1);
		}
		if (mono_us() - t0 > END_TIMEOUT) {
			xasprintf(cause, "the batch did not end in time");
			free(params);
			return (-1);
		}
		usleep(POLL_US);
	}
}

/* Latencies (finished - started) of the op.completed records. */
static int
read_journal(const struct options *o, const char *data, int64_t **v,
    size_t *n, char **cause)
{
	struct latencies	l;

	memset(&l, 0, sizeof l);
	if (bench_journal_export(o->b.journal, data, latency_line, &l,
	    cause) == -1) {
		free(l.v);
		*v = NULL;
		*n = 0;
		return (-1);
	}
	*v = l.v;
	*n = l.n;
	return (0);
}

/* Add the latency of LINE to the latencies ARG if it is op.completed. */
static int
latency_line(const char *line, size_t len, void *arg)
{
	struct latencies	*l = arg;
	json_t			*j, *body;
	const char		*kind;

	if (strstr(line, "\"op.completed\"") == NULL ||
	    (j = json_loadb(line, len, 0, NULL)) == NULL)
		return (0);
	body = json_object_get(j, "body");
	kind = json_string_value(json_object_get(j, "kind"));
	if (kind != NULL && strcmp(kind, "op.completed") == 0) {
		if (l->n == l->cap) {
			l->cap = l->cap == 0 ? 1024 : l->cap * 2;
			l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
		}
		l->v[l->n++] = json_integer_value(json_object_get(body,
		    "finished_us")) - json_integer_value(json_object_get(body,
		    "started_us"));
	}
	json_decref(j);
	return (0);
}

static int
run(const struct options *o, struct result *r, char **cause)
{
	struct bench_daemon	 d;
	struct bench_rss	 before, after;
	struct bench_router	 rt;
	json_t			*b = NULL;
	char			*catalog = NULL, *params = NULL;
	char			*id = NULL;
	int64_t			 ready, cpu0, t0, took, *lat = NULL;
	size_t			 n = 0, i;
	int			 rc = -1;

	memset(r, 0, sizeof *r);
	memset(&rt, 0, sizeof rt);
	bench_daemon_init(&d, o->b.chimed, NULL);
	if (bench_router_start(o->b.router, d.dir, NULL, &rt, cause) == -1)
		goto out;
	if ((catalog = bench_router_catalog(d.dir, rt.port, NULL,
	    cause)) == NULL)
		goto out;
	d.http_allow = "127.0.0.1/32";
	d.catalog = catalog;
	d.sync = o->b.sync;
	d.max_running = (int)o->concurrency;
	if (bench_daemon_start(&d, 0, START_TIMEOUT, &ready, NULL,
	    cause) == -1)
		goto out;
	bench_rss(d.pid, &before);
	xasprintf(&params, "{\"name\":\"bench\",\"operation\":\"gw\","
	    "\"count\":%llu,\"max_concurrent\":%llu,\"draft\":true,"
	    "\"parameters\":{\"router\":{\"latency_ms\":%d}}}",
	    (unsigned long long)o->ops, (unsigned long long)o->concurrency,
	    o->latency_ms);
	t0 = mono_us();
	if (bench_call(d.sock, "batch.create", params, CALL_TIMEOUT, &b,
	    cause) == -1)
		goto out;
	r->create_us = mono_us() - t0;
	id = xstrdup(json_string_value(json_object_get(b, "id")));
	json_decref(b);
	bench_rss(d.pid, &after);
	r->pending_bytes = (after.anon - before.anon) / (int64_t)o->ops;
	free(params);
	xasprintf(&params, "{\"id\":\"%s\"}", id);
	cpu0 = bench_cpu_us(d.pid);
	t0 = mono_us();
	if (bench_call(d.sock, "batch.start", params, CALL_TIMEOUT, &b,
	    cause) == -1)
		goto out;
	json_decref(b);
	if (wait_end(&d, id, cause) == -1)
		goto out;
	r->elapsed_us = mono_us() - t0;
	r->cpu_per_op_us = (bench_cpu_us(d.pid) - cpu0) / (int64_t)o->ops;
	bench_rss(d.pid, &r->rss);
	if (bench_daemon_stop(&d, SIGTERM, STOP_TIMEOUT, &took, cause) == -1)
		goto out;
	if (read_journal(o, d.data, &lat, &n, cause) == -1)
		goto out;
	r->completed = n;
	r->rate = r->elapsed_us > 0 ? (double)o->ops * USEC_PER_SEC /
	    (double)r->elapsed_us : 0;
	if (n > 0) {
		bench_quantiles(lat, n, r->latency);
		for (i = 0; i < 3; i++)
			r->overhead[i] = r->latency[i] - o->latency_ms *
			    USEC_PER_MSEC;
	}
	rc = 0;
out:
	if (rc == -1)
		bench_daemon_log_tail(&d, 20);
	bench_daemon_kill(&d);
	bench_router_stop(&rt);
	bench_daemon_free(&d, o->b.keep);
	free(lat);
	free(id);
	free(params);
	free(catalog);
	return (rc);
}

static json_t *
result_json(const struct options *o, const struct result *r)
{
	return (json_pack("{s:I, s:I, s:i, s:I, s:I, s:I, s:f, s:I, s:[I,I,I],"
	    " s:[I,I,I], s:I, s:I, s:f}",
	    "ops", (json_int_t)o->ops,
	    "max_concurrent", (json_int_t)o->concurrency,
	    "router_latency_ms", o->latency_ms,
	    "completed", (json_int_t)r->completed,
	    "create_us", (json_int_t)r->create_us,
	    "elapsed_us", (json_int_t)r->elapsed_us,
	    "ops_per_s", r->rate,
	    "bytes_per_pending_op", (json_int_t)r->pending_bytes,
	    "latency_us_p50_p99_max", (json_int_t)r->latency[0],
	    (json_int_t)r->latency[1], (json_int_t)r->latency[2],
	    "overhead_us_p50_p99_max", (json_int_t)r->overhead[0],
	    (json_int_t)r->overhead[1], (json_int_t)r->overhead[2],
	    "cpu_per_op_us", (json_int_t)r->cpu_per_op_us,
	    "rss_hwm_bytes", (json_int_t)r->rss.hwm,
	    "loadavg", bench_loadavg()));
}

int
main(int argc, char **argv)
{
	struct options		 o;
	const struct bench_own	 own[] = {
		{ "ops", BENCH_OWN_U64, &o.ops, 1, 100000, 0 },
		{ "max-concurrent", BENCH_OWN_U64, &o.concurrency, 1, 10000,
		    0 },
		{ "latency-ms", BENCH_OWN_INT, &o.latency_ms, 0, 60000, 0 },
		{ NULL }
	};
	struct result		 r;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	bench_opts_init(&o.b, "batch-bench");
	o.ops = 100000;
	o.concurrency = 1000;
	if (bench_opts_parse(&o.b, argc, argv, own,
	    BENCH_TAKE_DAEMON | BENCH_TAKE_JOURNAL | BENCH_TAKE_ROUTER, NULL,
	    NULL) == -1)
		usage();
	bench_opts_check(&o.b, BENCH_NEED_JOURNAL | BENCH_NEED_ROUTER);
	log_open("batch-bench", LOG_LEVEL_WARN);
	if (run(&o, &r, &cause) == -1) {
		fprintf(stderr, "batch-bench: %s\n", cause);
		return (1);
	}
	printf("  operations          %llu (max_concurrent %llu, router "
	    "delay %d ms, sync %s)\n", (unsigned long long)o.ops,
	    (unsigned long long)o.concurrency, o.latency_ms, o.b.sync);
	printf("  completed           %llu\n",
	    (unsigned long long)r.completed);
	printf("  create (draft)      %.3f s\n", r.create_us / 1e6);
	printf("  ops/s               %.0f\n", r.rate);
	printf("  op latency          p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
	    r.latency[0] / 1e3, r.latency[1] / 1e3, r.latency[2] / 1e3);
	printf("  overhead per op     p50 %.3f ms, p99 %.3f ms\n",
	    r.overhead[0] / 1e3, r.overhead[1] / 1e3);
	printf("  daemon cpu per op   %lld us\n", (long long)r.cpu_per_op_us);
	printf("  memory per pending  %lld bytes\n",
	    (long long)r.pending_bytes);
	printf("  peak rss            %.1f MiB\n", r.rss.hwm / 1048576.0);
	bench_opts_output(&o.b, result_json(&o, &r));
	bench_opts_free(&o.b);
	return (0);
}
