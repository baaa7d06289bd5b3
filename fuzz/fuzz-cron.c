/*
 * fuzz/fuzz-cron.c: cron_parse and cron_next across time zones.
 *
 * Input: "EXPR\nZONE\nSTART".  EXPR is any expression chimectl or a
 * schedule could send; ZONE (optional) an IANA name, else one of the
 * zones below picked by the input's bytes; START (optional) Unix seconds
 * to evaluate from, else one of the instants below (near daylight-saving
 * transitions) picked the same way.
 *
 * Beyond "no crash, no sanitizer report", every fire found must hold:
 * later than the one before; its nominal wall time matches the
 * expression's fields (day-of-month and day-of-week by Vixie cron's
 * rule); a cadence fire's local time is its nominal time; a wall-anchored
 * fire is the first instant whose local time reaches its nominal time
 * (so a shifted fire sits at the end of a gap) and nominal times only
 * grow; no fire is tagged "suppressed".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "fuzz.h"

#define FUZZ_CRON_FIRES	6

/* Zones with something to test: none, the usual, 30 minutes, at
 * midnight, southern, odd offsets, a skipped day, negative DST, two
 * hours. */
static const char *const fuzz_cron_zones[] = {
	"UTC", "America/New_York", "Europe/London", "Australia/Lord_Howe",
	"Africa/Cairo", "America/Santiago", "Asia/Kathmandu", "Pacific/Apia",
	"Europe/Dublin", "Antarctica/Troll", "America/Sao_Paulo",
	"Asia/Tehran"
};
#define FUZZ_CRON_NZONES (sizeof fuzz_cron_zones / sizeof fuzz_cron_zones[0])

/* Around transitions and edges (seconds). */
static const int64_t fuzz_cron_starts[] = {
	0,			/* 1970-01-01 */
	1710050400,		/* 2024-03-10 06:00Z, New York springs */
	1730613600,		/* 2024-11-03 06:00Z, New York falls */
	1711846800,		/* 2024-03-31 01:00Z, Europe springs */
	1729990800,		/* 2024-10-27 01:00Z, Europe falls */
	1712415600,		/* 2024-04-06 15:00Z, Lord Howe falls */
	1714082400,		/* 2024-04-25 22:00Z, Cairo springs */
	1325239200,		/* 2011-12-30 10:00Z, Apia skips a day */
	951782400,		/* 2000-02-29 */
	4102444799,		/* 2099-12-31 23:59:59Z */
	253402300000,		/* near 9999-12-31 */
	-62135596800,		/* 0001-01-01 */
};
#define FUZZ_CRON_NSTARTS (sizeof fuzz_cron_starts / sizeof fuzz_cron_starts[0])

static int64_t	fuzz_cron_naive(const struct civil *);
static int	fuzz_cron_matches(const struct cron *, const struct civil *);
static void	fuzz_cron_walk(const struct cron *, const struct tz *, int64_t,
		    const struct fuzz_fields *);

/* A wall time as seconds counted as if it were UTC. */
static int64_t
fuzz_cron_naive(const struct civil *c)
{
	return (civil_to_days(c->year, c->month, c->day) * 86400 +
	    c->hour * 3600 + c->minute * 60 + c->second);
}

/* Does wall time C match the fields of CR?  Written plainly, apart from
 * cron.c's bit scans. */
static int
fuzz_cron_matches(const struct cron *cr, const struct civil *c)
{
	int	dim, dom, dow;

	if (c->month < 1 || c->month > 12 || c->day < 1 ||
	    c->day > (dim = days_in_month(c->year, c->month)) ||
	    c->hour < 0 || c->hour > 23 || c->minute < 0 || c->minute > 59 ||
	    c->second < 0 || c->second > 59 ||
	    c->wday != civil_wday(c->year, c->month, c->day))
		return (0);
	if (!(cr->seconds >> c->second & 1) || !(cr->minutes >> c->minute & 1) ||
	    !(cr->hours >> c->hour & 1) || !(cr->months >> c->month & 1))
		return (0);
	dom = (cr->days >> c->day & 1) ||
	    ((cr->flags & CRON_LAST_DOM) && c->day == dim);
	/* A weekday item, or "#n" (the day is the wday's n-th of the month)
	 * or "L" (no later one this month). */
	dow = (cr->weekdays >> c->wday & 1) ||
	    (cr->nth[c->wday] >> ((c->day - 1) / 7) & 1) ||
	    ((cr->nth[c->wday] & CRON_NTH_LAST) && c->day + 7 > dim);
	if (cr->flags & (CRON_DOM_STAR | CRON_DOW_STAR))
		return (dom && dow);
	return (dom || dow);
}

/* Follow FUZZ_CRON_FIRES fires of CR in TZ from AFTER; check each. */
static void
fuzz_cron_walk(const struct cron *cr, const struct tz *tz, int64_t after,
    const struct fuzz_fields *f)
{
	struct cron_fire	fire;
	struct civil		at, before;
	int64_t			last_nominal = INT64_MIN, w;
	int			i;

	for (i = 0; i < FUZZ_CRON_FIRES; i++) {
		if (cron_next(cr, tz, after, &fire) != 0)
			return;
		if (fire.utc <= after)
			fuzz_fail("a fire not after the instant asked", f);
		if (fire.tag == DST_SUPPRESSED)
			fuzz_fail("a suppressed fire returned", f);
		if (!fuzz_cron_matches(cr, &fire.nominal))
			fuzz_fail("a nominal time the expression does not "
			    "match", f);
		w = fuzz_cron_naive(&fire.nominal);
		tz_to_civil(tz, fire.utc, &at);
		tz_to_civil(tz, fire.utc - 1, &before);
		if (cr->flags & CRON_WALL) {
			if (fuzz_cron_naive(&before) >= w ||
			    fuzz_cron_naive(&at) < w)
				fuzz_fail("a wall-anchored fire not at the "
				    "first instant reaching its time", f);
			if ((fire.tag == DST_NONE) !=
			    (fuzz_cron_naive(&at) == w))
				fuzz_fail("a wall-anchored fire tagged "
				    "against its instant", f);
			if (w <= last_nominal)
				fuzz_fail("wall-anchored nominal times not "
				    "growing", f);
			last_nominal = w;
		} else {
			if (fire.tag != DST_NONE)
				fuzz_fail("a cadence fire tagged", f);
			if (fuzz_cron_naive(&at) != w)
				fuzz_fail("a cadence fire whose local time "
				    "is not its nominal time", f);
		}
		after = fire.utc;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_fields	 f;
	struct cron		 cr;
	const struct tz		*tz = NULL;
	char			*cause = NULL, *end;
	int64_t			 start;
	uint32_t		 h = 2166136261U;
	size_t			 i;

	fuzz_quiet();
	fuzz_fields_split(data, size, 3, &f);
	for (i = 0; i < size; i++)
		h = (h ^ data[i]) * 16777619U;
	if (cron_parse(f.v[0], &cr, &cause) != 0) {
		if (cause == NULL)
			fuzz_fail("cron_parse failed without a cause", &f);
		free(cause);
		fuzz_fields_free(&f);
		return (0);
	}
	if (f.n > 1 && f.v[1][0] != '\0') {
		if ((tz = tz_load(f.v[1], &cause)) == NULL)
			free(cause);
	}
	if (tz == NULL &&
	    (tz = tz_load(fuzz_cron_zones[h % FUZZ_CRON_NZONES], NULL)) == NULL)
		fuzz_fail("a zone of the list does not load (tzdata?)", &f);
	start = fuzz_cron_starts[(h >> 8) % FUZZ_CRON_NSTARTS];
	if (f.n > 2) {
		errno = 0;
		start = strtoll(f.v[2], &end, 10);
		if (errno != 0 || end == f.v[2])
			start = fuzz_cron_starts[(h >> 8) % FUZZ_CRON_NSTARTS];
	}
	fuzz_cron_walk(&cr, tz, start, &f);
	fuzz_fields_free(&f);
	return (0);
}
