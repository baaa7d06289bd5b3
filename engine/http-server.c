/*
 * engine/http-server.c: the HTTP listener (libevent evhttp on the daemon's
 * loop).  It serves GET /healthz (the process runs), GET /readyz (the
 * journal takes writes, the loop turns, no drain) and GET /metrics (the
 * registry of metrics.c), plus the routes other modules add with
 * httpd_route.  Bodies, headers and request time are bounded; a path
 * answers only the methods it allows (405 with Allow), 404 otherwise.
 *
 * libevent 2.1.12 has no limit on the number of connections of an evhttp,
 * and its timeout is an idle one that each byte received resets: a client
 * sending a byte a second holds its connection for ever.  So each
 * connection is tracked from its accept to its close (struct httpd_conn):
 *
 *	accept	evhttp asks httpd_bev for the connection's bufferevent; the
 *		connection is counted at once, and past max_connections it
 *		is refused (a 503 if its request comes within a second, at
 *		most HTTPD_REFUSING_MAX of those at once; else closed).
 *	adopt	on the same loop turn, before anything is read, httpd_adopt
 *		finds the evhttp_connection (the argument libevent gives the
 *		bufferevent's callbacks: evhttp_connection_base_bufferevent_new
 *		in 2.1.12, checked against evhttp_connection_get_bufferevent)
 *		and sets its close callback, which forgets it.
 *	READING	a request must be read whole within timeout_s of the accept
 *		(or of the end of the previous answer on a kept-alive
 *		connection), however the bytes trickle in; past it the
 *		connection is closed (httpd_deadline).
 *	SERVING	from the route's callback until the answer is written
 *		(evhttp_request_set_on_complete_cb): no deadline, however
 *		long a handler waits (a webhook waits for the journal).
 *
 * A request that libevent answers itself (413 past max_body, 400 for a
 * malformed request or headers past max_headers) never reaches a route:
 * its request line is read from the connection's input as it arrives and
 * the answer seen on its output, so the refusal is logged, counted and
 * handed to the route's refusal callback (httpd_route_refusals).  Logs of
 * refusals are at most a line a second per kind, with a count.
 *
 * Every answer carries the security headers (Content-Security-Policy,
 * nosniff, no referrer): a route's (or this file's) are set before the
 * route is called (httpd_security_headers); libevent's own refusals get
 * them written after their status line, as the line reaches the output
 * (httpd_refusal_headers).
 */
#include <sys/socket.h>
#include <sys/queue.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "engine.h"

#define HTTPD_BEAT_MS		500
#define HTTPD_MAX_ROUTES	16
#define HTTPD_REFUSING_MAX	64	/* refused connections awaiting a 503 */
#define HTTPD_REFUSE_GRACE_MS	1000	/* for their request to come */
#define HTTPD_LINE_MAX		512	/* bytes of a request line kept */
#define HTTPD_LOG_US		USEC_PER_SEC	/* refusals: a line at most */
/* Every answer's policy: this origin only, nothing inline, never framed. */
#define HTTPD_CSP		"default-src 'self'; frame-ancestors 'none'"
#define HTTPD_SECURITY_HEADERS	\
	"Content-Security-Policy: " HTTPD_CSP "\r\n" \
	"X-Content-Type-Options: nosniff\r\n" \
	"Referrer-Policy: no-referrer\r\n"

struct httpd_route {
	char		*path;		/* ends with '/': a prefix */
	int		 methods;	/* HTTPD_GET, HTTPD_POST */
	httpd_cb	 cb;
	void		*arg;
	httpd_refused_cb refused;	/* libevent answered; or NULL */
	void		*refused_arg;
};

enum httpd_conn_state {
	HTTPD_CONN_ADOPTING,	/* accepted; its evhttp_connection not known */
	HTTPD_CONN_READING,	/* reading a request, under the deadline */
	HTTPD_CONN_SERVING,	/* a route has the request */
};

/* One connection, from accept to close. */
struct httpd_conn {
	struct httpd			*h;
	struct bufferevent		*bev;
	struct evhttp_connection	*evcon;		/* once adopted */
	struct evbuffer_cb_entry	*in_cb;
	struct evbuffer_cb_entry	*out_cb;
	struct event			*deadline;
	enum httpd_conn_state		 state;
	int				 counted;	/* in nconns */
	int				 refusing;	/* in nrefusing */
	int				 answered;	/* libevent answered
							   this request */
	int64_t				 since_us;	/* mono_us: accept, or
							   the last answer */
	char				 path[HTTPD_LINE_MAX];
	int				 have_path;	/* of this request */
	struct httpd_stream		*stream;	/* an answer in
							   chunks; NULL */
	TAILQ_ENTRY(httpd_conn)		 entry;	/* adopting, or conns */
};

/* An answer sent in chunks for as long as the route has something to say
 * (GET /v1/events), on connection C. */
struct httpd_stream {
	struct evhttp_request		*req;
	struct httpd_conn		*c;
	void				(*drained)(void *);
	void				(*closed)(void *);
	void				*arg;
};
TAILQ_HEAD(httpd_conns, httpd_conn);

/* A line a second at most for one kind of refusal. */
struct httpd_ratelog {
	int64_t		last_us;
	u_int		since;		/* refusals since the last line */
};

struct httpd {
	struct evhttp		*http;
	struct event		*beat;
	int64_t			 beat_us;	/* mono_us of the last beat */
	char			*address;	/* as bound: "1.2.3.4:80" */
	struct httpd_route	 routes[HTTPD_MAX_ROUTES];
	size_t			 nroutes;
	struct httpd_limits	 limits;
	struct httpd_conns	 conns;		/* every adopted connection */
	struct httpd_conns	 adopting;	/* accepted, to adopt */
	struct event		*adopt;
	size_t			 nconns;	/* accepted, not refused */
	size_t			 nrefusing;	/* refused, awaiting a 503 */
	struct httpd_ratelog	 log_full;
	struct httpd_ratelog	 log_slow;
	struct httpd_ratelog	 log_listener;
	/* Journal figures at the last sample. */
};

static struct httpd	*httpd_current;

static int	 httpd_parse_port(const char *, uint16_t *);
static char	*httpd_bound(struct evhttp_bound_socket *);
static void	 httpd_beat(evutil_socket_t, short, void *);

static int	(*httpd_ready_hook)(const char **);
static void	 httpd_request(struct evhttp_request *, void *);
static struct bufferevent *httpd_bev(struct event_base *, void *);
static void	 httpd_adopt(evutil_socket_t, short, void *);
static void	 httpd_admit(struct httpd_conn *);
static struct httpd_conn *httpd_conn_find(struct httpd *,
		     struct evhttp_connection *);
static void	 httpd_conn_arm(struct httpd_conn *, int64_t);
static void	 httpd_deadline(evutil_socket_t, short, void *);
static void	 httpd_input(struct evbuffer *,
		     const struct evbuffer_cb_info *, void *);
static void	 httpd_take_path(struct httpd_conn *, int);
static void	 httpd_output(struct evbuffer *,
		     const struct evbuffer_cb_info *, void *);
static void	 httpd_listener_refused(struct httpd_conn *, int);
static void	 httpd_refusal_headers(struct evbuffer *);
static void	 httpd_served(struct evhttp_request *, void *);
static void	 httpd_closed(struct evhttp_connection *, void *);
static void	 httpd_conn_free(struct httpd_conn *);
static int	 httpd_ratelog(struct httpd_ratelog *, u_int *);
static const char *httpd_peer(struct httpd_conn *);
static const struct httpd_route *httpd_find(struct httpd *, const char *,
		     const char **);
static const char *httpd_allow(int);
static void	 httpd_security_headers(struct evhttp_request *);
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

/* The loop turned: remember when, and let the ready hook sample. */
static void
httpd_beat(evutil_socket_t fd, short events, void *arg)
{
	struct httpd	*h = arg;
	const char	*reason;

	h->beat_us = mono_us();
	if (httpd_ready_hook != NULL)
		httpd_ready_hook(&reason);
}

void
httpd_limits_default(struct httpd_limits *l)
{
	l->max_body = HTTPD_MAX_BODY;
	l->max_headers = HTTPD_MAX_HEADERS;
	l->max_connections = HTTPD_MAX_CONNECTIONS;
	l->timeout_s = HTTPD_TIMEOUT_S;
}

/* A server within LIMITS (NULL: the defaults), not listening yet. */
static struct httpd *
httpd_new(struct event_base *base, const struct httpd_limits *limits,
    char **cause)
{
	struct httpd	*h;

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
	TAILQ_INIT(&h->conns);
	TAILQ_INIT(&h->adopting);
	if ((h->adopt = event_new(base, -1, 0, httpd_adopt, h)) == NULL)
		fatalx("httpd_start: event_new failed");
	evhttp_set_bevcb(h->http, httpd_bev, h);
	evhttp_set_max_body_size(h->http, h->limits.max_body);
	evhttp_set_max_headers_size(h->http, h->limits.max_headers);
	evhttp_set_timeout(h->http, h->limits.timeout_s);
	/* Every method reaches httpd_request, which answers 405 itself. */
	evhttp_set_allowed_methods(h->http, 0x1ff);
	/* A too large body gets its 413 before the connection closes. */
	evhttp_set_flags(h->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_default_content_type(h->http, "text/plain; charset=utf-8");
	evhttp_set_gencb(h->http, httpd_request, h);
	return (h);
}

/* H listens on BS: the built-in routes, the beat.  NULL and *CAUSE if
 * not (H freed). */
static struct httpd *
httpd_listen(struct httpd *h, struct event_base *base,
    struct evhttp_bound_socket *bs, char **cause)
{
	struct timeval	tv = { 0, HTTPD_BEAT_MS * 1000 };

	h->address = httpd_bound(bs);
	h->beat_us = mono_us();
	h->beat = event_new(base, -1, EV_PERSIST, httpd_beat, h);
	evtimer_add(h->beat, &tv);
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

static void
httpd_discard(struct httpd *h)
{
	evhttp_free(h->http);
	event_free(h->adopt);
	free(h);
}

/* Listen on HOST:PORT within LIMITS (NULL: the defaults) with the
 * built-in routes; NULL and *CAUSE if not. */
struct httpd *
httpd_start(struct event_base *base, const char *host, uint16_t port,
    const struct httpd_limits *limits, char **cause)
{
	struct httpd			*h;
	struct evhttp_bound_socket	*bs;

	if ((h = httpd_new(base, limits, cause)) == NULL)
		return (NULL);
	if ((bs = evhttp_bind_socket_with_handle(h->http, host, port)) ==
	    NULL) {
		xasprintf(cause, "cannot listen on %s%s%s:%u: %s",
		    strchr(host, ':') != NULL ? "[" : "", host,
		    strchr(host, ':') != NULL ? "]" : "", port,
		    strerror(errno));
		httpd_discard(h);
		return (NULL);
	}
	return (httpd_listen(h, base, bs, cause));
}

/* The same on FD, a listening TCP socket the supervisor made (socket
 * activation); it is the server's from now on. */
struct httpd *
httpd_start_fd(struct event_base *base, int fd,
    const struct httpd_limits *limits, char **cause)
{
	struct httpd			*h;
	struct evhttp_bound_socket	*bs;

	if ((h = httpd_new(base, limits, cause)) == NULL)
		return (NULL);
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    evutil_make_socket_closeonexec(fd) == -1 ||
	    (bs = evhttp_accept_socket_with_handle(h->http, fd)) == NULL) {
		xasprintf(cause, "cannot listen on descriptor %d: %s", fd,
		    strerror(errno));
		httpd_discard(h);
		return (NULL);
	}
	return (httpd_listen(h, base, bs, cause));
}

void
httpd_free(struct httpd *h)
{
	struct httpd_conn	*c;
	size_t			 i;

	if (h == NULL)
		return;
	if (httpd_current == h)
		httpd_current = NULL;
	/* Every adopted connection's close callback forgets it. */
	evhttp_free(h->http);
	while ((c = TAILQ_FIRST(&h->adopting)) != NULL) {
		TAILQ_REMOVE(&h->adopting, c, entry);
		httpd_conn_free(c);
	}
	event_free(h->adopt);
	if (h->beat != NULL)
		event_free(h->beat);
	for (i = 0; i < h->nroutes; i++)
		free(h->routes[i].path);
	free(h->address);
	free(h);
}

size_t
httpd_flushing(void)
{
	struct httpd_conn	*c;
	size_t			 n = 0;

	if (httpd_current == NULL)
		return (0);
	TAILQ_FOREACH(c, &httpd_current->conns, entry) {
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0)
			n++;
	}
	return (n);
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
	    (methods & ~(HTTPD_GET | HTTPD_POST | HTTPD_DELETE)) != 0) {
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

/*
 * Tell CB about the requests to the route PATH (served already) that the
 * listener answers itself before the route sees them; instead of the
 * listener's own log line.
 */
int
httpd_route_refusals(struct httpd *h, const char *path, httpd_refused_cb cb,
    void *arg, char **cause)
{
	size_t	i;

	for (i = 0; i < h->nroutes; i++) {
		if (strcmp(h->routes[i].path, path) == 0) {
			h->routes[i].refused = cb;
			h->routes[i].refused_arg = arg;
			return (0);
		}
	}
	xasprintf(cause, "route %s: not served", path);
	return (-1);
}

/* The route of PATH: exact first, else the longest prefix; *REST after it.
 * "/" is only ever served exactly, never as the prefix of every path. */
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
		if (len > 1 && r->path[len - 1] == '/' && strncmp(r->path,
		    path, len) == 0 && path[len] != '\0' && len > blen) {
			best = r;
			blen = len;
		}
	}
	*rest = path + blen;
	return (best);
}

/* The Allow header of METHODS, e.g. "GET, HEAD, POST" (static). */
static const char *
httpd_allow(int methods)
{
	static char	 s[32];

	snprintf(s, sizeof s, "%s%s%s%s%s",
	    (methods & HTTPD_GET) ? "GET, HEAD" : "",
	    (methods & HTTPD_GET) && (methods & ~HTTPD_GET) ? ", " : "",
	    (methods & HTTPD_POST) ? "POST" : "",
	    (methods & HTTPD_POST) && (methods & HTTPD_DELETE) ? ", " : "",
	    (methods & HTTPD_DELETE) ? "DELETE" : "");
	return (s);
}

/*
 * The headers every answer carries, whatever route makes it (errors, 401s
 * and streams included): no script, style or frame from another origin
 * nor inline, no framing, no type sniffing, no referrer.  Set before the
 * route runs, so that no route can forget them.
 */
static void
httpd_security_headers(struct evhttp_request *req)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);

	evhttp_add_header(out, "Content-Security-Policy", HTTPD_CSP);
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "Referrer-Policy", "no-referrer");
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

struct httpd_stream *
httpd_stream_start(struct evhttp_request *req, const char *ctype,
    void (*drained)(void *), void (*closed)(void *), void *arg)
{
	struct httpd_stream	*st;
	struct httpd_conn	*c;

	c = httpd_current != NULL ? httpd_conn_find(httpd_current,
	    evhttp_request_get_connection(req)) : NULL;
	if (c == NULL || c->stream != NULL)
		return (NULL);
	st = xcalloc(1, sizeof *st);
	st->req = req;
	st->c = c;
	st->drained = drained;
	st->closed = closed;
	st->arg = arg;
	c->stream = st;
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", ctype);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-cache");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "X-Accel-Buffering", "no");	/* nginx: pass it on as it comes */
	evhttp_send_reply_start(req, 200, "OK");
	return (st);
}

/* The connection wrote out what it had: the route may say more. */
static void
httpd_stream_written(struct evhttp_connection *evcon, void *arg)
{
	struct httpd_stream	*st = arg;

	st->drained(st->arg);
}

void
httpd_stream_write(struct httpd_stream *st, const char *data, size_t len)
{
	struct evbuffer	*b = evbuffer_new();

	if (b == NULL || evbuffer_add(b, data, len) != 0)
		fatalx("httpd_stream_write: out of memory");
	evhttp_send_reply_chunk_with_cb(st->req, b, httpd_stream_written, st);
	evbuffer_free(b);
}

size_t
httpd_stream_unread(struct httpd_stream *st)
{
	return (evbuffer_get_length(bufferevent_get_output(st->c->bev)));
}

void
httpd_stream_end(struct httpd_stream *st)
{
	st->c->stream = NULL;
	evhttp_send_reply_end(st->req);
	free(st);
}

/* Every request: find its route and check its method. */
static void
httpd_request(struct evhttp_request *req, void *arg)
{
	struct httpd			*h = arg;
	const struct evhttp_uri		*uri;
	const struct httpd_route	*r;
	struct httpd_conn		*c;
	const char			*path = NULL, *rest;
	int				 cmd, bits;

	if ((uri = evhttp_request_get_evhttp_uri(req)) != NULL)
		path = evhttp_uri_get_path(uri);
	if (path == NULL || *path == '\0')
		path = "/";
	cmd = evhttp_request_get_command(req);
	log_trace(TRACE_HTTP, "msg=\"http request\" method=%d path=\"%s\"",
	    cmd, log_escape(path));
	httpd_security_headers(req);
	c = httpd_conn_find(h, evhttp_request_get_connection(req));
	if (c != NULL) {
		/* Read whole: no deadline while a route serves it. */
		c->state = HTTPD_CONN_SERVING;
		evtimer_del(c->deadline);
		evhttp_request_set_on_complete_cb(req, httpd_served, c);
	}
	if (c != NULL && !c->counted) {
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
	if (r->methods & HTTPD_DELETE)
		bits |= EVHTTP_REQ_DELETE;
	if ((cmd & bits) == 0) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", httpd_allow(r->methods));
		httpd_reply(req, 405, NULL, "method not allowed\n", 19);
		return;
	}
	r->cb(req, rest, r->arg);
}

/* ---- connections, from accept to close --------------------------------- */

/*
 * evhttp accepted a connection and asks for its bufferevent: make it, and
 * the connection's record, watched from now on.  The evhttp_connection
 * does not exist yet: httpd_adopt finds it on this same loop turn, before
 * any byte is read (the reference taken here keeps the bufferevent if
 * evhttp drops the connection first).
 */
static struct bufferevent *
httpd_bev(struct event_base *base, void *arg)
{
	struct httpd		*h = arg;
	struct httpd_conn	*c;

	c = xcalloc(1, sizeof *c);
	c->h = h;
	c->since_us = mono_us();
	c->state = HTTPD_CONN_ADOPTING;
	c->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	c->deadline = evtimer_new(base, httpd_deadline, c);
	if (c->bev == NULL || c->deadline == NULL)
		fatalx("httpd: cannot make a connection's bufferevent");
	c->in_cb = evbuffer_add_cb(bufferevent_get_input(c->bev), httpd_input,
	    c);
	c->out_cb = evbuffer_add_cb(bufferevent_get_output(c->bev),
	    httpd_output, c);
	if (c->in_cb == NULL || c->out_cb == NULL)
		fatalx("httpd: cannot watch a connection's buffers");
	bufferevent_incref(c->bev);
	TAILQ_INSERT_TAIL(&h->adopting, c, entry);
	event_active(h->adopt, EV_TIMEOUT, 1);
	return (c->bev);
}

/*
 * Find the evhttp_connection of each connection accepted since the last
 * turn, set its close callback, and count or refuse it.  One that evhttp
 * dropped already (its bufferevent freed: no callback argument left) is
 * forgotten.
 */
static void
httpd_adopt(evutil_socket_t fd, short events, void *arg)
{
	struct httpd		*h = arg;
	struct httpd_conn	*c;
	void			*cbarg = NULL;

	while ((c = TAILQ_FIRST(&h->adopting)) != NULL) {
		TAILQ_REMOVE(&h->adopting, c, entry);
		bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
		if (cbarg == NULL) {
			httpd_conn_free(c);
			continue;
		}
		c->evcon = cbarg;
		if (evhttp_connection_get_bufferevent(c->evcon) != c->bev)
			fatalx("httpd: the connection of a bufferevent is not "
			    "its callback argument (libevent changed?)");
		bufferevent_decref(c->bev);
		TAILQ_INSERT_TAIL(&h->conns, c, entry);
		evhttp_connection_set_closecb(c->evcon, httpd_closed, c);
		c->state = HTTPD_CONN_READING;
		httpd_admit(c);
	}
}

/*
 * Count C, or refuse it past max_connections: a refused connection gets
 * a 503 if its request comes within HTTPD_REFUSE_GRACE_MS, as long as no
 * more than HTTPD_REFUSING_MAX wait so; past that it is closed at once.
 */
static void
httpd_admit(struct httpd_conn *c)
{
	struct httpd	*h = c->h;
	int64_t		 ms = (int64_t)h->limits.timeout_s * 1000;
	u_int		 n;

	if (h->nconns < h->limits.max_connections) {
		c->counted = 1;
		h->nconns++;
		httpd_conn_arm(c, ms);
		return;
	}
	metrics_count(METRICS_HTTP_REFUSED, "connections", 1);
	if (httpd_ratelog(&h->log_full, &n))
		log_warnx("msg=\"http connection refused\" reason=\"%zu "
		    "connections open\" refused=%u", h->nconns, n);
	if (h->nrefusing >= HTTPD_REFUSING_MAX) {
		evhttp_connection_free(c->evcon);	/* frees C */
		return;
	}
	c->refusing = 1;
	h->nrefusing++;
	httpd_conn_arm(c, ms < HTTPD_REFUSE_GRACE_MS ? ms :
	    HTTPD_REFUSE_GRACE_MS);
}

/* The connection of EVCON, or NULL (a walk: at most max_connections and
 * HTTPD_REFUSING_MAX, once a request). */
static struct httpd_conn *
httpd_conn_find(struct httpd *h, struct evhttp_connection *evcon)
{
	struct httpd_conn	*c;

	TAILQ_FOREACH(c, &h->conns, entry) {
		if (c->evcon == evcon)
			return (c);
	}
	return (NULL);
}

/* C's request must be read whole within MS of c->since_us. */
static void
httpd_conn_arm(struct httpd_conn *c, int64_t ms)
{
	int64_t	left;

	left = c->since_us + ms * USEC_PER_MSEC - mono_us();
	if (left < 0)
		left = 0;
	timeout_add_us(c->deadline, left);
}

/* A request not read whole in time: close its connection, no answer. */
static void
httpd_deadline(evutil_socket_t fd, short events, void *arg)
{
	struct httpd_conn	*c = arg;
	struct httpd		*h = c->h;
	u_int			 n;

	if (c->state != HTTPD_CONN_READING)
		return;
	if (!c->have_path)
		httpd_take_path(c, 1);
	if (c->counted) {
		metrics_count(METRICS_HTTP_REFUSED, "timeout", 1);
		if (httpd_ratelog(&h->log_slow, &n))
			log_warnx("msg=\"http request not read in time; "
			    "closed\" timeout_s=%d path=\"%s\" address=%s "
			    "closed=%u", h->limits.timeout_s, c->have_path ?
			    log_escape(c->path) : "", httpd_peer(c), n);
	}
	evhttp_connection_free(c->evcon);	/* frees C */
}

/* Bytes arrived: while reading a request, keep its request line's path. */
static void
httpd_input(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct httpd_conn	*c = arg;

	if (info->n_added != 0 && !c->have_path &&
	    c->state != HTTPD_CONN_SERVING)
		httpd_take_path(c, 0);
}

/*
 * The path of the request line at the head of the input ("METHOD PATH
 * VERSION", leading blank lines skipped), without its query, into c->path
 * once the line (or HTTPD_LINE_MAX bytes of it) is there, or with PARTIAL
 * whatever of it came.
 */
static void
httpd_take_path(struct httpd_conn *c, int partial)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);
	char		 line[HTTPD_LINE_MAX], *p, *e;
	size_t		 len, skip = 0;
	ssize_t		 n;

	n = evbuffer_copyout(in, line, sizeof line - 1);
	if (n <= 0)
		return;
	len = (size_t)n;
	while (skip < len && (line[skip] == '\r' || line[skip] == '\n'))
		skip++;
	line[len] = '\0';
	if ((e = strpbrk(line + skip, "\r\n")) == NULL &&
	    len < sizeof line - 1 && !partial)
		return;		/* the line is not all there yet */
	if (e != NULL)
		*e = '\0';
	c->have_path = 1;
	c->path[0] = '\0';
	if ((p = strchr(line + skip, ' ')) == NULL)
		return;
	p++;
	p[strcspn(p, " ?#")] = '\0';
	snprintf(c->path, sizeof c->path, "%s", p);
}

/*
 * Output added while no route has the request: libevent answers it itself
 * (413, 400).  The status line is the first thing added to an empty
 * buffer; one of 400 or more is a refusal.
 */
static void
httpd_output(struct evbuffer *b, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct httpd_conn	*c = arg;
	char			 head[16];
	int			 status;

	if (info->n_added == 0 || info->orig_size != 0 || c->answered ||
	    c->state != HTTPD_CONN_READING)
		return;
	memset(head, 0, sizeof head);
	if (evbuffer_copyout(b, head, sizeof head - 1) < 12 ||
	    strncmp(head, "HTTP/1.", 7) != 0)
		return;
	status = atoi(head + 9);
	if (status < 400)
		return;		/* 100 Continue */
	c->answered = 1;
	httpd_refusal_headers(b);
	httpd_listener_refused(c, status);
}

/*
 * The security headers into the refusal at the head of B, after its
 * status line: the line is taken out and put back in front of them, so
 * that whatever libevent added after it (or adds next) follows.
 */
static void
httpd_refusal_headers(struct evbuffer *b)
{
	struct evbuffer_ptr	 eol;
	char			 line[HTTPD_LINE_MAX];
	size_t			 len;

	eol = evbuffer_search_eol(b, NULL, NULL, EVBUFFER_EOL_CRLF_STRICT);
	if (eol.pos < 0 || (size_t)eol.pos + 2 > sizeof line)
		return;
	len = (size_t)eol.pos + 2;
	/* The bufferevent keeps its output's start frozen (only it drains). */
	evbuffer_unfreeze(b, 1);
	if (evbuffer_remove(b, line, len) != (int)len)
		fatalx("httpd_refusal_headers: evbuffer_remove failed");
	if (evbuffer_prepend(b, HTTPD_SECURITY_HEADERS,
	    sizeof HTTPD_SECURITY_HEADERS - 1) != 0 ||
	    evbuffer_prepend(b, line, len) != 0)
		fatalx("httpd_refusal_headers: evbuffer_prepend failed");
	evbuffer_freeze(b, 1);
}

/* libevent answered C's request STATUS: count it, tell its route (or log
 * it, a line a second at most). */
static void
httpd_listener_refused(struct httpd_conn *c, int status)
{
	struct httpd			*h = c->h;
	const struct httpd_route	*r = NULL;
	const char			*rest = "", *reason;
	u_int				 n;

	reason = status == 413 ? "body over --http-max-body" :
	    "bad request (malformed, or headers over their limit)";
	metrics_count(METRICS_HTTP_REFUSED, status == 413 ? "too_large" :
	    "bad_request", 1);
	if (c->have_path && c->path[0] == '/')
		r = httpd_find(h, c->path, &rest);
	if (r != NULL && r->refused != NULL) {
		r->refused(rest, status, reason, httpd_peer(c),
		    r->refused_arg);
		return;
	}
	if (httpd_ratelog(&h->log_listener, &n))
		log_warnx("msg=\"http request refused\" status=%d "
		    "reason=\"%s\" path=\"%s\" address=%s refused=%u", status,
		    reason, c->have_path ? log_escape(c->path) : "",
		    httpd_peer(c), n);
}

/* C's answer is written; a kept-alive connection reads its next request
 * under a new deadline. */
static void
httpd_served(struct evhttp_request *req, void *arg)
{
	struct httpd_conn	*c = arg;

	c->state = HTTPD_CONN_READING;
	c->answered = 0;
	c->have_path = 0;
	c->since_us = mono_us();
	httpd_conn_arm(c, (int64_t)c->h->limits.timeout_s * 1000);
	httpd_take_path(c, 0);
}

/* evhttp frees C's connection (the peer left, a deadline, a refusal, or
 * the listener closing): forget it, and tell a stream's route. */
static void
httpd_closed(struct evhttp_connection *evcon, void *arg)
{
	struct httpd_conn	*c = arg;
	struct httpd_stream	*st = c->stream;

	if (st != NULL) {
		c->stream = NULL;
		st->closed(st->arg);
		/* A peer that went away in the middle of the stream: libevent
		 * took the request off the connection and leaves it to us;
		 * ending the reply frees it.  Otherwise the connection frees
		 * it with itself. */
		if (evhttp_request_get_connection(st->req) == NULL)
			evhttp_send_reply_end(st->req);
		free(st);
	}

	TAILQ_REMOVE(&c->h->conns, c, entry);
	if (c->counted)
		c->h->nconns--;
	if (c->refusing)
		c->h->nrefusing--;
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
	event_free(c->deadline);
	free(c);
}

/* Free C, taken off the adopt list: evhttp dropped its connection before
 * it was adopted, or the listener is gone.  Drops the reference taken at
 * accept. */
static void
httpd_conn_free(struct httpd_conn *c)
{
	evbuffer_remove_cb_entry(bufferevent_get_input(c->bev), c->in_cb);
	evbuffer_remove_cb_entry(bufferevent_get_output(c->bev), c->out_cb);
	bufferevent_decref(c->bev);
	event_free(c->deadline);
	free(c);
}

/* 1 if a line may be logged now for L, with *N refusals since the last
 * one (this one included); 0 and counted otherwise. */
static int
httpd_ratelog(struct httpd_ratelog *l, u_int *n)
{
	int64_t	now = mono_us();

	l->since++;
	if (l->last_us != 0 && now - l->last_us < HTTPD_LOG_US)
		return (0);
	*n = l->since;
	l->since = 0;
	l->last_us = now;
	return (1);
}

/* C's peer address (borrowed from libevent), "?" if unknown. */
static const char *
httpd_peer(struct httpd_conn *c)
{
	char		*addr = NULL;
	ev_uint16_t	 port = 0;

	if (c->evcon != NULL)
		evhttp_connection_get_peer(c->evcon, &addr, &port);
	return (addr != NULL ? addr : "?");
}

/* Connections counted now (for tests and status). */
size_t
httpd_connections(void)
{
	return (httpd_current != NULL ? httpd_current->nconns : 0);
}

/*
 * What the daemon adds to readiness (its journal): 1, or 0 and *REASON.
 * Also called at each heartbeat, so that it may sample what it watches.
 */
void
httpd_set_ready_hook(int (*hook)(const char **))
{
	httpd_ready_hook = hook;
}

/*
 * 1 when the daemon is ready for work; else 0 and *REASON: draining, what
 * the ready hook says, or a loop whose heartbeat is older than
 * HTTPD_READY_STALE_US.
 */
int
httpd_ready(const char **reason)
{
	struct httpd	*h = httpd_current;

	if (engine != NULL && engine->draining) {
		*reason = "draining";
		return (0);
	}
	if (httpd_ready_hook != NULL && !httpd_ready_hook(reason))
		return (0);
	if (h != NULL && mono_us() - h->beat_us > HTTPD_READY_STALE_US) {
		*reason = "event loop unresponsive";
		return (0);
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
