/*
 * daemon/http-session.c: the dashboard's sessions.  A browser signs in
 * with a token in the body of POST /v1/session (never in a URL) and gets
 * a cookie holding a random session id (HttpOnly, SameSite=Strict,
 * Path=/; Secure when a proxy says the request came over TLS); the
 * cookie then stands for the token on /v1/rpc (with the CSRF header,
 * http-rpc.c) and /v1/events.  GET /v1/session says who is signed in,
 * DELETE /v1/session signs out.
 *
 * The table is in memory only (a restart signs everyone out): at most
 * SESSION_MAX sessions, SESSION_PER_TOKEN a token (one more ends the
 * token's oldest).  A session ends SESSION_IDLE_US after its last use and
 * SESSION_LIFE_US after it began, whichever comes first, and with its
 * token: each use authenticates the token again by its id, so a revoked
 * or expired token, or a deleted account, ends it at once.  Only the
 * SHA-256 of a session id is kept, as for tokens.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <openssl/rand.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"

#define SESSION_MAX		4096
#define SESSION_PER_TOKEN	16
#define SESSION_IDLE_US		(2LL * 3600 * USEC_PER_SEC)
#define SESSION_LIFE_US		(12LL * 3600 * USEC_PER_SEC)
#define SESSION_ID_BYTES	32		/* 64 hexadecimal digits */
#define SESSION_BODY_MAX	4096		/* of a sign-in */
#define SESSION_OF(n)		((struct session *)(n))

struct session {
	struct strmap_node	 node;		/* first: by hash */
	char			 hash[65];	/* SHA-256 of the id */
	char			 token[24];	/* the token's id */
	int64_t			 created_us;
	int64_t			 used_us;
	TAILQ_ENTRY(session)	 entry;		/* oldest first */
};
TAILQ_HEAD(sessions, session);

static struct strmap	session_map;
static struct sessions	session_list =
    TAILQ_HEAD_INITIALIZER(session_list);

static void	session_http(struct evhttp_request *, const char *, void *);
static void	session_end(struct session *);

int
session_route(struct httpd *h, char **cause)
{
	strmap_init(&session_map);
	return (httpd_route(h, "/v1/session", HTTPD_GET | HTTPD_POST |
	    HTTPD_DELETE, session_http, NULL, cause));
}

static void
session_end(struct session *s)
{
	strmap_remove(&session_map, &s->node);
	TAILQ_REMOVE(&session_list, s, entry);
	free(s);
}

void
session_free_all(void)
{
	struct session	*s;

	while ((s = TAILQ_FIRST(&session_list)) != NULL)
		session_end(s);
	strmap_clear(&session_map);
}

static int
session_expired(const struct session *s, int64_t now)
{
	return (now - s->used_us >= SESSION_IDLE_US ||
	    now - s->created_us >= SESSION_LIFE_US);
}

/* End every expired session. */
static void
session_sweep(int64_t now)
{
	struct session	*s, *next;

	for (s = TAILQ_FIRST(&session_list); s != NULL; s = next) {
		next = TAILQ_NEXT(s, entry);
		if (session_expired(s, now))
			session_end(s);
	}
}

const char *
session_cookie(struct evhttp_request *req)
{
	static char	 id[SESSION_ID_BYTES * 2 + 1];
	const char	*h, *p, *v;
	size_t		 n, len = strlen(SESSION_COOKIE);

	h = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Cookie");
	for (p = h; p != NULL && *p != '\0'; p += n) {
		p += strspn(p, " ;");
		n = strcspn(p, ";");
		if (n <= len || strncmp(p, SESSION_COOKIE, len) != 0 ||
		    p[len] != '=')
			continue;
		v = p + len + 1;
		if (n - len - 1 != sizeof id - 1)
			return ("");	/* a cookie, but no id of ours */
		memcpy(id, v, sizeof id - 1);
		id[sizeof id - 1] = '\0';
		return (id);
	}
	return (NULL);
}

int
session_csrf_ok(struct evhttp_request *req)
{
	const char	*v;

	v = evhttp_find_header(evhttp_request_get_input_headers(req),
	    SESSION_CSRF_HEADER);
	return (v != NULL && strcmp(v, "1") == 0);
}

/* The live session of REQ's cookie, or NULL (*WHY says why). */
static struct session *
session_find(struct evhttp_request *req, const char **why)
{
	struct session	*s;
	const char	*id;
	char		 hash[65];
	int64_t		 now = now_us();

	*why = "missing";
	if ((id = session_cookie(req)) == NULL)
		return (NULL);
	*why = "session_unknown";
	if (strlen(id) != SESSION_ID_BYTES * 2)
		return (NULL);
	secret_fingerprint((const unsigned char *)id, strlen(id), hash);
	if ((s = SESSION_OF(strmap_find(&session_map, hash))) == NULL)
		return (NULL);
	if (session_expired(s, now)) {
		session_end(s);
		*why = "session_expired";
		return (NULL);
	}
	return (s);
}

int
session_caller(struct evhttp_request *req, struct caller *caller,
    const char **why)
{
	struct session	*s;

	if ((s = session_find(req, why)) == NULL)
		return (-1);
	if (token_authenticate_id(s->token, caller, why) != 0) {
		*why = strcmp(*why, "account gone") == 0 ? "account_gone" :
		    strcmp(*why, "unknown") == 0 ? "revoked" : *why;
		session_end(s);
		return (-1);
	}
	s->used_us = now_us();
	return (0);
}

/* Make room for a session of TOKEN: end its oldest past
 * SESSION_PER_TOKEN, expired ones when full.  0, or -1 when full. */
static int
session_room(const char *token, int64_t now)
{
	struct session	*s, *oldest = NULL;
	int		 n = 0;

	TAILQ_FOREACH(s, &session_list, entry) {
		if (strcmp(s->token, token) != 0)
			continue;
		if (oldest == NULL)
			oldest = s;
		n++;
	}
	if (n >= SESSION_PER_TOKEN)
		session_end(oldest);
	if (session_map.count >= SESSION_MAX)
		session_sweep(now);
	return (session_map.count >= SESSION_MAX ? -1 : 0);
}

/* A new session for CALLER's token: its id into ID (64 hex digits). */
static struct session *
session_create(const struct caller *caller, char id[65])
{
	struct session	*s;
	unsigned char	 raw[SESSION_ID_BYTES];
	int64_t		 now = now_us();
	size_t		 i;

	if (session_room(caller->token, now) == -1)
		return (NULL);
	if (RAND_bytes(raw, sizeof raw) != 1)
		fatalx("session_create: RAND_bytes failed");
	for (i = 0; i < sizeof raw; i++)
		snprintf(id + 2 * i, 3, "%02x", raw[i]);
	s = xcalloc(1, sizeof *s);
	secret_fingerprint((const unsigned char *)id, strlen(id), s->hash);
	snprintf(s->token, sizeof s->token, "%s", caller->token);
	s->created_us = s->used_us = now;
	if (strmap_insert(&session_map, &s->node, s->hash) == -1)
		fatalx("session_create: a session id twice");
	TAILQ_INSERT_TAIL(&session_list, s, entry);
	return (s);
}

/* Set-Cookie for ID (NULL: the cookie's removal). */
static void
session_set_cookie(struct evhttp_request *req, const char *id)
{
	const char	*proto;
	char		 v[256];
	int		 secure;

	proto = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "X-Forwarded-Proto");
	secure = proto != NULL && strcasecmp(proto, "https") == 0;
	snprintf(v, sizeof v, "%s=%s; Path=/; HttpOnly; SameSite=Strict; "
	    "Max-Age=%lld%s", SESSION_COOKIE, id != NULL ? id : "",
	    id != NULL ? (long long)(SESSION_LIFE_US / USEC_PER_SEC) : 0LL,
	    secure ? "; Secure" : "");
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Set-Cookie", v);
}

/* Answer CODE with the JSON J (stolen). */
static void
session_reply(struct evhttp_request *req, int code, json_t *j)
{
	char	*text;

	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	if ((text = json_dumps(j, JSON_COMPACT)) == NULL)
		fatalx("session_reply: json_dumps failed");
	json_decref(j);
	httpd_reply(req, code, "application/json", text, strlen(text));
	free(text);
}

static void
session_refuse(struct evhttp_request *req, int code, const char *error,
    const char *reason)
{
	session_reply(req, code, json_pack("{s:s, s:s}", "error", error,
	    "reason", reason));
}

/* Who session S of CALLER is: never the token's secret. */
static json_t *
session_json(const struct session *s, const struct caller *caller)
{
	char	a[40], b[40];
	int64_t	end;

	end = s->created_us + SESSION_LIFE_US;
	if (s->used_us + SESSION_IDLE_US < end)
		end = s->used_us + SESSION_IDLE_US;
	return (json_pack("{s:s?, s:b, s:s, s:s, s:s, s:s}", "account",
	    caller->admin ? NULL : caller->account, "admin", caller->admin,
	    "token", caller->token, "scope", caller->readonly ? "read" :
	    "write", "expires_at", fmt_rfc3339(s->created_us +
	    SESSION_LIFE_US, a, sizeof a), "idle_expires_at",
	    fmt_rfc3339(end, b, sizeof b)));
}

/* The token of a sign-in's body {"token": SECRET}, or NULL (*WHY). */
static char *
session_body_token(struct evhttp_request *req, const char **why)
{
	struct evbuffer	*in = evhttp_request_get_input_buffer(req);
	json_t		*j, *t;
	json_error_t	 err;
	size_t		 len = evbuffer_get_length(in);
	char		*secret;

	*why = "the body must be {\"token\": \"chime_...\"}";
	if (len == 0 || len > SESSION_BODY_MAX)
		return (NULL);
	j = json_loadb((const char *)evbuffer_pullup(in, -1), len, 0, &err);
	if (j == NULL || !json_is_object(j) || json_object_size(j) != 1 ||
	    (t = json_object_get(j, "token")) == NULL || !json_is_string(t)) {
		json_decref(j);
		return (NULL);
	}
	secret = xstrdup(json_string_value(t));
	json_decref(j);
	return (secret);
}

/* POST /v1/session: sign in with the token of the body. */
static void
session_post(struct evhttp_request *req)
{
	struct caller	 caller;
	struct session	*s, *old;
	const char	*why;
	char		*secret, id[SESSION_ID_BYTES * 2 + 1];
	int		 rc;

	if ((secret = session_body_token(req, &why)) == NULL) {
		session_refuse(req, 400, "bad request", why);
		return;
	}
	rc = rpc_token_caller(req, secret, &caller);
	explicit_bzero(secret, strlen(secret));
	free(secret);
	if (rc != 0)
		return;		/* answered */
	if ((old = session_find(req, &why)) != NULL)
		session_end(old);
	if ((s = session_create(&caller, id)) == NULL) {
		session_refuse(req, 503, "unavailable", "too many sessions");
		return;
	}
	log_info("msg=\"dashboard session begins\" token=%s address=%s",
	    caller.token, rpc_peer(req));
	session_set_cookie(req, id);
	explicit_bzero(id, sizeof id);
	session_reply(req, 200, session_json(s, &caller));
}

static void
session_get(struct evhttp_request *req)
{
	struct caller	 caller;
	struct session	*s;
	const char	*why;

	if (session_caller(req, &caller, &why) != 0) {
		if (strcmp(why, "missing") != 0)
			session_set_cookie(req, NULL);
		session_refuse(req, 401, "unauthorized", why);
		return;
	}
	s = session_find(req, &why);
	session_reply(req, 200, session_json(s, &caller));
}

static void
session_delete(struct evhttp_request *req)
{
	struct session	*s;
	const char	*why;

	if ((s = session_find(req, &why)) != NULL) {
		log_info("msg=\"dashboard session ends\" token=%s", s->token);
		session_end(s);
	}
	session_set_cookie(req, NULL);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	evhttp_send_reply(req, 204, NULL, NULL);
}

/* /v1/session: a sign-in and a sign-out need the CSRF header too (no
 * other origin may sign a browser in or out). */
static void
session_http(struct evhttp_request *req, const char *rest, void *arg)
{
	int	cmd = evhttp_request_get_command(req);

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD &&
	    !session_csrf_ok(req)) {
		httpd_reply(req, 403, "application/json", SESSION_CSRF_REFUSED,
		    strlen(SESSION_CSRF_REFUSED));
		return;
	}
	switch (cmd) {
	case EVHTTP_REQ_POST:
		session_post(req);
		break;
	case EVHTTP_REQ_DELETE:
		session_delete(req);
		break;
	default:
		session_get(req);
		break;
	}
}
