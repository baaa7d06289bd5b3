/*
 * actors/trigger-words.c: a schedule's trigger in words, for people
 * reading a list ("at 07:00, on Monday through Friday", "every 15
 * minutes", "on the last day of every month at 18:00").
 *
 * The words are made from the trigger's text as the schedule keeps it,
 * which its parser has accepted, so every item has one of the forms of
 * doc/cron.md: "*", "*\/N", "A", "A-B", "A/N", "A-B/N", "N#n", "NL", "L",
 * values as numbers or names.  A step is said as "every N minutes" only
 * when it divides its field's cycle (15 minutes, 6 hours); otherwise, and
 * for days and months, the values it stands for are listed, so that the
 * words never say more than the expression does.  Days follow the
 * Vixie rule of doc/cron.md: both day fields restricted is either, a day
 * of month field starting with '*' and a restricted weekday is both.
 * The zone is not said: the schedule shows it beside.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

#define WORDS_ITEMS	64	/* items of a field said; cron.c allows more */
#define WORDS_TIMES	8	/* "at 07:00, 12:00 and 19:00": at most */

enum words_field {
	W_SECOND, W_MINUTE, W_HOUR, W_DOM, W_MONTH, W_DOW, W_FIELDS
};

/* One item of a field, parsed: A-B/STEP (A == B for one value), or a
 * weekday's NTH (1-5, -1 for L) in the month; LAST: the day-of-month L. */
struct words_item {
	int	a, b, step, nth, last, star;
};

struct words_field_def {
	int			 min, max;
	const char *const	*names;
};

static const char *const words_months[] = { "January", "February",
    "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December" };
static const char *const words_days[] = { "Sunday", "Monday", "Tuesday",
    "Wednesday", "Thursday", "Friday", "Saturday", "Sunday" };
static const char *const words_ordinals[] = { "first", "second", "third",
    "fourth", "fifth" };

static const struct words_field_def words_defs[W_FIELDS] = {
	{ 0, 59, NULL }, { 0, 59, NULL }, { 0, 23, NULL },
	{ 1, 31, NULL }, { 1, 12, words_months }, { 0, 7, words_days },
};

/* One field's items. */
struct words_set {
	enum words_field	 id;
	struct words_item	 v[WORDS_ITEMS];
	size_t			 n;
	int			 star;	/* the field begins with '*' */
	int			 any;	/* the field is "*" (or "?") */
};

/* A value: a number, or a name's first three letters (JAN, MON). */
static int
words_value(enum words_field id, const char **pp)
{
	const char	*p = *pp;
	int		 i, v = 0;

	if (isdigit((unsigned char)*p)) {
		while (isdigit((unsigned char)*p))
			v = v * 10 + (*p++ - '0');
		*pp = p;
		return (v);
	}
	for (i = 0; words_defs[id].names != NULL && i < 12; i++) {
		if (id == W_DOW && i > 6)
			break;
		if (strncasecmp(p, words_defs[id].names[i], 3) == 0) {
			*pp = p + 3;
			return (words_defs[id].min + i);
		}
	}
	*pp = p + strcspn(p, ",-/#L ");
	return (words_defs[id].min);
}

/* The items of TEXT (LEN bytes, one field) into SET. */
static void
words_items(struct words_set *set, const char *text, size_t len)
{
	const struct words_field_def	*d = &words_defs[set->id];
	struct words_item		*it;
	char				 buf[256];
	const char			*p;

	snprintf(buf, sizeof buf, "%.*s", (int)len, text);
	set->star = buf[0] == '*' || buf[0] == '?';
	set->any = strcmp(buf, "*") == 0 || strcmp(buf, "?") == 0;
	for (p = buf; *p != '\0' && set->n < WORDS_ITEMS; p++) {
		it = &set->v[set->n++];
		memset(it, 0, sizeof *it);
		if (*p == '*' || *p == '?') {
			it->star = 1;
			it->a = d->min;
			it->b = d->max;
			p++;
		} else if (*p == 'L' || *p == 'l') {
			it->last = 1;
			p++;
		} else {
			it->a = it->b = words_value(set->id, &p);
			if (*p == '-') {
				p++;
				it->b = words_value(set->id, &p);
			}
		}
		if (*p == '/') {
			p++;
			it->step = (int)strtol(p, (char **)&p, 10);
			if (!it->star && it->a == it->b)
				it->b = d->max;	/* "A/N": A to the end */
		}
		if (*p == '#') {
			p++;
			it->nth = (int)strtol(p, (char **)&p, 10);
		} else if (*p == 'L' || *p == 'l') {
			it->nth = -1;
			p++;
		}
		p += strcspn(p, ",");
		if (*p == '\0')
			break;
	}
}

/* "A", "A and B", "A, B and C": the LIST so far gets item I of N. */
static void
words_sep(FILE *f, size_t i, size_t n, const char *conj)
{
	if (i == 0)
		return;
	fputs(i + 1 == n ? conj : ", ", f);
}

/* V as its field shows it: a name, or a number (two digits for hours). */
static void
words_show(FILE *f, enum words_field id, int v)
{
	if (id == W_MONTH && v >= 1 && v <= 12)
		fputs(words_months[v - 1], f);
	else if (id == W_DOW && v >= 0 && v <= 7)
		fputs(words_days[v], f);
	else if (id == W_HOUR)
		fprintf(f, "%02d:00", v);
	else
		fprintf(f, "%d", v);
}

/* The values of a stepped item, listed. */
static size_t
words_expand(const struct words_item *it, int *out, size_t max)
{
	size_t	n = 0;
	int	v;

	for (v = it->a; v <= it->b && n < max; v += it->step > 0 ?
	    it->step : 1)
		out[n++] = v;
	return (n);
}

/* The items of SET as a list of values and ranges ("1 through 5", "the
 * second Friday of the month"), steps listed; CONJ joins the last. */
static void
words_list(FILE *f, const struct words_set *set, const char *conj)
{
	int	 vals[64];
	size_t	 i, k, n, total = 0, at = 0;

	for (i = 0; i < set->n; i++)
		total += set->v[i].step > 0 ?
		    words_expand(&set->v[i], vals, 64) : 1;
	for (i = 0; i < set->n; i++) {
		const struct words_item	*it = &set->v[i];

		if (it->step > 0) {
			n = words_expand(it, vals, 64);
			for (k = 0; k < n; k++) {
				words_sep(f, at++, total, conj);
				words_show(f, set->id, vals[k]);
			}
			continue;
		}
		words_sep(f, at++, total, conj);
		if (it->last)
			fputs("the last day", f);
		else if (it->nth != 0) {
			fprintf(f, "the %s ", it->nth < 0 ? "last" :
			    words_ordinals[(it->nth - 1) % 5]);
			words_show(f, set->id, it->a);
			fputs(" of the month", f);
		} else if (it->a == it->b)
			words_show(f, set->id, it->a);
		else {
			words_show(f, set->id, it->a);
			fputs(" through ", f);
			words_show(f, set->id, it->b);
		}
	}
}

/* SET is one plain value (no range, step, name or nth): its value. */
static int
words_single(const struct words_set *set, int *v)
{
	const struct words_item	*it = &set->v[0];

	if (set->n != 1 || it->star || it->last || it->nth != 0 ||
	    it->step != 0 || it->a != it->b)
		return (0);
	*v = it->a;
	return (1);
}

/* SET is "*\/N" with N dividing CYCLE: N. */
static int
words_even_step(const struct words_set *set, int cycle)
{
	const struct words_item	*it = &set->v[0];

	if (set->n == 1 && it->star && it->step > 0 && cycle % it->step == 0)
		return (it->step);
	return (0);
}

/* "at 07:00 and 19:00": SEC (-1: none) and MIN single, HOUR plain. */
static int
words_clock(FILE *f, const struct words_set *sec,
    const struct words_set *min, const struct words_set *hour)
{
	int	s = 0, m, h[WORDS_TIMES];
	size_t	i;

	if ((sec != NULL && !words_single(sec, &s)) ||
	    !words_single(min, &m) || hour->n > WORDS_TIMES)
		return (0);
	for (i = 0; i < hour->n; i++) {
		struct words_set one = { .id = W_HOUR, .n = 1 };

		one.v[0] = hour->v[i];
		if (!words_single(&one, &h[i]))
			return (0);
	}
	fputs("at ", f);
	for (i = 0; i < hour->n; i++) {
		words_sep(f, i, hour->n, " and ");
		fprintf(f, "%02d:%02d", h[i], m);
		if (s != 0)
			fprintf(f, ":%02d", s);
	}
	return (1);
}

/* A seconds or minutes field as its own phrase; UNIT "second". */
static void
words_sub(FILE *f, const struct words_set *set, const char *unit)
{
	int	n;

	if (set->any)
		fprintf(f, "every %s", unit);
	else if ((n = words_even_step(set, 60)) != 0)
		fprintf(f, "every %d %ss", n, unit);
	else {
		fprintf(f, "at %s%s ", unit, set->n == 1 &&
		    set->v[0].step == 0 && set->v[0].a == set->v[0].b ?
		    "" : "s");
		words_list(f, set, " and ");
	}
}

/* The time of day: "at 07:00" (1: a time of day), or "every 15 minutes,
 * between 09:00 and 17:59" (0). */
static int
words_time(FILE *f, const struct words_set *sec,
    const struct words_set *min, const struct words_set *hour)
{
	int	n, zero_sec;

	zero_sec = sec == NULL || (words_single(sec, &n) && n == 0);
	if (words_clock(f, sec, min, hour))
		return (1);
	if (!zero_sec) {
		words_sub(f, sec, "second");
		if (!min->any) {
			fputs(", ", f);
			words_sub(f, min, "minute");
		}
	} else
		words_sub(f, min, "minute");
	if (hour->any) {
		if (!min->any && words_even_step(min, 60) == 0)
			fputs(" of every hour", f);
		return (0);
	}
	if ((n = words_even_step(hour, 24)) != 0) {
		fprintf(f, ", every %d hours", n);
		return (0);
	}
	if (hour->n == 1 && hour->v[0].step == 0 && !hour->v[0].star) {
		fprintf(f, ", between %02d:00 and %02d:59", hour->v[0].a,
		    hour->v[0].b);
		return (0);
	}
	fputs(", in the hours of ", f);
	words_list(f, hour, " and ");
	return (0);
}

static size_t	words_count(const struct words_set *);

/* The days: "on Monday through Friday", "on day 13 of the month or on
 * Friday", "every day". */
static void
words_days_of(FILE *f, const struct words_set *dom,
    const struct words_set *dow)
{
	if (dom->any && dow->any) {
		fputs("every day", f);
		return;
	}
	if (!dow->any) {
		fputs("on ", f);
		words_list(f, dow, " and ");
	}
	if (dom->any)
		return;
	if (!dow->any)
		fputs(dom->star ? " when it is " : " and on ", f);
	else
		fputs("on ", f);
	if (dom->n == 1 && dom->v[0].last)
		fputs("the last day of the month", f);
	else {
		fputs(words_count(dom) == 1 || (dom->star && !dow->any) ?
		    "day " : "days ", f);
		words_list(f, dom, dom->star && !dow->any ? " or " : " and ");
		fputs(" of the month", f);
	}
}

/* How many days SET names, L aside. */
static size_t
words_count(const struct words_set *set)
{
	int	 vals[64];
	size_t	 i, n = 0;

	for (i = 0; i < set->n; i++) {
		if (set->v[i].last)
			continue;
		if (set->v[i].step > 0)
			n += words_expand(&set->v[i], vals, 64);
		else
			n += (size_t)(set->v[i].b - set->v[i].a + 1);
	}
	return (n);
}

/* A cron expression (5 or 6 fields, or a macro) in words; allocated. */
static char *
words_cron(const char *expr)
{
	static const struct { const char *name, *expr; } macros[] = {
		{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" },
		{ "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" },
		{ "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" },
		{ "@hourly", "0 * * * *" },
	};
	struct words_set	 sets[W_FIELDS];
	const char		*start[6], *p = expr;
	size_t			 len[6], n = 0, i, first;
	int			 clock;
	char			*out = NULL;
	size_t			 outlen;
	FILE			*f;

	for (i = 0; i < sizeof macros / sizeof macros[0]; i++)
		if (strcasecmp(expr, macros[i].name) == 0)
			p = expr = macros[i].expr;
	while (*p != '\0' && n < 6) {
		p += strspn(p, " \t");
		if (*p == '\0')
			break;
		start[n] = p;
		len[n] = strcspn(p, " \t");
		p += len[n++];
	}
	if (n < 5)
		return (xstrdup(expr));
	memset(sets, 0, sizeof sets);
	first = n == 6 ? W_SECOND : W_MINUTE;
	for (i = 0; i < n; i++) {
		sets[first + i].id = first + i;
		words_items(&sets[first + i], start[i], len[i]);
	}
	if ((f = open_memstream(&out, &outlen)) == NULL)
		fatal("open_memstream");
	clock = words_time(f, n == 6 ? &sets[W_SECOND] : NULL,
	    &sets[W_MINUTE], &sets[W_HOUR]);
	if (clock || !sets[W_DOM].any || !sets[W_DOW].any ||
	    !sets[W_MONTH].any) {
		fputs(", ", f);
		words_days_of(f, &sets[W_DOM], &sets[W_DOW]);
	}
	if (!sets[W_MONTH].any) {
		fputs(", in ", f);
		words_list(f, &sets[W_MONTH], " and ");
	}
	if (fclose(f) != 0)
		fatal("fclose");
	return (out);
}

/* "every 1 hour 30 minutes" for a number of seconds. */
static char *
words_interval(int64_t us)
{
	static const struct { const char *unit; int64_t s; } units[] = {
		{ "day", 86400 }, { "hour", 3600 }, { "minute", 60 },
		{ "second", 1 },
	};
	int64_t	 s = us / USEC_PER_SEC, k;
	char	*out = NULL;
	size_t	 outlen, i;
	FILE	*f;

	if ((f = open_memstream(&out, &outlen)) == NULL)
		fatal("open_memstream");
	fputs("every", f);
	for (i = 0; i < sizeof units / sizeof units[0]; i++) {
		if ((k = s / units[i].s) == 0)
			continue;
		s -= k * units[i].s;
		if (k == 1 && s == 0 && ftell(f) == 5)
			fprintf(f, " %s", units[i].unit);	/* every hour */
		else
			fprintf(f, " %lld %s%s", (long long)k, units[i].unit,
			    k == 1 ? "" : "s");
	}
	if (fclose(f) != 0)
		fatal("fclose");
	return (out);
}

/* "mon 09:00" of a weekly trigger: "every Monday at 09:00". */
static char *
words_weekly(const char *spec)
{
	static const char *const full[] = { "sunday", "monday", "tuesday",
	    "wednesday", "thursday", "friday", "saturday" };
	char	 day[16], *out;
	int	 h = 0, m = 0, d = -1, i;

	if (sscanf(spec, "%15s %d:%d", day, &h, &m) != 3)
		return (xstrdup(spec));
	if (isdigit((unsigned char)day[0]))
		d = atoi(day) % 7;
	for (i = 0; i < 7 && d < 0; i++)
		if (strncasecmp(day, full[i], 3) == 0)
			d = i;
	if (d < 0)
		return (xstrdup(spec));
	xasprintf(&out, "every %s at %02d:%02d", words_days[d], h, m);
	return (out);
}

/* "15 09:00" or "last 18:00" of a monthly trigger. */
static char *
words_monthly(const char *spec)
{
	char	 day[16], *out;
	int	 h = 0, m = 0, d;

	if (sscanf(spec, "%15s %d:%d", day, &h, &m) != 3)
		return (xstrdup(spec));
	if (strcasecmp(day, "last") == 0)
		xasprintf(&out, "on the last day of every month at %02d:%02d",
		    h, m);
	else if ((d = atoi(day)) > 28)
		xasprintf(&out, "on day %d of every month that has one, at "
		    "%02d:%02d", d, h, m);
	else
		xasprintf(&out, "on day %d of every month at %02d:%02d", d, h,
		    m);
	return (out);
}

/*
 * Trigger KIND with its text SPEC (as a schedule object's "spec") and,
 * for an interval, INTERVAL_US, in words; allocated.
 */
char *
trigger_words(enum trigger_kind kind, const char *spec, int64_t interval_us)
{
	char	*out;

	switch (kind) {
	case TRIGGER_CRON:
		return (words_cron(spec));
	case TRIGGER_WEEKLY:
		return (words_weekly(spec));
	case TRIGGER_MONTHLY:
		return (words_monthly(spec));
	case TRIGGER_INTERVAL:
		return (words_interval(interval_us));
	case TRIGGER_AT:
		xasprintf(&out, "once, at %s", spec);
		return (out);
	case TRIGGER_MANUAL:
		return (xstrdup("by hand only"));
	case TRIGGER_WEBHOOK:
		return (xstrdup("on a signed webhook delivery"));
	}
	return (xstrdup(spec));
}
