/*
 * daemon/witness.c: the checkpoint witness.  Each checkpoint the journal
 * makes durable (checkpoint_set_hook, on the loop) is also written where
 * the host cannot quietly rewrite it along with the data directory:
 *
 *   --checkpoint-log FILE   appended (O_APPEND, then fsync), one entry per
 *                           checkpoint: a line "--- checkpoint seq=N
 *                           time=RFC3339" and the signed note; the file
 *                           is never truncated or rewritten
 *   --checkpoint-syslog     one syslog(3) line at LOG_INFO, the note's
 *                           newlines written as "\n"
 *   --checkpoint-url URL    POSTed as {"seq", "note"} through the engine's
 *                           HTTP client (address filter included), never
 *                           blocking the loop, tried WITNESS_ATTEMPTS
 *                           times
 *
 * A witness that fails is logged and counted
 * (chime_checkpoint_witness_failures_total{witness}: each failed write,
 * each failed POST attempt, each POST dropped); the journal goes on.
 * At shutdown, witness_stop gives POSTs in flight WITNESS_DRAIN_MS.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include <event2/event.h>

#include "engine.h"
#include "journal.h"
#include "ctl.h"
#include "daemon.h"

#define WITNESS_ATTEMPTS	5
#define WITNESS_MAX_POSTS	64	/* in flight or waiting to retry */
#define WITNESS_DRAIN_MS	5000
#define WITNESS_TIMEOUT_MS	10000
#define WITNESS_OK		"chime_checkpoints_witnessed_total"
#define WITNESS_FAILED		"chime_checkpoint_witness_failures_total"

/* One POST of one checkpoint, until it succeeds or its attempts end. */
struct witness_post {
	TAILQ_ENTRY(witness_post) entry;
	uint64_t		 seq;
	char			*body;
	int			 attempt;
	struct http_job		*job;		/* NULL between attempts */
	struct event		*timer;
};
TAILQ_HEAD(witness_posts, witness_post);

static const int64_t witness_delays_ms[WITNESS_ATTEMPTS] = {
	0, 1000, 5000, 30000, 120000
};

static int			 witness_fd = -1;
static char			*witness_log_path;
static int			 witness_syslog;
static char			*witness_url;
static struct witness_posts	 witness_posts =
				    TAILQ_HEAD_INITIALIZER(witness_posts);
static size_t			 witness_nposts;
static int			 witness_stopping;

static void	 witness_hook(uint64_t, const char *, void *);
static void	 witness_file(uint64_t, const char *);
static void	 witness_log(uint64_t, const char *);
static void	 witness_enqueue(uint64_t, const char *);
static void	 witness_send(evutil_socket_t, short, void *);
static void	 witness_done(struct exec_result *, void *);
static void	 witness_post_free(struct witness_post *);
static void	 witness_count(const char *, const char *);

int
witness_start(const struct witness_config *cfg, char **cause)
{
	const char	*labels[1] = { "witness" };
	char		*why = NULL;

	if (metrics_counter(WITNESS_OK, "Checkpoints written to a witness, "
	    "by witness (file, syslog, url).", labels, 1, cause) != 0 ||
	    metrics_counter(WITNESS_FAILED, "Checkpoints a witness could not "
	    "take, by witness (file, syslog, url).", labels, 1, cause) != 0)
		return (-1);
	if (cfg->log_path != NULL) {
		witness_fd = open(cfg->log_path, O_WRONLY | O_APPEND | O_CREAT |
		    O_CLOEXEC, 0640);
		if (witness_fd == -1) {
			xasprintf(cause, "--checkpoint-log %s: %s",
			    cfg->log_path, strerror(errno));
			return (-1);
		}
		witness_log_path = xstrdup(cfg->log_path);
	}
	if (cfg->url != NULL) {
		if (http_url_check(cfg->url, &why) != 0) {
			/* not the URL: it may hold a password */
			xasprintf(cause, "--checkpoint-url: %s", why);
			free(why);
			witness_stop();
			return (-1);
		}
		witness_url = xstrdup(cfg->url);
	}
	if ((witness_syslog = cfg->syslog))
		openlog("chimed", LOG_PID | LOG_NDELAY, LOG_DAEMON);
	checkpoint_set_hook(engine->journal, witness_hook, NULL);
	return (0);
}

/* A checkpoint is durable: hand it to every witness. */
static void
witness_hook(uint64_t seq, const char *note, void *arg)
{
	log_info("msg=\"journal checkpoint\" seq=%llu",
	    (unsigned long long)seq);
	if (witness_fd != -1)
		witness_file(seq, note);
	if (witness_syslog)
		witness_log(seq, note);
	if (witness_url != NULL)
		witness_enqueue(seq, note);
}

static void
witness_count(const char *name, const char *witness)
{
	metrics_count(name, witness, 1);
}

/* One entry, in one write, then fsync. */
static void
witness_file(uint64_t seq, const char *note)
{
	char	*entry, ts[64];
	size_t	 len;
	ssize_t	 n;

	xasprintf(&entry, "--- checkpoint seq=%llu time=%s\n%s",
	    (unsigned long long)seq, fmt_rfc3339_ms(now_us(), ts, sizeof ts),
	    note);
	len = strlen(entry);
	n = write(witness_fd, entry, len);
	free(entry);
	if (n != (ssize_t)len || fsync(witness_fd) == -1) {
		if (n >= 0 && n != (ssize_t)len)
			errno = EIO;
		log_warn("msg=\"checkpoint witness: cannot write the "
		    "checkpoint log\" path=\"%s\" seq=%llu",
		    log_escape(witness_log_path), (unsigned long long)seq);
		witness_count(WITNESS_FAILED, "file");
		return;
	}
	witness_count(WITNESS_OK, "file");
}

/* One line: the note with its newlines as "\n". */
static void
witness_log(uint64_t seq, const char *note)
{
	char		*line, *p;
	const char	*s;

	line = xmalloc(2 * strlen(note) + 1);
	for (s = note, p = line; *s != '\0'; s++) {
		if (*s == '\n') {
			*p++ = '\\';
			*p++ = 'n';
		} else
			*p++ = *s;
	}
	*p = '\0';
	syslog(LOG_INFO, "checkpoint seq=%llu note=%s",
	    (unsigned long long)seq, line);
	free(line);
	witness_count(WITNESS_OK, "syslog");
}

/* Queue a POST of the checkpoint; the oldest gives way past the bound. */
static void
witness_enqueue(uint64_t seq, const char *note)
{
	struct witness_post	*wp;
	json_t			*body;

	if (witness_nposts >= WITNESS_MAX_POSTS) {
		TAILQ_FOREACH(wp, &witness_posts, entry) {
			if (wp->job == NULL)
				break;
		}
		log_warnx("msg=\"checkpoint witness: too many POSTs pending, "
		    "dropping one\" seq=%llu", (unsigned long long)(wp != NULL ?
		    wp->seq : seq));
		witness_count(WITNESS_FAILED, "url");
		if (wp == NULL)
			return;		/* all in flight: this one goes */
		witness_post_free(wp);
	}
	wp = xcalloc(1, sizeof *wp);
	wp->seq = seq;
	body = json_pack("{s:I,s:s}", "seq", (json_int_t)seq, "note", note);
	wp->body = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (wp->body == NULL)
		fatalx("out of memory");
	if ((wp->timer = evtimer_new(engine->base, witness_send, wp)) == NULL)
		fatalx("checkpoint witness: cannot create a timer");
	TAILQ_INSERT_TAIL(&witness_posts, wp, entry);
	witness_nposts++;
	witness_send(-1, 0, wp);
}

/* Start the next attempt of WP. */
static void
witness_send(evutil_socket_t fd, short events, void *arg)
{
	struct witness_post	*wp = arg;
	struct http_post	 p;
	struct exec_result	 r;
	char			*cause = NULL, label[64];

	memset(&p, 0, sizeof p);
	snprintf(label, sizeof label, "checkpoint-%llu",
	    (unsigned long long)wp->seq);
	p.label = label;
	p.url = witness_url;
	p.body = wp->body;
	p.len = strlen(wp->body);
	p.timeout_ms = WITNESS_TIMEOUT_MS;
	wp->attempt++;
	if ((wp->job = http_post(&p, witness_done, wp, &cause)) != NULL)
		return;
	memset(&r, 0, sizeof r);
	r.status = EXEC_FAILED;
	r.error = cause;
	witness_done(&r, wp);
	free(cause);
}

/* An attempt ended: done, or another after its delay, or given up.  The
 * result is ours to free. */
static void
witness_done(struct exec_result *r, void *arg)
{
	struct witness_post	*wp = arg;
	int64_t			 delay;

	wp->job = NULL;
	if (r->status == EXEC_SUCCESS) {
		log_debug("msg=\"checkpoint witness: posted\" seq=%llu",
		    (unsigned long long)wp->seq);
		witness_count(WITNESS_OK, "url");
		witness_post_free(wp);
		exec_result_free(r);
		return;
	}
	witness_count(WITNESS_FAILED, "url");	/* every failed attempt */
	if (wp->attempt >= WITNESS_ATTEMPTS || witness_stopping) {
		log_warnx("msg=\"checkpoint witness: POST failed, giving up\" "
		    "seq=%llu attempts=%d error=\"%s\"",
		    (unsigned long long)wp->seq, wp->attempt,
		    log_escape(r->error != NULL ? r->error : "unknown"));
		witness_post_free(wp);
		exec_result_free(r);
		return;
	}
	delay = witness_delays_ms[wp->attempt];
	if (r->retry_after_ms > delay)
		delay = r->retry_after_ms;
	log_warnx("msg=\"checkpoint witness: POST failed, trying again\" "
	    "seq=%llu attempt=%d in_ms=%lld error=\"%s\"",
	    (unsigned long long)wp->seq, wp->attempt, (long long)delay,
	    log_escape(r->error != NULL ? r->error : "unknown"));
	exec_result_free(r);
	timeout_add_us(wp->timer, delay * USEC_PER_MSEC);
}

/* Free WP, never while its job is in flight (its callback would come). */
static void
witness_post_free(struct witness_post *wp)
{
	TAILQ_REMOVE(&witness_posts, wp, entry);
	witness_nposts--;
	event_free(wp->timer);
	free(wp->body);
	free(wp);
}

void
witness_stop(void)
{
	struct witness_post	*wp, *next;
	struct timeval		 tv = { 0, 100000 };
	int64_t			 until = mono_us() + WITNESS_DRAIN_MS *
				    USEC_PER_MSEC;

	/* The checkpoint at close is POSTed too, once, if it can be soon;
	 * the loop runs 0.1 s at a time. */
	witness_stopping = 1;
	while (!TAILQ_EMPTY(&witness_posts) && mono_us() < until) {
		for (wp = TAILQ_FIRST(&witness_posts); wp != NULL; wp = next) {
			next = TAILQ_NEXT(wp, entry);
			if (wp->job == NULL) {
				event_del(wp->timer);
				witness_send(-1, 0, wp);
			}
		}
		event_base_loopexit(engine->base, &tv);
		event_base_loop(engine->base, 0);
	}
	TAILQ_FOREACH(wp, &witness_posts, entry) {
		log_warnx("msg=\"checkpoint witness: POST not done at "
		    "shutdown\" seq=%llu", (unsigned long long)wp->seq);
		if (wp->job != NULL)
			http_abort(wp->job);	/* its callback frees it */
	}
	while (!TAILQ_EMPTY(&witness_posts))
		event_base_loop(engine->base, EVLOOP_ONCE);
	if (witness_fd != -1)
		close(witness_fd);
	witness_fd = -1;
	free(witness_log_path);
	witness_log_path = NULL;
	free(witness_url);
	witness_url = NULL;
	if (witness_syslog)
		closelog();
	witness_syslog = 0;
}
