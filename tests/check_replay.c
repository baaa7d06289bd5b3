/*
 * tests/check_replay.c: replay's fold (actors/replay.c) on hand-made
 * records, over tables held in memory: the rows each kind makes from its
 * body and the rows built so far (history, spend, usage, prune, the run
 * index), and bodies that lack what their kind needs; the run index's
 * entries and cursors (actors/run-list.c).
 */
#include <sys/types.h>

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "lib.h"

#define MEM_ROWS	256

/* The tables: "TABLE\0KEY" -> value, unsorted. */
struct mem_row {
	char	*table;
	char	*key;
	size_t	 klen;
	char	*val;
	size_t	 vlen;
};

static struct mem_row	rows[MEM_ROWS];
static size_t		nrows;

static struct mem_row *
mem_find(const char *table, const void *key, size_t klen)
{
	size_t	i;

	for (i = 0; i < nrows; i++) {
		if (strcmp(rows[i].table, table) == 0 && rows[i].klen == klen &&
		    memcmp(rows[i].key, key, klen) == 0)
			return (&rows[i]);
	}
	return (NULL);
}

static int
mem_get(void *arg, const char *table, const void *key, size_t klen,
    void **val, size_t *vlen)
{
	struct mem_row	*r = mem_find(table, key, klen);

	if (r == NULL)
		return (1);
	*val = xmalloc(r->vlen + 1);
	memcpy(*val, r->val, r->vlen);
	*vlen = r->vlen;
	return (0);
}

static int
mem_put(void *arg, const char *table, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	struct mem_row	*r = mem_find(table, key, klen);

	if (r == NULL) {
		ck_assert_uint_lt(nrows, MEM_ROWS);
		r = &rows[nrows++];
		r->table = xstrdup(table);
		r->key = xmalloc(klen + 1);
		memcpy(r->key, key, klen);
		r->key[klen] = '\0';
		r->klen = klen;
	} else
		free(r->val);
	r->val = xmalloc(vlen + 1);
	memcpy(r->val, val, vlen);
	r->vlen = vlen;
	return (0);
}

static int
mem_del(void *arg, const char *table, const void *key, size_t klen)
{
	struct mem_row	*r = mem_find(table, key, klen);

	if (r == NULL)
		return (0);
	free(r->table);
	free(r->key);
	free(r->val);
	*r = rows[--nrows];
	return (0);
}

static int
mem_cmp(const void *a, const void *b)
{
	const struct mem_row	*x = a, *y = b;
	int			 c = strcmp(x->table, y->table);

	return (c != 0 ? c : strcmp(x->key, y->key));
}

static int
mem_foreach(void *arg, const char *table, const void *prefix, size_t plen,
    int (*fn)(const struct journal_row *, void *), void *fnarg)
{
	struct journal_row	row;
	size_t			i;

	qsort(rows, nrows, sizeof rows[0], mem_cmp);
	for (i = 0; i < nrows; i++) {
		if (strcmp(rows[i].table, table) != 0 ||
		    rows[i].klen < plen || (plen > 0 &&
		    memcmp(rows[i].key, prefix, plen) != 0))
			continue;
		row.key = rows[i].key;
		row.klen = rows[i].klen;
		row.val = rows[i].val;
		row.vlen = rows[i].vlen;
		if (fn(&row, fnarg) != 0)
			break;
	}
	return (0);
}

static const struct replay_db mem_db = {
	mem_get, mem_put, mem_del, mem_foreach, NULL
};

static void
setup(void)
{
	nrows = 0;
}

static void
teardown(void)
{
	while (nrows > 0)
		mem_del(NULL, rows[0].table, rows[0].key, rows[0].klen);
}

/* Fold a record of KIND for ACCOUNT whose body is the JSON text BODY
 * (integers as msgpack integers): 0, or -1 and *cause. */
static int
fold(const char *kind, const char *account, const char *body, char **cause)
{
	struct record		 rec;
	struct pack_buffer	 pb;
	msgpack_unpacked	 u;
	json_t			*j;
	int			 rc;

	j = json_loads(body, JSON_PRESERVE_ORDER, NULL);
	ck_assert_ptr_nonnull(j);
	pack_buffer_init(&pb);
	lib_pack_json(&pb.pk, j);
	json_decref(j);
	ck_assert_int_eq(unpack_buffer(pb.sbuf.data, pb.sbuf.size, &u), 0);
	memset(&rec, 0, sizeof rec);
	rec.version = 1;
	rec.seq = 1;
	rec.kind = (char *)kind;
	rec.account = (char *)account;
	rec.body = u.data;
	rc = replay_fold(&mem_db, &rec, cause);
	msgpack_unpacked_destroy(&u);
	pack_buffer_clear(&pb);
	return (rc);
}

/* TABLE[KEY] as compact JSON (allocated), or NULL when absent. */
static char *
row_json(const char *table, const char *key)
{
	struct mem_row		*r = mem_find(table, key, strlen(key));
	msgpack_unpacked	 u;
	json_t			*j;
	char			*s;

	if (r == NULL)
		return (NULL);
	if (r->vlen == 0)
		return (xstrdup(""));
	if (unpack_buffer(r->val, r->vlen, &u) != 0)
		return (xstrndup(r->val, r->vlen));
	j = record_object_to_json(&u.data);
	msgpack_unpacked_destroy(&u);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY);
	json_decref(j);
	return (s);
}

static void
row_is(const char *table, const char *key, const char *want)
{
	char	*got = row_json(table, key);

	ck_assert_msg(got != NULL, "%s[%s] absent", table, key);
	ck_assert_str_eq(got, want);
	free(got);
}

static void
row_absent(const char *table, const char *key)
{
	char	*got = row_json(table, key);

	ck_assert_msg(got == NULL, "%s[%s] present: %s", table, key, got);
}

#define RUN_BODY(num, status, extra)					\
	"{\"run_id\":\"s_a:" #num "\",\"schedule\":\"s_a\",\"number\":"	\
	#num ",\"operation\":\"op\",\"status\":\"" status "\","		\
	"\"created_us\":1000,\"finished_us\":1767225600000000,"		\
	"\"idempotency_key\":null" extra "}"

/* An account's row is its map; a grant's "uid" is not in it. */
START_TEST(test_replay_account)
{
	char	*cause;

	ck_assert_int_eq(fold("account.granted", "acme", "{\"name\":\"acme\","
	    "\"uids\":[5],\"tz\":\"Europe/Paris\",\"uid\":5}", &cause), 0);
	row_is("accounts", "acme",
	    "{\"name\":\"acme\",\"uids\":[5],\"tz\":\"Europe/Paris\"}");
}
END_TEST

/* An account record without an account cannot be folded. */
START_TEST(test_replay_account_bad)
{
	char	*cause = NULL;

	ck_assert_int_eq(fold("prefs.set", NULL, "{\"operation\":\"x\"}",
	    &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "without an account"));
	free(cause);
	ck_assert_int_eq(fold("prefs.set", "acme", "{\"enabled\":true}",
	    &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "without an operation"));
	free(cause);
	ck_assert_uint_eq(nrows, 0);
}
END_TEST

/* A schedule's record is its row; its progress row comes from it; a run
 * claiming its occurrence pushes the oldest kept run out (history 2),
 * is in "active" while pending, and carries its progress. */
START_TEST(test_replay_run)
{
	char	*cause, *got;

	ck_assert_int_eq(fold("schedule.created", "acme", "{\"id\":\"s_a\","
	    "\"history\":2,\"last_fire_us\":7,\"fired_us\":0,"
	    "\"run_counter\":0,\"month_key\":0,\"month_spent_micro\":0}",
	    &cause), 0);
	row_is("progress", "s_a", "{\"last_fire_us\":7,\"fired_us\":0,"
	    "\"run_counter\":0,\"month_key\":0,\"month_spent_micro\":0}");
	ck_assert_int_eq(fold("run.finished", "acme", RUN_BODY(1, "success",
	    ",\"progress\":{\"run_counter\":1}"), &cause), 0);
	ck_assert_int_eq(fold("run.pending", "acme", RUN_BODY(3, "pending",
	    ",\"claim\":\"s_a@1\",\"progress\":{\"run_counter\":3}"),
	    &cause), 0);
	row_absent("runs", "s_a:000000000001");
	row_is("active", "s_a:000000000003", "");
	row_is("progress", "s_a", "{\"run_counter\":3}");
	/* the replay-only keys are not in the row */
	got = row_json("runs", "s_a:000000000003");
	ck_assert_ptr_nonnull(got);
	ck_assert_ptr_null(strstr(got, "claim"));
	free(got);
	ck_assert_int_eq(fold("run.finished", "acme", RUN_BODY(3, "failed",
	    ",\"progress\":{\"run_counter\":3}"), &cause), 0);
	row_absent("active", "s_a:000000000003");
	/* a deleted schedule's run leaves no row (no progress) */
	ck_assert_int_eq(fold("schedule.deleted", "acme", "{\"id\":\"s_a\","
	    "\"name\":\"a\"}", &cause), 0);
	row_absent("runs", "s_a:000000000003");
	row_absent("schedules", "s_a");
}
END_TEST

/* schedule.applied: each created and updated row put with its progress
 * (an updated one's runs past its history gone), each deleted one gone
 * with its runs. */
START_TEST(test_replay_applied)
{
	char	*cause;

	ck_assert_int_eq(fold("schedule.created", "acme", "{\"id\":\"s_d\","
	    "\"history\":5,\"run_counter\":0}", &cause), 0);
	ck_assert_int_eq(fold("schedule.created", "acme", "{\"id\":\"s_u\","
	    "\"history\":5,\"run_counter\":0}", &cause), 0);
	ck_assert_int_eq(fold("run.finished", "acme", "{\"run_id\":\"s_d:1\","
	    "\"schedule\":\"s_d\",\"number\":1,\"status\":\"success\","
	    "\"progress\":{\"run_counter\":1}}", &cause), 0);
	ck_assert_int_eq(fold("run.finished", "acme", "{\"run_id\":\"s_u:1\","
	    "\"schedule\":\"s_u\",\"number\":1,\"status\":\"success\","
	    "\"progress\":{\"run_counter\":1}}", &cause), 0);
	ck_assert_int_eq(fold("run.finished", "acme", "{\"run_id\":\"s_u:2\","
	    "\"schedule\":\"s_u\",\"number\":2,\"status\":\"success\","
	    "\"progress\":{\"run_counter\":2}}", &cause), 0);
	ck_assert_int_eq(fold("schedule.applied", "acme", "{\"created\":"
	    "[{\"id\":\"s_n\",\"name\":\"n\",\"last_fire_us\":3,"
	    "\"fired_us\":0,\"run_counter\":0,\"month_key\":0,"
	    "\"month_spent_micro\":0}],\"updated\":[{\"id\":\"s_u\","
	    "\"name\":\"u\",\"history\":1,\"last_fire_us\":4,"
	    "\"fired_us\":0,\"run_counter\":2,\"month_key\":0,"
	    "\"month_spent_micro\":0}],\"deleted\":[{\"id\":\"s_d\","
	    "\"name\":\"d\"}],\"unchanged\":7}", &cause), 0);
	row_is("schedules", "s_n", "{\"id\":\"s_n\",\"name\":\"n\","
	    "\"last_fire_us\":3,\"fired_us\":0,\"run_counter\":0,"
	    "\"month_key\":0,\"month_spent_micro\":0}");
	row_is("progress", "s_n", "{\"last_fire_us\":3,\"fired_us\":0,"
	    "\"run_counter\":0,\"month_key\":0,\"month_spent_micro\":0}");
	row_is("progress", "s_u", "{\"last_fire_us\":4,\"fired_us\":0,"
	    "\"run_counter\":2,\"month_key\":0,\"month_spent_micro\":0}");
	row_absent("runs", "s_u:000000000001");
	row_is("runs", "s_u:000000000002", "{\"run_id\":\"s_u:2\","
	    "\"schedule\":\"s_u\",\"number\":2,\"status\":\"success\"}");
	row_absent("schedules", "s_d");
	row_absent("progress", "s_d");
	row_absent("runs", "s_d:000000000001");
}
END_TEST

/* A schedule.applied without its lists, or with a schedule without an
 * id, cannot be folded. */
START_TEST(test_replay_applied_bad)
{
	char	*cause = NULL;

	ck_assert_int_eq(fold("schedule.applied", "acme", "{\"created\":[],"
	    "\"updated\":[]}", &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "without deleted"));
	free(cause);
	cause = NULL;
	ck_assert_int_eq(fold("schedule.applied", "acme", "{\"created\":"
	    "[{\"name\":\"x\"}],\"updated\":[],\"deleted\":[]}", &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "without an id"));
	free(cause);
	ck_assert_uint_eq(nrows, 0);
}
END_TEST

/* A run record without a schedule cannot be folded, and writes nothing. */
START_TEST(test_replay_run_bad)
{
	char	*cause = NULL;

	ck_assert_int_eq(fold("run.started", "acme", "{\"number\":1}",
	    &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "without a schedule"));
	free(cause);
	ck_assert_uint_eq(nrows, 0);
}
END_TEST

/* Ends that cost something add up, per month in the account's zone
 * (2026-01-01T00:00Z is still December in New York), and successes
 * fill the usage window of their catalog model. */
START_TEST(test_replay_spend)
{
	char	*cause;

	ck_assert_int_eq(fold("account.created", "acme", "{\"name\":\"acme\","
	    "\"tz\":\"America/New_York\"}", &cause), 0);
	ck_assert_int_eq(fold("run.finished", "acme", RUN_BODY(1, "success",
	    ",\"cost_micro\":250,\"usage\":{\"input_tokens\":10,"
	    "\"output_tokens\":4},\"usage_model\":\"m\""), &cause), 0);
	ck_assert_int_eq(fold("op.completed", "acme", RUN_BODY(2, "success",
	    ",\"cost_micro\":50,\"usage\":{\"input_tokens\":12,"
	    "\"output_tokens\":5},\"usage_model\":\"m\""), &cause), 0);
	row_is("spend", "acme/202512", "{\"account\":\"acme\","
	    "\"operation\":null,\"month\":202512,\"actual_micro\":300,"
	    "\"updated_us\":1767225600000000}");
	row_is("spend", "acme/op/202512", "{\"account\":\"acme\","
	    "\"operation\":\"op\",\"month\":202512,\"actual_micro\":300,"
	    "\"updated_us\":1767225600000000}");
	row_is("usage", "acme/op/m", "{\"input\":[10,12],\"output\":[4,5]}");
}
END_TEST

/* A run that cost nothing (or is not known) adds no spend row. */
START_TEST(test_replay_spend_bad)
{
	char	*cause;

	ck_assert_int_eq(fold("run.finished", "acme", RUN_BODY(1, "failed",
	    ",\"cost_micro\":-1,\"progress\":{}"), &cause), 0);
	row_absent("spend", "acme/202601");
	row_absent("spend", "acme/202512");
	row_absent("usage", "acme/op/m");
}
END_TEST

/* The prune deletes the expiry rows before its instant, in key order,
 * with their events and idem rows, and nothing after it. */
START_TEST(test_replay_prune)
{
	char	*cause;

	ck_assert_int_eq(fold("webhook.received", "acme", "{\"at_us\":16,"
	    "\"schedule\":\"s_a\",\"body\":\"x\",\"row_key\":\"s_a/e1\"}",
	    &cause), 0);
	row_is("webhook_events", "s_a/e1", "{\"at_us\":16,"
	    "\"schedule\":\"s_a\"}");
	row_is("webhook_expiry", "0000000000000010/e/s_a/e1", "");
	ck_assert_int_eq(fold("run.started", "acme", RUN_BODY(1, "running",
	    ",\"idempotency_key\":\"wh:m1\",\"claim\":\"webhook:s_a:m1\","
	    "\"progress\":{}"), &cause), 0);
	row_is("idem", "s_a:wh:m1", "s_a:1");
	row_is("webhook_expiry", "00000000000003e8/c/webhook:s_a:m1", "");
	ck_assert_int_eq(fold("webhook.pruned", NULL, "{\"before_us\":100,"
	    "\"message_ids\":0,\"events\":1}", &cause), 0);
	row_absent("webhook_events", "s_a/e1");
	row_absent("webhook_expiry", "0000000000000010/e/s_a/e1");
	row_is("idem", "s_a:wh:m1", "s_a:1");
	ck_assert_int_eq(fold("webhook.pruned", NULL, "{\"before_us\":2000,"
	    "\"message_ids\":1,\"events\":0}", &cause), 0);
	row_absent("idem", "s_a:wh:m1");
}
END_TEST

/* An event of no account (an unknown schedule) leaves no row. */
START_TEST(test_replay_prune_bad)
{
	char	*cause;

	ck_assert_int_eq(fold("webhook.received", NULL, "{\"at_us\":16,"
	    "\"schedule\":\"nope\"}", &cause), 0);
	ck_assert_uint_eq(nrows, 0);
}
END_TEST

/* A key added to a packed body: the map's count grows, across the
 * header sizes (15 entries in a fixmap, 16 in a map 16). */
START_TEST(test_replay_body_add)
{
	struct jrec		*rec;
	struct pack_buffer	 pb;
	msgpack_unpacked	 u;
	const msgpack_object	*v;
	char			 k[8];
	int			 i;

	rec = jrec_create("run.started", "acme");
	msgpack_pack_map(jrec_body(rec), 15);
	for (i = 0; i < 15; i++) {
		snprintf(k, sizeof k, "k%d", i);
		pack_str(jrec_body(rec), k);
		msgpack_pack_int(jrec_body(rec), i);
	}
	pack_buffer_init(&pb);
	pack_str(&pb.pk, "s_a@1");
	jrec_body_add(rec, "claim", pb.sbuf.data, pb.sbuf.size);
	pack_buffer_clear(&pb);
	ck_assert_ptr_null(rec->error);
	ck_assert_int_eq((unsigned char)rec->body.data[0], 0xde);
	ck_assert_int_eq(unpack_buffer(rec->body.data, rec->body.len, &u), 0);
	ck_assert_uint_eq(u.data.via.map.size, 16);
	ck_assert_int_eq(unpack_int(&u.data, "k14", -1), 14);
	v = unpack_get(&u.data, "claim");
	ck_assert_ptr_nonnull(v);
	ck_assert_int_eq(v->type, MSGPACK_OBJECT_STR);
	ck_assert_int_eq(memcmp(v->via.str.ptr, "s_a@1", 5), 0);
	msgpack_unpacked_destroy(&u);
	jrec_free(rec);
}
END_TEST

/* A key added before any map was packed fails the record. */
START_TEST(test_replay_body_add_bad)
{
	struct jrec	*rec;

	rec = jrec_create("run.started", "acme");
	jrec_body_add(rec, "claim", "\xc0", 1);
	ck_assert_ptr_nonnull(rec->error);
	ck_assert_ptr_nonnull(strstr(rec->error, "before the map"));
	jrec_free(rec);
}
END_TEST

#define INDEXED_RUN(num, status, created)				\
	"{\"run_id\":\"s_a:" #num "\",\"schedule\":\"s_a\",\"number\":"	\
	#num ",\"operation\":\"op\",\"account\":\"acme\",\"status\":\""	\
	status "\",\"created_us\":" #created ",\"model\":\"m1\","	\
	"\"idempotency_key\":null,\"progress\":{\"run_counter\":" #num "}}"

/* A run's row has its runs-by-time entry (ACCOUNT/HEX(created)/KEY), which
 * follows its status and goes with the row. */
START_TEST(test_replay_run_index)
{
	const char	*ix = "acme/00000000000003e8/s_a:000000000001";
	char		*cause;

	ck_assert_int_eq(fold("schedule.created", "acme", "{\"id\":\"s_a\","
	    "\"history\":5,\"last_fire_us\":0,\"fired_us\":0,"
	    "\"run_counter\":0,\"month_key\":0,\"month_spent_micro\":0}",
	    &cause), 0);
	ck_assert_int_eq(fold("run.started", "acme",
	    INDEXED_RUN(1, "running", 1000), &cause), 0);
	row_is(RUN_INDEX_TABLE, ix,
	    "{\"status\":\"running\",\"operation\":\"op\",\"model\":\"m1\"}");
	ck_assert_int_eq(fold("run.finished", "acme",
	    INDEXED_RUN(1, "failed", 1000), &cause), 0);
	row_is(RUN_INDEX_TABLE, ix,
	    "{\"status\":\"failed\",\"operation\":\"op\",\"model\":\"m1\"}");
	ck_assert_int_eq(fold("schedule.deleted", "acme", "{\"id\":\"s_a\"}",
	    &cause), 0);
	row_absent("runs", "s_a:000000000001");
	row_absent(RUN_INDEX_TABLE, ix);
}
END_TEST

/* A row without an account or a created_us has no entry. */
START_TEST(test_replay_run_index_bad)
{
	char	*cause;
	size_t	 i;

	ck_assert_int_eq(fold("schedule.created", "acme", "{\"id\":\"s_a\","
	    "\"history\":5,\"last_fire_us\":0,\"fired_us\":0,"
	    "\"run_counter\":0,\"month_key\":0,\"month_spent_micro\":0}",
	    &cause), 0);
	ck_assert_int_eq(fold("run.started", "acme",
	    RUN_BODY(1, "running", ",\"progress\":{\"run_counter\":1}"),
	    &cause), 0);
	ck_assert_int_eq(fold("run.started", "acme",
	    "{\"run_id\":\"s_a:2\",\"schedule\":\"s_a\",\"number\":2,"
	    "\"account\":\"acme\",\"status\":\"running\","
	    "\"idempotency_key\":null,\"progress\":{\"run_counter\":2}}",
	    &cause), 0);
	ck_assert_ptr_nonnull(mem_find("runs", "s_a:000000000001", 16));
	ck_assert_ptr_nonnull(mem_find("runs", "s_a:000000000002", 16));
	for (i = 0; i < nrows; i++)
		ck_assert_str_ne(rows[i].table, RUN_INDEX_TABLE);
}
END_TEST

/* A run row's entry: its key and its filter fields. */
START_TEST(test_run_list_entry)
{
	struct pack_buffer	 pb;
	msgpack_sbuffer		 sb;
	json_t			*j;
	char			 ikey[JOURNAL_MAX_KEY + 1];
	size_t			 iklen;

	j = json_loads(INDEXED_RUN(7, "success", 1796530755030227), 0, NULL);
	pack_buffer_init(&pb);
	lib_pack_json(&pb.pk, j);
	json_decref(j);
	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(run_list_index_entry("s_a:000000000007", 16,
	    pb.sbuf.data, pb.sbuf.size, ikey, &iklen, &sb), 0);
	ck_assert_uint_eq(iklen, strlen(ikey));
	ck_assert_str_eq(ikey, "acme/000661ef697b4cd3/s_a:000000000007");
	ck_assert_uint_gt(sb.size, 0);
	msgpack_sbuffer_destroy(&sb);
	pack_buffer_clear(&pb);
	ck_assert_int_eq(run_list_cursor_ok("000661ef697b4cd3/s_a:"
	    "000000000007"), 1);
}
END_TEST

/* Not a run map, or a cursor that is not one: refused. */
START_TEST(test_run_list_entry_bad)
{
	msgpack_sbuffer	 sb;
	char		 ikey[JOURNAL_MAX_KEY + 1];
	size_t		 iklen;
	static const char *const bad[] = {
		"", "nonsense", "000661ef697b4cd3", "000661ef697b4cd3/",
		"000661EF697A57D3/s_a:1", "000661ef697a57d/s_a:1",
		"000661ef697b4cd3/s_a", "000661ef697b4cd3/a/b:1",
		"000661ef697b4cd3/s a:1", "g00661ef697a57d3/s_a:1"
	};
	size_t		 i;

	msgpack_sbuffer_init(&sb);
	ck_assert_int_eq(run_list_index_entry("k", 1, "first", 5, ikey,
	    &iklen, &sb), -1);
	ck_assert_int_eq(run_list_index_entry("k", 1, "\x80", 1, ikey,
	    &iklen, &sb), -1);	/* an empty map */
	msgpack_sbuffer_destroy(&sb);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		ck_assert_msg(!run_list_cursor_ok(bad[i]), "%s", bad[i]);
}
END_TEST

/* email.queued puts the outbox row (the body) and a pending row per
 * recipient; each outcome deletes its recipient's, the one marked done
 * the outbox row too. */
START_TEST(test_replay_email)
{
	char	*cause;

	ck_assert_int_eq(fold("email.queued", "acme", "{\"run_id\":\"s_a:1\","
	    "\"recipients\":[\"a@example.com\",\"b@example.com\"],"
	    "\"subject\":\"s\"}", &cause), 0);
	row_is("email-outbox", "s_a:1", "{\"run_id\":\"s_a:1\",\"recipients\":"
	    "[\"a@example.com\",\"b@example.com\"],\"subject\":\"s\"}");
	row_is("email-pending", "s_a:1 a@example.com", "{}");
	row_is("email-pending", "s_a:1 b@example.com", "{}");
	ck_assert_int_eq(fold("email.failed", "acme", "{\"run_id\":\"s_a:1\","
	    "\"address\":\"b@example.com\",\"code\":550,\"done\":false}",
	    &cause), 0);
	row_absent("email-pending", "s_a:1 b@example.com");
	row_is("email-pending", "s_a:1 a@example.com", "{}");
	ck_assert_int_eq(fold("email.sent", "acme", "{\"run_id\":\"s_a:1\","
	    "\"address\":\"a@example.com\",\"code\":250,\"done\":true}",
	    &cause), 0);
	row_absent("email-pending", "s_a:1 a@example.com");
	row_absent("email-outbox", "s_a:1");
}
END_TEST

/* A suppression's row is its body, under "ACCOUNT ADDRESS"; its removal
 * deletes it. */
START_TEST(test_replay_suppression)
{
	char	*cause;

	ck_assert_int_eq(fold("email.suppression_added", "acme",
	    "{\"account\":\"acme\",\"address\":\"a@example.com\","
	    "\"reason\":\"unsubscribe\",\"at_us\":5}", &cause), 0);
	row_is("email-suppressions", "acme a@example.com",
	    "{\"account\":\"acme\",\"address\":\"a@example.com\","
	    "\"reason\":\"unsubscribe\",\"at_us\":5}");
	ck_assert_int_eq(fold("email.suppression_removed", "acme",
	    "{\"account\":\"acme\",\"address\":\"a@example.com\"}",
	    &cause), 0);
	row_absent("email-suppressions", "acme a@example.com");
}
END_TEST

/* An email record without a run id cannot be folded, and writes nothing;
 * nor a suppression without an account. */
START_TEST(test_replay_email_bad)
{
	char	*cause = NULL;

	ck_assert_int_eq(fold("email.queued", "acme", "{\"recipients\":"
	    "[\"a@example.com\"]}", &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "without a run_id"));
	free(cause);
	ck_assert_int_eq(fold("email.suppression_added", NULL,
	    "{\"address\":\"a@example.com\"}", &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "without an account"));
	free(cause);
	ck_assert_uint_eq(nrows, 0);
}
END_TEST

/* notify.pending puts its row under "ACCOUNT RUN"; a digest's
 * notify.queued queues its message as email.queued does and deletes the
 * rows it lists; one without recipients puts no outbox row; a
 * prefs.notify_set puts "ACCOUNT#notify". */
START_TEST(test_replay_notify)
{
	char	*cause;

	ck_assert_int_eq(fold("notify.pending", "acme", "{\"run_id\":\"s_a:1\","
	    "\"notice\":\"run_failed\"}", &cause), 0);
	ck_assert_int_eq(fold("notify.pending", "acme", "{\"run_id\":\"s_a:2\","
	    "\"notice\":\"run_failed\"}", &cause), 0);
	row_is("notify-pending", "acme s_a:1", "{\"run_id\":\"s_a:1\","
	    "\"notice\":\"run_failed\"}");
	ck_assert_int_eq(fold("notify.queued", "acme", "{\"run_id\":"
	    "\"notify:acme:run_failed:digest-1\",\"recipients\":"
	    "[\"ops@example.com\"],\"pending\":[\"acme s_a:1\"]}", &cause), 0);
	row_absent("notify-pending", "acme s_a:1");
	row_is("notify-pending", "acme s_a:2", "{\"run_id\":\"s_a:2\","
	    "\"notice\":\"run_failed\"}");
	row_is("email-pending", "notify:acme:run_failed:digest-1 "
	    "ops@example.com", "{}");
	ck_assert_int_eq(fold("notify.queued", "acme", "{\"run_id\":"
	    "\"notify:acme:run_failed:digest-2\",\"recipients\":[],"
	    "\"pending\":[\"acme s_a:2\"]}", &cause), 0);
	row_absent("notify-pending", "acme s_a:2");
	row_absent("email-outbox", "notify:acme:run_failed:digest-2");
	ck_assert_int_eq(fold("prefs.notify_set", "acme", "{\"type\":"
	    "\"notify\",\"account\":\"acme\"}", &cause), 0);
	row_is("prefs", "acme#notify", "{\"type\":\"notify\",\"account\":"
	    "\"acme\"}");
}
END_TEST

/* A notify record without an account, a run id or recipients cannot be
 * folded, and writes nothing. */
START_TEST(test_replay_notify_bad)
{
	char	*cause = NULL;

	ck_assert_int_eq(fold("notify.pending", NULL, "{\"run_id\":\"s_a:1\"}",
	    &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "without an account"));
	free(cause);
	ck_assert_int_eq(fold("notify.pending", "acme", "{}", &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "without a run_id"));
	free(cause);
	ck_assert_int_eq(fold("notify.queued", "acme", "{\"run_id\":\"x\"}",
	    &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "without recipients"));
	free(cause);
	ck_assert_uint_eq(nrows, 0);
}
END_TEST

static Suite *
run_list_suite(void)
{
	Suite	*s = suite_create("run-list");

	lib_tcase(s, "entry", NULL, NULL, 30,
	    test_run_list_entry,
	    test_run_list_entry_bad,
	    NULL);
	return (s);
}

static Suite *
replay_suite(void)
{
	Suite	*s = suite_create("replay");

	lib_tcase(s, "fold", setup, teardown, 30,
	    test_replay_account,
	    test_replay_account_bad,
	    test_replay_run,
	    test_replay_run_bad,
	    test_replay_applied,
	    test_replay_applied_bad,
	    test_replay_run_index,
	    test_replay_run_index_bad,
	    test_replay_spend,
	    test_replay_spend_bad,
	    test_replay_prune,
	    test_replay_prune_bad,
	    test_replay_body_add,
	    test_replay_body_add_bad,
	    test_replay_email,
	    test_replay_email_bad,
	    test_replay_notify,
	    test_replay_notify_bad,
	    test_replay_suppression,
	    NULL);
	return (s);
}

int
main(void)
{
	log_open("check_replay", LOG_LEVEL_WARN);
	return (lib_run(CK_NORMAL, replay_suite(), run_list_suite(), NULL));
}
