/*
 * tests/router.c: chime-test-router, a stand-in for an LLM gateway that the
 * HTTP executor's tests and bench/http-bench call.  Not installed.
 *
 *	chime-test-router [--port N] [--port-file FILE] [--secret whsec_...]
 *	    [--record-bodies] [--quiet]
 *
 * It listens on 127.0.0.1 (port 0: any; the port is written to FILE once
 * bound, then it serves) and answers POST on any path with the request
 * document of chime's executors.  What it answers is driven by the
 * request's parameters.router object:
 *
 *	latency_ms	wait this long before answering (a timer, not a sleep)
 *	status		answer this HTTP status (default 200)
 *	fail_times	fail the first N attempts of this Idempotency-Key ...
 *	fail_status	... with this status (default 500)
 *	retry_after	a Retry-After header (seconds) on a failure
 *	usage		{input_tokens, output_tokens} (default 800/200)
 *	model		the model to report (default: the request's)
 *	cost_usd	a cost to report
 *	pad		add a string of this many bytes to the result
 *	body		send this text as the body instead
 *
 * Every request is recorded: GET /requests answers a JSON array of {run_id,
 * idempotency_key, attempt, status, signature_ok, webhook_id,
 * webhook_timestamp, webhook_signature, user_agent, content_type,
 * received_us, replied_us, body (with --record-bodies)}, optionally
 * ?run_id=X; GET /stats answers counts.  signature_ok is null without
 * --secret, else whether the Standard Webhooks signature verifies (with a
 * five-minute timestamp tolerance).
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "engine.h"

#define ROUTER_BODY_MAX		(4 * 1024 * 1024)
#define ROUTER_BACKLOG		4096
#define ROUTER_ACCEPT_BURST	16	/* connections accepted per turn */
#define ROUTER_TOLERANCE_S	300
#define ROUTER_STATUS_MAX	600

/* One request, as recorded. */
struct record {
	char		*run_id;
	char		*key;		/* Idempotency-Key */
	char		*webhook_id;
	char		*webhook_ts;
	char		*webhook_sig;
	char		*user_agent;
	char		*content_type;
	char		*body;		/* with --record-bodies */
	int		 attempt;
	int		 status;
	int		 signature_ok;	/* -1: not checked */
	int64_t		 received_us;
	int64_t		 replied_us;
};

/* Attempts seen per Idempotency-Key. */
struct key_count {
	struct strmap_node	 node;
	char			*key;
	int			 n;
};

/* An answer waiting for its latency to pass. */
struct pending {
	LIST_ENTRY(pending)	 entry;
	struct evhttp_request	*req;
	struct event		*ev;
	struct evbuffer		*out;
	int			 status;
	size_t			 rec;
};

static struct event_base	*base;
static struct record		*records;
static size_t			 nrecords, records_size;
static struct strmap		 keys;
static LIST_HEAD(, pending)	 pendings = LIST_HEAD_INITIALIZER(pendings);
static unsigned char		*secret_key;
static size_t			 secret_len;
static int			 record_bodies;
static int			 quiet;
static uint64_t			 in_flight, max_in_flight, sig_failures;
static uint64_t			 by_status[ROUTER_STATUS_MAX];
static struct evconnlistener	*listener;
static struct event		*resume_ev;
static int			 accepted;	/* since the last resume */

static deadfunc void	usage(void);
static int		decode_secret(const char *);
static int		verify(struct evkeyvalq *, const char *, size_t);
static int		attempt_of(const char *);
static const char	*header(struct evkeyvalq *, const char *);
static char		*header_dup(struct evkeyvalq *, const char *);
static json_t		*router_params(json_t *);
static int64_t		router_param_int(json_t *, const char *, int64_t);
static void		answer_body(struct evbuffer *, json_t *, json_t *,
			    int, int);
static size_t		record_add(json_t *, struct evkeyvalq *,
			    const char *, size_t);
static void		handle_post(struct evhttp_request *);
static void		send_pending(struct pending *);
static void		pending_cb(evutil_socket_t, short, void *);
static void		handle_requests(struct evhttp_request *);
static void		handle_stats(struct evhttp_request *);
static void		reply_json(struct evhttp_request *, int, json_t *);
static void		request_cb(struct evhttp_request *, void *);
static void		signal_cb(evutil_socket_t, short, void *);
static struct bufferevent *accept_bev(struct event_base *, void *);
static void		resume_cb(evutil_socket_t, short, void *);
static int		write_port(const char *, int);

static deadfunc void
usage(void)
{
	fprintf(stderr, "usage: chime-test-router [--port N] [--port-file "
	    "FILE] [--secret whsec_...]\n"
	    "                         [--record-bodies] [--quiet]\n");
	exit(2);
}

/* The HMAC key of a Standard Webhooks secret (base64 after whsec_). */
static int
decode_secret(const char *s)
{
	size_t	n;
	int	got;

	if (strncmp(s, "whsec_", 6) != 0) {
		secret_len = strlen(s);
		secret_key = (unsigned char *)xstrdup(s);
		return (0);
	}
	s += 6;
	n = strlen(s);
	if (n == 0 || n % 4 != 0)
		return (-1);
	secret_key = xmalloc(n);
	if ((got = EVP_DecodeBlock(secret_key, (const unsigned char *)s,
	    (int)n)) < 0)
		return (-1);
	secret_len = (size_t)got - (s[n - 1] == '=') - (s[n - 2] == '=');
	return (0);
}

static const char *
header(struct evkeyvalq *h, const char *name)
{
	return (evhttp_find_header(h, name));
}

/* A copy of header NAME (allocated), or NULL without one. */
static char *
header_dup(struct evkeyvalq *h, const char *name)
{
	const char	*s = header(h, name);

	return (s != NULL ? xstrdup(s) : NULL);
}

/*
 * Verify webhook-signature (any of its space-separated "v1,..." entries)
 * over "id.timestamp.body".  1 if it verifies, 0 if not.
 */
static int
verify(struct evkeyvalq *h, const char *body, size_t len)
{
	const char	*id, *ts, *sigs, *p, *end;
	unsigned char	 mac[EVP_MAX_MD_SIZE];
	unsigned int	 maclen = 0;
	char		*data, b64[128];
	size_t		 blen;
	int		 n;
	long long	 t;

	id = header(h, "webhook-id");
	ts = header(h, "webhook-timestamp");
	sigs = header(h, "webhook-signature");
	if (id == NULL || ts == NULL || sigs == NULL)
		return (0);
	t = strtoll(ts, NULL, 10);
	if (llabs(t - now_us() / USEC_PER_SEC) > ROUTER_TOLERANCE_S)
		return (0);
	n = xasprintf(&data, "%s.%s.", id, ts);
	data = xreallocarray(data, n + len + 1, 1);
	memcpy(data + n, body, len);
	HMAC(EVP_sha256(), secret_key, (int)secret_len, (unsigned char *)data,
	    n + len, mac, &maclen);
	free(data);
	blen = (size_t)EVP_EncodeBlock((unsigned char *)b64, mac,
	    (int)maclen);
	for (p = sigs; *p != '\0'; p = end) {
		while (*p == ' ')
			p++;
		end = p + strcspn(p, " ");
		if ((size_t)(end - p) == 3 + blen &&
		    strncmp(p, "v1,", 3) == 0 &&
		    CRYPTO_memcmp(p + 3, b64, blen) == 0)
			return (1);
	}
	return (0);
}

/* This request's attempt number for KEY: 1 for the first one seen. */
static int
attempt_of(const char *key)
{
	struct strmap_node	*n;
	struct key_count	*kc;

	if ((n = strmap_find(&keys, key)) != NULL) {
		kc = (struct key_count *)n;
		return (++kc->n);
	}
	kc = xcalloc(1, sizeof *kc);
	kc->key = xstrdup(key);
	kc->n = 1;
	strmap_insert(&keys, &kc->node, kc->key);
	return (1);
}

/* parameters.router of the request, or NULL. */
static json_t *
router_params(json_t *doc)
{
	json_t	*p;

	if ((p = json_object_get(doc, "parameters")) == NULL ||
	    (p = json_object_get(p, "router")) == NULL || !json_is_object(p))
		return (NULL);
	return (p);
}

static int64_t
router_param_int(json_t *p, const char *key, int64_t def)
{
	json_t	*v;

	if (p == NULL || (v = json_object_get(p, key)) == NULL ||
	    !json_is_integer(v))
		return (def);
	return (json_integer_value(v));
}

/* The answer: BODY as given, or a plausible gateway result. */
static void
answer_body(struct evbuffer *out, json_t *doc, json_t *p, int status,
    int attempt)
{
	json_t		*v, *usage, *res, *result;
	const char	*model;
	char		*text, *pad;
	int64_t		 npad;

	if (p != NULL && (v = json_object_get(p, "body")) != NULL &&
	    json_is_string(v)) {
		evbuffer_add(out, json_string_value(v), json_string_length(v));
		return;
	}
	if (status < 200 || status > 299) {
		evbuffer_add_printf(out, "{\"error\":\"router: status %d\"}",
		    status);
		return;
	}
	model = "router-model";
	if (p != NULL && json_is_string(json_object_get(p, "model")))
		model = json_string_value(json_object_get(p, "model"));
	else if (json_is_string(json_object_get(doc, "model")))
		model = json_string_value(json_object_get(doc, "model"));
	usage = p != NULL ? json_object_get(p, "usage") : NULL;
	result = json_pack("{s:s, s:O?, s:i}", "text", "routed answer",
	    "run_id", json_object_get(doc, "run_id"), "attempt", attempt);
	if ((npad = router_param_int(p, "pad", 0)) > 0 && npad < 256 * 1024 * 1024) {
		pad = xmalloc(npad + 1);
		memset(pad, 'x', npad);
		pad[npad] = '\0';
		json_object_set_new(result, "pad", json_string(pad));
		free(pad);
	}
	res = json_pack("{s:o, s:s, s:{s:I, s:I}}", "result", result,
	    "model", model, "usage",
	    "input_tokens", (json_int_t)router_param_int(usage, "input_tokens", 800),
	    "output_tokens", (json_int_t)router_param_int(usage, "output_tokens",
	    200));
	if (p != NULL && (v = json_object_get(p, "cost_usd")) != NULL)
		json_object_set(res, "cost_usd", v);
	text = json_dumps(res, JSON_COMPACT);
	evbuffer_add(out, text, strlen(text));
	free(text);
	json_decref(res);
}

static size_t
record_add(json_t *doc, struct evkeyvalq *h, const char *body, size_t len)
{
	struct record	*r;
	const char	*s;

	if (nrecords == records_size) {
		records_size = records_size == 0 ? 1024 : records_size * 2;
		records = xreallocarray(records, records_size,
		    sizeof *records);
	}
	r = &records[nrecords];
	memset(r, 0, sizeof *r);
	r->received_us = now_us();
	s = json_string_value(json_object_get(doc, "run_id"));
	r->run_id = xstrdup(s != NULL ? s : "");
	r->key = header_dup(h, "Idempotency-Key");
	r->webhook_id = header_dup(h, "webhook-id");
	r->webhook_ts = header_dup(h, "webhook-timestamp");
	r->webhook_sig = header_dup(h, "webhook-signature");
	r->user_agent = header_dup(h, "User-Agent");
	r->content_type = header_dup(h, "Content-Type");
	if (record_bodies)
		r->body = xstrndup(body, len);
	r->signature_ok = -1;
	if (secret_key != NULL) {
		r->signature_ok = verify(h, body, len);
		if (!r->signature_ok)
			sig_failures++;
	}
	r->attempt = attempt_of(r->key != NULL ? r->key : r->run_id);
	return (nrecords++);
}

/* POST: record, decide the answer, send it now or after latency_ms. */
static void
handle_post(struct evhttp_request *req)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	struct evkeyvalq	*oh = evhttp_request_get_output_headers(req);
	struct pending		*pd;
	struct record		*r;
	struct timeval		 tv;
	json_t			*doc, *p;
	json_error_t		 err;
	size_t			 len = evbuffer_get_length(in);
	char			*body;
	int64_t			 latency, status, retry_after;

	body = xmalloc(len + 1);
	evbuffer_remove(in, body, len);
	body[len] = '\0';
	if ((doc = json_loadb(body, len, 0, &err)) == NULL) {
		free(body);
		evhttp_send_error(req, 400, "body is not JSON");
		return;
	}
	pd = xcalloc(1, sizeof *pd);
	pd->req = req;
	pd->rec = record_add(doc, h, body, len);
	free(body);
	r = &records[pd->rec];
	p = router_params(doc);
	status = router_param_int(p, "status", 200);
	if (r->attempt <= router_param_int(p, "fail_times", 0))
		status = router_param_int(p, "fail_status", 500);
	if (status < 100 || status >= ROUTER_STATUS_MAX)
		status = 500;
	pd->status = (int)status;
	pd->out = evbuffer_new();
	answer_body(pd->out, doc, p, pd->status, r->attempt);
	evhttp_add_header(oh, "Content-Type", "application/json");
	retry_after = router_param_int(p, "retry_after", -1);
	if (retry_after >= 0 && (status < 200 || status > 299)) {
		char	buf[32];

		snprintf(buf, sizeof buf, "%" PRId64, retry_after);
		evhttp_add_header(oh, "Retry-After", buf);
	}
	if (status >= 300 && status <= 399)
		evhttp_add_header(oh, "Location", "http://127.0.0.1:9/moved");
	if (++in_flight > max_in_flight)
		max_in_flight = in_flight;
	latency = router_param_int(p, "latency_ms", 0);
	json_decref(doc);
	if (latency <= 0) {
		send_pending(pd);
		return;
	}
	pd->ev = evtimer_new(base, pending_cb, pd);
	LIST_INSERT_HEAD(&pendings, pd, entry);
	tv.tv_sec = latency / 1000;
	tv.tv_usec = (latency % 1000) * 1000;
	evtimer_add(pd->ev, &tv);
}

/* Send PD's answer (to a client that may have gone: evhttp copes). */
static void
send_pending(struct pending *pd)
{
	struct record	*r = &records[pd->rec];

	r->status = pd->status;
	r->replied_us = now_us();
	by_status[pd->status]++;
	in_flight--;
	evhttp_send_reply(pd->req, pd->status, NULL, pd->out);
	evbuffer_free(pd->out);
	if (pd->ev != NULL) {
		LIST_REMOVE(pd, entry);
		event_free(pd->ev);
	}
	free(pd);
}

static void
pending_cb(evutil_socket_t fd, short events, void *arg)
{
	send_pending(arg);
}

static void
reply_json(struct evhttp_request *req, int status, json_t *j)
{
	struct evbuffer	*out = evbuffer_new();
	char		*text;

	text = json_dumps(j, JSON_COMPACT);
	evbuffer_add(out, text, strlen(text));
	free(text);
	json_decref(j);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, status, NULL, out);
	evbuffer_free(out);
}

/* GET /requests[?run_id=X]: the records, oldest first. */
static void
handle_requests(struct evhttp_request *req)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	struct evkeyvalq	 q;
	const char		*want = NULL, *query;
	struct record		*r;
	json_t			*a, *o;
	size_t			 i;

	TAILQ_INIT(&q);
	if ((query = evhttp_uri_get_query(uri)) != NULL &&
	    evhttp_parse_query_str(query, &q) == 0)
		want = evhttp_find_header(&q, "run_id");
	a = json_array();
	for (i = 0; i < nrecords; i++) {
		r = &records[i];
		if (want != NULL && strcmp(want, r->run_id) != 0)
			continue;
		o = json_pack("{s:s, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:i, "
		    "s:i, s:I, s:I}",
		    "run_id", r->run_id, "idempotency_key", r->key,
		    "webhook_id", r->webhook_id,
		    "webhook_timestamp", r->webhook_ts,
		    "webhook_signature", r->webhook_sig,
		    "user_agent", r->user_agent,
		    "content_type", r->content_type, "attempt", r->attempt,
		    "status", r->status,
		    "received_us", (json_int_t)r->received_us,
		    "replied_us", (json_int_t)r->replied_us);
		json_object_set_new(o, "signature_ok", r->signature_ok < 0 ?
		    json_null() : json_boolean(r->signature_ok));
		if (r->body != NULL)
			json_object_set_new(o, "body", json_string(r->body));
		json_array_append_new(a, o);
	}
	evhttp_clear_headers(&q);
	reply_json(req, 200, a);
}

/* GET /stats: counts. */
static void
handle_stats(struct evhttp_request *req)
{
	json_t	*st, *o;
	char	 k[16];
	int	 i;

	st = json_object();
	for (i = 0; i < ROUTER_STATUS_MAX; i++) {
		if (by_status[i] == 0)
			continue;
		snprintf(k, sizeof k, "%d", i);
		json_object_set_new(st, k, json_integer((json_int_t)
		    by_status[i]));
	}
	o = json_pack("{s:I, s:I, s:I, s:I, s:I, s:o}",
	    "requests", (json_int_t)nrecords,
	    "keys", (json_int_t)keys.count,
	    "in_flight", (json_int_t)in_flight,
	    "max_in_flight", (json_int_t)max_in_flight,
	    "signature_failures", (json_int_t)sig_failures,
	    "by_status", st);
	reply_json(req, 200, o);
}

static void
request_cb(struct evhttp_request *req, void *arg)
{
	const char	*path;

	path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_POST:
		handle_post(req);
		return;
	case EVHTTP_REQ_GET:
		if (path != NULL && strcmp(path, "/requests") == 0)
			handle_requests(req);
		else if (path != NULL && strcmp(path, "/stats") == 0)
			handle_stats(req);
		else
			evhttp_send_error(req, 404, NULL);
		return;
	default:
		evhttp_send_error(req, 405, NULL);
		return;
	}
}

/*
 * evhttp makes each accepted connection's bufferevent here (as it would
 * itself).  libevent's listener accepts until the backlog is empty before
 * any request is read; a server serves as it accepts, so after
 * ROUTER_ACCEPT_BURST the listener pauses until the next turn of the loop,
 * when the requests of those connections have been read.
 */
static struct bufferevent *
accept_bev(struct event_base *b, void *arg)
{
	static const struct timeval	 now = { 0, 0 };

	if (++accepted == ROUTER_ACCEPT_BURST) {
		evconnlistener_disable(listener);
		evtimer_add(resume_ev, &now);
	}
	return (bufferevent_socket_new(b, -1, BEV_OPT_CLOSE_ON_FREE));
}

/* The next turn (a timer of no delay runs after the loop has polled the
 * new connections): accept again. */
static void
resume_cb(evutil_socket_t fd, short events, void *arg)
{
	accepted = 0;
	evconnlistener_enable(listener);
}

static void
signal_cb(evutil_socket_t sig, short events, void *arg)
{
	event_base_loopexit(base, NULL);
}

/* Write PORT to PATH whole (a temporary file renamed into place). */
static int
write_port(const char *path, int port)
{
	FILE	*f;
	char	*tmp;

	xasprintf(&tmp, "%s.tmp", path);
	if ((f = fopen(tmp, "w")) == NULL) {
		free(tmp);
		return (-1);
	}
	fprintf(f, "%d\n", port);
	if (fclose(f) != 0 || rename(tmp, path) != 0) {
		free(tmp);
		return (-1);
	}
	free(tmp);
	return (0);
}

int
main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "port-file", required_argument, NULL, 'f' },
		{ "secret", required_argument, NULL, 's' },
		{ "record-bodies", no_argument, NULL, 'b' },
		{ "quiet", no_argument, NULL, 'q' },
		{ NULL, 0, NULL, 0 }
	};
	struct sockaddr_in		 sin;
	socklen_t			 slen = sizeof sin;
	struct evconnlistener		*lev;
	struct evhttp			*http;
	struct event			*sigterm, *sigint;
	struct pending			*pd;
	struct rlimit			 rl;
	const char			*port_file = NULL;
	int				 ch, port = 0;

	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			port = atoi(optarg);
			if (port < 0 || port > 65535)
				usage();
			break;
		case 'f':
			port_file = optarg;
			break;
		case 's':
			if (decode_secret(optarg) != 0) {
				fprintf(stderr, "chime-test-router: --secret: "
				    "bad base64 after whsec_\n");
				exit(2);
			}
			break;
		case 'b':
			record_bodies = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_open("chime-test-router", quiet ? LOG_LEVEL_WARN : LOG_LEVEL_INFO);
	/* Thousands of connections at once (http-bench). */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	strmap_init(&keys);
	if ((base = event_base_new()) == NULL)
		fatalx("event_base_new failed");
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons(port);
	lev = evconnlistener_new_bind(base, NULL, NULL, LEV_OPT_REUSEABLE |
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, ROUTER_BACKLOG,
	    (struct sockaddr *)&sin, sizeof sin);
	if (lev == NULL)
		fatal("cannot listen on 127.0.0.1:%d", port);
	if (getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&sin,
	    &slen) == -1)
		fatal("getsockname");
	port = ntohs(sin.sin_port);
	if ((http = evhttp_new(base)) == NULL ||
	    evhttp_bind_listener(http, lev) == NULL)
		fatalx("evhttp failed");
	evhttp_set_max_body_size(http, ROUTER_BODY_MAX);
	evhttp_set_allowed_methods(http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_gencb(http, request_cb, NULL);
	listener = lev;
	if ((resume_ev = evtimer_new(base, resume_cb, NULL)) == NULL)
		fatalx("event_new failed");
	evhttp_set_bevcb(http, accept_bev, NULL);
	sigterm = evsignal_new(base, SIGTERM, signal_cb, NULL);
	sigint = evsignal_new(base, SIGINT, signal_cb, NULL);
	event_add(sigterm, NULL);
	event_add(sigint, NULL);
	if (port_file != NULL && write_port(port_file, port) != 0)
		fatal("cannot write %s", port_file);
	log_info("msg=\"router listening\" port=%d", port);
	event_base_dispatch(base);
	log_info("msg=\"router stopping\" requests=%zu", nrecords);
	/* Answers still waiting go unsent (evhttp_free drops the requests). */
	evhttp_free(http);
	while ((pd = LIST_FIRST(&pendings)) != NULL) {
		LIST_REMOVE(pd, entry);
		evbuffer_free(pd->out);
		event_free(pd->ev);
		free(pd);
	}
	event_free(resume_ev);
	event_free(sigterm);
	event_free(sigint);
	event_base_free(base);
	return (0);
}
