/*
 * actors/schedule-apply.c: schedule.apply, the declarative path.  A set of
 * schedules of one account, keyed by name, each with schedule.create's
 * fields, is compared with the account's schedules: each entry creates a
 * schedule, updates one (its configuration differs from what the entry
 * gives, unset fields meaning their defaults), or leaves one unchanged;
 * with prune, the account's schedules the set does not name are deleted.
 * Everything is checked first (one bad entry refuses the whole set, named
 * by entry and field, and nothing changes), then written as ONE record,
 * schedule.applied, in one transaction, and takes effect in memory from
 * its completion, as the single operations of schedule-ops.c do.  A dry
 * run answers the same diff and writes nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

/* Names of one outcome in an answer, at most (the protocol says 1,000). */
#define APPLY_NAMES_MAX	1000
/* Sets at least this large make their entries on more than one core
 * (ordered.c): a set of 10,000 is about 40 ms of the loop's otherwise. */
#define APPLY_THREADS_MIN	256

enum apply_outcome {
	APPLY_CREATED,
	APPLY_UPDATED,
	APPLY_UNCHANGED,
	APPLY_DELETED,
	APPLY_OUTCOMES
};
static const char *const apply_outcome_names[APPLY_OUTCOMES] = {
	"created", "updated", "unchanged", "deleted"
};

/* One entry of the set, or one schedule to delete. */
struct apply_entry {
	char			*name;	/* the set's key, or s->name (the
					   request is gone by the answer) */
	struct schedule		*s;	/* the existing one (held), or NULL */
	struct schedule		*t;	/* as it will be (created, updated) */
	enum apply_outcome	 outcome;
	int			 claimed; /* t claimed its name */
	int			 nfields;
	const char		*fields[SCHEDULE_DIFF_MAX];
	struct schedule_rows	 rows;	/* created: t's rows, packed */
	int64_t			 next;	/* created: t's next fire, */
	struct cron_fire	 fire;	/* found as it was made */
	json_t			*params; /* the set's entry (the request's) */
	const char		*id;	/* created: its new id (in op->ids) */
	int			 on_loop; /* made on the loop (apply_on_loop) */
	int			 made;	/* 1 made; -1 refused: field, reason */
	const char		*field;
	char			*reason;
};

struct apply_op {
	struct reply		*req;
	char			*account;
	struct apply_entry	*v;
	size_t			 n, cap;
	size_t			 count[APPLY_OUTCOMES];
	int64_t			 now;
	int			 force;
	int			 refused; /* an entry was: the rest are not */
	char			*ids;	/* new ids, in byte order */
	size_t			 nids;
};

struct apply_ord;

static int	apply_name_cmp(const void *, const void *);
static int	apply_entry_cmp(const void *, const void *);
static struct apply_entry *apply_add(struct apply_op *, const char *);
static void	apply_free(struct apply_op *);
static void	apply_refuse(struct reply *, enum reply_kind, const char *,
		    const char *, const char *);
static int	apply_on_loop(json_t *);
static void	apply_make(struct apply_op *, struct apply_entry *);
static void	apply_check(struct apply_op *, struct apply_entry *);
static void	apply_prune_one(struct schedule *, void *);
static json_t	*apply_answer(const struct apply_op *, int, uint64_t);
static int	apply_id_cmp(const void *, const void *);
static void	apply_ord_set(struct apply_ord *, struct apply_entry *);
static void	apply_prepare(struct apply_entry *, const char *, int64_t);
static void	apply_ids(struct apply_op *, size_t);
static void	apply_make_work(void *, void *);
static void	apply_make_finish(void *, void *);
static void	apply_reserve(struct jrec *, size_t, size_t);
static struct jrec *apply_record(struct apply_op *);
static void	apply_done_cb(const struct journal_result *, void *);

/* ---- the diff ---------------------------------------------------------- */

/*
 * schedule_config_diff compares every member of struct schedule_config
 * but the name, anchor_us and what the trigger's text determines (cron,
 * interval_us, at_us).  A member added there must be compared here too,
 * or an apply that changes only it would answer "unchanged" and write
 * nothing: the size stands for the list of members.
 */
#if defined(__x86_64__) && defined(__LP64__)
_Static_assert(sizeof(struct schedule_config) == 160, "struct "
    "schedule_config changed: compare the new member in "
    "schedule_config_diff (actors/schedule-apply.c), then set this size");
#endif

static int
str_differ(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != b);
	return (strcmp(a, b) != 0);
}

/*
 * The parameters in which configuration B differs from A (a schedule's
 * and what an entry makes of it), by their names in schedule.create,
 * into FIELDS (at most MAX); returns how many.  The name and the interval
 * grid's origin (anchor_us) are not compared.  Pure.
 */
int
schedule_config_diff(const struct schedule_config *a,
    const struct schedule_config *b, const char **fields, int max)
{
	int	n = 0;

#define DIFF(cond, name) do {			\
	if ((cond) && n < max)			\
		fields[n++] = (name);		\
} while (0)
	DIFF(str_differ(a->batch_template, b->batch_template), "batch");
	DIFF(str_differ(a->operation, b->operation), "operation");
	DIFF(a->trigger != b->trigger || str_differ(a->trigger_text,
	    b->trigger_text), b->trigger < TRIGGER_KINDS ?
	    schedule_trigger_names[b->trigger] : "trigger");
	DIFF(str_differ(tz_name(a->tz), tz_name(b->tz)), "tz");
	DIFF(str_differ(a->parameters, b->parameters), "parameters");
	DIFF(str_differ(a->model, b->model), "model");
	DIFF(a->max_cost_month != b->max_cost_month, "max_cost_month");
	DIFF(a->overlap != b->overlap, "overlap");
	DIFF(a->overlap_limit != b->overlap_limit, "overlap_limit");
	DIFF(a->catchup != b->catchup, "catchup");
	DIFF(a->catchup_window_us != b->catchup_window_us, "catchup_window");
	DIFF(a->priority != b->priority, "priority");
	DIFF(a->history != b->history, "history");
	DIFF(str_differ(a->note, b->note), "note");
	DIFF(str_differ(a->webhook_secret_ref, b->webhook_secret_ref),
	    "webhook_secret");
	DIFF(a->webhook_style != b->webhook_style, "webhook_style");
	DIFF(a->webhook_tolerance_s != b->webhook_tolerance_s,
	    "webhook_tolerance");
	DIFF(str_differ(a->deliver, b->deliver), "deliver");
#undef DIFF
	return (n);
}

/* ---- checking the set -------------------------------------------------- */

static int
apply_name_cmp(const void *a, const void *b)
{
	return (strcmp(*(const char *const *)a, *(const char *const *)b));
}

static int
apply_entry_cmp(const void *a, const void *b)
{
	const struct apply_entry	*x = a, *y = b;

	return (strcmp(x->name, y->name));
}

static struct apply_entry *
apply_add(struct apply_op *op, const char *name)
{
	struct apply_entry	*e;

	if (op->n == op->cap) {
		op->cap = op->cap == 0 ? 64 : op->cap * 2;
		op->v = xreallocarray(op->v, op->cap, sizeof *op->v);
	}
	e = &op->v[op->n++];
	memset(e, 0, sizeof *e);
	e->name = xstrdup(name);
	return (e);
}

/* Free OP: claims it still holds are given up, schedules released. */
static void
apply_free(struct apply_op *op)
{
	struct apply_entry	*e;
	size_t			 i;

	for (i = 0; i < op->n; i++) {
		e = &op->v[i];
		free(e->name);
		free(e->reason);
		schedule_rows_clear(&e->rows);
		if (e->claimed)
			schedule_release_name(e->t);
		if (e->t != NULL)
			schedule_free(e->t);
		if (e->s != NULL) {
			if (e->outcome != APPLY_UNCHANGED && op->req != NULL)
				e->s->busy = 0;
			actor_unref(&e->s->actor);
		}
	}
	free(op->v);
	free(op->ids);
	free(op->account);
	free(op);
}

/*
 * Refuse REQ for the entry NAME: data.field is "schedules.NAME.FIELD"
 * (or "schedules.NAME"), data.name the entry, data.reason why.
 */
static void
apply_refuse(struct reply *req, enum reply_kind kind, const char *name,
    const char *field, const char *reason)
{
	json_t	*data;
	char	*path, *msg;
	size_t	 len;

	/* A reason written to stand alone ("cron: bad ...") loses the
	 * field it begins with. */
	if (field != NULL && strncmp(reason, field, len = strlen(field)) ==
	    0 && reason[len] == ':' && reason[len + 1] == ' ')
		reason += len + 2;
	if (field != NULL)
		xasprintf(&path, "schedules.%s.%s", name, field);
	else
		xasprintf(&path, "schedules.%s", name);
	xasprintf(&msg, "schedule \"%s\": %s%s%s", name, field != NULL ?
	    field : "", field != NULL ? ": " : "", reason);
	data = json_pack("{s:s, s:s, s:s}", "field", path, "reason", reason,
	    "name", name);
	reply_fail_data(req, kind, msg, data);
	free(path);
	free(msg);
}

/*
 * An entry that names one of these is made on the loop: its batch
 * template is checked against the account's state, its secret read now,
 * its delivery checked.  Every other key reads nothing but the entry, the
 * catalog and the zone files (and interns).
 */
static int
apply_on_loop(json_t *params)
{
	static const char *const keys[] = {
		"batch", "webhook_secret", "webhook_style", "deliver",
		"email_to", "email_on", "email_subject", "email_attach",
	};
	size_t	i;

	for (i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		if (json_object_get(params, keys[i]) != NULL)
			return (1);
	}
	return (0);
}

/*
 * E's schedule as its entry makes it (from the defaults of a new one, so
 * that a field left out means its default), compared with E->s: E's
 * outcome, or E->made -1 with the field and the reason.  A created one
 * gets its id, instants, packed rows and next fire when E->id is set.
 * On any thread (while intern_share holds) unless apply_on_loop: it
 * changes E alone, and reads E->s, which nothing changes meanwhile; what
 * may be freed only on the loop (E->t) is left for it.
 */
static void
apply_make(struct apply_op *op, struct apply_entry *e)
{
	struct schedule	*s = e->s, *t;
	json_t		*params = e->params, *p = params, *at;
	const char	*ref;
	int64_t		 at_us;
	int		 keep_at = 0, rc;

	/* A one-shot's instant, once past, is still the schedule's own:
	 * the same instant again is no change, not "in the past". */
	if (s != NULL && s->trigger == TRIGGER_AT &&
	    (at = json_object_get(params, "at")) != NULL &&
	    json_is_string(at) && parse_rfc3339(json_string_value(at),
	    &at_us) == 0 && at_us - at_us % USEC_PER_SEC == s->at_us &&
	    at_us <= now_us()) {
		p = json_copy(params);
		json_object_del(p, "at");
		json_object_set_new(p, "manual", json_true());
		keep_at = 1;
	}
	e->t = t = schedule_create_shared();
	t->account = intern(op->account);
	rc = schedule_config_apply(&t->config, op->account, p, 1, &e->field,
	    &e->reason);
	if (rc == 0 && keep_at && schedule_config_trigger(&t->config,
	    TRIGGER_AT, s->trigger_text, 1, &e->reason) == -1) {
		e->field = "at";
		rc = -1;
	}
	if (p != params)
		json_decref(p);
	e->made = rc == -1 ? -1 : 1;
	if (rc == -1)
		return;
	/* A generated secret is made, and shown once, by schedule.create;
	 * an entry keeps it by saying "generated". */
	ref = t->webhook_secret_ref;
	if (ref != NULL && strcmp(ref, "generated") == 0) {
		if (s == NULL || s->webhook_secret_ref == NULL ||
		    strncmp(s->webhook_secret_ref, "generated:", 10) != 0) {
			e->made = -1;
			e->field = "webhook_secret";
			e->reason = xstrdup("\"generated\" names a secret "
			    "schedule.create made (and showed once): create "
			    "this schedule with schedule.create, or give a "
			    "reference");
			return;
		}
		free(t->webhook_secret_ref);
		t->webhook_secret_ref = xstrdup(s->webhook_secret_ref);
	}
	if (s != NULL) {
		e->nfields = schedule_config_diff(&s->config, &t->config,
		    e->fields, SCHEDULE_DIFF_MAX);
		e->outcome = e->nfields == 0 ? APPLY_UNCHANGED : APPLY_UPDATED;
		return;
	}
	e->outcome = APPLY_CREATED;
	if (json_is_true(json_object_get(params, "paused"))) {
		schedule_set_state(t, SCHEDULE_PAUSED);
		t->pause_reason = xstrdup("created paused");
	}
	if (e->id != NULL) {
		apply_prepare(e, e->id, op->now);
		schedule_rows_pack(t, &e->rows);
		e->next = schedule_next_after(t, t->last_fire, &e->fire);
	}
}

/*
 * On the loop, in the set's order, E once made: refused (OP->refused; the
 * caller is answered), or checked against what only the loop may read (a
 * change already on its way, the cost caps) and its name claimed when it
 * is new.
 */
static void
apply_check(struct apply_op *op, struct apply_entry *e)
{
	struct schedule	*s = e->s, *t = e->t;
	const char	*why;
	char		*reason = NULL;

	if (e->made == -1) {
		apply_refuse(op->req, REPLY_INVALID, e->name, e->field,
		    e->reason);
		goto refused;
	}
	if (e->outcome == APPLY_UNCHANGED) {
		schedule_free(t);
		e->t = NULL;
		op->count[APPLY_UNCHANGED]++;
		return;
	}
	if (s != NULL && s->busy) {
		apply_refuse(op->req, REPLY_CONFLICT, e->name, NULL,
		    "another change to this schedule is being recorded; try "
		    "again");
		goto refused;
	}
	if (!op->force && !json_is_true(json_object_get(e->params,
	    "force")) && (why = schedule_cap_refusal(t, &reason)) != NULL) {
		apply_refuse(op->req, REPLY_BUDGET, e->name, why, reason);
		free(reason);
		goto refused;
	}
	if (s == NULL) {
		t->name_key = schedule_name_key(t->account,
		    strlen(t->account), t->name);
		if (schedule_claim_name(t) == -1) {
			apply_refuse(op->req, REPLY_CONFLICT, e->name, NULL,
			    "a schedule of this name is being created or "
			    "deleted; try again");
			goto refused;
		}
		e->claimed = 1;
	}
	op->count[e->outcome]++;
	return;

refused:
	op->refused = 1;
}

struct prune_ctx {
	struct apply_op	*op;
	json_t		*set;
	int		 refused;
};

/* With prune: S, if the set does not name it, is to be deleted. */
static void
apply_prune_one(struct schedule *s, void *arg)
{
	struct prune_ctx	*ctx = arg;
	struct apply_entry	*e;

	if (ctx->refused || json_object_get(ctx->set, s->name) != NULL)
		return;
	if (s->busy) {
		apply_refuse(ctx->op->req, REPLY_CONFLICT, s->name, NULL,
		    "another change to this schedule is being recorded; try "
		    "again");
		ctx->refused = 1;
		return;
	}
	e = apply_add(ctx->op, s->name);
	e->s = s;
	actor_ref(&s->actor);
	e->outcome = APPLY_DELETED;
}

/* ---- the answer and the record ------------------------------------------ */

/*
 * The diff: per outcome {"count", "names"} (at most APPLY_NAMES_MAX
 * names, in byte order; "truncated" says when some were left out), the
 * updated ones' changed fields as "fields" (name -> [field]), the record's
 * seq (null: nothing written).
 */
static json_t *
apply_answer(const struct apply_op *op, int dry_run, uint64_t seq)
{
	json_t		*names[APPLY_OUTCOMES], *fields, *out, *f;
	size_t		 i;
	int		 k, truncated = 0;

	for (k = 0; k < APPLY_OUTCOMES; k++)
		names[k] = json_array();
	fields = json_object();
	for (i = 0; i < op->n; i++) {
		const struct apply_entry *e = &op->v[i];

		if (json_array_size(names[e->outcome]) >= APPLY_NAMES_MAX) {
			truncated = 1;
			continue;
		}
		json_array_append_new(names[e->outcome],
		    json_string(e->name));
		if (e->outcome == APPLY_UPDATED) {
			f = json_array();
			for (k = 0; k < e->nfields; k++)
				json_array_append_new(f,
				    json_string(e->fields[k]));
			json_object_set_new(fields, e->name, f);
		}
	}
	out = json_pack("{s:s, s:b, s:b, s:o}", "account", op->account,
	    "dry_run", dry_run, "truncated", truncated, "seq", seq != 0 ?
	    json_integer((json_int_t)seq) : json_null());
	for (k = 0; k < APPLY_OUTCOMES; k++) {
		json_t	*o = json_pack("{s:I, s:o}", "count",
		    (json_int_t)op->count[k], "names", names[k]);

		if (k == APPLY_UPDATED)
			json_object_set_new(o, "fields", json_incref(fields));
		json_object_set_new(out, apply_outcome_names[k], o);
	}
	json_decref(fields);
	return (out);
}

/* An entry and its id's first 8 bytes, big-endian (zero past its end):
 * ids in order compare mostly on that number, with no pointer chased. */
struct apply_ord {
	uint64_t		 key;
	struct apply_entry	*e;
};

/* The order of the record's lists: by schedule id, so that the journal
 * writes each table's rows in key order (far faster for LMDB than in
 * the random order of the ids).  The same order as strcmp's. */
static int
apply_id_cmp(const void *a, const void *b)
{
	const struct apply_ord	*x = a, *y = b;

	if (x->key != y->key)
		return (x->key < y->key ? -1 : 1);
	return (strcmp(x->e->t->id, y->e->t->id));
}

static void
apply_ord_set(struct apply_ord *o, struct apply_entry *e)
{
	const char	*id = e->t->id;
	size_t		 i;

	o->e = e;
	o->key = 0;
	for (i = 0; i < 8 && id[i] != '\0'; i++)
		o->key |= (uint64_t)(u_char)id[i] << (56 - 8 * i);
}

/*
 * E as it will be: a new schedule gets ID and its instants; an updated
 * one is a copy of E->s with the entry's configuration (the grid's
 * origin kept); one to delete is a copy of E->s, to restore if the record
 * is not written, and stops firing now.
 */
static void
apply_prepare(struct apply_entry *e, const char *id, int64_t now)
{
	struct schedule	*u;

	switch (e->outcome) {
	case APPLY_CREATED:
		u = e->t;
		schedule_set_id(u, id, strlen(id));
		u->created_us = u->updated_us = now;
		u->anchor_us = now - now % USEC_PER_SEC;
		u->last_fire = now;
		break;
	case APPLY_UPDATED:
		u = schedule_clone(e->s);
		e->t->anchor_us = e->s->anchor_us;
		SWAP(u->config, e->t->config);
		schedule_free(e->t);
		e->t = u;
		u->updated_us = now;
		if (u->last_fire < now)
			u->last_fire = now;
		if (u->state == SCHEDULE_COMPLETED && (u->trigger !=
		    TRIGGER_AT || u->at_us > now))
			schedule_set_state(u, SCHEDULE_ACTIVE);
		e->s->busy = 1;
		break;
	case APPLY_DELETED:
		e->t = schedule_clone(e->s);
		e->s->busy = 1;
		timer_cancel(&e->s->timer);
		schedule_set_state(e->s, SCHEDULE_DELETED);
		break;
	default:
		break;
	}
}

/*
 * N new ids (32 bytes apart in OP->ids), distinct, in byte order, none of
 * them an existing schedule's: created entries take them in the set's
 * order, that of their names, so that they are in id order too, the
 * order the record lists them and their rows are written in.
 */
static void
apply_ids(struct apply_op *op, size_t n)
{
	size_t	i;

	op->ids = xcalloc(n + 1, 32);
	op->nids = n;
	do {
		random_ids_sorted("s_", op->ids, 32, n);
		for (i = 0; i < n && schedule_find(op->ids + 32 * i) == NULL;
		    i++)
			continue;
	} while (i < n);	/* one is taken: all again */
}

/* An entry made on any thread (ordered.c), unless it must be on the
 * loop. */
static void
apply_make_work(void *slot, void *arg)
{
	struct apply_entry	*e = *(struct apply_entry **)slot;

	if (!e->on_loop && e->made == 0)
		apply_make(arg, e);
}

/* Back on the loop, in the set's order: the entry checked, unless one
 * before it was refused. */
static void
apply_make_finish(void *slot, void *arg)
{
	struct apply_op		*op = arg;
	struct apply_entry	*e = *(struct apply_entry **)slot;

	if (op->refused)
		return;
	if (e->on_loop && e->made == 0)
		apply_make(op, e);
	apply_check(op, e);
}

/*
 * Room in REC for N more rows like the one just put, whose row the body
 * holds from OFF on: the record grows once, not by doubling (each
 * time a copy, into pages not yet touched).  Twice its size each, for
 * rows larger than the first.
 */
static void
apply_reserve(struct jrec *rec, size_t n, size_t off)
{
	size_t	row;

	if (n == 0)
		return;
	jrec_body_since(rec, off, &row);
	row = 2 * row + 64;
	if (n > (size_t)JOURNAL_MAX_RECORD / row)
		n = (size_t)JOURNAL_MAX_RECORD / row;
	/* The arena: its progress row, two keys, two names (the row
	 * itself is read from the body: jrec_put_body). */
	jrec_reserve(rec, n * row, n * 256, 2 * n);
}

/*
 * The schedule.applied record: body {"created": [schedule map],
 * "updated": [schedule map], "deleted": [{"id", "name"}], "unchanged":
 * count} (each list in id order), each created and updated schedule's
 * row and progress put, each deleted one's row, progress and kept runs
 * deleted.
 */
static struct jrec *
apply_record(struct apply_op *op)
{
	struct jrec		*rec;
	msgpack_packer		*pk;
	struct apply_entry	*e;
	struct apply_ord	*ord;
	int64_t			 now = now_us();
	size_t			 i, n, off;
	size_t			 rows = 0;
	size_t			 nrows = op->count[APPLY_CREATED] +
				     op->count[APPLY_UPDATED];
	int			 k;

	/* The created ones have their ids and rows already. */
	ord = xcalloc(op->n + 1, sizeof *ord);
	for (i = 0; i < op->n; i++) {
		e = &op->v[i];
		if (e->outcome != APPLY_UNCHANGED &&
		    e->outcome != APPLY_CREATED)
			apply_prepare(e, NULL, now);
	}

	rec = jrec_create("schedule.applied", op->account);
	jrec_failfast(rec);
	pk = jrec_body(rec);
	msgpack_pack_map(pk, 4);
	for (k = APPLY_CREATED; k <= APPLY_DELETED; k++) {
		if (k == APPLY_UNCHANGED)
			continue;
		for (i = n = 0; i < op->n; i++) {
			if ((int)op->v[i].outcome == k)
				apply_ord_set(&ord[n++], &op->v[i]);
		}
		/* (created ones are in id order already: apply_ids) */
		if (n > 1 && k != APPLY_CREATED)
			xqsort(ord, n, sizeof *ord, apply_id_cmp);
		pack_str(pk, apply_outcome_names[k]);
		msgpack_pack_array(pk, (uint32_t)n);
		for (i = 0; i < n; i++) {
			e = ord[i].e;
			if (k != APPLY_DELETED) {
				if (rows == 0)
					jrec_body_since(rec, 0, &off);
				/* created ones were packed on the worker */
				if (k == APPLY_UPDATED)
					schedule_rows_pack(e->t, &e->rows);
				schedule_rows_put(e->t, &e->rows, rec);
				schedule_rows_clear(&e->rows);
				if (rows++ == 0)
					apply_reserve(rec, nrows - 1, off);
				if (k == APPLY_UPDATED &&
				    e->t->history < e->s->history &&
				    e->t->run_counter >= e->t->history)
					schedule_prune_runs(e->s, rec,
					    e->t->run_counter - e->t->history +
					    1);
			} else {
				const struct pack_pair	 v[] = {
					PACK_PAIR_STR("id", e->s->id),
					PACK_PAIR_STR("name", e->s->name),
				};

				PACK_MAP(pk, v);
				jrec_del(rec, "schedules", e->s->id,
				    strlen(e->s->id));
				jrec_del(rec, "progress", e->s->id,
				    strlen(e->s->id));
				schedule_prune_runs(e->s, rec, UINT64_MAX);
			}
		}
	}
	pack_str(pk, "unchanged");
	msgpack_pack_uint64(pk, op->count[APPLY_UNCHANGED]);
	free(ord);
	return (rec);
}

static void
apply_done_cb(const struct journal_result *res, void *arg)
{
	struct apply_op		*op = arg;
	struct apply_entry	*e;
	struct schedule		*s, *t;
	size_t			 i;

	for (i = 0; i < op->n; i++) {
		e = &op->v[i];
		s = e->s;
		t = e->t;
		switch (e->outcome) {
		case APPLY_CREATED:
			if (res->status != JOURNAL_OK)
				break;	/* the claim goes in apply_free */
			e->claimed = 0;
			e->t = NULL;
			schedule_register(t);
			schedule_arm_next(t, e->next, &e->fire);
			break;
		case APPLY_UPDATED:
			if (res->status != JOURNAL_OK)
				break;
			schedule_set_state(s, t->state);
			schedule_take_config(s, t);
			/* A generated secret replaced by another goes. */
			schedule_drop_generated(s->id, t->webhook_secret_ref,
			    NULL, s);
			schedule_arm(s, s->last_fire > now_us() ?
			    s->last_fire : now_us());
			break;
		case APPLY_DELETED:
			if (res->status != JOURNAL_OK) {
				schedule_undelete(s, t->state);
				schedule_arm(s, now_us());
				break;
			}
			schedule_unregister(s);
			schedule_drop_generated(s->id, s->webhook_secret_ref,
			    s->webhook_prev, NULL);
			dispatch_cancel_pending(s, "schedule deleted");
			actor_unref(&s->actor);	/* the registry's */
			break;
		default:
			break;
		}
	}
	if (res->status != JOURNAL_OK) {
		if (res->status == JOURNAL_DUPLICATE)
			reply_fail(op->req, REPLY_CONFLICT, "already recorded",
			    NULL, NULL);
		else
			outcome_journal(op->req, res);
	} else {
		log_info("msg=\"schedules applied\" account=%s seq=%llu "
		    "created=%zu updated=%zu unchanged=%zu deleted=%zu",
		    op->account, (unsigned long long)res->seq,
		    op->count[APPLY_CREATED], op->count[APPLY_UPDATED],
		    op->count[APPLY_UNCHANGED], op->count[APPLY_DELETED]);
		reply_ok(op->req, apply_answer(op, 0, res->seq));
	}
	apply_free(op);
}

/* ---- schedule.apply ----------------------------------------------------- */

/*
 * schedule.apply: make ACCOUNT's schedules match SET (an object: name ->
 * schedule.create's fields, each entry checked against the method's entry
 * table by the caller), PRUNE deleting those it does not name; DRY_RUN
 * answers the diff and writes nothing; FORCE as create's, for every
 * entry.  Answered once the one record is durable (or at once when
 * nothing changes: no record).
 */
void
schedule_ctl_apply(struct reply *req, const char *account, json_t *set,
    int prune, int dry_run, int force)
{
	struct apply_op		*op;
	struct apply_entry	*e;
	struct prune_ctx	 pctx;
	struct ordered		*make;
	const char		**names, *key;
	json_t			*v, *given;
	size_t			 n, i, k, created;
	int			 workers;

	op = xcalloc(1, sizeof *op);
	op->req = req;
	op->account = xstrdup(account);
	op->force = force;
	n = json_object_size(set);
	names = xcalloc(n + 1, sizeof *names);
	if (n > 0) {
		/* One entry each, at once (prune adds more). */
		op->cap = n;
		op->v = xreallocarray(NULL, n, sizeof *op->v);
	}
	k = 0;
	json_object_foreach(set, key, v)
		names[k++] = key;
	if (n > 0)
		xqsort(names, n, sizeof *names, apply_name_cmp);
	/* Each entry by name: its schedule, or a refusal of its name (told
	 * in the set's order, with those of the entries' fields). */
	for (i = created = 0; i < n; i++) {
		v = json_object_get(set, names[i]);
		e = apply_add(op, names[i]);
		e->params = v;
		if (!valid_id(names[i])) {
			e->made = -1;
			e->reason = xstrdup("not a valid name: 1-64 of A-Z a-z "
			    "0-9 . _ - (not starting with . or -)");
			continue;
		}
		if ((given = json_object_get(v, "name")) != NULL &&
		    (!json_is_string(given) || strcmp(json_string_value(given),
		    names[i]) != 0)) {
			e->made = -1;
			e->field = "name";
			e->reason = xstrdup("differs from the entry's key");
			continue;
		}
		if (given == NULL)
			json_object_set_new(v, "name", json_string(names[i]));
		if ((e->s = schedule_by_name(account, names[i])) != NULL)
			actor_ref(&e->s->actor);
		else
			created++;
		e->on_loop = apply_on_loop(v);
	}
	/* The new ones' ids, in the set's order, so that they are in id
	 * order too (apply_ids); their rows are packed as they are made. */
	if (!dry_run && created > 0) {
		op->now = now_us();
		apply_ids(op, created);
		for (i = k = 0; i < op->n; i++) {
			if (op->v[i].made == 0 && op->v[i].s == NULL)
				op->v[i].id = op->ids + 32 * k++;
		}
	}
	/* Made on every core, checked on the loop in order; the loop's
	 * strings are shared meanwhile. */
	workers = n >= APPLY_THREADS_MIN ? -1 : 0;
	if (workers != 0)
		intern_share(1);
	make = ordered_start(sizeof e, apply_make_work, apply_make_finish, op,
	    workers);
	for (i = 0; i < op->n; i++)
		*(struct apply_entry **)ordered_next(make) = &op->v[i];
	ordered_end(make);
	if (workers != 0)
		intern_share(0);
	if (op->refused)
		goto refused;
	if (prune) {
		memset(&pctx, 0, sizeof pctx);
		pctx.op = op;
		pctx.set = set;
		k = op->n;
		schedule_foreach(account, apply_prune_one, &pctx);
		if (pctx.refused)
			goto refused;
		op->count[APPLY_DELETED] = op->n - k;
		if (op->n > k)
			xqsort(op->v + k, op->n - k, sizeof *op->v,
			    apply_entry_cmp);
	}
	free(names);
	names = NULL;
	if (dry_run || op->count[APPLY_CREATED] + op->count[APPLY_UPDATED] +
	    op->count[APPLY_DELETED] == 0) {
		reply_ok(req, apply_answer(op, dry_run, 0));
		/* Nothing was made busy: forget the entries' outcomes. */
		for (i = 0; i < op->n; i++)
			op->v[i].outcome = APPLY_UNCHANGED;
		apply_free(op);
		return;
	}
	journal_submit(engine->journal, apply_record(op), apply_done_cb, op);
	return;

refused:
	free(names);
	/* Only the entry refused as busy was ever made busy: none. */
	for (i = 0; i < op->n; i++)
		op->v[i].outcome = APPLY_UNCHANGED;
	apply_free(op);
}
