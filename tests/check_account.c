/*
 * tests/check_account.c: accounts, preferences and budgets.  Each test
 * runs a real journal in a temporary directory and the real control server
 * with the daemon's method table on a temporary socket; a client on the
 * same loop sends requests, and the test runs the loop until the answer
 * (sent once the change is durable) arrives.  The budget arithmetic is
 * driven through the dispatcher's API directly.
 */
#include <sys/types.h>

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"
#include "lib.h"

static char		*tmpdir, sockpath[128];
static struct bufferevent *client;
static json_t		*answers;	/* every message received */
static int		 next_id;

/* ---- fixture ----------------------------------------------------------- */

static void
client_read(struct bufferevent *bev, void *arg)
{
	char	*line;
	size_t	 n;
	json_t	*msg;

	while ((line = evbuffer_readln(bufferevent_get_input(bev), &n,
	    EVBUFFER_EOL_LF)) != NULL) {
		msg = json_loads(line, 0, NULL);
		ck_assert_msg(msg != NULL, "answer is not JSON: %.80s", line);
		json_array_append_new(answers, msg);
		free(line);
	}
}

static void
setup(void)
{
	char	*cause = NULL;
	int	 fd;

	signal(SIGPIPE, SIG_IGN);
	tmpdir = lib_tmpdir("check-account");
	lib_engine_start(tmpdir);
	/* The "default" account's record first. */
	while (journal_pending(engine->journal) > 0)
		event_base_loop(engine->base, EVLOOP_ONCE);
	snprintf(sockpath, sizeof sockpath, "%s/chime.sock", tmpdir);
	engine->ctl = ctl_server_create(engine->base, sockpath,
	    daemon_method_find, &cause);
	ck_assert_msg(engine->ctl != NULL, "server: %s", cause);
	fd = ctl_client_connect(sockpath, &cause);
	ck_assert_msg(fd != -1, "connect: %s", cause);
	evutil_make_socket_nonblocking(fd);
	client = bufferevent_socket_new(engine->base, fd,
	    BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(client, client_read, NULL, NULL, NULL);
	bufferevent_enable(client, EV_READ | EV_WRITE);
	answers = json_array();
	next_id = 1;
}

static void
teardown(void)
{
	bufferevent_free(client);
	json_decref(answers);
	ctl_server_free(engine->ctl);
	engine->ctl = NULL;
	lib_engine_stop();
	lib_rm_tree(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}

/* Send METHOD with PARAMS (JSON text) without waiting; returns its id. */
static int
send_rpc(const char *method, const char *params)
{
	char	*line;
	int	 id = next_id++;

	xasprintf(&line, "{\"jsonrpc\":\"2.0\",\"id\":%d,\"method\":\"%s\","
	    "\"params\":%s}\n", id, method, params);
	bufferevent_write(client, line, strlen(line));
	free(line);
	return (id);
}

/* The answer with id ID, running the loop until it arrives (borrowed). */
static json_t *
wait_rpc(int id)
{
	json_t	*m;
	size_t	 i;

	for (;;) {
		json_array_foreach(answers, i, m) {
			if (json_integer_value(json_object_get(m, "id")) == id)
				return (m);
		}
		event_base_loop(engine->base, EVLOOP_ONCE);
	}
}

/* Call METHOD; assert success; the result (borrowed). */
static json_t *
rpc_ok(const char *method, const char *params)
{
	json_t	*m = wait_rpc(send_rpc(method, params));

	ck_assert_msg(json_object_get(m, "result") != NULL, "%s %s: %s",
	    method, params, json_dumps(m, JSON_COMPACT));
	return (json_object_get(m, "result"));
}

/* Call METHOD; assert error CODE with data.field FIELD (if not NULL). */
static void
rpc_err(const char *method, const char *params, int code, const char *field)
{
	json_t	*m = wait_rpc(send_rpc(method, params)), *e;

	e = json_object_get(m, "error");
	ck_assert_msg(e != NULL, "%s %s: not an error: %s", method, params,
	    json_dumps(m, JSON_COMPACT));
	ck_assert_msg(json_integer_value(json_object_get(e, "code")) == code,
	    "%s %s: %s", method, params, json_dumps(m, JSON_COMPACT));
	if (field != NULL)
		ck_assert_str_eq(json_string_value(json_object_get(
		    json_object_get(e, "data"), "field")), field);
}

struct kinds {
	const char	*kind;
	int		 match;
	int		 total;
};

static int
kinds_cb(const struct journal_entry *e, void *arg)
{
	struct kinds	*k = arg;
	struct record	 r;
	char		*cause = NULL;

	ck_assert_int_eq(record_decode(e->rec, e->len, &r, &cause), 0);
	k->total++;
	if (strcmp(r.kind, k->kind) == 0)
		k->match++;
	record_clear(&r);
	return (0);
}

/* Records of KIND after seq FROM (and, in *total, all records after). */
static int
count_records(uint64_t from, const char *kind, int *total)
{
	struct kinds	k;
	char		*cause = NULL;

	memset(&k, 0, sizeof k);
	k.kind = kind;
	ck_assert_int_eq(journal_log_foreach(engine->journal, from + 1, NULL,
	    kinds_cb, &k, &cause), 0);
	if (total != NULL)
		*total = k.total;
	return (k.match);
}

/* A table row's integer KEY (-1 if the row is absent). */
static int64_t
row_int(const char *table, const char *rkey, const char *key)
{
	msgpack_unpacked	 u;
	void			*val;
	size_t			 len;
	int64_t			 v;

	if (journal_table_get(engine->journal, table, rkey, strlen(rkey), &val,
	    &len) == -1)
		return (-1);
	ck_assert_int_eq(unpack_buffer(val, len, &u), 0);
	v = unpack_int(&u.data, key, -1);
	msgpack_unpacked_destroy(&u);
	free(val);
	return (v);
}

/* An empty record for budget_settle to put its rows into. */
static struct jrec *
test_rec(void)
{
	struct jrec	*rec;

	rec = jrec_create("test.settle", "default");
	msgpack_pack_map(jrec_body(rec), 0);
	return (rec);
}

/* ---- suite: account ---------------------------------------------------- */

/* Create journals the account with its row and makes it findable. */
START_TEST(test_account_create)
{
	struct account	*a;
	json_t		*r;
	uint64_t	 seq = journal_seq(engine->journal);

	r = rpc_ok("account.create", "{\"name\":\"team-a\",\"uid\":1234,"
	    "\"monthly_budget\":\"5\",\"tz\":\"Europe/Berlin\"}");
	ck_assert_str_eq(lib_json_str(r, "name"), "team-a");
	ck_assert_str_eq(lib_json_str(r, "monthly_budget_usd"), "5.000000");
	ck_assert_str_eq(lib_json_str(r, "tz"), "Europe/Berlin");
	ck_assert_ptr_nonnull(a = account_find("team-a"));
	ck_assert_uint_eq(a->nuids, 1);
	ck_assert_uint_eq(a->uids[0], 1234);
	ck_assert_int_eq(a->monthly_budget, 5000000);
	ck_assert_int_eq(count_records(seq, "account.created", NULL), 1);
	ck_assert_int_eq(row_int("accounts", "team-a",
	    "monthly_budget_micro"), 5000000);
	/* By user name, too. */
	rpc_ok("account.create", "{\"name\":\"team-b\",\"user\":\"root\"}");
	ck_assert_uint_eq(account_find("team-b")->uids[0], 0);
}
END_TEST

/* Bad names, zones, users and duplicates are refused; nothing written. */
START_TEST(test_account_create_bad)
{
	uint64_t	seq;

	rpc_ok("account.create", "{\"name\":\"team-a\"}");
	seq = journal_seq(engine->journal);
	rpc_err("account.create", "{\"name\":\"team-a\"}", CTL_E_CONFLICT,
	    "name");
	rpc_err("account.create", "{\"name\":\"default\"}", CTL_E_CONFLICT,
	    "name");
	rpc_err("account.create", "{\"name\":\"a/b\"}", CTL_E_INVALID_PARAMS,
	    "name");
	rpc_err("account.create", "{\"name\":\"x\",\"tz\":\"Mars/Base\"}",
	    CTL_E_INVALID_PARAMS, "tz");
	rpc_err("account.create", "{\"name\":\"x\",\"user\":\"no-such-user-"
	    "here\"}", CTL_E_INVALID_PARAMS, "user");
	rpc_err("account.create", "{\"name\":\"x\",\"uid\":-1}",
	    CTL_E_INVALID_PARAMS, "uid");
	rpc_err("account.create", "{\"name\":\"x\",\"uid\":5,\"user\":"
	    "\"root\"}", CTL_E_INVALID_PARAMS, "uid");
	rpc_err("account.create", "{\"name\":\"x\",\"monthly_budget\":\"-1\"}",
	    CTL_E_INVALID_PARAMS, "monthly_budget");
	ck_assert_ptr_null(account_find("x"));
	ck_assert_uint_eq(journal_seq(engine->journal), seq);
}
END_TEST

/* Grant and revoke change who may act for the account, one record each. */
START_TEST(test_account_grant)
{
	struct caller	 c;
	struct account		*a;
	uint64_t		 seq;

	memset(&c, 0, sizeof c);
	c.uid = 2000;
	rpc_ok("account.create", "{\"name\":\"team-a\"}");
	a = account_find("team-a");
	ck_assert(!account_allows(a, &c));
	seq = journal_seq(engine->journal);
	rpc_ok("account.grant", "{\"name\":\"team-a\",\"uid\":2000}");
	ck_assert(account_allows(a, &c));
	ck_assert_int_eq(count_records(seq, "account.granted", NULL), 1);
	rpc_ok("account.revoke", "{\"name\":\"team-a\",\"uid\":2000}");
	ck_assert(!account_allows(a, &c));
	ck_assert_int_eq(count_records(seq, "account.revoked", NULL), 1);
	rpc_ok("account.update", "{\"name\":\"team-a\",\"monthly_budget\":"
	    "\"2.5\",\"tz\":\"Asia/Tokyo\"}");
	ck_assert_int_eq(a->monthly_budget, 2500000);
	ck_assert_str_eq(tz_name(a->tz), "Asia/Tokyo");
	ck_assert_int_eq(count_records(seq, "account.updated", NULL), 1);
}
END_TEST

/* Granting twice, revoking what is not granted, unknown accounts: refused. */
START_TEST(test_account_grant_bad)
{
	uint64_t	seq;

	rpc_ok("account.create", "{\"name\":\"team-a\",\"uid\":2000}");
	seq = journal_seq(engine->journal);
	rpc_err("account.grant", "{\"name\":\"team-a\",\"uid\":2000}",
	    CTL_E_CONFLICT, "uid");
	rpc_err("account.revoke", "{\"name\":\"team-a\",\"uid\":3000}",
	    CTL_E_CONFLICT, "uid");
	rpc_err("account.grant", "{\"name\":\"nosuch\",\"uid\":1}",
	    CTL_E_NOT_FOUND, "name");
	rpc_err("account.grant", "{\"name\":\"team-a\"}",
	    CTL_E_INVALID_PARAMS, "uid");
	rpc_err("account.update", "{\"name\":\"team-a\"}",
	    CTL_E_INVALID_PARAMS, "name");
	rpc_err("account.update", "{\"name\":\"team-a\",\"tz\":\"Nowhere\"}",
	    CTL_E_INVALID_PARAMS, "tz");
	rpc_err("account.get", "{\"name\":\"nosuch\"}", CTL_E_NOT_FOUND,
	    "name");
	ck_assert_uint_eq(journal_seq(engine->journal), seq);
	ck_assert_uint_eq(account_find("team-a")->nuids, 1);
}
END_TEST

/* Pipelined changes of one account are applied one after the other:
 * none is lost. */
START_TEST(test_account_serial)
{
	struct account	*a;
	int		 id[4], i;

	rpc_ok("account.create", "{\"name\":\"team-a\"}");
	id[0] = send_rpc("account.grant", "{\"name\":\"team-a\",\"uid\":1}");
	id[1] = send_rpc("account.grant", "{\"name\":\"team-a\",\"uid\":2}");
	id[2] = send_rpc("prefs.set", "{\"account\":\"team-a\",\"operation\":"
	    "\"quick\",\"enabled\":false}");
	id[3] = send_rpc("prefs.set", "{\"account\":\"team-a\",\"operation\":"
	    "\"quick\",\"preferred_model\":\"cheap-model\"}");
	for (i = 0; i < 4; i++)
		ck_assert_ptr_nonnull(json_object_get(wait_rpc(id[i]),
		    "result"));
	a = account_find("team-a");
	ck_assert_uint_eq(a->nuids, 2);
	ck_assert_int_eq(row_int("accounts", "team-a", "updated_us") > 0, 1);
	ck_assert_int_eq(prefs_lookup("team-a", "quick")->enabled, 0);
	ck_assert_str_eq(prefs_lookup("team-a", "quick")->preferred_model,
	    "cheap-model");
}
END_TEST

/* A second identical grant queued behind the first is refused after it. */
START_TEST(test_account_serial_bad)
{
	json_t	*m;
	int	 a, b;

	rpc_ok("account.create", "{\"name\":\"team-a\"}");
	a = send_rpc("account.grant", "{\"name\":\"team-a\",\"uid\":7}");
	b = send_rpc("account.grant", "{\"name\":\"team-a\",\"uid\":7}");
	ck_assert_ptr_nonnull(json_object_get(wait_rpc(a), "result"));
	m = json_object_get(wait_rpc(b), "error");
	ck_assert_int_eq(json_integer_value(json_object_get(m, "code")),
	    CTL_E_CONFLICT);
	ck_assert_uint_eq(account_find("team-a")->nuids, 1);
}
END_TEST

/* A non-admin caller lists only the accounts that grant it. */
START_TEST(test_account_list_filter)
{
	struct caller	 c;
	json_t			*l;

	rpc_ok("account.create", "{\"name\":\"team-a\",\"uid\":2000}");
	rpc_ok("account.create", "{\"name\":\"team-b\",\"uid\":3000}");
	memset(&c, 0, sizeof c);
	c.uid = 2000;
	l = account_list(&c);
	ck_assert_uint_eq(json_array_size(l), 1);
	ck_assert_str_eq(lib_json_str(json_array_get(l, 0), "name"), "team-a");
	json_decref(l);
	c.admin = 1;
	l = account_list(&c);
	ck_assert_uint_eq(json_array_size(l), 3);
	json_decref(l);
}
END_TEST

/* A uid granted nothing sees no account at all. */
START_TEST(test_account_list_filter_bad)
{
	struct caller	 c;
	json_t			*l;

	rpc_ok("account.create", "{\"name\":\"team-a\",\"uid\":2000}");
	memset(&c, 0, sizeof c);
	c.uid = 4000;
	l = account_list(&c);
	ck_assert_uint_eq(json_array_size(l), 0);
	json_decref(l);
}
END_TEST

/* Accounts come back from the journal as they were left. */
START_TEST(test_account_reload)
{
	struct account	*a;
	char		*cause = NULL;

	rpc_ok("account.create", "{\"name\":\"team-a\",\"uid\":2000,"
	    "\"tz\":\"America/New_York\",\"monthly_budget\":\"7.25\"}");
	rpc_ok("account.grant", "{\"name\":\"team-a\",\"uid\":2001}");
	budget_free_all();
	prefs_free_all();
	account_free_all();
	ck_assert_ptr_null(account_find("team-a"));
	ck_assert_int_eq(account_load_all(engine->journal, &cause), 0);
	ck_assert_int_eq(prefs_load_all(engine->journal, &cause), 0);
	ck_assert_int_eq(budget_load_all(engine->journal, &cause), 0);
	ck_assert_ptr_nonnull(a = account_find("team-a"));
	ck_assert_uint_eq(a->nuids, 2);
	ck_assert_uint_eq(a->uids[1], 2001);
	ck_assert_int_eq(a->monthly_budget, 7250000);
	ck_assert_str_eq(tz_name(a->tz), "America/New_York");
	ck_assert_ptr_nonnull(account_find("default"));
}
END_TEST

/* An unreadable row is skipped at load; the others load. */
START_TEST(test_account_reload_bad)
{
	struct jrec	*rec;
	char		*cause = NULL;

	rec = jrec_create("test.garbage", NULL);
	msgpack_pack_map(jrec_body(rec), 0);
	jrec_put(rec, "accounts", "broken", 6, "\xc1\xc1", 2);
	lib_submit_wait(rec);
	budget_free_all();
	prefs_free_all();
	account_free_all();
	ck_assert_int_eq(account_load_all(engine->journal, &cause), 0);
	ck_assert_int_eq(prefs_load_all(engine->journal, &cause), 0);
	ck_assert_int_eq(budget_load_all(engine->journal, &cause), 0);
	ck_assert_ptr_null(account_find("broken"));
	ck_assert_ptr_nonnull(account_find("default"));
}
END_TEST

/* ---- suite: prefs ------------------------------------------------------ */

/* prefs.set changes the given fields only; the lookup sees them. */
START_TEST(test_prefs_set)
{
	const struct op_prefs	*p;
	json_t			*r;
	uint64_t		 seq = journal_seq(engine->journal);

	r = rpc_ok("prefs.set", "{\"operation\":\"quick\",\"preferred_model\":"
	    "\"cheap-model\",\"default_parameters\":{\"lang\":\"en\"},"
	    "\"monthly_budget\":\"2.5\"}");
	ck_assert_str_eq(lib_json_str(r, "monthly_budget_usd"), "2.500000");
	ck_assert_ptr_nonnull(p = prefs_lookup("default", "quick"));
	ck_assert_str_eq(p->preferred_model, "cheap-model");
	ck_assert_int_eq(p->enabled, 1);
	ck_assert_str_eq(p->default_parameters, "{\"lang\":\"en\"}");
	ck_assert_int_eq(p->monthly_budget, 2500000);
	rpc_ok("prefs.set", "{\"operation\":\"quick\",\"enabled\":false}");
	p = prefs_lookup("default", "quick");
	ck_assert_int_eq(p->enabled, 0);
	ck_assert_str_eq(p->preferred_model, "cheap-model");
	ck_assert_int_eq(p->monthly_budget, 2500000);
	rpc_ok("prefs.set", "{\"operation\":\"quick\",\"preferred_model\":\"\","
	    "\"monthly_budget\":0}");
	p = prefs_lookup("default", "quick");
	ck_assert_ptr_null(p->preferred_model);
	ck_assert_int_eq(p->monthly_budget, 0);
	ck_assert_int_eq(count_records(seq, "prefs.set", NULL), 3);
	ck_assert_int_eq(row_int("prefs", "default/quick", "enabled"), 0);
	ck_assert_ptr_null(prefs_lookup("default", "gate"));
	r = rpc_ok("prefs.get", "{\"operation\":\"gate\"}");
	ck_assert(json_is_true(json_object_get(r, "enabled")));
}
END_TEST

/* Unknown models and operations, empty changes: refused, nothing written. */
START_TEST(test_prefs_set_bad)
{
	uint64_t	seq = journal_seq(engine->journal);

	rpc_err("prefs.set", "{\"operation\":\"quick\",\"preferred_model\":"
	    "\"nope\"}", CTL_E_INVALID_PARAMS, "preferred_model");
	rpc_err("prefs.set", "{\"operation\":\"nope\",\"enabled\":true}",
	    CTL_E_INVALID_PARAMS, "operation");
	rpc_err("prefs.set", "{\"operation\":\"quick\"}", CTL_E_INVALID_PARAMS,
	    "operation");
	rpc_err("prefs.set", "{\"operation\":\"quick\",\"default_parameters\":"
	    "[1]}", CTL_E_INVALID_PARAMS, "default_parameters");
	rpc_err("prefs.set", "{\"operation\":\"quick\",\"enabled\":true,"
	    "\"account\":\"nosuch\"}", CTL_E_NOT_FOUND, "account");
	ck_assert_uint_eq(journal_seq(engine->journal), seq);
	ck_assert_ptr_null(prefs_lookup("default", "quick"));
}
END_TEST

/* bulk_set of five operations is one record and one transaction. */
START_TEST(test_prefs_bulk_set)
{
	static const char	*ops[] = { "quick", "gate", "gate-idem", "fail",
				    "flaky" };
	uint64_t		 seq = journal_seq(engine->journal);
	json_t			*r;
	int			 total, i;

	r = rpc_ok("prefs.bulk_set", "{\"operations\":{"
	    "\"quick\":{\"preferred_model\":\"cheap-model\"},"
	    "\"gate\":{\"enabled\":false},"
	    "\"gate-idem\":{\"monthly_budget\":\"1.5\"},"
	    "\"fail\":{\"default_parameters\":{\"x\":1}},"
	    "\"flaky\":{\"enabled\":true,\"preferred_model\":\"test-model\"}}}");
	ck_assert_uint_eq(json_array_size(json_object_get(r, "operations")), 5);
	ck_assert_uint_eq(journal_seq(engine->journal), seq + 1);
	ck_assert_int_eq(count_records(seq, "prefs.bulk_set", &total), 1);
	ck_assert_int_eq(total, 1);
	for (i = 0; i < 5; i++)
		ck_assert_ptr_nonnull(prefs_lookup("default", ops[i]));
	ck_assert_int_eq(prefs_lookup("default", "gate")->enabled, 0);
	ck_assert_int_eq(prefs_lookup("default", "gate-idem")->monthly_budget,
	    1500000);
	ck_assert_int_eq(row_int("prefs", "default/flaky", "enabled"), 1);
}
END_TEST

/* One bad entry refuses the whole bulk_set, naming its path. */
START_TEST(test_prefs_bulk_set_bad)
{
	static const char	*ops[] = { "quick", "gate", "gate-idem", "fail",
				    "flaky" };
	uint64_t		 seq = journal_seq(engine->journal);
	int			 i;

	rpc_err("prefs.bulk_set", "{\"operations\":{"
	    "\"quick\":{\"preferred_model\":\"cheap-model\"},"
	    "\"gate\":{\"preferred_model\":\"nope\"},"
	    "\"gate-idem\":{\"monthly_budget\":\"1.5\"},"
	    "\"fail\":{\"enabled\":false},"
	    "\"flaky\":{\"enabled\":true}}}", CTL_E_INVALID_PARAMS,
	    "operations.gate.preferred_model");
	rpc_err("prefs.bulk_set", "{\"operations\":{\"quick\":{\"colour\":1}}}",
	    CTL_E_INVALID_PARAMS, "operations.quick.colour");
	rpc_err("prefs.bulk_set", "{\"operations\":{\"quick\":{}}}",
	    CTL_E_INVALID_PARAMS, "operations.quick");
	rpc_err("prefs.bulk_set", "{\"operations\":{\"nope\":{\"enabled\":"
	    "true}}}", CTL_E_INVALID_PARAMS, "operations.nope");
	rpc_err("prefs.bulk_set", "{\"operations\":{\"quick\":true}}",
	    CTL_E_INVALID_PARAMS, "operations.quick");
	rpc_err("prefs.bulk_set", "{\"operations\":{}}", CTL_E_INVALID_PARAMS,
	    "operations");
	ck_assert_uint_eq(journal_seq(engine->journal), seq);
	for (i = 0; i < 5; i++)
		ck_assert_ptr_null(prefs_lookup("default", ops[i]));
}
END_TEST

/* The UI document is stored as given and changed key by key. */
START_TEST(test_prefs_ui)
{
	json_t	*r, *ui, *v;

	rpc_ok("prefs.set_ui", "{\"color_scheme\":\"dark\",\"accent_color\":"
	    "\"#1a2B3c\",\"compact_mode\":true,\"list_views\":{\"runs\":"
	    "{\"columns\":[\"run_id\",\"status\"],\"sort\":\"-started\","
	    "\"page_size\":500}}}");
	rpc_ok("prefs.set_ui", "{\"compact_mode\":false}");
	r = rpc_ok("prefs.get", "{}");
	ui = json_object_get(r, "ui");
	ck_assert_str_eq(lib_json_str(ui, "color_scheme"), "dark");
	ck_assert_str_eq(lib_json_str(ui, "accent_color"), "#1a2B3c");
	ck_assert(json_is_false(json_object_get(ui, "compact_mode")));
	v = json_object_get(json_object_get(json_object_get(ui, "list_views"),
	    "runs"), "page_size");
	ck_assert_int_eq(json_integer_value(v), 500);
	rpc_ok("prefs.set_ui", "{\"replace\":true,\"color_scheme\":\"auto\"}");
	ui = json_object_get(rpc_ok("prefs.get", "{}"), "ui");
	ck_assert_uint_eq(json_object_size(ui), 1);
	ck_assert_str_eq(lib_json_str(ui, "color_scheme"), "auto");
}
END_TEST

/* Bad UI values are refused with the path of the value. */
START_TEST(test_prefs_ui_bad)
{
	uint64_t	seq = journal_seq(engine->journal);

	rpc_err("prefs.set_ui", "{\"color_scheme\":\"purple\"}",
	    CTL_E_INVALID_PARAMS, "color_scheme");
	rpc_err("prefs.set_ui", "{\"accent_color\":\"#12345\"}",
	    CTL_E_INVALID_PARAMS, "accent_color");
	rpc_err("prefs.set_ui", "{\"accent_color\":\"#12345g\"}",
	    CTL_E_INVALID_PARAMS, "accent_color");
	rpc_err("prefs.set_ui", "{\"list_views\":{\"runs\":{\"page_size\":501}}}",
	    CTL_E_INVALID_PARAMS, "list_views.runs.page_size");
	rpc_err("prefs.set_ui", "{\"list_views\":{\"runs\":{\"page_size\":0}}}",
	    CTL_E_INVALID_PARAMS, "list_views.runs.page_size");
	rpc_err("prefs.set_ui", "{\"list_views\":{\"runs\":{\"colour\":1}}}",
	    CTL_E_INVALID_PARAMS, "list_views.runs.colour");
	rpc_err("prefs.set_ui", "{\"list_views\":{\"runs\":{\"columns\":"
	    "[\"a\",2]}}}", CTL_E_INVALID_PARAMS, "list_views.runs.columns[1]");
	rpc_err("prefs.set_ui", "{\"list_views\":{\"a/b\":{}}}",
	    CTL_E_INVALID_PARAMS, "list_views.a/b");
	rpc_err("prefs.set_ui", "{\"theme\":\"dark\"}", CTL_E_INVALID_PARAMS,
	    "theme");
	rpc_err("prefs.set_ui", "{}", CTL_E_INVALID_PARAMS, "ui");
	ck_assert_uint_eq(journal_seq(engine->journal), seq);
}
END_TEST

/* Default parameters go under a schedule's: the schedule's keys win. */
START_TEST(test_prefs_merge)
{
	char	*s;

	rpc_ok("prefs.set", "{\"operation\":\"quick\",\"default_parameters\":"
	    "{\"a\":1,\"b\":2}}");
	s = prefs_merge_parameters(prefs_lookup("default", "quick"),
	    "{\"b\":3,\"c\":4}");
	ck_assert_str_eq(s, "{\"a\":1,\"b\":3,\"c\":4}");
	free(s);
}
END_TEST

/* No preferences, or parameters that are not an object: given as is. */
START_TEST(test_prefs_merge_bad)
{
	char	*s;

	s = prefs_merge_parameters(NULL, "{\"b\":3}");
	ck_assert_str_eq(s, "{\"b\":3}");
	free(s);
	rpc_ok("prefs.set", "{\"operation\":\"quick\",\"default_parameters\":"
	    "{\"a\":1}}");
	s = prefs_merge_parameters(prefs_lookup("default", "quick"), "[1]");
	ck_assert_str_eq(s, "[1]");
	free(s);
	s = prefs_merge_parameters(prefs_lookup("default", "quick"), NULL);
	ck_assert_str_eq(s, "{\"a\":1}");
	free(s);
}
END_TEST

/* Preferences come back from the journal as they were left. */
START_TEST(test_prefs_reload)
{
	const struct op_prefs	*p;
	char			*cause = NULL;
	json_t			*ui;

	rpc_ok("prefs.bulk_set", "{\"operations\":{\"quick\":{"
	    "\"preferred_model\":\"cheap-model\",\"monthly_budget\":\"3\"},"
	    "\"gate\":{\"enabled\":false}}}");
	rpc_ok("prefs.set_ui", "{\"color_scheme\":\"light\"}");
	ck_assert_int_eq(prefs_load_all(engine->journal, &cause), 0);
	ck_assert_ptr_nonnull(p = prefs_lookup("default", "quick"));
	ck_assert_str_eq(p->preferred_model, "cheap-model");
	ck_assert_int_eq(p->monthly_budget, 3000000);
	ck_assert_int_eq(prefs_lookup("default", "gate")->enabled, 0);
	ui = json_object_get(rpc_ok("prefs.get", "{}"), "ui");
	ck_assert_str_eq(lib_json_str(ui, "color_scheme"), "light");
}
END_TEST

/* ---- suite: budget ----------------------------------------------------- */

/* Reserve, settle and release move the figures of account and operation. */
START_TEST(test_budget_settle)
{
	struct budget_figures	 f;
	struct jrec		*rec;
	int64_t			 now = now_us();
	char			 key[64];

	budget_reserve("default", "quick", 300);
	budget_reserve("default", "gate", 100);
	budget_get("default", NULL, now, &f);
	ck_assert_int_eq(f.reserved, 400);
	ck_assert_int_eq(f.actual, 0);
	rec = test_rec();
	budget_settle("default", "quick", 300, 250, now, rec);
	lib_submit_wait(rec);
	budget_get("default", NULL, now, &f);
	ck_assert_int_eq(f.reserved, 100);
	ck_assert_int_eq(f.actual, 250);
	budget_get("default", "quick", now, &f);
	ck_assert_int_eq(f.reserved, 0);
	ck_assert_int_eq(f.actual, 250);
	rec = test_rec();
	budget_settle("default", "gate", 100, 1000, now, rec);
	lib_submit_wait(rec);
	budget_get("default", NULL, now, &f);
	ck_assert_int_eq(f.actual, 1250);
	ck_assert_int_eq(f.reserved, 0);
	snprintf(key, sizeof key, "default/%d", (int)f.month);
	ck_assert_int_eq(row_int("spend", key, "actual_micro"), 1250);
	snprintf(key, sizeof key, "default/gate/%d", (int)f.month);
	ck_assert_int_eq(row_int("spend", key, "actual_micro"), 1000);
}
END_TEST

/* Releasing more than was reserved leaves zero, never less; a run that
 * cost nothing writes no row. */
START_TEST(test_budget_settle_bad)
{
	struct budget_figures	 f;
	struct jrec		*rec;
	int64_t			 now = now_us();
	char			 key[64];

	budget_reserve("default", "quick", 100);
	budget_release("default", "quick", 500);
	budget_get("default", "quick", now, &f);
	ck_assert_int_eq(f.reserved, 0);
	budget_get("default", NULL, now, &f);
	ck_assert_int_eq(f.reserved, 0);
	budget_release("nosuch", "quick", 5);
	rec = test_rec();
	budget_settle("default", "quick", 0, 0, now, rec);
	lib_submit_wait(rec);
	snprintf(key, sizeof key, "default/%d", (int)f.month);
	ck_assert_int_eq(row_int("spend", key, "actual_micro"), -1);
}
END_TEST

/* Caps hold exactly at the boundary: spent + reserved + mid == cap is in. */
START_TEST(test_budget_check)
{
	const char	*cap = NULL;

	rpc_ok("account.create", "{\"name\":\"edge\",\"monthly_budget\":"
	    "\"1\"}");
	ck_assert_int_eq(budget_check("edge", "quick", 1000000, &cap), 0);
	budget_reserve("edge", "quick", 600000);
	ck_assert_int_eq(budget_check("edge", "quick", 400000, &cap), 0);
	budget_settle("edge", "quick", 600000, 600000, now_us(), NULL);
	ck_assert_int_eq(budget_check("edge", "quick", 400000, &cap), 0);
	rpc_ok("prefs.set", "{\"account\":\"edge\",\"operation\":\"gate\","
	    "\"monthly_budget\":\"0.3\"}");
	ck_assert_int_eq(budget_check("edge", "gate", 300000, &cap), 0);
	/* No cap at all: anything goes. */
	ck_assert_int_eq(budget_check("default", "quick", INT64_MAX / 2,
	    &cap), 0);
}
END_TEST

/* One micro-dollar past a cap is refused, naming the cap. */
START_TEST(test_budget_check_bad)
{
	const char	*cap = NULL;

	rpc_ok("account.create", "{\"name\":\"edge\",\"monthly_budget\":"
	    "\"1\"}");
	ck_assert_int_eq(budget_check("edge", "quick", 1000001, &cap), -1);
	ck_assert_str_eq(cap, "account_monthly_budget");
	budget_reserve("edge", "quick", 600000);
	ck_assert_int_eq(budget_check("edge", "quick", 400001, &cap), -1);
	ck_assert_str_eq(cap, "account_monthly_budget");
	rpc_ok("prefs.set", "{\"account\":\"edge\",\"operation\":\"gate\","
	    "\"monthly_budget\":\"0.3\"}");
	cap = NULL;
	ck_assert_int_eq(budget_check("edge", "gate", 300001, &cap), -1);
	ck_assert_str_eq(cap, "operation_monthly_budget");
	budget_settle("edge", "gate", 0, 200000, now_us(), NULL);
	ck_assert_int_eq(budget_check("edge", "gate", 100000, &cap), 0);
	ck_assert_int_eq(budget_check("edge", "gate", 100001, &cap), -1);
	ck_assert_str_eq(cap, "operation_monthly_budget");
	/* The account cap is checked first. */
	ck_assert_int_eq(budget_check("edge", "gate", 300000, &cap), -1);
	ck_assert_str_eq(cap, "account_monthly_budget");
}
END_TEST

/* Months are calendar months in the account's zone. */
START_TEST(test_budget_month_zone)
{
	struct budget_figures	 f;
	struct jrec		*rec;
	int64_t			 before, after;

	rpc_ok("account.create", "{\"name\":\"kiwi\",\"tz\":"
	    "\"Pacific/Auckland\"}");
	/* 2026-01-31T10:59:59Z is 23:59:59 in Auckland (NZDT, +13). */
	ck_assert_int_eq(parse_rfc3339("2026-01-31T10:59:59Z", &before), 0);
	ck_assert_int_eq(parse_rfc3339("2026-01-31T11:00:00Z", &after), 0);
	ck_assert_int_eq(budget_month("kiwi", before), 202601);
	ck_assert_int_eq(budget_month("kiwi", after), 202602);
	ck_assert_int_eq(budget_month("default", after), 202601);
	rec = test_rec();
	budget_settle("kiwi", "quick", 0, 700, before, rec);
	budget_settle("kiwi", "quick", 0, 1500, after, rec);
	lib_submit_wait(rec);
	ck_assert_int_eq(row_int("spend", "kiwi/202601", "actual_micro"), 700);
	ck_assert_int_eq(row_int("spend", "kiwi/202602", "actual_micro"),
	    1500);
	ck_assert_int_eq(row_int("spend", "kiwi/quick/202602",
	    "actual_micro"), 1500);
	budget_get("kiwi", NULL, after, &f);
	ck_assert_int_eq(f.month, 202602);
	ck_assert_int_eq(f.actual, 1500);
	budget_get("kiwi", NULL, before, &f);
	ck_assert_int_eq(f.actual, 700);
}
END_TEST

/* Spend of an earlier month does not count against this month's cap. */
START_TEST(test_budget_rollover)
{
	struct budget_figures	 f;
	const char		*cap;
	int64_t			 then;

	rpc_ok("account.create", "{\"name\":\"roll\",\"monthly_budget\":"
	    "\"1\",\"tz\":\"Europe/Berlin\"}");
	ck_assert_int_eq(parse_rfc3339("2020-03-15T12:00:00Z", &then), 0);
	budget_settle("roll", "quick", 0, 900000, then, NULL);
	budget_get("roll", NULL, then, &f);
	ck_assert_int_eq(f.actual, 900000);
	budget_get("roll", NULL, now_us(), &f);
	ck_assert_int_eq(f.actual, 0);
	ck_assert_int_eq(budget_check("roll", "quick", 1000000, &cap), 0);
}
END_TEST

/* This month's spend does count: the same amount now passes the cap. */
START_TEST(test_budget_rollover_bad)
{
	const char	*cap = NULL;
	int64_t		 then;

	rpc_ok("account.create", "{\"name\":\"roll\",\"monthly_budget\":"
	    "\"1\",\"tz\":\"Europe/Berlin\"}");
	ck_assert_int_eq(parse_rfc3339("2020-03-15T12:00:00Z", &then), 0);
	budget_settle("roll", "quick", 0, 900000, then, NULL);
	budget_settle("roll", "quick", 0, 900000, now_us(), NULL);
	/* A late settle for the old month does not touch this one. */
	budget_settle("roll", "quick", 0, 1, then, NULL);
	ck_assert_int_eq(budget_check("roll", "quick", 100000, &cap), 0);
	ck_assert_int_eq(budget_check("roll", "quick", 100001, &cap), -1);
	ck_assert_str_eq(cap, "account_monthly_budget");
}
END_TEST

/* Actual spend comes back from the table; reservations start at zero. */
START_TEST(test_budget_reload)
{
	struct budget_figures	 f;
	struct jrec		*rec;
	char			*cause = NULL;
	int64_t			 now = now_us(), then;

	ck_assert_int_eq(parse_rfc3339("2020-03-15T12:00:00Z", &then), 0);
	rec = test_rec();
	budget_settle("default", "quick", 0, 42, then, rec);
	budget_settle("default", "quick", 0, 4200, now, rec);
	lib_submit_wait(rec);
	budget_reserve("default", "quick", 99);
	ck_assert_int_eq(budget_load_all(engine->journal, &cause), 0);
	budget_get("default", "quick", now, &f);
	ck_assert_int_eq(f.actual, 4200);
	ck_assert_int_eq(f.reserved, 0);
	budget_get("default", NULL, then, &f);
	ck_assert_int_eq(f.actual, 42);
}
END_TEST

/* An unreadable spend row is skipped; the rest load. */
START_TEST(test_budget_reload_bad)
{
	struct budget_figures	 f;
	struct jrec		*rec;
	char			*cause = NULL;
	int64_t			 now = now_us();

	rec = test_rec();
	budget_settle("default", "quick", 0, 10, now, rec);
	jrec_put(rec, "spend", "garbage/1", 9, "\xc1", 1);
	lib_submit_wait(rec);
	ck_assert_int_eq(budget_load_all(engine->journal, &cause), 0);
	budget_get("default", NULL, now, &f);
	ck_assert_int_eq(f.actual, 10);
}
END_TEST

/* budget.status lists each cap with what is spent, reserved and left. */
START_TEST(test_budget_status)
{
	json_t	*r, *caps, *c;
	size_t	 i;
	int	 seen = 0;

	rpc_ok("account.update", "{\"name\":\"default\",\"monthly_budget\":"
	    "\"10\"}");
	rpc_ok("prefs.set", "{\"operation\":\"quick\",\"monthly_budget\":"
	    "\"2\"}");
	rpc_ok("schedule.create", "{\"name\":\"capped\",\"operation\":"
	    "\"quick\",\"manual\":true,\"max_cost_month\":\"3\"}");
	budget_settle("default", "quick", 0, 500000, now_us(), NULL);
	budget_reserve("default", "quick", 250000);
	r = rpc_ok("budget.status", "{}");
	ck_assert_str_eq(lib_json_str(r, "spent_usd"), "0.500000");
	caps = json_object_get(r, "caps");
	json_array_foreach(caps, i, c) {
		if (strcmp(lib_json_str(c, "kind"),
		    "account_monthly_budget") == 0) {
			ck_assert_str_eq(lib_json_str(c, "left_usd"),
			    "9.250000");
			seen |= 1;
		} else if (strcmp(lib_json_str(c, "kind"),
		    "operation_monthly_budget") == 0) {
			ck_assert_str_eq(lib_json_str(c, "name"), "quick");
			ck_assert_str_eq(lib_json_str(c, "reserved_usd"),
			    "0.250000");
			ck_assert_str_eq(lib_json_str(c, "left_usd"),
			    "1.250000");
			seen |= 2;
		} else if (strcmp(lib_json_str(c, "kind"),
		    "schedule_max_cost_month") == 0) {
			ck_assert_str_eq(lib_json_str(c, "name"), "capped");
			ck_assert_str_eq(lib_json_str(c, "budget_usd"),
			    "3.000000");
			seen |= 4;
		}
	}
	ck_assert_int_eq(seen, 7);
}
END_TEST

/* An account without caps has none listed; an unknown one is not found. */
START_TEST(test_budget_status_bad)
{
	json_t	*r;

	r = rpc_ok("budget.status", "{}");
	ck_assert_uint_eq(json_array_size(json_object_get(r, "caps")), 0);
	rpc_err("budget.status", "{\"account\":\"nosuch\"}", CTL_E_NOT_FOUND,
	    "account");
}
END_TEST

/* ---- runner ------------------------------------------------------------ */

static Suite *
account_suite(void)
{
	Suite	*s = suite_create("account");

	lib_tcase(s, "core", setup, teardown, 60,
	    test_account_create,
	    test_account_create_bad,
	    test_account_grant,
	    test_account_grant_bad,
	    test_account_serial,
	    test_account_serial_bad,
	    test_account_list_filter,
	    test_account_list_filter_bad,
	    test_account_reload,
	    test_account_reload_bad,
	    NULL);
	return (s);
}

static Suite *
prefs_suite(void)
{
	Suite	*s = suite_create("prefs");

	lib_tcase(s, "core", setup, teardown, 60,
	    test_prefs_set,
	    test_prefs_set_bad,
	    test_prefs_bulk_set,
	    test_prefs_bulk_set_bad,
	    test_prefs_ui,
	    test_prefs_ui_bad,
	    test_prefs_merge,
	    test_prefs_merge_bad,
	    test_prefs_reload,
	    NULL);
	return (s);
}

static Suite *
budget_suite(void)
{
	Suite	*s = suite_create("budget");

	lib_tcase(s, "core", setup, teardown, 60,
	    test_budget_settle,
	    test_budget_settle_bad,
	    test_budget_check,
	    test_budget_check_bad,
	    test_budget_month_zone,
	    test_budget_rollover,
	    test_budget_rollover_bad,
	    test_budget_reload,
	    test_budget_reload_bad,
	    test_budget_status,
	    test_budget_status_bad,
	    NULL);
	return (s);
}

int
main(void)
{
	log_open("check_account", LOG_LEVEL_WARN);
	return (lib_run(CK_NORMAL, account_suite(), prefs_suite(),
	    budget_suite(), NULL));
}
