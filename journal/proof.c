/*
 * journal/proof.c: chime-journal's commands about the Merkle tree and the
 * signed checkpoints (doc/chime-journal.1, doc/journal-format.md):
 *
 *   pubkey DATA                 the verifier key of the journal's signer
 *   verify DATA [--pubkey KEY [--checkpoint NOTE]]
 *                               the chain, the checkpoint records in the
 *                               log against the records, and that the
 *                               journal extends a witnessed checkpoint
 *   prove DATA SEQ [--checkpoint NOTE]
 *   prove DATA --from-size N [--to-size M]
 *                               an inclusion or a consistency proof, as a
 *                               self-contained JSON document
 *   check-proof PROOF --pubkey KEY
 *                               check such a proof without the journal
 *
 * Everything reads the journal read-only, in one snapshot per command.
 * The proofs hold every leaf hash of the tree in memory (32 bytes per
 * record) while they are computed.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "engine.h"
#include "journal.h"

#define PROOF_INCLUSION		"chime-inclusion-proof-v1"
#define PROOF_CONSISTENCY	"chime-consistency-proof-v1"
#define PROOF_MAX_FILE		(64 * 1024 * 1024)
#define PROOF_BATCH		4096	/* entries a hashing batch holds */

/*
 * verify hashes on a second thread: the walk copies the log's entries
 * into a batch, the hasher computes each entry's chain hash (from the
 * stored hash of the entry before it) and leaf hash, and the walk checks
 * the batch before (decoding, the chain, the tree) while the hasher works
 * on the next one.  Entries are checked in seq order as before: the first
 * bad seq is the same.
 */
struct proof_batch {
	size_t			 n;
	uint8_t			 prev[JOURNAL_HASH_LEN];	/* before [0] */
	struct journal_entry	 e[PROOF_BATCH];	/* rec into bytes */
	uint8_t			 stored[PROOF_BATCH][JOURNAL_HASH_LEN];
	uint8_t			 chain[PROOF_BATCH][JOURNAL_HASH_LEN];
	uint8_t			 leaf[PROOF_BATCH][MERKLE_HASH_LEN];
	uint8_t			*bytes;
	size_t			 used;
	size_t			 cap;
};

struct proof_pipe {
	pthread_t		 thread;
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;
	struct proof_batch	*todo;		/* for the hasher */
	struct proof_batch	*done;		/* hashed */
	int			 stop;
	struct proof_batch	 b[2];
	struct proof_batch	*fill;		/* being filled by the walk */
	struct proof_batch	*busy;		/* with the hasher; NULL */
	uint8_t			 last[JOURNAL_HASH_LEN]; /* stored hash of
							   the last copied */
};

/* What verify learns in its one walk. */
struct proof_verify {
	struct journal_check	 c;
	struct merkle_range	 range;
	const struct note_verifier *v;		/* NULL: no signatures */
	const char		*origin;
	uint64_t		 want;		/* witnessed tree size; 0 */
	uint8_t			 root_at[MERKLE_HASH_LEN];
	uint8_t			 head_at[JOURNAL_HASH_LEN];
	uint64_t		 checkpoints;	/* in the log, all good */
	uint64_t		 last_size;	/* the last one's tree size */
	uint64_t		 last_seq;
	const uint8_t		*leaf;		/* the entry's, from the hasher */
	struct proof_pipe	 pipe;
	uint64_t		 first;		/* the first seq checked */
	uint8_t			 first_prev[JOURNAL_HASH_LEN]; /* its
							   previous hash */
	int			 want_gone;	/* the witnessed size is in an
						   archived prefix not given */
	/* --archive files, checked in order before the log */
	char			**archives;
	size_t			 narchives;
	size_t			 archive;	/* the one being read */
	int			 archive_first;	/* no entry of it yet */
	struct archive_head	 head;		/* its header */
	char			 journal_id[33];
	char			*archive_cause;
};

/* What prove collects: every leaf, the record asked for, checkpoints. */
struct proof_walk {
	struct chain_ctx	*ctx;
	uint8_t			*leaves;
	uint64_t		 n;
	size_t			 cap;
	uint64_t		 seq;		/* the record to prove; 0 */
	void			*rec;
	size_t			 len;
	uint8_t			 hash[JOURNAL_HASH_LEN];
	uint64_t		 from_size;	/* consistency: sizes wanted */
	uint64_t		 to_size;
	struct checkpoint_info	 last;		/* the latest checkpoint */
	struct checkpoint_info	 from;		/* of from_size */
	struct checkpoint_info	 to;		/* of to_size */
	uint64_t		 bad_seq;
	char			*cause;
	char			**archives;	/* --archive files, in order */
	size_t			 narchives;
};

static char		*proof_read(const char *, size_t *);
static struct note_verifier *proof_verifier(const char *);
static char		*proof_b64(const void *, size_t);
static void		*proof_unb64(const char *, size_t *);
static int		 proof_checkpoint_decode(const struct journal_entry *,
			     const struct record *, struct checkpoint_info *,
			     char **);
static int		 proof_verify_record(struct journal_check *,
			     const struct journal_entry *,
			     const struct record *);
static int		 proof_verify_entry(const struct journal_entry *,
			     void *);
static void		*proof_hasher(void *);
static void		 proof_pipe_start(struct proof_pipe *);
static struct proof_batch *proof_pipe_wait(struct proof_pipe *);
static void		 proof_pipe_hand(struct proof_pipe *);
static int		 proof_pipe_check(struct proof_verify *,
			     struct proof_batch *);
static int		 proof_pipe_end(struct proof_verify *, int);
static void		 proof_pipe_stop(struct proof_pipe *);
static int		 proof_witness(struct proof_verify *,
			     const struct checkpoint_info *, uint64_t);
static void		 proof_keep(struct checkpoint_info *,
			     const struct checkpoint_info *);
static uint64_t		 proof_number(const char *, const char *, uint64_t);
static int		 proof_walk_entry(const struct journal_entry *, void *);
static int		 proof_leaf(uint64_t, unsigned char *, void *, char **);
static int		 proof_walk(struct journal *, struct proof_walk *);
static void		 proof_walk_free(struct proof_walk *);
static json_t		*proof_path_json(const unsigned char *, size_t);
static int		 proof_print(json_t *);
static int		 proof_inclusion(struct journal *, uint64_t,
			     const char *, char **, size_t);
static int		 proof_consistency(struct journal *, uint64_t,
			     uint64_t, char **, size_t);
static int		 proof_check_inclusion(json_t *,
			     const struct note_verifier *);
static int		 proof_check_consistency(json_t *,
			     const struct note_verifier *);
static int		 proof_hashes(json_t *, const char *, unsigned char *,
			     size_t *, char **);
static int		 proof_fail(const char *, ...) printflike(1, 2);

/* The whole file PATH, NUL-terminated (allocated), or exit 1. */
static char *
proof_read(const char *path, size_t *len)
{
	FILE	*f;
	char	*buf;
	size_t	 n = 0, cap = 4096;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "chime-journal: %s: %s\n", path,
		    strerror(errno));
		exit(1);
	}
	buf = xmalloc(cap);
	for (;;) {
		n += fread(buf + n, 1, cap - n - 1, f);
		if (ferror(f) || n > PROOF_MAX_FILE) {
			fprintf(stderr, "chime-journal: %s: %s\n", path,
			    ferror(f) ? strerror(errno) : "too large");
			exit(1);
		}
		if (feof(f))
			break;
		if (n == cap - 1) {
			buf = xreallocarray(buf, 2, cap);
			cap *= 2;
		}
	}
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return (buf);
}

/* The verifier of the vkey in the first line of PATH, or exit 1. */
static struct note_verifier *
proof_verifier(const char *path)
{
	struct note_verifier	*v;
	char			*text, *cause;

	text = proof_read(path, NULL);
	text[strcspn(text, "\r\n")] = '\0';
	if ((v = note_verifier_parse(text, &cause)) == NULL) {
		fprintf(stderr, "chime-journal: %s: not a verifier key: %s\n",
		    path, cause);
		exit(1);
	}
	free(text);
	return (v);
}

static char *
proof_b64(const void *data, size_t len)
{
	char	*out;

	out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return (out);
}

/* Standard base64 with padding: allocated bytes and *LEN, or NULL. */
static void *
proof_unb64(const char *s, size_t *len)
{
	unsigned char	*out;
	size_t		 n = strlen(s);
	int		 got;

	if (n % 4 != 0 || n > PROOF_MAX_FILE)
		return (NULL);
	out = xmalloc(n / 4 * 3 + 1);
	if ((got = EVP_DecodeBlock(out, (const unsigned char *)s,
	    (int)n)) < 0) {
		free(out);
		return (NULL);
	}
	if (n > 0 && s[n - 1] == '=')
		got--;
	if (n > 1 && s[n - 2] == '=')
		got--;
	*len = (size_t)got;
	return (out);
}

static int
proof_fail(const char *fmt, ...)
{
	va_list	ap;

	printf("bad: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return (1);
}

/* "bad: WHAT: CAUSE", freeing CAUSE: 1. */
static int
proof_fail_cause(const char *what, char *cause)
{
	proof_fail("%s: %s", what, cause != NULL ? cause : "unknown");
	free(cause);
	return (1);
}

int
proof_cmd_pubkey(int argc, char **argv)
{
	struct note_signer	*s;
	struct journal_meta	 m;
	struct journal		*j;
	const char		*data;
	char			*pub, *key, *text, *cause, origin[64];

	data = jcli_data(argc - 1, argv + 1);
	pub = jcli_path(data, "journal.pub");
	if (access(pub, F_OK) == 0) {
		text = proof_read(pub, NULL);
		text[strcspn(text, "\r\n")] = '\0';
		printf("%s\n", text);
		free(text);
		free(pub);
		return (0);
	}
	/* No published key: the signing key's, named by the journal. */
	key = jcli_path(data, "journal.key");
	j = jcli_open(data);
	if (journal_meta(j, &m, &cause) != 0) {
		fprintf(stderr, "chime-journal: %s\n", cause);
		return (1);
	}
	snprintf(origin, sizeof origin, "%s%.32s", CHECKPOINT_ORIGIN_PREFIX,
	    m.journal_id);
	journal_close(j);
	if ((s = note_signer_load(key, origin, &cause)) == NULL) {
		fprintf(stderr, "chime-journal: no %s, and %s: %s\n", pub, key,
		    cause);
		return (1);
	}
	text = note_signer_vkey(s);
	printf("%s\n", text);
	free(text);
	note_signer_free(s);
	free(pub);
	free(key);
	return (0);
}

/* The checkpoint record REC of E (its body decoded here if the check left
 * it nil) into *INFO: 0, or -1 and *cause. */
static int
proof_checkpoint_decode(const struct journal_entry *e,
    const struct record *rec, struct checkpoint_info *info, char **cause)
{
	struct record	full;
	int		rc;

	if (rec->body.type == MSGPACK_OBJECT_MAP)
		return (checkpoint_decode(rec, info, cause));
	if (record_decode(e->rec, e->len, &full, cause) != 0)
		return (-1);	/* the check decoded it: cannot happen */
	rc = checkpoint_decode(&full, info, cause);
	record_clear(&full);
	return (rc);
}

/*
 * A checkpoint record met in the walk: its tree size is the seq before
 * it, its root the tree's so far, its head_hash the previous record's
 * hash, and (with a key) its note is signed and says the same.
 */
static int
proof_verify_record(struct journal_check *c, const struct journal_entry *e,
    const struct record *rec)
{
	struct proof_verify	*pv = c->arg;
	struct checkpoint_info	 info, note;
	uint8_t			 root[MERKLE_HASH_LEN], leaf[MERKLE_HASH_LEN];
	char			*why = NULL, a[65], b[65];

	if (strcmp(rec->kind, JOURNAL_CHECKPOINT_KIND) == 0 &&
	    rec->account == NULL) {
		if (proof_checkpoint_decode(e, rec, &info, &why) != 0)
			goto bad;
		merkle_range_root(&pv->range, root);
		if (info.tree_size != pv->range.size)
			xasprintf(&why, "checkpoint of tree size %" PRIu64
			    " at seq %" PRIu64, info.tree_size, e->seq);
		else if (memcmp(root, info.root, MERKLE_HASH_LEN) != 0) {
			chain_hex(info.root, a);
			chain_hex(root, b);
			xasprintf(&why, "checkpoint root %s, but the first "
			    "%" PRIu64 " records hash to %s: a record in seq "
			    "%" PRIu64 "..%" PRIu64 " was changed", a,
			    info.tree_size, b, pv->last_size + 1,
			    info.tree_size);
		} else if (memcmp(c->prev, info.head, JOURNAL_HASH_LEN) != 0)
			xasprintf(&why, "checkpoint head_hash is not seq "
			    "%" PRIu64 "'s hash", info.tree_size);
		else if (pv->v != NULL && checkpoint_note(info.note,
		    strlen(info.note), pv->v, pv->origin, &note, &why) == 0) {
			if (note.tree_size != info.tree_size ||
			    memcmp(note.root, info.root, MERKLE_HASH_LEN) != 0)
				why = xstrdup("checkpoint note and body "
				    "disagree");
			checkpoint_clear(&note);
		} else if (pv->v != NULL && why != NULL) {
			char	*w = why;

			xasprintf(&why, "checkpoint note: %s", w);
			free(w);
		}
		checkpoint_clear(&info);
		if (why != NULL)
			goto bad;
		pv->checkpoints++;
		pv->last_size = pv->range.size;
		pv->last_seq = e->seq;
	}
	if (pv->leaf != NULL)
		memcpy(leaf, pv->leaf, MERKLE_HASH_LEN);
	else
		chain_ctx_leaf(c->ctx, e->rec, e->len, NULL, 0, leaf);
	merkle_range_append(&pv->range, leaf);
	if (pv->range.size == pv->want) {
		merkle_range_root(&pv->range, pv->root_at);
		memcpy(pv->head_at, e->hash, JOURNAL_HASH_LEN);
	}
	return (0);
bad:
	c->bad_seq = e->seq;
	free(c->cause);
	c->cause = why;
	return (-1);
}

/* The hasher thread: each batch handed to it, until told to stop. */
static void *
proof_hasher(void *arg)
{
	struct proof_pipe	*pp = arg;
	struct proof_batch	*b;
	struct chain_ctx	*ctx = chain_ctx_create();
	const uint8_t		*prev;
	size_t			 i;

	for (;;) {
		pthread_mutex_lock(&pp->mtx);
		while (pp->todo == NULL && !pp->stop)
			pthread_cond_wait(&pp->cond, &pp->mtx);
		b = pp->todo;
		pp->todo = NULL;
		pthread_mutex_unlock(&pp->mtx);
		if (b == NULL)
			break;
		for (i = 0, prev = b->prev; i < b->n; i++) {
			if (b->e[i].hash == NULL)
				continue;	/* the check says why */
			chain_ctx_begin(ctx, prev);
			chain_ctx_update(ctx, b->e[i].rec, b->e[i].len);
			chain_ctx_end(ctx, b->chain[i]);
			chain_ctx_leaf(ctx, b->e[i].rec, b->e[i].len, NULL, 0,
			    b->leaf[i]);
			prev = b->stored[i];
		}
		pthread_mutex_lock(&pp->mtx);
		pp->done = b;
		pthread_cond_broadcast(&pp->cond);
		pthread_mutex_unlock(&pp->mtx);
	}
	chain_ctx_free(ctx);
	return (NULL);
}

static void
proof_pipe_start(struct proof_pipe *pp)
{
	pthread_mutex_init(&pp->mtx, NULL);
	pthread_cond_init(&pp->cond, NULL);
	pp->fill = &pp->b[0];
	chain_genesis(pp->last);
	memcpy(pp->fill->prev, pp->last, JOURNAL_HASH_LEN);
	if (pthread_create(&pp->thread, NULL, proof_hasher, pp) != 0)
		fatalx("cannot start the hashing thread");
}

/* Wait until the batch with the hasher is hashed; it, or NULL if none. */
static struct proof_batch *
proof_pipe_wait(struct proof_pipe *pp)
{
	struct proof_batch	*b = pp->busy;

	if (b == NULL)
		return (NULL);
	pthread_mutex_lock(&pp->mtx);
	while (pp->done != b)
		pthread_cond_wait(&pp->cond, &pp->mtx);
	pp->done = NULL;
	pthread_mutex_unlock(&pp->mtx);
	pp->busy = NULL;
	return (b);
}

/* Hand the batch being filled to the hasher (none may be with it). */
static void
proof_pipe_hand(struct proof_pipe *pp)
{
	pthread_mutex_lock(&pp->mtx);
	pp->todo = pp->fill;
	pthread_cond_broadcast(&pp->cond);
	pthread_mutex_unlock(&pp->mtx);
	pp->busy = pp->fill;
	pp->fill = pp->fill == &pp->b[0] ? &pp->b[1] : &pp->b[0];
}

/* Check a hashed batch's entries in order: 0, or -1 at the first bad. */
static int
proof_pipe_check(struct proof_verify *pv, struct proof_batch *b)
{
	size_t	i;
	int	rc = 0;

	for (i = 0; i < b->n && rc == 0; i++) {
		pv->c.computed = b->e[i].hash != NULL ? b->chain[i] : NULL;
		pv->leaf = b->leaf[i];
		rc = journal_check_entry(&pv->c, &b->e[i]);
	}
	pv->c.computed = pv->leaf = NULL;
	b->n = 0;
	b->used = 0;
	return (rc);
}

/*
 * One entry of the walk: copied into the batch being filled; a full one
 * goes to the hasher once the one before is back, which is checked
 * meanwhile.  Returns non-zero to stop the walk at a bad entry.
 */
static int
proof_verify_entry(const struct journal_entry *e, void *arg)
{
	struct proof_verify	*pv = arg;
	struct proof_pipe	*pp = &pv->pipe;
	struct proof_batch	*b = pp->fill;
	struct journal_entry	*c = &b->e[b->n];

	if (b->used + e->len > b->cap) {
		b->cap = b->cap * 2 > b->used + e->len ? b->cap * 2 :
		    b->used + e->len + 65536;
		b->bytes = xreallocarray(b->bytes, 1, b->cap);
	}
	*c = *e;
	if (e->hash != NULL) {
		memcpy(b->stored[b->n], e->hash, JOURNAL_HASH_LEN);
		memcpy(b->bytes + b->used, e->rec, e->len);
		c->hash = b->stored[b->n];
		c->rec = (void *)(uintptr_t)b->used;	/* an offset for now */
		b->used += e->len;
		memcpy(pp->last, e->hash, JOURNAL_HASH_LEN);
	}
	if (++b->n < PROOF_BATCH)
		return (0);
	return (proof_pipe_end(pv, 0) != 0);
}

/*
 * The batch being filled is complete (LAST: and the walk is over): its
 * offsets become pointers, it goes to the hasher, and the batch that was
 * there is checked; at the end, this one too.  0, or -1 at a bad entry.
 */
static int
proof_pipe_end(struct proof_verify *pv, int last)
{
	struct proof_pipe	*pp = &pv->pipe;
	struct proof_batch	*b = pp->fill, *h;
	size_t			 i;
	int			 rc = 0;

	for (i = 0; i < b->n; i++) {
		if (b->e[i].hash != NULL)
			b->e[i].rec = b->bytes + (uintptr_t)b->e[i].rec;
	}
	h = proof_pipe_wait(pp);
	proof_pipe_hand(pp);		/* pp->fill is now H */
	if (h != NULL)
		rc = proof_pipe_check(pv, h);
	memcpy(pp->fill->prev, pp->last, JOURNAL_HASH_LEN);
	if (last && rc == 0 && (h = proof_pipe_wait(pp)) != NULL)
		rc = proof_pipe_check(pv, h);
	return (rc);
}

/* Wait for the hasher's batch, stop the thread, free the batches. */
static void
proof_pipe_stop(struct proof_pipe *pp)
{
	proof_pipe_wait(pp);
	pthread_mutex_lock(&pp->mtx);
	pp->stop = 1;
	pthread_cond_broadcast(&pp->cond);
	pthread_mutex_unlock(&pp->mtx);
	pthread_join(pp->thread, NULL);
	pthread_mutex_destroy(&pp->mtx);
	pthread_cond_destroy(&pp->cond);
	free(pp->b[0].bytes);
	free(pp->b[1].bytes);
}

/* Does the journal walked (LAST records) extend the witnessed W? */
static int
proof_witness(struct proof_verify *pv, const struct checkpoint_info *w,
    uint64_t last)
{
	char	a[65], b[65];

	if (last < w->tree_size)
		return (proof_fail("journal ends at seq %" PRIu64 ", "
		    "checkpoint covers %" PRIu64 ": records %" PRIu64 "..%"
		    PRIu64 " are gone (a cut tail, a rolled-back meta or an "
		    "older data.mdb)", last, w->tree_size, last + 1,
		    w->tree_size));
	if (w->tree_size > 0 &&
	    memcmp(pv->root_at, w->root, MERKLE_HASH_LEN) != 0) {
		chain_hex(w->root, a);
		chain_hex(pv->root_at, b);
		return (proof_fail("the first %" PRIu64 " records hash to "
		    "root %s, the checkpoint says %s: a record in seq 1..%"
		    PRIu64 " was changed since it was signed, or this is "
		    "another copy of the journal", w->tree_size, b, a,
		    w->tree_size));
	}
	if (w->tree_size > 0 && w->has_head &&
	    memcmp(pv->head_at, w->head, JOURNAL_HASH_LEN) != 0) {
		chain_hex(w->head, a);
		chain_hex(pv->head_at, b);
		return (proof_fail("seq %" PRIu64 "'s hash is %s, the "
		    "checkpoint says %s", w->tree_size, b, a));
	}
	chain_hex(w->root, a);
	printf("ok: extends the checkpoint of %s at tree size %" PRIu64
	    " (root %s)\n", w->origin, w->tree_size, a);
	return (0);
}

/*
 * Start the check after SEQ whose chain hash is HASH and whose compact
 * range is RANGE (an archive's or the journal's anchor), before any
 * entry.  A witnessed size before it cannot be checked without the
 * archive; at it, its root is the range's.
 */
static void
proof_verify_from(struct proof_verify *pv, uint64_t seq, const uint8_t *hash,
    const struct merkle_range *range)
{
	pv->c.expect = seq + 1;
	memcpy(pv->c.prev, hash, JOURNAL_HASH_LEN);
	memcpy(&pv->range, range, sizeof pv->range);
	memcpy(pv->pipe.last, hash, JOURNAL_HASH_LEN);
	memcpy(pv->pipe.fill->prev, hash, JOURNAL_HASH_LEN);
	pv->first = seq + 1;
	memcpy(pv->first_prev, hash, JOURNAL_HASH_LEN);
	if (pv->want > 0 && pv->want == seq) {
		merkle_range_root(range, pv->root_at);
		memcpy(pv->head_at, hash, JOURNAL_HASH_LEN);
	} else if (pv->want > 0 && pv->want < seq)
		pv->want_gone = 1;
}

/* Does the check stand where SEQ, HASH and RANGE say (after the last
 * archive: at the journal's anchor)?  Flushes the pipe first.  0, or -1
 * and *cause. */
static int
proof_verify_at(struct proof_verify *pv, uint64_t seq, const uint8_t *hash,
    const struct merkle_range *range, const char *what, char **cause)
{
	size_t	n = (size_t)__builtin_popcountll(range->size);

	if (proof_pipe_end(pv, 1) != 0)
		return (-1);	/* pv->c says why */
	if (pv->c.expect - 1 != seq)
		xasprintf(cause, "%s seq %" PRIu64 ", the archives before it "
		    "end at seq %" PRIu64, what, seq, pv->c.expect - 1);
	else if (memcmp(pv->c.prev, hash, JOURNAL_HASH_LEN) != 0)
		xasprintf(cause, "%s seq %" PRIu64 " with another hash than "
		    "the archives' record", what, seq);
	else if (pv->range.size != range->size ||
	    memcmp(pv->range.hash, range->hash, n * MERKLE_HASH_LEN) != 0)
		xasprintf(cause, "%s seq %" PRIu64 " with another Merkle "
		    "range than the archives' records", what, seq);
	else
		return (0);
	return (-1);
}

/* One entry of an archive: the first one places the archive (the first
 * archive starts the check at its anchor, a later one must begin where
 * the one before ended), then the entry goes the log's way. */
static int
proof_archive_entry(const struct journal_entry *e, void *arg)
{
	struct proof_verify	*pv = arg;
	const struct archive_head *h = &pv->head;

	if (pv->archive_first) {
		pv->archive_first = 0;
		if (strcmp(h->journal_id, pv->journal_id) != 0) {
			xasprintf(&pv->archive_cause, "an archive of journal "
			    "%s, not of this one (%s)", h->journal_id,
			    pv->journal_id);
			return (1);
		}
		if (pv->archive == 0)
			proof_verify_from(pv, h->anchor_seq, h->anchor_hash,
			    &h->anchor_range);
		else if (proof_verify_at(pv, h->anchor_seq, h->anchor_hash,
		    &h->anchor_range, "it begins after",
		    &pv->archive_cause) != 0)
			return (1);
	}
	return (proof_verify_entry(e, pv));
}

/* Check the --archive files, in order: 0, or -1 (said). */
static int
proof_verify_archives(struct proof_verify *pv)
{
	struct archive_tail	 t;
	char			*cause = NULL;

	for (pv->archive = 0; pv->archive < pv->narchives; pv->archive++) {
		pv->archive_first = 1;
		if (archive_read(pv->archives[pv->archive], &pv->head,
		    proof_archive_entry, pv, &t, &cause) == -1) {
			printf("bad: archive %s\n", cause);
			free(cause);
			return (-1);
		}
		if (pv->archive_cause == NULL && pv->c.cause == NULL &&
		    pv->archive_first)
			xasprintf(&pv->archive_cause, "no records");
		if (pv->archive_cause == NULL && pv->c.cause == NULL)
			proof_pipe_end(pv, 1);
		if (pv->c.cause != NULL)
			printf("bad: archive %s: seq %" PRIu64 ": %s\n",
			    pv->archives[pv->archive], pv->c.bad_seq,
			    pv->c.cause);
		else if (pv->archive_cause != NULL)
			printf("bad: archive %s: %s\n",
			    pv->archives[pv->archive], pv->archive_cause);
		else {
			printf("ok: archive %s: seq %" PRIu64 "..%" PRIu64
			    " (%" PRIu64 " records)\n",
			    pv->archives[pv->archive], pv->head.anchor_seq + 1,
			    t.last_seq, t.records);
			continue;
		}
		return (-1);
	}
	return (0);
}

/* Where the log's walk starts: after the archives, at the journal's
 * anchor M (which they must end at), or from genesis.  0, or -1 (said). */
static int
proof_verify_anchor(struct proof_verify *pv, const struct journal_meta *m)
{
	uint8_t	 genesis[JOURNAL_HASH_LEN];
	char	*cause = NULL;

	if (pv->narchives == 0) {
		if (m->anchor_seq > 0)
			proof_verify_from(pv, m->anchor_seq, m->anchor_hash,
			    &m->anchor_range);
		return (0);
	}
	if (proof_verify_archives(pv) != 0)
		return (-1);
	if (m->anchor_seq == 0) {
		chain_genesis(genesis);
		if (proof_verify_at(pv, 0, genesis, &m->anchor_range, "",
		    &cause) == 0)
			return (0);
		free(cause);
		printf("bad: the journal was not pruned after the archives "
		    "(its log begins at seq 1)\n");
		return (-1);
	}
	if (proof_verify_at(pv, m->anchor_seq, m->anchor_hash,
	    &m->anchor_range, "the journal's log begins after", &cause) == 0)
		return (0);
	printf("bad: %s\n", cause != NULL ? cause : pv->c.cause);
	free(cause);
	return (-1);
}

int
proof_cmd_verify(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "pubkey", required_argument, NULL, 'k' },
		{ "checkpoint", required_argument, NULL, 'c' },
		{ "archive", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	struct proof_verify		 pv;
	struct checkpoint_info		 w;
	struct note_verifier		*v = NULL;
	struct journal_meta		 m, m0;
	struct journal			*j;
	const char			*keyfile = NULL, *notefile = NULL;
	char				*note, *cause, hex[65];
	size_t				 len;
	int				 ch, rc;

	optind = 1;
	memset(&pv, 0, sizeof pv);
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			keyfile = optarg;
			break;
		case 'c':
			notefile = optarg;
			break;
		case 'a':
			pv.archives = xreallocarray(pv.archives,
			    pv.narchives + 1, sizeof *pv.archives);
			pv.archives[pv.narchives++] = optarg;
			break;
		default:
			jcli_usage();
		}
	}
	if (notefile != NULL && keyfile == NULL) {
		fprintf(stderr, "chime-journal: --checkpoint needs --pubkey\n");
		jcli_usage();
	}
	j = jcli_open(jcli_data(argc - optind, argv + optind));
	memset(&w, 0, sizeof w);
	if (journal_meta(j, &m0, &cause) != 0) {
		fprintf(stderr, "chime-journal: %s\n", cause);
		exit(1);
	}
	memcpy(pv.journal_id, m0.journal_id, sizeof pv.journal_id);
	journal_check_init(&pv.c);
	pv.c.record_cb = proof_verify_record;
	pv.c.arg = &pv;
	merkle_range_init(&pv.range);
	pv.origin = checkpoint_origin(j);
	if (keyfile != NULL)
		pv.v = v = proof_verifier(keyfile);
	if (notefile != NULL) {
		note = proof_read(notefile, &len);
		rc = checkpoint_note(note, len, v, pv.origin, &w, &cause);
		free(note);
		if (rc != 0) {
			printf("bad: checkpoint %s: %s\n", notefile, cause);
			free(cause);
			note_verifier_free(v);
			journal_close(j);
			free(pv.archives);
			return (1);
		}
		pv.want = w.tree_size;
	}
	proof_pipe_start(&pv.pipe);
	pv.first = 1;
	if (proof_verify_anchor(&pv, &m0) != 0) {
		proof_pipe_stop(&pv.pipe);
		rc = 1;
		goto out;
	}
	if (journal_log_foreach(j, m0.anchor_seq + 1, &m, proof_verify_entry,
	    &pv, &cause) != 0) {
		fprintf(stderr, "chime-journal: %s\n", cause);
		exit(1);
	}
	if (pv.c.cause == NULL)
		proof_pipe_end(&pv, 1);
	proof_pipe_stop(&pv.pipe);
	if (m.anchor_seq != m0.anchor_seq) {
		printf("bad: the journal was archived while it was verified "
		    "(its log now begins at seq %" PRIu64 "): verify again\n",
		    m.anchor_seq + 1);
		rc = 1;
		goto out;
	}
	rc = pv.c.cause != NULL ? -1 : journal_check_meta(&pv.c, &m);
	if (rc != 0)
		printf("bad: seq %" PRIu64 ": %s\n", pv.c.bad_seq,
		    pv.c.cause);
	else {
		chain_hex(pv.c.prev, hex);
		if (pv.c.records == 0)
			printf("ok: 0 records, head %s\n", hex);
		else
			printf("ok: %" PRIu64 " records, seq %" PRIu64 "..%"
			    PRIu64 ", head %s\n", pv.c.records, pv.first,
			    pv.c.expect - 1, hex);
		if (pv.first > 1) {
			chain_hex(pv.first_prev, hex);
			printf("ok: seq 1..%" PRIu64 " archived: the log "
			    "chains on from the anchor, hash %s (verify "
			    "--archive FILE checks the archived records)\n",
			    pv.first - 1, hex);
		}
		if (notefile != NULL && pv.want_gone)
			rc = proof_fail("the checkpoint of tree size %" PRIu64
			    " covers archived records only: give their "
			    "archives (--archive FILE)", w.tree_size);
		else if (notefile != NULL)
			rc = proof_witness(&pv, &w, pv.c.expect - 1);
	}
	if (rc == 0 && keyfile != NULL)
		printf("ok: %" PRIu64 " checkpoint records signed by %s%s\n",
		    pv.checkpoints, note_verifier_name(v),
		    pv.checkpoints > 0 ? "" : " (none yet)");
out:
	journal_check_clear(&pv.c);
	checkpoint_clear(&w);
	note_verifier_free(v);
	journal_close(j);
	free(pv.archives);
	free(pv.archive_cause);
	return (rc == 0 ? 0 : 1);
}

/* DST becomes a copy of SRC. */
static void
proof_keep(struct checkpoint_info *dst, const struct checkpoint_info *src)
{
	checkpoint_clear(dst);
	*dst = *src;
	dst->note = xstrdup(src->note);
	dst->origin = NULL;
}

/* One entry of prove's walk: its leaf, the record, the checkpoints. */
static int
proof_walk_entry(const struct journal_entry *e, void *arg)
{
	struct proof_walk	*pw = arg;
	struct checkpoint_info	 info;
	struct record		 rec;
	char			*why;

	if (e->seq != pw->n + 1 || e->hash == NULL) {
		pw->bad_seq = pw->n + 1;
		xasprintf(&pw->cause, "%s", e->hash == NULL ? "value shorter "
		    "than a hash" : "missing");
		return (1);
	}
	if (pw->n == pw->cap) {
		pw->cap = pw->cap == 0 ? 65536 : pw->cap * 2;
		pw->leaves = xreallocarray(pw->leaves, pw->cap,
		    MERKLE_HASH_LEN);
	}
	chain_ctx_leaf(pw->ctx, e->rec, e->len, NULL, 0,
	    pw->leaves + pw->n * MERKLE_HASH_LEN);
	pw->n++;
	if (e->seq == pw->seq) {
		pw->rec = xmalloc(e->len);
		memcpy(pw->rec, e->rec, e->len);
		pw->len = e->len;
		memcpy(pw->hash, e->hash, JOURNAL_HASH_LEN);
	}
	if (record_decode(e->rec, e->len, &rec, &why) != 0) {
		pw->bad_seq = e->seq;
		pw->cause = why;
		return (1);
	}
	if (strcmp(rec.kind, JOURNAL_CHECKPOINT_KIND) == 0 &&
	    rec.account == NULL && checkpoint_decode(&rec, &info, &why) == 0) {
		if (info.tree_size == pw->from_size)
			proof_keep(&pw->from, &info);
		if (pw->to_size != 0 && info.tree_size == pw->to_size)
			proof_keep(&pw->to, &info);
		checkpoint_clear(&pw->last);
		pw->last = info;
	} else if (strcmp(rec.kind, JOURNAL_CHECKPOINT_KIND) == 0)
		free(why);
	record_clear(&rec);
	return (0);
}

static int
proof_leaf(uint64_t i, unsigned char *out, void *arg, char **cause)
{
	struct proof_walk	*pw = arg;

	if (i >= pw->n) {
		xasprintf(cause, "leaf %" PRIu64 " is past the log", i);
		return (-1);
	}
	memcpy(out, pw->leaves + i * MERKLE_HASH_LEN, MERKLE_HASH_LEN);
	return (0);
}

/* Walk PW's archives, then the whole log of J, into PW: 0, or 1 (said on
 * stderr).  The leaves must begin at seq 1: an archived prefix must be
 * given, in order. */
static int
proof_walk(struct journal *j, struct proof_walk *pw)
{
	struct journal_meta	 m;
	struct archive_head	 h;
	struct archive_tail	 t;
	size_t			 i;
	char			*cause;

	pw->ctx = chain_ctx_create();
	for (i = 0; i < pw->narchives && pw->cause == NULL; i++) {
		if (archive_read(pw->archives[i], &h, proof_walk_entry, pw, &t,
		    &cause) == -1) {
			fprintf(stderr, "chime-journal: %s\n", cause);
			free(cause);
			return (1);
		}
		if (pw->cause == NULL && h.anchor_seq != pw->n - t.records) {
			fprintf(stderr, "chime-journal: %s begins after seq %"
			    PRIu64 ", %s\n", pw->archives[i], h.anchor_seq,
			    i == 0 ? "not at seq 1: give every archive from "
			    "the first" : "not where the archive before ends");
			return (1);
		}
	}
	if (pw->cause == NULL && journal_meta(j, &m, &cause) != 0) {
		fprintf(stderr, "chime-journal: %s\n", cause);
		free(cause);
		return (1);
	}
	if (pw->cause == NULL && m.anchor_seq != pw->n) {
		fprintf(stderr, "chime-journal: the journal's records 1..%"
		    PRIu64 " are archived and the archives given end at seq %"
		    PRIu64 ": a proof needs every record from seq 1 (give the "
		    "archives in order, --archive FILE...)\n", m.anchor_seq,
		    pw->n);
		return (1);
	}
	if (pw->cause == NULL && journal_log_foreach(j, pw->n + 1, NULL,
	    proof_walk_entry, pw, &cause) != 0) {
		fprintf(stderr, "chime-journal: %s\n", cause);
		free(cause);
		return (1);
	}
	if (pw->cause != NULL) {
		fprintf(stderr, "chime-journal: seq %" PRIu64 ": %s\n",
		    pw->bad_seq, pw->cause);
		return (1);
	}
	return (0);
}

static void
proof_walk_free(struct proof_walk *pw)
{
	chain_ctx_free(pw->ctx);
	free(pw->leaves);
	free(pw->rec);
	free(pw->cause);
	checkpoint_clear(&pw->last);
	checkpoint_clear(&pw->from);
	checkpoint_clear(&pw->to);
}

/* A JSON array of the COUNT hashes of PROOF, in base64. */
static json_t *
proof_path_json(const unsigned char *proof, size_t count)
{
	json_t	*a = json_array();
	char	*s;
	size_t	 i;

	for (i = 0; i < count; i++) {
		s = proof_b64(proof + i * MERKLE_HASH_LEN, MERKLE_HASH_LEN);
		json_array_append_new(a, json_string(s));
		free(s);
	}
	return (a);
}

/* Print OBJ (consumed) on stdout: 0, or 1. */
static int
proof_print(json_t *obj)
{
	char	*text;

	text = json_dumps(obj, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(obj);
	if (text == NULL)
		fatalx("out of memory");
	puts(text);
	free(text);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "chime-journal: stdout: %s\n",
		    strerror(errno));
		return (1);
	}
	return (0);
}

static int
proof_inclusion(struct journal *j, uint64_t seq, const char *notefile,
    char **archives, size_t narchives)
{
	struct proof_walk	 pw;
	struct checkpoint_info	 given, *ck;
	unsigned char		 proof[MERKLE_PROOF_MAX * MERKLE_HASH_LEN];
	unsigned char		 root[MERKLE_HASH_LEN];
	json_t			*obj;
	size_t			 count, len;
	char			*cause, *s, hex[65], *note;
	int			 rc = 1;

	memset(&pw, 0, sizeof pw);
	memset(&given, 0, sizeof given);
	pw.seq = seq;
	pw.archives = archives;
	pw.narchives = narchives;
	if (notefile != NULL) {
		note = proof_read(notefile, &len);
		if (checkpoint_note(note, len, NULL, checkpoint_origin(j),
		    &given, &cause) != 0) {
			fprintf(stderr, "chime-journal: %s: %s\n", notefile,
			    cause);
			exit(1);
		}
		free(note);
	}
	if (proof_walk(j, &pw) != 0)
		goto out;
	ck = notefile != NULL ? &given : &pw.last;
	if (ck->note == NULL) {
		fprintf(stderr, "chime-journal: no checkpoint record in the "
		    "journal yet (chimectl journal checkpoint makes one)\n");
		goto out;
	}
	if (ck->tree_size > pw.n) {
		fprintf(stderr, "chime-journal: journal ends at seq %" PRIu64
		    ", checkpoint covers %" PRIu64 "\n", pw.n, ck->tree_size);
		goto out;
	}
	if (seq == 0 || seq > ck->tree_size) {
		fprintf(stderr, "chime-journal: seq %" PRIu64 " is not in the "
		    "checkpoint of tree size %" PRIu64 "%s\n", seq,
		    ck->tree_size, seq > ck->tree_size ? " (chimectl journal "
		    "checkpoint makes a newer one)" : "");
		goto out;
	}
	if (merkle_root(ck->tree_size, proof_leaf, &pw, root, &cause) != 0 ||
	    memcmp(root, ck->root, MERKLE_HASH_LEN) != 0) {
		fprintf(stderr, "chime-journal: the first %" PRIu64 " records "
		    "do not hash to the checkpoint's root: the journal does "
		    "not extend it (chime-journal verify --checkpoint says "
		    "more)\n", ck->tree_size);
		goto out;
	}
	if (merkle_inclusion_proof(seq - 1, ck->tree_size, proof_leaf, &pw,
	    proof, &count, &cause) != 0) {
		fprintf(stderr, "chime-journal: %s\n", cause);
		free(cause);
		goto out;
	}
	obj = json_object();
	json_object_set_new(obj, "format", json_string(PROOF_INCLUSION));
	json_object_set_new(obj, "origin", json_string(checkpoint_origin(j)));
	json_object_set_new(obj, "seq", json_integer((json_int_t)seq));
	json_object_set_new(obj, "tree_size",
	    json_integer((json_int_t)ck->tree_size));
	s = proof_b64(pw.rec, pw.len);
	json_object_set_new(obj, "record", json_string(s));
	free(s);
	chain_hex(pw.hash, hex);
	json_object_set_new(obj, "hash", json_string(hex));
	json_object_set_new(obj, "path", proof_path_json(proof, count));
	json_object_set_new(obj, "checkpoint", json_string(ck->note));
	rc = proof_print(obj);
out:
	checkpoint_clear(&given);
	proof_walk_free(&pw);
	return (rc);
}

static int
proof_consistency(struct journal *j, uint64_t from, uint64_t to,
    char **archives, size_t narchives)
{
	struct proof_walk	 pw;
	struct checkpoint_info	*t;
	unsigned char		 proof[MERKLE_PROOF_MAX * MERKLE_HASH_LEN];
	json_t			*obj;
	size_t			 count;
	char			*cause;
	int			 rc = 1;

	memset(&pw, 0, sizeof pw);
	pw.from_size = from;
	pw.to_size = to;
	pw.archives = archives;
	pw.narchives = narchives;
	if (proof_walk(j, &pw) != 0)
		goto out;
	t = to != 0 ? &pw.to : &pw.last;
	if (pw.from.note == NULL || t->note == NULL) {
		fprintf(stderr, "chime-journal: no checkpoint record of tree "
		    "size %" PRIu64 " in the journal\n", pw.from.note == NULL ?
		    from : to);
		goto out;
	}
	if (t->tree_size < from) {
		fprintf(stderr, "chime-journal: tree size %" PRIu64 " is "
		    "before %" PRIu64 "\n", t->tree_size, from);
		goto out;
	}
	if (merkle_consistency_proof(from, t->tree_size, proof_leaf, &pw,
	    proof, &count, &cause) != 0) {
		fprintf(stderr, "chime-journal: %s\n", cause);
		free(cause);
		goto out;
	}
	obj = json_object();
	json_object_set_new(obj, "format", json_string(PROOF_CONSISTENCY));
	json_object_set_new(obj, "origin", json_string(checkpoint_origin(j)));
	json_object_set_new(obj, "from_size", json_integer((json_int_t)from));
	json_object_set_new(obj, "to_size",
	    json_integer((json_int_t)t->tree_size));
	json_object_set_new(obj, "path", proof_path_json(proof, count));
	json_object_set_new(obj, "from_checkpoint",
	    json_string(pw.from.note));
	json_object_set_new(obj, "to_checkpoint", json_string(t->note));
	rc = proof_print(obj);
out:
	proof_walk_free(&pw);
	return (rc);
}

/* A decimal of at least MIN, or bad usage. */
static uint64_t
proof_number(const char *what, const char *s, uint64_t min)
{
	unsigned long long	 v;
	char			*end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v < min) {
		fprintf(stderr, "chime-journal: %s: not a number >= %llu: "
		    "%s\n", what, (unsigned long long)min, s);
		jcli_usage();
	}
	return (v);
}

int
proof_cmd_prove(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "checkpoint", required_argument, NULL, 'c' },
		{ "from-size", required_argument, NULL, 'f' },
		{ "to-size", required_argument, NULL, 't' },
		{ "archive", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	struct journal			*j;
	const char			*notefile = NULL;
	char				**archives = NULL;
	size_t				 narchives = 0;
	uint64_t			 from = 0, to = 0, seq;
	int				 ch, rc, have_from = 0;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			notefile = optarg;
			break;
		case 'f':
			from = proof_number("--from-size", optarg, 1);
			have_from = 1;
			break;
		case 't':
			to = proof_number("--to-size", optarg, 1);
			break;
		case 'a':
			archives = xreallocarray(archives, narchives + 1,
			    sizeof *archives);
			archives[narchives++] = optarg;
			break;
		default:
			jcli_usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (have_from) {
		if (notefile != NULL)
			jcli_usage();
		j = jcli_open(jcli_data(argc, argv));
		rc = proof_consistency(j, from, to, archives, narchives);
	} else {
		if (argc < 1 || argc > 2 || to != 0)
			jcli_usage();
		seq = proof_number("SEQ", argv[argc - 1], 1);
		j = jcli_open(jcli_data(argc - 1, argv));
		rc = proof_inclusion(j, seq, notefile, archives, narchives);
	}
	journal_close(j);
	free(archives);
	return (rc);
}

/* The COUNT hashes of the array under KEY of OBJ into PROOF: 0, or -1. */
static int
proof_hashes(json_t *obj, const char *key, unsigned char *proof,
    size_t *count, char **cause)
{
	json_t	*a = json_object_get(obj, key), *h;
	void	*bytes;
	size_t	 i, len;

	if (!json_is_array(a) || json_array_size(a) > MERKLE_PROOF_MAX) {
		xasprintf(cause, "%s: not an array of at most %d hashes", key,
		    MERKLE_PROOF_MAX);
		return (-1);
	}
	json_array_foreach(a, i, h) {
		if (!json_is_string(h) || (bytes = proof_unb64(
		    json_string_value(h), &len)) == NULL || len !=
		    MERKLE_HASH_LEN) {
			xasprintf(cause, "%s[%zu]: not the base64 of 32 bytes",
			    key, i);
			return (-1);
		}
		memcpy(proof + i * MERKLE_HASH_LEN, bytes, MERKLE_HASH_LEN);
		free(bytes);
	}
	*count = json_array_size(a);
	return (0);
}

static int
proof_check_inclusion(json_t *obj, const struct note_verifier *v)
{
	struct checkpoint_info	 ck;
	struct record		 rec;
	unsigned char		 proof[MERKLE_PROOF_MAX * MERKLE_HASH_LEN];
	unsigned char		 leaf[MERKLE_HASH_LEN];
	const char		*s, *note;
	json_t			*line;
	uint64_t		 seq, size;
	size_t			 count, len;
	char			*cause, *text;
	void			*bytes;
	int			 rc;

	note = json_string_value(json_object_get(obj, "checkpoint"));
	s = json_string_value(json_object_get(obj, "record"));
	if (note == NULL || s == NULL ||
	    !json_is_integer(json_object_get(obj, "seq")) ||
	    !json_is_integer(json_object_get(obj, "tree_size")))
		return (proof_fail("proof: needs seq, tree_size, record, path "
		    "and checkpoint"));
	seq = (uint64_t)json_integer_value(json_object_get(obj, "seq"));
	size = (uint64_t)json_integer_value(json_object_get(obj,
	    "tree_size"));
	if (checkpoint_note(note, strlen(note), v, NULL, &ck, &cause) != 0)
		return (proof_fail_cause("checkpoint", cause));
	if (ck.tree_size != size) {
		checkpoint_clear(&ck);
		return (proof_fail("the proof says tree size %" PRIu64 ", its "
		    "checkpoint %" PRIu64, size, ck.tree_size));
	}
	if (proof_hashes(obj, "path", proof, &count, &cause) != 0) {
		checkpoint_clear(&ck);
		return (proof_fail_cause("proof", cause));
	}
	if ((bytes = proof_unb64(s, &len)) == NULL) {
		checkpoint_clear(&ck);
		return (proof_fail("record: not base64"));
	}
	merkle_leaf_hash(bytes, len, leaf);
	cause = NULL;
	if (seq == 0 || merkle_inclusion_verify(seq - 1, size, leaf, proof,
	    count, ck.root, &cause) != 0) {
		free(bytes);
		checkpoint_clear(&ck);
		proof_fail("record seq %" PRIu64 " is not in the checkpoint "
		    "of tree size %" PRIu64 ": %s (the record or the path was "
		    "changed)", seq, size, seq == 0 ? "seq 0" : cause);
		free(cause);
		return (1);
	}
	rc = record_decode(bytes, len, &rec, &cause);
	free(bytes);
	if (rc == 0 && rec.seq != seq) {
		xasprintf(&cause, "it holds seq %" PRIu64 ", the proof says %"
		    PRIu64, rec.seq, seq);
		record_clear(&rec);
		rc = -1;
	}
	if (rc != 0) {
		checkpoint_clear(&ck);
		return (proof_fail_cause("record", cause));
	}
	printf("ok: record seq %" PRIu64 " is in %s at tree size %" PRIu64
	    ", signed by %s\n", seq, ck.origin, size, note_verifier_name(v));
	if ((line = record_to_json(&rec, NULL, &cause)) != NULL) {
		text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
		printf("%s\n", text);
		free(text);
		json_decref(line);
	} else
		free(cause);
	record_clear(&rec);
	checkpoint_clear(&ck);
	return (0);
}

static int
proof_check_consistency(json_t *obj, const struct note_verifier *v)
{
	struct checkpoint_info	 a, b;
	unsigned char		 proof[MERKLE_PROOF_MAX * MERKLE_HASH_LEN];
	const char		*na, *nb;
	size_t			 count;
	char			*cause;
	int			 rc;

	na = json_string_value(json_object_get(obj, "from_checkpoint"));
	nb = json_string_value(json_object_get(obj, "to_checkpoint"));
	if (na == NULL || nb == NULL)
		return (proof_fail("proof: needs from_checkpoint, "
		    "to_checkpoint and path"));
	if (checkpoint_note(na, strlen(na), v, NULL, &a, &cause) != 0)
		return (proof_fail_cause("from_checkpoint", cause));
	if (checkpoint_note(nb, strlen(nb), v, a.origin, &b, &cause) != 0) {
		checkpoint_clear(&a);
		return (proof_fail_cause("to_checkpoint", cause));
	}
	if (proof_hashes(obj, "path", proof, &count, &cause) != 0)
		rc = proof_fail_cause("proof", cause);
	else if (merkle_consistency_verify(a.tree_size, b.tree_size, a.root,
	    b.root, proof, count, &cause) != 0) {
		rc = proof_fail("the tree of size %" PRIu64 " does not extend "
		    "the tree of size %" PRIu64 ": %s", b.tree_size,
		    a.tree_size, cause);
		free(cause);
	} else {
		printf("ok: %s at tree size %" PRIu64 " extends tree size %"
		    PRIu64 ", both signed by %s\n", a.origin, b.tree_size,
		    a.tree_size, note_verifier_name(v));
		rc = 0;
	}
	checkpoint_clear(&a);
	checkpoint_clear(&b);
	return (rc);
}

int
proof_cmd_check(int argc, char **argv)
{
	static const struct option	 longopts[] = {
		{ "pubkey", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 }
	};
	struct note_verifier		*v;
	json_error_t			 err;
	const char			*keyfile = NULL, *format;
	json_t				*obj;
	char				*text;
	int				 ch, rc;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		if (ch != 'k')
			jcli_usage();
		keyfile = optarg;
	}
	if (keyfile == NULL || argc - optind != 1)
		jcli_usage();
	v = proof_verifier(keyfile);
	text = proof_read(argv[optind], NULL);
	if ((obj = json_loads(text, 0, &err)) == NULL) {
		free(text);
		note_verifier_free(v);
		return (proof_fail("%s: not JSON: %s (line %d)", argv[optind],
		    err.text, err.line));
	}
	free(text);
	format = json_string_value(json_object_get(obj, "format"));
	if (format != NULL && strcmp(format, PROOF_INCLUSION) == 0)
		rc = proof_check_inclusion(obj, v);
	else if (format != NULL && strcmp(format, PROOF_CONSISTENCY) == 0)
		rc = proof_check_consistency(obj, v);
	else
		rc = proof_fail("%s: not a chime proof (format %s)",
		    argv[optind], format != NULL ? format : "missing");
	json_decref(obj);
	note_verifier_free(v);
	return (rc);
}
