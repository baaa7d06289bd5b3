/*
 * engine/log.c: one logging family.  One line per event on stderr:
 *	ts=2026-01-02T03:04:05.678Z level=info msg="schedule fired" id=...
 * Callers write the message and any key=value pairs in one format string:
 *	log_info("msg=\"schedule fired\" schedule=%s run=%s", id, run);
 * A format that does not begin with "msg=" is quoted as the message.
 * With LOG_FORMAT_JSON (chimed --log-format json) the same pairs go out
 * as one JSON object a line, every value a string, for log shippers.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "engine.h"

int			 log_trace_bits;
static enum log_level	 log_level = LOG_LEVEL_INFO;
static enum log_format	 log_format = LOG_FORMAT_LOGFMT;
static const char	*log_prog = "chime";

static void	log_vwrite(const char *, const char *, va_list, const char *);
static void	log_write_json(const char *);
static void	log_write_json_pairs(const char *, const char *, const char *,
		    const char *);

static const char *trace_names[] = {
	"journal", "sched", "http", "ctl", "exec", NULL
};

void
log_open(const char *prog, enum log_level level)
{
	log_prog = prog;
	log_level = level;
}

void
log_set_level(enum log_level level)
{
	log_level = level;
}

int
log_parse_format(const char *s, enum log_format *out)
{
	if (strcmp(s, "logfmt") == 0)
		*out = LOG_FORMAT_LOGFMT;
	else if (strcmp(s, "json") == 0)
		*out = LOG_FORMAT_JSON;
	else
		return (-1);
	return (0);
}

void
log_set_format(enum log_format format)
{
	log_format = format;
}

/* V (LEN bytes) as a JSON string: invalid UTF-8 bytes become '?'. */
static json_t *
log_json_string(const char *v, size_t len)
{
	json_t	*j;
	char	*copy;
	size_t	 i;

	if ((j = json_stringn(v, len)) != NULL)
		return (j);
	copy = xmalloc(len + 1);
	for (i = 0; i < len; i++)
		copy[i] = (unsigned char)v[i] < 0x80 ? v[i] : '?';
	copy[len] = '\0';
	j = json_stringn(copy, len);
	free(copy);
	return (j);
}

/*
 * LINE, a logfmt line (key=value pairs, a value bare or in double quotes
 * with \" and \\ escaped, as log_escape writes them), as one JSON object
 * on stderr.  What does not read as a pair is kept under "unparsed".
 */
static void
log_write_json(const char *line)
{
	json_t		*o = json_object(), *v;
	const char	*p = line, *k, *eq;
	char		*val, *out;
	size_t		 n;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		k = p;
		if (*p == '\0' || (eq = strchr(p, '=')) == NULL ||
		    memchr(k, ' ', (size_t)(eq - k)) != NULL || eq == k)
			break;
		val = xmalloc(strlen(eq) + 1);
		n = 0;
		p = eq + 1;
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				val[n++] = *p;
			}
			if (*p == '"')
				p++;
		} else
			while (*p != '\0' && *p != ' ')
				val[n++] = *p++;
		out = xstrndup(k, (size_t)(eq - k));
		if ((v = log_json_string(val, n)) != NULL)
			json_object_set_new(o, out, v);
		free(out);
		free(val);
	}
	if (*p != '\0' && (v = log_json_string(p, strlen(p))) != NULL)
		json_object_set_new(o, "unparsed", v);
	out = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fprintf(stderr, "%s\n", out != NULL ? out : "{}");
	free(out);
	json_decref(o);
}

/* The logfmt line that LINE makes at TS and LEVEL, as JSON. */
static void
log_write_json_pairs(const char *ts, const char *level, const char *line,
    const char *err)
{
	char	*full;

	if (strncmp(line, "msg=", 4) == 0)
		xasprintf(&full, "ts=%s level=%s %s%s%s%s", ts, level, line,
		    err != NULL ? " error=\"" : "", err != NULL ?
		    log_escape(err) : "", err != NULL ? "\"" : "");
	else
		xasprintf(&full, "ts=%s level=%s prog=%s msg=\"%s\"%s%s%s", ts,
		    level, log_prog, log_escape(line), err != NULL ?
		    " error=\"" : "", err != NULL ? log_escape(err) : "",
		    err != NULL ? "\"" : "");
	log_write_json(full);
	free(full);
}

int
log_parse_level(const char *s, enum log_level *out)
{
	static const char *names[] = { "error", "warn", "info", "debug" };
	int		   i;

	for (i = 0; i < 4; i++) {
		if (strcmp(s, names[i]) == 0) {
			*out = (enum log_level)i;
			return (0);
		}
	}
	return (-1);
}

/* "journal,sched" or "all" -> bits; -1 on an unknown name. */
int
log_parse_trace(const char *s, int *bits)
{
	char	*copy, *p, *tok;
	int	 i, found, out = 0;

	copy = xstrdup(s);
	for (p = copy; (tok = strsep(&p, ",")) != NULL;) {
		if (*tok == '\0')
			continue;
		if (strcmp(tok, "all") == 0) {
			out |= TRACE_ALL;
			continue;
		}
		found = 0;
		for (i = 0; trace_names[i] != NULL; i++) {
			if (strcmp(tok, trace_names[i]) == 0) {
				out |= 1 << i;
				found = 1;
			}
		}
		if (!found) {
			free(copy);
			return (-1);
		}
	}
	free(copy);
	*bits = out;
	return (0);
}

/*
 * The timestamp of now into TS (at least 32 bytes): its second's text is
 * kept by each thread and made again when the second changes.
 */
static void
log_stamp(char *ts, size_t len)
{
	static __thread time_t	 sec = -1;
	static __thread char	 text[64];
	static __thread size_t	 n;
	struct timespec		 tv;
	struct tm		 tm;
	long			 ms;

	clock_gettime(CLOCK_REALTIME, &tv);
	if (tv.tv_sec != sec) {
		gmtime_r(&tv.tv_sec, &tm);
		snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		n = strlen(text);
		sec = tv.tv_sec;
	}
	ms = tv.tv_nsec / 1000000;
	if (n + 6 > len) {
		snprintf(ts, len, "%s.%03ldZ", text, ms);
		return;
	}
	memcpy(ts, text, n);
	ts[n] = '.';
	ts[n + 1] = '0' + ms / 100;
	ts[n + 2] = '0' + ms / 10 % 10;
	ts[n + 3] = '0' + ms % 10;
	ts[n + 4] = 'Z';
	ts[n + 5] = '\0';
}

/* Append the LEN bytes at S to BUF (SIZE bytes, *AT used): 0, or -1 when
 * they do not fit. */
static int
log_put(char *buf, size_t size, size_t *at, const char *s, size_t len)
{
	if (len >= size - *at)
		return (-1);
	memcpy(buf + *at, s, len);
	*at += len;
	return (0);
}

static void
log_vwrite(const char *level, const char *fmt, va_list ap, const char *err)
{
	char		 ts[96], small[1024], out[2048], *line;
	size_t		 at = 0;
	va_list		 aq;
	int		 saved = errno, n, msg, fits;

	log_stamp(ts, sizeof ts);
	/* Most lines fit on the stack: no allocation. */
	va_copy(aq, ap);
	n = vsnprintf(small, sizeof small, fmt, aq);
	va_end(aq);
	if (n >= 0 && (size_t)n < sizeof small)
		line = small;
	else if (vasprintf(&line, fmt, ap) < 0)
		line = NULL;
	if (line == NULL)
		fprintf(stderr, "ts=%s level=%s msg=\"(out of memory)\"\n", ts,
		    level);
	else if (log_format == LOG_FORMAT_JSON)
		log_write_json_pairs(ts, level, line, err);
	else {
		/* The line written at once, as one fprintf would. */
		msg = strncmp(line, "msg=", 4) == 0;
		fits = log_put(out, sizeof out, &at, "ts=", 3) == 0 &&
		    log_put(out, sizeof out, &at, ts, strlen(ts)) == 0 &&
		    log_put(out, sizeof out, &at, " level=", 7) == 0 &&
		    log_put(out, sizeof out, &at, level, strlen(level)) == 0 &&
		    log_put(out, sizeof out, &at, " ", 1) == 0 && msg &&
		    log_put(out, sizeof out, &at, line, strlen(line)) == 0 &&
		    (err == NULL || (log_put(out, sizeof out, &at,
		    " error=\"", 8) == 0 && log_put(out, sizeof out, &at, err,
		    strlen(err)) == 0 && log_put(out, sizeof out, &at, "\"",
		    1) == 0)) && log_put(out, sizeof out, &at, "\n", 1) == 0;
		if (fits)
			fwrite(out, 1, at, stderr);
		else if (msg)
			fprintf(stderr, "ts=%s level=%s %s%s%s%s\n", ts, level,
			    line, err != NULL ? " error=\"" : "", err != NULL ?
			    err : "", err != NULL ? "\"" : "");
		else
			fprintf(stderr, "ts=%s level=%s prog=%s msg=\"%s\"%s%s"
			    "%s\n", ts, level, log_prog, line, err != NULL ?
			    " error=\"" : "", err != NULL ? err : "", err !=
			    NULL ? "\"" : "");
	}
	if (line != small)
		free(line);
	errno = saved;
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (log_level < LOG_LEVEL_DEBUG)
		return;
	va_start(ap, fmt);
	log_vwrite("debug", fmt, ap, NULL);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	if (log_level < LOG_LEVEL_INFO)
		return;
	va_start(ap, fmt);
	log_vwrite("info", fmt, ap, NULL);
	va_end(ap);
}

/* Like log_warnx, adding strerror(errno). */
void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	if (log_level < LOG_LEVEL_WARN)
		return;
	va_start(ap, fmt);
	log_vwrite("warn", fmt, ap, strerror(saved));
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	if (log_level < LOG_LEVEL_WARN)
		return;
	va_start(ap, fmt);
	log_vwrite("warn", fmt, ap, NULL);
	va_end(ap);
}

/* Debug output for one subsystem, shown when its trace bit is set. */
void
log_trace(int bit, const char *fmt, ...)
{
	va_list	ap;

	if ((log_trace_bits & bit) == 0)
		return;
	va_start(ap, fmt);
	log_vwrite("trace", fmt, ap, NULL);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vwrite("fatal", fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vwrite("fatal", fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

/*
 * S made safe inside a quoted value: '"' and '\\' are escaped, control
 * characters become spaces, and the result is cut at 400 bytes.  Returns
 * one of a few per-thread buffers, valid until the fourth next call.
 */
const char *
log_escape(const char *s)
{
	static __thread char	 bufs[4][512];
	static __thread int	 next;
	char			*b = bufs[next++ % 4];
	size_t			 n = 0;

	if (s == NULL)
		return ("");
	for (; *s != '\0' && n < 400; s++) {
		if (*s == '"' || *s == '\\')
			b[n++] = '\\';
		b[n++] = (unsigned char)*s < 0x20 ? ' ' : *s;
	}
	b[n] = '\0';
	return (b);
}

static void
log_libevent_cb(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	default:
		log_warnx("libevent: %s", msg);
		break;
	}
}

static void
log_libevent_fatal(int err)
{
	fatalx("libevent: fatal error %d", err);
}

/* Route libevent's own messages into this log. */
void
log_route_libevent(void)
{
	event_set_log_callback(log_libevent_cb);
	event_set_fatal_callback(log_libevent_fatal);
}
