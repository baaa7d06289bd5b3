/*
 * tests/check_token.c: API tokens (actors/token.c) and the control methods
 * for another transport (ctl_call, ctl/server.c), as the HTTP API uses
 * them: a real journal in a temporary directory, the daemon's method
 * table, requests handed to ctl_call by an admin or by a token's caller,
 * the loop run until each is answered.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "ctl.h"
#include "daemon.h"
#include "lib.h"

static char		*tmpdir;
static json_t		*answer;	/* the last response */
static int		 answered;

static void
setup(void)
{
	char	*cause = NULL, sock[160];

	tmpdir = lib_tmpdir("check-token");
	lib_engine_start(tmpdir);
	while (journal_pending(engine->journal) > 0)
		event_base_loop(engine->base, EVLOOP_ONCE);
	snprintf(sock, sizeof sock, "%s/chime.sock", tmpdir);
	engine->ctl = ctl_server_create(engine->base, sock,
	    daemon_method_find, &cause);
	ck_assert_msg(engine->ctl != NULL, "server: %s", cause);
	ck_assert_int_eq(token_load_all(engine->journal, &cause), 0);
	answer = NULL;
}

static void
teardown(void)
{
	json_decref(answer);
	token_free_all();
	ctl_server_free(engine->ctl);
	engine->ctl = NULL;
	lib_engine_stop();
	lib_rm_tree(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}

static void
got(json_t *response, void *arg)
{
	json_decref(answer);
	answer = response;
	answered = 1;
}

/* Call METHOD with PARAMS (JSON text) as CALLER through ctl_call; the
 * response (borrowed until the next call). */
static json_t *
call(const struct caller *caller, const char *method, const char *params)
{
	json_t	*msg;
	char	*text;

	xasprintf(&text, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"%s\","
	    "\"params\":%s}", method, params);
	msg = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(msg);
	free(text);
	answered = 0;
	ctl_call(engine->ctl, caller, msg, got, NULL);
	json_decref(msg);
	while (!answered)
		event_base_loop(engine->base, EVLOOP_ONCE);
	ck_assert_ptr_nonnull(answer);
	return (answer);
}

/* The error code of the last response (0: a result). */
static int
code(json_t *r)
{
	return ((int)json_integer_value(json_object_get(json_object_get(r,
	    "error"), "code")));
}

static const struct caller admin = { .uid = 0, .admin = 1 };

/* Looking for bytes in the journal's records. */
struct holds {
	const char	*s;
	int		 found;
};

static int
holds_entry(const struct journal_entry *e, void *arg)
{
	struct holds	*h = arg;

	if (memmem(e->rec, e->len, h->s, strlen(h->s)) != NULL)
		h->found = 1;
	return (h->found);
}

/* Does any record of the journal hold the bytes of S? */
static int
journal_holds(const char *s)
{
	struct holds	 h = { s, 0 };
	char		*cause = NULL;

	ck_assert_int_eq(journal_log_foreach(engine->journal, 1, NULL,
	    holds_entry, &h, &cause), 0);
	return (h.found);
}

/* {"id": ID} (new). */
static char *
id_params(const char *id)
{
	char	*p;

	xasprintf(&p, "{\"id\":\"%s\"}", id);
	return (p);
}

/* A token of ACCOUNT with SCOPE made by the admin: its secret (new). */
static char *
make_token(const char *name, const char *account, const char *scope)
{
	json_t	*r;
	char	*params;

	xasprintf(&params, "{\"name\":\"%s\",\"account\":\"%s\","
	    "\"scope\":\"%s\"}", name, account, scope);
	r = call(&admin, "token.create", params);
	free(params);
	ck_assert_msg(code(r) == 0, "%s", json_dumps(r, 0));
	return (xstrdup(lib_json_str(json_object_get(r, "result"), "token")));
}

/* A made token stands for its account and scope; the secret is shown in
 * the answer, and nowhere in the journal. */
START_TEST(test_token)
{
	struct caller	 c;
	const char	*why = NULL;
	char		*secret, *id, *text, hash[65];
	json_t		*r;

	call(&admin, "account.create", "{\"name\":\"acme\"}");
	ck_assert_int_eq(code(answer), 0);
	secret = make_token("ci", "acme", "write");
	ck_assert_int_eq(strncmp(secret, TOKEN_PREFIX, 6), 0);
	ck_assert_uint_eq(strlen(secret), 6 + TOKEN_SECRET_CHARS);
	id = xstrdup(lib_json_str(json_object_get(answer, "result"), "id"));
	ck_assert_int_eq(token_authenticate(secret, &c, &why), 0);
	ck_assert_str_eq(c.token, id);
	ck_assert_str_eq(c.account, "acme");
	ck_assert_int_eq(c.readonly, 0);
	ck_assert_int_eq(c.admin, 0);
	ck_assert_uint_eq((unsigned long)c.uid, (unsigned long)(uid_t)-1);
	/* its caller acts for acme, by default too */
	r = call(&c, "schedule.create", "{\"name\":\"s\",\"operation\":"
	    "\"quick\",\"manual\":true}");
	ck_assert_int_eq(code(r), 0);
	ck_assert_str_eq(lib_json_str(json_object_get(r, "result"),
	    "account"), "acme");
	/* the journal holds its hash, never the secret; nor does a list */
	secret_fingerprint((const unsigned char *)secret, strlen(secret),
	    hash);
	ck_assert_int_eq(journal_holds(hash), 1);
	ck_assert_int_eq(journal_holds(secret), 0);
	ck_assert_int_eq(journal_holds(secret + 6), 0);
	ck_assert_uint_gt(journal_dedup_seq(engine->journal, "token:acme:ci"),
	    0);
	r = call(&admin, "token.list", "{}");
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(r,
	    "result"), "tokens")), 1);
	text = json_dumps(r, 0);
	ck_assert_ptr_null(strstr(text, secret + 6));
	free(text);
	free(id);
	free(secret);
}
END_TEST

/* Bad, unknown and expired secrets stand for no one. */
START_TEST(test_token_bad)
{
	struct caller	 c;
	struct token	*t;
	const char	*why = NULL;
	char		*secret, bad[64];

	call(&admin, "account.create", "{\"name\":\"acme\"}");
	ck_assert_int_eq(token_authenticate(NULL, &c, &why), -1);
	ck_assert_str_eq(why, "malformed");
	ck_assert_int_eq(token_authenticate("chime_short", &c, &why), -1);
	ck_assert_str_eq(why, "malformed");
	snprintf(bad, sizeof bad, "%s%032d", TOKEN_PREFIX, 0);
	ck_assert_int_eq(token_authenticate(bad, &c, &why), -1);
	ck_assert_str_eq(why, "unknown");
	secret = make_token("brief", "acme", "read");
	t = token_find(lib_json_str(json_object_get(answer, "result"), "id"),
	    &admin);
	ck_assert_ptr_nonnull(t);
	t->expires_us = now_us() - 1;
	ck_assert_int_eq(token_authenticate(secret, &c, &why), -1);
	ck_assert_str_eq(why, "expired");
	/* refused parameters change nothing */
	ck_assert_int_eq(code(call(&admin, "token.create", "{\"name\":\"x\","
	    "\"account\":\"acme\",\"scope\":\"all\"}")), CTL_E_INVALID_PARAMS);
	ck_assert_int_eq(code(call(&admin, "token.create", "{\"name\":"
	    "\"../x\",\"account\":\"acme\"}")), CTL_E_INVALID_PARAMS);
	ck_assert_int_eq(code(call(&admin, "token.create", "{\"name\":\"x\","
	    "\"account\":\"acme\",\"expires_in\":\"3651d\"}")),
	    CTL_E_INVALID_PARAMS);
	ck_assert_int_eq(code(call(&admin, "token.create", "{\"name\":"
	    "\"brief\",\"account\":\"acme\"}")), CTL_E_CONFLICT);
	ck_assert_int_eq(code(call(&admin, "token.create", "{\"name\":\"x\","
	    "\"account\":\"nobody\"}")), CTL_E_NOT_FOUND);
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(
	    call(&admin, "token.list", "{}"), "result"), "tokens")), 1);
	free(secret);
}
END_TEST

/* A read token reads; it and an account's token go no further than they
 * may; revoked, a token stands for no one. */
START_TEST(test_token_scope)
{
	struct caller	 ro, rw;
	const char	*why;
	char		*s1, *s2, *s3, *id, *p, *cause = NULL;
	json_t		*r;

	call(&admin, "account.create", "{\"name\":\"acme\"}");
	call(&admin, "account.create", "{\"name\":\"other\"}");
	s1 = make_token("reader", "acme", "read");
	s2 = make_token("writer", "acme", "write");
	s3 = make_token("theirs", "other", "write");
	id = xstrdup(lib_json_str(json_object_get(answer, "result"), "id"));
	ck_assert_int_eq(token_authenticate(s1, &ro, &why), 0);
	ck_assert_int_eq(token_authenticate(s2, &rw, &why), 0);
	ck_assert_int_eq(code(call(&ro, "account.list", "{}")), 0);
	r = call(&ro, "schedule.create", "{\"name\":\"s\",\"operation\":"
	    "\"quick\",\"manual\":true}");
	ck_assert_int_eq(code(r), CTL_E_FORBIDDEN);
	ck_assert_int_eq(code(call(&rw, "schedule.list",
	    "{\"account\":\"other\"}")), CTL_E_FORBIDDEN);
	ck_assert_int_eq(code(call(&rw, "account.create",
	    "{\"name\":\"x\"}")), CTL_E_FORBIDDEN);
	ck_assert_int_eq(code(call(&rw, "token.create", "{\"name\":\"up\","
	    "\"admin\":true}")), CTL_E_FORBIDDEN);
	p = id_params(id);
	ck_assert_int_eq(code(call(&rw, "token.revoke", p)), CTL_E_NOT_FOUND);
	r = call(&rw, "token.list", "{}");
	ck_assert_uint_eq(json_array_size(json_object_get(json_object_get(r,
	    "result"), "tokens")), 2);
	ck_assert_int_eq(code(call(&rw, "events.watch", "{}")),
	    CTL_E_NO_METHOD);
	/* the admin revokes other's token: refused from then on */
	r = call(&admin, "token.revoke", "{\"id\":\"tok_none\"}");
	ck_assert_int_eq(code(r), CTL_E_NOT_FOUND);
	ck_assert_int_eq(code(call(&admin, "token.revoke", p)), 0);
	ck_assert_int_eq(code(call(&admin, "token.revoke", p)),
	    CTL_E_NOT_FOUND);
	free(p);
	ck_assert_int_eq(token_authenticate(s3, &ro, &why), -1);
	ck_assert_str_eq(why, "unknown");
	/* and the table says the same after a reload */
	ck_assert_int_eq(token_load_all(engine->journal, &cause), 0);
	ck_assert_int_eq(token_authenticate(s3, &ro, &why), -1);
	ck_assert_int_eq(token_authenticate(s2, &rw, &why), 0);
	free(s1);
	free(s2);
	free(s3);
	free(id);
}
END_TEST

/* A token's id stands for the caller its secret does (a dashboard
 * session holds the id). */
START_TEST(test_token_id)
{
	struct caller	 a, b;
	const char	*why = NULL;
	char		*secret, *id;

	call(&admin, "account.create", "{\"name\":\"acme\"}");
	secret = make_token("web", "acme", "read");
	id = xstrdup(lib_json_str(json_object_get(answer, "result"), "id"));
	ck_assert_int_eq(token_authenticate(secret, &a, &why), 0);
	ck_assert_int_eq(token_authenticate_id(id, &b, &why), 0);
	ck_assert_int_eq(memcmp(&a, &b, sizeof a), 0);
	ck_assert_str_eq(b.account, "acme");
	ck_assert_int_eq(b.readonly, 1);
	free(secret);
	free(id);
}
END_TEST

/* An unknown, revoked or expired token's id stands for no one. */
START_TEST(test_token_id_bad)
{
	struct caller	 c;
	struct token	*t;
	const char	*why = NULL;
	char		*s1, *s2, *id1, *id2, *p;

	call(&admin, "account.create", "{\"name\":\"acme\"}");
	ck_assert_int_eq(token_authenticate_id("tok_none", &c, &why), -1);
	ck_assert_str_eq(why, "unknown");
	s1 = make_token("gone", "acme", "write");
	id1 = xstrdup(lib_json_str(json_object_get(answer, "result"), "id"));
	s2 = make_token("old", "acme", "write");
	id2 = xstrdup(lib_json_str(json_object_get(answer, "result"), "id"));
	p = id_params(id1);
	ck_assert_int_eq(code(call(&admin, "token.revoke", p)), 0);
	ck_assert_int_eq(token_authenticate_id(id1, &c, &why), -1);
	ck_assert_str_eq(why, "unknown");
	t = token_find(id2, &admin);
	ck_assert_ptr_nonnull(t);
	t->expires_us = now_us() - 1;
	ck_assert_int_eq(token_authenticate_id(id2, &c, &why), -1);
	ck_assert_str_eq(why, "expired");
	free(p);
	free(s1);
	free(s2);
	free(id1);
	free(id2);
}
END_TEST

static Suite *
token_suite(void)
{
	Suite	*s = suite_create("token");

	lib_tcase(s, "token", setup, teardown, 60,
	    test_token,
	    test_token_bad,
	    test_token_scope,
	    test_token_id,
	    test_token_id_bad,
	    NULL);
	return (s);
}

int
main(void)
{
	log_open("check_token", LOG_LEVEL_WARN);
	return (lib_run(CK_NORMAL, token_suite(), NULL));
}
