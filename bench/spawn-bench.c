/*
 * bench/spawn-bench.c: how long a burst of exec starts holds the loop.
 *
 * In one process, with the exec executor on a libevent loop of its own: N
 * exec_start calls of /bin/echo in a row (as the loop makes them when one
 * commit releases N runs), then the loop runs until every job has ended
 * with a 1 ms timer beside them.  Prints the time the N calls took (wall
 * and the loop thread's CPU), the longest gap between two ticks of the
 * timer afterwards (wall, and the loop thread's CPU in it: a wall gap
 * without CPU is the machine running something else), the most loop CPU
 * between two ticks, and when the last job ended.  Repeated --rounds times.  Target (issue 16): starting
 * processes never takes the loop away from other work for more than a
 * millisecond or two at a time.
 *
 *	spawn-bench [--count N] [--rounds R]
 */
#include <sys/types.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "engine.h"

static int64_t	last, maxgap, lastcpu, maxcpu, maxheld;
static int	ended;

static int64_t
cpu_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ((int64_t)ts.tv_sec * USEC_PER_SEC + ts.tv_nsec / 1000);
}

static void
tick_cb(evutil_socket_t fd, short events, void *arg)
{
	int64_t	now = mono_us(), cpu = cpu_us();

	if (cpu - lastcpu > maxheld)
		maxheld = cpu - lastcpu;
	if (now - last > maxgap) {
		maxgap = now - last;
		maxcpu = cpu - lastcpu;
	}
	last = now;
	lastcpu = cpu;
}

static void
done_cb(struct exec_result *r, void *arg)
{
	if (r->status != EXEC_SUCCESS)
		fprintf(stderr, "spawn-bench: run failed: %s\n", r->error);
	ended++;
	exec_result_free(r);
}

static deadfunc void
usage(void)
{
	fprintf(stderr, "usage: spawn-bench [--count N] [--rounds R]\n");
	exit(1);
}

int
main(int argc, char **argv)
{
	const struct option	 lo[] = {
		{ "count", required_argument, NULL, 'n' },
		{ "rounds", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct event_base	*base;
	struct operation	 op;
	struct exec_request	 req;
	struct event		*tick;
	struct timeval		 tv = { 0, 1000 };
	char			*av[] = { "/bin/echo", "{\"result\": 1}", NULL };
	char			*cause = NULL;
	int			 n = 256, rounds = 3, ch, i, k;
	int64_t			 t0, t1, c0, c1;
	double			 load[1];

	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		if (ch == 'n')
			n = atoi(optarg);
		else if (ch == 'r')
			rounds = atoi(optarg);
		else
			usage();
	}
	if (n <= 0 || rounds <= 0)
		usage();
	log_open("spawn-bench", LOG_LEVEL_WARN);
	if ((base = event_base_new()) == NULL)
		return (1);
	exec_runtime_init(base);
	memset(&op, 0, sizeof op);
	op.id = "noop";
	op.executor = EXECUTOR_EXEC;
	op.argv = av;
	op.timeout_ms = 30000;
	memset(&req, 0, sizeof req);
	req.run_id = "spawn-bench";
	req.operation = "noop";
	tick = event_new(base, -1, EV_PERSIST, tick_cb, NULL);
	event_add(tick, &tv);
	if (getloadavg(load, 1) != 1)
		load[0] = -1;
	printf("spawn-bench: %d exec starts of /bin/echo in a row, %d rounds; "
	    "load average %.1f\n", n, rounds, load[0]);
	for (k = 0; k < rounds; k++) {
		ended = 0;
		maxgap = maxcpu = maxheld = 0;
		t0 = mono_us();
		c0 = cpu_us();
		for (i = 0; i < n; i++) {
			if (exec_start(&op, &req, done_cb, NULL, &cause) ==
			    NULL) {
				fprintf(stderr, "spawn-bench: %s\n", cause);
				return (1);
			}
		}
		t1 = mono_us();
		c1 = cpu_us();
		last = t1;
		lastcpu = c1;
		while (ended < n)
			event_base_loop(base, EVLOOP_ONCE);
		printf("  %d starts: the calls %.2f ms (loop CPU %.2f ms); "
		    "then the longest gap between ticks %.2f ms (loop CPU in "
		    "it %.2f ms), the most loop CPU between two ticks %.2f ms; "
		    "all ended after %.0f ms\n", n, (t1 - t0) / 1e3,
		    (c1 - c0) / 1e3, maxgap / 1e3, maxcpu / 1e3,
		    maxheld / 1e3, (mono_us() - t0) / 1e3);
	}
	if (getloadavg(load, 1) != 1)
		load[0] = -1;
	printf("  load average %.1f\n", load[0]);
	event_free(tick);
	exec_runtime_free();
	event_base_free(base);
	return (0);
}
