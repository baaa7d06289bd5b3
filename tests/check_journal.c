/*
 * tests/check_journal.c: the journal (record codec, hash chain, record
 * building, LMDB store, group commit) on real LMDB environments in
 * temporary directories.
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <lmdb.h>
#include <openssl/evp.h>

#include "engine.h"
#include "journal.h"
#include "lib.h"

#define GENESIS_HEX \
	"5f598123f86945b7ef7fd04ca4e95036321d909cf27c11a3ce02c888528611e7"

/* What the callbacks saw. */
struct seen {
	size_t			 n;
	size_t			 cap;
	struct journal_result	*r;
	char			**errors;
	size_t			 hook_records;
	size_t			 hook_calls;
};

static char			*tmpdir;
static char			 jdir[128];
static struct event_base	*base;

/* --- helpers ------------------------------------------------------------ */

static void	 raw_append_body(uint64_t, int64_t, const void *, size_t);

static void
setup(void)
{
	tmpdir = lib_tmpdir("check-journal");
	snprintf(jdir, sizeof jdir, "%s/journal", tmpdir);
	base = event_base_new();
	ck_assert_ptr_nonnull(base);
}

static void
teardown(void)
{
	event_base_free(base);
	lib_rm_tree(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}

static void
seen_cb(const struct journal_result *r, void *arg)
{
	struct seen	*s = arg;

	if (s->n == s->cap) {
		s->cap = s->cap == 0 ? 64 : s->cap * 2;
		s->r = xreallocarray(s->r, s->cap, sizeof *s->r);
		s->errors = xreallocarray(s->errors, s->cap,
		    sizeof *s->errors);
	}
	s->r[s->n] = *r;
	s->errors[s->n] = r->error != NULL ? xstrdup(r->error) : NULL;
	s->r[s->n].error = s->errors[s->n];
	s->n++;
}

static void
seen_hook(size_t records, int64_t us, void *arg)
{
	struct seen	*s = arg;

	s->hook_records += records;
	s->hook_calls++;
}

static void
seen_free(struct seen *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		free(s->errors[i]);
	free(s->errors);
	free(s->r);
	memset(s, 0, sizeof *s);
}

/* Run the loop until N callbacks have been seen; never sleeps. */
static void
wait_for(struct seen *s, size_t n)
{
	while (s->n < n)
		event_base_loop(base, EVLOOP_ONCE);
}

static struct journal *
open_j(size_t map_initial, size_t map_max, enum journal_sync sync)
{
	return (lib_journal_open(jdir, base, sync, map_initial, map_max));
}

/* A record {"n": N, "pad": PAD bytes of 'x'}. */
static struct jrec *
make_rec(const char *kind, const char *account, int64_t n, size_t pad)
{
	struct jrec	*rec;
	msgpack_packer	*pk;
	char		 buf[1024];

	memset(buf, 'x', sizeof buf);
	rec = jrec_create(kind, account);
	pk = jrec_body(rec);
	msgpack_pack_map(pk, 2);
	msgpack_pack_str_with_body(pk, "n", 1);
	msgpack_pack_int64(pk, n);
	msgpack_pack_str_with_body(pk, "pad", 3);
	msgpack_pack_str_with_body(pk, buf, pad < sizeof buf ? pad :
	    sizeof buf);
	return (rec);
}

static void
submit_n(struct journal *j, struct seen *s, size_t n, size_t pad)
{
	size_t	i;

	for (i = 0; i < n; i++)
		journal_submit(j, make_rec("test.record", "acct", (int64_t)i,
		    pad), seen_cb, s);
}

/* Open the environment directly, as a tool in another language would. */
static MDB_env *
raw_open(unsigned int flags)
{
	MDB_env	*env;

	ck_assert_int_eq(mdb_env_create(&env), 0);
	mdb_env_set_maxdbs(env, 128);
	ck_assert_int_eq(mdb_env_open(env, jdir, flags, 0600), 0);
	return (env);
}

/* Flip one byte of log entry SEQ at OFFSET from the end of its value
 * (0: the first byte of its stored hash). */
static void
raw_tamper(uint64_t seq, size_t from_end)
{
	MDB_env		*env = raw_open(0);
	MDB_txn		*txn;
	MDB_dbi		 dbi;
	MDB_val		 k, v;
	uint8_t		 key[8], *copy;

	store_be64(seq, key);
	k.mv_data = key;
	k.mv_size = 8;
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "log", 0, &dbi), 0);
	ck_assert_int_eq(mdb_get(txn, dbi, &k, &v), 0);
	copy = xmalloc(v.mv_size);
	memcpy(copy, v.mv_data, v.mv_size);
	copy[from_end == 0 ? 0 : v.mv_size - from_end] ^= 0x01;
	v.mv_data = copy;
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	free(copy);
	mdb_env_close(env);
}

/* Put raw bytes under a meta key. */
static void
raw_meta(const char *key, const void *val, size_t len)
{
	MDB_env		*env = raw_open(0);
	MDB_txn		*txn;
	MDB_dbi		 dbi;
	MDB_val		 k = { strlen(key), (void *)key }, v = { len,
			     (void *)val };

	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &dbi), 0);
	ck_assert_int_eq(mdb_put(txn, dbi, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* SHA-256 of A || B with OpenSSL directly (not chain.c). */
static void
sha256_2(const void *a, size_t alen, const void *b, size_t blen,
    uint8_t out[32])
{
	uint8_t		*buf;
	unsigned int	 len;

	buf = xmalloc(alen + blen + 1);
	memcpy(buf, a, alen);
	memcpy(buf + alen, b, blen);
	ck_assert_int_eq(EVP_Digest(buf, alen + blen, out, &len, EVP_sha256(),
	    NULL), 1);
	free(buf);
}

/*
 * Recompute the chain from the raw environment, independently of the
 * journal code; returns the number of records and checks meta's head.
 */
static uint64_t
raw_recompute(void)
{
	MDB_env		*env = raw_open(MDB_RDONLY);
	MDB_txn		*txn;
	MDB_dbi		 log, meta;
	MDB_cursor	*c;
	MDB_val		 k, v, mk = { 9, (void *)"head_hash" };
	uint8_t		 prev[32], h[32], key[8];
	uint64_t	 n = 0;
	int		 rc;

	sha256_2("chime-journal-genesis-v1", 24, "", 0, prev);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "log", 0, &log), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	ck_assert_int_eq(mdb_cursor_open(txn, log, &c), 0);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		n++;
		store_be64(n, key);
		ck_assert_int_eq(k.mv_size, 8);
		ck_assert_mem_eq(k.mv_data, key, 8);
		ck_assert_uint_gt(v.mv_size, 32);
		sha256_2(prev, 32, (uint8_t *)v.mv_data + 32, v.mv_size - 32,
		    h);
		ck_assert_mem_eq(h, v.mv_data, 32);
		memcpy(prev, h, 32);
	}
	ck_assert_int_eq(rc, MDB_NOTFOUND);
	mdb_cursor_close(c);
	ck_assert_int_eq(mdb_get(txn, meta, &mk, &v), 0);
	ck_assert_mem_eq(v.mv_data, prev, 32);
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return (n);
}

/* A valid record's bytes: header + body {"a": 1}. */
static void
valid_record(msgpack_sbuffer *sb)
{
	msgpack_packer	pk;

	msgpack_sbuffer_init(sb);
	msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
	record_pack_header(&pk, 7, 1700000000123456LL, "run.started", "acme");
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "a", 1);
	msgpack_pack_int(&pk, 1);
}

/* Decode (and the scan) must fail (and not crash) on BUF; returns the
 * cause's text. */
static void
decode_fails(const void *buf, size_t len, const char *want)
{
	struct record_head	 h;
	struct record		 rec;
	char			*cause = NULL;

	ck_assert_int_eq(record_scan(buf, len, &h), -1);
	ck_assert_int_eq(record_decode(buf, len, &rec, &cause), -1);
	ck_assert_ptr_nonnull(cause);
	if (want != NULL)
		ck_assert_msg(strstr(cause, want) != NULL, "cause \"%s\" "
		    "lacks \"%s\"", cause, want);
	free(cause);
}

/* --- record.c ----------------------------------------------------------- */

/* A packed record decodes to its fields; the body outlives the input. */
START_TEST(test_record_decode_roundtrip)
{
	msgpack_sbuffer	 sb;
	struct record	 rec;
	char		*cause = NULL, *copy;

	valid_record(&sb);
	copy = xmalloc(sb.size);
	memcpy(copy, sb.data, sb.size);
	ck_assert_int_eq(record_decode(copy, sb.size, &rec, &cause), 0);
	memset(copy, 0, sb.size);
	free(copy);
	ck_assert_uint_eq(rec.version, 1);
	ck_assert_uint_eq(rec.seq, 7);
	ck_assert_int_eq(rec.time_us, 1700000000123456LL);
	ck_assert_str_eq(rec.kind, "run.started");
	ck_assert_str_eq(rec.account, "acme");
	ck_assert_int_eq(rec.body.type, MSGPACK_OBJECT_MAP);
	ck_assert_uint_eq(rec.body.via.map.size, 1);
	ck_assert_mem_eq(rec.body.via.map.ptr[0].key.via.str.ptr, "a", 1);
	record_clear(&rec);
	record_clear(&rec);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Truncated, trailing, mis-shaped and mistyped records are refused. */
START_TEST(test_record_decode_bad)
{
	msgpack_sbuffer	 sb, bad;
	msgpack_packer	 pk;
	char		*buf;
	size_t		 i;
	static const uint8_t huge_array[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t huge_str[] = { 0xdb, 0x7f, 0xff, 0xff, 0xff,
	    'a' };
	static const uint8_t c1[] = { 0xc1 };
	uint8_t		 deep[64];

	valid_record(&sb);
	for (i = 0; i < sb.size; i++)
		decode_fails(sb.data, i, NULL);
	buf = xmalloc(sb.size + 1);
	memcpy(buf, sb.data, sb.size);
	buf[sb.size] = 0xc0;
	decode_fails(buf, sb.size + 1, "trailing");
	free(buf);
	decode_fails(huge_array, sizeof huge_array, "larger than the input");
	decode_fails(huge_str, sizeof huge_str, "truncated");
	decode_fails(c1, sizeof c1, "0xc1");
	memset(deep, 0x91, sizeof deep);	/* [[[[...]]]] */
	deep[sizeof deep - 1] = 0xc0;
	decode_fails(deep, sizeof deep, "deep");

	/* Each field with the wrong type or value. */
	msgpack_sbuffer_init(&bad);
	msgpack_packer_init(&pk, &bad, msgpack_sbuffer_write);
#define BAD(want, ...) do {						\
	msgpack_sbuffer_clear(&bad);					\
	__VA_ARGS__;							\
	decode_fails(bad.data, bad.size, want);				\
} while (0)
	BAD("array of 6", msgpack_pack_map(&pk, 0));
	BAD("array of 6", msgpack_pack_array(&pk, 5); for (i = 0; i < 5; i++)
	    msgpack_pack_int(&pk, 1));
	BAD("array of 6", msgpack_pack_array(&pk, 7); for (i = 0; i < 7; i++)
	    msgpack_pack_int(&pk, 1));
	BAD("version", msgpack_pack_array(&pk, 6);
	    msgpack_pack_str_with_body(&pk, "1", 1); msgpack_pack_int(&pk, 1);
	    msgpack_pack_int(&pk, 1); msgpack_pack_str_with_body(&pk, "k", 1);
	    msgpack_pack_nil(&pk); msgpack_pack_map(&pk, 0));
	BAD("version 2", msgpack_pack_array(&pk, 6); msgpack_pack_int(&pk, 2);
	    msgpack_pack_int(&pk, 1); msgpack_pack_int(&pk, 1);
	    msgpack_pack_str_with_body(&pk, "k", 1); msgpack_pack_nil(&pk);
	    msgpack_pack_map(&pk, 0));
	BAD("seq", msgpack_pack_array(&pk, 6); msgpack_pack_int(&pk, 1);
	    msgpack_pack_int(&pk, 0); msgpack_pack_int(&pk, 1);
	    msgpack_pack_str_with_body(&pk, "k", 1); msgpack_pack_nil(&pk);
	    msgpack_pack_map(&pk, 0));
	BAD("seq", msgpack_pack_array(&pk, 6); msgpack_pack_int(&pk, 1);
	    msgpack_pack_int(&pk, -3); msgpack_pack_int(&pk, 1);
	    msgpack_pack_str_with_body(&pk, "k", 1); msgpack_pack_nil(&pk);
	    msgpack_pack_map(&pk, 0));
	BAD("time_us", msgpack_pack_array(&pk, 6); msgpack_pack_int(&pk, 1);
	    msgpack_pack_int(&pk, 1); msgpack_pack_double(&pk, 1.5);
	    msgpack_pack_str_with_body(&pk, "k", 1); msgpack_pack_nil(&pk);
	    msgpack_pack_map(&pk, 0));
	BAD("time_us", msgpack_pack_array(&pk, 6); msgpack_pack_int(&pk, 1);
	    msgpack_pack_int(&pk, 1); msgpack_pack_uint64(&pk, UINT64_MAX);
	    msgpack_pack_str_with_body(&pk, "k", 1); msgpack_pack_nil(&pk);
	    msgpack_pack_map(&pk, 0));
	BAD("kind", msgpack_pack_array(&pk, 6); msgpack_pack_int(&pk, 1);
	    msgpack_pack_int(&pk, 1); msgpack_pack_int(&pk, 1);
	    msgpack_pack_int(&pk, 5); msgpack_pack_nil(&pk);
	    msgpack_pack_map(&pk, 0));
	BAD("kind", msgpack_pack_array(&pk, 6); msgpack_pack_int(&pk, 1);
	    msgpack_pack_int(&pk, 1); msgpack_pack_int(&pk, 1);
	    msgpack_pack_str_with_body(&pk, "", 0); msgpack_pack_nil(&pk);
	    msgpack_pack_map(&pk, 0));
	BAD("kind", msgpack_pack_array(&pk, 6); msgpack_pack_int(&pk, 1);
	    msgpack_pack_int(&pk, 1); msgpack_pack_int(&pk, 1);
	    msgpack_pack_str_with_body(&pk, "a\0b", 3); msgpack_pack_nil(&pk);
	    msgpack_pack_map(&pk, 0));
	BAD("kind", msgpack_pack_array(&pk, 6); msgpack_pack_int(&pk, 1);
	    msgpack_pack_int(&pk, 1); msgpack_pack_int(&pk, 1);
	    msgpack_pack_str(&pk, 256); msgpack_pack_str_body(&pk, deep, 64);
	    msgpack_pack_str_body(&pk, deep, 64);
	    msgpack_pack_str_body(&pk, deep, 64);
	    msgpack_pack_str_body(&pk, deep, 64); msgpack_pack_nil(&pk);
	    msgpack_pack_map(&pk, 0));
	BAD("account", msgpack_pack_array(&pk, 6); msgpack_pack_int(&pk, 1);
	    msgpack_pack_int(&pk, 1); msgpack_pack_int(&pk, 1);
	    msgpack_pack_str_with_body(&pk, "k", 1); msgpack_pack_int(&pk, 4);
	    msgpack_pack_map(&pk, 0));
	BAD("body", msgpack_pack_array(&pk, 6); msgpack_pack_int(&pk, 1);
	    msgpack_pack_int(&pk, 1); msgpack_pack_int(&pk, 1);
	    msgpack_pack_str_with_body(&pk, "k", 1); msgpack_pack_nil(&pk);
	    msgpack_pack_array(&pk, 0));
#undef BAD
	msgpack_sbuffer_destroy(&bad);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Random and mutated bytes never crash the decoder. */
START_TEST(test_record_decode_fuzz_bad)
{
	msgpack_sbuffer	 sb;
	struct record	 rec;
	uint8_t		 buf[512];
	json_t		*obj;
	char		*cause;
	size_t		 i, k, len, ok = 0;

	srandom(12345);
	valid_record(&sb);
	for (i = 0; i < 200000; i++) {
		if (i % 2 == 0) {
			len = (size_t)random() % sizeof buf;
			for (k = 0; k < len; k++)
				buf[k] = (uint8_t)random();
		} else {
			len = sb.size;
			memcpy(buf, sb.data, len);
			for (k = 0; k < 1 + (size_t)random() % 4; k++)
				buf[(size_t)random() % len] = (uint8_t)random();
		}
		cause = NULL;
		if (record_decode(buf, len, &rec, &cause) == 0) {
			ck_assert_int_eq(rec.body.type, MSGPACK_OBJECT_MAP);
			obj = record_to_json(&rec, NULL, &cause);
			if (obj == NULL) {
				ck_assert_ptr_nonnull(strstr(cause,
				    "duplicate map key"));
				free(cause);
			}
			json_decref(obj);
			record_clear(&rec);
			ok++;
		} else {
			ck_assert_ptr_nonnull(cause);
			free(cause);
		}
	}
	ck_assert_uint_lt(ok, 200000);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* The body check accepts exactly one map. */
START_TEST(test_record_check_body)
{
	char	*cause = NULL;

	ck_assert_int_eq(record_check_body("\x80", 1, &cause), 0);
	ck_assert_int_eq(record_check_body("\x81\xa1k\x01", 4, &cause), 0);
	ck_assert_int_eq(record_check_body("\xde\x00\x00", 3, &cause), 0);
	/* Scalar keys of any type; maps and arrays as values. */
	ck_assert_int_eq(record_check_body("\x82\x01\x80\xc0\x91\x01", 6,
	    &cause), 0);
}
END_TEST

/* Not a map, two maps, nothing, a truncated map: refused. */
START_TEST(test_record_check_body_bad)
{
	static const struct {
		const char	*buf;
		size_t		 len;
		const char	*want;
	} cases[] = {
		{ "", 0, "empty" },
		{ "\x90", 1, "not a msgpack map" },
		{ "\x01", 1, "not a msgpack map" },
		{ "\x80\x80", 2, "after the map" },
		{ "\x81\xa1k", 3, "truncated" },
		{ "\xdf\xff\xff\xff\xff", 5, "larger than the input" },
		/* Keys that are maps or arrays (their export texts would
		 * double with each level of nesting). */
		{ "\x81\x80\x01", 3, "a map key that is a map or an array" },
		{ "\x81\x91\x01\x01", 4, "a map key that is a map" },
		{ "\x81\xa1k\x81\x80\x01", 6, "a map key that is a map" },
	};
	char	*cause;
	size_t	 i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		cause = NULL;
		ck_assert_int_eq(record_check_body(cases[i].buf, cases[i].len,
		    &cause), -1);
		ck_assert_msg(strstr(cause, cases[i].want) != NULL,
		    "case %zu: %s", i, cause);
		free(cause);
	}
}
END_TEST

/* Convert a packed object to compact JSON text (allocated). */
static char *
to_json_text(msgpack_sbuffer *sb)
{
	msgpack_zone	 zone;
	msgpack_object	 o;
	size_t		 off = 0;
	json_t		*j;
	char		*s;

	msgpack_zone_init(&zone, 1024);
	ck_assert_int_eq(msgpack_unpack(sb->data, sb->size, &off, &zone, &o),
	    MSGPACK_UNPACK_SUCCESS);
	j = record_object_to_json(&o);
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_ENCODE_ANY);
	json_decref(j);
	msgpack_zone_destroy(&zone);
	return (s);
}

/* Maps, keys of any type, bin, ext, floats, integers to JSON. */
START_TEST(test_record_json)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	char		*s;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 8);
	msgpack_pack_str_with_body(&pk, "s", 1);
	msgpack_pack_str_with_body(&pk, "h\xc3\xa9", 3);
	msgpack_pack_int(&pk, 42);
	msgpack_pack_int(&pk, -1);
	msgpack_pack_str_with_body(&pk, "bin", 3);
	msgpack_pack_bin_with_body(&pk, "\x00\x01\x02", 3);
	msgpack_pack_str_with_body(&pk, "ext", 3);
	msgpack_pack_ext_with_body(&pk, "ab", 2, 5);
	msgpack_pack_str_with_body(&pk, "f", 1);
	msgpack_pack_double(&pk, 0.5);
	msgpack_pack_str_with_body(&pk, "big", 3);
	msgpack_pack_uint64(&pk, UINT64_MAX);
	msgpack_pack_str_with_body(&pk, "a", 1);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_nil(&pk);
	msgpack_pack_true(&pk);
	msgpack_pack_int64(&pk, INT64_MIN);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_str_with_body(&pk, "k", 1);
	s = to_json_text(&sb);
	ck_assert_str_eq(s, "{\"s\":\"h\xc3\xa9\",\"42\":-1,\"bin\":\"AAEC\","
	    "\"ext\":{\"ext\":5,\"data\":\"YWI=\"},\"f\":0.5,"
	    "\"big\":\"18446744073709551615\","
	    "\"a\":[null,true,-9223372036854775808],\"[1]\":\"k\"}");
	free(s);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Invalid UTF-8 and non-finite floats still give valid JSON. */
START_TEST(test_record_json_bad)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	char		*s;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 3);
	msgpack_pack_str_with_body(&pk, "\xff", 1);
	msgpack_pack_str_with_body(&pk, "a\xc3(\xed\xa0\x80z", 7);
	msgpack_pack_str_with_body(&pk, "nan", 3);
	msgpack_pack_double(&pk, NAN);
	msgpack_pack_str_with_body(&pk, "inf", 3);
	msgpack_pack_double(&pk, -INFINITY);
	s = to_json_text(&sb);
	ck_assert_str_eq(s, "{\"\xef\xbf\xbd\":\"a\xef\xbf\xbd(\xef\xbf\xbd"
	    "\xef\xbf\xbd\xef\xbf\xbdz\",\"nan\":\"NaN\","
	    "\"inf\":\"-Infinity\"}");
	free(s);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Decode SB as a msgpack object in ZONE-less unpacked U. */
static void
unpack_sb(msgpack_sbuffer *sb, msgpack_unpacked *u)
{
	msgpack_unpacked_init(u);
	ck_assert_int_eq(msgpack_unpack_next(u, sb->data, sb->size, NULL),
	    MSGPACK_UNPACK_SUCCESS);
}

/* Distinct keys pass, at any depth, whatever their types. */
START_TEST(test_record_check_keys)
{
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	msgpack_unpacked	 u;
	char			*cause = NULL;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 4);
	msgpack_pack_str_with_body(&pk, "a", 1);
	msgpack_pack_int(&pk, 1);
	msgpack_pack_str_with_body(&pk, "b", 1);
	msgpack_pack_array(&pk, 1);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "a", 1);
	msgpack_pack_nil(&pk);
	msgpack_pack_str_with_body(&pk, "ab", 2);
	msgpack_pack_nil(&pk);
	msgpack_pack_int(&pk, 7);
	msgpack_pack_nil(&pk);
	msgpack_pack_str_with_body(&pk, "", 0);
	msgpack_pack_nil(&pk);
	unpack_sb(&sb, &u);
	ck_assert_int_eq(record_check_keys(&u.data, &cause), 0);
	msgpack_unpacked_destroy(&u);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Two keys with one name are refused: equal strings (in two encodings),
 * a string and an integer both named "1", nested ones, invalid UTF-8 that
 * becomes the same text. */
START_TEST(test_record_check_keys_bad)
{
	static const char *want[] = { "\"a\"", "\"1\"", "\"x\"",
	    "\"\xef\xbf\xbd\"" };
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	msgpack_unpacked	 u;
	char			*cause = NULL;
	int			 i;

	for (i = 0; i < 4; i++) {
		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		msgpack_pack_map(&pk, 2);
		switch (i) {
		case 0:
			msgpack_pack_str_with_body(&pk, "a", 1);
			msgpack_pack_int(&pk, 1);
			msgpack_sbuffer_write(&sb, "\xd9\x01" "a", 3); /* str8 */
			msgpack_pack_int(&pk, 2);
			break;
		case 1:
			msgpack_pack_str_with_body(&pk, "1", 1);
			msgpack_pack_int(&pk, 1);
			msgpack_pack_int(&pk, 1);
			msgpack_pack_int(&pk, 2);
			break;
		case 2:
			msgpack_pack_str_with_body(&pk, "ok", 2);
			msgpack_pack_int(&pk, 1);
			msgpack_pack_str_with_body(&pk, "deep", 4);
			msgpack_pack_array(&pk, 1);
			msgpack_pack_map(&pk, 2);
			msgpack_pack_str_with_body(&pk, "x", 1);
			msgpack_pack_nil(&pk);
			msgpack_pack_str_with_body(&pk, "x", 1);
			msgpack_pack_true(&pk);
			break;
		default:
			msgpack_pack_str_with_body(&pk, "\xff", 1);
			msgpack_pack_int(&pk, 1);
			msgpack_pack_str_with_body(&pk, "\xfe", 1);
			msgpack_pack_int(&pk, 2);
			break;
		}
		unpack_sb(&sb, &u);
		ck_assert_int_eq(record_check_keys(&u.data, &cause), -1);
		ck_assert_msg(strstr(cause, "duplicate map key") != NULL &&
		    strstr(cause, want[i]) != NULL, "%d: %s", i, cause);
		free(cause);
		msgpack_unpacked_destroy(&u);
		msgpack_sbuffer_destroy(&sb);
	}
}
END_TEST

/*
 * record_scan against record_decode and record_check_keys: 0 only where
 * both take BUF, with the header they decode; returns the scan's result.
 */
static int
scan_agrees(const void *buf, size_t len)
{
	struct record_head	 h;
	struct record		 rec;
	char			*cause = NULL;
	int			 rc;

	if ((rc = record_scan(buf, len, &h)) != 0)
		return (rc);
	ck_assert_int_eq(record_decode(buf, len, &rec, &cause), 0);
	ck_assert_int_eq(record_check_keys(&rec.body, &cause), 0);
	ck_assert_uint_eq(h.rec.version, rec.version);
	ck_assert_uint_eq(h.rec.seq, rec.seq);
	ck_assert_int_eq(h.rec.time_us, rec.time_us);
	ck_assert_str_eq(h.rec.kind, rec.kind);
	if (rec.account == NULL)
		ck_assert_ptr_null(h.rec.account);
	else
		ck_assert_str_eq(h.rec.account, rec.account);
	ck_assert_int_eq(h.rec.body.type, MSGPACK_OBJECT_NIL);
	ck_assert_ptr_null(h.rec.zone);
	record_clear(&rec);
	return (0);
}

/* A record of header SEQ, TIME_US, KIND, ACCOUNT, whose body the caller
 * packs next through *PK. */
static void
scan_record(msgpack_sbuffer *sb, msgpack_packer *pk, uint64_t seq,
    int64_t time_us, const char *account)
{
	msgpack_sbuffer_clear(sb);
	msgpack_packer_init(pk, sb, msgpack_sbuffer_write);
	record_pack_header(pk, seq, time_us, "run.finished", account);
}

/* The usual records scan as they decode: every scalar type, nesting,
 * "_micro" keys, a nil account, negative and large integers; the header's
 * integers in any of their encodings. */
START_TEST(test_record_scan)
{
	static const uint8_t	 ints[] = {
		0x96, 0xd0, 0x01,			/* version, int8 */
		0xcf, 0, 0, 0, 0, 0, 0, 0, 9,		/* seq, uint64 */
		0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
		0xd9, 0x01, 'k', 0xc0, 0x80		/* kind str8 */
	};
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	struct record_head	 h;
	char			 key[16];
	int			 i;

	msgpack_sbuffer_init(&sb);
	scan_record(&sb, &pk, 7, 1700000000123456LL, "acme");
	msgpack_pack_map(&pk, 0);
	ck_assert_int_eq(scan_agrees(sb.data, sb.size), 0);

	scan_record(&sb, &pk, UINT64_MAX, -100000, NULL);	/* int32 */
	msgpack_pack_map(&pk, 9);
	msgpack_pack_str_with_body(&pk, "cost_micro", 10);
	msgpack_pack_int64(&pk, -1);
	msgpack_pack_str_with_body(&pk, "cost", 4);	/* not cost_usd */
	msgpack_pack_uint64(&pk, UINT64_MAX);
	msgpack_pack_str_with_body(&pk, "_micro", 6);	/* stays _micro */
	msgpack_pack_double(&pk, 1.5);
	msgpack_pack_str_with_body(&pk, "f", 1);
	msgpack_pack_float(&pk, 2.5f);
	msgpack_pack_str_with_body(&pk, "b\xc3\xa9", 3);	/* "bé" */
	msgpack_pack_bin_with_body(&pk, "\0\1", 2);
	msgpack_pack_str_with_body(&pk, "t", 1);
	msgpack_pack_true(&pk);
	msgpack_pack_str_with_body(&pk, "n", 1);
	msgpack_pack_array(&pk, 3);
	msgpack_pack_int(&pk, -100000);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "a", 1);
	msgpack_pack_nil(&pk);
	msgpack_pack_str_with_body(&pk, "a_usd", 5);
	msgpack_pack_str_with_body(&pk, "x", 1);
	msgpack_pack_array(&pk, 0);
	msgpack_pack_str_with_body(&pk, "", 0);
	msgpack_pack_str_with_body(&pk, "", 0);
	msgpack_pack_str_with_body(&pk, "long", 4);
	msgpack_pack_str(&pk, 70000);
	for (i = 0; i < 70000 / 10; i++)
		msgpack_pack_str_body(&pk, "0123456789", 10);
	ck_assert_int_eq(scan_agrees(sb.data, sb.size), 0);

	/* 64 keys (two of one length, first and last byte: "k0.0" and
	 * "k0-0", ...), 8 deep. */
	scan_record(&sb, &pk, 1, 0, "a");
	msgpack_pack_map(&pk, 64);
	for (i = 0; i < 63; i++) {
		snprintf(key, sizeof key, "k%d%c%d", i / 2, i % 2 ? '-' : '.',
		    i / 2);
		msgpack_pack_str_with_body(&pk, key, strlen(key));
		msgpack_pack_int(&pk, i);
	}
	msgpack_pack_str_with_body(&pk, "d", 1);
	for (i = 0; i < 6; i++)
		msgpack_pack_array(&pk, 1);
	msgpack_pack_nil(&pk);
	ck_assert_int_eq(scan_agrees(sb.data, sb.size), 0);

	ck_assert_int_eq(scan_agrees(ints, sizeof ints), 0);
	ck_assert_int_eq(record_scan(ints, sizeof ints, &h), 0);
	ck_assert_uint_eq(h.rec.seq, 9);
	ck_assert_int_eq(h.rec.time_us, -2);
	ck_assert_str_eq(h.rec.kind, "k");
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Records with two keys of one name are not taken (nor are the shapes
 * left to the full decode: deeper than 8, more than 64 keys, keys that are
 * no plain string, ext values), at any depth, also when the names are
 * only alike once invalid UTF-8 is replaced. */
START_TEST(test_record_scan_bad)
{
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	struct record		 rec;
	char			*cause, key[16];
	int			 i, k, dup;

	msgpack_sbuffer_init(&sb);
	for (i = 0; i < 12; i++) {
		scan_record(&sb, &pk, 3, 4, "acct");
		dup = i < 5 || i == 11;
		switch (i) {
		case 0:				/* str8 and fixstr "ab" */
			msgpack_pack_map(&pk, 2);
			msgpack_pack_str_with_body(&pk, "ab", 2);
			msgpack_pack_nil(&pk);
			msgpack_sbuffer_write(&sb, "\xd9\x02" "ab", 4);
			msgpack_pack_nil(&pk);
			break;
		case 1:				/* "a_usd", "a_micro" */
			msgpack_pack_map(&pk, 3);
			msgpack_pack_str_with_body(&pk, "a_usd", 5);
			msgpack_pack_nil(&pk);
			msgpack_pack_str_with_body(&pk, "b", 1);
			msgpack_pack_nil(&pk);
			msgpack_pack_str_with_body(&pk, "a_micro", 7);
			msgpack_pack_int(&pk, 1);
			break;
		case 2:				/* two "x_micro" */
			msgpack_pack_map(&pk, 2);
			msgpack_pack_str_with_body(&pk, "x_micro", 7);
			msgpack_pack_int(&pk, 1);
			msgpack_pack_str_with_body(&pk, "x_micro", 7);
			msgpack_pack_int(&pk, 2);
			break;
		case 3:				/* nested in an array */
			msgpack_pack_map(&pk, 1);
			msgpack_pack_str_with_body(&pk, "n", 1);
			msgpack_pack_array(&pk, 2);
			msgpack_pack_nil(&pk);
			msgpack_pack_map(&pk, 3);
			for (k = 0; k < 3; k++) {
				msgpack_pack_str_with_body(&pk, k < 2 ? "y" :
				    "z", 1);
				msgpack_pack_int(&pk, k);
			}
			break;
		case 4:				/* the last of 64 */
			msgpack_pack_map(&pk, 64);
			for (k = 0; k < 64; k++) {
				snprintf(key, sizeof key, "k%d",
				    k < 63 ? k : 17);
				msgpack_pack_str_with_body(&pk, key,
				    strlen(key));
				msgpack_pack_nil(&pk);
			}
			break;
		case 5:				/* 65 keys */
			msgpack_pack_map(&pk, 65);
			for (k = 0; k < 65; k++) {
				snprintf(key, sizeof key, "k%d", k);
				msgpack_pack_str_with_body(&pk, key,
				    strlen(key));
				msgpack_pack_nil(&pk);
			}
			break;
		case 6:				/* 9 deep */
			msgpack_pack_map(&pk, 1);
			msgpack_pack_str_with_body(&pk, "d", 1);
			for (k = 0; k < 7; k++)
				msgpack_pack_array(&pk, 1);
			msgpack_pack_nil(&pk);
			break;
		case 7:				/* an integer key */
			msgpack_pack_map(&pk, 1);
			msgpack_pack_int(&pk, 1);
			msgpack_pack_nil(&pk);
			break;
		case 8:				/* invalid UTF-8 */
			msgpack_pack_map(&pk, 1);
			msgpack_pack_str_with_body(&pk, "\xc0\x80", 2);
			msgpack_pack_nil(&pk);
			break;
		case 9:				/* NUL in a key */
			msgpack_pack_map(&pk, 1);
			msgpack_pack_str_with_body(&pk, "a\0", 2);
			msgpack_pack_nil(&pk);
			break;
		case 10:			/* an ext value */
			msgpack_pack_map(&pk, 1);
			msgpack_pack_str_with_body(&pk, "e", 1);
			msgpack_pack_ext_with_body(&pk, "z", 1, 1);
			break;
		default:			/* both U+FFFD "abcdefgh" */
			msgpack_pack_map(&pk, 2);
			msgpack_pack_str_with_body(&pk, "\x80" "abcdefgh", 9);
			msgpack_pack_nil(&pk);
			msgpack_pack_str_with_body(&pk,
			    "\xef\xbf\xbd" "abcdefgh", 11);
			msgpack_pack_nil(&pk);
			break;
		}
		ck_assert_msg(scan_agrees(sb.data, sb.size) == -1, "%d", i);
		cause = NULL;
		ck_assert_int_eq(record_decode(sb.data, sb.size, &rec, &cause),
		    0);
		ck_assert_int_eq(record_check_keys(&rec.body, &cause),
		    dup ? -1 : 0);
		free(cause);
		record_clear(&rec);
	}
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Over random and mutated bytes, the scan takes a record only where
 * record_decode and record_check_keys take it, with the same header. */
START_TEST(test_record_scan_fuzz_bad)
{
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	struct record		 rec;
	uint8_t			 buf[512];
	char			*cause;
	size_t			 i, k, len, taken = 0, left = 0;

	msgpack_sbuffer_init(&sb);
	scan_record(&sb, &pk, 300, 1700000000123456LL, "acme");
	msgpack_pack_map(&pk, 6);
	msgpack_pack_str_with_body(&pk, "a_micro", 7);
	msgpack_pack_int(&pk, 1200);
	msgpack_pack_str_with_body(&pk, "scheduled_for", 13);
	msgpack_pack_int(&pk, 3);
	msgpack_pack_str_with_body(&pk, "a_usc", 5);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_map(&pk, 2);
	msgpack_pack_str_with_body(&pk, "p", 1);
	msgpack_pack_double(&pk, 0.5);
	msgpack_pack_str_with_body(&pk, "q", 1);
	msgpack_pack_bin_with_body(&pk, "\xa1\x70", 2);
	msgpack_pack_int(&pk, -70000);
	msgpack_pack_str_with_body(&pk, "status", 6);
	msgpack_pack_str_with_body(&pk, "success", 7);
	msgpack_pack_str_with_body(&pk, "stbtus", 6);
	msgpack_pack_nil(&pk);
	msgpack_pack_str_with_body(&pk, "\xc3\xa9", 2);
	msgpack_pack_true(&pk);
	srandom(54321);
	for (i = 0; i < 200000; i++) {
		if (i % 4 == 0) {
			len = (size_t)random() % 64;
			for (k = 0; k < len; k++)
				buf[k] = (uint8_t)random();
		} else {
			len = sb.size;
			memcpy(buf, sb.data, len);
			for (k = 0; k < 1 + (size_t)random() % 3; k++)
				buf[(size_t)random() % len] = (uint8_t)random();
		}
		if (scan_agrees(buf, len) == 0) {
			taken++;
			continue;
		}
		cause = NULL;
		if (record_decode(buf, len, &rec, &cause) == 0) {
			left++;
			if (record_check_keys(&rec.body, &cause) != 0)
				free(cause);
			record_clear(&rec);
		} else
			free(cause);
	}
	/* Both ways were taken: records scanned, records left to decode. */
	ck_assert_uint_gt(taken, 1000);
	ck_assert_uint_gt(left, 1000);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* A whole record as the export line's object. */
START_TEST(test_record_to_json)
{
	msgpack_sbuffer	 sb;
	struct record	 rec;
	uint8_t		 h[32];
	char		*cause, *s;
	json_t		*obj;

	valid_record(&sb);
	ck_assert_int_eq(record_decode(sb.data, sb.size, &rec, &cause), 0);
	memset(h, 0xab, sizeof h);
	obj = record_to_json(&rec, h, &cause);
	s = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(obj);
	ck_assert_str_eq(s, "{\"seq\":7,\"time\":\"2023-11-14T22:13:20.123Z\","
	    "\"time_us\":1700000000123456,\"kind\":\"run.started\","
	    "\"account\":\"acme\",\"body\":{\"a\":1},\"hash\":\""
	    "abababababababababababababababab"
	    "abababababababababababababababab\"}");
	free(s);
	record_clear(&rec);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Export BODY (packed in SB) as a record's body; the compact text of the
 * body, or NULL and *CAUSE. */
static char *
export_body(msgpack_sbuffer *body, char **cause)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	struct record	 rec;
	json_t		*obj;
	char		*s = NULL, *why;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	record_pack_header(&pk, 1, 0, "k", NULL);
	msgpack_sbuffer_write(&sb, body->data, body->size);
	ck_assert_msg(record_decode(sb.data, sb.size, &rec, &why) == 0, "%s",
	    why);
	if ((obj = record_to_json(&rec, NULL, cause)) != NULL) {
		s = json_dumps(json_object_get(obj, "body"), JSON_COMPACT |
		    JSON_PRESERVE_ORDER);
		json_decref(obj);
	}
	record_clear(&rec);
	msgpack_sbuffer_destroy(&sb);
	return (s);
}

static void
pk_str(msgpack_packer *pk, const char *s)
{
	msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* The export's mappings: money in dollars (-1 null), JSON text parsed
 * (text that is not JSON kept), unknown counts null, the other types. */
START_TEST(test_record_export)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	char		*cause = NULL, *s;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 15);
	pk_str(&pk, "cost_micro");
	msgpack_pack_int64(&pk, 1250000);
	pk_str(&pk, "spent_micro");
	msgpack_pack_int64(&pk, -1);
	pk_str(&pk, "estimate_micro");
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "low");
	msgpack_pack_int64(&pk, 7);
	pk_str(&pk, "high");
	msgpack_pack_int64(&pk, 12345678901LL);
	pk_str(&pk, "parameters");
	pk_str(&pk, "{\"b\": [1, 2.5, null], \"a\": \"x\"}");
	pk_str(&pk, "result");
	pk_str(&pk, "not json");
	pk_str(&pk, "usage");
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "input_tokens");
	msgpack_pack_int64(&pk, -1);
	pk_str(&pk, "output_tokens");
	msgpack_pack_int64(&pk, 5);
	pk_str(&pk, "by_pid");
	msgpack_pack_int64(&pk, -1);
	pk_str(&pk, "by_uid");
	msgpack_pack_int64(&pk, -1);
	pk_str(&pk, "n");
	msgpack_pack_int64(&pk, -1);
	pk_str(&pk, "f");
	msgpack_pack_double(&pk, 0.1);
	pk_str(&pk, "big");
	msgpack_pack_uint64(&pk, UINT64_MAX);
	pk_str(&pk, "bin");
	msgpack_pack_bin_with_body(&pk, "\x00\xff", 2);
	msgpack_pack_int64(&pk, 5);
	msgpack_pack_nil(&pk);
	pk_str(&pk, "inf");
	msgpack_pack_double(&pk, INFINITY);
	pk_str(&pk, "ui");
	msgpack_pack_nil(&pk);
	s = export_body(&sb, &cause);
	ck_assert_msg(s != NULL, "%s", cause);
	ck_assert_str_eq(s, "{\"cost_usd\":\"1.250000\",\"spent_usd\":null,"
	    "\"estimate_usd\":{\"low\":\"0.000007\",\"high\":"
	    "\"12345.678901\"},\"parameters\":{\"b\":[1,2.5,null],\"a\":"
	    "\"x\"},\"result\":\"not json\",\"usage\":{\"input_tokens\":"
	    "null,\"output_tokens\":5},\"by_pid\":null,\"by_uid\":null,\"n\":-1,\"f\":"
	    "0.10000000000000001,\"big\":\"18446744073709551615\",\"bin\":"
	    "\"AP8=\",\"5\":null,\"inf\":\"Infinity\",\"ui\":null}");
	free(s);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Two keys of one export name make the record refused, also when one is
 * the other's "_micro" renamed; JSON text with duplicate keys is kept as
 * text. */
START_TEST(test_record_export_bad)
{
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	char		*cause = NULL, *s;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 2);
	pk_str(&pk, "a_micro");
	msgpack_pack_int64(&pk, 1);
	pk_str(&pk, "a_usd");
	msgpack_pack_int64(&pk, 2);
	ck_assert_ptr_null(export_body(&sb, &cause));
	ck_assert_str_eq(cause, "duplicate map key \"a_usd\"");
	free(cause);
	msgpack_sbuffer_destroy(&sb);

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_map(&pk, 1);
	pk_str(&pk, "parameters");
	pk_str(&pk, "{\"a\": 1, \"a\": 2}");
	s = export_body(&sb, &cause);
	ck_assert_str_eq(s, "{\"parameters\":\"{\\\"a\\\": 1, \\\"a\\\": 2}\"}");
	free(s);
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* --- chain.c ------------------------------------------------------------ */

/* The genesis hash is SHA-256("chime-journal-genesis-v1"). */
START_TEST(test_chain_genesis)
{
	uint8_t	g[32];
	char	hex[65];

	chain_genesis(g);
	chain_hex(g, hex);
	ck_assert_str_eq(hex, GENESIS_HEX);
}
END_TEST

/* chain_next and chain_ctx both compute SHA-256(prev || data). */
START_TEST(test_chain_next)
{
	struct chain_ctx	*ctx;
	uint8_t			 prev[32], a[32], b[32], want[32];

	chain_genesis(prev);
	sha256_2(prev, 32, "hello", 5, want);
	chain_next(prev, "hello", 5, a);
	ck_assert_mem_eq(a, want, 32);
	ctx = chain_ctx_create();
	chain_ctx_begin(ctx, prev);
	chain_ctx_update(ctx, "hel", 3);
	chain_ctx_update(ctx, "lo", 2);
	chain_ctx_end(ctx, b);
	chain_ctx_free(ctx);
	ck_assert_mem_eq(b, want, 32);
	chain_next(prev, "hello", 5, prev);	/* in place */
	ck_assert_mem_eq(prev, want, 32);
}
END_TEST

/* The worked example of doc/journal-format.md: bytes and hash. */
START_TEST(test_chain_example)
{
	static const char	*want_rec = "960101cf0006474846204000ae6461656d"
	    "6f6e2e73746172746564c081a776657273696f6ea5302e312e30";
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	uint8_t			 g[32], h[32];
	char			 hex[65], *rec;
	size_t			 i;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	record_pack_header(&pk, 1, 1767225600000000LL, "daemon.started",
	    NULL);
	msgpack_pack_map(&pk, 1);
	msgpack_pack_str_with_body(&pk, "version", 7);
	msgpack_pack_str_with_body(&pk, "0.1.0", 5);
	rec = xmalloc(sb.size * 2 + 1);
	for (i = 0; i < sb.size; i++)
		snprintf(rec + i * 2, 3, "%02x", (uint8_t)sb.data[i]);
	ck_assert_str_eq(rec, want_rec);
	free(rec);
	chain_genesis(g);
	chain_next(g, sb.data, sb.size, h);
	chain_hex(h, hex);
	ck_assert_str_eq(hex, "14a79f6d9718d6c0ed6503fcf2ecdd521c3d341ec2c88f0"
	    "ee57c19bb7b01c2f3");
	msgpack_sbuffer_destroy(&sb);
}
END_TEST

/* Hex round trip. */
START_TEST(test_chain_unhex)
{
	uint8_t	h[32], g[32];

	ck_assert_int_eq(chain_unhex(GENESIS_HEX, h), 0);
	chain_genesis(g);
	ck_assert_mem_eq(h, g, 32);
}
END_TEST

/* Wrong length or a non-hex digit is refused. */
START_TEST(test_chain_unhex_bad)
{
	uint8_t	h[32];
	char	bad[65];

	ck_assert_int_eq(chain_unhex("abcd", h), -1);
	ck_assert_int_eq(chain_unhex(GENESIS_HEX "0", h), -1);
	memcpy(bad, GENESIS_HEX, sizeof bad);
	bad[10] = 'g';
	ck_assert_int_eq(chain_unhex(bad, h), -1);
}
END_TEST

/* --- jrec.c ------------------------------------------------------------- */

/* A record with a body, claims and table changes seals. */
START_TEST(test_jrec_build)
{
	struct jrec	*rec;

	rec = make_rec("schedule.created", NULL, 1, 10);
	jrec_claim(rec, "s1@1700000000");
	jrec_put(rec, "schedules", "s1", 2, "v", 1);
	jrec_del(rec, "schedules", "s0", 2);
	ck_assert_int_eq(jrec_seal(rec), 0);
	ck_assert_uint_eq(rec->nops, 3);
	ck_assert_str_eq(jrec_str(rec, rec->ops[0].name), "s1@1700000000");
	ck_assert_str_eq(jrec_str(rec, rec->ops[1].name), "schedules");
	ck_assert_ptr_null(rec->account);
	jrec_free(rec);
	jrec_free(NULL);
}
END_TEST

/* Bad kinds, keys, tables and bodies leave a sticky error. */
START_TEST(test_jrec_build_bad)
{
	struct jrec	*rec;
	char		 longkey[600];

	memset(longkey, 'k', sizeof longkey - 1);
	longkey[sizeof longkey - 1] = '\0';
	rec = make_rec("", NULL, 1, 1);
	ck_assert_int_eq(jrec_seal(rec), -1);
	ck_assert_ptr_nonnull(strstr(rec->error, "kind"));
	jrec_free(rec);

	rec = make_rec("k", "", 1, 1);
	ck_assert_int_eq(jrec_seal(rec), -1);
	jrec_free(rec);

	rec = make_rec("k", NULL, 1, 1);
	jrec_claim(rec, longkey);
	ck_assert_int_eq(jrec_seal(rec), -1);
	ck_assert_ptr_nonnull(strstr(rec->error, "dedup key of 599 bytes"));
	jrec_free(rec);

	rec = make_rec("k", NULL, 1, 1);
	jrec_put(rec, "log", "a", 1, "b", 1);
	jrec_put(rec, "a/b", "a", 1, "b", 1);
	ck_assert_int_eq(jrec_seal(rec), -1);
	ck_assert_ptr_nonnull(strstr(rec->error, "\"log\""));
	jrec_free(rec);

	rec = make_rec("k", NULL, 1, 1);
	jrec_del(rec, "t", "", 0);
	ck_assert_int_eq(jrec_seal(rec), -1);
	jrec_free(rec);

	rec = jrec_create("k", NULL);
	msgpack_pack_array(jrec_body(rec), 0);
	ck_assert_int_eq(jrec_seal(rec), -1);
	ck_assert_ptr_nonnull(strstr(rec->error, "not a msgpack map"));
	jrec_free(rec);
}
END_TEST

/* --- store-lmdb.c ------------------------------------------------------- */

/* The first row's key of the last walk, as LMDB gave it (not copied). */
static const char	*first_row;

/* A walk's END: appends "end", and checks that the first row's key can
 * still be read (the walk's transaction is open). */
static void
end_row(void *arg)
{
	char	**out = arg;
	char	 *n;

	if (first_row != NULL)
		ck_assert_int_eq(first_row[0], 'a');
	xasprintf(&n, "%send", *out);
	free(*out);
	*out = n;
}

static struct store *
store_open_t(size_t initial, size_t max, int readonly)
{
	struct journal_options	 o;
	struct store		*s;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.map_initial = initial;
	o.map_max = max;
	o.readonly = readonly;
	o.sync = JOURNAL_SYNC_NONE;
	s = store_lmdb_ops.open(jdir, &o, &cause);
	ck_assert_msg(s != NULL, "open: %s", cause);
	return (s);
}

static int
count_row(const struct journal_row *row, void *arg)
{
	char	**out = arg;
	char	 *n;

	if (**out == '\0')
		first_row = row->key;
	xasprintf(&n, "%s%.*s,", *out, (int)row->klen,
	    (const char *)row->key);
	free(*out);
	*out = n;
	return (0);
}

/* A new store has meta (format 1, id, genesis head) in a 0700 dir. */
START_TEST(test_store_open)
{
	struct store		*s;
	struct journal_meta	 m;
	struct stat		 sb;
	uint8_t			 g[32];
	char			*cause;
	uint64_t		 last = 99;

	s = store_open_t(0, 0, 0);
	ck_assert_int_eq(stat(jdir, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0700);
	ck_assert_int_eq(store_lmdb_ops.meta(s, &m, &cause), 0);
	ck_assert_uint_eq(m.format, 1);
	ck_assert_uint_eq(strlen(m.journal_id), 32);
	ck_assert_uint_eq(m.head_seq, 0);
	chain_genesis(g);
	ck_assert_mem_eq(m.head_hash, g, 32);
	ck_assert_int_eq(store_lmdb_ops.log_last(s, &last, &cause), 0);
	ck_assert_uint_eq(last, 0);
	ck_assert_uint_eq(store_lmdb_ops.map_size(s), 64 * 1024 * 1024);
	store_lmdb_ops.close(s);
}
END_TEST

/* Missing, foreign, newer-format stores and bad sizes are refused. */
START_TEST(test_store_open_bad)
{
	struct journal_options	 o;
	struct store		*s;
	uint8_t			 two[8] = { 0, 0, 0, 0, 0, 0, 0, 2 };
	char			*cause = NULL, path[256];
	FILE			*f;

	memset(&o, 0, sizeof o);
	o.readonly = 1;
	ck_assert_ptr_null(store_lmdb_ops.open(jdir, &o, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "No such file"));
	free(cause);

	o.readonly = 0;
	o.map_initial = 1 << 20;
	o.map_max = 1 << 19;
	ck_assert_ptr_null(store_lmdb_ops.open(jdir, &o, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "larger than map_max"));
	free(cause);

	s = store_open_t(0, 0, 0);
	memset(&o, 0, sizeof o);
	ck_assert_ptr_null(store_lmdb_ops.open(jdir, &o, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "already open for writing"));
	free(cause);
	store_lmdb_ops.close(s);
	raw_meta("format", two, 8);
	ck_assert_ptr_null(store_lmdb_ops.open(jdir, &o, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "journal format 2, written by "
	    "chime " CHIME_VERSION ", is newer than this chime"));
	ck_assert_ptr_nonnull(strstr(cause, "nothing was changed"));
	free(cause);
	two[7] = 0;		/* format 0: older than any */
	raw_meta("format", two, 8);
	ck_assert_ptr_null(store_lmdb_ops.open(jdir, &o, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "format 0 is not supported"));
	free(cause);

	snprintf(path, sizeof path, "%s/other", tmpdir);
	mkdir(path, 0700);
	snprintf(path, sizeof path, "%s/other/data.mdb", tmpdir);
	f = fopen(path, "w");
	fputs("this is not an LMDB file at all, just some text........", f);
	fclose(f);
	snprintf(path, sizeof path, "%s/other", tmpdir);
	ck_assert_ptr_null(store_lmdb_ops.open(path, &o, &cause));
	ck_assert_ptr_nonnull(cause);
	free(cause);
}
END_TEST

/* Truncate DATA.mdb of the test journal to SIZE bytes. */
static void
truncate_data(off_t size)
{
	char	path[256];

	snprintf(path, sizeof path, "%s/data.mdb", jdir);
	ck_assert_int_eq(truncate(path, size), 0);
}

/* A journal whose file holds every page in use opens, also read-only,
 * also grown by writes past its first pages. */
START_TEST(test_store_size)
{
	struct journal		*j;
	struct journal_options	 o;
	struct seen		 s = { 0 };
	char			*cause = NULL;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	submit_n(j, &s, 200, 500);
	wait_for(&s, 200);
	journal_close(j);
	memset(&o, 0, sizeof o);
	o.readonly = 1;
	j = journal_open(jdir, &o, &cause);
	ck_assert_msg(j != NULL, "%s", cause);
	journal_close(j);
	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* A data.mdb cut short (below the pages in use, below its meta pages, to
 * nothing) is refused with its name and sizes, never read (SIGBUS). */
START_TEST(test_store_size_bad)
{
	struct journal		*j;
	struct journal_options	 o;
	struct seen		 s = { 0 };
	struct stat		 sb;
	char			*cause = NULL, path[256], want[512];

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	submit_n(j, &s, 200, 500);
	wait_for(&s, 200);
	journal_close(j);
	snprintf(path, sizeof path, "%s/data.mdb", jdir);
	ck_assert_int_eq(stat(path, &sb), 0);
	truncate_data(sb.st_size / 2);
	memset(&o, 0, sizeof o);
	for (o.readonly = 0; o.readonly <= 1; o.readonly++) {
		ck_assert_ptr_null(journal_open(jdir, &o, &cause));
		snprintf(want, sizeof want, "%s is truncated: the file has "
		    "%lld bytes, but LMDB's meta page says %lld are in use",
		    path, (long long)sb.st_size / 2, (long long)sb.st_size);
		ck_assert_msg(strstr(cause, want) != NULL, "%s", cause);
		free(cause);
	}
	truncate_data(100);
	ck_assert_ptr_null(journal_open(jdir, &o, &cause));
	ck_assert_msg(strstr(cause, "(100 bytes) is not an LMDB file, or is "
	    "truncated") != NULL, "%s", cause);
	free(cause);
	truncate_data(0);
	for (o.readonly = 0; o.readonly <= 1; o.readonly++) {
		ck_assert_ptr_null(journal_open(jdir, &o, &cause));
		ck_assert_msg(strstr(cause, "data.mdb is empty (0 bytes)") !=
		    NULL, "%s", cause);
		free(cause);
	}
	ck_assert_int_eq(stat(path, &sb), 0);
	ck_assert_int_eq(sb.st_size, 0);	/* not made a new journal */
	seen_free(&s);
}
END_TEST

/* Table rows: prefix walks both ways, gets, deletes; a table created in
 * an aborted transaction never appears. */
START_TEST(test_store_tables)
{
	struct store	*s;
	char		*cause = NULL, *out;
	void		*val;
	size_t		 vlen;
	static const char *keys[] = { "a", "b1", "b2", "b3", "c", "b\xff",
	    "b\xff\xff" };
	size_t		 i;

	s = store_open_t(0, 0, 0);
	ck_assert_int_eq(store_lmdb_ops.begin(s, &cause), STORE_OK);
	for (i = 0; i < 7; i++)
		ck_assert_int_eq(store_lmdb_ops.put(s, "t", keys[i],
		    strlen(keys[i]), "v", 1, &cause), STORE_OK);
	/* Not visible to readers before the commit. */
	ck_assert_int_eq(store_lmdb_ops.table_get(s, "t", "a", 1, &val,
	    &vlen, &cause), 1);
	ck_assert_int_eq(store_lmdb_ops.commit(s, &cause), STORE_OK);

	out = xstrdup("");
	store_lmdb_ops.table_foreach(s, "t", "b", 1, 0, count_row, NULL,
	    &out, &cause);
	ck_assert_str_eq(out, "b1,b2,b3,b\xff,b\xff\xff,");
	free(out);
	out = xstrdup("");
	store_lmdb_ops.table_foreach(s, "t", "b", 1, 1, count_row, NULL,
	    &out, &cause);
	ck_assert_str_eq(out, "b\xff\xff,b\xff,b3,b2,b1,");
	free(out);
	out = xstrdup("");
	store_lmdb_ops.table_foreach(s, "t", "b\xff", 2, 1, count_row, NULL,
	    &out, &cause);
	ck_assert_str_eq(out, "b\xff\xff,b\xff,");
	free(out);
	out = xstrdup("");
	store_lmdb_ops.table_foreach(s, "t", NULL, 0, 1, count_row, NULL,
	    &out, &cause);
	ck_assert_str_eq(out, "c,b\xff\xff,b\xff,b3,b2,b1,a,");
	free(out);
	/* END after the last row, while the rows are still valid. */
	out = xstrdup("");
	first_row = NULL;
	store_lmdb_ops.table_foreach(s, "t", NULL, 0, 0, count_row, end_row,
	    &out, &cause);
	ck_assert_str_eq(out, "a,b1,b2,b3,b\xff,b\xff\xff,c,end");
	free(out);

	ck_assert_int_eq(store_lmdb_ops.table_get(s, "t", "b2", 2, &val,
	    &vlen, &cause), 0);
	ck_assert_uint_eq(vlen, 1);
	ck_assert_mem_eq(val, "v", 1);
	free(val);

	ck_assert_int_eq(store_lmdb_ops.begin(s, &cause), STORE_OK);
	ck_assert_int_eq(store_lmdb_ops.del(s, "t", "b2", 2, &cause),
	    STORE_OK);
	ck_assert_int_eq(store_lmdb_ops.del(s, "t", "zz", 2, &cause),
	    STORE_OK);
	ck_assert_int_eq(store_lmdb_ops.del(s, "nosuch", "zz", 2, &cause),
	    STORE_OK);
	ck_assert_int_eq(store_lmdb_ops.put(s, "gone", "k", 1, "v", 1,
	    &cause), STORE_OK);
	store_lmdb_ops.abort(s);
	ck_assert_int_eq(store_lmdb_ops.table_get(s, "t", "b2", 2, &val,
	    &vlen, &cause), 0);
	free(val);
	out = xstrdup("");
	ck_assert_int_eq(store_lmdb_ops.table_foreach(s, "gone", NULL, 0, 0,
	    count_row, end_row, &out, &cause), 0);
	ck_assert_str_eq(out, "end");	/* END once, also with no table */
	free(out);
	store_lmdb_ops.close(s);

	/* Reopened: tables are found again. */
	s = store_open_t(0, 0, 1);
	ck_assert_int_eq(store_lmdb_ops.table_get(s, "t", "c", 1, &val,
	    &vlen, &cause), 0);
	free(val);
	ck_assert_int_eq(store_lmdb_ops.table_get(s, "gone", "k", 1, &val,
	    &vlen, &cause), 1);
	store_lmdb_ops.close(s);
}
END_TEST

/* A full map reports STORE_FULL; grow doubles up to the maximum. */
START_TEST(test_store_grow_bad)
{
	struct store	*s;
	char		*cause = NULL, key[16], val[1000];
	int		 i, rc = STORE_OK;

	memset(val, 'v', sizeof val);
	s = store_open_t(256 * 1024, 512 * 1024, 0);
	ck_assert_int_eq(store_lmdb_ops.begin(s, &cause), STORE_OK);
	for (i = 0; i < 10000 && rc == STORE_OK; i++) {
		snprintf(key, sizeof key, "%08d", i);
		rc = store_lmdb_ops.put(s, "t", key, 8, val, sizeof val,
		    &cause);
	}
	ck_assert_int_eq(rc, STORE_FULL);
	store_lmdb_ops.abort(s);
	ck_assert_int_eq(store_lmdb_ops.grow(s), 0);
	ck_assert_uint_eq(store_lmdb_ops.map_size(s), 512 * 1024);
	ck_assert_int_eq(store_lmdb_ops.grow(s), -1);
	store_lmdb_ops.close(s);
}
END_TEST

/* --- journal.c / writer.c ----------------------------------------------- */

/* N records: callbacks in order with seqs 1..N, durable after reopen. */
START_TEST(test_journal_submit_order)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	uint8_t		 head[32];
	size_t		 i;

	j = open_j(0, 0, JOURNAL_SYNC_FULL);
	submit_n(j, &s, 1000, 50);
	ck_assert_uint_eq(s.n, 0);	/* never before submit returns */
	ck_assert_uint_eq(journal_pending(j), 1000);
	wait_for(&s, 1000);
	for (i = 0; i < 1000; i++) {
		ck_assert_int_eq(s.r[i].status, JOURNAL_OK);
		ck_assert_uint_eq(s.r[i].seq, i + 1);
	}
	ck_assert_uint_eq(journal_seq(j), 1000);
	ck_assert_uint_eq(journal_pending(j), 0);
	journal_head(j, head);
	journal_close(j);
	ck_assert_uint_eq(raw_recompute(), 1000);

	j = open_j(0, 0, JOURNAL_SYNC_FULL);
	ck_assert_uint_eq(journal_seq(j), 1000);
	submit_n(j, &s, 1, 10);
	wait_for(&s, 1001);
	ck_assert_uint_eq(s.r[1000].seq, 1001);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* A body that is not one map fails through its callback, alone. */
START_TEST(test_journal_submit_bad)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	struct jrec	*rec;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	journal_submit(j, make_rec("ok", NULL, 1, 1), seen_cb, &s);
	rec = jrec_create("bad", NULL);
	msgpack_pack_map(jrec_body(rec), 0);
	msgpack_pack_map(jrec_body(rec), 0);
	journal_submit(j, rec, seen_cb, &s);
	journal_submit(j, jrec_create("empty", NULL), seen_cb, &s);
	rec = jrec_create("array", NULL);
	msgpack_pack_array(jrec_body(rec), 0);
	journal_submit(j, rec, seen_cb, &s);
	journal_submit(j, make_rec("ok", NULL, 2, 1), seen_cb, &s);
	ck_assert_uint_eq(s.n, 0);
	wait_for(&s, 5);
	ck_assert_int_eq(s.r[0].status, JOURNAL_OK);
	ck_assert_int_eq(s.r[1].status, JOURNAL_ERROR);
	ck_assert_ptr_nonnull(strstr(s.r[1].error, "after the map"));
	ck_assert_int_eq(s.r[2].status, JOURNAL_ERROR);
	ck_assert_ptr_nonnull(strstr(s.r[2].error, "empty"));
	ck_assert_int_eq(s.r[3].status, JOURNAL_ERROR);
	ck_assert_str_eq(s.r[3].reason, JOURNAL_R_INVALID);
	ck_assert_int_eq(s.r[4].status, JOURNAL_OK);
	ck_assert_uint_eq(s.r[4].seq, 2);	/* no seq consumed */
	ck_assert_ptr_null(s.r[4].reason);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* The codes that mean a full disk, a full map, an I/O error, a read-only
 * file system map to their reasons. */
START_TEST(test_journal_reason)
{
	ck_assert_str_eq(store_reason(ENOSPC), JOURNAL_R_DISK_FULL);
	ck_assert_str_eq(store_reason(EDQUOT), JOURNAL_R_DISK_FULL);
	ck_assert_str_eq(store_reason(MDB_MAP_FULL), JOURNAL_R_MAP_FULL);
	ck_assert_str_eq(store_reason(-1), JOURNAL_R_MAP_FULL);
	ck_assert_str_eq(store_reason(EIO), JOURNAL_R_IO_ERROR);
	ck_assert_str_eq(store_reason(EROFS), JOURNAL_R_READ_ONLY);
	ck_assert_ptr_nonnull(strstr(journal_reason_text(JOURNAL_R_DISK_FULL),
	    "disk"));
}
END_TEST

/* Other codes (and none) are a storage error, never a full disk. */
START_TEST(test_journal_reason_bad)
{
	ck_assert_str_eq(store_reason(0), JOURNAL_R_STORAGE);
	ck_assert_str_eq(store_reason(MDB_CORRUPTED), JOURNAL_R_STORAGE);
	ck_assert_str_eq(store_reason(MDB_DBS_FULL), JOURNAL_R_STORAGE);
	ck_assert_str_eq(store_reason(EACCES), JOURNAL_R_STORAGE);
	ck_assert_str_eq(journal_reason_text(NULL),
	    "the journal could not write");
	ck_assert_str_eq(journal_reason_text("nonsense"),
	    "the journal could not write");
}
END_TEST

struct times {
	uint64_t	n;
	int64_t		lo;
	int64_t		hi;
	int64_t		last;
};

/* Each record decodes with its key's seq and a time in [lo, hi] that
 * never goes back. */
static int
check_entry(const struct journal_entry *e, void *arg)
{
	struct times	*t = arg;
	struct record	 rec;
	char		*cause;

	ck_assert_int_eq(record_decode(e->rec, e->len, &rec, &cause), 0);
	ck_assert_uint_eq(rec.seq, e->seq);
	ck_assert_uint_eq(rec.seq, ++t->n);
	ck_assert_int_ge(rec.time_us, t->lo);
	ck_assert_int_le(rec.time_us, t->hi);
	ck_assert_int_ge(rec.time_us, t->last);
	ck_assert_str_eq(rec.kind, "test.record");
	ck_assert_str_eq(rec.account, "acct");
	t->last = rec.time_us;
	record_clear(&rec);
	return (0);
}

/* The chain in LMDB matches an independent recomputation and verifies;
 * records decode with their seq and time. */
START_TEST(test_journal_chain)
{
	struct journal		*j;
	struct journal_verify	 v;
	struct seen		 s = { 0 };
	uint8_t			 head[32];
	struct times		 t;
	char			*cause;
	int64_t			 before;

	before = now_us();
	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	submit_n(j, &s, 300, 100);
	wait_for(&s, 300);
	memset(&t, 0, sizeof t);
	t.lo = before;
	t.hi = now_us();
	ck_assert_int_eq(journal_log_foreach(j, 1, NULL, check_entry, &t,
	    &cause), 0);
	ck_assert_uint_eq(t.n, 300);
	ck_assert_int_eq(journal_verify(j, &v, &cause), 0);
	ck_assert_uint_eq(v.records, 300);
	ck_assert_uint_eq(v.last_seq, 300);
	journal_head(j, head);
	ck_assert_mem_eq(v.head, head, 32);
	journal_close(j);
	ck_assert_uint_eq(raw_recompute(), 300);
	seen_free(&s);
}
END_TEST

/* Dedup across transactions, within one transaction, after reopen. */
START_TEST(test_journal_dedup)
{
	struct journal_options	 o;
	struct journal		*j;
	struct seen		 s = { 0 };
	struct jrec		*rec;
	char			*cause;
	int			 i;

	/* Before journal_start: the four land in one transaction. */
	memset(&o, 0, sizeof o);
	j = journal_open(jdir, &o, &cause);
	ck_assert_ptr_nonnull(j);
	for (i = 0; i < 4; i++) {
		rec = make_rec("run.started", "a", i, 1);
		jrec_claim(rec, i < 2 ? "s1@100" : "s1@200");
		journal_submit(j, rec, seen_cb, &s);
	}
	journal_add_commit_hook(j, seen_hook, &s);
	ck_assert_int_eq(journal_start(j, base, &cause), 0);
	wait_for(&s, 4);
	ck_assert_uint_eq(s.hook_calls, 1);
	ck_assert_int_eq(s.r[0].status, JOURNAL_OK);
	ck_assert_int_eq(s.r[1].status, JOURNAL_DUPLICATE);
	ck_assert_uint_eq(s.r[1].dup_seq, 1);
	ck_assert_int_eq(s.r[2].status, JOURNAL_OK);
	ck_assert_uint_eq(s.r[2].seq, 2);
	ck_assert_int_eq(s.r[3].status, JOURNAL_DUPLICATE);
	ck_assert_uint_eq(s.r[3].dup_seq, 2);

	/* A later transaction. */
	rec = make_rec("run.started", "a", 9, 1);
	jrec_claim(rec, "s1@100");
	journal_submit(j, rec, seen_cb, &s);
	wait_for(&s, 5);
	ck_assert_int_eq(s.r[4].status, JOURNAL_DUPLICATE);
	ck_assert_uint_eq(s.r[4].dup_seq, 1);
	ck_assert_uint_eq(journal_dedup_seq(j, "s1@200"), 2);
	ck_assert_uint_eq(journal_dedup_seq(j, "s1@300"), 0);
	journal_close(j);

	/* After reopening. */
	j = open_j(0, 0, JOURNAL_SYNC_FULL);
	rec = make_rec("run.started", "a", 10, 1);
	jrec_claim(rec, "s1@200");
	journal_submit(j, rec, seen_cb, &s);
	rec = make_rec("run.started", "a", 11, 1);
	jrec_claim(rec, "s1@300");
	journal_submit(j, rec, seen_cb, &s);
	wait_for(&s, 7);
	ck_assert_int_eq(s.r[5].status, JOURNAL_DUPLICATE);
	ck_assert_uint_eq(s.r[5].dup_seq, 2);
	ck_assert_int_eq(s.r[6].status, JOURNAL_OK);
	ck_assert_uint_eq(s.r[6].seq, 3);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* A record refused as a duplicate leaves no table change and no seq. */
/* A released key may be claimed again; releasing an absent key is no
 * error; a release and a new claim work within one transaction too. */
START_TEST(test_journal_dedup_release)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	struct jrec	*rec;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	rec = make_rec("k", NULL, 1, 1);
	jrec_claim(rec, "hook:m1");
	journal_submit(j, rec, seen_cb, &s);
	wait_for(&s, 1);
	ck_assert_int_eq(s.r[0].status, JOURNAL_OK);
	rec = make_rec("k", NULL, 2, 1);
	jrec_release(rec, "hook:m1");
	jrec_release(rec, "hook:absent");
	journal_submit(j, rec, seen_cb, &s);
	rec = make_rec("k", NULL, 3, 1);
	jrec_claim(rec, "hook:m1");
	journal_submit(j, rec, seen_cb, &s);
	wait_for(&s, 3);
	ck_assert_int_eq(s.r[1].status, JOURNAL_OK);
	ck_assert_int_eq(s.r[2].status, JOURNAL_OK);
	ck_assert_uint_eq(journal_dedup_seq(j, "hook:m1"), s.r[2].seq);
	rec = make_rec("k", NULL, 4, 1);
	jrec_claim(rec, "hook:m1");
	journal_submit(j, rec, seen_cb, &s);
	wait_for(&s, 4);
	ck_assert_int_eq(s.r[3].status, JOURNAL_DUPLICATE);
	journal_close(j);
	seen_free(&s);
}
END_TEST

START_TEST(test_journal_dedup_bad)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	struct jrec	*rec;
	void		*val;
	size_t		 vlen;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	rec = make_rec("k", NULL, 1, 1);
	jrec_claim(rec, "key");
	jrec_put(rec, "runs", "r1", 2, "first", 5);
	journal_submit(j, rec, seen_cb, &s);
	rec = make_rec("k", NULL, 2, 1);
	jrec_put(rec, "runs", "r1", 2, "second", 6);
	jrec_put(rec, "runs", "r2", 2, "x", 1);
	jrec_claim(rec, "other");
	jrec_claim(rec, "key");
	journal_submit(j, rec, seen_cb, &s);
	journal_submit(j, make_rec("k", NULL, 3, 1), seen_cb, &s);
	wait_for(&s, 3);
	ck_assert_int_eq(s.r[1].status, JOURNAL_DUPLICATE);
	ck_assert_uint_eq(s.r[2].seq, 2);
	ck_assert_int_eq(journal_table_get(j, "runs", "r1", 2, &val, &vlen),
	    0);
	ck_assert_uint_eq(vlen, 5);
	ck_assert_mem_eq(val, "first", 5);
	free(val);
	ck_assert_int_eq(journal_table_get(j, "runs", "r2", 2, &val, &vlen),
	    -1);
	ck_assert_uint_eq(journal_dedup_seq(j, "other"), 0);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* A toy index of table "t": row K with value V is entry "V/K" (empty
 * value); a value beginning with '-' has none. */
static int
toy_index(const void *key, size_t klen, const void *val, size_t vlen,
    char *ikey, size_t *iklen, msgpack_sbuffer *ival)
{
	(void)ival;
	if (vlen == 0 || *(const char *)val == '-')
		return (-1);
	*iklen = (size_t)snprintf(ikey, JOURNAL_MAX_KEY + 1, "%.*s/%.*s",
	    (int)vlen, (const char *)val, (int)klen, (const char *)key);
	return (0);
}

/* The journal in jdir with the toy index, started. */
static struct journal *
open_toy_index(void)
{
	struct journal_options	 o;
	struct journal		*j;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.sync = JOURNAL_SYNC_NONE;
	o.index.of = "t";
	o.index.table = "ix";
	o.index.fn = toy_index;
	j = journal_open(jdir, &o, &cause);
	ck_assert_msg(j != NULL, "journal_open: %s", cause);
	ck_assert_int_eq(journal_start(j, base, &cause), 0);
	return (j);
}

/* One record putting (VAL) or deleting (VAL NULL) row KEY of "t". */
static void
toy_write(struct journal *j, struct seen *s, const char *key,
    const char *val)
{
	struct jrec	*rec = make_rec("k", NULL, 1, 1);

	if (val != NULL)
		jrec_put(rec, "t", key, strlen(key), val, strlen(val));
	else
		jrec_del(rec, "t", key, strlen(key));
	journal_submit(j, rec, seen_cb, s);
}

static int
collect_rows(const struct journal_row *row, void *arg)
{
	char	**out = arg;
	char	 *n;

	xasprintf(&n, "%s%.*s=%.*s,", *out, (int)row->klen,
	    (const char *)row->key, (int)row->vlen, (const char *)row->val);
	free(*out);
	*out = n;
	return (row->klen == 4 && memcmp(row->key, "stop", 4) == 0);
}

/* The index follows its table: a put adds the row's entry, a put that
 * changes it moves it, a delete takes it away, also several in one
 * commit; a walk back from a key starts before it. */
START_TEST(test_journal_index)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	char		*out = xstrdup("");

	j = open_toy_index();
	toy_write(j, &s, "r1", "a");
	toy_write(j, &s, "r2", "b");
	toy_write(j, &s, "r3", "c");
	wait_for(&s, 3);
	journal_table_foreach(j, "ix", NULL, 0, 0, collect_rows, &out);
	ck_assert_str_eq(out, "a/r1=,b/r2=,c/r3=,");
	toy_write(j, &s, "r1", "d");	/* moved */
	toy_write(j, &s, "r2", "b");	/* the same */
	toy_write(j, &s, "r3", NULL);	/* gone */
	toy_write(j, &s, "r4", "e");	/* in and out in one commit */
	toy_write(j, &s, "r4", NULL);
	wait_for(&s, 8);
	out[0] = '\0';
	journal_table_foreach(j, "ix", NULL, 0, 0, collect_rows, &out);
	ck_assert_str_eq(out, "b/r2=,d/r1=,");
	out[0] = '\0';
	journal_table_seek_back(j, "ix", NULL, 0, "d/r1", 4, collect_rows,
	    &out);
	ck_assert_str_eq(out, "b/r2=,");
	out[0] = '\0';
	journal_table_seek_back(j, "ix", NULL, 0, "z", 1, collect_rows, &out);
	ck_assert_str_eq(out, "d/r1=,b/r2=,");
	out[0] = '\0';
	journal_table_seek_back(j, "ix", "b/", 2, "b/r9", 4, collect_rows,
	    &out);
	ck_assert_str_eq(out, "b/r2=,");
	free(out);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* A row without an entry adds none and, put over one that had, takes it
 * away; other tables and a journal without an index write none. */
START_TEST(test_journal_index_bad)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	struct jrec	*rec;
	char		*out = xstrdup("");

	j = open_toy_index();
	toy_write(j, &s, "r1", "-none");
	toy_write(j, &s, "r2", "a");
	toy_write(j, &s, "r2", "-gone");
	toy_write(j, &s, "r9", NULL);	/* never there */
	rec = make_rec("k", NULL, 1, 1);
	jrec_put(rec, "other", "r3", 2, "b", 1);
	journal_submit(j, rec, seen_cb, &s);
	wait_for(&s, 5);
	ck_assert_int_eq(s.r[3].status, JOURNAL_OK);
	journal_table_foreach(j, "ix", NULL, 0, 0, collect_rows, &out);
	ck_assert_str_eq(out, "");
	journal_table_seek_back(j, "ix", NULL, 0, "z", 1, collect_rows, &out);
	ck_assert_str_eq(out, "");
	journal_close(j);
	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	toy_write(j, &s, "r5", "f");
	wait_for(&s, 6);
	journal_table_foreach(j, "ix", NULL, 0, 0, collect_rows, &out);
	ck_assert_str_eq(out, "");
	free(out);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* Puts and deletes in a record are visible to foreach and get. */
START_TEST(test_journal_tables)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	struct jrec	*rec;
	char		*out;
	void		*val;
	size_t		 vlen;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	out = xstrdup("");
	ck_assert_int_eq(journal_table_foreach(j, "schedules", NULL, 0, 0,
	    collect_rows, &out), 0);
	ck_assert_str_eq(out, "");
	rec = make_rec("schedule.created", "a", 1, 1);
	jrec_put(rec, "schedules", "a/s1", 4, "one", 3);
	jrec_put(rec, "schedules", "a/s2", 4, "two", 3);
	jrec_put(rec, "schedules", "b/s3", 4, "three", 5);
	jrec_put(rec, "schedules", "stop", 4, "!", 1);
	jrec_put(rec, "schedules", "z", 1, "zz", 2);
	journal_submit(j, rec, seen_cb, &s);
	rec = make_rec("schedule.deleted", "a", 2, 1);
	jrec_del(rec, "schedules", "a/s2", 4);
	jrec_put(rec, "schedules", "a/s1", 4, "uno", 3);
	journal_submit(j, rec, seen_cb, &s);
	wait_for(&s, 2);
	ck_assert_int_eq(journal_table_foreach(j, "schedules", "a/", 2, 0,
	    collect_rows, &out), 0);
	ck_assert_str_eq(out, "a/s1=uno,");
	free(out);
	out = xstrdup("");
	journal_table_foreach(j, "schedules", NULL, 0, 1, collect_rows, &out);
	ck_assert_str_eq(out, "z=zz,stop=!,");
	free(out);
	ck_assert_int_eq(journal_table_get(j, "schedules", "b/s3", 4, &val,
	    &vlen), 0);
	ck_assert_str_eq(val, "three");
	free(val);
	ck_assert_int_eq(journal_table_get(j, "schedules", "a/s2", 4, &val,
	    &vlen), -1);
	ck_assert_int_eq(journal_table_get(j, "nosuch", "a", 1, &val,
	    &vlen), -1);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* Bad tables and keys, and a table past the limit, fail only their own
 * record; the others of the same transaction are written. */
START_TEST(test_journal_tables_bad)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	struct jrec	*rec;
	char		 name[16], longkey[600];
	size_t		 i, ok = 0, bad = 0;

	memset(longkey, 'k', sizeof longkey);
	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	rec = make_rec("k", NULL, 0, 1);
	jrec_put(rec, "meta", "x", 1, "y", 1);
	journal_submit(j, rec, seen_cb, &s);
	rec = make_rec("k", NULL, 0, 1);
	jrec_put(rec, "t", longkey, sizeof longkey, "y", 1);
	journal_submit(j, rec, seen_cb, &s);
	/* More tables than JOURNAL_MAX_TABLES: the writer falls back to
	 * one record per transaction. */
	for (i = 0; i < JOURNAL_MAX_TABLES + 5; i++) {
		rec = make_rec("k", NULL, (int64_t)i, 1);
		snprintf(name, sizeof name, "t%zu", i);
		jrec_put(rec, name, "k", 1, "v", 1);
		journal_submit(j, rec, seen_cb, &s);
	}
	wait_for(&s, JOURNAL_MAX_TABLES + 7);
	ck_assert_int_eq(s.r[0].status, JOURNAL_ERROR);
	ck_assert_ptr_nonnull(strstr(s.r[0].error, "invalid table name"));
	ck_assert_int_eq(s.r[1].status, JOURNAL_ERROR);
	ck_assert_ptr_nonnull(strstr(s.r[1].error, "600 bytes"));
	for (i = 2; i < s.n; i++) {
		if (s.r[i].status == JOURNAL_OK) {
			ok++;
			ck_assert_uint_eq(s.r[i].seq, ok);
		} else {
			bad++;
			ck_assert_ptr_nonnull(strstr(s.r[i].error,
			    "MDB_DBS_FULL"));
		}
	}
	ck_assert_uint_eq(ok, JOURNAL_MAX_TABLES);
	ck_assert_uint_eq(bad, 5);
	journal_close(j);
	ck_assert_uint_eq(raw_recompute(), JOURNAL_MAX_TABLES);
	seen_free(&s);
}
END_TEST

/* Rows that are parts of the body (jrec_put_body) are written as the
 * body held them, also once jrec_body_add has grown its map's header
 * (the rows after it move; a row that is the whole map is kept as it
 * was, without the key added after it). */
START_TEST(test_journal_put_body)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	struct jrec	*rec;
	msgpack_packer	*pk;
	msgpack_sbuffer	 want;
	msgpack_packer	 wpk;
	char		 key[8], text[16], *whole;
	size_t		 off[15], len[15], end, wlen, i;
	void		*val;
	size_t		 vlen;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	rec = jrec_create("k", "a");
	pk = jrec_body(rec);
	msgpack_pack_map(pk, 15);	/* one byte of header; 16 takes 3 */
	for (i = 0; i < 15; i++) {
		snprintf(key, sizeof key, "k%zu", i);
		snprintf(text, sizeof text, "row-%zu", i);
		msgpack_pack_str_with_body(pk, key, strlen(key));
		(void)jrec_body_since(rec, 0, &off[i]);
		msgpack_pack_str_with_body(pk, text, strlen(text));
		(void)jrec_body_since(rec, off[i], &len[i]);
		jrec_put_body(rec, "t", key, strlen(key), off[i], len[i]);
	}
	jrec_body_add(rec, "added", "\xc3", 1);
	journal_submit(j, rec, seen_cb, &s);

	rec = jrec_create("k", "a");
	pk = jrec_body(rec);
	msgpack_pack_map(pk, 1);
	msgpack_pack_str_with_body(pk, "x", 1);
	msgpack_pack_int64(pk, 42);
	(void)jrec_body_since(rec, 0, &wlen);
	whole = xmalloc(wlen);
	memcpy(whole, jrec_body_since(rec, 0, &end), wlen);
	jrec_put_body(rec, "t", "whole", 5, 0, wlen);
	jrec_body_add(rec, "added", "\xc2", 1);
	journal_submit(j, rec, seen_cb, &s);
	wait_for(&s, 2);
	ck_assert_int_eq(s.r[0].status, JOURNAL_OK);
	ck_assert_int_eq(s.r[1].status, JOURNAL_OK);

	for (i = 0; i < 15; i++) {
		snprintf(key, sizeof key, "k%zu", i);
		snprintf(text, sizeof text, "row-%zu", i);
		msgpack_sbuffer_init(&want);
		msgpack_packer_init(&wpk, &want, msgpack_sbuffer_write);
		msgpack_pack_str_with_body(&wpk, text, strlen(text));
		ck_assert_int_eq(journal_table_get(j, "t", key, strlen(key),
		    &val, &vlen), 0);
		ck_assert_uint_eq(vlen, want.size);
		ck_assert(memcmp(val, want.data, vlen) == 0);
		free(val);
		msgpack_sbuffer_destroy(&want);
	}
	ck_assert_int_eq(journal_table_get(j, "t", "whole", 5, &val, &vlen),
	    0);
	ck_assert_uint_eq(vlen, wlen);
	ck_assert(memcmp(val, whole, wlen) == 0);
	free(val);
	free(whole);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* A row past the body fails its record; nothing of it is written. */
START_TEST(test_journal_put_body_bad)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	struct jrec	*rec;
	size_t		 len;
	void		*val;
	size_t		 vlen;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	rec = make_rec("k", "a", 1, 8);
	(void)jrec_body_since(rec, 0, &len);
	jrec_put(rec, "t", "before", 6, "v", 1);
	jrec_put_body(rec, "t", "past", 4, 1, len);
	journal_submit(j, rec, seen_cb, &s);
	rec = make_rec("k", "a", 2, 8);
	jrec_put_body(rec, "t", "after", 5, len + 1, 0);
	journal_submit(j, rec, seen_cb, &s);
	rec = make_rec("k", "a", 3, 8);
	jrec_put_body(rec, "t", "fits", 4, 1, len - 1);
	journal_submit(j, rec, seen_cb, &s);
	wait_for(&s, 3);
	ck_assert_int_eq(s.r[0].status, JOURNAL_ERROR);
	ck_assert_ptr_nonnull(strstr(s.r[0].error, "past the body"));
	ck_assert_int_eq(s.r[1].status, JOURNAL_ERROR);
	ck_assert_int_eq(s.r[2].status, JOURNAL_OK);
	ck_assert_uint_eq(s.r[2].seq, 1);
	ck_assert_int_eq(journal_table_get(j, "t", "before", 6, &val, &vlen),
	    -1);
	ck_assert_int_eq(journal_table_get(j, "t", "fits", 4, &val, &vlen),
	    0);
	ck_assert_uint_eq(vlen, len - 1);
	free(val);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* 10,000 records submitted at once share far fewer commits. */
START_TEST(test_journal_group_commit)
{
	struct journal		*j;
	struct journal_stats	 st;
	struct seen		 s = { 0 };
	size_t			 i;

	j = open_j(0, 0, JOURNAL_SYNC_FULL);
	journal_add_commit_hook(j, seen_hook, &s);
	submit_n(j, &s, 10000, 100);
	wait_for(&s, 10000);
	for (i = 0; i < 10000; i++)
		ck_assert_uint_eq(s.r[i].seq, i + 1);
	journal_stats(j, &st);
	ck_assert_uint_eq(st.records, 10000);
	ck_assert_uint_lt(st.commits, 10000);
	ck_assert_uint_eq(s.hook_records, 10000);
	ck_assert_uint_eq(s.hook_calls, st.commits);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* Committing one record per transaction is what group commit avoids:
 * one record waited for at a time gives one commit each. */
START_TEST(test_journal_group_commit_bad)
{
	struct journal		*j;
	struct journal_stats	 st;
	struct seen		 s = { 0 };
	size_t			 i;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	for (i = 0; i < 20; i++) {
		submit_n(j, &s, 1, 10);
		wait_for(&s, i + 1);
	}
	journal_stats(j, &st);
	ck_assert_uint_eq(st.commits, 20);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* Hooks that a commit hook adds or removes while hooks run. */
struct hook_pair {
	struct journal	*j;
	struct seen	 a, b, c;
	int		 removed;
};

static void
hook_remover(size_t records, int64_t us, void *arg)
{
	struct hook_pair	*p = arg;

	seen_hook(records, us, &p->a);
	if (!p->removed) {
		/* The next hook in the list, and a hook for next time. */
		journal_remove_commit_hook(p->j, seen_hook, &p->b);
		journal_add_commit_hook(p->j, seen_hook, &p->c);
		p->removed = 1;
	}
}

/* Every hook sees each commit, in the order added; one removed by another
 * during a call is not called again, one added then starts at the next. */
START_TEST(test_journal_hooks)
{
	struct journal		*j;
	struct journal_stats	 st;
	struct hook_pair	 p;
	struct seen		 s = { 0 }, d = { 0 };

	memset(&p, 0, sizeof p);
	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	p.j = j;
	journal_add_commit_hook(j, seen_hook, &d);
	journal_add_commit_hook(j, hook_remover, &p);
	journal_add_commit_hook(j, seen_hook, &p.b);
	/* Removing a pair that was never added changes nothing. */
	journal_remove_commit_hook(j, seen_hook, &s);
	submit_n(j, &s, 1, 10);
	wait_for(&s, 1);
	ck_assert_uint_eq(d.hook_calls, 1);
	ck_assert_uint_eq(p.a.hook_calls, 1);
	ck_assert_uint_eq(p.b.hook_calls, 0);
	ck_assert_uint_eq(p.c.hook_calls, 0);
	submit_n(j, &s, 1, 10);
	wait_for(&s, 2);
	journal_stats(j, &st);
	ck_assert_uint_eq(st.commits, 2);
	ck_assert_uint_eq(d.hook_calls, 2);
	ck_assert_uint_eq(p.a.hook_calls, 2);
	ck_assert_uint_eq(p.b.hook_calls, 0);
	ck_assert_uint_eq(p.c.hook_calls, 1);
	ck_assert_uint_eq(p.c.hook_records, 1);
	journal_remove_commit_hook(j, seen_hook, &d);
	submit_n(j, &s, 1, 10);
	wait_for(&s, 3);
	ck_assert_uint_eq(d.hook_calls, 2);
	ck_assert_uint_eq(p.a.hook_calls, 3);
	ck_assert_uint_eq(p.c.hook_calls, 2);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* A tiny initial map grows as records arrive; all of them are written. */
START_TEST(test_journal_map_growth)
{
	struct journal		*j;
	struct journal_stats	 st;
	struct journal_verify	 v;
	struct seen		 s = { 0 };
	char			*cause;
	size_t			 i;

	j = open_j(256 * 1024, 0, JOURNAL_SYNC_NONE);
	submit_n(j, &s, 20000, 150);
	wait_for(&s, 20000);
	for (i = 0; i < 20000; i++)
		ck_assert_int_eq(s.r[i].status, JOURNAL_OK);
	journal_stats(j, &st);
	ck_assert_uint_ge(st.map_size, 4 * 1024 * 1024);
	ck_assert_int_eq(journal_verify(j, &v, &cause), 0);
	journal_close(j);
	ck_assert_uint_eq(raw_recompute(), 20000);
	seen_free(&s);
}
END_TEST

/* Past map_max the journal stalls: records are held, not failed, and the
 * loop is told why; given up on (shutdown), the held records and those
 * behind them fail with a clear error, in order; nothing is corrupted and the journal reads, reopens and
 * verifies. */
START_TEST(test_journal_map_full_bad)
{
	struct journal		*j;
	struct journal_verify	 v;
	struct seen		 s = { 0 };
	const char		*reason, *error;
	char			*cause;
	size_t			 i, ok = 0, bad = 0;
	void			*val;
	size_t			 vlen;
	struct jrec		*rec;

	j = open_j(256 * 1024, 512 * 1024, JOURNAL_SYNC_NONE);
	rec = make_rec("k", NULL, 0, 1);
	jrec_put(rec, "t", "first", 5, "v", 1);
	journal_submit(j, rec, seen_cb, &s);
	/* Some durable first, whatever batches the writer makes of them. */
	submit_n(j, &s, 300, 200);
	wait_for(&s, 301);
	submit_n(j, &s, 4700, 200);
	while (!journal_stalled(j, &reason, &error))
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_str_eq(reason, "map_full");
	ck_assert_str_eq(error, "journal full: map size limit 524288 reached");
	ck_assert_uint_lt(s.n, 5001);
	/* A small record behind the held ones would fit the map: given up,
	 * it fails with them all the same, never written after them. */
	submit_n(j, &s, 1, 10);
	journal_stop_retrying(j);
	wait_for(&s, 5002);
	for (i = 0; i < s.n; i++) {
		if (s.r[i].status == JOURNAL_OK) {
			ck_assert_uint_eq(bad, 0);	/* in order */
			ck_assert_uint_eq(s.r[i].seq, ++ok);
			continue;
		}
		bad++;
		ck_assert_int_eq(s.r[i].status, JOURNAL_ERROR);
		ck_assert_str_eq(s.r[i].error,
		    "journal full: map size limit 524288 reached");
		ck_assert_str_eq(s.r[i].reason, JOURNAL_R_MAP_FULL);
	}
	ck_assert_uint_gt(ok, 100);
	ck_assert_uint_gt(bad, 0);
	ck_assert_int_eq(journal_table_get(j, "t", "first", 5, &val, &vlen),
	    0);
	free(val);
	ck_assert_int_eq(journal_verify(j, &v, &cause), 0);
	ck_assert_uint_eq(v.records, ok);
	journal_close(j);

	j = open_j(256 * 1024, 512 * 1024, JOURNAL_SYNC_NONE);
	ck_assert_uint_eq(journal_seq(j), ok);
	journal_close(j);
	ck_assert_uint_eq(raw_recompute(), ok);
	seen_free(&s);
}
END_TEST

/* A store whose commits fail with ENOSPC while store_failing is set. */
static int		 store_failing;
static struct store_ops	 failing_ops;

static int
failing_commit(struct store *st, char **cause)
{
	if (__atomic_load_n(&store_failing, __ATOMIC_SEQ_CST)) {
		store_lmdb_ops.abort(st);
		xasprintf(cause, "commit: No space left on device");
		return (STORE_UNAVAILABLE);
	}
	return (store_lmdb_ops.commit(st, cause));
}

static int
failing_errno(struct store *st)
{
	return (ENOSPC);
}

static void
stall_hook(int stalled, void *arg)
{
	int	*calls = arg;

	calls[stalled ? 0 : 1]++;
}

/* A journal in jdir whose commits fail while store_failing is set, its
 * stall hook counting into CALLS. */
static struct journal *
failing_open(int *calls)
{
	struct journal_options	 o;
	struct journal		*j;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.sync = JOURNAL_SYNC_NONE;
	j = journal_open(jdir, &o, &cause);
	ck_assert_ptr_nonnull(j);
	failing_ops = store_lmdb_ops;
	failing_ops.commit = failing_commit;
	failing_ops.last_errno = failing_errno;
	j->ops = &failing_ops;
	journal_set_stall_hook(j, stall_hook, calls);
	return (j);
}

/* While the disk is full the writer holds every record and says why; once
 * it has room again they are written, all of them, in order. */
START_TEST(test_journal_stall)
{
	struct journal		*j;
	struct journal_verify	 v;
	struct seen		 s = { 0 };
	const char		*reason, *error;
	char			*cause = NULL;
	int			 calls[2] = { 0, 0 };
	size_t			 i;

	j = failing_open(calls);
	ck_assert_int_eq(journal_start(j, base, &cause), 0);
	submit_n(j, &s, 10, 10);
	wait_for(&s, 10);
	ck_assert_int_eq(journal_stalled(j, NULL, NULL), 0);
	__atomic_store_n(&store_failing, 1, __ATOMIC_SEQ_CST);
	submit_n(j, &s, 20, 10);
	while (calls[0] == 0)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(journal_stalled(j, &reason, &error), 1);
	ck_assert_str_eq(reason, "disk_full");
	ck_assert_str_eq(error, "commit: No space left on device");
	ck_assert_uint_eq(s.n, 10);
	ck_assert_uint_eq(journal_pending(j), 20);
	__atomic_store_n(&store_failing, 0, __ATOMIC_SEQ_CST);
	wait_for(&s, 30);
	while (calls[1] == 0)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(journal_stalled(j, NULL, NULL), 0);
	ck_assert_int_eq(calls[0], 1);
	for (i = 0; i < 30; i++) {
		ck_assert_int_eq(s.r[i].status, JOURNAL_OK);
		ck_assert_uint_eq(s.r[i].seq, i + 1);
	}
	ck_assert_int_eq(journal_verify(j, &v, &cause), 0);
	ck_assert_uint_eq(v.records, 30);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* The records of each commit, in order. */
struct commits {
	size_t	n;
	size_t	v[16];
};

static void
commits_hook(size_t records, int64_t us, void *arg)
{
	struct commits	*c = arg;

	if (c->n < sizeof c->v / sizeof c->v[0])
		c->v[c->n++] = records;
}

/* A group's records (journal_group_begin .. end) go in one transaction:
 * where the writer's batch would end in the middle of one, the batch takes
 * the whole group. */
START_TEST(test_journal_record_group)
{
	struct journal		*j;
	struct seen		 s = { 0 };
	struct commits		 c;
	char			*cause = NULL;
	int			 calls[2] = { 0, 0 };
	size_t			 i, total = 1 + (JOURNAL_BATCH_MAX - 2) + 3;

	memset(&c, 0, sizeof c);
	j = failing_open(calls);
	journal_add_commit_hook(j, commits_hook, &c);
	ck_assert_int_eq(journal_start(j, base, &cause), 0);
	/* One record holds the writer (the disk is full) while the rest
	 * queue up behind it: a batch's worth less one, then a group of 3. */
	__atomic_store_n(&store_failing, 1, __ATOMIC_SEQ_CST);
	submit_n(j, &s, 1, 10);
	while (calls[0] == 0)
		event_base_loop(base, EVLOOP_ONCE);
	submit_n(j, &s, JOURNAL_BATCH_MAX - 2, 10);
	journal_group_begin(j);
	journal_group_begin(j);		/* nested: still one group */
	submit_n(j, &s, 1, 10);
	journal_group_end(j);
	submit_n(j, &s, 2, 10);
	journal_group_end(j);
	ck_assert_uint_eq(journal_pending(j), total);
	__atomic_store_n(&store_failing, 0, __ATOMIC_SEQ_CST);
	wait_for(&s, total);
	for (i = 0; i < total; i++) {
		ck_assert_int_eq(s.r[i].status, JOURNAL_OK);
		ck_assert_uint_eq(s.r[i].seq, i + 1);
	}
	ck_assert_uint_eq(c.n, 2);
	ck_assert_uint_eq(c.v[0], 1);
	ck_assert_uint_eq(c.v[1], JOURNAL_BATCH_MAX + 1);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* An untouched journal verifies, also after reopening. */
START_TEST(test_journal_verify)
{
	struct journal		*j;
	struct journal_verify	 v;
	struct seen		 s = { 0 };
	char			*cause, hex[65];

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	ck_assert_int_eq(journal_verify(j, &v, &cause), 0);
	ck_assert_uint_eq(v.records, 0);
	chain_hex(v.head, hex);
	ck_assert_str_eq(hex, GENESIS_HEX);
	submit_n(j, &s, 50, 10);
	wait_for(&s, 50);
	journal_close(j);
	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	ck_assert_int_eq(journal_verify(j, &v, &cause), 0);
	ck_assert_uint_eq(v.records, 50);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* A record changed in the middle: open works (tail intact), verify finds
 * its seq; a changed last record: open refuses. */
START_TEST(test_journal_verify_bad)
{
	struct journal		*j;
	struct journal_verify	 v;
	struct journal_options	 o;
	struct seen		 s = { 0 };
	char			*cause = NULL;
	uint8_t			 seq[8];

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	submit_n(j, &s, 50, 10);
	wait_for(&s, 50);
	journal_close(j);

	raw_tamper(20, 1);		/* last byte of the body */
	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	ck_assert_int_eq(journal_verify(j, &v, &cause), -1);
	ck_assert_uint_eq(v.bad_seq, 20);
	ck_assert_uint_eq(v.records, 19);
	ck_assert_ptr_nonnull(strstr(cause, "hash mismatch"));
	free(cause);
	journal_close(j);

	raw_tamper(50, 1);
	memset(&o, 0, sizeof o);
	ck_assert_ptr_null(journal_open(jdir, &o, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "chain tail mismatch at seq 50"));
	free(cause);
	raw_tamper(50, 1);		/* restored */

	store_be64(49, seq);
	raw_meta("head_seq", seq, 8);
	ck_assert_ptr_null(journal_open(jdir, &o, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "meta's head is seq 49"));
	free(cause);
	o.readonly = 1;
	j = journal_open(jdir, &o, &cause);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(journal_verify(j, &v, &cause), -1);
	ck_assert_uint_eq(v.bad_seq, 20);
	free(cause);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* Append a correctly chained record dated WHEN after the last one, as
 * another writer could have (a clock that was ahead). */
static void
raw_append_dated(uint64_t seq, int64_t when)
{
	raw_append_body(seq, when, "\x80", 1);
}

/* Append a correctly chained record dated WHEN with the BODY bytes after
 * the last one, and make it meta's head. */
static void
raw_append_body(uint64_t seq, int64_t when, const void *body, size_t blen)
{
	MDB_env		*env = raw_open(0);
	MDB_txn		*txn;
	MDB_dbi		 log, meta;
	MDB_val		 k, v;
	msgpack_sbuffer	 sb;
	msgpack_packer	 pk;
	uint8_t		 key[8], prev[32], *val;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	record_pack_header(&pk, seq, when, "test.future", NULL);
	msgpack_sbuffer_write(&sb, body, blen);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "log", 0, &log), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	k.mv_data = (void *)"head_hash";
	k.mv_size = 9;
	ck_assert_int_eq(mdb_get(txn, meta, &k, &v), 0);
	memcpy(prev, v.mv_data, 32);
	val = xmalloc(32 + sb.size);
	sha256_2(prev, 32, sb.data, sb.size, val);
	memcpy(val + 32, sb.data, sb.size);
	store_be64(seq, key);
	k.mv_data = key;
	k.mv_size = 8;
	v.mv_data = val;
	v.mv_size = 32 + sb.size;
	ck_assert_int_eq(mdb_put(txn, log, &k, &v, MDB_APPEND), 0);
	k.mv_data = (void *)"head_hash";
	k.mv_size = 9;
	v.mv_size = 32;
	ck_assert_int_eq(mdb_put(txn, meta, &k, &v, 0), 0);
	k.mv_data = (void *)"head_seq";
	k.mv_size = 8;
	v.mv_data = key;
	v.mv_size = 8;
	ck_assert_int_eq(mdb_put(txn, meta, &k, &v, 0), 0);
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
	free(val);
	msgpack_sbuffer_destroy(&sb);
}

static int
last_time(const struct journal_entry *e, void *arg)
{
	struct record	 rec;
	char		*cause;

	ck_assert_int_eq(record_decode(e->rec, e->len, &rec, &cause), 0);
	*(int64_t *)arg = rec.time_us;
	record_clear(&rec);
	return (0);
}

/* Record times never go back, also across a restart after a record
 * written with a clock that was ahead. */
START_TEST(test_journal_time)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	int64_t		 future = now_us() + 86400 * USEC_PER_SEC, t = 0;
	char		*cause;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	submit_n(j, &s, 2, 1);
	wait_for(&s, 2);
	journal_close(j);
	raw_append_dated(3, future);
	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	submit_n(j, &s, 1, 1);
	wait_for(&s, 3);
	ck_assert_uint_eq(s.r[2].seq, 4);
	ck_assert_int_eq(journal_log_foreach(j, 4, NULL, last_time, &t,
	    &cause), 0);
	ck_assert_int_eq(t, future);
	journal_close(j);
	ck_assert_uint_eq(raw_recompute(), 4);
	seen_free(&s);
}
END_TEST

/* Open read-only and verify: the result and the cause. */
static int
verify_ro(struct journal_verify *v, char **cause)
{
	struct journal_options	 o;
	struct journal		*j;
	int			 rc;

	memset(&o, 0, sizeof o);
	o.readonly = 1;
	j = journal_open(jdir, &o, cause);
	ck_assert_msg(j != NULL, "%s", *cause);
	rc = journal_verify(j, v, cause);
	journal_close(j);
	return (rc);
}

/* Times that stay equal or go up, and distinct keys, verify. */
START_TEST(test_journal_verify_records)
{
	struct journal		*j;
	struct journal_verify	 v;
	struct seen		 s = { 0 };
	char			*cause = NULL;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	submit_n(j, &s, 3, 1);
	wait_for(&s, 3);
	journal_close(j);
	raw_append_body(4, now_us() + 1000000, "\x82\xa1" "a\x01\xa1" "b\x02",
	    7);
	raw_append_body(5, now_us() + 1000000, "\x80", 1);
	ck_assert_msg(verify_ro(&v, &cause) == 0, "%s", cause);
	ck_assert_uint_eq(v.records, 5);
	seen_free(&s);
}
END_TEST

/* verify refuses a record dated before the one before it, and a record
 * with two keys of one name, naming its seq. */
START_TEST(test_journal_verify_records_bad)
{
	struct journal		*j;
	struct journal_verify	 v;
	struct seen		 s = { 0 };
	char			*cause = NULL;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	submit_n(j, &s, 3, 1);
	wait_for(&s, 3);
	journal_close(j);
	raw_append_body(4, 1000, "\x80", 1);
	ck_assert_int_eq(verify_ro(&v, &cause), -1);
	ck_assert_uint_eq(v.bad_seq, 4);
	ck_assert_msg(strstr(cause, "time_us 1000 is before the previous "
	    "record's") != NULL, "%s", cause);
	free(cause);

	lib_rm_tree(jdir);
	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	submit_n(j, &s, 3, 1);
	wait_for(&s, 6);
	journal_close(j);
	raw_append_body(4, now_us() + 1000000, "\x82\xa1" "a\x01\xa1" "a\x02",
	    7);
	ck_assert_int_eq(verify_ro(&v, &cause), -1);
	ck_assert_uint_eq(v.bad_seq, 4);
	ck_assert_msg(strstr(cause, "record: duplicate map key \"a\"") !=
	    NULL, "%s", cause);
	free(cause);
	seen_free(&s);
}
END_TEST

/* meta's verified point, read with the raw API (0 when absent). */
static uint64_t
raw_verified(void)
{
	MDB_env		*env = raw_open(MDB_RDONLY);
	MDB_txn		*txn;
	MDB_dbi		 meta;
	MDB_val		 k = { 12, (void *)"verified_seq" }, v;
	uint64_t	 seq = 0;
	int		 i;

	ck_assert_int_eq(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	if (mdb_get(txn, meta, &k, &v) == 0) {
		ck_assert_uint_eq(v.mv_size, 8);
		for (i = 0; i < 8; i++)
			seq = seq << 8 | ((uint8_t *)v.mv_data)[i];
	}
	mdb_txn_abort(txn);
	mdb_env_close(env);
	return (seq);
}

/* Open, write N records, close; returns what the open checked (the
 * reason copied to a static buffer). */
static struct journal_chain
open_write_close(struct seen *s, size_t n)
{
	static char		 reason[512];
	struct journal		*j;
	struct journal_chain	 c;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	journal_chain(j, &c);
	if (c.broken_reason != NULL) {
		snprintf(reason, sizeof reason, "%s", c.broken_reason);
		c.broken_reason = reason;
	}
	submit_n(j, s, n, 1);
	wait_for(s, s->n + n);
	journal_close(j);
	return (c);
}

/* Open the journal of N records: no break found at open, verify takes
 * all N; its chain as the open left it. */
static struct journal_chain
open_intact(uint64_t n)
{
	struct journal		*j;
	struct journal_verify	 v;
	struct journal_chain	 c;
	char			*cause = NULL;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	journal_chain(j, &c);
	ck_assert_uint_eq(c.broken_seq, 0);
	ck_assert_msg(journal_verify(j, &v, &cause) == 0, "%s", cause);
	ck_assert_uint_eq(v.records, n);
	ck_assert_uint_eq(v.last_seq, n);
	journal_close(j);
	c.broken_reason = NULL;		/* gone with the journal */
	return (c);
}

/*
 * More records than ordered.c's ring holds, checked on more than one
 * core: verify and the check at open count them all, and find a break
 * deep in the log at its own seq, whether a record's byte or its stored
 * hash changed.
 */
START_TEST(test_journal_check_many)
{
	struct journal		*j;
	struct journal_verify	 v;
	struct journal_chain	 c;
	struct seen		 s = { 0 };
	char			*cause = NULL;
	const uint64_t		 n = 20000;
	const uint64_t		 bad[2] = { 17001, 18500 };
	const size_t		 where[2] = { 1, 0 };	/* a byte, the hash */
	int			 i;

	open_write_close(&s, n);
	c = open_intact(n);
	ck_assert_uint_eq(c.start_records, n);
	for (i = 0; i < 2; i++) {
		raw_tamper(bad[i], where[i]);
		j = open_j(0, 0, JOURNAL_SYNC_NONE);
		journal_chain(j, &c);
		ck_assert_uint_eq(c.broken_seq, bad[i]);
		ck_assert_int_eq(journal_verify(j, &v, &cause), -1);
		ck_assert_uint_eq(v.bad_seq, bad[i]);
		ck_assert_uint_eq(v.records, bad[i] - 1);
		ck_assert_ptr_nonnull(strstr(cause, "hash mismatch"));
		free(cause);
		cause = NULL;
		journal_close(j);
		raw_tamper(bad[i], where[i]);	/* restored */
	}
	open_intact(n);
	seen_free(&s);
}
END_TEST

/* The open checks from the verified point to the tail; the tail becomes
 * the verified point with the next commit; the next open checks only
 * what came after it. */
START_TEST(test_journal_open_check)
{
	struct journal_chain	c;
	struct seen		s = { 0 };

	c = open_write_close(&s, 20);
	ck_assert_uint_eq(c.start_records, 0);
	ck_assert_uint_eq(raw_verified(), 0);	/* nothing verified yet */
	c = open_write_close(&s, 5);
	ck_assert_uint_eq(c.start_from, 0);
	ck_assert_uint_eq(c.start_records, 20);
	ck_assert_uint_eq(c.broken_seq, 0);
	ck_assert_uint_eq(raw_verified(), 20);
	c = open_write_close(&s, 1);
	ck_assert_uint_eq(c.start_from, 20);
	ck_assert_uint_eq(c.start_records, 5);
	ck_assert_uint_eq(raw_verified(), 25);
	seen_free(&s);
}
END_TEST

/* A break after the verified point is found by the open, which goes on
 * and moves the verified point to just before it, so that the next open
 * finds it again; a break before the point is left to the scrub. */
START_TEST(test_journal_open_check_bad)
{
	struct journal_chain	c;
	struct seen		s = { 0 };

	open_write_close(&s, 20);
	raw_tamper(12, 1);
	c = open_write_close(&s, 1);
	ck_assert_uint_eq(c.broken_seq, 12);
	ck_assert_str_eq(c.found_by, "start");
	ck_assert_ptr_nonnull(strstr(c.broken_reason, "hash mismatch"));
	ck_assert_uint_eq(raw_verified(), 11);
	c = open_write_close(&s, 1);
	ck_assert_uint_eq(c.broken_seq, 12);
	ck_assert_uint_eq(c.start_from, 11);
	raw_tamper(12, 1);	/* repaired */
	c = open_write_close(&s, 1);
	ck_assert_uint_eq(c.broken_seq, 0);
	ck_assert_uint_eq(raw_verified(), 22);
	raw_tamper(5, 1);	/* before the verified point */
	c = open_write_close(&s, 1);
	ck_assert_uint_eq(c.broken_seq, 0);
	ck_assert_uint_eq(c.start_from, 22);
	seen_free(&s);
}
END_TEST

/* Run the loop until the scrub has ended N scrubs (or a minute). */
static void
scrub_wait(struct journal *j, uint64_t n)
{
	struct scrub_status	st;
	int64_t			end = mono_us() + 60 * USEC_PER_SEC;

	for (;;) {
		scrub_status(j, &st);
		if (st.scrubs >= n || mono_us() > end)
			break;
		event_base_loop(base, EVLOOP_ONCE);
	}
	ck_assert_uint_ge(st.scrubs, n);
}

/* The scrub reads the whole chain back in slices, records journal.scrub
 * "ok", moves the verified point to where it ended, and comes again. */
START_TEST(test_scrub)
{
	struct journal		*j;
	struct journal_chain	 c;
	struct journal_verify	 v;
	struct seen		 s = { 0 };
	char			*cause = NULL;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	submit_n(j, &s, SCRUB_SLICE_RECORDS * 2 + 10, 1);
	wait_for(&s, SCRUB_SLICE_RECORDS * 2 + 10);
	ck_assert_int_eq(scrub_start(j, 1000, &cause), 0);
	ck_assert_int_eq(scrub_start(j, 1000, &cause), -1);
	free(cause);
	scrub_wait(j, 2);
	journal_flush(j);
	journal_chain(j, &c);
	ck_assert_uint_eq(c.broken_seq, 0);
	ck_assert_uint_ge(c.verified_seq, SCRUB_SLICE_RECORDS * 2 + 10);
	ck_assert_int_gt(c.scrubbed_us, 0);
	ck_assert_uint_ge(journal_seq(j), SCRUB_SLICE_RECORDS * 2 + 12);
	ck_assert_int_eq(journal_verify(j, &v, &cause), 0);
	journal_close(j);
	ck_assert_uint_ge(raw_verified(), SCRUB_SLICE_RECORDS * 2 + 10);
	seen_free(&s);
}
END_TEST

/* A break before the verified point: the scrub finds it, records
 * journal.scrub "broken", and lowers the verified point before it. */
START_TEST(test_scrub_bad)
{
	struct journal		*j;
	struct journal_chain	 c;
	struct seen		 s = { 0 };
	char			*cause = NULL;

	open_write_close(&s, 30);
	open_write_close(&s, 1);
	ck_assert_uint_eq(raw_verified(), 30);
	raw_tamper(7, 40);
	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	journal_chain(j, &c);
	ck_assert_uint_eq(c.broken_seq, 0);
	ck_assert_int_eq(scrub_start(j, 1000, &cause), 0);
	scrub_wait(j, 1);
	journal_flush(j);
	journal_chain(j, &c);
	ck_assert_uint_eq(c.broken_seq, 7);
	ck_assert_str_eq(c.found_by, "scrub");
	ck_assert_uint_eq(c.verified_seq, 6);
	journal_close(j);
	ck_assert_uint_eq(raw_verified(), 6);
	seen_free(&s);
}
END_TEST

/* With more records since the verified point than the open checks, the
 * open checks the last ones only, leaves the verified point, and the
 * scrub starts at once (even with no interval) and finds a break before
 * the window. */
START_TEST(test_journal_open_check_window)
{
	struct journal_options	 o;
	struct journal		*j;
	struct journal_chain	 c;
	struct seen		 s = { 0 };
	char			*cause = NULL;

	open_write_close(&s, 50);
	raw_tamper(5, 1);
	memset(&o, 0, sizeof o);
	o.sync = JOURNAL_SYNC_NONE;
	o.start_check_max = 10;
	j = journal_open(jdir, &o, &cause);
	ck_assert_ptr_nonnull(j);
	ck_assert_int_eq(journal_start(j, base, &cause), 0);
	journal_chain(j, &c);
	ck_assert_int_eq(c.start_partial, 1);
	ck_assert_uint_eq(c.start_from, 40);
	ck_assert_uint_eq(c.start_records, 10);
	ck_assert_uint_eq(c.broken_seq, 0);		/* not in the window */
	ck_assert_uint_eq(c.verified_seq, 0);		/* left as it was */
	ck_assert_int_eq(scrub_start(j, 0, &cause), 0);
	scrub_wait(j, 1);
	journal_flush(j);
	journal_chain(j, &c);
	ck_assert_uint_eq(c.broken_seq, 5);
	ck_assert_str_eq(c.found_by, "scrub");
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* In a child process: open read-only, verify, read, fail a submit. */
static int
readonly_child(size_t want)
{
	struct journal_options	 o;
	struct journal_verify	 v;
	struct journal		*j;
	struct seen		 s = { 0 };
	struct event_base	*b;
	void			*val;
	size_t			 vlen;
	char			*cause;

	memset(&o, 0, sizeof o);
	o.readonly = 1;
	if ((j = journal_open(jdir, &o, &cause)) == NULL)
		return (1);
	if (journal_verify(j, &v, &cause) != 0 || v.records < want)
		return (2);
	if (journal_table_get(j, "t", "k", 1, &val, &vlen) != 0)
		return (3);
	free(val);
	b = event_base_new();
	journal_start(j, b, &cause);
	journal_submit(j, make_rec("k", NULL, 1, 1), seen_cb, &s);
	if (s.n != 0)
		return (4);
	while (s.n == 0)
		event_base_loop(b, EVLOOP_ONCE);
	if (s.r[0].status != JOURNAL_ERROR ||
	    strstr(s.r[0].error, "read-only") == NULL)
		return (5);
	journal_close(j);
	event_base_free(b);
	return (0);
}

/* A read-only opener in another process works while the writer runs. */
START_TEST(test_journal_readonly)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	struct jrec	*rec;
	pid_t		 pid;
	int		 status;

	j = open_j(0, 0, JOURNAL_SYNC_FULL);
	rec = make_rec("k", NULL, 1, 1);
	jrec_put(rec, "t", "k", 1, "v", 1);
	journal_submit(j, rec, seen_cb, &s);
	submit_n(j, &s, 99, 10);
	wait_for(&s, 100);
	pid = fork();
	ck_assert_int_ne(pid, -1);
	if (pid == 0)
		_exit(readonly_child(100));
	submit_n(j, &s, 100, 10);	/* the writer goes on meanwhile */
	wait_for(&s, 200);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "child status %d", status);
	ck_assert_int_eq(s.r[199].status, JOURNAL_OK);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* Read-only: a missing journal is refused; submits fail. */
START_TEST(test_journal_readonly_bad)
{
	struct journal_options	 o;
	struct journal		*j;
	struct seen		 s = { 0 };
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.readonly = 1;
	ck_assert_ptr_null(journal_open(jdir, &o, &cause));
	ck_assert_ptr_nonnull(strstr(cause, jdir));
	free(cause);
	o.readonly = 0;
	j = journal_open(jdir, &o, &cause);
	journal_close(j);
	o.readonly = 1;
	j = journal_open(jdir, &o, &cause);
	ck_assert_ptr_nonnull(j);
	journal_submit(j, make_rec("k", NULL, 1, 1), seen_cb, &s);
	journal_flush(j);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_int_eq(s.r[0].status, JOURNAL_ERROR);
	ck_assert_str_eq(s.r[0].reason, JOURNAL_R_READ_ONLY);
	journal_close(j);
	seen_free(&s);
}
END_TEST

static struct journal	*flush_j;

static void
resubmit_cb(const struct journal_result *r, void *arg)
{
	struct seen	*s = arg;

	seen_cb(r, s);
	if (s->n == 1)
		journal_submit(flush_j, make_rec("follow", NULL, 1, 1),
		    seen_cb, s);
}

/* flush and close run every callback without the loop, including those
 * of records submitted by callbacks. */
START_TEST(test_journal_flush)
{
	struct journal	*j;
	struct seen	 s = { 0 };

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	flush_j = j;
	journal_submit(j, make_rec("first", NULL, 1, 1), resubmit_cb, &s);
	submit_n(j, &s, 10, 1);
	journal_flush(j);
	ck_assert_uint_eq(s.n, 12);
	ck_assert_uint_eq(journal_pending(j), 0);
	ck_assert_uint_eq(s.r[11].seq, 12);
	submit_n(j, &s, 100, 1);
	journal_close(j);
	ck_assert_uint_eq(s.n, 112);
	seen_free(&s);
}
END_TEST

/* Starting twice is refused; closing a never-started journal drains. */
START_TEST(test_journal_flush_bad)
{
	struct journal_options	 o;
	struct journal		*j;
	struct seen		 s = { 0 };
	char			*cause = NULL;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	ck_assert_int_eq(journal_start(j, base, &cause), -1);
	free(cause);
	journal_close(j);
	memset(&o, 0, sizeof o);
	j = journal_open(jdir, &o, &cause);
	submit_n(j, &s, 5, 1);
	journal_close(j);
	ck_assert_uint_eq(s.n, 5);
	ck_assert_int_eq(s.r[4].status, JOURNAL_OK);
	journal_close(NULL);
	seen_free(&s);
}
END_TEST

/* Run chime-journal ARGS; its stdout into OUT (allocated).  Returns the
 * exit status, or -1 when the program is not built next to the tests. */
static int
run_tool(char **out, const char *a1, const char *a2, const char *a3,
    const char *a4)
{
	const char	*bdir = getenv("CHIME_BUILDDIR");
	char		 path[512], buf[4096];
	int		 fds[2], status;
	size_t		 len = 0;
	ssize_t		 n;
	pid_t		 pid;

	if (bdir == NULL)
		return (-1);
	snprintf(path, sizeof path, "%s/chime-journal", bdir);
	if (access(path, X_OK) != 0)
		return (-1);
	ck_assert_int_eq(pipe(fds), 0);
	if ((pid = fork()) == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl(path, "chime-journal", a1, a2, a3, a4, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	*out = xstrdup("");
	while ((n = read(fds[0], buf, sizeof buf - 1)) > 0) {
		*out = xreallocarray(*out, 1, len + n + 1);
		memcpy(*out + len, buf, n);
		len += n;
		(*out)[len] = '\0';
	}
	close(fds[0]);
	waitpid(pid, &status, 0);
	return (WIFEXITED(status) ? WEXITSTATUS(status) : -2);
}

/* chime-journal verify, export and stats on a good journal. */
START_TEST(test_journal_tool)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	char		*out, hex[65], want[256];
	uint8_t		 head[32];

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	submit_n(j, &s, 3, 2);
	wait_for(&s, 3);
	journal_head(j, head);
	journal_close(j);
	chain_hex(head, hex);
	seen_free(&s);
	if (run_tool(&out, "verify", tmpdir, NULL, NULL) == -1)
		return;	/* not run from make check */
	snprintf(want, sizeof want, "ok: 3 records, seq 1..3, head %s\n", hex);
	ck_assert_str_eq(out, want);
	free(out);
	ck_assert_int_eq(run_tool(&out, "export", tmpdir, "--from", "3"), 0);
	ck_assert_ptr_nonnull(strstr(out, "{\"seq\":3,\"time\":\""));
	ck_assert_ptr_nonnull(strstr(out, "\"kind\":\"test.record\","
	    "\"account\":\"acct\",\"body\":{\"n\":2,\"pad\":\"xx\"},"
	    "\"hash\":\""));
	ck_assert_ptr_null(strstr(out, "\"seq\":2"));
	free(out);
	ck_assert_int_eq(run_tool(&out, "stats", tmpdir, NULL, NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "test.record"));
	ck_assert_ptr_nonnull(strstr(out, "records   3 (seq 1..3)"));
	free(out);
	/* Without DATA_DIR, $CHIME_DATA. */
	setenv("CHIME_DATA", tmpdir, 1);
	ck_assert_int_eq(run_tool(&out, "verify", NULL, NULL, NULL), 0);
	ck_assert_str_eq(out, want);
	free(out);
	ck_assert_int_eq(run_tool(&out, "export", "--from", "3", NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "{\"seq\":3,"));
	free(out);
	ck_assert_int_eq(run_tool(&out, "stats", NULL, NULL, NULL), 0);
	ck_assert_ptr_nonnull(strstr(out, "records   3 (seq 1..3)"));
	free(out);
	unsetenv("CHIME_DATA");
}
END_TEST

/* chime-journal: a damaged journal, a missing one, bad usage. */
START_TEST(test_journal_tool_bad)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	char		*out;

	if (run_tool(&out, "verify", tmpdir, NULL, NULL) == -1)
		return;
	free(out);
	ck_assert_int_eq(run_tool(&out, "verify", tmpdir, NULL, NULL), 1);
	ck_assert_str_eq(out, "");	/* missing journal: message on stderr */
	free(out);
	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	submit_n(j, &s, 10, 2);
	wait_for(&s, 10);
	journal_close(j);
	raw_tamper(4, 2);
	ck_assert_int_eq(run_tool(&out, "verify", tmpdir, NULL, NULL), 1);
	ck_assert_msg(strncmp(out, "bad: seq 4: hash mismatch: stored ", 34) ==
	    0, "%s", out);
	free(out);
	ck_assert_int_eq(run_tool(&out, "export", tmpdir, "--format", "csv"),
	    2);
	free(out);
	ck_assert_int_eq(run_tool(&out, "frobnicate", NULL, NULL, NULL), 2);
	free(out);
	ck_assert_int_eq(run_tool(&out, "export", tmpdir, "--from", "0"), 2);
	free(out);
	/* Two data directories; $CHIME_DATA naming no journal. */
	ck_assert_int_eq(run_tool(&out, "verify", tmpdir, tmpdir, NULL), 2);
	free(out);
	setenv("CHIME_DATA", "/nonexistent/chime", 1);
	ck_assert_int_eq(run_tool(&out, "verify", NULL, NULL, NULL), 1);
	ck_assert_str_eq(out, "");
	free(out);
	ck_assert_int_eq(run_tool(&out, "verify", tmpdir, NULL, NULL), 1);
	ck_assert_msg(strncmp(out, "bad: seq 4: ", 12) == 0, "%s", out);
	free(out);
	unsetenv("CHIME_DATA");
	seen_free(&s);
}
END_TEST

static Suite *
record_suite(void)
{
	Suite	*s = suite_create("record");

	lib_tcase(s, "codec", NULL, NULL, 0,
	    test_record_decode_roundtrip,
	    test_record_decode_bad,
	    test_record_decode_fuzz_bad,
	    test_record_check_body,
	    test_record_check_body_bad,
	    test_record_json,
	    test_record_json_bad,
	    test_record_to_json,
	    test_record_export,
	    test_record_export_bad,
	    test_record_check_keys,
	    test_record_check_keys_bad,
	    test_record_scan,
	    test_record_scan_bad,
	    test_record_scan_fuzz_bad,
	    NULL);
	return (s);
}

static Suite *
chain_suite(void)
{
	Suite	*s = suite_create("chain");

	lib_tcase(s, "hash", NULL, NULL, 0,
	    test_chain_genesis,
	    test_chain_next,
	    test_chain_example,
	    test_chain_unhex,
	    test_chain_unhex_bad,
	    NULL);
	return (s);
}

static Suite *
jrec_suite(void)
{
	Suite	*s = suite_create("jrec");

	lib_tcase(s, "build", NULL, NULL, 0,
	    test_jrec_build,
	    test_jrec_build_bad,
	    NULL);
	return (s);
}

static Suite *
store_suite(void)
{
	Suite	*s = suite_create("store");

	lib_tcase(s, "lmdb", setup, teardown, 0,
	    test_store_open,
	    test_store_open_bad,
	    test_store_tables,
	    test_store_grow_bad,
	    test_store_size,
	    test_store_size_bad,
	    NULL);
	return (s);
}

/* --- merge -------------------------------------------------------------- */

/* A counter row: the old value (an 8-byte big-endian count, or none)
 * plus the delta's. */
static void
count_merge(const void *old, size_t oldlen, const void *delta, size_t dlen,
    msgpack_sbuffer *out)
{
	uint8_t		 b[8];
	uint64_t	 n = 0;

	if (old != NULL && oldlen == 8)
		n = store_get_be64(old);
	if (dlen == 8)
		n += store_get_be64(delta);
	store_be64(n, b);
	msgpack_sbuffer_write(out, (const char *)b, 8);
}

static struct jrec *
merge_rec(uint64_t add)
{
	struct jrec	*rec;
	uint8_t		 b[8];

	rec = jrec_create("test.merge", "acct");
	msgpack_pack_map(jrec_body(rec), 0);
	store_be64(add, b);
	jrec_merge(rec, "counts", "k", 1, count_merge, b, sizeof b);
	return (rec);
}

/* Records merging into one row add up, also when one transaction holds
 * them all (the writer reads the row as the transaction left it). */
START_TEST(test_journal_merge)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	void		*val;
	size_t		 len;
	int		 i;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	/* submitted together: one transaction (or a few) */
	for (i = 1; i <= 100; i++)
		journal_submit(j, merge_rec((uint64_t)i), seen_cb, &s);
	wait_for(&s, 100);
	ck_assert_int_eq(journal_table_get(j, "counts", "k", 1, &val, &len), 0);
	ck_assert_uint_eq(len, 8);
	ck_assert_uint_eq(store_get_be64(val), 5050);
	free(val);
	/* and across transactions */
	journal_submit(j, merge_rec(7), seen_cb, &s);
	wait_for(&s, 101);
	ck_assert_int_eq(journal_table_get(j, "counts", "k", 1, &val, &len), 0);
	ck_assert_uint_eq(store_get_be64(val), 5057);
	free(val);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* count_merge of N deltas at once. */
static void
count_merge_all(const void *old, size_t oldlen,
    const struct journal_delta *d, size_t n, msgpack_sbuffer *out)
{
	uint8_t		 b[8];
	uint64_t	 v = 0;
	size_t		 i;

	if (old != NULL && oldlen == 8)
		v = store_get_be64(old);
	for (i = 0; i < n; i++) {
		if (d[i].len == 8)
			v += store_get_be64(d[i].data);
	}
	store_be64(v, b);
	msgpack_sbuffer_write(out, (const char *)b, 8);
}

/* A record adding ADD to row KEY of TABLE, with ALL or not; with SET, a
 * put of SET to the row first. */
static struct jrec *
merge_rec_in(const char *table, const char *key, uint64_t add, int all,
    uint64_t set)
{
	struct jrec	*rec;
	uint8_t		 b[8];

	rec = jrec_create("test.merge", "acct");
	msgpack_pack_map(jrec_body(rec), 0);
	if (set != 0) {
		store_be64(set, b);
		jrec_put(rec, table, key, strlen(key), b, sizeof b);
	}
	store_be64(add, b);
	jrec_merge_all(rec, table, key, strlen(key), count_merge,
	    all ? count_merge_all : NULL, b, sizeof b);
	return (rec);
}

/* Merges held by the writer are applied before a put to their table, in
 * their order and per row, with and without a function for all at once,
 * across more tables than it holds at once. */
START_TEST(test_journal_merge_held)
{
	static const char *const tables[] = { "t1", "t2", "t3", "t4", "t5",
	    "t6" };
	struct journal	*j;
	struct seen	 s = { 0 };
	void		*val;
	size_t		 len, t;
	int		 i, n = 0;
	char		 key[8];

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	for (i = 1; i <= 60; i++) {
		t = (size_t)i % 6;
		snprintf(key, sizeof key, "k%d", i % 3);
		journal_submit(j, merge_rec_in(tables[t], key, (uint64_t)i,
		    i % 2, i == 31 ? 1000 : 0), seen_cb, &s);
		n++;
	}
	wait_for(&s, n);
	/* t2/k1: i = 1, 7, 13, 19, 25, then 31 after its put of 1000, 37,
	 * 43, 49, 55 */
	ck_assert_int_eq(journal_table_get(j, "t2", "k1", 2, &val, &len), 0);
	ck_assert_uint_eq(len, 8);
	ck_assert_uint_eq(store_get_be64(val), 1000 + 31 + 37 + 43 + 49 + 55);
	free(val);
	/* t1/k0: i = 6, 12, ..., 60 */
	ck_assert_int_eq(journal_table_get(j, "t1", "k0", 2, &val, &len), 0);
	ck_assert_uint_eq(store_get_be64(val), 6 + 12 + 18 + 24 + 30 + 36 +
	    42 + 48 + 54 + 60);
	free(val);
	ck_assert_int_eq(journal_table_get(j, "t6", "k2", 2, &val, &len), 0);
	ck_assert_uint_eq(store_get_be64(val), 5 + 11 + 17 + 23 + 29 + 35 +
	    41 + 47 + 53 + 59);
	free(val);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* A merge into a bad table or with a bad key fails its record, and
 * nothing is written. */
START_TEST(test_journal_merge_bad)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	struct jrec	*rec;
	void		*val;
	size_t		 len;
	uint8_t		 b[8] = { 0 };

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	rec = jrec_create("test.merge", "acct");
	msgpack_pack_map(jrec_body(rec), 0);
	jrec_merge(rec, "log", "k", 1, count_merge, b, sizeof b);
	journal_submit(j, rec, seen_cb, &s);
	rec = jrec_create("test.merge", "acct");
	msgpack_pack_map(jrec_body(rec), 0);
	jrec_merge(rec, "counts", "", 0, count_merge, b, sizeof b);
	journal_submit(j, rec, seen_cb, &s);
	wait_for(&s, 2);
	ck_assert_int_eq(s.r[0].status, JOURNAL_ERROR);
	ck_assert_int_eq(s.r[1].status, JOURNAL_ERROR);
	ck_assert_int_eq(journal_table_get(j, "counts", "", 0, &val, &len),
	    -1);
	ck_assert_uint_eq(journal_seq(j), 0);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* --- rows left alone --------------------------------------------------- */

/* One record with a lazy put of VAL (NULL: a put of PUT first, then the
 * lazy one of the same bytes) into row KEY of TABLE. */
static struct jrec *
lazy_rec(const char *table, const char *key, const char *put,
    const char *val)
{
	struct jrec	*rec = make_rec("test.lazy", "acct", 1, 1);

	if (put != NULL)
		jrec_put(rec, table, key, strlen(key), put, strlen(put));
	jrec_put_lazy(rec, table, key, strlen(key), val, strlen(val));
	return (rec);
}

/* The row, or "" when absent (freed by the next call). */
static const char *
row_of(struct journal *j, const char *table, const char *key)
{
	static char	*last;
	void		*val;
	size_t		 len;

	free(last);
	last = NULL;
	if (journal_table_get(j, table, key, strlen(key), &val, &len) != 0)
		return ("");
	xasprintf(&last, "%.*s", (int)len, (const char *)val);
	free(val);
	return (last);
}

static int
has_row(struct journal *j, const char *table, const char *key)
{
	void	*val;
	size_t	 len;

	if (journal_table_get(j, table, key, strlen(key), &val, &len) != 0)
		return (0);
	free(val);
	return (1);
}

static uint64_t
rows_kept(struct journal *j)
{
	struct journal_stats	st;

	journal_stats(j, &st);
	return (st.rows_kept);
}

/* A lazy put leaves a row that holds its bytes alone (also one that
 * holds nothing, and one put earlier in the same record or transaction)
 * and writes any other: the table ends as plain puts would leave it; a
 * merge that changes nothing leaves its row alone too. */
START_TEST(test_journal_put_lazy)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	int		 i;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	journal_submit(j, lazy_rec("t", "a", NULL, "one"), seen_cb, &s);
	wait_for(&s, 1);
	ck_assert_str_eq(row_of(j, "t", "a"), "one");
	ck_assert_uint_eq(rows_kept(j), 0);
	journal_submit(j, lazy_rec("t", "a", NULL, "one"), seen_cb, &s);
	wait_for(&s, 2);
	ck_assert_str_eq(row_of(j, "t", "a"), "one");
	ck_assert_uint_eq(rows_kept(j), 1);
	journal_submit(j, lazy_rec("t", "a", NULL, "two"), seen_cb, &s);
	journal_submit(j, lazy_rec("t", "a", NULL, "tw"), seen_cb, &s);
	journal_submit(j, lazy_rec("t", "e", NULL, ""), seen_cb, &s);
	wait_for(&s, 5);
	ck_assert_str_eq(row_of(j, "t", "a"), "tw");
	ck_assert(has_row(j, "t", "e"));
	ck_assert_uint_eq(rows_kept(j), 1);
	journal_submit(j, lazy_rec("t", "e", NULL, ""), seen_cb, &s);
	journal_submit(j, lazy_rec("t", "a", "three", "three"), seen_cb, &s);
	wait_for(&s, 7);
	ck_assert_str_eq(row_of(j, "t", "a"), "three");
	ck_assert_uint_eq(rows_kept(j), 3);
	/* many in one transaction: each sees the one before it */
	for (i = 0; i < 50; i++)
		journal_submit(j, lazy_rec("t", "b", NULL, i % 10 < 5 ? "x" :
		    "y"), seen_cb, &s);
	wait_for(&s, 57);
	ck_assert_str_eq(row_of(j, "t", "b"), "y");
	ck_assert_uint_eq(rows_kept(j), 3 + 40);
	/* a merge of nothing into a row leaves it alone */
	journal_submit(j, merge_rec(5), seen_cb, &s);
	wait_for(&s, 58);
	ck_assert_uint_eq(rows_kept(j), 43);
	journal_submit(j, merge_rec(0), seen_cb, &s);
	wait_for(&s, 59);
	ck_assert_uint_eq(rows_kept(j), 44);
	journal_submit(j, merge_rec(2), seen_cb, &s);
	wait_for(&s, 60);
	ck_assert_uint_eq(rows_kept(j), 44);
	ck_assert(has_row(j, "counts", "k"));
	for (i = 0; i < 60; i++)
		ck_assert_int_eq(s.r[i].status, JOURNAL_OK);
	ck_assert_uint_eq(journal_seq(j), 60);
	row_of(j, "t", "-");
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* In one transaction a lazy put sees the row with the merges held before
 * it applied (a merge changed it: the put is written); and a transaction
 * tried again once the map has grown counts the rows it kept once. */
START_TEST(test_journal_put_lazy_held)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	struct jrec	*rec;
	uint8_t		 five[8];
	char		*big;
	void		*val;
	size_t		 len, n = 600 * 1024;

	j = open_j(256 * 1024, 0, JOURNAL_SYNC_NONE);
	journal_submit(j, merge_rec(5), seen_cb, &s);
	wait_for(&s, 1);
	store_be64(5, five);
	journal_group_begin(j);
	journal_submit(j, merge_rec(3), seen_cb, &s);
	rec = make_rec("test.lazy", "acct", 1, 1);
	jrec_put_lazy(rec, "counts", "k", 1, five, sizeof five);
	journal_submit(j, rec, seen_cb, &s);
	journal_group_end(j);
	wait_for(&s, 3);
	ck_assert_int_eq(journal_table_get(j, "counts", "k", 1, &val, &len), 0);
	ck_assert_uint_eq(len, 8);
	ck_assert_uint_eq(store_get_be64(val), 5);
	free(val);
	ck_assert_uint_eq(rows_kept(j), 0);
	/* a kept row, then more than the map holds: grown, tried again */
	big = xmalloc(n);
	memset(big, 'z', n);
	rec = make_rec("test.lazy", "acct", 1, 1);
	jrec_put_lazy(rec, "counts", "k", 1, five, sizeof five);
	jrec_put(rec, "big", "b", 1, big, n);
	journal_submit(j, rec, seen_cb, &s);
	wait_for(&s, 4);
	free(big);
	ck_assert_int_eq(s.r[3].status, JOURNAL_OK);
	ck_assert(has_row(j, "big", "b"));
	ck_assert_uint_eq(rows_kept(j), 1);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* A lazy put with a bad table or key fails its record, as a put does;
 * one that leaves its row alone still moves no index entry, and one that
 * changes it moves the entry. */
START_TEST(test_journal_put_lazy_bad)
{
	struct journal	*j;
	struct seen	 s = { 0 };
	struct jrec	*rec;
	char		*rows = xstrdup("");
	char		 big[JOURNAL_MAX_KEY + 2];

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	journal_submit(j, lazy_rec("log", "a", NULL, "x"), seen_cb, &s);
	rec = make_rec("test.lazy", "acct", 1, 1);
	memset(big, 'k', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	jrec_put_lazy(rec, "t", big, strlen(big), "v", 1);
	journal_submit(j, rec, seen_cb, &s);
	rec = make_rec("test.lazy", "acct", 1, 1);
	jrec_put_lazy(rec, "t", "", 0, "v", 1);
	journal_submit(j, rec, seen_cb, &s);
	wait_for(&s, 3);
	ck_assert_int_eq(s.r[0].status, JOURNAL_ERROR);
	ck_assert_int_eq(s.r[1].status, JOURNAL_ERROR);
	ck_assert_int_eq(s.r[2].status, JOURNAL_ERROR);
	ck_assert_uint_eq(journal_seq(j), 0);
	journal_close(j);
	seen_free(&s);
	memset(&s, 0, sizeof s);
	lib_rm_tree(jdir);

	j = open_toy_index();
	journal_submit(j, lazy_rec("t", "r1", NULL, "red"), seen_cb, &s);
	journal_submit(j, lazy_rec("t", "r1", NULL, "red"), seen_cb, &s);
	wait_for(&s, 2);
	ck_assert_int_eq(journal_table_foreach(j, "ix", NULL, 0, 0,
	    collect_rows, &rows), 0);
	ck_assert_str_eq(rows, "red/r1=,");
	journal_submit(j, lazy_rec("t", "r1", NULL, "blue"), seen_cb, &s);
	wait_for(&s, 3);
	free(rows);
	rows = xstrdup("");
	ck_assert_int_eq(journal_table_foreach(j, "ix", NULL, 0, 0,
	    collect_rows, &rows), 0);
	ck_assert_str_eq(rows, "blue/r1=,");
	ck_assert_uint_eq(rows_kept(j), 1);
	free(rows);
	journal_close(j);
	seen_free(&s);
}
END_TEST

/* --- archive ------------------------------------------------------------ */

/* Archiving: what the walk wrote, its hash and tree at the end. */
struct arch_walk {
	struct archive_writer	*w;
	struct merkle_range	 range;
	uint64_t		 upto;
	uint8_t			 hash[JOURNAL_HASH_LEN];
};

static int
arch_entry(const struct journal_entry *e, void *arg)
{
	struct arch_walk	*aw = arg;
	uint8_t			 leaf[MERKLE_HASH_LEN];
	char			*cause = NULL;

	if (e->seq > aw->upto)
		return (1);
	merkle_leaf_hash(e->rec, e->len, leaf);
	merkle_range_append(&aw->range, leaf);
	memcpy(aw->hash, e->hash, JOURNAL_HASH_LEN);
	ck_assert_msg(archive_add(aw->w, e, &cause) == 0, "%s", cause);
	return (0);
}

/* Archive records 1..UPTO of the closed journal in jdir to PATH and prune
 * them, as chime-journal archive does. */
static void
arch_prune(uint64_t upto, const char *path)
{
	struct journal_options	 o;
	struct journal_meta	 m;
	struct archive_head	 h;
	struct arch_walk	 aw;
	struct journal		*j;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	j = journal_open(jdir, &o, &cause);
	ck_assert_msg(j != NULL, "%s", cause);
	ck_assert_int_eq(journal_meta(j, &m, &cause), 0);
	memset(&h, 0, sizeof h);
	memset(&aw, 0, sizeof aw);
	memcpy(h.journal_id, m.journal_id, sizeof h.journal_id);
	chain_genesis(h.anchor_hash);
	merkle_range_init(&h.anchor_range);
	aw.upto = upto;
	aw.w = archive_create(path, &h, &cause);
	ck_assert_msg(aw.w != NULL, "%s", cause);
	ck_assert_int_eq(journal_log_foreach(j, 1, NULL, arch_entry, &aw,
	    &cause), 0);
	ck_assert_msg(archive_finish(aw.w, &cause) == 0, "%s", cause);
	ck_assert_msg(journal_prune(j, upto, aw.hash, &aw.range, &cause) == 0,
	    "%s", cause);
	journal_close(j);
}

/* Count an archive's entries, checking their order. */
static int
arch_count(const struct journal_entry *e, void *arg)
{
	uint64_t	*n = arg;

	ck_assert_uint_eq(e->seq, *n + 1);
	ck_assert_uint_gt(e->len, 0);
	(*n)++;
	return (0);
}

/* Count an archive's entries up to 66000, then stop. */
static int
arch_stop(const struct journal_entry *e, void *arg)
{
	uint64_t	*n = arg;

	ck_assert_uint_eq(e->seq, *n + 1);
	return (++(*n) == 66000);
}

/* Entry I of test_archive_entries: its value's LEN bytes (hash and
 * record) into V.  The first ten are long enough that the reader's chunks
 * end inside them, and begin like an entry of their own seq (which must
 * not be taken for one); the others use every bin and seq encoding. */
static size_t
arch_value(uint64_t i, uint8_t *v)
{
	static const uint8_t	 like[] = { 0x92, 0, 0xc4, 0x21 };
	size_t			 len, k;

	len = i <= 10 ? 70000 : JOURNAL_HASH_LEN + 1 + (size_t)(i * 37 % 400);
	for (k = 0; k < len; k++)
		v[k] = (uint8_t)(i * 31 + k);
	if (i <= 10) {
		memcpy(v, like, sizeof like);
		v[1] = (uint8_t)i;
	}
	return (len);
}

/* Check each entry against arch_value. */
static int
arch_same(const struct journal_entry *e, void *arg)
{
	uint64_t	*n = arg;
	uint8_t		 v[70000];
	size_t		 len;

	ck_assert_uint_eq(e->seq, *n + 1);
	len = arch_value(e->seq, v);
	ck_assert_uint_eq(e->len, len - JOURNAL_HASH_LEN);
	ck_assert_mem_eq(e->hash, v, JOURNAL_HASH_LEN);
	ck_assert_mem_eq(e->rec, v + JOURNAL_HASH_LEN, e->len);
	(*n)++;
	return (0);
}

/* Every entry reads back as written, across the reader's chunks and
 * every encoding of its seq and length (the reader takes most entries
 * without msgpack-c); a stop from the callback is returned. */
START_TEST(test_archive_entries)
{
	struct archive_writer	*w;
	struct archive_head	 h;
	struct archive_tail	 t;
	struct journal_entry	 e;
	uint8_t			 v[70000];
	uint64_t		 i, n = 0;
	char			 path[256], *cause = NULL;

	snprintf(path, sizeof path, "%s/entries.archive", tmpdir);
	memset(&h, 0, sizeof h);
	memset(h.journal_id, 'a', sizeof h.journal_id - 1);
	chain_genesis(h.anchor_hash);
	merkle_range_init(&h.anchor_range);
	w = archive_create(path, &h, &cause);
	ck_assert_msg(w != NULL, "%s", cause);
	for (i = 1; i <= 70000; i++) {
		e.seq = i;
		e.len = arch_value(i, v) - JOURNAL_HASH_LEN;
		e.hash = v;
		e.rec = v + JOURNAL_HASH_LEN;
		ck_assert_msg(archive_add(w, &e, &cause) == 0, "%s", cause);
	}
	ck_assert_msg(archive_finish(w, &cause) == 0, "%s", cause);
	ck_assert_msg(archive_read(path, &h, arch_same, &n, &t, &cause) == 0,
	    "%s", cause);
	ck_assert_uint_eq(n, 70000);
	ck_assert_uint_eq(t.records, 70000);
	ck_assert_uint_eq(t.last_seq, 70000);
	n = 0;
	ck_assert_int_eq(archive_read(path, &h, arch_stop, &n, &t, &cause),
	    1);
	ck_assert_uint_eq(n, 66000);
}
END_TEST

/* An archive round trip: the records leave the log, meta keeps the
 * anchor, verify chains on from it, the file reads back whole, and the
 * daemon's side opens the pruned journal and writes on. */
START_TEST(test_archive)
{
	struct journal		*j;
	struct journal_verify	 v;
	struct journal_meta	 m;
	struct archive_head	 h;
	struct archive_tail	 t;
	struct seen		 s = { 0 };
	char			 path[256], *cause = NULL;
	uint64_t		 n = 0;

	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	submit_n(j, &s, 10, 10);
	wait_for(&s, 10);
	journal_close(j);
	snprintf(path, sizeof path, "%s/a.archive", tmpdir);
	arch_prune(6, path);
	ck_assert_int_eq(verify_ro(&v, &cause), 0);
	ck_assert_uint_eq(v.records, 4);
	ck_assert_uint_eq(v.last_seq, 10);
	ck_assert_int_eq(archive_read(path, &h, arch_count, &n, &t, &cause),
	    0);
	ck_assert_uint_eq(n, 6);
	ck_assert_uint_eq(h.anchor_seq, 0);
	ck_assert_uint_eq(t.last_seq, 6);
	ck_assert_uint_eq(t.records, 6);
	/* meta's anchor is the archive's end */
	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	ck_assert_int_eq(journal_meta(j, &m, &cause), 0);
	ck_assert_uint_eq(m.anchor_seq, 6);
	ck_assert_uint_eq(m.anchor_range.size, 6);
	ck_assert_int_eq(memcmp(m.anchor_hash, t.last_hash, JOURNAL_HASH_LEN),
	    0);
	/* the daemon's side writes on from it */
	submit_n(j, &s, 2, 10);
	wait_for(&s, 12);
	ck_assert_uint_eq(s.r[11].seq, 12);
	journal_close(j);
	ck_assert_int_eq(verify_ro(&v, &cause), 0);
	ck_assert_uint_eq(v.last_seq, 12);
	ck_assert_uint_eq(v.records, 6);
	seen_free(&s);
}
END_TEST

/* Write SB's bytes to PATH. */
static void
arch_file(const char *path, const msgpack_sbuffer *sb)
{
	FILE	*f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	if (sb->size > 0)
		ck_assert_uint_eq(fwrite(sb->data, 1, sb->size, f), sb->size);
	ck_assert_int_eq(fclose(f), 0);
}

/* Read PATH: it must fail saying WANT. */
static void
arch_read_fails(const char *path, const char *want)
{
	struct archive_head	 h;
	struct archive_tail	 t;
	uint64_t		 n = 0;
	char			*cause = NULL;

	ck_assert_int_eq(archive_read(path, &h, arch_count, &n, &t, &cause),
	    -1);
	ck_assert_msg(strstr(cause, want) != NULL, "\"%s\" is not \"%s\"",
	    cause, want);
	free(cause);
}

/* A header map with VERSION and ANCHOR_SEQ 0. */
static void
arch_pack_head(msgpack_packer *pk, uint64_t version)
{
	uint8_t	 hash[JOURNAL_HASH_LEN], range[8] = { 0 };

	chain_genesis(hash);
	msgpack_pack_map(pk, 6);
	pk_str(pk, "format");
	pk_str(pk, "chime-journal-archive");
	pk_str(pk, "version");
	msgpack_pack_uint64(pk, version);
	pk_str(pk, "journal_id");
	pk_str(pk, "0123456789abcdef0123456789abcdef");
	pk_str(pk, "anchor_seq");
	msgpack_pack_uint64(pk, 0);
	pk_str(pk, "anchor_hash");
	msgpack_pack_bin_with_body(pk, hash, sizeof hash);
	pk_str(pk, "anchor_range");
	msgpack_pack_bin_with_body(pk, range, sizeof range);
}

/* An entry [SEQ, 32 bytes of hash and a byte]. */
static void
arch_pack_entry(msgpack_packer *pk, uint64_t seq)
{
	uint8_t	 v[33] = { 0 };

	msgpack_pack_array(pk, 2);
	msgpack_pack_uint64(pk, seq);
	msgpack_pack_bin_with_body(pk, v, sizeof v);
}

/* A trailer of N records to seq N, the last hash all zeros (as the
 * entries of arch_pack_entry store). */
static void
arch_pack_tail(msgpack_packer *pk, uint64_t n)
{
	uint8_t	 hash[JOURNAL_HASH_LEN] = { 0 };

	msgpack_pack_map(pk, 3);
	pk_str(pk, "last_seq");
	msgpack_pack_uint64(pk, n);
	pk_str(pk, "last_hash");
	msgpack_pack_bin_with_body(pk, hash, sizeof hash);
	pk_str(pk, "records");
	msgpack_pack_uint64(pk, n);
}

/* Archives that are not whole or not in order are refused, with why;
 * an existing file is never overwritten; a prune that cannot be done
 * changes nothing. */
START_TEST(test_archive_bad)
{
	struct archive_head	 h;
	struct archive_writer	*w;
	struct journal_verify	 v;
	struct journal_options	 o;
	struct journal_entry	 e;
	struct merkle_range	 r;
	struct journal		*j;
	struct seen		 s = { 0 };
	msgpack_sbuffer		 sb;
	msgpack_packer		 pk;
	uint8_t			 hash[JOURNAL_HASH_LEN] = { 0 }, rec[1] = { 0 };
	char			 path[256], *cause = NULL;

	snprintf(path, sizeof path, "%s/bad.archive", tmpdir);
	/* no file, an empty one, not msgpack */
	arch_read_fails(path, "No such file");
	msgpack_sbuffer_init(&sb);
	arch_file(path, &sb);
	arch_read_fails(path, "not a chime journal archive");
	msgpack_sbuffer_write(&sb, "\xc1", 1);
	arch_file(path, &sb);
	arch_read_fails(path, "not msgpack");
	/* another version */
	msgpack_sbuffer_clear(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	arch_pack_head(&pk, 2);
	arch_file(path, &sb);
	arch_read_fails(path, "version 2 is not supported");
	/* no trailer */
	msgpack_sbuffer_clear(&sb);
	arch_pack_head(&pk, 1);
	arch_pack_entry(&pk, 1);
	arch_file(path, &sb);
	arch_read_fails(path, "cut short");
	/* a gap */
	arch_pack_entry(&pk, 3);
	arch_file(path, &sb);
	arch_read_fails(path, "seq 2: missing");
	/* a value of a hash and no record; an entry cut short */
	msgpack_sbuffer_clear(&sb);
	arch_pack_head(&pk, 1);
	arch_pack_entry(&pk, 1);
	msgpack_pack_array(&pk, 2);
	msgpack_pack_uint64(&pk, 2);
	msgpack_pack_bin_with_body(&pk, hash, sizeof hash);
	arch_file(path, &sb);
	arch_read_fails(path, "after seq 1: not a [seq, hash and record]");
	msgpack_sbuffer_clear(&sb);
	arch_pack_head(&pk, 1);
	arch_pack_entry(&pk, 1);
	msgpack_sbuffer_write(&sb, "\x92\x02\xc4\x40", 4);
	msgpack_sbuffer_write(&sb, (const char *)hash, sizeof hash);
	arch_file(path, &sb);
	arch_read_fails(path, "cut short");
	/* a trailer that disagrees */
	msgpack_sbuffer_clear(&sb);
	arch_pack_head(&pk, 1);
	arch_pack_entry(&pk, 1);
	arch_pack_tail(&pk, 2);
	arch_file(path, &sb);
	arch_read_fails(path, "the trailer says 2 records");
	/* data after a good trailer */
	msgpack_sbuffer_clear(&sb);
	arch_pack_head(&pk, 1);
	arch_pack_entry(&pk, 1);
	arch_pack_tail(&pk, 1);
	arch_pack_entry(&pk, 2);
	arch_file(path, &sb);
	arch_read_fails(path, "data after the trailer");
	msgpack_sbuffer_destroy(&sb);

	/* an existing file is never overwritten; out of order is refused */
	memset(&h, 0, sizeof h);
	ck_assert_ptr_null(archive_create(path, &h, &cause));
	ck_assert_ptr_nonnull(strstr(cause, "never overwritten"));
	free(cause);
	snprintf(path, sizeof path, "%s/new.archive", tmpdir);
	w = archive_create(path, &h, &cause);
	ck_assert_ptr_nonnull(w);
	e.seq = 2;
	e.hash = hash;
	e.rec = rec;
	e.len = sizeof rec;
	ck_assert_int_eq(archive_add(w, &e, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "seq 1: missing"));
	free(cause);
	archive_discard(w);
	ck_assert_int_eq(access(path, F_OK), -1);

	/* a prune of a read-only journal, or of every record: nothing */
	j = open_j(0, 0, JOURNAL_SYNC_NONE);
	submit_n(j, &s, 3, 10);
	wait_for(&s, 3);
	journal_close(j);
	merkle_range_init(&r);
	memset(&o, 0, sizeof o);
	o.readonly = 1;
	j = journal_open(jdir, &o, &cause);
	ck_assert_int_eq(journal_prune(j, 1, hash, &r, &cause), -1);
	free(cause);
	journal_close(j);
	o.readonly = 0;
	j = journal_open(jdir, &o, &cause);
	ck_assert_int_eq(journal_prune(j, 3, hash, &r, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "has no seq 4"));
	free(cause);
	journal_close(j);
	ck_assert_int_eq(verify_ro(&v, &cause), 0);
	ck_assert_uint_eq(v.records, 3);
	/* an anchor hash the log does not chain from: verify names seq 2 */
	arch_prune(1, path);
	raw_meta("anchor_hash", hash, sizeof hash);
	ck_assert_int_eq(verify_ro(&v, &cause), -1);
	ck_assert_uint_eq(v.bad_seq, 2);
	ck_assert_ptr_nonnull(strstr(cause, "hash mismatch"));
	free(cause);
	seen_free(&s);
}
END_TEST

static Suite *
journal_suite(void)
{
	Suite	*s = suite_create("journal");

	lib_tcase(s, "journal", setup, teardown, 120,
	    test_journal_submit_order,
	    test_journal_submit_bad,
	    test_journal_reason,
	    test_journal_reason_bad,
	    test_journal_chain,
	    test_journal_dedup,
	    test_journal_dedup_release,
	    test_journal_dedup_bad,
	    test_journal_tables,
	    test_journal_tables_bad,
	    test_journal_put_body,
	    test_journal_put_body_bad,
	    test_journal_index,
	    test_journal_index_bad,
	    test_journal_group_commit,
	    test_journal_group_commit_bad,
	    test_journal_hooks,
	    test_journal_map_growth,
	    test_journal_map_full_bad,
	    test_journal_stall,
	    test_journal_record_group,
	    test_journal_time,
	    test_journal_verify,
	    test_journal_verify_bad,
	    test_journal_check_many,
	    test_journal_verify_records,
	    test_journal_verify_records_bad,
	    test_journal_open_check,
	    test_journal_open_check_bad,
	    test_journal_open_check_window,
	    test_scrub,
	    test_scrub_bad,
	    test_journal_readonly,
	    test_journal_readonly_bad,
	    test_journal_flush,
	    test_journal_flush_bad,
	    test_journal_tool,
	    test_journal_tool_bad,
	    test_archive,
	    test_archive_entries,
	    test_archive_bad,
	    test_journal_merge,
	    test_journal_merge_held,
	    test_journal_merge_bad,
	    test_journal_put_lazy,
	    test_journal_put_lazy_held,
	    test_journal_put_lazy_bad,
	    NULL);
	return (s);
}

int
main(void)
{
	log_open("check_journal", LOG_LEVEL_WARN);
	return (lib_run(CK_NORMAL, record_suite(), chain_suite(), jrec_suite(),
	    store_suite(), journal_suite(), NULL));
}
