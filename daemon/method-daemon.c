/*
 * daemon/method-daemon.c: the handlers of daemon.* methods: status and
 * catalog reload.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "engine.h"
#include "journal.h"
#include "actors.h"
#include "ctl.h"
#include "daemon.h"

static json_t	*method_daemon_catalog(void);
static void	 method_daemon_offer(json_t *);
static json_t	*method_daemon_journal(void);
static json_t	*method_daemon_chain(void);
static json_t	*method_daemon_time(int64_t);
static json_t	*method_daemon_common(const struct schedule_counts *);
static void	 method_daemon_tenant(struct ctl_req *);

/* {"source","operations","models"} of the current catalog, or null. */
static json_t *
method_daemon_catalog(void)
{
	struct catalog	*c = engine->catalog;

	if (c == NULL)
		return (json_null());
	return (json_pack("{s:s,s:I,s:I}", "source", c->source != NULL ?
	    c->source : "", "operations", (json_int_t)c->nops, "models",
	    (json_int_t)c->nmodels));
}

/*
 * What a schedule may name, for every caller (a form's choices): the
 * catalog's "operations" ({"id", "description", "default_model"}) and
 * "models" ({"id", "description"}), by id, set on RESULT; no commands,
 * addresses or prices of the host.
 */
static void
method_daemon_offer(json_t *result)
{
	struct catalog	*c = engine->catalog;
	json_t		*ops, *models;
	size_t		 i;

	ops = json_array();
	models = json_array();
	for (i = 0; c != NULL && i < c->nops; i++)
		json_array_append_new(ops, json_pack("{s:s, s:s?, s:s}",
		    "id", c->ops[i].id, "description", c->ops[i].description,
		    "default_model", c->ops[i].default_model));
	for (i = 0; c != NULL && i < c->nmodels; i++)
		json_array_append_new(models, json_pack("{s:s, s:s?}",
		    "id", c->models[i].id, "description",
		    c->models[i].description));
	json_object_set_new(result, "operations", ops);
	json_object_set_new(result, "models", models);
}

/* An instant as RFC 3339, or null for 0. */
static json_t *
method_daemon_time(int64_t us)
{
	char	buf[64];

	if (us == 0)
		return (json_null());
	return (json_string(fmt_rfc3339(us, buf, sizeof buf)));
}

/*
 * The chain's check: {"ok", "verified_seq", "broken_seq", "reason",
 * "found_by", "found", "scrub": {"interval_s", "last", "next", "running",
 * "at_seq", "to_seq", "scrubs"}}; unknowns are null.
 */
static json_t *
method_daemon_chain(void)
{
	struct journal_chain	c;
	struct scrub_status	st;
	json_t			*o, *sc;

	journal_chain(engine->journal, &c);
	scrub_status(engine->journal, &st);
	sc = json_pack("{s:I,s:o,s:o,s:b,s:o,s:o,s:I}",
	    "interval_s", (json_int_t)(st.interval_us / USEC_PER_SEC),
	    "last", method_daemon_time(c.scrubbed_us),
	    "next", method_daemon_time(st.next_us),
	    "running", st.running,
	    "at_seq", st.running ? json_integer((json_int_t)st.at_seq) :
	    json_null(),
	    "to_seq", st.running ? json_integer((json_int_t)st.to_seq) :
	    json_null(),
	    "scrubs", (json_int_t)st.scrubs);
	o = json_pack("{s:b,s:I,s:o,s:o,s:o,s:o,s:o}",
	    "ok", c.broken_seq == 0,
	    "verified_seq", (json_int_t)c.verified_seq,
	    "broken_seq", c.broken_seq != 0 ?
	    json_integer((json_int_t)c.broken_seq) : json_null(),
	    "reason", c.broken_reason != NULL ?
	    json_string(c.broken_reason) : json_null(),
	    "found_by", c.found_by != NULL ? json_string(c.found_by) :
	    json_null(),
	    "found", method_daemon_time(c.found_us),
	    "scrub", sc);
	return (o);
}

/* The journal's figures, or null when there is none (yet). */
static json_t *
method_daemon_journal(void)
{
	struct journal_stats	st;
	uint8_t			head[JOURNAL_HASH_LEN];
	char			hex[65];

	if (engine->journal == NULL)
		return (json_null());
	journal_head(engine->journal, head);
	chain_hex(head, hex);
	journal_stats(engine->journal, &st);
	return (json_pack("{s:I,s:s,s:I,s:I,s:I,s:I,s:o}",
	    "seq", (json_int_t)journal_seq(engine->journal),
	    "head", hex,
	    "pending", (json_int_t)journal_pending(engine->journal),
	    "commits", (json_int_t)st.commits,
	    "records", (json_int_t)st.records,
	    "map_size", (json_int_t)st.map_size,
	    "chain", method_daemon_chain()));
}

/*
 * The part every caller sees: version, uptime, start, draining, and the
 * schedules and runs in flight of SC.
 */
static json_t *
method_daemon_common(const struct schedule_counts *sc)
{
	char	started[64];

	fmt_rfc3339(engine->started_us, started, sizeof started);
	return (json_pack("{s:s,s:I,s:s,s:b,s:{s:I,s:I,s:I,s:I},s:{s:I,s:I}}",
	    "version", CHIME_VERSION,
	    "uptime_s", (json_int_t)((now_us() - engine->started_us) /
	    USEC_PER_SEC),
	    "started", started,
	    "draining", engine->draining,
	    "schedules", "total", (json_int_t)sc->total,
	    "active", (json_int_t)sc->active,
	    "paused", (json_int_t)sc->paused,
	    "completed", (json_int_t)sc->completed,
	    "runs", "running", (json_int_t)sc->runs_running,
	    "waiting", (json_int_t)sc->runs_waiting));
}

/*
 * A caller that is not an admin sees the figures of its own accounts
 * only (their names in "accounts"), and nothing of the host or of the
 * journal.
 */
static void
method_daemon_tenant(struct ctl_req *req)
{
	const struct caller	*caller = ctl_req_caller(req);
	struct schedule_counts	 sc;
	json_t			*result, *list, *names, *a;
	size_t			 i;

	memset(&sc, 0, sizeof sc);
	schedule_counts_for(caller, &sc);
	batch_counts_for(caller, &sc);
	result = method_daemon_common(&sc);
	list = account_list(caller);
	names = json_array();
	json_array_foreach(list, i, a)
		json_array_append(names, json_object_get(a, "name"));
	json_decref(list);
	json_object_set_new(result, "accounts", names);
	method_daemon_offer(result);
	ctl_reply(req, result);
}

/* daemon.status: read-only; every figure is a snapshot of this turn. */
static void
method_daemon_status(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	struct schedule_counts	 sc;
	json_t			*result;

	if (!ctl_req_caller(req)->admin) {
		method_daemon_tenant(req);
		return;
	}
	schedule_counts(&sc);
	result = method_daemon_common(&sc);
	json_object_set_new(result, "pid", json_integer((json_int_t)getpid()));
	json_object_set_new(result, "data_dir", json_string(engine->data_dir));
	if (engine->ctl != NULL)
		json_object_set_new(result, "socket",
		    json_string(ctl_server_path(engine->ctl)));
	json_object_set_new(result, "journal", method_daemon_journal());
	json_object_set_new(result, "connections", json_integer(
	    engine->ctl != NULL ? (json_int_t)ctl_server_connections(
	    engine->ctl) : 0));
	json_object_set_new(result, "timers", json_integer(
	    (json_int_t)timer_count()));
	json_object_set_new(result, "catalog", method_daemon_catalog());
	json_object_set_new(result, "config", config_settings_json());
	json_object_set_new(result, "http", httpd_listening() != NULL ?
	    json_pack("{s:s, s:I}", "address", httpd_listening(),
	    "connections", (json_int_t)httpd_connections()) : json_null());
	method_daemon_offer(result);
	ctl_reply(req, result);
}

/*
 * daemon.reload: load and validate the catalog from its source; on error
 * the old catalog stays and the answer is -32602 with field "catalog".
 */
static void
method_daemon_reload(struct ctl_req *req, json_t *params,
    const struct target *t)
{
	char	*cause = NULL;

	if (engine_reload(&cause) != 0) {
		log_warnx("msg=\"catalog reload refused\" uid=%lu error=\"%s\"",
		    (u_long)ctl_req_caller(req)->uid, cause);
		ctl_error_param(req, "catalog", cause != NULL ? cause :
		    "reload failed");
		free(cause);
		return;
	}
	log_info("msg=\"catalog reloaded\" uid=%lu",
	    (u_long)ctl_req_caller(req)->uid);
	ctl_reply(req, json_pack("{s:o}", "catalog", method_daemon_catalog()));
}

const struct daemon_method daemon_methods_daemon[] = {
	{ "daemon.status", method_daemon_status },
	{ "daemon.reload", method_daemon_reload },
	{ NULL, NULL }
};
