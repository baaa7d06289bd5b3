/*
 * bench/webhook-bench.c: requests per second and latency of chimed's
 * inbound webhook endpoint, POST /v1/hooks/SCHEDULE_ID, driven by wrk.
 *
 * For each number of connections C: start a real chimed (durable journal
 * by default) on a temporary data directory with its HTTP listener on a
 * free loopback port and a large --max-running, and create one webhook
 * schedule of a cheap operation (noop: one exec of /bin/echo) whose secret
 * is an env: reference to a random whsec_ secret set in the daemon's
 * environment.  Sign --requests deliveries now (distinct webhook-ids,
 * HMAC-SHA256 with OpenSSL, independent of the daemon's code) into one
 * file of whole HTTP requests per wrk thread, and run
 *
 *	wrk -t T -c C -d D --timeout 10s -s bench/webhook.lua URL -- PREFIX LEN
 *
 * whose script sends them in order and counts the statuses (202 accepted,
 * 200 duplicate: only when wrk sent more than were signed, 429, 503,
 * other).  wrk gives requests/s and the latency percentiles (send to
 * answer; a 202 is sent once the run's first record is durable).  Then
 * wait until every run has ended, stop the daemon and count the records
 * that end the runs in the journal (chime-journal export): how many
 * ended, how many of them during the load, and how long the rest took.
 * With --runs skip the operation is disabled in the account's
 * preferences, so each run is recorded skipped at once and nothing
 * executes: the endpoint's own cost.
 *
 * The limit in the same run: the same requests, sent by the same wrk with
 * the same connections for REF_DURATION_S, to tests/chime-test-router (a
 * libevent evhttp server on one thread that answers each POST at once and
 * writes nothing), before the daemon's load and after the daemon stopped.
 * The machine is shared and its speed moves from minute to minute: the
 * daemon's rate is given as a share of the mean of the two.
 *
 *	webhook-bench [--connections N,...] [--threads N] [--duration SECS]
 *	    [--requests N] [--max-running N] [--op ID] [--runs exec|skip]
 *	    [--chimed PATH]
 *	    [--journal PATH] [--router PATH] [--wrk PATH] [--script PATH]
 *	    [--sync full|batch|none] [--log-level LEVEL] [--keep] [--out FILE]
 */
#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "engine.h"
#include "bench.h"

#define MAX_LEVELS	8
#define MAX_THREADS	64
#define START_TIMEOUT	(60 * USEC_PER_SEC)
#define STOP_TIMEOUT	(300 * USEC_PER_SEC)
#define CALL_TIMEOUT	(30 * USEC_PER_SEC)
#define WRK_GRACE	(120 * USEC_PER_SEC)	/* beyond --duration */
#define POLL_US		(50 * USEC_PER_MSEC)
#define TOLERANCE_S	300	/* the daemon's default webhook tolerance */
#define TOLERANCE_MARGIN 30	/* seconds kept free of it */
#define SECRET_ENV	"CHIME_WEBHOOK_BENCH_SECRET"
#define KEY_LEN		32
#define BODY		"{\"type\":\"bench.event\",\"data\":{\"source\":" \
			"\"webhook-bench\"}}"
#define WRK_TAG		"webhook-bench-wrk "
#define REF_DURATION_S	3	/* each run of the limit, at the router */

struct options {
	struct bench_opts b;		/* --chimed, --sync, --keep, --out */
	uint64_t	 levels[MAX_LEVELS];
	size_t		 nlevels;
	int		 threads;
	int		 duration_s;
	uint64_t	 requests;
	int		 max_running;
	const char	*op;
	int		 skip;		/* the operation disabled: runs are
					   recorded skipped, nothing executes */
	const char	*wrk;
	const char	*script;
	int64_t		 drain_us;
	int		 no_limit;	/* no router: no limit measured */
};

/* What webhook.lua's done() prints. */
struct wrk_figures {
	int64_t	requests;
	int64_t	duration_us;
	int64_t	p50_us, p90_us, p99_us, max_us, mean_us;
	int64_t	connect, read, write, status, timeout;
	int64_t	sent, wrapped;
	int64_t	s200, s202, s429, s503, other, first_other;
	int64_t	threads;
};

/* The figures of one number of connections. */
struct result {
	uint64_t		 connections;
	int			 threads;
	uint64_t		 signed_requests;
	struct wrk_figures	 w;
	double			 rate;
	int64_t			 accepted;	/* the daemon's counters */
	int64_t			 duplicate;
	int64_t			 unauthorized;
	int64_t			 overloaded;
	int64_t			 runs_ended;
	int64_t			 runs_ok;
	int64_t			 runs_in_load;	/* ended before wrk did */
	int64_t			 received;	/* webhook.received records */
	int64_t			 load_us;	/* wrk's start to its exit */
	int64_t			 drain_us;	/* wrk's exit to the last end */
	int64_t			 daemon_cpu_us;
	struct bench_rss	 rss;
	size_t			 reqlen;	/* of each signed request */
	double			 ref_before;	/* the router's req/s */
	double			 ref_after;
	double			 ref;		/* their mean */
	int64_t			 ref_p99_us;	/* the larger of the two */
};

/* The daemon's webhook counters. */
struct hook_counts {
	int64_t	accepted;
	int64_t	duplicate;
	int64_t	unauthorized;
	int64_t	overloaded;
};

/* The runs of schedule SID counted while the journal is read back. */
struct run_ends {
	const char	*sid;
	int64_t		 load_end_us;
	int64_t		 last;		/* the last run's end */
	struct result	*r;
};

static deadfunc void	usage(void);
static int		take_option(void *, int, const char *);
static void		sign(const unsigned char *, const char *, long long,
			    char *, size_t);
static int		format_request(char *, size_t, int, const char *,
			    uint64_t, long long, const unsigned char *);
static int		write_requests(const struct options *, const char *,
			    int, int, const char *, const unsigned char *,
			    long long, size_t *, char **);
static int		create_schedule(struct bench_daemon *, const char *,
			    char **, char **);
static int		disable_op(struct bench_daemon *, const char *, char **);
static int		hook_counts(int, struct hook_counts *, char **);
static int		parse_wrk(const char *, struct wrk_figures *);
static char		*wrk_output(int, pid_t, int64_t, int *, int *);
static int		run_reference(const struct options *, struct result *,
			    const char *, const char *, size_t, double *,
			    char **);
static int		run_wrk(const struct options *, int, int, int,
			    const char *, const char *, size_t,
			    struct wrk_figures *, char **);
static int		wait_idle(struct bench_daemon *, int64_t, char **);
static int		run_end_line(const char *, size_t, void *);
static int		read_journal(const struct options *, const char *,
			    const char *, int64_t, struct result *, char **);
static void		make_secret(unsigned char *, char *, size_t);
static int		load(const struct options *, struct bench_daemon *,
			    int, const char *, const char *,
			    const unsigned char *, struct result *, int64_t *,
			    char **);
static void		check_result(const struct result *);
static int		run_level(const struct options *, uint64_t,
			    struct result *, char **);
static void		print_table(const struct options *,
			    const struct result *, size_t, double);
static json_t		*result_json(const struct result *);
static int		write_out(const struct options *,
			    const struct result *, size_t, double, char **);

static deadfunc void
usage(void)
{
	fprintf(stderr, "usage: webhook-bench [--connections N,...] "
	    "[--threads N] [--duration SECS]\n"
	    "           [--requests N] [--max-running N] [--op ID] "
	    "[--runs exec|skip]\n"
	    "           [--chimed PATH] [--journal PATH] [--router PATH] "
	    "[--wrk PATH]\n"
	    "           [--script PATH] [--sync full|batch|none] "
	    "[--log-level LEVEL]\n"
	    "           [--drain-timeout SECS] [--keep] [--out FILE]\n");
	exit(2);
}

/* The webhook-signature of delivery ID at TS: "v1," and the base64 of
 * HMAC-SHA256(KEY, "ID.TS.BODY"), into OUT. */
static void
sign(const unsigned char *key, const char *id, long long ts, char *out,
    size_t len)
{
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0;
	char		 msg[256];
	int		 n;

	n = snprintf(msg, sizeof msg, "%s.%lld.%s", id, ts, BODY);
	if (n < 0 || (size_t)n >= sizeof msg ||
	    HMAC(EVP_sha256(), key, KEY_LEN, (unsigned char *)msg,
	    (size_t)n, mac, &maclen) == NULL || len < 4 + 4 * 32 / 3 + 4)
		fatalx("webhook-bench: cannot sign %s", id);
	memcpy(out, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
}

/* Request I to schedule SID on PORT, signed at TS: the whole HTTP
 * request into BUF; its length, or -1 if it does not fit. */
static int
format_request(char *buf, size_t len, int port, const char *sid,
    uint64_t i, long long ts, const unsigned char *key)
{
	char	id[32], sig[128];
	int	n;

	snprintf(id, sizeof id, "wb-%010" PRIu64, i);
	sign(key, id, ts, sig, sizeof sig);
	n = snprintf(buf, len, "POST /v1/hooks/%s HTTP/1.1\r\n"
	    "Host: 127.0.0.1:%d\r\n"
	    "Content-Type: application/json\r\n"
	    "webhook-id: %s\r\n"
	    "webhook-timestamp: %lld\r\n"
	    "webhook-signature: %s\r\n"
	    "Content-Length: %zu\r\n"
	    "\r\n"
	    "%s", sid, port, id, ts, sig, strlen(BODY), BODY);
	return (n < 0 || (size_t)n >= len ? -1 : n);
}

/*
 * Sign o->requests deliveries at TS into PREFIX-K.req for each of the
 * THREADS threads (request I goes to thread I % THREADS); every request
 * has the same length, *REQLEN, so that the script finds them by offset.
 */
static int
write_requests(const struct options *o, const char *prefix, int threads,
    int port, const char *sid, const unsigned char *key, long long ts,
    size_t *reqlen, char **cause)
{
	FILE		*f[MAX_THREADS];
	char		 buf[2048], path[4096];
	uint64_t	 i;
	int		 k, n, rc = -1;

	memset(f, 0, sizeof f);
	*reqlen = 0;
	for (k = 0; k < threads; k++) {
		snprintf(path, sizeof path, "%s-%d.req", prefix, k);
		if ((f[k] = fopen(path, "w")) == NULL) {
			xasprintf(cause, "%s: %s", path, strerror(errno));
			goto out;
		}
	}
	for (i = 0; i < o->requests; i++) {
		n = format_request(buf, sizeof buf, port, sid, i, ts, key);
		if (n == -1 || (*reqlen != 0 && (size_t)n != *reqlen)) {
			xasprintf(cause, "request %" PRIu64 " has %d bytes, "
			    "not %zu", i, n, *reqlen);
			goto out;
		}
		*reqlen = (size_t)n;
		fwrite(buf, 1, (size_t)n, f[i % (uint64_t)threads]);
	}
	rc = 0;
out:
	for (k = 0; k < threads; k++) {
		if (f[k] != NULL && fclose(f[k]) == EOF && rc == 0) {
			xasprintf(cause, "cannot write %s-%d.req: %s", prefix,
			    k, strerror(errno));
			rc = -1;
		}
	}
	return (rc);
}

/* Create the webhook schedule of operation OP over the control socket;
 * *SID is its id (allocated). */
static int
create_schedule(struct bench_daemon *d, const char *op, char **sid,
    char **cause)
{
	json_t		*p, *res = NULL;
	const char	*id;
	char		*text;
	int		 rc = -1;

	p = json_pack("{s:s, s:s, s:b, s:s}", "name", "webhook-bench",
	    "operation", op, "webhook", 1, "webhook_secret",
	    "env:" SECRET_ENV);
	text = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	if (bench_call(d->sock, "schedule.create", text, CALL_TIMEOUT, &res,
	    cause) == -1) {
		free(text);
		return (-1);
	}
	free(text);
	if ((id = json_string_value(json_object_get(res, "id"))) == NULL)
		*cause = xstrdup("schedule.create answered no id");
	else {
		*sid = xstrdup(id);
		rc = 0;
	}
	json_decref(res);
	return (rc);
}

/* Disable operation OP in the default account's preferences: each
 * accepted delivery's run is then recorded skipped at once. */
static int
disable_op(struct bench_daemon *d, const char *op, char **cause)
{
	json_t	*p, *res = NULL;
	char	*text;
	int	 rc;

	p = json_pack("{s:s, s:b}", "operation", op, "enabled", 0);
	text = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	rc = bench_call(d->sock, "prefs.set", text, CALL_TIMEOUT, &res, cause);
	free(text);
	json_decref(res);
	return (rc);
}

/* The daemon's chime_webhook_requests_total counters, from /metrics. */
static int
hook_counts(int port, struct hook_counts *h, char **cause)
{
	char	*text;

	if ((text = bench_http_get(port, "/metrics", cause)) == NULL)
		return (-1);
	h->accepted = bench_metric(text,
	    METRICS_WEBHOOKS "{outcome=\"accepted\"}");
	h->duplicate = bench_metric(text,
	    METRICS_WEBHOOKS "{outcome=\"duplicate\"}");
	h->unauthorized = bench_metric(text,
	    METRICS_WEBHOOKS "{outcome=\"unauthorized\"}");
	h->overloaded = bench_metric(text,
	    METRICS_WEBHOOKS "{outcome=\"overloaded\"}");
	free(text);
	return (0);
}

/* The "webhook-bench-wrk key=value ..." line of webhook.lua into W; -1 if
 * a figure is missing. */
static int
parse_wrk(const char *line, struct wrk_figures *w)
{
	const struct {
		const char	*name;
		int64_t		*v;
	} keys[] = {
		{ "requests", &w->requests }, { "duration_us", &w->duration_us },
		{ "p50_us", &w->p50_us }, { "p90_us", &w->p90_us },
		{ "p99_us", &w->p99_us }, { "max_us", &w->max_us },
		{ "mean_us", &w->mean_us }, { "connect", &w->connect },
		{ "read", &w->read }, { "write", &w->write },
		{ "status", &w->status }, { "timeout", &w->timeout },
		{ "sent", &w->sent }, { "wrapped", &w->wrapped },
		{ "s200", &w->s200 }, { "s202", &w->s202 },
		{ "s429", &w->s429 }, { "s503", &w->s503 },
		{ "other", &w->other }, { "first_other", &w->first_other },
		{ "threads", &w->threads },
	};
	const char	*p;
	char		 pat[64];
	size_t		 i;
	long long	 v;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		snprintf(pat, sizeof pat, " %s=", keys[i].name);
		if ((p = strstr(line, pat)) == NULL ||
		    sscanf(p + strlen(pat), "%lld", &v) != 1)
			return (-1);
		*keys[i].v = v;
	}
	return (0);
}

/* Everything wrk writes on FD until it exits, at most until DEADLINE
 * (mono_us; then it is killed and *LATE set); its wait status in *WS.
 * Returns allocated. */
static char *
wrk_output(int fd, pid_t pid, int64_t deadline, int *ws, int *late)
{
	struct pollfd	 pfd;
	char		*out = NULL;
	size_t		 olen = 0;
	ssize_t		 n;

	*late = 0;
	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		if (mono_us() > deadline) {
			kill(pid, SIGKILL);
			*late = 1;
			break;
		}
		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		out = xreallocarray(out, olen + 65536 + 1, 1);
		if ((n = read(fd, out + olen, 65536)) <= 0)
			break;
		olen += (size_t)n;
	}
	out = xreallocarray(out, olen + 1, 1);
	out[olen] = '\0';
	waitpid(pid, ws, 0);
	return (out);
}

/*
 * Run wrk with C connections for DURATION_S seconds against schedule SID
 * on PORT, the requests in PREFIX-K.req (REQLEN bytes each).  Its output
 * goes to stderr; the script's summary line fills W.
 */
static int
run_wrk(const struct options *o, int c, int duration_s, int port,
    const char *sid, const char *prefix, size_t reqlen, struct wrk_figures *w,
    char **cause)
{
	const char	*argv[20];
	char		 t[16], conns[16], dur[16], url[256], len[32];
	char		*out, *line;
	pid_t		 pid;
	int		 fds[2], ws, i = 0, late, rc = -1;

	snprintf(t, sizeof t, "%d", c < o->threads ? c : o->threads);
	snprintf(conns, sizeof conns, "%d", c);
	snprintf(dur, sizeof dur, "%ds", duration_s);
	snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/hooks/%s", port,
	    sid);
	snprintf(len, sizeof len, "%zu", reqlen);
	argv[i++] = o->wrk;
	argv[i++] = "-t";
	argv[i++] = t;
	argv[i++] = "-c";
	argv[i++] = conns;
	argv[i++] = "-d";
	argv[i++] = dur;
	argv[i++] = "--timeout";
	argv[i++] = "10s";
	argv[i++] = "-s";
	argv[i++] = o->script;
	argv[i++] = url;
	argv[i++] = "--";
	argv[i++] = prefix;
	argv[i++] = len;
	argv[i] = NULL;
	if (pipe2(fds, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		xasprintf(cause, "cannot start wrk: %s", strerror(errno));
		return (-1);
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], STDOUT_FILENO);
		dup2(fds[1], STDERR_FILENO);
		execv(o->wrk, (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s\n", o->wrk,
		    strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	out = wrk_output(fds[0], pid, mono_us() + duration_s * USEC_PER_SEC +
	    WRK_GRACE, &ws, &late);
	close(fds[0]);
	fprintf(stderr, "%s", out);
	if (late)
		xasprintf(cause, "wrk did not end within %lld s of its "
		    "--duration", (long long)(WRK_GRACE / USEC_PER_SEC));
	else if (!WIFEXITED(ws) || WEXITSTATUS(ws) != 0)
		xasprintf(cause, "wrk failed (status %d)", WIFEXITED(ws) ?
		    WEXITSTATUS(ws) : -1);
	else if ((line = strstr(out, WRK_TAG)) == NULL ||
	    parse_wrk(line + strlen(WRK_TAG) - 1, w) == -1)
		xasprintf(cause, "no summary line from %s", o->script);
	else
		rc = 0;
	free(out);
	return (rc);
}

/* Wait until nothing runs, waits or is pending in the journal, at most
 * TIMEOUT_US. */
static int
wait_idle(struct bench_daemon *d, int64_t timeout_us, char **cause)
{
	json_t	*st;
	int64_t	 t0 = mono_us();
	int	 idle;

	for (;;) {
		if (bench_call(d->sock, "daemon.status", NULL, CALL_TIMEOUT,
		    &st, cause) == -1)
			return (-1);
		idle = bench_json_int(st, "runs.running") == 0 &&
		    bench_json_int(st, "runs.waiting") == 0 &&
		    bench_json_int(st, "journal.pending") == 0;
		json_decref(st);
		if (idle)
			return (0);
		if (mono_us() - t0 > timeout_us) {
			xasprintf(cause, "the runs did not end within %lld s",
			    (long long)(timeout_us / USEC_PER_SEC));
			return (-1);
		}
		usleep(POLL_US);
	}
}

/* Count LINE in the run ends ARG if it is webhook.received or ends a
 * run of the schedule. */
static int
run_end_line(const char *line, size_t len, void *arg)
{
	struct run_ends	*e = arg;
	struct result	*r = e->r;
	json_t		*j, *body;
	const char	*s;
	int64_t		 fin;

	if (strstr(line, "\"kind\":\"webhook.received\"") != NULL)
		r->received++;
	if ((strstr(line, "\"kind\":\"run.finished\"") == NULL &&
	    strstr(line, "\"kind\":\"run.skipped\"") == NULL) ||
	    (j = json_loadb(line, len, 0, NULL)) == NULL)
		return (0);
	body = json_object_get(j, "body");
	s = json_string_value(json_object_get(body, "schedule"));
	if (s != NULL && strcmp(s, e->sid) == 0) {
		r->runs_ended++;
		s = json_string_value(json_object_get(body, "status"));
		if (s != NULL && strcmp(s, "success") == 0)
			r->runs_ok++;
		fin = json_integer_value(json_object_get(body, "finished_us"));
		if (fin == 0)
			fin = json_integer_value(json_object_get(j, "time_us"));
		if (fin <= e->load_end_us)
			r->runs_in_load++;
		if (fin > e->last)
			e->last = fin;
	}
	json_decref(j);
	return (0);
}

/*
 * Count the records that end a run of schedule SID (run.finished,
 * run.skipped) in the journal of DATA, those that ended by LOAD_END_US
 * apart, and the webhook.received records; r->drain_us is from
 * LOAD_END_US to the last run's end.
 */
static int
read_journal(const struct options *o, const char *data, const char *sid,
    int64_t load_end_us, struct result *r, char **cause)
{
	struct run_ends	e;

	e.sid = sid;
	e.load_end_us = load_end_us;
	e.last = 0;
	e.r = r;
	if (bench_journal_export(o->b.journal, data, run_end_line, &e,
	    cause) == -1)
		return (-1);
	r->drain_us = e.last > load_end_us ? e.last - load_end_us : 0;
	return (0);
}

/* KEY_LEN random bytes into KEY and the whsec_ secret of them into
 * SECRET. */
static void
make_secret(unsigned char *key, char *secret, size_t len)
{
	if (RAND_bytes(key, KEY_LEN) != 1 || len < 6 + 4 * (KEY_LEN + 2) / 3 + 1)
		fatalx("webhook-bench: cannot make a secret");
	memcpy(secret, "whsec_", 6);
	EVP_EncodeBlock((unsigned char *)secret + 6, key, KEY_LEN);
}

/*
 * The limit: the requests of PREFIX (REQLEN bytes each), sent as the
 * daemon gets them, to tests/chime-test-router started in DIR, which
 * answers at once; its requests/s into *RATE, its p99 into R.
 */
static int
run_reference(const struct options *o, struct result *r, const char *dir,
    const char *prefix, size_t reqlen, double *rate, char **cause)
{
	struct bench_router	 rt;
	struct wrk_figures	 w;
	int			 rc;

	if (o->no_limit)
		return (0);
	memset(&w, 0, sizeof w);
	if (bench_router_start(o->b.router, dir, NULL, &rt, cause) == -1)
		return (-1);
	rc = run_wrk(o, (int)r->connections, REF_DURATION_S, rt.port,
	    "reference", prefix, reqlen, &w, cause);
	bench_router_stop(&rt);
	if (rc == -1)
		return (-1);
	if (w.s200 == 0 || w.duration_us <= 0) {
		xasprintf(cause, "the router answered no request with 200 "
		    "(%" PRId64 " answers)", w.requests);
		return (-1);
	}
	*rate = (double)w.s200 * USEC_PER_SEC / (double)w.duration_us;
	if (w.p99_us > r->ref_p99_us)
		r->ref_p99_us = w.p99_us;
	fprintf(stderr, "webhook-bench: %" PRIu64 " connections: the limit, "
	    "chime-test-router: %.0f requests/s, p99 %.1f ms\n",
	    r->connections, *rate, w.p99_us / 1e3);
	return (0);
}

/*
 * Sign the requests of D's schedule SID (HTTP on PORT) with KEY into the
 * files of PREFIX, measure the limit, and run wrk; fill R's wrk figures, its load time and the daemon's CPU time
 * during the load; *LOAD_END_US is when wrk exited (UTC).
 */
static int
load(const struct options *o, struct bench_daemon *d, int port,
    const char *sid, const char *prefix, const unsigned char *key,
    struct result *r, int64_t *load_end_us, char **cause)
{
	size_t		 reqlen;
	long long	 ts, age;
	int64_t		 cpu0, t0;
	int		 rc = -1;

	ts = (long long)time(NULL);
	if (write_requests(o, prefix, r->threads, port, sid, key, ts,
	    &reqlen, cause) == -1)
		goto out;
	r->reqlen = reqlen;
	age = (long long)time(NULL) - ts;
	if (age + REF_DURATION_S + o->duration_s > TOLERANCE_S -
	    TOLERANCE_MARGIN) {
		xasprintf(cause, "signing took %lld s: with --duration %d the "
		    "last requests would fall outside the daemon's %d s "
		    "tolerance", age, o->duration_s, TOLERANCE_S);
		goto out;
	}
	/* The limit before the load (its requests are signed already). */
	if (run_reference(o, r, d->dir, prefix, reqlen, &r->ref_before,
	    cause) == -1)
		goto out;
	cpu0 = bench_cpu_us(d->pid);
	t0 = now_us();
	if (run_wrk(o, (int)r->connections, o->duration_s, port, sid, prefix,
	    reqlen, &r->w, cause) == -1)
		goto out;
	*load_end_us = now_us();
	r->load_us = *load_end_us - t0;
	r->daemon_cpu_us = bench_cpu_us(d->pid) - cpu0;
	bench_rss(d->pid, &r->rss);
	rc = 0;
out:
	return (rc);
}

/* Say on stderr what makes the figures of R doubtful. */
static void
check_result(const struct result *r)
{
	const struct wrk_figures	*w = &r->w;

	if (w->wrapped > 0)
		fprintf(stderr, "webhook-bench: %" PRIu64 " connections: wrk "
		    "sent more than the %" PRIu64 " signed requests; %" PRId64
		    " answers were duplicates (200): sign more with "
		    "--requests\n", r->connections, r->signed_requests,
		    w->s200);
	if (w->other + w->s429 + w->s503 > 0)
		fprintf(stderr, "webhook-bench: %" PRIu64 " connections: %"
		    PRId64 " answers 429, %" PRId64 " 503, %" PRId64 " other "
		    "(first: %" PRId64 ")\n", r->connections, w->s429,
		    w->s503, w->other, w->first_other);
	if (w->connect + w->read + w->write + w->timeout > 0)
		fprintf(stderr, "webhook-bench: %" PRIu64 " connections: "
		    "socket errors: connect %" PRId64 ", read %" PRId64
		    ", write %" PRId64 ", timeout %" PRId64 "\n",
		    r->connections, w->connect, w->read, w->write, w->timeout);
	if (r->runs_ended != r->accepted)
		fprintf(stderr, "webhook-bench: %" PRIu64 " connections: the "
		    "daemon accepted %" PRId64 " deliveries but %" PRId64
		    " runs ended\n", r->connections, r->accepted,
		    r->runs_ended);
}

/* Everything for C connections, on a daemon of its own; fills R. */
static int
run_level(const struct options *o, uint64_t c, struct result *r,
    char **cause)
{
	struct bench_daemon	 d;
	struct hook_counts	 h0, h1;
	unsigned char		 key[KEY_LEN];
	char			 secret[128], *sid = NULL, *prefix = NULL;
	json_t			*st = NULL;
	int64_t			 ready, load_end = 0, took;
	int			 port, rc = -1;

	memset(r, 0, sizeof *r);
	r->connections = c;
	r->threads = (int)c < o->threads ? (int)c : o->threads;
	r->signed_requests = o->requests;
	make_secret(key, secret, sizeof secret);
	/* The daemon inherits the environment: its env: reference. */
	setenv(SECRET_ENV, secret, 1);
	bench_daemon_init(&d, o->b.chimed, o->b.catalog);
	d.sync = o->b.sync;
	d.log_level = o->b.log_level;
	d.max_running = o->max_running;
	if (bench_daemon_start(&d, 0, START_TIMEOUT, &ready, &st,
	    cause) == -1)
		goto out;
	xasprintf(&prefix, "%s/wrk", d.dir);	/* the signed requests */
	if ((port = bench_http_port(st)) == -1) {
		xasprintf(cause, "chimed reports no HTTP listener "
		    "(http.address of daemon.status)");
		goto out;
	}
	if (create_schedule(&d, o->op, &sid, cause) == -1 ||
	    (o->skip && disable_op(&d, o->op, cause) == -1) ||
	    hook_counts(port, &h0, cause) == -1 ||
	    load(o, &d, port, sid, prefix, key, r, &load_end, cause) == -1 ||
	    wait_idle(&d, o->drain_us, cause) == -1 ||
	    hook_counts(port, &h1, cause) == -1)
		goto out;
	r->accepted = h1.accepted - h0.accepted;
	r->duplicate = h1.duplicate - h0.duplicate;
	r->unauthorized = h1.unauthorized - h0.unauthorized;
	r->overloaded = h1.overloaded - h0.overloaded;
	if (bench_daemon_stop(&d, SIGTERM, STOP_TIMEOUT, &took, cause) == -1 ||
	    read_journal(o, d.data, sid, load_end, r, cause) == -1)
		goto out;
	/* The limit again, the daemon gone. */
	if (run_reference(o, r, d.dir, prefix, r->reqlen, &r->ref_after,
	    cause) == -1)
		goto out;
	r->ref = (r->ref_before + r->ref_after) / 2;
	if (r->w.s202 == 0) {
		xasprintf(cause, "no delivery was accepted (%" PRId64 " answers"
		    ", first status other than 200/202/429/503: %" PRId64 ")",
		    r->w.requests, r->w.first_other);
		goto out;
	}
	r->rate = r->w.duration_us > 0 ? (double)r->w.requests *
	    USEC_PER_SEC / (double)r->w.duration_us : 0;
	check_result(r);
	fprintf(stderr, "webhook-bench: %" PRIu64 " connections: %.0f "
	    "requests/s, p99 %.1f ms, %" PRId64 " runs ended\n", c, r->rate,
	    r->w.p99_us / 1e3, r->runs_ended);
	rc = 0;
out:
	if (rc == -1)
		bench_daemon_log_tail(&d, 20);
	OPENSSL_cleanse(key, sizeof key);
	OPENSSL_cleanse(secret, sizeof secret);
	json_decref(st);
	free(sid);
	free(prefix);
	bench_daemon_free(&d, o->b.keep);
	return (rc);
}

static void
print_table(const struct options *o, const struct result *res, size_t n,
    double loadavg)
{
	const struct result	*r;
	char			 limit[64], share[16], beside[96];
	size_t			 i;

	printf("\nwebhook-bench: POST /v1/hooks/ID with wrk, %d s per level, "
	    "journal-sync %s, --max-running %d, op %s%s\n%ld cores, load "
	    "average %.2f at the start, %.2f at the end\n", o->duration_s,
	    o->b.sync, o->max_running, o->op, o->skip ?
	    " (disabled: runs skipped)" : "", sysconf(_SC_NPROCESSORS_ONLN),
	    loadavg, bench_loadavg());
	printf("%5s %3s %8s %7s %7s %7s %7s %8s %5s %5s %5s %8s %8s %7s "
	    "%6s %8s %5s\n", "conns", "thr", "req/s", "p50 ms", "p90 ms",
	    "p99 ms", "max ms", "202", "200", "other", "errs", "runs end",
	    "in load", "drain s", "cpu s", "limit", "of it");
	for (i = 0; i < n; i++) {
		r = &res[i];
		if (o->no_limit || r->ref <= 0) {
			snprintf(limit, sizeof limit, "-");
			snprintf(share, sizeof share, "-");
		} else {
			snprintf(limit, sizeof limit, "%.0f", r->ref);
			snprintf(share, sizeof share, "%.0f%%", 100 * r->rate /
			    r->ref);
		}
		printf("%5" PRIu64 " %3d %8.0f %7.2f %7.2f %7.2f %7.1f %8"
		    PRId64 " %5" PRId64 " %5" PRId64 " %5" PRId64 " %8" PRId64
		    " %8" PRId64 " %7.1f %6.2f %8s %5s\n", r->connections,
		    r->threads, r->rate, r->w.p50_us / 1e3, r->w.p90_us / 1e3,
		    r->w.p99_us / 1e3, r->w.max_us / 1e3, r->w.s202,
		    r->w.s200, r->w.other + r->w.s429 + r->w.s503,
		    r->w.connect + r->w.read + r->w.write + r->w.timeout,
		    r->runs_ended, r->runs_in_load, r->drain_us / 1e6,
		    r->daemon_cpu_us / 1e6, limit, share);
	}
	for (i = 0; i < n; i++) {
		r = &res[i];
		if (r->connections < 64 || r->connections > 256)
			continue;
		beside[0] = '\0';
		if (!o->no_limit && r->ref > 0)
			snprintf(beside, sizeof beside, " (the limit in the "
			    "same run: %.0f req/s, p99 %.2f ms)", r->ref,
			    r->ref_p99_us / 1e3);
		printf("target (issue 16, 64 to 256 connections): >= 20,000 "
		    "req/s with p99 < 10 ms: %" PRIu64 " connections %.0f "
		    "req/s, p99 %.2f ms, %s%s\n", r->connections, r->rate,
		    r->w.p99_us / 1e3, r->rate >= 20000 &&
		    r->w.p99_us < 10000 ? "met" : "NOT met", beside);
	}
	printf("latency: wrk's, request sent to answer read; 202 once the "
	    "run's first record is durable.\nruns end: runs of the schedule "
	    "ended (run.finished, run.skipped); in load: of them, before wrk "
	    "ended;\ndrain: wrk's end to the last end.  cpu: the daemon's CPU "
	    "time during the load.\n");
	if (o->no_limit)
		printf("limit: not measured (no tests/chime-test-router: "
		    "--router).\n");
	else
		printf("limit: the same requests and wrk, %d s each, to "
		    "tests/chime-test-router (libevent evhttp answering each "
		    "POST\nat once, nothing written), before the load and "
		    "after the daemon stopped: their mean; of it: req/s as a "
		    "share of it.\n", REF_DURATION_S);
}

static json_t *
result_json(const struct result *r)
{
	const struct wrk_figures	*w = &r->w;

	return (json_pack("{s:I, s:i, s:I, s:f, s:I, s:f, "
	    "s:{s:f, s:f, s:f, s:f, s:f}, s:{s:I, s:I, s:I, s:I, s:I, s:I}, "
	    "s:{s:I, s:I, s:I, s:I}, s:I, s:{s:I, s:I, s:I, s:I}, "
	    "s:{s:I, s:I, s:I, s:f}, s:I, s:f, s:I, "
	    "s:o}",
	    "connections", (json_int_t)r->connections,
	    "threads", r->threads,
	    "signed", (json_int_t)r->signed_requests,
	    "duration_s", w->duration_us / 1e6,
	    "requests", (json_int_t)w->requests,
	    "requests_per_s", r->rate,
	    "latency_ms", "p50", w->p50_us / 1e3, "p90", w->p90_us / 1e3,
	    "p99", w->p99_us / 1e3, "max", w->max_us / 1e3,
	    "mean", w->mean_us / 1e3,
	    "status", "202", (json_int_t)w->s202, "200", (json_int_t)w->s200,
	    "429", (json_int_t)w->s429, "503", (json_int_t)w->s503,
	    "other", (json_int_t)w->other,
	    "first_other", (json_int_t)w->first_other,
	    "socket_errors", "connect", (json_int_t)w->connect,
	    "read", (json_int_t)w->read, "write", (json_int_t)w->write,
	    "timeout", (json_int_t)w->timeout,
	    "wrapped", (json_int_t)w->wrapped,
	    "daemon_counted", "accepted", (json_int_t)r->accepted,
	    "duplicate", (json_int_t)r->duplicate,
	    "unauthorized", (json_int_t)r->unauthorized,
	    "overloaded", (json_int_t)r->overloaded,
	    "runs", "ended", (json_int_t)r->runs_ended,
	    "succeeded", (json_int_t)r->runs_ok,
	    "ended_during_load", (json_int_t)r->runs_in_load,
	    "drain_s", r->drain_us / 1e6,
	    "webhook_received_records", (json_int_t)r->received,
	    "daemon_cpu_s", r->daemon_cpu_us / 1e6,
	    "daemon_rss_bytes", (json_int_t)r->rss.rss,
	    "limit", r->ref <= 0 ? json_null() : json_pack("{s:s, s:i, s:f, "
	    "s:f, s:f, s:f}", "server", "tests/chime-test-router",
	    "duration_s", REF_DURATION_S,
	    "requests_per_s_before", r->ref_before,
	    "requests_per_s_after", r->ref_after,
	    "requests_per_s", r->ref, "p99_ms", r->ref_p99_us / 1e3)));
}

static int
write_out(const struct options *o, const struct result *res, size_t n,
    double loadavg, char **cause)
{
	json_t	*j, *a;
	size_t	 i;
	int	 rc;

	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, result_json(&res[i]));
	j = json_pack("{s:s, s:s, s:i, s:s, s:s, s:i, s:I, s:i, s:f, s:f, "
	    "s:o}", "bench", "webhook-bench", "sync", o->b.sync, "max_running",
	    o->max_running, "op", o->op, "runs", o->skip ? "skip" : "exec",
	    "duration_s", o->duration_s,
	    "signed", (json_int_t)o->requests, "cores",
	    (int)sysconf(_SC_NPROCESSORS_ONLN), "loadavg_before", loadavg,
	    "loadavg_after", bench_loadavg(), "levels", a);
	rc = bench_write_json(o->b.out, j, cause);
	json_decref(j);
	return (rc);
}

/* --connections N,... and --runs skip|exec (bench_opts_parse); -1: neither,
 * or a value it does not take. */
static int
take_option(void *arg, int ch, const char *val)
{
	struct options	*o = arg;

	switch (ch) {
	case 'c':
		if (bench_parse_list(val, o->levels, MAX_LEVELS,
		    &o->nlevels) == -1)
			usage();
		break;
	case 'r':
		if (strcmp(val, "skip") != 0 &&
		    strcmp(val, "exec") != 0)
			usage();
		o->skip = strcmp(val, "skip") == 0;
		break;
	default:
		return (-1);
	}
	return (0);
}

int
main(int argc, char **argv)
{
	struct options		 o;
	const struct bench_own	 own[] = {
		{ "connections", BENCH_OWN_TAKE, NULL, 0, 0, 'c' },
		{ "threads", BENCH_OWN_INT, &o.threads, 1, MAX_THREADS, 0 },
		{ "duration", BENCH_OWN_INT | BENCH_OWN_S, &o.duration_s, 1,
		    TOLERANCE_S - TOLERANCE_MARGIN - 10, 0 },
		{ "requests", BENCH_OWN_U64, &o.requests, 1, 50000000, 0 },
		{ "max-running", BENCH_OWN_INT, &o.max_running, 1, 100000, 0 },
		{ "op", BENCH_OWN_STRING, &o.op, 0, 0, 0 },
		{ "runs", BENCH_OWN_TAKE, NULL, 0, 0, 'r' },
		{ "wrk", BENCH_OWN_STRING, &o.wrk, 0, 0, 0 },
		{ "script", BENCH_OWN_STRING, &o.script, 0, 0, 0 },
		{ "drain-timeout", BENCH_OWN_USEC | BENCH_OWN_S, &o.drain_us, 1,
		    86400, 0 },
		{ NULL }
	};
	struct result		 res[MAX_LEVELS];
	char			*cause = NULL, *script;
	double			 loadavg;
	size_t			 i;
	int			 rc = 1;

	memset(&o, 0, sizeof o);
	bench_opts_init(&o.b, "webhook-bench");
	o.levels[0] = 16;
	o.levels[1] = 64;
	o.levels[2] = 256;
	o.nlevels = 3;
	o.threads = 2;
	o.duration_s = 10;
	o.requests = 300000;
	o.max_running = 1024;
	o.op = "noop";
	o.wrk = "/usr/bin/wrk";
	o.script = script = bench_src_path("bench/webhook.lua");
	o.drain_us = 600 * USEC_PER_SEC;
	if (bench_opts_parse(&o.b, argc, argv, own,
	    BENCH_TAKE_DAEMON | BENCH_TAKE_JOURNAL | BENCH_TAKE_LOG_LEVEL |
	    BENCH_TAKE_ROUTER, take_option, &o) == -1)
		usage();
	bench_opts_check(&o.b, BENCH_NEED_JOURNAL);
	if (access(o.b.router, X_OK) == -1) {
		fprintf(stderr, "webhook-bench: no %s (--router): the limit is "
		    "not measured\n", o.b.router);
		o.no_limit = 1;
	}
	for (i = 0; i < o.nlevels; i++) {
		if (o.levels[i] > 10000) {
			fprintf(stderr, "webhook-bench: at most 10000 "
			    "connections\n");
			exit(2);
		}
	}
	if (access(o.wrk, X_OK) != 0 || access(o.script, R_OK) != 0) {
		fprintf(stderr, "webhook-bench: need %s (Debian package wrk) "
		    "and %s\n", o.wrk, o.script);
		exit(1);
	}
	log_open("webhook-bench", LOG_LEVEL_WARN);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	loadavg = bench_loadavg();
	for (i = 0; i < o.nlevels; i++) {
		if (run_level(&o, o.levels[i], &res[i], &cause) == -1) {
			fprintf(stderr, "webhook-bench: %llu connections: %s\n",
			    (unsigned long long)o.levels[i], cause);
			goto out;
		}
	}
	print_table(&o, res, o.nlevels, loadavg);
	if (o.b.out != NULL && write_out(&o, res, o.nlevels, loadavg,
	    &cause) == -1) {
		fprintf(stderr, "webhook-bench: %s\n", cause);
		goto out;
	}
	rc = 0;
out:
	free(cause);
	free(script);
	bench_opts_free(&o.b);
	curl_global_cleanup();
	return (rc);
}
