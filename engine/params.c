/*
 * engine/params.c: typed getters for a request's parameters (a JSON object
 * the transport has checked against its method's table), and the value
 * conversions behind the checks, shared by every transport and the domain.
 * Money is parse_usd_json's (util.c).
 */
#include <sys/types.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* A duration in microseconds: a parse_duration string or integer seconds. */
int
param_value_duration(json_t *v, int64_t *out)
{
	if (json_is_string(v))
		return (parse_duration(json_string_value(v), out));
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > INT64_MAX / USEC_PER_SEC)
		return (-1);
	*out = (int64_t)json_integer_value(v) * USEC_PER_SEC;
	return (0);
}

/* The string NAME of PARAMS, or NULL (borrowed from PARAMS). */
const char *
param_string(json_t *params, const char *name)
{
	return (json_string_value(json_object_get(params, name)));
}

/* 1 and *OUT if NAME is an integer, else 0. */
int
param_int(json_t *params, const char *name, int64_t *out)
{
	json_t	*v = json_object_get(params, name);

	if (!json_is_integer(v))
		return (0);
	*out = json_integer_value(v);
	return (1);
}

int
param_bool(json_t *params, const char *name, int *out)
{
	json_t	*v = json_object_get(params, name);

	if (!json_is_boolean(v))
		return (0);
	*out = json_is_true(v);
	return (1);
}

/* Micro-dollars of a USD parameter. */
int
param_usd(json_t *params, const char *name, int64_t *out)
{
	json_t	*v = json_object_get(params, name);

	return (v != NULL && parse_usd_json(v, out) == 0);
}

/* Microseconds of a DURATION parameter. */
int
param_duration(json_t *params, const char *name, int64_t *out)
{
	json_t	*v = json_object_get(params, name);

	return (v != NULL && param_value_duration(v, out) == 0);
}

/* Microseconds since the epoch of a TIME parameter. */
int
param_time(json_t *params, const char *name, int64_t *out)
{
	const char	*s = param_string(params, name);

	return (s != NULL && parse_rfc3339(s, out) == 0);
}
