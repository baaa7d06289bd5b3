/*
 * daemon/method-events.c: events.watch, the journal followed live on the
 * control socket, and the machinery of every such follower.  Each watcher
 * is a cursor (the next seq to read) over the log and a sink: a stream of
 * the control server (ctl_stream_*), where it sends each record as an
 * {"method":"event","params": EVENT} notification, or another transport's
 * (GET /v1/events, daemon/http-events.c) through struct watch_sink_ops.
 * It sends the backlog from its first seq, then each record as it becomes
 * durable, in seq order, EVENT being the export object of the record
 * (record_to_json).
 *
 * The log is read on the loop in slices (at most WATCH_SLICE_RECORDS
 * records or WATCH_SLICE_BYTES bytes per turn, one read transaction each),
 * so that a long backlog never holds the loop.  A watcher whose client
 * does not read pauses at the stream's bound and costs no more memory; a
 * commit hook wakes the watchers that are caught up.  One paused for
 * longer than the stall limit, one the daemon drains under, and one whose
 * next record cannot be read end with an "events.end" notification that
 * says from which seq to resume.
 *
 * Who sees what: an admin every record (or one account's, with
 * "account"); anyone else only records of accounts it may act for, asked
 * again for each record (a grant taken back stops the flow), never a
 * record without an account.
 *
 * The records the watchers are sending are rendered once: a ring of the
 * last WATCH_CACHE rendered records, by seq, serves every watcher near
 * the head.
 */
#include <sys/types.h>
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "engine.h"
#include "journal.h"
#include "actors.h"
#include "ctl.h"
#include "daemon.h"

#define WATCH_SLICE_RECORDS	1000
#define WATCH_SLICE_BYTES	(4 * 1024 * 1024)
#define WATCH_CACHE		4096	/* rendered records kept (a power
					   of two) */
#define WATCH_METRIC_WATCHERS	"chime_watchers"
#define WATCH_METRIC_EVENTS	"chime_watch_events_total"
#define WATCH_METRIC_ENDED	"chime_watch_ended_total"

struct watcher {
	TAILQ_ENTRY(watcher)	 entry;
	void			*stream;	/* the sink; NULL once ended */
	const struct watch_sink_ops *sink;
	struct caller		 caller;
	char			*account;	/* only this one, or NULL */
	struct ctl_kinds	*kinds;		/* NULL: every kind */
	uint64_t		 next;		/* the next seq to read */
	uint64_t		 sent;
	struct event		*pump;
	struct event		*stall;
	int			 paused;
	int64_t			 paused_us;	/* mono, when it paused */
};
TAILQ_HEAD(watchers, watcher);


/* One slice of a watcher's read. */
struct watch_slice {
	struct watcher	*w;
	uint64_t	 head;
	size_t		 records;
	size_t		 bytes;
	uint64_t	 events;
	int		 blocked;	/* no room in the stream */
	int		 more;		/* the slice is full */
	int		 gap;		/* the next record is gone */
	const struct watch_rendered *bad;
};

static void	 watch_pump(evutil_socket_t, short, void *);
static int	 watch_entry(const struct journal_entry *, void *);
static const struct watch_rendered *watch_render(
		     const struct journal_entry *);
static int	 watch_visible(const struct watcher *,
		     const struct watch_rendered *);
static int	 watch_ctl_room(void *);
static void	 watch_ctl_event(void *, const struct watch_rendered *);
static size_t	 watch_ctl_unread(void *);
static void	 watch_ctl_end(void *, json_t *);
static void	 watch_stalled(evutil_socket_t, short, void *);
static const char *watch_who(const struct watcher *);
static void	 watch_end(struct watcher *, const char *, json_t *);
static void	 watch_release(struct watcher *);
static void	 watch_reap(evutil_socket_t, short, void *);
static void	 watch_commit(size_t, int64_t, void *);
static int	 watch_first(const struct journal_entry *, void *);
static uint64_t	 watch_first_seq(struct journal *);
static double	 watch_count_cb(void *);

static struct watchers		 watchers = TAILQ_HEAD_INITIALIZER(watchers);
static struct watchers		 watchers_dead =
				     TAILQ_HEAD_INITIALIZER(watchers_dead);
static size_t			 watchers_n;
static struct event		*watch_reap_ev;
static int			 watch_hooked;
static int64_t			 watch_stall_us = WATCH_STALL_DEFAULT;
static size_t			 watch_max = WATCH_MAX_DEFAULT;
static struct watch_rendered	 watch_cache[WATCH_CACHE];

/* The control socket's streams. */
static const struct ctl_stream_ops watch_ops = {
	.writable = events_watch_writable,
	.closed = events_watch_closed,
};
static const struct watch_sink_ops watch_ctl_sink = {
	.room = watch_ctl_room,
	.event = watch_ctl_event,
	.unread = watch_ctl_unread,
	.end = watch_ctl_end,
};

static int
watch_ctl_room(void *sink)
{
	return (ctl_stream_room(sink));
}

static void
watch_ctl_event(void *sink, const struct watch_rendered *r)
{
	ctl_stream_write(sink, r->line, r->len);
}

static size_t
watch_ctl_unread(void *sink)
{
	return (ctl_stream_unread(sink));
}

static void
watch_ctl_end(void *sink, json_t *params)
{
	ctl_stream_end(sink, "events.end", params);
}

/*
 * Set the limits (a watcher paused longer than STALL_US is ended; at most
 * MAX watchers at once) and register the metrics.  Once, at start.
 */
void
events_watch_init(int64_t stall_us, size_t max)
{
	static const char *const reason[] = { "reason" };
	static const char *const reasons[] = { "stalled", "draining",
	    "closed", "bad_record", "pruned", "read_error" };
	char		*cause = NULL;
	size_t		 i;
	int		 rc = 0;

	if (stall_us > 0)
		watch_stall_us = stall_us;
	if (max > 0)
		watch_max = max;
	watch_reap_ev = event_new(engine->base, -1, 0, watch_reap, NULL);
	if (watch_reap_ev == NULL)
		fatalx("events_watch_init: event_new failed");
	rc |= metrics_callback(WATCH_METRIC_WATCHERS, "Connections following "
	    "the journal with events.watch.", 0, NULL, NULL, watch_count_cb,
	    NULL, &cause);
	rc |= metrics_counter(WATCH_METRIC_EVENTS, "Events sent to watchers "
	    "(each watcher's events counted).", NULL, 0, &cause);
	rc |= metrics_counter(WATCH_METRIC_ENDED, "Watches ended by the "
	    "daemon or the client, by reason.", reason, 1, &cause);
	if (rc != 0)
		fatalx("metrics: %s", cause);
	metrics_count(WATCH_METRIC_EVENTS, NULL, 0);
	for (i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
		metrics_count(WATCH_METRIC_ENDED, reasons[i], 0);
}

static double
watch_count_cb(void *arg)
{
	return ((double)watchers_n);
}

/* The daemon drains: every watcher ends, to resume after the restart. */
void
events_watch_drain(void)
{
	struct watcher	*w;

	while ((w = TAILQ_FIRST(&watchers)) != NULL)
		watch_end(w, "draining", NULL);
}

/* At exit, after the control server closed its connections. */
void
events_watch_free(void)
{
	size_t	i;

	events_watch_drain();
	watch_reap(-1, 0, NULL);
	if (watch_hooked && engine->journal != NULL)
		journal_remove_commit_hook(engine->journal, watch_commit, NULL);
	watch_hooked = 0;
	if (watch_reap_ev != NULL)
		event_free(watch_reap_ev);
	watch_reap_ev = NULL;
	for (i = 0; i < WATCH_CACHE; i++) {
		free(watch_cache[i].kind);
		free(watch_cache[i].account);
		free(watch_cache[i].line);
		free(watch_cache[i].error);
	}
	memset(watch_cache, 0, sizeof watch_cache);
}

static int
watch_first(const struct journal_entry *e, void *arg)
{
	*(uint64_t *)arg = e->seq;
	return (1);
}

/* The first seq of the log (later than 1 once a prefix was archived),
 * 0 if it is empty or cannot be read. */
static uint64_t
watch_first_seq(struct journal *j)
{
	uint64_t	 first = 0;
	char		*cause = NULL;

	if (journal_log_foreach(j, 1, NULL, watch_first, &first, &cause) ==
	    -1) {
		log_warnx("msg=\"events.watch: cannot read the log\" "
		    "error=\"%s\"", log_escape(cause));
		free(cause);
	}
	return (first);
}

int
events_watch_open(const struct caller *caller, const char *account,
    json_t *list, int64_t from_seq, struct watcher **wp, json_t **result,
    json_t **error)
{
	struct journal		*j = engine->journal;
	struct ctl_kinds	*kinds = NULL;
	struct watcher		*w;
	uint64_t		 head = journal_seq(j), first, from;
	char			*cause = NULL, reason[96];
	int			 adjusted = 0;

	*error = NULL;
	if (engine->draining) {
		*error = ctl_error_object(CTL_E_UNAVAILABLE, "the daemon is "
		    "draining: watch again once it has restarted", NULL, NULL);
		json_object_set_new(*error, "data", json_pack("{s:s}",
		    "reason", "draining"));
		return (-1);
	}
	if (watchers_n >= watch_max) {
		*error = ctl_error_object(CTL_E_OVERLOADED, "too many "
		    "watchers; try again later", NULL, NULL);
		return (-1);
	}
	if (list != NULL && (kinds = ctl_kinds_parse(list, &cause)) == NULL) {
		*error = ctl_error_object(CTL_E_INVALID_PARAMS,
		    "invalid params", "kinds", cause);
		free(cause);
		return (-1);
	}
	from = from_seq > 0 ? (uint64_t)from_seq : head + 1;
	if (from > head + 1) {
		snprintf(reason, sizeof reason, "after the head: at most %llu "
		    "(the head %llu + 1)", (unsigned long long)head + 1,
		    (unsigned long long)head);
		*error = ctl_error_object(CTL_E_INVALID_PARAMS,
		    "invalid params", "from_seq", reason);
		ctl_kinds_free(kinds);
		return (-1);
	}
	first = watch_first_seq(j);
	if (first != 0 && from < first) {
		from = first;
		adjusted = 1;
	}
	*result = json_pack("{s:I,s:I,s:I,s:b}", "from_seq", (json_int_t)from,
	    "head_seq", (json_int_t)head, "first_seq", (json_int_t)first,
	    "from_seq_adjusted", adjusted);
	w = xcalloc(1, sizeof *w);
	w->caller = *caller;
	w->account = account != NULL ? xstrdup(account) : NULL;
	w->kinds = kinds;
	w->next = from;
	w->pump = event_new(engine->base, -1, 0, watch_pump, w);
	w->stall = evtimer_new(engine->base, watch_stalled, w);
	if (w->pump == NULL || w->stall == NULL)
		fatalx("events_watch_open: event_new failed");
	TAILQ_INSERT_TAIL(&watchers, w, entry);
	watchers_n++;
	*wp = w;
	return (0);
}

void
events_watch_start(struct watcher *w, const struct watch_sink_ops *ops,
    void *sink)
{
	if (sink == NULL) {		/* the caller went meanwhile */
		watch_release(w);
		return;
	}
	w->sink = ops;
	w->stream = sink;
	if (!watch_hooked) {
		journal_add_commit_hook(engine->journal, watch_commit, NULL);
		watch_hooked = 1;
	}
	log_debug("msg=\"watch started\" %s=%s from=%llu head=%llu",
	    w->caller.token[0] != '\0' ? "token" : "uid",
	    watch_who(w), (unsigned long long)w->next,
	    (unsigned long long)journal_seq(engine->journal));
	event_active(w->pump, EV_TIMEOUT, 0);
}

/* W's caller for a log line: its token id, or its uid (static buffer). */
static const char *
watch_who(const struct watcher *w)
{
	static char	buf[32];

	if (w->caller.token[0] != '\0')
		return (w->caller.token);
	snprintf(buf, sizeof buf, "%lu", (u_long)w->caller.uid);
	return (buf);
}

/*
 * events.watch {from_seq?, kinds?, account?}: answer {from_seq, head_seq,
 * first_seq, from_seq_adjusted}, then stream.  The account, if given, was
 * authorised by daemon_method_run (T->account).
 */
static void
method_events_watch(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct watcher	*w;
	json_t		*result, *error;
	int64_t		 from = 0;

	param_int(params, "from_seq", &from);
	if (events_watch_open(ctl_req_caller(req), t->account,
	    json_object_get(params, "kinds"), from, &w, &result,
	    &error) != 0) {
		ctl_error_data(req, (int)json_integer_value(json_object_get(
		    error, "code")), json_string_value(json_object_get(error,
		    "message")), json_incref(json_object_get(error, "data")));
		json_decref(error);
		return;
	}
	events_watch_start(w, &watch_ctl_sink, ctl_stream_start(req, result,
	    &watch_ops, w));
}

/*
 * One slice of W's read: records from W->next up to the durable head,
 * until the slice is full or the stream has no room; then go on at the
 * next turn, wait for the client, or wait for a commit.
 */
static void
watch_pump(evutil_socket_t fd, short events, void *arg)
{
	struct watcher		*w = arg;
	struct watch_slice	 sl;
	char			*cause = NULL;
	int			 rc;

	if (w->stream == NULL || w->paused)
		return;
	memset(&sl, 0, sizeof sl);
	sl.w = w;
	sl.head = journal_seq(engine->journal);
	if (w->next > sl.head)
		return;
	rc = journal_log_foreach(engine->journal, w->next, NULL, watch_entry,
	    &sl, &cause);
	if (sl.events != 0) {
		metrics_count(WATCH_METRIC_EVENTS, NULL, sl.events);
		w->sent += sl.events;
	}
	if (rc == -1) {
		log_warnx("msg=\"watch cannot read the log\" seq=%llu "
		    "error=\"%s\"", (unsigned long long)w->next,
		    log_escape(cause));
		watch_end(w, "read_error", json_pack("{s:s}", "error", cause));
		free(cause);
	} else if (sl.bad != NULL) {
		log_warnx("msg=\"watch: a record does not decode\" seq=%llu "
		    "error=\"%s\"", (unsigned long long)sl.bad->seq,
		    log_escape(sl.bad->error));
		watch_end(w, "bad_record", json_pack("{s:I,s:s}", "seq",
		    (json_int_t)sl.bad->seq, "error", sl.bad->error));
	} else if (sl.gap)
		watch_end(w, "pruned", NULL);
	else if (sl.blocked) {
		w->paused = 1;
		w->paused_us = mono_us();
		timeout_add_us(w->stall, watch_stall_us);
	} else if (w->next <= sl.head)
		timeout_add_us(w->pump, 0);	/* the rest: after the loop polls */
}

/* One log entry of a slice: send it if the watcher may see it and wants
 * it; 1 stops the slice. */
static int
watch_entry(const struct journal_entry *e, void *arg)
{
	struct watch_slice		*sl = arg;
	struct watcher			*w = sl->w;
	const struct watch_rendered	*r;

	if (e->seq > sl->head)
		return (1);
	if (e->seq != w->next) {
		sl->gap = 1;
		return (1);
	}
	if (sl->records >= WATCH_SLICE_RECORDS ||
	    sl->bytes >= WATCH_SLICE_BYTES) {
		sl->more = 1;
		return (1);
	}
	if (!w->sink->room(w->stream)) {
		sl->blocked = 1;
		return (1);
	}
	sl->records++;
	sl->bytes += e->len;
	r = watch_render(e);
	if (r->line == NULL) {
		sl->bad = r;
		return (1);
	}
	if (watch_visible(w, r)) {
		w->sink->event(w->stream, r);
		sl->events++;
	}
	w->next = e->seq + 1;
	return (0);
}

/* The record of E, rendered once for every watcher (borrowed: valid
 * until the next call). */
static const struct watch_rendered *
watch_render(const struct journal_entry *e)
{
	struct watch_rendered	*r = &watch_cache[e->seq & (WATCH_CACHE - 1)];
	struct record		 rec;
	json_t			*ev;
	char			*s, *cause = NULL;

	if (r->seq == e->seq)
		return (r);
	free(r->kind);
	free(r->account);
	free(r->line);
	free(r->error);
	memset(r, 0, sizeof *r);
	r->seq = e->seq;
	memset(&rec, 0, sizeof rec);
	if (record_decode(e->rec, e->len, &rec, &cause) == -1 ||
	    (ev = record_to_json(&rec, e->hash, &cause)) == NULL) {
		r->error = cause;
		record_clear(&rec);
		return (r);
	}
	r->kind = xstrdup(rec.kind);
	r->account = rec.account != NULL ? xstrdup(rec.account) : NULL;
	record_clear(&rec);
	if ((s = json_dumps(ev, JSON_COMPACT)) == NULL)
		fatalx("watch_render: json_dumps failed");
	json_decref(ev);
	r->len = xasprintf(&r->line, "%s%s}", WATCH_LINE_HEAD, s);
	free(s);
	return (r);
}

/* May W see R, and does it want it? */
static int
watch_visible(const struct watcher *w, const struct watch_rendered *r)
{
	struct account	*a;

	if (r->account == NULL) {
		if (!w->caller.admin || w->account != NULL)
			return (0);
	} else {
		if (w->account != NULL && strcmp(w->account, r->account) != 0)
			return (0);
		if (!w->caller.admin && ((a = account_find(r->account)) ==
		    NULL || !account_allows(a, &w->caller)))
			return (0);
	}
	return (w->kinds == NULL || ctl_kinds_match(w->kinds, r->kind));
}

/* The client read the stream down: go on. */
void
events_watch_writable(void *arg)
{
	struct watcher	*w = arg;

	w->paused = 0;
	evtimer_del(w->stall);
	event_active(w->pump, EV_TIMEOUT, 0);
}

/* The client went (or the server stopped): forget the stream. */
void
events_watch_closed(void *arg)
{
	struct watcher	*w = arg;

	w->stream = NULL;
	metrics_count(WATCH_METRIC_ENDED, "closed", 1);
	log_debug("msg=\"watch closed by the client\" who=%s next=%llu "
	    "sent=%llu", watch_who(w), (unsigned long long)w->next,
	    (unsigned long long)w->sent);
	watch_release(w);
}

/* Paused past the stall limit: the client is not reading. */
static void
watch_stalled(evutil_socket_t fd, short events, void *arg)
{
	struct watcher	*w = arg;

	log_info("msg=\"watcher not reading; ended\" who=%s resume_from=%llu "
	    "unread=%zu paused_ms=%lld", watch_who(w),
	    (unsigned long long)w->next, w->sink->unread(w->stream),
	    (long long)((mono_us() - w->paused_us) / USEC_PER_MSEC));
	watch_end(w, "stalled", NULL);
}

/*
 * End W's stream: the final "events.end" notification {resume_from (the
 * first seq W did not send), reason, and the members of EXTRA (stolen)},
 * then close once written.
 */
static void
watch_end(struct watcher *w, const char *reason, json_t *extra)
{
	json_t	*params;

	if (w->stream == NULL) {
		json_decref(extra);
		return;
	}
	params = json_pack("{s:I,s:s}", "resume_from", (json_int_t)w->next,
	    "reason", reason);
	if (extra != NULL) {
		json_object_update(params, extra);
		json_decref(extra);
	}
	w->sink->end(w->stream, params);
	w->stream = NULL;
	metrics_count(WATCH_METRIC_ENDED, reason, 1);
	log_debug("msg=\"watch ended\" who=%s reason=%s resume_from=%llu "
	    "sent=%llu", watch_who(w), reason,
	    (unsigned long long)w->next, (unsigned long long)w->sent);
	watch_release(w);
}

/* W is done: off the list; freed by the reap event, never inside one of
 * its own callbacks. */
static void
watch_release(struct watcher *w)
{
	TAILQ_REMOVE(&watchers, w, entry);
	watchers_n--;
	event_del(w->pump);
	evtimer_del(w->stall);
	TAILQ_INSERT_TAIL(&watchers_dead, w, entry);
	if (watch_reap_ev != NULL)
		event_active(watch_reap_ev, EV_TIMEOUT, 0);
}

static void
watch_reap(evutil_socket_t fd, short events, void *arg)
{
	struct watcher	*w;

	while ((w = TAILQ_FIRST(&watchers_dead)) != NULL) {
		TAILQ_REMOVE(&watchers_dead, w, entry);
		event_free(w->pump);
		event_free(w->stall);
		ctl_kinds_free(w->kinds);
		free(w->account);
		free(w);
	}
	if (TAILQ_EMPTY(&watchers) && watch_hooked &&
	    engine->journal != NULL) {
		journal_remove_commit_hook(engine->journal, watch_commit, NULL);
		watch_hooked = 0;
	}
}

/* Records became durable: wake the watchers that were caught up. */
static void
watch_commit(size_t records, int64_t commit_us, void *arg)
{
	struct watcher	*w;
	uint64_t	 head = journal_seq(engine->journal);

	TAILQ_FOREACH(w, &watchers, entry) {
		if (!w->paused && w->next <= head)
			event_active(w->pump, EV_TIMEOUT, 0);
	}
}

const struct daemon_method daemon_methods_events[] = {
	{ "events.watch", method_events_watch },
	{ NULL, NULL }
};
