/*
 * daemon/http-rpc.c: the control API over HTTP, and who calls it.  POST
 * /v1/rpc takes one
 * JSON-RPC 2.0 request, as a line on the control socket does, from a
 * caller known by its token (Authorization: Bearer SECRET, token.create),
 * and hands it to ctl_call: the same methods, parameter checks, errors
 * and handlers as the socket, with the token's account and scope in place
 * of a uid.  The answer is the JSON-RPC response (200, errors included),
 * or 204 for a notification.
 *
 * A request without a token, or with one that is malformed, unknown,
 * revoked or expired, gets 401 with WWW-Authenticate, and counts against
 * its source address: past RPC_FAIL_MAX of them in RPC_FAIL_WINDOW_US,
 * the address gets 429 (Retry-After) until the window has passed, good
 * token or not.  Failures are counted in chime_http_auth_failures_total
 * by reason; the secret itself is never logged.
 *
 * A browser signed in to the dashboard (http-session.c) calls with its
 * session cookie instead of the header; such a request must also carry
 * the header X-Chime-CSRF (which a page of another origin cannot send
 * without a CORS preflight that is never granted), else 403.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"

#define RPC_FAIL_MAX		10
#define RPC_FAIL_WINDOW_US	(60 * USEC_PER_SEC)
#define RPC_FAIL_ADDRESSES	4096	/* source addresses remembered */
#define RPC_AUTH_FAILURES	"chime_http_auth_failures_total"
#define RPC_REQUESTS		"chime_http_rpc_requests_total"

/* Failed authentications of one source address in the current window. */
struct rpc_fails {
	struct strmap_node	 node;	/* first */
	char			*address;
	int64_t			 since_us;
	int			 count;
};

static struct strmap	rpc_fails;

static void	rpc_http(struct evhttp_request *, const char *, void *);
static void	rpc_answer(json_t *, void *);

int
rpc_route(struct httpd *h, char **cause)
{
	static const char *const reason[] = { "reason" };
	static const char *const outcome[] = { "outcome" };

	strmap_init(&rpc_fails);
	if (metrics_counter(RPC_AUTH_FAILURES, "HTTP API requests refused "
	    "for their token, by reason (missing, malformed, unknown, "
	    "expired, account_gone, limited).", reason, 1, cause) == -1 ||
	    metrics_counter(RPC_REQUESTS, "HTTP API requests with a good "
	    "token, by outcome (answered, notification).", outcome, 1,
	    cause) == -1)
		return (-1);
	if (httpd_route(h, "/v1/rpc", HTTPD_POST, rpc_http, NULL, cause) == -1)
		return (-1);
	if (session_route(h, cause) == -1)
		return (-1);
	return (sse_route(h, cause));
}

static void
rpc_fails_free_node(struct strmap_node *n, void *arg)
{
	struct rpc_fails	*f = (struct rpc_fails *)n;

	free(f->address);
	free(f);
}

void
rpc_free(void)
{
	strmap_foreach(&rpc_fails, rpc_fails_free_node, NULL);
	strmap_clear(&rpc_fails);
}

/* Forget the windows that have passed (when the table is full). */
static void
rpc_fails_expire(int64_t now)
{
	struct strmap_node	*n, *next;
	struct rpc_fails	*f;
	size_t			 b;

	for (b = 0; b < rpc_fails.nbuckets; b++) {
		for (n = rpc_fails.buckets[b]; n != NULL; n = next) {
			next = n->next;
			f = (struct rpc_fails *)n;
			if (now - f->since_us >= RPC_FAIL_WINDOW_US) {
				strmap_remove(&rpc_fails, n);
				rpc_fails_free_node(n, NULL);
			}
		}
	}
}

/* ADDRESS's failures in the window now (NULL: none; CREATE: a new one). */
static struct rpc_fails *
rpc_fails_of(const char *address, int create)
{
	struct rpc_fails	*f;
	int64_t			 now = now_us();

	f = (struct rpc_fails *)strmap_find(&rpc_fails, address);
	if (f != NULL && now - f->since_us >= RPC_FAIL_WINDOW_US) {
		f->since_us = now;
		f->count = 0;
	}
	if (f != NULL || !create)
		return (f);
	if (rpc_fails.count >= RPC_FAIL_ADDRESSES)
		rpc_fails_expire(now);
	if (rpc_fails.count >= RPC_FAIL_ADDRESSES)
		return (NULL);	/* remembered addresses at their bound */
	f = xcalloc(1, sizeof *f);
	f->address = xstrdup(address);
	f->since_us = now;
	strmap_insert(&rpc_fails, &f->node, f->address);
	return (f);
}

/* Seconds until ADDRESS's window ends if it is past its failures, else 0. */
static int64_t
rpc_limited(const char *address)
{
	struct rpc_fails	*f = rpc_fails_of(address, 0);

	if (f == NULL || f->count < RPC_FAIL_MAX)
		return (0);
	return ((f->since_us + RPC_FAIL_WINDOW_US - now_us()) /
	    USEC_PER_SEC + 1);
}

/* 401, or 429 past the failures allowed; counted and logged. */
static void
rpc_unauthorized(struct evhttp_request *req, const char *address,
    const char *why)
{
	struct evkeyvalq	*out = evhttp_request_get_output_headers(req);
	struct rpc_fails	*f;
	const char		*label[1];
	char			 body[160];

	if ((f = rpc_fails_of(address, 1)) != NULL)
		f->count++;
	label[0] = why;
	metrics_count_labels(RPC_AUTH_FAILURES, label, 1);
	log_info("msg=\"http api: token refused\" address=%s reason=%s",
	    address, why);
	evhttp_add_header(out, "WWW-Authenticate", strcmp(why, "missing") == 0 ?
	    "Bearer realm=\"chime\"" : "Bearer realm=\"chime\", "
	    "error=\"invalid_token\"");
	snprintf(body, sizeof body, "{\"error\":\"unauthorized\",\"reason\":"
	    "\"%s\"}", why);
	httpd_reply(req, 401, "application/json", body, strlen(body));
}

/* The secret of an "Authorization: Bearer SECRET" header, or NULL. */
static const char *
rpc_bearer(struct evhttp_request *req)
{
	const char	*h;

	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return (NULL);
	h += 7;
	while (*h == ' ')
		h++;
	return (*h != '\0' ? h : NULL);
}

/* REQ's peer address (borrowed from libevent), "?" if unknown. */
const char *
rpc_peer(struct evhttp_request *req)
{
	struct evhttp_connection	*conn;
	char				*addr = NULL;
	ev_uint16_t			 port = 0;

	if ((conn = evhttp_request_get_connection(req)) != NULL)
		evhttp_connection_get_peer(conn, &addr, &port);
	return (addr != NULL ? addr : "?");
}

/* 429 when REQ's address is past its failures: 1 (answered), else 0. */
static int
rpc_check_limited(struct evhttp_request *req, const char *addr)
{
	const char	*label[1];
	char		 retry[24];
	int64_t		 wait;

	if ((wait = rpc_limited(addr)) <= 0)
		return (0);
	label[0] = "limited";
	metrics_count_labels(RPC_AUTH_FAILURES, label, 1);
	snprintf(retry, sizeof retry, "%lld", (long long)wait);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Retry-After", retry);
	httpd_reply(req, 429, "application/json",
	    "{\"error\":\"too many failed attempts\"}", 36);
	return (1);
}

int
rpc_token_caller(struct evhttp_request *req, const char *secret,
    struct caller *caller)
{
	const char	*addr = rpc_peer(req), *why;

	if (rpc_check_limited(req, addr))
		return (-1);
	if (secret == NULL) {
		rpc_unauthorized(req, addr, "missing");
		return (-1);
	}
	if (token_authenticate(secret, caller, &why) != 0) {
		rpc_unauthorized(req, addr, strcmp(why, "account gone") == 0 ?
		    "account_gone" : why);
		return (-1);
	}
	return (0);
}

/*
 * A caller by the dashboard's session cookie (no Authorization header):
 * with FLAGS RPC_CSRF the request must carry the CSRF header too (403
 * without).  0 and *CALLER; -1, REQ answered.
 */
static int
rpc_session_caller(struct evhttp_request *req, struct caller *caller,
    int flags)
{
	const char	*addr = rpc_peer(req), *why;

	if (rpc_check_limited(req, addr))
		return (-1);
	if ((flags & RPC_CSRF) && !session_csrf_ok(req)) {
		httpd_reply(req, 403, "application/json", SESSION_CSRF_REFUSED,
		    strlen(SESSION_CSRF_REFUSED));
		return (-1);
	}
	if (session_caller(req, caller, &why) != 0) {
		rpc_unauthorized(req, addr, why);
		return (-1);
	}
	return (0);
}

int
rpc_caller(struct evhttp_request *req, struct caller *caller, int flags)
{
	if (rpc_bearer(req) == NULL && session_cookie(req) != NULL)
		return (rpc_session_caller(req, caller, flags));
	return (rpc_token_caller(req, rpc_bearer(req), caller));
}

static void
rpc_http(struct evhttp_request *req, const char *rest, void *arg)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	struct caller	 caller;
	json_t		*msg, *error;
	size_t		 len;

	if (rpc_caller(req, &caller, RPC_CSRF) != 0)
		return;
	len = evbuffer_get_length(in);
	msg = NULL;
	if (ctl_request_parse(len > 0 ? (const char *)evbuffer_pullup(in, -1) :
	    "", len, &msg, &error) == 1) {
		ctl_call(engine->ctl, &caller, msg, rpc_answer, req);
		ctl_server_release(engine->ctl, msg, len);
		return;
	}
	/* not a request: the parse or form error, answered as the socket
	   does (a blank body is no request at all) */
	json_decref(msg);
	if (error == NULL)
		error = ctl_error_object(CTL_E_INVALID_REQUEST,
		    "an empty request", NULL, NULL);
	rpc_answer(json_pack("{s:s,s:n,s:o}", "jsonrpc", "2.0", "id",
	    "error", error), req);
}

/* The response to the request (NULL: a notification, answered 204). */
static void
rpc_answer(json_t *response, void *arg)
{
	struct evhttp_request	*req = arg;
	const char		*label[1];
	char			*s;

	label[0] = response != NULL ? "answered" : "notification";
	metrics_count_labels(RPC_REQUESTS, label, 1);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	if (response == NULL) {
		evhttp_send_reply(req, 204, NULL, NULL);
		return;
	}
	s = json_dumps(response, JSON_COMPACT);
	json_decref(response);
	if (s == NULL)
		fatalx("rpc_answer: json_dumps failed");
	httpd_reply(req, 200, "application/json", s, strlen(s));
	free(s);
}
