/*
 * actors/account.c: accounts (tenants).  Every object belongs to one.  The
 * "default" account is created, with a journal record, on the first start.
 * Admin callers (root, the daemon's uid) act for any account; any other uid
 * acts only for the accounts that list it.
 *
 * Every change (account.created, account.updated, account.granted,
 * account.revoked) is one record carrying the account's row; the caller is
 * answered, and the change takes effect in memory, once it is durable.
 * Changes of one account (and of its preferences, prefs.c) come one at a
 * time (the daemon orders changes per object, daemon/methods.c), so no
 * change is built from a stale state.
 *
 * What hangs off the accounts, preferences (prefs.c) and month-to-date
 * spend (budget.c), is loaded after them and freed before them.
 */
#include <sys/types.h>

#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

#define ACCOUNT_OF(n) \
	((struct account *)((char *)(n) - offsetof(struct account, node)))

/* A change on its way to the journal. */
struct account_op {
	struct reply		*req;
	struct account		*a;	/* NULL when creating */
	struct account		*t;	/* the new state */
	const char		*what;	/* "created", "granted", ... */
};

static struct strmap	accounts;

static struct account	*account_new(const char *);
static void		 account_free(struct account *);
static struct account	*account_clone(const struct account *);
static void		 account_pack(const struct account *, msgpack_packer *,
			     const uid_t *);
static struct account	*account_unpack(const msgpack_object *);
static struct jrec	*account_record(const struct account *, const char *,
			     const uid_t *);
static int		 account_row_cb(const struct journal_row *, void *);
static void		 account_created_cb(const struct journal_result *,
			     void *);
static int		 account_has_uid(const struct account *, uid_t);
static int		 account_uid_param(json_t *, int, uid_t *,
			     const char **, char **);
static int		 account_config(struct account *, json_t *,
			     const char **, char **);
static void		 account_op_fail(struct reply *,
			     const struct journal_result *, int);
static void		 account_op_cb(const struct journal_result *, void *);
static void		 account_new_cb(const struct journal_result *, void *);
static void		 account_do_update(struct reply *, struct account *,
			     json_t *);
static void		 account_do_grant(struct reply *, struct account *,
			     json_t *);
static void		 account_do_revoke(struct reply *, struct account *,
			     json_t *);
static void		 account_change(struct reply *, struct account *,
			     json_t *, int);
static void		 account_submit(struct account_op *, const char *,
			     const uid_t *, journal_done_cb);
static int		 account_cmp_name(const void *, const void *);
static void		 account_free_node(struct strmap_node *, void *);

/* ---- life cycle -------------------------------------------------------- */

static struct account *
account_new(const char *name)
{
	struct account	*a;

	a = xcalloc(1, sizeof *a);
	a->name = xstrdup(name);
	a->tz = tz_load("UTC", NULL);
	return (a);
}

static void
account_free(struct account *a)
{
	if (a == NULL)
		return;
	free(a->uids);
	free(a->name);
	free(a->email_from_name);
	free(a);
}

/* A copy of A's state (not its queue), for a change to work on. */
static struct account *
account_clone(const struct account *a)
{
	struct account	*t;

	t = account_new(a->name);
	t->uids = xcalloc(a->nuids + 1, sizeof *t->uids);
	if (a->nuids > 0)
		memcpy(t->uids, a->uids, a->nuids * sizeof *t->uids);
	t->nuids = a->nuids;
	t->monthly_budget = a->monthly_budget;
	t->tz = a->tz;
	t->email_from_name = a->email_from_name != NULL ?
	    xstrdup(a->email_from_name) : NULL;
	t->created_us = a->created_us;
	t->updated_us = a->updated_us;
	return (t);
}

/* ---- rows -------------------------------------------------------------- */

/* An account with the uid a grant or revoke names (NULL: none). */
struct account_row {
	const struct account	*a;
	const uid_t		*uid;
};

/* account_pack's entries (pack_map_counted counts them). */
static void
account_pack_entries(msgpack_packer *pk, const void *arg)
{
	const struct account_row	*r = arg;
	const struct account		*a = r->a;
	size_t				 i;

	pack_kstr(pk, "name", a->name);
	pack_str(pk, "uids");
	msgpack_pack_array(pk, a->nuids);
	for (i = 0; i < a->nuids; i++)
		msgpack_pack_uint32(pk, a->uids[i]);
	pack_kint(pk, "monthly_budget_micro", a->monthly_budget);
	pack_kstr(pk, "tz", tz_name(a->tz));
	pack_kint(pk, "created_us", a->created_us);
	pack_kint(pk, "updated_us", a->updated_us);
	if (a->email_from_name != NULL)
		pack_kstr(pk, "email_from_name", a->email_from_name);
	if (r->uid != NULL)
		pack_kint(pk, "uid", (int64_t)*r->uid);
}

/* The "accounts" row (and record body); UID, if set, adds key "uid". */
static void
account_pack(const struct account *a, msgpack_packer *pk, const uid_t *uid)
{
	struct account_row	r = { a, uid };

	pack_map_counted(pk, account_pack_entries, &r);
}

static struct account *
account_unpack(const msgpack_object *o)
{
	const msgpack_object	*uids;
	const struct tz		*tz;
	struct account		*a;
	char			*name, *zone;
	uint32_t		 i;

	if ((name = unpack_strdup(o, "name")) == NULL)
		return (NULL);
	a = account_new(name);
	free(name);
	a->monthly_budget = unpack_int(o, "monthly_budget_micro", 0);
	a->email_from_name = unpack_strdup(o, "email_from_name");
	a->created_us = unpack_int(o, "created_us", 0);
	a->updated_us = unpack_int(o, "updated_us", a->created_us);
	if ((zone = unpack_strdup(o, "tz")) != NULL) {
		if ((tz = tz_load(zone, NULL)) != NULL)
			a->tz = tz;
		else
			log_warnx("msg=\"account zone unknown; using UTC\" "
			    "account=%s tz=\"%s\"", a->name, log_escape(zone));
		free(zone);
	}
	uids = unpack_get(o, "uids");
	if (uids != NULL && uids->type == MSGPACK_OBJECT_ARRAY) {
		a->uids = xcalloc(uids->via.array.size + 1, sizeof *a->uids);
		for (i = 0; i < uids->via.array.size; i++) {
			if (uids->via.array.ptr[i].type ==
			    MSGPACK_OBJECT_POSITIVE_INTEGER)
				a->uids[a->nuids++] =
				    (uid_t)uids->via.array.ptr[i].via.u64;
		}
	}
	return (a);
}

/* A record of KIND with A's map as body and as its "accounts" row. */
static struct jrec *
account_record(const struct account *a, const char *kind, const uid_t *uid)
{
	struct jrec		*rec;
	struct pack_buffer	 pb;

	rec = jrec_create(kind, a->name);
	jrec_failfast(rec);
	account_pack(a, jrec_body(rec), uid);
	pack_buffer_init(&pb);
	account_pack(a, &pb.pk, NULL);
	jrec_put(rec, "accounts", a->name, strlen(a->name), pb.sbuf.data,
	    pb.sbuf.size);
	pack_buffer_clear(&pb);
	return (rec);
}

static int
account_row_cb(const struct journal_row *row, void *arg)
{
	msgpack_unpacked	 u;
	struct account		*a;

	if (unpack_buffer(row->val, row->vlen, &u) == -1) {
		log_warnx("msg=\"unreadable account row skipped\"");
		return (0);
	}
	if ((a = account_unpack(&u.data)) != NULL &&
	    strmap_insert(&accounts, &a->node, a->name) == -1)
		account_free(a);
	msgpack_unpacked_destroy(&u);
	return (0);
}

static void
account_created_cb(const struct journal_result *res, void *arg)
{
	if (res->status != JOURNAL_OK)
		log_warnx("msg=\"cannot record the default account\" "
		    "error=\"%s\"", res->error != NULL ? res->error :
		    "duplicate");
}

/* Load every account, and create "default" (journaled) if it is missing.
 * What hangs off the accounts (prefs.c, budget.c) is loaded after. */
int
account_load_all(struct journal *j, char **cause)
{
	struct account	*a;
	struct jrec	*rec;

	strmap_foreach(&accounts, account_free_node, NULL);
	strmap_clear(&accounts);
	strmap_init(&accounts);
	if (journal_table_foreach(j, "accounts", NULL, 0, 0, account_row_cb,
	    NULL) == -1) {
		*cause = xstrdup("cannot read the accounts table");
		return (-1);
	}
	if (account_find("default") == NULL) {
		a = account_new("default");
		a->created_us = a->updated_us = now_us();
		strmap_insert(&accounts, &a->node, a->name);
		rec = account_record(a, "account.created", NULL);
		jrec_claim(rec, "account:default");
		journal_submit(j, rec, account_created_cb, NULL);
	}
	return (0);
}

struct account *
account_find(const char *name)
{
	struct strmap_node	*n;

	if (name == NULL || (n = strmap_find(&accounts, name)) == NULL)
		return (NULL);
	return (ACCOUNT_OF(n));
}

static int
account_has_uid(const struct account *a, uid_t uid)
{
	size_t	i;

	for (i = 0; i < a->nuids; i++) {
		if (a->uids[i] == uid)
			return (1);
	}
	return (0);
}

/* May CALLER act for account A?  An admin for any; a token for its own
 * account; a process for the accounts that grant its uid. */
int
account_allows(const struct account *a, const struct caller *caller)
{
	if (caller->admin)
		return (1);
	if (caller->token[0] != '\0')
		return (strcmp(a->name, caller->account) == 0);
	return (account_has_uid(a, caller->uid));
}

/* The zone of ACCOUNT's budget months (UTC for an unknown account). */
const struct tz *
account_tz(const char *name)
{
	struct account	*a;

	if ((a = account_find(name)) == NULL)
		return (tz_load("UTC", NULL));
	return (a->tz);
}

static void
account_free_node(struct strmap_node *n, void *arg)
{
	account_free(ACCOUNT_OF(n));
}

/* Free every account (their preferences and spend figures first). */
void
account_free_all(void)
{
	strmap_foreach(&accounts, account_free_node, NULL);
	strmap_clear(&accounts);
}

struct account_each {
	void	 (*fn)(const struct account *, void *);
	void	*arg;
};

static void
account_each_node(struct strmap_node *n, void *arg)
{
	struct account_each	*e = arg;

	e->fn(ACCOUNT_OF(n), e->arg);
}

/* Call FN for every account (FN may not add or remove accounts). */
void
account_foreach(void (*fn)(const struct account *, void *), void *arg)
{
	struct account_each	e = { fn, arg };

	if (accounts.nbuckets != 0)
		strmap_foreach(&accounts, account_each_node, &e);
}

size_t
account_count(void)
{
	return (accounts.count);
}

json_t *
account_to_json(const struct account *a)
{
	json_t	*uids = json_array(), *j;
	char	 buf[40];
	size_t	 i;

	for (i = 0; i < a->nuids; i++)
		json_array_append_new(uids, json_integer(a->uids[i]));
	j = json_pack("{s:s, s:o, s:s*, s:s}", "name", a->name, "uids", uids,
	    "monthly_budget_usd", a->monthly_budget > 0 ?
	    fmt_usd(a->monthly_budget, buf, sizeof buf) : NULL,
	    "tz", tz_name(a->tz));
	json_object_set_new(j, "email_from_name", a->email_from_name != NULL ?
	    json_string(a->email_from_name) : json_null());
	json_object_set_new(j, "created", a->created_us > 0 ?
	    json_string(fmt_rfc3339(a->created_us, buf, sizeof buf)) :
	    json_null());
	json_object_set_new(j, "updated", a->updated_us > 0 ?
	    json_string(fmt_rfc3339(a->updated_us, buf, sizeof buf)) :
	    json_null());
	return (j);
}

struct list_ctx {
	const struct caller	 *caller;
	struct account		**v;
	size_t			  n;
};

static void
account_list_node(struct strmap_node *n, void *arg)
{
	struct list_ctx	*ctx = arg;
	struct account	*a = ACCOUNT_OF(n);

	if (account_allows(a, ctx->caller))
		ctx->v[ctx->n++] = a;
}

static int
account_cmp_name(const void *x, const void *y)
{
	return (strcmp((*(struct account *const *)x)->name,
	    (*(struct account *const *)y)->name));
}

/* The accounts CALLER may act for (every one for an admin), by name. */
json_t *
account_list(const struct caller *caller)
{
	struct list_ctx	 ctx;
	json_t		*list = json_array();
	size_t		 i;

	ctx.caller = caller;
	ctx.v = xcalloc(accounts.count + 1, sizeof *ctx.v);
	ctx.n = 0;
	strmap_foreach(&accounts, account_list_node, &ctx);
	xqsort(ctx.v, ctx.n, sizeof *ctx.v, account_cmp_name);
	for (i = 0; i < ctx.n; i++)
		json_array_append_new(list, account_to_json(ctx.v[i]));
	free(ctx.v);
	return (list);
}

/* ---- control operations ------------------------------------------------ */

/*
 * The uid named by "uid" or "user" (a user name, looked up with getpwnam)
 * in PARAMS: 1 and *uid, 0 if neither is given (an error if REQUIRED), or
 * -1 with *field and allocated *reason.
 */
static int
account_uid_param(json_t *params, int required, uid_t *uid,
    const char **field, char **reason)
{
	struct passwd	*pw;
	const char	*user = param_string(params, "user");
	int64_t		 n;
	int		 given;

	given = param_int(params, "uid", &n);
	if (given && user != NULL) {
		*field = "uid";
		*reason = xstrdup("give uid or user, not both");
		return (-1);
	}
	if (given) {
		*field = "uid";
		if (n < 0 || n >= (int64_t)UINT32_MAX) {
			*reason = xstrdup("must be from 0 to 4294967294");
			return (-1);
		}
		*uid = (uid_t)n;
		return (1);
	}
	if (user != NULL) {
		*field = "user";
		if (*user == '\0' || (pw = getpwnam(user)) == NULL) {
			xasprintf(reason, "no such user \"%s\"", user);
			return (-1);
		}
		*uid = pw->pw_uid;
		return (1);
	}
	if (required) {
		*field = "uid";
		*reason = xstrdup("give uid or user");
		return (-1);
	}
	return (0);
}

/* Apply "monthly_budget", "tz" and "email_from_name" of PARAMS to T. */
static int
account_config(struct account *t, json_t *params, const char **field,
    char **reason)
{
	const struct tz	*tz;
	const char	*zone, *name;
	const u_char	*p;
	int64_t		 v;

	if (json_object_get(params, "monthly_budget") != NULL) {
		*field = "monthly_budget";
		if (!param_usd(params, "monthly_budget", &v)) {
			*reason = xstrdup("must be an amount in USD, e.g. "
			    "\"100.00\"");
			return (-1);
		}
		t->monthly_budget = v;
	}
	if ((zone = param_string(params, "tz")) != NULL) {
		*field = "tz";
		if ((tz = tz_load(zone, reason)) == NULL)
			return (-1);
		t->tz = tz;
	}
	if ((name = param_string(params, "email_from_name")) != NULL) {
		*field = "email_from_name";
		for (p = (const u_char *)name; *p != '\0'; p++)
			if (*p < 0x20 || *p == 0x7f)
				break;
		if (*p != '\0' || strlen(name) > ACCOUNT_FROM_NAME_MAX) {
			xasprintf(reason, "at most %d bytes, no control "
			    "characters (\"\": the daemon's --smtp-from-name)",
			    ACCOUNT_FROM_NAME_MAX);
			return (-1);
		}
		free(t->email_from_name);
		t->email_from_name = *name != '\0' ? xstrdup(name) : NULL;
	}
	return (0);
}

static void
account_op_fail(struct reply *req, const struct journal_result *res,
    int creating)
{
	if (res->status == JOURNAL_DUPLICATE)
		reply_fail(req, REPLY_CONFLICT, creating ? "the account exists" :
		    "already recorded", creating ? "name" : NULL,
		    creating ? "already exists" : NULL);
	else
		outcome_journal(req, res);
}

static void
account_new_cb(const struct journal_result *res, void *arg)
{
	struct account_op	*op = arg;
	struct account		*t = op->t;

	if (res->status != JOURNAL_OK || strmap_insert(&accounts, &t->node,
	    t->name) == -1) {
		if (res->status == JOURNAL_OK)
			reply_fail(op->req, REPLY_CONFLICT, "the account exists",
			    "name", "already exists");
		else
			account_op_fail(op->req, res, 1);
		account_free(t);
		free(op);
		return;
	}
	log_info("msg=\"account created\" account=%s uids=%zu", t->name,
	    t->nuids);
	reply_ok(op->req, account_to_json(t));
	free(op);
}

/* account.create: name, optional uid or user, monthly_budget, tz. */
void
account_ctl_create(struct reply *req, json_t *params)
{
	struct account_op	*op;
	struct account		*t;
	const char		*name = param_string(params, "name");
	const char		*field = NULL;
	char			*reason = NULL;
	uid_t			 uid;
	int			 rc;

	if (name == NULL || !valid_id(name)) {
		reply_invalid(req, "name", "must be 1-64 of A-Z a-z 0-9 . _ "
		    "- (not starting with . or -)");
		return;
	}
	if (account_find(name) != NULL) {
		reply_fail(req, REPLY_CONFLICT, "the account exists", "name",
		    "already exists");
		return;
	}
	t = account_new(name);
	t->uids = xcalloc(1, sizeof *t->uids);
	if ((rc = account_uid_param(params, 0, &uid, &field, &reason)) == 1)
		t->uids[t->nuids++] = uid;
	if (rc == -1 || account_config(t, params, &field, &reason) == -1) {
		reply_invalid(req, field, reason);
		free(reason);
		account_free(t);
		return;
	}
	t->created_us = t->updated_us = now_us();
	op = xcalloc(1, sizeof *op);
	op->req = req;
	op->t = t;
	op->what = "created";
	account_submit(op, "account.created", NULL, account_new_cb);
}

static void
account_op_cb(const struct journal_result *res, void *arg)
{
	struct account_op	*op = arg;
	struct account		*a = op->a, *t = op->t;
	uid_t			*uids;

	if (res->status != JOURNAL_OK)
		account_op_fail(op->req, res, 0);
	else {
		uids = a->uids;
		a->uids = t->uids;
		t->uids = uids;
		a->nuids = t->nuids;
		a->monthly_budget = t->monthly_budget;
		a->tz = t->tz;
		SWAP(a->email_from_name, t->email_from_name);
		a->updated_us = t->updated_us;
		log_info("msg=\"account %s\" account=%s uids=%zu", op->what,
		    a->name, a->nuids);
		reply_ok(op->req, account_to_json(a));
	}
	account_free(t);
	free(op);
}

/* Journal OP's new state as KIND; CB answers.  A create claims its name. */
static void
account_submit(struct account_op *op, const char *kind, const uid_t *uid,
    journal_done_cb cb)
{
	struct jrec	*rec;
	char		 claim[80];

	rec = account_record(op->t, kind, uid);
	if (op->a == NULL) {
		snprintf(claim, sizeof claim, "account:%s", op->t->name);
		jrec_claim(rec, claim);
	}
	journal_submit(engine->journal, rec, cb, op);
}

static void
account_do_update(struct reply *req, struct account *a, json_t *params)
{
	struct account_op	*op;
	struct account		*t;
	const char		*field = NULL;
	char			*reason = NULL;

	if (json_object_get(params, "monthly_budget") == NULL &&
	    json_object_get(params, "tz") == NULL &&
	    json_object_get(params, "email_from_name") == NULL) {
		reply_invalid(req, "name", "nothing to change: give "
		    "monthly_budget, tz or email_from_name");
		return;
	}
	t = account_clone(a);
	if (account_config(t, params, &field, &reason) == -1) {
		reply_invalid(req, field, reason);
		free(reason);
		account_free(t);
		return;
	}
	t->updated_us = now_us();
	op = xcalloc(1, sizeof *op);
	op->req = req;
	op->a = a;
	op->t = t;
	op->what = "updated";
	account_submit(op, "account.updated", NULL, account_op_cb);
}

/* account.update: monthly_budget (0: none), tz and email_from_name ("":
 * none) of account A. */
void
account_ctl_update(struct reply *req, struct account *a, json_t *params)
{
	account_do_update(req, a, params);
}

/* Grant (GRANT) or revoke the uid of PARAMS on A, as one record. */
static void
account_change(struct reply *req, struct account *a, json_t *params,
    int grant)
{
	struct account_op	*op;
	struct account		*t;
	const char		*field = NULL;
	char			*reason = NULL;
	uid_t			 uid;
	size_t			 i;

	if (account_uid_param(params, 1, &uid, &field, &reason) == -1) {
		reply_invalid(req, field, reason);
		free(reason);
		return;
	}
	if (account_has_uid(a, uid) == grant || (grant &&
	    a->nuids >= ACCOUNT_MAX_UIDS)) {
		reply_fail(req, REPLY_CONFLICT, !grant ? "the uid is not "
		    "granted" : a->nuids >= ACCOUNT_MAX_UIDS ? "too many uids" :
		    "the uid is granted already", field, !grant ?
		    "not granted" : "already granted");
		return;
	}
	t = account_clone(a);
	if (grant) {
		t->uids = xreallocarray(t->uids, t->nuids + 1,
		    sizeof *t->uids);
		t->uids[t->nuids++] = uid;
	} else {
		for (i = 0; i < t->nuids && t->uids[i] != uid; i++)
			;
		memmove(t->uids + i, t->uids + i + 1, (t->nuids - i - 1) *
		    sizeof *t->uids);
		t->nuids--;
	}
	t->updated_us = now_us();
	op = xcalloc(1, sizeof *op);
	op->req = req;
	op->a = a;
	op->t = t;
	op->what = grant ? "granted" : "revoked";
	account_submit(op, grant ? "account.granted" : "account.revoked", &uid,
	    account_op_cb);
}

static void
account_do_grant(struct reply *req, struct account *a, json_t *params)
{
	account_change(req, a, params, 1);
}

static void
account_do_revoke(struct reply *req, struct account *a, json_t *params)
{
	account_change(req, a, params, 0);
}

/* account.grant / account.revoke: the uid (or user) of PARAMS. */
void
account_ctl_grant(struct reply *req, struct account *a, json_t *params,
    int grant)
{
	if (grant)
		account_do_grant(req, a, params);
	else
		account_do_revoke(req, a, params);
}
