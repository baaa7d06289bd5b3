/*
 * tests/check_webhook.c: webhook signature verification (actors/webhook.c):
 * Standard Webhooks against the published vector, GitHub against the
 * vector of GitHub's documentation, Stripe against one computed with
 * openssl, and each way a delivery is refused.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"
#include "lib.h"

#define VEC_SECRET	"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define VEC_ID		"msg_p5jXN8AQM9LWM0D4loKWxJek"
#define VEC_TS		"1614265330"
#define VEC_TS_N	1614265330
#define VEC_BODY	"{\"test\": 2432232314}"
#define VEC_SIG		"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static unsigned char	*key;
static size_t		 keylen;

static void
setup(void)
{
	char	*cause = NULL;

	ck_assert_int_eq(sign_standard_key((const unsigned char *)VEC_SECRET,
	    strlen(VEC_SECRET), &key, &keylen, &cause), 0);
}

static void
teardown(void)
{
	secret_free(key, keylen);
	key = NULL;
}

/* Verify the vector's delivery with SIGS, ID, TS, BODY at instant NOW. */
static int
verify(const char *id, const char *ts, const char *sigs, const char *body,
    int64_t now, const char **reason)
{
	return (webhook_verify_standard(key, keylen, id, ts, sigs, body,
	    body != NULL ? strlen(body) : 0, now, 300, reason));
}

/* The published vector verifies at its own instant. */
START_TEST(test_webhook_vector)
{
	const char	*reason = NULL;

	ck_assert_int_eq(verify(VEC_ID, VEC_TS, VEC_SIG, VEC_BODY, VEC_TS_N,
	    &reason), 0);
}
END_TEST

/* The vector's secret without its whsec_ prefix (as a provider's
 * dashboard shows it) is the same key: the delivery verifies. */
START_TEST(test_webhook_vector_bare)
{
	unsigned char	*bare;
	size_t		 barelen;
	const char	*reason = NULL;
	char		*cause = NULL;

	ck_assert_int_eq(sign_standard_key((const unsigned char *)VEC_SECRET +
	    6, strlen(VEC_SECRET) - 6, &bare, &barelen, &cause), 0);
	ck_assert_int_eq(webhook_verify_standard(bare, barelen, VEC_ID, VEC_TS,
	    VEC_SIG, VEC_BODY, strlen(VEC_BODY), VEC_TS_N, 300, &reason), 0);
	secret_free(bare, barelen);
}
END_TEST

/* One body byte changed: refused. */
START_TEST(test_webhook_vector_tampered_bad)
{
	const char	*reason = NULL;

	ck_assert_int_eq(verify(VEC_ID, VEC_TS, VEC_SIG,
	    "{\"test\": 2432232315}", VEC_TS_N, &reason), -1);
	ck_assert_str_eq(reason, "no matching signature");
}
END_TEST

/* Any one of several space-separated signatures may match. */
START_TEST(test_webhook_several_signatures)
{
	const char	*reason = NULL;

	ck_assert_int_eq(verify(VEC_ID, VEC_TS, "v1,AAAA v2,xyz " VEC_SIG,
	    VEC_BODY, VEC_TS_N, &reason), 0);
}
END_TEST

/* Signatures that are prefixes or extensions of the right one fail. */
START_TEST(test_webhook_signature_bad)
{
	const char	*reason = NULL;

	ck_assert_int_eq(verify(VEC_ID, VEC_TS,
	    "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE", VEC_BODY,
	    VEC_TS_N, &reason), -1);
	ck_assert_int_eq(verify(VEC_ID, VEC_TS, VEC_SIG "=", VEC_BODY,
	    VEC_TS_N, &reason), -1);
	ck_assert_int_eq(verify(VEC_ID, VEC_TS, "", VEC_BODY, VEC_TS_N,
	    &reason), -1);
	ck_assert_int_eq(verify(VEC_ID, VEC_TS, "v2,g0hM9SsE+OTPJTGt/tmIKtSy"
	    "ZlE3uFJELVlNIOLJ1OE=", VEC_BODY, VEC_TS_N, &reason), -1);
}
END_TEST

/* The timestamp may be off by the tolerance, not more. */
START_TEST(test_webhook_tolerance)
{
	const char	*reason = NULL;

	ck_assert_int_eq(verify(VEC_ID, VEC_TS, VEC_SIG, VEC_BODY,
	    VEC_TS_N + 300, &reason), 0);
	ck_assert_int_eq(verify(VEC_ID, VEC_TS, VEC_SIG, VEC_BODY,
	    VEC_TS_N - 300, &reason), 0);
}
END_TEST

/* Old and future timestamps are refused. */
START_TEST(test_webhook_tolerance_bad)
{
	const char	*reason = NULL;

	ck_assert_int_eq(verify(VEC_ID, VEC_TS, VEC_SIG, VEC_BODY,
	    VEC_TS_N + 301, &reason), -1);
	ck_assert_str_eq(reason, "timestamp outside tolerance");
	ck_assert_int_eq(verify(VEC_ID, VEC_TS, VEC_SIG, VEC_BODY,
	    VEC_TS_N - 301, &reason), -1);
	ck_assert_str_eq(reason, "timestamp outside tolerance");
}
END_TEST

/* Missing and malformed headers are refused. */
START_TEST(test_webhook_headers_bad)
{
	const char	*reason = NULL;
	char		 longid[WEBHOOK_MAX_PARAM];

	ck_assert_int_eq(verify(NULL, VEC_TS, VEC_SIG, VEC_BODY, VEC_TS_N,
	    &reason), -1);
	ck_assert_str_eq(reason, "missing header");
	ck_assert_int_eq(verify(VEC_ID, NULL, VEC_SIG, VEC_BODY, VEC_TS_N,
	    &reason), -1);
	ck_assert_int_eq(verify(VEC_ID, VEC_TS, NULL, VEC_BODY, VEC_TS_N,
	    &reason), -1);
	ck_assert_int_eq(verify("msg.1", VEC_TS, VEC_SIG, VEC_BODY, VEC_TS_N,
	    &reason), -1);
	ck_assert_str_eq(reason, "bad message id");
	ck_assert_int_eq(verify("", VEC_TS, VEC_SIG, VEC_BODY, VEC_TS_N,
	    &reason), -1);
	ck_assert_int_eq(verify("a b", VEC_TS, VEC_SIG, VEC_BODY, VEC_TS_N,
	    &reason), -1);
	memset(longid, 'a', 201);
	longid[201] = '\0';
	ck_assert_int_eq(verify(longid, VEC_TS, VEC_SIG, VEC_BODY, VEC_TS_N,
	    &reason), -1);
	ck_assert_int_eq(verify(VEC_ID, "1614265330x", VEC_SIG, VEC_BODY,
	    VEC_TS_N, &reason), -1);
	ck_assert_str_eq(reason, "bad timestamp");
	ck_assert_int_eq(verify(VEC_ID, "-1", VEC_SIG, VEC_BODY, VEC_TS_N,
	    &reason), -1);
	ck_assert_int_eq(verify(VEC_ID, "01614265330", VEC_SIG, VEC_BODY,
	    VEC_TS_N, &reason), -1);
	ck_assert_int_eq(verify(VEC_ID, "", VEC_SIG, VEC_BODY, VEC_TS_N,
	    &reason), -1);
}
END_TEST

/* GitHub's documented vector: secret "It's a Secret to Everybody", body
 * "Hello, World!". */
#define GH_SECRET	"It's a Secret to Everybody"
#define GH_BODY		"Hello, World!"
#define GH_SIG		"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

/* Stripe style: "t.body" under the secret's own bytes (openssl dgst). */
#define ST_SECRET	"whsec_test_secret"
#define ST_BODY		"{\"id\":\"evt_1\",\"object\":\"event\"}"
#define ST_TS_N		1700000000
#define ST_V1		"0c8670ed117751cc551a20e35839447075c42800ea3cf3e8a2fbda99cd1e6edd"

static int
github(const char *secret, const char *sig, const char *body,
    const char **reason)
{
	return (webhook_verify_github((const unsigned char *)secret,
	    strlen(secret), sig, body, strlen(body), reason));
}

static int
stripe(const char *header, const char *body, int64_t now,
    const char **reason)
{
	return (webhook_verify_stripe((const unsigned char *)ST_SECRET,
	    strlen(ST_SECRET), header, body, strlen(body), now, 300, reason));
}

/* The GitHub documentation's vector verifies (hex in either case). */
START_TEST(test_webhook_github_vector)
{
	const char	*reason = NULL;
	char		 upper[sizeof GH_SIG];
	size_t		 i;

	ck_assert_int_eq(github(GH_SECRET, GH_SIG, GH_BODY, &reason), 0);
	memcpy(upper, GH_SIG, sizeof upper);
	for (i = 7; upper[i] != '\0'; i++) {
		if (upper[i] >= 'a' && upper[i] <= 'f')
			upper[i] -= 'a' - 'A';
	}
	ck_assert_int_eq(github(GH_SECRET, upper, GH_BODY, &reason), 0);
}
END_TEST

/* A tampered body, another secret or a malformed header is refused. */
START_TEST(test_webhook_github_vector_bad)
{
	const char	*reason = NULL;

	ck_assert_int_eq(github(GH_SECRET, GH_SIG, "Hello, World?", &reason),
	    -1);
	ck_assert_str_eq(reason, "no matching signature");
	ck_assert_int_eq(github("another secret", GH_SIG, GH_BODY, &reason),
	    -1);
	ck_assert_str_eq(reason, "no matching signature");
	ck_assert_int_eq(github(GH_SECRET, NULL, GH_BODY, &reason), -1);
	ck_assert_str_eq(reason, "missing header");
	ck_assert_int_eq(github(GH_SECRET, GH_SIG + 7, GH_BODY, &reason), -1);
	ck_assert_str_eq(reason, "bad signature header");
	ck_assert_int_eq(github(GH_SECRET, "sha1=757107ea", GH_BODY, &reason),
	    -1);
	ck_assert_int_eq(github(GH_SECRET, "sha256=zz7107ea0eb2509fc211221cce"
	    "984b8a37570b6d7586c22c46f4379c8b043e17", GH_BODY, &reason), -1);
	ck_assert_int_eq(github(GH_SECRET, "sha256=757107ea0eb2509fc211221cc"
	    "e984b8a37570b6d7586c22c46f4379c8b043e1", GH_BODY, &reason), -1);
	ck_assert_str_eq(reason, "bad signature header");
}
END_TEST

/* A Stripe-Signature verifies with its v1 among others, within tolerance. */
START_TEST(test_webhook_stripe)
{
	const char	*reason = NULL;

	ck_assert_int_eq(stripe("t=1700000000,v1=" ST_V1, ST_BODY, ST_TS_N,
	    &reason), 0);
	ck_assert_int_eq(stripe("t=1700000000,v1=" ST_V1 ",v0=abc", ST_BODY,
	    ST_TS_N + 300, &reason), 0);
	ck_assert_int_eq(stripe("t=1700000000,v1=00" ST_V1 ",v1=" ST_V1,
	    ST_BODY, ST_TS_N - 300, &reason), 0);
}
END_TEST

/* Stripe: tampered, stale, future, malformed or unsigned is refused. */
START_TEST(test_webhook_stripe_bad)
{
	const char	*reason = NULL;

	ck_assert_int_eq(stripe("t=1700000000,v1=" ST_V1, "{\"id\":\"evt_2\"}",
	    ST_TS_N, &reason), -1);
	ck_assert_str_eq(reason, "no matching signature");
	ck_assert_int_eq(stripe("t=1700000001,v1=" ST_V1, ST_BODY, ST_TS_N,
	    &reason), -1);
	ck_assert_str_eq(reason, "no matching signature");
	ck_assert_int_eq(stripe("t=1700000000,v1=" ST_V1, ST_BODY,
	    ST_TS_N + 301, &reason), -1);
	ck_assert_str_eq(reason, "timestamp outside tolerance");
	ck_assert_int_eq(stripe("t=1700000000,v1=" ST_V1, ST_BODY,
	    ST_TS_N - 301, &reason), -1);
	ck_assert_str_eq(reason, "timestamp outside tolerance");
	ck_assert_int_eq(stripe(NULL, ST_BODY, ST_TS_N, &reason), -1);
	ck_assert_str_eq(reason, "missing header");
	ck_assert_int_eq(stripe("v1=" ST_V1, ST_BODY, ST_TS_N, &reason), -1);
	ck_assert_str_eq(reason, "bad signature header");
	ck_assert_int_eq(stripe("t=1700000000", ST_BODY, ST_TS_N, &reason),
	    -1);
	ck_assert_str_eq(reason, "bad signature header");
	ck_assert_int_eq(stripe("t=1700000000,t=1700000000,v1=" ST_V1,
	    ST_BODY, ST_TS_N, &reason), -1);
	ck_assert_int_eq(stripe("t=17x,v1=" ST_V1, ST_BODY, ST_TS_N, &reason),
	    -1);
	ck_assert_str_eq(reason, "bad timestamp");
	ck_assert_int_eq(stripe("garbage", ST_BODY, ST_TS_N, &reason), -1);
	ck_assert_str_eq(reason, "bad signature header");
}
END_TEST

static Suite *
webhook_suite(void)
{
	Suite	*s = suite_create("webhook");

	lib_tcase(s, "verify", setup, teardown, 0,
	    test_webhook_vector,
	    test_webhook_vector_bare,
	    test_webhook_vector_tampered_bad,
	    test_webhook_several_signatures,
	    test_webhook_signature_bad,
	    test_webhook_tolerance,
	    test_webhook_tolerance_bad,
	    test_webhook_headers_bad,
	    NULL);
	lib_tcase(s, "styles", NULL, NULL, 0,
	    test_webhook_github_vector,
	    test_webhook_github_vector_bad,
	    test_webhook_stripe,
	    test_webhook_stripe_bad,
	    NULL);
	return (s);
}

int
main(void)
{
	log_open("check_webhook", LOG_LEVEL_WARN);
	return (lib_run(CK_NORMAL, webhook_suite(), NULL));
}
