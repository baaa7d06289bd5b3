/*
 * tests/check_merkle.c: Merkle trees (engine/merkle.c) and signed notes
 * and checkpoints (engine/note.c).
 *
 * Known answers come from two public test suites: the RFC 6962 trees of
 * Certificate Transparency's reference implementation, as kept in
 * github.com/transparency-dev/merkle (proof/verify_test.go: eight leaves,
 * the roots of sizes 1 to 8, inclusion and consistency proofs), and
 * golang.org/x/mod/sumdb/note (note_test.go: an Ed25519 key given by its
 * seed, its verifier key, a note it signed).  Beyond them every proof of
 * every tree of up to 64 leaves is checked against the RFC's recursive
 * definitions, written again here on SHA-256 from OpenSSL, and damaged in
 * every way a proof can be.
 */
#include <sys/types.h>
#include <sys/stat.h>

#include <check.h>
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "engine.h"
#include "lib.h"

#define HL		MERKLE_HASH_LEN
/*
 * ck_assert for the loops over every proof: a passing ck_assert writes to
 * a pipe (Check's last location), which would be most of their time.
 */
#define quiet_assert(e) do {						\
	if (!(e))							\
		ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #e);	\
} while (0)
#define ALL_MAX		64	/* trees checked whole: 1 to 64 leaves */

/* Leaves read by the callback: the hashes, how often it was called. */
struct leaves {
	unsigned char	(*hash)[HL];
	uint64_t	 calls;
	uint64_t	 fail_at;	/* UINT64_MAX: never */
};

/* A reference proof: hashes from the leaf up, and for an inclusion
 * proof, which side each one is on (1: left of the path). */
struct ref_proof {
	unsigned char	hash[MERKLE_PROOF_MAX][HL];
	int		left[MERKLE_PROOF_MAX];
	size_t		count;
};

/*
 * From transparency-dev/merkle proof/verify_test.go (the vectors of
 * Certificate Transparency's reference implementation): the leaves, and
 * the roots of the trees over the first 1 to 8 of them.
 */
static const struct {
	const char	*data;
	size_t		 len;
} ct_leaves[8] = {
	{ "", 0 },
	{ "\x00", 1 },
	{ "\x10", 1 },
	{ "\x20\x21", 2 },
	{ "\x30\x31", 2 },
	{ "\x40\x41\x42\x43", 4 },
	{ "\x50\x51\x52\x53\x54\x55\x56\x57", 8 },
	{ "\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
	    16 },
};
static const char *ct_roots[8] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};
/* The same file's proofs; its leaf numbers count from 1, these from 0. */
static const struct {
	uint64_t	 m, n;
	const char	*proof[3];
} ct_inclusion[] = {
	{ 0, 1, { NULL } },
	{ 0, 8, {
	    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
	} },
	{ 5, 8, {
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	} },
	{ 2, 3, {
	    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	} },
	{ 1, 5, {
	    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	} },
};
static const struct {
	uint64_t	 m, n;
	const char	*proof[3];
} ct_consistency[] = {
	{ 1, 1, { NULL } },
	{ 1, 8, {
	    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
	} },
	{ 6, 8, {
	    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	} },
	{ 2, 5, {
	    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
	    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
	} },
	{ 6, 7, {
	    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
	    "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
	    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	} },
};

static unsigned char	all[ALL_MAX][HL];	/* leaves of the big trees */

/*
 * SHA-256 of A (ALEN bytes) then B (BLEN) into OUT, straight from EVP
 * (one context, SHA-256 fetched once: implicit fetches are slow).
 */
static void
sha256_two(const void *a, size_t alen, const void *b, size_t blen,
    unsigned char *out)
{
	static EVP_MD		*md;
	static EVP_MD_CTX	*ctx;

	if (md == NULL) {
		md = EVP_MD_fetch(NULL, "SHA256", NULL);
		ctx = EVP_MD_CTX_new();
		ck_assert(md != NULL && ctx != NULL);
	}
	/* No passing ck_assert here: each one costs a write to a pipe. */
	if (EVP_DigestInit_ex2(ctx, md, NULL) != 1 ||
	    EVP_DigestUpdate(ctx, a, alen) != 1 ||
	    (blen != 0 && EVP_DigestUpdate(ctx, b, blen) != 1) ||
	    EVP_DigestFinal_ex(ctx, out, NULL) != 1)
		ck_abort_msg("SHA-256 failed");
}

/* The reference leaf hash: SHA-256(0x00 || DATA). */
static void
ref_leaf(const void *data, size_t len, unsigned char *out)
{
	sha256_two("\x00", 1, data, len, out);
}

/* The reference node hash: SHA-256(0x01 || L || R). */
static void
ref_node(const unsigned char *l, const unsigned char *r, unsigned char *out)
{
	unsigned char	in[2 * HL];

	memcpy(in, l, HL);
	memcpy(in + HL, r, HL);
	sha256_two("\x01", 1, in, sizeof in, out);
}

/* The largest power of two smaller than N (N >= 2), by counting. */
static uint64_t
ref_split(uint64_t n)
{
	uint64_t	k = 1;

	while (k * 2 < n)
		k *= 2;
	return (k);
}

/*
 * MTH(D[lo:hi]) of RFC 9162 2.1.1, by its recursive definition; nothing
 * without LEAF (for the proofs' shapes alone).
 */
static void
ref_mth(unsigned char (*leaf)[HL], uint64_t lo, uint64_t hi,
    unsigned char *out)
{
	unsigned char	l[HL], r[HL];
	uint64_t	k;

	if (leaf == NULL)
		return;
	if (hi == lo) {
		sha256_two("", 0, "", 0, out);
		return;
	}
	if (hi - lo == 1) {
		memcpy(out, leaf[lo], HL);
		return;
	}
	k = ref_split(hi - lo);
	ref_mth(leaf, lo, lo + k, l);
	ref_mth(leaf, lo + k, hi, r);
	ref_node(l, r, out);
}

/* PATH(m, D[lo:hi]) of RFC 9162 2.1.3.1, appended to P. */
static void
ref_path(unsigned char (*leaf)[HL], uint64_t m, uint64_t lo, uint64_t hi,
    struct ref_proof *p)
{
	uint64_t	k;

	if (hi - lo <= 1)
		return;
	k = ref_split(hi - lo);
	if (m < k) {
		ref_path(leaf, m, lo, lo + k, p);
		ref_mth(leaf, lo + k, hi, p->hash[p->count]);
		p->left[p->count++] = 0;
	} else {
		ref_path(leaf, m - k, lo + k, hi, p);
		ref_mth(leaf, lo, lo + k, p->hash[p->count]);
		p->left[p->count++] = 1;
	}
}

/*
 * SUBPROOF(m, D[lo:hi], b) of RFC 9162 2.1.4.1, appended to P; the sides
 * as ref_path's, and 2 for the subtree of the old tree that begins it.
 */
static void
ref_subproof(unsigned char (*leaf)[HL], uint64_t m, uint64_t lo, uint64_t hi,
    int b, struct ref_proof *p)
{
	uint64_t	k;

	if (m == hi - lo) {
		if (!b) {
			ref_mth(leaf, lo, hi, p->hash[p->count]);
			p->left[p->count++] = 2;
		}
		return;
	}
	k = ref_split(hi - lo);
	if (m <= k) {
		ref_subproof(leaf, m, lo, lo + k, b, p);
		ref_mth(leaf, lo + k, hi, p->hash[p->count]);
		p->left[p->count++] = 0;
	} else {
		ref_subproof(leaf, m - k, lo + k, hi, 0, p);
		ref_mth(leaf, lo, lo + k, p->hash[p->count]);
		p->left[p->count++] = 1;
	}
}

/* Are the two proofs' shapes (length, sides) the same? */
static int
same_shape(const struct ref_proof *a, const struct ref_proof *b)
{
	return (a->count == b->count &&
	    memcmp(a->left, b->left, a->count * sizeof a->left[0]) == 0);
}

/* 64 hex digits into OUT. */
static void
unhex(const char *s, unsigned char *out)
{
	unsigned int	v;
	size_t		i;

	ck_assert_uint_eq(strlen(s), 2 * HL);
	for (i = 0; i < HL; i++) {
		ck_assert(sscanf(s + 2 * i, "%2x", &v) == 1);
		out[i] = (unsigned char)v;
	}
}

/* The leaf callback over a struct leaves. */
static int
leaf_cb(uint64_t i, unsigned char *out, void *arg, char **cause)
{
	struct leaves	*l = arg;

	l->calls++;
	if (i == l->fail_at) {
		xasprintf(cause, "leaf %llu is not there",
		    (unsigned long long)i);
		return (-1);
	}
	memcpy(out, l->hash[i], HL);
	return (0);
}

/* The leaf hashes of the CT vectors into OUT. */
static void
ct_leaf_hashes(unsigned char (*out)[HL])
{
	int	i;

	for (i = 0; i < 8; i++)
		merkle_leaf_hash(ct_leaves[i].data, ct_leaves[i].len, out[i]);
}

/* Fill all[] with the hashes of 8-byte leaves 0, 1, 2, ... */
static void
all_setup(void)
{
	unsigned char	data[8];
	int		i, j;

	for (i = 0; i < ALL_MAX; i++) {
		for (j = 0; j < 8; j++)
			data[j] = (unsigned char)((uint64_t)i >> (56 - 8 * j));
		ref_leaf(data, sizeof data, all[i]);
	}
}

/* Verify an inclusion proof, the cause freed; returns the result. */
static int
incl_ok(uint64_t m, uint64_t n, const unsigned char *leaf,
    const unsigned char *proof, size_t count, const unsigned char *root)
{
	char	*cause = NULL;
	int	 rc;

	rc = merkle_inclusion_verify(m, n, leaf, proof, count, root, &cause);
	if (rc == 0 ? cause != NULL : cause == NULL)
		ck_abort_msg("a cause with 0, or -1 without");
	free(cause);
	return (rc == 0);
}

/* Verify a consistency proof, the cause freed; returns the result. */
static int
cons_ok(uint64_t m, uint64_t n, const unsigned char *rm,
    const unsigned char *rn, const unsigned char *proof, size_t count)
{
	char	*cause = NULL;
	int	 rc;

	rc = merkle_consistency_verify(m, n, rm, rn, proof, count, &cause);
	if (rc == 0 ? cause != NULL : cause == NULL)
		ck_abort_msg("a cause with 0, or -1 without");
	free(cause);
	return (rc == 0);
}

/* Leaf and node hashes: the CT leaves, a node, the empty tree. */
START_TEST(test_merkle_hash)
{
	unsigned char	h[8][HL], want[HL], got[HL], ref[HL];

	ct_leaf_hashes(h);
	unhex(ct_roots[0], want);
	ck_assert_mem_eq(h[0], want, HL);	/* a tree of one leaf */
	unhex(ct_roots[1], want);
	merkle_node_hash(h[0], h[1], got);
	ck_assert_mem_eq(got, want, HL);
	ref_node(h[0], h[1], ref);
	ck_assert_mem_eq(got, ref, HL);
	merkle_empty_root(got);
	unhex("e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855", want);
	ck_assert_mem_eq(got, want, HL);
}
END_TEST

/* A leaf is never hashed as a node: prefixes, order and bytes count. */
START_TEST(test_merkle_hash_bad)
{
	unsigned char	h[8][HL], a[HL], b[HL];

	ct_leaf_hashes(h);
	sha256_two("", 0, ct_leaves[3].data, ct_leaves[3].len, a);
	ck_assert_mem_ne(a, h[3], HL);		/* no prefix */
	merkle_node_hash(h[1], h[0], a);
	merkle_node_hash(h[0], h[1], b);
	ck_assert_mem_ne(a, b, HL);
	merkle_leaf_hash("\x20", 1, a);
	ck_assert_mem_ne(a, h[3], HL);
	ck_assert_mem_ne(h[0], h[1], HL);	/* "" is not "\0" */
}
END_TEST

/* The CT roots of sizes 1 to 8, by callback and by compact range. */
START_TEST(test_merkle_root)
{
	unsigned char		h[8][HL], want[HL], got[HL];
	struct leaves		l = { h, 0, UINT64_MAX };
	struct merkle_range	r;
	char			*cause = NULL;
	uint64_t		n;

	ct_leaf_hashes(h);
	merkle_range_init(&r);
	for (n = 1; n <= 8; n++) {
		unhex(ct_roots[n - 1], want);
		l.calls = 0;
		ck_assert_int_eq(merkle_root(n, leaf_cb, &l, got, &cause), 0);
		ck_assert_mem_eq(got, want, HL);
		ck_assert_uint_eq(l.calls, n);	/* each leaf once */
		merkle_range_append(&r, h[n - 1]);
		merkle_range_root(&r, got);
		ck_assert_mem_eq(got, want, HL);
	}
	ck_assert_int_eq(merkle_root(0, leaf_cb, &l, got, &cause), 0);
	merkle_empty_root(want);
	ck_assert_mem_eq(got, want, HL);
}
END_TEST

/* A leaf that cannot be read ends the root with the callback's cause. */
START_TEST(test_merkle_root_bad)
{
	unsigned char	h[8][HL], got[HL], want[HL];
	struct leaves	l = { h, 0, 5 };
	char		*cause = NULL;

	ct_leaf_hashes(h);
	ck_assert_int_eq(merkle_root(8, leaf_cb, &l, got, &cause), -1);
	ck_assert_str_eq(cause, "leaf 5 is not there");
	free(cause);
	ck_assert_uint_eq(l.calls, 6);
	/* A different leaf, a different root. */
	l.fail_at = UINT64_MAX;
	h[7][0] ^= 1;
	cause = NULL;
	ck_assert_int_eq(merkle_root(8, leaf_cb, &l, got, &cause), 0);
	unhex(ct_roots[7], want);
	ck_assert_mem_ne(got, want, HL);
}
END_TEST

/*
 * Every size up to 600: the compact range's root is the recursive
 * definition's, and so is merkle_root's; a range set from another's hashes
 * goes on the same.
 */
START_TEST(test_merkle_range)
{
	static unsigned char	 big[600][HL];
	struct leaves		 l = { big, 0, UINT64_MAX };
	struct merkle_range	 r, copy;
	unsigned char		 want[HL], got[HL], data[2];
	char			*cause = NULL;
	uint64_t		 n;

	for (n = 0; n < 600; n++) {
		data[0] = n >> 8;
		data[1] = n & 0xff;
		ref_leaf(data, 2, big[n]);
	}
	merkle_range_init(&r);
	for (n = 0; n <= 600; n++) {
		ref_mth(big, 0, n, want);
		merkle_range_root(&r, got);
		ck_assert_msg(memcmp(got, want, HL) == 0, "size %llu",
		    (unsigned long long)n);
		ck_assert_uint_eq(r.size, n);
		if (n % 37 == 0 || n == 511 || n == 512) {
			l.calls = 0;
			ck_assert_int_eq(merkle_root(n, leaf_cb, &l, got,
			    &cause), 0);
			ck_assert_mem_eq(got, want, HL);
			ck_assert_uint_eq(l.calls, n);
			ck_assert_int_eq(merkle_range_set(&copy, r.size,
			    &r.hash[0][0], __builtin_popcountll(r.size),
			    &cause), 0);
			if (n < 600) {
				merkle_range_append(&copy, big[n]);
				ref_mth(big, 0, n + 1, want);
				merkle_range_root(&copy, got);
				ck_assert_mem_eq(got, want, HL);
			}
		}
		if (n < 600)
			merkle_range_append(&r, big[n]);
	}
}
END_TEST

/* A range is set only from as many hashes as its size has bits set. */
START_TEST(test_merkle_range_bad)
{
	struct merkle_range	r;
	unsigned char		hashes[3][HL];
	char			*cause = NULL;

	memset(hashes, 7, sizeof hashes);
	ck_assert_int_eq(merkle_range_set(&r, 7, &hashes[0][0], 2, &cause),
	    -1);
	ck_assert_str_eq(cause, "a compact range over 7 leaves holds 3 "
	    "hashes, not 2");
	free(cause);
	cause = NULL;
	ck_assert_int_eq(merkle_range_set(&r, 4, &hashes[0][0], 3, &cause),
	    -1);
	free(cause);
	cause = NULL;
	ck_assert_int_eq(merkle_range_set(&r, 0, NULL, 0, &cause), 0);
	ck_assert_uint_eq(r.size, 0);
	ck_assert_int_eq(merkle_range_set(&r, 7, &hashes[0][0], 3, &cause),
	    0);
	ck_assert_uint_eq(r.size, 7);
}
END_TEST

/* The CT inclusion proofs: generated the same, and verified. */
START_TEST(test_merkle_inclusion)
{
	unsigned char	h[8][HL], root[HL], want[3 * HL];
	unsigned char	proof[MERKLE_PROOF_MAX * HL];
	struct leaves	l = { h, 0, UINT64_MAX };
	char		*cause = NULL;
	size_t		i, j, count, nwant;

	ct_leaf_hashes(h);
	for (i = 0; i < sizeof ct_inclusion / sizeof ct_inclusion[0]; i++) {
		for (nwant = 0; nwant < 3 && ct_inclusion[i].proof[nwant] !=
		    NULL; nwant++)
			unhex(ct_inclusion[i].proof[nwant], want + nwant * HL);
		l.calls = 0;
		ck_assert_int_eq(merkle_inclusion_proof(ct_inclusion[i].m,
		    ct_inclusion[i].n, leaf_cb, &l, proof, &count, &cause), 0);
		ck_assert_uint_eq(count, nwant);
		for (j = 0; j < count; j++)
			ck_assert_mem_eq(proof + j * HL, want + j * HL, HL);
		ck_assert_uint_le(l.calls, ct_inclusion[i].n);
		unhex(ct_roots[ct_inclusion[i].n - 1], root);
		ck_assert(incl_ok(ct_inclusion[i].m, ct_inclusion[i].n,
		    h[ct_inclusion[i].m], want, nwant, root));
	}
}
END_TEST

/* Damaged CT inclusion proofs, and indexes out of the tree, refused. */
START_TEST(test_merkle_inclusion_bad)
{
	unsigned char	h[8][HL], root[HL], bad[4 * HL], empty[HL];
	unsigned char	proof[MERKLE_PROOF_MAX * HL];
	struct leaves	l = { h, 0, UINT64_MAX };
	char		*cause = NULL;
	size_t		count;

	ct_leaf_hashes(h);
	unhex(ct_roots[7], root);
	ck_assert_int_eq(merkle_inclusion_proof(5, 8, leaf_cb, &l, proof,
	    &count, &cause), 0);
	ck_assert(incl_ok(5, 8, h[5], proof, count, root));
	ck_assert(!incl_ok(4, 8, h[5], proof, count, root));
	ck_assert(!incl_ok(6, 8, h[5], proof, count, root));
	ck_assert(!incl_ok(5 ^ 2, 8, h[5], proof, count, root));
	ck_assert(!incl_ok(5, 16, h[5], proof, count, root));
	ck_assert(!incl_ok(5, 4, h[5], proof, count, root));
	ck_assert(!incl_ok(5, 8, h[4], proof, count, root));
	merkle_empty_root(empty);
	ck_assert(!incl_ok(5, 8, h[5], proof, count, empty));
	memcpy(bad, proof, count * HL);
	memcpy(bad + count * HL, root, HL);
	ck_assert_int_eq(merkle_inclusion_verify(5, 8, h[5], bad, count + 1,
	    root, &cause), -1);
	ck_assert_str_eq(cause, "the inclusion proof of leaf 5 in 8 leaves "
	    "is too long");
	free(cause);
	cause = NULL;
	memcpy(bad, root, HL);
	memcpy(bad + HL, proof, count * HL);
	ck_assert(!incl_ok(5, 8, h[5], bad, count + 1, root));
	ck_assert_int_eq(merkle_inclusion_verify(5, 8, h[5], proof, count - 1,
	    root, &cause), -1);
	ck_assert_str_eq(cause, "the inclusion proof of leaf 5 in 8 leaves "
	    "is too short");
	free(cause);
	cause = NULL;
	ck_assert_int_eq(merkle_inclusion_verify(5, 8, h[5], proof, count,
	    empty, &cause), -1);
	ck_assert_str_eq(cause, "the inclusion proof of leaf 5 in 8 leaves "
	    "does not lead to the root");
	free(cause);
	cause = NULL;
	/* Out of the tree: no proof made, none verified. */
	ck_assert_int_eq(merkle_inclusion_proof(8, 8, leaf_cb, &l, proof,
	    &count, &cause), -1);
	ck_assert_str_eq(cause, "leaf 8 is not in a tree of 8 leaves");
	free(cause);
	cause = NULL;
	ck_assert_int_eq(merkle_inclusion_proof(0, 0, leaf_cb, &l, proof,
	    &count, &cause), -1);
	free(cause);
	cause = NULL;
	ck_assert(!incl_ok(0, 0, h[0], proof, 0, empty));
	ck_assert(!incl_ok(1, 1, h[0], proof, 0, h[0]));
	ck_assert(!incl_ok(2, 1, h[0], proof, 0, h[0]));
	/* A leaf that cannot be read. */
	l.fail_at = 7;
	ck_assert_int_eq(merkle_inclusion_proof(0, 8, leaf_cb, &l, proof,
	    &count, &cause), -1);
	ck_assert_str_eq(cause, "leaf 7 is not there");
	free(cause);
}
END_TEST

/* The CT consistency proofs: generated the same, and verified. */
START_TEST(test_merkle_consistency)
{
	unsigned char	h[8][HL], rm[HL], rn[HL], want[3 * HL];
	unsigned char	proof[MERKLE_PROOF_MAX * HL];
	struct leaves	l = { h, 0, UINT64_MAX };
	char		*cause = NULL;
	size_t		i, j, count, nwant;

	ct_leaf_hashes(h);
	for (i = 0; i < sizeof ct_consistency / sizeof ct_consistency[0];
	    i++) {
		for (nwant = 0; nwant < 3 && ct_consistency[i].proof[nwant] !=
		    NULL; nwant++)
			unhex(ct_consistency[i].proof[nwant],
			    want + nwant * HL);
		l.calls = 0;
		ck_assert_int_eq(merkle_consistency_proof(ct_consistency[i].m,
		    ct_consistency[i].n, leaf_cb, &l, proof, &count, &cause),
		    0);
		ck_assert_uint_eq(count, nwant);
		for (j = 0; j < count; j++)
			ck_assert_mem_eq(proof + j * HL, want + j * HL, HL);
		ck_assert_uint_le(l.calls, ct_consistency[i].n);
		unhex(ct_roots[ct_consistency[i].m - 1], rm);
		unhex(ct_roots[ct_consistency[i].n - 1], rn);
		ck_assert(cons_ok(ct_consistency[i].m, ct_consistency[i].n,
		    rm, rn, want, nwant));
	}
}
END_TEST

/* Damaged CT consistency proofs, and sizes that shrink, refused. */
START_TEST(test_merkle_consistency_bad)
{
	unsigned char	h[8][HL], rm[HL], rn[HL], bad[4 * HL];
	unsigned char	proof[MERKLE_PROOF_MAX * HL];
	struct leaves	l = { h, 0, UINT64_MAX };
	char		*cause = NULL;
	size_t		count;

	ct_leaf_hashes(h);
	unhex(ct_roots[5], rm);
	unhex(ct_roots[7], rn);
	ck_assert_int_eq(merkle_consistency_proof(6, 8, leaf_cb, &l, proof,
	    &count, &cause), 0);
	ck_assert(cons_ok(6, 8, rm, rn, proof, count));
	ck_assert(!cons_ok(5, 8, rm, rn, proof, count));
	ck_assert(!cons_ok(7, 8, rm, rn, proof, count));
	ck_assert(!cons_ok(6 ^ 2, 8, rm, rn, proof, count));
	ck_assert(!cons_ok(6, 16, rm, rn, proof, count));
	ck_assert(!cons_ok(6, 4, rm, rn, proof, count));
	ck_assert(!cons_ok(6, 8, rn, rn, proof, count));
	ck_assert(!cons_ok(6, 8, rm, rm, proof, count));
	ck_assert(!cons_ok(6, 8, rn, rm, proof, count));
	ck_assert(!cons_ok(6, 8, rm, rn, proof, 0));
	ck_assert_int_eq(merkle_consistency_verify(6, 8, rm, rn, proof,
	    count - 1, &cause), -1);
	ck_assert_str_eq(cause, "the consistency proof from 6 to 8 leaves is "
	    "too short");
	free(cause);
	cause = NULL;
	memcpy(bad, proof, count * HL);
	memcpy(bad + count * HL, rn, HL);
	ck_assert_int_eq(merkle_consistency_verify(6, 8, rm, rn, bad,
	    count + 1, &cause), -1);
	ck_assert_str_eq(cause, "the consistency proof from 6 to 8 leaves is "
	    "too long");
	free(cause);
	cause = NULL;
	ck_assert_int_eq(merkle_consistency_verify(6, 8, rm, rm, proof,
	    count, &cause), -1);
	ck_assert_str_eq(cause, "the consistency proof from 6 to 8 leaves "
	    "does not lead to both roots");
	free(cause);
	cause = NULL;
	memcpy(bad, proof, HL);
	memcpy(bad + HL, proof, count * HL);
	ck_assert(!cons_ok(6, 8, rm, rn, bad, count + 1));
	/* Equal sizes want equal roots and no proof; 0 wants no proof. */
	ck_assert(cons_ok(8, 8, rn, rn, NULL, 0));
	ck_assert(!cons_ok(8, 8, rm, rn, NULL, 0));
	ck_assert(!cons_ok(8, 8, rn, rn, rn, 1));
	ck_assert(cons_ok(0, 8, rm, rn, NULL, 0));
	ck_assert(!cons_ok(0, 8, rm, rn, rn, 1));
	/* A tree does not shrink. */
	ck_assert(!cons_ok(8, 6, rn, rm, proof, count));
	ck_assert_int_eq(merkle_consistency_proof(8, 6, leaf_cb, &l, proof,
	    &count, &cause), -1);
	ck_assert_str_eq(cause, "a tree of 6 leaves cannot extend one of 8");
	free(cause);
	cause = NULL;
	l.fail_at = 6;
	ck_assert_int_eq(merkle_consistency_proof(3, 8, leaf_cb, &l, proof,
	    &count, &cause), -1);
	ck_assert_str_eq(cause, "leaf 6 is not there");
	free(cause);
}
END_TEST

/*
 * Every leaf of every tree of 1 to 64 leaves: the proof is the recursive
 * definition's, hash for hash, and it verifies.
 */
START_TEST(test_merkle_inclusion_all)
{
	struct leaves		l = { all, 0, UINT64_MAX };
	struct ref_proof	ref;
	unsigned char		proof[MERKLE_PROOF_MAX * HL], root[HL];
	char			*cause = NULL;
	uint64_t		m, n;
	size_t			count, i;

	for (n = 1; n <= ALL_MAX; n++) {
		ref_mth(all, 0, n, root);
		for (m = 0; m < n; m++) {
			l.calls = 0;
			quiet_assert(merkle_inclusion_proof(m, n, leaf_cb,
			    &l, proof, &count, &cause) == 0);
			quiet_assert(l.calls == n - 1);
			ref.count = 0;
			ref_path(all, m, 0, n, &ref);
			quiet_assert(count == ref.count);
			for (i = 0; i < count; i++)
				quiet_assert(memcmp(proof + i * HL, ref.hash[i],
				    HL) == 0);
			if (!incl_ok(m, n, all[m], proof, count, root))
				ck_abort_msg("leaf %llu of %llu",
				    (unsigned long long)m,
				    (unsigned long long)n);
		}
	}
}
END_TEST

/*
 * Every proof of the trees of 1 to 64 leaves, damaged: a bit flipped in
 * any hash, another leaf or root, a hash more or less, another index.
 * Another size is refused unless it gives the path the same shape (the
 * same length, siblings on the same sides): the proof then computes the
 * same root, which is why a checkpoint signs the size with the root.
 */
START_TEST(test_merkle_inclusion_all_bad)
{
	struct leaves		l = { all, 0, UINT64_MAX };
	struct ref_proof	shape, other;
	unsigned char		proof[(MERKLE_PROOF_MAX + 1) * HL];
	unsigned char		bad[(MERKLE_PROOF_MAX + 1) * HL], root[HL];
	unsigned char		empty[HL];
	char			*cause = NULL;
	uint64_t		m, n, x;
	size_t			count, i;

	merkle_empty_root(empty);
	for (n = 1; n <= ALL_MAX; n++) {
		ref_mth(all, 0, n, root);
		for (m = 0; m < n; m++) {
			quiet_assert(merkle_inclusion_proof(m, n, leaf_cb,
			    &l, proof, &count, &cause) == 0);
			for (i = 0; i < count; i++) {
				memcpy(bad, proof, count * HL);
				bad[i * HL + (m + n + i) % HL] ^=
				    1 << ((m + i) % 8);
				quiet_assert(!incl_ok(m, n, all[m], bad, count,
				    root));
			}
			quiet_assert(!incl_ok(m, n, all[(m + 1) % ALL_MAX],
			    proof, count, root));
			quiet_assert(!incl_ok(m, n, all[m], proof, count,
			    empty));
			if (count > 0)
				quiet_assert(!incl_ok(m, n, all[m], proof,
				    count - 1, root));
			memcpy(proof + count * HL, root, HL);
			quiet_assert(!incl_ok(m, n, all[m], proof, count + 1,
			    root));
			memcpy(bad, all[m], HL);
			memcpy(bad + HL, proof, count * HL);
			quiet_assert(!incl_ok(m, n, all[m], bad, count + 1,
			    root));
			for (x = 0; x <= n; x++) {
				if (x != m)
					quiet_assert(!incl_ok(x, n, all[m], proof,
					    count, root));
			}
			shape.count = 0;
			ref_path(NULL, m, 0, n, &shape);
			for (x = m + 1; x <= ALL_MAX; x++) {
				if (x == n)
					continue;
				other.count = 0;
				ref_path(NULL, m, 0, x, &other);
				if (incl_ok(m, x, all[m], proof, count,
				    root) != same_shape(&shape, &other))
					ck_abort_msg("leaf %llu of %llu as of "
					    "%llu", (unsigned long long)m,
					    (unsigned long long)n,
					    (unsigned long long)x);
			}
		}
	}
}
END_TEST

/*
 * Every pair of sizes m <= n up to 64: the consistency proof is the
 * recursive definition's, hash for hash, and it verifies.
 */
START_TEST(test_merkle_consistency_all)
{
	struct leaves		l = { all, 0, UINT64_MAX };
	struct ref_proof	ref;
	unsigned char		proof[MERKLE_PROOF_MAX * HL];
	unsigned char		roots[ALL_MAX + 1][HL];
	char			*cause = NULL;
	uint64_t		m, n;
	size_t			count, i;

	for (n = 0; n <= ALL_MAX; n++)
		ref_mth(all, 0, n, roots[n]);
	for (n = 1; n <= ALL_MAX; n++) {
		for (m = 0; m <= n; m++) {
			l.calls = 0;
			quiet_assert(merkle_consistency_proof(m, n,
			    leaf_cb, &l, proof, &count, &cause) == 0);
			quiet_assert(l.calls <= n);
			ref.count = 0;
			if (m != 0)
				ref_subproof(all, m, 0, n, 1, &ref);
			quiet_assert(count == ref.count);
			for (i = 0; i < count; i++)
				quiet_assert(memcmp(proof + i * HL, ref.hash[i],
				    HL) == 0);
			if (!cons_ok(m, n, roots[m], roots[n], proof, count))
				ck_abort_msg("%llu to %llu",
				    (unsigned long long)m,
				    (unsigned long long)n);
		}
	}
}
END_TEST

/*
 * The consistency proof of M to N (neither 0 nor equal) taken as one of
 * other sizes: refused unless it has the same shape for them (then the
 * same hashes give the same roots).
 */
static void
other_sizes(uint64_t m, uint64_t n, unsigned char (*roots)[HL],
    const unsigned char *proof, size_t count)
{
	struct ref_proof	shape, other;
	uint64_t		x;

	shape.count = 0;
	ref_subproof(NULL, m, 0, n, 1, &shape);
	for (x = 0; x <= ALL_MAX; x++) {
		other.count = 0;
		if (x > 0 && x < n)
			ref_subproof(NULL, x, 0, n, 1, &other);
		if (x != m && cons_ok(x, n, roots[m], roots[n], proof,
		    count) != (other.count > 0 && same_shape(&shape, &other)))
			ck_abort_msg("%llu to %llu as from %llu",
			    (unsigned long long)m, (unsigned long long)n,
			    (unsigned long long)x);
		other.count = 0;
		if (x > m)
			ref_subproof(NULL, m, 0, x, 1, &other);
		if (x != n && cons_ok(m, x, roots[m], roots[n], proof,
		    count) != (other.count > 0 && same_shape(&shape, &other)))
			ck_abort_msg("%llu to %llu as to %llu",
			    (unsigned long long)m, (unsigned long long)n,
			    (unsigned long long)x);
	}
}

/*
 * Every consistency proof between sizes up to 64, damaged: a bit flipped
 * in any hash, the roots of other sizes, a hash more or less, other
 * sizes (other_sizes).
 */
START_TEST(test_merkle_consistency_all_bad)
{
	struct leaves	l = { all, 0, UINT64_MAX };
	unsigned char	proof[(MERKLE_PROOF_MAX + 1) * HL];
	unsigned char	bad[(MERKLE_PROOF_MAX + 1) * HL];
	unsigned char	roots[ALL_MAX + 1][HL];
	char		*cause = NULL;
	uint64_t	m, n;
	size_t		count, i;

	for (n = 0; n <= ALL_MAX; n++)
		ref_mth(all, 0, n, roots[n]);
	for (n = 1; n <= ALL_MAX; n++) {
		for (m = 0; m <= n; m++) {
			quiet_assert(merkle_consistency_proof(m, n,
			    leaf_cb, &l, proof, &count, &cause) == 0);
			for (i = 0; i < count; i++) {
				memcpy(bad, proof, count * HL);
				bad[i * HL + (m + n + i) % HL] ^=
				    1 << ((n + i) % 8);
				quiet_assert(!cons_ok(m, n, roots[m], roots[n],
				    bad, count));
			}
			if (m != 0 && m != n) {
				quiet_assert(!cons_ok(m, n, roots[m - 1],
				    roots[n], proof, count));
				quiet_assert(!cons_ok(m, n, roots[m],
				    roots[n - 1], proof, count));
				quiet_assert(!cons_ok(m, n, roots[m], roots[n],
				    proof, count - 1));
			}
			if (m == n && n > 1)
				quiet_assert(!cons_ok(m, n, roots[m - 1],
				    roots[n], proof, count));
			memcpy(proof + count * HL, roots[n], HL);
			quiet_assert(!cons_ok(m, n, roots[m], roots[n], proof,
			    count + 1));
			if (count > 0) {
				memcpy(bad, proof, HL);
				memcpy(bad + HL, proof, count * HL);
				quiet_assert(!cons_ok(m, n, roots[m], roots[n],
				    bad, count + 1));
			}
			if (m != 0 && m != n)
				other_sizes(m, n, roots, proof, count);
		}
	}
}
END_TEST

/*
 * From golang.org/x/mod/sumdb/note (note_test.go): a key given by its
 * private key "PRIVATE+KEY+PeterNeumann+c74f20a3+" and the base64 of 0x01
 * and its Ed25519 seed, its verifier key, a second verifier key, a text
 * and the two keys' signature lines for it.
 */
#define DASH		"\xe2\x80\x94"
#define GO_SKEY		"AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
#define GO_VKEY		"PeterNeumann+c74f20a3+" \
			    "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
#define GO_ENOCH	"EnochRoot+af0cfe78+" \
			    "ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
#define GO_TEXT		"If you think cryptography is the answer to your " \
			    "problem,\nthen you don't know what your problem " \
			    "is.\n"
#define GO_PETER	DASH " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFup" \
			    "LLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6K" \
			    "E6RyyBwJnAM=\n"
#define GO_ENOCHSIG	DASH " EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+" \
			    "MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd" \
			    "1RvMc+QQ=\n"

static char	*tmpdir;

static void
tmp_setup(void)
{
	tmpdir = lib_tmpdir("check_merkle");
}

static void
tmp_teardown(void)
{
	lib_rm_tree(tmpdir);
	free(tmpdir);
	tmpdir = NULL;
}

/* The signer of the Go tests' private key. */
static struct note_signer *
go_signer(void)
{
	struct note_signer	*s;
	unsigned char		 raw[33];
	char			*cause = NULL;

	ck_assert_int_eq(EVP_DecodeBlock(raw, (const unsigned char *)GO_SKEY,
	    strlen(GO_SKEY)), 33);
	ck_assert_int_eq(raw[0], 1);
	s = note_signer_from_seed("PeterNeumann", raw + 1, &cause);
	ck_assert_msg(s != NULL, "%s", cause);
	return (s);
}

/* The verifier of VKEY, which must parse. */
static struct note_verifier *
verifier(const char *vkey)
{
	struct note_verifier	*v;
	char			*cause = NULL;

	v = note_verifier_parse(vkey, &cause);
	ck_assert_msg(v != NULL, "%s: %s", vkey, cause);
	return (v);
}

/* Verify MSG (LEN bytes) with V expecting TEXT. */
static void
verifies(const struct note_verifier *v, const char *msg, size_t len,
    const char *text)
{
	char	*got, *cause = NULL;

	got = note_verify(v, msg, len, &cause);
	ck_assert_msg(got != NULL, "%s", cause);
	ck_assert_str_eq(got, text);
	free(got);
}

/* Verify MSG (LEN bytes) with V expecting a refusal starting with WANT. */
static void
refused(const struct note_verifier *v, const char *msg, size_t len,
    const char *want)
{
	char	*got, *cause = NULL;

	got = note_verify(v, msg, len, &cause);
	ck_assert_msg(got == NULL, "accepted: %s", msg);
	ck_assert_ptr_nonnull(cause);
	ck_assert_msg(strncmp(cause, want, strlen(want)) == 0, "%s", cause);
	free(cause);
}

/* The key ID computed here: SHA-256(NAME || "\n" || 0x01 || PUB)[:4]. */
static uint32_t
key_id(const char *name, const unsigned char *pub)
{
	unsigned char	md[HL], head[256];
	size_t		len = strlen(name);

	ck_assert_uint_lt(len + 2, sizeof head);
	memcpy(head, name, len);
	head[len] = '\n';
	head[len + 1] = 0x01;
	sha256_two(head, len + 2, pub, 32, md);
	return ((uint32_t)md[0] << 24 | (uint32_t)md[1] << 16 |
	    (uint32_t)md[2] << 8 | md[3]);
}

/* The Go key: its verifier key, its ID, and the note it signed. */
START_TEST(test_note_vectors)
{
	struct note_signer	*s = go_signer();
	struct note_verifier	*peter = verifier(GO_VKEY);
	struct note_verifier	*enoch = verifier(GO_ENOCH);
	unsigned char		 raw[33];
	char			*vkey, *msg, *cause = NULL, *many;
	size_t			 i;

	vkey = note_signer_vkey(s);
	ck_assert_str_eq(vkey, GO_VKEY);
	free(vkey);
	ck_assert_int_eq(EVP_DecodeBlock(raw, (const unsigned char *)
	    GO_VKEY + 22, 44), 33);
	ck_assert_uint_eq(note_signer_id(s), 0xc74f20a3);
	ck_assert_uint_eq(key_id("PeterNeumann", raw + 1), 0xc74f20a3);
	ck_assert_str_eq(note_signer_name(s), "PeterNeumann");
	msg = note_sign(s, GO_TEXT, strlen(GO_TEXT), &cause);
	ck_assert_msg(msg != NULL, "%s", cause);
	ck_assert_str_eq(msg, GO_TEXT "\n" GO_PETER);
	free(msg);
	/* Each key finds its own signature; the other is ignored. */
	msg = GO_TEXT "\n" GO_PETER GO_ENOCHSIG;
	verifies(peter, msg, strlen(msg), GO_TEXT);
	verifies(enoch, msg, strlen(msg), GO_TEXT);
	ck_assert_str_eq(note_verifier_name(enoch), "EnochRoot");
	ck_assert_uint_eq(note_verifier_id(enoch), 0xaf0cfe78);
	/* As many signatures as NOTE_MAX_SIGNATURES. */
	many = xstrdup(GO_TEXT "\n");
	for (i = 0; i < NOTE_MAX_SIGNATURES; i++) {
		xasprintf(&msg, "%s%s", many, GO_PETER);
		free(many);
		many = msg;
	}
	verifies(peter, many, strlen(many), GO_TEXT);
	free(many);
	note_verifier_free(enoch);
	note_verifier_free(peter);
	note_signer_free(s);
}
END_TEST

/* The Go tests' bad notes, and signatures that do not verify. */
START_TEST(test_note_vectors_bad)
{
	static const char	*malformed[] = {
		GO_TEXT,
		GO_TEXT "\n",
		"\x01" GO_TEXT "\n" GO_PETER,
		"\xff" GO_TEXT "\n" GO_PETER,
		GO_TEXT "\n" DASH " Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFup"
		    "LLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6Ryy"
		    "BwJnAM=",
		GO_TEXT "\n" GO_PETER "Unexpected line.\n",
		GO_TEXT "\n" "- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFup"
		    "LLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6Ryy"
		    "BwJnAM=\n",
		GO_TEXT "\n" DASH " PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBt"
		    "iFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6R"
		    "yyBwJnAM\n",
		GO_TEXT "\n" DASH " PeterNeumann x08g\n",
		GO_TEXT "\n" DASH " PeterNeumann\n",
	};
	struct note_verifier	*peter = verifier(GO_VKEY);
	struct note_verifier	*enoch = verifier(GO_ENOCH);
	char			*msg, *many, *cause = NULL, text[] = GO_TEXT;
	size_t			 i;

	for (i = 0; i < sizeof malformed / sizeof malformed[0]; i++)
		refused(peter, malformed[i], strlen(malformed[i]),
		    "malformed note");
	/* Without its last newline. */
	msg = GO_TEXT "\n" GO_PETER;
	refused(peter, msg, strlen(msg) - 1, "malformed note");
	/* A NUL inside. */
	refused(peter, msg, strlen(msg) + 1, "malformed note");
	/* Four more characters in the signature (the Go test's). */
	xasprintf(&msg, "%s\n%.60s%s%s", GO_TEXT, GO_PETER, "ABCD",
	    GO_PETER + 60);
	refused(peter, msg, strlen(msg), "the signature by key "
	    "PeterNeumann+c74f20a3 does not verify");
	free(msg);
	/* One signature too many. */
	many = xstrdup(GO_TEXT "\n");
	for (i = 0; i <= NOTE_MAX_SIGNATURES; i++) {
		xasprintf(&msg, "%s%s", many, GO_PETER);
		free(many);
		many = msg;
	}
	refused(peter, many, strlen(many), "malformed note: more than 100");
	free(many);
	/* Another key's name, another key's ID, another key. */
	msg = GO_TEXT "\n" DASH " CarmenSandiego x08go/ZJkuBS9UG/SffcvIAQxVBtiF"
	    "upLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
	refused(peter, msg, strlen(msg), "the note is not signed by key "
	    "PeterNeumann+c74f20a3");
	msg = GO_TEXT "\n" DASH " PeterNeumann xxxxo/ZJkuBS9UG/SffcvIAQxVBtiFup"
	    "LLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
	refused(peter, msg, strlen(msg), "the note is not signed by key");
	msg = GO_TEXT "\n" GO_PETER;
	refused(enoch, msg, strlen(msg), "the note is not signed by key "
	    "EnochRoot+af0cfe78");
	/* The text changed by one character. */
	text[3] = 'Y';
	xasprintf(&msg, "%s\n%s", text, GO_PETER);
	refused(peter, msg, strlen(msg), "the signature by key");
	free(msg);
	ck_assert_ptr_null(cause);
	note_verifier_free(enoch);
	note_verifier_free(peter);
}
END_TEST

/* Verifier keys: the Go keys, with the ID in either case. */
START_TEST(test_note_vkey)
{
	struct note_verifier	*v;

	v = verifier(GO_VKEY);
	ck_assert_str_eq(note_verifier_name(v), "PeterNeumann");
	ck_assert_uint_eq(note_verifier_id(v), 0xc74f20a3);
	note_verifier_free(v);
	v = verifier("PeterNeumann+C74F20A3+"
	    "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW");
	ck_assert_uint_eq(note_verifier_id(v), 0xc74f20a3);
	note_verifier_free(v);
}
END_TEST

/* Every part of a verifier key, and every key with one byte changed. */
START_TEST(test_note_vkey_bad)
{
	static const char	*bad[] = {
		"",
		"PeterNeumann",
		"PeterNeumann+c74f20a3",
		"PeterNeumann+c74f20a3+",
		/* a longer key, its ID adjusted (the Go tests') */
		"PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy"
		    "10TWBADKEY==",
		/* another algorithm, its ID adjusted (the Go tests') */
		"PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy"
		    "10TW",
		"Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy"
		    "10TW",
		"PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy"
		    "10TW",
		"PeterNeumann+-74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy"
		    "10TW",
	};
	struct note_verifier	*v;
	char			 key[] = GO_VKEY, *sub, *cause = NULL;
	size_t			 i, j, len = strlen(key);

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		v = note_verifier_parse(bad[i], &cause);
		ck_assert_msg(v == NULL, "accepted %s", bad[i]);
		ck_assert_ptr_nonnull(cause);
		free(cause);
		cause = NULL;
	}
	for (i = 0; i < len; i++) {
		for (j = i + 1; j <= len; j++) {
			if (i == 0 && j == len)
				continue;
			sub = xstrndup(key + i, j - i);
			v = note_verifier_parse(sub, &cause);
			if (v != NULL)
				ck_abort_msg("accepted %s", sub);
			free(cause);
			cause = NULL;
			free(sub);
		}
	}
	for (i = 0; i < len; i++) {
		key[i]++;
		v = note_verifier_parse(key, &cause);
		if (v != NULL)
			ck_abort_msg("accepted %s", key);
		free(cause);
		cause = NULL;
		key[i]--;
	}
}
END_TEST

/* A key made, kept in a 0600 file, read back: the same key. */
START_TEST(test_note_key_file)
{
	struct note_signer	*s, *back;
	struct note_verifier	*v;
	struct stat		 st;
	DIR			*d;
	struct dirent		*de;
	char			*path, *vkey, *vkey2, *msg, *cause = NULL;
	int			 files = 0;

	s = note_signer_generate("example.com/chime", &cause);
	ck_assert_msg(s != NULL, "%s", cause);
	xasprintf(&path, "%s/journal.key", tmpdir);
	ck_assert_msg(note_signer_save(s, path, &cause) == 0, "%s", cause);
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert(S_ISREG(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 07777, 0600);
	ck_assert_ptr_nonnull(d = opendir(tmpdir));
	while ((de = readdir(d)) != NULL)
		files += de->d_name[0] != '.';
	closedir(d);
	ck_assert_int_eq(files, 1);		/* no temporary file left */
	back = note_signer_load(path, "example.com/chime", &cause);
	ck_assert_msg(back != NULL, "%s", cause);
	vkey = note_signer_vkey(s);
	vkey2 = note_signer_vkey(back);
	ck_assert_str_eq(vkey, vkey2);
	ck_assert_uint_eq(note_signer_id(back), note_signer_id(s));
	msg = note_sign(back, "hello\n", 6, &cause);
	ck_assert_ptr_nonnull(msg);
	v = verifier(vkey);
	verifies(v, msg, strlen(msg), "hello\n");
	free(msg);
	note_verifier_free(v);
	free(vkey2);
	free(vkey);
	note_signer_free(back);
	note_signer_free(s);
	free(path);
}
END_TEST

/* Load the key file at PATH expecting a cause that holds WANT. */
static void
load_refused(const char *path, const char *want)
{
	struct note_signer	*s;
	char			*cause = NULL;

	s = note_signer_load(path, "example.com/chime", &cause);
	ck_assert_ptr_null(s);
	ck_assert_msg(cause != NULL && strstr(cause, want) != NULL, "%s",
	    cause);
	free(cause);
}

/*
 * A key file is never replaced; one the group may read, not PEM, not
 * Ed25519 or missing is refused; a name with a space or a '+' names no key.
 */
START_TEST(test_note_key_file_bad)
{
	static const char	*names[] = { "", "a b", "a+b", "a\tb", "a\nb",
		"a\xc2\xa0" "b", "a\xe3\x80\x80" "b", "a\xe2\x80\xa8" "b",
		"a\xff" "b", "a\xc0\xaf" "b" };
	struct note_signer	*s, *other;
	EVP_PKEY		*ec, *ed;
	FILE			*f;
	char			*path, *pem, *cause = NULL, *vkey, *vkey2;
	size_t			 i;

	s = note_signer_generate("example.com/chime", &cause);
	other = note_signer_generate("example.com/chime", &cause);
	ck_assert(s != NULL && other != NULL);
	xasprintf(&path, "%s/journal.key", tmpdir);
	ck_assert_int_eq(note_signer_save(s, path, &cause), 0);
	ck_assert_int_eq(note_signer_save(other, path, &cause), -1);
	ck_assert_msg(strstr(cause, "File exists") != NULL, "%s", cause);
	free(cause);
	cause = NULL;
	note_signer_free(other);
	other = note_signer_load(path, "example.com/chime", &cause);
	ck_assert_ptr_nonnull(other);
	vkey = note_signer_vkey(s);
	vkey2 = note_signer_vkey(other);
	ck_assert_str_eq(vkey, vkey2);		/* still the first key */
	free(vkey);
	free(vkey2);
	note_signer_free(other);
	ck_assert_int_eq(chmod(path, 0640), 0);
	load_refused(path, "lets the group or others in");
	free(path);
	path = lib_put_file(tmpdir, "text.key", "not a key\n", 10, 0600);
	load_refused(path, "not a PEM private key");
	free(path);
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ck_assert_ptr_nonnull(ec);
	xasprintf(&pem, "%s/ec.key", tmpdir);
	ck_assert_ptr_nonnull(f = fopen(pem, "w"));
	ck_assert_int_eq(PEM_write_PrivateKey(f, ec, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(f);
	ck_assert_int_eq(chmod(pem, 0600), 0);
	load_refused(pem, "not an Ed25519 key");
	free(pem);
	EVP_PKEY_free(ec);
	/* Encrypted: refused, never a prompt for the passphrase. */
	ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	ck_assert_ptr_nonnull(ed);
	xasprintf(&pem, "%s/encrypted.key", tmpdir);
	ck_assert_ptr_nonnull(f = fopen(pem, "w"));
	ck_assert_int_eq(PEM_write_PrivateKey(f, ed, EVP_aes_256_cbc(),
	    (unsigned char *)"secret", 6, NULL, NULL), 1);
	fclose(f);
	EVP_PKEY_free(ed);
	ck_assert_int_eq(chmod(pem, 0600), 0);
	load_refused(pem, "or encrypted");
	free(pem);
	xasprintf(&path, "%s/missing.key", tmpdir);
	load_refused(path, "No such file");
	free(path);
	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		other = note_signer_generate(names[i], &cause);
		ck_assert_msg(other == NULL, "named %s", names[i]);
		free(cause);
		cause = NULL;
	}
	note_signer_free(s);
}
END_TEST

/* Texts of any UTF-8, blank lines inside or last, signed and verified. */
START_TEST(test_note_sign)
{
	static const char	*texts[] = { "a\n", "\n", "a\n\nb\n", "a\n\n",
		"caf\xc3\xa9 " DASH " \xf0\x9f\x98\x80\n", "del\x7f\n",
		"example.com/log\n42\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
	};
	struct note_signer	*s;
	struct note_verifier	*v;
	unsigned char		 raw[33];
	char			*vkey, *msg, *b64, *cause = NULL;
	size_t			 i;

	s = note_signer_generate("example.com/log", &cause);
	ck_assert_ptr_nonnull(s);
	vkey = note_signer_vkey(s);
	v = verifier(vkey);
	/* After the second '+': the base64 may hold more. */
	b64 = strchr(strchr(vkey, '+') + 1, '+') + 1;
	ck_assert_int_eq(EVP_DecodeBlock(raw, (const unsigned char *)b64,
	    strlen(b64)), 33);
	ck_assert_int_eq(raw[0], 1);
	ck_assert_uint_eq(note_signer_id(s), key_id("example.com/log",
	    raw + 1));
	ck_assert_uint_eq(note_verifier_id(v), note_signer_id(s));
	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		msg = note_sign(s, texts[i], strlen(texts[i]), &cause);
		ck_assert_msg(msg != NULL, "%s: %s", texts[i], cause);
		verifies(v, msg, strlen(msg), texts[i]);
		free(msg);
	}
	note_verifier_free(v);
	free(vkey);
	note_signer_free(s);
}
END_TEST

/* Texts that are no note's: no final newline, control characters, bad
 * UTF-8; and a signed note changed after signing. */
START_TEST(test_note_sign_bad)
{
	static const char	*texts[] = { "", "abc", "a\n\tb\n", "a\rb\n",
		"\x01\n", "\x1b[0m\n", "\xc0\xaf\n", "\xed\xa0\x80\n",
		"\xf4\x90\x80\x80\n", "\xe2\x80\n", "\x80\n", "\xf8\x88\x80\x80"
		"\x80\n" };
	struct note_signer	*s;
	struct note_verifier	*v;
	char			*vkey, *msg, *cause = NULL;
	size_t			 i;

	s = go_signer();
	for (i = 0; i < sizeof texts / sizeof texts[0]; i++) {
		msg = note_sign(s, texts[i], strlen(texts[i]), &cause);
		ck_assert_msg(msg == NULL, "signed %s", texts[i]);
		ck_assert_ptr_nonnull(cause);
		free(cause);
		cause = NULL;
	}
	vkey = note_signer_vkey(s);
	v = verifier(vkey);
	msg = note_sign(s, "a\nb\n", 4, &cause);
	ck_assert_ptr_nonnull(msg);
	msg[1] = '\t';
	refused(v, msg, strlen(msg), "malformed note");
	msg[1] = '\n';
	msg[2] = 'c';
	refused(v, msg, strlen(msg), "the signature by key");
	free(msg);
	note_verifier_free(v);
	free(vkey);
	note_signer_free(s);
}
END_TEST

/* The example checkpoint of c2sp.org/tlog-checkpoint. */
#define C2SP_TEXT	"example.com/behind-the-sofa\n20852163\n" \
			    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"

/* A checkpoint made and read: the spec's example, 0, extensions. */
START_TEST(test_note_checkpoint)
{
	struct note_checkpoint	*c;
	unsigned char		 root[HL];
	char			*text, *cause = NULL;
	const char		*max;

	c = note_checkpoint_parse(C2SP_TEXT, strlen(C2SP_TEXT), &cause);
	ck_assert_msg(c != NULL, "%s", cause);
	ck_assert_str_eq(c->origin, "example.com/behind-the-sofa");
	ck_assert_uint_eq(c->size, 20852163);
	ck_assert_str_eq(c->extensions, "");
	text = note_checkpoint_format(c->origin, c->size, c->root, NULL,
	    &cause);
	ck_assert_str_eq(text, C2SP_TEXT);
	free(text);
	memcpy(root, c->root, HL);
	note_checkpoint_free(c);
	text = note_checkpoint_format("o", 0, root, "ext one\n" DASH "\n",
	    &cause);
	ck_assert_str_eq(text, "o\n0\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jx"
	    "q2I=\next one\n" DASH "\n");
	c = note_checkpoint_parse(text, strlen(text), &cause);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->size, 0);
	ck_assert_str_eq(c->extensions, "ext one\n" DASH "\n");
	ck_assert_mem_eq(c->root, root, HL);
	note_checkpoint_free(c);
	free(text);
	max = "o\n18446744073709551615\n"
	    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
	c = note_checkpoint_parse(max, strlen(max), &cause);
	ck_assert_ptr_nonnull(c);
	ck_assert_uint_eq(c->size, UINT64_MAX);
	note_checkpoint_free(c);
	ck_assert_ptr_null(cause);
}
END_TEST

/* Checkpoints with a line missing, empty, or not the number or hash. */
START_TEST(test_note_checkpoint_bad)
{
	static const char	*bad[] = {
		"",
		"example.com/log\n",
		"example.com/log\n5\n",
		"example.com/log\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
		"\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n05\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n+5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n-5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n 5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n5x\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n18446744073709551616\n"
		    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n99999999999999999999\n"
		    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"o\n5\n\n",
		"o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
		"o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2J=\n",
		"o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=AAAA\n",
		"o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jx\n",
		"o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
		"o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\next\n\n",
		"o\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\next",
		"o\t\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
	};
	static const struct {
		const char	*origin, *ext;
	} badfmt[] = {
		{ "", NULL }, { "a b", NULL }, { "a\nb", NULL }, { "a+b", NULL },
		{ "o", "ext" }, { "o", "\n" }, { "o", "a\n\nb\n" },
		{ "o", "a\x01\n" }, { "o", "\xff\n" },
	};
	unsigned char		 root[HL];
	struct note_checkpoint	*c;
	char			*text, *cause = NULL;
	size_t			 i;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		c = note_checkpoint_parse(bad[i], strlen(bad[i]), &cause);
		ck_assert_msg(c == NULL, "parsed %s", bad[i]);
		ck_assert_msg(strncmp(cause, "malformed checkpoint", 20) == 0,
		    "%s", cause);
		free(cause);
		cause = NULL;
	}
	memset(root, 0, sizeof root);
	for (i = 0; i < sizeof badfmt / sizeof badfmt[0]; i++) {
		text = note_checkpoint_format(badfmt[i].origin, 1, root,
		    badfmt[i].ext, &cause);
		ck_assert_msg(text == NULL, "made %s", text);
		ck_assert_ptr_nonnull(cause);
		free(cause);
		cause = NULL;
	}
	text = note_checkpoint_format("o", 1, root, "", &cause);
	ck_assert_str_eq(text, "o\n1\n"
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
	free(text);
}
END_TEST

/*
 * A log's checkpoint end to end: the root of a compact range signed in a
 * note, verified and read back, a leaf proved against it.
 */
START_TEST(test_note_checkpoint_signed)
{
	struct merkle_range	 r;
	struct leaves		 l = { all, 0, UINT64_MAX };
	struct note_signer	*s;
	struct note_verifier	*v;
	struct note_checkpoint	*c;
	unsigned char		 root[HL], proof[MERKLE_PROOF_MAX * HL];
	char			*text, *msg, *vkey, *back, *cause = NULL;
	size_t			 count;
	int			 i;

	merkle_range_init(&r);
	for (i = 0; i < 10; i++)
		merkle_range_append(&r, all[i]);
	merkle_range_root(&r, root);
	s = go_signer();
	text = note_checkpoint_format(note_signer_name(s), r.size, root, NULL,
	    &cause);
	ck_assert_ptr_nonnull(text);
	msg = note_sign(s, text, strlen(text), &cause);
	ck_assert_ptr_nonnull(msg);
	vkey = note_signer_vkey(s);
	v = verifier(vkey);
	back = note_verify(v, msg, strlen(msg), &cause);
	ck_assert_msg(back != NULL, "%s", cause);
	ck_assert_str_eq(back, text);
	c = note_checkpoint_parse(back, strlen(back), &cause);
	ck_assert_ptr_nonnull(c);
	ck_assert_str_eq(c->origin, "PeterNeumann");
	ck_assert_uint_eq(c->size, 10);
	ck_assert_mem_eq(c->root, root, HL);
	ck_assert_int_eq(merkle_inclusion_proof(3, c->size, leaf_cb, &l,
	    proof, &count, &cause), 0);
	ck_assert(incl_ok(3, c->size, all[3], proof, count, c->root));
	note_checkpoint_free(c);
	free(back);
	free(msg);
	free(text);
	free(vkey);
	note_verifier_free(v);
	note_signer_free(s);
}
END_TEST

/* A signed checkpoint whose size or root is changed no longer verifies. */
START_TEST(test_note_checkpoint_signed_bad)
{
	struct note_signer	*s;
	struct note_verifier	*v;
	unsigned char		 root[HL];
	char			*text, *msg, *vkey, *cause = NULL, *p;

	ref_mth(all, 0, 10, root);
	s = go_signer();
	text = note_checkpoint_format("PeterNeumann", 10, root, NULL, &cause);
	msg = note_sign(s, text, strlen(text), &cause);
	ck_assert_ptr_nonnull(msg);
	vkey = note_signer_vkey(s);
	v = verifier(vkey);
	p = strstr(msg, "\n10\n");
	ck_assert_ptr_nonnull(p);
	p[2] = '1';			/* 11 leaves */
	refused(v, msg, strlen(msg), "the signature by key");
	p[2] = '0';
	p[5] ^= 1;			/* the root's second character */
	refused(v, msg, strlen(msg), "the signature by key");
	free(msg);
	free(text);
	free(vkey);
	note_verifier_free(v);
	note_signer_free(s);
}
END_TEST

/*
 * One suite of GOOD and BAD tests (and a second pair, if any), each test
 * in a temporary directory when TMP is set.
 */
static Suite *
one_suite(const char *name, int tmp, const TTest *good, const TTest *bad,
    const TTest *good2, const TTest *bad2)
{
	Suite	*s = suite_create(name);
	TCase	*tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, all_setup, NULL);
	if (tmp)
		tcase_add_checked_fixture(tc, tmp_setup, tmp_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, good);
	tcase_add_test(tc, bad);
	if (good2 != NULL) {
		tcase_add_test(tc, good2);
		tcase_add_test(tc, bad2);
	}
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	log_open("check_merkle", LOG_LEVEL_WARN);
	return (lib_run(CK_NORMAL,
	    one_suite("merkle-hash", 0, test_merkle_hash, test_merkle_hash_bad,
	    test_merkle_root, test_merkle_root_bad),
	    one_suite("merkle-range", 0, test_merkle_range,
	    test_merkle_range_bad, NULL, NULL),
	    one_suite("merkle-inclusion", 0, test_merkle_inclusion,
	    test_merkle_inclusion_bad, test_merkle_inclusion_all,
	    test_merkle_inclusion_all_bad),
	    one_suite("merkle-consistency", 0, test_merkle_consistency,
	    test_merkle_consistency_bad, test_merkle_consistency_all,
	    test_merkle_consistency_all_bad),
	    one_suite("note", 0, test_note_vectors, test_note_vectors_bad,
	    test_note_sign, test_note_sign_bad),
	    one_suite("note-key", 1, test_note_vkey, test_note_vkey_bad,
	    test_note_key_file, test_note_key_file_bad),
	    one_suite("note-checkpoint", 0, test_note_checkpoint,
	    test_note_checkpoint_bad, test_note_checkpoint_signed,
	    test_note_checkpoint_signed_bad), NULL));
}
