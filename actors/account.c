/*
 * actors/account.c: accounts (tenants).  Every object belongs to one.  The
 * "default" account is created, with a journal record, on the first start.
 * Admin callers (root, the daemon's uid) act for any account; any other uid
 * acts only for the accounts that list it.
 */
#include <stdlib.h>
#include <string.h>

#include "actors.h"

static struct strmap	accounts;

static struct account *
account_new(const char *name)
{
	struct account	*a;

	a = xcalloc(1, sizeof *a);
	a->name = xstrdup(name);
	return (a);
}

static void
account_free(struct account *a)
{
	free(a->uids);
	free(a->name);
	free(a);
}

static void
account_pack(const struct account *a, msgpack_packer *pk)
{
	size_t	i;

	msgpack_pack_map(pk, 4);
	pack_kstr(pk, "name", a->name);
	pack_str(pk, "uids");
	msgpack_pack_array(pk, a->nuids);
	for (i = 0; i < a->nuids; i++)
		msgpack_pack_uint32(pk, a->uids[i]);
	pack_kint(pk, "monthly_budget_micro", a->monthly_budget);
	pack_kint(pk, "created_us", a->created_us);
}

static struct account *
account_unpack(const msgpack_object *o)
{
	const msgpack_object	*uids;
	struct account		*a;
	char			*name;
	uint32_t		 i;

	if ((name = unpack_strdup(o, "name")) == NULL)
		return (NULL);
	a = account_new(name);
	free(name);
	a->monthly_budget = unpack_int(o, "monthly_budget_micro", 0);
	a->created_us = unpack_int(o, "created_us", 0);
	uids = unpack_get(o, "uids");
	if (uids != NULL && uids->type == MSGPACK_OBJECT_ARRAY) {
		a->uids = xcalloc(uids->via.array.size + 1, sizeof *a->uids);
		for (i = 0; i < uids->via.array.size; i++) {
			if (uids->via.array.ptr[i].type ==
			    MSGPACK_OBJECT_POSITIVE_INTEGER)
				a->uids[a->nuids++] =
				    (uid_t)uids->via.array.ptr[i].via.u64;
		}
	}
	return (a);
}

static int
account_row_cb(const struct journal_row *row, void *arg)
{
	msgpack_unpacked	 u;
	struct account		*a;

	if (unpack_buffer(row->val, row->vlen, &u) == -1) {
		log_warnx("msg=\"unreadable account row skipped\"");
		return (0);
	}
	if ((a = account_unpack(&u.data)) != NULL &&
	    strmap_insert(&accounts, &a->node, a->name) == -1)
		account_free(a);
	msgpack_unpacked_destroy(&u);
	return (0);
}

static void
account_created_cb(const struct journal_result *res, void *arg)
{
	if (res->status != JOURNAL_OK)
		log_warnx("msg=\"cannot record the default account\" "
		    "error=\"%s\"", res->error != NULL ? res->error :
		    "duplicate");
}

/* Load every account; create "default" (journaled) if it is missing. */
int
account_load_all(struct journal *j, char **cause)
{
	struct account		*a;
	struct jrec		*rec;
	struct pack_buffer	 pb;

	strmap_init(&accounts);
	if (journal_table_foreach(j, "accounts", NULL, 0, 0, account_row_cb,
	    NULL) == -1) {
		*cause = xstrdup("cannot read the accounts table");
		return (-1);
	}
	if (account_find("default") != NULL)
		return (0);
	a = account_new("default");
	a->created_us = now_us();
	strmap_insert(&accounts, &a->node, a->name);
	rec = jrec_create("account.created", a->name);
	account_pack(a, jrec_body(rec));
	pack_buffer_init(&pb);
	account_pack(a, &pb.pk);
	jrec_put(rec, "accounts", a->name, strlen(a->name), pb.sbuf.data,
	    pb.sbuf.size);
	pack_buffer_clear(&pb);
	jrec_claim(rec, "account:default");
	journal_submit(j, rec, account_created_cb, NULL);
	return (0);
}

struct account *
account_find(const char *name)
{
	struct strmap_node	*n;

	if ((n = strmap_find(&accounts, name)) == NULL)
		return (NULL);
	return ((struct account *)((char *)n - offsetof(struct account, node)));
}

/* May CALLER act for account A? */
int
account_allows(const struct account *a, const struct ctl_caller *caller)
{
	size_t	i;

	if (caller->admin)
		return (1);
	for (i = 0; i < a->nuids; i++) {
		if (a->uids[i] == caller->uid)
			return (1);
	}
	return (0);
}

static void
account_free_node(struct strmap_node *n, void *arg)
{
	account_free((struct account *)((char *)n - offsetof(struct account,
	    node)));
}

void
account_free_all(void)
{
	strmap_foreach(&accounts, account_free_node, NULL);
	strmap_clear(&accounts);
}

size_t
account_count(void)
{
	return (accounts.count);
}

json_t *
account_to_json(const struct account *a)
{
	json_t	*uids = json_array();
	char	 buf[40];
	size_t	 i;

	for (i = 0; i < a->nuids; i++)
		json_array_append_new(uids, json_integer(a->uids[i]));
	return (json_pack("{s:s, s:o, s:s*}", "name", a->name, "uids", uids,
	    "monthly_budget_usd", a->monthly_budget > 0 ?
	    fmt_usd(a->monthly_budget, buf, sizeof buf) : NULL));
}
