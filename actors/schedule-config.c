/*
 * actors/schedule-config.c: a schedule's configuration, on its own: the
 * parameters of schedule.create and schedule.update (JSON) read into a
 * struct schedule_config, its triggers parsed, its defaults, copies, and
 * the names its enums have in parameters, rows and answers.  Nothing here
 * touches the registry, the journal or a timer; a reference to a secret
 * is read only to check that it can be.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actors.h"

#define SCHEDULE_HISTORY_DEFAULT	100
#define SCHEDULE_HISTORY_MAX		10000
#define SCHEDULE_INTERVAL_MAX		(100LL * 366 * 86400 * USEC_PER_SEC)

static int	parse_hhmm(const char *, int *, int *);
static int	parse_weekly(const char *, struct cron *, char **);
static int	parse_monthly(const char *, struct cron *, char **);
static uint64_t	config_key_bit(const char *, size_t);
static json_t	*config_get(json_t *, const char *);
static int	config_apply(struct schedule_config *, const char *, json_t *,
		    int, const char **, char **);
static int	config_trigger_kind(json_t *);
static int	config_trigger(struct schedule_config *, json_t *, int,
		    const char **, char **);
static int	config_string(json_t *, const char *, char **, int);
static int	config_enum(json_t *, const char *, const char *const *, int,
		    uint8_t *, char **);
static int	config_int(json_t *, const char *, int64_t, int64_t,
		    int64_t *, char **);
static int	config_text(json_t *, char *, size_t);
static int	config_scalars(struct schedule_config *, json_t *,
		    const char **, char **);
static int	config_batch(struct schedule_config *, const char *,
		    json_t *, const char **, char **);
static int	config_webhook(struct schedule_config *, json_t *, int,
		    const char **, char **);
static int	config_deliver(struct schedule_config *, json_t *,
		    const char **, char **);

/*
 * The parameters object schedule_config_apply is reading and a bit for
 * each of its keys (a key's bit not set: that key is absent, no lookup
 * needed).  A dozen or more of the parameters it asks for are absent from
 * most requests; each asked is a hash of the key in jansson.  Set only
 * while schedule_config_apply runs, on the thread that runs it (the loop,
 * or one of schedule.apply's workers).
 */
static __thread struct {
	json_t		*params;
	uint64_t	 keys;
} config_view;

/* The names of the triggers, also their parameters' names. */
const char *const schedule_trigger_names[TRIGGER_KINDS] = {
	"cron", "weekly", "monthly", "interval", "at", "manual", "webhook"
};
const char *const schedule_overlap_names[OVERLAP_KINDS] = {
	"skip", "queue_one", "allow", "cancel_previous"
};
const char *const schedule_catchup_names[CATCHUP_KINDS] = {
	"skip", "latest", "all"
};
static const char *const weekday_names[] = {
	"sun", "mon", "tue", "wed", "thu", "fri", "sat"
};
static const char *const weekday_full[] = {
	"sunday", "monday", "tuesday", "wednesday", "thursday", "friday",
	"saturday"
};

/* The index of S among the N NAMES, or -1. */
int
schedule_name_index(const char *s, const char *const *names, int n)
{
	int	i;

	for (i = 0; i < n; i++) {
		if (strcmp(s, names[i]) == 0)
			return (i);
	}
	return (-1);
}

/* ---- the struct -------------------------------------------------------- */

/* A configuration with the defaults of a new schedule (no name, no
 * operation, no trigger yet); schedule_config_clear frees it. */
void
schedule_config_init(struct schedule_config *c)
{
	schedule_config_defaults(c);
	c->tz = tz_load("UTC", NULL);
	c->parameters = intern("{}");
}

/* C's defaults but the zone and the parameters (NULL): what any thread
 * may set (a row is decoded off the loop at start). */
void
schedule_config_defaults(struct schedule_config *c)
{
	memset(c, 0, sizeof *c);
	c->overlap = OVERLAP_SKIP;
	c->overlap_limit = 1;
	c->catchup = CATCHUP_LATEST;
	c->catchup_window_us = 3600 * USEC_PER_SEC;
	c->priority = 5;
	c->history = SCHEDULE_HISTORY_DEFAULT;
	c->webhook_tolerance_s = WEBHOOK_TOLERANCE_S_DEFAULT;
}

/*
 * Free C's trigger text: its own allocation for an "at" trigger (an
 * instant: seldom two alike), else a shared copy (intern.c: a cron
 * expression, an interval, "mon 09:00" are shared by many).
 */
static void
config_text_drop(struct schedule_config *c)
{
	if (c->trigger == TRIGGER_AT)
		free(c->trigger_text);
	else
		intern_drop(c->trigger_text);
	c->trigger_text = NULL;
}

static char *
strdup_or_null(const char *s)
{
	return (s != NULL ? xstrdup(s) : NULL);
}

/* Make DST (uninitialised) a deep copy of SRC. */
void
schedule_config_copy(struct schedule_config *dst,
    const struct schedule_config *src)
{
	*dst = *src;
	dst->name = strdup_or_null(src->name);
	dst->operation = intern_ref(src->operation);
	dst->model = intern_ref(src->model);
	dst->parameters = intern_ref(src->parameters);
	dst->trigger_text = src->trigger == TRIGGER_AT ?
	    strdup_or_null(src->trigger_text) : intern_ref(src->trigger_text);
	dst->note = strdup_or_null(src->note);
	dst->batch_template = strdup_or_null(src->batch_template);
	dst->webhook_secret_ref = strdup_or_null(src->webhook_secret_ref);
	dst->deliver = strdup_or_null(src->deliver);
}

/* Free what C holds (the zone is shared and stays). */
void
schedule_config_clear(struct schedule_config *c)
{
	free(c->name);
	intern_drop(c->operation);
	intern_drop(c->model);
	intern_drop(c->parameters);
	config_text_drop(c);
	free(c->note);
	free(c->batch_template);
	free(c->webhook_secret_ref);
	free(c->deliver);
	memset(c, 0, sizeof *c);
}

/* ---- triggers ---------------------------------------------------------- */

/* "09:30" -> hour, minute. */
static int
parse_hhmm(const char *s, int *h, int *m)
{
	char	*end;
	long	 hv, mv;

	hv = strtol(s, &end, 10);
	if (end == s || *end != ':' || !isdigit((unsigned char)end[1]))
		return (-1);
	mv = strtol(end + 1, &end, 10);
	if (*end != '\0' || hv < 0 || hv > 23 || mv < 0 || mv > 59)
		return (-1);
	*h = (int)hv;
	*m = (int)mv;
	return (0);
}

/* "mon 09:00" (or "1 09:00", "monday 09:00") */
static int
parse_weekly(const char *spec, struct cron *c, char **reason)
{
	char	 day[16], hm[16];
	int	 dow = -1, h, m, i;

	if (sscanf(spec, "%15s %15s", day, hm) != 2) {
		*reason = xstrdup("expected \"DAY HH:MM\", e.g. \"mon 09:00\"");
		return (-1);
	}
	for (i = 0; i < 7; i++) {
		if (strcasecmp(day, weekday_names[i]) == 0 ||
		    strcasecmp(day, weekday_full[i]) == 0)
			dow = i;
	}
	if (dow == -1 && day[0] >= '0' && day[0] <= '7' && day[1] == '\0')
		dow = (day[0] - '0') % 7;
	if (dow == -1) {
		xasprintf(reason, "unknown day \"%s\" (sun..sat or 0..7)", day);
		return (-1);
	}
	if (parse_hhmm(hm, &h, &m) == -1) {
		xasprintf(reason, "bad time \"%s\" (HH:MM)", hm);
		return (-1);
	}
	cron_weekly(dow, h, m, c);
	return (0);
}

/* "15 09:00" or "last 18:30" */
static int
parse_monthly(const char *spec, struct cron *c, char **reason)
{
	char	 day[16], hm[16], *end;
	long	 dom;
	int	 h, m;

	if (sscanf(spec, "%15s %15s", day, hm) != 2) {
		*reason = xstrdup("expected \"DAY HH:MM\" with DAY 1-31 or "
		    "last, e.g. \"last 18:00\"");
		return (-1);
	}
	if (strcasecmp(day, "last") == 0)
		dom = 0;
	else {
		dom = strtol(day, &end, 10);
		if (*end != '\0' || dom < 1 || dom > 31) {
			xasprintf(reason, "bad day \"%s\" (1-31 or last)", day);
			return (-1);
		}
	}
	if (parse_hhmm(hm, &h, &m) == -1) {
		xasprintf(reason, "bad time \"%s\" (HH:MM)", hm);
		return (-1);
	}
	cron_monthly((int)dom, h, m, c);
	return (0);
}

/*
 * Read the instants of trigger KIND given as SPEC into C (its cron, its
 * interval, its instant), leaving its kind and text as they are (STORED:
 * as read from a row; else as given by a caller): any thread may.  On
 * error *reason says why.
 */
int
schedule_config_when(struct schedule_config *t, int kind, const char *spec,
    int stored, char **reason)
{
	struct cron	c;
	int64_t		v;

	/* cron, interval_us and at_us share their bytes: each is written
	 * whole, and only once SPEC is read */
	memset(&c, 0, sizeof c);
	switch (kind) {
	case TRIGGER_CRON:
		/* A STORED row may hold a cron that never fires, from
		 * before such were refused: it loads, with no next fire. */
		if ((stored ? cron_parse_stored(spec, &c, reason) :
		    cron_parse(spec, &c, reason)) == -1)
			return (-1);
		t->cron = c;
		break;
	case TRIGGER_WEEKLY:
		if (parse_weekly(spec, &c, reason) == -1)
			return (-1);
		t->cron = c;
		break;
	case TRIGGER_MONTHLY:
		if (parse_monthly(spec, &c, reason) == -1)
			return (-1);
		t->cron = c;
		break;
	case TRIGGER_INTERVAL:
		if (parse_duration(spec, &v) == -1 || v < USEC_PER_SEC ||
		    v % USEC_PER_SEC != 0 || v > SCHEDULE_INTERVAL_MAX) {
			*reason = xstrdup("must be a whole number of seconds, "
			    "from 1 to 100 years (\"30s\", \"5m\", \"1h\")");
			return (-1);
		}
		t->cron = c;
		t->interval_us = v;
		break;
	case TRIGGER_AT:
		if (parse_rfc3339(spec, &v) == -1) {
			*reason = xstrdup("must be an RFC 3339 instant");
			return (-1);
		}
		t->cron = c;
		t->at_us = v - v % USEC_PER_SEC;
		break;
	case TRIGGER_MANUAL:
	case TRIGGER_WEBHOOK:
		t->cron = c;
		break;
	default:
		*reason = xstrdup("unknown trigger");
		return (-1);
	}
	return (0);
}

/* C's trigger is KIND, given as the LEN bytes at SPEC (schedule_config_when
 * has read them). */
void
schedule_config_trigger_text(struct schedule_config *t, int kind,
    const char *spec, size_t len)
{
	config_text_drop(t);
	t->trigger = (uint8_t)kind;
	t->trigger_text = kind == TRIGGER_AT ? xstrndup(spec, len) :
	    intern_n(spec, len);
}

/*
 * Set C's trigger from KIND and its text SPEC (STORED: as read from a
 * row; else as given by a caller).  On error *reason says why.
 */
int
schedule_config_trigger(struct schedule_config *t, int kind,
    const char *spec, int stored, char **reason)
{
	if (schedule_config_when(t, kind, spec, stored, reason) == -1)
		return (-1);
	schedule_config_trigger_text(t, kind, spec, strlen(spec));
	return (0);
}

/* ---- parameters -------------------------------------------------------- */

/* The trigger given in PARAMS: its kind, or -1 (none), or -2 (several). */
static int
config_trigger_kind(json_t *params)
{
	int	i, kind = -1;

	for (i = 0; i < TRIGGER_KINDS; i++) {
		if (config_get(params, schedule_trigger_names[i]) == NULL)
			continue;
		if ((i == TRIGGER_MANUAL || i == TRIGGER_WEBHOOK) &&
		    !json_is_true(config_get(params,
		    schedule_trigger_names[i])))
			continue;
		if (kind != -1)
			return (-2);
		kind = i;
	}
	return (kind);
}

static int
config_trigger(struct schedule_config *t, json_t *params, int creating,
    const char **field, char **reason)
{
	json_t	*v;
	char	 buf[64];
	int	 kind;

	if ((kind = config_trigger_kind(params)) == -2) {
		*field = "cron";
		*reason = xstrdup("give exactly one trigger: cron, weekly, "
		    "monthly, interval, at, manual or webhook");
		return (-1);
	}
	if (kind == -1) {
		if (!creating)
			return (0);
		*field = "cron";
		*reason = xstrdup("a trigger is required: cron, weekly, "
		    "monthly, interval, at, manual or webhook");
		return (-1);
	}
	*field = schedule_trigger_names[kind];
	v = config_get(params, schedule_trigger_names[kind]);
	if (kind == TRIGGER_INTERVAL && json_is_integer(v)) {
		snprintf(buf, sizeof buf, "%llds",
		    (long long)json_integer_value(v));
		return (schedule_config_trigger(t, kind, buf, 0, reason));
	}
	if (kind == TRIGGER_AT && json_is_string(v)) {
		int64_t	at;

		if (parse_rfc3339(json_string_value(v), &at) == 0) {
			if (at <= now_us()) {
				*reason = xstrdup("is in the past");
				return (-1);
			}
			fmt_rfc3339(at, buf, sizeof buf);
			return (schedule_config_trigger(t, kind, buf, 0,
			    reason));
		}
	}
	if (kind == TRIGGER_MANUAL || kind == TRIGGER_WEBHOOK)
		return (schedule_config_trigger(t, kind, "", 0, reason));
	if (!json_is_string(v)) {
		*reason = xstrdup("must be a string");
		return (-1);
	}
	return (schedule_config_trigger(t, kind, json_string_value(v), 0,
	    reason));
}

static int
config_string(json_t *params, const char *key, char **dst, int nullable)
{
	json_t	*v = config_get(params, key);

	if (v == NULL)
		return (0);
	free(*dst);
	*dst = NULL;
	if (json_is_null(v) && nullable)
		return (0);
	if (!json_is_string(v))
		return (-1);
	/* An empty string clears a field that may be unset. */
	if (nullable && *json_string_value(v) == '\0')
		return (0);
	*dst = xstrdup(json_string_value(v));
	return (0);
}

/* config_string for a field that holds a shared string (intern.c). */
static int
config_shared(json_t *params, const char *key, char **dst, int nullable)
{
	char	*s = NULL;
	int	 rc;

	if (config_get(params, key) == NULL)
		return (0);
	intern_drop(*dst);
	rc = config_string(params, key, &s, nullable);
	*dst = intern(s);
	free(s);
	return (rc);
}

static int
config_enum(json_t *params, const char *key, const char *const *names, int n,
    uint8_t *dst, char **reason)
{
	json_t	*v = config_get(params, key);
	int	 i;

	if (v == NULL)
		return (0);
	if (!json_is_string(v) ||
	    (i = schedule_name_index(json_string_value(v), names, n)) == -1) {
		xasprintf(reason, "must be one of %s%s%s%s%s%s%s", names[0],
		    n > 1 ? ", " : "", n > 1 ? names[1] : "",
		    n > 2 ? ", " : "", n > 2 ? names[2] : "",
		    n > 3 ? ", " : "", n > 3 ? names[3] : "");
		return (-1);
	}
	*dst = (uint8_t)i;
	return (0);
}

static int
config_int(json_t *params, const char *key, int64_t lo, int64_t hi,
    int64_t *out, char **reason)
{
	json_t	*v = config_get(params, key);

	if (v == NULL)
		return (1);
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi) {
		xasprintf(reason, "must be an integer from %lld to %lld",
		    (long long)lo, (long long)hi);
		return (-1);
	}
	*out = json_integer_value(v);
	return (0);
}

/* Money or duration given as a string or a number. */
static int
config_text(json_t *v, char *buf, size_t len)
{
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%.6f", json_real_value(v));
	else
		return (-1);
	return (0);
}

static int
config_scalars(struct schedule_config *t, json_t *params, const char **field,
    char **reason)
{
	json_t	*v;
	char	 buf[64];
	int64_t	 n;

	*field = "overlap";
	if (config_enum(params, "overlap", schedule_overlap_names,
	    OVERLAP_KINDS, &t->overlap,
	    reason) == -1)
		return (-1);
	*field = "catchup";
	if (config_enum(params, "catchup", schedule_catchup_names,
	    CATCHUP_KINDS, &t->catchup,
	    reason) == -1)
		return (-1);
	*field = "overlap_limit";
	if ((config_int(params, *field, 1, 64, &n, reason)) == -1)
		return (-1);
	else if (config_get(params, *field) != NULL)
		t->overlap_limit = (uint8_t)n;
	*field = "priority";
	if (config_int(params, *field, 1, 10, &n, reason) == -1)
		return (-1);
	else if (config_get(params, *field) != NULL)
		t->priority = (uint8_t)n;
	*field = "history";
	if (config_int(params, *field, 1, SCHEDULE_HISTORY_MAX, &n,
	    reason) == -1)
		return (-1);
	else if (config_get(params, *field) != NULL)
		t->history = (uint16_t)n;
	*field = "catchup_window";
	if ((v = config_get(params, *field)) != NULL) {
		if (config_text(v, buf, sizeof buf) == -1 ||
		    parse_duration(buf, &n) == -1 || n > 366 * 86400 *
		    USEC_PER_SEC) {
			*reason = xstrdup("must be a duration up to 366d "
			    "(\"30m\", \"1h\", \"2d\")");
			return (-1);
		}
		t->catchup_window_us = n;
	}
	*field = "max_cost_month";
	if ((v = config_get(params, *field)) != NULL) {
		if (json_is_null(v))
			t->max_cost_month = 0;
		else if (config_text(v, buf, sizeof buf) == -1 ||
		    parse_usd(buf, &n) == -1) {
			*reason = xstrdup("must be an amount in USD, e.g. "
			    "\"5.00\"");
			return (-1);
		} else
			t->max_cost_month = n;
	}
	return (0);
}

/*
 * A batch template as the schedule's target ("batch": the definition of
 * batch.create): each occurrence creates and starts a batch.  Its
 * operation is then "batch".
 */
static int
config_batch(struct schedule_config *t, const char *account, json_t *params,
    const char **field, char **reason)
{
	json_t	*v = config_get(params, "batch");
	char	*tmpl, *bfield = NULL, *breason = NULL;
	int64_t	 mid;

	if (v == NULL)
		return (0);
	*field = "batch";
	if (json_is_null(v)) {
		free(t->batch_template);
		t->batch_template = NULL;
		return (0);
	}
	if (!json_is_object(v) || config_get(params, "operation") !=
	    NULL) {
		*reason = xstrdup("must be a batch definition (a JSON object), "
		    "instead of an operation");
		return (-1);
	}
	tmpl = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	if (dispatch_template_check(tmpl, account, &bfield, &breason,
	    &mid) == -1) {
		xasprintf(reason, "%s: %s", bfield, breason);
		free(bfield);
		free(breason);
		free(tmpl);
		return (-1);
	}
	free(t->batch_template);
	t->batch_template = tmpl;
	intern_drop(t->operation);
	t->operation = intern("batch");
	return (0);
}

/*
 * The webhook settings: "webhook_secret" (a secret reference, or
 * "generated" at create: the caller makes it once the id is known) and
 * "webhook_tolerance" (webhook_tolerance_s: the parameter's name has no
 * unit, the field, the row and the answers say seconds).  A webhook
 * trigger needs a secret.
 */
static int
config_webhook(struct schedule_config *t, json_t *params, int creating,
    const char **field, char **reason)
{
	json_t		*v;
	const char	*ref;
	char		*cause = NULL;
	json_int_t	 n;

	*field = "webhook_tolerance";
	if ((v = config_get(params, *field)) != NULL) {
		if (!json_is_integer(v) || (n = json_integer_value(v)) < 1 ||
		    n > 86400) {
			*reason = xstrdup("must be a whole number of seconds "
			    "from 1 to 86400");
			return (-1);
		}
		t->webhook_tolerance_s = (int32_t)n;
	}
	*field = "webhook_style";
	if ((v = config_get(params, *field)) != NULL) {
		if (!json_is_string(v) || (n = schedule_name_index(
		    json_string_value(v), webhook_style_names,
		    WEBHOOK_NSTYLES)) == -1) {
			*reason = xstrdup("must be standard, github or stripe");
			return (-1);
		}
		t->webhook_style = (uint8_t)n;
	}
	*field = "webhook_secret";
	if ((v = config_get(params, "webhook_secret")) != NULL) {
		if (!json_is_string(v)) {
			*reason = xstrdup("must be a secret reference (env:, "
			    "file:, exec:) or \"generated\"");
			return (-1);
		}
		ref = json_string_value(v);
		if (strcmp(ref, "generated") == 0) {
			if (!creating) {
				*reason = xstrdup("\"generated\" is only "
				    "possible at create; webhook.rotate makes "
				    "a new generated secret");
				return (-1);
			}
		} else if (strncmp(ref, "generated:", 10) == 0) {
			*reason = xstrdup("use \"generated\": the daemon "
			    "names generated secrets");
			return (-1);
		} else if (secret_ref_check(ref, reason) == -1)
			return (-1);
		free(t->webhook_secret_ref);
		t->webhook_secret_ref = xstrdup(ref);
	}
	/* A secret given, or one that must sign in another style: it must
	 * read now, and fit the style (Standard Webhooks: base64). */
	if (t->webhook_secret_ref != NULL &&
	    strcmp(t->webhook_secret_ref, "generated") != 0 &&
	    (v != NULL || config_get(params, "webhook_style") != NULL) &&
	    webhook_secret_usable(t->webhook_secret_ref, t->webhook_style,
	    &cause) == -1) {
		*field = v != NULL ? "webhook_secret" : "webhook_style";
		xasprintf(reason, "cannot be read now: %s", cause);
		free(cause);
		return (-1);
	}
	if (t->trigger == TRIGGER_WEBHOOK && t->webhook_secret_ref == NULL) {
		*reason = xstrdup("a webhook trigger needs a secret (env:NAME, "
		    "file:PATH, exec:COMMAND or generated)");
		return (-1);
	}
	return (0);
}

/*
 * "deliver" (an object) and its flat forms "email_to" (addresses; "none"
 * turns delivery off), "email_on", "email_subject", "email_attach", each
 * over the delivery the schedule has: checked whole by
 * email_deliver_check; no recipient left turns delivery off.
 */
static int
config_deliver(struct schedule_config *t, json_t *params, const char **field,
    char **reason)
{
	static const char *const flat[][2] = {
		{ "email_to", "email_to" }, { "email_on", "on" },
		{ "email_subject", "subject" },
		{ "email_attach", "attach_result" },
	};
	json_t		*d, *v, *given;
	const char	*key;
	char		*text = NULL;
	size_t		 i;
	int		 any = 0;

	/* Nothing of delivery given: nothing to do (most entries). */
	given = config_get(params, "deliver");
	for (i = 0; given == NULL && i < sizeof flat / sizeof flat[0]; i++) {
		if (config_get(params, flat[i][0]) != NULL)
			break;
	}
	if (given == NULL && i == sizeof flat / sizeof flat[0])
		return (0);
	d = t->deliver != NULL ? json_loads(t->deliver, 0, NULL) : NULL;
	if (d == NULL)
		d = json_object();
	if (given != NULL) {
		any = 1;
		if (!json_is_object(given)) {
			*field = "deliver";
			*reason = xstrdup("must be an object");
			json_decref(d);
			return (-1);
		}
		/* An empty object turns delivery off. */
		if (json_object_size(given) == 0)
			json_object_clear(d);
		json_object_foreach(given, key, v)
			json_object_set(d, key, v);
	}
	for (i = 0; i < sizeof flat / sizeof flat[0]; i++) {
		if ((v = config_get(params, flat[i][0])) == NULL)
			continue;
		any = 1;
		if (i == 0 && json_is_array(v) && json_array_size(v) == 1 &&
		    json_is_string(json_array_get(v, 0)) && strcmp(
		    json_string_value(json_array_get(v, 0)), "none") == 0)
			v = json_array();
		else
			json_incref(v);
		json_object_set_new(d, flat[i][1], v);
	}
	if (!any) {
		json_decref(d);
		return (0);
	}
	if (email_deliver_check(d, &text, field, reason) == -1) {
		json_decref(d);
		return (-1);
	}
	json_decref(d);
	/* Settings of a delivery that has no recipient are a mistake, not
	 * a way to turn it off ("email_to": "none", "deliver": {} are). */
	if (text == NULL && config_get(params, "email_to") == NULL &&
	    (given == NULL || json_object_size(given) > 0)) {
		*field = "email_to";
		*reason = xstrdup("is required for a delivery (the schedule "
		    "has no recipient)");
		return (-1);
	}
	free(t->deliver);
	t->deliver = text;
	return (0);
}

/* KEY's bit (LEN bytes) in config_view.keys. */
static uint64_t
config_key_bit(const char *key, size_t len)
{
	if (len == 0)
		return (1);
	return ((uint64_t)1 << ((len * 7 + (u_char)key[0] * 3 +
	    (u_char)key[len - 1]) & 63));
}

/* json_object_get of PARAMS, without the lookup of a key it lacks when
 * PARAMS is the object being applied. */
static json_t *
config_get(json_t *params, const char *key)
{
	if (params != NULL && params == config_view.params &&
	    (config_view.keys & config_key_bit(key, strlen(key))) == 0)
		return (NULL);
	return (json_object_get(params, key));
}

/*
 * Apply the configuration in PARAMS to T (the defaults for a new schedule
 * of ACCOUNT when CREATING, else a copy of the schedule's).  On error
 * *field names the parameter and *reason (allocated) says why; T is then
 * partly changed, to be cleared.
 */
int
schedule_config_apply(struct schedule_config *t, const char *account,
    json_t *params, int creating, const char **field, char **reason)
{
	const char	*key;
	json_t		*v;
	int		 rc;

	config_view.params = NULL;
	config_view.keys = 0;
	if (json_is_object(params)) {
		json_object_foreach(params, key, v)
			config_view.keys |= config_key_bit(key, strlen(key));
		config_view.params = params;
	}
	rc = config_apply(t, account, params, creating, field, reason);
	config_view.params = NULL;
	return (rc);
}

static int
config_apply(struct schedule_config *t, const char *account, json_t *params,
    int creating, const char **field, char **reason)
{
	const struct catalog	*cat = engine->catalog;
	json_t			*v;
	const struct tz		*tz;
	char			*text;

	*field = "name";
	if (config_string(params, "name", &t->name, 0) == -1 ||
	    (t->name != NULL && !valid_id(t->name))) {
		*reason = xstrdup("must be 1-64 of A-Z a-z 0-9 . _ - (not "
		    "starting with . or -)");
		return (-1);
	}
	if (creating && t->name == NULL) {
		*reason = xstrdup("is required");
		return (-1);
	}
	if (config_batch(t, account, params, field, reason) == -1)
		return (-1);
	*field = "operation";
	if (config_shared(params, "operation", &t->operation, 0) == -1 ||
	    (creating && t->operation == NULL)) {
		*reason = xstrdup("is required (an operation of the catalog, "
		    "or a batch template in \"batch\")");
		return (-1);
	}
	if (config_get(params, "operation") != NULL &&
	    catalog_operation(cat, t->operation) == NULL) {
		/* (checked below) */
		xasprintf(reason, "unknown operation \"%s\"", t->operation);
		return (-1);
	}
	if (config_get(params, "operation") != NULL) {
		/* A real operation replaces a batch target. */
		free(t->batch_template);
		t->batch_template = NULL;
	}
	*field = "model";
	if (config_shared(params, "model", &t->model, 1) == -1 ||
	    (t->model != NULL && catalog_model(cat, t->model) == NULL)) {
		xasprintf(reason, "unknown model \"%s\"", t->model != NULL ?
		    t->model : "");
		return (-1);
	}
	*field = "tz";
	if ((v = config_get(params, "tz")) != NULL) {
		if (!json_is_string(v) || (tz = tz_load(json_string_value(v),
		    reason)) == NULL) {
			if (*reason == NULL)
				*reason = xstrdup("must be an IANA zone name");
			return (-1);
		}
		t->tz = tz;
	}
	*field = "parameters";
	if ((v = config_get(params, "parameters")) != NULL) {
		if (!json_is_object(v)) {
			*reason = xstrdup("must be a JSON object");
			return (-1);
		}
		text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		intern_drop(t->parameters);
		t->parameters = intern(text);
		free(text);
	}
	*field = "note";
	if (config_string(params, "note", &t->note, 1) == -1) {
		*reason = xstrdup("must be a string");
		return (-1);
	}
	if (config_scalars(t, params, field, reason) == -1)
		return (-1);
	if (config_deliver(t, params, field, reason) == -1)
		return (-1);
	if (config_trigger(t, params, creating, field, reason) == -1)
		return (-1);
	return (config_webhook(t, params, creating, field, reason));
}
