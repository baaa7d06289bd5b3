/*
 * engine/http-server.c: the HTTP listener (libevent evhttp on the daemon's
 * loop).  It serves GET /healthz (the process runs), GET /readyz (the
 * journal takes writes, the loop turns, no drain) and GET /metrics (the
 * registry of metrics.c), plus the routes other modules add with
 * httpd_route.  Bodies, headers and request time are bounded; a path
 * answers only the methods it allows (405 with Allow), 404 otherwise.
 *
 * libevent 2.1.12 has no limit on the number of connections of an evhttp:
 * each connection is counted at its first request (and forgotten by its
 * close callback); past max_connections a new one is answered 503 and
 * closed.  Connections that never send a request are closed after
 * timeout_s.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "engine.h"
#include "journal.h"

#define HTTPD_BEAT_MS		500
#define HTTPD_MAX_ROUTES	16

struct httpd_route {
	char		*path;		/* ends with '/': a prefix */
	int		 methods;	/* HTTPD_GET, HTTPD_POST */
	httpd_cb	 cb;
	void		*arg;
};

struct httpd {
	struct evhttp		*http;
	struct event		*beat;
	int64_t			 beat_us;	/* mono_us of the last beat */
	char			*address;	/* as bound: "1.2.3.4:80" */
	struct httpd_route	 routes[HTTPD_MAX_ROUTES];
	size_t			 nroutes;
	struct httpd_limits	 limits;
	struct evhttp_connection **conns;	/* with a request so far */
	size_t			 nconns;
	/* Journal figures at the last sample. */
	uint64_t		 j_commits;
	uint64_t		 j_errors;
	int			 j_failing;
};

static struct httpd	*httpd_current;

static int	 httpd_parse_port(const char *, uint16_t *);
static char	*httpd_bound(struct evhttp_bound_socket *);
static void	 httpd_beat(evutil_socket_t, short, void *);
static void	 httpd_sample_journal(struct httpd *);
static void	 httpd_request(struct evhttp_request *, void *);
static int	 httpd_admit(struct httpd *, struct evhttp_request *);
static void	 httpd_closed(struct evhttp_connection *, void *);
static const struct httpd_route *httpd_find(struct httpd *, const char *,
		     const char **);
static const char *httpd_allow(int);
static void	 httpd_healthz(struct evhttp_request *, const char *, void *);
static void	 httpd_readyz(struct evhttp_request *, const char *, void *);
static void	 httpd_metrics(struct evhttp_request *, const char *, void *);

static int
httpd_parse_port(const char *s, uint16_t *port)
{
	char	*end;
	long	 v;

	if (*s < '0' || *s > '9')
		return (-1);
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 0 || v > 65535)
		return (-1);
	*port = (uint16_t)v;
	return (0);
}

/*
 * Parse "ADDR:PORT" (an IPv4 literal, "localhost", or "[IPv6]"; PORT 0
 * picks a free port) into an allocated *HOST and *PORT; "none" gives a NULL
 * *HOST.  -1 and *CAUSE on anything else.
 */
int
httpd_parse_address(const char *s, char **host, uint16_t *port, char **cause)
{
	struct in6_addr	 a6;
	struct in_addr	 a4;
	const char	*colon, *close;
	char		*h;

	*host = NULL;
	*port = 0;
	if (strcmp(s, "none") == 0)
		return (0);
	if (s[0] == '[') {
		if ((close = strchr(s, ']')) == NULL || close[1] != ':')
			goto bad;
		h = xstrndup(s + 1, close - s - 1);
		colon = close + 1;
		if (inet_pton(AF_INET6, h, &a6) != 1) {
			free(h);
			goto bad;
		}
	} else {
		if ((colon = strrchr(s, ':')) == NULL ||
		    strchr(s, ':') != colon)
			goto bad;
		h = xstrndup(s, colon - s);
		if (strcmp(h, "localhost") == 0) {
			free(h);
			h = xstrdup("127.0.0.1");
		}
		if (inet_pton(AF_INET, h, &a4) != 1) {
			free(h);
			goto bad;
		}
	}
	if (httpd_parse_port(colon + 1, port) == -1) {
		free(h);
		goto bad;
	}
	*host = h;
	return (0);
bad:
	xasprintf(cause, "expected none, IPV4:PORT or [IPV6]:PORT, got \"%s\"",
	    s);
	return (-1);
}

/* "ADDR:PORT" or "[ADDR]:PORT" of a bound socket, allocated. */
static char *
httpd_bound(struct evhttp_bound_socket *bs)
{
	struct sockaddr_storage	 ss;
	socklen_t		 len = sizeof ss;
	char			 host[INET6_ADDRSTRLEN], *s;

	if (getsockname(evhttp_bound_socket_get_fd(bs),
	    (struct sockaddr *)&ss, &len) == -1)
		return (xstrdup("?"));
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof host);
		xasprintf(&s, "[%s]:%u", host, ntohs(sin6->sin6_port));
	} else {
		struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
		xasprintf(&s, "%s:%u", host, ntohs(sin->sin_port));
	}
	return (s);
}

/* The loop turned: remember when, and look at the journal. */
static void
httpd_beat(evutil_socket_t fd, short events, void *arg)
{
	struct httpd	*h = arg;

	h->beat_us = mono_us();
	httpd_sample_journal(h);
}

/*
 * A journal error since the previous sample makes the journal failing; a
 * sample that sees new commits and no new error makes it good again.
 */
static void
httpd_sample_journal(struct httpd *h)
{
	struct journal_stats	st;

	if (engine == NULL || engine->journal == NULL)
		return;
	journal_stats(engine->journal, &st);
	if (st.errors != h->j_errors)
		h->j_failing = 1;
	else if (st.commits != h->j_commits)
		h->j_failing = 0;
	h->j_errors = st.errors;
	h->j_commits = st.commits;
}

void
httpd_limits_default(struct httpd_limits *l)
{
	l->max_body = HTTPD_MAX_BODY;
	l->max_headers = HTTPD_MAX_HEADERS;
	l->max_connections = HTTPD_MAX_CONNECTIONS;
	l->timeout_s = HTTPD_TIMEOUT_S;
}

/* Listen on HOST:PORT within LIMITS (NULL: the defaults) with the
 * built-in routes; NULL and *CAUSE if not. */
struct httpd *
httpd_start(struct event_base *base, const char *host, uint16_t port,
    const struct httpd_limits *limits, char **cause)
{
	struct httpd			*h;
	struct evhttp_bound_socket	*bs;
	struct journal_stats		 st;
	struct timeval			 tv = { 0, HTTPD_BEAT_MS * 1000 };

	h = xcalloc(1, sizeof *h);
	if ((h->http = evhttp_new(base)) == NULL) {
		free(h);
		*cause = xstrdup("cannot create the HTTP server");
		return (NULL);
	}
	if (limits != NULL)
		h->limits = *limits;
	else
		httpd_limits_default(&h->limits);
	h->conns = xreallocarray(NULL, h->limits.max_connections,
	    sizeof *h->conns);
	evhttp_set_max_body_size(h->http, h->limits.max_body);
	evhttp_set_max_headers_size(h->http, h->limits.max_headers);
	evhttp_set_timeout(h->http, h->limits.timeout_s);
	/* Every method reaches httpd_request, which answers 405 itself. */
	evhttp_set_allowed_methods(h->http, 0x1ff);
	/* A too large body gets its 413 before the connection closes. */
	evhttp_set_flags(h->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_default_content_type(h->http, "text/plain; charset=utf-8");
	evhttp_set_gencb(h->http, httpd_request, h);
	if ((bs = evhttp_bind_socket_with_handle(h->http, host, port)) ==
	    NULL) {
		xasprintf(cause, "cannot listen on %s%s%s:%u: %s",
		    strchr(host, ':') != NULL ? "[" : "", host,
		    strchr(host, ':') != NULL ? "]" : "", port,
		    strerror(errno));
		evhttp_free(h->http);
		free(h);
		return (NULL);
	}
	h->address = httpd_bound(bs);
	h->beat_us = mono_us();
	h->beat = event_new(base, -1, EV_PERSIST, httpd_beat, h);
	evtimer_add(h->beat, &tv);
	if (engine != NULL && engine->journal != NULL) {
		journal_stats(engine->journal, &st);
		h->j_errors = st.errors;
		h->j_commits = st.commits;
	}
	if (httpd_route(h, "/healthz", HTTPD_GET, httpd_healthz, h,
	    cause) == -1 || httpd_route(h, "/readyz", HTTPD_GET, httpd_readyz,
	    h, cause) == -1 || httpd_route(h, "/metrics", HTTPD_GET,
	    httpd_metrics, h, cause) == -1) {
		httpd_free(h);
		return (NULL);
	}
	httpd_current = h;
	log_info("msg=\"http listening\" address=%s", h->address);
	return (h);
}

void
httpd_free(struct httpd *h)
{
	size_t	i;

	if (h == NULL)
		return;
	if (httpd_current == h)
		httpd_current = NULL;
	evhttp_free(h->http);
	free(h->conns);
	if (h->beat != NULL)
		event_free(h->beat);
	for (i = 0; i < h->nroutes; i++)
		free(h->routes[i].path);
	free(h->address);
	free(h);
}

/* The address bound, "127.0.0.1:8470" or "[::1]:8470". */
const char *
httpd_address(const struct httpd *h)
{
	return (h->address);
}

/* The address of the daemon's listener, or NULL when there is none. */
const char *
httpd_listening(void)
{
	return (httpd_current != NULL ? httpd_current->address : NULL);
}

/*
 * Serve PATH (every path under it when it ends with '/') with CB for the
 * METHODS given; CB receives the rest of the path after a prefix.
 */
int
httpd_route(struct httpd *h, const char *path, int methods, httpd_cb cb,
    void *arg, char **cause)
{
	size_t	i;

	if (path == NULL || path[0] != '/' || cb == NULL || methods == 0 ||
	    (methods & ~(HTTPD_GET | HTTPD_POST)) != 0) {
		xasprintf(cause, "bad route \"%s\"", path != NULL ? path : "");
		return (-1);
	}
	for (i = 0; i < h->nroutes; i++) {
		if (strcmp(h->routes[i].path, path) == 0) {
			xasprintf(cause, "route %s: already served", path);
			return (-1);
		}
	}
	if (h->nroutes == HTTPD_MAX_ROUTES) {
		xasprintf(cause, "route %s: too many routes", path);
		return (-1);
	}
	h->routes[h->nroutes].path = xstrdup(path);
	h->routes[h->nroutes].methods = methods;
	h->routes[h->nroutes].cb = cb;
	h->routes[h->nroutes].arg = arg;
	h->nroutes++;
	return (0);
}

/* The route of PATH: exact first, else the longest prefix; *REST after it. */
static const struct httpd_route *
httpd_find(struct httpd *h, const char *path, const char **rest)
{
	const struct httpd_route	*r, *best = NULL;
	size_t				 i, len, blen = 0;

	for (i = 0; i < h->nroutes; i++) {
		r = &h->routes[i];
		len = strlen(r->path);
		if (strcmp(r->path, path) == 0) {
			*rest = path + len;
			return (r);
		}
		if (r->path[len - 1] == '/' && strncmp(r->path, path,
		    len) == 0 && path[len] != '\0' && len > blen) {
			best = r;
			blen = len;
		}
	}
	*rest = path + blen;
	return (best);
}

static const char *
httpd_allow(int methods)
{
	if (methods == (HTTPD_GET | HTTPD_POST))
		return ("GET, HEAD, POST");
	if (methods == HTTPD_POST)
		return ("POST");
	return ("GET, HEAD");
}

/* Answer CODE with a text BODY (a line) or with LEN bytes of BODY. */
void
httpd_reply(struct evhttp_request *req, int code, const char *ctype,
    const char *body, size_t len)
{
	struct evbuffer	*b = evbuffer_new();

	if (b == NULL)
		fatalx("out of memory");
	if (ctype != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type", ctype);
	evbuffer_add(b, body, len);
	evhttp_send_reply(req, code, NULL, b);
	evbuffer_free(b);
}

/* Every request: find its route and check its method. */
static void
httpd_request(struct evhttp_request *req, void *arg)
{
	struct httpd			*h = arg;
	const struct evhttp_uri		*uri;
	const struct httpd_route	*r;
	const char			*path = NULL, *rest;
	int				 cmd, bits;

	if ((uri = evhttp_request_get_evhttp_uri(req)) != NULL)
		path = evhttp_uri_get_path(uri);
	if (path == NULL || *path == '\0')
		path = "/";
	cmd = evhttp_request_get_command(req);
	log_trace(TRACE_HTTP, "msg=\"http request\" method=%d path=\"%s\"",
	    cmd, log_escape(path));
	if (!httpd_admit(h, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Connection", "close");
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "1");
		httpd_reply(req, 503, NULL, "too many connections\n", 21);
		return;
	}
	if ((r = httpd_find(h, path, &rest)) == NULL) {
		httpd_reply(req, 404, NULL, "not found\n", 10);
		return;
	}
	bits = 0;
	if (r->methods & HTTPD_GET)
		bits |= EVHTTP_REQ_GET | EVHTTP_REQ_HEAD;
	if (r->methods & HTTPD_POST)
		bits |= EVHTTP_REQ_POST;
	if ((cmd & bits) == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", httpd_allow(r->methods));
		httpd_reply(req, 405, NULL, "method not allowed\n", 19);
		return;
	}
	r->cb(req, rest, r->arg);
}

/* Count REQ's connection at its first request: 1, or 0 when
 * max_connections are open already (logged at most once a second). */
static int
httpd_admit(struct httpd *h, struct evhttp_request *req)
{
	struct evhttp_connection	*c;
	static int64_t			 warned;
	size_t				 i;

	if ((c = evhttp_request_get_connection(req)) == NULL)
		return (1);
	for (i = 0; i < h->nconns; i++) {
		if (h->conns[i] == c)
			return (1);
	}
	if (h->nconns == h->limits.max_connections) {
		if (mono_us() - warned > USEC_PER_SEC) {
			warned = mono_us();
			log_warnx("msg=\"http connection refused\" "
			    "reason=\"%zu connections open\"", h->nconns);
		}
		return (0);
	}
	h->conns[h->nconns++] = c;
	evhttp_connection_set_closecb(c, httpd_closed, h);
	return (1);
}

/* A counted connection closed: forget it. */
static void
httpd_closed(struct evhttp_connection *c, void *arg)
{
	struct httpd	*h = arg;
	size_t		 i;

	for (i = 0; i < h->nconns; i++) {
		if (h->conns[i] == c) {
			h->conns[i] = h->conns[--h->nconns];
			return;
		}
	}
}

/* Connections counted now (for tests and status). */
size_t
httpd_connections(void)
{
	return (httpd_current != NULL ? httpd_current->nconns : 0);
}

/*
 * 1 when the daemon is ready for work; else 0 and *REASON: draining, no
 * journal, a journal write error since its last good commit, or a loop
 * whose heartbeat is older than HTTPD_READY_STALE_US.
 */
int
httpd_ready(const char **reason)
{
	struct httpd	*h = httpd_current;

	if (engine != NULL && engine->draining) {
		*reason = "draining";
		return (0);
	}
	if (engine == NULL || engine->journal == NULL) {
		*reason = "journal not open";
		return (0);
	}
	if (journal_stalled(engine->journal, NULL, NULL)) {
		*reason = "the journal cannot write";
		return (0);
	}
	if (h != NULL) {
		httpd_sample_journal(h);
		if (h->j_failing) {
			*reason = "journal write error";
			return (0);
		}
		if (mono_us() - h->beat_us > HTTPD_READY_STALE_US) {
			*reason = "event loop unresponsive";
			return (0);
		}
	}
	*reason = "ok";
	return (1);
}

static void
httpd_healthz(struct evhttp_request *req, const char *rest, void *arg)
{
	httpd_reply(req, 200, NULL, "ok\n", 3);
}

static void
httpd_readyz(struct evhttp_request *req, const char *rest, void *arg)
{
	const char	*reason;
	char		*line;
	int		 n;

	if (httpd_ready(&reason)) {
		httpd_reply(req, 200, NULL, "ok\n", 3);
		return;
	}
	n = xasprintf(&line, "not ready: %s\n", reason);
	httpd_reply(req, 503, NULL, line, (size_t)n);
	free(line);
}

static void
httpd_metrics(struct evhttp_request *req, const char *rest, void *arg)
{
	char	*text;
	size_t	 len;

	text = metrics_render(&len);
	httpd_reply(req, 200, "text/plain; version=0.0.4; charset=utf-8",
	    text, len);
	free(text);
}
