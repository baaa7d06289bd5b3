/*
 * tests/check_webhook.c: Standard Webhooks verification
 * (dispatch_webhook_verify in actors/dispatch.c) against the published
 * vector, and each way a delivery is refused.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "actors.h"

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

	ck_assert_int_eq(http_webhook_key((const unsigned char *)VEC_SECRET,
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
	return (dispatch_webhook_verify(key, keylen, id, ts, sigs, body,
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
	ck_assert_str_eq(reason, "bad webhook-id");
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
	ck_assert_str_eq(reason, "bad webhook-timestamp");
	ck_assert_int_eq(verify(VEC_ID, "-1", VEC_SIG, VEC_BODY, VEC_TS_N,
	    &reason), -1);
	ck_assert_int_eq(verify(VEC_ID, "01614265330", VEC_SIG, VEC_BODY,
	    VEC_TS_N, &reason), -1);
	ck_assert_int_eq(verify(VEC_ID, "", VEC_SIG, VEC_BODY, VEC_TS_N,
	    &reason), -1);
}
END_TEST

static Suite *
webhook_suite(void)
{
	Suite	*s = suite_create("webhook");
	TCase	*tc = tcase_create("verify");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_webhook_vector);
	tcase_add_test(tc, test_webhook_vector_tampered_bad);
	tcase_add_test(tc, test_webhook_several_signatures);
	tcase_add_test(tc, test_webhook_signature_bad);
	tcase_add_test(tc, test_webhook_tolerance);
	tcase_add_test(tc, test_webhook_tolerance_bad);
	tcase_add_test(tc, test_webhook_headers_bad);
	suite_add_tcase(s, tc);
	return (s);
}

int
main(void)
{
	SRunner	*sr;
	int	 failed;

	log_open("check_webhook", LOG_LEVEL_WARN);
	sr = srunner_create(webhook_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return (failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE);
}
