/*
 * actors/replay.c: the fold of the log into the state tables.  For each
 * record, the table changes it makes, computed from the record alone
 * (kind, account, body) and the tables rebuilt so far: the same rows the
 * actors put and delete when they write it (doc/journal-format.md,
 * "Replay").  chime-journal replay runs it over a whole log into a fresh
 * environment and compares the result with the live tables.
 *
 * Where an actor's row is a function of the body it packed, both use one
 * function (schedule_pack_progress, batch_pack_op_row, budget_pack_spend,
 * estimate_pack_usage); where a row is not, the record carries it (the
 * body keys "progress", "batch", "schedule_row", "claim", "row_key",
 * "usage_model").  The tables are reached through struct replay_db only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

static const char *const no_keys[] = { NULL };
static const char *const grant_keys[] = { "uid", NULL };
static const char *const by_keys[] = { "by_uid", "by_token", NULL };
static const char *const event_keys[] = { "body", "body_truncated", NULL };
static const char *const definition_keys[] = { "operations", NULL };

/* Keys a body carries for replay, not part of the row it is. */
static const char *const note_keys[] = {
	"progress", "batch", "schedule_row", "claim", "usage_model",
	"row_key", NULL
};

struct fold {
	const struct replay_db	*db;
	const struct record	*rec;
	const msgpack_object	*body;
	char			*cause;
};

struct key_list {
	char	**v;
	size_t	 *len;
	size_t	  n;
	size_t	  cap;
	size_t	  limit;	/* 0: none */
	char	  below[17];	/* webhook prune: keys before it */
	int	  prune;
	int	  runs;		/* only keys ending in 12 digits */
};

static int	 fail(struct fold *, const char *, ...) printflike(2, 3);
static char	*str_of(const msgpack_object *);
static const msgpack_object *get_map(const msgpack_object *, const char *);
static int	 key_in(const msgpack_object *, const char *const *);
static void	 pack_except(msgpack_packer *, const msgpack_object *,
		     const char *const *);
static int	 put_obj(struct fold *, const char *, const char *,
		     const msgpack_object *, const char *const *);
static int	 index_row(struct fold *, const char *, const char *,
		     const void *, size_t);
static int	 put_buf(struct fold *, const char *, const char *,
		     const void *, size_t);
static int	 del(struct fold *, const char *, const char *);
static int	 collect(const struct journal_row *, void *);
static void	 key_list_free(struct key_list *);
static int	 del_prefix(struct fold *, const char *, const char *, int);
static int	 put_progress_of(struct fold *, const char *,
		     const msgpack_object *);
static int	 fold_account(struct fold *);
static const struct tz *fold_tz(struct fold *, const char *);
static int	 fold_analytics(struct fold *, const char *);
static int	 fold_token(struct fold *);
static int	 fold_prefs(struct fold *);
static int	 fold_schedule(struct fold *);
static int	 fold_webhook(struct fold *);
static int	 fold_prune(struct fold *);
static int	 fold_batch(struct fold *);
static int	 fold_run(struct fold *);
static int	 fold_subscription(struct fold *);
static int	 fold_email(struct fold *);
static int	 fold_email_queued(struct fold *, const char *);
static int	 fold_notify(struct fold *);
static int	 fold_suppression(struct fold *);
static void	 sub_put(void *, const char *, const void *, size_t,
		     const void *, size_t);
static void	 sub_del(void *, const char *, const void *, size_t);
static int	 fold_run_rows(struct fold *, const char *, uint64_t,
		     const char *, int);
static int	 fold_spend(struct fold *, const char *, const char *);
static int	 fold_spend_row(struct fold *, const char *, const char *,
		     int32_t, int64_t, int64_t);
static int	 fold_usage(struct fold *, const char *, const char *);

static int
fail(struct fold *f, const char *fmt, ...)
{
	va_list	ap;

	if (f->cause == NULL) {
		va_start(ap, fmt);
		xvasprintf(&f->cause, fmt, ap);
		va_end(ap);
	}
	return (-1);
}

/* A string object as an allocated C string, or NULL. */
static char *
str_of(const msgpack_object *o)
{
	if (o == NULL || o->type != MSGPACK_OBJECT_STR)
		return (NULL);
	return (xstrndup(o->via.str.ptr, o->via.str.size));
}

/* The map under KEY of map O, or NULL. */
static const msgpack_object *
get_map(const msgpack_object *o, const char *key)
{
	const msgpack_object	*v = unpack_get(o, key);

	return (v != NULL && v->type == MSGPACK_OBJECT_MAP ? v : NULL);
}

/* Is string object K one of NAMES (NULL-ended)? */
static int
key_in(const msgpack_object *k, const char *const *names)
{
	size_t	i;

	for (i = 0; k->type == MSGPACK_OBJECT_STR && names[i] != NULL; i++) {
		if (k->via.str.size == strlen(names[i]) &&
		    memcmp(k->via.str.ptr, names[i], k->via.str.size) == 0)
			return (1);
	}
	return (0);
}

/* Map M without the keys of SKIP and those a record carries for replay
 * only. */
static void
pack_except(msgpack_packer *pk, const msgpack_object *m,
    const char *const *skip)
{
	const msgpack_object_kv	*kv;
	uint32_t		 i, n = 0;

	for (i = 0; i < m->via.map.size; i++) {
		kv = &m->via.map.ptr[i];
		n += !key_in(&kv->key, note_keys) && !key_in(&kv->key, skip);
	}
	msgpack_pack_map(pk, n);
	for (i = 0; i < m->via.map.size; i++) {
		kv = &m->via.map.ptr[i];
		if (key_in(&kv->key, note_keys) || key_in(&kv->key, skip))
			continue;
		msgpack_pack_object(pk, kv->key);
		msgpack_pack_object(pk, kv->val);
	}
}

/* Put O as TABLE[KEY]; a map without the replay-only keys and those of
 * SKIP (NULL: O as it is). */
static int
put_obj(struct fold *f, const char *table, const char *key,
    const msgpack_object *o, const char *const *skip)
{
	struct pack_buffer	pb;
	int			rc;

	pack_buffer_init(&pb);
	if (skip != NULL && o->type == MSGPACK_OBJECT_MAP)
		pack_except(&pb.pk, o, skip);
	else
		msgpack_pack_object(&pb.pk, *o);
	rc = put_buf(f, table, key, pb.sbuf.data, pb.sbuf.size);
	pack_buffer_clear(&pb);
	return (rc);
}

static int
put_buf(struct fold *f, const char *table, const char *key, const void *val,
    size_t len)
{
	if (key == NULL || *key == '\0')
		return (fail(f, "%s: no key for table %s", f->rec->kind, table));
	if (index_row(f, table, key, val, len) != 0)
		return (-1);
	if (f->db->put(f->db->arg, table, key, strlen(key), val, len) != 0)
		return (fail(f, "cannot write %s", table));
	return (0);
}

static int
del(struct fold *f, const char *table, const char *key)
{
	if (key == NULL || *key == '\0')
		return (0);
	if (index_row(f, table, key, NULL, 0) != 0)
		return (-1);
	if (f->db->del(f->db->arg, table, key, strlen(key)) != 0)
		return (fail(f, "cannot delete from %s", table));
	return (0);
}

/*
 * Before a put (VAL) or a delete (VAL NULL) of row KEY of TABLE: the run
 * index (run_list_index) as the journal's writer keeps it, the entry of
 * the row replaced or removed out, the new row's in.
 */
static int
index_row(struct fold *f, const char *table, const char *key,
    const void *val, size_t len)
{
	const struct journal_index	*ix = &run_list_index;
	char				 okey[JOURNAL_MAX_KEY + 1];
	char				 nkey[JOURNAL_MAX_KEY + 1];
	size_t				 oklen = 0, nklen = 0, oldlen;
	void				*old = NULL;
	msgpack_sbuffer			 osb, nsb;
	int				 o = 0, n = 0, rc = 0;

	if (strcmp(table, ix->of) != 0)
		return (0);
	msgpack_sbuffer_init(&osb);
	msgpack_sbuffer_init(&nsb);
	if (f->db->get(f->db->arg, table, key, strlen(key), &old,
	    &oldlen) == 0)
		o = ix->fn(key, strlen(key), old, oldlen, okey, &oklen,
		    &osb) == 0;
	if (val != NULL)
		n = ix->fn(key, strlen(key), val, len, nkey, &nklen,
		    &nsb) == 0;
	if (o && (!n || oklen != nklen || memcmp(okey, nkey, oklen) != 0) &&
	    f->db->del(f->db->arg, ix->table, okey, oklen) != 0)
		rc = fail(f, "cannot delete from %s", ix->table);
	if (rc == 0 && n && f->db->put(f->db->arg, ix->table, nkey, nklen,
	    nsb.data, nsb.size) != 0)
		rc = fail(f, "cannot write %s", ix->table);
	msgpack_sbuffer_destroy(&osb);
	msgpack_sbuffer_destroy(&nsb);
	free(old);
	return (rc);
}

/* Collect the keys of a walk (deleted after it, not during it). */
static int
collect(const struct journal_row *row, void *arg)
{
	struct key_list	*l = arg;
	const char	*k = row->key;
	size_t		 i;

	if (l->prune && (row->klen < 20 || row->klen > JOURNAL_MAX_KEY ||
	    memcmp(k, l->below, 16) >= 0))
		return (1);
	if (l->runs) {
		if (row->klen < 12)
			return (0);
		for (i = row->klen - 12; i < row->klen; i++) {
			if (k[i] < '0' || k[i] > '9')
				return (0);
		}
	}
	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 16 : l->cap * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
		l->len = xreallocarray(l->len, l->cap, sizeof *l->len);
	}
	l->v[l->n] = xstrndup(row->key, row->klen);
	l->len[l->n++] = row->klen;
	return (l->limit != 0 && l->n >= l->limit);
}

static void
key_list_free(struct key_list *l)
{
	size_t	i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	free(l->len);
}

/* Delete every row of TABLE whose key begins with PREFIX (RUNS: only
 * those ending in a 12-digit run number, as schedule.delete does). */
static int
del_prefix(struct fold *f, const char *table, const char *prefix, int runs)
{
	struct key_list	l;
	size_t		i;
	int		rc = 0;

	memset(&l, 0, sizeof l);
	l.runs = runs;
	if (f->db->foreach(f->db->arg, table, prefix, strlen(prefix), collect,
	    &l) != 0)
		rc = fail(f, "cannot read %s", table);
	for (i = 0; rc == 0 && i < l.n; i++)
		rc = del(f, table, l.v[i]);
	key_list_free(&l);
	return (rc);
}

/* progress[ID] from the five values of schedule map S. */
static int
put_progress_of(struct fold *f, const char *id, const msgpack_object *s)
{
	struct pack_buffer	pb;
	int			rc;

	pack_buffer_init(&pb);
	schedule_pack_progress(&pb.pk, unpack_int(s, "last_fire_us", 0),
	    unpack_int(s, "fired_us", 0), unpack_int(s, "run_counter", 0),
	    unpack_int(s, "month_key", 0),
	    unpack_int(s, "month_spent_micro", 0));
	rc = put_buf(f, "progress", id, pb.sbuf.data, pb.sbuf.size);
	pack_buffer_clear(&pb);
	return (rc);
}

/* token.created: the row is the body without who made it; token.revoked
 * deletes it. */
static int
fold_token(struct fold *f)
{
	char	*id;
	int	 rc;

	if ((id = unpack_strdup(f->body, "id")) == NULL)
		return (fail(f, "%s without an id", f->rec->kind));
	if (strcmp(f->rec->kind, "token.created") == 0)
		rc = put_obj(f, TOKEN_TABLE, id, f->body, by_keys);
	else if (strcmp(f->rec->kind, "token.revoked") == 0)
		rc = del(f, TOKEN_TABLE, id);
	else
		rc = 0;
	free(id);
	return (rc);
}

/* account.*: the row is the account map (a grant's body adds "uid"). */
static int
fold_account(struct fold *f)
{
	return (put_obj(f, "accounts", f->rec->account, f->body, grant_keys));
}

/* prefs.*: one operation's map, several, or the UI map. */
static int
fold_prefs(struct fold *f)
{
	const char		*acc = f->rec->account, *kind = f->rec->kind;
	const msgpack_object	*ops;
	char			*op, *key;
	uint32_t		 i;
	int			 rc = 0;

	if (acc == NULL)
		return (fail(f, "%s without an account", kind));
	if (strcmp(kind, "prefs.ui_set") == 0)
		return (put_obj(f, "prefs", acc, f->body, NULL));
	if (strcmp(kind, "prefs.notify_set") == 0) {
		xasprintf(&key, "%s#notify", acc);
		rc = put_obj(f, "prefs", key, f->body, NULL);
		free(key);
		return (rc);
	}
	if (strcmp(kind, "prefs.set") == 0) {
		if ((op = unpack_strdup(f->body, "operation")) == NULL)
			return (fail(f, "prefs.set without an operation"));
		xasprintf(&key, "%s/%s", acc, op);
		rc = put_obj(f, "prefs", key, f->body, NULL);
		free(key);
		free(op);
		return (rc);
	}
	if ((ops = get_map(f->body, "operations")) == NULL)
		return (fail(f, "%s without operations", kind));
	for (i = 0; rc == 0 && i < ops->via.map.size; i++) {
		if ((op = str_of(&ops->via.map.ptr[i].key)) == NULL)
			return (fail(f, "%s: an operation is not a string",
			    kind));
		xasprintf(&key, "%s/%s", acc, op);
		rc = put_obj(f, "prefs", key, &ops->via.map.ptr[i].val, NULL);
		free(key);
		free(op);
	}
	return (rc);
}

/* Delete schedule ID's row, progress and kept runs (schedule.deleted,
 * and the deleted of schedule.applied). */
static int
fold_schedule_gone(struct fold *f, const char *id)
{
	char	prefix[160];
	int	rc;

	snprintf(prefix, sizeof prefix, "%s:", id);
	rc = del(f, "schedules", id);
	if (rc == 0)
		rc = del(f, "progress", id);
	if (rc == 0)
		rc = del_prefix(f, "runs", prefix, 1);
	return (rc);
}

/* Delete schedule ID's kept runs numbered below BELOW (a history that
 * shrank). */
static int
del_runs_below(struct fold *f, const char *id, int64_t below)
{
	struct key_list	l;
	char		prefix[160];
	size_t		i;
	int		rc = 0;

	memset(&l, 0, sizeof l);
	l.runs = 1;
	snprintf(prefix, sizeof prefix, "%s:", id);
	if (f->db->foreach(f->db->arg, "runs", prefix, strlen(prefix), collect,
	    &l) != 0)
		rc = fail(f, "cannot read runs");
	for (i = 0; rc == 0 && i < l.n; i++) {
		if (strtoll(l.v[i] + l.len[i] - 12, NULL, 10) < below)
			rc = del(f, "runs", l.v[i]);
	}
	key_list_free(&l);
	return (rc);
}

/* The runs of schedule ID beyond the history of its ROW deleted, as the
 * daemon deletes them when an update shrinks the history (and as each
 * claim deletes the one that leaves it, so that none is there otherwise). */
static int
del_runs_past_history(struct fold *f, const char *id,
    const msgpack_object *row)
{
	int64_t	counter, history;

	counter = unpack_int(row, "run_counter", 0);
	history = unpack_int(row, "history", 0);
	if (history <= 0 || counter < history)
		return (0);
	return (del_runs_below(f, id, counter - history + 1));
}

/*
 * schedule.applied: each row of "created" and "updated" put with its
 * progress (an updated one's kept runs beyond its history deleted, as the
 * daemon did when the history shrank), each of "deleted" gone.
 */
static int
fold_schedule_applied(struct fold *f)
{
	static const char *const lists[] = { "created", "updated", "deleted" };
	const msgpack_object	*a, *row;
	char			*id;
	uint32_t		 i;
	size_t			 l;
	int			 rc = 0;

	for (l = 0; rc == 0 && l < sizeof lists / sizeof lists[0]; l++) {
		if ((a = unpack_get(f->body, lists[l])) == NULL ||
		    a->type != MSGPACK_OBJECT_ARRAY)
			return (fail(f, "schedule.applied without %s",
			    lists[l]));
		for (i = 0; rc == 0 && i < a->via.array.size; i++) {
			row = &a->via.array.ptr[i];
			if ((id = unpack_strdup(row, "id")) == NULL)
				return (fail(f, "schedule.applied: a schedule "
				    "without an id"));
			if (l == 2) {
				rc = fold_schedule_gone(f, id);
				free(id);
				continue;
			}
			rc = put_obj(f, "schedules", id, row, NULL);
			if (rc == 0)
				rc = put_progress_of(f, id, row);
			if (rc == 0 && l == 1)
				rc = del_runs_past_history(f, id, row);
			free(id);
		}
	}
	return (rc);
}

/* schedule.*: the body is the row, and holds the progress values. */
static int
fold_schedule(struct fold *f)
{
	char	*id;
	int	 rc;

	if (strcmp(f->rec->kind, "schedule.applied") == 0)
		return (fold_schedule_applied(f));
	if ((id = unpack_strdup(f->body, "id")) == NULL)
		return (fail(f, "%s without an id", f->rec->kind));
	if (strcmp(f->rec->kind, "schedule.deleted") == 0)
		rc = fold_schedule_gone(f, id);
	else {
		rc = put_obj(f, "schedules", id, f->body, NULL);
		if (rc == 0)
			rc = put_progress_of(f, id, f->body);
		if (rc == 0 && strcmp(f->rec->kind, "schedule.updated") == 0)
			rc = del_runs_past_history(f, id, f->body);
	}
	free(id);
	return (rc);
}

/* webhook.*: events and their expiry; rotations carry the schedule's row;
 * the prune deletes what the live prune walk deleted. */
static int
fold_webhook(struct fold *f)
{
	const msgpack_object	*row;
	char			*id, *key, exp[JOURNAL_MAX_KEY + 32];
	int			 rc = 0;

	if (strcmp(f->rec->kind, "webhook.pruned") == 0)
		return (fold_prune(f));
	if (strcmp(f->rec->kind, "webhook.received") == 0) {
		if (f->rec->account == NULL ||
		    (key = unpack_strdup(f->body, "row_key")) == NULL)
			return (0);
		/* The row is the event without the body. */
		rc = put_obj(f, "webhook_events", key, f->body, event_keys);
		snprintf(exp, sizeof exp, "%016llx/e/%s",
		    (unsigned long long)unpack_int(f->body, "at_us", 0), key);
		if (rc == 0)
			rc = put_buf(f, "webhook_expiry", exp, "", 0);
		free(key);
		return (rc);
	}
	if ((row = get_map(f->body, "schedule_row")) == NULL)
		return (0);
	if ((id = unpack_strdup(row, "id")) == NULL)
		return (fail(f, "%s: schedule_row without an id",
		    f->rec->kind));
	rc = put_obj(f, "schedules", id, row, NULL);
	if (rc == 0)
		rc = put_progress_of(f, id, row);
	free(id);
	return (rc);
}

/* webhook.pruned: the expiry rows before before_us, in key order, at most
 * WEBHOOK_PRUNE_BATCH, and for each its event, or its claim's idem row. */
static int
fold_prune(struct fold *f)
{
	struct key_list	 l;
	const char	*p, *q;
	char		 idem[JOURNAL_MAX_KEY + 8];
	size_t		 i;
	int		 rc = 0;

	memset(&l, 0, sizeof l);
	l.prune = 1;
	l.limit = WEBHOOK_PRUNE_BATCH;
	snprintf(l.below, sizeof l.below, "%016llx",
	    (unsigned long long)unpack_int(f->body, "before_us", 0));
	if (f->db->foreach(f->db->arg, "webhook_expiry", NULL, 0, collect,
	    &l) != 0)
		rc = fail(f, "cannot read webhook_expiry");
	for (i = 0; rc == 0 && i < l.n; i++) {
		rc = del(f, "webhook_expiry", l.v[i]);
		p = l.v[i] + 19;
		if (rc == 0 && strncmp(l.v[i] + 16, "/e/", 3) == 0)
			rc = del(f, "webhook_events", p);
		else if (rc == 0 && strncmp(l.v[i] + 16, "/c/", 3) == 0 &&
		    strncmp(p, "webhook:", 8) == 0 &&
		    (q = strchr(p + 8, ':')) != NULL) {
			snprintf(idem, sizeof idem, "%.*s:wh:%s",
			    (int)(q - p - 8), p + 8, q + 1);
			rc = del(f, "idem", idem);
		}
	}
	key_list_free(&l);
	return (rc);
}

/* batch.*: the body is the row; a creation holds the operations. */
static int
fold_batch(struct fold *f)
{
	const msgpack_object	*ops, *op, *deps, *pr;
	struct pack_buffer	 pb;
	uint32_t		 i, k, j, d[4096], nd;
	char			*id, *sched, key[160];
	char			*oid, *name, *params, *rule;
	int			 rc = 0;

	if ((id = unpack_strdup(f->body, "id")) == NULL)
		return (fail(f, "%s without an id", f->rec->kind));
	snprintf(key, sizeof key, "%s:", id);
	if (strcmp(f->rec->kind, "batch.deleted") == 0) {
		rc = del(f, "batches", id);
		if (rc == 0)
			rc = del_prefix(f, "batch_ops", key, 0);
		if (rc == 0)
			rc = del_prefix(f, "runs", key, 0);
		free(id);
		return (rc);
	}
	rc = put_obj(f, "batches", id, f->body, definition_keys);
	/* The definition's operations go to "batch_ops" in chunks. */
	if (rc == 0 && (ops = unpack_get(f->body, "operations")) != NULL &&
	    ops->type == MSGPACK_OBJECT_ARRAY) {
		for (k = 0; rc == 0 && k * BATCH_OPS_CHUNK <
		    ops->via.array.size; k++) {
			uint32_t	n = ops->via.array.size -
			    k * BATCH_OPS_CHUNK;

			if (n > BATCH_OPS_CHUNK)
				n = BATCH_OPS_CHUNK;
			pack_buffer_init(&pb);
			msgpack_pack_array(&pb.pk, n);
			for (i = k * BATCH_OPS_CHUNK; i < k * BATCH_OPS_CHUNK +
			    n; i++) {
				op = &ops->via.array.ptr[i];
				deps = unpack_get(op, "depends_on");
				nd = 0;
				for (j = 0; deps != NULL && deps->type ==
				    MSGPACK_OBJECT_ARRAY && j <
				    deps->via.array.size && nd < 4096; j++)
					d[nd++] = (uint32_t)
					    deps->via.array.ptr[j].via.u64;
				oid = unpack_strdup(op, "id");
				name = unpack_strdup(op, "operation");
				params = unpack_strdup(op, "parameters");
				rule = unpack_strdup(op, "trigger_rule");
				batch_pack_op_row(&pb.pk, oid != NULL ? oid :
				    "",
				    name != NULL ? name : "", params,
				    (int32_t)unpack_int(op, "sequence_order",
				    0), batch_rule_index(rule), d, nd);
				free(oid);
				free(name);
				free(params);
				free(rule);
			}
			snprintf(key, sizeof key, "%s:%06u", id, k);
			rc = put_buf(f, "batch_ops", key, pb.sbuf.data,
			    pb.sbuf.size);
			pack_buffer_clear(&pb);
		}
	}
	if (rc == 0 && (pr = get_map(f->body, "progress")) != NULL) {
		if ((sched = unpack_strdup(f->body, "schedule")) == NULL)
			rc = fail(f, "%s: progress without a schedule",
			    f->rec->kind);
		else
			rc = put_obj(f, "progress", sched, pr, NULL);
		free(sched);
	}
	free(id);
	return (rc);
}

/* run.* and op.*: the run's rows, its schedule's progress or its batch's
 * row, and at its end the spend and usage it adds to. */
static int
fold_run(struct fold *f)
{
	const msgpack_object	*o;
	const char		*kind = f->rec->kind;
	char			*sched, *row, *claim;
	uint64_t		 number;
	int			 rc, is_op = strncmp(kind, "op.", 3) == 0;

	if ((row = unpack_strdup(f->body, "row")) != NULL) {
		/* an orphan: its schedule went while it ran */
		rc = del(f, "active", row);
		if (rc == 0)
			rc = del(f, "runs", row);
		free(row);
		return (rc);
	}
	if ((sched = unpack_strdup(f->body, "schedule")) == NULL)
		return (fail(f, "%s without a schedule", kind));
	if (unpack_get(f->body, "run_id") == NULL) {
		/* the missed aggregate: progress only */
		rc = 0;
		if ((o = get_map(f->body, "progress")) != NULL)
			rc = put_obj(f, "progress", sched, o, NULL);
		free(sched);
		return (rc);
	}
	number = (uint64_t)unpack_int(f->body, "number", 0);
	claim = unpack_strdup(f->body, "claim");
	rc = fold_run_rows(f, sched, number, claim, is_op);
	if (rc == 0 && (o = get_map(f->body, "progress")) != NULL)
		rc = put_obj(f, "progress", sched, o, NULL);
	if (rc == 0 && (o = get_map(f->body, "batch")) != NULL)
		rc = put_obj(f, "batches", sched, o, NULL);
	if (rc == 0 && (strcmp(kind, "run.finished") == 0 ||
	    strcmp(kind, "op.completed") == 0 ||
	    strcmp(kind, "op.failed") == 0 ||
	    strcmp(kind, "op.cancelled") == 0 ||
	    strcmp(kind, "op.interrupted") == 0 ||
	    strcmp(kind, "op.skipped") == 0)) {
		char	*op = unpack_strdup(f->body, "operation");

		if (f->rec->account != NULL && op != NULL) {
			rc = fold_spend(f, f->rec->account, op);
			if (rc == 0)
				rc = fold_usage(f, f->rec->account, op);
		}
		free(op);
	}
	/* every end of a run (a final status) adds to its analytics row */
	if (rc == 0 && f->rec->account != NULL)
		rc = fold_analytics(f, f->rec->account);
	free(claim);
	free(sched);
	return (rc);
}

/* The "runs", "active", "idem" and "webhook_expiry" rows of run NUMBER
 * of SCHED, whose record claimed CLAIM (or NULL). */
static int
fold_run_rows(struct fold *f, const char *sched, uint64_t number,
    const char *claim, int is_op)
{
	struct pack_buffer	 pb;
	const char		*st;
	char			 key[160], old[JOURNAL_MAX_KEY + 1], *idem, *id;
	void			*val;
	size_t			 vlen;
	msgpack_unpacked	 u;
	int64_t			 history = 0;
	int			 rc, final;

	snprintf(key, sizeof key, "%s:%012llu", sched,
	    (unsigned long long)number);
	/* A deleted schedule's runs leave only records (no progress). */
	if (is_op || get_map(f->body, "progress") != NULL)
		rc = put_obj(f, "runs", key, f->body, no_keys);
	else
		rc = del(f, "runs", key);
	st = NULL;
	{
		const msgpack_object	*s = unpack_get(f->body, "status");

		final = 1;
		if (s != NULL && s->type == MSGPACK_OBJECT_STR) {
			st = s->via.str.ptr;
			if ((s->via.str.size == 7 && memcmp(st, "pending", 7) ==
			    0) || (s->via.str.size == 7 && memcmp(st,
			    "running", 7) == 0))
				final = 0;
		}
	}
	if (rc == 0)
		rc = final ? del(f, "active", key) : put_buf(f, "active", key,
		    "", 0);
	if (rc != 0 || claim == NULL)
		return (rc);
	if (!is_op && f->db->get(f->db->arg, "schedules", sched,
	    strlen(sched), &val, &vlen) == 0) {
		if (unpack_buffer(val, vlen, &u) == 0) {
			history = unpack_int(&u.data, "history", 0);
			msgpack_unpacked_destroy(&u);
		}
		free(val);
		if ((int64_t)number > history) {
			snprintf(old, sizeof old, "%s:%012llu", sched,
			    (unsigned long long)(number - (uint64_t)history));
			rc = del(f, "runs", old);
		}
	}
	if (rc == 0 && (idem = unpack_strdup(f->body, "idempotency_key")) !=
	    NULL) {
		id = unpack_strdup(f->body, "run_id");
		snprintf(old, sizeof old, "%s:%s", sched, idem);
		rc = put_buf(f, "idem", old, id != NULL ? id : "",
		    id != NULL ? strlen(id) : 0);
		free(id);
		free(idem);
	}
	if (rc == 0 && strncmp(claim, "webhook:", 8) == 0) {
		pack_buffer_init(&pb);
		snprintf(old, sizeof old, "%016llx/c/%s", (unsigned long long)
		    unpack_int(f->body, "created_us", 0), claim);
		rc = put_buf(f, "webhook_expiry", old, "", 0);
		pack_buffer_clear(&pb);
	}
	return (rc);
}

/* A run's end that cost something adds to the month of its end, in the
 * account's zone, for the account and for the operation. */
static int
fold_spend(struct fold *f, const char *acc, const char *op)
{
	const struct tz		*tz;
	int64_t			 cost, when;
	int32_t			 month;
	int			 rc;

	cost = unpack_int(f->body, "cost_micro", -1);
	when = unpack_int(f->body, "finished_us", 0);
	if (cost <= 0)
		return (0);
	tz = fold_tz(f, acc);
	month = budget_month_in(tz, when);
	rc = fold_spend_row(f, acc, NULL, month, cost, when);
	if (rc == 0)
		rc = fold_spend_row(f, acc, op, month, cost, when);
	return (rc);
}

/* The zone of account ACC's row as rebuilt so far (UTC without one). */
static const struct tz *
fold_tz(struct fold *f, const char *acc)
{
	const struct tz		*tz = NULL;
	msgpack_unpacked	 u;
	void			*val;
	size_t			 vlen;
	char			*zone;

	if (f->db->get(f->db->arg, "accounts", acc, strlen(acc), &val,
	    &vlen) == 0) {
		if (unpack_buffer(val, vlen, &u) == 0) {
			if ((zone = unpack_strdup(&u.data, "tz")) != NULL)
				tz = tz_load(zone, NULL);
			free(zone);
			msgpack_unpacked_destroy(&u);
		}
		free(val);
	}
	return (tz != NULL ? tz : tz_load("UTC", NULL));
}

/* One delta merged into its analytics row (an analytics_delta_fn). */
static int
fold_analytics_delta(const char *key, const void *delta, size_t dlen,
    void *arg)
{
	struct fold	*f = arg;
	msgpack_sbuffer	 out;
	void		*val = NULL;
	size_t		 vlen = 0;
	int		 rc;

	if (f->db->get(f->db->arg, ANALYTICS_TABLE, key, strlen(key), &val,
	    &vlen) != 0)
		val = NULL;
	msgpack_sbuffer_init(&out);
	analytics_merge(val, val != NULL ? vlen : 0, delta, dlen, &out);
	rc = put_buf(f, ANALYTICS_TABLE, key, out.data, out.size);
	msgpack_sbuffer_destroy(&out);
	free(val);
	return (rc);
}

/* A run's end adds to its analytics rows, as analytics_add does. */
static int
fold_analytics(struct fold *f, const char *acc)
{
	return (analytics_deltas(acc, f->body, fold_tz(f, acc),
	    fold_analytics_delta, f) == -1 ? -1 : 0);
}

static int
fold_spend_row(struct fold *f, const char *acc, const char *op, int32_t month,
    int64_t cost, int64_t when)
{
	struct pack_buffer	 pb;
	msgpack_unpacked	 u;
	void			*val;
	size_t			 vlen;
	char			 key[JOURNAL_MAX_KEY + 16];
	int64_t			 total = 0;
	int			 rc;

	if (op != NULL)
		snprintf(key, sizeof key, "%s/%s/%d", acc, op, (int)month);
	else
		snprintf(key, sizeof key, "%s/%d", acc, (int)month);
	if (f->db->get(f->db->arg, "spend", key, strlen(key), &val,
	    &vlen) == 0) {
		if (unpack_buffer(val, vlen, &u) == 0) {
			total = unpack_int(&u.data, "actual_micro", 0);
			msgpack_unpacked_destroy(&u);
		}
		free(val);
	}
	pack_buffer_init(&pb);
	budget_pack_spend(&pb.pk, acc, op, month, money_add(total, cost),
	    when);
	rc = put_buf(f, "spend", key, pb.sbuf.data, pb.sbuf.size);
	pack_buffer_clear(&pb);
	return (rc);
}

/* A success's token counts join its "usage" window (the last
 * ESTIMATE_WINDOW). */
static int
fold_usage(struct fold *f, const char *acc, const char *op)
{
	struct pack_buffer	 pb;
	const msgpack_object	*usage, *a[2];
	msgpack_unpacked	 u;
	int64_t			 v[2][ESTIMATE_WINDOW + 1];
	uint32_t		 n[2] = { 0, 0 }, i, k, skip;
	void			*val;
	size_t			 vlen;
	char			*model, *key;
	int			 rc, have = 0;

	if ((model = unpack_strdup(f->body, "usage_model")) == NULL)
		return (0);
	usage = get_map(f->body, "usage");
	xasprintf(&key, "%s/%s/%s", acc, op, model);
	free(model);
	/* (the decoded strings point into VAL: freed after them) */
	val = NULL;
	if (f->db->get(f->db->arg, "usage", key, strlen(key), &val,
	    &vlen) == 0 && unpack_buffer(val, vlen, &u) == 0)
		have = 1;
	for (k = 0; have && k < 2; k++) {
		a[k] = unpack_get(&u.data, k == 0 ? "input" : "output");
		for (i = 0; a[k] != NULL && a[k]->type ==
		    MSGPACK_OBJECT_ARRAY && i < a[k]->via.array.size &&
		    n[k] < ESTIMATE_WINDOW; i++) {
			if (a[k]->via.array.ptr[i].type ==
			    MSGPACK_OBJECT_POSITIVE_INTEGER)
				v[k][n[k]++] = (int64_t)
				    a[k]->via.array.ptr[i].via.u64;
		}
	}
	if (have)
		msgpack_unpacked_destroy(&u);
	free(val);
	v[0][n[0]++] = unpack_int(usage, "input_tokens", 0);
	v[1][n[1]++] = unpack_int(usage, "output_tokens", 0);
	pack_buffer_init(&pb);
	skip = n[0] > ESTIMATE_WINDOW ? 1 : 0;
	estimate_pack_usage(&pb.pk, v[0] + skip, v[1] + skip, n[0] - skip);
	rc = put_buf(f, "usage", key, pb.sbuf.data, pb.sbuf.size);
	pack_buffer_clear(&pb);
	free(key);
	return (rc);
}

/*
 * Apply the table changes of record REC to the tables of DB (which hold
 * the fold of every record before it).  Dispatches on the kind; kinds
 * that change no table (daemon.*, journal.scrub, budget.threshold, and
 * kinds this build does not know) change nothing.  Returns 0, or -1 and
 * an allocated *cause: a body that lacks what its kind needs, or DB
 * failed.
 */
/*
 * subscription.*: the daemon writes these rows through subscription_apply
 * itself (subscription-row.c), from the record and the row before it.
 */
static int
fold_subscription(struct fold *f)
{
	struct sub_changes	 c;
	char			*id, *cause = NULL;
	void			*old = NULL;
	size_t			 oldlen = 0;
	int			 rc;

	id = str_of(unpack_get(f->body, "subscription"));
	if (id == NULL)
		return (fail(f, "%s: no subscription", f->rec->kind));
	rc = f->db->get(f->db->arg, SUB_TABLE, id, strlen(id), &old, &oldlen);
	free(id);
	if (rc == -1)
		return (fail(f, "cannot read %s", SUB_TABLE));
	if (rc == 1) {
		old = NULL;
		oldlen = 0;
	}
	if (subscription_apply(f->rec, old, oldlen, &c, &cause) != 0) {
		free(old);
		rc = fail(f, "%s", cause);
		free(cause);
		return (rc);
	}
	free(old);
	subscription_changes_foreach(&c, sub_put, sub_del, f);
	subscription_changes_clear(&c);
	return (f->cause != NULL ? -1 : 0);
}

static void
sub_put(void *arg, const char *table, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	struct fold	*f = arg;

	if (f->db->put(f->db->arg, table, key, klen, val, vlen) != 0)
		fail(f, "cannot write %s", table);
}

static void
sub_del(void *arg, const char *table, const void *key, size_t klen)
{
	struct fold	*f = arg;

	if (f->db->del(f->db->arg, table, key, klen) != 0)
		fail(f, "cannot delete from %s", table);
}

/* email.suppression_added: "email-suppressions[ACCOUNT ADDRESS]" is the
 * body; email.suppression_removed deletes it. */
static int
fold_suppression(struct fold *f)
{
	char	*addr, *key;
	int	 rc;

	if (f->rec->account == NULL ||
	    (addr = unpack_strdup(f->body, "address")) == NULL)
		return (fail(f, "%s without an account or address",
		    f->rec->kind));
	xasprintf(&key, "%s %s", f->rec->account, addr);
	if (strcmp(f->rec->kind, "email.suppression_added") == 0)
		rc = put_obj(f, "email-suppressions", key, f->body, NULL);
	else
		rc = del(f, "email-suppressions", key);
	free(key);
	free(addr);
	return (rc);
}

/* A message queued (email.queued, notify.queued) under RUN, its outbox
 * key: the outbox row is the body (when it has recipients), a pending row
 * per recipient. */
static int
fold_email_queued(struct fold *f, const char *run)
{
	const msgpack_object	*to;
	char			*addr, *key;
	uint32_t		 i;
	int			 rc = 0;

	to = unpack_get(f->body, "recipients");
	if (to == NULL || to->type != MSGPACK_OBJECT_ARRAY)
		return (fail(f, "%s without recipients", f->rec->kind));
	if (to->via.array.size > 0 || strcmp(f->rec->kind,
	    "email.queued") == 0)
		rc = put_obj(f, "email-outbox", run, f->body, NULL);
	for (i = 0; rc == 0 && i < to->via.array.size; i++) {
		if ((addr = str_of(&to->via.array.ptr[i])) == NULL)
			continue;
		xasprintf(&key, "%s %s", run, addr);
		rc = put_buf(f, "email-pending", key, "\x80", 1);
		free(key);
		free(addr);
	}
	return (rc);
}

/*
 * notify.pending: "notify-pending[ACCOUNT RUN]" is the body.
 * notify.queued: as email.queued under its id, and the notify-pending
 * rows it lists under "pending" are deleted.
 */
static int
fold_notify(struct fold *f)
{
	const msgpack_object	*p;
	char			*id, *key;
	uint32_t		 i;
	int			 rc;

	if (f->rec->account == NULL)
		return (fail(f, "%s without an account", f->rec->kind));
	if (strcmp(f->rec->kind, "notify.pending") == 0) {
		if ((id = unpack_strdup(f->body, "run_id")) == NULL)
			return (fail(f, "notify.pending without a run_id"));
		xasprintf(&key, "%s %s", f->rec->account, id);
		rc = put_obj(f, "notify-pending", key, f->body, NULL);
		free(key);
		free(id);
		return (rc);
	}
	if (strcmp(f->rec->kind, "notify.queued") != 0)
		return (0);
	if ((id = unpack_strdup(f->body, "run_id")) == NULL)
		return (fail(f, "notify.queued without an id"));
	rc = fold_email_queued(f, id);
	free(id);
	p = unpack_get(f->body, "pending");
	for (i = 0; rc == 0 && p != NULL && p->type == MSGPACK_OBJECT_ARRAY &&
	    i < p->via.array.size; i++) {
		if ((key = str_of(&p->via.array.ptr[i])) == NULL)
			continue;
		rc = del(f, "notify-pending", key);
		free(key);
	}
	return (rc);
}

/*
 * email.queued: the outbox row is the body, a pending row (an empty map)
 * per recipient; email.sent and email.failed delete the recipient's, and
 * with "done" the outbox row.
 */
static int
fold_email(struct fold *f)
{
	char			*run, *addr, *key;
	int			 rc = 0;

	if (strncmp(f->rec->kind, "email.suppression_", 18) == 0)
		return (fold_suppression(f));
	if ((run = unpack_strdup(f->body, "run_id")) == NULL)
		return (fail(f, "%s without a run_id", f->rec->kind));
	if (strcmp(f->rec->kind, "email.queued") == 0)
		rc = fold_email_queued(f, run);
	else if ((addr = unpack_strdup(f->body, "address")) != NULL) {
		xasprintf(&key, "%s %s", run, addr);
		rc = del(f, "email-pending", key);
		free(key);
		/* The outcome is also the email log's row. */
		if (rc == 0 && f->rec->account != NULL) {
			key = email_log_key(f->rec->account, unpack_int(
			    f->body, "at_us", 0), run, addr);
			rc = put_obj(f, "email-log", key, f->body, NULL);
			free(key);
		}
		/* and under the run */
		if (rc == 0) {
			xasprintf(&key, "%s %s", run, addr);
			rc = put_obj(f, "email-by-run", key, f->body, NULL);
			free(key);
		}
		free(addr);
		if (rc == 0 && unpack_get(f->body, "done") != NULL &&
		    unpack_get(f->body, "done")->type ==
		    MSGPACK_OBJECT_BOOLEAN &&
		    unpack_get(f->body, "done")->via.boolean)
			rc = del(f, "email-outbox", run);
	}
	free(run);
	return (rc);
}

int
replay_fold(const struct replay_db *db, const struct record *rec,
    char **cause)
{
	struct fold	 f = { db, rec, &rec->body, NULL };
	const char	*k = rec->kind;
	int		 rc = 0;

	if (strncmp(k, "account.", 8) == 0)
		rc = fold_account(&f);
	else if (strncmp(k, "prefs.", 6) == 0)
		rc = fold_prefs(&f);
	else if (strncmp(k, "schedule.", 9) == 0)
		rc = fold_schedule(&f);
	else if (strncmp(k, "webhook.", 8) == 0)
		rc = fold_webhook(&f);
	else if (strncmp(k, "batch.", 6) == 0)
		rc = fold_batch(&f);
	else if (strncmp(k, "run.", 4) == 0 || strncmp(k, "op.", 3) == 0)
		rc = fold_run(&f);
	else if (strncmp(k, "subscription.", 13) == 0)
		rc = fold_subscription(&f);
	else if (strncmp(k, "token.", 6) == 0)
		rc = fold_token(&f);
	else if (strncmp(k, "email.", 6) == 0)
		rc = fold_email(&f);
	else if (strncmp(k, "notify.", 7) == 0)
		rc = fold_notify(&f);
	if (rc != 0) {
		*cause = f.cause != NULL ? f.cause : xstrdup("cannot fold");
		return (-1);
	}
	free(f.cause);
	return (0);
}
