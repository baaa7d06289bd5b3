/*
 * actors/webhook-keys.c: what inbound webhooks verify with, apart from any
 * delivery: the three signature styles (Standard Webhooks, GitHub,
 * Stripe) checked over bytes, the key a secret gives in each style, a
 * secret's fingerprint, a schedule's previous secrets (struct
 * webhook_keyring) in its row, and the "webhook_expiry" key that releases
 * a message id's claim.  Schedules use it to check and keep their
 * secrets, webhook.c to verify deliveries, and the run life cycle to
 * release claims; it calls none of them.
 */
#include <sys/uio.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "actors.h"

#define WEBHOOK_SIG_MAX		4096		/* bytes of a signature header */

static int64_t	webhook_parse_ts(const char *, size_t);
static int	webhook_hmac_hex_match(const unsigned char *, size_t,
		    const char *, size_t, const char *, size_t, const char *,
		    size_t);

const char *const webhook_style_names[WEBHOOK_NSTYLES] = {
	"standard", "github", "stripe"
};

/* A message id: 1..WEBHOOK_ID_MAX printable bytes, no space and no '.'. */
int
webhook_id_ok(const char *id)
{
	size_t	i, len;

	if (id == NULL || (len = strlen(id)) == 0 || len > WEBHOOK_ID_MAX)
		return (0);
	for (i = 0; i < len; i++) {
		if (id[i] <= ' ' || id[i] > '~' || id[i] == '.')
			return (0);
	}
	return (1);
}

/* Parse a Unix-seconds timestamp; -1 if it is not one. */
static int64_t
webhook_parse_ts(const char *ts, size_t len)
{
	int64_t	t = 0;
	size_t	i;

	if (len == 0 || len > 18 || (ts[0] == '0' && len > 1))
		return (-1);
	for (i = 0; i < len; i++) {
		if (ts[i] < '0' || ts[i] > '9')
			return (-1);
		t = t * 10 + (ts[i] - '0');
	}
	return (t);
}

/*
 * Check a Standard Webhooks delivery: message ID (see webhook_id_ok),
 * timestamp TS (Unix seconds, within TOLERANCE seconds of NOW), SIGS
 * ("v1,BASE64" entries separated by spaces, one of which must be the
 * HMAC-SHA256 under KEY of "ID.TS.BODY").  Returns 0, or -1 with *reason
 * (static) saying which check failed.
 */
int
webhook_verify_standard(const unsigned char *key, size_t keylen,
    const char *id, const char *ts, const char *sigs, const char *body,
    size_t len, int64_t now, int64_t tolerance, const char **reason)
{
	const char	*p, *e;
	char		*want;
	int64_t		 t;
	size_t		 wlen;
	int		 ok = 0;

	*reason = "missing header";
	if (id == NULL || ts == NULL || sigs == NULL)
		return (-1);
	*reason = "bad message id";
	if (!webhook_id_ok(id))
		return (-1);
	*reason = "bad timestamp";
	if ((t = webhook_parse_ts(ts, strlen(ts))) == -1)
		return (-1);
	*reason = "timestamp outside tolerance";
	if (t < now - tolerance || t > now + tolerance)
		return (-1);
	*reason = "bad signature header";
	if (strlen(sigs) > WEBHOOK_SIG_MAX)
		return (-1);
	want = sign_standard(key, keylen, id, t, body, len);
	wlen = strlen(want);
	for (p = sigs; *p != '\0'; p = e) {
		while (*p == ' ')
			p++;
		for (e = p; *e != '\0' && *e != ' '; e++)
			/* nothing */;
		if ((size_t)(e - p) == wlen && CRYPTO_memcmp(p, want,
		    wlen) == 0)
			ok = 1;
	}
	OPENSSL_cleanse(want, wlen);
	free(want);
	*reason = "no matching signature";
	return (ok ? 0 : -1);
}

/*
 * Does HEX (HEXLEN characters, either case) equal the HMAC-SHA256 under
 * KEY of the concatenation of A and B?  Constant time in the MAC.
 */
static int
webhook_hmac_hex_match(const unsigned char *key, size_t keylen,
    const char *a, size_t alen, const char *b, size_t blen, const char *hex,
    size_t hexlen)
{
	static const char	 digits[] = "0123456789abcdef";
	uint8_t			 md[SIGN_HMAC_LEN];
	char			 want[2 * SIGN_HMAC_LEN], got[64];
	struct iovec		 parts[2];
	size_t			 i;
	int			 ok;

	if (hexlen != 64)
		return (0);
	parts[0].iov_base = (void *)a;
	parts[0].iov_len = alen;
	parts[1].iov_base = (void *)b;
	parts[1].iov_len = blen;
	sign_hmac_sha256(key, keylen, parts, 2, md);
	for (i = 0; i < sizeof md; i++) {
		want[2 * i] = digits[md[i] >> 4];
		want[2 * i + 1] = digits[md[i] & 0xf];
	}
	for (i = 0; i < 64; i++) {
		got[i] = hex[i];
		if (got[i] >= 'A' && got[i] <= 'F')
			got[i] += 'a' - 'A';
	}
	ok = CRYPTO_memcmp(got, want, 64) == 0;
	OPENSSL_cleanse(md, sizeof md);
	OPENSSL_cleanse(want, sizeof want);
	return (ok);
}

/*
 * Check a GitHub delivery: SIG is the X-Hub-Signature-256 header,
 * "sha256=" and the hex HMAC-SHA256 of the raw BODY under KEY (the
 * secret's own bytes).  GitHub signs no timestamp.  Returns 0, or -1 with
 * *reason.
 */
int
webhook_verify_github(const unsigned char *key, size_t keylen,
    const char *sig, const char *body, size_t len, const char **reason)
{
	*reason = "missing header";
	if (sig == NULL)
		return (-1);
	*reason = "bad signature header";
	if (strncmp(sig, "sha256=", 7) != 0 || strlen(sig + 7) != 64)
		return (-1);
	*reason = "no matching signature";
	if (!webhook_hmac_hex_match(key, keylen, "", 0, body, len, sig + 7,
	    64))
		return (-1);
	return (0);
}

/*
 * Check a Stripe delivery: HEADER is Stripe-Signature, "t=TS,v1=HEX,..."
 * (other schemes such as v0 ignored, several v1 allowed), each v1 the hex
 * HMAC-SHA256 under KEY (the secret's own bytes, "whsec_" included) of
 * "TS.BODY"; TS within TOLERANCE seconds of NOW.  Returns 0, or -1 with
 * *reason.
 */
int
webhook_verify_stripe(const unsigned char *key, size_t keylen,
    const char *header, const char *body, size_t len, int64_t now,
    int64_t tolerance, const char **reason)
{
	const char	*p, *e, *ts = NULL;
	char		 prefix[24];
	size_t		 tslen = 0;
	int64_t		 t;
	int		 nsig = 0, ok = 0;

	*reason = "missing header";
	if (header == NULL)
		return (-1);
	*reason = "bad signature header";
	if (strlen(header) > WEBHOOK_SIG_MAX)
		return (-1);
	for (p = header; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		if (e - p > 2 && strncmp(p, "t=", 2) == 0) {
			if (ts != NULL)
				return (-1);
			ts = p + 2;
			tslen = e - ts;
		} else if (e - p > 3 && strncmp(p, "v1=", 3) == 0)
			nsig++;
		else if (memchr(p, '=', e - p) == NULL)
			return (-1);
	}
	*reason = ts == NULL || nsig == 0 ? "bad signature header" :
	    "bad timestamp";
	if (ts == NULL || nsig == 0 || (t = webhook_parse_ts(ts, tslen)) == -1)
		return (-1);
	*reason = "timestamp outside tolerance";
	if (t < now - tolerance || t > now + tolerance)
		return (-1);
	snprintf(prefix, sizeof prefix, "%lld.", (long long)t);
	for (p = header; *p != '\0'; p = *e == ',' ? e + 1 : e) {
		e = p + strcspn(p, ",");
		if (e - p > 3 && strncmp(p, "v1=", 3) == 0 &&
		    webhook_hmac_hex_match(key, keylen, prefix,
		    strlen(prefix), body, len, p + 3, e - p - 3))
			ok = 1;
	}
	*reason = "no matching signature";
	return (ok ? 0 : -1);
}

/* The HMAC key of secret REF for STYLE: a Standard Webhooks whsec_
 * secret's decoded bytes, or the secret's own bytes.  -1 and *cause. */
int
webhook_key(const char *ref, int style, unsigned char **key, size_t *keylen,
    char **cause)
{
	unsigned char	*secret;
	size_t		 slen;
	int		 rc;

	if (secret_resolve(ref, &secret, &slen, cause) != 0)
		return (-1);
	if (style != WEBHOOK_STANDARD) {
		*key = secret;
		*keylen = slen;
		return (0);
	}
	rc = sign_standard_key(secret, slen, key, keylen, cause);
	secret_free(secret, slen);
	return (rc);
}

/* The fingerprint of secret REF as it reads now: 0, or -1 and *cause. */
int
webhook_secret_fingerprint(const char *ref, char fp[65], char **cause)
{
	unsigned char	*secret;
	size_t		 slen;

	if (secret_resolve(ref, &secret, &slen, cause) != 0)
		return (-1);
	secret_fingerprint(secret, slen, fp);
	secret_free(secret, slen);
	return (0);
}

/*
 * Can secret REF sign deliveries in STYLE as it reads now (read, and for
 * the Standard Webhooks style base64, with or without "whsec_")?  0, or -1
 * and *cause; the secret is never in the message.
 */
int
webhook_secret_usable(const char *ref, int style, char **cause)
{
	unsigned char	*key;
	size_t		 keylen;

	if (webhook_key(ref, style, &key, &keylen, cause) != 0)
		return (-1);
	secret_free(key, keylen);
	return (0);
}

/* In the record that claims CLAIM ("webhook:S:MSGID") for a run created
 * at AT_US: release it once the retention period has passed since. */
void
webhook_expiry_put(struct jrec *rec, const char *claim, int64_t at_us)
{
	char	key[JOURNAL_MAX_KEY + 1];
	int	n;

	n = snprintf(key, sizeof key, "%016llx/c/%s",
	    (unsigned long long)at_us, claim);
	if (n > 0 && (size_t)n < sizeof key)
		jrec_put(rec, "webhook_expiry", key, n, "", 0);
}

struct webhook_keyring *
webhook_keyring_copy(const struct webhook_keyring *k)
{
	struct webhook_keyring	*c;
	int			 i;

	if (k == NULL || k->n == 0)
		return (NULL);
	c = xcalloc(1, sizeof *c);
	*c = *k;
	for (i = 0; i < k->n; i++)
		c->v[i].ref = xstrdup(k->v[i].ref);
	return (c);
}

void
webhook_keyring_free(struct webhook_keyring *k)
{
	int	i;

	if (k == NULL)
		return;
	for (i = 0; i < k->n; i++)
		free(k->v[i].ref);
	free(k);
}

/* The previous secrets as a msgpack array (nil when none). */
void
webhook_keyring_pack(const struct webhook_keyring *k, msgpack_packer *pk)
{
	int	i;

	if (k == NULL || k->n == 0) {
		msgpack_pack_nil(pk);
		return;
	}
	msgpack_pack_array(pk, k->n);
	for (i = 0; i < k->n; i++) {
		const struct webhook_previous	*p = &k->v[i];
		const struct pack_pair		 v[] = {
			PACK_PAIR_STR("secret_ref", p->ref),
			PACK_PAIR_STR("fingerprint", p->fingerprint),
			PACK_PAIR_INT("rotated_us", p->rotated_us),
			PACK_PAIR_INT("expires_us", p->expires_us),
		};

		PACK_MAP(pk, v);
	}
}

/* The previous secrets from a row's array; NULL when none (or unreadable
 * entries, which are skipped). */
struct webhook_keyring *
webhook_keyring_unpack(const msgpack_object *o)
{
	struct webhook_keyring	*k;
	struct webhook_previous	*p;
	char			*ref, *fp;
	uint32_t		 i;

	if (o == NULL || o->type != MSGPACK_OBJECT_ARRAY || o->via.array.size
	    == 0)
		return (NULL);
	k = xcalloc(1, sizeof *k);
	for (i = 0; i < o->via.array.size && k->n < WEBHOOK_PREVIOUS_MAX;
	    i++) {
		ref = unpack_strdup(&o->via.array.ptr[i], "secret_ref");
		if (ref == NULL)
			continue;
		p = &k->v[k->n++];
		p->ref = ref;
		if ((fp = unpack_strdup(&o->via.array.ptr[i], "fingerprint"))
		    != NULL)
			snprintf(p->fingerprint, sizeof p->fingerprint, "%s",
			    fp);
		free(fp);
		p->rotated_us = unpack_int(&o->via.array.ptr[i], "rotated_us",
		    0);
		p->expires_us = unpack_int(&o->via.array.ptr[i], "expires_us",
		    0);
	}
	if (k->n == 0) {
		free(k);
		return (NULL);
	}
	return (k);
}
