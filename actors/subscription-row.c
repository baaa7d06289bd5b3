/*
 * actors/subscription-row.c: what a subscription is, as data, with no
 * effects: its row (the "subscriptions" table) and the pure function
 * from one subscription.* record to the table changes it makes
 * (subscription_apply), which the daemon uses to write its rows and
 * `chime-journal replay` to rebuild them; the kinds filter and which
 * records a subscription is sent; the retry schedule with its jitter.
 *
 * Nothing here reads the clock, the journal or the network: every instant
 * a row holds comes from the record's body ("at_us").
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

static const char *const sub_state_names[SUB_STATE_MAX] = {
	"active", "paused", "disabled"
};

/* The delays after a failed attempt N (1: the first), in seconds. */
static const int64_t sub_retry_s[SUB_RETRY_STEPS] = {
	0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600
};

static const char *const sub_row_keys[] = {
	"format", "id", "account", "all_accounts", "url", "kinds",
	"secret_ref", "fingerprint", "batch", "state", "reason", "cursor",
	"created_us", "updated_us", "delivered", "deliveries", "failed",
	"attempts", "failing_since_us", "retry_at_us", "next_attempt",
	"pending_first", "pending_last", "last_ok_us", "last_status",
	"last_error"
};
enum {
	K_FORMAT, K_ID, K_ACCOUNT, K_ALL, K_URL, K_KINDS, K_SECRET, K_FP,
	K_BATCH, K_STATE, K_REASON, K_CURSOR, K_CREATED, K_UPDATED,
	K_DELIVERED, K_DELIVERIES, K_FAILED, K_ATTEMPTS, K_FAILING, K_RETRY,
	K_NEXT, K_PFIRST, K_PLAST, K_LASTOK, K_LSTATUS, K_LERROR, K_MAX
};

static void	 sub_kinds_free(char **, size_t);
static char	**sub_kinds_copy(char *const *, size_t);
static int	 sub_kinds_decode(const msgpack_object *, char ***, size_t *);
static void	 sub_row_entries(msgpack_packer *, const void *);
static int	 sub_apply_config(struct sub_row *, const msgpack_object *,
		    int, char **);
static int	 sub_apply_attempt(struct sub_changes *, const char *,
		    const msgpack_object *, int64_t, char **);
static void	 sub_attempt_pack(struct sub_changes *, const char *,
		    const msgpack_object *, int64_t);
static int	 sub_kind_valid(const char *, size_t);

const char *
sub_state_name(enum sub_state s)
{
	return (s < SUB_STATE_MAX ? sub_state_names[s] : "?");
}

static void
sub_kinds_free(char **k, size_t n)
{
	size_t	i;

	for (i = 0; k != NULL && i < n; i++)
		free(k[i]);
	free(k);
}

static char **
sub_kinds_copy(char *const *k, size_t n)
{
	char	**c;
	size_t	  i;

	c = xcalloc(n + 1, sizeof *c);
	for (i = 0; i < n; i++)
		c[i] = xstrdup(k[i]);
	return (c);
}

/* An array of strings (at most SUB_MAX_KINDS): 0, or -1. */
static int
sub_kinds_decode(const msgpack_object *o, char ***kinds, size_t *n)
{
	uint32_t	i;

	*kinds = NULL;
	*n = 0;
	if (o == NULL || o->type == MSGPACK_OBJECT_NIL)
		return (0);
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size >
	    SUB_MAX_KINDS)
		return (-1);
	*kinds = xcalloc(o->via.array.size + 1, sizeof **kinds);
	for (i = 0; i < o->via.array.size; i++) {
		if (((*kinds)[i] = unpack_val_strdup(&o->via.array.ptr[i])) ==
		    NULL) {
			sub_kinds_free(*kinds, i);
			*kinds = NULL;
			return (-1);
		}
	}
	*n = o->via.array.size;
	return (0);
}

void
sub_row_clear(struct sub_row *r)
{
	if (r == NULL)
		return;
	free(r->id);
	free(r->account);
	free(r->url);
	sub_kinds_free(r->kinds, r->nkinds);
	free(r->secret_ref);
	free(r->fingerprint);
	free(r->reason);
	free(r->last_error);
	memset(r, 0, sizeof *r);
}

/* DST becomes a deep copy of SRC (DST is not cleared first). */
void
sub_row_copy(struct sub_row *dst, const struct sub_row *src)
{
	*dst = *src;
	dst->id = src->id != NULL ? xstrdup(src->id) : NULL;
	dst->account = src->account != NULL ? xstrdup(src->account) : NULL;
	dst->url = src->url != NULL ? xstrdup(src->url) : NULL;
	dst->kinds = sub_kinds_copy(src->kinds, src->nkinds);
	dst->secret_ref = src->secret_ref != NULL ? xstrdup(src->secret_ref) :
	    NULL;
	dst->fingerprint = src->fingerprint != NULL ?
	    xstrdup(src->fingerprint) : NULL;
	dst->reason = src->reason != NULL ? xstrdup(src->reason) : NULL;
	dst->last_error = src->last_error != NULL ? xstrdup(src->last_error) :
	    NULL;
}

/* Decode a row's bytes: 0, or -1 and *cause (R cleared). */
int
sub_row_decode(const void *buf, size_t len, struct sub_row *r, char **cause)
{
	msgpack_unpacked	 u;
	const msgpack_object	*v[K_MAX];
	char			*state;
	int			 i;

	memset(r, 0, sizeof *r);
	if (unpack_buffer(buf, len, &u) != 0) {
		xasprintf(cause, "a subscription row is not msgpack");
		return (-1);
	}
	if (u.data.type != MSGPACK_OBJECT_MAP) {
		msgpack_unpacked_destroy(&u);
		xasprintf(cause, "a subscription row is not a map");
		return (-1);
	}
	unpack_index(&u.data, sub_row_keys, K_MAX, v);
	r->id = unpack_val_strdup(v[K_ID]);
	r->account = unpack_val_strdup(v[K_ACCOUNT]);
	r->all_accounts = unpack_val_int(v[K_ALL], 0) != 0;
	r->url = unpack_val_strdup(v[K_URL]);
	r->secret_ref = unpack_val_strdup(v[K_SECRET]);
	r->fingerprint = unpack_val_strdup(v[K_FP]);
	r->batch = unpack_val_int(v[K_BATCH], 1);
	state = unpack_val_strdup(v[K_STATE]);
	r->state = SUB_STATE_MAX;
	for (i = 0; state != NULL && i < SUB_STATE_MAX; i++) {
		if (strcmp(state, sub_state_names[i]) == 0)
			r->state = i;
	}
	free(state);
	r->reason = unpack_val_strdup(v[K_REASON]);
	r->cursor = (uint64_t)unpack_val_int(v[K_CURSOR], 0);
	r->created_us = unpack_val_int(v[K_CREATED], 0);
	r->updated_us = unpack_val_int(v[K_UPDATED], 0);
	r->delivered = (uint64_t)unpack_val_int(v[K_DELIVERED], 0);
	r->deliveries = (uint64_t)unpack_val_int(v[K_DELIVERIES], 0);
	r->failed = (uint64_t)unpack_val_int(v[K_FAILED], 0);
	r->attempts = (uint64_t)unpack_val_int(v[K_ATTEMPTS], 0);
	r->failing_since_us = unpack_val_int(v[K_FAILING], 0);
	r->retry_at_us = unpack_val_int(v[K_RETRY], 0);
	r->next_attempt = unpack_val_int(v[K_NEXT], 1);
	r->pending_first = (uint64_t)unpack_val_int(v[K_PFIRST], 0);
	r->pending_last = (uint64_t)unpack_val_int(v[K_PLAST], 0);
	r->last_ok_us = unpack_val_int(v[K_LASTOK], 0);
	r->last_status = unpack_val_int(v[K_LSTATUS], 0);
	r->last_error = unpack_val_strdup(v[K_LERROR]);
	i = sub_kinds_decode(v[K_KINDS], &r->kinds, &r->nkinds);
	msgpack_unpacked_destroy(&u);
	if (i != 0 || r->id == NULL || r->account == NULL || r->url == NULL ||
	    r->secret_ref == NULL || r->state == SUB_STATE_MAX ||
	    r->batch < 1 || r->batch > SUB_MAX_BATCH) {
		xasprintf(cause, "subscription row %s: a key is missing or "
		    "bad", r->id != NULL ? r->id : "?");
		sub_row_clear(r);
		return (-1);
	}
	if (r->kinds == NULL)
		r->kinds = xcalloc(1, sizeof *r->kinds);
	return (0);
}

static void
sub_row_entries(msgpack_packer *pk, const void *arg)
{
	const struct sub_row	*r = arg;
	size_t			 i;

	pack_kint(pk, "format", 1);
	pack_kstr(pk, "id", r->id);
	pack_kstr(pk, "account", r->account);
	pack_kbool(pk, "all_accounts", r->all_accounts);
	pack_kstr(pk, "url", r->url);
	pack_str(pk, "kinds");
	msgpack_pack_array(pk, r->nkinds);
	for (i = 0; i < r->nkinds; i++)
		pack_str(pk, r->kinds[i]);
	pack_kstr(pk, "secret_ref", r->secret_ref);
	pack_kstr(pk, "fingerprint", r->fingerprint);
	pack_kint(pk, "batch", r->batch);
	pack_kstr(pk, "state", sub_state_name(r->state));
	pack_kstr(pk, "reason", r->reason);
	pack_kint(pk, "cursor", (int64_t)r->cursor);
	pack_kint(pk, "created_us", r->created_us);
	pack_kint(pk, "updated_us", r->updated_us);
	pack_kint(pk, "delivered", (int64_t)r->delivered);
	pack_kint(pk, "deliveries", (int64_t)r->deliveries);
	pack_kint(pk, "failed", (int64_t)r->failed);
	pack_kint(pk, "attempts", (int64_t)r->attempts);
	pack_kint(pk, "failing_since_us", r->failing_since_us);
	pack_kint(pk, "retry_at_us", r->retry_at_us);
	pack_kint(pk, "next_attempt", r->next_attempt);
	pack_kint(pk, "pending_first", (int64_t)r->pending_first);
	pack_kint(pk, "pending_last", (int64_t)r->pending_last);
	pack_kint(pk, "last_ok_us", r->last_ok_us);
	pack_kint(pk, "last_status", r->last_status);
	pack_kstr(pk, "last_error", r->last_error);
}

/* Pack R as its table row (a map with a "format" key). */
void
sub_row_pack(msgpack_packer *pk, const struct sub_row *r)
{
	pack_map_counted(pk, sub_row_entries, r);
}

/* The key of attempt row SERIAL of subscription ID: "ID/" and 20 digits,
 * so that a subscription's rows sort by serial. */
void
subscription_attempt_key(const char *id, uint64_t serial, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s/%020" PRIu64, id, serial);
}

/* The configuration in BODY (created, updated) into R: 0, or -1. */
static int
sub_apply_config(struct sub_row *r, const msgpack_object *body, int created,
    char **cause)
{
	char	**kinds;
	size_t	  n;

	if (sub_kinds_decode(unpack_get(body, "kinds"), &kinds, &n) != 0) {
		xasprintf(cause, "kinds is not an array of strings");
		return (-1);
	}
	sub_kinds_free(r->kinds, r->nkinds);
	r->kinds = kinds != NULL ? kinds : xcalloc(1, sizeof *r->kinds);
	r->nkinds = n;
	free(r->url);
	r->url = unpack_strdup(body, "url");
	free(r->secret_ref);
	r->secret_ref = unpack_strdup(body, "secret_ref");
	free(r->fingerprint);
	r->fingerprint = unpack_strdup(body, "fingerprint");
	r->batch = unpack_int(body, "batch", 1);
	if (created) {
		r->all_accounts = unpack_int(body, "all_accounts", 0) != 0;
		r->cursor = (uint64_t)unpack_int(body, "cursor", 0);
	}
	if (r->url == NULL || r->secret_ref == NULL || r->batch < 1 ||
	    r->batch > SUB_MAX_BATCH) {
		xasprintf(cause, "url, secret_ref or batch missing or bad");
		return (-1);
	}
	return (0);
}

/* The attempt row of an attempt record (BODY), as serial SERIAL. */
static void
sub_attempt_pack(struct sub_changes *c, const char *outcome,
    const msgpack_object *body, int64_t at)
{
	struct pack_buffer	 pb;
	char			*wid, *error;
	const struct pack_pair	 v[] = {
		PACK_PAIR_INT("serial", (int64_t)c->attempt),
		PACK_PAIR_INT("at_us", at),
		PACK_PAIR_STR("outcome", outcome),
		PACK_PAIR_STR("webhook_id", wid = unpack_strdup(body,
		    "webhook_id")),
		PACK_PAIR_INT("first_seq", unpack_int(body, "first_seq", 0)),
		PACK_PAIR_INT("last_seq", unpack_int(body, "last_seq", 0)),
		PACK_PAIR_INT("events", unpack_int(body, "events", 0)),
		PACK_PAIR_INT("attempt", unpack_int(body, "attempt", 0)),
		PACK_PAIR_INT("status", unpack_int(body, "status", 0)),
		PACK_PAIR_INT("latency_ms", unpack_int(body, "latency_ms", 0)),
		PACK_PAIR_STR("error", error = unpack_strdup(body, "error")),
	};

	pack_buffer_init(&pb);
	PACK_MAP(&pb.pk, v);
	c->attempt_bytes = xmalloc(pb.sbuf.size);
	memcpy(c->attempt_bytes, pb.sbuf.data, pb.sbuf.size);
	c->attempt_len = pb.sbuf.size;
	pack_buffer_clear(&pb);
	free(wid);
	free(error);
}

/*
 * An attempt record (delivered, failed, disabled, tested) on C's row: the
 * counters, the cursor, the failing state, and one attempt row (the
 * oldest beyond SUB_ATTEMPTS_KEPT deleted).  0, or -1 and *cause.
 */
static int
sub_apply_attempt(struct sub_changes *c, const char *verb,
    const msgpack_object *body, int64_t at, char **cause)
{
	struct sub_row	*r = &c->row;
	const char	*outcome = verb;
	char		*reason;
	uint64_t	 first, last;
	int64_t		 status = unpack_int(body, "status", 0);

	first = (uint64_t)unpack_int(body, "first_seq", 0);
	last = (uint64_t)unpack_int(body, "last_seq", 0);
	if (strcmp(verb, "delivered") == 0) {
		if (last < r->cursor || first > last) {
			xasprintf(cause, "delivered seq %" PRIu64 "..%" PRIu64
			    " is before the cursor %" PRIu64, first, last,
			    r->cursor);
			return (-1);
		}
		r->cursor = last;
		r->delivered += (uint64_t)unpack_int(body, "events", 0);
		r->deliveries++;
		r->failing_since_us = r->retry_at_us = 0;
		r->next_attempt = 1;
		r->pending_first = r->pending_last = 0;
		r->last_ok_us = at;
		r->last_status = status;
		free(r->last_error);
		r->last_error = NULL;
	} else if (strcmp(verb, "failed") == 0 ||
	    strcmp(verb, "disabled") == 0) {
		r->failed++;
		if (r->failing_since_us == 0)
			r->failing_since_us = at;
		r->next_attempt = unpack_int(body, "attempt", 0) + 1;
		r->pending_first = first;
		r->pending_last = last;
		r->last_status = status;
		free(r->last_error);
		r->last_error = unpack_strdup(body, "error");
		r->retry_at_us = unpack_int(body, "retry_at_us", 0);
		if (strcmp(verb, "disabled") == 0) {
			if ((reason = unpack_strdup(body, "reason")) == NULL) {
				xasprintf(cause, "disabled without a reason");
				return (-1);
			}
			free(r->reason);
			r->reason = reason;
			r->state = SUB_DISABLED;
			r->retry_at_us = 0;
			outcome = reason;
		}
	} else
		outcome = "test";
	r->attempts++;
	c->attempt = r->attempts;
	if (r->attempts > SUB_ATTEMPTS_KEPT)
		c->del_from = c->del_to = r->attempts - SUB_ATTEMPTS_KEPT;
	sub_attempt_pack(c, outcome, body, at);
	return (0);
}

/*
 * The table changes of REC, a subscription.* record, given the
 * subscription's row before it (OLD, OLDLEN: its bytes in the
 * "subscriptions" table, or NULL).  Pure: the same record and row give
 * the same changes, so `chime-journal replay` rebuilds the tables by
 * calling this for each subscription.* record in seq order with the row
 * it has rebuilt so far, and applying OUT (subscription_changes_foreach).
 * 0 and *OUT (clear it with subscription_changes_clear), or -1 and *cause
 * (a record of another kind, a body that lacks what its kind needs, a row
 * that exists for "created" or is missing for the others).
 */
int
subscription_apply(const struct record *rec, const void *old, size_t oldlen,
    struct sub_changes *out, char **cause)
{
	return (subscription_apply_body(rec->kind, &rec->body, old, oldlen,
	    out, cause));
}

/*
 * As subscription_apply, for a record of KIND and BODY (the daemon
 * computes a record's changes before it is written).  The owner account
 * of a new subscription is in the body ("account").
 */
int
subscription_apply_body(const char *kind, const msgpack_object *body,
    const void *old, size_t oldlen, struct sub_changes *out, char **cause)
{
	struct sub_row		*r = &out->row;
	struct pack_buffer	 pb;
	const char		*verb;
	char			*id;
	int64_t			 at;

	memset(out, 0, sizeof *out);
	if (strncmp(kind, "subscription.", 13) != 0) {
		xasprintf(cause, "%s is not a subscription record", kind);
		return (-1);
	}
	verb = kind + 13;
	id = unpack_strdup(body, "subscription");
	at = unpack_int(body, "at_us", 0);
	if (id == NULL || strlen(id) >= sizeof out->id || at <= 0) {
		free(id);
		xasprintf(cause, "%s: no subscription or at_us", kind);
		return (-1);
	}
	snprintf(out->id, sizeof out->id, "%s", id);
	free(id);
	if (strcmp(verb, "created") == 0) {
		if (old != NULL) {
			xasprintf(cause, "%s: subscription %s exists", kind,
			    out->id);
			return (-1);
		}
		r->id = xstrdup(out->id);
		if ((r->account = unpack_strdup(body, "account")) == NULL) {
			xasprintf(cause, "%s: no account", kind);
			goto fail;
		}
		r->state = SUB_ACTIVE;
		r->created_us = at;
		r->next_attempt = 1;
		if (sub_apply_config(r, body, 1, cause) != 0)
			goto fail;
	} else {
		if (old == NULL) {
			xasprintf(cause, "%s: no subscription %s", kind,
			    out->id);
			return (-1);
		}
		if (sub_row_decode(old, oldlen, r, cause) != 0)
			return (-1);
		if (strcmp(r->id, out->id) != 0) {
			xasprintf(cause, "%s: the row is of %s", kind, r->id);
			goto fail;
		}
	}
	if (strcmp(verb, "created") == 0)
		;
	else if (strcmp(verb, "updated") == 0) {
		if (sub_apply_config(r, body, 0, cause) != 0)
			goto fail;
	} else if (strcmp(verb, "paused") == 0)
		r->state = SUB_PAUSED;
	else if (strcmp(verb, "resumed") == 0) {
		r->state = SUB_ACTIVE;
		free(r->reason);
		r->reason = NULL;
		r->failing_since_us = r->retry_at_us = 0;
		r->next_attempt = 1;
		r->pending_first = r->pending_last = 0;
	} else if (strcmp(verb, "deleted") == 0) {
		out->row_deleted = 1;
		if (r->attempts > 0) {
			out->del_to = r->attempts;
			out->del_from = r->attempts > SUB_ATTEMPTS_KEPT ?
			    r->attempts - SUB_ATTEMPTS_KEPT + 1 : 1;
		}
		sub_row_clear(r);
		return (0);
	} else if (strcmp(verb, "delivered") == 0 ||
	    strcmp(verb, "failed") == 0 || strcmp(verb, "disabled") == 0 ||
	    strcmp(verb, "tested") == 0) {
		if (sub_apply_attempt(out, verb, body, at, cause) != 0)
			goto fail;
	} else {
		xasprintf(cause, "%s: unknown subscription record", kind);
		goto fail;
	}
	if (strcmp(verb, "delivered") != 0 && strcmp(verb, "failed") != 0 &&
	    strcmp(verb, "tested") != 0)
		r->updated_us = at;
	pack_buffer_init(&pb);
	sub_row_pack(&pb.pk, r);
	out->row_bytes = xmalloc(pb.sbuf.size);
	memcpy(out->row_bytes, pb.sbuf.data, pb.sbuf.size);
	out->row_len = pb.sbuf.size;
	pack_buffer_clear(&pb);
	return (0);
fail:
	subscription_changes_clear(out);
	return (-1);
}

/* Call PUT and DEL (ARG first) for each table change of C, in order. */
void
subscription_changes_foreach(const struct sub_changes *c,
    void (*put)(void *, const char *, const void *, size_t, const void *,
    size_t), void (*del)(void *, const char *, const void *, size_t),
    void *arg)
{
	char		key[128];
	uint64_t	n;

	if (c->row_deleted)
		del(arg, SUB_TABLE, c->id, strlen(c->id));
	else
		put(arg, SUB_TABLE, c->id, strlen(c->id), c->row_bytes,
		    c->row_len);
	for (n = c->del_from; n != 0 && n <= c->del_to; n++) {
		subscription_attempt_key(c->id, n, key, sizeof key);
		del(arg, SUB_ATTEMPTS_TABLE, key, strlen(key));
	}
	if (c->attempt != 0) {
		subscription_attempt_key(c->id, c->attempt, key, sizeof key);
		put(arg, SUB_ATTEMPTS_TABLE, key, strlen(key),
		    c->attempt_bytes, c->attempt_len);
	}
}

void
subscription_changes_clear(struct sub_changes *c)
{
	sub_row_clear(&c->row);
	free(c->row_bytes);
	free(c->attempt_bytes);
	memset(c, 0, sizeof *c);
}

/* A kind, or a prefix before ".*": [a-z0-9_-] words joined by dots. */
static int
sub_kind_valid(const char *k, size_t len)
{
	size_t	i;

	if (len == 0 || len > JOURNAL_MAX_STR || k[0] == '.' ||
	    k[len - 1] == '.')
		return (0);
	for (i = 0; i < len; i++) {
		if (!islower((unsigned char)k[i]) &&
		    !isdigit((unsigned char)k[i]) && k[i] != '_' &&
		    k[i] != '-' && k[i] != '.')
			return (0);
		if (k[i] == '.' && k[i + 1] == '.')
			return (0);
	}
	return (1);
}

/*
 * A kinds filter: entries separated by commas (spaces around them
 * ignored), each an exact kind ("run.finished"), a prefix ending ".*"
 * ("run.*": every kind beginning "run."), or "*" (every kind); at most
 * SUB_MAX_KINDS.  "*" alone is the same as no filter: *N is then 0.
 * 0 with an allocated NULL-ended array, or -1 and *cause.
 */
int
subscription_kinds_parse(const char *text, char ***kinds, size_t *n,
    char **cause)
{
	const char	*p = text, *e;
	size_t		 len, k;
	int		 all = 0;

	*kinds = xcalloc(SUB_MAX_KINDS + 1, sizeof **kinds);
	*n = 0;
	for (;;) {
		while (*p == ' ')
			p++;
		e = p + strcspn(p, ",");
		len = (size_t)(e - p);
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len == 1 && p[0] == '*')
			all = 1;
		else if (len == 0 || !sub_kind_valid(p, len > 2 &&
		    p[len - 1] == '*' && p[len - 2] == '.' ? len - 2 : len)) {
			xasprintf(cause, "\"%.*s\" is not a kind, a prefix "
			    "ending \".*\" or \"*\"", (int)(len > 64 ? 64 :
			    len), p);
			goto fail;
		} else if (strncmp(p, "subscription.", 13) == 0 ||
		    (len == 14 && strncmp(p, "subscription.*", 14) == 0)) {
			xasprintf(cause, "subscription.* records are never "
			    "delivered to subscriptions");
			goto fail;
		} else {
			if (*n == SUB_MAX_KINDS) {
				xasprintf(cause, "at most %d kinds",
				    SUB_MAX_KINDS);
				goto fail;
			}
			(*kinds)[(*n)++] = xstrndup(p, len);
		}
		if (*e == '\0')
			break;
		p = e + 1;
	}
	if (all) {
		for (k = 0; k < *n; k++)
			free((*kinds)[k]);
		(*kinds)[0] = NULL;
		*n = 0;
	}
	return (0);
fail:
	sub_kinds_free(*kinds, *n);
	*kinds = NULL;
	*n = 0;
	return (-1);
}

/* Does KIND pass the filter KINDS (N entries; none: every kind)? */
int
subscription_kind_match(char *const *kinds, size_t n, const char *kind)
{
	size_t	i, len;

	if (n == 0)
		return (1);
	for (i = 0; i < n; i++) {
		len = strlen(kinds[i]);
		if (len >= 2 && kinds[i][len - 1] == '*') {
			if (strncmp(kind, kinds[i], len - 1) == 0)
				return (1);
		} else if (strcmp(kind, kinds[i]) == 0)
			return (1);
	}
	return (0);
}

/*
 * Is a record of KIND and ACCOUNT (NULL: a daemon-level record) sent to
 * the subscription R?  Never a subscription.* record (a delivery's own
 * records would make deliveries of their own); a subscription of one
 * account gets its account's records only, an all-accounts one every
 * record; then the kinds filter.
 */
int
subscription_delivers(const struct sub_row *r, const char *kind,
    const char *account)
{
	if (strncmp(kind, "subscription.", 13) == 0)
		return (0);
	if (!r->all_accounts && (account == NULL ||
	    strcmp(account, r->account) != 0))
		return (0);
	return (subscription_kind_match(r->kinds, r->nkinds, kind));
}

/*
 * The delay after failed attempt N (1: the first) in microseconds: 5 s,
 * 5 min, 30 min, 2 h, 5 h, 10 h, then 10 h each time, divided by SCALE
 * (1: real time; larger for tests), with RND giving a jitter of
 * +-SUB_JITTER_PCT %.
 */
int64_t
subscription_retry_delay(int64_t n, uint64_t rnd, int64_t scale)
{
	int64_t	base, jitter;

	if (n < 1)
		n = 1;
	if (scale < 1)
		scale = 1;
	base = sub_retry_s[n < SUB_RETRY_STEPS ? n : SUB_RETRY_STEPS - 1] *
	    USEC_PER_SEC / scale;
	jitter = base * SUB_JITTER_PCT / 100;
	if (jitter <= 0)
		return (base);
	return (base - jitter + (int64_t)(rnd % (uint64_t)(2 * jitter + 1)));
}

/* The wait before the next attempt: DELAY_US, or longer if the receiver
 * asked (RETRY_AFTER_MS, -1: not asked), at most SUB_RETRY_AFTER_MAX_US. */
int64_t
subscription_next_delay(int64_t delay_us, int64_t retry_after_ms)
{
	int64_t	ra;

	if (retry_after_ms < 0)
		return (delay_us);
	ra = retry_after_ms > SUB_RETRY_AFTER_MAX_US / USEC_PER_MSEC ?
	    SUB_RETRY_AFTER_MAX_US : retry_after_ms * USEC_PER_MSEC;
	return (ra > delay_us ? ra : delay_us);
}
