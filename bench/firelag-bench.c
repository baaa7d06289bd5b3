/*
 * bench/firelag-bench.c: how late chimed fires when many schedules are due
 * in the same second.
 *
 * On a fresh data directory a real chimed (durable journal by default)
 * gets K schedules that are all due at one instant T a few seconds after
 * their creation ends: a six-field cron "S M H * * *" for that second in
 * UTC (or "at" T), running a cheap exec operation, with --max-running
 * slots.  Once every run has ended the daemon is stopped and its journal
 * read back with chime-journal export.  For each occurrence:
 *
 *	fire lag	time_us of its first durable record (run.claimed when
 *			it was claimed ahead of the instant, else run.started,
 *			or run.pending when no slot was free) - scheduled_for
 *	dispatch lag	the run's created_us (the schedule actor handled its
 *			timer) - scheduled_for
 *	start lag	time_us of its first run.started - scheduled_for (the
 *			executor starts once that record is durable)
 *
 * time_us is the commit time of the record's group commit, so the fire lag
 * is when the claim became durable (negative: before the instant).  The
 * targets (issue 16): every claim durable before the instant, and the
 * first --max-running runs started within 5 ms of it (p99 of their
 * run.started commit times).  --claim-ahead DUR is passed to chimed
 * (0: claims at the instant, as before that option).  --executor http
 * runs an http operation against tests/chime-test-router (started beside
 * chimed, which gets --http-allow 127.0.0.1/32) instead of an exec one,
 * and reads when each request reached the router.  --perf FILE records the
 * daemon with perf record --call-graph dwarf from just before T until the
 * runs have ended.
 *
 *	firelag-bench [--count K] [--max-running N] [--trigger cron|at]
 *	    [--lead SECONDS] [--claim-ahead DUR] [--executor exec|http]
 *	    [--router PATH]
 *	    [--chimed PATH] [--journal PATH]
 *	    [--catalog FILE] [--op ID] [--sync full|batch|none]
 *	    [--log-level LEVEL] [--wait SECONDS] [--perf FILE] [--keep]
 *	    [--out FILE]
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "engine.h"
#include "bench.h"

#define SPAWN_MAX	5000	/* spawns of the raw rate, at most */
#define REQ_FIXED	256	/* http: requests compared across slots */
#define REQ_FIXED_S	"256"

#define START_TIMEOUT	(120 * USEC_PER_SEC)
#define STOP_TIMEOUT	(300 * USEC_PER_SEC)
#define POLL_US		(50 * USEC_PER_MSEC)

struct options {
	struct bench_opts b;		/* --chimed, --sync, --keep, --out */
	uint64_t	 count;
	int		 max_running;
	int		 use_at;
	int64_t		 lead_us;	/* 0: from the count */
	const char	*op;
	int64_t		 wait_us;
	const char	*perf;
	const char	*claim_ahead;	/* --claim-ahead for chimed, or NULL */
	int		 http;		/* --executor http */
};

struct fire {
	int64_t		 at_us;		/* T */
	char		 spec[64];	/* cron or RFC 3339 text */
	const char	*op;
	int		 use_at;
};

/* One occurrence, as read back from the journal. */
struct occ {
	struct strmap_node	 node;
	char			*run_id;
	int64_t			 created_us;
	int64_t			 first_us;	/* first durable record */
	uint64_t		 first_seq;
	int			 first_pending;	/* it was run.pending */
	int			 first_claimed;	/* it was run.claimed */
	int64_t			 started_us;	/* first run.started */
	uint64_t		 started_seq;
	int64_t			 finished_us;	/* run.finished */
	int			 success;
	int			 other;		/* skipped, missed, ... */
};

/* The occurrences of instant T, filled from the exported records. */
struct occ_arg {
	struct strmap	*m;
	int64_t		 t;
};

/* One group commit, from the daemon's "journal commit" trace line. */
struct commit {
	uint64_t	 last_seq;
	uint64_t	 records;
	int64_t		 us;		/* writer: start to durable */
};

/* A group commit that carried first records of the fire. */
struct fire_commit {
	int64_t		 start;		/* time_us - T */
	int64_t		 us;		/* its duration, -1 if unknown */
	uint64_t	 records;	/* in the commit */
	uint64_t	 firsts;	/* first records of the fire in it */
};
#define MAX_FIRE_COMMITS	64

/* What the journal says about the fire. */
struct summary {
	uint64_t	 occurrences;
	uint64_t	 started_at_once;
	uint64_t	 queued;
	uint64_t	 claimed;	/* first record run.claimed */
	uint64_t	 claimed_before; /* ... durable before the instant */
	int		 first_n;	/* --max-running: the first starts */
	uint64_t	 other;
	uint64_t	 finished;
	uint64_t	 succeeded;
	uint64_t	 commits;	/* group commits of first records */
	int64_t		 fire[3];	/* p50, p99, max (us) */
	int64_t		 durable[3];	/* fire + its commit's duration */
	int		 has_durable;	/* every commit's duration known */
	struct fire_commit fcommits[MAX_FIRE_COMMITS];
	size_t		 nfcommits;
	int64_t		 fire_min;
	int64_t		 dispatch[3];
	int64_t		 start_once[3];	/* started at once */
	int64_t		 start_all[3];	/* every run.started */
	int64_t		 start_first[3]; /* the first first_n of them */
	int64_t		 start_first_durable[3]; /* those, + their commit */
	int64_t		 last_finish;	/* last run.finished - T */
	int64_t		 create_us;
	double		 create_rate;
	int64_t		 margin_us;	/* creation end to T */
	int64_t		 daemon_cpu_us;	/* from T - margin to the end */
	double		 load_before;	/* 1-minute load average */
	double		 load_after;
	double		 runs_per_s;	/* finished / last_finish */
	uint64_t	 spawn_n;	/* raw spawns, each way */
	double		 spawn_seq;	/* raw spawn + wait/s, one at a time */
	double		 spawn_par;	/* ... --max-running in flight */
	double		 spawn_par_before;	/* that, before the daemon */
	double		 spawn_par_after;	/* and after it */
	double		 load_spawn;	/* load average before those */
	uint64_t	 requests;	/* http: requests the router saw */
	int64_t		 req_first[3];	/* the first first_n of them - T */
	int64_t		 req_fixed[3];	/* the first REQ_FIXED - T */
	int64_t		 req_all[3];	/* every one - T */
};

/* The first durable record of an occurrence. */
struct first {
	int64_t		 time_us;
	uint64_t	 seq;
};

/* Vectors filled while walking the occurrences of instant T. */
struct walk {
	int64_t		 t;
	int64_t		*fire;		/* first durable record - T */
	struct first	*firsts;	/* first durable records */
	int64_t		*durable;
	size_t		 ndurable;
	const struct commit *commits;
	size_t		 ncommits;
	int64_t		*dispatch;
	int64_t		*once;
	int64_t		*all;
	int64_t		*all_durable;	/* run.started + its commit */
	size_t		 nall_durable;
	size_t		 nfire;
	size_t		 ndispatch;
	size_t		 nonce;
	size_t		 nall;
	struct summary	*s;
};

static deadfunc void	usage(void);
static int		take_option(void *, int, const char *);
static int		fire_params(uint64_t, char *, size_t, void *);
static int		run_bench(const struct options *, struct summary *,
			    char **);
static int		wait_runs(const char *, int64_t, uint64_t, int64_t,
			    char **);
static pid_t		perf_start(const char *, pid_t);
static void		perf_stop(pid_t);
static int		read_journal(const struct options *, const char *,
			    const char *, int64_t, struct summary *, char **);
static void		occ_record(struct strmap *, json_t *, int64_t);
static int		occ_line(const char *, size_t, void *);
static void		summarize(struct strmap *, int64_t,
			    const struct commit *, size_t, struct summary *);
static struct commit	*read_commits(const char *, size_t *);
static const struct commit *commit_of(const struct commit *, size_t,
			    uint64_t);
static void		fire_commits(struct walk *);
static int		first_cmp(const void *, const void *);
static void		summarize_one(struct strmap_node *, void *);
static void		occ_free(struct strmap_node *, void *);
static void		print_summary(const struct options *,
			    const struct summary *, const struct fire *);
static json_t		*summary_json(const struct options *,
			    const struct summary *);
static void		print_q(const char *, const int64_t *);
static json_t		*q_json(const int64_t *);

static deadfunc void
usage(void)
{
	fprintf(stderr, "usage: firelag-bench [--count K] [--max-running N] "
	    "[--trigger cron|at]\n"
	    "           [--lead SECONDS] [--claim-ahead DUR] "
	    "[--executor exec|http] [--router PATH]\n"
	    "           [--chimed PATH] [--journal PATH] [--catalog FILE]\n"
	    "           [--op ID] [--sync full|batch|none] "
	    "[--log-level LEVEL]\n"
	    "           [--wait SECONDS] [--perf FILE] [--keep] "
	    "[--out FILE]\n");
	exit(2);
}

/* The params of schedule.create number I: all due at the same instant. */
static int
fire_params(uint64_t i, char *buf, size_t len, void *arg)
{
	const struct fire	*f = arg;
	int			 n;

	n = snprintf(buf, len, "{\"name\":\"fire-%07llu\",\"operation\":"
	    "\"%s\",\"%s\":\"%s\"}", (unsigned long long)i, f->op,
	    f->use_at ? "at" : "cron", f->spec);
	return (n < 0 || (size_t)n >= len ? -1 : n);
}

/*
 * Wait until the fire at T is over: T has passed, the daemon has journaled
 * at least 2 records per occurrence since RECORDS0 (a claim and an end),
 * and no run is running or waiting and no record is pending.
 */
static int
wait_runs(const char *sock, int64_t t, uint64_t k, int64_t wait_us,
    char **cause)
{
	json_t	*st;
	int64_t	 deadline = now_us() + wait_us, records0, records;

	if (bench_call(sock, "daemon.status", NULL, 10 * USEC_PER_SEC, &st,
	    cause) == -1)
		return (-1);
	records0 = bench_json_int(st, "journal.records");
	json_decref(st);
	while (now_us() < t + 200 * USEC_PER_MSEC)
		usleep(10000);
	for (;;) {
		if (now_us() > deadline) {
			xasprintf(cause, "the runs did not end within %lld s "
			    "of the fire", (long long)(wait_us /
			    USEC_PER_SEC));
			return (-1);
		}
		if (bench_call(sock, "daemon.status", NULL,
		    30 * USEC_PER_SEC, &st, cause) == -1)
			return (-1);
		records = bench_json_int(st, "journal.records");
		if (records - records0 >= (int64_t)(2 * k) &&
		    bench_json_int(st, "runs.running") == 0 &&
		    bench_json_int(st, "runs.waiting") == 0 &&
		    bench_json_int(st, "journal.pending") == 0) {
			json_decref(st);
			return (0);
		}
		json_decref(st);
		usleep(POLL_US);
	}
}

/* perf record -g on PID into FILE; its pid, or -1. */
static pid_t
perf_start(const char *file, pid_t pid)
{
	char	 p[32];
	pid_t	 child;
	int	 fd;

	snprintf(p, sizeof p, "%ld", (long)pid);
	if ((child = fork()) == -1)
		return (-1);
	if (child == 0) {
		if ((fd = open("/dev/null", O_WRONLY)) != -1) {
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		execlp("perf", "perf", "record", "--call-graph", "dwarf,16384",
		    "-F", "1000", "-q",
		    "-k", "CLOCK_REALTIME", "-o", file, "-p", p, (char *)NULL);
		_exit(127);
	}
	return (child);
}

static void
perf_stop(pid_t child)
{
	if (child <= 0)
		return;
	kill(child, SIGINT);
	waitpid(child, NULL, 0);
}

/* Record J (one exported record) in the occurrences of instant T. */
static void
occ_record(struct strmap *m, json_t *j, int64_t t)
{
	json_t			*body = json_object_get(j, "body");
	const char		*kind, *id, *status;
	struct strmap_node	*n;
	struct occ		*o;
	int64_t			 time_us;

	kind = json_string_value(json_object_get(j, "kind"));
	id = json_string_value(json_object_get(body, "run_id"));
	if (kind == NULL || id == NULL || strncmp(kind, "run.", 4) != 0 ||
	    json_integer_value(json_object_get(body, "scheduled_for_us")) != t)
		return;
	time_us = json_integer_value(json_object_get(j, "time_us"));
	if ((n = strmap_find(m, id)) == NULL) {
		o = xcalloc(1, sizeof *o);
		o->run_id = xstrdup(id);
		o->created_us = json_integer_value(json_object_get(body,
		    "created_us"));
		strmap_insert(m, &o->node, o->run_id);
	} else
		o = (struct occ *)n;
	if (strcmp(kind, "run.started") == 0 ||
	    strcmp(kind, "run.pending") == 0 ||
	    strcmp(kind, "run.claimed") == 0) {
		if (o->first_us == 0) {
			o->first_us = time_us;
			o->first_seq = (uint64_t)json_integer_value(
			    json_object_get(j, "seq"));
			o->first_pending = kind[4] == 'p';
			o->first_claimed = kind[4] == 'c';
		}
		if (kind[4] == 's' && o->started_us == 0) {
			o->started_us = time_us;
			o->started_seq = (uint64_t)json_integer_value(
			    json_object_get(j, "seq"));
		}
	} else if (strcmp(kind, "run.finished") == 0) {
		o->finished_us = time_us;
		status = json_string_value(json_object_get(body, "status"));
		o->success = status != NULL && strcmp(status, "success") == 0;
	} else if (strcmp(kind, "run.skipped") == 0 ||
	    strcmp(kind, "run.missed") == 0) {
		if (o->first_us == 0)
			o->other = 1;
	}
}

static void
summarize_one(struct strmap_node *n, void *arg)
{
	struct walk		*w = arg;
	struct occ		*o = (struct occ *)n;
	struct summary		*s = w->s;
	const struct commit	*c;

	s->occurrences++;
	if (o->other && o->first_us == 0) {
		s->other++;
		return;
	}
	if (o->first_us != 0) {
		c = commit_of(w->commits, w->ncommits, o->first_seq);
		/* durable: its commit began at first_us and took c->us */
		if (o->first_claimed) {
			s->claimed++;
			s->claimed_before += o->first_us + (c != NULL ?
			    c->us : 0) < w->t;
		}
		if (c != NULL)
			w->durable[w->ndurable++] = o->first_us + c->us - w->t;
		w->firsts[w->nfire].time_us = o->first_us;
		w->firsts[w->nfire].seq = o->first_seq;
		w->fire[w->nfire++] = o->first_us - w->t;
		if (o->first_pending)
			s->queued++;
		else if (!o->first_claimed) {
			s->started_at_once++;
			w->once[w->nonce++] = o->started_us - w->t;
		}
	}
	if (o->created_us > 0)
		w->dispatch[w->ndispatch++] = o->created_us - w->t;
	if (o->started_us != 0) {
		w->all[w->nall++] = o->started_us - w->t;
		c = commit_of(w->commits, w->ncommits, o->started_seq);
		if (c != NULL)
			w->all_durable[w->nall_durable++] = o->started_us +
			    c->us - w->t;
	}
	if (o->finished_us != 0) {
		s->finished++;
		s->succeeded += o->success;
		if (o->finished_us - w->t > s->last_finish)
			s->last_finish = o->finished_us - w->t;
	}
}

static void
occ_free(struct strmap_node *n, void *arg)
{
	struct occ	*o = (struct occ *)n;

	free(o->run_id);
	free(o);
}

/* The commit that wrote record SEQ, or NULL (C sorted by last_seq). */
static const struct commit *
commit_of(const struct commit *c, size_t n, uint64_t seq)
{
	size_t	lo = 0, hi = n, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (c[mid].last_seq < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo < n ? &c[lo] : NULL);
}

/*
 * The daemon's group commits from its "journal commit" trace lines
 * (--trace journal) in LOG: last seq, records and duration of each.
 * Returns allocated (caller frees), NULL if there is none.
 */
static struct commit *
read_commits(const char *log, size_t *n)
{
	struct commit		*v = NULL, c;
	FILE			*f;
	char			*line = NULL, *p, *q;
	size_t			 cap = 0, vcap = 0;
	unsigned long long	 records, seq, us;

	*n = 0;
	if ((f = fopen(log, "r")) == NULL)
		return (NULL);
	while (getline(&line, &cap, f) > 0) {
		/* (fields looked up by name: builds differ in the others) */
		if (strstr(line, "msg=\"journal commit\"") == NULL ||
		    (p = strstr(line, " records=")) == NULL ||
		    sscanf(p, " records=%llu", &records) != 1 ||
		    (q = strstr(p, " seq=")) == NULL ||
		    sscanf(q, " seq=%llu", &seq) != 1 ||
		    (q = strstr(p, " us=")) == NULL ||
		    sscanf(q, " us=%llu", &us) != 1)
			continue;
		c.last_seq = seq;
		c.records = records;
		c.us = (int64_t)us;
		if (*n == vcap) {
			vcap = vcap == 0 ? 1024 : vcap * 2;
			v = xreallocarray(v, vcap, sizeof *v);
		}
		v[(*n)++] = c;
	}
	free(line);
	fclose(f);
	return (v);
}

static int
first_cmp(const void *a, const void *b)
{
	const struct first	*x = a, *y = b;

	return ((x->seq > y->seq) - (x->seq < y->seq));
}

/* The group commits that carried first records (W's firsts, by seq). */
static void
fire_commits(struct walk *w)
{
	struct summary		*s = w->s;
	struct fire_commit	*fc = NULL;
	const struct commit	*c;
	size_t			 i;

	for (i = 0; i < w->nfire; i++) {
		if (i == 0 || w->firsts[i].time_us !=
		    w->firsts[i - 1].time_us) {
			s->commits++;
			if (s->nfcommits == MAX_FIRE_COMMITS) {
				fc = NULL;
				continue;
			}
			fc = &s->fcommits[s->nfcommits++];
			fc->start = w->firsts[i].time_us - w->t;
			fc->us = -1;
			c = commit_of(w->commits, w->ncommits,
			    w->firsts[i].seq);
			if (c != NULL) {
				fc->us = c->us;
				fc->records = c->records;
			}
		}
		if (fc != NULL)
			fc->firsts++;
	}
}

/* Percentiles of every occurrence of instant T in M into S; COMMITS (N
 * of them, may be none) give each commit's duration. */
static void
summarize(struct strmap *m, int64_t t, const struct commit *commits,
    size_t ncommits, struct summary *s)
{
	struct walk	w;
	size_t		cap = m->count + 1;

	memset(&w, 0, sizeof w);
	w.t = t;
	w.s = s;
	w.commits = commits;
	w.ncommits = ncommits;
	w.durable = xcalloc(cap, sizeof *w.durable);
	w.fire = xcalloc(cap, sizeof *w.fire);
	w.firsts = xcalloc(cap, sizeof *w.firsts);
	w.dispatch = xcalloc(cap, sizeof *w.dispatch);
	w.once = xcalloc(cap, sizeof *w.once);
	w.all = xcalloc(cap, sizeof *w.all);
	w.all_durable = xcalloc(cap, sizeof *w.all_durable);
	strmap_foreach(m, summarize_one, &w);
	bench_quantiles(w.fire, w.nfire, s->fire);
	s->fire_min = w.nfire > 0 ? w.fire[0] : 0;
	bench_quantiles(w.dispatch, w.ndispatch, s->dispatch);
	bench_quantiles(w.once, w.nonce, s->start_once);
	bench_quantiles(w.all, w.nall, s->start_all);
	/* sorted now: the first first_n starts */
	bench_quantiles(w.all, w.nall < (size_t)s->first_n ? w.nall :
	    (size_t)s->first_n, s->start_first);
	bench_sort(w.all_durable, w.nall_durable);
	bench_quantiles(w.all_durable, w.nall_durable < (size_t)s->first_n ?
	    w.nall_durable : (size_t)s->first_n, s->start_first_durable);
	s->has_durable = w.ndurable == w.nfire;
	if (s->has_durable)
		bench_quantiles(w.durable, w.ndurable, s->durable);
	qsort(w.firsts, w.nfire, sizeof *w.firsts, first_cmp);
	fire_commits(&w);
	free(w.durable);
	free(w.fire);
	free(w.firsts);
	free(w.dispatch);
	free(w.once);
	free(w.all);
	free(w.all_durable);
}

/* Record the exported record LINE in the occurrences of ARG. */
static int
occ_line(const char *line, size_t len, void *arg)
{
	struct occ_arg	*a = arg;
	json_t		*j;

	if ((j = json_loadb(line, len, 0, NULL)) == NULL)
		return (0);
	occ_record(a->m, j, a->t);
	json_decref(j);
	return (0);
}

/* Export DATA's journal and summarize the occurrences of instant T, with
 * the commit durations from the daemon's LOG. */
static int
read_journal(const struct options *o, const char *data, const char *log,
    int64_t t, struct summary *s, char **cause)
{
	struct strmap	 m;
	struct occ_arg	 a;
	struct commit	*commits;
	size_t		 ncommits;
	int		 rc = -1;

	strmap_init(&m);
	a.m = &m;
	a.t = t;
	if (bench_journal_export(o->b.journal, data, occ_line, &a,
	    cause) == 0) {
		commits = read_commits(log, &ncommits);
		summarize(&m, t, commits, ncommits, s);
		free(commits);
		rc = 0;
	}
	strmap_foreach(&m, occ_free, NULL);
	strmap_clear(&m);
	return (rc);
}

extern char **environ;

/*
 * The argv of operation OP in CATALOG (allocated, NULL-ended), or NULL with
 * *cause set.
 */
static char **
op_argv(const char *catalog, const char *op, char **cause)
{
	json_t		*doc, *ops, *o, *argv;
	json_error_t	 err;
	char		**v = NULL;
	size_t		 i, j;

	if ((doc = json_load_file(catalog, 0, &err)) == NULL) {
		xasprintf(cause, "%s: %s", catalog, err.text);
		return (NULL);
	}
	ops = json_object_get(doc, "operations");
	json_array_foreach(ops, i, o) {
		if (!json_is_string(json_object_get(o, "id")) ||
		    strcmp(json_string_value(json_object_get(o, "id")),
		    op) != 0)
			continue;
		argv = json_object_get(o, "argv");
		if (!json_is_array(argv) || json_array_size(argv) == 0)
			break;
		v = xcalloc(json_array_size(argv) + 1, sizeof *v);
		for (j = 0; j < json_array_size(argv); j++)
			v[j] = xstrdup(json_string_value(
			    json_array_get(argv, j)) ?: "");
		break;
	}
	json_decref(doc);
	if (v == NULL)
		xasprintf(cause, "%s: no exec operation %s", catalog, op);
	return (v);
}

/*
 * The machine's own rate for ARGV: N times posix_spawnp + waitpid, with
 * at most K in flight, output to /dev/null, no daemon.  Spawns per second,
 * or -1 with *cause set.
 */
static double
spawn_rate(char **argv, uint64_t n, int k, char **cause)
{
	posix_spawn_file_actions_t	 fa;
	uint64_t			 started = 0, ended = 0;
	int64_t				 t0;
	pid_t				 pid;
	int				 inflight = 0, status, e;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	t0 = now_us();
	while (ended < n) {
		while (started < n && inflight < k) {
			e = posix_spawnp(&pid, argv[0], &fa, NULL, argv,
			    environ);
			if (e != 0) {
				xasprintf(cause, "posix_spawnp %s: %s",
				    argv[0], strerror(e));
				goto fail;
			}
			started++;
			inflight++;
		}
		if ((pid = waitpid(-1, &status, 0)) == -1) {
			if (errno == EINTR)
				continue;
			xasprintf(cause, "waitpid: %s", strerror(errno));
			goto fail;
		}
		inflight--;
		ended++;
	}
	posix_spawn_file_actions_destroy(&fa);
	return ((double)n * USEC_PER_SEC / (double)(now_us() - t0));
fail:
	while (inflight-- > 0)
		(void)waitpid(-1, &status, 0);
	posix_spawn_file_actions_destroy(&fa);
	return (-1);
}

/*
 * The raw spawn rate of the bench's operation with --max-running in
 * flight, before the daemon starts (AFTER 0) or once it has stopped (then
 * also one at a time), into S.  The machine is shared: the reference is the
 * mean of the two in-flight rates around the fire.
 */
static int
measure_spawn(const struct options *o, struct summary *s, int after,
    char **cause)
{
	char	**argv, **a;
	double	  r;
	int	  rc = -1;

	if ((argv = op_argv(o->b.catalog, o->op, cause)) == NULL)
		return (-1);
	s->spawn_n = o->count < SPAWN_MAX ? o->count : SPAWN_MAX;
	if (after)
		s->load_spawn = bench_loadavg();
	fprintf(stderr, "firelag-bench: raw spawn rate of %s, %llu times, "
	    "%s the fire\n", argv[0], (unsigned long long)s->spawn_n,
	    after ? "after" : "before");
	if ((r = spawn_rate(argv, s->spawn_n, o->max_running, cause)) < 0)
		goto out;
	if (!after) {
		s->spawn_par_before = r;
		rc = 0;
		goto out;
	}
	s->spawn_par_after = r;
	s->spawn_par = (s->spawn_par_before + r) / 2;
	if ((s->spawn_seq = spawn_rate(argv, s->spawn_n, 1, cause)) >= 0)
		rc = 0;
out:
	for (a = argv; *a != NULL; a++)
		free(*a);
	free(argv);
	return (rc);
}

/* When each request reached router R (its /requests), less T, into S. */
static int
read_requests(const struct bench_router *r, int64_t t, struct summary *s,
    char **cause)
{
	json_t		*a, *o;
	int64_t		*v;
	size_t		 i, n = 0, first;

	if ((a = bench_router_get(r, "/requests", cause)) == NULL)
		return (-1);
	v = xcalloc(json_array_size(a) + 1, sizeof *v);
	json_array_foreach(a, i, o)
		v[n++] = json_integer_value(json_object_get(o,
		    "received_us")) - t;
	json_decref(a);
	s->requests = n;
	bench_quantiles(v, n, s->req_all);
	first = n < (size_t)s->first_n ? n : (size_t)s->first_n;
	bench_quantiles(v, first, s->req_first);
	first = n < REQ_FIXED ? n : REQ_FIXED;
	bench_quantiles(v, first, s->req_fixed);
	free(v);
	return (0);
}

/* Start, create, fire, wait, stop, read back. */
static int
run_bench(const struct options *o, struct summary *s, char **cause)
{
	struct bench_daemon	 d;
	struct bench_pipeline	 p;
	struct fire		 f;
	struct bench_router	 rt;
	struct tm		 tm;
	time_t			 sec;
	int64_t			 ready, lead, cpu0, now;
	pid_t			 perf = -1;
	char			*catalog = NULL;
	int			 rc = -1;

	memset(s, 0, sizeof *s);
	memset(&p, 0, sizeof p);
	memset(&f, 0, sizeof f);
	memset(&rt, 0, sizeof rt);
	s->first_n = o->max_running;
	f.op = o->op;
	if (!o->http && measure_spawn(o, s, 0, cause) == -1)
		return (-1);
	s->load_before = bench_loadavg();
	bench_daemon_init(&d, o->b.chimed, o->b.catalog);
	if (o->http) {
		if (bench_router_start(o->b.router, d.dir, NULL, &rt,
		    cause) == -1 || (catalog = bench_router_catalog(d.dir,
		    rt.port, NULL, cause)) == NULL)
			goto out;
		d.catalog = catalog;
		d.http_allow = "127.0.0.1/32";
		f.op = "gw";
	}
	d.sync = o->b.sync;
	d.log_level = o->b.log_level;
	d.keep = o->b.keep;
	d.max_running = o->max_running;
	d.trace = "journal";	/* one line per group commit */
	d.claim_ahead = o->claim_ahead;
	if (bench_daemon_start(&d, 0, START_TIMEOUT, &ready, NULL,
	    cause) == -1)
		goto out;

	/* T: a whole second, far enough ahead for the creation to end. */
	lead = o->lead_us > 0 ? o->lead_us : 2 * USEC_PER_SEC +
	    (int64_t)o->count * USEC_PER_SEC / 4000;
	sec = (time_t)((now_us() + lead) / USEC_PER_SEC + 1);
	f.at_us = (int64_t)sec * USEC_PER_SEC;
	f.use_at = o->use_at;
	gmtime_r(&sec, &tm);
	if (o->use_at)
		fmt_rfc3339(f.at_us, f.spec, sizeof f.spec);
	else
		snprintf(f.spec, sizeof f.spec, "%d %d %d * * *", tm.tm_sec,
		    tm.tm_min, tm.tm_hour);
	fprintf(stderr, "firelag-bench: creating %llu schedules due at "
	    "%s (\"%s\")\n", (unsigned long long)o->count,
	    fmt_rfc3339(f.at_us, (char[40]){ 0 }, 40), f.spec);

	bench_pipeline_init(&p, &o->b, d.sock, "schedule.create");
	p.total = o->count;
	p.params = fire_params;
	p.arg = &f;
	if (bench_pipeline_run(&p, cause) == -1)
		goto out;
	if (p.errors > 0) {
		xasprintf(cause, "%llu schedule.create failed; first: %s",
		    (unsigned long long)p.errors, p.first_error);
		goto out;
	}
	now = now_us();
	s->create_us = p.elapsed_us;
	s->create_rate = (double)o->count * USEC_PER_SEC /
	    (double)p.elapsed_us;
	s->margin_us = f.at_us - now;
	if (s->margin_us < 500 * USEC_PER_MSEC) {
		xasprintf(cause, "creation ended %.2f s before the fire "
		    "instant (less than 0.5 s): give a longer --lead",
		    s->margin_us / 1e6);
		goto out;
	}
	cpu0 = bench_cpu_us(d.pid);
	if (o->perf != NULL) {
		while (now_us() < f.at_us - 500 * USEC_PER_MSEC)
			usleep(10000);
		perf = perf_start(o->perf, d.pid);
		fprintf(stderr, "firelag-bench: perf record on chimed into "
		    "%s; the fire window: perf report -i %s --time %lld,%lld\n",
		    o->perf, o->perf, (long long)(f.at_us / USEC_PER_SEC),
		    (long long)(f.at_us / USEC_PER_SEC + 1));
	}
	if (wait_runs(d.sock, f.at_us, o->count, o->wait_us, cause) == -1)
		goto out;
	s->daemon_cpu_us = bench_cpu_us(d.pid) - cpu0;
	s->load_after = bench_loadavg();
	if (o->http && read_requests(&rt, f.at_us, s, cause) == -1)
		goto out;
	perf_stop(perf);
	perf = -1;
	if (bench_daemon_stop(&d, SIGTERM, STOP_TIMEOUT, &ready, cause) == -1)
		goto out;
	if (read_journal(o, d.data, d.log, f.at_us, s, cause) == -1)
		goto out;
	if (s->last_finish > 0)
		s->runs_per_s = (double)s->finished * USEC_PER_SEC /
		    (double)s->last_finish;
	if (!o->http && measure_spawn(o, s, 1, cause) == -1)
		goto out;
	print_summary(o, s, &f);
	rc = 0;
out:
	perf_stop(perf);
	if (rc == -1)
		bench_daemon_log_tail(&d, 20);
	bench_pipeline_free(&p);
	bench_router_stop(&rt);
	bench_daemon_free(&d, o->b.keep);
	free(catalog);
	return (rc);
}

static void
print_q(const char *what, const int64_t *q)
{
	printf("  %-44s %9.2f %9.2f %9.2f\n", what, q[0] / 1e3, q[1] / 1e3,
	    q[2] / 1e3);
}

static void
print_summary(const struct options *o, const struct summary *s,
    const struct fire *f)
{
	const struct fire_commit	*fc;
	size_t				 i;

	printf("\nfirelag-bench: %llu schedules due at the same second "
	    "(%s \"%s\"), operation %s,\n  --max-running %d, journal-sync "
	    "%s, %ld cores\n", (unsigned long long)o->count, f->use_at ? "at" :
	    "cron", f->spec, o->op, o->max_running, o->b.sync,
	    sysconf(_SC_NPROCESSORS_ONLN));
	printf("  created in %.2f s (%.0f/s); fire instant %.2f s after "
	    "creation ended\n", s->create_us / 1e6, s->create_rate,
	    s->margin_us / 1e6);
	printf("  occurrences %llu: claimed ahead %llu, started at once %llu, "
	    "queued for a slot %llu, other %llu;\n  finished %llu (success "
	    "%llu); first records in %llu group commits\n",
	    (unsigned long long)s->occurrences,
	    (unsigned long long)s->claimed,
	    (unsigned long long)s->started_at_once,
	    (unsigned long long)s->queued, (unsigned long long)s->other,
	    (unsigned long long)s->finished,
	    (unsigned long long)s->succeeded,
	    (unsigned long long)s->commits);
	printf("\n  %-44s %9s %9s %9s\n", "lag after the instant (ms)", "p50",
	    "p99", "max");
	print_q("dispatch (run created by its actor)", s->dispatch);
	print_q("fire: first record's commit (time_us)", s->fire);
	if (s->has_durable)
		print_q("fire: that commit durable (+ its duration)",
		    s->durable);
	print_q("executor start, runs started at once", s->start_once);
	print_q("executor start, every run", s->start_all);
	printf("  executor start, the first %-17d %9.2f %9.2f %9.2f\n",
	    s->first_n, s->start_first[0] / 1e3, s->start_first[1] / 1e3,
	    s->start_first[2] / 1e3);
	printf("  %-44s %9.2f %9.2f %9.2f\n", "  their run.started durable",
	    s->start_first_durable[0] / 1e3, s->start_first_durable[1] / 1e3,
	    s->start_first_durable[2] / 1e3);
	printf("  last run finished %.2f s after the instant; daemon CPU "
	    "%.2f s; load average %.1f, then %.1f\n", s->last_finish / 1e6,
	    s->daemon_cpu_us / 1e6, s->load_before, s->load_after);
	if (o->http) {
		printf("  %-44s %9.2f %9.2f %9.2f\n", "http: the first requests "
		    "at the router", s->req_first[0] / 1e3, s->req_first[1] /
		    1e3, s->req_first[2] / 1e3);
		printf("  %-44s %9.2f %9.2f %9.2f\n", "http: the first "
		    REQ_FIXED_S " (any --max-running)", s->req_fixed[0] / 1e3,
		    s->req_fixed[1] / 1e3, s->req_fixed[2] / 1e3);
		printf("  %-44s %9.2f %9.2f %9.2f\n", "http: every request at "
		    "the router", s->req_all[0] / 1e3, s->req_all[1] / 1e3,
		    s->req_all[2] / 1e3);
		printf("\n  http runs/s (finished / last finish after the "
		    "instant) %.0f; %llu requests reached the router\n",
		    s->runs_per_s, (unsigned long long)s->requests);
	} else
	printf("\n  exec runs/s (finished / last finish after the instant) "
	    "%.0f\n  raw spawn rate of the command, no daemon (posix_spawnp "
	    "+ waitpid, %llu times; load average %.1f):\n    one at a time "
	    "%.0f/s, %d in flight %.0f/s (before the fire %.0f/s, after "
	    "%.0f/s)\n  target: runs/s >= 80 %% of the raw rate in flight "
	    "(%.0f): %.0f %%, %s\n", s->runs_per_s,
	    (unsigned long long)s->spawn_n, s->load_spawn, s->spawn_seq,
	    o->max_running, s->spawn_par, s->spawn_par_before,
	    s->spawn_par_after, 0.8 * s->spawn_par,
	    s->spawn_par > 0 ? 100 * s->runs_per_s / s->spawn_par : 0,
	    s->runs_per_s >= 0.8 * s->spawn_par ? "met" : "NOT met");
	printf("\n  group commits that carried first records:\n"
	    "  %10s %12s %10s %14s\n", "start ms", "duration ms", "records",
	    "first records");
	for (i = 0; i < s->nfcommits; i++) {
		fc = &s->fcommits[i];
		printf("  %10.2f %12.2f %10llu %14llu\n", fc->start / 1e3,
		    fc->us / 1e3, (unsigned long long)fc->records,
		    (unsigned long long)fc->firsts);
	}
	if (s->commits > s->nfcommits)
		printf("  ... and %llu more\n", (unsigned long long)
		    (s->commits - s->nfcommits));
	printf("\n  target: every claim durable before the instant: %llu of "
	    "%llu (the latest durable at %.2f ms), %s\n", (unsigned long long)
	    s->claimed_before, (unsigned long long)s->occurrences,
	    (s->has_durable ? s->durable[2] : s->fire[2]) / 1e3,
	    s->claimed_before == s->occurrences &&
	    s->occurrences > 0 ? "met" : "NOT met");
	printf("  target: the first %d runs started within 5 ms of the "
	    "instant (p99 of their run.started commits): %.2f ms, %s%s\n"
	    "    (durable, the executor's start: %.2f ms)\n",
	    s->first_n, s->start_first[1] / 1e3,
	    s->start_first[1] < 5 * USEC_PER_MSEC ? "met" : "NOT met",
	    o->count < 10000 ? " (fewer due than the target's 10,000)" : "",
	    s->start_first_durable[1] / 1e3);
}

static json_t *
q_json(const int64_t *q)
{
	return (json_pack("{s:f,s:f,s:f}", "p50", q[0] / 1e3, "p99",
	    q[1] / 1e3, "max", q[2] / 1e3));
}

static json_t *
summary_json(const struct options *o, const struct summary *s)
{
	json_t	*j, *a;
	size_t	 i;

	a = json_array();
	for (i = 0; i < s->nfcommits; i++) {
		json_array_append_new(a, json_pack("{s:f,s:f,s:I,s:I}",
		    "start_ms", s->fcommits[i].start / 1e3, "duration_ms",
		    s->fcommits[i].us / 1e3, "records",
		    (json_int_t)s->fcommits[i].records, "first_records",
		    (json_int_t)s->fcommits[i].firsts));
	}
	j = (json_pack("{s:s,s:s,s:s,s:I,s:i,s:s,s:s,s:i,s:f,s:f,s:I,s:I,"
	    "s:I,s:I,s:I,s:I,s:I,s:o,s:o,s:o,s:o,s:f,s:f,s:f}",
	    "program", "firelag-bench", "chimed", o->b.chimed,
	    "journal_sync", o->b.sync, "schedules", (json_int_t)o->count,
	    "max_running", o->max_running, "trigger", o->use_at ? "at" :
	    "cron", "operation", o->op,
	    "cores", (int)sysconf(_SC_NPROCESSORS_ONLN),
	    "create_per_s", s->create_rate,
	    "margin_s", s->margin_us / 1e6,
	    "occurrences", (json_int_t)s->occurrences,
	    "started_at_once", (json_int_t)s->started_at_once,
	    "queued", (json_int_t)s->queued,
	    "other", (json_int_t)s->other,
	    "finished", (json_int_t)s->finished,
	    "succeeded", (json_int_t)s->succeeded,
	    "first_record_commits", (json_int_t)s->commits,
	    "dispatch_lag_ms", q_json(s->dispatch),
	    "fire_lag_ms", q_json(s->fire),
	    "start_lag_at_once_ms", q_json(s->start_once),
	    "start_lag_all_ms", q_json(s->start_all),
	    "fire_lag_min_ms", s->fire_min / 1e3,
	    "last_finish_s", s->last_finish / 1e6,
	    "daemon_cpu_s", s->daemon_cpu_us / 1e6));
	json_object_set_new(j, "claim_ahead", o->claim_ahead != NULL ?
	    json_string(o->claim_ahead) : json_null());
	json_object_set_new(j, "claimed_ahead",
	    json_integer((json_int_t)s->claimed));
	json_object_set_new(j, "claimed_before_instant",
	    json_integer((json_int_t)s->claimed_before));
	json_object_set_new(j, "start_lag_first_ms", q_json(s->start_first));
	json_object_set_new(j, "start_durable_first_ms",
	    q_json(s->start_first_durable));
	json_object_set_new(j, "executor", json_string(o->http ? "http" :
	    "exec"));
	if (o->http) {
		json_object_set_new(j, "requests",
		    json_integer((json_int_t)s->requests));
		json_object_set_new(j, "request_first_ms",
		    q_json(s->req_first));
		json_object_set_new(j, "request_first_256_ms",
		    q_json(s->req_fixed));
		json_object_set_new(j, "request_all_ms", q_json(s->req_all));
	}
	json_object_set_new(j, "fire_durable_lag_ms", s->has_durable ?
	    q_json(s->durable) : json_null());
	json_object_set_new(j, "first_record_commit_list", a);
	json_object_set_new(j, "loadavg_before", json_real(s->load_before));
	json_object_set_new(j, "loadavg_after", json_real(s->load_after));
	json_object_set_new(j, "runs_per_s", json_real(s->runs_per_s));
	json_object_set_new(j, "spawn_n", json_integer((json_int_t)s->spawn_n));
	json_object_set_new(j, "spawn_seq_per_s", json_real(s->spawn_seq));
	json_object_set_new(j, "spawn_par_per_s", json_real(s->spawn_par));
	json_object_set_new(j, "spawn_par_before_per_s",
	    json_real(s->spawn_par_before));
	json_object_set_new(j, "spawn_par_after_per_s",
	    json_real(s->spawn_par_after));
	json_object_set_new(j, "loadavg_spawn", json_real(s->load_spawn));
	return (j);
}

/* --trigger cron|at (bench_opts_parse); -1: neither. */
static int
take_option(void *arg, int ch, const char *val)
{
	struct options	*o = arg;

	if (ch == 'x') {
		if (strcmp(val, "exec") != 0 && strcmp(val, "http") != 0)
			usage();
		o->http = strcmp(val, "http") == 0;
		return (0);
	}
	if (ch != 't')
		return (-1);
	if (strcmp(val, "cron") != 0 && strcmp(val, "at") != 0)
		usage();
	o->use_at = strcmp(val, "at") == 0;
	return (0);
}

int
main(int argc, char **argv)
{
	struct options		 o;
	const struct bench_own	 own[] = {
		{ "count", BENCH_OWN_U64, &o.count, 1, 10000000, 0 },
		{ "max-running", BENCH_OWN_INT, &o.max_running, 1, 100000, 0 },
		{ "trigger", BENCH_OWN_TAKE, NULL, 0, 0, 't' },
		{ "lead", BENCH_OWN_USEC, &o.lead_us, 1, 3600, 0 },
		{ "op", BENCH_OWN_STRING, &o.op, 0, 0, 0 },
		{ "wait", BENCH_OWN_USEC, &o.wait_us, 1, 86400, 0 },
		{ "perf", BENCH_OWN_STRING, &o.perf, 0, 0, 0 },
		{ "claim-ahead", BENCH_OWN_STRING, &o.claim_ahead, 0, 0, 0 },
		{ "executor", BENCH_OWN_TAKE, NULL, 0, 0, 'x' },
		{ "help", BENCH_OWN_HELP, NULL, 0, 0, 0 },
		{ NULL }
	};
	struct summary		 s;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	bench_opts_init(&o.b, "firelag-bench");
	o.count = 10000;
	o.max_running = 32;
	o.op = "noop";
	o.wait_us = 600 * USEC_PER_SEC;
	if (bench_opts_parse(&o.b, argc, argv, own,
	    BENCH_TAKE_DAEMON | BENCH_TAKE_JOURNAL | BENCH_TAKE_CATALOG |
	    BENCH_TAKE_LOG_LEVEL | BENCH_TAKE_ROUTER, take_option, &o) == -1)
		usage();
	bench_opts_check(&o.b, BENCH_NEED_JOURNAL);
	if (run_bench(&o, &s, &cause) == -1) {
		fprintf(stderr, "firelag-bench: %s\n", cause);
		exit(1);
	}
	bench_opts_output(&o.b, summary_json(&o, &s));
	bench_opts_free(&o.b);
	return (0);
}
