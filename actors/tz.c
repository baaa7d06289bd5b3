/*
 * actors/tz.c: IANA time zones from TZif files (RFC 8536, versions 1 to 4),
 * civil-calendar arithmetic, and conversions between UTC instants and local
 * wall time.
 *
 * A zone is read once, validated, and kept for the life of the process in a
 * small table keyed by name.  Its transitions are compacted (a transition
 * that leaves the UTC offset unchanged is dropped) and the POSIX TZ rule of
 * the footer is expanded into the table up to TZ_EXPAND_YEAR, so that almost
 * every lookup is one binary search; past that year the rule is evaluated
 * directly.  Nothing here touches the process's TZ variable or localtime().
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors.h"

#define TZ_DIR_DEFAULT	"/usr/share/zoneinfo"
#define TZ_NAME_MAX	255
#define TZ_FILE_MAX	(1024 * 1024)
#define TZ_OFFSET_MAX	(26 * 3600)	/* |UTC offset| allowed in a file */
#define TZ_EXPAND_YEAR	2200		/* rule expanded into the table before */
#define TZ_RULE_TIME_MAX (167 * 3600)	/* RFC 8536: -167..167 hours */
#define SECS_PER_DAY	86400
#define TZ_INSTANT_MAX	1000000000000000LL	/* rule years stay in int */

/* When a POSIX rule switches: Jn, n or Mm.w.d, and local time of day. */
enum tz_rdate_kind {
	TZ_RDATE_JULIAN1,	/* Jn: 1..365, February 29 never counted */
	TZ_RDATE_JULIAN0,	/* n: 0..365, February 29 counted */
	TZ_RDATE_MWD,		/* Mm.w.d */
};

struct tz_rdate {
	enum tz_rdate_kind	kind;
	int			day;	/* n of Jn or n; d of Mm.w.d */
	int			week;
	int			month;
	int32_t			time;	/* seconds after local midnight */
};

/* The footer's rule: a standard offset and maybe a daylight one. */
struct tz_rule {
	int32_t		std_off;	/* UTC offset, east positive */
	int32_t		dst_off;
	int		has_dst;
	struct tz_rdate	start;		/* std -> dst, in standard time */
	struct tz_rdate	end;		/* dst -> std, in daylight time */
};

struct tz {
	struct strmap_node	 node;
	char			*name;
	int64_t			*trans;		/* strictly increasing */
	int32_t			*offs;		/* from trans[i] on */
	size_t			 ntrans;
	int32_t			 off0;		/* before trans[0] */
	int			 has_rule;	/* rule with DST past rule_from */
	struct tz_rule		 rule;
	int64_t			 rule_from;
};

/* A growing transition list used while loading. */
struct tz_build {
	int64_t		*trans;
	int32_t		*offs;
	size_t		 n;
	size_t		 cap;
	int32_t		 base;		/* offset before the first */
};

static int64_t	floor_div(int64_t, int64_t);
static uint32_t	be32(const unsigned char *);
static int64_t	be64(const unsigned char *);
static int	tz_valid_name(const char *);
static char	*tz_read_file(const char *, size_t *, int *);
static void	tz_build_add(struct tz_build *, int64_t, int32_t, int32_t *);
static int	tz_parse_tzif(struct tz *, const unsigned char *, size_t,
		    const char **);
static int	tz_block_size(const unsigned char *, size_t, int, size_t *);
static int	tz_check_types(const unsigned char *, uint32_t, uint32_t);
static int	tz_parse_block(struct tz *, const unsigned char *, size_t,
		    int, size_t *, const char **);
static const char *tz_posix_name(const char *);
static const char *tz_posix_hms(const char *, int, int32_t *);
static const char *tz_posix_offset(const char *, int32_t *);
static const char *tz_posix_rdate(const char *, struct tz_rdate *);
static int	tz_posix_parse(const char *, struct tz_rule *);
static int64_t	tz_rdate_local(const struct tz_rdate *, int);
static void	tz_rule_year(const struct tz_rule *, int, int64_t[2]);
static int	tz_rule_year_of(const struct tz_rule *, int64_t);
static int32_t	tz_rule_offset(const struct tz_rule *, int64_t);
static int	tz_rule_after(const struct tz_rule *, int64_t, int64_t *,
		    int32_t *, int32_t *);
static int	tz_rule_before(const struct tz_rule *, int64_t, int64_t *,
		    int32_t *, int32_t *);
static void	tz_expand_rule(struct tz *, const struct tz_rule *);
static size_t	tz_upper(const struct tz *, int64_t);
static struct tz *tz_create_utc(const char *);
static struct tz *tz_read(const char *, char **);

static pthread_mutex_t	 tz_lock = PTHREAD_MUTEX_INITIALIZER;
static struct strmap	 tz_cache;

/* ---- civil calendar (proleptic Gregorian, after H. Hinnant) ------------ */

static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t	q = a / b;

	if ((a % b) != 0 && ((a < 0) != (b < 0)))
		q--;
	return (q);
}

/* Days since 1970-01-01 of year Y, month M (1..12), day D. */
int64_t
civil_to_days(int y, int m, int d)
{
	int64_t		yy = (int64_t)y - (m <= 2);
	int64_t		era = floor_div(yy, 400);
	int64_t		yoe = yy - era * 400;
	int64_t		doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t		doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (era * 146097 + doe - 719468);
}

/* The civil date of a day number (days since 1970-01-01). */
void
days_to_civil(int64_t z, int *y, int *m, int *d)
{
	int64_t		era, doe, yoe, doy, mp, yy;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	yy = yoe + era * 400;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yy + (*m <= 2));
}

/* Day of the week, 0 = Sunday (1970-01-01 was a Thursday). */
int
civil_wday(int y, int m, int d)
{
	int64_t	w = (civil_to_days(y, m, d) + 4) % 7;

	return ((int)(w < 0 ? w + 7 : w));
}

/* Days in month M of year Y; 0 for a month outside 1..12. */
int
days_in_month(int y, int m)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m < 1 || m > 12)
		return (0);
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return (29);
	return (mdays[m - 1]);
}

/* ---- POSIX TZ rule (the TZif footer) ------------------------------------ */

/* Skip a zone abbreviation: 3+ letters, or <...> of [A-Za-z0-9+-]. */
static const char *
tz_posix_name(const char *p)
{
	const char	*s = p;

	if (*p == '<') {
		for (p++, s = p; *p != '>'; p++) {
			if (*p == '\0' || !(isalnum((unsigned char)*p) ||
			    *p == '+' || *p == '-'))
				return (NULL);
		}
		return (p - s < 3 ? NULL : p + 1);
	}
	while (isalpha((unsigned char)*p))
		p++;
	return (p - s < 3 ? NULL : p);
}

/* [+-]hh[:mm[:ss]] with hh up to MAXH, into seconds. */
static const char *
tz_posix_hms(const char *p, int maxh, int32_t *out)
{
	int	sign = 1, part[3] = { 0, 0, 0 }, i, n;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	for (i = 0; i < 3; i++) {
		if (i > 0) {
			if (*p != ':')
				break;
			p++;
		}
		if (!isdigit((unsigned char)*p))
			return (NULL);
		for (n = 0; isdigit((unsigned char)*p); p++) {
			n = n * 10 + (*p - '0');
			if (n > 999)
				return (NULL);
		}
		part[i] = n;
	}
	if (part[0] > maxh || part[1] > 59 || part[2] > 59)
		return (NULL);
	*out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
	return (p);
}

/* A POSIX offset (positive west) as a UTC offset (positive east). */
static const char *
tz_posix_offset(const char *p, int32_t *out)
{
	int32_t	v;

	if ((p = tz_posix_hms(p, 24, &v)) == NULL)
		return (NULL);
	*out = -v;
	return (p);
}

/* ",Jn[/time]", ",n[/time]" or ",Mm.w.d[/time]" (the comma consumed). */
static const char *
tz_posix_rdate(const char *p, struct tz_rdate *rd)
{
	int	n;

	memset(rd, 0, sizeof *rd);
	rd->time = 2 * 3600;
	if (*p == 'M') {
		rd->kind = TZ_RDATE_MWD;
		if (sscanf(p + 1, "%2d.%1d.%1d%n", &rd->month, &rd->week,
		    &rd->day, &n) != 3 || rd->month < 1 || rd->month > 12 ||
		    rd->week < 1 || rd->week > 5 || rd->day > 6 || n < 5 ||
		    !isdigit((unsigned char)p[1]))
			return (NULL);
		p += 1 + n;
	} else {
		rd->kind = TZ_RDATE_JULIAN0;
		if (*p == 'J') {
			rd->kind = TZ_RDATE_JULIAN1;
			p++;
		}
		if (!isdigit((unsigned char)*p))
			return (NULL);
		for (n = 0; isdigit((unsigned char)*p); p++) {
			if ((n = n * 10 + (*p - '0')) > 365)
				return (NULL);
		}
		if (rd->kind == TZ_RDATE_JULIAN1 && n < 1)
			return (NULL);
		rd->day = n;
	}
	if (*p == '/' &&
	    (p = tz_posix_hms(p + 1, TZ_RULE_TIME_MAX / 3600, &rd->time)) == NULL)
		return (NULL);
	return (p);
}

/*
 * Parse a POSIX TZ string such as "EST5EDT,M3.2.0,M11.1.0" or
 * "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0" (RFC 8536 section 3.3).
 */
static int
tz_posix_parse(const char *s, struct tz_rule *r)
{
	const char	*p = s;

	memset(r, 0, sizeof *r);
	if ((p = tz_posix_name(p)) == NULL ||
	    (p = tz_posix_offset(p, &r->std_off)) == NULL)
		return (-1);
	if (*p == '\0')
		return (0);
	if ((p = tz_posix_name(p)) == NULL)
		return (-1);
	r->has_dst = 1;
	r->dst_off = r->std_off + 3600;
	if (*p != ',' && *p != '\0' &&
	    (p = tz_posix_offset(p, &r->dst_off)) == NULL)
		return (-1);
	if (*p == '\0') {
		/* No rule given: POSIX leaves it open; use the US one. */
		tz_posix_rdate("M3.2.0", &r->start);
		tz_posix_rdate("M11.1.0", &r->end);
		return (0);
	}
	if (*p != ',' || (p = tz_posix_rdate(p + 1, &r->start)) == NULL ||
	    *p != ',' || (p = tz_posix_rdate(p + 1, &r->end)) == NULL ||
	    *p != '\0')
		return (-1);
	if (r->dst_off == r->std_off)
		r->has_dst = 0;
	return (0);
}

/* Local seconds (naive, since the epoch) at which RD happens in year Y. */
static int64_t
tz_rdate_local(const struct tz_rdate *rd, int y)
{
	int64_t	days;
	int	leap, first, dim, d;

	switch (rd->kind) {
	case TZ_RDATE_JULIAN1:
		leap = days_in_month(y, 2) == 29;
		days = civil_to_days(y, 1, 1) + rd->day - 1 +
		    (leap && rd->day >= 60);
		break;
	case TZ_RDATE_JULIAN0:
		days = civil_to_days(y, 1, 1) + rd->day;
		break;
	default:
		first = civil_wday(y, rd->month, 1);
		d = 1 + (rd->day - first + 7) % 7 + (rd->week - 1) * 7;
		dim = days_in_month(y, rd->month);
		while (d > dim)
			d -= 7;
		days = civil_to_days(y, rd->month, d);
		break;
	}
	return (days * SECS_PER_DAY + rd->time);
}

/* UTC instants of the start (out[0]) and end (out[1]) of DST in year Y. */
static void
tz_rule_year(const struct tz_rule *r, int y, int64_t out[2])
{
	out[0] = tz_rdate_local(&r->start, y) - r->std_off;
	out[1] = tz_rdate_local(&r->end, y) - r->dst_off;
}

/* The calendar year of instant T in the rule's standard time. */
static int
tz_rule_year_of(const struct tz_rule *r, int64_t t)
{
	int	y, m, d;

	if (t > TZ_INSTANT_MAX)
		t = TZ_INSTANT_MAX;
	else if (t < -TZ_INSTANT_MAX)
		t = -TZ_INSTANT_MAX;
	days_to_civil(floor_div(t + r->std_off, SECS_PER_DAY), &y, &m, &d);
	return (y);
}

/*
 * The last rule transition at or before T (looking at the years around T;
 * at equal instants an end sorts before a start, so "DST all year" rules
 * such as "EST5EDT,0/0,J365/25" stay in DST).
 */
static int
tz_rule_before(const struct tz_rule *r, int64_t t, int64_t *when,
    int32_t *before, int32_t *after)
{
	int64_t	ys[2], best = INT64_MIN;
	int	y, y0, i, found = 0, best_start = 0;

	y0 = tz_rule_year_of(r, t);
	for (y = y0 - 1; y <= y0 + 1; y++) {
		tz_rule_year(r, y, ys);
		for (i = 0; i < 2; i++) {
			if (ys[i] > t)
				continue;
			if (!found || ys[i] > best ||
			    (ys[i] == best && i == 0)) {
				best = ys[i];
				best_start = i == 0;
				found = 1;
			}
		}
	}
	if (!found)
		return (0);
	*when = best;
	*before = best_start ? r->std_off : r->dst_off;
	*after = best_start ? r->dst_off : r->std_off;
	return (1);
}

/* The first rule transition strictly after T. */
static int
tz_rule_after(const struct tz_rule *r, int64_t t, int64_t *when,
    int32_t *before, int32_t *after)
{
	int64_t	ys[2], best = INT64_MAX;
	int	y, y0, i, found = 0, best_start = 0;

	y0 = tz_rule_year_of(r, t);
	for (y = y0 - 1; y <= y0 + 2; y++) {
		tz_rule_year(r, y, ys);
		for (i = 0; i < 2; i++) {
			if (ys[i] <= t)
				continue;
			if (!found || ys[i] < best ||
			    (ys[i] == best && i == 1)) {
				best = ys[i];
				best_start = i == 0;
				found = 1;
			}
		}
	}
	if (!found)
		return (0);
	*when = best;
	*before = best_start ? r->std_off : r->dst_off;
	*after = best_start ? r->dst_off : r->std_off;
	return (1);
}

/* The rule's offset at instant T. */
static int32_t
tz_rule_offset(const struct tz_rule *r, int64_t t)
{
	int64_t	when;
	int32_t	before, after;

	if (!r->has_dst)
		return (r->std_off);
	if (!tz_rule_before(r, t, &when, &before, &after))
		return (r->std_off);
	return (after);
}

/* ---- loading ------------------------------------------------------------ */

static uint32_t
be32(const unsigned char *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3]);
}

static int64_t
be64(const unsigned char *p)
{
	return ((int64_t)((uint64_t)be32(p) << 32 | be32(p + 4)));
}

/* Zone names: relative, no "..", only the characters tzdata uses. */
static int
tz_valid_name(const char *name)
{
	const char	*p;

	if (*name == '\0' || *name == '/' || strlen(name) > TZ_NAME_MAX ||
	    strstr(name, "..") != NULL)
		return (0);
	for (p = name; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && strchr("/_+-.", *p) == NULL)
			return (0);
	}
	return (1);
}

/* Read a whole regular file of at most TZ_FILE_MAX bytes. */
static char *
tz_read_file(const char *path, size_t *len, int *missing)
{
	struct stat	 st;
	char		*buf;
	ssize_t		 n;
	size_t		 got = 0;
	int		 fd;

	*missing = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		*missing = (errno == ENOENT || errno == ENOTDIR);
		return (NULL);
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > TZ_FILE_MAX) {
		*missing = 1;
		close(fd);
		return (NULL);
	}
	buf = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got;
	return (buf);
}

/* Append a transition unless it leaves the offset unchanged. */
static void
tz_build_add(struct tz_build *b, int64_t when, int32_t off, int32_t *cur)
{
	if (off == *cur)
		return;
	if (b->n > 0 && when <= b->trans[b->n - 1]) {
		/* Same instant as the previous one: it replaces it. */
		b->n--;
		*cur = b->n > 0 ? b->offs[b->n - 1] : b->base;
		if (off == *cur)
			return;
	}
	if (b->n == b->cap) {
		b->cap = b->cap == 0 ? 64 : b->cap * 2;
		b->trans = xreallocarray(b->trans, b->cap, sizeof *b->trans);
		b->offs = xreallocarray(b->offs, b->cap, sizeof *b->offs);
	}
	b->trans[b->n] = when;
	b->offs[b->n] = off;
	b->n++;
	*cur = off;
}

/* The length of the data block at P, header included; -1 if truncated. */
static int
tz_block_size(const unsigned char *p, size_t len, int wide, size_t *size)
{
	uint64_t	tsize = wide ? 8 : 4, need;

	if (len < 44 || memcmp(p, "TZif", 4) != 0)
		return (-1);
	need = 44 + (uint64_t)be32(p + 32) * (tsize + 1) +
	    (uint64_t)be32(p + 36) * 6 + be32(p + 40) +
	    (uint64_t)be32(p + 28) * (tsize + 4) + be32(p + 24) +
	    be32(p + 20);
	if (need > len)
		return (-1);
	*size = (size_t)need;
	return (0);
}

/* Local time types: bounded offsets, a 0/1 DST flag, a valid name index. */
static int
tz_check_types(const unsigned char *types, uint32_t typecnt, uint32_t charcnt)
{
	int32_t		off;
	uint32_t	i;

	for (i = 0; i < typecnt; i++) {
		off = (int32_t)be32(types + i * 6);
		if (off < -TZ_OFFSET_MAX || off > TZ_OFFSET_MAX ||
		    types[i * 6 + 4] > 1 || types[i * 6 + 5] >= charcnt)
			return (-1);
	}
	return (0);
}

/*
 * Parse one data block (v1 with 4-byte times, or v2+ with 8-byte times)
 * starting at P; *USED is set to its length, header included.
 */
static int
tz_parse_block(struct tz *tz, const unsigned char *p, size_t len, int wide,
    size_t *used, const char **why)
{
	struct tz_build	 b = { NULL, NULL, 0, 0, 0 };
	const unsigned char *tt, *ti, *types;
	uint32_t	 isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
	size_t		 tsize = wide ? 8 : 4, i;
	int64_t		 when, prev = INT64_MIN;
	int32_t		 cur;

	if (len < 44 || memcmp(p, "TZif", 4) != 0) {
		*why = "bad magic";
		return (-1);
	}
	isutcnt = be32(p + 20);
	isstdcnt = be32(p + 24);
	leapcnt = be32(p + 28);
	timecnt = be32(p + 32);
	typecnt = be32(p + 36);
	charcnt = be32(p + 40);
	if (typecnt == 0 || typecnt > 256 || charcnt == 0 ||
	    timecnt > 100000 || leapcnt > 10000 || charcnt > 100000 ||
	    (isutcnt != 0 && isutcnt != typecnt) ||
	    (isstdcnt != 0 && isstdcnt != typecnt)) {
		*why = "bad counts";
		return (-1);
	}
	if (tz_block_size(p, len, wide, used) != 0) {
		*why = "truncated";
		return (-1);
	}
	if (leapcnt != 0) {
		*why = "leap-second zones are not supported";
		return (-1);
	}
	tt = p + 44;
	ti = tt + timecnt * tsize;
	types = ti + timecnt;
	if (tz_check_types(types, typecnt, charcnt) != 0) {
		*why = "bad local time type";
		return (-1);
	}
	tz->off0 = b.base = cur = (int32_t)be32(types);
	for (i = 0; i < timecnt; i++) {
		when = wide ? be64(tt + i * 8) : (int32_t)be32(tt + i * 4);
		if (ti[i] >= typecnt || (i > 0 && when <= prev)) {
			free(b.trans);
			free(b.offs);
			*why = "bad transitions";
			return (-1);
		}
		prev = when;
		tz_build_add(&b, when, (int32_t)be32(types + ti[i] * 6), &cur);
	}
	free(tz->trans);
	free(tz->offs);
	tz->trans = b.trans;
	tz->offs = b.offs;
	tz->ntrans = b.n;
	return (0);
}

/* Append the rule's transitions up to TZ_EXPAND_YEAR to the table. */
static void
tz_expand_rule(struct tz *tz, const struct tz_rule *r)
{
	struct tz_build	 b = { tz->trans, tz->offs, tz->ntrans, tz->ntrans,
			     tz->off0 };
	int64_t		 ys[2], last, first, lo;
	int32_t		 cur;
	int		 y, y0;

	cur = b.n > 0 ? b.offs[b.n - 1] : tz->off0;
	last = b.n > 0 ? b.trans[b.n - 1] : INT64_MIN;
	y0 = b.n > 0 ? tz_rule_year_of(r, last) - 1 : 1800;
	for (y = y0; y < TZ_EXPAND_YEAR; y++) {
		tz_rule_year(r, y, ys);
		first = ys[0] < ys[1] ? 0 : 1;
		lo = ys[first];
		if (lo > last)
			tz_build_add(&b, lo, first == 0 ? r->dst_off :
			    r->std_off, &cur);
		if (ys[1 - first] > last && ys[1 - first] > lo)
			tz_build_add(&b, ys[1 - first], first == 0 ?
			    r->std_off : r->dst_off, &cur);
	}
	tz_rule_year(r, TZ_EXPAND_YEAR, ys);
	tz->rule_from = ys[0] < ys[1] ? ys[0] : ys[1];
	tz->trans = b.trans;
	tz->offs = b.offs;
	tz->ntrans = b.n;
	tz->rule = *r;
	tz->has_rule = 1;
}

/* Parse a TZif file (RFC 8536); *WHY says what is wrong on failure. */
static int
tz_parse_tzif(struct tz *tz, const unsigned char *p, size_t len,
    const char **why)
{
	struct tz_rule	 r;
	size_t		 used, flen;
	const char	*foot, *nl;
	char		*s;
	int		 version;

	if (len < 44 || memcmp(p, "TZif", 4) != 0) {
		*why = "bad magic";
		return (-1);
	}
	version = p[4];
	if (version == '\0')
		return (tz_parse_block(tz, p, len, 0, &used, why));
	if (version < '2' || version > '9') {
		*why = "unknown version";
		return (-1);
	}
	/* Version 2 and later: skip the 32-bit block, read the 64-bit one. */
	if (tz_block_size(p, len, 0, &used) != 0) {
		*why = "truncated";
		return (-1);
	}
	if (tz_parse_block(tz, p + used, len - used, 1, &flen, why) != 0)
		return (-1);
	foot = (const char *)p + used + flen;
	if ((size_t)(foot - (const char *)p) >= len || *foot != '\n' ||
	    (nl = memchr(foot + 1, '\n', len - (size_t)(foot -
	    (const char *)p) - 1)) == NULL) {
		*why = "bad footer";
		return (-1);
	}
	if (nl == foot + 1)
		return (0);		/* empty: no rule for the future */
	s = xstrndup(foot + 1, (size_t)(nl - foot - 1));
	if (tz_posix_parse(s, &r) != 0) {
		free(s);
		*why = "bad TZ string in footer";
		return (-1);
	}
	free(s);
	if (r.has_dst)
		tz_expand_rule(tz, &r);
	else if (tz->ntrans == 0)
		tz->off0 = r.std_off;
	return (0);
}

static struct tz *
tz_create_utc(const char *name)
{
	struct tz	*tz;

	tz = xcalloc(1, sizeof *tz);
	tz->name = xstrdup(name);
	return (tz);
}

/* Load NAME from $TZDIR or the system directory. */
static struct tz *
tz_read(const char *name, char **cause)
{
	struct tz	*tz;
	const char	*dir, *why = NULL;
	char		*path, *buf;
	size_t		 len;
	int		 missing;

	if (strcmp(name, "UTC") == 0 || strcmp(name, "Etc/UTC") == 0)
		return (tz_create_utc(name));
	if ((dir = getenv("TZDIR")) == NULL || *dir == '\0')
		dir = TZ_DIR_DEFAULT;
	xasprintf(&path, "%s/%s", dir, name);
	buf = tz_read_file(path, &len, &missing);
	free(path);
	if (buf == NULL) {
		if (missing)
			xasprintf(cause, "unknown time zone \"%s\"", name);
		else
			xasprintf(cause, "time zone \"%s\": %s", name,
			    strerror(errno));
		return (NULL);
	}
	tz = tz_create_utc(name);
	if (tz_parse_tzif(tz, (unsigned char *)buf, len, &why) != 0) {
		xasprintf(cause, "time zone \"%s\": not a valid TZif file (%s)",
		    name, why);
		free(buf);
		free(tz->trans);
		free(tz->offs);
		free(tz->name);
		free(tz);
		return (NULL);
	}
	free(buf);
	return (tz);
}

/*
 * Look up a zone by IANA name, loading it on first use.  Returns a zone
 * shared for the life of the process (never freed), or NULL with *CAUSE
 * allocated (when CAUSE is not NULL).  Safe to call from any thread.
 */
const struct tz *
tz_load(const char *name, char **cause)
{
	struct strmap_node	*n;
	struct tz		*tz;
	char			*why = NULL;

	if (name == NULL || !tz_valid_name(name)) {
		xasprintf(&why, "invalid time zone name \"%s\"",
		    name == NULL ? "(null)" : name);
		tz = NULL;
	} else {
		pthread_mutex_lock(&tz_lock);
		if ((n = strmap_find(&tz_cache, name)) != NULL)
			tz = (struct tz *)n;
		else if ((tz = tz_read(name, &why)) != NULL)
			strmap_insert(&tz_cache, &tz->node, tz->name);
		pthread_mutex_unlock(&tz_lock);
	}
	if (tz == NULL && cause != NULL)
		*cause = why;
	else
		free(why);
	return (tz);
}

const char *
tz_name(const struct tz *tz)
{
	return (tz->name);
}

/* ---- lookups ------------------------------------------------------------ */

/* The number of table transitions at or before T. */
static size_t
tz_upper(const struct tz *tz, int64_t t)
{
	size_t	lo = 0, hi = tz->ntrans, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (tz->trans[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* UTC offset in seconds (east positive) at instant T. */
int
tz_offset(const struct tz *tz, int64_t t)
{
	size_t	i;

	if (tz->has_rule && t >= tz->rule_from)
		return (tz_rule_offset(&tz->rule, t));
	i = tz_upper(tz, t);
	return (i == 0 ? tz->off0 : tz->offs[i - 1]);
}

/*
 * The first transition strictly after T: its instant and the offsets before
 * and after it.  Returns 0 when there is none.
 */
int
tz_transition_after(const struct tz *tz, int64_t t, int64_t *when,
    int *before, int *after)
{
	int32_t	b, a;
	size_t	i;

	if (!tz->has_rule || t < tz->rule_from) {
		i = tz_upper(tz, t);
		if (i < tz->ntrans) {
			*when = tz->trans[i];
			*before = i == 0 ? tz->off0 : tz->offs[i - 1];
			*after = tz->offs[i];
			return (1);
		}
	}
	if (!tz->has_rule || !tz_rule_after(&tz->rule, t, when, &b, &a))
		return (0);
	*before = b;
	*after = a;
	return (1);
}

/* The last transition at or before T; 0 when there is none. */
int
tz_transition_before(const struct tz *tz, int64_t t, int64_t *when,
    int *before, int *after)
{
	int32_t	b, a;
	size_t	i;

	if (tz->has_rule && t >= tz->rule_from &&
	    tz_rule_before(&tz->rule, t, when, &b, &a)) {
		*before = b;
		*after = a;
		return (1);
	}
	if ((i = tz_upper(tz, t)) == 0)
		return (0);
	*when = tz->trans[i - 1];
	*before = i == 1 ? tz->off0 : tz->offs[i - 2];
	*after = tz->offs[i - 1];
	return (1);
}

/* Local wall time of instant T. */
void
tz_to_civil(const struct tz *tz, int64_t t, struct civil *c)
{
	int64_t	local = t + tz_offset(tz, t), days, sod;

	days = floor_div(local, SECS_PER_DAY);
	sod = local - days * SECS_PER_DAY;
	days_to_civil(days, &c->year, &c->month, &c->day);
	c->hour = (int)(sod / 3600);
	c->minute = (int)(sod / 60 % 60);
	c->second = (int)(sod % 60);
	c->wday = (int)((days % 7 + 11) % 7);
}

/*
 * The instants whose local wall time is *LOCAL (wday ignored; fields are
 * taken arithmetically, like mktime).  Returns 1 (one instant in out[0]), 2
 * (a repeated time: out[0] the earlier, out[1] the later) or 0 (a time in a
 * gap: out[0] is the transition instant, the first valid instant after it).
 */
int
tz_from_civil(const struct tz *tz, const struct civil *local, int64_t out[2])
{
	int64_t	L;

	L = civil_to_days(local->year, local->month, local->day) *
	    SECS_PER_DAY + (int64_t)local->hour * 3600 +
	    (int64_t)local->minute * 60 + local->second;
	return (tz_from_local(tz, L, out));
}

/*
 * tz_from_civil for a wall time given as local seconds since 1970-01-01
 * 00:00 local (the "naive" count cron works in).
 */
int
tz_from_local(const struct tz *tz, int64_t L, int64_t out[2])
{
	int64_t	seg, end, when, cand;
	int	off, before, after, n = 0, more;

	seg = L - 2 * SECS_PER_DAY;
	off = tz_offset(tz, seg);
	for (;;) {
		more = tz_transition_after(tz, seg, &when, &before, &after) &&
		    when <= L + 2 * SECS_PER_DAY;
		end = more ? when : INT64_MAX;
		cand = L - off;
		if (cand >= seg && cand < end) {
			if (n == 0)
				out[0] = cand;
			else
				out[1] = cand;
			n = n < 2 ? n + 1 : 2;
		} else if (n == 0 && seg + off > L) {
			out[0] = seg;
			return (0);
		}
		if (!more)
			break;
		seg = when;
		off = after;
	}
	if (n == 0)		/* cannot happen: offsets are bounded */
		out[0] = L - off;
	return (n == 0 ? 1 : n);
}
