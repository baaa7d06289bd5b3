/*
 * actors/subscription-ops.c: the control operations on subscriptions as
 * the method handlers call them (doc/protocol.md, "subscription.*"):
 * create, list, get, update, pause, resume, delete, test, deliveries.
 * Parameters are checked whole before anything is written; a change is
 * journaled and answered once its record is durable.  The caller was
 * authorised for the account (or the subscription's account) before.
 * A generated secret is shown once, in the answer that made it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

/* A change in flight. */
struct sub_op {
	struct reply		*req;
	struct subscription	*s;		/* NULL: being created */
	struct sub_changes	 c;
	char			*whsec;		/* a generated secret, shown
						   once */
	char			*gen_name;	/* ... its name, to remove if
						   the record fails */
	char			*drop_ref;	/* a generated secret to remove
						   once the record is durable */
	char			*kind;
	json_t			*extra;		/* merged into the answer */
};

/* The configuration a create or update gives. */
struct sub_config {
	const char	*url;
	char		**kinds;
	size_t		 nkinds;
	int		 kinds_given;
	int64_t		 batch;
	const char	*secret;		/* NULL: not given */
	char		*secret_ref;		/* the reference kept */
	char		 fp[65];
};

static void	 sub_op_free(struct sub_op *);
static void	 sub_op_cb(const struct journal_result *, void *);
static int	 sub_config_read(struct reply *, json_t *, int,
		    struct sub_config *);
static void	 sub_config_clear(struct sub_config *);
static int	 sub_secret(struct reply *, struct sub_op *, const char *,
		    const char *, struct sub_config *);
static void	 sub_config_entries(msgpack_packer *, const void *);
static void	 sub_submit(struct sub_op *, const char *, const char *,
		    struct pack_buffer *);

static void
sub_op_free(struct sub_op *op)
{
	if (op->whsec != NULL)
		secret_free((unsigned char *)op->whsec, strlen(op->whsec));
	free(op->gen_name);
	free(op->drop_ref);
	free(op->kind);
	json_decref(op->extra);
	subscription_changes_clear(&op->c);
	free(op);
}

static void
sub_config_clear(struct sub_config *cf)
{
	size_t	i;

	for (i = 0; cf->kinds != NULL && i < cf->nkinds; i++)
		free(cf->kinds[i]);
	free(cf->kinds);
	free(cf->secret_ref);
	memset(cf, 0, sizeof *cf);
}

/* Read and check url, kinds, batch (and which secret) from PARAMS;
 * CREATE: url is required.  0, or -1 after refusing REQ. */
static int
sub_config_read(struct reply *req, json_t *params, int create,
    struct sub_config *cf)
{
	const char	*kinds;
	char		*cause = NULL;

	memset(cf, 0, sizeof *cf);
	cf->batch = 0;
	cf->url = param_string(params, "url");
	if (cf->url == NULL && create) {
		reply_invalid(req, "url", "required");
		return (-1);
	}
	if (cf->url != NULL && (strlen(cf->url) > SUB_MAX_URL ||
	    http_url_check(cf->url, &cause) != 0)) {
		if (cause == NULL)
			xasprintf(&cause, "at most %d bytes", SUB_MAX_URL);
		reply_invalid(req, "url", cause);
		free(cause);
		return (-1);
	}
	if ((kinds = param_string(params, "kinds")) != NULL) {
		cf->kinds_given = 1;
		if (subscription_kinds_parse(kinds, &cf->kinds, &cf->nkinds,
		    &cause) != 0) {
			reply_invalid(req, "kinds", cause);
			free(cause);
			return (-1);
		}
	}
	if (param_int(params, "batch", &cf->batch) &&
	    (cf->batch < 1 || cf->batch > SUB_MAX_BATCH)) {
		reply_invalid(req, "batch", "from 1 to 100");
		sub_config_clear(cf);
		return (-1);
	}
	cf->secret = param_string(params, "secret");
	return (0);
}

/*
 * The secret of subscription ID: "generated" (or none given: NAME is
 * made, shown once through OP) or a reference (an admin's: checked by
 * the method before), read now to check that it signs.  0, or -1 after
 * refusing REQ.
 */
static int
sub_secret(struct reply *req, struct sub_op *op, const char *ref,
    const char *name, struct sub_config *cf)
{
	char	*cause = NULL;

	if (ref == NULL || strcmp(ref, "generated") == 0) {
		if (secret_generate(engine->data_dir, name, &op->whsec,
		    &cause) != 0) {
			reply_fail(req, REPLY_INTERNAL, cause, "secret",
			    "not generated");
			free(cause);
			return (-1);
		}
		op->gen_name = xstrdup(name);
		xasprintf(&cf->secret_ref, "generated:%s", name);
		secret_fingerprint((unsigned char *)op->whsec,
		    strlen(op->whsec), cf->fp);
		return (0);
	}
	if (strncmp(ref, "generated:", 10) == 0) {
		reply_invalid(req, "secret", "use \"generated\": the daemon "
		    "names generated secrets");
		return (-1);
	}
	if (secret_ref_check(ref, &cause) != 0 ||
	    webhook_secret_usable(ref, WEBHOOK_STANDARD, &cause) != 0 ||
	    webhook_secret_fingerprint(ref, cf->fp, &cause) != 0) {
		reply_invalid(req, "secret", cause);
		free(cause);
		return (-1);
	}
	cf->secret_ref = xstrdup(ref);
	return (0);
}

struct sub_config_body {
	const char		*id;
	const char		*account;
	const struct sub_row	*row;		/* update: the row before */
	const struct sub_config	*cf;
	const struct caller	*caller;
	int			 all_accounts;
	uint64_t		 cursor;
	int			 create;
};

/* The body of subscription.created and .updated: the whole
 * configuration (an update: the row's where nothing new is given). */
static void
sub_config_entries(msgpack_packer *pk, const void *arg)
{
	const struct sub_config_body	*b = arg;
	const struct sub_config		*cf = b->cf;
	const struct sub_row		*r = b->row;
	char *const			*kinds;
	size_t				 n, i;

	kinds = cf->kinds_given || r == NULL ? cf->kinds : r->kinds;
	n = cf->kinds_given || r == NULL ? cf->nkinds : r->nkinds;
	pack_kstr(pk, "subscription", b->id);
	pack_kint(pk, "at_us", now_us());
	if (b->create) {
		pack_kstr(pk, "account", b->account);
		pack_kbool(pk, "all_accounts", b->all_accounts);
		pack_kint(pk, "cursor", (int64_t)b->cursor);
	}
	pack_kstr(pk, "url", cf->url != NULL ? cf->url : r->url);
	pack_str(pk, "kinds");
	msgpack_pack_array(pk, n);
	for (i = 0; i < n; i++)
		pack_str(pk, kinds[i]);
	pack_kint(pk, "batch", cf->batch != 0 ? cf->batch : r != NULL ?
	    r->batch : 1);
	pack_kstr(pk, "secret_ref", cf->secret_ref != NULL ? cf->secret_ref :
	    r->secret_ref);
	pack_kstr(pk, "fingerprint", cf->secret_ref != NULL ? cf->fp :
	    r->fingerprint);
	pack_kint(pk, "by_uid", b->caller != NULL ? CALLER_UID(b->caller) :
	    -1);
	pack_kint(pk, "by_pid", b->caller != NULL ? (int64_t)b->caller->pid :
	    -1);
}

/* Journal OP's record KIND (of ACCOUNT for a new subscription) with BODY;
 * answered from sub_op_cb. */
static void
sub_submit(struct sub_op *op, const char *kind, const char *account,
    struct pack_buffer *pb)
{
	struct jrec	*rec;
	char		*cause = NULL;

	op->kind = xstrdup(kind);
	rec = subscription_record(op->s, kind, account, pb, &op->c, &cause);
	pack_buffer_clear(pb);
	if (rec == NULL) {
		reply_fail(op->req, REPLY_INTERNAL, cause, NULL, NULL);
		free(cause);
		if (op->s != NULL)
			subscription_busy(op->s, 0);
		sub_op_free(op);
		return;
	}
	jrec_failfast(rec);
	if (op->s != NULL)
		actor_ref((struct actor *)op->s);
	journal_submit(engine->journal, rec, sub_op_cb, op);
}

/* Remove generated secret REF ("generated:NAME"), logging a failure. */
static void
sub_drop_secret(const char *id, const char *ref)
{
	char	*cause = NULL;

	if (ref == NULL || strncmp(ref, "generated:", 10) != 0)
		return;
	if (secret_remove(engine->data_dir, ref + 10, &cause) != 0) {
		log_warnx("msg=\"generated secret not removed\" "
		    "subscription=%s error=\"%s\"", id, log_escape(cause));
		free(cause);
	}
}

/* OP's record is durable (or not): apply, answer. */
static void
sub_op_cb(const struct journal_result *res, void *arg)
{
	struct sub_op		*op = arg;
	struct subscription	*s = op->s;
	json_t			*o;

	if (res->status != JOURNAL_OK) {
		if (op->gen_name != NULL) {
			char *ref;

			xasprintf(&ref, "generated:%s", op->gen_name);
			sub_drop_secret(op->c.id, ref);
			free(ref);
		}
		if (s != NULL)
			subscription_record_failed(s, op->kind, res);
		outcome_journal(op->req, res);
		goto out;
	}
	if (s == NULL)
		s = subscription_register(&op->c.row, op->c.row_bytes,
		    op->c.row_len);
	log_info("msg=\"%s\" subscription=%s account=%s", op->kind,
	    op->c.id, subscription_row(s)->account);
	sub_drop_secret(op->c.id, op->drop_ref);
	if (op->c.row_deleted) {
		o = json_pack("{s:s,s:b}", "id", op->c.id, "deleted", 1);
		subscription_unregister(s);
		actor_unref((struct actor *)s);	/* sub_submit's */
		s = op->s = NULL;
	} else
		o = subscription_to_json(s);
	if (op->whsec != NULL)
		json_object_set_new(o, "secret", json_string(op->whsec));
	if (op->extra != NULL)
		json_object_update(o, op->extra);
	reply_ok(op->req, o);
out:
	if (op->s != NULL) {
		subscription_busy(op->s, 0);
		actor_unref((struct actor *)op->s);
	}
	sub_op_free(op);
}

/* subscription.create in ACCOUNT. */
void
subscription_op_create(struct reply *req, json_t *params,
    const char *account)
{
	const struct caller	*caller = reply_caller(req);
	struct sub_config_body	 b;
	struct sub_config	 cf;
	struct pack_buffer	 pb;
	struct sub_op		*op;
	char			 id[32];
	int64_t			 from;
	int			 all = 0;
	uint64_t		 head = journal_seq(engine->journal);

	if (param_bool(params, "all_accounts", &all) && all &&
	    (caller == NULL || !caller->admin)) {
		reply_fail(req, REPLY_FORBIDDEN, "only an admin may subscribe "
		    "to every account", "all_accounts", "admin only");
		return;
	}
	from = (int64_t)head + 1;
	if (param_int(params, "from_seq", &from) &&
	    (from < 1 || (uint64_t)from > head + 1)) {
		reply_invalid(req, "from_seq", "from 1 to the next seq of the "
		    "journal");
		return;
	}
	if (subscription_count(account) >= SUB_MAX_PER_ACCOUNT) {
		reply_fail(req, REPLY_CONFLICT, "the account has the most "
		    "subscriptions it may have (100)", "account", "too many");
		return;
	}
	if (sub_config_read(req, params, 1, &cf) != 0)
		return;
	op = xcalloc(1, sizeof *op);
	op->req = req;
	random_id("sub_", id, sizeof id);
	if (sub_secret(req, op, cf.secret, id, &cf) != 0) {
		sub_config_clear(&cf);
		sub_op_free(op);
		return;
	}
	memset(&b, 0, sizeof b);
	b.id = id;
	b.account = account;
	b.cf = &cf;
	b.caller = caller;
	b.all_accounts = all;
	b.cursor = (uint64_t)from - 1;
	b.create = 1;
	pack_buffer_init(&pb);
	pack_map_counted(&pb.pk, sub_config_entries, &b);
	sub_config_clear(&cf);
	sub_submit(op, "subscription.created", account, &pb);
}

/* subscription.update: what PARAMS give replaces the configuration. */
void
subscription_op_update(struct reply *req, struct subscription *s,
    json_t *params)
{
	const struct sub_row	*r = subscription_row(s);
	struct sub_config_body	 b;
	struct sub_config	 cf;
	struct pack_buffer	 pb;
	struct sub_op		*op;
	char			 name[96];

	if (sub_config_read(req, params, 0, &cf) != 0)
		return;
	if (cf.url == NULL && !cf.kinds_given && cf.batch == 0 &&
	    cf.secret == NULL) {
		reply_invalid(req, "url", "nothing to change: give url, kinds, "
		    "batch or secret");
		sub_config_clear(&cf);
		return;
	}
	if (subscription_busy(s, 1) != 0) {
		reply_fail(req, REPLY_CONFLICT, "another change to this "
		    "subscription is in flight", "id", "busy");
		sub_config_clear(&cf);
		return;
	}
	op = xcalloc(1, sizeof *op);
	op->req = req;
	op->s = s;
	if (cf.secret != NULL) {
		snprintf(name, sizeof name, "%s.r%" PRId64, r->id, now_us());
		if (sub_secret(req, op, cf.secret, name, &cf) != 0) {
			subscription_busy(s, 0);
			sub_config_clear(&cf);
			op->s = NULL;
			sub_op_free(op);
			return;
		}
		if (strcmp(cf.secret_ref, r->secret_ref) != 0)
			op->drop_ref = xstrdup(r->secret_ref);
	}
	memset(&b, 0, sizeof b);
	b.id = r->id;
	b.row = r;
	b.cf = &cf;
	b.caller = reply_caller(req);
	pack_buffer_init(&pb);
	pack_map_counted(&pb.pk, sub_config_entries, &b);
	sub_config_clear(&cf);
	sub_submit(op, "subscription.updated", NULL, &pb);
}

/* subscription.pause, .resume (VERB) and .delete ("delete"). */
void
subscription_op_state(struct reply *req, struct subscription *s,
    const char *verb)
{
	const struct sub_row	*r = subscription_row(s);
	const struct caller	*c = reply_caller(req);
	struct pack_buffer	 pb;
	struct sub_op		*op;
	const char		*kind;
	const struct pack_pair	 v[] = {
		PACK_PAIR_STR("subscription", r->id),
		PACK_PAIR_INT("at_us", now_us()),
		PACK_PAIR_INT("by_uid", c != NULL ? CALLER_UID(c) : -1),
		PACK_PAIR_INT("by_pid", c != NULL ? (int64_t)c->pid : -1),
	};

	if (strcmp(verb, "pause") == 0) {
		kind = "subscription.paused";
		if (r->state == SUB_PAUSED) {
			reply_fail(req, REPLY_CONFLICT, "the subscription is "
			    "paused already", "id", "paused");
			return;
		}
	} else if (strcmp(verb, "resume") == 0) {
		kind = "subscription.resumed";
		if (r->state == SUB_ACTIVE) {
			reply_fail(req, REPLY_CONFLICT, "the subscription is "
			    "active already", "id", "active");
			return;
		}
	} else
		kind = "subscription.deleted";
	if (subscription_busy(s, 1) != 0) {
		reply_fail(req, REPLY_CONFLICT, "another change to this "
		    "subscription is in flight", "id", "busy");
		return;
	}
	op = xcalloc(1, sizeof *op);
	op->req = req;
	op->s = s;
	if (strcmp(verb, "delete") == 0)
		op->drop_ref = xstrdup(r->secret_ref);
	pack_buffer_init(&pb);
	PACK_MAP(&pb.pk, v);
	sub_submit(op, kind, NULL, &pb);
}

void
subscription_op_delete(struct reply *req, struct subscription *s)
{
	subscription_op_state(req, s, "delete");
}

void
subscription_op_get(struct reply *req, struct subscription *s)
{
	reply_ok(req, subscription_to_json(s));
}

struct sub_list {
	const char		*account;
	const struct caller	*caller;
	json_t			*a;
};

static void
sub_list_one(struct subscription *s, void *arg)
{
	struct sub_list		*l = arg;
	const struct sub_row	*r = subscription_row(s);
	struct account		*acct;

	if (l->account != NULL ? strcmp(r->account, l->account) != 0 :
	    ((acct = account_find(r->account)) == NULL ||
	    !account_allows(acct, l->caller)))
		return;
	json_array_append_new(l->a, subscription_to_json(s));
}

static int
sub_list_cmp(const void *a, const void *b)
{
	const char	*x = json_string_value(json_object_get(
			    *(json_t *const *)a, "id"));
	const char	*y = json_string_value(json_object_get(
			    *(json_t *const *)b, "id"));

	return (strcmp(x, y));
}

/* subscription.list: of ACCOUNT, or (NULL) of every account the caller
 * may act for; by id. */
void
subscription_op_list(struct reply *req, json_t *params, const char *account)
{
	struct sub_list	 l = { account, reply_caller(req), json_array() };
	json_t		**v, *out;
	size_t		 i, n;

	subscription_foreach(sub_list_one, &l);
	n = json_array_size(l.a);
	v = xcalloc(n + 1, sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = json_incref(json_array_get(l.a, i));
	xqsort(v, n, sizeof *v, sub_list_cmp);
	out = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(out, v[i]);
	free(v);
	json_decref(l.a);
	reply_ok(req, json_pack("{s:o}", "subscriptions", out));
}

/* The test POST ended: journal it, answer with its outcome. */
static void
sub_test_cb(struct exec_result *r, void *arg)
{
	struct sub_op		*op = arg;
	const struct sub_row	*row = subscription_row(op->s);
	struct pack_buffer	 pb;
	int			 ok = r->status == EXEC_SUCCESS;
	const char		*wid = json_string_value(json_object_get(
				    op->extra, "webhook_id"));
	const struct pack_pair	 v[] = {
		PACK_PAIR_STR("subscription", row->id),
		PACK_PAIR_INT("at_us", now_us()),
		PACK_PAIR_STR("webhook_id", wid),
		PACK_PAIR_INT("status", r->http_status),
		PACK_PAIR_INT("latency_ms", r->duration_us / 1000),
		PACK_PAIR_STR("error", ok ? NULL : r->error),
	};

	json_object_set_new(op->extra, "test", json_pack("{s:b,s:i,s:I,s:s?}",
	    "ok", ok, "status", r->http_status, "latency_ms",
	    (json_int_t)(r->duration_us / 1000), "error", ok ? NULL :
	    r->error));
	pack_buffer_init(&pb);
	PACK_MAP(&pb.pk, v);
	exec_result_free(r);		/* V points into it until here */
	actor_unref((struct actor *)op->s);	/* the POST's; sub_submit
						   takes its own */
	sub_submit(op, "subscription.tested", NULL, &pb);
}

/* subscription.test: a test message now (kind "subscription.test"),
 * outside the cursor; the answer says how the receiver answered. */
void
subscription_op_test(struct reply *req, struct subscription *s)
{
	struct sub_op	*op;
	char		*wid = NULL, *cause = NULL;

	if (subscription_busy(s, 1) != 0) {
		reply_fail(req, REPLY_CONFLICT, "another change to this "
		    "subscription is in flight", "id", "busy");
		return;
	}
	op = xcalloc(1, sizeof *op);
	op->req = req;
	op->s = s;
	actor_ref((struct actor *)s);
	if (subscription_test_post(s, sub_test_cb, op, &wid, &cause) ==
	    NULL) {
		reply_fail(req, REPLY_CONFLICT, cause, "secret", "unusable");
		free(cause);
		subscription_busy(s, 0);
		actor_unref((struct actor *)s);
		op->s = NULL;
		sub_op_free(op);
		return;
	}
	op->extra = json_pack("{s:s}", "webhook_id", wid);
	free(wid);
}

struct sub_deliveries {
	json_t		*a;
	int64_t		 limit;
};

static int
sub_delivery_row(const struct journal_row *row, void *arg)
{
	struct sub_deliveries	*d = arg;
	msgpack_unpacked	 u;
	json_t			*o;
	char			 t[40];
	int64_t			 at;

	if (unpack_buffer(row->val, row->vlen, &u) != 0)
		return (0);
	o = record_object_to_json(&u.data);
	at = unpack_int(&u.data, "at_us", 0);
	msgpack_unpacked_destroy(&u);
	json_object_set_new(o, "at", json_string(fmt_rfc3339_ms(at, t,
	    sizeof t)));
	json_array_append_new(d->a, o);
	return ((int64_t)json_array_size(d->a) >= d->limit);
}

/* subscription.deliveries: the last attempts, newest first. */
void
subscription_op_deliveries(struct reply *req, struct subscription *s,
    json_t *params)
{
	struct sub_deliveries	 d = { json_array(), 50 };
	char			*prefix;

	param_int(params, "limit", &d.limit);
	xasprintf(&prefix, "%s/", subscription_row(s)->id);
	if (journal_table_foreach(engine->journal, SUB_ATTEMPTS_TABLE,
	    prefix, strlen(prefix), 1, sub_delivery_row, &d) != 0) {
		free(prefix);
		json_decref(d.a);
		reply_fail(req, REPLY_INTERNAL, "the journal cannot be read",
		    NULL, NULL);
		return;
	}
	free(prefix);
	reply_ok(req, json_pack("{s:s,s:o}", "id", subscription_row(s)->id,
	    "deliveries", d.a));
}
