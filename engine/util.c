/*
 * engine/util.c: clocks, RFC 3339, money and duration parsing, ids.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "engine.h"

int64_t
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000);
}

int64_t
mono_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000);
}

/* (Re)arm the timer event EV to fire in US microseconds (at once if US
 * is not positive). */
void
timeout_add_us(struct event *ev, int64_t us)
{
	struct timeval	tv;

	if (us < 0)
		us = 0;
	tv.tv_sec = us / USEC_PER_SEC;
	tv.tv_usec = us % USEC_PER_SEC;
	evtimer_add(ev, &tv);
}

/* Floor division of an instant into seconds and microseconds. */
static void
split_us(int64_t us, time_t *sec, long *frac)
{
	int64_t	s = us / USEC_PER_SEC, f = us % USEC_PER_SEC;

	if (f < 0) {
		f += USEC_PER_SEC;
		s--;
	}
	*sec = (time_t)s;
	*frac = (long)f;
}

/* "2025-03-09T07:00:00Z", or with MS "2025-03-09T07:00:00.123Z". */
static char *
fmt_utc(int64_t us, int ms, char *buf, size_t len)
{
	struct tm	tm;
	time_t		sec;
	long		frac;
	char		s[64];

	split_us(us, &sec, &frac);
	gmtime_r(&sec, &tm);
	snprintf(s, sizeof s, "%04d-%02d-%02dT%02d:%02d:%02d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec);
	if (ms)
		snprintf(buf, len, "%s.%03ldZ", s, frac / 1000);
	else
		snprintf(buf, len, "%sZ", s);
	return (buf);
}

char *
fmt_rfc3339(int64_t us, char *buf, size_t len)
{
	return (fmt_utc(us, 0, buf, len));
}

char *
fmt_rfc3339_ms(int64_t us, char *buf, size_t len)
{
	return (fmt_utc(us, 1, buf, len));
}

static int
digits(const char **p, int n, int *out)
{
	int	v = 0;

	while (n-- > 0) {
		if (!isdigit((unsigned char)**p))
			return (-1);
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return (0);
}

/*
 * RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM).  't', 'z' and a
 * space for 'T' are accepted; a leap second (60) is refused.
 */
int
parse_rfc3339(const char *s, int64_t *out)
{
	const char	*p = s;
	struct tm	 tm;
	int		 y, mo, d, h, mi, sec, oh, om, sign, n;
	int64_t		 frac = 0, scale = 100000;
	time_t		 t;

	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d))
		return (-1);
	if (*p != 'T' && *p != 't' && *p != ' ')
		return (-1);
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) ||
	    *p++ != ':' || digits(&p, 2, &sec))
		return (-1);
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return (-1);
		for (n = 0; isdigit((unsigned char)*p); p++, n++) {
			if (n < 6) {
				frac += (*p - '0') * scale;
				scale /= 10;
			}
		}
	}
	if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 59)
		return (-1);
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	if (d > mdays[mo - 1] || (mo == 2 && d == 29 &&
	    !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
		return (-1);
	if (*p == 'Z' || *p == 'z') {
		sign = 0;
		oh = om = 0;
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) ||
		    oh > 23 || om > 59)
			return (-1);
	} else
		return (-1);
	if (*p != '\0')
		return (-1);
	memset(&tm, 0, sizeof tm);
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	t -= (time_t)sign * (oh * 3600 + om * 60);
	*out = (int64_t)t * USEC_PER_SEC + frac;
	return (0);
}

/*
 * Money: "12", "12.5", "0.000001", "$3.20" -> micro-dollars.  At most six
 * decimals and at most USD_MAX dollars; negative amounts, signs, exponents,
 * spaces and anything after the number are refused.
 */
int
parse_usd(const char *s, int64_t *out)
{
	int64_t	whole = 0, frac = 0;
	int	n = 0;

	if (*s == '$')
		s++;
	if (!isdigit((unsigned char)*s))
		return (-1);
	for (; isdigit((unsigned char)*s); s++) {
		whole = whole * 10 + (*s - '0');
		if (whole > USD_MAX)
			return (-1);
	}
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return (-1);
		for (; isdigit((unsigned char)*s); s++, n++) {
			if (n >= 6)
				return (-1);
			frac = frac * 10 + (*s - '0');
		}
		for (; n < 6; n++)
			frac *= 10;
	}
	if (*s != '\0' || (whole == USD_MAX && frac != 0))
		return (-1);
	*out = whole * 1000000 + frac;
	return (0);
}

/*
 * Money as a JSON value: a parse_usd string (with no NUL inside), an
 * integer number of dollars, or a real number.  A real goes through its
 * six-decimal text and must read back as the same double, so 0.1 is exactly
 * 100000 and 1e-7 is refused rather than rounded.  The same bounds as
 * parse_usd: 0 to USD_MAX dollars.
 */
int
parse_usd_json(const json_t *v, int64_t *out)
{
	char	 buf[64];
	double	 d;

	if (json_is_string(v)) {
		if (strlen(json_string_value(v)) != json_string_length(v))
			return (-1);
		return (parse_usd(json_string_value(v), out));
	}
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0 ||
		    json_integer_value(v) > USD_MAX)
			return (-1);
		*out = (int64_t)json_integer_value(v) * 1000000;
		return (0);
	}
	if (!json_is_real(v))
		return (-1);
	d = json_real_value(v);
	if (!isfinite(d) || d < 0 || d > (double)USD_MAX)
		return (-1);
	snprintf(buf, sizeof buf, "%.6f", d);
	if (strtod(buf, NULL) != d)
		return (-1);
	return (parse_usd(buf, out));
}

/* A + B for money, saturating at the int64 limits instead of wrapping. */
int64_t
money_add(int64_t a, int64_t b)
{
	int64_t	r;

	if (__builtin_add_overflow(a, b, &r))
		return (b > 0 ? INT64_MAX : INT64_MIN);
	return (r);
}

/* 1250000 -> "1.250000"; negative amounts keep their sign. */
char *
fmt_usd(int64_t micro, char *buf, size_t len)
{
	const char	*sign = "";
	uint64_t	 m;

	if (micro < 0) {
		sign = "-";
		m = (uint64_t)0 - (uint64_t)micro;
	} else
		m = (uint64_t)micro;
	snprintf(buf, len, "%s%llu.%06llu", sign,
	    (unsigned long long)(m / 1000000),
	    (unsigned long long)(m % 1000000));
	return (buf);
}

/*
 * Durations: "500ms", "90s", "5m", "1h", "2d", "1h30m", or a bare number of
 * seconds -> microseconds.  Zero is allowed; negative is not.
 */
int
parse_duration(const char *s, int64_t *out)
{
	int64_t	total = 0, v, unit;
	int	any = 0;

	if (*s == '\0')
		return (-1);
	while (*s != '\0') {
		if (!isdigit((unsigned char)*s))
			return (-1);
		for (v = 0; isdigit((unsigned char)*s); s++) {
			if (v > INT64_MAX / 100 / USEC_PER_SEC)
				return (-1);
			v = v * 10 + (*s - '0');
		}
		if (strncmp(s, "ms", 2) == 0) {
			unit = USEC_PER_MSEC;
			s += 2;
		} else if (*s == 's' || (*s == '\0' && !any)) {
			unit = USEC_PER_SEC;
			if (*s != '\0')
				s++;
		} else if (*s == 'm') {
			unit = 60 * USEC_PER_SEC;
			s++;
		} else if (*s == 'h') {
			unit = 3600 * USEC_PER_SEC;
			s++;
		} else if (*s == 'd') {
			unit = 86400 * USEC_PER_SEC;
			s++;
		} else
			return (-1);
		if (v > (INT64_MAX - total) / unit)
			return (-1);
		total += v * unit;
		any = 1;
	}
	*out = total;
	return (0);
}

/* An identifier: 1 to 64 of [A-Za-z0-9._-], not starting with '.' or '-'. */
int
valid_id(const char *s)
{
	size_t	n;

	if (s[0] == '\0' || s[0] == '.' || s[0] == '-')
		return (0);
	for (n = 0; s[n] != '\0'; n++) {
		if (n >= 64)
			return (0);
		if (!isalnum((unsigned char)s[n]) && s[n] != '.' &&
		    s[n] != '_' && s[n] != '-')
			return (0);
	}
	return (1);
}

/* PREFIX followed by 12 characters of lower-case base32 from the CSPRNG. */
void
random_id(const char *prefix, char *buf, size_t len)
{
	static const char	 alpha[] = "abcdefghijkmnpqrstuvwxyz23456789";
	unsigned char		 r[12];
	size_t			 i, n;

	if (RAND_bytes(r, sizeof r) != 1)
		fatalx("random_id: RAND_bytes failed");
	n = strlen(prefix);
	if (n + sizeof r + 1 > len)
		fatalx("random_id: buffer too small");
	memcpy(buf, prefix, n);
	for (i = 0; i < sizeof r; i++)
		buf[n + i] = alpha[r[i] % 32];
	buf[n + sizeof r] = '\0';
}

/* N ids of PREFIX and 12 base32 characters, the i-th at BUF + i * LEN,
 * from one draw (random_id draws for each: slow for thousands). */
void
random_ids(const char *prefix, char *buf, size_t len, size_t n)
{
	static const char	 alpha[] = "abcdefghijkmnpqrstuvwxyz23456789";
	unsigned char		*r;
	size_t			 i, k, p = strlen(prefix);

	if (p + 12 + 1 > len)
		fatalx("random_ids: buffer too small");
	if (n == 0)
		return;
	r = xmalloc(n * 12);
	if (RAND_bytes(r, (int)(n * 12)) != 1)
		fatalx("random_ids: RAND_bytes failed");
	for (i = 0; i < n; i++) {
		memcpy(buf + i * len, prefix, p);
		for (k = 0; k < 12; k++)
			buf[i * len + p + k] = alpha[r[i * 12 + k] % 32];
		buf[i * len + p + 12] = '\0';
	}
	free(r);
}

static int
random_u64_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * N distinct ids as random_ids draws them (the same 32 characters, each
 * as likely), in byte order: 60 random bits each, sorted as numbers and
 * written 5 bits a character in the characters' byte order.
 */
void
random_ids_sorted(const char *prefix, char *buf, size_t len, size_t n)
{
	static const char	 alpha[] = "23456789abcdefghijkmnpqrstuvwxyz";
	uint64_t		*r;
	size_t			 i, k, p = strlen(prefix);
	int			 again;

	if (p + 12 + 1 > len)
		fatalx("random_ids_sorted: buffer too small");
	if (n == 0)
		return;
	r = xreallocarray(NULL, n, sizeof *r);
	do {
		if (RAND_bytes((unsigned char *)r, (int)(n * sizeof *r)) != 1)
			fatalx("random_ids_sorted: RAND_bytes failed");
		for (i = 0; i < n; i++)
			r[i] &= ((uint64_t)1 << 60) - 1;
		xqsort(r, n, sizeof *r, random_u64_cmp);
		for (i = 1, again = 0; i < n && !again; i++)
			again = r[i] == r[i - 1];
	} while (again);
	for (i = 0; i < n; i++) {
		memcpy(buf + i * len, prefix, p);
		for (k = 0; k < 12; k++)
			buf[i * len + p + k] = alpha[(r[i] >> (55 - 5 * k)) &
			    31];
		buf[i * len + p + 12] = '\0';
	}
	free(r);
}

/* mkdir -p with MODE for every directory it creates. */
int
mkdir_p(const char *path, mode_t mode)
{
	struct stat	 sb;
	char		*copy, *p;
	int		 rc = 0;

	if (*path == '\0') {
		errno = ENOENT;
		return (-1);
	}
	copy = xstrdup(path);
	for (p = copy + 1; ; p++) {
		if (*p == '/' || *p == '\0') {
			char	c = *p;

			*p = '\0';
			if (mkdir(copy, mode) == -1 && (errno != EEXIST ||
			    stat(copy, &sb) == -1 || !S_ISDIR(sb.st_mode))) {
				if (errno == EEXIST)
					errno = ENOTDIR;
				rc = -1;
				break;
			}
			*p = c;
			if (c == '\0')
				break;
		}
	}
	free(copy);
	return (rc);
}

/* The value of hex digit C (either case), or -1. */
int
hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

/* Write all LEN bytes of BUF to FD; returns 0, or -1 with errno set. */
int
write_all(int fd, const char *buf, size_t len)
{
	ssize_t	n;

	while (len > 0) {
		if ((n = write(fd, buf, len)) == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		buf += n;
		len -= (size_t)n;
	}
	return (0);
}

/* qsort(3) that takes an empty array as it comes, with BASE NULL (qsort's
 * BASE may not be NULL, even for no elements). */
void
xqsort(void *base, size_t n, size_t size,
    int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}
