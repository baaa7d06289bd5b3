/*
 * actors/notice.c: notifications by email (doc/email.md, "Notifications").
 *
 * An account's notify document (prefs.c: the addresses, and which events
 * make notices) decides whether an event is told.  A schedule paused by a
 * cap, spend passing 80 % or 100 % of a cap and a subscriber disabled are
 * told at once: one notify.queued record (email.c's email_notice_queue:
 * the outbox row, a claim "notify:ACCOUNT:KIND:KEY:ADDRESS" and a pending
 * row per address) submitted after the event's own record, so that the
 * notice is never durable without its event, and a second notice of the
 * same event is refused by its claims.
 *
 * A previous webhook secret is warned of a day before its grace period
 * ends (at once when less is left): schedule-secrets.c hands each one of
 * a keyring it watches to notice_grace_watch; one timer for the earliest.
 *
 * A failed run is one notify.pending record (claim
 * "notify:ACCOUNT:run_failed:RUN"), its row in the "notify-pending" table
 * (ACCOUNT RUN).  A timer armed when the first of them is durable fires
 * --notify-digest-interval later: each account's pending rows become one
 * digest, a notify.queued record that queues the message and deletes the
 * rows it lists in one transaction.  The rows are the digest's state: at a
 * start the timer is armed again when any is left, so a notice is neither
 * lost nor told twice across a restart.
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

#define NOTICE_PENDING		"notify-pending"
#define NOTICE_DIGEST_ITEMS	500	/* runs listed in one digest */

static int64_t		 notice_digest_us = NOTICE_DIGEST_DEFAULT;
static struct event	*notice_ev;
static int		 notice_armed;
static size_t		 notice_inflight;	/* digests not yet durable */

/* The pending rows of one walk, by account. */
struct notice_walk {
	json_t		*accounts;	/* ACCOUNT -> [{key, ...row}] */
	size_t		 n;
};

static json_t	*notice_to(const char *, const char *, const char *,
		    const char *);
static char	*notice_html(const char *);
static void	 notice_tell(const char *, const char *, const char *,
		    const char *, const char *, const char *);
static void	 notice_arm(void);
static void	 notice_pending_cb(const struct journal_result *, void *);
static int	 notice_row(const struct journal_row *, void *);
static int	 notice_cmp(const void *, const void *);
static void	 notice_digest(const char *, json_t *);
static void	 notice_digest_cb(int, void *);
static void	 notice_fire(evutil_socket_t, short, void *);

/* The interval of failure digests (0: the default). */
void
notice_configure(int64_t digest_us)
{
	notice_digest_us = digest_us > 0 ? digest_us : NOTICE_DIGEST_DEFAULT;
}

/*
 * The addresses ACCOUNT wants EVENT told to (a new reference), or NULL:
 * none set, the event off, or (run_failed) not of SCHEDULE (an id) or
 * NAME.
 */
static json_t *
notice_to(const char *account, const char *event, const char *schedule,
    const char *name)
{
	json_t		*doc, *v, *e, *to = NULL;
	size_t		 i;
	int		 want = 0;

	doc = prefs_notify(account);
	v = json_object_get(doc, event);
	if (json_is_true(v))
		want = 1;
	else if (json_is_string(v))
		want = strcmp(json_string_value(v), "all") == 0;
	else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if ((schedule != NULL && strcmp(json_string_value(e),
			    schedule) == 0) || (name != NULL &&
			    strcmp(json_string_value(e), name) == 0))
				want = 1;
		}
	}
	v = json_object_get(doc, "addresses");
	if (want && json_array_size(v) > 0)
		to = json_incref(v);
	json_decref(doc);
	return (to);
}

/* TEXT as the HTML part of a notice; allocated. */
static char *
notice_html(const char *text)
{
	char	*esc, *html;

	esc = mail_html_escaped(text);
	xasprintf(&html, "<!DOCTYPE html>\n<html><body><pre>%s</pre>"
	    "</body></html>\n", esc);
	free(esc);
	return (html);
}

static void
notice_told_cb(int ok, void *arg)
{
	char	*id = arg;

	if (!ok)
		log_info("msg=\"notice not queued (told already, or the "
		    "journal refused it)\" id=%s", id);
	free(id);
}

/*
 * Tell ACCOUNT's addresses of EVENT (KEY: what makes it one event,
 * without spaces) at once: one notify.queued record claiming each
 * address.  SCHEDULE may be NULL.
 */
static void
notice_tell(const char *account, const char *event, const char *key,
    const char *schedule, const char *subject, const char *text)
{
	struct email_notice	 n;
	json_t			*to;
	char			*id, *html;

	if (!email_enabled() || (to = notice_to(account, event, NULL,
	    NULL)) == NULL)
		return;
	xasprintf(&id, "notify:%s:%s:%s", account, event, key);
	html = notice_html(text);
	memset(&n, 0, sizeof n);
	n.kind = "notify.queued";
	n.id = id;
	n.account = account;
	n.schedule = schedule;
	n.notice = event;
	n.subject = subject;
	n.text = text;
	n.html = html;
	n.date_us = now_us();
	n.to = to;
	n.done = notice_told_cb;
	n.arg = xstrdup(id);
	log_info("msg=\"notice\" account=%s event=%s id=%s", account, event,
	    id);
	email_notice_queue(&n);
	free(html);
	free(id);
	json_decref(to);
}

/* Schedule ID (NAME) of ACCOUNT was paused by a cap (REASON) at AT. */
void
notice_schedule_paused(const char *account, const char *id,
    const char *name, const char *reason, int64_t at)
{
	char	*key, *subject, *text, when[40];

	xasprintf(&key, "%s-%lld", id, (long long)at);
	xasprintf(&subject, "[chime] %s: schedule %s paused by its budget",
	    account, name != NULL ? name : id);
	xasprintf(&text, "The schedule %s (%s) of account %s was paused at "
	    "%s: %s.\n\nNo run of it starts until it is resumed:\n\n"
	    "    chimectl schedule resume %s --account %s\n",
	    name != NULL ? name : id, id, account, fmt_rfc3339(at, when,
	    sizeof when), reason, id, account);
	notice_tell(account, "schedule_paused", key, id, subject, text);
	free(text);
	free(subject);
	free(key);
}

/*
 * Spend of ACCOUNT under CAP (of OWNER: an operation or a schedule, or
 * NULL) passed PERCENT % of LIMIT in MONTH (YYYYMM), at SPENT.
 */
void
notice_budget(const char *account, const char *cap, const char *owner,
    int percent, int64_t spent, int64_t limit, int32_t month)
{
	char	*key, *what, *subject, *text, b[2][32];

	if (strcmp(cap, "account_monthly_budget") == 0 || owner == NULL)
		xasprintf(&what, "the monthly budget of account %s", account);
	else if (strcmp(cap, "operation_monthly_budget") == 0)
		xasprintf(&what, "the monthly budget of operation %s", owner);
	else
		xasprintf(&what, "the max_cost_month of schedule %s", owner);
	xasprintf(&key, "%s-%s-%d-%d", cap, owner != NULL ? owner : "account",
	    (int)month, percent);
	xasprintf(&subject, "[chime] %s: %d %% of %s spent", account, percent,
	    what);
	xasprintf(&text, "%s of %s (%s) is spent this month: %d %% (%d).\n%s",
	    fmt_usd(spent, b[0], sizeof b[0]), what, fmt_usd(limit, b[1],
	    sizeof b[1]), percent, (int)month, percent >= 100 ?
	    "\nRuns that would pass the cap are skipped.\n" : "");
	notice_tell(account, "budget", key, NULL, subject, text);
	free(text);
	free(subject);
	free(key);
	free(what);
}

/* Subscriber ID of ACCOUNT (to URL) was disabled for REASON at AT. */
void
notice_subscriber_disabled(const char *account, const char *id,
    const char *url, const char *reason, const char *error, int64_t at)
{
	char	*key, *subject, *text;

	xasprintf(&key, "%s-%lld", id, (long long)at);
	xasprintf(&subject, "[chime] %s: subscriber %s disabled", account, id);
	xasprintf(&text, "The subscriber %s of account %s (%s) was disabled: "
	    "%s%s%s.\n\nIt receives no events until it is enabled again:\n\n"
	    "    chimectl subscription enable %s --account %s\n", id, account,
	    url != NULL ? url : "", reason, error != NULL ? ", " : "",
	    error != NULL ? error : "", id, account);
	notice_tell(account, "subscriber_disabled", key, NULL, subject, text);
	free(text);
	free(subject);
	free(key);
}

/* ---- webhook secrets leaving their grace period ------------------------- */

/* A previous webhook secret to warn of, once NOTICE_GRACE_LEAD_US before
 * its grace period ends (at once when less is left). */
struct notice_grace {
	TAILQ_ENTRY(notice_grace)	 entry;
	char				*account;
	char				*schedule;
	char				*name;
	char				 fingerprint[65];
	int64_t				 expires_us;
	int64_t				 warn_us;
};
TAILQ_HEAD(notice_graces, notice_grace);
static struct notice_graces	 notice_graces =
    TAILQ_HEAD_INITIALIZER(notice_graces);
static struct event		*notice_grace_ev;

static void
notice_grace_free(struct notice_grace *g)
{
	free(g->account);
	free(g->schedule);
	free(g->name);
	free(g);
}

/* Arm the grace timer for the earliest warning left. */
static void
notice_grace_arm(void)
{
	struct notice_grace	*g;
	struct timeval		 tv;
	int64_t			 at = INT64_MAX, d;

	TAILQ_FOREACH(g, &notice_graces, entry)
		if (g->warn_us < at)
			at = g->warn_us;
	if (notice_grace_ev == NULL)
		return;
	evtimer_del(notice_grace_ev);
	if (at == INT64_MAX)
		return;
	d = at - now_us();
	if (d < 0)
		d = 0;
	tv.tv_sec = d / USEC_PER_SEC;
	tv.tv_usec = d % USEC_PER_SEC;
	evtimer_add(notice_grace_ev, &tv);
}

/* Warnings due: tell each (its claim makes it once, across restarts). */
static void
notice_grace_fire(evutil_socket_t fd, short events, void *arg)
{
	struct notice_grace	*g, *next;
	char			*key, *subject, *text, when[40];
	int64_t			 now = now_us();

	for (g = TAILQ_FIRST(&notice_graces); g != NULL; g = next) {
		next = TAILQ_NEXT(g, entry);
		if (g->warn_us > now)
			continue;
		TAILQ_REMOVE(&notice_graces, g, entry);
		if (g->expires_us > now) {
			xasprintf(&key, "%s-%.16s-%lld", g->schedule,
			    g->fingerprint, (long long)g->expires_us);
			xasprintf(&subject, "[chime] %s: the previous webhook "
			    "secret of %s ends %s", g->account, g->name,
			    fmt_rfc3339(g->expires_us, when, sizeof when));
			xasprintf(&text, "The previous webhook secret of "
			    "schedule %s (%s) of account %s, fingerprint "
			    "%.16s..., is accepted until %s; its grace period "
			    "ends then.\n\nDeliveries signed with it after that "
			    "are refused: give every sender the new secret "
			    "before.\n", g->name, g->schedule, g->account,
			    g->fingerprint, when);
			notice_tell(g->account, "webhook_secret", key,
			    g->schedule, subject, text);
			free(text);
			free(subject);
			free(key);
		}
		notice_grace_free(g);
	}
	notice_grace_arm();
}

/*
 * A previous webhook secret (fingerprint FP) of schedule ID (NAME) of
 * ACCOUNT is valid until EXPIRES: warn its account once, a day before
 * (at once when less is left).  Known ones are ignored.
 */
void
notice_grace_watch(const char *account, const char *id, const char *name,
    const char *fp, int64_t expires)
{
	struct notice_grace	*g;
	int64_t			 now = now_us();

	if (expires <= now || account == NULL || id == NULL)
		return;
	TAILQ_FOREACH(g, &notice_graces, entry)
		if (g->expires_us == expires && strcmp(g->schedule, id) == 0 &&
		    strcmp(g->fingerprint, fp) == 0)
			return;
	if (notice_grace_ev == NULL && (notice_grace_ev = evtimer_new(
	    engine->base, notice_grace_fire, NULL)) == NULL)
		fatalx("notice: evtimer_new failed");
	g = xcalloc(1, sizeof *g);
	g->account = xstrdup(account);
	g->schedule = xstrdup(id);
	g->name = xstrdup(name != NULL ? name : id);
	snprintf(g->fingerprint, sizeof g->fingerprint, "%s", fp);
	g->expires_us = expires;
	g->warn_us = expires - NOTICE_GRACE_LEAD_US > now ?
	    expires - NOTICE_GRACE_LEAD_US : now;
	TAILQ_INSERT_TAIL(&notice_graces, g, entry);
	notice_grace_arm();
}

/* ---- failed runs: the digest -------------------------------------------- */

/* Arm the digest's timer, unless it is. */
static void
notice_arm(void)
{
	struct timeval	tv;

	if (notice_armed || notice_ev == NULL)
		return;
	notice_armed = 1;
	tv.tv_sec = notice_digest_us / USEC_PER_SEC;
	tv.tv_usec = notice_digest_us % USEC_PER_SEC;
	evtimer_add(notice_ev, &tv);
}

static void
notice_pending_cb(const struct journal_result *res, void *arg)
{
	if (res->status == JOURNAL_OK)
		notice_arm();
	else if (res->status != JOURNAL_DUPLICATE)
		log_warnx("msg=\"failed run not noted for a notice\" "
		    "error=\"%s\"", log_escape(res->error != NULL ?
		    res->error : "?"));
}

/*
 * A run of a schedule failed (its run.finished submitted): when its
 * account wants to be told, note it for the next digest (notify.pending,
 * claiming the run, its row in "notify-pending").
 */
void
notice_run_failed(const struct email_run *er)
{
	const struct pack_pair	 v[] = {
		PACK_PAIR_STR("account", er->account),
		PACK_PAIR_STR("notice", "run_failed"),
		PACK_PAIR_STR("run_id", er->run_id),
		PACK_PAIR_STR("schedule", er->schedule_id),
		PACK_PAIR_STR("schedule_name", er->schedule_name),
		PACK_PAIR_STR("operation", er->operation),
		PACK_PAIR_STR("status", er->status),
		PACK_PAIR_STR("error", er->error),
		PACK_PAIR_INT("at_us", er->finished_us),
		PACK_PAIR_INT("format", 1),
	};
	struct pack_buffer	 pb;
	struct jrec		*rec;
	json_t			*to;
	char			*key;

	if (!email_enabled() || (to = notice_to(er->account, "run_failed",
	    er->schedule_id, er->schedule_name)) == NULL)
		return;
	json_decref(to);
	rec = jrec_create("notify.pending", er->account);
	pack_buffer_init(&pb);
	PACK_MAP(&pb.pk, v);
	pack_raw(jrec_body(rec), pb.sbuf.data, pb.sbuf.size);
	xasprintf(&key, "notify:%s:run_failed:%s", er->account, er->run_id);
	jrec_claim(rec, key);
	free(key);
	xasprintf(&key, "%s %s", er->account, er->run_id);
	jrec_put(rec, NOTICE_PENDING, key, strlen(key), pb.sbuf.data,
	    pb.sbuf.size);
	free(key);
	pack_buffer_clear(&pb);
	journal_submit(engine->journal, rec, notice_pending_cb, NULL);
}

/* A pending row into W, by its account (the key's first word). */
static int
notice_row(const struct journal_row *row, void *arg)
{
	struct notice_walk	*w = arg;
	msgpack_unpacked	 u;
	const char		*sp;
	char			*account, *s;
	json_t			*list, *e;

	if ((sp = memchr(row->key, ' ', row->klen)) == NULL ||
	    unpack_buffer(row->val, row->vlen, &u) == -1)
		return (0);
	account = xstrndup(row->key, (size_t)(sp - (const char *)row->key));
	if ((list = json_object_get(w->accounts, account)) == NULL) {
		list = json_array();
		json_object_set_new(w->accounts, account, list);
	}
	if (json_array_size(list) < NOTICE_DIGEST_ITEMS) {
		e = json_object();
		json_object_set_new(e, "key", json_stringn(row->key,
		    row->klen));
		if ((s = unpack_strdup(&u.data, "run_id")) != NULL)
			json_object_set_new(e, "run_id", json_string(s));
		free(s);
		if ((s = unpack_strdup(&u.data, "schedule_name")) != NULL)
			json_object_set_new(e, "schedule", json_string(s));
		free(s);
		if ((s = unpack_strdup(&u.data, "status")) != NULL)
			json_object_set_new(e, "status", json_string(s));
		free(s);
		if ((s = unpack_strdup(&u.data, "error")) != NULL)
			json_object_set_new(e, "error", json_string(s));
		free(s);
		json_object_set_new(e, "at_us", json_integer(unpack_int(
		    &u.data, "at_us", 0)));
		json_array_append_new(list, e);
	} else
		w->n++;		/* left for the next digest */
	free(account);
	msgpack_unpacked_destroy(&u);
	return (0);
}

static int
notice_cmp(const void *x, const void *y)
{
	json_int_t	a, b;

	a = json_integer_value(json_object_get(*(json_t *const *)x, "at_us"));
	b = json_integer_value(json_object_get(*(json_t *const *)y, "at_us"));
	return (a < b ? -1 : a > b);
}

static void
notice_digest_cb(int ok, void *arg)
{
	notice_inflight--;
	if (!ok) {
		log_warnx("msg=\"failure digest not queued: tried again\" "
		    "account=%s", (char *)arg);
		notice_arm();
	}
	free(arg);
}

/* One digest of ACCOUNT's failed runs (ITEMS, rows of notice_row). */
static void
notice_digest(const char *account, json_t *items)
{
	struct email_notice	 n;
	json_t			*doc, *to, *keys, **v, *e;
	char			*id, *subject, *text, *html, *line, when[40];
	const char		*err;
	size_t			 i, len, cap, count = json_array_size(items);
	int64_t			 now = now_us();

	v = xcalloc(count, sizeof *v);
	for (i = 0; i < count; i++)
		v[i] = json_array_get(items, i);
	xqsort(v, count, sizeof *v, notice_cmp);
	keys = json_array();
	cap = 256;
	text = xmalloc(cap);
	len = (size_t)snprintf(text, cap, "%zu run%s of account %s failed:\n\n",
	    count, count == 1 ? "" : "s", account);
	for (i = 0; i < count; i++) {
		e = v[i];
		json_array_append(keys, json_object_get(e, "key"));
		err = json_string_value(json_object_get(e, "error"));
		fmt_rfc3339(json_integer_value(json_object_get(e, "at_us")),
		    when, sizeof when);
		xasprintf(&line, "%s  %s  run %s  %s%s%.200s\n", when,
		    json_string_value(json_object_get(e, "schedule")),
		    json_string_value(json_object_get(e, "run_id")),
		    json_string_value(json_object_get(e, "status")),
		    err != NULL ? ": " : "", err != NULL ? err : "");
		while (len + strlen(line) + 1 > cap) {
			cap *= 2;
			text = xreallocarray(text, cap, 1);
		}
		memcpy(text + len, line, strlen(line) + 1);
		len += strlen(line);
		free(line);
	}
	free(v);
	/* The addresses as they are now; none: the rows go, unsent. */
	doc = prefs_notify(account);
	to = json_incref(json_object_get(doc, "addresses"));
	json_decref(doc);
	xasprintf(&id, "notify:%s:run_failed:digest-%llx", account,
	    (unsigned long long)now);
	xasprintf(&subject, "[chime] %s: %zu failed run%s", account, count,
	    count == 1 ? "" : "s");
	html = notice_html(text);
	memset(&n, 0, sizeof n);
	n.kind = "notify.queued";
	n.id = id;
	n.account = account;
	n.notice = "run_failed";
	n.subject = subject;
	n.text = text;
	n.html = html;
	n.date_us = now;
	n.to = to;
	n.pending = keys;
	n.pending_table = NOTICE_PENDING;
	n.done = notice_digest_cb;
	n.arg = xstrdup(account);
	notice_inflight++;
	log_info("msg=\"failure digest\" account=%s runs=%zu recipients=%zu",
	    account, count, json_array_size(to));
	email_notice_queue(&n);
	json_decref(keys);
	json_decref(to);
	free(html);
	free(subject);
	free(id);
	free(text);
}

/* The interval is over: one digest per account with failed runs noted. */
static void
notice_fire(evutil_socket_t fd, short events, void *arg)
{
	struct notice_walk	 w;
	const char		*account;
	json_t			*items;

	notice_armed = 0;
	if (engine->draining)
		return;		/* the rows wait for the next start */
	if (notice_inflight > 0 || !email_enabled()) {
		notice_arm();
		return;
	}
	w.accounts = json_object();
	w.n = 0;
	if (journal_table_foreach(engine->journal, NOTICE_PENDING, NULL, 0, 0,
	    notice_row, &w) == -1) {
		json_decref(w.accounts);
		notice_arm();
		return;
	}
	json_object_foreach(w.accounts, account, items)
		notice_digest(account, items);
	json_decref(w.accounts);
	if (w.n > 0)
		notice_arm();
}

/* ---- start and stop ----------------------------------------------------- */

static int
notice_any(const struct journal_row *row, void *arg)
{
	*(int *)arg = 1;
	return (1);
}

/* At start: the digest's timer, armed when failed runs wait for one. */
int
notice_start(struct journal *j, char **cause)
{
	int	any = 0;

	if ((notice_ev = evtimer_new(engine->base, notice_fire, NULL)) == NULL) {
		*cause = xstrdup("evtimer_new failed");
		return (-1);
	}
	if (journal_table_foreach(j, NOTICE_PENDING, NULL, 0, 0, notice_any,
	    &any) == -1) {
		*cause = xstrdup("cannot read the notify-pending table");
		return (-1);
	}
	if (any) {
		log_info("msg=\"failed runs wait for a digest\"");
		notice_arm();
	}
	return (0);
}

void
notice_stop(void)
{
	struct notice_grace	*g;

	while ((g = TAILQ_FIRST(&notice_graces)) != NULL) {
		TAILQ_REMOVE(&notice_graces, g, entry);
		notice_grace_free(g);
	}
	if (notice_grace_ev != NULL)
		event_free(notice_grace_ev);
	notice_grace_ev = NULL;
	if (notice_ev != NULL)
		event_free(notice_ev);
	notice_ev = NULL;
	notice_armed = 0;
	notice_inflight = 0;
}
