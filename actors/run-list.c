/*
 * actors/run-list.c: the runs of an account's schedules and batches
 * together, newest first (run.list), read from an index of the "runs"
 * table: RUN_INDEX_TABLE, keyed ACCOUNT "/" CREATED "/" RUNKEY (CREATED:
 * the run's created_us as 16 hex digits, RUNKEY its row's key), each
 * value {status, operation, model}, so that a filter reads no run row.
 *
 * The index is a function of the runs rows alone: the journal's writer
 * keeps it in the transaction that puts or deletes a run's row (struct
 * journal_index, run_list_index_entry, which runs on the writer thread and
 * touches nothing but its arguments); replay keeps it the same way from
 * the runs rows it folds; a journal written before it gets it once at
 * start (run_list_rebuild, "runs.indexed" records).
 *
 * A page of N walks each account's index backwards from the cursor, at
 * most N + 1 entries passing the filters, and reads N run rows: its cost
 * does not grow with the runs an account has, only with the entries a
 * filter skips.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

#define RUN_INDEX_REBUILD_ROWS	1000	/* puts per runs.indexed record */
#define RUN_LIST_CURSOR_MAX	200

/* One entry that passed the filters: its key after "ACCOUNT/", and the
 * key of its run row. */
struct run_list_hit {
	char	*suffix;	/* "CREATED/RUNKEY" */
	char	*account;
};

struct run_list_walk {
	const struct run_list_query	*q;
	const char			*account;
	size_t				 plen;	/* of "ACCOUNT/" */
	struct run_list_hit		*v;
	size_t				 n;
	size_t				 cap;
	size_t				 found;	/* of this account */
	size_t				 scanned;
};

struct run_list_accounts {
	const struct caller	*caller;
	char			**v;
	size_t			  n;
};

struct run_list_rebuild {
	struct journal	*j;
	struct jrec	*rec;
	size_t		 in_rec;
	size_t		 rows;
	size_t		 records;
};

static int	run_list_match(const struct run_list_query *, const void *,
		    size_t);
static int	run_list_row(const struct journal_row *, void *);
static int	run_list_hit_cmp(const void *, const void *);
static void	run_list_account(const struct account *, void *);
static json_t	*run_list_one(const struct run_list_hit *);
static int	run_list_rebuild_row(const struct journal_row *, void *);
static void	run_list_rebuild_flush(struct run_list_rebuild *, int);
static int	run_list_any(const struct journal_row *, void *);
static void	run_list_indexed_cb(const struct journal_result *, void *);

#define RUN_INDEX_FIELDS	5	/* the run's fields an entry reads */

/* The index as the journal's writer keeps it (journal_options.index). */
const struct journal_index run_list_index = {
	"runs", RUN_INDEX_TABLE, run_list_index_entry
};

/*
 * The index entry of run row KEY (value VAL, a run map): its key in IKEY
 * (*IKLEN bytes; IKEY holds JOURNAL_MAX_KEY + 1) and its value packed
 * into IVAL.  Returns 0, or -1 when the row is not a run's.  Pure: the
 * writer thread calls it (journal_index) and so does replay.
 */
int
run_list_index_entry(const void *key, size_t klen, const void *val,
    size_t vlen, char *ikey, size_t *iklen, msgpack_sbuffer *ival)
{
	/* account, created_us, then the fields of the entry's value */
	static const struct {
		const char	*name;
		uint32_t	 len;
	} fields[RUN_INDEX_FIELDS] = {
		{ "account", 7 }, { "created_us", 10 }, { "status", 6 },
		{ "operation", 9 }, { "model", 5 }
	};
	struct unpack_cursor	 c;
	msgpack_packer		 pk;
	const char		*s, *str[RUN_INDEX_FIELDS] = { NULL };
	uint32_t		 len[RUN_INDEX_FIELDS] = { 0 }, n, i, klen2;
	int64_t			 created = -1;
	size_t			 f, alen;
	int			 seen = 0, w;

	/* read in place (the writer indexes each run row it writes) */
	unpack_cursor_init(&c, val, vlen);
	if (unpack_next_map(&c, &n) != 0)
		return (-1);
	for (i = 0; i < n && !c.err; i++) {
		if (unpack_next_str(&c, &s, &klen2) != 0) {
			unpack_next_skip(&c);	/* the key was skipped */
			continue;
		}
		for (f = 0; f < RUN_INDEX_FIELDS; f++) {
			if (fields[f].len == klen2 && fields[f].name[0] ==
			    s[0] && memcmp(fields[f].name, s, klen2) == 0)
				break;
		}
		if (f == RUN_INDEX_FIELDS || (seen & (1 << f))) {
			unpack_next_skip(&c);	/* the first one counts */
			continue;
		}
		seen |= 1 << f;
		if (f == 1)
			created = unpack_next_int(&c, -1);
		else if (unpack_next_str(&c, &str[f], &len[f]) != 0)
			str[f] = NULL;
	}
	if (c.err || c.p != c.end || str[0] == NULL || len[0] == 0 ||
	    created < 0)
		return (-1);
	/* "%.*s/%016llx/%.*s" of the account, created_us and KEY */
	alen = strnlen(str[0], len[0]);
	klen = strnlen(key, klen);
	if (alen + 18 + klen > JOURNAL_MAX_KEY)
		return (-1);
	memcpy(ikey, str[0], alen);
	w = (int)alen;
	ikey[w++] = '/';
	for (f = 0; f < 16; f++)
		ikey[w + f] = "0123456789abcdef"[((uint64_t)created >>
		    (60 - 4 * f)) & 0xf];
	w += 16;
	ikey[w++] = '/';
	memcpy(ikey + w, key, klen);
	w += (int)klen;
	ikey[w] = '\0';
	*iklen = (size_t)w;
	msgpack_packer_init(&pk, ival, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	for (f = 2; f < RUN_INDEX_FIELDS; f++) {
		pack_str(&pk, fields[f].name);
		if (str[f] != NULL) {
			msgpack_pack_str(&pk, len[f]);
			msgpack_pack_str_body(&pk, str[f], len[f]);
		} else
			msgpack_pack_nil(&pk);
	}
	return (0);
}

/* Is a cursor (a next_cursor of run.list) well formed? */
int
run_list_cursor_ok(const char *c)
{
	size_t	i, len = strlen(c);

	if (len < 19 || len > RUN_LIST_CURSOR_MAX || c[16] != '/')
		return (0);
	for (i = 0; i < 16; i++) {
		if (!((c[i] >= '0' && c[i] <= '9') ||
		    (c[i] >= 'a' && c[i] <= 'f')))
			return (0);
	}
	for (i = 17; i < len; i++) {
		if (c[i] <= ' ' || c[i] > '~' || c[i] == '/')
			return (0);
	}
	return (strchr(c + 17, ':') != NULL);
}

/* Does index value VAL pass Q's filters? */
static int
run_list_match(const struct run_list_query *q, const void *val, size_t vlen)
{
	msgpack_unpacked	 u;
	const char		*want[3] = { q->status, q->operation, q->model };
	static const char *const fields[] = { "status", "operation", "model" };
	const msgpack_object	*o;
	size_t			 i;
	int			 ok = 1;

	if (q->status == NULL && q->operation == NULL && q->model == NULL)
		return (1);
	if (unpack_buffer(val, vlen, &u) == -1)
		return (0);
	for (i = 0; i < 3 && ok; i++) {
		if (want[i] == NULL)
			continue;
		o = unpack_get(&u.data, fields[i]);
		ok = o != NULL && o->type == MSGPACK_OBJECT_STR &&
		    o->via.str.size == strlen(want[i]) &&
		    memcmp(o->via.str.ptr, want[i], o->via.str.size) == 0;
	}
	msgpack_unpacked_destroy(&u);
	return (ok);
}

/* One index entry of the account walked: kept if it passes the filters;
 * stops at limit + 1 of them. */
static int
run_list_row(const struct journal_row *row, void *arg)
{
	struct run_list_walk	*w = arg;

	w->scanned++;
	if (row->klen <= w->plen || !run_list_match(w->q, row->val, row->vlen))
		return (0);
	if (w->n == w->cap) {
		w->cap = w->cap == 0 ? 64 : w->cap * 2;
		w->v = xreallocarray(w->v, w->cap, sizeof *w->v);
	}
	w->v[w->n].suffix = xstrndup((const char *)row->key + w->plen,
	    row->klen - w->plen);
	w->v[w->n].account = xstrdup(w->account);
	w->n++;
	return (++w->found > w->q->limit);
}

/* Newest first: suffixes in descending order, then accounts. */
static int
run_list_hit_cmp(const void *a, const void *b)
{
	const struct run_list_hit	*x = a, *y = b;
	int				 c;

	if ((c = strcmp(y->suffix, x->suffix)) != 0)
		return (c);
	return (strcmp(y->account, x->account));
}

static void
run_list_account(const struct account *a, void *arg)
{
	struct run_list_accounts	*l = arg;

	if (!l->caller->admin && !account_allows(a, l->caller))
		return;
	l->v = xreallocarray(l->v, l->n + 1, sizeof *l->v);
	l->v[l->n++] = xstrdup(a->name);
}

/* The run of HIT as JSON (run_row_to_json); NULL when its row is gone. */
static json_t *
run_list_one(const struct run_list_hit *hit)
{
	msgpack_unpacked	 u;
	const char		*key = strchr(hit->suffix, '/') + 1;
	void			*val;
	size_t			 len;
	json_t			*j = NULL;

	if (journal_table_get(engine->journal, "runs", key, strlen(key), &val,
	    &len) == -1)
		return (NULL);
	if (unpack_buffer(val, len, &u) == 0) {
		j = run_row_to_json(&u.data);
		msgpack_unpacked_destroy(&u);
	}
	free(val);
	if (j == NULL)
		return (NULL);
	return (j);
}

/*
 * The runs Q asks for, newest first (by the instant each was made, then
 * run id), at most Q->limit, as run objects: a JSON array, or NULL on a read error.  When more follow, *NEXT
 * is the cursor of the last one (allocated; else NULL).  *SCANNED counts
 * the index entries read.
 */
json_t *
run_list(const struct run_list_query *q, char **next, size_t *scanned)
{
	struct run_list_accounts	 l = { q->caller, NULL, 0 };
	struct run_list_walk		 w;
	struct account			*acc;
	char				 prefix[80], start[80 +
					     RUN_LIST_CURSOR_MAX];
	json_t				*a, *one;
	size_t				 i;
	int				 rc = 0;

	*next = NULL;
	memset(&w, 0, sizeof w);
	w.q = q;
	if (q->account == NULL)
		account_foreach(run_list_account, &l);
	else if ((acc = account_find(q->account)) != NULL)
		run_list_account(acc, &l);
	for (i = 0; i < l.n && rc == 0; i++) {
		w.account = l.v[i];
		w.found = 0;
		w.plen = (size_t)snprintf(prefix, sizeof prefix, "%s/", l.v[i]);
		if (q->after != NULL) {
			snprintf(start, sizeof start, "%s%s", prefix, q->after);
			rc = journal_table_seek_back(engine->journal,
			    RUN_INDEX_TABLE, prefix, w.plen, start,
			    strlen(start), run_list_row, &w);
		} else
			rc = journal_table_foreach(engine->journal,
			    RUN_INDEX_TABLE, prefix, w.plen, 1, run_list_row,
			    &w);
	}
	if (w.n > 0)
		xqsort(w.v, w.n, sizeof *w.v, run_list_hit_cmp);
	a = rc == 0 ? json_array() : NULL;
	for (i = 0; a != NULL && i < w.n && i < q->limit; i++) {
		if ((one = run_list_one(&w.v[i])) != NULL)
			json_array_append_new(a, one);
	}
	if (a != NULL && w.n > q->limit && q->limit > 0)
		*next = xstrdup(w.v[q->limit - 1].suffix);
	for (i = 0; i < w.n; i++) {
		free(w.v[i].suffix);
		free(w.v[i].account);
	}
	free(w.v);
	for (i = 0; i < l.n; i++)
		free(l.v[i]);
	free(l.v);
	*scanned = w.scanned;
	return (a);
}

/* ---- a journal from before the index -------------------------------- */

static int
run_list_any(const struct journal_row *row, void *arg)
{
	(void)row;
	*(int *)arg = 1;
	return (1);
}

static void
run_list_indexed_cb(const struct journal_result *res, void *arg)
{
	(void)arg;
	if (res->status == JOURNAL_ERROR)
		log_warnx("msg=\"run index: a record was not written; the "
		    "next start builds the index again\" error=\"%s\"",
		    res->error != NULL ? res->error : "?");
}

/* The record being filled out to the writer (LAST: with the totals). */
static void
run_list_rebuild_flush(struct run_list_rebuild *rb, int last)
{
	msgpack_packer	*pk;

	if (rb->rec == NULL)
		return;
	pk = jrec_body(rb->rec);
	msgpack_pack_map(pk, last ? 2 : 1);
	pack_kint(pk, "rows", (int64_t)rb->in_rec);
	if (last)
		pack_kint(pk, "rows_total", (int64_t)rb->rows);
	journal_submit(rb->j, rb->rec, run_list_indexed_cb, NULL);
	rb->rec = NULL;
	rb->in_rec = 0;
	rb->records++;
}

static int
run_list_rebuild_row(const struct journal_row *row, void *arg)
{
	struct run_list_rebuild	*rb = arg;
	char			 ikey[JOURNAL_MAX_KEY + 1];
	size_t			 iklen;
	msgpack_sbuffer		 sb;

	msgpack_sbuffer_init(&sb);
	if (run_list_index_entry(row->key, row->klen, row->val, row->vlen,
	    ikey, &iklen, &sb) == 0) {
		if (rb->in_rec == RUN_INDEX_REBUILD_ROWS)
			run_list_rebuild_flush(rb, 0);
		if (rb->rec == NULL)
			rb->rec = jrec_create("runs.indexed", NULL);
		jrec_put(rb->rec, RUN_INDEX_TABLE, ikey, iklen, sb.data,
		    sb.size);
		rb->in_rec++;
		rb->rows++;
	}
	msgpack_sbuffer_destroy(&sb);
	return (0);
}

/*
 * A journal with run rows and no index (written before the index
 * existed) gets its index from the runs table, in runs.indexed records
 * of at most RUN_INDEX_REBUILD_ROWS puts, durable when this returns.
 * Call at start, before anything else writes.  Returns 0, or -1 with
 * *CAUSE.
 */
int
run_list_rebuild(struct journal *j, char **cause)
{
	struct run_list_rebuild	 rb;
	int64_t			 start = mono_us();
	int			 runs = 0, indexed = 0;

	if (journal_table_foreach(j, RUN_INDEX_TABLE, NULL, 0, 0,
	    run_list_any, &indexed) != 0 ||
	    journal_table_foreach(j, "runs", NULL, 0, 0, run_list_any,
	    &runs) != 0) {
		*cause = xstrdup("cannot read the runs tables");
		return (-1);
	}
	if (indexed || !runs)
		return (0);
	memset(&rb, 0, sizeof rb);
	rb.j = j;
	if (journal_table_foreach(j, "runs", NULL, 0, 0, run_list_rebuild_row,
	    &rb) != 0) {
		jrec_free(rb.rec);
		*cause = xstrdup("cannot read the runs table");
		return (-1);
	}
	run_list_rebuild_flush(&rb, 1);
	journal_flush(j);
	log_info("msg=\"run index built from the runs table\" rows=%zu "
	    "records=%zu ms=%lld", rb.rows, rb.records,
	    (long long)((mono_us() - start) / USEC_PER_MSEC));
	return (0);
}
