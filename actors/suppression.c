/*
 * actors/suppression.c: an account's email suppression list
 * (doc/email.md): addresses that receive none of the account's reports,
 * with why (unsubscribe: the one-click link; manual: suppression.add).
 * The list is the "email-suppressions" table (ACCOUNT ADDRESS, the
 * address in lower case), changed only by email.suppression_added and
 * email.suppression_removed records, read where it is needed (a send, a
 * list): nothing is kept in memory.  A change is answered once its record
 * is durable; one that changes nothing (an address already suppressed,
 * or not) writes nothing.
 */
#include <sys/types.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "journal.h"
#include "actors.h"

#define SUPPRESSION_TABLE	"email-suppressions"
#define SUPPRESSION_LIST_MAX	10000

/* A change on its way to the journal. */
struct suppression_op {
	suppression_done_cb	 cb;
	void			*arg;
	json_t			*row;	/* what the answer shows */
};

static char	*suppression_key(const char *, const char *);
static void	 suppression_noop_cb(evutil_socket_t, short, void *);
static void	 suppression_cb(const struct journal_result *, void *);
static int	 suppression_row(const struct journal_row *, void *);

/* "ACCOUNT ADDRESS", the address in lower case; allocated. */
static char *
suppression_key(const char *account, const char *address)
{
	char	*key, *p;

	xasprintf(&key, "%s %s", account, address);
	for (p = key + strlen(account) + 1; *p != '\0'; p++)
		*p = (char)tolower((u_char)*p);
	return (key);
}

/* Is ADDRESS suppressed for ACCOUNT?  1 and its reason in *REASON
 * (allocated, if REASON is not NULL), or 0. */
int
suppression_find(const char *account, const char *address, char **reason)
{
	msgpack_unpacked	 u;
	void			*val;
	size_t			 vlen;
	char			*key;
	int			 found;

	key = suppression_key(account, address);
	found = journal_table_get(engine->journal, SUPPRESSION_TABLE, key,
	    strlen(key), &val, &vlen) == 0;
	free(key);
	if (!found)
		return (0);
	if (reason != NULL) {
		*reason = NULL;
		if (unpack_buffer(val, vlen, &u) == 0) {
			*reason = unpack_strdup(&u.data, "reason");
			msgpack_unpacked_destroy(&u);
		}
		if (*reason == NULL)
			*reason = xstrdup("?");
	}
	free(val);
	return (1);
}

/*
 * Suppress ADDRESS for ACCOUNT with REASON ("unsubscribe", "manual"), or
 * with REASON NULL lift it.  CB runs once, from the loop (never inside
 * this call): with 0 and the row (borrowed) once the record is durable or
 * when nothing needed changing, or -1 and the journal's error.
 */
void
suppression_change(const char *account, const char *address,
    const char *reason, suppression_done_cb cb, void *arg)
{
	struct suppression_op	*op;
	struct timeval		 tv = { 0, 0 };
	struct jrec		*rec;
	char			*key, *lower;
	int			 had;

	op = xcalloc(1, sizeof *op);
	op->cb = cb;
	op->arg = arg;
	key = suppression_key(account, address);
	lower = xstrdup(key + strlen(account) + 1);
	had = suppression_find(account, address, NULL);
	op->row = json_pack("{s:s, s:s, s:s?, s:b}", "account", account,
	    "address", lower, "reason", reason, "suppressed", reason != NULL);
	if ((reason != NULL) == had) {
		/* Nothing to change: answered from the loop all the same. */
		json_object_set_new(op->row, "changed", json_false());
		if (event_base_once(engine->base, -1, EV_TIMEOUT,
		    suppression_noop_cb, op, &tv) == -1)
			fatalx("suppression_change: event_base_once failed");
		free(lower);
		free(key);
		return;
	}
	json_object_set_new(op->row, "changed", json_true());
	rec = jrec_create(reason != NULL ? "email.suppression_added" :
	    "email.suppression_removed", account);
	if (reason != NULL) {
		const struct pack_pair	 v[] = {
			PACK_PAIR_STR("account", account),
			PACK_PAIR_STR("address", lower),
			PACK_PAIR_STR("reason", reason),
			PACK_PAIR_INT("at_us", now_us()),
		};
		struct pack_buffer	 pb;

		pack_buffer_init(&pb);
		PACK_MAP(&pb.pk, v);
		pack_raw(jrec_body(rec), pb.sbuf.data, pb.sbuf.size);
		jrec_put(rec, SUPPRESSION_TABLE, key, strlen(key),
		    pb.sbuf.data, pb.sbuf.size);
		pack_buffer_clear(&pb);
	} else {
		const struct pack_pair	 v[] = {
			PACK_PAIR_STR("account", account),
			PACK_PAIR_STR("address", lower),
		};

		PACK_MAP(jrec_body(rec), v);
		jrec_del(rec, SUPPRESSION_TABLE, key, strlen(key));
	}
	jrec_failfast(rec);
	journal_submit(engine->journal, rec, suppression_cb, op);
	free(lower);
	free(key);
}

/* A change that changed nothing, answered from the loop. */
static void
suppression_noop_cb(evutil_socket_t fd, short events, void *arg)
{
	struct suppression_op	*op = arg;

	op->cb(op->arg, 0, op->row, NULL);
	json_decref(op->row);
	free(op);
}

static void
suppression_cb(const struct journal_result *res, void *arg)
{
	struct suppression_op	*op = arg;

	if (res->status == JOURNAL_OK)
		op->cb(op->arg, 0, op->row, NULL);
	else
		op->cb(op->arg, -1, NULL, res->error != NULL ? res->error :
		    "the journal cannot write");
	json_decref(op->row);
	free(op);
}

struct suppression_walk {
	json_t	*list;
};

static int
suppression_row(const struct journal_row *row, void *arg)
{
	struct suppression_walk	*w = arg;
	msgpack_unpacked	 u;
	char			*addr, *reason;
	int64_t			 at;
	char			 when[40];

	if (json_array_size(w->list) >= SUPPRESSION_LIST_MAX)
		return (1);
	if (unpack_buffer(row->val, row->vlen, &u) == -1)
		return (0);
	addr = unpack_strdup(&u.data, "address");
	reason = unpack_strdup(&u.data, "reason");
	at = unpack_int(&u.data, "at_us", 0);
	msgpack_unpacked_destroy(&u);
	fmt_rfc3339(at, when, sizeof when);
	if (addr != NULL)
		json_array_append_new(w->list, json_pack("{s:s, s:s?, s:s}",
		    "address", addr, "reason", reason, "at", when));
	free(addr);
	free(reason);
	return (0);
}

/* ACCOUNT's suppressed addresses in address order (at most 10000):
 * [{address, reason, at}]. */
json_t *
suppression_list(const char *account)
{
	struct suppression_walk	 w;
	char			*prefix;

	w.list = json_array();
	xasprintf(&prefix, "%s ", account);
	journal_table_foreach(engine->journal, SUPPRESSION_TABLE, prefix,
	    strlen(prefix), 0, suppression_row, &w);
	free(prefix);
	return (w.list);
}
