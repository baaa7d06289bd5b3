/*
 * journal/main-replay.c: chime-journal replay DATA --into DIR, part of
 * chime-journal's main (an assembly, like main.c: it may use actors/).
 *
 * In one read transaction of the live journal (a snapshot: it runs beside
 * the daemon), every record up to meta's head_seq is folded
 * (replay_fold) into a fresh LMDB environment in DIR, then every state
 * table of the snapshot is compared with the rebuilt one, row by row.
 * LMDB is used directly: the journal's own code never writes DIR.
 *
 * Exit status: 0 identical; 1 different (the first differences on
 * stdout), or the journal cannot be read or DIR written; 2 bad usage.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lmdb.h>

#include "engine.h"
#include "journal.h"
#include "actors.h"

#define REPLAY_TXN_RECORDS	4096	/* records per write transaction */
#define REPLAY_SHOWN		10	/* differences printed */
#define REPLAY_MAX_DBS		128

/* The rebuilt environment, written through struct replay_db. */
struct rebuilt {
	MDB_env		*env;
	MDB_txn		*txn;
	char		*names[REPLAY_MAX_DBS];
	MDB_dbi		 dbis[REPLAY_MAX_DBS];
	size_t		 ndbs;
	int		 error;		/* sticky */
};

/* Folding an archive's records. */
struct replay_archive {
	struct rebuilt	*rb;
	uint64_t	*n;
	int		 rc;
};

struct diff_state {
	uint64_t	 shown;
	uint64_t	 count;
	uint64_t	 rows;
};

int		 cmd_replay(int, char **);
static deadfunc void replay_usage(void);
static int	 dir_usable(const char *);
static int	 db_open(struct rebuilt *, const char *, int, MDB_dbi *);
static int	 rb_get(void *, const char *, const void *, size_t, void **,
		     size_t *);
static int	 rb_put(void *, const char *, const void *, size_t,
		     const void *, size_t);
static int	 rb_del(void *, const char *, const void *, size_t);
static int	 rb_foreach(void *, const char *, const void *, size_t,
		     int (*)(const struct journal_row *, void *), void *);
static int	 replay_entry(struct rebuilt *, const void *, size_t,
		     uint64_t *);
static int	 replay_archive_entry(const struct journal_entry *, void *);
static int	 replay_archives(char **, size_t, const char *,
		     struct rebuilt *, uint64_t *);
static int	 replay_log(MDB_txn *, struct rebuilt *, uint64_t,
		     uint64_t *);
static uint64_t	 meta_u64(MDB_txn *, MDB_dbi, const char *);
static int	 table_names(MDB_txn *, char ***, size_t *);
static void	 print_key(const MDB_val *);
static char	*value_json(const MDB_val *);
static void	 print_diff(const char *, const MDB_val *, const MDB_val *,
		     const MDB_val *, struct diff_state *);
static int	 compare_table(MDB_txn *, MDB_txn *, const char *,
		     struct diff_state *);
static int	 compare(MDB_txn *, MDB_env *, struct diff_state *,
		     size_t *);

static deadfunc void
replay_usage(void)
{
	fprintf(stderr, "usage: chime-journal replay [DATA_DIR] --into DIR "
	    "[--archive FILE]...\n");
	exit(2);
}

/* DIR is absent (created, 0700) or an empty directory: 0; else -1, said. */
static int
dir_usable(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	int		 empty = 1;

	if (mkdir(dir, 0700) == 0)
		return (0);
	if (errno != EEXIST) {
		fprintf(stderr, "chime-journal: %s: %s\n", dir,
		    strerror(errno));
		return (-1);
	}
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "chime-journal: %s: %s\n", dir,
		    strerror(errno));
		return (-1);
	}
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			empty = 0;
	}
	closedir(d);
	if (!empty) {
		fprintf(stderr, "chime-journal: %s exists and is not empty "
		    "(replay writes a fresh environment)\n", dir);
		return (-1);
	}
	return (0);
}

/* The named database NAME of the rebuilt environment (CREATE: made if
 * missing): 0, 1 if absent, -1 on an error. */
static int
db_open(struct rebuilt *rb, const char *name, int create, MDB_dbi *dbi)
{
	size_t	i;
	int	rc;

	for (i = 0; i < rb->ndbs; i++) {
		if (strcmp(rb->names[i], name) == 0) {
			*dbi = rb->dbis[i];
			return (0);
		}
	}
	rc = mdb_dbi_open(rb->txn, name, create ? MDB_CREATE : 0, dbi);
	if (rc == MDB_NOTFOUND)
		return (1);
	if (rc != 0 || rb->ndbs == REPLAY_MAX_DBS) {
		fprintf(stderr, "chime-journal: table %s: %s\n", name,
		    rc != 0 ? mdb_strerror(rc) : "too many tables");
		rb->error = 1;
		return (-1);
	}
	rb->names[rb->ndbs] = xstrdup(name);
	rb->dbis[rb->ndbs++] = *dbi;
	return (0);
}

static int
rb_get(void *arg, const char *table, const void *key, size_t klen,
    void **val, size_t *vlen)
{
	struct rebuilt	*rb = arg;
	MDB_dbi		 dbi;
	MDB_val		 k = { klen, (void *)key }, v;
	int		 rc;

	if ((rc = db_open(rb, table, 0, &dbi)) != 0)
		return (rc);
	if ((rc = mdb_get(rb->txn, dbi, &k, &v)) == MDB_NOTFOUND)
		return (1);
	if (rc != 0) {
		rb->error = 1;
		return (-1);
	}
	*val = xmalloc(v.mv_size + 1);
	memcpy(*val, v.mv_data, v.mv_size);
	((char *)*val)[v.mv_size] = '\0';
	*vlen = v.mv_size;
	return (0);
}

static int
rb_put(void *arg, const char *table, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	struct rebuilt	*rb = arg;
	MDB_dbi		 dbi;
	MDB_val		 k = { klen, (void *)key }, v = { vlen, (void *)val };
	int		 rc;

	if (db_open(rb, table, 1, &dbi) != 0)
		return (-1);
	if ((rc = mdb_put(rb->txn, dbi, &k, &v, 0)) != 0) {
		fprintf(stderr, "chime-journal: %s: %s\n", table,
		    mdb_strerror(rc));
		rb->error = 1;
		return (-1);
	}
	return (0);
}

static int
rb_del(void *arg, const char *table, const void *key, size_t klen)
{
	struct rebuilt	*rb = arg;
	MDB_dbi		 dbi;
	MDB_val		 k = { klen, (void *)key };
	int		 rc;

	if ((rc = db_open(rb, table, 0, &dbi)) != 0)
		return (rc == 1 ? 0 : -1);
	rc = mdb_del(rb->txn, dbi, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		rb->error = 1;
		return (-1);
	}
	return (0);
}

static int
rb_foreach(void *arg, const char *table, const void *prefix, size_t plen,
    int (*fn)(const struct journal_row *, void *), void *fnarg)
{
	struct rebuilt		*rb = arg;
	struct journal_row	 row;
	MDB_cursor		*c;
	MDB_dbi			 dbi;
	MDB_val			 k = { plen, (void *)prefix }, v;
	int			 rc;

	if ((rc = db_open(rb, table, 0, &dbi)) != 0)
		return (rc == 1 ? 0 : -1);
	if (mdb_cursor_open(rb->txn, dbi, &c) != 0)
		return (-1);
	rc = mdb_cursor_get(c, &k, &v, plen > 0 ? MDB_SET_RANGE : MDB_FIRST);
	while (rc == 0) {
		if (plen > 0 && (k.mv_size < plen ||
		    memcmp(k.mv_data, prefix, plen) != 0))
			break;
		row.key = k.mv_data;
		row.klen = k.mv_size;
		row.val = v.mv_data;
		row.vlen = v.mv_size;
		if (fn(&row, fnarg) != 0)
			break;
		rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
	}
	mdb_cursor_close(c);
	return (rc == 0 || rc == MDB_NOTFOUND ? 0 : -1);
}

/* Fold the record of seq N + 1 (REC, LEN bytes) into RB and count it in
 * *N: 0, or -1 said. */
static int
replay_entry(struct rebuilt *rb, const void *bytes, size_t len,
    uint64_t *n)
{
	struct replay_db	 db = { rb_get, rb_put, rb_del, rb_foreach, rb };
	struct record		 rec;
	char			*cause;

	if (record_decode(bytes, len, &rec, &cause) != 0) {
		fprintf(stderr, "chime-journal: seq %llu: record does not "
		    "decode: %s\n", (unsigned long long)*n + 1, cause);
		free(cause);
		return (-1);
	}
	if (rec.seq != *n + 1) {
		fprintf(stderr, "chime-journal: seq %llu: missing (the next "
		    "record is seq %llu)\n", (unsigned long long)*n + 1,
		    (unsigned long long)rec.seq);
		record_clear(&rec);
		return (-1);
	}
	if (rb->txn == NULL &&
	    mdb_txn_begin(rb->env, NULL, 0, &rb->txn) != 0)
		fatalx("cannot begin a write transaction");
	if (replay_fold(&db, &rec, &cause) != 0) {
		fprintf(stderr, "chime-journal: seq %llu (%s): cannot replay: "
		    "%s\n", (unsigned long long)rec.seq, rec.kind, cause);
		free(cause);
		record_clear(&rec);
		return (-1);
	}
	record_clear(&rec);
	if (++*n % REPLAY_TXN_RECORDS == 0) {
		if (mdb_txn_commit(rb->txn) != 0)
			rb->error = 1;
		/* a committed transaction's table handles stay open in the
		 * environment for the next one */
		rb->txn = NULL;
	}
	return (rb->error ? -1 : 0);
}

/* One record of an archive (struct replay_archive). */
static int
replay_archive_entry(const struct journal_entry *e, void *arg)
{
	struct replay_archive	*ra = arg;

	if ((ra->rc = replay_entry(ra->rb, e->rec, e->len, ra->n)) != 0)
		return (1);
	return (0);
}

/* Fold the archives, in order, into RB: 0, or -1 said. */
static int
replay_archives(char **archives, size_t narchives, const char *journal_id,
    struct rebuilt *rb, uint64_t *n)
{
	struct replay_archive	 ra = { rb, n, 0 };
	struct archive_head	 h;
	struct archive_tail	 t;
	size_t			 i;
	char			*cause;
	int			 rc;

	for (i = 0; i < narchives; i++) {
		rc = archive_read(archives[i], &h, replay_archive_entry, &ra,
		    &t, &cause);
		if (rc == -1) {
			fprintf(stderr, "chime-journal: %s\n", cause);
			free(cause);
			return (-1);
		}
		if (ra.rc != 0)
			return (-1);
		if (strcmp(h.journal_id, journal_id) != 0) {
			fprintf(stderr, "chime-journal: %s is an archive of "
			    "journal %s, not of this one (%s)\n", archives[i],
			    h.journal_id, journal_id);
			return (-1);
		}
	}
	return (0);
}

/* Fold the log of the snapshot TXN, after the records folded (*N) up to
 * HEAD, into RB: 0, or -1 said. */
static int
replay_log(MDB_txn *txn, struct rebuilt *rb, uint64_t head, uint64_t *n)
{
	MDB_dbi			 log;
	MDB_cursor		*c;
	MDB_val			 k, v;
	uint8_t			 key[8];
	int			 rc;

	if ((rc = mdb_dbi_open(txn, "log", 0, &log)) != 0) {
		if (rc == MDB_NOTFOUND)
			return (0);
		fprintf(stderr, "chime-journal: log: %s\n", mdb_strerror(rc));
		return (-1);
	}
	if (mdb_cursor_open(txn, log, &c) != 0)
		return (-1);
	store_be64(*n + 1, key);
	k.mv_data = key;
	k.mv_size = 8;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (*n >= head)
			break;
		if (v.mv_size <= JOURNAL_HASH_LEN || replay_entry(rb,
		    (char *)v.mv_data + JOURNAL_HASH_LEN, v.mv_size -
		    JOURNAL_HASH_LEN, n) != 0) {
			if (v.mv_size <= JOURNAL_HASH_LEN)
				fprintf(stderr, "chime-journal: seq %llu: "
				    "value shorter than a hash\n",
				    (unsigned long long)*n + 1);
			mdb_cursor_close(c);
			return (-1);
		}
	}
	mdb_cursor_close(c);
	return (0);
}

/* The names of the state tables of TXN's environment (every named
 * database but log, dedup and meta), sorted: allocated. */
static int
table_names(MDB_txn *txn, char ***names, size_t *n)
{
	MDB_dbi		 main;
	MDB_cursor	*c;
	MDB_val		 k, v;
	int		 rc;

	*names = NULL;
	*n = 0;
	if (mdb_dbi_open(txn, NULL, 0, &main) != 0 ||
	    mdb_cursor_open(txn, main, &c) != 0)
		return (-1);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		char	*name = xstrndup(k.mv_data, k.mv_size);

		if (strcmp(name, "log") == 0 || strcmp(name, "dedup") == 0 ||
		    strcmp(name, "meta") == 0) {
			free(name);
			continue;
		}
		*names = xreallocarray(*names, *n + 1, sizeof **names);
		(*names)[(*n)++] = name;
	}
	mdb_cursor_close(c);
	return (0);
}

/* A key as text when printable, else as hex. */
static void
print_key(const MDB_val *k)
{
	const unsigned char	*p = k->mv_data;
	size_t			 i;

	for (i = 0; i < k->mv_size; i++) {
		if (p[i] < 0x20 || p[i] >= 0x7f)
			break;
	}
	if (i == k->mv_size) {
		printf("%.*s", (int)k->mv_size, (const char *)p);
		return;
	}
	printf("0x");
	for (i = 0; i < k->mv_size; i++)
		printf("%02x", p[i]);
}

/* A value as compact JSON (msgpack decoded), or quoted text when it is
 * not msgpack (the run id of an "idem" row, the empty "active" rows).
 * Allocated. */
static char *
value_json(const MDB_val *v)
{
	msgpack_unpacked	 u;
	json_t			*j;
	char			*s;

	if (v == NULL)
		return (xstrdup("(absent)"));
	if (v->mv_size > 0 && unpack_buffer(v->mv_data, v->mv_size, &u) == 0) {
		j = record_object_to_json(&u.data);
		msgpack_unpacked_destroy(&u);
	} else
		j = json_stringn(v->mv_data, v->mv_size);
	if (j == NULL)
		j = json_string("(not text)");
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY);
	json_decref(j);
	return (s != NULL ? s : xstrdup("?"));
}

/* One difference of TABLE at key K: LIVE or REBUILT may be NULL. */
static void
print_diff(const char *table, const MDB_val *k, const MDB_val *live,
    const MDB_val *rebuilt, struct diff_state *d)
{
	json_t		*a = NULL, *b = NULL, *v;
	const char	*field;
	char		*sa, *sb, *fa, *fb;

	if (++d->count > REPLAY_SHOWN)
		return;
	printf("differs: table %s, key ", table);
	print_key(k);
	printf("\n");
	sa = value_json(live);
	sb = value_json(rebuilt);
	if (live != NULL && rebuilt != NULL) {
		a = json_loads(sa, JSON_DECODE_ANY, NULL);
		b = json_loads(sb, JSON_DECODE_ANY, NULL);
	}
	if (json_is_object(a) && json_is_object(b)) {
		/* the fields that differ, one per line */
		json_object_foreach(a, field, v) {
			if (json_equal(v, json_object_get(b, field)))
				continue;
			fa = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			fb = json_object_get(b, field) != NULL ?
			    json_dumps(json_object_get(b, field),
			    JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
			printf("  %s: live %s, replay %s\n", field, fa,
			    fb != NULL ? fb : "(absent)");
			free(fa);
			free(fb);
		}
		json_object_foreach(b, field, v) {
			if (json_object_get(a, field) == NULL) {
				fb = json_dumps(v, JSON_COMPACT |
				    JSON_ENCODE_ANY);
				printf("  %s: live (absent), replay %s\n",
				    field, fb);
				free(fb);
			}
		}
		if (json_equal(a, b))
			printf("  same JSON, different bytes (encoding)\n");
	}
	printf("  live:   %s\n  replay: %s\n", sa, sb);
	json_decref(a);
	json_decref(b);
	free(sa);
	free(sb);
}

/* Compare TABLE of the snapshot LIVE with the rebuilt R, row by row. */
static int
compare_table(MDB_txn *live, MDB_txn *r, const char *table,
    struct diff_state *d)
{
	MDB_dbi		 da, db;
	MDB_cursor	*ca = NULL, *cb = NULL;
	MDB_val		 ka, va, kb, vb;
	int		 ra = MDB_NOTFOUND, rb = MDB_NOTFOUND, c;

	if (mdb_dbi_open(live, table, 0, &da) == 0 &&
	    mdb_cursor_open(live, da, &ca) == 0)
		ra = mdb_cursor_get(ca, &ka, &va, MDB_FIRST);
	if (mdb_dbi_open(r, table, 0, &db) == 0 &&
	    mdb_cursor_open(r, db, &cb) == 0)
		rb = mdb_cursor_get(cb, &kb, &vb, MDB_FIRST);
	while (ra == 0 || rb == 0) {
		if (ra == 0 && rb == 0) {
			c = memcmp(ka.mv_data, kb.mv_data, ka.mv_size <
			    kb.mv_size ? ka.mv_size : kb.mv_size);
			if (c == 0)
				c = ka.mv_size < kb.mv_size ? -1 :
				    ka.mv_size > kb.mv_size;
		} else
			c = ra == 0 ? -1 : 1;
		if (c == 0) {
			d->rows++;
			if (va.mv_size != vb.mv_size || memcmp(va.mv_data,
			    vb.mv_data, va.mv_size) != 0)
				print_diff(table, &ka, &va, &vb, d);
			ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
			rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
		} else if (c < 0) {
			d->rows++;
			print_diff(table, &ka, &va, NULL, d);
			ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
		} else {
			print_diff(table, &kb, NULL, &vb, d);
			rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
		}
	}
	if (ca != NULL)
		mdb_cursor_close(ca);
	if (cb != NULL)
		mdb_cursor_close(cb);
	return (0);
}

/* Compare every state table of the snapshot LIVE with those of ENV. */
static int
compare(MDB_txn *live, MDB_env *env, struct diff_state *d, size_t *ntables)
{
	MDB_txn	 *r;
	char	**a, **b;
	size_t	  na, nb, i, j;

	if (mdb_txn_begin(env, NULL, MDB_RDONLY, &r) != 0)
		return (-1);
	if (table_names(live, &a, &na) != 0 || table_names(r, &b, &nb) != 0) {
		mdb_txn_abort(r);
		return (-1);
	}
	for (i = 0; i < na; i++)
		compare_table(live, r, a[i], d);
	/* tables only the rebuild has */
	for (j = 0; j < nb; j++) {
		for (i = 0; i < na && strcmp(a[i], b[j]) != 0; i++)
			;
		if (i == na)
			compare_table(live, r, b[j], d);
	}
	*ntables = na;
	for (i = 0; i < na; i++)
		free(a[i]);
	for (j = 0; j < nb; j++)
		free(b[j]);
	free(a);
	free(b);
	mdb_txn_abort(r);
	return (0);
}

int
cmd_replay(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "into", required_argument, NULL, 'i' },
		{ "archive", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	char				**archives = NULL;
	char				 journal_id[33] = "";
	size_t				 narchives = 0;
	uint64_t			 anchor = 0;
	struct rebuilt			 rb;
	struct diff_state		 d;
	struct stat			 sb;
	MDB_env				*live;
	MDB_txn				*txn;
	MDB_dbi				 meta;
	MDB_val				 k, v;
	const char			*into = NULL, *data;
	char				*dir, *path;
	uint64_t			 head = 0, n = 0;
	int64_t				 t0, t1;
	size_t				 i, ntables = 0, map;
	int				 ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'i':
			into = optarg;
			break;
		case 'a':
			archives = xreallocarray(archives, narchives + 1,
			    sizeof *archives);
			archives[narchives++] = optarg;
			break;
		default:
			replay_usage();
		}
	}
	if (into == NULL || *into == '\0' || argc - optind > 1)
		replay_usage();
	data = jcli_data(argc - optind, argv + optind);
	dir = jcli_path(data, "journal");
	xasprintf(&path, "%s/data.mdb", dir);
	if (stat(path, &sb) != 0) {
		fprintf(stderr, "chime-journal: %s: %s\n", path,
		    strerror(errno));
		exit(1);
	}
	free(path);
	if (dir_usable(into) != 0)
		exit(2);

	/* The live journal, read-only: one snapshot for log and tables. */
	if (mdb_env_create(&live) != 0 || mdb_env_set_maxdbs(live,
	    REPLAY_MAX_DBS) != 0 || mdb_env_open(live, dir, MDB_RDONLY,
	    0600) != 0)
		rc = -1;
	else if ((rc = mdb_txn_begin(live, NULL, MDB_RDONLY, &txn)) ==
	    MDB_MAP_RESIZED && mdb_env_set_mapsize(live, 0) == 0)
		rc = mdb_txn_begin(live, NULL, MDB_RDONLY, &txn);
	if (rc != 0) {
		fprintf(stderr, "chime-journal: %s: cannot open the journal\n",
		    dir);
		exit(1);
	}
	if (mdb_dbi_open(txn, "meta", 0, &meta) == 0) {
		head = meta_u64(txn, meta, "head_seq");
		anchor = meta_u64(txn, meta, "anchor_seq");
		k.mv_data = "journal_id";
		k.mv_size = 10;
		if (mdb_get(txn, meta, &k, &v) == 0 && v.mv_size == 32)
			memcpy(journal_id, v.mv_data, 32);
	}
	if (anchor == 0 && narchives > 0) {
		fprintf(stderr, "chime-journal: the journal was not pruned: its "
		    "log holds every record (replay without --archive)\n");
		exit(1);
	}

	/* The fresh environment: a scratch copy, synced once at the end. */
	memset(&rb, 0, sizeof rb);
	map = (size_t)sb.st_size * 2 + ((size_t)1 << 30);
	if (mdb_env_create(&rb.env) != 0 || mdb_env_set_maxdbs(rb.env,
	    REPLAY_MAX_DBS) != 0 || mdb_env_set_mapsize(rb.env, map) != 0 ||
	    (rc = mdb_env_open(rb.env, into, MDB_NOSYNC, 0600)) != 0) {
		fprintf(stderr, "chime-journal: %s: cannot create an LMDB "
		    "environment\n", into);
		exit(1);
	}
	t0 = mono_us();
	rc = replay_archives(archives, narchives, journal_id, &rb, &n);
	if (rc == 0 && n != anchor) {
		fprintf(stderr, "chime-journal: the journal's records 1..%llu "
		    "are archived and the archives given end at seq %llu: "
		    "replay needs every record from seq 1 (--archive "
		    "FILE..., in order)\n", (unsigned long long)anchor,
		    (unsigned long long)n);
		rc = -1;
	}
	if (rc == 0)
		rc = replay_log(txn, &rb, head, &n);
	if (rb.txn != NULL && (rc != 0 || mdb_txn_commit(rb.txn) != 0))
		rc = -1;
	for (i = 0; i < rb.ndbs; i++)
		free(rb.names[i]);
	t1 = mono_us();
	if (rc != 0 || mdb_env_sync(rb.env, 1) != 0) {
		fprintf(stderr, "chime-journal: replay stopped\n");
		exit(1);
	}
	memset(&d, 0, sizeof d);
	if (compare(txn, rb.env, &d, &ntables) != 0) {
		fprintf(stderr, "chime-journal: cannot compare the tables\n");
		exit(1);
	}
	mdb_txn_abort(txn);
	mdb_env_close(live);
	mdb_env_close(rb.env);
	if (d.count > REPLAY_SHOWN)
		printf("... %llu differences in all\n",
		    (unsigned long long)d.count);
	printf("%s: %llu records (seq 1..%llu) replayed in %.3f s "
	    "(%.0f records/s); %zu tables, %llu rows, %llu differences\n",
	    d.count == 0 ? "identical" : "different",
	    (unsigned long long)n, (unsigned long long)head,
	    (double)(t1 - t0) / 1e6, t1 > t0 ? (double)n * 1e6 /
	    (double)(t1 - t0) : 0.0, ntables, (unsigned long long)d.rows,
	    (unsigned long long)d.count);
	free(dir);
	free(archives);
	return (d.count == 0 ? 0 : 1);
}

/* Meta's 8-byte big-endian KEY in TXN, 0 when absent. */
static uint64_t
meta_u64(MDB_txn *txn, MDB_dbi meta, const char *key)
{
	MDB_val		 k = { strlen(key), (void *)key }, v;

	if (mdb_get(txn, meta, &k, &v) == 0 && v.mv_size == 8)
		return (store_get_be64(v.mv_data));
	return (0);
}
