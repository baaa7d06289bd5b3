/*
 * journal/record.c: the record codec.
 *
 * A record is the msgpack array [version, seq, time_us, kind, account,
 * body].  Untrusted bytes are first walked by record_skip, which checks
 * every length against the bytes that remain and bounds the nesting, so
 * that msgpack-c never sees a forged size (it would allocate for it) and
 * never sees trailing bytes (it would call them a success).
 */
#include <sys/types.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "engine.h"
#include "journal.h"

/*
 * record_scan's limits: a record nested deeper, or with a map of more
 * keys, is left to record_decode and record_check_keys (which allow
 * JOURNAL_MAX_DEPTH and any number of keys).
 */
#define SCAN_DEPTH	8
#define SCAN_KEYS	64	/* a schedule's row has 34 */

enum scan_type {
	SCAN_SCALAR,		/* nil, booleans, integers, floats */
	SCAN_STR,
	SCAN_BIN,
	SCAN_ARRAY,
	SCAN_MAP,
};

/* A map key's name in the export: P's LEN bytes, then "_usd" if MICRO
 * (the key ended "_micro"). */
struct scan_name {
	const uint8_t	*p;
	size_t		 len;
	int		 micro;
	uint32_t	 print;	/* the name's length, first and last byte:
				   equal for equal names (scan_map) */
};

static int	 record_skip(const uint8_t *, size_t, size_t *, int,
		     const char **);
static int	 record_length(const uint8_t *, size_t, size_t *, int,
		     uint64_t *);
static int	 record_fields(const msgpack_object *, struct record *,
		     char **);
static char	*record_zone_str(msgpack_zone *, const msgpack_object_str *);
static json_t	*record_check_json(json_t *);
static size_t	 record_utf8_len(const unsigned char *, size_t);
static json_t	*record_string(const char *, size_t);
static json_t	*record_base64(const void *, size_t);
static json_t	*record_map_to_json(const msgpack_object_map *);
static char	*record_key_text(json_t *, size_t *);
static char	*record_key(const msgpack_object *, size_t *);
static int	 record_name_cmp(const void *, const void *);
static int	 record_plain_key(const msgpack_object *);
static int	 record_map_keys(const msgpack_object_map *, char **);
static int	 record_is(const char *, size_t, const char *const *);
static char	*record_export_key(const msgpack_object *, size_t *, int *,
		     char **);
static json_t	*record_export_value(const msgpack_object *, const char *,
		     size_t, int, char **);
static json_t	*record_export_map(const msgpack_object_map *, int, char **);
static json_t	*record_money(const msgpack_object *);
static json_t	*record_json_text(const msgpack_object_str *);
static int	 scan_head(const uint8_t *, size_t, size_t *, int *,
		     uint64_t *);
static int	 scan_int(const uint8_t *, size_t, size_t *, int *,
		     uint64_t *);
static int	 scan_str(const uint8_t *, size_t, size_t *,
		     const uint8_t **, size_t *);
static int	 scan_object(const uint8_t *, size_t, size_t *, int);
static int	 scan_ascii(const uint8_t *, size_t);
static int	 scan_key(const uint8_t *, size_t, size_t *,
		     struct scan_name *);
static int	 scan_name_eq(const struct scan_name *,
		     const struct scan_name *);
static int	 scan_map(const uint8_t *, size_t, size_t *, uint64_t, int);
static int	 scan_text(char *, const uint8_t *, size_t);

/* Read a big-endian length of SIZE bytes at *off.  -1 if truncated. */
static int
record_length(const uint8_t *p, size_t len, size_t *off, int size,
    uint64_t *out)
{
	uint64_t	v = 0;
	int		i;

	if (len - *off < (size_t)size)
		return (-1);
	for (i = 0; i < size; i++)
		v = v << 8 | p[*off + i];
	*off += size;
	*out = v;
	return (0);
}

/*
 * Skip one msgpack object at *off, checking every size against the bytes
 * that remain and nesting against DEPTH containers.  This is a dispatcher
 * over the msgpack type bytes, hence its length.  Returns 0, or -1 with a
 * static reason in *why.
 */
static int
record_skip(const uint8_t *p, size_t len, size_t *off, int depth,
    const char **why)
{
	uint64_t	n = 0, i;
	int		lsize = 0, container = 0;	/* 1 array, 2 map */
	uint8_t		b;

	if (*off >= len) {
		*why = "truncated";
		return (-1);
	}
	b = p[(*off)++];
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return (0);
	if (b <= 0x8f) {
		container = 2;
		n = b & 0x0f;
	} else if (b <= 0x9f) {
		container = 1;
		n = b & 0x0f;
	} else if (b <= 0xbf)
		n = b & 0x1f;
	else {
		switch (b) {
		case 0xc4: case 0xd9:			/* bin8, str8 */
			lsize = 1;
			break;
		case 0xc5: case 0xda:			/* bin16, str16 */
			lsize = 2;
			break;
		case 0xc6: case 0xdb:			/* bin32, str32 */
			lsize = 4;
			break;
		case 0xc7:				/* ext8 */
			lsize = 1;
			n = 1;
			break;
		case 0xc8:				/* ext16 */
			lsize = 2;
			n = 1;
			break;
		case 0xc9:				/* ext32 */
			lsize = 4;
			n = 1;
			break;
		case 0xca: n = 4; break;		/* float32 */
		case 0xcb: n = 8; break;		/* float64 */
		case 0xcc: case 0xd0: n = 1; break;	/* (u)int8 */
		case 0xcd: case 0xd1: n = 2; break;
		case 0xce: case 0xd2: n = 4; break;
		case 0xcf: case 0xd3: n = 8; break;
		case 0xd4: n = 2; break;		/* fixext 1 */
		case 0xd5: n = 3; break;
		case 0xd6: n = 5; break;
		case 0xd7: n = 9; break;
		case 0xd8: n = 17; break;
		case 0xdc:				/* array16 */
			container = 1;
			lsize = 2;
			break;
		case 0xdd:				/* array32 */
			container = 1;
			lsize = 4;
			break;
		case 0xde:				/* map16 */
			container = 2;
			lsize = 2;
			break;
		case 0xdf:				/* map32 */
			container = 2;
			lsize = 4;
			break;
		default:				/* 0xc1 */
			*why = "invalid type byte 0xc1";
			return (-1);
		}
	}
	if (lsize != 0) {
		uint64_t	l;

		if (record_length(p, len, off, lsize, &l) != 0) {
			*why = "truncated";
			return (-1);
		}
		n += l;
	}
	if (container == 0) {
		if (n > len - *off) {
			*why = "truncated";
			return (-1);
		}
		*off += n;
		return (0);
	}
	if (depth <= 0) {
		*why = "nested too deep";
		return (-1);
	}
	/* Every element takes at least one byte: bound before walking. */
	if (n > (len - *off) / (uint64_t)container) {
		*why = "container larger than the input";
		return (-1);
	}
	for (i = 0; i < n * (uint64_t)container; i++) {
		/* A key is a scalar: a key holding maps whose keys hold maps
		 * would make the export's key texts double at each level. */
		if (container == 2 && i % 2 == 0 && *off < len &&
		    ((p[*off] >= 0x80 && p[*off] <= 0x9f) || p[*off] == 0xdc ||
		    p[*off] == 0xdd || p[*off] == 0xde || p[*off] == 0xdf)) {
			*why = "a map key that is a map or an array";
			return (-1);
		}
		if (record_skip(p, len, off, depth - 1, why) != 0)
			return (-1);
	}
	return (0);
}

int
record_check_body(const void *buf, size_t len, char **cause)
{
	const uint8_t	*p = buf;
	const char	*why;
	size_t		 off = 0;

	if (len == 0) {
		*cause = xstrdup("body is empty (pack one map)");
		return (-1);
	}
	if (len > JOURNAL_MAX_RECORD) {
		xasprintf(cause, "body too large (%zu bytes)", len);
		return (-1);
	}
	if (!((p[0] >= 0x80 && p[0] <= 0x8f) || p[0] == 0xde ||
	    p[0] == 0xdf)) {
		*cause = xstrdup("body is not a msgpack map");
		return (-1);
	}
	if (record_skip(p, len, &off, JOURNAL_MAX_DEPTH - 1, &why) != 0) {
		xasprintf(cause, "body: %s", why);
		return (-1);
	}
	if (off != len) {
		xasprintf(cause, "body: %zu bytes after the map", len - off);
		return (-1);
	}
	return (0);
}

void
record_pack_header(msgpack_packer *pk, uint64_t seq, int64_t time_us,
    const char *kind, const char *account)
{
	size_t	len;

	msgpack_pack_array(pk, 6);
	msgpack_pack_uint64(pk, JOURNAL_FORMAT_VERSION);
	msgpack_pack_uint64(pk, seq);
	msgpack_pack_int64(pk, time_us);
	len = strlen(kind);
	msgpack_pack_str(pk, len);
	msgpack_pack_str_body(pk, kind, len);
	if (account == NULL)
		msgpack_pack_nil(pk);
	else {
		len = strlen(account);
		msgpack_pack_str(pk, len);
		msgpack_pack_str_body(pk, account, len);
	}
}

/* A NUL-terminated copy of a msgpack string in ZONE; NULL if it is empty,
 * longer than JOURNAL_MAX_STR or holds NUL. */
static char *
record_zone_str(msgpack_zone *zone, const msgpack_object_str *s)
{
	char	*out;

	if (s->size == 0 || s->size > JOURNAL_MAX_STR ||
	    memchr(s->ptr, '\0', s->size) != NULL)
		return (NULL);
	if ((out = msgpack_zone_malloc(zone, s->size + 1)) == NULL)
		fatalx("record: out of memory");
	memcpy(out, s->ptr, s->size);
	out[s->size] = '\0';
	return (out);
}

/* Check the six fields of a decoded array and fill REC. */
static int
record_fields(const msgpack_object *o, struct record *rec, char **cause)
{
	const msgpack_object	*f = o->via.array.ptr;

	if (f[0].type != MSGPACK_OBJECT_POSITIVE_INTEGER) {
		*cause = xstrdup("version is not an unsigned integer");
		return (-1);
	}
	if (f[0].via.u64 != JOURNAL_FORMAT_VERSION) {
		xasprintf(cause, "unsupported record version %llu",
		    (unsigned long long)f[0].via.u64);
		return (-1);
	}
	if (f[1].type != MSGPACK_OBJECT_POSITIVE_INTEGER || f[1].via.u64 == 0) {
		*cause = xstrdup("seq is not an integer >= 1");
		return (-1);
	}
	if (f[2].type == MSGPACK_OBJECT_POSITIVE_INTEGER &&
	    f[2].via.u64 <= INT64_MAX)
		rec->time_us = (int64_t)f[2].via.u64;
	else if (f[2].type == MSGPACK_OBJECT_NEGATIVE_INTEGER)
		rec->time_us = f[2].via.i64;
	else {
		*cause = xstrdup("time_us is not a 64-bit integer");
		return (-1);
	}
	if (f[3].type != MSGPACK_OBJECT_STR ||
	    (rec->kind = record_zone_str(rec->zone, &f[3].via.str)) == NULL) {
		*cause = xstrdup("kind is not a string of 1 to 255 bytes");
		return (-1);
	}
	if (f[4].type == MSGPACK_OBJECT_NIL)
		rec->account = NULL;
	else if (f[4].type != MSGPACK_OBJECT_STR || (rec->account =
	    record_zone_str(rec->zone, &f[4].via.str)) == NULL) {
		*cause = xstrdup("account is neither a string of 1 to 255 "
		    "bytes nor nil");
		return (-1);
	}
	if (f[5].type != MSGPACK_OBJECT_MAP) {
		*cause = xstrdup("body is not a map");
		return (-1);
	}
	rec->version = f[0].via.u64;
	rec->seq = f[1].via.u64;
	rec->body = f[5];
	return (0);
}

int
record_decode(const void *buf, size_t len, struct record *rec, char **cause)
{
	msgpack_object	 o;
	const char	*why;
	size_t		 off = 0;
	void		*copy;

	memset(rec, 0, sizeof *rec);
	if (len > JOURNAL_MAX_RECORD) {
		xasprintf(cause, "record too large (%zu bytes)", len);
		return (-1);
	}
	if (record_skip(buf, len, &off, JOURNAL_MAX_DEPTH, &why) != 0) {
		xasprintf(cause, "malformed msgpack: %s", why);
		return (-1);
	}
	if (off != len) {
		xasprintf(cause, "%zu trailing bytes after the record",
		    len - off);
		return (-1);
	}
	if ((rec->zone = msgpack_zone_new(len + 256)) == NULL ||
	    (copy = msgpack_zone_malloc(rec->zone, len)) == NULL)
		fatalx("record: out of memory");
	memcpy(copy, buf, len);
	off = 0;
	if (msgpack_unpack(copy, len, &off, rec->zone, &o) !=
	    MSGPACK_UNPACK_SUCCESS || off != len) {
		*cause = xstrdup("malformed msgpack");
		goto fail;
	}
	if (o.type != MSGPACK_OBJECT_ARRAY || o.via.array.size != 6) {
		*cause = xstrdup("not an array of 6 elements");
		goto fail;
	}
	if (record_fields(&o, rec, cause) != 0)
		goto fail;
	return (0);
fail:
	record_clear(rec);
	return (-1);
}

void
record_clear(struct record *rec)
{
	if (rec->zone != NULL)
		msgpack_zone_free(rec->zone);
	memset(rec, 0, sizeof *rec);
}

/* jansson returns NULL only when out of memory once input is valid. */
static json_t *
record_check_json(json_t *j)
{
	if (j == NULL)
		fatalx("record: out of memory (jansson)");
	return (j);
}

/* The length of the valid UTF-8 sequence at S (1-4), or 0 if invalid. */
static size_t
record_utf8_len(const unsigned char *s, size_t len)
{
	size_t		n, i;
	uint32_t	c;

	if (s[0] < 0x80)
		return (1);
	if (s[0] < 0xc2 || s[0] > 0xf4)
		return (0);
	n = s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
	if (n > len)
		return (0);
	c = s[0] & (0x7f >> n);
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return (0);
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return (0);
	return (n);
}

/* A JSON string; invalid UTF-8 sequences become U+FFFD. */
static json_t *
record_string(const char *s, size_t len)
{
	const unsigned char	*u = (const unsigned char *)s;
	json_t			*j;
	char			*out;
	size_t			 i, o, n;

	if ((j = json_stringn(s, len)) != NULL)
		return (j);
	out = xreallocarray(NULL, len + 1, 3);
	for (i = o = 0; i < len; i += n) {
		if ((n = record_utf8_len(u + i, len - i)) == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			n = 1;
			continue;
		}
		memcpy(out + o, s + i, n);
		o += n;
	}
	j = record_check_json(json_stringn(out, o));
	free(out);
	return (j);
}

/* Base64 (RFC 4648, padded) of LEN bytes as a JSON string. */
static json_t *
record_base64(const void *data, size_t len)
{
	json_t	*j;
	char	*out;
	int	 n;

	if (len > INT32_MAX / 2)
		fatalx("record: binary too large for base64");
	out = xmalloc(4 * ((len + 2) / 3) + 1);
	n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	j = record_check_json(json_stringn(out, (size_t)n));
	free(out);
	return (j);
}

/* The text of J as a map key: a string's own bytes, else compact JSON;
 * drops J.  Returns allocated (*LEN bytes and a NUL); caller frees. */
static char *
record_key_text(json_t *j, size_t *len)
{
	char	*s;

	if (json_is_string(j)) {
		*len = json_string_length(j);
		s = xmalloc(*len + 1);
		memcpy(s, json_string_value(j), *len + 1);
	} else {
		s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY |
		    JSON_PRESERVE_ORDER);
		if (s == NULL)
			fatalx("record: out of memory (jansson)");
		*len = strlen(s);
	}
	json_decref(j);
	return (s);
}

/* The text of a map key: a string's own bytes, else compact JSON.
 * Returns allocated; caller frees. */
static char *
record_key(const msgpack_object *k, size_t *len)
{
	return (record_key_text(record_object_to_json(k), len));
}

struct record_name {
	const char	*s;
	size_t		 len;
	char		*owned;		/* S when allocated */
};

static int
record_name_cmp(const void *a, const void *b)
{
	const struct record_name	*na = a, *nb = b;
	int				 c;

	c = memcmp(na->s, nb->s, na->len < nb->len ? na->len : nb->len);
	if (c != 0)
		return (c);
	return (na->len < nb->len ? -1 : na->len > nb->len);
}

/* Is K a string key whose export name is its own bytes (valid UTF-8, not
 * ending "_micro")?  The common case, named without an allocation. */
static int
record_plain_key(const msgpack_object *k)
{
	const unsigned char	*p;
	size_t			 len, i, n;

	if (k->type != MSGPACK_OBJECT_STR)
		return (0);
	p = (const unsigned char *)k->via.str.ptr;
	len = k->via.str.size;
	if (len > 6 && memcmp(p + len - 6, "_micro", 6) == 0)
		return (0);
	for (i = 0; i < len; i += n) {
		if (p[i] < 0x80) {
			n = 1;
			continue;
		}
		if ((n = record_utf8_len(p + i, len - i)) == 0)
			return (0);
	}
	return (1);
}

/* No two keys of M have the same name in the export (record_export_key);
 * -1 and *cause naming the first such name otherwise. */
static int
record_map_keys(const msgpack_object_map *m, char **cause)
{
	struct record_name	*names;
	uint32_t		 i;
	int			 rc = 0;

	if (m->size < 2)
		return (0);
	names = xreallocarray(NULL, m->size, sizeof *names);
	for (i = 0; i < m->size; i++) {
		if (record_plain_key(&m->ptr[i].key)) {
			names[i].s = m->ptr[i].key.via.str.ptr;
			names[i].len = m->ptr[i].key.via.str.size;
			names[i].owned = NULL;
			continue;
		}
		names[i].owned = record_export_key(&m->ptr[i].key,
		    &names[i].len, NULL, cause);
		if ((names[i].s = names[i].owned) == NULL) {
			while (i-- > 0)
				free(names[i].owned);
			free(names);
			return (-1);
		}
	}
	xqsort(names, m->size, sizeof *names, record_name_cmp);
	for (i = 1; i < m->size && rc == 0; i++) {
		if (record_name_cmp(&names[i - 1], &names[i]) != 0)
			continue;
		xasprintf(cause, "duplicate map key \"%.*s\"",
		    (int)(names[i].len > 64 ? 64 : names[i].len), names[i].s);
		rc = -1;
	}
	for (i = 0; i < m->size; i++)
		free(names[i].owned);
	free(names);
	return (rc);
}

int
record_check_keys(const msgpack_object *o, char **cause)
{
	uint32_t	i;

	switch (o->type) {
	case MSGPACK_OBJECT_ARRAY:
		for (i = 0; i < o->via.array.size; i++) {
			if (record_check_keys(&o->via.array.ptr[i], cause) != 0)
				return (-1);
		}
		return (0);
	case MSGPACK_OBJECT_MAP:
		if (record_map_keys(&o->via.map, cause) != 0)
			return (-1);
		for (i = 0; i < o->via.map.size; i++) {
			if (record_check_keys(&o->via.map.ptr[i].key,
			    cause) != 0 ||
			    record_check_keys(&o->via.map.ptr[i].val,
			    cause) != 0)
				return (-1);
		}
		return (0);
	default:
		return (0);
	}
}

/*
 * The header of the object at *OFF: its type, and *N, the bytes that
 * follow it for a scalar, a string or a binary, the elements of an array,
 * the pairs of a map; *OFF moves past the header.  Returns -1 for a
 * truncated header and for what record_scan leaves to the full decode
 * (the ext types; 0xc1).  A dispatcher over the type bytes.
 */
static int
scan_head(const uint8_t *p, size_t len, size_t *off, int *type, uint64_t *n)
{
	uint8_t	b;
	int	lsize, i;

	if (*off >= len)
		return (-1);
	b = p[(*off)++];
	*type = SCAN_SCALAR;
	*n = 0;
	if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
		return (0);
	if (b <= 0xbf) {
		*type = b <= 0x8f ? SCAN_MAP : b <= 0x9f ? SCAN_ARRAY :
		    SCAN_STR;
		*n = b <= 0x9f ? b & 0x0f : b & 0x1f;
		return (0);
	}
	switch (b) {
	case 0xca: case 0xce: case 0xd2:	/* float32, (u)int32 */
		*n = 4;
		return (0);
	case 0xcb: case 0xcf: case 0xd3:	/* float64, (u)int64 */
		*n = 8;
		return (0);
	case 0xcc: case 0xd0:			/* (u)int8 */
		*n = 1;
		return (0);
	case 0xcd: case 0xd1:			/* (u)int16 */
		*n = 2;
		return (0);
	case 0xc4: case 0xc5: case 0xc6:	/* bin 8, 16, 32 */
		*type = SCAN_BIN;
		lsize = 1 << (b - 0xc4);
		break;
	case 0xd9: case 0xda: case 0xdb:	/* str 8, 16, 32 */
		*type = SCAN_STR;
		lsize = 1 << (b - 0xd9);
		break;
	case 0xdc: case 0xdd:			/* array 16, 32 */
		*type = SCAN_ARRAY;
		lsize = b == 0xdc ? 2 : 4;
		break;
	case 0xde: case 0xdf:			/* map 16, 32 */
		*type = SCAN_MAP;
		lsize = b == 0xde ? 2 : 4;
		break;
	default:				/* ext, 0xc1 */
		return (-1);
	}
	if (len - *off < (size_t)lsize)
		return (-1);
	for (i = 0; i < lsize; i++)
		*n = *n << 8 | p[(*off)++];
	return (0);
}

/* The integer at *OFF as msgpack-c decodes it: *NEG set for a negative
 * one (*V its two's complement), else *V its value.  -1 if it is not an
 * integer. */
static int
scan_int(const uint8_t *p, size_t len, size_t *off, int *neg, uint64_t *v)
{
	uint64_t	u = 0;
	uint8_t		b;
	int		size, i, sign;

	if (*off >= len)
		return (-1);
	b = p[*off];
	*neg = b >= 0xe0;
	if (b <= 0x7f || b >= 0xe0) {
		*v = (uint64_t)(int64_t)(int8_t)b;
		(*off)++;
		return (0);
	}
	if (b < 0xcc || b > 0xd3)
		return (-1);
	sign = b >= 0xd0;
	size = 1 << (sign ? b - 0xd0 : b - 0xcc);
	if (len - *off - 1 < (size_t)size)
		return (-1);
	for (i = 1; i <= size; i++)
		u = u << 8 | p[*off + i];
	*off += 1 + size;
	if (sign && size < 8 && (u >> (size * 8 - 1)) != 0)
		u |= ~(uint64_t)0 << (size * 8);	/* sign-extended */
	*neg = sign && (u >> 63) != 0;
	*v = u;
	return (0);
}

/* The string at *OFF: its bytes in *S and *N.  -1 if it is none. */
static int
scan_str(const uint8_t *p, size_t len, size_t *off, const uint8_t **s,
    size_t *n)
{
	uint64_t	l;
	int		type;

	if (*off < len && p[*off] >= 0xa0 && p[*off] <= 0xbf)	/* fixstr */
		l = p[(*off)++] & 0x1f;
	else if (scan_head(p, len, off, &type, &l) != 0 || type != SCAN_STR)
		return (-1);
	if (l > len - *off)
		return (-1);
	*s = p + *off;
	*n = (size_t)l;
	*off += l;
	return (0);
}

/* Walk the object at *OFF, DEPTH containers allowed: every size within
 * the input, every map's keys distinct (scan_map).  0, or -1 as
 * record_scan. */
static int
scan_object(const uint8_t *p, size_t len, size_t *off, int depth)
{
	uint64_t	n, i;
	int		type;
	uint8_t		b;

	if (*off < len) {
		b = p[*off];
		/* fixint, nil */
		if (b <= 0x7f || b >= 0xe0 || b == 0xc0) {
			(*off)++;
			return (0);
		}
	}
	if (scan_head(p, len, off, &type, &n) != 0)
		return (-1);
	switch (type) {
	case SCAN_ARRAY:
		if (depth <= 0 || n > len - *off)
			return (-1);
		for (i = 0; i < n; i++) {
			if (scan_object(p, len, off, depth - 1) != 0)
				return (-1);
		}
		return (0);
	case SCAN_MAP:
		if (depth <= 0 || n > SCAN_KEYS)
			return (-1);
		return (scan_map(p, len, off, n, depth));
	default:
		if (n > len - *off)
			return (-1);
		*off += n;
		return (0);
	}
}

/* Are S's N bytes all ASCII but NUL (1 to 0x7f)?  Eight at a time: a
 * byte of 0 borrows (0xff), one of 0x80 or more has its top bit. */
static int
scan_ascii(const uint8_t *s, size_t n)
{
	const uint64_t	one = 0x0101010101010101ULL;
	uint64_t	w;

	for (; n >= 8; s += 8, n -= 8) {
		memcpy(&w, s, 8);
		if ((((w - one) | w) & one << 7) != 0)
			return (0);
	}
	for (; n > 0; s++, n--) {
		if (*s == 0 || *s >= 0x80)
			return (0);
	}
	return (1);
}

/*
 * A map key whose export name record_map_keys takes without an
 * allocation or a conversion: a string of valid UTF-8 without NUL; its
 * name in *K (a final "_micro" becomes "_usd").  -1 for any other key.
 */
static int
scan_key(const uint8_t *p, size_t len, size_t *off, struct scan_name *k)
{
	const uint8_t	*s;
	size_t		 n, i, u;

	if (scan_str(p, len, off, &s, &n) != 0)
		return (-1);
	for (i = scan_ascii(s, n) ? n : 0; i < n; i += u) {
		u = 1;
		if (s[i] == 0 || (s[i] >= 0x80 &&
		    (u = record_utf8_len(s + i, n - i)) == 0))
			return (-1);
	}
	k->p = s;
	k->micro = n > 6 && memcmp(s + n - 6, "_micro", 6) == 0;
	k->len = k->micro ? n - 6 : n;
	/* the export name's length (its low 16 bits), first and last byte */
	k->print = (uint32_t)((k->micro ? k->len + 4 : k->len) & 0xffff) |
	    (uint32_t)(n > 0 ? s[0] : 0) << 16 |
	    (uint32_t)(k->micro ? 'd' : n > 0 ? s[n - 1] : 0) << 24;
	return (0);
}

/* Do A and B name the same key? */
static int
scan_name_eq(const struct scan_name *a, const struct scan_name *b)
{
	static const uint8_t	usd[] = "_usd";
	size_t			n = a->len + (a->micro ? 4 : 0), i;

	if (n != b->len + (b->micro ? 4 : 0))
		return (0);
	if (a->micro == b->micro)
		return (memcmp(a->p, b->p, a->len) == 0);
	for (i = 0; i < n; i++) {
		if ((i < a->len ? a->p[i] : usd[i - a->len]) !=
		    (i < b->len ? b->p[i] : usd[i - b->len]))
			return (0);
	}
	return (1);
}

/* The N pairs of the map at *OFF (at most SCAN_KEYS): keys scan_key
 * names, no two alike (compared pairwise, the bytes only of two whose
 * length, first and last byte agree), values scan_object takes with
 * DEPTH - 1 containers.  0, or -1 as record_scan. */
static int
scan_map(const uint8_t *p, size_t len, size_t *off, uint64_t n, int depth)
{
	struct scan_name	names[SCAN_KEYS];
	uint64_t		i, j;

	for (i = 0; i < n; i++) {
		if (scan_key(p, len, off, &names[i]) != 0)
			return (-1);
		for (j = 0; j < i; j++) {
			if (names[i].print == names[j].print &&
			    scan_name_eq(&names[i], &names[j]))
				return (-1);
		}
		if (scan_object(p, len, off, depth - 1) != 0)
			return (-1);
	}
	return (0);
}

/* S's N bytes, a kind or an account, into OUT with a NUL; -1 if they are
 * empty, longer than JOURNAL_MAX_STR or hold NUL (record_zone_str). */
static int
scan_text(char *out, const uint8_t *s, size_t n)
{
	if (n == 0 || n > JOURNAL_MAX_STR || memchr(s, '\0', n) != NULL)
		return (-1);
	memcpy(out, s, n);
	out[n] = '\0';
	return (0);
}

int
record_scan(const void *buf, size_t len, struct record_head *h)
{
	const uint8_t	*p = buf, *s;
	size_t		 off = 0, n;
	uint64_t	 count, v;
	int		 type, neg;

	memset(&h->rec, 0, sizeof h->rec);
	if (len > JOURNAL_MAX_RECORD ||
	    scan_head(p, len, &off, &type, &count) != 0 ||
	    type != SCAN_ARRAY || count != 6 ||
	    scan_int(p, len, &off, &neg, &h->rec.version) != 0 || neg ||
	    h->rec.version != JOURNAL_FORMAT_VERSION ||
	    scan_int(p, len, &off, &neg, &h->rec.seq) != 0 || neg ||
	    h->rec.seq == 0 ||
	    scan_int(p, len, &off, &neg, &v) != 0 || (!neg && v > INT64_MAX))
		return (-1);
	h->rec.time_us = (int64_t)v;
	if (scan_str(p, len, &off, &s, &n) != 0 ||
	    scan_text(h->kind, s, n) != 0)
		return (-1);
	h->rec.kind = h->kind;
	if (off < len && p[off] == 0xc0)
		off++;
	else if (scan_str(p, len, &off, &s, &n) != 0 ||
	    scan_text(h->account, s, n) != 0)
		return (-1);
	else
		h->rec.account = h->account;
	if (off >= len || !((p[off] >= 0x80 && p[off] <= 0x8f) ||
	    p[off] == 0xde || p[off] == 0xdf) ||
	    scan_object(p, len, &off, SCAN_DEPTH - 1) != 0 || off != len)
		return (-1);
	h->rec.body.type = MSGPACK_OBJECT_NIL;
	return (0);
}

static json_t *
record_map_to_json(const msgpack_object_map *m)
{
	json_t		*obj, *v;
	char		*key;
	size_t		 klen;
	uint32_t	 i;

	obj = record_check_json(json_object());
	for (i = 0; i < m->size; i++) {
		key = record_key(&m->ptr[i].key, &klen);
		v = record_object_to_json(&m->ptr[i].val);
		if (json_object_setn_new(obj, key, klen, v) != 0)
			fatalx("record: json_object_setn_new failed");
		free(key);
	}
	return (obj);
}

json_t *
record_object_to_json(const msgpack_object *o)
{
	json_t		*j;
	uint32_t	 i;

	switch (o->type) {
	case MSGPACK_OBJECT_NIL:
		return (json_null());
	case MSGPACK_OBJECT_BOOLEAN:
		return (json_boolean(o->via.boolean));
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
		if (o->via.u64 <= INT64_MAX)
			return (record_check_json(
			    json_integer((json_int_t)o->via.u64)));
		return (record_check_json(json_sprintf("%llu",
		    (unsigned long long)o->via.u64)));
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		return (record_check_json(json_integer(o->via.i64)));
	case MSGPACK_OBJECT_FLOAT32:
	case MSGPACK_OBJECT_FLOAT64:
		if (isnan(o->via.f64))
			return (record_check_json(json_string("NaN")));
		if (isinf(o->via.f64))
			return (record_check_json(json_string(
			    o->via.f64 > 0 ? "Infinity" : "-Infinity")));
		return (record_check_json(json_real(o->via.f64)));
	case MSGPACK_OBJECT_STR:
		return (record_string(o->via.str.ptr, o->via.str.size));
	case MSGPACK_OBJECT_BIN:
		return (record_base64(o->via.bin.ptr, o->via.bin.size));
	case MSGPACK_OBJECT_EXT:
		return (record_check_json(json_pack("{s:i,s:o}", "ext",
		    (json_int_t)o->via.ext.type, "data",
		    record_base64(o->via.ext.ptr, o->via.ext.size))));
	case MSGPACK_OBJECT_ARRAY:
		j = record_check_json(json_array());
		for (i = 0; i < o->via.array.size; i++) {
			if (json_array_append_new(j, record_object_to_json(
			    &o->via.array.ptr[i])) != 0)
				fatalx("record: json_array_append_new failed");
		}
		return (j);
	case MSGPACK_OBJECT_MAP:
		return (record_map_to_json(&o->via.map));
	}
	return (json_null());
}

/* Is the LEN bytes of S one of the NULL-ended NAMES? */
static int
record_is(const char *s, size_t len, const char *const *names)
{
	for (; *names != NULL; names++) {
		if (strlen(*names) == len && memcmp(s, *names, len) == 0)
			return (1);
	}
	return (0);
}

/*
 * The name of map key K in the export: a string's text (invalid UTF-8 made
 * U+FFFD) with a final "_micro" made "_usd" (*MICRO set then), any other
 * key the compact JSON text of its export value.  Returns allocated (LEN
 * bytes and a NUL), or NULL and *cause when K holds a map with two keys of
 * one name.
 */
static char *
record_export_key(const msgpack_object *k, size_t *len, int *micro,
    char **cause)
{
	json_t	*j;
	char	*s;
	size_t	 n;

	if (micro != NULL)
		*micro = 0;
	if (k->type == MSGPACK_OBJECT_STR) {
		s = record_key_text(record_string(k->via.str.ptr,
		    k->via.str.size), &n);
		if (n > 6 && strcmp(s + n - 6, "_micro") == 0) {
			strcpy(s + n - 6, "_usd");
			n -= 2;
			if (micro != NULL)
				*micro = 1;
		}
		*len = n;
		return (s);
	}
	if ((j = record_export_value(k, NULL, 0, 0, cause)) == NULL)
		return (NULL);
	return (record_key_text(j, len));
}

/* An integer of micro-dollars as a string of dollars with six decimals;
 * -1 (not known) is null.  Anything else is converted as usual. */
static json_t *
record_money(const msgpack_object *o)
{
	char		buf[48];
	uint64_t	m;

	if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) {
		if (o->via.i64 == -1)
			return (json_null());
		return (record_check_json(json_string(fmt_usd(o->via.i64, buf,
		    sizeof buf))));
	}
	if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER)
		return (record_object_to_json(o));
	m = o->via.u64;
	snprintf(buf, sizeof buf, "%llu.%06llu",
	    (unsigned long long)(m / 1000000),
	    (unsigned long long)(m % 1000000));
	return (record_check_json(json_string(buf)));
}

/* A string that holds JSON text as the value it holds; a string that is
 * not strict JSON (jansson: any value, duplicate keys refused) as the
 * string itself. */
static json_t *
record_json_text(const msgpack_object_str *s)
{
	json_error_t	 err;
	json_t		*j;

	j = json_loadb(s->ptr, s->size, JSON_DECODE_ANY |
	    JSON_REJECT_DUPLICATES, &err);
	if (j != NULL)
		return (j);
	return (record_string(s->ptr, s->size));
}

/*
 * One value of a body in the export, under the map key KEY (KLEN bytes;
 * NULL in an array or at the top), in a money value when MONEY.  NULL and
 * *cause when a map inside has two keys of one name.
 */
static json_t *
record_export_value(const msgpack_object *o, const char *key, size_t klen,
    int money, char **cause)
{
	static const char *const json_keys[] = { "parameters", "result",
	    "default_parameters", "ui", "batch_template", NULL };
	static const char *const count_keys[] = { "input_tokens",
	    "output_tokens", "by_uid", "by_pid", NULL };
	json_t		*j, *v;
	uint32_t	 i;

	switch (o->type) {
	case MSGPACK_OBJECT_MAP:
		return (record_export_map(&o->via.map, money, cause));
	case MSGPACK_OBJECT_ARRAY:
		j = record_check_json(json_array());
		for (i = 0; i < o->via.array.size; i++) {
			v = record_export_value(&o->via.array.ptr[i], NULL, 0,
			    money, cause);
			if (v == NULL) {
				json_decref(j);
				return (NULL);
			}
			if (json_array_append_new(j, v) != 0)
				fatalx("record: json_array_append_new failed");
		}
		return (j);
	case MSGPACK_OBJECT_POSITIVE_INTEGER:
	case MSGPACK_OBJECT_NEGATIVE_INTEGER:
		if (money)
			return (record_money(o));
		if (key != NULL && record_is(key, klen, count_keys) &&
		    o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER &&
		    o->via.i64 == -1)
			return (json_null());
		return (record_object_to_json(o));
	case MSGPACK_OBJECT_STR:
		if (key != NULL && record_is(key, klen, json_keys))
			return (record_json_text(&o->via.str));
		return (record_object_to_json(o));
	default:
		return (record_object_to_json(o));
	}
}

static json_t *
record_export_map(const msgpack_object_map *m, int money, char **cause)
{
	const msgpack_object	*k;
	json_t			*obj, *v;
	char			*name;
	size_t			 len;
	uint32_t		 i;
	int			 micro;

	obj = record_check_json(json_object());
	for (i = 0; i < m->size; i++) {
		k = &m->ptr[i].key;
		if ((name = record_export_key(k, &len, &micro, cause)) == NULL)
			goto fail;
		if (json_object_getn(obj, name, len) != NULL) {
			xasprintf(cause, "duplicate map key \"%.*s\"",
			    (int)(len > 64 ? 64 : len), name);
			free(name);
			goto fail;
		}
		v = record_export_value(&m->ptr[i].val, k->type ==
		    MSGPACK_OBJECT_STR ? k->via.str.ptr : NULL, k->type ==
		    MSGPACK_OBJECT_STR ? k->via.str.size : 0, money || micro,
		    cause);
		if (v == NULL) {
			free(name);
			goto fail;
		}
		if (json_object_setn_new(obj, name, len, v) != 0)
			fatalx("record: json_object_setn_new failed");
		free(name);
	}
	return (obj);
fail:
	json_decref(obj);
	return (NULL);
}

json_t *
record_to_json(const struct record *rec, const uint8_t *hash, char **cause)
{
	json_t	*j, *body;
	char	 ts[64], hex[65];

	if ((body = record_export_value(&rec->body, NULL, 0, 0, cause)) ==
	    NULL)
		return (NULL);
	fmt_rfc3339_ms(rec->time_us, ts, sizeof ts);
	j = record_check_json(json_object());
	json_object_set_new(j, "seq", json_integer((json_int_t)rec->seq));
	json_object_set_new(j, "time", json_string(ts));
	json_object_set_new(j, "time_us", json_integer(rec->time_us));
	json_object_set_new(j, "kind", record_string(rec->kind,
	    strlen(rec->kind)));
	json_object_set_new(j, "account", rec->account == NULL ? json_null() :
	    record_string(rec->account, strlen(rec->account)));
	json_object_set_new(j, "body", body);
	if (hash != NULL) {
		chain_hex(hash, hex);
		json_object_set_new(j, "hash", json_string(hex));
	}
	return (j);
}
