/*
 * actors/recover.c: runs a crash or a stop left in flight.  At start, every
 * row of the "active" table is a run that began and did not end: a pending
 * one waits for a slot again (one claimed ahead of an instant still to
 * come waits for that instant first); a running one (its execution may
 * have run) is run again within its retry policy if its operation is
 * idempotent, else ends "interrupted"; one whose operation left the
 * catalog ends; an active row whose owner is gone is settled alone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

/* ---- recovery ---------------------------------------------------------- */

struct recover_ctx {
	struct run	**v;
	size_t		  n;
	size_t		  cap;
	char		**orphans;	/* active keys with no schedule */
	size_t		  norphans;
};

static void
civil_parse(const char *s, struct civil *c)
{
	memset(c, 0, sizeof *c);
	if (s != NULL)
		sscanf(s, "%d-%d-%dT%d:%d:%d", &c->year, &c->month, &c->day,
		    &c->hour, &c->minute, &c->second);
}

/* Rebuild a run in flight from its row. */
static struct run *
run_unpack(const msgpack_object *o)
{
	struct schedule		*s;
	struct run		*r;
	const msgpack_object	*est;
	char			*sid, *v;
	enum run_status		 st;

	if ((sid = unpack_strdup(o, "schedule")) == NULL)
		return (NULL);
	s = dispatch_owner_find(sid);
	free(sid);
	if (s == NULL || s->state == SCHEDULE_DELETED)
		return (NULL);
	r = run_create(s, (uint64_t)unpack_int(o, "number", 0));
	v = unpack_strdup(o, "status");
	if (v == NULL || run_status_parse(v, &st) == -1 ||
	    run_status_final(st)) {
		free(v);
		run_free(r);
		return (NULL);
	}
	free(v);
	run_set_status(r, st);
	v = unpack_strdup(o, "triggered_by");
	r->triggered_by = dispatch_trigger_parse(v);
	free(v);
	r->scheduled_for = unpack_int(o, "scheduled_for_us", 0);
	v = unpack_strdup(o, "nominal_local");
	civil_parse(v, &r->nominal);
	free(v);
	r->created_us = unpack_int(o, "created_us", 0);
	r->started_us = unpack_int(o, "started_us", 0);
	r->waited_us = unpack_int(o, "waited_us", 0);
	r->attempt = (int)unpack_int(o, "attempt", 1);
	est = unpack_get(o, "estimate_micro");
	r->estimate.low = unpack_int(est, "low", 0);
	r->estimate.mid = unpack_int(est, "mid", 0);
	r->estimate.high = unpack_int(est, "high", 0);
	r->model = unpack_strdup(o, "model");
	r->model_id = r->model != NULL ? xstrdup(r->model) : NULL;
	if ((r->operation = unpack_strdup(o, "operation")) == NULL)
		r->operation = xstrdup(s->operation);
	r->estimate_source = "catalog";
	r->idem_key = unpack_strdup(o, "idempotency_key");
	if ((r->parameters = unpack_strdup(o, "parameters")) == NULL)
		r->parameters = xstrdup("{}");
	return (r);
}

static int
active_row_cb(const struct journal_row *row, void *arg)
{
	struct recover_ctx	*ctx = arg;
	msgpack_unpacked	 u;
	void			*val;
	size_t			 len;
	struct run		*r;

	/* No row (its schedule was deleted while it ran): an orphan. */
	if (journal_table_get(engine->journal, "runs", row->key, row->klen,
	    &val, &len) == -1) {
		ctx->orphans = xreallocarray(ctx->orphans, ctx->norphans + 1,
		    sizeof *ctx->orphans);
		ctx->orphans[ctx->norphans++] = xstrndup(row->key, row->klen);
		return (0);
	}
	if (unpack_buffer(val, len, &u) == 0) {
		if ((r = run_unpack(&u.data)) != NULL) {
			if (ctx->n == ctx->cap) {
				ctx->cap = ctx->cap == 0 ? 64 : ctx->cap * 2;
				ctx->v = xreallocarray(ctx->v, ctx->cap,
				    sizeof *ctx->v);
			}
			ctx->v[ctx->n++] = r;
		} else {
			ctx->orphans = xreallocarray(ctx->orphans,
			    ctx->norphans + 1, sizeof *ctx->orphans);
			ctx->orphans[ctx->norphans++] = xstrndup(row->key,
			    row->klen);
		}
		msgpack_unpacked_destroy(&u);
	}
	free(val);
	return (0);
}

/*
 * A run in flight whose schedule is gone (deleted before the crash): its
 * outcome is recorded interrupted, and its rows go.
 */
static void
recover_orphan(const char *key)
{
	struct jrec		*rec;
	const char		*colon = strrchr(key, ':');
	char			*sched = xstrndup(key, colon != NULL ?
				    (size_t)(colon - key) : strlen(key));
	const struct pack_pair	 v[] = {
		PACK_PAIR_STR("row", key),
		PACK_PAIR_STR("schedule", sched),
		PACK_PAIR_STR("status", "interrupted"),
		PACK_PAIR_STR("reason", "schedule deleted"),
		PACK_PAIR_STR("error", "the daemon stopped while the run was "
		    "in flight and its schedule was deleted"),
	};

	rec = jrec_create("run.finished", NULL);
	PACK_MAP(jrec_body(rec), v);
	jrec_del(rec, "active", key, strlen(key));
	jrec_del(rec, "runs", key, strlen(key));
	journal_submit(engine->journal, rec, journal_log_cb, NULL);
	log_info("msg=\"run of a deleted schedule settled\" row=%s", key);
	free(sched);
}

/* Settle one run found in flight at start. */
static void
recover_run(struct run *r)
{
	const struct operation	*op;

	op = catalog_operation(engine->catalog, r->operation);
	run_enlist(r);
	if (op == NULL) {
		free(r->error);
		xasprintf(&r->error, "operation \"%s\" is no longer in the "
		    "catalog", r->operation);
		run_finish(r, r->status == RUN_PENDING ? RUN_FAILED :
		    RUN_INTERRUPTED);
		return;
	}
	if (r->status == RUN_PENDING && r->scheduled_for > now_us()) {
		/* Claimed ahead of an instant still to come. */
		log_info("msg=\"claimed run waits for its instant\" run=%s",
		    r->id);
		r->ahead = 1;
		run_wait_instant(r);
		return;
	}
	if (r->status == RUN_PENDING) {
		log_info("msg=\"pending run resumed\" run=%s", r->id);
		run_want_slot(r);
		return;
	}
	/* Idempotent: run it again, within its retry policy. */
	if (op->idempotent && r->attempt < op->retry.attempts + 1) {
		log_info("msg=\"interrupted run retried\" run=%s attempt=%d",
		    r->id, r->attempt + 1);
		r->attempt++;
		run_set_status(r, RUN_PENDING);
		free(r->error);
		r->error = xstrdup("interrupted by a daemon restart");
		run_submit(r, "run.retrying", NULL, journal_log_cb);
		run_want_slot(r);
		return;
	}
	free(r->error);
	r->error = xstrdup("the daemon stopped while the run was in flight; "
	    "the operation is not idempotent, so it was not run again");
	run_finish(r, RUN_INTERRUPTED);
}

/* Settle every run the journal shows in flight (pending or running). */
int
dispatch_recover_runs(struct journal *j, char **cause)
{
	struct recover_ctx	ctx;
	size_t			i;

	memset(&ctx, 0, sizeof ctx);
	if (journal_table_foreach(j, "active", NULL, 0, 0, active_row_cb,
	    &ctx) == -1) {
		*cause = xstrdup("cannot read the active runs table");
		return (-1);
	}
	for (i = 0; i < ctx.n; i++)
		recover_run(ctx.v[i]);
	for (i = 0; i < ctx.norphans; i++) {
		recover_orphan(ctx.orphans[i]);
		free(ctx.orphans[i]);
	}
	free(ctx.orphans);
	if (ctx.n > 0)
		log_info("msg=\"runs in flight settled\" runs=%zu", ctx.n);
	free(ctx.v);
	return (0);
}

