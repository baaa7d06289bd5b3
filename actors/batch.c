/*
 * actors/batch.c: the batch actor.  A batch is many operations run as one
 * unit: "parallel" (at most max_concurrent at once), "sequential" (strict
 * sequence_order, the next after the previous ended) or "conditional" (a
 * dependency graph; an operation starts when its dependencies ended as its
 * trigger rule asks, and is skipped when the rule can no longer hold).
 * Its definition comes from batch-parse.c; schedules whose target is a
 * batch create theirs through batch-template.c.
 *
 * Each batch is an actor whose first member is a struct schedule: the
 * owner of its runs in dispatch.c, which prices, budgets, queues for
 * slots, executes, retries and records them (op.* records) and calls the
 * hooks below when one ends.  Operation i is run number i+1 ("BATCH:N")
 * and claims "batch:BATCH:N", so no operation starts twice, across
 * crashes.  Operations that never start (skipped by a dependency, by
 * stop_on_failure or by a cancel) get an op.skipped record of their own
 * with the same claim.  The batch's state is written by batch_set_state
 * only, an operation's by batch_op_set_state only.
 *
 * Durable state: the definition in "batch_ops" (BATCH_OPS_CHUNK
 * operations per row, written with batch.created), the batch's row in
 * "batches" (written with every batch.* and op.* record), and each
 * operation's outcome in its "runs" row.  At start the runs rows give the
 * exact state of each operation; runs in flight are settled by
 * dispatch_recover_runs, which finds the batch through the owner kind
 * registered by batch_load_all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

static struct strmap	by_id;

/* Context of a control operation waiting for its record. */
struct batch_req {
	struct reply	*req;
	struct batch	*b;
	int		 kind;
};
enum { BREQ_CREATE, BREQ_START, BREQ_CANCEL, BREQ_DELETE };

/* Operation I of B, for the packer. */
struct batch_op_ref {
	const struct batch	*b;
	uint32_t		 i;
};

/* The entries of a batch's row (and of its records' bodies). */
struct batch_row {
	const struct batch		*b;
	const struct batch_counts	*c;
	int64_t				 spent;
	int				 with_ops;
};

static void	batch_handle(struct actor *, struct msg *);
static void	batch_free_actor(struct actor *);
static struct schedule *batch_lookup_owner(const char *);
static void	batch_ended(struct schedule *, struct run *);
static void	batch_deliver(const struct batch *);
static const char *batch_budget(struct schedule *, struct run *);
static void	batch_put_state(struct schedule *, struct run *,
		    struct jrec *);
static void	batch_pack_row(msgpack_packer *, const void *);
static void	batch_pack_estimate(msgpack_packer *, const void *);
static void	batch_pack_op(msgpack_packer *, const void *);
static void	batch_pack_deleted(msgpack_packer *, const void *);
static void	batch_advance(struct batch *);
static void	batch_op_ended(struct batch *, uint32_t, enum batch_op_state);
static void	batch_skip_op(struct batch *, uint32_t, const char *);
static void	batch_maybe_finish(struct batch *);
static void	batch_set_state(struct batch *, enum batch_state, int);
static void	batch_op_set_state(struct batch *, uint32_t,
		    enum batch_op_state);

static const struct run_hooks batch_hooks = {
	batch_ended, batch_budget, batch_put_state, "batch_budget"
};

/* What dispatch knows of batches: found by id at recovery, fired from a
 * schedule's template. */
static const struct owner_kind batch_owner_kind = {
	batch_lookup_owner, batch_template_check, batch_fire,
	batch_count_origins
};

static const struct owner_type batch_actor_type = {
	{ "batch", batch_handle, batch_free_actor }, &batch_hooks
};

static const char *batch_state_names[BATCH_STATE_MAX] = {
	"draft", "running", "completed", "failed", "cancelled"
};
static const char *bop_state_names[BOP_STATE_MAX] = {
	"pending", "running", "completed", "failed", "skipped", "cancelled"
};

#define BATCH_OF(n) \
	((struct batch *)((char *)(n) - offsetof(struct batch, bnode)))

const char *
batch_state_name(enum batch_state st)
{
	return ((unsigned)st < BATCH_STATE_MAX ? batch_state_names[st] :
	    "unknown");
}

/* The state named S, or -1. */
static int
batch_state_index(const char *s)
{
	int	i;

	for (i = 0; s != NULL && i < BATCH_STATE_MAX; i++) {
		if (strcmp(s, batch_state_names[i]) == 0)
			return (i);
	}
	return (-1);
}

static int
batch_final(const struct batch *b)
{
	return (b->bstate >= BATCH_COMPLETED);
}

/*
 * The one writer of a batch's state: checks the transition (an ended
 * batch stays ended; a draft is only a batch whose start failed going
 * back) and traces from -> to.  UNDO allows running -> draft.
 */
static void
batch_set_state(struct batch *b, enum batch_state st, int undo)
{
	if (b->bstate == st)
		return;
	if (batch_final(b) || (st == BATCH_DRAFT && !undo))
		fatalx("batch %s: state %s -> %s", b->owner.id != NULL ?
		    b->owner.id : "(new)", batch_state_name(b->bstate),
		    batch_state_name(st));
	log_trace(TRACE_SCHED, "msg=\"batch state\" batch=%s from=%s to=%s",
	    b->owner.id != NULL ? b->owner.id : "(new)",
	    batch_state_name(b->bstate), batch_state_name(st));
	b->bstate = st;
}

/*
 * The one writer of an operation's state: waiting -> running -> an end,
 * or waiting -> an end (skipped, cancelled, or settled at load); an ended
 * operation stays ended.
 */
static void
batch_op_set_state(struct batch *b, uint32_t i, enum batch_op_state st)
{
	struct batch_op	*op = &b->ops[i];

	if (op->state == st)
		return;
	if (op->state != BOP_WAITING && op->state != BOP_RUNNING)
		fatalx("batch %s: operation %u: state %s -> %s", b->owner.id,
		    i + 1, bop_state_names[op->state], bop_state_names[st]);
	log_trace(TRACE_SCHED, "msg=\"batch operation state\" batch=%s "
	    "op=%u from=%s to=%s", b->owner.id, i + 1,
	    bop_state_names[op->state], bop_state_names[st]);
	op->state = st;
}

/*
 * The verdict of trigger rule RULE over NDEPS dependencies of which
 * NSUCCESS completed, NFAILED failed (or were cancelled) and NSKIPPED were
 * skipped so far.  all_success: every one completed; all_done: every one
 * ended; one_failed: at least one failed; none_failed: every one ended and
 * none failed.
 */
enum batch_verdict
batch_rule_eval(enum batch_rule rule, uint32_t ndeps, uint32_t nsuccess,
    uint32_t nfailed, uint32_t nskipped)
{
	int	all = nsuccess + nfailed + nskipped >= ndeps;

	switch (rule) {
	case BATCH_RULE_ALL_SUCCESS:
		if (nfailed > 0 || nskipped > 0)
			return (BATCH_SKIP);
		return (all ? BATCH_RUN : BATCH_WAIT);
	case BATCH_RULE_ALL_DONE:
		return (all ? BATCH_RUN : BATCH_WAIT);
	case BATCH_RULE_ONE_FAILED:
		if (nfailed > 0)
			return (BATCH_RUN);
		return (all ? BATCH_SKIP : BATCH_WAIT);
	case BATCH_RULE_NONE_FAILED:
		if (nfailed > 0)
			return (BATCH_SKIP);
		return (all ? BATCH_RUN : BATCH_WAIT);
	default:
		return (BATCH_SKIP);
	}
}

/* ---- life cycle -------------------------------------------------------- */

/* A batch in state draft, without id, definition or registration: an
 * actor with one reference (batch_free drops it). */
struct batch *
batch_create(void)
{
	struct batch	*b;

	b = xcalloc(1, sizeof *b);
	actor_init(&b->owner.actor, &batch_actor_type.actor);
	timer_init(&b->owner.timer, &b->owner.actor);
	TAILQ_INIT(&b->owner.runs);
	b->owner.tz = tz_load("UTC", NULL);
	b->owner.history = UINT16_MAX;
	schedule_set_state(&b->owner, SCHEDULE_ACTIVE);
	b->owner.priority = 5;
	b->owner.parameters = xstrdup("{}");
	b->owner.operation = xstrdup("");
	b->max_concurrent = BATCH_DEFAULT_CONCURRENT;
	return (b);
}

static void
batch_free_ops(struct batch *b)
{
	uint32_t	i;

	for (i = 0; i < b->nops; i++) {
		free(b->ops[i].local_id);
		free(b->ops[i].parameters);
		free(b->ops[i].deps);
	}
	free(b->ops);
	for (i = 0; i < b->nnames; i++)
		free(b->names[i]);
	free(b->names);
	free(b->queue);
	free(b->rev_off);
	free(b->rev);
	b->ops = NULL;
	b->names = NULL;
	b->queue = b->rev_off = b->rev = NULL;
	b->nops = b->nnames = 0;
}

static void
batch_free_actor(struct actor *a)
{
	struct batch	*b = (struct batch *)a;

	timer_cancel(&b->owner.timer);
	batch_free_ops(b);
	free(b->owner.id);
	free(b->owner.name);
	free(b->owner.account);
	free(b->owner.operation);
	free(b->owner.parameters);
	free(b->owner.deliver);
	free(b->description);
	free(b->reason);
	free(b->first_failure);
	free(b->origin);
	free(b);
}

/* Free a batch that never became an actor of the registry (NULL: no-op). */
void
batch_free(struct batch *b)
{
	if (b != NULL)
		actor_unref(&b->owner.actor);
}

static void
batch_register(struct batch *b)
{
	if (by_id.nbuckets == 0)
		strmap_init(&by_id);
	strmap_insert(&by_id, &b->bnode, b->owner.id);
}

/* A new batch B (parsed, named) joins the registry: a fresh id, created
 * now, its estimate. */
void
batch_enroll(struct batch *b)
{
	char	id[32];

	do
		random_id("b_", id, sizeof id);
	while (batch_find(id) != NULL);
	b->owner.id = xstrdup(id);
	b->owner.created_us = now_us();
	batch_estimate(b);
	batch_register(b);
}

/* B leaves the registry, and the registry's reference goes (B lives on
 * while held). */
void
batch_forget(struct batch *b)
{
	strmap_remove(&by_id, &b->bnode);
	actor_unref(&b->owner.actor);
}

/* A change to B is being recorded: B stays alive, and other control
 * changes are refused (busy), until batch_release. */
void
batch_hold(struct batch *b)
{
	actor_ref(&b->owner.actor);
	b->busy = 1;
}

void
batch_release(struct batch *b)
{
	b->busy = 0;
	actor_unref(&b->owner.actor);
}

struct batch *
batch_find(const char *id)
{
	struct strmap_node	*n;

	if (by_id.nbuckets == 0 || id == NULL ||
	    (n = strmap_find(&by_id, id)) == NULL)
		return (NULL);
	return (BATCH_OF(n));
}

struct batch_foreach_ctx {
	void	 (*fn)(struct batch *, void *);
	void	*arg;
};

static void
batch_foreach_node(struct strmap_node *n, void *arg)
{
	struct batch_foreach_ctx	*ctx = arg;

	ctx->fn(BATCH_OF(n), ctx->arg);
}

/* FN(batch, ARG) for every batch of the registry (FN may not add or
 * remove one). */
void
batch_foreach(void (*fn)(struct batch *, void *), void *arg)
{
	struct batch_foreach_ctx	ctx = { fn, arg };

	if (by_id.nbuckets != 0)
		strmap_foreach(&by_id, batch_foreach_node, &ctx);
}

/* The owner of a batch's runs (recovery finds it by id). */
static struct schedule *
batch_lookup_owner(const char *id)
{
	struct batch	*b = batch_find(id);

	return (b != NULL ? &b->owner : NULL);
}

static void
batch_handle(struct actor *a, struct msg *m)
{
	struct batch	*b = (struct batch *)a;

	switch (m->type) {
	case MSG_TIMER:
		if (m->arg & TIMER_RETRY)
			dispatch_timer(&b->owner, m->arg);
		break;
	case MSG_SLOT:
		dispatch_slot(&b->owner, m->arg);
		break;
	case MSG_EXEC_DONE:
		dispatch_exec_done(&b->owner, m);
		break;
	case MSG_BATCH_RESUME:
		b->loading = 0;
		if (b->bstate == BATCH_RUNNING) {
			batch_prepare(b);
			batch_advance(b);
		}
		break;
	default:
		log_warnx("msg=\"batch: unknown message\" type=%d", m->type);
		break;
	}
}

/* ---- the batch's row and records --------------------------------------- */

static void
counts_add(struct batch_counts *c, enum batch_op_state st, int delta)
{
	switch (st) {
	case BOP_RUNNING:
		c->running += delta;
		break;
	case BOP_COMPLETED:
		c->completed += delta;
		break;
	case BOP_FAILED:
		c->failed += delta;
		break;
	case BOP_SKIPPED:
		c->skipped += delta;
		break;
	case BOP_CANCELLED:
		c->cancelled += delta;
		break;
	default:
		break;
	}
}

static enum batch_op_state
bop_of_status(enum run_status st)
{
	switch (st) {
	case RUN_PENDING:
	case RUN_RUNNING:
		return (BOP_RUNNING);
	case RUN_SUCCESS:
		return (BOP_COMPLETED);
	case RUN_SKIPPED:
	case RUN_MISSED:
		return (BOP_SKIPPED);
	case RUN_CANCELLED:
		return (BOP_CANCELLED);
	default:
		return (BOP_FAILED);
	}
}

/* The entries of the batch's row R (and, with_ops, its definition). */
static void
batch_pack_row(msgpack_packer *pk, const void *arg)
{
	const struct batch_row		*r = arg;
	const struct batch		*b = r->b;
	const struct batch_counts	*c = r->c;
	uint32_t			 i;

	pack_kstr(pk, "id", b->owner.id);
	pack_kstr(pk, "schedule", b->origin);
	pack_kstr(pk, "name", b->owner.name);
	pack_kstr(pk, "description", b->description);
	if (b->owner.deliver != NULL)
		pack_kstr(pk, "deliver", b->owner.deliver);
	pack_kstr(pk, "account", b->owner.account);
	pack_kstr(pk, "type", batch_type_name(b->type));
	pack_kstr(pk, "state", batch_state_name(b->bstate));
	pack_kstr(pk, "reason", b->reason);
	pack_kint(pk, "priority", b->owner.priority);
	pack_kint(pk, "max_concurrent", b->max_concurrent);
	pack_kint(pk, "max_cost_micro", b->max_cost);
	pack_kbool(pk, "stop_on_failure", b->stop_on_failure);
	pack_str(pk, "estimate_micro");
	pack_map_counted(pk, batch_pack_estimate, &b->estimate);
	pack_kint(pk, "total", c->total);
	pack_kint(pk, "completed", c->completed);
	pack_kint(pk, "failed", c->failed);
	pack_kint(pk, "skipped", c->skipped);
	pack_kint(pk, "cancelled", c->cancelled);
	pack_kint(pk, "running", c->running);
	pack_kint(pk, "spent_micro", r->spent);
	pack_kint(pk, "created_us", b->owner.created_us);
	pack_kint(pk, "started_us", b->started_us);
	pack_kint(pk, "finished_us", b->finished_us);
	pack_kint(pk, "chunks", (b->nops + BATCH_OPS_CHUNK - 1) /
	    BATCH_OPS_CHUNK);
	pack_kint(pk, "format", 1);
	if (!r->with_ops)
		return;
	pack_str(pk, "operations");
	msgpack_pack_array(pk, b->nops);
	for (i = 0; i < b->nops; i++) {
		struct batch_op_ref	ref = { b, i };

		pack_map_counted(pk, batch_pack_op, &ref);
	}
}

static void
batch_pack_estimate(msgpack_packer *pk, const void *arg)
{
	const struct cost_range	*e = arg;

	pack_kint(pk, "low", e->low);
	pack_kint(pk, "mid", e->mid);
	pack_kint(pk, "high", e->high);
}

/* Operation REF as batch.created's body lists it. */
static void
batch_pack_op(msgpack_packer *pk, const void *arg)
{
	const struct batch_op_ref	*ref = arg;
	const struct batch_op		*op = &ref->b->ops[ref->i];
	uint32_t			 j;
	char				 buf[32];

	pack_kstr(pk, "id", batch_op_id(ref->b, ref->i, buf, sizeof buf));
	pack_kstr(pk, "operation", op->operation);
	pack_kjson(pk, "parameters", op->parameters);
	pack_kint(pk, "sequence_order", op->order);
	pack_kstr(pk, "trigger_rule", batch_rule_name(op->rule));
	pack_str(pk, "depends_on");
	msgpack_pack_array(pk, op->ndeps);
	for (j = 0; j < op->ndeps; j++)
		msgpack_pack_uint32(pk, op->deps[j]);
}

/* B's row with counters C and spend SPENT (and, WITH_OPS, its
 * definition) as one map into PK. */
static void
batch_pack(const struct batch *b, msgpack_packer *pk,
    const struct batch_counts *c, int64_t spent, int with_ops)
{
	struct batch_row	r = { b, c, spent, with_ops };

	pack_map_counted(pk, batch_pack_row, &r);
}

/* Put B's row into REC with counters C and spend SPENT; NOTE: also as
 * the body's "batch" (an operation's record, so that replay finds it). */
static void
batch_put_row(struct batch *b, struct jrec *rec, const struct batch_counts *c,
    int64_t spent, int note)
{
	struct pack_buffer	pb;

	pack_buffer_init(&pb);
	batch_pack(b, &pb.pk, c, spent, 0);
	jrec_put(rec, "batches", b->owner.id, strlen(b->owner.id),
	    pb.sbuf.data, pb.sbuf.size);
	if (note)
		jrec_body_add(rec, "batch", pb.sbuf.data, pb.sbuf.size);
	pack_buffer_clear(&pb);
}

/*
 * Hook: the batch's row in the record of run R: the counters as they
 * stand once R's recorded status holds (an ending run still counts as
 * running in memory until its end is handled).
 */
static void
batch_put_state(struct schedule *s, struct run *r, struct jrec *rec)
{
	struct batch		*b = (struct batch *)s;
	struct batch_counts	 c = b->c;
	int64_t			 spent = b->spent;

	if (r != NULL && run_status_final(r->status) && r->number >= 1 &&
	    r->number <= b->nops &&
	    b->ops[r->number - 1].state == BOP_RUNNING) {
		counts_add(&c, BOP_RUNNING, -1);
		counts_add(&c, bop_of_status(r->status), 1);
		if (r->cost > 0)
			spent = money_add(spent, r->cost);
	}
	batch_put_row(b, rec, &c, spent, 1);
}

/* One operation as an element of a "batch_ops" row (for the daemon and
 * for replay alike). */
void
batch_pack_op_row(msgpack_packer *pk, const char *id, const char *operation,
    const char *parameters, int32_t order, int rule, const uint32_t *deps,
    uint32_t ndeps)
{
	uint32_t	j;

	msgpack_pack_array(pk, 6);
	pack_str(pk, id);
	pack_str(pk, operation);
	pack_str(pk, parameters != NULL ? parameters : "{}");
	msgpack_pack_int32(pk, order);
	msgpack_pack_uint8(pk, (uint8_t)rule);
	msgpack_pack_array(pk, ndeps);
	for (j = 0; j < ndeps; j++)
		msgpack_pack_uint32(pk, deps[j]);
}

/* A record of KIND with B's row as body and table row (and, for
 * batch.created, the definition in body and batch_ops). */
struct jrec *
batch_record(struct batch *b, const char *kind, int with_ops)
{
	struct jrec		*rec;
	struct pack_buffer	 pb;
	uint32_t		 i, k, n;
	char			 key[128], buf[32];

	rec = jrec_create(kind, b->owner.account);
	batch_pack(b, jrec_body(rec), &b->c, b->spent, with_ops);
	batch_put_row(b, rec, &b->c, b->spent, 0);
	for (k = 0; with_ops && k * BATCH_OPS_CHUNK < b->nops; k++) {
		pack_buffer_init(&pb);
		n = b->nops - k * BATCH_OPS_CHUNK;
		if (n > BATCH_OPS_CHUNK)
			n = BATCH_OPS_CHUNK;
		msgpack_pack_array(&pb.pk, n);
		for (i = k * BATCH_OPS_CHUNK; i < k * BATCH_OPS_CHUNK + n;
		    i++) {
			const struct batch_op	*op = &b->ops[i];

			batch_pack_op_row(&pb.pk, batch_op_id(b, i, buf,
			    sizeof buf), op->operation, op->parameters,
			    op->order, op->rule, op->deps, op->ndeps);
		}
		snprintf(key, sizeof key, "%s:%06u", b->owner.id, k);
		jrec_put(rec, "batch_ops", key, strlen(key), pb.sbuf.data,
		    pb.sbuf.size);
		pack_buffer_clear(&pb);
	}
	return (rec);
}

/* ---- scheduling -------------------------------------------------------- */

static int
order_cmp(const void *x, const void *y, void *arg)
{
	const struct batch	*b = arg;
	uint32_t		 i = *(const uint32_t *)x;
	uint32_t		 j = *(const uint32_t *)y;

	if (b->ops[i].order != b->ops[j].order)
		return (b->ops[i].order < b->ops[j].order ? -1 : 1);
	return (i < j ? -1 : i > j);
}

static void
batch_enqueue(struct batch *b, uint32_t i)
{
	if (b->ops[i].queued)
		return;
	b->ops[i].queued = 1;
	b->queue[b->qtail++] = i;
}

/*
 * Build the ready queue from the operations' states (at start and at
 * resume): parallel in index order, sequential in sequence_order, and for
 * a graph the dependency counts and the operations whose rule holds;
 * those whose rule can no longer hold are skipped.
 */
void
batch_prepare(struct batch *b)
{
	struct batch_op	*op;
	uint32_t	 i, k, *order;
	enum batch_verdict v;

	free(b->queue);
	b->queue = xcalloc((size_t)b->nops + 1, sizeof *b->queue);
	b->qhead = b->qtail = 0;
	if (b->rev_off == NULL)
		batch_build_rev(b);
	for (i = 0; i < b->nops; i++) {
		b->ops[i].queued = 0;
		b->ops[i].nsuccess = b->ops[i].nfailed = b->ops[i].nskipped = 0;
	}
	if (b->type != BATCH_CONDITIONAL) {
		order = xcalloc((size_t)b->nops + 1, sizeof *order);
		for (i = 0; i < b->nops; i++)
			order[i] = i;
		if (b->type == BATCH_SEQUENTIAL)
			qsort_r(order, b->nops, sizeof *order, order_cmp, b);
		for (i = 0; i < b->nops; i++)
			if (b->ops[order[i]].state == BOP_WAITING)
				batch_enqueue(b, order[i]);
		free(order);
		return;
	}
	for (i = 0; i < b->nops; i++) {
		op = &b->ops[i];
		for (k = 0; k < op->ndeps; k++) {
			switch (b->ops[op->deps[k]].state) {
			case BOP_COMPLETED:
				op->nsuccess++;
				break;
			case BOP_FAILED:
			case BOP_CANCELLED:
				op->nfailed++;
				break;
			case BOP_SKIPPED:
				op->nskipped++;
				break;
			default:
				break;
			}
		}
	}
	for (i = 0; i < b->nops; i++) {
		op = &b->ops[i];
		if (op->state != BOP_WAITING)
			continue;
		v = batch_rule_eval(op->rule, op->ndeps, op->nsuccess,
		    op->nfailed, op->nskipped);
		if (v == BATCH_RUN)
			batch_enqueue(b, i);
		else if (v == BATCH_SKIP)
			batch_skip_op(b, i, "dependency");
	}
}

/* Begin operation I (run number I+1). */
static void
batch_launch(struct batch *b, uint32_t i)
{
	struct batch_op	*op = &b->ops[i];
	char		 claim[160], buf[32];

	batch_op_set_state(b, i, BOP_RUNNING);
	b->c.running++;
	snprintf(claim, sizeof claim, "batch:%s:%u", b->owner.id, i + 1);
	log_trace(TRACE_SCHED, "msg=\"batch op launched\" batch=%s op=%s "
	    "number=%u", b->owner.id, log_escape(batch_op_id(b, i, buf,
	    sizeof buf)), i + 1);
	(void)dispatch_owner_run(&b->owner, i + 1, op->operation,
	    op->parameters != NULL ? op->parameters : "{}", claim);
}

/* Launch ready operations up to the batch's limit, then see whether it
 * ended.  Re-entrant: an operation that ends while being begun comes back
 * here through batch_ended, and the outer call goes on. */
static void
batch_advance(struct batch *b)
{
	uint32_t	limit, i;

	if (b->advancing || b->loading)
		return;
	b->advancing = 1;
	limit = b->type == BATCH_SEQUENTIAL ? 1 : b->max_concurrent;
	while (b->bstate == BATCH_RUNNING && !engine->draining &&
	    b->c.running < limit && b->qhead < b->qtail) {
		i = b->queue[b->qhead++];
		if (b->ops[i].state == BOP_WAITING)
			batch_launch(b, i);
	}
	b->advancing = 0;
	batch_maybe_finish(b);
}

/*
 * Record operation I as skipped without running it (REASON), claiming its
 * key, with its runs row so that a restart sees it ended.
 */
static void
batch_skip_op(struct batch *b, uint32_t i, const char *reason)
{
	struct batch_op		*op = &b->ops[i];
	struct run		*r;
	struct jrec		*rec;
	struct pack_buffer	 pb;
	char			 key[160], claim[160], buf[32];

	if (op->state != BOP_WAITING)
		return;
	r = run_create(&b->owner, i + 1);
	r->operation = xstrdup(op->operation);
	r->triggered_by = "batch";
	r->parameters = xstrdup(op->parameters != NULL ? op->parameters :
	    "{}");
	r->scheduled_for = r->finished_us = r->created_us;
	r->reason = xstrdup(reason);
	run_set_status(r, RUN_SKIPPED);
	batch_op_set_state(b, i, BOP_SKIPPED);
	b->c.skipped++;
	rec = jrec_create("op.skipped", b->owner.account);
	pack_buffer_init(&pb);
	run_pack(r, &pb.pk);
	pack_raw(jrec_body(rec), pb.sbuf.data, pb.sbuf.size);
	analytics_add(rec, b->owner.account, pb.sbuf.data, pb.sbuf.size);
	run_row_key(b->owner.id, i + 1, key, sizeof key);
	jrec_put(rec, "runs", key, strlen(key), pb.sbuf.data, pb.sbuf.size);
	pack_buffer_clear(&pb);
	snprintf(claim, sizeof claim, "batch:%s:%u", b->owner.id, i + 1);
	jrec_claim(rec, claim);
	batch_put_row(b, rec, &b->c, b->spent, 1);
	journal_submit(engine->journal, rec, journal_log_cb, NULL);
	log_debug("msg=\"batch op skipped\" batch=%s op=%s reason=%s",
	    b->owner.id, log_escape(batch_op_id(b, i, buf, sizeof buf)),
	    reason);
	run_free(r);
	batch_op_ended(b, i, BOP_SKIPPED);
}

/* Skip every operation not begun yet (REASON). */
static void
batch_skip_waiting(struct batch *b, const char *reason)
{
	uint32_t	i;

	for (i = 0; i < b->nops; i++)
		if (b->ops[i].state == BOP_WAITING)
			batch_skip_op(b, i, reason);
}

/*
 * Operation I ended with ST (counted already): its dependents learn it
 * (and are queued or skipped in turn), a failure stops a sequential batch
 * with stop_on_failure.
 */
static void
batch_op_ended(struct batch *b, uint32_t i, enum batch_op_state st)
{
	struct batch_op	*d;
	uint32_t	 k;
	enum batch_verdict v;
	char		 buf[32];

	if (batch_final(b) || b->bstate == BATCH_DRAFT)
		return;
	if (b->type == BATCH_CONDITIONAL && b->queue != NULL) {
		for (k = b->rev_off[i]; k < b->rev_off[i + 1]; k++) {
			d = &b->ops[b->rev[k]];
			if (st == BOP_COMPLETED)
				d->nsuccess++;
			else if (st == BOP_SKIPPED)
				d->nskipped++;
			else
				d->nfailed++;
			if (d->state != BOP_WAITING)
				continue;
			v = batch_rule_eval(d->rule, d->ndeps, d->nsuccess,
			    d->nfailed, d->nskipped);
			if (v == BATCH_RUN)
				batch_enqueue(b, b->rev[k]);
			else if (v == BATCH_SKIP)
				batch_skip_op(b, b->rev[k], "dependency");
		}
	}
	if (b->type == BATCH_SEQUENTIAL && b->stop_on_failure &&
	    (st == BOP_FAILED || st == BOP_CANCELLED) &&
	    b->first_failure == NULL) {
		b->first_failure = xstrdup(batch_op_id(b, i, buf, sizeof buf));
		free(b->reason);
		xasprintf(&b->reason, "stop_on_failure: operation \"%s\" "
		    "failed", b->first_failure);
		batch_skip_waiting(b, "stop_on_failure");
	}
}

/* Hook: a run of the batch reached a final status. */
static void
batch_ended(struct schedule *s, struct run *r)
{
	struct batch		*b = (struct batch *)s;
	enum batch_op_state	 st;
	uint32_t		 i;
	char			 buf[32];

	if (r->number == 0 || r->number > b->nops ||
	    b->ops[r->number - 1].state != BOP_RUNNING) {
		log_warnx("msg=\"batch: unexpected run end\" run=%s", r->id);
		return;
	}
	i = (uint32_t)r->number - 1;
	st = bop_of_status(r->status);
	batch_op_set_state(b, i, st);
	counts_add(&b->c, BOP_RUNNING, -1);
	counts_add(&b->c, st, 1);
	if (r->cost > 0)
		b->spent = money_add(b->spent, r->cost);
	if (st == BOP_SKIPPED && r->reason != NULL && b->reason == NULL &&
	    (strcmp(r->reason, "batch_budget") == 0 ||
	    strcmp(r->reason, "budget") == 0))
		xasprintf(&b->reason, "%s: operations were skipped to stay "
		    "within a cost cap", strcmp(r->reason, "budget") == 0 ?
		    "budget" : "max_cost");
	log_debug("msg=\"batch op ended\" batch=%s op=%s status=%s",
	    b->owner.id, log_escape(batch_op_id(b, i, buf, sizeof buf)),
	    bop_state_names[st]);
	batch_op_ended(b, i, st);
	batch_advance(b);
}

/* Hook: max_cost.  Spent + reserved (ops in flight) + this one's mid. */
static const char *
batch_budget(struct schedule *s, struct run *r)
{
	struct batch	*b = (struct batch *)s;

	if (b->max_cost <= 0)
		return (NULL);
	if (money_add(money_add(b->spent, s->month_reserved),
	    r->estimate.mid) > b->max_cost)
		return ("max_cost");
	return (NULL);
}

/* B ended, its record submitted: its summary is mailed after it when it
 * has a "deliver" that wants its end (email.c). */
static void
batch_deliver(const struct batch *b)
{
	struct email_batch	eb;

	if (b->owner.deliver == NULL)
		return;
	memset(&eb, 0, sizeof eb);
	eb.deliver = b->owner.deliver;
	eb.id = b->owner.id;
	eb.name = b->owner.name;
	eb.account = b->owner.account;
	eb.schedule = b->origin;
	/* It succeeded when every operation completed (its outcome
	 * "succeeded"); one that completed otherwise did not. */
	eb.succeeded = b->bstate == BATCH_COMPLETED &&
	    b->c.completed == b->c.total;
	eb.state = b->bstate == BATCH_COMPLETED && !eb.succeeded ?
	    "completed_with_failures" : batch_state_name(b->bstate);
	eb.reason = b->reason;
	eb.total = b->c.total;
	eb.completed = b->c.completed;
	eb.failed = b->c.failed;
	eb.skipped = b->c.skipped;
	eb.cancelled = b->c.cancelled;
	eb.spent = b->spent;
	eb.finished_us = b->finished_us;
	email_batch_ended(&eb);
}

/* Every operation ended: record the batch's end. */
static void
batch_maybe_finish(struct batch *b)
{
	const struct batch_counts	*c = &b->c;
	struct jrec			*rec;

	if (b->bstate != BATCH_RUNNING || b->advancing || b->loading ||
	    c->completed + c->failed + c->skipped + c->cancelled < c->total)
		return;
	batch_set_state(b, b->reason != NULL ? BATCH_FAILED : BATCH_COMPLETED,
	    0);
	b->finished_us = now_us();
	rec = batch_record(b, b->bstate == BATCH_FAILED ? "batch.failed" :
	    "batch.completed", 0);
	if (b->origin != NULL)
		schedule_batch_ended(b->origin, b->spent, rec);
	journal_group_begin(engine->journal);	/* with its report */
	journal_submit(engine->journal, rec, journal_log_cb, NULL);
	batch_deliver(b);
	journal_group_end(engine->journal);
	log_info("msg=\"batch %s\" batch=%s completed=%u failed=%u skipped=%u "
	    "cancelled=%u", batch_state_name(b->bstate), b->owner.id,
	    c->completed, c->failed, c->skipped, c->cancelled);
}

/* ---- views ------------------------------------------------------------- */

static void
json_set_usd(json_t *o, const char *key, int64_t micro)
{
	char	buf[32];

	json_object_set_new(o, key, json_string(fmt_usd(micro, buf,
	    sizeof buf)));
}

static void
json_set_instant(json_t *o, const char *key, int64_t us)
{
	char	buf[40];

	json_object_set_new(o, key, us > 0 ? json_string(fmt_rfc3339(us, buf,
	    sizeof buf)) : json_null());
}

/* "12/20 ended (10 completed, 1 failed, 1 skipped), 3 running" */
static json_t *
batch_progress(const struct batch *b)
{
	const struct batch_counts	*c = &b->c;
	char				*s;
	json_t				*v;

	xasprintf(&s, "%u/%u ended (%u completed, %u failed, %u skipped, "
	    "%u cancelled), %u running, %s", c->completed + c->failed +
	    c->skipped + c->cancelled, c->total, c->completed, c->failed,
	    c->skipped, c->cancelled, c->running,
	    batch_state_name(b->bstate));
	v = json_string(s);
	free(s);
	return (v);
}

/*
 * How an ended batch went, in a word: "succeeded" (every operation
 * completed), "failed" (none did, some failed), "partial" (some completed,
 * others failed, were skipped or cancelled), "none" (nothing ran); null
 * while it has not ended.  The state says how the batch itself ended.
 */
static json_t *
batch_outcome(const struct batch *b)
{
	const struct batch_counts	*c = &b->c;

	if (b->bstate != BATCH_COMPLETED && b->bstate != BATCH_FAILED &&
	    b->bstate != BATCH_CANCELLED)
		return (json_null());
	if (c->total > 0 && c->completed == c->total)
		return (json_string("succeeded"));
	if (c->completed > 0)
		return (json_string("partial"));
	if (c->failed > 0)
		return (json_string("failed"));
	return (json_string("none"));
}

/* The batch as the control protocol shows it (without its operations). */
json_t *
batch_to_json(const struct batch *b)
{
	const struct batch_counts	*c = &b->c;
	json_t				*o;

	o = json_object();
	json_object_set_new(o, "id", json_string(b->owner.id));
	json_object_set_new(o, "name", json_string(b->owner.name));
	json_object_set_new(o, "description", b->description != NULL ?
	    json_string(b->description) : json_null());
	json_object_set_new(o, "account", json_string(b->owner.account));
	json_object_set_new(o, "deliver", b->owner.deliver != NULL ?
	    json_loads(b->owner.deliver, 0, NULL) : json_null());
	json_object_set_new(o, "schedule", b->origin != NULL ?
	    json_string(b->origin) : json_null());
	json_object_set_new(o, "type", json_string(batch_type_name(b->type)));
	json_object_set_new(o, "state", json_string(batch_state_name(
	    b->bstate)));
	json_object_set_new(o, "outcome", batch_outcome(b));
	json_object_set_new(o, "reason", b->reason != NULL ?
	    json_string(b->reason) : json_null());
	json_object_set_new(o, "priority", json_integer(b->owner.priority));
	json_object_set_new(o, "max_concurrent",
	    json_integer(b->max_concurrent));
	if (b->max_cost > 0)
		json_set_usd(o, "max_cost_usd", b->max_cost);
	else
		json_object_set_new(o, "max_cost_usd", json_null());
	json_object_set_new(o, "stop_on_failure",
	    json_boolean(b->stop_on_failure));
	json_object_set_new(o, "total", json_integer(c->total));
	json_object_set_new(o, "completed", json_integer(c->completed));
	json_object_set_new(o, "failed", json_integer(c->failed));
	json_object_set_new(o, "skipped", json_integer(c->skipped));
	json_object_set_new(o, "cancelled", json_integer(c->cancelled));
	json_object_set_new(o, "running", json_integer(c->running));
	json_object_set_new(o, "pending", json_integer(c->total -
	    c->completed - c->failed - c->skipped - c->cancelled -
	    c->running));
	json_object_set_new(o, "progress", batch_progress(b));
	json_set_usd(o, "estimate_low_usd", b->estimate.low);
	json_set_usd(o, "estimate_mid_usd", b->estimate.mid);
	json_set_usd(o, "estimate_high_usd", b->estimate.high);
	json_set_usd(o, "spent_usd", b->spent);
	json_set_instant(o, "created", b->owner.created_us);
	json_set_instant(o, "started", b->started_us);
	json_set_instant(o, "finished", b->finished_us);
	return (o);
}

/* Details of operation I from its runs row (cost, error, reason...). */
static void
batch_op_details(const struct batch *b, uint32_t i, json_t *o)
{
	msgpack_unpacked	 u;
	json_t			*row;
	void			*val;
	size_t			 len;
	char			 key[160];
	static const char	*keys[] = { "reason", "error", "model",
	    "started_us", "finished_us", "cost_micro", "attempt" };
	size_t			 k;
	json_t			*v;

	run_row_key(b->owner.id, i + 1, key, sizeof key);
	if (engine == NULL || engine->journal == NULL ||
	    journal_table_get(engine->journal, "runs", key, strlen(key), &val,
	    &len) == -1)
		return;
	if (unpack_buffer(val, len, &u) == 0) {
		row = record_object_to_json(&u.data);
		for (k = 0; k < sizeof keys / sizeof keys[0]; k++) {
			if ((v = json_object_get(row, keys[k])) != NULL)
				json_object_set(o, keys[k], v);
		}
		if (json_integer_value(json_object_get(row, "cost_micro")) >= 0
		    && json_object_get(row, "cost_micro") != NULL)
			json_set_usd(o, "cost_usd", json_integer_value(
			    json_object_get(row, "cost_micro")));
		json_object_del(o, "cost_micro");
		json_decref(row);
		msgpack_unpacked_destroy(&u);
	}
	free(val);
}

/*
 * Operations FROM .. FROM+LIMIT of B: local id, operation, status, run id,
 * and (DETAILS) what their runs rows say.
 */
json_t *
batch_ops_json(const struct batch *b, uint32_t from, uint32_t limit,
    int details)
{
	const struct batch_op	*op;
	json_t			*a = json_array(), *o;
	uint32_t		 i;
	char			 run_id[160], buf[32];

	for (i = from; i < b->nops && i - from < limit; i++) {
		op = &b->ops[i];
		o = json_object();
		json_object_set_new(o, "n", json_integer(i + 1));
		json_object_set_new(o, "id", json_string(batch_op_id(b, i, buf,
		    sizeof buf)));
		json_object_set_new(o, "operation", json_string(op->operation));
		json_object_set_new(o, "status",
		    json_string(bop_state_names[op->state]));
		if (op->state != BOP_WAITING) {
			snprintf(run_id, sizeof run_id, "%s:%u", b->owner.id,
			    i + 1);
			json_object_set_new(o, "run_id", json_string(run_id));
			if (details)
				batch_op_details(b, i, o);
		}
		json_array_append_new(a, o);
	}
	return (a);
}

struct batch_list_ctx {
	const struct caller	*caller;
	const char		*account;
	struct batch		**v;
	size_t			  n;
};

static void
batch_list_node(struct strmap_node *node, void *arg)
{
	struct batch_list_ctx	*ctx = arg;
	struct batch		*b = BATCH_OF(node);
	struct account		*a;

	if (ctx->account != NULL && strcmp(ctx->account, b->owner.account) != 0)
		return;
	if (ctx->account == NULL && !ctx->caller->admin &&
	    ((a = account_find(b->owner.account)) == NULL ||
	    !account_allows(a, ctx->caller)))
		return;
	ctx->v = xreallocarray(ctx->v, ctx->n + 1, sizeof *ctx->v);
	ctx->v[ctx->n++] = b;
}

static int
batch_cmp_created(const void *x, const void *y)
{
	const struct batch	*a = *(struct batch *const *)x;
	const struct batch	*b = *(struct batch *const *)y;

	if (a->owner.created_us != b->owner.created_us)
		return (a->owner.created_us < b->owner.created_us ? -1 : 1);
	return (strcmp(a->owner.id, b->owner.id));
}

/* Batches visible to CALLER (of ACCOUNT if given), oldest first. */
json_t *
batch_list(const struct caller *caller, const char *account)
{
	struct batch_list_ctx	 ctx;
	json_t			*a = json_array();
	size_t			 i;

	memset(&ctx, 0, sizeof ctx);
	ctx.caller = caller;
	ctx.account = account;
	if (by_id.nbuckets != 0)
		strmap_foreach(&by_id, batch_list_node, &ctx);
	if (ctx.n > 0)
		xqsort(ctx.v, ctx.n, sizeof *ctx.v, batch_cmp_created);
	for (i = 0; i < ctx.n; i++)
		json_array_append_new(a, batch_to_json(ctx.v[i]));
	free(ctx.v);
	return (a);
}

struct batch_counts_ctx {
	const struct caller	*caller;
	struct schedule_counts	*counts;
};

static void
batch_counts_node(struct strmap_node *node, void *arg)
{
	struct batch_counts_ctx	*ctx = arg;
	struct batch		*b = BATCH_OF(node);
	struct account		*a;

	if ((a = account_find(b->owner.account)) != NULL &&
	    account_allows(a, ctx->caller))
		schedule_count_runs(&b->owner, ctx->counts);
}

/* Add the runs in flight of the batches of the accounts CALLER may act
 * for to C. */
void
batch_counts_for(const struct caller *caller, struct schedule_counts *c)
{
	struct batch_counts_ctx	ctx = { caller, c };

	if (by_id.nbuckets != 0)
		strmap_foreach(&by_id, batch_counts_node, &ctx);
}

/* ---- control operations ------------------------------------------------ */

static struct batch_req *
batch_req_new(struct reply *req, struct batch *b, int kind)
{
	struct batch_req	*br;

	br = xcalloc(1, sizeof *br);
	br->req = req;
	br->b = b;
	br->kind = kind;
	batch_hold(b);
	return (br);
}

static void
batch_req_free(struct batch_req *br)
{
	batch_release(br->b);
	free(br);
}

static int
batch_req_failed(struct batch_req *br, const struct journal_result *res)
{
	if (res->status == JOURNAL_OK)
		return (0);
	if (br->req != NULL && res->status == JOURNAL_DUPLICATE)
		reply_fail(br->req, REPLY_CONFLICT, "already recorded", NULL,
		    NULL);
	else if (br->req != NULL)
		outcome_journal(br->req, res);
	return (1);
}

static int
batch_busy(struct reply *req, struct batch *b)
{
	if (!b->busy)
		return (0);
	reply_fail(req, REPLY_CONFLICT, "another change to this batch is "
	    "being recorded; try again", "id", "busy");
	return (1);
}

/* Saturating A * N for money. */
static int64_t
money_mul(int64_t a, uint32_t n)
{
	int64_t	r;

	if (__builtin_mul_overflow(a, (int64_t)n, &r))
		return (INT64_MAX);
	return (r);
}

/* The estimate of B: the sum over its operations of one run's range, as
 * dispatch would price it now (account preferences, observed usage). */
void
batch_estimate(struct batch *b)
{
	struct schedule		 tmp;
	struct cost_range	 one;
	const char		*src, *model;
	uint32_t		 i, k, n;
	int			 samples;

	memset(&b->estimate, 0, sizeof b->estimate);
	for (k = 0; k < b->nnames; k++) {
		for (i = n = 0; i < b->nops; i++)
			if (b->ops[i].operation == b->names[k])
				n++;
		memset(&tmp, 0, sizeof tmp);
		tmp.operation = b->names[k];
		tmp.account = b->owner.account;
		if (dispatch_estimate(&tmp, &one, &src, &samples, &model) == -1)
			continue;
		b->estimate.low = money_add(b->estimate.low,
		    money_mul(one.low, n));
		b->estimate.mid = money_add(b->estimate.mid,
		    money_mul(one.mid, n));
		b->estimate.high = money_add(b->estimate.high,
		    money_mul(one.high, n));
	}
}

static void
batch_started_cb(const struct journal_result *res, void *arg)
{
	struct batch_req	*br = arg;
	struct batch		*b = br->b;

	if (batch_req_failed(br, res)) {
		batch_set_state(b, BATCH_DRAFT, 1);
		b->started_us = 0;
		batch_req_free(br);
		return;
	}
	log_info("msg=\"batch started\" batch=%s operations=%u type=%s",
	    b->owner.id, b->nops, batch_type_name(b->type));
	batch_prepare(b);
	batch_advance(b);
	if (br->req != NULL)
		reply_ok(br->req, batch_to_json(b));
	batch_req_free(br);
}

/* Journal B's start; answer REQ (may be NULL) once it is durable. */
void
batch_start(struct reply *req, struct batch *b)
{
	batch_set_state(b, BATCH_RUNNING, 0);
	b->started_us = now_us();
	journal_submit(engine->journal, batch_record(b, "batch.started", 0),
	    batch_started_cb, batch_req_new(req, b, BREQ_START));
}

static void
batch_created_cb(const struct journal_result *res, void *arg)
{
	struct batch_req	*br = arg;
	struct batch		*b = br->b;

	if (batch_req_failed(br, res)) {
		/* batch.started, right behind, fails too and answers. */
		batch_forget(b);
		batch_req_free(br);
		return;
	}
	log_info("msg=\"batch created\" batch=%s name=\"%s\" account=%s "
	    "operations=%u", b->owner.id, log_escape(b->owner.name),
	    b->owner.account, b->nops);
	if (br->req != NULL)
		reply_ok(br->req, batch_to_json(b));
	batch_req_free(br);
}

/*
 * batch.create: validate the definition O for ACCOUNT (its one operation
 * REPEAT times if REPEAT > 1; nothing is written
 * if anything is wrong), journal batch.created (with the definition), then
 * batch.started unless DRAFT; REQ is answered once the last is durable.
 */
void
batch_ctl_create(struct reply *req, json_t *o, const char *account,
    uint32_t repeat, int draft)
{
	struct batch		*b;
	struct batch_req	*br;
	char			*field, *reason;

	if ((b = batch_parse(o, account, engine->catalog, repeat, &field,
	    &reason)) == NULL) {
		reply_invalid(req, field, reason);
		free(field);
		free(reason);
		return;
	}
	batch_enroll(b);
	br = batch_req_new(draft ? req : NULL, b, draft ? BREQ_CREATE :
	    BREQ_START);
	journal_submit(engine->journal, batch_record(b, "batch.created", 1),
	    batch_created_cb, br);
	if (!draft) {
		/* Recorded right behind batch.created; answered from its
		 * callback (callbacks run in seq order). */
		batch_start(req, b);
	}
}

/* batch.start: a draft starts. */
void
batch_ctl_start(struct reply *req, struct batch *b)
{
	if (batch_busy(req, b))
		return;
	if (b->bstate != BATCH_DRAFT) {
		reply_fail(req, REPLY_CONFLICT, "only a draft batch can be "
		    "started", "id", batch_state_name(b->bstate));
		return;
	}
	batch_start(req, b);
}

static void
batch_cancelled_cb(const struct journal_result *res, void *arg)
{
	struct batch_req	*br = arg;

	if (!batch_req_failed(br, res))
		reply_ok(br->req, batch_to_json(br->b));
	batch_req_free(br);
}

/*
 * batch.cancel: operations not begun are skipped (reason "cancelled");
 * running ones finish, or with ABORT are stopped; the batch ends
 * cancelled with REASON.  An ended batch is an error that changes nothing.
 */
void
batch_ctl_cancel(struct reply *req, struct batch *b, const char *reason,
    int abort)
{
	struct run	*r, *next;
	struct jrec	*rec;

	if (batch_busy(req, b))
		return;
	if (batch_final(b)) {
		reply_fail(req, REPLY_CONFLICT, "the batch has ended", "id",
		    batch_state_name(b->bstate));
		return;
	}
	batch_set_state(b, BATCH_CANCELLED, 0);
	b->finished_us = now_us();
	free(b->reason);
	b->reason = xstrdup(reason != NULL ? reason : "cancelled");
	batch_skip_waiting(b, "cancelled");
	if (abort) {
		for (r = TAILQ_FIRST(&b->owner.runs); r != NULL; r = next) {
			next = TAILQ_NEXT(r, entry);
			dispatch_run_abort(r, "batch cancelled");
		}
	}
	log_info("msg=\"batch cancelled\" batch=%s abort=%d reason=\"%s\"",
	    b->owner.id, abort, log_escape(b->reason));
	rec = batch_record(b, "batch.cancelled", 0);
	if (b->origin != NULL)
		schedule_batch_ended(b->origin, b->spent, rec);
	journal_group_begin(engine->journal);	/* with its report */
	journal_submit(engine->journal, rec, batch_cancelled_cb,
	    batch_req_new(req, b, BREQ_CANCEL));
	batch_deliver(b);
	journal_group_end(engine->journal);
}

struct del_ctx {
	struct jrec	*rec;
	const char	*table;
};

static int
batch_del_row_cb(const struct journal_row *row, void *arg)
{
	struct del_ctx	*ctx = arg;

	jrec_del(ctx->rec, ctx->table, row->key, row->klen);
	return (0);
}

static void
batch_deleted_cb(const struct journal_result *res, void *arg)
{
	struct batch_req	*br = arg;
	struct batch		*b = br->b;

	if (!batch_req_failed(br, res)) {
		log_info("msg=\"batch deleted\" batch=%s", b->owner.id);
		reply_ok(br->req, json_pack("{s:s, s:b}", "id", b->owner.id,
		    "deleted", 1));
		batch_forget(b);
	}
	batch_req_free(br);
}

/* The body of batch.deleted: which batch went. */
static void
batch_pack_deleted(msgpack_packer *pk, const void *arg)
{
	const struct batch	*b = arg;

	pack_kstr(pk, "id", b->owner.id);
	pack_kstr(pk, "name", b->owner.name);
}

/* batch.delete: an ended (or draft) batch and its rows go; its records
 * stay in the log. */
void
batch_ctl_delete(struct reply *req, struct batch *b)
{
	struct del_ctx	 ctx;
	char		 prefix[64];

	if (batch_busy(req, b))
		return;
	if ((!batch_final(b) && b->bstate != BATCH_DRAFT) || b->c.running > 0) {
		reply_fail(req, REPLY_CONFLICT, "only an ended or draft batch "
		    "with nothing running can be deleted", "id",
		    batch_state_name(b->bstate));
		return;
	}
	ctx.rec = jrec_create("batch.deleted", b->owner.account);
	pack_map_counted(jrec_body(ctx.rec), batch_pack_deleted, b);
	jrec_del(ctx.rec, "batches", b->owner.id, strlen(b->owner.id));
	snprintf(prefix, sizeof prefix, "%s:", b->owner.id);
	ctx.table = "batch_ops";
	(void)journal_table_foreach(engine->journal, "batch_ops", prefix,
	    strlen(prefix), 0, batch_del_row_cb, &ctx);
	ctx.table = "runs";
	(void)journal_table_foreach(engine->journal, "runs", prefix,
	    strlen(prefix), 0, batch_del_row_cb, &ctx);
	journal_submit(engine->journal, ctx.rec, batch_deleted_cb,
	    batch_req_new(req, b, BREQ_DELETE));
}

/* ---- loading ----------------------------------------------------------- */

enum brow_key {
	BK_ID, BK_NAME, BK_DESC, BK_ACCOUNT, BK_TYPE, BK_STATE, BK_REASON,
	BK_PRIORITY, BK_MAXC, BK_MAXCOST, BK_STOP, BK_EST, BK_CREATED,
	BK_STARTED, BK_FINISHED, BK_SCHEDULE, BK_DELIVER, BK_MAX
};
static const char *const brow_keys[BK_MAX] = {
	"id", "name", "description", "account", "type", "state", "reason",
	"priority", "max_concurrent", "max_cost_micro", "stop_on_failure",
	"estimate_micro", "created_us", "started_us", "finished_us",
	"schedule", "deliver"
};

static struct batch *
batch_unpack(const msgpack_object *o)
{
	const msgpack_object	*v[BK_MAX];
	struct batch		*b;
	char			*s;
	int			 i;

	unpack_index(o, brow_keys, BK_MAX, v);
	b = batch_create();
	b->owner.id = unpack_val_strdup(v[BK_ID]);
	b->owner.name = unpack_val_strdup(v[BK_NAME]);
	b->owner.account = unpack_val_strdup(v[BK_ACCOUNT]);
	b->origin = unpack_val_strdup(v[BK_SCHEDULE]);
	if (b->owner.id == NULL || b->owner.name == NULL ||
	    b->owner.account == NULL) {
		batch_free(b);
		return (NULL);
	}
	b->description = unpack_val_strdup(v[BK_DESC]);
	b->owner.deliver = unpack_val_strdup(v[BK_DELIVER]);
	b->reason = unpack_val_strdup(v[BK_REASON]);
	s = unpack_val_strdup(v[BK_TYPE]);
	i = batch_type_index(s);
	b->type = i == -1 ? BATCH_PARALLEL : (uint8_t)i;
	free(s);
	s = unpack_val_strdup(v[BK_STATE]);
	i = batch_state_index(s);
	batch_set_state(b, i == -1 ? BATCH_FAILED : (enum batch_state)i, 0);
	free(s);
	b->owner.priority = (uint8_t)unpack_val_int(v[BK_PRIORITY], 5);
	b->max_concurrent = (uint32_t)unpack_val_int(v[BK_MAXC],
	    BATCH_DEFAULT_CONCURRENT);
	b->max_cost = unpack_val_int(v[BK_MAXCOST], 0);
	b->stop_on_failure = v[BK_STOP] != NULL &&
	    v[BK_STOP]->type == MSGPACK_OBJECT_BOOLEAN && v[BK_STOP]->via.boolean;
	b->estimate.low = unpack_int(v[BK_EST], "low", 0);
	b->estimate.mid = unpack_int(v[BK_EST], "mid", 0);
	b->estimate.high = unpack_int(v[BK_EST], "high", 0);
	b->owner.created_us = unpack_val_int(v[BK_CREATED], 0);
	b->started_us = unpack_val_int(v[BK_STARTED], 0);
	b->finished_us = unpack_val_int(v[BK_FINISHED], 0);
	return (b);
}

static char *
obj_strdup(const msgpack_object *o)
{
	if (o->type != MSGPACK_OBJECT_STR)
		return (NULL);
	return (xstrndup(o->via.str.ptr, o->via.str.size));
}

/* One batch_ops row: up to BATCH_OPS_CHUNK operations from FIRST. */
static int
batch_ops_row_cb(const struct journal_row *row, void *arg)
{
	struct batch		*b = arg;
	msgpack_unpacked	 u;
	const msgpack_object	*a, *e, *d;
	struct batch_op		*op;
	const char		*colon;
	char			*name, buf[32];
	uint32_t		 i, j, k, first;

	colon = memchr(row->key, ':', row->klen);
	if (colon == NULL || unpack_buffer(row->val, row->vlen, &u) == -1)
		return (0);
	first = (uint32_t)strtoul(colon + 1, NULL, 10) * BATCH_OPS_CHUNK;
	a = &u.data;
	for (k = 0; a->type == MSGPACK_OBJECT_ARRAY && k < a->via.array.size;
	    k++) {
		i = first + k;
		e = &a->via.array.ptr[k];
		if (i >= b->nops || e->type != MSGPACK_OBJECT_ARRAY ||
		    e->via.array.size != 6)
			continue;
		op = &b->ops[i];
		op->local_id = obj_strdup(&e->via.array.ptr[0]);
		snprintf(buf, sizeof buf, "op-%u", i + 1);
		if (op->local_id != NULL && strcmp(op->local_id, buf) == 0) {
			free(op->local_id);
			op->local_id = NULL;
		}
		name = obj_strdup(&e->via.array.ptr[1]);
		op->operation = batch_intern(b, name != NULL ? name : "");
		free(name);
		op->parameters = obj_strdup(&e->via.array.ptr[2]);
		if (op->parameters != NULL && strcmp(op->parameters,
		    "{}") == 0) {
			free(op->parameters);
			op->parameters = NULL;
		}
		op->order = (int32_t)e->via.array.ptr[3].via.i64;
		op->rule = (uint8_t)e->via.array.ptr[4].via.u64;
		d = &e->via.array.ptr[5];
		if (d->type == MSGPACK_OBJECT_ARRAY && d->via.array.size > 0) {
			op->deps = xcalloc(d->via.array.size, sizeof *op->deps);
			for (j = 0; j < d->via.array.size; j++) {
				if (d->via.array.ptr[j].via.u64 < b->nops)
					op->deps[op->ndeps++] = (uint32_t)
					    d->via.array.ptr[j].via.u64;
			}
		}
	}
	msgpack_unpacked_destroy(&u);
	return (0);
}

/* One runs row of the batch: the outcome of its operation. */
static int
batch_run_row_cb(const struct journal_row *row, void *arg)
{
	struct batch		*b = arg;
	msgpack_unpacked	 u;
	enum run_status		 st;
	enum batch_op_state	 bst;
	char			*s;
	int64_t			 n, cost;

	if (unpack_buffer(row->val, row->vlen, &u) == -1)
		return (0);
	n = unpack_int(&u.data, "number", 0);
	s = unpack_strdup(&u.data, "status");
	if (n >= 1 && n <= b->nops && s != NULL &&
	    run_status_parse(s, &st) == 0 &&
	    b->ops[n - 1].state == BOP_WAITING) {
		bst = bop_of_status(st);
		batch_op_set_state(b, n - 1, bst);
		counts_add(&b->c, bst, 1);
		cost = unpack_int(&u.data, "cost_micro", -1);
		if (run_status_final(st) && cost > 0)
			b->spent = money_add(b->spent, cost);
	}
	free(s);
	msgpack_unpacked_destroy(&u);
	return (0);
}

/* Load B's definition and its operations' outcomes. */
static int
batch_load_ops(struct journal *j, struct batch *b, int64_t nops)
{
	char		prefix[64];
	uint32_t	i;

	if (nops < 1 || nops > BATCH_MAX_OPS)
		return (-1);
	b->nops = (uint32_t)nops;
	b->ops = xcalloc(b->nops, sizeof *b->ops);
	snprintf(prefix, sizeof prefix, "%s:", b->owner.id);
	if (journal_table_foreach(j, "batch_ops", prefix, strlen(prefix), 0,
	    batch_ops_row_cb, b) == -1)
		return (-1);
	for (i = 0; i < b->nops; i++)
		if (b->ops[i].operation == NULL)
			return (-1);
	b->c.total = b->nops;
	if (journal_table_foreach(j, "runs", prefix, strlen(prefix), 0,
	    batch_run_row_cb, b) == -1)
		return (-1);
	batch_build_rev(b);
	return (0);
}

struct batch_load_ctx {
	struct journal	*j;
	size_t		 n;
	size_t		 bad;
};

static int
batch_row_cb(const struct journal_row *row, void *arg)
{
	struct batch_load_ctx	*ctx = arg;
	msgpack_unpacked	 u;
	struct batch		*b;
	int64_t			 nops;

	if (unpack_buffer(row->val, row->vlen, &u) == -1) {
		ctx->bad++;
		return (0);
	}
	b = batch_unpack(&u.data);
	nops = unpack_int(&u.data, "total", 0);
	msgpack_unpacked_destroy(&u);
	if (b == NULL) {
		ctx->bad++;
		return (0);
	}
	if (batch_load_ops(ctx->j, b, nops) == -1) {
		log_warnx("msg=\"batch definition unreadable\" batch=%s",
		    b->owner.id);
		batch_free_ops(b);
		b->c.total = 0;
		if (!batch_final(b)) {
			batch_set_state(b, BATCH_FAILED, 0);
			free(b->reason);
			b->reason = xstrdup("the batch's definition could "
			    "not be read at start");
		}
	}
	batch_register(b);
	ctx->n++;
	if (b->bstate == BATCH_RUNNING) {
		b->loading = 1;
		actor_post(&b->owner.actor, MSG_BATCH_RESUME, 0);
	}
	return (0);
}

/*
 * Recovery, before schedule_load_all: load every batch and its
 * operations' outcomes, and register batches with dispatch as an owner
 * kind (dispatch_recover_runs finds them by id; schedules fire their
 * templates).  Running batches resume (launch what is launchable) from
 * the loop, once recovery settled their runs in flight.
 */
int
batch_load_all(struct journal *j, char **cause)
{
	struct batch_load_ctx	ctx;

	if (by_id.nbuckets == 0)
		strmap_init(&by_id);
	dispatch_set_owner_kind(&batch_owner_kind);
	memset(&ctx, 0, sizeof ctx);
	ctx.j = j;
	if (journal_table_foreach(j, "batches", NULL, 0, 0, batch_row_cb,
	    &ctx) == -1) {
		*cause = xstrdup("cannot read the batches table");
		return (-1);
	}
	log_info("msg=\"batches loaded\" batches=%zu unreadable=%zu", ctx.n,
	    ctx.bad);
	return (0);
}

static void
batch_free_node(struct strmap_node *n, void *arg)
{
	struct batch	*b = BATCH_OF(n);

	dispatch_forget_runs(&b->owner);
	actor_unref(&b->owner.actor);
}

/* At exit: every batch (runs in flight are dropped unrecorded). */
void
batch_free_all(void)
{
	if (by_id.nbuckets == 0)
		return;
	strmap_foreach(&by_id, batch_free_node, NULL);
	strmap_clear(&by_id);
	dispatch_set_owner_kind(NULL);
}
