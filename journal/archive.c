/*
 * journal/archive.c: an archived prefix of the log in one file
 * (doc/journal-format.md, "Archives").  The file is a stream of msgpack
 * values: a header map (the journal, the anchor the records follow), one
 * array [seq, hash || record] per record, exactly as the log held it, and
 * a trailer map (the last seq and hash, the count).  A file without its
 * trailer was cut short.  Writing goes to FILE.tmp, synced, then renamed;
 * reading checks the framing, and leaves the chain to the caller.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <msgpack/fbuffer.h>

#include "engine.h"
#include "journal.h"

#define ARCHIVE_FORMAT		"chime-journal-archive"
#define ARCHIVE_VERSION		1
#define ARCHIVE_READ_CHUNK	(256 * 1024)

struct archive_writer {
	char		*path;
	char		*tmp;
	FILE		*fp;
	msgpack_packer	 pk;
	uint64_t	 next;		/* the seq expected next */
	uint64_t	 records;
	uint8_t		 last[JOURNAL_HASH_LEN];
};

struct archive_state;

static void	 archive_pack_str(msgpack_packer *, const char *);
static void	 archive_pack_bin(msgpack_packer *, const void *, size_t);
static void	 archive_pack_range(msgpack_packer *,
		     const struct merkle_range *);
static int	 archive_sync_dir(const char *, char **);
static const msgpack_object *archive_get(const msgpack_object *,
		     const char *);
static int	 archive_uint(const msgpack_object *, const char *,
		     uint64_t *, char **);
static int	 archive_hash(const msgpack_object *, const char *, uint8_t *,
		     char **);
static int	 archive_head(const msgpack_object *, struct archive_head *,
		     char **);
static int	 archive_entry(struct archive_state *, const uint8_t *,
		     size_t);
static uint64_t	 archive_be(const uint8_t *, size_t);
static int	 archive_fast(struct archive_state *, msgpack_unpacker *,
		     int *);
static int	 archive_tail(const msgpack_object *, struct archive_tail *,
		     char **);

static void
archive_pack_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str(pk, strlen(s));
	msgpack_pack_str_body(pk, s, strlen(s));
}

static void
archive_pack_bin(msgpack_packer *pk, const void *p, size_t len)
{
	msgpack_pack_bin(pk, len);
	msgpack_pack_bin_body(pk, p, len);
}

/* A compact range as meta keeps it: 8 bytes of size, then the hashes. */
static void
archive_pack_range(msgpack_packer *pk, const struct merkle_range *r)
{
	uint8_t	 buf[8 + MERKLE_RANGE_MAX * MERKLE_HASH_LEN];
	size_t	 n = (size_t)__builtin_popcountll(r->size);

	store_be64(r->size, buf);
	memcpy(buf + 8, r->hash, n * MERKLE_HASH_LEN);
	archive_pack_bin(pk, buf, 8 + n * MERKLE_HASH_LEN);
}

struct archive_writer *
archive_create(const char *path, const struct archive_head *h, char **cause)
{
	struct archive_writer	*w;
	int			 fd;

	if (access(path, F_OK) == 0) {
		xasprintf(cause, "%s exists (an archive is never overwritten)",
		    path);
		return (NULL);
	}
	w = xcalloc(1, sizeof *w);
	w->path = xstrdup(path);
	xasprintf(&w->tmp, "%s.tmp", path);
	fd = open(w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd == -1 || (w->fp = fdopen(fd, "w")) == NULL) {
		xasprintf(cause, "%s: %s%s", w->tmp, strerror(errno),
		    errno == EEXIST ? " (left by an archive that did not "
		    "finish: remove it)" : "");
		if (fd != -1)
			close(fd);
		free(w->tmp);
		free(w->path);
		free(w);
		return (NULL);
	}
	msgpack_packer_init(&w->pk, w->fp, msgpack_fbuffer_write);
	msgpack_pack_map(&w->pk, 7);
	archive_pack_str(&w->pk, "format");
	archive_pack_str(&w->pk, ARCHIVE_FORMAT);
	archive_pack_str(&w->pk, "version");
	msgpack_pack_uint64(&w->pk, ARCHIVE_VERSION);
	archive_pack_str(&w->pk, "journal_id");
	archive_pack_str(&w->pk, h->journal_id);
	archive_pack_str(&w->pk, "anchor_seq");
	msgpack_pack_uint64(&w->pk, h->anchor_seq);
	archive_pack_str(&w->pk, "anchor_hash");
	archive_pack_bin(&w->pk, h->anchor_hash, JOURNAL_HASH_LEN);
	archive_pack_str(&w->pk, "anchor_range");
	archive_pack_range(&w->pk, &h->anchor_range);
	archive_pack_str(&w->pk, "created_us");
	msgpack_pack_int64(&w->pk, h->created_us);
	w->next = h->anchor_seq + 1;
	memcpy(w->last, h->anchor_hash, JOURNAL_HASH_LEN);
	return (w);
}

int
archive_add(struct archive_writer *w, const struct journal_entry *e,
    char **cause)
{
	if (e->seq != w->next || e->hash == NULL) {
		xasprintf(cause, "seq %llu: %s", (unsigned long long)w->next,
		    e->hash == NULL ? "value shorter than a hash" : "missing");
		return (-1);
	}
	msgpack_pack_array(&w->pk, 2);
	msgpack_pack_uint64(&w->pk, e->seq);
	msgpack_pack_bin(&w->pk, JOURNAL_HASH_LEN + e->len);
	msgpack_pack_bin_body(&w->pk, e->hash, JOURNAL_HASH_LEN);
	msgpack_pack_bin_body(&w->pk, e->rec, e->len);
	memcpy(w->last, e->hash, JOURNAL_HASH_LEN);
	w->next++;
	w->records++;
	if (ferror(w->fp)) {
		xasprintf(cause, "%s: %s", w->tmp, strerror(errno));
		return (-1);
	}
	return (0);
}

/* fsync the directory holding PATH, so that a rename in it is durable. */
static int
archive_sync_dir(const char *path, char **cause)
{
	char	*copy = xstrdup(path);
	int	 fd, rc = 0;

	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || fsync(fd) != 0) {
		xasprintf(cause, "%s: %s", dirname(copy), strerror(errno));
		rc = -1;
	}
	if (fd != -1)
		close(fd);
	free(copy);
	return (rc);
}

int
archive_finish(struct archive_writer *w, char **cause)
{
	int	rc = -1;

	msgpack_pack_map(&w->pk, 3);
	archive_pack_str(&w->pk, "last_seq");
	msgpack_pack_uint64(&w->pk, w->next - 1);
	archive_pack_str(&w->pk, "last_hash");
	archive_pack_bin(&w->pk, w->last, JOURNAL_HASH_LEN);
	archive_pack_str(&w->pk, "records");
	msgpack_pack_uint64(&w->pk, w->records);
	if (fflush(w->fp) != 0 || ferror(w->fp) || fsync(fileno(w->fp)) != 0)
		xasprintf(cause, "%s: %s", w->tmp, strerror(errno));
	else if (link(w->tmp, w->path) != 0)	/* never over another file */
		xasprintf(cause, "%s: %s", w->path, strerror(errno));
	else if (unlink(w->tmp) != 0)
		xasprintf(cause, "%s: %s", w->tmp, strerror(errno));
	else
		rc = archive_sync_dir(w->path, cause);
	if (fclose(w->fp) != 0 && rc == 0) {
		xasprintf(cause, "%s: %s", w->tmp, strerror(errno));
		rc = -1;
	}
	w->fp = NULL;
	if (rc != 0)
		unlink(w->tmp);
	free(w->tmp);
	free(w->path);
	free(w);
	return (rc);
}

void
archive_discard(struct archive_writer *w)
{
	if (w == NULL)
		return;
	if (w->fp != NULL)
		fclose(w->fp);
	unlink(w->tmp);
	free(w->tmp);
	free(w->path);
	free(w);
}

/* The value under string key KEY of map O, or NULL. */
static const msgpack_object *
archive_get(const msgpack_object *o, const char *key)
{
	size_t	i, len = strlen(key);

	for (i = 0; i < o->via.map.size; i++) {
		const msgpack_object_kv	*kv = &o->via.map.ptr[i];

		if (kv->key.type == MSGPACK_OBJECT_STR &&
		    kv->key.via.str.size == len &&
		    memcmp(kv->key.via.str.ptr, key, len) == 0)
			return (&kv->val);
	}
	return (NULL);
}

static int
archive_uint(const msgpack_object *o, const char *key, uint64_t *v,
    char **cause)
{
	const msgpack_object	*x = archive_get(o, key);

	if (x == NULL || x->type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		xasprintf(cause, "%s: %s", key, x == NULL ? "missing" :
		    "not an unsigned integer");
		return (-1);
	}
	*v = x->via.u64;
	return (0);
}

static int
archive_hash(const msgpack_object *o, const char *key, uint8_t *hash,
    char **cause)
{
	const msgpack_object	*x = archive_get(o, key);

	if (x == NULL || x->type != MSGPACK_OBJECT_BIN ||
	    x->via.bin.size != JOURNAL_HASH_LEN) {
		xasprintf(cause, "%s: %s", key, x == NULL ? "missing" :
		    "not 32 bytes of binary");
		return (-1);
	}
	memcpy(hash, x->via.bin.ptr, JOURNAL_HASH_LEN);
	return (0);
}

static int
archive_head(const msgpack_object *o, struct archive_head *h, char **cause)
{
	const msgpack_object	*x;
	uint64_t		 version, size;
	char			*why;

	memset(h, 0, sizeof *h);
	x = o->type == MSGPACK_OBJECT_MAP ? archive_get(o, "format") : NULL;
	if (x == NULL || x->type != MSGPACK_OBJECT_STR ||
	    x->via.str.size != strlen(ARCHIVE_FORMAT) ||
	    memcmp(x->via.str.ptr, ARCHIVE_FORMAT, x->via.str.size) != 0) {
		*cause = xstrdup("not a chime journal archive (no header)");
		return (-1);
	}
	if (archive_uint(o, "version", &version, cause) != 0)
		return (-1);
	if (version != ARCHIVE_VERSION) {
		xasprintf(cause, "archive version %llu is not supported",
		    (unsigned long long)version);
		return (-1);
	}
	x = archive_get(o, "journal_id");
	if (x == NULL || x->type != MSGPACK_OBJECT_STR ||
	    x->via.str.size != 32) {
		*cause = xstrdup("journal_id: not 32 characters");
		return (-1);
	}
	memcpy(h->journal_id, x->via.str.ptr, 32);
	if (archive_uint(o, "anchor_seq", &h->anchor_seq, cause) != 0 ||
	    archive_hash(o, "anchor_hash", h->anchor_hash, cause) != 0)
		return (-1);
	x = archive_get(o, "anchor_range");
	if (x == NULL || x->type != MSGPACK_OBJECT_BIN ||
	    x->via.bin.size < 8 ||
	    (x->via.bin.size - 8) % MERKLE_HASH_LEN != 0) {
		*cause = xstrdup("anchor_range: not a compact range");
		return (-1);
	}
	size = store_get_be64(x->via.bin.ptr);
	if (merkle_range_set(&h->anchor_range, size,
	    (const unsigned char *)x->via.bin.ptr + 8,
	    (x->via.bin.size - 8) / MERKLE_HASH_LEN, &why) != 0 ||
	    size != h->anchor_seq) {
		xasprintf(cause, "anchor_range: %s", size != h->anchor_seq ?
		    "not of anchor_seq leaves" : why);
		if (size == h->anchor_seq)
			free(why);
		return (-1);
	}
	x = archive_get(o, "created_us");
	if (x != NULL && (x->type == MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    x->type == MSGPACK_OBJECT_NEGATIVE_INTEGER))
		h->created_us = x->via.i64;
	return (0);
}

static int
archive_tail(const msgpack_object *o, struct archive_tail *t, char **cause)
{
	if (archive_uint(o, "last_seq", &t->last_seq, cause) != 0 ||
	    archive_hash(o, "last_hash", t->last_hash, cause) != 0 ||
	    archive_uint(o, "records", &t->records, cause) != 0)
		return (-1);
	return (0);
}

/* One value of the stream: the header, an entry, or the trailer. */
struct archive_state {
	struct archive_head	*h;
	struct archive_tail	*t;
	int			 have_head;
	int			 have_tail;
	uint64_t		 next;
	uint64_t		 records;
	uint8_t			 last[JOURNAL_HASH_LEN];
	int			(*cb)(const struct journal_entry *, void *);
	void			*arg;
};

/* 0 to go on, 1 stopped by the callback, -1 and *cause. */
static int
archive_value(struct archive_state *st, const msgpack_object *o,
    char **cause)
{
	const msgpack_object	*a;

	if (st->have_tail) {
		*cause = xstrdup("data after the trailer");
		return (-1);
	}
	if (!st->have_head) {
		if (archive_head(o, st->h, cause) != 0)
			return (-1);
		st->have_head = 1;
		st->next = st->h->anchor_seq + 1;
		memcpy(st->last, st->h->anchor_hash, JOURNAL_HASH_LEN);
		return (0);
	}
	if (o->type == MSGPACK_OBJECT_MAP) {
		if (archive_tail(o, st->t, cause) != 0)
			return (-1);
		st->have_tail = 1;
		if (st->t->last_seq != st->next - 1 ||
		    st->t->records != st->records ||
		    memcmp(st->t->last_hash, st->last, JOURNAL_HASH_LEN) != 0) {
			xasprintf(cause, "the trailer says %llu records to seq "
			    "%llu, the file holds %llu to seq %llu%s",
			    (unsigned long long)st->t->records,
			    (unsigned long long)st->t->last_seq,
			    (unsigned long long)st->records,
			    (unsigned long long)st->next - 1,
			    st->t->last_seq == st->next - 1 ? " (another "
			    "last hash)" : "");
			return (-1);
		}
		return (0);
	}
	a = o->via.array.ptr;
	if (o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size != 2 ||
	    a[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER ||
	    a[1].type != MSGPACK_OBJECT_BIN ||
	    a[1].via.bin.size <= JOURNAL_HASH_LEN) {
		xasprintf(cause, "after seq %llu: not a [seq, hash and record] "
		    "entry", (unsigned long long)st->next - 1);
		return (-1);
	}
	if (a[0].via.u64 != st->next) {
		xasprintf(cause, "seq %llu: missing (the next entry is seq "
		    "%llu)", (unsigned long long)st->next,
		    (unsigned long long)a[0].via.u64);
		return (-1);
	}
	return (archive_entry(st, (const uint8_t *)a[1].via.bin.ptr,
	    a[1].via.bin.size));
}

/* The next entry, whose value is LEN bytes of hash and record at P, to the
 * callback: 0 to go on, 1 stopped by it. */
static int
archive_entry(struct archive_state *st, const uint8_t *p, size_t len)
{
	struct journal_entry	e;

	e.seq = st->next++;
	e.hash = p;
	e.rec = p + JOURNAL_HASH_LEN;
	e.len = len - JOURNAL_HASH_LEN;
	memcpy(st->last, e.hash, JOURNAL_HASH_LEN);
	st->records++;
	return (st->cb(&e, st->arg) != 0 ? 1 : 0);
}

/* A big-endian integer of SIZE bytes at P. */
static uint64_t
archive_be(const uint8_t *p, size_t size)
{
	uint64_t	v = 0;
	size_t		i;

	for (i = 0; i < size; i++)
		v = v << 8 | p[i];
	return (v);
}

/*
 * The next entry straight from U's buffer, without msgpack-c (whose zone
 * per value is most of the cost of reading an archive): taken only when
 * it is whole in the buffer, in archive_add's encoding ([uint seq, bin 8,
 * 16 or 32 of more than a hash]) and the seq expected, and U is between
 * two values.  Returns 1 when taken (U moved past it as
 * msgpack_unpacker_next would, *RC the callback's 0 or 1), 0 to leave the
 * value to msgpack_unpacker_next, which says what is wrong with it.
 */
static int
archive_fast(struct archive_state *st, msgpack_unpacker *u, int *rc)
{
	const uint8_t	*p = (const uint8_t *)u->buffer + u->off;
	size_t		 n = u->used - u->off, off = 2, size;
	uint64_t	 seq, len;

	if (!st->have_head || n < 3 || p[0] != 0x92)
		return (0);
	if (p[1] <= 0x7f)
		seq = p[1];
	else if (p[1] >= 0xcc && p[1] <= 0xcf) {
		size = (size_t)1 << (p[1] - 0xcc);
		if (n - off < size)
			return (0);
		seq = archive_be(p + off, size);
		off += size;
	} else
		return (0);
	if (off >= n || p[off] < 0xc4 || p[off] > 0xc6)
		return (0);
	size = (size_t)1 << (p[off++] - 0xc4);
	if (n - off < size)
		return (0);
	len = archive_be(p + off, size);
	off += size;
	if (seq != st->next || len <= JOURNAL_HASH_LEN || len > n - off)
		return (0);
	u->off += off + len;
	*rc = archive_entry(st, p + off, len);
	return (1);
}

int
archive_read(const char *path, struct archive_head *h,
    int (*cb)(const struct journal_entry *, void *), void *arg,
    struct archive_tail *t, char **cause)
{
	struct archive_state	 st;
	msgpack_unpacker	 u;
	msgpack_unpacked	 v;
	msgpack_unpack_return	 ur;
	FILE			*fp;
	size_t			 got;
	char			*why = NULL;
	int			 rc = 0, partial = 0;

	if ((fp = fopen(path, "re")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return (-1);
	}
	memset(&st, 0, sizeof st);
	memset(t, 0, sizeof *t);
	st.h = h;
	st.t = t;
	st.cb = cb;
	st.arg = arg;
	if (!msgpack_unpacker_init(&u, ARCHIVE_READ_CHUNK))
		fatalx("out of memory");
	msgpack_unpacked_init(&v);
	while (rc == 0) {
		if (!msgpack_unpacker_reserve_buffer(&u, ARCHIVE_READ_CHUNK))
			fatalx("out of memory");
		got = fread(msgpack_unpacker_buffer(&u), 1, ARCHIVE_READ_CHUNK,
		    fp);
		msgpack_unpacker_buffer_consumed(&u, got);
		/* After CONTINUE, U holds a value begun: msgpack-c ends it. */
		ur = MSGPACK_UNPACK_SUCCESS;
		while (rc == 0) {
			if (!partial && !st.have_tail &&
			    archive_fast(&st, &u, &rc))
				continue;
			if ((ur = msgpack_unpacker_next(&u, &v)) !=
			    MSGPACK_UNPACK_SUCCESS)
				break;
			partial = 0;
			rc = archive_value(&st, &v.data, &why);
		}
		partial = ur == MSGPACK_UNPACK_CONTINUE;
		if (rc == 0 && ur != MSGPACK_UNPACK_CONTINUE) {
			why = xstrdup(ur == MSGPACK_UNPACK_NOMEM_ERROR ?
			    "a value declares more than memory holds" :
			    "not msgpack");
			rc = -1;
		}
		if (rc != 0 || got < ARCHIVE_READ_CHUNK)
			break;
	}
	if (rc == 0 && ferror(fp)) {
		xasprintf(&why, "%s", strerror(errno));
		rc = -1;
	} else if (rc == 0 && st.have_tail &&
	    u.used > u.off)
		why = xstrdup("data after the trailer");
	else if (rc == 0 && !st.have_tail)
		why = xstrdup(st.have_head ? "no trailer: the file was cut "
		    "short" : "empty, or not a chime journal archive");
	if (why != NULL) {
		xasprintf(cause, "%s: %s", path, why);
		free(why);
		rc = -1;
	}
	msgpack_unpacked_destroy(&v);
	msgpack_unpacker_destroy(&u);
	fclose(fp);
	return (rc);
}
