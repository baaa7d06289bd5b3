/*
 * journal/chain.c: the hash chain.
 *
 * hash(0) = SHA-256 of the 24 ASCII bytes "chime-journal-genesis-v1";
 * hash(n) = SHA-256(hash(n-1) || record bytes(n)).  OpenSSL's SHA256_*
 * functions, deprecated in OpenSSL 3 but kept: a record's two hashes are a
 * hot path (the writer, verify, the scrub), and OpenSSL 3.0's EVP frees,
 * allocates and cleanses a provider context at each EVP_DigestInit_ex2,
 * which costs verify 15 % of its hashing (bench/verify-bench).
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <sys/types.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "engine.h"
#include "journal.h"

#define CHAIN_GENESIS_INPUT	"chime-journal-genesis-v1"

struct chain_ctx {
	SHA256_CTX	sha;
};

static void		 chain_init(void);

static pthread_once_t	 chain_once = PTHREAD_ONCE_INIT;
static uint8_t		 chain_genesis_hash[JOURNAL_HASH_LEN];

static void
chain_init(void)
{
	SHA256_CTX	sha;

	if (SHA256_Init(&sha) != 1 || SHA256_Update(&sha, CHAIN_GENESIS_INPUT,
	    strlen(CHAIN_GENESIS_INPUT)) != 1 ||
	    SHA256_Final(chain_genesis_hash, &sha) != 1)
		fatalx("chain: SHA-256 failed");
}

void
chain_genesis(uint8_t out[JOURNAL_HASH_LEN])
{
	pthread_once(&chain_once, chain_init);
	memcpy(out, chain_genesis_hash, JOURNAL_HASH_LEN);
}

void
chain_next(const uint8_t prev[JOURNAL_HASH_LEN], const void *data, size_t len,
    uint8_t out[JOURNAL_HASH_LEN])
{
	struct chain_ctx	ctx;

	chain_ctx_begin(&ctx, prev);
	chain_ctx_update(&ctx, data, len);
	chain_ctx_end(&ctx, out);
}

void
chain_hex(const uint8_t hash[JOURNAL_HASH_LEN], char out[65])
{
	static const char	hex[] = "0123456789abcdef";
	int			i;

	for (i = 0; i < JOURNAL_HASH_LEN; i++) {
		out[i * 2] = hex[hash[i] >> 4];
		out[i * 2 + 1] = hex[hash[i] & 0xf];
	}
	out[64] = '\0';
}

int
chain_unhex(const char *s, uint8_t out[JOURNAL_HASH_LEN])
{
	int	i, hi, lo;

	if (strlen(s) != 64)
		return (-1);
	for (i = 0; i < JOURNAL_HASH_LEN; i++) {
		hi = hex_digit((unsigned char)s[i * 2]);
		lo = hex_digit((unsigned char)s[i * 2 + 1]);
		if (hi == -1 || lo == -1)
			return (-1);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (0);
}

struct chain_ctx *
chain_ctx_create(void)
{
	return (xcalloc(1, sizeof (struct chain_ctx)));
}

void
chain_ctx_begin(struct chain_ctx *ctx, const uint8_t prev[JOURNAL_HASH_LEN])
{
	if (SHA256_Init(&ctx->sha) != 1 ||
	    SHA256_Update(&ctx->sha, prev, JOURNAL_HASH_LEN) != 1)
		fatalx("chain: SHA256_Init failed");
}

void
chain_ctx_update(struct chain_ctx *ctx, const void *data, size_t len)
{
	if (len != 0 && SHA256_Update(&ctx->sha, data, len) != 1)
		fatalx("chain: SHA256_Update failed");
}

void
chain_ctx_end(struct chain_ctx *ctx, uint8_t out[JOURNAL_HASH_LEN])
{
	if (SHA256_Final(out, &ctx->sha) != 1)
		fatalx("chain: SHA256_Final failed");
}

void
chain_ctx_free(struct chain_ctx *ctx)
{
	free(ctx);
}

void
chain_ctx_leaf(struct chain_ctx *ctx, const void *a, size_t alen,
    const void *b, size_t blen, uint8_t out[JOURNAL_HASH_LEN])
{
	static const uint8_t	prefix = 0x00;

	if (SHA256_Init(&ctx->sha) != 1 ||
	    SHA256_Update(&ctx->sha, &prefix, 1) != 1 ||
	    SHA256_Update(&ctx->sha, a, alen) != 1 ||
	    (blen != 0 && SHA256_Update(&ctx->sha, b, blen) != 1) ||
	    SHA256_Final(out, &ctx->sha) != 1)
		fatalx("chain: leaf hash failed");
}
