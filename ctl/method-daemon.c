/*
 * ctl/method-daemon.c: daemon.* methods: status and catalog reload.
 */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "engine.h"
#include "journal.h"
#include "actors.h"
#include "ctl.h"

static void	 method_daemon_status(struct ctl_req *, json_t *);
static void	 method_daemon_reload(struct ctl_req *, json_t *);
static json_t	*method_daemon_catalog(void);
static json_t	*method_daemon_journal(void);

static const struct ctl_param method_daemon_none[] = {
	{ NULL, 0, 0, NULL, NULL }
};

const struct ctl_method ctl_methods_daemon[] = {
	{ "daemon.status", "show the daemon's state and figures",
	    method_daemon_none, CTL_M_READONLY, method_daemon_status,
	    NULL, NULL },
	{ "daemon.reload", "reload the operation catalog (admin)",
	    method_daemon_none, CTL_M_ADMIN, method_daemon_reload,
	    NULL, NULL },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL }
};

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
	return (json_pack("{s:I,s:s,s:I,s:I,s:I,s:I}",
	    "seq", (json_int_t)journal_seq(engine->journal),
	    "head", hex,
	    "pending", (json_int_t)journal_pending(engine->journal),
	    "commits", (json_int_t)st.commits,
	    "records", (json_int_t)st.records,
	    "map_size", (json_int_t)st.map_size));
}

/* daemon.status: read-only; every figure is a snapshot of this turn. */
static void
method_daemon_status(struct ctl_req *req, json_t *params)
{
	struct schedule_counts	 sc;
	char			 started[64];
	json_t			*result;

	schedule_counts(&sc);
	fmt_rfc3339(engine->started_us, started, sizeof started);
	result = json_pack("{s:s,s:I,s:s,s:I,s:s?,s:s?}",
	    "version", CHIME_VERSION,
	    "uptime_s", (json_int_t)((now_us() - engine->started_us) /
	    USEC_PER_SEC),
	    "started", started,
	    "pid", (json_int_t)getpid(),
	    "data_dir", engine->data_dir,
	    "socket", engine->ctl != NULL ? ctl_server_path(engine->ctl) :
	    NULL);
	json_object_set_new(result, "journal", method_daemon_journal());
	json_object_set_new(result, "schedules", json_pack("{s:I,s:I,s:I,s:I}",
	    "total", (json_int_t)sc.total, "active", (json_int_t)sc.active,
	    "paused", (json_int_t)sc.paused,
	    "completed", (json_int_t)sc.completed));
	json_object_set_new(result, "runs", json_pack("{s:I,s:I}",
	    "running", (json_int_t)sc.runs_running,
	    "waiting", (json_int_t)sc.runs_waiting));
	json_object_set_new(result, "connections", json_integer(
	    engine->ctl != NULL ? (json_int_t)ctl_server_connections(
	    engine->ctl) : 0));
	json_object_set_new(result, "timers", json_integer(
	    (json_int_t)timer_count()));
	json_object_set_new(result, "catalog", method_daemon_catalog());
	json_object_set_new(result, "draining",
	    json_boolean(engine->draining));
	json_object_set_new(result, "http", httpd_listening() != NULL ?
	    json_pack("{s:s, s:I}", "address", httpd_listening(),
	    "connections", (json_int_t)httpd_connections()) : json_null());
	ctl_reply(req, result);
}

/*
 * daemon.reload: load and validate the catalog from its source; on error
 * the old catalog stays and the answer is -32602 with field "catalog".
 */
static void
method_daemon_reload(struct ctl_req *req, json_t *params)
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
