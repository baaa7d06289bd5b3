/*
 * actors/subscription.c: the subscription actor (doc/events.md).  Each
 * subscription follows the journal from its cursor: a commit hook pokes
 * the idle ones, which read the log in slices of at most SUB_SLICE
 * records (one read transaction each, the loop's next turn for the next
 * slice), collect up to its batch of matching events (the export objects
 * of record_to_json), and POST them through the http client (http_post:
 * the executor's multi handle and address filter), signed as Standard
 * Webhooks (sign.c).  One delivery in flight at a time, in seq order; its
 * outcome is journaled (subscription.delivered, .failed, .disabled) before
 * the next one starts, so a restart resends at most the delivery that was
 * in flight, with the same webhook-id.
 *
 * A subscription's row changes through subscription_record: the record's
 * table changes come from subscription_apply (subscription-row.c) on the
 * row as the records submitted so far leave it, and the in-memory row
 * follows at once, so the next record is computed as replay computes it.
 * A record that fails puts the row back as the table has it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "actors.h"

#define MSG_SUB_PUMP	(MSG_USER + 0)
#define MSG_SUB_DONE	(MSG_USER + 1)
#define SUB_OF(n)	((struct subscription *)((char *)(n) - \
			    offsetof(struct subscription, node)))
#define SUB_RECORD_RETRY_US	(5 * USEC_PER_SEC)

/* One event of the batch being delivered. */
struct sub_event {
	uint64_t	 seq;
	int64_t		 time_us;
	char		*json;
};

struct subscription {
	struct actor		 actor;		/* first */
	struct strmap_node	 node;		/* keyed by id */
	char			 id[72];
	struct sub_row		 row;
	char			*rowbuf;	/* the row's bytes */
	size_t			 rowlen;
	uint64_t		 scan;		/* last seq read */
	uint64_t		 limit;		/* re-form a failed batch up to
						   this seq (after a start) */
	struct sub_event	*ev;
	size_t			 nev;
	struct http_job		*job;		/* the POST in flight */
	int			 recording;	/* its outcome being journaled */
	int			 poked;		/* a MSG_SUB_PUMP is queued */
	int			 busy;		/* a control change in flight */
	int			 gone;		/* deleted */
	struct timer		 timer;		/* the next attempt */
	char			 wid[96];	/* webhook-id of the batch */
};

/* Reading a slice of the log. */
struct sub_collect {
	struct subscription	*s;
	uint64_t		 head;
	size_t			 examined;
};

/* An attempt's outcome being journaled. */
struct sub_pending {
	struct subscription	*s;
	char			*verb;
};

static struct strmap	 subs;
static int64_t		 sub_scale = 1;
static char		 sub_jid[17];
static int		 sub_hooked;

static void	 sub_handle(struct actor *, struct msg *);
static void	 sub_free(struct actor *);
static void	 sub_commit_hook(size_t, int64_t, void *);
static void	 sub_poke(struct subscription *);
static void	 sub_pump(struct subscription *);
static int	 sub_collect(struct subscription *);
static int	 sub_collect_cb(const struct journal_entry *, void *);
static void	 sub_events_free(struct subscription *);
static char	*sub_payload(struct subscription *, size_t *);
static int	 sub_sign(const char *, const char *, int64_t, const char *,
		    size_t, char **, char **);
static void	 sub_send(struct subscription *);
static void	 sub_http_cb(struct exec_result *, void *);
static void	 sub_result_free(void *);
static void	 sub_done(struct subscription *, struct exec_result *);
static void	 sub_outcome(struct subscription *, const char *,
		    const char *, int64_t, const char *, int64_t, int64_t);
static void	 sub_outcome_cb(const struct journal_result *, void *);
static void	 sub_reload(struct subscription *);
static int	 sub_load_row(const struct journal_row *, void *);
static void	 sub_free_node(struct strmap_node *, void *);
static void	 sub_put(void *, const char *, const void *, size_t,
		    const void *, size_t);
static void	 sub_del(void *, const char *, const void *, size_t);

static const struct actor_type sub_actor_type = {
	.name = "subscription",
	.handle = sub_handle,
	.free = sub_free,
};

/* Divide every delay (the retry schedule, the 5 days of failure) by N:
 * for tests only (chimed --subscription-time-scale). */
void
subscription_set_time_scale(int64_t n)
{
	sub_scale = n < 1 ? 1 : n;
}

int64_t
subscription_time_scale(void)
{
	return (sub_scale);
}

struct subscription *
subscription_find(const char *id)
{
	struct strmap_node	*n;

	if (id == NULL || subs.nbuckets == 0 ||
	    (n = strmap_find(&subs, id)) == NULL)
		return (NULL);
	return (SUB_OF(n));
}

const struct sub_row *
subscription_row(const struct subscription *s)
{
	return (&s->row);
}

struct foreach_arg {
	void	(*fn)(struct subscription *, void *);
	void	*arg;
};

static void
sub_foreach_node(struct strmap_node *n, void *arg)
{
	struct foreach_arg	*f = arg;

	f->fn(SUB_OF(n), f->arg);
}

/* Call FN for every subscription (FN may not add or remove one). */
void
subscription_foreach(void (*fn)(struct subscription *, void *), void *arg)
{
	struct foreach_arg	f = { fn, arg };

	if (subs.nbuckets != 0)
		strmap_foreach(&subs, sub_foreach_node, &f);
}

static void
sub_count_one(struct subscription *s, void *arg)
{
	struct { const char *account; size_t n; } *c = arg;

	if (c->account == NULL || strcmp(s->row.account, c->account) == 0)
		c->n++;
}

/* Subscriptions of ACCOUNT (NULL: all). */
size_t
subscription_count(const char *account)
{
	struct { const char *account; size_t n; } c = { account, 0 };

	subscription_foreach(sub_count_one, &c);
	return (c.n);
}

/*
 * A subscription from its row R (copied) and its bytes; registered,
 * poked.  Its next attempt is armed if the row says it waits.
 */
struct subscription *
subscription_register(const struct sub_row *r, const void *buf, size_t len)
{
	struct subscription	*s;

	if (subs.nbuckets == 0)
		strmap_init(&subs);
	s = xcalloc(1, sizeof *s);
	actor_init(&s->actor, &sub_actor_type);
	timer_init(&s->timer, &s->actor);
	sub_row_copy(&s->row, r);
	s->rowbuf = xmalloc(len);
	memcpy(s->rowbuf, buf, len);
	s->rowlen = len;
	s->scan = r->cursor;
	if (r->pending_last > r->cursor)
		s->limit = r->pending_last;
	snprintf(s->id, sizeof s->id, "%s", r->id);
	if (strmap_insert(&subs, &s->node, s->id) != 0)
		fatalx("subscription %s registered twice", s->row.id);
	if (r->state == SUB_ACTIVE && r->retry_at_us > now_us())
		timer_set(&s->timer, r->retry_at_us, 0);
	sub_poke(s);
	return (s);
}

/* S's row becomes C's (a record of it was submitted). */
void
subscription_adopt(struct subscription *s, const struct sub_changes *c)
{
	int	was = s->row.state;

	if (c->row_deleted)
		return;
	sub_row_clear(&s->row);
	sub_row_copy(&s->row, &c->row);
	free(s->rowbuf);
	s->rowbuf = xmalloc(c->row_len);
	memcpy(s->rowbuf, c->row_bytes, c->row_len);
	s->rowlen = c->row_len;
	if (s->row.state != SUB_ACTIVE ||
	    (was != SUB_ACTIVE && s->row.state == SUB_ACTIVE))
		timer_cancel(&s->timer);
	if (was != SUB_ACTIVE && s->row.state == SUB_ACTIVE &&
	    s->job == NULL && !s->recording) {
		sub_events_free(s);
		s->scan = s->row.cursor;
		s->limit = 0;
	}
	if (s->row.state == SUB_ACTIVE)
		sub_poke(s);
}

/* Forget S (deleted): its POST in flight is aborted. */
void
subscription_unregister(struct subscription *s)
{
	s->gone = 1;
	timer_cancel(&s->timer);
	if (s->job != NULL)
		http_abort(s->job);
	strmap_remove(&subs, &s->node);
	actor_kill(&s->actor);
	actor_unref(&s->actor);
}

/* Mark S as having a control change in flight (ON) or none; 0, or -1 if
 * ON and one is in flight already. */
int
subscription_busy(struct subscription *s, int on)
{
	if (on && s->busy)
		return (-1);
	s->busy = on;
	return (0);
}

static void
sub_put(void *arg, const char *table, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	jrec_put(arg, table, key, klen, val, vlen);
}

static void
sub_del(void *arg, const char *table, const void *key, size_t klen)
{
	jrec_del(arg, table, key, klen);
}

/*
 * The record KIND of S (NULL: a new subscription of ACCOUNT) with BODY:
 * its table changes from subscription_apply_body on S's row, in *OUT too
 * (the caller clears it); S's row follows at once.  NULL and *cause if
 * the body does not apply.
 */
struct jrec *
subscription_record(struct subscription *s, const char *kind,
    const char *account, const struct pack_buffer *body,
    struct sub_changes *out, char **cause)
{
	msgpack_unpacked	 u;
	struct jrec		*rec;
	int			 rc;

	if (unpack_buffer(body->sbuf.data, body->sbuf.size, &u) != 0)
		fatalx("subscription_record: a body that does not unpack");
	rc = subscription_apply_body(kind, &u.data, s != NULL ? s->rowbuf :
	    NULL, s != NULL ? s->rowlen : 0, out, cause);
	msgpack_unpacked_destroy(&u);
	if (rc != 0)
		return (NULL);
	rec = jrec_create(kind, s != NULL ? s->row.account : account);
	pack_raw(jrec_body(rec), body->sbuf.data, body->sbuf.size);
	subscription_changes_foreach(out, sub_put, sub_del, rec);
	if (s != NULL)
		subscription_adopt(s, out);
	return (rec);
}

/* A record of S failed: its row as the table has it again. */
static void
sub_reload(struct subscription *s)
{
	struct sub_changes	 c;
	void			*buf;
	size_t			 len;
	char			*cause = NULL;

	if (s->gone || journal_table_get(engine->journal, SUB_TABLE,
	    s->row.id, strlen(s->row.id), &buf, &len) != 0)
		return;
	memset(&c, 0, sizeof c);
	if (sub_row_decode(buf, len, &c.row, &cause) != 0) {
		log_warnx("msg=\"subscription row unreadable\" "
		    "subscription=%s error=\"%s\"", s->row.id,
		    log_escape(cause));
		free(cause);
		free(buf);
		return;
	}
	c.row_bytes = buf;
	c.row_len = len;
	subscription_adopt(s, &c);
	subscription_changes_clear(&c);
}

/* Log a record of S that failed, and put its row back. */
void
subscription_record_failed(struct subscription *s, const char *kind,
    const struct journal_result *res)
{
	log_warnx("msg=\"subscription record not written\" subscription=%s "
	    "kind=%s error=\"%s\"", s->row.id, kind,
	    log_escape(res->error != NULL ? res->error : "?"));
	sub_reload(s);
}

/* ---- following the journal -------------------------------------------- */

static void
sub_handle(struct actor *a, struct msg *m)
{
	struct subscription	*s = (struct subscription *)a;
	struct exec_result	*r;

	switch (m->type) {
	case MSG_SUB_PUMP:
		s->poked = 0;
		sub_pump(s);
		break;
	case MSG_SUB_DONE:
		r = m->ptr;
		m->ptr = NULL;
		sub_done(s, r);
		exec_result_free(r);
		break;
	case MSG_TIMER:
		sub_pump(s);
		break;
	default:
		log_warnx("msg=\"subscription: unknown message\" type=%d",
		    m->type);
		break;
	}
}

static void
sub_free(struct actor *a)
{
	struct subscription	*s = (struct subscription *)a;

	sub_events_free(s);
	sub_row_clear(&s->row);
	free(s->rowbuf);
	free(s);
}

static void
sub_poke(struct subscription *s)
{
	if (s->poked || s->gone)
		return;
	s->poked = 1;
	actor_post(&s->actor, MSG_SUB_PUMP, 0);
}

/* After each commit: wake the idle subscriptions with records to read. */
static void
sub_poke_idle(struct subscription *s, void *arg)
{
	uint64_t	head = *(uint64_t *)arg;

	if (s->row.state == SUB_ACTIVE && s->job == NULL && !s->recording &&
	    s->nev == 0 && s->scan < head && !timer_armed(&s->timer))
		sub_poke(s);
}

static void
sub_commit_hook(size_t records, int64_t us, void *arg)
{
	uint64_t	head = journal_seq(engine->journal);

	subscription_foreach(sub_poke_idle, &head);
}

/* The next step of S: collect a batch if it has none, then send it. */
static void
sub_pump(struct subscription *s)
{
	if (s->gone || s->row.state != SUB_ACTIVE || s->job != NULL ||
	    s->recording || timer_armed(&s->timer))
		return;
	if (s->nev == 0 && sub_collect(s) != 0)
		return;
	if (s->nev > 0)
		sub_send(s);
}

static void
sub_events_free(struct subscription *s)
{
	size_t	i;

	for (i = 0; i < s->nev; i++)
		free(s->ev[i].json);
	free(s->ev);
	s->ev = NULL;
	s->nev = 0;
}

/* One log entry: the batch takes it if it matches; stop at the batch's
 * size, the slice's end, the durable head or the end of a failed batch. */
static int
sub_collect_cb(const struct journal_entry *e, void *arg)
{
	struct sub_collect	*c = arg;
	struct subscription	*s = c->s;
	struct record		 rec;
	json_t			*j;
	char			*cause = NULL;

	if (e->seq > c->head)
		return (1);
	if (e->seq > s->scan + 1)	/* archived with --force */
		log_warnx("msg=\"subscription skips archived records\" "
		    "subscription=%s from=%" PRIu64 " to=%" PRIu64, s->row.id,
		    s->scan + 1, e->seq - 1);
	if (record_decode(e->rec, e->len, &rec, &cause) != 0) {
		log_warnx("msg=\"subscription skips an unreadable record\" "
		    "subscription=%s seq=%" PRIu64 " error=\"%s\"", s->row.id,
		    e->seq, log_escape(cause));
		free(cause);
	} else {
		if (subscription_delivers(&s->row, rec.kind, rec.account) &&
		    (j = record_to_json(&rec, e->hash, &cause)) != NULL) {
			s->ev = xreallocarray(s->ev, s->nev + 1, sizeof *s->ev);
			s->ev[s->nev].seq = e->seq;
			s->ev[s->nev].time_us = rec.time_us;
			s->ev[s->nev].json = json_dumps(j, JSON_COMPACT);
			if (s->ev[s->nev].json == NULL)
				fatalx("subscription: json_dumps failed");
			s->nev++;
			json_decref(j);
		} else if (cause != NULL) {
			log_warnx("msg=\"subscription skips a record\" "
			    "subscription=%s seq=%" PRIu64 " error=\"%s\"",
			    s->row.id, e->seq, log_escape(cause));
			free(cause);
		}
		record_clear(&rec);
	}
	s->scan = e->seq;
	c->examined++;
	if (s->limit != 0 && e->seq >= s->limit) {
		s->limit = 0;
		return (1);
	}
	return (s->nev >= (size_t)s->row.batch || c->examined >= SUB_SLICE);
}

/* Read the next slice of the log into S's batch: 0, or -1 (retried). */
static int
sub_collect(struct subscription *s)
{
	struct sub_collect	 c = { s, journal_seq(engine->journal), 0 };
	char			*cause = NULL;

	if (s->scan >= c.head)
		return (0);
	if (journal_log_foreach(engine->journal, s->scan + 1, NULL,
	    sub_collect_cb, &c, &cause) != 0) {
		log_warnx("msg=\"subscription cannot read the journal\" "
		    "subscription=%s error=\"%s\"", s->row.id,
		    log_escape(cause));
		free(cause);
		sub_events_free(s);
		timer_set(&s->timer, now_us() + SUB_RECORD_RETRY_US, 0);
		return (-1);
	}
	if (s->nev == 0 && s->scan < c.head)
		sub_poke(s);
	return (0);
}

/* The body of the batch: one event, or (batch > 1) an array. */
static char *
sub_payload(struct subscription *s, size_t *len)
{
	char	*p, *q;
	size_t	 i, n = 2;

	if (s->row.batch == 1) {
		*len = strlen(s->ev[0].json);
		return (xstrdup(s->ev[0].json));
	}
	for (i = 0; i < s->nev; i++)
		n += strlen(s->ev[i].json) + 1;
	p = q = xmalloc(n + 1);
	*q++ = '[';
	for (i = 0; i < s->nev; i++) {
		if (i > 0)
			*q++ = ',';
		n = strlen(s->ev[i].json);
		memcpy(q, s->ev[i].json, n);
		q += n;
	}
	*q++ = ']';
	*q = '\0';
	*len = (size_t)(q - p);
	return (p);
}

/* The webhook-signature of BODY sent as ID at TS with secret REF:
 * 0 and allocated *sig, or -1 and *cause. */
static int
sub_sign(const char *ref, const char *id, int64_t ts, const char *body,
    size_t len, char **sig, char **cause)
{
	unsigned char	*secret, *key;
	size_t		 slen, klen;
	char		*why = NULL;

	if (secret_resolve(ref, &secret, &slen, &why) != 0) {
		xasprintf(cause, "secret: %s", why);
		free(why);
		return (-1);
	}
	if (sign_standard_key(secret, slen, &key, &klen, &why) != 0) {
		secret_free(secret, slen);
		xasprintf(cause, "secret: %s", why);
		free(why);
		return (-1);
	}
	secret_free(secret, slen);
	*sig = sign_standard(key, klen, id, ts, body, len);
	secret_free(key, klen);
	return (0);
}

/* POST BODY to S's URL as message ID, signed; CB(ARG) once.  The job, or
 * NULL and *cause. */
static struct http_job *
sub_post(struct subscription *s, const char *id, const char *body,
    size_t len, exec_done_cb cb, void *arg, char **cause)
{
	struct http_post	 p;
	struct http_job		*job;
	char			*h[5], *sig;
	const char		*hv[5];
	int64_t			 ts = now_us() / USEC_PER_SEC;
	int			 i;

	if (sub_sign(s->row.secret_ref, id, ts, body, len, &sig, cause) != 0)
		return (NULL);
	xasprintf(&h[0], "webhook-id: %s", id);
	xasprintf(&h[1], "webhook-timestamp: %" PRId64, ts);
	xasprintf(&h[2], "webhook-signature: %s", sig);
	xasprintf(&h[3], "chime-subscription: %s", s->row.id);
	h[4] = NULL;
	for (i = 0; i < 5; i++)
		hv[i] = h[i];
	memset(&p, 0, sizeof p);
	p.label = s->row.id;
	p.url = s->row.url;
	p.body = body;
	p.len = len;
	p.headers = hv;
	p.timeout_ms = SUB_TIMEOUT_MS;
	p.max_response = 64 * 1024;
	job = http_post(&p, cb, arg, cause);
	for (i = 0; i < 4; i++)
		free(h[i]);
	free(sig);
	return (job);
}

/* Send S's batch: one attempt. */
static void
sub_send(struct subscription *s)
{
	struct exec_result	*r;
	char			*body, *cause = NULL;
	size_t			 len;

	if (s->row.batch == 1)
		snprintf(s->wid, sizeof s->wid, "msg_%s_%" PRIu64, sub_jid,
		    s->ev[0].seq);
	else
		snprintf(s->wid, sizeof s->wid, "msg_%s_%" PRIu64 "_%" PRIu64,
		    sub_jid, s->ev[0].seq, s->ev[s->nev - 1].seq);
	body = sub_payload(s, &len);
	s->job = sub_post(s, s->wid, body, len, sub_http_cb, s, &cause);
	free(body);
	if (s->job == NULL) {
		/* Nothing was sent (the secret cannot be read now): a
		 * failed attempt like any other. */
		r = xcalloc(1, sizeof *r);
		r->status = EXEC_FAILED;
		r->error = cause;
		r->retry_after_ms = -1;
		r->input_tokens = r->output_tokens = r->cost_micro = -1;
		sub_done(s, r);
		exec_result_free(r);
		return;
	}
	actor_ref(&s->actor);
	log_trace(TRACE_HTTP, "msg=\"subscription delivery\" subscription=%s "
	    "webhook_id=%s events=%zu attempt=%" PRId64, s->row.id, s->wid,
	    s->nev, s->row.next_attempt);
}

static void
sub_result_free(void *p)
{
	exec_result_free(p);
}

/* The POST ended (on the loop): hand the result to the actor. */
static void
sub_http_cb(struct exec_result *r, void *arg)
{
	struct subscription	*s = arg;

	actor_send(&s->actor, msg_create(MSG_SUB_DONE, 0, r,
	    sub_result_free));
	actor_unref(&s->actor);
}

/* An attempt ended with R: acknowledged, gone (410), or failed. */
static void
sub_done(struct subscription *s, struct exec_result *r)
{
	uint64_t	rnd = 0;
	int64_t		now = now_us(), since, delay;

	s->job = NULL;
	if (s->gone)
		return;
	if (r->status == EXEC_SUCCESS) {
		sub_outcome(s, "delivered", NULL, r->http_status, NULL,
		    r->duration_us / 1000, 0);
		return;
	}
	if (r->http_status == 410) {
		sub_outcome(s, "disabled", "gone", r->http_status, r->error,
		    r->duration_us / 1000, 0);
		return;
	}
	since = s->row.failing_since_us != 0 ? s->row.failing_since_us : now;
	if (now - since >= SUB_FAIL_LIMIT_US / sub_scale) {
		sub_outcome(s, "disabled", "failing", r->http_status,
		    r->error, r->duration_us / 1000, 0);
		return;
	}
	if (RAND_bytes((unsigned char *)&rnd, sizeof rnd) != 1)
		rnd = (uint64_t)now;
	delay = subscription_next_delay(subscription_retry_delay(
	    s->row.next_attempt, rnd, sub_scale), r->retry_after_ms);
	sub_outcome(s, "failed", NULL, r->http_status, r->error,
	    r->duration_us / 1000, delay);
}

struct sub_attempt_body {
	const struct subscription	*s;
	const char			*reason;
	int64_t				 status;
	const char			*error;
	int64_t				 latency_ms;
	int64_t				 at;
	int64_t				 retry_at;
};

static void
sub_attempt_entries(msgpack_packer *pk, const void *arg)
{
	const struct sub_attempt_body	*b = arg;
	const struct subscription	*s = b->s;

	pack_kstr(pk, "subscription", s->row.id);
	pack_kint(pk, "at_us", b->at);
	pack_kstr(pk, "webhook_id", s->wid);
	pack_kint(pk, "first_seq", (int64_t)s->ev[0].seq);
	pack_kint(pk, "last_seq", (int64_t)s->ev[s->nev - 1].seq);
	pack_kint(pk, "events", (int64_t)s->nev);
	pack_kint(pk, "attempt", s->row.next_attempt);
	pack_kint(pk, "status", b->status);
	pack_kint(pk, "latency_ms", b->latency_ms);
	pack_kstr(pk, "error", b->error);
	if (b->retry_at != 0)
		pack_kint(pk, "retry_at_us", b->retry_at);
	if (b->reason != NULL)
		pack_kstr(pk, "reason", b->reason);
}

/* Journal the outcome of S's attempt (VERB: delivered, failed, disabled
 * with REASON); the next step waits for it.  DELAY_US: until the next
 * attempt (failed). */
static void
sub_outcome(struct subscription *s, const char *verb, const char *reason,
    int64_t status, const char *error, int64_t latency_ms, int64_t delay_us)
{
	struct sub_attempt_body	 b;
	struct pack_buffer	 pb;
	struct sub_changes	 c;
	struct sub_pending	*p;
	struct jrec		*rec;
	char			 kind[48], *cause = NULL;

	memset(&b, 0, sizeof b);
	b.s = s;
	b.reason = reason;
	b.status = status;
	b.error = error;
	b.latency_ms = latency_ms;
	b.at = now_us();
	if (strcmp(verb, "failed") == 0)
		b.retry_at = b.at + (delay_us > 0 ? delay_us : 1);
	pack_buffer_init(&pb);
	pack_map_counted(&pb.pk, sub_attempt_entries, &b);
	snprintf(kind, sizeof kind, "subscription.%s", verb);
	rec = subscription_record(s, kind, NULL, &pb, &c, &cause);
	pack_buffer_clear(&pb);
	if (rec == NULL)
		fatalx("subscription %s: %s", s->row.id, cause);
	subscription_changes_clear(&c);
	if (strcmp(verb, "delivered") == 0)
		log_trace(TRACE_HTTP, "msg=\"subscription delivered\" "
		    "subscription=%s webhook_id=%s events=%zu", s->row.id,
		    s->wid, s->nev);
	else
		log_info("msg=\"subscription %s\" subscription=%s "
		    "webhook_id=%s events=%zu status=%" PRId64 " error=\"%s\"",
		    verb, s->row.id, s->wid, s->nev, status,
		    log_escape(error != NULL ? error : ""));
	if (strcmp(verb, "delivered") != 0)
		sub_events_free(s);
	p = xcalloc(1, sizeof *p);
	p->s = s;
	p->verb = xstrdup(verb);
	s->recording = 1;
	actor_ref(&s->actor);
	journal_submit(engine->journal, rec, sub_outcome_cb, p);
	if (strcmp(verb, "disabled") == 0)
		notice_subscriber_disabled(s->row.account, s->row.id,
		    s->row.url, reason, error, b.at);
}

/* An attempt's outcome is durable (or not): go on. */
static void
sub_outcome_cb(const struct journal_result *res, void *arg)
{
	struct sub_pending	*p = arg;
	struct subscription	*s = p->s;

	s->recording = 0;
	if (res->status != JOURNAL_OK) {
		subscription_record_failed(s, p->verb, res);
		if (!s->gone)
			timer_set(&s->timer, now_us() + SUB_RECORD_RETRY_US,
			    0);
	} else if (strcmp(p->verb, "delivered") == 0)
		sub_events_free(s);
	else if (strcmp(p->verb, "failed") == 0 && !s->gone &&
	    s->row.state == SUB_ACTIVE)
		timer_set(&s->timer, s->row.retry_at_us, 0);
	/* A failed batch is read again from the cursor, up to where it
	 * ended, so that it keeps its webhook-id. */
	if (strcmp(p->verb, "failed") == 0 &&
	    s->row.pending_last > s->row.cursor) {
		s->scan = s->row.cursor;
		s->limit = s->row.pending_last;
	}
	sub_poke(s);
	free(p->verb);
	free(p);
	actor_unref(&s->actor);
}

/* A test message to S now, outside its cursor: the job (CB(ARG) once),
 * or NULL and *cause.  *WID: its webhook-id (allocated). */
struct http_job *
subscription_test_post(struct subscription *s, exec_done_cb cb, void *arg,
    char **wid, char **cause)
{
	struct http_job	*job;
	json_t		*ev;
	char		 id[32], t[40], *body;
	int64_t		 now = now_us();

	random_id("msg_test_", id, sizeof id);
	ev = json_pack("{s:i,s:s,s:I,s:s,s:s,s:{s:s},s:n}", "seq", 0, "time",
	    fmt_rfc3339_ms(now, t, sizeof t), "time_us", (json_int_t)now,
	    "kind", "subscription.test", "account", s->row.account, "body",
	    "subscription", s->row.id, "hash");
	body = json_dumps(ev, JSON_COMPACT);
	json_decref(ev);
	job = sub_post(s, id, body, strlen(body), cb, arg, cause);
	free(body);
	if (job != NULL)
		*wid = xstrdup(id);
	return (job);
}

/* ---- start, stop, views -------------------------------------------------- */

static int
sub_load_row(const struct journal_row *row, void *arg)
{
	struct sub_row	 r;
	char		**cause = arg;

	if (sub_row_decode(row->val, row->vlen, &r, cause) != 0)
		return (1);
	subscription_register(&r, row->val, row->vlen);
	sub_row_clear(&r);
	return (0);
}

/* Load every subscription of J's table (started by subscription_start).
 * 0, or -1 and *cause (a row that does not decode). */
int
subscription_load_all(struct journal *j, char **cause)
{
	struct journal_meta	meta;

	if (subs.nbuckets == 0)
		strmap_init(&subs);
	if (journal_meta(j, &meta, cause) != 0)
		return (-1);
	snprintf(sub_jid, sizeof sub_jid, "%.16s", meta.journal_id);
	*cause = NULL;
	if (journal_table_foreach(j, SUB_TABLE, NULL, 0, 0, sub_load_row,
	    cause) != 0 && *cause == NULL)
		xasprintf(cause, "the subscriptions table cannot be read");
	if (*cause != NULL)
		return (-1);
	log_info("msg=\"subscriptions loaded\" count=%zu", subs.count);
	return (0);
}

/* Follow the journal: the commit hook. */
void
subscription_start(void)
{
	if (!sub_hooked) {
		journal_add_commit_hook(engine->journal, sub_commit_hook,
		    NULL);
		sub_hooked = 1;
	}
}

static void
sub_free_node(struct strmap_node *n, void *arg)
{
	struct subscription	*s = SUB_OF(n);

	timer_cancel(&s->timer);
	s->gone = 1;
	actor_kill(&s->actor);
	if (s->job != NULL) {
		/* http_runtime_free drops it without calling back: its
		 * reference goes here. */
		s->job = NULL;
		actor_unref(&s->actor);
	}
	actor_unref(&s->actor);
}

/* Stop following the journal (before it closes). */
void
subscription_stop(void)
{
	if (sub_hooked && engine->journal != NULL)
		journal_remove_commit_hook(engine->journal, sub_commit_hook,
		    NULL);
	sub_hooked = 0;
}

/* Free every subscription (after the journal closed, before the http
 * runtime drops the POSTs in flight without calling back). */
void
subscription_free_all(void)
{
	if (subs.nbuckets == 0)
		return;
	strmap_foreach(&subs, sub_free_node, NULL);
	strmap_clear(&subs);
}

static int
sub_first_time(const struct journal_entry *e, void *arg)
{
	struct record	 rec;
	char		*cause = NULL;

	if (record_decode(e->rec, e->len, &rec, &cause) == 0) {
		*(int64_t *)arg = rec.time_us;
		record_clear(&rec);
	}
	free(cause);
	return (1);
}

/*
 * How far S is behind: records of the journal it has not passed yet
 * (matching or not), and seconds since the oldest of them was written
 * (0 when none).
 */
void
subscription_lag(const struct subscription *s, uint64_t *records,
    double *seconds)
{
	uint64_t	 head = journal_seq(engine->journal), from;
	int64_t		 t = 0;
	char		*cause = NULL;

	from = s->nev > 0 ? s->ev[0].seq - 1 : s->scan;
	if (s->nev == 0 && s->row.pending_last > s->row.cursor)
		from = s->row.cursor;
	*records = head > from ? head - from : 0;
	*seconds = 0;
	if (*records == 0)
		return;
	if (s->nev > 0)
		t = s->ev[0].time_us;
	else if (journal_log_foreach(engine->journal, from + 1, NULL,
	    sub_first_time, &t, &cause) != 0)
		free(cause);
	if (t > 0 && now_us() > t)
		*seconds = (double)(now_us() - t) / USEC_PER_SEC;
}

static json_t *
sub_time(int64_t us)
{
	char	buf[40];

	return (us > 0 ? json_string(fmt_rfc3339_ms(us, buf, sizeof buf)) :
	    json_null());
}

/* The JSON view of S (doc/protocol.md, subscription.get): never its
 * secret, only the reference's kind and the secret's fingerprint. */
json_t *
subscription_to_json(const struct subscription *s)
{
	const struct sub_row	*r = &s->row;
	json_t			*o, *k;
	uint64_t		 lag;
	double			 lag_s;
	size_t			 i;

	k = json_array();
	for (i = 0; i < r->nkinds; i++)
		json_array_append_new(k, json_string(r->kinds[i]));
	subscription_lag(s, &lag, &lag_s);
	o = json_object();
	json_object_set_new(o, "id", json_string(r->id));
	json_object_set_new(o, "account", json_string(r->account));
	json_object_set_new(o, "all_accounts", json_boolean(r->all_accounts));
	json_object_set_new(o, "url", json_string(r->url));
	json_object_set_new(o, "kinds", k);
	json_object_set_new(o, "batch", json_integer(r->batch));
	json_object_set_new(o, "state", json_string(sub_state_name(r->state)));
	json_object_set_new(o, "reason", r->reason != NULL ?
	    json_string(r->reason) : json_null());
	json_object_set_new(o, "secret", json_string(strncmp(r->secret_ref,
	    "generated:", 10) == 0 ? "generated" : "reference"));
	json_object_set_new(o, "secret_fingerprint", r->fingerprint != NULL ?
	    json_string(r->fingerprint) : json_null());
	json_object_set_new(o, "cursor", json_integer((json_int_t)r->cursor));
	json_object_set_new(o, "created", sub_time(r->created_us));
	json_object_set_new(o, "updated", sub_time(r->updated_us));
	json_object_set_new(o, "delivered", json_integer((json_int_t)
	    r->delivered));
	json_object_set_new(o, "deliveries", json_integer((json_int_t)
	    r->deliveries));
	json_object_set_new(o, "failed", json_integer((json_int_t)r->failed));
	json_object_set_new(o, "failing_since", sub_time(r->failing_since_us));
	json_object_set_new(o, "next_attempt", json_integer(r->next_attempt));
	json_object_set_new(o, "retry_at", sub_time(r->retry_at_us));
	json_object_set_new(o, "last_delivered", sub_time(r->last_ok_us));
	json_object_set_new(o, "last_status", json_integer(r->last_status));
	json_object_set_new(o, "last_error", r->last_error != NULL ?
	    json_string(r->last_error) : json_null());
	json_object_set_new(o, "lag_records", json_integer((json_int_t)lag));
	json_object_set_new(o, "lag_seconds", json_real(lag_s));
	return (o);
}

/* ---- metrics ------------------------------------------------------------- */

struct sub_emit {
	metrics_emit_fn	 emit;
	void		*arg;
	int		 which;
};

static void
sub_emit_one(struct subscription *s, void *arg)
{
	struct sub_emit	*e = arg;
	const char	*values[2] = { s->row.id, s->row.account };
	uint64_t	 lag;
	double		 lag_s, v;

	switch (e->which) {
	case 0:
		v = (double)s->row.delivered;
		break;
	case 1:
		v = (double)s->row.failed;
		break;
	default:
		subscription_lag(s, &lag, &lag_s);
		v = e->which == 2 ? (double)lag : lag_s;
		break;
	}
	e->emit(e->arg, values, v);
}

/* chime_subscription_delivered and _failed: per subscription. */
void
subscription_metrics(metrics_emit_fn emit, void *arg)
{
	struct sub_emit	e = { emit, arg, 0 };

	subscription_foreach(sub_emit_one, &e);
}

void
subscription_metrics_failed(metrics_emit_fn emit, void *arg)
{
	struct sub_emit	e = { emit, arg, 1 };

	subscription_foreach(sub_emit_one, &e);
}

void
subscription_metrics_lag(metrics_emit_fn emit, void *arg)
{
	struct sub_emit	e = { emit, arg, 2 };

	subscription_foreach(sub_emit_one, &e);
}

void
subscription_metrics_lag_seconds(metrics_emit_fn emit, void *arg)
{
	struct sub_emit	e = { emit, arg, 3 };

	subscription_foreach(sub_emit_one, &e);
}
