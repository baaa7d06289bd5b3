/*
 * engine/reply.c: transport-neutral answers.  The domain (actors/) answers
 * a request through a struct reply without knowing who asked: a control
 * request over the socket, an HTTP request, a webhook delivery.  Each
 * transport embeds one struct reply in its request, fills in its caller,
 * and maps the kinds of failure to its own codes (JSON-RPC codes in
 * ctl/server.c, HTTP statuses in chimed/) in one place.  A reply is
 * answered exactly once; answering frees what the transport holds for it.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "engine.h"

static const char *const reply_kind_names[REPLY_KIND_MAX] = {
	"invalid", "not_found", "conflict", "forbidden", "budget",
	"overloaded", "unavailable", "internal"
};

/* The kind's name ("not_found"), for logs and tests. */
const char *
reply_kind_name(enum reply_kind kind)
{
	if ((unsigned)kind >= REPLY_KIND_MAX)
		return ("internal");
	return (reply_kind_names[kind]);
}

/* Answer R with RESULT (stolen; NULL: an empty object). */
void
reply_ok(struct reply *r, json_t *result)
{
	if (result == NULL)
		result = json_object();
	r->ops->ok(r, result);
}

/* Refuse R: KIND, MESSAGE, and DATA (stolen; NULL: none). */
void
reply_fail_data(struct reply *r, enum reply_kind kind, const char *message,
    json_t *data)
{
	r->ops->fail(r, kind, message, data);
}

/* Refuse R: KIND and MESSAGE; FIELD and REASON (both or neither) name the
 * parameter at fault and why. */
void
reply_fail(struct reply *r, enum reply_kind kind, const char *message,
    const char *field, const char *reason)
{
	json_t	*data = NULL;

	if (field != NULL || reason != NULL) {
		data = json_object();
		if (field != NULL)
			json_object_set_new(data, "field", json_string(field));
		if (reason != NULL)
			json_object_set_new(data, "reason",
			    json_string(reason));
	}
	r->ops->fail(r, kind, message, data);
}

/* Refuse R as invalid: parameter FIELD, because REASON. */
void
reply_invalid(struct reply *r, const char *field, const char *reason)
{
	reply_fail(r, REPLY_INVALID, "invalid params", field, reason);
}

/* Refuse R for the reasons in F. */
void
reply_refuse(struct reply *r, const struct refusal *f)
{
	reply_fail(r, f->kind, f->message, f->field, f->reason);
}

/*
 * Refuse R for the reasons in F, though what it asked for is recorded as
 * RECORD (stolen): a run that did not start (skipped by a budget, failed
 * for the catalog).  A transport that answers a delivery once it is
 * recorded (an inbound webhook: ops->recorded) answers RECORD; the others
 * refuse.
 */
void
reply_refuse_recorded(struct reply *r, const struct refusal *f,
    json_t *record)
{
	if (r->ops->recorded != NULL) {
		r->ops->recorded(r, record);
		return;
	}
	json_decref(record);
	reply_refuse(r, f);
}

/* Who asked (borrowed, valid until R is answered). */
const struct caller *
reply_caller(const struct reply *r)
{
	return (&r->caller);
}

/* Is the one who asked still there, waiting for the answer? */
int
reply_waiting(struct reply *r)
{
	return (r->ops->waiting == NULL || r->ops->waiting(r));
}
