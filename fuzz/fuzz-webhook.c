/*
 * fuzz/fuzz-webhook.c: inbound webhook headers and their verification.
 *
 * Input: seven lines, the last one taking the rest:
 *	STYLE		standard, github or stripe (else by its first byte)
 *	SECRET		the schedule's secret (whsec_ base64 for standard)
 *	NOW		the daemon's clock, Unix seconds
 *	H1 H2 H3	standard: webhook-id, webhook-timestamp,
 *			webhook-signature; github: X-Hub-Signature-256;
 *			stripe: Stripe-Signature
 *	BODY		the request body, any bytes
 * as actors/webhook.c hands them to webhook_verify_{standard,github,
 * stripe}, with the key sign_standard_key makes of the secret.  The
 * tolerance is 300 s.
 *
 * Properties, with the MAC computed here apart from the daemon's code: an
 * accepted delivery carries the right MAC; a delivery refused only for
 * "no matching signature" is accepted once the right MAC is added.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "actors.h"
#include "fuzz.h"

#define FUZZ_WEBHOOK_TOLERANCE	300
#define FUZZ_WEBHOOK_SIG_MAX	4096	/* WEBHOOK_SIG_MAX */

/* One input, split. */
struct fuzz_webhook {
	const struct fuzz_fields *f;
	const unsigned char	*key;
	size_t			 keylen;
	int64_t			 now;
	const char		*body;
	size_t			 len;
};

static void	fuzz_webhook_mac(const struct fuzz_webhook *, const char *,
		    const char *, unsigned char [32]);
static void	fuzz_webhook_hex(const unsigned char [32], char [65]);
static void	fuzz_webhook_standard(const struct fuzz_webhook *,
		    const char *, const char *, const char *);
static void	fuzz_webhook_github(const struct fuzz_webhook *,
		    const char *);
static int	fuzz_webhook_stripe_has(const char *, const char *);
static void	fuzz_webhook_stripe(const struct fuzz_webhook *,
		    const char *);

/* HMAC-SHA256 under the key of A, B and the body. */
static void
fuzz_webhook_mac(const struct fuzz_webhook *w, const char *a, const char *b,
    unsigned char mac[32])
{
	unsigned char	*msg;
	unsigned int	 maclen = 0;
	size_t		 alen = strlen(a), blen = strlen(b);

	msg = xmalloc(alen + blen + w->len + 1);
	memcpy(msg, a, alen);
	memcpy(msg + alen, b, blen);
	memcpy(msg + alen + blen, w->body, w->len);
	if (HMAC(EVP_sha256(), w->key, (int)w->keylen, msg,
	    alen + blen + w->len, mac, &maclen) == NULL || maclen != 32)
		fuzz_fail("HMAC failed", w->f);
	free(msg);
}

static void
fuzz_webhook_hex(const unsigned char mac[32], char hex[65])
{
	int	i;

	for (i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", mac[i]);
}

static void
fuzz_webhook_standard(const struct fuzz_webhook *w, const char *id,
    const char *ts, const char *sigs)
{
	unsigned char	 mac[32];
	char		 want[64], *prefix, *more, *p, *e;
	const char	*reason;
	int		 rc, found = 0;

	rc = webhook_verify_standard(w->key, w->keylen, id, ts, sigs, w->body,
	    w->len, w->now, FUZZ_WEBHOOK_TOLERANCE, &reason);
	if (rc != 0 && strcmp(reason, "no matching signature") != 0)
		return;
	xasprintf(&prefix, "%s.%s.", id, ts);
	fuzz_webhook_mac(w, prefix, "", mac);
	free(prefix);
	memcpy(want, "v1,", 3);
	EVP_EncodeBlock((unsigned char *)want + 3, mac, 32);
	if (rc == 0) {
		for (p = (char *)sigs; *p != '\0'; p = e) {
			while (*p == ' ')
				p++;
			e = p + strcspn(p, " ");
			if ((size_t)(e - p) == strlen(want) &&
			    memcmp(p, want, e - p) == 0)
				found = 1;
		}
		if (!found)
			fuzz_fail("standard: accepted without the right MAC",
			    w->f);
		return;
	}
	if (strlen(sigs) + strlen(want) + 1 > FUZZ_WEBHOOK_SIG_MAX)
		return;
	xasprintf(&more, "%s %s", want, sigs);
	if (webhook_verify_standard(w->key, w->keylen, id, ts, more, w->body,
	    w->len, w->now, FUZZ_WEBHOOK_TOLERANCE, &reason) != 0)
		fuzz_fail("standard: the right MAC added, still refused",
		    w->f);
	free(more);
}

static void
fuzz_webhook_github(const struct fuzz_webhook *w, const char *sig)
{
	unsigned char	 mac[32];
	char		 hex[65], good[7 + 65];
	const char	*reason;
	int		 rc;

	rc = webhook_verify_github(w->key, w->keylen, sig, w->body, w->len,
	    &reason);
	if (rc != 0 && strcmp(reason, "no matching signature") != 0)
		return;
	fuzz_webhook_mac(w, "", "", mac);
	fuzz_webhook_hex(mac, hex);
	if (rc == 0) {
		if (strncmp(sig, "sha256=", 7) != 0 ||
		    strcasecmp(sig + 7, hex) != 0)
			fuzz_fail("github: accepted without the right MAC",
			    w->f);
		return;
	}
	snprintf(good, sizeof good, "sha256=%s", hex);
	if (webhook_verify_github(w->key, w->keylen, good, w->body, w->len,
	    &reason) != 0)
		fuzz_fail("github: the right MAC refused", w->f);
}

/* Does Stripe-Signature HEADER have a v1 entry equal to HEX (any case)? */
static int
fuzz_webhook_stripe_has(const char *header, const char *hex)
{
	const char	*p, *e;

	for (p = header; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		if (e - p == 3 + 64 && strncmp(p, "v1=", 3) == 0 &&
		    strncasecmp(p + 3, hex, 64) == 0)
			return (1);
	}
	return (0);
}

static void
fuzz_webhook_stripe(const struct fuzz_webhook *w, const char *header)
{
	unsigned char	 mac[32];
	char		 hex[65], *ts = NULL, *more;
	const char	*reason, *p, *e;
	int		 rc;

	rc = webhook_verify_stripe(w->key, w->keylen, header, w->body, w->len,
	    w->now, FUZZ_WEBHOOK_TOLERANCE, &reason);
	if (rc != 0 && strcmp(reason, "no matching signature") != 0)
		return;
	for (p = header; *p != '\0' && ts == NULL; p = *e == ',' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		if (e - p > 2 && strncmp(p, "t=", 2) == 0)
			xasprintf(&ts, "%.*s.", (int)(e - p - 2), p + 2);
	}
	if (ts == NULL)
		fuzz_fail("stripe: passed its checks without t=", w->f);
	fuzz_webhook_mac(w, ts, "", mac);
	free(ts);
	fuzz_webhook_hex(mac, hex);
	if (rc == 0) {
		if (!fuzz_webhook_stripe_has(header, hex))
			fuzz_fail("stripe: accepted without the right MAC",
			    w->f);
		return;
	}
	if (strlen(header) + 3 + 64 + 1 > FUZZ_WEBHOOK_SIG_MAX)
		return;
	xasprintf(&more, "v1=%s,%s", hex, header);
	if (webhook_verify_stripe(w->key, w->keylen, more, w->body, w->len,
	    w->now, FUZZ_WEBHOOK_TOLERANCE, &reason) != 0)
		fuzz_fail("stripe: the right MAC added, still refused", w->f);
	free(more);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_fields	 f;
	struct fuzz_webhook	 w;
	unsigned char		*key = NULL;
	size_t			 keylen = 0;
	char			*cause = NULL;
	int			 style;

	fuzz_quiet();
	fuzz_fields_split(data, size, 7, &f);
	if (f.n < 7) {
		fuzz_fields_free(&f);
		return (0);
	}
	if (strcmp(f.v[0], "standard") == 0)
		style = WEBHOOK_STANDARD;
	else if (strcmp(f.v[0], "github") == 0)
		style = WEBHOOK_GITHUB;
	else if (strcmp(f.v[0], "stripe") == 0)
		style = WEBHOOK_STRIPE;
	else
		style = (unsigned char)f.v[0][0] % WEBHOOK_NSTYLES;
	if (sign_standard_key((unsigned char *)f.v[1], f.len[1], &key, &keylen,
	    &cause) != 0) {
		if (cause == NULL || key != NULL)
			fuzz_fail("a bad whsec_ secret without a cause", &f);
		free(cause);
		if (style == WEBHOOK_STANDARD) {
			fuzz_fields_free(&f);
			return (0);
		}
	}
	w.f = &f;
	w.now = strtoll(f.v[2], NULL, 10);
	w.body = f.v[6];
	w.len = f.len[6];
	if (style == WEBHOOK_STANDARD) {
		w.key = key;
		w.keylen = keylen;
		fuzz_webhook_standard(&w, f.v[3], f.v[4], f.v[5]);
	} else {
		w.key = (unsigned char *)f.v[1];
		w.keylen = f.len[1];
		if (style == WEBHOOK_GITHUB)
			fuzz_webhook_github(&w, f.v[3]);
		else
			fuzz_webhook_stripe(&w, f.v[3]);
	}
	if (key != NULL)
		secret_free(key, keylen);
	fuzz_fields_free(&f);
	return (0);
}
