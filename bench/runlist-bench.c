/*
 * bench/runlist-bench.c: what run.list costs over many runs, in-process
 * (no socket: the query itself), and what its index costs the writer.
 *
 * It writes RUNS run rows of account "default" spread over SCHEDULES
 * schedules (a year at one run every few minutes), each a run map as
 * run_pack makes it (1 in 100 failed, three operations, two models),
 * through jrec_put in records of 1000 rows: once into a journal without
 * the index and once into one with it (struct journal_index), and prints
 * the writer's time for each (the index's cost on the write path).  Then,
 * REPEAT times each: run_list's first page of 50, a page of 50 from a
 * cursor half-way down, a page of 50 of the failed runs (1 in 100), a
 * page of 50 of one operation and model (1 in 6), and for comparison the
 * walk of every runs row that a list without the index would need; p50
 * and max in ms.
 *
 *	runlist-bench [--runs N] [--schedules N] [--repeat N]
 */
#include <sys/types.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "journal.h"
#include "actors.h"
#include "bench.h"

#define RB_PAGE		50

struct rb_write {
	struct event_base	*base;
	uint64_t		 done;
};

static void
usage(void)
{
	fprintf(stderr, "usage: runlist-bench [--runs N] [--schedules N] "
	    "[--repeat N]\n");
	exit(2);
}

static void
rb_done(const struct journal_result *r, void *arg)
{
	struct rb_write	*w = arg;

	if (r->status != JOURNAL_OK)
		fatalx("runlist-bench: a record failed: %s",
		    r->error != NULL ? r->error : "?");
	w->done++;
}

/* Run I's map (of schedule S, number N, made at T) into PK. */
static void
rb_run(msgpack_packer *pk, uint64_t i, const char *s, uint64_t n, int64_t t)
{
	static const char *const ops[] = { "quick", "digest", "classify" };
	char	id[96];

	snprintf(id, sizeof id, "%s:%llu", s, (unsigned long long)n);
	msgpack_pack_map(pk, 13);
	pack_kstr(pk, "run_id", id);
	pack_kstr(pk, "schedule", s);
	pack_kint(pk, "number", (int64_t)n);
	pack_kstr(pk, "operation", ops[i % 3]);
	pack_kstr(pk, "account", "default");
	pack_kstr(pk, "status", i % 100 == 7 ? "failed" : "success");
	pack_kstr(pk, "triggered_by", "cron");
	pack_kint(pk, "scheduled_for_us", t);
	pack_kint(pk, "created_us", t);
	pack_kint(pk, "started_us", t + 10);
	pack_kint(pk, "finished_us", t + 850000);
	pack_kint(pk, "cost_micro", 1200);
	pack_kstr(pk, "model", i % 2 ? "model-a" : "model-b");
}

/* Write RUNS rows over SCHEDULES schedules into a journal in DIR (with
 * the run index if INDEXED); the writer's wall time in ms.  *J is the
 * journal, left open. */
static double
rb_fill(const char *dir, int indexed, uint64_t runs, uint64_t schedules,
    struct event_base *base, struct journal **jp)
{
	struct journal_options	 jo;
	struct rb_write		 w = { base, 0 };
	struct pack_buffer	 pb;
	struct journal		*j;
	struct jrec		*rec = NULL;
	uint64_t		 i, submitted = 0;
	int64_t			 t0 = 1764547200LL * 1000000, start;
	char			*cause = NULL, sched[32], key[64];

	memset(&jo, 0, sizeof jo);
	jo.sync = JOURNAL_SYNC_NONE;
	if (indexed)
		jo.index = run_list_index;
	if ((j = journal_open(dir, &jo, &cause)) == NULL ||
	    journal_start(j, base, &cause) != 0)
		fatalx("journal: %s", cause);
	start = mono_us();
	for (i = 0; i < runs; i++) {
		snprintf(sched, sizeof sched, "s_%08llu",
		    (unsigned long long)(i % schedules));
		run_row_key(sched, i / schedules + 1, key, sizeof key);
		if (rec == NULL) {
			rec = jrec_create("bench.rows", NULL);
			msgpack_pack_map(jrec_body(rec), 0);
		}
		pack_buffer_init(&pb);
		rb_run(&pb.pk, i, sched, i / schedules + 1,
		    t0 + (int64_t)i * 300 * 1000000 / (int64_t)(runs / 100000 +
		    1));
		jrec_put(rec, "runs", key, strlen(key), pb.sbuf.data,
		    pb.sbuf.size);
		pack_buffer_clear(&pb);
		if ((i + 1) % 1000 == 0 || i + 1 == runs) {
			journal_submit(j, rec, rb_done, &w);
			rec = NULL;
			submitted++;
			while (submitted - w.done > 8)
				event_base_loop(base, EVLOOP_ONCE);
		}
	}
	journal_flush(j);
	while (w.done < submitted)
		event_base_loop(base, EVLOOP_ONCE);
	*jp = j;
	return ((double)(mono_us() - start) / 1000.0);
}

static int
rb_count(const struct journal_row *row, void *arg)
{
	(void)row;
	(*(uint64_t *)arg)++;
	return (0);
}

/* One query's times over REPEAT tries: print p50 and max. */
static void
rb_query(const char *name, struct run_list_query *q, uint64_t repeat)
{
	int64_t	*t = xcalloc(repeat, sizeof *t), start;
	size_t	 scanned = 0, got = 0;
	char	*next;
	json_t	*a;
	uint64_t i;

	for (i = 0; i < repeat; i++) {
		start = mono_us();
		if ((a = run_list(q, &next, &scanned)) == NULL)
			fatalx("run_list failed");
		t[i] = mono_us() - start;
		got = json_array_size(a);
		json_decref(a);
		free(next);
	}
	bench_sort(t, repeat);
	printf("  %-34s p50 %7.3f ms  max %7.3f ms  (%zu runs, %zu index "
	    "entries read)\n", name,
	    (double)bench_percentile(t, repeat, 0.5) / 1000.0,
	    (double)bench_percentile(t, repeat, 1.0) / 1000.0, got, scanned);
	free(t);
}

int
main(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "runs", required_argument, NULL, 'n' },
		{ "schedules", required_argument, NULL, 's' },
		{ "repeat", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct caller		 admin;
	struct run_list_query	 q;
	struct event_base	*base;
	struct journal		*plain;
	uint64_t		 runs = 100000, schedules = 1000, repeat = 20;
	uint64_t		 i, n;
	int64_t			*t, start;
	double			 wplain, windexed;
	char			*dir, *jdir, *cause = NULL, *mid, *next;
	size_t			 scanned;
	json_t			*a;
	int			 ch;

	log_open("runlist-bench", LOG_LEVEL_WARN);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			runs = strtoull(optarg, NULL, 10);
			break;
		case 's':
			schedules = strtoull(optarg, NULL, 10);
			break;
		case 'r':
			repeat = strtoull(optarg, NULL, 10);
			break;
		default:
			usage();
		}
	}
	if (runs < 2 * RB_PAGE || schedules == 0 || repeat == 0 ||
	    optind != argc)
		usage();
	if (engine_init() != 0)
		fatalx("engine_init");
	base = engine->base;
	dir = bench_tmpdir(NULL, "runlist-bench");
	xasprintf(&jdir, "%s/plain", dir);
	wplain = rb_fill(jdir, 0, runs, schedules, base, &plain);
	journal_close(plain);
	free(jdir);
	xasprintf(&jdir, "%s/indexed", dir);
	windexed = rb_fill(jdir, 1, runs, schedules, base, &engine->journal);
	if (account_load_all(engine->journal, &cause) != 0)
		fatalx("accounts: %s", cause);
	journal_flush(engine->journal);
	printf("runlist-bench: %llu runs over %llu schedules\n",
	    (unsigned long long)runs, (unsigned long long)schedules);
	printf("  write without the index           %9.1f ms (%.2f us a "
	    "run row)\n", wplain, wplain * 1000.0 / (double)runs);
	printf("  write with the index              %9.1f ms (%.2f us a "
	    "run row)\n", windexed, windexed * 1000.0 / (double)runs);

	memset(&admin, 0, sizeof admin);
	admin.admin = 1;
	memset(&q, 0, sizeof q);
	q.caller = &admin;
	q.limit = RB_PAGE;
	rb_query("first page", &q, repeat);
	q.limit = (size_t)(runs / 2 < RUN_LIST_MAX ? runs / 2 : RUN_LIST_MAX);
	mid = NULL;
	for (n = 0; n < runs / 2; n += q.limit) {
		a = run_list(&q, &next, &scanned);
		json_decref(a);
		free(mid);
		mid = next;
		q.after = mid;
	}
	q.limit = RB_PAGE;
	rb_query("a page half-way down (cursor)", &q, repeat);
	q.after = NULL;
	q.status = "failed";
	rb_query("first page of status failed (1%)", &q, repeat);
	q.account = "default";
	q.status = NULL;
	q.model = "model-a";
	q.operation = "digest";
	rb_query("first page of op and model", &q, repeat);

	t = xcalloc(repeat, sizeof *t);
	for (i = 0; i < repeat; i++) {
		n = 0;
		start = mono_us();
		journal_table_foreach(engine->journal, "runs", NULL, 0, 0,
		    rb_count, &n);
		t[i] = mono_us() - start;
	}
	bench_sort(t, repeat);
	printf("  %-34s p50 %7.3f ms  max %7.3f ms  (%llu rows)\n",
	    "walk of every runs row (no index)",
	    (double)bench_percentile(t, repeat, 0.5) / 1000.0,
	    (double)bench_percentile(t, repeat, 1.0) / 1000.0,
	    (unsigned long long)n);
	free(t);
	free(mid);
	journal_close(engine->journal);
	bench_rm_tree(dir);
	free(jdir);
	free(dir);
	return (0);
}
