/*
 * engine/sign.c: Standard Webhooks signatures (standardwebhooks.com), the
 * same for the calls the http executor signs and for the inbound webhooks
 * the daemon verifies: the key a "whsec_..." secret decodes to, and the
 * "v1,..." signature of a message.
 */
/*
 * HMAC-SHA256 is RFC 2104 over OpenSSL's SHA256_* functions, deprecated in
 * OpenSSL 3 but kept (as journal/chain.c does): OpenSSL 3's HMAC() fetches
 * the algorithm and makes and frees a MAC context at each call, about 6 %
 * of the loop's time for an inbound webhook (bench/webhook-bench).
 */
#define OPENSSL_SUPPRESS_DEPRECATED

#include <sys/types.h>
#include <sys/uio.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "engine.h"

static char	*sign_base64(const unsigned char *, size_t);

static char *
sign_base64(const unsigned char *in, size_t len)
{
	char	*out;

	out = xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return (out);
}

/*
 * The HMAC key of a Standard Webhooks SECRET, decoded as the reference
 * libraries do (standard-webhooks/libraries: Webhook(secret)): an optional
 * "whsec_" prefix is dropped and the rest is base64 (the standard
 * alphabet; the padding may be left out, as provider dashboards often
 * show it), so "whsec_XYZ" and the bare "XYZ" are the same key.  *key is
 * allocated (wipe it with secret_free).  Returns -1 with *cause set when
 * the rest is empty or not base64; nothing is ever taken as raw bytes.
 */
int
sign_standard_key(const unsigned char *secret, size_t len, unsigned char **key,
    size_t *keylen, char **cause)
{
	const unsigned char	*b64 = secret;
	unsigned char		*in;
	size_t			 n = len, i, pad = 0, full;
	int			 got;

	*key = NULL;
	*keylen = 0;
	if (n >= 6 && memcmp(b64, "whsec_", 6) == 0) {
		b64 += 6;
		n -= 6;
	}
	while (pad < 2 && pad < n && b64[n - 1 - pad] == '=')
		pad++;
	for (i = 0; i < n - pad; i++) {
		if (!isalnum(b64[i]) && b64[i] != '+' && b64[i] != '/')
			break;
	}
	/* Unpadded lengths that leave 1 character over cannot be base64. */
	if (n == pad || i != n - pad || n > 64 * 1024 ||
	    (pad != 0 && n % 4 != 0) || (n - pad) % 4 == 1) {
		xasprintf(cause, "a Standard Webhooks secret must be base64, "
		    "with or without the whsec_ prefix");
		return (-1);
	}
	/* EVP_DecodeBlock takes whole quads: pad what was left unpadded. */
	full = (n - pad + 3) / 4 * 4;
	in = xmalloc(full + 1);		/* secret_free wipes a NUL too */
	memcpy(in, b64, n - pad);
	memset(in + n - pad, '=', full - (n - pad));
	*key = xmalloc(full / 4 * 3 + 1);
	got = EVP_DecodeBlock(*key, in, (int)full);
	pad = full - (n - pad);
	secret_free(in, full);
	if (got < 0 || (size_t)got <= pad) {
		secret_free(*key, full / 4 * 3);
		*key = NULL;
		xasprintf(cause, "a Standard Webhooks secret must be base64, "
		    "with or without the whsec_ prefix");
		return (-1);
	}
	*keylen = (size_t)got - pad;
	return (0);
}

/*
 * HMAC-SHA256 (RFC 2104) under KEY (KEYLEN bytes; a key longer than the
 * block is hashed first) of the N pieces of PARTS, one after another, into
 * OUT.
 */
void
sign_hmac_sha256(const void *key, size_t keylen, const struct iovec *parts,
    size_t n, uint8_t out[SIGN_HMAC_LEN])
{
	SHA256_CTX	ctx;
	uint8_t		k[SHA256_CBLOCK], pad[SHA256_CBLOCK];
	uint8_t		inner[SHA256_DIGEST_LENGTH];
	size_t		i;

	memset(k, 0, sizeof k);
	if (keylen > sizeof k) {
		if (SHA256_Init(&ctx) != 1 ||
		    SHA256_Update(&ctx, key, keylen) != 1 ||
		    SHA256_Final(k, &ctx) != 1)
			fatalx("sign_hmac_sha256: SHA-256 failed");
	} else if (keylen > 0)
		memcpy(k, key, keylen);
	for (i = 0; i < sizeof pad; i++)
		pad[i] = k[i] ^ 0x36;
	if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, pad, sizeof pad) != 1)
		fatalx("sign_hmac_sha256: SHA-256 failed");
	for (i = 0; i < n; i++) {
		if (parts[i].iov_len > 0 && SHA256_Update(&ctx,
		    parts[i].iov_base, parts[i].iov_len) != 1)
			fatalx("sign_hmac_sha256: SHA-256 failed");
	}
	if (SHA256_Final(inner, &ctx) != 1)
		fatalx("sign_hmac_sha256: SHA-256 failed");
	for (i = 0; i < sizeof pad; i++)
		pad[i] = k[i] ^ 0x5c;
	if (SHA256_Init(&ctx) != 1 ||
	    SHA256_Update(&ctx, pad, sizeof pad) != 1 ||
	    SHA256_Update(&ctx, inner, sizeof inner) != 1 ||
	    SHA256_Final(out, &ctx) != 1)
		fatalx("sign_hmac_sha256: SHA-256 failed");
	OPENSSL_cleanse(k, sizeof k);
	OPENSSL_cleanse(pad, sizeof pad);
	OPENSSL_cleanse(inner, sizeof inner);
	OPENSSL_cleanse(&ctx, sizeof ctx);
}

/*
 * The Standard Webhooks signature of BODY sent as message ID at TS (Unix
 * seconds): "v1," and the base64 of HMAC-SHA256(KEY, "ID.TS.BODY").
 * Returns allocated text.
 */
char *
sign_standard(const unsigned char *key, size_t keylen, const char *id,
    int64_t ts, const char *body, size_t len)
{
	uint8_t		 mac[SIGN_HMAC_LEN];
	struct iovec	 parts[3];
	char		 stamp[32], *b64, *out;
	int		 n;

	n = snprintf(stamp, sizeof stamp, ".%" PRId64 ".", ts);
	parts[0].iov_base = (void *)id;
	parts[0].iov_len = strlen(id);
	parts[1].iov_base = stamp;
	parts[1].iov_len = (size_t)n;
	parts[2].iov_base = (void *)body;
	parts[2].iov_len = len;
	sign_hmac_sha256(key, keylen, parts, 3, mac);
	b64 = sign_base64(mac, sizeof mac);
	xasprintf(&out, "v1,%s", b64);
	free(b64);
	return (out);
}
