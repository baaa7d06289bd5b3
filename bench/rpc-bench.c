/*
 * bench/rpc-bench.c: the control API over HTTP (POST /v1/rpc) against the
 * control socket, for the same read method.
 *
 * Start a real chimed (durable journal by default; its HTTP listener on
 * 127.0.0.1:0, the port read from daemon.status), create an account
 * "bench" with --schedules manual schedules over the socket, and a token
 * for it (token.create, scope write; --token admin: an admin token).  Then
 * the same request (--method, default schedule.list, with --params, by
 * default {"account":"bench"} for schedule.list and {} otherwise) is sent
 * --requests times on each side, after --warmup requests not counted:
 *
 *	socket		--connections connections, each with --window
 *			requests pipelined (bench.c's pipeline)
 *	socket x1	--http-connections connections, one request in
 *			flight on each: the HTTP side's concurrency
 *	HTTP		--http-connections keep-alive HTTP/1.1 connections
 *			(libcurl multi), one request in flight on each (HTTP/1.1
 *			has no pipelining), "Authorization: Bearer SECRET"
 *
 * For each: requests/s (N over the first request sent to the last answer),
 * the latency of each request (sent to answered) p50/p99/max, and the CPU
 * time per request of the daemon and of this program.  Every answer is
 * checked: a JSON-RPC result with the request's id, not an error; over
 * HTTP, status 200 too.  The first answer of each side is parsed whole and
 * for schedule.list both must be the same list of --schedules schedules;
 * at the end the daemon's count of HTTP API answers must be what was sent.
 * Any failure ends the program with status 1, without JSON.
 *
 *	rpc-bench [--requests N | -n N] [--warmup N] [--method M]
 *	    [--params JSON] [--token account|admin] [--schedules K]
 *	    [--connections N] [--window N] [--http-connections K]
 *	    [--chimed PATH] [--catalog FILE] [--sync full|batch|none]
 *	    [--log-level LEVEL] [--keep] [--out FILE]
 */
#include <sys/types.h>
#include <sys/resource.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "engine.h"
#include "bench.h"

#define START_TIMEOUT	(60 * USEC_PER_SEC)
#define STOP_TIMEOUT	(120 * USEC_PER_SEC)
#define CALL_TIMEOUT	(30 * USEC_PER_SEC)
#define ACCOUNT		"bench"
#define ANSWERED	"chime_http_rpc_requests_total{outcome=\"answered\"}"
#define SIDES		3

struct options {
	struct bench_opts b;		/* --chimed, --sync, --keep, --out, ... */
	uint64_t	 requests;
	uint64_t	 warmup;
	int		 schedules;
	int		 http_conns;
	const char	*method;
	const char	*params;	/* NULL: by method */
	const char	*token;		/* "account" or "admin" */
};

/* The figures of one side. */
struct side {
	const char	*name;		/* "socket", "socket-x1", "http" */
	int		 conns;
	int		 window;	/* in flight on each connection */
	uint64_t	 requests;
	int64_t		 elapsed_us;
	double		 rate;
	int64_t		 lat[3];	/* p50, p99, max */
	int64_t		 daemon_cpu_us;
	int64_t		 client_cpu_us;
	long		 opened;	/* HTTP connections opened by the
					   client in all (the first answer,
					   warm-up, this); -1: n/a */
};

/* What one run measured, beyond its sides. */
struct result {
	struct side	 sides[SIDES];
	size_t		 socket_bytes;	/* the first answer's result, dumped */
	size_t		 http_bytes;
	int64_t		 listed;	/* schedule.list: schedules; else -1 */
	double		 load_before;
	double		 load_after;
};

/* One HTTP connection: a curl handle with at most one request in flight. */
struct hconn {
	CURL		*easy;
	uint64_t	 id;
	int64_t		 sent_us;
	char		*req;		/* the request body (curl borrows it) */
	size_t		 reqcap;
	char		*body;		/* the answer */
	size_t		 blen;
	size_t		 bcap;
};

/* The HTTP client: NCONNS handles sharing one multi's connections. */
struct hclient {
	CURLM		*multi;
	struct curl_slist *headers;
	struct hconn	*conns;
	int		 nconns;
	char		*url;
	const char	*method;
	const char	*params;
	uint64_t	 next_id;	/* ids go on across runs */
	long		 opened;	/* connections opened, all runs */
};

static deadfunc void	usage(void);
static int64_t		self_cpu_us(void);
static int		fixed_params(uint64_t, char *, size_t, void *);
static int		create_params(uint64_t, char *, size_t, void *);
static size_t		hconn_write(char *, size_t, size_t, void *);
static void		hclient_init(struct hclient *, int, const char *,
			    const char *, const char *, const char *);
static void		hclient_free(struct hclient *);
static void		hconn_send(struct hclient *, struct hconn *);
static int		hconn_check(const struct hconn *, long, char **);
static int		hclient_done(struct hclient *, CURL *, CURLcode,
			    int64_t *, char **);
static int		hclient_run(struct hclient *, uint64_t, int64_t *,
			    int64_t *, char **);
static int		http_first(struct hclient *, json_t **, char **);
static int		setup(const struct options *, struct bench_daemon *,
			    int *, char **, char **);
static int		first_answers(const struct options *,
			    struct bench_daemon *, struct hclient *,
			    struct result *, char **);
static int		socket_side(const struct options *,
			    struct bench_daemon *, int, int, struct side *,
			    char **);
static int		http_side(const struct options *,
			    struct bench_daemon *, struct hclient *,
			    struct side *, char **);
static int		check_counted(const struct options *, int, uint64_t,
			    char **);
static int		run(const struct options *, struct result *, char **);
static void		print_table(const struct options *,
			    const struct result *);
static json_t		*side_json(const struct side *);
static json_t		*result_json(const struct options *,
			    const struct result *);

static deadfunc void
usage(void)
{
	fprintf(stderr, "usage: rpc-bench [--requests N | -n N] [--warmup N] "
	    "[--method M] [--params JSON]\n"
	    "           [--token account|admin] [--schedules K] "
	    "[--connections N] [--window N]\n"
	    "           [--http-connections K] [--chimed PATH] "
	    "[--catalog FILE]\n"
	    "           [--sync full|batch|none] [--log-level LEVEL] "
	    "[--keep] [--out FILE]\n");
	exit(2);
}

static int64_t
self_cpu_us(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) *
	    USEC_PER_SEC + ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* The same params object (ARG) for every request. */
static int
fixed_params(uint64_t i, char *buf, size_t len, void *arg)
{
	const char	*params = arg;
	size_t		 n = strlen(params);

	if (n >= len)
		return (-1);
	memcpy(buf, params, n + 1);
	return ((int)n);
}

/* Schedule I of the account: manual, so that none ever fires. */
static int
create_params(uint64_t i, char *buf, size_t len, void *arg)
{
	int	n;

	n = snprintf(buf, len, "{\"name\":\"rpc-%04llu\",\"operation\":"
	    "\"noop\",\"manual\":true,\"account\":\"" ACCOUNT "\"}",
	    (unsigned long long)i);
	return (n < 0 || (size_t)n >= len ? -1 : n);
}

static size_t
hconn_write(char *data, size_t size, size_t n, void *arg)
{
	struct hconn	*h = arg;
	size_t		 len = size * n;

	if (h->blen + len + 1 > h->bcap) {
		h->bcap = (h->blen + len + 1) * 2;
		h->body = xreallocarray(h->body, h->bcap, 1);
	}
	memcpy(h->body + h->blen, data, len);
	h->blen += len;
	h->body[h->blen] = '\0';
	return (len);
}

/*
 * NCONNS handles posting METHOD with PARAMS to PORT's /v1/rpc with the
 * token SECRET.  At most NCONNS connections: each finished transfer leaves
 * its connection to the next one.
 */
static void
hclient_init(struct hclient *c, int nconns, const char *port,
    const char *secret, const char *method, const char *params)
{
	char	*auth;
	int	 i;

	memset(c, 0, sizeof *c);
	c->nconns = nconns;
	c->method = method;
	c->params = params;
	c->next_id = 1;
	xasprintf(&c->url, "http://127.0.0.1:%s/v1/rpc", port);
	xasprintf(&auth, "Authorization: Bearer %s", secret);
	c->headers = curl_slist_append(NULL, auth);
	c->headers = curl_slist_append(c->headers,
	    "Content-Type: application/json");
	c->headers = curl_slist_append(c->headers, "Expect:");
	free(auth);
	if ((c->multi = curl_multi_init()) == NULL || c->headers == NULL)
		fatalx("rpc-bench: curl_multi_init failed");
	curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS,
	    (long)nconns);
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)nconns);
	c->conns = xcalloc((size_t)nconns, sizeof *c->conns);
	for (i = 0; i < nconns; i++) {
		struct hconn	*h = &c->conns[i];

		if ((h->easy = curl_easy_init()) == NULL)
			fatalx("rpc-bench: curl_easy_init failed");
		curl_easy_setopt(h->easy, CURLOPT_URL, c->url);
		curl_easy_setopt(h->easy, CURLOPT_PROXY, "");
		curl_easy_setopt(h->easy, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h->easy, CURLOPT_TCP_NODELAY, 1L);
		curl_easy_setopt(h->easy, CURLOPT_HTTP_VERSION,
		    (long)CURL_HTTP_VERSION_1_1);
		curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS,
		    (long)(BENCH_STALL_US / USEC_PER_MSEC));
		curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, c->headers);
		curl_easy_setopt(h->easy, CURLOPT_WRITEFUNCTION, hconn_write);
		curl_easy_setopt(h->easy, CURLOPT_WRITEDATA, h);
		curl_easy_setopt(h->easy, CURLOPT_PRIVATE, h);
	}
}

static void
hclient_free(struct hclient *c)
{
	int	i;

	for (i = 0; c->conns != NULL && i < c->nconns; i++) {
		if (c->multi != NULL)
			curl_multi_remove_handle(c->multi, c->conns[i].easy);
		curl_easy_cleanup(c->conns[i].easy);
		free(c->conns[i].req);
		free(c->conns[i].body);
	}
	if (c->multi != NULL)
		curl_multi_cleanup(c->multi);
	curl_slist_free_all(c->headers);
	free(c->conns);
	free(c->url);
	memset(c, 0, sizeof *c);
}

/* Post the next request on H. */
static void
hconn_send(struct hclient *c, struct hconn *h)
{
	size_t	need;
	int	n;

	need = strlen(c->method) + strlen(c->params) + 96;
	if (need > h->reqcap) {
		h->reqcap = need;
		h->req = xreallocarray(h->req, h->reqcap, 1);
	}
	h->id = c->next_id++;
	n = snprintf(h->req, h->reqcap, "{\"jsonrpc\":\"2.0\",\"id\":%llu,"
	    "\"method\":\"%s\",\"params\":%s}", (unsigned long long)h->id,
	    c->method, c->params);
	h->blen = 0;
	curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE, (long)n);
	curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, h->req);
	h->sent_us = mono_us();
	if (curl_multi_add_handle(c->multi, h->easy) != CURLM_OK)
		fatalx("rpc-bench: curl_multi_add_handle failed");
}

/*
 * The answer on H with status CODE: 200 and a JSON-RPC result for H's id.
 * The daemon writes {"jsonrpc":"2.0","id":N,"result": first (as on the
 * socket, where bench.c checks the same); anything else is parsed whole.
 */
static int
hconn_check(const struct hconn *h, long code, char **cause)
{
	json_t	*root, *id;
	char	 pre[64];
	size_t	 len = h->blen;
	int	 n, ok;

	if (code != 200) {
		xasprintf(cause, "request %llu: status %ld: %.300s",
		    (unsigned long long)h->id, code, h->blen > 0 ? h->body :
		    "");
		return (-1);
	}
	while (len > 0 && (h->body[len - 1] == '\n' ||
	    h->body[len - 1] == '\r' || h->body[len - 1] == ' '))
		len--;
	n = snprintf(pre, sizeof pre, "{\"jsonrpc\":\"2.0\",\"id\":%llu,"
	    "\"result\":", (unsigned long long)h->id);
	if (len > (size_t)n && memcmp(h->body, pre, (size_t)n) == 0 &&
	    h->body[len - 1] == '}')
		return (0);
	root = len > 0 ? json_loadb(h->body, len, 0, NULL) : NULL;
	id = json_object_get(root, "id");
	ok = json_is_integer(id) && (uint64_t)json_integer_value(id) ==
	    h->id && json_object_get(root, "result") != NULL &&
	    json_object_get(root, "error") == NULL;
	json_decref(root);
	if (!ok)
		xasprintf(cause, "request %llu: not a result: %.300s",
		    (unsigned long long)h->id, h->blen > 0 ? h->body : "");
	return (ok ? 0 : -1);
}

/* The transfer of E ended with RESULT: check it and record its latency at
 * LAT_US (NULL: not recorded); E is taken off the multi. */
static int
hclient_done(struct hclient *c, CURL *e, CURLcode result, int64_t *lat_us,
    char **cause)
{
	struct hconn	*h = NULL;
	long		 code = 0, opened = 0;
	int64_t		 took = mono_us();

	curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&h);
	took -= h->sent_us;
	curl_multi_remove_handle(c->multi, e);
	if (result != CURLE_OK) {
		xasprintf(cause, "request %llu: %s", (unsigned long long)h->id,
		    curl_easy_strerror(result));
		return (-1);
	}
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &opened);
	c->opened += opened;
	if (hconn_check(h, code, cause) == -1)
		return (-1);
	if (lat_us != NULL)
		*lat_us = took;
	return (0);
}

/*
 * TOTAL requests, one in flight on each connection, each answer checked;
 * LATENCY_US (TOTAL values, or NULL) gets each one's time from sent to
 * answered, *ELAPSED_US the time from the first sent to the last answer.
 */
static int
hclient_run(struct hclient *c, uint64_t total, int64_t *latency_us,
    int64_t *elapsed_us, char **cause)
{
	CURLMsg		*msg;
	CURL		*e;
	CURLcode	 result;
	struct hconn	*h;
	uint64_t	 sent = 0, done = 0, before;
	int64_t		 t0, last;
	int		 i, running, left;
	CURLMcode	 mc;

	t0 = last = mono_us();
	for (i = 0; i < c->nconns && sent < total; i++, sent++)
		hconn_send(c, &c->conns[i]);
	while (done < total) {
		if ((mc = curl_multi_perform(c->multi, &running)) !=
		    CURLM_OK) {
			xasprintf(cause, "curl_multi_perform: %s",
			    curl_multi_strerror(mc));
			return (-1);
		}
		before = done;
		while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			/* msg is gone once its handle leaves the multi */
			e = msg->easy_handle;
			result = msg->data.result;
			if (hclient_done(c, e, result, latency_us != NULL ?
			    &latency_us[done] : NULL, cause) == -1)
				return (-1);
			done++;
			if (sent < total) {
				curl_easy_getinfo(e, CURLINFO_PRIVATE,
				    (char **)&h);
				hconn_send(c, h);
				sent++;
			}
		}
		if (done > before) {
			last = mono_us();
			continue;	/* start what was just added */
		}
		if (mono_us() - last > BENCH_STALL_US) {
			xasprintf(cause, "no HTTP answer for %lld s (%llu of "
			    "%llu answered)", (long long)(BENCH_STALL_US /
			    USEC_PER_SEC), (unsigned long long)done,
			    (unsigned long long)total);
			return (-1);
		}
		if ((mc = curl_multi_poll(c->multi, NULL, 0, 1000, NULL)) !=
		    CURLM_OK) {
			xasprintf(cause, "curl_multi_poll: %s",
			    curl_multi_strerror(mc));
			return (-1);
		}
	}
	*elapsed_us = last - t0;
	return (0);
}

/* One request over HTTP, its answer parsed whole: *RESULT (caller
 * decrefs). */
static int
http_first(struct hclient *c, json_t **result, char **cause)
{
	struct hconn	*h = &c->conns[0];
	json_t		*root;
	int64_t		 elapsed;

	if (hclient_run(c, 1, NULL, &elapsed, cause) == -1)
		return (-1);
	if ((root = json_loadb(h->body, h->blen, 0, NULL)) == NULL) {
		xasprintf(cause, "the first HTTP answer is not JSON: %.300s",
		    h->body);
		return (-1);
	}
	*result = json_incref(json_object_get(root, "result"));
	json_decref(root);
	return (0);
}

/*
 * The daemon's state for the run: the account, its schedules and a token.
 * *PORT is the HTTP listener's, *SECRET the token (allocated).
 */
static int
setup(const struct options *o, struct bench_daemon *d, int *port,
    char **secret, char **cause)
{
	struct bench_pipeline	 p;
	json_t			*st = NULL, *tok = NULL;
	char			 params[256];
	int64_t			 ready;
	int			 rc = -1;

	memset(&p, 0, sizeof p);
	if (bench_daemon_start(d, 0, START_TIMEOUT, &ready, &st, cause) == -1)
		return (-1);
	if ((*port = bench_http_port(st)) == -1) {
		*cause = xstrdup("daemon.status has no http.address");
		goto out;
	}
	if (bench_call(d->sock, "account.create", "{\"name\":\"" ACCOUNT
	    "\"}", CALL_TIMEOUT, &tok, cause) == -1)
		goto out;
	json_decref(tok);
	tok = NULL;
	bench_pipeline_init(&p, &o->b, d->sock, "schedule.create");
	p.total = (uint64_t)o->schedules;
	p.params = create_params;
	if (o->schedules > 0 && bench_pipeline_run(&p, cause) == -1)
		goto out;
	if (p.errors > 0) {
		xasprintf(cause, "schedule.create failed: %s", p.first_error);
		goto out;
	}
	if (strcmp(o->token, "admin") == 0)
		snprintf(params, sizeof params, "{\"name\":\"rpc-bench\","
		    "\"admin\":true,\"scope\":\"write\"}");
	else
		snprintf(params, sizeof params, "{\"name\":\"rpc-bench\","
		    "\"account\":\"" ACCOUNT "\",\"scope\":\"write\"}");
	if (bench_call(d->sock, "token.create", params, CALL_TIMEOUT, &tok,
	    cause) == -1)
		goto out;
	if (json_string_value(json_object_get(tok, "token")) == NULL) {
		*cause = xstrdup("token.create answered no token");
		goto out;
	}
	*secret = xstrdup(json_string_value(json_object_get(tok, "token")));
	rc = 0;
out:
	bench_pipeline_free(&p);
	json_decref(st);
	json_decref(tok);
	return (rc);
}

/*
 * The first answer of each side, parsed whole: both results, of the same
 * size; for schedule.list, the same list of --schedules schedules.
 */
static int
first_answers(const struct options *o, struct bench_daemon *d,
    struct hclient *c, struct result *r, char **cause)
{
	json_t	*rs = NULL, *rh = NULL;
	char	*s, *why = NULL;
	int	 rc = -1;

	r->listed = -1;
	if (bench_call(d->sock, o->method, o->params, CALL_TIMEOUT, &rs,
	    &why) == -1) {
		xasprintf(cause, "%s on the socket: %s", o->method, why);
		goto out;
	}
	if (http_first(c, &rh, &why) == -1) {
		xasprintf(cause, "%s over HTTP: %s", o->method, why);
		goto out;
	}
	if ((s = json_dumps(rs, JSON_COMPACT)) != NULL)
		r->socket_bytes = strlen(s);
	free(s);
	if ((s = json_dumps(rh, JSON_COMPACT)) != NULL)
		r->http_bytes = strlen(s);
	free(s);
	if (strcmp(o->method, "schedule.list") == 0) {
		r->listed = (int64_t)json_array_size(json_object_get(rs,
		    "schedules"));
		if (!json_equal(rs, rh) || r->listed != o->schedules) {
			xasprintf(cause, "schedule.list: %lld schedules on the "
			    "socket, %zu over HTTP, %d created%s",
			    (long long)r->listed, json_array_size(
			    json_object_get(rh, "schedules")), o->schedules,
			    json_equal(rs, rh) ? "" : "; the answers differ");
			goto out;
		}
	}
	rc = 0;
out:
	free(why);
	json_decref(rs);
	json_decref(rh);
	return (rc);
}

/* The figures of S from LATENCY_US (S->requests values, sorted here). */
static void
side_figures(struct side *s, int64_t *latency_us)
{
	bench_quantiles(latency_us, s->requests, s->lat);
	s->rate = s->elapsed_us > 0 ? (double)s->requests * USEC_PER_SEC /
	    (double)s->elapsed_us : 0;
}

/* The socket side: NCONNS connections with WINDOW requests in flight on
 * each, after the warm-up. */
static int
socket_side(const struct options *o, struct bench_daemon *d, int nconns,
    int window, struct side *s, char **cause)
{
	struct bench_pipeline	 p;
	int64_t			 cpu0, self0;
	int			 pass, rc = -1;

	s->conns = nconns;
	s->window = window;
	s->requests = o->requests;
	s->opened = -1;
	memset(&p, 0, sizeof p);
	for (pass = o->warmup > 0 ? 0 : 1; pass < 2; pass++) {
		bench_pipeline_init(&p, &o->b, d->sock, o->method);
		p.nconns = nconns;
		p.window = window;
		p.total = pass == 0 ? o->warmup : o->requests;
		p.params = fixed_params;
		p.arg = (void *)o->params;
		cpu0 = bench_cpu_us(d->pid);
		self0 = self_cpu_us();
		if (bench_pipeline_run(&p, cause) == -1)
			goto out;
		if (p.errors > 0 || p.ok != p.total) {
			xasprintf(cause, "%llu of %llu %s failed on the "
			    "socket; first: %s", (unsigned long long)p.errors,
			    (unsigned long long)p.total, o->method,
			    p.first_error != NULL ? p.first_error : "?");
			goto out;
		}
		if (pass == 1) {
			s->daemon_cpu_us = bench_cpu_us(d->pid) - cpu0;
			s->client_cpu_us = self_cpu_us() - self0;
			s->elapsed_us = p.elapsed_us;
			side_figures(s, p.latency_us);
		}
		bench_pipeline_free(&p);
	}
	rc = 0;
out:
	bench_pipeline_free(&p);
	return (rc);
}

/* The HTTP side: C's connections, one request in flight on each, after
 * the warm-up (on the same connections). */
static int
http_side(const struct options *o, struct bench_daemon *d, struct hclient *c,
    struct side *s, char **cause)
{
	int64_t	*latency_us, cpu0, self0, elapsed;
	int	 rc = -1;

	s->conns = c->nconns;
	s->window = 1;
	s->requests = o->requests;
	latency_us = xcalloc(o->requests, sizeof *latency_us);
	if (o->warmup > 0 && hclient_run(c, o->warmup, NULL, &elapsed,
	    cause) == -1)
		goto out;
	cpu0 = bench_cpu_us(d->pid);
	self0 = self_cpu_us();
	if (hclient_run(c, o->requests, latency_us, &s->elapsed_us,
	    cause) == -1)
		goto out;
	s->daemon_cpu_us = bench_cpu_us(d->pid) - cpu0;
	s->client_cpu_us = self_cpu_us() - self0;
	s->opened = c->opened;
	side_figures(s, latency_us);
	rc = 0;
out:
	free(latency_us);
	return (rc);
}

/* The daemon answered SENT requests on its HTTP API, no more, no fewer. */
static int
check_counted(const struct options *o, int port, uint64_t sent,
    char **cause)
{
	char	*text;
	int64_t	 n;

	if ((text = bench_http_get(port, "/metrics", cause)) == NULL)
		return (-1);
	n = bench_metric(text, ANSWERED);
	free(text);
	if (n != (int64_t)sent) {
		xasprintf(cause, "the daemon counts %lld HTTP API answers, "
		    "%llu were sent", (long long)n, (unsigned long long)sent);
		return (-1);
	}
	return (0);
}

/* Everything: the daemon, its state, then the three sides. */
static int
run(const struct options *o, struct result *r, char **cause)
{
	struct bench_daemon	 d;
	struct hclient		 c;
	char			*secret = NULL, port_s[16];
	int64_t			 took;
	int			 port, rc = -1;

	memset(r, 0, sizeof *r);
	memset(&c, 0, sizeof c);
	r->load_before = bench_loadavg();
	bench_daemon_init(&d, o->b.chimed, o->b.catalog);
	d.sync = o->b.sync;
	d.log_level = o->b.log_level;
	d.keep = o->b.keep;
	if (setup(o, &d, &port, &secret, cause) == -1)
		goto out;
	snprintf(port_s, sizeof port_s, "%d", port);
	hclient_init(&c, o->http_conns, port_s, secret, o->method, o->params);
	if (first_answers(o, &d, &c, r, cause) == -1)
		goto out;

	r->sides[0].name = "socket";
	fprintf(stderr, "rpc-bench: socket, %d x %d...\n", o->b.conns,
	    o->b.window);
	if (socket_side(o, &d, o->b.conns, o->b.window, &r->sides[0],
	    cause) == -1)
		goto out;
	r->sides[1].name = "socket-x1";
	fprintf(stderr, "rpc-bench: socket, %d x 1...\n", o->http_conns);
	if (socket_side(o, &d, o->http_conns, 1, &r->sides[1], cause) == -1)
		goto out;
	r->sides[2].name = "http";
	fprintf(stderr, "rpc-bench: HTTP, %d x 1...\n", o->http_conns);
	if (http_side(o, &d, &c, &r->sides[2], cause) == -1)
		goto out;
	if (check_counted(o, port, 1 + o->warmup + o->requests, cause) == -1)
		goto out;
	r->load_after = bench_loadavg();
	hclient_free(&c);
	if (bench_daemon_stop(&d, SIGTERM, STOP_TIMEOUT, &took, cause) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		bench_daemon_log_tail(&d, 20);
	hclient_free(&c);
	bench_daemon_free(&d, o->b.keep);
	free(secret);
	return (rc);
}

static void
print_table(const struct options *o, const struct result *r)
{
	const struct side	*s;
	char			 label[64];
	int			 i;

	printf("\nrpc-bench: %s %s", o->method, o->params);
	if (r->listed >= 0)
		printf(", %lld schedules", (long long)r->listed);
	printf(" (result %zu bytes), %s token\n", r->socket_bytes, o->token);
	printf("%llu requests a side after %llu to warm up, journal-sync %s, "
	    "%ld cores, load %.2f -> %.2f\n\n",
	    (unsigned long long)o->requests, (unsigned long long)o->warmup,
	    o->b.sync, sysconf(_SC_NPROCESSORS_ONLN), r->load_before,
	    r->load_after);
	printf("%-26s %9s %9s %8s %8s %8s %13s %13s\n", "side", "in flight",
	    "req/s", "p50 ms", "p99 ms", "max ms", "daemon us/req",
	    "client us/req");
	for (i = 0; i < SIDES; i++) {
		s = &r->sides[i];
		snprintf(label, sizeof label, "%s, %d conn x %d",
		    strcmp(s->name, "http") == 0 ? "HTTP" : "socket", s->conns,
		    s->window);
		printf("%-26s %9d %9.0f %8.2f %8.2f %8.2f %13.1f %13.1f\n",
		    label, s->conns * s->window, s->rate, s->lat[0] / 1e3,
		    s->lat[1] / 1e3, s->lat[2] / 1e3,
		    (double)s->daemon_cpu_us / (double)s->requests,
		    (double)s->client_cpu_us / (double)s->requests);
	}
	printf("\n  HTTP/socket requests/s: %.2f of the pipelined socket's, "
	    "%.2f at the same\n  concurrency (%d in flight); HTTP "
	    "connections opened in all: %ld (keep-alive).\n",
	    r->sides[0].rate > 0 ? r->sides[2].rate / r->sides[0].rate : 0,
	    r->sides[1].rate > 0 ? r->sides[2].rate / r->sides[1].rate : 0,
	    o->http_conns, r->sides[2].opened);
	printf("  req/s: requests over the first sent to the last answered; "
	    "latency: sent\n  (queued, when pipelined) to answered; us/req: "
	    "CPU time of the daemon and\n  of this client over the side, "
	    "per request.  No target: the figures.\n");
}

static json_t *
side_json(const struct side *s)
{
	json_t	*j;

	j = json_pack("{s:s,s:i,s:i,s:i,s:I,s:f,s:f,s:{s:f,s:f,s:f},s:f,"
	    "s:f}",
	    "side", s->name,
	    "connections", s->conns,
	    "in_flight_per_connection", s->window,
	    "in_flight", s->conns * s->window,
	    "requests", (json_int_t)s->requests,
	    "elapsed_s", s->elapsed_us / 1e6,
	    "requests_per_s", s->rate,
	    "latency_ms", "p50", s->lat[0] / 1e3, "p99", s->lat[1] / 1e3,
	    "max", s->lat[2] / 1e3,
	    "daemon_cpu_us_per_request", (double)s->daemon_cpu_us /
	    (double)s->requests,
	    "client_cpu_us_per_request", (double)s->client_cpu_us /
	    (double)s->requests);
	if (s->opened >= 0)
		json_object_set_new(j, "connections_opened",
		    json_integer(s->opened));
	return (j);
}

static json_t *
result_json(const struct options *o, const struct result *r)
{
	json_t	*sides = json_array(), *params;
	int	 i;

	for (i = 0; i < SIDES; i++)
		json_array_append_new(sides, side_json(&r->sides[i]));
	params = json_loads(o->params, 0, NULL);
	return (json_pack("{s:s,s:s,s:s,s:o,s:s,s:I,s:I,s:I,s:I,s:I,s:s,s:I,"
	    "s:f,s:f,s:o,s:{s:f,s:f}}",
	    "program", "rpc-bench",
	    "chimed", o->b.chimed,
	    "method", o->method,
	    "params", params != NULL ? params : json_null(),
	    "token", o->token,
	    "schedules", (json_int_t)o->schedules,
	    "listed", (json_int_t)r->listed,
	    "result_bytes", (json_int_t)r->socket_bytes,
	    "requests", (json_int_t)o->requests,
	    "warmup", (json_int_t)o->warmup,
	    "journal_sync", o->b.sync,
	    "cores", (json_int_t)sysconf(_SC_NPROCESSORS_ONLN),
	    "loadavg_before", r->load_before,
	    "loadavg_after", r->load_after,
	    "sides", sides,
	    "http_over_socket",
	    "pipelined", r->sides[0].rate > 0 ? r->sides[2].rate /
	    r->sides[0].rate : 0,
	    "same_in_flight", r->sides[1].rate > 0 ? r->sides[2].rate /
	    r->sides[1].rate : 0));
}

/* --token account|admin (bench_opts_parse); -1: not it. */
static int
take_option(void *arg, int ch, const char *val)
{
	struct options	*o = arg;

	if (ch != 't')
		return (-1);
	if (strcmp(val, "account") != 0 && strcmp(val, "admin") != 0) {
		fprintf(stderr, "rpc-bench: --token: expected account or "
		    "admin\n");
		exit(2);
	}
	o->token = val;
	return (0);
}

int
main(int argc, char **argv)
{
	struct options		 o;
	const struct bench_own	 own[] = {
		{ "requests", BENCH_OWN_U64, &o.requests, 1, 100000000, 0 },
		{ "warmup", BENCH_OWN_U64, &o.warmup, 0, 100000000, 0 },
		{ "method", BENCH_OWN_STRING, &o.method, 0, 0, 0 },
		{ "params", BENCH_OWN_STRING, &o.params, 0, 0, 0 },
		{ "token", BENCH_OWN_TAKE, NULL, 0, 0, 't' },
		{ "schedules", BENCH_OWN_INT, &o.schedules, 0, 100000, 0 },
		{ "http-connections", BENCH_OWN_INT, &o.http_conns, 1, 1000,
		    0 },
		{ "help", BENCH_OWN_HELP, NULL, 0, 0, 0 },
		{ NULL }
	};
	struct result		 r;
	json_t			*params;
	char			*cause = NULL, **args;
	int			 i;

	memset(&o, 0, sizeof o);
	bench_opts_init(&o.b, "rpc-bench");
	o.requests = 20000;
	o.warmup = 1000;
	o.schedules = 10;
	o.http_conns = 16;
	o.method = "schedule.list";
	o.token = "account";
	o.b.conns = 16;
	o.b.window = 64;
	/* -n N is --requests N (as verify-bench takes it). */
	args = xcalloc((size_t)argc + 1, sizeof *args);
	for (i = 0; i < argc; i++)
		args[i] = strcmp(argv[i], "-n") == 0 && i > 0 ?
		    (char *)"--requests" : argv[i];
	if (bench_opts_parse(&o.b, argc, args, own, BENCH_TAKE_DAEMON |
	    BENCH_TAKE_CATALOG | BENCH_TAKE_LOG_LEVEL |
	    BENCH_TAKE_CONNECTIONS | BENCH_TAKE_WINDOW, take_option, &o) == -1)
		usage();
	free(args);
	if (o.params == NULL)
		o.params = strcmp(o.method, "schedule.list") == 0 ?
		    "{\"account\":\"" ACCOUNT "\"}" : "{}";
	if ((params = json_loads(o.params, 0, NULL)) == NULL ||
	    !json_is_object(params) || strpbrk(o.method, "\"\\") != NULL) {
		fprintf(stderr, "rpc-bench: --params: expected a JSON object "
		    "(and --method a name)\n");
		exit(2);
	}
	json_decref(params);
	bench_opts_check(&o.b, 0);
	log_open("rpc-bench", LOG_LEVEL_WARN);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (run(&o, &r, &cause) == -1) {
		fprintf(stderr, "rpc-bench: %s\n", cause);
		free(cause);
		exit(1);
	}
	print_table(&o, &r);
	bench_opts_output(&o.b, result_json(&o, &r));
	bench_opts_free(&o.b);
	curl_global_cleanup();
	return (0);
}
