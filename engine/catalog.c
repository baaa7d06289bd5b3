/*
 * engine/catalog.c: the catalog of operations and models, read from JSON
 * (doc/catalog.md) and validated whole before anyone sees it.  A catalog is
 * reference counted so that runs in flight keep the one they started with
 * across a reload.  Operations and models are kept sorted by id.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "engine.h"

#define CATALOG_FILE_MAX	(4 * 1024 * 1024)
#define CATALOG_TIMEOUT_MS	(60 * 1000LL)
#define CATALOG_BACKOFF_MS	(1000LL)
#define CATALOG_MAX_BACKOFF_MS	(5 * 60 * 1000LL)
#define CATALOG_DAY_MS		(24 * 3600 * 1000LL)
#define CATALOG_ATTEMPTS_MAX	20
#define CATALOG_RESPONSE_MIN	1024LL
#define CATALOG_RESPONSE_MAX	(64 * 1024 * 1024LL)
#define CATALOG_SOURCE_BUILTIN	"(built-in)"

/* An id and its position in the file, for sorting and duplicate checks. */
struct catalog_key {
	const char	*id;
	size_t		 index;
};

static int	catalog_error(char **, const char *, const char *, ...)
		    printflike(3, 4);
static int	catalog_check_keys(json_t *, const char *const *,
		    const char *, char **);
static int	catalog_get_string(json_t *, const char *, int,
		    const char *, const char **, char **);
static int	catalog_get_duration(json_t *, const char *, int64_t,
		    const char *, int64_t *, char **);
static int	catalog_get_id(json_t *, const char *, size_t, char **,
		    char **, char **);
static int	catalog_parse_root(json_t *, struct catalog *, char **);
static int	catalog_parse_models(json_t *, struct catalog *, char **);
static int	catalog_parse_model(json_t *, size_t, struct model *,
		    char **);
static int	catalog_parse_price(json_t *, const char *, const char *,
		    int64_t *, char **);
static int	catalog_parse_operations(json_t *, struct catalog *,
		    char **);
static int	catalog_parse_operation(json_t *, size_t,
		    const struct catalog *, struct operation *, char **);
static int	catalog_parse_executor(json_t *, const char *,
		    struct operation *, char **);
static int	catalog_parse_argv(json_t *, const char *, struct operation *,
		    char **);
static int	catalog_parse_url(json_t *, const char *, struct operation *,
		    char **);
static int	catalog_parse_http(json_t *, const char *, struct operation *,
		    char **);
static int	catalog_parse_retry(json_t *, const char *,
		    struct retry_policy *, char **);
static int	catalog_parse_tokens(json_t *, const char *,
		    struct operation *, char **);
static int	catalog_parse_triple(json_t *, const char *, const char *,
		    int64_t *, char **);
static int	catalog_check_unique(struct catalog_key *, size_t,
		    const char *, char **);
static int	catalog_key_cmp(const void *, const void *);
static int	catalog_model_cmp(const void *, const void *);
static int	catalog_operation_cmp(const void *, const void *);
static void	catalog_free(struct catalog *);
static void	catalog_model_clear(struct model *);
static void	catalog_operation_clear(struct operation *);
static char	*catalog_fmt_duration(int64_t, char *, size_t);
static char	*catalog_fmt_price(int64_t, char *, size_t);
static json_t	*catalog_model_to_json(const struct model *);
static json_t	*catalog_operation_to_json(const struct operation *);

static const char *const catalog_root_keys[] = {
	"description", "models", "operations", NULL
};
static const char *const catalog_model_keys[] = {
	"id", "description", "input_usd_per_mtok", "output_usd_per_mtok", NULL
};
static const char *const catalog_operation_keys[] = {
	"id", "description", "executor", "argv", "url", "timeout", "retry",
	"tokens", "default_model", "idempotent", "secret_ref",
	"connect_timeout", "max_response", "env", NULL
};
/* Keys only an http operation may have. */
static const char *const catalog_http_keys[] = {
	"url", "secret_ref", "connect_timeout", "max_response", NULL
};
static const char *const catalog_retry_keys[] = {
	"attempts", "backoff", "max_backoff", NULL
};
static const char *const catalog_tokens_keys[] = {
	"input", "output", NULL
};

/* Fill *cause with "catalog: WHERE: message" and return -1. */
static int
catalog_error(char **cause, const char *where, const char *fmt, ...)
{
	va_list	 ap;
	char	*msg;

	va_start(ap, fmt);
	xvasprintf(&msg, fmt, ap);
	va_end(ap);
	if (where != NULL && *where != '\0')
		xasprintf(cause, "catalog: %s: %s", where, msg);
	else
		xasprintf(cause, "catalog: %s", msg);
	free(msg);
	return (-1);
}

/* Refuse any key of OBJ that is not in ALLOWED (typos must not pass). */
static int
catalog_check_keys(json_t *obj, const char *const *allowed,
    const char *where, char **cause)
{
	const char	*key;
	json_t		*value;
	size_t		 i;

	json_object_foreach(obj, key, value) {
		for (i = 0; allowed[i] != NULL; i++) {
			if (strcmp(key, allowed[i]) == 0)
				break;
		}
		if (allowed[i] == NULL)
			return (catalog_error(cause, where,
			    "unknown key \"%s\"", key));
	}
	return (0);
}

/*
 * Look up string KEY of OBJ into *out (borrowed from OBJ); *out is NULL when
 * the key is absent and not REQUIRED.  Empty strings and strings holding a
 * NUL byte are refused.
 */
static int
catalog_get_string(json_t *obj, const char *key, int required,
    const char *where, const char **out, char **cause)
{
	json_t	*v;

	*out = NULL;
	if ((v = json_object_get(obj, key)) == NULL) {
		if (required)
			return (catalog_error(cause, where,
			    "missing \"%s\"", key));
		return (0);
	}
	if (!json_is_string(v))
		return (catalog_error(cause, where, "%s must be a string",
		    key));
	if (json_string_length(v) == 0)
		return (catalog_error(cause, where, "%s is empty", key));
	if (strlen(json_string_value(v)) != json_string_length(v))
		return (catalog_error(cause, where, "%s contains a NUL byte",
		    key));
	*out = json_string_value(v);
	return (0);
}

/* Duration KEY of OBJ ("30s", "2m", "1h30m", "500ms") in milliseconds. */
static int
catalog_get_duration(json_t *obj, const char *key, int64_t def,
    const char *where, int64_t *out_ms, char **cause)
{
	const char	*s;
	int64_t		 us;

	if (json_object_get(obj, key) != NULL &&
	    !json_is_string(json_object_get(obj, key)))
		return (catalog_error(cause, where,
		    "%s must be a duration string such as \"30s\"", key));
	if (catalog_get_string(obj, key, 0, where, &s, cause) != 0)
		return (-1);
	if (s == NULL) {
		*out_ms = def;
		return (0);
	}
	if (parse_duration(s, &us) != 0)
		return (catalog_error(cause, where,
		    "%s: invalid duration \"%s\" (use e.g. 500ms, 30s, 5m, "
		    "1h)", key, s));
	*out_ms = us / USEC_PER_MSEC;
	return (0);
}

/*
 * The "id" of element INDEX of array NAME: checked with valid_id, copied to
 * *id, and *where set to NAME[INDEX] ("ID") for later messages.
 */
static int
catalog_get_id(json_t *obj, const char *name, size_t index, char **id,
    char **where, char **cause)
{
	const char	*s;
	char		 at[64];

	snprintf(at, sizeof at, "%s[%zu]", name, index);
	if (!json_is_object(obj))
		return (catalog_error(cause, at, "must be an object"));
	if (catalog_get_string(obj, "id", 1, at, &s, cause) != 0)
		return (-1);
	if (!valid_id(s))
		return (catalog_error(cause, at, "invalid id \"%s\" (1 to 64 "
		    "of A-Z a-z 0-9 . _ -, not starting with . or -)", s));
	*id = xstrdup(s);
	xasprintf(where, "%s (\"%s\")", at, s);
	return (0);
}

/* Start reading the exec: signing secrets of CAT's operations (off the
 * loop; see secret.c), so that their first runs find them read. */
void
catalog_prefetch_secrets(const struct catalog *cat)
{
	char	*cause = NULL;
	size_t	 i;

	for (i = 0; i < cat->nops; i++) {
		if (cat->ops[i].secret_ref != NULL &&
		    secret_prepare(cat->ops[i].secret_ref, NULL, NULL,
		    &cause) == -1) {
			free(cause);
			cause = NULL;
		}
	}
}

static int
catalog_parse_price(json_t *obj, const char *key, const char *where,
    int64_t *out, char **cause)
{
	json_t	*v;

	if ((v = json_object_get(obj, key)) == NULL)
		return (catalog_error(cause, where, "missing \"%s\"", key));
	if (parse_usd_json(v, out) != 0)
		return (catalog_error(cause, where, "%s: invalid price (a "
		    "non-negative USD amount with at most 6 decimals, e.g. "
		    "\"0.27\")", key));
	return (0);
}

static int
catalog_parse_model(json_t *obj, size_t index, struct model *m, char **cause)
{
	const char	*s;
	char		*where = NULL;
	int		 rc = -1;

	if (catalog_get_id(obj, "models", index, &m->id, &where, cause) != 0)
		goto out;
	if (catalog_check_keys(obj, catalog_model_keys, where, cause) != 0)
		goto out;
	if (catalog_get_string(obj, "description", 0, where, &s, cause) != 0)
		goto out;
	if (s != NULL)
		m->description = xstrdup(s);
	if (catalog_parse_price(obj, "input_usd_per_mtok", where,
	    &m->input_per_mtok, cause) != 0)
		goto out;
	if (catalog_parse_price(obj, "output_usd_per_mtok", where,
	    &m->output_per_mtok, cause) != 0)
		goto out;
	rc = 0;
out:
	free(where);
	return (rc);
}

static int
catalog_parse_models(json_t *arr, struct catalog *cat, char **cause)
{
	struct catalog_key	*keys;
	size_t			 i;
	int			 rc;

	if (arr == NULL)
		return (catalog_error(cause, NULL, "missing \"models\""));
	if (!json_is_array(arr))
		return (catalog_error(cause, NULL,
		    "models must be an array"));
	if (json_array_size(arr) == 0)
		return (catalog_error(cause, NULL,
		    "models: at least one model is needed"));
	cat->models = xcalloc(json_array_size(arr), sizeof *cat->models);
	for (i = 0; i < json_array_size(arr); i++) {
		cat->nmodels++;
		if (catalog_parse_model(json_array_get(arr, i), i,
		    &cat->models[i], cause) != 0)
			return (-1);
	}
	keys = xcalloc(cat->nmodels, sizeof *keys);
	for (i = 0; i < cat->nmodels; i++) {
		keys[i].id = cat->models[i].id;
		keys[i].index = i;
	}
	rc = catalog_check_unique(keys, cat->nmodels, "models", cause);
	free(keys);
	if (rc != 0)
		return (-1);
	xqsort(cat->models, cat->nmodels, sizeof *cat->models,
	    catalog_model_cmp);
	return (0);
}

/* "argv": a non-empty array of strings, the first one non-empty. */
static int
catalog_parse_argv(json_t *obj, const char *where, struct operation *op,
    char **cause)
{
	json_t	*arr, *v;
	size_t	 i, n;

	if ((arr = json_object_get(obj, "argv")) == NULL)
		return (catalog_error(cause, where,
		    "missing \"argv\" (needed by executor \"exec\")"));
	if (!json_is_array(arr) || json_array_size(arr) == 0)
		return (catalog_error(cause, where,
		    "argv must be a non-empty array of strings"));
	n = json_array_size(arr);
	op->argv = xcalloc(n + 1, sizeof *op->argv);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			return (catalog_error(cause, where,
			    "argv[%zu] must be a string", i));
		if (strlen(json_string_value(v)) != json_string_length(v))
			return (catalog_error(cause, where,
			    "argv[%zu] contains a NUL byte", i));
		op->argv[i] = xstrdup(json_string_value(v));
	}
	if (*op->argv[0] == '\0')
		return (catalog_error(cause, where, "argv[0] is empty"));
	return (0);
}

/*
 * "env" of an exec operation: an array of names of the daemon's environment
 * variables its children get besides the allow-list of exec.c (an API key
 * the command needs, say).  Names as the shell's, not those chime sets.
 */
static int
catalog_parse_env(json_t *obj, const char *where, struct operation *op,
    char **cause)
{
	json_t		*arr, *v;
	const char	*name, *p;
	size_t		 i;

	if ((arr = json_object_get(obj, "env")) == NULL)
		return (0);
	if (!json_is_array(arr))
		return (catalog_error(cause, where,
		    "env must be an array of variable names"));
	op->env = xcalloc(json_array_size(arr) + 1, sizeof *op->env);
	json_array_foreach(arr, i, v) {
		if (!json_is_string(v))
			return (catalog_error(cause, where,
			    "env[%zu] must be a string", i));
		name = json_string_value(v);
		for (p = name; *p != '\0'; p++) {
			if (!(*p == '_' || (*p >= 'A' && *p <= 'Z') ||
			    (*p >= 'a' && *p <= 'z') ||
			    (p != name && *p >= '0' && *p <= '9')))
				break;
		}
		if (*name == '\0' || *p != '\0' ||
		    strlen(name) != json_string_length(v))
			return (catalog_error(cause, where, "env[%zu] is not "
			    "a variable name ([A-Za-z_][A-Za-z0-9_]*)", i));
		if (exec_env_reserved(name, strlen(name)))
			return (catalog_error(cause, where, "env[%zu]: %s is "
			    "set by chime", i, name));
		op->env[i] = xstrdup(name);
	}
	return (0);
}

/* "url": http:// or https://, a host, no spaces or control characters. */
static int
catalog_parse_url(json_t *obj, const char *where, struct operation *op,
    char **cause)
{
	const char	*s, *p, *host;

	if (json_object_get(obj, "url") == NULL)
		return (catalog_error(cause, where,
		    "missing \"url\" (needed by executor \"http\")"));
	if (catalog_get_string(obj, "url", 1, where, &s, cause) != 0)
		return (-1);
	if (strncasecmp(s, "http://", 7) == 0)
		host = s + 7;
	else if (strncasecmp(s, "https://", 8) == 0)
		host = s + 8;
	else
		return (catalog_error(cause, where, "url \"%s\" must begin "
		    "with http:// or https://", s));
	if (*host == '\0' || *host == '/' || *host == '?' || *host == '#')
		return (catalog_error(cause, where, "url \"%s\" has no host",
		    s));
	for (p = s; *p != '\0'; p++) {
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return (catalog_error(cause, where, "url contains a "
			    "space or a control character"));
	}
	op->url = xstrdup(s);
	return (0);
}

/*
 * What an http operation has besides its url: "secret_ref" (checked, not
 * read), "connect_timeout" and "max_response" (bytes of a response body).
 */
static int
catalog_parse_http(json_t *obj, const char *where, struct operation *op,
    char **cause)
{
	const char	*s;
	char		*why = NULL;
	json_t		*v;

	if (catalog_parse_url(obj, where, op, cause) != 0)
		return (-1);
	if (catalog_get_string(obj, "secret_ref", 0, where, &s, cause) != 0)
		return (-1);
	if (s != NULL) {
		if (secret_ref_check(s, &why) != 0) {
			catalog_error(cause, where, "%s", why);
			free(why);
			return (-1);
		}
		op->secret_ref = xstrdup(s);
	}
	if (catalog_get_duration(obj, "connect_timeout",
	    HTTP_CONNECT_TIMEOUT_MS, where, &op->connect_timeout_ms,
	    cause) != 0)
		return (-1);
	if (op->connect_timeout_ms <= 0 ||
	    op->connect_timeout_ms > CATALOG_DAY_MS)
		return (catalog_error(cause, where, "connect_timeout must be "
		    "more than 0 and at most 24h"));
	op->max_response = HTTP_MAX_RESPONSE;
	if ((v = json_object_get(obj, "max_response")) != NULL) {
		if (!json_is_integer(v) ||
		    json_integer_value(v) < CATALOG_RESPONSE_MIN ||
		    json_integer_value(v) > CATALOG_RESPONSE_MAX)
			return (catalog_error(cause, where, "max_response "
			    "must be an integer number of bytes from %lld to "
			    "%lld", CATALOG_RESPONSE_MIN,
			    CATALOG_RESPONSE_MAX));
		op->max_response = json_integer_value(v);
	}
	return (0);
}

/*
 * "executor", one of the names of executor.c's table, and what it needs:
 * argv for exec, url (and more) for http.
 */
static int
catalog_parse_executor(json_t *obj, const char *where, struct operation *op,
    char **cause)
{
	const char	*s, *exec_name, *http_name;
	size_t		 i;

	if (catalog_get_string(obj, "executor", 1, where, &s, cause) != 0)
		return (-1);
	exec_name = executor_find(EXECUTOR_EXEC)->name;
	http_name = executor_find(EXECUTOR_HTTP)->name;
	if (executor_lookup(s, &op->executor) != 0)
		return (catalog_error(cause, where, "unknown executor \"%s\" "
		    "(%s or %s)", s, exec_name, http_name));
	switch (op->executor) {
	case EXECUTOR_EXEC:
		for (i = 0; catalog_http_keys[i] != NULL; i++) {
			if (json_object_get(obj, catalog_http_keys[i]) != NULL)
				return (catalog_error(cause, where, "%s is "
				    "only allowed with executor \"%s\"",
				    catalog_http_keys[i], http_name));
		}
		if (catalog_parse_env(obj, where, op, cause) != 0)
			return (-1);
		return (catalog_parse_argv(obj, where, op, cause));
	case EXECUTOR_HTTP:
		if (json_object_get(obj, "argv") != NULL ||
		    json_object_get(obj, "env") != NULL)
			return (catalog_error(cause, where, "%s is only "
			    "allowed with executor \"%s\"",
			    json_object_get(obj, "argv") != NULL ? "argv" :
			    "env", exec_name));
		return (catalog_parse_http(obj, where, op, cause));
	case EXECUTOR_MAX:
		break;
	}
	fatalx("catalog: executor %d has no parser", op->executor);
}

static int
catalog_parse_retry(json_t *obj, const char *where, struct retry_policy *rp,
    char **cause)
{
	json_t	*v;
	char	*at;
	int	 rc = -1;

	rp->attempts = 1;
	rp->backoff_ms = CATALOG_BACKOFF_MS;
	rp->max_backoff_ms = CATALOG_MAX_BACKOFF_MS;
	if ((obj = json_object_get(obj, "retry")) == NULL)
		return (0);
	xasprintf(&at, "%s: retry", where);
	if (!json_is_object(obj)) {
		catalog_error(cause, at, "must be an object");
		goto out;
	}
	if (catalog_check_keys(obj, catalog_retry_keys, at, cause) != 0)
		goto out;
	if ((v = json_object_get(obj, "attempts")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > CATALOG_ATTEMPTS_MAX) {
			catalog_error(cause, at, "attempts must be an integer "
			    "from 1 to %d", CATALOG_ATTEMPTS_MAX);
			goto out;
		}
		rp->attempts = (int)json_integer_value(v);
	}
	if (catalog_get_duration(obj, "backoff", CATALOG_BACKOFF_MS, at,
	    &rp->backoff_ms, cause) != 0)
		goto out;
	if (catalog_get_duration(obj, "max_backoff", CATALOG_MAX_BACKOFF_MS,
	    at, &rp->max_backoff_ms, cause) != 0)
		goto out;
	if (rp->max_backoff_ms > CATALOG_DAY_MS) {
		catalog_error(cause, at, "max_backoff must be at most 24h");
		goto out;
	}
	if (rp->backoff_ms > rp->max_backoff_ms) {
		catalog_error(cause, at, "backoff is longer than max_backoff");
		goto out;
	}
	rc = 0;
out:
	free(at);
	return (rc);
}

/* One of "input" or "output": [low, mid, high], 0 <= low <= mid <= high. */
static int
catalog_parse_triple(json_t *obj, const char *key, const char *where,
    int64_t *out, char **cause)
{
	json_t	*arr, *v;
	size_t	 i;

	if ((arr = json_object_get(obj, key)) == NULL)
		return (catalog_error(cause, where, "missing \"%s\"", key));
	if (!json_is_array(arr) || json_array_size(arr) != 3)
		return (catalog_error(cause, where, "%s must be an array of "
		    "three integers [low, mid, high]", key));
	json_array_foreach(arr, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return (catalog_error(cause, where, "%s[%zu] must be "
			    "a non-negative integer", key, i));
		out[i] = json_integer_value(v);
	}
	if (out[0] > out[1] || out[1] > out[2])
		return (catalog_error(cause, where, "%s must be ordered low "
		    "<= mid <= high", key));
	return (0);
}

static int
catalog_parse_tokens(json_t *obj, const char *where, struct operation *op,
    char **cause)
{
	char	*at;
	int	 rc = -1;

	if ((obj = json_object_get(obj, "tokens")) == NULL)
		return (catalog_error(cause, where, "missing \"tokens\""));
	xasprintf(&at, "%s: tokens", where);
	if (!json_is_object(obj))
		catalog_error(cause, at, "must be an object");
	else if (catalog_check_keys(obj, catalog_tokens_keys, at, cause) == 0 &&
	    catalog_parse_triple(obj, "input", at, op->input_tokens,
	    cause) == 0 &&
	    catalog_parse_triple(obj, "output", at, op->output_tokens,
	    cause) == 0)
		rc = 0;
	free(at);
	return (rc);
}

static int
catalog_parse_operation(json_t *obj, size_t index, const struct catalog *cat,
    struct operation *op, char **cause)
{
	const char	*s;
	char		*where = NULL;
	json_t		*v;
	int		 rc = -1;

	if (catalog_get_id(obj, "operations", index, &op->id, &where,
	    cause) != 0)
		goto out;
	if (catalog_check_keys(obj, catalog_operation_keys, where, cause) != 0)
		goto out;
	if (catalog_get_string(obj, "description", 0, where, &s, cause) != 0)
		goto out;
	if (s != NULL)
		op->description = xstrdup(s);
	if (catalog_parse_executor(obj, where, op, cause) != 0)
		goto out;
	if (catalog_get_duration(obj, "timeout", CATALOG_TIMEOUT_MS, where,
	    &op->timeout_ms, cause) != 0)
		goto out;
	if (op->timeout_ms <= 0 || op->timeout_ms > CATALOG_DAY_MS) {
		catalog_error(cause, where, "timeout must be more than 0 and "
		    "at most 24h");
		goto out;
	}
	if (catalog_parse_retry(obj, where, &op->retry, cause) != 0)
		goto out;
	if (catalog_parse_tokens(obj, where, op, cause) != 0)
		goto out;
	if (catalog_get_string(obj, "default_model", 1, where, &s,
	    cause) != 0)
		goto out;
	if (catalog_model(cat, s) == NULL) {
		catalog_error(cause, where, "unknown default_model \"%s\"", s);
		goto out;
	}
	op->default_model = xstrdup(s);
	if ((v = json_object_get(obj, "idempotent")) != NULL) {
		if (!json_is_boolean(v)) {
			catalog_error(cause, where,
			    "idempotent must be true or false");
			goto out;
		}
		op->idempotent = json_is_true(v);
	}
	rc = 0;
out:
	free(where);
	return (rc);
}

static int
catalog_parse_operations(json_t *arr, struct catalog *cat, char **cause)
{
	struct catalog_key	*keys;
	size_t			 i;
	int			 rc;

	if (arr == NULL)
		return (catalog_error(cause, NULL, "missing \"operations\""));
	if (!json_is_array(arr))
		return (catalog_error(cause, NULL,
		    "operations must be an array"));
	cat->ops = xcalloc(json_array_size(arr), sizeof *cat->ops);
	for (i = 0; i < json_array_size(arr); i++) {
		cat->nops++;
		if (catalog_parse_operation(json_array_get(arr, i), i, cat,
		    &cat->ops[i], cause) != 0)
			return (-1);
	}
	keys = xcalloc(cat->nops, sizeof *keys);
	for (i = 0; i < cat->nops; i++) {
		keys[i].id = cat->ops[i].id;
		keys[i].index = i;
	}
	rc = catalog_check_unique(keys, cat->nops, "operations", cause);
	free(keys);
	if (rc != 0)
		return (-1);
	xqsort(cat->ops, cat->nops, sizeof *cat->ops, catalog_operation_cmp);
	return (0);
}

static int
catalog_parse_root(json_t *root, struct catalog *cat, char **cause)
{
	const char	*s;

	if (!json_is_object(root))
		return (catalog_error(cause, NULL,
		    "the top level must be an object"));
	if (catalog_check_keys(root, catalog_root_keys, NULL, cause) != 0)
		return (-1);
	if (catalog_get_string(root, "description", 0, NULL, &s, cause) != 0)
		return (-1);
	if (catalog_parse_models(json_object_get(root, "models"), cat,
	    cause) != 0)
		return (-1);
	return (catalog_parse_operations(json_object_get(root, "operations"),
	    cat, cause));
}

static int
catalog_key_cmp(const void *a, const void *b)
{
	const struct catalog_key	*ka = a, *kb = b;
	int				 c;

	if ((c = strcmp(ka->id, kb->id)) != 0)
		return (c);
	return (ka->index < kb->index ? -1 : ka->index > kb->index);
}

/* Refuse a repeated id, naming the later element and the first one. */
static int
catalog_check_unique(struct catalog_key *keys, size_t n, const char *name,
    char **cause)
{
	size_t	i, worst = SIZE_MAX, first = 0;
	char	at[64];

	xqsort(keys, n, sizeof *keys, catalog_key_cmp);
	for (i = 1; i < n; i++) {
		if (strcmp(keys[i - 1].id, keys[i].id) != 0)
			continue;
		/* Report the earliest repetition in file order. */
		if (worst == SIZE_MAX || keys[i].index < keys[worst].index) {
			worst = i;
			first = i - 1;
			while (first > 0 &&
			    strcmp(keys[first - 1].id, keys[i].id) == 0)
				first--;
		}
	}
	if (worst == SIZE_MAX)
		return (0);
	snprintf(at, sizeof at, "%s[%zu]", name, keys[worst].index);
	return (catalog_error(cause, at, "duplicate id \"%s\" (already "
	    "used by %s[%zu])", keys[worst].id, name, keys[first].index));
}

static int
catalog_model_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct model *)a)->id,
	    ((const struct model *)b)->id));
}

static int
catalog_operation_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct operation *)a)->id,
	    ((const struct operation *)b)->id));
}

/*
 * Parse and validate LEN bytes of catalog JSON.  SOURCE names it in syntax
 * errors and in the catalog ("(built-in)", a path).  Returns a catalog with
 * one reference, or NULL with *cause set.
 */
struct catalog *
catalog_parse(const char *buf, size_t len, const char *source, char **cause)
{
	struct catalog	*cat;
	json_t		*root;
	json_error_t	 err;

	if (source == NULL)
		source = "(catalog)";
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (root == NULL) {
		xasprintf(cause, "catalog: %s:%d:%d: %s", source, err.line,
		    err.column, err.text);
		return (NULL);
	}
	cat = xcalloc(1, sizeof *cat);
	cat->refs = 1;
	cat->source = xstrdup(source);
	if (catalog_parse_root(root, cat, cause) != 0) {
		json_decref(root);
		catalog_free(cat);
		return (NULL);
	}
	json_decref(root);
	log_debug("msg=\"catalog loaded\" source=\"%s\" operations=%zu "
	    "models=%zu", log_escape(cat->source), cat->nops, cat->nmodels);
	return (cat);
}

/* Read and parse the catalog at PATH (at most 4 MiB). */
struct catalog *
catalog_load_file(const char *path, char **cause)
{
	struct catalog	*cat;
	struct stat	 st;
	char		*buf;
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "catalog: %s: %s", path, strerror(errno));
		return (NULL);
	}
	if (fstat(fd, &st) == -1) {
		xasprintf(cause, "catalog: %s: %s", path, strerror(errno));
		close(fd);
		return (NULL);
	}
	if (!S_ISREG(st.st_mode)) {
		xasprintf(cause, "catalog: %s: not a regular file", path);
		close(fd);
		return (NULL);
	}
	buf = xmalloc(CATALOG_FILE_MAX + 1);
	while (len <= CATALOG_FILE_MAX) {
		n = read(fd, buf + len, CATALOG_FILE_MAX + 1 - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			xasprintf(cause, "catalog: %s: %s", path,
			    strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		len += n;
	}
	if (len > CATALOG_FILE_MAX) {
		xasprintf(cause, "catalog: %s: larger than %d bytes", path,
		    CATALOG_FILE_MAX);
		goto fail;
	}
	close(fd);
	cat = catalog_parse(buf, len, path, cause);
	free(buf);
	return (cat);
fail:
	close(fd);
	free(buf);
	return (NULL);
}

/* The sample catalog built into the programs. */
struct catalog *
catalog_load_default(char **cause)
{
	return (catalog_parse(catalog_default_json, catalog_default_json_len,
	    CATALOG_SOURCE_BUILTIN, cause));
}

void
catalog_ref(struct catalog *cat)
{
	cat->refs++;
}

/* Drop a reference; the last one frees the catalog. */
void
catalog_unref(struct catalog *cat)
{
	if (cat == NULL)
		return;
	if (cat->refs == 0)
		fatalx("catalog_unref: no references left");
	if (--cat->refs == 0)
		catalog_free(cat);
}

static void
catalog_model_clear(struct model *m)
{
	free(m->id);
	free(m->description);
}

static void
catalog_operation_clear(struct operation *op)
{
	char	**ap;

	free(op->id);
	if (op->argv != NULL) {
		for (ap = op->argv; *ap != NULL; ap++)
			free(*ap);
		free(op->argv);
	}
	if (op->env != NULL) {
		for (ap = op->env; *ap != NULL; ap++)
			free(*ap);
		free(op->env);
	}
	free(op->url);
	free(op->secret_ref);
	free(op->default_model);
	free(op->description);
}

static void
catalog_free(struct catalog *cat)
{
	size_t	i;

	for (i = 0; i < cat->nops; i++)
		catalog_operation_clear(&cat->ops[i]);
	free(cat->ops);
	for (i = 0; i < cat->nmodels; i++)
		catalog_model_clear(&cat->models[i]);
	free(cat->models);
	free(cat->source);
	free(cat);
}

/* The operation called ID; borrowed, valid while the catalog is. */
const struct operation *
catalog_operation(const struct catalog *cat, const char *id)
{
	struct operation	key;

	if (cat == NULL || id == NULL || cat->nops == 0)
		return (NULL);
	key.id = (char *)id;
	return (bsearch(&key, cat->ops, cat->nops, sizeof *cat->ops,
	    catalog_operation_cmp));
}

/* The model called ID; borrowed, valid while the catalog is. */
const struct model *
catalog_model(const struct catalog *cat, const char *id)
{
	struct model	key;

	if (cat == NULL || id == NULL || cat->nmodels == 0)
		return (NULL);
	key.id = (char *)id;
	return (bsearch(&key, cat->models, cat->nmodels, sizeof *cat->models,
	    catalog_model_cmp));
}

/* Milliseconds in the largest whole unit: "2h", "90s", "1500ms". */
static char *
catalog_fmt_duration(int64_t ms, char *buf, size_t len)
{
	if (ms != 0 && ms % (3600 * 1000) == 0)
		snprintf(buf, len, "%" PRId64 "h", ms / (3600 * 1000));
	else if (ms != 0 && ms % (60 * 1000) == 0)
		snprintf(buf, len, "%" PRId64 "m", ms / (60 * 1000));
	else if (ms % 1000 == 0)
		snprintf(buf, len, "%" PRId64 "s", ms / 1000);
	else
		snprintf(buf, len, "%" PRId64 "ms", ms);
	return (buf);
}

/* Micro-dollars as a decimal string with two to six decimals: "0.27". */
static char *
catalog_fmt_price(int64_t micro, char *buf, size_t len)
{
	size_t	n;

	fmt_usd(micro, buf, len);
	n = strlen(buf);
	while (n >= 4 && buf[n - 1] == '0' && buf[n - 3] != '.')
		buf[--n] = '\0';
	return (buf);
}

static json_t *
catalog_model_to_json(const struct model *m)
{
	json_t	*o;
	char	 buf[64];

	o = json_object();
	json_object_set_new(o, "id", json_string(m->id));
	if (m->description != NULL)
		json_object_set_new(o, "description",
		    json_string(m->description));
	json_object_set_new(o, "input_usd_per_mtok",
	    json_string(catalog_fmt_price(m->input_per_mtok, buf, sizeof buf)));
	json_object_set_new(o, "output_usd_per_mtok",
	    json_string(catalog_fmt_price(m->output_per_mtok, buf,
	    sizeof buf)));
	return (o);
}

static json_t *
catalog_operation_to_json(const struct operation *op)
{
	json_t	*o, *a, *t;
	char	 buf[64];
	char	**ap;
	int	 i;

	o = json_object();
	json_object_set_new(o, "id", json_string(op->id));
	if (op->description != NULL)
		json_object_set_new(o, "description",
		    json_string(op->description));
	json_object_set_new(o, "executor",
	    json_string(executor_find(op->executor)->name));
	if (op->executor == EXECUTOR_EXEC) {
		a = json_array();
		for (ap = op->argv; *ap != NULL; ap++)
			json_array_append_new(a, json_string(*ap));
		json_object_set_new(o, "argv", a);
		if (op->env != NULL) {
			a = json_array();
			for (ap = op->env; *ap != NULL; ap++)
				json_array_append_new(a, json_string(*ap));
			json_object_set_new(o, "env", a);
		}
	} else {
		json_object_set_new(o, "url", json_string(op->url));
		if (op->secret_ref != NULL)
			json_object_set_new(o, "secret_ref",
			    json_string(op->secret_ref));
		json_object_set_new(o, "connect_timeout", json_string(
		    catalog_fmt_duration(op->connect_timeout_ms, buf,
		    sizeof buf)));
		json_object_set_new(o, "max_response",
		    json_integer(op->max_response));
	}
	json_object_set_new(o, "timeout", json_string(catalog_fmt_duration(
	    op->timeout_ms, buf, sizeof buf)));
	t = json_object();
	json_object_set_new(t, "attempts", json_integer(op->retry.attempts));
	json_object_set_new(t, "backoff", json_string(catalog_fmt_duration(
	    op->retry.backoff_ms, buf, sizeof buf)));
	json_object_set_new(t, "max_backoff", json_string(
	    catalog_fmt_duration(op->retry.max_backoff_ms, buf, sizeof buf)));
	json_object_set_new(o, "retry", t);
	t = json_object();
	a = json_array();
	for (i = 0; i < 3; i++)
		json_array_append_new(a, json_integer(op->input_tokens[i]));
	json_object_set_new(t, "input", a);
	a = json_array();
	for (i = 0; i < 3; i++)
		json_array_append_new(a, json_integer(op->output_tokens[i]));
	json_object_set_new(t, "output", a);
	json_object_set_new(o, "tokens", t);
	json_object_set_new(o, "default_model", json_string(op->default_model));
	json_object_set_new(o, "idempotent", json_boolean(op->idempotent));
	return (o);
}

/*
 * The catalog as JSON, in the file format plus "source" (for catalog.get):
 * prices as decimal strings, durations as strings.  Returns a new reference.
 */
json_t *
catalog_to_json(const struct catalog *cat)
{
	json_t	*root, *a;
	size_t	 i;

	root = json_object();
	json_object_set_new(root, "source", json_string(cat->source));
	a = json_array();
	for (i = 0; i < cat->nmodels; i++)
		json_array_append_new(a,
		    catalog_model_to_json(&cat->models[i]));
	json_object_set_new(root, "models", a);
	a = json_array();
	for (i = 0; i < cat->nops; i++)
		json_array_append_new(a,
		    catalog_operation_to_json(&cat->ops[i]));
	json_object_set_new(root, "operations", a);
	return (root);
}
