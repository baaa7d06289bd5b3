/*
 * actors/prefs.c: an account's preferences.  Per (account, operation): the
 * preferred model, whether the operation is enabled, default parameters
 * (merged under a schedule's own) and a monthly budget.  Per account: one
 * UI document (colour scheme, accent colour, compact mode, list views),
 * validated strictly and kept as given, and one notification document
 * (the addresses notices go to and the events that make them; notice.c,
 * doc/email.md), its row keyed "ACCOUNT#notify".
 *
 * Every change is one record (prefs.set, prefs.bulk_set, prefs.ui_set)
 * carrying the changed rows of the "prefs" table; it is built from the
 * state the change before it left (the daemon orders an account's
 * changes, daemon/methods.c) and takes effect in
 * memory, and is answered, once durable.  A bulk change of N operations is
 * one record and one transaction: all of it or, if any entry is refused,
 * none of it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "actors.h"

#define PREFS_BULK_MAX		1000		/* operations in one bulk_set */
#define PREFS_PARAMS_MAX	(64 * 1024)	/* bytes of default_parameters */
#define PREFS_VIEWS_MAX		64
#define PREFS_COLUMNS_MAX	64
#define PREFS_TEXT_MAX		64		/* bytes of a column or sort */
#define PREFS_PAGE_MAX		500
#define PREFS_KEY_MAX		160		/* "ACCOUNT/OPERATION" */
#define PREFS_NOTIFY_ADDRESSES	10		/* notification addresses */
#define PREFS_NOTIFY_SCHEDULES	100		/* run_failed's schedules */

#define OP_PREFS_OF(n) \
	((struct op_prefs *)((char *)(n) - offsetof(struct op_prefs, node)))
#define PREFS_UI_OF(n) \
	((struct prefs_ui *)((char *)(n) - offsetof(struct prefs_ui, node)))

/* The UI document of an account. */
struct prefs_ui {
	struct strmap_node	 node;
	char			*account;
	char			*doc;		/* JSON object text, as given */
	int64_t			 updated_us;
	int			 notify;	/* the notify document */
};

enum prefs_kind {
	PREFS_SET,
	PREFS_BULK,
	PREFS_UI,
	PREFS_NOTIFY,
};

static const char *prefs_kinds[] = {
	"prefs.set", "prefs.bulk_set", "prefs.ui_set", "prefs.notify_set"
};

/* A change on its way to the journal: the new rows it puts. */
struct prefs_change {
	struct reply		 *req;
	struct account		 *a;
	enum prefs_kind		  kind;
	struct op_prefs		**v;
	size_t			  n;
	struct prefs_ui		 *ui;		/* the UI or notify document */
};

static struct strmap	ops_map;	/* "ACCOUNT/OPERATION" -> op_prefs */
static struct strmap	ui_map;		/* ACCOUNT -> prefs_ui */
static struct strmap	notify_map;	/* ACCOUNT -> prefs_ui (notify) */

static struct op_prefs	*op_prefs_new(const char *, const char *);
static void		 op_prefs_free(struct op_prefs *);
static struct op_prefs	*op_prefs_copy(const char *, const char *);
static void		 op_prefs_pack(const struct op_prefs *,
			     msgpack_packer *);
static struct op_prefs	*op_prefs_unpack(const msgpack_object *);
static json_t		*op_prefs_to_json(const char *, const char *,
			     const struct op_prefs *);
static void		 prefs_ui_free(struct prefs_ui *);
static void		 prefs_ui_pack(const struct prefs_ui *,
			     msgpack_packer *);
static struct prefs_ui	*prefs_ui_unpack(const msgpack_object *, int);
static struct prefs_ui	*prefs_ui_find(const char *);
static struct prefs_ui	*prefs_notify_find(const char *);
static char		*prefs_doc_key(const struct prefs_ui *);
static int		 prefs_check_notify(json_t *, char **, char **);
static int		 prefs_row_cb(const struct journal_row *, void *);
static int		 prefs_field(struct op_prefs *, const char *, json_t *,
			     char **);
static int		 prefs_entry(struct op_prefs *, json_t *, const char *,
			     int, char **, char **);
static int		 prefs_bulk_entry(struct prefs_change *, const char *,
			     json_t *, char **, char **);
static int		 prefs_check_ui(json_t *, char **, char **);
static void		 prefs_submit_doc(struct prefs_change *, const char *,
			     const struct prefs_ui *, json_t *,
			     int (*)(json_t *, char **, char **), int, size_t);
static int		 prefs_check_view(const char *, json_t *, char **,
			     char **);
static int		 prefs_check_columns(const char *, json_t *, char **,
			     char **);
static struct prefs_change *prefs_change_new(struct reply *,
			     struct account *, enum prefs_kind);
static void		 prefs_change_free(struct prefs_change *);
static void		 prefs_change_add(struct prefs_change *,
			     struct op_prefs *);
static void		 prefs_bulk_pack(msgpack_packer *, const void *);
static struct jrec	*prefs_change_record(struct prefs_change *);
static void		 prefs_change_apply(struct prefs_change *);
static json_t		*prefs_change_json(const struct prefs_change *);
static void		 prefs_change_cb(const struct journal_result *, void *);
static void		 prefs_refuse(struct prefs_change *, const char *,
			     const char *);
static void		 prefs_submit(struct prefs_change *);
static struct op_prefs	*op_prefs_find(const char *, const char *);
static const char	*prefs_view_value(const char *, json_t *);
static void		 prefs_do_set(struct reply *, struct account *,
			     json_t *);
static void		 prefs_do_bulk_set(struct reply *, struct account *,
			     json_t *);
static void		 prefs_do_set_ui(struct reply *, struct account *,
			     json_t *);
static int		 prefs_cmp_operation(const void *, const void *);
struct prefs_list;
static json_t		*prefs_list_json(const char *,
			     struct prefs_list *);
static json_t		*prefs_catalog_ops(const char *);
static json_t		*prefs_catalog_models(void);

/* ---- operation preferences --------------------------------------------- */

static struct op_prefs *
op_prefs_new(const char *account, const char *operation)
{
	struct op_prefs	*p;

	p = xcalloc(1, sizeof *p);
	xasprintf(&p->key, "%s/%s", account, operation);
	p->account = xstrdup(account);
	p->operation = xstrdup(operation);
	p->enabled = 1;
	p->default_parameters = xstrdup("{}");
	return (p);
}

static void
op_prefs_free(struct op_prefs *p)
{
	if (p == NULL)
		return;
	free(p->key);
	free(p->account);
	free(p->operation);
	free(p->preferred_model);
	free(p->default_parameters);
	free(p);
}

/* A copy of the preferences of (ACCOUNT, OPERATION), or the defaults. */
static struct op_prefs *
op_prefs_copy(const char *account, const char *operation)
{
	const struct op_prefs	*p;
	struct op_prefs		*t;

	t = op_prefs_new(account, operation);
	if ((p = prefs_lookup(account, operation)) == NULL)
		return (t);
	t->preferred_model = p->preferred_model != NULL ?
	    xstrdup(p->preferred_model) : NULL;
	t->enabled = p->enabled;
	free(t->default_parameters);
	t->default_parameters = xstrdup(p->default_parameters);
	t->monthly_budget = p->monthly_budget;
	t->updated_us = p->updated_us;
	return (t);
}

/* The "prefs" row of an operation (and the body of prefs.set). */
static void
op_prefs_pack(const struct op_prefs *p, msgpack_packer *pk)
{
	const struct pack_pair	v[] = {
		PACK_PAIR_STR("type", "operation"),
		PACK_PAIR_STR("account", p->account),
		PACK_PAIR_STR("operation", p->operation),
		PACK_PAIR_STR("preferred_model", p->preferred_model),
		PACK_PAIR_BOOL("enabled", p->enabled),
		PACK_PAIR_JSON("default_parameters", p->default_parameters),
		PACK_PAIR_INT("monthly_budget_micro", p->monthly_budget),
		PACK_PAIR_INT("updated_us", p->updated_us),
	};

	PACK_MAP(pk, v);
}

static struct op_prefs *
op_prefs_unpack(const msgpack_object *o)
{
	struct op_prefs	*p;
	char		*account, *operation, *params;

	account = unpack_strdup(o, "account");
	operation = unpack_strdup(o, "operation");
	if (account == NULL || operation == NULL) {
		free(account);
		free(operation);
		return (NULL);
	}
	p = op_prefs_new(account, operation);
	free(account);
	free(operation);
	p->preferred_model = unpack_strdup(o, "preferred_model");
	p->enabled = unpack_int(o, "enabled", 1) != 0;
	if ((params = unpack_strdup(o, "default_parameters")) != NULL) {
		free(p->default_parameters);
		p->default_parameters = params;
	}
	p->monthly_budget = unpack_int(o, "monthly_budget_micro", 0);
	p->updated_us = unpack_int(o, "updated_us", 0);
	return (p);
}

/* The preferences of (ACCOUNT, OPERATION) as JSON; P NULL: the defaults. */
static json_t *
op_prefs_to_json(const char *account, const char *operation,
    const struct op_prefs *p)
{
	json_t	*j, *params = NULL;
	char	 buf[40];

	if (p != NULL)
		params = json_loads(p->default_parameters, 0, NULL);
	j = json_pack("{s:s, s:s, s:s*, s:b, s:o}", "account", account,
	    "operation", operation, "preferred_model", p != NULL ?
	    p->preferred_model : NULL, "enabled", p != NULL ? p->enabled : 1,
	    "default_parameters", params != NULL ? params : json_object());
	json_object_set_new(j, "monthly_budget_usd", p != NULL &&
	    p->monthly_budget > 0 ? json_string(fmt_usd(p->monthly_budget,
	    buf, sizeof buf)) : json_null());
	json_object_set_new(j, "updated", p != NULL && p->updated_us > 0 ?
	    json_string(fmt_rfc3339(p->updated_us, buf, sizeof buf)) :
	    json_null());
	return (j);
}

static struct op_prefs *
op_prefs_find(const char *account, const char *operation)
{
	struct strmap_node	*n;
	char			 key[PREFS_KEY_MAX];
	int			 len;

	if (account == NULL || operation == NULL || ops_map.count == 0)
		return (NULL);
	len = snprintf(key, sizeof key, "%s/%s", account, operation);
	if (len < 0 || (size_t)len >= sizeof key)
		return (NULL);
	if ((n = strmap_find(&ops_map, key)) == NULL)
		return (NULL);
	return (OP_PREFS_OF(n));
}

/* The preferences of (ACCOUNT, OPERATION), or NULL if none were set.
 * Borrowed; valid until the next change of them (a later loop turn). */
const struct op_prefs *
prefs_lookup(const char *account, const char *operation)
{
	return (op_prefs_find(account, operation));
}

/*
 * The parameters a run gets: P's default parameters with PARAMS (a JSON
 * object text) merged over them, key by key (PARAMS wins).  Returns
 * allocated JSON text; P NULL (or an unreadable text) gives PARAMS as is.
 */
char *
prefs_merge_parameters(const struct op_prefs *p, const char *params)
{
	json_t	*base, *over;
	char	*s;

	if (params == NULL)
		params = "{}";
	if (p == NULL || strcmp(p->default_parameters, "{}") == 0)
		return (xstrdup(params));
	base = json_loads(p->default_parameters, 0, NULL);
	over = json_loads(params, 0, NULL);
	if (!json_is_object(base) || !json_is_object(over)) {
		json_decref(base);
		json_decref(over);
		return (xstrdup(params));
	}
	json_object_update(base, over);
	s = json_dumps(base, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(base);
	json_decref(over);
	return (s != NULL ? s : xstrdup(params));
}

/* Call FN for each operation's preferences of ACCOUNT (NULL: of all). */
void
prefs_foreach(const char *account, void (*fn)(const struct op_prefs *,
    void *), void *arg)
{
	struct strmap_node	*n;
	struct op_prefs		*p;
	size_t			 i;

	for (i = 0; i < ops_map.nbuckets; i++) {
		for (n = ops_map.buckets[i]; n != NULL; n = n->next) {
			p = OP_PREFS_OF(n);
			if (account == NULL || strcmp(p->account, account) == 0)
				fn(p, arg);
		}
	}
}

/* ---- the UI document --------------------------------------------------- */

static void
prefs_ui_free(struct prefs_ui *ui)
{
	if (ui == NULL)
		return;
	free(ui->account);
	free(ui->doc);
	free(ui);
}

static void
prefs_ui_pack(const struct prefs_ui *ui, msgpack_packer *pk)
{
	const struct pack_pair	v[] = {
		PACK_PAIR_STR("type", ui->notify ? "notify" : "ui"),
		PACK_PAIR_STR("account", ui->account),
		PACK_PAIR_JSON(ui->notify ? "notify" : "ui", ui->doc),
		PACK_PAIR_INT("updated_us", ui->updated_us),
	};

	PACK_MAP(pk, v);
}

static struct prefs_ui *
prefs_ui_unpack(const msgpack_object *o, int notify)
{
	struct prefs_ui	*ui;

	ui = xcalloc(1, sizeof *ui);
	ui->notify = notify;
	ui->account = unpack_strdup(o, "account");
	ui->doc = unpack_strdup(o, notify ? "notify" : "ui");
	ui->updated_us = unpack_int(o, "updated_us", 0);
	if (ui->account == NULL || ui->doc == NULL) {
		prefs_ui_free(ui);
		return (NULL);
	}
	return (ui);
}

static struct prefs_ui *
prefs_ui_find(const char *account)
{
	struct strmap_node	*n;

	if (ui_map.nbuckets == 0 || (n = strmap_find(&ui_map, account)) ==
	    NULL)
		return (NULL);
	return (PREFS_UI_OF(n));
}

static struct prefs_ui *
prefs_notify_find(const char *account)
{
	struct strmap_node	*n;

	if (notify_map.nbuckets == 0 || (n = strmap_find(&notify_map,
	    account)) == NULL)
		return (NULL);
	return (PREFS_UI_OF(n));
}

/* The row key of an account's document: ACCOUNT (UI), ACCOUNT#notify;
 * allocated.  Replay's fold makes the same. */
static char *
prefs_doc_key(const struct prefs_ui *ui)
{
	char	*key;

	xasprintf(&key, "%s%s", ui->account, ui->notify ? "#notify" : "");
	return (key);
}

/* ---- loading ----------------------------------------------------------- */

static int
prefs_row_cb(const struct journal_row *row, void *arg)
{
	msgpack_unpacked	 u;
	struct op_prefs		*p;
	struct prefs_ui		*ui;
	char			*type;
	size_t			*bad = arg;

	if (unpack_buffer(row->val, row->vlen, &u) == -1) {
		(*bad)++;
		return (0);
	}
	type = unpack_strdup(&u.data, "type");
	if (type != NULL && strcmp(type, "ui") == 0) {
		if ((ui = prefs_ui_unpack(&u.data, 0)) == NULL ||
		    strmap_insert(&ui_map, &ui->node, ui->account) == -1) {
			prefs_ui_free(ui);
			(*bad)++;
		}
	} else if (type != NULL && strcmp(type, "notify") == 0) {
		if ((ui = prefs_ui_unpack(&u.data, 1)) == NULL ||
		    strmap_insert(&notify_map, &ui->node, ui->account) == -1) {
			prefs_ui_free(ui);
			(*bad)++;
		}
	} else if (type != NULL && strcmp(type, "operation") == 0) {
		if ((p = op_prefs_unpack(&u.data)) == NULL ||
		    strmap_insert(&ops_map, &p->node, p->key) == -1) {
			op_prefs_free(p);
			(*bad)++;
		}
	} else
		(*bad)++;
	free(type);
	msgpack_unpacked_destroy(&u);
	return (0);
}

/* Load every row of the "prefs" table (unreadable rows are skipped). */
int
prefs_load_all(struct journal *j, char **cause)
{
	size_t	bad = 0;

	prefs_free_all();
	strmap_init(&ops_map);
	strmap_init(&ui_map);
	strmap_init(&notify_map);
	if (journal_table_foreach(j, "prefs", NULL, 0, 0, prefs_row_cb,
	    &bad) == -1) {
		*cause = xstrdup("cannot read the prefs table");
		return (-1);
	}
	if (bad > 0)
		log_warnx("msg=\"unreadable prefs rows skipped\" rows=%zu",
		    bad);
	log_debug("msg=\"prefs loaded\" operations=%zu ui=%zu", ops_map.count,
	    ui_map.count);
	return (0);
}

static void
op_prefs_free_node(struct strmap_node *n, void *arg)
{
	op_prefs_free(OP_PREFS_OF(n));
}

static void
prefs_ui_free_node(struct strmap_node *n, void *arg)
{
	prefs_ui_free(PREFS_UI_OF(n));
}

void
prefs_free_all(void)
{
	strmap_foreach(&ops_map, op_prefs_free_node, NULL);
	strmap_clear(&ops_map);
	strmap_foreach(&ui_map, prefs_ui_free_node, NULL);
	strmap_clear(&ui_map);
	strmap_foreach(&notify_map, prefs_ui_free_node, NULL);
	strmap_clear(&notify_map);
}

/* ---- views ------------------------------------------------------------- */

struct prefs_list {
	const struct op_prefs	**v;
	size_t			  n;
	size_t			  cap;
};

static void
prefs_list_add(const struct op_prefs *p, void *arg)
{
	struct prefs_list	*l = arg;

	if (l->n == l->cap) {
		l->cap = l->cap == 0 ? 16 : l->cap * 2;
		l->v = xreallocarray(l->v, l->cap, sizeof *l->v);
	}
	l->v[l->n++] = p;
}

static int
prefs_cmp_operation(const void *x, const void *y)
{
	return (strcmp((*(const struct op_prefs *const *)x)->operation,
	    (*(const struct op_prefs *const *)y)->operation));
}

/*
 * prefs.get: the preferences of OPERATION in ACCOUNT (the defaults if none
 * were set), or, OPERATION NULL, every operation's and the UI document;
 * ALL: every operation of the catalog (with its description and default
 * model), and the catalog's models.
 */
json_t *
prefs_to_json(const char *account, const char *operation, int all)
{
	struct prefs_list	 l;
	struct prefs_ui		*ui;
	json_t			*ops, *doc = NULL, *j;

	if (operation != NULL)
		return (op_prefs_to_json(account, operation,
		    prefs_lookup(account, operation)));
	if (all)
		ops = prefs_catalog_ops(account);
	else {
		memset(&l, 0, sizeof l);
		prefs_foreach(account, prefs_list_add, &l);
		if (l.n > 0)
			xqsort(l.v, l.n, sizeof *l.v, prefs_cmp_operation);
		ops = prefs_list_json(account, &l);
	}
	if ((ui = prefs_ui_find(account)) != NULL)
		doc = json_loads(ui->doc, 0, NULL);
	j = json_pack("{s:s, s:o, s:o}", "account", account, "operations",
	    ops, "ui", doc != NULL ? doc : json_object());
	if (all)
		json_object_set_new(j, "models", prefs_catalog_models());
	return (j);
}

/* The preferences in L, in its order; frees L's array. */
static json_t *
prefs_list_json(const char *account, struct prefs_list *l)
{
	json_t	*ops;
	size_t	 i;

	ops = json_array();
	for (i = 0; i < l->n; i++)
		json_array_append_new(ops, op_prefs_to_json(account,
		    l->v[i]->operation, l->v[i]));
	free(l->v);
	return (ops);
}

/* Every operation of the catalog (sorted by id), with ACCOUNT's
 * preferences or the defaults, its description and default model. */
static json_t *
prefs_catalog_ops(const char *account)
{
	const struct catalog	*cat = engine->catalog;
	const struct operation	*op;
	json_t			*ops, *o;
	size_t			 i;

	ops = json_array();
	for (i = 0; cat != NULL && i < cat->nops; i++) {
		op = &cat->ops[i];
		o = op_prefs_to_json(account, op->id, prefs_lookup(account,
		    op->id));
		json_object_set_new(o, "description", op->description != NULL ?
		    json_string(op->description) : json_null());
		json_object_set_new(o, "default_model",
		    json_string(op->default_model));
		json_array_append_new(ops, o);
	}
	return (ops);
}

/* The catalog's models (sorted by id): id and description. */
static json_t *
prefs_catalog_models(void)
{
	const struct catalog	*cat = engine->catalog;
	const struct model	*m;
	json_t			*a;
	size_t			 i;

	a = json_array();
	for (i = 0; cat != NULL && i < cat->nmodels; i++) {
		m = &cat->models[i];
		json_array_append_new(a, json_pack("{s:s, s:s*}", "id", m->id,
		    "description", m->description));
	}
	return (a);
}

/* ---- validation -------------------------------------------------------- */

/* Set field KEY of T from V: 1 if set, 0 if KEY is not a field, -1 and
 * *reason if V is refused. */
static int
prefs_field(struct op_prefs *t, const char *key, json_t *v, char **reason)
{
	char	*s;
	int64_t	 usd;

	if (strcmp(key, "preferred_model") == 0) {
		if (!json_is_string(v) && !json_is_null(v)) {
			*reason = xstrdup("must be a string (\"\" clears it)");
			return (-1);
		}
		free(t->preferred_model);
		t->preferred_model = NULL;
		if (json_is_null(v) || *json_string_value(v) == '\0')
			return (1);
		if (catalog_model(engine->catalog, json_string_value(v)) ==
		    NULL) {
			xasprintf(reason, "unknown model \"%s\"",
			    json_string_value(v));
			return (-1);
		}
		t->preferred_model = xstrdup(json_string_value(v));
		return (1);
	}
	if (strcmp(key, "enabled") == 0) {
		if (!json_is_boolean(v)) {
			*reason = xstrdup("must be true or false");
			return (-1);
		}
		t->enabled = json_is_true(v);
		return (1);
	}
	if (strcmp(key, "default_parameters") == 0) {
		if (!json_is_object(v)) {
			*reason = xstrdup("must be a JSON object");
			return (-1);
		}
		s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
		if (s == NULL || strlen(s) > PREFS_PARAMS_MAX) {
			free(s);
			*reason = xstrdup("must be at most 65536 bytes of "
			    "JSON");
			return (-1);
		}
		free(t->default_parameters);
		t->default_parameters = s;
		return (1);
	}
	if (strcmp(key, "monthly_budget") == 0) {
		if (parse_usd_json(v, &usd) == -1) {
			*reason = xstrdup("must be an amount in USD like "
			    "\"25.00\" (0: none)");
			return (-1);
		}
		t->monthly_budget = usd;
		return (1);
	}
	return (0);
}

/*
 * Apply the fields of E to T.  On error *field (allocated) is PREFIX and
 * the key, and *reason says why.  STRICT refuses keys that are not fields;
 * otherwise they are skipped (prefs.set's table checked them).
 */
static int
prefs_entry(struct op_prefs *t, json_t *e, const char *prefix, int strict,
    char **field, char **reason)
{
	const char	*key;
	json_t		*v;
	int		 rc, n = 0;

	json_object_foreach(e, key, v) {
		if ((rc = prefs_field(t, key, v, reason)) == 1) {
			n++;
			continue;
		}
		if (rc == 0 && !strict)
			continue;
		if (rc == 0)
			*reason = xstrdup("unknown key");
		xasprintf(field, "%s%s", prefix, key);
		return (-1);
	}
	if (n == 0) {
		*reason = xstrdup("nothing to change: give preferred_model, "
		    "enabled, default_parameters or monthly_budget");
		return (-1);
	}
	return (0);
}

/* Check and add bulk entry OP: E to C; -1 with *field and *reason. */
static int
prefs_bulk_entry(struct prefs_change *c, const char *op, json_t *e,
    char **field, char **reason)
{
	struct op_prefs	*t;
	char		*prefix;

	if (!valid_id(op) || catalog_operation(engine->catalog, op) == NULL) {
		xasprintf(field, "operations.%s", op);
		xasprintf(reason, "unknown operation \"%s\"", op);
		return (-1);
	}
	if (!json_is_object(e)) {
		xasprintf(field, "operations.%s", op);
		*reason = xstrdup("must be an object");
		return (-1);
	}
	t = op_prefs_copy(c->a->name, op);
	xasprintf(&prefix, "operations.%s.", op);
	if (prefs_entry(t, e, prefix, 1, field, reason) == -1) {
		if (*field == NULL)
			xasprintf(field, "operations.%s", op);
		free(prefix);
		op_prefs_free(t);
		return (-1);
	}
	free(prefix);
	prefs_change_add(c, t);
	return (0);
}

static int
prefs_check_columns(const char *name, json_t *v, char **field,
    char **reason)
{
	json_t	*c;
	size_t	 i;

	if (!json_is_array(v) || json_array_size(v) > PREFS_COLUMNS_MAX) {
		xasprintf(field, "list_views.%s.columns", name);
		*reason = xstrdup("must be an array of at most 64 strings");
		return (-1);
	}
	json_array_foreach(v, i, c) {
		if (!json_is_string(c) || json_string_length(c) == 0 ||
		    json_string_length(c) > PREFS_TEXT_MAX) {
			xasprintf(field, "list_views.%s.columns[%zu]", name, i);
			*reason = xstrdup("must be a string of 1-64 bytes");
			return (-1);
		}
	}
	return (0);
}

/* Why value V of key KEY of a list view is refused, or NULL if it is
 * good ("columns" is checked on its own). */
static const char *
prefs_view_value(const char *key, json_t *v)
{
	if (strcmp(key, "sort") == 0) {
		if (json_is_string(v) && json_string_length(v) > 0 &&
		    json_string_length(v) <= PREFS_TEXT_MAX)
			return (NULL);
		return ("must be a string of 1-64 bytes");
	}
	if (strcmp(key, "page_size") == 0) {
		if (json_is_integer(v) && json_integer_value(v) >= 1 &&
		    json_integer_value(v) <= PREFS_PAGE_MAX)
			return (NULL);
		return ("must be an integer from 1 to 500");
	}
	return ("unknown key");
}

/* One list view NAME: {columns, sort, page_size}, each optional. */
static int
prefs_check_view(const char *name, json_t *view, char **field,
    char **reason)
{
	const char	*key, *why;
	json_t		*v;

	if (!valid_id(name) || !json_is_object(view)) {
		xasprintf(field, "list_views.%s", name);
		*reason = xstrdup(!valid_id(name) ? "a view name is 1-64 of "
		    "A-Z a-z 0-9 . _ -" : "must be an object {columns, sort, "
		    "page_size}");
		return (-1);
	}
	json_object_foreach(view, key, v) {
		if (strcmp(key, "columns") == 0) {
			if (prefs_check_columns(name, v, field, reason) == -1)
				return (-1);
			continue;
		}
		if ((why = prefs_view_value(key, v)) != NULL) {
			xasprintf(field, "list_views.%s.%s", name, key);
			*reason = xstrdup(why);
			return (-1);
		}
	}
	return (0);
}

/* Check a UI document (or the part of one given): known keys only. */
static int
prefs_check_ui(json_t *doc, char **field, char **reason)
{
	const char	*key, *s, *name;
	json_t		*v, *view;

	json_object_foreach(doc, key, v) {
		s = json_string_value(v);
		if (strcmp(key, "color_scheme") == 0) {
			if (s != NULL && (strcmp(s, "light") == 0 ||
			    strcmp(s, "dark") == 0 || strcmp(s, "auto") == 0))
				continue;
			*reason = xstrdup("must be light, dark or auto");
		} else if (strcmp(key, "accent_color") == 0) {
			if (s != NULL && strlen(s) == 7 && s[0] == '#' &&
			    strspn(s + 1, "0123456789abcdefABCDEF") == 6)
				continue;
			*reason = xstrdup("must be a colour \"#RRGGBB\" (six "
			    "hexadecimal digits)");
		} else if (strcmp(key, "compact_mode") == 0) {
			if (json_is_boolean(v))
				continue;
			*reason = xstrdup("must be true or false");
		} else if (strcmp(key, "list_views") == 0) {
			if (json_is_object(v) && json_object_size(v) <=
			    PREFS_VIEWS_MAX) {
				json_object_foreach(v, name, view) {
					if (prefs_check_view(name, view, field,
					    reason) == -1)
						return (-1);
				}
				continue;
			}
			*reason = xstrdup("must be an object of at most 64 "
			    "views");
		} else
			*reason = xstrdup("unknown key");
		*field = xstrdup(key);
		return (-1);
	}
	return (0);
}

/* ---- changes ----------------------------------------------------------- */

static void
prefs_change_add(struct prefs_change *c, struct op_prefs *t)
{
	c->v = xreallocarray(c->v, c->n + 1, sizeof *c->v);
	c->v[c->n++] = t;
}

static void
prefs_change_free(struct prefs_change *c)
{
	size_t	i;

	for (i = 0; i < c->n; i++)
		op_prefs_free(c->v[i]);
	free(c->v);
	prefs_ui_free(c->ui);
	free(c);
}

/*
 * The entries of bulk change ARG's body: its account and, under
 * "operations", each operation's row under the operation's name.
 */
static void
prefs_bulk_pack(msgpack_packer *pk, const void *arg)
{
	const struct prefs_change	*c = arg;
	size_t				 i;

	pack_kstr(pk, "account", c->a->name);
	pack_str(pk, "operations");
	msgpack_pack_map(pk, c->n);
	for (i = 0; i < c->n; i++) {
		pack_str(pk, c->v[i]->operation);
		op_prefs_pack(c->v[i], pk);
	}
}

/* The one record of change C with its rows of the "prefs" table. */
static struct jrec *
prefs_change_record(struct prefs_change *c)
{
	struct jrec		*rec;
	struct pack_buffer	 pb;
	msgpack_packer		*pk;
	size_t			 i;

	rec = jrec_create(prefs_kinds[c->kind], c->a->name);
	jrec_failfast(rec);
	pk = jrec_body(rec);
	if (c->kind == PREFS_UI || c->kind == PREFS_NOTIFY)
		prefs_ui_pack(c->ui, pk);
	else if (c->kind == PREFS_SET)
		op_prefs_pack(c->v[0], pk);
	else
		pack_map_counted(pk, prefs_bulk_pack, c);
	for (i = 0; i < c->n; i++) {
		pack_buffer_init(&pb);
		op_prefs_pack(c->v[i], &pb.pk);
		jrec_put(rec, "prefs", c->v[i]->key, strlen(c->v[i]->key),
		    pb.sbuf.data, pb.sbuf.size);
		pack_buffer_clear(&pb);
	}
	if (c->ui != NULL) {
		char	*key = prefs_doc_key(c->ui);

		pack_buffer_init(&pb);
		prefs_ui_pack(c->ui, &pb.pk);
		jrec_put(rec, "prefs", key, strlen(key), pb.sbuf.data,
		    pb.sbuf.size);
		pack_buffer_clear(&pb);
		free(key);
	}
	return (rec);
}

/* C is durable: its new rows replace the old ones in memory. */
static void
prefs_change_apply(struct prefs_change *c)
{
	struct op_prefs		*old;
	struct prefs_ui		*oldui;
	size_t			 i;

	if (ops_map.nbuckets == 0)
		strmap_init(&ops_map);
	if (ui_map.nbuckets == 0)
		strmap_init(&ui_map);
	if (notify_map.nbuckets == 0)
		strmap_init(&notify_map);
	for (i = 0; i < c->n; i++) {
		old = op_prefs_find(c->v[i]->account, c->v[i]->operation);
		if (old != NULL) {
			strmap_remove(&ops_map, &old->node);
			op_prefs_free(old);
		}
		strmap_insert(&ops_map, &c->v[i]->node, c->v[i]->key);
	}
	if (c->ui != NULL && c->ui->notify) {
		if ((oldui = prefs_notify_find(c->ui->account)) != NULL) {
			strmap_remove(&notify_map, &oldui->node);
			prefs_ui_free(oldui);
		}
		strmap_insert(&notify_map, &c->ui->node, c->ui->account);
	} else if (c->ui != NULL) {
		if ((oldui = prefs_ui_find(c->ui->account)) != NULL) {
			strmap_remove(&ui_map, &oldui->node);
			prefs_ui_free(oldui);
		}
		strmap_insert(&ui_map, &c->ui->node, c->ui->account);
	}
}

/* The answer to change C (applied). */
static json_t *
prefs_change_json(const struct prefs_change *c)
{
	json_t	*ops, *doc;
	char	 buf[40];
	size_t	 i;

	if (c->kind == PREFS_SET)
		return (op_prefs_to_json(c->a->name, c->v[0]->operation,
		    c->v[0]));
	if (c->kind == PREFS_NOTIFY)
		return (prefs_notify_to_json(c->a->name));
	if (c->kind == PREFS_UI) {
		if ((doc = json_loads(c->ui->doc, 0, NULL)) == NULL)
			doc = json_object();
		return (json_pack("{s:s, s:o, s:s}", "account", c->a->name,
		    "ui", doc, "updated", fmt_rfc3339(c->ui->updated_us, buf,
		    sizeof buf)));
	}
	ops = json_array();
	for (i = 0; i < c->n; i++)
		json_array_append_new(ops, op_prefs_to_json(c->a->name,
		    c->v[i]->operation, c->v[i]));
	return (json_pack("{s:s, s:o}", "account", c->a->name, "operations",
	    ops));
}

static void
prefs_change_cb(const struct journal_result *res, void *arg)
{
	struct prefs_change	*c = arg;
	struct account		*a = c->a;

	if (res->status != JOURNAL_OK)
		outcome_journal(c->req, res);
	else {
		prefs_change_apply(c);
		log_info("msg=\"preferences changed\" account=%s kind=%s "
		    "operations=%zu seq=%llu", a->name, prefs_kinds[c->kind],
		    c->n, (unsigned long long)res->seq);
		reply_ok(c->req, prefs_change_json(c));
		/* The rows belong to the maps now. */
		c->n = 0;
		c->ui = NULL;
	}
	prefs_change_free(c);
}

/* Refuse change C with -32602 FIELD / REASON; nothing is written. */
static void
prefs_refuse(struct prefs_change *c, const char *field, const char *reason)
{
	reply_invalid(c->req, field, reason);
	prefs_change_free(c);
}

static struct prefs_change *
prefs_change_new(struct reply *req, struct account *a, enum prefs_kind k)
{
	struct prefs_change	*c;

	c = xcalloc(1, sizeof *c);
	c->req = req;
	c->a = a;
	c->kind = k;
	return (c);
}

static void
prefs_submit(struct prefs_change *c)
{
	journal_submit(engine->journal, prefs_change_record(c),
	    prefs_change_cb, c);
}

static void
prefs_do_set(struct reply *req, struct account *a, json_t *params)
{
	struct prefs_change	*c;
	struct op_prefs		*t;
	const char		*op = param_string(params, "operation");
	char			*field = NULL, *reason = NULL;

	c = prefs_change_new(req, a, PREFS_SET);
	if (op == NULL || !valid_id(op) ||
	    catalog_operation(engine->catalog, op) == NULL) {
		xasprintf(&reason, "unknown operation \"%s\"", op != NULL ?
		    op : "");
		prefs_refuse(c, "operation", reason);
		free(reason);
		return;
	}
	t = op_prefs_copy(a->name, op);
	if (prefs_entry(t, params, "", 0, &field, &reason) == -1) {
		op_prefs_free(t);
		prefs_refuse(c, field != NULL ? field : "operation", reason);
		free(field);
		free(reason);
		return;
	}
	t->updated_us = now_us();
	prefs_change_add(c, t);
	prefs_submit(c);
}

/* prefs.set: the given fields of one operation's preferences change. */
void
prefs_ctl_set(struct reply *req, const char *account, json_t *params)
{
	prefs_do_set(req, account_find(account), params);
}

static void
prefs_do_bulk_set(struct reply *req, struct account *a, json_t *params)
{
	struct prefs_change	*c;
	json_t			*ops = json_object_get(params, "operations");
	json_t			*e;
	const char		*op;
	char			*field = NULL, *reason = NULL;
	int64_t			 now = now_us();
	size_t			 i;

	c = prefs_change_new(req, a, PREFS_BULK);
	if (json_object_size(ops) == 0 || json_object_size(ops) >
	    PREFS_BULK_MAX) {
		prefs_refuse(c, "operations", "must name 1 to 1000 operations");
		return;
	}
	json_object_foreach(ops, op, e) {
		if (prefs_bulk_entry(c, op, e, &field, &reason) == -1) {
			prefs_refuse(c, field, reason);
			free(field);
			free(reason);
			return;
		}
	}
	for (i = 0; i < c->n; i++)
		c->v[i]->updated_us = now;
	prefs_submit(c);
}

/* prefs.bulk_set: many operations' preferences, all or none, one record. */
void
prefs_ctl_bulk_set(struct reply *req, const char *account, json_t *params)
{
	prefs_do_bulk_set(req, account_find(account), params);
}

static void
prefs_do_set_ui(struct reply *req, struct account *a, json_t *params)
{
	struct prefs_change	*c;
	json_t			*given, *v;
	const char		*key;
	int			 replace = 0;

	c = prefs_change_new(req, a, PREFS_UI);
	param_bool(params, "replace", &replace);
	given = json_object();
	json_object_foreach(params, key, v) {
		if (strcmp(key, "account") != 0 && strcmp(key, "replace") != 0)
			json_object_set(given, key, v);
	}
	if (json_object_size(given) == 0 && !replace) {
		json_decref(given);
		prefs_refuse(c, "ui", "nothing to change: give color_scheme, "
		    "accent_color, compact_mode or list_views");
		return;
	}
	prefs_submit_doc(c, a->name, replace ? NULL : prefs_ui_find(a->name),
	    given, prefs_check_ui, 0, JSON_COMPACT);
}

/*
 * C's document for ACCOUNT: GIVEN (taken) checked by CHECK (refused, by
 * field, if it fails), laid over OLD's document (NULL: none, or replaced),
 * kept as the UI's or (NOTIFY) the notifications' and submitted.
 */
static void
prefs_submit_doc(struct prefs_change *c, const char *account,
    const struct prefs_ui *old, json_t *given,
    int (*check)(json_t *, char **, char **), int notify, size_t flags)
{
	json_t	*doc;
	char	*field = NULL, *reason = NULL;

	if (check(given, &field, &reason) == -1) {
		json_decref(given);
		prefs_refuse(c, field, reason);
		free(field);
		free(reason);
		return;
	}
	if (old != NULL && (doc = json_loads(old->doc, 0, NULL)) != NULL) {
		json_object_update(doc, given);
		json_decref(given);
	} else
		doc = given;
	c->ui = xcalloc(1, sizeof *c->ui);
	c->ui->notify = notify;
	c->ui->account = xstrdup(account);
	c->ui->doc = json_dumps(doc, flags);
	c->ui->updated_us = now_us();
	json_decref(doc);
	prefs_submit(c);
}

/* prefs.set_ui: the given keys of the account's UI document change
 * ("replace": the given keys are the whole document). */
void
prefs_ctl_set_ui(struct reply *req, const char *account, json_t *params)
{
	prefs_do_set_ui(req, account_find(account), params);
}

/* ---- notifications ------------------------------------------------------ */

static const char *const prefs_notify_events[] = {
	"schedule_paused", "budget", "webhook_secret", "subscriber_disabled",
	NULL
};

/*
 * ACCOUNT's notification settings, the defaults filled in: {addresses,
 * run_failed ("all", "none" or [schedules]), schedule_paused, budget,
 * webhook_secret, subscriber_disabled}.  Returns a new reference.
 */
json_t *
prefs_notify(const char *account)
{
	struct prefs_ui		*n = prefs_notify_find(account);
	json_t			*doc = NULL, *out;
	size_t			 i;

	if (n != NULL)
		doc = json_loads(n->doc, 0, NULL);
	if (doc == NULL)
		doc = json_object();
	out = json_pack("{s:[], s:s}", "addresses", "run_failed", "all");
	for (i = 0; prefs_notify_events[i] != NULL; i++)
		json_object_set_new(out, prefs_notify_events[i], json_true());
	json_object_update(out, doc);
	json_decref(doc);
	return (out);
}

/* notify.get's answer: ACCOUNT's settings and when they changed. */
json_t *
prefs_notify_to_json(const char *account)
{
	struct prefs_ui	*n = prefs_notify_find(account);
	json_t		*j;
	char		 buf[40];

	j = prefs_notify(account);
	json_object_set_new(j, "account", json_string(account));
	json_object_set_new(j, "updated", n != NULL ? json_string(
	    fmt_rfc3339(n->updated_us, buf, sizeof buf)) : json_null());
	return (j);
}

/* Check the keys of a notify document (DOC, replaced by its canonical
 * form in place): 0, or -1 with *FIELD and *REASON (allocated). */
static int
prefs_check_notify(json_t *doc, char **field, char **reason)
{
	json_t		*v, *e, *to;
	const char	*key, *why;
	size_t		 i, j;

	json_object_foreach(doc, key, v) {
		*field = xstrdup(key);
		if (strcmp(key, "addresses") == 0) {
			to = json_array();
			json_array_foreach(v, i, e) {
				if (!json_is_string(e)) {
					*reason = xstrdup("must be addresses");
					json_decref(to);
					return (-1);
				}
				if (strcmp(json_string_value(e), "none") == 0)
					continue;
				if (mail_address_check(json_string_value(e),
				    &why) == -1) {
					xasprintf(reason, "\"%.80s\" %s",
					    json_string_value(e), why);
					json_decref(to);
					return (-1);
				}
				for (j = 0; j < json_array_size(to); j++)
					if (strcasecmp(json_string_value(
					    json_array_get(to, j)),
					    json_string_value(e)) == 0)
						break;
				if (j == json_array_size(to))
					json_array_append(to, e);
			}
			if (json_array_size(to) > PREFS_NOTIFY_ADDRESSES) {
				xasprintf(reason, "at most %d addresses",
				    PREFS_NOTIFY_ADDRESSES);
				json_decref(to);
				return (-1);
			}
			json_object_set_new(doc, key, to);
		} else if (strcmp(key, "run_failed") == 0) {
			if (json_is_string(v) && (strcmp(json_string_value(v),
			    "all") == 0 || strcmp(json_string_value(v),
			    "none") == 0)) {
				free(*field);
				continue;
			}
			if (!json_is_array(v) || json_array_size(v) == 0 ||
			    json_array_size(v) > PREFS_NOTIFY_SCHEDULES) {
				xasprintf(reason, "must be all, none or 1 to "
				    "%d schedules", PREFS_NOTIFY_SCHEDULES);
				return (-1);
			}
			json_array_foreach(v, i, e) {
				if (!json_is_string(e) ||
				    !valid_id(json_string_value(e))) {
					*reason = xstrdup("must be all, none or "
					    "schedule names or ids");
					return (-1);
				}
			}
		} else {
			for (i = 0; prefs_notify_events[i] != NULL; i++)
				if (strcmp(key, prefs_notify_events[i]) == 0)
					break;
			if (prefs_notify_events[i] == NULL) {
				xasprintf(reason, "unknown setting (addresses, "
				    "run_failed, schedule_paused, budget, "
				    "webhook_secret, subscriber_disabled)");
				return (-1);
			}
			if (!json_is_boolean(v)) {
				*reason = xstrdup("must be true or false");
				return (-1);
			}
		}
		free(*field);
	}
	*field = NULL;
	return (0);
}

/* A value of notify.set's PARAMS into DOC's KEY: "run_failed" given as
 * "a,b" becomes ["a", "b"]. */
static void
prefs_notify_param(json_t *doc, const char *key, json_t *v)
{
	json_t	*a;
	char	*copy, *p, *tok, *save = NULL;

	if (strcmp(key, "run_failed") != 0 || !json_is_string(v) ||
	    strcmp(json_string_value(v), "all") == 0 ||
	    strcmp(json_string_value(v), "none") == 0) {
		json_object_set(doc, key, v);
		return;
	}
	a = json_array();
	copy = xstrdup(json_string_value(v));
	for (p = copy; (tok = strtok_r(p, ", ", &save)) != NULL; p = NULL)
		json_array_append_new(a, json_string(tok));
	free(copy);
	json_object_set_new(doc, key, a);
}

/* notify.set: the given settings of the account's notifications change;
 * one prefs.notify_set record, answered once durable. */
void
prefs_ctl_set_notify(struct reply *req, const char *account, json_t *params)
{
	struct prefs_change	*c;
	json_t			*given, *v;
	const char		*key;

	c = prefs_change_new(req, account_find(account), PREFS_NOTIFY);
	given = json_object();
	json_object_foreach(params, key, v) {
		if (strcmp(key, "account") != 0)
			prefs_notify_param(given, key, v);
	}
	if (json_object_size(given) == 0) {
		json_decref(given);
		prefs_refuse(c, "notify", "nothing to change: give addresses, "
		    "run_failed, schedule_paused, budget, webhook_secret or "
		    "subscriber_disabled");
		return;
	}
	prefs_submit_doc(c, account, prefs_notify_find(account), given,
	    prefs_check_notify, 1, JSON_COMPACT | JSON_SORT_KEYS);
}
