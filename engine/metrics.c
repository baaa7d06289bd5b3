/*
 * engine/metrics.c: a small metrics registry and its Prometheus text
 * exposition (format 0.0.4).  Counters with up to two labels, gauges (and
 * counters) whose value a callback computes at scrape time, and histograms
 * with fixed buckets that take microseconds and expose seconds.  Everything
 * runs on the loop thread: there is no locking.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

#define METRICS_MAX_SERIES	64	/* label combinations per metric */

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
	METRIC_HISTOGRAM,
};

struct metric_series {
	char			*values[METRICS_MAX_LABELS];
	uint64_t		 count;		/* counter value */
	double			 (*fn)(void *);	/* callback series */
	void			*arg;
	TAILQ_ENTRY(metric_series) entry;
};
TAILQ_HEAD(metric_series_list, metric_series);

struct metric {
	char			*name;
	char			*help;
	enum metric_type	 type;
	size_t			 nlabels;
	char			*labels[METRICS_MAX_LABELS];
	struct metric_series_list series;
	size_t			 nseries;
	int			 overflow_logged;
	/* Histograms. */
	int64_t			*bounds;	/* upper bounds, microseconds */
	size_t			 nbounds;
	uint64_t		*buckets;	/* nbounds + 1 (+Inf) */
	int64_t			 sum_us;
	uint64_t		 hcount;
	/* Collected: series made at each rendering. */
	metrics_collect_fn	 collect;
	TAILQ_ENTRY(metric)	 entry;
};
TAILQ_HEAD(metric_list, metric);

static struct metric_list	metrics = TAILQ_HEAD_INITIALIZER(metrics);

/* A growing text buffer for the exposition. */
struct metrics_buf {
	char	*buf;
	size_t	 len;
	size_t	 size;
};

static int	 metrics_valid_name(const char *, int);
static struct metric *metrics_find(const char *);
static struct metric *metrics_new(const char *, const char *,
		     enum metric_type, const char *const *, size_t, char **);
static struct metric_series *metrics_series(struct metric *,
		     const char *const *, int);
static void	 metrics_escape(struct metrics_buf *, const char *, int);
static void	 metrics_put_labels(struct metrics_buf *,
		     const struct metric *, const struct metric_series *,
		     const char *);
static void	 metrics_put_seconds(struct metrics_buf *, int64_t);
static void	 metrics_put_double(struct metrics_buf *, double);
static void	 metrics_put_metric(struct metrics_buf *,
		     const struct metric *);
static void	 metrics_put(struct metrics_buf *, const char *, size_t);
static void	 metrics_printf(struct metrics_buf *, const char *, ...)
		     printflike(2, 3);

/*
 * A metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or, with LABEL, a label name
 * ([a-zA-Z_][a-zA-Z0-9_]*, not beginning with "__").
 */
static int
metrics_valid_name(const char *s, int label)
{
	const char	*p;

	if (s == NULL || *s == '\0' || strlen(s) > 128)
		return (0);
	if (label && strncmp(s, "__", 2) == 0)
		return (0);
	for (p = s; *p != '\0'; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    *p == '_')
			continue;
		if (*p == ':' && !label)
			continue;
		if (*p >= '0' && *p <= '9' && p != s)
			continue;
		return (0);
	}
	return (1);
}

static struct metric *
metrics_find(const char *name)
{
	struct metric	*m;

	TAILQ_FOREACH(m, &metrics, entry) {
		if (strcmp(m->name, name) == 0)
			return (m);
	}
	return (NULL);
}

/* Check and add a metric; NULL and *cause when refused. */
static struct metric *
metrics_new(const char *name, const char *help, enum metric_type type,
    const char *const *labels, size_t nlabels, char **cause)
{
	struct metric	*m;
	size_t		 i, j, len;

	if (!metrics_valid_name(name, 0)) {
		xasprintf(cause, "bad metric name \"%s\"", name != NULL ?
		    name : "");
		return (NULL);
	}
	len = strlen(name);
	if (type == METRIC_COUNTER && (len < 7 ||
	    strcmp(name + len - 6, "_total") != 0)) {
		xasprintf(cause, "counter %s: name must end with _total", name);
		return (NULL);
	}
	if (metrics_find(name) != NULL) {
		xasprintf(cause, "metric %s: already registered", name);
		return (NULL);
	}
	if (nlabels > METRICS_MAX_LABELS) {
		xasprintf(cause, "metric %s: at most %d labels", name,
		    METRICS_MAX_LABELS);
		return (NULL);
	}
	for (i = 0; i < nlabels; i++) {
		if (!metrics_valid_name(labels[i], 1) ||
		    (type == METRIC_HISTOGRAM && strcmp(labels[i], "le") == 0)) {
			xasprintf(cause, "metric %s: bad label name \"%s\"",
			    name, labels[i] != NULL ? labels[i] : "");
			return (NULL);
		}
		for (j = 0; j < i; j++) {
			if (strcmp(labels[i], labels[j]) == 0) {
				xasprintf(cause, "metric %s: label %s twice",
				    name, labels[i]);
				return (NULL);
			}
		}
	}
	m = xcalloc(1, sizeof *m);
	m->name = xstrdup(name);
	m->help = xstrdup(help != NULL ? help : "");
	m->type = type;
	m->nlabels = nlabels;
	for (i = 0; i < nlabels; i++)
		m->labels[i] = xstrdup(labels[i]);
	TAILQ_INIT(&m->series);
	TAILQ_INSERT_TAIL(&metrics, m, entry);
	return (m);
}

/* The series of M with label VALUES, created when CREATE and room is left. */
static struct metric_series *
metrics_series(struct metric *m, const char *const *values, int create)
{
	struct metric_series	*s;
	size_t			 i;

	TAILQ_FOREACH(s, &m->series, entry) {
		for (i = 0; i < m->nlabels; i++) {
			if (strcmp(s->values[i], values[i]) != 0)
				break;
		}
		if (i == m->nlabels)
			return (s);
	}
	if (!create)
		return (NULL);
	if (m->nseries >= METRICS_MAX_SERIES) {
		if (!m->overflow_logged)
			log_warnx("msg=\"metric has too many series; new "
			    "label values are dropped\" metric=%s", m->name);
		m->overflow_logged = 1;
		return (NULL);
	}
	s = xcalloc(1, sizeof *s);
	for (i = 0; i < m->nlabels; i++)
		s->values[i] = xstrdup(values[i]);
	TAILQ_INSERT_TAIL(&m->series, s, entry);
	m->nseries++;
	return (s);
}

int
metrics_counter(const char *name, const char *help, const char *const *labels,
    size_t nlabels, char **cause)
{
	return (metrics_new(name, help, METRIC_COUNTER, labels, nlabels,
	    cause) == NULL ? -1 : 0);
}

/*
 * Add one series computed by FN(ARG) at each scrape, to the gauge (or,
 * with COUNTER, the counter) NAME, created on first use with the label
 * name LABEL (NULL: none); VALUE is this series' label value.
 */
int
metrics_callback(const char *name, const char *help, int counter,
    const char *label, const char *value, double (*fn)(void *), void *arg,
    char **cause)
{
	struct metric		*m;
	struct metric_series	*s;
	const char		*labels[1] = { label };
	const char		*values[1] = { value };

	if (fn == NULL || (label != NULL) != (value != NULL)) {
		xasprintf(cause, "metric %s: a callback and, with a label, a "
		    "value are needed", name != NULL ? name : "");
		return (-1);
	}
	if ((m = metrics_find(name != NULL ? name : "")) == NULL) {
		m = metrics_new(name, help, counter ? METRIC_COUNTER :
		    METRIC_GAUGE, labels, label != NULL, cause);
		if (m == NULL)
			return (-1);
	} else if (m->type != (counter ? METRIC_COUNTER : METRIC_GAUGE) ||
	    m->nlabels != (label != NULL) || (label != NULL &&
	    strcmp(m->labels[0], label) != 0)) {
		xasprintf(cause, "metric %s: registered differently", name);
		return (-1);
	}
	if (metrics_series(m, values, 0) != NULL) {
		xasprintf(cause, "metric %s: series registered twice", name);
		return (-1);
	}
	if ((s = metrics_series(m, values, 1)) == NULL) {
		xasprintf(cause, "metric %s: too many series", name);
		return (-1);
	}
	s->fn = fn;
	s->arg = arg;
	return (0);
}

int
metrics_histogram(const char *name, const char *help, const int64_t *bounds,
    size_t nbounds, char **cause)
{
	struct metric	*m;
	size_t		 i;

	if (nbounds == 0 || nbounds > 64) {
		xasprintf(cause, "histogram %s: 1 to 64 buckets", name != NULL ?
		    name : "");
		return (-1);
	}
	for (i = 0; i < nbounds; i++) {
		if (bounds[i] <= 0 || (i > 0 && bounds[i] <= bounds[i - 1])) {
			xasprintf(cause, "histogram %s: bucket bounds must be "
			    "positive and increasing", name != NULL ? name :
			    "");
			return (-1);
		}
	}
	if ((m = metrics_new(name, help, METRIC_HISTOGRAM, NULL, 0,
	    cause)) == NULL)
		return (-1);
	m->bounds = xreallocarray(NULL, nbounds, sizeof *m->bounds);
	memcpy(m->bounds, bounds, nbounds * sizeof *m->bounds);
	m->nbounds = nbounds;
	m->buckets = xcalloc(nbounds + 1, sizeof *m->buckets);
	return (0);
}

/*
 * Add N to the counter NAME for the label VALUES (as many as it has
 * labels); N 0 makes the series appear.  Unknown names and callback
 * counters are ignored, as a wrong call must never stop the daemon.
 */
void
metrics_count_labels(const char *name, const char *const *values, uint64_t n)
{
	struct metric		*m;
	struct metric_series	*s;
	size_t			 i;

	if ((m = metrics_find(name)) == NULL || m->type != METRIC_COUNTER)
		return;
	for (i = 0; i < m->nlabels; i++) {
		if (values == NULL || values[i] == NULL)
			return;
	}
	if ((s = metrics_series(m, values, 1)) == NULL || s->fn != NULL)
		return;
	s->count += n;
}

/* Add N to the counter NAME with no label or one label of value VALUE. */
void
metrics_count(const char *name, const char *value, uint64_t n)
{
	const char	*values[1] = { value };

	metrics_count_labels(name, values, n);
}

/* Observe US microseconds (negative counts as 0) in the histogram NAME. */
void
metrics_observe_us(const char *name, int64_t us)
{
	struct metric	*m;
	size_t		 i;

	if ((m = metrics_find(name)) == NULL || m->type != METRIC_HISTOGRAM)
		return;
	if (us < 0)
		us = 0;
	for (i = 0; i < m->nbounds; i++) {
		if (us <= m->bounds[i])
			break;
	}
	m->buckets[i]++;
	m->hcount++;
	m->sum_us += us;
}

/* The value of a counter series without labels or with one label. */
uint64_t
metrics_value(const char *name, const char *value)
{
	struct metric		*m;
	struct metric_series	*s;
	const char		*values[1] = { value };

	if ((m = metrics_find(name)) == NULL || m->type != METRIC_COUNTER ||
	    (m->nlabels == 1 && value == NULL) ||
	    (s = metrics_series(m, values, 0)) == NULL)
		return (0);
	return (s->fn != NULL ? (uint64_t)s->fn(s->arg) : s->count);
}

void
metrics_free(void)
{
	struct metric		*m;
	struct metric_series	*s;
	size_t			 i;

	while ((m = TAILQ_FIRST(&metrics)) != NULL) {
		TAILQ_REMOVE(&metrics, m, entry);
		while ((s = TAILQ_FIRST(&m->series)) != NULL) {
			TAILQ_REMOVE(&m->series, s, entry);
			for (i = 0; i < m->nlabels; i++)
				free(s->values[i]);
			free(s);
		}
		for (i = 0; i < m->nlabels; i++)
			free(m->labels[i]);
		free(m->name);
		free(m->help);
		free(m->bounds);
		free(m->buckets);
		free(m);
	}
}

static void
metrics_put(struct metrics_buf *b, const char *s, size_t len)
{
	if (b->len + len + 1 > b->size) {
		while (b->len + len + 1 > b->size)
			b->size = b->size == 0 ? 4096 : b->size * 2;
		b->buf = xreallocarray(b->buf, b->size, 1);
	}
	memcpy(b->buf + b->len, s, len);
	b->len += len;
	b->buf[b->len] = '\0';
}

static void
metrics_printf(struct metrics_buf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	*s;
	int	 n;

	va_start(ap, fmt);
	n = xvasprintf(&s, fmt, ap);
	va_end(ap);
	metrics_put(b, s, (size_t)n);
	free(s);
}

/* Escape \ and newline (and, in a label VALUE, ") as the format asks. */
static void
metrics_escape(struct metrics_buf *b, const char *s, int value)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			metrics_put(b, "\\\\", 2);
		else if (*s == '\n')
			metrics_put(b, "\\n", 2);
		else if (*s == '"' && value)
			metrics_put(b, "\\\"", 2);
		else
			metrics_put(b, s, 1);
	}
}

/* {a="x",b="y"} of a series, with LE last for a histogram bucket. */
static void
metrics_put_labels(struct metrics_buf *b, const struct metric *m,
    const struct metric_series *s, const char *le)
{
	size_t	 i;

	if ((s == NULL || m->nlabels == 0) && le == NULL)
		return;
	metrics_put(b, "{", 1);
	for (i = 0; s != NULL && i < m->nlabels; i++) {
		metrics_printf(b, "%s%s=\"", i > 0 ? "," : "", m->labels[i]);
		metrics_escape(b, s->values[i], 1);
		metrics_put(b, "\"", 1);
	}
	if (le != NULL)
		metrics_printf(b, "le=\"%s\"", le);
	metrics_put(b, "}", 1);
}

/* Microseconds as seconds, exactly: 1500 -> 0.0015, 2000000 -> 2. */
static void
metrics_put_seconds(struct metrics_buf *b, int64_t us)
{
	char	frac[8];
	int	i;

	if (us < 0) {
		metrics_put(b, "-", 1);
		us = -us;
	}
	metrics_printf(b, "%lld", (long long)(us / USEC_PER_SEC));
	if (us % USEC_PER_SEC == 0)
		return;
	snprintf(frac, sizeof frac, "%06lld", (long long)(us % USEC_PER_SEC));
	for (i = 5; i > 0 && frac[i] == '0'; i--)
		frac[i] = '\0';
	metrics_printf(b, ".%s", frac);
}

/*
 * A gauge value: integers as such, NaN and infinities as Prometheus says,
 * others in the fewest digits that read back as the same double (35.891694,
 * not 35.891694000000001).
 */
static void
metrics_put_double(struct metrics_buf *b, double v)
{
	char	buf[40];
	int	prec;

	if (isnan(v))
		metrics_put(b, "NaN", 3);
	else if (isinf(v))
		metrics_printf(b, "%sInf", v > 0 ? "+" : "-");
	else if (v == floor(v) && fabs(v) < 9e15)
		metrics_printf(b, "%lld", (long long)v);
	else {
		for (prec = 15; prec < 17; prec++) {
			snprintf(buf, sizeof buf, "%.*g", prec, v);
			if (strtod(buf, NULL) == v)
				break;
		}
		metrics_printf(b, "%.*g", prec, v);
	}
}

/* What a collector emits: one series of the metric being rendered. */
struct metrics_emit {
	struct metrics_buf	*b;
	const struct metric	*m;
};

static void
metrics_emit_series(void *arg, const char *const *values, double v)
{
	struct metrics_emit	*e = arg;
	size_t			 i;

	metrics_put(e->b, e->m->name, strlen(e->m->name));
	if (e->m->nlabels > 0) {
		metrics_put(e->b, "{", 1);
		for (i = 0; i < e->m->nlabels; i++) {
			metrics_printf(e->b, "%s%s=\"", i > 0 ? "," : "",
			    e->m->labels[i]);
			metrics_escape(e->b, values[i] != NULL ? values[i] : "",
			    1);
			metrics_put(e->b, "\"", 1);
		}
		metrics_put(e->b, "}", 1);
	}
	metrics_put(e->b, " ", 1);
	metrics_put_double(e->b, v);
	metrics_put(e->b, "\n", 1);
}

/*
 * A gauge whose series FN makes at each rendering (spend per account, say):
 * FN calls its emitter once per series with the values of LABELS (NLABELS
 * of them) and the value.  0, or -1 and *cause.
 */
int
metrics_collector(const char *name, const char *help,
    const char *const *labels, size_t nlabels, metrics_collect_fn fn,
    char **cause)
{
	struct metric	*m;

	if ((m = metrics_new(name, help, METRIC_GAUGE, labels, nlabels,
	    cause)) == NULL)
		return (-1);
	m->collect = fn;
	return (0);
}

static void
metrics_put_metric(struct metrics_buf *b, const struct metric *m)
{
	static const char	*types[] = { "counter", "gauge", "histogram" };
	struct metrics_emit	 e;
	const struct metric_series *s;
	struct metrics_buf	 le = { NULL, 0, 0 };
	uint64_t		 cum = 0;
	size_t			 i;

	metrics_printf(b, "# HELP %s ", m->name);
	metrics_escape(b, m->help, 0);
	metrics_printf(b, "\n# TYPE %s %s\n", m->name, types[m->type]);
	if (m->collect != NULL) {
		e.b = b;
		e.m = m;
		m->collect(metrics_emit_series, &e);
		return;
	}
	if (m->type == METRIC_HISTOGRAM) {
		for (i = 0; i <= m->nbounds; i++) {
			cum += m->buckets[i];
			le.len = 0;
			if (i < m->nbounds)
				metrics_put_seconds(&le, m->bounds[i]);
			else
				metrics_put(&le, "+Inf", 4);
			metrics_printf(b, "%s_bucket", m->name);
			metrics_put_labels(b, m, NULL, le.buf);
			metrics_printf(b, " %llu\n", (unsigned long long)cum);
		}
		free(le.buf);
		metrics_printf(b, "%s_sum ", m->name);
		metrics_put_seconds(b, m->sum_us);
		metrics_printf(b, "\n%s_count %llu\n", m->name,
		    (unsigned long long)m->hcount);
		return;
	}
	if (m->nlabels == 0 && TAILQ_EMPTY(&m->series)) {
		metrics_printf(b, "%s 0\n", m->name);
		return;
	}
	TAILQ_FOREACH(s, &m->series, entry) {
		metrics_put(b, m->name, strlen(m->name));
		metrics_put_labels(b, m, s, NULL);
		metrics_put(b, " ", 1);
		if (s->fn != NULL)
			metrics_put_double(b, s->fn(s->arg));
		else
			metrics_printf(b, "%llu", (unsigned long long)s->count);
		metrics_put(b, "\n", 1);
	}
}

/* The whole registry in the text format; allocated, its length in *LEN. */
char *
metrics_render(size_t *len)
{
	struct metrics_buf	 b = { NULL, 0, 0 };
	struct metric		*m;

	metrics_put(&b, "", 0);
	TAILQ_FOREACH(m, &metrics, entry)
		metrics_put_metric(&b, m);
	if (len != NULL)
		*len = b.len;
	return (b.buf);
}

