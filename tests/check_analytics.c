/*
 * tests/check_analytics.c: the analytics rows (actors/analytics.c) as
 * pure functions: a run map's delta (its row key, the local day in the
 * account's zone, what it counts) and a row plus deltas, the arithmetic
 * the daemon's merge and replay's fold share.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "lib.h"

/* What analytics_deltas handed over for one level. */
struct want {
	int			 level;
	int			 seen;
	struct pack_buffer	*d;
	char			*key;
};

static int
want_delta(const char *key, const void *delta, size_t dlen, void *arg)
{
	struct want	*w = arg;

	if (w->seen++ == w->level) {
		snprintf(w->key, ANALYTICS_KEY_MAX, "%s", key);
		msgpack_sbuffer_write(&w->d->sbuf, delta, dlen);
	}
	return (0);
}

/* The delta of run map TEXT for account "acme" in ZONE for its row of
 * LEVEL: 0 and the key, or 1; DELTA holds it. */
static int
delta_level(const char *text, const char *zone, int level,
    struct pack_buffer *d, char *key)
{
	struct pack_buffer	 pb;
	struct want		 w;
	msgpack_unpacked	 u;
	json_t			*j;
	int			 rc;

	j = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(j);
	pack_buffer_init(&pb);
	lib_pack_json(&pb.pk, j);
	json_decref(j);
	ck_assert_int_eq(unpack_buffer(pb.sbuf.data, pb.sbuf.size, &u), 0);
	pack_buffer_init(d);
	w.level = level;
	w.seen = 0;
	w.d = d;
	w.key = key;
	rc = analytics_deltas("acme", &u.data, tz_load(zone, NULL),
	    want_delta, &w);
	ck_assert_int_eq(w.seen, rc == 0 ? ANALYTICS_LEVELS : 0);
	msgpack_unpacked_destroy(&u);
	pack_buffer_clear(&pb);
	return (rc);
}

/* The delta for the day's row. */
static int
delta(const char *text, const char *zone, struct pack_buffer *d, char *key)
{
	return (delta_level(text, zone, ANALYTICS_DAY, d, key));
}

/* ROW (new, or NULL) plus the delta of run TEXT for the row of LEVEL:
 * the new row. */
static msgpack_sbuffer *
add_level(msgpack_sbuffer *row, const char *text, int level, char *key)
{
	struct pack_buffer	 d;
	msgpack_sbuffer		*out = xcalloc(1, sizeof *out);

	ck_assert_int_eq(delta_level(text, "America/New_York", level, &d,
	    key), 0);
	msgpack_sbuffer_init(out);
	analytics_merge(row != NULL ? row->data : NULL, row != NULL ?
	    row->size : 0, d.sbuf.data, d.sbuf.size, out);
	pack_buffer_clear(&d);
	if (row != NULL) {
		msgpack_sbuffer_destroy(row);
		free(row);
	}
	return (out);
}

static msgpack_sbuffer *
add(msgpack_sbuffer *row, const char *text, char *key)
{
	return (add_level(row, text, ANALYTICS_DAY, key));
}

/* ROW as JSON (new). */
static json_t *
row_json(const msgpack_sbuffer *row)
{
	msgpack_unpacked	 u;
	json_t			*j;

	ck_assert_int_eq(unpack_buffer(row->data, row->size, &u), 0);
	j = record_object_to_json(&u.data);
	msgpack_unpacked_destroy(&u);
	return (j);
}

static int64_t
num(json_t *j, const char *path1, const char *path2)
{
	json_t	*v = json_object_get(j, path1);

	if (path2 != NULL)
		v = json_object_get(v, path2);
	ck_assert_msg(json_is_integer(v), "%s.%s", path1, path2 ? path2 : "");
	return (json_integer_value(v));
}

#define RUN(status, extra) \
	"{\"operation\":\"op\",\"model\":\"m\",\"schedule\":\"s1\"," \
	"\"status\":\"" status "\"," \
	"\"scheduled_for_us\":1767225600000000," extra "}"

/* A run counts on its local day: 2026-01-01T03:00Z is 2025-12-31 in New
 * York; a run without a model counts under "-". */
START_TEST(test_analytics_delta)
{
	struct pack_buffer	 d;
	char			 key[ANALYTICS_KEY_MAX];

	ck_assert_int_eq(delta(RUN("success",
	    "\"finished_us\":1767236400000000"), "America/New_York", &d, key),
	    0);
	ck_assert_str_eq(key, "acme/20251231/op/m/s1");
	pack_buffer_clear(&d);
	ck_assert_int_eq(delta(RUN("success",
	    "\"finished_us\":1767236400000000"), "UTC", &d, key), 0);
	ck_assert_str_eq(key, "acme/20260101/op/m/s1");
	pack_buffer_clear(&d);
	ck_assert_int_eq(delta("{\"operation\":\"op\",\"status\":\"missed\","
	    "\"model\":null,\"scheduled_for_us\":1767225600000000}", "UTC",
	    &d, key), 0);
	ck_assert_str_eq(key, "acme/20260101/op/-/-");
	pack_buffer_clear(&d);
}
END_TEST

/* Runs that are not ended, and the missed aggregate (no operation), add
 * nothing. */
START_TEST(test_analytics_delta_bad)
{
	struct pack_buffer	 d;
	char			 key[ANALYTICS_KEY_MAX];

	ck_assert_int_eq(delta(RUN("running", "\"started_us\":1"), "UTC", &d,
	    key), 1);
	pack_buffer_clear(&d);
	ck_assert_int_eq(delta(RUN("pending", "\"cost_micro\":5"), "UTC", &d,
	    key), 1);
	pack_buffer_clear(&d);
	ck_assert_int_eq(delta("{\"schedule\":\"s\",\"status\":\"missed\","
	    "\"count\":30}", "UTC", &d, key), 1);
	pack_buffer_clear(&d);
}
END_TEST

/* Runs add up: statuses, skips by their reason's first word, cost and
 * estimates of the runs that ran, tokens, latency into its bucket. */
START_TEST(test_analytics_merge)
{
	msgpack_sbuffer	*row = NULL;
	char		 key[ANALYTICS_KEY_MAX];
	json_t		*j;

	/* 2 s, cost 100 in [80, 120] (mid 100: no error) */
	row = add(row, RUN("success", "\"started_us\":1767236400000000,"
	    "\"finished_us\":1767236402000000,\"cost_micro\":100,"
	    "\"estimate_micro\":{\"low\":80,\"mid\":100,\"high\":120},"
	    "\"usage\":{\"input_tokens\":10,\"output_tokens\":4}"), key);
	/* 30 ms, cost 200 outside [80, 120] (mid 100: 50 % off) */
	row = add(row, RUN("failed", "\"started_us\":1767236400000000,"
	    "\"finished_us\":1767236400030000,\"cost_micro\":200,"
	    "\"estimate_micro\":{\"low\":80,\"mid\":100,\"high\":120},"
	    "\"usage\":{\"input_tokens\":-1,\"output_tokens\":6}"), key);
	row = add(row, RUN("skipped", "\"finished_us\":1767236400000000,"
	    "\"cost_micro\":-1,\"reason\":\"budget: the account's cap\""),
	    key);
	row = add(row, RUN("skipped", "\"finished_us\":1767236400000000,"
	    "\"reason\":\"overlap\""), key);
	row = add(row, RUN("skipped", "\"finished_us\":1767236400000000,"
	    "\"reason\":\"budget\""), key);
	j = row_json(row);
	ck_assert_str_eq(json_string_value(json_object_get(j, "account")),
	    "acme");
	ck_assert_int_eq(num(j, "day", NULL), 20251231);
	ck_assert_int_eq(num(j, "runs", "success"), 1);
	ck_assert_int_eq(num(j, "runs", "failed"), 1);
	ck_assert_int_eq(num(j, "runs", "skipped"), 3);
	ck_assert_int_eq(num(j, "runs", "missed"), 0);
	ck_assert_int_eq(num(j, "skipped", "budget"), 2);
	ck_assert_int_eq(num(j, "skipped", "overlap"), 1);
	ck_assert_int_eq(num(j, "cost_micro", NULL), 300);
	ck_assert_int_eq(num(j, "estimate_mid_micro", NULL), 200);
	ck_assert_int_eq(num(j, "costed", NULL), 2);
	ck_assert_int_eq(num(j, "estimated", NULL), 2);
	ck_assert_int_eq(num(j, "within", NULL), 1);
	ck_assert_int_eq(num(j, "error_ppm_sum", NULL), 500000);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(j,
	    "error_hist"), 0)), 1);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(j,
	    "error_hist"), analytics_error_bucket(500000))), 1);
	ck_assert_int_eq(num(j, "input_tokens", NULL), 10);
	ck_assert_int_eq(num(j, "output_tokens", NULL), 10);
	ck_assert_int_eq(num(j, "timed", NULL), 2);
	ck_assert_int_eq(num(j, "latency_us_sum", NULL), 2030000);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(j,
	    "latency_hist"), analytics_latency_bucket(2000000))), 1);
	ck_assert_int_eq(json_integer_value(json_array_get(json_object_get(j,
	    "latency_hist"), analytics_latency_bucket(30000))), 1);
	json_decref(j);
	msgpack_sbuffer_destroy(row);
	free(row);
}
END_TEST

/* The buckets: latency below 2^k ms, error below 5, 10, 20, 35, 50, 100 %;
 * an old row that does not read counts as none. */
START_TEST(test_analytics_merge_bad)
{
	struct pack_buffer	 d;
	msgpack_sbuffer		 out;
	char			 key[ANALYTICS_KEY_MAX];
	json_t			*j;

	ck_assert_int_eq(analytics_latency_bucket(0), 0);
	ck_assert_int_eq(analytics_latency_bucket(999), 0);
	ck_assert_int_eq(analytics_latency_bucket(1000), 1);
	ck_assert_int_eq(analytics_latency_bucket(2000), 2);
	ck_assert_int_eq(analytics_latency_bucket(INT64_MAX),
	    ANALYTICS_LATENCY_BUCKETS - 1);
	ck_assert_int_eq(analytics_error_bucket(0), 0);
	ck_assert_int_eq(analytics_error_bucket(49999), 0);
	ck_assert_int_eq(analytics_error_bucket(50000), 1);
	ck_assert_int_eq(analytics_error_bucket(999999), 5);
	ck_assert_int_eq(analytics_error_bucket(5000000), 6);
	ck_assert_int_eq(delta(RUN("cancelled", "\"finished_us\":"
	    "1767236400000000"), "UTC", &d, key), 0);
	msgpack_sbuffer_init(&out);
	analytics_merge("\xc1", 1, d.sbuf.data, d.sbuf.size, &out);
	j = row_json(&out);
	ck_assert_int_eq(num(j, "runs", "cancelled"), 1);
	ck_assert_int_eq(num(j, "runs", "success"), 0);
	json_decref(j);
	msgpack_sbuffer_destroy(&out);
	pack_buffer_clear(&d);
}
END_TEST

/* A run's end adds to five rows: its day's, dekad's (41-43) and month's
 * (day 00) under its operation, model and schedule, and the account's
 * totals of its day and month. */
START_TEST(test_analytics_levels)
{
	static const char *const keys[ANALYTICS_LEVELS] = {
		"acme/20251231/op/m/s1", "acme/20251243/op/m/s1",
		"acme/20251200/op/m/s1", "acme/total/20251231",
		"acme/total/20251200"
	};
	static const int64_t days[ANALYTICS_LEVELS] = {
		20251231, 20251243, 20251200, 20251231, 20251200
	};
	msgpack_sbuffer	*row;
	char		 key[ANALYTICS_KEY_MAX];
	json_t		*j;
	int		 level;

	for (level = 0; level < ANALYTICS_LEVELS; level++) {
		row = add_level(NULL, RUN("success",
		    "\"finished_us\":1767236400000000,\"cost_micro\":7"),
		    level, key);
		ck_assert_str_eq(key, keys[level]);
		j = row_json(row);
		ck_assert_int_eq(num(j, "day", NULL), days[level]);
		ck_assert_int_eq(num(j, "runs", "success"), 1);
		ck_assert_int_eq(num(j, "cost_micro", NULL), 7);
		ck_assert_str_eq(json_string_value(json_object_get(j,
		    "account")), "acme");
		if (level >= ANALYTICS_TOTAL_DAY)
			ck_assert(json_is_null(json_object_get(j,
			    "operation")) && json_is_null(json_object_get(j,
			    "model")) && json_is_null(json_object_get(j,
			    "schedule")));
		else
			ck_assert_str_eq(json_string_value(json_object_get(j,
			    "operation")), "op");
		json_decref(j);
		msgpack_sbuffer_destroy(row);
		free(row);
	}
	analytics_key(ANALYTICS_MONTH, "a", 20260315, "op", NULL, NULL, key,
	    sizeof key);
	ck_assert_str_eq(key, "a/20260300/op/-/-");
	ck_assert_int_eq(analytics_level_day(ANALYTICS_DEKAD, 20260310),
	    20260341);
	ck_assert_int_eq(analytics_level_day(ANALYTICS_DEKAD, 20260311),
	    20260342);
	ck_assert_int_eq(analytics_level_day(ANALYTICS_DEKAD, 20260220),
	    20260242);
	ck_assert_int_eq(analytics_level_day(ANALYTICS_DEKAD, 20260221),
	    20260243);
}
END_TEST

/* Deltas merged all at once (the writer's merge of a transaction) leave
 * the bytes merging them one by one leaves, from no row and from one. */
START_TEST(test_analytics_merge_all)
{
	static const char *const runs[] = {
		RUN("success", "\"finished_us\":1767236400000000,"
		    "\"started_us\":1767236300000000,\"cost_micro\":70,"
		    "\"estimate_micro\":{\"low\":50,\"mid\":60,\"high\":80},"
		    "\"usage\":{\"input_tokens\":3,\"output_tokens\":4}"),
		RUN("skipped", "\"reason\":\"budget: over\""),
		RUN("skipped", "\"reason\":\"paused\""),
		RUN("failed", "\"finished_us\":1767236400000000,"
		    "\"started_us\":1767236000000000"),
		RUN("skipped", "\"reason\":\"budget (cap)\""),
		RUN("missed", "\"count\":2")
	};
#define NRUNS	(sizeof runs / sizeof runs[0])
	struct pack_buffer	 d[NRUNS];
	struct journal_delta	 jd[NRUNS];
	msgpack_sbuffer		*one = NULL, all;
	char			 key[ANALYTICS_KEY_MAX];
	size_t			 i, k;
	int			 level;

	for (level = 0; level < ANALYTICS_LEVELS; level++) {
		for (k = 0; k < 2; k++) {
			/* k = 1: onto the row of the first two runs */
			one = NULL;
			for (i = 0; i < k * 2; i++)
				one = add_level(one, runs[i], level, key);
			msgpack_sbuffer_init(&all);
			for (i = 0; i < NRUNS; i++) {
				ck_assert_int_eq(delta_level(runs[i], "UTC",
				    level, &d[i], key), 0);
				jd[i].data = d[i].sbuf.data;
				jd[i].len = d[i].sbuf.size;
			}
			analytics_merge_all(one != NULL ? one->data : NULL,
			    one != NULL ? one->size : 0, jd, NRUNS,
			    &all);
			for (i = 0; i < NRUNS; i++) {
				msgpack_sbuffer	*next = xcalloc(1,
				    sizeof *next);

				msgpack_sbuffer_init(next);
				analytics_merge(one != NULL ? one->data : NULL,
				    one != NULL ? one->size : 0,
				    d[i].sbuf.data, d[i].sbuf.size, next);
				if (one != NULL) {
					msgpack_sbuffer_destroy(one);
					free(one);
				}
				one = next;
				pack_buffer_clear(&d[i]);
			}
			ck_assert_uint_eq(all.size, one->size);
			ck_assert(memcmp(all.data, one->data, all.size) == 0);
			msgpack_sbuffer_destroy(&all);
			msgpack_sbuffer_destroy(one);
			free(one);
		}
	}
#undef NRUNS
}
END_TEST

/* What analytics_deltas hands over, all levels, appended to a buffer. */
static int
all_deltas(const char *key, const void *delta, size_t dlen, void *arg)
{
	msgpack_sbuffer	*sb = arg;

	msgpack_sbuffer_write(sb, key, strlen(key) + 1);
	msgpack_sbuffer_write(sb, delta, dlen);
	return (0);
}

/* A run's end on the loop (analytics_add, the run map read in place)
 * merges the deltas replay finds in the record's object. */
START_TEST(test_analytics_add_raw)
{
	static const char *const runs[] = {
		RUN("success", "\"finished_us\":1767236400000000,"
		    "\"started_us\":1767236300000000,\"cost_micro\":70,"
		    "\"estimate_micro\":{\"low\":50,\"mid\":60,\"high\":80},"
		    "\"usage\":{\"input_tokens\":3,\"output_tokens\":true}"),
		RUN("skipped", "\"reason\":\"budget: over\",\"cost_micro\":"
		    "null,\"estimate_micro\":7,\"usage\":{\"x\":1}"),
		RUN("failed", "\"finished_us\":-1500000,\"started_us\":-3"),
		"{\"operation\":\"op\",\"scheduled_for_us\":5,"
		    "\"model\":3,\"estimate_micro\":{\"mid\":\"x\",\"low\":2}}",
		"{\"status\":\"success\"}",
		"{\"status\":\"running\",\"operation\":\"op\"}",
		"[1, 2]"
	};
	struct pack_buffer	 pb;
	msgpack_sbuffer		 want, got;
	msgpack_unpacked	 u;
	struct jrec		*rec;
	json_t			*j;
	size_t			 i;
	u_int			 k;

	for (i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		j = json_loads(runs[i], 0, NULL);
		ck_assert_ptr_nonnull(j);
		pack_buffer_init(&pb);
		lib_pack_json(&pb.pk, j);
		json_decref(j);
		msgpack_sbuffer_init(&want);
		msgpack_sbuffer_init(&got);
		ck_assert_int_eq(unpack_buffer(pb.sbuf.data, pb.sbuf.size, &u),
		    0);
		analytics_deltas("acme", &u.data, tz_load("UTC", NULL),
		    all_deltas, &want);
		msgpack_unpacked_destroy(&u);
		rec = jrec_create("run.finished", "acme");
		analytics_add(rec, "acme", pb.sbuf.data, pb.sbuf.size);
		for (k = 0; k < rec->nops; k++) {
			ck_assert_int_eq(rec->ops[k].type, JREC_MERGE);
			msgpack_sbuffer_write(&got, jrec_str(rec,
			    rec->ops[k].key), rec->ops[k].klen);
			msgpack_sbuffer_write(&got, "", 1);
			msgpack_sbuffer_write(&got, jrec_str(rec,
			    rec->ops[k].val), rec->ops[k].vlen);
		}
		ck_assert_msg(got.size == want.size && (got.size == 0 ||
		    memcmp(got.data, want.data, got.size) == 0), "run %zu", i);
		jrec_free(rec);
		msgpack_sbuffer_destroy(&want);
		msgpack_sbuffer_destroy(&got);
		pack_buffer_clear(&pb);
	}
}
END_TEST

/* A month's total added up from its day rows equals the one the runs'
 * deltas built (the journal upgrade's path and the run ends' agree). */
START_TEST(test_analytics_row_sum)
{
	static const char *const runs[] = {
		RUN("success", "\"started_us\":1767236400000000,"
		    "\"finished_us\":1767236402000000,\"cost_micro\":100,"
		    "\"estimate_micro\":{\"low\":80,\"mid\":100,"
		    "\"high\":120}"),
		RUN("skipped", "\"finished_us\":1767236400000000,"
		    "\"reason\":\"budget: cap\""),
		"{\"operation\":\"op2\",\"model\":\"m\",\"status\":"
		    "\"skipped\",\"reason\":\"overlap\",\"finished_us\":"
		    "1766000000000000}",
		"{\"operation\":\"op2\",\"status\":\"failed\","
		    "\"started_us\":1766000000000000,\"finished_us\":"
		    "1766000000500000,\"cost_micro\":3}"
	};
	msgpack_sbuffer	*day[2] = { NULL, NULL }, *month = NULL, sum, out;
	char		 key[ANALYTICS_KEY_MAX];
	json_t		*a, *b;
	size_t		 i;

	for (i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		day[i / 2] = add(day[i / 2], runs[i], key);
		month = add_level(month, runs[i], ANALYTICS_TOTAL_MONTH, key);
	}
	ck_assert_str_eq(key, "acme/total/20251200");
	msgpack_sbuffer_init(&sum);
	for (i = 0; i < 2; i++) {
		msgpack_sbuffer_init(&out);
		analytics_row_sum(sum.size > 0 ? sum.data : NULL, sum.size,
		    day[i]->data, day[i]->size, ANALYTICS_TOTAL_MONTH, &out);
		msgpack_sbuffer_destroy(&sum);
		sum = out;
		msgpack_sbuffer_destroy(day[i]);
		free(day[i]);
	}
	a = row_json(month);
	b = row_json(&sum);
	ck_assert_int_eq(num(b, "runs", "skipped"), 2);
	ck_assert_int_eq(num(b, "skipped", "overlap"), 1);
	ck_assert_int_eq(num(b, "day", NULL), 20251200);
	ck_assert_msg(json_equal(a, b), "%s\n%s", json_dumps(a, 0),
	    json_dumps(b, 0));
	json_decref(a);
	json_decref(b);
	msgpack_sbuffer_destroy(&sum);
	msgpack_sbuffer_destroy(month);
	free(month);
}
END_TEST

static Suite *
analytics_suite(void)
{
	Suite	*s = suite_create("analytics");

	lib_tcase(s, "rows", NULL, NULL, 30,
	    test_analytics_delta,
	    test_analytics_delta_bad,
	    test_analytics_merge,
	    test_analytics_merge_bad,
	    test_analytics_merge_all,
	    test_analytics_add_raw,
	    test_analytics_levels,
	    test_analytics_row_sum,
	    NULL);
	return (s);
}

int
main(void)
{
	log_open("check_analytics", LOG_LEVEL_WARN);
	return (lib_run(CK_NORMAL, analytics_suite(), NULL));
}
