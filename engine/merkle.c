/*
 * engine/merkle.c: Merkle tree hashing as RFC 6962 and RFC 9162 (section
 * 2.1) define it, over SHA-256.  A leaf's hash is SHA-256(0x00 || leaf), a
 * node's SHA-256(0x01 || left || right); the tree over n > 1 leaves is the
 * node over the tree of the first k leaves and the tree of the rest, k the
 * largest power of two smaller than n; the tree over no leaves hashes to
 * SHA-256 of nothing.
 *
 * Here: the root over n leaves given by a callback, in O(n) time and
 * O(log n) memory; a compact range (struct merkle_range) that leaves are
 * appended to one at a time and whose root is read at any size in
 * O(log n); inclusion and consistency proofs (RFC 9162 2.1.3 and 2.1.4)
 * and their verification, which needs only hashes.
 *
 * A compact range over n leaves holds one hash per bit set in n: the
 * roots of the perfect subtrees that n's binary form cuts the leaves
 * into, the largest (leftmost) first.  Appending a leaf merges the
 * subtrees it completes, as adding one carries; the root folds them from
 * the right.  That fold is the RFC's split: the first power of two is the
 * left subtree, the rest the right.
 *
 * Pure computation on the caller's thread, no state but SHA-256 fetched
 * once per process (implicit fetches are slow in OpenSSL 3.0) and one
 * hashing context per thread, made on first use.  Sizes and
 * indexes are uint64_t; a proof holds at most MERKLE_PROOF_MAX hashes.
 */
#include <sys/types.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "engine.h"

#define MERKLE_LEAF_PREFIX	0x00
#define MERKLE_NODE_PREFIX	0x01

/*
 * The hasher of one computation: with a context, reused for every hash
 * of a long computation (a third faster than EVP_Digest, which makes one
 * each time); without, EVP_Digest.
 */
struct merkle_hasher {
	EVP_MD_CTX	*ctx;
};

static void		 merkle_init(void);
static void		 merkle_ctx_free(void *);
static EVP_MD_CTX	*merkle_thread_ctx(void);
static const EVP_MD	*merkle_md(void);
static void		 merkle_digest(struct merkle_hasher *, const void *,
			     size_t, unsigned char *);
static void		 merkle_node(struct merkle_hasher *,
			     const unsigned char *, const unsigned char *,
			     unsigned char *);
static void		 merkle_hasher_begin(struct merkle_hasher *);
static void		 merkle_hasher_end(struct merkle_hasher *);
static int		 merkle_popcount(uint64_t);
static uint64_t		 merkle_split(uint64_t);
static void		 merkle_range_push(struct merkle_range *,
			     struct merkle_hasher *, const unsigned char *);
static void		 merkle_range_fold(const struct merkle_range *,
			     struct merkle_hasher *, unsigned char *);
static int		 merkle_subtree(struct merkle_hasher *, uint64_t,
			     uint64_t, merkle_leaf_cb, void *, unsigned char *,
			     char **);
static void		 merkle_reverse(unsigned char *, unsigned char *,
			     size_t);
static void		 merkle_shift_right_edge(uint64_t *, uint64_t *);

static pthread_once_t	 merkle_once = PTHREAD_ONCE_INIT;
static EVP_MD		*merkle_sha256;
static pthread_key_t	 merkle_key;	/* each thread's context */

static void
merkle_ctx_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

static void
merkle_init(void)
{
	merkle_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (merkle_sha256 == NULL)
		fatalx("merkle: SHA-256 is not available from OpenSSL");
	if (pthread_key_create(&merkle_key, merkle_ctx_free) != 0)
		fatalx("merkle: pthread_key_create failed");
}

/* This thread's context for single hashes (freed when it exits): a
 * compact range appended to leaf by leaf hashes without an allocation. */
static EVP_MD_CTX *
merkle_thread_ctx(void)
{
	EVP_MD_CTX	*ctx;

	pthread_once(&merkle_once, merkle_init);
	if ((ctx = pthread_getspecific(merkle_key)) == NULL) {
		if ((ctx = EVP_MD_CTX_new()) == NULL ||
		    pthread_setspecific(merkle_key, ctx) != 0)
			fatalx("merkle: out of memory");
	}
	return (ctx);
}

static const EVP_MD *
merkle_md(void)
{
	pthread_once(&merkle_once, merkle_init);
	return (merkle_sha256);
}

/* SHA-256 of LEN bytes at DATA into OUT. */
static void
merkle_digest(struct merkle_hasher *h, const void *data, size_t len,
    unsigned char *out)
{
	EVP_MD_CTX	*ctx;
	unsigned int	 n;

	if (h != NULL && h->ctx != NULL) {
		if (EVP_DigestInit_ex2(h->ctx, merkle_md(), NULL) != 1 ||
		    EVP_DigestUpdate(h->ctx, data, len) != 1 ||
		    EVP_DigestFinal_ex(h->ctx, out, &n) != 1 ||
		    n != MERKLE_HASH_LEN)
			fatalx("merkle: SHA-256 failed");
		return;
	}
	ctx = merkle_thread_ctx();
	if (EVP_DigestInit_ex2(ctx, merkle_md(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, data, len) != 1 ||
	    EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != MERKLE_HASH_LEN)
		fatalx("merkle: SHA-256 failed");
}

/* OUT = SHA-256(0x01 || LEFT || RIGHT); OUT may be LEFT or RIGHT. */
static void
merkle_node(struct merkle_hasher *h, const unsigned char *left,
    const unsigned char *right, unsigned char *out)
{
	unsigned char	in[1 + 2 * MERKLE_HASH_LEN];

	in[0] = MERKLE_NODE_PREFIX;
	memcpy(in + 1, left, MERKLE_HASH_LEN);
	memcpy(in + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
	merkle_digest(h, in, sizeof in, out);
}

static void
merkle_hasher_begin(struct merkle_hasher *h)
{
	merkle_md();
	if ((h->ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("merkle: out of memory");
}

static void
merkle_hasher_end(struct merkle_hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

static int
merkle_popcount(uint64_t n)
{
	return (__builtin_popcountll(n));
}

/* The largest power of two smaller than N, for N >= 2. */
static uint64_t
merkle_split(uint64_t n)
{
	return ((uint64_t)1 << (63 - __builtin_clzll(n - 1)));
}

void
merkle_leaf_hash(const void *data, size_t len, unsigned char *out)
{
	EVP_MD_CTX		*ctx;
	const unsigned char	 prefix = MERKLE_LEAF_PREFIX;
	unsigned int		 n;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("merkle: out of memory");
	if (EVP_DigestInit_ex2(ctx, merkle_md(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, &prefix, 1) != 1 ||
	    (len != 0 && EVP_DigestUpdate(ctx, data, len) != 1) ||
	    EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != MERKLE_HASH_LEN)
		fatalx("merkle: SHA-256 failed");
	EVP_MD_CTX_free(ctx);
}

void
merkle_node_hash(const unsigned char *left, const unsigned char *right,
    unsigned char *out)
{
	merkle_node(NULL, left, right, out);
}

void
merkle_empty_root(unsigned char *out)
{
	merkle_digest(NULL, "", 0, out);
}

void
merkle_range_init(struct merkle_range *r)
{
	memset(r, 0, sizeof *r);
}

/* Append one leaf hash to R, merging the subtrees it completes. */
static void
merkle_range_push(struct merkle_range *r, struct merkle_hasher *h,
    const unsigned char *leaf)
{
	unsigned char	cur[MERKLE_HASH_LEN];
	uint64_t	s = r->size;
	int		n = merkle_popcount(r->size);

	if (r->size == UINT64_MAX)
		fatalx("merkle: a range of 2^64 - 1 leaves is full");
	memcpy(cur, leaf, MERKLE_HASH_LEN);
	while (s & 1) {
		n--;
		merkle_node(h, r->hash[n], cur, cur);
		s >>= 1;
	}
	memcpy(r->hash[n], cur, MERKLE_HASH_LEN);
	r->size++;
}

/* The root of R's leaves: its subtrees folded from the right. */
static void
merkle_range_fold(const struct merkle_range *r, struct merkle_hasher *h,
    unsigned char *out)
{
	unsigned char	acc[MERKLE_HASH_LEN];
	int		i, n = merkle_popcount(r->size);

	if (n == 0) {
		merkle_empty_root(out);
		return;
	}
	memcpy(acc, r->hash[n - 1], MERKLE_HASH_LEN);
	for (i = n - 2; i >= 0; i--)
		merkle_node(h, r->hash[i], acc, acc);
	memcpy(out, acc, MERKLE_HASH_LEN);
}

void
merkle_range_append(struct merkle_range *r, const unsigned char *leaf)
{
	merkle_range_push(r, NULL, leaf);
}

void
merkle_range_root(const struct merkle_range *r, unsigned char *out)
{
	merkle_range_fold(r, NULL, out);
}

int
merkle_range_set(struct merkle_range *r, uint64_t size,
    const unsigned char *hashes, size_t count, char **cause)
{
	if (count != (size_t)merkle_popcount(size)) {
		xasprintf(cause, "a compact range over %" PRIu64 " leaves "
		    "holds %d hashes, not %zu", size, merkle_popcount(size),
		    count);
		return (-1);
	}
	merkle_range_init(r);
	r->size = size;
	if (count != 0)
		memcpy(r->hash, hashes, count * MERKLE_HASH_LEN);
	return (0);
}

/* The root of leaves [LO, HI) into OUT, in one pass and a compact range. */
static int
merkle_subtree(struct merkle_hasher *h, uint64_t lo, uint64_t hi,
    merkle_leaf_cb cb, void *arg, unsigned char *out, char **cause)
{
	struct merkle_range	r;
	unsigned char		leaf[MERKLE_HASH_LEN];
	uint64_t		i;

	merkle_range_init(&r);
	for (i = lo; i < hi; i++) {
		if (cb(i, leaf, arg, cause) != 0)
			return (-1);
		merkle_range_push(&r, h, leaf);
	}
	merkle_range_fold(&r, h, out);
	return (0);
}

int
merkle_root(uint64_t n, merkle_leaf_cb cb, void *arg, unsigned char *out,
    char **cause)
{
	struct merkle_hasher	h;
	int			rc;

	merkle_hasher_begin(&h);
	rc = merkle_subtree(&h, 0, n, cb, arg, out, cause);
	merkle_hasher_end(&h);
	return (rc);
}

/* Copy COUNT hashes from SRC to DST in reverse order. */
static void
merkle_reverse(unsigned char *dst, unsigned char *src, size_t count)
{
	size_t	i;

	for (i = 0; i < count; i++) {
		memcpy(dst + i * MERKLE_HASH_LEN,
		    src + (count - 1 - i) * MERKLE_HASH_LEN, MERKLE_HASH_LEN);
	}
}

/*
 * The audit path of RFC 9162 2.1.3.1, PATH(m, D[n]), walked from the root
 * down: at each split the sibling subtree's root is taken whole (its leaves
 * read once: O(n) in all), and the path is the siblings from the leaf up.
 */
int
merkle_inclusion_proof(uint64_t m, uint64_t n, merkle_leaf_cb cb, void *arg,
    unsigned char *proof, size_t *count, char **cause)
{
	struct merkle_hasher	h;
	unsigned char		down[MERKLE_PROOF_MAX * MERKLE_HASH_LEN];
	uint64_t		lo = 0, hi = n, k;
	size_t			c = 0;
	int			rc = 0;

	*count = 0;
	if (m >= n) {
		xasprintf(cause, "leaf %" PRIu64 " is not in a tree of %" PRIu64
		    " leaves", m, n);
		return (-1);
	}
	merkle_hasher_begin(&h);
	while (rc == 0 && hi - lo > 1) {
		k = merkle_split(hi - lo);
		if (m < lo + k) {
			rc = merkle_subtree(&h, lo + k, hi, cb, arg,
			    down + c * MERKLE_HASH_LEN, cause);
			hi = lo + k;
		} else {
			rc = merkle_subtree(&h, lo, lo + k, cb, arg,
			    down + c * MERKLE_HASH_LEN, cause);
			lo += k;
		}
		c++;
	}
	merkle_hasher_end(&h);
	if (rc != 0)
		return (-1);
	merkle_reverse(proof, down, c);
	*count = c;
	return (0);
}

/*
 * The consistency proof of RFC 9162 2.1.4.1, PROOF(m, D[n]) =
 * SUBPROOF(m, D[n], true), walked from the root down: a sibling at each
 * split, and at the end the subtree of the old tree's last leaves unless
 * it is the old tree whole (the verifier has that root).  Empty when m is
 * 0 or n.
 */
int
merkle_consistency_proof(uint64_t m, uint64_t n, merkle_leaf_cb cb,
    void *arg, unsigned char *proof, size_t *count, char **cause)
{
	struct merkle_hasher	h;
	unsigned char		down[MERKLE_PROOF_MAX * MERKLE_HASH_LEN];
	uint64_t		lo = 0, hi = n, left = m, k;
	size_t			c = 0;
	int			rc = 0, whole = 1;

	*count = 0;
	if (m > n) {
		xasprintf(cause, "a tree of %" PRIu64 " leaves cannot extend "
		    "one of %" PRIu64, n, m);
		return (-1);
	}
	if (m == 0 || m == n)
		return (0);
	merkle_hasher_begin(&h);
	while (rc == 0) {
		if (left == hi - lo) {
			if (!whole) {
				rc = merkle_subtree(&h, lo, hi, cb, arg,
				    down + c * MERKLE_HASH_LEN, cause);
				c++;
			}
			break;
		}
		k = merkle_split(hi - lo);
		if (left <= k) {
			rc = merkle_subtree(&h, lo + k, hi, cb, arg,
			    down + c * MERKLE_HASH_LEN, cause);
			hi = lo + k;
		} else {
			rc = merkle_subtree(&h, lo, lo + k, cb, arg,
			    down + c * MERKLE_HASH_LEN, cause);
			lo += k;
			left -= k;
			whole = 0;
		}
		c++;
	}
	merkle_hasher_end(&h);
	if (rc != 0)
		return (-1);
	merkle_reverse(proof, down, c);
	*count = c;
	return (0);
}

/*
 * RFC 9162's step for a hash taken from the left: unless FN is odd,
 * shift FN and SN right until FN is odd or 0 (the levels where the
 * node is the last of its row and has no sibling).
 */
static void
merkle_shift_right_edge(uint64_t *fn, uint64_t *sn)
{
	while ((*fn & 1) == 0 && *fn != 0) {
		*fn >>= 1;
		*sn >>= 1;
	}
}

/* RFC 9162 2.1.3.2, step by step. */
int
merkle_inclusion_verify(uint64_t m, uint64_t n, const unsigned char *leaf,
    const unsigned char *proof, size_t count, const unsigned char *root,
    char **cause)
{
	unsigned char		 r[MERKLE_HASH_LEN];
	const unsigned char	*p;
	uint64_t		 fn = m, sn;
	size_t			 i;

	if (m >= n) {
		xasprintf(cause, "leaf %" PRIu64 " is not in a tree of %" PRIu64
		    " leaves", m, n);
		return (-1);
	}
	sn = n - 1;
	memcpy(r, leaf, MERKLE_HASH_LEN);
	for (i = 0; i < count; i++) {
		p = proof + i * MERKLE_HASH_LEN;
		if (sn == 0) {
			xasprintf(cause, "the inclusion proof of leaf %" PRIu64
			    " in %" PRIu64 " leaves is too long", m, n);
			return (-1);
		}
		if ((fn & 1) || fn == sn) {
			merkle_node(NULL, p, r, r);
			if ((fn & 1) == 0)
				merkle_shift_right_edge(&fn, &sn);
		} else
			merkle_node(NULL, r, p, r);
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0) {
		xasprintf(cause, "the inclusion proof of leaf %" PRIu64 " in %"
		    PRIu64 " leaves is too short", m, n);
		return (-1);
	}
	if (CRYPTO_memcmp(r, root, MERKLE_HASH_LEN) != 0) {
		xasprintf(cause, "the inclusion proof of leaf %" PRIu64 " in %"
		    PRIu64 " leaves does not lead to the root", m, n);
		return (-1);
	}
	return (0);
}

/*
 * RFC 9162 2.1.4.2, step by step; a tree of 0 leaves is consistent with
 * every tree and one of n leaves with itself, with an empty proof.
 */
int
merkle_consistency_verify(uint64_t m, uint64_t n, const unsigned char *root_m,
    const unsigned char *root_n, const unsigned char *proof, size_t count,
    char **cause)
{
	unsigned char		 fr[MERKLE_HASH_LEN], sr[MERKLE_HASH_LEN];
	const unsigned char	*c;
	uint64_t		 fn, sn;
	size_t			 i;

	if (m > n) {
		xasprintf(cause, "a tree of %" PRIu64 " leaves cannot extend "
		    "one of %" PRIu64, n, m);
		return (-1);
	}
	if (m == 0 || m == n) {
		if (count != 0) {
			xasprintf(cause, "the consistency proof from %" PRIu64
			    " to %" PRIu64 " leaves must be empty", m, n);
			return (-1);
		}
		if (m == n && CRYPTO_memcmp(root_m, root_n,
		    MERKLE_HASH_LEN) != 0) {
			xasprintf(cause, "two trees of %" PRIu64 " leaves "
			    "with different roots", n);
			return (-1);
		}
		return (0);
	}
	if (count == 0) {
		xasprintf(cause, "the consistency proof from %" PRIu64 " to %"
		    PRIu64 " leaves is empty", m, n);
		return (-1);
	}
	/* An old tree of 2^k leaves is a subtree: its root begins the path. */
	i = 0;
	c = proof;
	if ((m & (m - 1)) == 0)
		c = root_m;
	else
		i = 1;
	fn = m - 1;
	sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, c, MERKLE_HASH_LEN);
	memcpy(sr, c, MERKLE_HASH_LEN);
	for (; i < count; i++) {
		c = proof + i * MERKLE_HASH_LEN;
		if (sn == 0) {
			xasprintf(cause, "the consistency proof from %" PRIu64
			    " to %" PRIu64 " leaves is too long", m, n);
			return (-1);
		}
		if ((fn & 1) || fn == sn) {
			merkle_node(NULL, c, fr, fr);
			merkle_node(NULL, c, sr, sr);
			if ((fn & 1) == 0)
				merkle_shift_right_edge(&fn, &sn);
		} else
			merkle_node(NULL, sr, c, sr);
		fn >>= 1;
		sn >>= 1;
	}
	if (sn != 0) {
		xasprintf(cause, "the consistency proof from %" PRIu64 " to %"
		    PRIu64 " leaves is too short", m, n);
		return (-1);
	}
	if (CRYPTO_memcmp(fr, root_m, MERKLE_HASH_LEN) != 0 ||
	    CRYPTO_memcmp(sr, root_n, MERKLE_HASH_LEN) != 0) {
		xasprintf(cause, "the consistency proof from %" PRIu64 " to %"
		    PRIu64 " leaves does not lead to both roots", m, n);
		return (-1);
	}
	return (0);
}
