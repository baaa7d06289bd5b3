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

void
pack_scratch_init(struct pack_scratch *ps, msgpack_packer *pk)
{
	ps->data = ps->stack;
	ps->len = 0;
	ps->cap = sizeof ps->stack;
	msgpack_packer_init(pk, ps, pack_scratch_write);
}

void
pack_scratch_clear(struct pack_scratch *ps)
{
	if (ps->data != ps->stack)
		free(ps->data);
	ps->data = ps->stack;
	ps->len = 0;
	ps->cap = sizeof ps->stack;
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

	pack_scratch_init(&ps, &aside);
	fn(&aside, arg);
	n = pack_count((const unsigned char *)ps.data, ps.len);
	if (n % 2 != 0 || n / 2 > UINT32_MAX)
		fatalx("pack_map_counted: %llu objects for a map",
		    (unsigned long long)n);
	msgpack_pack_map(pk, (size_t)(n / 2));
	if (ps.len > 0)
		pack_raw(pk, ps.data, ps.len);
	pack_scratch_clear(&ps);
}

/* Where pack_map gathers a map's small pieces, to hand them on at once. */
struct pack_gather {
	msgpack_packer	*out;
	size_t		 len;
	char		 buf[2048];
};

static void
pack_gather_flush(struct pack_gather *g)
{
	if (g->len > 0)
		g->out->callback(g->out->data, g->buf, g->len);
	g->len = 0;
}

static inline int
pack_gather_write(void *arg, const char *buf, size_t len)
{
	struct pack_gather	*g = arg;

	if (len > sizeof g->buf - g->len) {
		pack_gather_flush(g);
		if (len > sizeof g->buf)
			return (g->out->callback(g->out->data, buf, len));
	}
	memcpy(g->buf + g->len, buf, len);
	g->len += len;
	return (0);
}

/* pack_str, written for the gathering packer GP (inlined, its writer too). */
static inline void
pack_gather_str(msgpack_packer *gp, const char *s)
{
	size_t	len;

	if (s == NULL) {
		msgpack_pack_nil(gp);
		return;
	}
	len = strlen(s);
	msgpack_pack_str(gp, len);
	msgpack_pack_str_body(gp, s, len);
}

/*
 * A map of the N pairs of V: its size is N, counted here rather than by
 * the caller.  Each pair packs as pack_kstr, pack_kint, pack_kbool or
 * pack_kjson would, or (PACK_RAW) as its key followed by bytes that are
 * msgpack already.  The pieces (two or four a pair) are gathered and
 * given to PK's writer a few at a time: the same bytes, far fewer calls.
 */
void
pack_map(msgpack_packer *pk, const struct pack_pair *v, size_t n)
{
	struct pack_gather	g;
	msgpack_packer		gp;
	size_t			i;

	g.out = pk;
	g.len = 0;
	msgpack_packer_init(&gp, &g, pack_gather_write);
	msgpack_pack_map(&gp, n);
	for (i = 0; i < n; i++) {
		if (v[i].key == NULL)
			fatalx("pack_map: pair %zu has no key", i);
		pack_gather_str(&gp, v[i].key);
		switch (v[i].kind) {
		case PACK_STR:
			pack_gather_str(&gp, v[i].s);
			break;
		case PACK_INT:
			msgpack_pack_int64(&gp, v[i].i);
			break;
		case PACK_BOOL:
			if (v[i].i != 0)
				msgpack_pack_true(&gp);
			else
				msgpack_pack_false(&gp);
			break;
		case PACK_JSON:
			pack_gather_str(&gp, v[i].s != NULL ? v[i].s : "{}");
			break;
		case PACK_RAW:
			pack_gather_write(&g, v[i].s, (size_t)v[i].i);
			break;
		}
	}
	pack_gather_flush(&g);
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

/*
 * A reader of msgpack bytes in place, for scans of many small rows (the
 * analytics queries): msgpack_unpack builds an object for every value in
 * a zone, which costs more than the scan itself.  Each read takes exactly
 * one value, whatever its type, so that a reader that meets a type it did
 * not ask for stays in step; bytes that are not msgpack, or that end too
 * soon, set ERR, after which every read finds nothing.
 */
void
unpack_cursor_init(struct unpack_cursor *c, const void *buf, size_t len)
{
	c->p = buf;
	c->end = c->p + len;
	c->err = 0;
}

/* The next N bytes as a big-endian number (N <= 8), or ERR. */
static uint64_t
unpack_cursor_be(struct unpack_cursor *c, size_t n)
{
	uint64_t	v = 0;
	size_t		i;

	if (c->err || (size_t)(c->end - c->p) < n) {
		c->err = 1;
		return (0);
	}
	for (i = 0; i < n; i++)
		v = v << 8 | c->p[i];
	c->p += n;
	return (v);
}

/* Skip N bytes of a value's body. */
static void
unpack_cursor_body(struct unpack_cursor *c, uint64_t n)
{
	if (c->err || (uint64_t)(c->end - c->p) < n) {
		c->err = 1;
		return;
	}
	c->p += n;
}

/*
 * Read one value's head: its type (a MSGPACK_OBJECT_*), and in *V its
 * number (an integer's value: *NEG says whether it is negative), its
 * length (a string's, a binary's: the body is then at *BODY), or its
 * count (an array's elements, a map's pairs).  -1 on ERR.
 */
static int
unpack_cursor_head(struct unpack_cursor *c, uint64_t *v, int *neg,
    const uint8_t **body)
{
	uint8_t	b;
	int	t;

	*neg = 0;
	*body = NULL;
	if (c->err || c->p >= c->end) {
		c->err = 1;
		return (-1);
	}
	b = *c->p++;
	if (b <= 0x7f) {
		*v = b;
		return (MSGPACK_OBJECT_POSITIVE_INTEGER);
	}
	if (b >= 0xe0) {
		*v = (uint64_t)(int64_t)(int8_t)b;
		*neg = 1;
		return (MSGPACK_OBJECT_NEGATIVE_INTEGER);
	}
	if ((b & 0xf0) == 0x80 || (b & 0xf0) == 0x90) {
		*v = b & 0x0f;
		return (b < 0x90 ? MSGPACK_OBJECT_MAP : MSGPACK_OBJECT_ARRAY);
	}
	if ((b & 0xe0) == 0xa0) {
		*v = b & 0x1f;
		t = MSGPACK_OBJECT_STR;
		goto body;
	}
	switch (b) {
	case 0xc0:
		return (MSGPACK_OBJECT_NIL);
	case 0xc2:
	case 0xc3:
		*v = b == 0xc3;
		return (MSGPACK_OBJECT_BOOLEAN);
	case 0xc4: case 0xc5: case 0xc6:
		*v = unpack_cursor_be(c, (size_t)1 << (b - 0xc4));
		t = MSGPACK_OBJECT_BIN;
		goto body;
	case 0xc7: case 0xc8: case 0xc9:
		*v = unpack_cursor_be(c, (size_t)1 << (b - 0xc7));
		unpack_cursor_be(c, 1);		/* its type */
		t = MSGPACK_OBJECT_EXT;
		goto body;
	case 0xca: case 0xcb:
		unpack_cursor_body(c, b == 0xca ? 4 : 8);
		return (c->err ? -1 : MSGPACK_OBJECT_FLOAT);
	case 0xcc: case 0xcd: case 0xce: case 0xcf:
		*v = unpack_cursor_be(c, (size_t)1 << (b - 0xcc));
		return (c->err ? -1 : MSGPACK_OBJECT_POSITIVE_INTEGER);
	case 0xd0: case 0xd1: case 0xd2: case 0xd3:
		*v = unpack_cursor_be(c, (size_t)1 << (b - 0xd0));
		/* sign-extend from its width */
		if (b < 0xd3 && (*v >> ((8 << (b - 0xd0)) - 1)) & 1)
			*v |= ~(uint64_t)0 << (8 << (b - 0xd0));
		*neg = (int64_t)*v < 0;
		return (c->err ? -1 : *neg ? MSGPACK_OBJECT_NEGATIVE_INTEGER :
		    MSGPACK_OBJECT_POSITIVE_INTEGER);
	case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
		unpack_cursor_body(c, 1 + ((uint64_t)1 << (b - 0xd4)));
		return (c->err ? -1 : MSGPACK_OBJECT_EXT);
	case 0xd9: case 0xda: case 0xdb:
		*v = unpack_cursor_be(c, (size_t)1 << (b - 0xd9));
		t = MSGPACK_OBJECT_STR;
		goto body;
	case 0xdc: case 0xdd:
		*v = unpack_cursor_be(c, b == 0xdc ? 2 : 4);
		return (c->err ? -1 : MSGPACK_OBJECT_ARRAY);
	case 0xde: case 0xdf:
		*v = unpack_cursor_be(c, b == 0xde ? 2 : 4);
		return (c->err ? -1 : MSGPACK_OBJECT_MAP);
	default:			/* 0xc1: never used */
		c->err = 1;
		return (-1);
	}
body:
	*body = c->p;
	unpack_cursor_body(c, *v);
	return (c->err ? -1 : t);
}

void
unpack_next_skip(struct unpack_cursor *c)
{
	const uint8_t	*body;
	uint64_t	 left = 1, v;
	int		 t, neg;

	while (left > 0 && !c->err) {
		left--;
		t = unpack_cursor_head(c, &v, &neg, &body);
		if (t == MSGPACK_OBJECT_ARRAY)
			left += v;
		else if (t == MSGPACK_OBJECT_MAP)
			left += 2 * v;
		/* each element takes at least a byte: a bound on LEFT */
		if (left > (uint64_t)(c->end - c->p))
			c->err = 1;
	}
}

/* Read a value: 0 if it has type T (its head in *V, *BODY), else -1
 * (and skipped whole). */
static int
unpack_next_is(struct unpack_cursor *c, int t, uint64_t *v, int *neg,
    const uint8_t **body)
{
	const uint8_t	*start = c->p;
	int		 got;

	got = unpack_cursor_head(c, v, neg, body);
	if (got == t || (t == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    got == MSGPACK_OBJECT_NEGATIVE_INTEGER))
		return (0);
	if (got == MSGPACK_OBJECT_ARRAY || got == MSGPACK_OBJECT_MAP) {
		c->p = start;
		unpack_next_skip(c);
	}
	return (-1);
}

int
unpack_next_map(struct unpack_cursor *c, uint32_t *n)
{
	const uint8_t	*body;
	uint64_t	 v;
	int		 neg;

	if (unpack_next_is(c, MSGPACK_OBJECT_MAP, &v, &neg, &body) != 0 ||
	    v > UINT32_MAX)
		return (-1);
	*n = (uint32_t)v;
	return (0);
}

int
unpack_next_array(struct unpack_cursor *c, uint32_t *n)
{
	const uint8_t	*body;
	uint64_t	 v;
	int		 neg;

	if (unpack_next_is(c, MSGPACK_OBJECT_ARRAY, &v, &neg, &body) != 0 ||
	    v > UINT32_MAX)
		return (-1);
	*n = (uint32_t)v;
	return (0);
}

int
unpack_next_str_any(struct unpack_cursor *c, const char **s, uint32_t *len)
{
	const uint8_t	*body;
	uint64_t	 v;
	int		 neg;

	if (unpack_next_is(c, MSGPACK_OBJECT_STR, &v, &neg, &body) != 0)
		return (-1);
	*s = (const char *)body;
	*len = (uint32_t)v;
	return (0);
}

/*
 * Read a scalar (nil, a boolean, an integer, a string, a binary) into O
 * as msgpack_unpack decodes it, a string's bytes borrowed from the
 * buffer: 0.  -1 for any other value (skipped whole) or at ERR.
 */
int
unpack_next_scalar(struct unpack_cursor *c, msgpack_object *o)
{
	const uint8_t	*body, *start = c->p;
	uint64_t	 v;
	int		 neg, t;

	memset(o, 0, sizeof *o);
	switch ((t = unpack_cursor_head(c, &v, &neg, &body))) {
	case MSGPACK_OBJECT_NIL:
		break;
	case MSGPACK_OBJECT_BOOLEAN:
		o->via.boolean = v != 0;
		break;
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		o->via.u64 = v;
		break;
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		o->via.i64 = (int64_t)v;
		break;
	case MSGPACK_OBJECT_STR:
		o->via.str.ptr = (const char *)body;
		o->via.str.size = (uint32_t)v;
		break;
	case MSGPACK_OBJECT_BIN:
		o->via.bin.ptr = (const char *)body;
		o->via.bin.size = (uint32_t)v;
		break;
	case MSGPACK_OBJECT_ARRAY:
	case MSGPACK_OBJECT_MAP:
		c->p = start;
		unpack_next_skip(c);
		return (-1);
	default:
		return (-1);
	}
	o->type = (msgpack_object_type)t;
	return (0);
}

int64_t
unpack_next_int_any(struct unpack_cursor *c, int64_t def)
{
	const uint8_t	*body, *start = c->p;
	uint64_t	 v;
	int		 neg;

	if (unpack_next_is(c, MSGPACK_OBJECT_POSITIVE_INTEGER, &v, &neg,
	    &body) == 0)
		return (neg ? (int64_t)v : v > INT64_MAX ? INT64_MAX :
		    (int64_t)v);
	/* a boolean counts as 0 or 1, as unpack_val_int has it */
	if (!c->err && c->p == start + 1 && (*start == 0xc2 ||
	    *start == 0xc3))
		return (*start == 0xc3);
	return (def);
}
