/*
 * actors/batch-template.c: schedules whose target is a batch.  The
 * schedule keeps a batch definition (a template, JSON text) instead of an
 * operation; each occurrence parses it again and creates and starts one
 * batch from it, named "SCHEDULE@INSTANT", whose batch.created record
 * claims the occurrence (so it is settled once, across crashes) and
 * carries the schedule's progress row.  The schedule counts its batches
 * running for its overlap policy (schedule_batch_started/_ended); at start
 * batch_count_origins counts them again from the loaded batches.
 */
#include <stdlib.h>

#include "actors.h"

static void	batch_fired_cb(const struct journal_result *, void *);
static void	batch_origin_count(struct batch *, void *);

/*
 * Check a schedule's batch template TMPL (JSON text) for ACCOUNT: 0 and
 * the mid estimate of one batch in *MID, or -1 with *FIELD (the path in
 * the template) and *REASON, both allocated.
 */
int
batch_template_check(const char *tmpl, const char *account, char **field,
    char **reason, int64_t *mid)
{
	struct batch	*b;
	json_t		*o;

	if ((o = json_loads(tmpl, 0, NULL)) == NULL) {
		*field = xstrdup("batch");
		*reason = xstrdup("not a JSON object");
		return (-1);
	}
	b = batch_parse(o, account, engine->catalog, 0, field, reason);
	json_decref(o);
	if (b == NULL)
		return (-1);
	b->owner.id = xstrdup("(template)");
	batch_estimate(b);
	*mid = b->estimate.mid;
	batch_free(b);
	return (0);
}

/* batch.created of a fired batch B is recorded (or refused): start B, or
 * forget it. */
static void
batch_fired_cb(const struct journal_result *res, void *arg)
{
	struct batch	*b = arg;

	if (res->status != JOURNAL_OK) {
		/* The occurrence was settled before (or not written): no
		 * batch; the schedule forgets it. */
		log_warnx("msg=\"batch of a schedule not recorded\" batch=%s "
		    "error=\"%s\"", b->owner.id, log_escape(res->error != NULL ?
		    res->error : "occurrence settled before"));
		if (b->origin != NULL)
			schedule_batch_ended(b->origin, 0, NULL);
		batch_forget(b);
		batch_release(b);
		return;
	}
	log_info("msg=\"batch created by a schedule\" batch=%s schedule=%s "
	    "operations=%u", b->owner.id, b->origin, b->nops);
	batch_release(b);
	batch_start(NULL, b);
}

/*
 * Occurrence T of schedule S, whose target is a batch template: create a
 * batch from it (its batch.created record claims the occurrence's key
 * CLAIM and carries S's progress row), and start it once that is durable.
 * -1 with an allocated *cause (nothing written) if the template no longer
 * validates, e.g. an operation left the catalog.
 */
int
batch_fire(struct schedule *s, int64_t t, const char *claim, char **cause)
{
	struct batch	*b;
	struct jrec	*rec;
	json_t		*o;
	char		*field = NULL, *reason = NULL, when[40];

	if ((o = json_loads(s->batch_template, 0, NULL)) == NULL) {
		*cause = xstrdup("the batch template is not JSON");
		return (-1);
	}
	b = batch_parse(o, s->account, engine->catalog, 0, &field, &reason);
	json_decref(o);
	if (b == NULL) {
		xasprintf(cause, "batch template: %s: %s", field, reason);
		free(field);
		free(reason);
		return (-1);
	}
	b->origin = xstrdup(s->id);
	/* The schedule's delivery is its batches'. */
	if (s->deliver != NULL) {
		free(b->owner.deliver);
		b->owner.deliver = xstrdup(s->deliver);
	}
	free(b->owner.name);
	xasprintf(&b->owner.name, "%s@%s", s->name, fmt_rfc3339(t, when,
	    sizeof when));
	batch_enroll(b);
	rec = batch_record(b, "batch.created", 1);
	jrec_claim(rec, claim);
	schedule_put_progress(s, rec);
	batch_hold(b);
	journal_submit(engine->journal, rec, batch_fired_cb, b);
	return (0);
}

static void
batch_origin_count(struct batch *b, void *arg)
{
	if (b->origin != NULL && b->bstate == BATCH_RUNNING)
		schedule_batch_started(b->origin);
}

/* At start, once schedules are loaded: count each schedule's batches. */
void
batch_count_origins(void)
{
	batch_foreach(batch_origin_count, NULL);
}
