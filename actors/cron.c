/*
 * actors/cron.c: cron expressions and their next fire in an IANA zone.
 *
 * An expression is parsed into bit masks (struct cron, no allocation); the
 * day-of-week field's "#n" and "L" items are kept per weekday (nth[]).  An
 * expression no date matches is refused, so every parsed one has a date in
 * any 400 years, the period of the Gregorian calendar, and that is how far
 * cron_next looks.  It finds the next fire in two steps: a search over
 * "naive" local seconds (local wall time counted as if it were UTC) that
 * skips whole months, days, hours and minutes with bit scans; then the
 * mapping of that wall time to an instant with the zone's transitions,
 * following the daylight-saving rules of DESIGN.md ("Scheduling
 * semantics"):
 *
 * - wall-anchored schedules (no '*' at the start of the second, minute and
 *   hour fields): a wall time W fires at the first instant whose local time
 *   is W or later.  In a gap that is the transition instant (DST_SHIFTED;
 *   several wall times sharing it give one fire, DST_COALESCED); in a
 *   repeated interval it is the earlier pass, the later one never fires.
 * - cadence schedules: every instant whose local time matches fires, in UTC
 *   order, so nonexistent wall times are absent and both passes of a
 *   repeated interval fire.
 *
 * cron_next never returns DST_SUPPRESSED: that tag exists for run records
 * written by a schedule that wants to note the pass it did not fire.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

#define CRON_EXPR_MAX	1024
#define CRON_SHOW_MAX	64		/* characters of a field in errors */
#define CRON_DAY	86400LL
#define CRON_CYCLE	(CRON_CYCLE_DAYS * CRON_DAY)	/* 20871 weeks */
#define CRON_LAST_LOCAL	(CRON_LAST_UTC + 2 * CRON_DAY)	/* past any zone */

enum cron_field_id {
	CRON_F_SECOND,
	CRON_F_MINUTE,
	CRON_F_HOUR,
	CRON_F_DOM,
	CRON_F_MONTH,
	CRON_F_DOW,
	CRON_F_MAX
};

struct cron_field {
	const char		*name;
	int			 min;
	int			 max;
	const char *const	*names;		/* names[i] has value min + i */
};

/* One field's text while it is parsed. */
struct cron_text {
	const struct cron_field	*f;
	const char		*s;
	size_t			 len;
};

/* What the items of one field name, gathered while it is parsed. */
struct cron_set {
	uint64_t	bits;		/* plain values */
	int		last;		/* day-of-month "L" */
	uint8_t		nth[7];		/* day-of-week "#n" and "L" */
};

static const char *const cron_month_names[] = { "JAN", "FEB", "MAR", "APR",
    "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", NULL };
static const char *const cron_wday_names[] = { "SUN", "MON", "TUE", "WED",
    "THU", "FRI", "SAT", NULL };

static const struct cron_field cron_fields[CRON_F_MAX] = {
	{ "second", 0, 59, NULL },
	{ "minute", 0, 59, NULL },
	{ "hour", 0, 23, NULL },
	{ "day-of-month", 1, 31, NULL },
	{ "month", 1, 12, cron_month_names },
	{ "day-of-week", 0, 7, cron_wday_names },
};

static const struct {
	const char	*name;
	const char	*expr;
} cron_macros[] = {
	{ "@yearly", "0 0 1 1 *" },
	{ "@annually", "0 0 1 1 *" },
	{ "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" },
	{ "@daily", "0 0 * * *" },
	{ "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

static const char *const dst_tag_names[] = { "none", "shifted", "coalesced",
    "suppressed" };

static void	cron_show(const struct cron_text *, char *);
static int	cron_error(char **, const struct cron_text *, const char *, ...)
		    printflike(3, 4);
static const char *cron_l_misplaced(const struct cron_text *);
static int	cron_value(const struct cron_text *, const char **,
		    const char *, int *, char **);
static int	cron_nth(const struct cron_text *, const char *, const char *,
		    int, struct cron_set *, char **);
static int	cron_item(const struct cron_text *, const char *, const char *,
		    struct cron_set *, char **);
static int	cron_field_parse(const struct cron_text *, struct cron_set *,
		    char **);
static int	cron_split(const char *, const char **, size_t *, int);
static int	cron_never(const struct cron *, const struct cron_text *,
		    char **);
static int	cron_parse_fields(const char *, struct cron *, int, char **);
static int	cron_parse_expr(const char *, struct cron *, int, char **);
static void	cron_base(int, int, struct cron *);
static int	cron_next_bit(uint64_t, int, int);
static uint32_t	cron_nth_mask(const struct cron *, int, int);
static uint32_t	cron_month_days(const struct cron *, int, int);
static uint32_t	cron_day_mask(const struct cron *, int, int);
static int	cron_time_next(const struct cron *, int *, int *, int *);
static int	cron_local_next(const struct cron *, int64_t, int64_t,
		    int64_t *);
static void	cron_naive_civil(int64_t, struct civil *);
static int	cron_next_wall(const struct cron *, const struct tz *, int64_t,
		    struct cron_fire *);
static int	cron_next_cadence(const struct cron *, const struct tz *,
		    int64_t, struct cron_fire *);

/* ---- parsing ------------------------------------------------------------ */

/* Field T's text into SHOW (CRON_SHOW_MAX + 4 bytes), cut and printable. */
static void
cron_show(const struct cron_text *t, char *show)
{
	size_t	i, n = t->len > CRON_SHOW_MAX ? CRON_SHOW_MAX : t->len;

	for (i = 0; i < n; i++)
		show[i] = isprint((unsigned char)t->s[i]) ? t->s[i] : '?';
	if (n < t->len) {
		memcpy(show + n, "...", 3);
		n += 3;
	}
	show[n] = '\0';
}

/* Fill *CAUSE with "cron: bad FIELD field "TEXT": REASON"; returns -1. */
static int
cron_error(char **cause, const struct cron_text *t, const char *fmt, ...)
{
	char	 show[CRON_SHOW_MAX + 4], *why;
	va_list	 ap;

	cron_show(t, show);
	va_start(ap, fmt);
	xvasprintf(&why, fmt, ap);
	va_end(ap);
	xasprintf(cause, "cron: bad %s field \"%s\": %s", t->f->name, show, why);
	free(why);
	return (-1);
}

/* Why a lone "L" where a value was expected is wrong in field T. */
static const char *
cron_l_misplaced(const struct cron_text *t)
{
	if (t->f == &cron_fields[CRON_F_DOW])
		return ("\"L\" follows a weekday (5L: the last Friday of the "
		    "month)");
	if (t->f == &cron_fields[CRON_F_DOM])
		return ("\"L\" takes no range or step");
	return ("\"L\" is only valid in the day-of-month and day-of-week "
	    "fields");
}

/*
 * A number or a name at *PP (before END), into *OUT; *PP moves past it.  In
 * the day-of-week field a name may be followed by "L" ("FRIL").
 */
static int
cron_value(const struct cron_text *t, const char **pp, const char *end,
    int *out, char **cause)
{
	const char	*p = *pp, *s = p;
	int		 v = 0, i;

	if (p < end && isdigit((unsigned char)*p)) {
		for (; p < end && isdigit((unsigned char)*p); p++) {
			if (v < 1000)
				v = v * 10 + (*p - '0');
		}
	} else if (p < end && isalpha((unsigned char)*p)) {
		while (p < end && isalpha((unsigned char)*p))
			p++;
		if (t->f == &cron_fields[CRON_F_DOW] && p - s == 4 &&
		    (p[-1] == 'L' || p[-1] == 'l'))
			p--;
		for (i = 0; t->f->names != NULL && t->f->names[i] != NULL;
		    i++) {
			if ((size_t)(p - s) == 3 &&
			    strncasecmp(s, t->f->names[i], 3) == 0)
				break;
		}
		if (t->f->names == NULL || t->f->names[i] == NULL) {
			if (p - s == 1 && (*s == 'L' || *s == 'l'))
				return (cron_error(cause, t, "%s",
				    cron_l_misplaced(t)));
			return (cron_error(cause, t, "unknown name \"%.*s\"",
			    (int)(p - s > 16 ? 16 : p - s), s));
		}
		v = t->f->min + i;
	} else if (p == end)
		return (cron_error(cause, t, "missing value"));
	else
		return (cron_error(cause, t, "unexpected \"%c\"",
		    isprint((unsigned char)*p) ? *p : '?'));
	if (v < t->f->min || v > t->f->max)
		return (cron_error(cause, t, "value out of range %d-%d",
		    t->f->min, t->f->max));
	*pp = p;
	*out = v;
	return (0);
}

/*
 * The rest of a day-of-week item after weekday V, from P (at '#' or 'L')
 * to END: "#N" (the Nth such weekday of the month, N 1..5), "L" or "#L"
 * (the last one).
 */
static int
cron_nth(const struct cron_text *t, const char *p, const char *end, int v,
    struct cron_set *set, char **cause)
{
	int	n = 0, bit;

	if (*p == '#')
		p++;
	if (p < end && (*p == 'L' || *p == 'l')) {
		p++;
		bit = CRON_NTH_LAST;
	} else if (p < end && isdigit((unsigned char)*p)) {
		for (; p < end && isdigit((unsigned char)*p); p++) {
			if (n < 10)
				n = n * 10 + (*p - '0');
		}
		if (n < 1 || n > 5)
			return (cron_error(cause, t, "\"#\" takes 1 to 5 (the "
			    "first to the fifth such weekday of the month)"));
		bit = 1 << (n - 1);
	} else
		return (cron_error(cause, t, "\"#\" needs a number 1 to 5 "
		    "or L after it"));
	if (p != end)
		return (cron_error(cause, t, "unexpected \"%c\"",
		    isprint((unsigned char)*p) ? *p : '?'));
	set->nth[v % 7] |= bit;
	return (0);
}

/*
 * One list item between S and END: "*", "*\/N", "A", "A-B", "A-B/N", "A/N"
 * (A to the maximum, step N), in the day-of-month field "L", in the
 * day-of-week field "A#N", "AL" and "A#L".
 */
static int
cron_item(const struct cron_text *t, const char *s, const char *end,
    struct cron_set *set, char **cause)
{
	const char	*p = s;
	int		 lo, hi, step = 1, v, span = t->f->max - t->f->min + 1;
	int		 dow = t->f == &cron_fields[CRON_F_DOW], single = 0;

	if (s == end)
		return (cron_error(cause, t, "empty list item"));
	if (t->f == &cron_fields[CRON_F_DOM] && (*p == 'L' || *p == 'l') &&
	    (p + 1 == end || !isalpha((unsigned char)p[1]))) {
		if (p + 1 != end)
			return (cron_error(cause, t, "\"L\" takes no range "
			    "or step"));
		set->last = 1;
		return (0);
	}
	if (*p == '*') {
		lo = t->f->min;
		hi = t->f->max;
		p++;
	} else {
		if (cron_value(t, &p, end, &lo, cause) != 0)
			return (-1);
		hi = lo;
		single = 1;
		if (p < end && *p == '-') {
			p++;
			if (cron_value(t, &p, end, &hi, cause) != 0)
				return (-1);
			if (hi < lo)
				return (cron_error(cause, t,
				    "reversed range %d-%d", lo, hi));
			single = 0;
		} else if (p < end && *p == '/')
			hi = t->f->max;
	}
	if (dow && single && p < end && (*p == '#' || *p == 'L' || *p == 'l'))
		return (cron_nth(t, p, end, lo, set, cause));
	if (p < end && *p == '/') {
		p++;
		if (p == end || !isdigit((unsigned char)*p))
			return (cron_error(cause, t, "missing step"));
		for (step = 0; p < end && isdigit((unsigned char)*p); p++) {
			if (step <= span)
				step = step * 10 + (*p - '0');
		}
		if (step == 0)
			return (cron_error(cause, t, "zero step"));
		if (step > span)
			return (cron_error(cause, t, "step out of range 1-%d",
			    span));
	}
	if (p < end && (*p == '#' || (dow && (*p == 'L' || *p == 'l'))))
		return (cron_error(cause, t, "%s", dow ? "\"#\" and \"L\" "
		    "follow a single weekday, not a range, a step or \"*\"" :
		    "\"#\" is only valid in the day-of-week field"));
	if (p != end)
		return (cron_error(cause, t, "unexpected \"%c\"",
		    isprint((unsigned char)*p) ? *p : '?'));
	for (v = lo; v <= hi; v += step)
		set->bits |= 1ULL << (dow ? v % 7 : v);
	return (0);
}

/* A comma-separated list of items. */
static int
cron_field_parse(const struct cron_text *t, struct cron_set *set,
    char **cause)
{
	const char	*p = t->s, *end = t->s + t->len, *comma;

	memset(set, 0, sizeof *set);
	for (;;) {
		if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL)
			comma = end;
		if (cron_item(t, p, comma, set, cause) != 0)
			return (-1);
		if (comma == end)
			return (0);
		p = comma + 1;
	}
}

/* Split S on white space into at most MAX fields; returns the count. */
static int
cron_split(const char *s, const char **start, size_t *len, int max)
{
	int	n = 0;

	for (;;) {
		while (isspace((unsigned char)*s))
			s++;
		if (*s == '\0')
			return (n);
		if (n < max)
			start[n] = s;
		while (*s != '\0' && !isspace((unsigned char)*s))
			s++;
		if (n < max)
			len[n] = (size_t)(s - start[n]);
		n++;
	}
}

/*
 * Fail with a cause when C can never fire: no date of any month it names
 * matches its day fields.  Every pairing of a month's length with the
 * weekday of its 1st occurs within 400 Gregorian years (February has 29
 * days starting on each weekday), so trying them all is enough.  T holds
 * the texts of the fields, for the cause.
 */
static int
cron_never(const struct cron *c, const struct cron_text *t, char **cause)
{
	char	dom[CRON_SHOW_MAX + 4], mon[CRON_SHOW_MAX + 4];
	char	dow[CRON_SHOW_MAX + 4];
	int	m, dim, wd1;

	for (m = 1; m <= 12; m++) {
		if (!(c->months & 1U << m))
			continue;
		for (dim = days_in_month(2001, m); dim <= days_in_month(2000,
		    m); dim++) {
			for (wd1 = 0; wd1 < 7; wd1++) {
				if (cron_month_days(c, dim, wd1) != 0)
					return (0);
			}
		}
	}
	cron_show(&t[CRON_F_DOM], dom);
	cron_show(&t[CRON_F_MONTH], mon);
	cron_show(&t[CRON_F_DOW], dow);
	if (c->weekdays == 0x7f && (c->flags & CRON_DOW_STAR))
		xasprintf(cause, "cron: never fires: day-of-month \"%s\" does "
		    "not occur in month \"%s\"", dom, mon);
	else
		xasprintf(cause, "cron: never fires: no day of month \"%s\" "
		    "matches both day-of-month \"%s\" and day-of-week \"%s\"",
		    mon, dom, dow);
	return (-1);
}

/* Five or six fields (already free of macros); with STORED, one that
 * never fires is taken (see cron_parse_stored). */
static int
cron_parse_fields(const char *expr, struct cron *c, int stored, char **cause)
{
	struct cron_text	 t[CRON_F_MAX];
	struct cron_set		 set[CRON_F_MAX];
	struct cron		 out;
	const char		*start[6];
	size_t			 len[6];
	int			 n, i, first;

	n = cron_split(expr, start, len, 6);
	if (n != 5 && n != 6) {
		xasprintf(cause, "cron: expected 5 or 6 fields, got %d", n);
		return (-1);
	}
	first = n == 6 ? CRON_F_SECOND : CRON_F_MINUTE;
	memset(set, 0, sizeof set);
	set[CRON_F_SECOND].bits = 1;	/* second 0 when not given */
	for (i = first; i < CRON_F_MAX; i++) {
		t[i].f = &cron_fields[i];
		t[i].s = start[i - first];
		t[i].len = len[i - first];
		if (cron_field_parse(&t[i], &set[i], cause) != 0)
			return (-1);
	}
	memset(&out, 0, sizeof out);
	out.seconds = set[CRON_F_SECOND].bits;
	out.minutes = set[CRON_F_MINUTE].bits;
	out.hours = (uint32_t)set[CRON_F_HOUR].bits;
	out.days = (uint32_t)set[CRON_F_DOM].bits;
	out.months = (uint16_t)set[CRON_F_MONTH].bits;
	out.weekdays = (uint8_t)set[CRON_F_DOW].bits;
	memcpy(out.nth, set[CRON_F_DOW].nth, sizeof out.nth);
	for (i = 0; i < 7; i++) {
		if (out.nth[i] != 0)
			out.flags |= CRON_DOW_NTH;
	}
	if (n == 6)
		out.flags |= CRON_HAS_SECONDS;
	if (set[CRON_F_DOM].last)
		out.flags |= CRON_LAST_DOM;
	if (*t[CRON_F_DOM].s == '*')
		out.flags |= CRON_DOM_STAR;
	if (*t[CRON_F_DOW].s == '*')
		out.flags |= CRON_DOW_STAR;
	if ((n == 5 || *t[CRON_F_SECOND].s != '*') &&
	    *t[CRON_F_MINUTE].s != '*' && *t[CRON_F_HOUR].s != '*')
		out.flags |= CRON_WALL;
	if (!stored && cron_never(&out, t, cause) != 0)
		return (-1);
	*c = out;
	return (0);
}

/*
 * Parse a cron expression: 5 fields (minute hour day-of-month month
 * day-of-week), 6 with seconds first, or a macro.  On error *OUT is left
 * unchanged and *CAUSE (when CAUSE is not NULL) names the field at fault.
 */
int
cron_parse(const char *expr, struct cron *out, char **cause)
{
	char	*why = NULL;

	if (cron_parse_expr(expr, out, 0, &why) == 0)
		return (0);
	if (cause != NULL)
		*cause = why;
	else
		free(why);
	return (-1);
}

/*
 * cron_parse for an expression read back from the journal: one that can
 * never fire is taken (it has no next fire), so that a schedule stored
 * before such expressions were refused still loads.
 */
int
cron_parse_stored(const char *expr, struct cron *out, char **cause)
{
	return (cron_parse_expr(expr, out, 1, cause));
}

/* cron_parse, with CAUSE always given; STORED as cron_parse_fields. */
static int
cron_parse_expr(const char *expr, struct cron *out, int stored, char **cause)
{
	struct cron	 c;
	const char	*start[1];
	size_t		 len[1], i;

	if (expr == NULL || strlen(expr) > CRON_EXPR_MAX) {
		xasprintf(cause, "cron: expression %s", expr == NULL ?
		    "missing" : "too long");
		return (-1);
	}
	while (isspace((unsigned char)*expr))
		expr++;
	if (*expr == '@') {
		if (cron_split(expr, start, len, 1) != 1) {
			xasprintf(cause, "cron: a macro stands alone");
			return (-1);
		}
		for (i = 0; i < sizeof cron_macros / sizeof cron_macros[0];
		    i++) {
			if (strlen(cron_macros[i].name) == len[0] &&
			    strncasecmp(expr, cron_macros[i].name, len[0]) == 0)
				return (cron_parse_expr(cron_macros[i].expr,
				    out, stored, cause));
		}
		xasprintf(cause, "cron: unknown macro \"%.*s\"",
		    (int)(len[0] > CRON_SHOW_MAX ? CRON_SHOW_MAX : len[0]),
		    expr);
		return (-1);
	}
	if (cron_parse_fields(expr, &c, stored, cause) != 0)
		return (-1);
	*out = c;
	return (0);
}

/* Every day-of-month and month: the base of weekly and monthly crons. */
static void
cron_base(int hour, int minute, struct cron *c)
{
	memset(c, 0, sizeof *c);
	c->seconds = 1;
	if (minute >= 0 && minute <= 59)
		c->minutes = 1ULL << minute;
	if (hour >= 0 && hour <= 23)
		c->hours = 1U << hour;
	c->months = 0x1ffe;
	c->flags = CRON_WALL;
}

/*
 * A wall-anchored weekly cron: DOW 0..7 (0 and 7 are Sunday), HOUR, MINUTE.
 * Out-of-range arguments give a cron that never fires.
 */
void
cron_weekly(int dow, int hour, int minute, struct cron *c)
{
	cron_base(hour, minute, c);
	c->days = 0xfffffffe;
	if (dow >= 0 && dow <= 7)
		c->weekdays = (uint8_t)(1U << (dow % 7));
	c->flags |= CRON_DOM_STAR;
}

/*
 * A wall-anchored monthly cron: DOM 1..31, or 0 for the last day of the
 * month.  A day the month lacks (31 in April, 30 in February) never fires
 * in that month: it is not moved to the last day.
 */
void
cron_monthly(int dom, int hour, int minute, struct cron *c)
{
	cron_base(hour, minute, c);
	c->weekdays = 0x7f;
	if (dom == 0)
		c->flags |= CRON_LAST_DOM;
	else if (dom >= 1 && dom <= 31)
		c->days = 1U << dom;
	c->flags |= CRON_DOW_STAR;
}

const char *
dst_tag_name(enum dst_tag tag)
{
	if ((unsigned)tag >= sizeof dst_tag_names / sizeof dst_tag_names[0])
		return ("unknown");
	return (dst_tag_names[tag]);
}

/* ---- searching ---------------------------------------------------------- */

/* The lowest set bit of MASK at FROM or above (below WIDTH), or -1. */
static int
cron_next_bit(uint64_t mask, int from, int width)
{
	if (from >= width)
		return (-1);
	mask &= ~0ULL << from;
	if (width < 64)
		mask &= (1ULL << width) - 1;
	return (mask == 0 ? -1 : __builtin_ctzll(mask));
}

/*
 * The days (bits 1..DIM) of a month of DIM days whose 1st is weekday WD1
 * that the "#n" and "L" items of the day-of-week field name.
 */
static uint32_t
cron_nth_mask(const struct cron *c, int dim, int wd1)
{
	uint32_t	mask = 0;
	int		w, d, k;

	for (w = 0; w < 7; w++) {
		if (c->nth[w] == 0)
			continue;
		for (k = 0, d = 1 + (w - wd1 + 7) % 7; d <= dim; k++, d += 7) {
			if ((c->nth[w] & 1 << k) ||
			    ((c->nth[w] & CRON_NTH_LAST) && d + 7 > dim))
				mask |= 1U << d;
		}
	}
	return (mask);
}

/*
 * The days (bits 1..DIM) of a month of DIM days whose 1st is weekday WD1
 * that match: day-of-month and day-of-week are ANDed when either field
 * began with '*', ORed otherwise.
 */
static uint32_t
cron_month_days(const struct cron *c, int dim, int wd1)
{
	uint32_t	valid = ((1U << dim) - 1) << 1, dom, dow, rot;
	uint64_t	tile;

	dom = c->days & valid;
	if (c->flags & CRON_LAST_DOM)
		dom |= 1U << dim;
	/* Bit k of rot: weekday (wd1 + k) % 7, the weekday of day k + 1. */
	rot = ((uint32_t)c->weekdays >> wd1 |
	    (uint32_t)c->weekdays << (7 - wd1)) & 0x7f;
	tile = rot | rot << 7 | (uint64_t)rot << 14 | (uint64_t)rot << 21 |
	    (uint64_t)rot << 28;
	dow = (uint32_t)(tile << 1) & valid;
	if (c->flags & CRON_DOW_NTH)
		dow |= cron_nth_mask(c, dim, wd1);
	if (c->flags & (CRON_DOM_STAR | CRON_DOW_STAR))
		return (dom & dow);
	return (dom | dow);
}

/* The days of month M of year Y that match (bits 1..31). */
static uint32_t
cron_day_mask(const struct cron *c, int y, int m)
{
	return (cron_month_days(c, days_in_month(y, m), civil_wday(y, m, 1)));
}

/* The first matching time of day at or after *H:*MI:*S; -1 if none. */
static int
cron_time_next(const struct cron *c, int *h, int *mi, int *s)
{
	int	hh = *h, mm = *mi, ss = *s, v;

	for (;;) {
		if ((v = cron_next_bit(c->hours, hh, 24)) == -1)
			return (-1);
		if (v != hh) {
			hh = v;
			mm = ss = 0;
		}
		if ((v = cron_next_bit(c->minutes, mm, 60)) == -1) {
			hh++;
			mm = ss = 0;
			continue;
		}
		if (v != mm) {
			mm = v;
			ss = 0;
		}
		if ((v = cron_next_bit(c->seconds, ss, 60)) == -1) {
			mm++;
			ss = 0;
			continue;
		}
		*h = hh;
		*mi = mm;
		*s = v;
		return (0);
	}
}

/*
 * The first matching naive local second at or after X and at most LIMIT.
 * Whole months and days that cannot match are skipped with bit scans.
 */
static int
cron_local_next(const struct cron *c, int64_t x, int64_t limit, int64_t *res)
{
	int64_t		days, sod, day_limit = limit / CRON_DAY + 1;
	uint32_t	mask;
	int		y, m, d, h, mi, s, v;

	if ((c->months & 0x1ffe) == 0)
		return (-1);
	days = x / CRON_DAY - (x % CRON_DAY < 0);
	sod = x - days * CRON_DAY;
	days_to_civil(days, &y, &m, &d);
	h = (int)(sod / 3600);
	mi = (int)(sod / 60 % 60);
	s = (int)(sod % 60);
	for (;;) {
		if (civil_to_days(y, m, d) > day_limit)
			return (-1);
		if ((v = cron_next_bit(c->months, m, 13)) != m) {
			if (v == -1) {
				y++;
				v = cron_next_bit(c->months, 1, 13);
			}
			m = v;
			d = 1;
			h = mi = s = 0;
			continue;
		}
		mask = d > 31 ? 0 : cron_day_mask(c, y, m) & (~0U << d);
		if (mask == 0) {
			if (++m > 12) {
				m = 1;
				y++;
			}
			d = 1;
			h = mi = s = 0;
			continue;
		}
		if ((v = __builtin_ctz(mask)) != d) {
			d = v;
			h = mi = s = 0;
		}
		if (cron_time_next(c, &h, &mi, &s) == 0)
			break;
		d++;
		h = mi = s = 0;
	}
	*res = civil_to_days(y, m, d) * CRON_DAY + h * 3600 + mi * 60 + s;
	return (*res <= limit ? 0 : -1);
}

/* The civil fields of a naive local second. */
static void
cron_naive_civil(int64_t n, struct civil *c)
{
	int64_t	days = n / CRON_DAY - (n % CRON_DAY < 0);
	int64_t	sod = n - days * CRON_DAY;

	days_to_civil(days, &c->year, &c->month, &c->day);
	c->hour = (int)(sod / 3600);
	c->minute = (int)(sod / 60 % 60);
	c->second = (int)(sod % 60);
	c->wday = (int)((days % 7 + 11) % 7);
}

/*
 * Wall-anchored: the first matching wall time later than every local time
 * shown up to AFTER (so a repeated hour's second pass and times coalesced
 * into an earlier fire are passed over), fired at the first instant whose
 * local time reaches it.
 */
static int
cron_next_wall(const struct cron *c, const struct tz *tz, int64_t after,
    struct cron_fire *out)
{
	int64_t	shown, t = after, when, n, n2, limit, at[2], at2[2];
	int	before, then, rc;

	shown = after + tz_offset(tz, after);
	while (tz_transition_before(tz, t, &when, &before, &then) &&
	    when > after - 3 * CRON_DAY) {
		if (before > then && when - 1 + before > shown)
			shown = when - 1 + before;
		t = when - 1;
	}
	limit = shown + CRON_CYCLE;
	if (limit > CRON_LAST_LOCAL)
		limit = CRON_LAST_LOCAL;
	if (cron_local_next(c, shown + 1, limit, &n) != 0)
		return (-1);
	rc = tz_from_local(tz, n, at);
	out->utc = at[0];
	out->tag = rc == 0 ? DST_SHIFTED : DST_NONE;
	cron_naive_civil(n, &out->nominal);
	if (rc == 0 && cron_local_next(c, n + 1, limit, &n2) == 0 &&
	    tz_from_local(tz, n2, at2) >= 0 && at2[0] == at[0])
		out->tag = DST_COALESCED;
	return (0);
}

/*
 * Cadence: walk the spans of constant UTC offset from AFTER on; the first
 * matching local time inside a span is the fire.
 */
static int
cron_next_cadence(const struct cron *c, const struct tz *tz, int64_t after,
    struct cron_fire *out)
{
	int64_t	t = after + 1, when, n, limit, span_end;
	int	off, before, then, more;

	off = tz_offset(tz, t);
	limit = t + off + CRON_CYCLE;
	if (limit > CRON_LAST_LOCAL)
		limit = CRON_LAST_LOCAL;
	for (;;) {
		more = tz_transition_after(tz, t, &when, &before, &then);
		span_end = more && when - 1 + off < limit ? when - 1 + off :
		    limit;
		if (t + off > limit)
			return (-1);
		if (cron_local_next(c, t + off, span_end, &n) == 0) {
			out->utc = n - off;
			out->tag = DST_NONE;
			cron_naive_civil(n, &out->nominal);
			return (0);
		}
		if (!more)
			return (-1);
		t = when;
		off = then;
	}
}

/*
 * The first fire of C in zone TZ strictly after instant AFTER (seconds).
 * Returns 0 and fills *OUT, or -1 when there is none.  The search covers
 * 400 years of local time from AFTER, one whole period of the Gregorian
 * calendar (146097 days, a whole number of weeks): a parsed expression
 * names a date in every such span (cron_parse refuses the others), so
 * -1 means that AFTER or the fire lies outside CRON_FIRST_UTC ..
 * CRON_LAST_UTC, or that a cadence's local times all fell in the zone's
 * gaps for 400 years.  Never returns DST_SUPPRESSED.
 */
int
cron_next(const struct cron *c, const struct tz *tz, int64_t after,
    struct cron_fire *out)
{
	int	rc;

	if (after < CRON_FIRST_UTC || after > CRON_LAST_UTC)
		return (-1);
	if (c->flags & CRON_WALL)
		rc = cron_next_wall(c, tz, after, out);
	else
		rc = cron_next_cadence(c, tz, after, out);
	return (rc == 0 && out->utc <= CRON_LAST_UTC ? 0 : -1);
}

/* F's nominal time and tag into P (its instant is kept apart). */
void
cron_fire_pack(const struct cron_fire *f, struct cron_fire_packed *p)
{
	p->year = (int16_t)f->nominal.year;
	p->month = (uint8_t)f->nominal.month;
	p->day = (uint8_t)f->nominal.day;
	p->hour = (uint8_t)f->nominal.hour;
	p->minute = (uint8_t)f->nominal.minute;
	p->second = (uint8_t)f->nominal.second;
	p->wday = (uint8_t)f->nominal.wday;
	p->tag = (uint8_t)f->tag;
}

/* The cron_fire of P at UTC (seconds) into F. */
void
cron_fire_unpack(const struct cron_fire_packed *p, int64_t utc,
    struct cron_fire *f)
{
	memset(f, 0, sizeof *f);
	f->utc = utc;
	f->nominal.year = p->year;
	f->nominal.month = p->month;
	f->nominal.day = p->day;
	f->nominal.hour = p->hour;
	f->nominal.minute = p->minute;
	f->nominal.second = p->second;
	f->nominal.wday = p->wday;
	f->tag = (enum dst_tag)p->tag;
}
