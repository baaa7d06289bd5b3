/*
 * actors/webhook.c: inbound webhooks.
 *
 * POST /v1/hooks/SCHEDULE_ID is verified in the schedule's signature style
 * (Standard Webhooks, GitHub or Stripe) against its primary secret and the
 * previous secrets still in their grace period.  A verified delivery
 * becomes a run claiming "webhook:SCHEDULE:MSGID", answered 202 once that
 * claim is durable; a message id seen before answers 200 with the first
 * run.  Every request the daemon answers (except 429, which would add to
 * the load it reports) is journaled as "webhook.received", answered once
 * that record is durable, and kept as a row of the "webhook_events"
 * table.  Refusals of requests nobody signed (401, 404, 503 for a secret,
 * the listener's own 413 and 400) cost nothing to send, so what they
 * write is bounded: in each window (chimed --webhook-refusals), the first
 * so many of one schedule's (and of all unknown schedules',
 * whose ids the sender chooses) are journaled in full; the rest are
 * answered at once, counted, and folded into one record with a "count"
 * when the window ends (struct webhook_fold).  Message ids and events are
 * pruned after the retention period: the "webhook_expiry" table orders them by
 * time, each key "TIME/c/CLAIM" (a claim to release) or "TIME/e/EVENTKEY"
 * (an event row to delete), TIME 16 hex digits of microseconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "actors.h"

#define WEBHOOK_BODY_KEPT	(64 * 1024)	/* body bytes journaled */
#define WEBHOOK_SLOTS_WAITING	100000		/* runs waiting: overloaded */
#define WEBHOOK_EVENTS_DEFAULT	50
#define WEBHOOK_PRUNE_PERIOD	(3600 * USEC_PER_SEC)
#define WEBHOOK_SOURCE_MAX	64
#define WEBHOOK_SID_MAX		64		/* bytes of a schedule id kept */

/* One request to POST /v1/hooks/, from arrival to its answer. */
struct webhook_req {
	struct reply		 reply;		/* first: its run's waiter */
	void			(*send)(void *, int, const char *);
	void			*send_arg;	/* NULL: answered, or nobody
						   to answer */
	const char		*header[WEBHOOK_H_MAX]; /* the edge's */
	struct schedule		*sched;		/* referenced, or NULL */
	char			*sid;		/* as given in the path */
	char			*msgid;		/* or NULL */
	char			 source[WEBHOOK_SOURCE_MAX];
	size_t			 size;
	int			 verified;
	const char		*reason;	/* static; NULL when accepted */
	const char		*body;		/* verified: into the request */
	int			 code;
	char			*answer;	/* JSON text */
	char			*run_id;	/* the answer's, or NULL */
	const char		*outcome;	/* metrics label */
};

/*
 * The refusals of one schedule (key: its id), or of every unknown one (key
 * ""), in a window of webhook_fold_window from the first.  A fold lives
 * for its window only, on webhook_folds in the order windows began (so
 * also in the order they end); the timer writes and frees those whose
 * window ended.
 */
struct webhook_fold {
	struct strmap_node	 node;
	char			 key[WEBHOOK_SID_MAX + 1];
	int64_t			 window_us;	/* began (now_us) */
	u_int			 kept;		/* journaled in full in it */
	uint64_t		 folded;	/* answered, not journaled */
	int64_t			 first_us;	/* the first folded */
	int64_t			 last_us;	/* the last folded */
	struct webhook_req	*last;		/* the last folded, answered */
	TAILQ_ENTRY(webhook_fold) entry;
};
TAILQ_HEAD(webhook_folds, webhook_fold);

static int64_t		 webhook_retention_us = WEBHOOK_RETENTION_DEFAULT;
static struct event	*webhook_prune_ev;
static int		 webhook_prune_busy;
static uint32_t		 webhook_event_counter;
static u_int			 webhook_fold_kept = WEBHOOK_FOLD_KEPT;
static int64_t			 webhook_fold_window = WEBHOOK_FOLD_WINDOW;
static struct strmap		 webhook_fold_map;
static struct webhook_folds	 webhook_folds =
    TAILQ_HEAD_INITIALIZER(webhook_folds);
static struct event		*webhook_fold_ev;

static void	webhook_clean(char *, const char *, size_t);
static struct webhook_req *webhook_req_new(const struct webhook_delivery *,
		    const char *);
static void	webhook_req_free(struct webhook_req *);
static void	webhook_finish(struct webhook_req *, int, json_t *,
		    const char *, const char *);
static void	webhook_answer(struct webhook_req *);
static void	webhook_send(struct webhook_req *);
static void	webhook_received_cb(const struct journal_result *, void *);
static struct jrec *webhook_received_record(struct webhook_req *,
		    const struct webhook_fold *);
static int	webhook_fold_take(struct webhook_req *);
static void	webhook_fold_write(struct webhook_fold *);
static void	webhook_fold_written(const struct journal_result *, void *);
static void	webhook_fold_free(struct webhook_fold *);
static void	webhook_fold_arm(void);
static void	webhook_fold_expire(evutil_socket_t, short, void *);
static void	webhook_reply_ok(struct reply *, json_t *);
static void	webhook_reply_fail(struct reply *, enum reply_kind,
		    const char *, json_t *);
static void	webhook_reply_recorded(struct reply *, json_t *);
static json_t	*webhook_param(const char *, size_t);
static int	webhook_check_one(struct webhook_req *, struct schedule *,
		    const unsigned char *, size_t, int64_t);
static int	webhook_check(struct webhook_req *, struct schedule *);
static char	*webhook_stripe_id(const char *, size_t);
static void	webhook_prune(evutil_socket_t, short, void *);
static void	webhook_pruned_cb(const struct journal_result *, void *);

/* A verified delivery is its run's waiter (see webhook_reply_ok). */
static const struct reply_ops webhook_reply_ops = {
	.ok = webhook_reply_ok,
	.fail = webhook_reply_fail,
	.recorded = webhook_reply_recorded,
};

const char *const webhook_header_names[WEBHOOK_H_MAX] = {
	"webhook-id", "webhook-timestamp", "webhook-signature",
	"X-GitHub-Delivery", "X-Hub-Signature-256", "Stripe-Signature"
};

/* ---- requests ---------------------------------------------------------- */

/* Copy at most LEN - 1 bytes of S into BUF, printable ASCII only (others
 * become '?'), so outside text is safe in records and logs. */
static void
webhook_clean(char *buf, const char *s, size_t len)
{
	size_t	i;

	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < len; i++)
		buf[i] = s[i] >= ' ' && s[i] <= '~' ? s[i] : '?';
	buf[i] = '\0';
}

static struct webhook_req *
webhook_req_new(const struct webhook_delivery *d, const char *sid)
{
	struct webhook_req	*w = xcalloc(1, sizeof *w);
	char			 buf[WEBHOOK_SID_MAX + 1];

	w->reply.ops = &webhook_reply_ops;
	w->reply.caller.uid = (uid_t)-1;	/* a signature, not a uid */
	w->reply.caller.gid = (gid_t)-1;
	webhook_clean(buf, sid, sizeof buf);
	w->sid = xstrdup(buf);
	if (d != NULL) {
		w->send = d->answer;
		w->send_arg = d->arg;
		w->size = d->size;
		memcpy(w->header, d->header, sizeof w->header);
	}
	webhook_clean(w->source, d != NULL && d->source != NULL ? d->source :
	    "?", sizeof w->source);
	return (w);
}

static void
webhook_req_free(struct webhook_req *w)
{
	if (w->sched != NULL)
		actor_unref(&w->sched->actor);
	free(w->sid);
	free(w->msgid);
	free(w->answer);
	free(w->run_id);
	free(w);
}

/* Keep a message id for the records: the header's text, cleaned. */
static void
webhook_set_msgid(struct webhook_req *w, const char *id)
{
	char	buf[WEBHOOK_ID_MAX + 1];

	free(w->msgid);
	w->msgid = NULL;
	if (id == NULL)
		return;
	webhook_clean(buf, id, sizeof buf);
	w->msgid = xstrdup(buf);
}

/* The answer itself (none for a request the listener answered) and the
 * count of its OUTCOME.  W stays, with no request left. */
static void
webhook_answer(struct webhook_req *w)
{
	if (w->send_arg != NULL) {
		w->send(w->send_arg, w->code, w->answer);
		w->send_arg = NULL;
		w->body = NULL;		/* it was the request's */
		memset(w->header, 0, sizeof w->header);
	}
	if (w->outcome != NULL)
		metrics_count(METRICS_WEBHOOKS, w->outcome, 1);
}

/* Answer W and free it. */
static void
webhook_send(struct webhook_req *w)
{
	webhook_answer(w);
	webhook_req_free(w);
}

/*
 * End W with CODE and ANSWER (stolen), counted as OUTCOME; REASON (static,
 * NULL when accepted) goes to the event log.  The request is journaled
 * first and answered from that record's completion, whatever the answer:
 * a client that has its answer finds the request in the journal.
 */
static void
webhook_finish(struct webhook_req *w, int code, json_t *answer,
    const char *outcome, const char *reason)
{
	const char	*run_id;

	w->code = code;
	w->answer = json_dumps(answer, JSON_COMPACT);
	free(w->run_id);
	w->run_id = w->answer != NULL && (run_id = json_string_value(
	    json_object_get(answer, "run_id"))) != NULL ? xstrdup(run_id) :
	    NULL;
	json_decref(answer);
	w->outcome = outcome;
	w->reason = reason;
	if (code >= 400 && code != 429 && !w->verified &&
	    webhook_fold_take(w))
		return;		/* answered, counted; journaled later */
	if (code >= 400)
		log_warnx("msg=\"webhook refused\" schedule=%s status=%d "
		    "reason=\"%s\" message_id=\"%s\" size=%zu address=%s",
		    w->sid, code, reason != NULL ? reason : "", w->msgid !=
		    NULL ? w->msgid : "", w->size, w->source);
	/* Not journaled: an overload, or a journal that cannot write
	 * (it would hold the record in memory until it can). */
	if (code == 429 || journal_stalled(engine->journal, NULL, NULL)) {
		webhook_send(w);
		return;
	}
	journal_submit(engine->journal, webhook_received_record(w, NULL),
	    webhook_received_cb, w);
}

/* ---- refusals, folded ----------------------------------------------- */

/*
 * Is W, a refusal of a request nobody signed, past what its window
 * journals in full?  Then it is answered and counted now, kept as its
 * fold's last (the one its record will show), and 1 is returned; else 0
 * (journal it in full).  A window that ended is written first.
 */
static int
webhook_fold_take(struct webhook_req *w)
{
	struct strmap_node	*n;
	struct webhook_fold	*f;
	const char		*key = w->sched != NULL ? w->sched->id : "";
	int64_t			 now = now_us();

	if ((n = strmap_find(&webhook_fold_map, key)) != NULL) {
		f = (struct webhook_fold *)((char *)n -
		    offsetof(struct webhook_fold, node));
		if (now - f->window_us >= webhook_fold_window) {
			webhook_fold_free(f);	/* written, if it folded any */
			f = NULL;
		}
	} else
		f = NULL;
	if (f == NULL) {
		f = xcalloc(1, sizeof *f);
		snprintf(f->key, sizeof f->key, "%s", key);
		f->window_us = now;
		strmap_insert(&webhook_fold_map, &f->node, f->key);
		TAILQ_INSERT_TAIL(&webhook_folds, f, entry);
		webhook_fold_arm();
	}
	if (f->kept < webhook_fold_kept) {
		f->kept++;
		return (0);
	}
	if (f->folded++ == 0)
		f->first_us = now;
	f->last_us = now;
	webhook_answer(w);
	if (f->last != NULL)
		webhook_req_free(f->last);
	f->last = w;
	metrics_count(METRICS_WEBHOOK_FOLDED, NULL, 1);
	return (1);
}

/* F's window is over (or the daemon stops): the refusals it folded go in
 * one record, with their count. */
static void
webhook_fold_write(struct webhook_fold *f)
{
	struct webhook_req	*w = f->last;

	if (f->folded == 0 || w == NULL)
		return;
	log_warnx("msg=\"webhook refusals folded\" schedule=%s count=%llu "
	    "status=%d reason=\"%s\" address=%s", f->key[0] != '\0' ?
	    f->key : "(unknown)", (unsigned long long)f->folded, w->code,
	    w->reason != NULL ? w->reason : "", w->source);
	journal_submit(engine->journal, webhook_received_record(w, f),
	    webhook_fold_written, w);
	f->last = NULL;
	f->folded = 0;
}

static void
webhook_fold_written(const struct journal_result *res, void *arg)
{
	if (res->status != JOURNAL_OK)
		log_warnx("msg=\"webhook event not recorded\" error=\"%s\"",
		    log_escape(res->error));
	webhook_req_free(arg);
}

/* Write what F folded, and forget it. */
static void
webhook_fold_free(struct webhook_fold *f)
{
	webhook_fold_write(f);
	strmap_remove(&webhook_fold_map, &f->node);
	TAILQ_REMOVE(&webhook_folds, f, entry);
	free(f);
}

void
webhook_set_folding(u_int kept, int64_t window_us)
{
	webhook_fold_kept = kept;
	webhook_fold_window = window_us;
}

/* Parse "N/DURATION" (N 0 to 100000, DURATION 1s to 1h): 0, or -1. */
int
webhook_parse_folding(const char *s, u_int *kept, int64_t *window_us)
{
	char		*end;
	unsigned long	 n;

	if (*s < '0' || *s > '9')
		return (-1);
	n = strtoul(s, &end, 10);
	if (*end != '/' || n > 100000 || parse_duration(end + 1,
	    window_us) == -1 || *window_us < USEC_PER_SEC ||
	    *window_us > 3600 * USEC_PER_SEC)
		return (-1);
	*kept = (u_int)n;
	return (0);
}

/* The timer: at the end of the oldest window, if any. */
static void
webhook_fold_arm(void)
{
	struct webhook_fold	*f = TAILQ_FIRST(&webhook_folds);

	if (f == NULL || webhook_fold_ev == NULL ||
	    evtimer_pending(webhook_fold_ev, NULL))
		return;
	timeout_add_us(webhook_fold_ev, f->window_us + webhook_fold_window -
	    now_us());
}

/* Windows ended: write and forget their folds. */
static void
webhook_fold_expire(evutil_socket_t fd, short events, void *arg)
{
	struct webhook_fold	*f;
	int64_t			 now = now_us();

	(void)fd;
	(void)events;
	(void)arg;
	while ((f = TAILQ_FIRST(&webhook_folds)) != NULL &&
	    now - f->window_us >= webhook_fold_window)
		webhook_fold_free(f);
	webhook_fold_arm();
}

/*
 * The HTTP edge answered a request to /v1/hooks/SID itself (STATUS 413 past
 * --http-max-body, or 400): journal it like the refusals the daemon makes,
 * folded alike, with no answer to give.  ADDRESS is the peer's.
 */
void
webhook_refused(const char *sid, int status, const char *address)
{
	struct webhook_req	*w;
	struct schedule		*s;

	w = webhook_req_new(NULL, sid);
	webhook_clean(w->source, address, sizeof w->source);
	s = schedule_find(sid);
	if (s != NULL && s->state != SCHEDULE_DELETED &&
	    s->webhook_secret_ref != NULL) {
		w->sched = s;
		actor_ref(&s->actor);
	}
	webhook_finish(w, status, json_pack("{s:s}", "error", status == 413 ?
	    "body too large" : "bad request"), status == 413 ? "too_large" :
	    "rejected", status == 413 ? "body over --http-max-body" :
	    "bad request");
}

/* W's record is durable (or failed, which is logged): answer it. */
static void
webhook_received_cb(const struct journal_result *res, void *arg)
{
	struct webhook_req	*w = arg;

	if (res->status != JOURNAL_OK)
		log_warnx("msg=\"webhook event not recorded\" error=\"%s\"",
		    log_escape(res->error));
	webhook_send(w);
}

/* The cut of a body of LEN bytes kept in the journal: at most
 * WEBHOOK_BODY_KEPT, ending on a UTF-8 character boundary. */
static size_t
webhook_body_cut(const char *body, size_t len)
{
	size_t	n = len;

	if (n <= WEBHOOK_BODY_KEPT)
		return (n);
	n = WEBHOOK_BODY_KEPT;
	while (n > 0 && ((unsigned char)body[n] & 0xc0) == 0x80)
		n--;
	return (n);
}

/* Is BODY (LEN bytes) UTF-8 text, fit for the journal as a string? */
static int
webhook_utf8(const char *body, size_t len)
{
	json_t	*v;

	if ((v = json_stringn(body, len)) == NULL)
		return (0);
	json_decref(v);
	return (1);
}

/*
 * An event of webhook_received_record: W's request at AT, with the counts
 * of fold F if not NULL and, if BODY, the first CUT bytes of W's body.
 */
struct webhook_event {
	struct webhook_req		*w;
	const struct webhook_fold	*f;
	int64_t				 at;
	const char			*run_id;
	int				 body;
	size_t				 cut;
};

/* The entries of event ARG (a struct webhook_event). */
static void
webhook_pack_event(msgpack_packer *pk, const void *arg)
{
	const struct webhook_event	*e = arg;
	const struct webhook_req	*w = e->w;

	pack_kint(pk, "at_us", e->at);
	pack_kstr(pk, "schedule", w->sid);
	pack_kstr(pk, "message_id", w->msgid);
	pack_kstr(pk, "style", w->sched != NULL ?
	    webhook_style_names[w->sched->webhook_style] : NULL);
	pack_kbool(pk, "verified", w->verified);
	pack_kstr(pk, "outcome", w->outcome != NULL ? w->outcome :
	    "unavailable");
	pack_kstr(pk, "reason", w->reason);
	pack_kint(pk, "status", w->code);
	pack_kint(pk, "size", (int64_t)w->size);
	pack_kstr(pk, "source", w->source);
	pack_kstr(pk, "run_id", e->run_id);
	if (e->f != NULL) {
		pack_kint(pk, "count", (int64_t)e->f->folded);
		pack_kint(pk, "first_at_us", e->f->first_us);
	}
	if (e->body) {
		pack_str(pk, "body");
		msgpack_pack_str(pk, e->cut);
		msgpack_pack_str_body(pk, w->body, e->cut);
		pack_kbool(pk, "body_truncated", e->cut < w->size);
	}
}

/*
 * The "webhook.received" record of W: the event (and, verified, the body
 * up to WEBHOOK_BODY_KEPT bytes), its row in "webhook_events" (without
 * the body) and its expiry entry.  Requests for unknown schedules leave
 * only the record.  With a fold F, the record stands for the F->folded
 * refusals of its window, W the last of them: "count" and "first_at_us"
 * are added, in the row too.
 */
static struct jrec *
webhook_received_record(struct webhook_req *w, const struct webhook_fold *f)
{
	struct jrec		*rec;
	struct pack_buffer	 pb;
	char			 key[WEBHOOK_SID_MAX + 32], exp[sizeof key + 24];
	int64_t			 at = f != NULL ? f->last_us : now_us();
	struct webhook_event	 e = { w, f, at, w->run_id, 0, 0 };

	rec = jrec_create("webhook.received", w->sched != NULL ?
	    w->sched->account : NULL);
	pack_buffer_init(&pb);
	pack_map_counted(&pb.pk, webhook_pack_event, &e);
	if (f == NULL && w->verified && w->body != NULL &&
	    webhook_utf8(w->body, e.cut = webhook_body_cut(w->body, w->size))) {
		e.body = 1;
		pack_map_counted(jrec_body(rec), webhook_pack_event, &e);
	} else
		pack_raw(jrec_body(rec), pb.sbuf.data, pb.sbuf.size);
	if (w->sched != NULL) {
		snprintf(key, sizeof key, "%s/%016llx%08x", w->sched->id,
		    (unsigned long long)at, webhook_event_counter++);
		jrec_put(rec, "webhook_events", key, strlen(key), pb.sbuf.data,
		    pb.sbuf.size);
		snprintf(exp, sizeof exp, "%016llx/e/%s",
		    (unsigned long long)at, key);
		jrec_put(rec, "webhook_expiry", exp, strlen(exp), "", 0);
		pack_buffer_clear(&pb);
		pack_buffer_init(&pb);
		pack_str(&pb.pk, key);
		jrec_body_add(rec, "row_key", pb.sbuf.data, pb.sbuf.size);
	}
	pack_buffer_clear(&pb);
	return (rec);
}

/*
 * The answers of a verified delivery, as its run's waiter (struct reply):
 * the run began or was recorded without starting, 202 with the run; a
 * message id seen before, 200 with its first run; a claim taken but not
 * found, 409; a record the journal did not write, 503.  The one place
 * where the dispatcher's answers become HTTP statuses.
 */
static void
webhook_reply_ok(struct reply *r, json_t *result)
{
	struct webhook_req	*w = (struct webhook_req *)r;

	if (json_is_true(json_object_get(result, "duplicate"))) {
		webhook_finish(w, 200, json_pack("{s:O, s:b}", "run_id",
		    json_object_get(result, "run_id"), "duplicate", 1),
		    "duplicate", "duplicate");
		json_decref(result);
		return;
	}
	json_object_del(result, "duplicate");
	webhook_finish(w, 202, result, "accepted", NULL);
}

static void
webhook_reply_recorded(struct reply *r, json_t *record)
{
	webhook_finish((struct webhook_req *)r, 202, record, "accepted",
	    NULL);
}

static void
webhook_reply_fail(struct reply *r, enum reply_kind kind, const char *message,
    json_t *data)
{
	struct webhook_req	*w = (struct webhook_req *)r;

	(void)message;
	json_decref(data);
	if (kind == REPLY_CONFLICT)
		webhook_finish(w, 409, json_pack("{s:s}", "error",
		    "already delivered"), "duplicate", "duplicate");
	else
		webhook_finish(w, 503, json_pack("{s:s}", "error",
		    "not recorded"), "unavailable", "journal write failed");
}

/* The verified body as the run's "webhook" parameter: its JSON value,
 * else the text as a string; NULL if it is neither. */
static json_t *
webhook_param(const char *body, size_t len)
{
	json_t	*v;

	if (len == 0)
		return (json_null());
	if ((v = json_loadb(body, len, JSON_DECODE_ANY, NULL)) != NULL)
		return (v);
	return (json_stringn(body, len));
}

/* ---- verification ------------------------------------------------------ */

/* Verify W (for S) under one key; 0 or -1 with w->reason. */
static int
webhook_check_one(struct webhook_req *w, struct schedule *s,
    const unsigned char *key, size_t keylen, int64_t now)
{
	const char	**h = w->header;

	switch (s->webhook_style) {
	case WEBHOOK_GITHUB:
		w->reason = "bad message id";
		if (!webhook_id_ok(h[WEBHOOK_H_GITHUB_ID]))
			return (-1);
		return (webhook_verify_github(key, keylen,
		    h[WEBHOOK_H_GITHUB_SIG], w->body, w->size, &w->reason));
	case WEBHOOK_STRIPE:
		return (webhook_verify_stripe(key, keylen,
		    h[WEBHOOK_H_STRIPE_SIG], w->body, w->size, now,
		    s->webhook_tolerance_s, &w->reason));
	default:
		return (webhook_verify_standard(key, keylen, h[WEBHOOK_H_ID],
		    h[WEBHOOK_H_TIMESTAMP], h[WEBHOOK_H_SIGNATURE], w->body,
		    w->size, now, s->webhook_tolerance_s, &w->reason));
	}
}

/*
 * Verify W against S's primary secret, then the previous ones still in
 * their grace period.  Returns 0 (verified), -1 (refused; w->reason) or
 * -2 (no secret could be read; logged).
 */
static int
webhook_check(struct webhook_req *w, struct schedule *s)
{
	const char	*refs[1 + WEBHOOK_PREVIOUS_MAX];
	unsigned char	*key;
	size_t		 keylen;
	char		*cause = NULL;
	int64_t		 now = now_us();
	int		 i, n = 0, usable = 0, rc = -1;

	refs[n++] = s->webhook_secret_ref;
	for (i = 0; s->webhook_prev != NULL && i < s->webhook_prev->n; i++) {
		if (s->webhook_prev->v[i].expires_us > now)
			refs[n++] = s->webhook_prev->v[i].ref;
	}
	w->reason = "no matching signature";
	for (i = 0; i < n && rc != 0; i++) {
		if (webhook_key(refs[i], s->webhook_style, &key, &keylen,
		    &cause) == -1) {
			log_warnx("msg=\"webhook secret unavailable\" "
			    "schedule=%s secret=%d error=\"%s\"", s->id, i,
			    log_escape(cause));
			free(cause);
			cause = NULL;
			continue;
		}
		usable++;
		rc = webhook_check_one(w, s, key, keylen, now / USEC_PER_SEC);
		secret_free(key, keylen);
	}
	if (rc == -1 && usable == 0)
		return (-2);
	return (rc);
}

/* A Stripe event's id: the body's top-level "id" string, or NULL. */
static char *
webhook_stripe_id(const char *body, size_t len)
{
	json_t		*v;
	const char	*id;
	char		*out = NULL;

	if ((v = json_loadb(body, len, 0, NULL)) == NULL)
		return (NULL);
	if ((id = json_string_value(json_object_get(v, "id"))) != NULL)
		out = xstrdup(id);
	json_decref(v);
	return (out);
}

/* The message id a delivery in S's style carries (headers only; Stripe's
 * is in the body, read once the signature holds). */
static const char *
webhook_header_id(struct webhook_req *w, const struct schedule *s)
{
	switch (s->webhook_style) {
	case WEBHOOK_GITHUB:
		return (w->header[WEBHOOK_H_GITHUB_ID]);
	case WEBHOOK_STRIPE:
		return (NULL);
	default:
		return (w->header[WEBHOOK_H_ID]);
	}
}

/* ---- POST /v1/hooks/SCHEDULE_ID ---------------------------------------- */

/* A request the HTTP edge hands over (see struct webhook_delivery). */
void
webhook_deliver(const struct webhook_delivery *d)
{
	struct webhook_req	*w;
	struct schedule		*s;
	char			*sid;
	json_t			*param;
	int			 rc;

	w = webhook_req_new(d, d->sid);
	s = schedule_find(d->sid);
	if (s == NULL || s->state == SCHEDULE_DELETED ||
	    s->webhook_secret_ref == NULL) {
		webhook_finish(w, 404, json_pack("{s:s}", "error",
		    "not found"), "not_found", "unknown schedule");
		return;
	}
	w->sched = s;
	actor_ref(&s->actor);
	if (journal_stalled(engine->journal, NULL, NULL)) {
		webhook_finish(w, 503, json_pack("{s:s}", "error",
		    "the journal cannot write"), "unavailable",
		    "journal cannot write");
		return;
	}
	if (engine->draining || journal_pending(engine->journal) >
	    WEBHOOK_OVERLOAD || slots_waiting() > WEBHOOK_SLOTS_WAITING) {
		webhook_finish(w, 429, json_pack("{s:s}", "error",
		    "overloaded"), "overloaded", "overloaded");
		return;
	}
	w->body = w->size > 0 ? d->body : "";
	webhook_set_msgid(w, webhook_header_id(w, s));
	rc = webhook_check(w, s);
	if (rc == -2) {
		webhook_finish(w, 503, json_pack("{s:s}", "error",
		    "secret unavailable"), "unavailable",
		    "secret unavailable");
		return;
	}
	if (rc == -1) {
		webhook_finish(w, 401, json_pack("{s:s}", "error",
		    "unauthorized"), "unauthorized", w->reason);
		return;
	}
	w->verified = 1;
	if (s->webhook_style == WEBHOOK_STRIPE) {
		sid = webhook_stripe_id(w->body, w->size);
		if (!webhook_id_ok(sid)) {
			free(sid);
			webhook_finish(w, 400, json_pack("{s:s}", "error",
			    "the event has no usable \"id\""), "rejected",
			    "bad message id");
			return;
		}
		webhook_set_msgid(w, sid);
		free(sid);
	}
	/* Standard and GitHub ids were checked with the signature. */
	if (w->size > WEBHOOK_MAX_PARAM) {
		webhook_finish(w, 413, json_pack("{s:s}", "error",
		    "body too large"), "too_large", "body too large");
		return;
	}
	if (s->state != SCHEDULE_ACTIVE || s->batch_template != NULL) {
		webhook_finish(w, 409, json_pack("{s:s}", "error",
		    s->state != SCHEDULE_ACTIVE ? "schedule paused" :
		    "batch target"), "rejected", s->state != SCHEDULE_ACTIVE ?
		    "schedule paused" : "batch target");
		return;
	}
	if ((param = webhook_param(w->body, w->size)) == NULL) {
		webhook_finish(w, 400, json_pack("{s:s}", "error",
		    "body is neither JSON nor UTF-8 text"), "rejected",
		    "body neither JSON nor UTF-8");
		return;
	}
	dispatch_webhook_run(&w->reply, s, w->msgid, param);
}

/* ---- retention --------------------------------------------------------- */

struct prune_ctx {
	struct jrec	*rec;
	char		 below[17];	/* hex time: rows before it expire */
	size_t		 claims;
	size_t		 events;
	size_t		 rows;
};

/* One "webhook_expiry" row: expired ones go in the prune record. */
static int
webhook_prune_row(const struct journal_row *row, void *arg)
{
	struct prune_ctx	*ctx = arg;
	const char		*k = row->key, *p, *q;
	char			 buf[JOURNAL_MAX_KEY + 1], idem[sizeof buf];

	if (row->klen < 20 || row->klen >= sizeof buf ||
	    memcmp(k, ctx->below, 16) >= 0)
		return (1);
	memcpy(buf, k, row->klen);
	buf[row->klen] = '\0';
	if (ctx->rec == NULL)
		ctx->rec = jrec_create("webhook.pruned", NULL);
	jrec_del(ctx->rec, "webhook_expiry", buf, row->klen);
	p = buf + 19;
	if (strncmp(buf + 16, "/e/", 3) == 0) {
		jrec_del(ctx->rec, "webhook_events", p, strlen(p));
		ctx->events++;
	} else if (strncmp(buf + 16, "/c/", 3) == 0 &&
	    strncmp(p, "webhook:", 8) == 0 &&
	    (q = strchr(p + 8, ':')) != NULL) {
		/* "webhook:S:MSGID": the claim and the idem row "S:wh:MSGID" */
		jrec_release(ctx->rec, p);
		snprintf(idem, sizeof idem, "%.*s:wh:%s", (int)(q - p - 8),
		    p + 8, q + 1);
		jrec_del(ctx->rec, "idem", idem, strlen(idem));
		ctx->claims++;
	}
	return (++ctx->rows >= WEBHOOK_PRUNE_BATCH);
}

/* The body of "webhook.pruned": what CTX pruned, older than BEFORE. */
static void
webhook_pruned_pack(msgpack_packer *pk, int64_t before,
    const struct prune_ctx *ctx)
{
	const struct pack_pair	v[] = {
		PACK_PAIR_INT("before_us", before),
		PACK_PAIR_INT("message_ids", (int64_t)ctx->claims),
		PACK_PAIR_INT("events", (int64_t)ctx->events),
	};

	PACK_MAP(pk, v);
}

/* Every period (and at once while a batch was full): release message ids
 * and delete events older than the retention period. */
static void
webhook_prune(evutil_socket_t fd, short events, void *arg)
{
	struct prune_ctx	 ctx;
	int64_t			 now = now_us();

	(void)fd;
	(void)events;
	(void)arg;
	if (webhook_prune_busy)
		return;
	memset(&ctx, 0, sizeof ctx);
	snprintf(ctx.below, sizeof ctx.below, "%016llx",
	    (unsigned long long)(now - webhook_retention_us));
	if (journal_table_foreach(engine->journal, "webhook_expiry", NULL, 0,
	    0, webhook_prune_row, &ctx) == -1 || ctx.rec == NULL) {
		jrec_free(ctx.rec);
		return;
	}
	webhook_pruned_pack(jrec_body(ctx.rec), now - webhook_retention_us,
	    &ctx);
	webhook_prune_busy = 1;
	journal_submit(engine->journal, ctx.rec, webhook_pruned_cb,
	    ctx.rows >= WEBHOOK_PRUNE_BATCH ? (void *)1 : NULL);
	log_info("msg=\"webhook ids and events pruned\" message_ids=%zu "
	    "events=%zu", ctx.claims, ctx.events);
}

static void
webhook_pruned_cb(const struct journal_result *res, void *arg)
{
	webhook_prune_busy = 0;
	if (res->status != JOURNAL_OK) {
		log_warnx("msg=\"webhook prune not recorded\" error=\"%s\"",
		    log_escape(res->error));
		return;
	}
	/* A full batch: more may be due; go on soon. */
	if (arg != NULL && webhook_prune_ev != NULL)
		event_active(webhook_prune_ev, EV_TIMEOUT, 0);
}

/*
 * Start pruning: message ids and events older than RETENTION_US go, checked
 * every hour (or every quarter of a shorter retention period), and once
 * now for what expired while the daemon was down.
 */
void
webhook_start(int64_t retention_us)
{
	struct timeval	tv;
	int64_t		period = WEBHOOK_PRUNE_PERIOD;

	webhook_retention_us = retention_us;
	if (retention_us / 4 < period)
		period = retention_us / 4;
	if (period < USEC_PER_SEC / 4)
		period = USEC_PER_SEC / 4;
	tv.tv_sec = period / USEC_PER_SEC;
	tv.tv_usec = period % USEC_PER_SEC;
	strmap_init(&webhook_fold_map);
	webhook_fold_ev = evtimer_new(engine->base, webhook_fold_expire, NULL);
	if (webhook_fold_ev == NULL)
		fatalx("webhook: cannot make the fold timer");
	webhook_prune_ev = event_new(engine->base, -1, EV_PERSIST,
	    webhook_prune, NULL);
	if (webhook_prune_ev == NULL || event_add(webhook_prune_ev, &tv) == -1)
		fatalx("webhook: cannot arm the prune timer");
	event_active(webhook_prune_ev, EV_TIMEOUT, 0);
}

void
webhook_stop(void)
{
	struct webhook_fold	*f;

	/* What was folded is written; the journal commits it at close. */
	while ((f = TAILQ_FIRST(&webhook_folds)) != NULL)
		webhook_fold_free(f);
	strmap_clear(&webhook_fold_map);
	if (webhook_fold_ev != NULL)
		event_free(webhook_fold_ev);
	webhook_fold_ev = NULL;
	if (webhook_prune_ev != NULL)
		event_free(webhook_prune_ev);
	webhook_prune_ev = NULL;
}

/* ---- control ----------------------------------------------------------- */

struct events_ctx {
	json_t	*list;
	size_t	 limit;
	int	 failed;
};

static int
webhook_event_row(const struct journal_row *row, void *arg)
{
	struct events_ctx	*ctx = arg;
	msgpack_unpacked	 u;
	const msgpack_object	*o;
	json_t			*e;
	char			*v, when[40];
	int			 verified, status;

	if (unpack_buffer(row->val, row->vlen, &u) == -1)
		return (0);
	o = unpack_get(&u.data, "verified");
	verified = o != NULL && o->type == MSGPACK_OBJECT_BOOLEAN &&
	    o->via.boolean;
	o = &u.data;
	status = (int)unpack_int(o, "status", 0);
	if (!ctx->failed || !verified || status >= 400) {
		e = json_object();
		json_object_set_new(e, "at", json_string(fmt_rfc3339_ms(
		    unpack_int(o, "at_us", 0), when, sizeof when)));
		json_object_set_new(e, "message_id", (v = unpack_strdup(o,
		    "message_id")) != NULL ? json_string(v) : json_null());
		free(v);
		json_object_set_new(e, "verified", json_boolean(verified));
		json_object_set_new(e, "outcome", json_string((v =
		    unpack_strdup(o, "outcome")) != NULL ? v : ""));
		free(v);
		json_object_set_new(e, "reason", (v = unpack_strdup(o,
		    "reason")) != NULL ? json_string(v) : json_null());
		free(v);
		json_object_set_new(e, "status", json_integer(status));
		json_object_set_new(e, "size", json_integer(unpack_int(o,
		    "size", 0)));
		json_object_set_new(e, "source", (v = unpack_strdup(o,
		    "source")) != NULL ? json_string(v) : json_null());
		free(v);
		json_object_set_new(e, "run_id", (v = unpack_strdup(o,
		    "run_id")) != NULL ? json_string(v) : json_null());
		free(v);
		/* A fold: the refusals of a window past those kept. */
		if (unpack_get(o, "count") != NULL) {
			json_object_set_new(e, "count", json_integer(
			    unpack_int(o, "count", 0)));
			json_object_set_new(e, "first_at", json_string(
			    fmt_rfc3339_ms(unpack_int(o, "first_at_us", 0),
			    when, sizeof when)));
		}
		json_array_append_new(ctx->list, e);
	}
	msgpack_unpacked_destroy(&u);
	return (json_array_size(ctx->list) >= ctx->limit);
}

/* webhook.events: S's requests, newest first; "failed": only refused
 * ones. */
void
webhook_ctl_events(struct reply *req, struct schedule *s, json_t *params)
{
	struct events_ctx	 ctx;
	int64_t			 limit = WEBHOOK_EVENTS_DEFAULT;
	char			 prefix[WEBHOOK_SID_MAX + 2];

	param_int(params, "limit", &limit);
	ctx.failed = 0;
	param_bool(params, "failed", &ctx.failed);
	ctx.limit = (size_t)limit;
	ctx.list = json_array();
	snprintf(prefix, sizeof prefix, "%s/", s->id);
	if (journal_table_foreach(engine->journal, "webhook_events", prefix,
	    strlen(prefix), 1, webhook_event_row, &ctx) == -1) {
		json_decref(ctx.list);
		reply_fail(req, REPLY_UNAVAILABLE, "cannot read the webhook "
		    "events", NULL, NULL);
		return;
	}
	reply_ok(req, json_pack("{s:s, s:o}", "id", s->id, "events",
	    ctx.list));
}

/* One secret of the webhook.secrets answer. */
static json_t *
webhook_secret_json(const char *ref, const char *fp, int primary,
    int64_t rotated, int64_t expires, int64_t now)
{
	json_t	*e;
	char	 when[40];

	e = json_object();
	json_object_set_new(e, "fingerprint", fp != NULL ? json_string(fp) :
	    json_null());
	json_object_set_new(e, "primary", json_boolean(primary));
	json_object_set_new(e, "source", json_stringn(ref, strcspn(ref,
	    ":")));
	json_object_set_new(e, "secret_ref", json_string(ref));
	json_object_set_new(e, "rotated", rotated != 0 ? json_string(
	    fmt_rfc3339(rotated, when, sizeof when)) : json_null());
	json_object_set_new(e, "expires", expires != 0 ? json_string(
	    fmt_rfc3339(expires, when, sizeof when)) : json_null());
	json_object_set_new(e, "valid", json_boolean(expires == 0 ||
	    expires > now));
	return (e);
}

/* webhook.secrets: S's primary secret and those in their grace period,
 * by SHA-256 fingerprint (never the secret). */
void
webhook_ctl_secrets(struct reply *req, struct schedule *s)
{
	const struct webhook_previous	*p;
	json_t				*list, *e;
	char				 fp[65], *cause = NULL;
	int64_t				 now = now_us();
	int				 i;

	if (s->webhook_secret_ref == NULL) {
		reply_fail(req, REPLY_CONFLICT, "the schedule takes no "
		    "webhooks", "id", "no webhook secret");
		return;
	}
	list = json_array();
	if (webhook_secret_fingerprint(s->webhook_secret_ref, fp,
	    &cause) == -1) {
		e = webhook_secret_json(s->webhook_secret_ref, NULL, 1, 0, 0,
		    now);
		json_object_set_new(e, "error", json_string(cause));
		free(cause);
	} else
		e = webhook_secret_json(s->webhook_secret_ref, fp, 1, 0, 0,
		    now);
	json_array_append_new(list, e);
	for (i = 0; s->webhook_prev != NULL && i < s->webhook_prev->n; i++) {
		p = &s->webhook_prev->v[i];
		json_array_append_new(list, webhook_secret_json(p->ref,
		    p->fingerprint[0] != '\0' ? p->fingerprint : NULL, 0,
		    p->rotated_us, p->expires_us, now));
	}
	reply_ok(req, json_pack("{s:s, s:s, s:o}", "id", s->id, "style",
	    webhook_style_names[s->webhook_style], "secrets", list));
}
