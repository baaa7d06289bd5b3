/*
 * engine/http.c: the HTTP executor.  Each call is one attempt: a POST of
 * the request document (the same one the exec executor writes on stdin) to
 * the operation's URL, on one libcurl multi handle driven by the loop
 * (CURLMOPT_SOCKETFUNCTION and CURLMOPT_TIMERFUNCTION feed libevent events
 * that call curl_multi_socket_action).  Nothing here blocks or starts a
 * thread; retries and their delays are the caller's business.
 *
 * Requests carry Idempotency-Key: RUN_ID and, when the operation names a
 * secret, Standard Webhooks signature headers (sign.c).  Every connection
 * is opened by http_open_cb, which refuses addresses the filter of
 * addrfilter.c does not let through unless an allowed CIDR of the
 * configuration holds them.  http_executor is this executor's entry in the
 * table of executor.c.
 *
 * A job's callback runs exactly once, from an event of our own (never
 * inside http_start or http_abort); the job is freed right after it.
 *
 * New transfers join the multi handle at most HTTP_START_BURST per turn of
 * the loop: the first ones at once from http_start, started together
 * when the callback that made them returns (http_kick_cb), the rest from
 * a queue (http_start_cb), each slice started in the same call rather
 * than from libcurl's timer a turn later.  A commit that releases a
 * thousand starts does not hold the loop while libcurl opens a thousand
 * connections in one call, and the first requests are on their way
 * before the loop polls again.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "engine.h"

#define HTTP_DEFAULT_MS		60000
#define HTTP_ERROR_BODY		200	/* bytes of a body in an error */
#define HTTP_RETRY_AFTER_LEN	64
#define HTTP_START_BURST	32	/* transfers added per turn */

/* One socket libcurl asked us to watch; its event is made once and
 * assigned again when libcurl changes what it waits for. */
struct http_sock {
	LIST_ENTRY(http_sock)	 entry;
	curl_socket_t		 fd;
	int			 what;		/* CURL_POLL_* watched */
	struct event		*ev;
};
LIST_HEAD(http_socks, http_sock);

struct http_job {
	struct job		 job;		/* first: names http_executor */
	TAILQ_ENTRY(http_job)	 entry;
	TAILQ_ENTRY(http_job)	 wentry;	/* on http_waiting */
	int			 waiting;	/* not in the multi handle yet */
	CURL			*easy;
	struct curl_slist	*headers;
	char			*run_id;
	char			*operation;
	char			*where;		/* scheme://host:port/path */
	exec_done_cb		 cb;
	void			*arg;

	char			*body;		/* the request; freed at end */
	size_t			 body_len;

	char			*resp;
	size_t			 resp_len;
	size_t			 resp_size;
	size_t			 resp_max;
	int			 overflow;

	char			 retry_after[HTTP_RETRY_AFTER_LEN];
	char			 refused[INET6_ADDRSTRLEN + 32];
	char			 errbuf[CURL_ERROR_SIZE];

	int64_t			 deadline_ms;
	int			 plain;		/* http_post: any 2xx succeeds */
	int64_t			 start_us;	/* monotonic */
	int64_t			 end_us;
	int			 finished;	/* result made */
	struct exec_result	*result;
};
TAILQ_HEAD(http_jobs, http_job);

static struct event_base	*http_base;
static CURLM			*http_multi;
static struct event		*http_timer_ev;
static struct event		*http_done_ev;
static struct event		*http_start_ev;
static struct http_jobs		 http_waiting =
				    TAILQ_HEAD_INITIALIZER(http_waiting);
static struct http_jobs		 http_live = TAILQ_HEAD_INITIALIZER(http_live);
static struct http_jobs		 http_done = TAILQ_HEAD_INITIALIZER(http_done);
static struct http_socks	 http_socks = LIST_HEAD_INITIALIZER(http_socks);
static int			 http_nlive;
static int			 http_burst;	/* joined since http_start_cb */
static struct event		*http_kick_ev;
static int			 http_kick_armed;	/* http_kick_ev active */
static int			 http_curl_ready;
static struct cidr		*http_allow;
static size_t			 http_nallow;
static char			*http_last_url;	/* http_display_url */
static char			*http_last_where;

/* A transfer of another protocol on the same multi handle (smtp.c): its
 * CURLOPT_PRIVATE is one of these, told apart from an http_job by its
 * job's executor (NULL here). */
struct http_other {
	struct job		 job;		/* first; executor NULL */
	TAILQ_ENTRY(http_other)	 entry;
	CURL			*easy;
	CURLcode		 code;
	http_other_cb		 cb;
	void			*arg;
};
TAILQ_HEAD(http_others, http_other);
static struct http_others	 http_others_live =
				    TAILQ_HEAD_INITIALIZER(http_others_live);
static struct http_others	 http_others_done =
				    TAILQ_HEAD_INITIALIZER(http_others_done);

static int	 http_socket_cb(CURL *, curl_socket_t, int, void *, void *);
static int	 http_timer_cb(CURLM *, long, void *);
static void	 http_event_cb(evutil_socket_t, short, void *);
static void	 http_timeout_cb(evutil_socket_t, short, void *);
static void	 http_check_info(void);
static void	 http_done_cb(evutil_socket_t, short, void *);
static void	 http_start_cb(evutil_socket_t, short, void *);
static void	 http_launch(struct http_job *);
static int	 http_join(struct http_job *);
static void	 http_kick(void);
static void	 http_kick_cb(evutil_socket_t, short, void *);
static void	 http_start_soon(void);
static void	 http_other_done(struct http_other *, CURLcode);
static curl_socket_t http_open_cb(void *, curlsocktype,
		    struct curl_sockaddr *);
static size_t	 http_write_cb(char *, size_t, size_t, void *);
static size_t	 http_header_cb(char *, size_t, size_t, void *);
static int	 http_display_url(const char *, char **, char **);
static int	 http_parse_display(const char *, char **, char **);
static int	 http_printable(const char *);
static void	 http_add_header(struct http_job *, const char *, ...)
		    printflike(2, 3);
static int	 http_headers(struct http_job *, const struct operation *,
		    const struct exec_request *, int, char **);
static int	 http_sign_headers(struct http_job *, const char *,
		    const char *, int, char **);
static int	 http_easy(struct http_job *, const char *, int64_t, char **);
static void	 http_finish(struct http_job *, struct exec_result *);
static struct exec_result *http_result_new(struct http_job *);
static struct exec_result *http_make_result(struct http_job *, CURLcode);
static void	 http_result_status(struct http_job *, struct exec_result *,
		    long);
static void	 http_result_curl(struct http_job *, struct exec_result *,
		    CURLcode);
static void	 http_error(struct exec_result *, const char *, ...)
		    printflike(2, 3);
static char	*http_body_excerpt(struct http_job *);
static void	 http_job_free(struct http_job *);
static struct job *http_executor_start(const struct operation *,
		    const struct exec_request *, int, exec_done_cb, void *,
		    char **);
static void	 http_executor_abort(struct job *);

const struct executor http_executor = {
	.name = "http",
	.start = http_executor_start,
	.abort = http_executor_abort,
	.running = http_running,
};

/* ---- configuration ------------------------------------------------------ */

void
http_config_init(struct http_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
}

/* Add CIDR (e.g. "127.0.0.1/32", "fd00::/8") to the allowed addresses. */
int
http_config_allow(struct http_config *cfg, const char *cidr, char **cause)
{
	struct cidr	c;

	if (addrfilter_cidr_parse(cidr, &c, cause) != 0)
		return (-1);
	cfg->allow = xreallocarray(cfg->allow, cfg->nallow + 1,
	    sizeof *cfg->allow);
	cfg->allow[cfg->nallow++] = c;
	return (0);
}

void
http_config_clear(struct http_config *cfg)
{
	free(cfg->allow);
	memset(cfg, 0, sizeof *cfg);
}

/*
 * A Retry-After value (delay in seconds, or an HTTP date) as milliseconds
 * from NOW (UTC microseconds), at most HTTP_RETRY_AFTER_MAX_MS; a date in
 * the past is 0.  -1 if it cannot be read.
 */
int64_t
http_retry_after(const char *v, int64_t now)
{
	const char	*p;
	int64_t		 secs = 0, ms;
	time_t		 t;

	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		for (p = v; *p >= '0' && *p <= '9'; p++) {
			if (secs < HTTP_RETRY_AFTER_MAX_MS)
				secs = secs * 10 + (*p - '0');
		}
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '\0')
			return (-1);
		ms = secs * 1000;
	} else {
		if (*v == '\0' || (t = curl_getdate(v, NULL)) == -1)
			return (-1);
		ms = ((int64_t)t * USEC_PER_SEC - now) / USEC_PER_MSEC;
		if (ms < 0)
			ms = 0;
	}
	return (ms > HTTP_RETRY_AFTER_MAX_MS ? HTTP_RETRY_AFTER_MAX_MS : ms);
}

/* ---- runtime: libcurl multi on the loop --------------------------------- */

/* Create the multi handle on BASE with CFG's allowed networks (copied). */
void
http_runtime_init(struct event_base *base, const struct http_config *cfg)
{
	if (http_base != NULL)
		fatalx("http_runtime_init: already initialised");
	if (!http_curl_ready) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			fatalx("http_runtime_init: curl_global_init failed");
		http_curl_ready = 1;
	}
	http_base = base;
	if ((http_multi = curl_multi_init()) == NULL)
		fatalx("http_runtime_init: curl_multi_init failed");
	curl_multi_setopt(http_multi, CURLMOPT_SOCKETFUNCTION, http_socket_cb);
	curl_multi_setopt(http_multi, CURLMOPT_TIMERFUNCTION, http_timer_cb);
	http_timer_ev = evtimer_new(base, http_timeout_cb, NULL);
	http_done_ev = event_new(base, -1, 0, http_done_cb, NULL);
	http_start_ev = evtimer_new(base, http_start_cb, NULL);
	http_kick_ev = event_new(base, -1, 0, http_kick_cb, NULL);
	if (http_timer_ev == NULL || http_done_ev == NULL ||
	    http_start_ev == NULL || http_kick_ev == NULL)
		fatalx("http_runtime_init: event_new failed");
	http_nallow = cfg != NULL ? cfg->nallow : 0;
	http_allow = xcalloc(http_nallow + 1, sizeof *http_allow);
	if (http_nallow > 0)
		memcpy(http_allow, cfg->allow, http_nallow *
		    sizeof *http_allow);
}

/*
 * Drop every transfer without calling its callback (the daemon is going
 * away), also those whose callback had not run yet.
 */
void
http_runtime_free(void)
{
	struct http_job		*job;
	struct http_sock	*hs;

	if (http_base == NULL)
		return;
	while ((job = TAILQ_FIRST(&http_live)) != NULL) {
		TAILQ_REMOVE(&http_live, job, entry);
		if (job->waiting)
			TAILQ_REMOVE(&http_waiting, job, wentry);
		else
			curl_multi_remove_handle(http_multi, job->easy);
		log_info("msg=\"http dropped at shutdown\" run=%s "
		    "operation=%s", job->run_id, job->operation);
		http_job_free(job);
	}
	while ((job = TAILQ_FIRST(&http_done)) != NULL) {
		TAILQ_REMOVE(&http_done, job, entry);
		http_job_free(job);
	}
	if (!TAILQ_EMPTY(&http_others_live) || !TAILQ_EMPTY(&http_others_done))
		fatalx("http_runtime_free: other transfers left (their "
		    "owners stop them first)");
	http_nlive = 0;
	http_burst = 0;
	curl_multi_cleanup(http_multi);
	http_multi = NULL;
	while ((hs = LIST_FIRST(&http_socks)) != NULL) {
		LIST_REMOVE(hs, entry);
		event_free(hs->ev);
		free(hs);
	}
	free(http_last_url);
	free(http_last_where);
	http_last_url = http_last_where = NULL;
	event_free(http_timer_ev);
	event_free(http_done_ev);
	event_free(http_start_ev);
	event_free(http_kick_ev);
	http_timer_ev = http_done_ev = http_start_ev = http_kick_ev = NULL;
	http_kick_armed = 0;
	free(http_allow);
	http_allow = NULL;
	http_nallow = 0;
	http_base = NULL;
}

/* Another protocol's transfer O ended with CODE: its callback runs from
 * the done event, after it is out of the multi handle. */
static void
http_other_done(struct http_other *o, CURLcode code)
{
	TAILQ_REMOVE(&http_others_live, o, entry);
	curl_multi_remove_handle(http_multi, o->easy);
	o->code = code;
	TAILQ_INSERT_TAIL(&http_others_done, o, entry);
	event_active(http_done_ev, 0, 0);
}

/*
 * Run EASY, a transfer set up elsewhere (smtp.c), on the loop's multi
 * handle: its socket and timer plumbing, no address filter (the caller
 * connects where the admin said).  CB runs once, from the loop (never
 * inside this call), with EASY and libcurl's code; the caller then owns
 * EASY again.  EASY's CURLOPT_PRIVATE is taken.  Returns a handle for
 * http_other_abort.
 */
struct http_other *
http_other_start(void *easy, http_other_cb cb, void *arg)
{
	struct http_other	*o;

	if (http_base == NULL)
		fatalx("http_other_start: no runtime");
	o = xcalloc(1, sizeof *o);
	o->easy = easy;
	o->cb = cb;
	o->arg = arg;
	curl_easy_setopt(easy, CURLOPT_PRIVATE, (char *)o);
	TAILQ_INSERT_TAIL(&http_others_live, o, entry);
	if (curl_multi_add_handle(http_multi, easy) != CURLM_OK) {
		o->code = CURLE_FAILED_INIT;
		TAILQ_REMOVE(&http_others_live, o, entry);
		TAILQ_INSERT_TAIL(&http_others_done, o, entry);
		event_active(http_done_ev, 0, 0);
	}
	return (o);
}

/* Stop O without its callback; the caller owns its easy handle again. */
void
http_other_abort(struct http_other *o)
{
	struct http_other	*d;

	TAILQ_FOREACH(d, &http_others_done, entry) {
		if (d == o) {
			TAILQ_REMOVE(&http_others_done, o, entry);
			free(o);
			return;
		}
	}
	TAILQ_REMOVE(&http_others_live, o, entry);
	curl_multi_remove_handle(http_multi, o->easy);
	free(o);
}

/* Transfers started and not yet finished (nor aborted). */
int
http_running(void)
{
	return (http_nlive);
}

/* libcurl tells us which socket to watch for what (or to forget it). */
static int
http_socket_cb(CURL *easy, curl_socket_t fd, int what, void *arg,
    void *sockp)
{
	struct http_sock	*hs = sockp;
	short			 events = EV_PERSIST;

	if (what == CURL_POLL_REMOVE) {
		if (hs != NULL) {
			LIST_REMOVE(hs, entry);
			event_free(hs->ev);
			free(hs);
			curl_multi_assign(http_multi, fd, NULL);
		}
		return (0);
	}
	if (what & CURL_POLL_IN)
		events |= EV_READ;
	if (what & CURL_POLL_OUT)
		events |= EV_WRITE;
	if (hs == NULL) {
		hs = xcalloc(1, sizeof *hs);
		hs->fd = fd;
		hs->ev = event_new(http_base, fd, events, http_event_cb, hs);
		if (hs->ev == NULL)
			fatalx("http: cannot watch a socket");
		LIST_INSERT_HEAD(&http_socks, hs, entry);
		curl_multi_assign(http_multi, fd, hs);
	} else if (hs->what == what)
		return (0);
	else {
		event_del(hs->ev);
		if (event_assign(hs->ev, http_base, fd, events, http_event_cb,
		    hs) != 0)
			fatalx("http: cannot watch a socket");
	}
	hs->what = what;
	if (event_add(hs->ev, NULL) != 0)
		fatalx("http: cannot watch a socket");
	return (0);
}

/* libcurl wants to be called back in TIMEOUT_MS (-1: never). */
static int
http_timer_cb(CURLM *multi, long timeout_ms, void *arg)
{
	if (timeout_ms < 0) {
		evtimer_del(http_timer_ev);
		return (0);
	}
	timeout_add_us(http_timer_ev, timeout_ms * USEC_PER_MSEC);
	return (0);
}

static void
http_event_cb(evutil_socket_t fd, short events, void *arg)
{
	int	action = 0, running;

	if (events & EV_READ)
		action |= CURL_CSELECT_IN;
	if (events & EV_WRITE)
		action |= CURL_CSELECT_OUT;
	curl_multi_socket_action(http_multi, fd, action, &running);
	http_check_info();
}

static void
http_timeout_cb(evutil_socket_t fd, short events, void *arg)
{
	int	running;

	curl_multi_socket_action(http_multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_check_info();
}

/* Collect the transfers libcurl has finished. */
static void
http_check_info(void)
{
	struct http_job	*job;
	CURLMsg		*m;
	char		*p;
	int		 left;

	while ((m = curl_multi_info_read(http_multi, &left)) != NULL) {
		if (m->msg != CURLMSG_DONE)
			continue;
		p = NULL;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
		if (p != NULL && ((struct job *)p)->executor == NULL) {
			http_other_done((struct http_other *)p,
			    m->data.result);
			continue;
		}
		if ((job = (struct http_job *)p) == NULL || job->finished)
			continue;
		job->end_us = mono_us();
		http_finish(job, http_make_result(job, m->data.result));
	}
}

/* Hand finished jobs their results, in order, then free them. */
static void
http_done_cb(evutil_socket_t fd, short events, void *arg)
{
	struct http_job		*job;
	struct exec_result	*r;
	struct http_other	*o;

	while ((o = TAILQ_FIRST(&http_others_done)) != NULL) {
		TAILQ_REMOVE(&http_others_done, o, entry);
		o->cb(o->easy, (int)o->code, o->arg);
		free(o);
	}

	while ((job = TAILQ_FIRST(&http_done)) != NULL) {
		TAILQ_REMOVE(&http_done, job, entry);
		r = job->result;
		job->result = NULL;
		job->cb(r, job->arg);
		http_job_free(job);
	}
}

/*
 * libcurl is about to connect to ADDR: refuse (no socket) when the filter
 * says so, noting why in the job for its error message.
 */
static curl_socket_t
http_open_cb(void *arg, curlsocktype purpose, struct curl_sockaddr *addr)
{
	struct http_job		*job = arg;
	struct sockaddr_storage	 ss;
	const char		*why;
	char			 text[INET6_ADDRSTRLEN];
	const void		*a;

	if (purpose != CURLSOCKTYPE_IPCXN)
		return (CURL_SOCKET_BAD);
	memset(&ss, 0, sizeof ss);
	memcpy(&ss, &addr->addr, addr->addrlen < sizeof ss ? addr->addrlen :
	    sizeof ss);
	why = addrfilter_refused((struct sockaddr *)&ss, http_allow,
	    http_nallow);
	if (why != NULL) {
		if (ss.ss_family == AF_INET)
			a = &((struct sockaddr_in *)&ss)->sin_addr;
		else
			a = &((struct sockaddr_in6 *)&ss)->sin6_addr;
		if (inet_ntop(ss.ss_family, a, text, sizeof text) == NULL)
			snprintf(text, sizeof text, "?");
		snprintf(job->refused, sizeof job->refused, "address %s not "
		    "allowed (%s)", text, why);
		log_trace(TRACE_HTTP, "msg=\"http address refused\" run=%s "
		    "address=%s reason=%s", job->run_id, text, why);
		return (CURL_SOCKET_BAD);
	}
	return (socket(addr->family, addr->socktype | SOCK_CLOEXEC,
	    addr->protocol));
}

/* Keep the response body, at most resp_max bytes. */
static size_t
http_write_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_job	*job = arg;
	size_t		 len = size * n;

	if (len > job->resp_max - job->resp_len) {
		job->overflow = 1;
		return (0);
	}
	if (job->resp_len + len > job->resp_size) {
		job->resp_size = job->resp_size == 0 ? 16384 : job->resp_size;
		while (job->resp_size < job->resp_len + len)
			job->resp_size *= 2;
		if (job->resp_size > job->resp_max)
			job->resp_size = job->resp_max;
		job->resp = xreallocarray(job->resp, job->resp_size + 1, 1);
	}
	memcpy(job->resp + job->resp_len, data, len);
	job->resp_len += len;
	return (len);
}

/* Note Retry-After of the last response (a new status line resets it). */
static size_t
http_header_cb(char *data, size_t size, size_t n, void *arg)
{
	struct http_job	*job = arg;
	size_t		 len = size * n, vlen;
	const char	*v;

	if (len >= 5 && strncasecmp(data, "HTTP/", 5) == 0)
		job->retry_after[0] = '\0';
	else if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		v = data + 12;
		vlen = len - 12;
		while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'
		    || v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		if (vlen >= sizeof job->retry_after)
			vlen = sizeof job->retry_after - 1;
		memcpy(job->retry_after, v, vlen);
		job->retry_after[vlen] = '\0';
	}
	return (len);
}

/* ---- jobs --------------------------------------------------------------- */

/* URL as we may log it: scheme://host:port/path (no user, no query).
 * The last URL seen and its form are kept: runs of one operation call
 * the same URL, and parsing it is a good part of a start. */
static int
http_display_url(const char *url, char **out, char **cause)
{
	if (http_last_url == NULL || strcmp(http_last_url, url) != 0) {
		free(http_last_url);
		free(http_last_where);
		http_last_url = http_last_where = NULL;
		if (http_parse_display(url, &http_last_where, cause) != 0)
			return (-1);
		http_last_url = xstrdup(url);
	}
	*out = xstrdup(http_last_where);
	return (0);
}

static int
http_parse_display(const char *url, char **out, char **cause)
{
	CURLU		*u;
	CURLUcode	 uc;
	char		*scheme = NULL, *host = NULL, *port = NULL;
	char		*path = NULL;
	int		 rc = -1;

	if ((u = curl_url()) == NULL)
		fatalx("http: curl_url failed");
	if ((uc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK) {
		xasprintf(cause, "url: %s", curl_url_strerror(uc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK ||
	    curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK) {
		xasprintf(cause, "url: no scheme, host or port");
		goto out;
	}
	xasprintf(out, "%s://%s:%s%s", scheme, host, port, path);
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_url_cleanup(u);
	return (rc);
}

/* Printable ASCII only: fit for a header value. */
static int
http_printable(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return (0);
	}
	return (1);
}

static void
http_add_header(struct http_job *job, const char *fmt, ...)
{
	struct curl_slist	*l;
	va_list			 ap;
	char			*h;

	va_start(ap, fmt);
	xvasprintf(&h, fmt, ap);
	va_end(ap);
	l = curl_slist_append(job->headers, h);
	free(h);
	if (l == NULL)
		fatalx("http: curl_slist_append failed");
	job->headers = l;
}

/*
 * Sign the body with the secret REF names: webhook-id is the run id (any
 * '.' made '_') and the attempt, webhook-timestamp the current second.
 */
static int
http_sign_headers(struct http_job *job, const char *ref, const char *run_id,
    int attempt, char **cause)
{
	unsigned char	*secret, *key;
	size_t		 slen, klen;
	char		*id, *p, *sig, *why = NULL;
	int64_t		 ts;

	if (secret_resolve(ref, &secret, &slen, cause) != 0)
		return (-1);
	if (sign_standard_key(secret, slen, &key, &klen, &why) != 0) {
		secret_free(secret, slen);
		xasprintf(cause, "secret %s: %s", ref, why);
		free(why);
		return (-1);
	}
	secret_free(secret, slen);
	xasprintf(&id, "%s:%d", run_id, attempt > 0 ? attempt : 1);
	for (p = id; *p != '\0'; p++) {
		if (*p == '.')
			*p = '_';
	}
	ts = now_us() / USEC_PER_SEC;
	sig = sign_standard(key, klen, id, ts, job->body, job->body_len);
	secret_free(key, klen);
	http_add_header(job, "webhook-id: %s", id);
	http_add_header(job, "webhook-timestamp: %" PRId64, ts);
	http_add_header(job, "webhook-signature: %s", sig);
	free(id);
	free(sig);
	return (0);
}

static int
http_headers(struct http_job *job, const struct operation *op,
    const struct exec_request *req, int attempt, char **cause)
{
	if (req->run_id != NULL && !http_printable(req->run_id)) {
		xasprintf(cause, "run id is not printable ASCII");
		return (-1);
	}
	http_add_header(job, "Content-Type: application/json");
	http_add_header(job, "Accept: application/json");
	http_add_header(job, "Expect:");
	if (req->run_id != NULL)
		http_add_header(job, "Idempotency-Key: %s", req->run_id);
	if (op->secret_ref != NULL && http_sign_headers(job, op->secret_ref,
	    req->run_id != NULL ? req->run_id : "-", attempt, cause) != 0)
		return (-1);
	return (0);
}

#define HTTP_SETOPT(opt, val) do {					\
	if (rc == CURLE_OK)						\
		rc = curl_easy_setopt(e, opt, val);			\
} while (0)

/* The easy handle of JOB: one POST, bounded in time and size. */
static int
http_easy(struct http_job *job, const char *url, int64_t connect_ms,
    char **cause)
{
	CURL		*e;
	CURLcode	 rc = CURLE_OK;

	if ((e = job->easy = curl_easy_init()) == NULL)
		fatalx("http: curl_easy_init failed");
	HTTP_SETOPT(CURLOPT_PRIVATE, (char *)job);
	HTTP_SETOPT(CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
	HTTP_SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
#else
	HTTP_SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP |
	    CURLPROTO_HTTPS));
#endif
	HTTP_SETOPT(CURLOPT_PROXY, "");
	HTTP_SETOPT(CURLOPT_NOSIGNAL, 1L);
	HTTP_SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	HTTP_SETOPT(CURLOPT_POST, 1L);
	HTTP_SETOPT(CURLOPT_POSTFIELDS, job->body);
	HTTP_SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)job->body_len);
	HTTP_SETOPT(CURLOPT_HTTPHEADER, job->headers);
	HTTP_SETOPT(CURLOPT_USERAGENT, "chime/" CHIME_VERSION);
	HTTP_SETOPT(CURLOPT_CONNECTTIMEOUT_MS, (long)connect_ms);
	HTTP_SETOPT(CURLOPT_TIMEOUT_MS, (long)job->deadline_ms);
	HTTP_SETOPT(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)job->resp_max);
	HTTP_SETOPT(CURLOPT_WRITEFUNCTION, http_write_cb);
	HTTP_SETOPT(CURLOPT_WRITEDATA, job);
	HTTP_SETOPT(CURLOPT_HEADERFUNCTION, http_header_cb);
	HTTP_SETOPT(CURLOPT_HEADERDATA, job);
	HTTP_SETOPT(CURLOPT_OPENSOCKETFUNCTION, http_open_cb);
	HTTP_SETOPT(CURLOPT_OPENSOCKETDATA, job);
	HTTP_SETOPT(CURLOPT_ERRORBUFFER, job->errbuf);
	if (rc != CURLE_OK) {
		xasprintf(cause, "http: %s", curl_easy_strerror(rc));
		return (-1);
	}
	return (0);
}

#undef HTTP_SETOPT

/*
 * POST OP's request for REQ (ATTEMPT numbers it in the signature's id).
 * Returns the job, whose CB runs once on the loop when it ends; or NULL
 * with *cause set when nothing was started (not an http operation, bad
 * parameters, a secret that cannot be read).
 */
struct http_job *
http_start(const struct operation *op, const struct exec_request *req,
    int attempt, exec_done_cb cb, void *arg, char **cause)
{
	struct http_job	*job;
	int64_t		 deadline, connect;
	char		*request;

	if (http_base == NULL)
		fatalx("http_start: runtime not initialised");
	if (op->executor != EXECUTOR_HTTP || op->url == NULL) {
		xasprintf(cause, "operation %s has no URL to call", op->id);
		return (NULL);
	}
	deadline = req->deadline_ms > 0 ? req->deadline_ms : op->timeout_ms;
	if (deadline <= 0)
		deadline = HTTP_DEFAULT_MS;
	connect = op->connect_timeout_ms > 0 ? op->connect_timeout_ms :
	    HTTP_CONNECT_TIMEOUT_MS;
	if (connect > deadline)
		connect = deadline;
	if ((request = exec_request_json(op, req, deadline, cause)) == NULL)
		return (NULL);

	job = xcalloc(1, sizeof *job);
	job->job.executor = &http_executor;
	job->run_id = xstrdup(req->run_id != NULL ? req->run_id : "-");
	job->operation = xstrdup(op->id);
	job->cb = cb;
	job->arg = arg;
	job->body = request;
	job->body_len = strlen(request) - 1;	/* without the newline */
	job->body[job->body_len] = '\0';
	job->resp_max = op->max_response > 0 ? (size_t)op->max_response :
	    HTTP_MAX_RESPONSE;
	job->deadline_ms = deadline;
	if (http_display_url(op->url, &job->where, cause) != 0 ||
	    http_headers(job, op, req, attempt, cause) != 0 ||
	    http_easy(job, op->url, connect, cause) != 0)
		goto fail;
	http_launch(job);
	log_trace(TRACE_HTTP, "msg=\"http started\" run=%s operation=%s "
	    "url=\"%s\" attempt=%d deadline_ms=%" PRId64, job->run_id,
	    job->operation, job->where, attempt, deadline);
	return (job);
fail:
	http_job_free(job);
	return (NULL);
}

/*
 * POST a body the caller made (P: borrowed for the call) through the same
 * multi handle, address filter and limits as the executor's calls, with
 * P's headers and no others of ours but Content-Type.  Any 2xx succeeds
 * whatever its body; the rest fail as the executor's calls do (3xx
 * refused, Retry-After of a 429 or 5xx read).  Returns the job, whose CB
 * runs once on the loop; or NULL with *cause when nothing was started.
 */
struct http_job *
http_post(const struct http_post *p, exec_done_cb cb, void *arg,
    char **cause)
{
	struct http_job	*job;
	int64_t		 connect;
	size_t		 i;

	if (http_base == NULL)
		fatalx("http_post: runtime not initialised");
	job = xcalloc(1, sizeof *job);
	job->job.executor = &http_executor;
	job->run_id = xstrdup(p->label != NULL ? p->label : "-");
	job->operation = xstrdup("-");
	job->cb = cb;
	job->arg = arg;
	job->plain = 1;
	job->body = xmalloc(p->len + 1);
	memcpy(job->body, p->body, p->len);
	job->body[p->len] = '\0';
	job->body_len = p->len;
	job->resp_max = p->max_response > 0 ? p->max_response :
	    HTTP_MAX_RESPONSE;
	job->deadline_ms = p->timeout_ms > 0 ? p->timeout_ms :
	    HTTP_DEFAULT_MS;
	connect = HTTP_CONNECT_TIMEOUT_MS < job->deadline_ms ?
	    HTTP_CONNECT_TIMEOUT_MS : job->deadline_ms;
	http_add_header(job, "Content-Type: application/json");
	http_add_header(job, "Expect:");
	for (i = 0; p->headers != NULL && p->headers[i] != NULL; i++) {
		if (!http_printable(p->headers[i])) {
			xasprintf(cause, "a header is not printable ASCII");
			goto fail;
		}
		http_add_header(job, "%s", p->headers[i]);
	}
	if (http_display_url(p->url, &job->where, cause) != 0 ||
	    http_easy(job, p->url, connect, cause) != 0)
		goto fail;
	http_launch(job);
	log_trace(TRACE_HTTP, "msg=\"http post started\" for=%s url=\"%s\"",
	    job->run_id, job->where);
	return (job);
fail:
	http_job_free(job);
	return (NULL);
}

/*
 * Is URL one http_post can call: an absolute http or https URL with a
 * host?  0, or -1 and *cause.  Says nothing of the address filter, which
 * judges the address connected to.
 */
int
http_url_check(const char *url, char **cause)
{
	CURLU		*u;
	CURLUcode	 uc;
	char		*scheme = NULL, *host = NULL;
	int		 rc = -1;

	if ((u = curl_url()) == NULL)
		fatalx("http: curl_url failed");
	if (!http_printable(url) || strchr(url, ' ') != NULL) {
		xasprintf(cause, "a URL of printable ASCII without spaces");
		goto out;
	}
	if ((uc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK) {
		xasprintf(cause, "not a URL: %s", curl_url_strerror(uc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)) {
		xasprintf(cause, "the scheme must be http or https");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
	    *host == '\0') {
		xasprintf(cause, "the URL has no host");
		goto out;
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_url_cleanup(u);
	return (rc);
}

/* Abort JOB: its transfer is dropped; its callback says CANCELLED, once. */
void
http_abort(struct http_job *job)
{
	struct exec_result	*r;

	if (job == NULL || job->finished)
		return;
	log_trace(TRACE_HTTP, "msg=\"http abort\" run=%s", job->run_id);
	job->end_us = mono_us();
	r = http_result_new(job);
	r->status = EXEC_CANCELLED;
	r->error = xstrdup("cancelled");
	http_finish(job, r);
}

/* http_executor's start: http_start. */
static struct job *
http_executor_start(const struct operation *op,
    const struct exec_request *req, int attempt, exec_done_cb cb, void *arg,
    char **cause)
{
	struct http_job	*job;

	if ((job = http_start(op, req, attempt, cb, arg, cause)) == NULL)
		return (NULL);
	return (&job->job);
}

/* http_executor's abort: JOB is an http_job's head. */
static void
http_executor_abort(struct job *job)
{
	http_abort((struct http_job *)job);
}

/* JOB is live from now on.  While fewer than HTTP_START_BURST have
 * joined since the last turn of http_start_cb and none waits, it joins
 * the multi handle at once and libcurl opens its connection (or sends on
 * one it keeps) before the loop polls again (http_kick_cb, in the same
 * pass); else it waits its turn. */
static void
http_launch(struct http_job *job)
{
	job->start_us = mono_us();
	TAILQ_INSERT_TAIL(&http_live, job, entry);
	http_nlive++;
	if (TAILQ_EMPTY(&http_waiting) && http_burst < HTTP_START_BURST) {
		http_burst++;
		if (http_join(job) && !http_kick_armed) {
			http_kick_armed = 1;
			event_active(http_kick_ev, EV_TIMEOUT, 0);
		}
	} else {
		job->waiting = 1;
		TAILQ_INSERT_TAIL(&http_waiting, job, wentry);
	}
	http_start_soon();
}

/* Run http_start_cb on a later turn of the loop: a timer of no delay, not
 * event_active, so that the loop polls its sockets first (libevent runs
 * events activated while it runs its active ones in the same pass). */
static void
http_start_soon(void)
{
	if (!evtimer_pending(http_start_ev, NULL))
		timeout_add_us(http_start_ev, 0);
}

/* JOB (not waiting) joins the multi handle: 1, or 0 when libcurl
 * refused it (JOB then ends failed). */
static int
http_join(struct http_job *job)
{
	struct exec_result	*r;

	if (curl_multi_add_handle(http_multi, job->easy) == CURLM_OK)
		return (1);
	job->end_us = mono_us();
	r = http_result_new(job);
	http_error(r, "http: cannot add a transfer");
	/* (removing a handle the multi does not hold is a no-op) */
	http_finish(job, r);
	return (0);
}

/* Let libcurl start what just joined now rather than from its timer on
 * the next turn (what ends meanwhile is collected; callbacks still run
 * from http_done_cb). */
static void
http_kick(void)
{
	int	running;

	http_kick_armed = 0;
	curl_multi_socket_action(http_multi, CURL_SOCKET_TIMEOUT, 0, &running);
	http_check_info();
}

/* The transfers http_launch joined in this pass of the loop start
 * together, once the callback that started them has returned. */
static void
http_kick_cb(evutil_socket_t fd, short events, void *arg)
{
	if (http_kick_armed)
		http_kick();
}

/* Up to HTTP_START_BURST waiting transfers join the multi handle and
 * start; the rest wait for the next turn. */
static void
http_start_cb(evutil_socket_t fd, short events, void *arg)
{
	struct http_job		*job;
	int			 joined = 0;

	for (http_burst = 0; http_burst < HTTP_START_BURST &&
	    (job = TAILQ_FIRST(&http_waiting)) != NULL; http_burst++) {
		TAILQ_REMOVE(&http_waiting, job, wentry);
		job->waiting = 0;
		joined += http_join(job);
	}
	if (joined > 0)
		http_kick();
	if (!TAILQ_EMPTY(&http_waiting))
		http_start_soon();
}

/* JOB ended with R: detach it, log it, queue its callback. */
static void
http_finish(struct http_job *job, struct exec_result *r)
{
	if (job->waiting) {
		TAILQ_REMOVE(&http_waiting, job, wentry);
		job->waiting = 0;
	} else
		curl_multi_remove_handle(http_multi, job->easy);
	job->finished = 1;
	job->result = r;
	TAILQ_REMOVE(&http_live, job, entry);
	http_nlive--;
	free(job->body);
	job->body = NULL;
	log_info("msg=\"http finished\" run=%s operation=%s url=\"%s\" "
	    "status=%s http=%d duration_ms=%" PRId64, job->run_id,
	    job->operation, log_escape(job->where), exec_status_name(r->status),
	    r->http_status, r->duration_us / 1000);
	TAILQ_INSERT_TAIL(&http_done, job, entry);
	event_active(http_done_ev, EV_TIMEOUT, 0);
}

static struct exec_result *
http_result_new(struct http_job *job)
{
	struct exec_result	*r;

	r = xcalloc(1, sizeof *r);
	r->status = EXEC_FAILED;
	r->input_tokens = r->output_tokens = r->cost_micro = -1;
	r->retry_after_ms = -1;
	r->duration_us = job->end_us - job->start_us;
	return (r);
}

static void
http_error(struct exec_result *r, const char *fmt, ...)
{
	va_list	ap;

	free(r->error);
	va_start(ap, fmt);
	xvasprintf(&r->error, fmt, ap);
	va_end(ap);
	exec_sanitize(r->error);
	r->status = EXEC_FAILED;
}

/* ": " and the first bytes of the body, for an error; "" if none. */
static char *
http_body_excerpt(struct http_job *job)
{
	size_t	 n = job->resp_len < HTTP_ERROR_BODY ? job->resp_len :
	    HTTP_ERROR_BODY;
	char	*out;

	while (n > 0 && isspace((unsigned char)job->resp[n - 1]))
		n--;
	if (n == 0)
		return (xstrdup(""));
	out = xmalloc(n + 3);
	memcpy(out, ": ", 2);
	memcpy(out + 2, job->resp, n);
	out[n + 2] = '\0';
	return (out);
}

static struct exec_result *
http_make_result(struct http_job *job, CURLcode code)
{
	struct exec_result	*r;
	long			 status = 0;

	r = http_result_new(job);
	curl_easy_getinfo(job->easy, CURLINFO_RESPONSE_CODE, &status);
	r->http_status = (int)status;
	if (code == CURLE_OK)
		http_result_status(job, r, status);
	else
		http_result_curl(job, r, code);
	return (r);
}

/* A complete response with STATUS: 2xx parsed, the rest failures. */
static void
http_result_status(struct http_job *job, struct exec_result *r, long status)
{
	char	*excerpt;

	if (status >= 200 && status <= 299 && job->plain) {
		r->status = EXEC_SUCCESS;
		return;
	}
	if (status >= 200 && status <= 299) {
		exec_parse_output(job->resp, job->resp_len, r);
		r->retryable = 0;
		return;
	}
	if (status >= 300 && status <= 399) {
		http_error(r, "HTTP %ld: redirect refused", status);
		return;
	}
	excerpt = http_body_excerpt(job);
	http_error(r, "HTTP %ld%s", status, excerpt);
	free(excerpt);
	if (status == 429 || (status >= 500 && status <= 599)) {
		r->retryable = 1;
		if (job->retry_after[0] != '\0')
			r->retry_after_ms = http_retry_after(job->retry_after,
			    now_us());
	}
}

/*
 * libcurl's codes mapped to ours: timeouts are TIMEOUT, failures to reach
 * the server are retryable, refusals of ours and TLS trust are not.
 */
static void
http_result_curl(struct http_job *job, struct exec_result *r, CURLcode code)
{
	const char	*msg = job->errbuf[0] != '\0' ? job->errbuf :
	    curl_easy_strerror(code);
	curl_off_t	 connected = 0;

	switch (code) {
	case CURLE_OPERATION_TIMEDOUT:
		curl_easy_getinfo(job->easy, CURLINFO_CONNECT_TIME_T,
		    &connected);
		r->retryable = 1;
		if (connected == 0 && r->duration_us / 1000 <
		    job->deadline_ms) {
			http_error(r, "connect: %s", msg);
			return;
		}
		http_error(r, "timed out after %" PRId64 "ms",
		    job->deadline_ms);
		r->status = EXEC_TIMEOUT;
		return;
	case CURLE_WRITE_ERROR:
	case CURLE_FILESIZE_EXCEEDED:
		if (job->overflow || code == CURLE_FILESIZE_EXCEEDED) {
			http_error(r, "response exceeds %zu bytes",
			    job->resp_max);
			return;
		}
		break;
	case CURLE_COULDNT_CONNECT:
		if (job->refused[0] != '\0') {
			http_error(r, "%s", job->refused);
			return;
		}
		break;
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_TOO_MANY_REDIRECTS:
		http_error(r, "%s", msg);
		return;
	default:
		break;
	}
	http_error(r, "%s", msg);
	r->retryable = 1;
}

static void
http_job_free(struct http_job *job)
{
	if (job->easy != NULL)
		curl_easy_cleanup(job->easy);
	curl_slist_free_all(job->headers);
	exec_result_free(job->result);
	free(job->body);
	free(job->resp);
	free(job->run_id);
	free(job->operation);
	free(job->where);
	free(job);
}
