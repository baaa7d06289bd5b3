/*
 * fuzz/fuzz-rpc.c: the control protocol's request parser.
 *
 * The input is what a client writes to the socket: lines are split at
 * '\n' as the server splits them, and each goes through
 * ctl_request_parse (the server's own parse and envelope checks), then,
 * for a well-formed request, the method lookup and the parameter checks
 * that run before any handler, then the typed getters the handlers use.
 *
 * Properties: a refused line always has an error object with a code and
 * a message that serialises (the server writes it back); an accepted
 * request is an object with "jsonrpc":"2.0" and a string method; a
 * parameter the checks passed is read back by its getter.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "actors.h"
#include "ctl.h"
#include "fuzz.h"

static void	fuzz_rpc_error(json_t *, const struct fuzz_fields *);
static void	fuzz_rpc_params(const struct ctl_method *, json_t *,
		    const struct fuzz_fields *);
static void	fuzz_rpc_line(const char *, size_t,
		    const struct fuzz_fields *);

/* ERROR must be an answerable JSON-RPC error object. */
static void
fuzz_rpc_error(json_t *error, const struct fuzz_fields *f)
{
	json_t	*answer;
	char	*s;

	if (error == NULL)
		fuzz_fail("a refused request without an error object", f);
	if (!json_is_integer(json_object_get(error, "code")) ||
	    !json_is_string(json_object_get(error, "message")))
		fuzz_fail("an error object without code or message", f);
	answer = json_pack("{s:s,s:n,s:O}", "jsonrpc", "2.0", "id", "error",
	    error);
	if (answer == NULL || (s = json_dumps(answer, JSON_COMPACT)) == NULL)
		fuzz_fail("an error answer that does not serialise", f);
	free(s);
	json_decref(answer);
}

/* Every parameter that passed the checks reads back with its getter. */
static void
fuzz_rpc_params(const struct ctl_method *m, json_t *params,
    const struct fuzz_fields *f)
{
	const struct ctl_param	*p;
	int64_t			 x;
	int			 b, ok;

	for (p = m->params; p != NULL && p->name != NULL; p++) {
		if (json_object_get(params, p->name) == NULL)
			continue;
		switch (p->type) {
		case CTL_P_STRING:
			ok = param_string(params, p->name) != NULL;
			break;
		case CTL_P_INT:
			ok = param_int(params, p->name, &x);
			break;
		case CTL_P_BOOL:
			ok = param_bool(params, p->name, &b);
			break;
		case CTL_P_USD:
			ok = param_usd(params, p->name, &x) && x >= 0;
			break;
		case CTL_P_DURATION:
			ok = param_duration(params, p->name, &x) && x >= 0;
			break;
		case CTL_P_TIME:
			ok = param_time(params, p->name, &x);
			break;
		default:
			ok = json_is_object(json_object_get(params, p->name));
			break;
		}
		if (!ok)
			fuzz_fail("a checked parameter its getter refuses", f);
	}
}

static void
fuzz_rpc_line(const char *line, size_t len, const struct fuzz_fields *f)
{
	const struct ctl_method	*m;
	json_t			*msg, *error, *params;
	const char		*name;
	char			*field, *reason;
	int			 rc;

	rc = ctl_request_parse(line, len, &msg, &error);
	if (rc == 0) {
		if (msg != NULL || error != NULL)
			fuzz_fail("a blank line with a result", f);
		return;
	}
	if (rc == -1) {
		fuzz_rpc_error(error, f);
		json_decref(error);
		json_decref(msg);
		return;
	}
	if (error != NULL || !json_is_object(msg) ||
	    !json_is_string(json_object_get(msg, "method")) ||
	    strcmp(json_string_value(json_object_get(msg, "jsonrpc")),
	    "2.0") != 0)
		fuzz_fail("a malformed request accepted", f);
	name = json_string_value(json_object_get(msg, "method"));
	params = json_object_get(msg, "params");
	if ((m = ctl_method_find(name)) != NULL) {
		if (ctl_check_params(m, params, &field, &reason) == 0) {
			if (params != NULL)
				fuzz_rpc_params(m, params, f);
		} else {
			if (field == NULL || reason == NULL)
				fuzz_fail("invalid params without field or "
				    "reason", f);
			error = ctl_error_object(CTL_E_INVALID_PARAMS,
			    "invalid params", field, reason);
			fuzz_rpc_error(error, f);
			json_decref(error);
			free(field);
			free(reason);
		}
	}
	json_decref(msg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*p = data, *end = data + size, *nl;

	fuzz_quiet();
	while (p < end) {
		nl = memchr(p, '\n', end - p);
		fuzz_rpc_line((const char *)p, (nl != NULL ? nl : end) - p,
		    NULL);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return (0);
}
