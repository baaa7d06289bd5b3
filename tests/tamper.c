/*
 * tests/tamper.c: chime-test-tamper, which damages a stopped daemon's
 * journal on purpose, with liblmdb directly (not the journal's code), so
 * that tests can see what chimed and chime-journal make of it:
 *
 *   chime-test-tamper JOURNAL_DIR flip SEQ OFFSET   flip the low bit of
 *       byte OFFSET of log entry SEQ's value (0-31: the stored hash,
 *       32 and after: the record)
 *   chime-test-tamper JOURNAL_DIR delete SEQ        delete log entry SEQ
 *   chime-test-tamper JOURNAL_DIR swap SEQ SEQ2     swap two entries' values
 *   chime-test-tamper JOURNAL_DIR cut SEQ           delete the entries after
 *       SEQ and rewrite meta's head to SEQ (a cut tail no chain check sees)
 *   chime-test-tamper JOURNAL_DIR rewrite SEQ FROM TO  replace the first
 *       FROM in record SEQ by TO (as long), then rehash the chain from SEQ
 *       to the end and rewrite meta's head (a forger who knows the chain)
 *   (cut and rewrite also drop meta's merkle_range and verified point, as
 *   a forger would, so that the daemon recomputes them)
 *   chime-test-tamper JOURNAL_DIR row TABLE KEY     flip the low bit of the
 *       last byte of state table TABLE's row KEY (behind the log's back)
 *   chime-test-tamper JOURNAL_DIR forget-analytics  drop the analytics
 *       table and its dedup claims: the journal as one written before the
 *       table existed looks
 *   chime-test-tamper JOURNAL_DIR forget-analytics-sums  delete the
 *       analytics rows of months, dekads and totals and the claim
 *       analytics:v2 (claiming analytics:v1 in its place):
 *       the journal as one whose table had only its day rows looks
 *   chime-test-tamper JOURNAL_DIR forget-table TABLE  drop state table
 *       TABLE (runs-by-time: the journal as one written before the run
 *       index existed looks)

 *   chime-test-tamper JOURNAL_DIR future-format N BY  meta's format becomes
 *       N and its format_by BY (a version): the journal as a later chime
 *       would leave it

 * Exit 0 when done, 1 when it cannot (with a message), 2 on bad usage.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <openssl/evp.h>

static void	 usage(void);
static uint64_t	 number(const char *);
static void	 be64(uint64_t, uint8_t[8]);
static void	 check(int, const char *);
static void	*copy_value(MDB_txn *, MDB_dbi, uint64_t, size_t *);
static void	 put_value(MDB_txn *, MDB_dbi, uint64_t, void *, size_t);
static int	 tamper_row(const char *, const char *, const char *);
static int	 forget_analytics(const char *, int);
static int	 forget_table(const char *, const char *);
static int	 future_format(const char *, const char *, const char *);

static void
usage(void)
{
	fprintf(stderr, "usage: chime-test-tamper JOURNAL_DIR flip SEQ OFFSET\n"
	    "       chime-test-tamper JOURNAL_DIR delete SEQ\n"
	    "       chime-test-tamper JOURNAL_DIR swap SEQ SEQ2\n"
	    "       chime-test-tamper JOURNAL_DIR cut SEQ\n"
	    "       chime-test-tamper JOURNAL_DIR rewrite SEQ FROM TO\n"
	    "       chime-test-tamper JOURNAL_DIR forget-analytics\n"
	    "       chime-test-tamper JOURNAL_DIR forget-analytics-sums\n"
	    "       chime-test-tamper JOURNAL_DIR forget-table TABLE\n"
	    "       chime-test-tamper JOURNAL_DIR row TABLE KEY\n"
	    "       chime-test-tamper JOURNAL_DIR future-format N BY\n");
	exit(2);
}

static uint64_t
number(const char *s)
{
	char			*end;
	unsigned long long	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0)
		usage();
	return (v);
}

static void
be64(uint64_t v, uint8_t out[8])
{
	int	i;

	for (i = 7; i >= 0; i--, v >>= 8)
		out[i] = v & 0xff;
}

static void
check(int rc, const char *what)
{
	if (rc != 0) {
		fprintf(stderr, "chime-test-tamper: %s: %s\n", what,
		    mdb_strerror(rc));
		exit(1);
	}
}

/* A copy of log entry SEQ's value (allocated). */
static void *
copy_value(MDB_txn *txn, MDB_dbi dbi, uint64_t seq, size_t *len)
{
	uint8_t	 key[8];
	MDB_val	 k = { 8, key }, v;
	void	*p;

	be64(seq, key);
	check(mdb_get(txn, dbi, &k, &v), "get");
	if ((p = malloc(v.mv_size)) == NULL)
		exit(1);
	memcpy(p, v.mv_data, v.mv_size);
	*len = v.mv_size;
	return (p);
}

static void
put_value(MDB_txn *txn, MDB_dbi dbi, uint64_t seq, void *val, size_t len)
{
	uint8_t	key[8];
	MDB_val	k = { 8, key }, v = { len, val };

	be64(seq, key);
	check(mdb_put(txn, dbi, &k, &v, 0), "put");
}

/* Meta's head becomes SEQ and HASH; its derived keys go. */
static void
set_head(MDB_txn *txn, uint64_t seq, const uint8_t *hash)
{
	static const char *const drop[] = { "merkle_range", "verified_seq",
	    "verified_hash" };
	MDB_dbi	 meta;
	MDB_val	 k, v;
	uint8_t	 b[8];
	size_t	 i;
	int	 rc;

	check(mdb_dbi_open(txn, "meta", 0, &meta), "meta");
	be64(seq, b);
	k.mv_data = "head_seq";
	k.mv_size = 8;
	v.mv_data = b;
	v.mv_size = 8;
	check(mdb_put(txn, meta, &k, &v, 0), "head_seq");
	k.mv_data = "head_hash";
	k.mv_size = 9;
	v.mv_data = (void *)hash;
	v.mv_size = 32;
	check(mdb_put(txn, meta, &k, &v, 0), "head_hash");
	for (i = 0; i < sizeof drop / sizeof drop[0]; i++) {
		k.mv_data = (void *)drop[i];
		k.mv_size = strlen(drop[i]);
		if ((rc = mdb_del(txn, meta, &k, NULL)) != MDB_NOTFOUND)
			check(rc, drop[i]);
	}
}

/* Delete every entry after SEQ; meta's head is SEQ. */
static void
cut(MDB_txn *txn, MDB_dbi dbi, uint64_t seq)
{
	MDB_cursor	*c;
	MDB_val		 k, v;
	uint8_t		 key[8], hash[32];

	check(mdb_cursor_open(txn, dbi, &c), "cursor");
	be64(seq, key);
	k.mv_data = key;
	k.mv_size = 8;
	check(mdb_cursor_get(c, &k, &v, MDB_SET_KEY), "seq");
	memcpy(hash, v.mv_data, 32);
	while (mdb_cursor_get(c, &k, &v, MDB_NEXT) == 0)
		check(mdb_cursor_del(c, 0), "delete");
	mdb_cursor_close(c);
	set_head(txn, seq, hash);
}

/* Replace FROM by TO in record SEQ, then rehash from SEQ to the end. */
static void
rewrite(MDB_txn *txn, MDB_dbi dbi, uint64_t seq, const char *from,
    const char *to)
{
	uint8_t		 prev[32], *val, *p;
	size_t		 len, flen = strlen(from);
	uint64_t	 n;
	unsigned int	 hlen;
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();

	if (strlen(to) != flen || flen == 0)
		usage();
	val = copy_value(txn, dbi, seq - 1, &len);
	memcpy(prev, val, 32);
	free(val);
	for (n = seq;; n++) {
		uint8_t		key[8];
		MDB_val		k = { 8, key }, v;

		be64(n, key);
		if (mdb_get(txn, dbi, &k, &v) == MDB_NOTFOUND)
			break;
		val = copy_value(txn, dbi, n, &len);
		if (n == seq) {
			p = memmem(val + 32, len - 32, from, flen);
			if (p == NULL) {
				fprintf(stderr, "chime-test-tamper: no %s in "
				    "seq %llu\n", from, (unsigned long long)n);
				exit(1);
			}
			memcpy(p, to, flen);
		}
		if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
		    EVP_DigestUpdate(ctx, prev, 32) != 1 ||
		    EVP_DigestUpdate(ctx, val + 32, len - 32) != 1 ||
		    EVP_DigestFinal_ex(ctx, val, &hlen) != 1)
			exit(1);
		memcpy(prev, val, 32);
		put_value(txn, dbi, n, val, len);
		free(val);
	}
	EVP_MD_CTX_free(ctx);
	set_head(txn, n - 1, prev);
}

/* Flip the low bit of the last byte of TABLE[KEY] in the journal DIR. */
static int
tamper_row(const char *dir, const char *table, const char *key)
{
	MDB_env		*env;
	MDB_txn		*txn;
	MDB_dbi		 dbi;
	MDB_val		 k = { strlen(key), (void *)key }, v;
	uint8_t		*p;

	check(mdb_env_create(&env), "env");
	mdb_env_set_maxdbs(env, 128);
	check(mdb_env_open(env, dir, 0, 0600), dir);
	check(mdb_txn_begin(env, NULL, 0, &txn), "begin");
	check(mdb_dbi_open(txn, table, 0, &dbi), table);
	check(mdb_get(txn, dbi, &k, &v), key);
	if (v.mv_size == 0 || (p = malloc(v.mv_size)) == NULL) {
		fprintf(stderr, "chime-test-tamper: %s: empty row\n", key);
		exit(1);
	}
	memcpy(p, v.mv_data, v.mv_size);
	p[v.mv_size - 1] ^= 0x01;
	v.mv_data = p;
	check(mdb_put(txn, dbi, &k, &v, 0), "put");
	check(mdb_txn_commit(txn), "commit");
	mdb_env_close(env);
	free(p);
	return (0);
}

/* Is KEY (of the analytics table) a month's, a dekad's or a total's
 * row? */
static int
analytics_sum_key(const MDB_val *key)
{
	const char	*k = key->mv_data, *slash;

	if ((slash = memchr(k, '/', key->mv_size)) == NULL)
		return (0);
	if ((size_t)(k + key->mv_size - slash) > 6 &&
	    memcmp(slash + 1, "total/", 6) == 0)
		return (1);
	/* a month: day 00; a dekad: 41, 42, 43 */
	return ((size_t)(k + key->mv_size - slash) > 9 && ((slash[7] == '0' &&
	    slash[8] == '0') || slash[7] == '4'));
}

/* A journal from before the analytics table (no table, no claim), or
 * with SUMS from before its months and totals (no such rows, no claim
 * analytics:v2). */
static int
forget_analytics(const char *dir, int sums)
{
	MDB_env		*env;
	MDB_txn		*txn;
	MDB_cursor	*c;
	MDB_dbi		 dbi;
	MDB_val		 k1 = { 12, (void *)"analytics:v1" };
	MDB_val		 k2 = { 12, (void *)"analytics:v2" }, k, v;
	int		 rc;

	check(mdb_env_create(&env), "env");
	mdb_env_set_maxdbs(env, 128);
	check(mdb_env_open(env, dir, 0, 0600), dir);
	check(mdb_txn_begin(env, NULL, 0, &txn), "begin");
	if ((rc = mdb_dbi_open(txn, "analytics", 0, &dbi)) == 0 && !sums)
		check(mdb_drop(txn, dbi, 1), "drop");
	else if (rc == 0) {
		check(mdb_cursor_open(txn, dbi, &c), "cursor");
		for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
		    rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
			if (analytics_sum_key(&k))
				check(mdb_cursor_del(c, 0), "delete a row");
		}
		if (rc != MDB_NOTFOUND)
			check(rc, "walk");
		mdb_cursor_close(c);
	} else if (rc != MDB_NOTFOUND)
		check(rc, "analytics");
	check(mdb_dbi_open(txn, "dedup", 0, &dbi), "dedup");
	if (!sums && (rc = mdb_del(txn, dbi, &k1, NULL)) != MDB_NOTFOUND)
		check(rc, "delete the claim");
	/* the day rows' claim, as the table's builder then made it */
	if (sums && mdb_get(txn, dbi, &k2, &v) == 0)
		check(mdb_put(txn, dbi, &k1, &v, 0), "claim the days");
	if ((rc = mdb_del(txn, dbi, &k2, NULL)) != MDB_NOTFOUND)
		check(rc, "delete the claim");
	check(mdb_txn_commit(txn), "commit");
	mdb_env_close(env);
	return (0);
}

/* Drop state table NAME (absent: nothing to do). */
static int
forget_table(const char *dir, const char *name)
{
	MDB_env	*env;
	MDB_txn	*txn;
	MDB_dbi	 dbi;
	int	 rc;

	if (strcmp(name, "log") == 0 || strcmp(name, "meta") == 0 ||
	    strcmp(name, "dedup") == 0)
		usage();
	check(mdb_env_create(&env), "env");
	mdb_env_set_maxdbs(env, 128);
	check(mdb_env_open(env, dir, 0, 0600), dir);
	check(mdb_txn_begin(env, NULL, 0, &txn), "begin");
	if ((rc = mdb_dbi_open(txn, name, 0, &dbi)) == 0)
		check(mdb_drop(txn, dbi, 1), "drop");
	else if (rc != MDB_NOTFOUND)
		check(rc, name);
	check(mdb_txn_commit(txn), "commit");
	mdb_env_close(env);
	return (0);
}

/* Meta's format becomes FORMAT, its format_by BY. */
static int
future_format(const char *dir, const char *format, const char *by)
{
	MDB_env	*env;
	MDB_txn	*txn;
	MDB_dbi	 meta;
	MDB_val	 k, v;
	uint8_t	 b[8];

	be64(number(format), b);
	check(mdb_env_create(&env), "env");
	mdb_env_set_maxdbs(env, 128);
	check(mdb_env_open(env, dir, 0, 0600), dir);
	check(mdb_txn_begin(env, NULL, 0, &txn), "begin");
	check(mdb_dbi_open(txn, "meta", 0, &meta), "meta");
	k.mv_data = "format";
	k.mv_size = 6;
	v.mv_data = b;
	v.mv_size = 8;
	check(mdb_put(txn, meta, &k, &v, 0), "format");
	k.mv_data = "format_by";
	k.mv_size = 9;
	v.mv_data = (void *)by;
	v.mv_size = strlen(by);
	check(mdb_put(txn, meta, &k, &v, 0), "format_by");
	check(mdb_txn_commit(txn), "commit");
	mdb_env_close(env);
	return (0);
}

int
main(int argc, char **argv)
{
	MDB_env		*env;
	MDB_txn		*txn;
	MDB_dbi		 dbi;
	MDB_val		 k;
	uint8_t		 key[8], *a, *b;
	size_t		 alen, blen;
	uint64_t	 seq, arg = 0;

	if (argc == 5 && strcmp(argv[2], "row") == 0)
		return (tamper_row(argv[1], argv[3], argv[4]));
	if (argc == 5 && strcmp(argv[2], "future-format") == 0)
		return (future_format(argv[1], argv[3], argv[4]));
	if (argc == 3 && strcmp(argv[2], "forget-analytics") == 0)
		return (forget_analytics(argv[1], 0));
	if (argc == 3 && strcmp(argv[2], "forget-analytics-sums") == 0)
		return (forget_analytics(argv[1], 1));
	if (argc == 4 && strcmp(argv[2], "forget-table") == 0)
		return (forget_table(argv[1], argv[3]));
	if (argc == 6 && strcmp(argv[2], "rewrite") == 0)
		;
	else if (argc < 4 || (strcmp(argv[2], "delete") == 0 ||
	    strcmp(argv[2], "cut") == 0) != (argc == 4) || argc > 5)
		usage();
	seq = number(argv[3]);
	if (argc == 5)
		arg = number(argv[4]);
	if (seq < 2 && strcmp(argv[2], "rewrite") == 0)
		usage();
	check(mdb_env_create(&env), "env");
	mdb_env_set_maxdbs(env, 128);
	check(mdb_env_open(env, argv[1], 0, 0600), argv[1]);
	check(mdb_txn_begin(env, NULL, 0, &txn), "begin");
	check(mdb_dbi_open(txn, "log", 0, &dbi), "log");
	if (strcmp(argv[2], "flip") == 0) {
		a = copy_value(txn, dbi, seq, &alen);
		if (arg >= alen) {
			fprintf(stderr, "chime-test-tamper: seq %llu has %zu "
			    "bytes\n", (unsigned long long)seq, alen);
			exit(1);
		}
		a[arg] ^= 0x01;
		put_value(txn, dbi, seq, a, alen);
		free(a);
	} else if (strcmp(argv[2], "delete") == 0) {
		be64(seq, key);
		k.mv_data = key;
		k.mv_size = 8;
		check(mdb_del(txn, dbi, &k, NULL), "delete");
	} else if (strcmp(argv[2], "swap") == 0) {
		a = copy_value(txn, dbi, seq, &alen);
		b = copy_value(txn, dbi, arg, &blen);
		put_value(txn, dbi, seq, b, blen);
		put_value(txn, dbi, arg, a, alen);
		free(a);
		free(b);
	} else if (strcmp(argv[2], "cut") == 0)
		cut(txn, dbi, seq);
	else if (strcmp(argv[2], "rewrite") == 0)
		rewrite(txn, dbi, seq, argv[4], argv[5]);
	else
		usage();
	check(mdb_txn_commit(txn), "commit");
	mdb_env_close(env);
	return (0);
}
