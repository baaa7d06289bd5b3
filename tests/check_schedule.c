/*
 * tests/check_schedule.c: runs and schedules.  Recovery and catch-up are
 * driven in-process on a real journal in a temporary directory: the test
 * writes schedule and run rows the way an earlier daemon left them, loads
 * them, runs the loop until everything settled, and reads the outcome back
 * from the runs table.
 */
#include <sys/stat.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "actors.h"
#include "lib.h"

static char	*tmpdir;
static const char *put_tz = "UTC";	/* zone of put_schedule's rows */

/* ---- fixture ----------------------------------------------------------- */

static void
setup(void)
{
	tmpdir = lib_tmpdir("check-schedule");
	setenv("CHIME_TEST_DIR", tmpdir, 1);
	lib_engine_start(tmpdir);
}

static void
teardown(void)
{
	lib_engine_stop();
	lib_rm_tree(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}

/* Run the loop until nothing is in flight (or 20 s pass). */
static void
settle(void)
{
	struct schedule_counts	c;
	int64_t			deadline = mono_us() + 20 * USEC_PER_SEC;

	for (;;) {
		event_base_loop(engine->base, EVLOOP_NONBLOCK);
		schedule_counts(&c);
		if (dispatch_quiet() && c.runs_running == 0 &&
		    c.runs_waiting == 0 && actor_runtime_pending() == 0)
			break;
		ck_assert_msg(mono_us() < deadline, "did not settle");
		event_base_loop(engine->base, EVLOOP_ONCE);
	}
}

/* Write a schedule row as an earlier daemon would have. */
static void
put_schedule(const char *id, const char *op, const char *trigger,
    const char *spec, const char *catchup, int64_t window_us,
    int64_t last_fire)
{
	struct jrec		*rec;
	struct pack_buffer	 pb;
	msgpack_packer		*pk;

	pack_buffer_init(&pb);
	pk = &pb.pk;
	msgpack_pack_map(pk, 14);
	pack_kstr(pk, "id", id);
	pack_kstr(pk, "name", id);
	pack_kstr(pk, "account", "default");
	pack_kstr(pk, "operation", op);
	pack_kstr(pk, "parameters", "{\"k\":1}");
	pack_kstr(pk, "trigger", trigger);
	pack_kstr(pk, "spec", spec);
	pack_kstr(pk, "tz", put_tz);
	pack_kstr(pk, "catchup", catchup);
	pack_kint(pk, "catchup_window_us", window_us);
	pack_kstr(pk, "overlap", "allow");
	pack_kint(pk, "overlap_limit", 64);
	pack_kstr(pk, "state", "active");
	pack_kint(pk, "last_fire_us", last_fire);
	rec = jrec_create("schedule.created", "default");
	msgpack_pack_map(jrec_body(rec), 1);
	pack_kstr(jrec_body(rec), "id", id);
	jrec_put(rec, "schedules", id, strlen(id), pb.sbuf.data,
	    pb.sbuf.size);
	pack_buffer_clear(&pb);
	lib_submit_wait(rec);
}

/* Write an in-flight run row (status pending/running) for schedule ID. */
static void
put_active_run(const char *id, uint64_t number, const char *status)
{
	struct jrec		*rec;
	struct pack_buffer	 pb;
	msgpack_packer		*pk;
	char			 key[128], rid[128];

	run_row_key(id, number, key, sizeof key);
	snprintf(rid, sizeof rid, "%s:%llu", id, (unsigned long long)number);
	pack_buffer_init(&pb);
	pk = &pb.pk;
	msgpack_pack_map(pk, 8);
	pack_kstr(pk, "run_id", rid);
	pack_kstr(pk, "schedule", id);
	pack_kint(pk, "number", (int64_t)number);
	pack_kstr(pk, "status", status);
	pack_kstr(pk, "triggered_by", "manual");
	pack_kint(pk, "scheduled_for_us", now_us());
	pack_kint(pk, "attempt", 1);
	pack_kstr(pk, "parameters", "{}");
	rec = jrec_create("run.started", "default");
	msgpack_pack_map(jrec_body(rec), 1);
	pack_kstr(jrec_body(rec), "run_id", rid);
	jrec_put(rec, "runs", key, strlen(key), pb.sbuf.data, pb.sbuf.size);
	jrec_put(rec, "active", key, strlen(key), "", 0);
	pack_buffer_clear(&pb);
	lib_submit_wait(rec);
}

struct tally {
	int	suppressed;
	int64_t	suppressed_at;
	int	total;
	int	success;
	int	missed;
	int	catchup;
	int	interrupted;
	int	attempt2;
	int	dup;
	int64_t	seen[256];
};

static int
tally_cb(const struct journal_row *row, void *arg)
{
	struct tally		*t = arg;
	msgpack_unpacked	 u;
	char			*st, *trig, *v;
	int64_t			 when;
	int			 i;

	ck_assert_int_eq(unpack_buffer(row->val, row->vlen, &u), 0);
	st = unpack_strdup(&u.data, "status");
	trig = unpack_strdup(&u.data, "triggered_by");
	when = unpack_int(&u.data, "scheduled_for_us", 0);
	for (i = 0; i < t->total && i < 256; i++) {
		if (t->seen[i] == when && strcmp(trig, "manual") != 0)
			t->dup++;
	}
	if (t->total < 256)
		t->seen[t->total] = when;
	t->total++;
	t->success += strcmp(st, "success") == 0;
	t->missed += strcmp(st, "missed") == 0;
	t->interrupted += strcmp(st, "interrupted") == 0;
	t->catchup += strcmp(trig, "catchup") == 0;
	t->attempt2 += unpack_int(&u.data, "attempt", 0) == 2;
	v = unpack_strdup(&u.data, "dst");
	if (v != NULL && strcmp(v, "suppressed") == 0) {
		t->suppressed++;
		t->suppressed_at = when;
	}
	free(v);
	free(st);
	free(trig);
	msgpack_unpacked_destroy(&u);
	return (0);
}

static void
tally(const char *id, struct tally *t)
{
	char	prefix[128];

	memset(t, 0, sizeof *t);
	snprintf(prefix, sizeof prefix, "%s:", id);
	ck_assert_int_eq(journal_table_foreach(engine->journal, "runs", prefix,
	    strlen(prefix), 0, tally_cb, t), 0);
}

static void
load(void)
{
	char	*cause = NULL;

	ck_assert_msg(schedule_load_all(engine->journal, &cause) == 0, "%s",
	    cause);
	settle();
}

/* ---- run.c ------------------------------------------------------------- */

/* A run id splits into its schedule and number. */
START_TEST(test_run_id_parse)
{
	char		s[64];
	uint64_t	n;

	ck_assert_int_eq(run_id_parse("s_abc:17", s, sizeof s, &n), 0);
	ck_assert_str_eq(s, "s_abc");
	ck_assert_uint_eq(n, 17);
	ck_assert_int_eq(run_id_parse("a:b:2", s, sizeof s, &n), 0);
	ck_assert_str_eq(s, "a:b");
}
END_TEST

/* Malformed run ids are refused. */
START_TEST(test_run_id_parse_bad)
{
	char		s[8];
	uint64_t	n;

	ck_assert_int_eq(run_id_parse("nocolon", s, sizeof s, &n), -1);
	ck_assert_int_eq(run_id_parse(":5", s, sizeof s, &n), -1);
	ck_assert_int_eq(run_id_parse("s:", s, sizeof s, &n), -1);
	ck_assert_int_eq(run_id_parse("s:0", s, sizeof s, &n), -1);
	ck_assert_int_eq(run_id_parse("s:12x", s, sizeof s, &n), -1);
	ck_assert_int_eq(run_id_parse("s:-3", s, sizeof s, &n), -1);
	ck_assert_int_eq(run_id_parse("verylongschedule:1", s, sizeof s, &n),
	    -1);
}
END_TEST

/* Status names round-trip; only pending and running are not final. */
START_TEST(test_run_status_names)
{
	enum run_status	st;
	int		i;

	for (i = 0; i < RUN_STATUS_MAX; i++) {
		ck_assert_int_eq(run_status_parse(run_status_name(i), &st), 0);
		ck_assert_int_eq(st, i);
		ck_assert_int_eq(run_status_final(i), i != RUN_PENDING &&
		    i != RUN_RUNNING);
	}
}
END_TEST

/* Unknown status names are refused. */
START_TEST(test_run_status_names_bad)
{
	enum run_status	st;

	ck_assert_int_eq(run_status_parse("done", &st), -1);
	ck_assert_int_eq(run_status_parse("", &st), -1);
	ck_assert_str_eq(run_status_name(RUN_STATUS_MAX), "unknown");
}
END_TEST

/* Row keys sort by run number within a schedule. */
START_TEST(test_run_row_key_order)
{
	char	a[64], b[64];

	run_row_key("s", 9, a, sizeof a);
	run_row_key("s", 10, b, sizeof b);
	ck_assert_int_lt(strcmp(a, b), 0);
	ck_assert_str_eq(a, "s:000000000009");
}
END_TEST

/* ---- recovery and catch-up --------------------------------------------- */

/* latest: the most recent missed occurrence runs once, the rest are
 * recorded missed, each occurrence exactly once. */
START_TEST(test_catchup_latest)
{
	struct tally	t;
	int64_t		now = now_us();

	put_schedule("c1", "quick", "cron", "* * * * * *", "latest",
	    3600 * USEC_PER_SEC, now - 10 * USEC_PER_SEC);
	load();
	tally("c1", &t);
	ck_assert_int_ge(t.total, 10);
	ck_assert_int_eq(t.catchup, 1);
	ck_assert_int_ge(t.success, 1);
	ck_assert_int_eq(t.missed + t.success, t.total);
	ck_assert_int_eq(t.dup, 0);
}
END_TEST

/* skip: every missed occurrence is recorded missed; nothing runs. */
START_TEST(test_catchup_skip)
{
	struct tally	t;
	int64_t		now = now_us();

	put_schedule("c2", "quick", "cron", "* * * * * *", "skip",
	    3600 * USEC_PER_SEC, now - 5 * USEC_PER_SEC);
	load();
	tally("c2", &t);
	ck_assert_int_ge(t.missed, 5);
	ck_assert_int_eq(t.catchup, 0);
	ck_assert_int_eq(t.dup, 0);
}
END_TEST

/* all: every missed occurrence within the window runs. */
START_TEST(test_catchup_all)
{
	struct tally	t;
	int64_t		now = now_us();

	put_schedule("c3", "quick", "cron", "* * * * * *", "all",
	    3600 * USEC_PER_SEC, now - 6 * USEC_PER_SEC);
	load();
	tally("c3", &t);
	ck_assert_int_ge(t.catchup, 6);
	ck_assert_int_eq(t.success, t.total);
	ck_assert_int_eq(t.dup, 0);
}
END_TEST

/* Occurrences older than the window are missed whatever the policy, and a
 * long outage becomes one aggregated record, not one per occurrence. */
START_TEST(test_catchup_window_bad)
{
	struct tally	t;
	int64_t		now = now_us();

	put_schedule("c4", "quick", "cron", "* * * * * *", "all",
	    2 * USEC_PER_SEC, now - 3600 * USEC_PER_SEC);
	load();
	tally("c4", &t);
	/* 20 single missed records, then one aggregate (not a run row). */
	ck_assert_int_eq(t.missed, 20);
	ck_assert_int_le(t.catchup, 3);
	ck_assert_int_ge(t.catchup, 1);
	ck_assert_int_eq(t.dup, 0);
}
END_TEST

/* A run left running by a crash: not idempotent -> interrupted. */
START_TEST(test_recover_interrupted)
{
	struct tally	t;
	int64_t		now = now_us();

	put_schedule("r1", "gate", "manual", "", "latest",
	    3600 * USEC_PER_SEC, now);
	put_active_run("r1", 1, "running");
	load();
	tally("r1", &t);
	ck_assert_int_eq(t.total, 1);
	ck_assert_int_eq(t.interrupted, 1);
}
END_TEST

/* A run left running by a crash: idempotent -> run again (attempt 2). */
START_TEST(test_recover_retried)
{
	struct tally	t;
	int64_t		now = now_us();

	put_schedule("r2", "quick", "manual", "", "latest",
	    3600 * USEC_PER_SEC, now);
	put_active_run("r2", 1, "running");
	load();
	tally("r2", &t);
	ck_assert_int_eq(t.total, 1);
	ck_assert_int_eq(t.success, 1);
	ck_assert_int_eq(t.attempt2, 1);
}
END_TEST

/* A pending run (claimed, never started) is started after the restart. */
START_TEST(test_recover_pending)
{
	struct tally	t;

	put_schedule("r3", "quick", "manual", "", "latest",
	    3600 * USEC_PER_SEC, now_us());
	put_active_run("r3", 1, "pending");
	load();
	tally("r3", &t);
	ck_assert_int_eq(t.success, 1);
	ck_assert_int_eq(t.attempt2, 0);
}
END_TEST

/* Unreadable rows are skipped, the rest loads. */
START_TEST(test_recover_bad_rows)
{
	struct jrec	*rec;
	char		*cause = NULL;

	rec = jrec_create("test.garbage", NULL);
	msgpack_pack_map(jrec_body(rec), 0);
	jrec_put(rec, "schedules", "junk", 4, "\xc1\xc1", 2);
	lib_submit_wait(rec);
	put_schedule("ok1", "quick", "manual", "", "latest",
	    3600 * USEC_PER_SEC, now_us());
	put_schedule("bad2", "quick", "cron", "99 * * * *", "latest",
	    3600 * USEC_PER_SEC, now_us());
	ck_assert_int_eq(schedule_load_all(engine->journal, &cause), 0);
	ck_assert_ptr_nonnull(schedule_find("ok1"));
	ck_assert_ptr_null(schedule_find("bad2"));
	ck_assert_ptr_null(schedule_find("junk"));
	settle();
}
END_TEST

/*
 * Row I of a large load: schedule "m%05d" named "name-%05d", paused when
 * I % 7 == 3, a cron that never parses when I % 1111 == 5 (refused), an
 * extra key with an array when I % 13 == 2 (a row of another shape, read
 * whole), a one-shot when I % 17 == 4 (its own text); KEY is its row key
 * (its id unless STRAY).
 */
static void
put_many_row(struct jrec *rec, int i, const char *key)
{
	struct pack_buffer	 pb;
	msgpack_packer		*pk;
	char			 id[32], name[32], spec[64];
	const char		*trigger = "cron";

	snprintf(id, sizeof id, "m%05d", i);
	snprintf(name, sizeof name, "name-%05d", i);
	snprintf(spec, sizeof spec, "%d %d * * *", i % 60, i % 24);
	if (i % 1111 == 5)
		snprintf(spec, sizeof spec, "99 * * * *");
	else if (i % 17 == 4) {
		trigger = "at";
		snprintf(spec, sizeof spec, "2099-01-01T00:%02d:00Z", i % 60);
	}
	pack_buffer_init(&pb);
	pk = &pb.pk;
	msgpack_pack_map(pk, i % 13 == 2 ? 11 : 10);
	pack_kstr(pk, "id", id);
	pack_kstr(pk, "name", name);
	pack_kstr(pk, "account", i % 2 ? "default" : "other");
	pack_kstr(pk, "operation", "quick");
	pack_kstr(pk, "trigger", trigger);
	pack_kstr(pk, "spec", spec);
	pack_kstr(pk, "tz", i % 3 ? "UTC" : "Europe/Berlin");
	pack_kstr(pk, "state", i % 7 == 3 ? "paused" : "active");
	pack_kint(pk, "run_counter", i);
	pack_kint(pk, "last_fire_us", now_us());
	if (i % 13 == 2) {
		msgpack_pack_str_with_body(pk, "extra", 5);
		msgpack_pack_array(pk, 2);
		msgpack_pack_int(pk, 1);
		msgpack_pack_int(pk, 2);
	}
	jrec_put(rec, "schedules", key, strlen(key), pb.sbuf.data,
	    pb.sbuf.size);
	pack_buffer_clear(&pb);
}

/* Progress row of schedule I (every fifth): its run counter, I * 10;
 * every tenth with a value of another shape beside it. */
static void
put_many_progress(struct jrec *rec, int i)
{
	struct pack_buffer	 pb;
	msgpack_packer		*pk;
	char			 id[32];

	snprintf(id, sizeof id, "m%05d", i);
	pack_buffer_init(&pb);
	pk = &pb.pk;
	msgpack_pack_map(pk, i % 10 == 0 ? 3 : 2);
	pack_kint(pk, "run_counter", (int64_t)i * 10);
	pack_kint(pk, "last_fire_us", now_us());
	if (i % 10 == 0) {
		msgpack_pack_str_with_body(pk, "extra", 5);
		msgpack_pack_map(pk, 0);
	}
	jrec_put(rec, "progress", id, strlen(id), pb.sbuf.data, pb.sbuf.size);
	pack_buffer_clear(&pb);
}

#define MANY	20000	/* more rows than the loader's ring holds */

/* Write the MANY rows, STRAY of them (if not -1) under another key. */
static void
put_many(int stray, const char *stray_key)
{
	struct jrec	*rec = NULL;
	char		 key[32];
	int		 i;

	for (i = 0; i < MANY; i++) {
		if (rec == NULL) {
			rec = jrec_create("test.rows", NULL);
			msgpack_pack_map(jrec_body(rec), 0);
		}
		snprintf(key, sizeof key, "m%05d", i);
		put_many_row(rec, i, i == stray ? stray_key : key);
		if (i % 5 == 0)
			put_many_progress(rec, i);
		if (i % 1000 == 999 || i == MANY - 1) {
			lib_submit_wait(rec);
			rec = NULL;
		}
	}
}

/* Check the loaded schedules against the rows. */
static void
check_many(void)
{
	struct schedule_counts	 c;
	struct schedule		*s;
	char			 id[32], name[32];
	int			 i, loaded = 0, paused = 0;

	for (i = 0; i < MANY; i++) {
		snprintf(id, sizeof id, "m%05d", i);
		snprintf(name, sizeof name, "name-%05d", i);
		s = schedule_find(id);
		if (i % 1111 == 5) {
			ck_assert_msg(s == NULL, "%s loaded", id);
			continue;
		}
		ck_assert_msg(s != NULL, "%s not loaded", id);
		loaded++;
		ck_assert_ptr_eq(schedule_by_name(i % 2 ? "default" : "other",
		    name), s);
		ck_assert_str_eq(s->name, name);
		ck_assert_str_eq(s->account, i % 2 ? "default" : "other");
		ck_assert_str_eq(tz_name(s->tz), i % 3 ? "UTC" :
		    "Europe/Berlin");
		ck_assert_int_eq(s->trigger, i % 17 == 4 ? TRIGGER_AT :
		    TRIGGER_CRON);
		ck_assert_str_eq(s->parameters, "{}");
		ck_assert_uint_eq(s->run_counter, (i % 5 == 0 ?
		    (uint64_t)i * 10 : (uint64_t)i));
		if (i % 7 == 3) {
			ck_assert_int_eq(s->state, SCHEDULE_PAUSED);
			ck_assert_int_eq(timer_armed(&s->timer), 0);
			paused++;
		} else {
			ck_assert_int_eq(s->state, SCHEDULE_ACTIVE);
			ck_assert_int_eq(timer_armed(&s->timer), 1);
			ck_assert_int_gt(s->next_fire, now_us());
		}
	}
	schedule_counts(&c);
	ck_assert_uint_eq(c.total, loaded);
	ck_assert_uint_eq(c.paused, paused);
}

/* Many rows load, in order, on more than one thread: each as the row
 * says, the refused ones left out, progress over each. */
START_TEST(test_load_many)
{
	put_many(-1, NULL);
	load();
	check_many();
}
END_TEST

/* A row whose id is not its key, and whose id another row has: the
 * second of the two is refused, the rest load. */
START_TEST(test_load_stray_bad)
{
	struct jrec	*rec;

	put_many(12345, "zzz-stray");	/* its id m12345 */
	rec = jrec_create("test.rows", NULL);
	msgpack_pack_map(jrec_body(rec), 0);
	put_many_row(rec, 12345, "m12345");
	lib_submit_wait(rec);
	load();
	check_many();
}
END_TEST

/*
 * A row's values in every width msgpack gives them (an integer in 1, 2,
 * 3, 5 and 9 bytes, a negative one, strings of 31, 32 and 300 bytes) are
 * read as a row decoded whole reads them.
 */
START_TEST(test_load_widths)
{
	static const int64_t	 counters[] = { 5, 200, 60000, 4000000000LL,
	    1000000000000LL };
	static const int64_t	 spent[] = { -5, -100000, 0, 127, -129 };
	static const size_t	 nlens[] = { 31, 32, 300, 1, 255 };
	struct jrec		*rec;
	struct pack_buffer	 pb;
	msgpack_packer		*pk;
	struct schedule		*s;
	char			 id[32], name[320];
	size_t			 i;

	rec = jrec_create("test.rows", NULL);
	msgpack_pack_map(jrec_body(rec), 0);
	for (i = 0; i < 5; i++) {
		snprintf(id, sizeof id, "w%zu", i);
		memset(name, 'a' + (int)i, nlens[i]);
		name[nlens[i]] = '\0';
		pack_buffer_init(&pb);
		pk = &pb.pk;
		msgpack_pack_map(pk, 12);
		pack_kstr(pk, "id", id);
		pack_kstr(pk, "name", name);
		pack_kstr(pk, "account", "default");
		pack_kstr(pk, "operation", "quick");
		pack_kstr(pk, "trigger", "interval");
		pack_kstr(pk, "spec", "90s");
		pack_kstr(pk, "tz", "UTC");
		msgpack_pack_str_with_body(pk, "note", 4);
		msgpack_pack_nil(pk);
		pack_kint(pk, "run_counter", counters[i]);
		pack_kint(pk, "month_spent_micro", spent[i]);
		pack_kint(pk, "month_key", 202612);
		pack_kint(pk, "last_fire_us", now_us());
		jrec_put(rec, "schedules", id, strlen(id), pb.sbuf.data,
		    pb.sbuf.size);
		pack_buffer_clear(&pb);
	}
	lib_submit_wait(rec);
	load();
	for (i = 0; i < 5; i++) {
		snprintf(id, sizeof id, "w%zu", i);
		s = schedule_find(id);
		ck_assert_msg(s != NULL, "%s not loaded", id);
		ck_assert_uint_eq(strlen(s->name), nlens[i]);
		ck_assert_int_eq(s->name[nlens[i] - 1], 'a' + (int)i);
		ck_assert_uint_eq(s->run_counter, (uint64_t)counters[i]);
		ck_assert_int_eq(s->month_spent, spent[i]);
		ck_assert_int_eq(s->month_key, 202612);
		ck_assert_ptr_null(s->note);
		ck_assert_int_eq(s->interval_us, 90 * USEC_PER_SEC);
	}
}
END_TEST

/* Fall back in New York: a wall-anchored 01:30 runs at the first pass and
 * the second pass is recorded skipped with the DST tag "suppressed". */
START_TEST(test_dst_suppressed_recorded)
{
	const struct tz	*tz = tz_load("America/New_York", NULL);
	struct tally	 t;
	int64_t		 when, at = now_us() / USEC_PER_SEC;
	int		 before, after;

	/* The most recent fall-back (offset decreasing) before now. */
	do {
		ck_assert_int_eq(tz_transition_before(tz, at, &when, &before,
		    &after), 1);
		at = when - 1;
	} while (after >= before);
	put_tz = "America/New_York";
	put_schedule("d1", "quick", "cron", "30 1 * * *", "skip",
	    3600 * USEC_PER_SEC, (when - 86400) * USEC_PER_SEC);
	put_tz = "UTC";
	load();
	tally("d1", &t);
	ck_assert_int_eq(t.suppressed, 1);
	/* 01:30 EST (the second pass) is 06:30 UTC: 30 min after 06:00Z. */
	ck_assert_int_eq(t.suppressed_at, (when + 1800) * USEC_PER_SEC);
	ck_assert_int_eq(t.dup, 0);
}
END_TEST

/* A cadence schedule fires in both passes: nothing is suppressed. */
START_TEST(test_dst_cadence_not_suppressed_bad)
{
	const struct tz	*tz = tz_load("America/New_York", NULL);
	struct tally	 t;
	int64_t		 when, at = now_us() / USEC_PER_SEC;
	int		 before, after;

	do {
		ck_assert_int_eq(tz_transition_before(tz, at, &when, &before,
		    &after), 1);
		at = when - 1;
	} while (after >= before);
	put_tz = "America/New_York";
	put_schedule("d2", "quick", "cron", "*/30 * * * *", "skip",
	    3600 * USEC_PER_SEC, (when - 3600) * USEC_PER_SEC);
	put_tz = "UTC";
	load();
	tally("d2", &t);
	ck_assert_int_eq(t.suppressed, 0);
	ck_assert_int_eq(t.dup, 0);
}
END_TEST

static int
count_rows_cb(const struct journal_row *row, void *arg)
{
	(*(int *)arg)++;
	return (0);
}

/* A pending run whose operation left the catalog fails at start instead
 * of crashing the daemon; one of a deleted schedule is settled and its
 * active row goes. */
START_TEST(test_recover_missing_operation_bad)
{
	struct tally	t;
	int		n = 0;

	put_schedule("m1", "vanished-op", "manual", "", "latest",
	    3600 * USEC_PER_SEC, now_us());
	put_active_run("m1", 1, "pending");
	put_active_run("gone", 7, "running");
	load();
	tally("m1", &t);
	ck_assert_int_eq(t.total, 1);
	ck_assert_int_eq(t.success, 0);
	ck_assert_int_eq(journal_table_foreach(engine->journal, "active", NULL,
	    0, 0, count_rows_cb, &n), 0);
	ck_assert_int_eq(n, 0);
}
END_TEST

/* The next fires of an interval schedule follow its anchor. */
START_TEST(test_next_interval)
{
	struct schedule	*s;
	int64_t		 when[3];
	char		*cause = NULL;

	put_schedule("i1", "quick", "interval", "90s", "latest",
	    3600 * USEC_PER_SEC, now_us());
	ck_assert_int_eq(schedule_load_all(engine->journal, &cause), 0);
	s = schedule_find("i1");
	ck_assert_ptr_nonnull(s);
	s->anchor_us = 1000 * USEC_PER_SEC;
	ck_assert_int_eq(schedule_next_fires(s, 1000 * USEC_PER_SEC, 3, when,
	    NULL), 3);
	ck_assert_int_eq(when[0], 1090 * USEC_PER_SEC);
	ck_assert_int_eq(when[2], 1270 * USEC_PER_SEC);
	settle();
}
END_TEST

/* ---- schedule-config.c ------------------------------------------------- */

/* Parameters are read into a configuration; unset ones keep defaults. */
START_TEST(test_config_apply)
{
	struct schedule_config	 c;
	const char		*field = NULL;
	char			*reason = NULL;
	json_t			*p;

	p = json_pack("{s:s, s:s, s:s, s:i, s:i, s:s}", "name", "n1",
	    "operation", "quick", "interval", "90m", "webhook_tolerance", 120,
	    "priority", 7, "tz", "Europe/Paris");
	schedule_config_init(&c);
	ck_assert_int_eq(schedule_config_apply(&c, "default", p, 1, &field,
	    &reason), 0);
	ck_assert_str_eq(c.name, "n1");
	ck_assert_str_eq(c.operation, "quick");
	ck_assert_int_eq(c.trigger, TRIGGER_INTERVAL);
	ck_assert_str_eq(c.trigger_text, "90m");
	ck_assert_int_eq(c.interval_us, 90 * 60 * USEC_PER_SEC);
	ck_assert_int_eq(c.webhook_tolerance_s, 120);
	ck_assert_int_eq(c.priority, 7);
	ck_assert_str_eq(tz_name(c.tz), "Europe/Paris");
	ck_assert_int_eq(c.overlap, OVERLAP_SKIP);
	ck_assert_int_eq(c.history, 100);
	ck_assert_str_eq(c.parameters, "{}");
	json_decref(p);
	schedule_config_clear(&c);
}
END_TEST

/* A bad parameter is named, with the reason; so are two triggers. */
START_TEST(test_config_apply_bad)
{
	struct schedule_config	 c;
	const char		*field = NULL;
	char			*reason = NULL;
	json_t			*p;

	p = json_pack("{s:s, s:s, s:b, s:i}", "name", "n1", "operation",
	    "quick", "manual", 1, "webhook_tolerance", 0);
	schedule_config_init(&c);
	ck_assert_int_eq(schedule_config_apply(&c, "default", p, 1, &field,
	    &reason), -1);
	ck_assert_str_eq(field, "webhook_tolerance");
	ck_assert_ptr_nonnull(strstr(reason, "1 to 86400"));
	free(reason);
	reason = NULL;
	schedule_config_clear(&c);
	json_decref(p);
	p = json_pack("{s:s, s:s, s:s, s:s}", "name", "n1", "operation",
	    "quick", "cron", "* * * * *", "weekly", "mon 09:00");
	schedule_config_init(&c);
	ck_assert_int_eq(schedule_config_apply(&c, "default", p, 1, &field,
	    &reason), -1);
	ck_assert_str_eq(field, "cron");
	free(reason);
	schedule_config_clear(&c);
	json_decref(p);
}
END_TEST

/* A copy owns its strings: clearing the original leaves it whole. */
START_TEST(test_config_copy)
{
	struct schedule_config	 a, b;
	const char		*field = NULL;
	char			*reason = NULL;
	json_t			*p;

	p = json_pack("{s:s, s:s, s:s, s:s}", "name", "n1", "operation",
	    "quick", "cron", "0 9 * * *", "note", "hello");
	schedule_config_init(&a);
	ck_assert_int_eq(schedule_config_apply(&a, "default", p, 1, &field,
	    &reason), 0);
	schedule_config_copy(&b, &a);
	ck_assert_ptr_ne(b.name, a.name);
	schedule_config_clear(&a);
	ck_assert_str_eq(b.name, "n1");
	ck_assert_str_eq(b.note, "hello");
	ck_assert_str_eq(b.trigger_text, "0 9 * * *");
	ck_assert_ptr_null(b.model);
	schedule_config_clear(&b);
	json_decref(p);
}
END_TEST

/* ---- schedule-apply.c --------------------------------------------------- */

/* The configuration an entry of schedule.apply makes (as create does). */
static void
entry_config(struct schedule_config *c, const char *json)
{
	const char	*field = NULL;
	char		*reason = NULL;
	json_t		*p;

	ck_assert_ptr_nonnull(p = json_loads(json, 0, NULL));
	schedule_config_init(c);
	ck_assert_msg(schedule_config_apply(c, "default", p, 1, &field,
	    &reason) == 0, "%s: %s", field, reason);
	json_decref(p);
}

/* The same entry twice is no change; each field that differs is named
 * once, by its parameter; a field left out means its default again. */
START_TEST(test_apply_diff)
{
	struct schedule_config	 a, b;
	const char		*f[SCHEDULE_DIFF_MAX];

	entry_config(&a, "{\"name\":\"x\",\"operation\":\"quick\","
	    "\"cron\":\"0 3 * * *\",\"tz\":\"Europe/Paris\","
	    "\"priority\":7,\"parameters\":{\"b\":1,\"a\":2}}");
	entry_config(&b, "{\"name\":\"x\",\"operation\":\"quick\","
	    "\"cron\":\"0 3 * * *\",\"tz\":\"Europe/Paris\","
	    "\"priority\":7,\"parameters\":{\"a\":2,\"b\":1}}");
	ck_assert_int_eq(schedule_config_diff(&a, &b, f, SCHEDULE_DIFF_MAX),
	    0);
	schedule_config_clear(&b);
	entry_config(&b, "{\"name\":\"x\",\"operation\":\"quick\","
	    "\"cron\":\"0 4 * * *\",\"tz\":\"Europe/Paris\","
	    "\"note\":\"n\",\"parameters\":{\"a\":2,\"b\":1}}");
	ck_assert_int_eq(schedule_config_diff(&a, &b, f, SCHEDULE_DIFF_MAX),
	    3);
	ck_assert_str_eq(f[0], "cron");
	ck_assert_str_eq(f[1], "priority");
	ck_assert_str_eq(f[2], "note");
	schedule_config_clear(&b);
	/* Another trigger is named by the new one. */
	entry_config(&b, "{\"name\":\"x\",\"operation\":\"quick\","
	    "\"interval\":\"1h\",\"tz\":\"Europe/Paris\",\"priority\":7,"
	    "\"parameters\":{\"a\":2,\"b\":1}}");
	ck_assert_int_eq(schedule_config_diff(&a, &b, f, 1), 1);
	ck_assert_str_eq(f[0], "interval");
	schedule_config_clear(&a);
	schedule_config_clear(&b);
}
END_TEST

/* What differs only in form is still a difference where the schedule
 * shows it (an interval's text); MAX bounds the names written. */
START_TEST(test_apply_diff_bad)
{
	struct schedule_config	 a, b;
	const char		*f[2] = { NULL, NULL };

	entry_config(&a, "{\"name\":\"x\",\"operation\":\"quick\","
	    "\"interval\":\"1h\"}");
	entry_config(&b, "{\"name\":\"x\",\"operation\":\"quick\","
	    "\"interval\":3600}");
	ck_assert_int_eq(schedule_config_diff(&a, &b, f, 2), 1);
	ck_assert_str_eq(f[0], "interval");
	schedule_config_clear(&b);
	entry_config(&b, "{\"name\":\"x\",\"operation\":\"gate\","
	    "\"manual\":true,\"tz\":\"Asia/Tokyo\",\"history\":5}");
	ck_assert_int_eq(schedule_config_diff(&a, &b, f, 1), 1);
	ck_assert_ptr_null(f[1]);
	schedule_config_clear(&a);
	schedule_config_clear(&b);
}
END_TEST

/* A reply that keeps what it was answered. */
struct kept_reply {
	struct reply	 r;
	json_t		*ok;
	json_t		*data;
	int		 kind;	/* -1: ok */
	int		 answered;
};

static void
kept_ok(struct reply *r, json_t *res)
{
	struct kept_reply	*k = (struct kept_reply *)r;

	k->ok = res;
	k->kind = -1;
	k->answered = 1;
}

static void
kept_fail(struct reply *r, enum reply_kind kind, const char *msg,
    json_t *data)
{
	struct kept_reply	*k = (struct kept_reply *)r;

	k->data = data;
	k->kind = (int)kind;
	k->answered = 1;
}

static const struct reply_ops kept_ops = { kept_ok, kept_fail, NULL, NULL };

/* schedule.apply of SET (JSON) to "default", answered in *K. */
static void
apply(struct kept_reply *k, const char *set, int prune, int dry_run)
{
	json_t	*s;
	int64_t	 deadline = mono_us() + 20 * USEC_PER_SEC;

	json_decref(k->ok);
	json_decref(k->data);
	memset(k, 0, sizeof *k);
	k->r.ops = &kept_ops;
	k->r.caller.admin = 1;
	ck_assert_ptr_nonnull(s = json_loads(set, 0, NULL));
	schedule_ctl_apply(&k->r, "default", s, prune, dry_run, 0);
	json_decref(s);
	while (!k->answered) {
		ck_assert_msg(mono_us() < deadline, "not answered");
		event_base_loop(engine->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
}

static int64_t
count_of(const struct kept_reply *k, const char *outcome)
{
	return (json_integer_value(json_object_get(json_object_get(k->ok,
	    outcome), "count")));
}

/* Created, unchanged, updated and pruned, each in one record. */
START_TEST(test_apply_set)
{
	struct kept_reply	 k;
	struct schedule		*s;
	uint64_t		 seq;

	memset(&k, 0, sizeof k);
	apply(&k, "{\"a\":{\"operation\":\"quick\",\"manual\":true},"
	    "\"b\":{\"operation\":\"quick\",\"cron\":\"0 3 * * *\"},"
	    "\"c\":{\"operation\":\"quick\",\"interval\":\"1h\"}}", 0, 0);
	ck_assert_int_eq(k.kind, -1);
	ck_assert_int_eq(count_of(&k, "created"), 3);
	seq = (uint64_t)json_integer_value(json_object_get(k.ok, "seq"));
	ck_assert_uint_gt(seq, 0);
	ck_assert_ptr_nonnull(s = schedule_by_name("default", "b"));
	ck_assert_str_eq(s->trigger_text, "0 3 * * *");
	ck_assert_int_ne(s->next_fire, 0);

	apply(&k, "{\"a\":{\"operation\":\"quick\",\"manual\":true},"
	    "\"b\":{\"operation\":\"quick\",\"cron\":\"0 3 * * *\"},"
	    "\"c\":{\"operation\":\"quick\",\"interval\":\"1h\"}}", 1, 0);
	ck_assert_int_eq(count_of(&k, "unchanged"), 3);
	ck_assert(json_is_null(json_object_get(k.ok, "seq")));

	apply(&k, "{\"a\":{\"operation\":\"quick\",\"manual\":true},"
	    "\"b\":{\"operation\":\"quick\",\"cron\":\"0 5 * * *\"}}",
	    1, 1);
	ck_assert_int_eq(count_of(&k, "updated"), 1);
	ck_assert_int_eq(count_of(&k, "deleted"), 1);
	ck_assert(json_is_null(json_object_get(k.ok, "seq")));
	ck_assert_str_eq(schedule_by_name("default", "b")->trigger_text,
	    "0 3 * * *");
	ck_assert_ptr_nonnull(schedule_by_name("default", "c"));

	apply(&k, "{\"a\":{\"operation\":\"quick\",\"manual\":true},"
	    "\"b\":{\"operation\":\"quick\",\"cron\":\"0 5 * * *\"}}",
	    1, 0);
	ck_assert_int_eq(k.kind, -1);
	ck_assert_uint_eq((uint64_t)json_integer_value(json_object_get(k.ok,
	    "seq")), seq + 1);
	ck_assert_str_eq(json_string_value(json_array_get(json_object_get(
	    json_object_get(json_object_get(k.ok, "updated"), "fields"), "b"),
	    0)), "cron");
	ck_assert_str_eq(schedule_by_name("default", "b")->trigger_text,
	    "0 5 * * *");
	ck_assert_ptr_null(schedule_by_name("default", "c"));
	json_decref(k.ok);
}
END_TEST

/* One bad entry refuses the whole set, naming it; nothing changes. */
START_TEST(test_apply_set_bad)
{
	struct kept_reply	 k;

	memset(&k, 0, sizeof k);
	apply(&k, "{\"a\":{\"operation\":\"quick\",\"manual\":true}}", 0,
	    0);
	ck_assert_int_eq(count_of(&k, "created"), 1);
	apply(&k, "{\"a\":{\"operation\":\"quick\",\"cron\":\"1 * * * *\"},"
	    "\"new\":{\"operation\":\"quick\",\"manual\":true},"
	    "\"z\":{\"operation\":\"quick\",\"weekly\":\"funday 09:00\"}}",
	    1, 0);
	ck_assert_int_eq(k.kind, REPLY_INVALID);
	ck_assert_str_eq(json_string_value(json_object_get(k.data, "field")),
	    "schedules.z.weekly");
	ck_assert_str_eq(json_string_value(json_object_get(k.data, "name")),
	    "z");
	ck_assert_ptr_null(schedule_by_name("default", "new"));
	ck_assert_str_eq(schedule_by_name("default", "a")->trigger_text, "");
	/* The name "new" was given back: it may be created now. */
	apply(&k, "{\"new\":{\"operation\":\"quick\",\"manual\":true}}", 0,
	    0);
	ck_assert_int_eq(count_of(&k, "created"), 1);
	apply(&k, "{\".bad\":{\"operation\":\"quick\",\"manual\":true}}", 0,
	    0);
	ck_assert_int_eq(k.kind, REPLY_INVALID);
	ck_assert_str_eq(json_string_value(json_object_get(k.data, "field")),
	    "schedules..bad");
	json_decref(k.data);
}
END_TEST

/* ---- the registry ------------------------------------------------------ */

static void
count_cb(struct schedule *s, void *arg)
{
	(*(int *)arg)++;
}

/* schedule_foreach visits the account's schedules, not deleted ones. */
START_TEST(test_foreach_account)
{
	int	n = 0;

	put_schedule("f1", "quick", "manual", "", "latest",
	    3600 * USEC_PER_SEC, now_us());
	put_schedule("f2", "quick", "manual", "", "latest",
	    3600 * USEC_PER_SEC, now_us());
	load();
	schedule_foreach("default", count_cb, &n);
	ck_assert_int_eq(n, 2);
	n = 0;
	schedule_foreach(NULL, count_cb, &n);
	ck_assert_int_eq(n, 2);
	n = 0;
	schedule_set_state(schedule_find("f2"), SCHEDULE_DELETED);
	schedule_foreach("default", count_cb, &n);
	ck_assert_int_eq(n, 1);
}
END_TEST

/* No schedule of another account is visited. */
START_TEST(test_foreach_account_bad)
{
	int	n = 0;

	schedule_foreach("default", count_cb, &n);
	ck_assert_int_eq(n, 0);
	put_schedule("f3", "quick", "manual", "", "latest",
	    3600 * USEC_PER_SEC, now_us());
	load();
	schedule_foreach("other", count_cb, &n);
	ck_assert_int_eq(n, 0);
}
END_TEST

/* ---- pack_map ---------------------------------------------------------- */

/* A map from pairs is the bytes the keyed writers give after its size. */
START_TEST(test_pack_map)
{
	struct pack_buffer	 a, b;
	const struct pack_pair	 v[] = {
		PACK_PAIR_STR("s", "x"),
		PACK_PAIR_STR("nil", NULL),
		PACK_PAIR_INT("i", -5),
		PACK_PAIR_JSON("j", NULL),
		PACK_PAIR_RAW("r", "\x93\x01\x02\x03", 4),
	};

	pack_buffer_init(&a);
	pack_buffer_init(&b);
	PACK_MAP(&a.pk, v);
	msgpack_pack_map(&b.pk, 5);
	pack_kstr(&b.pk, "s", "x");
	pack_kstr(&b.pk, "nil", NULL);
	pack_kint(&b.pk, "i", -5);
	pack_kjson(&b.pk, "j", NULL);
	pack_str(&b.pk, "r");
	msgpack_pack_array(&b.pk, 3);
	msgpack_pack_int64(&b.pk, 1);
	msgpack_pack_int64(&b.pk, 2);
	msgpack_pack_int64(&b.pk, 3);
	ck_assert_uint_eq(a.sbuf.size, b.sbuf.size);
	ck_assert_int_eq(memcmp(a.sbuf.data, b.sbuf.data, a.sbuf.size), 0);
	pack_buffer_clear(&a);
	pack_buffer_clear(&b);
}
END_TEST

/* An empty list of pairs is an empty map, and a pair count is not a
 * guess: a map of three pairs does not read as four. */
START_TEST(test_pack_map_bad)
{
	struct pack_buffer	 a;
	msgpack_unpacked	 u;
	const struct pack_pair	 v[] = {
		PACK_PAIR_INT("a", 1),
		PACK_PAIR_INT("b", 2),
		PACK_PAIR_INT("c", 3),
	};

	pack_buffer_init(&a);
	pack_map(&a.pk, v, 0);
	ck_assert_uint_eq(a.sbuf.size, 1);
	ck_assert_int_eq((unsigned char)a.sbuf.data[0], 0x80);
	pack_buffer_clear(&a);
	pack_buffer_init(&a);
	PACK_MAP(&a.pk, v);
	ck_assert_int_eq(unpack_buffer(a.sbuf.data, a.sbuf.size, &u), 0);
	ck_assert_uint_eq(u.data.via.map.size, 3);
	ck_assert_int_eq(unpack_int(&u.data, "c", 0), 3);
	msgpack_unpacked_destroy(&u);
	ck_assert_int_eq(unpack_buffer(a.sbuf.data, a.sbuf.size - 1, &u), -1);
	pack_buffer_clear(&a);
}
END_TEST

/* ---- the list's orders and cursors ------------------------------------ */

/* Each sort by its name, reversed with a leading '-'; a cursor under a
 * sort gives back its key, account and name. */
START_TEST(test_list_sort_cursor)
{
	struct schedule_filter	f;

	memset(&f, 0, sizeof f);
	ck_assert_int_eq(schedule_sort_parse(&f, "next_fire"), 0);
	ck_assert_int_eq(f.sort, SCHEDULE_SORT_NEXT_FIRE);
	ck_assert_int_eq(f.desc, 0);
	ck_assert_int_eq(schedule_cursor_parse(&f,
	    "next_fire:1795350059000000:acme/job-1"), 0);
	ck_assert_int_eq(f.after, 1);
	ck_assert_int_eq(f.after_num, 1795350059000000LL);
	ck_assert_str_eq(f.after_account, "acme");
	ck_assert_str_eq(f.after_name, "job-1");

	memset(&f, 0, sizeof f);
	ck_assert_int_eq(schedule_sort_parse(&f, "-state"), 0);
	ck_assert_int_eq(f.sort, SCHEDULE_SORT_STATE);
	ck_assert_int_eq(f.desc, 1);
	ck_assert_int_eq(schedule_cursor_parse(&f, "-state:paused:a/b"), 0);
	ck_assert_str_eq(f.after_str, "paused");

	memset(&f, 0, sizeof f);
	ck_assert_int_eq(schedule_sort_parse(&f, "-name"), 0);
	ck_assert_int_eq(schedule_cursor_parse(&f, "-name::a/b"), 0);
	ck_assert_str_eq(f.after_name, "b");

	memset(&f, 0, sizeof f);	/* the default order: as before */
	ck_assert_int_eq(schedule_cursor_parse(&f, "default/gamma"), 0);
	ck_assert_str_eq(f.after_account, "default");
	ck_assert_str_eq(f.after_name, "gamma");
}
END_TEST

/* Unknown sorts; cursors of another sort, with a bad key, a bad id, or
 * cut short, are refused. */
START_TEST(test_list_sort_cursor_bad)
{
	static const char *const bad[] = {
		"state:active:a/b",		/* of another sort */
		"next_fire::a/b",		/* no key */
		"next_fire:12x:a/b",		/* not a number */
		"next_fire:99999999999999999999:a/b",	/* out of range */
		"next_fire:1:a",		/* no name */
		"next_fire:1:a/../b",		/* not an id */
		"next_fire:1:/b",
		"next_fire:1",
		"a/b",				/* the default order's */
		"",
	};
	struct schedule_filter	f;
	size_t			i;

	memset(&f, 0, sizeof f);
	ck_assert_int_eq(schedule_sort_parse(&f, "colour"), -1);
	ck_assert_int_eq(schedule_sort_parse(&f, "--name"), -1);
	ck_assert_int_eq(schedule_sort_parse(&f, ""), -1);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(&f, 0, sizeof f);
		ck_assert_int_eq(schedule_sort_parse(&f, "next_fire"), 0);
		ck_assert_msg(schedule_cursor_parse(&f, bad[i]) == -1,
		    "cursor \"%s\" taken", bad[i]);
		ck_assert_int_eq(f.after, 0);
	}
	memset(&f, 0, sizeof f);
	ck_assert_int_eq(schedule_cursor_parse(&f, "name::a/b"), -1);
	ck_assert_int_eq(schedule_cursor_parse(&f, "a/b/c"), -1);
}
END_TEST

static Suite *
run_suite(void)
{
	Suite	*s = suite_create("run");

	lib_tcase(s, "core", NULL, NULL, 0,
	    test_run_id_parse,
	    test_run_id_parse_bad,
	    test_run_status_names,
	    test_run_status_names_bad,
	    test_run_row_key_order,
	    NULL);
	return (s);
}

static Suite *
schedule_suite(void)
{
	Suite	*s = suite_create("schedule");

	lib_tcase(s, "recovery", setup, teardown, 60,
	    test_catchup_latest,
	    test_catchup_skip,
	    test_catchup_all,
	    test_catchup_window_bad,
	    test_recover_interrupted,
	    test_recover_retried,
	    test_recover_pending,
	    test_recover_bad_rows,
	    test_next_interval,
	    test_dst_suppressed_recorded,
	    test_recover_missing_operation_bad,
	    test_dst_cadence_not_suppressed_bad,
	    test_load_many,
	    test_load_stray_bad,
	    test_load_widths,
	    NULL);
	lib_tcase(s, "config", setup, teardown, 0,
	    test_config_apply,
	    test_config_apply_bad,
	    test_config_copy,
	    test_pack_map,
	    test_pack_map_bad,
	    test_apply_diff,
	    test_apply_diff_bad,
	    NULL);
	lib_tcase(s, "apply", setup, teardown, 60,
	    test_apply_set,
	    test_apply_set_bad,
	    NULL);
	lib_tcase(s, "registry", setup, teardown, 60,
	    test_foreach_account,
	    test_foreach_account_bad,
	    NULL);
	lib_tcase(s, "list", NULL, NULL, 0,
	    test_list_sort_cursor,
	    test_list_sort_cursor_bad,
	    NULL);
	return (s);
}

int
main(void)
{
	log_open("check_schedule", LOG_LEVEL_WARN);
	return (lib_run(CK_NORMAL, run_suite(), schedule_suite(), NULL));
}
