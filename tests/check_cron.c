/*
 * tests/check_cron.c: time zones and the cron evaluator.  One Suite per
 * source file: tz.c and cron.c.
 *
 * Every expected instant is a literal taken from outside this code: the
 * tzdata installed on the machine read with `zdump -v ZONE` and python3's
 * zoneinfo (a brute-force evaluation of DESIGN.md's scheduling rules, minute
 * by minute), or glibc's own POSIX TZ handling (`TZ=... date`) where noted.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "actors.h"
#include "lib.h"

#define NEL(a)	(sizeof (a) / sizeof (a)[0])

/* An expected fire: UTC instant, nominal local time, DST tag. */
struct want {
	const char	*utc;
	const char	*nominal;
	enum dst_tag	 tag;
};

/* An expected UTC offset at an instant. */
struct want_off {
	const char	*zone;
	const char	*at;
	int		 off;
};

static int64_t	 ts(const char *);
static const char *utc_str(int64_t, char *, size_t);
static const char *civil_str(const struct civil *, char *, size_t);
static const struct tz *zone(const char *);
static void	 expect_fires(const char *, const char *, const char *,
		     const struct want *, size_t);
static void	 expect_bad(const char *, const char *);
static void	 write_file(const char *, const char *, const void *, size_t);
static void	 put32(unsigned char *, uint32_t);
static size_t	 make_tzif(unsigned char *, size_t, int32_t, const char *);
static int	 ref_dim(int, int);
static int	 ref_day(const struct cron *, int, int, int, int);
static int	 ref_any_day(const struct cron *);
static void	 ref_days(const char *, const char *, const char *,
		     struct cron *);
static int64_t	 ref_next_utc(const struct cron *, int64_t, int64_t);
static void	 random_field(char *, size_t, int, int, int);
static Suite	*tz_suite(void);
static Suite	*cron_suite(void);


/* ---- helpers ------------------------------------------------------------ */

/* Seconds since the epoch of an RFC 3339 string. */
static int64_t
ts(const char *s)
{
	int64_t	us;

	ck_assert_msg(parse_rfc3339(s, &us) == 0, "bad test time %s", s);
	return (us / USEC_PER_SEC);
}

static const char *
utc_str(int64_t t, char *buf, size_t len)
{
	return (fmt_rfc3339(t * USEC_PER_SEC, buf, len));
}

static const char *
civil_str(const struct civil *c, char *buf, size_t len)
{
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d", c->year, c->month,
	    c->day, c->hour, c->minute, c->second);
	return (buf);
}

static const struct tz *
zone(const char *name)
{
	const struct tz	*tz;
	char		*cause = NULL;

	tz = tz_load(name, &cause);
	ck_assert_msg(tz != NULL, "tz_load %s: %s", name, cause);
	return (tz);
}

/* Fire EXPR in ZONE from FROM, each call from the previous fire's instant. */
static void
expect_fires(const char *expr, const char *zname, const char *from,
    const struct want *w, size_t n)
{
	const struct tz		*tz = zone(zname);
	struct cron		 c;
	struct cron_fire	 f;
	char			*cause = NULL, b1[64], b2[64];
	int64_t			 t = ts(from);
	size_t			 i;

	ck_assert_msg(cron_parse(expr, &c, &cause) == 0, "%s: %s", expr,
	    cause);
	for (i = 0; i < n; i++) {
		ck_assert_msg(cron_next(&c, tz, t, &f) == 0,
		    "%s in %s: no fire #%zu", expr, zname, i);
		ck_assert_msg(strcmp(utc_str(f.utc, b1, sizeof b1), w[i].utc) ==
		    0, "%s in %s #%zu: fire %s, want %s", expr, zname, i, b1,
		    w[i].utc);
		ck_assert_msg(strcmp(civil_str(&f.nominal, b2, sizeof b2),
		    w[i].nominal) == 0, "%s in %s #%zu: nominal %s, want %s",
		    expr, zname, i, b2, w[i].nominal);
		ck_assert_msg(f.tag == w[i].tag, "%s in %s #%zu: tag %s, want %s",
		    expr, zname, i, dst_tag_name(f.tag),
		    dst_tag_name(w[i].tag));
		ck_assert_int_gt(f.utc, t);
		t = f.utc;
	}
}

/* EXPR must be refused with a cause containing WANT; nothing is written. */
static void
expect_bad(const char *expr, const char *want)
{
	struct cron	 c, before;
	char		*cause = NULL;

	memset(&c, 0xa5, sizeof c);
	before = c;
	ck_assert_msg(cron_parse(expr, &c, &cause) == -1, "accepted \"%s\"",
	    expr);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strstr(cause, want) != NULL, "\"%s\": cause \"%s\", "
	    "want \"%s\"", expr, cause, want);
	ck_assert_msg(strncmp(cause, "cron: ", 6) == 0, "cause \"%s\"", cause);
	ck_assert(memcmp(&c, &before, sizeof c) == 0);
	free(cause);
}

static void
write_file(const char *dir, const char *name, const void *p, size_t len)
{
	free(lib_put_file(dir, name, p, len, 0644));
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/*
 * A version 2 TZif file with no transitions, one local time type of offset
 * OFF, and FOOTER as its POSIX TZ string.
 */
static size_t
make_tzif(unsigned char *buf, size_t len, int32_t off, const char *footer)
{
	size_t	n = 0, i;

	ck_assert_uint_lt(2 * 58 + strlen(footer) + 2, len);
	for (i = 0; i < 2; i++) {
		memset(buf + n, 0, 44);
		memcpy(buf + n, "TZif2", 5);
		put32(buf + n + 36, 1);		/* typecnt */
		put32(buf + n + 40, 4);		/* charcnt */
		n += 44;
		put32(buf + n, (uint32_t)off);
		buf[n + 4] = 0;
		buf[n + 5] = 0;
		memcpy(buf + n + 6, "LMT", 4);
		n += 10;
	}
	buf[n++] = '\n';
	memcpy(buf + n, footer, strlen(footer));
	n += strlen(footer);
	buf[n++] = '\n';
	return (n);
}

/* Days in month M (1..12) of year Y, by the Gregorian rule. */
static int
ref_dim(int y, int m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return (29);
	return (mdays[m - 1]);
}

/*
 * Reference day match for day D of month M of year Y, a weekday WD (Vixie:
 * AND if a field had '*').  "#n" is the n-th WD of the month, days
 * 7n-6..7n; "L" is a WD with no WD a week later in the month.
 */
static int
ref_day(const struct cron *c, int y, int m, int d, int wd)
{
	int	dim = ref_dim(y, m), dom, dow;

	if (!(c->months & (1 << m)))
		return (0);
	dom = (c->days >> d & 1) || ((c->flags & CRON_LAST_DOM) && d == dim);
	dow = (c->weekdays >> wd & 1) || (c->nth[wd] >> ((d - 1) / 7) & 1) ||
	    ((c->nth[wd] & CRON_NTH_LAST) && d + 7 > dim);
	if (c->flags & (CRON_DOM_STAR | CRON_DOW_STAR))
		return (dom && dow);
	return (dom || dow);
}

/* Whether any day of the 400 years 2000-2399 matches C (Sakamoto's wday). */
static int
ref_any_day(const struct cron *c)
{
	static const int k[] = { 0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4 };
	int	y, m, d, yy, wd;

	for (y = 2000; y < 2400; y++) {
		for (m = 1; m <= 12; m++) {
			yy = m < 3 ? y - 1 : y;
			wd = (yy + yy / 4 - yy / 100 + yy / 400 + k[m - 1] + 1) %
			    7;
			for (d = 1; d <= ref_dim(y, m); d++) {
				if (ref_day(c, y, m, d, (wd + d - 1) % 7))
					return (1);
			}
		}
	}
	return (0);
}

/*
 * The day fields DOM, MONTH and DOW parsed one at a time, each beside
 * fields that let it fire, into one struct cron (for expressions that
 * cron_parse refuses as a whole).
 */
static void
ref_days(const char *dom, const char *month, const char *dow,
    struct cron *c)
{
	struct cron	 a;
	char		 expr[128], *cause = NULL;

	memset(c, 0, sizeof *c);
	snprintf(expr, sizeof expr, "0 0 %s * *", dom);
	ck_assert_msg(cron_parse(expr, &a, &cause) == 0, "%s: %s", expr, cause);
	c->days = a.days;
	c->flags |= a.flags & (CRON_DOM_STAR | CRON_LAST_DOM);
	snprintf(expr, sizeof expr, "0 0 * %s *", month);
	ck_assert_msg(cron_parse(expr, &a, &cause) == 0, "%s: %s", expr, cause);
	c->months = a.months;
	snprintf(expr, sizeof expr, "0 0 * * %s", dow);
	ck_assert_msg(cron_parse(expr, &a, &cause) == 0, "%s: %s", expr, cause);
	c->weekdays = a.weekdays;
	memcpy(c->nth, a.nth, sizeof c->nth);
	c->flags |= a.flags & (CRON_DOW_STAR | CRON_DOW_NTH);
}

/* Brute force in UTC: every second of each matching day; -1 past LIMIT. */
static int64_t
ref_next_utc(const struct cron *c, int64_t after, int64_t limit)
{
	struct tm	tm;
	time_t		day;
	int64_t		t;
	int		h, m, s;

	for (day = (time_t)(after - (after % 86400 + 86400) % 86400);
	    day <= limit; day += 86400) {
		gmtime_r(&day, &tm);
		if (!ref_day(c, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		    tm.tm_wday))
			continue;
		for (h = 0; h < 24; h++) {
			if (!(c->hours >> h & 1))
				continue;
			for (m = 0; m < 60; m++) {
				if (!(c->minutes >> m & 1))
					continue;
				for (s = 0; s < 60; s++) {
					t = day + h * 3600 + m * 60 + s;
					if ((c->seconds >> s & 1) && t > after)
						return (t);
				}
			}
		}
	}
	return (-1);
}

/*
 * A random cron field for values LO..HI; KIND 1 (day-of-month) allows "L",
 * KIND 2 (day-of-week) "#n" and "L".
 */
static void
random_field(char *buf, size_t len, int lo, int hi, int kind)
{
	int	a = lo + (int)(lib_rnd() % (uint64_t)(hi - lo + 1)), b, k;

	b = a + (int)(lib_rnd() % (uint64_t)(hi - a + 1));
	k = (int)(lib_rnd() % 8);
	switch (k) {
	case 0:
		snprintf(buf, len, "*");
		break;
	case 1:
		snprintf(buf, len, "*/%d", 1 + (int)(lib_rnd() % (uint64_t)(hi -
		    lo < 9 ? hi - lo + 1 : 9)));
		break;
	case 2:
		snprintf(buf, len, "%d-%d", a, b);
		break;
	case 3:
		snprintf(buf, len, "%d-%d/%d", a, b, 1 + (int)(lib_rnd() % 5));
		break;
	case 4:
		snprintf(buf, len, "%d/%d", a, 1 + (int)(lib_rnd() % 7));
		break;
	case 5:
		if (kind == 2)
			snprintf(buf, len, "%d#%d", a,
			    1 + (int)(lib_rnd() % 5));
		else
			snprintf(buf, len, kind == 1 ? "L" : "%d", a);
		break;
	case 6:
		if (kind == 2) {
			snprintf(buf, len, "%dL,%d#%d", a, b,
			    1 + (int)(lib_rnd() % 5));
			break;
		}
		/* FALLTHROUGH */
	default:
		snprintf(buf, len, "%d,%d", a, b);
		break;
	}
}

/* ---- tz.c --------------------------------------------------------------- */

/* "UTC" and "Etc/UTC" load without files and have offset 0. */
START_TEST(test_tz_load_utc)
{
	const struct tz	*a, *b;
	struct civil	 c;

	setenv("TZDIR", "/nonexistent", 1);
	a = zone("UTC");
	b = zone("Etc/UTC");
	unsetenv("TZDIR");
	ck_assert_str_eq(tz_name(a), "UTC");
	ck_assert_str_eq(tz_name(b), "Etc/UTC");
	ck_assert_int_eq(tz_offset(a, ts("2025-07-01T00:00:00Z")), 0);
	ck_assert_int_eq(tz_offset(b, -5000000000LL), 0);
	tz_to_civil(a, ts("2024-02-29T23:59:59Z"), &c);
	ck_assert_int_eq(c.year, 2024);
	ck_assert_int_eq(c.month, 2);
	ck_assert_int_eq(c.day, 29);
	ck_assert_int_eq(c.hour, 23);
	ck_assert_int_eq(c.second, 59);
	ck_assert_int_eq(c.wday, 4);
}
END_TEST

/* Unknown zones, bad names and paths out of the zone directory are refused. */
START_TEST(test_tz_load_bad)
{
	static const struct {
		const char	*name;
		const char	*cause;
	} bad[] = {
		{ "Mars/Base", "unknown time zone \"Mars/Base\"" },
		{ "America", "unknown time zone \"America\"" },
		{ "../../etc/passwd", "invalid time zone name" },
		{ "America/../../etc/passwd", "invalid time zone name" },
		{ "/etc/passwd", "invalid time zone name" },
		{ "", "invalid time zone name" },
		{ "Europe/Paris\n", "invalid time zone name" },
		{ "zone.tab", "time zone \"zone.tab\": not a valid TZif file" },
	};
	char	*cause;
	size_t	 i;

	for (i = 0; i < NEL(bad); i++) {
		cause = NULL;
		ck_assert_msg(tz_load(bad[i].name, &cause) == NULL, "loaded %s",
		    bad[i].name);
		ck_assert_msg(cause != NULL && strstr(cause, bad[i].cause) !=
		    NULL, "%s: cause %s", bad[i].name, cause);
		free(cause);
	}
	cause = NULL;
	ck_assert_ptr_null(tz_load(NULL, &cause));
	free(cause);
	ck_assert_ptr_null(tz_load("Mars/Base", NULL));
	ck_assert_ptr_null(tz_load("../x", NULL));
}
END_TEST

/* A zone is loaded once: later loads return the same object. */
START_TEST(test_tz_load_cached)
{
	const struct tz	*a = zone("Europe/Berlin"), *b = zone("Europe/Berlin");

	ck_assert_ptr_eq(a, b);
	ck_assert_str_eq(tz_name(a), "Europe/Berlin");
}
END_TEST

/* A version 1 file (32-bit times, no footer) keeps its last offset. */
START_TEST(test_tz_load_tzif)
{
	unsigned char	 buf[128];
	char		*dir = lib_tmpdir("check_cron");
	const struct tz	*tz;

	memset(buf, 0, sizeof buf);
	memcpy(buf, "TZif", 4);
	put32(buf + 32, 2);			/* timecnt */
	put32(buf + 36, 2);			/* typecnt */
	put32(buf + 40, 8);			/* charcnt */
	put32(buf + 44, 1000000000);
	put32(buf + 48, 1100000000);
	buf[52] = 1;
	buf[53] = 0;
	put32(buf + 54, 0);			/* type 0: +00:00 "AAA" */
	put32(buf + 60, 3600);			/* type 1: +01:00 "BBB" */
	buf[64] = 1;
	buf[65] = 4;
	memcpy(buf + 66, "AAA\0BBB\0", 8);
	write_file(dir, "v1", buf, 74);
	setenv("TZDIR", dir, 1);
	tz = zone("v1");
	unsetenv("TZDIR");
	ck_assert_int_eq(tz_offset(tz, 999999999), 0);
	ck_assert_int_eq(tz_offset(tz, 1000000000), 3600);
	ck_assert_int_eq(tz_offset(tz, 1099999999), 3600);
	ck_assert_int_eq(tz_offset(tz, 1100000000), 0);
	ck_assert_int_eq(tz_offset(tz, 4000000000LL), 0);
	lib_rm_tree(dir);
	free(dir);
}
END_TEST

/* Broken TZif files are refused with the reason; good ones load. */
START_TEST(test_tz_load_tzif_bad)
{
	static const char *const names[] = { "short", "magic", "count",
	    "type", "leap", "footer", "version" };
	unsigned char	 buf[512], b2[512];
	char		*dir = lib_tmpdir("check_cron"), *cause;
	size_t		 n, i;

	n = make_tzif(buf, sizeof buf, 3600, "CET-1");
	write_file(dir, "good", buf, n);
	write_file(dir, "short", buf, 50);
	memcpy(b2, buf, n);
	b2[0] = 'X';
	write_file(dir, "magic", b2, n);
	memcpy(b2, buf, n);
	put32(b2 + 54 + 36, 0);			/* v2 typecnt 0 */
	write_file(dir, "count", b2, n);
	memcpy(b2, buf, n);
	b2[54 + 44 + 5] = 9;			/* abbreviation index */
	write_file(dir, "type", b2, n);
	memcpy(b2, buf, n);
	put32(b2 + 54 + 28, 1);			/* leap record past the end */
	write_file(dir, "leap", b2, n);
	memcpy(b2, buf, n);
	memcpy(b2 + 109, "CET-1,M3\n", 9);	/* a rule with no end */
	write_file(dir, "footer", b2, 118);
	memcpy(b2, buf, n);
	b2[4] = '1';
	write_file(dir, "version", b2, n);
	setenv("TZDIR", dir, 1);
	ck_assert_int_eq(tz_offset(zone("good"), 0), 3600);
	for (i = 0; i < NEL(names); i++) {
		cause = NULL;
		ck_assert_msg(tz_load(names[i], &cause) == NULL, "loaded %s",
		    names[i]);
		ck_assert_msg(strstr(cause, "not a valid TZif file") != NULL,
		    "%s: %s", names[i], cause);
		free(cause);
	}
	unsetenv("TZDIR");
	lib_rm_tree(dir);
	free(dir);
}
END_TEST

/* Mutated copies of a real TZif file never crash the loader. */
START_TEST(test_tz_load_fuzz_bad)
{
	unsigned char	*orig, *buf;
	char		*dir = lib_tmpdir("check_cron"), name[32], *cause;
	const struct tz	*tz;
	FILE		*f;
	long		 len;
	int		 i, j;

	ck_assert_ptr_nonnull(f = fopen("/usr/share/zoneinfo/America/New_York",
	    "rb"));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	orig = xmalloc((size_t)len);
	buf = xmalloc((size_t)len);
	ck_assert_int_eq(fread(orig, 1, (size_t)len, f), len);
	fclose(f);
	setenv("TZDIR", dir, 1);
	for (i = 0; i < 300; i++) {
		memcpy(buf, orig, (size_t)len);
		for (j = 0; j < 1 + i % 4; j++)
			buf[lib_rnd() % (uint64_t)len] =
			    (unsigned char)lib_rnd();
		snprintf(name, sizeof name, "m%d", i);
		write_file(dir, name, buf, i % 7 == 0 ? (size_t)(lib_rnd() %
		    (uint64_t)len) : (size_t)len);
		cause = NULL;
		if ((tz = tz_load(name, &cause)) != NULL) {
			tz_offset(tz, (int64_t)(lib_rnd() % 10000000000ULL));
			tz_offset(tz, -(int64_t)(lib_rnd() % 10000000000ULL));
		} else
			ck_assert_ptr_nonnull(cause);
		free(cause);
	}
	unsetenv("TZDIR");
	free(orig);
	free(buf);
	lib_rm_tree(dir);
	free(dir);
}
END_TEST

/* Day numbers, weekdays and month lengths of the proleptic calendar. */
START_TEST(test_civil_days)
{
	int64_t	d;
	int	y, m, dd;

	ck_assert_int_eq(civil_to_days(1970, 1, 1), 0);
	ck_assert_int_eq(civil_to_days(1969, 12, 31), -1);
	ck_assert_int_eq(civil_to_days(2000, 3, 1), 11017);
	ck_assert_int_eq(civil_to_days(2024, 2, 29), 19782);
	ck_assert_int_eq(civil_to_days(1, 1, 1), -719162);
	ck_assert_int_eq(civil_to_days(9999, 12, 31), 2932896);
	days_to_civil(-719162, &y, &m, &dd);
	ck_assert(y == 1 && m == 1 && dd == 1);
	days_to_civil(19782, &y, &m, &dd);
	ck_assert(y == 2024 && m == 2 && dd == 29);
	for (d = -800000; d < 3000000; d += 997) {
		days_to_civil(d, &y, &m, &dd);
		ck_assert_int_eq(civil_to_days(y, m, dd), d);
		ck_assert_int_ge(dd, 1);
		ck_assert_int_le(dd, days_in_month(y, m));
	}
	ck_assert_int_eq(civil_wday(1970, 1, 1), 4);
	ck_assert_int_eq(civil_wday(2025, 3, 9), 0);
	ck_assert_int_eq(civil_wday(1, 1, 1), 1);
	ck_assert_int_eq(civil_wday(1969, 12, 28), 0);
	ck_assert_int_eq(days_in_month(2024, 2), 29);
	ck_assert_int_eq(days_in_month(2000, 2), 29);
	ck_assert_int_eq(days_in_month(1900, 2), 28);
	ck_assert_int_eq(days_in_month(2100, 2), 28);
	ck_assert_int_eq(days_in_month(2025, 4), 30);
}
END_TEST

/* Months outside 1..12 have no days. */
START_TEST(test_civil_days_bad)
{
	ck_assert_int_eq(days_in_month(2025, 0), 0);
	ck_assert_int_eq(days_in_month(2025, 13), 0);
	ck_assert_int_eq(days_in_month(2025, -1), 0);
}
END_TEST

/* Offsets on both sides of real transitions (zdump -v) in ten zones. */
START_TEST(test_tz_offset_zones)
{
	static const struct want_off w[] = {
		{ "America/New_York", "2025-03-09T06:59:59Z", -18000 },
		{ "America/New_York", "2025-03-09T07:00:00Z", -14400 },
		{ "America/New_York", "2025-11-02T05:59:59Z", -14400 },
		{ "America/New_York", "2025-11-02T06:00:00Z", -18000 },
		{ "Europe/London", "2025-03-30T00:59:59Z", 0 },
		{ "Europe/London", "2025-03-30T01:00:00Z", 3600 },
		{ "Europe/London", "2025-10-26T00:59:59Z", 3600 },
		{ "Europe/London", "2025-10-26T01:00:00Z", 0 },
		{ "Europe/Berlin", "2025-03-30T00:59:59Z", 3600 },
		{ "Europe/Berlin", "2025-03-30T01:00:00Z", 7200 },
		{ "Europe/Berlin", "2025-10-26T01:00:00Z", 3600 },
		{ "Australia/Sydney", "2025-04-05T15:59:59Z", 39600 },
		{ "Australia/Sydney", "2025-04-05T16:00:00Z", 36000 },
		{ "Australia/Sydney", "2025-10-04T15:59:59Z", 36000 },
		{ "Australia/Sydney", "2025-10-04T16:00:00Z", 39600 },
		{ "Australia/Lord_Howe", "2025-04-05T14:59:59Z", 39600 },
		{ "Australia/Lord_Howe", "2025-04-05T15:00:00Z", 37800 },
		{ "Australia/Lord_Howe", "2025-10-04T15:29:59Z", 37800 },
		{ "Australia/Lord_Howe", "2025-10-04T15:30:00Z", 39600 },
		{ "Africa/Cairo", "2024-04-25T21:59:59Z", 7200 },
		{ "Africa/Cairo", "2024-04-25T22:00:00Z", 10800 },
		{ "Africa/Cairo", "2024-10-31T20:59:59Z", 10800 },
		{ "Africa/Cairo", "2024-10-31T21:00:00Z", 7200 },
		{ "Asia/Kolkata", "2025-01-01T00:00:00Z", 19800 },
		{ "Asia/Kolkata", "2025-07-01T00:00:00Z", 19800 },
		{ "America/Santiago", "2025-04-06T02:59:59Z", -10800 },
		{ "America/Santiago", "2025-04-06T03:00:00Z", -14400 },
		{ "America/Santiago", "2025-09-07T03:59:59Z", -14400 },
		{ "America/Santiago", "2025-09-07T04:00:00Z", -10800 },
		{ "America/Sao_Paulo", "2025-01-01T00:00:00Z", -10800 },
		{ "Pacific/Chatham", "2025-04-05T13:59:59Z", 49500 },
		{ "Pacific/Chatham", "2025-04-05T14:00:00Z", 45900 },
		{ "Pacific/Chatham", "2025-09-27T14:00:00Z", 49500 },
		{ "Asia/Tehran", "2022-03-21T20:29:59Z", 12600 },
		{ "Asia/Tehran", "2022-03-21T20:30:00Z", 16200 },
		{ "Asia/Tehran", "2025-07-01T00:00:00Z", 12600 },
		/* Old history and the footer rule far ahead (zoneinfo). */
		{ "America/New_York", "1883-01-01T00:00:00Z", -17762 },
		{ "Europe/Berlin", "1916-05-01T00:00:00Z", 7200 },
		{ "America/New_York", "2300-07-01T12:00:00Z", -14400 },
		{ "America/New_York", "2300-12-01T12:00:00Z", -18000 },
		{ "Australia/Lord_Howe", "2400-01-15T00:00:00Z", 39600 },
		{ "Australia/Lord_Howe", "2400-06-15T00:00:00Z", 37800 },
		{ "Europe/London", "2999-08-01T00:00:00Z", 3600 },
		{ "Australia/Sydney", "2250-10-01T00:00:00Z", 36000 },
		{ "America/Santiago", "2150-01-01T00:00:00Z", -10800 },
		{ "Asia/Kolkata", "2500-01-01T00:00:00Z", 19800 },
		{ "Africa/Cairo", "2100-05-01T00:00:00Z", 10800 },
	};
	size_t	i;

	for (i = 0; i < NEL(w); i++) {
		ck_assert_msg(tz_offset(zone(w[i].zone), ts(w[i].at)) ==
		    w[i].off, "%s at %s: %d, want %d", w[i].zone, w[i].at,
		    tz_offset(zone(w[i].zone), ts(w[i].at)), w[i].off);
	}
}
END_TEST

/* Footer rules: Lord Howe's 30 minutes, negative and 25+ hours, Jn and n. */
START_TEST(test_tz_offset_footer)
{
	static const struct {
		const char	*footer;
		const char	*at;
		int		 off;
	} w[] = {
		{ "EST5EDT,M3.2.0,M11.1.0", "2025-03-09T06:59:59Z", -18000 },
		{ "EST5EDT,M3.2.0,M11.1.0", "2025-03-09T07:00:00Z", -14400 },
		{ "EST5EDT,M3.2.0,M11.1.0", "2025-11-02T05:59:59Z", -14400 },
		{ "EST5EDT,M3.2.0,M11.1.0", "2025-11-02T06:00:00Z", -18000 },
		{ "EST5EDT,M3.2.0,M11.1.0", "2300-07-01T00:00:00Z", -14400 },
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
		    "2025-10-04T15:29:59Z", 37800 },
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
		    "2025-10-04T15:30:00Z", 39600 },
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
		    "2026-04-04T14:59:59Z", 39600 },
		{ "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
		    "2026-04-04T15:00:00Z", 37800 },
		{ "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", "2025-03-30T00:59:59Z",
		    -10800 },
		{ "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", "2025-03-30T01:00:00Z",
		    -7200 },
		{ "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", "2025-10-26T00:59:59Z",
		    -7200 },
		{ "<-03>3<-02>,M3.5.0/-2,M10.5.0/-1", "2025-10-26T01:00:00Z",
		    -10800 },
		{ "<+0330>-3:30<+0430>,M3.4.3/24,M9.3.5/100",
		    "2025-03-26T20:29:59Z", 12600 },
		{ "<+0330>-3:30<+0430>,M3.4.3/24,M9.3.5/100",
		    "2025-03-26T20:30:00Z", 16200 },
		{ "<+0330>-3:30<+0430>,M3.4.3/24,M9.3.5/100",
		    "2025-09-22T23:29:59Z", 16200 },
		{ "<+0330>-3:30<+0430>,M3.4.3/24,M9.3.5/100",
		    "2025-09-22T23:30:00Z", 12600 },
		{ "AAA-2BBB,M3.5.0/167,M10.5.0/-167", "2025-04-05T20:59:59Z",
		    7200 },
		{ "AAA-2BBB,M3.5.0/167,M10.5.0/-167", "2025-04-05T21:00:00Z",
		    10800 },
		{ "AAA-2BBB,M3.5.0/167,M10.5.0/-167", "2025-10-18T22:00:00Z",
		    7200 },
		{ "AAA3BBB,J60/2,J300/2", "2024-03-01T04:59:59Z", -10800 },
		{ "AAA3BBB,J60/2,J300/2", "2024-03-01T05:00:00Z", -7200 },
		{ "AAA3BBB,J60/2,J300/2", "2025-03-01T05:00:00Z", -7200 },
		{ "AAA3BBB,J60/2,J300/2", "2024-10-27T03:59:59Z", -7200 },
		{ "AAA3BBB,J60/2,J300/2", "2024-10-27T04:00:00Z", -10800 },
		/* Zero-based n, February 29 counted: glibc's TZ=... date. */
		{ "AAA3BBB,59/2,299/2", "2024-02-29T04:59:59Z", -10800 },
		{ "AAA3BBB,59/2,299/2", "2024-02-29T05:00:00Z", -7200 },
		{ "AAA3BBB,59/2,299/2", "2025-03-01T04:59:59Z", -10800 },
		{ "AAA3BBB,59/2,299/2", "2025-03-01T05:00:00Z", -7200 },
		{ "AAA3BBB,59/2,299/2", "2024-10-26T03:59:59Z", -7200 },
		{ "AAA3BBB,59/2,299/2", "2024-10-26T04:00:00Z", -10800 },
		/* DST all year (RFC 8536 3.3.1). */
		{ "EST5EDT,0/0,J365/25", "2025-01-01T00:00:00Z", -14400 },
		{ "EST5EDT,0/0,J365/25", "2025-06-01T00:00:00Z", -14400 },
		{ "EST5EDT,0/0,J365/25", "2026-01-01T05:30:00Z", -14400 },
		/* Negative daylight saving (Europe/Dublin). */
		{ "IST-1GMT0,M10.5.0,M3.5.0/1", "2025-03-30T00:59:59Z", 0 },
		{ "IST-1GMT0,M10.5.0,M3.5.0/1", "2025-03-30T01:00:00Z", 3600 },
		{ "IST-1GMT0,M10.5.0,M3.5.0/1", "2025-10-26T00:59:59Z", 3600 },
		{ "IST-1GMT0,M10.5.0,M3.5.0/1", "2025-10-26T01:00:00Z", 0 },
		{ "XXX-5:30", "2025-01-01T00:00:00Z", 19800 },
	};
	unsigned char	 buf[256];
	char		*dir = lib_tmpdir("check_cron"), name[32];
	const struct tz	*tz;
	size_t		 i, n;

	setenv("TZDIR", dir, 1);
	for (i = 0; i < NEL(w); i++) {
		snprintf(name, sizeof name, "F%zu", i);
		n = make_tzif(buf, sizeof buf, 0, w[i].footer);
		write_file(dir, name, buf, n);
		tz = zone(name);
		ck_assert_msg(tz_offset(tz, ts(w[i].at)) == w[i].off,
		    "%s at %s: %d, want %d", w[i].footer, w[i].at,
		    tz_offset(tz, ts(w[i].at)), w[i].off);
	}
	unsetenv("TZDIR");
	lib_rm_tree(dir);
	free(dir);
}
END_TEST

/* Footers that are not POSIX TZ strings are refused. */
START_TEST(test_tz_offset_footer_bad)
{
	static const char *const bad[] = { "E5", "EST", "EST5EDT,M3.2.0",
	    "EST5EDT,M13.2.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
	    "EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J100", "EST5EDT,366,100",
	    "EST5EDT,M3.2.0/168,M11.1.0", "EST25", "<AB>5", "<ABC5",
	    "EST5EDT,M3.2.0,M11.1.0x", "EST5:60" };
	unsigned char	 buf[256];
	char		*dir = lib_tmpdir("check_cron"), name[32], *cause;
	size_t		 i, n;

	setenv("TZDIR", dir, 1);
	for (i = 0; i < NEL(bad); i++) {
		snprintf(name, sizeof name, "B%zu", i);
		n = make_tzif(buf, sizeof buf, 0, bad[i]);
		write_file(dir, name, buf, n);
		cause = NULL;
		ck_assert_msg(tz_load(name, &cause) == NULL, "loaded %s",
		    bad[i]);
		ck_assert_msg(strstr(cause, "bad TZ string") != NULL, "%s: %s",
		    bad[i], cause);
		free(cause);
	}
	unsetenv("TZDIR");
	lib_rm_tree(dir);
	free(dir);
}
END_TEST

/* Local wall time of instants, including half-hour and odd offsets. */
START_TEST(test_tz_to_civil)
{
	struct civil	c;
	char		buf[64];

	tz_to_civil(zone("Asia/Kolkata"), ts("2025-06-01T03:30:00Z"), &c);
	ck_assert_str_eq(civil_str(&c, buf, sizeof buf), "2025-06-01T09:00:00");
	tz_to_civil(zone("Pacific/Chatham"), ts("2025-09-27T14:00:00Z"), &c);
	ck_assert_str_eq(civil_str(&c, buf, sizeof buf), "2025-09-28T03:45:00");
	ck_assert_int_eq(c.wday, 0);
	tz_to_civil(zone("America/New_York"), ts("2025-11-02T06:30:00Z"), &c);
	ck_assert_str_eq(civil_str(&c, buf, sizeof buf), "2025-11-02T01:30:00");
	tz_to_civil(zone("Africa/Cairo"), ts("2024-04-25T22:00:00Z"), &c);
	ck_assert_str_eq(civil_str(&c, buf, sizeof buf), "2024-04-26T01:00:00");
	ck_assert_int_eq(c.wday, 5);
	tz_to_civil(zone("America/New_York"), -2208988800LL, &c);
	ck_assert_str_eq(civil_str(&c, buf, sizeof buf), "1899-12-31T19:00:00");
}
END_TEST

/* Wall times: normal, repeated (two instants) and skipped (gap end). */
START_TEST(test_tz_from_civil)
{
	static const struct {
		const char	*zone;
		struct civil	 local;
		int		 rc;
		const char	*at0;
		const char	*at1;
	} w[] = {
		{ "America/New_York", { 2025, 3, 9, 1, 59, 59, 0 }, 1,
		    "2025-03-09T06:59:59Z", NULL },
		{ "America/New_York", { 2025, 3, 9, 2, 30, 0, 0 }, 0,
		    "2025-03-09T07:00:00Z", NULL },
		{ "America/New_York", { 2025, 3, 9, 3, 0, 0, 0 }, 1,
		    "2025-03-09T07:00:00Z", NULL },
		{ "America/New_York", { 2025, 11, 2, 1, 30, 0, 0 }, 2,
		    "2025-11-02T05:30:00Z", "2025-11-02T06:30:00Z" },
		{ "America/New_York", { 2025, 11, 2, 2, 0, 0, 0 }, 1,
		    "2025-11-02T07:00:00Z", NULL },
		{ "Australia/Lord_Howe", { 2025, 10, 5, 2, 15, 0, 0 }, 0,
		    "2025-10-04T15:30:00Z", NULL },
		{ "Australia/Lord_Howe", { 2025, 4, 6, 1, 45, 0, 0 }, 2,
		    "2025-04-05T14:45:00Z", "2025-04-05T15:15:00Z" },
		{ "Africa/Cairo", { 2024, 4, 26, 0, 0, 0, 0 }, 0,
		    "2024-04-25T22:00:00Z", NULL },
		{ "Africa/Cairo", { 2024, 10, 31, 23, 30, 0, 0 }, 2,
		    "2024-10-31T20:30:00Z", "2024-10-31T21:30:00Z" },
		{ "America/Santiago", { 2025, 9, 7, 0, 30, 0, 0 }, 0,
		    "2025-09-07T04:00:00Z", NULL },
		{ "Europe/London", { 2025, 10, 26, 1, 0, 0, 0 }, 2,
		    "2025-10-26T00:00:00Z", "2025-10-26T01:00:00Z" },
		{ "Asia/Kolkata", { 2025, 6, 1, 9, 0, 0, 0 }, 1,
		    "2025-06-01T03:30:00Z", NULL },
		{ "America/New_York", { 2300, 3, 11, 2, 30, 0, 0 }, 0,
		    "2300-03-11T07:00:00Z", NULL },
	};
	int64_t	out[2];
	char	b[64];
	size_t	i;
	int	rc;

	for (i = 0; i < NEL(w); i++) {
		rc = tz_from_civil(zone(w[i].zone), &w[i].local, out);
		ck_assert_msg(rc == w[i].rc, "case %zu: rc %d", i, rc);
		ck_assert_str_eq(utc_str(out[0], b, sizeof b), w[i].at0);
		if (rc == 2)
			ck_assert_str_eq(utc_str(out[1], b, sizeof b),
			    w[i].at1);
	}
}
END_TEST

/* Converting an instant to wall time and back finds that instant again. */
START_TEST(test_tz_from_civil_roundtrip)
{
	static const char *const zones[] = { "America/New_York",
	    "Europe/London", "Australia/Lord_Howe", "Africa/Cairo",
	    "America/Santiago", "Pacific/Chatham", "Pacific/Apia",
	    "Asia/Tehran", "UTC" };
	const struct tz	*tz;
	struct civil	 c;
	int64_t		 t, out[2];
	int		 i, rc;

	for (i = 0; i < 20000; i++) {
		tz = zone(zones[i % NEL(zones)]);
		t = (int64_t)(lib_rnd() % 16000000000ULL) - 3000000000LL;
		tz_to_civil(tz, t, &c);
		rc = tz_from_civil(tz, &c, out);
		ck_assert_msg(rc == 1 || rc == 2, "%s %lld: rc %d", tz_name(tz),
		    (long long)t, rc);
		ck_assert_msg(out[0] == t || (rc == 2 && out[1] == t),
		    "%s %lld", tz_name(tz), (long long)t);
	}
}
END_TEST

/* A wall time in a gap has no instant: 0, and the gap's end. */
START_TEST(test_tz_from_civil_bad)
{
	struct civil	c = { 2025, 3, 30, 2, 30, 0, 0 };
	int64_t		out[2];
	char		b[64];

	ck_assert_int_eq(tz_from_civil(zone("Europe/Berlin"), &c, out), 0);
	ck_assert_str_eq(utc_str(out[0], b, sizeof b), "2025-03-30T01:00:00Z");
	/* Samoa skipped 2011-12-30 entirely. */
	c = (struct civil){ 2011, 12, 30, 12, 0, 0, 0 };
	ck_assert_int_eq(tz_from_civil(zone("Pacific/Apia"), &c, out), 0);
	ck_assert_str_eq(utc_str(out[0], b, sizeof b), "2011-12-30T10:00:00Z");
}
END_TEST

/* Transitions are found on both sides of an instant. */
START_TEST(test_tz_transition)
{
	const struct tz	*ny = zone("America/New_York");
	int64_t		 when;
	int		 b, a;
	char		 buf[64];

	ck_assert(tz_transition_after(ny, ts("2025-06-01T00:00:00Z"), &when,
	    &b, &a));
	ck_assert_str_eq(utc_str(when, buf, sizeof buf),
	    "2025-11-02T06:00:00Z");
	ck_assert(b == -14400 && a == -18000);
	ck_assert(tz_transition_before(ny, ts("2025-11-02T06:00:00Z"), &when,
	    &b, &a));
	ck_assert_str_eq(utc_str(when, buf, sizeof buf),
	    "2025-11-02T06:00:00Z");
	ck_assert(tz_transition_after(ny, ts("2299-06-01T00:00:00Z"), &when,
	    &b, &a));
	ck_assert_str_eq(utc_str(when, buf, sizeof buf),
	    "2299-11-05T06:00:00Z");
	ck_assert(tz_transition_before(ny, ts("2400-06-01T00:00:00Z"), &when,
	    &b, &a));
	ck_assert_str_eq(utc_str(when, buf, sizeof buf),
	    "2400-03-12T07:00:00Z");
}
END_TEST

/* Zones without transitions report none. */
START_TEST(test_tz_transition_bad)
{
	int64_t	when = 0;
	int	b, a;

	ck_assert(!tz_transition_after(zone("UTC"), 0, &when, &b, &a));
	ck_assert(!tz_transition_before(zone("UTC"), 0, &when, &b, &a));
	ck_assert(!tz_transition_after(zone("Asia/Kolkata"),
	    ts("2025-01-01T00:00:00Z"), &when, &b, &a));
}
END_TEST

/* ---- cron.c ------------------------------------------------------------- */

/* Fields become bit masks; lists, ranges, steps and names. */
START_TEST(test_cron_parse_fields)
{
	struct cron	 c;
	char		*cause = NULL;

	ck_assert_int_eq(cron_parse("*/15 9-17 * * MON-FRI", &c, &cause), 0);
	ck_assert_uint_eq(c.minutes, 1ULL | 1ULL << 15 | 1ULL << 30 |
	    1ULL << 45);
	ck_assert_uint_eq(c.hours, 0x3fe00);
	ck_assert_uint_eq(c.days, 0xfffffffe);
	ck_assert_uint_eq(c.months, 0x1ffe);
	ck_assert_uint_eq(c.weekdays, 0x3e);
	ck_assert_uint_eq(c.seconds, 1);
	ck_assert_uint_eq(c.flags, CRON_DOM_STAR);
	ck_assert_int_eq(cron_parse("10-40/10,5/20 0 1,15 jan,Jul sun,7", &c,
	    &cause), 0);
	ck_assert_uint_eq(c.minutes, 1ULL << 5 | 1ULL << 10 | 1ULL << 20 |
	    1ULL << 25 | 1ULL << 30 | 1ULL << 40 | 1ULL << 45);
	ck_assert_uint_eq(c.days, 1U << 1 | 1U << 15);
	ck_assert_uint_eq(c.months, 1U << 1 | 1U << 7);
	ck_assert_uint_eq(c.weekdays, 1);
	ck_assert_uint_eq(c.flags, CRON_WALL);
	ck_assert_int_eq(cron_parse(" 5-7 0 L,1 * 5-7\t", &c, &cause), 0);
	ck_assert_uint_eq(c.weekdays, 1 | 1 << 5 | 1 << 6);
	ck_assert_uint_eq(c.days, 1U << 1);
	ck_assert_uint_eq(c.flags, CRON_WALL | CRON_LAST_DOM);
	ck_assert_int_eq(cron_parse("*/20 30 2 * * *", &c, &cause), 0);
	ck_assert_uint_eq(c.seconds, 1ULL | 1ULL << 20 | 1ULL << 40);
	ck_assert_uint_eq(c.flags, CRON_HAS_SECONDS | CRON_DOM_STAR |
	    CRON_DOW_STAR);
}
END_TEST

/* Every kind of bad expression names its field. */
START_TEST(test_cron_parse_bad)
{
	static const struct {
		const char	*expr;
		const char	*cause;
	} bad[] = {
		{ "", "cron: expected 5 or 6 fields, got 0" },
		{ "* * *", "cron: expected 5 or 6 fields, got 3" },
		{ "* * * * * * *", "cron: expected 5 or 6 fields, got 7" },
		{ "61 * * * *",
		    "cron: bad minute field \"61\": value out of range 0-59" },
		{ "60 * * * * *", "bad second field \"60\": value out of range" },
		{ "* 24 * * *", "bad hour field \"24\": value out of range 0-23" },
		{ "* * 0 * *", "bad day-of-month field \"0\": value out of "
		    "range 1-31" },
		{ "* * 32 * *", "bad day-of-month field" },
		{ "* * * 13 *", "bad month field \"13\": value out of range" },
		{ "* * * 0 *", "bad month field" },
		{ "* * * * 8", "bad day-of-week field \"8\": value out of range "
		    "0-7" },
		{ "99999999999999999999 * * * *", "bad minute field" },
		{ "*/0 * * * *", "bad minute field \"*/0\": zero step" },
		{ "0/0 * * * *", "bad minute field \"0/0\": zero step" },
		{ "*/61 * * * *", "bad minute field \"*/61\": step out of range" },
		{ "*/ * * * *", "bad minute field \"*/\": missing step" },
		{ "1/x * * * *", "bad minute field \"1/x\": missing step" },
		{ "1,,2 * * * *", "bad minute field \"1,,2\": empty list item" },
		{ "1, * * * *", "bad minute field \"1,\": empty list item" },
		{ ",1 * * * *", "bad minute field \",1\": empty list item" },
		{ "40-10 * * * *", "bad minute field \"40-10\": reversed range "
		    "40-10" },
		{ "* * * * FRI-MON", "bad day-of-week field \"FRI-MON\": "
		    "reversed range" },
		{ "5- * * * *", "bad minute field \"5-\": missing value" },
		{ "-5 * * * *", "bad minute field \"-5\": unexpected \"-\"" },
		{ "1-2-3 * * * *", "bad minute field \"1-2-3\": unexpected" },
		{ "1-5/2/3 * * * *", "bad minute field" },
		{ "** * * * *", "bad minute field \"**\": unexpected \"*\"" },
		{ "* * * FOO *", "bad month field \"FOO\": unknown name \"FOO\"" },
		{ "* * * JANUARY *", "bad month field" },
		{ "* * * * MON-FOO", "bad day-of-week field \"MON-FOO\": unknown "
		    "name \"FOO\"" },
		{ "MON * * * *", "bad minute field \"MON\": unknown name" },
		{ "* JAN * * *", "bad hour field" },
		{ "* * * * L", "bad day-of-week field \"L\": \"L\" follows a "
		    "weekday (5L: the last Friday of the month)" },
		{ "L * * * *", "bad minute field \"L\": \"L\" is only valid in "
		    "the day-of-month and day-of-week fields" },
		{ "* * L-5 * *", "bad day-of-month field \"L-5\": \"L\" takes no "
		    "range or step" },
		{ "* * L/2 * *", "bad day-of-month field" },
		{ "* * 1-L * *", "bad day-of-month field \"1-L\": \"L\" takes "
		    "no range or step" },
		{ "* * 5L * *", "bad day-of-month field \"5L\": unexpected \"L\"" },
		{ "* * LW * *", "bad day-of-month field" },
		{ "* * ? * *", "bad day-of-month field \"?\": unexpected \"?\"" },
		{ "\x01 * * * *", "bad minute field \"?\": unexpected \"?\"" },
		{ "@foo", "cron: unknown macro \"@foo\"" },
		{ "@reboot", "unknown macro \"@reboot\"" },
		{ "@daily 5", "cron: a macro stands alone" },
		{ "@", "unknown macro \"@\"" },
	};
	char	 *cause = NULL, *big;
	size_t	  i;

	for (i = 0; i < NEL(bad); i++)
		expect_bad(bad[i].expr, bad[i].cause);
	big = xmalloc(5000);
	memset(big, '1', 4999);
	big[4999] = '\0';
	expect_bad(big, "too long");
	free(big);
	ck_assert_int_eq(cron_parse(NULL, &(struct cron){ 0 }, &cause), -1);
	free(cause);
	ck_assert_int_eq(cron_parse("61 * * * *", &(struct cron){ 0 }, NULL),
	    -1);
	ck_assert_int_eq(cron_parse("@foo", &(struct cron){ 0 }, NULL), -1);
}
END_TEST

/* "#n" and "L" in the day-of-week field: numbers, names, 0 and 7, lists. */
START_TEST(test_cron_parse_nth)
{
	static const struct {
		const char	*dow;
		uint8_t		 weekdays;
		uint8_t		 nth[7];
	} w[] = {
		{ "1#1", 0, { 0, 0x01, 0, 0, 0, 0, 0 } },
		{ "MON#2", 0, { 0, 0x02, 0, 0, 0, 0, 0 } },
		{ "5#5", 0, { 0, 0, 0, 0, 0, 0x10, 0 } },
		{ "0#1", 0, { 0x01, 0, 0, 0, 0, 0, 0 } },
		{ "7#1", 0, { 0x01, 0, 0, 0, 0, 0, 0 } },
		{ "SUN#1", 0, { 0x01, 0, 0, 0, 0, 0, 0 } },
		{ "sun#1,7#3", 0, { 0x05, 0, 0, 0, 0, 0, 0 } },
		{ "5L", 0, { 0, 0, 0, 0, 0, CRON_NTH_LAST, 0 } },
		{ "5l", 0, { 0, 0, 0, 0, 0, CRON_NTH_LAST, 0 } },
		{ "FRIL", 0, { 0, 0, 0, 0, 0, CRON_NTH_LAST, 0 } },
		{ "friL", 0, { 0, 0, 0, 0, 0, CRON_NTH_LAST, 0 } },
		{ "5#L", 0, { 0, 0, 0, 0, 0, CRON_NTH_LAST, 0 } },
		{ "FRI#L", 0, { 0, 0, 0, 0, 0, CRON_NTH_LAST, 0 } },
		{ "7L", 0, { CRON_NTH_LAST, 0, 0, 0, 0, 0, 0 } },
		{ "1#1,5L", 0, { 0, 0x01, 0, 0, 0, CRON_NTH_LAST, 0 } },
		{ "MON#1,FRI#3", 0, { 0, 0x01, 0, 0, 0, 0x04, 0 } },
		{ "MON#2,MON#4,WED", 0x08, { 0, 0x0a, 0, 0, 0, 0, 0 } },
		{ "1-3,SAT#05", 0x0e, { 0, 0, 0, 0, 0, 0, 0x10 } },
	};
	struct cron	 c;
	char		 expr[64], *cause = NULL;
	size_t		 i;

	for (i = 0; i < NEL(w); i++) {
		snprintf(expr, sizeof expr, "0 0 * * %s", w[i].dow);
		ck_assert_msg(cron_parse(expr, &c, &cause) == 0, "%s: %s", expr,
		    cause);
		ck_assert_msg(c.weekdays == w[i].weekdays, "%s: weekdays %#x",
		    expr, c.weekdays);
		ck_assert_msg(memcmp(c.nth, w[i].nth, sizeof c.nth) == 0,
		    "%s: nth %02x %02x %02x %02x %02x %02x %02x", expr,
		    c.nth[0], c.nth[1], c.nth[2], c.nth[3], c.nth[4], c.nth[5],
		    c.nth[6]);
		/* Restricted: ANDed with the '*' day-of-month only. */
		ck_assert_uint_eq(c.flags, CRON_WALL | CRON_DOM_STAR |
		    CRON_DOW_NTH);
	}
	ck_assert_int_eq(cron_parse("0 0 13 * FRI#2", &c, &cause), 0);
	ck_assert_uint_eq(c.flags, CRON_WALL | CRON_DOW_NTH);
	ck_assert_int_eq(cron_parse("0 0 * * 5", &c, &cause), 0);
	ck_assert_uint_eq(c.flags & CRON_DOW_NTH, 0);
	ck_assert_mem_eq(c.nth, "\0\0\0\0\0\0\0", sizeof c.nth);
}
END_TEST

/* Malformed "#" and "L" forms are refused and name the field. */
START_TEST(test_cron_parse_nth_bad)
{
	static const struct {
		const char	*expr;
		const char	*cause;
	} bad[] = {
		{ "0 0 * * 5#0", "bad day-of-week field \"5#0\": \"#\" takes 1 to "
		    "5 (the first to the fifth such weekday of the month)" },
		{ "0 0 * * 5#6", "bad day-of-week field \"5#6\": \"#\" takes 1 to "
		    "5" },
		{ "0 0 * * 5#99999999999", "bad day-of-week field "
		    "\"5#99999999999\": \"#\" takes 1 to 5" },
		{ "0 0 * * 5#", "bad day-of-week field \"5#\": \"#\" needs a "
		    "number 1 to 5 or L after it" },
		{ "0 0 * * 5#x", "bad day-of-week field \"5#x\": \"#\" needs" },
		{ "0 0 * * 5#-1", "bad day-of-week field \"5#-1\": \"#\" needs" },
		{ "0 0 * * 5#2#3", "bad day-of-week field \"5#2#3\": unexpected "
		    "\"#\"" },
		{ "0 0 * * 5#2L", "bad day-of-week field \"5#2L\": unexpected "
		    "\"L\"" },
		{ "0 0 * * 5LL", "bad day-of-week field \"5LL\": unexpected "
		    "\"L\"" },
		{ "0 0 * * 5L2", "bad day-of-week field \"5L2\": unexpected "
		    "\"2\"" },
		{ "0 0 * * 5#L#1", "bad day-of-week field \"5#L#1\": unexpected" },
		{ "0 0 * * #2", "bad day-of-week field \"#2\": unexpected \"#\"" },
		{ "0 0 * * L5", "bad day-of-week field \"L5\": \"L\" follows a "
		    "weekday" },
		{ "0 0 * * 8#1", "bad day-of-week field \"8#1\": value out of "
		    "range 0-7" },
		{ "0 0 * * FRIDAY#1", "bad day-of-week field \"FRIDAY#1\": "
		    "unknown name \"FRIDAY\"" },
		{ "0 0 * * FRIDAYL", "unknown name \"FRIDAYL\"" },
		{ "0 0 * * FOOL", "bad day-of-week field \"FOOL\": unknown name "
		    "\"FOO\"" },
		{ "0 0 * * *#2", "bad day-of-week field \"*#2\": \"#\" and \"L\" "
		    "follow a single weekday, not a range, a step or \"*\"" },
		{ "0 0 * * *L", "bad day-of-week field \"*L\": \"#\" and \"L\" "
		    "follow a single weekday" },
		{ "0 0 * * 1-5#2", "bad day-of-week field \"1-5#2\": \"#\" and "
		    "\"L\" follow a single weekday" },
		{ "0 0 * * MON-FRIL", "bad day-of-week field \"MON-FRIL\": \"#\" "
		    "and \"L\" follow a single weekday" },
		{ "0 0 * * */2#1", "bad day-of-week field \"*/2#1\": \"#\" and "
		    "\"L\" follow" },
		{ "0 0 * * 1/2L", "bad day-of-week field \"1/2L\": \"#\" and "
		    "\"L\" follow" },
		{ "0 0 * * 5L-6", "bad day-of-week field \"5L-6\": unexpected "
		    "\"-\"" },
		{ "0 0 * * 5#2/2", "bad day-of-week field \"5#2/2\": unexpected "
		    "\"/\"" },
		{ "0 0 * * 5#1,", "bad day-of-week field \"5#1,\": empty list "
		    "item" },
		{ "1#2 0 * * *", "bad minute field \"1#2\": \"#\" is only valid "
		    "in the day-of-week field" },
		{ "0 0 1#2 * *", "bad day-of-month field \"1#2\": \"#\" is only "
		    "valid in the day-of-week field" },
		{ "0 0 * 5L *", "bad month field \"5L\": unexpected \"L\"" },
		{ "0 0 * JULL *", "bad month field \"JULL\": unknown name" },
		{ "0 5L * * *", "bad hour field \"5L\": unexpected \"L\"" },
	};
	size_t	i;

	for (i = 0; i < NEL(bad); i++)
		expect_bad(bad[i].expr, bad[i].cause);
}
END_TEST

/*
 * Rare dates are accepted: February 29, a fifth weekday of February (only
 * when February 29 is that weekday), and day-of-month ORed with weekdays.
 */
START_TEST(test_cron_parse_never)
{
	static const char *const ok[] = { "0 0 29 2 *", "0 0 * 2 MON#5",
	    "0 0 * 2 5#5", "0 0 29 2 FRI#5", "0 0 30 2 MON", "0 0 31 2 5L",
	    "0 0 L 2 *", "0 0 31 * *", "0 0 31 4,5 *", "0 0 */30 * 5#5",
	    "0 0 */7 2 SUN#5", "0 0 29-31 2 *", "0 0 30 2 1,*" };
	struct cron	 c;
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < NEL(ok); i++) {
		ck_assert_msg(cron_parse(ok[i], &c, &cause) == 0, "%s: %s",
		    ok[i], cause);
		ck_assert_msg(ref_any_day(&c), "%s", ok[i]);
	}
}
END_TEST

/* Expressions no date can ever match are refused, saying why. */
START_TEST(test_cron_parse_never_bad)
{
	static const struct {
		const char	*expr;
		const char	*cause;
	} bad[] = {
		{ "0 0 30 2 *", "cron: never fires: day-of-month \"30\" does "
		    "not occur in month \"2\"" },
		{ "0 0 30,31 FEB *", "cron: never fires: day-of-month \"30,31\" "
		    "does not occur in month \"FEB\"" },
		{ "0 0 31 4,6,9,11 *", "cron: never fires: day-of-month \"31\" "
		    "does not occur in month \"4,6,9,11\"" },
		{ "0 0 31 4 */1", "cron: never fires: day-of-month \"31\" does "
		    "not occur in month \"4\"" },
		{ "0 0 0 30 2 *", "cron: never fires: day-of-month" },
		{ "0 0 */31 2 MON#5", "cron: never fires: no day of month \"2\" "
		    "matches both day-of-month \"*/31\" and day-of-week "
		    "\"MON#5\"" },
		{ "0 0 */8 * SUN#5", "cron: never fires: no day of month \"*\" "
		    "matches both day-of-month \"*/8\" and day-of-week "
		    "\"SUN#5\"" },
		{ "0 0 31 4 */2", "cron: never fires: no day of month \"4\" "
		    "matches both day-of-month \"31\" and day-of-week \"*/2\"" },
		{ "0 0 */10 2 1L,2#4", "cron: never fires: no day of month "
		    "\"2\" matches both" },
		/* A day-of-week field that begins with '*' is unrestricted. */
		{ "0 0 30 2 *,1", "cron: never fires: day-of-month \"30\" does "
		    "not occur in month \"2\"" },
	};
	size_t	i;

	for (i = 0; i < NEL(bad); i++)
		expect_bad(bad[i].expr, bad[i].cause);
}
END_TEST

/* A stored expression that never fires still parses (its schedule loads,
 * with no next fire). */
START_TEST(test_cron_parse_stored)
{
	struct cron	 c;
	struct cron_fire f;
	char		*cause = NULL;

	ck_assert_int_eq(cron_parse_stored("0 0 30 2 *", &c, &cause), 0);
	ck_assert_int_eq(cron_next(&c, tz_load("UTC", &cause), 0, &f), -1);
	ck_assert_int_eq(cron_parse_stored("@daily", &c, &cause), 0);
}
END_TEST

/* A stored expression that is malformed is still refused. */
START_TEST(test_cron_parse_stored_bad)
{
	struct cron	 c;
	char		*cause = NULL;

	ck_assert_int_eq(cron_parse_stored("0 0 32 2 *", &c, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	free(cause);
}
END_TEST

/* Macros expand to their five fields (case-insensitive). */
START_TEST(test_cron_parse_macros)
{
	static const struct {
		const char	*macro;
		const char	*expr;
	} m[] = {
		{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" },
		{ "@monthly", "0 0 1 * *" }, { "@weekly", "0 0 * * 0" },
		{ "@daily", "0 0 * * *" }, { "@midnight", "0 0 * * *" },
		{ "@hourly", "0 * * * *" }, { "  @DAILY ", "0 0 * * *" },
	};
	struct cron	 a, b;
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < NEL(m); i++) {
		ck_assert_int_eq(cron_parse(m[i].macro, &a, &cause), 0);
		ck_assert_int_eq(cron_parse(m[i].expr, &b, &cause), 0);
		ck_assert_msg(memcmp(&a, &b, sizeof a) == 0, "%s", m[i].macro);
	}
	ck_assert_int_eq(cron_parse("@hourly", &a, &cause), 0);
	ck_assert(!(a.flags & CRON_WALL));
	ck_assert_int_eq(cron_parse("@weekly", &a, &cause), 0);
	ck_assert(a.flags & CRON_WALL);
}
END_TEST

/* Vixie's tests: '*' starts a star field; wall versus cadence. */
START_TEST(test_cron_parse_flags)
{
	static const struct {
		const char	*expr;
		uint8_t		 mask;
		uint8_t		 flags;
	} w[] = {
		{ "0 0 */10 * 1", CRON_DOM_STAR | CRON_DOW_STAR, CRON_DOM_STAR },
		{ "0 0 1-31 * 1", CRON_DOM_STAR | CRON_DOW_STAR, 0 },
		{ "0 0 * * */2", CRON_DOM_STAR | CRON_DOW_STAR,
		    CRON_DOM_STAR | CRON_DOW_STAR },
		{ "30 2 * * *", CRON_WALL, CRON_WALL },
		{ "0 9-17 * * 1-5", CRON_WALL, CRON_WALL },
		{ "30 2,14 * * *", CRON_WALL, CRON_WALL },
		{ "0 0-23/2 * * *", CRON_WALL, CRON_WALL },
		{ "*/15 * * * *", CRON_WALL, 0 },
		{ "30 * * * *", CRON_WALL, 0 },
		{ "0 */2 * * *", CRON_WALL, 0 },
		{ "*/30 2 * * *", CRON_WALL, 0 },
		{ "0 30 2 * * *", CRON_WALL, CRON_WALL },
		{ "* 30 2 * * *", CRON_WALL, 0 },
		{ "*/10 30 2 * * *", CRON_WALL, 0 },
	};
	struct cron	 c;
	char		*cause = NULL;
	size_t		 i;

	for (i = 0; i < NEL(w); i++) {
		ck_assert_int_eq(cron_parse(w[i].expr, &c, &cause), 0);
		ck_assert_msg((c.flags & w[i].mask) == w[i].flags,
		    "%s: flags %#x", w[i].expr, c.flags);
	}
}
END_TEST

/* Random strings never crash the parser; results are in range. */
START_TEST(test_cron_parse_fuzz_bad)
{
	static const char alphabet[] = "0123456789*/-,LlJAaNnMmOoSsUuFfRr@ "
	    "\t?#\x01\xff";
	static const char *const tokens[] = { "*", "*/5", "1", "0-5", "1,2",
	    "5/7", "L", "MON", "jan", "1-", ",", "7", "60", "*/0", "31",
	    "2-1", "sun-sat", "L,15", "0-59/60" };
	const struct tz	*ny = zone("America/New_York");
	struct cron	 c;
	struct cron_fire f;
	char		 s[64], *cause, *words;
	size_t		 k;
	int		 i, j, n, ok = 0;

	for (i = 0; i < 200000; i++) {
		n = (int)(lib_rnd() % (sizeof s - 1));
		for (j = 0; j < n; j++) {
			if (i % 2 == 0)
				s[j] = (char)(1 + lib_rnd() % 255);
			else
				s[j] = alphabet[lib_rnd() %
				    (sizeof alphabet - 1)];
		}
		s[n] = '\0';
		if (i % 4 == 1) {	/* 4 to 7 plausible fields */
			s[0] = '\0';
			for (j = 0, n = 4 + (int)(lib_rnd() % 4); j < n; j++) {
				k = strlen(s);
				snprintf(s + k, sizeof s - k, "%s ",
				    tokens[lib_rnd() % NEL(tokens)]);
			}
		}
		cause = NULL;
		if (cron_parse(s, &c, &cause) != 0) {
			ck_assert_ptr_nonnull(cause);
			free(cause);
			continue;
		}
		ok++;
		ck_assert_ptr_null(cause);
		words = trigger_words(TRIGGER_CRON, s, 0);	/* in words */
		ck_assert_uint_gt(strlen(words), 0);
		free(words);
		ck_assert_uint_eq(c.seconds >> 60, 0);
		ck_assert_uint_eq(c.minutes >> 60, 0);
		ck_assert_uint_eq(c.hours >> 24, 0);
		ck_assert_uint_eq(c.days & 1, 0);
		ck_assert_uint_eq(c.months & ~0x1ffeU, 0);
		ck_assert_uint_eq(c.weekdays >> 7, 0);
		if (cron_next(&c, ny, 1700000000, &f) == 0)
			ck_assert_int_gt(f.utc, 1700000000);
	}
	ck_assert_int_gt(ok, 100);
}
END_TEST

/* Weekly and monthly builders are wall-anchored; 31 skips short months. */
START_TEST(test_cron_builders)
{
	const struct tz		*tz = zone("Europe/Berlin");
	struct cron		 c;
	struct cron_fire	 f;
	char			 b[64];
	int64_t			 t;

	cron_weekly(7, 9, 30, &c);
	ck_assert(c.flags & CRON_WALL);
	ck_assert_int_eq(cron_next(&c, tz, ts("2025-03-26T00:00:00Z"), &f), 0);
	ck_assert_str_eq(utc_str(f.utc, b, sizeof b), "2025-03-30T07:30:00Z");
	ck_assert_int_eq(f.nominal.wday, 0);
	cron_monthly(31, 8, 0, &c);
	t = ts("2025-01-31T07:00:00Z");
	ck_assert_int_eq(cron_next(&c, tz, t, &f), 0);
	ck_assert_str_eq(utc_str(f.utc, b, sizeof b), "2025-03-31T06:00:00Z");
	ck_assert_int_eq(cron_next(&c, tz, f.utc, &f), 0);
	ck_assert_str_eq(utc_str(f.utc, b, sizeof b), "2025-05-31T06:00:00Z");
	cron_monthly(0, 8, 0, &c);
	ck_assert_int_eq(cron_next(&c, tz, t, &f), 0);
	ck_assert_str_eq(utc_str(f.utc, b, sizeof b), "2025-02-28T07:00:00Z");
	ck_assert_int_eq(cron_next(&c, tz, f.utc, &f), 0);
	ck_assert_str_eq(utc_str(f.utc, b, sizeof b), "2025-03-31T06:00:00Z");
}
END_TEST

/* Out-of-range builder arguments give a cron that never fires. */
START_TEST(test_cron_builders_bad)
{
	struct cron		 c;
	struct cron_fire	 f;

	cron_weekly(8, 9, 30, &c);
	ck_assert_int_eq(cron_next(&c, zone("UTC"), 0, &f), -1);
	cron_weekly(1, 24, 0, &c);
	ck_assert_int_eq(cron_next(&c, zone("UTC"), 0, &f), -1);
	cron_monthly(32, 9, 0, &c);
	ck_assert_int_eq(cron_next(&c, zone("UTC"), 0, &f), -1);
	cron_monthly(1, 9, 60, &c);
	ck_assert_int_eq(cron_next(&c, zone("UTC"), 0, &f), -1);
	ck_assert_str_eq(dst_tag_name(DST_NONE), "none");
	ck_assert_str_eq(dst_tag_name(DST_SHIFTED), "shifted");
	ck_assert_str_eq(dst_tag_name(DST_COALESCED), "coalesced");
	ck_assert_str_eq(dst_tag_name(DST_SUPPRESSED), "suppressed");
	ck_assert_str_eq(dst_tag_name((enum dst_tag)42), "unknown");
}
END_TEST

/* Spring forward: a wall time in the gap fires at the gap's end. */
START_TEST(test_cron_next_spring_shifted)
{
	static const struct want ny[] = {
		{ "2025-03-09T07:00:00Z", "2025-03-09T02:30:00", DST_SHIFTED },
		{ "2025-03-10T06:30:00Z", "2025-03-10T02:30:00", DST_NONE },
		{ "2025-03-11T06:30:00Z", "2025-03-11T02:30:00", DST_NONE },
	}, london[] = {
		{ "2025-03-30T01:00:00Z", "2025-03-30T01:30:00", DST_SHIFTED },
		{ "2025-03-31T00:30:00Z", "2025-03-31T01:30:00", DST_NONE },
	}, berlin[] = {
		{ "2025-03-30T01:00:00Z", "2025-03-30T02:30:00", DST_SHIFTED },
		{ "2025-03-31T00:30:00Z", "2025-03-31T02:30:00", DST_NONE },
	}, sydney[] = {
		{ "2025-10-04T16:00:00Z", "2025-10-05T02:30:00", DST_SHIFTED },
		{ "2025-10-05T15:30:00Z", "2025-10-06T02:30:00", DST_NONE },
	}, lord_howe[] = {
		{ "2025-10-04T15:30:00Z", "2025-10-05T02:15:00", DST_SHIFTED },
		{ "2025-10-05T15:15:00Z", "2025-10-06T02:15:00", DST_NONE },
	}, chatham[] = {
		{ "2025-09-27T14:00:00Z", "2025-09-28T03:00:00", DST_SHIFTED },
		{ "2025-09-28T13:15:00Z", "2025-09-29T03:00:00", DST_NONE },
	}, tehran[] = {
		{ "2022-03-20T20:30:00Z", "2022-03-21T00:00:00", DST_NONE },
		{ "2022-03-21T20:30:00Z", "2022-03-22T00:00:00", DST_SHIFTED },
		{ "2022-03-22T19:30:00Z", "2022-03-23T00:00:00", DST_NONE },
	};

	expect_fires("30 2 * * *", "America/New_York", "2025-03-08T12:00:00Z",
	    ny, NEL(ny));
	expect_fires("30 1 * * *", "Europe/London", "2025-03-29T12:00:00Z",
	    london, NEL(london));
	expect_fires("30 2 * * *", "Europe/Berlin", "2025-03-29T12:00:00Z",
	    berlin, NEL(berlin));
	expect_fires("30 2 * * *", "Australia/Sydney", "2025-10-04T00:00:00Z",
	    sydney, NEL(sydney));
	expect_fires("15 2 * * *", "Australia/Lord_Howe",
	    "2025-10-04T00:00:00Z", lord_howe, NEL(lord_howe));
	expect_fires("0 3 * * *", "Pacific/Chatham", "2025-09-27T00:00:00Z",
	    chatham, NEL(chatham));
	expect_fires("0 0 * * *", "Asia/Tehran", "2022-03-20T00:00:00Z",
	    tehran, NEL(tehran));
}
END_TEST

/* Several wall times in one gap coalesce into a single fire. */
START_TEST(test_cron_next_spring_coalesced)
{
	static const struct want ny[] = {
		{ "2025-03-09T07:00:00Z", "2025-03-09T02:00:00", DST_COALESCED },
		{ "2025-03-10T06:00:00Z", "2025-03-10T02:00:00", DST_NONE },
		{ "2025-03-10T06:30:00Z", "2025-03-10T02:30:00", DST_NONE },
	}, ny3[] = {
		{ "2025-03-09T07:00:00Z", "2025-03-09T02:00:00", DST_COALESCED },
		{ "2025-03-10T06:00:00Z", "2025-03-10T02:00:00", DST_NONE },
		{ "2025-03-10T07:00:00Z", "2025-03-10T03:00:00", DST_NONE },
	}, lord_howe[] = {
		{ "2025-10-04T15:30:00Z", "2025-10-05T02:00:00", DST_COALESCED },
		{ "2025-10-05T15:00:00Z", "2025-10-06T02:00:00", DST_NONE },
	};

	expect_fires("0,30 2 * * *", "America/New_York",
	    "2025-03-08T12:00:00Z", ny, NEL(ny));
	/* 02:00 in the gap and 03:00 just after it share 07:00Z. */
	expect_fires("0 2,3 * * *", "America/New_York", "2025-03-09T00:00:00Z",
	    ny3, NEL(ny3));
	expect_fires("0,15 2 * * *", "Australia/Lord_Howe",
	    "2025-10-04T00:00:00Z", lord_howe, NEL(lord_howe));
}
END_TEST

/* Fall back: a wall time in the repeated hour fires once, the first time. */
START_TEST(test_cron_next_fall_suppressed)
{
	static const struct want ny[] = {
		{ "2025-11-02T05:30:00Z", "2025-11-02T01:30:00", DST_NONE },
		{ "2025-11-03T06:30:00Z", "2025-11-03T01:30:00", DST_NONE },
		{ "2025-11-04T06:30:00Z", "2025-11-04T01:30:00", DST_NONE },
	}, london[] = {
		{ "2025-10-26T00:30:00Z", "2025-10-26T01:30:00", DST_NONE },
		{ "2025-10-27T01:30:00Z", "2025-10-27T01:30:00", DST_NONE },
	}, sydney[] = {
		{ "2025-04-05T15:30:00Z", "2025-04-06T02:30:00", DST_NONE },
		{ "2025-04-06T16:30:00Z", "2025-04-07T02:30:00", DST_NONE },
	}, lord_howe[] = {
		{ "2025-04-05T14:45:00Z", "2025-04-06T01:45:00", DST_NONE },
		{ "2025-04-06T15:15:00Z", "2025-04-07T01:45:00", DST_NONE },
	}, cairo[] = {
		{ "2024-10-31T20:30:00Z", "2024-10-31T23:30:00", DST_NONE },
		{ "2024-11-01T21:30:00Z", "2024-11-01T23:30:00", DST_NONE },
	}, berlin[] = {
		{ "2025-10-26T00:00:00Z", "2025-10-26T02:00:00", DST_NONE },
		{ "2025-11-02T01:00:00Z", "2025-11-02T02:00:00", DST_NONE },
	};
	const struct tz		*tz = zone("America/New_York");
	struct cron		 c;
	struct cron_fire	 f;
	char			*cause = NULL, b[64];

	expect_fires("30 1 * * *", "America/New_York", "2025-11-01T12:00:00Z",
	    ny, NEL(ny));
	expect_fires("30 1 * * *", "Europe/London", "2025-10-25T12:00:00Z",
	    london, NEL(london));
	expect_fires("30 2 * * *", "Australia/Sydney", "2025-04-05T00:00:00Z",
	    sydney, NEL(sydney));
	expect_fires("45 1 * * *", "Australia/Lord_Howe",
	    "2025-04-05T00:00:00Z", lord_howe, NEL(lord_howe));
	expect_fires("30 23 * * *", "Africa/Cairo", "2024-10-31T12:00:00Z",
	    cairo, NEL(cairo));
	expect_fires("0 2 * * 0", "Europe/Berlin", "2025-10-20T00:00:00Z",
	    berlin, NEL(berlin));
	/* Asked from inside the second pass, the next day is next. */
	ck_assert_int_eq(cron_parse("30 1 * * *", &c, &cause), 0);
	ck_assert_int_eq(cron_next(&c, tz, ts("2025-11-02T06:10:00Z"), &f), 0);
	ck_assert_str_eq(utc_str(f.utc, b, sizeof b), "2025-11-03T06:30:00Z");
	ck_assert_int_eq(cron_parse("45 1 * * *", &c, &cause), 0);
	ck_assert_int_eq(cron_next(&c, tz, ts("2025-11-02T06:10:00Z"), &f), 0);
	ck_assert_str_eq(utc_str(f.utc, b, sizeof b), "2025-11-03T06:45:00Z");
}
END_TEST

/* Cadence: both passes of a repeated hour fire, in real-time order. */
START_TEST(test_cron_next_fall_cadence)
{
	static const struct want ny[] = {
		{ "2025-11-02T04:30:00Z", "2025-11-02T00:30:00", DST_NONE },
		{ "2025-11-02T05:00:00Z", "2025-11-02T01:00:00", DST_NONE },
		{ "2025-11-02T05:30:00Z", "2025-11-02T01:30:00", DST_NONE },
		{ "2025-11-02T06:00:00Z", "2025-11-02T01:00:00", DST_NONE },
		{ "2025-11-02T06:30:00Z", "2025-11-02T01:30:00", DST_NONE },
		{ "2025-11-02T07:00:00Z", "2025-11-02T02:00:00", DST_NONE },
		{ "2025-11-02T07:30:00Z", "2025-11-02T02:30:00", DST_NONE },
	}, london[] = {
		{ "2025-10-26T00:00:00Z", "2025-10-26T01:00:00", DST_NONE },
		{ "2025-10-26T00:30:00Z", "2025-10-26T01:30:00", DST_NONE },
		{ "2025-10-26T01:00:00Z", "2025-10-26T01:00:00", DST_NONE },
		{ "2025-10-26T01:30:00Z", "2025-10-26T01:30:00", DST_NONE },
		{ "2025-10-27T01:00:00Z", "2025-10-27T01:00:00", DST_NONE },
	}, sydney[] = {
		{ "2025-04-05T15:00:00Z", "2025-04-06T02:00:00", DST_NONE },
		{ "2025-04-05T15:30:00Z", "2025-04-06T02:30:00", DST_NONE },
		{ "2025-04-05T16:00:00Z", "2025-04-06T02:00:00", DST_NONE },
		{ "2025-04-05T16:30:00Z", "2025-04-06T02:30:00", DST_NONE },
		{ "2025-04-06T16:00:00Z", "2025-04-07T02:00:00", DST_NONE },
	}, lord_howe[] = {
		{ "2025-04-05T14:15:00Z", "2025-04-06T01:15:00", DST_NONE },
		{ "2025-04-05T14:30:00Z", "2025-04-06T01:30:00", DST_NONE },
		{ "2025-04-05T14:45:00Z", "2025-04-06T01:45:00", DST_NONE },
		{ "2025-04-05T15:00:00Z", "2025-04-06T01:30:00", DST_NONE },
		{ "2025-04-05T15:15:00Z", "2025-04-06T01:45:00", DST_NONE },
		{ "2025-04-06T14:30:00Z", "2025-04-07T01:00:00", DST_NONE },
	}, cairo[] = {
		{ "2024-10-31T20:00:00Z", "2024-10-31T23:00:00", DST_NONE },
		{ "2024-10-31T20:30:00Z", "2024-10-31T23:30:00", DST_NONE },
		{ "2024-10-31T21:00:00Z", "2024-10-31T23:00:00", DST_NONE },
		{ "2024-10-31T21:30:00Z", "2024-10-31T23:30:00", DST_NONE },
		{ "2024-11-01T21:00:00Z", "2024-11-01T23:00:00", DST_NONE },
	};

	expect_fires("*/30 * * * *", "America/New_York",
	    "2025-11-02T04:10:00Z", ny, NEL(ny));
	expect_fires("*/30 1 * * *", "Europe/London", "2025-10-25T12:00:00Z",
	    london, NEL(london));
	expect_fires("*/30 2 * * *", "Australia/Sydney",
	    "2025-04-05T00:00:00Z", sydney, NEL(sydney));
	expect_fires("*/15 1 * * *", "Australia/Lord_Howe",
	    "2025-04-05T14:00:00Z", lord_howe, NEL(lord_howe));
	expect_fires("*/30 23 * * *", "Africa/Cairo", "2024-10-31T12:00:00Z",
	    cairo, NEL(cairo));
}
END_TEST

/* Cadence: nonexistent local times are skipped, @hourly included. */
START_TEST(test_cron_next_spring_cadence)
{
	static const struct want half[] = {
		{ "2025-03-09T06:30:00Z", "2025-03-09T01:30:00", DST_NONE },
		{ "2025-03-09T07:00:00Z", "2025-03-09T03:00:00", DST_NONE },
		{ "2025-03-09T07:30:00Z", "2025-03-09T03:30:00", DST_NONE },
	}, hourly[] = {
		{ "2025-03-09T06:00:00Z", "2025-03-09T01:00:00", DST_NONE },
		{ "2025-03-09T07:00:00Z", "2025-03-09T03:00:00", DST_NONE },
		{ "2025-03-09T08:00:00Z", "2025-03-09T04:00:00", DST_NONE },
	}, lord_howe[] = {
		{ "2025-10-04T15:00:00Z", "2025-10-05T01:30:00", DST_NONE },
		{ "2025-10-04T15:30:00Z", "2025-10-05T02:30:00", DST_NONE },
		{ "2025-10-04T16:00:00Z", "2025-10-05T03:00:00", DST_NONE },
	};
	const struct tz		*tz = zone("America/New_York");
	struct cron		 c;
	struct cron_fire	 f;
	char			*cause = NULL, b[64];

	expect_fires("*/30 * * * *", "America/New_York",
	    "2025-03-09T06:00:00Z", half, NEL(half));
	expect_fires("@hourly", "America/New_York", "2025-03-09T05:30:00Z",
	    hourly, NEL(hourly));
	expect_fires("*/30 * * * *", "Australia/Lord_Howe",
	    "2025-10-04T14:45:00Z", lord_howe, NEL(lord_howe));
	/* A cadence inside the gap hour has nothing that day. */
	ck_assert_int_eq(cron_parse("*/30 2 * * *", &c, &cause), 0);
	ck_assert_int_eq(cron_next(&c, tz, ts("2025-03-09T05:00:00Z"), &f), 0);
	ck_assert_str_eq(utc_str(f.utc, b, sizeof b), "2025-03-10T06:00:00Z");
}
END_TEST

/* Transitions at midnight (Cairo, Santiago) lose no day. */
START_TEST(test_cron_next_midnight)
{
	static const struct want cairo[] = {
		{ "2024-04-24T22:00:00Z", "2024-04-25T00:00:00", DST_NONE },
		{ "2024-04-25T22:00:00Z", "2024-04-26T00:00:00", DST_SHIFTED },
		{ "2024-04-26T21:00:00Z", "2024-04-27T00:00:00", DST_NONE },
	}, friday[] = {
		{ "2024-04-25T22:00:00Z", "2024-04-26T00:30:00", DST_SHIFTED },
		{ "2024-05-02T21:30:00Z", "2024-05-03T00:30:00", DST_NONE },
	}, santiago[] = {
		{ "2025-09-07T04:00:00Z", "2025-09-07T00:00:00", DST_SHIFTED },
		{ "2025-09-14T03:00:00Z", "2025-09-14T00:00:00", DST_NONE },
	}, saturday[] = {
		{ "2025-04-06T02:30:00Z", "2025-04-05T23:30:00", DST_NONE },
		{ "2025-04-13T03:30:00Z", "2025-04-12T23:30:00", DST_NONE },
	};

	expect_fires("0 0 * * *", "Africa/Cairo", "2024-04-24T12:00:00Z",
	    cairo, NEL(cairo));
	expect_fires("30 0 * * 5", "Africa/Cairo", "2024-04-20T00:00:00Z",
	    friday, NEL(friday));
	expect_fires("0 0 * * 0", "America/Santiago", "2025-09-05T00:00:00Z",
	    santiago, NEL(santiago));
	expect_fires("30 23 * * 6", "America/Santiago", "2025-04-05T00:00:00Z",
	    saturday, NEL(saturday));
}
END_TEST

/* Zones without DST: Kolkata +05:30, Sao Paulo -03:00. */
START_TEST(test_cron_next_fixed)
{
	static const struct want kolkata[] = {
		{ "2025-06-01T03:30:00Z", "2025-06-01T09:00:00", DST_NONE },
		{ "2025-06-02T03:30:00Z", "2025-06-02T09:00:00", DST_NONE },
	}, sao_paulo[] = {
		{ "2025-06-01T03:00:00Z", "2025-06-01T00:00:00", DST_NONE },
	};

	expect_fires("0 9 * * *", "Asia/Kolkata", "2025-06-01T00:00:00Z",
	    kolkata, NEL(kolkata));
	expect_fires("0 0 * * *", "America/Sao_Paulo", "2025-06-01T00:00:00Z",
	    sao_paulo, NEL(sao_paulo));
}
END_TEST

/* Day rules: OR when both restricted, AND with a star, L, Feb 29, names. */
START_TEST(test_cron_next_days)
{
	static const struct want or13[] = {
		{ "2025-01-03T00:00:00Z", "2025-01-03T00:00:00", DST_NONE },
		{ "2025-01-10T00:00:00Z", "2025-01-10T00:00:00", DST_NONE },
		{ "2025-01-13T00:00:00Z", "2025-01-13T00:00:00", DST_NONE },
		{ "2025-01-17T00:00:00Z", "2025-01-17T00:00:00", DST_NONE },
		{ "2025-01-24T00:00:00Z", "2025-01-24T00:00:00", DST_NONE },
		{ "2025-01-31T00:00:00Z", "2025-01-31T00:00:00", DST_NONE },
	}, star10[] = {
		{ "2025-03-31T00:00:00Z", "2025-03-31T00:00:00", DST_NONE },
		{ "2025-04-21T00:00:00Z", "2025-04-21T00:00:00", DST_NONE },
		{ "2025-07-21T00:00:00Z", "2025-07-21T00:00:00", DST_NONE },
		{ "2025-08-11T00:00:00Z", "2025-08-11T00:00:00", DST_NONE },
		{ "2025-09-01T00:00:00Z", "2025-09-01T00:00:00", DST_NONE },
	}, last[] = {
		{ "2023-12-31T00:00:00Z", "2023-12-31T00:00:00", DST_NONE },
		{ "2024-01-31T00:00:00Z", "2024-01-31T00:00:00", DST_NONE },
		{ "2024-02-29T00:00:00Z", "2024-02-29T00:00:00", DST_NONE },
		{ "2024-03-31T00:00:00Z", "2024-03-31T00:00:00", DST_NONE },
	}, lastfeb[] = {
		{ "2023-02-28T12:00:00Z", "2023-02-28T12:00:00", DST_NONE },
		{ "2024-02-29T12:00:00Z", "2024-02-29T12:00:00", DST_NONE },
		{ "2025-02-28T12:00:00Z", "2025-02-28T12:00:00", DST_NONE },
	}, feb29[] = {
		{ "2028-02-29T00:00:00Z", "2028-02-29T00:00:00", DST_NONE },
		{ "2032-02-29T00:00:00Z", "2032-02-29T00:00:00", DST_NONE },
	}, names[] = {
		{ "2025-01-05T17:00:00Z", "2025-01-05T12:00:00", DST_NONE },
		{ "2025-01-12T17:00:00Z", "2025-01-12T12:00:00", DST_NONE },
		{ "2025-01-19T17:00:00Z", "2025-01-19T12:00:00", DST_NONE },
		{ "2025-01-26T17:00:00Z", "2025-01-26T12:00:00", DST_NONE },
		{ "2025-07-06T16:00:00Z", "2025-07-06T12:00:00", DST_NONE },
	}, yearly[] = {
		{ "2026-01-01T05:00:00Z", "2026-01-01T00:00:00", DST_NONE },
		{ "2027-01-01T05:00:00Z", "2027-01-01T00:00:00", DST_NONE },
	};

	expect_fires("0 0 13 * 5", "UTC", "2025-01-01T00:00:00Z", or13,
	    NEL(or13));
	expect_fires("0 0 */10 * 1", "UTC", "2025-01-01T00:00:00Z", star10,
	    NEL(star10));
	expect_fires("0 0 L * *", "UTC", "2023-12-15T00:00:00Z", last,
	    NEL(last));
	expect_fires("0 12 L 2 *", "UTC", "2023-01-01T00:00:00Z", lastfeb,
	    NEL(lastfeb));
	expect_fires("0 0 29 2 *", "UTC", "2025-01-01T00:00:00Z", feb29,
	    NEL(feb29));
	expect_fires("0 12 * jan,JUL Sun", "America/New_York",
	    "2025-01-01T00:00:00Z", names, NEL(names));
	expect_fires("@yearly", "America/New_York", "2025-06-01T00:00:00Z",
	    yearly, NEL(yearly));
}
END_TEST

/* Six fields: seconds first. */
START_TEST(test_cron_next_seconds)
{
	static const struct want every20[] = {
		{ "2025-01-01T00:01:00Z", "2025-01-01T00:01:00", DST_NONE },
		{ "2025-01-01T00:01:20Z", "2025-01-01T00:01:20", DST_NONE },
		{ "2025-01-01T00:01:40Z", "2025-01-01T00:01:40", DST_NONE },
	}, wall[] = {
		{ "2025-03-08T14:00:30Z", "2025-03-08T09:00:30", DST_NONE },
		{ "2025-03-09T13:00:30Z", "2025-03-09T09:00:30", DST_NONE },
	}, gap[] = {
		{ "2025-03-09T07:00:00Z", "2025-03-09T02:30:15", DST_COALESCED },
		{ "2025-03-10T06:30:15Z", "2025-03-10T02:30:15", DST_NONE },
	};

	expect_fires("*/20 * * * * *", "UTC", "2025-01-01T00:00:50Z", every20,
	    NEL(every20));
	expect_fires("30 0 9 * * *", "America/New_York",
	    "2025-03-08T00:00:00Z", wall, NEL(wall));
	expect_fires("15,45 30 2 * * *", "America/New_York",
	    "2025-03-08T12:00:00Z", gap, NEL(gap));
}
END_TEST

/*
 * "#n" and "L" weekdays in months of 28, 29, 30 and 31 days; ORed with a
 * restricted day-of-month, ANDed with a '*' one.  Expected instants from
 * python3-croniter (a union of two iterators for the OR case).
 */
START_TEST(test_cron_next_nth)
{
	static const struct want fifth_fri[] = {
		{ "2025-01-31T00:00:00Z", "2025-01-31T00:00:00", DST_NONE },
		{ "2025-05-30T00:00:00Z", "2025-05-30T00:00:00", DST_NONE },
		{ "2025-08-29T00:00:00Z", "2025-08-29T00:00:00", DST_NONE },
		{ "2025-10-31T00:00:00Z", "2025-10-31T00:00:00", DST_NONE },
	}, first_mon[] = {
		{ "2025-01-06T00:00:00Z", "2025-01-06T00:00:00", DST_NONE },
		{ "2025-02-03T00:00:00Z", "2025-02-03T00:00:00", DST_NONE },
		{ "2025-03-03T00:00:00Z", "2025-03-03T00:00:00", DST_NONE },
		{ "2025-04-07T00:00:00Z", "2025-04-07T00:00:00", DST_NONE },
	}, feb_last_sun[] = {
		{ "2023-02-26T00:00:00Z", "2023-02-26T00:00:00", DST_NONE },
		{ "2024-02-25T00:00:00Z", "2024-02-25T00:00:00", DST_NONE },
		{ "2025-02-23T00:00:00Z", "2025-02-23T00:00:00", DST_NONE },
	}, feb_fifth_mon[] = {
		{ "2044-02-29T00:00:00Z", "2044-02-29T00:00:00", DST_NONE },
		{ "2072-02-29T00:00:00Z", "2072-02-29T00:00:00", DST_NONE },
		{ "2112-02-29T00:00:00Z", "2112-02-29T00:00:00", DST_NONE },
	}, last_sat30[] = {
		{ "2025-04-26T00:00:00Z", "2025-04-26T00:00:00", DST_NONE },
		{ "2025-06-28T00:00:00Z", "2025-06-28T00:00:00", DST_NONE },
		{ "2025-09-27T00:00:00Z", "2025-09-27T00:00:00", DST_NONE },
		{ "2025-11-29T00:00:00Z", "2025-11-29T00:00:00", DST_NONE },
	}, fifth_sun30[] = {
		{ "2025-06-29T00:00:00Z", "2025-06-29T00:00:00", DST_NONE },
		{ "2025-11-30T00:00:00Z", "2025-11-30T00:00:00", DST_NONE },
		{ "2026-11-29T00:00:00Z", "2026-11-29T00:00:00", DST_NONE },
		{ "2028-04-30T00:00:00Z", "2028-04-30T00:00:00", DST_NONE },
	}, or13[] = {
		{ "2025-01-10T00:00:00Z", "2025-01-10T00:00:00", DST_NONE },
		{ "2025-01-13T00:00:00Z", "2025-01-13T00:00:00", DST_NONE },
		{ "2025-02-13T00:00:00Z", "2025-02-13T00:00:00", DST_NONE },
		{ "2025-02-14T00:00:00Z", "2025-02-14T00:00:00", DST_NONE },
		{ "2025-03-13T00:00:00Z", "2025-03-13T00:00:00", DST_NONE },
		{ "2025-03-14T00:00:00Z", "2025-03-14T00:00:00", DST_NONE },
	}, odd_second_fri[] = {
		{ "2025-04-11T00:00:00Z", "2025-04-11T00:00:00", DST_NONE },
		{ "2025-05-09T00:00:00Z", "2025-05-09T00:00:00", DST_NONE },
		{ "2025-06-13T00:00:00Z", "2025-06-13T00:00:00", DST_NONE },
		{ "2025-07-11T00:00:00Z", "2025-07-11T00:00:00", DST_NONE },
	}, first_last[] = {
		{ "2025-01-06T00:00:00Z", "2025-01-06T00:00:00", DST_NONE },
		{ "2025-01-31T00:00:00Z", "2025-01-31T00:00:00", DST_NONE },
		{ "2025-02-03T00:00:00Z", "2025-02-03T00:00:00", DST_NONE },
		{ "2025-02-28T00:00:00Z", "2025-02-28T00:00:00", DST_NONE },
	};

	expect_fires("0 0 * * 5#5", "UTC", "2025-01-01T00:00:00Z", fifth_fri,
	    NEL(fifth_fri));
	expect_fires("0 0 * * FRI#5", "UTC", "2025-01-01T00:00:00Z", fifth_fri,
	    NEL(fifth_fri));
	expect_fires("0 0 * * 1#1", "UTC", "2025-01-01T00:00:00Z", first_mon,
	    NEL(first_mon));
	expect_fires("0 0 * 2 0L", "UTC", "2023-01-01T00:00:00Z", feb_last_sun,
	    NEL(feb_last_sun));
	expect_fires("0 0 * 2 7L", "UTC", "2023-01-01T00:00:00Z", feb_last_sun,
	    NEL(feb_last_sun));
	expect_fires("0 0 * feb SUN#L", "UTC", "2023-01-01T00:00:00Z",
	    feb_last_sun, NEL(feb_last_sun));
	expect_fires("0 0 * 2 MON#5", "UTC", "2025-01-01T00:00:00Z",
	    feb_fifth_mon, NEL(feb_fifth_mon));
	expect_fires("0 0 * 4,6,9,11 SATL", "UTC", "2025-01-01T00:00:00Z",
	    last_sat30, NEL(last_sat30));
	expect_fires("0 0 * 4,6,9,11 0#5", "UTC", "2025-01-01T00:00:00Z",
	    fifth_sun30, NEL(fifth_sun30));
	expect_fires("0 0 13 * 5#2", "UTC", "2025-01-01T00:00:00Z", or13,
	    NEL(or13));
	expect_fires("0 0 */2 * FRI#2", "UTC", "2025-01-01T00:00:00Z",
	    odd_second_fri, NEL(odd_second_fri));
	expect_fires("0 0 * * 1#1,5L", "UTC", "2025-01-01T00:00:00Z",
	    first_last, NEL(first_last));
}
END_TEST

/*
 * Weekdays are those of the local date, and the DST rules hold: the last
 * Sunday of March at 02:30 in Berlin falls in the gap and is shifted; the
 * last Sunday of October at 02:30 fires on the first pass.
 */
START_TEST(test_cron_next_nth_zone)
{
	static const struct want spring[] = {
		{ "2025-03-30T01:00:00Z", "2025-03-30T02:30:00", DST_SHIFTED },
		{ "2026-03-29T01:00:00Z", "2026-03-29T02:30:00", DST_SHIFTED },
	}, fall[] = {
		{ "2025-10-26T00:30:00Z", "2025-10-26T02:30:00", DST_NONE },
		{ "2026-10-25T00:30:00Z", "2026-10-25T02:30:00", DST_NONE },
	}, tokyo[] = {
		{ "2025-08-03T16:00:00Z", "2025-08-04T01:00:00", DST_NONE },
		{ "2025-08-31T16:00:00Z", "2025-09-01T01:00:00", DST_NONE },
	}, ny[] = {
		{ "2025-02-01T03:00:00Z", "2025-01-31T22:00:00", DST_NONE },
		{ "2025-03-01T03:00:00Z", "2025-02-28T22:00:00", DST_NONE },
		{ "2025-03-29T02:00:00Z", "2025-03-28T22:00:00", DST_NONE },
	};

	expect_fires("30 2 * 3 SUNL", "Europe/Berlin", "2025-01-01T00:00:00Z",
	    spring, NEL(spring));
	expect_fires("30 2 * 10 0L", "Europe/Berlin", "2025-01-01T00:00:00Z",
	    fall, NEL(fall));
	expect_fires("0 1 * * MON#1", "Asia/Tokyo", "2025-08-01T00:00:00Z",
	    tokyo, NEL(tokyo));
	expect_fires("0 22 * * 5L", "America/New_York", "2025-01-15T00:00:00Z",
	    ny, NEL(ny));
}
END_TEST

/* cron_next with a "#" or "L" weekday agrees with a brute force in UTC. */
START_TEST(test_cron_next_nth_brute_force)
{
	static const char *const dows[] = { "5#5", "0L", "1#1,5L", "SAT#4",
	    "2#3,3#3", "MONL,7#2", "FRI#L", "1-3,6#5" };
	static const char *const doms[] = { "*", "13", "*/2", "L", "29-31",
	    "*/10" };
	static const char *const months[] = { "*", "2", "4,6,9,11", "1,3" };
	const struct tz		*utc = zone("UTC");
	struct cron		 c;
	struct cron_fire	 f;
	char			 expr[64], *cause = NULL;
	int64_t			 t, want;
	size_t			 a, b, m;
	int			 k;

	for (a = 0; a < NEL(dows); a++) {
		for (b = 0; b < NEL(doms); b++) {
			for (m = 0; m < NEL(months); m++) {
				snprintf(expr, sizeof expr, "0 12 %s %s %s",
				    doms[b], months[m], dows[a]);
				if (cron_parse(expr, &c, &cause) != 0) {
					ck_assert_msg(!ref_any_day(&c) ||
					    strstr(cause, "never") != NULL,
					    "%s: %s", expr, cause);
					free(cause);
					cause = NULL;
					continue;
				}
				t = ts("2023-06-01T00:00:00Z");
				for (k = 0; k < 12; k++) {
					want = ref_next_utc(&c, t, t +
					    60 * 366 * 86400LL);
					ck_assert_int_eq(cron_next(&c, utc, t,
					    &f), 0);
					ck_assert_msg(f.utc == want, "%s after "
					    "%lld: %lld, want %lld", expr,
					    (long long)t, (long long)f.utc,
					    (long long)want);
					t = f.utc;
				}
			}
		}
	}
}
END_TEST

/*
 * The search spans 400 years, the calendar's period: February 29 from
 * 2096-03-01 is 2104-02-29 (2100 is no leap year); a fifth Monday of
 * February can be 40 years away.  Days ORed with weekdays come sooner
 * (February 29 or a fifth Friday of February is every February 29).
 */
START_TEST(test_cron_next_far)
{
	static const struct want leap[] = {
		{ "2104-02-29T00:00:00Z", "2104-02-29T00:00:00", DST_NONE },
		{ "2108-02-29T00:00:00Z", "2108-02-29T00:00:00", DST_NONE },
	}, leap_berlin[] = {
		{ "2104-02-28T23:00:00Z", "2104-02-29T00:00:00", DST_NONE },
	}, leap_or_mon[] = {
		{ "2104-02-04T00:00:00Z", "2104-02-04T00:00:00", DST_NONE },
		{ "2104-02-11T00:00:00Z", "2104-02-11T00:00:00", DST_NONE },
		{ "2104-02-18T00:00:00Z", "2104-02-18T00:00:00", DST_NONE },
		{ "2104-02-25T00:00:00Z", "2104-02-25T00:00:00", DST_NONE },
		{ "2104-02-29T00:00:00Z", "2104-02-29T00:00:00", DST_NONE },
		{ "2105-02-02T00:00:00Z", "2105-02-02T00:00:00", DST_NONE },
	}, fifth_fri[] = {
		{ "2104-02-29T00:00:00Z", "2104-02-29T00:00:00", DST_NONE },
		{ "2132-02-29T00:00:00Z", "2132-02-29T00:00:00", DST_NONE },
	}, fifth_mon[] = {
		{ "2112-02-29T00:00:00Z", "2112-02-29T00:00:00", DST_NONE },
		{ "2140-02-29T00:00:00Z", "2140-02-29T00:00:00", DST_NONE },
	}, dec31[] = {
		{ "9999-12-31T05:00:00Z", "9999-12-31T00:00:00", DST_NONE },
	};

	expect_fires("0 0 29 2 *", "UTC", "2096-03-01T00:00:00Z", leap,
	    NEL(leap));
	expect_fires("0 0 29 2 *", "Europe/Berlin", "2096-03-01T00:00:00Z",
	    leap_berlin, NEL(leap_berlin));
	expect_fires("0 0 29 2 MON", "UTC", "2103-03-01T00:00:00Z",
	    leap_or_mon, NEL(leap_or_mon));
	expect_fires("0 0 29 2 FRI#5", "UTC", "2096-03-01T00:00:00Z", leap,
	    NEL(leap));
	expect_fires("0 0 * 2 FRI#5", "UTC", "2096-03-01T00:00:00Z",
	    fifth_fri, NEL(fifth_fri));
	expect_fires("0 0 * 2 MON#5", "UTC", "2073-01-01T00:00:00Z",
	    fifth_mon, NEL(fifth_mon));
	expect_fires("0 0 31 12 *", "America/New_York", "9999-01-01T00:00:00Z",
	    dec31, NEL(dec31));
}
END_TEST

/*
 * No fire: past 9999-12-31T23:59:59Z (the next February 29 after 9996 is
 * in 10000; 20:00 New York time on 9999-12-31 is in 10000 in UTC), a start
 * out of range, or a cadence whose every local time falls in a gap.
 */
START_TEST(test_cron_next_bad)
{
	struct cron		 c;
	struct cron_fire	 f;
	char			*cause = NULL;

	ck_assert_int_eq(cron_parse("0 0 29 2 *", &c, &cause), 0);
	ck_assert_int_eq(cron_next(&c, zone("UTC"), ts("9996-03-01T00:00:00Z"),
	    &f), -1);
	ck_assert_int_eq(cron_next(&c, zone("UTC"), ts("9995-03-01T00:00:00Z"),
	    &f), 0);
	ck_assert_int_eq(cron_parse("0 20 31 12 *", &c, &cause), 0);
	ck_assert_int_eq(cron_next(&c, zone("America/New_York"),
	    ts("9999-06-01T00:00:00Z"), &f), -1);
	ck_assert_int_eq(cron_parse("* * * * *", &c, &cause), 0);
	ck_assert_int_eq(cron_next(&c, zone("UTC"), INT64_MAX, &f), -1);
	ck_assert_int_eq(cron_next(&c, zone("UTC"), INT64_MIN, &f), -1);
	ck_assert_int_eq(cron_next(&c, zone("UTC"), CRON_FIRST_UTC - 1, &f),
	    -1);
	ck_assert_int_eq(cron_next(&c, zone("UTC"), CRON_FIRST_UTC, &f), 0);
	ck_assert_int_eq(cron_next(&c, zone("America/New_York"),
	    ts("9999-12-31T23:59:59Z"), &f), -1);
	ck_assert_int_eq(cron_next(&c, zone("America/New_York"),
	    ts("9999-12-31T23:58:00Z"), &f), 0);
	ck_assert_int_eq(f.utc, CRON_LAST_UTC - 59);
	/* 02:00-02:59 on the last Sunday of March never exists in Berlin. */
	ck_assert_int_eq(cron_parse("*/30 2 * 3 SUNL", &c, &cause), 0);
	ck_assert_int_eq(cron_next(&c, zone("Europe/Berlin"),
	    ts("2025-01-01T00:00:00Z"), &f), -1);
	ck_assert_int_eq(cron_next(&c, zone("UTC"), ts("2025-01-01T00:00:00Z"),
	    &f), 0);
}
END_TEST

/*
 * In UTC, cron_next agrees with a brute-force search for random crons, and
 * cron_parse refuses exactly those no day of 400 years matches.
 */
START_TEST(test_cron_next_brute_force)
{
	const struct tz		*utc = zone("UTC");
	struct cron		 c;
	struct cron_fire	 f;
	char			 fl[6][32], expr[256], *cause;
	int64_t			 after, want, limit;
	int			 i, k, rc, six, refused = 0;

	for (i = 0; i < 3000; i++) {
		six = i % 5 == 0;
		random_field(fl[0], sizeof fl[0], 0, 59, 0);
		random_field(fl[1], sizeof fl[1], 0, 59, 0);
		random_field(fl[2], sizeof fl[2], 0, 23, 0);
		random_field(fl[3], sizeof fl[3], 1, 31, 1);
		random_field(fl[4], sizeof fl[4], 1, 12, 0);
		random_field(fl[5], sizeof fl[5], 0, 7, 2);
		snprintf(expr, sizeof expr, "%s%s%s %s %s %s %s", six ? fl[0] :
		    "", six ? " " : "", fl[1], fl[2], fl[3], fl[4], fl[5]);
		cause = NULL;
		if (cron_parse(expr, &c, &cause) != 0) {
			/* Refused: no day of 400 years may match. */
			ck_assert_msg(strstr(cause, "never fires") != NULL,
			    "%s: %s", expr, cause);
			ref_days(fl[3], fl[4], fl[5], &c);
			ck_assert_msg(!ref_any_day(&c), "%s: %s", expr, cause);
			free(cause);
			refused++;
			continue;
		}
		ck_assert_msg(ref_any_day(&c), "%s: accepted", expr);
		after = 946684800 + (int64_t)(lib_rnd() % 3000000000ULL);
		for (k = 0; k < 3; k++) {
			limit = after + 400 * 86400LL;
			want = ref_next_utc(&c, after, limit);
			rc = cron_next(&c, utc, after, &f);
			if (want == -1) {
				ck_assert_msg(rc == -1 || f.utc > limit,
				    "%s after %lld: got %lld", expr,
				    (long long)after, (long long)f.utc);
				break;
			}
			ck_assert_msg(rc == 0 && f.utc == want, "%s after %lld: "
			    "got %lld, want %lld", expr, (long long)after,
			    rc == 0 ? (long long)f.utc : -1LL, (long long)want);
			after = f.utc;
		}
	}
	ck_assert_int_gt(refused, 0);
}
END_TEST

/* Repeated calls walk fires in strictly increasing UTC order everywhere. */
START_TEST(test_cron_next_monotonic)
{
	static const char *const zones[] = { "America/New_York",
	    "Europe/London", "Australia/Lord_Howe", "Africa/Cairo",
	    "America/Santiago", "Pacific/Chatham", "Asia/Beirut",
	    "Pacific/Apia" };
	static const char *const exprs[] = { "*/7 * * * *", "0,30 0-3 * * *",
	    "0 0 * * *", "59 23 * * *", "*/20 * 1 * * *", "15 2 L * *" };
	struct cron		 c;
	struct cron_fire	 f;
	char			*cause = NULL;
	int64_t			 t;
	size_t			 z, e;
	int			 i;

	for (z = 0; z < NEL(zones); z++) {
		for (e = 0; e < NEL(exprs); e++) {
			ck_assert_int_eq(cron_parse(exprs[e], &c, &cause), 0);
			t = ts("2011-01-01T00:00:00Z");
			for (i = 0; i < 400; i++) {
				ck_assert_int_eq(cron_next(&c, zone(zones[z]), t,
				    &f), 0);
				ck_assert_int_gt(f.utc, t);
				ck_assert(f.tag != DST_SUPPRESSED);
				t = f.utc +
				    (int64_t)(lib_rnd() % 3) * 86400 * 20;
			}
		}
	}
}
END_TEST

/* Triggers in words: cron fields, steps that divide their cycle or are
 * listed, the Vixie day rule, macros, weekly, monthly, intervals. */
START_TEST(test_trigger_words)
{
	static const struct {
		enum trigger_kind	 kind;
		const char		*spec;
		int64_t			 s;
		const char		*words;
	} t[] = {
		{ TRIGGER_CRON, "0 7 * * 1-5", 0,
		    "at 07:00, on Monday through Friday" },
		{ TRIGGER_CRON, "*/15 * * * *", 0, "every 15 minutes" },
		{ TRIGGER_CRON, "*/7 * * * *", 0, "at minutes 0, 7, 14, 21, "
		    "28, 35, 42, 49 and 56 of every hour" },
		{ TRIGGER_CRON, "0 9 * * MON#1", 0,
		    "at 09:00, on the first Monday of the month" },
		{ TRIGGER_CRON, "0 0 * * 5L", 0,
		    "at 00:00, on the last Friday of the month" },
		{ TRIGGER_CRON, "0 0 13 * 5", 0,
		    "at 00:00, on Friday and on day 13 of the month" },
		{ TRIGGER_CRON, "0 0 */10 * 1", 0, "at 00:00, on Monday when "
		    "it is day 1, 11, 21 or 31 of the month" },
		{ TRIGGER_CRON, "0 12 L 2 *", 0, "at 12:00, on the last day "
		    "of the month, in February" },
		{ TRIGGER_CRON, "*/5 9-17 * * *", 0,
		    "every 5 minutes, between 09:00 and 17:59" },
		{ TRIGGER_CRON, "0 7,19 * * *", 0,
		    "at 07:00 and 19:00, every day" },
		{ TRIGGER_CRON, "30 0 9 * * *", 0, "at 09:00:30, every day" },
		{ TRIGGER_CRON, "*/10 * * * * *", 0, "every 10 seconds" },
		{ TRIGGER_CRON, "0 8 * */3 sat,SUN", 0, "at 08:00, on "
		    "Saturday and Sunday, in January, April, July and October" },
		{ TRIGGER_CRON, "@hourly", 0, "at minute 0 of every hour" },
		{ TRIGGER_CRON, "@DAILY", 0, "at 00:00, every day" },
		{ TRIGGER_WEEKLY, "mon 09:00", 0, "every Monday at 09:00" },
		{ TRIGGER_WEEKLY, "7 7:05", 0, "every Sunday at 07:05" },
		{ TRIGGER_MONTHLY, "last 18:00", 0,
		    "on the last day of every month at 18:00" },
		{ TRIGGER_MONTHLY, "31 6:00", 0,
		    "on day 31 of every month that has one, at 06:00" },
		{ TRIGGER_INTERVAL, "3600s", 3600, "every hour" },
		{ TRIGGER_INTERVAL, "5400s", 5400, "every 1 hour 30 minutes" },
		{ TRIGGER_INTERVAL, "10s", 10, "every 10 seconds" },
		{ TRIGGER_AT, "2030-01-15T08:30:00Z", 0,
		    "once, at 2030-01-15T08:30:00Z" },
		{ TRIGGER_MANUAL, "", 0, "by hand only" },
		{ TRIGGER_WEBHOOK, "", 0, "on a signed webhook delivery" },
	};
	char	*w;
	size_t	 i;

	for (i = 0; i < NEL(t); i++) {
		w = trigger_words(t[i].kind, t[i].spec, t[i].s * USEC_PER_SEC);
		ck_assert_msg(strcmp(w, t[i].words) == 0, "%s: \"%s\"",
		    t[i].spec, w);
		free(w);
	}
}
END_TEST

/* What cannot be put in words is shown as given, never half said. */
START_TEST(test_trigger_words_bad)
{
	static const struct {
		enum trigger_kind	 kind;
		const char		*spec;
	} t[] = {
		{ TRIGGER_CRON, "0 7 *" },
		{ TRIGGER_CRON, "" },
		{ TRIGGER_WEEKLY, "funday 09:00" },
		{ TRIGGER_WEEKLY, "mon" },
		{ TRIGGER_MONTHLY, "first" },
	};
	char	*w;
	size_t	 i;

	for (i = 0; i < NEL(t); i++) {
		w = trigger_words(t[i].kind, t[i].spec, 0);
		ck_assert_str_eq(w, t[i].spec);
		free(w);
	}
}
END_TEST

static Suite *
tz_suite(void)
{
	Suite	*s = suite_create("tz");

	lib_tcase(s, "tz", NULL, NULL, 0,
	    test_tz_load_utc,
	    test_tz_load_bad,
	    test_tz_load_cached,
	    test_tz_load_tzif,
	    test_tz_load_tzif_bad,
	    test_tz_load_fuzz_bad,
	    test_civil_days,
	    test_civil_days_bad,
	    test_tz_offset_zones,
	    test_tz_offset_footer,
	    test_tz_offset_footer_bad,
	    test_tz_to_civil,
	    test_tz_from_civil,
	    test_tz_from_civil_roundtrip,
	    test_tz_from_civil_bad,
	    test_tz_transition,
	    test_tz_transition_bad,
	    NULL);
	return (s);
}

static Suite *
cron_suite(void)
{
	Suite	*s = suite_create("cron");

	lib_tcase(s, "cron", NULL, NULL, 120,
	    test_cron_parse_fields,
	    test_cron_parse_bad,
	    test_cron_parse_nth,
	    test_cron_parse_nth_bad,
	    test_cron_parse_never,
	    test_cron_parse_never_bad,
	    test_cron_parse_stored,
	    test_cron_parse_stored_bad,
	    test_cron_parse_macros,
	    test_cron_parse_flags,
	    test_cron_parse_fuzz_bad,
	    test_trigger_words,
	    test_trigger_words_bad,
	    test_cron_builders,
	    test_cron_builders_bad,
	    test_cron_next_spring_shifted,
	    test_cron_next_spring_coalesced,
	    test_cron_next_fall_suppressed,
	    test_cron_next_fall_cadence,
	    test_cron_next_spring_cadence,
	    test_cron_next_midnight,
	    test_cron_next_fixed,
	    test_cron_next_days,
	    test_cron_next_seconds,
	    test_cron_next_nth,
	    test_cron_next_nth_zone,
	    test_cron_next_nth_brute_force,
	    test_cron_next_far,
	    test_cron_next_bad,
	    test_cron_next_brute_force,
	    test_cron_next_monotonic,
	    NULL);
	return (s);
}

int
main(void)
{
	return (lib_run(CK_NORMAL, tz_suite(), cron_suite(), NULL));
}
