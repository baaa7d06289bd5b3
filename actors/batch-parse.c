/*
 * actors/batch-parse.c: a batch's definition from JSON.  Parsing and
 * validation of batch.create's object (and of a schedule's batch
 * template): the batch's own keys and limits, each operation, ids unique,
 * dependencies resolved, the graph free of cycles.  Pure: nothing is
 * registered, journaled or started; every refusal names its field
 * ("operations[3].depends_on") and says why.  Also the words of a
 * definition (types, trigger rules, an operation's id) and the index of
 * dependents that the batch actor walks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

#define BATCH_NAME_MAX		200
#define BATCH_DESC_MAX		2000

struct id_ref {
	const char	*id;
	uint32_t	 index;
};

static int	name_index(const char *, const char *const *, int);
static int	id_ref_cmp(const void *, const void *);
static void	parse_fail(char **, char **, const char *, uint32_t,
		    const char *, const char *);
static int	parse_string(json_t *, const char *, size_t, int,
		    const char **);
static int	parse_int(json_t *, const char *, int64_t, int64_t,
		    int64_t *);
static int	parse_top(struct batch *, json_t *, char **, char **);
static int	parse_limits(struct batch *, json_t *, char **, char **);
static int	parse_op(struct batch *, uint32_t, json_t *,
		    const struct catalog *, char **, char **);
static int	parse_op_rule(struct batch *, uint32_t, json_t *, char **,
		    char **);
static int	parse_deps(struct batch *, uint32_t, json_t *,
		    const struct id_ref *, char **, char **);
static int	check_cycles(struct batch *, uint32_t *);
static int	parse_ids(struct batch *, struct id_ref **, char **, char **,
		    char **);
static int	parse_repeat(struct batch *, json_t *, uint32_t,
		    const struct catalog *, char **, char **);
static int	parse_ops(struct batch *, json_t *, const struct catalog *,
		    char **, char **);

static const char *const batch_type_names[] = {
	"parallel", "sequential", "conditional"
};
static const char *const batch_rule_names[BATCH_RULE_MAX] = {
	"all_success", "all_done", "one_failed", "none_failed"
};

const char *
batch_type_name(enum batch_type t)
{
	return ((unsigned)t <= BATCH_CONDITIONAL ? batch_type_names[t] :
	    "unknown");
}

/* The type named S, or -1. */
int
batch_type_index(const char *s)
{
	return (name_index(s, batch_type_names, 3));
}

const char *
batch_rule_name(enum batch_rule r)
{
	return ((unsigned)r < BATCH_RULE_MAX ? batch_rule_names[r] :
	    "unknown");
}

/* The trigger rule named S, or -1. */
int
batch_rule_index(const char *s)
{
	return (name_index(s, batch_rule_names, BATCH_RULE_MAX));
}

static int
name_index(const char *s, const char *const *names, int n)
{
	int	i;

	for (i = 0; s != NULL && i < n; i++) {
		if (strcmp(s, names[i]) == 0)
			return (i);
	}
	return (-1);
}

/* Operation I's local id (its own, or "op-N" by default), in BUF if it
 * must be made; borrowed. */
const char *
batch_op_id(const struct batch *b, uint32_t i, char *buf, size_t len)
{
	if (b->ops[i].local_id != NULL)
		return (b->ops[i].local_id);
	snprintf(buf, len, "op-%u", i + 1);
	return (buf);
}

static int
id_ref_cmp(const void *a, const void *b)
{
	return (strcmp(((const struct id_ref *)a)->id,
	    ((const struct id_ref *)b)->id));
}

static void
parse_fail(char **field, char **reason, const char *f, uint32_t i,
    const char *fmt, const char *arg)
{
	if (i == UINT32_MAX)
		*field = xstrdup(f);
	else
		xasprintf(field, "operations[%u]%s%s", i, *f != '\0' ? "." : "",
		    f);
	xasprintf(reason, fmt, arg);
}

/* The operation name N interned in B's names (borrowed, valid while B
 * lives). */
const char *
batch_intern(struct batch *b, const char *n)
{
	uint32_t	i;

	for (i = 0; i < b->nnames; i++) {
		if (strcmp(b->names[i], n) == 0)
			return (b->names[i]);
	}
	b->names = xreallocarray(b->names, b->nnames + 1, sizeof *b->names);
	b->names[b->nnames] = xstrdup(n);
	return (b->names[b->nnames++]);
}

static int
parse_string(json_t *o, const char *key, size_t max, int required,
    const char **out)
{
	json_t	*v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL)
		return (required ? -1 : 0);
	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) > max)
		return (-1);
	*out = json_string_value(v);
	return (0);
}

static int
parse_int(json_t *o, const char *key, int64_t lo, int64_t hi, int64_t *out)
{
	json_t	*v = json_object_get(o, key);

	if (v == NULL)
		return (0);
	if (!json_is_integer(v) || json_integer_value(v) < lo ||
	    json_integer_value(v) > hi)
		return (-1);
	*out = json_integer_value(v);
	return (0);
}

/* The batch's own keys (not its operations). */
static int
parse_top(struct batch *b, json_t *o, char **field, char **reason)
{
	static const char *known[] = { "name", "description", "account",
	    "type", "max_concurrent", "priority", "max_cost",
	    "stop_on_failure", "draft", "operations", "deliver" };
	const char	*key, *s, *f;
	json_t		*v;
	int		 t;

	json_object_foreach(o, key, v) {
		if (name_index(key, known, 11) == -1) {
			parse_fail(field, reason, key, UINT32_MAX,
			    "unknown key%s", "");
			return (-1);
		}
	}
	if (parse_string(o, "name", BATCH_NAME_MAX, 1, &s) == -1) {
		parse_fail(field, reason, "name", UINT32_MAX, "required: a "
		    "string of 1 to 200 bytes%s", "");
		return (-1);
	}
	b->owner.name = xstrdup(s);
	if (parse_string(o, "description", BATCH_DESC_MAX, 0, &s) == -1) {
		parse_fail(field, reason, "description", UINT32_MAX,
		    "a string of 1 to 2000 bytes%s", "");
		return (-1);
	}
	b->description = s != NULL ? xstrdup(s) : NULL;
	v = json_object_get(o, "type");
	t = v == NULL ? BATCH_PARALLEL : name_index(json_string_value(v),
	    batch_type_names, 3);
	if (t == -1) {
		parse_fail(field, reason, "type", UINT32_MAX, "one of parallel, "
		    "sequential, conditional%s", "");
		return (-1);
	}
	b->type = (uint8_t)t;
	/* Who is mailed the batch's summary when it ends (email.c); no
	 * recipient: none. */
	if ((v = json_object_get(o, "deliver")) != NULL && !json_is_null(v) &&
	    email_deliver_check(v, &b->owner.deliver, &f, reason) == -1) {
		*field = xstrdup(f);
		return (-1);
	}
	return (parse_limits(b, o, field, reason));
}

/* max_concurrent, priority, max_cost, stop_on_failure, draft. */
static int
parse_limits(struct batch *b, json_t *o, char **field, char **reason)
{
	json_t	*v;
	int64_t	 n;

	n = BATCH_DEFAULT_CONCURRENT;
	if (parse_int(o, "max_concurrent", 1, BATCH_MAX_CONCURRENT, &n) == -1) {
		parse_fail(field, reason, "max_concurrent", UINT32_MAX,
		    "an integer from 1 to 10000%s", "");
		return (-1);
	}
	b->max_concurrent = (uint32_t)n;
	n = 5;
	if (parse_int(o, "priority", 1, 10, &n) == -1) {
		parse_fail(field, reason, "priority", UINT32_MAX,
		    "an integer from 1 to 10%s", "");
		return (-1);
	}
	b->owner.priority = (uint8_t)n;
	if ((v = json_object_get(o, "max_cost")) != NULL &&
	    parse_usd_json(v, &b->max_cost) == -1) {
		parse_fail(field, reason, "max_cost", UINT32_MAX,
		    "an amount in USD (\"1.50\" or 1.5), not negative%s", "");
		return (-1);
	}
	if ((v = json_object_get(o, "stop_on_failure")) != NULL &&
	    !json_is_boolean(v)) {
		parse_fail(field, reason, "stop_on_failure", UINT32_MAX,
		    "true or false%s", "");
		return (-1);
	}
	b->stop_on_failure = json_is_true(v);
	if (b->stop_on_failure && b->type != BATCH_SEQUENTIAL) {
		parse_fail(field, reason, "stop_on_failure", UINT32_MAX,
		    "only for sequential batches%s", "");
		return (-1);
	}
	if ((v = json_object_get(o, "draft")) != NULL && !json_is_boolean(v)) {
		parse_fail(field, reason, "draft", UINT32_MAX,
		    "true or false%s", "");
		return (-1);
	}
	return (0);
}

/* Operation I (object O) without its dependencies. */
static int
parse_op(struct batch *b, uint32_t i, json_t *o, const struct catalog *cat,
    char **field, char **reason)
{
	static const char *known[] = { "id", "operation", "parameters",
	    "sequence_order", "depends_on", "trigger_rule" };
	struct batch_op	*op = &b->ops[i];
	const char	*key, *s;
	json_t		*v;

	if (!json_is_object(o)) {
		parse_fail(field, reason, "", i, "must be an object%s", "");
		return (-1);
	}
	json_object_foreach(o, key, v) {
		if (name_index(key, known, 6) == -1) {
			parse_fail(field, reason, key, i, "unknown key%s", "");
			return (-1);
		}
	}
	if (parse_string(o, "id", BATCH_MAX_ID, 0, &s) == -1) {
		parse_fail(field, reason, "id", i, "a string of 1 to 128 "
		    "bytes%s", "");
		return (-1);
	}
	/* The default id ("op-N") is not stored. */
	op->local_id = s != NULL ? xstrdup(s) : NULL;
	if (parse_string(o, "operation", 255, 1, &s) == -1) {
		parse_fail(field, reason, "operation", i, "required: the name "
		    "of an operation of the catalog%s", "");
		return (-1);
	}
	if (cat != NULL && catalog_operation(cat, s) == NULL) {
		parse_fail(field, reason, "operation", i, "\"%s\" is not in "
		    "the catalog", s);
		return (-1);
	}
	op->operation = batch_intern(b, s);
	if ((v = json_object_get(o, "parameters")) != NULL) {
		if (!json_is_object(v)) {
			parse_fail(field, reason, "parameters", i,
			    "must be an object%s", "");
			return (-1);
		}
		if (json_object_size(v) > 0)
			op->parameters = json_dumps(v, JSON_COMPACT |
			    JSON_SORT_KEYS);
	}
	return (parse_op_rule(b, i, o, field, reason));
}

/* Operation I's sequence_order and trigger_rule; graph keys only in a
 * conditional batch. */
static int
parse_op_rule(struct batch *b, uint32_t i, json_t *o, char **field,
    char **reason)
{
	struct batch_op	*op = &b->ops[i];
	json_t		*v;
	int64_t		 n;
	int		 r;

	n = i;
	if (parse_int(o, "sequence_order", INT32_MIN, INT32_MAX, &n) == -1) {
		parse_fail(field, reason, "sequence_order", i,
		    "a 32-bit integer%s", "");
		return (-1);
	}
	op->order = (int32_t)n;
	v = json_object_get(o, "trigger_rule");
	r = v == NULL ? BATCH_RULE_ALL_SUCCESS :
	    name_index(json_string_value(v), batch_rule_names,
	    BATCH_RULE_MAX);
	if (r == -1) {
		parse_fail(field, reason, "trigger_rule", i, "one of "
		    "all_success, all_done, one_failed, none_failed%s", "");
		return (-1);
	}
	op->rule = (uint8_t)r;
	if (b->type != BATCH_CONDITIONAL && (v != NULL ||
	    json_object_get(o, "depends_on") != NULL)) {
		parse_fail(field, reason, v != NULL ? "trigger_rule" :
		    "depends_on", i, "only for conditional batches%s", "");
		return (-1);
	}
	return (0);
}

/* Resolve operation I's depends_on (array A) through the sorted REFS. */
static int
parse_deps(struct batch *b, uint32_t i, json_t *a, const struct id_ref *refs,
    char **field, char **reason)
{
	struct batch_op	*op = &b->ops[i];
	struct id_ref	 key, *hit;
	json_t		*v;
	size_t		 k, j;

	if (a == NULL)
		return (0);
	if (!json_is_array(a) || json_array_size(a) > BATCH_MAX_DEPS) {
		parse_fail(field, reason, "depends_on", i, "a list of at most "
		    "1000 operation ids%s", "");
		return (-1);
	}
	op->deps = xcalloc(json_array_size(a) + 1, sizeof *op->deps);
	json_array_foreach(a, k, v) {
		if (!json_is_string(v)) {
			parse_fail(field, reason, "depends_on", i, "ids are "
			    "strings%s", "");
			return (-1);
		}
		key.id = json_string_value(v);
		hit = bsearch(&key, refs, b->nops, sizeof *refs, id_ref_cmp);
		if (hit == NULL) {
			parse_fail(field, reason, "depends_on", i, "unknown "
			    "operation id \"%s\"", key.id);
			return (-1);
		}
		if (hit->index == i) {
			parse_fail(field, reason, "depends_on", i, "\"%s\" "
			    "depends on itself", key.id);
			return (-1);
		}
		for (j = 0; j < op->ndeps; j++) {
			if (op->deps[j] == hit->index) {
				parse_fail(field, reason, "depends_on", i,
				    "\"%s\" is listed twice", key.id);
				return (-1);
			}
		}
		op->deps[op->ndeps++] = hit->index;
	}
	return (0);
}

/* Dependents of each operation, as offsets into one array (rev_off, rev),
 * replacing any built before. */
void
batch_build_rev(struct batch *b)
{
	uint32_t	i, j, *fill;

	free(b->rev_off);
	free(b->rev);
	b->rev_off = xcalloc((size_t)b->nops + 1, sizeof *b->rev_off);
	for (i = 0; i < b->nops; i++)
		for (j = 0; j < b->ops[i].ndeps; j++)
			b->rev_off[b->ops[i].deps[j] + 1]++;
	for (i = 0; i < b->nops; i++)
		b->rev_off[i + 1] += b->rev_off[i];
	b->rev = xcalloc((size_t)b->rev_off[b->nops] + 1, sizeof *b->rev);
	fill = xcalloc((size_t)b->nops + 1, sizeof *fill);
	for (i = 0; i < b->nops; i++)
		for (j = 0; j < b->ops[i].ndeps; j++) {
			uint32_t d = b->ops[i].deps[j];

			b->rev[b->rev_off[d] + fill[d]++] = i;
		}
	free(fill);
}

/*
 * Kahn's algorithm over the graph: -1 if there is a cycle, with *AT an
 * operation on it (followed from what is left along dependencies).
 */
static int
check_cycles(struct batch *b, uint32_t *at)
{
	uint32_t	*indeg, *stack, n = 0, seen = 0, i, j, k;
	uint8_t		*mark;
	int		 rc = 0;

	indeg = xcalloc((size_t)b->nops + 1, sizeof *indeg);
	stack = xcalloc((size_t)b->nops + 1, sizeof *stack);
	for (i = 0; i < b->nops; i++)
		if ((indeg[i] = b->ops[i].ndeps) == 0)
			stack[n++] = i;
	while (n > 0) {
		i = stack[--n];
		seen++;
		for (k = b->rev_off[i]; k < b->rev_off[i + 1]; k++)
			if (--indeg[b->rev[k]] == 0)
				stack[n++] = b->rev[k];
	}
	if (seen < b->nops) {
		rc = -1;
		for (i = 0; i < b->nops && indeg[i] == 0; i++)
			;
		/* Walk back along unfinished dependencies until a repeat. */
		mark = xcalloc((size_t)b->nops + 1, 1);
		while (!mark[i]) {
			mark[i] = 1;
			for (j = 0; j < b->ops[i].ndeps; j++)
				if (indeg[b->ops[i].deps[j]] > 0)
					break;
			i = b->ops[i].deps[j];
		}
		*at = i;
		free(mark);
	}
	free(indeg);
	free(stack);
	return (rc);
}

/* Ids unique; a sorted index of them in *REFS. */
static int
parse_ids(struct batch *b, struct id_ref **refs, char **names, char **field,
    char **reason)
{
	uint32_t	i;
	char		*p;

	*refs = xcalloc((size_t)b->nops + 1, sizeof **refs);
	/* Default ids are made in one buffer, "op-N" and a NUL each. */
	*names = p = xmalloc((size_t)b->nops * 16 + 1);
	for (i = 0; i < b->nops; i++) {
		if (b->ops[i].local_id != NULL)
			(*refs)[i].id = b->ops[i].local_id;
		else {
			(*refs)[i].id = p;
			p += snprintf(p, 16, "op-%u", i + 1) + 1;
		}
		(*refs)[i].index = i;
	}
	xqsort(*refs, b->nops, sizeof **refs, id_ref_cmp);
	for (i = 1; i < b->nops; i++) {
		if (strcmp((*refs)[i - 1].id, (*refs)[i].id) == 0) {
			parse_fail(field, reason, "id", (*refs)[i].index >
			    (*refs)[i - 1].index ? (*refs)[i].index :
			    (*refs)[i - 1].index, "duplicate id \"%s\"",
			    (*refs)[i].id);
			return (-1);
		}
	}
	return (0);
}

/* The one operation of A, REPEAT times (the simple form: no ids, no
 * dependencies). */
static int
parse_repeat(struct batch *b, json_t *a, uint32_t repeat,
    const struct catalog *cat, char **field, char **reason)
{
	uint32_t	i;

	if (!json_is_array(a) || json_array_size(a) != 1) {
		parse_fail(field, reason, "operations", UINT32_MAX, "exactly "
		    "one operation with a count%s", "");
		return (-1);
	}
	b->ops = xcalloc(repeat, sizeof *b->ops);
	b->nops = 1;
	if (parse_op(b, 0, json_array_get(a, 0), cat, field, reason) == -1)
		return (-1);
	if (b->ops[0].local_id != NULL || b->ops[0].rule !=
	    BATCH_RULE_ALL_SUCCESS) {
		parse_fail(field, reason, b->ops[0].local_id != NULL ? "id" :
		    "trigger_rule", 0, "not with a count%s", "");
		return (-1);
	}
	for (i = 1; i < repeat; i++) {
		b->ops[i] = b->ops[0];
		b->ops[i].order = (int32_t)i;
		if (b->ops[0].parameters != NULL)
			b->ops[i].parameters = xstrdup(b->ops[0].parameters);
	}
	b->nops = repeat;
	batch_build_rev(b);
	return (0);
}

static int
parse_ops(struct batch *b, json_t *a, const struct catalog *cat,
    char **field, char **reason)
{
	struct id_ref	*refs = NULL;
	char		*names = NULL, buf[32];
	uint32_t	 i, at;
	int		 rc = -1;

	if (!json_is_array(a) || json_array_size(a) == 0 ||
	    json_array_size(a) > BATCH_MAX_OPS) {
		parse_fail(field, reason, "operations", UINT32_MAX,
		    json_is_array(a) && json_array_size(a) == 0 ?
		    "empty: a batch has at least one operation%s" :
		    "required: a list of 1 to 100000 operations%s", "");
		return (-1);
	}
	b->ops = xcalloc(json_array_size(a), sizeof *b->ops);
	for (i = 0; i < json_array_size(a); i++) {
		b->nops = i + 1;
		if (parse_op(b, i, json_array_get(a, i), cat, field,
		    reason) == -1)
			return (-1);
	}
	if (parse_ids(b, &refs, &names, field, reason) == -1)
		goto out;
	for (i = 0; i < b->nops; i++) {
		if (parse_deps(b, i, json_object_get(json_array_get(a, i),
		    "depends_on"), refs, field, reason) == -1)
			goto out;
	}
	batch_build_rev(b);
	if (check_cycles(b, &at) == -1) {
		parse_fail(field, reason, "depends_on", at, "a dependency "
		    "cycle goes through \"%s\"", batch_op_id(b, at, buf,
		    sizeof buf));
		goto out;
	}
	rc = 0;
out:
	free(refs);
	free(names);
	return (rc);
}

/*
 * Parse and validate batch definition O for ACCOUNT against catalog CAT
 * (NULL: operations are not checked): the batch, not registered, in state
 * draft; or NULL with *FIELD ("operations[3].depends_on") and *REASON
 * (both allocated).  REPEAT > 1: O has one operation, made REPEAT
 * operations (without a JSON object each).  Nothing is written.
 */
struct batch *
batch_parse(json_t *o, const char *account, const struct catalog *cat,
    uint32_t repeat, char **field, char **reason)
{
	struct batch	*b;

	*field = *reason = NULL;
	if (!json_is_object(o)) {
		*field = xstrdup("batch");
		*reason = xstrdup("must be an object");
		return (NULL);
	}
	b = batch_create();
	b->owner.account = xstrdup(account);
	if (repeat > BATCH_MAX_OPS) {
		parse_fail(field, reason, "count", UINT32_MAX, "at most "
		    "100000%s", "");
		batch_free(b);
		return (NULL);
	}
	if (parse_top(b, o, field, reason) == -1 || (repeat > 1 ?
	    parse_repeat(b, json_object_get(o, "operations"), repeat, cat,
	    field, reason) : parse_ops(b, json_object_get(o, "operations"),
	    cat, field, reason)) == -1) {
		batch_free(b);
		return (NULL);
	}
	b->c.total = b->nops;
	return (b);
}
