/*
 * daemon/methods.c: the methods the daemon serves.  The control server
 * looks a method up by its full name: its spec (ctl/, the same chimectl
 * uses) and its handler (daemon/method-*.c).  Every method runs through
 * daemon_method_run, which resolves what the method acts on (the spec's
 * .target: an account, a schedule, a batch) and authorises the caller for
 * it once, so that no handler does it again.
 *
 * Changes to one object go one at a time, and this is the one place that
 * orders them: a method that writes, on a target with a change in flight,
 * waits (in the order requests came) until that change is answered, then
 * runs with its target resolved anew (it may have gone meanwhile).  A
 * change is answered once it is durable or refused, so the next one is
 * built from the state the previous one left.  An account's changes
 * include its preferences and the creation of its schedules.
 */
#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"

static const struct daemon_method *daemon_method_lookup(const char *,
		    const struct ctl_method **);
static int	 daemon_target(struct ctl_req *, json_t *, enum ctl_target,
		    struct target *);
static struct batch *method_batch(struct ctl_req *, json_t *);
static const void *daemon_change_key(const struct ctl_method *,
		    const struct target *);
static int	 daemon_change_wait(const void *, int, const struct target *,
		    struct ctl_req *, json_t *);
static void	 daemon_change_done(void *);
static void	 daemon_change_next(evutil_socket_t, short, void *);
static void	 daemon_method_exec(struct ctl_req *, json_t *, int);

/* A change in flight on KEY (REQ running), or one waiting for it. */
struct change {
	TAILQ_ENTRY(change)	 entry;
	const void		*key;
	struct ctl_req		*req;
	json_t			*params;	/* waiting: referenced */
	int			 new;		/* makes a new object */
};
TAILQ_HEAD(changes, change);
static struct changes	changes_inflight =
			    TAILQ_HEAD_INITIALIZER(changes_inflight);
static struct changes	changes_waiting =
			    TAILQ_HEAD_INITIALIZER(changes_waiting);
static struct account *method_account_named(struct ctl_req *, json_t *);

static const struct daemon_method *const daemon_method_tables[] = {
	daemon_methods_schedule,
	daemon_methods_run,
	daemon_methods_daemon,
	daemon_methods_account,
	daemon_methods_prefs,
	daemon_methods_notify,
	daemon_methods_budget,
	daemon_methods_batch,
	daemon_methods_webhook,
	daemon_methods_journal,
	daemon_methods_subscription,
	daemon_methods_events,
	daemon_methods_token,
	daemon_methods_analytics,
	daemon_methods_suppression,
	daemon_methods_email,
	NULL
};

/* NAME's spec (in *SPEC) and the daemon's entry; NULL if it has none. */
static const struct daemon_method *
daemon_method_lookup(const char *name, const struct ctl_method **spec)
{
	const struct daemon_method *const	*t;
	const struct daemon_method		*m;

	if (name == NULL || (*spec = ctl_method_find(name)) == NULL)
		return (NULL);
	for (t = daemon_method_tables; *t != NULL; t++) {
		for (m = *t; m->name != NULL; m++) {
			if (strcmp(m->name, name) == 0)
				return (m);
		}
	}
	return (NULL);
}

/* NAME's handler for the control server, with its spec in *SPEC; NULL if
 * the daemon has no such method. */
ctl_handler
daemon_method_find(const char *name, const struct ctl_method **spec)
{
	if (daemon_method_lookup(name, spec) == NULL)
		return (NULL);
	return (daemon_method_run);
}

/*
 * Run REQ's method: resolve and authorise its target, then call its
 * handler.  Also what a deferred request runs again (method_secret_gate):
 * the target is looked up anew, since it may have gone meanwhile.
 */
void
daemon_method_run(struct ctl_req *req, json_t *params)
{
	daemon_method_exec(req, params, 0);
}

/* Run REQ's method; ORDERED: its turn to change its target has come. */
static void
daemon_method_exec(struct ctl_req *req, json_t *params, int ordered)
{
	const struct daemon_method	*m;
	const struct ctl_method		*spec;
	struct target			 t;

	if ((m = daemon_method_lookup(ctl_req_method(req), &spec)) == NULL) {
		ctl_error(req, CTL_E_NO_METHOD, "no such method", NULL, NULL);
		return;
	}
	memset(&t, 0, sizeof t);
	if (daemon_target(req, params, spec->target, &t) == -1)
		return;
	if (!ordered && !(spec->flags & CTL_M_READONLY) &&
	    daemon_change_wait(daemon_change_key(spec, &t),
	    (spec->flags & CTL_M_NEW) != 0, &t, req, params))
		return;
	m->handler(req, params, &t);
}

/* What a change of SPEC on T is ordered by: the object it changes (an
 * account for its preferences and new schedules), or NULL. */
static const void *
daemon_change_key(const struct ctl_method *spec, const struct target *t)
{
	switch (spec->target) {
	case CTL_T_ACCOUNT:
	case CTL_T_ACCOUNT_GIVEN:
		return (t->account != NULL ? account_find(t->account) : NULL);
	case CTL_T_ACCOUNT_NAMED:
		return (t->named);
	case CTL_T_SCHEDULE:
		return (t->schedule);
	case CTL_T_BATCH:
		return (t->batch);
	default:
		return (NULL);
	}
}

/*
 * REQ changes KEY, its target T: 1 if another change of KEY is in flight
 * (REQ waits, with PARAMS, and runs again when it is its turn; a schedule
 * named by its name is then named by its id, so that a rename before it
 * does not lose it), else 0 and REQ is the change in flight until it is
 * answered.  A change that makes a NEW object (schedule.create in an
 * account) waits for the changes of KEY before it like any other, but
 * nothing waits for it: creations run side by side.
 */
static int
daemon_change_wait(const void *key, int new, const struct target *t,
    struct ctl_req *req, json_t *params)
{
	struct change	*c;

	if (key == NULL)
		return (0);
	TAILQ_FOREACH(c, &changes_inflight, entry) {
		if (c->req == req)
			return (0);	/* itself, run again (a secret read) */
		if (c->key == key) {
			c = xcalloc(1, sizeof *c);
			c->key = key;
			c->req = req;
			c->new = new;
			c->params = json_deep_copy(params);
			if (t->schedule != NULL)
				json_object_set_new(c->params, "id",
				    json_string(t->schedule->id));
			TAILQ_INSERT_TAIL(&changes_waiting, c, entry);
			return (1);
		}
	}
	if (new)
		return (0);
	c = xcalloc(1, sizeof *c);
	c->key = key;
	c->req = req;
	TAILQ_INSERT_TAIL(&changes_inflight, c, entry);
	ctl_req_on_done(req, daemon_change_done, c);
	return (0);
}

/*
 * The change in flight C was answered: the changes waiting for its key
 * run in order on the loop's next turn, not inside the answer; those
 * making new objects together, up to the first other one, which is in
 * flight from now on (nothing overtakes it).
 */
static void
daemon_change_done(void *arg)
{
	struct change	*c = arg, *w, *next;
	const void	*key = c->key;
	struct timeval	 now = { 0, 0 };
	int		 isnew;

	TAILQ_REMOVE(&changes_inflight, c, entry);
	free(c);
	for (w = TAILQ_FIRST(&changes_waiting); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (w->key != key)
			continue;
		TAILQ_REMOVE(&changes_waiting, w, entry);
		isnew = w->new;		/* W may be gone once it has run */
		if (!isnew) {
			TAILQ_INSERT_TAIL(&changes_inflight, w, entry);
			ctl_req_on_done(w->req, daemon_change_done, w);
		}
		if (event_base_once(engine->base, -1, EV_TIMEOUT,
		    daemon_change_next, w, &now) == -1)
			daemon_change_next(-1, 0, w);
		if (!isnew)
			break;
	}
}

/* W's turn: run it (W may be freed meanwhile, when it is answered; one
 * making a new object is no change in flight and is freed here). */
static void
daemon_change_next(evutil_socket_t fd, short events, void *arg)
{
	struct change	*w = arg;
	struct ctl_req	*req = w->req;
	json_t		*params = w->params;

	w->params = NULL;
	if (w->new)
		free(w);
	daemon_method_exec(req, params, 1);
	json_decref(params);
}

/* At exit: forget the changes in flight and waiting (their requests go
 * with the control server). */
void
daemon_changes_free(void)
{
	struct change	*c;

	while ((c = TAILQ_FIRST(&changes_waiting)) != NULL) {
		TAILQ_REMOVE(&changes_waiting, c, entry);
		json_decref(c->params);
		free(c);
	}
	while ((c = TAILQ_FIRST(&changes_inflight)) != NULL) {
		TAILQ_REMOVE(&changes_inflight, c, entry);
		ctl_req_on_done(c->req, NULL, NULL);
		free(c);
	}
}

/* Fill in *T for a method acting on KIND; -1 after answering an error. */
static int
daemon_target(struct ctl_req *req, json_t *params, enum ctl_target kind,
    struct target *t)
{
	switch (kind) {
	case CTL_T_NONE:
		return (0);
	case CTL_T_ACCOUNT_GIVEN:
		if (param_string(params, "account") == NULL)
			return (0);
		/* FALLTHROUGH */
	case CTL_T_ACCOUNT:
		t->account = method_account(req, params);
		return (t->account != NULL ? 0 : -1);
	case CTL_T_ACCOUNT_NAMED:
		t->named = method_account_named(req, params);
		return (t->named != NULL ? 0 : -1);
	case CTL_T_SCHEDULE:
		t->schedule = method_schedule(req, params);
		return (t->schedule != NULL ? 0 : -1);
	case CTL_T_BATCH:
		t->batch = method_batch(req, params);
		return (t->batch != NULL ? 0 : -1);
	}
	ctl_error(req, CTL_E_INTERNAL, "a method without a known target",
	    NULL, NULL);
	return (-1);
}

/* The account a caller acts for when a request names none: a token's
 * own, else "default". */
static const char *
method_default_account(struct ctl_req *req)
{
	const struct caller	*c = ctl_req_caller(req);

	return (c->token[0] != '\0' && c->account[0] != '\0' ? c->account :
	    "default");
}

/* The account a request acts for; NULL after answering an error. */
const char *
method_account(struct ctl_req *req, json_t *params)
{
	const char	*name = param_string(params, "account");
	struct account	*a;

	if (name == NULL)
		name = method_default_account(req);
	if ((a = account_find(name)) == NULL ||
	    !account_allows(a, ctl_req_caller(req))) {
		ctl_error(req, a == NULL ? CTL_E_NOT_FOUND : CTL_E_FORBIDDEN,
		    a == NULL ? "no such account" :
		    "not allowed to act for this account", "account",
		    a == NULL ? "unknown account" : "forbidden");
		return (NULL);
	}
	return (a->name);
}

/* The schedule a request names (id, or name in its account); NULL after
 * answering an error.  Schedules of accounts the caller may not act for
 * are not found. */
struct schedule *
method_schedule(struct ctl_req *req, json_t *params)
{
	const char	*key = param_string(params, "id");
	const char	*acct = param_string(params, "account");
	struct schedule	*s;
	struct account	*a;

	s = schedule_lookup(acct, key);
	if (s == NULL && acct == NULL)
		s = schedule_lookup(method_default_account(req), key);
	if (s != NULL && ((a = account_find(s->account)) == NULL ||
	    !account_allows(a, ctl_req_caller(req))))
		s = NULL;
	if (s == NULL)
		ctl_error(req, CTL_E_NOT_FOUND, "no such schedule", "id",
		    "not found");
	return (s);
}

/* The batch a request names, in an account the caller may act for; NULL
 * after answering an error. */
static struct batch *
method_batch(struct ctl_req *req, json_t *params)
{
	const char	*acct = param_string(params, "account");
	struct batch	*b;
	struct account	*a;

	b = batch_find(param_string(params, "id"));
	if (b != NULL && ((acct != NULL && strcmp(acct, b->owner.account) !=
	    0) || (a = account_find(b->owner.account)) == NULL ||
	    !account_allows(a, ctl_req_caller(req))))
		b = NULL;
	if (b == NULL)
		ctl_error(req, CTL_E_NOT_FOUND, "no such batch", "id",
		    "not found");
	return (b);
}

/* The account "name" names, if the caller may act for it; NULL after
 * answering -32001 (also for one it may not act for: not revealed). */
static struct account *
method_account_named(struct ctl_req *req, json_t *params)
{
	struct account	*a;

	a = account_find(param_string(params, "name"));
	if (a == NULL || !account_allows(a, ctl_req_caller(req))) {
		ctl_error(req, CTL_E_NOT_FOUND, "no such account", "name",
		    "unknown account");
		return (NULL);
	}
	return (a);
}
