/*
 * ctl/server.c: the control socket.  A Unix stream socket (mode 0666: any
 * uid that can reach it may connect; what it may do is decided for each
 * request) read with libevent bufferevents; one JSON-RPC 2.0 request per
 * line, answered in any order (each response carries its id).  The caller's
 * identity comes from SO_PEERCRED.  Requests are checked against the method
 * table before their handler runs, so a rejected request has no effect.
 *
 * Connections are a shared resource that no tenant may take from the
 * others: one uid that is not an admin holds at most max_per_uid of them,
 * the last admin_reserved places are for admins only, and a connection is
 * closed when it sends nothing for idle_timeout while nothing is being
 * served for it, or leaves a request line unfinished for read_timeout from
 * its first byte.  A request in flight (however long its handler takes)
 * and unread answers keep a connection open.
 *
 * A connection is a small state machine:
 *	OPEN      reading requests, answering them;
 *	FLUSHING  no more reading; close once the output is written (a final
 *	          error, or the client sent EOF and everything is answered);
 *	DEAD      closed: on the server's dead list until the reap event frees
 *	          it, so no callback ever frees the object it runs on.
 * A request (struct ctl_req) points to its connection while it is open; a
 * closing connection detaches its pending requests (req->conn = NULL) and
 * their answers are dropped.  An OPEN connection's timer is armed for
 * what it waits on (CTL_WAIT_*): the rest of a request line, or the next
 * request; never while a request is served or an answer is unread.
 *
 * A handler may turn its connection into a stream (ctl_stream_start): the
 * request is answered, then notifications follow until the producer ends
 * the stream or the client goes.  A streaming connection reads no more
 * requests (it still reads, and discards, what the client sends, so that
 * a client that closes is noticed), has no idle timeout, and tells its
 * producer when to pause (the unread output reached stream_output) and
 * when to go on (the client read it down to half of that): a slow reader
 * holds its producer, never the daemon's memory.
 */
#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "engine.h"
#include "ctl.h"

#define CTL_BACKLOG		128
#define CTL_FLUSH_TIMEOUT	5	/* seconds to write a final error */
#define CTL_ACCEPT_RETRY	1	/* seconds to wait after EMFILE */
#define CTL_REFUSAL_LOG_US	USEC_PER_SEC	/* refusals: a line at most */

enum ctl_conn_state {
	CTL_CONN_OPEN,
	CTL_CONN_FLUSHING,
	CTL_CONN_DEAD,
};

/* What an OPEN connection's timer is armed for. */
enum ctl_conn_wait {
	CTL_WAIT_NONE,		/* serving, or answers unread: no timer */
	CTL_WAIT_IDLE,		/* nothing asked: idle_timeout */
	CTL_WAIT_READ,		/* a request line begun: read_timeout */
};

struct ctl_conn;
struct ctl_stream {
	struct ctl_conn			*conn;
	const struct ctl_stream_ops	*ops;
	void				*arg;
	int				 paused;	/* told no room */
};

struct ctl_req {
	struct reply		 reply;		/* first: see ctl_req_of */
	struct ctl_conn		*conn;		/* NULL: the caller is gone */
	/* or, for another transport (ctl_call): where the answer goes;
	   NULL once it went, or when the caller is gone */
	void			(*answer)(json_t *, void *);
	void			*answer_arg;
	int			 calling;	/* in ctl_call's handler */
	int			 finished;	/* ... and answered there */
	json_t			*id;		/* NULL: a notification */
	const char		*method;	/* borrowed from the table */
	int64_t			 start_us;	/* monotonic */
	void			(*done)(void *);	/* or NULL */
	void			*done_arg;
	TAILQ_ENTRY(ctl_req)	 entry;
};
TAILQ_HEAD(ctl_reqs, ctl_req);

struct ctl_conn {
	struct ctl_server	*server;
	struct bufferevent	*bev;
	struct event		*resume;	/* process buffered lines */
	struct event		*timer;		/* idle or read timeout */
	struct caller	 caller;
	u_int			 number;
	enum ctl_conn_state	 state;
	enum ctl_conn_wait	 waiting;
	int			 progress;	/* a line was taken since the
						   timer was armed */
	int			 eof;		/* the client sent EOF */
	int			 counted;	/* counts against the limit */
	size_t			 scanned;	/* bytes of the input known to
						   hold no newline */
	size_t			 inflight;
	struct ctl_reqs		 reqs;
	struct ctl_stream	*stream;	/* NULL: requests */
	TAILQ_ENTRY(ctl_conn)	 entry;
};
TAILQ_HEAD(ctl_conns, ctl_conn);

struct ctl_server {
	struct event_base	*base;
	struct evconnlistener	*listener;
	struct event		*retry;
	struct event		*reap;
	struct event		*release;	/* frees the requests below */
	json_t			**released;	/* large requests, handled */
	size_t			 nreleased;
	size_t			 releasedcap;
	size_t			 ripe;		/* the first, freed next */
	int64_t			 refusal_logged;	/* mono_us */
	u_int			 refusals;	/* since it was logged */
	char			*path;
	dev_t			 dev;
	ino_t			 ino;
	ctl_find_cb		 find;
	struct ctl_limits	 limits;
	uid_t			 uid;
	u_int			 next_number;
	size_t			 nconns;
	struct ctl_conns	 conns;
	struct ctl_conns	 dead;
	const char		*(*write_gate)(const char **);
};

static int	 ctl_server_probe(const char *, char **);
static int	 ctl_server_bind(struct ctl_server *, char **);
static void	 ctl_server_accept(struct evconnlistener *, evutil_socket_t,
		     struct sockaddr *, int, void *);
static void	 ctl_server_accept_error(struct evconnlistener *, void *);
static void	 ctl_server_retry(evutil_socket_t, short, void *);
static void	 ctl_server_reap(evutil_socket_t, short, void *);
static void	 ctl_server_release_cb(evutil_socket_t, short, void *);
static void	 ctl_server_release_first(struct ctl_server *, size_t);
static const char *ctl_server_admit(struct ctl_server *,
		     const struct caller *);
static size_t	 ctl_server_uid_conns(struct ctl_server *, uid_t);
static void	 ctl_server_refused(struct ctl_server *, struct ctl_conn *,
		     const char *);
static struct ctl_conn *ctl_conn_create(struct ctl_server *, evutil_socket_t);
static struct evbuffer_ptr ctl_conn_eol(struct ctl_conn *, size_t *);
static void	 ctl_conn_read(struct bufferevent *, void *);
static void	 ctl_conn_written(struct bufferevent *, void *);
static int	 ctl_conn_backlogged(struct ctl_conn *);
static void	 ctl_conn_event(struct bufferevent *, short, void *);
static int	 ctl_conn_hung_up(struct ctl_conn *);
static void	 ctl_conn_resume(evutil_socket_t, short, void *);
static void	 ctl_conn_process(struct ctl_conn *);
static void	 ctl_conn_discard(struct ctl_conn *);
static void	 ctl_conn_put(struct ctl_conn *, const char *, size_t);
static void	 ctl_stream_gone(struct ctl_conn *);
static void	 ctl_stream_sndbuf(struct ctl_conn *);
static void	 ctl_conn_update(struct ctl_conn *);
static void	 ctl_conn_arm(struct ctl_conn *);
static void	 ctl_conn_timeout(evutil_socket_t, short, void *);
static void	 ctl_conn_line(struct ctl_conn *, const char *, size_t);
static json_t	*ctl_parse_error(json_error_t *);
static json_t	*ctl_invalid(const char *, const char *, const char *);
static json_t	*ctl_conn_check(json_t *);
static void	 ctl_conn_dispatch(struct ctl_conn *, json_t *, int64_t);
static const struct reply_ops ctl_reply_ops;
static json_t	*ctl_admit(struct ctl_server *, const struct caller *, int,
		     const char *, json_t *, const struct ctl_method **,
		     ctl_handler *);
static struct ctl_req *ctl_req_new(const struct caller *, json_t *,
		     const char *, int64_t);
static void	 ctl_req_send(struct ctl_req *, json_t *);
static void	 ctl_conn_send(struct ctl_conn *, json_t *);
static void	 ctl_conn_reject(struct ctl_conn *, json_t *, const char *,
		     json_t *, int64_t);
static void	 ctl_conn_finish(struct ctl_conn *, json_t *);
static void	 ctl_conn_detach(struct ctl_conn *);
static void	 ctl_conn_close(struct ctl_conn *, const char *);
static void	 ctl_conn_free(struct ctl_conn *);
static void	 ctl_req_done(struct ctl_req *, int);
static json_t	*ctl_response(json_t *);
static void	 ctl_log_request(u_int, const char *, const struct caller *,
		     json_t *, int, int64_t);
static void	 ctl_log_token(const char *, char *, size_t);

/*
 * Is a daemon answering on PATH?  A socket nobody listens on is stale and
 * removed; anything else that is not a socket is left alone and refused.
 */
static int
ctl_server_probe(const char *path, char **cause)
{
	struct stat	sb;
	char		*why = NULL;
	int		 fd;

	if (lstat(path, &sb) == -1) {
		if (errno == ENOENT)
			return (0);
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (!S_ISSOCK(sb.st_mode)) {
		xasprintf(cause, "%s exists and is not a socket", path);
		return (-1);
	}
	if ((fd = ctl_client_connect(path, &why)) != -1) {
		close(fd);
		xasprintf(cause, "another daemon is already listening on %s",
		    path);
		return (-1);
	}
	free(why);
	if (errno != ECONNREFUSED && errno != ENOENT) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	log_info("msg=\"removing stale control socket\" path=%s", path);
	if (unlink(path) == -1 && errno != ENOENT) {
		xasprintf(cause, "unlink %s: %s", path, strerror(errno));
		return (-1);
	}
	return (0);
}

/*
 * Bind the socket with mode 0666 and start listening on the loop.  Who
 * reaches it is up to the directories above it; what a caller may do is
 * decided from SO_PEERCRED for every request.
 */
static int
ctl_server_bind(struct ctl_server *s, char **cause)
{
	struct sockaddr_un	sun;
	struct stat		sb;
	mode_t			mask;
	int			fd, rc, saved;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, s->path, strlen(s->path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		xasprintf(cause, "socket: %s", strerror(errno));
		return (-1);
	}
	mask = umask(S_IXUSR | S_IXGRP | S_IXOTH);
	rc = bind(fd, (struct sockaddr *)&sun, sizeof sun);
	saved = errno;
	umask(mask);
	if (rc == -1 || chmod(s->path, 0666) == -1 ||
	    stat(s->path, &sb) == -1) {
		xasprintf(cause, "bind %s: %s", s->path,
		    strerror(rc == -1 ? saved : errno));
		close(fd);
		return (-1);
	}
	s->dev = sb.st_dev;
	s->ino = sb.st_ino;
	s->listener = evconnlistener_new(s->base, ctl_server_accept, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, CTL_BACKLOG, fd);
	if (s->listener == NULL) {
		xasprintf(cause, "listen %s: %s", s->path, strerror(errno));
		close(fd);
		unlink(s->path);
		return (-1);
	}
	evconnlistener_set_error_cb(s->listener, ctl_server_accept_error);
	return (0);
}

/* A server for PATH, not listening yet. */
static struct ctl_server *
ctl_server_new(struct event_base *base, const char *path, ctl_find_cb find)
{
	struct ctl_server	*s;

	/* A client that goes away mid-reply must not kill the daemon. */
	signal(SIGPIPE, SIG_IGN);
	s = xcalloc(1, sizeof *s);
	s->base = base;
	s->path = xstrdup(path);
	s->find = find;
	s->uid = geteuid();
	s->limits.max_request = CTL_MAX_REQUEST;
	s->limits.max_connections = CTL_MAX_CONNECTIONS;
	s->limits.max_inflight = CTL_MAX_INFLIGHT;
	s->limits.max_output = CTL_MAX_OUTPUT;
	s->limits.max_per_uid = CTL_MAX_PER_UID;
	s->limits.admin_reserved = CTL_ADMIN_RESERVED;
	s->limits.idle_timeout_ms = CTL_IDLE_TIMEOUT_MS;
	s->limits.read_timeout_ms = CTL_READ_TIMEOUT_MS;
	s->limits.stream_output = CTL_STREAM_OUTPUT;
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->dead);
	s->retry = evtimer_new(base, ctl_server_retry, s);
	s->reap = event_new(base, -1, 0, ctl_server_reap, s);
	s->release = evtimer_new(base, ctl_server_release_cb, s);
	return (s);
}

static void
ctl_server_discard(struct ctl_server *s)
{
	event_free(s->retry);
	event_free(s->reap);
	event_free(s->release);
	free(s->path);
	free(s);
}

struct ctl_server *
ctl_server_create(struct event_base *base, const char *path,
    ctl_find_cb find, char **cause)
{
	struct ctl_server	*s;
	struct sockaddr_un	 sun;

	if (strlen(path) >= sizeof sun.sun_path) {
		xasprintf(cause, "socket path too long (%zu bytes at most): %s",
		    sizeof sun.sun_path - 1, path);
		return (NULL);
	}
	if (ctl_server_probe(path, cause) != 0)
		return (NULL);
	s = ctl_server_new(base, path, find);
	if (ctl_server_bind(s, cause) != 0) {
		ctl_server_discard(s);
		return (NULL);
	}
	log_debug("msg=\"control socket listening\" path=%s", path);
	return (s);
}

/*
 * The same on FD, a listening Unix socket the supervisor made (socket
 * activation): its path is the socket's own, and it stays when the
 * server goes (the supervisor's, not ours to remove).
 */
struct ctl_server *
ctl_server_adopt(struct event_base *base, int fd, ctl_find_cb find,
    char **cause)
{
	struct ctl_server	*s;
	struct sockaddr_un	 sun;
	socklen_t		 len = sizeof sun;

	memset(&sun, 0, sizeof sun);
	if (getsockname(fd, (struct sockaddr *)&sun, &len) == -1 ||
	    sun.sun_family != AF_UNIX || sun.sun_path[0] == '\0') {
		xasprintf(cause, "descriptor %d is not a Unix socket with a "
		    "path", fd);
		return (NULL);
	}
	sun.sun_path[sizeof sun.sun_path - 1] = '\0';
	s = ctl_server_new(base, sun.sun_path, find);
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    evutil_make_socket_closeonexec(fd) == -1 ||
	    (s->listener = evconnlistener_new(s->base, ctl_server_accept, s,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1, fd)) == NULL) {
		xasprintf(cause, "listen on descriptor %d: %s", fd,
		    strerror(errno));
		ctl_server_discard(s);
		return (NULL);
	}
	evconnlistener_set_error_cb(s->listener, ctl_server_accept_error);
	log_debug("msg=\"control socket from the supervisor\" path=%s fd=%d",
	    s->path, fd);
	return (s);
}

/* Change the limits; zero fields keep their value.  -1 and *cause if the
 * result does not hold together (then nothing changes). */
int
ctl_server_set_limits(struct ctl_server *s, const struct ctl_limits *l,
    char **cause)
{
	struct ctl_limits	n = s->limits;

	if (l->max_request != 0)
		n.max_request = l->max_request;
	if (l->max_connections != 0)
		n.max_connections = l->max_connections;
	if (l->max_inflight != 0)
		n.max_inflight = l->max_inflight;
	if (l->max_output != 0)
		n.max_output = l->max_output;
	if (l->max_per_uid != 0)
		n.max_per_uid = l->max_per_uid;
	if (l->admin_reserved != 0)
		n.admin_reserved = l->admin_reserved;
	if (l->idle_timeout_ms > 0)
		n.idle_timeout_ms = l->idle_timeout_ms;
	if (l->read_timeout_ms > 0)
		n.read_timeout_ms = l->read_timeout_ms;
	if (l->stream_output != 0)
		n.stream_output = l->stream_output;
	if (n.admin_reserved >= n.max_connections) {
		xasprintf(cause, "%zu connections kept for admins leave none "
		    "of %zu for the others", n.admin_reserved,
		    n.max_connections);
		return (-1);
	}
	s->limits = n;
	return (0);
}

void
ctl_server_stop_accepting(struct ctl_server *s)
{
	if (s->listener != NULL) {
		evconnlistener_free(s->listener);
		s->listener = NULL;
	}
	evtimer_del(s->retry);
}

/* Not from inside a request handler: it frees the connections. */
void
ctl_server_free(struct ctl_server *s)
{
	struct ctl_conn	*c;
	struct stat	 sb;

	if (s == NULL)
		return;
	ctl_server_stop_accepting(s);
	while ((c = TAILQ_FIRST(&s->conns)) != NULL)
		ctl_conn_close(c, "server closing");
	ctl_server_reap(-1, 0, s);
	ctl_server_release_first(s, s->nreleased);
	event_free(s->reap);
	event_free(s->release);
	free(s->released);
	event_free(s->retry);
	/* Only remove the socket if it is still ours. */
	if (stat(s->path, &sb) == 0 && sb.st_dev == s->dev &&
	    sb.st_ino == s->ino)
		unlink(s->path);
	free(s->path);
	free(s);
}

/* Connections writing a last answer before they close (a stream's end,
 * a refusal): a drain waits for them (each has CTL_FLUSH_TIMEOUT). */
size_t
ctl_server_flushing(struct ctl_server *s)
{
	struct ctl_conn	*c;
	size_t		 n = 0;

	if (s == NULL)
		return (0);
	TAILQ_FOREACH(c, &s->conns, entry) {
		if (c->state == CTL_CONN_FLUSHING)
			n++;
	}
	return (n);
}

size_t
ctl_server_connections(struct ctl_server *s)
{
	return (s->nconns);
}

const char *
ctl_server_path(struct ctl_server *s)
{
	return (s->path);
}

static void
ctl_server_accept(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct ctl_server	*s = arg;
	struct ctl_conn		*c;
	const char		*why;

	if ((c = ctl_conn_create(s, fd)) == NULL)
		return;
	if ((why = ctl_server_admit(s, &c->caller)) != NULL) {
		ctl_server_refused(s, c, why);
		return;
	}
	c->counted = 1;
	s->nconns++;
	bufferevent_enable(c->bev, EV_READ);
	ctl_conn_arm(c);
}

/*
 * May CALLER have one more connection?  NULL, or why not (static): the
 * server is full, only the places kept for admins are left, or the
 * caller's uid (not an admin) holds max_per_uid connections already.
 */
static const char *
ctl_server_admit(struct ctl_server *s, const struct caller *caller)
{
	if (s->nconns >= s->limits.max_connections)
		return ("too many connections");
	if (caller->admin)
		return (NULL);
	if (s->nconns + s->limits.admin_reserved >= s->limits.max_connections)
		return ("too many connections (the rest are kept for "
		    "admins)");
	if (ctl_server_uid_conns(s, caller->uid) >= s->limits.max_per_uid)
		return ("too many connections from this uid");
	return (NULL);
}

/* How many counted connections UID holds. */
static size_t
ctl_server_uid_conns(struct ctl_server *s, uid_t uid)
{
	struct ctl_conn	*c;
	size_t		 n = 0;

	TAILQ_FOREACH(c, &s->conns, entry) {
		if (c->counted && c->caller.uid == uid)
			n++;
	}
	return (n);
}

/*
 * Refuse C: one -32005 line saying WHY, then close.  Logged at most once
 * a second, with how many were refused since the last line, so that a
 * flood of connects cannot flood the log.
 */
static void
ctl_server_refused(struct ctl_server *s, struct ctl_conn *c, const char *why)
{
	json_t	*msg;
	int64_t	 now = mono_us();

	s->refusals++;
	if (now - s->refusal_logged >= CTL_REFUSAL_LOG_US) {
		log_warnx("msg=\"control connection refused\" reason=\"%s\" "
		    "uid=%lu connections=%zu refused=%u", why,
		    (u_long)c->caller.uid, s->nconns, s->refusals);
		s->refusal_logged = now;
		s->refusals = 0;
	}
	msg = json_pack("{s:s,s:n,s:o}", "jsonrpc", "2.0", "id", "error",
	    ctl_error_object(CTL_E_OVERLOADED, why, NULL, NULL));
	ctl_conn_finish(c, msg);
}

/* accept failed (out of descriptors, most likely): pause, then retry. */
static void
ctl_server_accept_error(struct evconnlistener *l, void *arg)
{
	struct ctl_server	*s = arg;
	struct timeval		 tv = { CTL_ACCEPT_RETRY, 0 };

	log_warn("msg=\"control socket accept failed\"");
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
	    errno == ENOMEM) {
		evconnlistener_disable(l);
		evtimer_add(s->retry, &tv);
	}
}

static void
ctl_server_retry(evutil_socket_t fd, short events, void *arg)
{
	struct ctl_server	*s = arg;

	if (s->listener != NULL)
		evconnlistener_enable(s->listener);
}

/* Free the connections that were closed since the last reap. */
static void
ctl_server_reap(evutil_socket_t fd, short events, void *arg)
{
	struct ctl_server	*s = arg;
	struct ctl_conn		*c;

	while ((c = TAILQ_FIRST(&s->dead)) != NULL) {
		TAILQ_REMOVE(&s->dead, c, entry);
		ctl_conn_free(c);
	}
}

/*
 * MSG, a request of LEN bytes, has been handled: it is freed now, or, when
 * large, after the loop's next poll.  Giving back the tens of thousands of
 * allocations of a large request (a schedule.apply of 10,000 entries) can
 * take longer than handling it did; an answer its handler gave at once
 * starts on its way first: libevent runs the sockets the poll found ready
 * (the connection now writable) before the timers that expired meanwhile.
 * (An answer given later, or more than the socket takes in one write, is
 * not waited for.)  A request released in the turn the timer runs was not
 * answered before that poll: it waits for the next one.
 */
void
ctl_server_release(struct ctl_server *s, json_t *msg, size_t len)
{
	if (msg == NULL)
		return;
	if (s == NULL || len < CTL_RELEASE_LATER) {
		json_decref(msg);
		return;
	}
	if (s->nreleased == s->releasedcap) {
		s->releasedcap = s->releasedcap == 0 ? 4 : s->releasedcap * 2;
		s->released = xreallocarray(s->released, s->releasedcap,
		    sizeof *s->released);
	}
	s->released[s->nreleased++] = msg;
	if (!evtimer_pending(s->release, NULL)) {
		s->ripe = s->nreleased;
		timeout_add_us(s->release, 1);
	}
}

/* Free the first N requests released (all of them: N = nreleased). */
static void
ctl_server_release_first(struct ctl_server *s, size_t n)
{
	size_t	i;

	if (n == 0)
		return;
	for (i = 0; i < n; i++)
		json_decref(s->released[i]);
	s->nreleased -= n;
	memmove(s->released, s->released + n, s->nreleased *
	    sizeof *s->released);
}

/* The timer: the requests released before the poll of this turn go; any
 * released since wait for the next turn's. */
static void
ctl_server_release_cb(evutil_socket_t fd, short events, void *arg)
{
	struct ctl_server	*s = arg;

	ctl_server_release_first(s, s->ripe);
	s->ripe = s->nreleased;
	if (s->nreleased > 0)
		timeout_add_us(s->release, 1);
}

static struct ctl_conn *
ctl_conn_create(struct ctl_server *s, evutil_socket_t fd)
{
	struct ctl_conn	*c;
	struct ucred	 uc;
	socklen_t	 len = sizeof uc;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1) {
		log_warn("msg=\"control connection: SO_PEERCRED failed\"");
		close(fd);
		return (NULL);
	}
	c = xcalloc(1, sizeof *c);
	c->server = s;
	c->number = ++s->next_number;
	c->caller.uid = uc.uid;
	c->caller.gid = uc.gid;
	c->caller.pid = uc.pid;
	c->caller.admin = uc.uid == 0 || uc.uid == s->uid;
	c->state = CTL_CONN_OPEN;
	TAILQ_INIT(&c->reqs);
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL)
		fatalx("ctl_conn_create: bufferevent_socket_new failed");
	c->resume = event_new(s->base, -1, 0, ctl_conn_resume, c);
	c->timer = evtimer_new(s->base, ctl_conn_timeout, c);
	if (c->resume == NULL || c->timer == NULL)
		fatalx("ctl_conn_create: event_new failed");
	bufferevent_setcb(c->bev, ctl_conn_read, ctl_conn_written,
	    ctl_conn_event, c);
	/* Read at most one request's worth past what is buffered. */
	bufferevent_setwatermark(c->bev, EV_READ, 0, s->limits.max_request + 1);
	bufferevent_setwatermark(c->bev, EV_WRITE, s->limits.max_output / 4, 0);
	TAILQ_INSERT_TAIL(&s->conns, c, entry);
	log_debug("msg=\"control connection\" conn=%u uid=%lu pid=%ld admin=%d",
	    c->number, (u_long)uc.uid, (long)uc.pid, c->caller.admin);
	return (c);
}

/*
 * Where the first line of C's input ends (pos -1: no newline yet), and
 * the newline's length in *EOL_LEN.  A request line arrives in many
 * reads: the search goes on from where the last one stopped, not from
 * the start of the line each time.
 */
static struct evbuffer_ptr
ctl_conn_eol(struct ctl_conn *c, size_t *eol_len)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr	 start, eol;
	size_t			 len = evbuffer_get_length(in);

	if (c->scanned > len ||
	    evbuffer_ptr_set(in, &start, c->scanned, EVBUFFER_PTR_SET) == -1)
		c->scanned = 0;
	eol = evbuffer_search_eol(in, c->scanned != 0 ? &start : NULL,
	    eol_len, EVBUFFER_EOL_LF);
	c->scanned = eol.pos == -1 ? len : (size_t)eol.pos;
	return (eol);
}

static void
ctl_conn_read(struct bufferevent *bev, void *arg)
{
	ctl_conn_process(arg);
}

/*
 * Output drained below the low-water mark: an open connection reads on
 * (processing may have paused for the backlog), a FLUSHING one goes once
 * everything is written.
 */
static void
ctl_conn_written(struct bufferevent *bev, void *arg)
{
	struct ctl_conn		*c = arg;
	struct ctl_stream	*st = c->stream;

	if (c->state == CTL_CONN_OPEN && st != NULL) {
		if (st->paused && evbuffer_get_length(bufferevent_get_output(
		    bev)) <= c->server->limits.stream_output / 2) {
			st->paused = 0;
			st->ops->writable(st->arg);
		}
	} else if (c->state == CTL_CONN_OPEN)
		ctl_conn_process(c);
	else if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		ctl_conn_close(c, "done");
}

/*
 * Are enough replies unread that no new request should start?  Requests
 * wait (reading stops) until the client reads; only answers of requests
 * already running can push the output past max_output (ctl_conn_send).
 */
static int
ctl_conn_backlogged(struct ctl_conn *c)
{
	return (evbuffer_get_length(bufferevent_get_output(c->bev)) >=
	    c->server->limits.max_output / 2);
}

static void
ctl_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct ctl_conn	*c = arg;

	if ((what & BEV_EVENT_EOF) && c->state == CTL_CONN_OPEN &&
	    !ctl_conn_hung_up(c)) {
		c->eof = 1;
		ctl_conn_process(c);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT)
		ctl_conn_close(c, "write timeout");
	else if (what & BEV_EVENT_ERROR)
		ctl_conn_close(c, strerror(EVUTIL_SOCKET_ERROR()));
	else
		ctl_conn_close(c, "closed by the client");
}

/*
 * After EOF: did the client close its socket (nobody to answer), or only
 * shut down its writing side (it still reads the answers)?
 */
static int
ctl_conn_hung_up(struct ctl_conn *c)
{
	struct pollfd	pfd;

	pfd.fd = bufferevent_getfd(c->bev);
	pfd.events = POLLOUT;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) == -1)
		return (1);
	return ((pfd.revents & (POLLHUP | POLLERR)) != 0);
}

static void
ctl_conn_resume(evutil_socket_t fd, short events, void *arg)
{
	ctl_conn_process(arg);
}

/*
 * Handle every complete line in the input while the connection is open and
 * has room for another request in flight; then decide whether to read on.
 */
static void
ctl_conn_process(struct ctl_conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr	 eol;
	size_t			 eol_len, len, max = c->server->limits.max_request;
	json_t			*msg;
	const char		*line;

	if (c->stream != NULL) {
		ctl_conn_discard(c);
		return;
	}
	while (c->state == CTL_CONN_OPEN && c->stream == NULL &&
	    c->inflight < c->server->limits.max_inflight &&
	    !ctl_conn_backlogged(c)) {
		eol = ctl_conn_eol(c, &eol_len);
		if (eol.pos == -1) {
			len = evbuffer_get_length(in);
			if (len == 0 || (len <= max && !c->eof))
				break;
			eol_len = 0;	/* the last line, with no newline */
		} else
			len = eol.pos;
		if (len > max) {
			msg = json_pack("{s:s,s:n,s:o}", "jsonrpc", "2.0", "id",
			    "error", ctl_error_object(CTL_E_INVALID_REQUEST,
			    "request too large", NULL, NULL));
			log_warnx("msg=\"control request too large\" conn=%u "
			    "uid=%lu limit=%zu", c->number,
			    (u_long)c->caller.uid, max);
			ctl_conn_finish(c, msg);
			return;
		}
		line = (const char *)evbuffer_pullup(in, len + eol_len);
		ctl_conn_line(c, line, len);
		evbuffer_drain(in, len + eol_len);
		c->scanned = 0;
		c->progress = 1;
	}
	if (c->stream != NULL)
		ctl_conn_discard(c);
	else
		ctl_conn_update(c);
}

/*
 * A streaming connection: what the client sends is dropped (it reads on,
 * so that a close is seen); after a half-close it only writes.
 */
static void
ctl_conn_discard(struct ctl_conn *c)
{
	struct evbuffer	*in = bufferevent_get_input(c->bev);

	if (c->state != CTL_CONN_OPEN)
		return;
	evbuffer_drain(in, evbuffer_get_length(in));
	c->scanned = 0;
	ctl_conn_arm(c);
	if (c->eof)
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
}

/* After processing: read on, pause (too many in flight), or finish. */
static void
ctl_conn_update(struct ctl_conn *c)
{
	struct evbuffer	*out;

	if (c->state != CTL_CONN_OPEN)
		return;
	ctl_conn_arm(c);
	if (!c->eof) {
		if (c->inflight >= c->server->limits.max_inflight ||
		    ctl_conn_backlogged(c))
			bufferevent_disable(c->bev, EV_READ);
		else
			bufferevent_enable(c->bev, EV_READ);
		return;
	}
	if (c->inflight != 0 ||
	    evbuffer_get_length(bufferevent_get_input(c->bev)) != 0)
		return;
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) == 0) {
		ctl_conn_close(c, "closed by the client");
		return;
	}
	ctl_conn_finish(c, NULL);
}

/*
 * Arm C's timer for what it waits on now.  A request line begun and not
 * finished: read_timeout from its first byte (the deadline holds while
 * more bytes trickle in).  Nothing buffered, nothing in flight, nothing
 * unread: idle_timeout.  Anything else (a request being served, however
 * long; answers the client has not read; lines waiting their turn) is not
 * the client dawdling: no timer.
 */
static void
ctl_conn_arm(struct ctl_conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr	 eol;
	enum ctl_conn_wait	 want = CTL_WAIT_NONE;
	int64_t			 ms = 0;
	size_t			 eol_len;

	if (c->state == CTL_CONN_OPEN && !c->eof && c->stream == NULL) {
		if (evbuffer_get_length(in) != 0) {
			eol = ctl_conn_eol(c, &eol_len);
			if (eol.pos == -1)
				want = CTL_WAIT_READ;
		} else if (c->inflight == 0 && evbuffer_get_length(
		    bufferevent_get_output(c->bev)) == 0)
			want = CTL_WAIT_IDLE;
	}
	/* A line taken since restarts the wait: the next one has its own. */
	if (want == c->waiting && !c->progress)
		return;
	c->waiting = want;
	c->progress = 0;
	evtimer_del(c->timer);
	if (want == CTL_WAIT_IDLE)
		ms = c->server->limits.idle_timeout_ms;
	else if (want == CTL_WAIT_READ)
		ms = c->server->limits.read_timeout_ms;
	if (ms <= 0)
		return;
	timeout_add_us(c->timer, ms * USEC_PER_MSEC);
}

/* The idle or read timeout passed: close C (a read timeout says why). */
static void
ctl_conn_timeout(evutil_socket_t fd, short events, void *arg)
{
	struct ctl_conn	*c = arg;
	json_t		*msg;
	char		 text[64];

	if (c->state != CTL_CONN_OPEN)
		return;
	if (c->waiting == CTL_WAIT_IDLE) {
		ctl_conn_close(c, "idle");
		return;
	}
	log_info("msg=\"control request not received in time; closing\" "
	    "conn=%u uid=%lu timeout_ms=%lld", c->number,
	    (u_long)c->caller.uid,
	    (long long)c->server->limits.read_timeout_ms);
	snprintf(text, sizeof text, "request not complete within %lld ms",
	    (long long)c->server->limits.read_timeout_ms);
	msg = json_pack("{s:s,s:n,s:o}", "jsonrpc", "2.0", "id", "error",
	    ctl_error_object(CTL_E_INVALID_REQUEST, text, NULL, NULL));
	ctl_conn_finish(c, msg);
}

/* One request line (without its newline). */
static void
ctl_conn_line(struct ctl_conn *c, const char *line, size_t len)
{
	json_t		*msg, *error, *id;
	int64_t		 start = mono_us();

	switch (ctl_request_parse(line, len, &msg, &error)) {
	case 0:
		return;		/* a blank line */
	case -1:
		id = json_is_object(msg) ? json_object_get(msg, "id") : NULL;
		if (id != NULL && !json_is_string(id) && !json_is_number(id))
			id = NULL;
		ctl_conn_reject(c, id, NULL, error, start);
		json_decref(msg);
		return;
	}
	ctl_conn_dispatch(c, msg, start);
	ctl_server_release(c->server, msg, len);
}

int
ctl_request_parse(const char *line, size_t len, json_t **msg, json_t **error)
{
	json_error_t	 jerr;
	size_t		 i;

	*msg = *error = NULL;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	for (i = 0; i < len && isspace((unsigned char)line[i]); i++)
		/* nothing */;
	if (i == len)
		return (0);
	*msg = ctl_json_loadb(line, len, JSON_REJECT_DUPLICATES |
	    JSON_DECODE_ANY, &jerr);
	if (*msg == NULL) {
		*error = ctl_parse_error(&jerr);
		return (-1);
	}
	if ((*error = ctl_conn_check(*msg)) != NULL)
		return (-1);
	return (1);
}

/*
 * The -32700 error of JERR.  The input jansson quotes in its text may end
 * inside a UTF-8 sequence, or not be UTF-8: then each byte past ASCII is
 * shown as '?' (an error that cannot be written would end the daemon).
 */
static json_t *
ctl_parse_error(json_error_t *jerr)
{
	json_t	*error;
	char	*p;

	error = json_pack("{s:i,s:s,s:{s:s,s:i}}", "code", CTL_E_PARSE,
	    "message", "parse error", "data", "reason", jerr->text,
	    "position", jerr->position);
	if (error != NULL)
		return (error);
	for (p = jerr->text; *p != '\0'; p++) {
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	}
	error = json_pack("{s:i,s:s,s:{s:s,s:i}}", "code", CTL_E_PARSE,
	    "message", "parse error", "data", "reason", jerr->text,
	    "position", jerr->position);
	if (error == NULL)
		fatalx("ctl_parse_error: json_pack failed");
	return (error);
}

/* A -32600 error with MESSAGE, and data.field/data.reason if FIELD. */
static json_t *
ctl_invalid(const char *message, const char *field, const char *reason)
{
	return (ctl_error_object(CTL_E_INVALID_REQUEST, message, field,
	    reason));
}

/* Is MSG a well-formed request?  NULL, or the error object to answer. */
static json_t *
ctl_conn_check(json_t *msg)
{
	const char	*key;
	json_t		*v, *id;

	if (json_is_array(msg))
		return (ctl_invalid("batch requests are not supported", NULL,
		    NULL));
	if (!json_is_object(msg))
		return (ctl_invalid("a request must be a JSON object", NULL,
		    NULL));
	id = json_object_get(msg, "id");
	if (id != NULL && !json_is_string(id) && !json_is_number(id) &&
	    !json_is_null(id))
		return (ctl_invalid("invalid request", "id",
		    "must be a string, a number (an integer within int64) "
		    "or null"));
	json_object_foreach(msg, key, v) {
		if (strcmp(key, "jsonrpc") != 0 && strcmp(key, "id") != 0 &&
		    strcmp(key, "method") != 0 && strcmp(key, "params") != 0)
			return (ctl_invalid("invalid request", key,
			    "unknown member"));
	}
	v = json_object_get(msg, "jsonrpc");
	if (!json_is_string(v) || strcmp(json_string_value(v), "2.0") != 0)
		return (ctl_invalid("invalid request", "jsonrpc",
		    "must be \"2.0\""));
	if (!json_is_string(json_object_get(msg, "method")))
		return (ctl_invalid("invalid request", "method",
		    "must be a string"));
	v = json_object_get(msg, "params");
	if (v != NULL && !json_is_object(v))
		return (ctl_invalid("invalid request", "params",
		    "must be an object (named parameters)"));
	return (NULL);
}

/* While GATE answers a reason, methods that write are refused (see
 * ctl_admit); GATE sets its argument to the message to answer. */
void
ctl_server_set_write_gate(struct ctl_server *srv,
    const char *(*gate)(const char **))
{
	srv->write_gate = gate;
}

/*
 * May CALLER call method NAME with PARAMS on S, before any handler runs?
 * NULL, and its spec and handler; or the error object to answer (new):
 * no such method, admin only, a write by a read-only caller, a method
 * that streams asked by a caller that cannot take a stream (STREAMS 0),
 * bad params, or a write while the server's write gate says no (the
 * daemon drains, or the journal cannot write: -32006 with data.reason).
 */
static json_t *
ctl_admit(struct ctl_server *s, const struct caller *caller, int streams,
    const char *name, json_t *params, const struct ctl_method **m,
    ctl_handler *handler)
{
	const char	*reason, *message = NULL;
	char		*field, *why;
	json_t		*error;

	if ((*handler = s->find(name, m)) == NULL)
		return (json_pack("{s:i,s:s,s:{s:s}}", "code", CTL_E_NO_METHOD,
		    "message", "no such method", "data", "method", name));
	if (((*m)->flags & CTL_M_ADMIN) && !caller->admin)
		return (ctl_error_object(CTL_E_FORBIDDEN,
		    "forbidden: admin only", NULL, NULL));
	if (!((*m)->flags & CTL_M_READONLY) && caller->readonly)
		return (ctl_error_object(CTL_E_FORBIDDEN,
		    "forbidden: a read-only token", NULL, NULL));
	if (((*m)->flags & CTL_M_STREAM) && !streams)
		return (ctl_error_object(CTL_E_NO_METHOD,
		    "this method streams: not on this transport (GET "
		    "/v1/events over HTTP)", NULL, NULL));
	if (ctl_check_params(*m, params, &field, &why) != 0) {
		error = ctl_error_object(CTL_E_INVALID_PARAMS,
		    "invalid params", field, why);
		free(field);
		free(why);
		return (error);
	}
	if (!((*m)->flags & CTL_M_READONLY) && s->write_gate != NULL &&
	    (reason = s->write_gate(&message)) != NULL)
		return (json_pack("{s:i, s:s, s:{s:s}}", "code",
		    CTL_E_UNAVAILABLE, "message", message != NULL ? message :
		    reason, "data", "reason", reason));
	return (NULL);
}

/* A new request for METHOD (the table's name) by CALLER, answering ID. */
static struct ctl_req *
ctl_req_new(const struct caller *caller, json_t *id, const char *method,
    int64_t start)
{
	struct ctl_req	*req;

	req = xcalloc(1, sizeof *req);
	req->id = id != NULL ? json_incref(id) : NULL;
	req->method = method;
	req->reply.ops = &ctl_reply_ops;
	req->reply.caller = *caller;
	req->start_us = start;
	return (req);
}

/* A well-formed request: find its method, check caller and params, run. */
static void
ctl_conn_dispatch(struct ctl_conn *c, json_t *msg, int64_t start)
{
	const struct ctl_method	*m = NULL;
	ctl_handler		 handler;
	struct ctl_req		*req;
	json_t			*id, *params, *empty = NULL, *error;
	const char		*name;

	id = json_object_get(msg, "id");
	name = json_string_value(json_object_get(msg, "method"));
	params = json_object_get(msg, "params");
	if ((error = ctl_admit(c->server, &c->caller, 1, name, params, &m,
	    &handler)) != NULL) {
		ctl_conn_reject(c, id, m != NULL ? m->name : name, error,
		    start);
		return;
	}
	req = ctl_req_new(&c->caller, id, m->name, start);
	req->conn = c;
	TAILQ_INSERT_TAIL(&c->reqs, req, entry);
	c->inflight++;
	if (params == NULL)
		params = empty = json_object();
	handler(req, params);
	json_decref(empty);
}

struct ctl_req *
ctl_call(struct ctl_server *s, const struct caller *caller, json_t *msg,
    void (*answer)(json_t *, void *), void *arg)
{
	const struct ctl_method	*m = NULL;
	ctl_handler		 handler;
	struct ctl_req		*req;
	json_t			*id, *params = NULL, *empty = NULL, *error;
	const char		*name;
	int64_t			 start = mono_us();
	int			 code;

	if ((error = ctl_conn_check(msg)) == NULL) {
		name = json_string_value(json_object_get(msg, "method"));
		params = json_object_get(msg, "params");
		error = ctl_admit(s, caller, 0, name, params, &m, &handler);
	}
	id = json_is_object(msg) ? json_object_get(msg, "id") : NULL;
	if (id != NULL && !json_is_string(id) && !json_is_number(id))
		id = NULL;
	if (error != NULL) {
		code = (int)json_integer_value(json_object_get(error,
		    "code"));
		ctl_log_request(0, m != NULL ? m->name : NULL, caller, id,
		    code, start);
		if (id == NULL && json_is_object(msg) &&
		    json_object_get(msg, "id") == NULL) {
			json_decref(error);
			answer(NULL, arg);	/* a notification */
		} else
			answer(json_pack("{s:s,s:O?,s:o}", "jsonrpc", "2.0",
			    "id", id, "error", error), arg);
		return (NULL);
	}
	req = ctl_req_new(caller, id, m->name, start);
	req->answer = answer;
	req->answer_arg = arg;
	req->reply.caller.uid = (uid_t)-1;	/* not a process */
	if (params == NULL)
		params = empty = json_object();
	req->calling = 1;
	handler(req, params);
	json_decref(empty);
	if (req->finished) {
		free(req);
		return (NULL);
	}
	req->calling = 0;
	return (req);
}

void
ctl_call_forget(struct ctl_req *req)
{
	req->answer = NULL;
}

/*
 * Queue one message.  A client whose unread output is past the limit is
 * not reading: it is closed rather than buffered for without end.
 */
static void
ctl_conn_send(struct ctl_conn *c, json_t *msg)
{
	struct evbuffer	*out;
	char		*s;

	if (c->state == CTL_CONN_DEAD) {
		json_decref(msg);
		return;
	}
	out = bufferevent_get_output(c->bev);
	if (evbuffer_get_length(out) > c->server->limits.max_output) {
		log_warnx("msg=\"control client not reading; closing\" "
		    "conn=%u uid=%lu unread=%zu", c->number,
		    (u_long)c->caller.uid, evbuffer_get_length(out));
		json_decref(msg);
		ctl_conn_close(c, "output limit");
		return;
	}
	s = json_dumps(msg, JSON_COMPACT);
	json_decref(msg);
	if (s == NULL)
		fatalx("ctl_conn_send: json_dumps failed");
	ctl_conn_put(c, s, strlen(s));
	free(s);
}

/* Append one line (LEN bytes and a newline) to C's output. */
static void
ctl_conn_put(struct ctl_conn *c, const char *line, size_t len)
{
	struct evbuffer	*out = bufferevent_get_output(c->bev);

	evbuffer_add(out, line, len);
	evbuffer_add(out, "\n", 1);
}

/* Answer a request refused before any handler ran (ERROR is stolen); a
 * notification gets no answer. */
static void
ctl_conn_reject(struct ctl_conn *c, json_t *id, const char *method,
    json_t *error, int64_t start)
{
	int	code = (int)json_integer_value(json_object_get(error, "code"));

	ctl_log_request(c->number, method, &c->caller, id, code, start);
	if (id == NULL && (code == CTL_E_NO_METHOD ||
	    code == CTL_E_FORBIDDEN || code == CTL_E_INVALID_PARAMS)) {
		json_decref(error);
		return;
	}
	ctl_conn_send(c, json_pack("{s:s,s:O?,s:o}", "jsonrpc", "2.0",
	    "id", id, "error", error));
}

/* Send MSG (if any) and close once it is written; read nothing more. */
static void
ctl_conn_finish(struct ctl_conn *c, json_t *msg)
{
	struct timeval	tv = { CTL_FLUSH_TIMEOUT, 0 };

	if (c->state != CTL_CONN_OPEN) {
		json_decref(msg);
		return;
	}
	if (msg != NULL)
		ctl_conn_send(c, msg);
	if (c->state != CTL_CONN_OPEN)
		return;
	c->state = CTL_CONN_FLUSHING;
	evtimer_del(c->timer);
	ctl_conn_detach(c);
	ctl_stream_gone(c);
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, ctl_conn_written, ctl_conn_event, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_enable(c->bev, EV_WRITE);
}

/* Pending requests lose their connection; their answers will be dropped. */
static void
ctl_conn_detach(struct ctl_conn *c)
{
	struct ctl_req	*req;

	while ((req = TAILQ_FIRST(&c->reqs)) != NULL) {
		TAILQ_REMOVE(&c->reqs, req, entry);
		req->conn = NULL;
	}
	c->inflight = 0;
}

/* Close now: stop all I/O, detach requests, leave the freeing to reap. */
static void
ctl_conn_close(struct ctl_conn *c, const char *why)
{
	struct ctl_server	*s = c->server;

	if (c->state == CTL_CONN_DEAD)
		return;
	log_debug("msg=\"control connection closed\" conn=%u uid=%lu "
	    "reason=\"%s\"", c->number, (u_long)c->caller.uid, why);
	c->state = CTL_CONN_DEAD;
	ctl_conn_detach(c);
	ctl_stream_gone(c);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	event_del(c->resume);
	evtimer_del(c->timer);
	if (c->counted)
		s->nconns--;
	TAILQ_REMOVE(&s->conns, c, entry);
	TAILQ_INSERT_TAIL(&s->dead, c, entry);
	event_active(s->reap, EV_TIMEOUT, 0);
}

static void
ctl_conn_free(struct ctl_conn *c)
{
	bufferevent_free(c->bev);
	event_free(c->resume);
	event_free(c->timer);
	free(c);
}

const struct caller *
ctl_req_caller(struct ctl_req *req)
{
	return (&req->reply.caller);
}

const char *
ctl_req_method(struct ctl_req *req)
{
	return (req->method);
}

int
ctl_req_connected(struct ctl_req *req)
{
	return ((req->conn != NULL || req->answer != NULL) && req->id != NULL);
}

/* Send the response MSG (stolen) where REQ's answer goes. */
static void
ctl_req_send(struct ctl_req *req, json_t *msg)
{
	void	(*answer)(json_t *, void *) = req->answer;

	if (req->conn != NULL)
		ctl_conn_send(req->conn, msg);
	else if (answer != NULL) {
		req->answer = NULL;
		answer(msg, req->answer_arg);
	} else
		json_decref(msg);
}

/* {"jsonrpc":"2.0","id":ID} for a response to ID. */
static json_t *
ctl_response(json_t *id)
{
	return (json_pack("{s:s,s:O}", "jsonrpc", "2.0", "id", id));
}

void
ctl_reply(struct ctl_req *req, json_t *result)
{
	json_t	*msg;

	if (result == NULL)
		result = json_object();
	if (ctl_req_connected(req)) {
		msg = ctl_response(req->id);
		json_object_set_new(msg, "result", result);
		ctl_req_send(req, msg);
	} else
		json_decref(result);
	ctl_req_done(req, 0);
}

void
ctl_error_data(struct ctl_req *req, int code, const char *message,
    json_t *data)
{
	json_t	*msg, *error;

	if (ctl_req_connected(req)) {
		error = ctl_error_object(code, message, NULL, NULL);
		if (data != NULL)
			json_object_set_new(error, "data", data);
		msg = ctl_response(req->id);
		json_object_set_new(msg, "error", error);
		ctl_req_send(req, msg);
	} else
		json_decref(data);
	ctl_req_done(req, code);
}

void
ctl_error(struct ctl_req *req, int code, const char *message,
    const char *field, const char *reason)
{
	json_t	*data = NULL;

	if (field != NULL || reason != NULL)
		data = ctl_error_fields(field, reason);
	ctl_error_data(req, code, message, data);
}

void
ctl_error_param(struct ctl_req *req, const char *field, const char *reason)
{
	ctl_error(req, CTL_E_INVALID_PARAMS, "invalid params", field, reason);
}

/* ---- streams ------------------------------------------------------- */

struct ctl_stream *
ctl_stream_start(struct ctl_req *req, json_t *result,
    const struct ctl_stream_ops *ops, void *arg)
{
	struct ctl_conn		*c = req->conn;
	struct ctl_stream	*st;
	const char		*method = req->method;	/* the table's */

	if (!ctl_req_connected(req) || c == NULL ||
	    c->state != CTL_CONN_OPEN || c->stream != NULL) {
		ctl_reply(req, result);
		return (NULL);
	}
	st = xcalloc(1, sizeof *st);
	st->conn = c;
	st->ops = ops;
	st->arg = arg;
	c->stream = st;
	ctl_reply(req, result);		/* frees REQ */
	evtimer_del(c->timer);
	c->waiting = CTL_WAIT_NONE;
	bufferevent_setwatermark(c->bev, EV_WRITE,
	    c->server->limits.stream_output / 2, 0);
	ctl_stream_sndbuf(c);
	log_debug("msg=\"control connection streams\" conn=%u uid=%lu "
	    "method=%s", c->number, (u_long)c->caller.uid, method);
	return (st);
}

int
ctl_stream_room(struct ctl_stream *st)
{
	struct ctl_conn	*c = st->conn;

	if (evbuffer_get_length(bufferevent_get_output(c->bev)) <
	    c->server->limits.stream_output)
		return (1);
	st->paused = 1;
	return (0);
}

size_t
ctl_stream_unread(struct ctl_stream *st)
{
	return (evbuffer_get_length(bufferevent_get_output(st->conn->bev)));
}

/* Past the bound only by what the producer sends without asking for
 * room; never closed from here (CLOSED is not called inside a call). */
void
ctl_stream_write(struct ctl_stream *st, const char *line, size_t len)
{
	ctl_conn_put(st->conn, line, len);
}

void
ctl_stream_notify(struct ctl_stream *st, const char *method, json_t *params)
{
	json_t	*msg;
	char	*s;

	msg = json_pack("{s:s,s:s,s:o}", "jsonrpc", "2.0", "method", method,
	    "params", params != NULL ? params : json_object());
	if (msg == NULL || (s = json_dumps(msg, JSON_COMPACT)) == NULL)
		fatalx("ctl_stream_notify: cannot encode %s", method);
	json_decref(msg);
	ctl_conn_put(st->conn, s, strlen(s));
	free(s);
}

void
ctl_stream_end(struct ctl_stream *st, const char *method, json_t *params)
{
	struct ctl_conn	*c = st->conn;

	if (method != NULL)
		ctl_stream_notify(st, method, params);
	else
		json_decref(params);
	c->stream = NULL;
	free(st);
	log_debug("msg=\"control stream ended\" conn=%u uid=%lu", c->number,
	    (u_long)c->caller.uid);
	ctl_conn_finish(c, NULL);
}

/*
 * A stream's kernel send buffer is at most its own bound, so that what a
 * client that stopped reading holds up is about twice the bound, in the
 * daemon's and the kernel's memory together (a larger bound keeps the
 * system's default).
 */
static void
ctl_stream_sndbuf(struct ctl_conn *c)
{
	int		 fd = bufferevent_getfd(c->bev), cur = 0, want;
	socklen_t	 len = sizeof cur;

	if (c->server->limits.stream_output > INT_MAX / 2)
		return;
	want = (int)c->server->limits.stream_output;
	if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &cur, &len) == -1 ||
	    cur <= want)
		return;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want) == -1)
		log_warn("msg=\"control stream: SO_SNDBUF\" conn=%u",
		    c->number);
}

/* C closes or flushes: its stream's producer, if any, hears of it. */
static void
ctl_stream_gone(struct ctl_conn *c)
{
	struct ctl_stream	*st = c->stream;

	if (st == NULL)
		return;
	c->stream = NULL;
	st->ops->closed(st->arg);
	free(st);
}

/* ---- the transport-neutral reply of a request ----------------------- */

/* The JSON-RPC code of each kind of refusal: the one place they meet. */
static const int ctl_reply_codes[REPLY_KIND_MAX] = {
	[REPLY_INVALID] = CTL_E_INVALID_PARAMS,
	[REPLY_NOT_FOUND] = CTL_E_NOT_FOUND,
	[REPLY_CONFLICT] = CTL_E_CONFLICT,
	[REPLY_FORBIDDEN] = CTL_E_FORBIDDEN,
	[REPLY_BUDGET] = CTL_E_BUDGET,
	[REPLY_OVERLOADED] = CTL_E_OVERLOADED,
	[REPLY_UNAVAILABLE] = CTL_E_UNAVAILABLE,
	[REPLY_INTERNAL] = CTL_E_INTERNAL,
};

int
ctl_reply_code(enum reply_kind kind)
{
	return ((unsigned)kind < REPLY_KIND_MAX ? ctl_reply_codes[kind] :
	    CTL_E_INTERNAL);
}

static void
ctl_reply_ok(struct reply *r, json_t *result)
{
	ctl_reply((struct ctl_req *)r, result);
}

static void
ctl_reply_fail(struct reply *r, enum reply_kind kind, const char *message,
    json_t *data)
{
	const char	*field, *reason;
	json_t		*fr;

	/* The reason never repeats its field ("cron: cron: ..."). */
	field = json_string_value(json_object_get(data, "field"));
	reason = json_string_value(json_object_get(data, "reason"));
	if (field != NULL && reason != NULL) {
		fr = ctl_error_fields(field, reason);
		json_object_update(data, fr);
		json_decref(fr);
	}
	ctl_error_data((struct ctl_req *)r, ctl_reply_code(kind), message,
	    data);
}

static int
ctl_reply_waiting(struct reply *r)
{
	return (ctl_req_connected((struct ctl_req *)r));
}

static const struct reply_ops ctl_reply_ops = {
	.ok = ctl_reply_ok,
	.fail = ctl_reply_fail,
	.waiting = ctl_reply_waiting,
};

/* The request's reply, for the domain to answer. */
struct reply *
ctl_req_reply(struct ctl_req *req)
{
	return (&req->reply);
}

/* Call FN(ARG) once REQ is answered (one hook per request). */
void
ctl_req_on_done(struct ctl_req *req, void (*fn)(void *), void *arg)
{
	req->done = fn;
	req->done_arg = arg;
}

/* The request is answered: log it, let its connection read on, free it. */
static void
ctl_req_done(struct ctl_req *req, int code)
{
	struct ctl_conn	*c = req->conn;
	void		(*answer)(json_t *, void *) = req->answer;

	if (req->done != NULL)
		req->done(req->done_arg);

	ctl_log_request(c != NULL ? c->number : 0, req->method,
	    &req->reply.caller, req->id, code, req->start_us);
	if (c != NULL) {
		TAILQ_REMOVE(&c->reqs, req, entry);
		c->inflight--;
		if (c->state == CTL_CONN_OPEN)
			event_active(c->resume, EV_TIMEOUT, 0);
	}
	json_decref(req->id);
	req->id = NULL;
	if (answer != NULL) {		/* answered without a response */
		req->answer = NULL;
		answer(NULL, req->answer_arg);
	}
	if (req->calling)
		req->finished = 1;	/* ctl_call frees it */
	else
		free(req);
}

/* One trace line per request; never its params (they may hold secrets). */
static void
ctl_log_request(u_int conn, const char *method, const struct caller *caller,
    json_t *id, int code, int64_t start)
{
	char	m[72], idbuf[72], who[48];

	if ((log_trace_bits & TRACE_CTL) == 0)
		return;
	ctl_log_token(method != NULL ? method : "-", m, sizeof m);
	if (json_is_integer(id))
		snprintf(idbuf, sizeof idbuf, "%lld",
		    (long long)json_integer_value(id));
	else if (json_is_string(id))
		ctl_log_token(json_string_value(id), idbuf, sizeof idbuf);
	else
		snprintf(idbuf, sizeof idbuf, "-");
	if (caller->token[0] != '\0')
		snprintf(who, sizeof who, "token=%s", caller->token);
	else
		snprintf(who, sizeof who, "uid=%lu", (u_long)caller->uid);
	log_trace(TRACE_CTL, "msg=\"ctl request\" conn=%u method=%s %s "
	    "id=%s code=%d us=%lld", conn, m, who, idbuf, code,
	    (long long)(mono_us() - start));
}

/* Copy S for a log line: [A-Za-z0-9._:-] only, at most 64 bytes. */
static void
ctl_log_token(const char *s, char *buf, size_t len)
{
	size_t	i;

	for (i = 0; s[i] != '\0' && i < 64 && i + 1 < len; i++) {
		if (isalnum((unsigned char)s[i]) || strchr("._:-", s[i]) !=
		    NULL)
			buf[i] = s[i];
		else
			buf[i] = '?';
	}
	buf[i] = '\0';
}
