/*
 * journal/jrec.c: building a record on the loop.
 *
 * A record owns three buffers: the body (packed by the caller through a
 * msgpack packer whose writer appends to it), an arena holding the claim
 * keys, table names, keys and values, and the array of operations that
 * point into the arena by offset (a row that is also a part of the body,
 * jrec_put_body, is not copied: its operation points into the body).
 * Kind and account live in the same allocation as the struct.  Mistakes
 * (a bad table name, a key too long) are kept as a sticky error: the
 * record then fails with JOURNAL_ERROR when submitted, and nothing of it
 * is written.
 */
#include <sys/types.h>

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "journal.h"

static int	 jrec_write(void *, const char *, size_t);
static int	 jrec_append(struct jrec *, struct jbuf *, const void *,
		     size_t, uint32_t *);
static void	 jrec_error(struct jrec *, const char *, ...)
		     printflike(2, 3);
static struct jrec_op *jrec_add_op(struct jrec *, int);
static int	 jrec_check_table(struct jrec *, const char *);
static int	 jrec_check_key(struct jrec *, const char *, size_t);
static int	 jrec_body_shift(struct jrec *, size_t, size_t);
static void	 jrec_dedup(struct jrec *, int, const char *);
static struct jrec_op *jrec_put_start(struct jrec *, int, const char *,
		     const void *, size_t, size_t);
static void	 jrec_put_op(struct jrec *, int, const char *, const void *,
		     size_t, const void *, size_t);

/* Keep the first error only: it is the cause. */
static void
jrec_error(struct jrec *rec, const char *fmt, ...)
{
	va_list	ap;

	if (rec->error != NULL)
		return;
	va_start(ap, fmt);
	xvasprintf(&rec->error, fmt, ap);
	va_end(ap);
}

/* Append LEN bytes to BUF, growing it by doubling; OFF gets their offset.
 * Past JOURNAL_MAX_RECORD * 2 bytes the record fails. */
static int
jrec_append(struct jrec *rec, struct jbuf *buf, const void *data, size_t len,
    uint32_t *off)
{
	size_t	cap;

	if (len > (size_t)JOURNAL_MAX_RECORD * 2 - buf->len) {
		jrec_error(rec, "record larger than %d bytes",
		    JOURNAL_MAX_RECORD * 2);
		return (-1);
	}
	if (buf->len + len > buf->cap) {
		cap = buf->cap == 0 ? 256 : buf->cap;
		while (cap < buf->len + len)
			cap *= 2;
		buf->data = xreallocarray(buf->data, 1, cap);
		buf->cap = cap;
	}
	if (off != NULL)
		*off = (uint32_t)buf->len;
	if (len != 0)
		memcpy(buf->data + buf->len, data, len);
	buf->len += len;
	return (0);
}

/* The body packer's writer (called for every piece: keep it short). */
static int
jrec_write(void *data, const char *buf, size_t len)
{
	struct jrec	*rec = data;
	struct jbuf	*b = &rec->body;

	if (len <= b->cap - b->len) {
		memcpy(b->data + b->len, buf, len);
		b->len += len;
		return (0);
	}
	return (jrec_append(rec, b, buf, len, NULL));
}

struct jrec *
jrec_create(const char *kind, const char *account)
{
	struct jrec	*rec;
	size_t		 klen, alen = 0;
	char		*p;

	klen = strlen(kind);
	if (account != NULL)
		alen = strlen(account) + 1;
	rec = xcalloc(1, sizeof *rec + klen + 1 + alen);
	p = (char *)(rec + 1);
	memcpy(p, kind, klen + 1);
	rec->kind = p;
	if (account != NULL) {
		memcpy(p + klen + 1, account, alen);
		rec->account = p + klen + 1;
	}
	msgpack_packer_init(&rec->pk, rec, jrec_write);
	if (klen == 0 || klen > JOURNAL_MAX_STR)
		jrec_error(rec, "kind must be 1 to %d bytes", JOURNAL_MAX_STR);
	if (account != NULL && (alen == 1 || alen > JOURNAL_MAX_STR + 1))
		jrec_error(rec, "account must be 1 to %d bytes",
		    JOURNAL_MAX_STR);
	return (rec);
}

msgpack_packer *
jrec_body(struct jrec *rec)
{
	return (&rec->pk);
}

const void *
jrec_body_since(struct jrec *rec, size_t off, size_t *len)
{
	if (off > rec->body.len)
		off = rec->body.len;
	*len = rec->body.len - off;
	return (rec->body.data + off);
}

/* BUF with room for LEN more bytes, within jrec_append's limit. */
static void
jrec_buf_reserve(struct jbuf *buf, size_t len)
{
	size_t	max = (size_t)JOURNAL_MAX_RECORD * 2;

	if (len > max - buf->len)
		len = max - buf->len;
	if (buf->len + len <= buf->cap)
		return;
	buf->cap = buf->len + len;
	buf->data = xreallocarray(buf->data, 1, buf->cap);
}

void
jrec_reserve(struct jrec *rec, size_t body, size_t arena, size_t nops)
{
	jrec_buf_reserve(&rec->body, body);
	jrec_buf_reserve(&rec->arena, arena);
	if (nops > UINT_MAX - rec->nops)
		return;
	if (rec->nops + nops > rec->opcap) {
		rec->opcap = rec->nops + (u_int)nops;
		rec->ops = xreallocarray(rec->ops, rec->opcap,
		    sizeof *rec->ops);
	}
}

/*
 * The body's map header, its first OLD bytes, is to count one more entry
 * and grow by D bytes (maybe 0): the rows jrec_put_body took from the
 * body after the header move with what follows it; one that holds the
 * header (the body's map itself) is copied to the arena first, as it
 * was.
 */
static int
jrec_body_shift(struct jrec *rec, size_t old, size_t d)
{
	struct jrec_op	*op;
	uint32_t	 off;
	u_int		 i;

	for (i = 0; i < rec->nops; i++) {
		op = &rec->ops[i];
		if (!op->inbody)
			continue;
		if (op->val < old) {
			if (jrec_append(rec, &rec->arena, rec->body.data +
			    op->val, op->vlen, &off) != 0)
				return (-1);
			op->val = off;
			op->inbody = 0;
		} else
			op->val += (uint32_t)d;
	}
	return (0);
}

/*
 * Add KEY with VAL (LEN bytes of one packed msgpack value) to the body,
 * a map packed already: its header counts one more entry.  A body that
 * is not a map yet makes the record fail.
 */
void
jrec_body_add(struct jrec *rec, const char *key, const void *val, size_t len)
{
	struct jbuf		*b = &rec->body;
	unsigned char		*p = (unsigned char *)b->data, hdr[5];
	uint64_t		 n;
	size_t			 old, new;
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;

	if (b->len == 0)
		goto bad;
	if ((p[0] & 0xf0) == 0x80) {
		n = p[0] & 0x0f;
		old = 1;
	} else if (p[0] == 0xde && b->len >= 3) {
		n = (uint64_t)p[1] << 8 | p[2];
		old = 3;
	} else if (p[0] == 0xdf && b->len >= 5) {
		n = (uint64_t)p[1] << 24 | (uint64_t)p[2] << 16 |
		    (uint64_t)p[3] << 8 | p[4];
		old = 5;
	} else
		goto bad;
	n++;
	if (n < 16) {
		hdr[0] = 0x80 | (unsigned char)n;
		new = 1;
	} else if (n < 65536) {
		hdr[0] = 0xde;
		hdr[1] = (unsigned char)(n >> 8);
		hdr[2] = (unsigned char)n;
		new = 3;
	} else {
		hdr[0] = 0xdf;
		hdr[1] = (unsigned char)(n >> 24);
		hdr[2] = (unsigned char)(n >> 16);
		hdr[3] = (unsigned char)(n >> 8);
		hdr[4] = (unsigned char)n;
		new = 5;
	}
	if (jrec_body_shift(rec, old, new - old) != 0)
		return;
	if (new > old && jrec_append(rec, b, hdr, new - old, NULL) != 0)
		return;
	p = (unsigned char *)b->data;
	if (new != old)
		memmove(p + new, p + old, b->len - (new - old) - old);
	memcpy(p, hdr, new);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_str(&pk, strlen(key));
	msgpack_pack_str_body(&pk, key, strlen(key));
	(void)jrec_append(rec, b, sb.data, sb.size, NULL);
	msgpack_sbuffer_destroy(&sb);
	(void)jrec_append(rec, b, val, len, NULL);
	return;
bad:
	jrec_error(rec, "body: a key added before the map");
}

static struct jrec_op *
jrec_add_op(struct jrec *rec, int type)
{
	struct jrec_op	*op;

	if (rec->nops == rec->opcap) {
		rec->opcap = rec->opcap == 0 ? 4 : rec->opcap * 2;
		rec->ops = xreallocarray(rec->ops, rec->opcap,
		    sizeof *rec->ops);
	}
	op = &rec->ops[rec->nops++];
	memset(op, 0, sizeof *op);
	op->type = type;
	return (op);
}

static int
jrec_check_key(struct jrec *rec, const char *what, size_t len)
{
	if (len == 0 || len > JOURNAL_MAX_KEY) {
		jrec_error(rec, "%s of %zu bytes (1 to %d allowed)", what, len,
		    JOURNAL_MAX_KEY);
		return (-1);
	}
	return (0);
}

static int
jrec_check_table(struct jrec *rec, const char *table)
{
	if (!valid_id(table) || strcmp(table, "log") == 0 ||
	    strcmp(table, "dedup") == 0 || strcmp(table, "meta") == 0) {
		jrec_error(rec, "invalid table name \"%.64s\"", table);
		return (-1);
	}
	return (0);
}

/* A claim or a release (TYPE) of the dedup KEY. */
static void
jrec_dedup(struct jrec *rec, int type, const char *key)
{
	struct jrec_op	*op;
	size_t		 len = strlen(key);

	if (jrec_check_key(rec, "dedup key", len) != 0)
		return;
	op = jrec_add_op(rec, type);
	jrec_append(rec, &rec->arena, key, len + 1, &op->name);
}

void
jrec_claim(struct jrec *rec, const char *key)
{
	jrec_dedup(rec, JREC_CLAIM, key);
}

void
jrec_release(struct jrec *rec, const char *key)
{
	jrec_dedup(rec, JREC_RELEASE, key);
}

void
jrec_put(struct jrec *rec, const char *table, const void *key, size_t klen,
    const void *val, size_t vlen)
{
	jrec_put_op(rec, JREC_PUT, table, key, klen, val, vlen);
}

void
jrec_put_lazy(struct jrec *rec, const char *table, const void *key,
    size_t klen, const void *val, size_t vlen)
{
	jrec_put_op(rec, JREC_PUT_LAZY, table, key, klen, val, vlen);
}

/* An operation of TYPE on KEY of TABLE with a value of VLEN bytes, its
 * name and key in the arena; NULL (the record fails) if one is bad. */
static struct jrec_op *
jrec_put_start(struct jrec *rec, int type, const char *table,
    const void *key, size_t klen, size_t vlen)
{
	struct jrec_op	*op;

	if (jrec_check_table(rec, table) != 0 ||
	    jrec_check_key(rec, "key", klen) != 0)
		return (NULL);
	if (vlen > JOURNAL_MAX_RECORD) {
		jrec_error(rec, "value of %zu bytes (at most %d allowed)",
		    vlen, JOURNAL_MAX_RECORD);
		return (NULL);
	}
	op = jrec_add_op(rec, type);
	jrec_append(rec, &rec->arena, table, strlen(table) + 1, &op->name);
	jrec_append(rec, &rec->arena, key, klen, &op->key);
	op->klen = (uint32_t)klen;
	op->vlen = (uint32_t)vlen;
	return (op);
}

static void
jrec_put_op(struct jrec *rec, int type, const char *table, const void *key,
    size_t klen, const void *val, size_t vlen)
{
	struct jrec_op	*op;

	if ((op = jrec_put_start(rec, type, table, key, klen, vlen)) != NULL)
		jrec_append(rec, &rec->arena, val, vlen, &op->val);
}

void
jrec_put_body(struct jrec *rec, const char *table, const void *key,
    size_t klen, size_t off, size_t len)
{
	struct jrec_op	*op;

	if (off > rec->body.len || len > rec->body.len - off) {
		jrec_error(rec, "a row of %zu bytes at %zu, past the body's "
		    "%zu", len, off, rec->body.len);
		return;
	}
	if ((op = jrec_put_start(rec, JREC_PUT, table, key, klen, len)) ==
	    NULL)
		return;
	op->inbody = 1;
	op->val = (uint32_t)off;
}

void
jrec_merge(struct jrec *rec, const char *table, const void *key, size_t klen,
    journal_merge_fn fn, const void *delta, size_t dlen)
{
	jrec_merge_all(rec, table, key, klen, fn, NULL, delta, dlen);
}

void
jrec_merge_all(struct jrec *rec, const char *table, const void *key,
    size_t klen, journal_merge_fn fn, journal_merge_all_fn all,
    const void *delta, size_t dlen)
{
	struct jrec_op	*op;

	if (jrec_check_table(rec, table) != 0 ||
	    jrec_check_key(rec, "key", klen) != 0)
		return;
	if (dlen > JOURNAL_MAX_RECORD) {
		jrec_error(rec, "delta of %zu bytes (at most %d allowed)",
		    dlen, JOURNAL_MAX_RECORD);
		return;
	}
	op = jrec_add_op(rec, JREC_MERGE);
	jrec_append(rec, &rec->arena, table, strlen(table) + 1, &op->name);
	jrec_append(rec, &rec->arena, key, klen, &op->key);
	jrec_append(rec, &rec->arena, delta, dlen, &op->val);
	op->klen = (uint32_t)klen;
	op->vlen = (uint32_t)dlen;
	op->merge = fn;
	op->merge_all = all;
}

void
jrec_del(struct jrec *rec, const char *table, const void *key, size_t klen)
{
	struct jrec_op	*op;

	if (jrec_check_table(rec, table) != 0 ||
	    jrec_check_key(rec, "key", klen) != 0)
		return;
	op = jrec_add_op(rec, JREC_DEL);
	jrec_append(rec, &rec->arena, table, strlen(table) + 1, &op->name);
	jrec_append(rec, &rec->arena, key, klen, &op->key);
	op->klen = (uint32_t)klen;
}

void
jrec_free(struct jrec *rec)
{
	if (rec == NULL)
		return;
	free(rec->body.data);
	free(rec->arena.data);
	free(rec->ops);
	free(rec->error);
	free(rec->result_error);
	free(rec->note);
	free(rec);
}

int
jrec_seal(struct jrec *rec)
{
	char	*cause;

	if (rec->error != NULL)
		return (-1);
	if (record_check_body(rec->body.data, rec->body.len, &cause) != 0) {
		rec->error = cause;
		return (-1);
	}
	return (0);
}

void
jrec_fail(struct jrec *rec, const char *msg, const char *reason)
{
	rec->status = JOURNAL_ERROR;
	free(rec->result_error);
	rec->result_error = xstrdup(msg);
	rec->result_reason = reason;
}

void
jrec_failfast(struct jrec *rec)
{
	rec->failfast = 1;
}

const char *
jrec_str(const struct jrec *rec, uint32_t off)
{
	return (rec->arena.data + off);
}

/* OP's value (a put's row, a merge's delta). */
const char *
jrec_val(const struct jrec *rec, const struct jrec_op *op)
{
	return ((op->inbody ? rec->body.data : rec->arena.data) + op->val);
}
