/*
 * journal/store-lmdb.c: the LMDB backend of the journal's store.
 *
 * One environment in the journal directory with the named databases
 * "log" (big-endian u64 seq -> hash || record), "dedup" (key -> big-endian
 * u64 seq), "meta" and one database per state table, opened by name on
 * first use.  doc/journal-format.md describes the bytes.
 *
 * Threads: the writer thread owns the write transaction; reads run their
 * own short read transactions on any thread.  mdb_env_set_mapsize is only
 * legal while no transaction of this process is active, so every read
 * transaction holds maplock for reading and a resize holds it for writing.
 * A finished read transaction is reset and kept (at most
 * STORE_IDLE_READERS of them) to be renewed by the next: mdb_txn_begin
 * allocates and zeroes a transaction sized for every named database, and
 * takes a reader slot under the lock file's mutex, at each read.  A
 * resize drops the kept ones first.
 * mdb_dbi_open is only ever called at open and by the writer; readers look
 * handles up in the table map (under tlock) and see a table only once the
 * transaction that created it has committed.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lmdb.h>
#include <openssl/rand.h>

#include "engine.h"
#include "journal.h"

#define STORE_MAP_INITIAL	(64ULL * 1024 * 1024)
#define STORE_MAP_MAX		(64ULL * 1024 * 1024 * 1024)
#define STORE_ROOM_MIN		(4ULL * 1024 * 1024)	/* see commit */

struct store_table {
	struct strmap_node	 node;		/* first: cast from the node */
	MDB_dbi			 dbi;
	int			 committed;
	char			 name[];
};

#define STORE_IDLE_READERS	4	/* reset read transactions kept */

struct store {
	MDB_env			 *env;
	MDB_dbi			  log;
	MDB_dbi			  dedup;
	MDB_dbi			  meta;
	int			  readonly;
	int			  lock_fd;	/* writer.lock, flocked */
	size_t			  map_size;	/* writer thread */
	size_t			  map_max;
	pthread_rwlock_t	  maplock;
	pthread_mutex_t		  tlock;
	pthread_mutex_t		  rlock;	/* idle */
	MDB_txn			 *idle[STORE_IDLE_READERS];
	u_int			  nidle;
	struct strmap		  tables;
	u_int			  ntables;
	struct store_table	**fresh;	/* created in the write txn */
	u_int			  nfresh;
	MDB_txn			 *wtxn;
};

static struct store *store_lmdb_open(const char *,
		     const struct journal_options *, char **);
static void	 store_lmdb_close(struct store *);
static size_t	 store_lmdb_map_size(struct store *);
static size_t	 store_lmdb_map_used(struct store *);
static int	 store_lmdb_begin(struct store *, char **);
static int	 store_lmdb_commit(struct store *, char **);
static void	 store_lmdb_abort(struct store *);
static int	 store_lmdb_grow(struct store *);
static int	 store_lmdb_append(struct store *, uint64_t, const uint8_t *,
		     const void *, size_t, const void *, size_t, char **);
static int	 store_lmdb_claimed(struct store *, const char *, uint64_t *,
		     char **);
static int	 store_lmdb_claim(struct store *, const char *, uint64_t,
		     char **);
static int	 store_lmdb_put(struct store *, const char *, const void *,
		     size_t, const void *, size_t, char **);
static int	 store_lmdb_del(struct store *, const char *, const void *,
		     size_t, char **);
static int	 store_lmdb_unclaim(struct store *, const char *, char **);
static int	 store_lmdb_set_head(struct store *, uint64_t,
		     const uint8_t *, char **);
static int	 store_lmdb_set_verified(struct store *, uint64_t,
		     const uint8_t *, int64_t, char **);
static int	 store_lmdb_meta(struct store *, struct journal_meta *,
		     char **);
static int	 store_lmdb_log_last(struct store *, uint64_t *, char **);
static int	 store_lmdb_log_foreach(struct store *, uint64_t,
		     struct journal_meta *,
		     int (*)(const struct journal_entry *, void *),
		     void (*)(void *), void *, char **);
static int	 store_lmdb_table_foreach(struct store *, const char *,
		     const void *, size_t, int,
		     int (*)(const struct journal_row *, void *),
		     void (*)(void *), void *, char **);
static int	 store_lmdb_table_get(struct store *, const char *,
		     const void *, size_t, void **, size_t *, char **);
static int	 store_lmdb_dedup_get(struct store *, const char *,
		     uint64_t *, char **);

static int	 store_error(int, const char *, char **);
static int	 store_lmdb_last_errno(struct store *);
static int	 store_lmdb_copy(struct store *, int, char **);
static int	 store_disk_full(struct store *);
static int	 store_rbegin(struct store *, MDB_txn **, char **);
static void	 store_rend(struct store *, MDB_txn *);
static int	 store_lock(struct store *, const char *, char **);
static int	 store_check_size(struct store *, const char *, char **);
static int	 store_check_file(const char *, int, char **);
static int	 store_open_dbs(struct store *, char **);
static int	 store_init_meta(struct store *, MDB_txn *, char **);
static int	 store_lmdb_table_seek(struct store *, const char *,
		     const void *, size_t, const void *, size_t, int,
		     int (*)(const struct journal_row *, void *), void *,
		     char **);
static int	 store_lmdb_wget(struct store *, const char *, const void *,
		     size_t, const void **, size_t *, char **);
static int	 store_lmdb_prune(struct store *, uint64_t, const uint8_t *,
		     const struct merkle_range *, char **);
static int	 store_lmdb_set_range(struct store *,
		     const struct merkle_range *, char **);
static int	 store_put_range(struct store *, const char *,
		     const struct merkle_range *, char **);
static int	 store_read_range(struct store *, MDB_txn *, const char *,
		     struct merkle_range *, char **);
static int	 store_check_format(struct store *, MDB_txn *, char **);
static void	 store_newer_format(struct store *, MDB_txn *, uint64_t,
		     char **);
static int	 store_load_tables(struct store *, MDB_txn *, char **);
static void	 store_add_table(struct store *, const char *, MDB_dbi, int);
static int	 store_find_table(struct store *, const char *, int,
		     MDB_dbi *);
#define STORE_TABLE_WRITER	0x1	/* see the write transaction's tables */
#define STORE_TABLE_CREATE	0x2	/* create it if missing */
static int	 store_write_head(struct store *, MDB_txn *, uint64_t,
		     const uint8_t *, char **);
static int	 store_get_meta(struct store *, MDB_txn *, const char *,
		     size_t, int, MDB_val *, char **);
static int	 store_read_meta(struct store *, MDB_txn *,
		     struct journal_meta *, char **);
static int	 store_put_meta(struct store *, MDB_txn *, const char *,
		     const void *, size_t, char **);
static int	 store_table_error(int, const char *, char **);
static void	 store_drop_fresh(struct store *);
static void	 store_free_table(struct strmap_node *, void *);
static int	 store_walk_start(MDB_cursor *, MDB_val *, MDB_val *,
		     const void *, size_t, int);
static int	 store_has_prefix(const MDB_val *, const void *, size_t);

/*
 * The map is read-only and shared (no MDB_WRITEMAP): dropping its pages
 * from our page tables loses nothing; a later read faults them back in
 * from the page cache.  LMDB does not tell where its map is (mdb_env_info's
 * address is only for fixed maps), so the mapping of data.mdb is found in
 * /proc/self/maps.  The map lock keeps a resize out meanwhile.
 */
static void
store_lmdb_release_cache(struct store *s)
{
	const char	*path;
	char		*want, line[1024];
	unsigned long	 lo, hi;
	FILE		*f;
	size_t		 n;

	if (mdb_env_get_path(s->env, &path) != 0 ||
	    (f = fopen("/proc/self/maps", "r")) == NULL)
		return;
	xasprintf(&want, "%s/data.mdb", path);
	n = strlen(want);
	pthread_rwlock_rdlock(&s->maplock);
	while (fgets(line, sizeof line, f) != NULL) {
		size_t	len = strcspn(line, "\n");

		line[len] = '\0';
		if (len < n || strcmp(line + len - n, want) != 0 ||
		    sscanf(line, "%lx-%lx", &lo, &hi) != 2)
			continue;
		if (madvise((void *)lo, hi - lo, MADV_DONTNEED) == -1)
			log_warn("msg=\"journal: madvise failed\"");
	}
	pthread_rwlock_unlock(&s->maplock);
	fclose(f);
	free(want);
}

const struct store_ops store_lmdb_ops = {
	.name = "lmdb",
	.open = store_lmdb_open,
	.close = store_lmdb_close,
	.map_size = store_lmdb_map_size,
	.map_used = store_lmdb_map_used,
	.begin = store_lmdb_begin,
	.commit = store_lmdb_commit,
	.abort = store_lmdb_abort,
	.grow = store_lmdb_grow,
	.append = store_lmdb_append,
	.claimed = store_lmdb_claimed,
	.claim = store_lmdb_claim,
	.put = store_lmdb_put,
	.del = store_lmdb_del,
	.set_head = store_lmdb_set_head,
	.set_verified = store_lmdb_set_verified,
	.meta = store_lmdb_meta,
	.set_range = store_lmdb_set_range,
	.prune = store_lmdb_prune,
	.wget = store_lmdb_wget,
	.table_seek = store_lmdb_table_seek,
	.log_last = store_lmdb_log_last,
	.log_foreach = store_lmdb_log_foreach,
	.table_foreach = store_lmdb_table_foreach,
	.table_get = store_lmdb_table_get,
	.dedup_get = store_lmdb_dedup_get,
	.release_cache = store_lmdb_release_cache,
	.unclaim = store_lmdb_unclaim,
	.last_errno = store_lmdb_last_errno,
	.copy = store_lmdb_copy,
};

/* The errno of the last write the file system refused (writer thread). */
static int	store_write_errno;

/* Map an LMDB code to ours: STORE_FULL for a full map, STORE_UNAVAILABLE
 * when the file system cannot take writes now, else STORE_ERROR; with
 * "WHAT: reason" in *cause. */
static int
store_error(int rc, const char *what, char **cause)
{
	if (rc == MDB_MAP_FULL)
		return (STORE_FULL);
	if (cause != NULL)
		xasprintf(cause, "%s: %s", what, mdb_strerror(rc));
	if (rc == ENOSPC || rc == EDQUOT || rc == EIO || rc == EROFS) {
		store_write_errno = rc;
		return (STORE_UNAVAILABLE);
	}
	return (STORE_ERROR);
}

const char *
store_reason(int rc)
{
	switch (rc) {
	case -1:
	case MDB_MAP_FULL:
		return (JOURNAL_R_MAP_FULL);
	case ENOSPC:
	case EDQUOT:
		return (JOURNAL_R_DISK_FULL);
	case EIO:
		return (JOURNAL_R_IO_ERROR);
	case EROFS:
		return (JOURNAL_R_READ_ONLY);
	default:
		return (JOURNAL_R_STORAGE);
	}
}

void
store_be64(uint64_t v, uint8_t out[8])
{
	int	i;

	for (i = 7; i >= 0; i--) {
		out[i] = v & 0xff;
		v >>= 8;
	}
}

uint64_t
store_get_be64(const void *p)
{
	const uint8_t	*b = p;
	uint64_t	 v = 0;
	int		 i;

	for (i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return (v);
}

/* Drop the kept read transactions (maplock held for writing, or at
 * close). */
static void
store_idle_drop(struct store *s)
{
	pthread_mutex_lock(&s->rlock);
	while (s->nidle > 0)
		mdb_txn_abort(s->idle[--s->nidle]);
	pthread_mutex_unlock(&s->rlock);
}

/* Begin a read transaction, holding maplock for reading until store_rend:
 * a kept one renewed, else a new one.  A readonly process whose map
 * another process grew adopts the new size. */
static int
store_rbegin(struct store *s, MDB_txn **txn, char **cause)
{
	MDB_txn	*t = NULL;
	int	 rc;

	pthread_rwlock_rdlock(&s->maplock);
	pthread_mutex_lock(&s->rlock);
	if (s->nidle > 0)
		t = s->idle[--s->nidle];
	pthread_mutex_unlock(&s->rlock);
	if (t != NULL) {
		if (mdb_txn_renew(t) == 0) {
			*txn = t;
			return (0);
		}
		mdb_txn_abort(t);	/* a new one says why */
	}
	rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
	if (rc == MDB_MAP_RESIZED && s->readonly) {
		pthread_rwlock_unlock(&s->maplock);
		pthread_rwlock_wrlock(&s->maplock);
		store_idle_drop(s);
		rc = mdb_env_set_mapsize(s->env, 0);
		pthread_rwlock_unlock(&s->maplock);
		pthread_rwlock_rdlock(&s->maplock);
		if (rc == 0)
			rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
	}
	if (rc != 0) {
		pthread_rwlock_unlock(&s->maplock);
		store_error(rc, "read transaction", cause);
		return (-1);
	}
	return (0);
}

static void
store_rend(struct store *s, MDB_txn *txn)
{
	mdb_txn_reset(txn);
	pthread_mutex_lock(&s->rlock);
	if (s->nidle < STORE_IDLE_READERS) {
		s->idle[s->nidle++] = txn;
		txn = NULL;
	}
	pthread_mutex_unlock(&s->rlock);
	if (txn != NULL)
		mdb_txn_abort(txn);
	pthread_rwlock_unlock(&s->maplock);
}

static struct store *
store_lmdb_open(const char *dir, const struct journal_options *o,
    char **cause)
{
	struct store	*s;
	MDB_envinfo	 info;
	unsigned int	 flags = MDB_NOTLS | MDB_NORDAHEAD;
	int		 rc, dead;

	s = xcalloc(1, sizeof *s);
	s->lock_fd = -1;
	s->readonly = o->readonly;
	s->map_max = o->map_max != 0 ? o->map_max : STORE_MAP_MAX;
	s->map_size = o->map_initial != 0 ? o->map_initial :
	    STORE_MAP_INITIAL < s->map_max ? STORE_MAP_INITIAL : s->map_max;
	pthread_rwlock_init(&s->maplock, NULL);
	pthread_mutex_init(&s->tlock, NULL);
	pthread_mutex_init(&s->rlock, NULL);
	strmap_init(&s->tables);
	if (!s->readonly && s->map_size > s->map_max) {
		xasprintf(cause, "map_initial (%zu) is larger than map_max "
		    "(%zu)", s->map_size, s->map_max);
		goto fail;
	}
	if ((rc = mdb_env_create(&s->env)) != 0) {
		store_error(rc, "mdb_env_create", cause);
		goto fail;
	}
	mdb_env_set_maxdbs(s->env, JOURNAL_MAX_TABLES + 4);
	if (s->readonly)
		flags |= MDB_RDONLY;
	else {
		mdb_env_set_mapsize(s->env, s->map_size);
		if (o->sync == JOURNAL_SYNC_BATCH)
			flags |= MDB_NOMETASYNC;
		else if (o->sync == JOURNAL_SYNC_NONE)
			flags |= MDB_NOSYNC;
		if (mkdir_p(dir, 0700) == -1) {
			xasprintf(cause, "cannot create the directory: %s",
			    strerror(errno));
			goto fail;
		}
		if (store_lock(s, dir, cause) != 0)
			goto fail;
	}
	if (store_check_file(dir, 0, cause) != 0)
		goto fail;
	if ((rc = mdb_env_open(s->env, dir, flags, 0600)) != 0) {
		if (rc != MDB_INVALID || store_check_file(dir, 1, cause) == 0)
			xasprintf(cause, "cannot open: %s", mdb_strerror(rc));
		goto fail;
	}
	if (store_check_size(s, dir, cause) != 0)
		goto fail;
	if (mdb_reader_check(s->env, &dead) == 0 && dead > 0)
		log_info("msg=\"journal: cleared stale readers\" count=%d",
		    dead);
	mdb_env_info(s->env, &info);
	s->map_size = info.me_mapsize;
	if (store_open_dbs(s, cause) != 0)
		goto fail;
	return (s);
fail:
	store_lmdb_close(s);
	return (NULL);
}

/*
 * Before LMDB sees it: an existing data.mdb of 0 bytes would be taken for
 * a new environment (a journal truncated to nothing would silently start
 * again), so refuse it.  After LMDB found no valid meta page (INVALID
 * set): name the file and its size.  Returns 0 when there is nothing to
 * say.
 */
static int
store_check_file(const char *dir, int invalid, char **cause)
{
	struct stat	 sb;
	char		*path;
	int		 rc = 0;

	xasprintf(&path, "%s/data.mdb", dir);
	if (stat(path, &sb) == 0 && sb.st_size == 0) {
		xasprintf(cause, "%s is empty (0 bytes): if it held a journal, "
		    "restore it from a copy; remove it to begin a new journal",
		    path);
		rc = -1;
	} else if (invalid && stat(path, &sb) == 0) {
		xasprintf(cause, "%s (%llu bytes) is not an LMDB file, or is "
		    "truncated before the end of its two meta pages", path,
		    (unsigned long long)sb.st_size);
		rc = -1;
	}
	free(path);
	return (rc);
}

/*
 * Refuse a data file shorter than the pages in use.  The map is read
 * directly, so a page past the end of the file would fault (SIGBUS) on
 * the first read: compare the file's size with what LMDB's meta page
 * (read by mdb_env_open with read(2), not through the map) says is used,
 * before anything reads the map.
 */
static int
store_check_size(struct store *s, const char *dir, char **cause)
{
	MDB_envinfo	 info;
	MDB_stat	 st;
	struct stat	 sb;
	uint64_t	 need;
	int		 fd;

	/* The meta page first, the file's size after: a writer in another
	 * process may commit between the two, and the file only grows, so
	 * a live journal never looks shorter than its meta says. */
	mdb_env_info(s->env, &info);
	mdb_env_stat(s->env, &st);
	if (mdb_env_get_fd(s->env, &fd) != 0 || fstat(fd, &sb) == -1) {
		xasprintf(cause, "%s/data.mdb: %s", dir, strerror(errno));
		return (-1);
	}
	need = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	if ((uint64_t)sb.st_size >= need)
		return (0);
	xasprintf(cause, "%s/data.mdb is truncated: the file has %llu bytes, "
	    "but LMDB's meta page says %llu are in use (%llu pages of %u); "
	    "restore it from a copy", dir, (unsigned long long)sb.st_size,
	    (unsigned long long)need, (unsigned long long)info.me_last_pgno + 1,
	    st.ms_psize);
	return (-1);
}

/* One writer per journal: hold an exclusive flock on DIR/writer.lock. */
static int
store_lock(struct store *s, const char *dir, char **cause)
{
	char	*path;

	xasprintf(&path, "%s/writer.lock", dir);
	s->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(path);
	if (s->lock_fd == -1) {
		xasprintf(cause, "writer.lock: %s", strerror(errno));
		return (-1);
	}
	if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			*cause = xstrdup("already open for writing (by another "
			    "process, or earlier in this one)");
		else
			xasprintf(cause, "writer.lock: %s", strerror(errno));
		return (-1);
	}
	return (0);
}

/* Open log, dedup and meta (creating them and meta's first values in a new
 * journal) and every existing state table. */
static int
store_open_dbs(struct store *s, char **cause)
{
	MDB_txn		*txn;
	unsigned int	 flags = s->readonly ? 0 : MDB_CREATE;
	int		 rc;

	rc = mdb_txn_begin(s->env, NULL, s->readonly ? MDB_RDONLY : 0, &txn);
	if (rc != 0) {
		store_error(rc, "begin", cause);
		return (-1);
	}
	if ((rc = mdb_dbi_open(txn, "log", flags, &s->log)) != 0 ||
	    (rc = mdb_dbi_open(txn, "dedup", flags, &s->dedup)) != 0 ||
	    (rc = mdb_dbi_open(txn, "meta", flags, &s->meta)) != 0) {
		if (rc == MDB_NOTFOUND)
			*cause = xstrdup("not a chime journal (no log, dedup "
			    "or meta database)");
		else
			store_error(rc, "open databases", cause);
		goto fail;
	}
	if (store_check_format(s, txn, cause) != 0 ||
	    store_load_tables(s, txn, cause) != 0)
		goto fail;
	if ((rc = mdb_txn_commit(txn)) != 0) {
		store_error(rc, "commit", cause);
		return (-1);
	}
	return (0);
fail:
	mdb_txn_abort(txn);
	return (-1);
}

/* Check meta's format, or write the first meta of an empty journal. */
static int
store_check_format(struct store *s, MDB_txn *txn, char **cause)
{
	MDB_val		 k = { 6, (void *)"format" }, v;
	MDB_stat	 st;
	uint64_t	 format;
	int		 rc;

	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND) {
		mdb_stat(txn, s->log, &st);
		if (s->readonly || st.ms_entries != 0) {
			*cause = xstrdup("not a chime journal (meta has no "
			    "format)");
			return (-1);
		}
		return (store_init_meta(s, txn, cause));
	}
	if (rc != 0) {
		store_error(rc, "meta", cause);
		return (-1);
	}
	if (v.mv_size != 8) {
		*cause = xstrdup("meta format is not 8 bytes");
		return (-1);
	}
	format = store_get_be64(v.mv_data);
	if (format > JOURNAL_FORMAT_VERSION) {
		store_newer_format(s, txn, format, cause);
		return (-1);
	}
	if (format != JOURNAL_FORMAT_VERSION) {
		xasprintf(cause, "journal format %llu is not supported (this "
		    "program reads format %d)", (unsigned long long)format,
		    JOURNAL_FORMAT_VERSION);
		return (-1);
	}
	return (0);
}

/*
 * A journal of a later format than this program's: say which chime wrote
 * it (meta's format_by, when it has one) and what to run instead.  Nothing
 * is changed: the journal is left for the chime that can read it.
 */
static void
store_newer_format(struct store *s, MDB_txn *txn, uint64_t format,
    char **cause)
{
	MDB_val	 k = { 9, (void *)"format_by" }, v;
	char	 by[64];

	by[0] = '\0';
	if (mdb_get(txn, s->meta, &k, &v) == 0 && v.mv_size > 0 &&
	    v.mv_size < sizeof by) {
		memcpy(by, v.mv_data, v.mv_size);
		by[v.mv_size] = '\0';
		by[strspn(by, "0123456789.abcdefghijklmnopqrstuvwxyz-+~")] =
		    '\0';
	}
	if (by[0] != '\0')
		xasprintf(cause, "journal format %llu, written by chime %s, is "
		    "newer than this chime %s reads (format %d): run chime %s "
		    "or later on it; nothing was changed",
		    (unsigned long long)format, by, CHIME_VERSION,
		    JOURNAL_FORMAT_VERSION, by);
	else
		xasprintf(cause, "journal format %llu was written by a newer "
		    "chime than this one (%s, which reads format %d): run the "
		    "chime that wrote it, or a later one; nothing was changed",
		    (unsigned long long)format, CHIME_VERSION,
		    JOURNAL_FORMAT_VERSION);
}

/* format, journal_id, created_us, head_seq 0, head_hash genesis. */
static int
store_init_meta(struct store *s, MDB_txn *txn, char **cause)
{
	uint8_t		 id[16], b[8], genesis[JOURNAL_HASH_LEN];
	char		 hex[33];
	int		 i;

	if (RAND_bytes(id, sizeof id) != 1)
		fatalx("journal: RAND_bytes failed");
	for (i = 0; i < 16; i++)
		snprintf(hex + i * 2, 3, "%02x", id[i]);
	store_be64(JOURNAL_FORMAT_VERSION, b);
	if (store_put_meta(s, txn, "format", b, 8, cause) != STORE_OK)
		return (-1);
	/* which chime wrote this format: a later one names it when an
	 * earlier one is refused, and so would this one */
	if (store_put_meta(s, txn, "format_by", CHIME_VERSION,
	    strlen(CHIME_VERSION), cause) != STORE_OK)
		return (-1);
	if (store_put_meta(s, txn, "journal_id", hex, 32, cause) != STORE_OK)
		return (-1);
	store_be64((uint64_t)now_us(), b);
	if (store_put_meta(s, txn, "created_us", b, 8, cause) != STORE_OK)
		return (-1);
	chain_genesis(genesis);
	return (store_write_head(s, txn, 0, genesis, cause) == STORE_OK ?
	    0 : -1);
}

/* Open every named database of the main database but ours as a table. */
static int
store_load_tables(struct store *s, MDB_txn *txn, char **cause)
{
	MDB_cursor	*c;
	MDB_dbi		 main_dbi, dbi;
	MDB_val		 k, v;
	char		 name[65];
	int		 rc;

	if ((rc = mdb_dbi_open(txn, NULL, 0, &main_dbi)) != 0 ||
	    (rc = mdb_cursor_open(txn, main_dbi, &c)) != 0) {
		store_error(rc, "list tables", cause);
		return (-1);
	}
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size == 0 || k.mv_size >= sizeof name)
			continue;
		memcpy(name, k.mv_data, k.mv_size);
		name[k.mv_size] = '\0';
		if (!valid_id(name) || strcmp(name, "log") == 0 ||
		    strcmp(name, "dedup") == 0 || strcmp(name, "meta") == 0)
			continue;
		if (mdb_dbi_open(txn, name, 0, &dbi) == 0)
			store_add_table(s, name, dbi, 1);
	}
	mdb_cursor_close(c);
	if (rc != MDB_NOTFOUND) {
		store_error(rc, "list tables", cause);
		return (-1);
	}
	return (0);
}

static void
store_add_table(struct store *s, const char *name, MDB_dbi dbi,
    int committed)
{
	struct store_table	*t;
	size_t			 len = strlen(name) + 1;

	t = xmalloc(sizeof *t + len);
	memcpy(t->name, name, len);
	t->dbi = dbi;
	t->committed = committed;
	pthread_mutex_lock(&s->tlock);
	if (strmap_insert(&s->tables, &t->node, t->name) != 0)
		fatalx("journal: table %s added twice", name);
	s->ntables++;
	pthread_mutex_unlock(&s->tlock);
	if (!committed) {
		s->fresh = xreallocarray(s->fresh, s->nfresh + 1,
		    sizeof *s->fresh);
		s->fresh[s->nfresh++] = t;
	}
}

/*
 * Find a table's handle.  With STORE_TABLE_WRITER, also the tables created
 * in the current write transaction; with STORE_TABLE_CREATE, create a
 * missing one in it.  Returns 0, MDB_NOTFOUND, or an LMDB error.
 */
static int
store_find_table(struct store *s, const char *name, int flags, MDB_dbi *dbi)
{
	struct store_table	*t;
	u_int			 count;
	int			 found = 0, rc;

	pthread_mutex_lock(&s->tlock);
	t = (struct store_table *)strmap_find(&s->tables, name);
	if (t != NULL && (t->committed || (flags & STORE_TABLE_WRITER))) {
		*dbi = t->dbi;
		found = 1;
	}
	count = s->ntables;
	pthread_mutex_unlock(&s->tlock);
	if (found)
		return (0);
	if (t != NULL || !(flags & STORE_TABLE_CREATE))
		return (MDB_NOTFOUND);
	if (count >= JOURNAL_MAX_TABLES)
		return (MDB_DBS_FULL);
	if ((rc = mdb_dbi_open(s->wtxn, name, MDB_CREATE, dbi)) != 0)
		return (rc);
	store_add_table(s, name, *dbi, 0);
	return (0);
}

/* Forget the tables created in a transaction that did not commit. */
static void
store_drop_fresh(struct store *s)
{
	u_int	i;

	pthread_mutex_lock(&s->tlock);
	for (i = 0; i < s->nfresh; i++) {
		strmap_remove(&s->tables, &s->fresh[i]->node);
		s->ntables--;
		free(s->fresh[i]);
	}
	pthread_mutex_unlock(&s->tlock);
	s->nfresh = 0;
}

static void
store_free_table(struct strmap_node *n, void *arg)
{
	free(n);
}

static void
store_lmdb_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->wtxn != NULL)
		store_lmdb_abort(s);
	store_idle_drop(s);
	if (s->env != NULL)
		mdb_env_close(s->env);
	if (s->lock_fd != -1)
		close(s->lock_fd);
	strmap_foreach(&s->tables, store_free_table, NULL);
	strmap_clear(&s->tables);
	free(s->fresh);
	pthread_rwlock_destroy(&s->maplock);
	pthread_mutex_destroy(&s->tlock);
	pthread_mutex_destroy(&s->rlock);
	free(s);
}

static size_t
store_lmdb_map_size(struct store *s)
{
	return (s->map_size);
}

/* Bytes in use: the pages up to the last one written. */
static size_t
store_lmdb_map_used(struct store *s)
{
	MDB_envinfo	info;
	MDB_stat	st;

	pthread_rwlock_rdlock(&s->maplock);
	mdb_env_info(s->env, &info);
	mdb_env_stat(s->env, &st);
	pthread_rwlock_unlock(&s->maplock);
	return ((info.me_last_pgno + 1) * (size_t)st.ms_psize);
}

/* Has the file system of S's data file less than STORE_ROOM_MIN free? */
static int
store_disk_full(struct store *s)
{
	struct statvfs	sv;
	int		fd;

	if (mdb_env_get_fd(s->env, &fd) != 0 || fstatvfs(fd, &sv) != 0)
		return (0);
	return ((unsigned long long)sv.f_bavail * sv.f_frsize <
	    STORE_ROOM_MIN);
}

static int
store_lmdb_last_errno(struct store *s)
{
	return (store_write_errno);
}

/*
 * The whole environment as one data.mdb, written to FD by LMDB's copy
 * with compaction: one read transaction, so a snapshot of one commit,
 * whatever writers do meanwhile; free pages left out.
 */
static int
store_lmdb_copy(struct store *s, int fd, char **cause)
{
	int	rc;

	if ((rc = mdb_env_copyfd2(s->env, fd, MDB_CP_COMPACT)) != 0) {
		xasprintf(cause, "copy: %s", mdb_strerror(rc));
		return (-1);
	}
	return (0);
}

static int
store_lmdb_begin(struct store *s, char **cause)
{
	int	rc;

	if (s->wtxn != NULL)
		fatalx("journal: write transaction already active");
	if ((rc = mdb_txn_begin(s->env, NULL, 0, &s->wtxn)) != 0) {
		s->wtxn = NULL;
		return (store_error(rc, "begin", cause));
	}
	return (STORE_OK);
}

static int
store_lmdb_commit(struct store *s, char **cause)
{
	u_int	i;
	int	rc;

	rc = mdb_txn_commit(s->wtxn);
	s->wtxn = NULL;
	if (rc != 0) {
		store_drop_fresh(s);
		/* LMDB turns a short write into EIO: on a file system with
		 * next to no room left, that was ENOSPC. */
		if (rc == EIO && store_disk_full(s))
			rc = ENOSPC;
		return (store_error(rc, "commit", cause));
	}
	pthread_mutex_lock(&s->tlock);
	for (i = 0; i < s->nfresh; i++)
		s->fresh[i]->committed = 1;
	pthread_mutex_unlock(&s->tlock);
	s->nfresh = 0;
	return (STORE_OK);
}

static void
store_lmdb_abort(struct store *s)
{
	if (s->wtxn == NULL)
		return;
	mdb_txn_abort(s->wtxn);
	s->wtxn = NULL;
	store_drop_fresh(s);
}

/* Double the map, up to map_max; -1 when it is there already.  Called with
 * no write transaction; waits for the readers of this process. */
static int
store_lmdb_grow(struct store *s)
{
	size_t	size;
	int	rc;

	if (s->map_size >= s->map_max)
		return (-1);
	size = s->map_size > s->map_max / 2 ? s->map_max : s->map_size * 2;
	pthread_rwlock_wrlock(&s->maplock);
	store_idle_drop(s);
	rc = mdb_env_set_mapsize(s->env, size);
	pthread_rwlock_unlock(&s->maplock);
	if (rc != 0) {
		log_warnx("msg=\"journal: cannot grow the map\" size=%zu "
		    "error=\"%s\"", size, mdb_strerror(rc));
		return (-1);
	}
	log_info("msg=\"journal: map grown\" from=%zu to=%zu", s->map_size,
	    size);
	s->map_size = size;
	return (0);
}

static int
store_lmdb_append(struct store *s, uint64_t seq, const uint8_t *hash,
    const void *hdr, size_t hlen, const void *body, size_t blen,
    char **cause)
{
	uint8_t	 key[8];
	MDB_val	 k = { 8, key }, v;
	char	*p;
	int	 rc;

	store_be64(seq, key);
	v.mv_size = JOURNAL_HASH_LEN + hlen + blen;
	v.mv_data = NULL;
	rc = mdb_put(s->wtxn, s->log, &k, &v, MDB_APPEND | MDB_RESERVE);
	if (rc == MDB_KEYEXIST) {
		xasprintf(cause, "log: seq %llu is not after the last record",
		    (unsigned long long)seq);
		return (STORE_ERROR);
	}
	if (rc != 0)
		return (store_error(rc, "log", cause));
	p = v.mv_data;
	memcpy(p, hash, JOURNAL_HASH_LEN);
	memcpy(p + JOURNAL_HASH_LEN, hdr, hlen);
	memcpy(p + JOURNAL_HASH_LEN + hlen, body, blen);
	return (STORE_OK);
}

static int
store_lmdb_claimed(struct store *s, const char *key, uint64_t *seq,
    char **cause)
{
	MDB_val	k = { strlen(key), (void *)key }, v;
	int	rc;

	rc = mdb_get(s->wtxn, s->dedup, &k, &v);
	if (rc == MDB_NOTFOUND) {
		*seq = 0;
		return (STORE_OK);
	}
	if (rc != 0)
		return (store_error(rc, "dedup", cause));
	if (v.mv_size != 8) {
		xasprintf(cause, "dedup: value of %zu bytes", v.mv_size);
		return (STORE_ERROR);
	}
	*seq = store_get_be64(v.mv_data);
	return (STORE_OK);
}

static int
store_lmdb_claim(struct store *s, const char *key, uint64_t seq,
    char **cause)
{
	uint8_t	b[8];
	MDB_val	k = { strlen(key), (void *)key }, v = { 8, b };
	int	rc;

	store_be64(seq, b);
	if ((rc = mdb_put(s->wtxn, s->dedup, &k, &v, 0)) != 0)
		return (store_error(rc, "dedup", cause));
	return (STORE_OK);
}

/* Delete a claim (absent: nothing to do). */
static int
store_lmdb_unclaim(struct store *s, const char *key, char **cause)
{
	MDB_val	k = { strlen(key), (void *)key };
	int	rc;

	rc = mdb_del(s->wtxn, s->dedup, &k, NULL);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return (store_error(rc, "dedup", cause));
	return (STORE_OK);
}

static int
store_lmdb_put(struct store *s, const char *table, const void *key,
    size_t klen, const void *val, size_t vlen, char **cause)
{
	MDB_val	 k = { klen, (void *)key }, v = { vlen, (void *)val };
	MDB_dbi	 dbi;
	int	 rc;

	rc = store_find_table(s, table, STORE_TABLE_WRITER | STORE_TABLE_CREATE,
	    &dbi);
	if (rc == 0 && (rc = mdb_put(s->wtxn, dbi, &k, &v, 0)) == 0)
		return (STORE_OK);
	return (store_table_error(rc, table, cause));
}

static int
store_lmdb_wget(struct store *s, const char *table, const void *key,
    size_t klen, const void **val, size_t *vlen, char **cause)
{
	MDB_val	 k = { klen, (void *)key }, v;
	MDB_dbi	 dbi;
	int	 rc;

	*val = NULL;
	*vlen = 0;
	rc = store_find_table(s, table, STORE_TABLE_WRITER, &dbi);
	if (rc == 0)
		rc = mdb_get(s->wtxn, dbi, &k, &v);
	if (rc == 0) {
		*val = v.mv_data;
		*vlen = v.mv_size;
	}
	if (rc == 0 || rc == MDB_NOTFOUND)	/* absent row or table */
		return (STORE_OK);
	return (store_table_error(rc, table, cause));
}

static int
store_lmdb_del(struct store *s, const char *table, const void *key,
    size_t klen, char **cause)
{
	MDB_val	 k = { klen, (void *)key };
	MDB_dbi	 dbi;
	int	 rc;

	rc = store_find_table(s, table, STORE_TABLE_WRITER, &dbi);
	if (rc == 0)
		rc = mdb_del(s->wtxn, dbi, &k, NULL);
	if (rc == 0 || rc == MDB_NOTFOUND)	/* absent row or table */
		return (STORE_OK);
	return (store_table_error(rc, table, cause));
}

/* store_error of a write to TABLE. */
static int
store_table_error(int rc, const char *table, char **cause)
{
	char	*what;

	xasprintf(&what, "table %s", table);
	rc = store_error(rc, what, cause);
	free(what);
	return (rc);
}

/* Write meta's head_seq and head_hash in TXN. */
static int
store_write_head(struct store *s, MDB_txn *txn, uint64_t seq,
    const uint8_t *hash, char **cause)
{
	uint8_t	b[8];
	int	rc;

	store_be64(seq, b);
	if ((rc = store_put_meta(s, txn, "head_seq", b, 8, cause)) !=
	    STORE_OK)
		return (rc);
	return (store_put_meta(s, txn, "head_hash", hash, JOURNAL_HASH_LEN,
	    cause));
}

static int
store_lmdb_set_head(struct store *s, uint64_t seq, const uint8_t *hash,
    char **cause)
{
	return (store_write_head(s, s->wtxn, seq, hash, cause));
}

/* Put one meta key in TXN. */
static int
store_put_meta(struct store *s, MDB_txn *txn, const char *key,
    const void *val, size_t len, char **cause)
{
	MDB_val	k = { strlen(key), (void *)key }, v = { len, (void *)val };
	int	rc;

	if ((rc = mdb_put(txn, s->meta, &k, &v, 0)) != 0)
		return (store_error(rc, "meta", cause));
	return (STORE_OK);
}

static int
store_lmdb_set_verified(struct store *s, uint64_t seq, const uint8_t *hash,
    int64_t scrubbed_us, char **cause)
{
	uint8_t	b[8];
	int	rc;

	store_be64(seq, b);
	if ((rc = store_put_meta(s, s->wtxn, "verified_seq", b, 8, cause)) !=
	    STORE_OK ||
	    (rc = store_put_meta(s, s->wtxn, "verified_hash", hash,
	    JOURNAL_HASH_LEN, cause)) != STORE_OK)
		return (rc);
	if (scrubbed_us == 0)
		return (STORE_OK);
	store_be64((uint64_t)scrubbed_us, b);
	return (store_put_meta(s, s->wtxn, "scrubbed_us", b, 8, cause));
}

/* A compact range in meta under KEY (merkle_range, anchor_range): the
 * size (8 bytes, big-endian), then the hashes of the compact range, one
 * per bit set in the size. */
static int
store_put_range(struct store *s, const char *key,
    const struct merkle_range *r, char **cause)
{
	uint8_t	 buf[8 + MERKLE_RANGE_MAX * MERKLE_HASH_LEN];
	size_t	 n = (size_t)__builtin_popcountll(r->size);

	store_be64(r->size, buf);
	memcpy(buf + 8, r->hash, n * MERKLE_HASH_LEN);
	return (store_put_meta(s, s->wtxn, key, buf, 8 + n * MERKLE_HASH_LEN,
	    cause));
}

static int
store_lmdb_set_range(struct store *s, const struct merkle_range *r,
    char **cause)
{
	return (store_put_range(s, "merkle_range", r, cause));
}

/* Read the compact range under meta's KEY (optional) into R: 1, 0 if
 * absent, -1 and *cause. */
static int
store_read_range(struct store *s, MDB_txn *txn, const char *key,
    struct merkle_range *r, char **cause)
{
	MDB_val	 k = { strlen(key), (void *)key }, v;
	uint64_t size;
	char	*why;
	int	 rc;

	rc = mdb_get(txn, s->meta, &k, &v);
	if (rc == MDB_NOTFOUND)
		return (0);
	if (rc != 0) {
		xasprintf(cause, "meta %s: %s", key, mdb_strerror(rc));
		return (-1);
	}
	if (v.mv_size < 8 || (v.mv_size - 8) % MERKLE_HASH_LEN != 0) {
		xasprintf(cause, "meta %s: %zu bytes", key, v.mv_size);
		return (-1);
	}
	size = store_get_be64(v.mv_data);
	if (merkle_range_set(r, size, (const uint8_t *)v.mv_data + 8,
	    (v.mv_size - 8) / MERKLE_HASH_LEN, &why) != 0) {
		xasprintf(cause, "meta %s: %s", key, why);
		free(why);
		return (-1);
	}
	return (1);
}

/*
 * Delete the log up to UPTO and make it meta's anchor (anchor_seq,
 * anchor_hash, anchor_range), in the write transaction.  The log must
 * hold UPTO + 1: a pruned log keeps at least its last record, so the
 * head is always a record.
 */
static int
store_lmdb_prune(struct store *s, uint64_t upto, const uint8_t *hash,
    const struct merkle_range *r, char **cause)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	uint8_t		 b[8];
	int		 rc;

	store_be64(upto + 1, b);
	k.mv_data = b;
	k.mv_size = 8;
	if ((rc = mdb_get(s->wtxn, s->log, &k, &v)) != 0) {
		if (rc == MDB_NOTFOUND) {
			xasprintf(cause, "the log has no seq %llu after the "
			    "records to prune", (unsigned long long)upto + 1);
			return (STORE_ERROR);
		}
		return (store_error(rc, "log", cause));
	}
	if ((rc = mdb_cursor_open(s->wtxn, s->log, &c)) != 0)
		return (store_error(rc, "log", cause));
	while ((rc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0 &&
	    k.mv_size == 8 && store_get_be64(k.mv_data) <= upto) {
		if ((rc = mdb_cursor_del(c, 0)) != 0)
			break;
	}
	mdb_cursor_close(c);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return (store_error(rc, "log", cause));
	store_be64(upto, b);
	if ((rc = store_put_meta(s, s->wtxn, "anchor_seq", b, 8, cause)) !=
	    STORE_OK || (rc = store_put_meta(s, s->wtxn, "anchor_hash", hash,
	    JOURNAL_HASH_LEN, cause)) != STORE_OK)
		return (rc);
	return (store_put_range(s, "anchor_range", r, cause));
}

/*
 * Meta KEY of SIZE bytes in TXN, in *V: 1, or 0 when it is absent and
 * OPTIONAL; -1 and *cause when it is absent (not OPTIONAL), cannot be read
 * or has another size.
 */
static int
store_get_meta(struct store *s, MDB_txn *txn, const char *key, size_t size,
    int optional, MDB_val *v, char **cause)
{
	MDB_val	k = { strlen(key), (void *)key };
	int	rc;

	rc = mdb_get(txn, s->meta, &k, v);
	if (rc == MDB_NOTFOUND && optional)
		return (0);
	if (rc != 0) {
		xasprintf(cause, "meta %s: %s", key, mdb_strerror(rc));
		return (-1);
	}
	if (v->mv_size != size) {
		xasprintf(cause, "meta %s: %zu bytes, not %zu", key,
		    v->mv_size, size);
		return (-1);
	}
	return (1);
}

/*
 * Read every meta key in TXN; a missing or malformed one is an error,
 * except that verified_seq, verified_hash (which go together) and
 * scrubbed_us may be absent (0).
 */
static int
store_read_meta(struct store *s, MDB_txn *txn, struct journal_meta *m,
    char **cause)
{
	static const struct {
		const char	*key;
		size_t		 size;
		int		 optional;
	} keys[] = {
		{ "format", 8, 0 },
		{ "journal_id", 32, 0 },
		{ "head_seq", 8, 0 },
		{ "head_hash", JOURNAL_HASH_LEN, 0 },
		{ "created_us", 8, 0 },
		{ "verified_seq", 8, 1 },
		{ "verified_hash", JOURNAL_HASH_LEN, 1 },
		{ "scrubbed_us", 8, 1 },
		{ "anchor_seq", 8, 1 },
		{ "anchor_hash", JOURNAL_HASH_LEN, 1 },
	};
	MDB_val	 v[10];
	int	 found[10], rc;
	u_int	 i;

	for (i = 0; i < 10; i++) {
		found[i] = store_get_meta(s, txn, keys[i].key, keys[i].size,
		    keys[i].optional, &v[i], cause);
		if (found[i] == -1)
			return (-1);
	}
	if (found[5] != found[6]) {
		*cause = xstrdup("meta has one of verified_seq and "
		    "verified_hash without the other");
		return (-1);
	}
	memset(m, 0, sizeof *m);
	m->format = store_get_be64(v[0].mv_data);
	memcpy(m->journal_id, v[1].mv_data, 32);
	m->head_seq = store_get_be64(v[2].mv_data);
	memcpy(m->head_hash, v[3].mv_data, JOURNAL_HASH_LEN);
	m->created_us = (int64_t)store_get_be64(v[4].mv_data);
	if (found[5]) {
		m->verified_seq = store_get_be64(v[5].mv_data);
		memcpy(m->verified_hash, v[6].mv_data, JOURNAL_HASH_LEN);
	}
	if (found[7])
		m->scrubbed_us = (int64_t)store_get_be64(v[7].mv_data);
	if ((rc = store_read_range(s, txn, "merkle_range", &m->range,
	    cause)) == -1)
		return (-1);
	m->has_range = rc;
	if (found[8] != found[9]) {
		*cause = xstrdup("meta has one of anchor_seq and anchor_hash "
		    "without the other");
		return (-1);
	}
	if (!found[8])
		return (0);
	m->anchor_seq = store_get_be64(v[8].mv_data);
	memcpy(m->anchor_hash, v[9].mv_data, JOURNAL_HASH_LEN);
	if ((rc = store_read_range(s, txn, "anchor_range", &m->anchor_range,
	    cause)) == -1)
		return (-1);
	if (rc == 0 || m->anchor_range.size != m->anchor_seq ||
	    m->anchor_seq >= m->head_seq) {
		xasprintf(cause, "meta's anchor (seq %llu) %s",
		    (unsigned long long)m->anchor_seq, rc == 0 ?
		    "has no anchor_range" : m->anchor_seq >= m->head_seq ?
		    "is not before its head" : "and its anchor_range differ "
		    "in size");
		return (-1);
	}
	return (0);
}

static int
store_lmdb_meta(struct store *s, struct journal_meta *m, char **cause)
{
	MDB_txn	*txn;
	int	 rc;

	if (store_rbegin(s, &txn, cause) != 0)
		return (-1);
	rc = store_read_meta(s, txn, m, cause);
	store_rend(s, txn);
	return (rc);
}

static int
store_lmdb_log_last(struct store *s, uint64_t *seq, char **cause)
{
	MDB_txn		*txn;
	MDB_cursor	*c;
	MDB_val		 k, v;
	int		 rc;

	if (store_rbegin(s, &txn, cause) != 0)
		return (-1);
	if ((rc = mdb_cursor_open(txn, s->log, &c)) == 0) {
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
		mdb_cursor_close(c);
	}
	store_rend(s, txn);
	if (rc == MDB_NOTFOUND) {
		*seq = 0;
		return (0);
	}
	if (rc != 0) {
		store_error(rc, "log", cause);
		return (-1);
	}
	if (k.mv_size != 8) {
		xasprintf(cause, "log: last key is %zu bytes, not 8",
		    k.mv_size);
		return (-1);
	}
	*seq = store_get_be64(k.mv_data);
	return (0);
}

static int
store_lmdb_log_foreach(struct store *s, uint64_t from,
    struct journal_meta *meta, int (*cb)(const struct journal_entry *,
    void *), void (*end)(void *), void *arg, char **cause)
{
	struct journal_entry	 e;
	MDB_txn			*txn;
	MDB_cursor		*c;
	MDB_val			 k, v;
	uint8_t			 key[8];
	int			 rc, ret = -1;

	if (store_rbegin(s, &txn, cause) != 0)
		return (-1);
	if (meta != NULL && store_read_meta(s, txn, meta, cause) != 0)
		goto out;
	if ((rc = mdb_cursor_open(txn, s->log, &c)) != 0) {
		store_error(rc, "log", cause);
		goto out;
	}
	store_be64(from, key);
	k.mv_data = key;
	k.mv_size = 8;
	for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		if (k.mv_size != 8) {
			xasprintf(cause, "log: a key of %zu bytes", k.mv_size);
			break;
		}
		e.seq = store_get_be64(k.mv_data);
		e.hash = v.mv_size >= JOURNAL_HASH_LEN ? v.mv_data : NULL;
		e.rec = e.hash != NULL ? e.hash + JOURNAL_HASH_LEN : NULL;
		e.len = e.hash != NULL ? v.mv_size - JOURNAL_HASH_LEN : 0;
		if (cb(&e, arg) != 0) {
			rc = MDB_NOTFOUND;
			break;
		}
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		ret = 0;
	else if (rc != 0)
		store_error(rc, "log", cause);
out:
	if (end != NULL)
		end(arg);
	store_rend(s, txn);
	return (ret);
}

static int
store_has_prefix(const MDB_val *k, const void *prefix, size_t plen)
{
	if (plen == 0)
		return (1);
	return (k->mv_size >= plen && memcmp(k->mv_data, prefix, plen) == 0);
}

/* Position C on the first row of the walk (the last one if REVERSE). */
static int
store_walk_start(MDB_cursor *c, MDB_val *k, MDB_val *v, const void *prefix,
    size_t plen, int reverse)
{
	uint8_t	*succ;
	size_t	 n;
	int	 rc;

	if (plen == 0)
		return (mdb_cursor_get(c, k, v, reverse ? MDB_LAST :
		    MDB_FIRST));
	if (!reverse) {
		k->mv_data = (void *)prefix;
		k->mv_size = plen;
		return (mdb_cursor_get(c, k, v, MDB_SET_RANGE));
	}
	/* The first key after every key with the prefix, then one back. */
	succ = xmalloc(plen);
	memcpy(succ, prefix, plen);
	for (n = plen; n > 0 && succ[n - 1] == 0xff; n--)
		;
	if (n == 0)
		rc = mdb_cursor_get(c, k, v, MDB_LAST);
	else {
		succ[n - 1]++;
		k->mv_data = succ;
		k->mv_size = n;
		rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
		if (rc == 0)
			rc = mdb_cursor_get(c, k, v, MDB_PREV);
		else if (rc == MDB_NOTFOUND)
			rc = mdb_cursor_get(c, k, v, MDB_LAST);
	}
	free(succ);
	return (rc);
}

/* The rows with PREFIX in key order (REVERSE: backwards), from the first
 * key at or after START when START is not NULL (REVERSE: from the last
 * key before it). */
static int
store_table_walk(struct store *s, const char *table, const void *prefix,
    size_t plen, const void *start, size_t slen, int reverse,
    int (*cb)(const struct journal_row *, void *), void (*end)(void *),
    void *arg, char **cause)
{
	struct journal_row	 row;
	MDB_txn			*txn;
	MDB_cursor		*c;
	MDB_dbi			 dbi;
	MDB_val			 k = { slen, (void *)start }, v;
	int			 rc;

	if (prefix == NULL)
		plen = 0;
	if (store_find_table(s, table, 0, &dbi) != 0) {
		if (end != NULL)
			end(arg);
		return (0);
	}
	if (store_rbegin(s, &txn, cause) != 0) {
		if (end != NULL)
			end(arg);
		return (-1);
	}
	if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
		goto out;
	if (start == NULL)
		rc = store_walk_start(c, &k, &v, prefix, plen, reverse);
	else if ((rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE)) == 0 &&
	    reverse)
		rc = mdb_cursor_get(c, &k, &v, MDB_PREV);
	else if (rc == MDB_NOTFOUND && reverse)
		rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
	while (rc == 0 && store_has_prefix(&k, prefix, plen)) {
		row.key = k.mv_data;
		row.klen = k.mv_size;
		row.val = v.mv_data;
		row.vlen = v.mv_size;
		if (cb(&row, arg) != 0)
			break;
		rc = mdb_cursor_get(c, &k, &v, reverse ? MDB_PREV : MDB_NEXT);
	}
	mdb_cursor_close(c);
	if (rc == MDB_NOTFOUND)
		rc = 0;
out:
	/* the rows handed to CB are valid until the transaction ends */
	if (end != NULL)
		end(arg);
	store_rend(s, txn);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		store_error(rc, table, cause);
		return (-1);
	}
	return (0);
}

static int
store_lmdb_table_foreach(struct store *s, const char *table,
    const void *prefix, size_t plen, int reverse,
    int (*cb)(const struct journal_row *, void *), void (*end)(void *),
    void *arg, char **cause)
{
	return (store_table_walk(s, table, prefix, plen, NULL, 0, reverse, cb,
	    end, arg, cause));
}

static int
store_lmdb_table_seek(struct store *s, const char *table,
    const void *prefix, size_t plen, const void *start, size_t slen,
    int reverse, int (*cb)(const struct journal_row *, void *), void *arg,
    char **cause)
{
	return (store_table_walk(s, table, prefix, plen, start, slen, reverse,
	    cb, NULL, arg, cause));
}

static int
store_lmdb_table_get(struct store *s, const char *table, const void *key,
    size_t klen, void **val, size_t *vlen, char **cause)
{
	MDB_txn	*txn;
	MDB_dbi	 dbi;
	MDB_val	 k = { klen, (void *)key }, v;
	int	 rc;

	if (klen == 0 || klen > JOURNAL_MAX_KEY ||
	    store_find_table(s, table, 0, &dbi) != 0)
		return (1);
	if (store_rbegin(s, &txn, cause) != 0)
		return (-1);
	rc = mdb_get(txn, dbi, &k, &v);
	if (rc == 0) {
		*val = xmalloc(v.mv_size + 1);
		memcpy(*val, v.mv_data, v.mv_size);
		((char *)*val)[v.mv_size] = '\0';
		*vlen = v.mv_size;
	}
	store_rend(s, txn);
	if (rc == MDB_NOTFOUND)
		return (1);
	if (rc != 0) {
		store_error(rc, table, cause);
		return (-1);
	}
	return (0);
}

static int
store_lmdb_dedup_get(struct store *s, const char *key, uint64_t *seq,
    char **cause)
{
	MDB_txn	*txn;
	MDB_val	 k = { strlen(key), (void *)key }, v;
	int	 rc;

	*seq = 0;
	if (k.mv_size == 0 || k.mv_size > JOURNAL_MAX_KEY)
		return (0);
	if (store_rbegin(s, &txn, cause) != 0)
		return (-1);
	rc = mdb_get(txn, s->dedup, &k, &v);
	if (rc == 0 && v.mv_size == 8)
		*seq = store_get_be64(v.mv_data);
	store_rend(s, txn);
	if (rc != 0 && rc != MDB_NOTFOUND) {
		store_error(rc, "dedup", cause);
		return (-1);
	}
	return (0);
}
