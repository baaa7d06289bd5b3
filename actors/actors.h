/*
 * actors/actors.h: time zones, the cron evaluator, the cost model,
 * accounts, runs and the schedule actor.
 *
 * Structs first, then one prototype section per .c file.
 */
#ifndef CHIME_ACTORS_H
#define CHIME_ACTORS_H

#include <stdint.h>

#include "engine.h"

/* ---- tz.c ---------------------------------------------------------------
 * IANA zones read from the system's TZif files (/usr/share/zoneinfo, or
 * $TZDIR), including the POSIX TZ rule in the footer for instants past the
 * last transition.  Zones are loaded once and shared (never freed while the
 * process runs).  "UTC" and "Etc/UTC" need no file.
 */
struct tz;

/* Broken-down local time, all fields plain integers. */
struct civil {
	int	year;
	int	month;		/* 1..12 */
	int	day;		/* 1..31 */
	int	hour;
	int	minute;
	int	second;
	int	wday;		/* 0 = Sunday */
};

/* ---- cron.c -------------------------------------------------------------
 * A parsed trigger expression: fixed size, no allocation, ~32 bytes.
 */
#define CRON_HAS_SECONDS	0x01	/* six fields given */
#define CRON_DOM_STAR		0x02	/* day-of-month field began with '*' */
#define CRON_DOW_STAR		0x04	/* day-of-week field began with '*' */
#define CRON_LAST_DOM		0x08	/* "L": last day of the month */
#define CRON_WALL		0x10	/* wall-anchored (DESIGN.md) */
struct cron {
	uint64_t	seconds;	/* bits 0..59 */
	uint64_t	minutes;	/* bits 0..59 */
	uint32_t	hours;		/* bits 0..23 */
	uint32_t	days;		/* bits 1..31 */
	uint16_t	months;		/* bits 1..12 */
	uint8_t		weekdays;	/* bits 0..6, 0 = Sunday */
	uint8_t		flags;
};

enum dst_tag {
	DST_NONE,
	DST_SHIFTED,		/* nominal time in a gap: moved to its end */
	DST_COALESCED,		/* several nominal times share one instant */
	DST_SUPPRESSED,		/* second pass of a repeated time: not fired */
};

struct cron_fire {
	int64_t		utc;		/* seconds since the epoch */
	struct civil	nominal;	/* the local wall time it stands for */
	enum dst_tag	tag;
};

/* ---- cost.c ------------------------------------------------------------- */
struct cost_range {
	int64_t	low;
	int64_t	mid;
	int64_t	high;
};

/* Counts for daemon.status and metrics. */
struct schedule_counts {
	size_t	total;
	size_t	active;
	size_t	paused;
	size_t	runs_running;	/* operations executing now */
	size_t	runs_waiting;	/* runs waiting for an executor slot */
};

/* tz.c */
const struct tz	*tz_load(const char *, char **);
const char	*tz_name(const struct tz *);
int		 tz_offset(const struct tz *, int64_t);
void		 tz_to_civil(const struct tz *, int64_t, struct civil *);
int		 tz_from_civil(const struct tz *, const struct civil *, int64_t[2]);
int64_t		 civil_to_days(int, int, int);
void		 days_to_civil(int64_t, int *, int *, int *);
int		 civil_wday(int, int, int);
int		 days_in_month(int, int);

/* cron.c */
int		 cron_parse(const char *, struct cron *, char **);
void		 cron_weekly(int, int, int, struct cron *);
void		 cron_monthly(int, int, int, struct cron *);
int		 cron_next(const struct cron *, const struct tz *, int64_t,
		     struct cron_fire *);
const char	*dst_tag_name(enum dst_tag);

/* cost.c */
int64_t		 cost_tokens(int64_t, int64_t);
void		 cost_estimate(const struct operation *, const struct model *,
		     struct cost_range *);
int64_t		 cost_actual(const struct model *, int64_t, int64_t);

/* schedule.c */
void		 schedule_counts(struct schedule_counts *);

#endif /* CHIME_ACTORS_H */
