/*
 * tests/check_batch.c: batches.  Definitions are parsed against the
 * integration catalog (operations quick, gate, fail, ...): good ones give
 * the graph, bad ones the field that names the offending operation.  The
 * trigger rules are checked as a table; records keep their map sizes.
 * Running batches end to end is tests/integration/batch.sh, and what they
 * journal tests/integration/batch-export.sh.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "lib.h"

/* ---- fixture ----------------------------------------------------------- */

static void
setup(void)
{
	lib_engine_start(NULL);
}

static void
teardown(void)
{
	lib_engine_stop();
}

/* Parse TEXT; the batch, or NULL with *FIELD and *REASON. */
static struct batch *
parse(const char *text, char **field, char **reason)
{
	json_error_t	 err;
	json_t		*o;
	struct batch	*b;

	o = json_loads(text, 0, &err);
	ck_assert_msg(o != NULL, "test JSON: %s", err.text);
	b = batch_parse(o, "default", engine->catalog, 0, field, reason);
	json_decref(o);
	return (b);
}

/* TEXT must be refused with data.field FIELD and a reason containing
 * WHY. */
static void
refused(const char *text, const char *field, const char *why)
{
	struct batch	*b;
	char		*f = NULL, *r = NULL;

	b = parse(text, &f, &r);
	ck_assert_msg(b == NULL, "accepted: %s", text);
	ck_assert_msg(f != NULL && strcmp(f, field) == 0,
	    "field \"%s\", wanted \"%s\" for %s", f, field, text);
	ck_assert_msg(r != NULL && strstr(r, why) != NULL,
	    "reason \"%s\" lacks \"%s\"", r, why);
	free(f);
	free(r);
}

/* ---- parsing ----------------------------------------------------------- */

/* A simple definition gets the documented defaults. */
START_TEST(test_batch_parse_defaults)
{
	struct batch	*b;
	char		*f = NULL, *r = NULL, buf[32];

	b = parse("{\"name\": \"n\", \"operations\": [{\"operation\": "
	    "\"quick\"}, {\"operation\": \"fail\", \"parameters\": "
	    "{\"k\": 1}}]}", &f, &r);
	ck_assert_msg(b != NULL, "%s: %s", f, r);
	ck_assert_int_eq(b->type, BATCH_PARALLEL);
	ck_assert_int_eq(b->bstate, BATCH_DRAFT);
	ck_assert_uint_eq(b->max_concurrent, 5);
	ck_assert_int_eq(b->owner.priority, 5);
	ck_assert_uint_eq(b->nops, 2);
	ck_assert_uint_eq(b->c.total, 2);
	ck_assert_str_eq(batch_op_id(b, 0, buf, sizeof buf), "op-1");
	ck_assert_str_eq(batch_op_id(b, 1, buf, sizeof buf), "op-2");
	/* Default ids are not stored. */
	ck_assert_ptr_null(b->ops[0].local_id);
	ck_assert_ptr_null(b->ops[0].parameters);
	ck_assert_str_eq(b->ops[1].parameters, "{\"k\":1}");
	ck_assert_uint_eq(b->nnames, 2);
	ck_assert_int_eq(b->ops[0].rule, BATCH_RULE_ALL_SUCCESS);
	batch_free(b);
}
END_TEST

/* Every bad top-level field is named. */
START_TEST(test_batch_parse_defaults_bad)
{
	refused("{\"operations\": [{\"operation\": \"quick\"}]}", "name",
	    "required");
	refused("{\"name\": \"n\", \"priority\": 0, \"operations\": "
	    "[{\"operation\": \"quick\"}]}", "priority", "1 to 10");
	refused("{\"name\": \"n\", \"priority\": 11, \"operations\": "
	    "[{\"operation\": \"quick\"}]}", "priority", "1 to 10");
	refused("{\"name\": \"n\", \"type\": \"random\", \"operations\": "
	    "[{\"operation\": \"quick\"}]}", "type", "parallel");
	refused("{\"name\": \"n\", \"max_concurrent\": 0, \"operations\": "
	    "[{\"operation\": \"quick\"}]}", "max_concurrent", "1 to 10000");
	refused("{\"name\": \"n\", \"max_cost\": -1, \"operations\": "
	    "[{\"operation\": \"quick\"}]}", "max_cost", "USD");
	refused("{\"name\": \"n\", \"operations\": []}", "operations", "empty");
	refused("{\"name\": \"n\"}", "operations", "required");
	refused("{\"name\": \"n\", \"colour\": 1, \"operations\": "
	    "[{\"operation\": \"quick\"}]}", "colour", "unknown");
	refused("{\"name\": \"n\", \"stop_on_failure\": true, \"operations\": "
	    "[{\"operation\": \"quick\"}]}", "stop_on_failure", "sequential");
}
END_TEST

/* Operations are checked one by one, and the error names the one. */
START_TEST(test_batch_parse_ops)
{
	struct batch	*b;
	char		*f = NULL, *r = NULL;

	b = parse("{\"name\": \"n\", \"type\": \"sequential\", "
	    "\"stop_on_failure\": true, \"operations\": ["
	    "{\"id\": \"x\", \"operation\": \"quick\", \"sequence_order\": 9},"
	    "{\"id\": \"y\", \"operation\": \"quick\", \"sequence_order\": -3}"
	    "]}", &f, &r);
	ck_assert_msg(b != NULL, "%s: %s", f, r);
	ck_assert_int_eq(b->type, BATCH_SEQUENTIAL);
	ck_assert_int_eq(b->stop_on_failure, 1);
	ck_assert_int_eq(b->ops[0].order, 9);
	ck_assert_int_eq(b->ops[1].order, -3);
	/* Operation names are shared, not copied per operation. */
	ck_assert_ptr_eq(b->ops[0].operation, b->ops[1].operation);
	batch_free(b);
}
END_TEST

/* Unknown operations, duplicate ids, misplaced graph keys. */
START_TEST(test_batch_parse_ops_bad)
{
	refused("{\"name\": \"n\", \"operations\": [{\"operation\": \"quick\"},"
	    "{\"operation\": \"quick\"}, {\"operation\": \"nope\"}]}",
	    "operations[2].operation", "not in the catalog");
	refused("{\"name\": \"n\", \"operations\": [{\"id\": \"a\", "
	    "\"operation\": \"quick\"}, {\"id\": \"a\", \"operation\": "
	    "\"quick\"}]}", "operations[1].id", "duplicate id \"a\"");
	refused("{\"name\": \"n\", \"operations\": [{\"operation\": \"quick\","
	    " \"depends_on\": []}]}", "operations[0].depends_on",
	    "only for conditional");
	refused("{\"name\": \"n\", \"type\": \"conditional\", \"operations\": "
	    "[{\"operation\": \"quick\", \"trigger_rule\": \"sometimes\"}]}",
	    "operations[0].trigger_rule", "one of");
	refused("{\"name\": \"n\", \"operations\": [{\"operation\": \"quick\","
	    " \"parameters\": [1]}]}", "operations[0].parameters", "object");
	refused("{\"name\": \"n\", \"operations\": [{\"op\": \"quick\"}]}",
	    "operations[0].op", "unknown");
	refused("{\"name\": \"n\", \"operations\": [7]}", "operations[0]",
	    "object");
}
END_TEST

/* ---- the graph --------------------------------------------------------- */

/* A diamond resolves to indexes both ways. */
START_TEST(test_batch_graph)
{
	struct batch	*b;
	char		*f = NULL, *r = NULL;
	uint32_t	 k;

	b = parse("{\"name\": \"d\", \"type\": \"conditional\", "
	    "\"operations\": ["
	    "{\"id\": \"D\", \"operation\": \"quick\", \"depends_on\": "
	    "[\"B\", \"C\"], \"trigger_rule\": \"all_done\"},"
	    "{\"id\": \"A\", \"operation\": \"quick\"},"
	    "{\"id\": \"B\", \"operation\": \"fail\", \"depends_on\": [\"A\"]},"
	    "{\"id\": \"C\", \"operation\": \"quick\", \"depends_on\": [\"A\"]}"
	    "]}", &f, &r);
	ck_assert_msg(b != NULL, "%s: %s", f, r);
	ck_assert_uint_eq(b->ops[0].ndeps, 2);
	ck_assert_uint_eq(b->ops[0].deps[0], 2);
	ck_assert_uint_eq(b->ops[0].deps[1], 3);
	ck_assert_int_eq(b->ops[0].rule, BATCH_RULE_ALL_DONE);
	ck_assert_uint_eq(b->ops[1].ndeps, 0);
	/* A's dependents are B and C; B's and C's are D. */
	ck_assert_uint_eq(b->rev_off[2] - b->rev_off[1], 2);
	for (k = b->rev_off[1]; k < b->rev_off[2]; k++)
		ck_assert(b->rev[k] == 2 || b->rev[k] == 3);
	ck_assert_uint_eq(b->rev[b->rev_off[2]], 0);
	ck_assert_uint_eq(b->rev[b->rev_off[3]], 0);
	ck_assert_uint_eq(b->rev_off[1] - b->rev_off[0], 0);
	batch_free(b);
}
END_TEST

/* Cycles, unknown and self dependencies are refused, naming an operation
 * on the cycle. */
START_TEST(test_batch_graph_bad)
{
	refused("{\"name\": \"c\", \"type\": \"conditional\", \"operations\": "
	    "[{\"id\": \"a\", \"operation\": \"quick\", \"depends_on\": "
	    "[\"a\"]}]}", "operations[0].depends_on", "itself");
	refused("{\"name\": \"c\", \"type\": \"conditional\", \"operations\": "
	    "[{\"id\": \"a\", \"operation\": \"quick\"}, {\"id\": \"b\", "
	    "\"operation\": \"quick\", \"depends_on\": [\"zz\"]}]}",
	    "operations[1].depends_on", "unknown operation id \"zz\"");
	refused("{\"name\": \"c\", \"type\": \"conditional\", \"operations\": "
	    "[{\"id\": \"a\", \"operation\": \"quick\", \"depends_on\": "
	    "[\"b\"]}, {\"id\": \"b\", \"operation\": \"quick\", "
	    "\"depends_on\": [\"a\"]}]}", "operations[0].depends_on", "cycle");
	/* Root r, then x -> y -> z -> x, and w after the cycle: the error
	 * names one of x, y, z (indexes 1..3), never r or w. */
	{
		struct batch	*b;
		char		*f = NULL, *r = NULL;

		b = parse("{\"name\": \"c\", \"type\": \"conditional\", "
		    "\"operations\": ["
		    "{\"id\": \"r\", \"operation\": \"quick\"},"
		    "{\"id\": \"x\", \"operation\": \"quick\", \"depends_on\": "
		    "[\"r\", \"z\"]},"
		    "{\"id\": \"y\", \"operation\": \"quick\", \"depends_on\": "
		    "[\"x\"]},"
		    "{\"id\": \"z\", \"operation\": \"quick\", \"depends_on\": "
		    "[\"y\"]},"
		    "{\"id\": \"w\", \"operation\": \"quick\", \"depends_on\": "
		    "[\"z\"]}]}", &f, &r);
		ck_assert_ptr_null(b);
		ck_assert_msg(strcmp(f, "operations[1].depends_on") == 0 ||
		    strcmp(f, "operations[2].depends_on") == 0 ||
		    strcmp(f, "operations[3].depends_on") == 0, "field %s", f);
		ck_assert_ptr_nonnull(strstr(r, "cycle"));
		free(f);
		free(r);
	}
	refused("{\"name\": \"c\", \"type\": \"conditional\", \"operations\": "
	    "[{\"id\": \"a\", \"operation\": \"quick\"}, {\"id\": \"b\", "
	    "\"operation\": \"quick\", \"depends_on\": [\"a\", \"a\"]}]}",
	    "operations[1].depends_on", "twice");
}
END_TEST

/* The largest batch is accepted, compactly; one more is refused. */
START_TEST(test_batch_limits)
{
	struct batch	*b;
	json_t		*o, *ops;
	char		*f = NULL, *r = NULL;
	uint32_t	 i;

	ck_assert_uint_le(sizeof(struct batch_op), 64);
	ops = json_array();
	for (i = 0; i < BATCH_MAX_OPS; i++)
		json_array_append_new(ops, json_pack("{s:s}", "operation",
		    "quick"));
	o = json_pack("{s:s, s:o}", "name", "big", "operations", ops);
	b = batch_parse(o, "default", engine->catalog, 0, &f, &r);
	ck_assert_msg(b != NULL, "%s: %s", f, r);
	ck_assert_uint_eq(b->nops, BATCH_MAX_OPS);
	batch_free(b);
	json_array_append_new(ops, json_pack("{s:s}", "operation", "quick"));
	b = batch_parse(o, "default", engine->catalog, 0, &f, &r);
	ck_assert_ptr_null(b);
	ck_assert_str_eq(f, "operations");
	free(f);
	free(r);
	json_decref(o);
}
END_TEST

/* Not an object at all. */
START_TEST(test_batch_limits_bad)
{
	struct batch	*b;
	json_t		*o = json_array();
	char		*f = NULL, *r = NULL;

	b = batch_parse(o, "default", engine->catalog, 0, &f, &r);
	ck_assert_ptr_null(b);
	ck_assert_str_eq(f, "batch");
	free(f);
	free(r);
	json_decref(o);
}
END_TEST

/* The simple form: one operation made many, without a JSON object each. */
START_TEST(test_batch_repeat)
{
	struct batch	*b;
	json_t		*o;
	char		*f = NULL, *r = NULL, buf[32];

	o = json_loads("{\"name\": \"r\", \"operations\": [{\"operation\": "
	    "\"quick\", \"parameters\": {\"n\": 2}}]}", 0, NULL);
	b = batch_parse(o, "default", engine->catalog, 3000, &f, &r);
	ck_assert_msg(b != NULL, "%s: %s", f, r);
	ck_assert_uint_eq(b->nops, 3000);
	ck_assert_str_eq(b->ops[2999].parameters, "{\"n\":2}");
	ck_assert_ptr_ne(b->ops[2999].parameters, b->ops[0].parameters);
	ck_assert_str_eq(batch_op_id(b, 2999, buf, sizeof buf), "op-3000");
	batch_free(b);
	json_decref(o);
}
END_TEST

/* A count needs exactly one operation, without an id; at most 100000. */
START_TEST(test_batch_repeat_bad)
{
	struct batch	*b;
	json_t		*o;
	char		*f = NULL, *r = NULL;

	o = json_loads("{\"name\": \"r\", \"operations\": [{\"operation\": "
	    "\"quick\"}, {\"operation\": \"quick\"}]}", 0, NULL);
	b = batch_parse(o, "default", engine->catalog, 2, &f, &r);
	ck_assert_ptr_null(b);
	ck_assert_str_eq(f, "operations");
	free(f);
	free(r);
	json_decref(o);
	o = json_loads("{\"name\": \"r\", \"operations\": [{\"id\": \"x\", "
	    "\"operation\": \"quick\"}]}", 0, NULL);
	b = batch_parse(o, "default", engine->catalog, 2, &f, &r);
	ck_assert_ptr_null(b);
	ck_assert_str_eq(f, "operations[0].id");
	free(f);
	free(r);
	b = batch_parse(o, "default", engine->catalog, BATCH_MAX_OPS + 1, &f,
	    &r);
	ck_assert_ptr_null(b);
	ck_assert_str_eq(f, "count");
	free(f);
	free(r);
	json_decref(o);
}
END_TEST

/* ---- the ready queue -------------------------------------------------- */

/* The queue of B as "i,j,k" from its head. */
static void
queue_text(const struct batch *b, char *buf, size_t len)
{
	uint32_t	i;
	size_t		n = 0;

	buf[0] = '\0';
	for (i = b->qhead; i < b->qtail && n < len; i++)
		n += snprintf(buf + n, len - n, "%s%u", i > b->qhead ? "," : "",
		    b->queue[i]);
}

/* Sequential by sequence_order (ties in list order), parallel in list
 * order, a graph from its roots. */
START_TEST(test_batch_prepare)
{
	struct batch	*b;
	char		*f = NULL, *r = NULL, q[256];

	b = parse("{\"name\": \"s\", \"type\": \"sequential\", "
	    "\"operations\": [{\"operation\": \"quick\", \"sequence_order\": 30},"
	    "{\"operation\": \"quick\", \"sequence_order\": 10},"
	    "{\"operation\": \"quick\", \"sequence_order\": 40},"
	    "{\"operation\": \"quick\", \"sequence_order\": 10},"
	    "{\"operation\": \"quick\", \"sequence_order\": -5}]}", &f, &r);
	ck_assert_msg(b != NULL, "%s: %s", f, r);
	batch_prepare(b);
	queue_text(b, q, sizeof q);
	ck_assert_str_eq(q, "4,1,3,0,2");
	batch_free(b);

	b = parse("{\"name\": \"p\", \"operations\": [{\"operation\": "
	    "\"quick\"}, {\"operation\": \"fail\"}, {\"operation\": "
	    "\"quick\"}]}", &f, &r);
	ck_assert_msg(b != NULL, "%s: %s", f, r);
	batch_prepare(b);
	queue_text(b, q, sizeof q);
	ck_assert_str_eq(q, "0,1,2");
	batch_free(b);

	b = parse("{\"name\": \"g\", \"type\": \"conditional\", "
	    "\"operations\": ["
	    "{\"id\": \"D\", \"operation\": \"quick\", \"depends_on\": "
	    "[\"B\", \"C\"], \"trigger_rule\": \"all_done\"},"
	    "{\"id\": \"A\", \"operation\": \"quick\"},"
	    "{\"id\": \"B\", \"operation\": \"fail\", \"depends_on\": [\"A\"]},"
	    "{\"id\": \"C\", \"operation\": \"quick\", \"depends_on\": [\"A\"]},"
	    "{\"id\": \"E\", \"operation\": \"quick\"}]}", &f, &r);
	ck_assert_msg(b != NULL, "%s: %s", f, r);
	batch_prepare(b);
	queue_text(b, q, sizeof q);
	ck_assert_str_eq(q, "1,4");
	/* Resumed after A completed, B failed and C completed: D's rule
	 * (all_done) holds, and its dependencies are counted. */
	b->ops[1].state = BOP_COMPLETED;
	b->ops[2].state = BOP_FAILED;
	b->ops[3].state = BOP_COMPLETED;
	b->ops[4].state = BOP_RUNNING;
	batch_prepare(b);
	queue_text(b, q, sizeof q);
	ck_assert_str_eq(q, "0");
	ck_assert_uint_eq(b->ops[0].nsuccess, 1);
	ck_assert_uint_eq(b->ops[0].nfailed, 1);
	batch_free(b);
}
END_TEST

/* Operations that began or ended are never queued again; a dependency
 * still running keeps its dependents waiting. */
START_TEST(test_batch_prepare_bad)
{
	struct batch	*b;
	char		*f = NULL, *r = NULL, q[256];

	b = parse("{\"name\": \"p\", \"operations\": [{\"operation\": "
	    "\"quick\"}, {\"operation\": \"fail\"}, {\"operation\": "
	    "\"quick\"}]}", &f, &r);
	ck_assert_msg(b != NULL, "%s: %s", f, r);
	b->ops[0].state = BOP_RUNNING;
	b->ops[2].state = BOP_SKIPPED;
	batch_prepare(b);
	queue_text(b, q, sizeof q);
	ck_assert_str_eq(q, "1");
	batch_free(b);

	b = parse("{\"name\": \"g\", \"type\": \"conditional\", "
	    "\"operations\": [{\"id\": \"A\", \"operation\": \"quick\"},"
	    "{\"id\": \"B\", \"operation\": \"quick\", \"depends_on\": "
	    "[\"A\"], \"trigger_rule\": \"all_done\"}]}", &f, &r);
	ck_assert_msg(b != NULL, "%s: %s", f, r);
	b->ops[0].state = BOP_RUNNING;
	batch_prepare(b);
	queue_text(b, q, sizeof q);
	ck_assert_str_eq(q, "");
	batch_free(b);
}
END_TEST

/* ---- trigger rules ----------------------------------------------------- */

/* The verdict of each rule over (deps, success, failed, skipped). */
START_TEST(test_batch_rules)
{
	static const struct {
		enum batch_rule		rule;
		uint32_t		n, ok, bad, skip;
		enum batch_verdict	want;
	} t[] = {
		{ BATCH_RULE_ALL_SUCCESS, 0, 0, 0, 0, BATCH_RUN },
		{ BATCH_RULE_ALL_SUCCESS, 2, 1, 0, 0, BATCH_WAIT },
		{ BATCH_RULE_ALL_SUCCESS, 2, 2, 0, 0, BATCH_RUN },
		{ BATCH_RULE_ALL_SUCCESS, 2, 0, 1, 0, BATCH_SKIP },
		{ BATCH_RULE_ALL_SUCCESS, 2, 1, 0, 1, BATCH_SKIP },
		{ BATCH_RULE_ALL_DONE, 2, 1, 0, 0, BATCH_WAIT },
		{ BATCH_RULE_ALL_DONE, 2, 0, 1, 1, BATCH_RUN },
		{ BATCH_RULE_ALL_DONE, 0, 0, 0, 0, BATCH_RUN },
		{ BATCH_RULE_ONE_FAILED, 3, 0, 1, 0, BATCH_RUN },
		{ BATCH_RULE_ONE_FAILED, 3, 1, 0, 0, BATCH_WAIT },
		{ BATCH_RULE_ONE_FAILED, 3, 2, 0, 1, BATCH_SKIP },
		{ BATCH_RULE_ONE_FAILED, 0, 0, 0, 0, BATCH_SKIP },
		{ BATCH_RULE_NONE_FAILED, 2, 1, 0, 1, BATCH_RUN },
		{ BATCH_RULE_NONE_FAILED, 2, 1, 0, 0, BATCH_WAIT },
		{ BATCH_RULE_NONE_FAILED, 2, 0, 1, 0, BATCH_SKIP },
		{ BATCH_RULE_NONE_FAILED, 2, 0, 0, 2, BATCH_RUN },
	};
	size_t	i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++)
		ck_assert_msg(batch_rule_eval(t[i].rule, t[i].n, t[i].ok,
		    t[i].bad, t[i].skip) == t[i].want, "row %zu (%s)", i,
		    batch_rule_name(t[i].rule));
}
END_TEST

/* A rule out of range never runs anything. */
START_TEST(test_batch_rules_bad)
{
	ck_assert_int_eq(batch_rule_eval(BATCH_RULE_MAX, 0, 0, 0, 0),
	    BATCH_SKIP);
	ck_assert_int_eq(batch_rule_eval((enum batch_rule)77, 1, 1, 0, 0),
	    BATCH_SKIP);
	ck_assert_str_eq(batch_rule_name(BATCH_RULE_MAX), "unknown");
	ck_assert_str_eq(batch_state_name(BATCH_STATE_MAX), "unknown");
}
END_TEST

/* The map of record REC's body, decoded into U (whole, nothing after). */
static const msgpack_object *
record_body(struct jrec *rec, msgpack_unpacked *u)
{
	ck_assert_int_eq(unpack_buffer(rec->body.data, rec->body.len, u), 0);
	ck_assert_int_eq(u->data.type, MSGPACK_OBJECT_MAP);
	return (&u->data);
}

/* batch.created's body: the row's 25 entries and the operations, each a
 * map of 6 (the sizes the journal has always had). */
START_TEST(test_batch_record_sizes)
{
	struct batch		*b;
	struct jrec		*rec;
	msgpack_unpacked	 u;
	const msgpack_object	*o, *ops;
	char			*f = NULL, *r = NULL;
	uint32_t		 i;

	b = parse("{\"name\": \"n\", \"type\": \"conditional\", \"operations\": "
	    "[{\"id\": \"a\", \"operation\": \"quick\"}, {\"operation\": "
	    "\"quick\", \"depends_on\": [\"a\"], \"parameters\": {\"k\": 1}}]}",
	    &f, &r);
	ck_assert_msg(b != NULL, "%s: %s", f, r);
	b->owner.id = xstrdup("b_test");
	rec = batch_record(b, "batch.created", 1);
	o = record_body(rec, &u);
	ck_assert_uint_eq(o->via.map.size, 26);
	ck_assert_uint_eq(unpack_get(o, "estimate_micro")->via.map.size, 3);
	ops = unpack_get(o, "operations");
	ck_assert(ops != NULL && ops->type == MSGPACK_OBJECT_ARRAY);
	ck_assert_uint_eq(ops->via.array.size, 2);
	for (i = 0; i < 2; i++)
		ck_assert_uint_eq(ops->via.array.ptr[i].via.map.size, 6);
	msgpack_unpacked_destroy(&u);
	jrec_free(rec);
	batch_free(b);
}
END_TEST

/* Without the definition the body is the row alone: 25 entries, the
 * absent ones (description, reason, schedule) as nil, not left out. */
START_TEST(test_batch_record_sizes_bad)
{
	struct batch		*b;
	struct jrec		*rec;
	msgpack_unpacked	 u;
	const msgpack_object	*o;
	char			*f = NULL, *r = NULL;

	b = parse("{\"name\": \"n\", \"operations\": [{\"operation\": "
	    "\"quick\"}]}", &f, &r);
	ck_assert_msg(b != NULL, "%s: %s", f, r);
	b->owner.id = xstrdup("b_test");
	rec = batch_record(b, "batch.started", 0);
	o = record_body(rec, &u);
	ck_assert_uint_eq(o->via.map.size, 25);
	ck_assert(unpack_get(o, "operations") == NULL);
	ck_assert_int_eq(unpack_get(o, "description")->type,
	    MSGPACK_OBJECT_NIL);
	ck_assert_int_eq(unpack_get(o, "schedule")->type, MSGPACK_OBJECT_NIL);
	msgpack_unpacked_destroy(&u);
	jrec_free(rec);
	batch_free(b);
}
END_TEST

static Suite *
batch_suite(void)
{
	Suite	*s = suite_create("batch");

	lib_tcase(s, "parse", setup, teardown, 0,
	    test_batch_parse_defaults,
	    test_batch_parse_defaults_bad,
	    test_batch_parse_ops,
	    test_batch_parse_ops_bad,
	    test_batch_graph,
	    test_batch_graph_bad,
	    test_batch_limits,
	    test_batch_limits_bad,
	    test_batch_repeat,
	    test_batch_repeat_bad,
	    test_batch_prepare,
	    test_batch_prepare_bad,
	    test_batch_record_sizes,
	    test_batch_record_sizes_bad,
	    NULL);
	lib_tcase(s, "rules", NULL, NULL, 0,
	    test_batch_rules,
	    test_batch_rules_bad,
	    NULL);
	return (s);
}

int
main(void)
{
	return (lib_run(CK_NORMAL, batch_suite(), NULL));
}
