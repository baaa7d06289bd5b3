/*
 * actors/run.c: runs.  A run's status moves only through run_set_status,
 * which refuses transitions out of a final status.  A run is encoded the
 * same way in its journal records and in the "runs" table, so that a row
 * read back is the run as its last record left it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

static const char *run_status_names[RUN_STATUS_MAX] = {
	"pending", "running", "success", "failed", "skipped", "missed",
	"interrupted", "cancelled"
};

const char *
run_status_name(enum run_status st)
{
	if ((unsigned)st >= RUN_STATUS_MAX)
		return ("unknown");
	return (run_status_names[st]);
}

int
run_status_parse(const char *s, enum run_status *out)
{
	int	i;

	for (i = 0; i < RUN_STATUS_MAX; i++) {
		if (strcmp(s, run_status_names[i]) == 0) {
			*out = (enum run_status)i;
			return (0);
		}
	}
	return (-1);
}

/* Is ST an end state (the run will not change again)? */
int
run_status_final(enum run_status st)
{
	return (st != RUN_PENDING && st != RUN_RUNNING);
}

/* A new pending run number N of schedule S (not linked anywhere). */
struct run *
run_create(struct schedule *s, uint64_t n)
{
	struct run	*r;

	r = xcalloc(1, sizeof *r);
	r->sched = s;
	r->number = n;
	xasprintf(&r->id, "%s:%llu", s->id, (unsigned long long)n);
	r->status = RUN_PENDING;
	r->created_us = now_us();
	r->attempt = 1;
	r->cost = -1;
	r->input_tokens = r->output_tokens = -1;
	r->priority = s->priority;
	slots_waiter_init(&r->waiter);
	timer_init(&r->retry_timer, &s->actor);
	return (r);
}

/* Note an attempt that ended with RES (started at STARTED). */
void
run_add_attempt(struct run *r, const struct exec_result *res,
    int64_t started)
{
	struct run_attempt	*a;

	if (r->nattempts >= RUN_ATTEMPTS_MAX)
		return;
	r->attempts = xreallocarray(r->attempts, r->nattempts + 1,
	    sizeof *r->attempts);
	a = &r->attempts[r->nattempts++];
	a->started_us = started;
	a->finished_us = now_us();
	a->status = (int)res->status;
	a->http_status = res->http_status;
	a->error = res->error != NULL ? xstrndup(res->error, 512) : NULL;
}

void
run_free(struct run *r)
{
	int	i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nattempts; i++)
		free(r->attempts[i].error);
	free(r->attempts);
	free(r->model_id);
	free(r->operation);
	timer_cancel(&r->retry_timer);
	if (r->catalog != NULL)
		catalog_unref(r->catalog);
	free(r->id);
	free(r->model);
	free(r->result);
	free(r->error);
	free(r->reason);
	free(r->idem_key);
	free(r->parameters);
	free(r);
}

/* The one place a run's status changes; final statuses are final. */
void
run_set_status(struct run *r, enum run_status st)
{
	if (r->status == st)
		return;
	if (run_status_final(r->status))
		fatalx("run %s: status %s -> %s after it ended", r->id,
		    run_status_name(r->status), run_status_name(st));
	log_trace(TRACE_SCHED, "msg=\"run status\" run=%s from=%s to=%s",
	    r->id, run_status_name(r->status), run_status_name(st));
	r->status = st;
}

/* The runs table key: "SCHEDULE:" and the run number in 12 digits, so that
 * a schedule's rows sort by number. */
void
run_row_key(const char *sched, uint64_t n, char *buf, size_t len)
{
	snprintf(buf, len, "%s:%012llu", sched, (unsigned long long)n);
}

/* "SCHEDULE:N" -> schedule id and N; -1 if malformed. */
int
run_id_parse(const char *id, char *sched, size_t len, uint64_t *n)
{
	const char		*colon = strrchr(id, ':');
	char			*end;
	unsigned long long	 v;

	if (colon == NULL || colon == id || (size_t)(colon - id) >= len ||
	    colon[1] < '0' || colon[1] > '9')
		return (-1);
	v = strtoull(colon + 1, &end, 10);
	if (*end != '\0' || v == 0)
		return (-1);
	memcpy(sched, id, colon - id);
	sched[colon - id] = '\0';
	*n = v;
	return (0);
}

static void
pack_kcivil(msgpack_packer *pk, const char *key, const struct civil *c)
{
	char	buf[32];

	snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", c->year,
	    c->month, c->day, c->hour, c->minute, c->second);
	pack_kstr(pk, key, buf);
}

/* The entries of run ARG's map. */
static void
run_pack_entries(msgpack_packer *pk, const void *arg)
{
	const struct run	*r = arg;
	const struct schedule	*s = r->sched;
	const struct pack_pair	 estimate[] = {
		PACK_PAIR_INT("low", r->estimate.low),
		PACK_PAIR_INT("mid", r->estimate.mid),
		PACK_PAIR_INT("high", r->estimate.high),
	};
	const struct pack_pair	 usage[] = {
		PACK_PAIR_INT("input_tokens", r->input_tokens),
		PACK_PAIR_INT("output_tokens", r->output_tokens),
	};
	int			 i;

	pack_kstr(pk, "run_id", r->id);
	pack_kstr(pk, "schedule", s->id);
	pack_kint(pk, "number", (int64_t)r->number);
	pack_kstr(pk, "operation", r->operation != NULL ? r->operation :
	    s->operation);
	pack_kstr(pk, "account", s->account);
	pack_kstr(pk, "status", run_status_name(r->status));
	pack_kstr(pk, "triggered_by", r->triggered_by);
	pack_kint(pk, "scheduled_for_us", r->scheduled_for);
	pack_kcivil(pk, "nominal_local", &r->nominal);
	pack_kstr(pk, "tz", tz_name(s->tz));
	pack_kstr(pk, "dst", dst_tag_name(r->dst));
	pack_kint(pk, "created_us", r->created_us);
	pack_kint(pk, "started_us", r->started_us);
	pack_kint(pk, "finished_us", r->finished_us);
	pack_kint(pk, "waited_us", r->waited_us);
	pack_kint(pk, "attempt", r->attempt);
	pack_str(pk, "estimate_micro");
	PACK_MAP(pk, estimate);
	pack_kint(pk, "cost_micro", r->cost);
	pack_kstr(pk, "model", r->model);
	pack_str(pk, "usage");
	PACK_MAP(pk, usage);
	pack_kstr(pk, "result", r->result);
	pack_kstr(pk, "error", r->error);
	pack_kstr(pk, "reason", r->reason);
	pack_kstr(pk, "idempotency_key", r->idem_key);
	pack_kjson(pk, "parameters", r->parameters);
	pack_kstr(pk, "estimate_source", r->estimate_source);
	pack_kint(pk, "estimate_samples", r->estimate_samples);
	pack_str(pk, "attempts");
	msgpack_pack_array(pk, r->nattempts);
	for (i = 0; i < r->nattempts; i++) {
		const struct run_attempt	*a = &r->attempts[i];
		const struct pack_pair		 v[] = {
			PACK_PAIR_INT("started_us", a->started_us),
			PACK_PAIR_INT("finished_us", a->finished_us),
			PACK_PAIR_STR("status", exec_status_name(a->status)),
			PACK_PAIR_INT("http_status", a->http_status),
			PACK_PAIR_STR("error", a->error),
		};

		PACK_MAP(pk, v);
	}
}

/* The run as one msgpack map (the body of run.* records and its row). */
void
run_pack(const struct run *r, msgpack_packer *pk)
{
	pack_map_counted(pk, run_pack_entries, r);
}

static void
json_set_time(json_t *o, const char *key, json_int_t us)
{
	char	buf[40];

	if (us <= 0)
		json_object_set_new(o, key, json_null());
	else
		json_object_set_new(o, key, json_string(fmt_rfc3339_ms(us, buf,
		    sizeof buf)));
}

static void
json_set_usd(json_t *o, const char *key, json_int_t micro)
{
	char	buf[40];

	if (micro < 0)
		json_object_set_new(o, key, json_null());
	else
		json_object_set_new(o, key, json_string(fmt_usd(micro, buf,
		    sizeof buf)));
}

/*
 * A run row (msgpack) as the protocol shows it: the stored fields, instants
 * also in RFC 3339, money also in USD, the result parsed back to JSON.
 */
json_t *
run_row_to_json(const msgpack_object *o)
{
	json_t		*j, *est, *res;
	json_int_t	 started, finished;

	if ((j = record_object_to_json(o)) == NULL || !json_is_object(j))
		return (j);
	json_set_time(j, "scheduled_for", json_integer_value(json_object_get(j,
	    "scheduled_for_us")));
	started = json_integer_value(json_object_get(j, "started_us"));
	finished = json_integer_value(json_object_get(j, "finished_us"));
	json_set_time(j, "started", started);
	json_set_time(j, "finished", finished);
	if (started > 0 && finished >= started)
		json_object_set_new(j, "latency_ms",
		    json_integer((finished - started) / 1000));
	else
		json_object_set_new(j, "latency_ms", json_null());
	json_object_set_new(j, "waited_ms", json_integer(json_integer_value(
	    json_object_get(j, "waited_us")) / 1000));
	json_set_usd(j, "cost_usd", json_integer_value(json_object_get(j,
	    "cost_micro")));
	est = json_object_get(j, "estimate_micro");
	if (json_is_object(est)) {
		json_t	*usd = json_object();

		json_set_usd(usd, "low", json_integer_value(json_object_get(est,
		    "low")));
		json_set_usd(usd, "mid", json_integer_value(json_object_get(est,
		    "mid")));
		json_set_usd(usd, "high", json_integer_value(json_object_get(
		    est, "high")));
		json_object_set_new(j, "estimate_usd", usd);
	}
	/* One money format in answers: USD strings (null: not known). */
	json_object_del(j, "cost_micro");
	json_object_del(j, "estimate_micro");
	res = json_object_get(j, "parameters");
	if (json_is_string(res)) {
		json_t	*parsed = json_loads(json_string_value(res), 0, NULL);

		if (parsed != NULL)
			json_object_set_new(j, "parameters", parsed);
	}
	res = json_object_get(j, "result");
	if (json_is_string(res)) {
		json_t	*parsed = json_loads(json_string_value(res),
		    JSON_DECODE_ANY, NULL);

		if (parsed != NULL)
			json_object_set_new(j, "result", parsed);
	}
	return (j);
}
