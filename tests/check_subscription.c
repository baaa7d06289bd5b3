/*
 * tests/check_subscription.c: what subscriptions are as data
 * (actors/subscription-row.c): the retry schedule and its jitter bounds,
 * Retry-After as it lengthens a wait, the kinds filter and which records a
 * subscription is sent, and subscription_apply, the pure function from a
 * subscription.* record to its table changes that replay relies on.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "lib.h"

#define S	USEC_PER_SEC

/* The schedule without jitter: the middle of each window. */
START_TEST(test_subscription_retry_schedule)
{
	static const int64_t want[] = { 5 * S, 300 * S, 1800 * S, 7200 * S,
	    18000 * S, 36000 * S, 36000 * S, 36000 * S, 36000 * S };
	size_t	i;
	int64_t	d;

	for (i = 0; i < sizeof want / sizeof want[0]; i++) {
		/* rnd == jitter: base - jitter + jitter == base */
		d = subscription_retry_delay((int64_t)i + 1,
		    (uint64_t)(want[i] / 5), 1);
		ck_assert_int_eq(d, want[i]);
	}
}
END_TEST

/* A scale divides every delay; a bad attempt number or scale is taken
 * as 1. */
START_TEST(test_subscription_retry_scale)
{
	ck_assert_int_eq(subscription_retry_delay(1, 10, 100000), 50);
	ck_assert_int_eq(subscription_retry_delay(0, 1000000, 1),
	    subscription_retry_delay(1, 1000000, 1));
	ck_assert_int_eq(subscription_retry_delay(2, 60 * S, 0),
	    subscription_retry_delay(2, 60 * S, 1));
}
END_TEST

/* The jitter stays within +-20 % and uses the whole window. */
START_TEST(test_subscription_jitter_bounds)
{
	int64_t		n, d, base, lo = INT64_MAX, hi = 0;
	int		i;

	for (n = 1; n <= 9; n++) {
		base = subscription_retry_delay(n, 0, 1) * 10 / 8;
		lo = INT64_MAX;
		hi = 0;
		for (i = 0; i < 5000; i++) {
			d = subscription_retry_delay(n, lib_rnd(), 1);
			ck_assert_int_ge(d, base - base / 5);
			ck_assert_int_le(d, base + base / 5);
			lo = d < lo ? d : lo;
			hi = d > hi ? d : hi;
		}
		ck_assert_int_lt(lo, base - base / 10);
		ck_assert_int_gt(hi, base + base / 10);
	}
}
END_TEST

/* Retry-After lengthens a wait, never shortens it, and is capped. */
START_TEST(test_subscription_retry_after)
{
	int64_t	now = 1700000000 * S;

	ck_assert_int_eq(subscription_next_delay(5 * S, -1), 5 * S);
	ck_assert_int_eq(subscription_next_delay(5 * S, 1000), 5 * S);
	ck_assert_int_eq(subscription_next_delay(5 * S, 30000), 30 * S);
	ck_assert_int_eq(subscription_next_delay(0, INT64_MAX / 2),
	    SUB_RETRY_AFTER_MAX_US);
	/* As the http client reads the header: seconds or an HTTP date. */
	ck_assert_int_eq(subscription_next_delay(0, http_retry_after("7",
	    now)), 7 * S);
	ck_assert_int_eq(subscription_next_delay(0, http_retry_after(
	    "Tue, 14 Nov 2023 22:13:40 GMT", now)), 20 * S);
}
END_TEST

/* Unreadable Retry-After values leave the schedule's delay. */
START_TEST(test_subscription_retry_after_bad)
{
	int64_t	now = 1700000000 * S;

	ck_assert_int_eq(subscription_next_delay(5 * S, http_retry_after(
	    "soon", now)), 5 * S);
	ck_assert_int_eq(subscription_next_delay(5 * S, http_retry_after(
	    "5 s", now)), 5 * S);
	ck_assert_int_eq(subscription_next_delay(5 * S, http_retry_after(
	    "", now)), 5 * S);
}
END_TEST

static void
kinds_free(char **k, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(k[i]);
	free(k);
}

/* Exact kinds, prefixes and "*". */
START_TEST(test_subscription_kinds)
{
	char	**k, *cause = NULL;
	size_t	  n;

	ck_assert_int_eq(subscription_kinds_parse(" run.finished , budget.*",
	    &k, &n, &cause), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert(subscription_kind_match(k, n, "run.finished"));
	ck_assert(subscription_kind_match(k, n, "budget.threshold"));
	ck_assert(!subscription_kind_match(k, n, "run.started"));
	ck_assert(!subscription_kind_match(k, n, "budgets.x"));
	ck_assert(!subscription_kind_match(k, n, "budget"));
	kinds_free(k, n);
	ck_assert_int_eq(subscription_kinds_parse("run.*,*", &k, &n, &cause),
	    0);
	ck_assert_uint_eq(n, 0);
	ck_assert(subscription_kind_match(k, n, "anything.at_all"));
	kinds_free(k, n);
}
END_TEST

/* Bad filters are refused, naming what is wrong. */
START_TEST(test_subscription_kinds_bad)
{
	static const char *const bad[] = { "", "run..x", ".run", "run.",
	    "Run.finished", "run finished", "run.*.x", "a,,b",
	    "subscription.*", "subscription.delivered", "*x" };
	char	**k, *cause, many[200];
	size_t	  i, n;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		ck_assert_msg(subscription_kinds_parse(bad[i], &k, &n,
		    &cause) == -1, "%s accepted", bad[i]);
		ck_assert_ptr_nonnull(cause);
		ck_assert_ptr_null(k);
		free(cause);
	}
	many[0] = '\0';
	for (i = 0; i < SUB_MAX_KINDS + 1; i++)
		snprintf(many + strlen(many), sizeof many - strlen(many),
		    "%sk%zu", i > 0 ? "," : "", i);
	cause = NULL;
	ck_assert_int_eq(subscription_kinds_parse(many, &k, &n, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "at most"));
	free(cause);
}
END_TEST

/* An account's subscription gets its account's records; an all-accounts
 * one every record; none gets subscription.* records. */
START_TEST(test_subscription_delivers)
{
	struct sub_row	r;
	char		*none[] = { NULL };

	memset(&r, 0, sizeof r);
	r.account = "a";
	r.kinds = none;
	ck_assert(subscription_delivers(&r, "run.finished", "a"));
	ck_assert(!subscription_delivers(&r, "run.finished", "b"));
	ck_assert(!subscription_delivers(&r, "daemon.started", NULL));
	ck_assert(!subscription_delivers(&r, "subscription.delivered", "a"));
	r.all_accounts = 1;
	ck_assert(subscription_delivers(&r, "run.finished", "b"));
	ck_assert(subscription_delivers(&r, "daemon.started", NULL));
	ck_assert(!subscription_delivers(&r, "subscription.failed", "b"));
}
END_TEST

/* Apply KIND with the body packed from JSON BODY to OLD; returns the
 * changes (asserts success). */
static void
apply(const char *kind, const char *body, struct sub_changes *old,
    struct sub_changes *out)
{
	struct pack_buffer	 pb;
	msgpack_unpacked	 u;
	json_t			*j;
	const char		*k;
	json_t			*v, *e;
	size_t			 i;
	char			*cause = NULL;

	j = json_loads(body, 0, NULL);
	ck_assert_ptr_nonnull(j);
	pack_buffer_init(&pb);
	msgpack_pack_map(&pb.pk, json_object_size(j));
	json_object_foreach(j, k, v) {
		pack_str(&pb.pk, k);
		if (json_is_integer(v))
			msgpack_pack_int64(&pb.pk, json_integer_value(v));
		else if (json_is_boolean(v))
			json_is_true(v) ? msgpack_pack_true(&pb.pk) :
			    msgpack_pack_false(&pb.pk);
		else if (json_is_array(v)) {
			msgpack_pack_array(&pb.pk, json_array_size(v));
			json_array_foreach(v, i, e)
				pack_str(&pb.pk, json_string_value(e));
		} else if (json_is_null(v))
			msgpack_pack_nil(&pb.pk);
		else
			pack_str(&pb.pk, json_string_value(v));
	}
	json_decref(j);
	ck_assert_int_eq(unpack_buffer(pb.sbuf.data, pb.sbuf.size, &u), 0);
	ck_assert_msg(subscription_apply_body(kind, &u.data,
	    old != NULL ? old->row_bytes : NULL, old != NULL ? old->row_len :
	    0, out, &cause) == 0, "%s: %s", kind, cause);
	msgpack_unpacked_destroy(&u);
	pack_buffer_clear(&pb);
}

#define CREATED "{\"subscription\":\"sub_1\",\"at_us\":100,\"account\":\"a\"," \
	"\"all_accounts\":false,\"cursor\":7,\"url\":\"http://h/x\"," \
	"\"kinds\":[\"run.*\"],\"batch\":2,\"secret_ref\":\"generated:sub_1\"," \
	"\"fingerprint\":\"ff\",\"by_uid\":0,\"by_pid\":1}"
#define ATTEMPT(at, f, l, n, st, extra) "{\"subscription\":\"sub_1\"," \
	"\"at_us\":" #at ",\"webhook_id\":\"w\",\"first_seq\":" #f \
	",\"last_seq\":" #l ",\"events\":2,\"attempt\":" #n ",\"status\":" \
	#st ",\"latency_ms\":3,\"error\":null" extra "}"

/* A life: created, failed twice, delivered, paused, resumed, deleted;
 * the same records give the same bytes. */
START_TEST(test_subscription_apply)
{
	struct sub_changes	c[8], again;
	int			i;

	apply("subscription.created", CREATED, NULL, &c[0]);
	ck_assert_str_eq(c[0].row.account, "a");
	ck_assert_uint_eq(c[0].row.cursor, 7);
	ck_assert_int_eq(c[0].row.batch, 2);
	ck_assert_int_eq(c[0].row.state, SUB_ACTIVE);
	ck_assert_uint_eq(c[0].attempt, 0);
	apply("subscription.failed", ATTEMPT(200, 8, 9, 1, 500,
	    ",\"retry_at_us\":205"), &c[0], &c[1]);
	ck_assert_uint_eq(c[1].row.failed, 1);
	ck_assert_int_eq(c[1].row.failing_since_us, 200);
	ck_assert_int_eq(c[1].row.retry_at_us, 205);
	ck_assert_int_eq(c[1].row.next_attempt, 2);
	ck_assert_uint_eq(c[1].row.pending_last, 9);
	ck_assert_uint_eq(c[1].attempt, 1);
	apply("subscription.failed", ATTEMPT(300, 8, 9, 2, 429,
	    ",\"retry_at_us\":400"), &c[1], &c[2]);
	ck_assert_int_eq(c[2].row.failing_since_us, 200);
	ck_assert_uint_eq(c[2].attempt, 2);
	apply("subscription.delivered", ATTEMPT(500, 8, 9, 3, 200, ""),
	    &c[2], &c[3]);
	ck_assert_uint_eq(c[3].row.cursor, 9);
	ck_assert_uint_eq(c[3].row.delivered, 2);
	ck_assert_int_eq(c[3].row.failing_since_us, 0);
	ck_assert_int_eq(c[3].row.next_attempt, 1);
	ck_assert_uint_eq(c[3].row.pending_last, 0);
	ck_assert_int_eq(c[3].row.last_ok_us, 500);
	apply("subscription.paused", "{\"subscription\":\"sub_1\","
	    "\"at_us\":600,\"by_uid\":0,\"by_pid\":1}", &c[3], &c[4]);
	ck_assert_int_eq(c[4].row.state, SUB_PAUSED);
	ck_assert_uint_eq(c[4].row.cursor, 9);
	apply("subscription.disabled", ATTEMPT(650, 10, 11, 1, 410,
	    ",\"reason\":\"gone\""), &c[4], &c[5]);
	ck_assert_int_eq(c[5].row.state, SUB_DISABLED);
	ck_assert_str_eq(c[5].row.reason, "gone");
	apply("subscription.resumed", "{\"subscription\":\"sub_1\","
	    "\"at_us\":700,\"by_uid\":0,\"by_pid\":1}", &c[5], &c[6]);
	ck_assert_int_eq(c[6].row.state, SUB_ACTIVE);
	ck_assert_ptr_null(c[6].row.reason);
	ck_assert_int_eq(c[6].row.failing_since_us, 0);
	apply("subscription.deleted", "{\"subscription\":\"sub_1\","
	    "\"at_us\":800,\"by_uid\":0,\"by_pid\":1}", &c[6], &c[7]);
	ck_assert(c[7].row_deleted);
	ck_assert_uint_eq(c[7].del_from, 1);
	ck_assert_uint_eq(c[7].del_to, 4);
	/* Pure: applying the same record to the same row again. */
	apply("subscription.delivered", ATTEMPT(500, 8, 9, 3, 200, ""),
	    &c[2], &again);
	ck_assert_uint_eq(again.row_len, c[3].row_len);
	ck_assert(memcmp(again.row_bytes, c[3].row_bytes, again.row_len) == 0);
	ck_assert(memcmp(again.attempt_bytes, c[3].attempt_bytes,
	    again.attempt_len) == 0);
	subscription_changes_clear(&again);
	for (i = 0; i < 8; i++)
		subscription_changes_clear(&c[i]);
}
END_TEST

/* Records that do not apply are refused and change nothing. */
START_TEST(test_subscription_apply_bad)
{
	struct sub_changes	 c, out;
	struct pack_buffer	 pb;
	msgpack_unpacked	 u;
	char			*cause = NULL;

	apply("subscription.created", CREATED, NULL, &c);
	pack_buffer_init(&pb);
	msgpack_pack_map(&pb.pk, 2);
	pack_kstr(&pb.pk, "subscription", "sub_1");
	pack_kint(&pb.pk, "at_us", 5);
	ck_assert_int_eq(unpack_buffer(pb.sbuf.data, pb.sbuf.size, &u), 0);
	/* created again over an existing row */
	ck_assert_int_eq(subscription_apply_body("subscription.created",
	    &u.data, c.row_bytes, c.row_len, &out, &cause), -1);
	free(cause);
	cause = NULL;
	/* no row */
	ck_assert_int_eq(subscription_apply_body("subscription.paused",
	    &u.data, NULL, 0, &out, &cause), -1);
	free(cause);
	cause = NULL;
	/* another module's record, an unknown verb */
	ck_assert_int_eq(subscription_apply_body("schedule.paused",
	    &u.data, c.row_bytes, c.row_len, &out, &cause), -1);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(subscription_apply_body("subscription.exploded",
	    &u.data, c.row_bytes, c.row_len, &out, &cause), -1);
	free(cause);
	cause = NULL;
	/* a delivery behind the cursor */
	msgpack_unpacked_destroy(&u);
	pack_buffer_clear(&pb);
	pack_buffer_init(&pb);
	msgpack_pack_map(&pb.pk, 4);
	pack_kstr(&pb.pk, "subscription", "sub_1");
	pack_kint(&pb.pk, "at_us", 5);
	pack_kint(&pb.pk, "first_seq", 3);
	pack_kint(&pb.pk, "last_seq", 4);
	ck_assert_int_eq(unpack_buffer(pb.sbuf.data, pb.sbuf.size, &u), 0);
	ck_assert_int_eq(subscription_apply_body("subscription.delivered",
	    &u.data, c.row_bytes, c.row_len, &out, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "before the cursor"));
	free(cause);
	msgpack_unpacked_destroy(&u);
	pack_buffer_clear(&pb);
	subscription_changes_clear(&c);
}
END_TEST

/* The last SUB_ATTEMPTS_KEPT attempt rows are kept. */
START_TEST(test_subscription_attempts_kept)
{
	struct sub_changes	prev, next;
	int			i;

	apply("subscription.created", CREATED, NULL, &prev);
	for (i = 1; i <= SUB_ATTEMPTS_KEPT + 2; i++) {
		apply("subscription.tested", "{\"subscription\":\"sub_1\","
		    "\"at_us\":900,\"webhook_id\":\"t\",\"status\":200,"
		    "\"latency_ms\":1,\"error\":null}", &prev, &next);
		ck_assert_uint_eq(next.attempt, (uint64_t)i);
		if (i <= SUB_ATTEMPTS_KEPT)
			ck_assert_uint_eq(next.del_from, 0);
		else
			ck_assert_uint_eq(next.del_from,
			    (uint64_t)(i - SUB_ATTEMPTS_KEPT));
		subscription_changes_clear(&prev);
		prev = next;
	}
	subscription_changes_clear(&prev);
}
END_TEST

static Suite *
subscription_suite(void)
{
	Suite	*s = suite_create("subscription");

	lib_tcase(s, "retry", NULL, NULL, 0,
	    test_subscription_retry_schedule,
	    test_subscription_retry_scale,
	    test_subscription_jitter_bounds,
	    test_subscription_retry_after,
	    test_subscription_retry_after_bad,
	    NULL);
	lib_tcase(s, "filter", NULL, NULL, 0,
	    test_subscription_kinds,
	    test_subscription_kinds_bad,
	    test_subscription_delivers,
	    NULL);
	lib_tcase(s, "apply", NULL, NULL, 0,
	    test_subscription_apply,
	    test_subscription_apply_bad,
	    test_subscription_attempts_kept,
	    NULL);
	return (s);
}

int
main(void)
{
	log_open("check_subscription", LOG_LEVEL_WARN);
	return (lib_run(CK_NORMAL, subscription_suite(), NULL));
}
