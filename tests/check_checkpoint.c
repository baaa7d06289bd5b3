/*
 * tests/check_checkpoint.c: the journal's Merkle tree and signed
 * checkpoints (journal/checkpoint.c, the writer's part in
 * journal/writer.c) on real LMDB environments in temporary directories:
 * the range kept in meta and resumed or recomputed at open, the cadence
 * of checkpoint records, their signature, and the signing key's files.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <lmdb.h>

#include "engine.h"
#include "journal.h"
#include "lib.h"

/* What one walk over the log found. */
struct scan {
	uint64_t	 records;
	uint8_t		*leaves;	/* records * MERKLE_HASH_LEN */
	uint8_t		*hashes;	/* chain hash of each */
	uint64_t	 ckpt_seq[64];	/* checkpoint records, in order */
	uint64_t	 ckpt_size[64];
	size_t		 nckpt;
};

/* What the callbacks saw. */
struct seen {
	size_t		 n;
	uint64_t	 seq[8];
	char		*note[8];
	int		 status[8];
	size_t		 hooks;
	uint64_t	 hook_seq[8];
};

static char			*tmpdir;
static char			 jdir[256], keyfile[256], pubfile[256];
static struct event_base	*base;

static void
setup(void)
{
	tmpdir = lib_tmpdir("check-checkpoint");
	snprintf(jdir, sizeof jdir, "%s/journal", tmpdir);
	snprintf(keyfile, sizeof keyfile, "%s/keys/journal.key", tmpdir);
	snprintf(pubfile, sizeof pubfile, "%s/keys/journal.pub", tmpdir);
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

/* Open and start the journal, with a signing key if SIGN. */
static struct journal *
open_j(uint64_t every, int64_t interval_us, int sign)
{
	struct journal_options	 o;
	struct journal		*j;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.sync = JOURNAL_SYNC_NONE;
	o.checkpoint_every = every;
	o.checkpoint_interval_us = interval_us;
	j = journal_open(jdir, &o, &cause);
	ck_assert_msg(j != NULL, "journal_open: %s", cause);
	if (sign)
		ck_assert_msg(checkpoint_key(j, keyfile, pubfile, 1, &cause) ==
		    0, "checkpoint_key: %s", cause);
	ck_assert_msg(journal_start(j, base, &cause) == 0, "start: %s", cause);
	return (j);
}

static void
seen_cb(const struct journal_result *r, void *arg)
{
	struct seen	*s = arg;

	ck_assert_uint_lt(s->n, 8);
	s->status[s->n] = r->status;
	s->seq[s->n] = r->seq;
	s->note[s->n] = r->note != NULL ? xstrdup(r->note) : NULL;
	s->n++;
}

static void
seen_hook(uint64_t seq, const char *note, void *arg)
{
	struct seen	*s = arg;

	ck_assert_ptr_nonnull(note);
	if (s->hooks < 8)
		s->hook_seq[s->hooks] = seq;
	s->hooks++;
}

static void
seen_free(struct seen *s)
{
	size_t	i;

	for (i = 0; i < s->n; i++)
		free(s->note[i]);
	memset(s, 0, sizeof *s);
}

/* Submit N records {"n": i}, one transaction each (waited for). */
static void
submit_n(struct journal *j, int n)
{
	struct jrec	*rec;
	int		 i;

	for (i = 0; i < n; i++) {
		rec = jrec_create("test.rec", "acct");
		msgpack_pack_map(jrec_body(rec), 1);
		msgpack_pack_str_with_body(jrec_body(rec), "n", 1);
		msgpack_pack_int(jrec_body(rec), i);
		journal_submit(j, rec, journal_log_cb, NULL);
		journal_flush(j);
	}
}

static int
scan_entry(const struct journal_entry *e, void *arg)
{
	struct scan	*sc = arg;
	struct record	 rec;
	char		*why;

	ck_assert_uint_eq(e->seq, sc->records + 1);
	sc->leaves = xreallocarray(sc->leaves, e->seq, MERKLE_HASH_LEN);
	sc->hashes = xreallocarray(sc->hashes, e->seq, MERKLE_HASH_LEN);
	merkle_leaf_hash(e->rec, e->len, sc->leaves + sc->records *
	    MERKLE_HASH_LEN);
	memcpy(sc->hashes + sc->records * MERKLE_HASH_LEN, e->hash,
	    MERKLE_HASH_LEN);
	sc->records++;
	ck_assert_msg(record_decode(e->rec, e->len, &rec, &why) == 0, "%s",
	    why);
	if (strcmp(rec.kind, JOURNAL_CHECKPOINT_KIND) == 0) {
		struct checkpoint_info	info;

		ck_assert_ptr_null(rec.account);
		ck_assert_msg(checkpoint_decode(&rec, &info, &why) == 0, "%s",
		    why);
		ck_assert_uint_lt(sc->nckpt, 64);
		sc->ckpt_seq[sc->nckpt] = e->seq;
		sc->ckpt_size[sc->nckpt++] = info.tree_size;
		checkpoint_clear(&info);
	}
	record_clear(&rec);
	return (0);
}

/* Read the whole log of J (and its meta into M if not NULL). */
static void
scan_log(struct journal *j, struct scan *sc, struct journal_meta *m)
{
	char	*cause = NULL;

	memset(sc, 0, sizeof *sc);
	ck_assert_msg(journal_log_foreach(j, 1, m, scan_entry, sc, &cause) ==
	    0, "%s", cause);
}

static int
leaf_cb(uint64_t i, unsigned char *out, void *arg, char **cause)
{
	struct scan	*sc = arg;

	memcpy(out, sc->leaves + i * MERKLE_HASH_LEN, MERKLE_HASH_LEN);
	return (0);
}

/* The root over the first N leaves of SC into OUT. */
static void
scan_root(struct scan *sc, uint64_t n, unsigned char *out)
{
	char	*cause;

	ck_assert_int_eq(merkle_root(n, leaf_cb, sc, out, &cause), 0);
}

static void
scan_free(struct scan *sc)
{
	free(sc->leaves);
	free(sc->hashes);
	memset(sc, 0, sizeof *sc);
}

/* Remove meta's merkle_range, or replace it by a range of SIZE wrong
 * leaves (SIZE != 0), as an older journal or a damaged meta has it. */
static void
tamper_range(uint64_t size)
{
	struct merkle_range	 r;
	MDB_env			*env;
	MDB_txn			*txn;
	MDB_dbi			 meta;
	MDB_val			 k = { 12, "merkle_range" }, v;
	unsigned char		 leaf[MERKLE_HASH_LEN], buf[8 + 64 * 32];
	uint64_t		 i;

	ck_assert_int_eq(mdb_env_create(&env), 0);
	ck_assert_int_eq(mdb_env_set_maxdbs(env, 100), 0);
	ck_assert_int_eq(mdb_env_open(env, jdir, 0, 0600), 0);
	ck_assert_int_eq(mdb_txn_begin(env, NULL, 0, &txn), 0);
	ck_assert_int_eq(mdb_dbi_open(txn, "meta", 0, &meta), 0);
	if (size == 0)
		ck_assert_int_eq(mdb_del(txn, meta, &k, NULL), 0);
	else {
		merkle_range_init(&r);
		memset(leaf, 7, sizeof leaf);
		for (i = 0; i < size; i++)
			merkle_range_append(&r, leaf);
		store_be64(size, buf);
		memcpy(buf + 8, r.hash, __builtin_popcountll(size) * 32);
		v.mv_data = buf;
		v.mv_size = 8 + __builtin_popcountll(size) * 32;
		ck_assert_int_eq(mdb_put(txn, meta, &k, &v, 0), 0);
	}
	ck_assert_int_eq(mdb_txn_commit(txn), 0);
	mdb_env_close(env);
}

/* J's log holds N records and meta's range is the tree over them. */
static void
check_range_is_log(struct journal *j, uint64_t n)
{
	struct journal_meta	m;
	struct scan		sc;
	unsigned char		want[MERKLE_HASH_LEN], got[MERKLE_HASH_LEN];

	scan_log(j, &sc, &m);
	ck_assert_uint_eq(sc.records, n);
	ck_assert_int_eq(m.has_range, 1);
	ck_assert_uint_eq(m.range.size, n);
	merkle_range_root(&m.range, got);
	scan_root(&sc, n, want);
	ck_assert_mem_eq(got, want, MERKLE_HASH_LEN);
	scan_free(&sc);
}

/* Meta's range is the tree over the log, across a close and a reopen. */
START_TEST(test_checkpoint_range_resumed)
{
	struct journal		*j;
	struct journal_options	 ro;
	char			*cause = NULL;

	j = open_j(0, 0, 0);
	submit_n(j, 37);
	journal_close(j);
	/* Written by the writer itself, not computed by an open. */
	memset(&ro, 0, sizeof ro);
	ro.readonly = 1;
	j = journal_open(jdir, &ro, &cause);
	ck_assert_ptr_nonnull(j);
	check_range_is_log(j, 37);
	journal_close(j);
	j = open_j(0, 0, 0);
	submit_n(j, 28);
	check_range_is_log(j, 65);
	journal_close(j);
}
END_TEST

/*
 * Records of 300 KB and 1 MB (a large schedule.apply's size) among small
 * ones in the same transactions: each one's stored hash is the chain's
 * (journal_verify), meta's range is the tree over the log, and the rows
 * are there.
 */
START_TEST(test_checkpoint_range_large)
{
	static const size_t	 sizes[] = { 300 * 1024, 1024 * 1024 };
	struct journal		*j;
	struct journal_verify	 v;
	struct jrec		*rec;
	char			*big, *cause = NULL, key[16];
	void			*val;
	size_t			 i, vlen;

	big = xmalloc(sizes[1]);
	memset(big, 'x', sizes[1]);
	j = open_j(0, 0, 0);
	for (i = 0; i < 6; i++) {
		rec = jrec_create("test.big", "acct");
		msgpack_pack_map(jrec_body(rec), 1);
		msgpack_pack_str_with_body(jrec_body(rec), "pad", 3);
		msgpack_pack_str_with_body(jrec_body(rec), big, sizes[i % 2] -
		    (i % 3));
		snprintf(key, sizeof key, "k%zu", i);
		jrec_put(rec, "bigrows", key, strlen(key), "\x01", 1);
		journal_submit(j, rec, journal_log_cb, NULL);
		submit_n(j, 2);		/* flushed, with it */
	}
	journal_flush(j);
	check_range_is_log(j, 18);
	ck_assert_msg(journal_verify(j, &v, &cause) == 0, "%s", cause);
	ck_assert_uint_eq(v.records, 18);
	for (i = 0; i < 6; i++) {
		snprintf(key, sizeof key, "k%zu", i);
		ck_assert_int_eq(journal_table_get(j, "bigrows", key,
		    strlen(key), &val, &vlen), 0);
		ck_assert_uint_eq(vlen, 1);
		free(val);
	}
	journal_close(j);
	free(big);
}
END_TEST

/* A journal without the range, or with one of another size, gets it
 * computed from the log at open. */
START_TEST(test_checkpoint_range_resumed_bad)
{
	struct journal		*j;
	struct journal_meta	 m;
	struct scan		 sc;
	unsigned char		 want[MERKLE_HASH_LEN], got[MERKLE_HASH_LEN];
	uint64_t		 sizes[] = { 0, 5 };
	size_t			 i;

	j = open_j(0, 0, 0);
	submit_n(j, 20);
	journal_close(j);
	for (i = 0; i < 2; i++) {
		tamper_range(sizes[i]);
		j = open_j(0, 0, 0);
		submit_n(j, 1);
		scan_log(j, &sc, &m);
		ck_assert_uint_eq(m.range.size, sc.records);
		merkle_range_root(&m.range, got);
		scan_root(&sc, sc.records, want);
		ck_assert_mem_eq(got, want, MERKLE_HASH_LEN);
		scan_free(&sc);
		journal_close(j);
	}
}
END_TEST

/* Every N records a checkpoint closes its transaction; one at close;
 * never two in a row. */
START_TEST(test_checkpoint_cadence)
{
	struct journal	*j;
	struct scan	 sc;
	struct seen	 s;

	memset(&s, 0, sizeof s);
	j = open_j(10, -1, 1);
	checkpoint_set_hook(j, seen_hook, &s);
	submit_n(j, 25);
	journal_close(j);
	ck_assert_uint_eq(s.hooks, 3);
	j = open_j(10, -1, 1);
	journal_close(j);	/* nothing since: no second one */
	j = open_j(10, -1, 0);
	scan_log(j, &sc, NULL);
	ck_assert_uint_eq(sc.records, 28);
	ck_assert_uint_eq(sc.nckpt, 3);
	ck_assert_uint_eq(sc.ckpt_seq[0], 11);
	ck_assert_uint_eq(sc.ckpt_size[0], 10);
	ck_assert_uint_eq(sc.ckpt_seq[1], 22);
	ck_assert_uint_eq(sc.ckpt_size[1], 21);
	ck_assert_uint_eq(sc.ckpt_seq[2], 28);
	ck_assert_uint_eq(sc.ckpt_size[2], 27);
	ck_assert_uint_eq(s.hook_seq[0], 11);
	ck_assert_uint_eq(s.hook_seq[2], 28);
	scan_free(&sc);
	journal_close(j);
}
END_TEST

/* Without a key no checkpoint is written, and none can be asked for. */
START_TEST(test_checkpoint_cadence_bad)
{
	struct journal	*j;
	struct scan	 sc;
	char		*cause = NULL;

	j = open_j(2, 1000, 0);
	submit_n(j, 9);
	ck_assert_int_eq(checkpoint_request(j, journal_log_cb, NULL, &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "no signing key"));
	free(cause);
	journal_close(j);
	j = open_j(2, 1000, 0);
	scan_log(j, &sc, NULL);
	ck_assert_uint_eq(sc.records, 9);
	ck_assert_uint_eq(sc.nckpt, 0);
	scan_free(&sc);
	journal_close(j);
}
END_TEST

/* The last checkpoint the hook saw (0: none). */
static uint64_t
seen_last(const struct seen *s)
{
	if (s->hooks == 0)
		return (0);
	return (s->hook_seq[(s->hooks < 8 ? s->hooks : 8) - 1]);
}

/* The interval: records then silence give a checkpoint of the writer's
 * own, awaited through the hook.  (A slow machine may take longer than
 * the interval between two of the records: a checkpoint between them is
 * right too; the one that counts comes after the last.) */
START_TEST(test_checkpoint_interval)
{
	struct journal	*j;
	struct seen	 s;
	size_t		 hooks;

	memset(&s, 0, sizeof s);
	j = open_j(1000, 20000, 1);
	checkpoint_set_hook(j, seen_hook, &s);
	submit_n(j, 3);
	ck_assert_uint_ge(journal_seq(j), 3);
	while (seen_last(&s) != journal_seq(j))
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_uint_ge(journal_seq(j), 4);
	ck_assert_uint_le(s.hooks, 3);	/* at most one after each record */
	hooks = s.hooks;
	journal_close(j);
	ck_assert_uint_eq(s.hooks, hooks);	/* nothing after it */
}
END_TEST

/* A requested checkpoint is signed, names the tree and the chain head,
 * and is answered again while nothing follows it. */
START_TEST(test_checkpoint_signature)
{
	struct checkpoint_info	 info;
	struct note_verifier	*v;
	struct journal		*j;
	struct scan		 sc;
	struct seen		 s;
	unsigned char		 root[MERKLE_HASH_LEN];
	char			*cause = NULL, *vkey;

	memset(&s, 0, sizeof s);
	j = open_j(0, -1, 1);
	submit_n(j, 12);
	ck_assert_int_eq(checkpoint_request(j, seen_cb, &s, &cause), 0);
	ck_assert_int_eq(checkpoint_request(j, seen_cb, &s, &cause), 0);
	journal_flush(j);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_int_eq(s.status[0], JOURNAL_OK);
	ck_assert_uint_eq(s.seq[0], 13);
	ck_assert_uint_eq(s.seq[1], 13);
	ck_assert_str_eq(s.note[0], s.note[1]);
	ck_assert_uint_eq(journal_seq(j), 13);

	vkey = checkpoint_vkey(j);
	v = note_verifier_parse(vkey, &cause);
	ck_assert_msg(v != NULL, "%s", cause);
	ck_assert_msg(checkpoint_note(s.note[0], strlen(s.note[0]), v,
	    checkpoint_origin(j), &info, &cause) == 0, "%s", cause);
	ck_assert_uint_eq(info.tree_size, 12);
	ck_assert_int_eq(info.has_head, 1);
	scan_log(j, &sc, NULL);
	scan_root(&sc, 12, root);
	ck_assert_mem_eq(info.root, root, MERKLE_HASH_LEN);
	ck_assert_mem_eq(info.head, sc.hashes + 11 * MERKLE_HASH_LEN,
	    MERKLE_HASH_LEN);
	checkpoint_clear(&info);
	scan_free(&sc);
	note_verifier_free(v);
	free(vkey);
	seen_free(&s);
	journal_close(j);
}
END_TEST

/* A changed note, another key or another journal's note is refused. */
START_TEST(test_checkpoint_signature_bad)
{
	struct checkpoint_info	 info;
	struct note_verifier	*v, *other;
	struct note_signer	*os;
	struct journal		*j;
	struct seen		 s;
	char			*cause = NULL, *vkey, *note, *p;

	memset(&s, 0, sizeof s);
	j = open_j(0, -1, 1);
	submit_n(j, 3);
	ck_assert_int_eq(checkpoint_request(j, seen_cb, &s, &cause), 0);
	journal_flush(j);
	vkey = checkpoint_vkey(j);
	v = note_verifier_parse(vkey, &cause);
	ck_assert_ptr_nonnull(v);

	/* The size changed: the signature no longer holds. */
	note = xstrdup(s.note[0]);
	p = strchr(note, '\n') + 1;
	*p = *p == '3' ? '4' : '3';
	ck_assert_int_eq(checkpoint_note(note, strlen(note), v,
	    checkpoint_origin(j), &info, &cause), -1);
	free(cause);
	free(note);

	/* Another key of the same name. */
	os = note_signer_generate(checkpoint_origin(j), &cause);
	p = note_signer_vkey(os);
	other = note_verifier_parse(p, &cause);
	ck_assert_int_eq(checkpoint_note(s.note[0], strlen(s.note[0]), other,
	    NULL, &info, &cause), -1);
	free(cause);
	free(p);

	/* Another journal's origin. */
	ck_assert_int_eq(checkpoint_note(s.note[0], strlen(s.note[0]), v,
	    "chime.journal/00000000000000000000000000000000", &info, &cause),
	    -1);
	ck_assert_ptr_nonnull(strstr(cause, "not of this journal"));
	free(cause);

	note_signer_free(os);
	note_verifier_free(other);
	note_verifier_free(v);
	free(vkey);
	seen_free(&s);
	journal_close(j);
}
END_TEST

/* The key is made once (0600 in a 0700 directory), the verifier key
 * published 0644, and the same key is loaded again. */
START_TEST(test_checkpoint_key)
{
	struct journal	*j;
	struct stat	 sb;
	char		*a, *b, buf[256];
	FILE		*f;

	j = open_j(0, -1, 1);
	a = checkpoint_vkey(j);
	journal_close(j);
	ck_assert_int_eq(stat(keyfile, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	snprintf(buf, sizeof buf, "%s/keys", tmpdir);
	ck_assert_int_eq(stat(buf, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0700);
	ck_assert_int_eq(stat(pubfile, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0644);
	f = fopen(pubfile, "r");
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, f));
	fclose(f);
	ck_assert_int_eq(strncmp(buf, a, strlen(a)), 0);
	j = open_j(0, -1, 1);
	b = checkpoint_vkey(j);
	ck_assert_str_eq(a, b);
	journal_close(j);
	free(a);
	free(b);
}
END_TEST

/* A missing key is not made when not asked; a key others can read is
 * refused. */
START_TEST(test_checkpoint_key_bad)
{
	struct journal	*j;
	char		*cause = NULL;

	j = open_j(0, -1, 0);
	ck_assert_int_eq(checkpoint_key(j, keyfile, pubfile, 0, &cause), -1);
	ck_assert_ptr_nonnull(strstr(cause, "signing key"));
	free(cause);
	ck_assert_int_eq(checkpoint_key(j, keyfile, pubfile, 1, &cause), 0);
	ck_assert_int_eq(chmod(keyfile, 0644), 0);
	ck_assert_int_eq(checkpoint_key(j, keyfile, pubfile, 0, &cause), -1);
	free(cause);
	journal_close(j);
}
END_TEST

static Suite *
checkpoint_suite(void)
{
	Suite	*s = suite_create("checkpoint");

	lib_tcase(s, "range", setup, teardown, 30,
	    test_checkpoint_range_resumed, test_checkpoint_range_resumed_bad,
	    test_checkpoint_range_large,
	    NULL);
	lib_tcase(s, "cadence", setup, teardown, 30,
	    test_checkpoint_cadence, test_checkpoint_cadence_bad,
	    test_checkpoint_interval, NULL);
	lib_tcase(s, "signature", setup, teardown, 30,
	    test_checkpoint_signature, test_checkpoint_signature_bad,
	    test_checkpoint_key, test_checkpoint_key_bad, NULL);
	return (s);
}

int
main(void)
{
	log_open("check_checkpoint", LOG_LEVEL_WARN);
	return (lib_run(CK_NORMAL, checkpoint_suite(), NULL));
}
