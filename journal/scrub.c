/*
 * journal/scrub.c: the background scrub, which reads the whole chain back
 * from genesis and checks it (journal_check_entry) every interval.
 *
 * It runs on the loop thread, in slices: each slice is one read
 * transaction that checks records until SCRUB_SLICE_US of work or
 * SCRUB_SLICE_RECORDS records, and the next slice comes SCRUB_GAP_MS
 * later, so that the loop never waits long for it and other events run
 * between slices.  A scrub checks up to the head of when it began; the
 * records written meanwhile are the next one's.  It ends with a
 * journal.scrub record whose transaction also moves meta's verified point
 * (journal_set_verified): to the end of an intact scrub, or to just before
 * a break, so that every start finds the break again.
 */
#include <sys/types.h>

#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "journal.h"

struct scrub {
	struct journal		*j;
	struct event		*ev;
	int64_t			 interval_us;
	int64_t			 next_us;
	int			 running;
	struct journal_check	 c;
	uint64_t		 from_seq;	/* 1, or after the anchor */
	uint64_t		 to_seq;
	int64_t			 started_us;
	int64_t			 slice_end;	/* mono_us */
	u_int			 slice_n;
	int64_t			 slice_max_us;	/* the longest slice of this one */
	uint64_t		 scrubs;
};

/* What one journal.scrub record says. */
struct scrub_report {
	const char		*scope;		/* "start", "scrub" */
	uint64_t		 from_seq;
	uint64_t		 to_seq;
	uint64_t		 records;
	uint64_t		 bad_seq;	/* 0: intact */
	const char		*reason;
	int64_t			 started_us;
};

static void	 scrub_arm(struct scrub *, int64_t);
static void	 scrub_fire(evutil_socket_t, short, void *);
static void	 scrub_slice(struct scrub *);
static int	 scrub_entry(const struct journal_entry *, void *);
static void	 scrub_end(struct scrub *);
static void	 scrub_record(struct journal *, const struct scrub_report *);
static void	 scrub_record_cb(const struct journal_result *, void *);

int
scrub_start(struct journal *j, int64_t interval_us, char **cause)
{
	struct journal_meta	 m;
	struct scrub_report	 r;
	struct scrub		*s;
	int64_t			 from;

	if (j->base == NULL || j->readonly || j->scrub != NULL) {
		*cause = xstrdup("scrub: the journal is not started, is "
		    "read-only, or has a scrub already");
		return (-1);
	}
	if (j->ops->meta(j->store, &m, cause) != 0)
		return (-1);
	if (j->chain.broken_seq != 0) {
		memset(&r, 0, sizeof r);
		r.scope = "start";
		r.from_seq = j->chain.start_from;
		r.to_seq = j->chain.start_to;
		r.records = j->chain.start_records;
		r.bad_seq = j->chain.broken_seq;
		r.reason = j->chain.broken_reason;
		r.started_us = j->chain.found_us;
		scrub_record(j, &r);
	}
	s = xcalloc(1, sizeof *s);
	s->j = j;
	s->interval_us = interval_us;
	journal_check_init(&s->c);
	if ((s->ev = evtimer_new(j->base, scrub_fire, s)) == NULL) {
		free(s);
		*cause = xstrdup("scrub: cannot create its timer");
		return (-1);
	}
	j->scrub = s;
	if (j->chain.start_partial)
		scrub_arm(s, now_us());	/* what the open left unchecked */
	else if (interval_us > 0) {
		from = m.scrubbed_us != 0 ? m.scrubbed_us : m.created_us;
		scrub_arm(s, from > INT64_MAX - interval_us ? INT64_MAX :
		    from + interval_us);
	}
	return (0);
}

void
scrub_stop(struct journal *j)
{
	struct scrub	*s = j->scrub;

	if (s == NULL)
		return;
	event_free(s->ev);
	journal_check_clear(&s->c);
	free(s);
	j->scrub = NULL;
}

void
scrub_status(struct journal *j, struct scrub_status *st)
{
	struct scrub	*s = j->scrub;

	memset(st, 0, sizeof *st);
	if (s == NULL)
		return;
	st->interval_us = s->interval_us;
	st->next_us = s->running ? 0 : s->next_us;
	st->running = s->running;
	st->at_seq = s->running ? s->c.expect : 0;
	st->to_seq = s->running ? s->to_seq : 0;
	st->scrubs = s->scrubs;
}

/* Fire at WHEN (now if it is past); a slice's gap when running. */
static void
scrub_arm(struct scrub *s, int64_t when)
{
	int64_t	now = now_us(), d;

	if (s->running)
		d = SCRUB_GAP_MS * USEC_PER_MSEC;
	else {
		s->next_us = when > now ? when : now;
		d = s->next_us - now;
	}
	timeout_add_us(s->ev, d);
}

static void
scrub_fire(evutil_socket_t fd, short events, void *arg)
{
	struct scrub		*s = arg;
	struct journal_meta	 m;
	char			*cause;

	if (!s->running) {
		journal_check_clear(&s->c);
		journal_check_init(&s->c);
		/* from the anchor of an archived prefix (the daemon holds
		   the writer lock: no archive moves it meanwhile) */
		if (journal_meta(s->j, &m, &cause) == 0)
			journal_check_anchor(&s->c, &m);
		else {
			log_warnx("msg=\"journal scrub: cannot read meta\" "
			    "error=\"%s\"", log_escape(cause));
			free(cause);
		}
		s->from_seq = s->c.expect;
		s->to_seq = journal_seq(s->j);
		s->started_us = now_us();
		s->running = 1;
		s->next_us = 0;
		s->slice_max_us = 0;
		log_debug("msg=\"journal scrub begins\" to=%llu",
		    (unsigned long long)s->to_seq);
	}
	scrub_slice(s);
}

/* One entry of a slice: stop at the end, at a break, or out of time. */
static int
scrub_entry(const struct journal_entry *e, void *arg)
{
	struct scrub	*s = arg;

	if (e->seq > s->to_seq)
		return (1);
	if (journal_check_entry(&s->c, e) != 0)
		return (1);
	s->slice_n++;
	if (s->c.expect > s->to_seq || s->slice_n >= SCRUB_SLICE_RECORDS)
		return (1);
	return (s->slice_n % 32 == 0 && mono_us() >= s->slice_end);
}

/* Check the next records in one read transaction, then go on later or
 * end. */
static void
scrub_slice(struct scrub *s)
{
	int64_t	 start = mono_us();
	char	*cause = NULL;
	int	 rc = 0;

	s->slice_n = 0;
	s->slice_end = start + SCRUB_SLICE_US;
	if (s->c.expect <= s->to_seq)
		rc = journal_log_foreach(s->j, s->c.expect, NULL, scrub_entry, s,
		    &cause);
	if (mono_us() - start > s->slice_max_us)
		s->slice_max_us = mono_us() - start;
	if (rc != 0) {
		log_warnx("msg=\"journal scrub: cannot read the log; trying "
		    "again later\" error=\"%s\"", log_escape(cause));
		free(cause);
		s->running = 0;
		scrub_arm(s, now_us() + s->interval_us);
		return;
	}
	if (s->c.cause == NULL && s->c.expect <= s->to_seq &&
	    s->slice_n == 0) {
		s->c.bad_seq = s->c.expect;
		xasprintf(&s->c.cause, "missing (the log ends at seq %llu)",
		    (unsigned long long)s->c.expect - 1);
	}
	if (s->c.cause != NULL || s->c.expect > s->to_seq) {
		scrub_end(s);
		return;
	}
	scrub_arm(s, 0);
}

/*
 * The scrub is over: move the verified point, remember or forget the
 * break, log, and record journal.scrub; the next one in an interval.
 */
static void
scrub_end(struct scrub *s)
{
	struct journal		*j = s->j;
	struct scrub_report	 r;
	int64_t			 now = now_us();

	memset(&r, 0, sizeof r);
	r.scope = "scrub";
	r.from_seq = s->from_seq;
	r.to_seq = s->to_seq;
	r.records = s->c.records;
	r.started_us = s->started_us;
	s->scrubs++;
	if (s->c.cause == NULL) {
		journal_set_verified(j, s->to_seq, s->c.prev, now);
		journal_set_broken(j, 0, NULL, NULL);
		log_info("msg=\"journal scrub done\" records=%llu to=%llu "
		    "ms=%lld slice_max_us=%lld", (unsigned long long)s->c.records,
		    (unsigned long long)s->to_seq,
		    (long long)(now - s->started_us) / USEC_PER_MSEC,
		    (long long)s->slice_max_us);
	} else {
		/* c.prev is the hash of the last record that verified. */
		journal_set_verified(j, s->c.bad_seq - 1, s->c.prev, now);
		journal_set_broken(j, s->c.bad_seq, s->c.cause, "scrub");
		log_warnx("msg=\"journal chain broken\" seq=%llu "
		    "found_by=scrub reason=\"%s\"",
		    (unsigned long long)s->c.bad_seq, log_escape(s->c.cause));
		r.bad_seq = s->c.bad_seq;
		r.reason = s->c.cause;
	}
	scrub_record(j, &r);
	journal_check_clear(&s->c);
	s->running = 0;
	if (s->interval_us > 0)
		scrub_arm(s, now + s->interval_us);
}

/* The journal.scrub record (doc/journal-format.md). */
static void
scrub_record(struct journal *j, const struct scrub_report *r)
{
	struct jrec		*rec;
	const struct pack_pair	 v[] = {
		PACK_PAIR_STR("scope", r->scope),
		PACK_PAIR_STR("outcome", r->bad_seq == 0 ? "ok" : "broken"),
		PACK_PAIR_INT("from_seq", (int64_t)r->from_seq),
		PACK_PAIR_INT("to_seq", (int64_t)r->to_seq),
		PACK_PAIR_INT("records", (int64_t)r->records),
		r->bad_seq == 0 ? (struct pack_pair)PACK_PAIR_STR("bad_seq",
		    NULL) : (struct pack_pair)PACK_PAIR_INT("bad_seq",
		    (int64_t)r->bad_seq),
		PACK_PAIR_STR("reason", r->reason),
		PACK_PAIR_INT("started_us", r->started_us),
		PACK_PAIR_INT("verified_seq", (int64_t)j->chain.verified_seq),
	};

	rec = jrec_create("journal.scrub", NULL);
	PACK_MAP(jrec_body(rec), v);
	journal_submit(j, rec, scrub_record_cb, NULL);
}

static void
scrub_record_cb(const struct journal_result *res, void *arg)
{
	if (res->status != JOURNAL_OK)
		log_warnx("msg=\"journal: cannot record journal.scrub\" "
		    "error=\"%s\"", log_escape(res->error != NULL ? res->error :
		    "duplicate"));
}
