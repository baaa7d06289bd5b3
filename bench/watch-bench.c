/*
 * bench/watch-bench.c: events.watch under load: events per second
 * delivered to W watchers while records are written, and what the
 * watchers cost the writer.
 *
 * Start a real chimed (durable journal by default).  For each count of
 * watchers W (--watchers, default 0,1,100): connect W clients, each
 * sending events.watch from the head + 1, then write N records
 * (account.create, pipelined on --connections with --window unanswered on
 * each), while a reader thread reads every watcher's stream (counting
 * lines; a client that parses nothing, so the figures are the daemon's).
 * It waits until every watcher has every record, then:
 *
 *	writer rec/s	N over the time from the first request to the last
 *			answer (durable): the writer's throughput with W
 *			watchers beside it
 *	events/s	W x N over the time from the first request to the
 *			last event received by the last watcher
 *	lag		from the writer's last answer to the last event
 *	cpu		the daemon's CPU time over the phase
 *
 *	watch-bench [--records N] [--watchers 0,1,100] [--connections N]
 *	    [--window N] [--chimed PATH] [--sync full|batch|none] [--keep]
 *	    [--out FILE]
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "engine.h"
#include "bench.h"

#define START_TIMEOUT	(60 * USEC_PER_SEC)
#define STOP_TIMEOUT	(120 * USEC_PER_SEC)
#define CALL_TIMEOUT	(60 * USEC_PER_SEC)
#define DRAIN_TIMEOUT	(600 * USEC_PER_SEC)
#define MAX_PHASES	8
#define MAX_WATCHERS	120	/* within chimed's default --watch-max */

struct options {
	struct bench_opts b;
	uint64_t	 records;
	const char	*watchers_list;
	uint64_t	 watchers[MAX_PHASES];
	size_t		 nphases;
};

/* The watchers of one phase, read by one thread. */
struct watchers {
	int		*fd;
	uint64_t	*lines;		/* lines read, the answer included */
	size_t		 n;
	uint64_t	 want;		/* lines each must read */
	int64_t		 last_us;	/* mono: the last line of the last one */
	volatile int	 stop;
	int		 failed;
};

struct phase {
	uint64_t	 watchers;
	uint64_t	 records;
	double		 writer_rate;
	double		 events_rate;
	int64_t		 write_us;
	int64_t		 deliver_us;
	int64_t		 lag_us;
	int64_t		 cpu_us;
	uint64_t	 events;
};

static int	 phase_run(const struct options *, struct bench_daemon *,
		     uint64_t, size_t, struct phase *, char **);
static int	 watchers_open(struct watchers *, const char *, uint64_t,
		     char **);
static void	*watchers_read(void *);
static void	 watchers_close(struct watchers *);
static int	 record_params(uint64_t, char *, size_t, void *);
static uint64_t	 head_seq(const char *, char **);
static json_t	*result_json(const struct options *, const struct phase *,
		     size_t);
static int	 parse_watchers(const char *, uint64_t *, size_t *);
static deadfunc void usage(void);

static deadfunc void
usage(void)
{
	fprintf(stderr, "usage: watch-bench [--records N] [--watchers "
	    "0,1,100] [--connections N] [--window N] [--chimed PATH] "
	    "[--sync full|batch|none] [--keep] [--out FILE]\n");
	exit(2);
}

/* "0,1,100": counts of watchers (0 allowed), at most MAX_PHASES. */
static int
parse_watchers(const char *s, uint64_t *out, size_t *n)
{
	unsigned long long	 v;
	char			*end;

	*n = 0;
	while (*s != '\0') {
		errno = 0;
		v = strtoull(s, &end, 10);
		if (errno != 0 || end == s || *n == MAX_PHASES ||
		    (*end != ',' && *end != '\0'))
			return (-1);
		out[(*n)++] = v;
		s = *end == ',' ? end + 1 : end;
	}
	return (*n > 0 ? 0 : -1);
}

/* The journal's durable head, from daemon.status; 0 and *CAUSE if not. */
static uint64_t
head_seq(const char *sock, char **cause)
{
	json_t	*st = NULL;
	int64_t	 seq;

	if (bench_call(sock, "daemon.status", "{}", CALL_TIMEOUT, &st,
	    cause) == -1)
		return (0);
	seq = bench_json_int(st, "journal.seq");
	json_decref(st);
	if (seq <= 0)
		xasprintf(cause, "daemon.status has no journal.seq");
	return (seq > 0 ? (uint64_t)seq : 0);
}

/* account.create for a new name: one record each. */
static int
record_params(uint64_t i, char *buf, size_t len, void *arg)
{
	int	n;

	n = snprintf(buf, len, "{\"name\":\"w%zu-%llu\"}", *(size_t *)arg,
	    (unsigned long long)i);
	return (n < 0 || (size_t)n >= len ? -1 : n);
}

/* Connect N watchers, each from seq FROM: 0, or -1 and *CAUSE. */
static int
watchers_open(struct watchers *w, const char *sock, uint64_t from,
    char **cause)
{
	struct sockaddr_un	 sun;
	char			 req[160];
	size_t			 i;
	int			 len;

	memset(&sun, 0, sizeof sun);
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof sun.sun_path, "%s", sock);
	len = snprintf(req, sizeof req, "{\"jsonrpc\":\"2.0\",\"id\":1,"
	    "\"method\":\"events.watch\",\"params\":{\"from_seq\":%llu}}\n",
	    (unsigned long long)from);
	for (i = 0; i < w->n; i++) {
		w->fd[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (w->fd[i] == -1 || connect(w->fd[i],
		    (struct sockaddr *)&sun, sizeof sun) == -1 ||
		    write(w->fd[i], req, len) != len) {
			xasprintf(cause, "watcher %zu: %s", i, strerror(errno));
			return (-1);
		}
	}
	return (0);
}

/* The reader thread: every watcher's lines counted until each has WANT
 * (set by the main thread once the writer is done) or STOP. */
static void *
watchers_read(void *arg)
{
	struct watchers	*w = arg;
	struct pollfd	*pfd;
	char		 buf[65536];
	ssize_t		 n, j;
	size_t		 i, done;

	pfd = xcalloc(w->n, sizeof *pfd);
	for (i = 0; i < w->n; i++) {
		pfd[i].fd = w->fd[i];
		pfd[i].events = POLLIN;
	}
	while (!w->stop) {
		if (poll(pfd, w->n, 100) <= 0)
			goto check;
		for (i = 0; i < w->n; i++) {
			if ((pfd[i].revents & (POLLIN | POLLHUP)) == 0)
				continue;
			if ((n = read(w->fd[i], buf, sizeof buf)) <= 0) {
				if (n == 0 || errno != EINTR) {
					w->failed = 1;
					pfd[i].fd = -1;
				}
				continue;
			}
			for (j = 0; j < n; j++)
				w->lines[i] += buf[j] == '\n';
			w->last_us = mono_us();
		}
check:
		if (w->want == 0)
			continue;
		for (done = 0, i = 0; i < w->n; i++)
			done += w->lines[i] >= w->want;
		if (done == w->n)
			break;
	}
	free(pfd);
	return (NULL);
}

static void
watchers_close(struct watchers *w)
{
	size_t	i;

	for (i = 0; i < w->n; i++) {
		if (w->fd[i] != -1)
			close(w->fd[i]);
	}
	free(w->fd);
	free(w->lines);
}

/* One phase: NW watchers, the records written, the events read. */
static int
phase_run(const struct options *o, struct bench_daemon *d, uint64_t nw,
    size_t index, struct phase *ph, char **cause)
{
	struct bench_pipeline	 p;
	struct watchers		 w;
	pthread_t		 th;
	uint64_t		 head0, head1;
	int64_t			 t0, cpu0, deadline;
	size_t			 i;
	int			 rc = -1, started = 0;

	memset(ph, 0, sizeof *ph);
	memset(&w, 0, sizeof w);
	ph->watchers = nw;
	w.n = nw;
	w.fd = xcalloc(nw + 1, sizeof *w.fd);
	w.lines = xcalloc(nw + 1, sizeof *w.lines);
	for (i = 0; i < nw; i++)
		w.fd[i] = -1;
	if ((head0 = head_seq(d->sock, cause)) == 0)
		goto out;
	if (watchers_open(&w, d->sock, head0 + 1, cause) == -1)
		goto out;
	if (nw > 0) {
		if (pthread_create(&th, NULL, watchers_read, &w) != 0) {
			xasprintf(cause, "pthread_create failed");
			goto out;
		}
		started = 1;
		/* Every watcher has its answer before the writer starts. */
		deadline = mono_us() + CALL_TIMEOUT;
		for (i = 0; i < nw; i++) {
			while (w.lines[i] < 1 && mono_us() < deadline &&
			    !w.failed)
				usleep(1000);
		}
	}
	bench_pipeline_init(&p, &o->b, d->sock, "account.create");
	p.total = o->records;
	p.params = record_params;
	p.arg = &index;
	cpu0 = bench_cpu_us(d->pid);
	t0 = mono_us();
	if (bench_pipeline_run(&p, cause) == -1) {
		bench_pipeline_free(&p);
		goto out;
	}
	ph->write_us = p.elapsed_us;
	ph->records = p.ok;
	bench_pipeline_free(&p);
	if ((head1 = head_seq(d->sock, cause)) == 0)
		goto out;
	ph->writer_rate = (double)ph->records * USEC_PER_SEC /
	    (ph->write_us > 0 ? ph->write_us : 1);
	if (nw > 0) {
		w.want = 1 + (head1 - head0);
		deadline = mono_us() + DRAIN_TIMEOUT;
		while (pthread_tryjoin_np(th, NULL) == EBUSY) {
			if (mono_us() > deadline || w.failed) {
				w.stop = 1;
				pthread_join(th, NULL);
				started = 0;
				xasprintf(cause, "the watchers did not get every "
				    "record (%s)", w.failed ? "a stream ended" :
				    "timeout");
				goto out;
			}
			usleep(1000);
		}
		started = 0;
		ph->deliver_us = w.last_us - t0;
		ph->lag_us = w.last_us - (t0 + ph->write_us);
		ph->events = nw * (head1 - head0);
		ph->events_rate = (double)ph->events * USEC_PER_SEC /
		    (ph->deliver_us > 0 ? ph->deliver_us : 1);
	}
	ph->cpu_us = bench_cpu_us(d->pid) - cpu0;
	rc = 0;
out:
	if (started) {
		w.stop = 1;
		pthread_join(th, NULL);
	}
	watchers_close(&w);
	return (rc);
}

static json_t *
result_json(const struct options *o, const struct phase *ph, size_t n)
{
	json_t	*phases = json_array();
	size_t	 i;

	for (i = 0; i < n; i++)
		json_array_append_new(phases, json_pack("{s:I,s:I,s:f,s:f,"
		    "s:f,s:f,s:f,s:I}", "watchers", (json_int_t)ph[i].watchers,
		    "records", (json_int_t)ph[i].records, "writer_records_per_s",
		    ph[i].writer_rate, "events_per_s", ph[i].events_rate,
		    "deliver_s", ph[i].deliver_us / 1e6, "lag_s",
		    ph[i].lag_us / 1e6, "cpu_s", ph[i].cpu_us / 1e6, "events",
		    (json_int_t)ph[i].events));
	return (json_pack("{s:s,s:s,s:I,s:i,s:i,s:o}", "bench", "watch-bench",
	    "sync", o->b.sync, "records", (json_int_t)o->records,
	    "connections", o->b.conns, "window", o->b.window, "phases",
	    phases));
}

int
main(int argc, char **argv)
{
	struct options		 o;
	const struct bench_own	 own[] = {
		{ "records", BENCH_OWN_U64, &o.records, 1, 10000000, 0 },
		{ "watchers", BENCH_OWN_STRING, &o.watchers_list, 0, 0, 0 },
		{ NULL }
	};
	struct bench_daemon	 d;
	struct phase		 ph[MAX_PHASES];
	char			*cause = NULL;
	int64_t			 ready, took;
	size_t			 i;
	int			 rc = 1;

	memset(&o, 0, sizeof o);
	bench_opts_init(&o.b, "watch-bench");
	o.records = 20000;
	o.watchers_list = "0,1,100";
	if (bench_opts_parse(&o.b, argc, argv, own, BENCH_TAKE_DAEMON |
	    BENCH_TAKE_CONNECTIONS | BENCH_TAKE_WINDOW, NULL, NULL) == -1)
		usage();
	if (parse_watchers(o.watchers_list, o.watchers, &o.nphases) == -1)
		usage();
	for (i = 0; i < o.nphases; i++) {
		if (o.watchers[i] > MAX_WATCHERS) {
			fprintf(stderr, "watch-bench: at most %d watchers\n",
			    MAX_WATCHERS);
			return (2);
		}
	}
	bench_opts_check(&o.b, 0);
	log_open("watch-bench", LOG_LEVEL_WARN);
	signal(SIGPIPE, SIG_IGN);
	bench_daemon_init(&d, o.b.chimed, NULL);
	d.sync = o.b.sync;
	d.keep = o.b.keep;
	if (bench_daemon_start(&d, 0, START_TIMEOUT, &ready, NULL,
	    &cause) == -1)
		goto out;
	printf("  records per phase   %llu (account.create, %d connections "
	    "x %d, sync %s)\n", (unsigned long long)o.records, o.b.conns,
	    o.b.window, o.b.sync);
	for (i = 0; i < o.nphases; i++) {
		if (phase_run(&o, &d, o.watchers[i], i, &ph[i], &cause) == -1)
			goto out;
		printf("  %3llu watchers        writer %.0f rec/s",
		    (unsigned long long)ph[i].watchers, ph[i].writer_rate);
		if (ph[i].watchers > 0)
			printf(", delivered %.0f events/s (%llu events, last "
			    "%.3f s after the writer)",
			    ph[i].events_rate,
			    (unsigned long long)ph[i].events, ph[i].lag_us / 1e6);
		printf(", daemon cpu %.2f s\n", ph[i].cpu_us / 1e6);
		fflush(stdout);
	}
	if (bench_daemon_stop(&d, SIGTERM, STOP_TIMEOUT, &took, &cause) == -1)
		goto out;
	bench_opts_output(&o.b, result_json(&o, ph, o.nphases));
	rc = 0;
out:
	if (rc != 0) {
		fprintf(stderr, "watch-bench: %s\n", cause != NULL ? cause :
		    "failed");
		bench_daemon_log_tail(&d, 20);
	}
	bench_daemon_free(&d, o.b.keep);
	bench_opts_free(&o.b);
	return (rc);
}
