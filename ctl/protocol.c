/*
 * ctl/protocol.c: JSON-RPC error objects, the parameter types (checked by
 * the server, built from command-line flags by chimectl) and chimectl's
 * blocking transport.  Nothing here touches the event loop.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine.h"
#include "ctl.h"

/* Largest response chimectl accepts. */
#define CTL_CLIENT_MAX_RESPONSE	(256 * 1024 * 1024)

/* The key of the object that stands for a number jansson cannot hold. */
#define CTL_RANGE_KEY		"\001number out of range"
#define CTL_RANGE_REASON	"number out of range (an integer must be " \
				    "from -9223372036854775808 to " \
				    "9223372036854775807)"

static const char *ctl_strip_field(const char *, const char *);
static size_t	 ctl_number_end(const char *, size_t, size_t, int *);
static int	 ctl_number_fits(const char *, size_t, int);
static char	*ctl_mark_ranges(const char *, size_t, size_t *);
static int	 ctl_has_range(json_t *);
static int	 ctl_all_strings(json_t *);
static int	 ctl_check_bounds(const struct ctl_param *, json_t *, char **);
static int	 ctl_check_value(const struct ctl_param *, json_t *,
		     const char **);
static const struct ctl_param *ctl_find_param(const struct ctl_method *,
		     const char *);
static const struct ctl_param *ctl_find_flag(const struct ctl_method *,
		     const char *, int *);
static int	 ctl_parse_int(const char *, int64_t *);
static int	 ctl_parse_bool(const char *, int *);
static int	 ctl_set_object(json_t *, const struct ctl_param *,
		     const char *, char **);
static int	 ctl_add_string(json_t *, const struct ctl_param *,
		     const char *, char **);
static int	 ctl_set_param(json_t *, const struct ctl_param *,
		     const char *, char **);
static int	 ctl_take_flag(const struct ctl_method *, json_t *, int,
		     char *const *, int *, char **);
static const struct ctl_param *ctl_next_positional(const struct ctl_method *,
		     json_t *);
static int	 ctl_check_required(const struct ctl_method *, json_t *,
		     char **);
static int	 ctl_client_wait(int, short, int64_t, char **);
static int	 ctl_client_send(int, const char *, size_t, int64_t, char **);
static int	 ctl_client_recv(int, int64_t, json_t **, char **);

static const char *ctl_ptype_names[] = {
	"string", "integer", "boolean", "usd", "duration", "object", "time",
	"strings"
};

/* The reason given for a value of the wrong type. */
static const char *ctl_ptype_reasons[] = {
	"must be a string",
	"must be an integer",
	"must be true or false",
	"must be an amount in USD like \"1.25\" (not negative, at most 6 "
	    "decimals)",
	"must be a duration like \"90s\", \"5m\", \"1h30m\", \"2d\" or a "
	    "number of seconds",
	"must be an object",
	"must be an RFC 3339 time like \"2025-03-09T07:00:00Z\"",
	"must be an array of strings",
};

json_t *
ctl_error_object(int code, const char *message, const char *field,
    const char *reason)
{
	json_t	*error;

	error = json_pack("{s:i,s:s}", "code", code, "message", message);
	if (error == NULL)
		fatalx("ctl_error_object: bad message");
	if (field != NULL || reason != NULL)
		json_object_set_new(error, "data", ctl_error_fields(field,
		    reason));
	return (error);
}

/* REASON without a leading "FIELD: " (a cause written to stand alone,
 * such as cron_parse's "cron: bad minute field ..."); borrowed. */
static const char *
ctl_strip_field(const char *field, const char *reason)
{
	size_t	len = strlen(field);

	if (len != 0 && strncmp(reason, field, len) == 0 &&
	    reason[len] == ':' && reason[len + 1] == ' ' &&
	    reason[len + 2] != '\0')
		return (reason + len + 2);
	return (reason);
}

/* {"field","reason"}: a new object; the reason never repeats its field. */
json_t *
ctl_error_fields(const char *field, const char *reason)
{
	if (field == NULL)
		field = "";
	if (reason == NULL)
		reason = "";
	return (json_pack("{s:s,s:s}", "field", field, "reason",
	    ctl_strip_field(field, reason)));
}

/*
 * The end of the JSON number token at OFF in BUF (LEN bytes), with in
 * *INTEGER whether it has neither fraction nor exponent; OFF if no number
 * starts there.
 */
static size_t
ctl_number_end(const char *buf, size_t len, size_t off, int *integer)
{
	size_t	i = off;

	*integer = 1;
	if (i < len && buf[i] == '-')
		i++;
	if (i == len || !isdigit((unsigned char)buf[i]))
		return (off);
	for (; i < len; i++) {
		if (buf[i] == '.' || buf[i] == 'e' || buf[i] == 'E' ||
		    buf[i] == '+' || buf[i] == '-')
			*integer = 0;
		else if (!isdigit((unsigned char)buf[i]))
			break;
	}
	return (i);
}

/* Can jansson hold the number token TOK (LEN bytes)? */
static int
ctl_number_fits(const char *tok, size_t len, int integer)
{
	char	*text;
	int	 fits;

	text = xstrndup(tok, len);
	errno = 0;
	if (integer) {
		(void)strtoll(text, NULL, 10);
		fits = errno != ERANGE;
	} else
		fits = !isinf(strtod(text, NULL));
	free(text);
	return (fits);
}

/*
 * A copy of the JSON text BUF (LEN bytes) in which each number jansson
 * cannot hold (an integer past int64, a real past double) is the object
 * {CTL_RANGE_KEY: "TOKEN"}; NULL if there is none.  Strings are skipped;
 * nothing else is checked (the parser does that).
 */
static char *
ctl_mark_ranges(const char *buf, size_t len, size_t *outlen)
{
	char	*out = NULL, *piece;
	size_t	 i = 0, end, from = 0, n = 0, plen, size = 0;
	int	 in_string = 0, integer;

	while (i < len) {
		if (in_string || buf[i] == '"') {
			if (in_string && buf[i] == '\\')
				i++;
			else if (buf[i] == '"')
				in_string = !in_string;
			i++;
			continue;
		}
		if ((end = ctl_number_end(buf, len, i, &integer)) == i) {
			i++;
			continue;
		}
		if (!ctl_number_fits(buf + i, end - i, integer)) {
			plen = xasprintf(&piece, "%.*s{\"\\u0001number out of "
			    "range\":\"%.*s\"}", (int)(i - from), buf + from,
			    (int)(end - i), buf + i);
			if (n + plen > size) {
				size = n + plen > 2 * size ? n + plen :
				    2 * size;
				out = xreallocarray(out, size, 1);
			}
			memcpy(out + n, piece, plen);
			n += plen;
			free(piece);
			from = end;
		}
		i = end;
	}
	if (out == NULL)
		return (NULL);
	out = xreallocarray(out, n + (len - from) + 1, 1);
	memcpy(out + n, buf + from, len - from);
	n += len - from;
	out[n] = '\0';
	*outlen = n;
	return (out);
}

/*
 * json_loadb, except that a number jansson cannot hold (an integer past
 * int64, a real past double) is what it is, valid JSON, not a parse
 * error: it loads as a marker object, which ctl_check_params refuses as
 * out of range, naming the parameter.
 */
json_t *
ctl_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *err)
{
	json_t	*v;
	char	*marked;
	size_t	 mlen;

	if ((v = json_loadb(buf, len, flags, err)) != NULL ||
	    json_error_code(err) != json_error_numeric_overflow)
		return (v);
	if ((marked = ctl_mark_ranges(buf, len, &mlen)) == NULL)
		return (NULL);
	v = json_loadb(marked, mlen, flags, err);
	free(marked);
	/* Malformed after all: the error at its place in BUF, not the copy. */
	if (v == NULL && (v = json_loadb(buf, len, flags |
	    JSON_DECODE_INT_AS_REAL, err)) != NULL) {
		json_decref(v);
		v = NULL;
	}
	return (v);
}

/* Is V, or does it hold, a number ctl_json_loadb marked out of range? */
static int
ctl_has_range(json_t *v)
{
	const char	*key;
	json_t		*e;
	size_t		 i;

	if (json_is_object(v)) {
		if (json_object_get(v, CTL_RANGE_KEY) != NULL)
			return (1);
		json_object_foreach(v, key, e) {
			if (ctl_has_range(e))
				return (1);
		}
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (ctl_has_range(e))
				return (1);
		}
	}
	return (0);
}

const char *
ctl_ptype_name(enum ctl_ptype type)
{
	if ((size_t)type >= sizeof ctl_ptype_names / sizeof *ctl_ptype_names)
		return ("unknown");
	return (ctl_ptype_names[type]);
}

/* Is V an array of strings only? */
static int
ctl_all_strings(json_t *v)
{
	json_t	*e;
	size_t	 i;

	if (!json_is_array(v))
		return (0);
	json_array_foreach(v, i, e) {
		if (!json_is_string(e))
			return (0);
	}
	return (1);
}

/* Check one value against its parameter's type; 0, or -1 and *reason. */
static int
ctl_check_value(const struct ctl_param *p, json_t *v, const char **reason)
{
	int64_t	x;
	int	ok;

	switch (p->type) {
	case CTL_P_STRING:
		ok = json_is_string(v);
		break;
	case CTL_P_INT:
		ok = json_is_integer(v);
		break;
	case CTL_P_BOOL:
		ok = json_is_boolean(v);
		break;
	case CTL_P_USD:
		ok = parse_usd_json(v, &x) == 0;
		break;
	case CTL_P_DURATION:
		ok = param_value_duration(v, &x) == 0;
		break;
	case CTL_P_OBJECT:
		ok = json_is_object(v);
		break;
	case CTL_P_TIME:
		ok = json_is_string(v) &&
		    parse_rfc3339(json_string_value(v), &x) == 0;
		break;
	case CTL_P_STRINGS:
		ok = ctl_all_strings(v);
		break;
	default:
		ok = 0;
		break;
	}
	if (!ok)
		*reason = ctl_ptype_reasons[p->type];
	return (ok ? 0 : -1);
}

/*
 * Check one value of the right type against its parameter's bounds (from
 * the method table, so that a limit is written once); 0, or -1 and *reason
 * (allocated).
 */
static int
ctl_check_bounds(const struct ctl_param *p, json_t *v, char **reason)
{
	int64_t	x;

	if (p->min == 0 && p->max == 0)
		return (0);
	switch (p->type) {
	case CTL_P_INT:
		x = json_integer_value(v);
		if (x >= p->min && x <= p->max)
			return (0);
		xasprintf(reason, "must be from %lld to %lld",
		    (long long)p->min, (long long)p->max);
		return (-1);
	case CTL_P_STRING:
		x = (int64_t)json_string_length(v);
		if (x >= p->min && x <= p->max)
			return (0);
		xasprintf(reason, "must be %lld to %lld characters",
		    (long long)p->min, (long long)p->max);
		return (-1);
	case CTL_P_STRINGS:
		x = (int64_t)json_array_size(v);
		if (x >= p->min && x <= p->max)
			return (0);
		xasprintf(reason, "must have %lld to %lld entries",
		    (long long)p->min, (long long)p->max);
		return (-1);
	default:
		return (0);
	}
}

static const struct ctl_param *
ctl_find_param(const struct ctl_method *m, const char *name)
{
	const struct ctl_param	*p;

	for (p = m->params; p != NULL && p->name != NULL; p++) {
		/* (the first byte first: no call for most entries) */
		if (p->name[0] == name[0] && strcmp(p->name, name) == 0)
			return (p);
	}
	return (NULL);
}

/* Entries of a method's table checked without a lookup each, at most. */
#define CTL_CHECK_MAX	64

static int	ctl_check_table(const struct ctl_method *, json_t *, int,
		    char **, char **);

/*
 * Check PARAMS against the method's table: no unknown names, every required
 * one present, each of its type.  The first problem wins.
 */
int
ctl_check_params(const struct ctl_method *m, json_t *params, char **field,
    char **reason)
{
	return (ctl_check_table(m, params, 1, field, reason));
}

/* The same for an object inside params that ctl_check_params checked
 * already for numbers out of range (an entry of schedule.apply). */
int
ctl_check_nested(const struct ctl_method *m, json_t *params, char **field,
    char **reason)
{
	return (ctl_check_table(m, params, 0, field, reason));
}

static int
ctl_check_table(const struct ctl_method *m, json_t *params, int ranges,
    char **field, char **reason)
{
	const struct ctl_param	*p;
	const char		*key, *why;
	json_t			*v, *given[CTL_CHECK_MAX];
	size_t			 i, n = 0;

	*field = *reason = NULL;
	if (params != NULL && (!json_is_object(params) ||
	    json_object_get(params, CTL_RANGE_KEY) != NULL)) {
		*field = xstrdup("params");
		*reason = xstrdup("must be an object");
		return (-1);
	}
	/* What PARAMS gives of each entry of the table, found as its keys
	 * are checked (no lookup per entry after). */
	for (p = m->params; p != NULL && p->name != NULL; p++)
		n++;
	if (n <= CTL_CHECK_MAX)
		memset(given, 0, n * sizeof *given);
	if (params != NULL) {
		json_object_foreach(params, key, v) {
			if ((p = ctl_find_param(m, key)) == NULL) {
				*field = xstrdup(key);
				*reason = xstrdup("unknown parameter");
				return (-1);
			}
			if (ranges && ctl_has_range(v)) {
				*field = xstrdup(key);
				*reason = xstrdup(CTL_RANGE_REASON);
				return (-1);
			}
			if (n <= CTL_CHECK_MAX)
				given[p - m->params] = v;
		}
	}
	for (i = 0, p = m->params; i < n; i++, p++) {
		if (n <= CTL_CHECK_MAX)
			v = given[i];
		else
			v = params != NULL ? json_object_get(params, p->name) :
			    NULL;
		if (v == NULL) {
			if (~p->flags & CTL_P_REQUIRED)
				continue;
			*field = xstrdup(p->name);
			*reason = xstrdup("is required");
			return (-1);
		}
		if (ctl_check_value(p, v, &why) != 0) {
			*field = xstrdup(p->name);
			*reason = xstrdup(why);
			return (-1);
		}
		if (ctl_check_bounds(p, v, reason) != 0) {
			*field = xstrdup(p->name);
			return (-1);
		}
	}
	return (0);
}

void
ctl_param_flag(const struct ctl_param *p, char *buf, size_t len)
{
	char	*c;

	snprintf(buf, len, "%s", p->alias != NULL ? p->alias : p->name);
	for (c = buf; *c != '\0'; c++) {
		if (*c == '_')
			*c = '-';
	}
}

/* The parameter for flag NAME ("op", "max-cost", "no-paused"). */
static const struct ctl_param *
ctl_find_flag(const struct ctl_method *m, const char *name, int *negated)
{
	const struct ctl_param	*p;
	char			 flag[128], plain[128], *c;

	for (p = m->params; p != NULL && p->name != NULL; p++) {
		ctl_param_flag(p, flag, sizeof flag);
		snprintf(plain, sizeof plain, "%s", p->name);
		for (c = plain; *c != '\0'; c++) {
			if (*c == '_')
				*c = '-';
		}
		*negated = 0;
		if (strcmp(name, flag) == 0 || strcmp(name, plain) == 0)
			return (p);
		if (p->type != CTL_P_BOOL || strncmp(name, "no-", 3) != 0)
			continue;
		*negated = 1;
		if (strcmp(name + 3, flag) == 0 || strcmp(name + 3, plain) == 0)
			return (p);
	}
	*negated = 0;
	return (NULL);
}

/* A decimal integer: 0, -1 if S is not one, -2 if it is past int64. */
static int
ctl_parse_int(const char *s, int64_t *out)
{
	char		*end;
	long long	 v;

	if (*s == '\0')
		return (-1);
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0' || end == s)
		return (-1);
	if (errno == ERANGE)
		return (-2);
	*out = v;
	return (0);
}

static int
ctl_parse_bool(const char *s, int *out)
{
	if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 ||
	    strcmp(s, "on") == 0 || strcmp(s, "1") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0 ||
	    strcmp(s, "off") == 0 || strcmp(s, "0") == 0)
		*out = 0;
	else
		return (-1);
	return (0);
}

/*
 * One piece of an OBJECT parameter: "KEY=VALUE" (VALUE as JSON if it is
 * valid JSON, else as a string) or a whole JSON object, merged in.
 */
static int
ctl_set_object(json_t *params, const struct ctl_param *p, const char *arg,
    char **cause)
{
	json_t		*obj, *v;
	const char	*eq;
	char		 flag[128], *key;

	ctl_param_flag(p, flag, sizeof flag);
	if ((obj = json_object_get(params, p->name)) == NULL) {
		obj = json_object();
		json_object_set_new(params, p->name, obj);
	}
	if (*arg == '{' && (v = json_loads(arg, 0, NULL)) != NULL) {
		json_object_update(obj, v);
		json_decref(v);
		return (0);
	}
	if ((eq = strchr(arg, '=')) == NULL || eq == arg) {
		xasprintf(cause, "--%s: \"%s\" is not KEY=VALUE", flag, arg);
		return (-1);
	}
	v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
	if (v == NULL && (v = json_string(eq + 1)) == NULL) {
		xasprintf(cause, "--%s: value is not valid UTF-8", flag);
		return (-1);
	}
	key = xstrndup(arg, eq - arg);
	json_object_set_new(obj, key, v);
	free(key);
	return (0);
}

/* One more string of a STRINGS parameter (its flag repeated). */
static int
ctl_add_string(json_t *params, const struct ctl_param *p, const char *arg,
    char **cause)
{
	json_t	*list, *v;
	char	 flag[128];

	if ((v = json_string(arg)) == NULL) {
		ctl_param_flag(p, flag, sizeof flag);
		xasprintf(cause, "--%s: value is not valid UTF-8", flag);
		return (-1);
	}
	if ((list = json_object_get(params, p->name)) == NULL) {
		list = json_array();
		json_object_set_new(params, p->name, list);
	}
	json_array_append_new(list, v);
	return (0);
}

/* Store the text ARG as parameter P, converted to its JSON type. */
static int
ctl_set_param(json_t *params, const struct ctl_param *p, const char *arg,
    char **cause)
{
	json_t	*v;
	int64_t	 n;
	int	 b;
	char	 flag[128];

	ctl_param_flag(p, flag, sizeof flag);
	if (p->type == CTL_P_OBJECT)
		return (ctl_set_object(params, p, arg, cause));
	if (p->type == CTL_P_STRINGS)
		return (ctl_add_string(params, p, arg, cause));
	if (json_object_get(params, p->name) != NULL) {
		xasprintf(cause, "--%s given twice", flag);
		return (-1);
	}
	switch (p->type) {
	case CTL_P_INT:
		if ((b = ctl_parse_int(arg, &n)) != 0) {
			xasprintf(cause, "--%s: \"%s\" is %s", flag, arg,
			    b == -2 ? "out of range (-9223372036854775808 to "
			    "9223372036854775807)" : "not an integer");
			return (-1);
		}
		v = json_integer(n);
		break;
	case CTL_P_BOOL:
		if (ctl_parse_bool(arg, &b) != 0) {
			xasprintf(cause, "--%s: \"%s\" is not true or false",
			    flag, arg);
			return (-1);
		}
		v = json_boolean(b);
		break;
	default:
		if ((v = json_string(arg)) == NULL) {
			xasprintf(cause, "--%s: value is not valid UTF-8",
			    flag);
			return (-1);
		}
		break;
	}
	json_object_set_new(params, p->name, v);
	return (0);
}

/* Handle the flag at ARGV[*I] ("--name", "--name=value", "--no-name"),
 * taking its value from the next argument if needed. */
static int
ctl_take_flag(const struct ctl_method *m, json_t *params, int argc,
    char *const *argv, int *i, char **cause)
{
	const struct ctl_param	*p;
	const char		*arg = argv[*i] + 2, *value;
	char			*name;
	int			 negated, rc;

	value = strchr(arg, '=');
	name = value != NULL ? xstrndup(arg, value - arg) : xstrdup(arg);
	if (value != NULL)
		value++;
	p = ctl_find_flag(m, name, &negated);
	if (p == NULL || (negated && value != NULL)) {
		xasprintf(cause, "unknown flag --%s", name);
		free(name);
		return (-1);
	}
	if (p->type == CTL_P_BOOL && value == NULL)
		value = negated ? "false" : "true";
	else if (value == NULL) {
		if (*i + 1 >= argc) {
			xasprintf(cause, "--%s needs a value", name);
			free(name);
			return (-1);
		}
		value = argv[++*i];
	}
	free(name);
	rc = ctl_set_param(params, p, value, cause);
	return (rc);
}

/* The first positional parameter not given yet. */
static const struct ctl_param *
ctl_next_positional(const struct ctl_method *m, json_t *params)
{
	const struct ctl_param	*p;

	for (p = m->params; p != NULL && p->name != NULL; p++) {
		if ((p->flags & CTL_P_POSITIONAL) &&
		    json_object_get(params, p->name) == NULL)
			return (p);
	}
	return (NULL);
}

static int
ctl_check_required(const struct ctl_method *m, json_t *params, char **cause)
{
	const struct ctl_param	*p;
	char			 flag[128], *c;

	for (p = m->params; p != NULL && p->name != NULL; p++) {
		if ((~p->flags & CTL_P_REQUIRED) ||
		    json_object_get(params, p->name) != NULL)
			continue;
		ctl_param_flag(p, flag, sizeof flag);
		if (p->flags & CTL_P_POSITIONAL) {
			for (c = flag; *c != '\0'; c++)
				*c = toupper((unsigned char)*c);
			xasprintf(cause, "missing %s", flag);
		} else
			xasprintf(cause, "missing --%s", flag);
		return (-1);
	}
	return (0);
}

/*
 * Build a method's params from the arguments after NOUN VERB: positional
 * parameters in table order, --flag VALUE or --flag=VALUE, --flag / --no-flag
 * for booleans, repeated --flag KEY=VALUE for objects; "--" ends the flags.
 */
int
ctl_params_from_argv(const struct ctl_method *m, int argc,
    char *const *argv, json_t **out, char **cause)
{
	const struct ctl_param	*p;
	json_t			*params;
	int			 i, flags_done = 0;

	*out = NULL;
	params = json_object();
	for (i = 0; i < argc; i++) {
		if (!flags_done && strcmp(argv[i], "--") == 0) {
			flags_done = 1;
			continue;
		}
		if (!flags_done && strncmp(argv[i], "--", 2) == 0) {
			if (ctl_take_flag(m, params, argc, argv, &i, cause) != 0)
				goto fail;
			continue;
		}
		if (!flags_done && argv[i][0] == '-' && argv[i][1] != '\0') {
			xasprintf(cause, "unknown flag %s", argv[i]);
			goto fail;
		}
		if ((p = ctl_next_positional(m, params)) == NULL) {
			xasprintf(cause, "unexpected argument \"%s\"", argv[i]);
			goto fail;
		}
		if (ctl_set_param(params, p, argv[i], cause) != 0)
			goto fail;
	}
	if (ctl_check_required(m, params, cause) != 0)
		goto fail;
	*out = params;
	return (0);

fail:
	json_decref(params);
	return (-1);
}

int
ctl_client_connect(const char *path, char **cause)
{
	struct sockaddr_un	sun;
	int			fd, saved;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sun.sun_path) {
		xasprintf(cause, "socket path too long: %s", path);
		errno = ENAMETOOLONG;
		return (-1);
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		saved = errno;
		xasprintf(cause, "socket: %s", strerror(saved));
		errno = saved;
		return (-1);
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof sun) == -1) {
		saved = errno;
		xasprintf(cause, "cannot connect to %s: %s", path,
		    strerror(saved));
		close(fd);
		errno = saved;
		return (-1);
	}
	return (fd);
}

/* Wait until FD is ready for EVENTS or DEADLINE (monotonic us, 0: none). */
static int
ctl_client_wait(int fd, short events, int64_t deadline, char **cause)
{
	struct pollfd	pfd;
	int64_t		left;
	int		n;

	for (;;) {
		left = -1;
		if (deadline != 0) {
			left = (deadline - mono_us()) / USEC_PER_MSEC;
			if (left <= 0) {
				xasprintf(cause, "timed out waiting for the "
				    "daemon");
				return (-1);
			}
		}
		pfd.fd = fd;
		pfd.events = events;
		n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return (0);
		if (n == -1 && errno != EINTR) {
			xasprintf(cause, "poll: %s", strerror(errno));
			return (-1);
		}
	}
}

static int
ctl_client_send(int fd, const char *buf, size_t len, int64_t deadline,
    char **cause)
{
	ssize_t	n;

	while (len > 0) {
		if (ctl_client_wait(fd, POLLOUT, deadline, cause) != 0)
			return (-1);
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == -1) {
			int	saved = errno;

			xasprintf(cause, "sending the request: %s",
			    strerror(saved));
			errno = saved;
			return (-1);
		}
		buf += n;
		len -= n;
	}
	return (0);
}

/* Read lines until the response with id 1; other lines are skipped. */
static int
ctl_client_recv(int fd, int64_t deadline, json_t **out, char **cause)
{
	char		*buf = NULL, *nl;
	size_t		 len = 0, size = 0;
	ssize_t		 n;
	json_t		*msg;
	json_error_t	 jerr;

	for (;;) {
		while (len > 0 && (nl = memchr(buf, '\n', len)) != NULL) {
			msg = json_loadb(buf, nl - buf, 0, &jerr);
			len -= nl + 1 - buf;
			memmove(buf, nl + 1, len);
			if (msg == NULL) {
				xasprintf(cause, "bad response from the "
				    "daemon: %s", jerr.text);
				free(buf);
				return (-1);
			}
			if (json_integer_value(json_object_get(msg, "id")) ==
			    1 || json_is_null(json_object_get(msg, "id"))) {
				free(buf);
				*out = msg;
				return (0);
			}
			json_decref(msg);
		}
		if (len == size) {
			if (size >= CTL_CLIENT_MAX_RESPONSE) {
				xasprintf(cause, "response too large");
				break;
			}
			size = size == 0 ? 65536 : size * 2;
			buf = xreallocarray(buf, size, 1);
		}
		if (ctl_client_wait(fd, POLLIN, deadline, cause) != 0)
			break;
		n = recv(fd, buf + len, size - len, MSG_DONTWAIT);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			xasprintf(cause, "connection closed by the daemon%s%s",
			    n == -1 ? ": " : "", n == -1 ? strerror(errno) : "");
			break;
		}
		len += n;
	}
	free(buf);
	return (-1);
}

/*
 * Send METHOD with PARAMS (borrowed; NULL for none) as request id 1 and
 * wait for the response object (result or error; the caller looks).
 */
int
ctl_client_call(int fd, const char *method, json_t *params, int timeout_ms,
    json_t **out, char **cause)
{
	json_t	*req;
	char	*line, *why = NULL;
	int64_t	 deadline = 0;
	int	 rc;

	*out = NULL;
	if (timeout_ms > 0)
		deadline = mono_us() + (int64_t)timeout_ms * USEC_PER_MSEC;
	req = json_pack("{s:s,s:i,s:s}", "jsonrpc", "2.0", "id", 1, "method",
	    method);
	if (req == NULL) {
		xasprintf(cause, "bad method name");
		return (-1);
	}
	if (params != NULL)
		json_object_set(req, "params", params);
	line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (line == NULL)
		fatalx("ctl_client_call: json_dumps failed");
	rc = ctl_client_send(fd, line, strlen(line), deadline, cause);
	if (rc == 0)
		rc = ctl_client_send(fd, "\n", 1, deadline, cause);
	free(line);
	if (rc != 0 && (errno == EPIPE || errno == ECONNRESET)) {
		/* The daemon refused the request before reading all of it
		 * (a line past its limit) and closed: its answer says why. */
		if (ctl_client_recv(fd, deadline, out, &why) == 0) {
			free(*cause);
			*cause = NULL;
			return (0);
		}
		free(why);
	}
	if (rc != 0)
		return (-1);
	return (ctl_client_recv(fd, deadline, out, cause));
}
