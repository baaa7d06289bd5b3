/*
 * ctl/method-run.c: the run.* methods.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

static void	method_run_get(struct ctl_req *, json_t *);

static const struct ctl_param p_run_get[] = {
	{ "run_id", CTL_P_STRING, CTL_P_REQUIRED | CTL_P_POSITIONAL,
	    "run id (SCHEDULE:N)", NULL },
	{ NULL, 0, 0, NULL, NULL }
};

const struct ctl_method ctl_methods_run[] = {
	{ "run.get", "show one run", p_run_get, CTL_M_READONLY,
	    method_run_get, NULL, NULL },
	{ NULL, NULL, NULL, 0, NULL, NULL, NULL }
};

static void
method_run_get(struct ctl_req *req, json_t *params)
{
	const char		*id = ctl_param_string(params, "run_id");
	struct schedule		*s;
	struct account		*a;
	msgpack_unpacked	 u;
	char			 sid[128], key[160];
	uint64_t		 n;
	void			*val;
	size_t			 len;

	if (run_id_parse(id, sid, sizeof sid, &n) == -1) {
		ctl_error_param(req, "run_id", "expected SCHEDULE:NUMBER");
		return;
	}
	/* "NAME:N" works too, for the caller's default account. */
	if ((s = schedule_find(sid)) == NULL)
		s = schedule_lookup("default", sid);
	/* A batch's run: "BATCH:N". */
	if (s == NULL && dispatch_owner_lookup != NULL)
		s = dispatch_owner_lookup(sid);
	if (s != NULL)
		snprintf(sid, sizeof sid, "%s", s->id);
	if (s == NULL || s->state == SCHEDULE_DELETED ||
	    (a = account_find(s->account)) == NULL ||
	    !account_allows(a, ctl_req_caller(req))) {
		ctl_error(req, CTL_E_NOT_FOUND, "no such run", "run_id",
		    "not found");
		return;
	}
	run_row_key(sid, n, key, sizeof key);
	if (journal_table_get(engine->journal, "runs", key, strlen(key), &val,
	    &len) == -1) {
		ctl_error(req, CTL_E_NOT_FOUND, n <= s->run_counter ?
		    "run is older than the kept history; see chime-journal "
		    "export" : "no such run", "run_id", "not found");
		return;
	}
	if (unpack_buffer(val, len, &u) == -1) {
		free(val);
		ctl_error(req, CTL_E_INTERNAL, "unreadable run row", NULL,
		    NULL);
		return;
	}
	ctl_reply(req, run_row_to_json(&u.data));
	msgpack_unpacked_destroy(&u);
	free(val);
}
