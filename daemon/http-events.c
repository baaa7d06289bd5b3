/*
 * daemon/http-events.c: GET /v1/events, the journal followed live over
 * HTTP as Server-Sent Events, by the machinery of events.watch
 * (method-events.c) with a sink of its own.  The caller is a token
 * (http-rpc.c: 401 and 429 as for /v1/rpc), and sees what it would see
 * with events.watch: its account's records, or every record for an admin
 * token.  Query: kinds (comma-separated patterns), account, from_seq; a
 * Last-Event-ID header (the last event a reconnecting client had) starts
 * after that seq instead.
 *
 * The stream: an event "start" with events.watch's answer, then one event
 * "event" per record, its id the seq and its data the export object, a
 * comment line every SSE_KEEPALIVE_US when nothing else is sent (a dead
 * client is found at the next write), and at the end an event "end" with
 * events.end's params (resume_from, reason).  A client that does not read
 * is paused at SSE_BUFFER unread bytes and ended after the watch's stall
 * limit, as on the socket.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"

#define SSE_BUFFER		CTL_STREAM_OUTPUT
#define SSE_KEEPALIVE_US	(15 * USEC_PER_SEC)

/* One client's stream. */
struct sse {
	struct httpd_stream	*st;
	struct watcher		*w;
	struct event		*keepalive;
	int			 sent;		/* since the last keepalive */
};

static void	sse_http(struct evhttp_request *, const char *, void *);
static int	sse_room(void *);
static void	sse_event(void *, const struct watch_rendered *);
static size_t	sse_unread(void *);
static void	sse_end(void *, json_t *);
static void	sse_drained(void *);
static void	sse_closed(void *);
static void	sse_keepalive(evutil_socket_t, short, void *);
static void	sse_write(struct sse *, const char *, const char *,
		    const char *, size_t);

static const struct watch_sink_ops sse_ops = {
	.room = sse_room,
	.event = sse_event,
	.unread = sse_unread,
	.end = sse_end,
};

int
sse_route(struct httpd *h, char **cause)
{
	return (httpd_route(h, "/v1/events", HTTPD_GET, sse_http, NULL,
	    cause));
}

/* A JSON error body with STATUS. */
static void
sse_refuse(struct evhttp_request *req, int status, json_t *error)
{
	char	*s = json_dumps(error, JSON_COMPACT);

	json_decref(error);
	if (s == NULL)
		fatalx("sse_refuse: json_dumps failed");
	httpd_reply(req, status, "application/json", s, strlen(s));
	free(s);
}

/* The HTTP status of a JSON-RPC error code. */
static int
sse_status(int code)
{
	switch (code) {
	case CTL_E_INVALID_PARAMS:
		return (400);
	case CTL_E_FORBIDDEN:
		return (403);
	case CTL_E_NOT_FOUND:
		return (404);
	case CTL_E_OVERLOADED:
	case CTL_E_UNAVAILABLE:
		return (503);
	}
	return (500);
}

/* The query's kinds, comma-separated, as events.watch's array. */
static json_t *
sse_kinds(const char *s)
{
	json_t		*a = json_array();
	const char	*p, *e;

	for (p = s; *p != '\0'; p = *e != '\0' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		if (e > p)
			json_array_append_new(a, json_stringn(p, e - p));
	}
	return (a);
}

/* A decimal seq of at least 0 (-1: not one). */
static int64_t
sse_number(const char *s)
{
	long long	 v;
	char		*end;

	if (s == NULL || *s < '0' || *s > '9')
		return (-1);
	v = strtoll(s, &end, 10);
	return (*end == '\0' && v >= 0 ? v : -1);
}

static void
sse_http(struct evhttp_request *req, const char *rest, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	struct evkeyvalq	 q;
	struct caller		 caller;
	struct account		*a = NULL;
	struct sse		*sse;
	struct watcher		*w;
	const char		*account, *kinds, *last;
	json_t			*list = NULL, *result, *error;
	int64_t			 from = 0;
	char			*s;
	int			 code;

	if (rpc_caller(req, &caller, 0) != 0)
		return;
	TAILQ_INIT(&q);
	if (uri != NULL && evhttp_uri_get_query(uri) != NULL &&
	    evhttp_parse_query_str(evhttp_uri_get_query(uri), &q) != 0) {
		evhttp_clear_headers(&q);
		sse_refuse(req, 400, ctl_error_object(CTL_E_INVALID_PARAMS,
		    "invalid params", "query", "not a query string"));
		return;
	}
	account = evhttp_find_header(&q, "account");
	kinds = evhttp_find_header(&q, "kinds");
	last = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Last-Event-ID");
	error = NULL;
	if (last != NULL) {
		if ((from = sse_number(last)) < 0)
			error = ctl_error_object(CTL_E_INVALID_PARAMS,
			    "invalid params", "Last-Event-ID", "not a seq");
		else
			from++;
	} else if (evhttp_find_header(&q, "from_seq") != NULL &&
	    (from = sse_number(evhttp_find_header(&q, "from_seq"))) < 1)
		error = ctl_error_object(CTL_E_INVALID_PARAMS,
		    "invalid params", "from_seq", "not a seq from 1");
	if (error == NULL && account != NULL && ((a = account_find(account)) ==
	    NULL || !account_allows(a, &caller)))
		error = ctl_error_object(a == NULL ? CTL_E_NOT_FOUND :
		    CTL_E_FORBIDDEN, a == NULL ? "no such account" :
		    "not allowed to act for this account", "account",
		    a == NULL ? "unknown account" : "forbidden");
	if (error == NULL && kinds != NULL)
		list = sse_kinds(kinds);
	if (error == NULL)	/* sets error when it refuses */
		events_watch_open(&caller, account, list, from, &w, &result,
		    &error);
	json_decref(list);
	evhttp_clear_headers(&q);
	if (error != NULL) {
		code = (int)json_integer_value(json_object_get(error, "code"));
		sse_refuse(req, sse_status(code), error);
		return;
	}
	sse = xcalloc(1, sizeof *sse);
	sse->w = w;
	sse->st = httpd_stream_start(req, "text/event-stream", sse_drained,
	    sse_closed, sse);
	if (sse->st == NULL) {
		json_decref(result);
		free(sse);
		events_watch_start(w, &sse_ops, NULL);
		httpd_reply(req, 500, NULL, "cannot stream\n", 14);
		return;
	}
	sse->keepalive = event_new(engine->base, -1, EV_PERSIST,
	    sse_keepalive, sse);
	if (sse->keepalive == NULL)
		fatalx("sse: event_new failed");
	timeout_add_us(sse->keepalive, SSE_KEEPALIVE_US);
	s = json_dumps(result, JSON_COMPACT);
	json_decref(result);
	if (s == NULL)
		fatalx("sse: json_dumps failed");
	sse_write(sse, "start", NULL, s, strlen(s));
	free(s);
	events_watch_start(w, &sse_ops, sse);
}

/* One SSE event: EVENT, ID (or NULL), DATA (LEN bytes, one line). */
static void
sse_write(struct sse *sse, const char *event, const char *id,
    const char *data, size_t len)
{
	char	*text;
	int	 n;

	/* one chunk an event */
	n = id != NULL ? xasprintf(&text, "id: %s\nevent: %s\ndata: %.*s\n\n",
	    id, event, (int)len, data) : xasprintf(&text, "event: %s\ndata: "
	    "%.*s\n\n", event, (int)len, data);
	httpd_stream_write(sse->st, text, (size_t)n);
	free(text);
	sse->sent = 1;
}

static int
sse_room(void *arg)
{
	struct sse	*sse = arg;

	return (httpd_stream_unread(sse->st) < SSE_BUFFER);
}

static void
sse_event(void *arg, const struct watch_rendered *r)
{
	struct sse	*sse = arg;
	size_t		 head = strlen(WATCH_LINE_HEAD);
	char		 id[24];

	snprintf(id, sizeof id, "%llu", (unsigned long long)r->seq);
	sse_write(sse, "event", id, r->line + head, r->len - head - 1);
}

static size_t
sse_unread(void *arg)
{
	struct sse	*sse = arg;

	return (httpd_stream_unread(sse->st));
}

/* The watch ends: its last words, then the end of the answer. */
static void
sse_end(void *arg, json_t *params)
{
	struct sse	*sse = arg;
	char		*s = json_dumps(params, JSON_COMPACT);

	json_decref(params);
	if (s == NULL)
		fatalx("sse_end: json_dumps failed");
	sse_write(sse, "end", NULL, s, strlen(s));
	free(s);
	httpd_stream_end(sse->st);
	event_free(sse->keepalive);
	free(sse);
}

/* The client read what was queued: the watch may go on. */
static void
sse_drained(void *arg)
{
	struct sse	*sse = arg;

	events_watch_writable(sse->w);
}

/* The client went: the watch ends with it. */
static void
sse_closed(void *arg)
{
	struct sse	*sse = arg;

	events_watch_closed(sse->w);
	event_free(sse->keepalive);
	free(sse);
}

/* Nothing sent for a while: a comment line, so that a client (and a
 * proxy) sees the stream is alive, and a dead client is found. */
static void
sse_keepalive(evutil_socket_t fd, short events, void *arg)
{
	struct sse	*sse = arg;

	if (!sse->sent)
		httpd_stream_write(sse->st, ": keepalive\n\n", 13);
	sse->sent = 0;
}
