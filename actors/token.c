/*
 * actors/token.c: API tokens, with which an HTTP client calls the control
 * methods (POST /v1/rpc, GET /v1/events).  A token acts for one account,
 * or for all (an admin token, made only by an admin), with a scope: read
 * (the methods that change nothing) or write (all its account may do),
 * until it is revoked or expires.  Its secret is shown once, by
 * token.create; the journal (token.created, token.revoked and the
 * "tokens" table) and the daemon keep only its SHA-256, so neither a
 * journal nor a core file gives a token away.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "engine.h"
#include "journal.h"
#include "actors.h"

#define TOKEN_OF(n)	((struct token *)(n))
#define TOKEN_MAX_LIFE_US	(3650LL * 86400 * USEC_PER_SEC)
#define TOKEN_OF_HASH(n) \
	((struct token *)((char *)(n) - offsetof(struct token, hnode)))

static struct strmap	tokens;		/* by id */
static struct strmap	token_hashes;	/* by hash */

/* A token.create or token.revoke in flight. */
struct token_op {
	struct reply	*req;
	struct token	*t;
	char		*secret;	/* create: shown once */
};

static void
token_free(struct token *t)
{
	if (t == NULL)
		return;
	free(t->name);
	free(t->account);
	free(t);
}

/* T's row: the map of its token.created record, without who made it. */
static void
token_pack(msgpack_packer *pk, const struct token *t, const struct caller *c)
{
	struct pack_pair	 p[] = {
		PACK_PAIR_STR("id", t->id),
		PACK_PAIR_STR("name", t->name),
		PACK_PAIR_STR("account", t->account),
		PACK_PAIR_STR("scope", t->readonly ? "read" : "write"),
		PACK_PAIR_STR("sha256", t->hash),
		PACK_PAIR_INT("created_us", t->created_us),
		PACK_PAIR_INT("expires_us", t->expires_us),
		PACK_PAIR_INT("by_uid", c != NULL ? CALLER_UID(c) : -1),
		PACK_PAIR_STR("by_token", c != NULL && c->token[0] != '\0' ?
		    c->token : NULL),
	};

	pack_map(pk, p, c != NULL ? 9 : 7);
}

static struct token *
token_unpack(const msgpack_object *o)
{
	struct token	*t;
	char		*id, *scope, *hash;

	id = unpack_strdup(o, "id");
	scope = unpack_strdup(o, "scope");
	hash = unpack_strdup(o, "sha256");
	if (id == NULL || strlen(id) >= sizeof t->id || hash == NULL ||
	    strlen(hash) != 64 || scope == NULL) {
		free(id);
		free(scope);
		free(hash);
		return (NULL);
	}
	t = xcalloc(1, sizeof *t);
	snprintf(t->id, sizeof t->id, "%s", id);
	snprintf(t->hash, sizeof t->hash, "%s", hash);
	t->readonly = strcmp(scope, "write") != 0;
	t->name = unpack_strdup(o, "name");
	t->account = unpack_strdup(o, "account");
	t->created_us = unpack_int(o, "created_us", 0);
	t->expires_us = unpack_int(o, "expires_us", 0);
	free(id);
	free(scope);
	free(hash);
	if (t->name == NULL)
		t->name = xstrdup("");
	return (t);
}

static void
token_index(struct token *t)
{
	if (strmap_insert(&tokens, &t->node, t->id) == -1) {
		token_free(t);
		return;
	}
	if (strmap_insert(&token_hashes, &t->hnode, t->hash) == -1) {
		strmap_remove(&tokens, &t->node);
		token_free(t);
	}
}

static void
token_unindex(struct token *t)
{
	strmap_remove(&tokens, &t->node);
	strmap_remove(&token_hashes, &t->hnode);
}

static int
token_row_cb(const struct journal_row *row, void *arg)
{
	msgpack_unpacked	 u;
	struct token		*t;

	if (unpack_buffer(row->val, row->vlen, &u) == -1) {
		log_warnx("msg=\"unreadable token row skipped\"");
		return (0);
	}
	if ((t = token_unpack(&u.data)) != NULL)
		token_index(t);
	else
		log_warnx("msg=\"unreadable token row skipped\"");
	msgpack_unpacked_destroy(&u);
	return (0);
}

static void
token_free_node(struct strmap_node *n, void *arg)
{
	token_free(TOKEN_OF(n));
}

void
token_free_all(void)
{
	strmap_foreach(&tokens, token_free_node, NULL);
	strmap_clear(&tokens);
	strmap_clear(&token_hashes);
	strmap_init(&tokens);
	strmap_init(&token_hashes);
}

int
token_load_all(struct journal *j, char **cause)
{
	token_free_all();
	if (journal_table_foreach(j, TOKEN_TABLE, NULL, 0, 0, token_row_cb,
	    NULL) == -1) {
		*cause = xstrdup("cannot read the tokens table");
		return (-1);
	}
	log_info("msg=\"tokens loaded\" count=%zu", tokens.count);
	return (0);
}

/* A new secret: TOKEN_PREFIX and 32 characters of a 32-letter alphabet
 * (160 random bits). */
static char *
token_secret(void)
{
	static const char	 alpha[] = "abcdefghijkmnpqrstuvwxyz23456789";
	unsigned char		 r[TOKEN_SECRET_CHARS];
	char			*s;
	size_t			 i, n = strlen(TOKEN_PREFIX);

	if (RAND_bytes(r, sizeof r) != 1)
		fatalx("token: RAND_bytes failed");
	s = xmalloc(n + sizeof r + 1);
	memcpy(s, TOKEN_PREFIX, n);
	for (i = 0; i < sizeof r; i++)
		s[n + i] = alpha[r[i] % 32];
	s[n + sizeof r] = '\0';
	OPENSSL_cleanse(r, sizeof r);
	return (s);
}

/* The SHA-256 of SECRET in hex into HASH. */
static void
token_hash(const char *secret, char hash[65])
{
	secret_fingerprint((const unsigned char *)secret, strlen(secret), hash);
}

json_t *
token_to_json(const struct token *t)
{
	char	 a[40], b[40];
	int64_t	 now = now_us();

	return (json_pack("{s:s, s:s, s:s?, s:b, s:s, s:s, s:s?, s:s, s:s?}",
	    "id", t->id, "name", t->name, "account", t->account,
	    "admin", t->account == NULL, "scope", t->readonly ? "read" :
	    "write", "created_at", fmt_rfc3339(t->created_us, a, sizeof a),
	    "expires_at", t->expires_us > 0 ? fmt_rfc3339(t->expires_us, b,
	    sizeof b) : NULL, "state", t->expires_us > 0 &&
	    t->expires_us <= now ? "expired" : "active", "last_used_at",
	    t->last_used_us > 0 ? fmt_rfc3339(t->last_used_us, b, sizeof b) :
	    NULL));
}

/* May CALLER see and revoke T?  An admin any; others the tokens of an
 * account they may act for (never an admin token). */
static int
token_visible(const struct token *t, const struct caller *caller)
{
	const struct account	*a;

	if (caller->admin)
		return (1);
	return (t->account != NULL && (a = account_find(t->account)) != NULL &&
	    account_allows(a, caller));
}

struct token_list {
	const struct caller	*caller;
	const char		*account;	/* NULL: any */
	json_t			*list;
};

static void
token_list_node(struct strmap_node *n, void *arg)
{
	struct token_list	*tl = arg;
	struct token		*t = TOKEN_OF(n);

	if (!token_visible(t, tl->caller) || (tl->account != NULL &&
	    (t->account == NULL || strcmp(t->account, tl->account) != 0)))
		return;
	json_array_append_new(tl->list, token_to_json(t));
}

static int
token_cmp(const void *x, const void *y)
{
	json_t *const	*a = x, *const *b = y;

	return (strcmp(json_string_value(json_object_get(*a, "created_at")),
	    json_string_value(json_object_get(*b, "created_at"))));
}

json_t *
token_list(const struct caller *caller, const char *account)
{
	struct token_list	 tl = { caller, account, json_array() };
	json_t			**v, *sorted;
	size_t			 i, n;

	strmap_foreach(&tokens, token_list_node, &tl);
	n = json_array_size(tl.list);
	v = xcalloc(n + 1, sizeof *v);
	for (i = 0; i < n; i++)
		v[i] = json_array_get(tl.list, i);
	xqsort(v, n, sizeof *v, token_cmp);
	sorted = json_array();
	for (i = 0; i < n; i++)
		json_array_append(sorted, v[i]);
	free(v);
	json_decref(tl.list);
	return (sorted);
}

static size_t
token_count_of(const char *account)
{
	struct strmap_node	*n;
	size_t			 b, count = 0;

	for (b = 0; b < tokens.nbuckets; b++) {
		for (n = tokens.buckets[b]; n != NULL; n = n->next) {
			if (TOKEN_OF(n)->account != NULL &&
			    strcmp(TOKEN_OF(n)->account, account) == 0)
				count++;
		}
	}
	return (count);
}

static void
token_created_cb(const struct journal_result *res, void *arg)
{
	struct token_op	*op = arg;
	struct token	*t = op->t;
	json_t		*j;

	if (res->status != JOURNAL_OK) {
		if (res->status == JOURNAL_DUPLICATE)
			reply_fail(op->req, REPLY_CONFLICT, "a token of this "
			    "name exists", "name", "already exists");
		else
			outcome_journal(op->req, res);
		token_free(t);
	} else {
		token_index(t);
		log_info("msg=\"token created\" token=%s account=%s scope=%s",
		    t->id, t->account != NULL ? t->account : "-",
		    t->readonly ? "read" : "write");
		j = token_to_json(t);
		json_object_set_new(j, "token", json_string(op->secret));
		reply_ok(op->req, j);
	}
	OPENSSL_cleanse(op->secret, strlen(op->secret));
	free(op->secret);
	free(op);
}

void
token_ctl_create(struct reply *req, const char *account, json_t *params)
{
	const struct caller	*caller = reply_caller(req);
	struct token_op		*op;
	struct token		*t;
	struct pack_buffer	 pb;
	struct jrec		*rec;
	const char		*name = param_string(params, "name");
	const char		*scope = param_string(params, "scope");
	char			 claim[128];
	int64_t			 expires = 0;
	int			 admin = 0;

	param_bool(params, "admin", &admin);
	if (name == NULL || !valid_id(name)) {
		reply_invalid(req, "name", "must be 1-64 of A-Z a-z 0-9 . _ "
		    "- (not starting with . or -)");
		return;
	}
	if (scope != NULL && strcmp(scope, "read") != 0 &&
	    strcmp(scope, "write") != 0) {
		reply_invalid(req, "scope", "must be read or write");
		return;
	}
	if (admin && !caller->admin) {
		reply_fail(req, REPLY_FORBIDDEN, "forbidden: only an admin "
		    "makes an admin token", "admin", "admins only");
		return;
	}
	if (param_duration(params, "expires_in", &expires) == 1 &&
	    (expires <= 0 || expires > TOKEN_MAX_LIFE_US)) {
		reply_invalid(req, "expires_in", "must be more than 0 and at "
		    "most 3650d");
		return;
	}
	if (!admin && token_count_of(account) >= TOKEN_MAX_PER_ACCOUNT) {
		reply_fail(req, REPLY_CONFLICT, "too many tokens for this "
		    "account (revoke one)", "account", "at most 100 tokens");
		return;
	}
	t = xcalloc(1, sizeof *t);
	random_id("tok_", t->id, sizeof t->id);
	t->name = xstrdup(name);
	t->account = admin ? NULL : xstrdup(account);
	t->readonly = scope == NULL || strcmp(scope, "read") == 0;
	t->created_us = now_us();
	t->expires_us = expires > 0 ? t->created_us + expires : 0;
	op = xcalloc(1, sizeof *op);
	op->req = req;
	op->t = t;
	op->secret = token_secret();
	token_hash(op->secret, t->hash);
	rec = jrec_create("token.created", t->account);
	jrec_failfast(rec);
	token_pack(jrec_body(rec), t, caller);
	pack_buffer_init(&pb);
	token_pack(&pb.pk, t, NULL);
	jrec_put(rec, TOKEN_TABLE, t->id, strlen(t->id), pb.sbuf.data,
	    pb.sbuf.size);
	pack_buffer_clear(&pb);
	/* one live name per account (the admin tokens' own space) */
	snprintf(claim, sizeof claim, "token:%s:%s", t->account != NULL ?
	    t->account : "", t->name);
	jrec_claim(rec, claim);
	journal_submit(engine->journal, rec, token_created_cb, op);
}

struct token *
token_find(const char *id, const struct caller *caller)
{
	struct strmap_node	*n;

	if (id == NULL || (n = strmap_find(&tokens, id)) == NULL ||
	    !token_visible(TOKEN_OF(n), caller))
		return (NULL);
	return (TOKEN_OF(n));
}

static void
token_revoked_cb(const struct journal_result *res, void *arg)
{
	struct token_op	*op = arg;
	struct token	*t = op->t;

	if (res->status != JOURNAL_OK) {
		outcome_journal(op->req, res);
		token_index(t);		/* it was not revoked */
		free(op);
		return;
	}
	log_info("msg=\"token revoked\" token=%s account=%s", t->id,
	    t->account != NULL ? t->account : "-");
	reply_ok(op->req, json_pack("{s:s, s:b}", "id", t->id, "revoked", 1));
	token_free(t);
	free(op);
}

void
token_ctl_revoke(struct reply *req, struct token *t)
{
	const struct caller	*caller = reply_caller(req);
	const struct pack_pair	 v[] = {
		PACK_PAIR_STR("id", t->id),
		PACK_PAIR_STR("name", t->name),
		PACK_PAIR_INT("by_uid", CALLER_UID(caller)),
		PACK_PAIR_STR("by_token", caller->token[0] != '\0' ?
		    caller->token : NULL),
	};
	struct token_op		*op;
	struct jrec		*rec;
	char			 claim[128];

	/* out of the index now: no request is let in by it from here on */
	token_unindex(t);
	op = xcalloc(1, sizeof *op);
	op->req = req;
	op->t = t;
	rec = jrec_create("token.revoked", t->account);
	jrec_failfast(rec);
	PACK_MAP(jrec_body(rec), v);
	jrec_del(rec, TOKEN_TABLE, t->id, strlen(t->id));
	snprintf(claim, sizeof claim, "token:%s:%s", t->account != NULL ?
	    t->account : "", t->name);
	jrec_release(rec, claim);
	journal_submit(engine->journal, rec, token_revoked_cb, op);
}

/* The caller token T stands for: 0 and *CALLER, or -1 and *WHY
 * ("expired", "account gone"). */
static int
token_caller(struct token *t, struct caller *caller, const char **why)
{
	if (t->expires_us > 0 && t->expires_us <= now_us()) {
		*why = "expired";
		return (-1);
	}
	if (t->account != NULL && account_find(t->account) == NULL) {
		*why = "account gone";
		return (-1);
	}
	memset(caller, 0, sizeof *caller);
	caller->uid = (uid_t)-1;
	caller->gid = (gid_t)-1;
	caller->admin = t->account == NULL;
	caller->readonly = t->readonly;
	snprintf(caller->token, sizeof caller->token, "%s", t->id);
	if (t->account != NULL)
		snprintf(caller->account, sizeof caller->account, "%s",
		    t->account);
	t->last_used_us = now_us();
	return (0);
}

int
token_authenticate(const char *secret, struct caller *caller,
    const char **why)
{
	struct strmap_node	*n;
	char			 hash[65];

	if (secret == NULL || strncmp(secret, TOKEN_PREFIX,
	    strlen(TOKEN_PREFIX)) != 0 || strlen(secret) !=
	    strlen(TOKEN_PREFIX) + TOKEN_SECRET_CHARS) {
		*why = "malformed";
		return (-1);
	}
	token_hash(secret, hash);
	if ((n = strmap_find(&token_hashes, hash)) == NULL) {
		*why = "unknown";
		return (-1);
	}
	return (token_caller(TOKEN_OF_HASH(n), caller, why));
}

int
token_authenticate_id(const char *id, struct caller *caller,
    const char **why)
{
	struct strmap_node	*n;

	if ((n = strmap_find(&tokens, id)) == NULL) {
		*why = "unknown";	/* revoked since */
		return (-1);
	}
	return (token_caller(TOKEN_OF(n), caller, why));
}
