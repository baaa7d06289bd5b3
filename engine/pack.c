/*
 * engine/pack.c: small msgpack helpers for records and state rows: keyed
 * writers for map entries, a map whose size is counted from its entries,
 * and typed readers of a decoded map.
 */
#include <stdlib.h>
#include <string.h>

#include "engine.h"

void
pack_str(msgpack_packer *pk, const char *s)
{
	size_t	len;

	if (s == NULL) {
		msgpack_pack_nil(pk);
		return;
	}
	len = strlen(s);
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, s, len);
}

void
pack_kstr(msgpack_packer *pk, const char *key, const char *val)
{
	pack_str(pk, key);
	pack_str(pk, val);
}

void
pack_kint(msgpack_packer *pk, const char *key, int64_t val)
{
	pack_str(pk, key);
	msgpack_pack_int64(pk, val);
}

void
pack_kbool(msgpack_packer *pk, const char *key, int val)
{
	pack_str(pk, key);
	if (val)
		msgpack_pack_true(pk);
	else
		msgpack_pack_false(pk);
}

/* A JSON text stored as a msgpack string under KEY ("{}" if NULL). */
void
pack_kjson(msgpack_packer *pk, const char *key, const char *json)
{
	pack_kstr(pk, key, json != NULL ? json : "{}");
}

/* Append bytes that are msgpack already (a packed object). */
void
pack_raw(msgpack_packer *pk, const void *data, size_t len)
{
	pk->callback(pk->data, data, len);
}

/* Big-endian unsigned integer of N bytes at P. */
static uint64_t
pack_be(const unsigned char *p, size_t n)
{
	uint64_t	v = 0;

	while (n-- > 0)
		v = v << 8 | *p++;
	return (v);
}

/*
 * The number of objects one after another in P (LEN bytes, as a packer
 * wrote them), the objects inside each one not counted.  One walk: every
 * object takes one from PENDING (those still to come inside containers)
 * or, with none pending, is one of the outer ones; a container adds its
 * elements to PENDING.
 */
static uint64_t
pack_count(const unsigned char *p, size_t len)
{
	static const unsigned char fixed[32] = {	/* 0xc0 .. 0xdf */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 8, 1, 2, 4, 8,
		1, 2, 4, 8, 2, 3, 5, 9, 17, 0, 0, 0, 0, 0, 0, 0
	};
	uint64_t	outer = 0, pending = 0;
	size_t		off = 0, n;
	unsigned char	c;

	while (off < len) {
		if (pending > 0)
			pending--;
		else
			outer++;
		c = p[off++];
		if (c <= 0x7f || c >= 0xe0)		/* fixint */
			continue;
		if (c <= 0x8f)				/* fixmap */
			pending += 2 * (uint64_t)(c & 0x0f);
		else if (c <= 0x9f)			/* fixarray */
			pending += c & 0x0f;
		else if (c <= 0xbf)			/* fixstr */
			off += c & 0x1f;
		else if (c == 0xc4 || c == 0xd9)	/* bin 8, str 8 */
			off += 1 + (off < len ? p[off] : 0);
		else if (c == 0xc5 || c == 0xda || c == 0xc6 || c == 0xdb) {
			n = c == 0xc5 || c == 0xda ? 2 : 4;
			off += n + (off + n <= len ? pack_be(p + off, n) : 0);
		} else if (c >= 0xc7 && c <= 0xc9) {	/* ext 8/16/32 */
			n = (size_t)1 << (c - 0xc7);
			off += n + 1 + (off + n <= len ? pack_be(p + off, n) :
			    0);
		} else if (c >= 0xdc) {			/* array, map 16/32 */
			n = c == 0xdc || c == 0xde ? 2 : 4;
			if (off + n <= len)
				pending += pack_be(p + off, n) *
				    (c >= 0xde ? 2 : 1);
			off += n;
		} else
			off += fixed[c - 0xc0];
	}
	return (outer);
}

/* Where a counted map's entries are packed aside: on the stack while they
 * are small, on the heap beyond. */
struct pack_scratch {
	char	 stack[1024];
	char	*data;
	size_t	 len;
	size_t	 cap;
};

static int
pack_scratch_write(void *arg, const char *buf, size_t len)
{
	struct pack_scratch	*ps = arg;
	size_t			 cap = ps->cap;

	while (cap - ps->len < len)
		cap *= 2;
	if (cap != ps->cap) {
		if (ps->data == ps->stack) {
			ps->data = xmalloc(cap);
			memcpy(ps->data, ps->stack, ps->len);
		} else
			ps->data = xreallocarray(ps->data, cap, 1);
		ps->cap = cap;
	}
	memcpy(ps->data + ps->len, buf, len);
	ps->len += len;
	return (0);
}

/*
 * Pack into PK a map whose entries FN packs (a key, then its value, and
 * so on) into the packer it is given, ARG its argument: the entries are
 * packed aside first and counted, so the map's size is never written by
 * hand.  The bytes are those of msgpack_pack_map with the right size
 * followed by the entries.
 */
void
pack_map_counted(msgpack_packer *pk, pack_entries_fn fn, const void *arg)
{
	struct pack_scratch	ps;
	msgpack_packer		aside;
	uint64_t		n;

	ps.data = ps.stack;
	ps.len = 0;
	ps.cap = sizeof ps.stack;
	msgpack_packer_init(&aside, &ps, pack_scratch_write);
	fn(&aside, arg);
	n = pack_count((const unsigned char *)ps.data, ps.len);
	if (n % 2 != 0 || n / 2 > UINT32_MAX)
		fatalx("pack_map_counted: %llu objects for a map",
		    (unsigned long long)n);
	msgpack_pack_map(pk, (size_t)(n / 2));
	if (ps.len > 0)
		pack_raw(pk, ps.data, ps.len);
	if (ps.data != ps.stack)
		free(ps.data);
}

/*
 * A map of the N pairs of V: its size is N, counted here rather than by
 * the caller.  Each pair packs as pack_kstr, pack_kint, pack_kbool or
 * pack_kjson would, or (PACK_RAW) as its key followed by bytes that are
 * msgpack already.
 */
void
pack_map(msgpack_packer *pk, const struct pack_pair *v, size_t n)
{
	size_t	i;

	msgpack_pack_map(pk, n);
	for (i = 0; i < n; i++) {
		if (v[i].key == NULL)
			fatalx("pack_map: pair %zu has no key", i);
		switch (v[i].kind) {
		case PACK_STR:
			pack_kstr(pk, v[i].key, v[i].s);
			break;
		case PACK_INT:
			pack_kint(pk, v[i].key, v[i].i);
			break;
		case PACK_BOOL:
			pack_kbool(pk, v[i].key, v[i].i != 0);
			break;
		case PACK_JSON:
			pack_kjson(pk, v[i].key, v[i].s);
			break;
		case PACK_RAW:
			pack_str(pk, v[i].key);
			pack_raw(pk, v[i].s, (size_t)v[i].i);
			break;
		}
	}
}

/* The value under KEY in map O, or NULL. */
const msgpack_object *
unpack_get(const msgpack_object *o, const char *key)
{
	const msgpack_object_kv	*kv;
	size_t			 len = strlen(key);
	uint32_t		 i;

	if (o == NULL || o->type != MSGPACK_OBJECT_MAP)
		return (NULL);
	for (i = 0; i < o->via.map.size; i++) {
		kv = &o->via.map.ptr[i];
		if (kv->key.type == MSGPACK_OBJECT_STR &&
		    kv->key.via.str.size == len &&
		    memcmp(kv->key.via.str.ptr, key, len) == 0)
			return (&kv->val);
	}
	return (NULL);
}

/*
 * Index map O by the N names in KEYS in one pass: VALS[i] is the value of
 * KEYS[i], or NULL.  Rows are written in the order of KEYS, so each key is
 * usually matched at the first comparison.
 */
void
unpack_index(const msgpack_object *o, const char *const *keys, size_t n,
    const msgpack_object **vals)
{
	const msgpack_object_kv	*kv;
	size_t			 j, idx, hint = 0;
	uint32_t		 i;

	memset(vals, 0, n * sizeof *vals);
	if (o == NULL || o->type != MSGPACK_OBJECT_MAP || n == 0)
		return;
	for (i = 0; i < o->via.map.size; i++) {
		kv = &o->via.map.ptr[i];
		if (kv->key.type != MSGPACK_OBJECT_STR)
			continue;
		for (j = 0; j < n; j++) {
			idx = (hint + j) % n;
			if (strlen(keys[idx]) == kv->key.via.str.size &&
			    memcmp(keys[idx], kv->key.via.str.ptr,
			    kv->key.via.str.size) == 0) {
				vals[idx] = &kv->val;
				hint = idx + 1;
				break;
			}
		}
	}
}

/* Allocated copy of string V; NULL if V is absent or not a string. */
char *
unpack_val_strdup(const msgpack_object *v)
{
	if (v == NULL || v->type != MSGPACK_OBJECT_STR)
		return (NULL);
	return (xstrndup(v->via.str.ptr, v->via.str.size));
}

/* Allocated copy of the string under KEY; NULL if absent or not a string. */
char *
unpack_strdup(const msgpack_object *o, const char *key)
{
	return (unpack_val_strdup(unpack_get(o, key)));
}

/* The integer under KEY, or DEF if absent or not an integer. */
int64_t
unpack_int(const msgpack_object *o, const char *key, int64_t def)
{
	return (unpack_val_int(unpack_get(o, key), def));
}

/* Integer V, or DEF if V is absent or not an integer. */
int64_t
unpack_val_int(const msgpack_object *v, int64_t def)
{
	if (v == NULL)
		return (def);
	if (v->type == MSGPACK_OBJECT_POSITIVE_INTEGER)
		return (v->via.u64 > INT64_MAX ? INT64_MAX :
		    (int64_t)v->via.u64);
	if (v->type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		return (v->via.i64);
	if (v->type == MSGPACK_OBJECT_BOOLEAN)
		return (v->via.boolean);
	return (def);
}

/* Initialise a packer writing into a fresh buffer. */
void
pack_buffer_init(struct pack_buffer *pb)
{
	msgpack_sbuffer_init(&pb->sbuf);
	msgpack_packer_init(&pb->pk, &pb->sbuf, msgpack_sbuffer_write);
}

void
pack_buffer_clear(struct pack_buffer *pb)
{
	msgpack_sbuffer_destroy(&pb->sbuf);
}

/* Decode BUF (whole, no trailing bytes) into OUT with its zone; -1 if bad. */
int
unpack_buffer(const void *buf, size_t len, msgpack_unpacked *out)
{
	size_t	off = 0;

	msgpack_unpacked_init(out);
	if (msgpack_unpack_next(out, buf, len, &off) !=
	    MSGPACK_UNPACK_SUCCESS || off != len) {
		msgpack_unpacked_destroy(out);
		return (-1);
	}
	return (0);
}
