/*
 * journal/chain.c: the hash chain.
 *
 * hash(0) = SHA-256 of the 24 ASCII bytes "chime-journal-genesis-v1";
 * hash(n) = SHA-256(hash(n-1) || record bytes(n)).  OpenSSL 3 EVP with
 * SHA-256 fetched once per process (implicit fetches are slow in 3.0).
 */
#include <sys/types.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "engine.h"
#include "journal.h"

#define CHAIN_GENESIS_INPUT	"chime-journal-genesis-v1"

struct chain_ctx {
	EVP_MD_CTX	*md_ctx;
};

static void		 chain_init(void);
static const EVP_MD	*chain_md(void);

static pthread_once_t	 chain_once = PTHREAD_ONCE_INIT;
static EVP_MD		*chain_sha256;
static uint8_t		 chain_genesis_hash[JOURNAL_HASH_LEN];

static void
chain_init(void)
{
	unsigned int	len;

	chain_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (chain_sha256 == NULL)
		fatalx("chain: SHA-256 is not available from OpenSSL");
	if (EVP_Digest(CHAIN_GENESIS_INPUT, strlen(CHAIN_GENESIS_INPUT),
	    chain_genesis_hash, &len, chain_sha256, NULL) != 1 ||
	    len != JOURNAL_HASH_LEN)
		fatalx("chain: EVP_Digest failed");
}

static const EVP_MD *
chain_md(void)
{
	pthread_once(&chain_once, chain_init);
	return (chain_sha256);
}

void
chain_genesis(uint8_t out[JOURNAL_HASH_LEN])
{
	chain_md();
	memcpy(out, chain_genesis_hash, JOURNAL_HASH_LEN);
}

void
chain_next(const uint8_t prev[JOURNAL_HASH_LEN], const void *data, size_t len,
    uint8_t out[JOURNAL_HASH_LEN])
{
	struct chain_ctx	ctx;

	if ((ctx.md_ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("chain: out of memory");
	chain_ctx_begin(&ctx, prev);
	chain_ctx_update(&ctx, data, len);
	chain_ctx_end(&ctx, out);
	EVP_MD_CTX_free(ctx.md_ctx);
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

/* One hex digit's value, or -1. */
static int
chain_xdigit(char c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

int
chain_unhex(const char *s, uint8_t out[JOURNAL_HASH_LEN])
{
	int	i, hi, lo;

	if (strlen(s) != 64)
		return (-1);
	for (i = 0; i < JOURNAL_HASH_LEN; i++) {
		hi = chain_xdigit(s[i * 2]);
		lo = chain_xdigit(s[i * 2 + 1]);
		if (hi == -1 || lo == -1)
			return (-1);
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (0);
}

struct chain_ctx *
chain_ctx_create(void)
{
	struct chain_ctx	*ctx;

	ctx = xcalloc(1, sizeof *ctx);
	if ((ctx->md_ctx = EVP_MD_CTX_new()) == NULL)
		fatalx("chain: out of memory");
	return (ctx);
}

void
chain_ctx_begin(struct chain_ctx *ctx, const uint8_t prev[JOURNAL_HASH_LEN])
{
	if (EVP_DigestInit_ex2(ctx->md_ctx, chain_md(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx->md_ctx, prev, JOURNAL_HASH_LEN) != 1)
		fatalx("chain: EVP_DigestInit_ex2 failed");
}

void
chain_ctx_update(struct chain_ctx *ctx, const void *data, size_t len)
{
	if (len != 0 && EVP_DigestUpdate(ctx->md_ctx, data, len) != 1)
		fatalx("chain: EVP_DigestUpdate failed");
}

void
chain_ctx_end(struct chain_ctx *ctx, uint8_t out[JOURNAL_HASH_LEN])
{
	unsigned int	len;

	if (EVP_DigestFinal_ex(ctx->md_ctx, out, &len) != 1 ||
	    len != JOURNAL_HASH_LEN)
		fatalx("chain: EVP_DigestFinal_ex failed");
}

void
chain_ctx_free(struct chain_ctx *ctx)
{
	if (ctx == NULL)
		return;
	EVP_MD_CTX_free(ctx->md_ctx);
	free(ctx);
}

void
chain_ctx_leaf(struct chain_ctx *ctx, const void *a, size_t alen,
    const void *b, size_t blen, uint8_t out[JOURNAL_HASH_LEN])
{
	static const uint8_t	prefix = 0x00;
	unsigned int		len;

	if (EVP_DigestInit_ex2(ctx->md_ctx, chain_md(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx->md_ctx, &prefix, 1) != 1 ||
	    EVP_DigestUpdate(ctx->md_ctx, a, alen) != 1 ||
	    (blen != 0 && EVP_DigestUpdate(ctx->md_ctx, b, blen) != 1) ||
	    EVP_DigestFinal_ex(ctx->md_ctx, out, &len) != 1 ||
	    len != JOURNAL_HASH_LEN)
		fatalx("chain: leaf hash failed");
}
