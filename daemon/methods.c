/*
 * daemon/methods.c: the methods the daemon serves.  The control server
 * looks a method up by its full name: its spec (ctl/, the same chimectl
 * uses) and its handler (daemon/method-*.c).  Every method runs through
 * daemon_method_run, which resolves what the method acts on (the spec's
 * .target: an account, a schedule, a batch) and authorises the caller for
 * it once, so that no handler does it again.
 */
#include <string.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"

static const struct daemon_method *daemon_method_lookup(const char *,
		    const struct ctl_method **);
static int	 daemon_target(struct ctl_req *, json_t *, enum ctl_target,
		    struct target *);
static struct batch *method_batch(struct ctl_req *, json_t *);
static struct account *method_account_named(struct ctl_req *, json_t *);

static const struct daemon_method *const daemon_method_tables[] = {
	daemon_methods_schedule,
	daemon_methods_run,
	daemon_methods_daemon,
	daemon_methods_account,
	daemon_methods_prefs,
	daemon_methods_budget,
	daemon_methods_batch,
	daemon_methods_webhook,
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
	m->handler(req, params, &t);
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

/* The account a request acts for; NULL after answering an error. */
const char *
method_account(struct ctl_req *req, json_t *params)
{
	const char	*name = param_string(params, "account");
	struct account	*a;

	if (name == NULL)
		name = "default";
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
		s = schedule_lookup("default", key);
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
