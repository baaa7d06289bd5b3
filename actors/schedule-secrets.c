/*
 * actors/schedule-secrets.c: the webhook secrets of schedules.  A secret
 * the daemon generates (at create, or at a rotation without a reference)
 * lives in the data directory's secrets/ and is removed when nothing
 * refers to it any more; a rotation keeps the previous secret valid for a
 * grace period (the schedule's keyring, at most WEBHOOK_PREVIOUS_MAX), and
 * the previous secrets whose grace period is over are forgotten in a
 * record of their own.  Records hold fingerprints, never secrets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "actors.h"

static struct event	*expire_ev;	/* when the earliest grace period */
static int64_t		 expire_us;	/* ends; 0: not armed */

static int	schedule_has_secret(const struct schedule *, const char *);
static void	schedule_drop_one(const char *, const char *,
		    const struct schedule *);
static int	schedule_expired_out(struct schedule *, int64_t, json_t *);
static int	schedule_new_secret(struct schedule_op *, const char *,
		    char[65], const char **, char **);
static struct jrec *schedule_rotated_record(struct schedule_op *,
		    const char *, const char *, int64_t, const char *);
static void	schedule_rotated_cb(const struct journal_result *, void *);
static void	schedule_expired_cb(const struct journal_result *, void *);
static struct jrec *schedule_expired_record(const struct schedule *,
		    json_t *);
static void	schedule_expire_one(struct schedule *, void *);
static void	schedule_expire_at(int64_t);
static void	schedule_expire_due(evutil_socket_t, short, void *);

/* A secret generated for a schedule whose creation failed: remove it. */
void
schedule_drop_secret(struct schedule_op *op)
{
	char	*cause = NULL;

	if (op->whsec == NULL || op->t == NULL)
		return;
	if (secret_remove(engine->data_dir, op->t->id, &cause) == -1) {
		log_warnx("msg=\"secret not removed\" schedule=%s "
		    "error=\"%s\"", op->t->id, log_escape(cause));
		free(cause);
	}
}

/*
 * A "generated" webhook secret for T (its id is set): make it, keep its
 * whsec_ form in *WHSEC for the create answer, and refer to it.
 */
int
schedule_make_secret(struct schedule *t, char **whsec, char **cause)
{
	unsigned char	*raw;
	char		 fp[65];

	if (secret_generate(engine->data_dir, t->id, whsec, cause) == -1)
		return (-1);
	raw = (unsigned char *)*whsec;
	secret_fingerprint(raw, strlen(*whsec), fp);
	log_info("msg=\"webhook secret generated\" schedule=%s "
	    "fingerprint=%.16s", t->id, fp);
	free(t->webhook_secret_ref);
	xasprintf(&t->webhook_secret_ref, "generated:%s", t->id);
	return (0);
}

/* Start reading S's exec: webhook secrets now, so that the first delivery
 * after a start finds them read (secret.c reads them off the loop). */
void
schedule_prefetch_secrets(const struct schedule *s)
{
	char	*cause = NULL;
	int	 i;

	if (s->webhook_secret_ref != NULL &&
	    secret_prepare(s->webhook_secret_ref, NULL, NULL, &cause) == -1) {
		free(cause);
		cause = NULL;
	}
	for (i = 0; s->webhook_prev != NULL && i < s->webhook_prev->n; i++) {
		if (secret_prepare(s->webhook_prev->v[i].ref, NULL, NULL,
		    &cause) == -1) {
			free(cause);
			cause = NULL;
		}
	}
}

/* Does S (primary or previous) refer to REF? */
static int
schedule_has_secret(const struct schedule *s, const char *ref)
{
	int	i;

	if (s == NULL)
		return (0);
	if (s->webhook_secret_ref != NULL &&
	    strcmp(s->webhook_secret_ref, ref) == 0)
		return (1);
	for (i = 0; s->webhook_prev != NULL && i < s->webhook_prev->n; i++) {
		if (strcmp(s->webhook_prev->v[i].ref, ref) == 0)
			return (1);
	}
	return (0);
}

/* Remove generated secret REF unless NOW still refers to it. */
static void
schedule_drop_one(const char *id, const char *ref, const struct schedule *now)
{
	char	*cause = NULL;

	if (ref == NULL || strncmp(ref, "generated:", 10) != 0 ||
	    schedule_has_secret(now, ref))
		return;
	if (secret_remove(engine->data_dir, ref + 10, &cause) == -1) {
		log_warnx("msg=\"generated secret not removed\" schedule=%s "
		    "error=\"%s\"", id, log_escape(cause));
		free(cause);
	}
}

/* Remove the generated secrets among REF and OLDK (a schedule's secrets
 * before a change) that NOW (after it; NULL: deleted) no longer uses. */
void
schedule_drop_generated(const char *id, const char *ref,
    const struct webhook_keyring *oldk, const struct schedule *now)
{
	int	i;

	schedule_drop_one(id, ref, now);
	for (i = 0; oldk != NULL && i < oldk->n; i++)
		schedule_drop_one(id, oldk->v[i].ref, now);
}

/* Drop T's previous secrets whose grace period ended by NOW; how many. */
static int
schedule_expired_out(struct schedule *t, int64_t now, json_t *gone)
{
	struct webhook_keyring	*k = t->webhook_prev;
	int			 i, j, n = 0;

	for (i = j = 0; k != NULL && i < k->n; i++) {
		if (k->v[i].expires_us > now) {
			k->v[j++] = k->v[i];
			continue;
		}
		if (gone != NULL)
			json_array_append_new(gone,
			    json_string(k->v[i].fingerprint));
		free(k->v[i].ref);
		n++;
	}
	if (k != NULL && (k->n = j) == 0) {
		webhook_keyring_free(k);
		t->webhook_prev = NULL;
	}
	return (n);
}

/* The new primary secret of a rotation: REF (checked and readable), or a
 * generated one (its whsec_ value in op->whsec).  Fills FP; 0, or -1 and
 * *field / *reason (allocated). */
static int
schedule_new_secret(struct schedule_op *op, const char *ref, char fp[65],
    const char **field, char **reason)
{
	struct schedule	*t = op->t;
	char		 name[96];

	*field = "secret";
	if (ref != NULL && strcmp(ref, "generated") != 0) {
		if (strncmp(ref, "generated:", 10) == 0) {
			*reason = xstrdup("use \"generated\": the daemon names "
			    "generated secrets");
			return (-1);
		}
		if (secret_ref_check(ref, reason) == -1)
			return (-1);
		if (schedule_has_secret(op->s, ref)) {
			*reason = xstrdup("the schedule uses this reference "
			    "already; give another one, or none for a "
			    "generated secret");
			return (-1);
		}
		if (webhook_secret_fingerprint(ref, fp, reason) == -1)
			return (-1);
		free(t->webhook_secret_ref);
		t->webhook_secret_ref = xstrdup(ref);
		return (0);
	}
	snprintf(name, sizeof name, "%s.r%lld", t->id,
	    (long long)t->updated_us);
	if (secret_generate(engine->data_dir, name, &op->whsec, reason) == -1)
		return (-1);
	secret_fingerprint((unsigned char *)op->whsec, strlen(op->whsec), fp);
	free(t->webhook_secret_ref);
	xasprintf(&t->webhook_secret_ref, "generated:%s", name);
	op->gen_ref = xstrdup(t->webhook_secret_ref);
	return (0);
}

/* The "webhook.rotated" audit record: fingerprints, never secrets. */
static struct jrec *
schedule_rotated_record(struct schedule_op *op, const char *oldfp,
    const char *newfp, int64_t grace, const char *why)
{
	const struct caller	*c = reply_caller(op->req);
	struct schedule		*t = op->t;
	struct jrec		*rec;
	const struct pack_pair	 v[] = {
		PACK_PAIR_STR("schedule", t->id),
		PACK_PAIR_STR("old_fingerprint", oldfp),
		PACK_PAIR_STR("new_fingerprint", newfp),
		PACK_PAIR_STR("new_secret_ref", t->webhook_secret_ref),
		PACK_PAIR_INT("grace_s", grace / USEC_PER_SEC),
		PACK_PAIR_INT("old_expires_us", grace > 0 ?
		    t->updated_us + grace : 0),
		PACK_PAIR_STR("reason", why),
		PACK_PAIR_INT("by_uid", c != NULL ? CALLER_UID(c) : -1),
		PACK_PAIR_INT("by_pid", c != NULL ? (int64_t)c->pid : -1),
		PACK_PAIR_STR("by_account", t->account),
	};

	rec = jrec_create("webhook.rotated", t->account);
	jrec_failfast(rec);
	PACK_MAP(jrec_body(rec), v);
	schedule_put_row(t, rec);
	return (rec);
}

static void
schedule_rotated_cb(const struct journal_result *res, void *arg)
{
	struct schedule_op	*op = arg;
	struct schedule		*s = op->s, *t = op->t;

	if (res->status != JOURNAL_OK) {
		if (op->gen_ref != NULL)
			schedule_drop_one(t->id, op->gen_ref, NULL);
		schedule_op_fail(op, res);
		schedule_op_free(op);
		return;
	}
	SWAP(s->webhook_secret_ref, t->webhook_secret_ref);
	SWAP(s->webhook_prev, t->webhook_prev);
	s->updated_us = t->updated_us;
	/* T now holds the secrets before: drop what is no longer used. */
	schedule_drop_generated(s->id, t->webhook_secret_ref, t->webhook_prev,
	    s);
	schedule_watch_expiry(s);
	log_info("msg=\"webhook secret rotated\" schedule=%s "
	    "fingerprint=%s previous=%d", s->id, json_string_value(
	    json_object_get(op->answer, "fingerprint")), s->webhook_prev !=
	    NULL ? s->webhook_prev->n : 0);
	if (op->whsec != NULL)
		json_object_set_new(op->answer, "webhook_secret",
		    json_string(op->whsec));
	reply_ok(op->req, op->answer);
	op->answer = NULL;
	schedule_op_free(op);
}

/*
 * webhook.rotate: a new primary secret ("secret": a reference, or none for
 * a generated one shown once); the previous stays valid for "grace"
 * (default 24 h; 0 ends it now); "reason" says why.  Journaled as
 * "webhook.rotated" with the SHA-256 fingerprints of old and new.
 */
void
schedule_ctl_rotate(struct reply *req, struct schedule *s, json_t *params)
{
	struct schedule_op	*op;
	struct webhook_previous	*p;
	const char		*why = param_string(params, "reason");
	const char		*field = NULL;
	char			 oldfp[65], newfp[65], *reason = NULL;
	char			 when[40];
	int64_t			 grace = WEBHOOK_GRACE_DEFAULT, now = now_us();
	int			 have_old;

	if (s->webhook_secret_ref == NULL) {
		reply_fail(req, REPLY_CONFLICT, "the schedule takes no "
		    "webhooks", "id", "no webhook secret");
		return;
	}
	if (why == NULL || *why == '\0' || strlen(why) > 500) {
		reply_invalid(req, "reason", "required: why the secret "
		    "changes (at most 500 bytes)");
		return;
	}
	if (json_object_get(params, "grace") != NULL && (!param_duration(
	    params, "grace", &grace) || grace < 0 || grace > WEBHOOK_GRACE_MAX)) {
		reply_invalid(req, "grace", "must be a duration from 0 to "
		    "30d");
		return;
	}
	if (schedule_busy(req, s))
		return;
	op = schedule_op_create(req, s, schedule_clone(s), SCHEDULE_OP_ROTATE);
	op->t->updated_us = now;
	schedule_expired_out(op->t, now, NULL);
	if (grace > 0 && op->t->webhook_prev != NULL &&
	    op->t->webhook_prev->n >= WEBHOOK_PREVIOUS_MAX) {
		reply_fail(req, REPLY_CONFLICT, "four previous secrets are in "
		    "their grace period already; rotate with --grace 0 or "
		    "once one has expired", "grace", "too many secrets");
		schedule_op_free(op);
		return;
	}
	have_old = webhook_secret_fingerprint(s->webhook_secret_ref, oldfp,
	    &reason) == 0;
	if (!have_old) {
		log_warnx("msg=\"rotating an unreadable webhook secret\" "
		    "schedule=%s error=\"%s\"", s->id, log_escape(reason));
		free(reason);
		reason = NULL;
	}
	if (schedule_new_secret(op, param_string(params, "secret"), newfp,
	    &field, &reason) == -1) {
		reply_invalid(req, field, reason);
		free(reason);
		schedule_op_free(op);
		return;
	}
	if (grace > 0) {
		if (op->t->webhook_prev == NULL)
			op->t->webhook_prev = xcalloc(1,
			    sizeof *op->t->webhook_prev);
		p = &op->t->webhook_prev->v[op->t->webhook_prev->n++];
		p->ref = xstrdup(s->webhook_secret_ref);
		snprintf(p->fingerprint, sizeof p->fingerprint, "%s",
		    have_old ? oldfp : "");
		p->rotated_us = now;
		p->expires_us = now + grace;
	}
	op->answer = json_pack("{s:s, s:s, s:s*, s:s*, s:s}", "id", s->id,
	    "fingerprint", newfp, "previous_fingerprint", have_old ? oldfp :
	    NULL, "previous_expires", grace > 0 ? fmt_rfc3339(now + grace,
	    when, sizeof when) : NULL, "secret_ref",
	    op->t->webhook_secret_ref);
	journal_submit(engine->journal, schedule_rotated_record(op,
	    have_old ? oldfp : NULL, newfp, grace, why), schedule_rotated_cb,
	    op);
}

static void
schedule_expired_cb(const struct journal_result *res, void *arg)
{
	struct schedule_op	*op = arg;
	struct schedule		*s = op->s, *t = op->t;

	s->busy = 0;
	if (res->status != JOURNAL_OK) {
		log_warnx("msg=\"expired webhook secrets not recorded\" "
		    "schedule=%s error=\"%s\"", s->id, log_escape(res->error));
		schedule_expire_at(now_us() + 10 * USEC_PER_SEC);
		schedule_op_free(op);
		return;
	}
	SWAP(s->webhook_prev, t->webhook_prev);
	schedule_drop_generated(s->id, NULL, t->webhook_prev, s);
	log_info("msg=\"webhook secrets expired\" schedule=%s", s->id);
	schedule_op_free(op);
}

/* The "webhook.secret_expired" record of S: the fingerprints in GONE. */
static struct jrec *
schedule_expired_record(const struct schedule *s, json_t *gone)
{
	struct jrec		*rec;
	struct pack_buffer	 fps;
	size_t			 i;
	struct pack_pair	 v[] = {
		PACK_PAIR_STR("schedule", s->id),
		PACK_PAIR_RAW("fingerprints", NULL, 0),
	};

	pack_buffer_init(&fps);
	msgpack_pack_array(&fps.pk, json_array_size(gone));
	for (i = 0; i < json_array_size(gone); i++)
		pack_str(&fps.pk, json_string_value(json_array_get(gone, i)));
	v[1].s = fps.sbuf.data;
	v[1].i = (int64_t)fps.sbuf.size;
	rec = jrec_create("webhook.secret_expired", s->account);
	PACK_MAP(jrec_body(rec), v);
	pack_buffer_clear(&fps);
	return (rec);
}

/* One schedule: end the previous secrets whose grace period is over, in a
 * "webhook.secret_expired" record. */
static void
schedule_expire_one(struct schedule *s, void *arg)
{
	struct schedule_op	*op;
	struct jrec		*rec;
	json_t			*gone;
	int64_t			 now = *(int64_t *)arg;

	if (s->webhook_prev == NULL || s->state == SCHEDULE_DELETED)
		return;
	if (s->busy) {
		/* A change is on its way: look again in a second. */
		schedule_expire_at(now + USEC_PER_SEC);
		return;
	}
	op = schedule_op_create(NULL, s, schedule_clone(s), SCHEDULE_OP_EXPIRE);
	gone = json_array();
	if (schedule_expired_out(op->t, now, gone) == 0) {
		json_decref(gone);
		schedule_watch_expiry(s);
		schedule_op_free(op);
		return;
	}
	schedule_watch_expiry(op->t);
	s->busy = 1;
	rec = schedule_expired_record(s, gone);
	json_decref(gone);
	schedule_put_row(op->t, rec);
	journal_submit(engine->journal, rec, schedule_expired_cb, op);
}

/* A previous secret's grace period ends at US: have schedule_expire_due
 * run then (one timer, for the earliest). */
static void
schedule_expire_at(int64_t us)
{
	if (expire_us != 0 && expire_us <= us)
		return;
	if (expire_ev == NULL && (expire_ev = evtimer_new(engine->base,
	    schedule_expire_due, NULL)) == NULL)
		fatalx("schedule: cannot make the secrets' expiry timer");
	expire_us = us;
	timeout_add_us(expire_ev, us - now_us());
}

/* The earliest grace period ended: end every previous webhook secret
 * whose grace period is over (verification ignores them already; this
 * forgets them and removes the generated ones). */
static void
schedule_expire_due(evutil_socket_t fd, short events, void *arg)
{
	int64_t	now = now_us();

	(void)fd;
	(void)events;
	(void)arg;
	expire_us = 0;
	schedule_foreach(NULL, schedule_expire_one, &now);
}

/* Forget the expiry timer (at exit, with the schedules). */
void
schedule_secrets_stop(void)
{
	if (expire_ev != NULL)
		event_free(expire_ev);
	expire_ev = NULL;
	expire_us = 0;
}

/* Have the expiry timer cover S's previous secrets. */
void
schedule_watch_expiry(const struct schedule *s)
{
	int	i;

	for (i = 0; s->webhook_prev != NULL && i < s->webhook_prev->n; i++) {
		schedule_expire_at(s->webhook_prev->v[i].expires_us);
		/* Its account is warned before it ends (notice.c). */
		notice_grace_watch(s->account, s->id, s->name,
		    s->webhook_prev->v[i].fingerprint,
		    s->webhook_prev->v[i].expires_us);
	}
}
